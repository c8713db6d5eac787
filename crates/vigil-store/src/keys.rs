//! API keys of the server, and audit entries written in batches.
//!
//! The store keeps a key's name, role and the SHA-256 of its secret, never the secret: the
//! server makes the secret, shows it once, and looks keys up by the hash.

use serde_json::json;
use sqlx::Row;

use crate::{Error, Store};

/// An API key as stored (without its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Database id.
    pub id: i64,
    /// Unique name (who or what uses it).
    pub name: String,
    /// `admin`, `curator`, `matcher` or `viewer`.
    pub role: String,
    /// SHA-256 of the secret.
    pub secret_sha256: Vec<u8>,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

/// An audit entry to record with [`Store::record_audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    /// When, ms since the Unix epoch.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What (`match.lookup`, …).
    pub action: String,
    /// The bank concerned, if any.
    pub bank: Option<String>,
    /// The content item concerned, if any.
    pub content_id: Option<i64>,
    /// Details, JSON.
    pub detail: serde_json::Value,
}

/// The roles a key may have.
pub const ROLES: [&str; 4] = ["admin", "curator", "matcher", "viewer"];

impl Store {
    /// Adds an API key (its secret's SHA-256).
    pub async fn add_api_key(
        &self,
        actor: &str,
        name: &str,
        role: &str,
        secret_sha256: &[u8],
    ) -> Result<ApiKey, Error> {
        crate::banks::check_name_of("API key", name)?;
        if !ROLES.contains(&role) {
            return Err(Error::Invalid(format!(
                "role {role:?}: use one of {}",
                ROLES.join(", ")
            )));
        }
        let mut w = self.write().await?;
        let r = sqlx::query(
            "INSERT INTO api_keys (name, role, secret_sha256, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(role)
        .bind(secret_sha256.to_vec())
        .bind(w.now)
        .execute(&mut *w.tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &r
            && e.is_unique_violation()
        {
            return Err(Error::Invalid(format!(
                "an API key named {name:?} exists already"
            )));
        }
        r?;
        w.audit(
            actor,
            "key.create",
            None,
            None,
            json!({"name": name, "role": role}),
        )
        .await?;
        w.commit().await?;
        self.api_keys()
            .await?
            .into_iter()
            .find(|k| k.name == name)
            .ok_or_else(|| Error::Invalid(format!("API key {name:?} vanished")))
    }

    /// Every API key, revoked ones included, by name.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, Error> {
        let rows = sqlx::query(
            "SELECT id, name, role, secret_sha256, created_at, revoked_at FROM api_keys \
             ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiKey {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    role: r.try_get(2)?,
                    secret_sha256: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                    revoked_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Revokes the key named `name` (it stays listed, revoked).
    pub async fn revoke_api_key(&self, actor: &str, name: &str) -> Result<(), Error> {
        let mut w = self.write().await?;
        let n = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(w.now)
        .bind(name)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Invalid(format!("no live API key named {name:?}")));
        }
        w.audit(actor, "key.revoke", None, None, json!({"name": name}))
            .await?;
        w.commit().await
    }

    /// Records audit entries in one transaction (a server batches the entries of its lookups).
    /// They take no change number: the audit log is not part of the change feed.
    pub async fn record_audit(&self, entries: &[NewAudit]) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        // Multi-row statements: one round trip to the database per 200 entries, not per entry
        // (a loaded server audits thousands of lookups a second).
        let mut tx = self.pool.begin().await?;
        crate::insert_rows(
            &mut tx,
            self.backend,
            "INSERT INTO audit (at, actor, action, bank, content_id, detail)",
            "(?, ?, ?, ?, ?, ?)",
            entries,
            |q, e| {
                q.bind(e.at)
                    .bind(&e.actor)
                    .bind(&e.action)
                    .bind(e.bank.as_deref())
                    .bind(e.content_id)
                    .bind(e.detail.to_string())
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
