//! The reference text format and python-threatexchange's JSON signal: the shared fixtures read
//! and write back byte for byte, every refusal names its line, timestamps format as C and
//! Python do (checked against a live `python3` where there is one).

use std::io::{BufReader, Read};
use std::process::Command;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_core::Hash256;
use vigil_video::Frame;
use vigil_video::text::{
    MAX_LINE, ParseError, Problem, PytxError, format_py_precision, from_pytx_json, parse_frames,
    read_frames, to_pytx_json, write_frames,
};

const H: &str = "df83b48f2ad34d68169c36bc6d2f6b36ce5ed08701a301e9cbb9fc12f80b8154";

fn frame(number: u64, quality: u8, hex: &str, timestamp: f64) -> Frame {
    Frame {
        number,
        quality,
        hash: hex.parse().unwrap(),
        timestamp,
    }
}

fn written(frames: &[Frame]) -> String {
    let mut out = Vec::new();
    write_frames(&mut out, frames).unwrap();
    String::from_utf8(out).unwrap()
}

/// Runs a Python script with `input` on stdin; `None` (after saying so) without python3.
fn python(test: &str, script: &str, input: &str) -> Option<String> {
    use std::io::Write;
    let child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("SKIPPED {test}: no python3 to compare with");
        return None;
    };
    // Feed stdin from a thread: Python writes as it reads, and a full pipe would deadlock.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn writes_the_reference_line() {
    let f = [frame(30, 100, H, 1.0), frame(0, 7, H, 0.0333333)];
    assert_eq!(written(&f), format!("30,100,{H},1.000\n0,7,{H},0.033\n"));
}

#[test]
fn reads_leniently_in_form() {
    let upper = H.to_ascii_uppercase();
    let text = format!(
        "\u{feff}0,100,{H},0.000\r\n\n  \r\n\
         \x20 1 , 50 ,{upper}, 0.033 ,extra,fields\n\
         2,0,{H},-0\n\
         30,100,{H},1e0"
    );
    let frames = parse_frames(&text).unwrap();
    assert_eq!(
        frames,
        [
            frame(0, 100, H, 0.0),
            frame(1, 50, H, 0.033),
            frame(2, 0, H, 0.0),
            frame(30, 100, H, 1.0)
        ]
    );
    assert!(frames[2].timestamp.is_sign_positive(), "-0 reads as 0");
    assert_eq!(read_frames(text.as_bytes()).unwrap(), frames);
    assert_eq!(parse_frames("").unwrap(), []);
    assert_eq!(parse_frames("\n\r\n").unwrap(), []);
}

#[test]
fn refuses_bad_lines_with_their_number() {
    let good = format!("0,100,{H},0.000\n");
    let long = "x".repeat(200);
    let cases: Vec<(String, Problem)> = vec![
        (
            format!("0,100,{H}"),
            Problem::Fields {
                expected: 4,
                found: 3,
            },
        ),
        (format!("-1,100,{H},0.0"), Problem::FrameNumber),
        (format!("x,100,{H},0.0"), Problem::FrameNumber),
        (format!("1.5,100,{H},0.0"), Problem::FrameNumber),
        (format!("1,101,{H},0.0"), Problem::Quality),
        (format!("1,-1,{H},0.0"), Problem::Quality),
        (format!("1,,{H},0.0"), Problem::Quality),
        ("1,100,abc,0.0".to_string(), Problem::Hash),
        (format!("1,100,{}g,0.0", &H[..63]), Problem::Hash),
        (format!("1,100,{H}0,0.0"), Problem::Hash),
        (format!("1,100,{H},-0.5"), Problem::Timestamp),
        (format!("1,100,{H},nan"), Problem::Timestamp),
        (format!("1,100,{H},inf"), Problem::Timestamp),
        (format!("1,100,{H},1e400"), Problem::Timestamp),
        (format!("1,100,{H},"), Problem::Timestamp),
        (format!("1,100,{H},{long}"), Problem::Timestamp),
    ];
    for (line, want) in cases {
        let text = format!("{good}\n{line}\n{good}");
        for (how, got) in [
            ("str", parse_frames(&text)),
            ("reader", read_frames(text.as_bytes())),
        ] {
            match got {
                Err(ParseError::Line {
                    line: 3,
                    problem,
                    text,
                }) => {
                    assert_eq!(problem, want, "{how}: {line:?}");
                    assert_eq!(text, line.chars().take(80).collect::<String>());
                }
                other => panic!("{how}: {line:?}: {other:?}"),
            }
        }
    }
    let e = parse_frames(&format!("{good}1,101,{H},0.0")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("line 2: the quality is not an integer in 0..=100: \"1,101,{H},0.0\"")
    );
}

#[test]
fn refuses_long_lines_without_reading_them_whole() {
    let line = format!("0,100,{H},0.000,{}", "x".repeat(MAX_LINE));
    let text = format!("0,100,{H},0.000\n{line}\n");
    assert!(matches!(
        parse_frames(&text),
        Err(ParseError::LineTooLong { line: 2 })
    ));
    assert!(matches!(
        read_frames(text.as_bytes()),
        Err(ParseError::LineTooLong { line: 2 })
    ));
    // An endless line is refused after MAX_LINE bytes, not read to the end of memory.
    let endless = BufReader::new(std::io::repeat(b'7'));
    assert!(matches!(
        read_frames(endless),
        Err(ParseError::LineTooLong { line: 1 })
    ));
    // Exactly MAX_LINE bytes, with a CRLF ending, is fine.
    let pad = MAX_LINE - format!("0,100,{H},0.000,").len();
    let text = format!("0,100,{H},0.000,{}\r\n", "y".repeat(pad));
    assert_eq!(parse_frames(&text).unwrap().len(), 1);
    assert_eq!(read_frames(text.as_bytes()).unwrap().len(), 1);
}

#[test]
fn refuses_non_utf8_lines() {
    let mut text = format!("0,100,{H},0.000\n").into_bytes();
    text.extend_from_slice(b"1,100,\xff\n");
    assert!(matches!(
        read_frames(&text[..]),
        Err(ParseError::NotUtf8 { line: 2 })
    ));
}

/// Every file of the shared fixtures' `vpdq-expected/` (and upstream's `sample-hashes/`) reads,
/// has one frame per line and writes back byte for byte; the 1 frame/s lists are lines of the
/// every-frame lists.
#[test]
fn fixture_files_round_trip() {
    let Some(dir) = vigil_testkit::fixtures("vigil-video fixture_files_round_trip") else {
        return;
    };
    let mut seen = 0;
    for sub in ["vpdq-expected", "threatexchange/vpdq/sample-hashes"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .filter(|p| !p.ends_with("VERSIONS.txt"))
            .collect();
        names.sort();
        for path in names {
            let text = std::fs::read_to_string(&path).unwrap();
            let frames = parse_frames(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(frames.len(), text.lines().count(), "{}", path.display());
            assert!(!frames.is_empty());
            assert_eq!(written(&frames), text, "{}", path.display());
            let again = read_frames(BufReader::new(std::fs::File::open(&path).unwrap())).unwrap();
            assert_eq!(again, frames);
            seen += 1;
        }
    }
    // vpdq-expected: 14 videos × 2 lists; sample-hashes: 16 videos × 2 sizes, less one.
    assert_eq!(seen, 28 + 31);

    let expected = dir.join("vpdq-expected");
    for entry in std::fs::read_dir(&expected).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix("-1fps.txt") else {
            continue;
        };
        let all = std::fs::read_to_string(expected.join(format!("{stem}-all-frames.txt"))).unwrap();
        let all: Vec<&str> = all.lines().collect();
        let one = std::fs::read_to_string(&path).unwrap();
        for (k, line) in one.lines().enumerate() {
            assert_eq!(line, all[30 * k], "{name} line {}", k + 1);
        }
        // Real timestamps are frame / 30 in float32, and print as the reference does.
        for f in parse_frames(&one).unwrap() {
            assert_eq!(
                format!("{:.3}", f.timestamp),
                format!("{:.3}", f64::from(f.number as f32 / 30.0))
            );
        }
    }
}

fn tricky_values() -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut v: Vec<f64> = vec![
        0.0,
        -0.0,
        1.0,
        30.0,
        12.345,
        0.0333,
        100.0,
        123.4,
        1e-05,
        0.0001,
        99.95,
        9.995,
        0.5,
        0.0005,
        0.00015,
        999.5,
        1e16,
        1.5e-5,
        5e-324,
        1.7976931348623157e308,
        2.2250738585072014e-308,
    ];
    // Exact binary ties at 3 decimals and at 3 significant digits.
    for k in 0..2000 {
        v.push(k as f64 / 16.0);
        v.push(k as f64 / 8.0 + 0.0625);
        v.push(k as f64 / 1024.0);
    }
    // Frame times at common frame rates, computed in float32 as the reference does.
    for fps in [24.0f32, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0, 1.0, 0.5] {
        for n in (0..100_000u32).step_by(37) {
            v.push(f64::from(n as f32 / fps));
        }
    }
    // Random doubles over many magnitudes, and random decimals with few digits.
    for _ in 0..5000 {
        let e: i32 = rng.gen_range(-12..12);
        v.push(rng.r#gen::<f64>() * 10f64.powi(e));
        v.push(rng.gen_range(0..100_000) as f64 / 10f64.powi(rng.gen_range(0..7)));
        v.push(f64::from_bits(rng.r#gen::<u64>() & !(1 << 63)));
    }
    v.retain(|x| x.is_finite());
    v
}

/// `format_py_precision` against Python's own `format(x, ".Np")`, and Rust's `{:.3}` (what
/// `write_frames` uses) against Python's `%.3f` (C's rounding), on many values.
#[test]
fn timestamps_format_as_python_does() {
    let values = tricky_values();
    let input: String = values.iter().map(|x| format!("{x:?}\n")).collect();
    let script = "import sys
for l in sys.stdin:
    x = float(l)
    print(f'{x:.3}', f'{x:.1}', f'{x:.2}', f'{x:.6}', '%.3f' % x)";
    let Some(out) = python("timestamps_format_as_python_does", script, &input) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), values.len());
    for (x, line) in values.iter().zip(lines) {
        let want: Vec<&str> = line.split(' ').collect();
        let got = [
            format_py_precision(*x, 3),
            format_py_precision(*x, 1),
            format_py_precision(*x, 2),
            format_py_precision(*x, 6),
            format!("{x:.3}"),
        ];
        assert_eq!(got.to_vec(), want, "{x:?}");
    }
}

#[test]
fn pytx_json_is_what_python_writes() {
    let frames = [
        frame(0, 100, H, 0.0),
        frame(30, 50, H, 1.0),
        frame(31, 0, H, 1.0333333),
        frame(3000, 99, H, 100.0),
        frame(3702, 1, H, 123.4),
    ];
    let json = to_pytx_json(&frames);
    assert_eq!(
        json,
        format!(
            "[\"{H},100,0.0\", \"{H},50,1.0\", \"{H},0,1.03\", \
             \"{H},99,1e+02\", \"{H},1,1.23e+02\"]"
        )
    );
    assert_eq!(to_pytx_json(&[]), "[]");
    let script = "import json, sys
rows = [l.split() for l in sys.stdin]
print(json.dumps([f'{h},{int(q)},{float(t):.3}' for h, q, t in rows]))";
    let input: String = frames
        .iter()
        .map(|f| format!("{} {} {:?}\n", f.hash, f.quality, f.timestamp))
        .collect();
    if let Some(out) = python("pytx_json_is_what_python_writes", script, &input) {
        assert_eq!(out.trim_end(), json);
    }
    // Reading numbers the frames in order and keeps the rounded timestamps.
    let back = from_pytx_json(&json).unwrap();
    let want: Vec<Frame> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| Frame {
            number: i as u64,
            timestamp: [0.0, 1.0, 1.03, 100.0, 123.0][i],
            ..*f
        })
        .collect();
    assert_eq!(back, want);
    assert_eq!(to_pytx_json(&back), json);
}

/// The same accept/refuse decisions as vigil-exchange's `normalise_vpdq` (record.rs), case by
/// case: a stored `vpdq` signal and a parsed one must never disagree.
#[test]
fn pytx_json_accepts_what_a_stored_signal_accepts() {
    let u = H.to_ascii_uppercase();
    let accepted = [
        format!("[\"{H},100,0.000\",\"{H}, 7 ,1.5\"]"),
        format!("  [\"{u},100,0\"]\n"),
        format!("[\" {H} ,+7,1e3\"]"),
        format!("[\"{H},007,.5\"]"),
        format!("[\"{H},0,5.\"]"),
        format!("[\"{H},0,-0\"]"),
        format!("[\"{H},0,0.0\" , \"{H},100,1e+02\"]"),
    ];
    for s in &accepted {
        assert!(from_pytx_json(s).is_ok(), "{s}");
    }
    type Check = fn(&PytxError) -> bool;
    let refused: Vec<(String, Check)> = vec![
        ("[]".into(), |e| matches!(e, PytxError::Empty)),
        ("".into(), |e| matches!(e, PytxError::Json { .. })),
        ("x".into(), |e| matches!(e, PytxError::Json { .. })),
        ("{}".into(), |e| matches!(e, PytxError::Json { .. })),
        ("[1]".into(), |e| matches!(e, PytxError::Json { .. })),
        (format!("[\"{H},1,1\",]"), |e| {
            matches!(e, PytxError::Json { .. })
        }),
        ("[\"a,1,1\"]".into(), |e| {
            matches!(
                e,
                PytxError::Frame {
                    index: 0,
                    problem: Problem::Hash,
                    ..
                }
            )
        }),
        (format!("[\"{H},1,1\", \"{H},101,0\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    index: 1,
                    problem: Problem::Quality,
                    ..
                }
            )
        }),
        (format!("[\"{H},1,-1\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    problem: Problem::Timestamp,
                    ..
                }
            )
        }),
        (format!("[\"{H},1,+1\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    problem: Problem::Timestamp,
                    ..
                }
            )
        }),
        (format!("[\"{H},1,nan\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    problem: Problem::Timestamp,
                    ..
                }
            )
        }),
        (format!("[\"{H},1,inf\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    problem: Problem::Timestamp,
                    ..
                }
            )
        }),
        (format!("[\"{H},1,1_0\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    problem: Problem::Timestamp,
                    ..
                }
            )
        }),
        (format!("[\"{H},1.0,1\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    problem: Problem::Quality,
                    ..
                }
            )
        }),
        (format!("[\"7,{H},1,1\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    problem: Problem::Fields {
                        expected: 3,
                        found: 4
                    },
                    ..
                }
            )
        }),
        (format!("[\"{H},1\"]"), |e| {
            matches!(
                e,
                PytxError::Frame {
                    problem: Problem::Fields {
                        expected: 3,
                        found: 2
                    },
                    ..
                }
            )
        }),
    ];
    for (s, ok) in &refused {
        let e = from_pytx_json(s).unwrap_err();
        assert!(ok(&e), "{s}: {e:?}");
    }
    let e = from_pytx_json(&format!("[\"{H},1,1\", \"{H},101,0\"]")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("vpdq frame 1 \"{H},101,0\": the quality is not an integer in 0..=100")
    );
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    (
        any::<u64>(),
        0u8..=100,
        any::<[u8; 32]>(),
        prop_oneof![
            0.0f64..100_000.0,
            (0u32..1_000_000).prop_map(|n| f64::from(n as f32 / 30.0)),
            (0.0f64..1.0).prop_map(|x| x * 1e-6),
            any::<f64>().prop_filter("finite, non-negative", |x| x.is_finite() && *x >= 0.0),
        ],
    )
        .prop_map(|(number, quality, b, timestamp)| Frame {
            number,
            quality,
            hash: Hash256::from_bytes(b),
            timestamp,
        })
}

proptest! {
    /// Written frames read back with the same numbers, qualities and hashes, timestamps within
    /// half a millisecond; and the written text is a fixed point.
    #[test]
    fn text_round_trips(frames in proptest::collection::vec(arb_frame(), 0..40)) {
        let text = written(&frames);
        let back = parse_frames(&text).unwrap();
        prop_assert_eq!(back.len(), frames.len());
        for (a, b) in frames.iter().zip(&back) {
            prop_assert_eq!((a.number, a.quality, a.hash), (b.number, b.quality, b.hash));
            let tolerance = 0.0005 * (1.0 + 1e-9) + a.timestamp * 1e-15;
            prop_assert!((a.timestamp - b.timestamp).abs() <= tolerance);
        }
        prop_assert_eq!(&written(&back), &text);
        prop_assert_eq!(read_frames(text.as_bytes()).unwrap(), back);
    }

    /// The pytx signal reads back to the same hashes and qualities, numbered in order, and its
    /// text is a fixed point.
    #[test]
    fn pytx_round_trips(
        frames in proptest::collection::vec(
            arb_frame().prop_filter("3 digits of 1.8e308 overflow", |f| f.timestamp < 1e300),
            1..40,
        ),
    ) {
        let json = to_pytx_json(&frames);
        let back = from_pytx_json(&json).unwrap();
        prop_assert_eq!(back.len(), frames.len());
        for (i, (a, b)) in frames.iter().zip(&back).enumerate() {
            prop_assert_eq!((i as u64, a.quality, a.hash), (b.number, b.quality, b.hash));
            let rel = (a.timestamp - b.timestamp).abs() / a.timestamp.max(f64::MIN_POSITIVE);
            prop_assert!(
                a.timestamp == b.timestamp || rel <= 0.005,
                "{} {}",
                a.timestamp,
                b.timestamp
            );
        }
        prop_assert_eq!(&to_pytx_json(&back), &json);
    }

    /// Arbitrary bytes never panic either reader, and the two text readers agree.
    #[test]
    fn arbitrary_input_is_refused_or_read(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let by_reader = read_frames(&bytes[..]);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let by_str = parse_frames(s);
            prop_assert_eq!(by_str.is_ok(), by_reader.is_ok());
            if let (Ok(a), Ok(b)) = (by_str, by_reader) {
                prop_assert_eq!(a, b);
            }
            let _ = from_pytx_json(s);
        }
    }
}

#[test]
fn errors_read_well() {
    let mut long = String::new();
    std::io::repeat(b'z')
        .take(300)
        .read_to_string(&mut long)
        .unwrap();
    let e = parse_frames(&format!("0,1,{long},0")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("line 1: the hash is not 64 hex digits: \"0,1,zzz"),
        "{msg}"
    );
    assert!(msg.len() < 160, "{msg}");
}
