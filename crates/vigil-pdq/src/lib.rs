//! PDQ, Meta's 256-bit perceptual image hash, written to give **the same bits as the reference C++
//! core** (`pdq/cpp/hashing/pdqhashing.cpp` in facebook/ThreatExchange) for the same pixels: hash,
//! quality, and the 8 dihedral variants.
//!
//! Pixels in, hash out: this crate does no I/O and knows no file formats (decoding lives in
//! `vigil-media`). It offers the two front ends the field uses:
//!
//! * [`Mode::Full`] (default): the core on the full-resolution image, as python-threatexchange, HMA,
//!   the Java port and vPDQ compute it — so hash lists from the field match;
//! * [`Mode::ReferenceTool`]: the C++ command-line tool's 512×512 nearest-neighbour pre-resize first
//!   ([`reference_tool_resize`]), matching its published outputs.
//!
//! ```
//! use vigil_pdq::{hash, Image, Mode};
//! // A 32×32 diagonal gradient.
//! let rgb: Vec<u8> = (0..32 * 32).flat_map(|i| { let v = ((i % 32) * 4 + (i / 32) * 3) as u8; [v, v, v] }).collect();
//! let img = Image::rgb8(&rgb, 32, 32).unwrap();
//! let pdq = hash(&img, Mode::Full);
//! assert!(pdq.quality > 0);
//! // Under 5 px on a side: the zero hash and quality 0, as the reference.
//! let tiny = Image::rgb8(&[0; 4 * 4 * 3], 4, 4).unwrap();
//! assert_eq!(hash(&tiny, Mode::Full).quality, 0);
//! ```

mod core;
mod error;
mod image;
mod luma;

pub use crate::core::{Dihedral, Hasher, MIN_HASHABLE_DIM, Pdq, Variant};
pub use crate::error::Error;
pub use crate::image::{
    Image, OwnedImage, OwnedPixels, Pixels, REFERENCE_TOOL_SIDE, luma_from_grey8, luma_from_rgb8,
    reference_tool_resize,
};
pub use vigil_core::Hash256;

/// Which front end runs before the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Full resolution (python-threatexchange, HMA, Java, vPDQ).
    #[default]
    Full,
    /// The C++ command-line tool: 512×512 nearest-neighbour pre-resize when a side exceeds 512.
    ReferenceTool,
}

impl Mode {
    /// The name used on the command line (`full`, `reference-tool`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::ReferenceTool => "reference-tool",
        }
    }
}

/// Hashes one image with a fresh [`Hasher`] (use a long-lived `Hasher` in loops).
pub fn hash(img: &Image<'_>, mode: Mode) -> Pdq {
    Hasher::new().hash_mode(img, mode)
}

/// Hash and the 8 dihedral variants with a fresh [`Hasher`].
pub fn hash_and_dihedral(img: &Image<'_>, mode: Mode) -> (Pdq, Dihedral) {
    Hasher::new().hash_and_dihedral_mode(img, mode)
}

impl Hasher {
    /// [`Hasher::hash`] after the front end of `mode`.
    pub fn hash_mode(&mut self, img: &Image<'_>, mode: Mode) -> Pdq {
        match resized(img, mode) {
            Some(r) => self.hash(&r.as_image()),
            None => self.hash(img),
        }
    }

    /// [`Hasher::hash_and_dihedral`] after the front end of `mode`.
    pub fn hash_and_dihedral_mode(&mut self, img: &Image<'_>, mode: Mode) -> (Pdq, Dihedral) {
        match resized(img, mode) {
            Some(r) => self.hash_and_dihedral(&r.as_image()),
            None => self.hash_and_dihedral(img),
        }
    }
}

fn resized(img: &Image<'_>, mode: Mode) -> Option<OwnedImage> {
    match mode {
        Mode::Full => None,
        Mode::ReferenceTool => reference_tool_resize(img),
    }
}
