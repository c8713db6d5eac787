//! Errors of the crawler. A fetch error names the URL it is about; the crawl records it against
//! that URL and goes on. Only a store failure or unusable settings stop a crawl.

/// Why fetching or processing one URL failed, or why a crawl could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL could not be parsed or is not http(s).
    #[error("URL {url:?}: {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The URL was refused before anything was sent (an onion name without a proxy, a redirect
    /// out of scope).
    #[error("{url}: refused: {why}")]
    Refused {
        /// The URL.
        url: String,
        /// Why.
        why: String,
    },
    /// The request failed (connection, TLS, protocol); `source` tells which.
    #[error("{url}: {source}")]
    Request {
        /// The URL.
        url: String,
        /// reqwest's error (its chain names TLS and connection failures).
        source: reqwest::Error,
    },
    /// The whole fetch (redirects, headers and body) took longer than allowed.
    #[error("{url}: no complete response within {seconds:.1} s")]
    Timeout {
        /// The URL.
        url: String,
        /// The limit.
        seconds: f64,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body was larger than the per-fetch cap (reading stopped there).
    #[error("{url}: the body exceeds the {limit}-byte limit")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit, bytes.
        limit: u64,
    },
    /// The body could not be decompressed, or decompressed past the size or ratio limit.
    #[error("{url}: content encoding {encoding}: {why}")]
    Decompress {
        /// The URL.
        url: String,
        /// `gzip`, `deflate`, `br` or an unknown one.
        encoding: String,
        /// What went wrong.
        why: String,
    },
    /// Redirects went round in a circle.
    #[error("{url}: redirect loop (back to {again})")]
    RedirectLoop {
        /// The URL first asked for.
        url: String,
        /// The URL met twice.
        again: String,
    },
    /// More redirects than allowed.
    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects {
        /// The URL first asked for.
        url: String,
        /// The hop limit.
        limit: usize,
    },
    /// A fetched image or video could not be hashed.
    #[error("{url}: {why}")]
    Media {
        /// The URL.
        url: String,
        /// The decoder's error (it names the URL too).
        why: String,
    },
    /// A setting is unusable (a bad pattern, a bad proxy URL).
    #[error("crawl settings: {0}")]
    Settings(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] vigil_store::Error),
    /// Loading the banks failed.
    #[error(transparent)]
    Matcher(#[from] vigil_matcher::Error),
    /// A removal notice could not be made or sent (see [`crate::smtp::SendError`]).
    #[error(transparent)]
    Notice(#[from] crate::smtp::SendError),
}

impl Error {
    /// Whether trying again later may succeed (server errors, time-outs, connection failures).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Status { status, .. } => *status >= 500 || *status == 429,
            Error::Request { source, .. } => {
                source.is_timeout() || source.is_connect() || source.is_request()
            }
            _ => false,
        }
    }
}
