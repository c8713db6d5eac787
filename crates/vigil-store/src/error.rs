//! Errors of the store: each names what it is about (the bank, the record, the database URL
//! with its password hidden).

/// Why a store operation failed. Nothing was changed when an operation returns an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL or path could not be used.
    #[error("database {url}: {why}")]
    Url {
        /// The URL, password hidden.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The database could not be reached or opened.
    #[error("database {url}: {source}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The database refused or failed an operation.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// SQLite refused or failed an operation of an import's own connection.
    #[error("database: {0}")]
    Sqlite(String),
    /// The database was written by a newer Vigil.
    #[error(
        "the database has schema version {found}, newer than this Vigil knows ({known}); \
         use a newer Vigil (the database was not modified)"
    )]
    FutureSchema {
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// No bank has this name.
    #[error("no bank named {0:?}")]
    NoBank(String),
    /// A bank with this name exists already.
    #[error("a bank named {0:?} exists already")]
    BankExists(String),
    /// A value given to the store is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// No content item has this id (in this bank).
    #[error("no content item {id} in bank {bank:?}")]
    NoContent {
        /// The bank.
        bank: String,
        /// The content id asked for.
        id: i64,
    },
    /// An import stopped at a bad record (nothing of that import was kept).
    #[error("import into bank {bank:?} refused, nothing imported: {error}")]
    BadRecord {
        /// The bank.
        bank: String,
        /// The record's error, naming the input and its line or record number.
        error: String,
    },
    /// A record of an import could not be read (I/O); nothing of that import was kept.
    #[error("import into bank {bank:?} failed, nothing imported: {why}")]
    Import {
        /// The bank.
        bank: String,
        /// What went wrong.
        why: String,
    },
    /// No exchange has this name.
    #[error("no exchange named {0:?}")]
    NoExchange(String),
    /// An exchange with this name exists already.
    #[error("an exchange named {0:?} exists already")]
    ExchangeExists(String),
    /// The exchange's checkpoint is not the one the page was fetched from: another fetch of the
    /// same exchange applied a page meanwhile (or the exchange was reset). Nothing of the page
    /// was applied.
    #[error(
        "exchange {exchange:?}: its checkpoint moved while this page was fetched (another fetch \
         of it is running?); nothing of the page was applied"
    )]
    CheckpointMoved {
        /// The exchange.
        exchange: String,
    },
}
