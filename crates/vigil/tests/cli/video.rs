//! `vigil hash` and `vigil match` on videos: the fixture clips against the reference's vPDQ
//! output (`vpdq-expected/`), a cut made with the ffmpeg tool, and the CLI's contracts (jsonl
//! fields, csv media fragments, `--format vpdq`, exit codes). Skipped loudly without the
//! fixtures.

use std::path::{Path, PathBuf};

use crate::util::{Dir, is_hex};

fn fixtures(test: &str) -> Option<PathBuf> {
    vigil_testkit::fixtures(test)
}

fn clip(fx: &Path, name: &str) -> String {
    fx.join("threatexchange/tmk/sample-videos")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn hash_prints_a_video_record_and_the_reference_format() {
    let Some(fx) = fixtures("hash_prints_a_video_record_and_the_reference_format") else {
        return;
    };
    let d = Dir::new();
    let v = clip(&fx, "test-padded-dimensions.mp4");
    let recs = d
        .run(&["hash", "--format", "jsonl", "--frames", &v])
        .code(0)
        .jsonl();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r["kind"], "video");
    assert_eq!(r["decoded_frames"], 150);
    assert_eq!(r["vpdq_frames"], 5);
    assert_eq!(r["frame_rate"], 30.0);
    assert_eq!(r["codec"], "h264");
    let bytes = std::fs::read(&v).unwrap();
    let md5 = vigil_media::digests(&bytes).md5;
    assert_eq!(r["md5"], md5.as_str());
    assert!(is_hex(r["sha256"].as_str().unwrap(), 64));
    let frames = r["frames"].as_array().unwrap();
    let want =
        std::fs::read_to_string(fx.join("vpdq-expected/test-padded-dimensions-1fps.txt")).unwrap();
    for (f, line) in frames.iter().zip(want.lines()) {
        let w: Vec<&str> = line.split(',').collect();
        assert_eq!(f["frame"].as_u64().unwrap().to_string(), w[0]);
        assert_eq!(f["quality"].as_u64().unwrap().to_string(), w[1]);
        assert_eq!(f["pdq"].as_str().unwrap(), w[2]);
    }
    // --format vpdq: the reference's file, byte for byte, every frame.
    let run = d.run(&["hash", "--format", "vpdq", "--seconds-per-hash", "0", &v]);
    run.code(0);
    let want =
        std::fs::read_to_string(fx.join("vpdq-expected/test-padded-dimensions-all-frames.txt"))
            .unwrap();
    assert_eq!(run.stdout, want);
    // csv: one line per hashed frame, the path with a media fragment.
    let rows = d.run(&["hash", &v]).code(0).csv();
    assert_eq!(rows.len(), 5);
    assert!(rows[1].2.ends_with(".mp4#t=1.000"), "{rows:?}");
    // Several videos need --output-dir for --format vpdq.
    let v2 = clip(&fx, "doorknob-hd-no-bar.mp4");
    d.run(&["hash", "--format", "vpdq", &v, &v2]).code(2);
    let out = d.path().join("out");
    let out_s = out.to_string_lossy().into_owned();
    let run = d.run(&["hash", "--format", "vpdq", "--output-dir", &out_s, &v, &v2]);
    run.code(0);
    assert_eq!(run.stdout.lines().count(), 2);
    for line in run.stdout.lines() {
        assert!(Path::new(line).starts_with(&out), "{line}");
        assert!(std::fs::read_to_string(line).unwrap().lines().count() >= 4);
    }
    // An image with --format vpdq is an error for that input (exit 1), not a crash.
    let png = d.write("x.png", &crate::util::small_png(3));
    let run = d.run(&["hash", "--format", "vpdq", png.to_str().unwrap()]);
    run.code(1);
    assert!(run.stderr.contains("not a video"), "{}", run.stderr);
}

#[test]
fn match_finds_a_cut_with_its_time_range() {
    let Some(fx) = fixtures("match_finds_a_cut_with_its_time_range") else {
        return;
    };
    let d = Dir::new();
    let cut = d.path().join("cut.mp4");
    let cut_s = cut.to_string_lossy().into_owned();
    let src = clip(&fx, "chair-22-sd-grey-bar.mp4");
    if !vigil_testkit::ffmpeg::available("match_finds_a_cut_with_its_time_range") {
        return;
    }
    vigil_testkit::ffmpeg::run(
        d.path(),
        &[
            "-ss", "5", "-t", "6", "-i", &src, "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            &cut_s,
        ],
    );
    // Known videos: the clip itself as a vPDQ frame file, and an unrelated clip as a video.
    let known = d.path().join("known");
    std::fs::create_dir(&known).unwrap();
    let frames = d
        .run(&["hash", "--format", "vpdq", &src])
        .code(0)
        .stdout
        .clone();
    std::fs::write(known.join("grey.txt"), frames).unwrap();
    std::fs::copy(clip(&fx, "doorknob-hd-no-bar.mp4"), known.join("door.mp4")).unwrap();
    let known_s = known.to_string_lossy().into_owned();
    let recs = d
        .run(&["match", "--videos", &known_s, &cut_s])
        .code(0)
        .jsonl();
    assert_eq!(recs.len(), 1);
    let m = recs[0]["matches"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0]["video"].as_str().unwrap().ends_with("grey.txt"));
    assert_eq!(m[0]["query_match_percent"], 100.0);
    let r = &m[0]["ranges"][0];
    assert_eq!(r["query_start"], 0.0);
    assert_eq!(r["video_start"], 5.0);
    assert_eq!(
        r["video_end"].as_f64().unwrap() - r["video_start"].as_f64().unwrap(),
        r["query_end"].as_f64().unwrap()
    );
    // No match: exit 1; the unrelated clip as the query.
    let door = clip(&fx, "doorknob-hd-no-bar.mp4");
    let grey_only = known.join("grey.txt").to_string_lossy().into_owned();
    let recs = d
        .run(&["match", "--videos", &grey_only, &door])
        .code(1)
        .jsonl();
    assert_eq!(recs[0]["matches"].as_array().unwrap().len(), 0);
    // A video query without --videos is that query's error (exit 2, as grep).
    let list = d.write("l.txt", b"");
    d.run(&["match", "--list", list.to_str().unwrap(), &cut_s])
        .code(2);
}
