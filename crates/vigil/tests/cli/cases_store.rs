//! `vigil cases` on the store: the area hierarchy, imports checked against it, record scopes,
//! and SDG 16.2 figures (computed 16.2.2-style rates beside imported survey indicators).

use crate::util::{Dir, Run};

/// `vigil --db s.db cases ARGS…` in `d`.
fn store_cases(d: &Dir, args: &[&str]) -> Run {
    let mut a = vec!["--db", "s.db", "cases"];
    a.extend_from_slice(args);
    d.run(&a)
}

/// The demo's register (CSV with its mapping) goes into the store once the store holds the
/// demo's area hierarchy; every row is imported and counted.
#[test]
fn demo_register_into_the_store_checked_against_its_hierarchy() {
    let d = Dir::new();
    d.run(&[
        "cases",
        "demo",
        "--per-year",
        "10",
        "--out",
        "ds.json",
        "--register",
        "reg.csv",
        "--register-mapping",
        "reg.json",
    ])
    .code(0);
    let ds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("ds.json")).unwrap()).unwrap();
    let n = ds["incidents"].as_array().unwrap().len();
    let import = || {
        store_cases(
            &d,
            &["import", "reg.csv", "--mapping", "reg.json", "--store"],
        )
    };
    // No hierarchy in the store yet: said so, nothing imported.
    let run = import();
    run.code(2);
    assert!(run.stderr.contains("no area hierarchy"), "{}", run.stderr);
    let run = store_cases(&d, &["areas", "import", "--hierarchy", "ds.json"]);
    run.code(0);
    assert!(
        run.stderr
            .contains("hierarchy of 3 provinces, 30 districts, 60 tehsils saved"),
        "{}",
        run.stderr
    );
    let run = import();
    run.code(0);
    assert!(
        run.stderr.contains(&format!(
            "{n} rows, {n} imported into the store ({n} new, 0 replaced), 0 error(s)"
        )),
        "{}",
        run.stderr
    );
    let run = d.run(&[
        "--db", "s.db", "cases", "stats", "--rows", "year", "--k", "1",
    ]);
    run.code(0);
    assert_eq!(
        run.stdout.lines().last().unwrap(),
        format!("total,{n}"),
        "{}",
        run.stdout
    );
}

#[test]
fn scopes_from_the_command_line() {
    let d = Dir::new();
    d.run(&["cases", "demo", "--per-year", "10", "--out", "ds.json"])
        .code(0);
    let scopes = |args: &[&str]| {
        let mut a = vec!["scopes"];
        a.extend_from_slice(args);
        store_cases(&d, &a)
    };
    // Codes are checked against the store's hierarchy, so none is loaded: refused.
    let run = scopes(&["set", "key:reader", "NM"]);
    run.code(2);
    assert!(run.stderr.contains("no area hierarchy"), "{}", run.stderr);
    store_cases(&d, &["areas", "import", "--hierarchy", "ds.json"]).code(0);
    scopes(&["set", "key:reader", "NM", "RL01"]).code(0);
    scopes(&["set", "user:ana", "EV02"]).code(0);
    let run = scopes(&["list"]);
    run.code(0);
    assert_eq!(run.stdout, "key:reader\tNM,RL01\nuser:ana\tEV02\n");
    // A typo is refused, naming it, and the old scope stays.
    let run = scopes(&["set", "key:reader", "NM", "ZZ99"]);
    run.code(2);
    assert!(run.stderr.contains("ZZ99"), "{}", run.stderr);
    let run = scopes(&["set", "reader", "NM"]);
    run.code(2);
    assert!(
        run.stderr.contains("key:NAME or user:NAME"),
        "{}",
        run.stderr
    );
    scopes(&["clear", "key:reader"]).code(0);
    let run = scopes(&["list"]);
    assert_eq!(run.stdout, "user:ana\tEV02\n");
    // Each change is in the audit log.
    let run = d.run(&["--db", "s.db", "audit"]);
    run.code(0);
    assert_eq!(
        run.stdout.matches("\"cases.scope\"").count(),
        3,
        "{}",
        run.stdout
    );
}

const INDICATORS: &str = "indicator,area_code,year,value,unit,sex,age_group,source
16.2.1,,2019,71.5,percent,,1-14,MICS 2019 table PR.1
16.2.3,NM,2020,3.2,percent,female,18-29,VACS 2020 table 4
";

#[test]
fn sdg_rates_computed_beside_imported_indicators() {
    let d = Dir::new();
    d.run(&["cases", "demo", "--per-year", "10", "--out", "ds.json"])
        .code(0);
    store_cases(&d, &["areas", "import", "--hierarchy", "ds.json"]).code(0);
    // Four victims in NM01 in 2023 (2 + 1 + 1), one in RL01 (no population figure: no rate).
    d.write(
        "map.json",
        br#"{"taxonomy":"sahil-2022","columns":{"date":"Date","category":"Crime","province":"Province","district":"District","outlet":"Paper","victim_sex":"Sex"}}"#,
    );
    d.write(
        "reg.csv",
        b"Date,Crime,Province,District,Paper,Sex\n\
          2023-03-04,abduction,NM,NM01,Daily Lantern,female;male\n\
          2023-04-05,missing,NM,NM01,River Post,female\n\
          2023-06-07,csa,NM,NM01,River Post,male\n\
          2023-06-08,csa,RL,RL01,River Post,male\n",
    );
    d.run(&[
        "--db",
        "s.db",
        "cases",
        "import",
        "reg.csv",
        "--mapping",
        "map.json",
        "--store",
    ])
    .code(0);
    d.write(
        "pop.csv",
        b"area_code,year,population\nNM01,2023,200000\nNM01,2022,100000\n",
    );
    // A bad indicators file: each bad row named, nothing imported.
    d.write(
        "bad.csv",
        b"indicator,area_code,year,value,unit,sex,age_group,source\n\
          16.2.1,,2019,171.5,percent,,1-14,MICS\n\
          16.2.3,ZZ,2020,3.2,percent,female,18-29,VACS\n\
          16.2.9,,2020,3.2,percent,,,X\n\
          16.2.3,,2020,3.2,per_100k,,,X\n\
          16.2.3,,2020,abc,percent,,,\n",
    );
    let run = d.run(&[
        "--db",
        "s.db",
        "cases",
        "areas",
        "import",
        "--indicators",
        "bad.csv",
    ]);
    run.code(1);
    for want in [
        "row 1, field value: 171.5 percent is over 100",
        "row 2, field area_code: unknown area code \"ZZ\"",
        "row 3, field indicator: \"16.2.9\" is not one of",
        "row 4, field unit: 16.2.3 is a proportion of surveyed people",
        "row 5, field value: \"abc\" is not a non-negative decimal number",
        "row 5, field source: empty",
        "6 error(s), nothing imported",
    ] {
        assert!(run.stderr.contains(want), "{want}\n{}", run.stderr);
    }
    d.write("ind.csv", INDICATORS.as_bytes());
    let run = d.run(&[
        "--db",
        "s.db",
        "cases",
        "areas",
        "import",
        "--population",
        "pop.csv",
        "--indicators",
        "ind.csv",
    ]);
    run.code(0);
    assert!(
        run.stderr
            .contains("2 indicator figures imported (0 replaced)"),
        "{}",
        run.stderr
    );
    let run = d.run(&["--db", "s.db", "cases", "sdg"]);
    run.code(0);
    assert_eq!(
        run.stdout,
        "indicator,area_code,year,value,unit,sex,age_group,method,victims,population,source\n\
         16.2.2-style,NM01,2022,0.00,per_100k,,,\"computed: detected (media-reported) victims per 100,000; not prevalence\",0,100000,registry\n\
         16.2.2-style,NM01,2023,2.00,per_100k,,,\"computed: detected (media-reported) victims per 100,000; not prevalence\",4,200000,registry\n\
         16.2.1,,2019,71.5,percent,,1-14,imported as published,,,MICS 2019 table PR.1\n\
         16.2.3,NM,2020,3.2,percent,female,18-29,imported as published,,,VACS 2020 table 4\n",
        "{}",
        run.stderr
    );
}

/// `cases map` without files reads the registry, boundaries and population from the store and
/// gives the same areas as from the files they were imported from.
#[test]
fn map_from_the_store_equals_map_from_the_files() {
    let d = Dir::new();
    d.run(&[
        "cases",
        "demo",
        "--per-year",
        "40",
        "--out",
        "ds.json",
        "--boundaries",
        "b.geojson",
        "--population",
        "pop.csv",
        "--register",
        "reg.csv",
        "--register-mapping",
        "reg.json",
    ])
    .code(0);
    // Nothing in the store yet: said so.
    let run = d.run(&["--db", "s.db", "cases", "map", "--out", "m.geojson"]);
    run.code(2);
    assert!(
        run.stderr.contains("has no incidents") || run.stderr.contains("no district boundaries"),
        "{}",
        run.stderr
    );
    store_cases(
        &d,
        &[
            "areas",
            "import",
            "--hierarchy",
            "ds.json",
            "--boundaries",
            "b.geojson",
            "--population",
            "pop.csv",
        ],
    )
    .code(0);
    store_cases(
        &d,
        &["import", "reg.csv", "--mapping", "reg.json", "--store"],
    )
    .code(0);
    d.run(&["--db", "s.db", "cases", "map", "--out", "store.geojson"])
        .code(0);
    d.run(&[
        "cases",
        "map",
        "--dataset",
        "ds.json",
        "--boundaries",
        "b.geojson",
        "--population",
        "pop.csv",
        "--out",
        "files.geojson",
    ])
    .code(0);
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.path().join(f)).unwrap()).unwrap()
    };
    let (a, b) = (read("store.geojson"), read("files.geojson"));
    assert_eq!(a["vigil"], b["vigil"]);
    // The store gives areas by code, the file in its order; Gi* sums in that order, so its
    // floating-point figures agree to rounding, counts and classes exactly.
    let by_code = |v: &serde_json::Value| -> std::collections::BTreeMap<String, serde_json::Value> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["properties"]["code"].as_str().unwrap().to_string(),
                    f.clone(),
                )
            })
            .collect()
    };
    let (a, b) = (by_code(&a), by_code(&b));
    assert_eq!(a.len(), 30);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (code, fa) in &a {
        let fb = &b[code];
        assert_eq!(fa["geometry"], fb["geometry"], "{code}");
        let (pa, pb) = (
            fa["properties"].as_object().unwrap(),
            fb["properties"].as_object().unwrap(),
        );
        assert_eq!(
            pa.keys().collect::<Vec<_>>(),
            pb.keys().collect::<Vec<_>>(),
            "{code}"
        );
        for (k, va) in pa {
            let vb = &pb[k];
            match (va.as_f64(), vb.as_f64()) {
                (Some(x), Some(y)) if !va.is_u64() => {
                    assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                        "{code} {k}: {x} vs {y}"
                    )
                }
                _ => assert_eq!(va, vb, "{code} {k}"),
            }
        }
    }
    // The store's read is audited.
    let run = d.run(&["--db", "s.db", "audit"]);
    assert!(run.stdout.contains("\"cases.read\""), "{}", run.stdout);
}
