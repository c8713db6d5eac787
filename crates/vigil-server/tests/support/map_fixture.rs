//! The case map tests' fixture (shared by `tests/cases_map.rs` and `tests/cases_map_ui.rs`):
//! a 3 × 3 grid of square districts, hand-made incidents on it and population figures. The
//! table of what it holds, and the figures expected from it, are in `tests/cases_map.rs`.

#![allow(dead_code)]

use serde_json::json;
use vigil_cases::Incident;
use vigil_cases::areas::Areas;
use vigil_cases::model::{Age, Locality, PartialDate, Point, Sex, Victim};
use vigil_cases::population::{PopulationRow, PopulationTable};

/// The square of a district: (west, south).
pub(crate) fn corner(code: &str) -> (f64, f64) {
    let row = f64::from(code.as_bytes()[1] - b'0');
    let col = f64::from(code.as_bytes()[2] - b'0');
    (10.0 + col - 1.0, -30.0 + row - 1.0)
}

pub(crate) fn grid_geojson() -> String {
    let mut features = Vec::new();
    for row in 1..=3 {
        for col in 1..=3 {
            let code = format!("D{row}{col}");
            let (w, s) = corner(&code);
            let ring = json!([
                [w, s],
                [w + 1.0, s],
                [w + 1.0, s + 1.0],
                [w, s + 1.0],
                [w, s]
            ]);
            features.push(json!({"type": "Feature",
                "properties": {"code": code, "name": format!("District {row}-{col}")},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}));
        }
    }
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

pub(crate) fn province(code: &str) -> &'static str {
    if code.starts_with("D1") { "PS" } else { "PN" }
}

/// `n` incidents in `district`, each with `victims` victims; points (when given) one per
/// incident, in order.
#[allow(clippy::too_many_arguments)]
fn add(
    out: &mut Vec<Incident>,
    template: &Incident,
    district: &str,
    year: i32,
    month: Option<u8>,
    category: &str,
    n: usize,
    victims: usize,
    points: &[(f64, f64, Locality)],
) {
    for k in 0..n {
        let mut i = template.clone();
        i.id = format!("M-{district}-{year}-{category}-{k}");
        i.date = PartialDate {
            year,
            month,
            day: None,
        };
        i.category = category.into();
        i.subtype = None;
        i.taxonomy = "sahil-2022".into();
        i.area.province = province(district).into();
        i.area.district = district.into();
        i.area.tehsil = None;
        i.identifiers.clear();
        i.abusers.clear();
        i.victims = (0..victims)
            .map(|v| Victim {
                pid: format!("{}-V{v}", i.id),
                sex: Sex::Female,
                age: Age::Unknown,
                relationships: Vec::new(),
            })
            .collect();
        match points.get(k) {
            Some(&(lon, lat, loc)) => {
                i.area.point = Some(Point { lat, lon });
                i.area.locality = loc;
            }
            None => {
                i.area.point = None;
                i.area.locality = Locality::Unknown;
            }
        }
        out.push(i);
    }
}

/// Points near the edges of D11 (0.005° ≈ 0.5 km in), the middle of D12 and D21.
fn d11_points() -> Vec<(f64, f64, Locality)> {
    vec![
        (10.005, -29.5, Locality::Rural),
        (10.995, -29.995, Locality::Rural),
        (10.5, -29.005, Locality::Urban),
        (10.5, -29.5, Locality::Urban),
        (10.25, -29.75, Locality::Unknown),
        (10.004, -29.996, Locality::Rural),
    ]
}

pub(crate) fn incidents() -> Vec<Incident> {
    let demo = vigil_cases::demo::generate(&vigil_cases::demo::DemoOptions {
        per_year: 5,
        ..Default::default()
    });
    let t = &demo.incidents[0];
    let mut v = Vec::new();
    let urban = Locality::Urban;
    add(&mut v, t, "D11", 2021, Some(3), "csa", 6, 2, &d11_points());
    add(&mut v, t, "D11", 2021, Some(5), "abduction", 2, 1, &[]);
    add(&mut v, t, "D11", 2022, Some(2), "csa", 4, 1, &[]);
    let d12 = [
        (11.5, -29.5, urban),
        (11.2, -29.2, urban),
        (11.8, -29.8, urban),
    ];
    add(&mut v, t, "D12", 2021, Some(7), "csa", 3, 2, &d12);
    add(&mut v, t, "D12", 2022, Some(8), "csa", 5, 2, &[]);
    let d21 = [(10.5, -28.5, urban), (10.3, -28.7, Locality::Rural)];
    add(&mut v, t, "D21", 2021, Some(1), "csa", 2, 3, &d21);
    add(&mut v, t, "D21", 2022, Some(11), "abduction", 5, 2, &[]);
    add(&mut v, t, "D22", 2021, Some(9), "csa", 1, 1, &[]);
    add(&mut v, t, "D23", 2022, Some(4), "csa", 2, 1, &[]);
    add(&mut v, t, "D31", 2021, Some(12), "csa", 1, 1, &[]);
    add(&mut v, t, "D33", 2021, None, "csa", 1, 1, &[]);
    add(&mut v, t, "D33", 2022, Some(6), "csa", 1, 1, &[]);
    v
}

pub(crate) fn population() -> PopulationTable {
    let mut rows = Vec::new();
    for row in 1..=3 {
        for col in 1..=3 {
            let area = format!("D{row}{col}");
            let figures: &[(i32, u64)] = match area.as_str() {
                "D13" => &[],
                "D33" => &[(2021, 200_000)],
                _ => &[(2021, 100_000), (2022, 100_000)],
            };
            for &(year, population) in figures {
                rows.push(PopulationRow {
                    area: area.clone(),
                    year,
                    population,
                    group: String::new(),
                });
            }
        }
    }
    PopulationTable { rows }
}

pub(crate) fn areas() -> Areas {
    let mut a = Areas::default();
    a.add_province("PS", "South");
    a.add_province("PN", "North");
    for row in 1..=3 {
        for col in 1..=3 {
            let code = format!("D{row}{col}");
            a.add_district(&code, &format!("District {row}-{col}"), province(&code));
        }
    }
    a
}
