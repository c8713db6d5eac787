//! Reading one sheet of an XLSX workbook as rows of text, for the intake.
//!
//! Registers are kept in Excel as often as in CSV. `calamine` parses the workbook; this module
//! adds what a hostile or broken file calls for, since an XLSX file is a ZIP archive of XML:
//!
//! * the file size is capped, and every member of the archive is inflated once (into nothing)
//!   before `calamine` sees it, so a decompression bomb is refused by its *actual* size and
//!   ratio, not by the sizes its directory claims;
//! * cells are streamed (`calamine`'s dense `Range` would allocate rows × columns cells for a
//!   sheet with one cell in A1 and one in XFD1048576), and rows and columns are capped.
//!
//! Cells become text as a person reading the sheet sees them: whole numbers without a decimal
//! point, dates as `YYYY-MM-DD` (1900 and 1904 date systems; a time of day is dropped),
//! booleans as `yes`/`no`, error cells (`#N/A`) as the error's text. Fully empty rows are
//! skipped; the first non-empty row is the header. Row numbers in the intake's report count
//! data rows from 1, as for CSV.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};

use crate::error::{Error, Result};

/// Caps on what an XLSX file may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The file itself, in bytes.
    pub max_file_bytes: u64,
    /// All members of the archive inflated, in bytes.
    pub max_inflated_bytes: u64,
    /// Inflated size over file size.
    pub max_ratio: u64,
    /// Rows of the sheet (header included).
    pub max_rows: u32,
    /// Columns of the sheet.
    pub max_columns: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 64 << 20,
            max_inflated_bytes: 512 << 20,
            max_ratio: 200,
            max_rows: 2_000_000,
            max_columns: 1024,
        }
    }
}

/// A sheet's header and its non-empty data rows (each with its 1-based data row number).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    /// The name of the sheet read.
    pub name: String,
    /// The header row's cells.
    pub headers: Vec<String>,
    /// Data rows: (1-based data row number, cells; as many cells as the widest row).
    pub rows: Vec<(usize, Vec<String>)>,
}

fn bad(what: &str, problem: impl Into<String>) -> Error {
    Error::Spreadsheet {
        what: what.into(),
        problem: problem.into(),
    }
}

/// Inflates every member once, counting, and refuses the archive over the limits.
fn check_archive(bytes: &[u8], what: &str, limits: &Limits) -> Result<()> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(what, format!("not an XLSX file (not a ZIP archive): {e}")))?;
    let cap = limits.max_inflated_bytes.min(
        (bytes.len() as u64)
            .saturating_mul(limits.max_ratio)
            .max(1 << 20),
    );
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 << 10];
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| bad(what, format!("archive member {i}: {e}")))?;
        let name = f.name().map_or_else(|_| format!("#{i}"), |n| n.to_string());
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| bad(what, format!("archive member {name}: {e}")))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > cap {
                return Err(bad(
                    what,
                    format!(
                        "inflates to more than {cap} bytes (file of {} bytes; limits: {} bytes, \
                         {}× the file): refused as a possible decompression bomb",
                        bytes.len(),
                        limits.max_inflated_bytes,
                        limits.max_ratio
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn text(cell: &DataRef<'_>) -> String {
    match cell {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        DataRef::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        DataRef::DateTime(dt) => number(dt.as_f64()),
        DataRef::DateTimeIso(s) => s.split('T').next().unwrap_or(s).to_string(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

/// Reads one sheet (`sheet`, or the first) of an XLSX file. `what` names the file in errors.
pub fn read(bytes: &[u8], sheet: Option<&str>, what: &str, limits: &Limits) -> Result<Sheet> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(bad(
            what,
            format!(
                "{} bytes is over the limit of {} bytes",
                bytes.len(),
                limits.max_file_bytes
            ),
        ));
    }
    check_archive(bytes, what, limits)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| bad(what, format!("not a readable XLSX workbook: {e}")))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                bad(
                    what,
                    format!("no sheet named {s:?}; the sheets are {names:?}"),
                )
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| bad(what, "the workbook has no sheet"))?,
    };
    let mut cells = book
        .worksheet_cells_reader(&name)
        .map_err(|e| bad(what, format!("sheet {name:?}: {e}")))?;
    // Sparse: sheet row → (column → text).
    let mut grid: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    let mut count: u64 = 0;
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| bad(what, format!("sheet {name:?}: {e}")))?
    {
        let (r, c) = cell.get_position();
        if c >= limits.max_columns {
            return Err(bad(
                what,
                format!(
                    "sheet {name:?}: a cell in column {} is past the limit of {} columns",
                    c + 1,
                    limits.max_columns
                ),
            ));
        }
        if r >= limits.max_rows {
            return Err(bad(
                what,
                format!(
                    "sheet {name:?}: a cell in row {} is past the limit of {} rows",
                    r + 1,
                    limits.max_rows
                ),
            ));
        }
        let t = text(cell.get_value());
        if t.trim().is_empty() {
            continue;
        }
        count += 1;
        if count > u64::from(limits.max_rows) * 64 {
            return Err(bad(what, format!("sheet {name:?}: too many cells")));
        }
        grid.entry(r).or_default().insert(c, t);
    }
    let mut rows = grid.into_values();
    let Some(header) = rows.next() else {
        return Err(bad(
            what,
            format!("sheet {name:?} is empty (no header row)"),
        ));
    };
    let width = |row: &BTreeMap<u32, String>| row.keys().next_back().map_or(0, |&c| c as usize + 1);
    let mut all: Vec<BTreeMap<u32, String>> = rows.collect();
    let w = all.iter().map(width).max().unwrap_or(0).max(width(&header));
    let dense = |row: &mut BTreeMap<u32, String>| -> Vec<String> {
        (0..w as u32)
            .map(|c| row.remove(&c).unwrap_or_default())
            .collect()
    };
    let mut header = header;
    let headers = dense(&mut header);
    let rows = all
        .iter_mut()
        .enumerate()
        .map(|(i, r)| (i + 1, dense(r)))
        .collect();
    Ok(Sheet {
        name,
        headers,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_a_reader_sees_them() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(2.5), "2.5");
    }
}
