//! The `ffmpeg` tool (Debian's), for tests that make benign videos at test time from its
//! built-in generators and edits of the shared fixture clips: no media is kept in the
//! repository. Without the tool such a test says SKIPPED and passes — or fails when
//! `VIGIL_REQUIRE_FFMPEG=1` (CI sets it).

use std::path::Path;
use std::process::Command;

/// Whether `ffmpeg` runs here; `false` after printing that `test` is skipped.
///
/// # Panics
/// When the tool is missing and `VIGIL_REQUIRE_FFMPEG=1`.
pub fn available(test: &str) -> bool {
    let found = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let msg =
            format!("SKIPPED {test}: the ffmpeg tool is not installed (it makes the test videos)");
        if std::env::var("VIGIL_REQUIRE_FFMPEG").as_deref() == Ok("1") {
            panic!("{msg}, and VIGIL_REQUIRE_FFMPEG=1");
        }
        eprintln!("{msg}");
    }
    found
}

/// Runs `ffmpeg` quietly in `dir` (relative paths in `args` are under it), overwriting outputs.
///
/// # Panics
/// When it cannot start or fails (with its error output).
pub fn run(dir: &Path, args: &[&str]) {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running ffmpeg {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
