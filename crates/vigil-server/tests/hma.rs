//! The HMA compatibility suite (`docs/hma-compat.md` §11): HTTP requests to a real `vigil
//! serve` on loopback, on SQLite and (when a server can be had) PostgreSQL. Check numbers in the
//! comments are the plan's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vigil_server::{Parts, Server, ServerConfig};
use vigil_store::Store;

#[path = "support/videos.rs"]
mod videos;

const PDQ_A: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const PDQ_Z: &str = "62c9789627838f69f23cf98c29e37836d61c87c31c59587c4b49a783f496725c";
const CMP_1: &str = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318";
const CMP_2: &str = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318";
const MD5_E: &str = "d41d8cd98f00b204e9800998ecf8427e";

struct Env {
    server: Option<Server>,
    base: String,
    http: reqwest::Client,
    store: Store,
    db: &'static str,
    _keep: vigil_testkit::postgres::TestDb,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} [{}]", self.text, self.status))
    }

    /// A JSON error: an object with a string `message`.
    fn is_error(&self, status: u16) -> bool {
        self.status == status && self.json()["message"].is_string()
    }
}

fn config() -> ServerConfig {
    let mut c = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        refresh_every: Duration::from_millis(20),
        ..ServerConfig::default()
    };
    c.remote.private_allowed = vec!["127.0.0.1/32".parse().unwrap()];
    c
}

async fn envs(test: &str, cfg: impl Fn() -> ServerConfig) -> Vec<Env> {
    let mut out = Vec::new();
    for db in vigil_testkit::postgres::databases(test) {
        let store = Store::open(&db.url).await.unwrap();
        out.push(start(store, db, cfg()).await);
    }
    out
}

async fn start(store: Store, db: vigil_testkit::postgres::TestDb, cfg: ServerConfig) -> Env {
    let server = Server::start(store.clone(), cfg).await.unwrap();
    let base = format!("http://{}", server.addr());
    let env = Env {
        server: Some(server),
        base,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        store,
        db: db.name,
        _keep: db,
    };
    // Wait for the first index load.
    for _ in 0..500 {
        if env.get("/status").await.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    env
}

impl Env {
    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let r = req.send().await.unwrap();
        Answer {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            text: r.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    async fn json(&self, method: reqwest::Method, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .request(method, format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.json(reqwest::Method::POST, path, body).await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.json(reqwest::Method::PUT, path, body).await
    }

    /// A multipart body: `files` as (field, bytes), `fields` as (name, text).
    async fn multipart(
        &self,
        path: &str,
        files: &[(&str, &[u8])],
        fields: &[(&str, &str)],
    ) -> Answer {
        let boundary = "vigil-test-boundary-7d3f";
        let mut body = Vec::new();
        for (name, text) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{text}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                     filename=\"upload.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
        .await
    }

    /// Waits until the index holds `n` PDQ hashes (the plan's way to wait for the index).
    async fn wait_pdq(&self, n: u64) {
        for _ in 0..500 {
            let s = self.get("/m/index/status?signal_type=pdq").await.json();
            if s["pdq"]["size"] == json!(n) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{}: the index never reached {n} PDQ hashes", self.db);
    }

    /// Waits until the index holds `n` signals of HMA type `t`.
    async fn wait_size(&self, t: &str, n: u64) {
        for _ in 0..500 {
            let s = self
                .get(&format!("/m/index/status?signal_type={t}"))
                .await
                .json();
            if s[t]["size"] == json!(n) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{}: the index never reached {n} {t} signals", self.db);
    }

    /// Waits until a change made before the call is in the index: a refresh in flight at the
    /// call may have read the store before the change and still finish after it, so two
    /// refreshes must complete, the second of which started after the call.
    async fn settle(&self) {
        let s = self.server.as_ref().unwrap().state();
        for _ in 0..2 {
            let before = s.refreshed_at();
            for _ in 0..1000 {
                if s.refreshed_at() > before {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        self.store.close().await;
    }
}

/// A benign generated photo (a smooth gradient with a block pattern) as PNG.
fn photo(seed: u32) -> Vec<u8> {
    let (w, h) = (128u32, 96u32);
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let block = ((x / (8 + seed)) + (y / 12)).is_multiple_of(2);
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

/// The PDQ the server should compute for `bytes` (the library path; PDQ itself is checked
/// against the reference elsewhere, and against the fixtures' expected hashes below).
fn pdq_of(bytes: &[u8]) -> String {
    let d = vigil_media::decode(bytes, "t", &Default::default()).unwrap();
    let vigil_media::PixelData::Rgb8(p) = &d.pixels else {
        panic!("expected RGB")
    };
    let img = vigil_pdq::Image::new(
        vigil_pdq::Pixels::Rgb8(p),
        d.width as usize,
        d.height as usize,
    )
    .unwrap();
    vigil_pdq::hash(&img, vigil_pdq::Mode::Full).hash.to_hex()
}

/// A loopback HTTP server of canned answers: path → (status, content type, body). Answers
/// `Connection: close`. Unknown paths get 404.
async fn media_server(routes: HashMap<String, (u16, String, Vec<u8>)>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let routes = routes.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = 0;
                while !buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got += n,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..got]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, ct, body) = routes.get(&path).cloned().unwrap_or((
                    404,
                    "text/plain".into(),
                    b"no".to_vec(),
                ));
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.write_all(&body).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_routes() {
    for env in envs("core_routes", config).await {
        // 1, 3
        let s = env.get("/status").await;
        assert_eq!(
            (s.status, s.text.as_str()),
            (200, "I-AM-ALIVE"),
            "{}",
            env.db
        );
        assert!(
            s.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(env.get("/status/live").await.text, "I-AM-ALIVE");
        // 4
        let m = env.get("/site-map").await.json();
        let list: Vec<&str> = m
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut sorted = list.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(list, sorted);
        for p in [
            "/m/lookup",
            "/m/raw_lookup",
            "/h/hash",
            "/c/banks",
            "/status",
            "/status/live",
        ] {
            assert!(list.contains(&p), "{p} in {list:?}");
        }
        // 5
        let r = env
            .send(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap()
                    .get(format!("{}/", env.base)),
            )
            .await;
        assert_eq!(r.status, 303.max(r.status).min(308), "a redirect");
        assert!(r.headers["location"].to_str().unwrap().ends_with("/status"));
        // 6
        assert_eq!(env.get("/no/such/path").await.status, 404);
        assert_eq!(env.delete("/m/lookup").await.status, 405);
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banks() {
    for env in envs("banks", config).await {
        // 7
        assert_eq!(env.get("/c/banks").await.json(), json!([]));
        // 8
        assert!(
            env.post("/c/banks", json!({"name": "01_TEST_BANK"}))
                .await
                .is_error(400)
        );
        assert!(
            env.post("/c/banks", json!({"name": "my_test_bank"}))
                .await
                .is_error(400)
        );
        // 9
        let r = env
            .post("/c/banks", json!({"name": "MY_TEST_BANK_01"}))
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(
            r.json(),
            json!({"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"})
        );
        assert_eq!(env.get("/c/banks").await.json(), json!([r.json()]));
        // 10
        assert!(
            env.post("/c/banks", json!({"name": "MY_TEST_BANK_01"}))
                .await
                .is_error(403)
        );
        // 11
        let r = env
            .post("/c/banks", json!({"name": "R", "enabled_ratio": "0.25"}))
            .await;
        assert_eq!(
            (r.status, r.json()["matching_enabled_ratio"].clone()),
            (201, json!(0.25))
        );
        let r = env.post("/c/banks", json!({})).await;
        assert_eq!(r.status, 422);
        assert!(r.json().is_array());
        let r = env
            .send(
                env.http
                    .post(format!("{}/c/banks", env.base))
                    .body("name=X"),
            )
            .await;
        assert_eq!(r.status, 422);
        // 12
        let r = env
            .post("/c/banks", json!({"name": "E", "enabled": false}))
            .await;
        assert_eq!(r.json()["matching_enabled_ratio"], json!(1.0));
        let r = env
            .post(
                "/c/banks",
                json!({"name": "F", "enabled": false, "enabled_ratio": null}),
            )
            .await;
        assert_eq!(r.json()["matching_enabled_ratio"], json!(0.0));
        // 13
        env.post("/c/banks", json!({"name": "MY_TEST_BANK"})).await;
        assert!(
            env.put("/c/bank/MY_TEST_BANK", json!({"name": "1_invalid_name"}))
                .await
                .is_error(400)
        );
        let r = env
            .put(
                "/c/bank/MY_TEST_BANK",
                json!({"name": "MY_TEST_BANK_RENAMED"}),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["name"].clone()),
            (200, json!("MY_TEST_BANK_RENAMED"))
        );
        let r = env
            .put("/c/bank/MY_TEST_BANK_RENAMED", json!({"enabled": false}))
            .await;
        assert_eq!(r.json()["matching_enabled_ratio"], json!(0.0));
        let r = env
            .put(
                "/c/bank/MY_TEST_BANK_RENAMED",
                json!({"enabled_ratio": 0.5}),
            )
            .await;
        assert_eq!(
            r.json(),
            json!({"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.5})
        );
        assert_eq!(
            env.put("/c/bank/MY_TEST_BANK_RENAMED", json!({}))
                .await
                .status,
            200
        );
        assert_eq!(
            env.send(
                env.http
                    .put(format!("{}/c/bank/MY_TEST_BANK_RENAMED", env.base))
                    .body("x")
            )
            .await
            .status,
            422
        );
        // 14
        assert!(
            env.put("/c/bank/MY_TEST_BANK_RENAMED", json!({"name": "R"}))
                .await
                .is_error(403)
        );
        assert!(env.put("/c/bank/NOPE", json!({})).await.is_error(404));
        // 15
        assert_eq!(
            env.get("/c/bank/MY_TEST_BANK_01").await.json()["name"],
            json!("MY_TEST_BANK_01")
        );
        assert!(env.get("/c/bank/NOPE").await.is_error(404));
        // 16
        assert_eq!(
            env.delete("/c/bank/E").await.json(),
            json!({"message": "Done"})
        );
        assert_eq!(env.delete("/c/bank/E").await.status, 200);
        assert!(env.get("/c/bank/E").await.is_error(404));
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_content() {
    let image = photo(0);
    let image_pdq = pdq_of(&image);
    let media = media_server(HashMap::from([(
        "/image1.png".to_string(),
        (200, "image/png".to_string(), image.clone()),
    )]))
    .await;
    for env in envs("bank_content", config).await {
        env.post("/c/banks", json!({"name": "B"})).await;
        // 17
        let r = env
            .post(
                "/c/bank/B/signal",
                json!({"pdq": PDQ_Z, "note": "Hash from campaign ABC"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let id = r.json()["id"].as_i64().unwrap();
        assert_eq!(r.json()["signals"], json!({"pdq": PDQ_Z}));
        let c = env.get(&format!("/c/bank/B/content/{id}")).await.json();
        assert_eq!(c["note"], json!("Hash from campaign ABC"));
        // 18
        for body in [
            json!({"pdq": "banana"}),
            json!({"pdq": PDQ_Z.to_uppercase()}),
            json!({}),
            json!({"note": "x"}),
            json!({"nope": "abc"}),
        ] {
            assert!(
                env.post("/c/bank/B/signal", body.clone())
                    .await
                    .is_error(400),
                "{body}"
            );
        }
        assert!(
            env.post("/c/bank/NOPE/signal", json!({"pdq": PDQ_Z}))
                .await
                .is_error(404)
        );
        let r = env
            .send(
                env.http
                    .post(format!("{}/c/bank/B/signal", env.base))
                    .body("pdq=x"),
            )
            .await;
        assert_eq!(r.status, 415);
        // 19
        let r = env
            .post(
                "/c/bank/B/signal",
                json!({"video_md5": "  D41D8CD98F00B204E9800998ECF8427E "}),
            )
            .await;
        assert_eq!(r.json()["signals"], json!({"video_md5": MD5_E}));
        // 20
        let r = env
            .post(
                &format!("/c/bank/B/content?url=http://{media}/image1.png&content_type=photo"),
                json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let url_id = r.json()["id"].as_i64().unwrap();
        assert_eq!(
            r.json(),
            json!({"id": url_id, "signals": {"pdq": image_pdq}})
        );
        // 21
        let r = env
            .multipart(
                "/c/bank/B/content",
                &[("photo", &image)],
                &[("note", "n1"), ("metadata", "{\"content_id\":\"id1\"}")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mp_id = r.json()["id"].as_i64().unwrap();
        let c = env.get(&format!("/c/bank/B/content/{mp_id}")).await.json();
        assert_eq!(
            (c["note"].clone(), c["metadata"]["content_id"].clone()),
            (json!("n1"), json!("id1"))
        );
        // 22
        let url = format!("/c/bank/B/content?url=http://{media}/image1.png");
        assert!(
            env.post(&url, json!({"metadata": {"invalid_metadata": 5}}))
                .await
                .is_error(400)
        );
        let r = env
            .post(
                &url,
                json!({"metadata": {"content_id": "1197433091", "json": {"asdf": {}}}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        // 23
        assert!(env.post("/c/bank/B/content", json!({})).await.is_error(400));
        assert!(
            env.post(&url, json!({"note": "x".repeat(256)}))
                .await
                .is_error(400)
        );
        // 24, 25
        let c = env.get(&format!("/c/bank/B/content/{url_id}")).await.json();
        assert_eq!(c["id"], json!(url_id));
        assert_eq!(c["disable_until_ts"], json!(1));
        assert_eq!(c["original_media_uri"], Value::Null);
        assert_eq!(c["bank"]["name"], json!("B"));
        for k in ["signals", "metadata", "note"] {
            assert!(c.get(k).is_none(), "{k} absent in {c}");
        }
        let c = env
            .get(&format!("/c/bank/B/content/{url_id}?include_signals=true"))
            .await
            .json();
        assert_eq!(c["signals"], json!({"pdq": image_pdq}));
        // 26
        let r = env
            .post(
                &url,
                json!({"metadata": {"content_id": "ext-id-123",
                                    "content_uri": "https://example.com/item/123",
                                    "json": {"source": "test"}}}),
            )
            .await;
        let meta_id = r.json()["id"].as_i64().unwrap();
        let c = env
            .get(&format!("/c/bank/B/content/{meta_id}"))
            .await
            .json();
        assert_eq!(
            c["metadata"],
            json!({"content_id": "ext-id-123", "content_uri": "https://example.com/item/123",
                   "json": {"source": "test"}, "collab": null})
        );
        let c = env
            .get(&format!(
                "/c/bank/B/content/{meta_id}?include_metadata=false"
            ))
            .await
            .json();
        assert!(c.get("metadata").is_none());
        // 27
        assert!(env.get("/c/bank/NOPE/content/1").await.is_error(404));
        assert!(env.get("/c/bank/B/content/999999").await.is_error(404));
        assert_eq!(env.get("/c/bank/B/content/abc").await.status, 404);
        // 28
        let soon = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 365 * 86_400;
        let r = env
            .put(
                &format!("/c/bank/B/content/{id}"),
                json!({"disable_until_ts": soon}),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["disable_until_ts"].clone()),
            (200, json!(soon))
        );
        for bad in [
            json!(9_999_999_999i64),
            json!(-1),
            json!("abc"),
            Value::Null,
        ] {
            let r = env
                .put(
                    &format!("/c/bank/B/content/{id}"),
                    json!({"disable_until_ts": bad}),
                )
                .await;
            assert!(r.is_error(400), "{bad}: {}", r.text);
        }
        // 29
        let path = format!("/c/bank/B/content/{url_id}");
        env.put(&path, json!({"note": "Initial note"})).await;
        assert_eq!(env.get(&path).await.json()["note"], json!("Initial note"));
        env.put(&path, json!({"note": "Updated note"})).await;
        assert_eq!(env.get(&path).await.json()["note"], json!("Updated note"));
        env.put(&path, json!({"note": ""})).await;
        assert!(env.get(&path).await.json().get("note").is_none());
        // 30
        assert_eq!(env.delete(&path).await.json(), json!({"deleted": 1}));
        assert_eq!(env.delete(&path).await.json(), json!({"deleted": 0}));
        assert!(
            env.delete(&format!("/c/bank/NOPE/content/{url_id}"))
                .await
                .is_error(404)
        );
        // Deviation 9.11: an id of another bank is not found through this one.
        env.post("/c/banks", json!({"name": "OTHER"})).await;
        assert!(
            env.get(&format!("/c/bank/OTHER/content/{id}"))
                .await
                .is_error(404)
        );
        env.stop().await;
    }
}

/// 16 distinct benign PDQ hashes (pytx's example list is the same idea).
fn examples() -> Vec<String> {
    let mut v: Vec<String> = (1..16).map(vigil_testkit::seeded_pdq_hex).collect();
    v.push(PDQ_Z.to_string());
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching() {
    let image = photo(1);
    let image_pdq = pdq_of(&image);
    let media = media_server(HashMap::from([(
        "/image1.png".to_string(),
        (200, "image/png".to_string(), image.clone()),
    )]))
    .await;
    for env in envs("matching", config).await {
        // 31
        env.post("/c/banks", json!({"name": "TEST_BANK"})).await;
        let mut ids = HashMap::new();
        for h in examples() {
            let r = env
                .post("/c/bank/TEST_BANK/signal", json!({"pdq": h}))
                .await;
            ids.insert(h, r.json()["id"].as_i64().unwrap());
        }
        env.wait_pdq(16).await;
        let s = env.get("/m/index/status?signal_type=pdq").await.json();
        assert_eq!(
            (s["pdq"]["present"].clone(), s["pdq"]["size"].clone()),
            (json!(true), json!(16))
        );
        // 32
        let z = ids[PDQ_Z];
        let r = env
            .get(&format!("/m/lookup?signal_type=pdq&signal={PDQ_Z}"))
            .await;
        assert_eq!(
            r.json(),
            json!({"TEST_BANK": [{"bank_content_id": z, "distance": "0"}]})
        );
        // 33
        let fives = "5".repeat(64);
        assert_eq!(
            env.get(&format!("/m/lookup?signal_type=pdq&signal={fives}"))
                .await
                .json(),
            json!({})
        );
        // 34
        let r = env
            .get(&format!("/m/raw_lookup?signal_type=pdq&signal={PDQ_Z}"))
            .await;
        assert_eq!(r.json(), json!({"matches": [z]}));
        let r = env
            .get(&format!(
                "/m/raw_lookup?signal_type=pdq&signal={PDQ_Z}&include_distance=true"
            ))
            .await;
        assert_eq!(
            r.json(),
            json!({"matches": [{"bank_content_id": z, "distance": "0"}]})
        );
        // 35
        let r = env.get(&format!("/m/raw_lookup?signal={PDQ_Z}")).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()[0]["loc"], json!(["signal_type"]));
        let r = env
            .get(&format!(
                "/m/raw_lookup?signal_type=pdq&signal={PDQ_Z}&include_distance=maybe"
            ))
            .await;
        assert_eq!(r.status, 422);
        // 36
        assert!(
            env.get("/m/lookup?signal_type=nope&signal=x")
                .await
                .is_error(400)
        );
        assert!(
            env.get("/m/lookup?signal_type=pdq&signal=banana")
                .await
                .is_error(400)
        );
        assert!(env.get("/m/lookup?signal_type=pdq").await.is_error(400));
        // 37
        let mut abc = HashMap::new();
        for b in ["BANK_A", "BANK_B", "BANK_C"] {
            env.post("/c/banks", json!({"name": b})).await;
            let r = env
                .post(&format!("/c/bank/{b}/signal"), json!({"pdq": PDQ_A}))
                .await;
            abc.insert(b, r.json()["id"].as_i64().unwrap());
        }
        env.wait_pdq(19).await;
        let look = |banks: &str| format!("/m/lookup?signal_type=pdq&signal={PDQ_A}{banks}");
        let all = env.get(&look("")).await.json();
        for b in ["BANK_A", "BANK_B", "BANK_C"] {
            assert!(all.get(b).is_some(), "{b} in {all}");
        }
        let keys = |v: Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(env.get(&look("&banks=BANK_A")).await.json()),
            ["BANK_A"]
        );
        assert_eq!(
            keys(env.get(&look("&banks=BANK_A,BANK_C")).await.json()),
            ["BANK_A", "BANK_C"]
        );
        assert_eq!(
            env.get(&look("&banks=NON_EXISTENT_BANK")).await.json(),
            json!({})
        );
        let raw = |banks: &str| format!("/m/raw_lookup?signal_type=pdq&signal={PDQ_A}{banks}");
        let n = |v: Value| v["matches"].as_array().unwrap().len();
        assert_eq!(n(env.get(&raw("")).await.json()), 3);
        assert_eq!(n(env.get(&raw("&banks=BANK_A")).await.json()), 1);
        assert_eq!(n(env.get(&raw("&banks=BANK_A,BANK_C")).await.json()), 2);
        assert_eq!(n(env.get(&raw("&banks=NON_EXISTENT_BANK")).await.json()), 0);
        let r = env
            .get(&raw("&include_distance=true&banks=BANK_A,BANK_B"))
            .await
            .json();
        for m in r["matches"].as_array().unwrap() {
            assert!(
                m["bank_content_id"].is_i64() && m["distance"].is_string(),
                "{m}"
            );
        }
        // 38: ratio 0 drops a bank from /m/lookup (GET ignores bypass), not from raw_lookup.
        env.put("/c/bank/BANK_A", json!({"enabled_ratio": 0.0}))
            .await;
        env.settle().await;
        assert!(env.get(&look("")).await.json().get("BANK_A").is_none());
        assert!(
            env.get(&look("&bypass_coinflip=true"))
                .await
                .json()
                .get("BANK_A")
                .is_none()
        );
        assert_eq!(n(env.get(&raw("&banks=BANK_A")).await.json()), 1);
        // 39: a disabled item leaves /m/lookup, stays in raw_lookup; a past time re-enables it.
        let b_id = abc["BANK_B"];
        env.put(
            &format!("/c/bank/BANK_B/content/{b_id}"),
            json!({"disable_until_ts": 0}),
        )
        .await;
        env.settle().await;
        assert!(env.get(&look("")).await.json().get("BANK_B").is_none());
        assert_eq!(n(env.get(&raw("&banks=BANK_B")).await.json()), 1);
        env.put(
            &format!("/c/bank/BANK_B/content/{b_id}"),
            json!({"disable_until_ts": 1000}),
        )
        .await;
        env.settle().await;
        assert!(env.get(&look("")).await.json().get("BANK_B").is_some());
        // 40: same seed, same decision; and HMA's decision for seed "abc" (u = 0.772…).
        env.put("/c/bank/BANK_C", json!({"enabled_ratio": 0.5}))
            .await;
        env.settle().await;
        let first = env.get(&look("&seed=abc")).await.text;
        for _ in 0..10 {
            assert_eq!(env.get(&look("&seed=abc")).await.text, first);
        }
        assert!(
            serde_json::from_str::<Value>(&first)
                .unwrap()
                .get("BANK_C")
                .is_none()
        );
        // Seed "content-123" draws 0.952…: a ratio-0.96 bank takes part.
        env.put("/c/bank/BANK_C", json!({"enabled_ratio": 0.96}))
            .await;
        env.settle().await;
        assert!(
            env.get(&look("&seed=content-123"))
                .await
                .json()
                .get("BANK_C")
                .is_some()
        );
        // 41
        env.post("/c/banks", json!({"name": "IMG"})).await;
        let r = env
            .multipart("/c/bank/IMG/content", &[("photo", &image)], &[])
            .await;
        let img_id = r.json()["id"].as_i64().unwrap();
        env.wait_pdq(20).await;
        let r = env
            .get(&format!("/m/lookup?url=http://{media}/image1.png"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.json()["pdq"]["IMG"],
            json!([{"bank_content_id": img_id, "distance": "0"}])
        );
        let r = env
            .get(&format!(
                "/m/lookup?url=http://{media}/image1.png&signal_type=pdq"
            ))
            .await;
        assert_eq!(r.json()["IMG"][0]["bank_content_id"], json!(img_id));
        // 42
        let r = env.multipart("/m/lookup", &[("photo", &image)], &[]).await;
        assert_eq!(
            r.json()["pdq"]["IMG"][0]["bank_content_id"],
            json!(img_id),
            "{}",
            r.text
        );
        let r = env
            .multipart("/m/lookup?types=video_md5", &[("video", &image)], &[])
            .await;
        assert!(r.json()["video_md5"].is_object(), "{}", r.text);
        // A photo is no video: vpdq cannot hash it (400).
        let r = env.multipart("/m/lookup", &[("video", &image)], &[]).await;
        assert!(r.is_error(400), "{}", r.text);
        // 38, POST: bypass_coinflip lets the ratio-0 bank take part.
        env.post("/c/bank/BANK_A/signal", json!({"pdq": image_pdq}))
            .await;
        env.wait_pdq(21).await;
        let r = env
            .multipart("/m/lookup?bypass_coinflip=true", &[("photo", &image)], &[])
            .await;
        assert!(r.json()["pdq"].get("BANK_A").is_some(), "{}", r.text);
        let r = env.multipart("/m/lookup", &[("photo", &image)], &[]).await;
        assert!(r.json()["pdq"].get("BANK_A").is_none(), "{}", r.text);
        // 44
        let r = env.post("/m/compare", json!({"pdq": [CMP_1, CMP_2]})).await;
        assert_eq!(r.json(), json!({"pdq": [true, {"distance": 9}]}));
        for bad in [
            json!(["banana"]),
            json!({"pdq": "banana"}),
            json!({"pdq": []}),
            json!({"pdq": ["banana", "banana"]}),
            json!({"pdq": [CMP_1, CMP_2, CMP_1]}),
        ] {
            assert!(
                env.post("/m/compare", bad.clone()).await.is_error(400),
                "{bad}"
            );
        }
        assert_eq!(env.post("/m/compare", json!({})).await.json(), json!({}));
        // 45
        let s = env.get("/m/index/status").await.json();
        for t in ["pdq", "video_md5", "vpdq"] {
            for k in ["present", "built_to", "size"] {
                assert!(s[t].get(k).is_some(), "{t}.{k} in {s}");
            }
        }
        assert!(
            env.get("/m/index/status?signal_type=nope")
                .await
                .is_error(400)
        );
        // An allow-list bank (Vigil's false-positive control) suppresses the match.
        let allow = vigil_store::NewBank {
            kind: vigil_store::BankKind::Allow,
            ..vigil_store::NewBank::block("KNOWN_FP")
        };
        env.store.create_bank("test", &allow).await.unwrap();
        env.post("/c/bank/KNOWN_FP/signal", json!({"pdq": PDQ_Z}))
            .await;
        env.wait_pdq(22).await;
        assert_eq!(
            env.get(&format!("/m/lookup?signal_type=pdq&signal={PDQ_Z}"))
                .await
                .json(),
            json!({})
        );
        // Lookups that matched are in the audit log (written in batches, within moments).
        let mut audited = false;
        for _ in 0..100 {
            let audit = env.store.audit_log(0, 100_000).await.unwrap();
            audited = audit
                .iter()
                .any(|a| a.action == "match.lookup" && a.actor == "anonymous");
            if audited {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(audited, "no match.lookup entry in the audit log after 5 s");
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing() {
    let image = photo(2);
    let image_pdq = pdq_of(&image);
    let big = vec![0u8; 2048];
    let media = media_server(HashMap::from([
        (
            "/image1.png".to_string(),
            (200, "image/png".to_string(), image.clone()),
        ),
        ("/big".to_string(), (200, "image/png".to_string(), big)),
        (
            "/text".to_string(),
            (200, "text/plain".to_string(), b"hi".to_vec()),
        ),
    ]))
    .await;
    let cfg = || {
        let mut c = config();
        c.remote.max_bytes = 1024 * 1024;
        c
    };
    for env in envs("hashing", cfg).await {
        // 47
        let r = env
            .get(&format!("/h/hash?url=http://{media}/image1.png"))
            .await;
        assert_eq!(r.json(), json!({"pdq": image_pdq}), "{}", r.text);
        let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(&image));
        let r = env
            .get(&format!(
                "/h/hash?url=http://{media}/image1.png&content_type=video&types=video_md5"
            ))
            .await;
        assert_eq!(r.json(), json!({"video_md5": md5}));
        // Hashed as a video for vpdq too, a photo is a 400 naming the problem.
        let r = env
            .get(&format!(
                "/h/hash?url=http://{media}/image1.png&content_type=video"
            ))
            .await;
        assert!(r.is_error(400), "{}", r.text);
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains("cannot hash the video")
        );
        assert!(
            env.get(&format!("/h/hash?url=http://{media}/image1.png&types="))
                .await
                .is_error(400)
        );
        assert!(
            env.get(&format!("/h/hash?url=http://{media}/text"))
                .await
                .is_error(400)
        );
        // 48
        assert_eq!(env.get("/h/hash").await.status, 422);
        assert!(
            env.get("/h/hash?url=ftp://example.com/x")
                .await
                .is_error(400)
        );
        assert!(
            env.get("/h/hash?url=http://example.com:abc/")
                .await
                .is_error(400)
        );
        assert!(
            env.get(&format!("/h/hash?url=http://{media}/missing"))
                .await
                .is_error(400)
        );
        // SSRF: a loopback address not allow-listed is refused.
        let port = media.port();
        assert!(
            env.get(&format!("/h/hash?url=http://127.0.0.2:{port}/image1.png"))
                .await
                .is_error(400)
        );
        assert!(
            env.get(&format!("/h/hash?url=http://[::1]:{port}/image1.png"))
                .await
                .is_error(400)
        );
        // 50
        let r = env.multipart("/h/hash", &[("photo", &image)], &[]).await;
        assert_eq!(r.json(), json!({"pdq": image_pdq}));
        assert!(
            env.multipart("/h/hash", &[], &[("note", "x")])
                .await
                .is_error(400)
        );
        assert!(
            env.multipart("/h/hash", &[("file", &image)], &[])
                .await
                .is_error(400)
        );
        assert!(
            env.multipart("/h/hash", &[("photo", &image), ("video", &image)], &[])
                .await
                .is_error(400)
        );
        // A corrupt photo is a 400 naming the problem, and the server goes on.
        let r = env
            .multipart("/h/hash", &[("photo", b"\x89PNG\r\n\x1a\nbroken")], &[])
            .await;
        assert!(r.is_error(400), "{}", r.text);
        assert_eq!(env.get("/status").await.status, 200);
        // A low-quality photo (flat grey) hashes to "" (HMA 9.16).
        let flat = {
            let mut out = Vec::new();
            {
                let mut e = png::Encoder::new(&mut out, 64, 64);
                e.set_color(png::ColorType::Grayscale);
                e.write_header()
                    .unwrap()
                    .write_image_data(&[128u8; 64 * 64])
                    .unwrap();
            }
            out
        };
        assert_eq!(
            env.multipart("/h/hash", &[("photo", &flat)], &[])
                .await
                .json(),
            json!({"pdq": ""})
        );
        env.stop().await;
    }
    // 48: a download over the cap is 413 (Content-Length over it here).
    let cfg_small = || {
        let mut c = config();
        c.remote.max_bytes = 1024;
        c
    };
    for env in envs("hashing_cap", cfg_small).await {
        assert_eq!(
            env.get(&format!("/h/hash?url=http://{media}/big"))
                .await
                .status,
            413
        );
        env.stop().await;
    }
    // 49
    let cfg_hosts = || {
        let mut c = config();
        c.remote.allowed_hosts = vec!["example.com".into()];
        c
    };
    for env in envs("hashing_hosts", cfg_hosts).await {
        assert!(
            env.get("/h/hash?url=https://evil.com/x")
                .await
                .is_error(400)
        );
        assert!(
            env.get("/h/hash?url=https://example.com.evil.com/")
                .await
                .is_error(400)
        );
        env.stop().await;
    }
}

/// The fixtures' bridge photo hashes to HMA's own `PDQ_A` through the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_photo_hashes_as_hma() {
    let Some(dir) = vigil_testkit::fixtures("reference_photo_hashes_as_hma") else {
        return;
    };
    let bytes =
        std::fs::read(dir.join("threatexchange/pdq/data/bridge-mods/aaa-orig.jpg")).unwrap();
    let env = start(
        Store::open(&vigil_testkit::postgres::sqlite_database().url)
            .await
            .unwrap(),
        vigil_testkit::postgres::sqlite_database(),
        config(),
    )
    .await;
    let r = env.multipart("/h/hash", &[("photo", &bytes)], &[]).await;
    assert_eq!(r.json(), json!({"pdq": PDQ_A}));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_and_exchanges() {
    for env in envs("types_and_exchanges", config).await {
        // 57
        assert_eq!(
            env.get("/c/signal_type").await.json(),
            json!([{"enabled_ratio": 1.0, "name": "pdq"}, {"enabled_ratio": 1.0, "name": "video_md5"},
                   {"enabled_ratio": 1.0, "name": "vpdq"}])
        );
        assert_eq!(
            env.get("/c/content_type").await.json(),
            json!([{"enabled": true, "name": "photo"}, {"enabled": true, "name": "video"}])
        );
        // 58
        let s = env.get("/c/signal_type/index").await.json();
        for t in ["pdq", "video_md5", "vpdq"] {
            for k in [
                "db_size",
                "index_size",
                "index_out_of_date",
                "newest_db_item",
                "index_built_to",
            ] {
                assert!(s[t].get(k).is_some(), "{t}.{k}");
            }
        }
        assert!(
            env.get("/c/signal_type/index?signal_type=nope")
                .await
                .is_error(400)
        );
        // 9.7: the intended behaviour.
        assert_eq!(
            env.put("/c/signal_type/pdq", json!({"enabled_ratio": 1.0}))
                .await
                .status,
            204
        );
        assert!(
            env.put("/c/signal_type/nope", json!({"enabled_ratio": 1.0}))
                .await
                .is_error(400)
        );
        assert!(
            env.put("/c/signal_type/pdq", json!({"enabled_ratio": 2.0}))
                .await
                .is_error(400)
        );
        // 51, 52 (Vigil's exchange kinds)
        let apis = env.get("/c/exchanges/apis").await.json();
        assert!(apis.as_array().unwrap().contains(&json!("ncmec")));
        assert_eq!(
            env.get("/c/exchanges/api/file").await.json(),
            json!({"supports_authentification": false, "has_set_authentification": false})
        );
        assert!(env.get("/c/exchanges/api/nope").await.is_error(400));
        // 52
        let s = env.get("/c/exchanges/api/ncmec/schema").await.json();
        assert!(s["config_schema"]["fields"].is_array() && s["credentials_schema"].is_null());
        assert!(env.get("/c/exchanges/api/nope/schema").await.is_error(404));
        // 54
        assert_eq!(env.get("/c/exchanges").await.json(), json!([]));
        assert!(
            env.get("/c/exchange/NONEXISTENT_EXCHANGE/status")
                .await
                .is_error(404)
        );
        assert!(
            env.get("/c/exchange/NONEXISTENT_EXCHANGE")
                .await
                .is_error(404)
        );
        // 53: an exchange and its bank.
        let ncmec = json!({"base_url": "http://127.0.0.1:9/hashsharing", "user_env": "NCMEC_USER",
                           "password_env": "NCMEC_PASSWORD"});
        let r = env
            .post(
                "/c/exchanges",
                json!({"api": "ncmec", "bank": "FOO_EXCHANGE", "api_json": ncmec}),
            )
            .await;
        assert_eq!(
            (r.status, r.json()),
            (201, json!({"message": "Created successfully"})),
            "{}",
            r.text
        );
        assert!(
            env.get("/c/exchanges")
                .await
                .json()
                .as_array()
                .unwrap()
                .contains(&json!("FOO_EXCHANGE"))
        );
        assert!(env.get("/c/banks").await.text.contains("FOO_EXCHANGE"));
        let e = env.get("/c/exchange/FOO_EXCHANGE").await.json();
        assert_eq!(
            (e["api"].clone(), e["enabled"].clone(), e["name"].clone()),
            (json!("ncmec"), json!(true), json!("FOO_EXCHANGE"))
        );
        // 54
        let st = env.get("/c/exchange/FOO_EXCHANGE/status").await.json();
        for k in [
            "checkpoint_ts",
            "running_fetch_start_ts",
            "last_fetch_complete_ts",
            "last_fetch_succeeded",
            "up_to_date",
            "fetched_items",
        ] {
            assert!(st.get(k).is_some(), "{k} in {st}");
        }
        // 55 (and 9.9: a duplicate is 403, a leading digit 400)
        for (body, status) in [
            (
                json!({"api": "ncmec", "bank": "lower", "api_json": ncmec}),
                400,
            ),
            (json!({"api": "nope", "bank": "X", "api_json": ncmec}), 400),
            (json!({"api": "ncmec"}), 400),
            (json!({"api": "ncmec", "bank": "X", "api_json": []}), 400),
            (
                json!({"api": "ncmec", "bank": "X", "api_json": {"base_url": "ftp://x"}}),
                400,
            ),
            (
                json!({"api": "file", "bank": "X", "api_json": {"path": "/etc", "format": "plain"}}),
                400,
            ),
            (
                json!({"api": "ncmec", "bank": "9X", "api_json": ncmec}),
                400,
            ),
            (
                json!({"api": "ncmec", "bank": "FOO_EXCHANGE", "api_json": ncmec}),
                403,
            ),
        ] {
            assert!(
                env.post("/c/exchanges", body.clone())
                    .await
                    .is_error(status),
                "{body}"
            );
        }
        assert!(
            env.get("/c/bank/X").await.is_error(404),
            "a refused exchange leaves no bank"
        );
        assert!(
            env.put("/c/exchange/FOO_EXCHANGE", json!({"enabled": false}))
                .await
                .is_error(400)
        );
        assert_eq!(
            env.put("/c/exchange/FOO_EXCHANGE", json!({"enabled": true}))
                .await
                .json()["api"],
            json!("ncmec")
        );
        // 56
        let r = env.delete("/c/exchange/FOO_EXCHANGE").await;
        assert_eq!(r.json(), json!({"message": "Exchange deleted"}));
        assert!(env.get("/c/bank/FOO_EXCHANGE").await.is_error(404));
        assert!(env.get("/c/exchange/FOO_EXCHANGE").await.is_error(404));
        assert_eq!(env.delete("/c/exchange/TEST_EXCHANGE").await.status, 200);
        env.stop().await;
    }
}

/// The background fetcher (HMA's TASK_FETCHER) fetches every exchange at its interval and
/// records how each fetch ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_fetcher_fetches() {
    // An NCMEC "server" on loopback that knows no route: every fetch fails, and says so.
    let fake = media_server(HashMap::new()).await;
    let cfg = || ServerConfig {
        fetch_every: Some(Duration::from_millis(100)),
        ..config()
    };
    for env in envs("the_background_fetcher_fetches", cfg).await {
        let r = env
            .post(
                "/c/exchanges",
                json!({"api": "ncmec", "bank": "FETCHED",
                       "api_json": {"base_url": format!("http://{fake}/hashsharing")}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let mut st = Value::Null;
        for _ in 0..300 {
            st = env.get("/c/exchange/FETCHED/status").await.json();
            if !st["last_fetch_complete_ts"].is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(st["last_fetch_succeeded"], json!(false), "{st}");
        assert!(st["last_fetch_complete_ts"].is_i64(), "{st}");
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_switched_off() {
    // 43, 59
    let no_hasher = || {
        let mut c = config();
        c.parts = Parts {
            hasher: false,
            ..Parts::default()
        };
        c
    };
    let image = photo(3);
    for env in envs("parts_switched_off", no_hasher).await {
        assert_eq!(
            env.get("/h/hash?url=http://example.com/x").await.status,
            404
        );
        assert!(
            env.get("/m/lookup?url=http://example.com/x")
                .await
                .is_error(403)
        );
        assert!(
            env.multipart("/m/lookup", &[("file", &image)], &[])
                .await
                .is_error(403)
        );
        env.stop().await;
    }
    let only_hasher = || {
        let mut c = config();
        c.parts = Parts {
            hasher: true,
            matcher: false,
            curator: false,
        };
        c
    };
    for env in envs("parts_switched_off_2", only_hasher).await {
        assert_eq!(env.get("/c/banks").await.status, 404);
        assert_eq!(
            env.get(&format!("/m/lookup?signal_type=pdq&signal={PDQ_A}"))
                .await
                .status,
            404
        );
        assert_eq!(env.get("/status").await.status, 200);
        env.stop().await;
    }
}

/// 2, 3: a matcher whose refreshes stopped succeeding past the limit is stale; the liveness
/// route does not care; a limit of 0 turns the check off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_a_stale_index() {
    let stale = || ServerConfig {
        refresh_every: Duration::from_secs(3600),
        stale_after: Duration::from_millis(1),
        ..config()
    };
    let db = vigil_testkit::postgres::sqlite_database();
    let store = Store::open(&db.url).await.unwrap();
    let server = Server::start(store.clone(), stale()).await.unwrap();
    let base = format!("http://{}", server.addr());
    while !server.state().loaded() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http.get(format!("{base}/status")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.text().await.unwrap(), "INDEX-STALE");
    let r = http
        .get(format!("{base}/status/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "I-AM-ALIVE");
    server.shutdown().await;
    let off = ServerConfig {
        stale_after: Duration::ZERO,
        ..stale()
    };
    let server = Server::start(store.clone(), off).await.unwrap();
    while !server.state().loaded() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = http
        .get(format!("http://{}/status", server.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    server.shutdown().await;
    store.close().await;
}

/// The `vpdq` the server should compute for a video (the library path; vPDQ itself is checked
/// against Meta's reference in vigil-video, and through this API against the fixtures below).
fn vpdq_of(bytes: &[u8]) -> String {
    let h = vigil_video::hash_bytes(
        bytes,
        "test video",
        &vigil_server::config::default_video_options(),
    )
    .unwrap();
    vigil_video::text::to_pytx_json(&h.frames)
}

fn md5_of(bytes: &[u8]) -> String {
    hex::encode(<md5::Md5 as md5::Digest>::digest(bytes))
}

fn url_enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// python-threatexchange's comparison of two vpdq signals (the query first).
fn vpdq_compare(query: &str, stored: &str) -> vigil_video::matching::Comparison {
    let f = |s: &str| vigil_video::text::from_pytx_json(s).unwrap();
    vigil_video::matching::compare(
        &f(query),
        &f(stored),
        &vigil_video::matching::MatchParams::default(),
    )
}

/// HMA's `distance` of a vpdq match: `VPDQSimilarityInfo.pretty_str()`.
fn vpdq_distance(c: &vigil_video::matching::Comparison) -> String {
    format!("{:.0}%[{:.0}%]", c.query_pct, c.compared_pct)
}

/// Videos through the HMA routes (issue 6): `/h/hash` gives `video_md5` and `vpdq`; a video added
/// to a bank stores both; `/m/lookup` (upload, URL, signal) finds the bank's video from a cut of
/// it, with HMA's `"<query %>%[<compared %>%]"` distance, and not from an unrelated video;
/// `/m/raw_lookup`, `/m/compare` and `/c/bank/<b>/signal` take vpdq signals; a quarantine hides
/// the video from lookups but not from `raw_lookup`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video() {
    let Some(v) = videos::videos("video") else {
        return;
    };
    let (full, cut, other) = (vpdq_of(&v.full), vpdq_of(&v.cut), vpdq_of(&v.other));
    let c = vpdq_compare(&cut, &full);
    assert!(c.is_match, "the cut is a copy of part of the video: {c:?}");
    assert!(!vpdq_compare(&other, &full).is_match);
    let cut_distance = vpdq_distance(&c);
    let media = media_server(HashMap::from([
        (
            "/full.mp4".to_string(),
            (200, "video/mp4".to_string(), v.full.clone()),
        ),
        (
            "/cut.mp4".to_string(),
            (200, "video/mp4".to_string(), v.cut.clone()),
        ),
    ]))
    .await;
    for env in envs("video", config).await {
        let db = env.db;
        // Hashing: an upload and a URL.
        let r = env.multipart("/h/hash", &[("video", &v.full)], &[]).await;
        assert_eq!(
            r.json(),
            json!({"video_md5": md5_of(&v.full), "vpdq": full}),
            "{db}"
        );
        let r = env
            .get(&format!("/h/hash?url=http://{media}/cut.mp4"))
            .await;
        assert_eq!(r.json(), json!({"video_md5": md5_of(&v.cut), "vpdq": cut}));
        let r = env
            .get(&format!("/h/hash?url=http://{media}/cut.mp4&types=vpdq"))
            .await;
        assert_eq!(r.json(), json!({"vpdq": cut}));
        // A corrupt video is a 400 naming the upload and the problem; the server goes on.
        let r = env
            .multipart(
                "/h/hash",
                &[("video", b"\0\0\0\x18ftypisom not a video")],
                &[],
            )
            .await;
        assert!(r.is_error(400), "{}", r.text);
        let msg = r.json()["message"].as_str().unwrap().to_string();
        assert!(msg.starts_with("cannot hash the video: video"), "{msg}");
        assert_eq!(env.get("/status").await.status, 200);

        // A video added to a bank keeps both signals.
        env.post("/c/banks", json!({"name": "VIDEOS"})).await;
        let r = env
            .multipart("/c/bank/VIDEOS/content", &[("video", &v.full)], &[])
            .await;
        let id = r.json()["id"].as_i64().unwrap();
        assert_eq!(
            r.json()["signals"],
            json!({"video_md5": md5_of(&v.full), "vpdq": full})
        );
        env.wait_size("vpdq", 1).await;
        let got = env
            .get(&format!("/c/bank/VIDEOS/content/{id}?include_signals=true"))
            .await
            .json();
        assert_eq!(got["signals"]["vpdq"], json!(full));

        // Lookups: the cut finds it by vpdq only; the video itself by both; an unrelated video
        // finds nothing.
        let found_cut = json!({"VIDEOS": [{"bank_content_id": id, "distance": cut_distance}]});
        let r = env.multipart("/m/lookup", &[("video", &v.cut)], &[]).await;
        assert_eq!(
            r.json(),
            json!({"video_md5": {}, "vpdq": found_cut}),
            "{db}"
        );
        let r = env.multipart("/m/lookup", &[("video", &v.full)], &[]).await;
        assert_eq!(
            r.json(),
            json!({"video_md5": {"VIDEOS": [{"bank_content_id": id, "distance": "-"}]},
                   "vpdq": {"VIDEOS": [{"bank_content_id": id, "distance": "100%[100%]"}]}})
        );
        let r = env
            .multipart("/m/lookup", &[("video", &v.other)], &[])
            .await;
        assert_eq!(r.json(), json!({"video_md5": {}, "vpdq": {}}));
        let r = env
            .get(&format!(
                "/m/lookup?url=http://{media}/cut.mp4&signal_type=vpdq"
            ))
            .await;
        assert_eq!(r.json(), found_cut);
        let r = env
            .get(&format!(
                "/m/lookup?signal_type=vpdq&signal={}",
                url_enc(&cut)
            ))
            .await;
        assert_eq!(r.json(), found_cut);
        let r = env
            .get(&format!(
                "/m/lookup?signal_type=vpdq&signal={}",
                url_enc(&other)
            ))
            .await;
        assert_eq!(r.json(), json!({}));

        // raw_lookup, compare, and a vpdq signal added by itself.
        let r = env
            .get(&format!(
                "/m/raw_lookup?signal_type=vpdq&signal={}",
                url_enc(&cut)
            ))
            .await;
        assert_eq!(r.json(), json!({"matches": [id]}));
        let r = env
            .get(&format!(
                "/m/raw_lookup?signal_type=vpdq&signal={}&include_distance=true",
                url_enc(&cut)
            ))
            .await;
        assert_eq!(
            r.json(),
            json!({"matches": [{"bank_content_id": id, "distance": cut_distance}]})
        );
        for bad in ["[]", "nope", "[\"00,100,0.0\"]"] {
            let r = env
                .get(&format!(
                    "/m/raw_lookup?signal_type=vpdq&signal={}",
                    url_enc(bad)
                ))
                .await;
            assert!(r.is_error(400), "{bad}: {}", r.text);
        }
        let r = env.post("/m/compare", json!({"vpdq": [cut, full]})).await;
        assert_eq!(
            r.json(),
            json!({"vpdq": [true, {"query_match_percent": c.query_pct,
                                   "compared_match_percent": c.compared_pct}]})
        );
        let o = vpdq_compare(&other, &full);
        let r = env.post("/m/compare", json!({"vpdq": [other, full]})).await;
        assert_eq!(
            r.json(),
            json!({"vpdq": [false, {"query_match_percent": o.query_pct,
                                    "compared_match_percent": o.compared_pct}]})
        );
        let r = env
            .post("/c/bank/VIDEOS/signal", json!({"vpdq": other}))
            .await;
        let other_id = r.json()["id"].as_i64().unwrap();
        env.wait_size("vpdq", 2).await;
        let r = env
            .multipart("/m/lookup", &[("video", &v.other)], &[])
            .await;
        assert_eq!(
            r.json(),
            json!({"video_md5": {},
                   "vpdq": {"VIDEOS": [{"bank_content_id": other_id, "distance": "100%[100%]"}]}})
        );

        // A quarantined item stops matching; raw_lookup still reports it.
        let r = env
            .put(
                &format!("/c/bank/VIDEOS/content/{id}"),
                json!({"disable_until_ts": 0}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        env.settle().await;
        let r = env.multipart("/m/lookup", &[("video", &v.cut)], &[]).await;
        assert_eq!(r.json(), json!({"video_md5": {}, "vpdq": {}}), "{db}");
        let r = env
            .get(&format!(
                "/m/raw_lookup?signal_type=vpdq&signal={}",
                url_enc(&cut)
            ))
            .await;
        assert_eq!(r.json(), json!({"matches": [id]}));
        env.stop().await;
    }
}

/// The fixtures' sample clips through the API: `/h/hash` gives for a clip exactly the vpdq
/// signal python-threatexchange (and so HMA) makes from the reference's hashes at 1 frame/s
/// (`vpdq-expected/*-1fps.txt`, from `vpdq.computeHash`), and a bank holding the original chair
/// clip is found by its edits with HMA's distances (worked out with python-threatexchange's
/// rules from the reference hashes), and not by an unrelated clip or an edit too far off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_videos_hash_and_match_as_hma() {
    let Some(dir) = vigil_testkit::fixtures("reference_videos_hash_and_match_as_hma") else {
        return;
    };
    let clip = |n: &str| {
        std::fs::read(dir.join(format!("threatexchange/tmk/sample-videos/{n}.mp4"))).unwrap()
    };
    // What python-threatexchange's `vpdq_to_json` writes for the reference's frames.
    let expected = |n: &str| {
        let text =
            std::fs::read_to_string(dir.join(format!("vpdq-expected/{n}-1fps.txt"))).unwrap();
        let items: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let ts: f64 = f[3].parse().unwrap();
                format!(
                    "\"{},{},{}\"",
                    f[2],
                    f[1],
                    vigil_video::text::format_py_precision(ts, 3)
                )
            })
            .collect();
        format!("[{}]", items.join(", "))
    };
    let db = vigil_testkit::postgres::sqlite_database();
    let env = start(Store::open(&db.url).await.unwrap(), db, config()).await;
    let orig = clip("chair-orig-22-sd-bar");
    let r = env.multipart("/h/hash", &[("video", &orig)], &[]).await;
    assert_eq!(
        r.json(),
        json!({"video_md5": md5_of(&orig), "vpdq": expected("chair-orig-22-sd-bar")})
    );
    let doorknob = clip("doorknob-hd-no-bar");
    let r = env.multipart("/h/hash", &[("video", &doorknob)], &[]).await;
    assert_eq!(r.json()["vpdq"], json!(expected("doorknob-hd-no-bar")));

    env.post("/c/banks", json!({"name": "CHAIRS"})).await;
    let r = env
        .multipart("/c/bank/CHAIRS/content", &[("video", &orig)], &[])
        .await;
    let id = r.json()["id"].as_i64().unwrap();
    env.wait_size("vpdq", 1).await;
    for (name, want) in [
        // All 21 frames of the cut have a partner; 22 of the original's 23 do.
        ("chair-20-sd-bar", Some("100%[96%]")),
        ("chair-22-sd-sepia-bar", Some("100%[100%]")),
        ("chair-22-with-small-logo-bar", Some("100%[100%]")),
        ("chair-19-sd-bar", None),
        ("chair-22-with-large-logo-bar", None),
        ("doorknob-hd-no-bar", None),
        ("pattern-sd-grey-bar", None),
    ] {
        let r = env
            .multipart("/m/lookup?types=vpdq", &[("video", &clip(name))], &[])
            .await;
        let found = match want {
            Some(d) => json!({"CHAIRS": [{"bank_content_id": id, "distance": d}]}),
            None => json!({}),
        };
        assert_eq!(r.json(), json!({ "vpdq": found }), "{name}");
    }
    env.stop().await;
}
