//! What's measured: the case map at the registry's target size, through the real server on
//! loopback. The demo generator makes the data set of the `vigil-cases` criterion bench
//! (19,000 incidents a year for five years, about 104,000 incidents, 30 districts), which is
//! saved in a fresh SQLite store with the demo's district boundaries and population figures.
//! Then:
//!
//! * (a) `GET /api/v1/cases/map` as an analyst's API key, without and with `points=1`
//!   (displaced points), `REPEAT` times each: wall time of the whole answer (sent and read);
//! * (b) the page `/ui/cases/map` in headless Chromium (chromedriver), logged in as an
//!   analyst, `REPEAT` loads: from navigation start (Navigation Timing) to the page's own
//!   marker `window.vigilMapDrawn`, set when Leaflet has drawn the polygons and the table;
//!   with the response end, DOMContentLoaded and load beside it; and the time from turning
//!   the density layer on to its points drawn.
//!
//! Prints the median, min and max of each, and the sizes. Run with `bench/cases_map.sh`, or:
//! `cargo run --release -p vigil-server --example cases_map_bench` (env: PER_YEAR, default
//! 19000; REPEAT, default 7; BROWSER=0 to skip (b)).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vigil_cases::demo::{self, DemoOptions};
use vigil_server::{Server, ServerConfig};
use vigil_store::Store;

#[path = "../tests/support/webdriver.rs"]
mod webdriver;

const PASSWORD: &str = "bench password 123";

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn stats(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    println!(
        "{name:<44} median {median:>8.1} ms   min {:>8.1}   max {:>8.1}   (n = {})",
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let per_year = env_num("PER_YEAR", 19_000);
    let repeat = env_num("REPEAT", 7).max(1);
    let browser = std::env::var("BROWSER").map_or(true, |v| v != "0");

    let t = Instant::now();
    let d = demo::generate(&DemoOptions {
        per_year,
        ..Default::default()
    });
    let with_points = d
        .incidents
        .iter()
        .filter(|i| i.area.point.is_some())
        .count();
    eprintln!(
        "data set: {} incidents ({} with a point), {} districts, generated in {:.1?}",
        d.incidents.len(),
        with_points,
        d.boundaries.areas.len(),
        t.elapsed()
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = dir.path().join("bench.db").display().to_string();
    let store = Store::open(&url).await.expect("the store");
    let t = Instant::now();
    store.save_case_areas("bench", &d.areas).await.unwrap();
    store.save_incidents(&d.incidents, "bench").await.unwrap();
    store
        .save_boundaries(&d.boundaries, 2, "demo", "bench")
        .await
        .unwrap();
    store
        .save_population(&demo::population_table(&d), "demo", "bench")
        .await
        .unwrap();
    eprintln!("saved into SQLite in {:.1?}", t.elapsed());
    let (secret, hash) = vigil_server::auth::new_key();
    store
        .add_api_key("bench", "bench-admin", "admin", &hash)
        .await
        .unwrap();
    let phc = vigil_server::ui::hash_password(PASSWORD).unwrap();
    store
        .add_user("bench", "alice", "admin", &phc)
        .await
        .unwrap();
    let server = Server::start(
        store.clone(),
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..ServerConfig::default()
        },
    )
    .await
    .expect("the server");
    let base = format!("http://{}", server.addr());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    // (a) The API.
    println!(
        "cases map, {} incidents, {} districts, {} with a point",
        d.incidents.len(),
        d.boundaries.areas.len(),
        with_points
    );
    for (label, path) in [
        ("GET /api/v1/cases/map", "/api/v1/cases/map"),
        (
            "GET /api/v1/cases/map?points=1",
            "/api/v1/cases/map?points=1",
        ),
    ] {
        let mut times = Vec::new();
        let mut size = 0;
        let mut points = 0;
        // One warm-up (first use makes the displacement key).
        for i in 0..=repeat {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{path}"))
                .header("authorization", format!("Bearer {secret}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let body = r.bytes().await.unwrap();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            if i > 0 {
                times.push(ms);
            }
            size = body.len();
            let v: Value = serde_json::from_slice(&body).unwrap();
            points = v["vigil"]["points"]["sent"].as_u64().unwrap_or(0);
        }
        stats(label, times);
        println!("{:<44} {size} bytes, {points} displaced points", "");
    }

    // (b) The page in headless Chromium.
    if browser {
        match webdriver::Driver::start().await {
            Err(why) => println!("page load: skipped ({why})"),
            Ok(dr) => {
                page_load(&dr, &base, repeat).await;
                dr.quit().await;
            }
        }
    }
    server.shutdown().await;
    store.close().await;
}

async fn wait_for(dr: &webdriver::Driver, script: &str) -> Value {
    let started = Instant::now();
    loop {
        let v = dr.exec(script, json!([])).await;
        if !v.is_null() {
            return v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "waited a minute for {script}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn page_load(dr: &webdriver::Driver, base: &str, repeat: usize) {
    dr.goto(&format!("{base}/ui/login")).await;
    dr.type_into("#name", "alice").await;
    dr.type_into("#password", PASSWORD).await;
    dr.click("#login").await;
    dr.wait_path("/ui").await;
    let (mut drawn, mut response, mut dcl, mut load, mut pts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut html = 0.0;
    // One warm-up load (Leaflet into the browser's cache, as for a returning user).
    for i in 0..=repeat {
        dr.goto(&format!("{base}/ui/cases/map")).await;
        let v = wait_for(
            dr,
            "if (window.vigilMapDrawn === undefined) return null; \
             const n = performance.getEntriesByType('navigation')[0]; \
             if (!n || !n.loadEventEnd) return null; \
             return [window.vigilMapDrawn, n.responseEnd, n.domContentLoadedEventEnd, \
             n.loadEventEnd, n.transferSize, \
             document.querySelectorAll('.leaflet-overlay-pane svg path.vigil-area').length]",
        )
        .await;
        assert!(v[5].as_u64().unwrap() > 0, "no polygons drawn: {v}");
        // The density layer: from the click to its points drawn.
        let t0 = dr
            .exec(
                "window.vigilMapDrawn = undefined; const t = performance.now(); \
                 document.getElementById('show-points').click(); return t",
                json!([]),
            )
            .await
            .as_f64()
            .unwrap();
        let t1 = wait_for(
            dr,
            "const c = document.querySelector('canvas.vigil-density'); \
             return c && c.dataset.points && window.vigilMapDrawn !== undefined ? \
             performance.now() : null",
        )
        .await
        .as_f64()
        .unwrap();
        if i > 0 {
            drawn.push(v[0].as_f64().unwrap());
            response.push(v[1].as_f64().unwrap());
            dcl.push(v[2].as_f64().unwrap());
            load.push(v[3].as_f64().unwrap());
            pts.push(t1 - t0);
            html = v[4].as_f64().unwrap_or(0.0);
        }
    }
    stats("page: navigation start → polygons drawn", drawn);
    stats("page: navigation start → HTML received", response);
    stats("page: navigation start → DOMContentLoaded", dcl);
    stats("page: navigation start → load", load);
    stats("page: density layer on → points drawn", pts);
    println!("{:<44} HTML transfer {html:.0} bytes", "");
}
