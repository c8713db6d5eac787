//! Case intake (`vigil_cases::intake`): a mapping file and a CSV file from outside. The input is
//! the mapping's JSON, a zero byte, then the CSV (no zero byte: a fixed mapping and all of it
//! the CSV). Never panics; all or nothing holds: with errors, nothing is imported.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_cases::Taxonomies;
use vigil_cases::areas::Areas;
use vigil_cases::intake::{Mapping, Mode, import};
use vigil_cases::model::Date;

const MAPPING: &str = r#"{"taxonomy": "sahil-2022", "columns": {"id": "Case", "date": "Date",
  "category": "Crime", "subtype": "Type", "province": "Province", "district": "District",
  "outlet": "Newspaper", "victim_sex": "Gender", "victim_age": "Age", "abuser_category": "Abuser",
  "case_registered": "FIR", "identifiers": "Leads"},
  "values": {"category": {"Sexual abuse": "csa"}, "victim_sex": {"Girl": "female"}}}"#;

fuzz_target!(|data: &[u8]| {
    let (mapping, csv) = match data.iter().position(|&b| b == 0) {
        Some(at) => (String::from_utf8_lossy(&data[..at]).into_owned(), &data[at + 1..]),
        None => (MAPPING.to_string(), data),
    };
    let Ok(m) = Mapping::from_json(&mapping) else {
        return;
    };
    let mut areas = Areas::default();
    areas.add_province("A", "Province A");
    areas.add_district("A1", "District A1", "A");
    areas.add_tehsil("A1a", "Tehsil A1a", "A1");
    let today = Date::new(2026, 11, 30).expect("a valid constant date");
    let taxonomies = Taxonomies::builtin();
    for mode in [Mode::AllOrNothing, Mode::SkipBadRows] {
        if let Ok(r) = import(csv, "fuzz.csv", &m, &taxonomies, &areas, today, mode) {
            if mode == Mode::AllOrNothing && !r.errors.is_empty() {
                assert!(r.incidents.is_empty(), "all or nothing imported rows of a bad file");
            }
        }
    }
});
