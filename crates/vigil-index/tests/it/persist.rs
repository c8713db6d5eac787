//! Files: save → load gives identical query results; truncated, corrupt and foreign files are
//! refused with an error naming the file.

use proptest::prelude::*;
use vigil_core::Hash256;
use vigil_index::{Error, Index, IndexOptions};

use crate::util::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn save_load_round_trip(
        set in hash_set(),
        removes in proptest::collection::vec(any::<usize>(), 0..5),
        adds in proptest::collection::vec((any_hash(), 0u64..4), 0..5),
        picks in proptest::collection::vec((any::<usize>(), 0u32..40, any::<u64>()), 1..5),
        r in radius(),
    ) {
        let index = Index::from_pairs_with(set.iter().copied(), IndexOptions::default().substrings(Some(16)));
        for i in removes {
            if !set.is_empty() {
                let (h, id) = set[i % set.len()];
                index.remove(&h, id);
            }
        }
        for (h, id) in adds {
            index.insert(h, id);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.vidx");
        index.save(&path).unwrap();
        let loaded = Index::load(&path).unwrap();
        prop_assert_eq!(loaded.pairs(), index.pairs());
        let mut bytes = Vec::new();
        index.write_to(&mut bytes).unwrap();
        prop_assert_eq!(&bytes, &std::fs::read(&path).unwrap());
        for q in queries(&set, &picks, &[Hash256::ZERO]) {
            prop_assert_eq!(loaded.query(&q, r), index.query(&q, r));
        }
    }
}

fn sample() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let set: Vec<(Hash256, u64)> = (0..50u64)
        .map(|i| (flip(Hash256::ZERO, (i % 30) as u32, i + 1), i % 7))
        .chain([(Hash256::ZERO, 99), (Hash256::ZERO, 100)])
        .collect();
    let index = Index::from_pairs(set);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.vidx");
    index.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (dir, path, bytes)
}

fn load_bytes(path: &std::path::Path, bytes: &[u8]) -> Error {
    std::fs::write(path, bytes).unwrap();
    let err = Index::load(path).unwrap_err();
    assert!(
        err.to_string().contains("sample.vidx"),
        "error does not name the file: {err}"
    );
    err
}

#[test]
fn truncated_files_are_refused() {
    let (_dir, path, bytes) = sample();
    for cut in [
        0,
        1,
        7,
        8,
        20,
        35,
        bytes.len() / 2,
        bytes.len() - 4,
        bytes.len() - 1,
    ] {
        let err = load_bytes(&path, &bytes[..cut]);
        assert!(matches!(err, Error::Length { .. }), "cut at {cut}: {err}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(load_bytes(&path, &longer), Error::Length { .. }));
}

#[test]
fn every_flipped_bit_is_caught() {
    let (_dir, path, bytes) = sample();
    for i in 0..bytes.len() {
        for bit in [0, 3, 7] {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            let err = Index::from_bytes(&b, &path, IndexOptions::default())
                .expect_err("corruption accepted");
            assert!(
                matches!(
                    err,
                    Error::Checksum { .. }
                        | Error::NotAnIndex { .. }
                        | Error::UnsupportedVersion { .. }
                        | Error::HashSize { .. }
                        | Error::Length { .. }
                ),
                "byte {i} bit {bit}: {err}"
            );
        }
    }
    // The untouched bytes load.
    assert_eq!(
        Index::from_bytes(&bytes, &path, IndexOptions::default())
            .unwrap()
            .len(),
        52
    );
}

#[test]
fn foreign_and_future_files_are_refused() {
    let (_dir, path, bytes) = sample();
    let err = load_bytes(
        &path,
        b"\x89PNG\r\n\x1a\n and then some more bytes of a png file",
    );
    assert!(matches!(err, Error::NotAnIndex { .. }), "{err}");
    let mut b = bytes.clone();
    b[8] = 2; // version 2, checksum fixed up: still refused for the version
    let n = b.len() - 4;
    let crc = crc32(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    let err = load_bytes(&path, &b);
    assert!(
        matches!(err, Error::UnsupportedVersion { found: 2, .. }),
        "{err}"
    );
    let err = Index::load(&path.with_file_name("missing.vidx")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("missing.vidx"));
}

#[test]
fn well_checksummed_but_unsorted_content_is_refused() {
    let (_dir, path, bytes) = sample();
    let mut b = bytes.clone();
    // Swap the first two hashes (32 bytes each, from offset 32), fix the checksum.
    let (first, second) = (b[32..64].to_vec(), b[64..96].to_vec());
    b[32..64].copy_from_slice(&second);
    b[64..96].copy_from_slice(&first);
    let n = b.len() - 4;
    let crc = crc32(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    let err = load_bytes(&path, &b);
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}

/// CRC-32 (IEEE), bitwise: an independent twin of the writer's crc32fast.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
