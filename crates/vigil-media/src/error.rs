/// Errors of decoding. Every variant names the input (`name`, usually its path).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not an image format Vigil decodes.
    #[error("decoding {name:?}: not a supported image format (JPEG, PNG, GIF, WebP, BMP, TIFF)")]
    UnknownFormat {
        /// The input.
        name: String,
    },
    /// A limit was exceeded (file size, pixel count, allocation).
    #[error("decoding {name:?}: {what}")]
    Limit {
        /// The input.
        name: String,
        /// Which limit, with the numbers, e.g. "40000x40000 exceeds the 100000000-pixel limit".
        what: String,
    },
    /// The file is corrupt or truncated, or uses a feature the decoder does not support.
    #[error("decoding {name:?} as {format}: {message}")]
    Decode {
        /// The input.
        name: String,
        /// The format it was decoded as.
        format: &'static str,
        /// The decoder's message.
        message: String,
    },
}
