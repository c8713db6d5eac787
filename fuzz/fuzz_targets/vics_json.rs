//! Parse arbitrary bytes as a VICS file (category scheme chosen by the first byte); errors name
//! the input and a JSON path, the file written back reads back to the same media and cases, a
//! case's members kept as one JSON object read back the same, and merging duplicates never
//! invents or loses media.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use vigil_exchange::VicsScheme;
use vigil_exchange::vics::{VicsCase, VicsFile, VicsOptions, parse_vics, write_vics};

fuzz_target!(|data: &[u8]| {
    let scheme = match data.first().map(|b| b % 3) {
        Some(1) => Some(VicsScheme::UsV2),
        Some(2) => Some(VicsScheme::Legacy),
        _ => None,
    };
    let opts = VicsOptions { scheme };
    let Ok(file) = parse_vics(data, "fuzz", &opts) else {
        return;
    };
    for e in &file.errors {
        assert!(e.to_string().starts_with("fuzz:value["), "{e}");
    }
    let mut out = Vec::new();
    write_vics(&mut out, &file).expect("parsed files are writable");
    let again = parse_vics(&out[..], "again", &opts).expect("written files parse");
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    let values = |f: &VicsFile| f.media.iter().map(|m| m.value.clone()).collect::<Vec<_>>();
    assert_eq!(values(&again), values(&file));
    let fields = |f: &VicsFile| f.cases.iter().map(|c| c.fields.clone()).collect::<Vec<_>>();
    assert_eq!(fields(&again), fields(&file));
    // A case's members as one JSON object (how a bank keeps them) read back to the same.
    for c in &file.cases {
        let back = VicsCase::from_json(&c.to_json()).expect("a case's JSON reads back");
        let trimmed = c
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.trim().to_string()))
            .collect();
        assert_eq!(back.fields, trimmed);
    }
    let mut merged = file.clone();
    let conflicts = merged.merge_duplicates("fuzz");
    assert!(merged.media.len() <= file.media.len());
    assert!(conflicts.len() <= merged.media.len());
    let signals = |f: &VicsFile| {
        f.media
            .iter()
            .flat_map(|m| m.value.signals.iter().cloned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(signals(&merged), signals(&file));
});
