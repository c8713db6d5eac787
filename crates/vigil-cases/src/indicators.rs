//! SDG target 16.2 indicators: the survey-based ones imported as published, the registry's
//! own 16.2.2-style figure computed.
//!
//! * **16.2.1** (children 1–17 who experienced physical punishment and/or psychological
//!   aggression by caregivers in the past month) and **16.2.3** (young people 18–29 who
//!   experienced sexual violence by age 18) are *survey* indicators (MICS, DHS, VACS): a case
//!   registry cannot compute them, so they are **imported** with their source and kept exactly
//!   as published (the value is stored as the publisher's decimal text, never recomputed).
//! * **16.2.2** (victims of trafficking per 100,000) may be imported as published too; the
//!   registry's own figure, *detected (media-reported) victims per 100,000* of the child
//!   population ([`crate::stats::rates_per_100k`]), is an SDG 16.2.2-*style* figure and is
//!   labelled as computed, never as prevalence.
//!
//! The file is a CSV with the header `indicator,area_code,year,value,unit,sex,age_group,source`
//! (`sex` and `age_group` may be empty; an empty `area_code` is the whole country). The import is
//! all or nothing, every bad row reported (row 1 = the first data row).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, RowError};

/// Most data rows accepted.
pub const MAX_ROWS: usize = 100_000;
/// The header of an indicators file.
pub const HEADER: [&str; 8] = [
    "indicator",
    "area_code",
    "year",
    "value",
    "unit",
    "sex",
    "age_group",
    "source",
];
/// The indicators of SDG target 16.2 a file may hold.
pub const INDICATORS: [&str; 3] = ["16.2.1", "16.2.2", "16.2.3"];
/// The units a figure may be in.
pub const UNITS: [&str; 3] = ["percent", "per_100k", "number"];
/// The longest text field, in bytes.
pub const MAX_FIELD: usize = 500;

/// One published figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// `16.2.1`, `16.2.2` or `16.2.3`.
    pub indicator: String,
    /// Area code; empty for the whole country.
    pub area: String,
    /// Year of reference.
    pub year: i32,
    /// The value as published (a decimal number, kept as text).
    pub value: String,
    /// `percent`, `per_100k` or `number`.
    pub unit: String,
    /// Sex disaggregation (`female`, `male`, empty: both).
    pub sex: String,
    /// Age group (empty: as the indicator defines it).
    pub age_group: String,
    /// Who published it (survey, year, table).
    pub source: String,
}

/// Whether `s` is a plain non-negative decimal number (`12`, `7.25`), as published.
fn is_decimal(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.len() <= 15
        && frac.len() <= 10
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Reads an indicators CSV. `known`: the area codes a figure may name besides the empty
/// (national) one (`None`: any). `what` names the input in errors.
pub fn parse_indicators_csv<R: Read>(
    input: R,
    what: &str,
    known: Option<&BTreeSet<String>>,
) -> Result<Vec<Figure>> {
    let csv_err = |source| Error::Csv {
        what: what.into(),
        source,
    };
    let (mut rd, header) = crate::population::open_csv(input, what)?;
    if header != HEADER {
        return Err(Error::Rows(vec![RowError {
            row: 0,
            incident: None,
            field: "header".into(),
            problem: format!("expected {}, found {}", HEADER.join(","), header.join(",")),
        }]));
    }
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut seen: BTreeMap<(String, String, i32, String, String), usize> = BTreeMap::new();
    for (k, rec) in rd.records().enumerate() {
        let row = k + 1;
        if row > MAX_ROWS {
            return Err(Error::Rows(vec![RowError {
                row,
                incident: None,
                field: "file".into(),
                problem: format!("more than {MAX_ROWS} rows"),
            }]));
        }
        let rec = rec.map_err(csv_err)?;
        let mut bad = Vec::new();
        let mut err = |field: &str, problem: String| {
            bad.push(RowError {
                row,
                incident: None,
                field: field.into(),
                problem,
            })
        };
        if rec.len() != HEADER.len() {
            err(
                "row",
                format!("{} fields, expected {}", rec.len(), HEADER.len()),
            );
            errors.extend(bad);
            continue;
        }
        if let Some(i) = (0..rec.len()).find(|&i| rec[i].len() > MAX_FIELD) {
            err(HEADER[i], format!("longer than {MAX_FIELD} bytes"));
            errors.extend(bad);
            continue;
        }
        let f = Figure {
            indicator: rec[0].to_string(),
            area: rec[1].to_string(),
            year: rec[2].parse().unwrap_or(0),
            value: rec[3].to_string(),
            unit: rec[4].to_ascii_lowercase(),
            sex: rec[5].to_ascii_lowercase(),
            age_group: rec[6].to_string(),
            source: rec[7].to_string(),
        };
        if !INDICATORS.contains(&f.indicator.as_str()) {
            err(
                "indicator",
                format!(
                    "{:?} is not one of {} (16.2 targets)",
                    f.indicator,
                    INDICATORS.join(", ")
                ),
            );
        }
        if let Some(k) = known
            && !f.area.is_empty()
            && !k.contains(&f.area)
        {
            err("area_code", format!("unknown area code {:?}", f.area));
        }
        if !(1900..=2200).contains(&f.year) {
            err("year", format!("{:?} is not a year", &rec[2]));
        }
        if !is_decimal(&f.value) {
            err(
                "value",
                format!("{:?} is not a non-negative decimal number", f.value),
            );
        }
        if !UNITS.contains(&f.unit.as_str()) {
            err(
                "unit",
                format!("{:?} is not one of {}", f.unit, UNITS.join(", ")),
            );
        } else if f.unit == "percent" {
            if is_decimal(&f.value) && f.value.parse::<f64>().is_ok_and(|v| v > 100.0) {
                err("value", format!("{} percent is over 100", f.value));
            }
        } else if f.indicator != "16.2.2" && INDICATORS.contains(&f.indicator.as_str()) {
            err(
                "unit",
                format!(
                    "{} is a proportion of surveyed people: its unit is percent",
                    f.indicator
                ),
            );
        }
        if !matches!(f.sex.as_str(), "" | "female" | "male") {
            err("sex", format!("{:?} is not female, male or empty", f.sex));
        }
        if f.source.is_empty() {
            err(
                "source",
                "empty: an imported figure must name its publisher".into(),
            );
        }
        if !bad.is_empty() {
            errors.extend(bad);
            continue;
        }
        let key = (
            f.indicator.clone(),
            f.area.clone(),
            f.year,
            f.sex.clone(),
            f.age_group.clone(),
        );
        if let Some(first) = seen.insert(key, row) {
            errors.push(RowError {
                row,
                incident: None,
                field: "row".into(),
                problem: format!(
                    "{} for {:?} in {} (sex {:?}, age group {:?}) is also on row {first}",
                    f.indicator, f.area, f.year, f.sex, f.age_group
                ),
            });
            continue;
        }
        out.push(f);
    }
    if !errors.is_empty() {
        return Err(Error::Rows(errors));
    }
    Ok(out)
}
