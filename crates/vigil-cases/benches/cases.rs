//! What's measured: the registry's analyses at the target size, 100,000 incidents with
//! 500,000 identifiers (the demo generator at 20,000 incidents a year for five years, each
//! incident topped up with unique phone and person identifiers to five identifiers on average):
//! * `tables/all`: every published table: the one-way tables of all dimensions, the yearly and
//!   half-yearly series, category × year, sex × age band and district × year cross-tabs, each
//!   suppressed at k = 5;
//! * `network/full`: the whole network analysis (postings, weights, PDQ near matches through
//!   vigil-index, links, components, Louvain, Brandes, candidates);
//! * `dedup/find`: duplicate detection.
//!
//! Generation time and the sizes are printed to stderr once. The target is under 2 s for each.
//!
//! Run with: `nice -n 10 cargo bench -p vigil-cases --bench cases`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use vigil_cases::dedup::{DedupOptions, find_duplicates};
use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::model::{Identifier, IdentifierKind, Incident};
use vigil_cases::network::{NetworkOptions, analyse};
use vigil_cases::stats::{self, Dim};

fn dataset() -> Vec<Incident> {
    let t = Instant::now();
    let d = demo::generate(&DemoOptions {
        per_year: 19_000,
        ..Default::default()
    });
    let mut inc = d.incidents;
    let mut serial = 0u64;
    let mut ids = 0usize;
    for i in &mut inc {
        while i.identifiers.len() < 5 {
            serial += 1;
            let (kind, v) = if serial.is_multiple_of(2) {
                (IdentifierKind::Phone, format!("+99 311 {serial:07}"))
            } else {
                (IdentifierKind::Person, format!("P-B{serial:07}"))
            };
            i.identifiers.push(Identifier::new(kind, &v, "bench"));
        }
        ids += i.identifiers.len();
    }
    eprintln!(
        "dataset: {} incidents, {ids} identifiers, generated in {:.2?}",
        inc.len(),
        t.elapsed()
    );
    inc
}

fn all_tables(inc: &[Incident]) -> usize {
    let mut cells = 0;
    for d in [
        Dim::Year,
        Dim::HalfYear,
        Dim::Category,
        Dim::Subtype,
        Dim::Sex,
        Dim::AgeBand,
        Dim::AbuserCategory,
        Dim::Place,
        Dim::Province,
        Dim::District,
        Dim::Locality,
        Dim::Registered,
        Dim::Reported,
    ] {
        let t = stats::table(inc, d).expect("one-way table");
        cells += stats::suppress(&t, 5).status.len();
    }
    for (r, c) in [
        (Dim::Category, Dim::Year),
        (Dim::Sex, Dim::AgeBand),
        (Dim::District, Dim::Year),
    ] {
        let t = stats::crosstab(inc, r, Some(c)).expect("cross-tab");
        cells += stats::suppress(&t, 5).status.len();
    }
    cells + stats::yearly(inc).len() + stats::half_yearly(inc).len()
}

fn bench(c: &mut Criterion) {
    let inc = dataset();
    let t = Instant::now();
    let a = analyse(&inc, &NetworkOptions::default());
    eprintln!(
        "network once: {:.2?}, {} links, {} candidates, {} hubs",
        t.elapsed(),
        a.links.len(),
        a.candidates.len(),
        a.hubs.len()
    );
    let t = Instant::now();
    black_box(all_tables(&inc));
    eprintln!("tables once: {:.2?}", t.elapsed());
    let mut g = c.benchmark_group("cases/100k");
    g.sample_size(10);
    g.bench_function("tables/all", |b| b.iter(|| black_box(all_tables(&inc))));
    g.bench_function("network/full", |b| {
        b.iter(|| black_box(analyse(&inc, &NetworkOptions::default()).links.len()))
    });
    g.bench_function("dedup/find", |b| {
        b.iter(|| black_box(find_duplicates(&inc, &DedupOptions::default()).len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
