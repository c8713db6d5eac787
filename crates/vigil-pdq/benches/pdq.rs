//! What's measured: the PDQ hashing step alone — decoded RGB8 pixels in, hash and quality out —
//! for typical photo sizes, plain entry point and plain + 8 dihedrals. Pixels are seeded noise
//! smoothed a little (the core's cost does not depend on content).
//!
//! Run with: `cargo bench -p vigil-pdq --bench pdq`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_pdq::{Hasher, Image, Mode};

fn pixels(w: usize, h: usize) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    (0..w * h * 3)
        .map(|i| ((i / 3 % w) as u8).wrapping_add(rng.gen_range(0..16)))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pdq");
    g.sample_size(20);
    for (w, h) in [
        (512, 512),
        (1024, 768),
        (1600, 1004),
        (1920, 1280),
        (4032, 3024),
    ] {
        let rgb = pixels(w, h);
        let img = Image::rgb8(&rgb, w, h).unwrap();
        let mut hasher = Hasher::new();
        g.throughput(Throughput::Elements((w * h) as u64));
        g.bench_with_input(
            BenchmarkId::new("hash/full", format!("{w}x{h}")),
            &img,
            |b, img| b.iter(|| hasher.hash(img)),
        );
        if w == 1600 || w == 4032 {
            g.bench_with_input(
                BenchmarkId::new("hash+dihedral/full", format!("{w}x{h}")),
                &img,
                |b, img| b.iter(|| hasher.hash_and_dihedral(img)),
            );
            g.bench_with_input(
                BenchmarkId::new("hash/reference-tool", format!("{w}x{h}")),
                &img,
                |b, img| b.iter(|| hasher.hash_mode(img, Mode::ReferenceTool)),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
