//! The HMA 2.x API (`/status`, `/h`, `/m`, `/c`), shape for shape, as `docs/hma-compat.md`
//! sets it out; the deliberate deviations are listed there (§9) and in ARCHITECTURE.md.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};
use vigil_exchange::record::{Signal, SignalKind};
use vigil_matcher::{Hit, Query};
use vigil_store::{Bank, BankUpdate, NewBank, NewContent};

use crate::auth::Principal;
use crate::coinflip;
use crate::error::ApiError;
use crate::hashing::{self, CONTENT_TYPES, SIGNAL_TYPES};
use crate::state::{AppState, now_ms};

type ApiResult<T> = Result<T, ApiError>;

// ---------------------------------------------------------------------------------------------
// Request helpers

/// Query parameters, first value of each name (as Flask's `args.get`).
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn parse(raw: Option<String>) -> Params {
        let mut m = HashMap::new();
        if let Some(q) = raw {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                m.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        Params(m)
    }

    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    fn as_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    }

    /// A pydantic boolean (lax): 422 when it does not parse.
    fn bool(&self, k: &str) -> ApiResult<Option<bool>> {
        let Some(v) = self.get(k) else {
            return Ok(None);
        };
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "y" | "t" => Ok(Some(true)),
            "false" | "0" | "no" | "off" | "n" | "f" => Ok(Some(false)),
            _ => Err(ApiError::unparsable(
                k,
                "bool_parsing",
                "Input should be a valid boolean, unable to interpret input",
                Value::String(v.to_string()),
            )),
        }
    }

    /// Required fields of a query model: 422 naming every missing one.
    fn require(&self, fields: &[&str]) -> ApiResult<()> {
        let missing: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| self.get(f).is_none())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::missing(&missing, self.as_json()))
        }
    }

    /// HMA's `banks` filter: comma-separated, no trimming; empty means none.
    fn banks(&self) -> Option<Vec<String>> {
        self.get("banks")
            .filter(|b| !b.is_empty())
            .map(|b| b.split(',').map(str::to_string).collect())
    }
}

/// Whether the request says its body is JSON.
pub(crate) fn is_json_request(headers: &HeaderMap) -> bool {
    is_json(headers)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || v.starts_with("application/json;") || v.ends_with("+json")
        })
}

/// A body read by Flask's `get_json()`: 415 when not JSON, 400 when malformed.
fn json_body(headers: &HeaderMap, body: &Bytes) -> ApiResult<Value> {
    if !is_json(headers) {
        return Err(ApiError::not_json());
    }
    serde_json::from_slice(body).map_err(|_| {
        ApiError::bad(
            "The browser (or proxy) sent a request that this server could not understand.",
        )
    })
}

/// A body read by a pydantic model: anything but a JSON object is a 422.
fn model_body(headers: &HeaderMap, body: &Bytes) -> ApiResult<Map<String, Value>> {
    let v = if is_json(headers) {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    match v {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::not_an_object(other)),
    }
}

/// The one uploaded file of a multipart body (`(field name, bytes)`) and its text fields.
struct Upload {
    file: Option<(String, Vec<u8>)>,
    fields: HashMap<String, String>,
}

async fn read_upload(state: &AppState, req: Request) -> ApiResult<Upload> {
    let mut up = Upload {
        file: None,
        fields: HashMap::new(),
    };
    let Ok(mut mp) = Multipart::from_request(req, state).await else {
        return Ok(up);
    };
    let mut files = 0;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(ApiError::new(e.status(), e.body_text())),
        };
        let name = field.name().unwrap_or("").to_string();
        let is_file = field.file_name().is_some();
        let data = field
            .bytes()
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        if is_file {
            files += 1;
            if files > 1 {
                return Err(ApiError::bad("Only one file allowed per request"));
            }
            up.file = Some((name, data.to_vec()));
        } else {
            up.fields
                .insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok(up)
}

/// Hashes media off the async threads.
async fn hash_bytes(
    state: &AppState,
    bytes: Vec<u8>,
    name: String,
    types: Vec<&'static str>,
) -> ApiResult<BTreeMap<String, String>> {
    let limits = state.config().decode_limits;
    let video = state.config().video.clone();
    let out = tokio::task::spawn_blocking(move || {
        hashing::hash_media(&bytes, &name, &types, &limits, &video)
    })
    .await
    .map_err(ApiError::internal)??;
    state.metrics().hashed.inc();
    Ok(out)
}

/// Downloads and hashes `url` as HMA's `GET /h/hash` does.
async fn hash_url(
    state: &AppState,
    url: &str,
    content_type: Option<&str>,
    types: Option<&str>,
) -> ApiResult<BTreeMap<String, String>> {
    let fetched = crate::remote::fetch(&state.config().remote, url)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.to_string(),
            )
        })?;
    let ct = match content_type {
        Some(c) => c.to_string(),
        None => {
            let header = fetched.content_type.clone().unwrap_or_default();
            let main = header
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if main.starts_with("image/") {
                "photo".into()
            } else if main.starts_with("video/") {
                "video".into()
            } else {
                return Err(ApiError::bad(format!(
                    "unsupported url ContentType: '{header}', if you know the expected type, \
                     provide it with the content_type query param"
                )));
            }
        }
    };
    let types = hashing::chosen_types(&ct, types)?;
    hash_bytes(state, fetched.bytes, fetched.final_url, types).await
}

// ---------------------------------------------------------------------------------------------
// Signals

/// HMA's name of a stored kind.
fn hma_type(kind: &SignalKind) -> &str {
    match kind {
        SignalKind::Md5 => "video_md5",
        k => k.name(),
    }
}

enum BadSignal {
    UnknownType,
    Invalid(String),
}

/// A signal of an HMA signal type, validated by its rule (PDQ: 64 lower-case hex digits;
/// video_md5: 32 hex digits after trimming, any case; vpdq: python-threatexchange's JSON list
/// of `"hex,quality,timestamp"` frames, at least one, kept in its canonical form).
fn parse_signal(signal_type: &str, value: &str) -> Result<Signal, BadSignal> {
    match signal_type {
        "pdq" => {
            let ok = value.len() == 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !ok {
                return Err(BadSignal::Invalid("invalid PDQ hash".into()));
            }
            Signal::new(SignalKind::Pdq, value)
                .map_err(|_| BadSignal::Invalid("invalid PDQ hash".into()))
        }
        "video_md5" => {
            let v = value.trim().to_ascii_lowercase();
            if v.len() != 32 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(BadSignal::Invalid("invalid MD5 hash".into()));
            }
            Signal::new(SignalKind::Md5, &v)
                .map_err(|_| BadSignal::Invalid("invalid MD5 hash".into()))
        }
        "vpdq" => Signal::new(SignalKind::Vpdq, value).map_err(|e| BadSignal::Invalid(e.0)),
        _ => Err(BadSignal::UnknownType),
    }
}

fn ratio_of(b: &Bank) -> f64 {
    if b.enabled { b.match_ratio } else { 0.0 }
}

fn bank_json(b: &Bank) -> Value {
    json!({"name": b.name, "matching_enabled_ratio": ratio_of(b)})
}

/// HMA's bank-name rule: `[A-Z_][A-Z0-9_]*`.
fn hma_bank_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_uppercase() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

// ---------------------------------------------------------------------------------------------
// Core

pub(crate) async fn root() -> Redirect {
    Redirect::to("/status")
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(crate) async fn status(State(state): State<AppState>) -> Response {
    if !state.config().parts.matcher {
        return text(StatusCode::OK, "I-AM-ALIVE");
    }
    if !state.loaded() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "INDEX-NOT-LOADED");
    }
    let stale = state.config().stale_after;
    if !stale.is_zero() && now_ms() - state.refreshed_at() > stale.as_millis() as i64 {
        return text(StatusCode::SERVICE_UNAVAILABLE, "INDEX-STALE");
    }
    text(StatusCode::OK, "I-AM-ALIVE")
}

pub(crate) async fn status_live() -> Response {
    text(StatusCode::OK, "I-AM-ALIVE")
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let (counts, upto) = {
        let m = state.matcher().read();
        (
            m.counts()
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect::<BTreeMap<_, _>>(),
            m.upto(),
        )
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(&counts, upto),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Hasher

pub(crate) async fn hash_get(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<BTreeMap<String, String>>> {
    let p = Params::parse(q);
    p.require(&["url"])?;
    let url = p.get("url").unwrap_or_default();
    Ok(Json(
        hash_url(&state, url, p.get("content_type"), p.get("types")).await?,
    ))
}

pub(crate) async fn hash_post(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Json<BTreeMap<String, String>>> {
    let p = Params::parse(q);
    let up = read_upload(&state, req).await?;
    let Some((field, bytes)) = up.file else {
        return Err(ApiError::bad("Missing multipart/form-data file upload"));
    };
    let types = hashing::chosen_types(&field, p.get("types"))?;
    Ok(Json(hash_bytes(&state, bytes, field, types).await?))
}

// ---------------------------------------------------------------------------------------------
// Matcher

/// One lookup's hits, grouped by bank: `{bank: [{"bank_content_id", "distance"}]}`.
struct Lookup {
    by_bank: BTreeMap<String, Vec<(i64, Score)>>,
}

/// How near a hit is: a Hamming distance (PDQ; 0 for an exact kind), or a video's match
/// percentages (query, compared).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Score {
    Distance(u32),
    Video(f64, f64),
}

impl Score {
    fn of(h: &Hit) -> Score {
        match &h.video {
            Some(v) => Score::Video(v.comparison.query_pct, v.comparison.compared_pct),
            None => Score::Distance(h.distance),
        }
    }

    /// The better of two hits of one content item: the nearer, or the video matching more.
    fn best(self, other: Score) -> Score {
        match (self, other) {
            (Score::Distance(a), Score::Distance(b)) => Score::Distance(a.min(b)),
            (Score::Video(q1, c1), Score::Video(q2, c2)) => {
                if q2.total_cmp(&q1).then(c2.total_cmp(&c1)).is_gt() {
                    other
                } else {
                    self
                }
            }
            _ => self,
        }
    }

    /// HMA's `distance` text (`pretty_str` of the signal type's similarity): PDQ's distance,
    /// vPDQ's `"<query %>%[<compared %>%]"` (each rounded as Python's `:.0f`), `-` for MD5.
    fn text(self, signal_type: &str) -> Value {
        match self {
            Score::Distance(d) if signal_type == "pdq" => Value::String(d.to_string()),
            Score::Video(q, c) => Value::String(format!("{q:.0}%[{c:.0}%]")),
            Score::Distance(_) => Value::String("-".into()),
        }
    }
}

impl Lookup {
    fn json(&self, signal_type: &str) -> Value {
        Value::Object(
            self.by_bank
                .iter()
                .map(|(bank, hits)| {
                    let list = hits
                        .iter()
                        .map(|(id, d)| {
                            json!({"bank_content_id": id, "distance": d.text(signal_type)})
                        })
                        .collect();
                    (bank.clone(), Value::Array(list))
                })
                .collect(),
        )
    }
}

fn group(hits: &[Hit]) -> BTreeMap<String, Vec<(i64, Score)>> {
    let mut by_bank: BTreeMap<String, Vec<(i64, Score)>> = BTreeMap::new();
    for h in hits {
        let list = by_bank.entry(h.bank.clone()).or_default();
        match list.iter_mut().find(|(id, _)| *id == h.content_id) {
            Some(e) => e.1 = e.1.best(Score::of(h)),
            None => list.push((h.content_id, Score::of(h))),
        }
    }
    for list in by_bank.values_mut() {
        list.sort_unstable_by_key(|(id, _)| *id);
    }
    by_bank
}

/// Validates a hash of an HMA signal type, with the matcher's messages.
fn lookup_signal(signal_type: &str, value: &str) -> ApiResult<Signal> {
    parse_signal(signal_type, value).map_err(|e| match e {
        BadSignal::UnknownType => ApiError::bad(format!("No such SignalType '{signal_type}'")),
        BadSignal::Invalid(r) => ApiError::bad(format!("invalid signal: {r}")),
    })
}

fn not_ready() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "index not yet ready")
}

/// HMA's lookup: active hits, the coin flip per bank (`u`), the `banks` filter. An allow-list
/// bank's match suppresses the block matches (Vigil's false-positive control).
fn lookup(
    state: &AppState,
    signal: &Signal,
    u: f64,
    banks: Option<&[String]>,
) -> ApiResult<(Lookup, Vec<Hit>)> {
    if !state.loaded() {
        return Err(not_ready());
    }
    let (outcome, ratios) = {
        let m = state.matcher().read();
        let out = m.match_signal(signal);
        let ratios: HashMap<i64, f64> = out
            .hits
            .iter()
            .filter_map(|h| m.banks().get(&h.bank_id).map(|b| (b.id, b.match_ratio)))
            .collect();
        (out, ratios)
    };
    let mut hits = if outcome.allowed_by.is_empty() {
        outcome.hits
    } else {
        Vec::new()
    };
    hits.retain(|h| ratios.get(&h.bank_id).copied().unwrap_or(1.0) >= u);
    if let Some(banks) = banks {
        hits.retain(|h| banks.contains(&h.bank));
    }
    Ok((
        Lookup {
            by_bank: group(&hits),
        },
        hits,
    ))
}

/// Counts a lookup, audits it when it matched, and fires the match actions (`fire`: not for
/// `raw_lookup`, which is for diagnosis and reports hits that do not count as matches).
pub(crate) async fn count_and_audit(
    state: &AppState,
    who: &Principal,
    signal: &Signal,
    hits: &[Hit],
    fire: bool,
) {
    let m = state.metrics();
    m.lookups.inc();
    if hits.is_empty() {
        return;
    }
    m.lookups_matched.inc();
    let mut per_bank: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for h in hits {
        per_bank.entry(&h.bank).or_default().push(h.content_id);
    }
    for (bank, ids) in &per_bank {
        m.matched_bank(bank, ids.len() as u64);
    }
    state
        .audit(
            &who.name,
            "match.lookup",
            None,
            json!({"signal_type": hma_type(signal.kind()), "signal": signal.value(),
                   "matches": per_bank}),
        )
        .await;
    if fire {
        state
            .fire(&who.name, hma_type(signal.kind()), signal.value(), hits)
            .await;
    }
}

fn draw(seed: Option<&str>, bypass: bool) -> f64 {
    if bypass {
        0.0
    } else {
        match seed {
            Some(s) => coinflip::seeded(s),
            None => coinflip::unseeded(),
        }
    }
}

pub(crate) async fn raw_lookup(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    let p = Params::parse(q);
    p.require(&["signal_type", "signal"])?;
    let include_distance = p.bool("include_distance")?.unwrap_or(false);
    let signal_type = p.get("signal_type").unwrap_or_default();
    let signal = lookup_signal(signal_type, p.get("signal").unwrap_or_default())?;
    if !state.loaded() {
        return Err(not_ready());
    }
    let outcome = state.matcher().read().match_signal_with(
        &signal,
        Query {
            include_inactive: true,
        },
    );
    let mut hits: Vec<Hit> = outcome.hits.into_iter().chain(outcome.allowed_by).collect();
    if let Some(banks) = p.banks() {
        hits.retain(|h| banks.contains(&h.bank));
    }
    let mut by_id: BTreeMap<i64, Score> = BTreeMap::new();
    for h in &hits {
        let d = by_id.entry(h.content_id).or_insert(Score::of(h));
        *d = d.best(Score::of(h));
    }
    count_and_audit(&state, &who, &signal, &hits, false).await;
    state.metrics().lookup_latency.observe(started.elapsed());
    let matches: Vec<Value> = if include_distance {
        by_id
            .iter()
            .map(|(id, d)| json!({"bank_content_id": id, "distance": d.text(signal_type)}))
            .collect()
    } else {
        by_id.keys().map(|id| json!(id)).collect()
    };
    Ok(Json(json!({ "matches": matches })))
}

pub(crate) async fn lookup_get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    let p = Params::parse(q);
    let bypass =
        p.bool("bypass_coinflip")?.unwrap_or(false) && state.config().bypass_coinflip_on_get;
    let banks = p.banks();
    if let Some(url) = p.get("url").filter(|u| !u.is_empty()) {
        if !state.config().parts.hasher {
            return Err(ApiError::forbidden("Hashing is disabled, missing role"));
        }
        let hashes = hash_url(&state, url, p.get("content_type"), p.get("types")).await?;
        let out = lookup_hashes(
            &state,
            &who,
            hashes,
            p.get("seed"),
            bypass,
            banks.as_deref(),
        )
        .await?;
        state.metrics().lookup_latency.observe(started.elapsed());
        return Ok(Json(match p.get("signal_type") {
            Some(t) => out.get(t).cloned().unwrap_or_else(|| json!({})),
            None => Value::Object(out),
        }));
    }
    let (Some(signal_type), Some(value)) = (p.get("signal_type"), p.get("signal")) else {
        return Err(ApiError::bad(
            "Either url or both signal and signal_type are required",
        ));
    };
    let signal = lookup_signal(signal_type, value)?;
    let (found, hits) = lookup(
        &state,
        &signal,
        draw(p.get("seed"), bypass),
        banks.as_deref(),
    )?;
    count_and_audit(&state, &who, &signal, &hits, true).await;
    state.metrics().lookup_latency.observe(started.elapsed());
    Ok(Json(found.json(signal_type)))
}

/// Looks up each hash of a hashed upload: `{signal_type: {bank: [...]}}`. A type whose hash is
/// empty (a low-quality photo) matches nothing.
async fn lookup_hashes(
    state: &AppState,
    who: &Principal,
    hashes: BTreeMap<String, String>,
    seed: Option<&str>,
    bypass: bool,
    banks: Option<&[String]>,
) -> ApiResult<Map<String, Value>> {
    let mut out = Map::new();
    for (t, h) in hashes {
        if h.is_empty() {
            out.insert(t, json!({}));
            continue;
        }
        let signal = lookup_signal(&t, &h)?;
        let (found, hits) = lookup(state, &signal, draw(seed, bypass), banks)?;
        count_and_audit(state, who, &signal, &hits, true).await;
        out.insert(t.clone(), found.json(&t));
    }
    Ok(out)
}

pub(crate) async fn lookup_post(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    if !state.config().parts.hasher {
        return Err(ApiError::forbidden("Hashing is disabled, missing role"));
    }
    let p = Params::parse(q);
    let bypass = p.get("bypass_coinflip") == Some("true");
    let up = read_upload(&state, req).await?;
    let Some((field, bytes)) = up.file else {
        return Err(ApiError::bad("Missing multipart/form-data file upload"));
    };
    let types = hashing::chosen_types(&field, p.get("types"))?;
    let hashes = hash_bytes(&state, bytes, field, types).await?;
    let banks = p.banks();
    let out = lookup_hashes(
        &state,
        &who,
        hashes,
        p.get("seed"),
        bypass,
        banks.as_deref(),
    )
    .await?;
    state.metrics().lookup_latency.observe(started.elapsed());
    Ok(Json(Value::Object(out)))
}

pub(crate) async fn compare(headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    let v = json_body(&headers, &body)?;
    let Value::Object(m) = v else {
        return Err(ApiError::bad("Request input was not a dict"));
    };
    let mut out = Map::new();
    for (t, pair) in m {
        let Value::Array(list) = pair else {
            return Err(ApiError::bad(format!(
                "Comparison hashes for {t} was not a list"
            )));
        };
        if list.len() != 2 {
            return Err(ApiError::bad(
                "Comparison hash list length must be exactly 2",
            ));
        }
        let mut sigs = Vec::new();
        for h in &list {
            let s = h.as_str().unwrap_or("");
            sigs.push(parse_signal(&t, s).map_err(|e| match e {
                BadSignal::UnknownType => ApiError::bad(format!("No such SignalType '{t}'")),
                BadSignal::Invalid(r) => ApiError::bad(format!("Invalid {t} hash: {r}")),
            })?);
        }
        let result = match (sigs[0].pdq(), sigs[1].pdq()) {
            (Some(a), Some(b)) => {
                let d = a.distance(&b);
                json!([d <= vigil_matcher::DEFAULT_PDQ_THRESHOLD, {"distance": d}])
            }
            _ if *sigs[0].kind() == SignalKind::Vpdq => compare_videos(&sigs[0], &sigs[1])?,
            // HMA answers 500 here (§9.8); an exact kind has no distance.
            _ => json!([sigs[0] == sigs[1], {}]),
        };
        out.insert(t, result);
    }
    Ok(Json(Value::Object(out)))
}

/// python-threatexchange's `VPDQSignal.compare_hash` (the first is the query):
/// `[match, {"query_match_percent", "compared_match_percent"}]`.
fn compare_videos(query: &Signal, compared: &Signal) -> ApiResult<Value> {
    let frames = |s: &Signal| {
        vigil_video::text::from_pytx_json(s.value())
            .map_err(|e| ApiError::bad(format!("Invalid vpdq hash: {e}")))
    };
    let c = vigil_video::matching::compare(
        &frames(query)?,
        &frames(compared)?,
        &vigil_matcher::video_params(),
    );
    Ok(json!([c.is_match, {"query_match_percent": c.query_pct,
                            "compared_match_percent": c.compared_pct}]))
}

/// `?signal_type=` of the status routes: every type, or the one named (400 if unknown).
fn status_types(p: &Params) -> ApiResult<Vec<&'static str>> {
    match p.get("signal_type") {
        None => Ok(SIGNAL_TYPES.iter().map(|(s, _)| *s).collect()),
        Some(t) => SIGNAL_TYPES
            .iter()
            .find(|(s, _)| *s == t)
            .map(|(s, _)| vec![*s])
            .ok_or_else(|| ApiError::bad(format!("No such signal type '{t}'"))),
    }
}

fn held(state: &AppState, hma: &str) -> usize {
    let kind = if hma == "video_md5" { "md5" } else { hma };
    state
        .matcher()
        .read()
        .counts()
        .get(kind)
        .copied()
        .unwrap_or(0)
}

pub(crate) async fn index_status(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let p = Params::parse(q);
    let mut out = Map::new();
    let built = state.refreshed_at();
    for t in status_types(&p)? {
        out.insert(
            t.to_string(),
            json!({"present": state.loaded(),
                   "built_to": if built > 0 { built / 1000 } else { -1 },
                   "size": held(&state, t)}),
        );
    }
    Ok(Json(Value::Object(out)))
}

// ---------------------------------------------------------------------------------------------
// Curator: banks

pub(crate) async fn banks_list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let banks = state.store().bank_list().await?;
    Ok(Json(Value::Array(banks.iter().map(bank_json).collect())))
}

/// A ratio as pydantic's lax float: a number or a numeric string.
fn lax_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn lax_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "y" | "t" => Some(true),
            "false" | "0" | "no" | "off" | "n" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `enabled_ratio` / `enabled` of a bank body. `default_ratio`: what an absent
/// `enabled_ratio` means (1.0 on create, "unchanged" on update).
fn body_ratio(m: &Map<String, Value>, on_create: bool) -> ApiResult<Option<f64>> {
    let bad = |k: &str, v: &Value| {
        ApiError::unparsable(
            k,
            "float_parsing",
            "Input should be a valid number",
            v.clone(),
        )
    };
    match m.get("enabled_ratio") {
        Some(Value::Null) | None => {}
        Some(v) => {
            return lax_float(v)
                .map(Some)
                .ok_or_else(|| bad("enabled_ratio", v));
        }
    }
    let explicit_null = matches!(m.get("enabled_ratio"), Some(Value::Null));
    match m.get("enabled") {
        Some(Value::Null) | None => Ok(on_create.then_some(1.0)),
        Some(v) => {
            let e = lax_bool(v).ok_or_else(|| {
                ApiError::unparsable(
                    "enabled",
                    "bool_parsing",
                    "Input should be a valid boolean",
                    v.clone(),
                )
            })?;
            // HMA quirk 9.5: on create, `enabled` counts only when `enabled_ratio` is null.
            if on_create && !explicit_null {
                Ok(Some(1.0))
            } else {
                Ok(Some(if e { 1.0 } else { 0.0 }))
            }
        }
    }
}

pub(crate) async fn banks_create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let m = model_body(&headers, &body)?;
    let Some(name) = m.get("name") else {
        return Err(ApiError::missing(&["name"], Value::Object(m)));
    };
    let Some(name) = name.as_str().map(str::to_string) else {
        return Err(ApiError::unparsable(
            "name",
            "string_type",
            "Input should be a valid string",
            name.clone(),
        ));
    };
    let ratio = body_ratio(&m, true)?.unwrap_or(1.0);
    if !hma_bank_name_ok(&name) {
        return Err(ApiError::bad("Bank names must be UPPER_WITH_UNDERSCORE"));
    }
    let new = NewBank {
        match_ratio: ratio,
        ..NewBank::block(&name)
    };
    match state.store().create_bank(&who.name, &new).await {
        Ok(_) => {}
        Err(vigil_store::Error::BankExists(_)) => {
            return Err(ApiError::forbidden("Bank already exists"));
        }
        Err(e) => return Err(e.into()),
    }
    let bank = state.store().bank_uncounted(&name).await?;
    Ok((StatusCode::CREATED, Json(bank_json(&bank))).into_response())
}

pub(crate) async fn bank_get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let bank = state.store().bank_uncounted(&name).await?;
    Ok(Json(bank_json(&bank)))
}

pub(crate) async fn bank_update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let m = model_body(&headers, &body)?;
    let ratio = body_ratio(&m, false)?;
    let rename = match m.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(ApiError::unparsable(
                "name",
                "string_type",
                "Input should be a valid string",
                v.clone(),
            ));
        }
    };
    if let Err(vigil_store::Error::NoBank(_)) = state.store().bank_uncounted(&name).await {
        return Err(ApiError::not_found("Bank not found"));
    }
    if let Some(n) = &rename
        && !hma_bank_name_ok(n)
    {
        return Err(ApiError::bad("Bank names must be UPPER_WITH_UNDERSCORE"));
    }
    let update = BankUpdate {
        name: rename.clone().filter(|n| *n != name),
        match_ratio: ratio,
        ..BankUpdate::default()
    };
    if update.name.is_some() || update.match_ratio.is_some() {
        match state.store().update_bank(&who.name, &name, &update).await {
            Ok(_) => {}
            Err(vigil_store::Error::BankExists(_)) => {
                return Err(ApiError::forbidden("Bank name already exists"));
            }
            Err(vigil_store::Error::NoBank(_)) => {
                return Err(ApiError::not_found("Bank not found"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let bank = state
        .store()
        .bank_uncounted(rename.as_deref().unwrap_or(&name))
        .await?;
    Ok(Json(bank_json(&bank)))
}

pub(crate) async fn bank_delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    match state.store().delete_bank(&who.name, &name).await {
        Ok(()) | Err(vigil_store::Error::NoBank(_)) => Ok(Json(json!({"message": "Done"}))),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Curator: content

/// HMA's `note`: a string of at most 255 characters; `""` is none.
fn note_of(v: Option<&Value>) -> ApiResult<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() > 255 => {
            Err(ApiError::bad("note must be at most 255 characters"))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad("note should be a string")),
    }
}

/// HMA's content `metadata`: only `content_id`, `content_uri` (strings) and `json` (object);
/// `collab` is dropped.
fn metadata_of(v: Option<&Value>) -> ApiResult<Option<Map<String, Value>>> {
    let m = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::bad("metadata should be a json object")),
    };
    let mut out = Map::new();
    for (k, v) in m {
        match (k.as_str(), v) {
            ("collab", _) => {}
            ("content_id" | "content_uri", Value::String(_) | Value::Null)
            | ("json", Value::Object(_) | Value::Null) => {
                out.insert(k.clone(), v.clone());
            }
            ("content_id" | "content_uri", _) => {
                return Err(ApiError::bad(format!(
                    "Invalid metadata: {k}: Input should be a valid string"
                )));
            }
            ("json", _) => {
                return Err(ApiError::bad(
                    "Invalid metadata: json: Input should be a valid dictionary",
                ));
            }
            _ => {
                return Err(ApiError::bad(format!(
                    "Invalid metadata: {k}: Extra inputs are not permitted"
                )));
            }
        }
    }
    Ok(Some(out))
}

/// Stores one new content item of `signals` (HMA type → value), validated.
async fn add_content(
    state: &AppState,
    who: &Principal,
    bank: &str,
    signals: &BTreeMap<String, String>,
    note: Option<String>,
    meta: Option<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let mut parsed = Vec::new();
    let mut echoed = Map::new();
    for (t, v) in signals {
        let s = parse_signal(t, v).map_err(|e| match e {
            BadSignal::UnknownType => ApiError::bad(format!("No such signal type {t}")),
            BadSignal::Invalid(r) => ApiError::bad(format!("Invalid {t} signal: {r}")),
        })?;
        echoed.insert(t.clone(), Value::String(s.value().to_string()));
        parsed.push(s);
    }
    let text = |k: &str| {
        meta.as_ref()
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let new = NewContent {
        signals: parsed,
        external_id: text("content_id"),
        uri: text("content_uri"),
        note,
        meta: meta.as_ref().map(|m| Value::Object(m.clone()).to_string()),
        source: format!("api:{}", who.name),
    };
    let id = state.store().create_content(&who.name, bank, &new).await?;
    Ok(Json(json!({"id": id, "signals": echoed})))
}

pub(crate) async fn bank_add_signal(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(bank): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    state.store().bank_uncounted(&bank).await?;
    let v = json_body(&headers, &body)?;
    let Value::Object(mut m) = v else {
        return Err(ApiError::internal("signal body is not an object"));
    };
    let note = note_of(m.get("note"))?;
    m.remove("note");
    if m.is_empty() {
        return Err(ApiError::bad("No signals given"));
    }
    let mut signals = BTreeMap::new();
    for (t, v) in &m {
        if !SIGNAL_TYPES.iter().any(|(s, _)| s == t) {
            return Err(ApiError::bad(format!("No such signal type {t}")));
        }
        let Some(v) = v.as_str() else {
            return Err(ApiError::bad(format!("Invalid {t} signal: not a string")));
        };
        signals.insert(t.clone(), v.to_string());
    }
    add_content(&state, &who, &bank, &signals, note, None).await
}

pub(crate) async fn bank_add_content(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(bank): Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Json<Value>> {
    state.store().bank_uncounted(&bank).await?;
    let p = Params::parse(q);
    let headers = req.headers().clone();
    let (meta, note, file) = if is_json(&headers) {
        let body = Bytes::from_request(req, &state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (
            metadata_of(v.get("metadata"))?,
            note_of(v.get("note"))?,
            None,
        )
    } else {
        let up = read_upload(&state, req).await?;
        let meta = match up.fields.get("metadata") {
            None => None,
            Some(t) => {
                let v: Value = serde_json::from_str(t)
                    .map_err(|_| ApiError::bad("metadata form field must be valid JSON"))?;
                metadata_of(Some(&v))?
            }
        };
        let note = note_of(
            up.fields
                .get("note")
                .map(|s| Value::String(s.clone()))
                .as_ref(),
        )?;
        (meta, note, up.file)
    };
    let hashes = if let Some(url) = p.get("url").filter(|u| !u.is_empty()) {
        hash_url(&state, url, p.get("content_type"), p.get("types")).await?
    } else if let Some((field, bytes)) = file {
        let types = hashing::chosen_types(&field, p.get("types"))?;
        hash_bytes(&state, bytes, field, types).await?
    } else {
        return Err(ApiError::bad(
            "Neither `url` nor multipart file upload was received",
        ));
    };
    add_content(&state, &who, &bank, &hashes, note, meta).await
}

fn content_id(raw: &str) -> ApiResult<i64> {
    // Flask's `<int:…>`: digits only, else the route does not match (404).
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::not_found(
            "The requested URL was not found on the server.",
        ));
    }
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("content '{raw}' not found")))
}

/// HMA's `disable_until_ts` of a stored quarantine: 1 enabled, 0 until lifted, else seconds.
fn disable_ts(until: Option<i64>) -> i64 {
    match until {
        None => 1,
        Some(i64::MAX) => 0,
        Some(ms) => ms.div_euclid(1000),
    }
}

pub(crate) async fn content_get(
    State(state): State<AppState>,
    Path((bank, raw_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let id = content_id(&raw_id)?;
    let p = Params::parse(q);
    let include_signals = p
        .get("include_signals")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let include_metadata = p.get("include_metadata").is_none_or(|v| v == "true");
    let b = state.store().bank_uncounted(&bank).await?;
    let c = state.store().content(&bank, id).await?;
    let mut out = json!({
        "id": c.id,
        "disable_until_ts": disable_ts(c.disabled_until),
        "original_media_uri": null,
        "bank": bank_json(&b),
    });
    if include_signals && !c.signals.is_empty() {
        let mut sigs = Map::new();
        for s in &c.signals {
            sigs.insert(
                hma_type(s.signal.kind()).to_string(),
                Value::String(s.signal.value().to_string()),
            );
        }
        out["signals"] = Value::Object(sigs);
    }
    if include_metadata {
        let user: Option<Map<String, Value>> =
            c.meta.as_deref().and_then(|t| serde_json::from_str(t).ok());
        let collab: Option<Map<String, Value>> = (!c.provenance.is_empty()).then(|| {
            let mut m = Map::new();
            for (source, rec) in &c.provenance {
                m.insert(source.clone(), json!(rec.ids));
            }
            m
        });
        if user.is_some() || collab.is_some() {
            let field = |k: &str| {
                user.as_ref()
                    .and_then(|u| u.get(k).cloned())
                    .unwrap_or(Value::Null)
            };
            out["metadata"] = json!({
                "content_id": field("content_id"),
                "content_uri": field("content_uri"),
                "json": field("json"),
                "collab": collab.map_or(Value::Null, Value::Object),
            });
        }
    }
    if let Some(n) = &c.note {
        out["note"] = Value::String(n.clone());
    }
    Ok(Json(out))
}

pub(crate) async fn content_update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((bank, raw_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = content_id(&raw_id)?;
    let b = state.store().bank_uncounted(&bank).await?;
    state.store().content(&bank, id).await?;
    let v = json_body(&headers, &body)?;
    let Value::Object(m) = v else {
        return Err(ApiError::bad("this endpoint expects a json object payload"));
    };
    if let Some(ts) = m.get("disable_until_ts") {
        let n: i64 = match ts {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| ApiError::bad(format!("Invalid int: '{n}'")))?,
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| ApiError::bad(format!("Invalid int: '{s}'")))?,
            Value::Null => {
                return Err(ApiError::bad(
                    "disable_until_ts must be a non-negative integer",
                ));
            }
            other => return Err(ApiError::bad(format!("Invalid int: '{other}'"))),
        };
        if n < 0 {
            return Err(ApiError::bad(
                "disable_until_ts must be a non-negative integer",
            ));
        }
        if n > now_ms() / 1000 + 5 * 365 * 86_400 {
            return Err(ApiError::bad(
                "disable_until_ts must be less than 5 years in the future",
            ));
        }
        let until = match n {
            1 => None,
            0 => Some(i64::MAX),
            t => Some(t * 1000),
        };
        state
            .store()
            .set_content_disabled(&who.name, &bank, id, until)
            .await?;
    }
    if m.contains_key("note") {
        let note = note_of(m.get("note"))?;
        state
            .store()
            .set_content_note(&who.name, &bank, id, note.as_deref())
            .await?;
    }
    let c = state.store().content(&bank, id).await?;
    let user: Value = c
        .meta
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    Ok(Json(json!({
        "bank": bank_json(&b),
        "collab_metadata": {},
        "disable_until_ts": disable_ts(c.disabled_until),
        "id": c.id,
        "note": c.note,
        "original_media_uri": null,
        "user_metadata": user,
    })))
}

pub(crate) async fn content_delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((bank, raw_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = content_id(&raw_id)?;
    state.store().bank_uncounted(&bank).await?;
    match state.store().remove(&who.name, &bank, id).await {
        Ok(()) => Ok(Json(json!({"deleted": 1}))),
        Err(vigil_store::Error::NoContent { .. }) => Ok(Json(json!({"deleted": 0}))),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Curator: types and exchanges

pub(crate) async fn signal_types() -> Json<Value> {
    Json(Value::Array(
        SIGNAL_TYPES
            .iter()
            .map(|(s, _)| json!({"name": s, "enabled_ratio": 1.0}))
            .collect(),
    ))
}

pub(crate) async fn content_types() -> Json<Value> {
    Json(Value::Array(
        CONTENT_TYPES
            .iter()
            .map(|c| json!({"name": c, "enabled": true}))
            .collect(),
    ))
}

/// HMA's intended behaviour (its route always fails, §9.7): validate, then 204. Signal types
/// are always enabled in HMA whatever the ratio; so they are here.
pub(crate) async fn signal_type_update(
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let v = json_body(&headers, &body)?;
    if !SIGNAL_TYPES.iter().any(|(s, _)| *s == name) {
        return Err(ApiError::bad(format!("No such signal type '{name}'")));
    }
    let Some(r) = v.get("enabled_ratio") else {
        return Err(ApiError::bad("enabled_ratio is required"));
    };
    let r = lax_float(r).ok_or_else(|| ApiError::bad(format!("Invalid float: '{r}'")))?;
    if !(0.0..=1.0).contains(&r) {
        return Err(ApiError::bad("enabled_ratio must be between 0 and 1"));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn signal_type_index(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let p = Params::parse(q);
    let built = state.refreshed_at();
    let built = if built > 0 { built / 1000 } else { -1 };
    let mut out = Map::new();
    for t in status_types(&p)? {
        let n = held(&state, t);
        out.insert(
            t.to_string(),
            json!({"db_size": n, "index_size": n, "index_out_of_date": !state.loaded(),
                   "newest_db_item": if n > 0 { built } else { -1 },
                   "index_built_to": if n > 0 { built } else { -1 }}),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// The exchange kinds Vigil fetches (`vigil exchange add`).
const EXCHANGE_APIS: [&str; 2] = ["file", "ncmec"];

pub(crate) async fn exchange_apis() -> Json<Value> {
    Json(json!(EXCHANGE_APIS))
}

pub(crate) async fn exchange_api(Path(api): Path<String>) -> ApiResult<Json<Value>> {
    if !EXCHANGE_APIS.contains(&api.as_str()) {
        return Err(ApiError::bad(format!("no such Exchange API '{api}'")));
    }
    Ok(Json(json!({"supports_authentification": api == "ncmec",
                   "has_set_authentification": false})))
}

pub(crate) async fn exchanges_list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let names: Vec<String> = state
        .store()
        .exchanges()
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    Ok(Json(json!(names)))
}

async fn exchange_of(state: &AppState, name: &str) -> ApiResult<vigil_store::Exchange> {
    match state.store().exchange(name).await {
        Ok(e) => Ok(e),
        Err(vigil_store::Error::NoExchange(_)) => {
            Err(ApiError::not_found(format!("Exchange '{name}' not found")))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn exchange_get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = exchange_of(&state, &name).await?;
    let mut out = Map::new();
    out.insert("name".into(), json!(e.name));
    out.insert("api".into(), json!(e.kind));
    out.insert("enabled".into(), json!(true));
    out.insert("bank".into(), json!(e.bank));
    // Configuration fields, never credentials (those stay in the environment).
    if let Ok(Value::Object(cfg)) = serde_json::from_str::<Value>(&e.config) {
        for (k, v) in cfg {
            let lower = k.to_ascii_lowercase();
            if !(lower.contains("password") || lower.contains("secret") || lower.contains("token"))
            {
                out.entry(k).or_insert(v);
            }
        }
    }
    Ok(Json(Value::Object(out)))
}

pub(crate) async fn exchange_status(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = exchange_of(&state, &name).await?;
    let ok = e.last_status.as_deref() == Some("ok");
    Ok(Json(json!({
        "checkpoint_ts": null,
        "fetched_items": e.records,
        "last_fetch_complete_ts": e.last_fetch_at.map(|t| t / 1000),
        "last_fetch_succeeded": e.last_status.as_ref().map(|_| ok),
        "running_fetch_start_ts": null,
        "up_to_date": ok,
    })))
}

/// Entry points for `cargo fuzz` (not an API): the request-reading code of the HMA and Vigil
/// routes, on arbitrary input, with no store and no network.
#[doc(hidden)]
pub mod fuzzing {
    use serde_json::Value;

    use super::*;

    /// Reads `query` as a query string and `body` as a JSON body the ways the routes do, and
    /// checks what must hold of what they accept.
    pub fn request_parsing(query: &str, body: &[u8]) {
        let p = Params::parse(Some(query.to_string()));
        let _ = p.bool("include_distance");
        let _ = p.require(&["signal_type", "signal"]);
        let _ = p.banks();
        if let (Some(t), Some(v)) = (p.get("signal_type"), p.get("signal"))
            && let Ok(s) = parse_signal(t, v)
        {
            // An accepted hash is normalised: parsing it again gives it back.
            let again = parse_signal(t, s.value()).ok();
            assert_eq!(again.as_ref(), Some(&s), "{t} {v:?}");
            // Hex is lower-cased (a vpdq timestamp may keep an exponent's `E`).
            if t != "vpdq" {
                assert!(s.value().bytes().all(|b| !b.is_ascii_uppercase()));
            }
        }
        if let Some(seed) = p.get("seed") {
            let u = crate::coinflip::seeded(seed);
            assert!((0.0..1.0).contains(&u));
        }
        if let Some(ct) = p.get("content_type") {
            let _ = hashing::chosen_types(ct, p.get("types"));
        }
        if let Some(id) = p.get("id")
            && let Ok(n) = content_id(id)
        {
            assert!(n >= 0);
        }
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        let _ = metadata_of(v.get("metadata"));
        if let Ok(Some(note)) = note_of(v.get("note")) {
            assert!(!note.is_empty() && note.chars().count() <= 255);
        }
        if let Value::Object(m) = &v {
            let _ = body_ratio(m, true);
            let _ = body_ratio(m, false);
        }
        if let Some(list) = v.get("signals").and_then(Value::as_array) {
            for s in list {
                if let Ok(sig) = crate::api::signal_of(s) {
                    let text = Value::String(format!("{}:{}", sig.kind().name(), sig.value()));
                    assert_eq!(crate::api::signal_of(&text).ok().as_ref(), Some(&sig));
                }
            }
        }
    }
}
