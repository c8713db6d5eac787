//! The live matcher against an oracle: after any sequence of store changes and refreshes, what
//! it matches equals a brute-force scan of what the *store* says is active
//! (`Store::active_signals`, the bank list with kinds, thresholds and enabled flags), and equals a
//! matcher loaded fresh. PDQ by Hamming distance, vPDQ by `vigil_video::matching::compare` and
//! `time_ranges` of the query against each stored video (percentages and ranges compared bit
//! for bit), other kinds exactly. On SQLite and, when a server can be had, PostgreSQL.

use std::time::Duration;

use vigil_core::Hash256;
use vigil_exchange::record::{Record, Signal, SignalKind};
use vigil_matcher::{DEFAULT_PDQ_THRESHOLD, Hit, Matcher, Outcome, video_params};
use vigil_store::{BankKind, BankUpdate, ImportOptions, NewBank, Store};
use vigil_video::Frame;
use vigil_video::matching::{Comparison, TimeRange};

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

/// A video: frames `start..start + len` of `base` (one a second, timed from 0), each frame's
/// hash with up to `bits` bits flipped, and now and then a frame of low quality (ignored by
/// matching) or a repeated frame (de-duplicated by it).
fn clip(rng: &mut Rng, base: &[Hash256], start: usize, len: usize, bits: u32) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    for (i, h) in base.iter().skip(start).take(len).enumerate() {
        let hash = if rng.below(8) == 0 && !out.is_empty() {
            out[out.len() - 1].hash
        } else {
            let b = rng.below(u64::from(bits) + 1) as u32;
            near(rng, h, b)
        };
        out.push(Frame {
            number: i as u64,
            quality: if rng.below(6) == 0 { 30 } else { 100 },
            hash,
            timestamp: i as f64,
        });
    }
    out
}

/// Frames `start..start + len` of `base` as they are: quality 100, one a second.
fn plain(base: &[Hash256], start: usize, len: usize) -> Vec<Frame> {
    base.iter()
        .skip(start)
        .take(len)
        .enumerate()
        .map(|(i, h)| Frame {
            number: i as u64,
            quality: 100,
            hash: *h,
            timestamp: i as f64,
        })
        .collect()
}

/// A vPDQ signal as banks keep it (python-threatexchange's JSON).
fn vpdq(frames: &[Frame]) -> Signal {
    Signal::new(SignalKind::Vpdq, &vigil_video::text::to_pytx_json(frames)).unwrap()
}

/// Base videos: `n` of `len` unrelated random frames each.
fn bases(rng: &mut Rng, n: usize, len: usize) -> Vec<Vec<Hash256>> {
    (0..n)
        .map(|_| (0..len).map(|_| rng.hash()).collect())
        .collect()
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

/// A video match's comparison and ranges, as bits (so keys compare exactly and sort).
type VideoKey = (Vec<u64>, Vec<(u64, u64, u64, u64, usize)>);

/// `(distance, bank id, signal id, video detail)` of each hit.
type Entry = (u32, i64, i64, Option<VideoKey>);

/// Block hits and allow hits.
type Key = (Vec<Entry>, Vec<Entry>);

fn video_key(c: &Comparison, ranges: &[TimeRange]) -> VideoKey {
    (
        vec![
            c.query_pct.to_bits(),
            c.compared_pct.to_bits(),
            c.query_frames as u64,
            c.query_matched as u64,
            c.compared_frames as u64,
            c.compared_matched as u64,
        ],
        ranges
            .iter()
            .map(|r| {
                (
                    r.query_start.to_bits(),
                    r.query_end.to_bits(),
                    r.compared_start.to_bits(),
                    r.compared_end.to_bits(),
                    r.frames,
                )
            })
            .collect(),
    )
}

fn key(o: &Outcome) -> Key {
    let k = |v: &[Hit]| {
        let mut k: Vec<_> = v
            .iter()
            .map(|h| {
                (
                    h.distance,
                    h.bank_id,
                    h.signal_id,
                    h.video
                        .as_ref()
                        .map(|d| video_key(&d.comparison, &d.ranges)),
                )
            })
            .collect();
        k.sort();
        k
    };
    (k(&o.hits), k(&o.allowed_by))
}

/// Whether an outcome holds a video match (so a walk is known to test some).
fn has_video(o: &Outcome) -> bool {
    o.hits
        .iter()
        .chain(&o.allowed_by)
        .any(|h| h.video.is_some())
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
                let mut video = None;
                let d = match (q.pdq(), s.signal.pdq()) {
                    (Some(a), Some(b)) => distance(&a, &b),
                    _ if *q.kind() == SignalKind::Vpdq && *s.signal.kind() == SignalKind::Vpdq => {
                        let qf = vigil_video::text::from_pytx_json(q.value()).unwrap();
                        let sf = vigil_video::text::from_pytx_json(s.signal.value()).unwrap();
                        let c = vigil_video::matching::compare(&qf, &sf, &video_params());
                        if !c.is_match {
                            continue;
                        }
                        let r = vigil_video::matching::time_ranges(&qf, &sf, &video_params());
                        video = Some(video_key(&c, &r));
                        0
                    }
                    (None, None) if *q == s.signal => 0,
                    _ => continue,
                };
                if q.pdq().is_some() && d > bank.pdq_threshold.unwrap_or(DEFAULT_PDQ_THRESHOLD) {
                    continue;
                }
                let k = (d, s.bank_id, s.id, video);
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

/// Checks every query against the oracle and a fresh load; returns how many matched a video.
async fn check(db: &Db, m: &Matcher, queries: &[Signal], step: &str) -> usize {
    let want = oracle(&db.store, queries).await;
    let fresh = Matcher::load(&db.store).await.unwrap();
    let mut videos = 0;
    for (q, w) in queries.iter().zip(&want) {
        let out = m.match_signal(q);
        videos += usize::from(has_video(&out));
        let got = key(&out);
        assert_eq!(&got, w, "{} after {step}: query {q:?}", db.name);
        assert_eq!(
            key(&fresh.match_signal(q)),
            got,
            "{} fresh load after {step}",
            db.name
        );
    }
    // Signals that left the held table must leave the index too: a pair left behind would
    // never match (the table filters hits), only leak, so the answers above cannot show it.
    let held_pdq = m.counts().get("pdq").copied().unwrap_or(0);
    assert_eq!(
        m.pdq_indexed(),
        held_pdq,
        "{} pdq indexed after {step}",
        db.name
    );
    assert_eq!(
        fresh.pdq_indexed(),
        held_pdq,
        "{} pdq held, against a fresh load, after {step}",
        db.name
    );
    assert_eq!(
        m.counts().get("vpdq").copied().unwrap_or(0),
        fresh.counts().get("vpdq").copied().unwrap_or(0),
        "{} vpdq held after {step}",
        db.name
    );
    videos
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
        let videos = bases(&mut rng, 3, 14);
        let mut video_matches = 0;
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
        for step in 0..60 {
            let what = rng.below(9);
            let label = format!("step {step} (op {what})");
            match what {
                // Import a few items near the centres or cut from the base videos, some with an
                // MD5 too.
                0..=2 => {
                    let bank = ["a", "b", "fp"][rng.below(3) as usize];
                    let mut recs = Vec::new();
                    for _ in 0..1 + rng.below(6) {
                        let mut sigs = if rng.below(3) == 0 {
                            let base = &videos[rng.below(videos.len() as u64) as usize];
                            let start = rng.below(6) as usize;
                            let len = 4 + rng.below(10) as usize;
                            let bits = rng.below(14) as u32;
                            vec![vpdq(&clip(&mut rng, base, start, len, bits))]
                        } else {
                            let c = centers[rng.below(centers.len() as u64) as usize];
                            let bits = rng.below(40) as u32;
                            vec![pdq(&near(&mut rng, &c, bits))]
                        };
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
                    // A video half the time (they are fewer).
                    let videos_stored: Vec<&Signal> = stored
                        .iter()
                        .filter(|s| *s.kind() == SignalKind::Vpdq)
                        .collect();
                    let sig = if rng.below(2) == 0 && !videos_stored.is_empty() {
                        videos_stored[rng.below(videos_stored.len() as u64) as usize].clone()
                    } else {
                        stored[rng.below(stored.len() as u64) as usize].clone()
                    };
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
            for base in &videos {
                for bits in [0, 8, 20] {
                    let start = rng.below(8) as usize;
                    let len = 3 + rng.below(8) as usize;
                    queries.push(vpdq(&clip(&mut rng, base, start, len, bits)));
                }
            }
            let unrelated = bases(&mut rng, 1, 6).remove(0);
            queries.push(vpdq(&clip(&mut rng, &unrelated, 0, 6, 0)));
            // Every stored video as it is: any quarantine of one shows.
            queries.extend(
                stored
                    .iter()
                    .filter(|s| *s.kind() == SignalKind::Vpdq)
                    .cloned(),
            );
            for _ in 0..5 {
                if let Some(sig) = stored.get(rng.below(stored.len().max(1) as u64) as usize) {
                    queries.push(sig.clone());
                }
            }
            video_matches += check(&db, &m, &queries, &label).await;
        }
        assert!(
            video_matches > 20,
            "{}: only {video_matches} video matches",
            db.name
        );
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
        // Two videos, one in each bank, and a third in both; queried by cuts of each.
        let vb = bases(&mut rng, 3, 12);
        let vs: Vec<Signal> = vb.iter().map(|b| vpdq(&plain(b, 0, 12))).collect();
        for b in &vb {
            queries.push(vpdq(&clip(&mut rng, b, 3, 6, 6)));
        }
        s.create_bank("t", &NewBank::block("a")).await.unwrap();
        s.create_bank("t", &NewBank::block("b")).await.unwrap();
        let recs = |v: &[usize]| {
            v.iter()
                .map(|&i| Ok::<_, String>(Record::with_signals([pdq(&hs[i])])))
                .collect::<Vec<_>>()
        };
        let vrecs = |v: &[usize]| {
            v.iter()
                .map(|&i| Ok::<_, String>(Record::with_signals([vs[i].clone()])))
                .collect::<Vec<_>>()
        };
        s.import("t", "a", recs(&[0, 1]), &opts()).await.unwrap();
        s.import("t", "b", recs(&[1, 2]), &opts()).await.unwrap();
        s.import("t", "a", vrecs(&[0, 2]), &opts()).await.unwrap();
        s.import("t", "b", vrecs(&[1, 2]), &opts()).await.unwrap();
        s.add("t", "b", Record::with_signals([m5.clone()]), "x")
            .await
            .unwrap();
        let mut m = Matcher::load(s).await.unwrap();
        assert_eq!(check(&db, &m, &queries, "load").await, 3, "{}", db.name);
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
        s.quarantine_signal("t", &vs[2], Some("a"), Some(i64::MAX))
            .await
            .unwrap();
        m.refresh(s).await.unwrap();
        check(&db, &m, &queries, "video quarantined in a").await;
        let (_, vid) = s.find(&vs[0]).await.unwrap()[0].clone();
        s.remove("t", "a", vid).await.unwrap();
        m.refresh(s).await.unwrap();
        check(&db, &m, &queries, "video removed").await;
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

/// A cut of a stored video matches it with the percentages and the time range worked out by
/// hand; a quarantine hides it (reported only on request, as inactive); an allow-list bank
/// holding the same video suppresses the match.
#[tokio::test]
async fn a_video_cut_matches_with_percentages_and_ranges() {
    for db in stores("a_video_cut_matches_with_percentages_and_ranges").await {
        let s = &db.store;
        let mut rng = Rng(4242);
        let base = bases(&mut rng, 1, 12).remove(0);
        let stored = vpdq(&plain(&base, 0, 12));
        s.create_bank("t", &NewBank::block("a")).await.unwrap();
        s.import(
            "t",
            "a",
            [Ok::<_, String>(Record::with_signals([stored.clone()]))],
            &opts(),
        )
        .await
        .unwrap();
        let mut m = Matcher::load(s).await.unwrap();
        assert_eq!(m.counts().get("vpdq"), Some(&1), "{}", db.name);
        // Seconds 3..=8 of the stored video, each frame 10 bits off, timed from 0.
        let cut: Vec<Frame> = plain(&base, 3, 6)
            .into_iter()
            .map(|f| Frame {
                hash: near(&mut rng, &f.hash, 10),
                ..f
            })
            .collect();
        let out = m.match_video(&cut);
        assert!(out.is_match(), "{}: {out:?}", db.name);
        assert_eq!(out.hits.len(), 1);
        let v = out.hits[0].video.as_ref().unwrap();
        assert_eq!(
            (v.comparison.query_pct, v.comparison.compared_pct),
            (100.0, 50.0)
        );
        assert_eq!(
            v.ranges,
            vec![TimeRange {
                query_start: 0.0,
                query_end: 5.0,
                compared_start: 3.0,
                compared_end: 8.0,
                frames: 6,
            }]
        );
        assert_eq!(out.hits[0].signal, stored);
        // The same through a signal (python-threatexchange's JSON).
        assert_eq!(key(&m.match_signal(&vpdq(&cut))), key(&out));
        // An unrelated video, and a PDQ query of one of the frames, match nothing.
        assert!(
            m.match_video(&plain(&bases(&mut rng, 1, 6)[0], 0, 6))
                .hits
                .is_empty()
        );
        assert!(m.match_pdq(&base[4]).hits.is_empty());
        // Quarantined: no match; reported as inactive on request.
        s.quarantine_signal("t", &stored, None, Some(i64::MAX))
            .await
            .unwrap();
        m.refresh(s).await.unwrap();
        assert!(m.match_video(&cut).hits.is_empty(), "{}", db.name);
        let raw = m.match_video_with(
            &cut,
            vigil_matcher::Query {
                include_inactive: true,
            },
        );
        assert_eq!(raw.hits.len(), 1);
        assert!(!raw.hits[0].active);
        s.quarantine_signal("t", &stored, None, None).await.unwrap();
        // An allow-list bank with the same video suppresses the match.
        s.create_bank(
            "t",
            &NewBank {
                kind: BankKind::Allow,
                ..NewBank::block("fp")
            },
        )
        .await
        .unwrap();
        s.import(
            "t",
            "fp",
            [Ok::<_, String>(Record::with_signals([stored.clone()]))],
            &opts(),
        )
        .await
        .unwrap();
        m.refresh(s).await.unwrap();
        let out = m.match_video(&cut);
        assert_eq!(
            (out.hits.len(), out.allowed_by.len(), out.is_match()),
            (1, 1, false),
            "{}",
            db.name
        );
        assert_eq!(m.counts().get("vpdq"), Some(&2));
    }
}
