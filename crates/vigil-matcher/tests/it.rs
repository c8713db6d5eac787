//! The live matcher against an oracle: after any sequence of store changes and refreshes, what
//! it matches equals a brute-force scan of what the *store* says is active
//! (`Store::active_signals`, the bank list with kinds, thresholds and enabled flags), and equals a
//! matcher loaded fresh. On SQLite and, when a server can be had, PostgreSQL.

use std::time::Duration;

use vigil_core::Hash256;
use vigil_exchange::record::{Record, Signal, SignalKind};
use vigil_matcher::{DEFAULT_PDQ_THRESHOLD, Hit, Matcher, Outcome};
use vigil_store::{BankKind, BankUpdate, ImportOptions, NewBank, Store};

struct Db {
    name: &'static str,
    store: Store,
    _db: vigil_testkit::postgres::TestDb,
}

async fn stores(test: &str) -> Vec<Db> {
    let mut out = Vec::new();
    for db in vigil_testkit::postgres::databases(test) {
        out.push(Db {
            name: db.name,
            store: Store::open(&db.url).await.unwrap(),
            _db: db,
        });
    }
    out
}

/// A tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hash(&mut self) -> Hash256 {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        Hash256::from_bytes(b)
    }
}

/// `h` with `bits` random bits flipped (maybe fewer: a bit may flip twice).
fn near(rng: &mut Rng, h: &Hash256, bits: u32) -> Hash256 {
    let mut b = *h.bytes();
    for _ in 0..bits {
        let i = rng.below(256) as usize;
        b[i / 8] ^= 1 << (i % 8);
    }
    Hash256::from_bytes(b)
}

fn pdq(h: &Hash256) -> Signal {
    Signal::new(SignalKind::Pdq, &h.to_hex()).unwrap()
}

fn md5(rng: &mut Rng) -> Signal {
    Signal::new(
        SignalKind::Md5,
        &format!("{:016x}{:016x}", rng.next(), rng.next()),
    )
    .unwrap()
}

fn distance(a: &Hash256, b: &Hash256) -> u32 {
    a.bytes()
        .iter()
        .zip(b.bytes())
        .map(|(x, y)| (x ^ y).count_ones())
        .sum()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `(distance, bank id, signal id)` of block hits and of allow hits.
type Key = (Vec<(u32, i64, i64)>, Vec<(u32, i64, i64)>);

fn key(o: &Outcome) -> Key {
    let k = |v: &[Hit]| {
        let mut k: Vec<_> = v
            .iter()
            .map(|h| (h.distance, h.bank_id, h.signal_id))
            .collect();
        k.sort();
        k
    };
    (k(&o.hits), k(&o.allowed_by))
}

/// What the store says a query must match.
async fn oracle(store: &Store, queries: &[Signal]) -> Vec<Key> {
    let banks = store.banks().await.unwrap();
    let mut active = Vec::new();
    store
        .active_signals(None, |s| active.push(s))
        .await
        .unwrap();
    queries
        .iter()
        .map(|q| {
            let mut block = Vec::new();
            let mut allow = Vec::new();
            for s in &active {
                let bank = banks.iter().find(|b| b.id == s.bank_id).unwrap();
                assert!(bank.enabled, "active_signals gives enabled banks only");
                let d = match (q.pdq(), s.signal.pdq()) {
                    (Some(a), Some(b)) => distance(&a, &b),
                    (None, None) if *q == s.signal => 0,
                    _ => continue,
                };
                if q.pdq().is_some() && d > bank.pdq_threshold.unwrap_or(DEFAULT_PDQ_THRESHOLD) {
                    continue;
                }
                let k = (d, s.bank_id, s.id);
                if bank.kind == BankKind::Allow {
                    allow.push(k);
                } else {
                    block.push(k);
                }
            }
            block.sort();
            allow.sort();
            (block, allow)
        })
        .collect()
}

async fn check(db: &Db, m: &Matcher, queries: &[Signal], step: &str) {
    let want = oracle(&db.store, queries).await;
    let fresh = Matcher::load(&db.store).await.unwrap();
    for (q, w) in queries.iter().zip(&want) {
        let got = key(&m.match_signal(q));
        assert_eq!(&got, w, "{} after {step}: query {q:?}", db.name);
        assert_eq!(
            key(&fresh.match_signal(q)),
            got,
            "{} fresh load after {step}",
            db.name
        );
    }
}

fn opts() -> ImportOptions {
    ImportOptions {
        source: "test".into(),
        skip_bad: false,
        sort_memory: None,
    }
}

/// Random changes of every kind the store has, each followed by a refresh and a comparison
/// with the oracle on queries near the stored hashes (inside and outside the thresholds).
#[tokio::test]
async fn refreshes_follow_every_kind_of_change() {
    for db in stores("refreshes_follow_every_kind_of_change").await {
        let s = &db.store;
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        let centers: Vec<Hash256> = (0..6).map(|_| rng.hash()).collect();
        s.create_bank("t", &NewBank::block("a")).await.unwrap();
        s.create_bank(
            "t",
            &NewBank {
                pdq_threshold: Some(10),
                ..NewBank::block("b")
            },
        )
        .await
        .unwrap();
        s.create_bank(
            "t",
            &NewBank {
                kind: BankKind::Allow,
                pdq_threshold: Some(4),
                ..NewBank::block("fp")
            },
        )
        .await
        .unwrap();
        let mut m = Matcher::load(s).await.unwrap();
        // Small pages: a refresh reads the change feed in many of them.
        m.set_change_page(3);
        let mut stored: Vec<Signal> = Vec::new();
        let mut items: Vec<(String, i64)> = Vec::new();
        for step in 0..40 {
            let what = rng.below(9);
            let label = format!("step {step} (op {what})");
            match what {
                // Import a few items near the centres, some with an MD5 too.
                0..=2 => {
                    let bank = ["a", "b", "fp"][rng.below(3) as usize];
                    let mut recs = Vec::new();
                    for _ in 0..1 + rng.below(6) {
                        let c = centers[rng.below(centers.len() as u64) as usize];
                        let bits = rng.below(40) as u32;
                        let h = near(&mut rng, &c, bits);
                        let mut sigs = vec![pdq(&h)];
                        if rng.below(3) == 0 {
                            sigs.push(md5(&mut rng));
                        }
                        stored.extend(sigs.iter().cloned());
                        recs.push(Ok::<_, String>(Record::with_signals(sigs)));
                    }
                    let new: Vec<Signal> = recs
                        .iter()
                        .map(|r| r.as_ref().unwrap().signals[0].clone())
                        .collect();
                    s.import("t", bank, recs, &opts()).await.unwrap();
                    for sig in &new {
                        for item in s.find(sig).await.unwrap() {
                            if !items.contains(&item) {
                                items.push(item);
                            }
                        }
                    }
                }
                // Remove an item.
                3 if !items.is_empty() => {
                    let (b, id) = items.swap_remove(rng.below(items.len() as u64) as usize);
                    s.remove("t", &b, id).await.unwrap();
                }
                // Quarantine a hash: until lifted, in the past, in the future; or lift it.
                4 if !stored.is_empty() => {
                    let sig = stored[rng.below(stored.len() as u64) as usize].clone();
                    let until = match rng.below(4) {
                        0 => Some(i64::MAX),
                        1 => Some(now_ms() - 1_000),
                        2 => Some(now_ms() + 3_600_000),
                        _ => None,
                    };
                    s.quarantine_signal("t", &sig, None, until).await.unwrap();
                }
                // Quarantine an item, or lift it.
                5 if !items.is_empty() => {
                    let (b, id) = items[rng.below(items.len() as u64) as usize].clone();
                    let until = [Some(i64::MAX), None][rng.below(2) as usize];
                    s.set_content_disabled("t", &b, id, until).await.unwrap();
                }
                // Disable or enable a bank.
                6 => {
                    let b = ["a", "b", "fp"][rng.below(3) as usize];
                    let enabled = rng.below(2) == 0;
                    let u = BankUpdate {
                        enabled: Some(enabled),
                        ..BankUpdate::default()
                    };
                    s.update_bank("t", b, &u).await.unwrap();
                }
                // Change a threshold or a kind.
                7 => {
                    let b = ["a", "b"][rng.below(2) as usize];
                    let u = if rng.below(2) == 0 {
                        BankUpdate {
                            pdq_threshold: Some(
                                [None, Some(0), Some(20), Some(45)][rng.below(4) as usize],
                            ),
                            ..BankUpdate::default()
                        }
                    } else {
                        BankUpdate {
                            kind: Some([BankKind::Block, BankKind::Allow][rng.below(2) as usize]),
                            ..BankUpdate::default()
                        }
                    };
                    s.update_bank("t", b, &u).await.unwrap();
                }
                // Delete bank b and make it again.
                8 => {
                    s.delete_bank("t", "b").await.unwrap();
                    items.retain(|(n, _)| n != "b");
                    s.create_bank("t", &NewBank::block("b")).await.unwrap();
                }
                _ => continue,
            }
            m.refresh(s).await.unwrap();
            let mut queries: Vec<Signal> = Vec::new();
            for c in &centers {
                for bits in [0, 3, 12, 30, 50] {
                    queries.push(pdq(&near(&mut rng, c, bits)));
                }
            }
            for _ in 0..5 {
                if let Some(sig) = stored.get(rng.below(stored.len().max(1) as u64) as usize) {
                    queries.push(sig.clone());
                }
            }
            check(&db, &m, &queries, &label).await;
        }
    }
}

/// A quarantine with an end stops matching at once and matches again, without any store change,
/// at the first refresh after its end.
#[tokio::test]
async fn a_quarantine_runs_out_at_its_time() {
    for db in stores("a_quarantine_runs_out_at_its_time").await {
        let s = &db.store;
        let mut rng = Rng(77);
        let h = rng.hash();
        s.create_bank("t", &NewBank::block("a")).await.unwrap();
        s.import(
            "t",
            "a",
            [Ok::<_, String>(Record::with_signals([pdq(&h)]))],
            &opts(),
        )
        .await
        .unwrap();
        let mut m = Matcher::load(s).await.unwrap();
        assert!(m.match_pdq(&h).is_match(), "{}", db.name);
        s.quarantine_signal("t", &pdq(&h), None, Some(now_ms() + 1_500))
            .await
            .unwrap();
        m.refresh(s).await.unwrap();
        assert!(!m.match_pdq(&h).is_match(), "{}: quarantined", db.name);
        tokio::time::sleep(Duration::from_millis(1_700)).await;
        let r = m.refresh(s).await.unwrap();
        assert_eq!((r.changes, r.activated), (0, 1), "{}", db.name);
        assert!(
            m.match_pdq(&h).is_match(),
            "{}: the quarantine ran out",
            db.name
        );
    }
}

/// Each kind of change once, in an order that exercises the paths a random walk may miss
/// (a bank disabled then enabled again, deleted then made again, turned into an allow bank).
#[tokio::test]
async fn each_kind_of_change_in_turn() {
    for db in stores("each_kind_of_change_in_turn").await {
        let s = &db.store;
        let mut rng = Rng(99);
        let hs: Vec<Hash256> = (0..4).map(|_| rng.hash()).collect();
        let mut queries: Vec<Signal> = hs.iter().map(pdq).collect();
        queries.extend(hs.iter().map(|h| pdq(&near(&mut rng, h, 8))));
        let m5 = md5(&mut rng);
        queries.push(m5.clone());
        s.create_bank("t", &NewBank::block("a")).await.unwrap();
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        let recs = |v: &[usize]| {
            v.iter()
                .map(|&i| Ok::<_, String>(Record::with_signals([pdq(&hs[i])])))
                .collect::<Vec<_>>()
        };
        s.import("t", "a", recs(&[0, 1]), &opts()).await.unwrap();
        s.import("t", "b", recs(&[1, 2]), &opts()).await.unwrap();
        s.add("t", "b", Record::with_signals([m5.clone()]), "x")
            .await
            .unwrap();
        let mut m = Matcher::load(s).await.unwrap();
        check(&db, &m, &queries, "load").await;
        let off = BankUpdate {
            enabled: Some(false),
            ..BankUpdate::default()
        };
        let on = BankUpdate {
            enabled: Some(true),
            ..BankUpdate::default()
        };
        let steps: Vec<(&str, BankUpdate)> = vec![
            ("a", off.clone()),
            ("a", on.clone()),
            (
                "b",
                BankUpdate {
                    kind: Some(BankKind::Allow),
                    ..BankUpdate::default()
                },
            ),
            (
                "a",
                BankUpdate {
                    pdq_threshold: Some(Some(0)),
                    ..BankUpdate::default()
                },
            ),
            ("b", off),
            ("b", on),
        ];
        for (bank, u) in steps {
            s.update_bank("t", bank, &u).await.unwrap();
            m.refresh(s).await.unwrap();
            check(&db, &m, &queries, &format!("{bank}: {u:?}")).await;
        }
        let (_, id) = s.find(&pdq(&hs[0])).await.unwrap()[0].clone();
        s.set_content_disabled("t", "a", id, Some(i64::MAX))
            .await
            .unwrap();
        m.refresh(s).await.unwrap();
        check(&db, &m, &queries, "item quarantined").await;
        s.set_content_disabled("t", "a", id, None).await.unwrap();
        m.refresh(s).await.unwrap();
        check(&db, &m, &queries, "item quarantine lifted").await;
        s.quarantine_signal("t", &m5, None, Some(i64::MAX))
            .await
            .unwrap();
        m.refresh(s).await.unwrap();
        check(&db, &m, &queries, "md5 quarantined").await;
        s.delete_bank("t", "b").await.unwrap();
        m.refresh(s).await.unwrap();
        check(&db, &m, &queries, "bank b deleted").await;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        s.import("t", "b", recs(&[3]), &opts()).await.unwrap();
        m.refresh(s).await.unwrap();
        check(&db, &m, &queries, "bank b made again").await;
    }
}

/// A refresh that brings more changes than the index's delta holds compacts the index (off the
/// write lock), and what it matches is still exactly the oracle's — also after removals past
/// the threshold, and while lookups run on another thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_matches_exact() {
    for db in stores("compaction_keeps_matches_exact").await {
        let s = &db.store;
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        let mut rng = Rng(77);
        let first: Vec<Record> = (0..500)
            .map(|_| Record {
                signals: vec![pdq(&rng.hash())],
                ..Record::default()
            })
            .collect();
        s.import::<String>("t", "b", first.into_iter().map(Ok), &opts())
            .await
            .unwrap();
        let shared =
            std::sync::Arc::new(vigil_matcher::Shared::new(Matcher::load(s).await.unwrap()));
        // Lookups on another thread all along.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = shared.read().match_pdq(&Hash256::ZERO);
                    n += 1;
                }
                n
            })
        };
        let hashes: Vec<Hash256> = (0..6000).map(|_| rng.hash()).collect();
        let more: Vec<Record> = hashes
            .iter()
            .map(|h| Record {
                signals: vec![pdq(h)],
                ..Record::default()
            })
            .collect();
        s.import::<String>("t", "b", more.into_iter().map(Ok), &opts())
            .await
            .unwrap();
        let r = shared.refresh(s).await.unwrap();
        assert!(r.compacted, "{} {r:?}", db.name);
        let queries: Vec<Signal> = hashes
            .iter()
            .step_by(97)
            .map(|h| pdq(&near(&mut rng, h, 6)))
            .collect();
        let want = oracle(s, &queries).await;
        for (q, w) in queries.iter().zip(&want) {
            assert_eq!(&key(&shared.read().match_signal(q)), w, "{}", db.name);
        }
        // Remove most of them: the removals compact too.
        s.delete_bank("t", "b").await.unwrap();
        let r = shared.refresh(s).await.unwrap();
        assert!(r.deactivated >= 6500, "{r:?}");
        for q in &queries {
            assert!(shared.read().match_signal(q).hits.is_empty());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    }
}
