//! Vigil's exchange fetchers: incremental, checkpointed, resumable fetches of hash lists into
//! banks.
//!
//! An *exchange* ([`vigil_store::Exchange`]) is a configured source a bank is fetched from. Two
//! kinds exist:
//!
//! * `file` ([`FileConfig`]): a hash-list file or a directory of them, in a format `vigil bank
//!   import` knows ([`Format`]). The checkpoint records each file applied (path, size,
//!   modification time, SHA-256): a fetch applies only new and changed files, each in one
//!   transaction, and a file that changes while it is read is not applied.
//! * `ncmec` ([`NcmecConfig`]): the NCMEC hash sharing API v2. A fetch walks time windows from
//!   the checkpoint to now, asking `GET {base}/v2/entries?from=…&to=…` and following each
//!   page's `next` link; every page is applied together with the checkpoint after it
//!   (`{"from", "to", "next"}`: the window and the link of the next page, or, at the end of a
//!   window, `{"from": <its end>, "to": null, "next": null}`).
//!
//! [`fetch`] runs one exchange and records how it ended in the store (status, error, time).
//!
//! # Why a fetch neither skips nor repeats
//!
//! Each page is applied by [`vigil_store::Store::apply_page`]: its records, its deletions and
//! the checkpoint *after* it in one transaction, only if the stored checkpoint is still the one
//! the page was fetched from. A fetch killed anywhere leaves the checkpoint of the last page
//! applied, with that page's changes and none of the next; the next fetch asks for exactly the
//! next page again. The checkpoint never comes from the entries' timestamps (NCMEC does not send
//! entries in time order): only from the window bounds and the server's `next` link. NCMEC
//! pages are applied *ordered*: a change is applied only if it is newer than the last one this
//! exchange applied for the same entry, so an entry sent twice (on the boundary of two windows)
//! counts once and a late page cannot undo a newer deletion.
//!
//! # Secrets
//!
//! Configurations are stored and printed, so they never hold secrets: an NCMEC exchange names
//! the environment variables that hold its user name and password, read at fetch time. The
//! password appears in no message, log or `Debug` output; URLs are shown without any user part.
//!
//! # What it deliberately does not do
//!
//! It parses no format itself (that is `vigil-exchange`) and writes no SQL (that is
//! `vigil-store`); it serves nothing. It follows no HTTP redirect and sends credentials only to
//! the configured base URL (a `next` link that leaves it makes the page malformed).

#![warn(missing_docs)]

mod config;
mod error;
mod file;
mod ncmec;
mod records;

use std::collections::HashMap;
use std::time::Duration;

use vigil_store::{Exchange, NewExchange, PageReport, Store};

pub use config::{ExchangeConfig, FileConfig, NcmecConfig, VicsSchemeName};
pub use error::Error;
pub use records::{Format, Records, read_records};

/// How a fetch runs. [`FetchOptions::default`] suits a scheduled fetch.
#[derive(Clone)]
pub struct FetchOptions {
    /// Who the audit log names for the changes (`cli:<user>`, a service name).
    pub actor: String,
    /// NCMEC: the first time window's length (default one day). After a window with few entries
    /// the next one is twice as long, up to [`FetchOptions::max_window`].
    pub window: Duration,
    /// NCMEC: the longest time window (default 365 days).
    pub max_window: Duration,
    /// NCMEC: when a window's first page estimates more entries than this (from its `next`
    /// link), the window is cut to a quarter and asked again (default 400,000).
    pub max_window_entries: u64,
    /// NCMEC: fetch up to this time (seconds since the Unix epoch); default: now less 5 seconds
    /// (entries of the last moments may still be written).
    pub until: Option<i64>,
    /// Stop after this many pages (NCMEC) or files (file) applied; the next fetch goes on.
    pub max_pages: Option<u64>,
    /// Time limit of one HTTP request, from connecting to the end of the body (default 60 s).
    pub timeout: Duration,
    /// Time limit for connecting (default 20 s).
    pub connect_timeout: Duration,
    /// The largest page accepted, in bytes (default 64 MiB): a larger one is an error, read no
    /// further.
    pub max_page_bytes: u64,
    /// How often a request failing with 429, a 5xx status, a time-out or a connection error is
    /// tried again (default 3).
    pub retries: u32,
    /// The pause before the first retry, doubled for each next one (default 1 s).
    pub retry_delay: Duration,
    /// Use the proxies of the `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` environment variables
    /// (default `true`).
    pub proxy_from_env: bool,
    /// Read credentials' environment variables from this map instead of the process
    /// environment (tests, programs embedding Vigil).
    pub vars: Option<HashMap<String, String>>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            actor: "vigil-fetch".into(),
            window: Duration::from_secs(86_400),
            max_window: Duration::from_secs(365 * 86_400),
            max_window_entries: 400_000,
            until: None,
            max_pages: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(20),
            max_page_bytes: 64 << 20,
            retries: 3,
            retry_delay: Duration::from_secs(1),
            proxy_from_env: true,
            vars: None,
        }
    }
}

impl std::fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchOptions")
            .field("actor", &self.actor)
            .field("window", &self.window)
            .field("max_window", &self.max_window)
            .field("max_window_entries", &self.max_window_entries)
            .field("until", &self.until)
            .field("max_pages", &self.max_pages)
            .field("timeout", &self.timeout)
            .field("max_page_bytes", &self.max_page_bytes)
            .field("retries", &self.retries)
            .field(
                "vars",
                &self
                    .vars
                    .as_ref()
                    .map(|v| v.keys().map(|k| format!("{k}=***")).collect::<Vec<_>>()),
            )
            .finish_non_exhaustive()
    }
}

/// How a fetch ended, as recorded in the exchange's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything was fetched and applied.
    Ok,
    /// Everything was fetched; some entries were bad and skipped (counted, reported).
    Skipped,
    /// Stopped by [`FetchOptions::max_pages`]; the next fetch goes on from the checkpoint.
    Incomplete,
    /// Stopped by an error (see [`FetchReport::error`]); what was applied before it stays.
    Error,
}

impl Status {
    /// `ok`, `skipped`, `incomplete` or `error`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Incomplete => "incomplete",
            Status::Error => "error",
        }
    }
}

/// The most skipped-entry messages a report keeps (all are counted).
pub const MAX_SKIPPED_SHOWN: usize = 100;

/// What one fetch did.
#[derive(Debug)]
pub struct FetchReport {
    /// The exchange.
    pub exchange: String,
    /// Its kind.
    pub kind: String,
    /// Its bank.
    pub bank: String,
    /// Pages (NCMEC) or files (file) applied.
    pub pages: u64,
    /// Records applied.
    pub records: u64,
    /// Content items created.
    pub created: u64,
    /// Deletions applied.
    pub deletions: u64,
    /// Content items removed.
    pub removed: u64,
    /// Changes not applied because the same or a newer change was applied before (NCMEC).
    pub stale: u64,
    /// Entries skipped as bad.
    pub skipped: u64,
    /// The first [`MAX_SKIPPED_SHOWN`] of them, each naming its place.
    pub skipped_shown: Vec<String>,
    /// Files found unchanged (file).
    pub unchanged: u64,
    /// The checkpoint after the fetch.
    pub checkpoint: Option<String>,
    /// Whether the fetch got to the end (now, or the last file).
    pub complete: bool,
    /// Why it stopped early, if it did. What was applied before stays applied.
    pub error: Option<Error>,
}

impl FetchReport {
    fn new(ex: &Exchange) -> FetchReport {
        FetchReport {
            exchange: ex.name.clone(),
            kind: ex.kind.clone(),
            bank: ex.bank.clone(),
            pages: 0,
            records: 0,
            created: 0,
            deletions: 0,
            removed: 0,
            stale: 0,
            skipped: 0,
            skipped_shown: Vec::new(),
            unchanged: 0,
            checkpoint: ex.checkpoint.clone(),
            complete: false,
            error: None,
        }
    }

    /// How the fetch ended.
    pub fn status(&self) -> Status {
        if self.error.is_some() {
            Status::Error
        } else if !self.complete {
            Status::Incomplete
        } else if self.skipped > 0 {
            Status::Skipped
        } else {
            Status::Ok
        }
    }

    fn absorb(&mut self, r: PageReport, checkpoint: &str) {
        self.pages += 1;
        self.records += r.records;
        self.created += r.created;
        self.deletions += r.deletions;
        self.removed += r.removed;
        self.stale += r.stale;
        self.skipped += r.skipped.len() as u64;
        for s in r.skipped {
            if self.skipped_shown.len() < MAX_SKIPPED_SHOWN {
                self.skipped_shown.push(s);
            }
        }
        self.checkpoint = Some(checkpoint.to_string());
    }
}

/// Checks a configuration and adds the exchange to the store.
pub async fn add_exchange(
    store: &Store,
    actor: &str,
    name: &str,
    bank: &str,
    config: &ExchangeConfig,
) -> Result<Exchange, Error> {
    config.check(name)?;
    Ok(store
        .add_exchange(
            actor,
            &NewExchange {
                name: name.to_string(),
                kind: config.kind().to_string(),
                bank: bank.to_string(),
                config: config.to_json(),
            },
        )
        .await?)
}

/// Fetches one exchange from its checkpoint and records how the fetch ended in the store.
///
/// `Err` only when nothing could be started (no such exchange, the store failing); an error
/// during the fetch stops it, is recorded in the exchange's status and is returned in
/// [`FetchReport::error`], with what was applied before it.
pub async fn fetch(
    store: &Store,
    exchange: &str,
    options: &FetchOptions,
) -> Result<FetchReport, Error> {
    let ex = store.exchange(exchange).await?;
    let mut report = FetchReport::new(&ex);
    let result = match ExchangeConfig::from_stored(&ex.name, &ex.kind, &ex.config) {
        Ok(ExchangeConfig::File(c)) => file::fetch(store, &ex, &c, options, &mut report).await,
        Ok(ExchangeConfig::Ncmec(c)) => ncmec::fetch(store, &ex, &c, options, &mut report).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(exchange, error = %e, "fetch stopped");
        report.error = Some(e);
    }
    let message = report.error.as_ref().map(ToString::to_string);
    store
        .record_fetch_status(
            &options.actor,
            exchange,
            report.status().name(),
            message.as_deref(),
        )
        .await?;
    tracing::info!(
        exchange,
        status = report.status().name(),
        pages = report.pages,
        records = report.records,
        deletions = report.deletions,
        "fetch ended"
    );
    Ok(report)
}
