//! Integration tests of the fetchers. NCMEC is fetched from a fake server bound to 127.0.0.1
//! (`fake.rs`), never the real service or any other address. Store-backed tests run on SQLite
//! and, when a PostgreSQL server can be had (`vigil_testkit::postgres`), on PostgreSQL.

mod fake;
mod file;
mod ncmec;
mod util;
