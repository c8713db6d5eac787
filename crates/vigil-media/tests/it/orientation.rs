//! EXIF orientation: recorded always, applied only on request, all 8 values, JPEG/PNG/WebP/TIFF.
//! The oracle composes `image::imageops` rotations and flips (an independent implementation).

use image::ImageFormat as F;
use image::{RgbImage, imageops};
use vigil_media::{DecodeOptions, PixelData, decode};

use crate::util::{encode_with_exif, exif_orientation_block, pattern, tiff_rgb};

/// What Pillow's `ImageOps.exif_transpose` produces for orientation `o`.
fn oracle(img: &RgbImage, o: u8) -> RgbImage {
    match o {
        1 => img.clone(),
        2 => imageops::flip_horizontal(img),
        3 => imageops::rotate180(img),
        4 => imageops::flip_vertical(img),
        5 => imageops::flip_horizontal(&imageops::rotate90(img)), // transpose
        6 => imageops::rotate90(img),                             // 90° clockwise
        7 => imageops::flip_vertical(&imageops::rotate90(img)),   // transverse
        8 => imageops::rotate270(img),                            // 90° anticlockwise
        _ => unreachable!(),
    }
}

fn check(fmt: &str, bytes: &[u8], o: u8, w: u32, h: u32) {
    let plain = decode(bytes, fmt, &DecodeOptions::default()).expect("decode");
    assert_eq!(plain.exif_orientation, Some(o), "{fmt} {o}");
    assert_eq!(
        (plain.width, plain.height),
        (w, h),
        "{fmt} {o}: ignored by default"
    );
    let PixelData::Rgb8(raw) = plain.pixels else {
        panic!("{fmt}: not rgb")
    };
    let raw = RgbImage::from_raw(w, h, raw).expect("raw");
    let want = oracle(&raw, o);
    let opts = DecodeOptions {
        apply_exif_orientation: true,
        ..DecodeOptions::default()
    };
    let applied = decode(bytes, fmt, &opts).expect("decode");
    assert_eq!(applied.exif_orientation, Some(o));
    assert_eq!(
        (applied.width, applied.height),
        want.dimensions(),
        "{fmt} {o}"
    );
    assert_eq!(
        applied.pixels,
        PixelData::Rgb8(want.into_raw()),
        "{fmt} orientation {o}"
    );
}

#[test]
fn all_orientations_all_formats() {
    let (w, h) = (24, 10);
    let px = pattern(w, h);
    for o in 1..=8u8 {
        let exif = exif_orientation_block(u16::from(o));
        for f in [F::Jpeg, F::Png, F::WebP] {
            let bytes = encode_with_exif(f, &px, w, h, exif.clone());
            check(&format!("{f:?}"), &bytes, o, w, h);
        }
        check("tiff", &tiff_rgb(&px, w, h, Some(u16::from(o))), o, w, h);
    }
}

#[test]
fn grey_orientation_applies_too() {
    let (w, h) = (5, 3);
    let grey: Vec<u8> = (0..15).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    {
        use image::ImageEncoder;
        let mut e = image::codecs::png::PngEncoder::new(&mut out);
        e.set_exif_metadata(exif_orientation_block(6))
            .expect("exif");
        e.write_image(&grey, w, h, image::ExtendedColorType::L8)
            .expect("png");
    }
    let opts = DecodeOptions {
        apply_exif_orientation: true,
        ..DecodeOptions::default()
    };
    let d = decode(out.get_ref(), "g.png", &opts).expect("decode");
    assert_eq!((d.width, d.height), (3, 5));
    // 90° clockwise: the first output row is the first column read bottom-up.
    let want = vec![10, 5, 0, 11, 6, 1, 12, 7, 2, 13, 8, 3, 14, 9, 4];
    assert_eq!(d.pixels, PixelData::Grey8(want));
}

#[test]
fn no_exif_means_none() {
    let px = pattern(8, 8);
    let bytes = crate::util::encode(F::Jpeg, &px, 8, 8, image::ExtendedColorType::Rgb8);
    let d = decode(&bytes, "x", &DecodeOptions::default()).expect("decode");
    assert_eq!(d.exif_orientation, None);
}

#[test]
fn threatexchange_exif_rotn_files() {
    let Some(dir) = vigil_testkit::fixtures("threatexchange_exif_rotn_files") else {
        return;
    };
    for o in [1u8, 3, 6, 8] {
        let p = dir.join(format!(
            "threatexchange/pdq/data/reg-test-input/exif-rotn/exif-rotn-{o}.jpg"
        ));
        let bytes = std::fs::read(&p).expect("read");
        let opts = DecodeOptions {
            apply_exif_orientation: true,
            ..DecodeOptions::default()
        };
        let d = decode(&bytes, "exif-rotn", &opts).expect("decode");
        assert_eq!(d.exif_orientation, Some(o));
        let want = if o >= 5 { (3024, 4032) } else { (4032, 3024) };
        assert_eq!((d.width, d.height), want, "exif-rotn-{o}");
    }
}
