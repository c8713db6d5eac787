//! How long a compaction makes queries wait (`bench/README.md`, "Exact Hamming index").
//!
//! ```text
//! compact_pause N [EXTRA]
//! ```
//!
//! Builds an index over `N` random hashes, inserts `EXTRA` more (default 70,000: past the
//! server's compaction threshold at 10M), then compacts it while a second thread queries
//! without pause (radius 31). Prints the compaction's time, the queries run meanwhile and the
//! slowest of them: a query that waited on the index's lock shows here. Also the process's
//! resident memory before the compaction and its peak during it (Linux: the peak is reset
//! through `/proc/self/clear_refs` first).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vigil_core::Hash256;
use vigil_index::{Index, IndexOptions};

fn main() {
    let arg = |i: usize, default: Option<usize>| {
        std::env::args()
            .nth(i)
            .map(|s| s.parse().expect("a number"))
            .or(default)
            .expect("usage: compact_pause N [EXTRA]")
    };
    let (n, extra) = (arg(1, None), arg(2, Some(70_000)));
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut hash = move || {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        Hash256::from_bytes(b)
    };
    let pairs: Vec<(Hash256, u64)> = (0..n).map(|i| (hash(), i as u64)).collect();
    let queries: Vec<Hash256> = (0..1000).map(|_| hash()).collect();
    let index = Arc::new(Index::from_pairs_with(
        pairs,
        IndexOptions::default().auto_compact(false),
    ));
    for i in 0..extra {
        index.insert(hash(), (n + i) as u64);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let querier = {
        let (index, stop) = (Arc::clone(&index), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (mut worst, mut count) = (Duration::ZERO, 0usize);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                std::hint::black_box(index.query(&queries[count % queries.len()], 31));
                worst = worst.max(t.elapsed());
                count += 1;
            }
            (worst, count)
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_mib("VmRSS");
    let t = Instant::now();
    index.compact();
    let compact = t.elapsed();
    let peak = status_mib("VmHWM");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (worst, count) = querier.join().expect("querier");
    println!(
        "{{\"n\": {n}, \"extra\": {extra}, \"compact_s\": {:.2}, \"queries\": {count}, \
         \"worst_query_ms\": {:.1}, \"rss_before_mib\": {rss_before}, \"peak_during_mib\": {peak}}}",
        compact.as_secs_f64(),
        worst.as_secs_f64() * 1e3
    );
}

/// A `/proc/self/status` memory field in MiB (0 where there is none).
fn status_mib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with(field))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb / 1024)
}
