//! File bytes in, pixels out — with limits — plus the cryptographic hashes of the file bytes.
//!
//! Decodes JPEG, PNG, GIF (first frame), WebP, BMP and TIFF into the 8-bit pixels that
//! `PIL.Image.open(f).convert("RGB")` gives (what python-threatexchange and HMA hash), so that PDQ
//! hashes computed by Vigil equal the field's bit for bit:
//!
//! * JPEG through the system libjpeg-turbo (the decoder Pillow bundles) via a small C shim:
//!   accurate integer IDCT, fancy upsampling, RGB or grey output; CMYK/YCCK decoded as CMYK,
//!   inverted when an Adobe marker is present (Pillow's `CMYK;I`) and converted with Pillow's
//!   `cmyk2rgb` (`nk = 255 - k; out = nk - c*nk/255`, rounded as Pillow's `MULDIV255`);
//! * PNG, WebP, BMP and TIFF through the `image` crate; GIF through the `gif` crate in indexed
//!   mode, expanded through the frame's palette with transparency ignored (a transparent pixel
//!   keeps its palette colour), on a canvas the size of the logical screen (enlarged to hold the
//!   first frame, as Pillow does) whose uncovered pixels hold the transparency index, else index 0;
//! * greyscale stays one channel ([`PixelData::Grey8`]) and is hashed as replicated RGB;
//! * alpha is dropped (not composited), palettes expanded (a `tRNS`-transparent entry keeps its
//!   colour), 16-bit samples reduced to their high byte (`v >> 8`). That is what Pillow does for
//!   16-bit RGB(A); for 16-bit *grey* Pillow opens mode `I;16` and `convert("RGB")` **clips** values
//!   to 255 instead, which turns nearly every pixel white — we deliberately scale;
//! * EXIF orientation is read (JPEG APP1, PNG `eXIf`, WebP `EXIF`, TIFF IFD0) and recorded in
//!   [`Decoded::exif_orientation`]; it is ignored by default, as the reference, and applied as
//!   Pillow's `ImageOps.exif_transpose` when [`DecodeOptions::apply_exif_orientation`] is set.
//!
//! Stricter than Pillow on damaged files: libjpeg's "premature end of JPEG file" and "premature
//! end of data segment" warnings (after which it fills the rest of the image with grey) are errors,
//! so a truncated file never yields a hash. A JPEG with more than 1000 progressive scans is refused
//! (a CPU-exhaustion trick). A JPEG whose only missing part is the final EOI marker is accepted.
//!
//! This crate never writes media anywhere: it works on bytes in memory.
//!
//! Limits ([`Limits`]) bound the file size, the pixel count and the decoder's allocations, and are
//! checked from the header **before** pixel memory is allocated, so a decompression bomb or a
//! hostile header is refused with [`Error::Limit`] instead of exhausting memory. libjpeg's own
//! memory manager is capped at [`Limits::max_alloc_bytes`] too (`max_memory_to_use`), as are the
//! `image` and `gif` decoders' allocations.

mod error;
mod exif;
mod gif;
mod jpeg;
mod raster;

pub use crate::error::Error;

/// Image container formats Vigil decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// JPEG / JFIF / EXIF.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (first frame only).
    Gif,
    /// WebP (lossy or lossless; first frame of an animation).
    WebP,
    /// Windows bitmap.
    Bmp,
    /// TIFF (first page).
    Tiff,
}

impl Format {
    /// Lowercase name (`jpeg`, `png`, …).
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::WebP => "webp",
            Format::Bmp => "bmp",
            Format::Tiff => "tiff",
        }
    }

    /// Sniffs the format from the first bytes (magic numbers), never from a file name.
    ///
    /// JPEG `FF D8 FF`; PNG's 8-byte signature; `GIF87a`/`GIF89a`; `RIFF….WEBP`; BMP `BM` followed
    /// by a known DIB header size (as Pillow checks); TIFF and BigTIFF in both byte orders.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Format::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else if bytes.starts_with(b"BM")
            && bytes.len() >= 18
            && matches!(
                u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]),
                12 | 16 | 40 | 52 | 56 | 64 | 108 | 124
            )
        {
            Some(Format::Bmp)
        } else if [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]
            .iter()
            .any(|m| bytes.starts_with(*m))
        {
            Some(Format::Tiff)
        } else {
            None
        }
    }
}

/// Resource limits for decoding one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Largest image accepted, in pixels (width × height).
    pub max_pixels: u64,
    /// Largest single allocation a decoder may make, in bytes.
    pub max_alloc_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 << 20,
            max_pixels: 100_000_000,
            max_alloc_bytes: 1 << 30,
        }
    }
}

/// Options for [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Resource limits.
    pub limits: Limits,
    /// Rotate/flip the pixels as the file's EXIF orientation tag says. Off by default: the PDQ
    /// reference ignores EXIF, and so do HMA and python-threatexchange.
    pub apply_exif_orientation: bool,
}

/// Decoded pixels, row-major, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PixelData {
    /// Interleaved RGB, 3 bytes per pixel.
    Rgb8(Vec<u8>),
    /// One grey byte per pixel (to be hashed as R=G=B).
    Grey8(Vec<u8>),
}

/// A decoded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The container format.
    pub format: Format,
    /// Width in pixels (after EXIF orientation, when applied).
    pub width: u32,
    /// Height in pixels (after EXIF orientation, when applied).
    pub height: u32,
    /// The pixels.
    pub pixels: PixelData,
    /// The EXIF orientation tag (1..=8) when the file had one, whether or not it was applied.
    pub exif_orientation: Option<u8>,
}

/// Decodes an image held in memory. `name` (usually the path) is used only in error messages.
///
/// The format is sniffed from the bytes ([`Format::sniff`]). Limits are checked in this order: the
/// file size, then the dimensions from the header (before any pixel memory is allocated), then the
/// size of the pixel buffers. Errors name `name` and never panic on hostile input.
pub fn decode(bytes: &[u8], name: &str, opts: &DecodeOptions) -> Result<Decoded, Error> {
    let limits = &opts.limits;
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(Error::Limit {
            name: name.to_string(),
            what: format!(
                "file of {size} bytes exceeds the {}-byte file size limit",
                limits.max_file_bytes
            ),
        });
    }
    let format = Format::sniff(bytes).ok_or_else(|| Error::UnknownFormat {
        name: name.to_string(),
    })?;
    let apply = opts.apply_exif_orientation;
    match format {
        Format::Jpeg => jpeg::decode(bytes, name, limits, apply),
        Format::Gif => gif::decode(bytes, name, limits),
        Format::Png | Format::WebP | Format::Bmp | Format::Tiff => {
            raster::decode(bytes, name, format, limits, apply)
        }
    }
}

/// Refuses dimensions over the pixel limit (and zero-sized images).
pub(crate) fn check_pixels(
    name: &str,
    format: Format,
    w: u32,
    h: u32,
    limits: &Limits,
) -> Result<(), Error> {
    let px = u64::from(w) * u64::from(h);
    if px > limits.max_pixels {
        return Err(Error::Limit {
            name: name.to_string(),
            what: format!(
                "{w}x{h} ({px} pixels) exceeds the {}-pixel limit",
                limits.max_pixels
            ),
        });
    }
    if px == 0 {
        return Err(Error::Decode {
            name: name.to_string(),
            format: format.name(),
            message: format!("empty image ({w}x{h})"),
        });
    }
    Ok(())
}

pub(crate) fn alloc_limit(name: &str, bytes: u64, limits: &Limits) -> Error {
    Error::Limit {
        name: name.to_string(),
        what: format!(
            "a {bytes}-byte pixel buffer exceeds the {}-byte allocation limit",
            limits.max_alloc_bytes
        ),
    }
}

/// `w * h * channels` as a buffer length, refused when over the allocation limit.
pub(crate) fn buffer_len(
    name: &str,
    w: u32,
    h: u32,
    channels: u64,
    limits: &Limits,
) -> Result<usize, Error> {
    let bytes = u64::from(w)
        .checked_mul(u64::from(h))
        .and_then(|n| n.checked_mul(channels))
        .unwrap_or(u64::MAX);
    if bytes > limits.max_alloc_bytes {
        return Err(alloc_limit(name, bytes, limits));
    }
    usize::try_from(bytes).map_err(|_| alloc_limit(name, bytes, limits))
}

/// A zeroed buffer, failing with an error (not an abort) when the memory is not there.
pub(crate) fn alloc(name: &str, len: usize) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::Limit {
        name: name.to_string(),
        what: format!("out of memory allocating {len} bytes"),
    })?;
    v.resize(len, 0);
    Ok(v)
}

/// Builds the result, applying the EXIF orientation when asked.
pub(crate) fn finish(
    format: Format,
    width: u32,
    height: u32,
    pixels: PixelData,
    exif_orientation: Option<u8>,
    apply: bool,
) -> Decoded {
    let (pixels, width, height) = match (apply, exif_orientation) {
        (true, Some(o)) => exif::apply(pixels, width, height, o),
        _ => (pixels, width, height),
    };
    Decoded {
        format,
        width,
        height,
        pixels,
        exif_orientation,
    }
}

/// MD5, SHA-1 and SHA-256 of a byte string, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    /// MD5, 32 hex digits.
    pub md5: String,
    /// SHA-1, 40 hex digits.
    pub sha1: String,
    /// SHA-256, 64 hex digits.
    pub sha256: String,
}

/// The three cryptographic hashes of `bytes`.
pub fn digests(bytes: &[u8]) -> FileDigests {
    use md5::Digest as _;
    FileDigests {
        md5: hex::encode(md5::Md5::digest(bytes)),
        sha1: hex::encode(sha1::Sha1::digest(bytes)),
        sha256: hex::encode(sha2::Sha256::digest(bytes)),
    }
}

/// The three cryptographic hashes of everything `reader` yields, read in 64 KiB pieces (a video
/// file need not fit in memory).
pub fn digests_reader(mut reader: impl std::io::Read) -> std::io::Result<FileDigests> {
    use md5::Digest as _;
    let (mut m, mut s1, mut s2) = (md5::Md5::new(), sha1::Sha1::new(), sha2::Sha256::new());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        m.update(&buf[..n]);
        s1.update(&buf[..n]);
        s2.update(&buf[..n]);
    }
    Ok(FileDigests {
        md5: hex::encode(m.finalize()),
        sha1: hex::encode(s1.finalize()),
        sha256: hex::encode(s2.finalize()),
    })
}

#[cfg(test)]
mod digest_tests {
    #[test]
    fn streaming_digests_equal_the_one_shot_ones() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(
            super::digests_reader(&bytes[..]).unwrap(),
            super::digests(&bytes)
        );
        // Known values of the empty input.
        let e = super::digests_reader(&[][..]).unwrap();
        assert_eq!(e.md5, "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            e.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
