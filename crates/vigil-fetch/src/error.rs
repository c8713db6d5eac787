//! Errors of the fetchers. Each names the exchange and what failed on it: the URL (never with
//! credentials: they are sent in a header, and URLs are shown without any user part), the file,
//! the page. No message ever holds a secret value.

use std::path::PathBuf;

/// Why a fetch, or part of one, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed or refused (no such exchange, its checkpoint moved, the database).
    #[error("{0}")]
    Store(#[from] vigil_store::Error),
    /// The exchange's configuration is not usable (checked when it is added, and again before
    /// each fetch).
    #[error("exchange {exchange:?}: {why}")]
    Config {
        /// The exchange.
        exchange: String,
        /// What is wrong.
        why: String,
    },
    /// A credential's environment variable is not set (its name is given, its value never).
    #[error(
        "exchange {exchange:?}: the environment variable {var} (the {what}) is not set, empty or \
         not UTF-8"
    )]
    Credential {
        /// The exchange.
        exchange: String,
        /// The variable's name.
        var: String,
        /// `user name` or `password`.
        what: &'static str,
    },
    /// The request failed before an HTTP status came back: connection, TLS, time-out.
    #[error("exchange {exchange:?}: GET {url}: {why}")]
    Http {
        /// The exchange.
        exchange: String,
        /// The URL, without credentials.
        url: String,
        /// What failed.
        why: String,
    },
    /// The server refused the credentials (HTTP 401 or 403).
    #[error(
        "exchange {exchange:?}: GET {url}: the server refused the credentials (HTTP {status}); \
         check the user name and password in {vars}"
    )]
    Unauthorized {
        /// The exchange.
        exchange: String,
        /// The URL, without credentials.
        url: String,
        /// 401 or 403.
        status: u16,
        /// The environment variables the credentials were read from (names only).
        vars: String,
    },
    /// The server answered with another error status (after retries, for 429 and 5xx).
    #[error("exchange {exchange:?}: GET {url}: HTTP {status}{hint}")]
    Status {
        /// The exchange.
        exchange: String,
        /// The URL, without credentials.
        url: String,
        /// The HTTP status.
        status: u16,
        /// A hint on what it means (empty or starting with `: `).
        hint: String,
    },
    /// A response was larger than [`crate::FetchOptions::max_page_bytes`].
    #[error(
        "exchange {exchange:?}: GET {url}: the response is larger than {limit} bytes; not read"
    )]
    TooLarge {
        /// The exchange.
        exchange: String,
        /// The URL, without credentials.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A page could not be used at all (malformed XML, not a page, a `next` link leaving the
    /// exchange's URL). The checkpoint is kept: the next fetch asks for this page again.
    #[error(
        "exchange {exchange:?}: malformed page {url}: {why} (checkpoint kept: the next fetch \
         retries this page)"
    )]
    MalformedPage {
        /// The exchange.
        exchange: String,
        /// The page's URL, without credentials.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// A file could not be read or listed.
    #[error("exchange {exchange:?}: {}: {source}", path.display())]
    Io {
        /// The exchange.
        exchange: String,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file could not be applied (it is not of the format, it broke off, it changed while it
    /// was read). Nothing of it was applied, and it is not marked as applied: the next fetch
    /// tries it again.
    #[error("exchange {exchange:?}: {}: {why}", path.display())]
    File {
        /// The exchange.
        exchange: String,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// Several parts of a fetch failed (files of a directory); the others were applied.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Partial(Vec<Error>),
}
