//! Comparing videos by their frame hashes: match percentages, aligned time ranges, and an index
//! of many videos.
//!
//! # Match percentages: two published semantics
//!
//! A comparison counts, on each side, the frames that have a partner on the other side within a
//! Hamming distance, and reports `query_pct` (matched query frames × 100 / query frames) and
//! `compared_pct` (the same the other way). The two reference implementations differ in two
//! details, so [`Semantics`] names which one to follow:
//!
//! | | [`Semantics::ThreatExchange`] (default) | [`Semantics::Reference`] |
//! |---|---|---|
//! | source | python-threatexchange `match_VPDQ_hash_brute` (what `VPDQSignal.compare_hash` and HMA use) | the vPDQ C++ `matchTwoHashBrute` |
//! | duplicates | each side de-duplicated by exact hash first (the first occurrence in list order is kept) | kept: every frame counts |
//! | quality | then frames with quality < [`MatchParams::quality`] dropped | frames with quality < [`MatchParams::quality`] dropped |
//! | frames match when | distance **≤** [`MatchParams::distance`] | distance **<** [`MatchParams::distance`] |
//!
//! The order in the ThreatExchange column matters: a hash whose first occurrence has a low
//! quality is dropped even when a later frame with the same hash has a high one. (Duplicates
//! are found by hash value; python-threatexchange compares hex strings, which are lower-case
//! in every signal it writes.)
//! Percentages are computed as both do, `matched * 100 / frames` in `f64`, so they are equal
//! bit for bit. A video matches when `query_pct >= query_pct threshold` (default 80) and
//! `compared_pct >= compared_pct threshold` (default 0), as `VPDQSignal.compare_hash` decides.
//! Defaults ([`MatchParams::default`]) are python-threatexchange's: distance 31, quality 50,
//! 80 % / 0 %.
//!
//! Two corner cases are decided here, where the references are silent or fail:
//! * when either side has no frame left after filtering, both percentages are 0 and it is not
//!   a match (the C++ does this; python-threatexchange would divide by zero);
//! * a comparison with no matched frame is never a match, even with thresholds of 0 (where
//!   python-threatexchange would call any two videos a match). This also lets
//!   [`VideoIndex::query`] leave out the videos it found nothing in.
//!
//! # Aligned time ranges
//!
//! Beyond the percentages, [`time_ranges`] (and every [`VideoMatch`]) says *where* the videos
//! agree: [`TimeRange`]s where the query's seconds `query_start..=query_end` line up with the
//! compared video's `compared_start..=compared_end`, so an analyst sees which part of a known
//! video a clip comes from. It uses every frame that passes the quality filter (never the
//! de-duplicated list, which loses the times of repeated hashes) and the same distance rule as
//! the semantics:
//!
//! 1. **Pairs.** Every query frame is paired with the compared frames within the distance,
//!    keeping at most [`RangeParams::max_partners`] (default 8): the nearest in distance; among
//!    partners tied at the last distance kept, ones spread evenly in time. A static scene (one
//!    frame matching hundreds) so stays linear in size.
//! 2. **Chains.** Pairs are sorted by query time, and a chain is built through them by dynamic
//!    programming: a pair may follow an earlier pair when the query time advances by
//!    `0 < Δq <= max_gap` and the compared time by a consistent amount,
//!    `min_ratio·Δq − slack <= Δc <= max_ratio·Δq + slack` (ratios 0.5 and 2 by default: speed
//!    changes up to 2× either way keep one chain, since the offset may drift; the slack absorbs
//!    sampling jitter). Each pair takes the predecessor giving the longest chain, then the
//!    smallest sum of distances (so the true alignment beats its near-duplicate neighbours in
//!    a slowly changing video), then the smallest sum of departures from real time,
//!    `Σ |Δc − Δq|` (so that the identical frames of a still scene line up second for
//!    second). At most 4096 earlier pairs are examined per pair, which bounds the work on
//!    hostile timestamps.
//! 3. **Extraction.** Chains are taken from the best end pair down (in the same order), each
//!    following its predecessors until it meets a pair already taken. A chain is dropped when
//!    it has fewer than [`RangeParams::min_frames`] frames; when from end to end it does not
//!    keep strictly within the speed bounds (steps each within the slack can add up to a
//!    stall); when it overlaps a better chain on *both* axes (a parallel, shifted copy of the
//!    same alignment); or when it is a fragment beside a chain at least twice as long (its
//!    query span inside that chain's, its compared span within `max_gap` of that chain's:
//!    near-duplicate frames of a slowly changing scene matched a little off the true
//!    alignment). A segment that appears twice in one video overlaps on one axis only, so it
//!    gives two ranges (unless one copy is a fragment of the other's, half as long and within
//!    `max_gap`).
//!
//! Ranges are reported sorted by query start, then compared start. The defaults derive from
//! the sampling step (the median gap between consecutive timestamps, the coarser of the two
//! videos, clamped to 1 ms..=60 s): `max_gap = max(5 steps, 2 s)`, `slack = 1 step`,
//! `min_frames = max(3, frames in 1 s)`: 3 frames for lists at 1 frame/s, 30 at every frame
//! of a 30 fps video.
//!
//! # An index of many videos
//!
//! [`VideoIndex`] holds many videos and compares a query with all of them without comparing
//! all pairs: the distinct frame hashes of every video go into one [`vigil_index::Index`]
//! (exact Hamming range search) with an id naming the video and the hash; a query looks up each
//! distinct hash of its quality-passing frames at the semantics' radius (`distance`, or
//! `distance − 1` under [`Semantics::Reference`]) and counts from the hits. Its percentages,
//! match decisions and time ranges are those of [`compare`] and [`time_ranges`] against each
//! video, exactly (the crate's tests check it against a brute-force oracle).
//!
//! Per video it keeps the distinct hashes (32 bytes each, plus the quality of their first
//! occurrence and their best quality) and per frame 13 bytes (timestamp, quality, which
//! distinct hash); the `Index` adds its own per-hash cost (see the bench for figures).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use vigil_core::Hash256;
use vigil_index::{Index, IndexOptions};

use crate::Frame;

/// Which published vPDQ matching rules to follow; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Semantics {
    /// python-threatexchange's `match_VPDQ_hash_brute`: de-duplicate each side by exact hash
    /// (first occurrence kept), then drop frames below the quality; frames match at distance
    /// `<= distance`.
    #[default]
    ThreatExchange,
    /// The vPDQ C++ `matchTwoHashBrute`: no de-duplication; drop frames below the quality;
    /// frames match at distance `< distance`.
    Reference,
}

/// How to compare two videos: the semantics, their thresholds and the time-range parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchParams {
    /// Which rules to follow.
    pub semantics: Semantics,
    /// Hamming distance threshold between two frames (inclusive under
    /// [`Semantics::ThreatExchange`], exclusive under [`Semantics::Reference`]). Default 31.
    pub distance: u32,
    /// Frames with a quality below this are ignored. Default 50.
    pub quality: u8,
    /// A match needs at least this percentage of the query's frames matched. Default 80.
    pub query_pct: f64,
    /// A match needs at least this percentage of the compared video's frames matched. Default 0.
    pub compared_pct: f64,
    /// How aligned time ranges are found.
    pub ranges: RangeParams,
}

impl Default for MatchParams {
    /// python-threatexchange's: [`Semantics::ThreatExchange`], distance 31, quality 50,
    /// 80 % of the query, 0 % of the compared video.
    fn default() -> Self {
        MatchParams {
            semantics: Semantics::ThreatExchange,
            distance: 31,
            quality: 50,
            query_pct: 80.0,
            compared_pct: 0.0,
            ranges: RangeParams::default(),
        }
    }
}

impl MatchParams {
    /// The defaults with [`Semantics::Reference`] (distance `< 31`, quality 50, 80 % / 0 %).
    pub fn reference() -> Self {
        MatchParams {
            semantics: Semantics::Reference,
            ..MatchParams::default()
        }
    }

    /// The inclusive Hamming radius within which two frames match: `distance` under
    /// [`Semantics::ThreatExchange`], `distance − 1` under [`Semantics::Reference`] (`None`
    /// when that is below 0: nothing matches). Capped at 256.
    pub fn radius(&self) -> Option<u32> {
        let r = match self.semantics {
            Semantics::ThreatExchange => Some(self.distance),
            Semantics::Reference => self.distance.checked_sub(1),
        };
        r.map(|r| r.min(Hash256::BITS))
    }
}

/// Parameters of the time-range search (see the module docs). `None` fields are derived from
/// the videos' sampling step.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeParams {
    /// Longest gap in query time, in seconds, that a range bridges between two matched frames.
    /// Default `max(5 steps, 2 s)`.
    pub max_gap: Option<f64>,
    /// Tolerance, in seconds, on the compared video's time step. Default one sampling step.
    pub slack: Option<f64>,
    /// Fewest matched query frames a range needs. Default `max(3, frames in 1 s)`.
    pub min_frames: Option<usize>,
    /// Most partners kept per query frame (0 turns range finding off; at most 1024 are kept
    /// whatever it says). Default 8.
    pub max_partners: usize,
    /// Slowest compared-time speed relative to the query's that a range follows. Default 0.5.
    pub min_ratio: f64,
    /// Fastest compared-time speed relative to the query's that a range follows. Default 2.
    pub max_ratio: f64,
}

impl Default for RangeParams {
    fn default() -> Self {
        RangeParams {
            max_gap: None,
            slack: None,
            min_frames: None,
            max_partners: 8,
            min_ratio: 0.5,
            max_ratio: 2.0,
        }
    }
}

/// The outcome of comparing two frame lists.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Matched query frames × 100 / query frames (after filtering); 0 when either side is empty.
    pub query_pct: f64,
    /// Matched compared frames × 100 / compared frames (after filtering); 0 when either side is
    /// empty.
    pub compared_pct: f64,
    /// Whether both percentages reach their thresholds (and at least one frame matched).
    pub is_match: bool,
    /// Query frames counted (after de-duplication, if any, and the quality filter).
    pub query_frames: usize,
    /// Of those, the ones with a partner in the compared video.
    pub query_matched: usize,
    /// Compared frames counted.
    pub compared_frames: usize,
    /// Of those, the ones with a partner in the query.
    pub compared_matched: usize,
}

/// A stretch where the query's frames line up with the compared video's, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRange {
    /// Time of the first query frame of the range.
    pub query_start: f64,
    /// Time of the last query frame of the range.
    pub query_end: f64,
    /// Earliest time of the compared frames paired with the range's query frames.
    pub compared_start: f64,
    /// Latest time of those compared frames.
    pub compared_end: f64,
    /// Number of query frames in the range (each paired with one compared frame).
    pub frames: usize,
}

/// One video of a [`VideoIndex`] that shares at least one matched frame with the query.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoMatch {
    /// The caller's id of the video.
    pub id: u64,
    /// Percentages and decision, equal to [`compare`]`(query, video, params)`.
    pub comparison: Comparison,
    /// Aligned time ranges, equal to [`time_ranges`]`(query, video, params)`.
    pub ranges: Vec<TimeRange>,
}

/// Compares two frame lists under `params` (see the module docs for the rules). Brute force:
/// every distinct counted hash of one side against every one of the other.
pub fn compare(query: &[Frame], compared: &[Frame], params: &MatchParams) -> Comparison {
    let q = counted(query, params);
    let c = counted(compared, params);
    let qn: usize = q.iter().map(|&(_, n)| n).sum();
    let cn: usize = c.iter().map(|&(_, n)| n).sum();
    let (mut qm, mut cm) = (0, 0);
    if let Some(r) = params.radius() {
        let cw: Vec<[u64; 4]> = c.iter().map(|(h, _)| h.words()).collect();
        let mut c_hit = vec![false; c.len()];
        for &(qh, qk) in &q {
            let qw = qh.words();
            let mut hit = false;
            for (j, ch) in cw.iter().enumerate() {
                if distance(&qw, ch) <= r {
                    hit = true;
                    c_hit[j] = true;
                }
            }
            if hit {
                qm += qk;
            }
        }
        cm = c
            .iter()
            .zip(&c_hit)
            .filter(|(_, h)| **h)
            .map(|(&(_, k), _)| k)
            .sum();
    }
    finish(qm, qn, cm, cn, params)
}

/// Hamming distance between two hashes' words (the brute-force loops' kernel).
#[inline]
fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// The counted list of one side as distinct hashes with their multiplicity (always 1 under
/// ThreatExchange, which de-duplicates), in first-occurrence order.
fn counted(frames: &[Frame], params: &MatchParams) -> Vec<(Hash256, usize)> {
    let mut out: Vec<(Hash256, usize)> = Vec::new();
    match params.semantics {
        Semantics::ThreatExchange => {
            let mut seen: HashSet<Hash256> = HashSet::new();
            for f in frames {
                if seen.insert(f.hash) && f.quality >= params.quality {
                    out.push((f.hash, 1));
                }
            }
        }
        Semantics::Reference => {
            let mut slot: HashMap<Hash256, usize> = HashMap::new();
            for f in frames.iter().filter(|f| f.quality >= params.quality) {
                let i = *slot.entry(f.hash).or_insert_with(|| {
                    out.push((f.hash, 0));
                    out.len() - 1
                });
                out[i].1 += 1;
            }
        }
    }
    out
}

fn finish(qm: usize, qn: usize, cm: usize, cn: usize, params: &MatchParams) -> Comparison {
    let pct = |m: usize, n: usize| (m as f64 * 100.0) / n as f64;
    let (query_pct, compared_pct) = if qn == 0 || cn == 0 {
        (0.0, 0.0)
    } else {
        (pct(qm, qn), pct(cm, cn))
    };
    Comparison {
        query_pct,
        compared_pct,
        is_match: qn > 0
            && cn > 0
            && qm > 0
            && query_pct >= params.query_pct
            && compared_pct >= params.compared_pct,
        query_frames: qn,
        query_matched: qm,
        compared_frames: cn,
        compared_matched: cm,
    }
}

/// The aligned time ranges between two frame lists (see the module docs for the algorithm).
/// Brute force over all pairs of quality-passing frames.
pub fn time_ranges(query: &[Frame], compared: &[Frame], params: &MatchParams) -> Vec<TimeRange> {
    let Some(r) = params.radius() else {
        return Vec::new();
    };
    let (q_all, q_sel) = timeline(
        query.iter().map(|f| (f.timestamp, f.quality)),
        params.quality,
    );
    let (c_all, c_sel) = timeline(
        compared.iter().map(|f| (f.timestamp, f.quality)),
        params.quality,
    );
    let rp = resolve(&params.ranges, &q_all.times, &c_all.times);
    if rp.max_partners == 0 {
        return Vec::new();
    }
    let q_hash: Vec<[u64; 4]> = q_sel
        .iter()
        .map(|&i| query[q_all.order[i]].hash.words())
        .collect();
    let c_hash: Vec<[u64; 4]> = c_sel
        .iter()
        .map(|&i| compared[c_all.order[i]].hash.words())
        .collect();
    let mut pairs = Vec::new();
    let mut cands = Vec::new();
    for (qi, qh) in q_hash.iter().enumerate() {
        cands.clear();
        for (ci, ch) in c_hash.iter().enumerate() {
            let d = distance(qh, ch);
            if d <= r {
                cands.push((d, ci as u32));
            }
        }
        push_capped(&mut pairs, qi as u32, &mut cands, rp.max_partners);
    }
    let tq: Vec<f64> = q_sel.iter().map(|&i| q_all.times[i]).collect();
    let tc: Vec<f64> = c_sel.iter().map(|&i| c_all.times[i]).collect();
    chain_ranges(&tq, &tc, &pairs, &rp)
}

/// Frames in time order: `order[k]` is the list position of the k-th frame by
/// `(timestamp, list position)`, `times[k]` and `quality[k]` its values.
struct Timeline {
    order: Vec<usize>,
    times: Vec<f64>,
    quality: Vec<u8>,
}

/// The time-ordered frames and the positions (in that order) of those passing the quality.
fn timeline(frames: impl Iterator<Item = (f64, u8)>, min_quality: u8) -> (Timeline, Vec<usize>) {
    let frames: Vec<(f64, u8)> = frames.collect();
    let mut order: Vec<usize> = (0..frames.len()).collect();
    order.sort_by(|&a, &b| frames[a].0.total_cmp(&frames[b].0).then(a.cmp(&b)));
    let times: Vec<f64> = order.iter().map(|&i| frames[i].0).collect();
    let quality: Vec<u8> = order.iter().map(|&i| frames[i].1).collect();
    let sel = (0..order.len())
        .filter(|&k| quality[k] >= min_quality)
        .collect();
    (
        Timeline {
            order,
            times,
            quality,
        },
        sel,
    )
}

/// The median gap between consecutive distinct timestamps (sorted), clamped to 1 ms..=60 s;
/// 1 s when there is no gap.
fn sampling_step(sorted_times: &[f64]) -> f64 {
    let mut gaps: Vec<f64> = sorted_times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|g| *g > 0.0 && g.is_finite())
        .collect();
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[(gaps.len() - 1) / 2].clamp(0.001, 60.0)
}

/// The most partners per query frame a search keeps, whatever [`RangeParams::max_partners`] says.
const MAX_PARTNERS: usize = 1024;

/// Range parameters with every default filled in.
struct Resolved {
    max_gap: f64,
    slack: f64,
    min_frames: usize,
    max_partners: usize,
    min_ratio: f64,
    max_ratio: f64,
}

fn resolve(p: &RangeParams, q_times: &[f64], c_times: &[f64]) -> Resolved {
    let step = sampling_step(q_times).max(sampling_step(c_times));
    Resolved {
        max_gap: p.max_gap.unwrap_or((5.0 * step).max(2.0)),
        slack: p.slack.unwrap_or(step),
        // A hair below, so that 1 / (1/30 s in float32) still counts as 30 frames.
        min_frames: p
            .min_frames
            .unwrap_or_else(|| ((1.0 / step - 1e-6).ceil() as usize).max(3)),
        max_partners: p.max_partners.min(MAX_PARTNERS),
        min_ratio: p.min_ratio,
        max_ratio: p.max_ratio,
    }
}

/// One matched pair: positions in the query's and the compared video's quality-passing
/// frames (time order) and their distance.
#[derive(Debug, Clone, Copy)]
struct Pair {
    q: u32,
    c: u32,
    d: u32,
}

/// Keeps at most `k` of one query frame's candidates `(distance, compared position)`: the
/// nearest; those tied at the last distance kept spread evenly in time. Appends them to
/// `pairs` in compared order.
fn push_capped(pairs: &mut Vec<Pair>, q: u32, cands: &mut Vec<(u32, u32)>, k: usize) {
    cands.sort_unstable();
    if cands.len() > k {
        if k == 0 {
            cands.clear();
        } else {
            let dk = cands[k - 1].0;
            let lo = cands.partition_point(|&(d, _)| d < dk);
            let hi = cands.partition_point(|&(d, _)| d <= dk);
            let slots = k - lo;
            let group = hi - lo;
            let mut kept: Vec<(u32, u32)> = cands[..lo].to_vec();
            kept.extend((0..slots).map(|i| cands[lo + i * group / slots]));
            *cands = kept;
        }
    }
    let start = pairs.len();
    pairs.extend(cands.iter().map(|&(d, c)| Pair { q, c, d }));
    pairs[start..].sort_unstable_by_key(|p| p.c);
}

/// Most earlier pairs a pair examines as its predecessor.
const MAX_PREDECESSORS: usize = 4096;

/// Steps 2 and 3 of the range search over pairs sorted by `(q, c)`.
fn chain_ranges(tq: &[f64], tc: &[f64], pairs: &[Pair], rp: &Resolved) -> Vec<TimeRange> {
    let n = pairs.len();
    const NONE: usize = usize::MAX;
    let mut len = vec![1u32; n];
    let mut sumd: Vec<u64> = pairs.iter().map(|p| u64::from(p.d)).collect();
    let mut sumdev = vec![0.0f64; n];
    let mut prev = vec![NONE; n];
    let mut lo = 0;
    let mut group = 0;
    for p in 0..n {
        if p > 0 && pairs[p].q != pairs[p - 1].q {
            group = p;
        }
        let t = tq[pairs[p].q as usize];
        let tcp = tc[pairs[p].c as usize];
        while lo < group && tq[pairs[lo].q as usize] < t - rp.max_gap {
            lo += 1;
        }
        let mut best: Option<(usize, f64)> = None;
        for p2 in lo.max(group.saturating_sub(MAX_PREDECESSORS))..group {
            let dq = t - tq[pairs[p2].q as usize];
            if !(dq > 0.0 && dq <= rp.max_gap) {
                continue;
            }
            let dc = tcp - tc[pairs[p2].c as usize];
            if !(dc >= rp.min_ratio * dq - rp.slack && dc <= rp.max_ratio * dq + rp.slack) {
                continue;
            }
            let dev = sumdev[p2] + (dc - dq).abs();
            let better = match best {
                None => true,
                Some((b, bdev)) => match len[p2].cmp(&len[b]) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal => match sumd[p2].cmp(&sumd[b]) {
                        Ordering::Less => true,
                        Ordering::Greater => false,
                        Ordering::Equal => dev < bdev,
                    },
                },
            };
            if better {
                best = Some((p2, dev));
            }
        }
        if let Some((b, dev)) = best {
            len[p] = len[b] + 1;
            sumd[p] += sumd[b];
            sumdev[p] = dev;
            prev[p] = b;
        }
    }

    // Extraction, best end first.
    let mut ends: Vec<usize> = (0..n).collect();
    ends.sort_by(|&a, &b| {
        len[b]
            .cmp(&len[a])
            .then(sumd[a].cmp(&sumd[b]))
            .then(sumdev[a].total_cmp(&sumdev[b]))
            .then(a.cmp(&b))
    });
    let mut used = vec![false; n];
    let mut chains: Vec<(TimeRange, u64)> = Vec::new();
    let mut members = Vec::new();
    for &end in &ends {
        members.clear();
        let mut cur = end;
        while cur != NONE && !used[cur] {
            used[cur] = true;
            members.push(cur);
            cur = prev[cur];
        }
        if members.len() < rp.min_frames.max(1) {
            continue;
        }
        let first = pairs[members[members.len() - 1]];
        let last = pairs[members[0]];
        // The chain as a whole must keep strictly within the speed bounds: steps each within
        // the slack can still add up to a stall (a slowly changing scene matched against one
        // frame), and a short stall sits exactly on the bound.
        let dq = tq[last.q as usize] - tq[first.q as usize];
        let dc = tc[last.c as usize] - tc[first.c as usize];
        if !(dc > rp.min_ratio * dq - rp.slack && dc < rp.max_ratio * dq + rp.slack) {
            continue;
        }
        let (mut c0, mut c1) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut d = 0u64;
        for &m in &members {
            let t = tc[pairs[m].c as usize];
            c0 = c0.min(t);
            c1 = c1.max(t);
            d += u64::from(pairs[m].d);
        }
        chains.push((
            TimeRange {
                query_start: tq[first.q as usize],
                query_end: tq[last.q as usize],
                compared_start: c0,
                compared_end: c1,
                frames: members.len(),
            },
            d,
        ));
    }

    // Drop chains overlapping a better one on both axes.
    chains.sort_by(|(a, da), (b, db)| {
        b.frames
            .cmp(&a.frames)
            .then(da.cmp(db))
            .then(a.query_start.total_cmp(&b.query_start))
            .then(a.compared_start.total_cmp(&b.compared_start))
    });
    let mut kept: Vec<TimeRange> = Vec::new();
    for (c, _) in chains {
        let dominated = |k: &TimeRange| {
            let both_axes = c.query_start <= k.query_end
                && k.query_start <= c.query_end
                && c.compared_start <= k.compared_end
                && k.compared_start <= c.compared_end;
            // A fragment beside a much longer range: the near-duplicate frames of a slowly
            // changing scene, matched a little off the true alignment.
            let fragment = 2 * c.frames <= k.frames
                && c.query_start >= k.query_start
                && c.query_end <= k.query_end
                && c.compared_end >= k.compared_start - rp.max_gap
                && c.compared_start <= k.compared_end + rp.max_gap;
            both_axes || fragment
        };
        if !kept.iter().any(dominated) {
            kept.push(c);
        }
    }
    kept.sort_by(|a, b| {
        a.query_start
            .total_cmp(&b.query_start)
            .then(a.compared_start.total_cmp(&b.compared_start))
    });
    kept
}

/// Why a video could not be added to a [`VideoIndex`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VideoIndexError {
    /// The video has more frames than the index can number (2³² − 1).
    #[error("video {id}: {frames} frames is more than an index can hold per video")]
    TooManyFrames {
        /// The caller's id of the video.
        id: u64,
        /// Its number of frames.
        frames: usize,
    },
    /// The index holds as many videos as it can number (2³² − 1).
    #[error("video {id}: the index is full")]
    Full {
        /// The caller's id of the video.
        id: u64,
    },
}

/// One stored video.
#[derive(Debug)]
struct Video {
    id: u64,
    /// Distinct hashes in order of first occurrence.
    hashes: Vec<Hash256>,
    /// Quality of each distinct hash's first occurrence (ThreatExchange's de-duplication keeps it).
    first_q: Vec<u8>,
    /// Best quality among each distinct hash's occurrences.
    max_q: Vec<u8>,
    /// Frames by `(timestamp, list position)`: time, quality, distinct hash.
    times: Vec<f64>,
    quality: Vec<u8>,
    distinct: Vec<u32>,
}

impl Video {
    fn new(id: u64, frames: &[Frame]) -> Result<Video, VideoIndexError> {
        if u32::try_from(frames.len()).is_err() {
            return Err(VideoIndexError::TooManyFrames {
                id,
                frames: frames.len(),
            });
        }
        let mut slot: HashMap<Hash256, u32> = HashMap::with_capacity(frames.len());
        let mut hashes = Vec::new();
        let mut first_q = Vec::new();
        let mut max_q: Vec<u8> = Vec::new();
        let mut of_frame = Vec::with_capacity(frames.len());
        for f in frames {
            let i = *slot.entry(f.hash).or_insert_with(|| {
                hashes.push(f.hash);
                first_q.push(f.quality);
                max_q.push(f.quality);
                (hashes.len() - 1) as u32
            });
            max_q[i as usize] = max_q[i as usize].max(f.quality);
            of_frame.push(i);
        }
        let (tl, _) = timeline(frames.iter().map(|f| (f.timestamp, f.quality)), 0);
        let distinct = tl.order.iter().map(|&i| of_frame[i]).collect();
        Ok(Video {
            id,
            hashes,
            first_q,
            max_q,
            times: tl.times,
            quality: tl.quality,
            distinct,
        })
    }

    fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 32
            + self.first_q.capacity()
            + self.max_q.capacity()
            + self.times.capacity() * 8
            + self.quality.capacity()
            + self.distinct.capacity() * 4
    }
}

fn key(slot: u32, distinct: u32) -> u64 {
    (u64::from(slot) << 32) | u64::from(distinct)
}

/// Many videos' frames, searchable by a query video without comparing all pairs; see the
/// module docs. Results equal [`compare`] and [`time_ranges`] against every video.
///
/// Ids are the caller's. `VideoIndex` is `Send + Sync`; wrap it in a lock to update it while
/// querying.
#[derive(Debug, Default)]
pub struct VideoIndex {
    index: Index,
    options: IndexOptions,
    slots: Vec<Option<Video>>,
    free: Vec<u32>,
    ids: HashMap<u64, u32>,
}

impl VideoIndex {
    /// An empty index.
    pub fn new() -> Self {
        VideoIndex::default()
    }

    /// An empty index whose frame-hash index has these options. With `auto_compact` off, an
    /// insert never compacts (which may take a while on a large index, in the inserting
    /// thread, under whatever lock it holds): the owner calls [`VideoIndex::compact`] when
    /// [`VideoIndex::needs_compaction`] says so, which needs only `&self`.
    pub fn with_options(options: IndexOptions) -> Self {
        VideoIndex {
            index: Index::with_options(options.clone()),
            options,
            ..VideoIndex::default()
        }
    }

    /// Builds an index from many videos at once (much faster than inserting them one by one).
    /// A repeated id keeps the last video given for it.
    pub fn from_videos<I, F>(videos: I) -> Result<Self, VideoIndexError>
    where
        I: IntoIterator<Item = (u64, F)>,
        F: AsRef<[Frame]>,
    {
        VideoIndex::from_videos_with(videos, IndexOptions::default())
    }

    /// [`VideoIndex::from_videos`] with the frame-hash index's options.
    pub fn from_videos_with<I, F>(videos: I, options: IndexOptions) -> Result<Self, VideoIndexError>
    where
        I: IntoIterator<Item = (u64, F)>,
        F: AsRef<[Frame]>,
    {
        let mut me = VideoIndex::with_options(options);
        for (id, frames) in videos {
            let video = Video::new(id, frames.as_ref())?;
            match me.ids.get(&id) {
                Some(&s) => me.slots[s as usize] = Some(video),
                None => {
                    let s = me.next_slot(id)?;
                    me.slots[s as usize] = Some(video);
                    me.ids.insert(id, s);
                }
            }
        }
        let pairs = me.slots.iter().enumerate().flat_map(|(s, v)| {
            v.iter().flat_map(move |v| {
                v.hashes
                    .iter()
                    .enumerate()
                    .map(move |(i, h)| (*h, key(s as u32, i as u32)))
            })
        });
        me.index = Index::from_pairs_with(pairs, me.options.clone());
        Ok(me)
    }

    /// Whether the frame-hash index's recent changes have grown enough to fold into a new
    /// segment: its delta (scanned linearly by every query) past 1/64 of the segment
    /// (4,096–65,536 hashes), or removals pending past 1/8 of it.
    pub fn needs_compaction(&self) -> bool {
        let s = self.index.stats();
        let base = s.base_hashes.max(1);
        s.delta_hashes > (base / 64).clamp(4096, 65_536) || s.removed_pending > (base / 8).max(4096)
    }

    /// Folds the frame-hash index's recent changes into a rebuilt segment. Queries and other
    /// calls may run meanwhile (`&self`); the new segment is swapped in under a short lock.
    pub fn compact(&self) {
        self.index.compact();
    }

    fn next_slot(&mut self, id: u64) -> Result<u32, VideoIndexError> {
        if let Some(s) = self.free.pop() {
            return Ok(s);
        }
        let s = u32::try_from(self.slots.len()).map_err(|_| VideoIndexError::Full { id })?;
        self.slots.push(None);
        Ok(s)
    }

    /// Adds a video, replacing any video with the same id; returns whether one was replaced.
    pub fn insert(&mut self, id: u64, frames: &[Frame]) -> Result<bool, VideoIndexError> {
        let video = Video::new(id, frames)?;
        let replaced = self.remove(id);
        let s = self.next_slot(id)?;
        for (i, h) in video.hashes.iter().enumerate() {
            self.index.insert(*h, key(s, i as u32));
        }
        self.slots[s as usize] = Some(video);
        self.ids.insert(id, s);
        Ok(replaced)
    }

    /// Removes a video; returns whether it was present.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(s) = self.ids.remove(&id) else {
            return false;
        };
        if let Some(video) = self.slots[s as usize].take() {
            for (i, h) in video.hashes.iter().enumerate() {
                self.index.remove(h, key(s, i as u32));
            }
        }
        self.free.push(s);
        true
    }

    /// Whether a video with this id is present.
    pub fn contains(&self, id: u64) -> bool {
        self.ids.contains_key(&id)
    }

    /// Number of videos.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no video.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Total number of frames over all videos.
    pub fn frames(&self) -> usize {
        self.slots.iter().flatten().map(|v| v.times.len()).sum()
    }

    /// Approximate heap bytes held, the hash index included.
    pub fn heap_bytes(&self) -> usize {
        self.index.stats().heap_bytes
            + self
                .slots
                .iter()
                .flatten()
                .map(Video::heap_bytes)
                .sum::<usize>()
            + self.slots.capacity() * std::mem::size_of::<Option<Video>>()
            + self.ids.capacity() * 16
    }

    /// Compares `query` with every video: those sharing at least one matched frame with it
    /// (under `params`' semantics, distance and quality), with their percentages, match
    /// decision and time ranges, sorted matches first, then by query percentage, compared
    /// percentage (both descending) and id. Videos left out would compare at 0 % both ways.
    pub fn query(&self, query: &[Frame], params: &MatchParams) -> Vec<VideoMatch> {
        let Some(r) = params.radius() else {
            return Vec::new();
        };
        let fq = params.quality;
        let te = params.semantics == Semantics::ThreatExchange;

        // The query's distinct hashes, and per distinct hash: whether ThreatExchange counts it
        // (its first occurrence passes the quality) and how many quality-passing frames carry it.
        let mut slot: HashMap<Hash256, u32> = HashMap::new();
        let mut qhash: Vec<Hash256> = Vec::new();
        let mut te_counted: Vec<bool> = Vec::new();
        let mut passing: Vec<usize> = Vec::new();
        let mut of_frame = Vec::with_capacity(query.len());
        for f in query {
            let i = *slot.entry(f.hash).or_insert_with(|| {
                qhash.push(f.hash);
                te_counted.push(f.quality >= fq);
                passing.push(0);
                (qhash.len() - 1) as u32
            });
            if f.quality >= fq {
                passing[i as usize] += 1;
            }
            of_frame.push(i);
        }
        let qn: usize = if te {
            te_counted.iter().filter(|&&c| c).count()
        } else {
            passing.iter().sum()
        };

        // Look up every hash carried by a quality-passing frame; group the hits by video.
        let mut hits: HashMap<u32, Vec<(u32, u32, u32)>> = HashMap::new();
        for (qd, h) in qhash.iter().enumerate() {
            if passing[qd] == 0 {
                continue;
            }
            for m in self.index.query(h, r) {
                let (s, vd) = ((m.id >> 32) as u32, m.id as u32);
                hits.entry(s).or_default().push((qd as u32, vd, m.distance));
            }
        }

        let (q_all, q_sel) = timeline(query.iter().map(|f| (f.timestamp, f.quality)), fq);
        let q_of_sel: Vec<u32> = q_sel.iter().map(|&k| of_frame[q_all.order[k]]).collect();
        let tq: Vec<f64> = q_sel.iter().map(|&k| q_all.times[k]).collect();

        let mut out = Vec::new();
        for (s, hits) in hits {
            let Some(video) = self.slots.get(s as usize).and_then(Option::as_ref) else {
                continue;
            };
            let comparison = count(video, &hits, &te_counted, &passing, qn, params);
            if comparison.query_matched == 0 {
                continue;
            }
            let ranges = video_ranges(video, &hits, &q_all.times, &q_of_sel, &tq, params);
            out.push(VideoMatch {
                id: video.id,
                comparison,
                ranges,
            });
        }
        out.sort_by(|a, b| {
            let (x, y) = (&a.comparison, &b.comparison);
            y.is_match
                .cmp(&x.is_match)
                .then(y.query_pct.total_cmp(&x.query_pct))
                .then(y.compared_pct.total_cmp(&x.compared_pct))
                .then(a.id.cmp(&b.id))
        });
        out
    }
}

/// The percentages of one video from its hits `(query distinct, video distinct, distance)`.
fn count(
    video: &Video,
    hits: &[(u32, u32, u32)],
    te_counted: &[bool],
    passing: &[usize],
    qn: usize,
    params: &MatchParams,
) -> Comparison {
    let fq = params.quality;
    let mut q_hit = vec![false; te_counted.len()];
    let mut v_hit = vec![false; video.hashes.len()];
    match params.semantics {
        Semantics::ThreatExchange => {
            for &(qd, vd, _) in hits {
                if te_counted[qd as usize] && video.first_q[vd as usize] >= fq {
                    q_hit[qd as usize] = true;
                    v_hit[vd as usize] = true;
                }
            }
            let qm = q_hit.iter().filter(|&&h| h).count();
            let (mut cm, mut cn) = (0, 0);
            for (vd, &q) in video.first_q.iter().enumerate() {
                if q >= fq {
                    cn += 1;
                    cm += usize::from(v_hit[vd]);
                }
            }
            finish(qm, qn, cm, cn, params)
        }
        Semantics::Reference => {
            for &(qd, vd, _) in hits {
                if video.max_q[vd as usize] >= fq {
                    q_hit[qd as usize] = true;
                    v_hit[vd as usize] = true;
                }
            }
            let qm: usize = q_hit
                .iter()
                .zip(passing)
                .filter(|(h, _)| **h)
                .map(|(_, &k)| k)
                .sum();
            let (mut cm, mut cn) = (0, 0);
            for (k, &q) in video.quality.iter().enumerate() {
                if q >= fq {
                    cn += 1;
                    cm += usize::from(v_hit[video.distinct[k] as usize]);
                }
            }
            finish(qm, qn, cm, cn, params)
        }
    }
}

/// [`time_ranges`] of the query against one video, from the index hits.
fn video_ranges(
    video: &Video,
    hits: &[(u32, u32, u32)],
    q_times_all: &[f64],
    q_of_sel: &[u32],
    tq: &[f64],
    params: &MatchParams,
) -> Vec<TimeRange> {
    let rp = resolve(&params.ranges, q_times_all, &video.times);
    if rp.max_partners == 0 || tq.is_empty() {
        return Vec::new();
    }
    // The video's quality-passing frames (time order) carrying each hit distinct hash.
    let mut frames_of: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(_, vd, _) in hits {
        frames_of.entry(vd).or_default();
    }
    let mut tc = Vec::new();
    for (k, &q) in video.quality.iter().enumerate() {
        if q >= params.quality {
            if let Some(list) = frames_of.get_mut(&video.distinct[k]) {
                list.push(tc.len() as u32);
            }
            tc.push(video.times[k]);
        }
    }
    let mut by_query: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
    for &(qd, vd, d) in hits {
        by_query.entry(qd).or_default().push((vd, d));
    }
    let mut pairs = Vec::new();
    let mut cands = Vec::new();
    for (qi, qd) in q_of_sel.iter().enumerate() {
        let Some(partners) = by_query.get(qd) else {
            continue;
        };
        cands.clear();
        for &(vd, d) in partners {
            if let Some(list) = frames_of.get(&vd) {
                cands.extend(list.iter().map(|&c| (d, c)));
            }
        }
        push_capped(&mut pairs, qi as u32, &mut cands, rp.max_partners);
    }
    chain_ranges(tq, &tc, &pairs, &rp)
}
