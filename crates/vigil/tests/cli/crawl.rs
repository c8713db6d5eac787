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
            let (status, ctype, body) = match routes.get(&path) {
                Some((t, b)) => ("200 OK", *t, b.clone()),
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

    let r = run(&[
        "crawl",
        "run",
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
    let r = run(&["crawl", "recheck", "--crawl", "r1"]);
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
