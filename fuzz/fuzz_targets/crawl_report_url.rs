//! A reported URL for the crawl queue (`vigil_store::report_url`): arbitrary text from a
//! hotline's intake, through `POST /api/v1/crawls/reports`. Never panics; what is accepted is
//! what was promised (http or https, a host, no user name or password, no fragment, within the
//! length limit), and normalising is idempotent (the queue merges reports by the result).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_store::{MAX_REPORT_URL, report_url};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((url, host)) = report_url(text) else {
        return;
    };
    assert!(url.len() <= MAX_REPORT_URL);
    assert!(url.starts_with("http://") || url.starts_with("https://"), "{url}");
    assert!(!host.is_empty());
    assert!(!url.contains('#'), "{url}");
    let again = report_url(&url).expect("a normalised URL is accepted again");
    assert_eq!(again, (url.clone(), host), "normalising twice changed {url}");
});
