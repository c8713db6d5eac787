//! The index against the brute-force oracle: random and clustered sets, every strategy, random
//! radii, interleaved inserts and removes, duplicates.

use proptest::prelude::*;
use vigil_core::Hash256;
use vigil_index::{Index, IndexOptions};

use crate::util::*;

#[derive(Debug, Clone)]
enum Op {
    Insert(Hash256, u64),
    /// Remove the pair at this position of the oracle (or a missing pair when empty).
    RemoveExisting(usize),
    RemoveMissing(Hash256, u64),
    /// Remove every pair with this id.
    RemoveId(u64),
    Compact,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![
            4 => (any_hash(), 0u64..8).prop_map(|(h, id)| Op::Insert(h, id)),
            3 => (any::<usize>(), 0u32..8, any::<u64>()).prop_map(|(i, _, _)| Op::RemoveExisting(i)),
            1 => (any_hash(), 0u64..8).prop_map(|(h, id)| Op::RemoveMissing(h, id)),
            1 => (0u64..8).prop_map(Op::RemoveId),
            1 => Just(Op::Compact),
        ],
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn bulk_built_index_matches_oracle(
        set in hash_set(),
        opts in options(),
        picks in proptest::collection::vec((any::<usize>(), prop_oneof![0u32..4, 0u32..48], any::<u64>()), 1..8),
        randoms in proptest::collection::vec(any_hash(), 0..3),
        radii in proptest::collection::vec(radius(), 1..4),
    ) {
        let index = Index::from_pairs_with(set.iter().copied(), opts);
        let oracle = Oracle(set.iter().copied().collect());
        prop_assert_eq!(index.len(), oracle.0.len());
        prop_assert_eq!(index.pairs(), oracle.0.iter().copied().collect::<Vec<_>>());
        for q in queries(&set, &picks, &randoms) {
            for &r in &radii {
                check(&index, &oracle, &q, r)?;
            }
        }
    }

    #[test]
    fn updates_match_oracle(
        set in hash_set(),
        opts in options(),
        ops in ops(),
        near in proptest::collection::vec((any::<usize>(), 0u32..8, any::<u64>(), 0u64..8), 0..20),
        picks in proptest::collection::vec((any::<usize>(), 0u32..40, any::<u64>()), 1..5),
        r in radius(),
    ) {
        let index = Index::from_pairs_with(set.iter().copied(), opts);
        let mut oracle = Oracle(set.iter().copied().collect());
        // Inserts near stored hashes make duplicates and family members.
        let mut all_ops: Vec<Op> = near
            .iter()
            .filter(|_| !set.is_empty())
            .map(|&(i, k, seed, id)| Op::Insert(flip(set[i % set.len()].0, k, seed), id))
            .collect();
        all_ops.extend(ops);
        for (step, op) in all_ops.into_iter().enumerate() {
            match op {
                Op::Insert(h, id) => {
                    prop_assert_eq!(index.insert(h, id), oracle.0.insert((h, id)));
                }
                Op::RemoveExisting(i) => {
                    if let Some(&(h, id)) = oracle.0.iter().nth(i % oracle.0.len().max(1)) {
                        prop_assert!(index.remove(&h, id));
                        oracle.0.remove(&(h, id));
                        prop_assert!(!index.contains(&h, id));
                    }
                }
                Op::RemoveMissing(h, id) => {
                    prop_assert_eq!(index.remove(&h, id), oracle.0.remove(&(h, id)));
                }
                Op::RemoveId(id) => {
                    let before = oracle.0.len();
                    oracle.0.retain(|p| p.1 != id);
                    prop_assert_eq!(index.remove_ids(|x| x == id), before - oracle.0.len());
                }
                Op::Compact => index.compact(),
            }
            prop_assert_eq!(index.len(), oracle.0.len());
            // Every change is visible to the very next query.
            let cur: Vec<_> = oracle.0.iter().map(|p| p.0).collect();
            let probe = if cur.is_empty() { Hash256::ZERO } else { cur[step % cur.len()] };
            check(&index, &oracle, &probe, r.min(40))?;
        }
        prop_assert_eq!(index.pairs(), oracle.0.iter().copied().collect::<Vec<_>>());
        let set_now: Vec<_> = oracle.0.iter().copied().collect();
        for q in queries(&set_now, &picks, &[]) {
            check(&index, &oracle, &q, r)?;
        }
    }

    #[test]
    fn query_any_is_the_union(
        set in hash_set(),
        picks in proptest::collection::vec((any::<usize>(), 0u32..40, any::<u64>()), 1..9),
        r in radius(),
    ) {
        let index = Index::from_pairs_with(set.iter().copied(), IndexOptions::default().substrings(Some(16)));
        let oracle = Oracle(set.iter().copied().collect());
        let qs = queries(&set, &picks, &[Hash256::ZERO]);
        let got = index.query_any(&qs, r);
        let mut want = std::collections::BTreeMap::new();
        for (i, q) in qs.iter().enumerate() {
            for m in oracle.query(q, r) {
                let e = want.entry((m.hash, m.id)).or_insert((m.distance, i));
                if (m.distance, i) < *e { *e = (m.distance, i); }
            }
        }
        prop_assert_eq!(got.len(), want.len());
        for (i, m) in got {
            prop_assert_eq!(want[&(m.hash, m.id)], (m.distance, i));
        }
    }
}

/// A set large enough for the default layout to build tables (4096+ hashes), clustered.
#[test]
fn default_layout_on_a_clustered_set() {
    let mut set = Vec::new();
    let mut seed = 1u64;
    for fam in 0..300u64 {
        let centre = flip(Hash256::ZERO, 20 + (fam % 60) as u32, fam * 7919 + 1);
        for j in 0..20u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            set.push((flip(centre, (seed >> 60) as u32, seed), fam * 100 + j % 7));
        }
    }
    let index = Index::from_pairs(set.iter().copied());
    assert!(index.stats().substrings > 0);
    let oracle = Oracle(set.iter().copied().collect());
    for (k, &(h, _)) in set.iter().enumerate().step_by(97) {
        let q = flip(h, (k % 40) as u32, k as u64 + 3);
        for r in [0, 1, 8, 31, 32, 48, 64, 128] {
            check(&index, &oracle, &q, r).unwrap();
        }
    }
}

/// Large clustered sets under forced narrow directories: buckets of hundreds of entries, so
/// probes go through the binary searches on the low key bits (one run when no low bit may
/// differ, one per low key within the radius left otherwise) as well as the scans.
#[test]
fn narrow_directories_on_a_large_clustered_set() {
    let mut set = Vec::new();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed
    };
    for fam in 0..2000u64 {
        let centre = flip(Hash256::ZERO, 40 + (fam % 90) as u32, fam * 104729 + 3);
        for j in 0..20u64 {
            let s = next();
            set.push((flip(centre, (s >> 59) as u32, s), fam * 100 + j % 9));
        }
    }
    let oracle = Oracle(set.iter().copied().collect());
    for (m, dir) in [(11, 0), (16, 0), (16, 4), (20, 2)] {
        let index = Index::from_pairs_with(
            set.iter().copied(),
            IndexOptions::default()
                .substrings(Some(m))
                .dir_bits(Some(dir)),
        );
        for (k, &(h, _)) in set.iter().enumerate().step_by(211) {
            let q = flip(h, (k % 36) as u32, k as u64 + 11);
            for r in [0, 3, 17, 31, 40] {
                check(&index, &oracle, &q, r)
                    .unwrap_or_else(|e| panic!("m={m} dir={dir} r={r}: {e}"));
            }
        }
    }
}

#[test]
fn empty_index() {
    let index = Index::new();
    assert!(index.is_empty());
    for s in strategies() {
        assert!(index.query_with(&Hash256::ZERO, 256, s).is_empty());
    }
    assert!(!index.remove(&Hash256::ZERO, 1));
    assert!(index.insert(Hash256::ZERO, 1));
    assert!(!index.insert(Hash256::ZERO, 1));
    assert_eq!(index.query(&Hash256::ZERO, 0).len(), 1);
}
