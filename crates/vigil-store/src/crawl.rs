//! The crawler's durable state (migration 7): crawls, their frontier, the media content they
//! hashed and their findings.
//!
//! The crawler (`vigil-crawl`) keeps its frontier here so that a crawl stopped anywhere resumes
//! where it was: every URL is one `crawl_frontier` row, unique per crawl (the URL
//! de-duplication), moving `queued` → `fetching` → `done` | `failed`. Completing a URL writes, in
//! one transaction, its new state, the links it led to, the content it hashed and the findings it
//! made, so a URL is either wholly done or still to do. Rows left `fetching` by a process that
//! died are queued again by [`Store::crawl_requeue_in_flight`] when the crawl resumes (at least
//! once; exactly once when the crawl was stopped cleanly).
//!
//! Media bytes are never stored: `crawl_content` keeps a fetched file's digests, PDQ hash and
//! what it matched, keyed by SHA-256, so the same bytes met again (at another URL, in another
//! crawl) are not hashed again.
//!
//! Removal notices (migration 9) are recorded as sent or failed with the findings each covered
//! ([`Store::crawl_notice_record`]); [`takedown`] turns findings and notices into the takedown
//! report per host and provider (time to removal by the nearest-rank percentile,
//! [`nearest_rank`]).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Error, ROWS, Store, now_ms, values};

/// A crawl: a name, its settings (JSON, as the crawler wrote them) and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crawl {
    /// Row id.
    pub id: i64,
    /// Unique name (a crawl started again under the same name resumes).
    pub name: String,
    /// Settings as JSON text (scope, limits), written when the crawl was created.
    pub settings: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
    /// Time of the last change, ms since the Unix epoch.
    pub updated_at: i64,
    /// When the frontier was last found empty, if it was.
    pub finished_at: Option<i64>,
}

/// A URL to add to a crawl's frontier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFrontierEntry {
    /// The normalised URL (the de-duplication key).
    pub url: String,
    /// Its host (for politeness and reports).
    pub host: String,
    /// Links followed from a seed (seeds are 0).
    pub depth: i64,
    /// The page it was found on (none for seeds).
    pub parent_url: Option<String>,
    /// Found where media is expected (`img src`, `srcset`, `poster`, CSS `url()`…): taken
    /// before the other queued entries (migration 17's rank 0), so that hashing starts with the
    /// first pages and the queue of media stays short.
    pub media: bool,
}

/// A frontier entry taken to be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontierEntry {
    /// Row id.
    pub id: i64,
    /// The URL.
    pub url: String,
    /// Its host.
    pub host: String,
    /// Its depth.
    pub depth: i64,
    /// The page it was found on.
    pub parent_url: Option<String>,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// Media content the crawler hashed, keyed by SHA-256 (never the bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawlContent {
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// `image` or `video`.
    pub kind: String,
    /// MD5, lowercase hex.
    pub md5: String,
    /// SHA-1, lowercase hex.
    pub sha1: String,
    /// PDQ hash (hex) of an image.
    pub pdq: Option<String>,
    /// PDQ quality of an image.
    pub quality: Option<i64>,
    /// Number of vPDQ frames of a video.
    pub frames: Option<i64>,
    /// What it matched when it was hashed, as JSON (the crawler's format).
    pub matches: String,
}

/// A finding to record: a fetched media file that matched a bank item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    /// The media's URL.
    pub url: String,
    /// The page it was found on.
    pub page_url: Option<String>,
    /// The media URL's host.
    pub host: String,
    /// The IP address the media was fetched from, when known (not through a proxy).
    pub ip: Option<String>,
    /// `image` or `video`.
    pub kind: String,
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// MD5, hex.
    pub md5: String,
    /// SHA-1, hex.
    pub sha1: String,
    /// PDQ hash, hex (images).
    pub pdq: Option<String>,
    /// The bank matched.
    pub bank: String,
    /// The bank item matched.
    pub content_id: i64,
    /// The kind of the signal that matched (`pdq`, `md5`, `vpdq`, …).
    pub signal_kind: String,
    /// Hamming distance (0 for exact kinds).
    pub distance: i64,
}

/// A recorded finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Row id.
    pub id: i64,
    /// The crawl's name.
    pub crawl: String,
    /// When it was recorded, ms since the Unix epoch.
    pub found_at: i64,
    /// When it was last re-checked and found still up.
    pub checked_at: Option<i64>,
    /// When a re-check first found it gone.
    pub removed_at: Option<i64>,
    /// Everything else as recorded.
    pub finding: NewFinding,
}

/// What a fetched URL came to, written with its completion in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// `page`, `image`, `video` or `other`.
    pub kind: String,
    /// Links found (de-duplicated against the frontier by URL).
    pub links: Vec<NewFrontierEntry>,
    /// Content hashed for the first time (for others: `content_sha256` only).
    pub content: Option<CrawlContent>,
    /// SHA-256 of the media at this URL.
    pub content_sha256: Option<[u8; 32]>,
    /// Matches found at this URL.
    pub findings: Vec<NewFinding>,
}

/// Entries of a crawl's frontier per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrontierCounts {
    /// Waiting to be fetched.
    pub queued: i64,
    /// Taken, not yet completed.
    pub fetching: i64,
    /// Fetched and processed.
    pub done: i64,
    /// Given up on.
    pub failed: i64,
}

impl FrontierCounts {
    /// Every URL the crawl knows.
    pub fn total(&self) -> i64 {
        self.queued + self.fetching + self.done + self.failed
    }
}

fn crawl_from_row(r: &AnyRow) -> Result<Crawl, Error> {
    Ok(Crawl {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        settings: r.try_get(2)?,
        created_at: r.try_get(3)?,
        updated_at: r.try_get(4)?,
        finished_at: r.try_get(5)?,
    })
}

fn sha(v: Vec<u8>) -> Result<[u8; 32], Error> {
    v.try_into()
        .map_err(|_| Error::Invalid("a stored SHA-256 is not 32 bytes".into()))
}

const CRAWL_COLUMNS: &str = "id, name, settings, created_at, updated_at, finished_at";

impl Store {
    /// The crawl named `name`, creating it with `settings` if there is none. Returns the crawl
    /// and whether it existed already (a resumed crawl keeps its first settings).
    pub async fn crawl_open(&self, name: &str, settings: &str) -> Result<(Crawl, bool), Error> {
        if name.is_empty() {
            return Err(Error::Invalid("a crawl needs a name".into()));
        }
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO crawls (name, settings, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(settings)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let crawl = self
            .crawl(name)
            .await?
            .ok_or_else(|| Error::Invalid(format!("crawl {name:?} vanished while opened")))?;
        Ok((crawl, inserted == 0))
    }

    /// The crawl named `name`, if any.
    pub async fn crawl(&self, name: &str) -> Result<Option<Crawl>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {CRAWL_COLUMNS} FROM crawls WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(crawl_from_row).transpose()
    }

    /// Every crawl, by name.
    pub async fn crawls(&self) -> Result<Vec<Crawl>, Error> {
        let rows = sqlx::query(&format!("SELECT {CRAWL_COLUMNS} FROM crawls ORDER BY name"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(crawl_from_row).collect()
    }

    /// Adds URLs to a crawl's frontier (queued); those it knows already are left as they are.
    /// Returns how many were new.
    pub async fn crawl_push(
        &self,
        crawl_id: i64,
        entries: &[NewFrontierEntry],
    ) -> Result<usize, Error> {
        let mut tx = self.pool.begin().await?;
        let n = push_in(&mut tx, self.backend(), crawl_id, entries, now_ms()).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Queues again the entries left `fetching` (by a process that stopped before completing
    /// them). Returns how many.
    pub async fn crawl_requeue_in_flight(&self, crawl_id: i64) -> Result<u64, Error> {
        Ok(sqlx::query(
            "UPDATE crawl_frontier SET state = 'queued', updated_at = $2 \
             WHERE crawl_id = $1 AND state = 'fetching'",
        )
        .bind(crawl_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Takes up to `limit` queued entries (those found where media is expected first, then the
    /// rest; each in the order found) and marks them `fetching`.
    pub async fn crawl_take(
        &self,
        crawl_id: i64,
        limit: usize,
    ) -> Result<Vec<FrontierEntry>, Error> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        // A write first, so SQLite takes its write lock now rather than failing to upgrade.
        sqlx::query("UPDATE crawls SET updated_at = $2 WHERE id = $1")
            .bind(crawl_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT id, url, host, depth, parent_url, attempts FROM crawl_frontier \
             WHERE crawl_id = $1 AND state = 'queued' ORDER BY rank, id LIMIT $2",
        )
        .bind(crawl_id)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(FrontierEntry {
                id: r.try_get(0)?,
                url: r.try_get(1)?,
                host: r.try_get(2)?,
                depth: r.try_get(3)?,
                parent_url: r.try_get(4)?,
                attempts: r.try_get(5)?,
            });
        }
        // One statement for the lot (the ids are integers read just above, not outside input).
        if !out.is_empty() {
            let ids: Vec<String> = out.iter().map(|e| e.id.to_string()).collect();
            sqlx::query(&format!(
                "UPDATE crawl_frontier SET state = 'fetching', updated_at = $1 WHERE id IN ({})",
                ids.join(",")
            ))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Completes an entry: marks it done and writes its links, its content and its findings,
    /// all in one transaction. Returns how many of the links were new to the frontier.
    pub async fn crawl_complete(
        &self,
        crawl_id: i64,
        entry_id: i64,
        c: &Completion,
    ) -> Result<usize, Error> {
        let mut tx = self.pool.begin().await?;
        let items = [(entry_id, c.clone())];
        let new_links =
            complete_many_in(&mut tx, self.backend(), crawl_id, &items, now_ms()).await?;
        tx.commit().await?;
        Ok(new_links)
    }

    /// Completes several entries `(entry id, completion)` as [`Store::crawl_complete`] does
    /// each, in one transaction (one commit, one sync to disk, for many results). Returns how
    /// many links were new to the frontier, in all.
    pub async fn crawl_complete_many(
        &self,
        crawl_id: i64,
        items: &[(i64, Completion)],
    ) -> Result<usize, Error> {
        let mut tx = self.pool.begin().await?;
        let new_links =
            complete_many_in(&mut tx, self.backend(), crawl_id, items, now_ms()).await?;
        tx.commit().await?;
        Ok(new_links)
    }

    /// Records a failed attempt at an entry: queued again if `retry`, else `failed` for good.
    pub async fn crawl_fail(
        &self,
        crawl_id: i64,
        entry_id: i64,
        error: &str,
        retry: bool,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE crawl_frontier SET state = $3, attempts = attempts + 1, error = $4, \
             updated_at = $5 WHERE id = $1 AND crawl_id = $2",
        )
        .bind(entry_id)
        .bind(crawl_id)
        .bind(if retry { "queued" } else { "failed" })
        .bind(error)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a crawl finished (its frontier was found empty) now.
    pub async fn crawl_finish(&self, crawl_id: i64) -> Result<(), Error> {
        let now = now_ms();
        sqlx::query("UPDATE crawls SET finished_at = $2, updated_at = $2 WHERE id = $1")
            .bind(crawl_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The number of a crawl's frontier entries per state.
    pub async fn crawl_counts(&self, crawl_id: i64) -> Result<FrontierCounts, Error> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) FROM crawl_frontier WHERE crawl_id = $1 GROUP BY state",
        )
        .bind(crawl_id)
        .fetch_all(&self.pool)
        .await?;
        let mut c = FrontierCounts::default();
        for r in &rows {
            let state: String = r.try_get(0)?;
            let n: i64 = r.try_get(1)?;
            match state.as_str() {
                "queued" => c.queued = n,
                "fetching" => c.fetching = n,
                "done" => c.done = n,
                _ => c.failed = n,
            }
        }
        Ok(c)
    }

    /// The failed entries of a crawl: `(url, error)`, by URL.
    pub async fn crawl_failures(&self, crawl_id: i64) -> Result<Vec<(String, String)>, Error> {
        let rows = sqlx::query(
            "SELECT url, COALESCE(error, '') FROM crawl_frontier \
             WHERE crawl_id = $1 AND state = 'failed' ORDER BY url",
        )
        .bind(crawl_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Hashed content with this SHA-256, if the crawler met it before.
    pub async fn crawl_content(&self, sha256: &[u8; 32]) -> Result<Option<CrawlContent>, Error> {
        Ok(self.crawl_contents(&[*sha256]).await?.pop())
    }

    /// The content known among `sha256s` (any order; unknown ones are left out), in one query
    /// per [`ROWS`].
    pub async fn crawl_contents(&self, sha256s: &[[u8; 32]]) -> Result<Vec<CrawlContent>, Error> {
        let mut out = Vec::new();
        for chunk in sha256s.chunks(ROWS) {
            let sql = format!(
                "SELECT sha256, kind, md5, sha1, pdq, quality, frames, matches FROM crawl_content \
                 WHERE sha256 IN ({})",
                values(self.backend(), chunk.len(), "?")
            );
            let mut q = sqlx::query(&sql);
            for sha in chunk {
                q = q.bind(sha.to_vec());
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(CrawlContent {
                    sha256: sha(r.try_get(0)?)?,
                    kind: r.try_get(1)?,
                    md5: r.try_get(2)?,
                    sha1: r.try_get(3)?,
                    pdq: r.try_get(4)?,
                    quality: r.try_get(5)?,
                    frames: r.try_get(6)?,
                    matches: r.try_get(7)?,
                });
            }
        }
        Ok(out)
    }

    /// Records a re-check of the findings at `url` (of every crawl) that are not removed yet:
    /// still up (`removed` false: `checked_at` set) or gone (`removed_at` set). Returns how
    /// many findings changed.
    pub async fn crawl_recheck(&self, url: &str, removed: bool) -> Result<u64, Error> {
        self.crawl_recheck_at(url, removed, now_ms()).await
    }

    /// [`Store::crawl_recheck`] at a given time (ms since the Unix epoch).
    pub async fn crawl_recheck_at(&self, url: &str, removed: bool, now: i64) -> Result<u64, Error> {
        let sql = if removed {
            "UPDATE crawl_findings SET removed_at = $2 WHERE url = $1 AND removed_at IS NULL"
        } else {
            "UPDATE crawl_findings SET checked_at = $2 WHERE url = $1 AND removed_at IS NULL"
        };
        Ok(sqlx::query(sql)
            .bind(url)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// The findings of one crawl (by name) or of all, by host, then URL, then bank.
    pub async fn crawl_findings(&self, crawl: Option<&str>) -> Result<Vec<Finding>, Error> {
        let sql = format!(
            "SELECT {FINDING_COLUMNS} FROM crawl_findings f JOIN crawls c ON c.id = f.crawl_id {} \
             ORDER BY f.host, f.url, f.bank, f.content_id, c.name",
            if crawl.is_some() {
                "WHERE c.name = $1"
            } else {
                ""
            }
        );
        let mut q = sqlx::query(&sql);
        if let Some(name) = crawl {
            q = q.bind(name);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(finding_from_row).collect()
    }

    /// One page of a crawl's findings in a stable order (by id, the order they were recorded):
    /// those with an id above `after` (the last id of the previous page), `limit` at most.
    pub async fn crawl_findings_page(
        &self,
        crawl: &str,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Finding>, Error> {
        let sql = format!(
            "SELECT {FINDING_COLUMNS} FROM crawl_findings f JOIN crawls c ON c.id = f.crawl_id \
             WHERE c.name = $1 AND f.id > $2 ORDER BY f.id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(crawl)
            .bind(after.unwrap_or(0))
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(finding_from_row).collect()
    }
}

const FINDING_COLUMNS: &str = "f.id, c.name, f.found_at, f.url, f.page_url, f.host, f.ip, f.kind, \
     f.sha256, f.md5, f.sha1, f.pdq, f.bank, f.content_id, f.signal_kind, f.distance, \
     f.checked_at, f.removed_at";

fn finding_from_row(r: &AnyRow) -> Result<Finding, Error> {
    Ok(Finding {
        id: r.try_get(0)?,
        crawl: r.try_get(1)?,
        found_at: r.try_get(2)?,
        checked_at: r.try_get(16)?,
        removed_at: r.try_get(17)?,
        finding: NewFinding {
            url: r.try_get(3)?,
            page_url: r.try_get(4)?,
            host: r.try_get(5)?,
            ip: r.try_get(6)?,
            kind: r.try_get(7)?,
            sha256: sha(r.try_get(8)?)?,
            md5: r.try_get(9)?,
            sha1: r.try_get(10)?,
            pdq: r.try_get(11)?,
            bank: r.try_get(12)?,
            content_id: r.try_get(13)?,
            signal_kind: r.try_get(14)?,
            distance: r.try_get(15)?,
        },
    })
}

/// Completions inside `tx` (see [`Store::crawl_complete_many`]), with a few multi-row
/// statements for the lot instead of several per entry (each statement is a round trip to the
/// driver's thread): the entries' states by `UPDATE … FROM (VALUES …)`, every link in one
/// `INSERT` (in the entries' order, so the first entry to find a link is its parent, as one by
/// one), the new content and the findings likewise; [`ROWS`] rows a statement, positional
/// parameters ([`values`]). Returns how many links were new.
async fn complete_many_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    be: Backend,
    crawl_id: i64,
    items: &[(i64, Completion)],
    now: i64,
) -> Result<usize, Error> {
    for chunk in items.chunks(ROWS) {
        // SQLite (3.33+) and PostgreSQL both name a VALUES list's columns column1, column2…
        let sql = format!(
            "UPDATE crawl_frontier SET state = 'done', kind = v.column2, \
             content_sha256 = v.column3, error = NULL, updated_at = v.column4 FROM (VALUES {}) \
             AS v WHERE crawl_frontier.id = v.column1 AND crawl_frontier.crawl_id = v.column5",
            values(be, chunk.len(), "(?, ?, ?, ?, ?)")
        );
        let mut q = sqlx::query(&sql);
        for (id, c) in chunk {
            q = q
                .bind(*id)
                .bind(&c.kind)
                .bind(c.content_sha256.map(|s| s.to_vec()))
                .bind(now)
                .bind(crawl_id);
        }
        q.execute(&mut **tx).await?;
    }

    let links: Vec<NewFrontierEntry> = items
        .iter()
        .flat_map(|(_, c)| c.links.iter().cloned())
        .collect();
    let new_links = push_in(tx, be, crawl_id, &links, now).await?;

    let mut seen = std::collections::HashSet::new();
    let contents: Vec<&CrawlContent> = items
        .iter()
        .filter_map(|(_, c)| c.content.as_ref())
        .filter(|c| seen.insert(c.sha256))
        .collect();
    for chunk in contents.chunks(ROWS) {
        let sql = format!(
            "INSERT INTO crawl_content (sha256, kind, md5, sha1, pdq, quality, frames, matches, \
             hashed_at) VALUES {} ON CONFLICT (sha256) DO NOTHING",
            values(be, chunk.len(), "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
        );
        let mut q = sqlx::query(&sql);
        for content in chunk {
            q = q
                .bind(content.sha256.to_vec())
                .bind(&content.kind)
                .bind(&content.md5)
                .bind(&content.sha1)
                .bind(&content.pdq)
                .bind(content.quality)
                .bind(content.frames)
                .bind(&content.matches)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }

    let findings: Vec<&NewFinding> = items.iter().flat_map(|(_, c)| &c.findings).collect();
    for chunk in findings.chunks(ROWS) {
        let sql = format!(
            "INSERT INTO crawl_findings (crawl_id, found_at, url, page_url, host, ip, kind, \
             sha256, md5, sha1, pdq, bank, content_id, signal_kind, distance) VALUES {} \
             ON CONFLICT (crawl_id, url, bank, content_id) DO NOTHING",
            values(
                be,
                chunk.len(),
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )
        );
        let mut q = sqlx::query(&sql);
        for f in chunk {
            q = q
                .bind(crawl_id)
                .bind(now)
                .bind(&f.url)
                .bind(&f.page_url)
                .bind(&f.host)
                .bind(&f.ip)
                .bind(&f.kind)
                .bind(f.sha256.to_vec())
                .bind(&f.md5)
                .bind(&f.sha1)
                .bind(&f.pdq)
                .bind(&f.bank)
                .bind(f.content_id)
                .bind(&f.signal_kind)
                .bind(f.distance);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(new_links)
}

/// Adds entries unknown to the crawl's frontier, [`ROWS`] a statement. Duplicates within the
/// call are dropped first (the first one kept), so that no statement meets its own row twice.
/// Returns how many were new.
async fn push_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    be: Backend,
    crawl_id: i64,
    entries: &[NewFrontierEntry],
    now: i64,
) -> Result<usize, Error> {
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    let entries: Vec<&NewFrontierEntry> = entries
        .iter()
        .filter(|e| seen.insert(e.url.as_str()))
        .collect();
    let mut n = 0;
    for chunk in entries.chunks(ROWS) {
        let sql = format!(
            "INSERT INTO crawl_frontier (crawl_id, url, host, depth, parent_url, rank, state, \
             attempts, created_at, updated_at) VALUES {} ON CONFLICT (crawl_id, url) DO NOTHING",
            values(be, chunk.len(), "(?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)")
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(crawl_id)
                .bind(&e.url)
                .bind(&e.host)
                .bind(e.depth)
                .bind(&e.parent_url)
                .bind(if e.media { 0i64 } else { 1i64 })
                .bind(now)
                .bind(now);
        }
        n += q.execute(&mut **tx).await?.rows_affected() as usize;
    }
    Ok(n)
}

/// A removal notice to record (migration 9): sent, or attempted and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSentNotice {
    /// The crawl it was made for (`None`: the findings of every crawl).
    pub crawl: Option<String>,
    /// The hosting provider (`unknown` when the operator's table did not say).
    pub provider: String,
    /// The provider's contact as the table gave it.
    pub contact: String,
    /// The hosts it covered, in order.
    pub hosts: Vec<String>,
    /// `smtp` or `file`.
    pub channel: String,
    /// Where it went: the address mailed (after any override) or the file written.
    pub recipient: String,
    /// Its subject line.
    pub subject: String,
    /// Which notice of its findings this is: 1 the first, 2 and up reminders.
    pub sequence: i64,
    /// The message's `Message-ID`, when mailed.
    pub message_id: Option<String>,
    /// When it was sent (or the attempt failed), ms since the Unix epoch.
    pub sent_at: i64,
    /// Why it failed; `None` when it went out.
    pub error: Option<String>,
    /// It failed because the provider has no e-mail contact (recorded once until its contact
    /// or its open findings change, not on every pass).
    pub uncontactable: bool,
    /// The ids of the findings it covered.
    pub findings: Vec<i64>,
}

/// A recorded removal notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNotice {
    /// Row id.
    pub id: i64,
    /// Everything as recorded (`findings` by id, ascending).
    pub notice: NewSentNotice,
}

impl SentNotice {
    /// Whether it went out (a failed attempt counts as no notice).
    pub fn sent(&self) -> bool {
        self.notice.error.is_none()
    }
}

impl Store {
    /// Deletes the crawl named `name` with its frontier, its findings and the notices made for
    /// it (notices made for every crawl lose their links to its findings). Returns whether it
    /// existed.
    pub async fn crawl_delete(&self, name: &str) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        // Explicitly rather than by cascade alone, so the order is the same on both databases.
        let id: Option<i64> = sqlx::query("SELECT id FROM crawls WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let Some(id) = id else { return Ok(false) };
        crate::reports::release_in(&mut tx, id).await?;
        for sql in [
            "DELETE FROM crawl_notice_findings WHERE finding_id IN \
             (SELECT id FROM crawl_findings WHERE crawl_id = $1)",
            "DELETE FROM crawl_notice_findings WHERE notice_id IN \
             (SELECT id FROM crawl_notices WHERE crawl_id = $1)",
            "DELETE FROM crawl_notices WHERE crawl_id = $1",
            "DELETE FROM crawl_findings WHERE crawl_id = $1",
            "DELETE FROM crawl_frontier WHERE crawl_id = $1",
            "DELETE FROM crawls WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records a removal notice and the findings it covered, in one transaction. Returns its id.
    pub async fn crawl_notice_record(&self, n: &NewSentNotice) -> Result<i64, Error> {
        if !matches!(n.channel.as_str(), "smtp" | "file") {
            return Err(Error::Invalid(format!(
                "notice channel {:?}: expected smtp or file",
                n.channel
            )));
        }
        let mut tx = self.pool.begin().await?;
        let crawl_id: Option<i64> = match &n.crawl {
            Some(name) => Some(
                sqlx::query("SELECT id FROM crawls WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| Error::Invalid(format!("no crawl named {name:?}")))?
                    .try_get(0)?,
            ),
            None => None,
        };
        let id: i64 = sqlx::query(
            "INSERT INTO crawl_notices (crawl_id, provider, contact, hosts, channel, recipient, \
             subject, sequence, message_id, sent_at, status, error, uncontactable) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(crawl_id)
        .bind(&n.provider)
        .bind(&n.contact)
        .bind(n.hosts.join("\n"))
        .bind(&n.channel)
        .bind(&n.recipient)
        .bind(&n.subject)
        .bind(n.sequence)
        .bind(&n.message_id)
        .bind(n.sent_at)
        .bind(if n.error.is_none() { "sent" } else { "failed" })
        .bind(&n.error)
        .bind(i64::from(n.uncontactable && n.error.is_some()))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let mut ids = n.findings.clone();
        ids.sort_unstable();
        ids.dedup();
        for f in ids {
            sqlx::query(
                "INSERT INTO crawl_notice_findings (notice_id, finding_id) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(f)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The notices recorded for one crawl (made for it, or covering any of its findings) or for
    /// all, oldest first.
    pub async fn crawl_notices(&self, crawl: Option<&str>) -> Result<Vec<SentNotice>, Error> {
        let filter = if crawl.is_some() {
            "WHERE c.name = $1 OR n.id IN (SELECT nf.notice_id FROM crawl_notice_findings nf \
             JOIN crawl_findings f ON f.id = nf.finding_id \
             JOIN crawls fc ON fc.id = f.crawl_id WHERE fc.name = $1)"
        } else {
            ""
        };
        let sql = format!(
            "SELECT n.id, c.name, n.provider, n.contact, n.hosts, n.channel, n.recipient, \
             n.subject, n.sequence, n.message_id, n.sent_at, n.error, n.uncontactable \
             FROM crawl_notices n LEFT JOIN crawls c ON c.id = n.crawl_id {filter} \
             ORDER BY n.sent_at, n.id"
        );
        let mut q = sqlx::query(&sql);
        if let Some(name) = crawl {
            q = q.bind(name);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let links_sql = format!(
            "SELECT nf.notice_id, nf.finding_id FROM crawl_notice_findings nf \
             JOIN crawl_notices n ON n.id = nf.notice_id LEFT JOIN crawls c ON c.id = n.crawl_id \
             {filter} ORDER BY nf.notice_id, nf.finding_id"
        );
        let mut q = sqlx::query(&links_sql);
        if let Some(name) = crawl {
            q = q.bind(name);
        }
        let mut links: std::collections::HashMap<i64, Vec<i64>> = Default::default();
        for r in q.fetch_all(&self.pool).await? {
            links.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get(0)?;
                let hosts: String = r.try_get(4)?;
                Ok(SentNotice {
                    id,
                    notice: NewSentNotice {
                        crawl: r.try_get(1)?,
                        provider: r.try_get(2)?,
                        contact: r.try_get(3)?,
                        hosts: hosts
                            .split('\n')
                            .filter(|h| !h.is_empty())
                            .map(str::to_string)
                            .collect(),
                        channel: r.try_get(5)?,
                        recipient: r.try_get(6)?,
                        subject: r.try_get(7)?,
                        sequence: r.try_get(8)?,
                        message_id: r.try_get(9)?,
                        sent_at: r.try_get(10)?,
                        error: r.try_get(11)?,
                        uncontactable: r.try_get::<i64, _>(12)? != 0,
                        findings: links.remove(&id).unwrap_or_default(),
                    },
                })
            })
            .collect()
    }
}

/// The notices that went out for one finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeHistory {
    /// How many notices (sent, not failed) covered it.
    pub sent: i64,
    /// When the first went out.
    pub first_at: Option<i64>,
    /// When the last went out.
    pub last_at: Option<i64>,
    /// The provider of the last.
    pub provider: Option<String>,
}

/// Each finding's notice history (by finding id), from the notices recorded; failed attempts
/// count for nothing.
pub fn notice_history(notices: &[SentNotice]) -> std::collections::HashMap<i64, NoticeHistory> {
    let mut out: std::collections::HashMap<i64, NoticeHistory> = Default::default();
    for n in notices.iter().filter(|n| n.sent()) {
        for f in &n.notice.findings {
            let h = out.entry(*f).or_default();
            h.sent += 1;
            let at = n.notice.sent_at;
            h.first_at = Some(h.first_at.map_or(at, |x| x.min(at)));
            if h.last_at.is_none_or(|x| at >= x) {
                h.last_at = Some(at);
                h.provider = Some(n.notice.provider.clone());
            }
        }
    }
    out
}

/// The value at percentile `p` (0 < p ≤ 100) of `sorted` (ascending) by the nearest-rank
/// method: the smallest value such that at least `p`% of the values are no greater, i.e.
/// `sorted[ceil(p/100 · n) - 1]` (never below the first). `None` for no values.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (p as usize * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

/// Takedown figures of one host or one provider. Items are distinct URLs (several bank items
/// matched at one URL are one thing to take down); an item's time to removal runs from when it
/// was first found to when a re-check first found it gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TakedownRow {
    /// The host or the provider.
    pub name: String,
    /// Items still up (as last re-checked).
    pub open: u64,
    /// Items found gone.
    pub removed: u64,
    /// Median time to removal, ms (nearest rank).
    pub median_removal_ms: Option<i64>,
    /// 90th percentile of the time to removal, ms (nearest rank).
    pub p90_removal_ms: Option<i64>,
    /// Notices that went out covering its items (failed attempts not counted).
    pub notices_sent: u64,
    /// When the first of them went out, ms since the Unix epoch.
    pub first_notice_at: Option<i64>,
    /// When the last of them went out.
    pub last_notice_at: Option<i64>,
    /// Open items whose latest notice could not be addressed: the provider has no e-mail
    /// contact (add one to the provider table, or send with an override).
    pub uncontactable: u64,
}

/// The takedown report: per host and per provider, each by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Takedown {
    /// Per host.
    pub hosts: Vec<TakedownRow>,
    /// Per hosting provider.
    pub providers: Vec<TakedownRow>,
}

/// Computes the takedown report of `findings` with the `notices` recorded for them. An item's
/// provider is the provider of the last notice that went out for it, else that of its latest
/// notice attempt if it could not be addressed (no e-mail contact), else `provider_of` (the
/// operator's table), else `unknown`.
pub fn takedown(
    findings: &[Finding],
    notices: &[SentNotice],
    provider_of: &dyn Fn(&Finding) -> Option<String>,
) -> Takedown {
    use std::collections::{BTreeMap, BTreeSet};
    let history = notice_history(notices);
    // Per URL: host, provider, first found, removed (the latest removal of its rows, if all are
    // removed), and the notice ids covering it.
    struct Item {
        host: String,
        provider: Option<String>,
        found: i64,
        open: bool,
        removed: Option<i64>,
        notices: BTreeSet<i64>,
        /// The latest notice attempt covering it, `(sent_at, id)`, and whether it was one that
        /// could not be addressed (and its provider).
        latest: Option<((i64, i64), Option<String>)>,
    }
    let by_finding: std::collections::HashMap<i64, Vec<i64>> = {
        let mut m: std::collections::HashMap<i64, Vec<i64>> = Default::default();
        for n in notices.iter().filter(|n| n.sent()) {
            for f in &n.notice.findings {
                m.entry(*f).or_default().push(n.id);
            }
        }
        m
    };
    let mut attempts: std::collections::HashMap<i64, Vec<&SentNotice>> = Default::default();
    for n in notices {
        for f in &n.notice.findings {
            attempts.entry(*f).or_default().push(n);
        }
    }
    let mut items: BTreeMap<&str, Item> = BTreeMap::new();
    let mut last_at: std::collections::HashMap<&str, i64> = Default::default();
    for f in findings {
        let it = items.entry(&f.finding.url).or_insert_with(|| Item {
            host: f.finding.host.clone(),
            provider: None,
            found: f.found_at,
            open: false,
            removed: None,
            notices: BTreeSet::new(),
            latest: None,
        });
        it.found = it.found.min(f.found_at);
        match f.removed_at {
            None => it.open = true,
            Some(r) => it.removed = Some(it.removed.map_or(r, |x| x.max(r))),
        }
        if let Some(h) = history.get(&f.id)
            && let (Some(p), Some(at)) = (&h.provider, h.last_at)
            && last_at.get(f.finding.url.as_str()).is_none_or(|x| at >= *x)
        {
            last_at.insert(&f.finding.url, at);
            it.provider = Some(p.clone());
        }
        if let Some(ids) = by_finding.get(&f.id) {
            it.notices.extend(ids);
        }
        if let Some(attempts) = attempts.get(&f.id) {
            for n in attempts {
                let key = (n.notice.sent_at, n.id);
                if it.latest.as_ref().is_none_or(|(k, _)| key > *k) {
                    let p = n.notice.uncontactable.then(|| n.notice.provider.clone());
                    it.latest = Some((key, p));
                }
            }
        }
    }
    for f in findings {
        let it = items
            .get_mut(f.finding.url.as_str())
            .expect("inserted above");
        if it.provider.is_none() {
            let unaddressed = it.latest.as_ref().and_then(|(_, p)| p.clone());
            it.provider = Some(
                unaddressed
                    .or_else(|| provider_of(f))
                    .unwrap_or_else(|| "unknown".to_string()),
            );
        }
    }
    let sent_at: std::collections::HashMap<i64, i64> =
        notices.iter().map(|n| (n.id, n.notice.sent_at)).collect();
    let rows = |key: &dyn Fn(&Item) -> String| -> Vec<TakedownRow> {
        let mut groups: BTreeMap<String, Vec<&Item>> = BTreeMap::new();
        for it in items.values() {
            groups.entry(key(it)).or_default().push(it);
        }
        groups
            .into_iter()
            .map(|(name, its)| {
                let mut times: Vec<i64> = its
                    .iter()
                    .filter(|i| !i.open)
                    .filter_map(|i| i.removed.map(|r| (r - i.found).max(0)))
                    .collect();
                times.sort_unstable();
                let ids: BTreeSet<i64> =
                    its.iter().flat_map(|i| i.notices.iter().copied()).collect();
                let at: Vec<i64> = ids.iter().filter_map(|i| sent_at.get(i).copied()).collect();
                TakedownRow {
                    name,
                    open: its.iter().filter(|i| i.open).count() as u64,
                    removed: times.len() as u64,
                    median_removal_ms: nearest_rank(&times, 50),
                    p90_removal_ms: nearest_rank(&times, 90),
                    notices_sent: ids.len() as u64,
                    first_notice_at: at.iter().min().copied(),
                    last_notice_at: at.iter().max().copied(),
                    uncontactable: its
                        .iter()
                        .filter(|i| i.open && i.latest.as_ref().is_some_and(|(_, p)| p.is_some()))
                        .count() as u64,
                }
            })
            .collect()
    };
    Takedown {
        hosts: rows(&|i| i.host.clone()),
        providers: rows(&|i| i.provider.clone().unwrap_or_default()),
    }
}
