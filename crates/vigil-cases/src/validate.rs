//! Validation of incidents against a taxonomy version and the area hierarchy.
//!
//! Validation never stops at the first problem: it returns every [`RowError`] (row, incident id,
//! field, problem), so an analyst can fix a spreadsheet in one pass. The importer refuses a file
//! with any error unless told otherwise, so what is counted is always what was checked.

use crate::areas::Areas;
use crate::error::RowError;
use crate::model::{Age, Date, Incident};
use crate::taxonomy::Taxonomies;
use std::collections::HashSet;

/// Checks one incident; `row` is its 1-based row number for the messages.
pub fn validate_incident(
    row: usize,
    inc: &Incident,
    taxonomies: &Taxonomies,
    areas: &Areas,
    today: Date,
) -> Vec<RowError> {
    let mut errs = Vec::new();
    let mut err = |field: &str, problem: String| {
        errs.push(RowError {
            row,
            incident: Some(inc.id.clone()),
            field: field.to_string(),
            problem,
        });
    };
    match taxonomies.get(&inc.taxonomy) {
        Err(_) => err(
            "taxonomy",
            format!("unknown taxonomy version {:?}", inc.taxonomy),
        ),
        Ok(t) => {
            if !t.has_category(&inc.category) {
                err(
                    "category",
                    format!(
                        "unknown category {:?} in taxonomy {}",
                        inc.category, t.version
                    ),
                );
            }
            if let Some(s) = &inc.subtype {
                if !t.has_subtype(s) {
                    err(
                        "subtype",
                        format!("unknown subtype {s:?} in taxonomy {}", t.version),
                    );
                } else if inc.category != "csa" && t.has_category(&inc.category) {
                    err(
                        "subtype",
                        format!(
                            "subtype {s:?} given for category {:?}, only csa has subtypes",
                            inc.category
                        ),
                    );
                }
            }
        }
    }
    if !inc.date.is_valid() {
        err("date", format!("impossible date {}", inc.date));
    } else if inc.date.year < 1900 || inc.date.year > today.year {
        err(
            "date",
            format!("year {} outside 1900..={}", inc.date.year, today.year),
        );
    } else if let Some(d) = inc.date.date()
        && d > today
    {
        err("date", format!("date {d} is in the future"));
    }
    if inc.sources.is_empty() {
        err("sources", "no source".into());
    }
    for (i, s) in inc.sources.iter().enumerate() {
        if s.outlet.trim().is_empty() {
            err(&format!("sources[{i}].outlet"), "empty outlet".into());
        }
        if let Some(d) = inc.date.date()
            && s.date < d
        {
            err(
                &format!("sources[{i}].date"),
                format!("report date {} before the incident date {d}", s.date),
            );
        }
        if s.date > today {
            err(
                &format!("sources[{i}].date"),
                format!("report date {} is in the future", s.date),
            );
        }
    }
    let a = &inc.area;
    if !areas.provinces.contains_key(&a.province) {
        err(
            "area.province",
            format!("unknown province {:?}", a.province),
        );
    }
    match areas.province_of(&a.district) {
        None => err(
            "area.district",
            format!("unknown district {:?}", a.district),
        ),
        Some(p) if p != a.province => err(
            "area.district",
            format!(
                "district {:?} is in province {p:?}, not {:?}",
                a.district, a.province
            ),
        ),
        Some(_) => {}
    }
    if let Some(t) = &a.tehsil {
        match areas.district_of(t) {
            None => err("area.tehsil", format!("unknown tehsil {t:?}")),
            Some(d) if d != a.district => err(
                "area.tehsil",
                format!("tehsil {t:?} is in district {d:?}, not {:?}", a.district),
            ),
            Some(_) => {}
        }
    }
    if let Some(p) = a.point
        && (!(-90.0..=90.0).contains(&p.lat) || !(-180.0..=180.0).contains(&p.lon))
    {
        err(
            "area.point",
            format!("point ({}, {}) outside the globe", p.lat, p.lon),
        );
    }
    let mut pids = HashSet::new();
    for (i, v) in inc.victims.iter().enumerate() {
        if let Age::Years(y) = v.age
            && y > 18
        {
            err(
                &format!("victims[{i}].age"),
                format!("age {y} is not a child's (0..=18)"),
            );
        }
        if !pids.insert(v.pid.as_str()) {
            err(
                &format!("victims[{i}].pid"),
                format!("pseudonym {:?} appears twice", v.pid),
            );
        }
        for (abuser, _) in &v.relationships {
            if *abuser >= inc.abusers.len() {
                err(
                    &format!("victims[{i}].relationships"),
                    format!(
                        "abuser {abuser} does not exist ({} abusers)",
                        inc.abusers.len()
                    ),
                );
            }
        }
    }
    for (i, id) in inc.identifiers.iter().enumerate() {
        if !(0.0..=1.0).contains(&id.confidence) {
            err(
                &format!("identifiers[{i}].confidence"),
                format!("confidence {} outside 0..=1", id.confidence),
            );
        }
        if id.value.is_empty() {
            err(&format!("identifiers[{i}].value"), "empty value".into());
        }
        if let (Some(f), Some(l)) = (id.first_seen, id.last_seen)
            && f > l
        {
            err(
                &format!("identifiers[{i}].first_seen"),
                format!("first seen {f} after last seen {l}"),
            );
        }
    }
    errs
}

/// Checks every incident, and that ids are unique. Rows are numbered from 1 in slice order.
pub fn validate(
    incidents: &[Incident],
    taxonomies: &Taxonomies,
    areas: &Areas,
    today: Date,
) -> Vec<RowError> {
    let mut errs = Vec::new();
    let mut ids = HashSet::new();
    for (i, inc) in incidents.iter().enumerate() {
        if !ids.insert(inc.id.as_str()) {
            errs.push(RowError {
                row: i + 1,
                incident: Some(inc.id.clone()),
                field: "id".into(),
                problem: format!("incident id {:?} appears twice", inc.id),
            });
        }
        errs.extend(validate_incident(i + 1, inc, taxonomies, areas, today));
    }
    errs
}
