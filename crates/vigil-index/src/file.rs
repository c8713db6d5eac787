//! The index file format (version 1). All integers little-endian.
//!
//! ```text
//! offset  size        field
//! 0       8           magic "VIGILIX\0"
//! 8       4           format version (1)
//! 12      4           bits per hash (256 for PDQ)
//! 16      8           n: number of distinct hashes
//! 24      8           e: number of extra (hash, id) pairs (duplicated hashes)
//! 32      n·bits/8    hashes, ascending, each as bits/64 u64 words, most significant word first
//! ...     n·8         ids: the smallest id of each hash, u64
//! ...     e·12        extra pairs: (u32 hash number, u64 id), ascending, each id > that hash's first id
//! end-4   4           CRC-32 (IEEE, crc32fast) of every byte before it
//! ```
//!
//! Only the content is stored; the multi-index tables are rebuilt on load (a counting sort per
//! table, linear in the number of hashes), so the file stays at ~40 bytes per hash and does not
//! depend on the table layout. The loader checks, in order: the magic, the version, the hash
//! size, the length the header implies, the checksum, then every ordering invariant, so a
//! truncated, corrupt or hostile file is refused before any of it is used.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::mem::Codes;

const MAGIC: &[u8; 8] = b"VIGILIX\0";
/// The format version this build reads and writes.
pub(crate) const VERSION: u32 = 1;
const HEADER: usize = 32;

/// The stored content of an index: sorted distinct codes, first ids, extra pairs.
pub(crate) struct Content<const W: usize> {
    pub(crate) codes: Codes<W>,
    pub(crate) ids: Vec<u64>,
    pub(crate) extra: Vec<(u32, u64)>,
}

impl<const W: usize> Content<W> {
    /// Groups sorted, deduplicated `(code, id)` pairs.
    pub(crate) fn from_sorted_pairs(pairs: &[([u64; W], u64)]) -> Self {
        let mut c = Content {
            codes: Codes::default(),
            ids: Vec::new(),
            extra: Vec::new(),
        };
        for &(code, id) in pairs {
            if c.codes.last() == Some(&code) {
                c.extra.push(((c.codes.len() - 1) as u32, id));
            } else {
                c.codes.push(code);
                c.ids.push(id);
            }
        }
        c
    }
}

struct CrcWriter<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `content` to `w` in the file format.
pub(crate) fn write_to<const W: usize>(content: &Content<W>, w: impl Write) -> std::io::Result<()> {
    let mut w = CrcWriter {
        inner: w,
        crc: crc32fast::Hasher::new(),
    };
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&(64 * W as u32).to_le_bytes())?;
    w.write_all(&(content.codes.len() as u64).to_le_bytes())?;
    w.write_all(&(content.extra.len() as u64).to_le_bytes())?;
    let mut buf = Vec::with_capacity(1 << 16);
    let flush = |buf: &mut Vec<u8>, w: &mut CrcWriter<_>, force: bool| {
        if force || buf.len() >= (1 << 16) - 64 {
            let r = w.write_all(buf);
            buf.clear();
            r
        } else {
            Ok(())
        }
    };
    for c in content.codes.iter() {
        for word in c {
            buf.extend_from_slice(&word.to_le_bytes());
        }
        flush(&mut buf, &mut w, false)?;
    }
    for id in &content.ids {
        buf.extend_from_slice(&id.to_le_bytes());
        flush(&mut buf, &mut w, false)?;
    }
    for (slot, id) in &content.extra {
        buf.extend_from_slice(&slot.to_le_bytes());
        buf.extend_from_slice(&id.to_le_bytes());
        flush(&mut buf, &mut w, false)?;
    }
    flush(&mut buf, &mut w, true)?;
    let crc = w.crc.clone().finalize();
    w.inner.write_all(&crc.to_le_bytes())?;
    w.inner.flush()
}

/// Saves atomically: writes `path` + `.tmp`, syncs it, renames it over `path`.
pub(crate) fn save<const W: usize>(content: &Content<W>, path: &Path) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let io = |op, source| Error::Io {
        path: path.to_path_buf(),
        op,
        source,
    };
    let file = std::fs::File::create(&tmp).map_err(|e| io("creating", e))?;
    let mut bw = std::io::BufWriter::with_capacity(1 << 20, file);
    let written = write_to(content, &mut bw)
        .and_then(|()| bw.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("writing", e));
    }
    std::fs::rename(&tmp, path).map_err(|e| io("renaming", e))
}

/// Reads and checks a file.
pub(crate) fn load<const W: usize>(path: &Path) -> Result<Content<W>, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        op: "reading",
        source,
    })?;
    parse(&bytes, path)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Checks and decodes the bytes of a file; `path` only names it in errors.
pub(crate) fn parse<const W: usize>(b: &[u8], path: &Path) -> Result<Content<W>, Error> {
    let path_buf = || path.to_path_buf();
    if b.len() < MAGIC.len() || &b[..MAGIC.len()] != MAGIC {
        if b.len() < MAGIC.len() && MAGIC.starts_with(b) {
            return Err(Error::Length {
                path: path_buf(),
                expected: (HEADER + 4) as u64,
                found: b.len() as u64,
            });
        }
        return Err(Error::NotAnIndex { path: path_buf() });
    }
    if b.len() < HEADER + 4 {
        return Err(Error::Length {
            path: path_buf(),
            expected: (HEADER + 4) as u64,
            found: b.len() as u64,
        });
    }
    let version = u32_at(b, 8);
    if version != VERSION {
        return Err(Error::UnsupportedVersion {
            path: path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    let bits = u32_at(b, 12);
    if bits != 64 * W as u32 {
        return Err(Error::HashSize {
            path: path_buf(),
            found: bits,
            expected: 64 * W as u32,
        });
    }
    let n = u64_at(b, 16);
    let e = u64_at(b, 24);
    let expected = (|| {
        let codes = n.checked_mul(8 * W as u64 + 8)?;
        let extra = e.checked_mul(12)?;
        codes.checked_add(extra)?.checked_add((HEADER + 4) as u64)
    })();
    if expected != Some(b.len() as u64) {
        return Err(Error::Length {
            path: path_buf(),
            expected: expected.unwrap_or(u64::MAX),
            found: b.len() as u64,
        });
    }
    let body = b.len() - 4;
    let stored = u32_at(b, body);
    let computed = crc32fast::hash(&b[..body]);
    if stored != computed {
        return Err(Error::Checksum {
            path: path_buf(),
            stored,
            computed,
        });
    }
    let corrupt = |reason: String| Error::Corrupt {
        path: path_buf(),
        reason,
    };
    let (n, e) = (n as usize, e as usize);
    if n >= u32::MAX as usize {
        return Err(corrupt(format!("{n} hashes exceed the supported 2^32 - 1")));
    }
    let mut at = HEADER;
    let mut codes = Codes::with_capacity(n);
    for i in 0..n {
        let mut c = [0u64; W];
        for word in c.iter_mut() {
            *word = u64_at(b, at);
            at += 8;
        }
        if i > 0 && codes[i - 1] >= c {
            return Err(corrupt(format!("hash {i} is not above hash {}", i - 1)));
        }
        codes.push(c);
    }
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(u64_at(b, at));
        at += 8;
    }
    let mut extra: Vec<(u32, u64)> = Vec::with_capacity(e);
    for k in 0..e {
        let pair = (u32_at(b, at), u64_at(b, at + 4));
        at += 12;
        let (slot, id) = pair;
        if slot as usize >= n {
            return Err(corrupt(format!(
                "extra pair {k} refers to hash {slot} of {n}"
            )));
        }
        if id <= ids[slot as usize] || extra.last().is_some_and(|&p| p >= pair) {
            return Err(corrupt(format!(
                "extra pair {k} (hash {slot}, id {id}) is out of order or duplicated"
            )));
        }
        extra.push(pair);
    }
    debug_assert_eq!(at, body);
    Ok(Content { codes, ids, extra })
}
