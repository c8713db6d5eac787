//! Crawls in the server: read-only JSON under `/api/v1/crawls` (the crawls with their frontier
//! counts, a crawl's findings, the removal notices recorded for it and its takedown report) and
//! the page `/ui/crawls` (and `/ui/crawls/{crawl}`).
//!
//! **Who may see them.** Findings are URLs of known abuse material: every route here needs
//! [`Need::Write`], the curation grant, which only the admin and curator roles hold; matcher
//! and viewer callers get 403 before a handler runs. Nothing here changes the store (crawling,
//! re-checking and sending notices stay with `vigil crawl`).
//!
//! The takedown report here assigns each item to the provider of the last notice sent for it
//! (the server has no provider table; `unknown` for items no notice went to); percentiles are
//! nearest-rank, as in `vigil crawl report --takedown`. Every value from the store reaches a
//! page through [`escape`]; URLs are shown as text, never as links.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use vigil_store::{Crawl, Finding, SentNotice, Store};

use crate::auth::{Need, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::{Ctx, UiSession, escape, page_or_error, time_text, url_part};

/// Every route pattern here, for `/site-map`.
pub(crate) const PATTERNS: [&str; 6] = [
    "/api/v1/crawls",
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
        .map(|p| (p, vec!["get"]))
}

/// The need of a route here (`None`: not one of these): the curation grant for all.
pub(crate) fn need(pattern: &str) -> Option<Need> {
    PATTERNS.contains(&pattern).then_some(Need::Write)
}

/// The routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/crawls", get(crawls))
        .route("/api/v1/crawls/{crawl}/findings", get(findings))
        .route("/api/v1/crawls/{crawl}/notices", get(notices))
        .route("/api/v1/crawls/{crawl}/takedown", get(takedown))
        .route("/ui/crawls", get(crawls_page))
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
        "status": if n.sent() { "sent" } else { "failed" },
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

async fn findings(
    State(state): State<AppState>,
    Path(crawl): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let c = crawl_named(store, &crawl).await?;
    let list = store.crawl_findings(Some(&c.name)).await?;
    let history = histories(&store.crawl_notices(Some(&c.name)).await?);
    let list: Vec<Value> = list.iter().map(|f| finding_json(f, &history)).collect();
    Ok(Json(json!({ "crawl": c.name, "findings": list })))
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
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = async {
        let store = state.store();
        let list = store.crawls().await?;
        if list.is_empty() {
            return Ok::<_, ApiError>(
                "<p class=\"muted\" id=\"no-crawls\">No crawl yet (start one with \
                 <code>vigil crawl run</code>).</p>"
                    .to_string(),
            );
        }
        let mut out = String::from(
            "<table id=\"crawls\"><thead><tr><th>Crawl</th><th>Created</th><th>Finished</th>\
             <th>Done</th><th>Failed</th><th>Queued</th><th>Findings</th><th>Open</th></tr>\
             </thead><tbody>",
        );
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
        Ok(out)
    }
    .await;
    page_or_error(&ctx, r.map(|b| ("Crawls".to_string(), b, "/ui/crawls")))
}

fn takedown_table(id: &str, by: &str, rows: &[vigil_store::TakedownRow]) -> String {
    let mut out = format!(
        "<table id=\"{id}\"><thead><tr><th>{by}</th><th>Open</th><th>Removed</th>\
         <th>Median time to removal</th><th>90th percentile</th><th>Notices sent</th>\
         <th>First notice</th><th>Last notice</th></tr></thead><tbody>"
    );
    for r in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            escape(&r.name),
            r.open,
            r.removed,
            hours(r.median_removal_ms),
            hours(r.p90_removal_ms),
            r.notices_sent,
            when(r.first_notice_at),
            when(r.last_notice_at)
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
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = async {
        let store = state.store();
        let c = crawl_named(store, &crawl).await?;
        let findings = store.crawl_findings(Some(&c.name)).await?;
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
        out += "<h2>Findings</h2>";
        if findings.is_empty() {
            out += "<p class=\"muted\" id=\"no-findings\">No findings.</p>";
        } else {
            out += "<table id=\"findings\"><thead><tr><th>Host</th><th>URL</th><th>Found on</th>\
                    <th>IP</th><th>Bank</th><th>Match</th><th>Found</th><th>Removed</th>\
                    <th>Notices</th></tr></thead><tbody>";
            for f in &findings {
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
