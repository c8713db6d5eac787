//! What's measured: the registry's analyses at the target size, 100,000 incidents with
//! 500,000 identifiers (the demo generator at 20,000 incidents a year for five years, each
//! incident topped up with unique phone and person identifiers to five identifiers on average):
//! * `tables/all`: every published table: the one-way tables of all dimensions, the yearly and
//!   half-yearly series, category × year, sex × age band and district × year cross-tabs, each
//!   suppressed at k = 5;
//! * `network/full`: the whole network analysis (postings, weights, PDQ near matches through
//!   vigil-index, links, components, Louvain, Brandes, candidates);
//! * `dedup/find`: duplicate detection;
//! * `map/rates_gi`: the map's areas: rates per 100,000 per district over the five years, queen
//!   contiguity from the boundaries and Getis-Ord Gi*;
//! * `map/displace`: displacing every incident point (about 30% of incidents) inside its district.
//!
//! Generation time and the sizes are printed to stderr once. The target is under 2 s for each.
//!
//! Run with: `nice -n 10 cargo bench -p vigil-cases --bench cases`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use vigil_cases::dedup::{DedupOptions, find_duplicates};
use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::displace::{DisplaceKey, displace};
use vigil_cases::geo::Boundaries;
use vigil_cases::hotspot::{Weights, gi_star, neighbours};
use vigil_cases::model::{Identifier, IdentifierKind, Incident};
use vigil_cases::network::{NetworkOptions, analyse};
use vigil_cases::population::area_rates;
use vigil_cases::stats::{self, Dim};

fn dataset() -> (Vec<Incident>, Boundaries, vigil_cases::areas::Population) {
    let t = Instant::now();
    let d = demo::generate(&DemoOptions {
        per_year: 19_000,
        ..Default::default()
    });
    let (boundaries, population) = (d.boundaries, d.population);
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
    (inc, boundaries, population)
}

fn map_areas(inc: &[Incident], b: &Boundaries, p: &vigil_cases::areas::Population) -> usize {
    let codes = b.codes();
    let rates = area_rates(inc, p, &codes, 2019, 2023);
    let x: Vec<f64> = rates.iter().map(|r| r.per_100k.unwrap_or(0.0)).collect();
    let nb = neighbours(b, Weights::Queen);
    gi_star(&x, &nb).expect("gi*").len()
}

fn map_points(inc: &[Incident], b: &Boundaries, key: &DisplaceKey) -> usize {
    inc.iter()
        .filter_map(|i| {
            let p = i.area.point?;
            displace(
                key,
                &i.id,
                [p.lon, p.lat],
                i.area.locality,
                b.get(&i.area.district)?,
            )
        })
        .count()
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
    let (inc, boundaries, population) = dataset();
    let key = DisplaceKey::new(b"a benchmark key, not a secret").expect("long enough");
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
    g.bench_function("map/rates_gi", |b| {
        b.iter(|| black_box(map_areas(&inc, &boundaries, &population)))
    });
    g.bench_function("map/displace", |b| {
        b.iter(|| black_box(map_points(&inc, &boundaries, &key)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
