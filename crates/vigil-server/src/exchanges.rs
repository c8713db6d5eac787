//! Exchanges over HTTP, as HMA's curator API manages them (`POST /c/exchanges`,
//! `PUT`/`DELETE /c/exchange/<name>`, `GET /c/exchanges/api/<api>/schema`), and the background
//! fetcher (HMA's `TASK_FETCHER`): every exchange fetched from its checkpoint at an interval.
//!
//! An exchange owns the bank of its name, as in HMA: creating one creates the bank, deleting it
//! deletes the bank. Over HTTP only `ncmec` exchanges can be created: a `file` exchange reads a
//! path on the server, which is the operator's to choose (`vigil exchange add`), not an API
//! caller's. Credentials are never sent or stored: a configuration names the environment
//! variables that hold them.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;
use vigil_fetch::{ExchangeConfig, FetchOptions};
use vigil_store::NewBank;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::hma::is_json_request;
use crate::state::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// The exchange APIs (Vigil's exchange kinds).
pub const APIS: [&str; 2] = ["file", "ncmec"];

fn field(name: &str, ty: &str, required: bool, default: Value, help: &str) -> Value {
    json!({"name": name, "type": ty, "required": required, "default": default, "help": help,
           "choices": null})
}

/// `GET /c/exchanges/api/<api>/schema`: the configuration fields (HMA's descriptor shape).
/// Credentials are environment variable names, so `credentials_schema` is null.
pub(crate) async fn api_schema(Path(api): Path<String>) -> ApiResult<Json<Value>> {
    let fields = match api.as_str() {
        "ncmec" => vec![
            field(
                "base_url",
                "string",
                true,
                Value::Null,
                "the environment's base URL, e.g. https://report.cybertip.org/hashsharing",
            ),
            field(
                "user_env",
                "string",
                false,
                Value::Null,
                "the environment variable holding the user name",
            ),
            field(
                "password_env",
                "string",
                false,
                Value::Null,
                "the environment variable holding the password",
            ),
            field(
                "start",
                "number",
                false,
                json!(0),
                "where the first fetch starts, seconds since the Unix epoch",
            ),
        ],
        "file" => vec![
            field(
                "path",
                "string",
                true,
                Value::Null,
                "an absolute file or directory path on the server",
            ),
            json!({"name": "format", "type": "enum", "required": true, "default": null,
                   "help": "the files' format", "choices": ["plain", "pytx", "pytx-csv", "vics"]}),
            json!({"name": "vics_scheme", "type": "enum", "required": false, "default": null,
                   "help": "VICS category scheme", "choices": ["us", "legacy"]}),
        ],
        _ => {
            return Err(ApiError::not_found(format!(
                "Exchange API '{api}' not found"
            )));
        }
    };
    Ok(Json(
        json!({"config_schema": {"fields": fields}, "credentials_schema": null}),
    ))
}

/// `POST /c/exchanges`: `{"bank": NAME, "api": "ncmec", "api_json": {...}}` → 201.
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    if !is_json_request(&headers) {
        return Err(ApiError::not_json());
    }
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("the body is not JSON: {e}")))?;
    let Some(name) = v.get("bank").and_then(Value::as_str) else {
        return Err(ApiError::bad("bank is required"));
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
    {
        return Err(ApiError::bad("Field `bank` must match /^[A-Z0-9_]+$/"));
    }
    if name.as_bytes()[0].is_ascii_digit() {
        return Err(ApiError::bad("Bank names must be UPPER_WITH_UNDERSCORE"));
    }
    let api_json = match v.get("api_json") {
        None | Some(Value::Null) => json!({}),
        Some(o @ Value::Object(_)) => o.clone(),
        Some(_) => return Err(ApiError::bad("Field `api_json` must be object")),
    };
    let Some(api) = v.get("api").and_then(Value::as_str) else {
        return Err(ApiError::bad("Field `api_type` is required"));
    };
    if !APIS.contains(&api) {
        return Err(ApiError::bad(format!("No such exchange type '{api}'")));
    }
    if api == "file" {
        return Err(ApiError::bad(
            "file exchanges read files on the server: add them with `vigil exchange add`",
        ));
    }
    let config = ExchangeConfig::from_stored(name, api, &api_json.to_string())
        .map_err(|e| ApiError::bad(format!("Failed to parse `api_json` - {e}")))?;
    if state.store().exchange(name).await.is_ok() {
        return Err(ApiError::forbidden("Exchange already exists"));
    }
    match state
        .store()
        .create_bank(&who.name, &NewBank::block(name))
        .await
    {
        Ok(_) => {}
        Err(vigil_store::Error::BankExists(_)) => {
            return Err(ApiError::forbidden("Bank already exists"));
        }
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = vigil_fetch::add_exchange(state.store(), &who.name, name, name, &config).await {
        // Leave nothing half-made.
        let _ = state.store().delete_bank(&who.name, name).await;
        return Err(ApiError::bad(format!("Failed to parse `api_json` - {e}")));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Created successfully"})),
    )
        .into_response())
}

/// `PUT /c/exchange/<name>`: `{"enabled": true}` answers the configuration; Vigil exchanges
/// cannot be disabled (remove one instead), so `false` is refused.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let v: Value = if is_json_request(&headers) {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    if !v.is_object() {
        return Err(ApiError::not_an_object(v));
    }
    // 404 for an unknown exchange, before anything else.
    let _ = crate::hma::exchange_get(State(state.clone()), Path(name.clone())).await?;
    if v.get("enabled") == Some(&Value::Bool(false)) {
        return Err(ApiError::bad(
            "exchanges cannot be disabled in Vigil: delete the exchange instead",
        ));
    }
    Ok(crate::hma::exchange_get(State(state), Path(name))
        .await?
        .into_response())
}

/// `DELETE /c/exchange/<name>`: the exchange and its bank (HMA's cascade); 200 whether or not
/// it existed.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    match state.store().exchange(&name).await {
        Ok(ex) => {
            state.store().remove_exchange(&who.name, &name).await?;
            match state.store().delete_bank(&who.name, &ex.bank).await {
                Ok(()) | Err(vigil_store::Error::NoBank(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(vigil_store::Error::NoExchange(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Json(json!({"message": "Exchange deleted"})))
}

/// Fetches every exchange every `every` until `stop` (one at a time; an error on one is
/// recorded in its status and does not stop the others).
pub(crate) async fn fetch_loop(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let exchanges = match state.store().exchanges().await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "listing exchanges to fetch");
                continue;
            }
        };
        for ex in exchanges {
            if *stop.borrow() {
                return;
            }
            let options = FetchOptions {
                actor: "vigil-serve:fetcher".into(),
                ..FetchOptions::default()
            };
            match vigil_fetch::fetch(state.store(), &ex.name, &options).await {
                Ok(r) => {
                    tracing::info!(exchange = %ex.name, records = r.records, deletions = r.deletions,
                                        error = r.error.as_ref().map(ToString::to_string), "fetched")
                }
                Err(e) => tracing::warn!(exchange = %ex.name, error = %e, "fetch could not start"),
            }
        }
    }
}
