//! The case registry tables (schema 8): incidents round-trip whole, points only when asked,
//! identifiers are found by kind and value, saves replace by reference, reads and saves are
//! audited. Incidents come from the fictitious demo generator.

use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::model::{IdentifierKind, Incident};

use crate::util::*;

fn sample() -> Vec<Incident> {
    let d = demo::generate(&DemoOptions {
        per_year: 30,
        network_sizes: vec![4],
        ..Default::default()
    });
    let mut inc: Vec<Incident> = d.incidents;
    inc.sort_by(|a, b| a.id.cmp(&b.id));
    inc
}

#[tokio::test]
async fn incidents_round_trip_and_points_stay_apart() {
    for db in stores("cases_round_trip").await {
        let s = &db.store;
        let inc = sample();
        assert!(
            inc.iter().any(|i| i.area.point.is_some()),
            "the sample has points"
        );
        let saved = s.save_incidents(&inc, "cli:t").await.unwrap();
        assert_eq!(
            (saved.inserted, saved.replaced),
            (inc.len(), 0),
            "{}",
            db.name
        );

        let back = s.incidents("cli:t", true).await.unwrap();
        assert_eq!(back.len(), inc.len(), "{}", db.name);
        for (a, b) in inc.iter().zip(&back) {
            // Points are kept in millionths of a degree.
            let mut a = a.clone();
            if let Some(p) = &mut a.area.point {
                p.lat = (p.lat * 1e6).round() / 1e6;
                p.lon = (p.lon * 1e6).round() / 1e6;
            }
            assert_eq!(&a, b, "{}", db.name);
        }
        let no_points = s.incidents("viewer:v", false).await.unwrap();
        assert!(
            no_points.iter().all(|i| i.area.point.is_none()),
            "{}",
            db.name
        );

        let audit = s.audit_log(0, 100).await.unwrap();
        let actions: Vec<(&str, &str)> = audit
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str()))
            .collect();
        assert!(
            actions.contains(&("cli:t", "cases.save")),
            "{}: {actions:?}",
            db.name
        );
        assert!(
            actions.contains(&("viewer:v", "cases.read")),
            "{}: {actions:?}",
            db.name
        );
    }
}

#[tokio::test]
async fn identifiers_are_found_and_saves_replace_by_reference() {
    for db in stores("cases_identifiers").await {
        let s = &db.store;
        let d = demo::generate(&DemoOptions {
            per_year: 30,
            network_sizes: vec![4],
            ..Default::default()
        });
        let net = &d.truth.networks[0];
        s.save_incidents(&d.incidents, "cli:t").await.unwrap();
        // The network's phone, written another way, is found in the members that name it.
        let phone = net.identifiers[0].strip_prefix("phone:").unwrap();
        let spaced = format!("00{} {}", &phone[1..4], &phone[4..]);
        let found = s
            .incidents_naming(IdentifierKind::Phone, &spaced)
            .await
            .unwrap();
        let expected: Vec<String> = d
            .incidents
            .iter()
            .filter(|i| {
                i.identifiers
                    .iter()
                    .any(|x| x.kind == IdentifierKind::Phone && x.value == phone)
            })
            .map(|i| i.id.clone())
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(found, expected, "{}", db.name);

        let mut changed = d.incidents[0].clone();
        changed.category = "missing".into();
        changed.subtype = None;
        changed.identifiers.clear();
        let saved = s
            .save_incidents(std::slice::from_ref(&changed), "cli:t")
            .await
            .unwrap();
        assert_eq!((saved.inserted, saved.replaced), (0, 1), "{}", db.name);
        let back = s.incidents("cli:t", true).await.unwrap();
        assert_eq!(back.len(), d.incidents.len(), "{}", db.name);
        let got = back.iter().find(|i| i.id == changed.id).unwrap();
        assert_eq!(got.category, "missing");
        assert!(
            got.identifiers.is_empty(),
            "{}: old identifiers were replaced",
            db.name
        );
    }
}

#[tokio::test]
async fn a_source_is_added_once_and_audited() {
    use vigil_cases::model::{Date, Source};
    use vigil_store::SourceAdded;
    for db in stores("cases_add_source").await {
        let s = &db.store;
        let inc = sample();
        s.save_incidents(&inc, "cli:t").await.unwrap();
        let target = &inc[3];
        let before = target.sources.clone();
        let added = Source {
            outlet: "River Post".into(),
            date: Date::new(2023, 3, 9).unwrap(),
            link: Some("https://river.example/a/17".into()),
        };
        let got = s
            .add_case_source(&target.id, &added, "user:alice")
            .await
            .unwrap();
        assert_eq!(
            got,
            SourceAdded::Added {
                sources: before.len() + 1
            },
            "{}",
            db.name
        );
        // The same outlet (other case, spaces), date and link: refused. Another link: added.
        let mut same = added.clone();
        same.outlet = " river post ".into();
        assert_eq!(
            s.add_case_source(&target.id, &same, "user:alice")
                .await
                .unwrap(),
            SourceAdded::Duplicate,
            "{}",
            db.name
        );
        assert_eq!(
            s.add_case_source("I-NOPE", &added, "user:alice")
                .await
                .unwrap(),
            SourceAdded::NoIncident,
            "{}",
            db.name
        );
        let back = s.incidents("cli:t", false).await.unwrap();
        assert_eq!(back.len(), inc.len(), "{}: no incident added", db.name);
        let got = back.iter().find(|i| i.id == target.id).unwrap();
        let mut want = before.clone();
        want.push(added.clone());
        assert_eq!(got.sources, want, "{}", db.name);
        // Other incidents are untouched.
        for (a, b) in inc.iter().zip(&back) {
            if a.id != target.id {
                assert_eq!(a.sources, b.sources, "{}: {}", db.name, a.id);
            }
        }
        let audit = s.audit_log(0, 1000).await.unwrap();
        let adds: Vec<_> = audit
            .iter()
            .filter(|e| e.action == "cases.source.add")
            .collect();
        assert_eq!(
            adds.len(),
            1,
            "{}: only the added source is audited",
            db.name
        );
        assert_eq!(adds[0].actor, "user:alice");
        let detail: serde_json::Value = serde_json::from_str(&adds[0].detail).unwrap();
        assert_eq!(detail["incident"], serde_json::json!(target.id));
        assert_eq!(detail["outlet"], serde_json::json!("River Post"));
        assert_eq!(detail["date"], serde_json::json!("2023-03-09"));
    }
}

/// Saves of more incidents than one statement writes, with ids repeated within a batch, across
/// batches and already in the store, end as saving them one after another would: the last
/// record of each id stored with its own sources, identifiers and point, the counts as the
/// sequence implies.
#[tokio::test]
async fn batched_saves_keep_the_last_record_of_each_id() {
    for db in stores("cases_batched").await {
        let s = &db.store;
        let d = demo::generate(&DemoOptions {
            per_year: 110,
            network_sizes: vec![4],
            ..Default::default()
        });
        let all = d.incidents;
        assert!(all.len() > 500, "several batches: {}", all.len());
        // Every seventh incident is in the store beforehand.
        let before: Vec<Incident> = all.iter().step_by(7).cloned().collect();
        s.save_incidents(&before, "cli:t").await.unwrap();

        let changed = |i: usize, tag: &str| {
            let mut x = all[i].clone();
            x.category = format!("changed-{tag}");
            x.identifiers.truncate(1);
            x
        };
        let mut list = all.clone();
        // Repeated within the first batch, across batches, at the very end, and an id both
        // stored beforehand (index 0, 7…) and repeated.
        list.insert(3, changed(1, "early"));
        list.insert(250, changed(2, "middle"));
        list.push(changed(1, "last"));
        list.push(changed(7, "stored"));
        list.push(all[2].clone());
        // And one whose replacement drops identifiers.
        let k = (10..all.len())
            .find(|&i| all[i].identifiers.len() >= 2)
            .expect("an incident with two identifiers");
        list.push(changed(k, "fewer"));

        // The oracle: the sequence applied one record at a time.
        let mut seen: std::collections::HashSet<&str> =
            before.iter().map(|i| i.id.as_str()).collect();
        let (mut inserted, mut replaced) = (0, 0);
        let mut want: std::collections::BTreeMap<&str, &Incident> = Default::default();
        for inc in &list {
            if seen.insert(&inc.id) {
                inserted += 1;
            } else {
                replaced += 1;
            }
            want.insert(&inc.id, inc);
        }
        let saved = s.save_incidents(&list, "cli:t").await.unwrap();
        assert_eq!(
            (saved.inserted, saved.replaced),
            (inserted, replaced),
            "{}",
            db.name
        );

        let back = s.incidents("cli:t", true).await.unwrap();
        assert_eq!(back.len(), want.len(), "{}", db.name);
        for (got, (id, w)) in back.iter().zip(&want) {
            assert_eq!(got.id, *id, "{}", db.name);
            let mut w = (*w).clone();
            if let Some(p) = &mut w.area.point {
                p.lat = (p.lat * 1e6).round() / 1e6;
                p.lon = (p.lon * 1e6).round() / 1e6;
            }
            assert_eq!(got, &w, "{}", db.name);
        }
        // The identifier rows are the stored records' own: the identifiers that only the
        // replaced record of incident `k` had no longer find it.
        for x in &all[k].identifiers {
            let naming = s.incidents_naming(x.kind, &x.value).await.unwrap();
            let expected: Vec<String> = want
                .values()
                .filter(|i| {
                    i.identifiers
                        .iter()
                        .any(|y| y.kind == x.kind && y.value == x.value)
                })
                .map(|i| i.id.clone())
                .collect();
            assert_eq!(naming, expected, "{}: {:?}", db.name, x);
        }
    }
}

/// A reader holding the registry as of one change reads only what later changes wrote: saved,
/// replaced and given a source, never what came before.
#[tokio::test]
async fn incidents_changed_since_a_version() {
    use vigil_cases::model::{Date, Source};
    for db in stores("cases_changed").await {
        let s = &db.store;
        let inc = sample();
        assert_eq!(s.incidents_changed(0, "cli:t").await.unwrap(), vec![]);
        s.save_incidents(&inc[..10], "cli:t").await.unwrap();
        let v1 = s.cases_version().await.unwrap();
        let strip = |mut i: Incident| {
            i.area.point = None;
            i
        };
        let all = s.incidents_changed(0, "cli:t").await.unwrap();
        assert_eq!(
            all,
            s.incidents("cli:t", false).await.unwrap(),
            "{}",
            db.name
        );
        assert_eq!(s.incidents_changed(v1, "cli:t").await.unwrap(), vec![]);

        // A replacement and a new incident in one save, then a source added to another.
        let mut changed = inc[3].clone();
        changed.category = "missing".into();
        s.save_incidents(&[changed.clone(), inc[10].clone()], "cli:t")
            .await
            .unwrap();
        let v2 = s.cases_version().await.unwrap();
        assert!(v2 > v1);
        let got = s.incidents_changed(v1, "cli:t").await.unwrap();
        let mut want = vec![strip(changed.clone()), strip(inc[10].clone())];
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(got, want, "{}", db.name);
        let src = Source {
            outlet: "Another Paper".into(),
            date: Date::new(2023, 1, 2).unwrap(),
            link: None,
        };
        s.add_case_source(&inc[5].id, &src, "cli:t").await.unwrap();
        let got = s.incidents_changed(v2, "cli:t").await.unwrap();
        assert_eq!(got.len(), 1, "{}", db.name);
        assert_eq!(got[0].id, inc[5].id);
        assert_eq!(got[0].sources.last(), Some(&src));
        // Merged by reference, the changes give what a whole read gives.
        let mut merged: std::collections::BTreeMap<String, Incident> =
            all.into_iter().map(|i| (i.id.clone(), i)).collect();
        for i in s.incidents_changed(v1, "cli:t").await.unwrap() {
            merged.insert(i.id.clone(), i);
        }
        let whole = s.incidents("cli:t", false).await.unwrap();
        assert_eq!(
            merged.into_values().collect::<Vec<_>>(),
            whole,
            "{}",
            db.name
        );
    }
}
