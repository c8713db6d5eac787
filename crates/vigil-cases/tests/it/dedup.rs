//! Duplicate detection on the demo's planted duplicates.

use std::collections::BTreeSet;
use vigil_cases::dedup::{DedupOptions, explain_match, find_duplicates, merge};
use vigil_cases::demo::{self, DemoOptions};

#[test]
fn planted_duplicates_are_found() {
    let d = demo::generate(&DemoOptions::default());
    let groups = find_duplicates(&d.incidents, &DedupOptions::default());
    let pairs = |gs: Vec<Vec<String>>| -> BTreeSet<(String, String)> {
        gs.iter()
            .flat_map(|g| {
                (0..g.len()).flat_map(move |i| {
                    (i + 1..g.len()).map(move |j| {
                        (
                            g[i].clone().min(g[j].clone()),
                            g[i].clone().max(g[j].clone()),
                        )
                    })
                })
            })
            .collect()
    };
    let found = pairs(
        groups
            .iter()
            .map(|g| g.iter().map(|&i| d.incidents[i].id.clone()).collect())
            .collect(),
    );
    let truth = pairs(d.truth.duplicates.clone());
    let tp = found.intersection(&truth).count();
    let precision = tp as f64 / found.len() as f64;
    let recall = tp as f64 / truth.len() as f64;
    eprintln!(
        "duplicates: {} true pairs, {} found, precision {precision:.3}, recall {recall:.3}",
        truth.len(),
        found.len()
    );
    assert!(recall >= 0.95, "recall {recall}");
    assert!(precision >= 0.97, "precision {precision}");
    let merged = merge(&d.incidents, &groups);
    let removed: usize = groups.iter().map(|g| g.len() - 1).sum();
    assert_eq!(merged.len(), d.incidents.len() - removed);
    let multi = merged.iter().filter(|i| i.sources.len() > 1).count();
    assert_eq!(multi, groups.len());
}

#[test]
fn same_outlet_or_far_dates_are_not_merged() {
    let mut inc = crate::fixture::incidents();
    let mut copy = inc[0].clone();
    copy.id = "I-copy".into();
    inc.push(copy.clone()); // same outlet: not a duplicate
    copy.id = "I-copy2".into();
    copy.sources[0].outlet = "River Post".into();
    inc.push(copy.clone()); // other outlet, same day: a duplicate of I-001
    let mut far = copy.clone();
    far.id = "I-far".into();
    far.sources[0].outlet = "Valley Herald".into();
    far.date.day = Some(20); // ten days later
    inc.push(far);
    let g = find_duplicates(&inc, &DedupOptions::default());
    let ids: Vec<Vec<&str>> = g
        .iter()
        .map(|g| g.iter().map(|&i| inc[i].id.as_str()).collect())
        .collect();
    // I-001 ~ I-copy2 and I-copy ~ I-copy2 (different outlets); I-001 and I-copy share an outlet but
    // join through I-copy2.
    assert_eq!(ids, vec![vec!["I-001", "I-copy", "I-copy2"]]);
}

#[test]
fn a_pair_is_explained_by_the_same_rule() {
    let inc = crate::fixture::incidents();
    let a = &inc[0]; // 2022-01-10, csa/rape, A1, rural, street, F12
    let mut b = a.clone();
    b.id = "I-other".into();
    b.sources[0].outlet = "River Post".into();
    b.date.day = Some(11);
    let opts = DedupOptions::default();
    assert_eq!(
        explain_match(a, &b, &opts),
        Some(vec![
            "same district A1".to_string(),
            "same category csa (rape)".into(),
            "same victims: female 11-15".into(),
            "dates 2022-01-10 and 2022-01-11, 1 day apart (at most 2)".into(),
            "same place type street".into(),
            "both rural".into(),
            "reported by different outlets".into(),
        ])
    );
    // The same outlet, a date three days off, another district, or another victim: no match,
    // exactly as `find_duplicates` decides.
    let mut same_outlet = b.clone();
    same_outlet.sources[0].outlet = a.sources[0].outlet.clone();
    let mut far = b.clone();
    far.date.day = Some(13);
    let mut elsewhere = b.clone();
    elsewhere.area.district = "A2".into();
    let mut boy = b.clone();
    boy.victims[0].sex = vigil_cases::model::Sex::Male;
    for other in [&same_outlet, &far, &elsewhere, &boy] {
        assert_eq!(explain_match(a, other, &opts), None, "{}", other.id);
        let pair = [a.clone(), other.clone()];
        assert!(find_duplicates(&pair, &opts).is_empty());
    }
    assert_eq!(find_duplicates(&[a.clone(), b], &opts), vec![vec![0, 1]]);
}
