//! The web UI (`/ui`) against the real server on loopback: sessions, CSRF, escaping and the
//! import endpoint over plain HTTP (on both databases), then the main flows in a real headless
//! Chromium driven through chromedriver by the W3C WebDriver protocol (a small client below).
//!
//! The browser test needs Debian's `chromium` and `chromium-driver`; without them it prints
//! `SKIPPED ui browser test: …` and passes, unless `VIGIL_REQUIRE_BROWSER=1` (CI), when it fails.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vigil_exchange::record::{Record, Signal, SignalKind};
use vigil_server::{Server, ServerConfig};
use vigil_store::{ImportOptions, NewBank, Store};

const PASSWORD: &str = "correct horse battery staple";
const VIEWER_PASSWORD: &str = "viewer password 123";
const HOSTILE_DESCRIPTION: &str = "<script>alert(1)</script>";
const HOSTILE_NOTE: &str = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>";

// ---------------------------------------------------------------------------------------------
// The server

struct Env {
    server: Server,
    base: String,
    store: Store,
    /// An admin API key (so the server is not open).
    key: String,
    /// A PDQ hash held by item `ext-7` of bank `known`.
    known_hash: String,
    _db: vigil_testkit::postgres::TestDb,
}

fn pdq(seed: u64) -> String {
    vigil_testkit::seeded_pdq_hex(seed)
}

/// A benign generated picture (gradients and blocks) as PNG.
fn photo() -> Vec<u8> {
    let (w, h) = (128u32, 96u32);
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let block = ((x / 11) + (y / 12)).is_multiple_of(2);
            let v = if block {
                (40 + x) as u8
            } else {
                200 - (y as u8)
            };
            px.extend_from_slice(&[v, v.wrapping_add(30), 255 - v]);
        }
    }
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        e.write_header().unwrap().write_image_data(&px).unwrap();
    }
    out
}

fn photo_pdq() -> String {
    let hashes = vigil_server::hashing::hash_media(
        &photo(),
        "photo",
        &["pdq"],
        &Default::default(),
        &Default::default(),
    )
    .unwrap();
    let h = hashes["pdq"].clone();
    assert_eq!(h.len(), 64, "the test picture must have a PDQ hash");
    h
}

fn record(value: &str, id: &str, note: Option<&str>) -> Record {
    Record {
        signals: vec![Signal::new(SignalKind::Pdq, value).unwrap()],
        ids: vec![id.to_string()],
        note: note.map(str::to_string),
        ..Record::default()
    }
}

impl Env {
    /// A server with an admin key, users `alice` (admin) and `victor` (viewer), and bank
    /// `known` (a hostile description; 120 items, one with a hostile note, one holding the
    /// test picture's PDQ).
    async fn start(db: vigil_testkit::postgres::TestDb, config: ServerConfig) -> Env {
        let store = Store::open(&db.url).await.unwrap();
        let (key, hash) = vigil_server::auth::new_key();
        store
            .add_api_key("test", "admin-key", "admin", &hash)
            .await
            .unwrap();
        webdriver::add_ui_user(&store, "alice", "admin", PASSWORD).await;
        webdriver::add_ui_user(&store, "victor", "viewer", VIEWER_PASSWORD).await;
        store
            .create_bank(
                "test",
                &NewBank {
                    description: HOSTILE_DESCRIPTION.into(),
                    ..NewBank::block("known")
                },
            )
            .await
            .unwrap();
        let mut recs: Vec<Record> = (0..118u64)
            .map(|i| record(&pdq(100 + i), &format!("ext-{}", 100 + i), Some("plain")))
            .collect();
        recs.insert(0, record(&pdq(7), "ext-7", Some(HOSTILE_NOTE)));
        recs.push(record(&photo_pdq(), "img-1", Some("the test picture")));
        store
            .import::<String>(
                "test",
                "known",
                recs.into_iter().map(Ok),
                &ImportOptions {
                    source: "file:known.txt".into(),
                    skip_bad: false,
                    sort_memory: None,
                },
            )
            .await
            .unwrap();
        let config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            refresh_every: Duration::from_millis(20),
            ..config
        };
        let server = Server::start(store.clone(), config).await.unwrap();
        while !server.state().loaded() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Env {
            base: format!("http://{}", server.addr()),
            server,
            store,
            key,
            known_hash: pdq(7),
            _db: db,
        }
    }

    async fn stop(self) {
        self.server.shutdown().await;
        self.store.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP

/// A client that follows no redirect and keeps no cookie (the tests send them by hand).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    /// The value of cookie `name` this answer sets.
    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            c.split(';')
                .next()?
                .trim()
                .strip_prefix(&format!("{name}="))
                .map(str::to_string)
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.unwrap();
    Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        text: r.text().await.unwrap(),
    }
}

/// The value of the first `attr="…"` after `marker` in `html`.
fn attr_after(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let rest = &html[at..];
    let start = rest.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
    let end = rest[start..].find('"').unwrap();
    rest[start..start + end].to_string()
}

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "vigil-ui-test-boundary-51c2";
    let mut body = Vec::new();
    for (name, text) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{text}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{file_name}\"\r\nContent-Type: text/plain\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Logs in through the form: `(the answer, the session cookie if one was set)`.
async fn login(http: &reqwest::Client, base: &str, name: &str, password: &str) -> Answer {
    let form = send(http.get(format!("{base}/ui/login"))).await;
    assert_eq!(form.status, 200, "{}", form.text);
    let token = form
        .cookie("vigil_login")
        .expect("the login form sets its cookie");
    assert_eq!(
        attr_after(&form.text, "name=\"login_csrf\"", "value"),
        token
    );
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("name", name)
        .append_pair("password", password)
        .append_pair("login_csrf", &token)
        .finish();
    send(
        http.post(format!("{base}/ui/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("vigil_login={token}"))
            .body(body),
    )
    .await
}

/// The message of a failed login page.
fn login_error(html: &str) -> String {
    let at = html.find("id=\"login-error\"").expect("a login error");
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</p>").unwrap();
    rest[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_escaping_and_imports_over_http() {
    for db in vigil_testkit::postgres::databases("ui_sessions_csrf") {
        let name = db.name;
        let env = Env::start(db, ServerConfig::default()).await;
        let (base, http) = (env.base.clone(), client());

        // Without a session: pages go to the login form, APIs answer 401.
        let r = send(http.get(format!("{base}/ui/banks"))).await;
        assert_eq!((r.status, r.location()), (303, "/ui/login"), "{name}");
        assert_eq!(
            send(http.get(format!("{base}/api/v1/banks"))).await.status,
            401
        );
        let r = send(http.get(format!("{base}/ui/static/app.js"))).await;
        assert_eq!(r.status, 200, "assets are public");

        // One message for a wrong password and for an unknown user.
        let wrong = login(&http, &base, "alice", "not the password").await;
        assert_eq!(wrong.status, 401, "{name}");
        assert_eq!(wrong.cookie("vigil_session"), None);
        let unknown = login(&http, &base, "nobody", "not the password").await;
        assert_eq!(unknown.status, 401);
        assert_eq!(login_error(&wrong.text), login_error(&unknown.text));
        assert_eq!(login_error(&wrong.text), "Wrong user name or password.");
        // A login post without the form's cookie (a cross-site post) is refused.
        let r = send(
            http.post(format!("{base}/ui/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("name=alice&password={PASSWORD}&login_csrf=abc")),
        )
        .await;
        assert_eq!(r.status, 403, "{name}");

        let ok = login(&http, &base, "alice", PASSWORD).await;
        assert_eq!(
            (ok.status, ok.location()),
            (303, "/ui"),
            "{name}: {}",
            ok.text
        );
        let session = ok.cookie("vigil_session").unwrap();
        assert_eq!(session.len(), 64);
        let set = ok
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("vigil_session="))
            .unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!set.contains("Secure"), "off by default: {set}");
        let cookie = format!("vigil_session={session}");
        // The store knows the session by the token's SHA-256, not by the token.
        use sha2::Digest;
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let digest = sha2::Sha256::digest(session.as_bytes());
        assert!(
            env.store
                .session_by_token(&digest, now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            env.store
                .session_by_token(session.as_bytes(), now)
                .await
                .unwrap()
                .is_none()
        );

        // Pages render with the data escaped.
        let banks = send(
            http.get(format!("{base}/ui/banks"))
                .header("cookie", &cookie),
        )
        .await;
        assert_eq!(banks.status, 200, "{name}");
        assert!(banks.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!banks.text.contains(HOSTILE_DESCRIPTION));
        let csp = banks.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        let content = send(
            http.get(format!("{base}/ui/banks/known?q=ext-7"))
                .header("cookie", &cookie),
        )
        .await;
        assert!(
            content
                .text
                .contains("&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;")
        );
        assert!(!content.text.contains("<img src=x"), "{}", content.text);
        let csrf = attr_after(&banks.text, "name=\"csrf-token\"", "content");
        assert_eq!(csrf.len(), 64);

        // A cookie-authenticated change needs the session's CSRF token.
        let verdict = json!({"bank": "known", "signal": env.known_hash, "query": env.known_hash,
                             "verdict": "false_positive"})
        .to_string();
        let post = |token: Option<&str>| {
            let mut r = http
                .post(format!("{base}/api/v1/verdicts"))
                .header("cookie", &cookie)
                .header("content-type", "application/json")
                .body(verdict.clone());
            if let Some(t) = token {
                r = r.header("x-csrf-token", t);
            }
            r
        };
        assert_eq!(send(post(None)).await.status, 403, "{name}");
        assert_eq!(send(post(Some("0".repeat(64).as_str()))).await.status, 403);
        assert_eq!(send(post(Some(&csrf))).await.status, 201, "{name}");
        // A key needs none.
        let by_key = send(
            http.post(format!("{base}/api/v1/verdicts"))
                .bearer_auth(&env.key)
                .header("content-type", "application/json")
                .body(verdict.clone()),
        )
        .await;
        assert_eq!(by_key.status, 201);
        let v = env.store.verdicts("known").await.unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].actor, "alice", "{name}: the user's name is the actor");

        // Imports: a bad line refuses the file (all bad lines listed), nothing is created;
        // skipping bad lines imports the good ones.
        let list = format!("{}\n{}\nnot a hash\n{}\n", pdq(900), pdq(901), pdq(902));
        let import = |fields: &[(&str, &str)], token: Option<&str>| {
            let (ctype, body) = multipart(fields, Some(("list.txt", list.as_bytes())));
            let mut r = http
                .post(format!("{base}/api/v1/banks/fresh/import"))
                .header("cookie", &cookie)
                .header("content-type", ctype)
                .body(body);
            if let Some(t) = token {
                r = r.header("x-csrf-token", t);
            }
            r
        };
        let fields = [("format", "plain"), ("create", "true"), ("kind", "block")];
        assert_eq!(send(import(&fields, None)).await.status, 403, "CSRF");
        let refused = send(import(&fields, Some(&csrf))).await;
        assert_eq!(refused.status, 422, "{name}: {}", refused.text);
        let j = refused.json();
        assert_eq!(j["error_count"], json!(1));
        assert!(
            j["errors"][0].as_str().unwrap().contains("list.txt:3"),
            "{j}"
        );
        assert!(
            matches!(
                env.store.bank("fresh").await,
                Err(vigil_store::Error::NoBank(_))
            ),
            "{name}: nothing created"
        );
        let skip = [
            ("format", "plain"),
            ("create", "true"),
            ("kind", "allow"),
            ("skip_bad", "true"),
        ];
        let done = send(import(&skip, Some(&csrf))).await;
        assert_eq!(done.status, 200, "{name}: {}", done.text);
        let j = done.json();
        assert_eq!(
            (j["records"].clone(), j["created"].clone()),
            (json!(3), json!(3))
        );
        assert_eq!(j["skipped_count"], json!(1));
        assert_eq!(j["bank_created"], json!(true));
        let fresh = env.store.bank("fresh").await.unwrap();
        assert_eq!(fresh.content_count, 3);
        assert_eq!(fresh.kind, vigil_store::BankKind::Allow);
        // pytx text into an existing bank.
        let pytx = format!("pdq {}\nmd5 0123456789abcdef0123456789abcdef\n", pdq(903));
        let (ctype, body) = multipart(&[("format", "pytx")], Some(("l.txt", pytx.as_bytes())));
        let r = send(
            http.post(format!("{base}/api/v1/banks/fresh/import"))
                .bearer_auth(&env.key)
                .header("content-type", ctype)
                .body(body),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["records"], json!(2));

        // A viewer sees banks, not the audit log nor lookups; the refusal is a page.
        let viewer = login(&http, &base, "victor", VIEWER_PASSWORD).await;
        let vcookie = format!("vigil_session={}", viewer.cookie("vigil_session").unwrap());
        let get = |path: &str, c: &str| {
            http.get(format!("{base}{path}"))
                .header("cookie", c.to_string())
        };
        assert_eq!(send(get("/ui/banks", &vcookie)).await.status, 200);
        let audit = send(get("/ui/audit", &vcookie)).await;
        assert_eq!(audit.status, 403, "{name}");
        assert!(audit.text.contains("id=\"forbidden\""), "{}", audit.text);
        assert!(audit.text.contains("victor (viewer)"), "{}", audit.text);
        assert_eq!(send(get("/ui/lookup", &vcookie)).await.status, 403);
        assert_eq!(send(get("/ui/import", &vcookie)).await.status, 403);
        let home = send(get("/ui", &vcookie)).await;
        assert_eq!(home.status, 200);
        assert!(
            !home.text.contains("/ui/audit"),
            "no menu entry it may not use"
        );
        assert_eq!(send(get("/ui/audit", &cookie)).await.status, 200, "admin");

        // Logout (a form post with the csrf field) ends the session.
        let out = send(
            http.post(format!("{base}/ui/logout"))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("csrf={csrf}")),
        )
        .await;
        assert_eq!((out.status, out.location()), (303, "/ui/login"), "{name}");
        let after = send(get("/ui", &cookie)).await;
        assert_eq!((after.status, after.location()), (303, "/ui/login"));
        assert_eq!(
            send(get("/api/v1/banks", &cookie)).await.status,
            401,
            "{name}: the old cookie is dead"
        );

        // Five failures lock a name out for a while, even with the right password next.
        for _ in 0..5 {
            assert_eq!(login(&http, &base, "victor", "wrong").await.status, 401);
        }
        assert_eq!(
            login(&http, &base, "victor", VIEWER_PASSWORD).await.status,
            429
        );
        assert_eq!(login(&http, &base, "alice", PASSWORD).await.status, 303);

        let log = env.store.audit_log(0, 10_000).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "user.login" && e.actor == "alice")
        );
        assert!(log.iter().any(|e| e.action == "user.logout"));
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_and_the_open_server() {
    let env = Env::start(
        vigil_testkit::postgres::sqlite_database(),
        ServerConfig {
            secure_cookies: true,
            ..ServerConfig::default()
        },
    )
    .await;
    let http = client();
    let ok = login(&http, &env.base, "alice", PASSWORD).await;
    assert_eq!(ok.status, 303);
    assert!(
        ok.set_cookies()
            .iter()
            .any(|c| c.starts_with("vigil_session=") && c.contains("; Secure")),
        "{:?}",
        ok.set_cookies()
    );
    env.stop().await;

    // No key: open, every caller admin, the UI works without a login.
    let db = vigil_testkit::postgres::sqlite_database();
    let store = Store::open(&db.url).await.unwrap();
    let server = Server::start(
        store.clone(),
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..ServerConfig::default()
        },
    )
    .await
    .unwrap();
    let base = format!("http://{}", server.addr());
    let login_page = send(http.get(format!("{base}/ui/login"))).await;
    assert!(login_page.text.contains("Open server: no login needed"));
    let home = send(http.get(format!("{base}/ui"))).await;
    assert_eq!(home.status, 200);
    assert!(home.text.contains("open server"), "{}", home.text);
    assert_eq!(send(http.get(format!("{base}/ui/audit"))).await.status, 200);
    server.shutdown().await;
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// A WebDriver client (W3C protocol), shared with the cases browser test

#[path = "support/webdriver.rs"]
mod webdriver;
use webdriver::Driver;

// ---------------------------------------------------------------------------------------------
// The browser test

/// The filter the page computes for the preview.
async fn preview_filter(d: &Driver) -> String {
    d.exec(
        "return getComputedStyle(document.getElementById('preview')).filter",
        json!([]),
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

async fn browser_login(d: &Driver, base: &str, name: &str, password: &str) {
    d.goto(&format!("{base}/ui/login")).await;
    d.type_into("#name", name).await;
    d.type_into("#password", password).await;
    d.click("#login").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_flows_in_headless_chromium() {
    let started = Instant::now();
    let Some(d) = Driver::start_or_skip("ui browser test").await else {
        return;
    };
    let env = Env::start(
        vigil_testkit::postgres::sqlite_database(),
        ServerConfig::default(),
    )
    .await;
    let base = env.base.clone();
    let files = tempfile::tempdir().unwrap();

    // Login: a page asks for it; a wrong password gets the generic message.
    d.goto(&format!("{base}/ui")).await;
    d.wait_path("/ui/login").await;
    browser_login(&d, &base, "alice", "not the password").await;
    assert_eq!(
        d.text_of("#login-error").await,
        "Wrong user name or password."
    );
    assert!(d.cookie("vigil_session").await.is_none());
    browser_login(&d, &base, "alice", PASSWORD).await;
    d.wait_path("/ui").await;
    assert_eq!(d.text_of("#whoami").await, "alice (admin)");
    let cookie = d.cookie("vigil_session").await.expect("a session cookie");
    assert_eq!(cookie["httpOnly"], json!(true), "{cookie}");
    assert_eq!(cookie["sameSite"], json!("Strict"), "{cookie}");
    let session = cookie["value"].as_str().unwrap().to_string();

    // Banks: the hostile description is text, and nothing ran.
    d.goto(&format!("{base}/ui/banks")).await;
    assert_eq!(
        d.text_of("#banks td.description").await,
        HOSTILE_DESCRIPTION
    );
    assert!(d.text_of("#banks").await.contains("known"));
    assert!(!d.alert_open().await, "no alert ran");
    let globals = d
        .exec(
            "return [typeof window.pwned, document.querySelectorAll('main script, main img').length]",
            json!([]),
        )
        .await;
    assert_eq!(globals, json!(["undefined", 0]));

    // A bank's content: pages of 50, next and previous, search.
    d.click("#banks a[href='/ui/banks/known']").await;
    d.wait_path("/ui/banks/known").await;
    let first_page = d.find_all("#content tr.item").await;
    assert_eq!(first_page.len(), 50);
    let first_id = d.text_of("#content tr.item td").await;
    d.click("#next").await;
    d.wait_path("/ui/banks/known").await;
    let started_wait = Instant::now();
    while d.text_of("#content tr.item td").await == first_id {
        assert!(
            started_wait.elapsed() < Duration::from_secs(10),
            "next page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.click("#next").await;
    let started_wait = Instant::now();
    while d.find_all("#content tr.item").await.len() != 20 {
        assert!(
            started_wait.elapsed() < Duration::from_secs(10),
            "third page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(d.find_all("#next").await.is_empty(), "the last page");
    d.click("#prev").await;
    d.click("#prev").await;
    let started_wait = Instant::now();
    while d.text_of("#content tr.item td").await != first_id {
        assert!(
            started_wait.elapsed() < Duration::from_secs(10),
            "back to page 1"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.type_into("#q", "ext-7").await;
    d.click("form[role=search] button").await;
    let started_wait = Instant::now();
    while d.find_all("#content tr.item").await.len() != 1 {
        assert!(started_wait.elapsed() < Duration::from_secs(10), "search");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(d.text_of("#content td.note").await, HOSTILE_NOTE);
    let pwned = d.exec("return typeof window.pwned", json!([])).await;
    assert_eq!(pwned, json!("undefined"));

    // Hash lookup, then a verdict from its button.
    d.goto(&format!("{base}/ui/lookup")).await;
    d.type_into("#hash", &env.known_hash).await;
    d.click("#hash-form button").await;
    assert_eq!(d.text_of("table.matches tr.match td.bank").await, "known");
    assert_eq!(d.text_of("table.matches tr.match td.distance").await, "0");
    d.click("table.matches button[data-verdict=true_positive]")
        .await;
    assert_eq!(d.text_of(".verdict-done").await, "Recorded: true positive");
    let verdicts = env.store.verdicts("known").await.unwrap();
    assert_eq!(verdicts.len(), 1);
    assert_eq!(
        (
            verdicts[0].actor.as_str(),
            verdicts[0].verdict,
            verdicts[0].query.as_str()
        ),
        (
            "alice",
            vigil_store::VerdictKind::TruePositive,
            env.known_hash.as_str()
        )
    );

    // Image lookup: the preview is blurred and grey until revealed, and hidden again.
    let picture = files.path().join("picture.png");
    std::fs::write(&picture, photo()).unwrap();
    d.choose_file("#photo", &picture).await;
    let src = d
        .exec("return document.getElementById('preview').src", json!([]))
        .await;
    assert!(src.as_str().unwrap().starts_with("blob:"), "{src}");
    let class = d
        .exec(
            "return document.getElementById('preview').className",
            json!([]),
        )
        .await;
    assert_eq!(class, json!("sensitive"));
    assert_eq!(preview_filter(&d).await, "blur(24px) grayscale(1)");
    d.click("#reveal").await;
    assert_eq!(preview_filter(&d).await, "none");
    assert_eq!(d.text_of("#reveal").await, "Hide");
    d.click("#reveal").await;
    assert_eq!(preview_filter(&d).await, "blur(24px) grayscale(1)");
    d.click("#image-form button").await;
    assert_eq!(d.text_of("#image-pdq").await, photo_pdq());
    assert_eq!(d.text_of("table.matches tr.match td.bank").await, "known");
    assert_eq!(d.text_of("table.matches tr.match td.distance").await, "0");

    // Import: a list with a bad line is refused whole; with "skip bad" the good ones count.
    let list = files.path().join("list.txt");
    std::fs::write(
        &list,
        format!("{}\n{}\nnot a hash\n{}\n", pdq(700), pdq(701), pdq(702)),
    )
    .unwrap();
    d.goto(&format!("{base}/ui/import")).await;
    d.click("#bank option[value='']").await;
    d.type_into("#new-name", "uploaded").await;
    d.choose_file("#file", &list).await;
    d.click("#import").await;
    let refused = d.text_of("#import-error").await;
    assert!(refused.contains("1 bad record"), "{refused}");
    assert!(d.text_of("ul.errors").await.contains("list.txt:3"));
    assert!(matches!(
        env.store.bank("uploaded").await,
        Err(vigil_store::Error::NoBank(_))
    ));
    d.click("#skip-bad").await;
    d.click("#import").await;
    let summary = d.text_of("#import-summary").await;
    assert!(
        summary.starts_with("Imported 3 records into uploaded"),
        "{summary}"
    );
    assert_eq!(env.store.bank("uploaded").await.unwrap().content_count, 3);

    // Exchanges and the audit log (admin).
    d.goto(&format!("{base}/ui/exchanges")).await;
    assert!(d.text_of("#no-exchanges").await.contains("No exchange"));
    d.goto(&format!("{base}/ui/audit")).await;
    let audit = d.text_of("#audit").await;
    assert!(
        audit.contains("verdict.record") && audit.contains("content.import"),
        "{audit}"
    );
    // The dashboard lists the recent matches, with verdict buttons.
    d.goto(&format!("{base}/ui")).await;
    assert!(d.text_of("#recent").await.contains("known"));
    assert!(!d.find_all("#recent button[data-verdict]").await.is_empty());

    // CSRF with the browser's own cookie: refused without the token, accepted with it.
    let http = client();
    let csrf = d
        .exec(
            "return document.querySelector('meta[name=csrf-token]').content",
            json!([]),
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"bank": "known", "signal": env.known_hash, "query": "q",
                      "verdict": "false_positive"})
    .to_string();
    let post = |token: Option<&str>| {
        let mut r = http
            .post(format!("{base}/api/v1/verdicts"))
            .header("cookie", format!("vigil_session={session}"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(t) = token {
            r = r.header("x-csrf-token", t);
        }
        r
    };
    assert_eq!(send(post(None)).await.status, 403);
    assert_eq!(send(post(Some(&csrf))).await.status, 201);

    // Logout ends the session: the old cookie no longer works.
    d.click("#logout").await;
    d.wait_path("/ui/login").await;
    let r = send(
        http.get(format!("{base}/api/v1/banks"))
            .header("cookie", format!("vigil_session={session}")),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(send(post(Some(&csrf))).await.status, 401);

    // A viewer: no audit log (a refusal page), no menu entry for it.
    browser_login(&d, &base, "victor", VIEWER_PASSWORD).await;
    d.wait_path("/ui").await;
    assert_eq!(d.text_of("#whoami").await, "victor (viewer)");
    assert!(d.find_all("nav a[href='/ui/audit']").await.is_empty());
    d.goto(&format!("{base}/ui/audit")).await;
    assert!(d.text_of("#forbidden").await.contains("viewer"));
    assert!(d.find_all("#audit").await.is_empty());

    d.quit().await;
    env.stop().await;
    println!("ui browser test: {:.1} s", started.elapsed().as_secs_f64());
}
