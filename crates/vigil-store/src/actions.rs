//! Match actions: rules that fire when a lookup matches a bank (or any bank), and the events
//! they leave — a webhook POST to deliver (retried by the server) or a record only.

use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Store};

/// An action as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The bank whose matches fire it; `None`: every block bank.
    pub bank: Option<String>,
    /// `webhook` or `record`.
    pub kind: String,
    /// Where a webhook POSTs.
    pub url: Option<String>,
    /// The environment variable holding a webhook's HMAC-SHA256 signing secret, if it signs.
    pub secret_env: Option<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
}

/// An action to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    /// Unique name.
    pub name: String,
    /// The bank (`None`: every bank).
    pub bank: Option<String>,
    /// `webhook` or `record`.
    pub kind: String,
    /// A webhook's `http(s)://` URL.
    pub url: Option<String>,
    /// The environment variable holding its signing secret.
    pub secret_env: Option<String>,
}

/// An event to record: an action fired by a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActionEvent {
    /// The action.
    pub action_id: i64,
    /// When, ms since the Unix epoch.
    pub at: i64,
    /// The matched bank.
    pub bank: String,
    /// The matched content item.
    pub content_id: Option<i64>,
    /// What is sent (JSON text).
    pub payload: String,
    /// `pending` (a webhook to deliver) or `recorded`.
    pub status: String,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionEvent {
    /// Database id.
    pub id: i64,
    /// The action.
    pub action_id: i64,
    /// When it fired.
    pub at: i64,
    /// The matched bank.
    pub bank: String,
    /// The matched content item.
    pub content_id: Option<i64>,
    /// The payload (JSON text).
    pub payload: String,
    /// `recorded`, `pending`, `delivered` or `failed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// The next attempt's time (pending only).
    pub next_at: Option<i64>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
}

const ACTION_COLUMNS: &str = "a.id, a.name, b.name, a.kind, a.url, a.secret_env, a.created_at";

fn action_from_row(r: &AnyRow) -> Result<Action, Error> {
    Ok(Action {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        bank: r.try_get(2)?,
        kind: r.try_get(3)?,
        url: r.try_get(4)?,
        secret_env: r.try_get(5)?,
        created_at: r.try_get(6)?,
    })
}

const EVENT_COLUMNS: &str = "id, action_id, at, bank, content_id, payload, status, attempts, \
     next_at, last_error, delivered_at";

fn event_from_row(r: &AnyRow) -> Result<ActionEvent, Error> {
    Ok(ActionEvent {
        id: r.try_get(0)?,
        action_id: r.try_get(1)?,
        at: r.try_get(2)?,
        bank: r.try_get(3)?,
        content_id: r.try_get(4)?,
        payload: r.try_get(5)?,
        status: r.try_get(6)?,
        attempts: r.try_get(7)?,
        next_at: r.try_get(8)?,
        last_error: r.try_get(9)?,
        delivered_at: r.try_get(10)?,
    })
}

impl Store {
    /// Creates an action.
    pub async fn add_action(&self, actor: &str, new: &NewAction) -> Result<Action, Error> {
        crate::banks::check_name_of("action", &new.name)?;
        match new.kind.as_str() {
            "webhook" => {
                let ok = new
                    .url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
                if !ok {
                    return Err(Error::Invalid(format!(
                        "action {:?}: a webhook needs an http:// or https:// URL",
                        new.name
                    )));
                }
            }
            "record" => {}
            other => {
                return Err(Error::Invalid(format!(
                    "action kind {other:?}: use webhook or record"
                )));
            }
        }
        let mut w = self.write().await?;
        let bank_id = match &new.bank {
            Some(b) => Some(crate::content::bank_id(&mut w, b).await?),
            None => None,
        };
        let r = sqlx::query(
            "INSERT INTO actions (name, bank_id, kind, url, secret_env, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&new.name)
        .bind(bank_id)
        .bind(&new.kind)
        .bind(new.url.as_deref())
        .bind(new.secret_env.as_deref())
        .bind(w.now)
        .execute(&mut *w.tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &r
            && e.is_unique_violation()
        {
            return Err(Error::Invalid(format!(
                "an action named {:?} exists already",
                new.name
            )));
        }
        r?;
        w.audit(
            actor,
            "action.create",
            new.bank.as_deref(),
            None,
            json!({"name": new.name, "kind": new.kind, "url": new.url,
                   "secret_env": new.secret_env}),
        )
        .await?;
        w.commit().await?;
        self.actions()
            .await?
            .into_iter()
            .find(|a| a.name == new.name)
            .ok_or_else(|| Error::Invalid(format!("action {:?} vanished", new.name)))
    }

    /// Every action, by name.
    pub async fn actions(&self) -> Result<Vec<Action>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM actions a LEFT JOIN banks b ON b.id = a.bank_id \
             ORDER BY a.name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(action_from_row).collect()
    }

    /// Removes an action with its events.
    pub async fn remove_action(&self, actor: &str, name: &str) -> Result<(), Error> {
        let mut w = self.write().await?;
        let n = sqlx::query("DELETE FROM actions WHERE name = $1")
            .bind(name)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::Invalid(format!("no action named {name:?}")));
        }
        w.audit(actor, "action.remove", None, None, json!({"name": name}))
            .await?;
        w.commit().await
    }

    /// Records fired actions' events in one transaction; pending ones are due at once.
    pub async fn record_action_events(&self, events: &[NewActionEvent]) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for e in events {
            sqlx::query(
                "INSERT INTO action_events (action_id, at, bank, content_id, payload, status, \
                 next_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(e.action_id)
            .bind(e.at)
            .bind(&e.bank)
            .bind(e.content_id)
            .bind(&e.payload)
            .bind(&e.status)
            .bind((e.status == "pending").then_some(e.at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Pending events due by `now` (ms), oldest first, at most `limit`.
    pub async fn due_action_events(&self, now: i64, limit: i64) -> Result<Vec<ActionEvent>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM action_events WHERE status = 'pending' AND next_at <= $1 \
             ORDER BY next_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Records a delivery attempt: delivered (`error` `None`), or failed with `error`, to be
    /// tried again at `next_at` or given up (`next_at` `None`: status `failed`).
    pub async fn record_delivery(
        &self,
        id: i64,
        now: i64,
        error: Option<&str>,
        next_at: Option<i64>,
    ) -> Result<(), Error> {
        let status = match (error, next_at) {
            (None, _) => "delivered",
            (Some(_), Some(_)) => "pending",
            (Some(_), None) => "failed",
        };
        sqlx::query(
            "UPDATE action_events SET status = $1, attempts = attempts + 1, next_at = $2, \
             last_error = $3, delivered_at = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(next_at.filter(|_| error.is_some()))
        .bind(error)
        .bind(error.is_none().then_some(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Events of one action (or all, `None`) after id `after`, oldest first, at most `limit`.
    pub async fn action_events(
        &self,
        action: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ActionEvent>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM action_events WHERE id > $1 AND ($2 = 0 OR action_id = \
             (SELECT id FROM actions WHERE name = $3)) ORDER BY id LIMIT $4"
        ))
        .bind(after)
        .bind(i64::from(action.is_some()))
        .bind(action.unwrap_or(""))
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
