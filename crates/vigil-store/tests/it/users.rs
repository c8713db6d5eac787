//! Users and login sessions: names unique, roles checked, password hashes kept but never
//! audited, sessions found only while live, ended by logout, disable and password change.

use vigil_store::Error;

use crate::util::*;

const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
const PHC2: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNob3RoZXJoYXNo";

fn token(n: u8) -> [u8; 32] {
    [n; 32]
}

#[tokio::test]
async fn users_are_unique_checked_and_never_audit_their_hash() {
    for db in stores("users_are_unique").await {
        let s = &db.store;
        let u = s.add_user("cli:t", "alice", "curator", PHC).await.unwrap();
        assert_eq!((u.name.as_str(), u.role.as_str()), ("alice", "curator"));
        assert_eq!(u.disabled_at, None);
        let again = s.add_user("cli:t", "alice", "viewer", PHC).await;
        assert!(
            matches!(&again, Err(Error::Invalid(m)) if m.contains("exists already")),
            "{}: {again:?}",
            db.name
        );
        for (name, role, phc) in [
            ("bob", "root", PHC),
            ("<script>", "viewer", PHC),
            ("bob", "viewer", "hunter2"),
            ("bob", "viewer", ""),
        ] {
            assert!(
                matches!(
                    s.add_user("cli:t", name, role, phc).await,
                    Err(Error::Invalid(_))
                ),
                "{}: {name} {role} {phc}",
                db.name
            );
        }
        s.add_user("cli:t", "bob", "viewer", PHC).await.unwrap();
        let names: Vec<String> = s
            .users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["alice", "bob"], "{}", db.name);
        assert_eq!(s.user("carol").await.unwrap(), None);
        let (who, phc) = s.user_password("alice").await.unwrap().unwrap();
        assert_eq!((who.id, phc.as_str()), (u.id, PHC), "{}", db.name);

        s.set_user_password("cli:t", "alice", PHC2).await.unwrap();
        assert_eq!(s.user_password("alice").await.unwrap().unwrap().1, PHC2);
        assert!(s.set_user_password("cli:t", "carol", PHC2).await.is_err());

        let log = s.audit_log(0, 1000).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["user.create", "user.create", "user.password"],
            "{}",
            db.name
        );
        assert!(
            log.iter()
                .all(|e| !e.detail.contains("argon2") && !e.detail.contains("aGFza")),
            "{}: a hash reached the audit log",
            db.name
        );
    }
}

#[tokio::test]
async fn sessions_live_until_they_end_or_their_user_goes() {
    for db in stores("sessions_live_until").await {
        let s = &db.store;
        let alice = s.add_user("cli:t", "alice", "admin", PHC).await.unwrap();
        let bob = s.add_user("cli:t", "bob", "viewer", PHC).await.unwrap();
        let now = 1_000_000;
        let a = s
            .create_session(alice.id, &token(1), "csrf-a", now + 100)
            .await
            .unwrap();
        assert_eq!(a.csrf, "csrf-a");
        assert!(
            !format!("{a:?}").contains("csrf-a"),
            "Debug hides the token"
        );
        let (u, got) = s.session_by_token(&token(1), now).await.unwrap().unwrap();
        assert_eq!((u.name.as_str(), got.id), ("alice", a.id), "{}", db.name);
        // An unknown token, or a session past its end, is not found.
        assert_eq!(s.session_by_token(&token(9), now).await.unwrap(), None);
        assert_eq!(
            s.session_by_token(&token(1), now + 100).await.unwrap(),
            None
        );
        // A touch moves the end.
        s.touch_session(a.id, now + 50, now + 500).await.unwrap();
        let (_, got) = s
            .session_by_token(&token(1), now + 400)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((got.last_seen, got.expires_at), (now + 50, now + 500));

        // Logout ends one session.
        let b1 = s
            .create_session(bob.id, &token(2), "b1", now + 1000)
            .await
            .unwrap();
        s.create_session(bob.id, &token(3), "b2", now + 1000)
            .await
            .unwrap();
        assert!(s.delete_session(b1.id).await.unwrap());
        assert!(!s.delete_session(b1.id).await.unwrap());
        assert_eq!(s.session_by_token(&token(2), now).await.unwrap(), None);
        assert!(s.session_by_token(&token(3), now).await.unwrap().is_some());
        // A password change ends the user's sessions.
        s.set_user_password("cli:t", "bob", PHC2).await.unwrap();
        assert_eq!(s.session_by_token(&token(3), now).await.unwrap(), None);
        // Disabling ends them too, and refuses new ones.
        s.disable_user("cli:t", "alice").await.unwrap();
        assert_eq!(s.session_by_token(&token(1), now).await.unwrap(), None);
        assert!(
            s.user("alice")
                .await
                .unwrap()
                .unwrap()
                .disabled_at
                .is_some()
        );
        assert!(
            s.create_session(alice.id, &token(4), "x", now + 10)
                .await
                .is_err()
        );
        assert!(s.disable_user("cli:t", "alice").await.is_err(), "twice");
        // Housekeeping removes ended sessions only.
        s.create_session(bob.id, &token(5), "c", now + 10)
            .await
            .unwrap();
        s.create_session(bob.id, &token(6), "d", now + 10_000)
            .await
            .unwrap();
        assert_eq!(s.delete_expired_sessions(now + 20).await.unwrap(), 1);
        assert!(s.session_by_token(&token(6), now).await.unwrap().is_some());

        let log = s.audit_log(0, 1000).await.unwrap();
        let logins: Vec<(&str, &str)> = log
            .iter()
            .filter(|e| e.action.starts_with("user.log"))
            .map(|e| (e.actor.as_str(), e.action.as_str()))
            .collect();
        assert_eq!(
            logins,
            [
                ("alice", "user.login"),
                ("bob", "user.login"),
                ("bob", "user.login"),
                ("bob", "user.logout"),
                ("bob", "user.login"),
                ("bob", "user.login"),
            ],
            "{}",
            db.name
        );
    }
}

#[tokio::test]
async fn the_audit_log_reads_newest_first_by_action() {
    for db in stores("audit_recent").await {
        let s = &db.store;
        // 450 entries: more than one multi-row statement (200 rows each).
        let entries: Vec<vigil_store::NewAudit> = (0..450)
            .map(|i| vigil_store::NewAudit {
                at: i,
                actor: "t".into(),
                action: if i % 2 == 0 { "match.lookup" } else { "other" }.into(),
                bank: None,
                content_id: None,
                detail: serde_json::json!({ "i": i }),
            })
            .collect();
        s.record_audit(&entries).await.unwrap();
        let recent = s
            .audit_recent(Some("match.lookup"), i64::MAX, 3)
            .await
            .unwrap();
        let at: Vec<i64> = recent.iter().map(|e| e.at).collect();
        assert_eq!(at, [448, 446, 444], "{}", db.name);
        let older = s
            .audit_recent(Some("match.lookup"), recent[2].id, 300)
            .await
            .unwrap();
        let want: Vec<i64> = (0..443).rev().step_by(2).collect();
        assert_eq!(older.iter().map(|e| e.at).collect::<Vec<_>>(), want);
        assert!(
            older
                .iter()
                .all(|e| e.detail == format!("{{\"i\":{}}}", e.at) && e.actor == "t"),
            "{}",
            db.name
        );
        let all = s.audit_recent(None, i64::MAX, 4).await.unwrap();
        assert_eq!(
            all.iter().map(|e| e.at).collect::<Vec<_>>(),
            [449, 448, 447, 446]
        );
        assert!(
            s.audit_recent(Some("nothing"), i64::MAX, 5)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
