//! `vigil cases`: demo data, import (all or nothing), suppressed tables, ranked networks.

use crate::util::Dir;

#[test]
fn cases_demo_stats_and_network() {
    let d = Dir::new();
    d.run(&[
        "cases",
        "demo",
        "--per-year",
        "100",
        "--out",
        "ds.json",
        "--truth",
        "truth.json",
    ])
    .code(0);
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("truth.json")).unwrap())
            .unwrap();
    assert_eq!(truth["networks"].as_array().unwrap().len(), 5);

    let run = d.run(&[
        "cases", "stats", "ds.json", "--rows", "category", "--cols", "year", "--k", "5",
    ]);
    run.code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "category,2019,2020,2021,2022,2023,total");
    assert!(
        lines.last().unwrap().starts_with("total,"),
        "{}",
        run.stdout
    );
    // Column totals add up to the grand total.
    let total: Vec<u64> = lines
        .last()
        .unwrap()
        .split(',')
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(total[..5].iter().sum::<u64>(), total[5]);

    let run = d.run(&[
        "cases", "stats", "ds.json", "--rows", "sex", "--format", "sdmx",
    ]);
    run.code(0);
    assert!(
        run.stdout.starts_with(
            "FREQ,TIME_PERIOD,REF_AREA,SEX,UNIT_MEASURE,OBS_VALUE,OBS_STATUS,CONF_STATUS\n"
        ),
        "{}",
        run.stdout
    );

    let run = d.run(&["cases", "network", "ds.json", "--top", "3"]);
    run.code(0);
    assert!(
        run.stdout.starts_with("candidate network 1: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("both name ") || run.stdout.contains("bits apart"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("hubs set aside"), "{}", run.stderr);
}

#[test]
fn cases_import_is_all_or_nothing() {
    let d = Dir::new();
    d.run(&["cases", "demo", "--per-year", "10", "--out", "ds.json"])
        .code(0);
    d.write(
        "map.json",
        br#"{"taxonomy":"sahil-2022","columns":{"date":"Date","category":"Crime","province":"Province","district":"District","outlet":"Paper"},
            "values":{"category":{"Kidnapping":"abduction"}}}"#,
    );
    d.write("bad.csv", b"Date,Crime,Province,District,Paper\n2023-03-04,Kidnapping,NM,NM01,Daily Lantern\n2023-02-30,Theft,NM,RL01,Daily Lantern\n");
    let run = d.run(&[
        "cases",
        "import",
        "bad.csv",
        "--mapping",
        "map.json",
        "--areas",
        "ds.json",
        "--out",
        "out.json",
    ]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "row 2 (incident ROW-000002), field date: impossible or malformed date \"2023-02-30\""
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing imported"), "{}", run.stderr);
    assert!(!d.path().join("out.json").exists(), "nothing written");

    let run = d.run(&[
        "cases",
        "import",
        "bad.csv",
        "--mapping",
        "map.json",
        "--areas",
        "ds.json",
        "--out",
        "out.json",
        "--skip-bad",
    ]);
    run.code(1);
    let before: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("ds.json")).unwrap()).unwrap();
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(
        after["incidents"].as_array().unwrap().len(),
        before["incidents"].as_array().unwrap().len() + 1
    );
}
