use std::time::Duration;

use vigil_exchange::record::{Signal, SignalKind};
use vigil_fetch::FetchOptions;
use vigil_store::Store;

/// A store under test and what keeps it alive.
pub(crate) struct Db {
    pub(crate) name: &'static str,
    pub(crate) url: String,
    pub(crate) store: Store,
    _db: vigil_testkit::postgres::TestDb,
}

async fn open(db: vigil_testkit::postgres::TestDb) -> Db {
    Db {
        name: db.name,
        url: db.url.clone(),
        store: Store::open(&db.url).await.unwrap(),
        _db: db,
    }
}

/// A fresh SQLite store and, if available, a fresh PostgreSQL store.
pub(crate) async fn stores(test: &str) -> Vec<Db> {
    let mut out = Vec::new();
    for db in vigil_testkit::postgres::databases(test) {
        out.push(open(db).await);
    }
    out
}

/// A fresh SQLite store.
pub(crate) async fn sqlite() -> Db {
    open(vigil_testkit::postgres::sqlite_database()).await
}

/// A PDQ hash from a seed (distinct seeds, distinct hashes).
pub(crate) fn pdq(seed: u64) -> Signal {
    Signal::new(SignalKind::Pdq, &vigil_testkit::seeded_pdq_hex(seed)).unwrap()
}

/// The bank's items as `(first external id, sorted signal values)`, sorted.
pub(crate) async fn items(s: &Store, bank: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    s.export(bank, |r| {
        let mut sigs: Vec<String> = r.signals.iter().map(|s| s.value().to_string()).collect();
        sigs.sort();
        out.push((r.ids.first().cloned().unwrap_or_default(), sigs));
        Ok(())
    })
    .await
    .unwrap();
    out.sort();
    out
}

/// `(external id, [pdq(seed)])` items, sorted.
pub(crate) fn expect(list: &[(&str, u64)]) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = list
        .iter()
        .map(|(id, seed)| (id.to_string(), vec![pdq(*seed).value().to_string()]))
        .collect();
    v.sort();
    v
}

/// Options for tests: fixed end, fixed windows, no proxies, no retries, short time-outs.
pub(crate) fn options(until: i64, window: u64) -> FetchOptions {
    FetchOptions {
        actor: "test".into(),
        window: Duration::from_secs(window),
        max_window: Duration::from_secs(window),
        until: Some(until),
        timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(5),
        retries: 0,
        retry_delay: Duration::from_millis(10),
        proxy_from_env: false,
        ..FetchOptions::default()
    }
}
