//! Crawls in the server: JSON under `/api/v1/crawls` (the crawls with their frontier counts, a
//! crawl's findings a page at a time, the removal notices recorded for it and its takedown
//! report; the queue of reported URLs) and the page `/ui/crawls` (with a form to report URLs)
//! and `/ui/crawls/{crawl}`.
//!
//! **Who may see them.** Findings are URLs of known abuse material: every route here needs
//! [`Need::Write`], the curation grant, which only the admin and curator roles hold; matcher
//! and viewer callers get 403 before a handler runs. The same goes for reporting URLs
//! (`POST /api/v1/crawls/reports`): reported URLs are suspected material (listing them is as
//! sensitive as findings), and a report makes the crawler fetch from the outside world on the
//! next `vigil crawl run --from-queue`, a curation decision; a hotline's intake system reports
//! with a curator key. Each submission is audited (`crawl.report`: counts and queue ids, no
//! URLs). The only change made here is queueing reports (crawling, re-checking and sending
//! notices stay with `vigil crawl`).
//!
//! The takedown report here assigns each item to the provider of the last notice sent for it
//! (the server has no provider table; `unknown` for items no notice went to); percentiles are
//! nearest-rank, as in `vigil crawl report --takedown`. Every value from the store reaches a
//! page through [`escape`]; URLs are shown as text, never as links.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use vigil_store::{Crawl, Finding, Report, ReportState, SentNotice, Store};

use crate::api::number;
use crate::auth::{Need, Principal};
use crate::error::ApiError;
use crate::hma::Params;
use crate::state::AppState;
use crate::ui::{Ctx, UiSession, escape, page_or_error, time_text, url_part};

/// Findings per page of `GET /api/v1/crawls/{crawl}/findings` unless `limit` says otherwise.
pub const FINDINGS_PAGE: i64 = 100;
/// The largest `limit` of the findings and reports lists.
pub const MAX_PAGE: i64 = 1000;
/// Findings per page of `/ui/crawls/{crawl}`.
const UI_FINDINGS_PAGE: i64 = 50;
/// URLs one report submission may carry.
pub const MAX_REPORTS: usize = 10_000;

/// Every route pattern here, for `/site-map`.
pub(crate) const PATTERNS: [&str; 7] = [
    "/api/v1/crawls",
    "/api/v1/crawls/reports",
    "/api/v1/crawls/{crawl}/findings",
    "/api/v1/crawls/{crawl}/notices",
    "/api/v1/crawls/{crawl}/takedown",
    "/ui/crawls",
    "/ui/crawls/{crawl}",
];

/// The `/api/v1` routes here with their methods (for the OpenAPI check).
pub(crate) fn api_routes() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    PATTERNS
        .into_iter()
        .filter(|p| p.starts_with("/api/"))
        .map(|p| {
            if p == "/api/v1/crawls/reports" {
                (p, vec!["get", "post"])
            } else {
                (p, vec!["get"])
            }
        })
}

/// The need of a route here (`None`: not one of these): the curation grant for all.
pub(crate) fn need(pattern: &str) -> Option<Need> {
    PATTERNS.contains(&pattern).then_some(Need::Write)
}

/// The routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/crawls", get(crawls))
        .route("/api/v1/crawls/reports", get(reports).post(submit_reports))
        .route("/api/v1/crawls/{crawl}/findings", get(findings))
        .route("/api/v1/crawls/{crawl}/notices", get(notices))
        .route("/api/v1/crawls/{crawl}/takedown", get(takedown))
        .route("/ui/crawls", get(crawls_page).post(report_form))
        .route("/ui/crawls/{crawl}", get(crawl_page))
}

type ApiResult<T> = Result<T, ApiError>;

async fn crawl_named(store: &Store, name: &str) -> ApiResult<Crawl> {
    store
        .crawl(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no crawl named {name:?}")))
}

async fn crawl_json(store: &Store, c: &Crawl) -> ApiResult<Value> {
    let counts = store.crawl_counts(c.id).await?;
    let findings = store.crawl_findings(Some(&c.name)).await?;
    let open = findings.iter().filter(|f| f.removed_at.is_none()).count();
    Ok(json!({
        "name": c.name,
        "settings": serde_json::from_str::<Value>(&c.settings).unwrap_or(Value::Null),
        "created_at_ms": c.created_at,
        "updated_at_ms": c.updated_at,
        "finished_at_ms": c.finished_at,
        "frontier": {
            "queued": counts.queued,
            "fetching": counts.fetching,
            "done": counts.done,
            "failed": counts.failed,
        },
        "findings": findings.len(),
        "open_findings": open,
    }))
}

fn finding_json(f: &Finding, history: &BTreeMap<i64, (i64, Option<i64>)>) -> Value {
    let n = &f.finding;
    let (sent, last) = history.get(&f.id).copied().unwrap_or((0, None));
    json!({
        "id": f.id,
        "crawl": f.crawl,
        "url": n.url,
        "page_url": n.page_url,
        "host": n.host,
        "ip": n.ip,
        "kind": n.kind,
        "sha256": hex::encode(n.sha256),
        "md5": n.md5,
        "sha1": n.sha1,
        "pdq": n.pdq,
        "bank": n.bank,
        "content_id": n.content_id,
        "signal_kind": n.signal_kind,
        "distance": n.distance,
        "found_at_ms": f.found_at,
        "checked_at_ms": f.checked_at,
        "removed_at_ms": f.removed_at,
        "notices_sent": sent,
        "last_notice_at_ms": last,
    })
}

fn notice_json(n: &SentNotice) -> Value {
    let s = &n.notice;
    json!({
        "id": n.id,
        "crawl": s.crawl,
        "provider": s.provider,
        "contact": s.contact,
        "hosts": s.hosts,
        "channel": s.channel,
        "recipient": s.recipient,
        "subject": s.subject,
        "sequence": s.sequence,
        "reminder": s.sequence > 1,
        "message_id": s.message_id,
        "sent_at_ms": s.sent_at,
        "status": match (n.sent(), s.uncontactable) {
            (true, _) => "sent",
            (false, true) => "uncontactable",
            (false, false) => "failed",
        },
        "error": s.error,
        "findings": s.findings,
    })
}

fn histories(notices: &[SentNotice]) -> BTreeMap<i64, (i64, Option<i64>)> {
    vigil_store::notice_history(notices)
        .into_iter()
        .map(|(id, h)| (id, (h.sent, h.last_at)))
        .collect()
}

async fn crawls(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let store = state.store();
    let mut out = Vec::new();
    for c in store.crawls().await? {
        out.push(crawl_json(store, &c).await?);
    }
    Ok(Json(json!({ "crawls": out })))
}

/// A page of findings by id after `after`, and the cursor of the next page (`None`: none).
async fn findings_page(
    store: &Store,
    crawl: &str,
    after: Option<i64>,
    limit: i64,
) -> ApiResult<(Vec<Finding>, Option<i64>)> {
    // One more than asked, to know whether there is a next page.
    let mut list = store.crawl_findings_page(crawl, after, limit + 1).await?;
    let next = if list.len() as i64 > limit {
        list.truncate(limit as usize);
        list.last().map(|f| f.id)
    } else {
        None
    };
    Ok((list, next))
}

/// The `limit` and `after` of a paged list: `limit` 1..=[`MAX_PAGE`] (`default` when absent),
/// `after` a whole number (none: from the start).
fn page_params(q: Option<String>, default: i64) -> ApiResult<(i64, Option<i64>, Params)> {
    let p = Params::parse(q);
    let limit = number(&p, "limit", default)?;
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad(format!(
            "limit: {limit} is not between 1 and {MAX_PAGE}"
        )));
    }
    let after = p.get("after").map(|_| number(&p, "after", 0)).transpose()?;
    Ok((limit, after, p))
}

/// `GET /api/v1/crawls/{crawl}/findings?limit=N&after=ID` → `{"crawl", "findings", "next"}`:
/// findings by id (the order they were recorded), `next` the `after` of the next page.
async fn findings(
    State(state): State<AppState>,
    Path(crawl): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let (limit, after, _) = page_params(q, FINDINGS_PAGE)?;
    let store = state.store();
    let c = crawl_named(store, &crawl).await?;
    let (list, next) = findings_page(store, &c.name, after, limit).await?;
    let history = histories(&store.crawl_notices(Some(&c.name)).await?);
    let list: Vec<Value> = list.iter().map(|f| finding_json(f, &history)).collect();
    Ok(Json(
        json!({ "crawl": c.name, "findings": list, "next": next }),
    ))
}

fn report_json(r: &Report) -> Value {
    let status = match (r.state, &r.crawl) {
        (ReportState::Taken, Some(c)) => format!("taken by crawl {c}"),
        (s, _) => s.name().to_string(),
    };
    json!({
        "id": r.id,
        "url": r.url,
        "host": r.host,
        "state": r.state.name(),
        "crawl": r.crawl,
        "status": status,
        "submitted_by": r.submitted_by,
        "times": r.times,
        "created_at_ms": r.created_at,
        "updated_at_ms": r.updated_at,
        "taken_at_ms": r.taken_at,
        "done_at_ms": r.done_at,
    })
}

/// `GET /api/v1/crawls/reports?state=pending|taken|done&limit=N&after=ID` → `{"reports",
/// "next"}`, by id.
async fn reports(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let (limit, after, p) = page_params(q, FINDINGS_PAGE)?;
    let which = match p.get("state") {
        None | Some("") | Some("all") => None,
        Some(s) => Some(ReportState::parse(s).ok_or_else(|| {
            ApiError::bad(format!("state: {s:?} is not pending, taken, done or all"))
        })?),
    };
    let mut list = state.store().crawl_reports(which, after, limit + 1).await?;
    let next = if list.len() as i64 > limit {
        list.truncate(limit as usize);
        list.last().map(|r| r.id)
    } else {
        None
    };
    Ok(Json(json!({
        "reports": list.iter().map(report_json).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// URLs to report from a body: JSON `{"urls": [..]}` (each entry its own line, numbered from
/// 1) or text, one URL a line (blank lines and `#` comments skipped). `(line, input)` pairs.
fn report_lines(headers: &HeaderMap, body: &[u8]) -> ApiResult<Vec<(usize, String)>> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let lines: Vec<(usize, String)> = if ctype.starts_with("application/json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad(format!("the body is not JSON: {e}")))?;
        let urls = v
            .get("urls")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::bad("expected {\"urls\": [\"https://…\", …]}"))?;
        urls.iter()
            .enumerate()
            .map(|(i, u)| (i + 1, u.as_str().map(str::to_string).unwrap_or_default()))
            .collect()
    } else if ctype.starts_with("text/plain") {
        let text =
            std::str::from_utf8(body).map_err(|_| ApiError::bad("the body is not UTF-8 text"))?;
        text_lines(text)
    } else {
        return Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/json ({\"urls\": [...]}) or text/plain (one URL a line)",
        ));
    };
    if lines.is_empty() {
        return Err(ApiError::bad("no URL to report"));
    }
    if lines.len() > MAX_REPORTS {
        return Err(ApiError::bad(format!(
            "{} URLs: at most {MAX_REPORTS} a request",
            lines.len()
        )));
    }
    Ok(lines)
}

fn text_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#')
        })
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

/// Queues the URLs and audits the submission; the answer lists each line's outcome.
async fn submit(state: &AppState, who: &Principal, lines: &[(usize, String)]) -> ApiResult<Value> {
    let urls: Vec<String> = lines.iter().map(|(_, u)| u.clone()).collect();
    let results = state.store().crawl_reports_submit(&urls, &who.name).await?;
    let (mut queued, mut merged, mut refused) = (0u64, 0u64, 0u64);
    let mut ids = Vec::new();
    let out: Vec<Value> = lines
        .iter()
        .zip(&results)
        .map(|((line, input), r)| match r {
            Ok(s) => {
                ids.push(s.id);
                if s.merged {
                    merged += 1;
                } else {
                    queued += 1;
                }
                json!({"line": line, "url": s.url, "id": s.id,
                       "status": if s.merged { "merged" } else { "queued" }})
            }
            Err(e) => {
                refused += 1;
                // The input is echoed only up to a bound (a refused URL may be huge).
                let shown: String = input.chars().take(200).collect();
                json!({"line": line, "input": shown, "status": "refused", "error": e})
            }
        })
        .collect();
    state
        .audit(
            &who.name,
            "crawl.report",
            None,
            json!({"queued": queued, "merged": merged, "refused": refused, "ids": ids}),
        )
        .await;
    Ok(json!({"queued": queued, "merged": merged, "refused": refused, "results": out}))
}

/// `POST /api/v1/crawls/reports`: queue URLs for a crawl (see [`report_lines`] for the body).
/// 200 with one result per line (`queued`, `merged` into a pending report of the same URL, or
/// `refused` with the reason); 400 for a body with no URL or too many.
async fn submit_reports(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let lines = report_lines(&headers, &body)?;
    Ok(Json(submit(&state, &who, &lines).await?))
}

async fn notices(
    State(state): State<AppState>,
    Path(crawl): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let c = crawl_named(store, &crawl).await?;
    let list: Vec<Value> = store
        .crawl_notices(Some(&c.name))
        .await?
        .iter()
        .map(notice_json)
        .collect();
    Ok(Json(json!({ "crawl": c.name, "notices": list })))
}

async fn takedown_of(store: &Store, crawl: &str) -> ApiResult<vigil_store::Takedown> {
    let findings = store.crawl_findings(Some(crawl)).await?;
    let notices = store.crawl_notices(Some(crawl)).await?;
    Ok(vigil_store::takedown(&findings, &notices, &|_| None))
}

async fn takedown(
    State(state): State<AppState>,
    Path(crawl): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let c = crawl_named(store, &crawl).await?;
    let t = takedown_of(store, &c.name).await?;
    Ok(Json(json!({
        "crawl": c.name,
        "percentiles": "nearest-rank",
        "hosts": t.hosts,
        "providers": t.providers,
    })))
}

// ---------------------------------------------------------------------------------------------
// Pages

fn when(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_string(), time_text)
}

fn hours(ms: Option<i64>) -> String {
    ms.map_or_else(
        || "—".to_string(),
        |ms| format!("{:.1} h", ms as f64 / 3.6e6),
    )
}

async fn crawls_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = crawls_body(&state, &ctx, q, String::new()).await;
    page_or_error(&ctx, r.map(|b| ("Crawls".to_string(), b, "/ui/crawls")))
}

/// `POST /ui/crawls` (the report form, `urls` one a line): queues them as the API does and
/// shows the crawls page with each line's outcome on top.
async fn report_form(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    body: Bytes,
) -> Response {
    let ctx = Ctx::new(who.clone(), session);
    let r = async {
        let text: String = url::form_urlencoded::parse(&body)
            .filter(|(k, _)| k == "urls")
            .map(|(_, v)| v.into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        let lines = text_lines(&text);
        let outcome = if lines.is_empty() {
            "<p class=\"error\" id=\"report-result\">No URL given.</p>".to_string()
        } else if lines.len() > MAX_REPORTS {
            format!(
                "<p class=\"error\" id=\"report-result\">{} URLs: at most {MAX_REPORTS} at \
                 once.</p>",
                lines.len()
            )
        } else {
            let v = submit(&state, &who, &lines).await?;
            let mut out = format!(
                "<div id=\"report-result\"><p>{} queued, {} merged into a pending report of \
                 the same URL, {} refused.</p>",
                v["queued"], v["merged"], v["refused"]
            );
            let refused: Vec<&Value> = v["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["status"] == "refused")
                .collect();
            if !refused.is_empty() {
                out += "<ul class=\"error\">";
                for r in refused {
                    let _ = write!(
                        out,
                        "<li>line {}: <code>{}</code>: {}</li>",
                        r["line"],
                        escape(r["input"].as_str().unwrap_or("")),
                        escape(r["error"].as_str().unwrap_or(""))
                    );
                }
                out += "</ul>";
            }
            out += "</div>";
            out
        };
        crawls_body(&state, &ctx, None, outcome).await
    }
    .await;
    page_or_error(&ctx, r.map(|b| ("Crawls".to_string(), b, "/ui/crawls")))
}

/// The crawls page: `outcome` (a report submission's result, HTML), the crawls, the report
/// form and the queue (paged by `reports_after`).
async fn crawls_body(
    state: &AppState,
    ctx: &Ctx,
    q: Option<String>,
    outcome: String,
) -> ApiResult<String> {
    let p = Params::parse(q);
    let reports_after = p
        .get("reports_after")
        .map(|_| number(&p, "reports_after", 0))
        .transpose()?;
    let store = state.store();
    let list = store.crawls().await?;
    let mut out = outcome;
    if list.is_empty() {
        out += "<p class=\"muted\" id=\"no-crawls\">No crawl yet (start one with \
                <code>vigil crawl run</code>).</p>";
    } else {
        out += "<table id=\"crawls\"><thead><tr><th>Crawl</th><th>Created</th><th>Finished</th>\
                <th>Done</th><th>Failed</th><th>Queued</th><th>Findings</th><th>Open</th></tr>\
                </thead><tbody>";
        for c in &list {
            let counts = store.crawl_counts(c.id).await?;
            let findings = store.crawl_findings(Some(&c.name)).await?;
            let open = findings.iter().filter(|f| f.removed_at.is_none()).count();
            let _ = write!(
                out,
                "<tr><td><a href=\"/ui/crawls/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                url_part(&c.name),
                escape(&c.name),
                time_text(c.created_at),
                when(c.finished_at),
                counts.done,
                counts.failed,
                counts.queued,
                findings.len(),
                open
            );
        }
        out.push_str("</tbody></table>");
    }
    let _ = write!(
        out,
        "<h2>Report URLs</h2><p class=\"muted\">One URL a line (http or https; onion \
         addresses too; no user name or password). They wait in the queue until \
         <code>vigil crawl run --from-queue</code> takes them.</p>\
         <form method=\"post\" action=\"/ui/crawls\" id=\"report-form\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <textarea name=\"urls\" rows=\"5\" cols=\"80\" placeholder=\"https://…\"></textarea>\
         <br><button type=\"submit\">Queue for crawling</button></form><h2>Queue</h2>",
        escape(ctx.csrf())
    );
    let mut reports = store
        .crawl_reports(None, reports_after, UI_FINDINGS_PAGE + 1)
        .await?;
    let next = if reports.len() as i64 > UI_FINDINGS_PAGE {
        reports.truncate(UI_FINDINGS_PAGE as usize);
        reports.last().map(|r| r.id)
    } else {
        None
    };
    if reports.is_empty() {
        out += "<p class=\"muted\" id=\"no-reports\">No reported URL.</p>";
    } else {
        out += "<table id=\"reports\"><thead><tr><th>URL</th><th>Reported</th><th>By</th>\
                <th>Times</th><th>Status</th></tr></thead><tbody>";
        for r in &reports {
            let status = match (r.state, &r.crawl) {
                (ReportState::Taken, Some(c)) => format!(
                    "taken by crawl <a href=\"/ui/crawls/{}\">{}</a>",
                    url_part(c),
                    escape(c)
                ),
                (s, _) => s.name().to_string(),
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td>\
                 </tr>",
                escape(&r.url),
                time_text(r.created_at),
                escape(&r.submitted_by),
                r.times
            );
        }
        out += "</tbody></table>";
        if let Some(n) = next {
            let _ = write!(
                out,
                "<p><a id=\"reports-next\" href=\"/ui/crawls?reports_after={n}\">Next page</a></p>"
            );
        }
    }
    Ok(out)
}

fn takedown_table(id: &str, by: &str, rows: &[vigil_store::TakedownRow]) -> String {
    let mut out = format!(
        "<table id=\"{id}\"><thead><tr><th>{by}</th><th>Open</th><th>Removed</th>\
         <th>Median time to removal</th><th>90th percentile</th><th>Notices sent</th>\
         <th>First notice</th><th>Last notice</th><th>Uncontactable</th></tr></thead><tbody>"
    );
    for r in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&r.name),
            r.open,
            r.removed,
            hours(r.median_removal_ms),
            hours(r.p90_removal_ms),
            r.notices_sent,
            when(r.first_notice_at),
            when(r.last_notice_at),
            r.uncontactable
        );
    }
    out.push_str("</tbody></table>");
    out
}

async fn crawl_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Path(crawl): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = async {
        let (_, after, _) = page_params(q, UI_FINDINGS_PAGE)?;
        let store = state.store();
        let c = crawl_named(store, &crawl).await?;
        let findings = store.crawl_findings(Some(&c.name)).await?;
        let (page, next) = findings_page(store, &c.name, after, UI_FINDINGS_PAGE).await?;
        let notices = store.crawl_notices(Some(&c.name)).await?;
        let history = histories(&notices);
        let t = vigil_store::takedown(&findings, &notices, &|_| None);
        let mut out = String::from(
            "<p class=\"muted\">Findings are URLs of known material: shown as text, never \
             linked. Times to removal are nearest-rank percentiles.</p><h2>Takedown per host</h2>",
        );
        out += &takedown_table("takedown-hosts", "Host", &t.hosts);
        out += "<h2>Takedown per provider</h2>";
        out += &takedown_table("takedown-providers", "Provider", &t.providers);
        let _ = write!(
            out,
            "<h2>Findings</h2><p class=\"muted\">{} in all, {UI_FINDINGS_PAGE} a page, in the \
             order they were found.</p>",
            findings.len()
        );
        if page.is_empty() {
            out += "<p class=\"muted\" id=\"no-findings\">No findings.</p>";
        } else {
            out += "<table id=\"findings\"><thead><tr><th>Host</th><th>URL</th><th>Found on</th>\
                    <th>IP</th><th>Bank</th><th>Match</th><th>Found</th><th>Removed</th>\
                    <th>Notices</th></tr></thead><tbody>";
            for f in &page {
                let n = &f.finding;
                let sent = history.get(&f.id).map_or(0, |h| h.0);
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td>\
                     <td>{}</td><td>{} {} (distance {})</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&n.host),
                    escape(&n.url),
                    escape(n.page_url.as_deref().unwrap_or("—")),
                    escape(n.ip.as_deref().unwrap_or("—")),
                    escape(&n.bank),
                    escape(&n.signal_kind),
                    n.content_id,
                    n.distance,
                    time_text(f.found_at),
                    when(f.removed_at),
                    sent
                );
            }
            out += "</tbody></table>";
        }
        if let Some(n) = next {
            let _ = write!(
                out,
                "<p><a id=\"findings-next\" href=\"/ui/crawls/{}?after={n}\">Next page</a></p>",
                url_part(&c.name)
            );
        }
        out += "<h2>Notices</h2>";
        if notices.is_empty() {
            out += "<p class=\"muted\" id=\"no-notices\">No notice recorded (send them with \
                    <code>vigil crawl notices --send</code>).</p>";
        } else {
            out += "<table id=\"notices\"><thead><tr><th>Sent</th><th>Provider</th>\
                    <th>Recipient</th><th>Channel</th><th>Notice</th><th>Items</th>\
                    <th>Status</th></tr></thead><tbody>";
            for n in &notices {
                let s = &n.notice;
                let status = match &s.error {
                    None => "sent".to_string(),
                    Some(e) if s.uncontactable => {
                        format!("<span class=\"error\">uncontactable</span>: {}", escape(e))
                    }
                    Some(e) => format!("<span class=\"error\">failed</span>: {}", escape(e)),
                };
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td>\
                     <td>{status}</td></tr>",
                    time_text(s.sent_at),
                    escape(&s.provider),
                    escape(&s.recipient),
                    escape(&s.channel),
                    s.sequence,
                    if s.sequence > 1 { " (reminder)" } else { "" },
                    s.findings.len()
                );
            }
            out += "</tbody></table>";
        }
        Ok::<_, ApiError>((format!("Crawl {}", c.name), out))
    }
    .await;
    page_or_error(&ctx, r.map(|(t, b)| (t, b, "/ui/crawls")))
}
