//! The case map page in a real headless Chromium (through chromedriver, `support/webdriver.rs`),
//! on the hand-made 3 × 3 grid of `support/map_fixture.rs` (its figures are tabled in
//! `tests/cases_map.rs`): the page loads with no console error (a Content-Security-Policy
//! violation included), Leaflet draws the nine area polygons and the Gi* outlines, the table
//! under the map shows the expected counts, moving the time slider refetches and changes them,
//! the analyst's density layer of displaced points draws, and a viewer sees withheld areas
//! hatched and no point layer.
//!
//! Without Debian's `chromium` and `chromium-driver` it prints `SKIPPED cases map browser test:
//! …` and passes, unless `VIGIL_REQUIRE_BROWSER=1` (CI), when it fails.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vigil_cases::geo::{GeoOptions, parse_boundaries};
use vigil_server::{Server, ServerConfig};
use vigil_store::Store;

#[path = "support/webdriver.rs"]
mod webdriver;
use webdriver::Driver;

#[path = "support/map_fixture.rs"]
mod map_fixture;

const PASSWORD: &str = "correct horse battery staple";
const VIEWER_PASSWORD: &str = "viewer password 123";
const ARROW_LEFT: &str = "\u{E012}";
const ARROW_RIGHT: &str = "\u{E014}";

async fn login(d: &Driver, base: &str, name: &str, password: &str) {
    d.goto(&format!("{base}/ui/login")).await;
    d.type_into("#name", name).await;
    d.type_into("#password", password).await;
    d.click("#login").await;
    d.wait_path("/ui").await;
}

/// Waits until the map has been drawn `n` times (`#map[data-drawn]`).
async fn drawn(d: &Driver, n: u32) {
    let started = Instant::now();
    loop {
        let v = d
            .exec(
                "const m = document.getElementById('map'); return m ? m.dataset.drawn || null : null",
                json!([]),
            )
            .await;
        if v.as_str().and_then(|s| s.parse::<u32>().ok()) >= Some(n) {
            return;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let status = d
                .exec(
                    "return document.getElementById('map-status').textContent",
                    json!([]),
                )
                .await;
            panic!("the map was not drawn {n} time(s): {v} (status {status})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn count(d: &Driver, css: &str) -> usize {
    d.exec(
        "return document.querySelectorAll(arguments[0]).length",
        json!([css]),
    )
    .await
    .as_u64()
    .unwrap() as usize
}

/// The incidents cell of each area in the table, by code.
async fn table(d: &Driver) -> Vec<(String, String)> {
    d.exec(
        "return Array.from(document.querySelectorAll('#areas tbody tr')).map(tr => \
         [tr.dataset.code, tr.querySelector('td.incidents').textContent])",
        json!([]),
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .map(|r| {
        (
            r[0].as_str().unwrap().to_string(),
            r[1].as_str().unwrap().to_string(),
        )
    })
    .collect()
}

fn cell<'a>(t: &'a [(String, String)], code: &str) -> &'a str {
    &t.iter().find(|(c, _)| c == code).unwrap().1
}

/// Console entries at level SEVERE (errors, CSP violations), favicon misses aside.
async fn errors(d: &Driver) -> Vec<String> {
    d.console()
        .await
        .into_iter()
        .filter(|(level, m)| level == "SEVERE" && !m.contains("favicon.ico"))
        .map(|(_, m)| m)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_page_in_headless_chromium() {
    let Some(d) = Driver::start_or_skip("cases map browser test").await else {
        return;
    };
    let db = vigil_testkit::postgres::sqlite_database();
    let store = Store::open(&db.url).await.unwrap();
    webdriver::add_ui_user(&store, "alice", "admin", PASSWORD).await;
    webdriver::add_ui_user(&store, "victor", "viewer", VIEWER_PASSWORD).await;
    store
        .save_case_areas("test", &map_fixture::areas())
        .await
        .unwrap();
    store
        .save_incidents(&map_fixture::incidents(), "test")
        .await
        .unwrap();
    let b = parse_boundaries(
        &map_fixture::grid_geojson(),
        "grid",
        &GeoOptions::default(),
        None,
    )
    .unwrap();
    store.save_boundaries(&b, 2, "grid", "test").await.unwrap();
    store
        .save_population(&map_fixture::population(), "grid", "test")
        .await
        .unwrap();
    let server = Server::start(
        store.clone(),
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            refresh_every: Duration::from_millis(50),
            ..ServerConfig::default()
        },
    )
    .await
    .unwrap();
    let base = format!("http://{}", server.addr());

    // The analyst: nine polygons in Leaflet's overlay pane, the table's counts, no error.
    login(&d, &base, "alice", PASSWORD).await;
    let _ = d.console().await;
    d.goto(&format!("{base}/ui/cases/map")).await;
    drawn(&d, 1).await;
    assert_eq!(
        count(&d, ".leaflet-overlay-pane svg path.vigil-area").await,
        9,
        "Leaflet drew the nine districts"
    );
    assert_eq!(
        count(&d, "path.vigil-suppressed").await,
        0,
        "an analyst's areas are all shown"
    );
    // Gi* outlines at 95%: D11 hot, D32 and D33 cold (D12's 90% is not outlined).
    assert_eq!(count(&d, "path.vigil-hot").await, 3);
    assert_eq!(count(&d, "path.vigil-hot_95").await, 1);
    assert_eq!(count(&d, "path.vigil-cold_95").await, 2);
    let t = table(&d).await;
    let want = [
        ("D11", "12"),
        ("D12", "8"),
        ("D13", "0"),
        ("D21", "7"),
        ("D22", "1"),
        ("D23", "2"),
        ("D31", "1"),
        ("D32", "0"),
        ("D33", "2"),
    ];
    for (code, n) in want {
        assert_eq!(cell(&t, code), n, "{code}: {t:?}");
    }
    assert_eq!(d.text_of("#total").await, "33");
    // The polygons are filled by rate: D11 (9.0) darker than D22 (0.5); D13 (no figure) grey.
    let fills = d
        .exec(
            "const f = {}; document.querySelectorAll('path.vigil-area').forEach(p => \
             f[p.getAttribute('fill')] = (f[p.getAttribute('fill')] || 0) + 1); return f",
            json!([]),
        )
        .await;
    assert_eq!(
        fills["#d0d0d0"],
        json!(1),
        "one area without a rate: {fills}"
    );
    let errs = errors(&d).await;
    assert!(errs.is_empty(), "console errors on the map page: {errs:?}");
    // The outlines toggle.
    d.click("#show-hotspots").await;
    assert_eq!(count(&d, "path.vigil-hot").await, 0);
    d.click("#show-hotspots").await;
    assert_eq!(count(&d, "path.vigil-hot").await, 3);

    // The time slider: "from" one step right is 2022 alone; the table follows.
    d.exec("document.getElementById('from-year').focus()", json!([]))
        .await;
    d.press(ARROW_RIGHT).await;
    drawn(&d, 2).await;
    assert_eq!(d.text_of("#from-label").await, "2022");
    let t = table(&d).await;
    for (code, n) in [
        ("D11", "4"),
        ("D12", "5"),
        ("D21", "5"),
        ("D22", "0"),
        ("D33", "1"),
    ] {
        assert_eq!(cell(&t, code), n, "2022: {code}: {t:?}");
    }
    assert_eq!(d.text_of("#total").await, "17");
    assert!(
        d.url().await.contains("from=2022"),
        "the address keeps the filters"
    );
    // "to" one step left would be 2021 before "from": "from" follows it back.
    d.exec("document.getElementById('to-year').focus()", json!([]))
        .await;
    d.press(ARROW_LEFT).await;
    drawn(&d, 3).await;
    assert_eq!(d.text_of("#from-label").await, "2021");
    assert_eq!(d.text_of("#to-label").await, "2021");
    let t = table(&d).await;
    assert_eq!(cell(&t, "D11"), "8", "2021: {t:?}");
    assert_eq!(
        cell(&t, "D33"),
        "1",
        "2021 holds D33's year-only incident: {t:?}"
    );

    // The density layer of displaced points: 11 points in 2021 (all places are in 2021).
    d.click("#show-points").await;
    drawn(&d, 4).await;
    let started = Instant::now();
    loop {
        let n = d
            .exec(
                "const c = document.querySelector('canvas.vigil-density'); \
                 return c ? c.dataset.points || null : null",
                json!([]),
            )
            .await;
        if n == json!("11") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no density layer: {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        d.exec(
            "return document.getElementById('points-note').hidden",
            json!([])
        )
        .await,
        Value::Bool(false),
        "the note that points are displaced"
    );
    let painted = d
        .exec(
            "const c = document.querySelector('canvas.vigil-density'); \
             const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
             let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++; return n",
            json!([]),
        )
        .await;
    assert!(painted.as_u64().unwrap() > 0, "the density canvas is blank");
    let errs = errors(&d).await;
    assert!(
        errs.is_empty(),
        "console errors after the filters: {errs:?}"
    );

    // The viewer: four withheld areas hatched and labelled, no point layer, no reference.
    d.cmd("DELETE", "/cookie", None).await;
    login(&d, &base, "victor", VIEWER_PASSWORD).await;
    let _ = d.console().await;
    d.goto(&format!("{base}/ui/cases/map")).await;
    drawn(&d, 1).await;
    assert_eq!(
        count(&d, ".leaflet-overlay-pane svg path.vigil-area").await,
        9
    );
    assert_eq!(count(&d, "path.vigil-suppressed").await, 4);
    let hatched = d
        .exec(
            "return Array.from(document.querySelectorAll('path.vigil-suppressed')).every(p => \
             p.getAttribute('fill') === 'url(#vigil-hatch)') && !!document.getElementById('vigil-hatch')",
            json!([]),
        )
        .await;
    assert_eq!(hatched, Value::Bool(true), "withheld areas are hatched");
    let t = table(&d).await;
    for code in ["D22", "D23", "D31", "D33"] {
        assert_eq!(cell(&t, code), "fewer than 5", "{code}: {t:?}");
    }
    assert_eq!(cell(&t, "D11"), "12");
    assert!(
        d.find_all("#show-points").await.is_empty(),
        "a viewer has the point layer"
    );
    assert_eq!(count(&d, "canvas.vigil-density").await, 0);
    let html = d
        .exec("return document.documentElement.outerHTML", json!([]))
        .await;
    assert!(
        !html.as_str().unwrap().contains("M-D"),
        "an incident reference on the viewer's page"
    );
    let errs = errors(&d).await;
    assert!(
        errs.is_empty(),
        "console errors on the viewer's map: {errs:?}"
    );

    d.quit().await;
    server.shutdown().await;
    store.close().await;
}
