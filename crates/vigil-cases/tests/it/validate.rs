//! Validation errors name the row and the field.

use crate::fixture;
use vigil_cases::Taxonomies;
use vigil_cases::model::{Age, Date};
use vigil_cases::validate::validate;

#[test]
fn fixture_is_valid_and_bad_rows_are_named() {
    let t = Taxonomies::builtin();
    let areas = fixture::areas();
    let today = Date {
        year: 2026,
        month: 1,
        day: 1,
    };
    let mut inc = fixture::incidents();
    assert!(validate(&inc, &t, &areas, today).is_empty());
    inc[0].category = "theft".into();
    inc[1].date.day = Some(30);
    inc[1].date.month = Some(2);
    inc[2].area.district = "B1".into();
    inc[3].victims[0].age = Age::Years(25);
    inc[4].area.tehsil = Some("B1T1".into());
    inc[5].subtype = Some("gang_rape".into());
    inc[6].id = inc[7].id.clone();
    let errs: Vec<String> = validate(&inc, &t, &areas, today)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        errs,
        vec![
            "row 1 (incident I-001), field category: unknown category \"theft\" in taxonomy sahil-2022",
            "row 2 (incident I-002), field date: impossible date 2022-02-30",
            "row 3 (incident I-003), field area.district: district \"B1\" is in province \"B\", not \"A\"",
            "row 4 (incident I-004), field victims[0].age: age 25 is not a child's (0..=18)",
            "row 5 (incident I-005), field area.tehsil: tehsil \"B1T1\" is in district \"B1\", not \"A2\"",
            "row 6 (incident I-006), field subtype: unknown subtype \"gang_rape\" in taxonomy sahil-2022",
            "row 8 (incident I-008), field id: incident id \"I-008\" appears twice",
        ]
    );
}

#[test]
fn future_dates_are_rejected() {
    let t = Taxonomies::builtin();
    let mut inc = fixture::incidents();
    inc.truncate(1);
    let errs = validate(
        &inc,
        &t,
        &fixture::areas(),
        Date {
            year: 2021,
            month: 6,
            day: 1,
        },
    );
    assert_eq!(errs[0].field, "date");
    assert!(
        errs[0].problem.contains("outside 1900..=2021"),
        "{}",
        errs[0].problem
    );
}
