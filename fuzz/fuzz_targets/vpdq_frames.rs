//! Read arbitrary bytes as a video hash, both ways vigil-video reads one: the reference text
//! format (`frame,quality,hex,timestamp` lines) and python-threatexchange's `vpdq` JSON signal.
//! No panic; the two text readers agree; errors name a line that exists; what was read writes
//! back and reads back the same (timestamps to the format's precision) and the written text is
//! a fixed point; the JSON reader accepts exactly what vigil-exchange accepts as a stored
//! `vpdq` signal; and a frame list read matches itself fully, with the video index giving what
//! brute force gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_exchange::record::{Signal, SignalKind};
use vigil_video::Frame;
use vigil_video::matching::{MatchParams, VideoIndex, compare, time_ranges};
use vigil_video::text::{
    ParseError, from_pytx_json, parse_frames, read_frames, to_pytx_json, write_frames,
};

fn written(frames: &[Frame]) -> String {
    let mut out = Vec::new();
    write_frames(&mut out, frames).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the text format is ASCII")
}

fn same_but_rounded(a: &[Frame], b: &[Frame], tolerance: impl Fn(f64) -> f64) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!((x.quality, x.hash), (y.quality, y.hash));
        assert!(
            (x.timestamp - y.timestamp).abs() <= tolerance(x.timestamp),
            "{} read back as {}",
            x.timestamp,
            y.timestamp
        );
    }
}

/// A list matches itself entirely, and the index agrees with brute force.
fn check_matching(frames: &[Frame]) {
    let frames = &frames[..frames.len().min(200)];
    let index = VideoIndex::from_videos([(1, frames)]).expect("a small video fits");
    for p in [MatchParams::default(), MatchParams::reference()] {
        let c = compare(frames, frames, &p);
        assert_eq!(c.query_matched, c.query_frames);
        assert_eq!(c.is_match, c.query_frames > 0);
        let found = index.query(frames, &p);
        assert_eq!(found.len(), usize::from(c.query_frames > 0));
        if let Some(m) = found.first() {
            assert_eq!(m.comparison, c);
            assert_eq!(m.ranges, time_ranges(frames, frames, &p));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count() as u64;
    let text = std::str::from_utf8(data).ok();
    let by_reader = read_frames(data);
    if let Some(s) = text {
        match (&by_reader, parse_frames(s)) {
            (Ok(a), Ok(b)) => assert_eq!(*a, b),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("the readers disagree: {a:?} / {b:?}"),
        }
    }
    match by_reader {
        Ok(frames) => {
            let out = written(&frames);
            let back = parse_frames(&out).expect("written frames read back");
            same_but_rounded(&frames, &back, |t| 0.0005 * (1.0 + 1e-9) + t * 1e-15);
            assert!(frames.iter().zip(&back).all(|(a, b)| a.number == b.number));
            assert_eq!(written(&back), out, "the written text is a fixed point");
            // Three significant digits round 1.8e308 up past the largest double, as in Python.
            if !frames.is_empty() && frames.iter().all(|f| f.timestamp < 1e300) {
                let json = to_pytx_json(&frames);
                let again = from_pytx_json(&json).expect("written JSON reads back");
                same_but_rounded(&frames, &again, |t| t * 0.005 + 1e-300);
                assert_eq!(to_pytx_json(&again), json, "the JSON is a fixed point");
            }
            check_matching(&frames);
        }
        Err(e) => {
            let line = match &e {
                ParseError::Line { line, .. }
                | ParseError::LineTooLong { line }
                | ParseError::NotUtf8 { line }
                | ParseError::TooManyFrames { line }
                | ParseError::Io { line, .. } => *line,
                _ => 1,
            };
            assert!(line >= 1 && line <= lines, "{e} (of {lines} lines)");
            assert!(e.to_string().starts_with(&format!("line {line}: ")), "{e}");
        }
    }

    if let Some(s) = text {
        let ours = from_pytx_json(s);
        let stored = Signal::new(SignalKind::Vpdq, s);
        assert_eq!(ours.is_ok(), stored.is_ok(), "{ours:?} / {stored:?}");
        if let Ok(frames) = ours {
            assert!(frames.iter().enumerate().all(|(i, f)| f.number == i as u64));
            if frames.iter().all(|f| f.timestamp < 1e300) {
                let json = to_pytx_json(&frames);
                let again = from_pytx_json(&json).expect("written JSON reads back");
                assert_eq!(to_pytx_json(&again), json, "the JSON is a fixed point");
            }
            check_matching(&frames);
        }
    }
});
