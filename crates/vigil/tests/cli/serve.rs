//! `vigil serve` and `vigil key`, as a process: keys are shown once and stored hashed, the
//! server answers on loopback with roles enforced, stops cleanly on SIGTERM, refuses to serve
//! open on a non-loopback address, and reads its settings file strictly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::Dir;

/// A minimal HTTP/1.0 request: `(status, body)`.
fn http(addr: &str, path: &str, key: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").map_or("", |b| b.1).to_string();
    (status, body)
}

/// Starts `vigil serve` and returns it with the address it printed.
fn serve(dir: &Dir, db: &str, args: &[&str]) -> (Child, String) {
    let mut child = dir
        .vigil()
        .args(["--db", db, "serve"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("vigil serve said where it serves")
            .unwrap();
        if let Some(a) = line.strip_prefix("vigil: serving http://") {
            break a.to_string();
        }
    };
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn wait_ready(addr: &str) {
    let start = Instant::now();
    while http(addr, "/status", None).0 != 200 {
        assert!(start.elapsed() < Duration::from_secs(30), "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_with_keys_and_stop_on_sigterm() {
    let dir = Dir::new();
    let db = format!("sqlite://{}", dir.path().join("v.db").display());
    let out = dir
        .vigil()
        .args([
            "--db", &db, "key", "create", "--name", "platform", "--role", "matcher",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("vgl_") && key.len() == 68);
    // Listed without the secret; the store holds only its hash.
    let list = dir
        .vigil()
        .args(["--db", &db, "key", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("\"platform\"") && !listed.contains(&key[4..]),
        "{listed}"
    );
    let raw = std::fs::read(dir.path().join("v.db")).unwrap();
    assert!(
        !raw.windows(20).any(|w| w == &key.as_bytes()[4..24]),
        "the secret is not stored"
    );
    // A bad role is refused.
    let bad = dir
        .vigil()
        .args([
            "--db", &db, "key", "create", "--name", "x", "--role", "root",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));

    let (mut child, addr) = serve(&dir, &db, &["--listen", "127.0.0.1:0"]);
    wait_ready(&addr);
    assert_eq!(
        http(&addr, "/status/live", None),
        (200, "I-AM-ALIVE".to_string())
    );
    assert_eq!(http(&addr, "/c/banks", None).0, 401);
    let q = "/m/lookup?signal_type=pdq&signal=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    assert_eq!(http(&addr, q, Some(&key)), (200, "{}".to_string()));
    // A matcher may not read banks.
    assert_eq!(http(&addr, "/c/banks", Some(&key)).0, 403);

    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn an_open_server_refuses_a_public_address() {
    let dir = Dir::new();
    let db = format!("sqlite://{}", dir.path().join("v.db").display());
    let out = dir
        .vigil()
        .args(["--db", &db, "serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve") && err.contains("vigil key create"),
        "{err}"
    );
}

#[test]
fn the_settings_file_is_read_strictly() {
    let dir = Dir::new();
    let db = format!("sqlite://{}", dir.path().join("v.db").display());
    let f = dir.write("vigil.toml", b"listen = \"127.0.0.1:0\"\nlisten_port = 5\n");
    let out = dir
        .vigil()
        .args(["--db", &db, "serve", "--config"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil.toml") && err.contains("listen_port"),
        "{err}"
    );
    // A good file is used, and a flag wins over it.
    dir.write(
        "good.toml",
        b"listen = \"0.0.0.0:1\"\nrefresh_ms = 100\nwithout = [\"hasher\"]\n",
    );
    let (mut child, addr) = serve(
        &dir,
        &db,
        &[
            "--config",
            dir.path().join("good.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    wait_ready(&addr);
    assert_eq!(
        http(&addr, "/h/hash?url=http://example.invalid/", None).0,
        404
    );
    child.kill().unwrap();
    let _ = child.wait();
}
