//! `vigil demo`: a first run for newcomers that needs no fixtures and no network.
//!
//! Generates a small set of benign synthetic images (gradients, checkerboards, stripes, noise, a
//! colour "plasma" with a rotated, a flipped and a downscaled copy, a greyscale and an RGBA PNG, a
//! BMP, an image too small to hash, a flat one) plus one truncated PNG and one text file, in a new
//! temporary directory; hashes them through exactly the pipeline of `vigil hash`
//! ([`super::hash::hash_inputs`]); prints the results and a one-line summary; and deletes the
//! directory. Exit status 0 when exactly the two planted bad files failed.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use vigil_core::Hash256;
use vigil_pdq::{Image, Variant};

use super::hash::hash_inputs;
use crate::config::HashConfig;
use crate::exit::ExitStatus;
use crate::inputs;
use crate::printer::Printer;

/// Files the demo plants that must fail.
const EXPECTED_FAILURES: [&str; 2] = ["corrupt.png", "notes.txt"];

/// `vigil demo`.
pub(crate) fn run(cfg: &HashConfig, printer: Printer) -> anyhow::Result<ExitStatus> {
    let dir = tempfile::Builder::new()
        .prefix("vigil-demo-")
        .tempdir()
        .context("creating a temporary directory for the demo images")?;
    let plasma = plasma(320, 240);
    write_set(dir.path(), &plasma)
        .with_context(|| format!("writing the demo images to {}", inputs::show(dir.path())))?;

    let mut cfg = cfg.clone();
    cfg.display_root = Some(dir.path().to_path_buf());
    let mut hashes: HashMap<String, Hash256> = HashMap::new();
    let mut failed: Vec<String> = Vec::new();
    let summary = hash_inputs(
        inputs::expand(&[dir.path().to_path_buf()]),
        &cfg,
        printer,
        |input, outcome| {
            let name = input
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match outcome {
                Ok(h) => {
                    if let Some(i) = h.image() {
                        hashes.insert(name, i.pdq.hash);
                    }
                }
                Err(_) => failed.push(name),
            }
        },
    )?;
    // The bank part of the demo: an SQLite store in the same temporary directory.
    let bank_line = if summary.broken_pipe {
        None
    } else {
        Some(bank_demo(dir.path(), &hashes).context("the demo's bank")?)
    };
    dir.close()
        .context("removing the demo's temporary directory")?;
    if summary.broken_pipe {
        return Ok(ExitStatus::Success);
    }

    failed.sort();
    let as_expected = failed == EXPECTED_FAILURES;
    if printer.summary() {
        // What a match looks like: the rotated copy against the original's rot90 dihedral hash
        // (computed here from the generated pixels), the downscaled copy against the original.
        let img =
            Image::rgb8(&plasma.rgb, plasma.w, plasma.h).expect("the buffer matches its size");
        let (_, dih) = vigil_pdq::hash_and_dihedral(&img, cfg.mode);
        let dist = |name: &str, to: Hash256| {
            hashes
                .get(name)
                .map_or_else(|| "n/a".to_string(), |h| h.distance(&to).to_string())
        };
        let line = format!(
            "demo: {} files, {} hashed, {} failed ({}{}); distance plasma-rot90.png to plasma.png's rot90 \
             variant: {}; plasma-half.png to plasma.png: {} (of 256 bits; 31 or less is a match)",
            summary.hashed + summary.failed,
            summary.hashed,
            summary.failed,
            if failed.is_empty() {
                "none".to_string()
            } else {
                failed.join(", ")
            },
            if as_expected {
                ", as planted"
            } else {
                "; expected exactly corrupt.png and notes.txt"
            },
            dist("plasma-rot90.png", dih.get(Variant::Rot90)),
            dist("plasma-half.png", dih.get(Variant::Orig)),
        );
        let _ = writeln!(std::io::stderr().lock(), "{line}");
        if let Some(b) = bank_line {
            let _ = writeln!(std::io::stderr().lock(), "{b}");
        }
    }
    Ok(if as_expected {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Puts plasma.png's hash in a bank of an SQLite store in `dir` (the embedded default store,
/// through the same code as `vigil bank`), loads the bank as `vigil match --bank` does, and
/// matches every hashed demo image against it. Returns the summary line.
fn bank_demo(dir: &std::path::Path, hashes: &HashMap<String, Hash256>) -> anyhow::Result<String> {
    use vigil_exchange::record::{Record, Signal, SignalKind};
    let known = *hashes
        .get("plasma.png")
        .context("plasma.png was not hashed")?;
    let url = format!("sqlite://{}", dir.join("demo-store.db").display());
    let pairs = super::store::block_on(async {
        let store = super::store::open(&url).await?;
        store
            .create_bank("demo", &vigil_store::NewBank::block("demo-known"))
            .await?;
        store
            .add(
                "demo",
                "demo-known",
                Record::with_signals([Signal::from_pdq(known)]),
                "demo",
            )
            .await?;
        let mut pairs = Vec::new();
        store
            .active_signals(Some(&SignalKind::Pdq), |s| {
                if let Some(h) = s.signal.pdq() {
                    pairs.push((h, s.content_id as u64));
                }
            })
            .await?;
        store.close().await;
        anyhow::Ok(pairs)
    })??;
    let index = vigil_index::Index::from_pairs(pairs);
    let mut matched: Vec<(u32, &str)> = hashes
        .iter()
        .filter_map(|(name, h)| {
            index
                .query(h, 31)
                .first()
                .map(|m| (m.distance, name.as_str()))
        })
        .collect();
    matched.sort();
    let shown: Vec<String> = matched.iter().map(|(d, n)| format!("{n} at {d}")).collect();
    Ok(format!(
        "demo: bank \"demo-known\" (an SQLite store) holds plasma.png's hash; of the {} hashed \
         images, {} match it within 31 bits: {}",
        hashes.len(),
        matched.len(),
        shown.join(", ")
    ))
}

/// An RGB8 image.
struct Rgb {
    rgb: Vec<u8>,
    w: usize,
    h: usize,
}

impl Rgb {
    fn from_fn(w: usize, h: usize, f: impl Fn(usize, usize) -> [u8; 3]) -> Rgb {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                rgb.extend_from_slice(&f(x, y));
            }
        }
        Rgb { rgb, w, h }
    }

    fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.w + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Rotated 90° anticlockwise (PDQ's `rot90`).
    fn rot90(&self) -> Rgb {
        Rgb::from_fn(self.h, self.w, |x, y| self.px(self.w - 1 - y, x))
    }

    /// Top-bottom mirror (PDQ's `flipx`).
    fn flipx(&self) -> Rgb {
        Rgb::from_fn(self.w, self.h, |x, y| self.px(x, self.h - 1 - y))
    }

    /// Half size, 2×2 box filter.
    fn half(&self) -> Rgb {
        Rgb::from_fn(self.w / 2, self.h / 2, |x, y| {
            let mut s = [0u32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = self.px(2 * x + dx, 2 * y + dy);
                for c in 0..3 {
                    s[c] += u32::from(p[c]);
                }
            }
            s.map(|v| ((v + 2) / 4) as u8)
        })
    }
}

fn grey(v: f64) -> [u8; 3] {
    let g = v.clamp(0.0, 255.0) as u8;
    [g, g, g]
}

/// Sums of sines in three channels: colourful and asymmetric, so its rotations hash differently.
fn plasma(w: usize, h: usize) -> Rgb {
    Rgb::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
        let a = (fx * 7.0 + (fy * 3.0).sin() * 2.0).sin();
        let b = (fy * 9.0 + fx * fx * 4.0).cos();
        let c = ((fx - 0.3).hypot(fy - 0.6) * 14.0).sin();
        [
            (128.0 + 120.0 * a) as u8,
            (128.0 + 120.0 * b) as u8,
            (128.0 + 60.0 * (a + c)) as u8,
        ]
    })
}

/// A deterministic xorshift generator: the demo must give the same files every run.
fn noise(w: usize, h: usize, mut seed: u64) -> Rgb {
    let mut rgb = Vec::with_capacity(w * h * 3);
    for _ in 0..w * h * 3 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        rgb.push((seed >> 24) as u8);
    }
    Rgb { rgb, w, h }
}

fn write_set(dir: &std::path::Path, plasma: &Rgb) -> anyhow::Result<()> {
    let save = |name: &str, bytes: Vec<u8>| -> anyhow::Result<()> {
        let path: PathBuf = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", inputs::show(&path)))
    };
    let rgb_png = |img: &Rgb| png_bytes(&img.rgb, img.w, img.h, png::ColorType::Rgb);

    save(
        "gradient-horizontal.png",
        rgb_png(&Rgb::from_fn(256, 256, |x, _| grey(x as f64)))?,
    )?;
    save(
        "gradient-vertical.png",
        rgb_png(&Rgb::from_fn(256, 256, |_, y| grey(y as f64)))?,
    )?;
    // Larger than 512 on a side, so `--mode reference-tool` hashes it differently.
    save(
        "gradient-diagonal-640x480.png",
        rgb_png(&Rgb::from_fn(640, 480, |x, y| {
            [(x * 255 / 639) as u8, (y * 255 / 479) as u8, 90]
        }))?,
    )?;
    save(
        "radial.png",
        rgb_png(&Rgb::from_fn(300, 300, |x, y| {
            grey(255.0 - (x as f64 - 110.0).hypot(y as f64 - 170.0) * 1.4)
        }))?,
    )?;
    let checker = |n: usize| {
        Rgb::from_fn(256, 256, move |x, y| {
            grey(if (x / n + y / n).is_multiple_of(2) {
                230.0
            } else {
                25.0
            })
        })
    };
    save("checker-8.png", rgb_png(&checker(8))?)?;
    save("checker-32.png", rgb_png(&checker(32))?)?;
    save(
        "stripes-horizontal.png",
        rgb_png(&Rgb::from_fn(200, 200, |_, y| {
            grey(if y % 20 < 10 { 255.0 } else { 0.0 })
        }))?,
    )?;
    save(
        "stripes-diagonal.png",
        rgb_png(&Rgb::from_fn(200, 200, |x, y| {
            [if (x + 2 * y) % 40 < 20 { 200 } else { 40 }, 120, 60]
        }))?,
    )?;
    save(
        "rings.png",
        rgb_png(&Rgb::from_fn(240, 240, |x, y| {
            grey(128.0 + 127.0 * ((x as f64 - 80.0).hypot(y as f64 - 100.0) / 9.0).sin())
        }))?,
    )?;
    save(
        "noise.png",
        rgb_png(&noise(200, 150, 0x9e37_79b9_7f4a_7c15))?,
    )?;
    save("plasma.png", rgb_png(plasma)?)?;
    save("plasma-rot90.png", rgb_png(&plasma.rot90())?)?;
    save("plasma-flipx.png", rgb_png(&plasma.flipx())?)?;
    save("plasma-half.png", rgb_png(&plasma.half())?)?;
    let grey_grad: Vec<u8> = (0..180 * 120)
        .map(|i| ((i % 180) + (i / 180)) as u8)
        .collect();
    save(
        "grey-gradient.png",
        png_bytes(&grey_grad, 180, 120, png::ColorType::Grayscale)?,
    )?;
    let rgba: Vec<u8> = (0..150 * 150)
        .flat_map(|i| {
            let (x, y) = ((i % 150) as f64, (i / 150) as f64);
            let inside = (x - 75.0).hypot(y - 60.0) < 45.0;
            [
                if inside { 220 } else { 30 },
                (x * 1.5) as u8,
                (y * 1.5) as u8,
                if inside { 255 } else { 80 },
            ]
        })
        .collect();
    save(
        "rgba-circle.png",
        png_bytes(&rgba, 150, 150, png::ColorType::Rgba)?,
    )?;
    save("plasma.bmp", bmp_bytes(&plasma.half()))?;
    // Under 5 px on a side: PDQ gives the zero hash with quality 0.
    save(
        "tiny-4x4.png",
        rgb_png(&Rgb::from_fn(4, 4, |x, y| grey((x * 60 + y * 10) as f64)))?,
    )?;
    // Flat: no structure, quality 0.
    save(
        "flat-grey.png",
        rgb_png(&Rgb::from_fn(64, 64, |_, _| grey(128.0)))?,
    )?;
    // The two planted failures.
    let mut truncated = rgb_png(&checker(16))?;
    truncated.truncate(truncated.len() / 3);
    save(EXPECTED_FAILURES[0], truncated)?;
    save(
        EXPECTED_FAILURES[1],
        b"This is a text file, not an image: vigil reports it and goes on.\n".to_vec(),
    )?;
    Ok(())
}

fn png_bytes(data: &[u8], w: usize, h: usize, color: png::ColorType) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, u32::try_from(w)?, u32::try_from(h)?);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(data)?;
    writer.finish()?;
    Ok(out)
}

/// A 24-bit uncompressed BMP (BITMAPINFOHEADER, bottom-up rows, BGR, rows padded to 4 bytes).
fn bmp_bytes(img: &Rgb) -> Vec<u8> {
    let row = (img.w * 3).div_ceil(4) * 4;
    let size = 54 + row * img.h;
    let mut b = Vec::with_capacity(size);
    b.extend_from_slice(b"BM");
    b.extend_from_slice(&(size as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&54u32.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&(img.w as i32).to_le_bytes());
    b.extend_from_slice(&(img.h as i32).to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 4]); // BI_RGB
    b.extend_from_slice(&((row * img.h) as u32).to_le_bytes());
    b.extend_from_slice(&2835u32.to_le_bytes());
    b.extend_from_slice(&2835u32.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    for y in (0..img.h).rev() {
        for x in 0..img.w {
            let [r, g, bl] = img.px(x, y);
            b.extend_from_slice(&[bl, g, r]);
        }
        b.resize(b.len() + row - img.w * 3, 0);
    }
    b
}
