//! Long signal values: a vPDQ signal holds one PDQ hash per sampled frame, tens of kilobytes
//! for a long video. PostgreSQL refuses B-tree entries over about 2.7 KB, so such values are
//! stored as a key and a body; these tests write, find, export, quarantine and remove them on
//! both databases, with the value as the item's identity and as a second signal.

use vigil_exchange::record::{Record, Signal, SignalKind};
use vigil_store::{NewBank, NewContent};

use crate::util::{md5, opts, stores};

/// A vPDQ signal of `frames` frames (1 per second), distinct per seed.
fn vpdq(seed: u64, frames: u64) -> Signal {
    let items: Vec<String> = (0..frames)
        .map(|i| {
            format!(
                "\"{},{},{}.000\"",
                vigil_testkit::seeded_pdq_hex(seed * 100_000 + i),
                50 + (i % 51),
                i
            )
        })
        .collect();
    Signal::new(SignalKind::Vpdq, &format!("[{}]", items.join(", "))).unwrap()
}

/// Records in a fixed order, each one's signals sorted (an import merges and sorts them).
fn sorted(mut recs: Vec<Record>) -> Vec<Record> {
    for r in &mut recs {
        r.signals.sort();
    }
    recs.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    recs
}

#[tokio::test]
async fn long_vpdq_values_are_stored_found_and_removed() {
    for db in stores("long_vpdq_values_are_stored_found_and_removed").await {
        let s = &db.store;
        let name = db.name;
        s.create_bank("t", &NewBank::block("v")).await.unwrap();
        // Ten minutes at 1 fps (~48 KB), just over PostgreSQL's limit (~3 KB), and short.
        let (ten_min, over, short) = (vpdq(1, 600), vpdq(2, 40), vpdq(3, 2));
        assert!(ten_min.value().len() > 40_000 && over.value().len() > 2_800);
        assert!(short.value().len() < 256);
        let input = vec![
            Record::with_signals([ten_min.clone(), md5(1)]),
            Record {
                ids: vec!["video-2".into()],
                signals: vec![md5(2), over.clone()],
                ..Record::default()
            },
            Record::with_signals([short.clone()]),
            Record::with_signals([over.clone()]),
        ];
        let rep = s
            .import(
                "t",
                "v",
                input.iter().cloned().map(Ok::<_, String>),
                &opts("file:videos.json"),
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (rep.created, rep.signals_added),
            (4, 6),
            "{name}: every record an item"
        );
        let mut out = Vec::new();
        s.export("v", |r| {
            out.push(r);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(sorted(out), sorted(input.clone()), "{name}: lossless");

        // The same records again: the long identities find their items.
        let rep = s
            .import(
                "t",
                "v",
                input.iter().cloned().map(Ok::<_, String>),
                &opts("file:videos.json"),
            )
            .await
            .unwrap();
        assert_eq!(
            (rep.created, rep.updated, rep.signals_added),
            (0, 4, 0),
            "{name}"
        );

        let found = s.find(&ten_min).await.unwrap();
        assert_eq!(found.len(), 1, "{name}");
        let c = s.content("v", found[0].1).await.unwrap();
        assert!(c.signals.iter().any(|x| x.signal == ten_min), "{name}");
        assert_eq!(s.find(&over).await.unwrap().len(), 2, "{name}");
        assert_eq!(s.find(&short).await.unwrap().len(), 1, "{name}");
        assert!(s.find(&vpdq(4, 600)).await.unwrap().is_empty(), "{name}");

        // Through the API's path: always a new item.
        let id = s
            .create_content(
                "t",
                "v",
                &NewContent {
                    signals: vec![ten_min.clone()],
                    external_id: None,
                    uri: None,
                    note: None,
                    meta: None,
                    source: "api".into(),
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.find(&ten_min).await.unwrap().len(), 2, "{name}");
        assert_eq!(s.content("v", id).await.unwrap().signals[0].signal, ten_min);

        let changes = s.changes_since(0).await.unwrap();
        let present = changes
            .signals
            .iter()
            .filter(|c| c.present && c.signal == ten_min)
            .count();
        assert_eq!(
            present, 2,
            "{name}: the change feed carries the whole value"
        );

        let n = s
            .quarantine_signal("t", &ten_min, None, Some(i64::MAX))
            .await
            .unwrap();
        assert_eq!(n, 2, "{name}: quarantined by value");

        let upto = s.changes_since(0).await.unwrap().upto;
        s.remove("t", "v", id).await.unwrap();
        let gone = s.changes_since(upto).await.unwrap();
        assert!(
            gone.signals
                .iter()
                .any(|c| !c.present && c.signal == ten_min),
            "{name}: a removal names the whole value"
        );
        s.delete_bank("t", "v").await.unwrap();
        let gone = s.changes_since(upto).await.unwrap();
        assert_eq!(
            gone.signals
                .iter()
                .filter(|c| !c.present && c.signal == over)
                .count(),
            2,
            "{name}: a deleted bank's long values in its tombstones"
        );
    }
}
