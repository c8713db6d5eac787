//! What every handler shares: the store, the live matcher, keys, metrics, the audit writer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::Instant;

use tokio::sync::mpsc;
use vigil_matcher::Shared;
use vigil_store::{Action, NewActionEvent, NewAudit, Store};

use crate::auth::Keys;
use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// The shared state (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) matcher: Shared,
    pub(crate) config: ServerConfig,
    /// The first load of the matcher is done.
    pub(crate) loaded: AtomicBool,
    /// When the last refresh succeeded, ms since the Unix epoch (0: never).
    pub(crate) refreshed_at: AtomicI64,
    pub(crate) keys: RwLock<Keys>,
    pub(crate) metrics: Metrics,
    pub(crate) audit: mpsc::Sender<NewAudit>,
    /// Match actions (reloaded with the keys).
    pub(crate) actions: RwLock<Vec<Action>>,
    /// Fired action events, to the actions task.
    pub(crate) fired: mpsc::Sender<NewActionEvent>,
    /// Token buckets per caller: (tokens, last refill).
    pub(crate) buckets: Mutex<HashMap<String, (f64, Instant)>>,
    /// The case registry as last read (without points), with the store's change counter it
    /// was read at ([`vigil_store::Store::cases_version`]).
    pub(crate) cases: tokio::sync::Mutex<Option<(i64, Arc<Vec<vigil_cases::Incident>>)>>,
    /// Recent network analyses of the registry ([`crate::cases::NetCache`]).
    pub(crate) networks: tokio::sync::Mutex<crate::cases::NetCache>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl AppState {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The live matcher.
    pub fn matcher(&self) -> &Shared {
        &self.0.matcher
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The live keys.
    pub fn keys(&self) -> RwLockReadGuard<'_, Keys> {
        self.0.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the live keys.
    pub fn set_keys(&self, keys: Keys) {
        *self.0.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
    }

    /// The match actions.
    pub fn actions(&self) -> Vec<Action> {
        self.0
            .actions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the match actions.
    pub fn set_actions(&self, actions: Vec<Action>) {
        *self
            .0
            .actions
            .write()
            .unwrap_or_else(PoisonError::into_inner) = actions;
    }

    /// Fires the actions a lookup's hits call for.
    pub async fn fire(
        &self,
        who: &str,
        query_type: &str,
        query: &str,
        hits: &[vigil_matcher::Hit],
    ) {
        let events = {
            let actions = self
                .0
                .actions
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if actions.is_empty() {
                return;
            }
            crate::actions::events_for(&actions, who, query_type, query, hits)
        };
        for e in events {
            if self.0.fired.send(e).await.is_err() {
                tracing::error!("actions task has stopped: event not recorded");
            }
        }
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Whether the matcher has loaded.
    pub fn loaded(&self) -> bool {
        self.0.loaded.load(Ordering::Acquire)
    }

    /// When the matcher last refreshed successfully (ms since the epoch, 0: never).
    pub fn refreshed_at(&self) -> i64 {
        self.0.refreshed_at.load(Ordering::Acquire)
    }

    /// Queues an audit entry (written in batches by the audit task). Waits when the queue is
    /// full rather than dropping the entry.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        bank: Option<&str>,
        detail: serde_json::Value,
    ) {
        let entry = NewAudit {
            at: now_ms(),
            actor: actor.to_string(),
            action: action.to_string(),
            bank: bank.map(str::to_string),
            content_id: None,
            detail,
        };
        if self.0.audit.send(entry).await.is_err() {
            tracing::error!(action, "audit writer has stopped: entry not recorded");
        }
    }

    /// Takes one token from the caller's bucket (`rate_limit` requests per second, bursts of
    /// twice that); `true` when the request may go on.
    pub fn rate_ok(&self, who: &str) -> bool {
        let rate = self.0.config.rate_limit;
        if rate <= 0.0 {
            return true;
        }
        let burst = rate * 2.0;
        let now = Instant::now();
        let mut b = self
            .0
            .buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = b.entry(who.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
