//! CLI tests: the real `vigil` binary, run in a fresh temporary directory per test. One test
//! binary (`autotests = false`), a module per area. Only benign images: ones the tests draw, and
//! the shared fixtures. No test touches the network.

mod util;

mod cases;
mod cases_map;
mod cases_store;
mod crawl;
mod demo;
mod exchange;
mod fixtures;
mod hash;
mod hostile;
mod match_;
mod serve;
mod user;
mod video;
