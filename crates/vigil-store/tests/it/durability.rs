use std::io::BufRead;
use std::process::{Command, Stdio};

use vigil_store::{NewBank, Store};

use crate::util::*;

/// Two processes' worth of writers (two pools) on one store at once: every write lands, the
/// database stays sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers() {
    for db in stores("concurrent_writers").await {
        let a = db.store.clone();
        let b = Store::open(&db.url).await.unwrap();
        a.create_bank("t", &NewBank::block("x")).await.unwrap();
        let job = |s: Store, base: u64| {
            tokio::spawn(async move {
                for k in 0..8u64 {
                    let from = base + k * 250;
                    s.import(
                        "t",
                        "x",
                        (from..from + 250).map(plain).map(Ok::<_, String>),
                        &opts("w"),
                    )
                    .await
                    .unwrap();
                    s.create_bank("t", &NewBank::block(&format!("b{base}-{k}")))
                        .await
                        .unwrap();
                }
            })
        };
        let (r1, r2) = tokio::join!(job(a.clone(), 0), job(b.clone(), 1_000_000));
        r1.unwrap();
        r2.unwrap();
        let x = a.bank("x").await.unwrap();
        assert_eq!(
            (x.content_count, x.signal_count),
            (4000, 4000),
            "{}",
            db.name
        );
        assert_eq!(a.banks().await.unwrap().len(), 17);
        if db.name == "sqlite" {
            sqlx::any::install_default_drivers();
            let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            let ok: (String,) = sqlx::query_as("PRAGMA integrity_check")
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(ok.0, "ok");
        }
    }
}

/// Not a test on its own: the child process of `a_killed_import_leaves_nothing_behind`.
#[tokio::test]
async fn child_import() {
    let Ok(url) = std::env::var("VIGIL_TEST_CHILD_URL") else {
        return;
    };
    let s = Store::open(&url).await.unwrap();
    let mut n = 0u64;
    let records = std::iter::from_fn(|| {
        n += 1;
        if n == 20_000 {
            eprintln!("CHILD-STAGING");
        }
        Some(Ok::<_, String>(plain(n)))
    });
    // Never ends: the parent kills us.
    s.import("child", "k", records, &opts("endless"))
        .await
        .unwrap();
}

/// A process killed (SIGKILL) in the middle of an import leaves the store as it was: nothing of
/// the import, and the store opens and takes writes again.
#[tokio::test]
async fn a_killed_import_leaves_nothing_behind() {
    for db in stores("a_killed_import_leaves_nothing_behind").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("k")).await.unwrap();
        s.import(
            "t",
            "k",
            (0..10).map(plain).map(Ok::<_, String>),
            &opts("before"),
        )
        .await
        .unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "durability::child_import",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("VIGIL_TEST_CHILD_URL", &db.url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufReader::new(stderr).lines();
        let started = lines.any(|l| l.map(|l| l.contains("CHILD-STAGING")).unwrap_or(false));
        assert!(started, "{}: the child never got to staging", db.name);
        child.kill().unwrap();
        child.wait().unwrap();

        let s2 = Store::open(&db.url).await.unwrap();
        let k = s2.bank("k").await.unwrap();
        assert_eq!((k.content_count, k.signal_count), (10, 10), "{}", db.name);
        s2.import(
            "t",
            "k",
            (10..20).map(plain).map(Ok::<_, String>),
            &opts("after"),
        )
        .await
        .unwrap();
        assert_eq!(s2.bank("k").await.unwrap().content_count, 20);
    }
}
