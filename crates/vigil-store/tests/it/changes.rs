use vigil_store::{BankUpdate, NewBank, VerdictKind};

use crate::util::*;

async fn active(s: &vigil_store::Store) -> (Vec<String>, i64) {
    let mut v = Vec::new();
    let upto = s
        .active_signals(None, |x| v.push(x.signal.value().to_string()))
        .await
        .unwrap();
    v.sort();
    (v, upto)
}

#[tokio::test]
async fn quarantines_removals_and_the_change_feed() {
    for db in stores("quarantines_removals_and_the_change_feed").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        s.create_bank("t", &NewBank::block("c")).await.unwrap();
        s.import(
            "t",
            "b",
            (1..=3).map(plain).map(Ok::<_, String>),
            &opts("f"),
        )
        .await
        .unwrap();
        // The same hash in another bank.
        s.import("t", "c", [Ok::<_, String>(plain(2))], &opts("f"))
            .await
            .unwrap();
        let (all, upto) = active(s).await;
        assert_eq!(all.len(), 4, "{}", db.name);
        assert!(s.changes_since(upto).await.unwrap().signals.is_empty());

        // Quarantine one hash everywhere: both copies go, and the feed says so.
        let n = s
            .quarantine_signal("ana", &pdq(2), None, Some(i64::MAX))
            .await
            .unwrap();
        assert_eq!(n, 2);
        let (now, upto2) = active(s).await;
        assert_eq!(now.len(), 2);
        assert!(!now.contains(&pdq(2).value().to_string()));
        let ch = s.changes_since(upto).await.unwrap();
        assert_eq!(ch.upto, upto2);
        assert_eq!(ch.signals.len(), 2);
        assert!(
            ch.signals
                .iter()
                .all(|c| c.signal == pdq(2) && c.present && c.disabled_until == Some(i64::MAX))
        );

        // Lifted: back.
        s.quarantine_signal("ana", &pdq(2), Some("b"), None)
            .await
            .unwrap();
        let (now, upto3) = active(s).await;
        assert_eq!(now.len(), 3, "only bank b's copy was released");

        // A content item quarantined for a while, then removed.
        let id = s.find(&pdq(3)).await.unwrap()[0].1;
        s.set_content_disabled("ana", "b", id, Some(i64::MAX))
            .await
            .unwrap();
        assert_eq!(active(s).await.0.len(), 2);
        let ch = s.changes_since(upto3).await.unwrap();
        assert_eq!(ch.signals.len(), 1);
        assert_eq!(ch.signals[0].disabled_until, Some(i64::MAX));
        // A quarantine that has already expired does not hide anything.
        s.set_content_disabled("ana", "b", id, Some(1))
            .await
            .unwrap();
        assert_eq!(active(s).await.0.len(), 3);
        let (_, upto4) = active(s).await;
        s.remove("ana", "b", id).await.unwrap();
        let ch = s.changes_since(upto4).await.unwrap();
        assert_eq!(ch.signals.len(), 1);
        assert!(!ch.signals[0].present && ch.signals[0].signal == pdq(3));
        assert!(matches!(
            s.remove("ana", "b", id).await,
            Err(vigil_store::Error::NoContent { .. })
        ));

        // A disabled bank drops out of matching and shows in the feed.
        let (_, upto5) = active(s).await;
        s.update_bank(
            "ana",
            "c",
            &BankUpdate {
                enabled: Some(false),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
        let c_id = s.bank("c").await.unwrap().id;
        assert_eq!(s.changes_since(upto5).await.unwrap().banks, [c_id]);
        let (now, _) = active(s).await;
        assert_eq!(now.len(), 2, "bank b keeps hashes 1 and 2: {now:?}");

        // Verdicts.
        let v = s
            .record_verdict(
                "ana",
                "b",
                &pdq(1),
                None,
                "upload-17.jpg",
                VerdictKind::FalsePositive,
                Some("a sunset"),
            )
            .await
            .unwrap();
        assert!(v > 0);
        let vs = s.verdicts("b").await.unwrap();
        assert_eq!(vs.len(), 1);
        assert_eq!(vs[0].verdict, VerdictKind::FalsePositive);
        assert_eq!(vs[0].signal, pdq(1));
        assert_eq!(vs[0].query, "upload-17.jpg");

        let actions: Vec<String> = s
            .audit_log(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for a in [
            "signal.quarantine",
            "signal.release",
            "content.disable",
            "content.remove",
            "bank.disable",
            "verdict.record",
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{}: no {a} in {actions:?}",
                db.name
            );
        }
    }
}

/// The change feed read in pages of any size gives what one read gives: the same changes in
/// the same order, across runs of equal change numbers (a bulk import, a deleted bank's
/// tombstones) and with present signals and tombstones interleaved.
#[tokio::test]
async fn the_change_feed_in_pages_is_the_whole_feed() {
    for db in stores("the_change_feed_in_pages_is_the_whole_feed").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        s.create_bank("t", &NewBank::block("c")).await.unwrap();
        s.import(
            "t",
            "b",
            (1..=9).map(plain).map(Ok::<_, String>),
            &opts("f"),
        )
        .await
        .unwrap();
        s.import(
            "t",
            "c",
            (5..=12).map(plain).map(Ok::<_, String>),
            &opts("f"),
        )
        .await
        .unwrap();
        let first = s.content("b", 1).await.ok().map(|c| c.id);
        if let Some(id) = first {
            s.remove("t", "b", id).await.unwrap();
        }
        s.quarantine_signal("t", &pdq(6), None, Some(i64::MAX))
            .await
            .unwrap();
        s.import(
            "t",
            "b",
            (20..=24).map(plain).map(Ok::<_, String>),
            &opts("g"),
        )
        .await
        .unwrap();
        s.delete_bank("t", "c").await.unwrap();
        for after in [0, 3] {
            let whole = s.changes_since(after).await.unwrap();
            assert!(
                whole.signals.len() > 10,
                "{} {}",
                db.name,
                whole.signals.len()
            );
            for limit in [1, 2, 3, 7, 1000] {
                let mut page = s.changes_page(after, None, limit).await.unwrap();
                assert_eq!(page.upto, whole.upto);
                assert_eq!(page.banks, whole.banks, "{} limit {limit}", db.name);
                let mut got = Vec::new();
                loop {
                    assert!(page.signals.len() <= limit);
                    got.append(&mut page.signals);
                    let Some(next) = page.next else { break };
                    page = s.changes_page(after, Some(next), limit).await.unwrap();
                    assert!(page.banks.is_empty());
                }
                assert_eq!(
                    got, whole.signals,
                    "{} after {after} limit {limit}",
                    db.name
                );
            }
        }
    }
}

/// A matcher's snapshot of an SQLite file is read whole on a connection of its own; elsewhere
/// it is read in pages through sqlx. Both must give the same signals, for the enabled banks
/// and for one bank (disabled or not), with quarantines (the signal's, the item's, and the
/// later of both), removals and a long value.
#[tokio::test]
async fn the_file_snapshot_equals_the_paged_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (file, memory) = file_and_memory(dir.path()).await;
    let long = long_vpdq();
    // (seq, signal id, bank id, content id, signal, present, quarantined until)
    type Row = (i64, i64, i64, Option<i64>, String, bool, Option<i64>);
    // (the bank asked for, the change number, the rows)
    type Run = (Option<i64>, i64, Vec<Row>);
    let mut seen: Vec<Vec<Run>> = Vec::new();
    for s in [&file, &memory] {
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        s.create_bank("t", &NewBank::block("off")).await.unwrap();
        let records = (1..=12_005)
            .map(plain)
            .chain([vigil_exchange::record::Record::with_signals([
                long.clone(),
                md5(7),
            ])])
            .map(Ok::<_, String>);
        s.import("t", "b", records, &opts("f")).await.unwrap();
        s.import(
            "t",
            "off",
            (1..=3).map(plain).map(Ok::<_, String>),
            &opts("f"),
        )
        .await
        .unwrap();
        s.update_bank(
            "t",
            "off",
            &BankUpdate {
                enabled: Some(false),
                ..BankUpdate::default()
            },
        )
        .await
        .unwrap();
        // The signal quarantined until 1000, its item until 2000 (and the other way round).
        s.quarantine_signal("t", &pdq(5), Some("b"), Some(1000))
            .await
            .unwrap();
        s.quarantine_signal("t", &pdq(6), Some("b"), Some(3000))
            .await
            .unwrap();
        for (seed, until) in [(5, 2000), (6, 2000)] {
            let id = s.find(&pdq(seed)).await.unwrap()[0].1;
            s.set_content_disabled("t", "b", id, Some(until))
                .await
                .unwrap();
        }
        let gone = s.find(&pdq(9)).await.unwrap()[0].1;
        s.remove("t", "b", gone).await.unwrap();

        let banks = s.banks().await.unwrap();
        let off = banks.iter().find(|b| b.name == "off").unwrap().id;
        let mut runs = Vec::new();
        for bank in [None, Some(off)] {
            let mut rows: Vec<Row> = Vec::new();
            let upto = s
                .signals_snapshot(bank, |c| {
                    rows.push((
                        c.seq,
                        c.signal_id,
                        c.bank_id,
                        c.content_id,
                        format!("{}:{}", c.signal.kind().name(), c.signal.value()),
                        c.present,
                        c.disabled_until,
                    ))
                })
                .await
                .unwrap();
            runs.push((bank, upto, rows));
        }
        seen.push(runs);
    }
    let (a, b) = (&seen[0], &seen[1]);
    // Bank b: 12,005 PDQ items, one item of a vPDQ and an MD5, one item removed.
    assert_eq!(a[0].2.len(), 12_005 + 2 - 1, "the enabled banks' signals");
    assert_eq!(a[1].2.len(), 3, "the disabled bank's own signals");
    let until = |rows: &[Row], seed: u64| {
        let v = format!("pdq:{}", pdq(seed).value());
        rows.iter().find(|r| r.4 == v).unwrap().6
    };
    assert_eq!(
        until(&a[0].2, 5),
        Some(2000),
        "the item's quarantine is the later"
    );
    assert_eq!(
        until(&a[0].2, 6),
        Some(3000),
        "the signal's quarantine is the later"
    );
    assert!(a[0].2.iter().all(|r| r.5), "present");
    assert!(a[0].2.windows(2).all(|w| w[0].1 < w[1].1), "in id order");
    assert!(
        a[0].2.iter().any(|r| r.4.starts_with("vpdq:")),
        "the long value"
    );
    assert_eq!(a, b);
}
