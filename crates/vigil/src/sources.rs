//! What `vigil match` matches against: hash lists read into an index, or saved indexes, each with
//! the map from index ids back to `(list, line)`.
//!
//! An index id is the entry's number: entry `k` of a [`Source`] is the `k`-th hash read, in list
//! order then line order, and `entries[k]` says which list and line it came from. A hash that
//! appears on several lines (of one list or several) is stored once in the index with one id
//! per line, so every line is reported.
//!
//! `vigil index build` saves the index (vigil-index's own file format, unchanged) and beside it
//! `INDEX.lists`, this module's file (version 1, all integers little-endian):
//!
//! ```text
//! offset  size   field
//! 0       8      magic "VIGILLM\0"
//! 8       4      format version (1)
//! 12      4      CRC-32 of the whole index file this map belongs to
//! 16      8      length in bytes of that index file
//! 24      4      L: number of lists
//! 28      8      E: number of entries (= pairs in the index; ids are 0..E)
//! 36      ...    L × (u32 byte length, UTF-8 list name as given to `index build`)
//! ...     E·12   E × (u32 list number, u64 line)
//! end-4   4      CRC-32 (IEEE) of every byte before it
//! ```
//!
//! The index's CRC-32 and length bind the pair: an index rebuilt without its map (or the other
//! way round, or a crash between the two renames) is refused, as are a truncated or corrupt map.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use vigil_core::Hash256;
use vigil_exchange::{PlainListReader, Record};
use vigil_index::{Index, IndexOptions};

use crate::inputs::show;

const MAGIC: &[u8; 8] = b"VIGILLM\0";
const VERSION: u32 = 1;
const HEADER: usize = 36;
/// At most this many malformed-line warnings per list; the rest are counted.
const WARNINGS_PER_LIST: usize = 10;

/// One searchable set: an index and where each of its ids came from.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) index: Index,
    /// List names, as given on the command line (or stored in the map).
    pub(crate) lists: Vec<String>,
    /// `entries[id] = (list number, 1-based line)`; for a bank, `(0, content id)`.
    pub(crate) entries: Vec<(u32, u64)>,
    /// A bank's own PDQ threshold (`None`: the matcher's).
    pub(crate) threshold: Option<u32>,
    /// What the source is.
    pub(crate) kind: SourceKind,
}

/// Lists (and saved indexes of lists), or a bank of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceKind {
    Lists,
    /// A block bank: its matches are reported.
    Bank,
    /// An allow-list bank: its matches suppress the query's others.
    AllowBank,
}

/// The banks of the store at `db` to match against: the named ones (all enabled ones with
/// `all`), plus every enabled allow-list bank; each with its PDQ signals that are not
/// quarantined. A named bank that does not exist is an error; a disabled one is skipped with a
/// warning.
pub(crate) fn read_banks(db: &str, names: &[String], all: bool) -> anyhow::Result<Vec<Source>> {
    use std::collections::HashMap;
    use vigil_exchange::record::SignalKind;
    use vigil_store::BankKind;
    crate::commands::store::block_on(async {
        let store = crate::commands::store::open(db).await?;
        let banks = store.banks().await?;
        for n in names {
            match banks.iter().find(|b| &b.name == n) {
                None => bail!("no bank named {n:?} in {}", store.url()),
                Some(b) if !b.enabled => warn(&format!("bank {n:?} is disabled: not matched")),
                Some(_) => {}
            }
        }
        let chosen: Vec<&vigil_store::Bank> = banks
            .iter()
            .filter(|b| b.enabled && (all || b.kind == BankKind::Allow || names.contains(&b.name)))
            .collect();
        let slot: HashMap<i64, usize> = chosen.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
        let mut pairs: Vec<Vec<(Hash256, u64)>> = vec![Vec::new(); chosen.len()];
        let mut entries: Vec<Vec<(u32, u64)>> = vec![Vec::new(); chosen.len()];
        store
            .active_signals(Some(&SignalKind::Pdq), |s| {
                if let (Some(&i), Some(h)) = (slot.get(&s.bank_id), s.signal.pdq()) {
                    pairs[i].push((h, entries[i].len() as u64));
                    entries[i].push((0, s.content_id as u64));
                }
            })
            .await?;
        store.close().await;
        let mut out = Vec::new();
        for ((b, p), e) in chosen.into_iter().zip(pairs).zip(entries) {
            tracing::info!(bank = %b.name, signals = e.len(), "bank loaded");
            out.push(Source {
                index: Index::from_pairs(p),
                lists: vec![b.name.clone()],
                entries: e,
                threshold: b.pdq_threshold,
                kind: if b.kind == BankKind::Allow {
                    SourceKind::AllowBank
                } else {
                    SourceKind::Bank
                },
            });
        }
        Ok(out)
    })?
}

/// Lists read, with the malformed lines skipped.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) source: Source,
    /// Malformed lines skipped (each warned about on stderr, up to a cap per list).
    pub(crate) skipped: u64,
}

/// Reads plain hash lists into one [`Source`]. Malformed lines are warned about on stderr and
/// skipped; a list that cannot be opened or read is an error naming it.
pub(crate) fn read_lists(paths: &[PathBuf]) -> anyhow::Result<Loaded> {
    let mut pairs: Vec<(Hash256, u64)> = Vec::new();
    let mut entries: Vec<(u32, u64)> = Vec::new();
    let mut lists = Vec::with_capacity(paths.len());
    let mut skipped = 0u64;
    for (n, path) in paths.iter().enumerate() {
        let name = path.to_string_lossy().into_owned();
        let file = File::open(path).with_context(|| format!("opening hash list {}", show(path)))?;
        let list_no = u32::try_from(n).context("too many lists")?;
        let mut bad = 0usize;
        for rec in PlainListReader::new(BufReader::with_capacity(1 << 16, file), &name) {
            match rec? {
                Record::Entry(e) => {
                    pairs.push((e.hash, entries.len() as u64));
                    entries.push((list_no, e.line));
                }
                Record::Malformed(e) => {
                    bad += 1;
                    if bad <= WARNINGS_PER_LIST {
                        warn(&format!("skipping malformed line {e}"));
                    }
                }
            }
        }
        if bad > WARNINGS_PER_LIST {
            warn(&format!(
                "{name}: {} more malformed lines skipped (not shown)",
                bad - WARNINGS_PER_LIST
            ));
        }
        skipped += bad as u64;
        lists.push(name);
    }
    tracing::info!(
        lists = lists.len(),
        entries = entries.len(),
        skipped,
        "lists read"
    );
    Ok(Loaded {
        source: Source {
            index: Index::from_pairs(pairs),
            lists,
            entries,
            threshold: None,
            kind: SourceKind::Lists,
        },
        skipped,
    })
}

fn warn(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "vigil: warning: {msg}");
}

/// The map file beside `index`: `INDEX.lists`.
pub(crate) fn map_path(index: &Path) -> PathBuf {
    let mut p = index.as_os_str().to_owned();
    p.push(".lists");
    PathBuf::from(p)
}

/// A writer that keeps the CRC-32 and the length of what went through it.
struct Tally<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Tally<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".tmp");
    PathBuf::from(p)
}

/// Writes `f`'s output to `path.tmp` and syncs it; returns the CRC-32 and length written.
fn write_tmp(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<(u32, u64)> {
    let tmp = tmp_path(path);
    let file = File::create(&tmp)?;
    let mut w = Tally {
        inner: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
        len: 0,
    };
    f(&mut w)?;
    let file = w.inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok((w.crc.finalize(), w.len))
}

/// Saves `source` as `out` (the index) and `out.lists` (the map), each written to a temporary
/// file, synced and renamed into place.
pub(crate) fn save(source: &Source, out: &Path) -> anyhow::Result<()> {
    let map = map_path(out);
    let (index_crc, index_len) = write_tmp(out, |w| source.index.write_to(w))
        .with_context(|| format!("writing index {}", show(&tmp_path(out))))?;
    write_tmp(&map, |w| {
        let mut t = Tally {
            inner: w,
            crc: crc32fast::Hasher::new(),
            len: 0,
        };
        t.write_all(MAGIC)?;
        t.write_all(&VERSION.to_le_bytes())?;
        t.write_all(&index_crc.to_le_bytes())?;
        t.write_all(&index_len.to_le_bytes())?;
        t.write_all(&(source.lists.len() as u32).to_le_bytes())?;
        t.write_all(&(source.entries.len() as u64).to_le_bytes())?;
        for name in &source.lists {
            let len = u32::try_from(name.len()).map_err(io::Error::other)?;
            t.write_all(&len.to_le_bytes())?;
            t.write_all(name.as_bytes())?;
        }
        for &(list, line) in &source.entries {
            t.write_all(&list.to_le_bytes())?;
            t.write_all(&line.to_le_bytes())?;
        }
        let crc = t.crc.clone().finalize();
        t.inner.write_all(&crc.to_le_bytes())
    })
    .with_context(|| format!("writing list map {}", show(&tmp_path(&map))))?;
    for p in [out, map.as_path()] {
        std::fs::rename(tmp_path(p), p)
            .with_context(|| format!("renaming {} into place", show(&tmp_path(p))))?;
    }
    Ok(())
}

/// Loads an index saved by [`save`] and its map, refusing a corrupt, truncated or mismatched pair.
pub(crate) fn load(path: &Path) -> anyhow::Result<Source> {
    let bytes = std::fs::read(path).with_context(|| format!("reading index {}", show(path)))?;
    let index_crc = crc32fast::hash(&bytes);
    let index = Index::from_bytes(&bytes, path, IndexOptions::default())?;
    let index_len = bytes.len() as u64;
    drop(bytes);
    let map = map_path(path);
    let m = std::fs::read(&map).with_context(|| {
        format!(
            "reading the list map {} of index {} (written by `vigil index build`)",
            show(&map),
            show(path)
        )
    })?;
    let (lists, entries) =
        parse_map(&m, index_crc, index_len).with_context(|| format!("list map {}", show(&map)))?;
    if entries.len() != index.len() {
        bail!(
            "list map {}: has {} entries but index {} has {} pairs: they do not belong together",
            show(&map),
            entries.len(),
            show(path),
            index.len()
        );
    }
    Ok(Source {
        index,
        lists,
        entries,
        threshold: None,
        kind: SourceKind::Lists,
    })
}

type Map = (Vec<String>, Vec<(u32, u64)>);

fn parse_map(m: &[u8], index_crc: u32, index_len: u64) -> anyhow::Result<Map> {
    if m.len() < HEADER + 4 || &m[..8] != MAGIC {
        bail!("not a vigil list map (bad magic bytes or too short)");
    }
    let u32_at = |o: usize| u32::from_le_bytes(m[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(m[o..o + 8].try_into().expect("8 bytes"));
    let version = u32_at(8);
    if version != VERSION {
        bail!("format version {version} is not supported (this build reads {VERSION})");
    }
    let body = m.len() - 4;
    let (stored, computed) = (u32_at(body), crc32fast::hash(&m[..body]));
    if stored != computed {
        bail!("checksum mismatch (stored {stored:08x}, computed {computed:08x}): file is corrupt");
    }
    if u32_at(12) != index_crc || u64_at(16) != index_len {
        bail!(
            "belongs to another index file (index CRC-32 {:08x}, {} bytes; found {index_crc:08x}, \
             {index_len} bytes): rebuild both with `vigil index build`",
            u32_at(12),
            u64_at(16)
        );
    }
    let (n_lists, n_entries) = (u32_at(24) as usize, u64_at(28));
    let mut o = HEADER;
    let mut lists = Vec::with_capacity(n_lists.min(1 << 16));
    for i in 0..n_lists {
        if o + 4 > body {
            bail!("truncated in the name of list {i}");
        }
        let len = u32_at(o) as usize;
        o += 4;
        if len > body - o {
            bail!("truncated in the name of list {i}");
        }
        let name = std::str::from_utf8(&m[o..o + len])
            .map_err(|_| anyhow::anyhow!("the name of list {i} is not UTF-8"))?;
        lists.push(name.to_string());
        o += len;
    }
    if (body - o) as u64 != n_entries.saturating_mul(12) {
        bail!(
            "header promises {n_entries} entries but {} bytes remain",
            body - o
        );
    }
    let mut entries = Vec::with_capacity(n_entries as usize);
    for k in 0..n_entries as usize {
        let at = o + 12 * k;
        let (list, line) = (u32_at(at), u64_at(at + 4));
        if list as usize >= n_lists {
            bail!("entry {k} names list {list}, but there are {n_lists}");
        }
        entries.push((list, line));
    }
    Ok((lists, entries))
}
