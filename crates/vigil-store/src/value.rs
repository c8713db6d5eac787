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
//!
//! **Long values** (a vPDQ signal is one PDQ hash per sampled frame: tens of kilobytes for a
//! long video) cannot be index keys: PostgreSQL refuses a B-tree entry over about 2.7 KB, and
//! the unique indexes on `(kind, value, content_id)` and `(bank_id, ikind, ikey)` would refuse
//! the row. A value longer than [`LONG`] bytes is therefore stored as its *key*, a marker byte
//! `0xff`, `sha256:` and the 32 bytes of its SHA-256, with the whole value beside it in `body`
//! (signals, tombstones); an identity made of such a value is its key. No short value can equal
//! a key: hex kinds are at most 32 bytes, text kinds are UTF-8, where `0xff` never occurs.

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

/// Values longer than this are kept as a key and a body (see the module's documentation).
/// PhotoDNA's 144 bytes (192 in base64) and every digest stay keys of their own.
pub(crate) const LONG: usize = 256;

/// The marker that starts a long value's key.
const LONG_MARK: &[u8] = b"\xffsha256:";

/// The key of stored bytes: the bytes themselves, or for a long value its SHA-256 form.
pub(crate) fn index_key(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use sha2::{Digest, Sha256};
    if bytes.len() <= LONG {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut k = Vec::with_capacity(LONG_MARK.len() + 32);
    k.extend_from_slice(LONG_MARK);
    k.extend_from_slice(&Sha256::digest(bytes));
    std::borrow::Cow::Owned(k)
}

/// Whether `key` is a long value's SHA-256 form.
pub(crate) fn is_long_key(key: &[u8]) -> bool {
    key.len() == LONG_MARK.len() + 32 && key.starts_with(LONG_MARK)
}

/// A signal's stored columns: its key (`value`) and, for a long value, its `body`.
pub(crate) fn stored(s: &Signal) -> (Vec<u8>, Option<Vec<u8>>) {
    split_long(signal_bytes(s))
}

/// Stored bytes as `(value, body)` columns.
pub(crate) fn split_long(bytes: Vec<u8>) -> (Vec<u8>, Option<Vec<u8>>) {
    if bytes.len() <= LONG {
        (bytes, None)
    } else {
        (index_key(&bytes).into_owned(), Some(bytes))
    }
}

/// A signal's key, as the `value` column holds it (for look-ups).
pub(crate) fn signal_key(s: &Signal) -> Vec<u8> {
    index_key(&signal_bytes(s)).into_owned()
}

/// The signal a stored `(kind, value)` pair holds, validated again.
pub(crate) fn from_bytes(kind: &str, value: &[u8]) -> Result<Signal, Error> {
    // PDQ, the bulk of every bank, straight from its 32 bytes (no hex round trip: a matcher
    // loads millions).
    if kind == "pdq"
        && let Ok(bytes) = <[u8; 32]>::try_from(value)
    {
        return Ok(Signal::from_pdq(vigil_core::Hash256::from_bytes(bytes)));
    }
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
    identity_of(
        &r.ids,
        r.signals
            .first()
            .map(|s| (s.kind().name().to_string(), signal_bytes(s)))
            .as_ref(),
    )
}

/// [`identity`] from a record's external ids and its first signal as `(kind, stored bytes)`.
pub(crate) fn identity_of(ids: &[String], first: Option<&(String, Vec<u8>)>) -> Option<Vec<u8>> {
    if let Some(id) = ids.first() {
        return Some(key("", id.as_bytes()));
    }
    first.map(|(kind, bytes)| key(kind, &index_key(bytes)))
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
    } else if is_long_key(ikey) {
        format!(
            "{ikind} with SHA-256 {}",
            hex::encode(&ikey[LONG_MARK.len()..])
        )
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
    fn long_values_are_keyed_by_their_digest() {
        use sha2::{Digest, Sha256};
        let short = vec![b'a'; LONG];
        assert_eq!(split_long(short.clone()), (short.clone(), None));
        let long = vec![b'a'; LONG + 1];
        let (k, body) = split_long(long.clone());
        assert_eq!(body.as_deref(), Some(&long[..]));
        assert_eq!(k.len(), 40);
        assert_eq!(k[0], 0xff);
        assert_eq!(&k[1..8], b"sha256:");
        assert_eq!(&k[8..], &Sha256::digest(&long)[..]);
        assert!(is_long_key(&k) && !is_long_key(&short));
        assert!(shown(&key("vpdq", &k)).starts_with("vpdq with SHA-256 "));
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
