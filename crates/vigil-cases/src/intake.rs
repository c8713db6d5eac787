//! CSV and XLSX intake through a mapping file, all or nothing by default.
//!
//! NGOs keep their registers in spreadsheets with their own column names and labels ("Girl",
//! "Sexual abuse", "FIR: yes"). A [`Mapping`] (JSON) says which column holds which field and how
//! labels translate into codes. Every row is parsed and validated; the report lists each problem
//! with its row (1 = first data row), incident and field. With [`Mode::AllOrNothing`] (the
//! default) a file with any error imports nothing, so a half-imported file can never skew a
//! published table; [`Mode::SkipBadRows`] is the explicit "import the good rows" choice.
//!
//! One row is one incident. Lists inside a cell are separated by `;`: several victims
//! (`victim_sex`, `victim_age` pair up by position), several abusers (`abuser_category`), and
//! identifiers written `kind:value` (`phone:+99 300 1234567;handle:chat:@name`).

use crate::areas::Areas;
use crate::error::{Error, Result, RowError};
use crate::model::*;
use crate::taxonomy::Taxonomies;
use crate::validate::validate_incident;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;

/// The fields a column can be mapped to.
pub const FIELDS: &[&str] = &[
    "id",
    "date",
    "category",
    "subtype",
    "province",
    "district",
    "tehsil",
    "locality",
    "place",
    "outlet",
    "report_date",
    "link",
    "reported_to_police",
    "case_registered",
    "stage",
    "victim_sex",
    "victim_age",
    "abuser_category",
    "identifiers",
    "abducted_then_abused",
    "murdered",
    "recorded_online",
    "extortion",
];

const REQUIRED: &[&str] = &["date", "category", "province", "district", "outlet"];

/// Most data rows a CSV file may hold (as many as a spreadsheet's limit): the incidents of an
/// import are held in memory until it is known that every row is good.
pub const MAX_CSV_ROWS: usize = 2_000_000;

/// How columns and labels map onto the model.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Taxonomy version of the file's category codes.
    pub taxonomy: String,
    /// Field → column header.
    pub columns: BTreeMap<String, String>,
    /// Field → (label → code). Labels compare case-insensitively after trimming; a label with
    /// no entry is taken as the code itself.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

impl Mapping {
    /// The mapping of a register written by [`write_register_csv`]: every column is named after
    /// its field, every value is a code.
    pub fn canonical(taxonomy: &str) -> Mapping {
        Mapping {
            taxonomy: taxonomy.to_string(),
            columns: FIELDS
                .iter()
                .map(|f| (f.to_string(), f.to_string()))
                .collect(),
            values: BTreeMap::new(),
        }
    }

    /// Parses a JSON mapping and checks that it names known fields and the required ones.
    pub fn from_json(text: &str) -> Result<Mapping> {
        let m: Mapping = serde_json::from_str(text).map_err(|e| Error::Mapping {
            what: "file".into(),
            problem: e.to_string(),
        })?;
        for f in m.columns.keys().chain(m.values.keys()) {
            if !FIELDS.contains(&f.as_str()) {
                return Err(Error::Mapping {
                    what: format!("field {f:?}"),
                    problem: format!("unknown field; known: {}", FIELDS.join(", ")),
                });
            }
        }
        for f in REQUIRED {
            if !m.columns.contains_key(*f) {
                return Err(Error::Mapping {
                    what: format!("field {f:?}"),
                    problem: "required field has no column".into(),
                });
            }
        }
        Ok(m)
    }
}

/// What to do with a file that has errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Import nothing if any row has an error.
    #[default]
    AllOrNothing,
    /// Import the rows without errors, report the others.
    SkipBadRows,
}

/// The outcome of an import.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: usize,
    /// Incidents imported.
    pub incidents: Vec<Incident>,
    /// Problems found (rows with problems are not imported).
    pub errors: Vec<RowError>,
}

fn parse_enum<T: for<'de> Deserialize<'de>>(code: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(code.to_string())).ok()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Some(true),
        "no" | "n" | "false" | "0" | "" => Some(false),
        _ => None,
    }
}

/// Reads a CSV file through a mapping (see the module docs). `what` names the file in errors.
pub fn import<R: Read>(
    reader: R,
    what: &str,
    mapping: &Mapping,
    taxonomies: &Taxonomies,
    areas: &Areas,
    today: Date,
    mode: Mode,
) -> Result<ImportReport> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::Csv {
            what: what.into(),
            source: e,
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let rows = rdr.into_records().enumerate().map(|(n, rec)| {
        (
            n + 1,
            rec.map(|r| r.iter().map(str::to_string).collect())
                .map_err(|e| format!("malformed CSV row: {e}")),
        )
    });
    import_rows(
        &headers, rows, what, mapping, taxonomies, areas, today, mode,
    )
}

/// Reads one sheet (`sheet`, or the first) of an XLSX file through a mapping, as [`import`]
/// reads a CSV file; the sheet is read by [`crate::xlsx::read`] within `limits`.
#[allow(clippy::too_many_arguments)]
pub fn import_xlsx(
    bytes: &[u8],
    sheet: Option<&str>,
    limits: &crate::xlsx::Limits,
    what: &str,
    mapping: &Mapping,
    taxonomies: &Taxonomies,
    areas: &Areas,
    today: Date,
    mode: Mode,
) -> Result<ImportReport> {
    let s = crate::xlsx::read(bytes, sheet, what, limits)?;
    let rows = s.rows.into_iter().map(|(n, r)| (n, Ok(r)));
    import_rows(
        &s.headers, rows, what, mapping, taxonomies, areas, today, mode,
    )
}

/// The intake proper: a header and numbered rows of cells (or the reason a row is unreadable).
#[allow(clippy::too_many_arguments)]
fn import_rows(
    headers: &[String],
    rows: impl Iterator<Item = (usize, std::result::Result<Vec<String>, String>)>,
    what: &str,
    mapping: &Mapping,
    taxonomies: &Taxonomies,
    areas: &Areas,
    today: Date,
    mode: Mode,
) -> Result<ImportReport> {
    let _span = tracing::info_span!("import", file = what).entered();
    taxonomies.get(&mapping.taxonomy)?;
    let mut col: BTreeMap<&str, usize> = BTreeMap::new();
    for (field, header) in &mapping.columns {
        let i = headers
            .iter()
            .position(|h| h.trim() == header.trim())
            .ok_or_else(|| Error::Mapping {
                what: format!("field {field:?}"),
                problem: format!("column {header:?} is not in the header of {what}"),
            })?;
        col.insert(field.as_str(), i);
    }
    let mut report = ImportReport {
        rows: 0,
        incidents: Vec::new(),
        errors: Vec::new(),
    };
    for (row, rec) in rows {
        report.rows += 1;
        if report.rows > MAX_CSV_ROWS {
            report.errors.push(RowError {
                row,
                incident: None,
                field: "(file)".into(),
                problem: format!("more than {MAX_CSV_ROWS} rows: split the file"),
            });
            return Err(Error::Rows(report.errors));
        }
        let rec = match rec {
            Ok(r) => r,
            Err(problem) => {
                report.errors.push(RowError {
                    row,
                    incident: None,
                    field: "(row)".into(),
                    problem,
                });
                continue;
            }
        };
        let mut errs: Vec<RowError> = Vec::new();
        let id = col
            .get("id")
            .and_then(|&i| rec.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("ROW-{row:06}"));
        let mut bad = |field: &str, problem: String| {
            errs.push(RowError {
                row,
                incident: Some(id.clone()),
                field: field.into(),
                problem,
            })
        };
        // Raw cell, then the label mapping.
        let get = |field: &str| -> Option<String> {
            let raw = rec.get(*col.get(field)?)?.trim();
            if raw.is_empty() {
                return None;
            }
            Some(map_value(mapping, field, raw))
        };
        let date = match get("date") {
            None => {
                bad("date", "missing".into());
                None
            }
            Some(s) => PartialDate::parse(&s).or_else(|| {
                bad(
                    "date",
                    format!(
                        "impossible or malformed date {s:?} (want YYYY, YYYY-MM or YYYY-MM-DD)"
                    ),
                );
                None
            }),
        };
        let report_date = match get("report_date") {
            Some(s) => Date::parse(&s).or_else(|| {
                bad(
                    "report_date",
                    format!("malformed date {s:?} (want YYYY-MM-DD)"),
                );
                None
            }),
            // Without a report date: the incident date, or the last day of its month or year
            // when it is not exact (never after today).
            None => date.map(|d| {
                d.date().unwrap_or_else(|| {
                    let m = d.month.unwrap_or(12);
                    Date {
                        year: d.year,
                        month: m,
                        day: days_in_month(d.year, m),
                    }
                    .min(today)
                })
            }),
        };
        macro_rules! parse_opt {
            ($field:expr, $ty:ty, $default:expr) => {
                match get($field) {
                    None => $default,
                    Some(s) => match parse_enum::<$ty>(&s) {
                        Some(v) => v,
                        None => {
                            bad($field, format!("unknown value {s:?}"));
                            $default
                        }
                    },
                }
            };
        }
        let locality = parse_opt!("locality", Locality, Locality::Unknown);
        let place = parse_opt!("place", PlaceType, PlaceType::Unknown);
        let reported = parse_opt!("reported_to_police", Tri, Tri::Unknown);
        let registered = parse_opt!("case_registered", Tri, Tri::Unknown);
        let stage = match get("stage") {
            None => None,
            Some(s) => parse_enum::<CaseStage>(&s).or_else(|| {
                bad("stage", format!("unknown value {s:?}"));
                None
            }),
        };
        let mut flags = Flags::default();
        for (field, slot) in [
            ("abducted_then_abused", &mut flags.abducted_then_abused),
            ("murdered", &mut flags.murdered),
            ("recorded_online", &mut flags.recorded_online),
            ("extortion", &mut flags.extortion),
        ] {
            if let Some(s) = get(field) {
                match parse_bool(&s) {
                    Some(b) => *slot = b,
                    None => bad(field, format!("not yes/no: {s:?}")),
                }
            }
        }
        let list = |field: &str| -> Vec<String> {
            col.get(field)
                .and_then(|&i| rec.get(i))
                .map(|s| {
                    s.split(';')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(|x| map_value(mapping, field, x))
                        .collect()
                })
                .unwrap_or_default()
        };
        let sexes = list("victim_sex");
        let ages = list("victim_age");
        let mut abusers = Vec::new();
        for (k, c) in list("abuser_category").iter().enumerate() {
            match parse_enum::<AbuserCategory>(c) {
                Some(category) => abusers.push(Abuser {
                    pid: format!("{id}-A{}", k + 1),
                    sex: Sex::Unknown,
                    age_band: None,
                    juvenile: false,
                    category,
                }),
                None => bad("abuser_category", format!("unknown value {c:?}")),
            }
        }
        let mut victims = Vec::new();
        for k in 0..sexes.len().max(ages.len()) {
            let sex = match sexes.get(k) {
                None => Sex::Unknown,
                Some(s) => parse_enum::<Sex>(s).unwrap_or_else(|| {
                    bad("victim_sex", format!("unknown value {s:?}"));
                    Sex::Unknown
                }),
            };
            let age = match ages.get(k).map(String::as_str) {
                None | Some("unknown") => Age::Unknown,
                Some(a) => match a.parse::<i64>() {
                    Ok(y) if (0..=18).contains(&y) => Age::Years(y as u8),
                    Ok(y) => {
                        bad("victim_age", format!("age {y} is not a child's (0..=18)"));
                        Age::Unknown
                    }
                    Err(_) => match parse_enum::<AgeBand>(a) {
                        Some(b) => Age::Band(b),
                        None => {
                            bad("victim_age", format!("not an age or band: {a:?}"));
                            Age::Unknown
                        }
                    },
                },
            };
            let relationships = abusers
                .iter()
                .enumerate()
                .map(|(i, a)| (i, a.category))
                .collect();
            victims.push(Victim {
                pid: format!("{id}-V{}", k + 1),
                sex,
                age,
                relationships,
            });
        }
        let mut identifiers = Vec::new();
        let outlet = get("outlet").unwrap_or_default();
        for item in list("identifiers") {
            match item
                .split_once(':')
                .and_then(|(k, v)| Some((IdentifierKind::parse(k)?, v)))
            {
                Some((kind, v)) => identifiers.push(Identifier::new(kind, v, &outlet)),
                None => bad(
                    "identifiers",
                    format!("not kind:value with a known kind: {item:?}"),
                ),
            }
        }
        let (Some(date), Some(report_date)) = (date, report_date) else {
            report.errors.extend(errs);
            continue;
        };
        let inc = Incident {
            id: id.clone(),
            taxonomy: mapping.taxonomy.clone(),
            sources: vec![Source {
                outlet,
                date: report_date,
                link: get("link"),
            }],
            date,
            category: get("category").unwrap_or_default(),
            subtype: get("subtype"),
            flags,
            place,
            area: Area {
                province: get("province").unwrap_or_default(),
                district: get("district").unwrap_or_default(),
                tehsil: get("tehsil"),
                locality,
                point: None,
            },
            reported_to_police: reported,
            case_registered: registered,
            stage,
            victims,
            abusers,
            identifiers,
        };
        errs.extend(validate_incident(row, &inc, taxonomies, areas, today));
        if errs.is_empty() {
            report.incidents.push(inc);
        } else {
            report.errors.extend(errs);
        }
    }
    tracing::info!(
        rows = report.rows,
        imported = report.incidents.len(),
        errors = report.errors.len(),
        "import checked"
    );
    if mode == Mode::AllOrNothing && !report.errors.is_empty() {
        return Err(Error::Rows(report.errors));
    }
    Ok(report)
}

fn map_value(mapping: &Mapping, field: &str, raw: &str) -> String {
    mapping
        .values
        .get(field)
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(raw.trim()))
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| raw.to_string())
}

fn code<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Writes incidents as a register CSV in the intake's own layout: a header of the field names
/// ([`FIELDS`]) and one row per incident, read back by [`import`] with [`Mapping::canonical`].
///
/// The layout holds what a spreadsheet row holds: one source (the first), victims' sex and
/// age, abusers' categories (every victim related to every abuser by the abuser's category),
/// identifiers as `kind:value`; not points, identifier confidence or further sources. It is the
/// demo's register and the import benchmark's input, not an export of records (those are
/// encrypted: `vigil cases export`). All incidents must be in one taxonomy; a value holding the
/// list separator `;` is refused, as it could not be read back.
pub fn write_register_csv<W: std::io::Write>(out: W, incidents: &[Incident]) -> Result<()> {
    let what = "register CSV";
    let err = |source| Error::Csv {
        what: what.into(),
        source,
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(FIELDS).map_err(err)?;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    for inc in incidents {
        if let Some(other) = incidents.first().filter(|f| f.taxonomy != inc.taxonomy) {
            return Err(Error::Mapping {
                what: format!("incident {}", inc.id),
                problem: format!(
                    "taxonomy {} differs from {} of the first incident: a register has one",
                    inc.taxonomy, other.taxonomy
                ),
            });
        }
        let list = |field: &str, items: Vec<String>| -> Result<String> {
            if let Some(bad) = items.iter().find(|s| s.contains(';')) {
                return Err(Error::Mapping {
                    what: format!("incident {} field {field}", inc.id),
                    problem: format!("{bad:?} holds the list separator ';'"),
                });
            }
            Ok(items.join(";"))
        };
        let src = inc.sources.first();
        let victims_sex = list(
            "victim_sex",
            inc.victims.iter().map(|v| code(&v.sex)).collect(),
        )?;
        let victims_age = list(
            "victim_age",
            inc.victims
                .iter()
                .map(|v| match v.age {
                    Age::Years(y) => y.to_string(),
                    Age::Band(b) => code(&b),
                    Age::Unknown => "unknown".into(),
                })
                .collect(),
        )?;
        let abusers = list(
            "abuser_category",
            inc.abusers.iter().map(|a| code(&a.category)).collect(),
        )?;
        let identifiers = list(
            "identifiers",
            inc.identifiers
                .iter()
                .map(|i| format!("{}:{}", i.kind.name(), i.value))
                .collect(),
        )?;
        let row: Vec<String> = FIELDS
            .iter()
            .map(|f| match *f {
                "id" => inc.id.clone(),
                "date" => inc.date.to_string(),
                "category" => inc.category.clone(),
                "subtype" => inc.subtype.clone().unwrap_or_default(),
                "province" => inc.area.province.clone(),
                "district" => inc.area.district.clone(),
                "tehsil" => inc.area.tehsil.clone().unwrap_or_default(),
                "locality" => code(&inc.area.locality),
                "place" => code(&inc.place),
                "outlet" => src.map(|s| s.outlet.clone()).unwrap_or_default(),
                "report_date" => src.map(|s| s.date.to_string()).unwrap_or_default(),
                "link" => src.and_then(|s| s.link.clone()).unwrap_or_default(),
                "reported_to_police" => code(&inc.reported_to_police),
                "case_registered" => code(&inc.case_registered),
                "stage" => inc.stage.as_ref().map(code).unwrap_or_default(),
                "victim_sex" => victims_sex.clone(),
                "victim_age" => victims_age.clone(),
                "abuser_category" => abusers.clone(),
                "identifiers" => identifiers.clone(),
                "abducted_then_abused" => yes_no(inc.flags.abducted_then_abused).into(),
                "murdered" => yes_no(inc.flags.murdered).into(),
                "recorded_online" => yes_no(inc.flags.recorded_online).into(),
                "extortion" => yes_no(inc.flags.extortion).into(),
                _ => String::new(),
            })
            .collect();
        w.write_record(&row).map_err(err)?;
    }
    w.flush().map_err(|source| Error::Write {
        what: what.into(),
        source,
    })
}
