//! SDG 16.2 indicator figures (`vigil_cases::indicators::parse_indicators_csv`): arbitrary bytes
//! as a CSV file from outside. Never panics; what is accepted is what was promised: a known
//! indicator, a year in range, a non-negative decimal value (at most 100 in percent), a known
//! unit, a source, and no two figures for the same indicator, area, year, sex and age group.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;
use vigil_cases::indicators::{INDICATORS, UNITS, parse_indicators_csv};

fuzz_target!(|data: &[u8]| {
    let Ok(figures) = parse_indicators_csv(data, "fuzz.csv", None) else {
        return;
    };
    let mut keys = BTreeSet::new();
    for f in &figures {
        assert!(INDICATORS.contains(&f.indicator.as_str()));
        assert!(UNITS.contains(&f.unit.as_str()));
        assert!((1900..=2200).contains(&f.year));
        assert!(!f.source.is_empty());
        let v: f64 = f.value.parse().expect("an accepted value is a number");
        assert!(v >= 0.0);
        if f.unit == "percent" {
            assert!(v <= 100.0);
        }
        assert!(keys.insert((&f.indicator, &f.area, f.year, &f.sex, &f.age_group)));
    }
});
