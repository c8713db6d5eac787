//! Helpers: in-memory encoders for test images.

use std::io::Cursor;

use image::{ExtendedColorType, ImageEncoder};
use vigil_media::{Decoded, PixelData};

/// A deterministic RGB test pattern: smooth gradients plus blocks, so JPEG keeps it recognisable.
pub(crate) fn pattern(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let block = ((x / 8) + (y / 8)) % 2 == 0;
            v.push((x * 255 / w.max(1)) as u8);
            v.push((y * 255 / h.max(1)) as u8);
            v.push(if block { 200 } else { 40 });
        }
    }
    v
}

pub(crate) fn encode(
    fmt: image::ImageFormat,
    px: &[u8],
    w: u32,
    h: u32,
    ct: ExtendedColorType,
) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match fmt {
        image::ImageFormat::Png => image::codecs::png::PngEncoder::new(&mut out)
            .write_image(px, w, h, ct)
            .expect("png encode"),
        image::ImageFormat::Jpeg => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
                .write_image(px, w, h, ct)
                .expect("jpeg encode")
        }
        image::ImageFormat::Gif => {
            let mut e = image::codecs::gif::GifEncoder::new(&mut out);
            let rgba = image::RgbaImage::from_fn(w, h, |x, y| {
                let i = ((y * w + x) * 3) as usize;
                image::Rgba([px[i], px[i + 1], px[i + 2], 255])
            });
            e.encode_frame(image::Frame::new(rgba)).expect("gif encode");
            drop(e);
        }
        image::ImageFormat::WebP => image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .write_image(px, w, h, ct)
            .expect("webp encode"),
        image::ImageFormat::Bmp => image::codecs::bmp::BmpEncoder::new(&mut out)
            .write_image(px, w, h, ct)
            .expect("bmp encode"),
        image::ImageFormat::Tiff => image::codecs::tiff::TiffEncoder::new(&mut out)
            .write_image(px, w, h, ct)
            .expect("tiff encode"),
        other => panic!("no encoder for {other:?}"),
    }
    out.into_inner()
}

pub(crate) fn rgb(d: &Decoded) -> Vec<u8> {
    match &d.pixels {
        PixelData::Rgb8(v) => v.clone(),
        PixelData::Grey8(g) => g.iter().flat_map(|&v| [v, v, v]).collect(),
    }
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// An encoder with the EXIF block set (PNG eXIf, JPEG APP1, WebP EXIF chunk).
pub(crate) fn encode_with_exif(
    fmt: image::ImageFormat,
    px: &[u8],
    w: u32,
    h: u32,
    exif: Vec<u8>,
) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let ct = ExtendedColorType::Rgb8;
    match fmt {
        image::ImageFormat::Png => {
            let mut e = image::codecs::png::PngEncoder::new(&mut out);
            e.set_exif_metadata(exif).expect("exif");
            e.write_image(px, w, h, ct).expect("png encode");
        }
        image::ImageFormat::Jpeg => {
            let mut e = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
            e.set_exif_metadata(exif).expect("exif");
            e.write_image(px, w, h, ct).expect("jpeg encode");
        }
        image::ImageFormat::WebP => {
            let mut e = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            e.set_exif_metadata(exif).expect("exif");
            e.write_image(px, w, h, ct).expect("webp encode");
        }
        other => panic!("no exif encoder for {other:?}"),
    }
    out.into_inner()
}

/// A minimal little-endian TIFF-structured EXIF block holding only the orientation tag.
pub(crate) fn exif_orientation_block(o: u16) -> Vec<u8> {
    let mut v = b"II*\0".to_vec();
    v.extend(8u32.to_le_bytes());
    v.extend(1u16.to_le_bytes());
    v.extend(0x0112u16.to_le_bytes());
    v.extend(3u16.to_le_bytes());
    v.extend(1u32.to_le_bytes());
    v.extend(o.to_le_bytes());
    v.extend([0, 0]);
    v.extend(0u32.to_le_bytes());
    v
}

/// A minimal uncompressed RGB8 TIFF (one strip), with an orientation tag when `o` is given.
pub(crate) fn tiff_rgb(px: &[u8], w: u32, h: u32, o: Option<u16>) -> Vec<u8> {
    // Layout: header (8) | bits-per-sample values (6) | pixels | IFD.
    let mut v = b"II*\0".to_vec();
    let bps_off = 8u32;
    let px_off = bps_off + 6;
    let ifd_off = px_off + px.len() as u32;
    v.extend(ifd_off.to_le_bytes());
    for _ in 0..3 {
        v.extend(8u16.to_le_bytes());
    }
    v.extend_from_slice(px);
    let mut tags: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 3, bps_off),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, px_off),
        (277, 3, 1, 3),
        (278, 4, 1, h),
        (279, 4, 1, px.len() as u32),
    ];
    if let Some(o) = o {
        tags.push((274, 3, 1, u32::from(o)));
    }
    tags.sort();
    v.extend((tags.len() as u16).to_le_bytes());
    for (tag, typ, count, value) in tags {
        v.extend(tag.to_le_bytes());
        v.extend(typ.to_le_bytes());
        v.extend(count.to_le_bytes());
        if typ == 3 && count == 1 {
            v.extend((value as u16).to_le_bytes());
            v.extend([0, 0]);
        } else {
            v.extend(value.to_le_bytes());
        }
    }
    v.extend(0u32.to_le_bytes());
    v
}

/// CRC-32 (PNG), bitwise.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A PNG chunk with its length and CRC.
pub(crate) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    v.extend_from_slice(&body);
    v.extend(crc32(&body).to_be_bytes());
    v
}
