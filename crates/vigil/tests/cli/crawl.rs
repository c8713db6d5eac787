//! `vigil crawl run` and `vigil crawl report` against a small site served by the test on
//! 127.0.0.1 (benign fixture images, one of them banked): the finding recorded and reported in
//! every format, a second run resuming without fetching again, nothing written outside the
//! store (HOME and TMPDIR stay empty), and usage errors.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::util::*;

/// Serves `routes` (path → content type and body) over HTTP/1.1 on 127.0.0.1, one connection
/// at a time, closing each; counts requests per path. Unknown paths get 404.
fn serve(
    routes: HashMap<String, (&'static str, Vec<u8>)>,
) -> (u16, Arc<Mutex<HashMap<String, usize>>>) {
    serve_shared(Arc::new(Mutex::new(routes)))
}

type Routes = Arc<Mutex<HashMap<String, (&'static str, Vec<u8>)>>>;

/// [`serve`] over routes the test may change while serving.
fn serve_shared(routes: Routes) -> (u16, Arc<Mutex<HashMap<String, usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let h = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            *h.lock().unwrap().entry(path.clone()).or_default() += 1;
            let route = routes.lock().unwrap().get(&path).cloned();
            let (status, ctype, body) = match route {
                Some((t, b)) => ("200 OK", t, b),
                None => ("404 Not Found", "text/plain", b"not found".to_vec()),
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(&body);
        }
    });
    (port, hits)
}

fn expected_pdq(fixtures: &Path, rel: &str) -> String {
    let rows = vigil_testkit::read_csv(&fixtures.join("threatexchange/expected-pdq.csv"));
    rows.iter()
        .find(|r| r["path"] == format!("pdq/data/{rel}"))
        .unwrap_or_else(|| panic!("{rel}"))["pdq_hex"]
        .clone()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn crawl_run_records_findings_reports_them_and_resumes() {
    let Some(fixtures) = vigil_testkit::fixtures("crawl_run_cli") else {
        return;
    };
    let labelme = fixtures.join("threatexchange/pdq/data/reg-test-input/labelme-subset");
    let banked = std::fs::read(labelme.join("q0122.jpg")).unwrap();
    let other = std::fs::read(labelme.join("q0291.jpg")).unwrap();
    let mut routes = HashMap::new();
    routes.insert(
        "/".to_string(),
        (
            "text/html",
            b"<html><body><a href=\"/more\">more</a><img src=\"/b.jpg\"></body></html>".to_vec(),
        ),
    );
    routes.insert(
        "/more".to_string(),
        ("text/html", b"<p><img src=\"/pics/a\"></p>".to_vec()),
    );
    // The banked image, served as text/plain with no extension: sniffed, not trusted.
    routes.insert("/pics/a".to_string(), ("text/plain", banked));
    routes.insert("/b.jpg".to_string(), ("image/jpeg", other));
    let (port, hits) = serve(routes);

    let d = Dir::new();
    for sub in ["home", "tmp", "store"] {
        std::fs::create_dir(d.path().join(sub)).unwrap();
    }
    let home = d.path().join("home");
    let tmp = d.path().join("tmp");
    let run = |args: &[&str]| -> Run {
        Run::from(
            d.vigil()
                .env("HOME", &home)
                .env("TMPDIR", &tmp)
                .env("XDG_DATA_HOME", &home)
                .env("XDG_CACHE_HOME", &home)
                .args(["--db", "store/v.db"])
                .args(args)
                .output()
                .unwrap(),
        )
    };
    d.write(
        "known.txt",
        format!(
            "{}\n",
            expected_pdq(&fixtures, "reg-test-input/labelme-subset/q0122.jpg")
        )
        .as_bytes(),
    );
    run(&["bank", "create", "known"]).code(0);
    run(&["bank", "import", "known", "known.txt"]).code(0);
    d.write(
        "seeds.txt",
        format!("# reported\n\nhttp://127.0.0.1:{port}/\n").as_bytes(),
    );

    // Without --allow-private the loopback site is refused, and nothing is fetched from it.
    let r = run(&["crawl", "run", "--seeds", "seeds.txt", "--name", "denied"]);
    r.code(0);
    assert!(r.stderr.contains("1 failed"), "{}", r.stderr);
    assert!(hits.lock().unwrap().is_empty());
    let r = run(&["crawl", "report", "--crawl", "denied"]);
    assert!(r.stdout.contains("not a public address"), "{}", r.stdout);

    let r = run(&[
        "crawl",
        "run",
        "--allow-private",
        "127.0.0.0/8",
        "--seeds",
        "seeds.txt",
        "--name",
        "r1",
        "--delay-ms",
        "0",
    ]);
    r.code(0);
    assert!(
        r.stderr.contains(
            "crawl \"r1\": 4 fetched, 2 pages, 2 media hashed (0 seen before), 1 findings, 0 failed"
        ),
        "{}",
        r.stderr
    );
    let base = format!("http://127.0.0.1:{port}");

    let r = run(&["crawl", "report", "--format", "json"]);
    r.code(0);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0]["host"], "127.0.0.1");
    let f = &hosts[0]["findings"].as_array().unwrap()[..];
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["url"], format!("{base}/pics/a"));
    assert_eq!(f[0]["page_url"], format!("{base}/more"));
    assert_eq!(f[0]["bank"], "known");
    assert_eq!(f[0]["ip"], "127.0.0.1");
    assert_eq!(f[0]["signal_kind"], "pdq");
    assert_eq!(f[0]["distance"], 0);
    assert_eq!(f[0]["crawl"], "r1");
    assert_eq!(
        f[0]["pdq"],
        expected_pdq(&fixtures, "reg-test-input/labelme-subset/q0122.jpg")
    );

    let r = run(&["crawl", "report", "--crawl", "r1", "--format", "csv"]);
    r.code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(lines[0].starts_with("crawl,host,url,page_url,ip,found_at_ms,kind,sha256,md5,pdq,bank,content_id,signal_kind,distance,checked_at_ms,removed_at_ms"));
    assert!(lines[1].starts_with(&format!(
        "r1,127.0.0.1,{base}/pics/a,{base}/more,127.0.0.1,"
    )));

    let r = run(&["crawl", "report"]);
    r.code(0);
    assert!(
        r.stdout
            .contains("crawl r1: 4 URLs done, 0 failed, 0 queued, finished"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("127.0.0.1: 1 finding(s), 1 open, 0 removed (time to removal: median -, 90th percentile -)"),
        "{}",
        r.stdout
    );

    // A re-check: still up.
    let r = run(&[
        "crawl",
        "recheck",
        "--crawl",
        "r1",
        "--allow-private",
        "127.0.0.1",
    ]);
    r.code(0);
    assert!(
        r.stderr
            .contains("re-checked 1 URL(s): 1 still up, 0 removed, 0 could not be checked"),
        "{}",
        r.stderr
    );

    // Notices per provider: the finding's IP falls in the operator's loopback range.
    d.write(
        "providers.csv",
        b"cidr,provider,contact\n127.0.0.0/8,Loopback Hosting,abuse@loopback.example\n",
    );
    let r = run(&[
        "crawl",
        "notices",
        "--crawl",
        "r1",
        "--providers",
        "providers.csv",
    ]);
    r.code(0);
    assert!(
        r.stdout.starts_with("To: abuse@loopback.example\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Dear Loopback Hosting abuse team"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "Host: 127.0.0.1\n  - URL: {base}/pics/a\n    found on: {base}/more\n"
        )),
        "{}",
        r.stdout
    );
    let r = run(&["crawl", "notices", "--format", "json"]);
    r.code(0);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["provider"], "unknown", "no table: provider unknown");
    assert_eq!(v[0]["count"], 1);
    assert_eq!(
        v[0]["hosts"][0]["items"][0]["url"],
        format!("{base}/pics/a")
    );

    // Running again resumes: nothing is fetched again (robots.txt aside: once per run).
    let before = hits.lock().unwrap().clone();
    let r = run(&[
        "crawl",
        "run",
        "--allow-private",
        "127.0.0.0/8",
        "--seeds",
        "seeds.txt",
        "--name",
        "r1",
        "--delay-ms",
        "0",
    ]);
    r.code(0);
    assert!(
        r.stderr.contains("crawl \"r1\" (resumed): 0 fetched"),
        "{}",
        r.stderr
    );
    let mut after = hits.lock().unwrap().clone();
    after.remove("/robots.txt");
    let mut before_ = before.clone();
    before_.remove("/robots.txt");
    assert_eq!(after, before_);
    // Each fetched once by the crawl; the finding's URL once more by the re-check.
    for (p, n) in [("/", 1), ("/more", 1), ("/pics/a", 2), ("/b.jpg", 1)] {
        assert_eq!(after.get(p), Some(&n), "{p}");
    }

    // Nothing but the store was written: no media, no cache, no temporary file.
    assert!(entries(&home).is_empty(), "{:?}", entries(&home));
    assert!(entries(&tmp).is_empty(), "{:?}", entries(&tmp));
    for f in entries(&d.path().join("store")) {
        assert!(f.starts_with("v.db"), "{f}");
    }
    assert_eq!(
        entries(d.path()),
        [
            "home",
            "known.txt",
            "providers.csv",
            "seeds.txt",
            "store",
            "tmp"
        ]
    );
}

#[test]
fn crawl_usage_errors_and_refused_onions() {
    let d = Dir::new();
    d.write("seeds.txt", b"http://exampleonionaddressxyz.onion/\n");
    let r = d.run(&[
        "--db",
        "v.db",
        "crawl",
        "run",
        "--seeds",
        "seeds.txt",
        "--scope",
        "bogus",
    ]);
    r.code(2);
    assert!(r.stderr.contains("--scope \"bogus\""), "{}", r.stderr);
    let r = d.run(&[
        "--db",
        "v.db",
        "crawl",
        "run",
        "--seeds",
        "seeds.txt",
        "--proxy",
        "socks5://127.0.0.1:9",
    ]);
    r.code(2);
    assert!(r.stderr.contains("only socks5h://"), "{}", r.stderr);
    let r = d.run(&[
        "--db",
        "v.db",
        "crawl",
        "run",
        "--seeds",
        "seeds.txt",
        "--include",
        "(",
    ]);
    r.code(2);
    assert!(r.stderr.contains("--include"), "{}", r.stderr);
    d.write("bad.txt", b"ftp://example.invalid/\n");
    let r = d.run(&["--db", "v.db", "crawl", "run", "--seeds", "bad.txt"]);
    r.code(2);
    assert!(r.stderr.contains("bad.txt:1"), "{}", r.stderr);
    let r = d.run(&["--db", "v.db", "crawl", "report", "--crawl", "nope"]);
    r.code(2);

    // An onion seed with no proxy: refused (recorded against the URL), never resolved.
    let r = d.run(&[
        "--db",
        "v.db",
        "crawl",
        "run",
        "--seeds",
        "seeds.txt",
        "--name",
        "o",
    ]);
    r.code(0);
    assert!(r.stderr.contains("1 failed"), "{}", r.stderr);
    let r = d.run(&["--db", "v.db", "crawl", "report", "--crawl", "o"]);
    r.code(0);
    assert!(
        r.stdout.contains("crawl o: 0 URLs done, 1 failed"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "  failed: http://exampleonionaddressxyz.onion/: http://exampleonionaddressxyz.onion/: refused: an onion address needs a SOCKS5 proxy"
        ),
        "{}",
        r.stdout
    );
}

/// The URLs a notice's text lists (`  - URL: …` lines), sorted.
fn listed_urls(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- URL: "))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The text part of a mailed notice (7bit: ASCII, short lines).
fn text_part(m: &vigil_testkit::smtp::Received) -> String {
    let start = m
        .data
        .find("Content-Type: text/plain")
        .expect("a text part");
    let part = &m.data[start..];
    let body = &part[part.find("\r\n\r\n").unwrap() + 4..];
    body[..body.find("\r\n--").unwrap()].replace("\r\n", "\n")
}

#[test]
fn crawl_notices_are_mailed_rechecked_resent_and_reported() {
    let Some(fixtures) = vigil_testkit::fixtures("crawl_notices_cli") else {
        return;
    };
    let labelme = fixtures.join("threatexchange/pdq/data/reg-test-input/labelme-subset");
    let mut routes = HashMap::new();
    routes.insert(
        "/".to_string(),
        (
            "text/html",
            b"<html><body><img src=\"/pics/a.jpg\"><img src=\"/pics/b.jpg\"></body></html>"
                .to_vec(),
        ),
    );
    for (path, file) in [("/pics/a.jpg", "q0122.jpg"), ("/pics/b.jpg", "q0291.jpg")] {
        routes.insert(
            path.to_string(),
            ("image/jpeg", std::fs::read(labelme.join(file)).unwrap()),
        );
    }
    let routes: Routes = Arc::new(Mutex::new(routes));
    let (port, _hits) = serve_shared(routes.clone());
    let base = format!("http://127.0.0.1:{port}");
    let sink = vigil_testkit::smtp::Sink::start();
    let smtp = sink.url();

    let d = Dir::new();
    let run = |args: &[&str]| d.run(&[&["--db", "v.db"], args].concat());
    d.write(
        "known.txt",
        format!(
            "{}\n{}\n",
            expected_pdq(&fixtures, "reg-test-input/labelme-subset/q0122.jpg"),
            expected_pdq(&fixtures, "reg-test-input/labelme-subset/q0291.jpg")
        )
        .as_bytes(),
    );
    run(&["bank", "create", "known"]).code(0);
    run(&["bank", "import", "known", "known.txt"]).code(0);
    d.write("seeds.txt", format!("{base}/\n").as_bytes());
    d.write(
        "providers.csv",
        b"cidr,provider,contact\n127.0.0.0/8,Loopback Hosting,abuse@loopback.example\n",
    );
    let r = run(&[
        "crawl",
        "run",
        "--allow-private",
        "127.0.0.0/8",
        "--seeds",
        "seeds.txt",
        "--name",
        "site",
        "--delay-ms",
        "0",
    ]);
    r.code(0);
    assert!(r.stderr.contains("2 findings"), "{}", r.stderr);

    // Usage errors: nowhere to send, credentials in the URL, a flag needing --send.
    let r = run(&["crawl", "notices", "--send"]);
    r.code(2);
    assert!(r.stderr.contains("--send needs --smtp"), "{}", r.stderr);
    let r = run(&[
        "crawl",
        "notices",
        "--send",
        "--smtp",
        "smtp://user:secret@127.0.0.1:25",
        "--from",
        "reports@hotline.example",
    ]);
    r.code(2);
    assert!(r.stderr.contains("VIGIL_SMTP_PASSWORD"), "{}", r.stderr);
    run(&["crawl", "notices", "--resend-after", "7d"]).code(2);
    assert!(sink.messages().is_empty());

    // The first notice: mailed to the provider's contact, both URLs, recorded.
    let send = [
        "--smtp",
        smtp.as_str(),
        "--from",
        "reports@hotline.example",
        "--providers",
        "providers.csv",
    ];
    let r = run(&[
        &["crawl", "notices", "--send", "--crawl", "site"][..],
        &send,
    ]
    .concat());
    r.code(0);
    assert!(
        r.stderr.contains(
            "notice to abuse@loopback.example (Loopback Hosting): 2 URL(s), sent\n1 notice(s) due: 1 sent, 0 failed, 0 uncontactable"
        ),
        "{}",
        r.stderr
    );
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].rcpt_to, ["abuse@loopback.example"]);
    assert_eq!(
        msgs[0].header("Subject").as_deref(),
        Some("Removal request: 2 item(s) of known child sexual abuse material on your service")
    );
    assert_eq!(
        listed_urls(&text_part(&msgs[0])),
        [format!("{base}/pics/a.jpg"), format!("{base}/pics/b.jpg")]
    );
    // Sending again: nothing is due.
    let r = run(&[&["crawl", "notices", "--send"][..], &send].concat());
    r.code(0);
    assert!(r.stderr.contains("0 notice(s) due"), "{}", r.stderr);
    assert_eq!(sink.messages().len(), 1);

    // b.jpg is taken down; a re-check records it and reminds about a.jpg only.
    routes.lock().unwrap().remove("/pics/b.jpg");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = run(&[
        &[
            "crawl",
            "recheck",
            "--allow-private",
            "127.0.0.1",
            "--resend-after",
            "1s",
        ][..],
        &send,
    ]
    .concat());
    r.code(0);
    assert!(
        r.stderr
            .contains("re-checked 2 URL(s): 1 still up, 1 removed, 0 could not be checked"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "reminder (notice 2) to abuse@loopback.example (Loopback Hosting): 1 URL(s), sent"
        ),
        "{}",
        r.stderr
    );
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        msgs[1].header("Subject").as_deref(),
        Some(
            "Reminder (notice 2): Removal request: 1 item(s) of known child sexual abuse \
             material on your service"
        )
    );
    assert_eq!(
        listed_urls(&text_part(&msgs[1])),
        [format!("{base}/pics/a.jpg")]
    );

    // A server that refuses the connection: the notice is recorded as failed, exit 1.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("smtp://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let r = run(&[
        "crawl",
        "notices",
        "--send",
        "--resend-after",
        "1s",
        "--smtp",
        &dead,
        "--from",
        "reports@hotline.example",
        "--to-override",
        "desk@hotline.example",
    ]);
    r.code(1);
    assert!(r.stderr.contains("NOT sent"), "{}", r.stderr);

    // --every: passes until SIGTERM, which stops it cleanly (exit 0).
    let mut child = d
        .vigil()
        .args([
            "--db",
            "v.db",
            "crawl",
            "recheck",
            "--allow-private",
            "127.0.0.1",
        ])
        .args(["--every", "1s", "--resend-after", "1h"])
        .args(send)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.starts_with("pass 2: ")) {
        seen.push(
            rx.recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no second pass: {seen:?}")),
        );
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(0), "{seen:?}");
    while let Ok(l) = rx.recv_timeout(std::time::Duration::from_secs(5)) {
        seen.push(l);
    }
    assert!(
        seen.iter()
            .any(|l| l.starts_with("stopped by signal after")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l
                == "pass 1: re-checked 1 URL(s): 1 still up, 0 removed, 0 could not be checked"),
        "{seen:?}"
    );
    // A reminder an hour after the last: none due.
    assert_eq!(sink.messages().len(), 2);

    // The takedown report: per host and provider.
    let r = run(&["crawl", "report", "--format", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let f = v["hosts"][0]["findings"].as_array().unwrap();
    let b = f
        .iter()
        .find(|f| f["url"] == format!("{base}/pics/b.jpg"))
        .unwrap();
    let b_ms = b["removed_at_ms"].as_i64().unwrap() - b["found_at_ms"].as_i64().unwrap();
    let r = run(&["crawl", "report", "--takedown", "--format", "json"]);
    r.code(0);
    let t: Value = serde_json::from_str(&r.stdout).unwrap();
    let host = &t["hosts"][0];
    assert_eq!(host["name"], "127.0.0.1");
    assert_eq!(
        (host["open"].as_i64(), host["removed"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(host["median_removal_ms"].as_i64(), Some(b_ms));
    assert_eq!(host["p90_removal_ms"].as_i64(), Some(b_ms));
    assert_eq!(host["notices_sent"], 2, "the failed one does not count");
    assert!(host["first_notice_at"].as_i64() < host["last_notice_at"].as_i64());
    assert_eq!(t["providers"][0]["name"], "Loopback Hosting");
    assert_eq!(t["providers"][0]["notices_sent"], 2);

    let r = run(&["crawl", "report", "--takedown", "--format", "csv"]);
    r.code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "by,name,open,removed,median_removal_ms,p90_removal_ms,notices_sent,first_notice_at_ms,last_notice_at_ms,uncontactable"
    );
    assert!(
        lines[1].starts_with(&format!("host,127.0.0.1,1,1,{b_ms},{b_ms},2,")),
        "{}",
        r.stdout
    );
    assert!(
        lines[2].starts_with(&format!("provider,Loopback Hosting,1,1,{b_ms},{b_ms},2,")),
        "{}",
        r.stdout
    );
    assert_eq!(lines.len(), 3);
    let r = run(&["crawl", "report", "--takedown"]);
    r.code(0);
    assert!(r.stdout.contains("Loopback Hosting"), "{}", r.stdout);
    assert!(r.stdout.contains("nearest rank"), "{}", r.stdout);
}

/// The report queue's state per URL, read back from the store (the server's listing is tested
/// in vigil-server).
fn queue(db: &Path) -> Vec<(String, String, Option<String>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = vigil_store::Store::open(db.to_str().unwrap())
            .await
            .unwrap();
        let r = s.crawl_reports(None, None, 1000).await.unwrap();
        s.close().await;
        r.into_iter()
            .map(|r| (r.url, r.state.name().to_string(), r.crawl))
            .collect()
    })
}

fn report_urls(db: &Path, urls: &[String]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = vigil_store::Store::open(db.to_str().unwrap())
            .await
            .unwrap();
        for r in s.crawl_reports_submit(urls, "test").await.unwrap() {
            r.unwrap();
        }
        s.close().await;
    })
}

/// `vigil crawl run --from-queue`: reports taken oldest first up to --max, marked done when the
/// crawl finishes, kept (taken) by a crawl stopped early and crawled when it resumes; an empty
/// queue crawls nothing; usage errors.
#[test]
fn crawl_run_from_the_queue() {
    let mut routes = HashMap::new();
    for p in ["/a", "/b", "/c", "/d"] {
        routes.insert(
            p.to_string(),
            ("text/html", b"<p>nothing here</p>".to_vec()),
        );
    }
    let (port, hits) = serve(routes);
    let d = Dir::new();
    let db = d.path().join("v.db");
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let run = |args: &[&str]| {
        let mut all = vec![
            "--db",
            "v.db",
            "crawl",
            "run",
            "--allow-private",
            "127.0.0.0/8",
        ];
        all.extend(["--delay-ms", "0"]);
        all.extend(args);
        d.run(&all)
    };
    // The store exists (and is migrated) once a command has opened it.
    let r = run(&["--from-queue", "--name", "empty"]);
    r.code(0);
    assert!(r.stderr.contains("no pending report"), "{}", r.stderr);
    report_urls(&db, &[url("/a"), url("/b"), url("/c")]);

    let r = run(&["--from-queue", "--max", "2", "--name", "q1"]);
    r.code(0);
    assert!(
        r.stderr
            .contains("2 report(s) taken from the queue, 2 seed(s) in all"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("2 queued report(s) marked done"),
        "{}",
        r.stderr
    );
    let q1 = Some("q1".to_string());
    assert_eq!(
        queue(&db),
        [
            (url("/a"), "done".to_string(), q1.clone()),
            (url("/b"), "done".to_string(), q1.clone()),
            (url("/c"), "pending".to_string(), None),
        ]
    );
    {
        let h = hits.lock().unwrap();
        assert_eq!(
            (h.get("/a"), h.get("/b"), h.get("/c")),
            (Some(&1), Some(&1), None)
        );
    }

    // Stopped before fetching anything: /c stays taken by q2; resumed, it is crawled and done.
    let r = run(&["--from-queue", "--name", "q2", "--stop-after", "0"]);
    r.code(0);
    assert!(r.stderr.contains("stopped early"), "{}", r.stderr);
    let q2 = Some("q2".to_string());
    assert_eq!(queue(&db)[2], (url("/c"), "taken".to_string(), q2.clone()));
    report_urls(&db, &[url("/d")]);
    // Another crawl takes only what is pending (/d), never q2's /c.
    let r = run(&["--from-queue", "--name", "q3"]);
    r.code(0);
    assert!(
        r.stderr
            .contains("1 report(s) taken from the queue, 1 seed(s) in all"),
        "{}",
        r.stderr
    );
    let r = run(&["--from-queue", "--name", "q2"]);
    r.code(0);
    assert!(
        r.stderr
            .contains("0 report(s) taken from the queue, 1 seed(s) in all"),
        "{}",
        r.stderr
    );
    let states = queue(&db);
    assert_eq!(states[2], (url("/c"), "done".to_string(), q2));
    assert_eq!(
        states[3],
        (url("/d"), "done".to_string(), Some("q3".to_string()))
    );
    assert_eq!(hits.lock().unwrap().get("/c"), Some(&1));

    // Usage: one source of seeds, and --max only with --from-queue.
    d.write("seeds.txt", url("/a").as_bytes());
    run(&[]).code(2);
    run(&["--from-queue", "--seeds", "seeds.txt"]).code(2);
    let r = run(&["--seeds", "seeds.txt", "--max", "3"]);
    r.code(2);
    assert!(
        r.stderr.contains("--max needs --from-queue"),
        "{}",
        r.stderr
    );
}

/// A provider with no e-mail contact: each `notices --send` says so (exit 1), the first records
/// it and the next says it was recorded before; the takedown report counts the item; and
/// `--smtp-ca` usage errors name the file.
#[test]
fn crawl_notices_to_an_uncontactable_provider() {
    let d = Dir::new();
    let db = d.path().join("v.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = vigil_store::Store::open(db.to_str().unwrap())
            .await
            .unwrap();
        let (c, _) = s.crawl_open("site", "{}").await.unwrap();
        s.crawl_push(
            c.id,
            &[vigil_store::NewFrontierEntry {
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
        let finding = vigil_store::NewFinding {
            url: "http://a.test/1.jpg".into(),
            page_url: None,
            host: "a.test".into(),
            ip: Some("192.0.2.7".into()),
            kind: "image".into(),
            sha256: [1; 32],
            md5: "0".repeat(32),
            sha1: "1".repeat(40),
            pdq: None,
            bank: "known".into(),
            content_id: 1,
            signal_kind: "md5".into(),
            distance: 0,
        };
        s.crawl_complete(
            c.id,
            e[0].id,
            &vigil_store::Completion {
                kind: "page".into(),
                findings: vec![finding],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        s.close().await;
    });
    d.write(
        "providers.csv",
        b"cidr,provider,contact\n192.0.2.0/24,Form Hosting,https://form.example/abuse\n",
    );
    let sink = vigil_testkit::smtp::Sink::start();
    let url = sink.url();
    let send = [
        "--db",
        "v.db",
        "crawl",
        "notices",
        "--send",
        "--smtp",
        url.as_str(),
        "--from",
        "reports@hotline.example",
        "--providers",
        "providers.csv",
    ];
    let r = d.run(&send);
    r.code(1);
    assert!(
        r.stderr
            .contains("notice for Form Hosting: 1 URL(s), uncontactable ("),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("), recorded: add an e-mail contact"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("1 notice(s) due: 0 sent, 0 failed, 1 uncontactable"),
        "{}",
        r.stderr
    );
    let r = d.run(&send);
    r.code(1);
    assert!(r.stderr.contains("), recorded before: add"), "{}", r.stderr);
    assert!(sink.messages().is_empty());
    let r = d.run(&[
        "--db",
        "v.db",
        "crawl",
        "report",
        "--takedown",
        "--format",
        "csv",
    ]);
    r.code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[2].starts_with("provider,Form Hosting,1,0,"),
        "{}",
        r.stdout
    );
    assert!(lines[2].ends_with(",1"), "{}", r.stdout);
    let r = d.run(&[
        "--db",
        "v.db",
        "crawl",
        "notices",
        "--format",
        "json",
        "--providers",
        "providers.csv",
    ]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["uncontactable"], true);
    assert!(
        r.stderr
            .contains("note: Form Hosting has no e-mail contact (uncontactable): 1 URL(s)"),
        "{}",
        r.stderr
    );

    // --smtp-ca: a missing file and a file with no certificate are usage errors naming it.
    let with_ca = |ca: &str| {
        let mut a = send.to_vec();
        a.extend(["--smtp-ca", ca]);
        d.run(&a)
    };
    let r = with_ca("missing.pem");
    r.code(2);
    assert!(r.stderr.contains("--smtp-ca missing.pem"), "{}", r.stderr);
    d.write("bad.pem", b"not a certificate");
    let r = with_ca("bad.pem");
    r.code(2);
    assert!(
        r.stderr.contains("--smtp-ca bad.pem") && r.stderr.contains("no PEM certificate"),
        "{}",
        r.stderr
    );
}
