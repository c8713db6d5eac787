//! Hostile inputs: truncation, corruption, empty and garbage files, bombs, absurd headers.
//! Every case must be an `Err` that names the input (or, for undetectable damage, an `Ok`), and
//! never a panic or a large allocation.

use std::time::{Duration, Instant};

use image::ExtendedColorType as Ct;
use image::ImageFormat as F;
use vigil_media::{DecodeOptions, Error, Limits, decode};

use crate::util::{encode, pattern, png_chunk, tiff_rgb};

const NAME: &str = "evil/input.bin";

const FORMATS: [F; 6] = [F::Jpeg, F::Png, F::Gif, F::WebP, F::Bmp, F::Tiff];

fn sample(f: F) -> Vec<u8> {
    encode(f, &pattern(64, 48), 64, 48, Ct::Rgb8)
}

#[track_caller]
fn assert_err_names(r: Result<vigil_media::Decoded, Error>, what: &str) -> Error {
    match r {
        Ok(d) => panic!(
            "{what}: decoded {}x{} instead of failing",
            d.width, d.height
        ),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(NAME),
                "{what}: error does not name the input: {msg}"
            );
            assert!(!msg.ends_with('.'), "{what}: trailing period: {msg}");
            e
        }
    }
}

#[test]
fn empty_and_garbage() {
    let opts = DecodeOptions::default();
    let e = assert_err_names(decode(b"", NAME, &opts), "empty");
    assert!(matches!(e, Error::UnknownFormat { .. }), "{e:?}");
    let mut state = 0x1234_5678_u32;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    assert_err_names(decode(&garbage, NAME, &opts), "garbage");
    // A valid magic number followed by garbage.
    for magic in [
        &b"\xff\xd8\xff"[..],
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBP",
        b"II*\0",
        b"MM\0*",
    ] {
        let mut v = magic.to_vec();
        v.extend_from_slice(&garbage);
        assert_err_names(
            decode(&v, NAME, &opts),
            &format!("magic {magic:?} + garbage"),
        );
        assert_err_names(
            decode(magic, NAME, &opts),
            &format!("magic {magic:?} alone"),
        );
    }
}

#[test]
fn truncated_files_fail_for_every_format() {
    let opts = DecodeOptions::default();
    for f in FORMATS {
        let full = sample(f);
        decode(&full, NAME, &opts).unwrap_or_else(|e| panic!("{f:?} intact: {e}"));
        let n = full.len();
        for cut in [0, 1, 2, 5, 10, 20, 40, n / 4, n / 2, 3 * n / 4, n - 20] {
            assert_err_names(
                decode(&full[..cut], NAME, &opts),
                &format!("{f:?} cut at {cut}/{n}"),
            );
        }
    }
}

/// "Premature end of JPEG file" is a warning in libjpeg (grey fill); we make it an error.
#[test]
fn truncated_jpeg_names_libjpeg_message() {
    let full = sample(F::Jpeg);
    let e = assert_err_names(
        decode(&full[..full.len() / 2], NAME, &DecodeOptions::default()),
        "jpeg",
    );
    let msg = e.to_string();
    assert!(
        msg.to_lowercase().contains("premature end of jpeg file"),
        "{msg}"
    );
    assert!(matches!(e, Error::Decode { format: "jpeg", .. }), "{e:?}");
}

#[test]
fn corrupted_bytes_never_panic() {
    let opts = DecodeOptions::default();
    for f in FORMATS {
        let full = sample(f);
        for seed in 0..40usize {
            let mut v = full.clone();
            // Damage a few bytes, positions spread over the file (headers included).
            for k in 0..4 {
                let pos = (seed * 7919 + k * 104_729) % v.len();
                v[pos] ^= 0x5a ^ (seed as u8);
            }
            if let Err(e) = decode(&v, NAME, &opts) {
                assert!(e.to_string().contains(NAME), "{f:?}: {e}");
            }
        }
    }
}

/// PNG protects every chunk with a CRC: any flipped byte after the signature, up to the end of
/// the image data, is an error (the trailing IEND chunk is not read).
#[test]
fn corrupted_png_is_an_error() {
    let full = sample(F::Png);
    for pos in (8..full.len() - 12).step_by(7) {
        let mut v = full.clone();
        v[pos] ^= 0xff;
        assert_err_names(
            decode(&v, NAME, &DecodeOptions::default()),
            &format!("png byte {pos}"),
        );
    }
}

fn png_header_only(w: u32, h: u32, color_type: u8) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, color_type, 0, 0, 0]);
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend(png_chunk(b"IHDR", &ihdr));
    v.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    v.extend(png_chunk(b"IEND", &[]));
    v
}

#[track_caller]
fn assert_limit(r: Result<vigil_media::Decoded, Error>, what: &str, started: Instant) {
    let e = assert_err_names(r, what);
    assert!(
        matches!(e, Error::Limit { .. }),
        "{what}: expected a limit error, got {e:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{what}: took {:?}",
        started.elapsed()
    );
}

#[test]
fn absurd_dimensions_are_refused_before_allocation() {
    let opts = DecodeOptions::default();
    let t = Instant::now();
    assert_limit(
        decode(&png_header_only(100_000, 100_000, 2), NAME, &opts),
        "png 100000^2",
        t,
    );
    let e = decode(&png_header_only(100_000, 100_000, 2), NAME, &opts).expect_err("limit");
    assert!(e.to_string().contains("100000x100000"), "{e}");

    // JPEG: patch the SOF0 frame size to 60000x60000 (libjpeg itself stops at 65500).
    let mut jpg = sample(F::Jpeg);
    let sof = jpg
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("SOF0");
    let d = 60000u16.to_be_bytes();
    jpg[sof + 5..sof + 9].copy_from_slice(&[d[0], d[1], d[0], d[1]]);
    assert_limit(decode(&jpg, NAME, &opts), "jpeg 60000^2", Instant::now());
    jpg[sof + 5..sof + 9].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    assert_err_names(decode(&jpg, NAME, &opts), "jpeg 65535^2");

    // GIF: logical screen 65535x65535.
    let mut gif = sample(F::Gif);
    gif[6..10].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    assert_limit(
        decode(&gif, NAME, &opts),
        "gif screen 65535^2",
        Instant::now(),
    );

    // BMP: 60000x60000 in the info header (image refuses sides over 65535 itself).
    let mut bmp = sample(F::Bmp);
    bmp[18..22].copy_from_slice(&60_000i32.to_le_bytes());
    bmp[22..26].copy_from_slice(&60_000i32.to_le_bytes());
    assert_limit(decode(&bmp, NAME, &opts), "bmp 60000^2", Instant::now());

    // TIFF: 1,000,000 x 1,000,000 with a tiny strip.
    let tif = tiff_rgb(&[0; 12], 1_000_000, 1_000_000, None);
    assert_limit(decode(&tif, NAME, &opts), "tiff 1e6^2", Instant::now());

    // WebP lossless: 16000x16000 in the header. (Not 16384, VP8L's maximum: image-webp 0.2.4
    // computes the width as `(1 + header) & 0x3FFF`, which wraps 16384 to 0.)
    let mut webp = sample(F::WebP);
    let vp8l = webp.windows(4).position(|w| w == b"VP8L").expect("VP8L");
    let bits: u32 = 15999 | (15999 << 14) | (u32::from(webp[vp8l + 12]) >> 4 << 28);
    webp[vp8l + 9..vp8l + 13].copy_from_slice(&bits.to_le_bytes());
    assert_limit(decode(&webp, NAME, &opts), "webp 16000^2", Instant::now());
}

/// A highly compressed PNG (4000x4000 zeros, a few KiB) under a 1-megapixel limit, and under a
/// 1 MiB allocation limit: refused from the header, quickly.
#[test]
fn decompression_bomb_png() {
    let (w, h) = (4000u32, 4000u32);
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_compression(png::Compression::Best);
        let mut wr = enc.write_header().expect("header");
        wr.write_image_data(&vec![0u8; (w * h) as usize])
            .expect("data");
    }
    assert!(out.len() < 100_000, "bomb is {} bytes", out.len());
    let small_pixels = DecodeOptions {
        limits: Limits {
            max_pixels: 1_000_000,
            ..Limits::default()
        },
        ..DecodeOptions::default()
    };
    assert_limit(
        decode(&out, NAME, &small_pixels),
        "png bomb, pixel limit",
        Instant::now(),
    );
    let small_alloc = DecodeOptions {
        limits: Limits {
            max_alloc_bytes: 1 << 20,
            ..Limits::default()
        },
        ..DecodeOptions::default()
    };
    assert_limit(
        decode(&out, NAME, &small_alloc),
        "png bomb, alloc limit",
        Instant::now(),
    );
    let small_file = DecodeOptions {
        limits: Limits {
            max_file_bytes: 1000,
            ..Limits::default()
        },
        ..DecodeOptions::default()
    };
    let t = Instant::now();
    let e = decode(&out, NAME, &small_file).expect_err("file limit");
    assert!(
        matches!(e, Error::Limit { .. }) && e.to_string().contains(NAME),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn limits_apply_to_every_format() {
    let opts = DecodeOptions {
        limits: Limits {
            max_pixels: 64 * 48 - 1,
            ..Limits::default()
        },
        ..DecodeOptions::default()
    };
    for f in FORMATS {
        let e = assert_err_names(decode(&sample(f), NAME, &opts), &format!("{f:?}"));
        assert!(matches!(e, Error::Limit { .. }), "{f:?}: {e:?}");
        assert!(e.to_string().contains("64x48"), "{f:?}: {e}");
    }
    let opts = DecodeOptions {
        limits: Limits {
            max_alloc_bytes: 64 * 48 * 3 - 1,
            ..Limits::default()
        },
        ..DecodeOptions::default()
    };
    for f in FORMATS {
        let e = assert_err_names(decode(&sample(f), NAME, &opts), &format!("{f:?} alloc"));
        assert!(matches!(e, Error::Limit { .. }), "{f:?}: {e:?}");
    }
}
