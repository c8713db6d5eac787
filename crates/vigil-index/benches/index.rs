//! What's measured: range queries of the exact Hamming index over 256-bit hashes, per query on
//! one core, for
//! * `uniform`: n uniform random hashes;
//! * `skewed`: families of near-duplicates (1–32 members within 0–12 bits of a centre) whose
//!   centres have biased bits (bit k set with probability 0.15–0.5, varying by k), as real PDQ
//!   lists are;
//!
//! at r = 31 (PDQ's threshold) and r = 64, through `auto` (the index's own choice), `mih`
//! (forced) and `scan` (forced, best SIMD kernel), over a fixed set of 10,000 queries: half a
//! stored hash with 0–24 bits flipped, half random (from the same distribution as the set). Each
//! criterion iteration is one query, cycling through the set, so the time shown is µs per query.
//! Also `update/insert+remove`: inserting a pair and removing it again (each change visible to
//! the next query). Build time, MIH layout, bytes per stored hash and the average number of
//! matches are printed to stderr once per set.
//!
//! Run with: `nice -n 10 cargo bench -p vigil-index --bench index`
//! (`VIGIL_BENCH_SIZES=1M,10M` adds the 10M sets; needs ~2.5 GB of memory and a few minutes.)

use std::hint::black_box;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_core::Hash256;
use vigil_index::{Index, Simd, Strategy};

fn uniform(rng: &mut ChaCha8Rng) -> Hash256 {
    Hash256::from_words([rng.r#gen(), rng.r#gen(), rng.r#gen(), rng.r#gen()])
}

/// Bit k is set with probability between 0.15 and 0.5, depending on k.
fn biased(rng: &mut ChaCha8Rng) -> Hash256 {
    let mut h = Hash256::ZERO;
    for k in 0..256 {
        let p = 0.15 + 0.35 * ((k * 37 % 256) as f64 / 255.0);
        if rng.gen_bool(p) {
            h.set_bit(k);
        }
    }
    h
}

fn flip(mut h: Hash256, k: u32, rng: &mut ChaCha8Rng) -> Hash256 {
    let mut w = h.words();
    for _ in 0..k {
        let b = rng.gen_range(0..256);
        w[b / 64] ^= 1 << (b % 64);
    }
    h = Hash256::from_words(w);
    h
}

struct Set {
    pairs: Vec<(Hash256, u64)>,
    queries: Vec<Hash256>,
}

fn make(name: &'static str, n: usize) -> Set {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed ^ n as u64 ^ name.len() as u64);
    let skewed = name == "skewed";
    let mut pairs = Vec::with_capacity(n);
    while pairs.len() < n {
        if skewed {
            let centre = biased(&mut rng);
            let members = 1 + (rng.gen_range(0u32..32) * rng.gen_range(0u32..32)) / 31;
            for _ in 0..members {
                let k = rng.gen_range(0..=12);
                pairs.push((flip(centre, k, &mut rng), pairs.len() as u64));
            }
        } else {
            pairs.push((uniform(&mut rng), pairs.len() as u64));
        }
    }
    pairs.truncate(n);
    let queries = (0..10_000)
        .map(|i| {
            if i % 2 == 0 {
                let (h, _) = pairs[rng.gen_range(0..n)];
                let k = rng.gen_range(0..=24);
                flip(h, k, &mut rng)
            } else if skewed {
                biased(&mut rng)
            } else {
                uniform(&mut rng)
            }
        })
        .collect();
    Set { pairs, queries }
}

fn label(n: usize) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}K", n / 1000)
    }
}

fn sizes() -> Vec<usize> {
    std::env::var("VIGIL_BENCH_SIZES")
        .unwrap_or_else(|_| "1M".into())
        .split(',')
        .map(|s| {
            let s = s.trim();
            let (num, mul) = match s.strip_suffix('M') {
                Some(x) => (x, 1_000_000),
                None => (s.trim_end_matches('K'), 1000),
            };
            num.parse::<usize>().expect("size like 1M or 500K") * mul
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for n in sizes() {
        for name in ["uniform", "skewed"] {
            let set = make(name, n);
            let t = Instant::now();
            let index = Index::from_pairs(set.pairs.iter().copied());
            let build = t.elapsed();
            let st = index.stats();
            let mut matches = [0usize; 2];
            for (j, r) in [31, 64].into_iter().enumerate() {
                for q in set.queries.iter().take(1000) {
                    matches[j] += index.query(q, r).len();
                }
            }
            eprintln!(
                "{name}/n={}: build {:.2} s, {} substrings, {:.1} bytes/hash, {} distinct, \
                 avg matches/query r=31 {:.2}, r=64 {:.2}",
                label(n),
                build.as_secs_f64(),
                st.substrings,
                st.heap_bytes as f64 / st.pairs as f64,
                st.base_hashes,
                matches[0] as f64 / 1000.0,
                matches[1] as f64 / 1000.0,
            );
            let mut g = c.benchmark_group(format!("index/{name}"));
            g.sample_size(20);
            g.measurement_time(std::time::Duration::from_secs(4));
            for r in [31u32, 64] {
                for (sname, s) in [
                    ("auto", Strategy::Auto),
                    ("mih", Strategy::Mih),
                    ("scan", Strategy::Scan(Simd::detect())),
                ] {
                    let id = BenchmarkId::new(sname, format!("r={r}/n={}", label(n)));
                    let mut i = 0;
                    g.bench_function(id, |b| {
                        b.iter(|| {
                            i = (i + 1) % set.queries.len();
                            black_box(index.query_with(&set.queries[i], r, s))
                        })
                    });
                }
            }
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            g.bench_function(
                BenchmarkId::new("update/insert+remove", format!("n={}", label(n))),
                |b| {
                    b.iter(|| {
                        let h = uniform(&mut rng);
                        index.insert(h, 1);
                        index.remove(&h, 1);
                    })
                },
            );
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
