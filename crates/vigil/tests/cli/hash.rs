//! The output contract of `vigil hash`: csv and jsonl shapes, order, modes, dihedrals, usage errors.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use md5::Digest;
use vigil_pdq::Mode;

use crate::util::{Dir, Rgb, is_hex, keys, small_png};

/// A directory whose byte order differs from a per-directory walk order: "a-c.png" sorts before
/// "a/…" ('-' < '/'), and upper case before lower case.
fn tree(d: &Dir) -> Vec<(&'static str, Rgb)> {
    let files = vec![
        ("imgs/a/x.png", Rgb::pattern(50, 40, 1)),
        ("imgs/a-c.png", Rgb::pattern(64, 33, 2)),
        ("imgs/B.png", Rgb::pattern(33, 70, 3)),
        ("imgs/b.png", Rgb::pattern(90, 90, 4)),
        ("imgs/a/sub/deep.png", Rgb::pattern(20, 120, 5)),
    ];
    for (rel, img) in &files {
        d.write(rel, &img.png());
    }
    files
}

fn sorted_bytes(mut v: Vec<String>) -> Vec<String> {
    v.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    v
}

#[test]
fn csv_contract() {
    let d = Dir::new();
    let files = tree(&d);
    let run = d.run(&["hash", "imgs"]);
    run.code(0);
    assert_eq!(run.stderr, "", "nothing on stderr when all is well");
    let rows = run.csv();
    let paths: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
    let expected: Vec<String> = sorted_bytes(files.iter().map(|f| f.0.to_string()).collect());
    assert_eq!(paths, expected, "sorted by path bytes");
    assert_eq!(paths[0], "imgs/B.png");
    for (pdq, q, path) in rows {
        let img = &files.iter().find(|f| f.0 == path).unwrap().1;
        let want = img.pdq(Mode::Full);
        assert_eq!(pdq, want.hash.to_hex(), "{path}");
        assert_eq!(q, want.quality, "{path}");
    }
}

#[test]
fn csv_is_the_default_and_files_keep_argument_order() {
    let d = Dir::new();
    d.write("z.png", &small_png(1));
    d.write("a.png", &small_png(2));
    let run = d.run(&["hash", "z.png", "a.png"]);
    run.code(0);
    let paths: Vec<String> = run.csv().into_iter().map(|r| r.2).collect();
    assert_eq!(paths, ["z.png", "a.png"]);
}

#[test]
fn jsonl_contract() {
    let d = Dir::new();
    let files = tree(&d);
    let run = d.run(&["hash", "--format", "jsonl", "imgs"]);
    run.code(0);
    let recs = run.jsonl();
    assert_eq!(recs.len(), files.len());
    let mut seen = Vec::new();
    for r in &recs {
        assert_eq!(
            keys(r),
            [
                "format", "height", "md5", "path", "pdq", "quality", "sha1", "sha256", "width"
            ]
            .into(),
            "{r}"
        );
        let path = r["path"].as_str().unwrap();
        seen.push(path.to_string());
        let img = &files.iter().find(|f| f.0 == path).unwrap().1;
        let want = img.pdq(Mode::Full);
        assert_eq!(r["pdq"], want.hash.to_hex());
        assert_eq!(r["quality"], want.quality);
        assert_eq!(r["width"], img.w);
        assert_eq!(r["height"], img.h);
        assert_eq!(r["format"], "png");
        // The digests against independent implementations, over the bytes on disk.
        let bytes = std::fs::read(d.path().join(path)).unwrap();
        assert_eq!(r["md5"], hex::encode(md5::Md5::digest(&bytes)));
        assert_eq!(r["sha1"], hex::encode(sha1::Sha1::digest(&bytes)));
        assert_eq!(r["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
        assert!(is_hex(r["sha256"].as_str().unwrap(), 64));
    }
    assert_eq!(seen, sorted_bytes(seen.clone()));
}

#[test]
fn dihedral_gives_eight_hashes_in_reference_order() {
    let d = Dir::new();
    let img = Rgb::pattern(120, 80, 7);
    d.write("p.png", &img.png());
    let run = d.run(&["hash", "--format", "jsonl", "--dihedral", "p.png"]);
    run.code(0);
    let r = &run.jsonl()[0];
    assert!(keys(r).contains("pdq_dihedral"));
    let got: Vec<&str> = r["pdq_dihedral"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(got.len(), 8);
    let (pdq, dih) = vigil_pdq::hash_and_dihedral(
        &vigil_pdq::Image::rgb8(&img.rgb, img.w, img.h).unwrap(),
        Mode::Full,
    );
    let want: Vec<String> = vigil_pdq::Variant::ALL
        .iter()
        .map(|&v| dih.get(v).to_hex())
        .collect();
    assert_eq!(got, want);
    assert_eq!(r["pdq"], pdq.hash.to_hex());
    // Without --dihedral there is no such field.
    let plain = d.run(&["hash", "--format", "jsonl", "p.png"]);
    assert!(!keys(&plain.jsonl()[0]).contains("pdq_dihedral"));
}

#[test]
fn reference_tool_mode_differs_above_512() {
    let d = Dir::new();
    let big = Rgb::pattern(700, 530, 9);
    d.write("big.png", &big.png());
    let full = d.run(&["hash", "big.png"]);
    let tool = d.run(&["hash", "--mode", "reference-tool", "big.png"]);
    full.code(0);
    tool.code(0);
    let (f, t) = (&full.csv()[0], &tool.csv()[0]);
    assert_eq!(f.0, big.pdq(Mode::Full).hash.to_hex());
    assert_eq!(t.0, big.pdq(Mode::ReferenceTool).hash.to_hex());
    assert_ne!(
        f.0, t.0,
        "the 512x512 pre-resize changes the hash of this image"
    );
    // Explicit `--mode full` is the default.
    assert_eq!(
        d.run(&["hash", "--mode", "full", "big.png"]).stdout,
        full.stdout
    );
}

#[test]
fn jobs_do_not_change_output() {
    let d = Dir::new();
    for i in 0..40 {
        d.write(&format!("many/{i:03}.png"), &small_png(i));
    }
    d.write("many/broken.png", &small_png(99)[..50]);
    let one = d.run(&["hash", "--format", "jsonl", "--jobs", "1", "many"]);
    let four = d.run(&["hash", "--format", "jsonl", "-j", "4", "many"]);
    one.code(1);
    four.code(1);
    assert_eq!(one.stdout, four.stdout);
    assert_eq!(one.stdout.lines().count(), 41);
}

#[test]
fn usage_errors_exit_2() {
    let d = Dir::new();
    d.write("a.png", &small_png(1));
    for args in [
        &["hash"][..],
        &["hash", "--bogus", "a.png"],
        &["hash", "--format", "xml", "a.png"],
        &["hash", "--mode", "fast", "a.png"],
        &["hash", "--jobs", "0", "a.png"],
        &["hash", "--max-file-size", "12Q", "a.png"],
        &["hash", "--max-pixels", "lots", "a.png"],
        &["hash", "--dihedral", "a.png"],
        &["frobnicate"],
    ] {
        let run = d.run(args);
        run.code(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
    // --help documents the exit codes and succeeds.
    let help = d.run(&["hash", "--help"]);
    help.code(0);
    for needle in [
        "Exit status",
        "0 ",
        "1 ",
        "2 ",
        "pdq_hex,quality,path",
        "pdq_dihedral",
    ] {
        assert!(help.stdout.contains(needle), "--help lacks {needle:?}");
    }
}

#[test]
fn size_limits() {
    let d = Dir::new();
    let big = Rgb::pattern(300, 200, 1).png();
    d.write("big.png", &big);
    let small = small_png(2);
    d.write("small.png", &small);
    assert!(small.len() < big.len());
    // The limit is inclusive: a file of exactly the limit is read.
    let limit = small.len().to_string();
    let run = d.run(&["hash", "--max-file-size", &limit, "big.png", "small.png"]);
    run.code(1);
    assert_eq!(run.csv().len(), 1);
    assert!(
        run.stderr.contains("big.png") && run.stderr.contains("--max-file-size"),
        "{}",
        run.stderr
    );
    let run = d.run(&["hash", "--max-pixels", "10K", "big.png", "small.png"]);
    run.code(1);
    assert_eq!(run.csv().len(), 1);
    assert!(run.stderr.contains("big.png"), "{}", run.stderr);
    d.run(&[
        "hash",
        "--max-file-size",
        "1M",
        "--max-pixels",
        "1MP",
        "big.png",
    ])
    .code(0);
}

#[test]
fn broken_pipe_exits_quietly() {
    let d = Dir::new();
    d.write("a.png", &small_png(3));
    // Enough lines to fill any pipe buffer, so vigil is still writing when the reader goes away.
    let args: Vec<&str> = std::iter::once("hash")
        .chain(std::iter::repeat_n("a.png", 4000))
        .collect();
    let mut child = d
        .vigil()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.ends_with(",a.png\n"), "{line:?}");
    drop(out);
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "",
        "no error message for a closed pipe"
    );
}

#[test]
fn quiet_and_verbose() {
    let d = Dir::new();
    d.write("a.png", &small_png(1));
    d.write("bad.png", b"not really");
    let q = d.run(&["hash", "-q", "a.png", "bad.png"]);
    q.code(1);
    assert!(
        q.stderr.contains("bad.png"),
        "per-input errors are still reported with -q"
    );
    assert!(
        !q.stderr.contains("inputs failed"),
        "no summary with -q: {}",
        q.stderr
    );
    let v = d.run(&["hash", "-v", "a.png", "bad.png"]);
    v.code(1);
    assert!(v.stderr.contains("inputs failed"));
    assert_eq!(v.csv(), q.csv());
}
