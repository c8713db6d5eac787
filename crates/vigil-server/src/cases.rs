//! The case registry over HTTP: statistics, incident records, candidate networks with explained
//! links, analysts' link decisions, manual entry (the child module `entry`: the whole incident,
//! duplicates at entry, adding a source), and their UI pages (`/ui/cases…`).
//!
//! **Who sees what** (the access model; `docs/cases.md` has the table):
//!
//! * *Analysts* — the roles admin and curator — read incident records and the network analysis,
//!   decide links and enter incidents. Identifiers that name a person (kinds person, phone,
//!   handle) are masked (`[hidden phone #1a2b3c]`: the tag is a keyed digest, the same for the
//!   same value within one server process, so an analyst sees which incidents share a phone
//!   without seeing it) unless the request reveals them with a reason (`reveal=1&reason=…`),
//!   which is audited (`cases.reveal`).
//! * *Viewers* see aggregate statistics only, with small-number suppression applied here, on
//!   the server; a viewer's `k` is never below [`MIN_K`] whatever the request asks.
//! * *Matchers* have no case access (the middleware refuses them every case route).
//! * Exact points never leave the server: records are read without them and carry the district.
//! * **Record scope**: an API key (`key:NAME`) or a UI user (`user:NAME`) may be limited to some
//!   provinces and districts ([`vigil_store::Store::case_scope`]). Every case route filters by
//!   it: an incident outside the scope answers 404, as one that does not exist, statistics and
//!   networks are computed over the scope's incidents only, and an entry outside it is refused.
//!
//! Every read of a case record (`cases.incident.read`, `cases.incidents.list` with the
//! references listed, `cases.network.read`), every export (`cases.export`), reveal, decision and
//! entry is in the audit log, written before the answer is sent.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_cases::areas::Areas;
use vigil_cases::model::{IdentifierKind, Incident};
use vigil_cases::network::{self, Graph, Link, NetworkOptions};
use vigil_cases::stats::{self, Dim};
use vigil_store::{LinkDecision, NewAudit};

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use crate::ui::{Ctx, UiSession, escape, forbidden_page, html, render, url_part};

mod entry;
pub use entry::{
    MAX_AGE_BAND, MAX_ENTRY_LIST, MAX_LINK, MAX_OUTLET, MAX_SOURCES, MAX_VALUE, parse_entry,
};

/// The lowest suppression threshold a viewer gets (and the default for everyone).
pub const MIN_K: u64 = 5;
/// Incidents per page of the list.
pub const PAGE: usize = 50;
/// The largest page a caller may ask for.
pub const MAX_PAGE: usize = 500;
/// The longest reason for a reveal, in bytes.
pub const MAX_REASON: usize = 1000;

/// The cases pages' script (graph layout, decisions, the entry form).
pub(crate) const SCRIPT: &str = include_str!("ui/cases.js");

/// The case API's paths and methods, for the OpenAPI check and `/site-map`.
pub fn api_routes() -> BTreeMap<&'static str, Vec<&'static str>> {
    BTreeMap::from([
        ("/api/v1/cases/stats", vec!["get"]),
        ("/api/v1/cases/incidents", vec!["get", "post"]),
        ("/api/v1/cases/incidents/{reference}", vec!["get"]),
        ("/api/v1/cases/incidents/{reference}/sources", vec!["post"]),
        ("/api/v1/cases/networks", vec!["get"]),
        ("/api/v1/cases/networks/{reference}", vec!["get"]),
        ("/api/v1/cases/links", vec!["get", "post"]),
        ("/api/v1/cases/scopes", vec!["get", "put"]),
        ("/api/v1/cases/areas", vec!["get", "put"]),
    ])
}

/// The cases UI pages, for `/site-map`.
pub(crate) const PATTERNS: [&str; 6] = [
    "/ui/cases",
    "/ui/cases/incidents",
    "/ui/cases/incidents/{reference}",
    "/ui/cases/new",
    "/ui/cases/networks",
    "/ui/cases/networks/{reference}",
];

/// The routes of the case API and pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/stats", get(stats_api))
        .route(
            "/api/v1/cases/incidents",
            get(incidents_api).post(entry::entry_api),
        )
        .route("/api/v1/cases/incidents/{reference}", get(incident_api))
        .route(
            "/api/v1/cases/incidents/{reference}/sources",
            post(entry::add_source_api),
        )
        .route("/api/v1/cases/networks", get(networks_api))
        .route("/api/v1/cases/networks/{reference}", get(network_api))
        .route("/api/v1/cases/links", get(decisions_api).post(decide_api))
        .route("/api/v1/cases/scopes", get(scopes_api).put(scope_put))
        .route("/api/v1/cases/areas", get(areas_api).put(areas_put))
        .route("/ui/cases", get(stats_page))
        .route("/ui/cases/incidents", get(incidents_page))
        .route("/ui/cases/incidents/{reference}", get(incident_page))
        .route("/ui/cases/new", get(entry::entry_page))
        .route("/ui/cases/networks", get(networks_page))
        .route("/ui/cases/networks/{reference}", get(network_page))
}

// ---------------------------------------------------------------------------------------------
// The caller

/// What a caller may see of the registry.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub who: Principal,
    /// `key:NAME` or `user:NAME` (the scope's subject).
    pub subject: String,
    /// Areas the caller is limited to (empty: none).
    pub scope: Vec<String>,
    /// Reads records and networks (admin, curator); otherwise statistics only.
    pub analyst: bool,
}

impl Caller {
    /// Whether the incident lies inside the caller's scope.
    pub fn sees(&self, inc: &Incident) -> bool {
        in_scope(&self.scope, &inc.area.province, &inc.area.district)
    }

    pub(crate) fn need_analyst(&self) -> Result<(), ApiError> {
        if self.analyst {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the role {} sees case statistics only, not records",
                self.who.role.name()
            )))
        }
    }
}

/// Whether an incident of `province`/`district` lies in `scope` (empty: everything).
pub fn in_scope(scope: &[String], province: &str, district: &str) -> bool {
    scope.is_empty() || scope.iter().any(|a| a == province || a == district)
}

/// The scope subject of a request: a session's user, else the API key's name.
fn subject(who: &Principal, session: bool) -> String {
    if session {
        format!("user:{}", who.name)
    } else {
        format!("key:{}", who.name)
    }
}

pub(crate) async fn caller(
    state: &AppState,
    who: Principal,
    session: bool,
) -> Result<Caller, ApiError> {
    let analyst = match who.role {
        Role::Admin | Role::Curator => true,
        Role::Viewer => false,
        Role::Matcher => {
            return Err(ApiError::forbidden(
                "the role matcher has no access to case records",
            ));
        }
    };
    let subject = subject(&who, session);
    let scope = state.store().case_scope(&subject).await?;
    Ok(Caller {
        who,
        subject,
        scope,
        analyst,
    })
}

/// Writes one audit entry now (case reads are not batched: the entry is stored before the
/// record is sent).
pub(crate) async fn audit(
    state: &AppState,
    who: &Caller,
    action: &str,
    detail: Value,
) -> Result<(), ApiError> {
    state
        .store()
        .record_audit(&[NewAudit {
            at: now_ms(),
            actor: who.who.name.clone(),
            action: action.into(),
            bank: None,
            content_id: None,
            detail,
        }])
        .await?;
    Ok(())
}

/// The caller's incidents (inside the scope), without points.
///
/// The registry is read from the store whole once and kept in memory: reading 100,000
/// incidents back takes seconds, the tables and the network analysis well under two. The
/// store's change counter is read first on every call, so a change committed by any process
/// sharing the store is seen by the next request, which merges in only the incidents changed
/// since ([`registry`]).
pub(crate) async fn load(state: &AppState, c: &Caller) -> Result<Vec<Incident>, ApiError> {
    let (_, all) = registry(state, &c.who.name).await?;
    Ok(visible(&all, c))
}

/// The incidents of `all` inside the caller's scope, without points.
fn visible(all: &[Incident], c: &Caller) -> Vec<Incident> {
    all.iter()
        .filter(|i| c.sees(i))
        .map(|i| {
            let mut i = i.clone();
            i.area.point = None;
            i
        })
        .collect()
}

/// The whole registry without points (ordered by reference) and the store's change counter it
/// was read at: from memory when the store has not changed since it was read, else the copy in
/// memory with the incidents changed since merged in, else read whole (the reads are audited
/// by the store as `cases.read` by `actor`). A change landing between the counter and the read
/// is merged early and merged again by the next call: merging is by reference, so twice is
/// harmless.
async fn registry(state: &AppState, actor: &str) -> Result<(i64, Arc<Vec<Incident>>), ApiError> {
    let mut cached = state.0.cases.lock().await;
    let version = state.store().cases_version().await?;
    let all = match cached.as_ref() {
        Some((v, all)) if *v == version => return Ok((version, all.clone())),
        Some((v, _)) if *v < version => {
            let changed = state.store().incidents_changed(*v, actor).await?;
            let (_, mut all) = cached.take().expect("matched above");
            // In place when no request holds the old copy any more; else on a copy.
            merge_by_ref(Arc::make_mut(&mut all), changed);
            all
        }
        _ => {
            let mut all = state.store().incidents(actor, false).await?;
            all.sort_by(|a, b| a.id.cmp(&b.id));
            Arc::new(all)
        }
    };
    *cached = Some((version, all.clone()));
    Ok((version, all))
}

/// Puts `changed` into `all` (ordered by reference, byte order): an incident of `changed`
/// replaces the one with its reference, or is added in order.
fn merge_by_ref(all: &mut Vec<Incident>, changed: Vec<Incident>) {
    let mut added = Vec::new();
    for new in changed {
        match all.binary_search_by(|o| o.id.as_str().cmp(&new.id)) {
            Ok(i) => all[i] = new,
            Err(_) => added.push(new),
        }
    }
    if !added.is_empty() {
        // Two sorted runs, which a stable sort merges in linear time.
        added.sort_by(|a, b| a.id.cmp(&b.id));
        all.extend(added);
        all.sort_by(|a, b| a.id.cmp(&b.id));
    }
}

// ---------------------------------------------------------------------------------------------
// Masking

/// Whether identifiers of `kind` name a person (masked unless revealed).
pub fn masked_kind(kind: IdentifierKind) -> bool {
    matches!(
        kind,
        IdentifierKind::Person | IdentifierKind::Phone | IdentifierKind::Handle
    )
}

fn mask_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

/// The masked form of a value: its kind and a tag keyed per process.
pub fn mask(kind: IdentifierKind, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(mask_key());
    h.update(kind.name().as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    let tag = hex::encode(&h.finalize()[..3]);
    format!("[hidden {} #{tag}]", kind.name())
}

fn shown(kind: IdentifierKind, value: &str, reveal: bool) -> String {
    if reveal || !masked_kind(kind) {
        value.to_string()
    } else {
        mask(kind, value)
    }
}

/// The incident as sent: no point, person identifiers masked unless `reveal`.
fn view(inc: &Incident, reveal: bool) -> Value {
    let mut out = inc.clone();
    out.area.point = None;
    for x in &mut out.identifiers {
        x.value = shown(x.kind, &x.value, reveal);
    }
    let mut v = serde_json::to_value(&out).unwrap_or(Value::Null);
    v["revealed"] = json!(reveal);
    v
}

/// A reveal request: `reveal=1` with a `reason`.
fn reveal_of(q: &HashMap<String, String>) -> Result<Option<String>, ApiError> {
    let wants = q
        .get("reveal")
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
    if !wants {
        return Ok(None);
    }
    let reason = q.get("reason").map(|r| r.trim()).unwrap_or_default();
    if reason.is_empty() {
        return Err(ApiError::bad(
            "revealing names needs a reason (reason=…), which is audited",
        ));
    }
    if reason.len() > MAX_REASON {
        return Err(ApiError::bad(format!(
            "the reason is {} bytes, at most {MAX_REASON}",
            reason.len()
        )));
    }
    Ok(Some(reason.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// The dimension named `s` (`year`, `half`, `category`, `subtype`, `sex`, `age`, `abuser`,
/// `place`, `province`, `district`, `locality`, `registered`, `reported`).
pub fn dim(s: &str) -> Option<Dim> {
    Some(match s {
        "year" => Dim::Year,
        "half" | "half_year" => Dim::HalfYear,
        "category" => Dim::Category,
        "subtype" => Dim::Subtype,
        "sex" => Dim::Sex,
        "age" | "age_band" => Dim::AgeBand,
        "abuser" | "abuser_category" => Dim::AbuserCategory,
        "place" => Dim::Place,
        "province" => Dim::Province,
        "district" => Dim::District,
        "locality" => Dim::Locality,
        "registered" => Dim::Registered,
        "reported" => Dim::Reported,
        _ => return None,
    })
}

const DIMS: [&str; 13] = [
    "year",
    "half",
    "category",
    "subtype",
    "sex",
    "age",
    "abuser",
    "place",
    "province",
    "district",
    "locality",
    "registered",
    "reported",
];

/// A statistics request.
struct StatsQuery {
    rows: Dim,
    rows_name: String,
    cols: Option<Dim>,
    cols_name: Option<String>,
    year: Option<i32>,
    k: u64,
}

fn stats_query(q: &HashMap<String, String>, c: &Caller) -> Result<StatsQuery, ApiError> {
    let unknown = |v: &str, what: &str| {
        ApiError::bad(format!(
            "unknown {what} dimension {v:?} (one of {})",
            DIMS.join(", ")
        ))
    };
    let rows_name = q.get("rows").map_or("year", String::as_str).to_string();
    let rows = dim(&rows_name).ok_or_else(|| unknown(&rows_name, "rows"))?;
    let cols_name = q.get("cols").filter(|v| !v.is_empty()).cloned();
    let cols = match &cols_name {
        Some(v) => Some(dim(v).ok_or_else(|| unknown(v, "cols"))?),
        None => None,
    };
    let year = match q.get("year").filter(|v| !v.is_empty()) {
        Some(y) => Some(
            y.parse::<i32>()
                .map_err(|_| ApiError::bad(format!("year {y:?} is not a year")))?,
        ),
        None => None,
    };
    let asked = match q.get("k").filter(|v| !v.is_empty()) {
        Some(k) => k
            .parse::<u64>()
            .ok()
            .filter(|k| (1..=1000).contains(k))
            .ok_or_else(|| ApiError::bad(format!("k {k:?} is not a number from 1 to 1000")))?,
        None => MIN_K,
    };
    // A viewer never gets a lower threshold than the server's.
    let k = if c.analyst { asked } else { asked.max(MIN_K) };
    Ok(StatsQuery {
        rows,
        rows_name,
        cols,
        cols_name,
        year,
        k,
    })
}

fn stats_table(incs: &[Incident], q: &StatsQuery) -> Result<Value, ApiError> {
    let picked: Vec<Incident> = match q.year {
        Some(y) => incs.iter().filter(|i| i.date.year == y).cloned().collect(),
        None => incs.to_vec(),
    };
    let t = stats::crosstab(&picked, q.rows, q.cols).map_err(|e| ApiError::bad(e.to_string()))?;
    let s = stats::suppress(&t, q.k);
    let cells: Vec<Vec<String>> = (0..t.rows.len())
        .map(|r| (0..t.cols.len()).map(|c| s.cell_text(r, c)).collect())
        .collect();
    let mut out = json!({
        "rows_dim": q.rows_name,
        "cols_dim": q.cols_name,
        "year": q.year,
        "unit": t.unit,
        "k": q.k,
        "rows": t.rows,
        "cols": t.cols,
        "cells": cells,
        "total": t.total(),
    });
    // A one-way table publishes only its grand total beside the cells (the suppression
    // assumes so); a two-way table its margins too.
    if !s.one_way() {
        out["row_totals"] = json!(t.row_totals());
        out["col_totals"] = json!(t.col_totals());
    }
    Ok(out)
}

async fn stats_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    let sq = stats_query(&q, &c)?;
    let incs = load(&state, &c).await?;
    let table = stats_table(&incs, &sq)?;
    let csv = q.get("format").is_some_and(|f| f == "csv");
    audit(
        &state,
        &c,
        if csv { "cases.export" } else { "cases.stats" },
        json!({"rows": sq.rows_name, "cols": sq.cols_name, "year": sq.year, "k": sq.k,
               "format": if csv { "csv" } else { "json" }, "scope": c.scope}),
    )
    .await?;
    if csv {
        let picked: Vec<Incident> = match sq.year {
            Some(y) => incs.into_iter().filter(|i| i.date.year == y).collect(),
            None => incs,
        };
        let t =
            stats::crosstab(&picked, sq.rows, sq.cols).map_err(|e| ApiError::bad(e.to_string()))?;
        let mut out = Vec::new();
        stats::write_csv(&mut out, &stats::suppress(&t, sq.k)).map_err(ApiError::internal)?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    Ok(Json(table).into_response())
}

// ---------------------------------------------------------------------------------------------
// Incidents

struct ListQuery {
    year: Option<i32>,
    district: Option<String>,
    category: Option<String>,
    page: usize,
    per_page: usize,
}

fn list_query(q: &HashMap<String, String>) -> Result<ListQuery, ApiError> {
    let nonempty = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let num = |k: &str, default: usize, max: usize| -> Result<usize, ApiError> {
        match nonempty(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| ApiError::bad(format!("{k} {v:?} is not a number from 1 to {max}"))),
        }
    };
    Ok(ListQuery {
        year: match nonempty("year") {
            Some(y) => Some(
                y.parse()
                    .map_err(|_| ApiError::bad(format!("year {y:?} is not a year")))?,
            ),
            None => None,
        },
        district: nonempty("district"),
        category: nonempty("category"),
        page: num("page", 1, 1_000_000)?,
        per_page: num("per_page", PAGE, MAX_PAGE)?,
    })
}

/// The summary row of an incident in a list (no identifiers, no persons).
fn summary(inc: &Incident) -> Value {
    json!({
        "id": inc.id,
        "date": inc.date.to_string(),
        "category": inc.category,
        "subtype": inc.subtype,
        "province": inc.area.province,
        "district": inc.area.district,
        "victims": inc.victims.len(),
        "abusers": inc.abusers.len(),
        "sources": inc.sources.len(),
    })
}

struct Listed {
    rows: Vec<Value>,
    total: usize,
    q: ListQuery,
}

async fn list(
    state: &AppState,
    c: &Caller,
    q: &HashMap<String, String>,
) -> Result<Listed, ApiError> {
    c.need_analyst()?;
    let lq = list_query(q)?;
    let incs = load(state, c).await?;
    let matching: Vec<&Incident> = incs
        .iter()
        .filter(|i| lq.year.is_none_or(|y| i.date.year == y))
        .filter(|i| lq.district.as_ref().is_none_or(|d| &i.area.district == d))
        .filter(|i| lq.category.as_ref().is_none_or(|k| &i.category == k))
        .collect();
    let total = matching.len();
    let page: Vec<&Incident> = matching
        .into_iter()
        .skip((lq.page - 1).saturating_mul(lq.per_page))
        .take(lq.per_page)
        .collect();
    audit(
        state,
        c,
        "cases.incidents.list",
        json!({"incidents": page.iter().map(|i| &i.id).collect::<Vec<_>>(),
               "year": lq.year, "district": lq.district, "category": lq.category,
               "page": lq.page}),
    )
    .await?;
    Ok(Listed {
        rows: page.into_iter().map(summary).collect(),
        total,
        q: lq,
    })
}

async fn incidents_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    let l = list(&state, &c, &q).await?;
    Ok(Json(json!({
        "total": l.total,
        "page": l.q.page,
        "per_page": l.q.per_page,
        "incidents": l.rows,
    })))
}

/// One incident for the caller (404 when absent or outside the scope), audited; a reveal
/// is audited apart with its reason.
async fn one(
    state: &AppState,
    c: &Caller,
    reference: &str,
    q: &HashMap<String, String>,
) -> Result<(Incident, Option<String>, Vec<LinkDecision>), ApiError> {
    c.need_analyst()?;
    let reveal = reveal_of(q)?;
    let incs = load(state, c).await?;
    let Some(inc) = incs.into_iter().find(|i| i.id == reference) else {
        return Err(ApiError::not_found(format!("no incident {reference}")));
    };
    audit(
        state,
        c,
        "cases.incident.read",
        json!({"incident": inc.id, "revealed": reveal.is_some()}),
    )
    .await?;
    if let Some(reason) = &reveal {
        audit(
            state,
            c,
            "cases.reveal",
            json!({"incident": inc.id, "reason": reason,
                   "fields": ["identifiers.person", "identifiers.phone", "identifiers.handle"]}),
        )
        .await?;
    }
    let decisions = state
        .store()
        .case_link_decisions()
        .await?
        .into_iter()
        .filter(|d| d.a == inc.id || d.b == inc.id)
        .collect();
    Ok((inc, reveal, decisions))
}

fn decision_json(d: &LinkDecision) -> Value {
    json!({
        "a": d.a, "b": d.b,
        "decision": if d.confirmed { "confirm" } else { "reject" },
        "note": d.note, "actor": d.actor, "decided_at": d.decided_at,
    })
}

async fn incident_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    let (inc, reveal, decisions) = one(&state, &c, &reference, &q).await?;
    let mut v = view(&inc, reveal.is_some());
    v["decisions"] = decisions.iter().map(decision_json).collect();
    Ok(Json(v))
}

// ---------------------------------------------------------------------------------------------
// Networks

/// A link as analysed, with the decision on it.
struct NetLink {
    a: usize,
    b: usize,
    score: f64,
    link: Option<Link>,
    decision: Option<LinkDecision>,
}

/// A candidate network: members (indices), links (indices), total evidence.
struct NetCandidate {
    members: Vec<usize>,
    links: Vec<usize>,
    score: f64,
}

struct Net {
    incidents: Vec<Incident>,
    links: Vec<NetLink>,
    candidates: Vec<NetCandidate>,
}

/// The network analysis of `incidents` with the analysts' decisions: rejected links dropped,
/// confirmed ones kept whatever their score (a confirmed pair with no shared identifier is a
/// link of score 0), then components again.
fn analyse(incidents: Vec<Incident>, decisions: Vec<LinkDecision>) -> Net {
    let opts = NetworkOptions::default();
    let threshold = opts.min_score;
    // Links below the threshold are only wanted when an analyst confirmed some link (they are
    // many, and the graph algorithms inside `analyse` would run on all of them).
    let any_confirmed = decisions.iter().any(|d| d.confirmed);
    let all = network::analyse(
        &incidents,
        &NetworkOptions {
            min_score: if any_confirmed { 0.0 } else { threshold },
            ..opts
        },
    );
    let index: HashMap<&str, usize> = incidents
        .iter()
        .enumerate()
        .map(|(i, inc)| (inc.id.as_str(), i))
        .collect();
    let mut decided: HashMap<(usize, usize), LinkDecision> = HashMap::new();
    for d in decisions {
        if let (Some(&a), Some(&b)) = (index.get(d.a.as_str()), index.get(d.b.as_str())) {
            decided.insert((a.min(b), a.max(b)), d);
        }
    }
    let mut links = Vec::new();
    let mut seen = HashSet::new();
    for l in all.links {
        let key = (l.a, l.b);
        seen.insert(key);
        let d = decided.remove(&key);
        let keep = match &d {
            Some(d) => d.confirmed,
            None => l.score >= threshold,
        };
        if keep {
            links.push(NetLink {
                a: l.a,
                b: l.b,
                score: l.score,
                link: Some(l),
                decision: d,
            });
        }
    }
    let mut rest: Vec<((usize, usize), LinkDecision)> = decided.into_iter().collect();
    rest.sort_by_key(|(k, _)| *k);
    for ((a, b), d) in rest {
        if d.confirmed && !seen.contains(&(a, b)) {
            links.push(NetLink {
                a,
                b,
                score: 0.0,
                link: None,
                decision: Some(d),
            });
        }
    }
    links.sort_by_key(|l| (l.a, l.b));
    let g = Graph::new(
        incidents.len(),
        &links
            .iter()
            .map(|l| (l.a, l.b, l.score.max(1e-9)))
            .collect::<Vec<_>>(),
    );
    let mut link_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (li, l) in links.iter().enumerate() {
        link_of.entry(l.a).or_default().push(li);
    }
    let mut candidates: Vec<NetCandidate> = network::components(&g)
        .into_iter()
        .filter(|c| c.len() >= 2)
        .map(|mut members| {
            members.sort_by(|x, y| incidents[*x].id.cmp(&incidents[*y].id));
            let mut ls: Vec<usize> = members
                .iter()
                .flat_map(|m| link_of.get(m).cloned().unwrap_or_default())
                .collect();
            ls.sort_unstable();
            NetCandidate {
                score: ls.iter().map(|&l| links[l].score).sum(),
                members,
                links: ls,
            }
        })
        .collect();
    candidates.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(incidents[x.members[0]].id.cmp(&incidents[y.members[0]].id))
    });
    Net {
        incidents,
        links,
        candidates,
    }
}

impl Net {
    /// The link in words, person identifiers masked unless `reveal`.
    fn explain(&self, l: &NetLink, reveal: bool) -> String {
        let (a, b) = (&self.incidents[l.a].id, &self.incidents[l.b].id);
        let Some(link) = &l.link else {
            return format!(
                "{a} and {b} share no identifier; they are linked by an analyst's confirmation"
            );
        };
        let parts: Vec<String> = link
            .evidence
            .iter()
            .map(|e| match e.distance {
                Some(d) => format!(
                    "{a} names media hash {} and {b} names {}, {d} bits apart (named by {} \
                     incidents, weight {:.2})",
                    e.value, e.other_value, e.df, e.weight
                ),
                None => format!(
                    "both name {} {} (named by {} incidents, weight {:.2})",
                    e.kind.name(),
                    shown(e.kind, &e.value, reveal),
                    e.df,
                    e.weight
                ),
            })
            .collect();
        let mut s = format!("{a} and {b} (score {:.2}): {}", l.score, parts.join("; "));
        if l.score < NetworkOptions::default().min_score {
            s.push_str("; below the threshold, kept because an analyst confirmed it");
        }
        s
    }

    fn link_json(&self, li: usize, reveal: bool) -> Value {
        let l = &self.links[li];
        json!({
            "a": self.incidents[l.a].id,
            "b": self.incidents[l.b].id,
            "score": l.score,
            "explanation": self.explain(l, reveal),
            "evidence": l.link.as_ref().map(|k| k.evidence.iter().map(|e| json!({
                "kind": e.kind.name(),
                "value": shown(e.kind, &e.value, reveal),
                "other_value": shown(e.kind, &e.other_value, reveal),
                "df": e.df, "weight": e.weight, "distance": e.distance,
            })).collect::<Vec<_>>()).unwrap_or_default(),
            "decision": l.decision.as_ref().map(decision_json),
        })
    }

    fn candidate_json(&self, c: &NetCandidate, reveal: bool) -> Value {
        json!({
            "id": self.incidents[c.members[0]].id,
            "score": c.score,
            "incidents": c.members.iter().map(|&m| {
                let i = &self.incidents[m];
                json!({"id": i.id, "date": i.date.to_string(), "category": i.category,
                       "province": i.area.province, "district": i.area.district})
            }).collect::<Vec<_>>(),
            "links": c.links.iter().map(|&l| self.link_json(l, reveal)).collect::<Vec<_>>(),
        })
    }

    fn containing(&self, reference: &str) -> Option<&NetCandidate> {
        self.candidates
            .iter()
            .find(|c| c.members.iter().any(|&m| self.incidents[m].id == reference))
    }
}

/// Network analyses by what they were made from: the registry's change counter, the caller's
/// scope and the analysts' decisions (which the counter does not count), the most recently
/// used [`NET_CACHE`] kept. The analysis of 100,000 incidents takes most of a second; pages and
/// API calls that follow one another reuse it until something it depends on changes.
#[derive(Default)]
pub(crate) struct NetCache(Vec<NetEntry>);

struct NetEntry {
    version: i64,
    scope: Vec<String>,
    decisions: Vec<LinkDecision>,
    net: Arc<Net>,
}

/// Analyses kept (one per scope in use, for the few scopes a deployment has).
const NET_CACHE: usize = 4;

async fn net_of(state: &AppState, c: &Caller) -> Result<Arc<Net>, ApiError> {
    c.need_analyst()?;
    let (version, all) = registry(state, &c.who.name).await?;
    let decisions = state.store().case_link_decisions().await?;
    // Held while analysing: requests that need the same analysis wait for it rather than
    // repeat it.
    let mut cache = state.0.networks.lock().await;
    if let Some(i) = cache
        .0
        .iter()
        .position(|e| e.version == version && e.scope == c.scope && e.decisions == decisions)
    {
        let e = cache.0.remove(i);
        let net = e.net.clone();
        cache.0.push(e);
        return Ok(net);
    }
    let incs = visible(&all, c);
    let d = decisions.clone();
    let net = Arc::new(
        tokio::task::spawn_blocking(move || analyse(incs, d))
            .await
            .map_err(ApiError::internal)?,
    );
    if cache.0.len() >= NET_CACHE {
        cache.0.remove(0);
    }
    cache.0.push(NetEntry {
        version,
        scope: c.scope.clone(),
        decisions,
        net: net.clone(),
    });
    Ok(net)
}

fn top_of(q: &HashMap<String, String>) -> Result<usize, ApiError> {
    match q.get("top").filter(|v| !v.is_empty()) {
        None => Ok(20),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::bad(format!("top {v:?} is not a number from 1 to 1000"))),
    }
}

async fn networks_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    let top = top_of(&q)?;
    let net = net_of(&state, &c).await?;
    let shown: Vec<&NetCandidate> = net.candidates.iter().take(top).collect();
    audit(
        &state,
        &c,
        "cases.network.read",
        json!({"candidates": shown.iter().map(|k| &net.incidents[k.members[0]].id).collect::<Vec<_>>()}),
    )
    .await?;
    Ok(Json(json!({
        "total": net.candidates.len(),
        "candidates": shown.iter().map(|k| net.candidate_json(k, false)).collect::<Vec<_>>(),
    })))
}

async fn network_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    let v = network_one(&state, &c, &reference, &q).await?;
    Ok(Json(v))
}

async fn network_one(
    state: &AppState,
    c: &Caller,
    reference: &str,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    c.need_analyst()?;
    let reveal = reveal_of(q)?;
    let net = net_of(state, c).await?;
    let Some(k) = net.containing(reference) else {
        return Err(ApiError::not_found(format!(
            "no candidate network holds incident {reference}"
        )));
    };
    let members: Vec<&String> = k.members.iter().map(|&m| &net.incidents[m].id).collect();
    audit(
        state,
        c,
        "cases.network.read",
        json!({"network": members[0], "incidents": members, "revealed": reveal.is_some()}),
    )
    .await?;
    if let Some(reason) = &reveal {
        audit(
            state,
            c,
            "cases.reveal",
            json!({"network": members[0], "incidents": members, "reason": reason,
                   "fields": ["identifiers.person", "identifiers.phone", "identifiers.handle"]}),
        )
        .await?;
    }
    let mut v = net.candidate_json(k, reveal.is_some());
    v["revealed"] = json!(reveal.is_some());
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Link decisions

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decide {
    a: String,
    b: String,
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    c.need_analyst()?;
    let d: Decide = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("a link decision is {{a, b, decision, note}}: {e}")))?;
    let confirmed = match d.decision.as_str() {
        "confirm" => true,
        "reject" => false,
        other => {
            return Err(ApiError::bad(format!(
                "decision {other:?}: confirm or reject"
            )));
        }
    };
    if d.note.trim().is_empty() {
        return Err(ApiError::bad("a link decision needs a note saying why"));
    }
    // Both incidents must exist and lie in the caller's scope (else 404, as absent).
    let incs = load(&state, &c).await?;
    for r in [&d.a, &d.b] {
        if !incs.iter().any(|i| &i.id == r) {
            return Err(ApiError::not_found(format!("no incident {r}")));
        }
    }
    let saved = state
        .store()
        .decide_case_link(&c.who.name, &d.a, &d.b, confirmed, d.note.trim())
        .await?;
    Ok((StatusCode::CREATED, Json(decision_json(&saved))).into_response())
}

async fn decisions_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    c.need_analyst()?;
    let incs = load(&state, &c).await?;
    let mine: HashSet<&str> = incs.iter().map(|i| i.id.as_str()).collect();
    let ds: Vec<Value> = state
        .store()
        .case_link_decisions()
        .await?
        .iter()
        .filter(|d| mine.contains(d.a.as_str()) && mine.contains(d.b.as_str()))
        .map(decision_json)
        .collect();
    Ok(Json(json!({"decisions": ds})))
}

// ---------------------------------------------------------------------------------------------
// Scopes and areas (admin)

fn need_admin(who: &Principal) -> Result<(), ApiError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "the role {} may not manage case scopes or areas",
            who.role.name()
        )))
    }
}

async fn scopes_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    need_admin(&who)?;
    let s = state.store().case_scopes().await?;
    Ok(Json(
        json!({"scopes": s.iter().map(|s| json!({"subject": s.subject, "areas": s.areas})).collect::<Vec<_>>()}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopePut {
    subject: String,
    #[serde(default)]
    areas: Vec<String>,
}

async fn scope_put(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    need_admin(&who)?;
    let s: ScopePut = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("a scope is {{subject, areas}}: {e}")))?;
    state
        .store()
        .set_case_scope(&who.name, &s.subject, &s.areas)
        .await?;
    let areas = state.store().case_scope(&s.subject).await?;
    Ok(Json(json!({"subject": s.subject, "areas": areas})))
}

async fn areas_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Areas>, ApiError> {
    if who.role == Role::Matcher {
        return Err(ApiError::forbidden(
            "the role matcher has no access to cases",
        ));
    }
    Ok(Json(state.store().case_areas().await?))
}

async fn areas_put(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    need_admin(&who)?;
    let areas: Areas = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("not an area hierarchy: {e}")))?;
    for (code, d) in &areas.districts {
        let p = d.parent.as_deref().unwrap_or_default();
        if !areas.provinces.contains_key(p) {
            return Err(ApiError::bad(format!(
                "district {code} names province {p:?}, which is not in the hierarchy"
            )));
        }
    }
    state.store().save_case_areas(&who.name, &areas).await?;
    Ok(Json(json!({
        "provinces": areas.provinces.len(),
        "districts": areas.districts.len(),
        "tehsils": areas.tehsils.len(),
    })))
}

// ---------------------------------------------------------------------------------------------
// Pages

/// A page of the cases UI, or its error page; a viewer asking for a records page gets the
/// "not allowed" page.
pub(crate) async fn page(
    state: &AppState,
    who: Principal,
    session: Option<Extension<UiSession>>,
    pattern: &str,
    body: impl AsyncFnOnce(&Caller) -> Result<(String, String), ApiError>,
) -> Response {
    let has_session = session.is_some();
    let ctx = Ctx::new(who.clone(), session.clone());
    let c = match caller(state, who.clone(), has_session).await {
        Ok(c) => c,
        Err(e) => return error_page(&ctx, e),
    };
    match body(&c).await {
        Ok((title, html_body)) => html(
            StatusCode::OK,
            render(Some(&ctx), &title, "/ui/cases", &html_body),
        ),
        Err(e) if e.status == StatusCode::FORBIDDEN => forbidden_page(
            &who,
            session.as_ref().map(|s| &s.0),
            &axum::http::Method::GET,
            pattern,
        ),
        Err(e) => error_page(&ctx, e),
    }
}

fn error_page(ctx: &Ctx, e: ApiError) -> Response {
    let msg = e
        .body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the request failed")
        .to_string();
    html(
        e.status,
        render(
            Some(ctx),
            "Error",
            "/ui/cases",
            &format!("<p class=\"alert\">{}</p>", escape(&msg)),
        ),
    )
}

pub(crate) fn cases_menu(c: &Caller) -> String {
    let mut s = String::from(
        "<nav class=\"sub\" aria-label=\"Cases\"><a href=\"/ui/cases\">Statistics</a> · <a href=\"/ui/cases/map\">Map</a>",
    );
    if c.analyst {
        s.push_str(
            " · <a href=\"/ui/cases/incidents\">Incidents</a> · <a href=\"/ui/cases/networks\">Networks</a> · <a href=\"/ui/cases/new\">New incident</a>",
        );
    }
    s.push_str("</nav>");
    if !c.scope.is_empty() {
        let _ = write!(
            s,
            "<p class=\"muted\" id=\"scope\">Your record scope: {}</p>",
            escape(&c.scope.join(", "))
        );
    }
    s
}

fn select(name: &str, options: &[&str], current: &str, blank: bool) -> String {
    let mut s = format!("<select name=\"{name}\" id=\"{name}\">");
    if blank {
        s.push_str("<option value=\"\">—</option>");
    }
    for o in options {
        let sel = if *o == current { " selected" } else { "" };
        let _ = write!(s, "<option value=\"{o}\"{sel}>{o}</option>");
    }
    s.push_str("</select>");
    s
}

async fn stats_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page(&state, who, session, "/ui/cases", async |c: &Caller| {
        let sq = stats_query(&q, c)?;
        let incs = load(&state, c).await?;
        let t = stats_table(&incs, &sq)?;
        audit(
            &state,
            c,
            "cases.stats",
            json!({"rows": sq.rows_name, "cols": sq.cols_name,
              "year": sq.year, "k": sq.k, "format": "html", "scope": c.scope}),
        )
        .await?;
        let mut b = cases_menu(c);
        let _ = write!(
            b,
            "<form method=\"get\" action=\"/ui/cases\" class=\"filters\">\
             <label>Rows {}</label> <label>Columns {}</label> \
             <label>Year <input name=\"year\" id=\"year\" size=\"5\" value=\"{}\"></label> \
             <button type=\"submit\">Show</button></form>",
            select("rows", &DIMS, &sq.rows_name, false),
            select("cols", &DIMS, sq.cols_name.as_deref().unwrap_or(""), true),
            sq.year.map(|y| y.to_string()).unwrap_or_default(),
        );
        let _ = write!(
            b,
            "<p class=\"muted\">Counts of {} (unit: {}); cells below {} are shown as \"&lt;{}\", \
             and further cells that would give them away as \"x\".</p>",
            incs.len(),
            escape(t["unit"].as_str().unwrap_or("")),
            sq.k,
            sq.k
        );
        b.push_str("<table id=\"stats\"><thead><tr><th></th>");
        let cols: Vec<String> = t["cols"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        for col in &cols {
            let _ = write!(b, "<th>{}</th>", escape(col));
        }
        b.push_str("</tr></thead><tbody>");
        let rows = t["rows"].as_array().cloned().unwrap_or_default();
        let cells = t["cells"].as_array().cloned().unwrap_or_default();
        for (r, row) in rows.iter().enumerate() {
            let _ = write!(b, "<tr><th>{}</th>", escape(row.as_str().unwrap_or("")));
            for cell in cells[r].as_array().cloned().unwrap_or_default() {
                let _ = write!(
                    b,
                    "<td class=\"num\">{}</td>",
                    escape(cell.as_str().unwrap_or(""))
                );
            }
            b.push_str("</tr>");
        }
        let _ = write!(
            b,
            "</tbody></table><p>Total: <span id=\"total\">{}</span></p>",
            t["total"]
        );
        Ok(("Cases".to_string(), b))
    })
    .await
}

async fn incidents_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page(
        &state,
        who,
        session,
        "/ui/cases/incidents",
        async |c: &Caller| {
            let l = list(&state, c, &q).await?;
            let mut b = cases_menu(c);
            let val = |k: &str| escape(q.get(k).map_or("", String::as_str));
            let _ = write!(
                b,
                "<form method=\"get\" action=\"/ui/cases/incidents\" class=\"filters\">\
             <label>Year <input name=\"year\" size=\"5\" value=\"{}\"></label> \
             <label>District <input name=\"district\" size=\"8\" value=\"{}\"></label> \
             <label>Category <input name=\"category\" size=\"12\" value=\"{}\"></label> \
             <button type=\"submit\">Filter</button></form>",
                val("year"),
                val("district"),
                val("category")
            );
            let _ = write!(b, "<p>{} incidents</p>", l.total);
            b.push_str(
                "<table id=\"incidents\"><thead><tr><th>Incident</th><th>Date</th><th>Category</th>\
             <th>Subtype</th><th>District</th><th>Victims</th></tr></thead><tbody>",
            );
            for r in &l.rows {
                let s = |k: &str| escape(r[k].as_str().unwrap_or(""));
                let _ = write!(
                    b,
                    "<tr><td><a href=\"/ui/cases/incidents/{}\">{}</a></td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{} ({})</td><td class=\"num\">{}</td></tr>",
                    url_part(r["id"].as_str().unwrap_or("")),
                    s("id"),
                    s("date"),
                    s("category"),
                    s("subtype"),
                    s("district"),
                    s("province"),
                    r["victims"]
                );
            }
            b.push_str("</tbody></table>");
            let mut nav = String::new();
            let base = |page: usize| {
                let mut u = format!("/ui/cases/incidents?page={page}");
                for k in ["year", "district", "category"] {
                    if let Some(v) = q.get(k).filter(|v| !v.is_empty()) {
                        let _ = write!(u, "&{k}={}", url_part(v));
                    }
                }
                escape(&u)
            };
            if l.q.page > 1 {
                let _ = write!(nav, "<a href=\"{}\">Previous</a> ", base(l.q.page - 1));
            }
            if l.q.page * l.q.per_page < l.total {
                let _ = write!(
                    nav,
                    "<a href=\"{}\" id=\"next\">Next</a>",
                    base(l.q.page + 1)
                );
            }
            let _ = write!(b, "<p class=\"pager\">{nav}</p>");
            Ok(("Incidents".to_string(), b))
        },
    )
    .await
}

async fn incident_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page(&state, who, session, "/ui/cases/incidents/{reference}", async |c: &Caller| {
        let (inc, reveal, decisions) = one(&state, c, &reference, &q).await?;
        let mut b = cases_menu(c);
        let row = |b: &mut String, k: &str, v: &str| {
            let _ = write!(b, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
        };
        b.push_str("<table class=\"kv\" id=\"incident\">");
        row(&mut b, "Incident", &inc.id);
        row(&mut b, "Date", &inc.date.to_string());
        row(&mut b, "Category", &inc.category);
        row(&mut b, "Subtype", inc.subtype.as_deref().unwrap_or("—"));
        row(&mut b, "Taxonomy", &inc.taxonomy);
        row(&mut b, "Area", &format!("{} ({})", inc.area.district, inc.area.province));
        row(&mut b, "Place", &serde_json::to_value(inc.place).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default());
        row(&mut b, "Victims", &inc.victims.len().to_string());
        row(&mut b, "Abusers", &inc.abusers.len().to_string());
        b.push_str("</table>");
        b.push_str(&entry::details_html(&inc));
        b.push_str("<h2>Sources</h2><ul id=\"sources\">");
        for s in &inc.sources {
            let _ = write!(b, "<li>{}, {}", escape(&s.outlet), s.date);
            if let Some(l) = &s.link {
                let _ = write!(b, ", <span class=\"link\">{}</span>", escape(l));
            }
            b.push_str("</li>");
        }
        b.push_str("</ul><h2>Identifiers</h2><ul id=\"identifiers\">");
        for x in &inc.identifiers {
            let _ = write!(
                b,
                "<li><span class=\"kind\">{}</span> <span class=\"value\">{}</span></li>",
                escape(x.kind.name()),
                escape(&shown(x.kind, &x.value, reveal.is_some()))
            );
        }
        b.push_str("</ul>");
        if reveal.is_none() {
            let _ = write!(
                b,
                "<form method=\"get\" action=\"/ui/cases/incidents/{}\" id=\"reveal\">\
                 <input type=\"hidden\" name=\"reveal\" value=\"1\">\
                 <label>Reason for revealing names (audited) <input name=\"reason\" required></label> \
                 <button type=\"submit\">Reveal names</button></form>",
                escape(&url_part(&inc.id))
            );
        } else {
            b.push_str("<p class=\"alert\" id=\"revealed\">Names revealed; this reading is in the audit log with your reason.</p>");
        }
        if !decisions.is_empty() {
            b.push_str("<h2>Link decisions</h2><ul id=\"decisions\">");
            for d in &decisions {
                let _ = write!(
                    b,
                    "<li>{} – {}: {} by {} — {}</li>",
                    escape(&d.a),
                    escape(&d.b),
                    if d.confirmed { "confirmed" } else { "rejected" },
                    escape(&d.actor),
                    escape(&d.note)
                );
            }
            b.push_str("</ul>");
        }
        let _ = write!(
            b,
            "<p><a href=\"/ui/cases/networks/{}\">Its network, if any</a></p>",
            escape(&url_part(&inc.id))
        );
        Ok((format!("Incident {}", inc.id), b))
    })
    .await
}

async fn networks_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page(&state, who, session, "/ui/cases/networks", async |c: &Caller| {
        let top = top_of(&q)?;
        let net = net_of(&state, c).await?;
        let shown: Vec<&NetCandidate> = net.candidates.iter().take(top).collect();
        audit(
            &state,
            c,
            "cases.network.read",
            json!({"candidates": shown.iter().map(|k| &net.incidents[k.members[0]].id).collect::<Vec<_>>()}),
        )
        .await?;
        let mut b = cases_menu(c);
        let _ = write!(
            b,
            "<p>{} candidate networks, ranked by the evidence linking their incidents.</p>\
             <table id=\"networks\"><thead><tr><th>#</th><th>Network</th><th>Incidents</th>\
             <th>Links</th><th>Evidence</th><th>Districts</th></tr></thead><tbody>",
            net.candidates.len()
        );
        for (i, k) in shown.iter().enumerate() {
            let first = &net.incidents[k.members[0]].id;
            let mut districts: Vec<&str> = k
                .members
                .iter()
                .map(|&m| net.incidents[m].area.district.as_str())
                .collect();
            districts.sort_unstable();
            districts.dedup();
            let _ = write!(
                b,
                "<tr><td>{}</td><td><a href=\"/ui/cases/networks/{}\">{}</a></td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td>{}</td></tr>",
                i + 1,
                escape(&url_part(first)),
                escape(first),
                k.members.len(),
                k.links.len(),
                k.score,
                escape(&districts.join(", "))
            );
        }
        b.push_str("</tbody></table>");
        Ok(("Candidate networks".to_string(), b))
    })
    .await
}

/// JSON safe inside a `<script type="application/json">` element.
pub(crate) fn script_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

async fn network_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    page(&state, who, session, "/ui/cases/networks/{reference}", async |c: &Caller| {
        let v = network_one(&state, c, &reference, &q).await?;
        let id = v["id"].as_str().unwrap_or("").to_string();
        let mut b = cases_menu(c);
        let _ = write!(
            b,
            "<p>{} incidents, {} links, evidence {:.2}.</p>\
             <svg id=\"graph\" width=\"720\" height=\"480\" viewBox=\"0 0 720 480\" role=\"img\" \
             aria-label=\"Graph of the network\"></svg>\
             <script type=\"application/json\" id=\"graph-data\">{}</script>",
            v["incidents"].as_array().map_or(0, Vec::len),
            v["links"].as_array().map_or(0, Vec::len),
            v["score"].as_f64().unwrap_or(0.0),
            script_json(&v)
        );
        b.push_str("<h2>Incidents</h2><ul id=\"members\">");
        for i in v["incidents"].as_array().cloned().unwrap_or_default() {
            let s = |k: &str| escape(i[k].as_str().unwrap_or(""));
            let _ = write!(
                b,
                "<li class=\"member\"><a href=\"/ui/cases/incidents/{}\">{}</a> {} {} in {} ({})</li>",
                escape(&url_part(i["id"].as_str().unwrap_or(""))),
                s("id"),
                s("date"),
                s("category"),
                s("district"),
                s("province")
            );
        }
        b.push_str("</ul><h2>Links</h2><ol id=\"links\">");
        for l in v["links"].as_array().cloned().unwrap_or_default() {
            let (a, bb) = (l["a"].as_str().unwrap_or(""), l["b"].as_str().unwrap_or(""));
            let decision = match l["decision"].as_object() {
                Some(d) => format!(
                    "<p class=\"decision\">{} by {}: {}</p>",
                    if d["decision"] == "confirm" { "Confirmed" } else { "Rejected" },
                    escape(d["actor"].as_str().unwrap_or("")),
                    escape(d["note"].as_str().unwrap_or(""))
                ),
                None => String::new(),
            };
            let _ = write!(
                b,
                "<li class=\"link\" data-a=\"{}\" data-b=\"{}\"><p class=\"explanation\">{}</p>{decision}\
                 <input class=\"note\" placeholder=\"Note (why)\" aria-label=\"Note on {} – {}\"> \
                 <button type=\"button\" class=\"confirm\">Confirm</button> \
                 <button type=\"button\" class=\"reject\">Reject</button> \
                 <span class=\"result\" role=\"status\"></span></li>",
                escape(a),
                escape(bb),
                escape(l["explanation"].as_str().unwrap_or("")),
                escape(a),
                escape(bb)
            );
        }
        b.push_str("</ol><script src=\"/ui/static/cases.js\" defer></script>");
        if v["revealed"] != json!(true) {
            let _ = write!(
                b,
                "<form method=\"get\" action=\"/ui/cases/networks/{}\" id=\"reveal\">\
                 <input type=\"hidden\" name=\"reveal\" value=\"1\">\
                 <label>Reason for revealing names (audited) <input name=\"reason\" required></label> \
                 <button type=\"submit\">Reveal names</button></form>",
                escape(&url_part(&id))
            );
        }
        Ok((format!("Network of {id}"), b))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_covers_provinces_and_districts() {
        let s = vec!["NM".to_string(), "RL03".to_string()];
        assert!(in_scope(&s, "NM", "NM07"));
        assert!(in_scope(&s, "RL", "RL03"));
        assert!(!in_scope(&s, "RL", "RL04"));
        assert!(!in_scope(&s, "EV", "EV01"));
        assert!(in_scope(&[], "EV", "EV01"));
    }

    #[test]
    fn masks_hide_the_value_and_tell_equal_values_apart() {
        let a = mask(IdentifierKind::Phone, "+993451234567");
        assert!(!a.contains("1234567"), "{a}");
        assert!(a.starts_with("[hidden phone #"), "{a}");
        assert_eq!(a, mask(IdentifierKind::Phone, "+993451234567"));
        assert_ne!(a, mask(IdentifierKind::Phone, "+993451234568"));
        assert_eq!(
            shown(IdentifierKind::Place, "city hospital", false),
            "city hospital"
        );
        assert_eq!(shown(IdentifierKind::Handle, "chat:@x", true), "chat:@x");
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let s = script_json(&json!({"note": "</script><script>alert(1)</script>"}));
        assert!(!s.contains('<'), "{s}");
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["note"], "</script><script>alert(1)</script>");
    }
}
