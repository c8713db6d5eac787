//! Roles on every route, against the real server on loopback: each role gets through exactly
//! the routes its role grants (anything but 401/403), is refused (403) on the others before the
//! handler runs (so no answer says whether a bank, item or hash exists), and a request without
//! a valid key gets 401 everywhere but the public routes. Also: an open server (no key) refuses
//! a non-loopback address, a revoked key stops working within a refresh, and rate limits.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use vigil_server::{Server, ServerConfig};
use vigil_store::Store;

const PDQ_A: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/// `(method, path, body)`: every route of the API, with a body good enough to reach the handler.
fn routes() -> Vec<(&'static str, String, Option<serde_json::Value>)> {
    vec![
        ("GET", "/status".into(), None),
        ("GET", "/status/live".into(), None),
        ("GET", "/site-map".into(), None),
        ("GET", "/metrics".into(), None),
        ("GET", "/h/hash?url=http://example.invalid/x".into(), None),
        ("POST", "/h/hash".into(), Some(json!({}))),
        (
            "GET",
            format!("/m/raw_lookup?signal_type=pdq&signal={PDQ_A}"),
            None,
        ),
        (
            "GET",
            format!("/m/lookup?signal_type=pdq&signal={PDQ_A}"),
            None,
        ),
        ("POST", "/m/lookup".into(), Some(json!({}))),
        (
            "POST",
            "/m/compare".into(),
            Some(json!({"pdq": [PDQ_A, PDQ_A]})),
        ),
        ("GET", "/m/index/status".into(), None),
        ("GET", "/c/banks".into(), None),
        ("POST", "/c/banks".into(), Some(json!({"name": "NEW_BANK"}))),
        ("GET", "/c/bank/SECRET".into(), None),
        ("PUT", "/c/bank/SECRET".into(), Some(json!({}))),
        (
            "POST",
            "/c/bank/SECRET/signal".into(),
            Some(json!({"pdq": PDQ_A})),
        ),
        ("POST", "/c/bank/SECRET/content".into(), Some(json!({}))),
        ("GET", "/c/bank/SECRET/content/1".into(), None),
        (
            "PUT",
            "/c/bank/SECRET/content/1".into(),
            Some(json!({"note": "x"})),
        ),
        ("DELETE", "/c/bank/SECRET/content/999".into(), None),
        ("GET", "/c/signal_type".into(), None),
        (
            "PUT",
            "/c/signal_type/pdq".into(),
            Some(json!({"enabled_ratio": 1.0})),
        ),
        ("GET", "/c/signal_type/index".into(), None),
        ("GET", "/c/content_type".into(), None),
        ("GET", "/c/exchanges".into(), None),
        ("GET", "/c/exchanges/apis".into(), None),
        ("GET", "/c/exchanges/api/file".into(), None),
        ("GET", "/c/exchange/NOPE".into(), None),
        ("GET", "/c/exchange/NOPE/status".into(), None),
        ("DELETE", "/c/bank/GONE".into(), None),
    ]
}

/// What each role may do, by route: the server's own table restated by hand.
fn allowed(role: &str, method: &str, path: &str) -> bool {
    let public = matches!(path, "/status" | "/status/live" | "/site-map");
    let hash = path.starts_with("/h/") || path == "/m/compare";
    let matching = path.starts_with("/m/") && !hash && !path.starts_with("/m/index");
    let read = !public && !hash && !matching && method == "GET";
    let write = !public && !hash && !matching && method != "GET";
    match role {
        "admin" | "curator" => true,
        "matcher" => public || hash || matching,
        "viewer" => (public || read) && !write,
        _ => public,
    }
}

/// A refusal by the role check (a handler's own 403, such as HMA's "Bank already exists", is
/// not one).
fn refused(status: u16, text: &str) -> bool {
    status == 401 || (status == 403 && text.contains("may not use"))
}

async fn keyed_server(
    db: &vigil_testkit::postgres::TestDb,
) -> (Server, Store, Vec<(String, String)>) {
    let store = Store::open(&db.url).await.unwrap();
    let mut keys = Vec::new();
    for role in ["admin", "curator", "matcher", "viewer"] {
        let (secret, hash) = vigil_server::auth::new_key();
        store
            .add_api_key("test", &format!("{role}-key"), role, &hash)
            .await
            .unwrap();
        keys.push((role.to_string(), secret));
    }
    store
        .create_bank("test", &vigil_store::NewBank::block("SECRET"))
        .await
        .unwrap();
    let cfg = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        refresh_every: Duration::from_millis(20),
        ..ServerConfig::default()
    };
    let server = Server::start(store.clone(), cfg).await.unwrap();
    (server, store, keys)
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: &Option<serde_json::Value>,
) -> (u16, String) {
    let body = body.as_ref().map(|b| ("application/json", b.to_string()));
    client::send(http, base, key, method, path, body).await
}

#[path = "support/client.rs"]
mod client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_its_role() {
    for db in vigil_testkit::postgres::databases("every_route_checks_its_role") {
        let (server, store, keys) = keyed_server(&db).await;
        let base = format!("http://{}", server.addr());
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        for (method, path, body) in routes() {
            let bare = path.split('?').next().unwrap();
            // No key: 401 (plain text, as hma-matrix) except on public routes.
            let (status, text) = call(&http, &base, None, method, &path, &body).await;
            if allowed("none", method, bare) {
                assert!(!refused(status, &text), "{method} {path} open: {status}");
            } else {
                assert_eq!(
                    (status, text.as_str()),
                    (401, "Authentication required"),
                    "{method} {path}"
                );
            }
            // A wrong key is no key.
            let (status, _) = call(&http, &base, Some("vgl_00"), method, &path, &body).await;
            if !allowed("none", method, bare) {
                assert_eq!(status, 401, "{method} {path} with a wrong key");
            }
            for (role, key) in &keys {
                let (status, text) = call(&http, &base, Some(key), method, &path, &body).await;
                if allowed(role, method, bare) {
                    assert!(
                        !refused(status, &text),
                        "{role} {method} {path}: {status} {text}"
                    );
                } else {
                    assert!(
                        status == 403 && refused(status, &text),
                        "{role} {method} {path}: {text}"
                    );
                    // The refusal says nothing of the bank or hash asked about.
                    assert!(
                        !text.contains("SECRET") && !text.contains("not found"),
                        "{text}"
                    );
                }
            }
        }
        // X-API-Key works as well as a bearer token.
        let viewer = &keys.iter().find(|(r, _)| r == "viewer").unwrap().1;
        let r = http
            .get(format!("{base}/c/banks"))
            .header("x-api-key", viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // A revoked key stops working within a refresh.
        store.revoke_api_key("test", "viewer-key").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, _) = call(&http, &base, Some(viewer), "GET", "/c/banks", &None).await;
        assert_eq!(status, 401);
        // Changes are audited under the key's name.
        let admin = &keys.iter().find(|(r, _)| r == "admin").unwrap().1;
        call(
            &http,
            &base,
            Some(admin),
            "POST",
            "/c/banks",
            &Some(json!({"name": "AUDITED"})),
        )
        .await;
        let log = store.audit_log(0, 10_000).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "bank.create" && e.actor == "admin-key")
        );
        server.shutdown().await;
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_server_stays_on_loopback() {
    let db = vigil_testkit::postgres::sqlite_database();
    let store = Store::open(&db.url).await.unwrap();
    let cfg = ServerConfig {
        listen: SocketAddr::from(([0, 0, 0, 0], 0)),
        ..ServerConfig::default()
    };
    let err = Server::start(store.clone(), cfg).await.unwrap_err();
    assert!(err.to_string().contains("without authentication"), "{err}");
    // With a key it may (it is not started here: the test touches loopback only).
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_per_key() {
    let db = vigil_testkit::postgres::sqlite_database();
    let store = Store::open(&db.url).await.unwrap();
    let (a, ha) = vigil_server::auth::new_key();
    let (b, hb) = vigil_server::auth::new_key();
    store.add_api_key("t", "a", "viewer", &ha).await.unwrap();
    store.add_api_key("t", "b", "viewer", &hb).await.unwrap();
    let cfg = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        rate_limit: 5.0,
        ..ServerConfig::default()
    };
    let server = Server::start(store.clone(), cfg).await.unwrap();
    let base = format!("http://{}", server.addr());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut codes = Vec::new();
    for _ in 0..30 {
        codes.push(
            call(&http, &base, Some(&a), "GET", "/c/banks", &None)
                .await
                .0,
        );
    }
    assert!(codes.contains(&429), "{codes:?}");
    assert_eq!(codes[0], 200);
    // Another key has its own bucket.
    assert_eq!(
        call(&http, &base, Some(&b), "GET", "/c/banks", &None)
            .await
            .0,
        200
    );
    server.shutdown().await;
    store.close().await;
}
