//! Vigil's crawler: start from reported URLs, follow links within a declared scope, fetch pages,
//! images and videos, **hash media in memory** and match it against the banks in the Vigil
//! store, recording each match (a *finding*) durably with where it was found.
//!
//! # Pieces
//!
//! * [`fetch`]: one URL in, its bytes (size and time capped, redirects followed by hand,
//!   decompressed within limits) and what they are (sniffed by magic bytes) out; onion hosts
//!   through a SOCKS5 proxy with remote DNS.
//! * [`links`] and [`scope`]: HTML link extraction, URL normalisation, what a crawl may fetch.
//! * [`frontier`]: the [`Frontier`] trait, in memory or in the store (resumable).
//! * [`robots`]: robots.txt, honoured unless the operator says otherwise.
//! * [`media`]: PDQ / vPDQ and digests from bytes in memory.
//! * [`crawl`]: the loop tying them together with per-host politeness.
//!
//! # What it deliberately does not do
//!
//! It writes no media anywhere (no cache, no temporary file: bytes are dropped once hashed),
//! resolves no onion name locally, and reaches no host outside the crawl's scope (redirects
//! included). Notices are rendered ([`notice`]) and sent by SMTP or written as files
//! ([`smtp`]), each recorded; findings are re-checked ([`recheck()`]) when the operator runs it
//! or on a schedule.
//!
//! # Example
//!
//! ```no_run
//! # async fn run(store: vigil_store::Store) -> Result<(), vigil_crawl::Error> {
//! use vigil_crawl::{CrawlOptions, StoreFrontier, crawl, scope::normalize};
//! let matcher = vigil_matcher::Matcher::load(&store).await?;
//! let (mut frontier, _resumed) = StoreFrontier::open(store, "report-42", "{}").await?;
//! let seeds = [normalize("https://example.invalid/")?];
//! let report = crawl(&mut frontier, &seeds, &matcher, &CrawlOptions::default()).await?;
//! println!("{} findings", report.findings);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod crawler;
mod error;
pub mod fetch;
pub mod frontier;
pub mod links;
pub mod media;
pub mod notice;
pub mod recheck;
pub mod robots;
pub mod scope;
pub mod smtp;

pub use crawler::{CrawlOptions, Report, crawl};
pub use error::Error;
pub use fetch::{FetchOptions, Fetcher, Kind};
pub use frontier::{Frontier, MemoryFrontier, StoreFrontier};
pub use recheck::{RecheckReport, recheck, recheck_until};
pub use scope::{Hosts, Scope};
