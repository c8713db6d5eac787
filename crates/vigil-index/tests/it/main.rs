//! Integration tests of vigil-index, one binary: the index against a brute-force oracle
//! (`oracle`), files (`persist`), the shared hash-list fixtures (`fixtures`) and concurrent
//! updates (`concurrent`).

mod concurrent;
mod fixtures;
mod oracle;
mod persist;
mod util;
