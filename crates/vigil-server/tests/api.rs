//! Vigil's own API (`/api/v1`) and match actions, against the real server on loopback.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vigil_exchange::record::{Record, Signal, SignalKind};
use vigil_server::{Server, ServerConfig};
use vigil_store::{ImportOptions, Store};

#[path = "support/client.rs"]
mod client;

struct Env {
    server: Server,
    base: String,
    http: reqwest::Client,
    store: Store,
    _db: vigil_testkit::postgres::TestDb,
}

impl Env {
    async fn start(db: vigil_testkit::postgres::TestDb) -> Env {
        let store = Store::open(&db.url).await.unwrap();
        let cfg = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            refresh_every: Duration::from_millis(20),
            ..ServerConfig::default()
        };
        let server = Server::start(store.clone(), cfg).await.unwrap();
        let env = Env {
            base: format!("http://{}", server.addr()),
            server,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            store,
            _db: db,
        };
        while !env.server.state().loaded() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        env
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        client::call_json(&self.http, &self.base, None, method, path, body.as_ref()).await
    }

    /// Waits for a refresh that started after now.
    /// Waits until a change made before the call is in the index: a refresh in flight at the
    /// call may have read the store before the change and still finish after it, so two
    /// refreshes must complete, the second of which started after the call.
    async fn settle(&self) {
        let s = self.server.state();
        for _ in 0..2 {
            let before = s.refreshed_at();
            while s.refreshed_at() <= before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    async fn stop(self) {
        self.server.shutdown().await;
        self.store.close().await;
    }
}

fn pdq(seed: u64) -> String {
    vigil_testkit::seeded_pdq_hex(seed)
}

/// `hex` with `bits` of its first bits flipped.
fn near(hex: &str, bits: usize) -> String {
    let mut b = hex::decode(hex).unwrap();
    for i in 0..bits {
        b[i / 8] ^= 1 << (i % 8);
    }
    hex::encode(b)
}

async fn import(store: &Store, bank: &str, records: Vec<Record>, source: &str) {
    store
        .import::<String>(
            "test",
            bank,
            records.into_iter().map(Ok),
            &ImportOptions {
                source: source.into(),
                skip_bad: false,
                sort_memory: None,
            },
        )
        .await
        .unwrap();
}

fn record(kind: SignalKind, value: &str, id: Option<&str>, note: Option<&str>) -> Record {
    Record {
        signals: vec![Signal::new(kind, value).unwrap()],
        ids: id.map(|i| vec![i.to_string()]).unwrap_or_default(),
        note: note.map(str::to_string),
        tags: vec!["t1".into()],
        ..Record::default()
    }
}

#[test]
fn the_openapi_document_lists_every_route() {
    let doc: Value = serde_json::from_str(vigil_server::api::OPENAPI).unwrap();
    assert_eq!(doc["openapi"], json!("3.1.0"));
    let paths = doc["paths"].as_object().unwrap();
    let routed = vigil_server::api::routes();
    let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    assert_eq!(documented, routed.keys().copied().collect::<BTreeSet<_>>());
    for (path, methods) in routed {
        let ops: BTreeSet<&str> = paths[path]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ops, methods.into_iter().collect::<BTreeSet<_>>(), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_lookup_verdicts_quarantine_and_paging() {
    for db in vigil_testkit::postgres::databases("batch_lookup_verdicts_quarantine_and_paging") {
        let env = Env::start(db).await;
        let s = &env.store;
        s.create_bank("t", &vigil_store::NewBank::block("known"))
            .await
            .unwrap();
        let md5 = "0123456789abcdef0123456789abcdef";
        let mut recs = vec![
            record(SignalKind::Pdq, &pdq(1), Some("ext-1"), Some("first")),
            record(SignalKind::Md5, md5, Some("ext-2"), None),
        ];
        for i in 0..248u64 {
            recs.push(record(
                SignalKind::Pdq,
                &pdq(1000 + i),
                None,
                Some(&format!("n{i}")),
            ));
        }
        import(s, "known", recs, "file:known.csv").await;
        env.settle().await;

        // A batch: a near PDQ, an exact MD5, a miss, and two bad entries; in order.
        let (status, v) = env
            .call(
                "POST",
                "/api/v1/lookup",
                Some(json!({"signals": [
                    near(&pdq(1), 5), format!("md5:{md5}"), pdq(7), "pdq:xyz",
                    {"type": "pdq"}
                ], "provenance": true})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let r = v["results"].as_array().unwrap();
        assert_eq!(r.len(), 5);
        assert_eq!(r[0]["match"], json!(true));
        assert_eq!(r[0]["matches"][0]["distance"], json!(5));
        assert_eq!(r[0]["matches"][0]["hash"], json!(pdq(1)));
        assert_eq!(r[0]["matches"][0]["bank"], json!("known"));
        assert_eq!(r[0]["matches"][0]["source"], json!("file:known.csv"));
        assert_eq!(r[0]["matches"][0]["external_id"], json!("ext-1"));
        assert_eq!(
            r[0]["matches"][0]["provenance"][0]["source"],
            json!("file:known.csv")
        );
        assert_eq!(r[1]["matches"][0]["kind"], json!("md5"));
        assert_eq!(r[2]["match"], json!(false));
        assert!(
            r[3]["error"].is_string() && r[4]["error"].is_string(),
            "{v}"
        );

        // Too many signals: 413 before any work.
        let many: Vec<String> = (0..10_001).map(|_| pdq(1)).collect();
        assert_eq!(
            env.call("POST", "/api/v1/lookup", Some(json!({"signals": many})))
                .await
                .0,
            413
        );
        // Not JSON: 415.
        let r = env
            .http
            .post(format!("{}/api/v1/lookup", env.base))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415);

        // Quarantine a hash: the next lookup after a refresh misses it; release: back.
        let (_, v) = env
            .call(
                "POST",
                "/api/v1/quarantine",
                Some(json!({"signal": format!("pdq:{}", pdq(1))})),
            )
            .await;
        assert_eq!(v["signals"], json!(1));
        env.settle().await;
        let (_, v) = env
            .call("GET", &format!("/api/v1/lookup?signal={}", pdq(1)), None)
            .await;
        assert_eq!(v["match"], json!(false), "{v}");
        let (_, v) = env
            .call(
                "GET",
                &format!("/api/v1/lookup?signal={}&include_quarantined=true", pdq(1)),
                None,
            )
            .await;
        assert_eq!(v["matches"][0]["active"], json!(false), "{v}");
        env.call(
            "DELETE",
            &format!("/api/v1/quarantine?signal={}", pdq(1)),
            None,
        )
        .await;
        env.settle().await;
        let (_, v) = env
            .call("GET", &format!("/api/v1/lookup?signal={}", pdq(1)), None)
            .await;
        assert_eq!(v["match"], json!(true), "{v}");
        let id = v["matches"][0]["content_id"].as_i64().unwrap();

        // Quarantine the content item.
        let (st, _) = env
            .call(
                "POST",
                &format!("/api/v1/banks/known/content/{id}/quarantine"),
                None,
            )
            .await;
        assert_eq!(st, 200);
        env.settle().await;
        let (_, v) = env
            .call("GET", &format!("/api/v1/lookup?signal={}", pdq(1)), None)
            .await;
        assert_eq!(v["match"], json!(false));
        env.call(
            "DELETE",
            &format!("/api/v1/banks/known/content/{id}/quarantine"),
            None,
        )
        .await;

        // A verdict, and the bank's verdicts.
        let (st, _) = env
            .call(
                "POST",
                "/api/v1/verdicts",
                Some(json!({"bank": "known", "signal": pdq(1), "content_id": id,
                            "query": "upload-77", "verdict": "false_positive", "note": "a logo"})),
            )
            .await;
        assert_eq!(st, 201);
        let (_, v) = env.call("GET", "/api/v1/banks/known/verdicts", None).await;
        assert_eq!(v[0]["verdict"], json!("false_positive"));
        assert_eq!(v[0]["hash"], json!(pdq(1)));
        assert!(
            env.call(
                "POST",
                "/api/v1/verdicts",
                Some(json!({"bank": "known", "signal": pdq(1), "verdict": "maybe"}))
            )
            .await
            .0 == 400
        );

        // Paging: every item once, in id order.
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let (st, v) = env
                .call(
                    "GET",
                    &format!("/api/v1/banks/known/content?after={after}&limit=100"),
                    None,
                )
                .await;
            assert_eq!(st, 200);
            for it in v["items"].as_array().unwrap() {
                seen.push(it["id"].as_i64().unwrap());
                assert!(!it["signals"].as_array().unwrap().is_empty());
            }
            match v["next"].as_i64() {
                Some(n) => after = n,
                None => break,
            }
        }
        assert_eq!(seen.len(), 250);
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        // Search: by note text, by external id, by hash.
        let (_, v) = env
            .call("GET", "/api/v1/banks/known/content?q=N24", None)
            .await;
        let notes: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["note"].as_str().unwrap())
            .collect();
        assert!(
            notes.contains(&"n24") && notes.iter().all(|n| n.contains("n24")),
            "{notes:?}"
        );
        let (_, v) = env
            .call("GET", "/api/v1/banks/known/content?q=ext-2", None)
            .await;
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        let (_, v) = env
            .call(
                "GET",
                &format!("/api/v1/banks/known/content?q={}", pdq(1005)),
                None,
            )
            .await;
        assert_eq!(v["items"][0]["signals"][0]["value"], json!(pdq(1005)));
        let (_, v) = env
            .call("GET", "/api/v1/banks/known/content?q=100%25", None)
            .await;
        assert_eq!(v["items"].as_array().unwrap().len(), 0, "% is literal");
        // One item with provenance.
        let (_, v) = env
            .call("GET", &format!("/api/v1/banks/known/content/{id}"), None)
            .await;
        assert_eq!(v["provenance"][0]["record"]["tags"], json!(["t1"]), "{v}");
        // Banks, with counts; the audit log.
        let (_, v) = env.call("GET", "/api/v1/banks", None).await;
        assert_eq!(v[0]["content_count"], json!(250));
        // A malformed page parameter is refused, naming it.
        for path in [
            "/api/v1/audit?limit=ten",
            "/api/v1/banks/known/content?after=x",
        ] {
            let (st, v) = env.call("GET", path, None).await;
            assert_eq!(st, 400, "{path}: {v}");
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .contains("not a whole number"),
                "{v}"
            );
        }
        let (_, v) = env.call("GET", "/api/v1/audit?limit=10000", None).await;
        let actions: BTreeSet<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for a in [
            "signal.quarantine",
            "signal.release",
            "verdict.record",
            "content.disable",
        ] {
            assert!(actions.contains(a), "{a} in {actions:?}");
        }
        env.stop().await;
    }
}

/// A webhook receiver on loopback: answers 500 to the first `fail` requests, then 200; keeps
/// every request's headers and body.
/// Requests a receiver got: (head, body).
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

async fn receiver(fail: usize) -> (SocketAddr, Received) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let got: Received = Arc::default();
    let seen = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..at]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while buf.len() < at + 4 + len {
                        let n = s.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    break (head, buf[at + 4..].to_vec());
                }
            };
            let n = {
                let mut g = seen.lock().unwrap();
                g.push((head, body));
                g.len()
            };
            let status = if n <= fail { "500 Oops" } else { "200 OK" };
            let _ = s
                .write_all(
                    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await;
        }
    });
    (addr, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_and_recorded() {
    // SAFETY (of the test): the variable is set before the server starts and read by it only.
    unsafe { std::env::set_var("VIGIL_TEST_WEBHOOK_SECRET", "s3cret") };
    for db in vigil_testkit::postgres::databases("webhooks_are_signed_retried_and_recorded") {
        let (addr, got) = receiver(2).await;
        let env = Env::start(db).await;
        env.store
            .create_bank("t", &vigil_store::NewBank::block("B"))
            .await
            .unwrap();
        env.store
            .create_bank("t", &vigil_store::NewBank::block("OTHER"))
            .await
            .unwrap();
        import(
            &env.store,
            "B",
            vec![record(SignalKind::Pdq, &pdq(3), None, None)],
            "f",
        )
        .await;
        let (st, v) = env
            .call(
                "POST",
                "/api/v1/actions",
                Some(json!({"name": "hook", "bank": "B", "kind": "webhook",
                            "url": format!("http://{addr}/hook"),
                            "secret_env": "VIGIL_TEST_WEBHOOK_SECRET"})),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        env.call(
            "POST",
            "/api/v1/actions",
            Some(json!({"name": "rec", "kind": "record"})),
        )
        .await;
        env.call(
            "POST",
            "/api/v1/actions",
            Some(json!({"name": "other", "bank": "OTHER", "kind": "record"})),
        )
        .await;
        assert_eq!(
            env.call(
                "POST",
                "/api/v1/actions",
                Some(json!({"name": "bad", "kind": "webhook", "url": "ftp://x"}))
            )
            .await
            .0,
            400
        );
        env.settle().await;
        // A match through the HMA route fires them.
        let (st, v) = env
            .call(
                "GET",
                &format!("/m/lookup?signal_type=pdq&signal={}", pdq(3)),
                None,
            )
            .await;
        assert_eq!((st, v.get("B").is_some()), (200, true), "{v}");
        // Two failures, then delivered (backoff 1 s, 2 s).
        let mut delivered = false;
        for _ in 0..200 {
            let (_, ev) = env.call("GET", "/api/v1/actions/hook/events", None).await;
            if ev[0]["status"] == json!("delivered") {
                assert_eq!(ev[0]["attempts"], json!(3), "{ev}");
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(delivered, "the webhook was delivered on the third attempt");
        let reqs = got.lock().unwrap().clone();
        assert_eq!(reqs.len(), 3);
        let (head, body) = &reqs[2];
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["bank"], json!("B"));
        assert_eq!(payload["matched"]["value"], json!(pdq(3)));
        let sig = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("x-vigil-signature: ")
                    .map(str::to_string)
            })
            .expect("a signature header");
        assert_eq!(sig, vigil_server::actions::signature(b"s3cret", body));
        // The record action recorded it; the other bank's did not fire.
        let (_, ev) = env.call("GET", "/api/v1/actions/rec/events", None).await;
        assert_eq!(ev[0]["status"], json!("recorded"));
        let (_, ev) = env.call("GET", "/api/v1/actions/other/events", None).await;
        assert_eq!(ev, json!([]));
        // A raw lookup (diagnosis) fires nothing.
        env.call(
            "GET",
            &format!("/m/raw_lookup?signal_type=pdq&signal={}", pdq(3)),
            None,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, ev) = env.call("GET", "/api/v1/actions/rec/events", None).await;
        assert_eq!(ev.as_array().unwrap().len(), 1);
        env.stop().await;
    }
}

/// vpdq signals in `/api/v1` lookups (single and batch): a stored video is found from a cut of
/// it, and the match carries the percentages and the aligned time range (worked out by hand:
/// the query's 6 frames are the stored video's seconds 2–7, each 4 bits off); an unrelated video
/// matches nothing; a vpdq value that does not parse is that signal's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_lookup_carries_percentages_and_ranges() {
    let frame = |i: usize, hex: &str| format!("{hex},100,{}.0", i);
    let stored: Vec<String> = (0..10).map(|i| pdq(1000 + i as u64)).collect();
    let stored_json = serde_json::to_string(
        &stored
            .iter()
            .enumerate()
            .map(|(i, h)| frame(i, h))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let query_json = serde_json::to_string(
        &stored[2..8]
            .iter()
            .enumerate()
            .map(|(i, h)| frame(i, &near(h, 4)))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let unrelated = serde_json::to_string(
        &(0..6)
            .map(|i| frame(i, &pdq(2000 + i as u64)))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for db in vigil_testkit::postgres::databases("video_lookup_carries_percentages_and_ranges") {
        let env = Env::start(db).await;
        env.store
            .create_bank("test", &vigil_store::NewBank::block("V"))
            .await
            .unwrap();
        import(
            &env.store,
            "V",
            vec![record(SignalKind::Vpdq, &stored_json, Some("clip-1"), None)],
            "test",
        )
        .await;
        env.settle().await;
        let (status, v) = env
            .call(
                "POST",
                "/api/v1/lookup",
                Some(json!({"signals": [
                    {"type": "vpdq", "value": query_json},
                    format!("vpdq:{unrelated}"),
                    {"type": "vpdq", "value": "[\"00,100,0.0\"]"},
                ]})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let r = &v["results"];
        assert_eq!(r[0]["match"], json!(true), "{v}");
        let hit = &r[0]["matches"][0];
        assert_eq!(hit["kind"], json!("vpdq"));
        assert_eq!(hit["bank"], json!("V"));
        assert_eq!(
            hit["video"],
            json!({
                "query_pct": 100.0, "compared_pct": 60.0,
                "query_frames": 6, "query_matched": 6,
                "compared_frames": 10, "compared_matched": 6,
                "ranges": [{"query_start": 0.0, "query_end": 5.0,
                            "compared_start": 2.0, "compared_end": 7.0, "frames": 6}],
            })
        );
        assert_eq!(r[1]["match"], json!(false));
        assert_eq!(r[1]["matches"], json!([]));
        assert!(r[2]["error"].as_str().unwrap().contains("vpdq"), "{v}");
        // One signal by GET (URL-encoded).
        let q: String =
            url::form_urlencoded::byte_serialize(format!("vpdq:{query_json}").as_bytes()).collect();
        let (status, one) = env
            .call("GET", &format!("/api/v1/lookup?signal={q}"), None)
            .await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["matches"][0]["video"], hit["video"]);
        assert!(
            one["matches"][0].get("video").is_some() && r[0]["matches"][0]["distance"] == json!(0)
        );
        env.stop().await;
    }
}
