//! The plain hash list: one PDQ hash per line.
//!
//! ```text
//! # a comment (after optional leading whitespace)
//! f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
//! F8F8F0CE...,100,photo.jpg      more fields after a comma or a tab: the first field is the hash
//! ```
//!
//! Accepted: LF or CRLF line ends, a UTF-8 byte-order mark at the start of the input, upper- or
//! lower-case hex, spaces and tabs around the line and around the hash field, blank lines and
//! `#` comment lines (both ignored, but counted in line numbers). Repeated hashes are kept, each
//! with its own line: a list may legitimately carry one hash under several records.
//!
//! A line is malformed when its first field is not exactly 64 hex digits, or when it is longer
//! than [`MAX_LINE`] bytes; it becomes a [`LineError`] and parsing goes on. Bytes that are not
//! UTF-8 are allowed in the fields after the hash (they are never looked at).
//!
//! Reading is streaming: [`PlainListReader`] holds one line at a time, so a 10-million-line list
//! costs only the entries the caller keeps.

use std::io::{self, BufRead, Write};

use vigil_core::Hash256;

use crate::error::{Error, LineError};
use crate::lines::{Line, LineReader};

/// The longest line accepted, in bytes (without its line end). Longer lines are reported as
/// malformed and skipped without being held in memory whole.
pub const MAX_LINE: usize = 64 * 1024;

/// One hash read from a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    /// The hash.
    pub hash: Hash256,
    /// The 1-based line it was read from.
    pub line: u64,
}

/// What one non-blank, non-comment line held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A hash.
    Entry(Entry),
    /// A malformed line, skipped.
    Malformed(LineError),
}

/// A whole list: the hashes read, in line order, and the lines skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainList {
    /// The hashes, in line order (duplicates kept).
    pub entries: Vec<Entry>,
    /// The malformed lines, in line order.
    pub errors: Vec<LineError>,
}

/// Parses a whole plain list. `name` (usually the path) is used in errors only.
///
/// Malformed lines end up in [`PlainList::errors`]; only an I/O error from `reader` fails.
pub fn parse_plain_list<R: BufRead>(reader: R, name: &str) -> Result<PlainList, Error> {
    let mut list = PlainList::default();
    for rec in PlainListReader::new(reader, name) {
        match rec? {
            Record::Entry(e) => list.entries.push(e),
            Record::Malformed(e) => list.errors.push(e),
        }
    }
    Ok(list)
}

/// Parses one line (without its line end, and without a BOM): `Ok(None)` for a blank or comment
/// line, `Ok(Some(hash))` for a hash, `Err(reason)` for a malformed line.
pub fn parse_plain_line(line: &[u8]) -> Result<Option<Hash256>, String> {
    let line = line.trim_ascii();
    if line.is_empty() || line[0] == b'#' {
        return Ok(None);
    }
    let end = line
        .iter()
        .position(|&b| b == b',' || b == b'\t')
        .unwrap_or(line.len());
    let field = line[..end].trim_ascii();
    if field.is_empty() {
        return Err("no hash before the first separator".to_string());
    }
    // Non-UTF-8 bytes become U+FFFD, which the hex parser reports as "not a hex digit".
    let text = String::from_utf8_lossy(field);
    Hash256::from_hex(&text)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Writes hashes as a plain list: 64 lowercase hex digits and `\n` per hash, nothing else.
/// [`parse_plain_list`] reads it back to the same hashes on lines 1, 2, ….
pub fn write_plain_list<'a, W: Write>(
    mut w: W,
    hashes: impl IntoIterator<Item = &'a Hash256>,
) -> io::Result<()> {
    for h in hashes {
        writeln!(w, "{h}")?;
    }
    w.flush()
}

/// Reads a plain list record by record (an iterator of [`Record`]s; blank and comment lines
/// yield nothing). After an I/O error it yields that error once and then ends.
#[derive(Debug)]
pub struct PlainListReader<R> {
    lines: LineReader<R>,
    name: String,
    done: bool,
}

impl<R: BufRead> PlainListReader<R> {
    /// Reads from `reader`; `name` (usually the path) is used in errors only.
    pub fn new(reader: R, name: &str) -> Self {
        PlainListReader {
            lines: LineReader::new(reader, MAX_LINE),
            name: name.to_string(),
            done: false,
        }
    }

    /// The number of lines read so far (the last line number seen).
    pub fn lines_read(&self) -> u64 {
        self.lines.line
    }

    fn malformed(&self, message: String) -> Record {
        Record::Malformed(LineError {
            name: self.name.clone(),
            line: self.lines.line,
            message,
        })
    }
}

impl<R: BufRead> Iterator for PlainListReader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.lines.next_line() {
                Ok(Some(Line::Fits)) => {}
                Ok(Some(Line::TooLong)) => {
                    return Some(Ok(
                        self.malformed(format!("line is longer than {MAX_LINE} bytes"))
                    ));
                }
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(source) => {
                    self.done = true;
                    return Some(Err(Error::Io {
                        name: self.name.clone(),
                        line: self.lines.line + 1,
                        source,
                    }));
                }
            }
            match parse_plain_line(self.lines.text()) {
                Ok(None) => continue,
                Ok(Some(hash)) => {
                    return Some(Ok(Record::Entry(Entry {
                        hash,
                        line: self.lines.line,
                    })));
                }
                Err(message) => return Some(Ok(self.malformed(message))),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let h = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let want: Hash256 = h.parse().unwrap();
        assert_eq!(parse_plain_line(b""), Ok(None));
        assert_eq!(parse_plain_line(b"  \t "), Ok(None));
        assert_eq!(parse_plain_line(b"  # x"), Ok(None));
        assert_eq!(parse_plain_line(h.as_bytes()), Ok(Some(want)));
        let upper = format!("  {}\t", h.to_uppercase());
        assert_eq!(parse_plain_line(upper.as_bytes()), Ok(Some(want)));
        assert_eq!(
            parse_plain_line(&[format!("{h} ,100,").as_bytes(), b"\xff.jpg"].concat()),
            Ok(Some(want))
        );
        assert_eq!(
            parse_plain_line(format!("{h}\tx").as_bytes()),
            Ok(Some(want))
        );
        assert!(parse_plain_line(b",abc").unwrap_err().contains("no hash"));
        assert!(
            parse_plain_line(b"abc")
                .unwrap_err()
                .contains("64 hex digits")
        );
        let spaced = format!("{h} trailing words");
        assert!(parse_plain_line(spaced.as_bytes()).is_err());
        let mut bad = h.as_bytes().to_vec();
        bad[10] = 0xff;
        assert!(parse_plain_line(&bad).is_err());
    }

    #[test]
    fn long_lines_are_skipped_whole() {
        let h = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let mut text = vec![b'a'; MAX_LINE + 10];
        text.push(b'\n');
        text.extend_from_slice(h.as_bytes());
        text.push(b'\n');
        text.extend_from_slice(&vec![b'b'; MAX_LINE * 3]);
        let list = parse_plain_list(&text[..], "l").unwrap();
        assert_eq!(list.entries.len(), 1);
        assert_eq!(list.entries[0].line, 2);
        let lines: Vec<u64> = list.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3]);
        assert!(list.errors[0].message.contains("longer than"));
        // Exactly MAX_LINE bytes, with CRLF: accepted as a line (then malformed as a hash).
        let mut text = vec![b'c'; MAX_LINE];
        text.extend_from_slice(b"\r\n");
        let list = parse_plain_list(&text[..], "l").unwrap();
        assert!(list.errors[0].message.contains("hex digits"), "{list:?}");
    }
}
