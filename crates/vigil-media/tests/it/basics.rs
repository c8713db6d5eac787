//! Digests, sniffing, and lossless round trips per format and pixel type.

use image::ExtendedColorType as Ct;
use image::ImageFormat as F;
use vigil_media::{DecodeOptions, Format, PixelData, decode, digests};

use crate::util::{encode, pattern, png_chunk, tiff_rgb};

#[test]
fn digests_known_vectors() {
    let d = digests(b"abc");
    assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(
        d.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let e = digests(b"");
    assert_eq!(e.md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(e.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(
        e.sha256,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn sniff_by_magic_not_name() {
    let px = pattern(16, 8);
    for (f, want) in [
        (F::Png, Format::Png),
        (F::Jpeg, Format::Jpeg),
        (F::Gif, Format::Gif),
        (F::WebP, Format::WebP),
        (F::Bmp, Format::Bmp),
        (F::Tiff, Format::Tiff),
    ] {
        let bytes = encode(f, &px, 16, 8, Ct::Rgb8);
        assert_eq!(Format::sniff(&bytes), Some(want), "{f:?}");
        // The name plays no part.
        let d = decode(&bytes, "misleading.txt", &DecodeOptions::default()).expect("decode");
        assert_eq!(d.format, want);
        assert_eq!((d.width, d.height), (16, 8));
    }
    for junk in [
        &b""[..],
        b"\xff\xd8",
        b"BM",
        b"BMxxxxxxxxxxxxxxxxxxxx",
        b"hello world",
        b"RIFF\0\0\0\0WAVE",
    ] {
        assert_eq!(Format::sniff(junk), None, "{junk:?}");
    }
}

#[test]
fn lossless_round_trips_rgb() {
    let (w, h) = (37, 23);
    let px = pattern(w, h);
    for f in [F::Png, F::WebP, F::Bmp, F::Tiff] {
        let bytes = encode(f, &px, w, h, Ct::Rgb8);
        let d = decode(&bytes, "x", &DecodeOptions::default()).expect("decode");
        assert_eq!(d.pixels, PixelData::Rgb8(px.clone()), "{f:?}");
    }
    let d = decode(&tiff_rgb(&px, w, h, None), "x", &DecodeOptions::default()).expect("tiff");
    assert_eq!(d.pixels, PixelData::Rgb8(px.clone()));
}

#[test]
fn alpha_is_dropped_not_composited() {
    let (w, h) = (9, 7);
    let rgb = pattern(w, h);
    let rgba: Vec<u8> = rgb
        .chunks_exact(3)
        .enumerate()
        .flat_map(|(i, p)| [p[0], p[1], p[2], (i * 37 % 256) as u8])
        .collect();
    for f in [F::Png, F::WebP, F::Tiff] {
        let bytes = encode(f, &rgba, w, h, Ct::Rgba8);
        let d = decode(&bytes, "x", &DecodeOptions::default()).expect("decode");
        assert_eq!(d.pixels, PixelData::Rgb8(rgb.clone()), "{f:?}");
    }
}

#[test]
fn grey_stays_grey_and_16_bit_takes_high_byte() {
    let (w, h) = (10, 6);
    let grey: Vec<u8> = (0..w * h).map(|i| (i * 4) as u8).collect();
    let d = decode(
        &encode(F::Png, &grey, w, h, Ct::L8),
        "g",
        &DecodeOptions::default(),
    )
    .expect("L8");
    assert_eq!(d.pixels, PixelData::Grey8(grey.clone()));
    let la: Vec<u8> = grey.iter().flat_map(|&g| [g, 255 - g]).collect();
    let d = decode(
        &encode(F::Png, &la, w, h, Ct::La8),
        "la",
        &DecodeOptions::default(),
    )
    .expect("LA8");
    assert_eq!(d.pixels, PixelData::Grey8(grey.clone()));
    // 16-bit: the encoder takes native-endian u16 bytes; the value v*257+i keeps v in the high byte.
    let g16: Vec<u8> = grey
        .iter()
        .enumerate()
        .flat_map(|(i, &g)| (u16::from(g) * 256 + (i as u16 % 251)).to_ne_bytes())
        .collect();
    let d = decode(
        &encode(F::Png, &g16, w, h, Ct::L16),
        "l16",
        &DecodeOptions::default(),
    )
    .expect("L16");
    assert_eq!(d.pixels, PixelData::Grey8(grey.clone()));
    let rgb = pattern(w, h);
    let rgb16: Vec<u8> = rgb
        .iter()
        .enumerate()
        .flat_map(|(i, &v)| (u16::from(v) * 256 + (i as u16 % 199)).to_ne_bytes())
        .collect();
    let d = decode(
        &encode(F::Png, &rgb16, w, h, Ct::Rgb16),
        "rgb16",
        &DecodeOptions::default(),
    )
    .expect("RGB16");
    assert_eq!(d.pixels, PixelData::Rgb8(rgb));
}

/// A palette PNG whose tRNS makes entry 1 fully transparent: Pillow's convert("RGB") keeps its colour.
#[test]
fn png_palette_transparency_keeps_colour() {
    let (w, h) = (4u32, 2u32);
    let plte = [10u8, 20, 30, 200, 100, 50, 0, 255, 0];
    let idx = [0u8, 1, 2, 1, 2, 1, 0, 0];
    let mut raw = Vec::new();
    for row in idx.chunks(w as usize) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(plte.to_vec());
        enc.set_trns(vec![255u8, 0, 255]);
        let mut wr = enc.write_header().expect("header");
        wr.write_image_data(&idx).expect("data");
    }
    let _ = png_chunk; // (helper used by the hostile tests)
    let d = decode(&out, "p.png", &DecodeOptions::default()).expect("decode");
    let want: Vec<u8> = idx
        .iter()
        .flat_map(|&i| plte[i as usize * 3..i as usize * 3 + 3].to_vec())
        .collect();
    assert_eq!(d.pixels, PixelData::Rgb8(want));
}

/// GIF: first frame smaller than the screen, with a transparent index and a local palette.
/// Pillow: canvas filled with the transparency index, transparent pixels keep their colour.
#[test]
fn gif_first_frame_on_screen_with_transparency() {
    let global = [0u8, 0, 0, 255, 255, 255];
    let local = [1u8, 2, 3, 40, 50, 60, 70, 80, 90, 100, 110, 120];
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, 6, 5, &global).expect("gif");
        let frame = gif::Frame {
            left: 2,
            top: 1,
            width: 3,
            height: 2,
            buffer: std::borrow::Cow::Owned(vec![0, 1, 2, 3, 2, 1]),
            palette: Some(local.to_vec()),
            transparent: Some(2),
            ..gif::Frame::default()
        };
        enc.write_frame(&frame).expect("frame");
        let second = gif::Frame {
            width: 6,
            height: 5,
            buffer: std::borrow::Cow::Owned(vec![1; 30]),
            ..gif::Frame::default()
        };
        enc.write_frame(&second).expect("frame 2");
    }
    let d = decode(&out, "a.gif", &DecodeOptions::default()).expect("decode");
    assert_eq!((d.width, d.height), (6, 5));
    let c = |i: usize| [local[i * 3], local[i * 3 + 1], local[i * 3 + 2]];
    let mut want = Vec::new();
    for y in 0..5 {
        for x in 0..6 {
            let inside = (2..5).contains(&x) && (1..3).contains(&y);
            let i = if inside {
                [0, 1, 2, 3, 2, 1][(y - 1) * 3 + (x - 2)]
            } else {
                2
            };
            want.extend(c(i));
        }
    }
    assert_eq!(d.pixels, PixelData::Rgb8(want));
}

#[test]
fn gif_matches_image_crate_decoder() {
    let (w, h) = (33, 17);
    let bytes = encode(F::Gif, &pattern(w, h), w, h, Ct::Rgb8);
    let d = decode(&bytes, "x.gif", &DecodeOptions::default()).expect("decode");
    let oracle = image::load_from_memory_with_format(&bytes, F::Gif)
        .expect("oracle")
        .to_rgb8();
    assert_eq!(d.pixels, PixelData::Rgb8(oracle.into_raw()));
}

#[test]
fn jpeg_grey_is_grey8_and_close_to_source() {
    let (w, h) = (32, 16);
    let grey: Vec<u8> = (0..w * h).map(|i| ((i % w) * 8) as u8).collect();
    let d = decode(
        &encode(F::Jpeg, &grey, w, h, Ct::L8),
        "g.jpg",
        &DecodeOptions::default(),
    )
    .expect("decode");
    let PixelData::Grey8(g) = d.pixels else {
        panic!("not grey")
    };
    let max = g
        .iter()
        .zip(&grey)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0);
    assert!(max <= 8, "max diff {max}");
}

/// Pillow's `cmyk2rgb` on a few hand-computed values, through an Adobe CMYK JPEG made in the test is
/// not possible with the `image` encoder; the fixture `modes/CMYK.jpg` covers the JPEG side.
#[test]
fn fixture_cmyk_pixels_plausible() {
    let Some(dir) = vigil_testkit::fixtures("fixture_cmyk_pixels_plausible") else {
        return;
    };
    let p = dir.join("threatexchange/pdq/data/misc-images/modes/CMYK.jpg");
    let cmyk = std::fs::read(&p).expect("read");
    let rgbp = dir.join("threatexchange/pdq/data/misc-images/modes/RGB.jpg");
    let rgb = std::fs::read(&rgbp).expect("read");
    let a = decode(&cmyk, "CMYK.jpg", &DecodeOptions::default()).expect("cmyk");
    let b = decode(&rgb, "RGB.jpg", &DecodeOptions::default()).expect("rgb");
    let (PixelData::Rgb8(a), PixelData::Rgb8(b)) = (a.pixels, b.pixels) else {
        panic!("not rgb")
    };
    let mean = a
        .iter()
        .zip(&b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum::<u64>()
        / a.len() as u64;
    assert!(
        mean < 8,
        "CMYK decode far from the RGB version: mean diff {mean}"
    );
}
