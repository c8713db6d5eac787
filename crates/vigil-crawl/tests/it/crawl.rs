//! End-to-end crawls of the test site: the exact set of findings, every hostile route bounded
//! and reported, the SOCKS5 route for onion names, and resuming a stopped crawl.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use regex::Regex;
use vigil_crawl::scope::normalize;
use vigil_crawl::{CrawlOptions, FetchOptions, MemoryFrontier, Scope, StoreFrontier, crawl};
use vigil_exchange::record::{Record, Signal, SignalKind};
use vigil_store::{BankKind, ImportOptions, NewBank, Store};

use crate::site::{self, Images};
use crate::socks;

/// The expected-pdq.csv row of a fixture (independent hash values from the reference).
fn expected(fixtures: &Path, rel: &str, column: &str) -> String {
    let rows = vigil_testkit::read_csv(&fixtures.join("threatexchange/expected-pdq.csv"));
    rows.iter()
        .find(|r| r["path"] == format!("pdq/data/{rel}"))
        .unwrap_or_else(|| panic!("{rel} not in expected-pdq.csv"))[column]
        .clone()
}

/// Fills the store's banks: `known` (block) holds q0122 and bridge aaa-orig by PDQ,
/// pen-and-coaster by SHA-256 and q0746 by PDQ; `benign` (allow) holds q0746 too.
async fn banks(store: &Store, fixtures: &Path) {
    store
        .create_bank("test", &NewBank::block("known"))
        .await
        .unwrap();
    store
        .create_bank(
            "test",
            &NewBank {
                kind: BankKind::Allow,
                ..NewBank::block("benign")
            },
        )
        .await
        .unwrap();
    let pdq =
        |rel: &str| Signal::new(SignalKind::Pdq, &expected(fixtures, rel, "pdq_hex")).unwrap();
    let known = vec![
        Record::with_signals([pdq("reg-test-input/labelme-subset/q0122.jpg")]),
        Record::with_signals([pdq("bridge-mods/aaa-orig.jpg")]),
        Record::with_signals([Signal::new(
            SignalKind::Sha256,
            &expected(fixtures, "reg-test-input/pen-and-coaster.png", "sha256"),
        )
        .unwrap()]),
        Record::with_signals([pdq("reg-test-input/labelme-subset/q0746.jpg")]),
    ];
    let opts = ImportOptions {
        source: "test".into(),
        skip_bad: false,
        sort_memory: None,
    };
    store
        .import(
            "test",
            "known",
            known.into_iter().map(Ok::<_, String>),
            &opts,
        )
        .await
        .unwrap();
    let benign = vec![Record::with_signals([pdq(
        "reg-test-input/labelme-subset/q0746.jpg",
    )])];
    store
        .import(
            "test",
            "benign",
            benign.into_iter().map(Ok::<_, String>),
            &opts,
        )
        .await
        .unwrap();
}

fn options() -> CrawlOptions {
    CrawlOptions {
        fetch: FetchOptions {
            max_bytes: 1 << 20,
            max_decompressed_bytes: 4 << 20,
            timeout: Duration::from_secs(2),
            retries: 2,
            backoff: Duration::from_millis(20),
            // The test site is on loopback, which a crawl refuses unless allowed.
            allow_private: vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
            ..FetchOptions::default()
        },
        scope: Scope {
            max_depth: 3,
            ..Scope::default()
        },
        workers: 8,
        per_host_concurrency: 8,
        delay: Duration::ZERO,
        max_links_per_page: 20,
        ..CrawlOptions::default()
    }
}

/// `(url path, page path, bank)` of each finding.
fn finding_set(
    findings: &[vigil_store::NewFinding],
    base: &str,
) -> BTreeSet<(String, String, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f.url.strip_prefix(base).unwrap_or(&f.url).to_string(),
                f.page_url
                    .as_deref()
                    .map(|p| p.strip_prefix(base).unwrap_or(p).to_string())
                    .unwrap_or_default(),
                f.bank.clone(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawls_the_site_and_finds_exactly_the_banked_images() {
    let Some(fixtures) = vigil_testkit::fixtures("crawls_the_site") else {
        return;
    };
    let site = site::serve(Images::load(&fixtures)).await;
    let store = Store::open("sqlite::memory:").await.unwrap();
    banks(&store, &fixtures).await;
    let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
    let base = site.base();
    let seeds = [normalize(&format!("{base}/")).unwrap()];
    let mut frontier = MemoryFrontier::new();
    let report = crawl(&mut frontier, &seeds, &matcher, &options())
        .await
        .unwrap();
    assert!(report.finished, "{report:?}");

    // Exactly the banked images, on the pages that show them; q0746 is in the allow bank too.
    assert_eq!(
        finding_set(&frontier.findings, &base),
        set(&[
            ("/copy/q0122.jpg", "/p2", "known"),
            ("/data/lie.html", "/p2", "known"),
            ("/img/pen.png", "/p2", "known"),
            ("/media/blur", "/p1", "known"),
        ])
    );
    for f in &frontier.findings {
        assert_eq!(f.host, "127.0.0.1");
        assert_eq!(f.ip.as_deref(), Some("127.0.0.1"), "{f:?}");
        assert_eq!(f.kind, "image");
        match f.url.rsplit('/').next().unwrap() {
            "blur" => {
                assert_eq!(f.signal_kind, "pdq");
                assert!(f.distance > 0 && f.distance <= 31, "{f:?}");
            }
            "pen.png" => {
                assert_eq!(f.signal_kind, "sha256");
                assert_eq!(f.distance, 0);
                assert_eq!(
                    hex::encode(f.sha256),
                    expected(&fixtures, "reg-test-input/pen-and-coaster.png", "sha256")
                );
            }
            _ => {
                assert_eq!(f.signal_kind, "pdq");
                assert_eq!(f.distance, 0);
                assert_eq!(
                    f.pdq.as_deref().unwrap(),
                    expected(
                        &fixtures,
                        "reg-test-input/labelme-subset/q0122.jpg",
                        "pdq_hex"
                    )
                );
            }
        }
    }
    // The same bytes at two URLs were hashed once. Images: q0291, q2821, q0003, q0746, blur,
    // pen, q0122 (twice: lie.html and copy).
    assert_eq!(report.hashed, 7, "{report:?}");
    assert_eq!(report.deduplicated, 1, "{report:?}");

    // Each hostile route was bounded and reported against its URL.
    let failed: std::collections::HashMap<String, String> = frontier
        .failures
        .iter()
        .map(|(u, e)| (u.strip_prefix(&base).unwrap_or(u).to_string(), e.clone()))
        .collect();
    let expect_error = |path: &str, text: &str| {
        let e = failed
            .get(path)
            .unwrap_or_else(|| panic!("{path} did not fail: {failed:?}"));
        assert!(e.contains(text), "{path}: {e}");
    };
    expect_error("/huge", "exceeds the 1048576-byte limit");
    expect_error("/slow", "no complete response within 2.0 s");
    expect_error("/bomb", "decompression bomb");
    expect_error("/loop/a", "redirect loop");
    expect_error("/chain/0", "more than 10 redirects");
    expect_error("/away", "redirects out of scope");
    expect_error("/gone", "HTTP status 404");
    expect_error("/private/secret", "robots.txt");
    assert_eq!(failed.len(), 8, "{failed:?}");

    let hits = site.hits();
    // Followed: through the HTML posing as a JPEG, malformed HTML, gzip, brotli, a meta
    // refresh, a redirect to an image, a route failing twice with 503 before it answers.
    for path in [
        "/deep",
        "/img/q0003.jpg",
        "/ok-from-malformed",
        "/from-gzip",
        "/from-br",
        "/refreshed",
        "/img/q2821.jpg",
        "/redirected-target",
        "/after-flaky",
    ] {
        assert_eq!(hits.get(path), Some(&1), "{path}: {hits:?}");
    }
    assert_eq!(hits.get("/flaky"), Some(&3));
    // Never fetched: robots-disallowed, the fragment-only duplicate, beyond the depth limit.
    assert_eq!(hits.get("/private/secret"), None);
    assert_eq!(hits.get("/robots.txt"), Some(&1));
    // The link farm: 20 links per page (the cap), depth 3 at most: 1 + 20 + 400 pages.
    let farm = hits.keys().filter(|k| k.starts_with("/farm/")).count();
    assert_eq!(farm, 1 + 20 + 400, "{report:?}");
    assert!(report.links_capped >= 421, "{report:?}");
    // Every URL at most once (the flaky route's retries aside).
    for (path, n) in &hits {
        if path != "/flaky" && path != "/slow" {
            assert_eq!(*n, 1, "{path} fetched {n} times");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignoring_robots_and_page_limit() {
    let Some(fixtures) = vigil_testkit::fixtures("ignoring_robots") else {
        return;
    };
    let site = site::serve(Images::load(&fixtures)).await;
    let store = Store::open("sqlite::memory:").await.unwrap();
    let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
    let base = site.base();
    let seeds = [normalize(&format!("{base}/")).unwrap()];
    let mut frontier = MemoryFrontier::new();
    let opts = CrawlOptions {
        obey_robots: false,
        scope: Scope {
            max_depth: 1,
            include: vec![Regex::new(r"/(private/|p1|p2|$)").unwrap()],
            exclude: vec![Regex::new("p2").unwrap()],
            ..Scope::default()
        },
        ..options()
    };
    let report = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    let hits = site.hits();
    assert_eq!(hits.get("/robots.txt"), None);
    assert_eq!(hits.get("/private/secret"), Some(&1));
    assert_eq!(hits.get("/p1"), Some(&1));
    assert_eq!(hits.get("/p2"), None);
    assert_eq!(report.fetched, 3, "{report:?}: {hits:?}");
    assert!(frontier.findings.is_empty());

    // At most 10 URLs in the crawl, whatever the link farm offers.
    let mut frontier = MemoryFrontier::new();
    let opts = CrawlOptions {
        max_pages: 10,
        ..options()
    };
    let seeds = [normalize(&format!("{base}/farm/7")).unwrap()];
    let report = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    assert_eq!(report.fetched, 10, "{report:?}");
    assert!(report.over_max_pages >= 11, "{report:?}");
    assert!(report.finished);
}

/// SSRF: without `allow_private`, a loopback address is refused — as an IP literal before
/// anything is sent, and as a name (`localhost`) by the resolver, so nothing reaches the site —
/// and the crawl reports each refusal and ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_unless_allowed() {
    let Some(fixtures) = vigil_testkit::fixtures("private_addresses_are_refused") else {
        return;
    };
    let site = site::serve(Images::load(&fixtures)).await;
    let store = Store::open("sqlite::memory:").await.unwrap();
    let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
    let base = site.base();
    let port = base.rsplit(':').next().unwrap().to_string();
    let seeds = [
        normalize(&format!("{base}/")).unwrap(),
        normalize(&format!("http://localhost:{port}/p1")).unwrap(),
    ];
    let mut opts = options();
    opts.fetch.allow_private.clear();
    opts.fetch.retries = 0;
    let mut frontier = MemoryFrontier::new();
    let report = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    assert!(site.hits().is_empty(), "{:?}", site.hits());
    assert_eq!(report.failed, 2, "{report:?}");
    assert!(report.finished, "{report:?}");
    let failed = format!("{:?}", frontier.failures);
    assert_eq!(frontier.failures.len(), 2, "{failed}");
    assert!(
        failed.contains("127.0.0.1 is not a public address"),
        "{failed}"
    );
    assert!(
        failed.contains("localhost is at") && failed.contains("not a public address"),
        "{failed}"
    );

    // Allowed, the same seeds are fetched.
    let mut frontier = MemoryFrontier::new();
    let opts = CrawlOptions {
        max_pages: 2,
        ..options()
    };
    let report = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    assert_eq!(report.fetched, 2, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onion_hosts_go_through_the_socks_proxy_by_name() {
    let Some(fixtures) = vigil_testkit::fixtures("onion_through_socks") else {
        return;
    };
    let site = site::serve(Images::load(&fixtures)).await;
    let proxy = socks::start(site.addr).await;
    let store = Store::open("sqlite::memory:").await.unwrap();
    banks(&store, &fixtures).await;
    let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
    let onion = "vigiltestabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnop.onion";
    let seeds = [normalize(&format!("http://{onion}/p2")).unwrap()];
    let mut opts = options();
    opts.scope.max_depth = 1;
    opts.fetch.proxy = Some(format!("socks5h://{}", proxy.addr));
    let mut frontier = MemoryFrontier::new();
    let report = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    assert!(report.finished);

    let targets = proxy.targets.lock().unwrap().clone();
    assert!(!targets.is_empty());
    // Every connection carried the onion name, never an address resolved here.
    for t in &targets {
        assert_eq!(t, &socks::Target::Name(onion.to_string(), 80));
    }
    // The pages and images reached the site only through the proxy.
    assert_eq!(site.hits().get("/p2"), Some(&1));
    assert_eq!(
        finding_set(&frontier.findings, &format!("http://{onion}")),
        set(&[
            ("/copy/q0122.jpg", "/p2", "known"),
            ("/data/lie.html", "/p2", "known"),
            ("/img/pen.png", "/p2", "known"),
        ])
    );
    for f in &frontier.findings {
        assert_eq!(f.host, onion);
        assert_eq!(f.ip, None, "no address is known through a proxy");
    }

    // Without a proxy the onion URL is refused, and nothing is sent anywhere.
    let before = proxy.targets.lock().unwrap().len();
    let mut frontier = MemoryFrontier::new();
    let mut opts = options();
    opts.obey_robots = false;
    let report = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    assert_eq!(report.failed, 1);
    assert!(frontier.failures[0].1.contains("needs a SOCKS5 proxy"));
    assert_eq!(proxy.targets.lock().unwrap().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_all_routes_clear_web_hosts_too() {
    let Some(fixtures) = vigil_testkit::fixtures("proxy_all") else {
        return;
    };
    let site = site::serve(Images::load(&fixtures)).await;
    let proxy = socks::start(site.addr).await;
    let store = Store::open("sqlite::memory:").await.unwrap();
    let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
    let seeds = [normalize("http://clear.example.test/deep").unwrap()];
    let mut opts = options();
    opts.scope.max_depth = 0;
    opts.fetch.proxy = Some(format!("socks5h://{}", proxy.addr));
    opts.fetch.proxy_all = true;
    let mut frontier = MemoryFrontier::new();
    crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    assert_eq!(site.hits().get("/deep"), Some(&1));
    let targets = proxy.targets.lock().unwrap().clone();
    assert!(targets.contains(&socks::Target::Name("clear.example.test".into(), 80)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_crawl_resumes_without_repeating_or_losing_work() {
    let Some(fixtures) = vigil_testkit::fixtures("crawl_resumes") else {
        return;
    };
    for db in vigil_testkit::postgres::databases("crawl_resumes") {
        let site = site::serve(Images::load(&fixtures)).await;
        let store = Store::open(&db.url).await.unwrap();
        banks(&store, &fixtures).await;
        let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
        let base = site.base();
        let seeds = [normalize(&format!("{base}/tree/0")).unwrap()];
        let mut opts = options();
        opts.scope.max_depth = 10;
        opts.per_host_concurrency = 3;
        opts.stop_after = Some(10);

        let mut runs = 0;
        loop {
            runs += 1;
            assert!(runs < 30, "{}: the crawl does not end", db.name);
            let (mut frontier, resumed) = StoreFrontier::open(store.clone(), "tree", "{}")
                .await
                .unwrap();
            assert_eq!(resumed, runs > 1);
            let report = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
            if report.finished {
                assert!(report.fetched <= 10);
                break;
            }
            // Each run but the last stops after its 10 fetches.
            assert_eq!(report.fetched, 10, "{}: run {runs}", db.name);
        }
        assert_eq!(runs, 7, "{}: 63 URLs, 10 a run", db.name);

        let hits = site.hits();
        for n in 0..61 {
            assert_eq!(
                hits.get(&format!("/tree/{n}")),
                Some(&1),
                "{}: /tree/{n}",
                db.name
            );
        }
        assert_eq!(hits.get("/copy/q0122.jpg"), Some(&1));
        assert_eq!(hits.get("/img/q0291.jpg"), Some(&1));
        let crawl_row = store.crawl("tree").await.unwrap().unwrap();
        assert!(crawl_row.finished_at.is_some());
        let counts = store.crawl_counts(crawl_row.id).await.unwrap();
        assert_eq!((counts.done, counts.queued, counts.fetching), (63, 0, 0));
        let findings = store.crawl_findings(Some("tree")).await.unwrap();
        assert_eq!(findings.len(), 1, "{}: {findings:?}", db.name);
        assert_eq!(findings[0].finding.url, format!("{base}/copy/q0122.jpg"));
        assert_eq!(
            findings[0].finding.page_url.as_deref(),
            Some(&*format!("{base}/tree/5"))
        );
        // Done: the content is known by SHA-256; a second crawl of the same images reuses it
        // (looked up in the store several at a time): fetched again, hashed never, matched as
        // before.
        let sha = findings[0].finding.sha256;
        assert!(store.crawl_content(&sha).await.unwrap().is_some());
        let (mut frontier, _) = StoreFrontier::open(store.clone(), "tree-again", "{}")
            .await
            .unwrap();
        opts.stop_after = None;
        let again = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
        assert!(again.finished, "{}: {again:?}", db.name);
        assert_eq!(again.hashed, 0, "{}: {again:?}", db.name);
        assert!(again.deduplicated >= 2, "{}: {again:?}", db.name);
        assert_eq!(again.findings, 1, "{}: {again:?}", db.name);
        assert_eq!(site.hits().get("/copy/q0122.jpg"), Some(&2));
        let found = store.crawl_findings(Some("tree-again")).await.unwrap();
        assert_eq!(found.len(), 1, "{}: {found:?}", db.name);
        assert_eq!(found[0].finding.sha256, sha);
        store.close().await;
    }
}

/// Serves HTTPS on 127.0.0.1 with a self-signed certificate (made for this test, valid for
/// 127.0.0.1), answering a small page to whoever completes the handshake.
async fn self_signed_server() -> std::net::SocketAddr {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let cert = CertificateDer::from_pem_slice(include_bytes!("tls/self-signed.crt")).unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("tls/self-signed.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(conn).await {
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let body = "<html><a href=\"/next\">n</a></html>";
                    let _ = tls
                        .write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_certificate_is_an_error_for_that_url() {
    let tls = self_signed_server().await;
    let fixtures = vigil_testkit::fixtures("invalid_tls");
    let store = Store::open("sqlite::memory:").await.unwrap();
    let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
    let mut seeds = vec![normalize(&format!("https://{tls}/")).unwrap()];
    // A plain-HTTP site beside it: the crawl goes on.
    let site = match &fixtures {
        Some(f) => Some(site::serve(Images::load(f)).await),
        None => None,
    };
    if let Some(s) = &site {
        seeds.push(normalize(&format!("{}/deep", s.base())).unwrap());
    }
    let mut opts = options();
    opts.obey_robots = false;
    opts.scope.max_depth = 0;
    let mut frontier = MemoryFrontier::new();
    let report = crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let (url, error) = &frontier.failures[0];
    assert_eq!(url, &format!("https://{tls}/"));
    assert!(error.contains("certificate"), "{error}");
    // The crawl went on and fetched the other seed.
    if let Some(s) = &site {
        assert_eq!(s.hits().get("/deep"), Some(&1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_are_hashed_with_vpdq_and_matched() {
    let Some(fixtures) = vigil_testkit::fixtures("crawl_videos") else {
        return;
    };
    let site = site::serve(Images::load(&fixtures)).await;
    let store = Store::open("sqlite::memory:").await.unwrap();
    // The reference's frames of the clip at one frame a second, as a vPDQ signal.
    let text =
        std::fs::read_to_string(fixtures.join("vpdq-expected/chair-19-sd-bar-1fps.txt")).unwrap();
    let frames: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            format!("{},{},{}", c[2], c[1], c[3])
        })
        .collect();
    let vpdq = serde_json::to_string(&frames).unwrap();
    store
        .create_bank("test", &NewBank::block("videos"))
        .await
        .unwrap();
    let opts = ImportOptions {
        source: "test".into(),
        skip_bad: false,
        sort_memory: None,
    };
    let record = Record::with_signals([Signal::new(SignalKind::Vpdq, &vpdq).unwrap()]);
    store
        .import("test", "videos", [Ok::<_, String>(record)], &opts)
        .await
        .unwrap();
    let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
    let base = site.base();
    let seeds = [normalize(&format!("{base}/watch")).unwrap()];
    let mut o = options();
    o.fetch.max_bytes = 8 << 20;
    o.fetch.timeout = Duration::from_secs(120);
    o.scope.max_depth = 1;
    let mut frontier = MemoryFrontier::new();
    let report = crawl(&mut frontier, &seeds, &matcher, &o).await.unwrap();
    assert_eq!(report.hashed, 1, "{report:?}: {:?}", frontier.failures);
    assert_eq!(
        finding_set(&frontier.findings, &base),
        set(&[("/media/clip", "/watch", "videos")])
    );
    let f = &frontier.findings[0];
    assert_eq!((f.kind.as_str(), f.signal_kind.as_str()), ("video", "vpdq"));
    assert_eq!(f.pdq, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rechecks_record_what_was_taken_down() {
    let Some(fixtures) = vigil_testkit::fixtures("crawl_recheck") else {
        return;
    };
    let site = site::serve(Images::load(&fixtures)).await;
    let store = Store::open("sqlite::memory:").await.unwrap();
    banks(&store, &fixtures).await;
    let matcher = vigil_matcher::Matcher::load(&store).await.unwrap();
    let base = site.base();
    let seeds = [normalize(&format!("{base}/p2")).unwrap()];
    let mut opts = options();
    opts.scope.max_depth = 1;
    let (mut frontier, _) = StoreFrontier::open(store.clone(), "rc", "{}")
        .await
        .unwrap();
    crawl(&mut frontier, &seeds, &matcher, &opts).await.unwrap();
    assert_eq!(store.crawl_findings(Some("rc")).await.unwrap().len(), 3);

    // Everything still up.
    let r = vigil_crawl::recheck(&store, Some("rc"), &opts.fetch)
        .await
        .unwrap();
    assert_eq!((r.checked, r.still_up, r.removed), (3, 3, 0), "{r:?}");

    // Two taken down (404): removed; the third still up.
    site.remove("/copy/q0122.jpg");
    site.remove("/img/pen.png");
    let r = vigil_crawl::recheck(&store, Some("rc"), &opts.fetch)
        .await
        .unwrap();
    assert_eq!((r.checked, r.still_up, r.removed), (3, 1, 2), "{r:?}");
    let findings = store.crawl_findings(Some("rc")).await.unwrap();
    let removed: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.removed_at.is_some())
        .map(|f| f.finding.url.strip_prefix(&base).unwrap().to_string())
        .collect();
    assert_eq!(
        removed,
        ["/copy/q0122.jpg", "/img/pen.png"].map(String::from).into()
    );
    // Removed findings are checked no more and leave the notices.
    let r = vigil_crawl::recheck(&store, Some("rc"), &opts.fetch)
        .await
        .unwrap();
    assert_eq!(r.checked, 1);
    let notices = vigil_crawl::notice::group(&findings, &Default::default());
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].count(), 1);
}
