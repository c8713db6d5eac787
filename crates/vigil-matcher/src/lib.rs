//! The live matcher: the banks of a [`Store`] held in memory for matching, and kept current
//! from the store's change feed instead of being reloaded.
//!
//! [`Matcher::load`] reads every signal of the enabled banks once ([`Store::signals_snapshot`]);
//! [`Matcher::refresh`] then applies what changed since ([`Store::changes_since`]): signals
//! added or removed, quarantines set, lifted or run out, banks created, enabled, disabled,
//! deleted, or given another kind or threshold. A change is visible to the first query after
//! the refresh that read it, and a refresh costs what changed, not the size of the banks — a
//! process that refreshes every few hundred milliseconds sees a bank change well within a second
//! (BENCHMARKS.md has the figures).
//!
//! PDQ signals go into one exact Hamming index ([`vigil_index::Index`], keyed by signal id),
//! queried at the largest threshold in use and filtered per bank; vPDQ signals (videos, kept
//! in banks as python-threatexchange's JSON frame list) go into one
//! [`vigil_video::matching::VideoIndex`], also keyed by signal id, and match as
//! python-threatexchange decides ([`video_params`]), each match carrying its percentages and
//! aligned time ranges ([`VideoDetail`]); other kinds (MD5, SHA-1, SHA-256, …) match exactly.
//! A match in an *allow* bank suppresses the query's block-bank matches
//! ([`Outcome::is_match`]); quarantined signals and disabled banks never match.
//!
//! Changes are applied idempotently (a signal seen both in the snapshot and in the feed, as
//! PostgreSQL's paged snapshot allows, ends the same), and the result of any sequence of
//! refreshes equals a fresh load (tested against a brute-force oracle over the store's own
//! view of what is active).

#![warn(missing_docs)]

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use vigil_core::Hash256;
use vigil_exchange::record::{Signal, SignalKind};
use vigil_index::Index;
use vigil_store::{Bank, BankKind, SignalChange, Store};
use vigil_video::Frame;
use vigil_video::matching::{Comparison, MatchParams, TimeRange, VideoIndex};

mod slots;
use slots::Slots;

/// Signal changes read per page while refreshing.
const CHANGE_PAGE: usize = 10_000;

/// Why loading or refreshing failed. The matcher is unchanged by a failed refresh's remaining
/// changes: the next refresh reads them again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] vigil_store::Error),
}

/// PDQ threshold of a bank that sets none (inclusive, as python-threatexchange).
pub const DEFAULT_PDQ_THRESHOLD: u32 = 31;

/// How vPDQ signals match: python-threatexchange's rules and thresholds (what HMA's `vpdq`
/// signal type uses): frames within Hamming distance 31 (inclusive), frames of quality under 50
/// ignored, each side de-duplicated by exact hash, and a match when at least 80 % of the
/// query's frames have a partner in the stored video (0 % of the stored video's needed). A
/// bank's PDQ threshold does not apply to videos.
pub fn video_params() -> MatchParams {
    MatchParams::default()
}

/// What a vPDQ match adds to a [`Hit`]: how much of each video matched, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoDetail {
    /// Percentages, frame counts and decision, as [`vigil_video::matching::compare`] of the
    /// query with the stored video under [`video_params`] (always a match here).
    pub comparison: Comparison,
    /// Where the videos line up (query seconds against stored-video seconds), as
    /// [`vigil_video::matching::time_ranges`] gives them.
    pub ranges: Vec<TimeRange>,
}

/// One stored signal a query matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The bank's name.
    pub bank: String,
    /// The bank's id.
    pub bank_id: i64,
    /// The content item.
    pub content_id: i64,
    /// The signal's id.
    pub signal_id: i64,
    /// The stored signal.
    pub signal: Signal,
    /// Hamming distance (PDQ), 0 for an exact kind and for a video.
    pub distance: u32,
    /// Whether the signal can match now: `false` for a quarantined signal or content item,
    /// which only [`Query::include_inactive`] reports.
    pub active: bool,
    /// For a vPDQ match, the match percentages and aligned time ranges; `None` for other kinds.
    pub video: Option<VideoDetail>,
}

/// How a query is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query {
    /// Report quarantined signals too (as HMA's `raw_lookup` does; for diagnosis, never for a
    /// match decision).
    pub include_inactive: bool,
}

/// What a query matched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Matches in block banks, nearest first (videos: the highest query percentage, then
    /// compared percentage, first), then by bank and signal id.
    pub hits: Vec<Hit>,
    /// Matches in allow banks (known false positives), in the same order.
    pub allowed_by: Vec<Hit>,
}

impl Outcome {
    /// Whether the query is a match: a block bank matched and no allow bank did.
    pub fn is_match(&self) -> bool {
        !self.hits.is_empty() && self.allowed_by.is_empty()
    }
}

/// What one [`Matcher::refresh`] applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// The change number now covered.
    pub upto: i64,
    /// Signal changes read from the feed.
    pub changes: usize,
    /// Signals that became matchable (added, quarantine lifted or run out, bank enabled).
    pub activated: usize,
    /// Signals that stopped being matchable (removed, quarantined, bank disabled or deleted).
    pub deactivated: usize,
    /// Banks whose signals were loaded whole (enabled since the last refresh).
    pub banks_loaded: usize,
    /// Whether the index was compacted (its recent changes folded into a rebuilt segment).
    pub compacted: bool,
}

/// The PDQ index's options: compaction is the refresher's job ([`Shared::refresh`]), never an
/// insert's.
fn index_options() -> vigil_index::IndexOptions {
    vigil_index::IndexOptions::default().auto_compact(false)
}

/// Whether the index's recent changes have grown enough to fold into a new segment: the
/// delta (scanned linearly by every query) past 1/64 of the segment (4,096–65,536 hashes), or
/// removals pending past 1/8 of it.
fn needs_compaction(s: &vigil_index::Stats) -> bool {
    let base = s.base_hashes.max(1);
    s.delta_hashes > (base / 64).clamp(4096, 65_536) || s.removed_pending > (base / 8).max(4096)
}

/// A held signal's value: PDQ hashes as their 32 bytes (most signals), other kinds (vPDQ
/// included: its frames are in the video index, its text here) as given.
///
/// The held-signal table ([`slots::Slots`]) does not keep PDQ hashes: the PDQ index has them,
/// and a match reports the hash it found (32 bytes a signal less: 305 MiB at 10M signals). A
/// PDQ value read back from the table is `Pdq(None)`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Pdq(Option<Hash256>),
    Other(Box<Signal>),
}

impl Value {
    fn of(signal: Signal) -> Value {
        match signal.pdq() {
            Some(h) => Value::Pdq(Some(h)),
            None => Value::Other(Box::new(signal)),
        }
    }

    fn kind_name(&self) -> &str {
        match self {
            Value::Pdq(_) => "pdq",
            Value::Other(s) => s.kind().name(),
        }
    }

    /// The signal of a value of another kind than PDQ (whose hash a match reports).
    fn other(&self) -> Option<&Signal> {
        match self {
            Value::Pdq(_) => None,
            Value::Other(s) => Some(s),
        }
    }

    /// The signal of a vPDQ value.
    fn vpdq(&self) -> Option<&Signal> {
        match self {
            Value::Other(s) if *s.kind() == SignalKind::Vpdq => Some(s),
            _ => None,
        }
    }
}

/// What a load collects before building the indexes in one go (much faster than one insert at
/// a time).
#[derive(Default)]
struct Loading {
    pdq: Vec<(Hash256, u64)>,
    videos: Vec<(u64, Vec<Frame>)>,
}

/// A signal of an enabled bank.
#[derive(Debug, Clone)]
struct Held {
    bank_id: i64,
    content_id: i64,
    value: Value,
    /// The effective quarantine end (ms since the Unix epoch), if any.
    disabled_until: Option<i64>,
    /// In the index / exact map now.
    active: bool,
}

/// The store's enabled banks, in memory, ready to match.
pub struct Matcher {
    /// Every bank of the store, enabled or not.
    banks: HashMap<i64, Bank>,
    /// Signals of the enabled banks, quarantined ones included.
    held: Slots,
    /// Held PDQ signals (quarantined ones included, filtered at query time), id = signal id.
    pdq: Index,
    /// Held vPDQ signals that parse (quarantined ones included, filtered at query time), id =
    /// signal id.
    video: VideoIndex,
    /// Held signals of the other kinds.
    exact: HashMap<Signal, Vec<i64>>,
    /// Held signals per kind name.
    counts: HashMap<String, usize>,
    /// Quarantines that end at a known time: `(end, signal id)`.
    lapses: BTreeSet<(i64, i64)>,
    /// The change number covered.
    upto: i64,
    /// While loading: the held PDQ and vPDQ signals, built into `pdq` and `video` in one go
    /// at the end.
    loading: Option<Loading>,
    /// Signal changes read per page while refreshing.
    change_page: usize,
    /// Banks enabled (or created) whose signals are still to be loaded whole: kept across a
    /// refresh that failed half-way, so the next one loads them.
    pending_load: Vec<i64>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("banks", &self.banks.len())
            .field("signals", &self.held.len())
            .field("active_pdq", &self.pdq.len())
            .field("videos", &self.video.len())
            .field("upto", &self.upto)
            .finish()
    }
}

impl Matcher {
    /// Loads the enabled banks of `store`.
    pub async fn load(store: &Store) -> Result<Matcher, Error> {
        let mut m = Matcher {
            loading: Some(Loading::default()),
            ..Matcher::empty()
        };
        m.banks = store
            .bank_list()
            .await?
            .into_iter()
            .map(|b| (b.id, b))
            .collect();
        let now = now_ms();
        let mut r = Refreshed::default();
        m.upto = store
            .signals_snapshot(None, |c| m.apply(c, now, &mut r))
            .await?;
        let loading = m.loading.take().unwrap_or_default();
        m.pdq = Index::from_pairs_with(loading.pdq, index_options());
        let (video, refused) = build_videos(loading.videos);
        m.video = video;
        if let Some(n) = m.counts.get_mut("vpdq") {
            *n = n.saturating_sub(refused);
        }
        m.lapse(now, &mut r);
        tracing::info!(
            banks = m.banks.len(),
            signals = m.held.len(),
            active_pdq = m.pdq.len(),
            videos = m.video.len(),
            upto = m.upto,
            "matcher loaded"
        );
        Ok(m)
    }

    /// Applies the store's changes since the last load or refresh, and ends the quarantines
    /// whose time has come.
    pub async fn refresh(&mut self, store: &Store) -> Result<Refreshed, Error> {
        let shared = Shared::new(std::mem::replace(self, Matcher::empty()));
        let r = shared.refresh(store).await;
        *self = shared.into_inner();
        r
    }

    fn empty() -> Matcher {
        Matcher {
            banks: HashMap::new(),
            held: Slots::default(),
            pdq: Index::with_options(index_options()),
            video: VideoIndex::with_options(index_options()),
            exact: HashMap::new(),
            counts: HashMap::new(),
            lapses: BTreeSet::new(),
            upto: 0,
            loading: None,
            change_page: CHANGE_PAGE,
            pending_load: Vec::new(),
        }
    }

    /// Takes the store's banks: unloads those no longer enabled, and notes those newly enabled
    /// as to be loaded whole.
    fn set_banks(&mut self, banks: HashMap<i64, Bank>, r: &mut Refreshed) {
        let was: HashSet<i64> = self.enabled().collect();
        self.banks = banks;
        let is: HashSet<i64> = self.enabled().collect();
        for gone in was.difference(&is) {
            self.unload(*gone, r);
        }
        self.pending_load.retain(|b| is.contains(b));
        for b in is.difference(&was) {
            if !self.pending_load.contains(b) {
                self.pending_load.push(*b);
            }
        }
    }

    /// Reads the change feed in pages of `n` signal changes (default 10,000): memory for a
    /// refresh is bounded by it, whatever changed. Tests set small pages.
    #[doc(hidden)]
    pub fn set_change_page(&mut self, n: usize) {
        self.change_page = n.max(1);
    }

    /// The change number covered: every change up to it is visible.
    pub fn upto(&self) -> i64 {
        self.upto
    }

    /// Signals that can match now.
    pub fn active(&self) -> usize {
        self.held.count_active()
    }

    /// `(hash, signal id)` pairs in the PDQ index: one per held PDQ signal (quarantined ones
    /// included), which is what [`Matcher::counts`] says for `pdq` unless a removal missed the
    /// index. For health checks and tests.
    pub fn pdq_indexed(&self) -> usize {
        self.pdq.len()
    }

    /// Signals held (quarantined ones included) per kind name (`pdq`, `md5`, `vpdq`, …). A
    /// stored vPDQ value that does not parse is not held (nor counted): it cannot match.
    pub fn counts(&self) -> &HashMap<String, usize> {
        &self.counts
    }

    /// Every bank of the store, enabled or not, by id (as of the last refresh; without
    /// counts).
    pub fn banks(&self) -> &HashMap<i64, Bank> {
        &self.banks
    }

    /// Matches a PDQ hash against the PDQ signals of the enabled banks, each at its own
    /// threshold.
    pub fn match_pdq(&self, query: &Hash256) -> Outcome {
        self.match_pdq_with(query, Query::default())
    }

    /// [`Matcher::match_pdq`], answered as `q` says.
    pub fn match_pdq_with(&self, query: &Hash256, q: Query) -> Outcome {
        let Some(radius) = self
            .banks
            .values()
            .filter(|b| b.enabled)
            .map(threshold)
            .max()
        else {
            return Outcome::default();
        };
        let mut out = Outcome::default();
        for m in self.pdq.query(query, radius) {
            let id = m.id as i64;
            let Some(bank) = self.answering_bank(id, q) else {
                continue;
            };
            if m.distance <= threshold(bank)
                && let Some(h) = self.held.get(id)
            {
                let signal = Signal::new(SignalKind::Pdq, &m.hash.to_hex())
                    .expect("a PDQ hash's hex is a valid PDQ signal");
                self.push(&mut out, bank, id, &h, signal, m.distance, None);
            }
        }
        finish(out)
    }

    /// The enabled bank of a held signal found by an index, if the signal may answer `q`
    /// (active, or inactive ones asked for).
    fn answering_bank(&self, id: i64, q: Query) -> Option<&Bank> {
        let (bank_id, active) = self.held.bank_and_active(id)?;
        if !active && !q.include_inactive {
            return None;
        }
        self.banks.get(&bank_id).filter(|b| b.enabled)
    }

    /// Matches a video's frame hashes against the vPDQ signals of the enabled banks, under
    /// [`video_params`].
    pub fn match_video(&self, query: &[Frame]) -> Outcome {
        self.match_video_with(query, Query::default())
    }

    /// [`Matcher::match_video`], answered as `q` says.
    pub fn match_video_with(&self, query: &[Frame], q: Query) -> Outcome {
        let mut out = Outcome::default();
        if self.video.is_empty() || query.is_empty() {
            return out;
        }
        for m in self.video.query(query, &video_params()) {
            if !m.comparison.is_match {
                // Sorted matches first: the rest are not matches either.
                break;
            }
            let id = m.id as i64;
            let Some(bank) = self.answering_bank(id, q) else {
                continue;
            };
            if let Some(h) = self.held.get(id)
                && let Some(signal) = h.value.other().cloned()
            {
                let detail = VideoDetail {
                    comparison: m.comparison,
                    ranges: m.ranges,
                };
                self.push(&mut out, bank, id, &h, signal, 0, Some(detail));
            }
        }
        finish(out)
    }

    /// Matches a signal: a PDQ hash by distance ([`Matcher::match_pdq`]), a vPDQ signal as a
    /// video ([`Matcher::match_video`]; one that does not parse matches nothing), any other
    /// kind exactly.
    pub fn match_signal(&self, query: &Signal) -> Outcome {
        self.match_signal_with(query, Query::default())
    }

    /// [`Matcher::match_signal`], answered as `q` says.
    pub fn match_signal_with(&self, query: &Signal, q: Query) -> Outcome {
        if let Some(h) = query.pdq() {
            return self.match_pdq_with(&h, q);
        }
        if *query.kind() == SignalKind::Vpdq {
            // A `Signal` of kind vpdq was validated by the same rules as the parser's, so this
            // fails only for a value the two disagree on: it then matches nothing.
            return match vigil_video::text::from_pytx_json(query.value()) {
                Ok(frames) => self.match_video_with(&frames, q),
                Err(e) => {
                    tracing::debug!(error = %e, "vpdq query does not parse");
                    Outcome::default()
                }
            };
        }
        let mut out = Outcome::default();
        for &id in self.exact.get(query).map_or(&[][..], Vec::as_slice) {
            if let Some(h) = self.held.get(id)
                && (h.active || q.include_inactive)
                && let Some(bank) = self.banks.get(&h.bank_id).filter(|b| b.enabled)
                && let Some(signal) = h.value.other().cloned()
            {
                self.push(&mut out, bank, id, &h, signal, 0, None);
            }
        }
        finish(out)
    }

    /// Adds a hit on held signal `id`, whose value is `signal`.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &self,
        out: &mut Outcome,
        bank: &Bank,
        id: i64,
        h: &Held,
        signal: Signal,
        distance: u32,
        video: Option<VideoDetail>,
    ) {
        let hit = Hit {
            bank: bank.name.clone(),
            bank_id: bank.id,
            content_id: h.content_id,
            signal_id: id,
            signal,
            distance,
            active: h.active,
            video,
        };
        match bank.kind {
            BankKind::Allow => out.allowed_by.push(hit),
            _ => out.hits.push(hit),
        }
    }

    fn enabled(&self) -> impl Iterator<Item = i64> + '_ {
        self.banks.values().filter(|b| b.enabled).map(|b| b.id)
    }

    /// Applies one signal's state (idempotent).
    fn apply(&mut self, c: SignalChange, now: i64, r: &mut Refreshed) {
        let id = c.signal_id;
        let loaded = self.banks.get(&c.bank_id).is_some_and(|b| b.enabled);
        if !c.present || !loaded {
            self.forget(id, c.signal.pdq(), r);
            return;
        }
        let Some(content_id) = c.content_id else {
            self.forget(id, c.signal.pdq(), r);
            return;
        };
        if let Some(old) = self.held.get(id)
            && let Some(until) = old.disabled_until
        {
            self.lapses.remove(&(until, id));
        }
        let active_now = c.disabled_until.is_none_or(|u| u <= now);
        let prior = self.held.bank_and_active(id);
        let was_active = prior.is_some_and(|(_, a)| a);
        let was_held = prior.is_some();
        let held = Held {
            bank_id: c.bank_id,
            content_id,
            value: Value::of(c.signal),
            disabled_until: c.disabled_until,
            active: active_now,
        };
        if let Some(u) = held.disabled_until.filter(|&u| u > now && u != i64::MAX) {
            self.lapses.insert((u, id));
        }
        if !was_held {
            self.hold(id, &held.value);
        }
        match (was_active, active_now) {
            (false, true) => r.activated += 1,
            (true, false) => r.deactivated += 1,
            _ => {}
        }
        self.held.insert(id, held);
    }

    /// Drops a signal (removed, or its bank no longer enabled). `pdq`: its hash, if it is a
    /// PDQ signal and the caller knows it (the change feed carries removed signals' values), to
    /// take it out of the index by a lookup rather than by a pass over the whole index.
    fn forget(&mut self, id: i64, pdq: Option<Hash256>, r: &mut Refreshed) {
        let value = match self.unhold(id, r) {
            Some(Value::Pdq(None)) => Value::Pdq(pdq),
            Some(v) => v,
            None => return,
        };
        self.release(id, &value);
    }

    /// Takes a signal out of the held table (and its quarantine's end out of the lapses),
    /// returning its value for [`Matcher::release`] to take out of the indexes.
    fn unhold(&mut self, id: i64, r: &mut Refreshed) -> Option<Value> {
        let h = self.held.remove(id)?;
        if let Some(u) = h.disabled_until {
            self.lapses.remove(&(u, id));
        }
        if h.active {
            r.deactivated += 1;
        }
        Some(h.value)
    }

    /// Drops the signals of a bank no longer enabled. The PDQ index keeps their hashes, so they
    /// leave it in one pass over it by id (~10 ms a million hashes), not one search each.
    fn unload(&mut self, bank: i64, r: &mut Refreshed) {
        let mut pdq = HashSet::new();
        for id in self.held.ids_of_bank(bank) {
            match self.unhold(id, r) {
                Some(Value::Pdq(_)) => {
                    pdq.insert(id as u64);
                }
                Some(v) => self.release(id, &v),
                None => {}
            }
        }
        if pdq.is_empty() {
            return;
        }
        match &mut self.loading {
            Some(l) => l.pdq.retain(|(_, id)| !pdq.contains(id)),
            None => {
                self.pdq.remove_ids(|id| pdq.contains(&id));
            }
        }
        // The held signals dropped (the tests check the index lost as many).
        if let Some(n) = self.counts.get_mut("pdq") {
            *n = n.saturating_sub(pdq.len());
        }
    }

    /// Ends the quarantines whose time has come.
    fn lapse(&mut self, now: i64, r: &mut Refreshed) {
        while let Some(&(until, id)) = self.lapses.first() {
            if until > now {
                break;
            }
            self.lapses.pop_first();
            if let Some(h) = self.held.get(id)
                && h.disabled_until == Some(until)
                && !h.active
            {
                self.held.set_active(id, true);
                r.activated += 1;
            }
        }
    }

    /// Puts a newly held signal into the index, the video index or the exact map.
    fn hold(&mut self, id: i64, value: &Value) {
        if let Some(signal) = value.vpdq() {
            self.hold_video(id, signal);
            return;
        }
        *self
            .counts
            .entry(value.kind_name().to_string())
            .or_default() += 1;
        match value {
            // Values to hold come from the store, with their hash (`Pdq(None)` is only read
            // back from the held table).
            Value::Pdq(None) => debug_assert!(false, "a PDQ value to hold without its hash"),
            Value::Pdq(Some(h)) => {
                if let Some(l) = &mut self.loading {
                    l.pdq.push((*h, id as u64));
                } else {
                    self.pdq.insert(*h, id as u64);
                }
            }
            Value::Other(signal) => {
                let ids = self.exact.entry((**signal).clone()).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }

    /// Puts a vPDQ signal's frames into the video index. A value that does not parse (the
    /// store validates values as the parser reads them, so only a disagreement between the
    /// two) is logged and not held: it cannot match.
    fn hold_video(&mut self, id: i64, signal: &Signal) {
        let frames = match vigil_video::text::from_pytx_json(signal.value()) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(signal_id = id, error = %e, "stored vpdq signal does not parse: not held");
                return;
            }
        };
        if let Some(l) = &mut self.loading {
            l.videos.push((id as u64, frames));
        } else if let Err(e) = self.video.insert(id as u64, &frames) {
            tracing::warn!(signal_id = id, error = %e, "stored vpdq signal not held");
            return;
        }
        *self.counts.entry("vpdq".to_string()).or_default() += 1;
    }

    /// Takes a signal no longer held out of the index, the video index or the exact map.
    fn release(&mut self, id: i64, value: &Value) {
        if value.vpdq().is_some() {
            let held = if let Some(l) = &mut self.loading {
                // A snapshot shows each signal once: this does not happen while loading.
                let before = l.videos.len();
                l.videos.retain(|(v, _)| *v != id as u64);
                l.videos.len() < before
            } else {
                self.video.remove(id as u64)
            };
            if held && let Some(n) = self.counts.get_mut("vpdq") {
                *n = n.saturating_sub(1);
            }
            return;
        }
        if let Some(n) = self.counts.get_mut(value.kind_name()) {
            *n = n.saturating_sub(1);
        }
        match value {
            Value::Pdq(h) => {
                if let Some(l) = &mut self.loading {
                    // A snapshot shows each signal once: this does not happen while loading.
                    l.pdq.retain(|p| p.1 != id as u64);
                } else if !h.is_some_and(|h| self.pdq.remove(&h, id as u64)) {
                    // The hash is not known here (or is not the one indexed): find the signal
                    // by its id, in one pass over the index.
                    tracing::debug!(signal_id = id, "pdq signal removed by id");
                    self.pdq.remove_ids(|x| x == id as u64);
                }
            }
            Value::Other(signal) => {
                if let Some(ids) = self.exact.get_mut(&**signal) {
                    ids.retain(|&x| x != id);
                    if ids.is_empty() {
                        self.exact.remove(&**signal);
                    }
                }
            }
        }
    }
}

/// A matcher shared by lookups and one refresher. Lookups take a read lock ([`Shared::read`]);
/// [`Shared::refresh`] reads the store holding no lock and applies each page of changes (at most
/// the change page, 10,000 signals) under a short write lock, so lookups never wait for the
/// store, nor for a whole import to be applied. A lookup during a refresh sees each signal
/// either before or after its change; the next lookup after the refresh sees all of them.
#[derive(Debug)]
pub struct Shared {
    inner: RwLock<Matcher>,
    refreshing: AtomicBool,
}

/// Clears the refreshing flag when a refresh ends, however it ends.
struct Refreshing<'a>(&'a AtomicBool);

impl Drop for Refreshing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Shared {
    /// Shares `m`.
    pub fn new(m: Matcher) -> Shared {
        Shared {
            inner: RwLock::new(m),
            refreshing: AtomicBool::new(false),
        }
    }

    /// A shared matcher that holds nothing yet (a server answers "not ready" until it has
    /// [`Shared::set`] the loaded one).
    pub fn empty() -> Shared {
        Shared::new(Matcher::empty())
    }

    /// Replaces the matcher (with a freshly loaded one).
    pub fn set(&self, m: Matcher) {
        *self.write() = m;
    }

    /// The matcher, for lookups (a read lock: hold it only for the query).
    pub fn read(&self) -> RwLockReadGuard<'_, Matcher> {
        // A panic while applying changes leaves the matcher as consistent as the changes
        // applied so far (each applied whole); the next refresh applies them again.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Matcher> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The matcher itself.
    pub fn into_inner(self) -> Matcher {
        self.inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies the store's changes since the last refresh (see [`Matcher::refresh`]). Only one
    /// refresh runs at a time: a call made while another runs returns at once, having done
    /// nothing.
    pub async fn refresh(&self, store: &Store) -> Result<Refreshed, Error> {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return Ok(Refreshed::default());
        }
        let _guard = Refreshing(&self.refreshing);
        let (after, page_len) = {
            let m = self.read();
            (m.upto, m.change_page)
        };
        let mut page = store.changes_page(after, None, page_len).await?;
        let upto = page.upto;
        let now = now_ms();
        let mut r = Refreshed::default();
        let unknown_bank = {
            let m = self.read();
            page.signals
                .iter()
                .any(|c| !m.banks.contains_key(&c.bank_id))
        };
        if !page.banks.is_empty() || unknown_bank {
            let banks: HashMap<i64, Bank> = store
                .bank_list()
                .await?
                .into_iter()
                .map(|b| (b.id, b))
                .collect();
            self.write().set_banks(banks, &mut r);
        }
        // The changes come in pages (a big import is millions of them); banks created within
        // this round are in the first page's list, so every page's banks are known.
        loop {
            r.changes += page.signals.len();
            {
                let mut m = self.write();
                for c in std::mem::take(&mut page.signals) {
                    // Signals of a bank about to be loaded whole come with it.
                    if !m.pending_load.contains(&c.bank_id) {
                        m.apply(c, now, &mut r);
                    }
                }
            }
            let Some(next) = page.next else { break };
            page = store.changes_page(after, Some(next), page_len).await?;
        }
        let to_load = self.read().pending_load.clone();
        for bank in to_load {
            let mut buf = Vec::with_capacity(page_len.min(CHANGE_PAGE));
            let flush = |buf: &mut Vec<SignalChange>, r: &mut Refreshed| {
                let mut m = self.write();
                for c in buf.drain(..) {
                    m.apply(c, now, r);
                }
            };
            store
                .signals_snapshot(Some(bank), |c| {
                    buf.push(c);
                    if buf.len() >= page_len {
                        flush(&mut buf, &mut r);
                    }
                })
                .await?;
            flush(&mut buf, &mut r);
            self.write().pending_load.retain(|&b| b != bank);
            r.banks_loaded += 1;
        }
        {
            let mut m = self.write();
            m.lapse(now, &mut r);
            m.upto = upto;
            r.upto = upto;
        }
        // Compaction rebuilds the index's segment: seconds at 10M. It runs here under a *read*
        // lock, so lookups go on meanwhile (the index swaps the new segment in under its own
        // short lock); an insert that found the delta full would have run it under the write
        // lock, pausing every lookup.
        let m = self.read();
        if needs_compaction(&m.pdq.stats()) {
            let started = std::time::Instant::now();
            m.pdq.compact();
            r.compacted = true;
            tracing::debug!(secs = started.elapsed().as_secs_f64(), "index compacted");
        }
        if m.video.needs_compaction() {
            let started = std::time::Instant::now();
            m.video.compact();
            r.compacted = true;
            tracing::debug!(
                secs = started.elapsed().as_secs_f64(),
                "video index compacted"
            );
        }
        drop(m);
        if r.changes > 0 || r.banks_loaded > 0 {
            tracing::debug!(?r, "matcher refreshed");
        }
        Ok(r)
    }
}

fn threshold(b: &Bank) -> u32 {
    b.pdq_threshold.unwrap_or(DEFAULT_PDQ_THRESHOLD)
}

/// Builds the video index of a load in one go, and says how many videos it refused. Should
/// that fail (an index holds 2³² − 1 videos of 2³² − 1 frames each; a stored value is at most
/// a few MB), the videos are inserted one by one, and those refused are logged and not held.
fn build_videos(videos: Vec<(u64, Vec<Frame>)>) -> (VideoIndex, usize) {
    match VideoIndex::from_videos_with(
        videos.iter().map(|(id, f)| (*id, f.as_slice())),
        index_options(),
    ) {
        Ok(v) => (v, 0),
        Err(e) => {
            tracing::warn!(error = %e, "building the video index at once failed: one at a time");
            let mut v = VideoIndex::with_options(index_options());
            let mut refused = 0;
            for (id, frames) in &videos {
                if let Err(e) = v.insert(*id, frames) {
                    tracing::warn!(signal_id = *id, error = %e, "stored vpdq signal not held");
                    refused += 1;
                }
            }
            v.compact();
            (v, refused)
        }
    }
}

/// Sorts hits nearest first: by distance, then (videos) by query and compared percentage,
/// highest first, then by bank and signal id.
fn finish(mut out: Outcome) -> Outcome {
    let pcts = |h: &Hit| {
        h.video.as_ref().map_or((0.0, 0.0), |v| {
            (v.comparison.query_pct, v.comparison.compared_pct)
        })
    };
    let order = |a: &Hit, b: &Hit| {
        let (aq, ac) = pcts(a);
        let (bq, bc) = pcts(b);
        a.distance
            .cmp(&b.distance)
            .then(bq.total_cmp(&aq))
            .then(bc.total_cmp(&ac))
            .then(a.bank_id.cmp(&b.bank_id))
            .then(a.signal_id.cmp(&b.signal_id))
    };
    out.hits.sort_by(order);
    out.allowed_by.sort_by(order);
    out
}
