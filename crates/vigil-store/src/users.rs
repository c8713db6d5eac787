//! Users of the web UI and their login sessions, and the audit log read newest first.
//!
//! A user has a unique name, a role (as an API key's) and a password kept as a PHC string
//! (`$argon2id$…`): the server hashes and verifies passwords, the store only keeps the string and
//! never audits it. A session is what a login gives a browser: the store keeps the SHA-256 of its
//! token (never the token), its CSRF token, its user, and when it was made, last used and ends.
//! A session whose end has passed, or whose user is disabled, is not found. Sessions are not part
//! of the change feed; logins, logouts and user changes are audited.

use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::keys::ROLES;
use crate::{AuditEntry, Error, Store};

/// A user of the web UI (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Unique name (what the user logs in with).
    pub name: String,
    /// `admin`, `curator`, `matcher` or `viewer`.
    pub role: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
    /// Last change of role, password or state, ms since the Unix epoch.
    pub updated_at: i64,
    /// When the user was disabled (can no longer log in), if so.
    pub disabled_at: Option<i64>,
}

/// A login session as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Database id.
    pub id: i64,
    /// The user it belongs to.
    pub user_id: i64,
    /// The token a state-changing request must carry (`X-CSRF-Token`).
    pub csrf: String,
    /// Login time, ms since the Unix epoch.
    pub created_at: i64,
    /// The end: the session is not found after this time, ms since the Unix epoch.
    pub expires_at: i64,
    /// Last use recorded, ms since the Unix epoch.
    pub last_seen: i64,
}

impl std::fmt::Debug for Session {
    /// The CSRF token is a secret of the session: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("csrf", &"***")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen", &self.last_seen)
            .finish()
    }
}

const USER_COLUMNS: &str = "u.id, u.name, u.role, u.created_at, u.updated_at, u.disabled_at";

fn user_from(r: &AnyRow) -> Result<User, Error> {
    Ok(User {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: r.try_get(2)?,
        created_at: r.try_get(3)?,
        updated_at: r.try_get(4)?,
        disabled_at: r.try_get(5)?,
    })
}

/// A session from the columns after the user's six.
fn session_from(r: &AnyRow) -> Result<Session, Error> {
    Ok(Session {
        id: r.try_get(6)?,
        user_id: r.try_get(7)?,
        csrf: r.try_get(8)?,
        created_at: r.try_get(9)?,
        expires_at: r.try_get(10)?,
        last_seen: r.try_get(11)?,
    })
}

fn check_role(role: &str) -> Result<(), Error> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "role {role:?}: use one of {}",
            ROLES.join(", ")
        )))
    }
}

/// A PHC string starts with `$` and its algorithm; the store takes nothing else (a plain
/// password given by mistake would otherwise be kept as it is).
fn check_phc(phc: &str) -> Result<(), Error> {
    let ok = phc.starts_with('$')
        && phc.len() <= 1024
        && phc[1..].split('$').count() >= 3
        && phc.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(
            "the password hash is not a PHC string ($algorithm$…)".into(),
        ))
    }
}

impl Store {
    /// Adds a user with a role and a password hash (a PHC string made by the caller).
    pub async fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: &str,
        password_phc: &str,
    ) -> Result<User, Error> {
        crate::banks::check_name_of("user", name)?;
        check_role(role)?;
        check_phc(password_phc)?;
        let mut w = self.write().await?;
        let r = sqlx::query(
            "INSERT INTO users (name, role, password_phc, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(name)
        .bind(role)
        .bind(password_phc)
        .bind(w.now)
        .execute(&mut *w.tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &r
            && e.is_unique_violation()
        {
            return Err(Error::Invalid(format!(
                "a user named {name:?} exists already"
            )));
        }
        r?;
        w.audit(
            actor,
            "user.create",
            None,
            None,
            json!({"name": name, "role": role}),
        )
        .await?;
        w.commit().await?;
        self.user(name)
            .await?
            .ok_or_else(|| Error::Invalid(format!("user {name:?} vanished")))
    }

    /// Every user, disabled ones included, by name.
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from).collect()
    }

    /// The user named `name`, if any (disabled or not).
    pub async fn user(&self, name: &str) -> Result<Option<User>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// The user named `name` with its password hash, for a login check (disabled users too:
    /// the caller refuses them).
    pub async fn user_password(&self, name: &str) -> Result<Option<(User, String)>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_phc FROM users u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((user_from(&r)?, r.try_get(6)?))),
        }
    }

    /// Replaces a user's password hash and ends its sessions.
    pub async fn set_user_password(
        &self,
        actor: &str,
        name: &str,
        password_phc: &str,
    ) -> Result<(), Error> {
        check_phc(password_phc)?;
        let mut w = self.write().await?;
        let id = user_id(&mut w, name).await?;
        sqlx::query("UPDATE users SET password_phc = $1, updated_at = $2 WHERE id = $3")
            .bind(password_phc)
            .bind(w.now)
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        w.audit(actor, "user.password", None, None, json!({"name": name}))
            .await?;
        w.commit().await
    }

    /// Disables a user: it can no longer log in, and its sessions end now.
    pub async fn disable_user(&self, actor: &str, name: &str) -> Result<(), Error> {
        let mut w = self.write().await?;
        let n = sqlx::query(
            "UPDATE users SET disabled_at = $1, updated_at = $1 \
             WHERE name = $2 AND disabled_at IS NULL",
        )
        .bind(w.now)
        .bind(name)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Invalid(format!("no enabled user named {name:?}")));
        }
        let id = user_id(&mut w, name).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        w.audit(actor, "user.disable", None, None, json!({"name": name}))
            .await?;
        w.commit().await
    }

    /// Opens a session for an enabled user (a login, audited under the user's name): the
    /// SHA-256 of its token, its CSRF token, and when it ends.
    pub async fn create_session(
        &self,
        user_id: i64,
        token_sha256: &[u8],
        csrf: &str,
        expires_at: i64,
    ) -> Result<Session, Error> {
        let mut w = self.write().await?;
        let name: Option<String> =
            sqlx::query("SELECT name FROM users WHERE id = $1 AND disabled_at IS NULL")
                .bind(user_id)
                .fetch_optional(&mut *w.tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        let Some(name) = name else {
            return Err(Error::Invalid(format!("no enabled user with id {user_id}")));
        };
        let id: i64 = sqlx::query(
            "INSERT INTO sessions (token_sha256, csrf, user_id, created_at, expires_at, \
             last_seen) VALUES ($1, $2, $3, $4, $5, $4) RETURNING id",
        )
        .bind(token_sha256.to_vec())
        .bind(csrf)
        .bind(user_id)
        .bind(w.now)
        .bind(expires_at)
        .fetch_one(&mut *w.tx)
        .await?
        .try_get(0)?;
        w.audit(&name, "user.login", None, None, json!({"name": name}))
            .await?;
        let now = w.now;
        w.commit().await?;
        Ok(Session {
            id,
            user_id,
            csrf: csrf.to_string(),
            created_at: now,
            expires_at,
            last_seen: now,
        })
    }

    /// The live session whose token has this SHA-256, with its user: `None` when there is
    /// none, it ended (its end is not after `now`), or its user is disabled.
    pub async fn session_by_token(
        &self,
        token_sha256: &[u8],
        now: i64,
    ) -> Result<Option<(User, Session)>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.id, s.user_id, s.csrf, s.created_at, s.expires_at, \
             s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
        ))
        .bind(token_sha256.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((user_from(&r)?, session_from(&r)?))),
        }
    }

    /// Records a session's use: its last use and its new end (a sliding idle time-out the
    /// caller computes). Not audited, no change number.
    pub async fn touch_session(&self, id: i64, now: i64, expires_at: i64) -> Result<(), Error> {
        sqlx::query("UPDATE sessions SET last_seen = $1, expires_at = $2 WHERE id = $3")
            .bind(now)
            .bind(expires_at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session (a logout, audited under the user's name); `false` when there was none.
    pub async fn delete_session(&self, id: i64) -> Result<bool, Error> {
        let mut w = self.write().await?;
        let name: Option<String> = sqlx::query(
            "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *w.tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        let Some(name) = name else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        w.audit(&name, "user.logout", None, None, json!({"name": name}))
            .await?;
        w.commit().await?;
        Ok(true)
    }

    /// Deletes the sessions that ended at or before `now`; returns how many. Housekeeping: not
    /// audited, no change number.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, Error> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// The audit log newest first: at most `limit` (1..=10,000) entries with an id below
    /// `before_id` (`i64::MAX` for the newest), of one action if given (`match.lookup`: the
    /// recent matches).
    pub async fn audit_recent(
        &self,
        action: Option<&str>,
        before_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, Error> {
        let limit = limit.clamp(1, 10_000);
        let sql = format!(
            "SELECT id, at, actor, action, bank, content_id, detail FROM audit WHERE {} \
             ORDER BY id DESC LIMIT {}",
            if action.is_some() {
                "action = $1 AND id < $2"
            } else {
                "id < $1"
            },
            if action.is_some() { "$3" } else { "$2" },
        );
        let mut q = sqlx::query(&sql);
        if let Some(a) = action {
            q = q.bind(a);
        }
        let rows = q.bind(before_id).bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    bank: r.try_get(4)?,
                    content_id: r.try_get(5)?,
                    detail: r.try_get(6)?,
                })
            })
            .collect()
    }
}

/// The id of the user named `name`, in a write.
async fn user_id(w: &mut crate::Write<'_>, name: &str) -> Result<i64, Error> {
    sqlx::query("SELECT id FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *w.tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
        .ok_or_else(|| Error::Invalid(format!("no user named {name:?}")))
}
