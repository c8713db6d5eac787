//! Hashing fetched media in memory: images are decoded (with vigil-media's limits) and hashed
//! with PDQ as `vigil hash` does; videos are hashed with vPDQ from the bytes in memory
//! (`vigil_video::hash_bytes`, FFmpeg reading through Vigil's own I/O); both get MD5, SHA-1 and
//! SHA-256. Nothing is written to disk at any step. Runs on a blocking thread (CPU-bound).

use std::cell::RefCell;

use vigil_core::Hash256;
use vigil_pdq::{Hasher, Image, Pixels};

use crate::fetch::Kind;

/// The hashes of one media file.
#[derive(Debug, Clone)]
pub struct MediaHashes {
    /// `image` or `video`.
    pub kind: &'static str,
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// MD5, hex.
    pub md5: String,
    /// SHA-1, hex.
    pub sha1: String,
    /// PDQ hash and quality of an image.
    pub pdq: Option<(Hash256, u8)>,
    /// vPDQ frames of a video.
    pub frames: Option<Vec<vigil_video::Frame>>,
}

thread_local! {
    /// One PDQ hasher per hashing thread, as `vigil hash` keeps: its scratch buffers (about
    /// 1 MB for a 640×480 image) are reused instead of allocated and freed per image.
    static HASHER: RefCell<Hasher> = RefCell::new(Hasher::new());
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Hashes an image or a video held in memory. `sha256` is the SHA-256 of `bytes`, as the
/// fetch computed it for de-duplication ([`sha256`]; not computed a second time here). `name`
/// (the URL) names it in errors.
pub fn hash(
    bytes: &[u8],
    sha256: [u8; 32],
    kind: Kind,
    name: &str,
    decode: &vigil_media::DecodeOptions,
    video: &vigil_video::Options,
) -> Result<MediaHashes, String> {
    use md5::Digest as _;
    let md5 = hex::encode(md5::Md5::digest(bytes));
    let sha1 = hex::encode(sha1::Sha1::digest(bytes));
    let (kind, pdq, frames) = match kind {
        Kind::Image(_) => {
            let decoded = vigil_media::decode(bytes, name, decode).map_err(|e| e.to_string())?;
            let pixels = match &decoded.pixels {
                vigil_media::PixelData::Rgb8(p) => Pixels::Rgb8(p),
                vigil_media::PixelData::Grey8(p) => Pixels::Grey8(p),
            };
            let img = Image::new(pixels, decoded.width as usize, decoded.height as usize)
                .map_err(|e| format!("{name}: the decoder returned an inconsistent buffer: {e}"))?;
            let pdq = HASHER.with(|h| h.borrow_mut().hash_mode(&img, vigil_pdq::Mode::default()));
            ("image", Some((pdq.hash, pdq.quality)), None)
        }
        Kind::Video(_) => {
            let v = vigil_video::hash_bytes(bytes, name, video).map_err(|e| e.to_string())?;
            ("video", None, Some(v.frames))
        }
        Kind::Html | Kind::Other => return Err(format!("{name}: not an image or a video")),
    };
    Ok(MediaHashes {
        kind,
        sha256,
        md5,
        sha1,
        pdq,
        frames,
    })
}
