//! The case map: `GET /api/v1/cases/map` (GeoJSON) and its page `/ui/cases/map` (Leaflet,
//! embedded in the binary; `ui/cases_map.js`).
//!
//! The answer is a GeoJSON `FeatureCollection` of the imported boundaries of one level that lie
//! in the caller's record scope, each area with its incident and victim counts over a period
//! (`from`/`to`, `YYYY` or `YYYY-MM`) and category, its rate of detected victims per 100,000 per
//! year where population figures are imported, and its Getis-Ord Gi* z, p and hot/cold class
//! over the areas shown. All the statistics are `vigil_cases`' (`population`, `hotspot`,
//! `stats::suppress`, `displace`); this module picks the incidents, applies the access model and
//! shapes the answer.
//!
//! **Who sees what** (on top of the route roles; `docs/cases.md` has the table):
//!
//! * every caller sees only the areas of its record scope (an area is in scope when it, or a
//!   province or district above it, is) and counts of the incidents in that scope;
//! * a *viewer* gets small-number suppression: an area whose incident or victim count is
//!   between 1 and k − 1 (k ≥ [`MIN_K`] whatever is asked) is `suppressed` (every number of it
//!   withheld: counts, rate, Gi*), plus the secondary suppression of `stats::suppress` so that no
//!   withheld count follows from the published totals; of Gi* a viewer gets the class only,
//!   never z or p (with the neighbours' z-scores a withheld count could be solved for); and
//!   periods of whole years only (months would let counts be differenced more finely);
//! * an *analyst* (admin, curator) gets everything unsuppressed (unless it asks for `k`, to see
//!   what a viewer would), and with `points=1` one point per incident: **displaced**, never
//!   exact, by `vigil_cases::displace` keyed with the server's persistent displacement key
//!   ([`DISPLACE_SECRET`], kept in the store: a key that changed with every process would let
//!   repeated publications be averaged back to the true place), with its reference, date and
//!   category only;
//! * matchers get nothing (the middleware refuses them), viewers asking for points get 403.
//!
//! Every answer (API or page) is audited as `cases.map.read` before it is sent, with the
//! filters and whether points went out; reading the incidents is audited by the store too
//! (`cases.read`, with `points: true` when the exact points were read to be displaced).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};
use vigil_cases::Incident;
use vigil_cases::areas::{Areas, Population};
use vigil_cases::displace::{self, DisplaceKey};
use vigil_cases::geo::{Boundaries, Boundary};
use vigil_cases::hotspot::{self, Weights};
use vigil_cases::stats::{self, CrossTab, Dim, Status, Unit};

use crate::auth::Principal;
use crate::cases::{Caller, MIN_K, audit, caller, cases_menu, page, script_json};
use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::{UiSession, escape};

/// The map page's script.
pub(crate) const SCRIPT: &str = include_str!("ui/cases_map.js");
/// The map page's stylesheet (the map's size, legend, hatching).
pub(crate) const STYLE: &str = include_str!("ui/cases_map.css");
/// Leaflet 1.9.4 (BSD-2-Clause), vendored unchanged: `ui/vendor/leaflet/README.md`.
pub(crate) const LEAFLET_JS: &str = include_str!("ui/vendor/leaflet/leaflet.js");
/// Leaflet's stylesheet.
pub(crate) const LEAFLET_CSS: &str = include_str!("ui/vendor/leaflet/leaflet.css");

/// The name of the displacement key among the store's server secrets.
pub const DISPLACE_SECRET: &str = "cases.displace";

/// The map's API path and methods, for the OpenAPI check and `/site-map`.
pub(crate) fn api_routes() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    [("/api/v1/cases/map", vec!["get"])].into_iter()
}

/// The map page, for `/site-map`.
pub(crate) const PATTERNS: [&str; 1] = ["/ui/cases/map"];

/// The map's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/map", get(map_api))
        .route("/ui/cases/map", get(map_page))
}

// ---------------------------------------------------------------------------------------------
// The request

/// A month as `year * 12 + (month − 1)`, so that ranges compare as numbers.
type MonthIndex = i64;

fn month_index(year: i32, month: u8) -> MonthIndex {
    i64::from(year) * 12 + i64::from(month) - 1
}

/// A map request, checked.
#[derive(Debug, Clone, PartialEq)]
struct MapQuery {
    /// First month of the period (inclusive); `None`: from the data's first year.
    from: Option<(i32, Option<u8>)>,
    /// Last month (inclusive); `None`: to the data's last year.
    to: Option<(i32, Option<u8>)>,
    category: Option<String>,
    /// 1 province, 2 district, 3 tehsil.
    level: i64,
    points: bool,
    /// The suppression threshold asked for (`None`: the default for the role).
    k: Option<u64>,
    age_group: Option<String>,
}

fn parse_month(name: &str, v: &str) -> Result<(i32, Option<u8>), ApiError> {
    let bad = || {
        ApiError::bad(format!(
            "{name} {v:?} is not a year or a month (YYYY or YYYY-MM)"
        ))
    };
    let (y, m) = match v.split_once('-') {
        Some((y, m)) => (y, Some(m)),
        None => (v, None),
    };
    if y.len() != 4 {
        return Err(bad());
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    if !(1900..=2200).contains(&year) {
        return Err(bad());
    }
    let month = match m {
        None => None,
        Some(m) => match m.parse::<u8>() {
            Ok(n) if (1..=12).contains(&n) && m.len() == 2 => Some(n),
            _ => return Err(bad()),
        },
    };
    Ok((year, month))
}

fn map_query(q: &HashMap<String, String>) -> Result<MapQuery, ApiError> {
    let nonempty = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let from = nonempty("from")
        .map(|v| parse_month("from", &v))
        .transpose()?;
    let to = nonempty("to").map(|v| parse_month("to", &v)).transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && month_index(f.0, f.1.unwrap_or(1)) > month_index(t.0, t.1.unwrap_or(12))
    {
        return Err(ApiError::bad(format!(
            "from {} is after to {}",
            q["from"].trim(),
            q["to"].trim()
        )));
    }
    let level = match nonempty("level").as_deref() {
        None | Some("district" | "2") => 2,
        Some("province" | "1") => 1,
        Some("tehsil" | "3") => 3,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "level {other:?}: province, district or tehsil"
            )));
        }
    };
    let points = match nonempty("points").as_deref() {
        None | Some("0" | "false" | "no") => false,
        Some("1" | "true" | "yes") => true,
        Some(other) => return Err(ApiError::bad(format!("points {other:?}: 0 or 1"))),
    };
    let k = match nonempty("k") {
        Some(k) => Some(
            k.parse::<u64>()
                .ok()
                .filter(|k| (1..=1000).contains(k))
                .ok_or_else(|| ApiError::bad(format!("k {k:?} is not a number from 1 to 1000")))?,
        ),
        None => None,
    };
    Ok(MapQuery {
        from,
        to,
        category: nonempty("category"),
        level,
        points,
        k,
        age_group: nonempty("age_group"),
    })
}

fn level_name(level: i64) -> &'static str {
    match level {
        1 => "province",
        3 => "tehsil",
        _ => "district",
    }
}

/// The code of the incident's area at `level`.
fn code_at(inc: &Incident, level: i64) -> Option<&str> {
    match level {
        1 => Some(&inc.area.province),
        3 => inc.area.tehsil.as_deref(),
        _ => Some(&inc.area.district),
    }
}

/// The period in months, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Period {
    from: MonthIndex,
    to: MonthIndex,
}

impl Period {
    /// Whether the incident's date lies in the period: its month, or, when only its year is
    /// known, its whole year.
    fn holds(&self, d: &vigil_cases::model::PartialDate) -> bool {
        match d.month {
            Some(m) => (self.from..=self.to).contains(&month_index(d.year, m)),
            None => self.from <= month_index(d.year, 1) && month_index(d.year, 12) <= self.to,
        }
    }

    fn years(&self) -> std::ops::RangeInclusive<i32> {
        (self.from.div_euclid(12) as i32)..=(self.to.div_euclid(12) as i32)
    }

    /// Months of `year` inside the period.
    fn months_in(&self, year: i32) -> i64 {
        let lo = self.from.max(month_index(year, 1));
        let hi = self.to.min(month_index(year, 12));
        (hi - lo + 1).max(0)
    }

    fn text(&self) -> (String, String) {
        let t = |m: MonthIndex| format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1);
        (t(self.from), t(self.to))
    }
}

// ---------------------------------------------------------------------------------------------
// The computation

/// One area's figures.
#[derive(Debug, Clone, PartialEq)]
struct AreaFigures {
    incidents: u64,
    victims: u64,
    /// Victims in the years with a population figure.
    rate_victims: u64,
    /// Person-years over the period (a partial year counts its months / 12).
    person_years: f64,
}

impl AreaFigures {
    fn rate(&self) -> Option<f64> {
        (self.person_years > 0.0).then(|| self.rate_victims as f64 * 100_000.0 / self.person_years)
    }
}

/// Counts and rates per area over the period: every incident of the period counts in
/// `incidents` and `victims`; the rate is victims per 100,000 per year over the years with a
/// population figure only (as `vigil_cases::population::area_rates`, which this equals for
/// whole years), a partial first or last year weighted by its months.
fn figures(
    incidents: &[&Incident],
    codes: &[String],
    level: i64,
    period: Period,
    population: Option<&Population>,
) -> Vec<AreaFigures> {
    let index: HashMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut out = vec![
        AreaFigures {
            incidents: 0,
            victims: 0,
            rate_victims: 0,
            person_years: 0.0,
        };
        codes.len()
    ];
    for inc in incidents {
        let Some(&i) = code_at(inc, level).and_then(|c| index.get(c)) else {
            continue;
        };
        let v = inc.victims.len() as u64;
        out[i].incidents += 1;
        out[i].victims += v;
        if population.is_some_and(|p| p.get(&codes[i], inc.date.year).is_some()) {
            out[i].rate_victims += v;
        }
    }
    if let Some(p) = population {
        for (i, code) in codes.iter().enumerate() {
            out[i].person_years = period
                .years()
                .filter_map(|y| {
                    p.get(code, y)
                        .map(|n| n as f64 * period.months_in(y) as f64 / 12.0)
                })
                .sum();
        }
    }
    out
}

/// Whether an area (of any level) lies in the scope: it, or an area above it, is named.
fn area_in_scope(scope: &[String], code: &str, parents: &HashMap<String, String>) -> bool {
    if scope.is_empty() {
        return true;
    }
    let mut c = Some(code);
    let mut steps = 0;
    while let Some(x) = c {
        if scope.iter().any(|s| s == x) {
            return true;
        }
        c = parents.get(x).map(String::as_str);
        steps += 1;
        if steps > 3 {
            break;
        }
    }
    false
}

/// Parent of each area code: the hierarchy's, else what the incidents say.
fn parents(areas: &Areas, incidents: &[Incident]) -> HashMap<String, String> {
    let mut p: HashMap<String, String> = HashMap::new();
    for inc in incidents {
        p.entry(inc.area.district.clone())
            .or_insert_with(|| inc.area.province.clone());
        if let Some(t) = &inc.area.tehsil {
            p.entry(t.clone())
                .or_insert_with(|| inc.area.district.clone());
        }
    }
    for (code, d) in areas.districts.iter().chain(&areas.tehsils) {
        if let Some(parent) = &d.parent {
            p.insert(code.clone(), parent.clone());
        }
    }
    p
}

/// What the map shows of each area, after suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    All,
    /// Withheld: fewer than k (incidents or victims).
    Primary,
    /// Withheld so that a primary area cannot be derived from the totals.
    Secondary,
}

/// Suppression of the areas at threshold `k`: each of the two one-way tables (incidents,
/// victims; each with its grand total published) is suppressed by `stats::suppress`, and an
/// area is withheld when either table hides it (hiding more never makes a hidden cell
/// derivable: each table keeps no lone hidden cell).
fn suppression(codes: &[String], figs: &[AreaFigures], k: u64) -> Vec<Shown> {
    let table = |unit: Unit, f: &dyn Fn(&AreaFigures) -> u64| CrossTab {
        row_dim: Dim::District,
        col_dim: None,
        unit,
        rows: codes.to_vec(),
        cols: vec!["count".into()],
        cells: figs.iter().map(|a| vec![f(a)]).collect(),
    };
    let inc = stats::suppress(&table(Unit::Incident, &|a| a.incidents), k);
    let vic = stats::suppress(&table(Unit::Victim, &|a| a.victims), k);
    (0..codes.len())
        .map(|i| match (inc.status[i][0], vic.status[i][0]) {
            (Status::Primary, _) | (_, Status::Primary) => Shown::Primary,
            (Status::Secondary, _) | (_, Status::Secondary) => Shown::Secondary,
            _ => Shown::All,
        })
        .collect()
}

/// Gi* over the areas: over the rates where any area has one (the areas without a rate left
/// out), else over the incident counts. `None` (with why) when fewer than 3 areas have a value.
fn gi(
    b: &Boundaries,
    figs: &[AreaFigures],
) -> (
    Vec<Option<hotspot::GiStar>>,
    Option<&'static str>,
    Option<String>,
) {
    let n = figs.len();
    let by_rate = figs.iter().any(|f| f.rate().is_some());
    let with: Vec<usize> = (0..n)
        .filter(|&i| !by_rate || figs[i].rate().is_some())
        .collect();
    let of = if by_rate { "rate" } else { "incidents" };
    if with.len() < 3 {
        return (
            vec![None; n],
            None,
            Some(format!(
                "{} area(s) with a value; Gi* needs at least 3",
                with.len()
            )),
        );
    }
    let mut pos = vec![usize::MAX; n];
    for (k, &i) in with.iter().enumerate() {
        pos[i] = k;
    }
    let all = hotspot::neighbours(b, Weights::Queen);
    let nb: Vec<Vec<usize>> = with
        .iter()
        .map(|&i| {
            all[i]
                .iter()
                .filter(|&&j| pos[j] != usize::MAX)
                .map(|&j| pos[j])
                .collect()
        })
        .collect();
    let x: Vec<f64> = with
        .iter()
        .map(|&i| figs[i].rate().unwrap_or(figs[i].incidents as f64))
        .collect();
    match hotspot::gi_star(&x, &nb) {
        Ok(g) => {
            let mut out = vec![None; n];
            for (k, &i) in with.iter().enumerate() {
                out[i] = Some(g[k]);
            }
            (out, Some(of), None)
        }
        Err(e) => (vec![None; n], None, Some(e.to_string())),
    }
}

/// The map for a caller: the GeoJSON document and the number of points sent.
async fn compute(state: &AppState, c: &Caller, q: &MapQuery) -> Result<(Value, usize), ApiError> {
    if !c.analyst {
        if q.points {
            return Err(ApiError::forbidden(format!(
                "the role {} sees area counts only, not incident points",
                c.who.role.name()
            )));
        }
        if q.from.is_some_and(|f| f.1.is_some()) || q.to.is_some_and(|t| t.1.is_some()) {
            return Err(ApiError::bad(format!(
                "the role {} sees whole years only (from=YYYY&to=YYYY)",
                c.who.role.name()
            )));
        }
    }
    let store = state.store();
    let all = store.boundaries(Some(q.level)).await?;
    if all.areas.is_empty() {
        return Err(ApiError::not_found(format!(
            "no {} boundaries are imported (an admin imports them with `vigil cases areas import \
             --boundaries FILE --level {}`)",
            level_name(q.level),
            q.level
        )));
    }
    // Areas only: the registry as the server keeps it in memory; points are read with the
    // records from the store (they are never kept in memory).
    let mut incs = if q.points {
        store.incidents(&c.who.name, true).await?
    } else {
        crate::cases::load(state, c).await?
    };
    incs.retain(|i| c.sees(i));
    let hierarchy = store.case_areas().await?;
    let parents = parents(&hierarchy, &incs);
    let b = Boundaries {
        areas: all
            .areas
            .into_iter()
            .filter(|a| area_in_scope(&c.scope, &a.code, &parents))
            .collect(),
    };
    let codes = b.codes();
    // The data's years (the slider's range) and categories, over the caller's incidents.
    let years = (
        incs.iter().map(|i| i.date.year).min(),
        incs.iter().map(|i| i.date.year).max(),
    );
    let categories: BTreeSet<&str> = incs.iter().map(|i| i.category.as_str()).collect();
    let first = q.from.map_or(years.0.unwrap_or(2000), |f| f.0);
    let period = Period {
        from: q.from.map_or(month_index(first, 1), |(y, m)| {
            month_index(y, m.unwrap_or(1))
        }),
        to: q.to.map_or(
            month_index(years.1.unwrap_or(first).max(first), 12),
            |(y, m)| month_index(y, m.unwrap_or(12)),
        ),
    };
    if period.from > period.to {
        return Err(ApiError::bad(format!(
            "the period {} to {} is empty",
            period.text().0,
            period.text().1
        )));
    }
    let picked: Vec<&Incident> = incs
        .iter()
        .filter(|i| period.holds(&i.date))
        .filter(|i| q.category.as_ref().is_none_or(|k| &i.category == k))
        .collect();
    // Population: one age group (asked, or the only one, or all ages).
    let table = store.population().await?;
    let groups = table.groups();
    let (population, rate_note) = if table.rows.is_empty() {
        (None, Some("no population figures are imported".to_string()))
    } else {
        let g = match &q.age_group {
            Some(g) if !groups.contains(g) => {
                return Err(ApiError::bad(format!(
                    "age_group {g:?}: the figures have {}",
                    groups
                        .iter()
                        .map(|g| format!("{g:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Some(g) => Some(g.clone()),
            None if groups.len() == 1 => groups.iter().next().cloned(),
            None if groups.contains("") => Some(String::new()),
            None => None,
        };
        match g {
            Some(g) => (
                Some(table.population(Some(&g)).map_err(ApiError::internal)?),
                None,
            ),
            None => (
                None,
                Some(format!(
                    "the population figures have several age groups ({}); choose one with \
                     age_group=",
                    groups.iter().cloned().collect::<Vec<_>>().join(", ")
                )),
            ),
        }
    };
    let figs = figures(&picked, &codes, q.level, period, population.as_ref());
    let k = if c.analyst {
        q.k.unwrap_or(1)
    } else {
        q.k.unwrap_or(MIN_K).max(MIN_K)
    };
    let shown = suppression(&codes, &figs, k);
    let (gis, gi_of, gi_note) = gi(&b, &figs);
    let mut features = Vec::with_capacity(codes.len());
    let mut suppressed = 0usize;
    for (i, area) in b.areas.iter().enumerate() {
        let f = &figs[i];
        let mut p = Map::new();
        p.insert("kind".into(), "area".into());
        let hidden = shown[i] != Shown::All;
        suppressed += usize::from(hidden);
        p.insert("suppressed".into(), hidden.into());
        if hidden {
            p.insert(
                "suppression".into(),
                if shown[i] == Shown::Primary {
                    "primary"
                } else {
                    "secondary"
                }
                .into(),
            );
            for key in ["incidents", "victims", "rate_per_100k", "gi_class"] {
                p.insert(key.into(), Value::Null);
            }
        } else {
            p.insert("incidents".into(), f.incidents.into());
            p.insert("victims".into(), f.victims.into());
            p.insert("rate_per_100k".into(), json!(f.rate()));
            p.insert(
                "gi_class".into(),
                gis[i].map_or(Value::Null, |g| g.class.name().into()),
            );
            if c.analyst {
                p.insert("person_years".into(), json!(f.person_years));
                if let Some(g) = gis[i] {
                    p.insert("gi_z".into(), json!(g.z));
                    p.insert("gi_p".into(), json!(g.p));
                    p.insert("gi_neighbours".into(), g.neighbours.into());
                }
            }
        }
        features.push(area.to_feature(p));
    }
    let mut points_sent = 0usize;
    let mut withheld = 0usize;
    if q.points {
        let key = displace_key(state).await?;
        // Points are displaced inside their district, whatever the level shown.
        let districts = if q.level == 2 {
            b
        } else {
            store.boundaries(Some(2)).await?
        };
        let by_code: HashMap<&str, &Boundary> = districts
            .areas
            .iter()
            .map(|a| (a.code.as_str(), a))
            .collect();
        let r6 = |x: f64| (x * 1e6).round() / 1e6;
        for inc in &picked {
            let Some(pt) = inc.area.point else { continue };
            let Some(d) = by_code.get(inc.area.district.as_str()) else {
                withheld += 1;
                continue;
            };
            match displace::displace(&key, &inc.id, [pt.lon, pt.lat], inc.area.locality, d) {
                Some(q) => {
                    features.push(json!({"type": "Feature",
                        "properties": {"kind": "incident", "reference": inc.id,
                            "date": inc.date.to_string(), "category": inc.category,
                            "district": inc.area.district},
                        "geometry": {"type": "Point", "coordinates": [r6(q[0]), r6(q[1])]}}));
                    points_sent += 1;
                }
                None => withheld += 1,
            }
        }
    }
    let total_hidden = |i: usize| shown[i] != Shown::All;
    let (from_text, to_text) = period.text();
    let doc = json!({
        "type": "FeatureCollection",
        "vigil": {
            "level": level_name(q.level),
            "from": from_text,
            "to": to_text,
            "category": q.category,
            "categories": categories,
            "years": match years { (Some(a), Some(b)) => json!([a, b]), _ => Value::Null },
            "k": k,
            "analyst": c.analyst,
            "areas": codes.len(),
            "suppressed_areas": suppressed,
            "total_incidents": figs.iter().map(|f| f.incidents).sum::<u64>(),
            "total_victims": figs.iter().map(|f| f.victims).sum::<u64>(),
            "measure": if figs.iter().enumerate().any(|(i, f)| !total_hidden(i) && f.rate().is_some()) { "rate" } else { "incidents" },
            "rate": "detected victims per 100,000 per year, over the years with a population figure",
            "rate_note": rate_note,
            "gi": "Getis-Ord Gi* (queen contiguity, binary weights, self included), two-sided normal p",
            "gi_of": gi_of,
            "gi_note": gi_note,
            "points": if q.points { json!({"displaced": true, "sent": points_sent, "withheld": withheld}) } else { Value::Null },
        },
        "features": features,
    });
    Ok((doc, points_sent))
}

/// The server's displacement key: the stored one, made on first use (32 random bytes).
async fn displace_key(state: &AppState) -> Result<DisplaceKey, ApiError> {
    let candidate: [u8; 32] = rand::random();
    let secret = state
        .store()
        .server_secret(DISPLACE_SECRET, &candidate, "server")
        .await?;
    DisplaceKey::new(&secret).ok_or_else(|| {
        ApiError::internal(format!(
            "the stored displacement key has {} bytes, fewer than 16",
            secret.len()
        ))
    })
}

async fn read_map(
    state: &AppState,
    c: &Caller,
    q: &MapQuery,
    via: &str,
) -> Result<Value, ApiError> {
    let (doc, points) = compute(state, c, q).await?;
    let v = &doc["vigil"];
    audit(
        state,
        c,
        "cases.map.read",
        json!({"level": v["level"], "from": v["from"], "to": v["to"], "category": v["category"],
               "k": v["k"], "areas": v["areas"], "points": q.points, "points_sent": points,
               "via": via, "scope": c.scope}),
    )
    .await?;
    Ok(doc)
}

async fn map_api(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(&state, who, session.is_some()).await?;
    let mq = map_query(&q)?;
    Ok(Json(read_map(&state, &c, &mq, "api").await?))
}

// ---------------------------------------------------------------------------------------------
// The page

fn num_text(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if v.is_u64() || v.is_i64() => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => "—".into(),
    }
}

/// The table of areas under the map (the script redraws its body when the filters change).
fn area_rows(doc: &Value) -> String {
    let k = doc["vigil"]["k"].as_u64().unwrap_or(MIN_K);
    let mut b = String::new();
    for f in doc["features"].as_array().into_iter().flatten() {
        let p = &f["properties"];
        if p["kind"] != "area" {
            continue;
        }
        let code = p["code"].as_str().unwrap_or("");
        let name = p["name"].as_str().unwrap_or("");
        let _ = write!(
            b,
            "<tr data-code=\"{}\"><td>{}</td><td>{}</td>",
            escape(code),
            escape(code),
            escape(name)
        );
        if p["suppressed"] == json!(true) {
            let why = if p["suppression"] == "primary" {
                format!("fewer than {k}")
            } else {
                "withheld".to_string()
            };
            let _ = write!(
                b,
                "<td class=\"num incidents suppressed\">{why}</td><td class=\"num victims suppressed\">{why}</td>\
                 <td class=\"num rate\">—</td><td class=\"gi\">—</td></tr>"
            );
            continue;
        }
        let gi = match (p["gi_class"].as_str(), p["gi_z"].as_f64()) {
            (Some(c), Some(z)) => format!("{c} (z {z:.2})"),
            (Some(c), None) => c.to_string(),
            _ => "—".into(),
        };
        let _ = write!(
            b,
            "<td class=\"num incidents\">{}</td><td class=\"num victims\">{}</td>\
             <td class=\"num rate\">{}</td><td class=\"gi\">{}</td></tr>",
            num_text(&p["incidents"]),
            num_text(&p["victims"]),
            num_text(&p["rate_per_100k"]),
            escape(&gi)
        );
    }
    b
}

async fn map_page(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    session: Option<Extension<UiSession>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tiles = state.config().map_tiles.clone();
    let mut r = page(&state, who, session, "/ui/cases/map", async |c: &Caller| {
        let mut mq = map_query(&q)?;
        // The page loads areas only; the script asks for points when the layer is turned on.
        mq.points = false;
        let doc = read_map(&state, c, &mq, "page").await?;
        let v = &doc["vigil"];
        let years = v["years"].clone();
        let (lo, hi) = (
            years[0].as_i64().unwrap_or(2000),
            years[1].as_i64().unwrap_or(2000),
        );
        let from_y: i64 = v["from"].as_str().and_then(|s| s[..4].parse().ok()).unwrap_or(lo);
        let to_y: i64 = v["to"].as_str().and_then(|s| s[..4].parse().ok()).unwrap_or(hi);
        let config = json!({
            "analyst": c.analyst,
            "k": v["k"],
            "level": v["level"],
            "tiles": tiles.as_ref().map(|t| json!({"url": t.url, "attribution": t.attribution})),
        });
        let mut b = cases_menu(c);
        b.push_str(
            "<link rel=\"stylesheet\" href=\"/ui/static/leaflet.css\">\
             <link rel=\"stylesheet\" href=\"/ui/static/cases_map.css\">",
        );
        let mut cats = String::from("<option value=\"\">all</option>");
        for cat in v["categories"].as_array().into_iter().flatten() {
            let cat = cat.as_str().unwrap_or("");
            let sel = if v["category"].as_str() == Some(cat) {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                cats,
                "<option value=\"{}\"{sel}>{}</option>",
                escape(cat),
                escape(cat)
            );
        }
        let _ = write!(
            b,
            "<form id=\"map-filters\" class=\"filters\" method=\"get\" action=\"/ui/cases/map\">\
             <label>From <input type=\"range\" name=\"from\" id=\"from-year\" min=\"{lo}\" max=\"{hi}\" step=\"1\" value=\"{from_y}\"> \
             <output id=\"from-label\" for=\"from-year\">{from_y}</output></label> \
             <label>To <input type=\"range\" name=\"to\" id=\"to-year\" min=\"{lo}\" max=\"{hi}\" step=\"1\" value=\"{to_y}\"> \
             <output id=\"to-label\" for=\"to-year\">{to_y}</output></label> \
             <label>Category <select name=\"category\" id=\"category\">{cats}</select></label> \
             <noscript><button type=\"submit\">Show</button></noscript> \
             <label><input type=\"checkbox\" id=\"show-hotspots\" checked> Gi* hot and cold spots</label>"
        );
        if c.analyst {
            b.push_str(
                " <label><input type=\"checkbox\" id=\"show-points\"> Incident density \
                 (displaced points)</label>",
            );
        }
        b.push_str("</form>");
        let _ = write!(
            b,
            "<div id=\"map\" role=\"img\" aria-label=\"Map of the areas; the table below holds the same figures\"></div>\
             <div id=\"legend\" aria-hidden=\"true\"></div>\
             <p class=\"muted\" id=\"map-status\" role=\"status\"></p>"
        );
        if c.analyst {
            b.push_str(
                "<p class=\"muted\" id=\"points-note\" hidden>The density layer is made of \
                 <strong>displaced</strong> points, never the exact places: each point is moved \
                 up to 2 km (urban), 5 km (rural; 10 km for 1 in 100) in a direction and by a \
                 distance fixed for the incident, and stays in its district.</p>",
            );
        }
        let measure = if v["measure"] == "rate" {
            "Colours: detected victims per 100,000 per year."
        } else {
            "Colours: incidents (no population figures for a rate)."
        };
        let _ = write!(
            b,
            "<p class=\"muted\" id=\"map-note\">{} Areas drawn hatched have their counts withheld \
             (fewer than {}, or withheld so that they cannot be worked out from the totals). \
             Outlines: Getis-Ord Gi* hot (red) and cold (blue) spots, dashed at 95%, solid at \
             99%.</p>",
            measure,
            v["k"]
        );
        let _ = write!(
            b,
            "<table id=\"areas\"><caption>Areas, <span id=\"period\">{} to {}</span>; \
             total <span id=\"total\">{}</span> incidents</caption><thead><tr><th>Code</th>\
             <th>Name</th><th>Incidents</th><th>Victims</th><th>Rate per 100,000</th>\
             <th>Gi*</th></tr></thead><tbody>{}</tbody></table>",
            escape(v["from"].as_str().unwrap_or("")),
            escape(v["to"].as_str().unwrap_or("")),
            v["total_incidents"],
            area_rows(&doc)
        );
        let _ = write!(
            b,
            "<script type=\"application/json\" id=\"map-config\">{}</script>\
             <script type=\"application/json\" id=\"map-data\">{}</script>\
             <script src=\"/ui/static/leaflet.js\" defer></script>\
             <script src=\"/ui/static/cases_map.js\" defer></script>",
            script_json(&config),
            script_json(&doc)
        );
        Ok(("Case map".to_string(), b))
    })
    .await;
    // Tiles, when configured, are the one thing the page loads from elsewhere: their origin
    // is added to img-src, nothing else.
    if let Some(t) = tiles
        && let Some(csp) = r.headers().get(header::CONTENT_SECURITY_POLICY)
        && let Ok(text) = csp.to_str()
        && let Ok(v) = HeaderValue::from_str(&text.replace(
            "img-src 'self' blob:",
            &format!("img-src 'self' blob: {}", t.origin()),
        ))
    {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_cases::model::PartialDate;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn periods_are_years_or_months() {
        let m = map_query(&q(&[("from", "2021"), ("to", "2022-03")])).unwrap();
        assert_eq!(m.from, Some((2021, None)));
        assert_eq!(m.to, Some((2022, Some(3))));
        for bad in [
            "21",
            "2021-1",
            "2021-13",
            "2021-00",
            "abcd",
            "2021-03-01",
            "1800",
        ] {
            let e = map_query(&q(&[("from", bad)])).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
            assert!(e.body.to_string().contains("from"), "{bad}: {}", e.body);
        }
        assert!(map_query(&q(&[("from", "2022"), ("to", "2021")])).is_err());
        assert!(map_query(&q(&[("from", "2021-05"), ("to", "2021-04")])).is_err());
        assert!(map_query(&q(&[("from", "2021-05"), ("to", "2021-05")])).is_ok());
        assert!(map_query(&q(&[("level", "county")])).is_err());
        assert!(map_query(&q(&[("points", "maybe")])).is_err());
        assert!(map_query(&q(&[("k", "0")])).is_err());
        assert_eq!(map_query(&q(&[("level", "province")])).unwrap().level, 1);
    }

    #[test]
    fn a_period_holds_months_and_whole_years() {
        let p = Period {
            from: month_index(2021, 3),
            to: month_index(2022, 2),
        };
        let d = |year, month| PartialDate {
            year,
            month,
            day: None,
        };
        assert!(!p.holds(&d(2021, Some(2))));
        assert!(p.holds(&d(2021, Some(3))));
        assert!(p.holds(&d(2022, Some(2))));
        assert!(!p.holds(&d(2022, Some(3))));
        // A year-only date counts only when its whole year lies in the period.
        assert!(!p.holds(&d(2021, None)));
        let whole = Period {
            from: month_index(2021, 1),
            to: month_index(2021, 12),
        };
        assert!(whole.holds(&d(2021, None)));
        assert_eq!(p.months_in(2021), 10);
        assert_eq!(p.months_in(2022), 2);
        assert_eq!(p.months_in(2023), 0);
        assert_eq!(p.text(), ("2021-03".to_string(), "2022-02".to_string()));
    }

    #[test]
    fn scope_reaches_areas_through_their_parents() {
        let parents: HashMap<String, String> = [
            ("T1".to_string(), "D1".to_string()),
            ("D1".to_string(), "P1".to_string()),
            ("D2".to_string(), "P2".to_string()),
        ]
        .into();
        let s = vec!["P1".to_string()];
        assert!(area_in_scope(&s, "T1", &parents));
        assert!(area_in_scope(&s, "D1", &parents));
        assert!(area_in_scope(&s, "P1", &parents));
        assert!(!area_in_scope(&s, "D2", &parents));
        assert!(!area_in_scope(&s, "P2", &parents));
        assert!(area_in_scope(&[], "D2", &parents));
        assert!(area_in_scope(&["D2".to_string()], "D2", &parents));
    }

    #[test]
    fn suppression_hides_small_areas_and_one_more_when_alone() {
        let f = |incidents, victims| AreaFigures {
            incidents,
            victims,
            rate_victims: victims,
            person_years: 0.0,
        };
        let codes: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
        // Two small areas: both primary, nothing more.
        let s = suppression(&codes, &[f(3, 3), f(9, 9), f(2, 2), f(0, 0)], 5);
        assert_eq!(s, [Shown::Primary, Shown::All, Shown::Primary, Shown::All]);
        // One small area: the smallest other non-zero one goes too.
        let s = suppression(&codes, &[f(3, 3), f(9, 9), f(7, 7), f(0, 0)], 5);
        assert_eq!(
            s,
            [Shown::Primary, Shown::All, Shown::Secondary, Shown::All]
        );
        // Enough incidents but few victims: withheld all the same.
        let s = suppression(&codes, &[f(6, 2), f(9, 9), f(7, 3), f(0, 0)], 5);
        assert_eq!(s, [Shown::Primary, Shown::All, Shown::Primary, Shown::All]);
        // k = 1 hides nothing.
        let s = suppression(&codes, &[f(1, 1), f(9, 9), f(7, 7), f(0, 0)], 1);
        assert!(s.iter().all(|x| *x == Shown::All));
    }

    #[test]
    fn whole_year_rates_equal_the_library_s() {
        let d = vigil_cases::demo::generate(&vigil_cases::demo::DemoOptions {
            per_year: 200,
            ..Default::default()
        });
        let codes = d.boundaries.codes();
        let period = Period {
            from: month_index(2020, 1),
            to: month_index(2022, 12),
        };
        let refs: Vec<&Incident> = d
            .incidents
            .iter()
            .filter(|i| period.holds(&i.date))
            .collect();
        let ours = figures(&refs, &codes, 2, period, Some(&d.population));
        let lib =
            vigil_cases::population::area_rates(&d.incidents, &d.population, &codes, 2020, 2022);
        for (a, b) in ours.iter().zip(&lib) {
            let (x, y) = (a.rate().unwrap(), b.per_100k.unwrap());
            assert!((x - y).abs() < 1e-9 * y.max(1.0), "{}: {x} vs {y}", b.area);
        }
    }
}
