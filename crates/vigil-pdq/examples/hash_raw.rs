//! Hashing step alone, for the peer comparison in `bench/pdq_peers.sh`.
//!
//! What's measured: `vigil_pdq::Hasher::hash` (full-resolution mode: luma, Jarosz blur, 64×64
//! decimation, quality, DCT, median threshold) on RGB8 pixels already in memory. All files are read
//! before the clock starts; one `Hasher` is reused; the loop runs `--reps` times and the median total
//! is reported.
//!
//! Input: a directory of raw interleaved RGB8 files named `NAME.WxH.rgb` (row-major, no padding).
//! Output: `hex,quality,NAME.WxH.rgb` per file on stdout (first repetition), one `TIMING ...` line on
//! stderr.
//!
//! Run with: `cargo run --release -p vigil-pdq --example hash_raw -- [--reps R] DIR`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vigil_pdq::{Hasher, Image, Pixels};

fn dims_from_name(p: &Path) -> Option<(usize, usize)> {
    let stem = p.file_name()?.to_str()?.strip_suffix(".rgb")?;
    let dims = stem.rsplit('.').next()?;
    let (w, h) = dims.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut reps = 1usize;
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().ok_or("--reps needs a value")?.parse()?,
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.ok_or("usage: hash_raw [--reps R] DIR")?;
    let reps = reps.max(1);

    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rgb"))
        .collect();
    paths.sort();
    let mut images = Vec::with_capacity(paths.len());
    for p in &paths {
        let (w, h) = dims_from_name(p)
            .ok_or_else(|| format!("{}: name is not NAME.WxH.rgb", p.display()))?;
        let buf = std::fs::read(p)?;
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        images.push((name, buf, w, h));
    }

    let mut hasher = Hasher::new();
    let mut lines = Vec::with_capacity(images.len());
    let mut totals = Vec::with_capacity(reps);
    for rep in 0..reps {
        let t0 = Instant::now();
        for (name, buf, w, h) in &images {
            let pdq = hasher.hash(&Image::new(Pixels::Rgb8(buf), *w, *h)?);
            if rep == 0 {
                lines.push(format!("{},{},{}", pdq.hash.to_hex(), pdq.quality, name));
            }
        }
        totals.push(t0.elapsed().as_secs_f64());
    }

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for l in &lines {
        writeln!(out, "{l}")?;
    }
    out.flush()?;
    let mut sorted = totals.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let all: Vec<String> = totals.iter().map(|t| format!("{t:.6}")).collect();
    eprintln!(
        "TIMING tool=vigil images={} reps={} median_s={:.6} per_image_ms={:.4} all_s={}",
        images.len(),
        reps,
        median,
        median * 1e3 / images.len().max(1) as f64,
        all.join(";")
    );
    Ok(())
}
