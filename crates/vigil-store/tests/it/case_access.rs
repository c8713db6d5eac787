//! The case access tables (schema 11): record scopes replace and clear, bad subjects and codes
//! are refused, link decisions are kept per pair in order and replaced, the area hierarchy
//! round-trips, and every change is audited.

use vigil_cases::areas::Areas;

use crate::util::*;

#[tokio::test]
async fn scopes_decisions_and_areas() {
    for db in stores("case_access").await {
        let s = &db.store;
        let n = db.name;
        // Scopes: none at first; set (sorted, deduplicated, trimmed), replaced, cleared.
        assert!(s.case_scope("user:ayesha").await.unwrap().is_empty(), "{n}");
        s.set_case_scope(
            "admin",
            "user:ayesha",
            &["RL03".into(), " NM".into(), "NM".into()],
        )
        .await
        .unwrap();
        assert_eq!(
            s.case_scope("user:ayesha").await.unwrap(),
            ["NM", "RL03"],
            "{n}"
        );
        s.set_case_scope("admin", "key:ingest", &["EV".into()])
            .await
            .unwrap();
        let all = s.case_scopes().await.unwrap();
        assert_eq!(all.len(), 2, "{n}");
        assert_eq!(all[0].subject, "key:ingest");
        assert_eq!(all[1].areas, ["NM", "RL03"]);
        s.set_case_scope("admin", "user:ayesha", &["EV02".into()])
            .await
            .unwrap();
        assert_eq!(s.case_scope("user:ayesha").await.unwrap(), ["EV02"], "{n}");
        s.set_case_scope("admin", "user:ayesha", &[]).await.unwrap();
        assert!(s.case_scope("user:ayesha").await.unwrap().is_empty(), "{n}");
        assert!(
            s.set_case_scope("admin", "ayesha", &[]).await.is_err(),
            "{n}: no kind"
        );
        assert!(
            s.set_case_scope("admin", "user:x", &["".into()])
                .await
                .is_err(),
            "{n}: empty code"
        );
        let audited = s
            .audit_recent(Some("cases.scope"), i64::MAX, 100)
            .await
            .unwrap();
        assert_eq!(audited.len(), 4, "{n}: one entry per change that was made");

        // Decisions: the pair is kept in order whatever order it is given in; a later one
        // replaces an earlier one; the same incident twice is refused.
        let d = s
            .decide_case_link("alice", "I-000009", "I-000002", true, "same phone")
            .await
            .unwrap();
        assert_eq!(
            (d.a.as_str(), d.b.as_str()),
            ("I-000002", "I-000009"),
            "{n}"
        );
        s.decide_case_link("bob", "I-000002", "I-000009", false, "family phone")
            .await
            .unwrap();
        s.decide_case_link("bob", "I-000003", "I-000004", true, "police link")
            .await
            .unwrap();
        let ds = s.case_link_decisions().await.unwrap();
        assert_eq!(ds.len(), 2, "{n}");
        assert!(!ds[0].confirmed && ds[0].actor == "bob" && ds[0].note == "family phone");
        assert!(ds[1].confirmed && ds[1].a == "I-000003");
        assert!(
            s.decide_case_link("x", "I-1", "I-1", true, "n")
                .await
                .is_err(),
            "{n}"
        );
        assert!(
            s.decide_case_link("x", "I-1", "I-2", true, &"n".repeat(5000))
                .await
                .is_err(),
            "{n}: a note over the limit"
        );
        let confirms = s
            .audit_recent(Some("cases.link.confirm"), i64::MAX, 100)
            .await
            .unwrap();
        let rejects = s
            .audit_recent(Some("cases.link.reject"), i64::MAX, 100)
            .await
            .unwrap();
        assert_eq!((confirms.len(), rejects.len()), (2, 1), "{n}");
        assert!(rejects[0].detail.contains("family phone"), "{n}");

        // Areas round-trip whole and are replaced as a whole.
        assert_eq!(s.case_areas().await.unwrap(), Areas::default(), "{n}");
        let mut a = Areas::default();
        a.add_province("NM", "Northmarch");
        a.add_district("NM01", "Ambad", "NM");
        a.add_tehsil("NM01T1", "Ambad 1", "NM01");
        s.save_case_areas("admin", &a).await.unwrap();
        assert_eq!(s.case_areas().await.unwrap(), a, "{n}");
        let mut b = Areas::default();
        b.add_province("EV", "Eastvale");
        s.save_case_areas("admin", &b).await.unwrap();
        assert_eq!(s.case_areas().await.unwrap(), b, "{n}");
        assert!(!s.case_incident_exists("I-000001").await.unwrap(), "{n}");
    }
}
