//! The cases pages in a real headless Chromium (through chromedriver, `support/webdriver.rs`):
//! an analyst opens the graph page of the demo's first planted network, sees its incidents
//! drawn and listed, confirms a link; hostile text in an outlet and in a decision's note stays
//! text; a viewer's session sees counts but no names and is refused the graph. The entry form:
//! two victims and an abuser with relationships, errors shown beside their fields, the saved
//! incident's page, then the same case from another paper offered as a duplicate and added as a
//! source.
//!
//! Without Debian's `chromium` and `chromium-driver` it prints `SKIPPED cases browser test: …`
//! and passes, unless `VIGIL_REQUIRE_BROWSER=1` (CI), when it fails.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use vigil_cases::demo::DemoOptions;
use vigil_server::{Server, ServerConfig};
use vigil_store::Store;

#[path = "support/webdriver.rs"]
mod webdriver;
use webdriver::Driver;

const PASSWORD: &str = "correct horse battery staple";
const VIEWER_PASSWORD: &str = "viewer password 123";
const HOSTILE_OUTLET: &str = "<img src=x onerror=\"window.pwned=1\">Daily <b>Lantern</b>";
const HOSTILE_NOTE: &str = "</script><script>window.pwned=2</script>";

async fn login(d: &Driver, base: &str, name: &str, password: &str) {
    d.goto(&format!("{base}/ui/login")).await;
    d.type_into("#name", name).await;
    d.type_into("#password", password).await;
    d.click("#login").await;
    d.wait_path("/ui").await;
}

async fn pwned(d: &Driver) -> Value {
    d.exec(
        "return window.pwned === undefined ? null : window.pwned",
        json!([]),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_page_decisions_and_a_viewer_in_headless_chromium() {
    let Some(d) = Driver::start_or_skip("cases browser test").await else {
        return;
    };
    let db = vigil_testkit::postgres::sqlite_database();
    let store = Store::open(&db.url).await.unwrap();
    webdriver::add_ui_user(&store, "alice", "admin", PASSWORD).await;
    webdriver::add_ui_user(&store, "victor", "viewer", VIEWER_PASSWORD).await;
    let mut demo = vigil_cases::demo::generate(&DemoOptions {
        seed: 11,
        first_year: 2021,
        last_year: 2022,
        per_year: 60,
        network_sizes: vec![6, 4],
        duplicate_share: 0.0,
    });
    let members = demo.truth.networks[0].incidents.clone();
    let first = members[0].clone();
    let phones: Vec<String> = demo
        .incidents
        .iter()
        .flat_map(|i| &i.identifiers)
        .filter(|x| x.kind == vigil_cases::IdentifierKind::Phone)
        .map(|x| x.value.clone())
        .collect();
    assert!(!phones.is_empty());
    demo.incidents
        .iter_mut()
        .find(|i| i.id == first)
        .unwrap()
        .sources[0]
        .outlet = HOSTILE_OUTLET.into();
    store.save_case_areas("test", &demo.areas).await.unwrap();
    store.save_incidents(&demo.incidents, "test").await.unwrap();
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

    // The analyst: the graph of the first planted network, every member drawn and listed.
    login(&d, &base, "alice", PASSWORD).await;
    d.goto(&format!("{base}/ui/cases/networks/{first}")).await;
    d.find("#graph .node").await;
    let drawn: Vec<String> = d
        .exec(
            "return Array.from(document.querySelectorAll('#graph .node')).map(n => n.dataset.id)",
            json!([]),
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut want = members.clone();
    want.sort();
    let mut got = drawn.clone();
    got.sort();
    assert_eq!(got, want, "the graph draws the planted network's incidents");
    let listed = d.text_of("#members").await;
    for m in &members {
        assert!(listed.contains(m.as_str()), "{m} not listed: {listed}");
    }
    // Nodes are placed inside the picture, not on top of each other.
    let spread = d
        .exec(
            "const c = Array.from(document.querySelectorAll('#graph .node circle')).map(e => \
             [+e.getAttribute('cx'), +e.getAttribute('cy')]); let min = 1e9; \
             for (let i = 0; i < c.length; i++) for (let j = i + 1; j < c.length; j++) \
             min = Math.min(min, Math.hypot(c[i][0] - c[j][0], c[i][1] - c[j][1])); \
             return [min, c.every(p => p[0] >= 0 && p[0] <= 720 && p[1] >= 0 && p[1] <= 480)]",
            json!([]),
        )
        .await;
    assert!(spread[0].as_f64().unwrap() > 5.0, "nodes overlap: {spread}");
    assert_eq!(
        spread[1],
        json!(true),
        "a node outside the picture: {spread}"
    );
    // Every link explained in words; names masked.
    let links = d.text_of("#links").await;
    assert!(
        links.contains(" (score ") && links.contains("named by"),
        "{links}"
    );
    assert!(
        !phones.iter().any(|p| links.contains(p.as_str())),
        "a phone shown: {links}"
    );

    // Confirm the first link with a hostile note: recorded, shown back as text.
    d.type_into("#links li.link input.note", HOSTILE_NOTE).await;
    d.click("#links li.link button.confirm").await;
    let started = std::time::Instant::now();
    loop {
        let r = d.text_of("#links li.link .result").await;
        if r == "Confirmed." {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no confirmation: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let decisions = store.case_link_decisions().await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert!(decisions[0].confirmed);
    assert_eq!(decisions[0].actor, "alice");
    assert_eq!(decisions[0].note, HOSTILE_NOTE);
    d.goto(&format!("{base}/ui/cases/networks/{first}")).await;
    d.find("#graph .node").await;
    assert!(d.text_of("#links").await.contains(HOSTILE_NOTE));
    assert_eq!(pwned(&d).await, Value::Null, "script ran from a note");

    // The incident page: the hostile outlet is text.
    d.goto(&format!("{base}/ui/cases/incidents/{first}")).await;
    assert!(d.text_of("#sources").await.contains(HOSTILE_OUTLET));
    assert_eq!(pwned(&d).await, Value::Null, "script ran from an outlet");

    // The viewer: counts, no names, no records.
    d.cmd("DELETE", "/cookie", None).await;
    login(&d, &base, "victor", VIEWER_PASSWORD).await;
    d.goto(&format!("{base}/ui/cases?rows=district")).await;
    let total = d.text_of("#total").await;
    assert_eq!(total, demo.incidents.len().to_string());
    let html = d
        .exec("return document.documentElement.outerHTML", json!([]))
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !html.contains("I-0"),
        "an incident reference on the viewer's page"
    );
    assert!(!phones.iter().any(|p| html.contains(p.as_str())));
    d.goto(&format!("{base}/ui/cases/networks/{first}")).await;
    d.find("#forbidden").await;
    assert!(d.find_all("#graph").await.is_empty());

    d.quit().await;
    server.shutdown().await;
    store.close().await;
}

/// Chooses `value` in the select `css` (as a user would; WebDriver has no select command).
async fn choose(d: &Driver, css: &str, value: &str) {
    d.find(css).await;
    let got = d
        .exec(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
             e.dispatchEvent(new Event('change', {bubbles: true})); return e.value",
            json!([css, value]),
        )
        .await;
    assert_eq!(got, json!(value), "{css} has no option {value}");
}

/// Fills the incident part of the entry form (one source row is there from the start).
async fn fill_incident(d: &Driver, id: &str, date: &str, outlet: &str, report_date: &str) {
    d.type_into("#e-id", id).await;
    d.type_into("#e-date", date).await;
    choose(d, "#e-category", "csa").await;
    d.type_into("#e-subtype", "rape").await;
    d.type_into("#e-province", "NM").await;
    d.type_into("#e-district", "NM01").await;
    let source = "#e-sources .row.source:nth-child(1)";
    d.type_into(&format!("{source} [data-field=outlet]"), outlet)
        .await;
    d.type_into(&format!("{source} [data-field=date]"), report_date)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_form_duplicates_and_add_as_source_in_headless_chromium() {
    let Some(d) = Driver::start_or_skip("cases entry browser test").await else {
        return;
    };
    let db = vigil_testkit::postgres::sqlite_database();
    let store = Store::open(&db.url).await.unwrap();
    webdriver::add_ui_user(&store, "alice", "curator", PASSWORD).await;
    let demo = vigil_cases::demo::generate(&DemoOptions {
        seed: 11,
        first_year: 2021,
        last_year: 2022,
        per_year: 60,
        network_sizes: vec![6, 4],
        duplicate_share: 0.0,
    });
    store.save_case_areas("test", &demo.areas).await.unwrap();
    store.save_incidents(&demo.incidents, "test").await.unwrap();
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
    login(&d, &base, "alice", PASSWORD).await;

    // The form: two victims, one abuser, each victim's relationship to the abuser.
    d.goto(&format!("{base}/ui/cases/new")).await;
    d.find("#e-victims .row.victim").await;
    fill_incident(&d, "M-50", "2022-03-14", "Valley Herald", "2022-03-15").await;
    choose(&d, "#e-stage", "trial").await;
    d.click("#e-flag-murdered").await;
    d.type_into("#e-tehsil", "NM01T1").await;
    d.click("#add-abuser").await;
    d.click("#add-victim").await;
    let v1 = "#e-victims .row.victim:nth-child(1)";
    let v2 = "#e-victims .row.victim:nth-child(2)";
    let a1 = "#e-abusers .row.abuser:nth-child(1)";
    choose(&d, &format!("{a1} [data-field=sex]"), "male").await;
    choose(&d, &format!("{a1} [data-field=category]"), "neighbour").await;
    d.type_into(&format!("{a1} [data-field=age_band]"), "19-30")
        .await;
    choose(&d, &format!("{v1} [data-field=sex]"), "female").await;
    d.type_into(&format!("{v1} [data-field=age]"), "12").await;
    choose(&d, &format!("{v1} .relationships select"), "neighbour").await;
    choose(&d, &format!("{v2} [data-field=sex]"), "male").await;
    d.type_into(&format!("{v2} [data-field=age]"), "old").await;
    choose(&d, &format!("{v2} .relationships select"), "relative").await;
    d.type_into("#e-lat", "31.5").await;
    d.type_into("#e-lon", "72.25").await;
    d.click("#add-identifier").await;
    let x1 = "#e-identifiers .row.identifier:nth-child(1)";
    choose(&d, &format!("{x1} [data-field=kind]"), "vehicle").await;
    d.type_into(&format!("{x1} [data-field=value]"), "lea-1234")
        .await;
    d.type_into(&format!("{x1} [data-field=confidence]"), "2")
        .await;
    d.type_into(&format!("{x1} [data-field=first_seen]"), "2022-03-14")
        .await;
    // A third victim added and removed again: the form keeps two.
    d.click("#add-victim").await;
    d.click("#e-victims .row.victim:nth-child(3) button.remove")
        .await;
    assert_eq!(d.find_all("#e-victims .row.victim").await.len(), 2);

    // An age that is no age: the error beside that victim's age, nothing saved.
    d.click("#entry-save").await;
    let slot = format!("{v2} [data-error-for=\"victims[1].age\"]");
    let started = std::time::Instant::now();
    loop {
        let t = d.text_of(&slot).await;
        if t.contains("victims[1].age") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no error beside the age: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = d
        .text_of(&format!(
            "{x1} [data-error-for=\"identifiers[0].confidence\"]"
        ))
        .await;
    assert!(t.contains("outside 0..=1"), "{t:?}");
    assert!(!store.case_incident_exists("M-50").await.unwrap());
    d.type_into(&format!("{v2} [data-field=age]"), "7").await;
    d.type_into(&format!("{x1} [data-field=confidence]"), "0.75")
        .await;
    d.click("#entry-save").await;
    d.wait_path("/ui/cases/incidents/M-50").await;
    let victims = d.text_of("#victims").await;
    assert!(
        victims.contains("M-50-V1") && victims.contains("neighbour of M-50-A1"),
        "{victims}"
    );
    assert!(victims.contains("relative of M-50-A1"), "{victims}");
    assert!(d.text_of("#abusers").await.contains("19-30"));
    assert_eq!(d.text_of("#d-stage").await, "trial");
    assert_eq!(d.text_of("#d-flags").await, "murdered");
    assert_eq!(d.text_of("#d-tehsil").await, "NM01T1");
    let saved = store.incidents("test", true).await.unwrap();
    let m50 = saved.iter().find(|i| i.id == "M-50").unwrap();
    assert_eq!(
        m50.victims[1].relationships,
        vec![(0, vigil_cases::model::AbuserCategory::Relative)]
    );
    let p = m50.area.point.unwrap();
    assert_eq!((p.lat, p.lon), (31.5, 72.25));
    assert_eq!(m50.identifiers.len(), 1);
    let x = &m50.identifiers[0];
    assert_eq!(
        (x.kind, x.value.as_str(), x.confidence, x.source.as_str()),
        (
            vigil_cases::IdentifierKind::Vehicle,
            "LEA1234",
            0.75,
            "alice"
        )
    );
    assert_eq!(x.first_seen, vigil_cases::model::Date::new(2022, 3, 14));
    assert!(m50.flags.murdered && !m50.flags.extortion);

    // The same case from another paper: the candidate is shown and the report added to it.
    d.goto(&format!("{base}/ui/cases/new")).await;
    d.find("#e-victims .row.victim").await;
    fill_incident(&d, "M-51", "2022-03-15", "Daily Lantern", "2022-03-16").await;
    d.click("#add-victim").await;
    choose(&d, &format!("{v1} [data-field=sex]"), "male").await;
    d.type_into(&format!("{v1} [data-field=age]"), "8").await;
    choose(&d, &format!("{v2} [data-field=sex]"), "female").await;
    d.type_into(&format!("{v2} [data-field=age]"), "11").await;
    d.click("#entry-save").await;
    let cand = d.find("#duplicate-list li.candidate").await;
    let text = d.text(&cand).await;
    assert!(
        text.contains("M-50")
            && text.contains("Valley Herald")
            && text.contains("same district NM01"),
        "{text}"
    );
    assert!(!store.case_incident_exists("M-51").await.unwrap());
    d.click("#duplicate-list li.candidate button.add-source")
        .await;
    d.wait_path("/ui/cases/incidents/M-50").await;
    let sources = d.text_of("#sources").await;
    assert!(
        sources.contains("Valley Herald") && sources.contains("Daily Lantern"),
        "{sources}"
    );
    assert!(!store.case_incident_exists("M-51").await.unwrap());
    let m50 = store
        .incidents("test", false)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.id == "M-50")
        .unwrap();
    assert_eq!(m50.sources.len(), 2);
    assert_eq!(pwned(&d).await, Value::Null);

    d.quit().await;
    server.shutdown().await;
    store.close().await;
}
