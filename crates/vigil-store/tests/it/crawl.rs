//! The crawler's tables (migration 7): a crawl's frontier de-duplicates URLs, takes entries
//! oldest first, requeues what was left in flight, and completes an entry with its links,
//! content and findings in one transaction; on both databases.

use vigil_store::{Completion, CrawlContent, NewFinding, NewFrontierEntry};

use crate::util::stores;

fn entry(url: &str, depth: i64, parent: Option<&str>) -> NewFrontierEntry {
    NewFrontierEntry {
        url: url.into(),
        host: "site.test".into(),
        depth,
        parent_url: parent.map(str::to_string),
        media: false,
    }
}

#[tokio::test]
async fn frontier_dedups_takes_completes_and_requeues() {
    for db in stores("crawl_frontier").await {
        let s = &db.store;
        let (c, resumed) = s.crawl_open("c1", "{\"x\":1}").await.unwrap();
        assert!(!resumed);
        let (again, resumed) = s.crawl_open("c1", "{\"other\":2}").await.unwrap();
        assert!(resumed);
        assert_eq!(again.id, c.id);
        assert_eq!(
            again.settings, "{\"x\":1}",
            "a resumed crawl keeps its settings"
        );
        let (other, _) = s.crawl_open("c2", "{}").await.unwrap();

        let seeds = [
            entry("http://site.test/", 0, None),
            entry("http://site.test/", 0, None),
        ];
        assert_eq!(s.crawl_push(c.id, &seeds).await.unwrap(), 1, "{}", db.name);
        // Another crawl has its own frontier.
        assert_eq!(s.crawl_push(other.id, &seeds[..1]).await.unwrap(), 1);

        let taken = s.crawl_take(c.id, 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert!(s.crawl_take(c.id, 10).await.unwrap().is_empty());
        let root = &taken[0];

        let sha = [7u8; 32];
        let finding = NewFinding {
            url: "http://site.test/a.jpg".into(),
            page_url: Some("http://site.test/".into()),
            host: "site.test".into(),
            ip: Some("127.0.0.1".into()),
            kind: "image".into(),
            sha256: sha,
            md5: "0".repeat(32),
            sha1: "1".repeat(40),
            pdq: Some("f".repeat(64)),
            bank: "known".into(),
            content_id: 42,
            signal_kind: "pdq".into(),
            distance: 3,
        };
        let completion = Completion {
            kind: "page".into(),
            links: vec![
                entry("http://site.test/a.jpg", 1, Some("http://site.test/")),
                entry("http://site.test/b", 1, Some("http://site.test/")),
                // Known already: not added again.
                entry("http://site.test/", 1, Some("http://site.test/")),
            ],
            content: Some(CrawlContent {
                sha256: sha,
                kind: "image".into(),
                md5: "0".repeat(32),
                sha1: "1".repeat(40),
                pdq: Some("f".repeat(64)),
                quality: Some(100),
                frames: None,
                matches: "[]".into(),
            }),
            content_sha256: None,
            findings: vec![finding.clone()],
        };
        s.crawl_complete(c.id, root.id, &completion).await.unwrap();
        // Completing twice changes nothing (findings are unique per URL and bank item).
        s.crawl_complete(c.id, root.id, &completion).await.unwrap();

        let counts = s.crawl_counts(c.id).await.unwrap();
        assert_eq!((counts.done, counts.queued, counts.total()), (1, 2, 3));
        assert_eq!(
            s.crawl_content(&sha).await.unwrap().unwrap().quality,
            Some(100)
        );
        assert!(s.crawl_content(&[8u8; 32]).await.unwrap().is_none());

        // Taken oldest first; one left in flight comes back when requeued.
        let next = s.crawl_take(c.id, 1).await.unwrap();
        assert_eq!(next[0].url, "http://site.test/a.jpg");
        assert_eq!(next[0].parent_url.as_deref(), Some("http://site.test/"));
        assert_eq!(next[0].depth, 1);
        let b = s.crawl_take(c.id, 5).await.unwrap();
        assert_eq!(b.len(), 1);
        s.crawl_fail(c.id, b[0].id, "http://site.test/b: HTTP status 500", false)
            .await
            .unwrap();
        assert_eq!(s.crawl_requeue_in_flight(c.id).await.unwrap(), 1);
        let again = s.crawl_take(c.id, 5).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].url, "http://site.test/a.jpg");
        assert_eq!(
            s.crawl_failures(c.id).await.unwrap(),
            vec![(
                "http://site.test/b".to_string(),
                "http://site.test/b: HTTP status 500".to_string()
            )]
        );

        let all = s.crawl_findings(None).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].crawl, "c1");
        assert_eq!(all[0].finding, finding);
        assert_eq!(s.crawl_findings(Some("c2")).await.unwrap().len(), 0);
        assert_eq!(s.crawl_findings(Some("c1")).await.unwrap().len(), 1);

        // Re-checks: still up, then gone; a removal is recorded once.
        assert_eq!(all[0].checked_at, None);
        assert_eq!(
            s.crawl_recheck("http://site.test/a.jpg", false)
                .await
                .unwrap(),
            1
        );
        let f = &s.crawl_findings(None).await.unwrap()[0];
        assert!(f.checked_at.is_some() && f.removed_at.is_none());
        assert_eq!(
            s.crawl_recheck("http://site.test/a.jpg", true)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            s.crawl_recheck("http://site.test/a.jpg", true)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            s.crawl_recheck("http://site.test/other", true)
                .await
                .unwrap(),
            0
        );
        let f = &s.crawl_findings(None).await.unwrap()[0];
        assert!(f.removed_at.is_some_and(|r| r >= f.found_at));

        s.crawl_finish(c.id).await.unwrap();
        assert!(s.crawl("c1").await.unwrap().unwrap().finished_at.is_some());
        assert_eq!(
            s.crawls()
                .await
                .unwrap()
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["c1", "c2"]
        );
    }
}

/// Several results in one call (the crawler's batches): each entry done, links counted once
/// over the batch (a link two pages share is new once; one already known is not new), every
/// content and finding written; an empty batch is nothing.
#[tokio::test]
async fn complete_many_writes_a_batch_as_one() {
    for db in stores("crawl_complete_many").await {
        let s = &db.store;
        let (c, _) = s.crawl_open("batch", "{}").await.unwrap();
        let seeds = [
            entry("http://site.test/p1", 0, None),
            entry("http://site.test/p2", 0, None),
            entry("http://site.test/img.jpg", 0, None),
        ];
        assert_eq!(s.crawl_push(c.id, &seeds).await.unwrap(), 3);
        let taken = s.crawl_take(c.id, 10).await.unwrap();
        assert_eq!(taken.len(), 3);
        assert_eq!(s.crawl_complete_many(c.id, &[]).await.unwrap(), 0);

        let page = |links: &[&str], parent: &str| Completion {
            kind: "page".into(),
            links: links.iter().map(|u| entry(u, 1, Some(parent))).collect(),
            ..Completion::default()
        };
        let sha = [9u8; 32];
        let finding = NewFinding {
            url: "http://site.test/img.jpg".into(),
            page_url: None,
            host: "site.test".into(),
            ip: None,
            kind: "image".into(),
            sha256: sha,
            md5: "2".repeat(32),
            sha1: "3".repeat(40),
            pdq: Some("e".repeat(64)),
            bank: "known".into(),
            content_id: 7,
            signal_kind: "pdq".into(),
            distance: 0,
        };
        let image = Completion {
            kind: "image".into(),
            links: Vec::new(),
            content: Some(CrawlContent {
                sha256: sha,
                kind: "image".into(),
                md5: "2".repeat(32),
                sha1: "3".repeat(40),
                pdq: Some("e".repeat(64)),
                quality: Some(90),
                frames: None,
                matches: "[]".into(),
            }),
            content_sha256: Some(sha),
            findings: vec![finding.clone()],
        };
        let batch = vec![
            (
                taken[0].id,
                page(
                    &["http://site.test/a", "http://site.test/shared"],
                    "http://site.test/p1",
                ),
            ),
            (
                taken[1].id,
                // "shared" is new in the first item, p1 is known: one new link here.
                page(
                    &[
                        "http://site.test/shared",
                        "http://site.test/p1",
                        "http://site.test/b",
                    ],
                    "http://site.test/p2",
                ),
            ),
            (taken[2].id, image),
        ];
        assert_eq!(
            s.crawl_complete_many(c.id, &batch).await.unwrap(),
            3,
            "{}: a, shared, b",
            db.name
        );
        let counts = s.crawl_counts(c.id).await.unwrap();
        assert_eq!(
            (counts.done, counts.queued, counts.fetching, counts.total()),
            (3, 3, 0, 6),
            "{}",
            db.name
        );
        assert_eq!(
            s.crawl_content(&sha).await.unwrap().unwrap().quality,
            Some(90)
        );
        let found = s.crawl_findings(Some("batch")).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding, finding);
        // One query for several: the unknown one is left out.
        let known = s.crawl_contents(&[[1u8; 32], sha]).await.unwrap();
        assert_eq!(known.len(), 1, "{}", db.name);
        assert_eq!(known[0].md5, "2".repeat(32));
        assert!(s.crawl_contents(&[]).await.unwrap().is_empty());
        let next: Vec<(String, Option<String>)> = s
            .crawl_take(c.id, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.url, e.parent_url))
            .collect();
        let p = |u: &str, parent: &str| (u.to_string(), Some(parent.to_string()));
        assert_eq!(
            next,
            [
                p("http://site.test/a", "http://site.test/p1"),
                // Found by both pages: its parent is the first.
                p("http://site.test/shared", "http://site.test/p1"),
                p("http://site.test/b", "http://site.test/p2"),
            ],
            "{}",
            db.name
        );
    }
}

/// Migration 17: entries found where media is expected are taken before the rest, each group in
/// the order it was found, also after a requeue; on both databases.
#[tokio::test]
async fn media_entries_are_taken_first() {
    for db in stores("crawl_media_first").await {
        let s = &db.store;
        let (c, _) = s.crawl_open("m", "{}").await.unwrap();
        let mut entries = Vec::new();
        for (i, media) in [false, true, false, false, true, true, false]
            .into_iter()
            .enumerate()
        {
            let mut e = entry(&format!("http://site.test/{i}"), 1, None);
            e.media = media;
            entries.push(e);
        }
        assert_eq!(s.crawl_push(c.id, &entries).await.unwrap(), 7);
        let path = |t: &[vigil_store::FrontierEntry]| -> Vec<String> {
            t.iter().map(|e| e.url[16..].to_string()).collect()
        };
        let first = s.crawl_take(c.id, 2).await.unwrap();
        assert_eq!(path(&first), ["/1", "/4"], "{}", db.name);
        // One more media entry arrives while the pages wait: it goes before them.
        let mut late = entry("http://site.test/late.jpg", 2, None);
        late.media = true;
        s.crawl_push(c.id, &[late]).await.unwrap();
        let next = s.crawl_take(c.id, 3).await.unwrap();
        assert_eq!(path(&next), ["/5", "/late.jpg", "/0"], "{}", db.name);
        // Requeued in-flight entries keep their rank.
        assert_eq!(s.crawl_requeue_in_flight(c.id).await.unwrap(), 5);
        let all = s.crawl_take(c.id, 100).await.unwrap();
        assert_eq!(
            path(&all),
            ["/1", "/4", "/5", "/late.jpg", "/0", "/2", "/3", "/6"],
            "{}",
            db.name
        );
    }
}
