//! Re-checking findings: is the material still up?
//!
//! Each URL with open findings (not yet recorded as removed) is fetched again with the crawler's
//! fetcher (same limits and proxy; redirects only within the URL's host). If the same bytes
//! (same SHA-256) come back, the findings are still up (`checked_at`); a 404 or 410, or other
//! bytes, records them as removed (`removed_at`), which gives the time to removal from the
//! finding's time. Any other failure (time-out, 5xx, connection) decides nothing: the findings
//! stay open for the next re-check. Scheduling is the operator's (a timer running `vigil crawl
//! recheck`, or `vigil crawl recheck --every`); the bytes are dropped once hashed, as in a crawl.
//! [`recheck_until`] stops between two URLs once its flag is set (on SIGINT/SIGTERM): a URL is
//! either re-checked and recorded or left as it was.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use url::Url;
use vigil_store::Store;

use crate::Error;
use crate::fetch::{FetchOptions, Fetcher};
use crate::media::sha256;
use crate::scope::normalize;

/// What a re-check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckReport {
    /// URLs fetched again.
    pub checked: u64,
    /// URLs still serving the same bytes.
    pub still_up: u64,
    /// URLs gone (404/410 or other bytes).
    pub removed: u64,
    /// URLs that could not be checked, with the error.
    pub errors: Vec<(String, String)>,
    /// Whether it stopped (its flag set) before every URL was re-checked.
    pub stopped: bool,
}

/// Re-checks the open findings of one crawl (by name) or of all.
pub async fn recheck(
    store: &Store,
    crawl: Option<&str>,
    options: &FetchOptions,
) -> Result<RecheckReport, Error> {
    recheck_until(store, crawl, options, &AtomicBool::new(false)).await
}

/// [`recheck`], stopping before the next URL once `stop` is set.
pub async fn recheck_until(
    store: &Store,
    crawl: Option<&str>,
    options: &FetchOptions,
    stop: &AtomicBool,
) -> Result<RecheckReport, Error> {
    let fetcher = Fetcher::new(options.clone())?;
    let mut urls: BTreeMap<String, [u8; 32]> = BTreeMap::new();
    for f in store.crawl_findings(crawl).await? {
        if f.removed_at.is_none() {
            urls.insert(f.finding.url, f.finding.sha256);
        }
    }
    let mut report = RecheckReport::default();
    for (url, sha) in urls {
        if stop.load(Ordering::SeqCst) {
            report.stopped = true;
            break;
        }
        let parsed: Url = match normalize(&url) {
            Ok(u) => u,
            Err(e) => {
                report.errors.push((url, e.to_string()));
                continue;
            }
        };
        let host = parsed.host_str().map(str::to_string);
        let same_host = |u: &Url| u.host_str().map(str::to_string) == host;
        report.checked += 1;
        let removed = match fetcher.fetch(&parsed, &same_host).await {
            Ok(f) => sha256(&f.body) != sha,
            Err(Error::Status { status, .. }) if status == 404 || status == 410 => true,
            Err(e) => {
                tracing::info!(%url, error = %e, "re-check failed");
                report.errors.push((url, e.to_string()));
                continue;
            }
        };
        store.crawl_recheck(&url, removed).await?;
        if removed {
            report.removed += 1;
        } else {
            report.still_up += 1;
        }
    }
    Ok(report)
}
