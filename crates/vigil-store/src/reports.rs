//! The queue of reported URLs (migration 13): URLs people report (through the server's
//! `POST /api/v1/crawls/reports`) wait here as `pending` until `vigil crawl run --from-queue`
//! takes them as the seeds of a crawl (`taken`, with that crawl), and are `done` when that
//! crawl has finished.
//!
//! * **Validation** ([`report_url`]): http or https only (`.onion` hosts included), no user
//!   name or password in the URL (refused, not dropped: the reporter should know), at most
//!   [`MAX_REPORT_URL`] bytes, normalised as the crawler normalises its URLs (scheme and host
//!   lowercased, default port and fragment dropped, `.`/`..` resolved, a host's trailing dot
//!   removed), so one resource is one queue entry.
//! * **Merging**: a URL has at most one pending row (a partial unique index); reporting it
//!   again while it is pending adds to that row's count (`times`) instead of queueing it twice.
//!   Once taken, a new report of it queues it again (the site may have changed).
//! * **Taking is atomic** ([`Store::crawl_reports_take`]): one statement marks the oldest
//!   pending rows taken and returns them; PostgreSQL skips rows another taker has locked
//!   (`FOR UPDATE SKIP LOCKED`), SQLite runs one writer at a time. Two crawls never take the
//!   same report.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Error, Store, now_ms};

/// The longest reported URL accepted, in bytes.
pub const MAX_REPORT_URL: usize = 2048;

/// Where a report is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    /// Waiting for a crawl.
    Pending,
    /// Taken as a seed by a crawl that has not finished.
    Taken,
    /// Its crawl finished.
    Done,
}

impl ReportState {
    /// `pending`, `taken` or `done`, as stored.
    pub fn name(self) -> &'static str {
        match self {
            ReportState::Pending => "pending",
            ReportState::Taken => "taken",
            ReportState::Done => "done",
        }
    }

    /// Parses [`ReportState::name`]'s words.
    pub fn parse(s: &str) -> Option<ReportState> {
        match s {
            "pending" => Some(ReportState::Pending),
            "taken" => Some(ReportState::Taken),
            "done" => Some(ReportState::Done),
            _ => None,
        }
    }
}

/// A reported URL in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Row id (the order of the queue).
    pub id: i64,
    /// The normalised URL.
    pub url: String,
    /// Its host.
    pub host: String,
    /// Where it is.
    pub state: ReportState,
    /// The crawl that took it (by name), once taken.
    pub crawl: Option<String>,
    /// Who reported it first (a key's or a user's name).
    pub submitted_by: String,
    /// How many reports were merged into it (1: one report).
    pub times: i64,
    /// When it was first reported, ms since the Unix epoch.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
    /// When a crawl took it.
    pub taken_at: Option<i64>,
    /// When its crawl finished.
    pub done_at: Option<i64>,
}

/// A report accepted by [`Store::crawl_reports_submit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The queue row.
    pub id: i64,
    /// The URL as normalised.
    pub url: String,
    /// Whether it was merged into a pending report of the same URL.
    pub merged: bool,
}

/// Checks and normalises a reported URL: `(url, host)`, or why it is refused (a sentence
/// naming nothing but the problem; callers add the input or its line).
pub fn report_url(input: &str) -> Result<(String, String), String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("empty URL".into());
    }
    if input.len() > MAX_REPORT_URL {
        return Err(format!(
            "URL of {} bytes is longer than the {MAX_REPORT_URL}-byte limit",
            input.len()
        ));
    }
    let mut url = url::Url::parse(input).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "scheme {:?}: only http and https URLs are crawled",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a user name or password in the URL is not accepted".into());
    }
    url.set_fragment(None);
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("no host")?
        .to_string();
    // Every trailing dot, as the crawler's normalising does: normalising twice changes
    // nothing, so the queue merges `a.example..` and `a.example` (fuzz target
    // `crawl_report_url`).
    let trimmed = host.trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("no host".into());
    }
    if trimmed.len() != host.len() {
        url.set_host(Some(trimmed)).map_err(|e| e.to_string())?;
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let url = url.to_string();
    if url.len() > MAX_REPORT_URL {
        return Err(format!(
            "URL of {} bytes (normalised) is longer than the {MAX_REPORT_URL}-byte limit",
            url.len()
        ));
    }
    Ok((url, host))
}

const COLUMNS: &str = "r.id, r.url, r.host, r.state, c.name, r.submitted_by, r.times, \
                       r.created_at, r.updated_at, r.taken_at, r.done_at";

fn from_row(r: &AnyRow) -> Result<Report, Error> {
    let state: String = r.try_get(3)?;
    Ok(Report {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        host: r.try_get(2)?,
        state: ReportState::parse(&state)
            .ok_or_else(|| Error::Invalid(format!("report state {state:?} unknown")))?,
        crawl: r.try_get(4)?,
        submitted_by: r.try_get(5)?,
        times: r.try_get(6)?,
        created_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
        taken_at: r.try_get(9)?,
        done_at: r.try_get(10)?,
    })
}

impl Store {
    /// Queues reported URLs (one transaction): each is checked and normalised
    /// ([`report_url`]); a URL already pending is merged into that report. Returns one result
    /// per input, in order: the report, or why that URL was refused (the others are queued).
    pub async fn crawl_reports_submit(
        &self,
        urls: &[String],
        submitted_by: &str,
    ) -> Result<Vec<Result<Submitted, String>>, Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(urls.len());
        for input in urls {
            let (url, host) = match report_url(input) {
                Ok(v) => v,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            let row = sqlx::query(
                "INSERT INTO crawl_reports (url, host, state, submitted_by, times, created_at, \
                 updated_at) VALUES ($1, $2, 'pending', $3, 1, $4, $4) \
                 ON CONFLICT (url) WHERE state = 'pending' \
                 DO UPDATE SET times = crawl_reports.times + 1, updated_at = $4 \
                 RETURNING id, times",
            )
            .bind(&url)
            .bind(&host)
            .bind(submitted_by)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let times: i64 = row.try_get(1)?;
            out.push(Ok(Submitted {
                id: row.try_get(0)?,
                url,
                merged: times > 1,
            }));
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Reports in the queue by id, after `after` (a cursor: the last id of the previous page),
    /// `limit` at most, only those in `state` if given.
    pub async fn crawl_reports(
        &self,
        state: Option<ReportState>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Report>, Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM crawl_reports r LEFT JOIN crawls c ON c.id = r.crawl_id \
             WHERE r.id > $1 {} ORDER BY r.id LIMIT $2",
            if state.is_some() {
                "AND r.state = $3"
            } else {
                ""
            }
        );
        let mut q = sqlx::query(&sql).bind(after.unwrap_or(0)).bind(limit);
        if let Some(s) = state {
            q = q.bind(s.name());
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Takes up to `max` pending reports, oldest first, for the crawl `crawl_id`: they become
    /// `taken` by it, atomically (concurrent takers get disjoint reports). Returns them by id.
    pub async fn crawl_reports_take(&self, crawl_id: i64, max: i64) -> Result<Vec<Report>, Error> {
        if max <= 0 {
            return Ok(Vec::new());
        }
        // PostgreSQL: rows locked by another taker are skipped rather than waited for (and the
        // outer `state` test re-checks a row another taker changed meanwhile). SQLite: the
        // statement holds the write lock from its start, so takers run one after the other.
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE crawl_reports SET state = 'taken', crawl_id = $1, taken_at = $2, \
             updated_at = $2 WHERE state = 'pending' AND id IN (SELECT id FROM crawl_reports \
             WHERE state = 'pending' ORDER BY id LIMIT $3 {lock}) RETURNING id"
        );
        let rows = sqlx::query(&sql)
            .bind(crawl_id)
            .bind(now_ms())
            .bind(max)
            .fetch_all(&self.pool)
            .await?;
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        let all = self.crawl_reports_of(crawl_id).await?;
        Ok(all
            .into_iter()
            .filter(|r| ids.binary_search(&r.id).is_ok())
            .collect())
    }

    /// The reports taken by the crawl `crawl_id` and not done yet, by id (a resumed crawl's
    /// seeds).
    pub async fn crawl_reports_of(&self, crawl_id: i64) -> Result<Vec<Report>, Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM crawl_reports r LEFT JOIN crawls c ON c.id = r.crawl_id \
             WHERE r.crawl_id = $1 AND r.state = 'taken' ORDER BY r.id"
        );
        sqlx::query(&sql)
            .bind(crawl_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Marks done every report the crawl `crawl_id` took (its crawl finished). Returns how many.
    pub async fn crawl_reports_done(&self, crawl_id: i64) -> Result<u64, Error> {
        let now = now_ms();
        Ok(sqlx::query(
            "UPDATE crawl_reports SET state = 'done', done_at = $2, updated_at = $2 \
             WHERE crawl_id = $1 AND state = 'taken'",
        )
        .bind(crawl_id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

/// Inside `crawl_delete`: the reports a deleted crawl had taken go back to pending (one per
/// URL, unless that URL is pending again already) and lose their link to it.
pub(crate) async fn release_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    crawl_id: i64,
) -> Result<(), Error> {
    let now = now_ms();
    sqlx::query(
        "UPDATE crawl_reports SET state = 'pending', crawl_id = NULL, taken_at = NULL, \
         updated_at = $2 WHERE crawl_id = $1 AND state = 'taken' \
         AND id IN (SELECT MIN(id) FROM crawl_reports WHERE crawl_id = $1 AND state = 'taken' \
         GROUP BY url) \
         AND url NOT IN (SELECT url FROM crawl_reports WHERE state = 'pending')",
    )
    .bind(crawl_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE crawl_reports SET crawl_id = NULL, updated_at = $2, \
         state = CASE WHEN state = 'taken' THEN 'done' ELSE state END, \
         done_at = CASE WHEN state = 'taken' THEN $2 ELSE done_at END WHERE crawl_id = $1",
    )
    .bind(crawl_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_urls_are_checked_and_normalised() {
        let ok = |s: &str| report_url(s).unwrap();
        assert_eq!(
            ok("  HTTP://Files.Example:80/a/./b/../c#frag "),
            (
                "http://files.example/a/c".to_string(),
                "files.example".to_string()
            )
        );
        assert_eq!(
            ok("https://abcdefghijklmnop.onion./x"),
            (
                "https://abcdefghijklmnop.onion/x".to_string(),
                "abcdefghijklmnop.onion".to_string()
            )
        );
        for (bad, why) in [
            ("", "empty"),
            ("ftp://a.example/x", "scheme"),
            ("javascript:alert(1)", "scheme"),
            ("http://user:pw@a.example/", "password"),
            ("http://user@a.example/", "user name"),
            ("not a url", "not a URL"),
            ("http://", "not a URL"),
        ] {
            let e = report_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let long = format!("http://a.example/{}", "x".repeat(MAX_REPORT_URL));
        assert!(report_url(&long).unwrap_err().contains("limit"));
        let fits = format!("http://a.example/{}", "x".repeat(MAX_REPORT_URL - 17));
        assert_eq!(fits.len(), MAX_REPORT_URL);
        assert!(report_url(&fits).is_ok());
    }
}
