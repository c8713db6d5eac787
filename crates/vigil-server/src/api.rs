//! Vigil's own API, `/api/v1` (the OpenAPI document is `GET /api/v1/openapi.json`): batch
//! lookups whose matches carry bank, content item, matched hash, distance (a video's: its match
//! percentages and aligned time ranges) and (on request) provenance; analyst verdicts; quarantine of a hash or an item; banks browsed by page and
//! searched; list imports (`POST /api/v1/banks/{bank}/import`, in [`crate::ui`]); the audit log;
//! match actions and their events.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};
use vigil_exchange::record::{Signal, SignalKind};
use vigil_matcher::{Hit, Query};
use vigil_store::{NewAction, VerdictKind};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::hma::{Params, count_and_audit};
use crate::state::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// Signals one batch lookup may hold.
pub const MAX_BATCH: usize = 10_000;

/// A signal as the CLI takes it: `KIND:VALUE`, or bare PDQ hex; or `{"type", "value"}`.
pub(crate) fn signal_of(v: &Value) -> Result<Signal, String> {
    let (kind, value) = match v {
        Value::String(s) => match s.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => ("pdq".to_string(), s.clone()),
        },
        Value::Object(m) => (
            m.get("type")
                .and_then(Value::as_str)
                .ok_or("a signal object needs a string \"type\"")?
                .to_string(),
            m.get("value")
                .and_then(Value::as_str)
                .ok_or("a signal object needs a string \"value\"")?
                .to_string(),
        ),
        _ => return Err("a signal is \"KIND:VALUE\", PDQ hex, or {\"type\", \"value\"}".into()),
    };
    let kind = if kind == "video_md5" {
        "md5".to_string()
    } else {
        kind
    };
    Signal::new(SignalKind::from_name(&kind), &value).map_err(|e| format!("{kind} signal: {e}"))
}

fn body(headers: &HeaderMap, body: &Bytes) -> ApiResult<serde_json::Map<String, Value>> {
    if !crate::hma::is_json_request(headers) {
        return Err(ApiError::not_json());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad(format!("the body is not JSON: {e}"))),
    }
}

fn hit_json(h: &Hit) -> Value {
    let mut v = json!({
        "bank": h.bank,
        "bank_id": h.bank_id,
        "content_id": h.content_id,
        "signal_id": h.signal_id,
        "kind": h.signal.kind().name(),
        "hash": h.signal.value(),
        "distance": h.distance,
        "active": h.active,
    });
    if let Some(d) = &h.video {
        v["video"] = video_json(d);
    }
    v
}

/// A vPDQ match's detail: percentages, frame counts and aligned time ranges (seconds).
pub(crate) fn video_json(d: &vigil_matcher::VideoDetail) -> Value {
    let c = &d.comparison;
    json!({
        "query_pct": c.query_pct,
        "compared_pct": c.compared_pct,
        "query_frames": c.query_frames,
        "query_matched": c.query_matched,
        "compared_frames": c.compared_frames,
        "compared_matched": c.compared_matched,
        "ranges": d.ranges.iter().map(|r| json!({
            "query_start": r.query_start,
            "query_end": r.query_end,
            "compared_start": r.compared_start,
            "compared_end": r.compared_end,
            "frames": r.frames,
        })).collect::<Vec<_>>(),
    })
}

/// Adds each match's source and provenance (one store read per distinct item).
async fn add_provenance(state: &AppState, results: &mut [Value]) -> ApiResult<()> {
    let mut cache: HashMap<(String, i64), Value> = HashMap::new();
    for r in results.iter_mut() {
        for list in ["matches", "allowed_by"] {
            let Some(Value::Array(hits)) = r.get_mut(list) else {
                continue;
            };
            for h in hits {
                let bank = h["bank"].as_str().unwrap_or_default().to_string();
                let id = h["content_id"].as_i64().unwrap_or_default();
                let key = (bank.clone(), id);
                if !cache.contains_key(&key) {
                    let v = match state.store().content(&bank, id).await {
                        Ok(c) => json!({
                            "source": c.source,
                            "external_id": c.external_id,
                            "uri": c.uri,
                            "note": c.note,
                            "provenance": c.provenance.iter().map(|(s, rec)| json!({
                                "source": s,
                                "record": vigil_store::record_metadata_json(rec),
                            })).collect::<Vec<_>>(),
                        }),
                        // Removed since the match: say so rather than fail the batch.
                        Err(vigil_store::Error::NoContent { .. }) => json!({"removed": true}),
                        Err(e) => return Err(e.into()),
                    };
                    cache.insert(key.clone(), v);
                }
                if let (Some(obj), Some(Value::Object(extra))) =
                    (h.as_object_mut(), cache.get(&key))
                {
                    for (k, v) in extra {
                        obj.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Looks up each signal; bad ones get an error entry and the others go on.
async fn lookup_all(
    state: &AppState,
    who: &Principal,
    inputs: &[Value],
    banks: Option<&[String]>,
    include_quarantined: bool,
    provenance: bool,
) -> ApiResult<Vec<Value>> {
    if !state.loaded() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "index not yet ready",
        ));
    }
    let mut parsed = Vec::with_capacity(inputs.len());
    for v in inputs {
        parsed.push(signal_of(v));
    }
    // One read lock for the whole batch: a batch sees one state of the banks.
    let outcomes: Vec<Option<vigil_matcher::Outcome>> = {
        let m = state.matcher().read();
        parsed
            .iter()
            .map(|p| {
                p.as_ref().ok().map(|s| {
                    m.match_signal_with(
                        s,
                        Query {
                            include_inactive: include_quarantined,
                        },
                    )
                })
            })
            .collect()
    };
    let mut results = Vec::with_capacity(inputs.len());
    for ((input, p), outcome) in inputs.iter().zip(parsed).zip(outcomes) {
        let (signal, mut outcome) = match (p, outcome) {
            (Ok(s), Some(o)) => (s, o),
            (Err(e), _) => {
                results.push(json!({"input": input, "error": e}));
                continue;
            }
            (Ok(_), None) => continue,
        };
        if let Some(banks) = banks {
            outcome.hits.retain(|h| banks.contains(&h.bank));
            outcome.allowed_by.retain(|h| banks.contains(&h.bank));
        }
        let is_match = outcome.is_match();
        let counted: &[Hit] = if is_match { &outcome.hits } else { &[] };
        count_and_audit(state, who, &signal, counted, !include_quarantined).await;
        results.push(json!({
            "signal": {"type": signal.kind().name(), "value": signal.value()},
            "match": is_match,
            "matches": outcome.hits.iter().map(hit_json).collect::<Vec<_>>(),
            "allowed_by": outcome.allowed_by.iter().map(hit_json).collect::<Vec<_>>(),
        }));
    }
    if provenance {
        add_provenance(state, &mut results).await?;
    }
    Ok(results)
}

fn banks_of(v: Option<&Value>) -> ApiResult<Option<Vec<String>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|b| {
                b.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad("banks: a list of bank names"))
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(ApiError::bad("banks: a list of bank names")),
    }
}

/// `POST /api/v1/lookup`: `{"signals": [...], "banks"?: [...], "include_quarantined"?: bool,
/// "provenance"?: bool}` → `{"results": [...]}`, one per signal, in order.
pub(crate) async fn lookup_batch(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    let m = body(&headers, &raw)?;
    let Some(Value::Array(signals)) = m.get("signals") else {
        return Err(ApiError::bad("\"signals\": a list of signals is required"));
    };
    if signals.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{} signals: at most {MAX_BATCH} per request", signals.len()),
        ));
    }
    let banks = banks_of(m.get("banks"))?;
    let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
    let results = lookup_all(
        &state,
        &who,
        signals,
        banks.as_deref(),
        flag("include_quarantined"),
        flag("provenance"),
    )
    .await?;
    state.metrics().lookup_latency.observe(started.elapsed());
    Ok(Json(json!({ "results": results })))
}

/// `GET /api/v1/lookup?signal=KIND:VALUE[&banks=A,B][&provenance=true]`.
pub(crate) async fn lookup_one(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    let p = Params::parse(q);
    let Some(s) = p.get("signal") else {
        return Err(ApiError::bad("the query parameter \"signal\" is required"));
    };
    let banks = p
        .get("banks")
        .map(|b| b.split(',').map(str::to_string).collect::<Vec<_>>());
    let yes = |k: &str| p.get(k) == Some("true");
    let mut results = lookup_all(
        &state,
        &who,
        &[Value::String(s.to_string())],
        banks.as_deref(),
        yes("include_quarantined"),
        yes("provenance"),
    )
    .await?;
    state.metrics().lookup_latency.observe(started.elapsed());
    let r = results.pop().unwrap_or(Value::Null);
    if let Some(e) = r.get("error").and_then(Value::as_str) {
        return Err(ApiError::bad(e.to_string()));
    }
    Ok(Json(r))
}

/// `POST /api/v1/verdicts`: `{"bank", "signal", "content_id"?, "query", "verdict":
/// "true_positive"|"false_positive", "note"?}` → 201 `{"id"}`.
pub(crate) async fn verdict_create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Response> {
    let m = body(&headers, &raw)?;
    let text = |k: &str| m.get(k).and_then(Value::as_str);
    let bank = text("bank").ok_or_else(|| ApiError::bad("\"bank\" is required"))?;
    let signal = signal_of(m.get("signal").unwrap_or(&Value::Null)).map_err(ApiError::bad)?;
    let verdict = text("verdict")
        .and_then(VerdictKind::from_name)
        .ok_or_else(|| ApiError::bad("\"verdict\": true_positive or false_positive"))?;
    let query = text("query").unwrap_or("");
    let content_id = m.get("content_id").and_then(Value::as_i64);
    let id = state
        .store()
        .record_verdict(
            &who.name,
            bank,
            &signal,
            content_id,
            query,
            verdict,
            text("note"),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `GET /api/v1/banks/{bank}/verdicts`.
pub(crate) async fn verdicts(
    State(state): State<AppState>,
    Path(bank): Path<String>,
) -> ApiResult<Json<Value>> {
    let list = state.store().verdicts(&bank).await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|v| {
                json!({"id": v.id, "at": v.at, "actor": v.actor, "bank": v.bank,
                       "content_id": v.content_id, "kind": v.signal.kind().name(),
                       "hash": v.signal.value(), "query": v.query, "verdict": v.verdict.name(),
                       "note": v.note})
            })
            .collect(),
    )))
}

/// `until` in a body: ms since the epoch, or absent/null for "until lifted".
fn until_of(m: &serde_json::Map<String, Value>) -> ApiResult<i64> {
    match m.get("until") {
        None | Some(Value::Null) => Ok(i64::MAX),
        Some(v) => v
            .as_i64()
            .filter(|t| *t > 0)
            .ok_or_else(|| ApiError::bad("\"until\": ms since the Unix epoch")),
    }
}

/// `POST /api/v1/quarantine`: `{"signal", "bank"?, "until"?}` → `{"signals": n}`: every
/// stored copy of the hash (in one bank, if named) stops matching from the next lookup.
pub(crate) async fn quarantine(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let m = body(&headers, &raw)?;
    let signal = signal_of(m.get("signal").unwrap_or(&Value::Null)).map_err(ApiError::bad)?;
    let bank = m.get("bank").and_then(Value::as_str);
    let until = until_of(&m)?;
    let n = state
        .store()
        .quarantine_signal(&who.name, &signal, bank, Some(until))
        .await?;
    Ok(Json(json!({ "signals": n })))
}

/// `DELETE /api/v1/quarantine?signal=…[&bank=…]`: lifts it.
pub(crate) async fn release(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let p = Params::parse(q);
    let s = p
        .get("signal")
        .ok_or_else(|| ApiError::bad("the query parameter \"signal\" is required"))?;
    let signal = signal_of(&Value::String(s.to_string())).map_err(ApiError::bad)?;
    let n = state
        .store()
        .quarantine_signal(&who.name, &signal, p.get("bank"), None)
        .await?;
    Ok(Json(json!({ "signals": n })))
}

/// `POST /api/v1/banks/{bank}/content/{id}/quarantine` (`{"until"?}`) and `DELETE` (lift).
pub(crate) async fn content_quarantine(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((bank, id)): Path<(String, i64)>,
    method: axum::http::Method,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let until = if method == axum::http::Method::DELETE {
        None
    } else if raw.is_empty() {
        Some(i64::MAX)
    } else {
        Some(until_of(&body(&headers, &raw)?)?)
    };
    state
        .store()
        .set_content_disabled(&who.name, &bank, id, until)
        .await?;
    Ok(Json(
        json!({"bank": bank, "content_id": id, "disabled_until": until}),
    ))
}

fn bank_v1(b: &vigil_store::Bank) -> Value {
    json!({"id": b.id, "name": b.name, "description": b.description, "kind": b.kind.name(),
           "enabled": b.enabled, "pdq_threshold": b.pdq_threshold, "match_ratio": b.match_ratio,
           "created_at": b.created_at, "updated_at": b.updated_at,
           "content_count": b.content_count, "signal_count": b.signal_count})
}

/// `GET /api/v1/banks` (with counts).
pub(crate) async fn banks(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let banks = state.store().banks().await?;
    Ok(Json(Value::Array(banks.iter().map(bank_v1).collect())))
}

fn content_v1(c: &vigil_store::Content) -> Value {
    json!({
        "id": c.id, "bank": c.bank, "external_id": c.external_id, "uri": c.uri, "note": c.note,
        "source": c.source, "created_at": c.created_at, "updated_at": c.updated_at,
        "disabled_until": c.disabled_until,
        "metadata": c.meta.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()),
        "signals": c.signals.iter().map(|s| json!({
            "id": s.id, "kind": s.signal.kind().name(), "value": s.signal.value(),
            "disabled_until": s.disabled_until})).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/banks/{bank}/content?after=ID&limit=N&q=TEXT` → `{"items", "next"}`.
pub(crate) async fn bank_content(
    State(state): State<AppState>,
    Path(bank): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let p = Params::parse(q);
    let limit = number(&p, "limit", 100)?.clamp(1, 1000);
    let after = number(&p, "after", 0)?;
    let items = state
        .store()
        .content_page(&bank, after, limit, p.get("q"))
        .await?;
    let next = (items.len() as i64 == limit).then(|| items.last().map(|c| c.id));
    Ok(Json(json!({
        "items": items.iter().map(content_v1).collect::<Vec<_>>(),
        "next": next.flatten(),
    })))
}

/// `GET /api/v1/banks/{bank}/content/{id}` (with provenance).
pub(crate) async fn content_item(
    State(state): State<AppState>,
    Path((bank, id)): Path<(String, i64)>,
) -> ApiResult<Json<Value>> {
    let c = state.store().content(&bank, id).await?;
    let mut v = content_v1(&c);
    v["provenance"] = Value::Array(
        c.provenance
            .iter()
            .map(|(s, r)| json!({"source": s, "record": vigil_store::record_metadata_json(r)}))
            .collect(),
    );
    Ok(Json(v))
}

/// A whole-number query parameter (`default` when absent); 400 naming it when it is not one.
pub(crate) fn number(p: &Params, k: &str, default: i64) -> ApiResult<i64> {
    p.get(k).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| ApiError::bad(format!("{k}: {v:?} is not a whole number")))
    })
}

/// Makes an action change effective at once for this server (others: within a refresh).
async fn reload_actions(state: &AppState) {
    if let Ok(all) = state.store().actions().await {
        state.set_actions(all);
    }
}

/// `GET /api/v1/audit?after=ID&limit=N` (admin).
pub(crate) async fn audit(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let p = Params::parse(q);
    let after = number(&p, "after", 0)?;
    let limit = number(&p, "limit", 1000)?.clamp(1, 10_000);
    let log = state.store().audit_log(after, limit).await?;
    Ok(Json(Value::Array(
        log.iter()
            .map(|e| {
                json!({"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                       "bank": e.bank, "content_id": e.content_id,
                       "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null)})
            })
            .collect(),
    )))
}

fn action_v1(a: &vigil_store::Action) -> Value {
    json!({"name": a.name, "bank": a.bank, "kind": a.kind, "url": a.url,
           "secret_env": a.secret_env, "created_at": a.created_at})
}

/// `GET /api/v1/actions` (admin).
pub(crate) async fn actions(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let list = state.store().actions().await?;
    Ok(Json(Value::Array(list.iter().map(action_v1).collect())))
}

/// `POST /api/v1/actions` (admin): `{"name", "kind": "webhook"|"record", "bank"?, "url"?,
/// "secret_env"?}` → 201.
pub(crate) async fn action_create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Response> {
    let m = body(&headers, &raw)?;
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let new = NewAction {
        name: text("name").ok_or_else(|| ApiError::bad("\"name\" is required"))?,
        bank: text("bank"),
        kind: text("kind").unwrap_or_else(|| "webhook".into()),
        url: text("url"),
        secret_env: text("secret_env"),
    };
    let a = state.store().add_action(&who.name, &new).await?;
    reload_actions(&state).await;
    Ok((StatusCode::CREATED, Json(action_v1(&a))).into_response())
}

/// `DELETE /api/v1/actions/{name}` (admin).
pub(crate) async fn action_delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    state.store().remove_action(&who.name, &name).await?;
    reload_actions(&state).await;
    Ok(Json(json!({"deleted": name})))
}

/// `GET /api/v1/actions/{name}/events?after=ID&limit=N` (admin).
pub(crate) async fn action_events(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let p = Params::parse(q);
    let after = number(&p, "after", 0)?;
    let limit = number(&p, "limit", 1000)?;
    let list = state
        .store()
        .action_events(Some(&name), after, limit)
        .await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|e| {
                json!({"id": e.id, "at": e.at, "bank": e.bank, "content_id": e.content_id,
                       "status": e.status, "attempts": e.attempts, "next_at": e.next_at,
                       "last_error": e.last_error, "delivered_at": e.delivered_at,
                       "payload": serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::Null)})
            })
            .collect(),
    )))
}

/// `GET /api/v1/openapi.json`.
pub(crate) async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// The OpenAPI 3.1 document of `/api/v1`, kept beside the code (a test checks that every path
/// routed under `/api/v1` is in it and every path in it is routed).
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every `/api/v1` route (method, axum path), for the test against [`OPENAPI`].
pub fn routes() -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut m = BTreeMap::from([
        ("/api/v1/openapi.json", vec!["get"]),
        ("/api/v1/lookup", vec!["get", "post"]),
        ("/api/v1/verdicts", vec!["post"]),
        ("/api/v1/quarantine", vec!["post", "delete"]),
        ("/api/v1/banks", vec!["get"]),
        ("/api/v1/banks/{bank}/content", vec!["get"]),
        ("/api/v1/banks/{bank}/content/{id}", vec!["get"]),
        (
            "/api/v1/banks/{bank}/content/{id}/quarantine",
            vec!["post", "delete"],
        ),
        ("/api/v1/banks/{bank}/verdicts", vec!["get"]),
        // Served by the UI's router (`crate::ui`), which the web UI's import page uses.
        ("/api/v1/banks/{bank}/import", vec!["post"]),
        ("/api/v1/audit", vec!["get"]),
        ("/api/v1/actions", vec!["get", "post"]),
        ("/api/v1/actions/{name}", vec!["delete"]),
        ("/api/v1/actions/{name}/events", vec!["get"]),
    ]);
    m.extend(crate::cases::api_routes());
    m.extend(crate::cases_map::api_routes());
    m.extend(crate::crawls::api_routes());
    m
}
