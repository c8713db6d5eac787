use vigil_store::{BankKind, BankUpdate, Error, NewBank};

use crate::util::*;

#[tokio::test]
async fn bank_lifecycle_and_audit() {
    for db in stores("bank_lifecycle_and_audit").await {
        let s = &db.store;
        let b = s
            .create_bank(
                "alice",
                &NewBank {
                    name: "ncmec-2026".into(),
                    description: "NCMEC hash list".into(),
                    kind: BankKind::Block,
                    pdq_threshold: Some(28),
                    match_ratio: 1.0,
                },
            )
            .await
            .unwrap();
        assert_eq!(b.name, "ncmec-2026", "{}", db.name);
        assert!(b.enabled);
        assert_eq!(b.pdq_threshold, Some(28));
        assert_eq!((b.content_count, b.signal_count), (0, 0));

        match s.create_bank("bob", &NewBank::block("ncmec-2026")).await {
            Err(Error::BankExists(n)) => assert_eq!(n, "ncmec-2026"),
            other => panic!("{}: duplicate bank: {other:?}", db.name),
        }
        for bad in ["", " x", "a b", "ünï", "-x", &"x".repeat(101)] {
            assert!(
                matches!(
                    s.create_bank("bob", &NewBank::block(bad)).await,
                    Err(Error::Invalid(_))
                ),
                "{}: name {bad:?} accepted",
                db.name
            );
        }
        let mut nb = NewBank::block("fp");
        nb.kind = BankKind::Allow;
        nb.pdq_threshold = Some(257);
        assert!(matches!(
            s.create_bank("bob", &nb).await,
            Err(Error::Invalid(_))
        ));
        nb.pdq_threshold = None;
        s.create_bank("bob", &nb).await.unwrap();

        let names: Vec<String> = s
            .banks()
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, ["fp", "ncmec-2026"]);

        let b = s
            .update_bank(
                "carol",
                "ncmec-2026",
                &BankUpdate {
                    enabled: Some(false),
                    pdq_threshold: Some(None),
                    ..BankUpdate::default()
                },
            )
            .await
            .unwrap();
        assert!(!b.enabled);
        assert_eq!(b.pdq_threshold, None);
        assert_eq!(b.description, "NCMEC hash list");
        assert!(matches!(
            s.update_bank("carol", "nope", &BankUpdate::default()).await,
            Err(Error::NoBank(_))
        ));

        s.delete_bank("dave", "fp").await.unwrap();
        assert!(matches!(s.bank("fp").await, Err(Error::NoBank(_))));

        let log = s.audit_log(0, 100).await.unwrap();
        let seen: Vec<(&str, &str, Option<&str>)> = log
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str(), e.bank.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                ("alice", "bank.create", Some("ncmec-2026")),
                ("bob", "bank.create", Some("fp")),
                ("carol", "bank.disable", Some("ncmec-2026")),
                ("dave", "bank.delete", Some("fp")),
            ],
            "{}",
            db.name
        );
        assert!(
            log.windows(2)
                .all(|w| w[0].id < w[1].id && w[0].at <= w[1].at)
        );
    }
}

#[tokio::test]
async fn a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let url = format!("sqlite://{}", path.display());
    let s = vigil_store::Store::open(&url).await.unwrap();
    s.create_bank("t", &NewBank::block("b")).await.unwrap();
    s.close().await;
    // Pretend a future Vigil migrated it.
    let conn_url = format!("sqlite://{}", path.display());
    sqlx::any::install_default_drivers();
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&conn_url)
        .await
        .unwrap();
    sqlx::query("INSERT INTO vigil_schema (version, name, applied_at) VALUES (999, 'future', 0)")
        .execute(&mut c)
        .await
        .unwrap();
    drop(c);
    match vigil_store::Store::open(&url).await {
        Err(e @ Error::FutureSchema { found: 999, .. }) => {
            assert!(e.to_string().contains("newer"), "{e}")
        }
        other => panic!("future schema: {other:?}"),
    }
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&conn_url)
        .await
        .unwrap();
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, name FROM vigil_schema ORDER BY version")
            .fetch_all(&mut c)
            .await
            .unwrap();
    // Every migration of this build (up to its version; versions may have gaps while
    // migrations written in parallel are merged), then the future one, untouched.
    assert_eq!(
        rows[rows.len() - 2].0,
        vigil_store::Store::schema_version(),
        "{rows:?}"
    );
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "{rows:?}");
    assert_eq!(rows.last().unwrap(), &(999, "future".to_string()));
}
