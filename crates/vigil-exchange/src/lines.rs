//! Reading a text input line by line with a cap on line length (shared by the line-based
//! formats): a line longer than the cap is skipped to its end without being held in memory.

use std::io::{self, BufRead, Read};

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What [`LineReader::next_line`] found.
pub(crate) enum Line {
    /// A line within the cap: [`LineReader::text`] holds it, without its line end.
    Fits,
    /// A line longer than the cap, skipped.
    TooLong,
}

#[derive(Debug)]
pub(crate) struct LineReader<R> {
    reader: R,
    max: usize,
    buf: Vec<u8>,
    /// The 1-based number of the last line read (0 before the first).
    pub(crate) line: u64,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R, max: usize) -> Self {
        LineReader {
            reader,
            max,
            buf: Vec::new(),
            line: 0,
        }
    }

    /// The last line read, without its line end (LF or CRLF) and, on line 1, without a UTF-8
    /// byte-order mark.
    pub(crate) fn text(&self) -> &[u8] {
        let t: &[u8] = &self.buf;
        if self.line == 1 {
            t.strip_prefix(BOM).unwrap_or(t)
        } else {
            t
        }
    }

    /// Reads the next line. `Ok(None)` at the end of the input. The line counter advances only
    /// when a line was read, so after an error `line + 1` is the line that failed.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line>> {
        self.buf.clear();
        let n =
            Read::take(&mut self.reader, self.max as u64 + 2).read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        let complete = self.buf.last() == Some(&b'\n');
        if complete {
            self.buf.pop();
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.buf.len() > self.max {
            if !complete {
                self.skip_to_line_end()?;
            }
            self.line += 1;
            return Ok(Some(Line::TooLong));
        }
        self.line += 1;
        Ok(Some(Line::Fits))
    }

    fn skip_to_line_end(&mut self) -> io::Result<()> {
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                return Ok(());
            }
            match avail.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.reader.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = avail.len();
                    self.reader.consume(n);
                }
            }
        }
    }
}

/// `reader` without a leading UTF-8 byte-order mark (for the formats read by whole-input
/// parsers, which would choke on it).
pub(crate) fn skip_bom<R: BufRead>(mut reader: R) -> io::Result<io::Chain<io::Cursor<Vec<u8>>, R>> {
    let mut head = Vec::with_capacity(3);
    while head.len() < 3 {
        let avail = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        let n = avail.len().min(3 - head.len());
        head.extend_from_slice(&avail[..n]);
        reader.consume(n);
    }
    if head == BOM {
        head.clear();
    }
    Ok(io::Cursor::new(head).chain(reader))
}
