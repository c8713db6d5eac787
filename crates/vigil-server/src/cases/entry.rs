//! Manual entry of a whole incident (`POST /api/v1/cases/incidents`, the page `/ui/cases/new`),
//! duplicate detection at entry, and adding a report to an existing incident
//! (`POST /api/v1/cases/incidents/{reference}/sources`).
//!
//! An entry is parsed here field by field, every problem kept with its path (`victims[1].age`,
//! `abusers[0].category`, `sources[0].date`), then checked by `vigil_cases::validate` against the
//! built-in taxonomies and the stored areas; nothing is saved while any problem remains. Before
//! saving, the incident is compared with every incident in the caller's scope by the rule of
//! `vigil_cases::dedup` (same district, category, subtype and victims, dates within two days,
//! different outlets): candidates are answered with 409 and why each matched, unless the entry
//! says `force_new`. The candidates carry reference, date, area, category, outlets and reasons,
//! never an identifier or a point.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt::Write as _;
use vigil_cases::dedup::{DedupOptions, explain_match};
use vigil_cases::model::{
    Abuser, AbuserCategory, Age, Area, CaseStage, Date, Flags, Identifier, IdentifierKind,
    Incident, PartialDate, PlaceType, Point, Sex, Source, Tri, Victim,
};
use vigil_store::SourceAdded;

use super::{Caller, audit, caller, cases_menu, load, page};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use crate::ui::{UiSession, escape};

const ENTRY_FORM: &str = include_str!("../ui/cases_entry.html");

/// The most victims, abusers or identifiers in one entry.
pub const MAX_ENTRY_LIST: usize = 200;
/// The most sources in one entry.
pub const MAX_SOURCES: usize = 50;
/// The longest outlet or identifier source, in bytes.
pub const MAX_OUTLET: usize = 200;
/// The longest link, in bytes.
pub const MAX_LINK: usize = 2000;
/// The longest identifier value, in bytes.
pub const MAX_VALUE: usize = 1000;
/// The longest abuser age band, in bytes.
pub const MAX_AGE_BAND: usize = 20;

/// A source as entered.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EntrySource {
    outlet: String,
    date: String,
    link: String,
}

/// A victim's relationship to one abuser of the entry.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EntryRelationship {
    /// Index into the entry's `abusers`.
    abuser: Option<usize>,
    category: String,
}

/// A victim as entered.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EntryVictim {
    sex: String,
    /// Years (number or text), an age band (`6-10`) or `unknown`.
    age: Value,
    relationships: Vec<EntryRelationship>,
}

/// An abuser as entered.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EntryAbuser {
    sex: String,
    age_band: String,
    juvenile: bool,
    category: String,
}

/// An identifier as entered.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EntryIdentifier {
    kind: String,
    value: String,
    source: String,
    /// 0..=1 (number or text); 1 when absent.
    confidence: Value,
    first_seen: String,
    last_seen: String,
}

/// The optional point, degrees as numbers or text.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EntryPoint {
    lat: Value,
    lon: Value,
}

/// The flags, each false when absent.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EntryFlags {
    abducted_then_abused: bool,
    murdered: bool,
    recorded_online: bool,
    extortion: bool,
}

/// An incident as the entry form sends it: text fields, parsed here with an error per field.
/// `outlet`, `report_date` and `link` are the first API's single source, still accepted in place
/// of `sources`.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Entry {
    id: String,
    taxonomy: String,
    date: String,
    category: String,
    subtype: String,
    province: String,
    district: String,
    tehsil: String,
    locality: String,
    point: Option<EntryPoint>,
    place: String,
    reported_to_police: String,
    case_registered: String,
    stage: String,
    sources: Vec<EntrySource>,
    outlet: String,
    report_date: String,
    link: String,
    flags: EntryFlags,
    victims: Vec<EntryVictim>,
    abusers: Vec<EntryAbuser>,
    identifiers: Vec<EntryIdentifier>,
    force_new: bool,
}

/// A parsed entry.
struct Parsed {
    incident: Incident,
    force_new: bool,
    /// The source came as `outlet`/`report_date`/`link` (errors are named so).
    flat_source: bool,
}

type Errors = Vec<(String, String)>;

pub(super) fn field_errors(errs: &[(String, String)]) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body: json!({
            "message": if errs.len() == 1 {
                "the incident has an error".to_string()
            } else {
                format!("the incident has {} errors", errs.len())
            },
            "errors": errs.iter().map(|(f, p)| json!({"field": f, "problem": p})).collect::<Vec<_>>(),
        }),
    }
}

fn enum_of<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(s.trim().to_string())).ok()
}

/// A number or text as trimmed text (`""` for null); `None` for anything else.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A finite number from a number or text; `Ok(None)` when empty.
fn number_of(v: &Value) -> Result<Option<f64>, String> {
    let t = text_of(v).ok_or_else(|| format!("{v} is not a number"))?;
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Some(x)),
        _ => Err(format!("{t:?} is not a number")),
    }
}

fn unknown_value(errs: &mut Errors, field: String, v: &str, ok: bool) {
    if !ok {
        errs.push((field, format!("unknown value {:?}", v.trim())));
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Checks a source's text fields (`prefix` is `sources[i].` or empty), keeping each problem;
/// an empty date is `default_date` (`None`: required).
fn source_of(
    errs: &mut Errors,
    (outlet_field, date_field, link_field): (&str, &str, &str),
    s: &EntrySource,
    default_date: Option<Date>,
) -> Option<Source> {
    let before = errs.len();
    let outlet = s.outlet.trim();
    if outlet.is_empty() {
        errs.push((outlet_field.into(), "required".into()));
    } else if outlet.len() > MAX_OUTLET {
        errs.push((
            outlet_field.into(),
            format!("{} bytes, at most {MAX_OUTLET}", outlet.len()),
        ));
    } else if has_control(outlet) {
        errs.push((outlet_field.into(), "contains control characters".into()));
    }
    let date = match s.date.trim() {
        "" => {
            if default_date.is_none() {
                errs.push((date_field.into(), "required (YYYY-MM-DD)".into()));
            }
            default_date
        }
        d => {
            let parsed = Date::parse(d);
            if parsed.is_none() {
                errs.push((date_field.into(), format!("{d:?} is not a date YYYY-MM-DD")));
            }
            parsed
        }
    };
    let link = s.link.trim();
    if link.len() > MAX_LINK {
        errs.push((
            link_field.into(),
            format!("{} bytes, at most {MAX_LINK}", link.len()),
        ));
    } else if has_control(link) {
        errs.push((link_field.into(), "contains control characters".into()));
    } else if let Some((scheme, _)) = link.split_once(':') {
        let lower = scheme.to_ascii_lowercase();
        let is_scheme = scheme.len() >= 2 && scheme.chars().all(|c| c.is_ascii_alphabetic());
        if is_scheme && lower != "http" && lower != "https" {
            errs.push((
                link_field.into(),
                format!(
                    "a {lower}: link; only http and https links (or a clipping reference \
                     without a colon)"
                ),
            ));
        }
    }
    if errs.len() > before {
        return None;
    }
    Some(Source {
        outlet: outlet.to_string(),
        date: date?,
        link: Some(link.to_string()).filter(|l| !l.is_empty()),
    })
}

/// The incident an entry describes, or every problem by field.
fn incident_of(e: &Entry, actor: &str, today: Date) -> Result<Parsed, Errors> {
    let mut errs: Errors = Vec::new();
    for (field, v) in [
        ("id", &e.id),
        ("taxonomy", &e.taxonomy),
        ("date", &e.date),
        ("category", &e.category),
        ("province", &e.province),
        ("district", &e.district),
    ] {
        if v.trim().is_empty() {
            errs.push((field.into(), "required".into()));
        }
    }
    if e.id.trim().len() > 100 || has_control(&e.id) {
        errs.push((
            "id".into(),
            "at most 100 bytes, no control characters".into(),
        ));
    }
    let or_unknown = |s: &str| {
        if s.trim().is_empty() {
            "unknown".to_string()
        } else {
            s.trim().to_string()
        }
    };
    let date = PartialDate::parse(&e.date);
    if date.is_none() && !e.date.trim().is_empty() {
        errs.push((
            "date".into(),
            format!("{:?} is not YYYY, YYYY-MM or YYYY-MM-DD", e.date),
        ));
    }
    let locality = enum_of(&or_unknown(&e.locality));
    unknown_value(
        &mut errs,
        "locality".into(),
        &e.locality,
        locality.is_some(),
    );
    let place: Option<PlaceType> = enum_of(&or_unknown(&e.place));
    unknown_value(&mut errs, "place".into(), &e.place, place.is_some());
    let reported: Option<Tri> = enum_of(&or_unknown(&e.reported_to_police));
    unknown_value(
        &mut errs,
        "reported_to_police".into(),
        &e.reported_to_police,
        reported.is_some(),
    );
    let registered: Option<Tri> = enum_of(&or_unknown(&e.case_registered));
    unknown_value(
        &mut errs,
        "case_registered".into(),
        &e.case_registered,
        registered.is_some(),
    );
    let stage: Option<CaseStage> = match e.stage.trim() {
        "" => None,
        s => {
            let v = enum_of(s);
            unknown_value(&mut errs, "stage".into(), s, v.is_some());
            v
        }
    };
    let point = match &e.point {
        None => None,
        Some(p) => match (number_of(&p.lat), number_of(&p.lon)) {
            (Ok(None), Ok(None)) => None,
            (Ok(Some(lat)), Ok(Some(lon))) => Some(Point { lat, lon }),
            (lat, lon) => {
                for (field, r) in [("point.lat", lat), ("point.lon", lon)] {
                    match r {
                        Err(problem) => errs.push((field.into(), problem)),
                        Ok(None) => {
                            errs.push((field.into(), "required with the other coordinate".into()))
                        }
                        Ok(Some(_)) => {}
                    }
                }
                None
            }
        },
    };
    for (what, n, max) in [
        ("sources", e.sources.len(), MAX_SOURCES),
        ("victims", e.victims.len(), MAX_ENTRY_LIST),
        ("abusers", e.abusers.len(), MAX_ENTRY_LIST),
        ("identifiers", e.identifiers.len(), MAX_ENTRY_LIST),
    ] {
        if n > max {
            errs.push((what.into(), format!("{n} entries, at most {max}")));
        }
    }
    // Sources: the list, or the first API's single flat source.
    let flat = [&e.outlet, &e.report_date, &e.link]
        .iter()
        .any(|v| !v.trim().is_empty());
    let mut sources = Vec::new();
    if flat && !e.sources.is_empty() {
        errs.push((
            "sources".into(),
            "give sources: [{outlet, date, link}] or outlet, report_date and link, not both".into(),
        ));
    } else if flat {
        let s = EntrySource {
            outlet: e.outlet.clone(),
            date: e.report_date.clone(),
            link: e.link.clone(),
        };
        sources.extend(source_of(
            &mut errs,
            ("outlet", "report_date", "link"),
            &s,
            Some(today),
        ));
    } else if e.sources.is_empty() {
        errs.push((
            "sources".into(),
            "at least one source (outlet and report date) is required".into(),
        ));
    } else {
        for (i, s) in e.sources.iter().take(MAX_SOURCES).enumerate() {
            let f = |k: &str| format!("sources[{i}].{k}");
            sources.extend(source_of(
                &mut errs,
                (&f("outlet"), &f("date"), &f("link")),
                s,
                None,
            ));
        }
    }
    let id = e.id.trim();
    let mut abusers = Vec::new();
    for (i, a) in e.abusers.iter().take(MAX_ENTRY_LIST).enumerate() {
        let sex: Option<Sex> = enum_of(&or_unknown(&a.sex));
        unknown_value(
            &mut errs,
            format!("abusers[{i}].sex"),
            &a.sex,
            sex.is_some(),
        );
        let category: Option<AbuserCategory> = enum_of(&or_unknown(&a.category));
        unknown_value(
            &mut errs,
            format!("abusers[{i}].category"),
            &a.category,
            category.is_some(),
        );
        let band = a.age_band.trim();
        if band.len() > MAX_AGE_BAND || has_control(band) {
            errs.push((
                format!("abusers[{i}].age_band"),
                format!("at most {MAX_AGE_BAND} bytes of text such as 19-30"),
            ));
        } else if a.juvenile
            && let Some(low) = band
                .split(['-', '+'])
                .next()
                .and_then(|l| l.trim().parse::<u32>().ok())
            && low >= 18
        {
            errs.push((
                format!("abusers[{i}].juvenile"),
                format!("juvenile (under 18) but the age band is {band}"),
            ));
        }
        if let (Some(sex), Some(category)) = (sex, category) {
            abusers.push(Abuser {
                pid: format!("{id}-A{}", i + 1),
                sex,
                age_band: Some(band.to_string()).filter(|b| !b.is_empty()),
                juvenile: a.juvenile,
                category,
            });
        }
    }
    let n_abusers = e.abusers.len();
    let mut victims = Vec::new();
    for (i, v) in e.victims.iter().take(MAX_ENTRY_LIST).enumerate() {
        let sex: Option<Sex> = enum_of(&or_unknown(&v.sex));
        unknown_value(
            &mut errs,
            format!("victims[{i}].sex"),
            &v.sex,
            sex.is_some(),
        );
        let age = match text_of(&v.age).as_deref() {
            Some("" | "unknown") => Some(Age::Unknown),
            Some(a) => match a.parse::<u8>() {
                Ok(y) => Some(Age::Years(y)),
                Err(_) => enum_of(a).map(Age::Band),
            },
            None => None,
        };
        if age.is_none() {
            errs.push((
                format!("victims[{i}].age"),
                format!("{} is not an age in years or an age band", v.age),
            ));
        }
        if v.relationships.len() > MAX_ENTRY_LIST {
            errs.push((
                format!("victims[{i}].relationships"),
                format!(
                    "{} entries, at most {MAX_ENTRY_LIST}",
                    v.relationships.len()
                ),
            ));
        }
        let mut relationships: Vec<(usize, AbuserCategory)> = Vec::new();
        for (j, r) in v.relationships.iter().take(MAX_ENTRY_LIST).enumerate() {
            let field = |k: &str| format!("victims[{i}].relationships[{j}].{k}");
            let category: Option<AbuserCategory> = enum_of(&or_unknown(&r.category));
            unknown_value(
                &mut errs,
                field("category"),
                &r.category,
                category.is_some(),
            );
            match r.abuser {
                None => errs.push((field("abuser"), "required (the abuser's index)".into())),
                Some(a) if a >= n_abusers => errs.push((
                    field("abuser"),
                    format!("abuser {a} does not exist ({n_abusers} abusers, from 0)"),
                )),
                Some(a) if relationships.iter().any(|(x, _)| *x == a) => errs.push((
                    field("abuser"),
                    format!("a second relationship to abuser {a}"),
                )),
                Some(a) => {
                    if let Some(c) = category {
                        relationships.push((a, c));
                    }
                }
            }
        }
        if let (Some(sex), Some(age)) = (sex, age) {
            victims.push(Victim {
                pid: format!("{id}-V{}", i + 1),
                sex,
                age,
                relationships,
            });
        }
    }
    let mut identifiers = Vec::new();
    for (i, x) in e.identifiers.iter().take(MAX_ENTRY_LIST).enumerate() {
        let field = |k: &str| format!("identifiers[{i}].{k}");
        let before = errs.len();
        let kind = IdentifierKind::parse(&x.kind);
        if kind.is_none() {
            errs.push((field("kind"), format!("unknown kind {:?}", x.kind.trim())));
        }
        let value = x.value.trim();
        if value.is_empty() {
            errs.push((field("value"), "required".into()));
        } else if value.len() > MAX_VALUE {
            errs.push((field("value"), format!("longer than {MAX_VALUE} bytes")));
        } else if let Some(k) = kind
            && k.normalise(value).is_empty()
        {
            errs.push((
                field("value"),
                format!(
                    "{value:?} is not a {} (nothing left once normalised)",
                    k.name()
                ),
            ));
        }
        let source = x.source.trim();
        if source.len() > MAX_OUTLET || has_control(source) {
            errs.push((
                field("source"),
                format!("at most {MAX_OUTLET} bytes, no control characters"),
            ));
        }
        let confidence = match number_of(&x.confidence) {
            Ok(None) => Some(1.0),
            Ok(Some(c)) if (0.0..=1.0).contains(&c) => Some(c as f32),
            Ok(Some(c)) => {
                errs.push((field("confidence"), format!("{c} is outside 0..=1")));
                None
            }
            Err(p) => {
                errs.push((field("confidence"), p));
                None
            }
        };
        let mut seen = |k: &str, v: &str| match v.trim() {
            "" => None,
            d => {
                let parsed = Date::parse(d);
                if parsed.is_none() {
                    errs.push((field(k), format!("{d:?} is not a date YYYY-MM-DD")));
                }
                parsed
            }
        };
        let first_seen = seen("first_seen", &x.first_seen);
        let last_seen = seen("last_seen", &x.last_seen);
        if errs.len() > before {
            continue;
        }
        if let (Some(k), Some(confidence)) = (kind, confidence) {
            identifiers.push(Identifier {
                kind: k,
                value: k.normalise(value),
                source: if source.is_empty() {
                    actor.to_string()
                } else {
                    source.to_string()
                },
                confidence,
                first_seen,
                last_seen,
            });
        }
    }
    let (Some(date), Some(locality), Some(place), Some(reported), Some(registered)) =
        (date, locality, place, reported, registered)
    else {
        return Err(errs);
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(Parsed {
        incident: Incident {
            id: id.into(),
            taxonomy: e.taxonomy.trim().into(),
            sources,
            date,
            category: e.category.trim().into(),
            subtype: opt(&e.subtype),
            flags: Flags {
                abducted_then_abused: e.flags.abducted_then_abused,
                murdered: e.flags.murdered,
                recorded_online: e.flags.recorded_online,
                extortion: e.flags.extortion,
            },
            place,
            area: Area {
                province: e.province.trim().into(),
                district: e.district.trim().into(),
                tehsil: opt(&e.tehsil),
                locality,
                point,
            },
            reported_to_police: reported,
            case_registered: registered,
            stage,
            victims,
            abusers,
            identifiers,
        },
        force_new: e.force_new,
        flat_source: flat,
    })
}

fn parse(body: &[u8], actor: &str, today: Date) -> Result<Parsed, Errors> {
    let entry: Entry = serde_json::from_slice(body)
        .map_err(|e| vec![("body".to_string(), format!("not an incident entry: {e}"))])?;
    incident_of(&entry, actor, today)
}

/// Parses a manual entry (the JSON body of `POST /api/v1/cases/incidents`) into an incident:
/// every problem as `(field, problem)`, never the first only. The taxonomy and area checks
/// (`vigil_cases::validate`) come after, in the handler.
pub fn parse_entry(body: &[u8], actor: &str, today: Date) -> Result<Incident, Errors> {
    parse(body, actor, today).map(|p| p.incident)
}

fn today() -> Date {
    Date::from_days(now_ms().div_euclid(86_400_000))
}

/// The field of the entry a `vigil_cases::validate` error names: `area.district` is the
/// entry's `district`, and with a flat source `sources[0].date` is its `report_date`.
fn entry_field(field: &str, flat_source: bool) -> String {
    let f = field.strip_prefix("area.").unwrap_or(field);
    if flat_source {
        match f {
            "sources[0].outlet" => return "outlet".into(),
            "sources[0].date" => return "report_date".into(),
            "sources[0].link" => return "link".into(),
            _ => {}
        }
    }
    f.to_string()
}

/// A duplicate candidate as answered: nothing masked, no identifier, no point.
fn candidate_json(existing: &Incident, why: Vec<String>) -> Value {
    let mut outlets: Vec<&str> = Vec::new();
    for s in &existing.sources {
        if !outlets.contains(&s.outlet.as_str()) {
            outlets.push(&s.outlet);
        }
    }
    json!({
        "id": existing.id,
        "date": existing.date.to_string(),
        "category": existing.category,
        "subtype": existing.subtype,
        "province": existing.area.province,
        "district": existing.area.district,
        "outlets": outlets,
        "sources": existing.sources.len(),
        "why": why,
    })
}

/// The incidents in the caller's scope that `inc` duplicates, by `vigil_cases::dedup`'s rule.
async fn duplicates_of(
    state: &AppState,
    c: &Caller,
    inc: &Incident,
) -> Result<Vec<Value>, ApiError> {
    let opts = DedupOptions::default();
    Ok(load(state, c)
        .await?
        .iter()
        .filter_map(|x| explain_match(x, inc, &opts).map(|why| candidate_json(x, why)))
        .collect())
}

pub(super) async fn entry_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    c.need_analyst()?;
    let today = today();
    let Parsed {
        incident: inc,
        force_new,
        flat_source,
    } = parse(&body, &c.who.name, today).map_err(|e| field_errors(&e))?;
    if !c.sees(&inc) {
        return Err(field_errors(&[(
            "district".into(),
            format!(
                "{} ({}) is outside your record scope",
                inc.area.district, inc.area.province
            ),
        )]));
    }
    let areas = state.store().case_areas().await?;
    if areas.districts.is_empty() {
        return Err(field_errors(&[(
            "district".into(),
            "no area hierarchy is loaded (an admin loads it with PUT /api/v1/cases/areas)".into(),
        )]));
    }
    let taxonomies = vigil_cases::Taxonomies::builtin();
    let errs = vigil_cases::validate::validate_incident(1, &inc, &taxonomies, &areas, today);
    if !errs.is_empty() {
        let errs: Errors = errs
            .into_iter()
            .map(|e| (entry_field(&e.field, flat_source), e.problem))
            .collect();
        return Err(field_errors(&errs));
    }
    if state.store().case_incident_exists(&inc.id).await? {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            body: json!({"message": format!("incident {} exists", inc.id),
                         "errors": [{"field": "id", "problem": "an incident with this id exists"}]}),
        });
    }
    let candidates = duplicates_of(&state, &c, &inc).await?;
    let refs: Vec<&Value> = candidates.iter().map(|k| &k["id"]).collect();
    if !candidates.is_empty() && !force_new {
        // The candidates are case records shown to the caller: audited as a read.
        audit(
            &state,
            &c,
            "cases.entry.duplicates",
            json!({"incident": inc.id, "candidates": refs}),
        )
        .await?;
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            body: json!({
                "message": format!(
                    "{} may already be registered: {} candidate{} (add this report as a source \
                     of one, or send force_new: true)",
                    inc.id,
                    candidates.len(),
                    if candidates.len() == 1 { "" } else { "s" }
                ),
                "duplicates": candidates,
            }),
        });
    }
    state
        .store()
        .save_incidents(std::slice::from_ref(&inc), &c.who.name)
        .await?;
    audit(
        &state,
        &c,
        "cases.entry",
        json!({"incident": inc.id, "force_new": force_new, "duplicates": refs}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": inc.id, "duplicates": refs})),
    )
        .into_response())
}

/// `POST /api/v1/cases/incidents/{reference}/sources`: one more report of a registered incident.
pub(super) async fn add_source_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Path(reference): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    c.need_analyst()?;
    let Some(inc) = load(&state, &c)
        .await?
        .into_iter()
        .find(|i| i.id == reference)
    else {
        return Err(ApiError::not_found(format!("no incident {reference}")));
    };
    let s: EntrySource = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("a source is {{outlet, date, link}}: {e}")))?;
    let mut errs = Vec::new();
    let source = source_of(&mut errs, ("outlet", "date", "link"), &s, None);
    if let Some(src) = &source {
        if src.date > today() {
            errs.push((
                "date".into(),
                format!("report date {} is in the future", src.date),
            ));
        }
        if let Some(d) = inc.date.date()
            && src.date < d
        {
            errs.push((
                "date".into(),
                format!("report date {} before the incident date {d}", src.date),
            ));
        }
    }
    let (Some(src), true) = (source, errs.is_empty()) else {
        return Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({
                "message": "the source has errors",
                "errors": errs.iter().map(|(f, p)| json!({"field": f, "problem": p})).collect::<Vec<_>>(),
            }),
        });
    };
    match state
        .store()
        .add_case_source(&inc.id, &src, &c.who.name)
        .await?
    {
        SourceAdded::Added { sources } => Ok((
            StatusCode::CREATED,
            Json(json!({"incident": inc.id, "sources": sources, "source": src})),
        )
            .into_response()),
        SourceAdded::Duplicate => Err(ApiError {
            status: StatusCode::CONFLICT,
            body: json!({
                "message": format!("{} already has this source ({}, {})", inc.id, src.outlet, src.date),
                "errors": [{"field": "outlet", "problem": "the incident has a source with this outlet, date and link"}],
            }),
        }),
        SourceAdded::NoIncident => Err(ApiError::not_found(format!("no incident {reference}"))),
    }
}

pub(super) async fn entry_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
) -> Response {
    page(&state, who, session, "/ui/cases/new", async |c: &Caller| {
        c.need_analyst()?;
        let mut b = cases_menu(c);
        b.push_str(ENTRY_FORM);
        Ok(("New incident".to_string(), b))
    })
    .await
}

fn code<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The incident page's details beyond the summary: flags, police, area, victims with their
/// relationships, abusers (as text; never the point).
pub(super) fn details_html(inc: &Incident) -> String {
    let mut b = String::from("<table class=\"kv\" id=\"details\">");
    let row = |b: &mut String, id: &str, k: &str, v: &str| {
        let _ = write!(
            b,
            "<tr><th>{}</th><td id=\"{id}\">{}</td></tr>",
            escape(k),
            escape(v)
        );
    };
    let f = &inc.flags;
    let flags: Vec<&str> = [
        (f.abducted_then_abused, "abducted then abused"),
        (f.murdered, "murdered"),
        (f.recorded_online, "recorded or shared online"),
        (f.extortion, "extortion"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    row(
        &mut b,
        "d-flags",
        "Flags",
        &if flags.is_empty() {
            "—".to_string()
        } else {
            flags.join(", ")
        },
    );
    row(
        &mut b,
        "d-tehsil",
        "Tehsil",
        inc.area.tehsil.as_deref().unwrap_or("—"),
    );
    row(&mut b, "d-locality", "Locality", &code(inc.area.locality));
    row(
        &mut b,
        "d-reported",
        "Reported to police",
        &code(inc.reported_to_police),
    );
    row(
        &mut b,
        "d-registered",
        "Case registered",
        &code(inc.case_registered),
    );
    row(
        &mut b,
        "d-stage",
        "Stage",
        &inc.stage.map(code).unwrap_or_else(|| "—".into()),
    );
    b.push_str("</table>");
    if !inc.victims.is_empty() {
        b.push_str(
            "<h2>Victims</h2><table id=\"victims\"><thead><tr><th>Victim</th><th>Sex</th>\
             <th>Age</th><th>Relationships</th></tr></thead><tbody>",
        );
        for v in &inc.victims {
            let age = match v.age {
                Age::Years(y) => y.to_string(),
                Age::Band(band) => code(band),
                Age::Unknown => "unknown".into(),
            };
            let rel: Vec<String> = v
                .relationships
                .iter()
                .map(|(a, c)| {
                    let pid = inc.abusers.get(*a).map_or("?", |x| x.pid.as_str());
                    format!("{} of {pid}", code(c))
                })
                .collect();
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&v.pid),
                escape(&code(v.sex)),
                escape(&age),
                escape(&rel.join("; "))
            );
        }
        b.push_str("</tbody></table>");
    }
    if !inc.abusers.is_empty() {
        b.push_str(
            "<h2>Abusers</h2><table id=\"abusers\"><thead><tr><th>Abuser</th><th>Sex</th>\
             <th>Age band</th><th>Juvenile</th><th>Category</th></tr></thead><tbody>",
        );
        for a in &inc.abusers {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.pid),
                escape(&code(a.sex)),
                escape(a.age_band.as_deref().unwrap_or("—")),
                if a.juvenile { "yes" } else { "no" },
                escape(&code(a.category))
            );
        }
        b.push_str("</tbody></table>");
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn fields(r: Result<Parsed, Errors>) -> Vec<String> {
        match r {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|(f, _)| f).collect(),
        }
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let body = json!({
            "id": "M-1", "taxonomy": "sahil-2022", "date": "2022-02-03", "category": "csa",
            "province": "NM", "district": "NM01", "stage": "jail",
            "point": {"lat": "north", "lon": ""},
            "sources": [{"outlet": "Herald", "date": "2022-02-04"},
                        {"outlet": " ", "date": "2022-02-31", "link": "javascript:alert(1)"}],
            "victims": [{"sex": "female", "age": 9},
                        {"sex": "x", "age": "old",
                         "relationships": [{"abuser": 0, "category": "cousin"},
                                           {"abuser": 3, "category": "relative"}]}],
            "abusers": [{"sex": "male", "category": "boss", "age_band": "19-30", "juvenile": true}],
            "identifiers": [{"kind": "phone", "value": "+99 1", "confidence": 1.5},
                            {"kind": "pager", "value": "1"},
                            {"kind": "phone", "value": "---", "first_seen": "yesterday"}],
        });
        let got = fields(parse(body.to_string().as_bytes(), "a", day("2024-01-01")));
        let want = [
            "stage",
            "point.lat",
            "point.lon",
            "sources[1].outlet",
            "sources[1].date",
            "sources[1].link",
            "abusers[0].category",
            "abusers[0].juvenile",
            "victims[1].sex",
            "victims[1].age",
            "victims[1].relationships[0].category",
            "victims[1].relationships[1].abuser",
            "identifiers[0].confidence",
            "identifiers[1].kind",
            "identifiers[2].value",
            "identifiers[2].first_seen",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn the_first_apis_flat_source_is_still_accepted() {
        let body = json!({"id": "M-1", "taxonomy": "sahil-2022", "date": "2022-02-03",
            "category": "abduction", "province": "NM", "district": "NM01",
            "outlet": "Valley Herald", "victims": [{"sex": "female", "age": "9"}]});
        let p = parse(body.to_string().as_bytes(), "a", day("2024-01-01")).unwrap();
        assert!(p.flat_source);
        assert_eq!(
            p.incident.sources,
            vec![Source {
                outlet: "Valley Herald".into(),
                date: day("2024-01-01"),
                link: None
            }]
        );
        assert_eq!(p.incident.victims[0].age, Age::Years(9));
        assert_eq!(entry_field("sources[0].date", true), "report_date");
        assert_eq!(entry_field("sources[0].date", false), "sources[0].date");
        assert_eq!(entry_field("area.tehsil", false), "tehsil");
        // Both forms at once, or neither: refused on `sources`.
        let mut both = body.clone();
        both["sources"] = json!([{"outlet": "x", "date": "2022-02-04"}]);
        let got = fields(parse(both.to_string().as_bytes(), "a", day("2024-01-01")));
        assert_eq!(got, ["sources"]);
        let mut none = body;
        none["outlet"] = json!("");
        let got = fields(parse(none.to_string().as_bytes(), "a", day("2024-01-01")));
        assert_eq!(got, ["sources"]);
    }
}
