//! vPDQ hashing against the reference outputs in the fixtures (`vpdq-expected/`: PyPI `vpdq`
//! 0.2.5 on FFmpeg 5.1.9, every frame and 1 frame/s), plus bad input.

use std::path::{Path, PathBuf};

use vigil_video::{Error, Frame, Options, Sampling, hash_bytes, hash_file};

/// The reference text format, read independently of `vigil_video::text` (the oracle must not be
/// the code under test): `frame_number,quality,hex,timestamp`.
fn expected(path: &Path) -> Vec<(u64, u8, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.trim().split(',').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].to_lowercase(),
                f[3].to_string(),
            )
        })
        .collect()
}

fn videos(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("threatexchange/tmk/sample-videos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    v.sort();
    v
}

fn line(f: &Frame) -> (u64, u8, String, String) {
    (
        f.number,
        f.quality,
        f.hash.to_hex(),
        format!("{:.3}", f.timestamp),
    )
}

/// Every frame of every fixture video, hash and quality, frame numbers and timestamps, equal to
/// the reference: FFmpeg is the same (Debian 12's 5.1), so the decoded pixels are the same, and
/// the PDQ core is bit-exact. Counts are printed for the record.
fn check(sampling: Sampling, suffix: &str, threads: usize) {
    let Some(dir) = vigil_testkit::fixtures("vpdq_fixture_videos") else {
        return;
    };
    let (mut frames, mut exact, mut videos_seen) = (0usize, 0usize, 0usize);
    let (mut all_frames, mut skipped) = (0u64, 0u64);
    for video in videos(&dir) {
        let stem = video.file_stem().unwrap().to_str().unwrap().to_string();
        let want = expected(&dir.join(format!("vpdq-expected/{stem}-{suffix}.txt")));
        let opts = Options {
            sampling,
            hash_threads: threads,
            ..Options::default()
        };
        let got = hash_file(&video, &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.info.frame_rate, 30.0, "{stem}");
        // Every frame counts, decoded or skipped: as many as the reference's every-frame list.
        let every = expected(&dir.join(format!("vpdq-expected/{stem}-all-frames.txt")));
        assert_eq!(got.info.decoded_frames, every.len() as u64, "{stem}");
        all_frames += got.info.decoded_frames;
        skipped += got.info.skipped_frames;
        assert_eq!(got.frames.len(), want.len(), "{stem}: frame count");
        let mut differ = Vec::new();
        for (g, w) in got.frames.iter().zip(&want) {
            let g = line(g);
            assert_eq!((g.0, &g.3), (w.0, &w.3), "{stem}: frame number / timestamp");
            if g == *w {
                exact += 1;
            } else {
                differ.push(format!("{g:?} != {w:?}"));
            }
        }
        frames += want.len();
        videos_seen += 1;
        assert!(
            differ.is_empty(),
            "{stem}: {} frames differ: {:?}",
            differ.len(),
            &differ[..differ.len().min(5)]
        );
    }
    eprintln!(
        "vpdq {suffix}: {exact}/{frames} frames exact over {videos_seen} videos \
         ({skipped} of {all_frames} frames left undecoded)"
    );
    assert_eq!(videos_seen, 14);
    if sampling == Sampling::EveryFrame {
        assert_eq!(skipped, 0);
    } else {
        // These phone clips have B-frames nothing refers to (2,335 of 5,872, by `ffmpeg
        // -skip_frame noref`); the sampled ones among them are decoded.
        assert!(skipped > 2_000, "{skipped} frames skipped");
    }
}

#[test]
fn every_frame_equals_the_reference() {
    check(Sampling::EveryFrame, "all-frames", 2);
}

#[test]
fn one_frame_a_second_equals_the_reference() {
    check(Sampling::SecondsPerHash(1.0), "1fps", 1);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let opts = Options::default();
    let e = hash_bytes(b"", "empty.mp4", &opts).unwrap_err();
    assert!(matches!(e, Error::Empty { .. }), "{e}");
    let e = hash_bytes(b"this is not a video at all, just text", "text.mp4", &opts).unwrap_err();
    assert!(matches!(e, Error::Open { .. }), "{e}");
    assert!(e.to_string().starts_with("text.mp4: "), "{e}");
    // An HLS playlist would make a permissive demuxer fetch URLs or read local files.
    let m3u8 =
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n";
    let e = hash_bytes(m3u8, "list.m3u8", &opts).unwrap_err();
    assert!(
        matches!(e, Error::Open { .. } | Error::FormatNotAllowed { .. }),
        "{e}"
    );
}

#[test]
fn truncated_fixture_is_refused_or_partial_never_panics() {
    let Some(dir) = vigil_testkit::fixtures("vpdq_truncated") else {
        return;
    };
    let bytes =
        std::fs::read(dir.join("threatexchange/tmk/sample-videos/doorknob-hd-no-bar.mp4")).unwrap();
    for cut in [
        16,
        100,
        1000,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 10,
    ] {
        match hash_bytes(&bytes[..cut], "cut.mp4", &Options::default()) {
            Ok(h) => eprintln!("cut at {cut}: {} frames", h.frames.len()),
            Err(e) => {
                assert_eq!(e.name(), "cut.mp4");
                eprintln!("cut at {cut}: {e}");
            }
        }
    }
}
