//! The immutable, bulk-built part of an index: distinct codes sorted ascending, their ids, and
//! the multi-index hash tables over them.
//!
//! Layout (for `N` distinct codes of `W` words and `m` substrings):
//! * `codes`: `N × W × 8` bytes, sorted, so table 0 (the top bits) needs no postings and exact
//!   lookups are a binary search;
//! * `ids`: the smallest id of each code (8 bytes each); `extra`: `(slot, id)` for every further
//!   id of a duplicated code, sorted (12 bytes each);
//! * per table `t`: `offsets` (`2^b_t + 1` u32: CSR bucket starts) and, for `t > 0`, `postings`
//!   (`N` u32 slot numbers, grouped by key).

use crate::scan::{self, Simd};

/// Widest substring a table may use: a direct-addressed bucket directory of `2^24 + 1` u32s is
/// 64 MiB.
const MAX_KEY_BITS: u32 = 24;
/// Below this many distinct codes a segment builds no tables by default: a scan is as fast.
const MIN_TABLE_CODES: usize = 4096;

/// One substring table.
#[derive(Debug, Clone)]
struct Table {
    /// First bit of the substring, counting from the most significant bit of the code.
    start: u32,
    /// Substring width in bits (key space `2^bits`).
    bits: u32,
    /// `offsets[k]..offsets[k + 1]` is the range of `postings` (or of slots, for table 0) whose
    /// substring equals `k`.
    offsets: Vec<u32>,
    /// Slots grouped by key; `None` for table 0 where the slot order already is the key order.
    postings: Option<Vec<u32>>,
}

/// The immutable segment.
#[derive(Debug, Clone)]
pub(crate) struct Segment<const W: usize> {
    codes: Vec<[u64; W]>,
    ids: Vec<u64>,
    extra: Vec<(u32, u64)>,
    tables: Vec<Table>,
}

/// Extracts `bits` bits starting `start` bits below the most significant bit of `code`.
#[inline]
fn key<const W: usize>(code: &[u64; W], start: u32, bits: u32) -> u32 {
    let w = (start / 64) as usize;
    let off = start % 64;
    let hi = code[w] as u128;
    let lo = if w + 1 < W { code[w + 1] as u128 } else { 0 };
    let window = (hi << 64) | lo;
    ((window >> (128 - off - bits)) & ((1u128 << bits) - 1)) as u32
}

/// `sum_{i <= k} C(n, i)`, saturating.
pub(crate) fn ball(n: u32, k: i64) -> f64 {
    if k < 0 {
        return 0.0;
    }
    let mut c = 1.0f64;
    let mut s = 1.0f64;
    for i in 1..=(k.min(n as i64) as u32) {
        c = c * (n - i + 1) as f64 / i as f64;
        s += c;
    }
    s
}

/// Substring radii for an exact search at radius `r` over tables of the given widths.
///
/// With `tau_t` the radius searched in table `t` (−1: table skipped), a code within `r` of the
/// query is found iff `sum_t (tau_t + 1) >= r + 1` (generalized pigeonhole, Norouzi et al. TPAMI
/// 2014 §4; GPH, Qin et al. 2018): otherwise every substring distance `d_t >= tau_t + 1` and
/// `sum d_t >= r + 1`. The `r + 1` units are spread evenly, the extra ones going to the widest
/// tables (fewest candidates per probe).
pub(crate) fn radii(widths: &[u32], r: u32) -> Vec<i64> {
    let m = widths.len() as i64;
    let units = r as i64 + 1;
    let (q, a) = (units / m, units % m);
    let mut order: Vec<usize> = (0..widths.len()).collect();
    order.sort_by_key(|&t| std::cmp::Reverse(widths[t]));
    let mut tau = vec![q - 1; widths.len()];
    for &t in order.iter().take(a as usize) {
        tau[t] += 1;
    }
    tau
}

/// Splits `total` bits into `m` near-equal consecutive widths, wider ones first.
fn split(total: u32, m: u32) -> Vec<u32> {
    (0..m)
        .map(|t| total / m + u32::from(t < total % m))
        .collect()
}

/// Chooses the number of substrings for `n` distinct codes of `total` bits: minimizes the model
/// cost of an `r = 31` query (`probes + 2 · candidates`, uniform codes) subject to keys of at most
/// [`MAX_KEY_BITS`] bits and bucket directories of at most ~16 bytes per code (1 MiB floor).
pub(crate) fn auto_substrings(n: usize, total: u32) -> u32 {
    let budget = (16.0 * n as f64).max(1.0 * (1 << 20) as f64);
    let mut best = (f64::INFINITY, total.div_ceil(16));
    let lo = total.div_ceil(MAX_KEY_BITS).max(1);
    for m in lo..=total.min(64) {
        let widths = split(total, m);
        if widths[0] < 4 {
            break;
        }
        let dir: f64 = widths.iter().map(|&b| 4.0 * (1u64 << b) as f64).sum();
        if dir > budget {
            continue;
        }
        let (p, c) = model(&widths, 31.min(total - 1), n);
        let cost = p + 2.0 * c;
        if cost < best.0 {
            best = (cost, m);
        }
    }
    best.1
}

/// Model probes and candidates of an MIH query at radius `r` over `n` uniform codes.
fn model(widths: &[u32], r: u32, n: usize) -> (f64, f64) {
    let tau = radii(widths, r);
    let mut probes = 0.0;
    let mut cands = 0.0;
    for (&b, &t) in widths.iter().zip(&tau) {
        let p = ball(b, t);
        probes += p;
        cands += p * n as f64 / (1u64 << b) as f64;
    }
    (probes, cands)
}

impl<const W: usize> Segment<W> {
    /// Bits per code.
    const BITS: u32 = 64 * W as u32;

    /// An empty segment.
    pub(crate) fn empty() -> Self {
        Segment {
            codes: Vec::new(),
            ids: Vec::new(),
            extra: Vec::new(),
            tables: Vec::new(),
        }
    }

    /// Builds from `(code, id)` pairs in any order; duplicate pairs collapse. `substrings`:
    /// `Some(m)` forces `m` tables (`0`: none), `None` chooses by size.
    pub(crate) fn build(mut pairs: Vec<([u64; W], u64)>, substrings: Option<u32>) -> Self {
        if !pairs.is_sorted() {
            pairs.sort_unstable();
        }
        pairs.dedup();
        let mut codes = crate::mem::huge_vec(pairs.len());
        let mut ids = Vec::with_capacity(pairs.len());
        let mut extra = Vec::new();
        for (c, id) in pairs {
            if codes.last() == Some(&c) {
                extra.push(((codes.len() - 1) as u32, id));
            } else {
                codes.push(c);
                ids.push(id);
            }
        }
        Self::from_parts(codes, ids, extra, substrings)
    }

    /// Builds the tables over already sorted, distinct codes (checked by the caller).
    pub(crate) fn from_parts(
        codes: Vec<[u64; W]>,
        ids: Vec<u64>,
        extra: Vec<(u32, u64)>,
        substrings: Option<u32>,
    ) -> Self {
        assert!(codes.len() < u32::MAX as usize, "too many distinct codes");
        let m = match substrings {
            Some(m) => m.min(Self::BITS),
            None if codes.len() < MIN_TABLE_CODES => 0,
            None => auto_substrings(codes.len(), Self::BITS),
        };
        let mut tables = Vec::new();
        if m > 0 {
            let widths = split(Self::BITS, m);
            assert!(
                widths[0] <= MAX_KEY_BITS,
                "{m} substrings give {}-bit keys; at most {MAX_KEY_BITS} bits are supported",
                widths[0]
            );
            let mut start = 0;
            for (t, &bits) in widths.iter().enumerate() {
                tables.push(Self::table(&codes, start, bits, t == 0));
                start += bits;
            }
        }
        Segment {
            codes,
            ids,
            extra,
            tables,
        }
    }

    fn table(codes: &[[u64; W]], start: u32, bits: u32, sorted: bool) -> Table {
        let nk = 1usize << bits;
        let mut offsets = crate::mem::huge_vec(nk + 1);
        offsets.resize(nk + 1, 0u32);
        for c in codes {
            offsets[key(c, start, bits) as usize + 1] += 1;
        }
        for k in 0..nk {
            offsets[k + 1] += offsets[k];
        }
        let postings = if sorted {
            None
        } else {
            let mut fill = offsets.clone();
            let mut p = crate::mem::huge_vec(codes.len());
            p.resize(codes.len(), 0u32);
            for (slot, c) in codes.iter().enumerate() {
                let k = key(c, start, bits) as usize;
                p[fill[k] as usize] = slot as u32;
                fill[k] += 1;
            }
            Some(p)
        };
        Table {
            start,
            bits,
            offsets,
            postings,
        }
    }

    /// Number of distinct codes.
    pub(crate) fn len(&self) -> usize {
        self.codes.len()
    }

    /// Number of substring tables (0: scan only).
    pub(crate) fn substrings(&self) -> usize {
        self.tables.len()
    }

    /// The sorted distinct codes.
    pub(crate) fn codes(&self) -> &[[u64; W]] {
        &self.codes
    }

    /// The code in `slot`.
    pub(crate) fn code(&self, slot: u32) -> &[u64; W] {
        &self.codes[slot as usize]
    }

    /// The smallest id of each slot.
    pub(crate) fn first_ids(&self) -> &[u64] {
        &self.ids
    }

    /// `(slot, id)` for the further ids of duplicated codes.
    pub(crate) fn extra(&self) -> &[(u32, u64)] {
        &self.extra
    }

    /// Calls `f` with every id of `slot`.
    pub(crate) fn for_each_id(&self, slot: u32, mut f: impl FnMut(u64)) {
        f(self.ids[slot as usize]);
        if !self.extra.is_empty() {
            let i = self.extra.partition_point(|&(s, _)| s < slot);
            for &(s, id) in &self.extra[i..] {
                if s != slot {
                    break;
                }
                f(id);
            }
        }
    }

    /// The slot holding `code`, if any.
    pub(crate) fn find(&self, code: &[u64; W]) -> Option<u32> {
        self.codes.binary_search(code).ok().map(|s| s as u32)
    }

    /// Whether `slot` holds `id`.
    pub(crate) fn has_id(&self, slot: u32, id: u64) -> bool {
        let mut found = false;
        self.for_each_id(slot, |x| found |= x == id);
        found
    }

    /// Heap bytes used.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.codes.capacity() * 8 * W
            + self.ids.capacity() * 8
            + self.extra.capacity() * 16
            + self
                .tables
                .iter()
                .map(|t| {
                    t.offsets.capacity() * 4 + t.postings.as_ref().map_or(0, |p| p.capacity() * 4)
                })
                .sum::<usize>()
    }

    /// Model cost of an MIH query at radius `r` relative to a scan of the whole segment; `None`
    /// when there are no tables. Units: roughly nanoseconds on a current x86 core.
    pub(crate) fn mih_cost(&self, r: u32) -> Option<(f64, f64)> {
        if self.tables.is_empty() {
            return None;
        }
        let widths: Vec<u32> = self.tables.iter().map(|t| t.bits).collect();
        let (p, c) = model(&widths, r, self.codes.len());
        // A probe costs about one cache miss in a bucket directory; a candidate a posting read
        // plus a cache miss on its code; a scanned code ~1 ns of memory bandwidth (32 B at ~30
        // GB/s). Calibrated roughly on the benchmark (see benches/index.rs).
        Some((4.0 * p + 8.0 * c, 1.0 * self.codes.len() as f64))
    }

    /// Appends `(slot, distance)` for every code within `r` of `q` by a linear scan.
    pub(crate) fn query_scan(&self, q: &[u64; W], r: u32, simd: Simd, out: &mut Vec<(u32, u32)>) {
        scan::scan(&self.codes, q, r, simd, 0, out);
    }

    /// Appends `(slot, distance)` for every code within `r` of `q` by multi-index hashing, each
    /// slot once (in no particular order). Falls back to a scan when there are no tables.
    pub(crate) fn query_mih(&self, q: &[u64; W], r: u32, out: &mut Vec<(u32, u32)>) {
        if self.tables.is_empty() {
            return self.query_scan(q, r, Simd::detect(), out);
        }
        let widths: Vec<u32> = self.tables.iter().map(|t| t.bits).collect();
        let tau = radii(&widths, r);
        let qkeys: Vec<u32> = self
            .tables
            .iter()
            .map(|t| key(q, t.start, t.bits))
            .collect();
        // Each table runs in phases — bucket keys, bucket ranges, candidate slots, verification —
        // prefetching what the next phase reads, so that the cache (and TLB) misses of one phase
        // overlap instead of being paid one after another.
        let mut keys = Vec::new();
        let mut ranges = Vec::new();
        let mut cands = Vec::new();
        for (t, table) in self.tables.iter().enumerate() {
            if tau[t] < 0 {
                continue;
            }
            let tau_t = tau[t].min(table.bits as i64) as u32;
            keys.clear();
            for_each_within(qkeys[t], table.bits, tau_t, &mut |k| {
                prefetch(&table.offsets[k as usize]);
                keys.push(k);
            });
            ranges.clear();
            for &k in &keys {
                let lo = table.offsets[k as usize];
                let hi = table.offsets[k as usize + 1];
                if lo < hi {
                    match &table.postings {
                        None => prefetch(&self.codes[lo as usize]),
                        Some(p) => prefetch(&p[lo as usize]),
                    }
                    ranges.push((lo, hi));
                }
            }
            cands.clear();
            for &(lo, hi) in &ranges {
                match &table.postings {
                    None => cands.extend(lo..hi),
                    Some(p) => {
                        for &slot in &p[lo as usize..hi as usize] {
                            prefetch(&self.codes[slot as usize]);
                            cands.push(slot);
                        }
                    }
                }
            }
            for &slot in &cands {
                self.check(slot, q, r, t, &tau, &qkeys, out);
            }
        }
    }

    /// Verifies one candidate found in table `t`, reporting it only if no earlier table would
    /// also have found it (so each slot is reported once without a hash set).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        slot: u32,
        q: &[u64; W],
        r: u32,
        t: usize,
        tau: &[i64],
        qkeys: &[u32],
        out: &mut Vec<(u32, u32)>,
    ) {
        let c = &self.codes[slot as usize];
        let d = scan::distance(c, q);
        if d > r {
            return;
        }
        for (u, table) in self.tables[..t].iter().enumerate() {
            if tau[u] >= 0 {
                let du = (key(c, table.start, table.bits) ^ qkeys[u]).count_ones() as i64;
                if du <= tau[u] {
                    return;
                }
            }
        }
        out.push((slot, d));
    }
}

/// Hints the CPU to fetch the cache line holding `x`.
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of the x86-64 baseline; a prefetch never faults and `x` is a live
        // reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Calls `f` with every `bits`-bit key within Hamming distance `radius` of `k`.
pub(crate) fn for_each_within(k: u32, bits: u32, radius: u32, f: &mut impl FnMut(u32)) {
    fn rec(k: u32, from: u32, bits: u32, left: u32, f: &mut impl FnMut(u32)) {
        f(k);
        if left == 0 {
            return;
        }
        for b in from..bits {
            rec(k ^ (1 << b), b + 1, bits, left - 1, f);
        }
    }
    rec(k, 0, bits, radius.min(bits), f);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_extraction_crosses_words() {
        let code = [0x8000_0000_0000_0001u64, 0xc000_0000_0000_0000, 0, 0];
        assert_eq!(key(&code, 0, 1), 1);
        assert_eq!(key(&code, 63, 3), 0b111);
        assert_eq!(key(&code, 62, 4), 0b0111);
        assert_eq!(key(&code, 240, 16), 0);
        let all = [u64::MAX; 4];
        assert_eq!(key(&all, 232, 24), (1 << 24) - 1);
    }

    #[test]
    fn radii_satisfy_pigeonhole() {
        for m in 1..=32u32 {
            let widths = split(256, m);
            assert_eq!(widths.iter().sum::<u32>(), 256);
            for r in 0..=256 {
                let tau = radii(&widths, r);
                let units: i64 = tau.iter().map(|t| t + 1).sum();
                assert!(units > r as i64, "m={m} r={r} tau={tau:?}");
                assert!(tau.iter().all(|&t| t >= -1));
            }
        }
        assert_eq!(radii(&split(256, 16), 31), vec![1; 16]);
    }

    #[test]
    fn enumerates_the_ball() {
        for (bits, radius) in [(8, 0), (8, 1), (8, 3), (5, 5), (12, 2)] {
            let mut seen = Vec::new();
            for_each_within(0b1011 & ((1 << bits) - 1), bits, radius, &mut |k| {
                seen.push(k)
            });
            let n = seen.len();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), n, "duplicates");
            assert_eq!(n as f64, ball(bits, radius as i64));
        }
    }

    #[test]
    fn auto_substrings_is_sane() {
        for n in [1usize << 12, 1 << 16, 1 << 20, 10_000_000] {
            let m = auto_substrings(n, 256);
            assert!((11..=32).contains(&m), "n={n} m={m}");
        }
    }
}
