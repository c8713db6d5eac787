//! The case registry over HTTP, against the real server on loopback, on SQLite and PostgreSQL:
//! every case route × every role (and a key limited to one province), masked fields per role,
//! suppression a viewer cannot lower, link decisions changing the analysis, manual entry with
//! errors per field, and the audit entries of reads, reveals and decisions.
//!
//! The expected answers are written out by hand from the access model (`docs/cases.md`), not
//! derived from the server's own tables.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vigil_cases::demo::{Demo, DemoOptions};
use vigil_store::Store;

#[path = "support/case_server.rs"]
mod case_server;
use case_server::{CaseServer, KEYS, store_with_keys};

/// The province `scoped-key` is limited to (the first planted network lies in NM).
const SCOPED_PROVINCE: &str = "RL";

fn demo() -> Demo {
    vigil_cases::demo::generate(&DemoOptions {
        seed: 11,
        first_year: 2021,
        last_year: 2022,
        per_year: 60,
        network_sizes: vec![6, 4],
        duplicate_share: 0.0,
    })
}

/// The server over the demo registry (areas and incidents saved).
struct Env {
    s: CaseServer,
    demo: Demo,
}

impl std::ops::Deref for Env {
    type Target = CaseServer;
    fn deref(&self) -> &CaseServer {
        &self.s
    }
}

impl Env {
    async fn start(db: vigil_testkit::postgres::TestDb) -> Env {
        let (store, keys) = store_with_keys(&db, SCOPED_PROVINCE).await;
        let demo = demo();
        store.save_case_areas("test", &demo.areas).await.unwrap();
        store.save_incidents(&demo.incidents, "test").await.unwrap();
        Env {
            s: CaseServer::start(db, store, keys).await,
            demo,
        }
    }

    async fn audit(&self, action: &str) -> Vec<vigil_store::AuditEntry> {
        self.store
            .audit_recent(Some(action), i64::MAX, 1000)
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.s.stop().await;
    }
}

/// A member of the first planted network (province NM) and another member linked to it.
fn net1(d: &Demo) -> (String, Vec<String>) {
    let n = &d.truth.networks[0];
    (n.incidents[0].clone(), n.incidents.clone())
}

/// An incident in no planted network, in province NM.
fn loner(d: &Demo) -> String {
    let planted: Vec<&String> = d.truth.networks.iter().flat_map(|n| &n.incidents).collect();
    d.incidents
        .iter()
        .find(|i| i.area.province == "NM" && !planted.contains(&&i.id) && i.identifiers.is_empty())
        .or_else(|| {
            d.incidents
                .iter()
                .find(|i| i.area.province == "NM" && !planted.contains(&&i.id))
        })
        .map(|i| i.id.clone())
        .unwrap()
}

/// Expected status per key, in the order of [`KEYS`]: admin, curator, matcher, viewer, scoped.
type Want = [u16; 5];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_route_for_every_role() {
    for db in vigil_testkit::postgres::databases("every_case_route_for_every_role") {
        let which = db.name;
        let env = Env::start(db).await;
        let (member, members) = net1(&env.demo);
        let other = members[1].clone();
        let rl = env
            .demo
            .incidents
            .iter()
            .find(|i| i.area.province == "RL")
            .unwrap()
            .id
            .clone();
        let bad_entry = json!({"id": "M-1", "date": "2021-13-40"});
        let decide = json!({"a": member, "b": other, "decision": "confirm", "note": "same phone"});
        let scope = json!({"subject": "key:nobody", "areas": ["EV"]});
        let areas = serde_json::to_value(&env.demo.areas).unwrap();
        // (method, path, body, expected status for admin, curator, matcher, viewer, scoped).
        let table: Vec<(&str, String, Option<Value>, Want)> = vec![
            (
                "GET",
                "/api/v1/cases/stats?rows=district".into(),
                None,
                [200, 200, 403, 200, 200],
            ),
            (
                "GET",
                "/api/v1/cases/stats?rows=year&cols=sex&format=csv".into(),
                None,
                [200, 200, 403, 200, 200],
            ),
            (
                "GET",
                "/api/v1/cases/stats?rows=nonsense".into(),
                None,
                [400, 400, 403, 400, 400],
            ),
            (
                "GET",
                "/api/v1/cases/incidents?year=2021".into(),
                None,
                [200, 200, 403, 403, 200],
            ),
            (
                "GET",
                format!("/api/v1/cases/incidents/{member}"),
                None,
                [200, 200, 403, 403, 404],
            ),
            (
                "GET",
                format!("/api/v1/cases/incidents/{rl}"),
                None,
                [200, 200, 403, 403, 200],
            ),
            (
                "GET",
                "/api/v1/cases/incidents/NOPE".into(),
                None,
                [404, 404, 403, 403, 404],
            ),
            (
                "POST",
                "/api/v1/cases/incidents".into(),
                Some(bad_entry),
                [422, 422, 403, 403, 422],
            ),
            // A source with errors: checked only after the role and the scope.
            (
                "POST",
                format!("/api/v1/cases/incidents/{member}/sources"),
                Some(json!({"outlet": " ", "date": "someday"})),
                [422, 422, 403, 403, 404],
            ),
            (
                "POST",
                format!("/api/v1/cases/incidents/{rl}/sources"),
                Some(json!({"outlet": " ", "date": "someday"})),
                [422, 422, 403, 403, 422],
            ),
            (
                "POST",
                "/api/v1/cases/incidents/NOPE/sources".into(),
                Some(json!({"outlet": "Herald", "date": "2022-01-01"})),
                [404, 404, 403, 403, 404],
            ),
            (
                "GET",
                "/api/v1/cases/networks".into(),
                None,
                [200, 200, 403, 403, 200],
            ),
            (
                "GET",
                format!("/api/v1/cases/networks/{member}"),
                None,
                [200, 200, 403, 403, 404],
            ),
            (
                "GET",
                "/api/v1/cases/links".into(),
                None,
                [200, 200, 403, 403, 200],
            ),
            (
                "POST",
                "/api/v1/cases/links".into(),
                Some(decide),
                [201, 201, 403, 403, 404],
            ),
            (
                "GET",
                "/api/v1/cases/scopes".into(),
                None,
                [200, 403, 403, 403, 403],
            ),
            (
                "PUT",
                "/api/v1/cases/scopes".into(),
                Some(scope),
                [200, 403, 403, 403, 403],
            ),
            (
                "GET",
                "/api/v1/cases/areas".into(),
                None,
                [200, 200, 403, 200, 200],
            ),
            (
                "PUT",
                "/api/v1/cases/areas".into(),
                Some(areas),
                [200, 403, 403, 403, 403],
            ),
            ("GET", "/ui/cases".into(), None, [200, 200, 403, 200, 200]),
            (
                "GET",
                "/ui/cases/incidents".into(),
                None,
                [200, 200, 403, 403, 200],
            ),
            (
                "GET",
                format!("/ui/cases/incidents/{member}"),
                None,
                [200, 200, 403, 403, 404],
            ),
            (
                "GET",
                "/ui/cases/new".into(),
                None,
                [200, 200, 403, 403, 200],
            ),
            (
                "GET",
                "/ui/cases/networks".into(),
                None,
                [200, 200, 403, 403, 200],
            ),
            (
                "GET",
                format!("/ui/cases/networks/{member}"),
                None,
                [200, 200, 403, 403, 404],
            ),
        ];
        for (method, path, body, want) in &table {
            for ((key, _), w) in KEYS.iter().zip(want) {
                let (got, answer) = env.call(key, method, path, body.as_ref()).await;
                assert_eq!(got, *w, "{which}: {key} {method} {path}: {answer}");
            }
        }
        // Without a key: 401 on the API, the login form for pages.
        for (method, path, _, _) in &table {
            let r = env
                .http
                .request(method.parse().unwrap(), format!("{}{path}", env.base))
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            if path.starts_with("/ui/") {
                assert!(
                    s == 303 || s == 200 && r.url().path() == "/ui/login",
                    "{which}: {path}: {s}"
                );
            } else {
                assert_eq!(s, 401, "{which}: {method} {path}");
            }
        }
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_are_masked_reads_are_audited_and_viewers_see_counts() {
    for db in vigil_testkit::postgres::databases("fields_are_masked") {
        let which = db.name;
        let env = Env::start(db).await;
        let (_, members) = net1(&env.demo);
        // A member naming the network's phone (its first member always does).
        let (member, phone) = env
            .demo
            .incidents
            .iter()
            .filter(|i| members.contains(&i.id))
            .find_map(|i| {
                i.identifiers
                    .iter()
                    .find(|x| x.kind == vigil_cases::IdentifierKind::Phone)
                    .map(|x| (i.id.clone(), x.value.clone()))
            })
            .expect("a member of a planted network names its phone");

        // An analyst sees the record with the phone masked, never a point.
        let (s, v) = env
            .call(
                "curator-key",
                "GET",
                &format!("/api/v1/cases/incidents/{member}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{which}");
        let text = v.to_string();
        assert!(!text.contains(&phone), "{which}: the phone leaked: {text}");
        assert!(text.contains("[hidden phone #"), "{which}: {text}");
        assert!(
            v["area"]["point"].is_null(),
            "{which}: a point left the server"
        );
        assert_eq!(v["revealed"], json!(false));
        // Revealing needs a reason, and is audited with it.
        let (s, _) = env
            .call(
                "curator-key",
                "GET",
                &format!("/api/v1/cases/incidents/{member}?reveal=1"),
                None,
            )
            .await;
        assert_eq!(s, 400, "{which}");
        let (s, v) = env
            .call(
                "curator-key",
                "GET",
                &format!("/api/v1/cases/incidents/{member}?reveal=1&reason=court%20order%2017"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{which}");
        assert!(v.to_string().contains(&phone), "{which}: not revealed");
        let reveals = env.audit("cases.reveal").await;
        assert_eq!(reveals.len(), 1, "{which}");
        assert_eq!(reveals[0].actor, "curator-key");
        let detail: Value = serde_json::from_str(&reveals[0].detail).unwrap();
        assert_eq!(detail["incident"], json!(member));
        assert_eq!(detail["reason"], json!("court order 17"));
        let reads = env.audit("cases.incident.read").await;
        assert_eq!(reads.len(), 2, "{which}: one entry per read");
        assert!(reads.iter().all(|e| e.detail.contains(&member)));

        // The list and the network mask too, and are audited with the references read.
        let (_, v) = env
            .call(
                "admin-key",
                "GET",
                &format!("/api/v1/cases/networks/{member}"),
                None,
            )
            .await;
        let text = v.to_string();
        assert!(!text.contains(&phone), "{which}: {text}");
        assert!(
            v["links"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["explanation"].as_str().unwrap().contains(" and ")),
            "{which}: every link explained"
        );
        assert!(!env.audit("cases.network.read").await.is_empty(), "{which}");
        let (_, v) = env
            .call(
                "admin-key",
                "GET",
                "/api/v1/cases/incidents?per_page=10",
                None,
            )
            .await;
        assert_eq!(v["incidents"].as_array().unwrap().len(), 10);
        let listed = env.audit("cases.incidents.list").await;
        let first = v["incidents"][0]["id"].as_str().unwrap();
        assert!(listed[0].detail.contains(first), "{which}");

        // A viewer: counts, never a reference or an identifier; k not below 5 whatever asked.
        let (s, v) = env
            .call(
                "viewer-key",
                "GET",
                "/api/v1/cases/stats?rows=district&k=1",
                None,
            )
            .await;
        assert_eq!(s, 200, "{which}");
        assert_eq!(v["k"], json!(5), "{which}: a viewer lowered k");
        let text = v.to_string();
        assert!(
            !text.contains("I-0") && !text.contains(&phone),
            "{which}: {text}"
        );
        // The cells against counts made here from the demo: a number only when 0 or ≥ 5.
        let mut by_district: BTreeMap<&str, u64> = BTreeMap::new();
        for i in &env.demo.incidents {
            *by_district.entry(i.area.district.as_str()).or_default() += 1;
        }
        let rows = v["rows"].as_array().unwrap();
        assert_eq!(rows.len(), by_district.len());
        let mut small = 0;
        for (r, row) in rows.iter().enumerate() {
            let n = by_district[row.as_str().unwrap()];
            let cell = v["cells"][r][0].as_str().unwrap();
            if (1..5).contains(&n) {
                small += 1;
                assert_eq!(cell, "<5", "{which}: {row} has {n}");
            } else {
                assert!(
                    cell == n.to_string() || cell == "x",
                    "{which}: {row} has {n}, shows {cell}"
                );
            }
        }
        assert_eq!(v["total"], json!(env.demo.incidents.len()));
        // An analyst may lower k.
        let (_, v) = env
            .call(
                "admin-key",
                "GET",
                "/api/v1/cases/stats?rows=district&k=1",
                None,
            )
            .await;
        assert_eq!(v["k"], json!(1));
        if small > 0 {
            let shown: Vec<&str> = v["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[0].as_str().unwrap())
                .collect();
            assert!(!shown.contains(&"<5"));
        }
        // The scoped key's statistics count only its province.
        let (_, v) = env
            .call(
                "scoped-key",
                "GET",
                "/api/v1/cases/stats?rows=province",
                None,
            )
            .await;
        let rl = env
            .demo
            .incidents
            .iter()
            .filter(|i| i.area.province == "RL")
            .count();
        assert_eq!(v["rows"], json!(["RL"]), "{which}");
        assert_eq!(v["total"], json!(rl));
        // An export is audited as one.
        let _ = env
            .call(
                "viewer-key",
                "GET",
                "/api/v1/cases/stats?rows=year&format=csv",
                None,
            )
            .await;
        let exports = env.audit("cases.export").await;
        assert_eq!(exports.len(), 1);
        assert_eq!(exports[0].actor, "viewer-key");
        // A viewer's page shows the table, no incident reference, no records menu.
        let r = env
            .http
            .get(format!("{}/ui/cases?rows=district", env.base))
            .header(
                "authorization",
                format!("Bearer {}", env.keys["viewer-key"]),
            )
            .send()
            .await
            .unwrap();
        let page = r.text().await.unwrap();
        assert!(page.contains("id=\"stats\""));
        assert!(
            !page.contains("I-0") && !page.contains("/ui/cases/incidents"),
            "{which}"
        );
        env.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_decisions_change_the_analysis_and_entries_are_checked() {
    for db in vigil_testkit::postgres::databases("link_decisions") {
        let which = db.name;
        let env = Env::start(db).await;
        let (member, members) = net1(&env.demo);
        let (_, v) = env
            .call(
                "admin-key",
                "GET",
                &format!("/api/v1/cases/networks/{member}"),
                None,
            )
            .await;
        let got: Vec<&str> = v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        let mut want: Vec<&str> = members.iter().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(got, want, "{which}: the planted network is found whole");
        let links = v["links"].as_array().unwrap().clone();
        let first = &links[0];
        let (a, b) = (first["a"].as_str().unwrap(), first["b"].as_str().unwrap());

        // Reject a link: it is gone from the analysis; the decision is audited with its note.
        let (s, _) = env
            .call("curator-key", "POST", "/api/v1/cases/links",
                Some(&json!({"a": b, "b": a, "decision": "reject", "note": "<b>shared family phone</b>"})))
            .await;
        assert_eq!(s, 201, "{which}");
        let (_, v) = env
            .call("admin-key", "GET", "/api/v1/cases/networks", None)
            .await;
        let all: Vec<Value> = v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["links"].as_array().unwrap().clone())
            .collect();
        assert!(
            !all.iter().any(|l| l["a"] == json!(a) && l["b"] == json!(b)),
            "{which}: a rejected link stayed"
        );
        let rejects = env.audit("cases.link.reject").await;
        assert_eq!(rejects.len(), 1);
        assert!(rejects[0].detail.contains("shared family phone"));
        // A note must be given.
        let (s, _) = env
            .call(
                "curator-key",
                "POST",
                "/api/v1/cases/links",
                Some(&json!({"a": a, "b": b, "decision": "confirm", "note": " "})),
            )
            .await;
        assert_eq!(s, 400);

        // Confirm a pair with no shared identifier: kept, with score 0, and explained as such.
        let loner = loner(&env.demo);
        let (s, _) = env
            .call("admin-key", "POST", "/api/v1/cases/links",
                Some(&json!({"a": member, "b": loner, "decision": "confirm", "note": "same offender per police"})))
            .await;
        assert_eq!(s, 201);
        let (_, v) = env
            .call(
                "admin-key",
                "GET",
                &format!("/api/v1/cases/networks/{loner}"),
                None,
            )
            .await;
        let ids: Vec<&str> = v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&member.as_str()), "{which}: {v}");
        let kept = v["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["a"] == json!(loner) || l["b"] == json!(loner))
            .unwrap();
        assert_eq!(kept["decision"]["decision"], json!("confirm"));
        assert_eq!(kept["decision"]["actor"], json!("admin-key"));
        assert!(
            kept["explanation"].as_str().unwrap().contains("analyst"),
            "{kept}"
        );
        assert_eq!(env.audit("cases.link.confirm").await.len(), 1);
        // The decision shows on the incident.
        let (_, v) = env
            .call(
                "admin-key",
                "GET",
                &format!("/api/v1/cases/incidents/{loner}"),
                None,
            )
            .await;
        assert_eq!(v["decisions"][0]["note"], json!("same offender per police"));

        // Manual entry: errors per field, a good one saved, a second with its id refused.
        let (s, v) = env
            .call(
                "curator-key",
                "POST",
                "/api/v1/cases/incidents",
                Some(
                    &json!({"id": "M-1", "taxonomy": "sahil-2022", "date": "2022-02-30",
                             "category": "csa", "province": "NM", "district": "ZZ99",
                             "outlet": "Valley Herald", "place": "moon",
                             "victims": [{"sex": "female", "age": "old"}]}),
                ),
            )
            .await;
        assert_eq!(s, 422, "{which}: {v}");
        let fields: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for f in ["date", "place", "victims[0].age"] {
            assert!(fields.contains(&f), "{which}: no error for {f}: {v}");
        }
        let district = env
            .demo
            .areas
            .districts
            .keys()
            .find(|d| d.starts_with("NM"))
            .unwrap()
            .clone();
        let good = json!({"id": "M-1", "taxonomy": "sahil-2022", "date": "2022-02-03",
                          "category": "abduction", "province": "NM", "district": district,
                          "outlet": "Valley Herald", "report_date": "2022-02-04",
                          "victims": [{"sex": "female", "age": "9"}],
                          "identifiers": [{"kind": "phone", "value": "+99 345 0000001"}]});
        let (s, v) = env
            .call(
                "curator-key",
                "POST",
                "/api/v1/cases/incidents",
                Some(&good),
            )
            .await;
        assert_eq!(s, 201, "{which}: {v}");
        let (s, v) = env
            .call("curator-key", "GET", "/api/v1/cases/incidents/M-1", None)
            .await;
        assert_eq!(s, 200);
        assert_eq!(v["area"]["district"], json!(district));
        assert!(
            !v.to_string().contains("0000001"),
            "{which}: the entered phone is masked"
        );
        let (s, _) = env
            .call(
                "curator-key",
                "POST",
                "/api/v1/cases/incidents",
                Some(&good),
            )
            .await;
        assert_eq!(s, 409);
        // Outside the scope: refused on the district.
        let mut outside = good.clone();
        outside["id"] = json!("M-2");
        let (s, v) = env
            .call(
                "scoped-key",
                "POST",
                "/api/v1/cases/incidents",
                Some(&outside),
            )
            .await;
        assert_eq!(s, 422);
        assert_eq!(v["errors"][0]["field"], json!("district"));
        env.stop().await;
    }
}

/// The whole incident as the entry form sends it (district NM01, tehsil NM01T1).
fn full_entry() -> Value {
    json!({
        "id": "M-10", "taxonomy": "sahil-2022", "date": "2022-03-14",
        "category": "csa", "subtype": "rape",
        "province": "NM", "district": "NM01", "tehsil": "NM01T1", "locality": "rural",
        "point": {"lat": "31.25", "lon": 72.5},
        "place": "field", "reported_to_police": "yes", "case_registered": "yes",
        "stage": "challan",
        "flags": {"abducted_then_abused": true, "murdered": false, "recorded_online": true,
                  "extortion": true},
        "sources": [
            {"outlet": "Valley Herald", "date": "2022-03-15",
             "link": "https://herald.example/2022/03/15/a"},
            {"outlet": "Evening Star", "date": "2022-03-16", "link": ""}
        ],
        "abusers": [
            {"sex": "male", "age_band": "19-30", "juvenile": false, "category": "neighbour"},
            {"sex": "male", "age_band": "16-17", "juvenile": true, "category": "stranger"}
        ],
        "victims": [
            {"sex": "female", "age": "12",
             "relationships": [{"abuser": 0, "category": "neighbour"}]},
            {"sex": "male", "age": "6-10",
             "relationships": [{"abuser": 0, "category": "neighbour"},
                               {"abuser": 1, "category": "stranger"}]}
        ],
        "identifiers": [
            {"kind": "vehicle", "value": "lea-1234", "confidence": "0.8",
             "source": "Valley Herald", "first_seen": "2022-03-14", "last_seen": "2022-03-15"},
            {"kind": "phone", "value": "0099 345 7654321", "confidence": 0.5}
        ]
    })
}

fn error_fields(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_incident_is_entered_duplicates_are_caught_and_sources_added() {
    for db in vigil_testkit::postgres::databases("whole_incident_entry") {
        let which = db.name;
        let env = Env::start(db).await;
        let demo_total = env.demo.incidents.len();
        let total = async |env: &Env| {
            let (s, v) = env
                .call(
                    "admin-key",
                    "GET",
                    "/api/v1/cases/stats?rows=year&k=1",
                    None,
                )
                .await;
            assert_eq!(s, 200);
            v["total"].as_u64().unwrap() as usize
        };
        assert_eq!(total(&env).await, demo_total, "{which}");

        // Viewers and matchers may not enter; nothing is saved.
        for key in ["viewer-key", "matcher-key"] {
            let (s, v) = env
                .call(key, "POST", "/api/v1/cases/incidents", Some(&full_entry()))
                .await;
            assert_eq!(s, 403, "{which}: {key}: {v}");
        }

        // Field errors of parsing, each with its path; nothing saved.
        let mut bad = full_entry();
        bad["victims"][1]["age"] = json!("old");
        bad["abusers"][0]["category"] = json!("boss");
        bad["victims"][0]["relationships"][0]["abuser"] = json!(5);
        bad["identifiers"][0]["confidence"] = json!(2);
        bad["point"]["lon"] = json!("east");
        let (s, v) = env
            .call("curator-key", "POST", "/api/v1/cases/incidents", Some(&bad))
            .await;
        assert_eq!(s, 422, "{which}: {v}");
        assert_eq!(
            error_fields(&v),
            [
                "point.lon",
                "abusers[0].category",
                "victims[0].relationships[0].abuser",
                "victims[1].age",
                "identifiers[0].confidence"
            ],
            "{which}: {v}"
        );
        // Then the checks against the taxonomy and the areas, with the same paths.
        let mut bad = full_entry();
        bad["tehsil"] = json!("NM02T1");
        bad["sources"][1]["date"] = json!("2022-03-01");
        bad["point"] = json!({"lat": 95, "lon": 72.5});
        bad["subtype"] = json!("burglary");
        let (s, v) = env
            .call("curator-key", "POST", "/api/v1/cases/incidents", Some(&bad))
            .await;
        assert_eq!(s, 422, "{which}: {v}");
        assert_eq!(
            error_fields(&v),
            ["subtype", "sources[1].date", "tehsil", "point"],
            "{which}: {v}"
        );
        let (s, _) = env
            .call("admin-key", "GET", "/api/v1/cases/incidents/M-10", None)
            .await;
        assert_eq!(s, 404, "{which}: nothing saved while errors remain");
        assert_eq!(total(&env).await, demo_total, "{which}");

        // The whole incident, read back field by field.
        let (s, v) = env
            .call(
                "curator-key",
                "POST",
                "/api/v1/cases/incidents",
                Some(&full_entry()),
            )
            .await;
        assert_eq!(s, 201, "{which}: {v}");
        assert_eq!(v["id"], json!("M-10"));
        let (s, v) = env
            .call("admin-key", "GET", "/api/v1/cases/incidents/M-10", None)
            .await;
        assert_eq!(s, 200, "{which}");
        assert_eq!(v["id"], json!("M-10"));
        assert_eq!(v["taxonomy"], json!("sahil-2022"));
        assert_eq!(v["date"], json!({"year": 2022, "month": 3, "day": 14}));
        assert_eq!(v["category"], json!("csa"));
        assert_eq!(v["subtype"], json!("rape"));
        assert_eq!(
            v["flags"],
            json!({"abducted_then_abused": true, "murdered": false, "recorded_online": true,
                   "extortion": true})
        );
        assert_eq!(v["place"], json!("field"));
        assert_eq!(
            v["area"],
            json!({"province": "NM", "district": "NM01", "tehsil": "NM01T1",
                   "locality": "rural", "point": null}),
            "{which}: the point never leaves the server"
        );
        assert_eq!(v["reported_to_police"], json!("yes"));
        assert_eq!(v["case_registered"], json!("yes"));
        assert_eq!(v["stage"], json!("challan"));
        assert_eq!(
            v["sources"],
            json!([
                {"outlet": "Valley Herald", "date": {"year": 2022, "month": 3, "day": 15},
                 "link": "https://herald.example/2022/03/15/a"},
                {"outlet": "Evening Star", "date": {"year": 2022, "month": 3, "day": 16},
                 "link": null}
            ])
        );
        assert_eq!(
            v["victims"],
            json!([
                {"pid": "M-10-V1", "sex": "female", "age": {"years": 12},
                 "relationships": [[0, "neighbour"]]},
                {"pid": "M-10-V2", "sex": "male", "age": {"band": "6-10"},
                 "relationships": [[0, "neighbour"], [1, "stranger"]]}
            ])
        );
        assert_eq!(
            v["abusers"],
            json!([
                {"pid": "M-10-A1", "sex": "male", "age_band": "19-30", "juvenile": false,
                 "category": "neighbour"},
                {"pid": "M-10-A2", "sex": "male", "age_band": "16-17", "juvenile": true,
                 "category": "stranger"}
            ])
        );
        let ids = v["identifiers"].as_array().unwrap();
        assert_eq!(ids.len(), 2);
        // Confidence is an f32 in the model (kept in thousandths): 0.8 comes back as the f32
        // nearest to it.
        let mut first = ids[0].clone();
        let confidence = first.as_object_mut().unwrap().remove("confidence").unwrap();
        assert_eq!(
            confidence.as_f64().map(|c| (c * 1000.0).round()),
            Some(800.0)
        );
        assert_eq!(
            first,
            json!({"kind": "vehicle", "value": "LEA1234", "source": "Valley Herald",
                   "first_seen": {"year": 2022, "month": 3, "day": 14},
                   "last_seen": {"year": 2022, "month": 3, "day": 15}})
        );
        assert_eq!(ids[1]["kind"], json!("phone"));
        assert!(
            ids[1]["value"]
                .as_str()
                .unwrap()
                .starts_with("[hidden phone #"),
            "{which}: {}",
            ids[1]
        );
        assert_eq!(ids[1]["source"], json!("curator-key"));
        assert_eq!(ids[1]["confidence"], json!(0.5));
        assert!(!v.to_string().contains("31.25"), "{which}: {v}");
        // Revealed with a reason, the phone is the normalised number.
        let (_, r) = env
            .call(
                "admin-key",
                "GET",
                "/api/v1/cases/incidents/M-10?reveal=1&reason=check",
                None,
            )
            .await;
        assert_eq!(r["identifiers"][1]["value"], json!("+993457654321"));
        // The point is stored, apart.
        let stored = env.store.incidents("test", true).await.unwrap();
        let m10 = stored.iter().find(|i| i.id == "M-10").unwrap();
        let p = m10.area.point.unwrap();
        assert_eq!((p.lat, p.lon), (31.25, 72.5), "{which}");
        assert_eq!(total(&env).await, demo_total + 1, "{which}");

        // The same case from a third paper, a day later: 409 with M-10 as the candidate,
        // nothing saved, nothing masked shown.
        let dup = json!({
            "id": "M-11", "taxonomy": "sahil-2022", "date": "2022-03-15",
            "category": "csa", "subtype": "rape", "province": "NM", "district": "NM01",
            "sources": [{"outlet": "Daily Lantern", "date": "2022-03-17", "link": ""}],
            "victims": [{"sex": "male", "age": "8"}, {"sex": "female", "age": "13"}],
            "identifiers": [{"kind": "phone", "value": "+99 345 7654321"}]
        });
        let (s, v) = env
            .call("curator-key", "POST", "/api/v1/cases/incidents", Some(&dup))
            .await;
        assert_eq!(s, 409, "{which}: {v}");
        let cands = v["duplicates"].as_array().unwrap();
        assert_eq!(cands.len(), 1, "{which}: {v}");
        let k = &cands[0];
        assert_eq!(k["id"], json!("M-10"));
        assert_eq!(k["date"], json!("2022-03-14"));
        assert_eq!(k["district"], json!("NM01"));
        assert_eq!(k["province"], json!("NM"));
        assert_eq!(k["category"], json!("csa"));
        assert_eq!(k["subtype"], json!("rape"));
        assert_eq!(k["outlets"], json!(["Valley Herald", "Evening Star"]));
        assert_eq!(
            k["why"],
            json!([
                "same district NM01",
                "same category csa (rape)",
                "same victims: female 11-15, male 6-10",
                "dates 2022-03-14 and 2022-03-15, 1 day apart (at most 2)",
                "reported by different outlets"
            ]),
            "{which}"
        );
        let text = v.to_string();
        for secret in ["7654321", "LEA1234", "31.25", "identifiers"] {
            assert!(!text.contains(secret), "{which}: {secret} in {text}");
        }
        let (s, _) = env
            .call("admin-key", "GET", "/api/v1/cases/incidents/M-11", None)
            .await;
        assert_eq!(s, 404, "{which}");
        assert_eq!(env.audit("cases.entry.duplicates").await.len(), 1);

        // Added as a source of M-10 instead: three sources, still one incident in statistics.
        let source = json!({"outlet": "Daily Lantern", "date": "2022-03-17", "link": ""});
        for (key, want) in [
            ("viewer-key", 403),
            ("matcher-key", 403),
            ("scoped-key", 404),
        ] {
            let (s, v) = env
                .call(
                    key,
                    "POST",
                    "/api/v1/cases/incidents/M-10/sources",
                    Some(&source),
                )
                .await;
            assert_eq!(s, want, "{which}: {key}: {v}");
        }
        let (s, v) = env
            .call(
                "curator-key",
                "POST",
                "/api/v1/cases/incidents/M-10/sources",
                Some(&source),
            )
            .await;
        assert_eq!(s, 201, "{which}: {v}");
        assert_eq!(v["sources"], json!(3));
        let (s, v) = env
            .call(
                "admin-key",
                "POST",
                "/api/v1/cases/incidents/M-10/sources",
                Some(&source),
            )
            .await;
        assert_eq!(s, 409, "{which}: the same outlet, date and link again: {v}");
        let (s, v) = env
            .call(
                "admin-key",
                "POST",
                "/api/v1/cases/incidents/M-10/sources",
                Some(&json!({"outlet": "Daily Lantern", "date": "2022-03-01",
                             "link": "ftp://x"})),
            )
            .await;
        assert_eq!(s, 422, "{which}: {v}");
        assert_eq!(error_fields(&v), ["link"], "{which}: {v}");
        let (s, v) = env
            .call(
                "admin-key",
                "POST",
                "/api/v1/cases/incidents/M-10/sources",
                Some(&json!({"outlet": "Daily Lantern", "date": "2022-03-01"})),
            )
            .await;
        assert_eq!(s, 422, "{which}: {v}");
        assert_eq!(
            error_fields(&v),
            ["date"],
            "{which}: before the incident: {v}"
        );
        let (_, v) = env
            .call("admin-key", "GET", "/api/v1/cases/incidents/M-10", None)
            .await;
        assert_eq!(
            v["sources"][2],
            json!({"outlet": "Daily Lantern", "date": {"year": 2022, "month": 3, "day": 17},
                   "link": null})
        );
        assert_eq!(v["sources"].as_array().unwrap().len(), 3);
        assert_eq!(total(&env).await, demo_total + 1, "{which}: counted once");
        let adds = env.audit("cases.source.add").await;
        assert_eq!(adds.len(), 1, "{which}");
        assert_eq!(adds[0].actor, "curator-key");
        assert!(adds[0].detail.contains("M-10") && adds[0].detail.contains("Daily Lantern"));

        // Or saved as a new incident when the analyst says it is another case.
        let mut forced = dup.clone();
        forced["id"] = json!("M-12");
        forced["sources"][0]["outlet"] = json!("Morning Bell");
        forced["force_new"] = json!(true);
        let (s, v) = env
            .call(
                "admin-key",
                "POST",
                "/api/v1/cases/incidents",
                Some(&forced),
            )
            .await;
        assert_eq!(s, 201, "{which}: {v}");
        assert_eq!(v["duplicates"], json!(["M-10"]));
        assert_eq!(total(&env).await, demo_total + 2, "{which}");
        let entries = env.audit("cases.entry").await;
        assert!(
            entries
                .iter()
                .any(|e| e.detail.contains("M-12") && e.detail.contains("\"force_new\":true")),
            "{which}"
        );

        // A scoped key enters inside its scope, and only there.
        let mut inside = full_entry();
        inside["id"] = json!("M-20");
        inside["province"] = json!("RL");
        inside["district"] = json!("RL01");
        inside["tehsil"] = json!("RL01T2");
        let (s, v) = env
            .call(
                "scoped-key",
                "POST",
                "/api/v1/cases/incidents",
                Some(&inside),
            )
            .await;
        assert_eq!(s, 201, "{which}: {v}");
        let (s, v) = env
            .call("scoped-key", "GET", "/api/v1/cases/incidents/M-20", None)
            .await;
        assert_eq!(s, 200, "{which}");
        assert_eq!(v["area"]["tehsil"], json!("RL01T2"));
        let mut outside = full_entry();
        outside["id"] = json!("M-21");
        let (s, v) = env
            .call(
                "scoped-key",
                "POST",
                "/api/v1/cases/incidents",
                Some(&outside),
            )
            .await;
        assert_eq!(s, 422, "{which}: {v}");
        assert_eq!(error_fields(&v), ["district"]);
        env.stop().await;
    }
}

/// The server keeps the registry in memory between changes: a save made through another
/// handle on the same store (another process, a CLI import) is counted by the very next
/// request, and a request after no change answers the same.
#[test]
fn a_change_by_another_process_is_seen_by_the_next_request() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for db in vigil_testkit::postgres::databases("registry_in_memory") {
        rt.block_on(async {
            let which = db.name;
            let env = Env::start(db).await;
            let total = |v: &Value| v["total"].as_u64().unwrap();
            let stats = "/api/v1/cases/stats?rows=year&k=1";
            let (s, v) = env.call("admin-key", "GET", stats, None).await;
            assert_eq!(s, 200, "{which}");
            let n = env.demo.incidents.len() as u64;
            assert_eq!(total(&v), n, "{which}");
            let (_, again) = env.call("admin-key", "GET", stats, None).await;
            assert_eq!(again, v, "{which}");
            // The network analysis is kept too.
            let (member, members) = net1(&env.demo);
            let network = format!("/api/v1/cases/networks/{member}");
            let ids = |v: &Value| -> Vec<String> {
                v["incidents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_string())
                    .collect()
            };
            let (s, net) = env.call("admin-key", "GET", &network, None).await;
            assert_eq!(s, 200, "{which}");
            assert_eq!(ids(&net).len(), members.len(), "{which}");
            let (_, again) = env.call("admin-key", "GET", &network, None).await;
            assert_eq!(again, net, "{which}");
            // Analyses are kept per scope: a curator limited to another province does not get
            // the admin's.
            let (s, _) = env.call("scoped-key", "GET", &network, None).await;
            assert_eq!(
                s, 404,
                "{which}: the network lies outside the scoped key's province"
            );
            // Another handle on the same database (the CLI, a second server) adds two
            // incidents (one a second report of a network member, with its identifiers) and
            // a source.
            let other = Store::open(&env.db.url).await.unwrap();
            let mut two: Vec<_> = env.demo.incidents[..2].to_vec();
            for (k, i) in two.iter_mut().enumerate() {
                i.id = format!("X-{k}");
            }
            let mut copy = env
                .demo
                .incidents
                .iter()
                .find(|i| i.id == member)
                .unwrap()
                .clone();
            copy.id = "X-net".into();
            two[0] = copy;
            other.save_incidents(&two, "cli:test").await.unwrap();
            let (_, v) = env.call("admin-key", "GET", stats, None).await;
            assert_eq!(total(&v), n + 2, "{which}: the new incidents not counted");
            let (_, net) = env.call("admin-key", "GET", &network, None).await;
            assert!(
                ids(&net).contains(&"X-net".to_string()),
                "{which}: the network analysis did not see the new incident: {net}"
            );
            let (s, inc) = env
                .call("admin-key", "GET", "/api/v1/cases/incidents/X-1", None)
                .await;
            assert_eq!(s, 200, "{which}");
            let sources = inc["sources"].as_array().map_or(0, Vec::len);
            let src = vigil_cases::model::Source {
                outlet: "Another Paper".into(),
                date: vigil_cases::model::Date::new(2023, 1, 2).unwrap(),
                link: None,
            };
            other
                .add_case_source("X-1", &src, "cli:test")
                .await
                .unwrap();
            let (_, inc) = env
                .call("admin-key", "GET", "/api/v1/cases/incidents/X-1", None)
                .await;
            assert_eq!(
                inc["sources"].as_array().map_or(0, Vec::len),
                sources + 1,
                "{which}: {inc}"
            );
            // A replacement by the other handle: the copy in memory takes it (merged by
            // reference; the registry is not read whole again).
            let mut replaced = env.demo.incidents[5].clone();
            replaced.category = "missing".into();
            replaced.subtype = None;
            other
                .save_incidents(std::slice::from_ref(&replaced), "cli:test")
                .await
                .unwrap();
            let (_, got) = env
                .call(
                    "admin-key",
                    "GET",
                    &format!("/api/v1/cases/incidents/{}", replaced.id),
                    None,
                )
                .await;
            assert_eq!(got["category"], json!("missing"), "{which}: {got}");
            let (_, v) = env.call("admin-key", "GET", stats, None).await;
            assert_eq!(total(&v), n + 2, "{which}");
            let reads = env.audit("cases.read").await;
            assert!(
                reads.iter().any(|e| e.detail.contains("changed_since")),
                "{which}: no incremental read in {reads:?}"
            );
            other.close().await;
            env.stop().await;
        });
    }
}
