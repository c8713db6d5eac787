//! Published statistics: one-way tables and cross-tabs by the dimensions NGOs report, yearly and
//! half-yearly series with year-on-year change and cases per day, rates per 100,000, and
//! small-number suppression for publication with CSV and SDMX-style CSV export.
//!
//! Counting units are kept apart ([`Unit`]): sex and age count victims, abuser category counts
//! abusers, everything else counts incidents (Sahil reports "3,722 abusers" next to "2,846
//! cases"). A cross-tab of a victim dimension by an incident dimension counts victims; one of a
//! victim dimension by an abuser dimension is refused, since it needs victim–abuser pairs.
//!
//! Year-on-year change is the plain percentage, rounded half away from zero, because that is how
//! the published figures come out: (3832 − 3445) / 3445 = 11.2% is reported as "+11%".
//!
//! Suppression (see [`suppress`]) hides cells below `k` ("<k") and then enough further cells
//! that no hidden cell can be worked out from the published row and column totals: a hidden
//! cell is exactly determined by the totals precisely when it is a *bridge* of the bipartite
//! graph (rows and columns as nodes, hidden cells as edges), since the free directions of the
//! totals' equations are the even cycles of that graph. Secondary suppression therefore adds the
//! smallest cells that put every hidden cell on a cycle. The property test checks this against a
//! rank computation of the linear system, not against this reasoning.

use crate::areas::Population;
use crate::error::{Error, Result};
use crate::model::{
    Abuser, AbuserCategory, AgeBand, Incident, Locality, PlaceType, Sex, Tri, Victim, is_leap,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// Counting unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// Incidents (cases).
    Incident,
    /// Victims.
    Victim,
    /// Abusers.
    Abuser,
}

/// A dimension of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Dim {
    /// Year of the incident.
    Year,
    /// Half-year ("2023-H1"); "unknown" when only the year is known.
    HalfYear,
    /// Primary category.
    Category,
    /// CSA subtype (only CSA incidents are counted).
    Subtype,
    /// Victim's sex.
    Sex,
    /// Victim's age band.
    AgeBand,
    /// Abuser category.
    AbuserCategory,
    /// Place type.
    Place,
    /// Province code.
    Province,
    /// District code.
    District,
    /// Urban / rural.
    Locality,
    /// Case registered with police.
    Registered,
    /// Reported to police.
    Reported,
}

impl Dim {
    /// The unit this dimension counts.
    pub fn unit(&self) -> Unit {
        match self {
            Dim::Sex | Dim::AgeBand => Unit::Victim,
            Dim::AbuserCategory => Unit::Abuser,
            _ => Unit::Incident,
        }
    }

    /// Column name (SDMX-style where SDMX has one).
    pub fn name(&self) -> &'static str {
        match self {
            Dim::Year => "TIME_PERIOD",
            Dim::HalfYear => "TIME_PERIOD",
            Dim::Category => "CATEGORY",
            Dim::Subtype => "SUBTYPE",
            Dim::Sex => "SEX",
            Dim::AgeBand => "AGE",
            Dim::AbuserCategory => "ABUSER_CATEGORY",
            Dim::Place => "PLACE",
            Dim::Province => "REF_AREA",
            Dim::District => "REF_AREA",
            Dim::Locality => "URBANISATION",
            Dim::Registered => "POLICE_REGISTRATION",
            Dim::Reported => "REPORTED_TO_POLICE",
        }
    }
}

fn label<T: Serialize>(t: &T) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The value of a dimension for one counted item as a sort key: (enum ordinal, text). Enum
/// dimensions carry only the ordinal (no allocation per item); [`enum_label`] names it once per
/// row at the end. `None` when the item is not counted in this dimension (a subtype of a non-CSA
/// incident).
fn value(dim: Dim, inc: &Incident, v: Option<&Victim>, a: Option<&Abuser>) -> Option<Label> {
    Some(match dim {
        Dim::Year => (0, inc.date.year.to_string()),
        Dim::HalfYear => match inc.date.half() {
            Some(h) => (0, format!("{}-H{h}", inc.date.year)),
            None => (0, format!("{}-unknown", inc.date.year)),
        },
        Dim::Category => (0, inc.category.clone()),
        Dim::Subtype => (0, inc.subtype.clone()?),
        Dim::Sex => (v?.sex as u32, String::new()),
        Dim::AgeBand => (v?.age.band() as u32, String::new()),
        Dim::AbuserCategory => (a?.category as u32, String::new()),
        Dim::Place => (inc.place as u32, String::new()),
        Dim::Province => (0, inc.area.province.clone()),
        Dim::District => (0, inc.area.district.clone()),
        Dim::Locality => (inc.area.locality as u32, String::new()),
        Dim::Registered => (inc.case_registered as u32, String::new()),
        Dim::Reported => (inc.reported_to_police as u32, String::new()),
    })
}

/// The label of a row or column key.
fn enum_label(dim: Dim, key: &Label) -> String {
    let i = key.0 as usize;
    match dim {
        Dim::Sex => label(&Sex::ALL[i]),
        Dim::AgeBand => label(&AgeBand::ALL[i]),
        Dim::AbuserCategory => label(&AbuserCategory::ALL[i]),
        Dim::Place => label(&PlaceType::ALL[i]),
        Dim::Locality => label(&Locality::ALL[i]),
        Dim::Registered | Dim::Reported => label(&Tri::ALL[i]),
        _ => key.1.clone(),
    }
}

/// A sortable label: (enum order, text).
type Label = (u32, String);

/// A table of counts: rows × columns (a one-way table has the single column "count").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossTab {
    /// Row dimension.
    pub row_dim: Dim,
    /// Column dimension (`None` for a one-way table).
    pub col_dim: Option<Dim>,
    /// What is counted.
    pub unit: Unit,
    /// Row labels.
    pub rows: Vec<String>,
    /// Column labels.
    pub cols: Vec<String>,
    /// Counts, `cells[row][col]`.
    pub cells: Vec<Vec<u64>>,
}

impl CrossTab {
    /// Row totals.
    pub fn row_totals(&self) -> Vec<u64> {
        self.cells.iter().map(|r| r.iter().sum()).collect()
    }

    /// Column totals.
    pub fn col_totals(&self) -> Vec<u64> {
        (0..self.cols.len())
            .map(|c| self.cells.iter().map(|r| r[c]).sum())
            .collect()
    }

    /// Grand total.
    pub fn total(&self) -> u64 {
        self.cells.iter().flatten().sum()
    }

    /// The count in a cell by labels (0 when the label is absent).
    pub fn get(&self, row: &str, col: &str) -> u64 {
        match (
            self.rows.iter().position(|r| r == row),
            self.cols.iter().position(|c| c == col),
        ) {
            (Some(r), Some(c)) => self.cells[r][c],
            _ => 0,
        }
    }

    /// The count of a one-way table's row (0 when absent).
    pub fn count(&self, row: &str) -> u64 {
        self.get(row, "count")
    }
}

/// Counts `rows` (× `cols`) over the incidents, in the unit the dimensions imply.
pub fn crosstab(incidents: &[Incident], rows: Dim, cols: Option<Dim>) -> Result<CrossTab> {
    let units: BTreeSet<u8> = [Some(rows), cols]
        .iter()
        .flatten()
        .map(|d| d.unit() as u8)
        .filter(|&u| u != 0)
        .collect();
    if units.len() > 1 {
        return Err(Error::Table {
            table: format!("{rows:?} x {cols:?}"),
            problem: "victim and abuser dimensions cannot be crossed (needs victim-abuser pairs)"
                .into(),
        });
    }
    let unit = match units.first() {
        Some(1) => Unit::Victim,
        Some(2) => Unit::Abuser,
        _ => Unit::Incident,
    };
    let mut counts: BTreeMap<(Label, Label), u64> = BTreeMap::new();
    let mut rset = BTreeSet::new();
    let mut cset = BTreeSet::new();
    let mut add = |inc: &Incident, v: Option<&Victim>, a: Option<&Abuser>| {
        let Some(r) = value(rows, inc, v, a) else {
            return;
        };
        let c = match cols {
            Some(d) => match value(d, inc, v, a) {
                Some(c) => c,
                None => return,
            },
            None => (0, "count".to_string()),
        };
        rset.insert(r.clone());
        cset.insert(c.clone());
        *counts.entry((r, c)).or_default() += 1;
    };
    for inc in incidents {
        match unit {
            Unit::Incident => add(inc, None, None),
            Unit::Victim => inc.victims.iter().for_each(|v| add(inc, Some(v), None)),
            Unit::Abuser => inc.abusers.iter().for_each(|a| add(inc, None, Some(a))),
        }
    }
    let rows_v: Vec<(u32, String)> = rset.into_iter().collect();
    let cols_v: Vec<(u32, String)> = cset.into_iter().collect();
    let cells = rows_v
        .iter()
        .map(|r| {
            cols_v
                .iter()
                .map(|c| counts.get(&(r.clone(), c.clone())).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    Ok(CrossTab {
        row_dim: rows,
        col_dim: cols,
        unit,
        rows: rows_v.iter().map(|x| enum_label(rows, x)).collect(),
        cols: cols_v
            .iter()
            .map(|x| cols.map_or_else(|| x.1.clone(), |d| enum_label(d, x)))
            .collect(),
        cells,
    })
}

/// A one-way table.
pub fn table(incidents: &[Incident], dim: Dim) -> Result<CrossTab> {
    crosstab(incidents, dim, None)
}

/// Year-on-year change in percent, rounded half away from zero; `None` when the earlier count
/// is 0.
pub fn yoy_percent(previous: u64, current: u64) -> Option<i64> {
    (previous > 0)
        .then(|| ((current as f64 - previous as f64) * 100.0 / previous as f64).round() as i64)
}

/// One row of a yearly series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearRow {
    /// Year.
    pub year: i32,
    /// Count.
    pub count: u64,
    /// Change on the previous year in percent (rounded), when the previous year is in the series.
    pub yoy_percent: Option<i64>,
    /// Count divided by the days of the year.
    pub per_day: f64,
}

/// Counts per year (incidents), with year-on-year change and cases per day. Years without
/// incidents between the first and the last appear with 0.
pub fn yearly(incidents: &[Incident]) -> Vec<YearRow> {
    let mut by: BTreeMap<i32, u64> = BTreeMap::new();
    for i in incidents {
        *by.entry(i.date.year).or_default() += 1;
    }
    let (Some(&first), Some(&last)) = (by.keys().next(), by.keys().next_back()) else {
        return Vec::new();
    };
    let mut out: Vec<YearRow> = Vec::new();
    for year in first..=last {
        let count = by.get(&year).copied().unwrap_or(0);
        let days = if is_leap(year) { 366.0 } else { 365.0 };
        let yoy = out.last().and_then(|p| yoy_percent(p.count, count));
        out.push(YearRow {
            year,
            count,
            yoy_percent: yoy,
            per_day: count as f64 / days,
        });
    }
    out
}

/// One row of a half-yearly series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HalfRow {
    /// Year.
    pub year: i32,
    /// Half (1 = January–June, 2 = July–December).
    pub half: u8,
    /// Incidents whose month is in the half.
    pub count: u64,
    /// Change on the same half of the previous year, in percent (rounded).
    pub yoy_percent: Option<i64>,
    /// Count divided by the days of the half (181/182 and 184).
    pub per_day: f64,
}

/// Counts per half-year; incidents known only to the year are not counted (their number per year
/// is `yearly(..).count` minus the two halves).
pub fn half_yearly(incidents: &[Incident]) -> Vec<HalfRow> {
    let mut by: BTreeMap<(i32, u8), u64> = BTreeMap::new();
    for i in incidents {
        if let Some(h) = i.date.half() {
            *by.entry((i.date.year, h)).or_default() += 1;
        }
    }
    let (Some(&(first, _)), Some(&(last, _))) = (by.keys().next(), by.keys().next_back()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for year in first..=last {
        for half in 1..=2u8 {
            let count = by.get(&(year, half)).copied().unwrap_or(0);
            let days = if half == 2 {
                184.0
            } else if is_leap(year) {
                182.0
            } else {
                181.0
            };
            let prev = (year > first).then(|| by.get(&(year - 1, half)).copied().unwrap_or(0));
            out.push(HalfRow {
                year,
                half,
                count,
                yoy_percent: prev.and_then(|p| yoy_percent(p, count)),
                per_day: count as f64 / days,
            });
        }
    }
    out
}

/// Detected victims per 100,000 children of an area in a year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateRow {
    /// Area code.
    pub area: String,
    /// Year.
    pub year: i32,
    /// Victims counted.
    pub victims: u64,
    /// Population used.
    pub population: u64,
    /// victims × 100,000 / population.
    pub per_100k: f64,
}

/// Detected (media-reported) victims per 100,000 population, by district (or province, with
/// `by_province`) and year, for the areas and years the population figures cover. Labelled
/// "detected", never prevalence: deduplicate incidents first.
pub fn rates_per_100k(
    incidents: &[Incident],
    population: &Population,
    by_province: bool,
) -> Vec<RateRow> {
    let mut by: BTreeMap<(String, i32), u64> = BTreeMap::new();
    for i in incidents {
        let area = if by_province {
            &i.area.province
        } else {
            &i.area.district
        };
        *by.entry((area.clone(), i.date.year)).or_default() += i.victims.len() as u64;
    }
    population
        .figures
        .iter()
        .filter(|(_, p)| **p > 0)
        .map(|((area, year), &p)| {
            let victims = by.get(&(area.clone(), *year)).copied().unwrap_or(0);
            RateRow {
                area: area.clone(),
                year: *year,
                victims,
                population: p,
                per_100k: victims as f64 * 100_000.0 / p as f64,
            }
        })
        .collect()
}

/// Publication status of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    /// Published.
    Shown,
    /// Hidden because it is below the threshold.
    Primary,
    /// Hidden so that a primary cell cannot be derived from the totals.
    Secondary,
}

/// A table ready for publication.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppressed {
    /// The counts (kept: the status says what may be shown).
    pub table: CrossTab,
    /// Threshold: cells with 0 < n < k are hidden.
    pub k: u64,
    /// Status per cell.
    pub status: Vec<Vec<Status>>,
}

impl Suppressed {
    /// The text of a cell as published: the count, `<k` for a primary cell, `x` for a
    /// secondary one (it need not be small, so "<k" would be false).
    pub fn cell_text(&self, r: usize, c: usize) -> String {
        match self.status[r][c] {
            Status::Shown => self.table.cells[r][c].to_string(),
            Status::Primary => format!("<{}", self.k),
            Status::Secondary => "x".to_string(),
        }
    }

    /// Whether the table is one-way for suppression purposes (one row or one column: only the
    /// grand total is published next to the cells).
    pub fn one_way(&self) -> bool {
        self.table.rows.len() == 1 || self.table.cols.len() == 1
    }
}

/// Whether the hidden cell (r, c) lies on a cycle of the bipartite graph of hidden cells, i.e.
/// whether r and c stay connected without it.
fn on_cycle(hidden: &[Vec<bool>], r: usize, c: usize) -> bool {
    let (nr, nc) = (hidden.len(), hidden[0].len());
    // Nodes: rows 0..nr, columns nr..nr+nc.
    let mut seen = vec![false; nr + nc];
    let mut stack = vec![r];
    seen[r] = true;
    while let Some(n) = stack.pop() {
        let nbrs: Vec<usize> = if n < nr {
            (0..nc)
                .filter(|&j| hidden[n][j] && !(n == r && j == c))
                .map(|j| nr + j)
                .collect()
        } else {
            let j = n - nr;
            (0..nr)
                .filter(|&i| hidden[i][j] && !(i == r && j == c))
                .collect()
        };
        for m in nbrs {
            if !seen[m] {
                if m == nr + c {
                    return true;
                }
                seen[m] = true;
                stack.push(m);
            }
        }
    }
    false
}

/// Hides cells with 0 < n < k (primary) and then, greedily, the smallest further cells
/// (secondary; non-zero cells preferred) until no hidden cell can be derived from the published
/// totals: in a one-way table (one row or one column, grand total published) that means no
/// single hidden cell; in a two-way table (row, column and grand totals published) that every
/// hidden cell lies on a cycle of hidden cells (see the module docs). Zero cells are shown.
pub fn suppress(table: &CrossTab, k: u64) -> Suppressed {
    let (nr, nc) = (table.rows.len(), table.cols.len());
    let mut status: Vec<Vec<Status>> = table
        .cells
        .iter()
        .map(|r| {
            r.iter()
                .map(|&n| {
                    if n > 0 && n < k {
                        Status::Primary
                    } else {
                        Status::Shown
                    }
                })
                .collect()
        })
        .collect();
    let cost = |r: usize, c: usize| (table.cells[r][c] == 0, table.cells[r][c], r, c);
    if nr == 0 || nc == 0 {
        return Suppressed {
            table: table.clone(),
            k,
            status,
        };
    }
    if nr == 1 || nc == 1 {
        let cells: Vec<(usize, usize)> =
            (0..nr).flat_map(|r| (0..nc).map(move |c| (r, c))).collect();
        let hidden = cells
            .iter()
            .filter(|&&(r, c)| status[r][c] != Status::Shown)
            .count();
        if hidden == 1
            && let Some(&(r, c)) = cells
                .iter()
                .filter(|&&(r, c)| status[r][c] == Status::Shown)
                .min_by_key(|&&(r, c)| cost(r, c))
        {
            status[r][c] = Status::Secondary;
        }
        return Suppressed {
            table: table.clone(),
            k,
            status,
        };
    }
    loop {
        let hidden: Vec<Vec<bool>> = status
            .iter()
            .map(|r| r.iter().map(|s| *s != Status::Shown).collect())
            .collect();
        let bridge = (0..nr)
            .flat_map(|r| (0..nc).map(move |c| (r, c)))
            .find(|&(r, c)| hidden[r][c] && !on_cycle(&hidden, r, c));
        let Some((br, bc)) = bridge else { break };
        let shown: Vec<(usize, usize)> = (0..nr)
            .flat_map(|r| (0..nc).map(move |c| (r, c)))
            .filter(|&(r, c)| !hidden[r][c])
            .collect();
        let mut best: Option<(usize, usize)> = None;
        for &(r, c) in &shown {
            let mut h = hidden.clone();
            h[r][c] = true;
            if on_cycle(&h, br, bc) && best.is_none_or(|(br2, bc2)| cost(r, c) < cost(br2, bc2)) {
                best = Some((r, c));
            }
        }
        // No single cell closes a cycle: hide the cheapest cell in the bridge's row (or column)
        // and look again.
        let pick = best.or_else(|| {
            shown
                .iter()
                .copied()
                .filter(|&(r, c)| r == br || c == bc)
                .min_by_key(|&(r, c)| cost(r, c))
        });
        match pick {
            Some((r, c)) => status[r][c] = Status::Secondary,
            None => break,
        }
    }
    Suppressed {
        table: table.clone(),
        k,
        status,
    }
}

fn csv_err(what: &str, e: csv::Error) -> Error {
    Error::Csv {
        what: what.into(),
        source: e,
    }
}

/// Writes the table as CSV: a header (row dimension, column labels, "total"), one line per row
/// with its total, and a "total" line. Primary cells read "<k", secondary ones "x"; totals are
/// published.
pub fn write_csv<W: Write>(out: W, s: &Suppressed) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let t = &s.table;
    let mut header = vec![format!("{:?}", t.row_dim).to_lowercase()];
    header.extend(t.cols.iter().cloned());
    if t.cols.len() > 1 {
        header.push("total".into());
    }
    w.write_record(&header).map_err(|e| csv_err("table", e))?;
    let rt = t.row_totals();
    for (r, label) in t.rows.iter().enumerate() {
        let mut rec = vec![label.clone()];
        rec.extend((0..t.cols.len()).map(|c| s.cell_text(r, c)));
        if t.cols.len() > 1 {
            rec.push(rt[r].to_string());
        }
        w.write_record(&rec).map_err(|e| csv_err("table", e))?;
    }
    let mut rec = vec!["total".to_string()];
    rec.extend(t.col_totals().iter().map(|n| n.to_string()));
    if t.cols.len() > 1 {
        rec.push(t.total().to_string());
    }
    w.write_record(&rec).map_err(|e| csv_err("table", e))?;
    w.flush().map_err(|e| Error::Write {
        what: "table CSV".into(),
        source: e,
    })
}

/// Fixed columns of an SDMX-style export.
#[derive(Debug, Clone)]
pub struct SdmxMeta {
    /// FREQ: "A" annual, "S" half-yearly.
    pub freq: String,
    /// TIME_PERIOD when neither dimension is time.
    pub time_period: Option<String>,
    /// REF_AREA when neither dimension is an area.
    pub ref_area: Option<String>,
    /// UNIT_MEASURE, e.g. "NUMBER".
    pub unit: String,
}

/// Writes an SDMX-style tidy CSV: FREQ, the dimension columns (TIME_PERIOD, REF_AREA, SEX, AGE,
/// URBANISATION and Vigil's own), UNIT_MEASURE, OBS_VALUE, OBS_STATUS ("A" normal) and
/// CONF_STATUS ("F" free, "C" confidential, "D" secondary confidentiality, as in SDMX's
/// CL_CONF_STATUS). A hidden cell has an empty OBS_VALUE. Totals are rows with the code "_T".
pub fn write_sdmx<W: Write>(out: W, s: &Suppressed, meta: &SdmxMeta) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let t = &s.table;
    let dims: Vec<Dim> = [Some(t.row_dim), t.col_dim].into_iter().flatten().collect();
    let mut header = vec!["FREQ".to_string()];
    let has = |n: &str| dims.iter().any(|d| d.name() == n);
    if !has("TIME_PERIOD") {
        header.push("TIME_PERIOD".into());
    }
    if !has("REF_AREA") {
        header.push("REF_AREA".into());
    }
    header.extend(dims.iter().map(|d| d.name().to_string()));
    header.extend(["UNIT_MEASURE", "OBS_VALUE", "OBS_STATUS", "CONF_STATUS"].map(String::from));
    w.write_record(&header).map_err(|e| csv_err("sdmx", e))?;
    let rt = t.row_totals();
    let ct = t.col_totals();
    let mut emit = |row: &str, col: Option<&str>, value: Option<u64>, conf: &str| -> Result<()> {
        let mut rec = vec![meta.freq.clone()];
        if !has("TIME_PERIOD") {
            rec.push(meta.time_period.clone().unwrap_or_default());
        }
        if !has("REF_AREA") {
            rec.push(meta.ref_area.clone().unwrap_or_default());
        }
        rec.push(row.to_string());
        if let Some(c) = col {
            rec.push(c.to_string());
        }
        rec.push(meta.unit.clone());
        rec.push(value.map(|v| v.to_string()).unwrap_or_default());
        rec.push("A".into());
        rec.push(conf.into());
        w.write_record(&rec).map_err(|e| csv_err("sdmx", e))
    };
    let two_way = t.col_dim.is_some();
    for (r, rl) in t.rows.iter().enumerate() {
        for (c, cl) in t.cols.iter().enumerate() {
            let (v, conf) = match s.status[r][c] {
                Status::Shown => (Some(t.cells[r][c]), "F"),
                Status::Primary => (None, "C"),
                Status::Secondary => (None, "D"),
            };
            emit(rl, two_way.then_some(cl.as_str()), v, conf)?;
        }
        if two_way {
            emit(rl, Some("_T"), Some(rt[r]), "F")?;
        }
    }
    if two_way {
        for (c, cl) in t.cols.iter().enumerate() {
            emit("_T", Some(cl), Some(ct[c]), "F")?;
        }
    }
    emit("_T", two_way.then_some("_T"), Some(t.total()), "F")?;
    w.flush().map_err(|e| Error::Write {
        what: "SDMX CSV".into(),
        source: e,
    })
}
