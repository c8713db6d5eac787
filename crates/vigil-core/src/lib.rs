//! Shared vocabulary of Vigil: fixed-size binary hashes, their hex form and Hamming distance;
//! and ([`net`]) IP networks and which addresses an outside fetch may reach.
//!
//! This crate deliberately knows nothing about images, files, SQL or HTTP (nor sockets: [`net`]
//! only classifies addresses). Every other crate that
//! speaks about a perceptual hash speaks about a [`Hash256`] (PDQ, and vPDQ frames) defined here.
//!
//! # Bit layout
//!
//! A [`Hash256`] is a 256-bit number `N` stored as 32 big-endian bytes, so that its hex form is the
//! string the PDQ C++ reference prints: the first hex digit holds bits 255..252 of `N`. PDQ bit `k`
//! (DCT row `i`, column `j`, `k = 16 * i + j`) is bit `k` of `N`.
//!
//! ```
//! use vigil_core::Hash256;
//! let h: Hash256 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse().unwrap();
//! assert_eq!(h.to_string(), "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22");
//! assert!(h.bit(255) && h.bit(254)); // leading hex digit f
//! assert_eq!(h.distance(&h), 0);
//! ```

use std::fmt;
use std::str::FromStr;

pub mod net;

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hex string had the wrong number of digits for the hash type.
    #[error("hash {input:?}: expected {expected} hex digits, found {found}")]
    HexLength {
        /// The offending input, truncated to 80 characters.
        input: String,
        /// Number of hex digits the hash type needs.
        expected: usize,
        /// Number of characters found.
        found: usize,
    },
    /// A hex string held a character that is not a hex digit.
    #[error("hash {input:?}: {ch:?} at position {pos} is not a hex digit")]
    HexDigit {
        /// The offending input, truncated to 80 characters.
        input: String,
        /// The character that is not a hex digit.
        ch: char,
        /// Its position (in characters).
        pos: usize,
    },
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// A 256-bit hash (PDQ), stored big-endian: `bytes()[0]` holds bits 255..248.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash256([u8; 32]);

impl Hash256 {
    /// Number of bits.
    pub const BITS: u32 = 256;
    /// The all-zero hash (what PDQ returns for images under 5 px on a side).
    pub const ZERO: Hash256 = Hash256([0; 32]);

    /// Builds a hash from its 32 big-endian bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Hash256(bytes)
    }

    /// The 32 big-endian bytes.
    pub const fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash as four 64-bit words, most significant first (`words()[0]` holds bits 255..192).
    pub fn words(&self) -> [u64; 4] {
        let mut w = [0u64; 4];
        for (i, chunk) in self.0.chunks_exact(8).enumerate() {
            w[i] = u64::from_be_bytes(chunk.try_into().expect("chunks of 8"));
        }
        w
    }

    /// Builds a hash from four 64-bit words, most significant first.
    pub fn from_words(words: [u64; 4]) -> Self {
        let mut b = [0u8; 32];
        for (i, w) in words.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
        }
        Hash256(b)
    }

    /// Bit `k` (0 = least significant) of the 256-bit number.
    pub fn bit(&self, k: usize) -> bool {
        assert!(k < 256, "bit index {k} out of range");
        (self.0[31 - k / 8] >> (k % 8)) & 1 == 1
    }

    /// Sets bit `k` (0 = least significant).
    pub fn set_bit(&mut self, k: usize) {
        assert!(k < 256, "bit index {k} out of range");
        self.0[31 - k / 8] |= 1 << (k % 8);
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.words().iter().map(|w| w.count_ones()).sum()
    }

    /// Hamming distance: the number of differing bits, 0..=256.
    pub fn distance(&self, other: &Hash256) -> u32 {
        let (a, b) = (self.words(), other.words());
        (0..4).map(|i| (a[i] ^ b[i]).count_ones()).sum()
    }

    /// Parses 64 hex digits (either case). Surrounding whitespace is not accepted here; trim first.
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        // The common case, 64 hex digits, decoded at once; anything else is looked at closely
        // below, for an error that says what is wrong.
        if let Some(h) = Self::from_hex_digits(s.as_bytes()) {
            return Ok(h);
        }
        let n = s.chars().count();
        if n != 64 {
            return Err(Error::HexLength {
                input: clip(s),
                expected: 64,
                found: n,
            });
        }
        let mut b = [0u8; 32];
        let raw = s.as_bytes(); // 64 chars and, if all are hex digits, 64 bytes
        for (pos, ch) in s.chars().enumerate() {
            if !ch.is_ascii_hexdigit() {
                return Err(Error::HexDigit {
                    input: clip(s),
                    ch,
                    pos,
                });
            }
        }
        for i in 0..32 {
            b[i] = (nibble(raw[2 * i]) << 4) | nibble(raw[2 * i + 1]);
        }
        Ok(Hash256(b))
    }

    /// The 64 lowercase hex digits, as the reference prints them.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl Hash256 {
    /// Exactly 64 hex digits (either case) decoded, else `None`.
    fn from_hex_digits(raw: &[u8]) -> Option<Self> {
        let raw: &[u8; 64] = raw.try_into().ok()?;
        let mut b = [0u8; 32];
        let mut bad = 0u8;
        for (i, out) in b.iter_mut().enumerate() {
            let (hi, lo) = (
                HEX_VALUE[raw[2 * i] as usize],
                HEX_VALUE[raw[2 * i + 1] as usize],
            );
            bad |= hi | lo;
            *out = (hi << 4) | (lo & 0x0f);
        }
        (bad & 0x80 == 0).then_some(Hash256(b))
    }
}

/// The value of each hex digit byte; `0x80` for any other byte.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0x80u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => 0x80,
        };
        c += 1;
    }
    t
};

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => unreachable!("checked to be a hex digit"),
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            s[2 * i] = HEX[(b >> 4) as usize];
            s[2 * i + 1] = HEX[(b & 15) as usize];
        }
        f.write_str(std::str::from_utf8(&s).expect("ascii"))
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({self})")
    }
}

impl FromStr for Hash256 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Hash256::from_hex(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_bad_hex() {
        assert!(matches!(
            Hash256::from_hex("abc"),
            Err(Error::HexLength { found: 3, .. })
        ));
        let bad = format!("{}g", "0".repeat(63));
        assert!(matches!(
            Hash256::from_hex(&bad),
            Err(Error::HexDigit {
                pos: 63,
                ch: 'g',
                ..
            })
        ));
        // 64 characters but one is multi-byte: must be a digit error, not a panic.
        let uni = format!("{}é", "0".repeat(63));
        assert!(matches!(
            Hash256::from_hex(&uni),
            Err(Error::HexDigit { pos: 63, .. })
        ));
    }

    #[test]
    fn bit_layout_matches_reference_hex() {
        // Bit 0 is the last hex digit's lowest bit; bit 255 the first digit's highest bit.
        let mut h = Hash256::ZERO;
        h.set_bit(0);
        assert_eq!(h.to_string(), format!("{}1", "0".repeat(63)));
        let mut h = Hash256::ZERO;
        h.set_bit(255);
        assert_eq!(h.to_string(), format!("8{}", "0".repeat(63)));
        let mut h = Hash256::ZERO;
        h.set_bit(17); // word w[1] of the reference, bit 1 -> hex digit 59 from the left is '2'
        assert_eq!(&h.to_string()[59..60], "2");
    }

    proptest! {
        #[test]
        fn hex_round_trip(bytes in proptest::array::uniform32(any::<u8>()), upper in any::<bool>()) {
            let h = Hash256::from_bytes(bytes);
            let s = if upper { h.to_string().to_uppercase() } else { h.to_string() };
            prop_assert_eq!(Hash256::from_hex(&s).unwrap(), h);
        }

        #[test]
        fn one_byte_that_is_not_a_hex_digit_is_refused(
            bytes in proptest::array::uniform32(any::<u8>()),
            pos in 0usize..64,
            bad in any::<u8>().prop_filter("not a hex digit", |b| !b.is_ascii_hexdigit()),
        ) {
            // Every byte value (a multi-byte character's bytes among them) at every place; the
            // error names the character and its place.
            let mut s = Hash256::from_bytes(bytes).to_string().into_bytes();
            s[pos] = bad;
            let s = String::from_utf8_lossy(&s).into_owned();
            let e = Hash256::from_hex(&s).unwrap_err();
            if bad.is_ascii() {
                prop_assert_eq!(e, Error::HexDigit { input: clip(&s), ch: bad as char, pos });
            } else {
                let named = matches!(e, Error::HexLength { .. } | Error::HexDigit { .. });
                prop_assert!(named);
            }
        }

        #[test]
        fn distance_is_bit_count_of_xor(a in proptest::array::uniform32(any::<u8>()), b in proptest::array::uniform32(any::<u8>())) {
            let (ha, hb) = (Hash256::from_bytes(a), Hash256::from_bytes(b));
            let naive: u32 = (0..256).filter(|&k| ha.bit(k) != hb.bit(k)).count() as u32;
            prop_assert_eq!(ha.distance(&hb), naive);
            prop_assert_eq!(Hash256::from_words(ha.words()), ha);
        }
    }
}
