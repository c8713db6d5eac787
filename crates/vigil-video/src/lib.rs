//! Video hashing and matching: vPDQ.
//!
//! * [`hash`]: decode a video with the FFmpeg libraries, convert the sampled frames to RGB24
//!   exactly as Meta's vPDQ reference does (`sws_scale`, `SWS_AREA`, native size) and hash each
//!   with `vigil-pdq`'s core, under [`Limits`] and a time budget.
//! * [`text`]: the reference's text format (`frame_number,quality,hex,timestamp`) and
//!   python-threatexchange's JSON serialisation, both ways.
//! * [`matching`]: the two published matching semantics (python-threatexchange's and the C++
//!   reference's), the aligned time ranges of a match, and an index of many videos' frames.

mod decode;
mod error;
mod hash;
pub mod matching;
mod sniff;
pub mod text;

pub use decode::{ALLOWED_FORMATS, VideoInfo};
pub use error::Error;
pub use hash::{Limits, Options, Sampling, VideoHash, hash_bytes, hash_file, hash_reader};
pub use sniff::{Container, SNIFF_LEN, sniff};

pub use vigil_core::Hash256;

/// One hashed frame of a video, as the reference's `vpdqFeature`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// 0-based number of the frame among all decoded frames (not only the sampled ones).
    pub number: u64,
    /// PDQ quality, 0–100.
    pub quality: u8,
    /// The frame's PDQ hash.
    pub hash: Hash256,
    /// Seconds from the start: `number / frame rate`, computed in float32 as the reference does;
    /// what text formats print with 3 decimals.
    pub timestamp: f64,
}
