//! The frontier: the URLs a crawl knows, each queued, being fetched, done or failed, behind the
//! [`Frontier`] trait so that where it lives can change without touching the crawler.
//!
//! [`MemoryFrontier`] keeps it in this process (tests, one-off crawls); [`StoreFrontier`] keeps
//! it in the Vigil store (SQLite or PostgreSQL), so a crawl stopped anywhere resumes where it
//! was. A shared broker (NATS JetStream, a PostgreSQL queue shared by several machines) would be
//! one more implementation: `take` is a lease (an entry taken and never completed comes back with
//! [`Frontier::requeue_in_flight`], as a message never acknowledged is redelivered), and
//! `complete` writes an entry's result and its new links in one step, the unit a broker
//! acknowledges.
//!
//! The types crossing the trait are the store's plain data types ([`NewFrontierEntry`],
//! [`FrontierEntry`], [`Completion`], [`CrawlContent`]): what a URL led to, never media.

use std::collections::{BTreeSet, HashMap};

use vigil_store::{
    Completion, CrawlContent, FrontierCounts, FrontierEntry, NewFinding, NewFrontierEntry, Store,
};

use crate::Error;

/// Where a crawl's URLs and results are kept.
///
/// The crawler calls it from one task only (its coordinator), so implementations need no
/// internal locking against the crawler itself.
#[allow(async_fn_in_trait)]
pub trait Frontier {
    /// Adds URLs (queued) unless known already, whatever their state; returns how many were new.
    async fn push(&mut self, entries: &[NewFrontierEntry]) -> Result<usize, Error>;
    /// Takes up to `limit` queued entries, oldest first, marking them in flight.
    async fn take(&mut self, limit: usize) -> Result<Vec<FrontierEntry>, Error>;
    /// Marks an entry done, with its links, its content and its findings, as one step; returns
    /// how many links were new.
    async fn complete(&mut self, entry: &FrontierEntry, c: &Completion) -> Result<usize, Error>;
    /// Completes several entries as [`Frontier::complete`] does each, in order; returns how many
    /// links were new in all. An implementation may write them in one step (the store: one
    /// transaction); the crawler calls this with results it has gathered for a moment.
    async fn complete_many(
        &mut self,
        items: Vec<(FrontierEntry, Completion)>,
    ) -> Result<usize, Error> {
        let mut new = 0;
        for (entry, c) in &items {
            new += self.complete(entry, c).await?;
        }
        Ok(new)
    }
    /// Marks an entry failed for good, with the error.
    async fn fail(&mut self, entry: &FrontierEntry, error: &str) -> Result<(), Error>;
    /// Queues again every entry taken and not completed; returns how many.
    async fn requeue_in_flight(&mut self) -> Result<u64, Error>;
    /// The content met before among `sha256s` (so the same bytes are hashed once), in any
    /// order; one call for many, as the crawler asks for several fetched files at a time.
    async fn contents(&mut self, sha256s: &[[u8; 32]]) -> Result<Vec<CrawlContent>, Error>;
    /// The number of entries per state.
    async fn counts(&mut self) -> Result<FrontierCounts, Error>;
    /// Records that the frontier was found empty.
    async fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Queued,
    Fetching,
    Done,
    Failed,
}

/// A frontier in memory; also keeps the findings and failures, for the caller to read.
#[derive(Debug, Default)]
pub struct MemoryFrontier {
    entries: Vec<(FrontierEntry, State)>,
    by_url: HashMap<String, usize>,
    /// Queued entries by rank (0: media, 1: the rest), each in the order found; taken as the
    /// store takes them: media first.
    queues: [BTreeSet<usize>; 2],
    ranks: Vec<u8>,
    content: HashMap<[u8; 32], CrawlContent>,
    /// Findings recorded, in order.
    pub findings: Vec<NewFinding>,
    /// Failed URLs with their errors, in order.
    pub failures: Vec<(String, String)>,
}

impl MemoryFrontier {
    /// An empty frontier.
    pub fn new() -> MemoryFrontier {
        MemoryFrontier::default()
    }
}

impl Frontier for MemoryFrontier {
    async fn push(&mut self, entries: &[NewFrontierEntry]) -> Result<usize, Error> {
        let mut n = 0;
        for e in entries {
            if self.by_url.contains_key(&e.url) {
                continue;
            }
            let i = self.entries.len();
            self.entries.push((
                FrontierEntry {
                    id: i as i64,
                    url: e.url.clone(),
                    host: e.host.clone(),
                    depth: e.depth,
                    parent_url: e.parent_url.clone(),
                    attempts: 0,
                },
                State::Queued,
            ));
            self.by_url.insert(e.url.clone(), i);
            let rank = u8::from(!e.media);
            self.ranks.push(rank);
            self.queues[usize::from(rank)].insert(i);
            n += 1;
        }
        Ok(n)
    }

    async fn take(&mut self, limit: usize) -> Result<Vec<FrontierEntry>, Error> {
        let mut out = Vec::new();
        for lane in &mut self.queues {
            while out.len() < limit
                && let Some(i) = lane.pop_first()
            {
                self.entries[i].1 = State::Fetching;
                out.push(self.entries[i].0.clone());
            }
        }
        Ok(out)
    }

    async fn complete(&mut self, entry: &FrontierEntry, c: &Completion) -> Result<usize, Error> {
        if let Some(e) = self.entries.get_mut(entry.id as usize) {
            e.1 = State::Done;
        }
        let new = self.push(&c.links).await?;
        if let Some(content) = &c.content {
            self.content
                .entry(content.sha256)
                .or_insert_with(|| content.clone());
        }
        self.findings.extend(c.findings.iter().cloned());
        Ok(new)
    }

    async fn fail(&mut self, entry: &FrontierEntry, error: &str) -> Result<(), Error> {
        if let Some(e) = self.entries.get_mut(entry.id as usize) {
            e.1 = State::Failed;
            e.0.attempts += 1;
        }
        self.failures.push((entry.url.clone(), error.to_string()));
        Ok(())
    }

    async fn requeue_in_flight(&mut self) -> Result<u64, Error> {
        let mut n = 0;
        for (i, e) in self.entries.iter_mut().enumerate() {
            if e.1 == State::Fetching {
                e.1 = State::Queued;
                self.queues[usize::from(self.ranks[i])].insert(i);
                n += 1;
            }
        }
        Ok(n)
    }

    async fn contents(&mut self, sha256s: &[[u8; 32]]) -> Result<Vec<CrawlContent>, Error> {
        Ok(sha256s
            .iter()
            .filter_map(|s| self.content.get(s).cloned())
            .collect())
    }

    async fn counts(&mut self) -> Result<FrontierCounts, Error> {
        let mut c = FrontierCounts::default();
        for (_, s) in &self.entries {
            match s {
                State::Queued => c.queued += 1,
                State::Fetching => c.fetching += 1,
                State::Done => c.done += 1,
                State::Failed => c.failed += 1,
            }
        }
        Ok(c)
    }
}

/// A frontier kept in the Vigil store, for one named crawl.
#[derive(Debug, Clone)]
pub struct StoreFrontier {
    store: Store,
    crawl_id: i64,
}

impl StoreFrontier {
    /// Opens the crawl named `name` (created with `settings` if new). Returns the frontier and
    /// whether the crawl existed (is being resumed).
    pub async fn open(
        store: Store,
        name: &str,
        settings: &str,
    ) -> Result<(StoreFrontier, bool), Error> {
        let (crawl, resumed) = store.crawl_open(name, settings).await?;
        Ok((
            StoreFrontier {
                store,
                crawl_id: crawl.id,
            },
            resumed,
        ))
    }

    /// The crawl's row id.
    pub fn crawl_id(&self) -> i64 {
        self.crawl_id
    }
}

impl Frontier for StoreFrontier {
    async fn push(&mut self, entries: &[NewFrontierEntry]) -> Result<usize, Error> {
        Ok(self.store.crawl_push(self.crawl_id, entries).await?)
    }

    async fn take(&mut self, limit: usize) -> Result<Vec<FrontierEntry>, Error> {
        Ok(self.store.crawl_take(self.crawl_id, limit).await?)
    }

    async fn complete(&mut self, entry: &FrontierEntry, c: &Completion) -> Result<usize, Error> {
        Ok(self
            .store
            .crawl_complete(self.crawl_id, entry.id, c)
            .await?)
    }

    async fn complete_many(
        &mut self,
        items: Vec<(FrontierEntry, Completion)>,
    ) -> Result<usize, Error> {
        let items: Vec<(i64, Completion)> = items.into_iter().map(|(e, c)| (e.id, c)).collect();
        Ok(self
            .store
            .crawl_complete_many(self.crawl_id, &items)
            .await?)
    }

    async fn fail(&mut self, entry: &FrontierEntry, error: &str) -> Result<(), Error> {
        Ok(self
            .store
            .crawl_fail(self.crawl_id, entry.id, error, false)
            .await?)
    }

    async fn requeue_in_flight(&mut self) -> Result<u64, Error> {
        Ok(self.store.crawl_requeue_in_flight(self.crawl_id).await?)
    }

    async fn contents(&mut self, sha256s: &[[u8; 32]]) -> Result<Vec<CrawlContent>, Error> {
        Ok(self.store.crawl_contents(sha256s).await?)
    }

    async fn counts(&mut self) -> Result<FrontierCounts, Error> {
        Ok(self.store.crawl_counts(self.crawl_id).await?)
    }

    async fn finish(&mut self) -> Result<(), Error> {
        Ok(self.store.crawl_finish(self.crawl_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, media: bool) -> NewFrontierEntry {
        NewFrontierEntry {
            url: format!("http://site.test{path}"),
            host: "site.test".into(),
            depth: 1,
            parent_url: None,
            media,
        }
    }

    /// The store's order (migration 17): media first, each group in the order found, also
    /// after a requeue.
    #[tokio::test]
    async fn the_memory_frontier_takes_media_first_as_the_store_does() {
        let mut f = MemoryFrontier::new();
        let es = [
            entry("/0", false),
            entry("/1", true),
            entry("/2", false),
            entry("/3", true),
            entry("/1", false),
        ];
        assert_eq!(f.push(&es).await.unwrap(), 4);
        let paths = |t: Vec<FrontierEntry>| -> Vec<String> {
            t.into_iter().map(|e| e.url[16..].to_string()).collect()
        };
        assert_eq!(paths(f.take(1).await.unwrap()), ["/1"]);
        f.push(&[entry("/late", true)]).await.unwrap();
        assert_eq!(paths(f.take(2).await.unwrap()), ["/3", "/late"]);
        assert_eq!(f.requeue_in_flight().await.unwrap(), 3);
        assert_eq!(
            paths(f.take(10).await.unwrap()),
            ["/1", "/3", "/late", "/0", "/2"]
        );
    }
}
