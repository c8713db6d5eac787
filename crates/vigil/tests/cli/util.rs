//! A temporary directory per test, image writers, and a command that runs the real binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A test's own temporary directory (removed on drop).
pub(crate) struct Dir {
    tmp: tempfile::TempDir,
    /// Run vigil as user `nobody` through `setpriv` (for permission tests when the tests run as
    /// root).
    as_nobody: std::cell::Cell<bool>,
}

impl Dir {
    pub(crate) fn new() -> Dir {
        Dir {
            tmp: tempfile::Builder::new()
                .prefix("vigil-cli-test-")
                .tempdir()
                .expect("temp dir"),
            as_nobody: std::cell::Cell::new(false),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `bytes` at `rel` (creating parent directories).
    pub(crate) fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// A command running `vigil` in this directory, with logging at its default.
    pub(crate) fn vigil(&self) -> Command {
        let bin = env!("CARGO_BIN_EXE_vigil");
        let mut c = if self.as_nobody.get() {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                bin,
            ]);
            c
        } else {
            Command::new(bin)
        };
        c.current_dir(self.path())
            .env_remove("VIGIL_LOG")
            .stdin(Stdio::null());
        c
    }

    /// From now on, runs vigil as `nobody` (uid 65534) via `setpriv`, opening this directory to
    /// it. Returns false when that is not possible here.
    pub(crate) fn run_as_nobody(&self) -> bool {
        use std::os::unix::fs::PermissionsExt;
        let works = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                "true",
            ])
            .status()
            .is_ok_and(|s| s.success());
        if works {
            std::fs::set_permissions(self.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            self.as_nobody.set(true);
        }
        works
    }

    /// Runs `vigil ARGS` here.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Run::from(self.vigil().args(args).output().expect("running vigil"))
    }
}

/// The outcome of one run.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8(o.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub(crate) fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(expected),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout as JSON lines.
    pub(crate) fn jsonl(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect()
    }

    /// stdout as csv `(pdq, quality, path)` rows, checking the shape of each line.
    pub(crate) fn csv(&self) -> Vec<(String, u8, String)> {
        self.stdout
            .lines()
            .map(|l| {
                let mut it = l.splitn(3, ',');
                let (pdq, q, path) = (
                    it.next().unwrap(),
                    it.next().expect("quality"),
                    it.next().expect("path"),
                );
                assert!(is_hex(pdq, 64), "pdq is not 64 lowercase hex digits: {l:?}");
                let q: u8 = q
                    .parse()
                    .unwrap_or_else(|_| panic!("quality is not a number: {l:?}"));
                assert!(q <= 100, "{l:?}");
                (pdq.to_string(), q, path.to_string())
            })
            .collect()
    }
}

pub(crate) fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The keys of a JSON object.
pub(crate) fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// An RGB8 image drawn by a test.
pub(crate) struct Rgb {
    pub(crate) rgb: Vec<u8>,
    pub(crate) w: usize,
    pub(crate) h: usize,
}

impl Rgb {
    /// A deterministic, structured pattern; `seed` varies it.
    pub(crate) fn pattern(w: usize, h: usize, seed: u32) -> Rgb {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy, s) = (x as f32 / w as f32, y as f32 / h as f32, seed as f32);
                let a = ((fx * (3.0 + s) + fy * 2.0).sin() * 110.0 + 128.0) as u8;
                let b = ((fy * (5.0 + s * 0.5) - fx).cos() * 100.0 + 128.0) as u8;
                let c = (((x / 7 + y / 5 + seed as usize) % 3) * 90) as u8;
                rgb.extend_from_slice(&[a, b, c]);
            }
        }
        Rgb { rgb, w, h }
    }

    pub(crate) fn png(&self) -> Vec<u8> {
        png_bytes(&self.rgb, self.w, self.h, png::ColorType::Rgb)
    }

    /// The PDQ of these pixels, computed directly with vigil-pdq (the oracle for the pipeline:
    /// PNG decoding is lossless, so the CLI must give exactly this).
    pub(crate) fn pdq(&self, mode: vigil_pdq::Mode) -> vigil_pdq::Pdq {
        vigil_pdq::hash(
            &vigil_pdq::Image::rgb8(&self.rgb, self.w, self.h).unwrap(),
            mode,
        )
    }
}

pub(crate) fn png_bytes(data: &[u8], w: usize, h: usize, color: png::ColorType) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc.write_header().unwrap();
    wr.write_image_data(data).unwrap();
    wr.finish().unwrap();
    out
}

/// A small valid PNG.
pub(crate) fn small_png(seed: u32) -> Vec<u8> {
    Rgb::pattern(40, 30, seed).png()
}
