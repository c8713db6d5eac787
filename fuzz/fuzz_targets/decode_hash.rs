//! Decode arbitrary bytes with small limits; on success, check the dimensions respect the limits,
//! the buffer matches them, and the PDQ hash of the pixels is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_media::{DecodeOptions, Limits, PixelData, decode};
use vigil_pdq::{Hasher, Image, Pixels};

const LIMITS: Limits = Limits {
    max_file_bytes: 1 << 20,
    max_pixels: 1 << 20,
    max_alloc_bytes: 32 << 20,
};

fuzz_target!(|data: &[u8]| {
    let apply_exif_orientation = data.first().is_some_and(|b| b & 1 == 1);
    let opts = DecodeOptions { limits: LIMITS, apply_exif_orientation };
    let d = match decode(data, "fuzz", &opts) {
        Ok(d) => d,
        Err(e) => {
            assert!(e.to_string().contains("\"fuzz\""), "error does not name the input: {e}");
            return;
        }
    };
    let (w, h) = (d.width as usize, d.height as usize);
    assert!(w > 0 && h > 0);
    assert!((w as u64) * (h as u64) <= LIMITS.max_pixels, "{w}x{h} over the pixel limit");
    let img = match &d.pixels {
        PixelData::Rgb8(p) => Image::new(Pixels::Rgb8(p), w, h),
        PixelData::Grey8(p) => Image::new(Pixels::Grey8(p), w, h),
    }
    .expect("decoded buffer matches its dimensions");
    let a = Hasher::new().hash_and_dihedral(&img);
    let b = Hasher::new().hash_and_dihedral(&img);
    assert_eq!(a, b, "PDQ of the same pixels differs between runs");
});
