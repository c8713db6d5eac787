//! Removal notices (migration 9): recorded with the findings they covered, read back per crawl,
//! failed attempts counting for nothing in a finding's history, deleted with their crawl; on
//! both databases. And the takedown report against hand-computed figures.

use vigil_store::{
    Completion, Finding, NewFinding, NewFrontierEntry, NewSentNotice, nearest_rank, notice_history,
    takedown,
};

use crate::util::stores;

fn new_finding(url: &str, host: &str, bank: &str) -> NewFinding {
    NewFinding {
        url: url.into(),
        page_url: None,
        host: host.into(),
        ip: Some("127.0.0.1".into()),
        kind: "image".into(),
        sha256: [3; 32],
        md5: "0".repeat(32),
        sha1: "1".repeat(40),
        pdq: None,
        bank: bank.into(),
        content_id: 1,
        signal_kind: "md5".into(),
        distance: 0,
    }
}

fn notice(crawl: Option<&str>, at: i64, findings: Vec<i64>, error: Option<&str>) -> NewSentNotice {
    NewSentNotice {
        crawl: crawl.map(str::to_string),
        provider: "Loopback Hosting".into(),
        contact: "abuse@loopback.example".into(),
        hosts: vec!["a.test".into(), "b.test".into()],
        channel: "smtp".into(),
        recipient: "abuse@loopback.example".into(),
        subject: "Removal request".into(),
        sequence: 1,
        message_id: Some("<1@vigil>".into()),
        sent_at: at,
        error: error.map(str::to_string),
        uncontactable: false,
        findings,
    }
}

#[tokio::test]
async fn notices_are_recorded_read_back_and_go_with_their_crawl() {
    for db in stores("crawl_notices").await {
        let s = &db.store;
        let (c1, _) = s.crawl_open("c1", "{}").await.unwrap();
        let (c2, _) = s.crawl_open("c2", "{}").await.unwrap();
        for (c, urls) in [
            (&c1, vec!["http://a.test/1", "http://b.test/2"]),
            (&c2, vec!["http://a.test/9"]),
        ] {
            s.crawl_push(
                c.id,
                &[NewFrontierEntry {
                    url: "http://a.test/".into(),
                    host: "a.test".into(),
                    depth: 0,
                    parent_url: None,
                    media: false,
                }],
            )
            .await
            .unwrap();
            let e = s.crawl_take(c.id, 1).await.unwrap();
            let findings = urls
                .iter()
                .map(|u| new_finding(u, &u[7..13], "known"))
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
        }
        let f1 = s.crawl_findings(Some("c1")).await.unwrap();
        let f2 = s.crawl_findings(Some("c2")).await.unwrap();
        assert_eq!((f1.len(), f2.len()), (2, 1), "{}", db.name);
        let (a1, b2, a9) = (f1[0].id, f1[1].id, f2[0].id);
        assert_eq!(f1[0].finding.url, "http://a.test/1");

        let first = s
            .crawl_notice_record(&notice(Some("c1"), 1_000, vec![b2, a1, a1], None))
            .await
            .unwrap();
        let failed = s
            .crawl_notice_record(&notice(Some("c1"), 2_000, vec![a1], Some("451 try later")))
            .await
            .unwrap();
        let mut reminder = notice(None, 3_000, vec![a1, a9], None);
        reminder.sequence = 2;
        reminder.channel = "file".into();
        reminder.message_id = None;
        let third = s.crawl_notice_record(&reminder).await.unwrap();
        let mut bad = notice(None, 1, vec![], None);
        bad.channel = "pigeon".into();
        assert!(s.crawl_notice_record(&bad).await.is_err());
        assert!(
            s.crawl_notice_record(&notice(Some("nope"), 1, vec![], None))
                .await
                .is_err()
        );

        let all = s.crawl_notices(None).await.unwrap();
        let ids: Vec<i64> = all.iter().map(|n| n.id).collect();
        assert_eq!(ids, [first, failed, third], "{}", db.name);
        let mut want = notice(Some("c1"), 1_000, vec![a1, b2], None);
        want.findings.sort_unstable();
        assert_eq!(all[0].notice, want, "{}", db.name);
        assert!(all[0].sent() && !all[1].sent() && all[2].sent());
        assert_eq!(all[1].notice.error.as_deref(), Some("451 try later"));
        assert_eq!(all[2].notice.crawl, None);
        assert_eq!(all[2].notice.sequence, 2);
        assert_eq!(all[2].notice.findings, {
            let mut v = vec![a1, a9];
            v.sort_unstable();
            v
        });

        // Per crawl: made for it, or covering one of its findings.
        let ids = |v: Vec<vigil_store::SentNotice>| v.iter().map(|n| n.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.crawl_notices(Some("c1")).await.unwrap()),
            [first, failed, third]
        );
        assert_eq!(ids(s.crawl_notices(Some("c2")).await.unwrap()), [third]);

        // History: the failed attempt does not count.
        let h = notice_history(&all);
        assert_eq!(h[&a1].sent, 2);
        assert_eq!(
            (h[&a1].first_at, h[&a1].last_at),
            (Some(1_000), Some(3_000))
        );
        assert_eq!(h[&b2].sent, 1);
        assert_eq!(h[&a9].sent, 1);

        // Deleting a crawl deletes its findings, its notices and the links to its findings.
        assert!(s.crawl_delete("c2").await.unwrap());
        let left = s.crawl_notices(None).await.unwrap();
        assert_eq!(ids(left.clone()), [first, failed, third], "{}", db.name);
        assert_eq!(left[2].notice.findings, [a1]);
        assert!(s.crawl_delete("c1").await.unwrap());
        assert!(!s.crawl_delete("c1").await.unwrap());
        assert_eq!(ids(s.crawl_notices(None).await.unwrap()), [third]);
    }
}

fn finding(id: i64, url: &str, found: i64, removed: Option<i64>) -> Finding {
    let host = url.split('/').nth(2).unwrap().to_string();
    Finding {
        id,
        crawl: "c".into(),
        found_at: found,
        checked_at: None,
        removed_at: removed,
        finding: new_finding(url, &host, "known"),
    }
}

#[test]
fn nearest_rank_by_hand() {
    assert_eq!(nearest_rank(&[], 50), None);
    assert_eq!(nearest_rank(&[7], 50), Some(7));
    assert_eq!(nearest_rank(&[7], 90), Some(7));
    // n = 4: median rank ceil(2) = 2, p90 rank ceil(3.6) = 4.
    assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
    assert_eq!(nearest_rank(&[1, 2, 3, 4], 90), Some(4));
    // n = 10: p90 rank 9; n = 11: p90 rank ceil(9.9) = 10, median rank ceil(5.5) = 6.
    let ten: Vec<i64> = (1..=10).collect();
    assert_eq!(nearest_rank(&ten, 90), Some(9));
    assert_eq!(nearest_rank(&ten, 50), Some(5));
    let eleven: Vec<i64> = (1..=11).collect();
    assert_eq!(nearest_rank(&eleven, 90), Some(10));
    assert_eq!(nearest_rank(&eleven, 50), Some(6));
    assert_eq!(nearest_rank(&eleven, 100), Some(11));
}

#[test]
fn takedown_report_by_hand() {
    const H: i64 = 3_600_000;
    // Host a.test: five URLs, four removed after 1, 2, 10 and 30 hours, one open; the URL
    // a.test/1 matched two bank items (two rows, one item). Host b.test: one open URL.
    // c.test: one removed after 5 h, never noticed.
    let mut dup = finding(2, "http://a.test/1", 0, Some(H));
    dup.finding.bank = "other".into();
    let findings = vec![
        finding(1, "http://a.test/1", 0, Some(H)),
        dup,
        finding(3, "http://a.test/2", 0, Some(2 * H)),
        finding(4, "http://a.test/3", 100 * H, Some(110 * H)),
        finding(5, "http://a.test/4", 0, Some(30 * H)),
        finding(6, "http://a.test/5", 0, None),
        finding(7, "http://b.test/1", 0, None),
        finding(8, "http://c.test/1", 0, Some(5 * H)),
    ];
    let mk = |id: i64, provider: &str, at: i64, f: Vec<i64>, error: Option<&str>| {
        let mut n = notice(Some("c"), at, f, error);
        n.provider = provider.into();
        vigil_store::SentNotice { id, notice: n }
    };
    let notices = vec![
        mk(10, "Alpha", 10, vec![1, 2, 3, 5, 6, 7], None),
        mk(11, "Alpha", 20, vec![6], Some("refused")),
        mk(12, "Alpha", 30, vec![6, 7], None),
        // b.test moved to Beta: its last notice names Beta.
        mk(13, "Beta", 40, vec![7], None),
    ];
    // The table puts everything at Gamma: used only where no notice went out (a.test/3, c.test/1).
    let r = takedown(&findings, &notices, &|_| Some("Gamma".to_string()));
    let row = |rows: &[vigil_store::TakedownRow], name: &str| {
        rows.iter().find(|r| r.name == name).unwrap().clone()
    };
    let a = row(&r.hosts, "a.test");
    // Removal times of a.test: 1, 2, 10, 30 h. Median rank ceil(0.5·4) = 2 → 2 h; p90 rank
    // ceil(0.9·4) = 4 → 30 h.
    assert_eq!((a.open, a.removed), (1, 4));
    assert_eq!(
        (a.median_removal_ms, a.p90_removal_ms),
        (Some(2 * H), Some(30 * H))
    );
    assert_eq!(a.notices_sent, 2, "notices 10 and 12 (11 failed)");
    assert_eq!((a.first_notice_at, a.last_notice_at), (Some(10), Some(30)));
    let b = row(&r.hosts, "b.test");
    assert_eq!((b.open, b.removed, b.median_removal_ms), (1, 0, None));
    assert_eq!(
        (b.notices_sent, b.first_notice_at, b.last_notice_at),
        (3, Some(10), Some(40))
    );
    let c = row(&r.hosts, "c.test");
    assert_eq!(
        (c.open, c.removed, c.median_removal_ms, c.p90_removal_ms),
        (0, 1, Some(5 * H), Some(5 * H))
    );
    assert_eq!((c.notices_sent, c.first_notice_at), (0, None));
    assert_eq!(r.hosts.len(), 3);

    let names: Vec<&str> = r.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Alpha", "Beta", "Gamma"]);
    // Alpha: a.test/1, /2, /4 (removed after 1, 2, 30 h) and /5 (open).
    let alpha = row(&r.providers, "Alpha");
    assert_eq!((alpha.open, alpha.removed), (1, 3));
    assert_eq!(
        (alpha.median_removal_ms, alpha.p90_removal_ms),
        (Some(2 * H), Some(30 * H))
    );
    assert_eq!(
        (
            alpha.notices_sent,
            alpha.first_notice_at,
            alpha.last_notice_at
        ),
        (2, Some(10), Some(30))
    );
    // Beta: b.test/1 (open), covered by notices 10, 12 and 13.
    let beta = row(&r.providers, "Beta");
    assert_eq!((beta.open, beta.removed, beta.notices_sent), (1, 0, 3));
    // Gamma: a.test/3 (10 h) and c.test/1 (5 h): median rank 1 → 5 h, p90 rank 2 → 10 h.
    let gamma = row(&r.providers, "Gamma");
    assert_eq!((gamma.open, gamma.removed), (0, 2));
    assert_eq!(
        (gamma.median_removal_ms, gamma.p90_removal_ms),
        (Some(5 * H), Some(10 * H))
    );
    assert_eq!(gamma.notices_sent, 0);

    // No table: unknown.
    let r = takedown(&findings, &notices, &|_| None);
    assert_eq!(row(&r.providers, "unknown").removed, 2);
}

/// An uncontactable attempt is stored and read back as such, counts as no notice, and the
/// takedown report counts its open items (by hand: Nocontact has two open items whose latest
/// attempt was uncontactable; a.test/3 was removed, so it does not count).
#[tokio::test]
async fn uncontactable_notices_are_recorded_and_reported() {
    for db in stores("crawl_uncontactable").await {
        let s = &db.store;
        let mut n = notice(None, 5, vec![], Some("no e-mail contact"));
        n.uncontactable = true;
        n.provider = "Nocontact".into();
        n.contact = String::new();
        let id = s.crawl_notice_record(&n).await.unwrap();
        let mut sent = notice(None, 6, vec![], None);
        sent.uncontactable = true; // ignored: a notice that went out was addressed
        s.crawl_notice_record(&sent).await.unwrap();
        let all = s.crawl_notices(None).await.unwrap();
        assert_eq!(all[0].id, id);
        assert!(all[0].notice.uncontactable && !all[0].sent(), "{}", db.name);
        assert_eq!(all[0].notice, n, "{}", db.name);
        assert!(!all[1].notice.uncontactable, "{}", db.name);
    }
    let findings = vec![
        finding(1, "http://a.test/1", 0, None),
        finding(2, "http://a.test/2", 0, None),
        finding(3, "http://a.test/3", 0, Some(7)),
        finding(4, "http://b.test/1", 0, None),
    ];
    let mk = |id: i64, provider: &str, at: i64, f: Vec<i64>, unc: bool| {
        let mut n = notice(Some("c"), at, f, unc.then_some("no e-mail contact"));
        n.provider = provider.into();
        n.uncontactable = unc;
        vigil_store::SentNotice { id, notice: n }
    };
    let notices = vec![
        mk(1, "Nocontact", 10, vec![1, 2, 3], true),
        // b.test: uncontactable first, then addressed (an override): no longer uncontactable.
        mk(2, "Beta", 10, vec![4], true),
        mk(3, "Beta", 20, vec![4], false),
    ];
    let r = takedown(&findings, &notices, &|_| Some("Table".to_string()));
    let names: Vec<(&str, u64, u64)> = r
        .providers
        .iter()
        .map(|p| (p.name.as_str(), p.open, p.uncontactable))
        .collect();
    assert_eq!(names, [("Beta", 1, 0), ("Nocontact", 2, 2)]);
    let hosts: Vec<(&str, u64)> = r
        .hosts
        .iter()
        .map(|p| (p.name.as_str(), p.uncontactable))
        .collect();
    assert_eq!(hosts, [("a.test", 2), ("b.test", 0)]);
}
