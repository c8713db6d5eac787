//! Who may call what: API keys, roles and the per-route permission table.
//!
//! A key is `vgl_` followed by 64 hex digits (256 random bits); the store keeps only its SHA-256
//! ([`vigil_store::ApiKey`]). A request names its key as `Authorization: Bearer <key>` (what
//! hma-matrix adds to HMA) or `X-API-Key: <key>`. Every route has one [`Need`]; a role grants a
//! set of needs. The check runs before the handler, so a caller without the right never learns
//! anything a handler would have said (whether a bank, an item or a hash exists).
//!
//! A request without a key may carry a web UI session cookie instead ([`crate::ui`]): it acts
//! as its user (name and role), and one that changes something must also carry the session's
//! CSRF token, or it is refused (403) before its handler runs. A browser without a session asking
//! for a UI page is sent (303) to the login form; other routes answer 401.
//!
//! A server with no live key is *open*: every caller acts as `admin` under the name
//! `anonymous`. It refuses to start open on any address but loopback ([`crate::Server::start`]).

use std::collections::HashMap;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    /// Nothing: health and the route list.
    Public,
    /// Any caller who is someone (a key or a logged-in user): the UI's home page and logout.
    Login,
    /// Hash media (`/h`).
    Hash,
    /// Look hashes up: the answers reveal bank content (`/m`).
    Match,
    /// Read banks, content, exchanges, types, metrics.
    Read,
    /// Change banks and content.
    Write,
    /// Manage keys and the server.
    Admin,
}

/// A role: what a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything.
    Admin,
    /// Curation, reading, hashing and matching.
    Curator,
    /// Hashing and matching (a platform's upload pipeline).
    Matcher,
    /// Reading banks and status (no match results, no hashing).
    Viewer,
}

impl Role {
    /// The role named `admin`, `curator`, `matcher` or `viewer`.
    pub fn from_name(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "curator" => Role::Curator,
            "matcher" => Role::Matcher,
            "viewer" => Role::Viewer,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Curator => "curator",
            Role::Matcher => "matcher",
            Role::Viewer => "viewer",
        }
    }

    /// Whether the role grants `need`.
    pub fn grants(self, need: Need) -> bool {
        match self {
            Role::Admin => true,
            Role::Curator => need != Need::Admin,
            Role::Matcher => matches!(need, Need::Public | Need::Login | Need::Hash | Need::Match),
            Role::Viewer => matches!(need, Need::Public | Need::Login | Need::Read),
        }
    }
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's or the user's name (`anonymous` on an open server).
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// A new key's secret and the SHA-256 the store keeps.
pub fn new_key() -> (String, [u8; 32]) {
    let bytes: [u8; 32] = rand::random();
    let secret = format!("vgl_{}", hex::encode(bytes));
    let hash = key_hash(&secret);
    (secret, hash)
}

/// The SHA-256 of a key's secret.
pub fn key_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Live keys by secret hash.
#[derive(Debug, Default)]
pub struct Keys {
    /// SHA-256 of the secret → the caller.
    pub by_hash: HashMap<[u8; 32], Principal>,
    /// Whether a user account (not disabled) exists: then the server is not open either.
    pub users: bool,
}

impl Keys {
    /// The live keys of `keys`.
    pub fn from_store(keys: &[vigil_store::ApiKey]) -> Keys {
        let by_hash = keys
            .iter()
            .filter(|k| k.revoked_at.is_none())
            .filter_map(|k| {
                let hash: [u8; 32] = k.secret_sha256.as_slice().try_into().ok()?;
                let role = Role::from_name(&k.role)?;
                Some((
                    hash,
                    Principal {
                        name: k.name.clone(),
                        role,
                    },
                ))
            })
            .collect();
        Keys {
            by_hash,
            users: false,
        }
    }

    /// The live keys of `keys`, and whether any of `users` may log in.
    pub fn from_store_with_users(
        keys: &[vigil_store::ApiKey],
        users: &[vigil_store::User],
    ) -> Keys {
        Keys {
            users: users.iter().any(|u| u.disabled_at.is_none()),
            ..Keys::from_store(keys)
        }
    }

    /// Whether no key is live and no user may log in (the server is open).
    pub fn is_open(&self) -> bool {
        self.by_hash.is_empty() && !self.users
    }
}

/// The need of a route (its pattern as registered) and method.
pub fn need(method: &Method, pattern: &str) -> Need {
    let read = method == Method::GET || method == Method::HEAD;
    if let Some(n) = crate::crawls::need(pattern) {
        return n;
    }
    if let Some(n) = crate::ui::need(pattern) {
        return n;
    }
    match pattern {
        "/" | "/status" | "/status/live" | "/site-map" | "/api/v1/openapi.json" => Need::Public,
        "/api/v1/lookup" => Need::Match,
        p if p == "/api/v1/audit" || p.starts_with("/api/v1/actions") => Need::Admin,
        p if p.starts_with("/h/") => Need::Hash,
        // Comparing two given hashes reveals nothing of the banks.
        "/m/compare" => Need::Hash,
        // Index sizes are status, not match results.
        "/m/index/status" => Need::Read,
        p if p.starts_with("/m/") => Need::Match,
        "/metrics" => Need::Read,
        p if p.starts_with("/c/") || p.starts_with("/api/v1/") => {
            if read {
                Need::Read
            } else {
                Need::Write
            }
        }
        _ => Need::Admin,
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(header::AUTHORIZATION)
        && let Ok(v) = v.to_str()
        && let Some(k) = v.strip_prefix("Bearer ")
    {
        return Some(k.trim());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The middleware: resolves the caller, checks the route's need, and hands the handler a
/// [`Principal`] (as a request extension).
pub async fn authorize(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let pattern = matched.as_ref().map_or("", |m| m.as_str());
    let need = need(req.method(), pattern);
    let ui_page = pattern == "/ui" || pattern.starts_with("/ui/");
    let (open, presented, mut principal) = {
        let keys = state.keys();
        let presented = presented_key(req.headers());
        let principal = if keys.is_open() {
            Some(Principal {
                name: "anonymous".into(),
                role: Role::Admin,
            })
        } else {
            presented.and_then(|k| keys.by_hash.get(&key_hash(k)).cloned())
        };
        (keys.is_open(), presented.is_some(), principal)
    };
    // No key: a browser's session cookie, if it names a live session. A wrong key is not
    // overruled by a cookie.
    let mut session = None;
    if principal.is_none()
        && !open
        && !presented
        && need != Need::Public
        && let Some((p, s)) = crate::ui::session_of(&state, req.headers()).await
    {
        principal = Some(p);
        session = Some(s);
    }
    let principal = match principal {
        Some(p) => p,
        None if need == Need::Public => Principal {
            name: "anonymous".into(),
            role: Role::Viewer,
        },
        // A browser without a session is sent to the login form.
        None if ui_page => return crate::ui::to_login(),
        None => {
            state.metrics().auth_failures.inc();
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "Authentication required",
            )
                .into_response();
        }
    };
    if !principal.role.grants(need) {
        if ui_page {
            return crate::ui::forbidden_page(&principal, session.as_ref(), req.method(), pattern);
        }
        return ApiError::forbidden(format!(
            "the role {} may not use {} {pattern}",
            principal.role.name(),
            req.method()
        ))
        .into_response();
    }
    // A request made with a session cookie changes nothing without the session's CSRF token.
    if let Some(s) = &session {
        req = match crate::ui::check_csrf(req, &s.csrf).await {
            Ok(r) => r,
            Err(refused) => return refused,
        };
    }
    if !state.rate_ok(&principal.name) {
        return ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded").into_response();
    }
    req.extensions_mut().insert(principal);
    if let Some(s) = session {
        req.extensions_mut().insert(s);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_they_say() {
        use Need::*;
        let table = [
            (Role::Admin, [true, true, true, true, true, true, true]),
            (Role::Curator, [true, true, true, true, true, true, false]),
            (Role::Matcher, [true, true, true, true, false, false, false]),
            (Role::Viewer, [true, true, false, false, true, false, false]),
        ];
        for (role, want) in table {
            for (need, w) in [Public, Login, Hash, Match, Read, Write, Admin]
                .into_iter()
                .zip(want)
            {
                assert_eq!(role.grants(need), w, "{role:?} {need:?}");
            }
        }
    }

    #[test]
    fn keys_are_random_and_hashed() {
        let (a, ha) = new_key();
        let (b, hb) = new_key();
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(key_hash(&a), ha);
    }
}
