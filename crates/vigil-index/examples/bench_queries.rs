//! Benchmark driver for the faiss peer comparison (`bench/index_faiss.sh`): builds an index over
//! the hashes of a binary file and runs the queries of another, single-threaded, then writes the
//! match sets for the comparison script and prints one JSON line of figures.
//!
//! ```text
//! bench_queries BASE QUERIES R OUT [auto|mih|scan] [REPS] [NQ]
//! ```
//!
//! * `BASE`, `QUERIES`: raw files of 32-byte hashes (faiss's binary-code layout, `N × 32` bytes);
//!   hash `i` of `BASE` is stored with id `i`.
//! * `OUT`: the match sets, as little-endian u64: `nq + 1` offsets (`lims`, as faiss's
//!   `range_search`) followed by the ids, sorted ascending within each query.
//! * `REPS`: timed passes over all queries (default 3); the best pass is reported, after one
//!   untimed warm-up pass over the first 500 queries.
//! * `NQ`: run only the first `NQ` queries (default: all).
//!
//! `VIGIL_SUBSTRINGS` and `VIGIL_DIR_BITS` force the table layout (see `IndexOptions`).
//! `VIGIL_FOOTPRINT=K` also prints, on stderr, what an MIH query reads from memory
//! ([`Index::footprint`]), averaged over the first `K` queries. `VIGIL_HOT=K` also prints the
//! time per query of the first `K` queries when each runs right after itself (its lines in the
//! cache: the work per line without the misses).
//!
//! Hamming distance does not depend on how the 32 bytes map to bits, as long as the mapping is the
//! same for every hash, so the bytes are read as four big-endian words.

use std::io::Write;
use std::time::Instant;

use vigil_core::Hash256;
use vigil_index::{Footprint, Index, IndexOptions, Simd, Strategy};

fn read_hashes(path: &str) -> Vec<Hash256> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        bytes.len().is_multiple_of(32),
        "{path}: not a multiple of 32 bytes"
    );
    bytes
        .chunks_exact(32)
        .map(|c| {
            let w = |i: usize| u64::from_be_bytes(c[8 * i..8 * i + 8].try_into().unwrap());
            Hash256::from_words([w(0), w(1), w(2), w(3)])
        })
        .collect()
}

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<usize>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: bench_queries BASE QUERIES R OUT [auto|mih|scan] [REPS] [NQ]");
        std::process::exit(2);
    }
    let base = read_hashes(&args[1]);
    let mut queries = read_hashes(&args[2]);
    if let Some(nq) = args.get(7) {
        queries.truncate(nq.parse().expect("NQ"));
    }
    let r: u32 = args[3].parse().expect("R");
    let strategy = match args.get(5).map_or("auto", String::as_str) {
        "auto" => Strategy::Auto,
        "mih" => Strategy::Mih,
        "scan" => Strategy::Scan(Simd::detect()),
        s => panic!("unknown strategy {s}"),
    };
    let reps: usize = args.get(6).map_or(3, |s| s.parse().expect("REPS"));

    let rss0 = rss_bytes();
    let t = Instant::now();
    let env = |k: &str| std::env::var(k).ok().map(|v| v.parse::<u32>().expect(k));
    let options = IndexOptions::default()
        .substrings(env("VIGIL_SUBSTRINGS"))
        .dir_bits(env("VIGIL_DIR_BITS"));
    let index = Index::from_pairs_with(
        base.iter().enumerate().map(|(i, &h)| (h, i as u64)),
        options,
    );
    let build_s = t.elapsed().as_secs_f64();
    let rss1 = rss_bytes();
    let st = index.stats();

    if let Some(k) = env("VIGIL_FOOTPRINT") {
        let k = (k as usize).min(queries.len()).max(1);
        let fps: Vec<Footprint> = queries[..k].iter().map(|q| index.footprint(q, r)).collect();
        type Field = (&'static str, fn(&Footprint) -> u64);
        let fields: [Field; 8] = [
            ("probes", |f| f.probes),
            ("dir_lines", |f| f.dir_lines),
            ("buckets", |f| f.buckets),
            ("entries", |f| f.entries),
            ("bucket_lines", |f| f.bucket_lines),
            ("candidates", |f| f.candidates),
            ("code_lines", |f| f.code_lines),
            ("lines", |f| f.lines),
        ];
        let mean: Vec<String> = fields
            .iter()
            .map(|(name, get)| {
                let sum: u64 = fps.iter().map(get).sum();
                format!("\"{name}\": {:.1}", sum as f64 / k as f64)
            })
            .collect();
        eprintln!("{{\"footprint_queries\": {k}, {}}}", mean.join(", "));
    }
    if let Some(k) = env("VIGIL_HOT") {
        let k = (k as usize).min(queries.len()).max(1);
        let mut hot = 0.0;
        for q in &queries[..k] {
            std::hint::black_box(index.query_with(q, r, strategy));
            let t = Instant::now();
            for _ in 0..3 {
                std::hint::black_box(index.query_with(q, r, strategy));
            }
            hot += t.elapsed().as_secs_f64() / 3.0;
        }
        eprintln!(
            "{{\"hot_queries\": {k}, \"hot_us_per_query\": {:.3}}}",
            hot / k as f64 * 1e6
        );
    }

    let run = |queries: &[Hash256]| {
        let mut lims = Vec::with_capacity(queries.len() + 1);
        let mut ids = Vec::new();
        lims.push(0u64);
        for q in queries {
            let start = ids.len();
            for m in index.query_with(q, r, strategy) {
                ids.push(m.id);
            }
            ids[start..].sort_unstable();
            lims.push(ids.len() as u64);
        }
        (lims, ids)
    };
    let _ = run(&queries[..queries.len().min(500)]);
    let mut best = f64::INFINITY;
    let mut result = (Vec::new(), Vec::new());
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        result = run(&queries);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let (lims, ids) = result;
    let mut f = std::io::BufWriter::new(std::fs::File::create(&args[4]).expect("OUT"));
    for x in lims.iter().chain(&ids) {
        f.write_all(&x.to_le_bytes()).unwrap();
    }
    f.flush().unwrap();
    println!(
        "{{\"engine\": \"vigil\", \"strategy\": \"{}\", \"n\": {}, \"nq\": {}, \"r\": {r}, \
         \"build_s\": {build_s:.4}, \"us_per_query\": {:.3}, \"matches\": {}, \
         \"substrings\": {}, \"heap_bytes_per_hash\": {:.2}, \"rss_delta_bytes_per_hash\": {:.2}, \
         \"simd\": \"{:?}\"}}",
        args.get(5).map_or("auto", String::as_str),
        base.len(),
        queries.len(),
        best / queries.len() as f64 * 1e6,
        ids.len(),
        st.substrings,
        st.heap_bytes as f64 / base.len() as f64,
        rss1.saturating_sub(rss0) as f64 / base.len() as f64,
        Simd::detect(),
    );
}
