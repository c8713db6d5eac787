//! The `ncmec` exchange: the NCMEC hash sharing API v2 over HTTP(S).
//!
//! A fetch walks time windows `[from, to]` from the checkpoint's `from` up to now: it asks
//! `GET {base}/v2/entries?from=<ISO>&to=<ISO>` and follows each page's `<paging><next>` link
//! (a path under the base URL, only valid for the same `from`/`to`), applying every page with
//! the checkpoint after it:
//!
//! * `{"from": F, "to": T, "next": L}` — inside window `[F, T]`, the next page is `L`;
//! * `{"from": T, "to": null, "next": null}` — window done; the next one starts at `T`.
//!
//! Entries come in no time order, so nothing is ever derived from their timestamps. Window
//! bounds are shared (`to` of one is `from` of the next): an entry on a boundary may come twice,
//! and is applied once (pages are applied *ordered*, see `vigil_store::Page::ordered`).
//!
//! An NCMEC entry id is unique per member (ESP), not globally: the external id of an entry is
//! `<member id>-<entry id>` (as python-threatexchange keys them), or the entry id alone when the
//! member has no id.
//!
//! A malformed page stops the fetch with the checkpoint before it, so the next fetch asks for
//! it again; a bad entry in a page is counted, reported and skipped.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use vigil_exchange::ncmec::{NcmecItem, NcmecPage, parse_ncmec_page};
use vigil_exchange::record::{Record, Timestamp};
use vigil_store::{Exchange, Page, PageDeletion, Store};

use crate::config::{Credentials, NcmecConfig, base_url, credentials, shown_url};
use crate::{Error, FetchOptions, FetchReport};

/// Entries per window under which the next window is made longer (two of NCMEC's pages).
const GROW_BELOW: u64 = 2000;

/// The checkpoint of an NCMEC exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    /// Start of the current window, seconds since the Unix epoch.
    from: i64,
    /// End of the current window, when inside one.
    to: Option<i64>,
    /// The next page of the current window (the server's link, as sent).
    next: Option<String>,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, as the API takes it.
fn iso(secs: i64) -> String {
    Timestamp::from_unix_seconds(secs).map_or_else(|| secs.to_string(), |t| t.as_str().to_string())
}

pub(crate) async fn fetch(
    store: &Store,
    ex: &Exchange,
    cfg: &NcmecConfig,
    opts: &FetchOptions,
    report: &mut FetchReport,
) -> Result<(), Error> {
    let client = Client::new(ex, cfg, opts)?;
    let mut cp_text = ex.checkpoint.clone();
    let mut cp = match &cp_text {
        Some(t) => serde_json::from_str::<Checkpoint>(t).map_err(|e| Error::Config {
            exchange: ex.name.clone(),
            why: format!("its checkpoint {t} is not an NCMEC checkpoint: {e}"),
        })?,
        None => Checkpoint {
            from: cfg.start,
            to: None,
            next: None,
        },
    };
    let until = opts.until.unwrap_or_else(|| now_secs() - 5);
    let max_window = opts.max_window.as_secs().max(1) as i64;
    let mut window = (opts.window.as_secs().max(1) as i64).min(max_window);
    let mut window_entries = 0u64;
    loop {
        if opts.max_pages.is_some_and(|m| report.pages >= m) {
            return Ok(());
        }
        let (url, to, first) = match (cp.to, &cp.next) {
            (Some(to), Some(next)) => (
                client
                    .resolve_next(next)
                    .map_err(|why| Error::MalformedPage {
                        exchange: ex.name.clone(),
                        url: shown_url(next),
                        why,
                    })?,
                to,
                false,
            ),
            (to, _) => {
                if to.is_none() && cp.from >= until {
                    report.complete = true;
                    return Ok(());
                }
                let to = to.unwrap_or_else(|| cp.from.saturating_add(window).min(until));
                (client.entries_url(cp.from, to), to, true)
            }
        };
        let body = client.get(&url).await?;
        let shown = shown_url(url.as_str());
        let page = parse_ncmec_page(&body, &shown).map_err(|e| Error::MalformedPage {
            exchange: ex.name.clone(),
            url: shown.clone(),
            why: e.to_string(),
        })?;
        drop(body);
        let items = page_items(&page);
        if first && cp.to.is_none() && to - cp.from > 1 {
            let estimate = client.estimate(&page, items);
            if estimate > opts.max_window_entries {
                // Too much for one window: a quarter of it, asked again (nothing applied).
                window = ((to - cp.from) / 4).max(1);
                tracing::info!(exchange = %ex.name, estimate, window, "window too large, shortened");
                continue;
            }
        }
        let next_cp = match &page.next {
            Some(next) => {
                if cp.next.as_deref() == Some(next.as_str()) {
                    return Err(Error::MalformedPage {
                        exchange: ex.name.clone(),
                        url: shown,
                        why: "its next link is the page itself".into(),
                    });
                }
                if let Err(why) = client.resolve_next(next) {
                    return Err(Error::MalformedPage {
                        exchange: ex.name.clone(),
                        url: shown,
                        why,
                    });
                }
                Checkpoint {
                    from: cp.from,
                    to: Some(to),
                    next: Some(next.clone()),
                }
            }
            None => Checkpoint {
                from: to,
                to: None,
                next: None,
            },
        };
        let next_text = serde_json::to_string(&next_cp).expect("a checkpoint serialises");
        let (records, deletions, skipped) = convert(page);
        let r = store
            .apply_page(
                &opts.actor,
                &ex.name,
                Page {
                    records: records.into_iter().map(Ok::<Record, String>),
                    deletions: &deletions,
                    ordered: true,
                    expected_checkpoint: cp_text.as_deref(),
                    checkpoint: &next_text,
                    skipped: &skipped,
                },
            )
            .await?;
        report.absorb(r, &next_text);
        window_entries += items;
        if next_cp.next.is_none() {
            if window_entries < GROW_BELOW {
                window = window.saturating_mul(2).min(max_window);
            }
            window_entries = 0;
        }
        cp = next_cp;
        cp_text = Some(next_text);
    }
}

fn page_items(page: &NcmecPage) -> u64 {
    [&page.images, &page.videos]
        .into_iter()
        .flatten()
        .map(|s| s.items.len() as u64)
        .sum::<u64>()
        + page.errors.len() as u64
}

/// The page's records and deletions, keyed by `<member id>-<entry id>`, and its entry errors.
fn convert(page: NcmecPage) -> (Vec<Record>, Vec<PageDeletion>, Vec<String>) {
    let key = |id: &str, member: Option<&String>| match member {
        Some(m) => format!("{m}-{id}"),
        None => id.to_string(),
    };
    let mut records = Vec::new();
    let mut deletions = Vec::new();
    for section in [page.images, page.videos].into_iter().flatten() {
        for item in section.items {
            match item {
                NcmecItem::Entry(mut r) => {
                    if let Some(id) = r.ids.first_mut() {
                        *id = key(id, r.extra.get("ncmec.member_id"));
                    }
                    records.push(r);
                }
                NcmecItem::Deleted(d) => {
                    if let Some(id) = &d.id {
                        deletions.push(PageDeletion {
                            id: key(id, d.extra.get("ncmec.member_id")),
                            at: d.at.clone(),
                        });
                    }
                }
            }
        }
    }
    let skipped = page.errors.iter().map(ToString::to_string).collect();
    (records, deletions, skipped)
}

/// An HTTP client for one exchange: its base URL, credentials and limits.
struct Client {
    http: reqwest::Client,
    exchange: String,
    base: String,
    auth: Option<Credentials>,
    /// Where the credentials come from, for messages (names only).
    vars: String,
    max_bytes: u64,
    retries: u32,
    retry_delay: Duration,
    timeout: Duration,
}

impl Client {
    fn new(ex: &Exchange, cfg: &NcmecConfig, opts: &FetchOptions) -> Result<Client, Error> {
        let base = base_url(&cfg.base_url).map_err(|why| Error::Config {
            exchange: ex.name.clone(),
            why,
        })?;
        let auth = credentials(&ex.name, cfg, opts.vars.as_ref())?;
        let mut builder = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.connect_timeout)
            // Credentials go to the configured server only.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")));
        if !opts.proxy_from_env {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| Error::Config {
            exchange: ex.name.clone(),
            why: format!("setting up HTTP: {}", chain(&e)),
        })?;
        Ok(Client {
            http,
            exchange: ex.name.clone(),
            base,
            auth,
            vars: match (&cfg.user_env, &cfg.password_env) {
                (Some(u), Some(p)) => format!("${u} and ${p}"),
                _ => "the exchange's configuration (it names no credentials)".into(),
            },
            max_bytes: opts.max_page_bytes,
            retries: opts.retries,
            retry_delay: opts.retry_delay,
            timeout: opts.timeout,
        })
    }

    fn entries_url(&self, from: i64, to: i64) -> Url {
        let mut u = Url::parse(&format!("{}/v2/entries", self.base)).expect("a checked base URL");
        u.query_pairs_mut()
            .append_pair("from", &iso(from))
            .append_pair("to", &iso(to));
        u
    }

    /// The URL of a `next` link: a path under the base URL (`/v2/entries?…`), or an absolute URL
    /// under it. Anything else is refused: credentials go to the configured server only.
    fn resolve_next(&self, next: &str) -> Result<Url, String> {
        let full = if next.starts_with('/') && !next.starts_with("//") {
            format!("{}{next}", self.base)
        } else if next.starts_with(&format!("{}/", self.base)) {
            next.to_string()
        } else {
            return Err(format!(
                "its next link {:?} is not under {}",
                shown_url(next),
                self.base
            ));
        };
        let u =
            Url::parse(&full).map_err(|e| format!("its next link {:?}: {e}", shown_url(next)))?;
        if !u.as_str().starts_with(&format!("{}/", self.base)) || !u.username().is_empty() {
            return Err(format!(
                "its next link {:?} is not under {}",
                shown_url(next),
                self.base
            ));
        }
        Ok(u)
    }

    /// How many entries the page's window holds, as its `next` link tells (`max` less `start`,
    /// plus this page's entries), else this page's entries.
    fn estimate(&self, page: &NcmecPage, items: u64) -> u64 {
        let Some(u) = page.next.as_deref().and_then(|n| self.resolve_next(n).ok()) else {
            return items;
        };
        let get = |k: &str| {
            u.query_pairs()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.parse::<u64>().ok())
        };
        match (get("start"), get("max")) {
            (Some(start), Some(max)) => max.saturating_sub(start) + items,
            _ => items + 1,
        }
    }

    /// GETs a page: retried on 429, 5xx, time-outs and connection errors; its body read up to
    /// the size limit.
    async fn get(&self, url: &Url) -> Result<Vec<u8>, Error> {
        let shown = shown_url(url.as_str());
        let mut delay = self.retry_delay;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt > self.retries;
            match self.get_once(url, &shown).await {
                Ok(body) => return Ok(body),
                Err((e, retry)) if retry && !last => {
                    tracing::warn!(exchange = %self.exchange, error = %e, attempt,
                                   "request failed; trying again");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// One GET; the error says whether trying again may help.
    async fn get_once(&self, url: &Url, shown: &str) -> Result<Vec<u8>, (Error, bool)> {
        let mut req = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/xml");
        if let Some(c) = &self.auth {
            req = req.basic_auth(&c.user, Some(&c.password.0));
        }
        let http_error = |e: reqwest::Error| {
            let retry = e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
            let why = if e.is_timeout() {
                format!("no complete answer within {:?}", self.timeout)
            } else {
                chain(&e.without_url())
            };
            (
                Error::Http {
                    exchange: self.exchange.clone(),
                    url: shown.to_string(),
                    why,
                },
                retry,
            )
        };
        let mut resp = req.send().await.map_err(http_error)?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err((
                Error::Unauthorized {
                    exchange: self.exchange.clone(),
                    url: shown.to_string(),
                    status: status.as_u16(),
                    vars: self.vars.clone(),
                },
                false,
            ));
        }
        if !status.is_success() {
            let retry = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            let hint = if status.is_server_error() {
                ": the server failed (tried again; the next fetch resumes from the checkpoint)"
            } else if status == StatusCode::TOO_MANY_REQUESTS {
                ": too many requests (tried again; the next fetch resumes from the checkpoint)"
            } else if status.is_redirection() {
                ": a redirect, which is not followed (is the base URL right?)"
            } else if status == StatusCode::NOT_FOUND {
                ": not found (is the base URL right?)"
            } else {
                ""
            };
            return Err((
                Error::Status {
                    exchange: self.exchange.clone(),
                    url: shown.to_string(),
                    status: status.as_u16(),
                    hint: hint.to_string(),
                },
                retry,
            ));
        }
        let too_large = || {
            (
                Error::TooLarge {
                    exchange: self.exchange.clone(),
                    url: shown.to_string(),
                    limit: self.max_bytes,
                },
                false,
            )
        };
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(http_error)? {
            if body.len() as u64 + chunk.len() as u64 > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// An error and its sources, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_508_857_200), "2017-10-24T15:00:00Z");
    }

    #[test]
    fn checkpoints_serialise_as_documented() {
        let c = Checkpoint {
            from: 10,
            to: Some(20),
            next: Some("/v2/entries?from=a&to=b&start=3".into()),
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"from":10,"to":20,"next":"/v2/entries?from=a&to=b&start=3"}"#
        );
        let done = Checkpoint {
            from: 20,
            to: None,
            next: None,
        };
        assert_eq!(
            serde_json::to_string(&done).unwrap(),
            r#"{"from":20,"to":null,"next":null}"#
        );
    }
}
