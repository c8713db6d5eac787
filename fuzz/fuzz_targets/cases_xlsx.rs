//! XLSX intake (`vigil_cases::xlsx` and `intake::import_xlsx`): a workbook from outside, read
//! within small limits, then imported through a fixed mapping. Never panics, never allocates
//! past the limits (a sparse sheet or a decompression bomb is refused, not expanded).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_cases::Taxonomies;
use vigil_cases::areas::Areas;
use vigil_cases::intake::{Mapping, Mode, import_xlsx};
use vigil_cases::model::Date;
use vigil_cases::xlsx::{self, Limits};

const MAPPING: &str = r#"{"taxonomy": "sahil-2022", "columns": {"id": "Case", "date": "Date",
  "category": "Crime", "subtype": "Type", "province": "Province", "district": "District",
  "outlet": "Newspaper", "victim_sex": "Gender", "victim_age": "Age", "abuser_category": "Abuser",
  "case_registered": "FIR", "identifiers": "Leads"},
  "values": {"category": {"Sexual abuse": "csa"}, "victim_sex": {"Girl": "female"}}}"#;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_inflated_bytes: 8 << 20,
        max_ratio: 200,
        max_rows: 10_000,
        max_columns: 256,
    };
    if let Ok(sheet) = xlsx::read(data, None, "fuzz.xlsx", &limits) {
        assert!(sheet.rows.len() < 10_000);
        assert!(sheet.headers.len() <= 256);
        assert!(sheet.rows.iter().all(|(_, r)| r.len() == sheet.headers.len().max(r.len())));
    }
    let m = Mapping::from_json(MAPPING).expect("the fixed mapping is valid");
    let mut areas = Areas::default();
    areas.add_province("A", "Province A");
    areas.add_district("A1", "District A1", "A");
    let today = Date::new(2026, 11, 30).expect("a valid constant date");
    let _ = import_xlsx(
        data,
        None,
        &limits,
        "fuzz.xlsx",
        &m,
        &Taxonomies::builtin(),
        &areas,
        today,
        Mode::SkipBadRows,
    );
});
