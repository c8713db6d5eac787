//! Prometheus metrics, in the text exposition format (`GET /metrics`).
//!
//! A handful of counters and one latency histogram need no metrics framework: atomics, and a
//! map for the per-bank counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A monotonic counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// A latency histogram (cumulative buckets, as Prometheus wants them).
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (b, &le) in self.buckets.iter().zip(BUCKETS.iter()) {
            if s <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (b, le) in self.buckets.iter().zip(BUCKETS.iter()) {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}le=\"{le}\"}} {}",
                b.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum{{{}}} {}",
            labels.trim_end_matches(','),
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "{name}_count{{{}}} {count}",
            labels.trim_end_matches(',')
        );
    }
}

/// The server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Hashes looked up (one per signal of each lookup request).
    pub lookups: Counter,
    /// Lookups that matched at least one bank.
    pub lookups_matched: Counter,
    /// Matches per bank.
    pub matches_by_bank: Mutex<BTreeMap<String, u64>>,
    /// Time to answer a lookup request, hashing included.
    pub lookup_latency: Histogram,
    /// Media hashed (uploads and URLs).
    pub hashed: Counter,
    /// Requests refused for want of a valid key.
    pub auth_failures: Counter,
    /// Matcher refreshes that failed.
    pub refresh_failures: Counter,
    /// Webhook events delivered.
    pub webhooks_delivered: Counter,
    /// Webhook delivery attempts that failed.
    pub webhook_failures: Counter,
}

impl Metrics {
    /// Counts one bank's matches.
    pub fn matched_bank(&self, bank: &str, n: u64) {
        let mut m = self
            .matches_by_bank
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry(bank.to_string()).or_default() += n;
    }

    /// The text exposition, with the index's gauges (`signals` per kind) added.
    pub fn render(&self, signals: &BTreeMap<String, usize>, change_upto: i64) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "vigil_lookups_total",
            "Hashes looked up.",
            self.lookups.get(),
        );
        counter(
            &mut out,
            "vigil_lookups_matched_total",
            "Lookups that matched at least one bank.",
            self.lookups_matched.get(),
        );
        counter(
            &mut out,
            "vigil_hashed_total",
            "Media files hashed.",
            self.hashed.get(),
        );
        counter(
            &mut out,
            "vigil_auth_failures_total",
            "Requests refused for want of a valid key.",
            self.auth_failures.get(),
        );
        counter(
            &mut out,
            "vigil_refresh_failures_total",
            "Matcher refreshes that failed.",
            self.refresh_failures.get(),
        );
        counter(
            &mut out,
            "vigil_webhooks_delivered_total",
            "Webhook events delivered.",
            self.webhooks_delivered.get(),
        );
        counter(
            &mut out,
            "vigil_webhook_failures_total",
            "Webhook delivery attempts that failed.",
            self.webhook_failures.get(),
        );
        let _ = writeln!(
            out,
            "# HELP vigil_matches_total Matches per bank.\n# TYPE vigil_matches_total counter"
        );
        for (bank, n) in self
            .matches_by_bank
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "vigil_matches_total{{bank=\"{}\"}} {n}", escape(bank));
        }
        let _ = writeln!(
            out,
            "# HELP vigil_lookup_seconds Time to answer a lookup request.\n\
             # TYPE vigil_lookup_seconds histogram"
        );
        self.lookup_latency
            .render(&mut out, "vigil_lookup_seconds", "");
        let _ = writeln!(
            out,
            "# HELP vigil_index_signals Signals held by the matcher, per kind.\n\
             # TYPE vigil_index_signals gauge"
        );
        for (kind, n) in signals {
            let _ = writeln!(out, "vigil_index_signals{{kind=\"{}\"}} {n}", escape(kind));
        }
        let _ = writeln!(
            out,
            "# HELP vigil_index_change_upto The store change number the matcher has applied.\n\
             # TYPE vigil_index_change_upto gauge\nvigil_index_change_upto {change_upto}"
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_millis(3));
        let mut s = String::new();
        h.render(&mut s, "x", "");
        assert!(s.contains("x_bucket{le=\"0.0001\"} 1\n"), "{s}");
        assert!(s.contains("x_bucket{le=\"0.005\"} 2\n"), "{s}");
        assert!(s.contains("x_bucket{le=\"+Inf\"} 2\n"), "{s}");
        assert!(s.contains("x_count{} 2\n"), "{s}");
    }
}
