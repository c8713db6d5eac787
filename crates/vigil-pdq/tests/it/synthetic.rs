//! Property tests: the optimised core against the naive oracle (`oracle.rs`) on synthetic images of
//! every shape — sizes 1..1100, thin, flat, noisy, gradients — through each pixel layout.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_pdq::{Hasher, Image, Mode, Pixels, reference_tool_resize};

use crate::oracle;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Flat(u8),
    Noise,
    Gradient,
    LowContrast,
    Stripes,
}

fn render(kind: Kind, w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rgb = Vec::with_capacity(w * h * 3);
    let base: u8 = rng.r#gen();
    for y in 0..h {
        for x in 0..w {
            let px: [u8; 3] = match kind {
                Kind::Flat(v) => [v, v.wrapping_add(7), v.wrapping_mul(3)],
                Kind::Noise => rng.r#gen(),
                Kind::Gradient => {
                    let v = ((x * 255) / w.max(1)) as u8;
                    [v, ((y * 255) / h.max(1)) as u8, v ^ base]
                }
                Kind::LowContrast => {
                    let v = base / 2 + (((x / 7 + y / 5) % 3) as u8);
                    [v, v, v.wrapping_add(rng.gen_range(0..2))]
                }
                Kind::Stripes => {
                    let v = if (x / 3) % 2 == 0 { 40 } else { 200 };
                    [v, v, v]
                }
            };
            rgb.extend_from_slice(&px);
        }
    }
    rgb
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        any::<u8>().prop_map(Kind::Flat),
        Just(Kind::Noise),
        Just(Kind::Gradient),
        Just(Kind::LowContrast),
        Just(Kind::Stripes),
    ]
}

/// Sizes from 1 to 1100 with thin shapes, the 63/64/65 and 127/128/129 window boundaries, and an
/// area cap so that the naive oracle stays quick.
fn dims() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![
        (1usize..1100, 1usize..12),
        (1usize..12, 1usize..1100),
        (1usize..400, 1usize..400),
        prop::sample::select(vec![
            4usize, 5, 6, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513
        ])
        .prop_flat_map(|a| (
            Just(a),
            prop::sample::select(vec![5usize, 64, 100, 129, 300])
        )),
        (600usize..1100, 100usize..300),
    ]
}

fn check(kind: Kind, w: usize, h: usize, seed: u64) -> Result<(), TestCaseError> {
    let rgb = render(kind, w, h, seed);
    let luma = oracle::luma_rgb(&rgb);
    let (want, want_q) = oracle::pdq(&luma, w, h);
    let (want_dih, want_dq) = oracle::dihedral(&luma, w, h);
    let grey: Vec<u8> = rgb.chunks_exact(3).map(|p| p[1]).collect();
    let grey_luma: Vec<f32> = grey
        .iter()
        .map(|&g| oracle::luma_rgb(&[g, g, g])[0])
        .collect();
    let (want_g, want_gq) = oracle::pdq(&grey_luma, w, h);
    for mut hasher in [Hasher::new(), Hasher::portable()] {
        let gimg = Image::new(Pixels::Grey8(&grey), w, h).unwrap();
        let g = hasher.hash(&gimg);
        prop_assert_eq!(
            (g.hash, g.quality),
            (want_g, want_gq),
            "{:?} {}x{} grey",
            kind,
            w,
            h
        );
        for pixels in [Pixels::Rgb8(&rgb), Pixels::Luma(&luma)] {
            let img = Image::new(pixels, w, h).unwrap();
            let (plain, dih) = hasher.hash_and_dihedral(&img);
            prop_assert_eq!(plain.hash, want, "{:?} {}x{} plain hash", kind, w, h);
            prop_assert_eq!(plain.quality, want_q, "{:?} {}x{} quality", kind, w, h);
            prop_assert_eq!(dih.hashes, want_dih, "{:?} {}x{} dihedrals", kind, w, h);
            prop_assert_eq!(dih.quality, want_dq);
            prop_assert_eq!(hasher.hash(&img), plain);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn core_equals_naive_oracle(kind in kind(), (w, h) in dims(), seed in any::<u64>()) {
        check(kind, w, h, seed)?;
    }

    #[test]
    fn grey_equals_replicated_rgb((w, h) in (1usize..300, 1usize..300), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let grey: Vec<u8> = (0..w * h).map(|_| rng.r#gen()).collect();
        let rgb: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
        let mut hasher = Hasher::new();
        let a = hasher.hash_and_dihedral(&Image::new(Pixels::Grey8(&grey), w, h).unwrap());
        let b = hasher.hash_and_dihedral(&Image::new(Pixels::Rgb8(&rgb), w, h).unwrap());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn reference_tool_mode_is_nearest_neighbour_512((w, h) in (1usize..1400, 1usize..1400), seed in any::<u64>()) {
        let rgb = render(Kind::Noise, w, h, seed);
        let img = Image::rgb8(&rgb, w, h).unwrap();
        let got = Hasher::new().hash_mode(&img, Mode::ReferenceTool);
        if w <= 512 && h <= 512 {
            prop_assert!(reference_tool_resize(&img).is_none());
            prop_assert_eq!(got, Hasher::new().hash(&img));
        } else {
            // Oracle: CImg's nearest neighbour, source index floor(dst * in / 512) in double.
            let mut small = Vec::with_capacity(512 * 512 * 3);
            for y in 0..512usize {
                let sy = ((y as f64 * h as f64) / 512.0).floor() as usize;
                for x in 0..512usize {
                    let sx = ((x as f64 * w as f64) / 512.0).floor() as usize;
                    small.extend_from_slice(&rgb[(sy * w + sx) * 3..(sy * w + sx) * 3 + 3]);
                }
            }
            let (want, want_q) = oracle::pdq(&oracle::luma_rgb(&small), 512, 512);
            prop_assert_eq!((got.hash, got.quality), (want, want_q));
        }
    }
}

/// Named corner cases, kept as plain tests so they always run.
#[test]
fn corner_sizes() {
    for (w, h) in [
        (1, 1),
        (4, 4),
        (4, 480),
        (480, 4),
        (5, 5),
        (5, 640),
        (640, 5),
        (64, 64),
        (1100, 6),
        (6, 1100),
    ] {
        for kind in [Kind::Flat(0), Kind::Flat(128), Kind::Noise, Kind::Stripes] {
            check(kind, w, h, 7).unwrap();
        }
    }
}
