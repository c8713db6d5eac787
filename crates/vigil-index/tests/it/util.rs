//! The brute-force oracle and hash generators shared by the tests.

use std::collections::BTreeSet;

use proptest::prelude::*;
use vigil_core::Hash256;
use vigil_index::{Index, IndexOptions, Match, Simd, Strategy as Search};

/// The slow-but-obvious twin of [`Index`]: a set of pairs and a linear scan.
#[derive(Debug, Default, Clone)]
pub(crate) struct Oracle(pub(crate) BTreeSet<(Hash256, u64)>);

impl Oracle {
    pub(crate) fn query(&self, q: &Hash256, r: u32) -> Vec<Match> {
        let mut v: Vec<Match> = self
            .0
            .iter()
            .filter(|(h, _)| h.distance(q) <= r)
            .map(|&(hash, id)| Match {
                distance: hash.distance(q),
                hash,
                id,
            })
            .collect();
        v.sort_unstable();
        v
    }
}

/// Every strategy the index offers on this CPU.
pub(crate) fn strategies() -> Vec<Search> {
    let mut v = vec![Search::Auto, Search::Mih];
    v.extend(Simd::available().into_iter().map(Search::Scan));
    v
}

/// The strategies worth running at radius `r`: forcing MIH at a large radius over wide keys
/// enumerates millions of keys per table (correct, but minutes of test time).
fn strategies_for(index: &Index, r: u32) -> Vec<Search> {
    let m = index.stats().substrings;
    let mut v = vec![Search::Auto];
    if r <= 64 || m == 0 || m >= 16 {
        v.push(Search::Mih);
    }
    v.extend(Simd::available().into_iter().map(Search::Scan));
    v
}

/// Asserts that every strategy returns what the oracle returns.
pub(crate) fn check(
    index: &Index,
    oracle: &Oracle,
    q: &Hash256,
    r: u32,
) -> Result<(), TestCaseError> {
    let want = oracle.query(q, r);
    for s in strategies_for(index, r) {
        let got = index.query_with(q, r, s);
        prop_assert_eq!(&got, &want, "strategy {:?}, r = {}, query {}", s, r, q);
    }
    Ok(())
}

/// Flips `k` distinct pseudo-random bits chosen by `seed`.
pub(crate) fn flip(h: Hash256, k: u32, seed: u64) -> Hash256 {
    let mut w = h.words();
    let mut s = seed.wrapping_mul(2).wrapping_add(1);
    let mut done = 0u32;
    let mut mask = [0u64; 4];
    while done < k.min(256) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let b = (s % 256) as usize;
        if mask[b / 64] >> (b % 64) & 1 == 0 {
            mask[b / 64] |= 1 << (b % 64);
            done += 1;
        }
    }
    for i in 0..4 {
        w[i] ^= mask[i];
    }
    Hash256::from_words(w)
}

pub(crate) fn any_hash() -> impl Strategy<Value = Hash256> {
    proptest::array::uniform32(any::<u8>()).prop_map(Hash256::from_bytes)
}

/// A hash whose bits are set with probability 1/8 (biased bits, like real PDQ's correlated ones).
pub(crate) fn biased_hash() -> impl Strategy<Value = Hash256> {
    proptest::array::uniform4(proptest::array::uniform3(any::<u64>()))
        .prop_map(|w| Hash256::from_words(w.map(|[a, b, c]| a & b & c)))
}

/// Random hashes, or families of near-duplicates (within 0..10 bits) around a few random or
/// biased centres, with repeated hashes and ids.
pub(crate) fn hash_set() -> impl Strategy<Value = Vec<(Hash256, u64)>> {
    let uniform = proptest::collection::vec((any_hash(), 0u64..50), 0..120);
    let centre = prop_oneof![any_hash(), biased_hash(), Just(Hash256::ZERO)];
    let clustered = proptest::collection::vec(
        (
            centre,
            proptest::collection::vec((0u32..10, any::<u64>(), 0u64..6), 1..30),
        ),
        1..6,
    )
    .prop_map(|fams| {
        fams.into_iter()
            .flat_map(|(c, members)| {
                members
                    .into_iter()
                    .map(move |(k, seed, id)| (flip(c, k, seed), id))
            })
            .collect()
    });
    prop_oneof![uniform, clustered]
}

pub(crate) fn radius() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(31),
        Just(32),
        Just(255),
        Just(256),
        0u32..=64,
        0u32..=256
    ]
}

/// Table layouts worth testing on small sets: default (no tables below 4096 hashes), none, and
/// 8/11/16/20/32 substrings (32-, 23/24-, 16-, 12/13- and 8-bit keys), each with the directory
/// width chosen or forced narrow (so that probes filter bucket entries on their low key bits; 0:
/// one bucket per table, clamped up to `bits − 16`).
pub(crate) fn options() -> impl Strategy<Value = IndexOptions> {
    (
        prop_oneof![
            Just(None),
            Just(Some(0)),
            Just(Some(8)),
            Just(Some(11)),
            Just(Some(16)),
            Just(Some(20)),
            Just(Some(32))
        ],
        prop_oneof![Just(None), Just(Some(0)), Just(Some(3)), Just(Some(9))],
        prop_oneof![Just(None), Just(Some(1)), Just(Some(5))],
    )
        .prop_map(|(m, dir, d)| {
            IndexOptions::default()
                .substrings(m)
                .dir_bits(dir)
                .max_delta(d)
        })
}

/// Queries: stored hashes moved by a few bits, random hashes.
pub(crate) fn queries(
    set: &[(Hash256, u64)],
    picks: &[(usize, u32, u64)],
    randoms: &[Hash256],
) -> Vec<Hash256> {
    let mut v: Vec<Hash256> = randoms.to_vec();
    if !set.is_empty() {
        for &(i, k, seed) in picks {
            v.push(flip(set[i % set.len()].0, k, seed));
        }
    }
    v
}
