//! Exact Hamming range search over 256-bit perceptual hashes (PDQ), with live updates and
//! checksummed files.
//!
//! An [`Index`] holds a set of `(hash, id)` pairs and answers *range queries*: every stored pair
//! whose hash lies within Hamming distance `r` of a query, for any `r` in `0..=256`, **exactly**
//! (never an approximate recall). Ids are `u64` chosen by the caller (a list line, a database
//! row); a hash may carry any number of ids and is stored once.
//!
//! # How it searches
//!
//! * **Multi-index hashing** (Norouzi, Punjani & Fleet, CVPR 2012 / TPAMI 2014). The 256 bits are
//!   cut into `m` consecutive substrings of up to 32 bits (`m` chosen from the size by a cost
//!   model: 11 × 23–24 bits around 1M hashes, fewer, wider ones beyond), each with a bucket
//!   directory on its top ~log2(n) bits whose u32 entries carry the substring's remaining bits
//!   above the slot, sorted within each bucket, so a probe reads one directory entry and one
//!   contiguous bucket, binary-searched for the remaining bits it needs. A hash within
//!   `r` of the query has, by the pigeonhole principle, some substring `t` within `tau_t` of the
//!   query's, where `sum_t (tau_t + 1) = r + 1` (for `r = 31`, `m = 16`: every `tau_t = 1`). The
//!   query enumerates those substring neighbourhoods, reads the buckets and verifies each
//!   candidate with a full popcount. A candidate is reported only by the first table that can
//!   find it, so no hash set is needed to deduplicate.
//! * **Linear scan** with an AVX2 nibble-LUT popcount, an AVX-512 `VPOPCNTQ` kernel where the CPU
//!   has one, or portable `count_ones`, selected at run time ([`Simd`]).
//! * [`Strategy::Auto`] (the default) picks per query from a cost model of probes and candidates
//!   against the scan's cost: MIH at PDQ's usual `r <= ~40` on large sets, the scan at large `r`
//!   or on small sets. [`Strategy::Mih`] and [`Strategy::Scan`] force one (tests, benchmarks).
//!
//! # Updates
//!
//! The pairs live in an immutable, bulk-built *segment* (sorted distinct hashes, their ids, the
//! MIH tables) plus a small mutable *delta* (recent inserts, scanned linearly) and a set of
//! removed segment pairs, all behind one `RwLock`. [`Index::insert`] and [`Index::remove`] take
//! the write lock for a few hash-map operations, so a change is visible to the next query (a
//! query holds the read lock for its duration, so a writer waits at most for the queries in
//! flight). When the delta grows past `clamp(n / 64, 4096, 65536)` hashes, the writer that
//! noticed rebuilds the segment *without holding the lock* (queries and updates continue),
//! replaying the changes made meanwhile ([`Index::compact`] does it on demand). The new
//! segment's tables are built one at a time, each swapped in for the old segment's table of the
//! same number, which is freed at once: a query reads each table from whichever segment has it
//! (a slot is reported only by the first table that can find it, whichever segment that table
//! is in), so a compaction never holds two full sets of tables. At 10M hashes its memory peak
//! is the new codes and one table (~0.5 GB) over the index's ~0.85 GB, instead of a second
//! segment (~0.95 GB).
//!
//! # Files
//!
//! [`Index::save`] writes a compact, versioned file (~40 bytes per hash: the sorted hashes and
//! ids, a CRC-32 over everything; written to a temporary file and renamed into place);
//! [`Index::load`] checks it and rebuilds the tables. A truncated, corrupt or foreign file is
//! refused with an [`Error`] naming it. The format is documented in the `file` module source.
//!
//! # What it deliberately does not do
//!
//! No I/O beyond its own index files; no images, no hash-list parsing, no SQL, no HTTP, no
//! threads of its own. It does not parse hex (that is [`vigil_core::Hash256`]'s job) and does not
//! know what an id means.
//!
//! # Example
//!
//! ```
//! use vigil_core::Hash256;
//! use vigil_index::Index;
//!
//! let a: Hash256 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse().unwrap();
//! let mut near = a;
//! near.set_bit(3);
//! let index = Index::from_pairs([(a, 1), (a, 2), (Hash256::ZERO, 3)]);
//! let found = index.query(&near, 31);
//! assert_eq!(found.len(), 2); // both ids of `a`, at distance 1
//! assert!(found.iter().all(|m| m.hash == a && m.distance == 1));
//!
//! index.remove(&a, 1);
//! index.insert(near, 4);
//! let ids: Vec<u64> = index.query(&near, 0).iter().map(|m| m.id).collect();
//! assert_eq!(ids, [4]);
//! ```
//!
//! # Extending to 64- and 128-bit hashes
//!
//! Everything below the public wrapper (segment, tables, scan, file format) is generic over the
//! number of 64-bit words `W`; a 64-bit pHash index would be another thin wrapper over the
//! `W = 1` core. Only `W = 4` is exposed and tested today.

#![warn(missing_docs)]

mod error;
mod file;
mod live;
mod mem;
mod scan;
mod segment;

use std::path::Path;

use vigil_core::Hash256;

pub use error::Error;
pub use scan::Simd;

/// How a query searches the segment (the delta is always scanned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Choose per query from a cost model (radius, size, table layout).
    #[default]
    Auto,
    /// Multi-index hashing (a scan when the index has no tables).
    Mih,
    /// Linear scan with the given kernel (falls back to [`Simd::Portable`] if the CPU lacks it).
    Scan(Simd),
}

/// Options for building or loading an [`Index`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexOptions {
    /// Number of MIH substrings: `None` chooses from the size (no tables under 4096 hashes);
    /// `Some(0)` builds none (scan only). Substrings must be at most 32 bits wide (`m >= 8`).
    pub substrings: Option<u32>,
    /// Bucket-directory bits per MIH table (the top bits of each substring; the rest are stored
    /// beside each entry): `None` chooses from the size. Clamped to `substring − 16 ..= 24` bits
    /// and to the substring's width.
    pub dir_bits: Option<u32>,
    /// Whether an insert that finds the delta too large compacts (in the inserting thread).
    pub auto_compact: bool,
    /// Delta size (distinct hashes) that triggers compaction; `None`: `clamp(n / 64, 4096, 65536)`.
    pub max_delta: Option<usize>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            substrings: None,
            dir_bits: None,
            auto_compact: true,
            max_delta: None,
        }
    }
}

impl IndexOptions {
    /// Sets [`IndexOptions::substrings`].
    pub fn substrings(mut self, m: Option<u32>) -> Self {
        self.substrings = m;
        self
    }

    /// Sets [`IndexOptions::dir_bits`].
    pub fn dir_bits(mut self, d: Option<u32>) -> Self {
        self.dir_bits = d;
        self
    }

    /// Sets [`IndexOptions::auto_compact`].
    pub fn auto_compact(mut self, on: bool) -> Self {
        self.auto_compact = on;
        self
    }

    /// Sets [`IndexOptions::max_delta`].
    pub fn max_delta(mut self, n: Option<usize>) -> Self {
        self.max_delta = n;
        self
    }
}

/// One stored `(hash, id)` pair within the radius of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Match {
    /// Hamming distance to the query.
    pub distance: u32,
    /// The stored hash.
    pub hash: Hash256,
    /// The id stored with it.
    pub id: u64,
}

/// Size and layout figures of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Number of `(hash, id)` pairs.
    pub pairs: usize,
    /// Distinct hashes in the segment (including ones whose ids are all removed, until compaction).
    pub base_hashes: usize,
    /// Distinct hashes in the delta.
    pub delta_hashes: usize,
    /// Removed segment pairs awaiting compaction.
    pub removed_pending: usize,
    /// MIH substrings of the segment (0: scan only).
    pub substrings: usize,
    /// Heap bytes held (approximate for the hash maps).
    pub heap_bytes: usize,
}

/// What one multi-index-hashing query of an index's segment reads from memory
/// ([`Index::footprint`]): a diagnostic for cost models and benchmarks. On an index far larger
/// than the CPU caches each distinct line is a cache miss, and the misses, not the arithmetic,
/// bound a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Footprint {
    /// Directory keys probed, over all tables.
    pub probes: u64,
    /// Distinct 64-byte lines of bucket directories read.
    pub dir_lines: u64,
    /// Non-empty buckets scanned.
    pub buckets: u64,
    /// Bucket entries read (all of a scanned bucket; only those compared by a binary search).
    pub entries: u64,
    /// Distinct lines of bucket entries read.
    pub bucket_lines: u64,
    /// Candidates whose full code is compared (a code found by several tables counts each time).
    pub candidates: u64,
    /// Distinct lines of candidates' codes.
    pub code_lines: u64,
    /// Distinct lines read in all (table 0's buckets are codes, so the kinds may overlap).
    pub lines: u64,
}

/// An exact Hamming range index over [`Hash256`] with `u64` ids; see the crate docs.
///
/// `Index` is `Send + Sync`: share it (e.g. in an `Arc`) between query and update threads.
#[derive(Debug)]
pub struct Index {
    live: live::Live<4>,
}

impl Default for Index {
    fn default() -> Self {
        Index::new()
    }
}

impl Index {
    /// An empty index with default options.
    pub fn new() -> Self {
        Index::with_options(IndexOptions::default())
    }

    /// An empty index.
    pub fn with_options(options: IndexOptions) -> Self {
        Index {
            live: live::Live::new(segment::Segment::empty(), options),
        }
    }

    /// Bulk-builds an index from pairs (any order; repeated pairs collapse). Much faster than
    /// inserting one by one.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Hash256, u64)>) -> Self {
        Index::from_pairs_with(pairs, IndexOptions::default())
    }

    /// [`Index::from_pairs`] with options.
    pub fn from_pairs_with(
        pairs: impl IntoIterator<Item = (Hash256, u64)>,
        options: IndexOptions,
    ) -> Self {
        let pairs: Vec<([u64; 4], u64)> =
            pairs.into_iter().map(|(h, id)| (h.words(), id)).collect();
        let seg = segment::Segment::build(pairs, options.substrings, options.dir_bits);
        Index {
            live: live::Live::new(seg, options),
        }
    }

    /// Adds a pair; returns `false` if it was already present. Visible to the next query.
    pub fn insert(&self, hash: Hash256, id: u64) -> bool {
        self.live.insert(hash.words(), id)
    }

    /// Removes a pair; returns `false` if it was not present. Visible to the next query.
    pub fn remove(&self, hash: &Hash256, id: u64) -> bool {
        self.live.remove(&hash.words(), id)
    }

    /// Removes every pair whose id `pred` accepts, whatever its hash (e.g. all the signals of
    /// a bank being unloaded, when their hashes are not kept elsewhere); returns how many. One
    /// pass over all pairs, holding the write lock: ~10 ms a million pairs. Visible to the next
    /// query.
    pub fn remove_ids(&self, pred: impl Fn(u64) -> bool) -> usize {
        self.live.remove_ids(&pred)
    }

    /// Whether the pair is present.
    pub fn contains(&self, hash: &Hash256, id: u64) -> bool {
        self.live.contains(&hash.words(), id)
    }

    /// Number of `(hash, id)` pairs.
    pub fn len(&self) -> usize {
        self.live.stats().pairs
    }

    /// Whether the index holds no pair.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size and layout figures.
    pub fn stats(&self) -> Stats {
        self.live.stats()
    }

    /// The options the index was made with.
    pub fn options(&self) -> &IndexOptions {
        self.live.options()
    }

    /// Every pair within distance `r` (inclusive; `r >= 256` matches everything) of `query`,
    /// sorted by distance, then hash, then id.
    pub fn query(&self, query: &Hash256, r: u32) -> Vec<Match> {
        self.query_with(query, r, Strategy::Auto)
    }

    /// [`Index::query`] with a forced strategy; the result is the same for every strategy.
    pub fn query_with(&self, query: &Hash256, r: u32, strategy: Strategy) -> Vec<Match> {
        let mut out = Vec::new();
        self.live
            .query(&query.words(), r, strategy, &mut |c, id, d| {
                out.push(Match {
                    distance: d,
                    hash: Hash256::from_words(*c),
                    id,
                })
            });
        out.sort_unstable();
        out
    }

    /// Queries several hashes at once against one consistent state (e.g. the 8 dihedral
    /// variants of an image's PDQ): every pair within `r` of *any* of them, once, with the
    /// smallest distance and the index of the first query reaching it; sorted as
    /// [`Index::query`].
    pub fn query_any(&self, queries: &[Hash256], r: u32) -> Vec<(usize, Match)> {
        let qs: Vec<[u64; 4]> = queries.iter().map(|q| q.words()).collect();
        let mut best: std::collections::HashMap<([u64; 4], u64), (u32, usize)> =
            std::collections::HashMap::new();
        self.live
            .query_many(&qs, r, Strategy::Auto, &mut |i, c, id, d| {
                let e = best.entry((*c, id)).or_insert((d, i));
                if (d, i) < *e {
                    *e = (d, i);
                }
            });
        let mut out: Vec<(usize, Match)> = best
            .into_iter()
            .map(|((c, id), (d, i))| {
                (
                    i,
                    Match {
                        distance: d,
                        hash: Hash256::from_words(c),
                        id,
                    },
                )
            })
            .collect();
        out.sort_unstable_by_key(|&(i, m)| (m, i));
        out
    }

    /// Counts what a multi-index-hashing query for `query` at radius `r` reads from the segment
    /// (the delta, scanned, is left out), without answering it. All zero when the segment has
    /// no tables. Slow (it records every line): for benchmarks and tuning, not for serving.
    pub fn footprint(&self, query: &Hash256, r: u32) -> Footprint {
        self.live.footprint(&query.words(), r)
    }

    /// All pairs, sorted by hash then id.
    pub fn pairs(&self) -> Vec<(Hash256, u64)> {
        self.live
            .pairs()
            .into_iter()
            .map(|(c, id)| (Hash256::from_words(c), id))
            .collect()
    }

    /// Folds the delta and the pending removals into a freshly built segment. Queries and
    /// updates proceed while it builds; the write lock is taken only for moments (the snapshot,
    /// each table's swap, the final swap).
    pub fn compact(&self) {
        self.live.compact()
    }

    /// Saves to `path` (written to `path.tmp`, synced, renamed into place). Pairs added or
    /// removed while saving may or may not be included.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let content = file::Content::from_sorted_pairs(&self.live.pairs());
        file::save(&content, path)
    }

    /// Writes the file format to any writer (e.g. for a server streaming a snapshot).
    pub fn write_to(&self, w: impl std::io::Write) -> std::io::Result<()> {
        let content = file::Content::from_sorted_pairs(&self.live.pairs());
        file::write_to(&content, w)
    }

    /// Loads a file written by [`Index::save`], with default options.
    pub fn load(path: &Path) -> Result<Index, Error> {
        Index::load_with(path, IndexOptions::default())
    }

    /// Loads a file written by [`Index::save`].
    pub fn load_with(path: &Path, options: IndexOptions) -> Result<Index, Error> {
        Ok(Index::from_content(file::load(path)?, options))
    }

    /// Decodes the bytes of an index file; `name` is used in errors only.
    pub fn from_bytes(bytes: &[u8], name: &Path, options: IndexOptions) -> Result<Index, Error> {
        Ok(Index::from_content(file::parse(bytes, name)?, options))
    }

    fn from_content(c: file::Content<4>, options: IndexOptions) -> Index {
        let seg = segment::Segment::from_parts(
            c.codes,
            c.ids,
            c.extra,
            options.substrings,
            options.dir_bits,
        );
        Index {
            live: live::Live::new(seg, options),
        }
    }
}
