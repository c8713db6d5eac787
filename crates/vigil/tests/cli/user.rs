//! `vigil user`: users of the web UI are created with a password read from standard input
//! (never from the command line), stored as an argon2id hash (the password itself is nowhere in
//! the database), listed without hashes, given a new password, and disabled.

use std::io::Write;
use std::process::Stdio;

use crate::util::{Dir, Run};

const PASSWORD: &str = "correct horse battery staple";

/// Runs `vigil ARGS` with `stdin` on its standard input.
fn run_with_stdin(dir: &Dir, args: &[&str], stdin: &str) -> Run {
    let mut child = dir
        .vigil()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running vigil");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    Run::from(child.wait_with_output().unwrap())
}

/// The database's bytes (with its write-ahead log, if one is left).
fn db_bytes(dir: &Dir) -> Vec<u8> {
    let mut raw = std::fs::read(dir.path().join("v.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("v.db-wal")) {
        raw.extend(wal);
    }
    raw
}

#[test]
fn users_are_created_from_stdin_listed_and_disabled() {
    let dir = Dir::new();
    let db = format!("sqlite://{}", dir.path().join("v.db").display());
    let create = |name: &str, role: &str, stdin: &str| {
        run_with_stdin(
            &dir,
            &[
                "--db",
                &db,
                "user",
                "create",
                "--name",
                name,
                "--role",
                role,
                "--password-stdin",
            ],
            stdin,
        )
    };
    let r = create("alice", "curator", &format!("{PASSWORD}\n"));
    r.code(0);
    let made = &r.jsonl()[0];
    assert_eq!(
        (made["name"].as_str(), made["role"].as_str()),
        (Some("alice"), Some("curator"))
    );
    // A user closes an open server (logins are required from now on): no warning needed.
    assert!(!r.stderr.contains("open"), "{}", r.stderr);

    // The password is stored hashed (argon2id), never in clear.
    let raw = db_bytes(&dir);
    assert!(
        !raw.windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes())
    );
    assert!(raw.windows(10).any(|w| w == b"$argon2id$"));

    // Never from argv: --password-stdin is required, and there is no --password.
    dir.run(&[
        "--db", &db, "user", "create", "--name", "bob", "--role", "viewer",
    ])
    .code(2);
    dir.run(&[
        "--db",
        &db,
        "user",
        "create",
        "--name",
        "bob",
        "--role",
        "viewer",
        "--password",
        "x",
    ])
    .code(2);
    // Refused: an empty or short password, a bad role, a taken name.
    let empty = create("bob", "viewer", "");
    empty.code(2);
    assert!(empty.stderr.contains("no password"), "{}", empty.stderr);
    let short = create("bob", "viewer", "short\n");
    short.code(2);
    assert!(short.stderr.contains("shorter than 8"), "{}", short.stderr);
    create("bob", "root", &format!("{PASSWORD}\n")).code(2);
    let taken = create("alice", "viewer", &format!("{PASSWORD}\n"));
    taken.code(2);
    assert!(taken.stderr.contains("exists already"), "{}", taken.stderr);
    create("bob", "viewer", PASSWORD).code(0);

    // Listed by name, without hashes.
    let list = dir.run(&["--db", &db, "user", "list"]);
    list.code(0);
    let users = list.jsonl();
    let names: Vec<&str> = users.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(!list.stdout.contains("argon2"), "{}", list.stdout);
    assert!(users.iter().all(|u| u["disabled_at"].is_null()));

    // A new password replaces the hash.
    let before = db_bytes(&dir);
    run_with_stdin(
        &dir,
        &["--db", &db, "user", "password", "bob", "--password-stdin"],
        "another long password\n",
    )
    .code(0);
    run_with_stdin(
        &dir,
        &["--db", &db, "user", "password", "carol", "--password-stdin"],
        "another long password\n",
    )
    .code(2);
    assert_ne!(before, db_bytes(&dir));

    // Disabled: listed with the time; disabling again is refused.
    dir.run(&["--db", &db, "user", "disable", "bob"]).code(0);
    let users = dir.run(&["--db", &db, "user", "list"]).jsonl();
    assert!(users[1]["disabled_at"].is_i64(), "{users:?}");
    assert!(users[0]["disabled_at"].is_null());
    dir.run(&["--db", &db, "user", "disable", "bob"]).code(2);

    // Every change is in the audit log, without the hash.
    let audit = dir.run(&["--db", &db, "audit"]);
    audit.code(0);
    for action in ["user.create", "user.password", "user.disable"] {
        assert!(audit.stdout.contains(action), "{action}: {}", audit.stdout);
    }
    assert!(!audit.stdout.contains("argon2"), "{}", audit.stdout);
}
