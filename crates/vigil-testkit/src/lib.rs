//! Test support shared by Vigil's crates. Dev-dependency only: no product crate depends on it.
//!
//! * [`fixtures`] finds the shared fixtures (`VIGIL_FIXTURES`, else `../shared/fixtures` beside the
//!   workspace) and, when they are missing, says loudly which test is skipped — or fails the test
//!   when `VIGIL_REQUIRE_FIXTURES=1` (CI sets it).
//! * [`read_csv`] reads the fixtures' simple CSV files (no quoted fields) into rows by column name.
//! * [`decode_png_rgb8`] decodes a PNG to the 8-bit RGB pixels `PIL.Image.open(f).convert("RGB")`
//!   gives for the conformance set: palette expanded, grey replicated, alpha dropped.
//! * [`postgres::databases`] gives a store test a fresh SQLite file and a fresh database on a
//!   throwaway PostgreSQL server ([`postgres::database`])
//!   (Unix socket only), or skips loudly — or fails when `VIGIL_REQUIRE_POSTGRES=1`.
//! * [`ffmpeg`] runs the `ffmpeg` tool that makes test videos, or skips loudly — or fails when
//!   `VIGIL_REQUIRE_FFMPEG=1`.

pub mod ffmpeg;
pub mod postgres;
pub mod smtp;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The shared fixtures directory, or `None` (after printing why the caller is skipped).
///
/// # Panics
/// When the fixtures are missing and `VIGIL_REQUIRE_FIXTURES=1`.
pub fn fixtures(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("VIGIL_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    };
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "SKIPPED {test}: fixtures not found at {} (set VIGIL_FIXTURES to the shared fixtures directory)",
        dir.display()
    );
    if std::env::var("VIGIL_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!("{msg}, and VIGIL_REQUIRE_FIXTURES=1");
    }
    eprintln!("{msg}");
    None
}

/// Rows of a header-first CSV file without quoted fields.
pub fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            assert_eq!(fields.len(), header.len(), "{}: row {l:?}", path.display());
            header
                .iter()
                .zip(fields)
                .map(|(h, f)| (h.to_string(), f.to_string()))
                .collect()
        })
        .collect()
}

/// Decodes an 8-bit PNG into RGB8 as Pillow's `convert("RGB")` does (for the conformance set's
/// PNGs: 8-bit samples or low-bit palettes, no tRNS): palette expanded, grey replicated, alpha
/// dropped. Returns `(rgb, width, height, grey)` where `grey` is the single grey channel for grey
/// PNGs (colour type 0 or 4).
pub fn decode_png_rgb8(path: &Path) -> (Vec<u8>, usize, usize, Option<Vec<u8>>) {
    let file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec
        .read_info()
        .unwrap_or_else(|e| panic!("decoding {}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("decoding {}: {e}", path.display()));
    assert_eq!(
        info.bit_depth,
        png::BitDepth::Eight,
        "{}: only 8-bit output handled",
        path.display()
    );
    let (w, h) = (info.width as usize, info.height as usize);
    let buf = &buf[..info.buffer_size()];
    let (rgb, grey) = match info.color_type {
        png::ColorType::Rgb => (buf.to_vec(), None),
        png::ColorType::Rgba => (
            buf.chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
            None,
        ),
        png::ColorType::Grayscale => (
            buf.iter().flat_map(|&g| [g, g, g]).collect(),
            Some(buf.to_vec()),
        ),
        png::ColorType::GrayscaleAlpha => {
            let g: Vec<u8> = buf.chunks_exact(2).map(|p| p[0]).collect();
            (g.iter().flat_map(|&g| [g, g, g]).collect(), Some(g))
        }
        png::ColorType::Indexed => unreachable!("EXPAND turns palettes into RGB(A)"),
    };
    (rgb, w, h, grey)
}

/// 64 hex digits (a PDQ hash) made from a seed: distinct seeds give distinct hashes. For tests
/// that need many different, reproducible placeholder hashes.
pub fn seeded_pdq_hex(seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234_5678;
    let mut hex = String::with_capacity(64);
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        hex.push_str(&format!("{x:016x}"));
    }
    hex
}
