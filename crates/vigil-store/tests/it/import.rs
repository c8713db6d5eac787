use std::collections::BTreeMap;

use vigil_exchange::record::{Category, CategoryScheme, ContentType, Flags, Record, Timestamp};
use vigil_store::{Error, ImportOptions, NewBank};

use crate::util::*;

/// A record carrying every field the model has.
fn rich(i: u64) -> Record {
    let mut extra = BTreeMap::new();
    extra.insert("vics.MimeType".to_string(), "\"image/jpeg\"".to_string());
    extra.insert(format!("x.n{i}"), i.to_string());
    Record {
        signals: vec![md5(i), pdq(1_000 + i)],
        ids: vec![format!("media-{i}"), format!("alt-{i}")],
        content: Some(if i.is_multiple_of(2) {
            ContentType::Photo
        } else {
            ContentType::Other("gif".into())
        }),
        uri: Some(format!("https://example.invalid/{i}")),
        note: Some(format!("note {i} with \"quotes\", commas and ünïcode")),
        category: Some(Category {
            scheme: if i.is_multiple_of(3) {
                CategoryScheme::VicsLegacy
            } else {
                CategoryScheme::VicsUs
            },
            value: (i % 4).to_string(),
        }),
        tags: vec!["series-a".into(), format!("t{i}")],
        source: Some("collab-x".into()),
        series: Some("S1".into()),
        first_seen: Some(Timestamp::parse("2024-01-02T03:04:05Z").unwrap()),
        last_seen: Some(Timestamp::parse("2025-06-07T08:09:10.5+02:00").unwrap()),
        updated: Some(Timestamp::parse("2025-06-07T08:09:10").unwrap()),
        flags: Flags {
            victim_identified: Some(i.is_multiple_of(2)),
            distributed: Some(true),
            ..Flags::default()
        },
        extra,
    }
}

fn sorted(mut recs: Vec<Record>) -> Vec<Record> {
    for r in &mut recs {
        r.signals.sort();
    }
    recs.sort_by(|a, b| (&a.ids, &a.signals).cmp(&(&b.ids, &b.signals)));
    recs
}

async fn export(s: &vigil_store::Store, bank: &str) -> Vec<Record> {
    let mut out = Vec::new();
    s.export(bank, |r| {
        out.push(r);
        Ok(())
    })
    .await
    .unwrap();
    out
}

#[tokio::test]
async fn import_reimport_and_lossless_export() {
    for db in stores("import_reimport_and_lossless_export").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        let mut input: Vec<Record> = (0..40).map(rich).collect();
        input.extend((0..30).map(plain));
        let rep = s
            .import(
                "t",
                "b",
                input.iter().cloned().map(Ok::<_, String>),
                &opts("file:a.json"),
            )
            .await
            .unwrap();
        assert_eq!(
            (rep.records, rep.created, rep.updated, rep.signals_added),
            (70, 70, 0, 110),
            "{}",
            db.name
        );
        let bank = s.bank("b").await.unwrap();
        assert_eq!((bank.content_count, bank.signal_count), (70, 110));
        assert_eq!(
            sorted(export(s, "b").await),
            sorted(input.clone()),
            "{}",
            db.name
        );

        // The same file again: nothing new.
        let rep = s
            .import(
                "t",
                "b",
                input.iter().cloned().map(Ok::<_, String>),
                &opts("file:a.json"),
            )
            .await
            .unwrap();
        assert_eq!(
            (rep.created, rep.updated, rep.signals_added),
            (0, 70, 0),
            "{}",
            db.name
        );
        assert_eq!(s.bank("b").await.unwrap().signal_count, 110);
        assert_eq!(sorted(export(s, "b").await), sorted(input.clone()));

        // A record of an existing item with a new signal and new metadata.
        let mut r = rich(5);
        r.signals.push(pdq(99_999));
        r.note = Some("changed".into());
        let rep = s
            .import("t", "b", [Ok::<_, String>(r)], &opts("file:b.json"))
            .await
            .unwrap();
        assert_eq!((rep.created, rep.updated, rep.signals_added), (0, 1, 1));
        let found = s.find(&pdq(99_999)).await.unwrap();
        assert_eq!(found.len(), 1);
        let c = s.content("b", found[0].1).await.unwrap();
        assert_eq!(c.signals.len(), 3);
        assert_eq!(c.external_id.as_deref(), Some("media-5"));
        let sources: Vec<&str> = c.provenance.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(sources, ["file:a.json", "file:b.json"]);
        assert_eq!(c.provenance[1].1.note.as_deref(), Some("changed"));
    }
}

#[tokio::test]
async fn a_bad_record_refuses_the_whole_import() {
    for db in stores("a_bad_record_refuses_the_whole_import").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        s.import(
            "t",
            "b",
            (0..5).map(plain).map(Ok::<_, String>),
            &opts("first"),
        )
        .await
        .unwrap();
        let audit_before = s.audit_log(0, 1000).await.unwrap().len();
        let items = (100..1100)
            .map(|i| {
                if i == 857 {
                    Err("list.txt:758: \"zz\" is not a PDQ hash".to_string())
                } else {
                    Ok(plain(i))
                }
            })
            .collect::<Vec<_>>();
        match s.import("t", "b", items.clone(), &opts("second")).await {
            Err(e @ Error::BadRecord { .. }) => {
                let m = e.to_string();
                assert!(
                    m.contains("list.txt:758") && m.contains("nothing imported"),
                    "{m}"
                );
            }
            other => panic!("{}: {other:?}", db.name),
        }
        let b = s.bank("b").await.unwrap();
        assert_eq!((b.content_count, b.signal_count), (5, 5), "{}", db.name);
        assert_eq!(s.audit_log(0, 1000).await.unwrap().len(), audit_before);

        let rep = s
            .import(
                "t",
                "b",
                items,
                &ImportOptions {
                    source: "second".into(),
                    skip_bad: true,
                    sort_memory: None,
                },
            )
            .await
            .unwrap();
        assert_eq!((rep.records, rep.created), (999, 999));
        assert_eq!(rep.skipped, ["list.txt:758: \"zz\" is not a PDQ hash"]);
        assert_eq!(s.bank("b").await.unwrap().content_count, 1004);

        // A record without signals is bad too; an unknown bank is refused.
        assert!(matches!(
            s.import("t", "b", [Ok::<_, String>(Record::default())], &opts("x"))
                .await,
            Err(Error::BadRecord { .. })
        ));
        assert!(matches!(
            s.import("t", "nope", [Ok::<_, String>(plain(1))], &opts("x"))
                .await,
            Err(Error::NoBank(_))
        ));
    }
}

#[tokio::test]
async fn duplicates_within_one_import_are_one_item() {
    for db in stores("duplicates_within_one_import_are_one_item").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        let mut a = rich(1);
        a.signals = vec![md5(1)];
        let mut b = rich(1);
        b.signals = vec![pdq(7)];
        b.note = Some("second entry".into());
        let recs = vec![
            Ok::<_, String>(plain(3)),
            Ok(a),
            Ok(plain(3)),
            Ok(b),
            Ok(plain(3)),
        ];
        let rep = s.import("t", "b", recs, &opts("f")).await.unwrap();
        assert_eq!(
            (rep.records, rep.created, rep.signals_added),
            (5, 2, 3),
            "{}",
            db.name
        );
        let out = export(s, "b").await;
        assert_eq!(out.len(), 2);
        let media = out
            .iter()
            .find(|r| r.ids.first().map(String::as_str) == Some("media-1"))
            .unwrap();
        assert_eq!(media.signals.len(), 2);
        assert_eq!(media.note.as_deref(), Some("second entry"));
    }
}

/// An input larger than the import's sort memory is sorted in runs spilled to temporary files
/// and merged. Checked against an oracle (the last record of an identity gives its fields,
/// every record of it gives its signals), with each identity repeated across many runs.
#[tokio::test]
async fn imports_larger_than_the_sort_memory_merge_their_runs() {
    for db in stores("imports_larger_than_the_sort_memory_merge_their_runs").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        let mut input = Vec::new();
        for i in 0..3_000u64 {
            let mut r = Record::with_signals([pdq(10_000 + i)]);
            r.ids = vec![format!("item-{}", (i * 7_919) % 600)];
            r.note = Some(format!("note {i}"));
            input.push(r);
        }
        input.extend((0..2_000u64).map(|i| plain(i % 1_500)));

        let mut want: BTreeMap<String, Record> = BTreeMap::new();
        for r in &input {
            let key = match r.ids.first() {
                Some(id) => format!("id:{id}"),
                None => format!("sig:{}", r.signals[0].value()),
            };
            let e = want.entry(key).or_insert_with(|| r.clone());
            for sig in &r.signals {
                if !e.signals.contains(sig) {
                    e.signals.push(sig.clone());
                }
            }
            e.note = r.note.clone();
        }

        let mut o = opts("file:big.json");
        o.sort_memory = Some(16 << 10);
        let rep = s
            .import("t", "b", input.iter().cloned().map(Ok::<_, String>), &o)
            .await
            .unwrap();
        assert_eq!(
            (rep.records, rep.created, rep.updated, rep.signals_added),
            (5_000, 2_100, 0, 4_500),
            "{}",
            db.name
        );
        assert_eq!(
            sorted(export(s, "b").await),
            sorted(want.into_values().collect()),
            "{}",
            db.name
        );
    }
}

/// An import into an SQLite file is written through the store's own SQLite connection; every
/// other store (PostgreSQL, an in-memory SQLite) takes the generic batch writer. Both must make
/// the same rows of the same input: checked on an empty bank, then on one that has items (each
/// item then looked up and updated or created), with duplicates, rich records, a long value and
/// a sort memory small enough to spill runs.
#[tokio::test]
async fn the_sqlite_file_writer_and_the_generic_writer_make_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (file, memory) = file_and_memory(dir.path()).await;
    let long = long_vpdq();
    let first: Vec<Record> = (0..30)
        .map(rich)
        .chain((0..60).map(|i| plain(i % 45)))
        .chain([Record::with_signals([long.clone(), md5(77)])])
        .collect();
    let second: Vec<Record> = (20..40)
        .map(|i| {
            let mut r = rich(i);
            r.note = Some(format!("second note {i}"));
            r.signals.push(md5(500 + i));
            r
        })
        .chain((30..70).map(plain))
        .chain([Record::with_signals([long, md5(78)])])
        .collect();
    let mut o = opts("file:same.json");
    o.sort_memory = Some(4 << 10);

    let mut seen = Vec::new();
    for s in [&file, &memory] {
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        let mut reports = Vec::new();
        for input in [&first, &second] {
            let rep = s
                .import("t", "b", input.iter().cloned().map(Ok::<_, String>), &o)
                .await
                .unwrap();
            reports.push((
                rep.records,
                rep.created,
                rep.updated,
                rep.signals_added,
                rep.seq,
            ));
        }
        let mut items = s.content_page("b", 0, 1000, None).await.unwrap();
        for c in &mut items {
            (c.created_at, c.updated_at) = (0, 0);
        }
        let changes: Vec<(i64, i64, Option<i64>, String, bool)> = s
            .changes_since(0)
            .await
            .unwrap()
            .signals
            .into_iter()
            .map(|c| {
                let v = format!("{}:{}", c.signal.kind().name(), c.signal.value());
                (c.seq, c.signal_id, c.content_id, v, c.present)
            })
            .collect();
        let audit: Vec<(String, Option<String>)> = s
            .audit_log(0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.action, a.detail.into()))
            .collect();
        seen.push((reports, items, sorted(export(s, "b").await), changes, audit));
    }
    let (a, b) = (&seen[0], &seen[1]);
    // First: 30 rich items (2 signals each), 45 distinct plain hashes out of 60 lines, one
    // item of a long value and an MD5. Second: rich 20..29 updated (one new MD5 each) and
    // 30..39 created (3 signals each); plain 30..44 updated, 45..69 created; the long value's
    // item updated with a new MD5. The bank was created at change 1.
    assert_eq!(
        a.0,
        vec![
            (91, 30 + 45 + 1, 0, 60 + 45 + 2, 2),
            (61, 10 + 25, 10 + 15 + 1, 10 + 30 + 25 + 1, 3)
        ],
        "the reports"
    );
    assert_eq!(a.0, b.0, "the reports");
    assert_eq!(a.1.len(), b.1.len(), "the content rows");
    for (x, y) in a.1.iter().zip(&b.1) {
        assert_eq!(x, y, "a content row");
    }
    assert_eq!(a.2, b.2, "the exports");
    assert_eq!(a.3, b.3, "the change feed");
    assert_eq!(a.4, b.4, "the audit entries");
}
