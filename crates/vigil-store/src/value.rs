//! Signal values and item identities as the tables keep them: bytes.
//!
//! A value of a hex kind (`pdq`, `md5`, `sha1`, `sha256`) is kept as the digest's bytes (half
//! the hex text, and compared as bytes by the indexes); a value of any other kind as its UTF-8
//! text. A [`Signal`]'s value is normalised (lower-case hex), so the bytes give it back exactly.
//!
//! An item's identity within its bank is `(ikind, ikey)`: `("", id)` for an item known by its
//! first external id, `(kind, value bytes)` for one known by its first signal. In memory (the
//! import's sort key) the two are one byte string, `ikind`, a zero byte, `ikey`: kind names
//! hold no zero byte, and sorting these strings sorts as the `(bank_id, ikind, ikey)` index does.

use vigil_exchange::record::{Record, Signal, SignalKind};

use crate::Error;

/// Whether values of this kind are kept as the bytes their hex digits spell.
pub(crate) fn is_hex_kind(kind: &str) -> bool {
    matches!(kind, "pdq" | "md5" | "sha1" | "sha256")
}

/// The stored form of a normalised value of `kind`.
pub(crate) fn to_bytes(kind: &str, value: &str) -> Vec<u8> {
    if is_hex_kind(kind) {
        // A normalised hex value always decodes; should one not, its text is kept rather than
        // losing it (and reading it back then fails loudly, naming it).
        hex::decode(value).unwrap_or_else(|_| value.as_bytes().to_vec())
    } else {
        value.as_bytes().to_vec()
    }
}

/// The stored form of a signal's value.
pub(crate) fn signal_bytes(s: &Signal) -> Vec<u8> {
    to_bytes(s.kind().name(), s.value())
}

/// The signal a stored `(kind, value)` pair holds, validated again.
pub(crate) fn from_bytes(kind: &str, value: &[u8]) -> Result<Signal, Error> {
    let text = if is_hex_kind(kind) {
        hex::encode(value)
    } else {
        String::from_utf8(value.to_vec())
            .map_err(|_| Error::Invalid(format!("stored {kind} signal is not UTF-8")))?
    };
    Signal::new(SignalKind::from_name(kind), &text)
        .map_err(|e| Error::Invalid(format!("stored signal {kind}:{text}: {e}")))
}

/// The identity of a record within a bank, as one sort key: its first external id, else its
/// first signal.
pub(crate) fn identity(r: &Record) -> Option<Vec<u8>> {
    if let Some(id) = r.ids.first() {
        return Some(key("", id.as_bytes()));
    }
    r.signals
        .first()
        .map(|s| key(s.kind().name(), &signal_bytes(s)))
}

/// The sort key of `(ikind, ikey)`.
pub(crate) fn key(ikind: &str, ikey: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(ikind.len() + 1 + ikey.len());
    k.extend_from_slice(ikind.as_bytes());
    k.push(0);
    k.extend_from_slice(ikey);
    k
}

/// `(ikind, ikey)` of a sort key made by [`key`].
pub(crate) fn split(key: &[u8]) -> (&str, &[u8]) {
    let at = key.iter().position(|&b| b == 0).unwrap_or(key.len());
    // Kind names are ASCII ([`SignalKind`] refuses others), or empty.
    let ikind = std::str::from_utf8(&key[..at]).unwrap_or("");
    (ikind, key.get(at + 1..).unwrap_or(&[]))
}

/// A sort key, shown (in an error).
pub(crate) fn shown(key: &[u8]) -> String {
    let (ikind, ikey) = split(key);
    if ikind.is_empty() {
        format!("id {:?}", String::from_utf8_lossy(ikey))
    } else if is_hex_kind(ikind) {
        format!("{ikind} {}", hex::encode(ikey))
    } else {
        format!("{ikind} {:?}", String::from_utf8_lossy(ikey))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_as_they_went_in() {
        for (kind, value) in [
            ("pdq", "f".repeat(64)),
            ("md5", "0123456789abcdef0123456789abcdef".to_string()),
            ("photodna", "QUJD+/==".to_string()),
        ] {
            let s = Signal::new(SignalKind::from_name(kind), &value).unwrap();
            let b = signal_bytes(&s);
            assert_eq!(
                b.len(),
                if kind == "photodna" {
                    8
                } else {
                    value.len() / 2
                }
            );
            assert_eq!(from_bytes(kind, &b).unwrap(), s);
        }
    }

    #[test]
    fn keys_split_and_sort_as_the_index() {
        let a = key("", b"x:1");
        let b = key("pdq", &[0, 1, 2]);
        let c = key("pdq-x", &[0]);
        assert_eq!(split(&a), ("", &b"x:1"[..]));
        assert_eq!(split(&b), ("pdq", &[0u8, 1, 2][..]));
        // ("", …) < ("pdq", …) < ("pdq-x", …), as text then bytes.
        assert!(a < b && b < c);
    }
}
