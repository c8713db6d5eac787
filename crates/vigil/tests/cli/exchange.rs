//! `vigil exchange …` with file exchanges (no network), and `vigil bank import`, which shares the
//! record readers with them.

use serde_json::Value;

use crate::util::*;

/// A valid PDQ hex from a seed (placeholder hashes: no real list).
fn hash(seed: u64) -> String {
    format!("{:016x}", seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)).repeat(4)
}

fn list(seeds: &[u64]) -> String {
    seeds.iter().map(|s| format!("{}\n", hash(*s))).collect()
}

#[test]
fn exchange_add_fetch_status_and_remove_with_files() {
    let d = Dir::new();
    d.write("lists/a.txt", list(&[1, 2]).as_bytes());
    d.run(&["--db", "v.db", "bank", "create", "b"]).code(0);
    let r = d.run(&[
        "--db", "v.db", "exchange", "add", "drop", "--bank", "b", "--kind", "file", "--path",
        "lists",
    ]);
    r.code(0);
    assert_eq!(
        r.stdout,
        "added file exchange \"drop\" filling bank \"b\"\n"
    );

    let r = d.run(&["--db", "v.db", "exchange", "fetch", "drop"]);
    r.code(0);
    let out = r.jsonl();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["name"], "drop");
    assert_eq!(out[0]["status"], "ok");
    assert_eq!(out[0]["error"], Value::Null);
    assert_eq!(
        (out[0]["pages"].as_u64(), out[0]["records"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        r.stderr
            .contains("vigil: exchange \"drop\" into bank \"b\": 1 files, 2 records"),
        "{}",
        r.stderr
    );

    let r = d.run(&["--db", "v.db", "exchange", "status"]);
    r.code(0);
    let st = r.jsonl();
    assert_eq!(st.len(), 1);
    let s = &st[0];
    for key in [
        "name",
        "kind",
        "bank",
        "config",
        "created_ms",
        "last_fetch_ms",
        "status",
        "error",
        "checkpoint",
        "records",
        "deletions",
        "errors",
    ] {
        assert!(s.get(key).is_some(), "status has no {key}: {s}");
    }
    assert_eq!(
        (&s["kind"], &s["bank"], &s["status"]),
        (&"file".into(), &"b".into(), &"ok".into())
    );
    assert_eq!(
        (
            s["records"].as_i64(),
            s["deletions"].as_i64(),
            s["errors"].as_i64()
        ),
        (Some(2), Some(0), Some(0))
    );
    assert!(s["last_fetch_ms"].as_i64().unwrap() > 0);
    let path = s["config"]["path"].as_str().unwrap();
    assert!(path.starts_with('/') && path.ends_with("/lists"), "{path}");
    assert_eq!(s["config"]["format"], "plain");
    assert!(
        s["checkpoint"]["files"]["a.txt"]["sha256"].is_string(),
        "{s}"
    );

    let bank: Value =
        serde_json::from_str(&d.run(&["--db", "v.db", "bank", "show", "b"]).code(0).stdout)
            .unwrap();
    assert_eq!(bank["content"], 2);

    // Nothing new.
    let r = d.run(&["--db", "v.db", "exchange", "fetch", "--all"]);
    r.code(0);
    let out = r.jsonl();
    assert_eq!(
        (out[0]["records"].as_u64(), out[0]["unchanged"].as_u64()),
        (Some(0), Some(1))
    );

    // A new file with a bad line: applied, the line skipped, exit 1.
    d.write("lists/b.txt", format!("{}zz\n", list(&[3])).as_bytes());
    let r = d.run(&["--db", "v.db", "exchange", "fetch", "drop"]);
    r.code(1);
    assert_eq!(r.jsonl()[0]["status"], "skipped");
    assert!(
        r.stderr.contains("vigil: warning: drop: skipped "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("b.txt:2"), "{}", r.stderr);
    let st = d
        .run(&["--db", "v.db", "exchange", "status", "drop"])
        .code(0)
        .jsonl();
    assert_eq!(
        (st[0]["records"].as_i64(), st[0]["errors"].as_i64()),
        (Some(3), Some(1))
    );

    // Removing needs --yes; the bank keeps the content.
    d.run(&["--db", "v.db", "exchange", "remove", "drop"])
        .code(2);
    let r = d.run(&["--db", "v.db", "exchange", "remove", "drop", "--yes"]);
    r.code(0);
    assert!(
        r.stdout.contains("removed exchange \"drop\""),
        "{}",
        r.stdout
    );
    assert_eq!(
        d.run(&["--db", "v.db", "exchange", "status"])
            .code(0)
            .stdout,
        ""
    );
    let bank: Value =
        serde_json::from_str(&d.run(&["--db", "v.db", "bank", "show", "b"]).code(0).stdout)
            .unwrap();
    assert_eq!(bank["content"], 3);
    let audit = d.run(&["--db", "v.db", "audit"]).code(0).jsonl();
    let actions: Vec<&str> = audit
        .iter()
        .filter_map(|a| a["action"].as_str())
        .filter(|a| a.starts_with("exchange."))
        .collect();
    assert_eq!(
        actions,
        [
            "exchange.add",
            "exchange.fetch",
            "exchange.fetch",
            "exchange.fetch",
            "exchange.remove"
        ]
    );
}

#[test]
fn a_failing_fetch_exits_2_and_is_in_the_status() {
    let d = Dir::new();
    d.write("lists/a.txt", list(&[1]).as_bytes());
    d.run(&["--db", "v.db", "bank", "create", "b"]).code(0);
    d.run(&[
        "--db", "v.db", "exchange", "add", "drop", "--bank", "b", "--kind", "file", "--path",
        "lists",
    ])
    .code(0);
    std::fs::remove_dir_all(d.path().join("lists")).unwrap();
    let r = d.run(&["--db", "v.db", "exchange", "fetch", "drop"]);
    r.code(2);
    assert!(
        r.stderr.contains("vigil: error: exchange \"drop\": "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("lists"), "{}", r.stderr);
    let st = d
        .run(&["--db", "v.db", "exchange", "status", "drop"])
        .code(0)
        .jsonl();
    assert_eq!(st[0]["status"], "error");
    assert!(st[0]["error"].as_str().unwrap().contains("lists"));
}

#[test]
fn exchange_usage_errors() {
    let d = Dir::new();
    d.write("x.txt", list(&[1]).as_bytes());
    d.run(&["--db", "v.db", "bank", "create", "b"]).code(0);
    let add = |extra: &[&str]| {
        let mut args = vec!["--db", "v.db", "exchange", "add", "e", "--bank", "b"];
        args.extend_from_slice(extra);
        d.run(&args)
    };
    let r = add(&["--kind", "file"]);
    r.code(2);
    assert!(
        r.stderr.contains("--kind file needs --path"),
        "{}",
        r.stderr
    );
    let r = add(&[
        "--kind",
        "file",
        "--path",
        "x.txt",
        "--url",
        "https://a.invalid",
    ]);
    r.code(2);
    assert!(r.stderr.contains("are for --kind ncmec"), "{}", r.stderr);
    let r = add(&["--kind", "file", "--path", "nope.txt"]);
    r.code(2);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    let r = add(&["--kind", "ncmec", "--url", "http://hashes.invalid/npo"]);
    r.code(2);
    assert!(r.stderr.contains("use https"), "{}", r.stderr);
    let r = add(&[
        "--kind",
        "ncmec",
        "--url",
        "https://alice:hunter2@hashes.invalid/npo",
    ]);
    r.code(2);
    assert!(r.stderr.contains("environment variables"), "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    let r = add(&[
        "--kind",
        "ncmec",
        "--url",
        "https://hashes.invalid/npo",
        "--user-env",
        "U",
    ]);
    r.code(2);
    assert!(
        r.stderr.contains("both the user and the password"),
        "{}",
        r.stderr
    );
    let r = add(&[
        "--kind",
        "ncmec",
        "--url",
        "https://hashes.invalid",
        "--start",
        "soon",
    ]);
    r.code(2);
    let r = d.run(&[
        "--db", "v.db", "exchange", "add", "e", "--bank", "nope", "--kind", "file", "--path",
        "x.txt",
    ]);
    r.code(2);
    assert!(r.stderr.contains("no bank named \"nope\""), "{}", r.stderr);
    let r = d.run(&["--db", "v.db", "exchange", "fetch", "nope"]);
    r.code(2);
    assert!(
        r.stderr.contains("no exchange named \"nope\""),
        "{}",
        r.stderr
    );
    d.run(&["--db", "v.db", "exchange", "fetch"]).code(2);

    // An NCMEC exchange is stored with the variables' names only (never fetched here).
    add(&[
        "--kind",
        "ncmec",
        "--url",
        "https://hashes.invalid/npo/",
        "--user-env",
        "NCMEC_USER",
        "--password-env",
        "NCMEC_PASSWORD",
        "--start",
        "2024-01-01",
    ])
    .code(0);
    let st = d
        .run(&["--db", "v.db", "exchange", "status", "e"])
        .code(0)
        .jsonl();
    assert_eq!(
        st[0]["config"],
        serde_json::json!({"base_url": "https://hashes.invalid/npo/", "user_env": "NCMEC_USER",
                           "password_env": "NCMEC_PASSWORD", "start": 1_704_067_200})
    );
    assert_eq!(
        (&st[0]["status"], &st[0]["checkpoint"]),
        (&Value::Null, &Value::Null)
    );
    let r = add(&["--kind", "file", "--path", "x.txt"]);
    r.code(2);
    assert!(
        r.stderr.contains("an exchange named \"e\" exists already"),
        "{}",
        r.stderr
    );
}

/// `vigil bank import` reads files through the same readers as file exchanges; its behaviour
/// is unchanged: a bad record refuses the file (exit 2), --skip-bad imports the rest (exit 1).
#[test]
fn bank_import_refuses_or_skips_bad_records() {
    let d = Dir::new();
    d.write(
        "l.txt",
        format!("{}not-a-hash\n{}", list(&[1]), list(&[2])).as_bytes(),
    );
    d.write(
        "p.txt",
        format!(
            "pdq {}\nmd5 {}\n",
            hash(3),
            "d41d8cd98f00b204e9800998ecf8427e"
        )
        .as_bytes(),
    );
    d.run(&["--db", "v.db", "bank", "create", "b"]).code(0);
    let r = d.run(&["--db", "v.db", "bank", "import", "b", "l.txt"]);
    r.code(2);
    assert!(
        r.stderr.contains("vigil: error: importing \"l.txt\": import into bank \"b\" refused, nothing imported: l.txt:2: "),
        "{}",
        r.stderr
    );
    let r = d.run(&["--db", "v.db", "bank", "import", "b", "l.txt", "--skip-bad"]);
    r.code(1);
    assert!(
        r.stderr.contains("vigil: warning: skipped l.txt:2: "),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "vigil: l.txt: 2 records into bank \"b\": 2 new, 0 updated, 2 new signals, 1 skipped"
        ),
        "{}",
        r.stderr
    );
    let r = d.run(&[
        "--db", "v.db", "bank", "import", "b", "p.txt", "--format", "pytx",
    ]);
    r.code(0);
    let bank: Value =
        serde_json::from_str(&d.run(&["--db", "v.db", "bank", "show", "b"]).code(0).stdout)
            .unwrap();
    assert_eq!(
        (&bank["content"], &bank["signals"]),
        (&Value::from(4), &Value::from(4))
    );
}

/// A VICS `#Cases` file imported and exported again: the same cases, with every case member
/// (whether it comes before or after `Media` in the file), each holding the same media. A bank
/// that mixes media with and without a case is written as a hash set, with a warning.
#[test]
fn vics_cases_round_trip_through_a_bank() {
    use std::collections::BTreeSet;
    use vigil_exchange::vics::{VicsOptions, parse_vics};

    let media = |id: u32| {
        format!(
            r#"{{"MediaID":"m{id}","MD5":"{:032x}","SHA1":"{:040x}","Category":{},"Series":"s{id}","VictimIdentified":true,"Tags":["t{id}"],"MediaSize":{}}}"#,
            id * 7 + 1,
            id * 11 + 3,
            id % 4,
            1000 + id
        )
    };
    let file = format!(
        r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases","value":[
{{"CaseID":"c-1","CaseNumber":"2026/17","Media":[{},{}],"SubmittingAgency":"Hotline A","CaseTotals":{{"Media":2}}}},
{{"Media":[{}],"CaseID":"c-2","IsActive":false}}]}}"#,
        media(1),
        media(2),
        media(3)
    );
    let d = Dir::new();
    d.write("cases.json", file.as_bytes());
    d.run(&["--db", "v.db", "bank", "create", "b"]).code(0);
    d.run(&[
        "--db",
        "v.db",
        "bank",
        "import",
        "b",
        "cases.json",
        "--format",
        "vics",
    ])
    .code(0);
    let r = d.run(&[
        "--db",
        "v.db",
        "bank",
        "export",
        "b",
        "--format",
        "vics",
        "--vics-scheme",
        "us",
    ]);
    r.code(0);

    // Each case as (members, its media's ids and hashes), without file positions.
    type Case = (Vec<(String, String)>, BTreeSet<(String, String)>);
    let cases = |json: &[u8]| -> BTreeSet<Case> {
        let f = parse_vics(json, "x", &VicsOptions::default()).unwrap();
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        f.cases
            .iter()
            .map(|c| {
                let members = c
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace(' ', "")))
                    .collect();
                let media = f
                    .media
                    .iter()
                    .filter(|m| {
                        matches!(m.location, vigil_exchange::Location::Media { case: Some(i), .. } if i == c.index)
                    })
                    .map(|m| (m.value.ids.join(","), format!("{:?}", m.value.signals)))
                    .collect();
                (members, media)
            })
            .collect()
    };
    let want = cases(file.as_bytes());
    assert_eq!(want.len(), 2);
    assert_eq!(cases(r.stdout.as_bytes()), want, "{}", r.stdout);

    // One media without a case: the bank goes out as a #Media hash set.
    d.write(
        "media.json",
        format!(
            r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media","value":[{}]}}"#,
            media(4)
        )
        .as_bytes(),
    );
    d.run(&[
        "--db",
        "v.db",
        "bank",
        "import",
        "b",
        "media.json",
        "--format",
        "vics",
    ])
    .code(0);
    let r = d.run(&["--db", "v.db", "bank", "export", "b", "--format", "vics"]);
    r.code(0);
    assert!(r.stdout.contains("$metadata#Media"), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("mixes media with and without a VICS case: written as a #Media hash set, the case members of 3 media were left out"),
        "{}",
        r.stderr
    );
}

/// python-threatexchange text and CSV (with an extra column) through a bank and back: the
/// same rows. (Both are written record by record as the bank is read; the CSV's header, which
/// names every extra column, comes from a first pass.)
#[test]
fn pytx_text_and_csv_round_trip_through_a_bank() {
    use std::collections::BTreeSet;

    let d = Dir::new();
    let text = format!(
        "pdq {}\nmd5 d41d8cd98f00b204e9800998ecf8427e\npdq {}\n",
        hash(1),
        hash(2)
    );
    d.write("p.txt", text.as_bytes());
    let csv = format!(
        "signal_type,signal_str,collab,category,tags,note\r\n\
         pdq,{},c1,,a b,first\r\n\
         md5,0cc175b9c0f1b6a831c399e269772661,c1,,,\r\n\
         pdq,{},c2,,x,third\r\n",
        hash(3),
        hash(4)
    );
    d.write("p.csv", csv.as_bytes());
    let lines = |s: &str| s.lines().map(str::to_string).collect::<BTreeSet<String>>();
    for (file, format, bank, want) in [
        ("p.txt", "pytx", "t", text.as_str()),
        ("p.csv", "pytx-csv", "c", csv.as_str()),
    ] {
        d.run(&["--db", "v.db", "bank", "create", bank]).code(0);
        d.run(&[
            "--db", "v.db", "bank", "import", bank, file, "--format", format,
        ])
        .code(0);
        let r = d.run(&["--db", "v.db", "bank", "export", bank, "--format", format]);
        r.code(0);
        assert_eq!(lines(&r.stdout), lines(want), "{format}: {}", r.stdout);
        if format == "pytx-csv" {
            assert!(
                r.stdout
                    .starts_with("signal_type,signal_str,collab,category,tags,note\r\n")
            );
        }
    }
}
