//! `vigil cases`: the case registry over a dataset file (JSON: areas, population, incidents).
//!
//! `demo` writes the fictitious demo dataset and its ground truth; `import` reads a CSV through a
//! mapping (all or nothing unless `--skip-bad`; each error with its row and field on stderr,
//! exit 1); `stats` prints one table with small-number suppression (CSV or SDMX-style CSV; with
//! `--rows year` the year-on-year change and cases per day go to stderr); `network` prints the
//! candidate networks ranked by evidence with every link explained. All the work is in
//! `vigil-cases`; this module reads and writes files.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use vigil_cases::dataset::Dataset;
use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::intake::{self, Mapping, Mode};
use vigil_cases::model::Date;
use vigil_cases::network::{self, NetworkOptions};
use vigil_cases::stats::{self, Dim, SdmxMeta};
use vigil_cases::{Error, Taxonomies, dedup};

use crate::cli::{CasesCommand, CasesDim, CasesFormat};
use crate::exit::ExitStatus;

fn dim(d: CasesDim) -> Dim {
    match d {
        CasesDim::Year => Dim::Year,
        CasesDim::HalfYear => Dim::HalfYear,
        CasesDim::Category => Dim::Category,
        CasesDim::Subtype => Dim::Subtype,
        CasesDim::Sex => Dim::Sex,
        CasesDim::AgeBand => Dim::AgeBand,
        CasesDim::AbuserCategory => Dim::AbuserCategory,
        CasesDim::Place => Dim::Place,
        CasesDim::Province => Dim::Province,
        CasesDim::District => Dim::District,
        CasesDim::Locality => Dim::Locality,
        CasesDim::Registered => Dim::Registered,
        CasesDim::Reported => Dim::Reported,
    }
}

fn read_dataset(path: &Path) -> anyhow::Result<Dataset> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading dataset {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing dataset {}", path.display()))
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string(value).context("serialising")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Today (UTC), for "not in the future" checks.
fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days((secs / 86_400) as i64)
}

/// Runs `vigil cases …`.
pub(crate) fn run(cmd: CasesCommand) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match cmd {
        CasesCommand::Demo(a) => {
            let d = demo::generate(&DemoOptions {
                seed: a.seed,
                per_year: a.per_year,
                ..Default::default()
            });
            write_json(&a.out, &Dataset::from_demo(&d))?;
            if let Some(t) = &a.truth {
                write_json(t, &d.truth)?;
            }
            super::cases_map::write_demo_map(&d, a.boundaries.as_deref(), a.population.as_deref())?;
            eprintln!(
                "cases demo: {} incidents, {} districts, {} planted networks, {} duplicate groups",
                d.incidents.len(),
                d.areas.districts.len(),
                d.truth.networks.len(),
                d.truth.duplicates.len()
            );
            Ok(ExitStatus::Success)
        }
        CasesCommand::Import(a) => {
            let mut ds = read_dataset(&a.areas)?;
            let text = std::fs::read_to_string(&a.mapping)
                .with_context(|| format!("reading mapping {}", a.mapping.display()))?;
            let mapping = Mapping::from_json(&text)
                .with_context(|| format!("mapping {}", a.mapping.display()))?;
            let file = std::fs::File::open(&a.csv)
                .with_context(|| format!("opening {}", a.csv.display()))?;
            let mode = if a.skip_bad {
                Mode::SkipBadRows
            } else {
                Mode::AllOrNothing
            };
            let what = a.csv.display().to_string();
            match intake::import(
                file,
                &what,
                &mapping,
                &Taxonomies::builtin(),
                &ds.areas,
                today(),
                mode,
            ) {
                Err(Error::Rows(errs)) => {
                    for e in &errs {
                        eprintln!("vigil: {what}: {e}");
                    }
                    eprintln!("cases import: {} error(s), nothing imported", errs.len());
                    Ok(ExitStatus::Failure)
                }
                Err(e) => Err(e).context(format!("importing {what}")),
                Ok(report) => {
                    for e in &report.errors {
                        eprintln!("vigil: {what}: {e}");
                    }
                    let n = report.incidents.len();
                    ds.incidents.extend(report.incidents);
                    write_json(&a.out, &ds)?;
                    eprintln!(
                        "cases import: {} rows, {n} imported, {} error(s)",
                        report.rows,
                        report.errors.len()
                    );
                    Ok(if report.errors.is_empty() {
                        ExitStatus::Success
                    } else {
                        ExitStatus::Failure
                    })
                }
            }
        }
        CasesCommand::Stats(a) => {
            let ds = read_dataset(&a.dataset)?;
            let mut incidents = ds.incidents;
            if let Some(t) = &a.taxonomy {
                incidents = Taxonomies::builtin()
                    .harmonise(&incidents, t)
                    .map_err(|errs| {
                        anyhow::anyhow!(
                            "{} incident(s) cannot be mapped to {t}; first: {}",
                            errs.len(),
                            errs[0]
                        )
                    })?;
            }
            if a.dedup {
                let groups = dedup::find_duplicates(&incidents, &dedup::DedupOptions::default());
                incidents = dedup::merge(&incidents, &groups);
            }
            let rows = dim(a.rows);
            if a.cols.is_none() && rows == Dim::Year {
                for y in stats::yearly(&incidents) {
                    let change = y.yoy_percent.map_or("-".to_string(), |p| format!("{p:+}%"));
                    eprintln!(
                        "cases stats: {}: {} incidents, {change} on the year before, {:.1} a day",
                        y.year, y.count, y.per_day
                    );
                }
            }
            let table = stats::crosstab(&incidents, rows, a.cols.map(dim))?;
            let s = stats::suppress(&table, a.k);
            match a.format {
                CasesFormat::Csv => stats::write_csv(&mut out, &s)?,
                CasesFormat::Sdmx => {
                    let meta = SdmxMeta {
                        freq: "A".into(),
                        time_period: None,
                        ref_area: None,
                        unit: "NUMBER".into(),
                    };
                    stats::write_sdmx(&mut out, &s, &meta)?
                }
            }
            Ok(ExitStatus::Success)
        }
        CasesCommand::Map(a) => super::cases_map::map(a),
        CasesCommand::Areas(c) => super::cases_map::areas(c),
        CasesCommand::Network(a) => {
            if a.min_score.is_nan() || a.min_score < 0.0 {
                bail!("--min-score must be 0 or more");
            }
            let ds = read_dataset(&a.dataset)?;
            let analysis = network::analyse(
                &ds.incidents,
                &NetworkOptions {
                    hub_cap: a.hub_cap,
                    min_score: a.min_score,
                    ..Default::default()
                },
            );
            out.write_all(network::report(&analysis, &ds.incidents, a.top).as_bytes())?;
            eprintln!(
                "cases network: {} incidents, {} links, {} candidate networks, {} hubs set aside",
                ds.incidents.len(),
                analysis.links.len(),
                analysis.candidates.len(),
                analysis.hubs.len()
            );
            Ok(ExitStatus::Success)
        }
    }
}
