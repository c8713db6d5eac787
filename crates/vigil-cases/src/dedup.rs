//! Duplicate detection across sources: the same incident reported by several newspapers becomes
//! one incident with several sources, before anything is counted.
//!
//! Two records are taken for the same incident when they agree on district, category and
//! subtype, on the victims' profile (the multiset of sex and age band; pseudonyms differ between
//! outlets), on the date (both known to the day and at most `window_days` apart, or equal at the
//! same coarser precision), on place type, urban/rural and tehsil where both records give them,
//! and come from different outlets (one paper does not report one case
//! as two). The rule is deliberately strict: a missed duplicate inflates a count by one, a false
//! merge hides a case, and the second is worse for an NGO's credibility. Groups are the
//! connected components of the pairwise matches (union–find).

use crate::model::{AgeBand, Incident, Locality, PlaceType, Precision, Sex};
use std::collections::{BTreeMap, HashSet};

/// Options of duplicate detection.
#[derive(Debug, Clone)]
pub struct DedupOptions {
    /// Largest gap in days between two day-precision dates of one incident.
    pub window_days: i64,
}

impl Default for DedupOptions {
    fn default() -> Self {
        DedupOptions { window_days: 2 }
    }
}

type Key = (String, String, Option<String>, Vec<(Sex, AgeBand)>);

fn key(inc: &Incident) -> Key {
    let mut profile: Vec<(Sex, AgeBand)> =
        inc.victims.iter().map(|v| (v.sex, v.age.band())).collect();
    profile.sort();
    (
        inc.area.district.clone(),
        inc.category.clone(),
        inc.subtype.clone(),
        profile,
    )
}

fn same_date(a: &Incident, b: &Incident, window: i64) -> bool {
    match (a.date.date(), b.date.date()) {
        (Some(x), Some(y)) => (x.days() - y.days()).abs() <= window,
        _ => a.date.precision() != Precision::Day && a.date == b.date,
    }
}

fn disjoint_outlets(a: &Incident, b: &Incident) -> bool {
    let outs: HashSet<&str> = a.sources.iter().map(|s| s.outlet.as_str()).collect();
    b.sources.iter().all(|s| !outs.contains(s.outlet.as_str()))
}

/// Place type and urban/rural must agree where both records report them.
fn compatible(a: &Incident, b: &Incident) -> bool {
    let place =
        a.place == PlaceType::Unknown || b.place == PlaceType::Unknown || a.place == b.place;
    let loc = a.area.locality == Locality::Unknown
        || b.area.locality == Locality::Unknown
        || a.area.locality == b.area.locality;
    let tehsil = match (&a.area.tehsil, &b.area.tehsil) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    place && loc && tehsil
}

fn find(p: &mut [usize], mut x: usize) -> usize {
    while p[x] != x {
        p[x] = p[p[x]];
        x = p[x];
    }
    x
}

/// The rule for two records of the same block (same key).
fn pair_matches(a: &Incident, b: &Incident, opts: &DedupOptions) -> bool {
    same_date(a, b, opts.window_days) && disjoint_outlets(a, b) && compatible(a, b)
}

fn code<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Whether `a` and `b` are the same incident by the rule of [`find_duplicates`] (one pair, not
/// a group), and if so why, in words: one sentence per agreeing part of the rule. Used when an
/// analyst enters an incident by hand, to show the candidates it duplicates.
pub fn explain_match(a: &Incident, b: &Incident, opts: &DedupOptions) -> Option<Vec<String>> {
    if key(a) != key(b) || !pair_matches(a, b, opts) {
        return None;
    }
    let mut why = vec![format!("same district {}", a.area.district)];
    why.push(match &a.subtype {
        Some(s) => format!("same category {} ({s})", a.category),
        None => format!("same category {}", a.category),
    });
    let profile = key(a).3;
    if profile.is_empty() {
        why.push("neither names a victim".into());
    } else {
        let parts: Vec<String> = profile
            .iter()
            .map(|(sex, band)| format!("{} {}", code(sex), code(band)))
            .collect();
        why.push(format!("same victims: {}", parts.join(", ")));
    }
    why.push(match (a.date.date(), b.date.date()) {
        (Some(x), Some(y)) if x == y => format!("same date {x}"),
        (Some(x), Some(y)) => {
            let gap = (x.days() - y.days()).abs();
            format!(
                "dates {x} and {y}, {gap} day{} apart (at most {})",
                if gap == 1 { "" } else { "s" },
                opts.window_days
            )
        }
        _ => format!(
            "same date {} (known to the {})",
            a.date,
            code(a.date.precision())
        ),
    });
    if a.place != PlaceType::Unknown && a.place == b.place {
        why.push(format!("same place type {}", code(a.place)));
    }
    if a.area.locality != Locality::Unknown && a.area.locality == b.area.locality {
        why.push(format!("both {}", code(a.area.locality)));
    }
    if let (Some(x), Some(_)) = (&a.area.tehsil, &b.area.tehsil) {
        why.push(format!("same tehsil {x}"));
    }
    why.push("reported by different outlets".into());
    Some(why)
}

/// Groups of indices (each sorted, size ≥ 2) that are one incident.
pub fn find_duplicates(incidents: &[Incident], opts: &DedupOptions) -> Vec<Vec<usize>> {
    let mut blocks: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, inc) in incidents.iter().enumerate() {
        blocks.entry(key(inc)).or_default().push(i);
    }
    let mut parent: Vec<usize> = (0..incidents.len()).collect();
    for members in blocks.values() {
        for x in 0..members.len() {
            for y in x + 1..members.len() {
                let (a, b) = (&incidents[members[x]], &incidents[members[y]]);
                if pair_matches(a, b, opts) {
                    let (ra, rb) = (find(&mut parent, members[x]), find(&mut parent, members[y]));
                    if ra != rb {
                        parent[ra.max(rb)] = ra.min(rb);
                    }
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..incidents.len() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|g| g.len() >= 2).collect()
}

/// Merges each group into its first (earliest) record: sources are combined (sorted by date),
/// identifiers combined, a missing tehsil or point taken from another record. Other records of
/// the group are dropped; the order of the rest is kept.
pub fn merge(incidents: &[Incident], groups: &[Vec<usize>]) -> Vec<Incident> {
    let mut drop = vec![false; incidents.len()];
    let mut merged: BTreeMap<usize, Incident> = BTreeMap::new();
    for g in groups {
        let mut m = incidents[g[0]].clone();
        for &o in &g[1..] {
            drop[o] = true;
            let other = &incidents[o];
            m.sources.extend(other.sources.iter().cloned());
            for id in &other.identifiers {
                if !m
                    .identifiers
                    .iter()
                    .any(|x| x.kind == id.kind && x.value == id.value)
                {
                    m.identifiers.push(id.clone());
                }
            }
            if m.area.tehsil.is_none() {
                m.area.tehsil = other.area.tehsil.clone();
            }
            if m.area.point.is_none() {
                m.area.point = other.area.point;
            }
        }
        m.sources
            .sort_by(|a, b| a.date.cmp(&b.date).then(a.outlet.cmp(&b.outlet)));
        merged.insert(g[0], m);
    }
    tracing::info!(groups = groups.len(), "duplicates merged");
    incidents
        .iter()
        .enumerate()
        .filter(|(i, _)| !drop[*i])
        .map(|(i, inc)| merged.remove(&i).unwrap_or_else(|| inc.clone()))
        .collect()
}
