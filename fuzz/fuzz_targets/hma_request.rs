//! The server's request reading (query strings and JSON bodies of the HMA and `/api/v1`
//! routes): no panic, and what is accepted is normalised.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line is the query string, the rest the body.
    let (query, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    vigil_server::hma::fuzzing::request_parsing(&query, body);
});
