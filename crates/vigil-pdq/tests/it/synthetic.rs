//! Placeholder for property tests (filled below).
