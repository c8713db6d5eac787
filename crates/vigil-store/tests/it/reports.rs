//! The queue of reported URLs (migration 13), on both databases: per-URL validation with the
//! others queued, normalisation, merging into a pending report, listing with a cursor, taking
//! by two concurrent takers (never the same report twice, none lost), done when the crawl
//! finishes, released when the crawl is deleted. And paging of a crawl's findings.

use std::collections::BTreeSet;

use vigil_store::{Completion, NewFinding, NewFrontierEntry, ReportState, Store};

use crate::util::stores;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn reports_are_validated_merged_listed_taken_and_done() {
    for db in stores("crawl_reports").await {
        let s = &db.store;
        let r = s
            .crawl_reports_submit(
                &strings(&[
                    "http://A.example/x#top",
                    "ftp://a.example/",
                    "http://a.example:80/x",
                    "http://u:p@b.example/",
                    "http://c.onion/",
                    "",
                ]),
                "curator-key",
            )
            .await
            .unwrap();
        assert_eq!(r.len(), 6, "{}", db.name);
        let a = r[0].as_ref().unwrap();
        assert_eq!((a.url.as_str(), a.merged), ("http://a.example/x", false));
        assert!(r[1].as_ref().unwrap_err().contains("scheme"));
        let a2 = r[2].as_ref().unwrap();
        assert_eq!((a2.id, a2.merged), (a.id, true), "same URL once normalised");
        assert!(r[3].as_ref().unwrap_err().contains("password"));
        let onion = r[4].as_ref().unwrap();
        assert_eq!(onion.url, "http://c.onion/");
        assert!(r[5].is_err());

        let all = s.crawl_reports(None, None, 100).await.unwrap();
        assert_eq!(all.len(), 2, "{}", db.name);
        assert_eq!(all[0].times, 2);
        assert_eq!(all[0].host, "a.example");
        assert_eq!(all[0].submitted_by, "curator-key");
        assert_eq!(all[0].state, ReportState::Pending);
        assert_eq!(all[1].host, "c.onion");
        // Cursor: after the first id, only the second.
        let page = s.crawl_reports(None, Some(all[0].id), 100).await.unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].id, all[1].id);

        let (c, _) = s.crawl_open("q1", "{}").await.unwrap();
        let taken = s.crawl_reports_take(c.id, 1).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].id, a.id, "oldest first");
        assert_eq!(taken[0].state, ReportState::Taken);
        assert_eq!(taken[0].crawl.as_deref(), Some("q1"));
        assert!(taken[0].taken_at.is_some());
        // A new report of a taken URL queues it again.
        let again = s
            .crawl_reports_submit(&strings(&["http://a.example/x"]), "admin")
            .await
            .unwrap();
        let again = again[0].as_ref().unwrap();
        assert!(!again.merged && again.id != a.id);
        let pending = s
            .crawl_reports(Some(ReportState::Pending), None, 100)
            .await
            .unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(s.crawl_reports_of(c.id).await.unwrap().len(), 1);
        assert_eq!(s.crawl_reports_done(c.id).await.unwrap(), 1);
        let done = s
            .crawl_reports(Some(ReportState::Done), None, 100)
            .await
            .unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].crawl.as_deref(), Some("q1"));
        assert!(done[0].done_at.is_some());
        assert!(s.crawl_reports_of(c.id).await.unwrap().is_empty());

        // Deleting a crawl puts its taken reports back (unless the URL is pending again).
        let (c2, _) = s.crawl_open("q2", "{}").await.unwrap();
        let t2 = s.crawl_reports_take(c2.id, 10).await.unwrap();
        assert_eq!(t2.len(), 2, "{}", db.name);
        s.crawl_reports_submit(&strings(&["http://c.onion/"]), "admin")
            .await
            .unwrap();
        assert!(s.crawl_delete("q2").await.unwrap());
        let pending: Vec<String> = s
            .crawl_reports(Some(ReportState::Pending), None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.url)
            .collect();
        assert_eq!(
            pending,
            ["http://a.example/x", "http://c.onion/"],
            "{}",
            db.name
        );
        // The done report of the deleted crawl q1 is untouched; q1 still exists.
        assert_eq!(
            s.crawl_reports(Some(ReportState::Done), None, 100)
                .await
                .unwrap()
                .len(),
            2,
            "q1's report and q2's duplicate of a pending URL"
        );
    }
}

/// Two takers on their own connection pools take batches as fast as they can; every report is
/// taken exactly once, and by the taker whose crawl the store names.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_takers_never_take_the_same_report() {
    const N: usize = 300;
    for db in stores("crawl_reports_concurrent").await {
        let urls: Vec<String> = (0..N).map(|i| format!("http://q.example/{i}")).collect();
        db.store.crawl_reports_submit(&urls, "admin").await.unwrap();
        let (c1, _) = db.store.crawl_open("t1", "{}").await.unwrap();
        let (c2, _) = db.store.crawl_open("t2", "{}").await.unwrap();
        let mut tasks = Vec::new();
        for crawl in [c1.id, c2.id] {
            let store = Store::open(&db.url).await.unwrap();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let t = store.crawl_reports_take(crawl, 7).await.unwrap();
                    if t.is_empty() {
                        break;
                    }
                    got.extend(t.into_iter().map(|r| (r.id, r.crawl)));
                }
                store.close().await;
                got
            }));
        }
        let mut seen = BTreeSet::new();
        let mut per = Vec::new();
        for (t, name) in tasks.into_iter().zip(["t1", "t2"]) {
            let got = t.await.unwrap();
            per.push(got.len());
            for (id, crawl) in got {
                assert!(seen.insert(id), "{}: report {id} taken twice", db.name);
                assert_eq!(crawl.as_deref(), Some(name));
            }
        }
        assert_eq!(seen.len(), N, "{}: every report taken", db.name);
        eprintln!("{}: takers got {per:?}", db.name);
        let of1 = db.store.crawl_reports_of(c1.id).await.unwrap().len();
        let of2 = db.store.crawl_reports_of(c2.id).await.unwrap().len();
        assert_eq!((of1, of2), (per[0], per[1]), "{}", db.name);
    }
}

/// More findings than a page: pages by id, none lost or repeated, the cursor stable.
#[tokio::test]
async fn findings_page_by_id() {
    for db in stores("crawl_findings_page").await {
        let s = &db.store;
        let (c, _) = s.crawl_open("p", "{}").await.unwrap();
        s.crawl_push(
            c.id,
            &[NewFrontierEntry {
                url: "http://p.test/".into(),
                host: "p.test".into(),
                depth: 0,
                parent_url: None,
                media: false,
            }],
        )
        .await
        .unwrap();
        let e = s.crawl_take(c.id, 1).await.unwrap();
        // Inserted in an order unlike the host/URL order, so paging by id is what is tested.
        let findings: Vec<NewFinding> = (0..25)
            .map(|i| NewFinding {
                url: format!("http://p.test/{:02}.jpg", 24 - i),
                page_url: None,
                host: "p.test".into(),
                ip: None,
                kind: "image".into(),
                sha256: [i as u8; 32],
                md5: "0".repeat(32),
                sha1: "1".repeat(40),
                pdq: None,
                bank: "b".into(),
                content_id: i,
                signal_kind: "md5".into(),
                distance: 0,
            })
            .collect();
        s.crawl_complete(
            c.id,
            e[0].id,
            &Completion {
                kind: "page".into(),
                findings,
                ..Completion::default()
            },
        )
        .await
        .unwrap();
        let mut after = None;
        let mut urls = Vec::new();
        let mut pages = 0;
        loop {
            let page = s.crawl_findings_page("p", after, 10).await.unwrap();
            if page.is_empty() {
                break;
            }
            pages += 1;
            assert!(page.windows(2).all(|w| w[0].id < w[1].id));
            after = page.last().map(|f| f.id);
            urls.extend(page.into_iter().map(|f| f.finding.url));
        }
        assert_eq!(pages, 3, "{}", db.name);
        let want: Vec<String> = (0..25)
            .map(|i| format!("http://p.test/{:02}.jpg", 24 - i))
            .collect();
        assert_eq!(urls, want, "{}", db.name);
        assert!(
            s.crawl_findings_page("nope", None, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
