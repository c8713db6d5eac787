//! Peer for `bench/pdq_peers.sh`: the darwinium `pdqhash` 0.1.1 crate (pure Rust PDQ on `image` 0.23).
//!
//! What's measured: the crate exactly as its README shows it, `generate_pdq_full_size(&image::open(f))`,
//! i.e. full-resolution PDQ after `image` 0.23's decoder (end to end), or the same function on raw RGB8
//! pixels already in memory (hashing step alone).
//!
//! Run with (normally through `bench/pdq_peers.sh`):
//!   pdq-peer-darwinium e2e --jobs N --files-from LIST      # prints `hex,quality,path`
//!   pdq-peer-darwinium raw --reps R DIR                    # DIR holds NAME.WxH.rgb; prints `hex,quality,name`
//!
//! The crate's quality is its own f32 0..1 metric, not the reference's integer 0..100: it is printed as
//! `round(q*100)` for information only and must not be compared with the reference's quality.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use pdqhash::image;

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn usage() -> ! {
    eprintln!("usage: pdq-peer-darwinium e2e [--jobs N] (--files-from LIST | FILE...)\n       pdq-peer-darwinium raw [--reps R] DIR");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_else(|| usage());
    let mut jobs = 1usize;
    let mut reps = 1usize;
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jobs" => jobs = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--files-from" => {
                let list = args.next().unwrap_or_else(|| usage());
                let text = std::fs::read_to_string(&list).expect("read list");
                files.extend(text.lines().filter(|l| !l.is_empty()).map(PathBuf::from));
            }
            _ => files.push(PathBuf::from(a)),
        }
    }
    match cmd.as_str() {
        "e2e" => e2e(&files, jobs.max(1)),
        "raw" => raw(files.first().unwrap_or_else(|| usage()), reps.max(1)),
        _ => usage(),
    }
}

/// File bytes → hash, `jobs` worker threads pulling from a shared counter; output in input order.
fn e2e(files: &[PathBuf], jobs: usize) {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<String>> = vec![None; files.len()];
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= files.len() {
                            break;
                        }
                        let line = match image::open(&files[i]) {
                            Ok(img) => {
                                let (h, q) = pdqhash::generate_pdq_full_size(&img);
                                format!("{},{},{}", hex(&h), (q * 100.0).round() as i64, files[i].display())
                            }
                            Err(e) => format!("ERROR,{e},{}", files[i].display()),
                        };
                        out.push((i, line));
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            for (i, line) in h.join().expect("worker") {
                results[i] = Some(line);
            }
        }
    });
    let dt = t0.elapsed();
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for line in results.into_iter().flatten() {
        writeln!(w, "{line}").unwrap();
    }
    w.flush().unwrap();
    eprintln!("darwinium e2e: {} files, jobs {jobs}, {:.4} s", files.len(), dt.as_secs_f64());
}

/// Parses `NAME.WxH.rgb` into (W, H).
fn dims_from_name(p: &Path) -> Option<(u32, u32)> {
    let stem = p.file_name()?.to_str()?.strip_suffix(".rgb")?;
    let dims = stem.rsplit('.').next()?;
    let (w, h) = dims.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// Decoded pixels → hash: all `.rgb` files loaded first, then only `generate_pdq_full_size` timed.
fn raw(dir: &Path, reps: usize) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rgb"))
        .collect();
    paths.sort();
    let images: Vec<(String, image::DynamicImage)> = paths
        .iter()
        .map(|p| {
            let (w, h) = dims_from_name(p).expect("NAME.WxH.rgb");
            let buf = std::fs::read(p).expect("read raw");
            let img = image::RgbImage::from_raw(w, h, buf).expect("raw size matches WxH");
            (p.file_name().unwrap().to_string_lossy().into_owned(), image::DynamicImage::ImageRgb8(img))
        })
        .collect();
    let mut lines = Vec::with_capacity(images.len());
    let mut totals = Vec::with_capacity(reps);
    for rep in 0..reps {
        let t0 = Instant::now();
        for (name, img) in &images {
            let (h, q) = pdqhash::generate_pdq_full_size(img);
            if rep == 0 {
                lines.push(format!("{},{},{}", hex(&h), (q * 100.0).round() as i64, name));
            }
        }
        totals.push(t0.elapsed().as_secs_f64());
    }
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for l in &lines {
        writeln!(w, "{l}").unwrap();
    }
    w.flush().unwrap();
    let mut sorted = totals.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let med = sorted[sorted.len() / 2];
    let reps_s: Vec<String> = totals.iter().map(|t| format!("{t:.6}")).collect();
    eprintln!(
        "TIMING tool=darwinium images={} reps={} median_s={:.6} per_image_ms={:.4} all_s={}",
        images.len(),
        reps,
        med,
        med * 1e3 / images.len().max(1) as f64,
        reps_s.join(";")
    );
}
