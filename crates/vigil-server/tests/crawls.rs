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
                media: false,
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
        uncontactable: false,
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

#[path = "support/client.rs"]
mod client;

async fn get(http: &reqwest::Client, base: &str, key: Option<&str>, path: &str) -> (u16, String) {
    client::send(http, base, key, "GET", path, None).await
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

async fn post(
    http: &reqwest::Client,
    base: &str,
    key: Option<&str>,
    path: &str,
    ctype: &str,
    body: String,
) -> (u16, String) {
    client::send(http, base, key, "POST", path, Some((ctype, body))).await
}

/// The report queue through the API and the page, and findings a page at a time: who may
/// report (admin, curator), per-line validation, merging, the listing's statuses, the audit
/// entry, paging with more findings than a page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_queue_and_findings_pages() {
    for db in vigil_testkit::postgres::databases("reports_queue_and_findings_pages") {
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
        // 250 findings: three pages of 100 by default.
        let (c, _) = store.crawl_open("big", "{}").await.unwrap();
        store
            .crawl_push(
                c.id,
                &[NewFrontierEntry {
                    url: "http://big.test/".into(),
                    host: "big.test".into(),
                    depth: 0,
                    parent_url: None,
                    media: false,
                }],
            )
            .await
            .unwrap();
        let e = store.crawl_take(c.id, 1).await.unwrap();
        let urls: Vec<String> = (0..250)
            .map(|i| format!("http://big.test/{i:03}.jpg"))
            .collect();
        store
            .crawl_complete(
                c.id,
                e[0].id,
                &Completion {
                    kind: "page".into(),
                    findings: urls.iter().map(|u| finding(u, "big.test")).collect(),
                    ..Completion::default()
                },
            )
            .await
            .unwrap();
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
        let json = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        let (admin, curator) = (keys[0].1.as_str(), keys[1].1.as_str());
        const R: &str = "/api/v1/crawls/reports";
        const J: &str = "application/json";

        // Matcher and viewer may not report or list; no key: 401.
        for (role, key) in &keys[2..] {
            let (s, t) = post(
                &http,
                &base,
                Some(key),
                R,
                J,
                r#"{"urls":["http://x.test/"]}"#.into(),
            )
            .await;
            assert_eq!(s, 403, "{role}: {t}");
            assert_eq!(get(&http, &base, Some(key), R).await.0, 403, "{role}");
        }
        assert_eq!(post(&http, &base, None, R, J, "{}".into()).await.0, 401);

        // A batch with per-line outcomes (positions in the array, from 1).
        let long = format!("http://x.test/{}", "a".repeat(2100));
        let body = serde_json::json!({"urls": [
            "HTTPS://Files.Example/r/1#frag",
            "ftp://files.example/r/2",
            "http://user:secret@files.example/r/3",
            "https://files.example:443/r/1",
            long,
            "http://abcdefghijklmnop.onion/",
            7,
        ]});
        let (s, t) = post(&http, &base, Some(curator), R, J, body.to_string()).await;
        assert_eq!(s, 200, "{t}");
        let v = json(&t);
        assert_eq!(
            (
                v["queued"].as_i64(),
                v["merged"].as_i64(),
                v["refused"].as_i64()
            ),
            (Some(2), Some(1), Some(4)),
            "{t}"
        );
        let r = v["results"].as_array().unwrap();
        assert_eq!(r.len(), 7);
        assert_eq!(
            (
                r[0]["line"].as_i64(),
                r[0]["status"].as_str(),
                r[0]["url"].as_str()
            ),
            (Some(1), Some("queued"), Some("https://files.example/r/1"))
        );
        assert_eq!(r[1]["status"], "refused");
        assert!(r[1]["error"].as_str().unwrap().contains("scheme"), "{t}");
        assert!(r[2]["error"].as_str().unwrap().contains("password"), "{t}");
        assert_eq!(
            (r[3]["status"].as_str(), r[3]["id"].as_i64()),
            (Some("merged"), r[0]["id"].as_i64())
        );
        assert!(r[4]["error"].as_str().unwrap().contains("2048"), "{t}");
        assert_eq!(r[4]["input"].as_str().unwrap().chars().count(), 200);
        assert_eq!(r[5]["status"], "queued");
        assert_eq!(
            (r[6]["line"].as_i64(), r[6]["status"].as_str()),
            (Some(7), Some("refused"))
        );

        // Text, one URL a line: line numbers of the text (blank and # lines skipped).
        let (s, t) = post(
            &http,
            &base,
            Some(admin),
            R,
            "text/plain",
            "# reported today\n\nhttp://files.example/r/9\nnot a url\n".into(),
        )
        .await;
        assert_eq!(s, 200, "{t}");
        let v = json(&t);
        assert_eq!(v["results"][0]["line"], 3);
        assert_eq!(v["results"][1]["line"], 4);
        assert_eq!(v["results"][1]["status"], "refused");
        // Bad bodies.
        assert_eq!(
            post(&http, &base, Some(admin), R, J, r#"{"urls":[]}"#.into())
                .await
                .0,
            400
        );
        assert_eq!(
            post(&http, &base, Some(admin), R, J, r#"{"url":"x"}"#.into())
                .await
                .0,
            400
        );
        assert_eq!(
            post(
                &http,
                &base,
                Some(admin),
                R,
                "application/xml",
                "<x/>".into()
            )
            .await
            .0,
            415
        );
        let many = serde_json::json!({"urls": vec!["http://m.test/"; 10_001]});
        assert_eq!(
            post(&http, &base, Some(admin), R, J, many.to_string())
                .await
                .0,
            400
        );

        // The listing: statuses, then one taken by a crawl.
        let (q, _) = store.crawl_open("from-queue", "{}").await.unwrap();
        let taken = store.crawl_reports_take(q.id, 1).await.unwrap();
        let (s, t) = get(&http, &base, Some(admin), R).await;
        assert_eq!(s, 200, "{t}");
        let v = json(&t);
        let list = v["reports"].as_array().unwrap();
        assert_eq!(list.len(), 3, "{t}");
        assert_eq!(list[0]["id"].as_i64(), Some(taken[0].id));
        assert_eq!(list[0]["status"], "taken by crawl from-queue");
        assert_eq!(list[0]["times"], 2);
        assert_eq!(list[0]["submitted_by"], "curator-key");
        assert_eq!(list[1]["status"], "pending");
        assert_eq!(v["next"], Value::Null);
        let (_, t) = get(
            &http,
            &base,
            Some(admin),
            &format!("{R}?state=pending&limit=1"),
        )
        .await;
        let v = json(&t);
        assert_eq!(v["reports"].as_array().unwrap().len(), 1);
        assert_eq!(v["reports"][0]["url"], "http://abcdefghijklmnop.onion/");
        let next = v["next"].as_i64().unwrap();
        let (_, t) = get(
            &http,
            &base,
            Some(admin),
            &format!("{R}?state=pending&limit=1&after={next}"),
        )
        .await;
        let v = json(&t);
        assert_eq!(v["reports"][0]["url"], "http://files.example/r/9");
        assert_eq!(v["next"], Value::Null);
        assert_eq!(
            get(&http, &base, Some(admin), &format!("{R}?state=lost"))
                .await
                .0,
            400
        );

        // The page's form (an API key needs no CSRF token; a session's form carries it).
        let (s, page) = post(
            &http,
            &base,
            Some(curator),
            "/ui/crawls",
            "application/x-www-form-urlencoded",
            "urls=http%3A%2F%2Fform.test%2F1%0D%0Agopher%3A%2F%2Fx%0D%0A%3Cscript%3E".into(),
        )
        .await;
        assert_eq!(s, 200, "{page}");
        assert!(page.contains("1 queued, 0 merged"), "{page}");
        assert!(page.contains("line 2"), "{page}");
        assert!(
            page.contains("&lt;script&gt;") && !page.contains("<code><script>"),
            "{page}"
        );
        assert!(page.contains("http://form.test/1"));
        assert!(page.contains("id=\"report-form\""));
        assert!(
            page.contains("taken by crawl <a href=\"/ui/crawls/from-queue\">"),
            "{page}"
        );
        assert_eq!(
            post(
                &http,
                &base,
                Some(&keys[3].1),
                "/ui/crawls",
                "application/x-www-form-urlencoded",
                "urls=http%3A%2F%2Fv.test%2F".into()
            )
            .await
            .0,
            403
        );

        // Every submission is audited (counts and ids, not the URLs).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let audit: Vec<_> = store
            .audit_log(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.action == "crawl.report")
            .collect();
        assert_eq!(audit.len(), 3, "two API submissions and one form");
        assert_eq!(audit[0].actor, "curator-key");
        let d: Value = serde_json::from_str(&audit[0].detail).unwrap();
        assert_eq!(
            (
                d["queued"].as_i64(),
                d["merged"].as_i64(),
                d["refused"].as_i64()
            ),
            (Some(2), Some(1), Some(4))
        );
        assert!(!audit[0].detail.contains("files.example"));

        // Findings, 100 a page by default: 100 + 100 + 50, each once, in the order recorded.
        let mut got = Vec::new();
        let mut path = "/api/v1/crawls/big/findings".to_string();
        let mut pages = 0;
        loop {
            let (s, t) = get(&http, &base, Some(admin), &path).await;
            assert_eq!(s, 200, "{t}");
            let v = json(&t);
            pages += 1;
            got.extend(
                v["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["url"].as_str().unwrap().to_string()),
            );
            match v["next"].as_i64() {
                Some(n) => path = format!("/api/v1/crawls/big/findings?after={n}"),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(got, urls);
        let (_, t) = get(
            &http,
            &base,
            Some(admin),
            "/api/v1/crawls/big/findings?limit=1000",
        )
        .await;
        let v = json(&t);
        assert_eq!(
            (v["findings"].as_array().unwrap().len(), &v["next"]),
            (250, &Value::Null)
        );
        for bad in ["limit=0", "limit=1001", "limit=x", "after=y"] {
            let (s, t) = get(
                &http,
                &base,
                Some(admin),
                &format!("/api/v1/crawls/big/findings?{bad}"),
            )
            .await;
            assert_eq!(s, 400, "{bad}: {t}");
        }
        // The page shows 50 and links the next page.
        let (_, page) = get(&http, &base, Some(admin), "/ui/crawls/big").await;
        assert!(
            page.contains("big.test/049.jpg") && !page.contains("big.test/050.jpg"),
            "first page"
        );
        let next = page
            .split("id=\"findings-next\" href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let (_, page) = get(&http, &base, Some(admin), &next).await;
        assert!(
            page.contains("big.test/050.jpg") && !page.contains("big.test/049.jpg"),
            "{next}"
        );

        server.shutdown().await;
        store.close().await;
    }
}
