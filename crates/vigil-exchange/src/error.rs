//! The crate's errors: a reader failing ([`Error`], fatal for that input) and a record skipped
//! ([`LineError`], reported beside the records that were read).

/// A failure that stops parsing one input. Every variant names the input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The reader returned an I/O error.
    #[error("reading hash list {name:?} at line {line}: {source}")]
    Io {
        /// The input's name, as the caller gave it (usually its path).
        name: String,
        /// The 1-based line being read when the error happened.
        line: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// One record (line) that could not be parsed and was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}:{line}: {message}")]
pub struct LineError {
    /// The input's name, as the caller gave it.
    pub name: String,
    /// The 1-based line number.
    pub line: u64,
    /// Why the line was skipped (lowercase, no trailing period).
    pub message: String,
}
