//! The file exchange: new files applied, unchanged files skipped (without being read), touched
//! files recorded, changed files applied again, broken files reported and retried.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use sha2::{Digest, Sha256};
use vigil_fetch::{
    Error, ExchangeConfig, FileConfig, Format, Status, VicsSchemeName, add_exchange, fetch,
};
use vigil_store::{NewBank, Store};

use crate::util::*;

fn plain_list(seeds: &[u64]) -> String {
    seeds
        .iter()
        .map(|s| format!("{}\n", pdq(*s).value()))
        .collect()
}

/// The bank's signal values, sorted.
async fn hashes(s: &Store, bank: &str) -> Vec<String> {
    let mut v: Vec<String> = items(s, bank)
        .await
        .into_iter()
        .flat_map(|(_, sigs)| sigs)
        .collect();
    v.sort();
    v
}

fn pdqs(seeds: &[u64]) -> Vec<String> {
    let mut v: Vec<String> = seeds.iter().map(|s| pdq(*s).value().to_string()).collect();
    v.sort();
    v
}

async fn imports(s: &Store) -> usize {
    s.audit_log(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|a| a.action == "content.import")
        .count()
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn file_config(path: &Path, format: Format, vics: Option<VicsSchemeName>) -> ExchangeConfig {
    ExchangeConfig::File(FileConfig {
        path: path.to_path_buf(),
        format,
        vics_scheme: vics,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_unchanged_touched_and_changed_files() {
    for db in stores("new_unchanged_touched_and_changed_files").await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("drop");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.txt"), plain_list(&[1, 2])).unwrap();
        std::fs::write(root.join("sub/b.txt"), plain_list(&[3])).unwrap();
        // Left out: a name starting with a dot (a file being written, say).
        std::fs::write(root.join(".partial.txt"), plain_list(&[99])).unwrap();
        s.create_bank("t", &NewBank::block("files")).await.unwrap();
        add_exchange(
            s,
            "t",
            "drop",
            "files",
            &file_config(&root, Format::Plain, None),
        )
        .await
        .unwrap();
        let opts = options(0, 1);

        let r = fetch(s, "drop", &opts).await.unwrap();
        assert_eq!(r.status(), Status::Ok, "{}: {:?}", db.name, r.error);
        assert_eq!((r.pages, r.records, r.unchanged), (2, 3, 0), "{}", db.name);
        assert_eq!(hashes(s, "files").await, pdqs(&[1, 2, 3]));
        let e = s.exchange("drop").await.unwrap();
        let cp: Value = serde_json::from_str(e.checkpoint.as_deref().unwrap()).unwrap();
        let files = cp["files"].as_object().unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["a.txt", "sub/b.txt"],
            "{}",
            db.name
        );
        assert_eq!(
            files["a.txt"]["sha256"],
            sha256(&root.join("a.txt")).as_str()
        );
        assert_eq!(files["a.txt"]["size"], 130);
        let a_mtime = files["a.txt"]["mtime_ns"].as_i64().unwrap();
        assert!(a_mtime > 0);
        let n_imports = imports(s).await;

        // Unchanged: nothing read, nothing applied.
        let r = fetch(s, "drop", &opts).await.unwrap();
        assert_eq!((r.pages, r.records, r.unchanged), (0, 0, 2), "{}", db.name);
        assert_eq!(imports(s).await, n_imports);

        // Touched, same content: its time is recorded, nothing imported.
        let later = SystemTime::now() + Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(root.join("a.txt"))
            .unwrap()
            .set_modified(later)
            .unwrap();
        let r = fetch(s, "drop", &opts).await.unwrap();
        assert_eq!((r.pages, r.records, r.unchanged), (0, 0, 2), "{}", db.name);
        assert_eq!(imports(s).await, n_imports);
        let e = s.exchange("drop").await.unwrap();
        let cp: Value = serde_json::from_str(e.checkpoint.as_deref().unwrap()).unwrap();
        assert_ne!(cp["files"]["a.txt"]["mtime_ns"].as_i64().unwrap(), a_mtime);

        // Changed: read and applied again (the item already there is not counted as new).
        std::fs::write(root.join("sub/b.txt"), plain_list(&[3, 4])).unwrap();
        let r = fetch(s, "drop", &opts).await.unwrap();
        assert_eq!(
            (r.pages, r.records, r.created, r.unchanged),
            (1, 2, 1, 1),
            "{}",
            db.name
        );
        assert_eq!(hashes(s, "files").await, pdqs(&[1, 2, 3, 4]));

        // New, with a bad line: applied, the line skipped and reported.
        std::fs::write(
            root.join("c.txt"),
            format!("{}not-a-hash\n", plain_list(&[5])),
        )
        .unwrap();
        let r = fetch(s, "drop", &opts).await.unwrap();
        assert_eq!(r.status(), Status::Skipped);
        assert_eq!((r.pages, r.records, r.skipped), (1, 1, 1), "{}", db.name);
        assert!(
            r.skipped_shown[0].contains("c.txt:2"),
            "{:?}",
            r.skipped_shown
        );
        assert_eq!(hashes(s, "files").await, pdqs(&[1, 2, 3, 4, 5]));
        let e = s.exchange("drop").await.unwrap();
        assert_eq!((e.records, e.errors), (6, 1), "{}", db.name);
        assert_eq!(e.last_status.as_deref(), Some("skipped"));
        let c = s.content("files", 1).await.unwrap();
        assert_eq!(c.source, "exchange:drop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_file_is_reported_and_retried() {
    let db = sqlite().await;
    let s = &db.store;
    let dir = tempfile::tempdir().unwrap();
    let md5 = |i: u32| format!("{:032x}", 0xabc0_0000u64 + u64::from(i));
    let vics = |ids: &[u32]| {
        let media: Vec<String> = ids
            .iter()
            .map(|i| format!("{{\"MD5\": \"{}\"}}", md5(*i)))
            .collect();
        format!("{{\"value\": [{}]}}", media.join(", "))
    };
    std::fs::write(dir.path().join("a.json"), vics(&[1, 2])).unwrap();
    let broken = vics(&[3]);
    std::fs::write(dir.path().join("b.json"), &broken[..broken.len() - 6]).unwrap();
    std::fs::write(dir.path().join("c.json"), vics(&[4])).unwrap();
    s.create_bank("t", &NewBank::block("v")).await.unwrap();
    add_exchange(
        s,
        "t",
        "vics",
        "v",
        &file_config(dir.path(), Format::Vics, Some(VicsSchemeName::Us)),
    )
    .await
    .unwrap();
    let r = fetch(s, "vics", &options(0, 1)).await.unwrap();
    assert_eq!(r.status(), Status::Error);
    assert_eq!((r.pages, r.records), (2, 3), "a.json and c.json applied");
    let err = r.error.unwrap();
    assert!(matches!(err, Error::File { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("exchange \"vics\": ") && msg.contains("b.json"),
        "{msg}"
    );
    let e = s.exchange("vics").await.unwrap();
    assert_eq!(e.last_error.as_deref(), Some(msg.as_str()));
    let cp: Value = serde_json::from_str(e.checkpoint.as_deref().unwrap()).unwrap();
    let keys: Vec<&String> = cp["files"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a.json", "c.json"], "b.json is not marked applied");
    // Repaired: only b.json is read.
    std::fs::write(dir.path().join("b.json"), vics(&[3])).unwrap();
    let r = fetch(s, "vics", &options(0, 1)).await.unwrap();
    assert_eq!(r.status(), Status::Ok, "{:?}", r.error);
    assert_eq!((r.pages, r.records, r.unchanged), (1, 1, 2));
    let mut want: Vec<String> = (1..=4).map(md5).collect();
    want.sort();
    assert_eq!(hashes(s, "v").await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_file_and_a_missing_path() {
    let db = sqlite().await;
    let s = &db.store;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.txt");
    std::fs::write(&path, plain_list(&[7, 8])).unwrap();
    s.create_bank("t", &NewBank::block("one")).await.unwrap();
    add_exchange(
        s,
        "t",
        "one",
        "one",
        &file_config(&path, Format::Plain, None),
    )
    .await
    .unwrap();
    let r = fetch(s, "one", &options(0, 1)).await.unwrap();
    assert_eq!((r.status(), r.pages, r.records), (Status::Ok, 1, 2));
    let cp: Value =
        serde_json::from_str(&s.exchange("one").await.unwrap().checkpoint.unwrap()).unwrap();
    assert!(cp["files"]["list.txt"].is_object(), "{cp}");
    std::fs::remove_file(&path).unwrap();
    let r = fetch(s, "one", &options(0, 1)).await.unwrap();
    let err = r.error.unwrap();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("list.txt"), "{err}");
    assert_eq!(
        hashes(s, "one").await,
        pdqs(&[7, 8]),
        "the bank keeps what it had"
    );
}
