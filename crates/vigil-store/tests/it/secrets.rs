//! Server secrets (schema 12): the first candidate is kept, later ones are ignored, the secret
//! outlives the store handle (a reopened store reads the same bytes), creation is audited once
//! and the value never appears in the audit log.

use crate::util::*;

#[tokio::test]
async fn a_secret_is_made_once_and_kept() {
    for db in stores("secrets").await {
        let s = &db.store;
        let n = db.name;
        let first = s
            .server_secret("cases.displace", &[7u8; 32], "server")
            .await
            .unwrap();
        assert_eq!(first, vec![7u8; 32], "{n}");
        let again = s
            .server_secret("cases.displace", &[9u8; 32], "server")
            .await
            .unwrap();
        assert_eq!(
            again,
            vec![7u8; 32],
            "{n}: a second candidate replaced the key"
        );
        let other = s
            .server_secret("other", &[1, 2, 3], "server")
            .await
            .unwrap();
        assert_eq!(other, vec![1, 2, 3], "{n}");
        assert!(
            s.server_secret("empty", &[], "server").await.is_err(),
            "{n}: an empty secret was stored"
        );
        let audited = s
            .audit_recent(Some("server.secret.create"), i64::MAX, 100)
            .await
            .unwrap();
        assert_eq!(audited.len(), 2, "{n}: one entry per secret made");
        assert!(
            audited.iter().all(|e| !e.detail.contains("7,7")
                && !e.detail.contains("0707")
                && e.detail.contains("\"name\"")),
            "{n}: {:?}",
            audited.iter().map(|e| &e.detail).collect::<Vec<_>>()
        );
        // Another handle on the same database reads the same key.
        let reopened = vigil_store::Store::open(&db.url).await.unwrap();
        let kept = reopened
            .server_secret("cases.displace", &[5u8; 32], "server")
            .await
            .unwrap();
        assert_eq!(kept, vec![7u8; 32], "{n}: the key did not survive a reopen");
        reopened.close().await;
    }
}
