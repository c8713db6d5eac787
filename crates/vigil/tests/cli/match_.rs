//! `vigil match` and `vigil index build`: list spellings, threshold boundaries, exit statuses,
//! image and hash queries, saved indexes (and corrupt ones), and the fixtures' haystack/needles
//! against a brute-force scan computed here.

use serde_json::{Value, json};
use vigil_pdq::{Hash256, Mode};

use crate::util::{Dir, Rgb};

const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

fn h(s: &str) -> Hash256 {
    s.parse().unwrap()
}

/// `base` with bits `0..n` (counted from `from`) flipped: exactly `n` away from it.
fn flipped(base: &str, from: usize, n: usize) -> String {
    let mut b = *h(base).bytes();
    for k in from..from + n {
        b[k / 8] ^= 1 << (k % 8);
    }
    let x = Hash256::from_bytes(b);
    assert_eq!(x.distance(&h(base)), n as u32);
    x.to_hex()
}

/// The `(hash, distance, list, line)` of each match of one jsonl record.
fn hits(rec: &Value) -> Vec<(String, u64, String, u64)> {
    rec["matches"]
        .as_array()
        .unwrap_or_else(|| panic!("no matches array: {rec}"))
        .iter()
        .map(|m| {
            (
                m["hash"].as_str().unwrap().to_string(),
                m["distance"].as_u64().unwrap(),
                m["list"].as_str().unwrap().to_string(),
                m["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn hit(hash: &str, d: u64, list: &str, line: u64) -> (String, u64, String, u64) {
    (hash.to_string(), d, list.to_string(), line)
}

#[test]
fn lists_with_crlf_bom_case_comments_duplicates_and_bad_lines() {
    let d = Dir::new();
    let near = flipped(H, 0, 3);
    let list = format!(
        "\u{feff}# known\r\n{}\r\n\r\n  {near} ,100,x.jpg\r\nnot a hash\r\n{H}\tsame again\r\n{}\r\n",
        H.to_uppercase(),
        &H[..60]
    );
    d.write("l.txt", list.as_bytes());
    d.write("other.csv", format!("{H}\n").as_bytes());
    d.write("q.txt", format!("{H}\n").as_bytes());
    let run = d.run(&[
        "match",
        "--list",
        "l.txt",
        "--list",
        "other.csv",
        "--hashes",
        "q.txt",
    ]);
    run.code(0);
    let recs = run.jsonl();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["query"], H);
    assert_eq!(
        hits(&recs[0]),
        [
            hit(H, 0, "l.txt", 2),
            hit(H, 0, "l.txt", 6),
            hit(H, 0, "other.csv", 1),
            hit(&near, 3, "l.txt", 4),
        ],
        "sorted by distance, then list (argument order), then line"
    );
    // Both malformed lines are warned about, by file and line, and counted in the summary.
    assert!(run.stderr.contains("l.txt:5: "), "{}", run.stderr);
    assert!(run.stderr.contains("l.txt:7: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("2 malformed list lines skipped"),
        "{}",
        run.stderr
    );
}

#[test]
fn threshold_is_inclusive_31_by_default() {
    let d = Dir::new();
    let (d31, d32) = (flipped(H, 0, 31), flipped(H, 100, 32));
    d.write("l.txt", format!("{d31}\n{d32}\n").as_bytes());
    d.write("q.txt", format!("{H}\n").as_bytes());
    let base = ["match", "--list", "l.txt", "--hashes", "q.txt"];
    let run = d.run(&base);
    run.code(0);
    assert_eq!(hits(&run.jsonl()[0]), [hit(&d31, 31, "l.txt", 1)]);
    assert_eq!(run.stderr, "", "nothing on stderr when all is well");

    let run = d.run(&[&base[..], &["--threshold", "32"]].concat());
    run.code(0);
    assert_eq!(
        hits(&run.jsonl()[0]),
        [hit(&d31, 31, "l.txt", 1), hit(&d32, 32, "l.txt", 2)]
    );
    for t in ["30", "0"] {
        let run = d.run(&[&base[..], &["-t", t]].concat());
        run.code(1);
        assert_eq!(run.jsonl(), [json!({"query": H, "matches": []})]);
    }
    d.run(&[&base[..], &["--threshold", "256"]].concat())
        .code(0);
    for bad in ["257", "-1", "x"] {
        let run = d.run(&[&base[..], &["--threshold", bad]].concat());
        run.code(2);
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn exit_status_follows_grep() {
    let d = Dir::new();
    d.write("l.txt", format!("{H}\n").as_bytes());
    d.write("hit.txt", format!("{H}\n").as_bytes());
    d.write("miss.txt", format!("{}\n", flipped(H, 0, 64)).as_bytes());
    d.run(&["match", "--list", "l.txt", "--hashes", "hit.txt"])
        .code(0);
    d.run(&["match", "--list", "l.txt", "--hashes", "miss.txt"])
        .code(1);
    // An unreadable list is fatal: 2, nothing on stdout, and the message names it.
    let run = d.run(&["match", "--list", "nope.txt", "--hashes", "hit.txt"]);
    run.code(2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("\"nope.txt\""), "{}", run.stderr);
    // A failed query gives 2 even when another query matched (grep's rule).
    d.write("mixed.txt", format!("{H}\nbad\n").as_bytes());
    let run = d.run(&["match", "--list", "l.txt", "--hashes", "mixed.txt"]);
    run.code(2);
    let recs = run.jsonl();
    assert_eq!(recs.len(), 2);
    assert_eq!(hits(&recs[0]), [hit(H, 0, "l.txt", 1)]);
    assert_eq!(recs[1]["query"], "mixed.txt:2");
    assert!(recs[1]["error"].as_str().unwrap().contains("hex digits"));
    assert!(run.stderr.contains("mixed.txt:2: "), "{}", run.stderr);
    // Usage errors.
    for args in [
        &["match", "--hashes", "hit.txt"][..],
        &["match", "--list", "l.txt"],
        &["match", "--list", "l.txt", "--hashes", "hit.txt", "x.png"],
        &[
            "match",
            "--list",
            "l.txt",
            "--hashes",
            "hit.txt",
            "--dihedral",
        ],
        &[
            "match", "--list", "l.txt", "--hashes", "hit.txt", "--format", "xml",
        ],
    ] {
        let run = d.run(args);
        run.code(2);
        assert_eq!(run.stdout, "", "{args:?}");
    }
    let help = d.run(&["match", "--help"]);
    help.code(0);
    for needle in [
        "Exit status (as grep)",
        "query,hash,distance,list,line",
        "default 31",
    ] {
        assert!(help.stdout.contains(needle), "--help lacks {needle:?}");
    }
}

#[test]
fn image_queries_match_their_pdq_and_near_variants() {
    let d = Dir::new();
    let (a, b, c) = (
        Rgb::pattern(80, 60, 1),
        Rgb::pattern(70, 90, 2),
        Rgb::pattern(64, 64, 9),
    );
    d.write("imgs/a.png", &a.png());
    d.write("imgs/b.png", &b.png());
    d.write("imgs/c.png", &c.png());
    d.write("imgs/broken.png", &a.png()[..100]);
    let (pa, pb) = (a.pdq(Mode::Full), b.pdq(Mode::Full));
    let (ha, hb) = (pa.hash.to_hex(), pb.hash.to_hex());
    let a5 = flipped(&ha, 7, 5);
    let b31 = flipped(&hb, 0, 31);
    let b40 = flipped(&hb, 0, 40);
    // c's hash must be far from every list entry for it to be a clean "no match".
    let hc = c.pdq(Mode::Full).hash;
    for x in [&ha, &a5, &hb, &b31, &b40] {
        assert!(hc.distance(&h(x)) > 31, "test images too similar");
    }
    d.write(
        "l.txt",
        format!("{a5}\n{hb}\n{b40}\n{b31}\n{ha}\n").as_bytes(),
    );

    let run = d.run(&["match", "--list", "l.txt", "imgs"]);
    run.code(2); // broken.png failed
    let recs = run.jsonl();
    let by_path = |p: &str| recs.iter().find(|r| r["query"] == p).unwrap().clone();
    assert_eq!(recs.len(), 4);
    let ra = by_path("imgs/a.png");
    assert_eq!(ra["pdq"], ha.as_str());
    assert_eq!(ra["quality"], u64::from(pa.quality));
    assert_eq!(
        hits(&ra),
        [hit(&ha, 0, "l.txt", 5), hit(&a5, 5, "l.txt", 1)]
    );
    assert_eq!(
        hits(&by_path("imgs/b.png")),
        [hit(&hb, 0, "l.txt", 2), hit(&b31, 31, "l.txt", 4)]
    );
    assert_eq!(hits(&by_path("imgs/c.png")), []);
    assert!(by_path("imgs/broken.png")["error"].is_string());
    assert!(run.stderr.contains("broken.png"), "{}", run.stderr);

    // Without the broken file: 0; only the unmatched one: 1.
    d.run(&["match", "--list", "l.txt", "imgs/a.png", "imgs/c.png"])
        .code(0);
    d.run(&["match", "--list", "l.txt", "imgs/c.png"]).code(1);

    // csv: a header, one row per match, in the same order.
    let run = d.run(&[
        "match",
        "--list",
        "l.txt",
        "--format",
        "csv",
        "-j",
        "1",
        "imgs/b.png",
        "imgs/c.png",
    ]);
    run.code(0);
    assert_eq!(
        run.stdout,
        format!(
            "query,hash,distance,list,line\nimgs/b.png,{hb},0,l.txt,2\nimgs/b.png,{b31},31,l.txt,4\n"
        )
    );
    // --mode reference-tool is accepted and hashes as `vigil hash` does (same hash here: small).
    d.run(&[
        "match",
        "--list",
        "l.txt",
        "--mode",
        "reference-tool",
        "imgs/a.png",
    ])
    .code(0);
}

#[test]
fn dihedral_matches_a_rotated_copy() {
    let d = Dir::new();
    let a = Rgb::pattern(90, 70, 3);
    // Rotate 90 degrees clockwise.
    let mut rot = Vec::with_capacity(a.rgb.len());
    for y in 0..a.w {
        for x in 0..a.h {
            let (sx, sy) = (y, a.h - 1 - x);
            let i = 3 * (sy * a.w + sx);
            rot.extend_from_slice(&a.rgb[i..i + 3]);
        }
    }
    let r = Rgb {
        rgb: rot,
        w: a.h,
        h: a.w,
    };
    d.write("rot.png", &r.png());
    let ha = a.pdq(Mode::Full).hash;
    d.write("l.txt", format!("{ha}\n").as_bytes());
    let (_, dih) = vigil_pdq::hash_and_dihedral(
        &vigil_pdq::Image::rgb8(&r.rgb, r.w, r.h).unwrap(),
        Mode::Full,
    );
    let dists: Vec<u32> = dih.hashes.iter().map(|x| x.distance(&ha)).collect();
    let best = *dists.iter().min().unwrap();
    let which = dists.iter().position(|&x| x == best).unwrap();
    assert!(
        best <= 31 && dists[0] > 31,
        "the test needs a rotation only dihedrals find: {dists:?}"
    );

    d.run(&["match", "--list", "l.txt", "rot.png"]).code(1);
    let run = d.run(&["match", "--list", "l.txt", "--dihedral", "rot.png"]);
    run.code(0);
    let m = &run.jsonl()[0]["matches"][0];
    assert_eq!(m["distance"], best);
    assert_eq!(m["variant"], vigil_pdq::Variant::ALL[which].name());
    let run = d.run(&[
        "match",
        "--list",
        "l.txt",
        "--dihedral",
        "--format",
        "csv",
        "rot.png",
    ]);
    run.code(0);
    assert!(
        run.stdout
            .starts_with("query,hash,distance,list,line,variant\n")
    );
    assert!(
        run.stdout
            .trim_end()
            .ends_with(vigil_pdq::Variant::ALL[which].name())
    );
}

#[test]
fn saved_index_gives_the_same_output_and_refuses_corruption() {
    let d = Dir::new();
    let near = flipped(H, 3, 9);
    d.write("a.txt", format!("# a\n{H}\nbad\n{near}\n").as_bytes());
    d.write("b.txt", format!("{near},dup\n{H}\n").as_bytes());
    d.write(
        "q.txt",
        format!("{H}\n{}\n{near}\n", flipped(H, 0, 80)).as_bytes(),
    );

    let run = d.run(&[
        "index", "build", "--list", "a.txt", "--list", "b.txt", "--out", "k.vidx",
    ]);
    run.code(1); // one malformed line skipped; the index is still written
    assert!(run.stderr.contains("a.txt:3: "), "{}", run.stderr);
    assert!(d.path().join("k.vidx").is_file() && d.path().join("k.vidx.lists").is_file());
    d.write("clean.txt", format!("{H}\n").as_bytes());
    d.run(&["index", "build", "--list", "clean.txt", "--out", "c.vidx"])
        .code(0);

    for fmt in ["jsonl", "csv"] {
        let lists = d.run(&[
            "match", "--list", "a.txt", "--list", "b.txt", "--format", fmt, "--hashes", "q.txt",
        ]);
        let index = d.run(&[
            "match", "--index", "k.vidx", "--format", fmt, "--hashes", "q.txt",
        ]);
        lists.code(0);
        index.code(0);
        assert_eq!(index.stdout, lists.stdout, "{fmt}");
    }
    // --index beside --list: the index's matches follow the lists'.
    let run = d.run(&[
        "match",
        "--list",
        "clean.txt",
        "--index",
        "k.vidx",
        "--hashes",
        "q.txt",
    ]);
    run.code(0);
    assert_eq!(
        hits(&run.jsonl()[0]),
        [
            hit(H, 0, "clean.txt", 1),
            hit(H, 0, "a.txt", 2),
            hit(H, 0, "b.txt", 2),
            hit(&near, 9, "a.txt", 4),
            hit(&near, 9, "b.txt", 1)
        ]
    );

    let refused = |what: &str, needle: &str| {
        let run = d.run(&["match", "--index", "x.vidx", "--hashes", "q.txt"]);
        run.code(2);
        assert_eq!(run.stdout, "", "{what}");
        assert!(run.stderr.contains(needle), "{what}: {}", run.stderr);
    };
    let copy =
        |from: &str, to: &str| std::fs::copy(d.path().join(from), d.path().join(to)).unwrap();
    let flip = |file: &str, at: usize| {
        let p = d.path().join(file);
        let mut b = std::fs::read(&p).unwrap();
        let i = at.min(b.len() - 1);
        b[i] ^= 0x10;
        std::fs::write(&p, b).unwrap();
    };
    // A corrupt index.
    copy("k.vidx", "x.vidx");
    copy("k.vidx.lists", "x.vidx.lists");
    flip("x.vidx", 40);
    refused("corrupt index", "x.vidx");
    // A corrupt map.
    copy("k.vidx", "x.vidx");
    flip("x.vidx.lists", 50);
    refused("corrupt map", "corrupt");
    // A truncated map.
    let full = std::fs::read(d.path().join("k.vidx.lists")).unwrap();
    d.write("x.vidx.lists", &full[..full.len() - 7]);
    refused("truncated map", "x.vidx.lists");
    // A map of another index.
    copy("c.vidx.lists", "x.vidx.lists");
    refused("mismatched pair", "belongs to another index");
    // No map at all.
    std::fs::remove_file(d.path().join("x.vidx.lists")).unwrap();
    refused("missing map", "x.vidx.lists");
    // Not an index at all.
    d.write("x.vidx", b"hello");
    copy("k.vidx.lists", "x.vidx.lists");
    refused("not an index", "x.vidx");
}

/// The reference's regression set: every needle against the haystack, at several thresholds,
/// compared with a brute-force scan done here.
#[test]
fn haystack_and_needles_against_brute_force() {
    let Some(fx) = vigil_testkit::fixtures("cli::match_::haystack_and_needles_against_brute_force")
    else {
        return;
    };
    let dir = fx.join("threatexchange/pdq/data/reg-test-input");
    let (hay, needles) = (dir.join("haystack.txt"), dir.join("needles.txt"));
    let read = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.trim().to_string())
            .collect()
    };
    let (hay_lines, needle_lines) = (read(&hay), read(&needles));
    let d = Dir::new();
    let (hay_s, needles_s) = (hay.to_str().unwrap(), needles.to_str().unwrap());
    for t in [0u32, 1, 10, 31, 32, 63, 128, 256] {
        let run = d.run(&[
            "match",
            "--list",
            hay_s,
            "--hashes",
            needles_s,
            "--threshold",
            &t.to_string(),
        ]);
        let recs = run.jsonl();
        assert_eq!(recs.len(), needle_lines.len());
        let mut any = false;
        for (rec, q) in recs.iter().zip(&needle_lines) {
            assert_eq!(rec["query"], q.to_lowercase());
            let mut want: Vec<(String, u64, String, u64)> = hay_lines
                .iter()
                .enumerate()
                .filter(|(_, x)| !x.is_empty())
                .map(|(i, x)| {
                    let dist = h(x).distance(&h(q));
                    (
                        x.to_lowercase(),
                        u64::from(dist),
                        hay_s.to_string(),
                        i as u64 + 1,
                    )
                })
                .filter(|w| w.1 <= u64::from(t))
                .collect();
            want.sort_by_key(|w| (w.1, w.3));
            any |= !want.is_empty();
            assert_eq!(hits(rec), want, "needle {q} at threshold {t}");
        }
        run.code(if any { 0 } else { 1 });
    }
}
