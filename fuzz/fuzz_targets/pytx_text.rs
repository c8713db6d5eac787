//! Parse arbitrary bytes as a python-threatexchange text list; records come in line order,
//! errors name the input and line, and the records written back read back identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_exchange::Location;
use vigil_exchange::pytx::{parse_pytx_text, write_pytx_text};

fuzz_target!(|data: &[u8]| {
    let list = parse_pytx_text(data, "fuzz").expect("reading from memory cannot fail");
    let mut last = 0;
    for r in &list.records {
        let Location::Line(n) = r.location else {
            panic!("{:?}", r.location)
        };
        assert!(n > last, "records out of line order");
        last = n;
        assert_eq!(r.value.signals.len(), 1);
    }
    for e in &list.errors {
        assert!(e.to_string().starts_with("fuzz:"), "{e}");
    }
    let records: Vec<_> = list.records.iter().map(|r| r.value.clone()).collect();
    let mut out = Vec::new();
    write_pytx_text(&mut out, &records).expect("parsed records are writable");
    let again = parse_pytx_text(&out[..], "again").expect("reading from memory cannot fail");
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert!(again.records.iter().map(|r| &r.value).eq(records.iter()));
});
