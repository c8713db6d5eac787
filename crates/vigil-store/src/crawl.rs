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

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Store, now_ms};

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
        let n = push_in(&mut tx, crawl_id, entries, now_ms()).await?;
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

    /// Takes up to `limit` queued entries (oldest first) and marks them `fetching`.
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
             WHERE crawl_id = $1 AND state = 'queued' ORDER BY id LIMIT $2",
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
        let new_links = complete_in(&mut tx, crawl_id, entry_id, c, now_ms()).await?;
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
        let now = now_ms();
        let mut new_links = 0;
        for (entry_id, c) in items {
            new_links += complete_in(&mut tx, crawl_id, *entry_id, c, now).await?;
        }
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
        let row = sqlx::query(
            "SELECT sha256, kind, md5, sha1, pdq, quality, frames, matches FROM crawl_content \
             WHERE sha256 = $1",
        )
        .bind(sha256.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(CrawlContent {
                sha256: sha(r.try_get(0)?)?,
                kind: r.try_get(1)?,
                md5: r.try_get(2)?,
                sha1: r.try_get(3)?,
                pdq: r.try_get(4)?,
                quality: r.try_get(5)?,
                frames: r.try_get(6)?,
                matches: r.try_get(7)?,
            })
        })
        .transpose()
    }

    /// Records a re-check of the findings at `url` (of every crawl) that are not removed yet:
    /// still up (`removed` false: `checked_at` set) or gone (`removed_at` set). Returns how
    /// many findings changed.
    pub async fn crawl_recheck(&self, url: &str, removed: bool) -> Result<u64, Error> {
        let now = now_ms();
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
            "SELECT f.id, c.name, f.found_at, f.url, f.page_url, f.host, f.ip, f.kind, f.sha256, \
             f.md5, f.sha1, f.pdq, f.bank, f.content_id, f.signal_kind, f.distance, \
             f.checked_at, f.removed_at \
             FROM crawl_findings f JOIN crawls c ON c.id = f.crawl_id {} \
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
        rows.iter()
            .map(|r| {
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
            })
            .collect()
    }
}

/// One entry's completion inside `tx` (see [`Store::crawl_complete`]).
async fn complete_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    crawl_id: i64,
    entry_id: i64,
    c: &Completion,
    now: i64,
) -> Result<usize, Error> {
    sqlx::query(
        "UPDATE crawl_frontier SET state = 'done', kind = $3, content_sha256 = $4, \
         error = NULL, updated_at = $5 WHERE id = $1 AND crawl_id = $2",
    )
    .bind(entry_id)
    .bind(crawl_id)
    .bind(&c.kind)
    .bind(c.content_sha256.map(|s| s.to_vec()))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let new_links = push_in(tx, crawl_id, &c.links, now).await?;
    if let Some(content) = &c.content {
        sqlx::query(
            "INSERT INTO crawl_content (sha256, kind, md5, sha1, pdq, quality, frames, \
             matches, hashed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(content.sha256.to_vec())
        .bind(&content.kind)
        .bind(&content.md5)
        .bind(&content.sha1)
        .bind(&content.pdq)
        .bind(content.quality)
        .bind(content.frames)
        .bind(&content.matches)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for f in &c.findings {
        sqlx::query(
            "INSERT INTO crawl_findings (crawl_id, url, page_url, host, ip, found_at, kind, \
             sha256, md5, sha1, pdq, bank, content_id, signal_kind, distance) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (crawl_id, url, bank, content_id) DO NOTHING",
        )
        .bind(crawl_id)
        .bind(&f.url)
        .bind(&f.page_url)
        .bind(&f.host)
        .bind(&f.ip)
        .bind(now)
        .bind(&f.kind)
        .bind(f.sha256.to_vec())
        .bind(&f.md5)
        .bind(&f.sha1)
        .bind(&f.pdq)
        .bind(&f.bank)
        .bind(f.content_id)
        .bind(&f.signal_kind)
        .bind(f.distance)
        .execute(&mut **tx)
        .await?;
    }
    Ok(new_links)
}

async fn push_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    crawl_id: i64,
    entries: &[NewFrontierEntry],
    now: i64,
) -> Result<usize, Error> {
    // One statement per chunk of rows rather than per row (a page's links are written at once).
    // Duplicates within the call are dropped first (the first one kept), so that no statement
    // meets its own row twice.
    const ROWS: usize = 200;
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    let entries: Vec<&NewFrontierEntry> = entries
        .iter()
        .filter(|e| seen.insert(e.url.as_str()))
        .collect();
    let mut n = 0;
    for chunk in entries.chunks(ROWS) {
        let mut sql = String::from(
            "INSERT INTO crawl_frontier (crawl_id, url, host, depth, parent_url, state, attempts, \
             created_at, updated_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let p = 3 + 4 * i;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "($1, ${}, ${}, ${}, ${}, 'queued', 0, $2, $2)",
                p,
                p + 1,
                p + 2,
                p + 3
            ));
        }
        sql.push_str(" ON CONFLICT (crawl_id, url) DO NOTHING");
        let mut q = sqlx::query(&sql).bind(crawl_id).bind(now);
        for e in chunk {
            q = q
                .bind(&e.url)
                .bind(&e.host)
                .bind(e.depth)
                .bind(&e.parent_url);
        }
        n += q.execute(&mut **tx).await?.rows_affected() as usize;
    }
    Ok(n)
}
