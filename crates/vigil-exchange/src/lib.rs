//! Hash-list formats: pure parsers and writers for the lists of known-material hashes that
//! hotlines and platforms exchange.
//!
//! | module | format | reads | writes |
//! |---|---|---|---|
//! | [`plain`] | one PDQ hex per line, more fields after a comma or tab (`vigil hash`'s csv) | [`parse_plain_list`], [`PlainListReader`] | [`write_plain_list`] |
//! | [`pytx`] | python-threatexchange / HMA `local_file` text (`<signal_type> <signal>`) | [`pytx::parse_pytx_text`], [`pytx::PytxTextReader`] | [`pytx::write_pytx_text`] |
//! | [`pytx`] | python-threatexchange `dataset --csv` (`signal_type,signal_str,collab,category,tags`) | [`pytx::parse_pytx_csv`], [`pytx::PytxCsvReader`] | [`pytx::write_pytx_csv`] |
//! | [`vics`] | Project VIC VICS 2.0 OData JSON, `#Media` hash sets and `#Cases` | [`vics::parse_vics`], streaming [`vics::read_vics`] | [`vics::write_vics`], [`vics::VicsWriter`] |
//! | [`ncmec`] | NCMEC hash sharing API v2 XML, one `entries` page (with deletions and `next`) | [`ncmec::parse_ncmec_page`] | [`ncmec::write_ncmec_page`] |
//!
//! The plain list gives bare PDQ hashes ([`Entry`]). The other formats read into one
//! format-neutral model, [`record::Record`]: a content item with its [`Signal`]s (kind and
//! validated, normalised value), external ids, a [`Category`] that always carries its
//! [`CategoryScheme`], tags, source, timestamps, VICS flags and an `extra` map for what a format
//! carries and the model does not, so that a record read from a format and written back to it
//! is unchanged. (`vigil_exchange::Record` is the plain list's reader item, kept for its
//! users; the model is `vigil_exchange::record::Record`.)
//!
//! Parsers never fail on a bad record: they follow the `(T, Vec<Error>)` pattern, returning what
//! they could read together with one [`LineError`] (plain list) or [`RecordError`] (the others)
//! per record they skipped, naming the input and where the record is: the 1-based line, the
//! VICS JSON path (`value[3]`), the NCMEC entry number and byte offset. Only the reader failing,
//! malformed JSON/XML, or an input that is not of the format at all ([`Error`]) stops a parse.
//! Writers write what their format can carry, say what they leave out, and fail
//! ([`WriteError`]) only when a record would not read back as itself.
//!
//! # What it deliberately does not do
//!
//! No I/O beyond the readers and writers it is given: it opens no file and makes no network
//! request (fetchers, when they come, sit above the parsers and feed them readers). It knows
//! nothing of indexes, images, SQL or HTTP, and never guesses: a VICS category is read only in a
//! scheme the caller gives or the file declares.
//!
//! # Example
//!
//! ```
//! use vigil_exchange::parse_plain_list;
//!
//! let text = "\u{feff}# known hashes\r\n\
//!     F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22,100,a.jpg\r\n\
//!     \r\n\
//!     not-a-hash\r\n";
//! let list = parse_plain_list(text.as_bytes(), "known.txt").unwrap();
//! assert_eq!(list.entries.len(), 1);
//! assert_eq!(list.entries[0].line, 2);
//! assert_eq!(list.entries[0].hash.to_string(),
//!            "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22");
//! assert_eq!(list.errors.len(), 1);
//! assert_eq!(list.errors[0].line, 4);
//! assert!(list.errors[0].to_string().starts_with("known.txt:4: "));
//! ```
//!
//! The same hashes in python-threatexchange's text format:
//!
//! ```
//! use vigil_exchange::{SignalKind, pytx::parse_pytx_text};
//!
//! let text = "pdq F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22\n\
//!             video_md5 d41d8cd98f00b204e9800998ecf8427e\n\
//!             pdq 1234\n";
//! let list = parse_pytx_text(text.as_bytes(), "hashes.txt").unwrap();
//! assert_eq!(list.records.len(), 2);
//! assert_eq!(list.records[1].value.signals[0].kind(), &SignalKind::Md5);
//! assert_eq!(list.errors[0].to_string(),
//!            "hashes.txt:3: pdq \"1234\": expected 64 hex digits, found 4");
//! ```

#![warn(missing_docs)]

mod error;
mod lines;
pub mod ncmec;
pub mod plain;
pub mod pytx;
pub mod record;
pub mod vics;

pub use error::{Error, LineError, Location, RecordError, WriteError};
pub use plain::{
    Entry, PlainList, PlainListReader, Record, parse_plain_line, parse_plain_list, write_plain_list,
};
pub use record::{
    Category, CategoryScheme, ContentType, Deletion, Flags, Item, Located, Records, Signal,
    SignalKind, Timestamp, VicsScheme,
};
