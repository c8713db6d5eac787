//! `vigil serve`: the matching service.
//!
//! One process serves HMA's HTTP API ([`hma`]; existing HMA clients work unchanged, see
//! `docs/hma-compat.md`) over a [`vigil_store::Store`] (SQLite by default, PostgreSQL when
//! configured), with a live [`vigil_matcher::Shared`] matcher that follows the store's change
//! feed every [`ServerConfig::refresh_every`] — a bank change is visible to lookups within about
//! that, with no rebuild and no pause of lookups. Every route needs a role ([`auth`]), every
//! change and every lookup that matched is in the audit log, and `/metrics` serves Prometheus
//! counters.
//!
//! Tasks beside the HTTP server: the matcher's first load (lookups answer 503 "index not yet
//! ready" until it is done, `/status` says `INDEX-NOT-LOADED`), its refresh loop (which also
//! reloads the API keys, so a new or revoked key counts within a refresh), and the audit writer
//! (entries written in batches, so auditing lookups costs no write per lookup).

#![warn(missing_docs)]

pub mod actions;
pub mod api;
pub mod auth;
pub mod cases;
pub mod cases_map;
pub mod coinflip;
pub mod config;
pub mod crawls;
pub mod error;
pub mod exchanges;
pub mod hashing;
pub mod hma;
pub mod metrics;
pub mod remote;
pub mod state;
pub mod ui;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use vigil_matcher::{Matcher, Shared};
use vigil_store::{NewAudit, Store};

pub use config::{MapTiles, Parts, ServerConfig};
pub use state::AppState;

use crate::auth::Keys;
use crate::metrics::Metrics;
use crate::state::Inner;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] vigil_store::Error),
    /// The address could not be bound.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Refused: no API key, and an address other than loopback.
    #[error(
        "refusing to serve {0} without authentication: no API key or user exists (create one \
         with `vigil key create --name NAME --role admin` or `vigil user create`), and only a \
         loopback address may be served open"
    )]
    Open(SocketAddr),
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    state: AppState,
    shutdown: watch::Sender<bool>,
    http: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

/// Every route pattern, for `/site-map` (sorted when served).
fn router(state: &AppState) -> (Router<AppState>, Vec<&'static str>) {
    let parts = state.config().parts;
    let mut r = Router::new();
    let mut patterns = vec!["/", "/status", "/status/live", "/site-map", "/metrics"];
    r = r
        .route("/", get(hma::root))
        .route("/status", get(hma::status))
        .route("/status/live", get(hma::status_live))
        .route("/metrics", get(hma::metrics));
    if parts.hasher {
        r = r.route("/h/hash", get(hma::hash_get).post(hma::hash_post));
        patterns.push("/h/hash");
    }
    if parts.matcher {
        r = r
            .route("/m/raw_lookup", get(hma::raw_lookup))
            .route("/m/lookup", get(hma::lookup_get).post(hma::lookup_post))
            .route("/m/compare", post(hma::compare))
            .route("/m/index/status", get(hma::index_status));
        patterns.extend([
            "/m/raw_lookup",
            "/m/lookup",
            "/m/compare",
            "/m/index/status",
        ]);
    }
    if parts.curator {
        r = r
            .route("/c/banks", get(hma::banks_list).post(hma::banks_create))
            .route(
                "/c/bank/{bank_name}",
                get(hma::bank_get)
                    .put(hma::bank_update)
                    .delete(hma::bank_delete),
            )
            .route("/c/bank/{bank_name}/content", post(hma::bank_add_content))
            .route(
                "/c/bank/{bank_name}/content/{content_id}",
                get(hma::content_get)
                    .put(hma::content_update)
                    .delete(hma::content_delete),
            )
            .route("/c/bank/{bank_name}/signal", post(hma::bank_add_signal))
            .route("/c/signal_type", get(hma::signal_types))
            .route("/c/signal_type/index", get(hma::signal_type_index))
            .route(
                "/c/signal_type/{signal_type_name}",
                put(hma::signal_type_update),
            )
            .route("/c/content_type", get(hma::content_types))
            .route(
                "/c/exchanges",
                get(hma::exchanges_list).post(exchanges::create),
            )
            .route("/c/exchanges/apis", get(hma::exchange_apis))
            .route("/c/exchanges/api/{api_name}", get(hma::exchange_api))
            .route(
                "/c/exchanges/api/{api_name}/schema",
                get(exchanges::api_schema),
            )
            .route(
                "/c/exchange/{exchange_name}",
                get(hma::exchange_get)
                    .put(exchanges::update)
                    .delete(exchanges::delete),
            )
            .route(
                "/c/exchange/{exchange_name}/status",
                get(hma::exchange_status),
            );
        patterns.extend([
            "/c/banks",
            "/c/bank/<bank_name>",
            "/c/bank/<bank_name>/content",
            "/c/bank/<bank_name>/content/<int:content_id>",
            "/c/bank/<bank_name>/signal",
            "/c/signal_type",
            "/c/signal_type/index",
            "/c/signal_type/<signal_type_name>",
            "/c/content_type",
            "/c/exchanges",
            "/c/exchanges/apis",
            "/c/exchanges/api/<string:api_name>",
            "/c/exchanges/api/<string:api_name>/schema",
            "/c/exchange/<string:exchange_name>",
            "/c/exchange/<string:exchange_name>/status",
        ]);
    }
    r = r
        .route("/api/v1/openapi.json", get(api::openapi))
        .route(
            "/api/v1/lookup",
            get(api::lookup_one).post(api::lookup_batch),
        )
        .route("/api/v1/verdicts", post(api::verdict_create))
        .route(
            "/api/v1/quarantine",
            post(api::quarantine).delete(api::release),
        )
        .route("/api/v1/banks", get(api::banks))
        .route("/api/v1/banks/{bank}/content", get(api::bank_content))
        .route("/api/v1/banks/{bank}/content/{id}", get(api::content_item))
        .route(
            "/api/v1/banks/{bank}/content/{id}/quarantine",
            post(api::content_quarantine).delete(api::content_quarantine),
        )
        .route("/api/v1/banks/{bank}/verdicts", get(api::verdicts))
        .route("/api/v1/audit", get(api::audit))
        .route(
            "/api/v1/actions",
            get(api::actions).post(api::action_create),
        )
        .route("/api/v1/actions/{name}", delete(api::action_delete))
        .route("/api/v1/actions/{name}/events", get(api::action_events));
    patterns.extend(api::routes().keys().copied());
    r = r.merge(ui::routes()).merge(crawls::routes());
    patterns.extend(ui::PATTERNS);
    r = r.merge(cases::routes()).merge(cases_map::routes());
    patterns.extend(cases::PATTERNS);
    patterns.extend(cases_map::PATTERNS);
    patterns.extend(crawls::PATTERNS);
    (r, patterns)
}

/// The application: every route with its role check and body limit.
pub fn app(state: AppState) -> Router {
    let (r, mut patterns) = router(&state);
    patterns.sort_unstable();
    patterns.dedup();
    let site_map = axum::Json(patterns);
    r.route("/site-map", get(move || async move { site_map }))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .layer(DefaultBodyLimit::max(state.config().max_body_bytes))
        .with_state(state)
}

const AUDIT_BATCH: usize = 1024;
/// How long the audit writer gathers entries after the first of a batch. Each batch is one
/// transaction, and each commit one fsync (`synchronous = FULL`): under load, committing as
/// soon as a few entries wait cost a sixth of the server's CPU at 12,000 audited lookups/s.
const AUDIT_LINGER: Duration = Duration::from_millis(20);

async fn audit_writer(store: Store, mut rx: mpsc::Receiver<NewAudit>) {
    let mut batch = Vec::with_capacity(AUDIT_BATCH);
    while rx.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
        let until = tokio::time::Instant::now() + AUDIT_LINGER;
        while batch.len() < AUDIT_BATCH {
            let more = AUDIT_BATCH - batch.len();
            match tokio::time::timeout_at(until, rx.recv_many(&mut batch, more)).await {
                Ok(n) if n > 0 => {}
                // Time is up, or every sender is gone (shutdown): write what there is.
                _ => break,
            }
        }
        // A failed write is retried (entries are never dropped silently) until it succeeds.
        let mut delay = Duration::from_millis(100);
        while let Err(e) = store.record_audit(&batch).await {
            tracing::error!(error = %e, entries = batch.len(), "audit write failed; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
        batch.clear();
    }
}

async fn refresher(state: AppState, mut stop: watch::Receiver<bool>) {
    let started = std::time::Instant::now();
    match Matcher::load(state.store()).await {
        Ok(m) => {
            state.matcher().set(m);
            state
                .0
                .refreshed_at
                .store(state::now_ms(), Ordering::Release);
            state.0.loaded.store(true, Ordering::Release);
            tracing::info!(secs = started.elapsed().as_secs_f64(), "index loaded");
        }
        Err(e) => {
            // Lookups keep answering 503 and /status INDEX-NOT-LOADED; retried below.
            tracing::error!(error = %e, "loading the index failed");
        }
    }
    let mut tick = tokio::time::interval(state.config().refresh_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let (Ok(keys), Ok(users)) = (state.store().api_keys().await, state.store().users().await)
        {
            state.set_keys(Keys::from_store_with_users(&keys, &users));
        }
        if let Ok(actions) = state.store().actions().await {
            state.set_actions(actions);
        }
        if !state.loaded() {
            if let Ok(m) = Matcher::load(state.store()).await {
                state.matcher().set(m);
                state.0.loaded.store(true, Ordering::Release);
                state
                    .0
                    .refreshed_at
                    .store(state::now_ms(), Ordering::Release);
            }
            continue;
        }
        match state.matcher().refresh(state.store()).await {
            Ok(_) => state
                .0
                .refreshed_at
                .store(state::now_ms(), Ordering::Release),
            Err(e) => {
                state.metrics().refresh_failures.inc();
                tracing::warn!(error = %e, "index refresh failed");
            }
        }
    }
}

impl Server {
    /// Binds `config.listen`, starts loading the index and serving. Refuses an open server
    /// (no API key) on an address other than loopback.
    pub async fn start(store: Store, config: ServerConfig) -> Result<Server, Error> {
        let keys = Keys::from_store_with_users(&store.api_keys().await?, &store.users().await?);
        if keys.is_open() && !config.listen.ip().is_loopback() {
            return Err(Error::Open(config.listen));
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let (audit_tx, audit_rx) = mpsc::channel(65_536);
        let (fired_tx, fired_rx) = mpsc::channel(65_536);
        let actions = store.actions().await?;
        let state = AppState(Arc::new(Inner {
            store: store.clone(),
            matcher: Shared::empty(),
            config,
            loaded: AtomicBool::new(false),
            refreshed_at: AtomicI64::new(0),
            keys: RwLock::new(keys),
            metrics: Metrics::default(),
            audit: audit_tx,
            actions: RwLock::new(actions),
            fired: fired_tx,
            buckets: Mutex::new(Default::default()),
            cases: tokio::sync::Mutex::new(None),
            networks: tokio::sync::Mutex::new(Default::default()),
        }));
        let (shutdown, stop) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(audit_writer(store, audit_rx)),
            tokio::spawn(refresher(state.clone(), stop.clone())),
            tokio::spawn(actions::run(state.clone(), fired_rx, stop.clone())),
        ];
        let mut tasks = tasks;
        if let Some(every) = state.config().fetch_every {
            tasks.push(tokio::spawn(exchanges::fetch_loop(
                state.clone(),
                every,
                stop.clone(),
            )));
        }
        let app = app(state.clone());
        let mut stop_http = stop;
        let http = tokio::spawn(async move {
            let graceful = async move {
                let _ = stop_http.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(graceful)
                .await
            {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        tracing::info!(%addr, "serving");
        Ok(Server {
            addr,
            state,
            shutdown,
            http,
            tasks,
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops taking connections, lets requests in flight finish, writes the audit entries
    /// queued, and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.http.await;
        let Server { state, tasks, .. } = self;
        let mut tasks = tasks.into_iter();
        let audit = tasks.next();
        for t in tasks {
            let _ = t.await;
        }
        // The last sender goes with the state: the audit writer then drains and ends.
        drop(state);
        if let Some(a) = audit {
            let _ = tokio::time::timeout(Duration::from_secs(30), a).await;
        }
    }
}
