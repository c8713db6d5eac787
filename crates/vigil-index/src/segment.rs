//! The immutable, bulk-built part of an index: distinct codes sorted ascending, their ids, and
//! the multi-index hash tables over them.
//!
//! Layout (for `N` distinct codes of `W` words and `m` substrings of `b_t <= 32` bits):
//! * `codes`: `N × W × 8` bytes, sorted, so table 0 (the top bits) needs no postings and exact
//!   lookups are a binary search;
//! * `ids`: the smallest id of each code (8 bytes each); `extra`: `(slot, id)` for every further
//!   id of a duplicated code, sorted (12 bytes each);
//! * per table `t`: a bucket directory on the top `d_t` bits of the substring (`offsets`:
//!   `2^d_t + 1` u32, CSR bucket starts), and, for `t > 0`, one u32 *entry* per code grouped by
//!   bucket: its slot in the low `s = ceil(log2 N)` bits, the remaining `b_t − d_t <= 32 − s`
//!   bits of its substring above them. Table 0 needs no entries: the sorted codes are already in
//!   bucket order and carry their own low bits.
//!
//! A probe of table `t` at radius `tau` enumerates the `d_t`-bit directory keys within `tau` of
//! the query's (each with `f` bits flipped) and scans each bucket's entries, contiguous, keeping
//! those within `tau − f` on the low bits: the candidates are exactly those of a `b_t`-bit table,
//! at the cost of `ball(d_t, tau)` directory reads instead of `ball(b_t, tau)`, with a directory
//! of `2^d_t` entries whatever `b_t` is, and one cache miss per bucket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Footprint;
use crate::mem::{Arena, Codes};
use crate::scan::{self, Simd};

/// Widest substring a table may use (keys are u32).
const MAX_KEY_BITS: u32 = 32;
/// Widest bucket directory: `2^24 + 1` u32s is 64 MiB.
const MAX_DIR_BITS: u32 = 24;
/// Substring bits below the directory bits, stored in each entry above the slot number (at most
/// `32 − slot_bits`; a table needing more gets a wider directory).
const MAX_LOW_BITS: u32 = 16;
/// Below this many distinct codes a segment builds no tables by default: a scan is as fast.
const MIN_TABLE_CODES: usize = 4096;

/// One substring table. Its arrays live in the segment's `dir` and `entries` (one allocation
/// each for all tables, so that they are large enough for huge pages).
#[derive(Debug)]
pub(crate) struct Table {
    /// First bit of the substring, counting from the most significant bit of the code.
    start: u32,
    /// Substring width in bits.
    bits: u32,
    /// Directory width: buckets are keyed by the top `dbits` bits of the substring.
    dbits: u32,
    /// Where the table's directory starts in `dir`: `2^dbits + 1` CSR offsets; bucket `h` is
    /// the range `dir[at + h]..dir[at + h + 1]` of the table's entries (of slots, for table 0),
    /// holding the codes whose substring's top `dbits` bits equal `h`.
    dir_at: usize,
    /// Where the table's `N` entries start in `entries` (`low << slot_bits | slot` in bucket
    /// order, `low` being the substring's bits below the directory bits); `None` for table 0,
    /// where the slot order already is the bucket order.
    entries_at: Option<usize>,
    /// Whether the table's arrays are filled (a compaction fills a new segment's one at a time,
    /// and releases the old one's, see [`Segment::fill_table`] and [`Segment::take_table`]).
    present: AtomicBool,
}

impl Table {
    /// The table's layout, absent.
    fn spec(&self) -> Table {
        Table {
            start: self.start,
            bits: self.bits,
            dbits: self.dbits,
            dir_at: self.dir_at,
            entries_at: self.entries_at,
            present: AtomicBool::new(false),
        }
    }

    fn dir_len(&self) -> usize {
        (1usize << self.dbits) + 1
    }
}

/// The table layout of a segment: substring count and directory width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Number of substrings (0: no tables).
    pub(crate) m: u32,
    /// Directory bits per table (capped to each substring's width and [`MAX_DIR_BITS`], raised to
    /// keep the low bits within [`max_low_bits`]).
    pub(crate) dbits: u32,
}

/// The first id of each slot: 4 bytes each when every id fits a `u32` (list lines, database
/// rows: the usual case), else 8.
#[derive(Debug, Clone)]
enum Ids {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Ids {
    fn new(ids: Vec<u64>) -> Self {
        if ids.iter().all(|&id| id <= u32::MAX as u64) {
            Ids::Narrow(ids.into_iter().map(|id| id as u32).collect())
        } else {
            Ids::Wide(ids)
        }
    }

    #[inline(always)]
    fn get(&self, i: usize) -> u64 {
        match self {
            Ids::Narrow(v) => v[i] as u64,
            Ids::Wide(v) => v[i],
        }
    }

    fn len(&self) -> usize {
        match self {
            Ids::Narrow(v) => v.len(),
            Ids::Wide(v) => v.len(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Ids::Narrow(v) => v.capacity() * 4,
            Ids::Wide(v) => v.capacity() * 8,
        }
    }
}

/// A segment's codes and ids, shared (a compaction reads them, and builds tables over them,
/// without holding the index's lock).
#[derive(Debug)]
pub(crate) struct Core<const W: usize> {
    /// Sorted, each on its own part of a cache line.
    codes: Codes<W>,
    ids: Ids,
    extra: Vec<(u32, u64)>,
}

/// The segment: its codes and ids, immutable and shared, and its tables, each of which may be
/// absent while a compaction swaps them one at a time (queries then read only the tables
/// present).
#[derive(Debug)]
pub(crate) struct Segment<const W: usize> {
    core: Arc<Core<W>>,
    tables: Vec<Table>,
    /// The bucket directories of all tables.
    dir: Arena,
    /// The entries of all tables but table 0.
    entries: Arena,
}

/// Extracts `bits` bits starting `start` bits below the most significant bit of `code`.
#[inline(always)]
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

/// Bits of a slot number among `n` slots.
pub(crate) fn slot_bits(n: usize) -> u32 {
    (usize::BITS - (n.max(2) - 1).leading_zeros()).max(1)
}

/// Most substring bits an entry can carry beside a slot number among `n`.
fn max_low_bits(n: usize) -> u32 {
    MAX_LOW_BITS.min(32 - slot_bits(n).min(32))
}

/// Directory bits of a `bits`-wide table over `n` codes in a layout asking for `dbits`: at most
/// the width and [`MAX_DIR_BITS`], but at least what keeps the low bits within
/// [`max_low_bits`] (which may exceed [`MAX_DIR_BITS`] for a forced layout over a huge set).
fn dir_bits(bits: u32, dbits: u32, n: usize) -> u32 {
    dbits
        .min(bits)
        .min(MAX_DIR_BITS)
        .max(bits.saturating_sub(max_low_bits(n)))
}

/// Whether a layout keeps every directory within [`MAX_DIR_BITS`].
fn feasible(widths: &[u32], dbits: u32, n: usize) -> bool {
    widths
        .iter()
        .all(|&b| dir_bits(b, dbits, n) <= MAX_DIR_BITS)
}

/// Model cost units (roughly nanoseconds on the development machine, a 2-vCPU AVX2 EPYC VM):
/// a directory probe (a cache miss on the directory, one on the bucket), an entry scanned in a
/// bucket (two contiguous bytes), a candidate verified (a cache miss on its code).
/// (Calibrated by sweeping `m` and the directory width on the 1M benchmark sets: entries count
/// for more than their bytes suggest because skewed sets fill some buckets far above the mean.)
const COST_PROBE: f64 = 20.0;
const COST_ENTRY: f64 = 4.0;
const COST_CAND: f64 = 40.0;
/// Bucket directories may take up to this many bytes per code (1 MiB floor).
const DIR_BYTES_PER_CODE: f64 = 12.0;

/// Chooses the layout for `n` distinct codes of `total` bits, with `m` and/or the directory
/// width forced or free: minimizes the model cost of an `r = 31` query (uniform codes) subject to
/// keys of at most [`MAX_KEY_BITS`] bits and bucket directories of at most
/// [`DIR_BYTES_PER_CODE`] (1 MiB floor; a forced layout that fits nowhere takes the smallest
/// directories it can).
pub(crate) fn auto_layout(n: usize, total: u32, m: Option<u32>, dbits: Option<u32>) -> Layout {
    let budget = (DIR_BYTES_PER_CODE * n as f64).max((1 << 20) as f64);
    let ms: Vec<u32> = match m {
        Some(m) => vec![m],
        None => (total.div_ceil(MAX_KEY_BITS).max(1)..=total.min(64)).collect(),
    };
    let ds: Vec<u32> = match dbits {
        Some(d) => vec![d],
        None => (1..=MAX_DIR_BITS).collect(),
    };
    let mut best: Option<(bool, f64, Layout)> = None;
    for &m in &ms {
        let widths = split(total, m);
        if widths[0] < 4 && m != ms[0] {
            break;
        }
        for &d in &ds {
            if m != ms[0] && !feasible(&widths, d, n) {
                continue;
            }
            let dir: f64 = widths
                .iter()
                .map(|&b| 4.0 * ((1u64 << dir_bits(b, d, n)) + 1) as f64)
                .sum();
            let (p, e, c) = model(&widths, d, 31.min(total - 1), n);
            let cost = COST_PROBE * p + COST_ENTRY * e + COST_CAND * c;
            // Over budget: only as a last resort, smallest directory first.
            let key = (dir > budget, if dir > budget { dir } else { cost });
            if best.is_none_or(|(o, k, _)| key < (o, k)) {
                best = Some((key.0, key.1, Layout { m, dbits: d }));
            }
        }
    }
    best.map_or(Layout { m: 0, dbits: 0 }, |b| b.2)
}

/// Model probes, bucket entries scanned and candidates of an MIH query at radius `r` over `n`
/// uniform codes, for tables of the given widths and directory bits.
fn model(widths: &[u32], dbits: u32, r: u32, n: usize) -> (f64, f64, f64) {
    let tau = radii(widths, r);
    let (mut probes, mut entries, mut cands) = (0.0, 0.0, 0.0);
    for (&b, &t) in widths.iter().zip(&tau) {
        let d = dir_bits(b, dbits, n);
        let p = ball(d, t);
        probes += p;
        entries += p * n as f64 / (1u64 << d) as f64;
        cands += ball(b, t) * n as f64 / (1u64 << b) as f64;
    }
    (probes, entries, cands)
}

impl<const W: usize> Segment<W> {
    /// Bits per code.
    const BITS: u32 = 64 * W as u32;

    /// An empty segment.
    pub(crate) fn empty() -> Self {
        Segment {
            core: Arc::new(Core {
                codes: Codes::default(),
                ids: Ids::Narrow(Vec::new()),
                extra: Vec::new(),
            }),
            tables: Vec::new(),
            dir: Arena::zeroed(0),
            entries: Arena::zeroed(0),
        }
    }

    /// Builds from `(code, id)` pairs in any order; duplicate pairs collapse. `substrings`:
    /// `Some(m)` forces `m` tables (`0`: none), `None` chooses by size; `dbits` likewise forces
    /// or leaves free the directory width.
    pub(crate) fn build(
        mut pairs: Vec<([u64; W], u64)>,
        substrings: Option<u32>,
        dbits: Option<u32>,
    ) -> Self {
        if !pairs.is_sorted() {
            pairs.sort_unstable();
        }
        pairs.dedup();
        let mut codes = Codes::with_capacity(pairs.len());
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
        Self::from_parts(codes, ids, extra, substrings, dbits)
    }

    /// Builds the tables over already sorted, distinct codes (checked by the caller).
    pub(crate) fn from_parts(
        codes: Codes<W>,
        ids: Vec<u64>,
        extra: Vec<(u32, u64)>,
        substrings: Option<u32>,
        dbits: Option<u32>,
    ) -> Self {
        let layout = Self::layout_for(codes.len(), substrings, dbits);
        let mut seg = Self::without_tables(codes, ids, extra, layout);
        let mut tmp = Vec::new();
        let n = seg.core.codes.len();
        let dir = seg.dir.as_mut_slice();
        let entries = seg.entries.as_mut_slice();
        for table in &seg.tables {
            Self::table(
                &seg.core.codes,
                table.start,
                table.bits,
                table.dbits,
                &mut dir[table.dir_at..table.dir_at + table.dir_len()],
                table.entries_at.map(|at| &mut entries[at..at + n]),
                &mut tmp,
            );
            table.present.store(true, Ordering::Release);
        }
        crate::mem::collapse(seg.dir.as_mut_slice());
        crate::mem::collapse(seg.entries.as_mut_slice());
        seg
    }

    /// The table layout for `n` distinct codes: `substrings` `Some(m)` forces `m` tables (`0`:
    /// none), `None` chooses by size; `dbits` likewise forces or leaves free the directory width.
    pub(crate) fn layout_for(n: usize, substrings: Option<u32>, dbits: Option<u32>) -> Layout {
        match substrings {
            Some(0) => Layout { m: 0, dbits: 0 },
            None if n < MIN_TABLE_CODES => Layout { m: 0, dbits: 0 },
            m => auto_layout(n, Self::BITS, m.map(|m| m.min(Self::BITS)), dbits),
        }
    }

    /// A segment over sorted, distinct codes whose tables (of `layout`) are all absent, their
    /// arrays allocated (zeroed pages, not yet touched): fill them with [`Segment::build_table`]
    /// and [`Segment::put_table`].
    pub(crate) fn without_tables(
        codes: Codes<W>,
        ids: Vec<u64>,
        extra: Vec<(u32, u64)>,
        layout: Layout,
    ) -> Self {
        assert!(codes.len() < u32::MAX as usize, "too many distinct codes");
        let mut tables = Vec::new();
        let mut dir = Arena::zeroed(0);
        let mut entries = Arena::zeroed(0);
        if layout.m > 0 {
            let widths = split(Self::BITS, layout.m);
            assert!(
                widths[0] <= MAX_KEY_BITS,
                "{} substrings give {}-bit keys; at most {MAX_KEY_BITS} bits are supported",
                layout.m,
                widths[0]
            );
            let n = codes.len();
            let (mut start, mut dir_at) = (0, 0);
            for (t, &bits) in widths.iter().enumerate() {
                let d = dir_bits(bits, layout.dbits, n);
                tables.push(Table {
                    start,
                    bits,
                    dbits: d,
                    dir_at,
                    entries_at: (t > 0).then(|| (t - 1) * n),
                    present: AtomicBool::new(false),
                });
                start += bits;
                dir_at += (1usize << d) + 1;
            }
            dir = Arena::zeroed(dir_at);
            entries = Arena::zeroed(n * (widths.len() - 1));
        }
        crate::mem::collapse(&codes);
        Segment {
            core: Arc::new(Core {
                codes,
                ids: Ids::new(ids),
                extra,
            }),
            tables,
            dir,
            entries,
        }
    }

    /// Another handle on the same codes and ids, with the same table layout but no table (and
    /// no table arrays): what a compaction reads the live content from without holding the
    /// index's lock.
    pub(crate) fn shell(&self) -> Self {
        Segment {
            core: Arc::clone(&self.core),
            tables: self.tables.iter().map(Table::spec).collect(),
            dir: Arena::zeroed(0),
            entries: Arena::zeroed(0),
        }
    }

    /// Fills table `t`'s arrays over the segment's codes and makes it present, through a
    /// shared borrow: a compaction fills a new segment's tables while queries read the ones
    /// already filled (`tmp`: scratch).
    ///
    /// # Safety
    /// Table `t` must be absent, no other thread may fill it at the same time, and no query may
    /// read it until this returns (queries read only the tables their callers know present).
    pub(crate) unsafe fn fill_table(&self, t: usize, tmp: &mut Vec<u64>) {
        let table = &self.tables[t];
        assert!(
            !table.present.load(Ordering::Acquire),
            "table {t} is present"
        );
        let n = self.core.codes.len();
        // SAFETY: the table's ranges are its own (tables' ranges are disjoint), and the caller
        // guarantees nothing else reads or writes them meanwhile.
        let (dir, entries) = unsafe {
            (
                self.dir.range_mut(table.dir_at, table.dir_len()),
                table.entries_at.map(|at| self.entries.range_mut(at, n)),
            )
        };
        Self::table(
            &self.core.codes,
            table.start,
            table.bits,
            table.dbits,
            dir,
            entries,
            tmp,
        );
        table.present.store(true, Ordering::Release);
    }

    /// Makes table `t` absent and gives its arrays' memory back to the system.
    pub(crate) fn take_table(&mut self, t: usize) {
        let table = &self.tables[t];
        table.present.store(false, Ordering::Release);
        let n = self.core.codes.len();
        let (dir_at, dir_len, entries_at) = (table.dir_at, table.dir_len(), table.entries_at);
        crate::mem::release(&mut self.dir.as_mut_slice()[dir_at..dir_at + dir_len]);
        if let Some(at) = entries_at {
            crate::mem::release(&mut self.entries.as_mut_slice()[at..at + n]);
        }
    }

    /// Whether every table is present.
    pub(crate) fn complete(&self) -> bool {
        self.tables
            .iter()
            .all(|t| t.present.load(Ordering::Acquire))
    }

    /// The directories and the entries of tables `range` (contiguous in the arenas, tables
    /// being laid out in order), with the offsets of their starts: `(dir, d0, entries, e0)`.
    /// Callers pass only present tables.
    #[inline(always)]
    fn arrays(&self, range: std::ops::Range<usize>) -> (&[u32], usize, &[u32], usize) {
        debug_assert!(
            self.tables[range.clone()]
                .iter()
                .all(|t| t.present.load(Ordering::Relaxed))
        );
        let (first, last) = (&self.tables[range.start], &self.tables[range.end - 1]);
        let d0 = first.dir_at;
        let d1 = last.dir_at + last.dir_len();
        let n = self.core.codes.len();
        let e0 = range.start.saturating_sub(1) * n;
        let e1 = (range.end - 1) * n;
        // SAFETY: only a table's filling writes its ranges (`fill_table`, on an absent table
        // that no query reads; `take_table`, through a unique borrow), and these are the ranges
        // of present tables only (callers pass table ranges known present).
        unsafe {
            (
                self.dir.range(d0, d1 - d0),
                d0,
                self.entries.range(e0, e1 - e0),
                e0,
            )
        }
    }

    /// Fills one table's directory (`offsets`, zeroed, `2^dbits + 1` long) and, but for
    /// table 0 (whose bucket order is the slot order of the sorted codes), its entries.
    fn table(
        codes: &[[u64; W]],
        start: u32,
        bits: u32,
        dbits: u32,
        offsets: &mut [u32],
        entries: Option<&mut [u32]>,
        tmp: &mut Vec<u64>,
    ) {
        let shift = bits - dbits;
        let low_mask = (1u64 << shift) - 1;
        let sbits = slot_bits(codes.len());
        debug_assert!(shift + sbits <= 32);
        let Some(e) = entries else {
            // Table 0: the codes are sorted, so this count runs through the directory in order.
            for c in codes {
                offsets[(key(c, start, bits) >> shift) as usize + 1] += 1;
            }
            for k in 0..offsets.len() - 1 {
                offsets[k + 1] += offsets[k];
            }
            return;
        };
        // Scattering straight into a directory and an entry array far larger than the caches
        // costs two cache misses per code and table. Instead: (1) scatter `key << 32 | slot`
        // into 2^cb coarse blocks by the top directory bits (2^cb sequential write streams), then
        // (2) per block, count and place its codes, whose directory range and entry range are
        // small and contiguous.
        let cb = dbits.min(8);
        let coarse = bits - cb;
        let mut starts = vec![0usize; (1 << cb) + 1];
        for c in codes {
            starts[(key(c, start, bits) >> coarse) as usize + 1] += 1;
        }
        for b in 0..1 << cb {
            starts[b + 1] += starts[b];
        }
        tmp.clear();
        tmp.resize(codes.len(), 0);
        let mut fill = starts.clone();
        for (slot, c) in codes.iter().enumerate() {
            let k = key(c, start, bits);
            let b = (k >> coarse) as usize;
            tmp[fill[b]] = (k as u64) << 32 | slot as u64;
            fill[b] += 1;
        }
        for x in tmp.iter() {
            offsets[((x >> 32) as u32 >> shift) as usize + 1] += 1;
        }
        for k in 0..offsets.len() - 1 {
            offsets[k + 1] += offsets[k];
        }
        let per_block = 1usize << (dbits - cb);
        let mut local = vec![0u32; per_block];
        for b in 0..1 << cb {
            let h0 = b * per_block;
            local.copy_from_slice(&offsets[h0..h0 + per_block]);
            for &x in &tmp[starts[b]..starts[b + 1]] {
                let k = (x >> 32) as u32;
                let h = (k >> shift) as usize - h0;
                e[local[h] as usize] =
                    (((k as u64 & low_mask) << sbits) | (x & 0xffff_ffff)) as u32;
                local[h] += 1;
            }
            // Sorted within each bucket: by low bits (the entries' top bits), then slot, so the
            // entries with given low bits are one contiguous run a binary search finds.
            for w in offsets[h0..h0 + per_block + 1].windows(2) {
                if w[1] - w[0] > 1 {
                    e[w[0] as usize..w[1] as usize].sort_unstable();
                }
            }
        }
    }

    /// Number of distinct codes.
    pub(crate) fn len(&self) -> usize {
        self.core.codes.len()
    }

    /// Number of substring tables (0: scan only).
    pub(crate) fn substrings(&self) -> usize {
        self.tables.len()
    }

    /// The sorted distinct codes.
    pub(crate) fn codes(&self) -> &[[u64; W]] {
        &self.core.codes
    }

    /// The code in `slot`.
    pub(crate) fn code(&self, slot: u32) -> &[u64; W] {
        &self.core.codes[slot as usize]
    }

    /// Number of `(code, id)` pairs: one per slot plus the further ids.
    pub(crate) fn pair_count(&self) -> usize {
        self.core.ids.len() + self.core.extra.len()
    }

    /// Calls `f(k, id)` with every id of `slot` and its *pair number* `k`: `slot` for the
    /// first id, `len() + i` for `extra[i]`. Pair numbers are dense in `0..pair_count()`, so
    /// removal marks are a bit set.
    #[inline]
    pub(crate) fn for_each_pair(&self, slot: u32, mut f: impl FnMut(usize, u64)) {
        f(slot as usize, self.core.ids.get(slot as usize));
        let extra = &self.core.extra;
        if !extra.is_empty() {
            let i = extra.partition_point(|&(s, _)| s < slot);
            for (j, &(s, id)) in extra[i..].iter().enumerate() {
                if s != slot {
                    break;
                }
                f(self.core.ids.len() + i + j, id);
            }
        }
    }

    /// Calls `f(k, slot, id)` for every pair of the segment, by pair number `k` (see
    /// [`Segment::for_each_pair`]): one linear pass, no search.
    pub(crate) fn for_each_pair_number(&self, mut f: impl FnMut(usize, u32, u64)) {
        let n = self.core.ids.len();
        for slot in 0..n {
            f(slot, slot as u32, self.core.ids.get(slot));
        }
        for (i, &(slot, id)) in self.core.extra.iter().enumerate() {
            f(n + i, slot, id);
        }
    }

    /// The pair number (see [`Segment::for_each_pair`]) of `(code, id)`, if the segment holds it.
    pub(crate) fn find_pair(&self, code: &[u64; W], id: u64) -> Option<usize> {
        let slot = self.find(code)?;
        let mut found = None;
        self.for_each_pair(slot, |k, x| {
            if x == id {
                found = Some(k);
            }
        });
        found
    }

    /// The slot holding `code`, if any.
    pub(crate) fn find(&self, code: &[u64; W]) -> Option<u32> {
        self.core.codes.binary_search(code).ok().map(|s| s as u32)
    }

    /// Heap bytes used.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.core.codes.heap_bytes()
            + self.core.ids.heap_bytes()
            + self.core.extra.capacity() * 16
            + self.dir.len() * 4
            + self.entries.len() * 4
    }

    /// Model cost of an MIH query at radius `r` and of a scan of the whole segment; `None`
    /// when there are no tables. Units: roughly nanoseconds on the development machine.
    pub(crate) fn mih_cost(&self, r: u32) -> Option<(f64, f64)> {
        if self.tables.is_empty() {
            return None;
        }
        let n = self.core.codes.len();
        let tau = radii(&self.widths(), r);
        let (mut p, mut e, mut c) = (0.0, 0.0, 0.0);
        for (t, &tau_t) in self.tables.iter().zip(&tau) {
            let probes = ball(t.dbits, tau_t);
            p += probes;
            e += probes * n as f64 / (1u64 << t.dbits) as f64;
            c += ball(t.bits, tau_t) * n as f64 / (1u64 << t.bits) as f64;
        }
        // A scanned code costs ~1–5 ns (32 B of memory bandwidth; ~5 ns on the development VM,
        // ~1 ns where it is cached or on a server core).
        Some((
            COST_PROBE * p + COST_ENTRY * e + COST_CAND * c,
            3.0 * n as f64,
        ))
    }

    fn widths(&self) -> Vec<u32> {
        self.tables.iter().map(|t| t.bits).collect()
    }

    /// Appends `(slot, distance)` for every code within `r` of `q` by a linear scan.
    pub(crate) fn query_scan(&self, q: &[u64; W], r: u32, simd: Simd, out: &mut Vec<(u32, u32)>) {
        scan::scan(&self.core.codes, q, r, simd, 0, out);
    }

    /// Appends `(slot, distance)` for every code within `r` of `q` by multi-index hashing, each
    /// slot once (in no particular order). Falls back to a scan when there are no tables.
    pub(crate) fn query_mih(&self, q: &[u64; W], r: u32, out: &mut Vec<(u32, u32)>) {
        if self.tables.is_empty() {
            return self.query_scan(q, r, Simd::detect(), out);
        }
        self.query_mih_tables(q, r, 0..self.tables.len(), out);
    }

    /// The part of [`Segment::query_mih`] that probes tables `tables` (all present): the slots
    /// within `r` of `q` whose *first* finding table (the first whose substring is within its
    /// radius of the query's) is in that range. Over a partition of `0..m` into ranges the
    /// parts are disjoint and make up the whole answer, whichever segment of the same codes and
    /// layout each range is read from: what lets a compaction swap tables one at a time.
    pub(crate) fn query_mih_tables(
        &self,
        q: &[u64; W],
        r: u32,
        tables: std::ops::Range<usize>,
        out: &mut Vec<(u32, u32)>,
    ) {
        SCRATCH.with_borrow_mut(|s| {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU supports POPCNT (checked just above).
                return unsafe { self.query_mih_popcnt(q, r, tables, out, s) };
            }
            self.query_mih_pipeline(q, r, tables, out, s)
        })
    }

    /// [`Segment::query_mih`] compiled with the `POPCNT` instruction (the x86-64 baseline lacks
    /// it, and `count_ones` otherwise becomes a dozen bit operations per word).
    ///
    /// # Safety
    /// The CPU must support POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn query_mih_popcnt(
        &self,
        q: &[u64; W],
        r: u32,
        tables: std::ops::Range<usize>,
        out: &mut Vec<(u32, u32)>,
        s: &mut Scratch,
    ) {
        self.query_mih_pipeline(q, r, tables, out, s)
    }

    /// The MIH query as one pipeline over all tables:
    /// 1. enumerate every probe (table, directory key, bits left for the low part);
    /// 2. for each probe, read its directory entry and prefetch its bucket's lines, and scan
    ///    the bucket of the probe `D` steps back for candidates (entries whose low bits are
    ///    close enough), the directory entries being prefetched `D` steps ahead;
    /// 3. verify each candidate's full distance, its code prefetched a fixed distance ahead.
    ///
    /// The query is bound by memory latency (a directory line and a bucket per probe, a code
    /// per candidate, nearly all cache misses on a large index); the fixed prefetch distances
    /// keep a few dozen misses in flight instead of paying them one after another.
    #[inline(always)]
    fn query_mih_pipeline(
        &self,
        q: &[u64; W],
        r: u32,
        range: std::ops::Range<usize>,
        out: &mut Vec<(u32, u32)>,
        s: &mut Scratch,
    ) {
        if range.is_empty() {
            return;
        }
        let tau = radii(&self.widths(), r);
        let n = self.core.codes.len();
        let sbits = slot_bits(n);
        // Only the arrays of the tables probed: a compaction may be filling another table.
        let (dir, d0, entries, e0) = self.arrays(range.clone());
        s.qkeys.clear();
        s.qkeys
            .extend(self.tables.iter().map(|t| key(q, t.start, t.bits)));

        // 1. Probes: `dir index (from d0) | left << 32 | table << 40`.
        s.probes.clear();
        for (t, table) in self.tables.iter().enumerate() {
            if tau[t] < 0 || !range.contains(&t) {
                continue;
            }
            let tau_t = tau[t].min(table.bits as i64) as u32;
            let shift = table.bits - table.dbits;
            let qh = s.qkeys[t] >> shift;
            let base = (table.dir_at - d0) as u64 | (t as u64) << 40;
            let probes = &mut s.probes;
            for_each_within_flips(qh, table.dbits, tau_t, |k, flips| {
                probes.push((base + k as u64) | (((tau_t - flips) as u64) << 32));
            });
        }

        // 2. Directory reads and bucket scans, software-pipelined: at step `i` the directory
        // entry of probe `i + D` is prefetched, that of probe `i` read (and its bucket
        // prefetched), and the bucket of probe `i − D` scanned. `ring` holds the buckets in
        // between. Candidates are `slot | table << 32`.
        const D: usize = 32;
        let probes = &s.probes[..];
        let np = probes.len();
        let mut ring = [(0u32, 0u32, 0u32); D];
        let mut nc = 0usize;
        for &p in probes.iter().take(D) {
            prefetch(&dir[p as u32 as usize]);
        }
        for i in 0..np + D {
            if let Some(&p) = probes.get(i + D) {
                prefetch(&dir[p as u32 as usize]);
            }
            if i >= D {
                let (lo, hi, meta) = ring[(i - D) % D];
                if lo < hi {
                    let (lo, hi) = (lo as usize, hi as usize);
                    let left = meta & 0xff;
                    let t = (meta >> 8) as usize;
                    let table = &self.tables[t];
                    let shift = table.bits - table.dbits;
                    let ql = s.qkeys[t] & (((1u64 << shift) - 1) as u32);
                    let tag = (t as u64) << 32;
                    let ents = table.entries_at.map(|at| &entries[at - e0..at - e0 + n]);
                    nc = self.scan_bucket(
                        table,
                        ents,
                        lo,
                        hi,
                        left,
                        ql,
                        tag,
                        sbits,
                        &mut s.cands,
                        nc,
                    );
                }
            }
            if i < np {
                let p = probes[i];
                let at = p as u32 as usize;
                let (lo, hi) = (dir[at], dir[at + 1]);
                let t = (p >> 40) as usize;
                if lo < hi {
                    match self.tables[t].entries_at {
                        None => prefetch_codes(&self.core.codes[lo as usize..hi as usize]),
                        Some(e) => {
                            prefetch_run(&entries[e - e0 + lo as usize..e - e0 + hi as usize])
                        }
                    }
                }
                ring[i % D] = (lo, hi, (p >> 32) as u32);
            }
        }

        // 3. Verification.
        // Far enough ahead that a few dozen codes are in flight while one is checked (a check
        // takes a few nanoseconds, a miss a hundred or more): 8 left skewed sets, whose
        // queries verify tens of thousands of candidates, waiting on memory (32: −15–20 % at
        // 10M skewed, a few % on uniform sets; 24–48 measured the same). With prefetches into
        // L2 (see `prefetch`), more can be in flight: 64 took 10–17 % off the verification of
        // skewed sets and uniform 10M again; 128 measured the same as 64.
        const AHEAD_CODE: usize = 64;
        let cands = &s.cands[..nc];
        for (i, &c) in cands.iter().enumerate() {
            if let Some(&next) = cands.get(i + AHEAD_CODE) {
                prefetch_code(&self.core.codes[next as u32 as usize]);
            }
            self.check(c as u32, q, r, (c >> 32) as usize, &tau, &s.qkeys, out);
        }
        // A rare huge query (a forced MIH at a large radius) must not pin its buffers.
        if s.cands.capacity() > 1 << 20 {
            s.cands = Vec::new();
        }
    }

    /// Appends to `cands` (from `nc`, growing it as needed; returns the new count) the slots of
    /// bucket `lo..hi` of `table` whose low substring bits are within `left` of `ql`, tagged with
    /// `tag`. Buckets are sorted by low bits, so when no bit is left (most probes: the directory
    /// key already used up the radius) the matching run is found by binary search instead of
    /// reading the whole bucket — what keeps the heavy buckets of skewed sets cheap; otherwise
    /// the bucket is filtered branch-free.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn scan_bucket(
        &self,
        table: &Table,
        entries: Option<&[u32]>,
        lo: usize,
        hi: usize,
        left: u32,
        ql: u32,
        tag: u64,
        sbits: u32,
        cands: &mut Vec<u64>,
        mut nc: usize,
    ) -> usize {
        let shift = table.bits - table.dbits;
        let low_mask = ((1u64 << shift) - 1) as u32;
        let slot_mask = ((1u64 << sbits) - 1) as u32;
        match entries {
            None if left >= shift => {
                room(cands, nc + (hi - lo));
                for slot in lo..hi {
                    cands[nc] = slot as u64 | tag;
                    nc += 1;
                }
            }
            None => {
                let low = |c: &[u64; W]| key(c, table.start, table.bits) & low_mask;
                let codes = &self.core.codes[lo..hi];
                if searches(false, codes.len(), shift, left) {
                    let a = codes.partition_point(|c| low(c) < ql);
                    for (i, c) in codes[a..].iter().enumerate() {
                        if low(c) != ql {
                            break;
                        }
                        room(cands, nc + 1);
                        cands[nc] = (lo + a + i) as u64 | tag;
                        nc += 1;
                    }
                } else {
                    room(cands, nc + codes.len());
                    for (i, c) in codes.iter().enumerate() {
                        cands[nc] = (lo + i) as u64 | tag;
                        nc += usize::from((low(c) ^ ql).count_ones() <= left);
                    }
                }
            }
            Some(e) => {
                let e = &e[lo..hi];
                let n = e.len();
                if searches(true, n, shift, left) {
                    for_each_within_flips(ql, shift, left, |k, _| {
                        let a = e.partition_point(|&x| x >> sbits < k);
                        for &x in &e[a..] {
                            if x >> sbits != k {
                                break;
                            }
                            room(cands, nc + 1);
                            cands[nc] = (x & slot_mask) as u64 | tag;
                            nc += 1;
                        }
                    });
                } else {
                    room(cands, nc + n);
                    for &x in e {
                        cands[nc] = (x & slot_mask) as u64 | tag;
                        nc += usize::from(((x >> sbits) ^ ql).count_ones() <= left);
                    }
                }
            }
        }
        nc
    }

    /// Verifies one candidate found in table `t`, reporting it only if no earlier table would
    /// also have found it (so each slot is reported once without a hash set).
    #[inline(always)]
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
        let c = &self.core.codes[slot as usize];
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

/// Grows `cands` to at least `need` entries. The candidate buffer is written by index, its length
/// being room rather than a count, and never shrinks between buckets: a shrink would make the next
/// bucket zero-fill it again (that refill was 2.4 % of a loaded server's time at 10M hashes).
#[inline(always)]
fn room(cands: &mut Vec<u64>, need: usize) {
    if cands.len() < need {
        cands.resize(need.next_power_of_two(), 0);
    }
}

/// Whether [`Segment::scan_bucket`] binary-searches a bucket of `n` entries (`entries`: a table
/// with entries, else table 0's codes) for the low keys within `left` of the query's, rather than
/// reading it whole: when that reads far fewer entries. Table 0 searches only for its exact low
/// key. (Shared with [`Segment::footprint`], which must read what the query reads.)
fn searches(entries: bool, n: usize, shift: u32, left: u32) -> bool {
    /// Buckets up to this long are read whole.
    const SEARCH_OVER: usize = 8;
    if n <= SEARCH_OVER {
        return false;
    }
    if !entries {
        return left == 0;
    }
    // ball(shift, left) binary searches of ~log2(n) + 2 reads each.
    ball(shift, left as i64) * ((usize::BITS - n.leading_zeros()) as f64 + 2.0) < n as f64
}

impl<const W: usize> Segment<W> {
    /// Replays the MIH query of [`Segment::query_mih`] for `q` at radius `r` without answering
    /// it, and counts what it reads: probes, distinct directory lines, non-empty buckets, the
    /// entries and distinct lines its bucket scans read (a binary search reads only the lines of
    /// the entries it compares), candidates, and the distinct lines of their codes. For cost
    /// models and benchmarks: each distinct line is a cache miss on an index far larger than the
    /// caches, which is what bounds a query (`BENCHMARKS.md`, "the memory floor").
    pub(crate) fn footprint(&self, q: &[u64; W], r: u32) -> Footprint {
        use std::collections::HashSet;
        let mut f = Footprint::default();
        if self.tables.is_empty() {
            return f;
        }
        // All of them (callers check the segment is complete), from offset 0.
        let (all_dir, _, all_entries, _) = self.arrays(0..self.tables.len());
        let line = |p: *const u8| p as usize / 64;
        let tau = radii(&self.widths(), r);
        let sbits = slot_bits(self.core.codes.len());
        let (mut dir_lines, mut bucket_lines, mut code_lines) =
            (HashSet::new(), HashSet::new(), HashSet::new());
        let mut cands = Vec::new();
        for (t, table) in self.tables.iter().enumerate() {
            if tau[t] < 0 {
                continue;
            }
            let tau_t = tau[t].min(table.bits as i64) as u32;
            let shift = table.bits - table.dbits;
            let qk = key(q, table.start, table.bits);
            let ql = qk & (((1u64 << shift) - 1) as u32);
            for_each_within_flips(qk >> shift, table.dbits, tau_t, |k, flips| {
                f.probes += 1;
                let at = table.dir_at + k as usize;
                dir_lines.insert(line((&all_dir[at] as *const u32).cast()));
                dir_lines.insert(line((&all_dir[at + 1] as *const u32).cast()));
                let (lo, hi) = (all_dir[at] as usize, all_dir[at + 1] as usize);
                if lo >= hi {
                    return;
                }
                f.buckets += 1;
                let mut read = |p: *const u8| {
                    bucket_lines.insert(line(p));
                };
                // Which elements the scan reads: all, or those a binary search compares.
                let mut touched: Vec<usize> = Vec::new();
                let left = tau_t - flips;
                let n = hi - lo;
                // As `scan_bucket`: table 0 takes a bucket whole when every low bit may differ.
                let entries = table.entries_at.is_some();
                let searches = (entries || left < shift) && searches(entries, n, shift, left);
                let low = |i: usize| -> u32 {
                    match table.entries_at {
                        None => {
                            key(&self.core.codes[i], table.start, table.bits)
                                & (((1u64 << shift) - 1) as u32)
                        }
                        Some(e) => all_entries[e + i] >> sbits,
                    }
                };
                let slot = |i: usize| -> u32 {
                    match table.entries_at {
                        None => i as u32,
                        Some(e) => all_entries[e + i] & (((1u64 << sbits) - 1) as u32),
                    }
                };
                if searches {
                    let keys: Vec<u32> = if table.entries_at.is_none() {
                        vec![ql]
                    } else {
                        let mut v = Vec::new();
                        for_each_within_flips(ql, shift, left, |k, _| v.push(k));
                        v
                    };
                    for k in keys {
                        let (mut a, mut b) = (lo, hi);
                        while a < b {
                            let mid = a + (b - a) / 2;
                            touched.push(mid);
                            if low(mid) < k {
                                a = mid + 1;
                            } else {
                                b = mid;
                            }
                        }
                        let mut i = a;
                        while i < hi {
                            touched.push(i);
                            if low(i) != k {
                                break;
                            }
                            cands.push(slot(i));
                            i += 1;
                        }
                    }
                } else {
                    for i in lo..hi {
                        touched.push(i);
                        if left >= shift || (low(i) ^ ql).count_ones() <= left {
                            cands.push(slot(i));
                        }
                    }
                }
                f.entries += touched.len() as u64;
                for i in touched {
                    match table.entries_at {
                        None => read((&self.core.codes[i] as *const [u64; W]).cast()),
                        Some(e) => read((&all_entries[e + i] as *const u32).cast()),
                    }
                }
            });
        }
        f.candidates = cands.len() as u64;
        for s in cands {
            code_lines.insert(line(
                (&self.core.codes[s as usize] as *const [u64; W]).cast(),
            ));
        }
        f.dir_lines = dir_lines.len() as u64;
        f.bucket_lines = bucket_lines.len() as u64;
        f.code_lines = code_lines.len() as u64;
        f.lines = dir_lines
            .union(&bucket_lines)
            .copied()
            .collect::<HashSet<_>>()
            .union(&code_lines)
            .count() as u64;
        f
    }
}

/// Reusable per-thread buffers of the MIH query pipeline (no allocation per query once warm).
#[derive(Default)]
struct Scratch {
    qkeys: Vec<u32>,
    probes: Vec<u64>,
    cands: Vec<u64>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Calls `f(key, flips)` for every `bits`-bit key within Hamming distance `radius` of `k`, with
/// the number of bits it differs in; nested loops up to radius 3, recursion beyond.
#[inline(always)]
fn for_each_within_flips(k: u32, bits: u32, radius: u32, mut f: impl FnMut(u32, u32)) {
    let radius = radius.min(bits);
    if radius > 3 {
        for_each_within(k, bits, radius, &mut |x| f(x, (x ^ k).count_ones()));
        return;
    }
    f(k, 0);
    if radius == 0 {
        return;
    }
    for i in 0..bits {
        let ki = k ^ (1 << i);
        f(ki, 1);
        if radius >= 2 {
            for j in i + 1..bits {
                let kj = ki ^ (1 << j);
                f(kj, 2);
                if radius >= 3 {
                    for l in j + 1..bits {
                        f(kj ^ (1 << l), 3);
                    }
                }
            }
        }
    }
}

/// Hints the CPU to fetch the cache line holding `x` into the level-2 cache (`PREFETCHT1`).
///
/// Into L2, not L1: a prefetch to L1 holds one of the core's few L1 miss buffers (about two dozen)
/// until its line arrives, and those buffers, not DRAM, bound how many random lines a core reads
/// per second. Prefetches to L2 are tracked by L2's larger set, so about twice as many misses are
/// in flight; the later read then hits L2 (a dozen cycles). On the Zen 4 VM: 8.4 → 4.75 ns a
/// random line at 128–512 MiB (`bench/random_access.c`), and MIH queries 14–23 % faster
/// (`BENCHMARKS.md`).
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        // SAFETY: SSE is part of the x86-64 baseline; a prefetch never faults and `x` is a live
        // reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T1>((x as *const T).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Hints the CPU to fetch the cache lines of a bucket's entries, up to 8 of them (a binary search
/// would otherwise wait for each line it touches in turn).
#[inline(always)]
fn prefetch_run(e: &[u32]) {
    const PER_LINE: usize = 16;
    let mut i = 0;
    while i < e.len().min(8 * PER_LINE) {
        prefetch(&e[i]);
        i += PER_LINE;
    }
    // The last entry may sit on one more line when the run does not start on a line boundary.
    if e.len() <= 8 * PER_LINE {
        prefetch(&e[e.len() - 1]);
    }
}

/// Hints the CPU to fetch the cache lines of a run of codes, up to 8 lines.
#[inline(always)]
fn prefetch_codes<const W: usize>(c: &[[u64; W]]) {
    let per_line = (64 / (8 * W)).max(1);
    let mut i = 0;
    while i < c.len().min(8 * per_line) {
        prefetch(&c[i]);
        i += per_line;
    }
    if c.len() <= 8 * per_line {
        prefetch(&c[c.len() - 1][W - 1]);
    }
}

/// Hints the CPU to fetch a code (its first and last word: one cache line for codes of up to 64
/// bytes, which [`Codes`] keeps within a line).
#[inline(always)]
fn prefetch_code<const W: usize>(c: &[u64; W]) {
    prefetch(&c[0]);
    prefetch(&c[W - 1]);
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
    fn auto_layout_is_sane() {
        for n in [1usize << 12, 1 << 16, 1 << 20, 10_000_000, 100_000_000] {
            let l = auto_layout(n, 256, None, None);
            assert!((8..=32).contains(&l.m), "n={n} {l:?}");
            let widths = split(256, l.m);
            let dir: usize = widths
                .iter()
                .map(|&b| 4 * ((1 << dir_bits(b, l.dbits, n)) + 1))
                .sum();
            assert!(dir <= (12 * n).max(1 << 20), "n={n} {l:?}");
        }
        // Forced layouts always fit the key and directory limits.
        for m in [8, 11, 16, 32, 64, 256] {
            for d in [None, Some(1), Some(30)] {
                let l = auto_layout(4096, 256, Some(m), d);
                assert_eq!(l.m, m);
                for &b in &split(256, m) {
                    let db = dir_bits(b, l.dbits, 4096);
                    assert!(db <= MAX_DIR_BITS && db <= b && b - db <= max_low_bits(4096));
                }
            }
        }
    }

    /// The footprint's counts against a brute-force oracle: probes are the directory balls;
    /// candidates are, per table, exactly the codes whose substring is within the table's radius
    /// of the query's; every match is among them. Clustered codes make heavy buckets, so the
    /// binary-search path is replayed too.
    #[test]
    fn footprint_counts_what_the_query_reads() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut pairs = Vec::new();
        let centres: Vec<[u64; 4]> = (0..64).map(|_| rng.r#gen()).collect();
        for i in 0..40_000u64 {
            let mut c: [u64; 4] = if i % 2 == 0 {
                rng.r#gen()
            } else {
                centres[rng.gen_range(0..centres.len())]
            };
            if i % 2 == 1 {
                for _ in 0..rng.gen_range(0..6) {
                    let b = rng.gen_range(0..256);
                    c[b / 64] ^= 1 << (b % 64);
                }
            }
            pairs.push((c, i));
        }
        for (m, d) in [(11, None), (16, Some(8)), (8, None)] {
            let seg = Segment::<4>::build(pairs.clone(), Some(m), d);
            for (i, r) in [(0usize, 31u32), (1, 31), (3, 0), (5, 12), (7, 40)] {
                let mut q = pairs[i * 997].0;
                q[0] ^= 0b1011;
                let f = seg.footprint(&q, r);
                let tau = radii(&seg.widths(), r);
                let probes: f64 = seg
                    .tables
                    .iter()
                    .zip(&tau)
                    .map(|(t, &tau)| ball(t.dbits, tau.min(t.bits as i64)))
                    .sum();
                assert_eq!(f.probes as f64, probes, "m={m} r={r}");
                let cands: u64 = seg
                    .tables
                    .iter()
                    .zip(&tau)
                    .map(|(t, &tau)| {
                        let qk = key(&q, t.start, t.bits);
                        seg.codes()
                            .iter()
                            .filter(|c| (key(c, t.start, t.bits) ^ qk).count_ones() as i64 <= tau)
                            .count() as u64
                    })
                    .sum();
                assert_eq!(f.candidates, cands, "m={m} r={r}");
                let matches = seg
                    .codes()
                    .iter()
                    .filter(|c| scan::distance(c, &q) <= r)
                    .count() as u64;
                assert!(matches >= 1 || r < 12, "m={m} r={r}");
                assert!(f.candidates >= matches && f.code_lines <= f.candidates);
                assert!(f.buckets <= f.probes && f.bucket_lines <= f.entries);
                assert!(f.lines <= f.dir_lines + f.bucket_lines + f.code_lines);
                assert!(f.lines >= f.dir_lines.max(f.code_lines));
            }
        }
    }
}
