//! The real server on loopback over a case registry, for the case API tests (`tests/cases.rs`,
//! `tests/cases_map.rs`): an API key per role plus a curator key limited to one province, and
//! calls with a key.

#![allow(dead_code)]

#[path = "client.rs"]
mod client;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use vigil_server::{Server, ServerConfig};
use vigil_store::Store;

/// The keys, by name: (name, role). `scoped-key` is a curator limited to the province the test
/// names.
pub(crate) const KEYS: [(&str, &str); 5] = [
    ("admin-key", "admin"),
    ("curator-key", "curator"),
    ("matcher-key", "matcher"),
    ("viewer-key", "viewer"),
    ("scoped-key", "curator"),
];

/// A store with the [`KEYS`] (`scoped-key` limited to `province`), before any case data; the
/// test writes its data, then [`CaseServer::start`].
pub(crate) async fn store_with_keys(
    db: &vigil_testkit::postgres::TestDb,
    province: &str,
) -> (Store, BTreeMap<&'static str, String>) {
    let store = Store::open(&db.url).await.unwrap();
    let mut keys = BTreeMap::new();
    for (name, role) in KEYS {
        let (secret, hash) = vigil_server::auth::new_key();
        store.add_api_key("test", name, role, &hash).await.unwrap();
        keys.insert(name, secret);
    }
    store
        .set_case_scope("test", "key:scoped-key", &[province.to_string()])
        .await
        .unwrap();
    (store, keys)
}

pub(crate) struct CaseServer {
    pub(crate) server: Server,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) store: Store,
    pub(crate) keys: BTreeMap<&'static str, String>,
    pub(crate) db: vigil_testkit::postgres::TestDb,
}

impl CaseServer {
    /// Serves `store` on a free loopback port (refreshing every 50 ms).
    pub(crate) async fn start(
        db: vigil_testkit::postgres::TestDb,
        store: Store,
        keys: BTreeMap<&'static str, String>,
    ) -> CaseServer {
        let cfg = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            refresh_every: Duration::from_millis(50),
            ..ServerConfig::default()
        };
        let server = Server::start(store.clone(), cfg).await.unwrap();
        CaseServer {
            base: format!("http://{}", server.addr()),
            server,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            store,
            keys,
            db,
        }
    }

    /// `method path` with `key`'s bearer token and an optional JSON body: the status and the
    /// answer as JSON (a string when it is not JSON).
    pub(crate) async fn call(
        &self,
        key: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let key = Some(self.keys[key].as_str());
        client::call_json(&self.http, &self.base, key, method, path, body).await
    }

    /// `GET path` with `key`.
    pub(crate) async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        self.call(key, "GET", path, None).await
    }

    /// Shuts the server down and starts a new one on the same store (a restart).
    pub(crate) async fn restart(self) -> CaseServer {
        let CaseServer {
            server,
            store,
            keys,
            db,
            ..
        } = self;
        server.shutdown().await;
        CaseServer::start(db, store, keys).await
    }

    pub(crate) async fn stop(self) {
        self.server.shutdown().await;
        self.store.close().await;
    }
}
