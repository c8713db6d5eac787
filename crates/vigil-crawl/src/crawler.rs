//! The crawl loop: a coordinator hands frontier entries to at most `workers` fetch tasks,
//! keeping per-host politeness (concurrency and delay between request starts) and robots.txt,
//! then hashes media and parses pages on a fixed pool of one thread per core, and writes each
//! URL's result back to the frontier. Links found where media is expected are taken first (the
//! frontier's rank), so hashing starts with the first pages and keeps the threads fed.
//!
//! Only the coordinator touches the frontier and the matcher, so neither needs to be shared
//! between threads, and each URL's result (state, new links, content, findings) is written as
//! one unit; results are gathered for a moment (up to 64, or 1 s) and written with one
//! [`Frontier::complete_many`] call, one transaction. Media bytes live in memory from the fetch until they are
//! hashed, then are dropped; the same bytes met at several URLs (by SHA-256) are hashed once,
//! every URL recorded; whether the store knows bytes from before is asked for several files at
//! once (each question to the store is a wait for the coordinator, and so for everything). One URL failing (time-out, size cap, bad redirect, undecodable image) is
//! recorded against that URL and the crawl goes on; only a frontier (store) failure stops it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;
use vigil_exchange::record::{Signal, SignalKind};
use vigil_matcher::{Hit, Matcher, Outcome};
use vigil_store::{Completion, CrawlContent, FrontierEntry, NewFinding, NewFrontierEntry};

use crate::fetch::{FetchOptions, Fetcher, Kind};
use crate::frontier::Frontier;
use crate::media::{self, MediaHashes};
use crate::robots::{self, Rules};
use crate::scope::{Scope, ScopeCheck, host_of};
use crate::{Error, links};

/// Settings of a crawl.
#[derive(Debug, Clone)]
pub struct CrawlOptions {
    /// Fetch limits and proxy.
    pub fetch: FetchOptions,
    /// What may be fetched.
    pub scope: Scope,
    /// Fetches in flight at most.
    pub workers: usize,
    /// Fetches in flight to one host at most.
    pub per_host_concurrency: usize,
    /// Time between the starts of two requests to one host.
    pub delay: Duration,
    /// URLs a crawl admits to its frontier at most (over all its runs).
    pub max_pages: u64,
    /// Links taken from one page at most (link farms).
    pub max_links_per_page: usize,
    /// Honour robots.txt (the default).
    pub obey_robots: bool,
    /// Image decoding limits.
    pub decode: vigil_media::DecodeOptions,
    /// Video hashing settings and limits.
    pub video: vigil_video::Options,
    /// Stop cleanly after this many fetches in this run (what is in flight completes; the rest
    /// stays queued for the next run).
    pub stop_after: Option<u64>,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        CrawlOptions {
            fetch: FetchOptions::default(),
            scope: Scope::default(),
            workers: 8,
            per_host_concurrency: 2,
            delay: Duration::from_millis(500),
            max_pages: 100_000,
            max_links_per_page: 1_000,
            obey_robots: true,
            decode: vigil_media::DecodeOptions::default(),
            video: vigil_video::Options::default(),
            stop_after: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// URLs fetched (successfully or not) in this run, robots.txt not counted.
    pub fetched: u64,
    /// HTML pages parsed.
    pub pages: u64,
    /// Media files hashed (each distinct content once).
    pub hashed: u64,
    /// Media URLs whose content had been hashed before (same SHA-256).
    pub deduplicated: u64,
    /// Findings recorded (one per URL and matched bank item).
    pub findings: u64,
    /// URLs that failed in this run.
    pub failed: u64,
    /// The first failures of this run: `(url, error)` (all are in the frontier).
    pub errors: Vec<(String, String)>,
    /// Links left out because a page had more than the per-page cap.
    pub links_capped: u64,
    /// Links left out because the crawl reached its page limit.
    pub over_max_pages: u64,
    /// Whether the frontier was empty at the end (else the run stopped early).
    pub finished: bool,
}

const MAX_REPORTED_ERRORS: usize = 1000;

/// A matched bank item, as kept with hashed content (JSON in `CrawlContent::matches`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Match {
    bank: String,
    content_id: i64,
    signal_kind: String,
    distance: i64,
}

/// What a fetch task came back with.
enum Fetch {
    Page {
        links: Vec<links::Link>,
        capped: bool,
    },
    Media {
        kind: Kind,
        body: Vec<u8>,
        /// SHA-256 of `body`, computed by the fetch task (not the coordinator).
        sha: [u8; 32],
        ip: Option<String>,
    },
    Other(Kind),
    Disallowed,
}

enum Done {
    Fetched(FrontierEntry, Result<Fetch, Error>),
    Hashed([u8; 32], Result<MediaHashes, String>),
}

#[derive(Default)]
struct Host {
    in_flight: usize,
    next_start: Option<Instant>,
    robots: Arc<OnceCell<Rules>>,
}

/// A fixed set of threads, one per core, for the crawl's CPU work (hashing media, parsing pages):
/// off the async runtime, so fetching goes on while they work, and always the same few threads,
/// so each keeps its PDQ hasher and its allocator caches warm instead of tokio's blocking pool
/// starting and retiring threads (and their memory) as the load changes. Jobs wait in one FIFO
/// queue; the threads end when the last handle is dropped.
#[derive(Clone)]
struct CpuPool {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl CpuPool {
    fn new(threads: usize) -> CpuPool {
        let (jobs, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("vigil-crawl-cpu-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held while waiting only; the job runs without it.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "starting a crawl CPU thread");
            }
        }
        CpuPool { jobs }
    }

    /// Runs `f` on one of the threads; a panic in `f` is an error, not a lost thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Box::new(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r.map_err(|_| "internal error (a panic)".to_string()));
        });
        self.jobs
            .send(job)
            .map_err(|_| "the crawl's CPU threads are gone".to_string())?;
        rx.await
            .map_err(|_| "the crawl's CPU threads are gone".to_string())?
    }
}

/// Content fetched and waiting for a hashing thread.
struct ToHash {
    sha: [u8; 32],
    kind: Kind,
    body: Vec<u8>,
    name: String,
}

/// Results gathered before they are written to the frontier in one step (one transaction, one
/// sync to disk, instead of one per URL: with SQLite's `synchronous = FULL` the sync is what a
/// URL's result costs).
#[derive(Default)]
struct Batch {
    items: Vec<(FrontierEntry, Completion)>,
    /// Links in `items` (candidates: some may be known already), counted against the page limit
    /// until written.
    links: u64,
    since: Option<Instant>,
}

/// Results written at once at most.
const BATCH: usize = 64;
/// Results wait this long at most before they are written.
const BATCH_AGE: Duration = Duration::from_secs(1);

impl Batch {
    fn push(&mut self, entry: FrontierEntry, c: Completion) {
        self.links += c.links.len() as u64;
        self.since.get_or_insert_with(Instant::now);
        self.items.push((entry, c));
    }

    /// Content hashed and not yet written.
    fn content(&self, sha: &[u8; 32]) -> Option<&CrawlContent> {
        self.items
            .iter()
            .find_map(|(_, c)| c.content.as_ref().filter(|x| &x.sha256 == sha))
    }

    /// Writes the gathered results; returns how many links were new.
    async fn flush<F: Frontier>(&mut self, frontier: &mut F) -> Result<u64, Error> {
        self.links = 0;
        self.since = None;
        if self.items.is_empty() {
            return Ok(0);
        }
        Ok(frontier
            .complete_many(std::mem::take(&mut self.items))
            .await? as u64)
    }
}

/// Fetched files looked up in the store at once at most.
const CHECK: usize = 16;

/// Completes a media URL whose content was hashed before (in this run or an earlier one).
fn complete_known(
    batch: &mut Batch,
    report: &mut Report,
    entry: FrontierEntry,
    ip: Option<String>,
    content: &CrawlContent,
) {
    let matches: Vec<Match> = serde_json::from_str(&content.matches).unwrap_or_default();
    let c = completion(&entry, ip, content, &matches, false);
    report.findings += c.findings.len() as u64;
    batch.push(entry, c);
}

/// A media URL waiting for its content to be hashed.
struct Waiting {
    entry: FrontierEntry,
    ip: Option<String>,
}

/// Crawls from `seeds` until the frontier is empty (or `stop_after`), matching media against
/// `matcher`'s banks and recording everything in `frontier`.
///
/// Seeds are added at depth 0 (those known already are left as they are, so running again with
/// the same seeds resumes). The scope's "same host" means the seeds' hosts.
pub async fn crawl<F: Frontier>(
    frontier: &mut F,
    seeds: &[Url],
    matcher: &Matcher,
    options: &CrawlOptions,
) -> Result<Report, Error> {
    if options.workers == 0 || options.per_host_concurrency == 0 {
        return Err(Error::Settings(
            "workers and per-host concurrency must be at least 1".into(),
        ));
    }
    let fetcher = Fetcher::new(options.fetch.clone())?;
    let scope = Arc::new(ScopeCheck::new(options.scope.clone(), seeds));
    let mut report = Report::default();

    let requeued = frontier.requeue_in_flight().await?;
    if requeued > 0 {
        tracing::info!(requeued, "resuming: URLs left in flight queued again");
    }
    let mut known = frontier.counts().await?.total() as u64;
    let seed_entries: Vec<NewFrontierEntry> = seeds
        .iter()
        .map(|u| NewFrontierEntry {
            url: u.to_string(),
            host: host_of(u),
            depth: 0,
            parent_url: None,
            media: false,
        })
        .collect();
    known += frontier.push(&seed_entries).await? as u64;

    let mut hosts: HashMap<String, Host> = HashMap::new();
    let mut ready: VecDeque<FrontierEntry> = VecDeque::new();
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut hashing: HashMap<[u8; 32], Vec<Waiting>> = HashMap::new();
    let mut frontier_empty = false;
    let mut stopping = false;
    let mut fetch_tasks = 0usize;
    // Hashing is CPU work, on the CPU pool (one thread per core: more would only take turns on
    // the cores while holding more bodies in memory); what waits for a slot
    // is queued, and while `workers` bodies wait no new fetch starts, so memory stays bounded
    // when fetching outruns hashing.
    // Four jobs per thread are handed over at a time, so that the threads never wait for the
    // coordinator (busy writing a batch, say) to hand over the next.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = CpuPool::new(cores);
    let hash_slots = 4 * cores;
    let mut hash_tasks = 0usize;
    let mut to_hash: VecDeque<ToHash> = VecDeque::new();
    let mut unchecked: Vec<ToHash> = Vec::new();
    let mut batch = Batch::default();

    loop {
        // Fetched files not met in this run are looked up in the store together (one query
        // for up to CHECK of them), as soon as the hashing threads would otherwise run short
        // of work or no more fetches are under way.
        if !unchecked.is_empty()
            && (unchecked.len() >= CHECK.min(options.workers)
                || hash_tasks + to_hash.len() <= cores
                || fetch_tasks == 0)
        {
            let shas: Vec<[u8; 32]> = unchecked.iter().map(|j| j.sha).collect();
            let known: HashMap<[u8; 32], CrawlContent> = frontier
                .contents(&shas)
                .await?
                .into_iter()
                .map(|c| (c.sha256, c))
                .collect();
            for job in unchecked.drain(..) {
                match known.get(&job.sha) {
                    Some(content) => {
                        report.deduplicated += 1;
                        for w in hashing.remove(&job.sha).unwrap_or_default() {
                            complete_known(&mut batch, &mut report, w.entry, w.ip, content);
                        }
                    }
                    None => to_hash.push_back(job),
                }
            }
        }
        while hash_tasks < hash_slots
            && let Some(job) = to_hash.pop_front()
        {
            hash_tasks += 1;
            let (decode, video) = (options.decode, options.video.clone());
            let pool = pool.clone();
            tasks.spawn(async move {
                let ToHash {
                    sha,
                    kind,
                    body,
                    name,
                } = job;
                let r = pool
                    .run(move || media::hash(&body, sha, kind, &name, &decode, &video))
                    .await
                    .unwrap_or_else(|e| Err(format!("hashing failed: {e}")));
                Done::Hashed(sha, r)
            });
        }
        if options.stop_after.is_some_and(|n| report.fetched >= n) {
            stopping = true;
        }
        let starving = !stopping && !frontier_empty && ready.len() < options.workers;
        if batch.items.len() >= BATCH
            || batch.since.is_some_and(|t| t.elapsed() >= BATCH_AGE)
            || (starving && !batch.items.is_empty())
        {
            // Before a take when few entries are ready, so that the links found are there.
            known += batch.flush(frontier).await?;
        }
        if !stopping && !frontier_empty && ready.len() < options.workers * 2 {
            let got = frontier.take(options.workers * 4 - ready.len()).await?;
            frontier_empty = got.is_empty() && ready.is_empty();
            ready.extend(got);
        }

        // Start what politeness allows.
        let now = Instant::now();
        let mut earliest: Option<Instant> = None;
        if !stopping {
            let mut i = 0;
            while i < ready.len()
                && fetch_tasks < options.workers
                && to_hash.len() + unchecked.len() < options.workers
            {
                if options.stop_after.is_some_and(|n| report.fetched >= n) {
                    break;
                }
                let host = hosts.entry(ready[i].host.clone()).or_default();
                let due = host.next_start.is_none_or(|t| t <= now);
                if host.in_flight >= options.per_host_concurrency || !due {
                    if let Some(t) = host.next_start.filter(|t| *t > now) {
                        earliest = Some(earliest.map_or(t, |e| e.min(t)));
                    }
                    i += 1;
                    continue;
                }
                let Some(entry) = ready.remove(i) else { break };
                host.in_flight += 1;
                host.next_start = Some(now + options.delay);
                report.fetched += 1;
                fetch_tasks += 1;
                let robots = options.obey_robots.then(|| host.robots.clone());
                let (fetcher, scope, pool) = (fetcher.clone(), scope.clone(), pool.clone());
                let cap = options.max_links_per_page;
                tasks.spawn(async move {
                    let r = fetch_one(&fetcher, &scope, &pool, robots, &entry, cap).await;
                    Done::Fetched(entry, r)
                });
            }
        }

        if tasks.is_empty() {
            if stopping || (frontier_empty && ready.is_empty()) {
                break;
            }
            if ready.is_empty() {
                // Nothing in flight, nothing taken, but the last take was before the last
                // completion: take again at the top.
                continue;
            }
            if let Some(t) = earliest {
                tokio::time::sleep_until(t).await;
            }
            continue;
        }

        let done = match earliest {
            Some(t) => tokio::select! {
                d = tasks.join_next() => d,
                _ = tokio::time::sleep_until(t) => continue,
            },
            None => tasks.join_next().await,
        };
        let Some(done) = done else { continue };
        // A completion may have queued new links: look at the frontier again.
        frontier_empty = false;
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                // A panicking task is a bug; its entry stays in flight and is queued again next run.
                tracing::error!(error = %e, "a crawl task failed");
                continue;
            }
        };
        match done {
            Done::Fetched(entry, result) => {
                fetch_tasks -= 1;
                if let Some(h) = hosts.get_mut(&entry.host) {
                    h.in_flight -= 1;
                }
                match result {
                    Err(e) => {
                        fail(frontier, &mut report, &entry, &error_chain(&e)).await?;
                    }
                    Ok(Fetch::Disallowed) => {
                        fail(frontier, &mut report, &entry, "disallowed by robots.txt").await?;
                    }
                    Ok(Fetch::Other(kind)) => {
                        let c = Completion {
                            kind: kind.name().to_string(),
                            ..Completion::default()
                        };
                        batch.push(entry, c);
                    }
                    Ok(Fetch::Page { links, capped }) => {
                        report.pages += 1;
                        report.links_capped += u64::from(capped);
                        let depth = entry.depth + 1;
                        let mut new = Vec::new();
                        for l in links {
                            if scope.check(&l.url, depth as u32).is_some() {
                                continue;
                            }
                            new.push(NewFrontierEntry {
                                url: l.url.to_string(),
                                host: host_of(&l.url),
                                depth,
                                parent_url: Some(entry.url.clone()),
                                media: l.media,
                            });
                        }
                        // The page limit counts URLs admitted; links already known cost
                        // nothing, but telling them apart needs the frontier, so the limit is
                        // applied to the candidates (conservative: never over the limit).
                        let room = options.max_pages.saturating_sub(known + batch.links) as usize;
                        if new.len() > room {
                            report.over_max_pages += (new.len() - room) as u64;
                            new.truncate(room);
                        }
                        let c = Completion {
                            kind: "page".into(),
                            links: new,
                            ..Completion::default()
                        };
                        batch.push(entry, c);
                    }
                    Ok(Fetch::Media {
                        kind,
                        body,
                        sha,
                        ip,
                    }) => {
                        if let Some(waiting) = hashing.get_mut(&sha) {
                            report.deduplicated += 1;
                            waiting.push(Waiting { entry, ip });
                        } else if let Some(content) = batch.content(&sha).cloned() {
                            report.deduplicated += 1;
                            complete_known(&mut batch, &mut report, entry, ip, &content);
                        } else {
                            // Known to the store from before? Asked for several at once below.
                            let name = entry.url.clone();
                            hashing.insert(sha, vec![Waiting { entry, ip }]);
                            unchecked.push(ToHash {
                                sha,
                                kind,
                                body,
                                name,
                            });
                        }
                    }
                }
            }
            Done::Hashed(sha, result) => {
                hash_tasks -= 1;
                let waiting = hashing.remove(&sha).unwrap_or_default();
                match result {
                    Err(e) => {
                        for w in waiting {
                            fail(frontier, &mut report, &w.entry, &e).await?;
                        }
                    }
                    Ok(h) => {
                        report.hashed += 1;
                        let matches = match_media(matcher, &h);
                        let content = CrawlContent {
                            sha256: h.sha256,
                            kind: h.kind.to_string(),
                            md5: h.md5.clone(),
                            sha1: h.sha1.clone(),
                            pdq: h.pdq.map(|(p, _)| p.to_hex()),
                            quality: h.pdq.map(|(_, q)| i64::from(q)),
                            frames: h.frames.as_ref().map(|f| f.len() as i64),
                            matches: serde_json::to_string(&matches)
                                .unwrap_or_else(|_| "[]".into()),
                        };
                        for (i, w) in waiting.into_iter().enumerate() {
                            let c = completion(&w.entry, w.ip, &content, &matches, i == 0);
                            report.findings += c.findings.len() as u64;
                            batch.push(w.entry, c);
                        }
                    }
                }
            }
        }
    }

    batch.flush(frontier).await?;
    // Entries taken but not started (a stop) go back to the queue for the next run.
    frontier.requeue_in_flight().await?;
    let counts = frontier.counts().await?;
    report.finished = counts.queued == 0 && counts.fetching == 0;
    if report.finished {
        frontier.finish().await?;
    }
    Ok(report)
}

async fn fail<F: Frontier>(
    frontier: &mut F,
    report: &mut Report,
    entry: &FrontierEntry,
    error: &str,
) -> Result<(), Error> {
    tracing::info!(url = %entry.url, error, "fetch failed");
    report.failed += 1;
    if report.errors.len() < MAX_REPORTED_ERRORS {
        report.errors.push((entry.url.clone(), error.to_string()));
    }
    frontier.fail(entry, error).await
}

/// An error with its causes, `: `-separated (reqwest's own message does not say whether TLS,
/// DNS or the connection failed; its sources do).
fn error_chain(e: &Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    // The top message of `Request` already shows its source's own message.
    if matches!(e, Error::Request { .. }) {
        source = source.and_then(std::error::Error::source);
    }
    while let Some(cause) = source {
        let msg = cause.to_string();
        if !s.ends_with(&msg) {
            s += ": ";
            s += &msg;
        }
        source = cause.source();
    }
    s
}

/// The completion of a media URL whose content is `content` (hashed now if `first`).
fn completion(
    entry: &FrontierEntry,
    ip: Option<String>,
    content: &CrawlContent,
    matches: &[Match],
    first: bool,
) -> Completion {
    let findings = matches
        .iter()
        .map(|m| NewFinding {
            url: entry.url.clone(),
            page_url: entry.parent_url.clone(),
            host: entry.host.clone(),
            ip: ip.clone(),
            kind: content.kind.clone(),
            sha256: content.sha256,
            md5: content.md5.clone(),
            sha1: content.sha1.clone(),
            pdq: content.pdq.clone(),
            bank: m.bank.clone(),
            content_id: m.content_id,
            signal_kind: m.signal_kind.clone(),
            distance: m.distance,
        })
        .collect();
    Completion {
        kind: content.kind.clone(),
        links: Vec::new(),
        content: first.then(|| content.clone()),
        content_sha256: Some(content.sha256),
        findings,
    }
}

/// Matches a media file's hashes against the banks: PDQ (or vPDQ) and the three digests.
/// As everywhere in Vigil, a hit in an allow bank suppresses every hit of the file.
fn match_media(matcher: &Matcher, h: &MediaHashes) -> Vec<Match> {
    let mut outcomes: Vec<Outcome> = Vec::new();
    if let Some((pdq, _)) = &h.pdq {
        outcomes.push(matcher.match_pdq(pdq));
    }
    if let Some(frames) = &h.frames {
        outcomes.push(matcher.match_video(frames));
    }
    for (kind, value) in [
        (SignalKind::Md5, &h.md5),
        (SignalKind::Sha1, &h.sha1),
        (SignalKind::Sha256, &hex::encode(h.sha256)),
    ] {
        if let Ok(s) = Signal::new(kind, value) {
            outcomes.push(matcher.match_signal(&s));
        }
    }
    if outcomes.iter().any(|o| !o.allowed_by.is_empty()) {
        return Vec::new();
    }
    // One match per bank item, at its smallest distance.
    let mut best: HashMap<(String, i64), &Hit> = HashMap::new();
    for hit in outcomes.iter().flat_map(|o| &o.hits).filter(|h| h.active) {
        let key = (hit.bank.clone(), hit.content_id);
        match best.get(&key) {
            Some(b) if b.distance <= hit.distance => {}
            _ => {
                best.insert(key, hit);
            }
        }
    }
    let mut out: Vec<Match> = best
        .into_values()
        .map(|hit| Match {
            bank: hit.bank.clone(),
            content_id: hit.content_id,
            signal_kind: hit.signal.kind().name().to_string(),
            distance: i64::from(hit.distance),
        })
        .collect();
    out.sort_by(|a, b| (&a.bank, a.content_id).cmp(&(&b.bank, b.content_id)));
    out
}

/// Fetches one entry and says what it is: robots first (when asked), then the fetch, then
/// link extraction for a page (on the CPU pool: parsing is CPU work).
async fn fetch_one(
    fetcher: &Fetcher,
    scope: &ScopeCheck,
    pool: &CpuPool,
    robots: Option<Arc<OnceCell<Rules>>>,
    entry: &FrontierEntry,
    cap: usize,
) -> Result<Fetch, Error> {
    let url = crate::scope::normalize(&entry.url)?;
    // Refused before robots.txt, which would otherwise fail first and hide why.
    fetcher.check(&url)?;
    if let Some(cell) = robots {
        let rules = cell
            .get_or_init(|| robots::fetch_rules(fetcher, &url))
            .await;
        if let Rules::Refused(why) = rules {
            return Err(Error::Refused {
                url: url.to_string(),
                why: why.clone(),
            });
        }
        if !rules.allowed(&url) {
            return Ok(Fetch::Disallowed);
        }
    }
    let follow = |u: &Url| scope.host_allowed(u);
    let fetched = fetcher.fetch(&url, &follow).await?;
    match fetched.kind {
        Kind::Html => {
            let base = fetched.url.clone();
            let body = fetched.body;
            let (links, capped) = pool
                .run(move || {
                    let text = String::from_utf8_lossy(&body);
                    links::extract(&text, &base, cap)
                })
                .await
                .map_err(|e| Error::Media {
                    url: url.to_string(),
                    why: format!("link extraction failed: {e}"),
                })?;
            Ok(Fetch::Page { links, capped })
        }
        Kind::Image(_) | Kind::Video(_) => Ok(Fetch::Media {
            kind: fetched.kind,
            sha: media::sha256(&fetched.body),
            body: fetched.body,
            ip: fetched.ip.map(|i| i.to_string()),
        }),
        Kind::Other => Ok(Fetch::Other(Kind::Other)),
    }
}

#[cfg(test)]
mod tests {
    use super::CpuPool;

    #[tokio::test]
    async fn the_cpu_pool_runs_jobs_on_its_threads_and_outlives_a_panic() {
        let pool = CpuPool::new(2);
        assert_eq!(pool.run(|| 2 + 3).await, Ok(5));
        let panicked: Result<(), String> = pool.run(|| panic!("a bug in a job")).await;
        assert_eq!(panicked, Err("internal error (a panic)".to_string()));
        // Both threads are still there and every job ran on one of them, none on the caller's.
        let jobs: Vec<_> = (0..8)
            .map(|_| pool.run(|| std::thread::current().name().map(str::to_string)))
            .collect();
        let mut names = std::collections::BTreeSet::new();
        for job in jobs {
            names.insert(job.await.unwrap().unwrap());
        }
        assert!(
            names.iter().all(|n| n.starts_with("vigil-crawl-cpu-")),
            "{names:?}"
        );
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }
}
