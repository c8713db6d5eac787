//! Integration tests of vigil-pdq: exactness against the reference values in the shared fixtures
//! and against a naive transcription of the reference (property tests).

mod conformance;
mod oracle;
mod synthetic;
