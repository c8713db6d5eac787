//! Crawls in the server (`/api/v1/crawls…`, `/ui/crawls…`) against the real server on
//! loopback, on both databases: every route × role (admin and curator through, matcher and
//! viewer 403 before the handler, no key 401 or the login page), the JSON against the values
//! the test stored, the takedown figures against hand-computed ones, and hostile values escaped
//! on the pages.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use vigil_server::{Server, ServerConfig};
use vigil_store::{Completion, NewFinding, NewFrontierEntry, NewSentNotice, Store};

const HOSTILE: &str = "http://evil.test/<script>alert(1)</script>.jpg";
const H: i64 = 3_600_000;

fn finding(url: &str, host: &str) -> NewFinding {
    NewFinding {
        url: url.into(),
        page_url: Some("http://evil.test/\"><b>page</b>".into()),
        host: host.into(),
        ip: Some("127.0.0.1".into()),
        kind: "image".into(),
        sha256: [9; 32],
        md5: "0".repeat(32),
        sha1: "1".repeat(40),
        pdq: None,
        bank: "known".into(),
        content_id: 7,
        signal_kind: "md5".into(),
        distance: 0,
    }
}

/// A crawl `site` with three findings: `HOSTILE` and `a.test/1` open, `a.test/2` removed two
/// hours after it was found; one notice to `Loopback <Hosting>` covering all three, one failed.
async fn fill(store: &Store) -> i64 {
    let (c, _) = store
        .crawl_open("site", "{\"scope\":\"same-host\"}")
        .await
        .unwrap();
    store
        .crawl_push(
            c.id,
            &[NewFrontierEntry {
                url: "http://a.test/".into(),
                host: "a.test".into(),
                depth: 0,
                parent_url: None,
            }],
        )
        .await
        .unwrap();
    let e = store.crawl_take(c.id, 1).await.unwrap();
    store
        .crawl_complete(
            c.id,
            e[0].id,
            &Completion {
                kind: "page".into(),
                findings: vec![
                    finding(HOSTILE, "evil.test"),
                    finding("http://a.test/1", "a.test"),
                    finding("http://a.test/2", "a.test"),
                ],
                ..Completion::default()
            },
        )
        .await
        .unwrap();
    let f = store.crawl_findings(Some("site")).await.unwrap();
    let found = f[0].found_at;
    store
        .crawl_recheck_at("http://a.test/2", true, found + 2 * H)
        .await
        .unwrap();
    let ids: Vec<i64> = f.iter().map(|f| f.id).collect();
    let notice = |at: i64, error: Option<&str>| NewSentNotice {
        crawl: Some("site".into()),
        provider: "Loopback <Hosting>".into(),
        contact: "abuse@loopback.example".into(),
        hosts: vec!["a.test".into(), "evil.test".into()],
        channel: "smtp".into(),
        recipient: "abuse@loopback.example".into(),
        subject: "Removal request".into(),
        sequence: 1,
        message_id: Some("<m1@vigil>".into()),
        sent_at: at,
        error: error.map(str::to_string),
        findings: ids.clone(),
    };
    store
        .crawl_notice_record(&notice(found + H, None))
        .await
        .unwrap();
    store
        .crawl_notice_record(&notice(found + 3 * H, Some("550 <no>")))
        .await
        .unwrap();
    found
}

async fn get(http: &reqwest::Client, base: &str, key: Option<&str>, path: &str) -> (u16, String) {
    let mut req = http.get(format!("{base}{path}"));
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_routes_for_admin_and_curator_only() {
    for db in vigil_testkit::postgres::databases("crawl_routes_for_admin_and_curator_only") {
        let store = Store::open(&db.url).await.unwrap();
        let mut keys = Vec::new();
        for role in ["admin", "curator", "matcher", "viewer"] {
            let (secret, hash) = vigil_server::auth::new_key();
            store
                .add_api_key("test", &format!("{role}-key"), role, &hash)
                .await
                .unwrap();
            keys.push((role, secret));
        }
        let found = fill(&store).await;
        let cfg = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            refresh_every: Duration::from_millis(20),
            ..ServerConfig::default()
        };
        let server = Server::start(store.clone(), cfg).await.unwrap();
        let base = format!("http://{}", server.addr());
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;

        let routes = [
            "/api/v1/crawls",
            "/api/v1/crawls/site/findings",
            "/api/v1/crawls/site/notices",
            "/api/v1/crawls/site/takedown",
            "/api/v1/crawls/nope/findings",
            "/api/v1/crawls/nope/notices",
            "/api/v1/crawls/nope/takedown",
            "/ui/crawls",
            "/ui/crawls/site",
            "/ui/crawls/nope",
        ];
        for path in routes {
            let missing = path.contains("nope");
            let ui = path.starts_with("/ui");
            let (status, _) = get(&http, &base, None, path).await;
            assert_eq!(
                status,
                if ui { 303 } else { 401 },
                "{} no key {path}",
                db.name
            );
            for (role, key) in &keys {
                let (status, text) = get(&http, &base, Some(key), path).await;
                match *role {
                    "admin" | "curator" => {
                        assert_eq!(
                            status,
                            if missing { 404 } else { 200 },
                            "{role} {path}: {text}"
                        )
                    }
                    _ => {
                        assert_eq!(status, 403, "{role} {path}: {text}");
                        // Refused before the handler: nothing of the crawl or its findings.
                        assert!(
                            text.contains("may not")
                                && !text.contains("a.test")
                                && !text.contains("nope"),
                            "{role} {path}: {text}"
                        );
                    }
                }
            }
        }

        let admin = keys[0].1.as_str();
        let json = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        let (_, t) = get(&http, &base, Some(admin), "/api/v1/crawls").await;
        let v = json(&t);
        let c = &v["crawls"][0];
        assert_eq!(c["name"], "site");
        assert_eq!(c["settings"]["scope"], "same-host");
        assert_eq!(
            (c["findings"].as_i64(), c["open_findings"].as_i64()),
            (Some(3), Some(2))
        );
        assert_eq!(c["frontier"]["done"], 1);

        let (_, t) = get(&http, &base, Some(admin), "/api/v1/crawls/site/findings").await;
        let v = json(&t);
        let f = v["findings"].as_array().unwrap();
        assert_eq!(f.len(), 3);
        let by_url = |u: &str| f.iter().find(|x| x["url"] == u).unwrap().clone();
        let removed = by_url("http://a.test/2");
        assert_eq!(removed["removed_at_ms"].as_i64(), Some(found + 2 * H));
        assert_eq!(
            removed["notices_sent"], 1,
            "the failed notice does not count"
        );
        assert_eq!(removed["last_notice_at_ms"].as_i64(), Some(found + H));
        assert_eq!(by_url(HOSTILE)["removed_at_ms"], Value::Null);
        assert_eq!(by_url(HOSTILE)["sha256"], "09".repeat(32));

        let (_, t) = get(&http, &base, Some(admin), "/api/v1/crawls/site/notices").await;
        let v = json(&t);
        let n = v["notices"].as_array().unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0]["status"], "sent");
        assert_eq!(n[1]["status"], "failed");
        assert_eq!(n[1]["error"], "550 <no>");
        assert_eq!(n[0]["findings"].as_array().unwrap().len(), 3);
        assert_eq!(n[0]["reminder"], false);

        // By hand: a.test has 1 open, 1 removed after 2 h (median = p90 = 2 h); evil.test 1
        // open; one notice sent for each (at found + 1 h). Provider: the notice's.
        let (_, t) = get(&http, &base, Some(admin), "/api/v1/crawls/site/takedown").await;
        let v = json(&t);
        assert_eq!(v["percentiles"], "nearest-rank");
        let a = &v["hosts"][0];
        assert_eq!(a["name"], "a.test");
        assert_eq!(
            (a["open"].as_i64(), a["removed"].as_i64()),
            (Some(1), Some(1))
        );
        assert_eq!(a["median_removal_ms"].as_i64(), Some(2 * H));
        assert_eq!(a["p90_removal_ms"].as_i64(), Some(2 * H));
        assert_eq!(a["notices_sent"], 1);
        assert_eq!(a["first_notice_at"].as_i64(), Some(found + H));
        let e = &v["hosts"][1];
        assert_eq!(
            (
                e["name"].as_str(),
                e["open"].as_i64(),
                e["removed"].as_i64()
            ),
            (Some("evil.test"), Some(2 - 1), Some(0))
        );
        assert_eq!(e["median_removal_ms"], Value::Null);
        let p = &v["providers"][0];
        assert_eq!(p["name"], "Loopback <Hosting>");
        assert_eq!(
            (p["open"].as_i64(), p["removed"].as_i64()),
            (Some(2), Some(1))
        );
        assert_eq!(v["providers"].as_array().unwrap().len(), 1);

        // Pages: every stored value escaped.
        let (_, page) = get(&http, &base, Some(admin), "/ui/crawls/site").await;
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(!page.contains("<b>page</b>"));
        assert!(page.contains("Loopback &lt;Hosting&gt;"));
        assert!(page.contains("550 &lt;no&gt;"));
        assert!(page.contains("2.0 h"), "median time to removal shown");
        let (_, page) = get(&http, &base, Some(admin), "/ui/crawls").await;
        assert!(page.contains("href=\"/ui/crawls/site\""), "{page}");
        // The menu offers Crawls to a curator, not to a viewer.
        let (_, page) = get(&http, &base, Some(&keys[1].1), "/ui").await;
        assert!(page.contains("href=\"/ui/crawls\""));
        let (_, page) = get(&http, &base, Some(&keys[3].1), "/ui").await;
        assert!(!page.contains("href=\"/ui/crawls\""));
        // The site map lists the routes.
        let (_, t) = get(&http, &base, None, "/site-map").await;
        assert!(
            t.contains("/api/v1/crawls/{crawl}/takedown") && t.contains("/ui/crawls"),
            "{t}"
        );

        server.shutdown().await;
        store.close().await;
    }
}
