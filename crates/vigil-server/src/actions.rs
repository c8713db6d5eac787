//! Match actions: what the server does when a lookup matches. A *webhook* action POSTs a JSON
//! event, signed with HMAC-SHA256 (`X-Vigil-Signature: sha256=<hex>` over the body, the
//! secret read from the environment variable the action names), retried with exponential
//! backoff (1 s doubling to an hour, ten attempts) and every attempt recorded; a *record*
//! action only records the event. Events are written to the store first, so a delivery that
//! was pending when the server stopped is tried again after it starts.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::{mpsc, watch};
use vigil_matcher::Hit;
use vigil_store::{Action, ActionEvent, NewActionEvent, Store};

use crate::state::{AppState, now_ms};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 10;

/// When the attempt after `attempts` failed ones is due.
pub fn backoff(attempts: i64) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(0, 12) as u32).min(Duration::from_secs(3600))
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The events a lookup's hits fire (one per action and matched content item).
pub fn events_for(
    actions: &[Action],
    who: &str,
    query_type: &str,
    query: &str,
    hits: &[Hit],
) -> Vec<NewActionEvent> {
    let mut out = Vec::new();
    let at = now_ms();
    for a in actions {
        for h in hits {
            if a.bank.as_deref().is_some_and(|b| b != h.bank) {
                continue;
            }
            let mut payload = json!({
                "action": a.name,
                "at": at,
                "by": who,
                "bank": h.bank,
                "content_id": h.content_id,
                "query": {"signal_type": query_type, "signal": query},
                "matched": {"kind": h.signal.kind().name(), "value": h.signal.value(),
                            "distance": h.distance},
            });
            if let Some(d) = &h.video {
                payload["matched"]["video"] = crate::api::video_json(d);
            }
            out.push(NewActionEvent {
                action_id: a.id,
                at,
                bank: h.bank.clone(),
                content_id: Some(h.content_id),
                payload: payload.to_string(),
                status: if a.kind == "webhook" {
                    "pending".into()
                } else {
                    "recorded".into()
                },
            });
        }
    }
    out
}

/// Writes fired events (in batches) and delivers the due ones until `stop`.
pub(crate) async fn run(
    state: AppState,
    mut fired: mpsc::Receiver<NewActionEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client: actions disabled");
            return;
        }
    };
    let mut batch = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            n = fired.recv_many(&mut batch, 1024) => {
                if n == 0 {
                    return;
                }
                write(state.store(), &mut batch).await;
            }
            _ = tick.tick() => deliver_due(&state, &http).await,
            _ = stop.changed() => {
                // Record what was fired; deliveries resume after a restart.
                while let Ok(e) = fired.try_recv() {
                    batch.push(e);
                }
                write(state.store(), &mut batch).await;
                return;
            }
        }
    }
}

async fn write(store: &Store, batch: &mut Vec<NewActionEvent>) {
    if batch.is_empty() {
        return;
    }
    let mut delay = Duration::from_millis(100);
    for _ in 0..8 {
        match store.record_action_events(batch).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "recording action events failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    tracing::error!(events = batch.len(), "action events not recorded");
    batch.clear();
}

async fn deliver_due(state: &AppState, http: &reqwest::Client) {
    let now = now_ms();
    let due = match state.store().due_action_events(now, 64).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "reading due action events");
            return;
        }
    };
    if due.is_empty() {
        return;
    }
    let actions = state.actions();
    for ev in due {
        let Some(action) = actions.iter().find(|a| a.id == ev.action_id) else {
            continue;
        };
        let result = deliver(http, action, &ev).await;
        let now = now_ms();
        let (err, next) = match &result {
            Ok(()) => (None, None),
            Err(e) if ev.attempts + 1 >= MAX_ATTEMPTS => (Some(e.as_str()), None),
            Err(e) => (
                Some(e.as_str()),
                Some(now + backoff(ev.attempts).as_millis() as i64),
            ),
        };
        match &result {
            Ok(()) => state.metrics().webhooks_delivered.inc(),
            Err(e) => {
                state.metrics().webhook_failures.inc();
                tracing::warn!(action = %action.name, event = ev.id, error = %e, "webhook delivery failed");
            }
        }
        if let Err(e) = state.store().record_delivery(ev.id, now, err, next).await {
            tracing::error!(error = %e, event = ev.id, "recording a delivery");
        }
    }
}

async fn deliver(http: &reqwest::Client, action: &Action, ev: &ActionEvent) -> Result<(), String> {
    let url = action.url.as_deref().ok_or("the webhook has no URL")?;
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-vigil-event", ev.id.to_string())
        .body(ev.payload.clone());
    if let Some(var) = &action.secret_env {
        let secret = std::env::var(var)
            .map_err(|_| format!("the signing secret's variable {var} is not set"))?;
        req = req.header(
            "x-vigil-signature",
            signature(secret.as_bytes(), ev.payload.as_bytes()),
        );
    }
    let r = req.send().await.map_err(|e| {
        // The URL may carry a token: say what failed, not where.
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        format!("POST {kind}")
    })?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("POST answered {}", r.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 (HMAC-SHA256).
    #[test]
    fn signature_is_rfc_4231_hmac_sha256() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(20), Duration::from_secs(3600));
    }
}
