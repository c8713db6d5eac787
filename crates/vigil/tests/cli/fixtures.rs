//! The CLI end to end against the shared fixtures' expected values (the reference's output): the
//! decoder, the pixel hand-over and the hasher together. Skipped loudly without the fixtures.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::util::Dir;

const DIHEDRALS: [&str; 8] = [
    "orig",
    "rot90",
    "rot180",
    "rot270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
];

/// Runs `vigil hash --format jsonl ARGS DIR` and returns the records keyed by path under `dir`.
fn hash_dir(dir: &Path, args: &[&str]) -> HashMap<String, Value> {
    let d = Dir::new();
    let dir_s = dir.to_str().expect("fixtures path is UTF-8");
    let run = d.run(&[&["hash", "--format", "jsonl"], args, &[dir_s]].concat());
    run.jsonl()
        .into_iter()
        .map(|r| {
            let p = r["path"].as_str().unwrap();
            let rel = p
                .strip_prefix(dir_s)
                .unwrap()
                .trim_start_matches('/')
                .to_string();
            (rel, r)
        })
        .collect()
}

fn hamming(a: &str, b: &str) -> u32 {
    let (a, b) = (
        a.parse::<vigil_pdq::Hash256>().unwrap(),
        b.parse::<vigil_pdq::Hash256>().unwrap(),
    );
    a.distance(&b)
}

#[test]
fn conformance_set_is_exact() {
    let Some(fx) = vigil_testkit::fixtures("cli::fixtures::conformance_set_is_exact") else {
        return;
    };
    let dir = fx.join("conformance");
    let expected = vigil_testkit::read_csv(&dir.join("expected.csv"));
    let got = hash_dir(&dir, &["--dihedral"]);
    let mut bad = Vec::new();
    for row in &expected {
        let file = &row["file"];
        let Some(r) = got.get(file) else {
            bad.push(format!("{file}: no output"));
            continue;
        };
        if r.get("error").is_some() {
            bad.push(format!("{file}: {}", r["error"]));
            continue;
        }
        if r["pdq"] != row["pdq_hex"].as_str()
            || r["quality"].as_u64() != row["quality"].parse().ok()
        {
            bad.push(format!(
                "{file}: pdq {} q {} != {} q {}",
                r["pdq"], r["quality"], row["pdq_hex"], row["quality"]
            ));
        }
        if (r["width"].to_string(), r["height"].to_string())
            != (row["width"].clone(), row["height"].clone())
        {
            bad.push(format!("{file}: size {}x{}", r["width"], r["height"]));
        }
        for (i, name) in DIHEDRALS.iter().enumerate() {
            if r["pdq_dihedral"][i] != row[&format!("dihedral_{name}")].as_str() {
                bad.push(format!("{file}: dihedral_{name}"));
            }
        }
    }
    eprintln!(
        "conformance via the CLI: {}/{} files exact",
        expected.len() - bad.len().min(expected.len()),
        expected.len()
    );
    assert!(
        bad.is_empty(),
        "{} mismatches, first ones:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
    // Non-image files there (csv, md) are reported as errors, not hashed.
    assert!(
        got.get("expected.csv")
            .is_some_and(|r| r.get("error").is_some())
    );
}

/// ThreatExchange's images (JPEG, PNG, WebP, …) against `expected-pdq.csv`: file digest exact,
/// size exact, PDQ exact for lossless formats; for JPEGs within the tolerance the fixtures README
/// gives for other decoders (quality ≥ 80: ≤ 10 bits; below: ≤ 16 bits, quality ±2) and the
/// exact-match count reported. `--mode reference-tool` against the C++ tool's own output likewise.
#[test]
fn threatexchange_set() {
    let Some(fx) = vigil_testkit::fixtures("cli::fixtures::threatexchange_set") else {
        return;
    };
    let dir = fx.join("threatexchange");
    let expected = vigil_testkit::read_csv(&dir.join("expected-pdq.csv"));
    let full = hash_dir(&dir, &[]);
    let tool = hash_dir(&dir, &["--mode", "reference-tool"]);
    let mut bad = Vec::new();
    let (mut exact, mut tool_exact, mut jpegs) = (0, 0, 0);
    for row in &expected {
        let file = &row["path"];
        let (Some(f), Some(t)) = (full.get(file), tool.get(file)) else {
            bad.push(format!("{file}: no output"));
            continue;
        };
        if f.get("error").is_some() {
            bad.push(format!("{file}: {}", f["error"]));
            continue;
        }
        if f["sha256"] != row["sha256"].as_str() {
            bad.push(format!("{file}: sha256"));
        }
        if (f["width"].to_string(), f["height"].to_string())
            != (row["width"].clone(), row["height"].clone())
        {
            bad.push(format!("{file}: size {}x{}", f["width"], f["height"]));
        }
        let is_jpeg = f["format"] == "jpeg";
        jpegs += usize::from(is_jpeg);
        for (rec, hex_col, q_col, counter) in [
            (f, "pdq_hex", "quality", &mut exact),
            (t, "cpp_tool_pdq_hex", "cpp_tool_quality", &mut tool_exact),
        ] {
            let (want_q, got_q): (i64, i64) = (
                row[q_col].parse().unwrap(),
                rec["quality"].as_i64().unwrap(),
            );
            let d = hamming(rec["pdq"].as_str().unwrap(), &row[hex_col]);
            if d == 0 && want_q == got_q {
                *counter += 1;
                continue;
            }
            let ok = is_jpeg
                && if want_q >= 80 {
                    d <= 10 && got_q >= 80
                } else {
                    d <= 16 && (want_q - got_q).abs() <= 2
                };
            if !ok {
                bad.push(format!(
                    "{file} ({hex_col}): {d} bits off, quality {got_q} vs {want_q}"
                ));
            }
        }
    }
    eprintln!(
        "threatexchange via the CLI: full {exact}/{n} exact, reference-tool {tool_exact}/{n} exact ({jpegs} JPEGs held to the tolerance)",
        n = expected.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
