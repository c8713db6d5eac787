//! The plain hash list: written lists read back the same, hostile input never panics, and the
//! accepted variations (CRLF, BOM, case, extra fields, comments, duplicates) hold.

use proptest::prelude::*;
use vigil_core::Hash256;
use vigil_exchange::{
    Error, LineError, PlainListReader, Record, parse_plain_list, write_plain_list,
};

fn hash() -> impl Strategy<Value = Hash256> {
    any::<[u8; 32]>().prop_map(Hash256::from_bytes)
}

/// A line of a list as some real file might spell it, and the hash it must give (if any).
#[derive(Debug, Clone)]
enum Line {
    Hash {
        h: Hash256,
        upper: bool,
        pad: (String, String),
        extra: Option<(char, String)>,
    },
    Blank(String),
    Comment(String),
    Junk(String),
}

fn line() -> impl Strategy<Value = Line> {
    let ws = || prop::string::string_regex("[ \t]{0,2}").unwrap();
    prop_oneof![
        6 => (hash(), any::<bool>(), (ws(), ws()),
              prop::option::of((prop::sample::select(vec![',', '\t']), "[ -~]{0,20}")))
            .prop_map(|(h, upper, pad, extra)| Line::Hash { h, upper, pad, extra }),
        1 => ws().prop_map(Line::Blank),
        1 => "[ -~]{0,30}".prop_map(|s| Line::Comment(format!("#{s}"))),
        // Junk that cannot be a hash: too short, or a non-hex character.
        1 => "[0-9a-f]{1,63}".prop_map(Line::Junk),
        1 => "[0-9a-f]{10}[g-z][0-9a-f]{53}".prop_map(Line::Junk),
    ]
}

fn render(lines: &[Line], crlf: bool, bom: bool) -> (Vec<u8>, Vec<(Hash256, u64)>, Vec<u64>) {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let (mut want, mut bad) = (Vec::new(), Vec::new());
    for (i, l) in lines.iter().enumerate() {
        let n = i as u64 + 1;
        let text = match l {
            Line::Hash {
                h,
                upper,
                pad,
                extra,
            } => {
                want.push((*h, n));
                let hex = if *upper {
                    h.to_hex().to_uppercase()
                } else {
                    h.to_hex()
                };
                let extra = extra
                    .as_ref()
                    .map(|(sep, rest)| format!("{sep}{rest}"))
                    .unwrap_or_default();
                format!("{}{hex}{}{extra}", pad.0, pad.1)
            }
            Line::Blank(s) | Line::Comment(s) => s.clone(),
            Line::Junk(s) => {
                bad.push(n);
                s.clone()
            }
        };
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    (out, want, bad)
}

proptest! {
    #[test]
    fn write_then_parse_round_trips(hs in prop::collection::vec(hash(), 0..200)) {
        let mut buf = Vec::new();
        write_plain_list(&mut buf, &hs).unwrap();
        let list = parse_plain_list(&buf[..], "mem").unwrap();
        prop_assert!(list.errors.is_empty());
        let got: Vec<(Hash256, u64)> = list.entries.iter().map(|e| (e.hash, e.line)).collect();
        let want: Vec<(Hash256, u64)> = hs.iter().enumerate().map(|(i, h)| (*h, i as u64 + 1)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn real_world_spellings(lines in prop::collection::vec(line(), 0..60), crlf: bool, bom: bool,
                            dup in any::<prop::sample::Index>()) {
        // Duplicate one line at the end, so that lists with repeated hashes are always covered.
        let mut lines = lines;
        if !lines.is_empty() {
            let l = lines[dup.index(lines.len())].clone();
            lines.push(l);
        }
        let (bytes, want, bad) = render(&lines, crlf, bom);
        let list = parse_plain_list(&bytes[..], "list.txt").unwrap();
        let got: Vec<(Hash256, u64)> = list.entries.iter().map(|e| (e.hash, e.line)).collect();
        prop_assert_eq!(got, want);
        let got_bad: Vec<u64> = list.errors.iter().map(|e| e.line).collect();
        prop_assert_eq!(got_bad, bad);
        for e in &list.errors {
            prop_assert_eq!(&e.name, "list.txt");
            let prefix = format!("list.txt:{}: ", e.line);
            prop_assert!(e.to_string().starts_with(&prefix));
        }
    }

    #[test]
    fn junk_never_panics_and_entries_reparse(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let list = parse_plain_list(&bytes[..], "junk").unwrap();
        let lines = bytes.split(|&b| b == b'\n').count() as u64;
        for e in &list.entries {
            prop_assert!(e.line >= 1 && e.line <= lines);
            // The accepted hash is the first field of that line, in any case.
            let raw = bytes.split(|&b| b == b'\n').nth(e.line as usize - 1).unwrap();
            let hex = e.hash.to_hex();
            prop_assert!(raw.to_ascii_lowercase().windows(64).any(|w| w == hex.as_bytes()));
        }
        for w in list.errors.windows(2) {
            prop_assert!(w[0].line < w[1].line);
        }
    }
}

#[test]
fn fixed_example() {
    let h1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let h2 = "0000000000000000000000000000000000000000000000000000000000000001";
    let text = format!(
        "\u{feff}{}\r\n# comment\r\n\r\n  {h2}  ,12,x.png\r\n{h1}\tsecond copy\r\nzz\r\n,{h1}\r\n{h2}",
        h1.to_uppercase()
    );
    let list = parse_plain_list(text.as_bytes(), "known.csv").unwrap();
    let got: Vec<(String, u64)> = list
        .entries
        .iter()
        .map(|e| (e.hash.to_hex(), e.line))
        .collect();
    assert_eq!(
        got,
        [
            (h1.to_string(), 1),
            (h2.to_string(), 4),
            (h1.to_string(), 5),
            (h2.to_string(), 8)
        ]
    );
    assert_eq!(
        list.errors,
        [
            LineError {
                name: "known.csv".into(),
                line: 6,
                message: "hash \"zz\": expected 64 hex digits, found 2".into()
            },
            LineError {
                name: "known.csv".into(),
                line: 7,
                message: "no hash before the first separator".into()
            }
        ]
    );
}

#[test]
fn a_bom_only_counts_at_the_start() {
    let h1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let text = format!("{h1}\n\u{feff}{h1}\n");
    let list = parse_plain_list(text.as_bytes(), "l").unwrap();
    assert_eq!(list.entries.len(), 1);
    assert_eq!(list.errors[0].line, 2);
}

/// A reader that fails after some bytes.
struct Failing<'a>(&'a [u8]);

impl std::io::Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn io_errors_name_the_input_and_line() {
    let h1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let text = format!("{h1}\n{h1}\n");
    let err =
        parse_plain_list(std::io::BufReader::new(Failing(text.as_bytes())), "a.txt").unwrap_err();
    assert!(matches!(err, Error::Io { line: 3, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "reading hash list \"a.txt\" at line 3: disk on fire"
    );
    // The reader yields the entries before the error, then the error once, then ends.
    let mut it = PlainListReader::new(std::io::BufReader::new(Failing(text.as_bytes())), "a.txt");
    assert!(matches!(it.next(), Some(Ok(Record::Entry(_)))));
    assert!(matches!(it.next(), Some(Ok(Record::Entry(_)))));
    assert!(matches!(it.next(), Some(Err(_))));
    assert!(it.next().is_none());
}
