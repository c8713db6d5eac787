//! The crate's errors: a reader failing ([`Error`], fatal for that input), a record skipped
//! ([`LineError`] for the plain list, [`RecordError`] for the other formats, reported beside the
//! records that were read) and a writer failing ([`WriteError`]).

use std::fmt;

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
    /// The input is not well-formed JSON (syntax, or a value of the wrong JSON type where the
    /// format's structure needs one, such as a top level that is not an object).
    #[error("reading {name:?}: malformed JSON at line {line}, column {column}: {message}")]
    Json {
        /// The input's name.
        name: String,
        /// The 1-based line of the error.
        line: u64,
        /// The 1-based column of the error.
        column: u64,
        /// What was wrong.
        message: String,
    },
    /// The input is not well-formed XML, or its root element is not the one the format needs.
    #[error("reading {name:?}: malformed XML at byte {offset}: {message}")]
    Xml {
        /// The input's name.
        name: String,
        /// The 0-based byte offset of the error.
        offset: u64,
        /// What was wrong.
        message: String,
    },
    /// A CSV input whose header row is missing or unusable (a required column missing, a
    /// column named twice).
    #[error("reading {name:?}: bad CSV header: {message}")]
    Header {
        /// The input's name.
        name: String,
        /// What was wrong.
        message: String,
    },
    /// Well-formed input that does not have the format's structure (a VICS file without its
    /// `value` array, a member named twice at the top level).
    #[error("reading {name:?}: {message}")]
    Structure {
        /// The input's name.
        name: String,
        /// What was wrong.
        message: String,
    },
    /// A VICS file whose category scheme is not known (the caller gave none and the file does
    /// not declare one) or contradicts the one the caller gave. Categories are never guessed:
    /// the US (0–4) and legacy (0–5) schemes give the same numbers different meanings.
    #[error("reading {name:?}: {message}")]
    CategoryScheme {
        /// The input's name.
        name: String,
        /// What was wrong, and what to do about it.
        message: String,
    },
}

/// One record (line) of a plain list that could not be parsed and was skipped.
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

/// Where a record sits in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Location {
    /// The 1-based line of a text or CSV input (for CSV, the line the record starts on).
    Line(u64),
    /// A media object of a VICS file: `value[index]` in a hash set, or
    /// `value[case].Media[index]` in a case file (indexes are 0-based, as in JSON paths).
    Media {
        /// The 0-based index of the case in `value`, for the `#Cases` form.
        case: Option<u64>,
        /// The 0-based index of the media object in its array.
        index: u64,
    },
    /// A case object of a VICS `#Cases` file: `value[index]`.
    Case {
        /// The 0-based index of the case in `value`.
        index: u64,
    },
    /// A place in an XML document: the 1-based entry number on the page (images and videos
    /// counted together, in document order), when the place is inside an entry, and the
    /// 0-based byte offset of the element.
    Xml {
        /// The 1-based entry number, if the place is inside an entry.
        entry: Option<u64>,
        /// The 0-based byte offset.
        offset: u64,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Location::Line(n) => write!(f, "{n}"),
            Location::Media { case: None, index } => write!(f, "value[{index}]"),
            Location::Media {
                case: Some(c),
                index,
            } => write!(f, "value[{c}].Media[{index}]"),
            Location::Case { index } => write!(f, "value[{index}]"),
            Location::Xml {
                entry: Some(n),
                offset,
            } => write!(f, "entry {n} (byte {offset})"),
            Location::Xml {
                entry: None,
                offset,
            } => write!(f, "byte {offset}"),
        }
    }
}

/// One record of a ThreatExchange, VICS or NCMEC input that could not be read and was skipped
/// (or, for [`crate::vics::VicsFile::merge_duplicates`], duplicates that could not be merged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}:{location}: {message}")]
pub struct RecordError {
    /// The input's name, as the caller gave it.
    pub name: String,
    /// Where the record is.
    pub location: Location,
    /// What was wrong (lowercase, no trailing period).
    pub message: String,
}

impl RecordError {
    pub(crate) fn new(name: &str, location: Location, message: impl Into<String>) -> Self {
        RecordError {
            name: name.to_string(),
            location,
            message: message.into(),
        }
    }
}

/// A failure of a writer. Writers write what their format can carry and leave out the rest (each
/// writer's documentation lists what it drops); they fail only when the output would not read
/// back as what they were given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The output returned an I/O error.
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    /// A record cannot be written in this format without changing what it means.
    #[error("record {record}: {message}")]
    Unwritable {
        /// The 0-based index of the record among those given to the writer.
        record: u64,
        /// Why (lowercase, no trailing period).
        message: String,
    },
    /// Something other than a record (a VICS envelope or case, an NCMEC page field) is not
    /// valid for the format.
    #[error("{0}")]
    Invalid(String),
}
