//! The sorting half of an import: records in identity order, in bounded memory.
//!
//! An import writes each record's content row and signal rows. Written in input order (random
//! identities), every insert lands on a random page of the content and signal indexes, and a
//! 10-million-record import spends its time moving index pages through the page cache. Written
//! in identity order, each index grows at its end (for a plain list the identity *is* the
//! signal, so the signal index grows at its end too), which is what makes bulk import fast on
//! both databases.
//!
//! [`Sorter`] is an external merge sort: records are kept in memory up to [`CHUNK_BYTES`],
//! sorted, and spilled to an anonymous temporary file (already unlinked, so nothing is left
//! behind if the process dies); [`Sorter::finish`] merges the runs. The reading thread hands
//! records over already encoded ([`encode`]), back to back in large buffers: the sorter sorts
//! an index of them and copies their bytes into the runs, and no record is allocated, moved
//! or freed one by one until the merge decodes it (which halved the reading half of a
//! 10-million-line import on two cores). It holds hashes and list
//! metadata, never media. Equal identities come out in input order, so the import can let the
//! last record of an identity win.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

/// Batches of merged items, in identity order, or the sorter's error.
pub(crate) type Feed = tokio::sync::mpsc::Receiver<io::Result<Vec<Item>>>;

/// Starts the sorting thread, which holds up to `memory` bytes of records before it spills a
/// sorted run. Send it the records in chunks of [`encode`]d items (in input order), then an
/// empty chunk to mark the end of the input; it then sorts, merges each identity's items
/// ([`merge_group`]) and sends batches of at most [`BATCH_ITEMS`] identities (and about
/// [`BATCH_SIGNALS`] signals) to the [`Feed`]. Dropping the sender without the end marker stops
/// it (an import that failed part-way); so does dropping the feed.
pub(crate) fn sort_in_background(
    memory: usize,
) -> io::Result<(SyncSender<Vec<u8>>, Feed, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let (out, feed) = tokio::sync::mpsc::channel(4);
    let handle = std::thread::Builder::new()
        .name("vigil-import-sort".to_string())
        .spawn(move || {
            if let Err(e) = sort_and_batch(memory, &rx, &out) {
                let _ = out.blocking_send(Err(e));
            }
        })?;
    Ok((tx, feed, handle))
}

fn sort_and_batch(
    memory: usize,
    rx: &Receiver<Vec<u8>>,
    out: &tokio::sync::mpsc::Sender<io::Result<Vec<Item>>>,
) -> io::Result<()> {
    let mut sorter = Sorter::new(memory);
    loop {
        match rx.recv() {
            Ok(chunk) if chunk.is_empty() => break,
            Ok(chunk) => sorter.push_encoded(chunk)?,
            // The import stopped before the end of its input: nothing is to be written.
            Err(_) => return Ok(()),
        }
    }
    let mut group: Vec<Item> = Vec::new();
    let mut batch: Vec<Item> = Vec::with_capacity(BATCH_ITEMS);
    let mut signals = 0;
    for item in sorter.finish()? {
        let item = item?;
        if group.last().is_some_and(|g| g.ikey != item.ikey) {
            let merged = merge_group(std::mem::take(&mut group));
            signals += merged.signals.len();
            batch.push(merged);
            if batch.len() >= BATCH_ITEMS || signals >= BATCH_SIGNALS {
                if out.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                    return Ok(());
                }
                signals = 0;
            }
        }
        group.push(item);
    }
    if !group.is_empty() {
        batch.push(merge_group(group));
    }
    if !batch.is_empty() {
        let _ = out.blocking_send(Ok(batch));
    }
    Ok(())
}

/// Bytes of encoded items per message from the reading thread to the sorting thread.
pub(crate) const FEED_BYTES: usize = 256 << 10;
/// Identities per batch written (content rows per `INSERT`).
pub(crate) const BATCH_ITEMS: usize = 256;
/// Signals per batch written (signal rows per `INSERT`).
pub(crate) const BATCH_SIGNALS: usize = 1024;
/// Bytes of records held in memory before a sorted run is spilled.
pub(crate) const CHUNK_BYTES: usize = 64 << 20;
/// Runs merged at once; more are first merged into one (bounds open files and buffers).
const MAX_RUNS: usize = 64;
/// Read/write buffer per run.
const RUN_BUF: usize = 64 << 10;

/// One record, as the import writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// The identity within the bank, as a sort key ([`crate::value::key`]).
    pub ikey: Vec<u8>,
    /// Position in the input (1-based).
    pub n: u64,
    /// Everything but the signals; `None` for a record that carried nothing else (a plain
    /// list's line), which keeps such items small.
    pub meta: Option<Box<Meta>>,
    /// `(kind, value)` of each signal, the value as stored ([`crate::value`]).
    pub signals: Vec<(String, Vec<u8>)>,
}

/// A record's fields besides its identity and signals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Meta {
    pub external_id: Option<String>,
    pub uri: Option<String>,
    pub note: Option<String>,
    pub category_scheme: Option<String>,
    pub category: Option<String>,
    /// JSON array of the tags.
    pub tags: String,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Provenance record JSON (`{}` when the record carried nothing but signals).
    pub record: String,
}

/// The tags of an item without [`Meta`].
pub(crate) const NO_TAGS: &str = "[]";
/// The provenance record of an item without [`Meta`].
pub(crate) const NO_RECORD: &str = "{}";

impl Meta {
    /// `None` when the fields say nothing.
    pub(crate) fn boxed(self) -> Option<Box<Meta>> {
        let empty = self.external_id.is_none()
            && self.uri.is_none()
            && self.note.is_none()
            && self.category_scheme.is_none()
            && self.category.is_none()
            && self.tags == NO_TAGS
            && self.first_seen.is_none()
            && self.last_seen.is_none()
            && self.record == NO_RECORD;
        (!empty).then(|| Box::new(self))
    }
}

impl Item {
    fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.n.to_le_bytes())?;
        put_bytes(w, Some(&self.ikey))?;
        match &self.meta {
            None => w.write_all(&[0])?,
            Some(m) => {
                w.write_all(&[1])?;
                for s in [
                    &m.external_id,
                    &m.uri,
                    &m.note,
                    &m.category_scheme,
                    &m.category,
                ] {
                    put(w, s.as_deref())?;
                }
                put(w, Some(&m.tags))?;
                put(w, m.first_seen.as_deref())?;
                put(w, m.last_seen.as_deref())?;
                put(w, Some(&m.record))?;
            }
        }
        w.write_all(&(self.signals.len() as u32).to_le_bytes())?;
        for (k, v) in &self.signals {
            put(w, Some(k))?;
            put_bytes(w, Some(v))?;
        }
        Ok(())
    }

    /// The next item of a run, `None` at its end.
    fn read_from(r: &mut impl Read) -> io::Result<Option<Item>> {
        let mut n = [0u8; 8];
        match r.read_exact(&mut n) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let ikey = need(get_bytes(r)?)?;
        let mut flag = [0u8; 1];
        r.read_exact(&mut flag)?;
        let meta = match flag[0] {
            0 => None,
            1 => Some(Box::new(Meta {
                external_id: get(r)?,
                uri: get(r)?,
                note: get(r)?,
                category_scheme: get(r)?,
                category: get(r)?,
                tags: need(get(r)?)?,
                first_seen: get(r)?,
                last_seen: get(r)?,
                record: need(get(r)?)?,
            })),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "run file: bad item",
                ));
            }
        };
        let count = u32_from(r)?;
        let mut signals = Vec::with_capacity(count.min(1024) as usize);
        for _ in 0..count {
            signals.push((need(get(r)?)?, need(get_bytes(r)?)?));
        }
        Ok(Some(Item {
            ikey,
            n: u64::from_le_bytes(n),
            meta,
            signals,
        }))
    }
}

const NONE: u32 = u32::MAX;

fn put(w: &mut impl Write, s: Option<&str>) -> io::Result<()> {
    put_bytes(w, s.map(str::as_bytes))
}

fn put_bytes(w: &mut impl Write, s: Option<&[u8]>) -> io::Result<()> {
    match s {
        None => w.write_all(&NONE.to_le_bytes()),
        Some(s) => {
            let len = u32::try_from(s.len())
                .ok()
                .filter(|&l| l != NONE)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "field over 4 GiB"))?;
            w.write_all(&len.to_le_bytes())?;
            w.write_all(s)
        }
    }
}

fn u32_from(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn get(r: &mut impl Read) -> io::Result<Option<String>> {
    get_bytes(r)?
        .map(String::from_utf8)
        .transpose()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "run file: not UTF-8"))
}

fn get_bytes(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let len = u32_from(r)?;
    if len == NONE {
        return Ok(None);
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

fn need<T>(s: Option<T>) -> io::Result<T> {
    s.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "run file: missing field"))
}

/// Appends `item` to `out` as the sorter takes it: its length (`u32`, little-endian), then its
/// encoding (`n`, then the identity, then the rest; see [`Item::write_to`]).
pub(crate) fn encode(item: &Item, out: &mut Vec<u8>) -> io::Result<()> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    item.write_to(out)?;
    let len = u32::try_from(out.len() - at - 4)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record over 4 GiB"))?;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

fn bad_chunk() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "import: bad encoded record")
}

/// The encoded record at `off` of `buf`, length included, and its identity.
fn record_at(buf: &[u8], off: usize) -> io::Result<(&[u8], &[u8])> {
    let len = buf
        .get(off..off + 4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
        .ok_or_else(bad_chunk)?;
    let rec = buf.get(off..off + 4 + len).ok_or_else(bad_chunk)?;
    // After the length: `n` (8 bytes), then the identity's length and bytes.
    let klen = rec
        .get(12..16)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
        .ok_or_else(bad_chunk)?;
    let key = rec.get(16..16 + klen).ok_or_else(bad_chunk)?;
    Ok((rec, key))
}

/// The first 16 bytes of an identity as a number: settles most comparisons without following
/// the index to the record.
fn head(k: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    let n = k.len().min(16);
    b[..n].copy_from_slice(&k[..n]);
    u128::from_be_bytes(b)
}

/// Where an encoded record is held: `bufs[buf][off..]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    head: u128,
    buf: u32,
    off: u32,
}

/// Index bytes counted per record held.
const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

/// Sorts items by `(ikey, n)` in bounded memory.
pub(crate) struct Sorter {
    /// Chunks of encoded records, in input order.
    bufs: Vec<Vec<u8>>,
    index: Vec<Entry>,
    bytes: usize,
    limit: usize,
    runs: Vec<File>,
}

impl Sorter {
    pub(crate) fn new(limit: usize) -> Self {
        Sorter {
            bufs: Vec::new(),
            index: Vec::new(),
            bytes: 0,
            limit,
            runs: Vec::new(),
        }
    }

    /// Takes one item (tests; an import sends chunks).
    #[cfg(test)]
    pub(crate) fn push(&mut self, item: Item) -> io::Result<()> {
        let mut chunk = Vec::new();
        encode(&item, &mut chunk)?;
        self.push_encoded(chunk)
    }

    /// Takes a chunk of [`encode`]d items.
    pub(crate) fn push_encoded(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        let buf = u32::try_from(self.bufs.len()).map_err(|_| bad_chunk())?;
        let mut off = 0;
        while off < chunk.len() {
            let (rec, key) = record_at(&chunk, off)?;
            self.index.push(Entry {
                head: head(key),
                buf,
                off: u32::try_from(off).map_err(|_| bad_chunk())?,
            });
            off += rec.len();
            self.bytes += ENTRY_BYTES;
        }
        self.bytes += chunk.len();
        self.bufs.push(chunk);
        if self.bytes >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Orders the index by identity; equal identities stay in input order (the chunks and the
    /// records within each are in input order).
    fn sort(&mut self) {
        let bufs = &self.bufs;
        let key = |e: &Entry| -> &[u8] {
            record_at(&bufs[e.buf as usize], e.off as usize).map_or(&[][..], |(_, k)| k)
        };
        self.index.sort_unstable_by(|a, b| {
            a.head
                .cmp(&b.head)
                .then_with(|| key(a).cmp(key(b)))
                .then((a.buf, a.off).cmp(&(b.buf, b.off)))
        });
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.index.is_empty() {
            return Ok(());
        }
        self.sort();
        let mut w = BufWriter::with_capacity(RUN_BUF, tempfile::tempfile()?);
        for e in &self.index {
            w.write_all(record_at(&self.bufs[e.buf as usize], e.off as usize)?.0)?;
        }
        self.index.clear();
        self.bufs.clear();
        self.bytes = 0;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        self.runs.push(file);
        if self.runs.len() >= MAX_RUNS {
            let runs = std::mem::take(&mut self.runs);
            let mut w = BufWriter::with_capacity(RUN_BUF, tempfile::tempfile()?);
            let mut rec = Vec::new();
            for item in Merge::new(runs)? {
                rec.clear();
                encode(&item?, &mut rec)?;
                w.write_all(&rec)?;
            }
            self.runs
                .push(w.into_inner().map_err(io::IntoInnerError::into_error)?);
        }
        Ok(())
    }

    /// All items pushed, in `(ikey, n)` order.
    pub(crate) fn finish(mut self) -> io::Result<Sorted> {
        if self.runs.is_empty() {
            self.sort();
            return Ok(Sorted::Memory {
                bufs: self.bufs,
                index: self.index.into_iter(),
            });
        }
        self.spill()?;
        Ok(Sorted::Runs(Merge::new(self.runs)?))
    }
}

/// The next item of a run (an [`encode`]d record), `None` at its end.
fn read_record(r: &mut impl Read) -> io::Result<Option<Item>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut rec = r.take(u64::from(u32::from_le_bytes(len)));
    let item = Item::read_from(&mut rec)?.ok_or_else(bad_chunk)?;
    if rec.limit() != 0 {
        return Err(bad_chunk());
    }
    Ok(Some(item))
}

/// The sorted items.
pub(crate) enum Sorted {
    /// All in memory: the chunks and the sorted index.
    Memory {
        bufs: Vec<Vec<u8>>,
        index: std::vec::IntoIter<Entry>,
    },
    Runs(Merge),
}

impl Iterator for Sorted {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        match self {
            Sorted::Memory { bufs, index } => {
                let e = index.next()?;
                Some(
                    record_at(&bufs[e.buf as usize], e.off as usize)
                        .and_then(|(rec, _)| read_record(&mut &rec[..]))
                        .and_then(|it| it.ok_or_else(bad_chunk)),
                )
            }
            Sorted::Runs(m) => m.next(),
        }
    }
}

/// A k-way merge of sorted runs.
pub(crate) struct Merge {
    readers: Vec<BufReader<File>>,
    heads: Vec<Option<Item>>,
    heap: BinaryHeap<Reverse<(Vec<u8>, u64, usize)>>,
    failed: bool,
}

impl Merge {
    fn new(runs: Vec<File>) -> io::Result<Self> {
        let mut m = Merge {
            readers: Vec::with_capacity(runs.len()),
            heads: Vec::with_capacity(runs.len()),
            heap: BinaryHeap::with_capacity(runs.len()),
            failed: false,
        };
        for mut f in runs {
            f.seek(SeekFrom::Start(0))?;
            let mut r = BufReader::with_capacity(RUN_BUF, f);
            let head = read_record(&mut r)?;
            let i = m.readers.len();
            if let Some(h) = &head {
                m.heap.push(Reverse((h.ikey.clone(), h.n, i)));
            }
            m.readers.push(r);
            m.heads.push(head);
        }
        Ok(m)
    }
}

impl Iterator for Merge {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        if self.failed {
            return None;
        }
        let Reverse((_, _, i)) = self.heap.pop()?;
        let item = self.heads[i].take().expect("a run in the heap has a head");
        match read_record(&mut self.readers[i]) {
            Ok(Some(next)) => {
                self.heap.push(Reverse((next.ikey.clone(), next.n, i)));
                self.heads[i] = Some(next);
            }
            Ok(None) => {}
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        }
        Some(Ok(item))
    }
}

/// Items of one identity, merged: the last record's fields, every record's signals (sorted,
/// without repeats).
pub(crate) fn merge_group(mut items: Vec<Item>) -> Item {
    let mut last = items.pop().expect("a group is not empty");
    for it in items {
        last.signals.extend(it.signals);
    }
    last.signals.sort();
    last.signals.dedup();
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(ikey: &str, n: u64) -> Item {
        Item {
            ikey: ikey.as_bytes().to_vec(),
            n,
            meta: Meta {
                external_id: n.is_multiple_of(3).then(|| format!("x{n}")),
                note: n.is_multiple_of(5).then(|| "ünïcode note".to_string()),
                tags: NO_TAGS.to_string(),
                record: NO_RECORD.to_string(),
                ..Meta::default()
            }
            .boxed(),
            signals: vec![("pdq".to_string(), n.to_be_bytes().to_vec())],
        }
    }

    /// Against a brute-force oracle (a stable in-memory sort), with chunks small enough that
    /// runs spill and the intermediate merge of `MAX_RUNS` runs happens.
    #[test]
    fn external_sort_matches_a_stable_sort() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut items = Vec::new();
        for n in 1..=20_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            // Few distinct keys, so equal identities spread over many runs.
            items.push(item(&format!("sig:pdq:{:04}", rng % 3000), n));
        }
        for limit in [1, 4096, 1 << 20, usize::MAX] {
            let mut s = Sorter::new(limit);
            for it in items.clone() {
                s.push(it).unwrap();
            }
            let got: Vec<Item> = s.finish().unwrap().map(Result::unwrap).collect();
            let mut want = items.clone();
            want.sort_by(|a, b| a.ikey.cmp(&b.ikey));
            assert_eq!(got, want, "limit {limit}");
        }
    }

    #[test]
    fn a_group_keeps_the_last_fields_and_every_signal() {
        let g = merge_group(vec![item("k", 1), item("k", 2), item("k", 1)]);
        assert_eq!(g.n, 1);
        assert_eq!(g.signals.len(), 2);
        assert!(g.signals.windows(2).all(|w| w[0] < w[1]));
    }
}
