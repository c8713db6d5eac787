//! Notice templates (`vigil_crawl::notice::split_headers`, the operator's `--template` file as
//! rendered): never panics; the body is a suffix of the text; what is taken off is a block of
//! `Name: value` lines ended by a blank line; a subject found is one line of that block.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (subject, body) = vigil_crawl::notice::split_headers(&text);
    assert!(text.ends_with(body));
    let head = &text[..text.len() - body.len()];
    if !head.is_empty() {
        let lines: Vec<&str> = head.split('\n').map(|l| l.trim_end_matches('\r')).collect();
        // "A: b\n\n" splits into ["A: b", "", ""]: the header lines, the blank one, the rest.
        assert_eq!(lines[lines.len() - 2..], ["", ""]);
        for l in &lines[..lines.len() - 2] {
            assert!(l.contains(':'), "{l:?}");
        }
    }
    if let Some(s) = subject {
        assert!(!s.contains('\n'));
        assert!(head.contains(s.as_str()));
    } else {
        let lower = head.to_ascii_lowercase();
        assert!(!lower.starts_with("subject:") && !lower.contains("\nsubject:"));
    }
});
