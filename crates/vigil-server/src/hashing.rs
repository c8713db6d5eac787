//! Media to signals, as HMA's hasher: a `photo` gives `pdq`, a `video` gives `video_md5` and
//! `vpdq` (python-threatexchange's vPDQ extension: one frame a second, the frames' PDQ hashes
//! as its JSON list). Media is hashed in memory; nothing is written to disk.

use std::collections::BTreeMap;

use vigil_media::{DecodeOptions, PixelData};
use vigil_pdq::{Hasher, Image, Mode, Pixels};

use crate::error::ApiError;

/// PDQ quality under which HMA reports an empty hash.
pub const MIN_QUALITY: i32 = 50;

/// The content types, in HMA's order.
pub const CONTENT_TYPES: [&str; 2] = ["photo", "video"];

/// The signal types, in HMA's order (its default `pdq`, `video_md5`, then `vpdq`, the order in
/// which an HMA deployment lists the vPDQ extension's type after the defaults), with the
/// content type each applies to.
pub const SIGNAL_TYPES: [(&str, &str); 3] =
    [("pdq", "photo"), ("video_md5", "video"), ("vpdq", "video")];

/// The signal types to compute for `content_type`, narrowed by HMA's `types` parameter
/// (comma-separated; blank items skipped).
pub fn chosen_types(
    content_type: &str,
    types: Option<&str>,
) -> Result<Vec<&'static str>, ApiError> {
    if !CONTENT_TYPES.contains(&content_type) {
        return Err(ApiError::bad(format!(
            "no such content_type: '{content_type}'"
        )));
    }
    let all: Vec<&'static str> = SIGNAL_TYPES
        .iter()
        .filter(|(_, c)| *c == content_type)
        .map(|(s, _)| *s)
        .collect();
    let Some(types) = types else { return Ok(all) };
    let mut out = Vec::new();
    for t in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        match all.iter().find(|a| **a == t) {
            Some(a) if !out.contains(a) => out.push(*a),
            Some(_) => {}
            None => {
                return Err(ApiError::bad(format!(
                    "signal type '{t}' doesn't exist or is disabled"
                )));
            }
        }
    }
    if out.is_empty() {
        return Err(ApiError::bad("empty signal type selection"));
    }
    Ok(out)
}

/// Hashes `bytes` as `types` (from [`chosen_types`]): `{type: hash}`. A photo whose PDQ quality
/// is under 50 gets `""`, as in HMA. A video's `vpdq` is hashed from the bytes in memory with
/// `video` (python-threatexchange's one frame a second by default). Runs on the calling
/// thread: call it from a blocking task.
pub fn hash_media(
    bytes: &[u8],
    name: &str,
    types: &[&str],
    limits: &vigil_media::Limits,
    video: &vigil_video::Options,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for t in types {
        match *t {
            "pdq" => {
                let decoded = vigil_media::decode(
                    bytes,
                    name,
                    &DecodeOptions {
                        limits: *limits,
                        ..DecodeOptions::default()
                    },
                )
                .map_err(|e| ApiError::bad(format!("cannot hash the photo: {e}")))?;
                let pixels = match &decoded.pixels {
                    PixelData::Rgb8(p) => Pixels::Rgb8(p),
                    PixelData::Grey8(p) => Pixels::Grey8(p),
                };
                let img = Image::new(pixels, decoded.width as usize, decoded.height as usize)
                    .map_err(ApiError::internal)?;
                let pdq = HASHER.with(|h| h.borrow_mut().hash_mode(&img, Mode::Full));
                let hex = if (pdq.quality as i32) < MIN_QUALITY {
                    String::new()
                } else {
                    pdq.hash.to_hex()
                };
                out.insert("pdq".to_string(), hex);
            }
            "video_md5" => {
                out.insert("video_md5".to_string(), vigil_media::digests(bytes).md5);
            }
            "vpdq" => {
                let hashed = vigil_video::hash_bytes(bytes, name, video)
                    .map_err(|e| ApiError::bad(format!("cannot hash the video: {e}")))?;
                // A video always has a hashed frame (the first); should one have none, it has
                // no hash, as a low-quality photo has none.
                let text = if hashed.frames.is_empty() {
                    String::new()
                } else {
                    vigil_video::text::to_pytx_json(&hashed.frames)
                };
                out.insert("vpdq".to_string(), text);
            }
            other => {
                return Err(ApiError::bad(format!(
                    "signal type '{other}' doesn't exist or is disabled"
                )));
            }
        }
    }
    Ok(out)
}

thread_local! {
    static HASHER: std::cell::RefCell<Hasher> = std::cell::RefCell::new(Hasher::new());
}
