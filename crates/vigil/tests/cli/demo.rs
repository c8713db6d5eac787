//! `vigil demo` works without fixtures or network, and cleans up after itself.

use crate::util::Dir;

#[test]
fn demo_runs() {
    let d = Dir::new();
    let run = d.run(&["demo"]);
    run.code(0);
    let rows = run.csv();
    assert_eq!(rows.len(), 19, "{}", run.stdout);
    assert!(
        rows.iter().all(|r| !r.2.contains('/')),
        "paths are shown relative to the demo directory"
    );
    assert!(
        run.stderr.contains("corrupt.png") && run.stderr.contains("notes.txt"),
        "{}",
        run.stderr
    );
    let summary = run
        .stderr
        .lines()
        .find(|l| l.starts_with("demo: 21 files"))
        .unwrap_or_else(|| panic!("no summary in {}", run.stderr));
    assert!(
        summary.starts_with("demo: 21 files, 19 hashed, 2 failed"),
        "{summary}"
    );
    // The bank part: plasma.png's hash in an SQLite bank; it matches itself at distance 0 and
    // its half-size copy (nearly the same hash), and the unrelated images do not match.
    let bank = run.stderr.lines().last().unwrap();
    assert!(bank.starts_with("demo: bank \"demo-known\""), "{bank}");
    assert!(bank.contains("plasma.png at 0"), "{bank}");
    assert!(bank.contains("plasma-half.png at "), "{bank}");
    assert!(
        !bank.contains("checker") && !bank.contains("noise"),
        "{bank}"
    );
    // The under-5-px image gets the zero hash with quality 0, as the reference.
    let tiny = rows.iter().find(|r| r.2 == "tiny-4x4.png").unwrap();
    assert_eq!((tiny.0.as_str(), tiny.1), ("0".repeat(64).as_str(), 0));

    let json = d.run(&["demo", "--format", "jsonl", "--dihedral", "-q"]);
    json.code(0);
    let recs = json.jsonl();
    assert_eq!(recs.len(), 21);
    assert_eq!(recs.iter().filter(|r| r.get("error").is_some()).count(), 2);
    assert!(
        recs.iter()
            .filter(|r| r.get("pdq").is_some())
            .all(|r| r["pdq_dihedral"].as_array().unwrap().len() == 8)
    );
}
