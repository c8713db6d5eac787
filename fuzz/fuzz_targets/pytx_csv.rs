//! Parse arbitrary bytes as python-threatexchange's dataset CSV; errors name the input, and
//! the records written back read back identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_exchange::pytx::{parse_pytx_csv, write_pytx_csv};

fuzz_target!(|data: &[u8]| {
    let Ok(list) = parse_pytx_csv(data, "fuzz") else {
        return;
    };
    for e in &list.errors {
        assert!(e.to_string().starts_with("fuzz:"), "{e}");
    }
    let records: Vec<_> = list.records.iter().map(|r| r.value.clone()).collect();
    let mut out = Vec::new();
    write_pytx_csv(&mut out, &records).expect("parsed records are writable");
    let again = parse_pytx_csv(&out[..], "again").expect("written CSV has a header");
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert!(again.records.iter().map(|r| &r.value).eq(records.iter()));
});
