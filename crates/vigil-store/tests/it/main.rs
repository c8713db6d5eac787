//! Integration tests of the store: every test runs on SQLite and, when a PostgreSQL server can be
//! had (see `vigil_testkit::postgres`), on PostgreSQL with the same code.

mod banks;
mod cases;
mod changes;
mod durability;
mod exchanges;
mod import;
mod users;
mod util;
