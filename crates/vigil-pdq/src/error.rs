/// Errors of the PDQ crate. Hashing itself cannot fail; only malformed pixel buffers are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pixel buffer's length does not match `width * height * channels`.
    #[error(
        "pixel buffer of {len} values does not match a {width}x{height} image with {channels} channel(s)"
    )]
    BufferSize {
        /// Length of the buffer given.
        len: usize,
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
        /// Channels per pixel of the declared layout.
        channels: usize,
    },
    /// `width * height` overflows the address space.
    #[error("image dimensions {width}x{height} overflow")]
    Dimensions {
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
    },
}
