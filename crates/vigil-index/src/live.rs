//! The updatable index over raw `W`-word codes: an immutable [`Segment`] plus a small mutable
//! delta and a set of removed base pairs, behind one `RwLock`; compaction rebuilds the segment
//! off the lock and replays the changes made meanwhile.

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

/// The shared state; readers hold the read lock for a whole query.
#[derive(Debug)]
struct State<const W: usize> {
    base: Arc<Segment<W>>,
    /// Ids removed from base slots, by slot.
    removed: HashMap<u32, Vec<u64>>,
    removed_pairs: usize,
    delta: Delta<W>,
    /// While a compaction runs: the changes made since its snapshot, to replay on the new base.
    log: Option<Vec<(bool, [u64; W], u64)>>,
}

impl<const W: usize> State<W> {
    fn insert(&mut self, code: [u64; W], id: u64) -> bool {
        if let Some(slot) = self.base.find(&code)
            && self.base.has_id(slot, id)
        {
            // Present in the base: a no-op unless it had been removed.
            let Some(r) = self.removed.get_mut(&slot) else {
                return false;
            };
            let Some(k) = r.iter().position(|&x| x == id) else {
                return false;
            };
            r.swap_remove(k);
            if r.is_empty() {
                self.removed.remove(&slot);
            }
            self.removed_pairs -= 1;
            return true;
        }
        self.delta.insert(code, id)
    }

    fn remove(&mut self, code: &[u64; W], id: u64) -> bool {
        if let Some(slot) = self.base.find(code)
            && self.base.has_id(slot, id)
        {
            let r = self.removed.entry(slot).or_default();
            if r.contains(&id) {
                return false;
            }
            r.push(id);
            self.removed_pairs += 1;
            return true;
        }
        self.delta.remove(code, id)
    }

    fn is_removed(&self, slot: u32, id: u64) -> bool {
        !self.removed.is_empty() && self.removed.get(&slot).is_some_and(|r| r.contains(&id))
    }

    /// A copy of the live content without the log: the base shared, the delta and the pending
    /// removals copied. Both are bounded by when compaction runs (the server compacts past 1/64
    /// of the segment in inserts or 1/8 in removals), but the copy is made under the write lock:
    /// a round of a million removals would still make lookups wait for it.
    fn snapshot(&self) -> State<W> {
        State {
            base: Arc::clone(&self.base),
            removed: self.removed.clone(),
            removed_pairs: self.removed_pairs,
            delta: self.delta.clone(),
            log: None,
        }
    }

    /// Calls `f(code, ids)` for every live code in ascending order, with its live ids, ascending
    /// and never empty.
    fn for_each_live(&self, mut f: impl FnMut(&[u64; W], &[u64])) {
        let mut delta: Vec<([u64; W], u64)> = self
            .delta
            .codes
            .iter()
            .zip(&self.delta.ids)
            .flat_map(|(c, ids)| ids.iter().map(move |&id| (*c, id)))
            .collect();
        delta.sort_unstable();
        let mut d = delta.into_iter().peekable();
        let mut ids = Vec::new();
        for (slot, c) in self.base.codes().iter().enumerate() {
            delta_below(Some(c), &mut d, &mut f);
            ids.clear();
            self.base.for_each_id(slot as u32, |id| {
                if !self.is_removed(slot as u32, id) {
                    ids.push(id);
                }
            });
            while let Some(&(dc, id)) = d.peek()
                && dc == *c
            {
                ids.push(id);
                d.next();
            }
            if !ids.is_empty() {
                ids.sort_unstable();
                ids.dedup();
                f(c, &ids);
            }
        }
        delta_below(None, &mut d, &mut f);
    }

    /// All live pairs, sorted by `(code, id)`.
    fn pairs(&self) -> Vec<([u64; W], u64)> {
        let mut out = Vec::with_capacity(self.len() + 1);
        self.for_each_live(|c, ids| out.extend(ids.iter().map(|&id| (*c, id))));
        out
    }

    /// The live content as a segment's parts (sorted distinct codes, first ids, further ids),
    /// written straight from the base and the delta, with no list of all pairs in between (40
    /// bytes a pair: 400 MB at 10M hashes).
    fn parts(&self) -> (Codes<W>, Vec<u64>, Vec<(u32, u64)>) {
        let n = self.base.len() + self.delta.codes.len();
        let mut codes = Codes::with_capacity(n);
        let mut first = Vec::with_capacity(n);
        let mut extra = Vec::new();
        self.for_each_live(|c, ids| {
            let slot = codes.len() as u32;
            codes.push(*c);
            first.push(ids[0]);
            extra.extend(ids[1..].iter().map(|&id| (slot, id)));
        });
        (codes, first, extra)
    }

    fn len(&self) -> usize {
        self.base.first_id_count() + self.base.extra().len() - self.removed_pairs + self.delta.pairs
    }

    fn query(
        &self,
        q: &[u64; W],
        r: u32,
        strategy: Strategy,
        f: &mut impl FnMut(&[u64; W], u64, u32),
    ) {
        let mut hits = Vec::new();
        match strategy {
            Strategy::Mih => self.base.query_mih(q, r, &mut hits),
            Strategy::Scan(simd) => self.base.query_scan(q, r, simd, &mut hits),
            Strategy::Auto => match self.base.mih_cost(r) {
                Some((mih, scan)) if mih < scan => self.base.query_mih(q, r, &mut hits),
                _ => self.base.query_scan(q, r, Simd::detect(), &mut hits),
            },
        }
        for &(slot, d) in &hits {
            let code = self.base.code(slot);
            self.base.for_each_id(slot, |id| {
                if !self.is_removed(slot, id) {
                    f(code, id, d);
                }
            });
        }
        hits.clear();
        let simd = match strategy {
            Strategy::Scan(s) => s,
            _ => Simd::detect(),
        };
        scan::scan(&self.delta.codes, q, r, simd, 0, &mut hits);
        for &(i, d) in &hits {
            for &id in &self.delta.ids[i as usize] {
                f(&self.delta.codes[i as usize], id, d);
            }
        }
    }
}

/// Calls `f(code, ids)` for the codes at the front of the sorted delta pairs `d` that are below
/// `bound` (all of them for `None`), each with its ids, consuming them.
fn delta_below<const W: usize>(
    bound: Option<&[u64; W]>,
    d: &mut std::iter::Peekable<std::vec::IntoIter<([u64; W], u64)>>,
    f: &mut impl FnMut(&[u64; W], &[u64]),
) {
    let mut run = Vec::new();
    while let Some(&(dc, _)) = d.peek()
        && bound.is_none_or(|b| dc < *b)
    {
        run.clear();
        while let Some(&(c, id)) = d.peek()
            && c == dc
        {
            run.push(id);
            d.next();
        }
        f(&dc, &run);
    }
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
                base: Arc::new(base),
                removed: HashMap::new(),
                removed_pairs: 0,
                delta: Delta::default(),
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

    /// Holds the write lock only to take a snapshot (sharing the base, copying the delta) and
    /// to swap in the new segment and replay the changes logged meanwhile. Reading the live
    /// content out, building the segment and freeing the old one run without the lock: at 10M
    /// hashes listing the pairs alone took ~0.4 s, which lookups waited out when it ran under the
    /// lock.
    fn compact_locked(&self, _guard: std::sync::MutexGuard<'_, ()>) {
        let snapshot = {
            let mut s = self.write();
            if s.delta.pairs == 0 && s.removed_pairs == 0 {
                return;
            }
            s.log = Some(Vec::new());
            s.snapshot()
        };
        let (codes, first, extra) = snapshot.parts();
        drop(snapshot);
        let seg = Segment::from_parts(
            codes,
            first,
            extra,
            self.options.substrings,
            self.options.dir_bits,
        );
        let old = {
            let mut s = self.write();
            let log = s.log.take().unwrap_or_default();
            let old = std::mem::replace(&mut s.base, Arc::new(seg));
            s.delta = Delta::default();
            s.removed.clear();
            s.removed_pairs = 0;
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

    pub(crate) fn footprint(&self, q: &[u64; W], r: u32) -> crate::Footprint {
        self.read().base.footprint(q, r)
    }

    pub(crate) fn pairs(&self) -> Vec<([u64; W], u64)> {
        self.read().pairs()
    }

    pub(crate) fn contains(&self, code: &[u64; W], id: u64) -> bool {
        let s = self.read();
        if let Some(slot) = s.base.find(code)
            && s.base.has_id(slot, id)
        {
            return !s.is_removed(slot, id);
        }
        s.delta
            .pos
            .get(code)
            .is_some_and(|&i| s.delta.ids[i as usize].contains(&id))
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
            removed_pending: s.removed_pairs,
            substrings: s.base.substrings(),
            heap_bytes: s.base.heap_bytes() + delta_bytes + s.removed.capacity() * 40,
        }
    }
}
