//! The case map API (`GET /api/v1/cases/map`) and page against the real server on loopback, on
//! SQLite and PostgreSQL, with a fixed set of incidents on a 3 × 3 grid of square districts
//! written here, every expected figure counted by hand (below), not taken from the server.
//!
//! The grid: district `D{row}{col}`, row 1 (south) to 3, column 1 (west) to 3, each a 1° square,
//! longitude 10 + col − 1 … 10 + col, latitude −30 + row − 1 … −30 + row. Row 1 is province PS,
//! rows 2 and 3 province PN. Population: 100,000 in 2021 and in 2022 in every district but D13
//! (none) and D33 (200,000 in 2021 only).
//!
//! | district | 2021 | 2022 | incidents | victims | rate 2021–2022 (per 100,000 per year) |
//! |---|---|---|---|---|---|
//! | D11 | 6 csa (03, 2 victims each), 2 abduction (05) | 4 csa (02) | 12 | 18 | 18 / 2 = 9.0 |
//! | D12 | 3 csa (07, 2 victims each) | 5 csa (08, 2 victims each) | 8 | 16 | 8.0 |
//! | D13 | — | — | 0 | 0 | none (no population) |
//! | D21 | 2 csa (01, 3 victims each) | 5 abduction (11, 2 victims each) | 7 | 16 | 8.0 |
//! | D22 | 1 csa (09) | — | 1 | 1 | 0.5 |
//! | D23 | — | 2 csa (04) | 2 | 2 | 1.0 |
//! | D31 | 1 csa (12) | — | 1 | 1 | 0.5 |
//! | D32 | — | — | 0 | 0 | 0.0 |
//! | D33 | 1 csa (year only) | 1 csa (06) | 2 | 2 | 1 / 2 × 1 = 0.5 (2021 only has a figure) |
//!
//! Gi* over the eight areas with a rate (queen neighbours, binary weights, self included),
//! computed apart with the textbook formula (Python, `math.erfc` for p):
//! D11 z 2.0390777642 (hot 95%), D12 1.6690777577 (hot 90%), D21 1.0770695773, D22 0 (neighbour
//! of all), D23 −1.2882143767, D31 −0.8243080323, D32 −2.0288985060 (cold 95%), D33 −2.0390777642
//! (cold 95%).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::{Value, json};
use vigil_cases::Incident;
use vigil_cases::geo::{GeoOptions, parse_boundaries};
use vigil_server::{Server, ServerConfig};
use vigil_store::Store;

#[path = "support/map_fixture.rs"]
mod map_fixture;
use map_fixture::{areas, corner, grid_geojson, incidents, population};

#[path = "support/case_server.rs"]
mod case_server;
use case_server::{CaseServer, KEYS, store_with_keys};

/// The province `scoped-key` is limited to (row 1: D11, D12, D13).
const SCOPED_PROVINCE: &str = "PS";

/// The server over the grid's incidents (and, if asked, its boundaries and population).
struct Env {
    s: CaseServer,
    incidents: Vec<Incident>,
}

impl std::ops::Deref for Env {
    type Target = CaseServer;
    fn deref(&self) -> &CaseServer {
        &self.s
    }
}

impl Env {
    async fn start(db: vigil_testkit::postgres::TestDb, boundaries: bool) -> Env {
        let (store, keys) = store_with_keys(&db, SCOPED_PROVINCE).await;
        store.save_case_areas("test", &areas()).await.unwrap();
        let incidents = incidents();
        store.save_incidents(&incidents, "test").await.unwrap();
        if boundaries {
            let b =
                parse_boundaries(&grid_geojson(), "grid", &GeoOptions::default(), None).unwrap();
            store.save_boundaries(&b, 2, "grid", "test").await.unwrap();
            store
                .save_population(&population(), "grid", "test")
                .await
                .unwrap();
        }
        Env {
            s: CaseServer::start(db, store, keys).await,
            incidents,
        }
    }

    async fn stop(self) {
        self.s.stop().await;
    }
}

/// The area features by code.
fn areas_of(v: &Value) -> BTreeMap<String, Value> {
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kind"] == "area")
        .map(|f| {
            (
                f["properties"]["code"].as_str().unwrap().to_string(),
                f["properties"].clone(),
            )
        })
        .collect()
}

fn points_of(v: &Value) -> Vec<Value> {
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kind"] == "incident")
        .cloned()
        .collect()
}

/// Checks each area's incidents and victims (`None`: withheld) against `want`.
fn check_counts(which: &str, what: &str, v: &Value, want: &[(&str, Option<(u64, u64)>)]) {
    let got = areas_of(v);
    assert_eq!(
        got.len(),
        want.len(),
        "{which} {what}: areas {:?}",
        got.keys()
    );
    for (code, w) in want {
        let p = got
            .get(*code)
            .unwrap_or_else(|| panic!("{which} {what}: no {code}"));
        match w {
            Some((n, victims)) => {
                assert_eq!(p["suppressed"], json!(false), "{which} {what} {code}: {p}");
                assert_eq!(p["incidents"], json!(n), "{which} {what} {code}: {p}");
                assert_eq!(p["victims"], json!(victims), "{which} {what} {code}: {p}");
            }
            None => {
                assert_eq!(p["suppressed"], json!(true), "{which} {what} {code}: {p}");
                assert!(
                    p["incidents"].is_null()
                        && p["victims"].is_null()
                        && p["rate_per_100k"].is_null(),
                    "{which} {what} {code}: a withheld area shows a number: {p}"
                );
                assert!(
                    p.get("gi_z").is_none() && p["gi_class"].is_null(),
                    "{which} {what} {code}: {p}"
                );
            }
        }
    }
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-6)
}

/// Haversine distance in km (mean Earth radius).
fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((b.0 - a.0).to_radians() / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().asin()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_per_role_with_hand_counted_figures() {
    for db in vigil_testkit::postgres::databases("map_per_role") {
        let which = db.name;
        let env = Env::start(db, true).await;

        // Route × role: matchers refused everything; viewers refused points.
        let table: [(&str, [u16; 5]); 6] = [
            ("/api/v1/cases/map", [200, 200, 403, 200, 200]),
            ("/api/v1/cases/map?points=1", [200, 200, 403, 403, 200]),
            (
                "/api/v1/cases/map?from=2021-01&to=2021-06",
                [200, 200, 403, 400, 200],
            ),
            (
                "/api/v1/cases/map?level=province",
                [404, 404, 403, 404, 404],
            ),
            (
                "/api/v1/cases/map?from=2023&to=2021",
                [400, 400, 403, 400, 400],
            ),
            ("/ui/cases/map", [200, 200, 403, 200, 200]),
        ];
        for (path, want) in table {
            for ((key, _), w) in KEYS.iter().zip(want) {
                let (got, body) = env.get(key, path).await;
                assert_eq!(got, w, "{which}: {key} {path}: {body}");
            }
        }
        let (_, v) = env
            .get("admin-key", "/api/v1/cases/map?level=province")
            .await;
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("no province boundaries"),
            "{which}: {v}"
        );

        // The analyst, 2021–2022, every category: every count, rate and Gi* as in the table.
        let (s, v) = env.get("admin-key", "/api/v1/cases/map").await;
        assert_eq!(s, 200, "{which}: {v}");
        assert_eq!(v["type"], "FeatureCollection");
        assert_eq!(v["vigil"]["from"], "2021-01", "{which}");
        assert_eq!(v["vigil"]["to"], "2022-12", "{which}");
        assert_eq!(v["vigil"]["years"], json!([2021, 2022]));
        assert_eq!(v["vigil"]["categories"], json!(["abduction", "csa"]));
        assert_eq!(v["vigil"]["total_incidents"], json!(33), "{which}");
        assert_eq!(v["vigil"]["total_victims"], json!(56), "{which}");
        assert_eq!(v["vigil"]["measure"], "rate");
        assert_eq!(v["vigil"]["gi_of"], "rate");
        assert!(points_of(&v).is_empty(), "{which}: points without points=1");
        let all = [
            ("D11", Some((12, 18))),
            ("D12", Some((8, 16))),
            ("D13", Some((0, 0))),
            ("D21", Some((7, 16))),
            ("D22", Some((1, 1))),
            ("D23", Some((2, 2))),
            ("D31", Some((1, 1))),
            ("D32", Some((0, 0))),
            ("D33", Some((2, 2))),
        ];
        check_counts(which, "admin", &v, &all);
        let a = areas_of(&v);
        let rates = [
            ("D11", 9.0),
            ("D12", 8.0),
            ("D21", 8.0),
            ("D22", 0.5),
            ("D23", 1.0),
            ("D31", 0.5),
            ("D32", 0.0),
            ("D33", 0.5),
        ];
        for (code, r) in rates {
            assert!(
                close(&a[code]["rate_per_100k"], r),
                "{which} {code}: {}",
                a[code]
            );
        }
        assert!(
            a["D13"]["rate_per_100k"].is_null(),
            "{which}: D13 has no population"
        );
        assert!(a["D13"]["gi_class"].is_null() && a["D13"].get("gi_z").is_none());
        let gi = [
            ("D11", 2.039_077_764_2, "hot_95", 3),
            ("D12", 1.669_077_757_7, "hot_90", 4),
            ("D21", 1.077_069_577_3, "none", 5),
            ("D22", 0.0, "none", 7),
            ("D23", -1.288_214_376_7, "none", 4),
            ("D31", -0.824_308_032_3, "none", 3),
            ("D32", -2.028_898_506_0, "cold_95", 5),
            ("D33", -2.039_077_764_2, "cold_95", 3),
        ];
        for (code, z, class, nb) in gi {
            let p = &a[code];
            assert!(
                (p["gi_z"].as_f64().unwrap() - z).abs() < 1e-6,
                "{which} {code}: z {} want {z}",
                p["gi_z"]
            );
            assert_eq!(p["gi_class"], class, "{which} {code}");
            assert_eq!(p["gi_neighbours"], json!(nb), "{which} {code}");
        }
        // p of D11: 2·(1 − Φ(2.0391)) = 0.0414422670 (math.erfc).
        assert!((a["D11"]["gi_p"].as_f64().unwrap() - 0.041_442_267).abs() < 1e-6);

        // Months: Jan–Jun 2021 holds D11's March and May incidents and D21's January ones; a
        // person-year is half a year's population; D33's year-only incident is left out.
        let (_, v) = env
            .get("curator-key", "/api/v1/cases/map?from=2021-01&to=2021-06")
            .await;
        let a = areas_of(&v);
        assert_eq!(a["D11"]["incidents"], json!(8), "{which}");
        assert_eq!(a["D11"]["victims"], json!(14), "{which}");
        assert!(
            close(&a["D11"]["rate_per_100k"], 28.0),
            "{which}: {}",
            a["D11"]
        );
        assert!(
            close(&a["D21"]["rate_per_100k"], 12.0),
            "{which}: {}",
            a["D21"]
        );
        assert_eq!(a["D33"]["incidents"], json!(0), "{which}");
        assert!(
            close(&a["D33"]["person_years"], 100_000.0),
            "{which}: {}",
            a["D33"]
        );
        let (_, v) = env
            .get("curator-key", "/api/v1/cases/map?from=2021&to=2021")
            .await;
        assert_eq!(
            areas_of(&v)["D33"]["incidents"],
            json!(1),
            "{which}: whole 2021"
        );

        // The viewer: k = 5 whatever is asked; areas under 5 withheld with every number.
        let (s, v) = env.get("viewer-key", "/api/v1/cases/map?k=1").await;
        assert_eq!(s, 200, "{which}: {v}");
        assert_eq!(v["vigil"]["k"], json!(5), "{which}: a viewer lowered k");
        let viewer_all = [
            ("D11", Some((12, 18))),
            ("D12", Some((8, 16))),
            ("D13", Some((0, 0))),
            ("D21", Some((7, 16))),
            ("D22", None),
            ("D23", None),
            ("D31", None),
            ("D32", Some((0, 0))),
            ("D33", None),
        ];
        check_counts(which, "viewer", &v, &viewer_all);
        let a = areas_of(&v);
        for code in ["D22", "D23", "D31", "D33"] {
            assert_eq!(a[code]["suppression"], "primary", "{which} {code}");
        }
        // Of Gi* a viewer gets the class only.
        assert_eq!(a["D11"]["gi_class"], "hot_95", "{which}");
        assert_eq!(a["D32"]["gi_class"], "cold_95", "{which}");
        assert!(
            a.values()
                .all(|p| p.get("gi_z").is_none() && p.get("gi_p").is_none()),
            "{which}: a viewer got z or p"
        );
        assert_eq!(v["vigil"]["total_incidents"], json!(33), "{which}");
        let text = v.to_string();
        assert!(
            !text.contains("M-D"),
            "{which}: an incident reference reached a viewer"
        );
        // 2021, then 2022 (the slider's two positions).
        let (_, v) = env
            .get("viewer-key", "/api/v1/cases/map?from=2021&to=2021")
            .await;
        check_counts(
            which,
            "viewer 2021",
            &v,
            &[
                ("D11", Some((8, 14))),
                ("D12", None),
                ("D13", Some((0, 0))),
                ("D21", None),
                ("D22", None),
                ("D23", Some((0, 0))),
                ("D31", None),
                ("D32", Some((0, 0))),
                ("D33", None),
            ],
        );
        let (_, v) = env
            .get("viewer-key", "/api/v1/cases/map?from=2022&to=2022")
            .await;
        check_counts(
            which,
            "viewer 2022",
            &v,
            &[
                ("D11", None),
                ("D12", Some((5, 10))),
                ("D13", Some((0, 0))),
                ("D21", Some((5, 10))),
                ("D22", Some((0, 0))),
                ("D23", None),
                ("D31", Some((0, 0))),
                ("D32", Some((0, 0))),
                ("D33", None),
            ],
        );
        assert_eq!(v["vigil"]["total_incidents"], json!(17), "{which}");
        // Abductions: D11 (2) is under 5 and alone, so D21 (5) is withheld too (secondary),
        // or the total 7 would give D11 away.
        let (_, v) = env
            .get("viewer-key", "/api/v1/cases/map?category=abduction")
            .await;
        let a = areas_of(&v);
        assert_eq!(a["D11"]["suppression"], "primary", "{which}");
        assert_eq!(a["D21"]["suppression"], "secondary", "{which}");
        assert_eq!(v["vigil"]["suppressed_areas"], json!(2), "{which}");
        assert_eq!(v["vigil"]["total_incidents"], json!(7), "{which}");
        // The analyst may ask for the viewer's threshold to see what a viewer sees.
        let (_, v) = env.get("admin-key", "/api/v1/cases/map?k=5").await;
        check_counts(which, "admin k=5", &v, &viewer_all);

        // The scoped key: its province's three districts only, and no Gi* (two rates).
        let (_, v) = env.get("scoped-key", "/api/v1/cases/map").await;
        check_counts(
            which,
            "scoped",
            &v,
            &[
                ("D11", Some((12, 18))),
                ("D12", Some((8, 16))),
                ("D13", Some((0, 0))),
            ],
        );
        assert_eq!(v["vigil"]["total_incidents"], json!(20), "{which}");
        assert!(v["vigil"]["gi_of"].is_null(), "{which}");
        assert!(
            v["vigil"]["gi_note"].as_str().unwrap().contains("2 area"),
            "{which}"
        );

        // Reads are audited, with whether points went out.
        let reads = env
            .store
            .audit_recent(Some("cases.map.read"), i64::MAX, 1000)
            .await
            .unwrap();
        assert!(
            reads
                .iter()
                .any(|e| e.actor == "viewer-key" && e.detail.contains("\"points\":false")),
            "{which}"
        );
        assert!(
            reads
                .iter()
                .any(|e| e.actor == "admin-key" && e.detail.contains("\"points\":true")),
            "{which}: the route table's points=1 read"
        );
        assert!(
            reads.iter().all(|e| e.actor != "matcher-key"),
            "{which}: a refused matcher read audited as a read"
        );
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_are_displaced_inside_their_district_and_stable() {
    for db in vigil_testkit::postgres::databases("map_points") {
        let which = db.name;
        let env = Env::start(db, true).await;
        let exact: BTreeMap<&str, (f64, f64, &str)> = env
            .incidents
            .iter()
            .filter_map(|i| {
                let p = i.area.point?;
                Some((i.id.as_str(), (p.lon, p.lat, i.area.district.as_str())))
            })
            .collect();
        assert_eq!(exact.len(), 11);
        let (s, v) = env.get("curator-key", "/api/v1/cases/map?points=1").await;
        assert_eq!(s, 200, "{which}: {v}");
        let pts = points_of(&v);
        assert_eq!(
            pts.len(),
            11,
            "{which}: one point per incident with a place"
        );
        assert_eq!(v["vigil"]["points"]["displaced"], json!(true));
        assert_eq!(v["vigil"]["points"]["withheld"], json!(0));
        for f in &pts {
            let p = &f["properties"];
            let reference = p["reference"].as_str().unwrap();
            let (lon, lat, district) = exact[reference];
            assert_eq!(p["district"], district, "{which}");
            let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["category", "date", "district", "kind", "reference"],
                "{which}: a point carries more than its reference, date and category"
            );
            let c = &f["geometry"]["coordinates"];
            let q = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            assert_ne!(q, (lon, lat), "{which}: {reference} sent exact");
            let d = km(q, (lon, lat));
            // 0.1 km at least, 10 km at most (plus the 1e-6° rounding, 0.1 m).
            assert!(
                (0.099..=10.001).contains(&d),
                "{which}: {reference} moved {d} km"
            );
            let (w, s) = corner(district);
            assert!(
                q.0 > w && q.0 < w + 1.0 && q.1 > s && q.1 < s + 1.0,
                "{which}: {reference} left {district}: {q:?}"
            );
        }
        // The same places on a second request and for another analyst (the key is kept).
        let (_, again) = env.get("admin-key", "/api/v1/cases/map?points=1").await;
        let by_ref = |pts: &[Value]| -> BTreeMap<String, Value> {
            pts.iter()
                .map(|f| {
                    (
                        f["properties"]["reference"].as_str().unwrap().to_string(),
                        f["geometry"]["coordinates"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(
            by_ref(&pts),
            by_ref(&points_of(&again)),
            "{which}: points moved"
        );
        // ... and after a restart of the server on the same store.
        let key = env
            .store
            .server_secret(vigil_server::cases_map::DISPLACE_SECRET, &[0u8; 32], "test")
            .await
            .unwrap();
        assert_eq!(key.len(), 32, "{which}");
        assert_ne!(
            key,
            vec![0u8; 32],
            "{which}: the test's candidate became the key"
        );
        let secrets = env
            .store
            .audit_recent(Some("server.secret.create"), i64::MAX, 10)
            .await
            .unwrap();
        assert_eq!(secrets.len(), 1, "{which}: the key was made once");
        let Env { s, incidents } = env;
        let env = Env {
            s: s.restart().await,
            incidents,
        };
        let (_, after) = env.get("admin-key", "/api/v1/cases/map?points=1").await;
        assert_eq!(
            by_ref(&pts),
            by_ref(&points_of(&after)),
            "{which}: a restart moved points"
        );

        // The period filters points: none of 2022's incidents has a place.
        let (_, v) = env
            .get("admin-key", "/api/v1/cases/map?points=1&from=2022&to=2022")
            .await;
        assert!(points_of(&v).is_empty(), "{which}");
        // The scoped key: only its province's points (D21's two are outside).
        let (_, v) = env.get("scoped-key", "/api/v1/cases/map?points=1").await;
        let pts = points_of(&v);
        assert_eq!(pts.len(), 9, "{which}");
        assert!(pts.iter().all(|f| f["properties"]["district"] != "D21"));
        // A viewer asking for points is refused, and the refusal sends nothing.
        let (s, v) = env.get("viewer-key", "/api/v1/cases/map?points=1").await;
        assert_eq!(s, 403, "{which}");
        assert!(v.get("features").is_none(), "{which}");
        // Reads with points are audited as such, and the store audited the exact-point read.
        let reads = env
            .store
            .audit_recent(Some("cases.map.read"), i64::MAX, 1000)
            .await
            .unwrap();
        assert!(
            reads
                .iter()
                .any(|e| e.actor == "curator-key" && e.detail.contains("\"points_sent\":11"))
        );
        let store_reads = env
            .store
            .audit_recent(Some("cases.read"), i64::MAX, 1000)
            .await
            .unwrap();
        assert!(
            store_reads
                .iter()
                .any(|e| e.actor == "curator-key" && e.detail.contains("\"points\":true"))
        );
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_boundaries_the_map_says_so_and_the_page_renders() {
    for db in vigil_testkit::postgres::databases("map_empty") {
        let which = db.name;
        let env = Env::start(db, false).await;
        let (s, v) = env.get("admin-key", "/api/v1/cases/map").await;
        assert_eq!(s, 404, "{which}: {v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("vigil cases areas import"),
            "{which}: {v}"
        );
        let (s, page) = env.get("viewer-key", "/ui/cases/map").await;
        assert_eq!(s, 404, "{which}");
        assert!(page.as_str().unwrap().contains("no district boundaries"));
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_table_and_loads_only_the_server_s_assets() {
    let db = vigil_testkit::postgres::sqlite_database();
    let env = Env::start(db, true).await;
    let page = |key: &'static str| {
        let env = &env;
        async move {
            let r = env
                .http
                .get(format!("{}/ui/cases/map", env.base))
                .header("authorization", format!("Bearer {}", env.keys[key]))
                .send()
                .await
                .unwrap();
            let csp = r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_string();
            (csp, r.text().await.unwrap())
        }
    };
    let (csp, admin) = page("admin-key").await;
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(
        csp.contains("img-src 'self' blob:;"),
        "no tiles configured: {csp}"
    );
    assert!(admin.contains("id=\"show-points\""));
    assert!(admin.contains(
        "<tr data-code=\"D11\"><td>D11</td><td>District 1-1</td><td class=\"num incidents\">12</td>"
    ));
    for src in ["http://", "https://"] {
        for attr in ["src=\"", "href=\""] {
            assert!(
                !admin.contains(&format!("{attr}{src}")),
                "an outside asset: {attr}{src}"
            );
        }
    }
    let (_, viewer) = page("viewer-key").await;
    assert!(
        !viewer.contains("show-points"),
        "a viewer got the point layer"
    );
    assert!(viewer.contains("<td class=\"num incidents suppressed\">fewer than 5</td>"));
    assert!(
        !viewer.contains("M-D"),
        "an incident reference on a viewer's page"
    );
    // The vendored files are served with their types, revalidated by ETag.
    for (file, kind) in [
        ("leaflet.js", "text/javascript"),
        ("leaflet.css", "text/css"),
        ("cases_map.js", "text/javascript"),
        ("cases_map.css", "text/css"),
    ] {
        let r = env
            .http
            .get(format!("{}/ui/static/{file}", env.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{file}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert_eq!(r.headers()["cache-control"], "no-cache");
        let tag = r.headers()["etag"].to_str().unwrap().to_string();
        let body = r.bytes().await.unwrap();
        if file == "leaflet.js" {
            use sha2::Digest;
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&body)),
                "db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a",
                "leaflet.js is not the vendored 1.9.4 (see ui/vendor/leaflet/README.md)"
            );
        }
        let r = env
            .http
            .get(format!("{}/ui/static/{file}", env.base))
            .header("if-none-match", &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{file}");
        assert!(r.bytes().await.unwrap().is_empty());
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_tiles_add_their_origin_to_the_page_s_policy_only() {
    let db = vigil_testkit::postgres::sqlite_database();
    let store = Store::open(&db.url).await.unwrap();
    let (secret, hash) = vigil_server::auth::new_key();
    store
        .add_api_key("test", "admin-key", "admin", &hash)
        .await
        .unwrap();
    let b = parse_boundaries(&grid_geojson(), "grid", &GeoOptions::default(), None).unwrap();
    store.save_boundaries(&b, 2, "grid", "test").await.unwrap();
    let tiles = vigil_server::MapTiles::new(
        "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        "© Example <contributors>",
    )
    .unwrap();
    let server = Server::start(
        store.clone(),
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            map_tiles: Some(tiles),
            ..ServerConfig::default()
        },
    )
    .await
    .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |path: &str| {
        http.get(format!("http://{}{path}", server.addr()))
            .header("authorization", format!("Bearer {secret}"))
            .send()
    };
    let r = get("/ui/cases/map").await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self' blob: https://*.tiles.example.org;"),
        "{csp}"
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("https://{s}.tiles.example.org/{z}/{x}/{y}.png"));
    assert!(
        !page.contains("<contributors>"),
        "the attribution is escaped"
    );
    let r = get("/ui/cases").await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        !csp.contains("example.org"),
        "other pages keep the strict policy: {csp}"
    );
    for bad in [
        "ftp://x.org/{z}/{x}/{y}",
        "https://x.org/{z}/{x}",
        "https:///{z}/{x}/{y}",
        "https://x.org/{z}/{x}/{y}.png?a='b'",
        "https://x.org/{z}/{x}/{y} ; script-src *",
    ] {
        assert!(vigil_server::MapTiles::new(bad, "").is_err(), "{bad}");
    }
    server.shutdown().await;
    store.close().await;
}
