//! Errors of hashing a video. Each names the input it concerns.

use std::time::Duration;

/// Why a video could not be hashed. `name` is the input's name as the caller gave it (a path, an
/// upload's file name), so a message stands on its own in a log or a jsonl error line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Zero bytes.
    #[error("{name}: empty file (0 bytes)")]
    Empty { name: String },
    /// Larger than [`crate::Limits::max_file_bytes`].
    #[error("{name}: {bytes} bytes is over the limit of {max} bytes for a video")]
    FileTooLarge { name: String, bytes: u64, max: u64 },
    /// Reading the input failed.
    #[error("{name}: read failed: {source}")]
    Read {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// FFmpeg could not recognise or open the container.
    #[error("{name}: not a video FFmpeg can read: {message}")]
    Open { name: String, message: String },
    /// The container is of a kind Vigil does not open (playlists and other formats that would
    /// make the demuxer open further files or URLs).
    #[error(
        "{name}: container format {format:?} is not allowed (only self-contained video files are read)"
    )]
    FormatNotAllowed { name: String, format: String },
    /// No video stream in the container (audio only, subtitles, …).
    #[error("{name}: no video stream")]
    NoVideoStream { name: String },
    /// The stream's codec has no decoder in this FFmpeg build.
    #[error("{name}: no decoder for the video codec {codec:?}")]
    UnsupportedCodec { name: String, codec: String },
    /// Frame size zero or over [`crate::Limits::max_pixels`].
    #[error("{name}: frame size {width}×{height} is {why}")]
    Dimensions {
        name: String,
        width: u32,
        height: u32,
        why: String,
    },
    /// The frame rate is zero, not finite or outside the limits.
    #[error("{name}: frame rate {fps} is {why}")]
    FrameRate { name: String, fps: f64, why: String },
    /// Longer than [`crate::Limits::max_duration`] (declared by the container or reached while
    /// decoding).
    #[error("{name}: {seconds:.1} s is over the limit of {max:.0} s for a video")]
    TooLong {
        name: String,
        seconds: f64,
        max: f64,
    },
    /// More decoded frames than [`crate::Limits::max_frames`].
    #[error("{name}: more than {max} frames")]
    TooManyFrames { name: String, max: u64 },
    /// Decoding took longer than [`crate::Limits::time_budget`].
    #[error(
        "{name}: decoding took longer than the time budget of {budget:?} (after {frames} frames)"
    )]
    TimeBudget {
        name: String,
        budget: Duration,
        frames: u64,
    },
    /// The demuxer or decoder failed: a truncated or corrupt file.
    #[error("{name}: corrupt or truncated video after {frames} decoded frames: {message}")]
    Corrupt {
        name: String,
        frames: u64,
        message: String,
    },
    /// The stream decoded to no frame at all.
    #[error("{name}: the video stream has no decodable frame")]
    NoFrames { name: String },
    /// Something in FFmpeg failed that is not the input's fault (allocation, scaler set-up).
    #[error("{name}: FFmpeg failed: {message}")]
    Internal { name: String, message: String },
}

impl Error {
    /// The input this error is about.
    pub fn name(&self) -> &str {
        match self {
            Error::Empty { name }
            | Error::FileTooLarge { name, .. }
            | Error::Read { name, .. }
            | Error::Open { name, .. }
            | Error::FormatNotAllowed { name, .. }
            | Error::NoVideoStream { name }
            | Error::UnsupportedCodec { name, .. }
            | Error::Dimensions { name, .. }
            | Error::FrameRate { name, .. }
            | Error::TooLong { name, .. }
            | Error::TooManyFrames { name, .. }
            | Error::TimeBudget { name, .. }
            | Error::Corrupt { name, .. }
            | Error::NoFrames { name }
            | Error::Internal { name, .. } => name,
        }
    }
}
