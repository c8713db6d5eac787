//! Integration tests of vigil-exchange's public API (one test binary, a module per format).

mod plain;
