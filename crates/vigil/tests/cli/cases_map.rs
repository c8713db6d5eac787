//! `vigil cases map` and `vigil cases areas import`: the demo's fictitious boundaries and
//! population, a map whose planted hotspot Gi* finds, displaced points only with a key, bad
//! features each reported with nothing written.

use crate::util::Dir;
use serde_json::Value;

fn json(d: &Dir, rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(d.path().join(rel)).unwrap()).unwrap()
}

#[test]
fn cases_map_finds_the_planted_hotspot_and_displaces_points() {
    let d = Dir::new();
    d.run(&[
        "cases",
        "demo",
        "--out",
        "ds.json",
        "--truth",
        "truth.json",
        "--boundaries",
        "districts.geojson",
        "--population",
        "pop.csv",
    ])
    .code(0);
    let pop = std::fs::read_to_string(d.path().join("pop.csv")).unwrap();
    assert!(
        pop.starts_with("area_code,year,population,age_group\n"),
        "{pop}"
    );
    d.write("key.txt", b"a demo key of more than sixteen bytes\n");
    let run = d.run(&[
        "cases",
        "map",
        "--dataset",
        "ds.json",
        "--boundaries",
        "districts.geojson",
        "--population",
        "pop.csv",
        "--displace-key-file",
        "key.txt",
        "--out",
        "map.geojson",
    ]);
    run.code(0);
    let map = json(&d, "map.geojson");
    let ds = json(&d, "ds.json");
    let truth = json(&d, "truth.json");
    let features = map["features"].as_array().unwrap();
    let areas: Vec<&Value> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "area")
        .collect();
    assert_eq!(areas.len(), 30);
    // The planted hotspot: at least 5 of its 6 districts hot at 95% or more.
    let planted: Vec<&str> = truth["hotspot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let hot = areas
        .iter()
        .filter(|f| {
            let c = f["properties"]["gi_class"].as_str().unwrap_or("");
            planted.contains(&f["properties"]["code"].as_str().unwrap())
                && (c == "hot_95" || c == "hot_99")
        })
        .count();
    assert!(
        hot >= 5,
        "{hot} of the planted districts hot\n{}",
        run.stderr
    );
    // One district's figures, counted here from the dataset and the CSV.
    let code = "NM01";
    let victims: usize = ds["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["area"]["district"] == code)
        .map(|i| i["victims"].as_array().unwrap().len())
        .sum();
    let person_years: u64 = pop
        .lines()
        .filter(|l| l.starts_with("NM01,"))
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    let f = areas
        .iter()
        .find(|f| f["properties"]["code"] == code)
        .unwrap();
    assert_eq!(f["properties"]["victims"], victims);
    assert_eq!(f["properties"]["person_years"], person_years);
    let rate = f["properties"]["rate_per_100k"].as_f64().unwrap();
    assert!((rate - victims as f64 * 1e5 / person_years as f64).abs() < 1e-9);

    // Points: as many as the incidents with one, none at its exact place.
    let exact: Vec<(f64, f64)> = ds["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| {
            let p = &i["area"]["point"];
            Some((p["lon"].as_f64()?, p["lat"].as_f64()?))
        })
        .collect();
    let points: Vec<(f64, f64)> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "incident")
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
        })
        .collect();
    assert_eq!(points.len(), exact.len(), "{}", run.stderr);
    for p in &points {
        assert!(
            !exact
                .iter()
                .any(|q| (p.0 - q.0).abs() < 1e-7 && (p.1 - q.1).abs() < 1e-7),
            "a point was published undisplaced"
        );
    }

    // Without a key, no point leaves the registry; one year only.
    d.run(&[
        "cases",
        "map",
        "--dataset",
        "ds.json",
        "--boundaries",
        "districts.geojson",
        "--year",
        "2022",
        "--weights",
        "band:80",
        "--out",
        "plain.geojson",
    ])
    .code(0);
    let plain = json(&d, "plain.geojson");
    assert_eq!(plain["vigil"]["years"], serde_json::json!([2022, 2022]));
    assert!(
        plain["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["kind"] == "area")
    );
}

#[test]
fn bad_boundaries_are_reported_feature_by_feature_and_nothing_is_written() {
    let d = Dir::new();
    d.run(&["cases", "demo", "--per-year", "20", "--out", "ds.json"])
        .code(0);
    d.write(
        "bad.geojson",
        br#"{"type": "FeatureCollection", "features": [
          {"type": "Feature", "properties": {"code": "NM01"},
           "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
          {"type": "Feature", "properties": {"code": "NM02"},
           "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
          {"type": "Feature", "properties": {"code": "XX99"},
           "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}"#,
    );
    let run = d.run(&[
        "cases",
        "map",
        "--dataset",
        "ds.json",
        "--boundaries",
        "bad.geojson",
        "--out",
        "map.geojson",
    ]);
    run.code(1);
    assert!(
        run.stderr
            .contains("feature 0 (NM01): geometry is a LineString"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("feature 2 (XX99): area code unknown"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("feature 1"), "{}", run.stderr);
    assert!(!d.path().join("map.geojson").exists());
}

#[test]
fn areas_import_into_the_store_all_or_nothing() {
    let d = Dir::new();
    d.run(&[
        "cases",
        "demo",
        "--per-year",
        "20",
        "--out",
        "ds.json",
        "--boundaries",
        "b.geojson",
        "--population",
        "pop.csv",
    ])
    .code(0);
    let run = d.run(&[
        "cases",
        "areas",
        "import",
        "--db",
        "v.db",
        "--areas",
        "ds.json",
        "--boundaries",
        "b.geojson",
        "--population",
        "pop.csv",
    ]);
    run.code(0);
    assert!(
        run.stderr.contains("30 boundaries of level 2 imported"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("150 population figures imported"),
        "{}",
        run.stderr
    );
    d.write(
        "badpop.csv",
        b"area_code,year,population\nNM01,2024,5\nZZ,2024,7\nNM02,2024,x\n",
    );
    let run = d.run(&[
        "cases",
        "areas",
        "import",
        "--db",
        "v.db",
        "--areas",
        "ds.json",
        "--population",
        "badpop.csv",
    ]);
    run.code(1);
    assert!(
        run.stderr.contains("row 2, field area_code"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("row 3, field population"),
        "{}",
        run.stderr
    );
}
