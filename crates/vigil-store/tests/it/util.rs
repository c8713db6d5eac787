use vigil_exchange::record::{Record, Signal, SignalKind};
use vigil_store::Store;

/// A store under test and what keeps it alive.
pub(crate) struct Db {
    pub(crate) name: &'static str,
    pub(crate) url: String,
    pub(crate) store: Store,
    _db: vigil_testkit::postgres::TestDb,
}

/// A fresh SQLite store and, if available, a fresh PostgreSQL store.
pub(crate) async fn stores(test: &str) -> Vec<Db> {
    let mut out = Vec::new();
    for db in vigil_testkit::postgres::databases(test) {
        out.push(Db {
            name: db.name,
            url: db.url.clone(),
            store: Store::open(&db.url).await.unwrap(),
            _db: db,
        });
    }
    out
}

/// A PDQ hash from a seed (distinct seeds, distinct hashes).
pub(crate) fn pdq(seed: u64) -> Signal {
    Signal::new(SignalKind::Pdq, &vigil_testkit::seeded_pdq_hex(seed)).unwrap()
}

pub(crate) fn md5(seed: u64) -> Signal {
    Signal::new(
        SignalKind::Md5,
        &format!("{:032x}", seed as u128 * 0x1_0000_0001 + 7),
    )
    .unwrap()
}

/// A record with a PDQ hash only.
pub(crate) fn plain(seed: u64) -> Record {
    Record::with_signals([pdq(seed)])
}

pub(crate) fn opts(source: &str) -> vigil_store::ImportOptions {
    vigil_store::ImportOptions {
        source: source.to_string(),
        skip_bad: false,
        sort_memory: None,
    }
}

/// An SQLite file store in `dir` and an in-memory one: the file takes the store's rusqlite
/// paths (import writer, snapshot reader), memory the generic sqlx ones.
pub(crate) async fn file_and_memory(dir: &std::path::Path) -> (Store, Store) {
    let file = Store::open(dir.join("v.db").to_str().unwrap())
        .await
        .unwrap();
    let memory = Store::open("sqlite::memory:").await.unwrap();
    (file, memory)
}

/// A vPDQ value of 40 frames: longer than a stored value's key, so kept as a body.
pub(crate) fn long_vpdq() -> Signal {
    let frames: Vec<String> = (0..40)
        .map(|i| format!("\"{},90,{i}.000\"", vigil_testkit::seeded_pdq_hex(900 + i)))
        .collect();
    Signal::new(SignalKind::Vpdq, &format!("[{}]", frames.join(", "))).unwrap()
}
