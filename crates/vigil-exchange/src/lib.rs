//! Hash-list formats: pure parsers and writers for the lists of known-material hashes that
//! hotlines and platforms exchange.
//!
//! Today one format, the **plain hash list** ([`plain`]): one PDQ hash in hex per line, perhaps
//! followed by more fields after a comma or a tab (`vigil hash`'s csv output is one). Later formats
//! (ThreatExchange / HMA, NCMEC, Project VIC's VICS) join it here.
//!
//! Parsers never fail on a bad record: they follow the `(T, Vec<Error>)` pattern, returning what
//! they could read together with one [`LineError`] per record they skipped, which names the input
//! and the 1-based line. Only the reader itself failing ([`Error`]) stops a parse.
//!
//! # What it deliberately does not do
//!
//! No I/O beyond the readers and writers it is given: it opens no file and makes no network
//! request (fetchers, when they come, sit above the parsers and feed them readers). It knows
//! nothing of indexes, images, SQL or HTTP.
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

#![warn(missing_docs)]

mod error;
pub mod plain;

pub use error::{Error, LineError};
pub use plain::{
    Entry, PlainList, PlainListReader, Record, parse_plain_line, parse_plain_list, write_plain_list,
};
