//! PNG, WebP, BMP and TIFF through the `image` crate, converted as Pillow's `convert("RGB")`.

use std::io::Cursor;

use image::{ColorType, ImageDecoder};

use crate::{Decoded, Error, Format, Limits, PixelData, exif};

pub(crate) fn decode(
    bytes: &[u8],
    name: &str,
    format: Format,
    limits: &Limits,
    apply_orientation: bool,
) -> Result<Decoded, Error> {
    let fname = format.name();
    let err = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => Error::Limit {
            name: name.to_string(),
            what: lowercase(&l.to_string()),
        },
        other => Error::Decode {
            name: name.to_string(),
            format: fname,
            message: lowercase(&other.to_string()),
        },
    };
    let mut il = image::Limits::default();
    il.max_alloc = Some(limits.max_alloc_bytes);
    let cur = Cursor::new(bytes);
    match format {
        Format::Png => {
            let mut d = image::codecs::png::PngDecoder::with_limits(cur, il).map_err(err)?;
            let o = exif_orientation_of(&mut d);
            run(d, name, limits, format, o, apply_orientation, &err)
        }
        Format::WebP => {
            let mut d = image::codecs::webp::WebPDecoder::new(cur).map_err(err)?;
            d.set_limits(il).map_err(err)?;
            let o = exif_orientation_of(&mut d);
            run(d, name, limits, format, o, apply_orientation, &err)
        }
        Format::Bmp => {
            let mut d = image::codecs::bmp::BmpDecoder::new(cur).map_err(err)?;
            d.set_limits(il).map_err(err)?;
            run(d, name, limits, format, None, apply_orientation, &err)
        }
        Format::Tiff => {
            let mut d = image::codecs::tiff::TiffDecoder::new(cur).map_err(err)?;
            d.set_limits(il).map_err(err)?;
            // A TIFF file is itself a TIFF-structured block: the tag sits in its first IFD.
            let o = exif::orientation(bytes);
            run(d, name, limits, format, o, apply_orientation, &err)
        }
        Format::Jpeg | Format::Gif => Err(Error::Decode {
            name: name.to_string(),
            format: fname,
            message: "internal error: wrong decoder".to_string(),
        }),
    }
}

/// The EXIF orientation a decoder's metadata carries, if any; unreadable metadata counts as none
/// (orientation is only applied on request, and a broken EXIF block must not fail the decode).
fn exif_orientation_of<D: ImageDecoder>(d: &mut D) -> Option<u8> {
    d.exif_metadata()
        .ok()
        .flatten()
        .and_then(|e| exif::orientation(&e))
}

fn lowercase(s: &str) -> String {
    let mut c = s.chars();
    let s = match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect::<String>(),
        None => String::new(),
    };
    s.trim_end_matches('.').to_string()
}

fn run<D: ImageDecoder>(
    d: D,
    name: &str,
    limits: &Limits,
    format: Format,
    orientation: Option<u8>,
    apply_orientation: bool,
    err: &dyn Fn(image::ImageError) -> Error,
) -> Result<Decoded, Error> {
    let (w, h) = d.dimensions();
    crate::check_pixels(name, format, w, h, limits)?;
    let ct = d.color_type();
    let total = d.total_bytes();
    if total > limits.max_alloc_bytes {
        return Err(crate::alloc_limit(name, total, limits));
    }
    let len = usize::try_from(total).map_err(|_| crate::alloc_limit(name, total, limits))?;
    let mut buf = crate::alloc(name, len)?;
    if matches!(ct, ColorType::Rgb32F | ColorType::Rgba32F) {
        // Float samples (TIFF): let `image` scale 0.0..=1.0 to 0..=255 (Pillow would clip the raw
        // values to 0..=255 instead; float files are not a hashing use case).
        let img = image::DynamicImage::from_decoder(d).map_err(err)?;
        let rgb = img.to_rgb8().into_raw();
        return Ok(crate::finish(
            format,
            w,
            h,
            PixelData::Rgb8(rgb),
            orientation,
            apply_orientation,
        ));
    }
    d.read_image(&mut buf).map_err(err)?;
    let pixels = convert(buf, ct).ok_or_else(|| Error::Decode {
        name: name.to_string(),
        format: format.name(),
        message: format!("unsupported pixel type {ct:?}"),
    })?;
    Ok(crate::finish(
        format,
        w,
        h,
        pixels,
        orientation,
        apply_orientation,
    ))
}

/// `image`'s native-endian buffer to Pillow's `convert("RGB")` (grey kept as one channel): alpha
/// dropped, 16-bit samples reduced to their high byte.
fn convert(buf: Vec<u8>, ct: ColorType) -> Option<PixelData> {
    let hi = |s: &[u8]| (u16::from_ne_bytes([s[0], s[1]]) >> 8) as u8;
    Some(match ct {
        ColorType::L8 => PixelData::Grey8(buf),
        ColorType::Rgb8 => PixelData::Rgb8(buf),
        ColorType::La8 => PixelData::Grey8(buf.chunks_exact(2).map(|p| p[0]).collect()),
        ColorType::Rgba8 => PixelData::Rgb8(
            buf.chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        ),
        ColorType::L16 => PixelData::Grey8(buf.chunks_exact(2).map(hi).collect()),
        ColorType::La16 => PixelData::Grey8(buf.chunks_exact(4).map(|p| hi(&p[..2])).collect()),
        ColorType::Rgb16 => PixelData::Rgb8(buf.chunks_exact(2).map(hi).collect()),
        ColorType::Rgba16 => PixelData::Rgb8(
            buf.chunks_exact(8)
                .flat_map(|p| [hi(&p[0..2]), hi(&p[2..4]), hi(&p[4..6])])
                .collect(),
        ),
        _ => return None,
    })
}
