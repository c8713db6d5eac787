use vigil_exchange::record::{Record, Timestamp};
use vigil_store::{Error, NewBank, NewExchange, Page, PageDeletion, RecordIssue, Store};

use crate::util::*;

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

/// An entry with an external id, one PDQ hash and a timestamp.
fn entry(id: &str, seed: u64, at: i64) -> Record {
    let mut r = plain(seed);
    r.ids.push(id.to_string());
    r.updated = Some(ts(at));
    r
}

fn del(id: &str, at: i64) -> PageDeletion {
    PageDeletion {
        id: id.to_string(),
        at: Some(ts(at)),
    }
}

fn page<'a>(
    records: Vec<Record>,
    deletions: &'a [PageDeletion],
    expected: Option<&'a str>,
    checkpoint: &'a str,
) -> Page<'a, impl Iterator<Item = Result<Record, String>>> {
    Page {
        records: records.into_iter().map(Ok),
        deletions,
        ordered: true,
        expected_checkpoint: expected,
        checkpoint,
        skipped: &[],
    }
}

/// The bank's items as `(external id, pdq values)`, sorted.
async fn items(s: &Store, bank: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    s.export(bank, |r| {
        let mut sigs: Vec<String> = r.signals.iter().map(|s| s.value().to_string()).collect();
        sigs.sort();
        out.push((r.ids.first().cloned().unwrap_or_default(), sigs));
        Ok(())
    })
    .await
    .unwrap();
    out.sort();
    out
}

fn new_exchange(name: &str, bank: &str) -> NewExchange {
    NewExchange {
        name: name.into(),
        kind: "test".into(),
        bank: bank.into(),
        config: r#"{"path":"/nowhere"}"#.into(),
    }
}

#[tokio::test]
async fn exchange_lifecycle_and_audit() {
    for db in stores("exchange_lifecycle_and_audit").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        let e = s
            .add_exchange("alice", &new_exchange("feed", "b"))
            .await
            .unwrap();
        assert_eq!(
            (e.name.as_str(), e.kind.as_str(), e.bank.as_str()),
            ("feed", "test", "b"),
            "{}",
            db.name
        );
        assert_eq!(e.checkpoint, None);
        assert_eq!((e.records, e.deletions, e.errors), (0, 0, 0));
        assert_eq!(e.last_fetch_at, None);
        assert!(matches!(
            s.add_exchange("alice", &new_exchange("feed", "b")).await,
            Err(Error::ExchangeExists(n)) if n == "feed"
        ));
        assert!(matches!(
            s.add_exchange("alice", &new_exchange("x", "nope")).await,
            Err(Error::NoBank(n)) if n == "nope"
        ));
        for bad in ["", "a b", "-x"] {
            assert!(matches!(
                s.add_exchange("alice", &new_exchange(bad, "b")).await,
                Err(Error::Invalid(m)) if m.starts_with("exchange name")
            ));
        }
        let mut bad_kind = new_exchange("y", "b");
        bad_kind.kind = "NCMEC!".into();
        assert!(matches!(
            s.add_exchange("alice", &bad_kind).await,
            Err(Error::Invalid(_))
        ));
        let mut bad_config = new_exchange("y", "b");
        bad_config.config = "[1]".into();
        assert!(matches!(
            s.add_exchange("alice", &bad_config).await,
            Err(Error::Invalid(_))
        ));
        s.add_exchange("alice", &new_exchange("another", "b"))
            .await
            .unwrap();
        let names: Vec<String> = s
            .exchanges()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["another", "feed"]);

        s.record_fetch_status("bob", "feed", "error", Some("it broke"))
            .await
            .unwrap();
        let e = s.exchange("feed").await.unwrap();
        assert_eq!(e.last_status.as_deref(), Some("error"));
        assert_eq!(e.last_error.as_deref(), Some("it broke"));
        assert!(e.last_fetch_at.is_some());
        assert!(matches!(
            s.record_fetch_status("bob", "nope", "ok", None).await,
            Err(Error::NoExchange(_))
        ));

        s.remove_exchange("carol", "another").await.unwrap();
        assert!(matches!(
            s.exchange("another").await,
            Err(Error::NoExchange(n)) if n == "another"
        ));
        assert!(matches!(
            s.remove_exchange("carol", "another").await,
            Err(Error::NoExchange(_))
        ));
        let actions: Vec<(String, String)> = s
            .audit_log(0, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.action.starts_with("exchange."))
            .map(|a| (a.actor, a.action))
            .collect();
        let want = [
            ("alice", "exchange.add"),
            ("alice", "exchange.add"),
            ("bob", "exchange.fetch"),
            ("carol", "exchange.remove"),
        ];
        assert_eq!(
            actions,
            want.map(|(a, b)| (a.to_string(), b.to_string())),
            "{}",
            db.name
        );
        // Deleting the bank deletes its exchanges.
        s.delete_bank("t", "b").await.unwrap();
        assert!(s.exchanges().await.unwrap().is_empty(), "{}", db.name);
    }
}

/// A page is applied only on the checkpoint it was fetched from; a refused page changes
/// nothing.
#[tokio::test]
async fn apply_page_is_compare_and_set() {
    for db in stores("apply_page_is_compare_and_set").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        s.add_exchange("t", &new_exchange("feed", "b"))
            .await
            .unwrap();
        let r = s
            .apply_page(
                "t",
                "feed",
                page(vec![entry("a", 1, 10), entry("b", 2, 10)], &[], None, "cp1"),
            )
            .await
            .unwrap();
        assert_eq!((r.records, r.created), (2, 2), "{}", db.name);
        // A second fetch that also started from no checkpoint.
        let stale = s
            .apply_page(
                "t",
                "feed",
                page(vec![entry("c", 3, 10)], &[del("a", 11)], None, "cp-other"),
            )
            .await;
        assert!(
            matches!(&stale, Err(Error::CheckpointMoved { exchange }) if exchange == "feed"),
            "{}: {stale:?}",
            db.name
        );
        let wrong = s
            .apply_page(
                "t",
                "feed",
                page(vec![entry("c", 3, 10)], &[], Some("cp0"), "cp2"),
            )
            .await;
        assert!(matches!(wrong, Err(Error::CheckpointMoved { .. })));
        let e = s.exchange("feed").await.unwrap();
        assert_eq!(e.checkpoint.as_deref(), Some("cp1"));
        assert_eq!((e.records, e.deletions, e.errors), (2, 0, 0));
        assert_eq!(
            items(s, "b").await.len(),
            2,
            "{}: a refused page changed the bank",
            db.name
        );
        s.apply_page(
            "t",
            "feed",
            page(vec![entry("c", 3, 10)], &[del("a", 11)], Some("cp1"), "cp2"),
        )
        .await
        .unwrap();
        let ids: Vec<String> = items(s, "b").await.into_iter().map(|i| i.0).collect();
        assert_eq!(ids, ["b", "c"], "{}", db.name);
        assert_eq!(
            s.exchange("feed").await.unwrap().checkpoint.as_deref(),
            Some("cp2")
        );
    }
}

/// Ordered pages: the later change of an id wins, within a page and across pages, whatever
/// their order; a change applied once is not counted again.
#[tokio::test]
async fn ordered_pages_keep_the_latest_change() {
    for db in stores("ordered_pages_keep_the_latest_change").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        s.add_exchange("t", &new_exchange("feed", "b"))
            .await
            .unwrap();
        // Page 1, in no time order:
        //   A@10, B@20 with a deletion of B@15 (older: B stays), C@30,
        //   D added @5 and deleted @7 (gone), E deleted @9 and added @8 (gone),
        //   F@3 then F@4 with another hash (the @4 version).
        let dels1 = [del("D", 7), del("B", 15), del("E", 9)];
        let r1 = s
            .apply_page(
                "t",
                "feed",
                page(
                    vec![
                        entry("C", 3, 30),
                        entry("F", 60, 4),
                        entry("E", 5, 8),
                        entry("A", 1, 10),
                        entry("D", 4, 5),
                        entry("B", 2, 20),
                        entry("F", 6, 3),
                    ],
                    &dels1,
                    None,
                    "cp1",
                ),
            )
            .await
            .unwrap();
        // Ten changes of six ids: A, B, C, F(@4) applied; D and E deletions applied.
        assert_eq!(
            (r1.records, r1.deletions, r1.removed, r1.stale),
            (4, 2, 0, 4),
            "{}",
            db.name
        );
        let want1: Vec<(String, Vec<String>)> = [("A", 1), ("B", 2), ("C", 3), ("F", 60)]
            .iter()
            .map(|(id, seed)| (id.to_string(), vec![pdq(*seed).value().to_string()]))
            .collect();
        assert_eq!(items(s, "b").await, want1, "{}", db.name);

        // Page 2: A deleted @11 (removed); C@25, D@6 and B@20 are not newer (stale); G@1 is new.
        let dels2 = [del("A", 11)];
        let r2 = s
            .apply_page(
                "t",
                "feed",
                page(
                    vec![
                        entry("C", 33, 25),
                        entry("D", 44, 6),
                        entry("B", 2, 20),
                        entry("G", 7, 1),
                    ],
                    &dels2,
                    Some("cp1"),
                    "cp2",
                ),
            )
            .await
            .unwrap();
        assert_eq!(
            (r2.records, r2.deletions, r2.removed, r2.stale),
            (1, 1, 1, 3),
            "{}",
            db.name
        );
        let want2: Vec<(String, Vec<String>)> = [("B", 2), ("C", 3), ("F", 60), ("G", 7)]
            .iter()
            .map(|(id, seed)| (id.to_string(), vec![pdq(*seed).value().to_string()]))
            .collect();
        assert_eq!(items(s, "b").await, want2, "{}", db.name);
        let e = s.exchange("feed").await.unwrap();
        assert_eq!((e.records, e.deletions, e.errors), (5, 3, 0), "{}", db.name);
        // The deletion of A reached the change feed.
        let removed: Vec<String> = s
            .changes_since(r2.seq - 1)
            .await
            .unwrap()
            .signals
            .into_iter()
            .filter(|c| !c.present)
            .map(|c| c.signal.value().to_string())
            .collect();
        assert_eq!(removed, [pdq(1).value().to_string()]);
        // Provenance names the exchange.
        let audit = s.audit_log(0, 100).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.action == "content.import" && a.detail.contains("exchange:feed")),
            "{}",
            db.name
        );
        assert!(
            audit
                .iter()
                .any(|a| a.action == "content.remove" && a.detail.contains("exchange:feed"))
        );
    }
}

/// Unordered pages stream their records; a bad record is skipped and counted, a fatal one
/// refuses the page (checkpoint and counters unchanged).
#[tokio::test]
async fn unordered_pages_skip_bad_records_and_refuse_broken_input() {
    for db in stores("unordered_pages_skip_bad_records_and_refuse_broken_input").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        s.add_exchange("t", &new_exchange("feed", "b"))
            .await
            .unwrap();
        let broken: Vec<Result<Record, RecordIssue>> = vec![
            Ok(plain(1)),
            Err(RecordIssue {
                message: "f.txt: read error".into(),
                fatal: true,
            }),
        ];
        let r = s
            .apply_page(
                "t",
                "feed",
                Page {
                    records: broken,
                    deletions: &[],
                    ordered: false,
                    expected_checkpoint: None,
                    checkpoint: "cp1",
                    skipped: &[],
                },
            )
            .await;
        assert!(matches!(r, Err(Error::Import { .. })), "{}: {r:?}", db.name);
        let e = s.exchange("feed").await.unwrap();
        assert_eq!(e.checkpoint, None);
        assert_eq!(s.bank("b").await.unwrap().content_count, 0);

        let with_bad: Vec<Result<Record, RecordIssue>> = vec![
            Ok(plain(1)),
            Err(RecordIssue::from("f.txt:2: not a hash".to_string())),
            Ok(plain(2)),
        ];
        let page_errors = ["page: entry 7 has no id".to_string()];
        let r = s
            .apply_page(
                "t",
                "feed",
                Page {
                    records: with_bad,
                    deletions: &[],
                    ordered: false,
                    expected_checkpoint: None,
                    checkpoint: "cp1",
                    skipped: &page_errors,
                },
            )
            .await
            .unwrap();
        assert_eq!(r.records, 2);
        assert_eq!(
            r.skipped,
            ["page: entry 7 has no id", "f.txt:2: not a hash"],
            "{}",
            db.name
        );
        let e = s.exchange("feed").await.unwrap();
        assert_eq!(
            (e.checkpoint.as_deref(), e.records, e.errors),
            (Some("cp1"), 2, 2)
        );
        // A page with nothing in it still moves the checkpoint.
        s.apply_page(
            "t",
            "feed",
            Page {
                records: Vec::<Result<Record, String>>::new(),
                deletions: &[],
                ordered: false,
                expected_checkpoint: Some("cp1"),
                checkpoint: "cp2",
                skipped: &[],
            },
        )
        .await
        .unwrap();
        assert_eq!(
            s.exchange("feed").await.unwrap().checkpoint.as_deref(),
            Some("cp2")
        );
    }
}
