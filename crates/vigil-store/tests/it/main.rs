//! Integration tests of the store: every test runs on SQLite and, when a PostgreSQL server can be
//! had (see `vigil_testkit::postgres`), on PostgreSQL with the same code.

mod banks;
mod case_access;
mod cases;
mod cases_map;
mod changes;
mod crawl;
mod durability;
mod exchanges;
mod import;
mod long_values;
mod notices;
mod reports;
mod secrets;
mod users;
mod util;
