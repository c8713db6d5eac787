//! ThreatExchange's `haystack.txt` / `needles.txt` (real PDQ hashes) against brute force.

use vigil_core::Hash256;
use vigil_index::{Index, IndexOptions};

use crate::util::*;

fn read_list(path: &std::path::Path) -> Vec<Hash256> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Hash256::from_hex(l.trim()).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

#[test]
fn haystack_and_needles_match_brute_force() {
    let Some(fx) = vigil_testkit::fixtures("vigil-index haystack_and_needles_match_brute_force")
    else {
        return;
    };
    let dir = fx.join("threatexchange/pdq/data/reg-test-input");
    let haystack = read_list(&dir.join("haystack.txt"));
    let needles = read_list(&dir.join("needles.txt"));
    assert_eq!((haystack.len(), needles.len()), (1350, 100));
    let pairs: Vec<(Hash256, u64)> = haystack
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i as u64 + 1))
        .collect();
    let oracle = Oracle(pairs.iter().copied().collect());
    let mut total = 0;
    for m in [None, Some(16), Some(13), Some(32)] {
        let index =
            Index::from_pairs_with(pairs.iter().copied(), IndexOptions::default().substrings(m));
        for q in &needles {
            for r in [0, 10, 31, 32, 52, 64, 256] {
                check(&index, &oracle, q, r).unwrap();
                if m.is_none() && r == 31 {
                    total += index.query(q, r).len();
                }
            }
        }
    }
    // The needles are near-duplicates of haystack images: most of them find something at 31.
    assert!(total >= 50, "only {total} matches at r = 31");
}
