//! The case map's tables (schema 10): boundaries round-trip per level and a level is replaced
//! as a whole; population figures replace by (area, year, age group); a conflicting file
//! imports nothing; imports are audited. Boundaries come from the fictitious demo map.

use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::geo::Boundaries;
use vigil_cases::population::{PopulationRow, PopulationTable};

use crate::util::*;

fn demo_map() -> (Boundaries, PopulationTable) {
    let d = demo::generate(&DemoOptions {
        per_year: 10,
        network_sizes: vec![],
        ..Default::default()
    });
    let t = demo::population_table(&d);
    (d.boundaries, t)
}

#[tokio::test]
async fn boundaries_round_trip_and_a_level_is_replaced_whole() {
    for db in stores("cases_map_boundaries").await {
        let s = &db.store;
        let (b, _) = demo_map();
        let saved = s
            .save_boundaries(&b, 2, "demo.geojson", "cli:t")
            .await
            .unwrap();
        assert_eq!((saved.written, saved.replaced), (30, 0), "{}", db.name);
        let back = s.boundaries(Some(2)).await.unwrap();
        let mut want = b.areas.clone();
        want.sort_by(|x, y| x.code.cmp(&y.code));
        assert_eq!(back.areas, want, "{}: geometry is kept exactly", db.name);
        assert!(s.boundaries(Some(1)).await.unwrap().areas.is_empty());
        assert_eq!(s.boundaries(None).await.unwrap().areas.len(), 30);

        // A second file of the same level replaces the first as a whole.
        let mut fewer = b.clone();
        fewer.areas.truncate(3);
        let saved = s.save_boundaries(&fewer, 2, "v2", "cli:t").await.unwrap();
        assert_eq!((saved.written, saved.replaced), (3, 30), "{}", db.name);
        assert_eq!(s.boundaries(Some(2)).await.unwrap().areas.len(), 3);

        // A level-1 file naming a level-2 code is refused and changes nothing.
        let mut clash = b.clone();
        clash.areas = vec![b.areas[5].clone(), b.areas[0].clone()];
        let e = s.save_boundaries(&clash, 1, "prov.geojson", "cli:t").await;
        assert!(e.is_err(), "{}", db.name);
        assert!(
            s.boundaries(Some(1)).await.unwrap().areas.is_empty(),
            "{}: nothing half-imported",
            db.name
        );
        assert!(s.save_boundaries(&b, 7, "x", "cli:t").await.is_err());

        let actions: Vec<String> = s
            .audit_log(0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "cases.boundaries.import")
                .count(),
            2,
            "{}: {actions:?}",
            db.name
        );
    }
}

#[tokio::test]
async fn population_replaces_by_area_year_and_group() {
    for db in stores("cases_map_population").await {
        let s = &db.store;
        let (_, t) = demo_map();
        let saved = s.save_population(&t, "demo", "cli:t").await.unwrap();
        assert_eq!((saved.written, saved.replaced), (150, 0), "{}", db.name);
        let back = s.population().await.unwrap();
        let mut want = t.rows.clone();
        want.sort_by(|a, b| (&a.area, &a.group, a.year).cmp(&(&b.area, &b.group, b.year)));
        assert_eq!(back.rows, want, "{}", db.name);

        let update = PopulationTable {
            rows: vec![
                PopulationRow {
                    area: "NM01".into(),
                    year: 2019,
                    population: 123,
                    group: "0-17".into(),
                },
                PopulationRow {
                    area: "NM01".into(),
                    year: 2019,
                    population: 999,
                    group: String::new(),
                },
            ],
        };
        let saved = s.save_population(&update, "census", "cli:t").await.unwrap();
        assert_eq!((saved.written, saved.replaced), (2, 1), "{}", db.name);
        let back = s.population().await.unwrap();
        assert_eq!(back.rows.len(), 151);
        let p = back.population(Some("0-17")).unwrap();
        assert_eq!(p.get("NM01", 2019), Some(123), "{}", db.name);
        let all = back.population(Some("")).unwrap();
        assert_eq!(all.get("NM01", 2019), Some(999), "{}", db.name);

        // Too large for the column: refused, nothing written.
        let huge = PopulationTable {
            rows: vec![
                PopulationRow {
                    area: "NM02".into(),
                    year: 2030,
                    population: 5,
                    group: String::new(),
                },
                PopulationRow {
                    area: "NM02".into(),
                    year: 2031,
                    population: u64::MAX,
                    group: String::new(),
                },
            ],
        };
        assert!(s.save_population(&huge, "x", "cli:t").await.is_err());
        assert_eq!(s.population().await.unwrap().rows.len(), 151, "{}", db.name);
        let actions: Vec<String> = s
            .audit_log(0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.contains(&"cases.population.import".to_string()));
    }
}
