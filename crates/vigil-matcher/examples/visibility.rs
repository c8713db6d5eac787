//! How long a bank change takes to become visible to a running matcher.
//!
//! ```text
//! cargo run --release -p vigil-matcher --example visibility -- [--db URL] [--n N] [--rounds R]
//! ```
//!
//! Imports N random PDQ hashes into a fresh bank (a temporary SQLite file unless `--db` names
//! an empty, disposable database), loads a [`Matcher`], then R times: adds one item (one new
//! hash) and quarantines one stored hash, each in its own committed transaction, and measures
//! the refresh that picks both up and the query that sees them. A server refreshing every
//! `P` ms makes a change visible within `P` + the refresh time printed here.

use std::time::Instant;

use vigil_core::Hash256;
use vigil_exchange::record::{Record, Signal, SignalKind};
use vigil_matcher::Matcher;
use vigil_store::{ImportOptions, NewBank, Store};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn hash(state: &mut u64) -> Hash256 {
    let mut b = [0u8; 32];
    for c in b.chunks_mut(8) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        c.copy_from_slice(&state.to_le_bytes());
    }
    Hash256::from_bytes(b)
}

fn pdq(h: &Hash256) -> Signal {
    Signal::new(SignalKind::Pdq, &h.to_hex()).expect("a valid PDQ hex")
}

/// The process's resident memory (Linux), KiB; 0 elsewhere.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = arg(&args, "--n").map_or(Ok(1_000_000), |s| s.parse())?;
    let rounds: usize = arg(&args, "--rounds").map_or(Ok(20), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let url = arg(&args, "--db")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("visibility.db").display()));
    let store = Store::open(&url).await?;
    store.create_bank("bench", &NewBank::block("vis")).await?;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let stored: Vec<Hash256> = (0..n).map(|_| hash(&mut state)).collect();
    let t = Instant::now();
    store
        .import(
            "bench",
            "vis",
            stored
                .iter()
                .map(|h| Ok::<_, String>(Record::with_signals([pdq(h)]))),
            &ImportOptions {
                source: "bench".into(),
                skip_bad: false,
                sort_memory: None,
            },
        )
        .await?;
    println!("import of {n} hashes: {:.0} ms", ms(t));
    let before = rss_kib();
    let t = Instant::now();
    let mut m = Matcher::load(&store).await?;
    let after = rss_kib();
    println!(
        "matcher load: {:.0} ms ({} active signals); process RSS {} MiB -> {} MiB (+{} MiB; the \
         import's freed memory may be reused, so the matcher's own size is at least this)",
        ms(t),
        m.active(),
        before / 1024,
        after / 1024,
        after.saturating_sub(before) / 1024
    );

    let mut refresh = Vec::new();
    let mut query = Vec::new();
    for i in 0..rounds {
        let new = hash(&mut state);
        let old = stored[(i * 7_919) % stored.len()];
        assert!(m.match_pdq(&old).is_match());
        store
            .add("bench", "vis", Record::with_signals([pdq(&new)]), "bench")
            .await?;
        store
            .quarantine_signal("bench", &pdq(&old), None, Some(i64::MAX))
            .await?;
        let t = Instant::now();
        let r = m.refresh(&store).await?;
        refresh.push(ms(t));
        let t = Instant::now();
        let seen = m.match_pdq(&new).is_match() && !m.match_pdq(&old).is_match();
        query.push(ms(t));
        assert!(
            seen,
            "round {i}: the changes are not visible after the refresh ({r:?})"
        );
    }
    refresh.sort_by(f64::total_cmp);
    query.sort_by(f64::total_cmp);
    let med = |v: &[f64]| v[v.len() / 2];
    let max = |v: &[f64]| v[v.len() - 1];
    println!(
        "per round (one add + one quarantine, {rounds} rounds): refresh median {:.2} ms, max {:.2} ms; \
         the two queries median {:.3} ms, max {:.3} ms",
        med(&refresh),
        max(&refresh),
        med(&query),
        max(&query)
    );
    Ok(())
}
