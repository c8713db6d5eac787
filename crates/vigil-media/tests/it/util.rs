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

pub(crate) fn grey_of(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3).map(|p| p[0]).collect()
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
