//! Vigil's durable store: *banks* of known-material hashes with their provenance, quarantines,
//! analysts' verdicts and an audit log of every change, on **SQLite** (the default: one file,
//! WAL, nothing to set up) or **PostgreSQL** (a `postgres://` URL) — the same code and the same
//! SQL on both.
//!
//! # Model
//!
//! * A [`Bank`] is a named list: `block` (its hashes are known material) or `allow` (its hashes
//!   are known false positives: a match in an allow bank suppresses the matches of that query),
//!   enabled or not, with an optional per-bank PDQ match threshold.
//! * A bank holds *content* items ([`Content`]): an external id, a URI, a note, timestamps, and an
//!   optional quarantine (`disabled_until`). Each item has *signals* (`pdq`, `md5`, `sha1`,
//!   `sha256`, `vpdq`, …: [`vigil_exchange::record::Signal`], validated on the way in) and *provenance*
//!   rows (which import or exchange brought it, its original record — category with its scheme,
//!   tags, first/last seen — kept whole so an export gives it back).
//! * An *exchange* ([`Exchange`]) is a configured source a bank is fetched from, with a checkpoint:
//!   [`Store::apply_page`] writes a fetched page and the checkpoint after it in one transaction,
//!   so a fetch resumes exactly where it stopped (the fetchers are in `vigil-fetch`).
//! * Every change writes an [`AuditEntry`] (who, what, when) in the same transaction.
//! * Every change also takes a number from one global sequence; signals carry the number of
//!   their last change, and removed signals leave a tombstone, so a matcher can follow a bank
//!   incrementally ([`Store::changes_since`]) instead of reloading it.
//!
//! # Guarantees
//!
//! * Every operation is one transaction: an import of a file is all or nothing, and a process
//!   killed mid-way leaves the store as it was before that operation.
//! * Several processes may write at once (SQLite: WAL, waits on a busy database; PostgreSQL: as
//!   usual).
//! * A database written by a newer Vigil (a newer schema) is refused, never modified.
//!
//! # What it deliberately does not do
//!
//! It parses no file format (that is [`vigil_exchange`]'s job: imports take its
//! [`vigil_exchange::record::Record`]s), holds no index (a matcher builds one from
//! [`Store::signals_snapshot`] and follows [`Store::changes_since`]: that is `vigil-matcher`),
//! and serves no HTTP.

#![warn(missing_docs)]

mod actions;
mod banks;
mod bulk;
mod case_access;
mod cases;
mod codec;
mod content;
mod crawl;
mod error;
mod exchanges;
mod keys;
mod native;
mod reports;
mod schema;
mod secrets;
mod users;
mod value;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor};

pub use actions::{Action, ActionEvent, NewAction, NewActionEvent};
pub use banks::{Bank, BankKind, BankUpdate, NewBank};
pub use case_access::{CaseScope, LinkDecision, MAX_NOTE, MAX_SCOPE_AREAS};
pub use cases::{CasesSaved, MapSaved, SourceAdded};
pub use content::{
    AuditEntry, ChangeCursor, ChangePage, ChangeSet, Content, ImportOptions, ImportReport,
    NewContent, RecordIssue, SignalChange, StoredSignal, Verdict, VerdictKind,
};
pub use crawl::{
    Completion, Crawl, CrawlContent, Finding, FrontierCounts, FrontierEntry, NewFinding,
    NewFrontierEntry, NewSentNotice, NoticeHistory, SentNotice, Takedown, TakedownRow,
    nearest_rank, notice_history, takedown,
};
pub use error::Error;
pub use reports::{MAX_REPORT_URL, Report, ReportState, Submitted, report_url};
pub use secrets::MAX_SECRET;

/// A record's metadata (everything but its signals) as the JSON object the store keeps in
/// provenance: what a server shows of where an item came from.
pub fn record_metadata_json(r: &vigil_exchange::record::Record) -> serde_json::Value {
    serde_json::from_str(&codec::record_json(r)).unwrap_or(serde_json::Value::Null)
}
pub use exchanges::{Exchange, NewExchange, Page, PageDeletion, PageReport};
pub use keys::{ApiKey, NewAudit, ROLES};
pub use users::{Session, User};

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (a file, WAL mode).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A handle on the store (cheap to clone: a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL with any password replaced, for messages.
    shown: String,
    /// The SQLite file, for a store on one (an import writes through a connection of its own,
    /// [`native`]).
    file: Option<std::path::PathBuf>,
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `url` with the password (if any) replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((auth, host)) = rest.split_once('@')
        && let Some((user, _password)) = auth.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

impl Store {
    /// Opens (creating it if needed) the store at `url` and brings its schema up to date:
    ///
    /// * `sqlite://PATH` or a plain file path: an SQLite file (created with its directory);
    /// * `sqlite::memory:`: a private in-memory database (tests);
    /// * `postgres://…` or `postgresql://…`: a PostgreSQL database (which must exist).
    pub async fn open(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let shown = redact_url(url);
        let mut file = None;
        let (url, backend) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_string(), Backend::Postgres)
        } else if url == "sqlite::memory:" {
            (url.to_string(), Backend::Sqlite)
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(Error::Url {
                    url: shown,
                    why: "no file path".into(),
                });
            }
            if let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| Error::Url {
                    url: shown.clone(),
                    why: format!("creating {}: {e}", dir.display()),
                })?;
            }
            file = Some(std::path::PathBuf::from(path));
            (format!("sqlite://{path}?mode=rwc"), Backend::Sqlite)
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| Error::Url {
            url: shown.clone(),
            why: e.to_string(),
        })?;

        let pool = AnyPoolOptions::new()
            // One in-memory SQLite database exists per connection: keep exactly one.
            .max_connections(if url == "sqlite::memory:" { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(60))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlite_pragmas(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| Error::Connect {
                url: shown.clone(),
                source: e,
            })?;
        let mut conn = pool.acquire().await?;
        schema::migrate(&mut conn, backend).await?;
        drop(conn);
        Ok(Store {
            pool,
            backend,
            shown,
            file,
        })
    }

    /// The database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL it was opened with, password hidden.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// The schema version of the database.
    pub fn schema_version() -> i64 {
        schema::CURRENT
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// A write transaction with its change number.
pub(crate) struct Write<'c> {
    pub(crate) tx: sqlx::Transaction<'c, sqlx::Any>,
    /// The sequence number of this change (one per transaction).
    pub(crate) seq: i64,
    pub(crate) now: i64,
}

impl Store {
    /// Begins a write transaction. Its first statement takes the next change number, which is a
    /// write: SQLite takes its write lock at once (so a concurrent writer waits here, before
    /// reading anything, instead of failing later), PostgreSQL serialises on the counter row.
    pub(crate) async fn write(&self) -> Result<Write<'static>, Error> {
        Write::start(self.pool.begin().await?).await
    }
}

/// The settings of every SQLite connection (the pool's and an import's own, [`native`]).
/// page_size: 16 KiB pages for a new database (an existing one keeps its own; SQLite cannot
/// change it in WAL mode): a bank's B-trees of millions of hashes take fewer page splits and
/// write-ahead log frames, which made a bulk import's inserts 17 % and its checkpoint 35 %
/// faster than with 4 KiB (8 KiB: half the gain; 32 KiB: no more). WAL: readers never block
/// the writer; FULL: a committed transaction survives a power cut; busy_timeout: concurrent
/// writers wait, not fail.
pub(crate) const SQLITE_PRAGMAS: [&str; 7] = [
    "PRAGMA page_size = 16384",
    "PRAGMA busy_timeout = 30000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA temp_store = FILE",
    "PRAGMA cache_size = -65536",
];

/// Applies [`SQLITE_PRAGMAS`] to a connection of the pool.
async fn sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in SQLITE_PRAGMAS {
        conn.execute(pragma).await?;
    }
    Ok(())
}

/// Takes the next change number (and, being a write, SQLite's write lock).
pub(crate) const NEXT_SEQ: &str =
    "UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value";
/// An audit entry: `(at, actor, action, bank, content_id, detail)`.
pub(crate) const AUDIT_INSERT: &str = "INSERT INTO audit (at, actor, action, bank, content_id, \
     detail) VALUES ($1, $2, $3, $4, $5, $6)";

impl<'c> Write<'c> {
    /// Starts a write: takes the next change number, which also takes the write lock.
    pub(crate) async fn start(mut tx: sqlx::Transaction<'c, sqlx::Any>) -> Result<Self, Error> {
        let seq: i64 = sqlx::Row::try_get(&sqlx::query(NEXT_SEQ).fetch_one(&mut *tx).await?, 0)?;
        Ok(Write {
            tx,
            seq,
            now: now_ms(),
        })
    }
}

impl Write<'_> {
    /// Records an audit entry in this transaction.
    pub(crate) async fn audit(
        &mut self,
        actor: &str,
        action: &str,
        bank: Option<&str>,
        content_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<(), Error> {
        sqlx::query(AUDIT_INSERT)
            .bind(self.now)
            .bind(actor)
            .bind(action)
            .bind(bank)
            .bind(content_id)
            .bind(detail.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Rows a multi-row statement of the frontier or the case registry writes at most (15
/// parameters a row at most: 3,000 in a statement, under SQLite's and PostgreSQL's limits).
pub(crate) const ROWS: usize = 200;

/// A query of the `Any` driver with its bound values.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Inserts `rows` with `head` (`INSERT INTO table (columns)`), [`ROWS`] a statement: `marks`
/// is one row's `(?, …)`, and `bind` binds one row's values in that order. Returns the number
/// of rows inserted.
pub(crate) async fn insert_rows<T>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    be: Backend,
    head: &str,
    marks: &str,
    rows: &[T],
    bind: impl for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
) -> Result<u64, Error> {
    let mut n = 0;
    for part in rows.chunks(ROWS) {
        let sql = format!("{head} VALUES {}", values(be, part.len(), marks));
        let mut q = sqlx::query(&sql);
        for row in part {
            q = bind(q, row);
        }
        n += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(n)
}

/// `rows` copies of `row` joined by commas, each `?` a parameter: `?` itself on SQLite (its
/// driver resolves named parameters by a scan of all of them, quadratic in a long statement),
/// `$1`, `$2`… on PostgreSQL.
pub(crate) fn values(backend: Backend, rows: usize, row: &str) -> String {
    let mut out = String::with_capacity(rows * (row.len() + 8));
    let mut k = 0;
    for i in 0..rows {
        if i > 0 {
            out.push(',');
        }
        for c in row.chars() {
            if c == '?' && backend == Backend::Postgres {
                k += 1;
                out.push('$');
                out.push_str(&k.to_string());
            } else {
                out.push(c);
            }
        }
    }
    out
}
