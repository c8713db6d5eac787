//! The crate's one error type. Every variant names the input it is about (row, field, version,
//! code), because the people who read these messages fix spreadsheets, not stack traces.

use std::fmt;

/// A problem with one field of one row (incident) of a dataset or an imported file.
///
/// `row` counts from 1 as a spreadsheet user sees it (for an import: the CSV data row, the
/// header being row 0); `incident` is the incident id where one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based row number (data rows; the header is row 0).
    pub row: usize,
    /// The incident id, where the row has one.
    pub incident: Option<String>,
    /// The field (model field name or the mapped CSV column).
    pub field: String,
    /// What is wrong, lower case, no final period.
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.row)?;
        if let Some(id) = &self.incident {
            write!(f, " (incident {id})")?;
        }
        write!(f, ", field {}: {}", self.field, self.problem)
    }
}

/// Errors of the case registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A taxonomy version that is not known.
    #[error("unknown taxonomy version {0:?}")]
    UnknownTaxonomy(String),
    /// No crosswalk leads from one taxonomy version to another.
    #[error("no crosswalk from taxonomy {from:?} to {to:?}")]
    NoCrosswalk {
        /// Source version.
        from: String,
        /// Target version.
        to: String,
    },
    /// A crosswalk does not say where a code goes.
    #[error("crosswalk {from:?} -> {to:?} does not map code {code:?}")]
    UnmappedCode {
        /// Source version.
        from: String,
        /// Target version.
        to: String,
        /// The code without a mapping.
        code: String,
    },
    /// Rows failed validation; nothing was imported.
    #[error("{} row error(s), nothing imported; first: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Rows(Vec<RowError>),
    /// The CSV file could not be read.
    #[error("reading CSV {what}: {source}")]
    Csv {
        /// Which file or stream.
        what: String,
        /// The csv crate's error.
        source: csv::Error,
    },
    /// The spreadsheet (XLSX) could not be read, or it is over a limit.
    #[error("reading spreadsheet {what}: {problem}")]
    Spreadsheet {
        /// Which file.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// The mapping file is not valid.
    #[error("mapping {what}: {problem}")]
    Mapping {
        /// Which mapping.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// A statistics request that cannot be answered (for example two dimensions of different
    /// counting units in one cross-tab).
    #[error("table {table}: {problem}")]
    Table {
        /// The requested table.
        table: String,
        /// What is wrong.
        problem: String,
    },
    /// A boundaries file that cannot be read as a whole (not JSON, not a FeatureCollection,
    /// over a limit).
    #[error("boundaries {what}: {problem}")]
    Geo {
        /// Which file.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// Features of a boundaries file failed validation; nothing was imported.
    #[error("boundaries {what}: {} bad feature(s), nothing imported; first: {}", .errors.len(), .errors.first().map(|e| e.to_string()).unwrap_or_default())]
    Features {
        /// Which file.
        what: String,
        /// Every bad feature.
        errors: Vec<crate::geo::FeatureError>,
    },
    /// Writing an export failed.
    #[error("writing {what}: {source}")]
    Write {
        /// Which export.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;
