//! Integration tests of vigil-pdq: exactness against the reference values in the shared fixtures.

mod conformance;
mod synthetic;
