//! The demo generator: deterministic, valid, shaped like the published proportions.

use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::model::Date;
use vigil_cases::stats::{Dim, table};
use vigil_cases::validate::validate;

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let o = DemoOptions {
        per_year: 100,
        ..Default::default()
    };
    let a = demo::generate(&o);
    let b = demo::generate(&o);
    assert_eq!(a.incidents, b.incidents);
    let c = demo::generate(&DemoOptions { seed: 9, ..o });
    assert_ne!(a.incidents, c.incidents);
}

#[test]
fn demo_data_validates_and_has_the_published_mix() {
    let d = demo::generate(&DemoOptions::default());
    let errs = validate(
        &d.incidents,
        &d.taxonomies,
        &d.areas,
        Date {
            year: 2026,
            month: 1,
            day: 1,
        },
    );
    assert!(errs.is_empty(), "{} errors, first {}", errs.len(), errs[0]);
    assert_eq!(d.areas.districts.len(), 30);
    assert!(d.incidents.len() > 4000);
    let t = table(&d.incidents, Dim::Category).unwrap();
    let share = |c: &str| t.count(c) as f64 / t.total() as f64;
    assert!((share("csa") - 0.48).abs() < 0.03, "csa {}", share("csa"));
    assert!((share("abduction") - 0.435).abs() < 0.03);
    assert!(!d.truth.duplicates.is_empty());
    assert_eq!(d.truth.networks.len(), 5);
    // Pseudonyms only: every victim id is V-nnnnnn.
    assert!(
        d.incidents
            .iter()
            .flat_map(|i| &i.victims)
            .all(|v| v.pid.starts_with("V-") && v.pid.len() == 8)
    );
}
