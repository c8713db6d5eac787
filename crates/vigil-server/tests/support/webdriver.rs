//! A WebDriver client (the W3C protocol, enough for the UI tests): chromedriver on a free
//! loopback port driving a headless Chromium. Shared by `tests/ui.rs`, `tests/cases_ui.rs` and
//! `tests/cases_map_ui.rs`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) struct Driver {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`.
    session: String,
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

impl Driver {
    /// [`Driver::start`] for test `what`: `None` (after printing that it is skipped) when no
    /// browser can be had, a panic instead when `VIGIL_REQUIRE_BROWSER=1` (CI).
    pub(crate) async fn start_or_skip(what: &str) -> Option<Driver> {
        let required = std::env::var("VIGIL_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        match Driver::start().await {
            Ok(d) => Some(d),
            Err(why) if required => panic!("{what}: {why} (VIGIL_REQUIRE_BROWSER=1)"),
            Err(why) => {
                println!("SKIPPED {what}: {why}");
                None
            }
        }
    }

    /// Starts chromedriver on a free loopback port and a headless Chromium session; `Err`
    /// says why it could not.
    pub(crate) async fn start() -> Result<Driver, String> {
        let driver = find_program(&["chromedriver"]).ok_or("chromedriver is not installed")?;
        let chrome = find_program(&["chromium", "chromium-browser", "google-chrome"])
            .ok_or("chromium is not installed")?;
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            l.local_addr().map_err(|e| e.to_string())?.port()
        };
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", driver.display()))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut d = Driver {
            http,
            session: String::new(),
            child,
        };
        let started = Instant::now();
        loop {
            if let Ok(r) = d.http.get(format!("{base}/status")).send().await
                && let Ok(v) = json_of(r).await
                && v["value"]["ready"] == json!(true)
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("chromedriver did not become ready in 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chrome,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-proxy-server",
                         "--window-size=1280,1000"],
            },
        }}});
        let (status, v) = d.raw("POST", &format!("{base}/session"), Some(caps)).await;
        if status != 200 {
            return Err(format!("creating a browser session: {v}"));
        }
        let id = v["sessionId"].as_str().ok_or("no session id")?;
        d.session = format!("{base}/session/{id}");
        Ok(d)
    }

    pub(crate) async fn raw(&self, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), url);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await.expect("chromedriver answers");
        let status = r.status().as_u16();
        let v = json_of(r).await.unwrap_or(Value::Null);
        (status, v["value"].clone())
    }

    /// A command of this session; panics on a WebDriver error.
    pub(crate) async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self
            .raw(method, &format!("{}{path}", self.session), body)
            .await;
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    pub(crate) async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub(crate) async fn find_all(&self, css: &str) -> Vec<String> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_string())
            .collect()
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    pub(crate) async fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            if started.elapsed() > Duration::from_secs(10) {
                let url = self.url().await;
                let html = self.exec("return document.body.innerHTML", json!([])).await;
                panic!("no element {css:?} at {url}: {html}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn text(&self, el: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub(crate) async fn text_of(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.text(&el).await
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})))
            .await;
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})))
            .await;
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Chooses a file in a file input.
    pub(crate) async fn choose_file(&self, css: &str, path: &Path) {
        let el = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": path.display().to_string() })),
        )
        .await;
    }

    pub(crate) async fn exec(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits until the page's URL path is `path`.
    pub(crate) async fn wait_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let url = self.url().await;
            if url.split('?').next().is_some_and(|u| u.ends_with(path)) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still at {url}, waiting for {path}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The value of a cookie the browser holds (HttpOnly ones too).
    pub(crate) async fn cookie(&self, name: &str) -> Option<Value> {
        let (status, v) = self
            .raw("GET", &format!("{}/cookie/{name}", self.session), None)
            .await;
        (status == 200).then_some(v)
    }

    /// Whether a JavaScript dialog (an `alert`) is open.
    pub(crate) async fn alert_open(&self) -> bool {
        let (status, _) = self
            .raw("GET", &format!("{}/alert/text", self.session), None)
            .await;
        status == 200
    }

    /// The browser console's entries since the last call (chromedriver's log endpoint):
    /// `(level, message)`, e.g. `("SEVERE", "… Refused to apply inline style …")`.
    pub(crate) async fn console(&self) -> Vec<(String, String)> {
        let (status, v) = self
            .raw(
                "POST",
                &format!("{}/se/log", self.session),
                Some(json!({"type": "browser"})),
            )
            .await;
        assert_eq!(status, 200, "reading the browser console: {v}");
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or("").to_string(),
                            e["message"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Presses and releases a key (a W3C key code such as `"\u{E014}"`, ArrowRight) in the
    /// focused element.
    pub(crate) async fn press(&self, key: &str) {
        self.cmd(
            "POST",
            "/actions",
            Some(
                json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]}),
            ),
        )
        .await;
        self.cmd("DELETE", "/actions", None).await;
    }

    pub(crate) async fn quit(self) {
        let _ = self.raw("DELETE", &self.session, None).await;
    }
}

pub(crate) async fn json_of(r: reqwest::Response) -> Result<Value, String> {
    let text = r.text().await.map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Adds a UI user `name` with `role` and `password` (argon2-hashed as the server keeps it): the
/// accounts the browser tests log in with.
pub(crate) async fn add_ui_user(
    store: &vigil_store::Store,
    name: &str,
    role: &str,
    password: &str,
) {
    let phc = vigil_server::ui::hash_password(password).unwrap();
    store.add_user("test", name, role, &phc).await.unwrap();
}
