//! The crate's one error type: everything that can go wrong saving or loading an index file.

use std::path::PathBuf;

/// Errors of this crate. Every variant names the file it is about.
///
/// Queries, inserts and removals cannot fail; only file I/O can.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing or renaming the file failed at the operating-system level.
    #[error("index file {path:?}: {op}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`"reading"`, `"writing"`, `"renaming"`).
        op: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the index magic bytes: it is not an index file at all.
    #[error("index file {path:?}: not a vigil index (bad magic bytes)")]
    NotAnIndex {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a format version this build cannot read.
    #[error(
        "index file {path:?}: format version {found} is not supported (this build reads {supported})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version found in the header.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The file holds hashes of another size than the index type being loaded.
    #[error("index file {path:?}: holds {found}-bit hashes, expected {expected}-bit")]
    HashSize {
        /// The file.
        path: PathBuf,
        /// Hash size in bits found in the header.
        found: u32,
        /// Hash size in bits of the index type.
        expected: u32,
    },
    /// The file is shorter or longer than its header says: typically a truncated copy.
    #[error(
        "index file {path:?}: truncated or padded: header promises {expected} bytes, file has {found}"
    )]
    Length {
        /// The file.
        path: PathBuf,
        /// Length implied by the header, in bytes.
        expected: u64,
        /// Actual length, in bytes.
        found: u64,
    },
    /// The CRC-32 over the content does not match the stored one: the file is corrupt.
    #[error(
        "index file {path:?}: checksum mismatch (stored {stored:08x}, computed {computed:08x}): file is corrupt"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// CRC-32 stored in the file.
        stored: u32,
        /// CRC-32 computed over the content.
        computed: u32,
    },
    /// The checksum matched but the content breaks an invariant of the format (e.g. hashes not
    /// sorted): written by a buggy or hostile writer.
    #[error("index file {path:?}: corrupt content: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Which invariant is broken.
        reason: String,
    },
}
