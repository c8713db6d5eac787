//! Benign test videos made at test time with the `ffmpeg` tool from its built-in test patterns
//! (no media is kept in the repository): `full`, 8 s of `testsrc2`; `cut`, seconds 2–6 of it,
//! re-encoded (a partial copy: every one of its frames is in `full`); `other`, 6 s of
//! `mandelbrot`, unrelated. All 320×240 at 30 frames a second, H.264 in MP4.

use vigil_testkit::ffmpeg::run as ffmpeg;

pub(crate) struct Videos {
    pub(crate) full: Vec<u8>,
    pub(crate) cut: Vec<u8>,
    pub(crate) other: Vec<u8>,
}

/// The test videos, or `None` after saying loudly that `test` is skipped because the `ffmpeg`
/// tool is missing — a failure instead when `VIGIL_REQUIRE_FFMPEG=1` (CI sets it).
pub(crate) fn videos(test: &str) -> Option<Videos> {
    if !vigil_testkit::ffmpeg::available(test) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let enc = [
        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast",
    ];
    let mut full = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30:duration=8",
    ];
    full.extend(enc);
    full.push("full.mp4");
    ffmpeg(dir.path(), &full);
    let mut cut = vec!["-ss", "2", "-t", "4", "-i", "full.mp4"];
    cut.extend(enc);
    cut.push("cut.mp4");
    ffmpeg(dir.path(), &cut);
    let mut other = vec![
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x240:rate=30",
        "-t",
        "6",
    ];
    other.extend(enc);
    other.push("other.mp4");
    ffmpeg(dir.path(), &other);
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    Some(Videos {
        full: read("full.mp4"),
        cut: read("cut.mp4"),
        other: read("other.mp4"),
    })
}
