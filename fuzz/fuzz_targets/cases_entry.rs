//! A manual case entry (`vigil_server::cases::parse_entry`, the body of
//! `POST /api/v1/cases/incidents`) from outside: never panics; an error list is never empty; an
//! incident parsed keeps the entered id and has exactly one source.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_cases::model::Date;

fuzz_target!(|data: &[u8]| {
    let today = Date::new(2026, 11, 30).expect("a valid constant date");
    match vigil_server::cases::parse_entry(data, "fuzz", today) {
        Ok(inc) => {
            assert!(!inc.id.is_empty(), "an incident without an id");
            assert_eq!(inc.id, inc.id.trim());
            assert_eq!(inc.sources.len(), 1);
            assert!(inc.area.point.is_none(), "an entry never carries a point");
        }
        Err(errs) => assert!(!errs.is_empty(), "an error without a problem"),
    }
});
