//! Proptest strategies shared by the format tests: valid signals, texts and timestamps as
//! lists spell them.

use proptest::prelude::*;
use vigil_exchange::record::PHOTODNA;
use vigil_exchange::{Signal, SignalKind, Timestamp};

/// `n` random bytes as hex, in random case.
pub(crate) fn hex(n: usize) -> impl Strategy<Value = String> {
    (prop::collection::vec(any::<u8>(), n), any::<bool>()).prop_map(|(b, upper)| {
        let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
        if upper { s.to_uppercase() } else { s }
    })
}

/// A PhotoDNA-like value (base64 of 144 bytes; the content is random, not a real hash).
pub(crate) fn photodna() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/]{190}[A-Za-z0-9+/=]{2}"
}

/// A signal of one of the hex kinds, PhotoDNA, or (with `others`) a named other kind.
pub(crate) fn signal(others: bool) -> impl Strategy<Value = Signal> {
    let mut kinds = vec![
        (SignalKind::Pdq, 32),
        (SignalKind::Md5, 16),
        (SignalKind::Sha1, 20),
        (SignalKind::Sha256, 32),
    ];
    if !others {
        kinds.truncate(0);
        kinds.push((SignalKind::Md5, 16));
        kinds.push((SignalKind::Sha1, 20));
    }
    let hexes = prop::sample::select(kinds).prop_flat_map(|(k, n)| {
        hex(n).prop_map(move |h| Signal::new(k.clone(), &h).expect("valid hex"))
    });
    let pdna = photodna()
        .prop_map(|v| Signal::new(SignalKind::Other(PHOTODNA.into()), &v).expect("valid"));
    if others {
        let other = ("[a-z][a-z0-9_]{0,8}", text())
            .prop_filter("not a known or aliased name", |(n, _)| {
                !matches!(
                    n.as_str(),
                    "pdq"
                        | "md5"
                        | "sha1"
                        | "sha256"
                        | "vpdq"
                        | "video_md5"
                        | "video_sha256"
                        | "pdna"
                )
            })
            .prop_map(|(n, v)| Signal::new(SignalKind::Other(n), &v).expect("valid"));
        prop_oneof![4 => hexes, 1 => pdna, 1 => other].boxed()
    } else {
        prop_oneof![4 => hexes, 1 => pdna].boxed()
    }
}

/// A text without surrounding whitespace or control characters (parsers trim some fields).
pub(crate) fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9é你&<>\"',;#./:=-]([a-zA-Z0-9é你&<>\"',;#./:= -]{0,14}[a-zA-Z0-9é你&<>\"',;#./:=-])?"
}

/// A timestamp in one of the spellings lists use.
pub(crate) fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..4_102_444_800, 0u8..4, 0u32..1000).prop_map(|(secs, style, ms)| {
        let t = Timestamp::from_unix_seconds(secs).expect("in range");
        let base = t.as_str().trim_end_matches('Z').to_string();
        let text = match style {
            0 => t.as_str().to_string(),
            1 => format!("{base}.{ms:03}Z"),
            2 => format!("{base}+02:00"),
            _ => base,
        };
        Timestamp::parse(&text).expect("valid spelling")
    })
}
