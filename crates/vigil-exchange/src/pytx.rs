//! python-threatexchange's file formats: the `local_file` exchange's text lists and the
//! `threatexchange dataset -P --csv` CSV (also what HMA imports and exports).
//!
//! # Text (`local_file`)
//!
//! ```text
//! pdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
//! video_md5 d41d8cd98f00b204e9800998ecf8427e
//! ```
//!
//! One `<signal_type> <signal>` per line, split at the first space (a tab is accepted too);
//! when the collaboration fixes the type ([`PytxTextReader::with_signal_type`]) each line is
//! just the signal. Each line becomes a [`Record`] with one signal. Accepted beyond
//! python-threatexchange: a UTF-8 BOM, CRLF, and `#` comment lines (no signal type starts with
//! `#`); blank lines are skipped as there. Lines python-threatexchange would drop silently (a
//! type without a signal) and invalid values are [`RecordError`]s here.
//!
//! # CSV
//!
//! ```text
//! signal_type,signal_str,collab,category,tags
//! pdq,f8f8…9b22,Sample Collab,POSITIVE_CLASS,tag1 tag2
//! ```
//!
//! A header row is required (python-threatexchange always writes one). Columns are found by
//! name, so older files with `collab` first read the same; `signal_type` and `signal_str` are
//! required, `collab`, `category` and `tags` optional, and any other column is kept in
//! [`Record::extra`] as `pytx.<column>` (and written back as a column after the five).
//! `category` is an opinion category name ([`crate::record::PYTX_CATEGORIES`]) or empty; tags
//! are separated by spaces. Quoted fields may span lines; a record's location is the line it
//! starts on. A row with a different number of fields than the header is a [`RecordError`].
//!
//! # Signal type names
//!
//! python-threatexchange names types after their class: `pdq`, `video_md5`, `video_sha256`,
//! `vpdq`, `photodna`, `raw_text`, `url`, …. `video_md5`/`video_sha256` read as
//! [`SignalKind::Md5`]/[`SignalKind::Sha256`] with [`ContentType::Video`]; plain `md5`, `sha1`
//! and `sha256` (used by some exchanges and by other tools) read as those kinds with no content
//! type; every other name is kept as [`SignalKind::Other`], never dropped. Writing reverses
//! this: an MD5 or SHA-256 is written `video_…` only on a record whose content is a video,
//! since python-threatexchange has no image MD5 type. (HMA ignores types it does not know, so
//! `md5` lines written for images are kept by Vigil but not matched by HMA.)

use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};

use crate::error::{Error, Location, RecordError, WriteError};
use crate::lines::{Line, LineReader, skip_bom};
use crate::record::{
    Category, CategoryScheme, ContentType, Item, Located, MAX_SIGNAL_LEN, Record, Records, Signal,
    SignalKind,
};

/// The longest text line accepted, in bytes (a long video's vPDQ signal is long).
pub const MAX_TEXT_LINE: usize = MAX_SIGNAL_LEN + 1024;

/// The columns python-threatexchange writes, in its order.
pub const CSV_COLUMNS: [&str; 5] = ["signal_type", "signal_str", "collab", "category", "tags"];

/// The kind (and content type, where the name says) of a python-threatexchange signal type
/// name.
pub fn kind_from_pytx_name(name: &str) -> (SignalKind, Option<ContentType>) {
    match name {
        "video_md5" => (SignalKind::Md5, Some(ContentType::Video)),
        "video_sha256" => (SignalKind::Sha256, Some(ContentType::Video)),
        n => (SignalKind::from_name(n), None),
    }
}

/// The python-threatexchange name for a signal kind on content of type `content`.
pub fn pytx_name<'a>(kind: &'a SignalKind, content: Option<&ContentType>) -> &'a str {
    match (kind, content) {
        (SignalKind::Md5, Some(ContentType::Video)) => "video_md5",
        (SignalKind::Sha256, Some(ContentType::Video)) => "video_sha256",
        (k, _) => k.name(),
    }
}

fn record_from(name: &str, value: &str) -> Result<Record, String> {
    let (kind, content) = kind_from_pytx_name(name);
    let signal = Signal::new(kind, value).map_err(|e| e.0)?;
    Ok(Record {
        signals: vec![signal],
        content,
        ..Record::default()
    })
}

/// Parses a whole text list. `name` (usually the path) is used in errors only.
pub fn parse_pytx_text<R: BufRead>(reader: R, name: &str) -> Result<Records, Error> {
    let mut out = Records::default();
    for item in PytxTextReader::new(reader, name) {
        out.push(item?);
    }
    Ok(out)
}

/// Reads a text list line by line (an iterator of [`Item`]s; blank and comment lines yield
/// nothing). After an I/O error it yields that error once and then ends.
#[derive(Debug)]
pub struct PytxTextReader<R> {
    lines: LineReader<R>,
    name: String,
    fixed: Option<String>,
    done: bool,
}

impl<R: BufRead> PytxTextReader<R> {
    /// Reads `<signal_type> <signal>` lines from `reader`; `name` is used in errors only.
    pub fn new(reader: R, name: &str) -> Self {
        PytxTextReader {
            lines: LineReader::new(reader, MAX_TEXT_LINE),
            name: name.to_string(),
            fixed: None,
            done: false,
        }
    }

    /// Reads lines that hold only a signal, all of the python-threatexchange type `signal_type`
    /// (the `local_file` collaboration's `signal_type` setting).
    pub fn with_signal_type(mut self, signal_type: &str) -> Self {
        self.fixed = Some(signal_type.to_string());
        self
    }

    fn parse_line(&self) -> Option<Result<Record, String>> {
        let Ok(text) = std::str::from_utf8(self.lines.text()) else {
            return Some(Err("line is not UTF-8".to_string()));
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            return None;
        }
        if let Some(kind) = &self.fixed {
            return Some(record_from(kind, text));
        }
        Some(match text.split_once([' ', '\t']) {
            Some((kind, value)) => record_from(kind, value),
            None => Err(format!(
                "expected \"<signal_type> <signal>\", found {:?}",
                crate::record::clip(text)
            )),
        })
    }
}

impl<R: BufRead> Iterator for PytxTextReader<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let fits = match self.lines.next_line() {
                Ok(Some(Line::Fits)) => true,
                Ok(Some(Line::TooLong)) => false,
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
            };
            let location = Location::Line(self.lines.line);
            let parsed = if fits {
                match self.parse_line() {
                    None => continue,
                    Some(p) => p,
                }
            } else {
                Err(format!("line is longer than {MAX_TEXT_LINE} bytes"))
            };
            return Some(Ok(match parsed {
                Ok(value) => Item::Record(Located { location, value }),
                Err(message) => Item::Malformed(RecordError::new(&self.name, location, message)),
            }));
        }
        None
    }
}

/// Writes records as a text list: `<signal_type> <signal>\n` for each signal of each record.
///
/// Only the signals are written (the format has nothing else). A record without signals is
/// [`WriteError::Unwritable`].
pub fn write_pytx_text<'a, W: Write>(
    w: W,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<(), WriteError> {
    let mut t = PytxTextWriter::new(w);
    for r in records {
        t.write(r)?;
    }
    t.finish()?;
    Ok(())
}

/// [`write_pytx_text`] one record at a time, for records that do not fit in memory together.
#[derive(Debug)]
pub struct PytxTextWriter<W: Write> {
    w: W,
    record: u64,
}

impl<W: Write> PytxTextWriter<W> {
    /// A writer to `w` (which it does not buffer).
    pub fn new(w: W) -> Self {
        PytxTextWriter { w, record: 0 }
    }

    /// Writes one record's signals.
    pub fn write(&mut self, r: &Record) -> Result<(), WriteError> {
        let i = self.record;
        self.record += 1;
        if r.signals.is_empty() {
            return Err(WriteError::Unwritable {
                record: i,
                message: "record has no signals".to_string(),
            });
        }
        for s in &r.signals {
            writeln!(
                self.w,
                "{} {}",
                pytx_name(s.kind(), r.content.as_ref()),
                s.value()
            )?;
        }
        Ok(())
    }

    /// Flushes, and gives the writer back.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Where each column is in a CSV file.
#[derive(Debug)]
struct Columns {
    count: usize,
    signal_type: usize,
    signal_str: usize,
    collab: Option<usize>,
    category: Option<usize>,
    tags: Option<usize>,
    others: Vec<(usize, String)>,
}

impl Columns {
    fn from_header(fields: &[&str]) -> Result<Columns, String> {
        let find = |want: &str| fields.iter().position(|f| *f == want);
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].contains(f) {
                return Err(format!("column {f:?} appears twice"));
            }
        }
        let required = |want: &str| find(want).ok_or_else(|| format!("no {want:?} column"));
        Ok(Columns {
            count: fields.len(),
            signal_type: required("signal_type")?,
            signal_str: required("signal_str")?,
            collab: find("collab"),
            category: find("category"),
            tags: find("tags"),
            others: fields
                .iter()
                .enumerate()
                .filter(|(_, f)| !CSV_COLUMNS.contains(f))
                .map(|(i, f)| (i, f.to_string()))
                .collect(),
        })
    }
}

/// Parses a whole CSV file. `name` (usually the path) is used in errors only.
pub fn parse_pytx_csv<R: BufRead>(reader: R, name: &str) -> Result<Records, Error> {
    let mut out = Records::default();
    for item in PytxCsvReader::new(reader, name)? {
        out.push(item?);
    }
    Ok(out)
}

/// The CSV reader's input: it notes where line breaks are, because the `csv` crate counts
/// records rather than lines (a quoted field may hold line breaks, blank lines are skipped) and
/// places a record's start before the line end of the previous one.
#[derive(Debug)]
struct CsvInput<R> {
    inner: std::io::Chain<std::io::Cursor<Vec<u8>>, R>,
    /// Bytes read so far.
    pos: u64,
    /// Offsets and values of the `\r` and `\n` bytes read but not yet passed by a record.
    breaks: VecDeque<(u64, u8)>,
    /// Line feeds passed.
    passed: u64,
}

impl<R: BufRead> Read for CsvInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back((self.pos + i as u64, b));
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R> CsvInput<R> {
    /// The 1-based line of the first byte at or after `offset` that is not a line end;
    /// offsets must not decrease between calls.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut at = offset;
        while let Some(&(o, b)) = self.breaks.front() {
            if o > at {
                break;
            }
            if o == at {
                at += 1;
            }
            self.passed += u64::from(b == b'\n');
            self.breaks.pop_front();
        }
        self.passed + 1
    }
}

/// Reads a CSV file row by row (an iterator of [`Item`]s). Made by [`PytxCsvReader::new`],
/// which reads the header. After an I/O error it yields that error once and then ends.
#[derive(Debug)]
pub struct PytxCsvReader<R> {
    csv: csv::Reader<CsvInput<R>>,
    name: String,
    columns: Columns,
    row: csv::ByteRecord,
    done: bool,
}

fn csv_error(name: &str, line: u64, e: csv::Error) -> Error {
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Io {
            name: name.to_string(),
            line,
            source,
        },
        _ => Error::Structure {
            name: name.to_string(),
            message: format!("CSV at line {line}: {message}"),
        },
    }
}

impl<R: BufRead> PytxCsvReader<R> {
    /// Reads the header row of `reader` (a UTF-8 BOM before it is skipped); `name` is used in
    /// errors only.
    pub fn new(reader: R, name: &str) -> Result<Self, Error> {
        let input = skip_bom(reader).map_err(|source| Error::Io {
            name: name.to_string(),
            line: 1,
            source,
        })?;
        let input = CsvInput {
            inner: input,
            pos: 0,
            breaks: VecDeque::new(),
            passed: 0,
        };
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut header = csv::ByteRecord::new();
        let header_error = |message: String| Error::Header {
            name: name.to_string(),
            message,
        };
        if !csv
            .read_byte_record(&mut header)
            .map_err(|e| csv_error(name, 1, e))?
        {
            return Err(header_error("the input is empty".to_string()));
        }
        let fields: Vec<&str> = header
            .iter()
            .map(|f| std::str::from_utf8(f).map(str::trim))
            .collect::<Result<_, _>>()
            .map_err(|_| header_error("the header is not UTF-8".to_string()))?;
        let columns = Columns::from_header(&fields).map_err(header_error)?;
        Ok(PytxCsvReader {
            csv,
            name: name.to_string(),
            columns,
            row: csv::ByteRecord::new(),
            done: false,
        })
    }

    fn parse_row(&self) -> Result<Record, String> {
        let c = &self.columns;
        if self.row.len() != c.count {
            return Err(format!(
                "expected {} fields as in the header, found {}",
                c.count,
                self.row.len()
            ));
        }
        let field = |i: usize| -> Result<&str, String> {
            std::str::from_utf8(self.row.get(i).unwrap_or_default())
                .map_err(|_| format!("field {} is not UTF-8", i + 1))
        };
        let kind = field(c.signal_type)?.trim();
        if kind.is_empty() {
            return Err("empty signal_type".to_string());
        }
        let mut record = record_from(kind, field(c.signal_str)?)?;
        if let Some(i) = c.collab {
            let v = field(i)?;
            record.source = (!v.is_empty()).then(|| v.to_string());
        }
        if let Some(i) = c.category {
            let v = field(i)?.trim();
            if !v.is_empty() {
                record.category =
                    Some(Category::pytx(v).ok_or_else(|| format!("unknown category {v:?}"))?);
            }
        }
        if let Some(i) = c.tags {
            record.tags = field(i)?.split_whitespace().map(str::to_string).collect();
        }
        for (i, col) in &c.others {
            let v = field(*i)?;
            if !v.is_empty() {
                record.extra.insert(format!("pytx.{col}"), v.to_string());
            }
        }
        Ok(record)
    }
}

impl<R: BufRead> Iterator for PytxCsvReader<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.csv.read_byte_record(&mut self.row) {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                let byte = self.csv.position().byte();
                let line = self.csv.get_mut().line_at(byte);
                return Some(Err(csv_error(&self.name, line, e)));
            }
        }
        let byte = self.row.position().map(|p| p.byte()).unwrap_or(0);
        let location = Location::Line(self.csv.get_mut().line_at(byte));
        Some(Ok(match self.parse_row() {
            Ok(value) => Item::Record(Located { location, value }),
            Err(message) => Item::Malformed(RecordError::new(&self.name, location, message)),
        }))
    }
}

/// Writes records as python-threatexchange's CSV: the header, then for each signal of each
/// record `signal_type,signal_str,collab,category,tags` (CRLF line ends and minimal quoting, as
/// Python's `csv` module writes).
///
/// Written: the signals, [`Record::source`] as `collab`, a python-threatexchange
/// [`Record::category`] (a category of another scheme is left out: there is no faithful
/// mapping), the tags joined by spaces, and each `pytx.<column>` extra as a further column after
/// the five (so a file with extra columns reads back the same). Everything else is left out. A
/// record without signals, a tag that is empty or holds whitespace, an invalid
/// python-threatexchange category, or an extra column named like one of the five is
/// [`WriteError::Unwritable`].
pub fn write_pytx_csv<'a, W: Write>(
    w: W,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<(), WriteError> {
    let records: Vec<&Record> = records.into_iter().collect();
    let columns = records.iter().flat_map(|r| csv_extra_columns(r));
    let mut c = PytxCsvWriter::new(w, columns)?;
    for r in records {
        c.write(r)?;
    }
    c.finish()?;
    Ok(())
}

/// The extra columns a record brings to a CSV file: its `pytx.<column>` extras' names.
pub fn csv_extra_columns(r: &Record) -> impl Iterator<Item = &str> {
    r.extra.keys().filter_map(|k| k.strip_prefix("pytx."))
}

/// [`write_pytx_csv`] one record at a time, for records that do not fit in memory together: the
/// extra columns (every record's [`csv_extra_columns`]) must be known before the first.
pub struct PytxCsvWriter<W: Write> {
    csv: csv::Writer<W>,
    extra_columns: Vec<String>,
    record: u64,
}

impl<W: Write> std::fmt::Debug for PytxCsvWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PytxCsvWriter")
            .field("extra_columns", &self.extra_columns)
            .field("record", &self.record)
            .finish()
    }
}

impl<W: Write> PytxCsvWriter<W> {
    /// Writes the header: the five columns, then `extra_columns` (sorted, without repeats).
    pub fn new<'c>(
        w: W,
        extra_columns: impl IntoIterator<Item = &'c str>,
    ) -> Result<Self, WriteError> {
        let mut extra_columns: Vec<String> =
            extra_columns.into_iter().map(str::to_string).collect();
        extra_columns.sort_unstable();
        extra_columns.dedup();
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(w);
        let header: Vec<&str> = CSV_COLUMNS
            .iter()
            .copied()
            .chain(extra_columns.iter().map(String::as_str))
            .collect();
        csv.write_record(&header).map_err(std::io::Error::from)?;
        Ok(PytxCsvWriter {
            csv,
            extra_columns,
            record: 0,
        })
    }

    /// Writes one record: a row per signal.
    pub fn write(&mut self, r: &Record) -> Result<(), WriteError> {
        let i = self.record;
        self.record += 1;
        let unwritable = |message: String| WriteError::Unwritable { record: i, message };
        if r.signals.is_empty() {
            return Err(unwritable("record has no signals".to_string()));
        }
        if let Some(t) = r
            .tags
            .iter()
            .find(|t| t.is_empty() || t.contains(char::is_whitespace))
        {
            return Err(unwritable(format!(
                "tag {t:?} is empty or holds whitespace, and tags are separated by spaces"
            )));
        }
        if let Some(c) = csv_extra_columns(r).find(|c| CSV_COLUMNS.contains(c) || c.trim() != *c) {
            return Err(unwritable(format!(
                "extra column {c:?} is one of the five or has surrounding whitespace"
            )));
        }
        if let Some(c) = csv_extra_columns(r).find(|c| !self.extra_columns.iter().any(|e| e == c)) {
            return Err(unwritable(format!(
                "extra column {c:?} is not in the file's header"
            )));
        }
        let category = match &r.category {
            Some(c) if c.scheme == CategoryScheme::Pytx => {
                if !c.is_valid() {
                    return Err(unwritable(format!(
                        "{:?} is not a python-threatexchange category",
                        c.value
                    )));
                }
                c.value.as_str()
            }
            _ => "",
        };
        let tags = r.tags.join(" ");
        for s in &r.signals {
            let mut row = vec![
                pytx_name(s.kind(), r.content.as_ref()),
                s.value(),
                r.source.as_deref().unwrap_or(""),
                category,
                &tags,
            ];
            for c in &self.extra_columns {
                row.push(
                    r.extra
                        .get(&format!("pytx.{c}"))
                        .map(String::as_str)
                        .unwrap_or(""),
                );
            }
            self.csv.write_record(&row).map_err(std::io::Error::from)?;
        }
        Ok(())
    }

    /// Flushes, and gives the writer back.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.csv.flush()?;
        self.csv
            .into_inner()
            .map_err(|e| WriteError::Io(e.into_error()))
    }
}
