//! Population figures from a CSV file, and rates per 100,000 per area over a period.
//!
//! The file has a header `area_code,year,population` and optionally a fourth column
//! `age_group` (e.g. `0-17`; empty or absent: all ages). Figures are imported (census,
//! projections), never estimated here. When the population is of children, the rate of
//! detected victims per 100,000 is an SDG 16.2.2-style figure; indicators 16.2.1 and 16.2.3 are
//! survey-based and are imported by their publishers' own tables, not computed.
//!
//! Like the case intake, the import is all or nothing: every bad row is reported (row 1 = the
//! first data row) and a file with any error yields nothing.

use crate::areas::Population;
use crate::error::{Error, Result, RowError};
use crate::model::Incident;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// Most data rows accepted.
pub const MAX_ROWS: usize = 1_000_000;

/// One population figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationRow {
    /// Area code.
    pub area: String,
    /// Year.
    pub year: i32,
    /// Head count.
    pub population: u64,
    /// Age group (`""`: all ages).
    pub group: String,
}

/// Imported population figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationTable {
    /// The rows, in file order.
    pub rows: Vec<PopulationRow>,
}

impl PopulationTable {
    /// The age groups present, sorted (`""` for all ages).
    pub fn groups(&self) -> BTreeSet<String> {
        self.rows.iter().map(|r| r.group.clone()).collect()
    }

    /// The figures of one age group as a look-up by (area, year). With `None`, the file must
    /// hold a single group, which is used.
    pub fn population(&self, group: Option<&str>) -> Result<Population> {
        let groups = self.groups();
        let g = match group {
            Some(g) => g.to_string(),
            None if groups.len() <= 1 => groups.into_iter().next().unwrap_or_default(),
            None => {
                return Err(Error::Table {
                    table: "population".into(),
                    problem: format!(
                        "the figures have several age groups ({}); choose one",
                        groups.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        };
        Ok(Population {
            figures: self
                .rows
                .iter()
                .filter(|r| r.group == g)
                .map(|r| ((r.area.clone(), r.year), r.population))
                .collect(),
        })
    }

    /// Writes the table as CSV with the header `area_code,year,population,age_group`.
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let csv_err = |source| Error::Csv {
            what: "population".into(),
            source,
        };
        w.write_record(["area_code", "year", "population", "age_group"])
            .map_err(csv_err)?;
        for r in &self.rows {
            w.write_record([
                r.area.as_str(),
                &r.year.to_string(),
                &r.population.to_string(),
                r.group.as_str(),
            ])
            .map_err(csv_err)?;
        }
        w.flush().map_err(|source| Error::Write {
            what: "population".into(),
            source,
        })
    }
}

/// A reference-figures CSV (population, indicators) from outside: a reader that trims fields
/// and allows ragged rows (each parser checks the field count and names the row), and the
/// header lower-cased without a byte-order mark.
pub(crate) fn open_csv<R: Read>(input: R, what: &str) -> Result<(csv::Reader<R>, Vec<String>)> {
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = rd
        .headers()
        .map_err(|source| Error::Csv {
            what: what.into(),
            source,
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    Ok((rd, header))
}

/// Reads a population CSV. `known`: the area codes the figures may name (`None`: any).
/// `what` names the input in errors.
pub fn parse_population_csv<R: Read>(
    input: R,
    what: &str,
    known: Option<&BTreeSet<String>>,
) -> Result<PopulationTable> {
    let csv_err = |source| Error::Csv {
        what: what.into(),
        source,
    };
    let (mut rd, header) = open_csv(input, what)?;
    let expect = ["area_code", "year", "population"];
    if header.len() < 3
        || header.len() > 4
        || header[..3] != expect
        || (header.len() == 4 && header[3] != "age_group")
    {
        return Err(Error::Rows(vec![RowError {
            row: 0,
            incident: None,
            field: "header".into(),
            problem: format!(
                "expected area_code,year,population[,age_group], found {}",
                header.join(",")
            ),
        }]));
    }
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut seen: BTreeMap<(String, i32, String), usize> = BTreeMap::new();
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
        let mut err = |field: &str, problem: String| {
            errors.push(RowError {
                row,
                incident: None,
                field: field.into(),
                problem,
            })
        };
        if rec.len() < 3 || rec.len() > header.len() {
            err(
                "row",
                format!("{} fields, expected {}", rec.len(), header.len()),
            );
            continue;
        }
        let area = rec[0].to_string();
        if area.is_empty() {
            err("area_code", "empty".into());
        } else if let Some(k) = known
            && !k.contains(&area)
        {
            err("area_code", format!("unknown area code {area:?}"));
        }
        let year = match rec[1].parse::<i32>() {
            Ok(y) if (1900..=2200).contains(&y) => Some(y),
            _ => {
                err("year", format!("{:?} is not a year", &rec[1]));
                None
            }
        };
        let population = match rec[2].parse::<u64>() {
            Ok(0) => {
                err("population", "zero".into());
                None
            }
            Ok(p) => Some(p),
            Err(_) => {
                err(
                    "population",
                    format!("{:?} is not a whole number of people", &rec[2]),
                );
                None
            }
        };
        let group = rec.get(3).unwrap_or("").to_string();
        if let (Some(year), Some(population)) = (year, population) {
            let key = (area.clone(), year, group.clone());
            if let Some(first) = seen.get(&key) {
                err(
                    "area_code",
                    format!("{area} {year} {group:?} already given in row {first}"),
                );
                continue;
            }
            seen.insert(key, row);
            rows.push(PopulationRow {
                area,
                year,
                population,
                group,
            });
        }
    }
    if !errors.is_empty() {
        return Err(Error::Rows(errors));
    }
    Ok(PopulationTable { rows })
}

/// The rate of one area over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaRate {
    /// Area code.
    pub area: String,
    /// Detected victims in the years with a population figure.
    pub victims: u64,
    /// Incidents in those years.
    pub incidents: u64,
    /// Sum of the yearly populations (person-years); 0 when no year has a figure.
    pub person_years: u64,
    /// victims × 100,000 / person-years: a yearly rate, averaged over the period. `None` when
    /// no year of the period has a population figure.
    pub per_100k: Option<f64>,
}

/// Detected victims per 100,000 per year for each area in `areas`, over the years `from..=to`.
/// Only the years with a population figure for the area count, in the numerator and the
/// denominator alike, so a missing census year never deflates a rate.
pub fn area_rates(
    incidents: &[Incident],
    population: &Population,
    areas: &[String],
    from: i32,
    to: i32,
) -> Vec<AreaRate> {
    let mut counts: BTreeMap<(&str, i32), (u64, u64)> = BTreeMap::new();
    for i in incidents {
        if (from..=to).contains(&i.date.year) {
            let e = counts
                .entry((i.area.district.as_str(), i.date.year))
                .or_default();
            e.0 += i.victims.len() as u64;
            e.1 += 1;
        }
    }
    areas
        .iter()
        .map(|a| {
            let (mut victims, mut incidents, mut py) = (0, 0, 0);
            for y in from..=to {
                if let Some(p) = population.get(a, y) {
                    let (v, n) = counts.get(&(a.as_str(), y)).copied().unwrap_or((0, 0));
                    victims += v;
                    incidents += n;
                    py += p;
                }
            }
            AreaRate {
                area: a.clone(),
                victims,
                incidents,
                person_years: py,
                per_100k: (py > 0).then(|| victims as f64 * 100_000.0 / py as f64),
            }
        })
        .collect()
}
