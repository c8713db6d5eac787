//! Parse arbitrary bytes as a plain hash list; every accepted entry must re-parse, from its own
//! line, to the same hash, and written back as a list must read back identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_exchange::{parse_plain_line, parse_plain_list, write_plain_list};

fuzz_target!(|data: &[u8]| {
    let list = parse_plain_list(data, "fuzz").expect("reading from memory cannot fail");
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let mut last = 0;
    for e in &list.entries {
        assert!(e.line > last, "entries out of line order");
        last = e.line;
        let mut raw = lines[e.line as usize - 1];
        if e.line == 1 {
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        assert_eq!(parse_plain_line(raw), Ok(Some(e.hash)), "line {} re-parses differently", e.line);
    }
    for err in &list.errors {
        assert!(err.to_string().starts_with(&format!("fuzz:{}: ", err.line)), "{err}");
    }
    let hashes: Vec<_> = list.entries.iter().map(|e| e.hash).collect();
    let mut out = Vec::new();
    write_plain_list(&mut out, &hashes).expect("writing to memory cannot fail");
    let again = parse_plain_list(&out[..], "again").expect("reading from memory cannot fail");
    assert!(again.errors.is_empty());
    assert!(again.entries.iter().map(|e| e.hash).eq(hashes.iter().copied()));
});
