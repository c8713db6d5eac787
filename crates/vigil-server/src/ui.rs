//! The web UI, served by the server itself under `/ui`: log in, browse and search banks and
//! their content, look up a hash or an image, record verdicts on matches, import lists, see the
//! exchanges and (admins) the audit log.
//!
//! Pages are rendered here as HTML, every value from the store or the request through
//! [`escape`]; the templates, one stylesheet and one small script are embedded in the binary
//! (`src/ui/`), so the UI works offline: no CDN, no front-end build. The script only does what
//! needs a script (lookups, verdicts, imports, revealing a preview) through the JSON APIs, and
//! puts data into the page as text, never as HTML. Pages are sent with a Content-Security-Policy
//! that allows only the server's own script and style.
//!
//! **Users and sessions.** Users (`vigil user create`) have a role, as API keys do, and an
//! argon2id password ([`hash_password`]). A login gives the browser a session cookie
//! ([`SESSION_COOKIE`]: 256 random bits, `HttpOnly; SameSite=Strict; Path=/`, `Secure` when
//! [`crate::ServerConfig::secure_cookies`]); the store keeps only its SHA-256. A session ends
//! after [`SESSION_IDLE`] without use and at most [`SESSION_MAX`] after the login, at logout, or
//! when its user is disabled or given a new password. Every request made with the cookie that
//! changes something must carry the session's CSRF token (`X-CSRF-Token`, or a `csrf` form
//! field), else it is refused (403) before its handler runs; API-key requests need none. Failed
//! logins get one message whatever failed, and a user name is refused for [`LOGIN_LOCKOUT`]
//! after [`LOGIN_ATTEMPTS`] failures.
//!
//! **Reviewer safety.** The only image the UI shows is the preview of an image being looked up,
//! made in the browser from the reviewer's own file (the server never stores or sends one back);
//! it is blurred and greyscale (`filter: blur(24px) grayscale(1)`) until a deliberate click on
//! "Reveal", and a second click hides it again.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_core::Hash256;
use vigil_exchange::record::{Item, Record, Signal, SignalKind};
use vigil_store::{BankKind, ImportOptions, NewBank};

use crate::auth::{Need, Principal, Role};
use crate::error::ApiError;
use crate::hma::Params;
use crate::state::{AppState, now_ms};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vigil_session";
/// The login form's cookie (a double-submitted token against cross-site login posts).
const LOGIN_COOKIE: &str = "vigil_login";
/// A session unused for this long ends.
pub const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// A session ends this long after its login, used or not.
pub const SESSION_MAX: Duration = Duration::from_secs(7 * 24 * 3600);
/// Failed logins of one user name before it is refused for [`LOGIN_LOCKOUT`].
pub const LOGIN_ATTEMPTS: u32 = 5;
/// How long a user name is refused after [`LOGIN_ATTEMPTS`] failures.
pub const LOGIN_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// The shortest password [`hash_password`] takes, in characters.
pub const MIN_PASSWORD: usize = 8;
/// The longest password [`hash_password`] takes, in bytes.
pub const MAX_PASSWORD: usize = 1024;
/// A session's last use is written at most this often (a write per request would be waste).
const TOUCH_EVERY_MS: i64 = 60_000;
/// The largest form body read for its `csrf` field.
const MAX_FORM: usize = 64 * 1024;
/// Rows of the content, match and audit tables per page.
const PAGE: i64 = 50;
/// Bad records listed in an import's answer (all are counted).
const MAX_LISTED: usize = 100;

const LAYOUT: &str = include_str!("ui/layout.html");
const LOGIN: &str = include_str!("ui/login.html");
const LOOKUP: &str = include_str!("ui/lookup.html");
const IMPORT: &str = include_str!("ui/import.html");
const STYLE: &str = include_str!("ui/style.css");
const SCRIPT: &str = include_str!("ui/app.js");
const CASES_SCRIPT: &str = crate::cases::SCRIPT;

/// Every UI route pattern, for `/site-map`.
pub(crate) const PATTERNS: [&str; 10] = [
    "/ui",
    "/ui/login",
    "/ui/logout",
    "/ui/banks",
    "/ui/banks/{bank}",
    "/ui/lookup",
    "/ui/import",
    "/ui/exchanges",
    "/ui/audit",
    "/ui/static/{file}",
];

/// The need of a UI route (`None`: not a UI route). Login and the assets are public; the home
/// page and logout need any user; a page needs what its content needs (banks and exchanges:
/// read; lookups: match; imports: write; the audit log: admin).
pub(crate) fn need(pattern: &str) -> Option<Need> {
    Some(match pattern {
        "/ui/login" | "/ui/static/{file}" => Need::Public,
        "/ui" | "/ui/logout" => Need::Login,
        "/ui/audit" => Need::Admin,
        "/ui/lookup" => Need::Match,
        "/ui/import" => Need::Write,
        p if p.starts_with("/ui/") => Need::Read,
        _ => return None,
    })
}

/// The UI's routes and the import endpoint (`POST /api/v1/banks/{bank}/import`).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(dashboard))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/banks", get(banks_page))
        .route("/ui/banks/{bank}", get(bank_page))
        .route("/ui/lookup", get(lookup_page))
        .route("/ui/import", get(import_page))
        .route("/ui/exchanges", get(exchanges_page))
        .route("/ui/audit", get(audit_page))
        .route("/ui/static/{file}", get(asset))
        .route("/api/v1/banks/{bank}/import", post(import))
        .layer(Extension(Arc::new(LoginLimiter::default())))
}

// ---------------------------------------------------------------------------------------------
// Passwords, tokens, cookies

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Shorter than [`MIN_PASSWORD`].
    #[error("the password is shorter than {MIN_PASSWORD} characters")]
    TooShort,
    /// Longer than [`MAX_PASSWORD`].
    #[error("the password is longer than {MAX_PASSWORD} bytes")]
    TooLong,
    /// The hasher failed.
    #[error("hashing the password: {0}")]
    Hash(String),
}

/// Hashes a password with argon2id (the crate's default parameters, a random salt): the PHC
/// string (`$argon2id$v=19$…`) the store keeps.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    if password.chars().count() < MIN_PASSWORD {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` is the one `phc` was made from (`false` for a malformed `phc`).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    if password.len() > MAX_PASSWORD {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(h) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash verified when the user does not exist, so that a failure takes as long either way.
fn dummy_phc() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let token: [u8; 16] = rand::random();
        hash_password(&hex::encode(token)).unwrap_or_default()
    })
}

/// 256 random bits as hex.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Equality that takes as long whatever the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of the cookie `name`, if sent.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<u64>,
) -> String {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}");
    if let Some(age) = max_age {
        let _ = write!(c, "; Max-Age={age}");
    }
    if state.config().secure_cookies {
        c.push_str("; Secure");
    }
    c
}

/// A browser's session, as the auth middleware hands it to handlers (beside the
/// [`Principal`]).
#[derive(Clone)]
pub struct UiSession {
    /// The session's database id.
    pub(crate) id: i64,
    /// Its CSRF token.
    pub(crate) csrf: String,
}

impl std::fmt::Debug for UiSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiSession")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The caller of a session cookie, if it names a live session of an enabled user. Records the
/// use (at most once a minute), which slides the idle end up to the session's maximum.
pub(crate) async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Option<(Principal, UiSession)> {
    let token = cookie(headers, SESSION_COOKIE)?;
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hash = Sha256::digest(token.as_bytes());
    let now = now_ms();
    let (user, s) = match state.store().session_by_token(&hash, now).await {
        Ok(Some(found)) => found,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "reading a session failed");
            return None;
        }
    };
    let role = Role::from_name(&user.role)?;
    if now - s.last_seen >= TOUCH_EVERY_MS {
        let end = (s.created_at + SESSION_MAX.as_millis() as i64)
            .min(now + SESSION_IDLE.as_millis() as i64);
        if let Err(e) = state.store().touch_session(s.id, now, end).await {
            tracing::warn!(error = %e, "recording a session's use failed");
        }
    }
    Some((
        Principal {
            name: user.name,
            role,
        },
        UiSession {
            id: s.id,
            csrf: s.csrf,
        },
    ))
}

/// Lets a cookie-authenticated request that changes something through only with its session's
/// CSRF token: the `X-CSRF-Token` header or, in a form post, a `csrf` field (the body is read
/// and handed on).
pub(crate) async fn check_csrf(req: Request, csrf: &str) -> Result<Request, Response> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(req);
    }
    let refused = || {
        ApiError::forbidden("missing or wrong CSRF token (send the session's X-CSRF-Token)")
            .into_response()
    };
    if let Some(h) = req.headers().get("x-csrf-token") {
        return if same(h.as_bytes(), csrf.as_bytes()) {
            Ok(req)
        } else {
            Err(refused())
        };
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(refused());
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        return Err(refused());
    };
    let ok = url::form_urlencoded::parse(&bytes)
        .any(|(k, v)| k == "csrf" && same(v.as_bytes(), csrf.as_bytes()));
    if ok {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(refused())
    }
}

/// Failed logins per user name: `(failures, first failure)`.
#[derive(Debug, Default)]
struct LoginLimiter(Mutex<HashMap<String, (u32, Instant)>>);

impl LoginLimiter {
    fn key(name: &str) -> String {
        name.chars().take(100).collect()
    }

    /// Whether `name` may try now.
    fn allowed(&self, name: &str) -> bool {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match m.get(&Self::key(name)) {
            Some((n, since)) if *n >= LOGIN_ATTEMPTS => {
                if since.elapsed() < LOGIN_LOCKOUT {
                    false
                } else {
                    m.remove(&Self::key(name));
                    true
                }
            }
            _ => true,
        }
    }

    fn failed(&self, name: &str) {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if m.len() > 10_000 {
            m.retain(|_, (_, since)| since.elapsed() < LOGIN_LOCKOUT);
        }
        let e = m.entry(Self::key(name)).or_insert((0, Instant::now()));
        if e.1.elapsed() >= LOGIN_LOCKOUT {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    fn succeeded(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&Self::key(name));
    }
}

// ---------------------------------------------------------------------------------------------
// HTML

/// `s` safe as HTML text and as a quoted attribute value: `& < > " '` become entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as a URL path segment or query value.
pub(crate) fn url_part(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Fills `{{name}}` placeholders in one pass (a value containing `{{…}}` is not filled again).
/// Values are HTML already.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = &after[..end];
                match values.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push_str("{{");
                        out.push_str(key);
                        out.push_str("}}");
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `ms` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn time_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// What a page needs of its caller.
pub(crate) struct Ctx {
    who: Principal,
    csrf: String,
    /// A session (not an open server's anonymous caller).
    logged_in: bool,
}

impl Ctx {
    /// The session's CSRF token (empty without a session), for a page's forms.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    pub(crate) fn new(who: Principal, session: Option<Extension<UiSession>>) -> Ctx {
        let (csrf, logged_in) = match session {
            Some(Extension(s)) => (s.csrf, true),
            None => (String::new(), false),
        };
        Ctx {
            who,
            csrf,
            logged_in,
        }
    }
}

const NAV: [(&str, &str, Need); 8] = [
    ("/ui", "Dashboard", Need::Login),
    ("/ui/banks", "Banks", Need::Read),
    ("/ui/lookup", "Lookup", Need::Match),
    ("/ui/import", "Import", Need::Write),
    ("/ui/exchanges", "Exchanges", Need::Read),
    ("/ui/cases", "Cases", Need::Read),
    ("/ui/crawls", "Crawls", Need::Write),
    ("/ui/audit", "Audit log", Need::Admin),
];

/// A whole page: the layout around `body` (HTML), with the caller's menu.
pub(crate) fn render(ctx: Option<&Ctx>, title: &str, active: &str, body: &str) -> String {
    let mut nav = String::new();
    let mut who = String::new();
    let mut can_write = "0";
    if let Some(c) = ctx {
        for (href, label, need) in NAV {
            if c.who.role.grants(need) {
                let class = if href == active {
                    " class=\"active\""
                } else {
                    ""
                };
                let _ = write!(nav, "<a href=\"{href}\"{class}>{label}</a>");
            }
        }
        if c.who.role.grants(Need::Write) {
            can_write = "1";
        }
        if c.logged_in {
            let _ = write!(
                who,
                "<span id=\"whoami\">{} ({})</span><form method=\"post\" action=\"/ui/logout\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <button type=\"submit\" class=\"link\" id=\"logout\">Log out</button></form>",
                escape(&c.who.name),
                c.who.role.name(),
                escape(&c.csrf)
            );
        } else if c.who.name == "anonymous" {
            who.push_str("<span id=\"whoami\">open server (no login)</span>");
        } else {
            // An API key's caller (no session, so no logout).
            let _ = write!(
                who,
                "<span id=\"whoami\">{} ({})</span>",
                escape(&c.who.name),
                c.who.role.name()
            );
        }
    }
    fill(
        LAYOUT,
        &[
            ("csrf", &escape(ctx.map_or("", |c| c.csrf.as_str()))),
            ("can_write", can_write),
            ("title", &escape(title)),
            ("nav", &nav),
            ("who", &who),
            ("body", body),
        ],
    )
}

/// An HTML answer with the UI's security headers.
pub(crate) fn html(status: StatusCode, page: String) -> Response {
    let mut r = (status, page).into_response();
    let h = r.headers_mut();
    for (k, v) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    r
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The answer to a browser without a session asking for a page: the login form.
pub(crate) fn to_login() -> Response {
    redirect("/ui/login")
}

/// The answer to a user whose role does not grant a page (a page for a browser's GET).
pub(crate) fn forbidden_page(
    who: &Principal,
    session: Option<&UiSession>,
    method: &Method,
    pattern: &str,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return ApiError::forbidden(format!(
            "the role {} may not use {method} {pattern}",
            who.role.name()
        ))
        .into_response();
    }
    let ctx = Ctx::new(who.clone(), session.cloned().map(Extension));
    let body = format!(
        "<p class=\"alert\" id=\"forbidden\">The role {} may not see this page.</p>\
         <p><a href=\"/ui\">Back to the dashboard</a></p>",
        who.role.name()
    );
    html(
        StatusCode::FORBIDDEN,
        render(Some(&ctx), "Not allowed", "", &body),
    )
}

fn error_page(ctx: &Ctx, status: StatusCode, e: ApiError) -> Response {
    let msg = e
        .body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the request failed")
        .to_string();
    let body = format!("<p class=\"alert\">{}</p>", escape(&msg));
    html(status, render(Some(ctx), "Error", "", &body))
}

/// A page, or the page of its error.
pub(crate) fn page_or_error(ctx: &Ctx, r: Result<(String, String, &str), ApiError>) -> Response {
    match r {
        Ok((title, body, active)) => html(StatusCode::OK, render(Some(ctx), &title, active, &body)),
        Err(e) => {
            let status = e.status;
            error_page(ctx, status, e)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Assets, login, logout

/// The embedded assets: name, body, content type.
const ASSETS: [(&str, &str, &str); 7] = [
    ("style.css", STYLE, "text/css; charset=utf-8"),
    ("app.js", SCRIPT, "text/javascript; charset=utf-8"),
    ("cases.js", CASES_SCRIPT, "text/javascript; charset=utf-8"),
    (
        "cases_map.js",
        crate::cases_map::SCRIPT,
        "text/javascript; charset=utf-8",
    ),
    (
        "cases_map.css",
        crate::cases_map::STYLE,
        "text/css; charset=utf-8",
    ),
    (
        "leaflet.js",
        crate::cases_map::LEAFLET_JS,
        "text/javascript; charset=utf-8",
    ),
    (
        "leaflet.css",
        crate::cases_map::LEAFLET_CSS,
        "text/css; charset=utf-8",
    ),
];

/// Each asset's ETag (a quoted prefix of its SHA-256), computed once.
fn etags() -> &'static HashMap<&'static str, String> {
    static TAGS: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(name, body, _)| {
                let d = Sha256::digest(body.as_bytes());
                (*name, format!("\"{}\"", hex::encode(&d[..12])))
            })
            .collect()
    })
}

/// An embedded file. `no-cache` makes the browser revalidate, and the ETag lets it keep its
/// copy (304) until the binary changes: Leaflet's 150 KB is sent once, not on every page.
async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(&(name, body, kind)) = ASSETS.iter().find(|a| a.0 == file) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let tag = etags()[name].as_str();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut r = (
        status,
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::ETAG, tag),
        ],
    )
        .into_response();
    if !fresh {
        *r.body_mut() = Body::from(body);
    }
    r
}

fn login_form(state: &AppState, status: StatusCode, message: &str, name: &str) -> Response {
    let token = new_token();
    let message = if message.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"alert\" id=\"login-error\" role=\"alert\">{}</p>",
            escape(message)
        )
    };
    let body = fill(
        LOGIN,
        &[
            ("message", &message),
            ("login_csrf", &token),
            ("name", &escape(name)),
        ],
    );
    let mut r = html(status, render(None, "Log in", "", &body));
    let c = set_cookie(state, LOGIN_COOKIE, &token, "/ui/login", Some(3600));
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.keys().is_open() {
        let body = "<section class=\"panel login\"><p class=\"notice\" id=\"open-server\">\
                    Open server: no login needed. This server has no API key and no user, so every \
                    caller on this machine is an administrator; create a user (<code>vigil user \
                    create</code>) or a key (<code>vigil key create</code>) to require logins.</p><p><a href=\"/ui\">Go to the dashboard</a>\
                    </p></section>";
        return html(StatusCode::OK, render(None, "Log in", "", body));
    }
    if session_of(&state, &headers).await.is_some() {
        return redirect("/ui");
    }
    login_form(&state, StatusCode::OK, "", "")
}

/// The one message of every failed login (whether the name exists is not said).
const LOGIN_FAILED: &str = "Wrong user name or password.";

async fn login(
    State(state): State<AppState>,
    Extension(limiter): Extension<Arc<LoginLimiter>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if state.keys().is_open() {
        return redirect("/ui");
    }
    let mut name = String::new();
    let mut password = String::new();
    let mut token = String::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "name" => name = v.trim().to_string(),
            "password" => password = v.into_owned(),
            "login_csrf" => token = v.into_owned(),
            _ => {}
        }
    }
    // The form's token must come back in its cookie too: a cross-site post carries no
    // SameSite=Strict cookie.
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if token.is_empty() || !same(token.as_bytes(), expected.as_bytes()) {
        return login_form(
            &state,
            StatusCode::FORBIDDEN,
            "The login form expired; please try again.",
            &name,
        );
    }
    if !limiter.allowed(&name) {
        return login_form(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins for this name; try again later.",
            &name,
        );
    }
    let found = match state.store().user_password(&name).await {
        Ok(f) => f,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let (user, phc) = match found {
        Some((u, phc)) if u.disabled_at.is_none() => (Some(u), phc),
        _ => (None, dummy_phc().to_string()),
    };
    let pw = password.clone();
    let good = tokio::task::spawn_blocking(move || verify_password(&pw, &phc))
        .await
        .unwrap_or(false);
    let user = match user {
        Some(u) if good && Role::from_name(&u.role).is_some() => u,
        _ => {
            limiter.failed(&name);
            state.metrics().auth_failures.inc();
            state
                .audit(
                    "anonymous",
                    "user.login_failed",
                    None,
                    json!({ "name": name.chars().take(100).collect::<String>() }),
                )
                .await;
            return login_form(&state, StatusCode::UNAUTHORIZED, LOGIN_FAILED, &name);
        }
    };
    limiter.succeeded(&name);
    let now = now_ms();
    if let Err(e) = state.store().delete_expired_sessions(now).await {
        tracing::warn!(error = %e, "removing ended sessions failed");
    }
    let token = new_token();
    let csrf = new_token();
    let end = now + SESSION_IDLE.min(SESSION_MAX).as_millis() as i64;
    let hash = Sha256::digest(token.as_bytes());
    if let Err(e) = state
        .store()
        .create_session(user.id, &hash, &csrf, end)
        .await
    {
        return ApiError::internal(e).into_response();
    }
    let mut r = redirect("/ui");
    let h = r.headers_mut();
    for c in [
        set_cookie(&state, SESSION_COOKIE, &token, "/", None),
        set_cookie(&state, LOGIN_COOKIE, "", "/ui/login", Some(0)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    r
}

async fn logout(State(state): State<AppState>, session: Option<Extension<UiSession>>) -> Response {
    if let Some(Extension(s)) = session
        && let Err(e) = state.store().delete_session(s.id).await
    {
        return ApiError::internal(e).into_response();
    }
    let mut r = redirect("/ui/login");
    let c = set_cookie(&state, SESSION_COOKIE, "", "/", Some(0));
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Pages

fn verdict_buttons(bank: &str, signal: &str, content_id: i64, query: &str) -> String {
    let attrs = format!(
        "data-bank=\"{}\" data-signal=\"{}\" data-content=\"{content_id}\" data-query=\"{}\"",
        escape(bank),
        escape(signal),
        escape(query)
    );
    format!(
        "<span class=\"verdicts\"><button type=\"button\" class=\"good\" \
         data-verdict=\"true_positive\" {attrs}>True positive</button><button type=\"button\" \
         class=\"bad\" data-verdict=\"false_positive\" {attrs}>False positive</button></span>"
    )
}

/// A `kind:value` signal as a table shows it: a video's vPDQ (one hash a frame, kilobytes
/// long) as its number of frames, anything else as it is.
fn shown(signal: &str) -> String {
    match signal.split_once(':') {
        Some(("vpdq", v)) => match serde_json::from_str::<Vec<String>>(v) {
            Ok(frames) => format!("vpdq ({} frames)", frames.len()),
            Err(_) => "vpdq".to_string(),
        },
        _ => signal.to_string(),
    }
}

/// The stored signal of an item closest to a query (what a verdict is about), as `kind:value`.
fn closest(content: &vigil_store::Content, query: &Signal) -> Option<String> {
    let q = Hash256::from_hex(query.value()).ok();
    content
        .signals
        .iter()
        .filter(|s| s.signal.kind() == query.kind())
        .min_by_key(|s| match (&q, Hash256::from_hex(s.signal.value())) {
            (Some(q), Ok(h)) if *query.kind() == SignalKind::Pdq => q.distance(&h),
            _ => u32::from(s.signal.value() != query.value()),
        })
        .map(|s| format!("{}:{}", s.signal.kind().name(), s.signal.value()))
}

async fn dashboard(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = dashboard_body(&state, &ctx, Params::parse(q)).await;
    page_or_error(&ctx, r.map(|b| ("Dashboard".to_string(), b, "/ui")))
}

async fn dashboard_body(state: &AppState, ctx: &Ctx, p: Params) -> Result<String, ApiError> {
    let mut out = String::new();
    if !ctx.who.role.grants(Need::Match) {
        out.push_str(
            "<p class=\"muted\">Your role does not see match results. Use the menu to browse \
             what it allows.</p>",
        );
        return Ok(out);
    }
    let before = p
        .get("before")
        .and_then(|v| v.parse().ok())
        .unwrap_or(i64::MAX);
    let entries = state
        .store()
        .audit_recent(Some("match.lookup"), before, PAGE)
        .await?;
    let can_write = ctx.who.role.grants(Need::Write);
    out.push_str("<h2>Recent matches</h2>");
    if entries.is_empty() {
        out.push_str("<p class=\"muted\" id=\"no-matches\">No matches recorded yet.</p>");
        return Ok(out);
    }
    out.push_str(
        "<table id=\"recent\"><thead><tr><th>When</th><th>Who</th><th>Query</th>\
         <th>Bank</th><th>Content</th><th>Matched hash</th><th>Verdict</th></tr></thead><tbody>",
    );
    let mut items: HashMap<(String, i64), Option<vigil_store::Content>> = HashMap::new();
    for e in &entries {
        let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
        let kind = detail["signal_type"].as_str().unwrap_or("");
        let value = detail["signal"].as_str().unwrap_or("");
        let kind = if kind == "video_md5" { "md5" } else { kind };
        let query = Signal::new(SignalKind::from_name(kind), value).ok();
        let Some(Value::Object(matches)) = detail.get("matches") else {
            continue;
        };
        for (bank, ids) in matches {
            for id in ids
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
            {
                let key = (bank.clone(), id);
                if !items.contains_key(&key) {
                    let c = match state.store().content(bank, id).await {
                        Ok(c) => Some(c),
                        Err(
                            vigil_store::Error::NoContent { .. } | vigil_store::Error::NoBank(_),
                        ) => None,
                        Err(e) => return Err(e.into()),
                    };
                    items.insert(key.clone(), c);
                }
                let stored = items
                    .get(&key)
                    .and_then(Option::as_ref)
                    .zip(query.as_ref())
                    .and_then(|(c, q)| closest(c, q));
                let (hash_cell, verdict_cell) = match &stored {
                    Some(s) if can_write => (
                        format!("<code>{}</code>", escape(&shown(s))),
                        verdict_buttons(bank, s, id, value),
                    ),
                    Some(s) => (
                        format!("<code>{}</code>", escape(&shown(s))),
                        "—".to_string(),
                    ),
                    None => (
                        "<span class=\"muted\">(removed)</span>".to_string(),
                        "—".into(),
                    ),
                };
                let _ = write!(
                    out,
                    "<tr class=\"match\"><td>{}</td><td>{}</td><td><code>{}</code></td>\
                     <td><a href=\"/ui/banks/{}\">{}</a></td><td>#{id}</td><td>{hash_cell}</td>\
                     <td>{verdict_cell}</td></tr>",
                    time_text(e.at),
                    escape(&e.actor),
                    escape(&shown(&format!("{kind}:{value}"))),
                    url_part(bank),
                    escape(bank),
                );
            }
        }
    }
    out.push_str("</tbody></table>");
    if entries.len() as i64 == PAGE
        && let Some(last) = entries.last()
    {
        let _ = write!(
            out,
            "<div class=\"pager\"><a href=\"/ui?before={}\">Older matches</a></div>",
            last.id
        );
    }
    Ok(out)
}

async fn banks_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = banks_body(&state, Params::parse(q)).await;
    page_or_error(&ctx, r.map(|b| ("Banks".to_string(), b, "/ui/banks")))
}

/// A search text as a signal, when it is one: `KIND:VALUE`, or bare hex of a digest's length.
fn search_signal(q: &str) -> Option<Signal> {
    if let Some((k, v)) = q.split_once(':')
        && !k.is_empty()
        && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return Signal::new(SignalKind::from_name(k), v).ok();
    }
    let kind = match q.len() {
        64 => SignalKind::Pdq,
        40 => SignalKind::Sha1,
        32 => SignalKind::Md5,
        _ => return None,
    };
    Signal::new(kind, q).ok()
}

async fn banks_body(state: &AppState, p: Params) -> Result<String, ApiError> {
    let q = p.get("q").map(str::trim).unwrap_or("");
    let mut out = format!(
        "<form class=\"inline\" method=\"get\" action=\"/ui/banks\" role=\"search\">\
         <div><label for=\"q\">Search banks, or find a hash in every bank</label>\
         <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"></div>\
         <div><button type=\"submit\">Search</button></div></form>",
        escape(q)
    );
    if let Some(signal) = search_signal(q) {
        let found = state.store().find(&signal).await?;
        let _ = write!(
            out,
            "<h2>Items holding <code>{}:{}</code></h2>",
            escape(signal.kind().name()),
            escape(signal.value())
        );
        if found.is_empty() {
            out.push_str("<p class=\"muted\" id=\"hash-found\">In no bank.</p>");
        } else {
            out.push_str(
                "<table id=\"hash-found\"><thead><tr><th>Bank</th><th>Content</th></tr></thead>\
                 <tbody>",
            );
            for (bank, id) in &found {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td><a href=\"/ui/banks/{}?q={}\">#{id}</a></td></tr>",
                    escape(bank),
                    url_part(bank),
                    url_part(signal.value())
                );
            }
            out.push_str("</tbody></table>");
        }
    }
    let needle = q.to_lowercase();
    let banks: Vec<vigil_store::Bank> = state
        .store()
        .banks()
        .await?
        .into_iter()
        .filter(|b| {
            needle.is_empty()
                || b.name.to_lowercase().contains(&needle)
                || b.description.to_lowercase().contains(&needle)
        })
        .collect();
    out.push_str("<h2>Banks</h2>");
    if banks.is_empty() {
        out.push_str("<p class=\"muted\" id=\"no-banks\">No bank matches.</p>");
        return Ok(out);
    }
    out.push_str(
        "<table id=\"banks\"><thead><tr><th>Name</th><th>Kind</th><th>Items</th><th>Signals</th>\
         <th>PDQ threshold</th><th>Description</th></tr></thead><tbody>",
    );
    for b in &banks {
        let kind = match b.kind {
            BankKind::Block => "<span class=\"tag\">block</span>",
            BankKind::Allow => "<span class=\"tag allow\">allow</span>",
        };
        let off = if b.enabled {
            ""
        } else {
            " <span class=\"tag off\">disabled</span>"
        };
        let _ = write!(
            out,
            "<tr><td><a href=\"/ui/banks/{}\">{}</a></td><td>{kind}{off}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"description\">{}</td></tr>",
            url_part(&b.name),
            escape(&b.name),
            b.content_count,
            b.signal_count,
            b.pdq_threshold
                .map_or_else(|| "default".to_string(), |t| t.to_string()),
            escape(&b.description)
        );
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

async fn bank_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Path(bank): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = bank_body(&state, &bank, Params::parse(q)).await;
    page_or_error(&ctx, r.map(|b| (format!("Bank {bank}"), b, "/ui/banks")))
}

/// The `after` values of the pages before this one (for "Previous"), at most this many.
const MAX_TRAIL: usize = 100;

async fn bank_body(state: &AppState, bank: &str, p: Params) -> Result<String, ApiError> {
    let b = state.store().bank_uncounted(bank).await?;
    let q = p.get("q").map(str::trim).unwrap_or("");
    let after: i64 = p.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: i64 = p
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(PAGE)
        .clamp(1, 500);
    let trail: Vec<i64> = p
        .get("trail")
        .unwrap_or("")
        .split(',')
        .filter_map(|v| v.parse().ok())
        .collect();
    let items = state
        .store()
        .content_page(bank, after, limit, Some(q).filter(|q| !q.is_empty()))
        .await?;
    let base = format!("/ui/banks/{}", url_part(bank));
    let mut out = format!(
        "<section class=\"panel\"><p>{} bank{}{}. {}</p></section>",
        match b.kind {
            BankKind::Block => "Block",
            BankKind::Allow => "Allow",
        },
        if b.enabled { "" } else { ", disabled" },
        b.pdq_threshold
            .map_or_else(String::new, |t| format!(", PDQ threshold {t}")),
        escape(&b.description)
    );
    let _ = write!(
        out,
        "<form class=\"inline\" method=\"get\" action=\"{base}\" role=\"search\">\
         <div><label for=\"q\">Search: external id, URI, note, or a hash</label>\
         <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"></div>\
         <div><button type=\"submit\">Search</button></div></form>",
        escape(q)
    );
    if items.is_empty() {
        out.push_str("<p class=\"muted\" id=\"no-content\">No items.</p>");
    } else {
        out.push_str(
            "<table id=\"content\"><thead><tr><th>Id</th><th>External id</th><th>Signals</th>\
             <th>Note</th><th>Source</th><th>Updated</th><th>State</th></tr></thead><tbody>",
        );
        for c in &items {
            let mut signals = String::new();
            for s in &c.signals {
                let _ = write!(
                    signals,
                    "<div><code>{}</code></div>",
                    escape(&shown(&format!(
                        "{}:{}",
                        s.signal.kind().name(),
                        s.signal.value()
                    )))
                );
            }
            let state_text = match c.disabled_until {
                Some(t) if t == i64::MAX => "quarantined".to_string(),
                Some(t) if t > now_ms() => format!("quarantined until {}", time_text(t)),
                _ => "active".to_string(),
            };
            let _ = write!(
                out,
                "<tr class=\"item\"><td>{}</td><td>{}</td><td>{signals}</td>\
                 <td class=\"note\">{}</td><td>{}</td><td>{}</td><td>{state_text}</td></tr>",
                c.id,
                escape(c.external_id.as_deref().unwrap_or("")),
                escape(c.note.as_deref().unwrap_or("")),
                escape(&c.source),
                time_text(c.updated_at),
            );
        }
        out.push_str("</tbody></table>");
    }
    let link = |after: i64, trail: &[i64]| {
        let trail: Vec<String> = trail.iter().map(i64::to_string).collect();
        let mut l = format!("{base}?after={after}&limit={limit}");
        if !q.is_empty() {
            let _ = write!(l, "&q={}", url_part(q));
        }
        if !trail.is_empty() {
            let _ = write!(l, "&trail={}", trail.join(","));
        }
        escape(&l)
    };
    out.push_str("<div class=\"pager\">");
    if after > 0 {
        let (prev, rest) = match trail.split_last() {
            Some((p, rest)) => (*p, rest),
            None => (0, &[][..]),
        };
        let _ = write!(
            out,
            "<a id=\"prev\" href=\"{}\">Previous</a>",
            link(prev, rest)
        );
    }
    if items.len() as i64 == limit
        && let Some(last) = items.last()
    {
        let mut next_trail = trail.clone();
        next_trail.push(after);
        if next_trail.len() > MAX_TRAIL {
            next_trail.remove(0);
        }
        let _ = write!(
            out,
            "<a id=\"next\" href=\"{}\">Next</a>",
            link(last.id, &next_trail)
        );
    }
    out.push_str("</div>");
    Ok(out)
}

async fn lookup_page(
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
) -> Response {
    let ctx = Ctx::new(who, session);
    html(
        StatusCode::OK,
        render(Some(&ctx), "Lookup", "/ui/lookup", LOOKUP),
    )
}

async fn import_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = async {
        let banks = state.store().bank_list().await?;
        let mut options = String::new();
        for b in &banks {
            let _ = write!(
                options,
                "<option value=\"{0}\">{0}</option>",
                escape(&b.name)
            );
        }
        let hidden = if banks.is_empty() { "" } else { "hidden" };
        Ok::<_, ApiError>(fill(
            IMPORT,
            &[("bank_options", &options), ("new_hidden", hidden)],
        ))
    }
    .await;
    page_or_error(
        &ctx,
        r.map(|b| ("Import a list".to_string(), b, "/ui/import")),
    )
}

async fn exchanges_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
) -> Response {
    let ctx = Ctx::new(who, session);
    let r = async {
        let list = state.store().exchanges().await?;
        if list.is_empty() {
            return Ok::<_, ApiError>(
                "<p class=\"muted\" id=\"no-exchanges\">No exchange is configured (add one with \
                 <code>vigil exchange add</code>).</p>"
                    .to_string(),
            );
        }
        let mut out = String::from(
            "<table id=\"exchanges\"><thead><tr><th>Name</th><th>Kind</th><th>Bank</th>\
             <th>Last fetch</th><th>Status</th><th>Records</th><th>Deletions</th><th>Errors</th>\
             </tr></thead><tbody>",
        );
        for e in &list {
            let status = match (&e.last_status, &e.last_error) {
                (Some(s), Some(err)) => format!(
                    "<span class=\"error\">{}</span>: {}",
                    escape(s),
                    escape(err)
                ),
                (Some(s), None) => escape(s),
                (None, _) => "<span class=\"muted\">never fetched</span>".to_string(),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td><a href=\"/ui/banks/{}\">{}</a></td><td>{}</td>\
                 <td>{status}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.name),
                escape(&e.kind),
                url_part(&e.bank),
                escape(&e.bank),
                e.last_fetch_at.map_or_else(|| "—".to_string(), time_text),
                e.records,
                e.deletions,
                e.errors
            );
        }
        out.push_str("</tbody></table>");
        Ok(out)
    }
    .await;
    page_or_error(
        &ctx,
        r.map(|b| ("Exchanges".to_string(), b, "/ui/exchanges")),
    )
}

async fn audit_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(who, session);
    let p = Params::parse(q);
    let r = async {
        let action = p.get("action").map(str::trim).filter(|a| !a.is_empty());
        let before = p
            .get("before")
            .and_then(|v| v.parse().ok())
            .unwrap_or(i64::MAX);
        let entries = state.store().audit_recent(action, before, PAGE * 2).await?;
        let mut out = format!(
            "<form class=\"inline\" method=\"get\" action=\"/ui/audit\">\
             <div><label for=\"action\">Action</label><input type=\"text\" id=\"action\" \
             name=\"action\" placeholder=\"e.g. bank.create\" value=\"{}\"></div>\
             <div><button type=\"submit\">Filter</button></div></form>",
            escape(action.unwrap_or(""))
        );
        out.push_str(
            "<table id=\"audit\"><thead><tr><th>Id</th><th>When</th><th>Who</th><th>Action</th>\
             <th>Bank</th><th>Content</th><th>Detail</th></tr></thead><tbody>",
        );
        for e in &entries {
            let detail: String = e.detail.chars().take(400).collect();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td><code>{}</code></td></tr>",
                e.id,
                time_text(e.at),
                escape(&e.actor),
                escape(&e.action),
                escape(e.bank.as_deref().unwrap_or("")),
                e.content_id.map_or_else(String::new, |c| c.to_string()),
                escape(&detail)
            );
        }
        out.push_str("</tbody></table>");
        if entries.len() as i64 == PAGE * 2
            && let Some(last) = entries.last()
        {
            let mut href = format!("/ui/audit?before={}", last.id);
            if let Some(a) = action {
                let _ = write!(href, "&action={}", url_part(a));
            }
            let _ = write!(
                out,
                "<div class=\"pager\"><a href=\"{}\">Older entries</a></div>",
                escape(&href)
            );
        }
        Ok::<_, ApiError>(out)
    }
    .await;
    page_or_error(&ctx, r.map(|b| ("Audit log".to_string(), b, "/ui/audit")))
}

// ---------------------------------------------------------------------------------------------
// Import

/// The list formats an upload may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// One PDQ hash per line.
    Plain,
    /// python-threatexchange text: `<signal_type> <signal>` per line.
    Pytx,
}

/// The records of an uploaded list (a bad record: its error, naming the file and the line).
fn records<'a>(
    bytes: &'a [u8],
    name: &'a str,
    format: Format,
) -> Box<dyn Iterator<Item = Result<Record, String>> + Send + 'a> {
    match format {
        Format::Plain => Box::new(vigil_exchange::PlainListReader::new(bytes, name).map(
            |r| match r {
                Ok(vigil_exchange::plain::Record::Entry(e)) => {
                    Ok(Record::with_signals([Signal::from_pdq(e.hash)]))
                }
                Ok(vigil_exchange::plain::Record::Malformed(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            },
        )),
        Format::Pytx => Box::new(
            vigil_exchange::pytx::PytxTextReader::new(bytes, name).map(|r| match r {
                Ok(Item::Record(l)) => Ok(l.value),
                Ok(Item::Malformed(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            }),
        ),
    }
}

/// An uploaded file's name as a provenance source: printable, at most 200 characters.
fn upload_name(name: Option<&str>) -> String {
    let clean: String = name
        .unwrap_or("upload")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if clean.is_empty() {
        "upload".into()
    } else {
        clean
    }
}

fn yes(v: Option<&String>) -> bool {
    v.is_some_and(|v| matches!(v.as_str(), "true" | "on" | "1" | "yes"))
}

/// `POST /api/v1/banks/{bank}/import` (multipart: `file`, `format` = `plain` | `pytx`,
/// `skip_bad`, and `create` with `kind` and `description` to create the bank first): all
/// records or none — a file with a bad record is refused whole (422, the bad records listed)
/// unless `skip_bad` is set.
async fn import(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(bank): Path<String>,
    mut mp: Multipart,
) -> Result<Response, ApiError> {
    let mut file: Option<(String, Bytes)> = None;
    let mut fields: HashMap<String, String> = HashMap::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(ApiError::new(e.status(), e.body_text())),
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let data = field
            .bytes()
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        if name == "file" {
            file = Some((upload_name(file_name.as_deref()), data));
        } else if data.len() <= 4096 {
            fields.insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    let Some((file_name, bytes)) = file else {
        return Err(ApiError::bad("the multipart field \"file\" is required"));
    };
    let format = match fields.get("format").map(String::as_str) {
        None | Some("plain") => Format::Plain,
        Some("pytx") => Format::Pytx,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "format {other:?}: use plain or pytx"
            )));
        }
    };
    let skip_bad = yes(fields.get("skip_bad"));
    // Read once to find every bad record: a refused file is refused with all of them listed,
    // and before anything (the bank included) is created.
    let mut good = 0u64;
    let mut errors = Vec::new();
    let mut error_count = 0usize;
    for r in records(&bytes, &file_name, format) {
        match r {
            Ok(_) => good += 1,
            Err(e) => {
                error_count += 1;
                if errors.len() < MAX_LISTED {
                    errors.push(e);
                }
            }
        }
    }
    if error_count > 0 && !skip_bad {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "message": format!("{error_count} bad record(s) in {file_name}: nothing imported \
                                    (skip bad records to import the others)"),
                "errors": errors,
                "error_count": error_count,
                "records": good,
            })),
        )
            .into_response());
    }
    if good == 0 {
        return Err(ApiError::bad(format!("{file_name} holds no record")));
    }
    let mut created_bank = false;
    if yes(fields.get("create")) {
        let kind = match fields.get("kind").map(String::as_str) {
            None | Some("block") => BankKind::Block,
            Some("allow") => BankKind::Allow,
            Some(other) => {
                return Err(ApiError::bad(format!("kind {other:?}: use block or allow")));
            }
        };
        let new = NewBank {
            description: fields.get("description").cloned().unwrap_or_default(),
            kind,
            ..NewBank::block(&bank)
        };
        match state.store().create_bank(&who.name, &new).await {
            Ok(_) => created_bank = true,
            Err(vigil_store::Error::BankExists(_)) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("a bank named {bank:?} exists already: choose it instead"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let options = ImportOptions {
        source: format!("upload:{file_name}"),
        skip_bad,
        sort_memory: None,
    };
    let report = match state
        .store()
        .import(
            &who.name,
            &bank,
            records(&bytes, &file_name, format),
            &options,
        )
        .await
    {
        Ok(r) => r,
        Err(e @ (vigil_store::Error::BadRecord { .. } | vigil_store::Error::Import { .. })) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.to_string(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let skipped_count = report.skipped.len();
    let skipped: Vec<&String> = report.skipped.iter().take(MAX_LISTED).collect();
    Ok(Json(json!({
        "bank": bank,
        "bank_created": created_bank,
        "records": report.records,
        "created": report.created,
        "updated": report.updated,
        "signals_added": report.signals_added,
        "skipped": skipped,
        "skipped_count": skipped_count,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn videos_show_as_their_frame_count() {
        let h = "ab".repeat(32);
        let v = format!("vpdq:[\"{h},100,0.0\", \"{h},90,1.0\"]");
        assert_eq!(shown(&v), "vpdq (2 frames)");
        assert_eq!(shown("vpdq:nonsense"), "vpdq");
        assert_eq!(shown(&format!("pdq:{h}")), format!("pdq:{h}"));
        assert_eq!(shown("md5"), "md5");
    }

    #[test]
    fn escape_leaves_no_markup() {
        for (input, want) in [
            ("plain", "plain"),
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("a & b", "a &amp; b"),
            ("\" onmouseover=\"x", "&quot; onmouseover=&quot;x"),
            ("' autofocus onfocus='x", "&#x27; autofocus onfocus=&#x27;x"),
            ("&lt;", "&amp;lt;"),
            ("ünïcødé ✓", "ünïcødé ✓"),
        ] {
            assert_eq!(escape(input), want, "{input}");
        }
        let hostile = "<img src=x onerror=alert(1)>\"'&";
        let e = escape(hostile);
        assert!(!e.contains(['<', '>', '"', '\'']), "{e}");
    }

    #[test]
    fn fill_fills_once() {
        assert_eq!(
            fill("a {{x}} b {{y}} {{none}} {{", &[("x", "{{y}}"), ("y", "2")]),
            "a {{y}} b 2 {{none}} {{"
        );
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(time_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time_text(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(time_text(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
        assert_eq!(time_text(-1000), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsf", &phc));
        assert!(!verify_password("correct horse", "not a phc"));
        assert_ne!(phc, hash_password("correct horse").unwrap(), "salted");
        assert!(matches!(
            hash_password("short"),
            Err(PasswordError::TooShort)
        ));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; vigil_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "vigil_session"), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "vigil"), None);
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }

    #[test]
    fn the_login_limiter_locks_a_name_out() {
        let l = LoginLimiter::default();
        for _ in 0..LOGIN_ATTEMPTS {
            assert!(l.allowed("alice"));
            l.failed("alice");
        }
        assert!(!l.allowed("alice"));
        assert!(l.allowed("bob"), "per name");
        l.succeeded("alice");
        assert!(l.allowed("alice"));
    }

    #[test]
    fn uploads_parse_as_plain_and_pytx() {
        let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let plain = format!("{pdq}\nnot a hash\n");
        let r: Vec<_> = records(plain.as_bytes(), "l.txt", Format::Plain).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].as_ref().unwrap().signals[0].value(), pdq);
        assert!(r[1].as_ref().unwrap_err().contains("l.txt"));
        let pytx = format!("pdq {pdq}\nmd5 0123456789abcdef0123456789abcdef\nbad\n");
        let r: Vec<_> = records(pytx.as_bytes(), "p.txt", Format::Pytx).collect();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].as_ref().unwrap().signals[0].kind(), &SignalKind::Md5);
        assert!(r[2].is_err());
    }
}
