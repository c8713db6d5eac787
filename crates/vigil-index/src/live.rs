//! The updatable index over raw `W`-word codes: an immutable [`Segment`] with removal marks,
//! plus a small mutable delta, behind one `RwLock`. Compaction builds the new segment's codes off
//! the lock, then its tables one at a time, each swapped in for the old segment's under a short
//! lock (so the two segments together never hold more than one spare table), and finally
//! replays the changes made meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::mem::Codes;
use crate::scan::{self, Simd};
use crate::segment::Segment;
use crate::{IndexOptions, Strategy};

/// Recently inserted pairs, scanned linearly (it is kept small by compaction).
#[derive(Debug, Clone, Default)]
struct Delta<const W: usize> {
    codes: Vec<[u64; W]>,
    ids: Vec<Vec<u64>>,
    pos: HashMap<[u64; W], u32>,
    pairs: usize,
}

impl<const W: usize> Delta<W> {
    fn insert(&mut self, code: [u64; W], id: u64) -> bool {
        match self.pos.get(&code) {
            Some(&i) => {
                let ids = &mut self.ids[i as usize];
                if ids.contains(&id) {
                    return false;
                }
                ids.push(id);
            }
            None => {
                self.pos.insert(code, self.codes.len() as u32);
                self.codes.push(code);
                self.ids.push(vec![id]);
            }
        }
        self.pairs += 1;
        true
    }

    fn remove(&mut self, code: &[u64; W], id: u64) -> bool {
        let Some(&i) = self.pos.get(code) else {
            return false;
        };
        let ids = &mut self.ids[i as usize];
        let Some(k) = ids.iter().position(|&x| x == id) else {
            return false;
        };
        ids.swap_remove(k);
        self.pairs -= 1;
        if ids.is_empty() {
            self.pos.remove(code);
            self.codes.swap_remove(i as usize);
            self.ids.swap_remove(i as usize);
            if let Some(moved) = self.codes.get(i as usize) {
                self.pos.insert(*moved, i);
            }
        }
        true
    }
}

/// Removal marks over a segment's pairs (by pair number, [`Segment::for_each_pair`]): a bit
/// set, allocated on the first removal (1.25 MB for 10M pairs), so that a compaction's snapshot
/// copies it in a fraction of a millisecond.
#[derive(Debug, Clone, Default)]
struct Marks {
    bits: Vec<u64>,
    count: usize,
}

impl Marks {
    #[inline(always)]
    fn get(&self, k: usize) -> bool {
        self.count != 0 && (self.bits[k / 64] >> (k % 64)) & 1 == 1
    }

    /// Marks pair `k` of `n`; `false` if it was marked already.
    fn set(&mut self, k: usize, n: usize) -> bool {
        if self.bits.is_empty() {
            self.bits = vec![0; n.div_ceil(64)];
        }
        let (w, b) = (k / 64, 1u64 << (k % 64));
        if self.bits[w] & b != 0 {
            return false;
        }
        self.bits[w] |= b;
        self.count += 1;
        true
    }

    /// Unmarks pair `k`; `false` if it was not marked.
    fn unset(&mut self, k: usize) -> bool {
        if !self.get(k) {
            return false;
        }
        self.bits[k / 64] &= !(1u64 << (k % 64));
        self.count -= 1;
        true
    }

    fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 8
    }
}

/// The shared state; readers hold the read lock for a whole query.
///
/// A live pair is in `base` unmarked, or in `delta`; a removed pair of `base` stays in it,
/// marked, until the next compaction. While a compaction runs (`log` is `Some`), a re-inserted
/// pair of `base` goes to the delta instead of being unmarked, since the segment being built
/// (from a snapshot in which it was removed) lacks it; so then a pair may be both marked in
/// `base` and in `delta`, and counts as live.
#[derive(Debug)]
struct State<const W: usize> {
    base: Segment<W>,
    removed: Marks,
    delta: Delta<W>,
    /// While a compaction swaps tables: the new segment and how many of its tables (`0..k`)
    /// are present and answer queries in place of the base's (taken out).
    next: Option<(Arc<Segment<W>>, usize)>,
    /// While a compaction runs: the changes made since its snapshot, to replay on the new base.
    log: Option<Vec<(bool, [u64; W], u64)>>,
}

impl<const W: usize> State<W> {
    fn insert(&mut self, code: [u64; W], id: u64) -> bool {
        if let Some(k) = self.base.find_pair(&code, id) {
            if !self.removed.get(k) {
                return false;
            }
            if self.log.is_none() {
                return self.removed.unset(k);
            }
        }
        self.delta.insert(code, id)
    }

    fn remove(&mut self, code: &[u64; W], id: u64) -> bool {
        if let Some(k) = self.base.find_pair(code, id)
            && !self.removed.get(k)
        {
            return self.removed.set(k, self.base.pair_count());
        }
        self.delta.remove(code, id)
    }

    /// Removes every live pair whose id `pred` accepts; returns the pairs removed, as `(code,
    /// id)`.
    fn remove_ids(&mut self, pred: &dyn Fn(u64) -> bool) -> Vec<([u64; W], u64)> {
        let mut gone = Vec::new();
        let n = self.base.pair_count();
        let (base, removed) = (&self.base, &mut self.removed);
        base.for_each_pair_number(|k, slot, id| {
            if pred(id) && !removed.get(k) {
                removed.set(k, n);
                gone.push((*base.code(slot), id));
            }
        });
        let in_delta: Vec<([u64; W], u64)> = self
            .delta
            .codes
            .iter()
            .zip(&self.delta.ids)
            .flat_map(|(c, ids)| ids.iter().filter(|&&id| pred(id)).map(move |&id| (*c, id)))
            .collect();
        for (c, id) in in_delta {
            self.delta.remove(&c, id);
            gone.push((c, id));
        }
        gone
    }

    fn contains(&self, code: &[u64; W], id: u64) -> bool {
        self.base
            .find_pair(code, id)
            .is_some_and(|k| !self.removed.get(k))
            || self
                .delta
                .pos
                .get(code)
                .is_some_and(|&i| self.delta.ids[i as usize].contains(&id))
    }

    /// Calls `f(code, ids)` for every live code in ascending order, with its live ids, ascending
    /// and never empty.
    fn for_each_live(&self, f: impl FnMut(&[u64; W], &[u64])) {
        for_each_live(&self.base, &self.removed, &self.delta, f);
    }

    /// All live pairs, sorted by `(code, id)`.
    fn pairs(&self) -> Vec<([u64; W], u64)> {
        let mut out = Vec::with_capacity(self.len() + 1);
        self.for_each_live(|c, ids| out.extend(ids.iter().map(|&id| (*c, id))));
        out
    }

    fn len(&self) -> usize {
        // A pair both marked in the base and in the delta (see above) counts once.
        self.base.pair_count() - self.removed.count + self.delta.pairs
    }

    /// Reports the base's live pairs among `hits` (its slots).
    fn report_base(&self, hits: &[(u32, u32)], f: &mut impl FnMut(&[u64; W], u64, u32)) {
        for &(slot, d) in hits {
            let code = self.base.code(slot);
            self.base.for_each_pair(slot, |k, id| {
                if !self.removed.get(k) {
                    f(code, id, d);
                }
            });
        }
    }

    fn query(
        &self,
        q: &[u64; W],
        r: u32,
        strategy: Strategy,
        f: &mut impl FnMut(&[u64; W], u64, u32),
    ) {
        let mut hits = Vec::new();
        let mih = match strategy {
            Strategy::Mih => true,
            Strategy::Scan(_) => false,
            Strategy::Auto => self.base.mih_cost(r).is_some_and(|(mih, scan)| mih < scan),
        };
        let simd = match strategy {
            Strategy::Scan(s) => s,
            _ => Simd::detect(),
        };
        match &self.next {
            // A compaction is swapping tables: the base's codes are all there, its tables
            // `k..` and the new segment's `0..k` present. A slot is reported by the table that
            // finds it first, in whichever segment that table is; the new segment holds the
            // live content of the snapshot, so only the pairs still live in the base are
            // reported from it (the others were removed since, or are the delta's).
            Some((next, k)) if *k > 0 && mih && self.base.substrings() > 0 => {
                let m = self.base.substrings();
                self.base.query_mih_tables(q, r, *k..m, &mut hits);
                self.report_base(&hits, f);
                hits.clear();
                next.query_mih_tables(q, r, 0..*k, &mut hits);
                for &(slot, d) in &hits {
                    let code = next.code(slot);
                    next.for_each_pair(slot, |_, id| {
                        if self
                            .base
                            .find_pair(code, id)
                            .is_some_and(|b| !self.removed.get(b))
                        {
                            f(code, id, d);
                        }
                    });
                }
            }
            _ => {
                if mih && self.base.complete() {
                    self.base.query_mih(q, r, &mut hits);
                } else {
                    self.base.query_scan(q, r, simd, &mut hits);
                }
                self.report_base(&hits, f);
            }
        }
        hits.clear();
        scan::scan(&self.delta.codes, q, r, simd, 0, &mut hits);
        for &(i, d) in &hits {
            for &id in &self.delta.ids[i as usize] {
                f(&self.delta.codes[i as usize], id, d);
            }
        }
    }
}

/// Calls `f(code, ids)` for every live code of `base` (under the marks `removed`) and `delta`
/// together, in ascending order, with its live ids ascending and never empty.
fn for_each_live<const W: usize>(
    base: &Segment<W>,
    removed: &Marks,
    delta: &Delta<W>,
    mut f: impl FnMut(&[u64; W], &[u64]),
) {
    let mut d: Vec<([u64; W], u64)> = delta
        .codes
        .iter()
        .zip(&delta.ids)
        .flat_map(|(c, ids)| ids.iter().map(move |&id| (*c, id)))
        .collect();
    d.sort_unstable();
    let mut di = 0;
    let mut ids = Vec::new();
    for (slot, c) in base.codes().iter().enumerate() {
        while let Some(&(dc, _)) = d.get(di)
            && dc < *c
        {
            ids.clear();
            di = take_run(&d, di, &mut ids);
            f(&dc, &ids);
        }
        ids.clear();
        base.for_each_pair(slot as u32, |k, id| {
            if !removed.get(k) {
                ids.push(id);
            }
        });
        if d.get(di).is_some_and(|p| p.0 == *c) {
            di = take_run(&d, di, &mut ids);
        }
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            f(c, &ids);
        }
    }
    while let Some(&(dc, _)) = d.get(di) {
        ids.clear();
        di = take_run(&d, di, &mut ids);
        f(&dc, &ids);
    }
}

/// Appends to `ids` the ids of the run of sorted pairs `d` sharing the code at `at`, and returns
/// where the run ends.
fn take_run<const W: usize>(d: &[([u64; W], u64)], mut at: usize, ids: &mut Vec<u64>) -> usize {
    let code = d[at].0;
    while let Some(&(c, id)) = d.get(at)
        && c == code
    {
        ids.push(id);
        at += 1;
    }
    at
}

/// The live content of `base` (under `removed`) and `delta` as a segment's parts (sorted
/// distinct codes, first ids, further ids), written straight from them, with no list of all
/// pairs in between (40 bytes a pair: 400 MB at 10M hashes).
fn parts<const W: usize>(
    base: &Segment<W>,
    removed: &Marks,
    delta: &Delta<W>,
) -> (Codes<W>, Vec<u64>, Vec<(u32, u64)>) {
    let n = base.len() + delta.codes.len();
    let mut codes = Codes::with_capacity(n);
    let mut first = Vec::with_capacity(n);
    let mut extra = Vec::new();
    for_each_live(base, removed, delta, |c, ids| {
        let slot = codes.len() as u32;
        codes.push(*c);
        first.push(ids[0]);
        extra.extend(ids[1..].iter().map(|&id| (slot, id)));
    });
    (codes, first, extra)
}

/// An updatable index over `W`-word codes; the public types wrap it.
#[derive(Debug)]
pub(crate) struct Live<const W: usize> {
    state: RwLock<State<W>>,
    compacting: Mutex<()>,
    options: IndexOptions,
}

impl<const W: usize> Live<W> {
    pub(crate) fn new(base: Segment<W>, options: IndexOptions) -> Self {
        Live {
            state: RwLock::new(State {
                base,
                removed: Marks::default(),
                delta: Delta::default(),
                next: None,
                log: None,
            }),
            compacting: Mutex::new(()),
            options,
        }
    }

    pub(crate) fn options(&self) -> &IndexOptions {
        &self.options
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State<W>> {
        // A panic while holding the lock cannot leave the state half-updated in a way queries
        // could misread (each mutation is a few container operations), so poisoning is ignored.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State<W>> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn insert(&self, code: [u64; W], id: u64) -> bool {
        let (changed, big) = {
            let mut s = self.write();
            let changed = s.insert(code, id);
            if changed && let Some(log) = &mut s.log {
                log.push((true, code, id));
            }
            (changed, s.delta.codes.len() > self.max_delta(s.base.len()))
        };
        if big && self.options.auto_compact {
            self.compact_if_idle();
        }
        changed
    }

    pub(crate) fn remove(&self, code: &[u64; W], id: u64) -> bool {
        let mut s = self.write();
        let changed = s.remove(code, id);
        if changed && let Some(log) = &mut s.log {
            log.push((false, *code, id));
        }
        changed
    }

    /// Removes every pair whose id `pred` accepts (one pass over all pairs under the write
    /// lock: ~10 ms a million pairs); returns how many.
    pub(crate) fn remove_ids(&self, pred: &dyn Fn(u64) -> bool) -> usize {
        let mut s = self.write();
        let gone = s.remove_ids(pred);
        let count = gone.len();
        if let Some(log) = &mut s.log {
            log.extend(gone.into_iter().map(|(c, id)| (false, c, id)));
        }
        count
    }

    fn max_delta(&self, base: usize) -> usize {
        self.options
            .max_delta
            .unwrap_or_else(|| (base / 64).clamp(4096, 65536))
    }

    fn compact_if_idle(&self) {
        if let Ok(guard) = self.compacting.try_lock() {
            self.compact_locked(guard);
        }
    }

    pub(crate) fn compact(&self) {
        let guard = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        self.compact_locked(guard);
    }

    /// Rebuilds the segment from the live content, holding the write lock only for moments:
    /// 1. a snapshot: the base's codes shared, its removal marks (a bit set) and the delta
    ///    copied, and the log of changes started;
    /// 2. off the lock: the new segment's codes and ids, read straight from the snapshot;
    /// 3. its tables one at a time, off the lock; each is swapped in under the lock for the
    ///    base's table of the same number, which is freed. Queries meanwhile read each table
    ///    from whichever segment has it (see `State::query`), so the two segments together
    ///    hold one set of tables plus the one being built, not two: at 10M hashes the
    ///    compaction's peak is the new codes and one table (~0.4 GB), not a second segment
    ///    (~0.9 GB);
    /// 4. the swap: the new segment becomes the base, and the changes logged since the
    ///    snapshot are replayed on it. Each logged change sets a pair present or absent, so
    ///    replaying them from the snapshot's content ends in the current content.
    ///
    /// When the new segment needs another table layout than the base (the index grew or shrank
    /// past what its layout suits), step 3 cannot swap tables one for one: the new segment is
    /// built whole and swapped in at step 4.
    fn compact_locked(&self, guard: std::sync::MutexGuard<'_, ()>) {
        self.compact_with_hook(guard, &mut |_| {});
    }

    /// [`Live::compact_locked`], calling `hook(t)` after table `t` is swapped (tests use it to
    /// change and query the index in every state of a compaction).
    fn compact_with_hook(
        &self,
        _guard: std::sync::MutexGuard<'_, ()>,
        hook: &mut dyn FnMut(usize),
    ) {
        let (shell, removed, delta) = {
            let mut s = self.write();
            if s.delta.pairs == 0 && s.removed.count == 0 {
                return;
            }
            s.log = Some(Vec::new());
            (s.base.shell(), s.removed.clone(), s.delta.clone())
        };
        let (codes, first, extra) = parts(&shell, &removed, &delta);
        let old_m = shell.substrings() as u32;
        drop((shell, removed, delta));
        let layout =
            Segment::<W>::layout_for(codes.len(), self.options.substrings, self.options.dir_bits);
        let seg = if layout.m > 0 && layout.m == old_m {
            let next = Arc::new(Segment::without_tables(codes, first, extra, layout));
            self.write().next = Some((Arc::clone(&next), 0));
            let mut tmp = Vec::new();
            for t in 0..layout.m as usize {
                // SAFETY: table `t` of `next` is absent (tables are filled in order, once);
                // this compaction, holding the `compacting` mutex, is its only filler; and
                // queries read only `next`'s tables `0..k` with `k <= t` until `k` is raised
                // below, after the filling.
                unsafe { next.fill_table(t, &mut tmp) };
                {
                    let mut s = self.write();
                    s.next.as_mut().expect("the compaction's new segment").1 = t + 1;
                    s.base.take_table(t);
                }
                hook(t);
            }
            drop(tmp);
            next
        } else {
            Arc::new(Segment::from_parts(
                codes,
                first,
                extra,
                self.options.substrings,
                self.options.dir_bits,
            ))
        };
        let old = {
            let mut s = self.write();
            drop(s.next.take());
            let seg = Arc::into_inner(seg).expect("nothing else holds the new segment");
            let log = s.log.take().unwrap_or_default();
            let old = std::mem::replace(&mut s.base, seg);
            s.removed = Marks::default();
            s.delta = Delta::default();
            for (ins, code, id) in log {
                if ins {
                    s.insert(code, id);
                } else {
                    s.remove(&code, id);
                }
            }
            old
        };
        drop(old);
    }

    pub(crate) fn query(
        &self,
        q: &[u64; W],
        r: u32,
        strategy: Strategy,
        f: &mut impl FnMut(&[u64; W], u64, u32),
    ) {
        self.read().query(q, r, strategy, f);
    }

    pub(crate) fn query_many(
        &self,
        qs: &[[u64; W]],
        r: u32,
        strategy: Strategy,
        f: &mut impl FnMut(usize, &[u64; W], u64, u32),
    ) {
        let s = self.read();
        for (i, q) in qs.iter().enumerate() {
            s.query(q, r, strategy, &mut |c, id, d| f(i, c, id, d));
        }
    }

    /// All zero while a compaction swaps tables (the base's are partly taken out).
    pub(crate) fn footprint(&self, q: &[u64; W], r: u32) -> crate::Footprint {
        let s = self.read();
        if !s.base.complete() {
            return crate::Footprint::default();
        }
        s.base.footprint(q, r)
    }

    pub(crate) fn pairs(&self) -> Vec<([u64; W], u64)> {
        self.read().pairs()
    }

    pub(crate) fn contains(&self, code: &[u64; W], id: u64) -> bool {
        self.read().contains(code, id)
    }

    pub(crate) fn stats(&self) -> crate::Stats {
        let s = self.read();
        let delta_bytes = s.delta.codes.capacity() * (8 * W + 24)
            + s.delta.ids.iter().map(|v| v.capacity() * 8).sum::<usize>()
            + s.delta.pos.capacity() * (8 * W + 8);
        crate::Stats {
            pairs: s.len(),
            base_hashes: s.base.len(),
            delta_hashes: s.delta.codes.len(),
            removed_pending: s.removed.count,
            substrings: s.base.substrings(),
            heap_bytes: s.base.heap_bytes()
                + s.next.as_ref().map_or(0, |(n, _)| n.heap_bytes())
                + s.removed.heap_bytes()
                + delta_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::{
        Just, ProptestConfig, any, prop_assert, prop_assert_eq, prop_oneof, proptest,
    };

    use super::*;

    type Code = [u64; 4];

    fn distance(a: &Code, b: &Code) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
    }

    /// The index's answer to `q` at `r`, sorted, against brute force over `oracle`.
    fn check(live: &Live<4>, oracle: &BTreeSet<(Code, u64)>, q: &Code, r: u32, strategy: Strategy) {
        let mut got = Vec::new();
        live.query(q, r, strategy, &mut |c, id, d| got.push((*c, id, d)));
        got.sort_unstable();
        let want: Vec<(Code, u64, u32)> = oracle
            .iter()
            .map(|&(c, id)| (c, id, distance(&c, q)))
            .filter(|&(_, _, d)| d <= r)
            .collect();
        assert_eq!(got, want, "query {q:x?} at r = {r} ({strategy:?})");
    }

    /// A code `k` random bits away from `c`.
    fn near(c: &Code, k: u32, seed: u64) -> Code {
        let mut out = *c;
        let mut x = seed | 1;
        for _ in 0..k {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = (x % 256) as usize;
            out[b / 64] ^= 1 << (b % 64);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Changes and queries in every state of a compaction (after each table swap) give what
        /// brute force over the current content gives, as do the index after it and its pairs.
        #[test]
        fn every_state_of_a_compaction_is_exact(
            seeds in proptest::collection::vec(any::<u64>(), 40..300),
            ops in proptest::collection::vec((0u8..5, any::<u64>(), 0u32..12), 1..30),
            m in prop_oneof![Just(8u32), Just(11), Just(16)],
            r in prop_oneof![0u32..12, 12u32..48],
        ) {
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            let mut rnd = move || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
            // Families of near codes, several ids each, so slots hold several ids.
            let centres: Vec<Code> = (0..8).map(|_| [rnd(), rnd(), rnd(), rnd()]).collect();
            let mut oracle: BTreeSet<(Code, u64)> = seeds
                .iter()
                .map(|&s| (near(&centres[(s % 8) as usize], (s >> 8) as u32 % 24, s), s % 5))
                .collect();
            let options = IndexOptions::default().substrings(Some(m)).auto_compact(false);
            let pairs: Vec<(Code, u64)> = oracle.iter().copied().collect();
            let live = Live::new(Segment::build(pairs, options.substrings, None), options);
            // Changes before the compaction: removals from the base, inserts into the delta.
            let before: Vec<(Code, u64)> = oracle.iter().copied().step_by(3).collect();
            for p in &before {
                prop_assert!(live.remove(&p.0, p.1));
                oracle.remove(p);
            }
            for i in 0..20u64 {
                let p = (near(&centres[(i % 8) as usize], (i % 9) as u32, i + 77), 7 + i % 3);
                prop_assert_eq!(live.insert(p.0, p.1), oracle.insert(p));
            }
            let live = &live;
            let oracle = std::cell::RefCell::new(oracle);
            let mut step = 0usize;
            let mut hook = |t: usize| {
                let mut o = oracle.borrow_mut();
                // A few changes: re-inserts of removed base pairs, removals of live ones
                // (base and delta), fresh inserts, then queries by every strategy.
                for &(kind, seed, k) in ops.iter().skip(step % ops.len()).take(4) {
                    step += 1;
                    let all: Vec<(Code, u64)> = o.iter().copied().collect();
                    match kind {
                        0 if !all.is_empty() => {
                            let p = all[seed as usize % all.len()];
                            assert!(live.remove(&p.0, p.1));
                            o.remove(&p);
                        }
                        1 if !before.is_empty() => {
                            // A pair removed before the compaction: the new segment lacks it.
                            let p = before[seed as usize % before.len()];
                            assert_eq!(live.insert(p.0, p.1), o.insert(p));
                        }
                        2 => {
                            let id = 100 + seed % 5;
                            let before = o.len();
                            o.retain(|p| p.1 != id);
                            assert_eq!(live.remove_ids(&|x| x == id), before - o.len());
                        }
                        _ => {
                            let p = (near(&centres[(seed % 8) as usize], k, seed), 100 + seed % 3);
                            assert_eq!(live.insert(p.0, p.1), o.insert(p));
                        }
                    }
                    assert_eq!(live.read().len(), o.len(), "after table {t}");
                }
                for (i, c) in centres.iter().enumerate() {
                    let q = near(c, (i as u32 * 3) % 10, t as u64 + 1);
                    for strategy in [Strategy::Auto, Strategy::Mih, Strategy::Scan(Simd::Portable)] {
                        check(live, &o, &q, r, strategy);
                    }
                }
                for &(c, id) in o.iter().take(5) {
                    assert!(live.contains(&c, id));
                }
            };
            let guard = live.compacting.lock().unwrap();
            live.compact_with_hook(guard, &mut hook);
            let o = oracle.into_inner();
            prop_assert_eq!(live.pairs(), o.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(live.read().len(), o.len());
            for c in &centres {
                check(live, &o, c, r, Strategy::Auto);
                check(live, &o, c, r, Strategy::Mih);
            }
            // The compaction swapped tables one at a time (the layout is forced, so it could).
            prop_assert!(step > 0);
        }
    }
}
