//! The NCMEC fetcher against the fake server (127.0.0.1 only): paging, windows, deletions,
//! out-of-order entries, malformed pages, authentication, HTTP failures, and interrupted
//! fetches that resume to exactly the content of an uninterrupted one.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use vigil_fetch::{Error, ExchangeConfig, FetchOptions, NcmecConfig, Status, add_exchange, fetch};
use vigil_store::{NewBank, Store};

use crate::fake::{Event, Fake, add, delete};
use crate::util::*;

const WINDOW: u64 = 100_000;
const UNTIL: i64 = 300_000;

/// The server's history, in the order it serves it (not time order). Windows of 100,000 s up to
/// 300,000 and pages of 3 give:
///
/// * window 1 `[0, 100000]`: pages `[del c@400, a@100, x@1000]`, `[c@300, d@50, b@200]`,
///   `[e@250, 7/dup@10, 9/dup@20]`, `[f@100000]`: c's addition comes a page after its newer
///   deletion (stale); `dup` is an id of two members (two items);
/// * window 2 `[100000, 200000]`: `[f@100000, del x@150000, h@199999]`: f again (on the
///   boundary: stale), x deleted (an entry of an earlier window);
/// * window 3 `[200000, 300000]`: `[k@300000]`.
fn history() -> Vec<Event> {
    vec![
        delete("c", 400),
        add("a", 100, 1),
        add("x", 1000, 24),
        add("c", 300, 3),
        add("d", 50, 4),
        add("b", 200, 2),
        add("e", 250, 5),
        add("dup", 10, 8),
        Event {
            member: 9,
            ..add("dup", 20, 9)
        },
        add("f", 100_000, 6),
        delete("x", 150_000),
        add("h", 199_999, 7),
        add("k", 300_000, 11),
    ]
}

/// The bank after the whole history.
fn expected() -> Vec<(String, Vec<String>)> {
    expect(&[
        ("7-a", 1),
        ("7-b", 2),
        ("7-d", 4),
        ("7-e", 5),
        ("7-dup", 8),
        ("9-dup", 9),
        ("7-f", 6),
        ("7-h", 7),
        ("7-k", 11),
    ])
}

fn config(base: &str) -> ExchangeConfig {
    ExchangeConfig::Ncmec(NcmecConfig {
        base_url: base.to_string(),
        user_env: None,
        password_env: None,
        start: 0,
    })
}

async fn setup(s: &Store, name: &str, base: &str) {
    s.create_bank("t", &NewBank::block(name)).await.unwrap();
    add_exchange(s, "t", name, name, &config(base))
        .await
        .unwrap();
}

fn checkpoint(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_windows_deletions_and_out_of_order_entries() {
    for db in stores("pages_windows_deletions_and_out_of_order_entries").await {
        let s = &db.store;
        let fake = Fake::start(history(), 3).await;
        setup(s, "n", &fake.base).await;
        let r = fetch(s, "n", &options(UNTIL, WINDOW)).await.unwrap();
        assert!(r.error.is_none(), "{}: {:?}", db.name, r.error);
        assert_eq!(r.status(), Status::Ok);
        assert!(r.complete);
        // 4 + 1 + 1 pages; 8 + 1 + 1 records; deletions of c and x (x removed); c@300 and the
        // second f are stale.
        assert_eq!(
            (
                r.pages,
                r.records,
                r.deletions,
                r.removed,
                r.stale,
                r.skipped
            ),
            (6, 10, 2, 1, 2, 0),
            "{}",
            db.name
        );
        assert_eq!(items(s, "n").await, expected(), "{}", db.name);
        let targets = fake.targets();
        assert_eq!(targets.len(), 6, "{targets:#?}");
        assert!(targets[0].starts_with(
            "/hashsharing/v2/entries?from=1970-01-01T00%3A00%3A00Z&to=1970-01-02T03%3A46%3A40Z"
        ));
        for (i, start) in [(1, 3), (2, 6), (3, 9)] {
            assert!(
                targets[i].contains("from=1970-01-01T00:00:00Z&to=1970-01-02T03:46:40Z")
                    && targets[i].contains(&format!("start={start}&")),
                "{}",
                targets[i]
            );
        }
        assert!(targets[4].contains("from=1970-01-02T03%3A46%3A40Z&to=1970-01-03T07%3A33%3A20Z"));
        let e = s.exchange("n").await.unwrap();
        assert_eq!(
            checkpoint(e.checkpoint.as_deref().unwrap()),
            serde_json::json!({"from": 300_000, "to": null, "next": null})
        );
        assert_eq!((e.records, e.deletions, e.errors), (10, 2, 0));
        assert_eq!(e.last_status.as_deref(), Some("ok"));
        assert_eq!(e.last_error, None);
        // Provenance: the exchange, and the member's name.
        let c = s.content("n", 1).await.unwrap();
        assert_eq!(c.source, "exchange:n");

        // Nothing new: no request at all.
        let r = fetch(s, "n", &options(UNTIL, WINDOW)).await.unwrap();
        assert_eq!((r.pages, r.records, r.complete), (0, 0, true));
        assert_eq!(fake.targets().len(), 6);

        // Later: a deletion of an entry fetched long ago, and a new entry.
        fake.set(|b| {
            b.events.push(delete("a", 350_000));
            b.events.push(add("m", 360_000, 12));
        });
        let r = fetch(s, "n", &options(400_000, WINDOW)).await.unwrap();
        // The window [300000, 400000] also holds k@300000 again (stale).
        assert_eq!(
            (r.pages, r.records, r.deletions, r.removed, r.stale),
            (1, 1, 1, 1, 1),
            "{}",
            db.name
        );
        let mut want = expected();
        want.retain(|(id, _)| id != "7-a");
        want.extend(expect(&[("7-m", 12)]));
        want.sort();
        assert_eq!(items(s, "n").await, want, "{}", db.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_page_stops_the_fetch_and_is_retried() {
    for db in stores("a_malformed_page_stops_the_fetch_and_is_retried").await {
        let s = &db.store;
        let fake = Fake::start(history(), 3).await;
        fake.set(|b| {
            b.malformed.insert(3);
        });
        setup(s, "n", &fake.base).await;
        let r = fetch(s, "n", &options(UNTIL, WINDOW)).await.unwrap();
        assert_eq!(r.status(), Status::Error, "{}", db.name);
        let err = r.error.as_ref().unwrap();
        assert!(matches!(err, Error::MalformedPage { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("exchange \"n\": malformed page http://127.0.0.1:")
                && msg.contains("start=3")
                && msg.contains("checkpoint kept"),
            "{msg}"
        );
        assert_eq!(r.pages, 1);
        // The first page is applied; the checkpoint names the page that failed.
        assert_eq!(items(s, "n").await, expect(&[("7-a", 1), ("7-x", 24)]));
        let e = s.exchange("n").await.unwrap();
        assert_eq!(e.last_status.as_deref(), Some("error"));
        assert_eq!(e.last_error.as_deref(), Some(msg.as_str()));
        let cp = checkpoint(e.checkpoint.as_deref().unwrap());
        assert_eq!(
            (&cp["from"], &cp["to"]),
            (&Value::from(0), &Value::from(100_000))
        );
        assert!(
            cp["next"]
                .as_str()
                .unwrap()
                .contains("start=3&size=3&max=10")
        );

        // Still broken: the same page is asked for again, and nothing moves.
        let r = fetch(s, "n", &options(UNTIL, WINDOW)).await.unwrap();
        assert_eq!((r.pages, r.status()), (0, Status::Error));
        assert_eq!(s.exchange("n").await.unwrap().checkpoint, e.checkpoint);

        // Fixed: the fetch completes, every record once, nothing skipped.
        fake.set(|b| b.malformed.clear());
        let r = fetch(s, "n", &options(UNTIL, WINDOW)).await.unwrap();
        assert_eq!(r.status(), Status::Ok, "{:?}", r.error);
        assert_eq!(r.pages, 5);
        assert_eq!(items(s, "n").await, expected(), "{}", db.name);
        let e = s.exchange("n").await.unwrap();
        assert_eq!(
            (e.records, e.deletions, e.errors),
            (10, 2, 0),
            "{}",
            db.name
        );
        assert_eq!((e.last_status.as_deref(), e.last_error), (Some("ok"), None));
        let asked: Vec<String> = fake
            .targets()
            .into_iter()
            .filter(|t| t.contains("start=3&"))
            .collect();
        assert_eq!(asked.len(), 3, "the broken page, asked by each fetch");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_entries_are_counted_and_skipped() {
    let db = sqlite().await;
    let s = &db.store;
    let mut events = history();
    events.insert(
        5,
        Event {
            bad: true,
            ..add("zz", 70, 99)
        },
    );
    let fake = Fake::start(events, 3).await;
    setup(s, "n", &fake.base).await;
    let r = fetch(s, "n", &options(UNTIL, WINDOW)).await.unwrap();
    assert_eq!(r.status(), Status::Skipped, "{:?}", r.error);
    assert_eq!((r.skipped, r.records), (1, 10));
    assert!(
        r.skipped_shown[0].contains("no <id>"),
        "{:?}",
        r.skipped_shown
    );
    assert_eq!(items(s, "n").await, expected());
    let e = s.exchange("n").await.unwrap();
    assert_eq!((e.errors, e.last_status.as_deref()), (1, Some("skipped")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_and_secrets_stay_secret() {
    const PASSWORD: &str = "correct-horse-battery-42";
    const WRONG: &str = "wrong-password-XYZ-17";
    let db = sqlite().await;
    let s = &db.store;
    let fake = Fake::start(history(), 3).await;
    fake.set(|b| b.credentials = Some(("hotline".into(), PASSWORD.into())));
    s.create_bank("t", &NewBank::block("n")).await.unwrap();
    let cfg = ExchangeConfig::Ncmec(NcmecConfig {
        base_url: fake.base.clone(),
        user_env: Some("NCMEC_USER".into()),
        password_env: Some("NCMEC_PASSWORD".into()),
        start: 0,
    });
    add_exchange(s, "t", "n", "n", &cfg).await.unwrap();
    let with = |password: &str| FetchOptions {
        vars: Some(HashMap::from([
            ("NCMEC_USER".to_string(), "hotline".to_string()),
            ("NCMEC_PASSWORD".to_string(), password.to_string()),
        ])),
        ..options(UNTIL, WINDOW)
    };

    // No variables: named, not guessed.
    let r = fetch(
        s,
        "n",
        &FetchOptions {
            vars: Some(HashMap::new()),
            ..options(UNTIL, WINDOW)
        },
    )
    .await
    .unwrap();
    let msg = r.error.unwrap().to_string();
    assert!(
        msg.contains("NCMEC_USER") && msg.contains("not set"),
        "{msg}"
    );
    assert!(fake.targets().is_empty());

    let wrong = with(WRONG);
    assert!(!format!("{wrong:?}").contains(WRONG));
    let r = fetch(s, "n", &wrong).await.unwrap();
    let err = r.error.unwrap();
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("refused the credentials (HTTP 401)")
            && msg.contains("$NCMEC_USER and $NCMEC_PASSWORD"),
        "{msg}"
    );
    assert!(!msg.contains(WRONG) && !format!("{err:?}").contains(WRONG));
    let e = s.exchange("n").await.unwrap();
    assert_eq!(e.last_error.as_deref(), Some(msg.as_str()));
    assert!(!e.config.contains(WRONG) && !e.config.contains(PASSWORD));
    assert_eq!(e.checkpoint, None);
    assert_eq!(
        fake.seen.lock().unwrap().auth.len(),
        1,
        "401 is not retried"
    );

    let r = fetch(s, "n", &with(PASSWORD)).await.unwrap();
    assert_eq!(r.status(), Status::Ok, "{:?}", r.error);
    assert_eq!(items(s, "n").await, expected());
    let auth = fake.seen.lock().unwrap().auth.clone();
    assert_eq!(
        auth.last().unwrap().as_deref(),
        // base64("hotline:correct-horse-battery-42")
        Some("Basic aG90bGluZTpjb3JyZWN0LWhvcnNlLWJhdHRlcnktNDI=")
    );
    // Nothing the store kept holds a password.
    for a in s.audit_log(0, 1000).await.unwrap() {
        assert!(
            !a.detail.contains(PASSWORD) && !a.detail.contains(WRONG),
            "{a:?}"
        );
    }
}

/// A server failing after page k, for every k: the fetch stops with the pages before k applied;
/// the next fetch gives exactly the bank and counters of an uninterrupted fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_failing_after_any_page_resumes_to_the_same_bank() {
    for db in stores("a_fetch_failing_after_any_page_resumes_to_the_same_bank").await {
        let s = &db.store;
        for k in 0..6usize {
            let name = format!("k{k}");
            let fake = Fake::start(history(), 3).await;
            fake.set(|b| b.fail_after = Some(k));
            setup(s, &name, &fake.base).await;
            let r = fetch(s, &name, &options(UNTIL, WINDOW)).await.unwrap();
            let err = r.error.as_ref().expect("the server failed");
            assert!(
                matches!(err, Error::Status { status: 500, .. }),
                "{}: {err:?}",
                db.name
            );
            assert_eq!(r.pages, k as u64, "{}", db.name);
            fake.set(|b| b.fail_after = None);
            let r = fetch(s, &name, &options(UNTIL, WINDOW)).await.unwrap();
            assert_eq!(r.status(), Status::Ok, "{}: {:?}", db.name, r.error);
            assert_eq!(r.pages, 6 - k as u64);
            assert_eq!(items(s, &name).await, expected(), "{} k={k}", db.name);
            let e = s.exchange(&name).await.unwrap();
            assert_eq!(
                (e.records, e.deletions, e.errors),
                (10, 2, 0),
                "{} k={k}",
                db.name
            );
        }
    }
}

/// A fetch dropped while waiting for a page (its task aborted) leaves the checkpoint of the last
/// page applied; resuming gives the same bank.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_fetch_resumes_to_the_same_bank() {
    for db in stores("a_dropped_fetch_resumes_to_the_same_bank").await {
        let s = db.store.clone();
        let fake = Fake::start(history(), 3).await;
        fake.set(|b| b.hang_after = Some(3));
        setup(&s, "n", &fake.base).await;
        let task = {
            let s = s.clone();
            tokio::spawn(async move { fetch(&s, "n", &options(UNTIL, WINDOW)).await })
        };
        tokio::time::timeout(Duration::from_secs(60), fake.hung.notified())
            .await
            .expect("the fetch reached page 4");
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        let e = s.exchange("n").await.unwrap();
        let cp = checkpoint(e.checkpoint.as_deref().unwrap());
        assert!(cp["next"].as_str().unwrap().contains("start=9&"), "{cp}");
        assert_eq!(
            e.records, 7,
            "{}: pages 1-3 hold 7 records applied",
            db.name
        );
        fake.set(|b| b.hang_after = None);
        let r = fetch(&s, "n", &options(UNTIL, WINDOW)).await.unwrap();
        assert_eq!(r.status(), Status::Ok, "{:?}", r.error);
        assert_eq!(items(&s, "n").await, expected(), "{}", db.name);
        let e = s.exchange("n").await.unwrap();
        assert_eq!((e.records, e.deletions), (10, 2), "{}", db.name);
    }
}

/// Not a test on its own: the child process of `a_killed_fetch_resumes_to_the_same_bank`.
#[tokio::test]
async fn child_fetch() {
    let (Ok(url), Ok(_)) = (
        std::env::var("VIGIL_TEST_CHILD_URL"),
        std::env::var("VIGIL_TEST_CHILD_FETCH"),
    ) else {
        return;
    };
    let s = Store::open(&url).await.unwrap();
    // Hangs on a page: the parent kills us.
    let _ = fetch(&s, "n", &options(UNTIL, WINDOW)).await;
}

/// A process killed (SIGKILL) while fetching: the store holds the pages applied before, and the
/// next fetch gives the same bank as an uninterrupted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_fetch_resumes_to_the_same_bank() {
    for db in stores("a_killed_fetch_resumes_to_the_same_bank").await {
        let s = &db.store;
        let fake = Fake::start(history(), 3).await;
        fake.set(|b| b.hang_after = Some(2));
        setup(s, "n", &fake.base).await;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "ncmec::child_fetch",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("VIGIL_TEST_CHILD_URL", &db.url)
            .env("VIGIL_TEST_CHILD_FETCH", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let hung = tokio::time::timeout(Duration::from_secs(120), fake.hung.notified()).await;
        child.kill().unwrap();
        child.wait().unwrap();
        hung.expect("the child reached page 3");
        let e = s.exchange("n").await.unwrap();
        assert_eq!(
            e.records, 4,
            "{}: pages 1-2 hold 4 records applied",
            db.name
        );
        fake.set(|b| b.hang_after = None);
        let s2 = Store::open(&db.url).await.unwrap();
        let r = fetch(&s2, "n", &options(UNTIL, WINDOW)).await.unwrap();
        assert_eq!(r.status(), Status::Ok, "{:?}", r.error);
        assert_eq!(r.pages, 4);
        assert_eq!(items(&s2, "n").await, expected(), "{}", db.name);
        let e = s2.exchange("n").await.unwrap();
        assert_eq!((e.records, e.deletions), (10, 2), "{}", db.name);
    }
}

/// HTTP failures give clear errors naming the exchange and the URL; the checkpoint stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_failures_are_clear_errors() {
    let db = sqlite().await;
    let s = &db.store;
    let fake = Fake::start(history(), 3).await;
    setup(s, "n", &fake.base).await;
    let run = |opts: FetchOptions| async move {
        let r = fetch(s, "n", &opts).await.unwrap();
        assert_eq!(r.status(), Status::Error);
        assert_eq!(r.pages, 0);
        let e = s.exchange("n").await.unwrap();
        assert_eq!(e.checkpoint, None);
        assert_eq!(e.last_status.as_deref(), Some("error"));
        r.error.unwrap()
    };

    // 500, retried once.
    fake.set(|b| b.status = Some(500));
    let err = run(FetchOptions {
        retries: 1,
        ..options(UNTIL, WINDOW)
    })
    .await;
    let msg = err.to_string();
    assert!(
        msg.starts_with("exchange \"n\": GET http://127.0.0.1:")
            && msg.contains("HTTP 500: the server failed"),
        "{msg}"
    );
    assert_eq!(fake.seen.lock().unwrap().answered, 2, "one retry");

    fake.set(|b| b.status = Some(404));
    let msg = run(options(UNTIL, WINDOW)).await.to_string();
    assert!(
        msg.contains("HTTP 404: not found (is the base URL right?)"),
        "{msg}"
    );
    fake.set(|b| b.status = None);

    // A page over the size limit.
    fake.set(|b| b.padding = 5000);
    let err = run(FetchOptions {
        max_page_bytes: 4000,
        ..options(UNTIL, WINDOW)
    })
    .await;
    assert!(
        matches!(err, Error::TooLarge { limit: 4000, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("larger than 4000 bytes"));
    fake.set(|b| b.padding = 0);

    // A next link away from the base URL: credentials would follow it.
    for link in [
        "http://127.0.0.2:9/hashsharing/v2/entries?start=3",
        "//127.0.0.2/hashsharing/v2/entries",
        "v2/entries?start=3",
    ] {
        fake.set(|b| b.next_override = Some(link.into()));
        let err = run(options(UNTIL, WINDOW)).await;
        assert!(matches!(err, Error::MalformedPage { .. }), "{err:?}");
        assert!(err.to_string().contains("is not under"), "{err}");
    }
    fake.set(|b| b.next_override = None);

    // No answer in time.
    let answered = fake.seen.lock().unwrap().answered;
    fake.set(|b| b.hang_after = Some(answered));
    let err = run(FetchOptions {
        timeout: Duration::from_millis(300),
        ..options(UNTIL, WINDOW)
    })
    .await;
    assert!(matches!(err, Error::Http { .. }), "{err:?}");
    assert!(
        err.to_string().contains("no complete answer within 300ms"),
        "{err}"
    );

    // Nobody listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    s.create_bank("t", &NewBank::block("gone")).await.unwrap();
    add_exchange(
        s,
        "t",
        "gone",
        "gone",
        &config(&format!("http://127.0.0.1:{port}/x")),
    )
    .await
    .unwrap();
    let r = fetch(s, "gone", &options(UNTIL, WINDOW)).await.unwrap();
    let err = r.error.unwrap();
    assert!(matches!(err, Error::Http { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "exchange \"gone\": GET http://127.0.0.1:{port}/x/v2/entries"
        )),
        "{err}"
    );
}

/// A window whose first page announces too many entries is cut to a quarter before anything is
/// applied; windows with few entries grow again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowded_window_is_shortened() {
    let db = sqlite().await;
    let s = &db.store;
    let events: Vec<Event> = (0..10)
        .map(|i| add(&format!("e{i}"), 10_000 * i + 1, 100 + i as u64))
        .collect();
    let fake = Fake::start(events, 3).await;
    setup(s, "n", &fake.base).await;
    let r = fetch(
        s,
        "n",
        &FetchOptions {
            max_window_entries: 5,
            max_window: Duration::from_secs(100_000),
            window: Duration::from_secs(100_000),
            ..options(100_000, WINDOW)
        },
    )
    .await
    .unwrap();
    assert_eq!(r.status(), Status::Ok, "{:?}", r.error);
    assert_eq!(r.records, 10);
    let want: Vec<(String, u64)> = (0..10).map(|i| (format!("7-e{i}"), 100 + i)).collect();
    let want: Vec<(&str, u64)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    assert_eq!(items(s, "n").await, expect(&want));
    let t = fake.targets();
    // [0, 100000] announces 10: cut to [0, 25000] (3 entries), then [25000, 75000] (5: two
    // pages), then [75000, 100000].
    assert!(t[0].ends_with("to=1970-01-02T03%3A46%3A40Z"), "{t:#?}");
    assert!(t[1].ends_with("to=1970-01-01T06%3A56%3A40Z"), "{t:#?}");
    assert!(
        t[2].contains("from=1970-01-01T06%3A56%3A40Z&to=1970-01-01T20%3A50%3A00Z"),
        "{t:#?}"
    );
    assert!(t[3].contains("start=3&"), "{t:#?}");
    assert!(
        t[4].contains("from=1970-01-01T20%3A50%3A00Z&to=1970-01-02T03%3A46%3A40Z"),
        "{t:#?}"
    );
    assert_eq!(t.len(), 5, "{t:#?}");
}

/// Two fetches of one exchange at once: pages are applied by compare-and-set, so one of them
/// stops cleanly and the bank is the same as after one fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_fetches_do_not_apply_a_page_twice() {
    for db in stores("concurrent_fetches_do_not_apply_a_page_twice").await {
        let s = db.store.clone();
        let fake = Fake::start(history(), 3).await;
        setup(&s, "n", &fake.base).await;
        let o = options(UNTIL, WINDOW);
        let (a, b) = tokio::join!(fetch(&s, "n", &o), fetch(&s, "n", &o));
        let (a, b) = (a.unwrap(), b.unwrap());
        for r in [&a, &b] {
            if let Some(e) = &r.error {
                assert!(
                    matches!(e, Error::Store(vigil_store::Error::CheckpointMoved { .. })),
                    "{e:?}"
                );
            }
        }
        // Whatever the interleaving, a page is applied once: finish and compare.
        let r = fetch(&s, "n", &options(UNTIL, WINDOW)).await.unwrap();
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(items(&s, "n").await, expected(), "{}", db.name);
        let e = s.exchange("n").await.unwrap();
        assert_eq!((e.records, e.deletions), (10, 2), "{}", db.name);
        assert_eq!(a.pages + b.pages + r.pages, 6, "{}", db.name);
    }
}
