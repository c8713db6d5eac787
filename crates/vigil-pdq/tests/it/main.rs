//! Integration tests of vigil-pdq: exactness against the reference values in the shared fixtures
//! and against a naive transcription of the reference (property tests).

// The oracle's index loops mirror the reference's loops one to one.
#![allow(clippy::needless_range_loop)]

mod conformance;
mod oracle;
mod synthetic;
