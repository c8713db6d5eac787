//! Profiling loop: hashes one synthetic 1600x1004 image N times (`cargo run --release -p vigil-pdq
//! --example prof_core -- 200`), for `perf record`.
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let (w, h) = (1600, 1004);
    let rgb: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i * 2654435761usize) >> 13) as u8)
        .collect();
    let img = vigil_pdq::Image::rgb8(&rgb, w, h).unwrap();
    let mut hasher = vigil_pdq::Hasher::new();
    let t = std::time::Instant::now();
    let mut acc = 0u32;
    for _ in 0..n {
        acc += hasher.hash(&img).quality as u32;
    }
    eprintln!(
        "{:.3} ms/hash ({acc})",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}
