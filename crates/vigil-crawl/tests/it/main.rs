//! Integration tests of the crawler against a test site served on 127.0.0.1 by the test itself
//! (benign fixture images, some of them in a test bank; hostile routes), a SOCKS5 proxy written
//! here, and the store on SQLite and PostgreSQL. No test leaves loopback.

mod crawl;
mod notices;
mod site;
mod socks;
