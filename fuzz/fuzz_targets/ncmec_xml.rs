//! Parse arbitrary bytes as an NCMEC hash sharing v2 page; errors name the input, and the page
//! written back reads back identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_exchange::ncmec::{parse_ncmec_page, write_ncmec_page};

fuzz_target!(|data: &[u8]| {
    let Ok(page) = parse_ncmec_page(data, "fuzz") else {
        return;
    };
    for e in &page.errors {
        assert!(e.to_string().starts_with("fuzz:"), "{e}");
    }
    let mut out = Vec::new();
    write_ncmec_page(&mut out, &page).expect("parsed pages are writable");
    let again = parse_ncmec_page(&out, "again").expect("written pages parse");
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(again.images, page.images);
    assert_eq!(again.videos, page.videos);
    assert_eq!(again.next, page.next);
});
