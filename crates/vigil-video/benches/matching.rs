//! What's measured: matching one 10-minute query video (600 frames at 1 frame/s) against a
//! bank of 1,000 videos of 300–600 frames each (~450k frames, 1 frame/s), on one core:
//! * `video_index/query/…`: [`VideoIndex::query`] under each semantics, the time ranges of
//!   every video found included;
//! * `brute/compare/…`: [`compare`] against every video one by one, for scale;
//! * `brute/time_ranges/…`: the time ranges of the query against the video it was cut from.
//!
//! Videos are synthetic and seeded: scenes of 3–30 s, each a random walk (up to 6 bits flipped
//! per second) from a random start, qualities 0–100 (a tenth below 50). The query is
//! 200 s cut from one bank video (4 bits of noise per frame) followed by 400 s of unrelated
//! scenes, so it matches one video and shares the odd chance frame with others. Build time,
//! heap bytes per frame and what the query finds are printed to stderr once.
//!
//! Run with: `nice -n 10 cargo bench -p vigil-video --bench matching`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_core::Hash256;
use vigil_video::Frame;
use vigil_video::matching::{MatchParams, VideoIndex, compare, time_ranges};

fn random_hash(rng: &mut ChaCha8Rng) -> Hash256 {
    Hash256::from_words([rng.r#gen(), rng.r#gen(), rng.r#gen(), rng.r#gen()])
}

fn flip(h: Hash256, k: u32, rng: &mut ChaCha8Rng) -> Hash256 {
    let mut w = h.words();
    for _ in 0..k {
        let b = rng.gen_range(0..256);
        w[b / 64] ^= 1 << (b % 64);
    }
    Hash256::from_words(w)
}

/// `n` frames at 1 frame/s: scenes of 3–30 s, each a random walk from a random start.
fn synthetic_video(rng: &mut ChaCha8Rng, n: usize) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(n);
    let mut h = random_hash(rng);
    let mut scene_left = 0;
    for i in 0..n {
        if scene_left == 0 {
            h = random_hash(rng);
            scene_left = rng.gen_range(3..=30);
        } else {
            let k = rng.gen_range(0..=6);
            h = flip(h, k, rng);
        }
        scene_left -= 1;
        frames.push(Frame {
            number: i as u64 * 30,
            quality: if rng.gen_bool(0.1) {
                rng.gen_range(0..50)
            } else {
                rng.gen_range(50..=100)
            },
            hash: h,
            timestamp: i as f64,
        });
    }
    frames
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x51de0);
    let bank: Vec<(u64, Vec<Frame>)> = (0..1000u64)
        .map(|id| {
            let n = rng.gen_range(300..=600);
            (id, synthetic_video(&mut rng, n))
        })
        .collect();
    let frames: usize = bank.iter().map(|(_, f)| f.len()).sum();

    let source = &bank[17].1;
    let mut query: Vec<Frame> = source[50..250]
        .iter()
        .enumerate()
        .map(|(i, f)| Frame {
            number: i as u64 * 30,
            hash: flip(f.hash, 4, &mut rng),
            timestamp: i as f64,
            ..*f
        })
        .collect();
    for (i, f) in synthetic_video(&mut rng, 400).into_iter().enumerate() {
        query.push(Frame {
            number: (200 + i as u64) * 30,
            timestamp: 200.0 + i as f64,
            ..f
        });
    }

    let started = Instant::now();
    let index = VideoIndex::from_videos(bank.iter().map(|(id, f)| (*id, f.as_slice()))).unwrap();
    let built = started.elapsed();
    let bytes = index.heap_bytes();
    let found = index.query(&query, &MatchParams::default());
    eprintln!(
        "video_index: {} videos, {frames} frames, built in {built:.2?}, {bytes} heap bytes \
         ({:.0} per frame); the query finds {} videos, {} a match: {:?}",
        index.len(),
        bytes as f64 / frames as f64,
        found.len(),
        found.iter().filter(|m| m.comparison.is_match).count(),
        found.first()
    );

    let mut g = c.benchmark_group("video_index");
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(5));
    for (name, p) in [
        ("threatexchange", MatchParams::default()),
        ("reference", MatchParams::reference()),
    ] {
        g.bench_function(format!("query/{name}/600 frames vs 1000 videos"), |b| {
            b.iter(|| black_box(index.query(black_box(&query), &p)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("brute");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(10));
    let p = MatchParams::default();
    g.bench_function("compare/600 frames vs 1000 videos", |b| {
        b.iter(|| {
            bank.iter()
                .filter(|(_, f)| compare(black_box(&query), f, &p).is_match)
                .count()
        })
    });
    g.bench_function("time_ranges/600 frames vs its source", |b| {
        b.iter(|| black_box(time_ranges(black_box(&query), source, &p)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
