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
