//! Inserts and removes while other threads query; a change is visible to the next query.

use std::sync::Arc;

use vigil_core::Hash256;
use vigil_index::{Index, IndexOptions};

use crate::util::flip;

#[test]
fn updates_while_querying_with_compactions() {
    let base: Vec<(Hash256, u64)> = (0..5000u64)
        .map(|i| (flip(Hash256::ZERO, 128, i + 1), i))
        .collect();
    let index = Arc::new(Index::from_pairs_with(
        base.iter().copied(),
        IndexOptions::default().max_delta(Some(64)),
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|t| {
            let (index, stop, base) = (index.clone(), stop.clone(), base.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (h, id) = base[(n as usize * 31 + t) % 2500];
                    // Base pairs in the first half are never touched: always found.
                    assert!(index.query(&h, 0).iter().any(|m| m.id == id));
                    n += 1;
                }
                n
            })
        })
        .collect();
    for i in 0..2000u64 {
        let h = flip(Hash256::ZERO, 100, 1_000_000 + i);
        assert!(index.insert(h, i));
        assert!(
            index.query(&h, 0).iter().any(|m| m.id == i),
            "insert {i} not visible"
        );
        let (bh, bid) = base[2500 + (i as usize % 2500)];
        if index.remove(&bh, bid) {
            assert!(
                !index.query(&bh, 0).iter().any(|m| m.id == bid),
                "remove not visible"
            );
        }
        if i % 3 == 0 {
            assert!(index.remove(&h, i));
            assert!(index.query(&h, 0).is_empty(), "remove {i} not visible");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    // 2000 base pairs removed, 2000 inserted of which 667 removed again.
    let want = 5000 - 2000 + 2000 - 667;
    assert_eq!(index.len(), want);
    index.compact();
    assert_eq!(index.len(), want);
    assert_eq!(index.stats().delta_hashes, 0);
}
