//! Pixel buffers the hasher accepts, and the reference command-line tool's pre-resize.

use crate::Error;

/// The pixels of one image, row-major with no row padding.
#[derive(Debug, Clone, Copy)]
pub enum Pixels<'a> {
    /// Interleaved 8-bit RGB (3 bytes per pixel). Luma is `(0.299f*R + 0.587f*G) + 0.114f*B` in
    /// float32, as the reference's `fillFloatLumaFromRGB`.
    Rgb8(&'a [u8]),
    /// 8-bit grey, hashed **as if replicated to R=G=B** and run through the RGB luma formula. This is
    /// what python-threatexchange and HMA compute (Pillow's `convert("RGB")` before hashing), so it is
    /// the default for grey files. For the reference's single-channel path (`luma = grey`), pass
    /// [`Pixels::Luma`] with [`luma_from_grey8`].
    Grey8(&'a [u8]),
    /// Precomputed float32 luma, one value per pixel.
    Luma(&'a [f32]),
}

/// An image to hash: pixels plus dimensions, checked on construction.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    pub(crate) pixels: Pixels<'a>,
    pub(crate) width: usize,
    pub(crate) height: usize,
}

impl<'a> Image<'a> {
    /// Wraps a pixel buffer, checking that its length matches the dimensions.
    pub fn new(pixels: Pixels<'a>, width: usize, height: usize) -> Result<Self, Error> {
        let (len, channels) = match pixels {
            Pixels::Rgb8(p) => (p.len(), 3),
            Pixels::Grey8(p) => (p.len(), 1),
            Pixels::Luma(p) => (p.len(), 1),
        };
        let expected = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(channels))
            .ok_or(Error::Dimensions { width, height })?;
        if len != expected {
            return Err(Error::BufferSize {
                len,
                width,
                height,
                channels,
            });
        }
        Ok(Image {
            pixels,
            width,
            height,
        })
    }

    /// Interleaved RGB8 pixels.
    pub fn rgb8(data: &'a [u8], width: usize, height: usize) -> Result<Self, Error> {
        Self::new(Pixels::Rgb8(data), width, height)
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixel buffer.
    pub fn pixels(&self) -> Pixels<'a> {
        self.pixels
    }
}

/// An owned pixel buffer, as produced by [`reference_tool_resize`].
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedPixels {
    /// Interleaved RGB8.
    Rgb8(Vec<u8>),
    /// Grey8 (hashed as replicated RGB).
    Grey8(Vec<u8>),
    /// Float luma.
    Luma(Vec<f32>),
}

/// An owned image.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedImage {
    /// The pixels.
    pub pixels: OwnedPixels,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl OwnedImage {
    /// Borrows it as an [`Image`].
    pub fn as_image(&self) -> Image<'_> {
        let pixels = match &self.pixels {
            OwnedPixels::Rgb8(p) => Pixels::Rgb8(p),
            OwnedPixels::Grey8(p) => Pixels::Grey8(p),
            OwnedPixels::Luma(p) => Pixels::Luma(p),
        };
        Image {
            pixels,
            width: self.width,
            height: self.height,
        }
    }
}

/// Side of the reference tool's pre-resize (`DOWNSAMPLE_DIMS` in `pdq/cpp/io/pdqio.cpp`).
pub const REFERENCE_TOOL_SIDE: usize = 512;

/// The C++ command-line tool's pre-resize (`pdq-photo-hasher`, `pdqio.cpp`): when either side exceeds
/// 512, the image is resized to **exactly 512×512 by nearest neighbour, ignoring the aspect ratio**
/// (CImg's default interpolation), taking source index `floor(dst * in / 512)`. Returns `None` when no
/// resize applies (both sides ≤ 512).
///
/// The quotient `dst * in / 512` is exact in binary floating point (a division by a power of two of
/// an integer below 2^53), so integer division reproduces CImg's double arithmetic exactly.
pub fn reference_tool_resize(img: &Image<'_>) -> Option<OwnedImage> {
    let (w, h) = (img.width, img.height);
    if w <= REFERENCE_TOOL_SIDE && h <= REFERENCE_TOOL_SIDE {
        return None;
    }
    let n = REFERENCE_TOOL_SIDE;
    let xs: Vec<usize> = (0..n).map(|x| x * w / n).collect();
    let ys: Vec<usize> = (0..n).map(|y| y * h / n).collect();
    let pixels = match img.pixels {
        Pixels::Rgb8(p) => {
            let mut out = Vec::with_capacity(n * n * 3);
            for &y in &ys {
                let row = &p[y * w * 3..(y + 1) * w * 3];
                for &x in &xs {
                    out.extend_from_slice(&row[x * 3..x * 3 + 3]);
                }
            }
            OwnedPixels::Rgb8(out)
        }
        Pixels::Grey8(p) => OwnedPixels::Grey8(sample(p, w, &xs, &ys)),
        Pixels::Luma(p) => OwnedPixels::Luma(sample(p, w, &xs, &ys)),
    };
    Some(OwnedImage {
        pixels,
        width: n,
        height: n,
    })
}

fn sample<T: Copy>(p: &[T], w: usize, xs: &[usize], ys: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(xs.len() * ys.len());
    for &y in ys {
        let row = &p[y * w..(y + 1) * w];
        out.extend(xs.iter().map(|&x| row[x]));
    }
    out
}

/// Float32 luma of interleaved RGB8, `(0.299f*R + 0.587f*G) + 0.114f*B` evaluated left to right with
/// no fused multiply-add, as the reference's `fillFloatLumaFromRGB`.
pub fn luma_from_rgb8(rgb: &[u8]) -> Vec<f32> {
    let t = crate::luma::tables();
    rgb.chunks_exact(3)
        .map(|p| t.rgb(p[0], p[1], p[2]))
        .collect()
}

/// Float32 luma of a single-channel image as the reference computes it: `luma = (float)grey`.
pub fn luma_from_grey8(grey: &[u8]) -> Vec<f32> {
    grey.iter().map(|&g| g as f32).collect()
}
