//! The import writer for SQLite files: a bank import into an SQLite file writes its rows
//! through SQLite's own C API (`rusqlite`), on a connection and a thread of its own. The
//! matcher's snapshot of an SQLite file is read the same way ([`snapshot`]).
//!
//! Everything else in this crate goes through sqlx, whose SQLite driver runs each statement on
//! a worker thread and copies every bound value twice (into the `Any` arguments, then into
//! SQLite's). For a bulk import that was most of the cost: on two cores the reading thread, the
//! sorter's merge, the statement building and sqlx's worker were four busy threads, and a
//! 10-million-hash list took 77 s to write where SQLite itself needs ~25 s. Here one thread
//! binds and runs prepared statements, with no copies between threads.
//!
//! The whole import is still one transaction, on this connection: it takes the change number
//! (and the write lock) first, as [`crate::Write`] does, writes the rows and the audit entry,
//! and commits; an error or a dropped caller rolls it all back. The rows mean what
//! [`crate::content`]'s batch writer makes of them (PostgreSQL, in-memory stores and exchange
//! fetches use that one; the SQL is shared): an item is matched by its identity, its content
//! row upserted, its new signals added and its provenance for the source replaced.

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use rusqlite::{CachedStatement, Connection, OpenFlags, OptionalExtension, Transaction};

use crate::bulk::{self, Feed, Item, Meta};
use crate::content::{
    CONTENT_INSERT, CONTENT_UPSERT, MARK_UPDATED, PROVENANCE_INSERT, PROVENANCE_UPSERT,
    SIGNAL_INSERT, SIGNAL_LONG_INSERT, SNAPSHOT, SignalChange, import_detail,
};
use crate::{AUDIT_INSERT, Backend, Error, ImportReport, NEXT_SEQ, SQLITE_PRAGMAS, now_ms};
use crate::{value, values};

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sqlite(e.to_string())
    }
}

/// An import to write.
pub(crate) struct Job {
    /// The SQLite file.
    pub path: PathBuf,
    pub actor: String,
    pub bank: String,
    /// The provenance source of every item.
    pub source: String,
}

/// What the reading side tells the writer once the input is read: the good records and the
/// skipped ones (for the audit entry). Not sent when reading failed: the writer rolls back.
pub(crate) struct Read {
    pub records: u64,
    pub skipped: Vec<String>,
}

/// Opens a connection to the store's file with the settings of the pool's connections.
fn open(path: &std::path::Path) -> Result<Connection, Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    for pragma in SQLITE_PRAGMAS {
        // Some pragmas answer with a row (the journal mode); read it and go on.
        let mut st = conn.prepare(pragma)?;
        let mut rows = st.query([])?;
        while rows.next()?.is_some() {}
    }
    // A multi-row insert that changes pages written before it keeps their earlier state in a
    // statement journal (to undo the statement alone, should a row fail). With the pool's
    // `temp_store = FILE` that journal spills to a temporary file past 64 KiB (6 % of the
    // writing time of a VICS import, whose MD5s come in random order). One statement's pages
    // are bounded by its batch, so here the journal stays in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // No statement journal at all, where a statement cannot fail part-way: the signal inserts
    // are `INSERT OR IGNORE` (a signal its item has, the only conflict, is skipped) and this
    // connection does not enforce foreign keys, which would otherwise make every insert one
    // that may abort. A bank of MD5s in random order otherwise copied each 16 KiB index page it
    // touched into the journal, once per statement. The keys hold by construction: the bank's
    // id is looked up in this transaction, and every content id is one the writer inserted
    // (checked) or found.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    Ok(conn)
}

/// Writes an import: takes the change number and the write lock, tells `ready`, writes the
/// sorted batches that `feed` brings, then waits for the reading side's [`Read`] and commits
/// with the audit entry. Returns the report (its `records` and `skipped` from `read`).
///
/// Runs on a blocking thread. Returns an error, having written nothing, if the bank does not
/// exist, the store is busy past its timeout, a statement fails, or the reading side hung up
/// without its `Read` (its own error is the one to report).
pub(crate) fn write(
    job: Job,
    ready: tokio::sync::oneshot::Sender<()>,
    mut feed: Feed,
    read: Receiver<Read>,
) -> Result<ImportReport, Error> {
    let started = std::time::Instant::now();
    let mut conn = open(&job.path)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let seq: i64 = tx.query_row(NEXT_SEQ, [], |r| r.get(0))?;
    let now = now_ms();
    let bank_id: i64 = tx
        .query_row("SELECT id FROM banks WHERE name = ?1", [&job.bank], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| Error::NoBank(job.bank.clone()))?;
    let was_empty = tx
        .query_row(
            "SELECT 1 FROM content WHERE bank_id = ?1 LIMIT 1",
            [bank_id],
            |_| Ok(()),
        )
        .optional()?
        .is_none();
    if ready.send(()).is_err() {
        return Err(stopped(&job.bank));
    }
    let mut w = Writer {
        tx: &tx,
        bank_id,
        now,
        seq,
        source: &job.source,
        report: ImportReport {
            seq,
            ..ImportReport::default()
        },
        texts: Default::default(),
    };
    // Time writing, and waiting for the sorter after its first batch (before it, the input is
    // being read).
    let (mut writing, mut waiting) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut first = true;
    loop {
        let t = std::time::Instant::now();
        let Some(items) = feed.blocking_recv() else {
            break;
        };
        if !first {
            waiting += t.elapsed();
        }
        first = false;
        let items = items.map_err(|e| Error::Import {
            bank: job.bank.clone(),
            why: format!("temporary sort file: {e}"),
        })?;
        let t = std::time::Instant::now();
        if was_empty {
            w.append(&items)?;
        } else {
            w.upsert(&items)?;
        }
        writing += t.elapsed();
    }
    let Ok(Read { records, skipped }) = read.recv() else {
        return Err(stopped(&job.bank));
    };
    let mut report = w.report;
    report.records = records;
    report.skipped = skipped;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        writing_ms = writing.as_millis() as u64,
        waited_ms = waiting.as_millis() as u64,
        "import: written"
    );
    if report.updated > 0 {
        tx.execute(MARK_UPDATED, rusqlite::params![seq, bank_id])?;
    }
    tx.execute(
        AUDIT_INSERT,
        rusqlite::params![
            now,
            job.actor,
            "content.import",
            job.bank,
            None::<i64>,
            import_detail(&job.source, &report).to_string()
        ],
    )?;
    tx.commit()?;
    Ok(report)
}

fn stopped(bank: &str) -> Error {
    Error::Import {
        bank: bank.to_string(),
        why: "the import stopped before the end of its input".to_string(),
    }
}

/// `INSERT INTO …` made `INSERT OR IGNORE INTO …` (SQLite's own form of `ON CONFLICT DO NOTHING`
/// for a statement that never aborts: see [`open`]).
fn or_ignore(insert: &str) -> String {
    insert.replacen("INSERT INTO", "INSERT OR IGNORE INTO", 1)
}

/// The rows of one import, in its transaction.
struct Writer<'a> {
    tx: &'a Transaction<'a>,
    bank_id: i64,
    now: i64,
    seq: i64,
    source: &'a str,
    report: ImportReport,
    /// Statement texts built, by shape (a batch's text is long: built once, not per batch).
    texts: std::collections::HashMap<(Shape, usize), std::rc::Rc<str>>,
}

/// The statements a writer builds, with a number of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    Append,
    Upsert,
    Signals,
    Provenance,
}

impl<'a> Writer<'a> {
    /// The text of a statement of `n` rows.
    fn text(&mut self, shape: Shape, n: usize) -> std::rc::Rc<str> {
        let (b, now, seq) = (self.bank_id, self.now, self.seq);
        self.texts
            .entry((shape, n))
            .or_insert_with(|| {
                match shape {
                    Shape::Append | Shape::Upsert => {
                        // `?1` is the source, bound once; row `i` binds `?(5i+2)` to `?(5i+6)`:
                        // `ikind`, `ikey`, `external_id`, `uri`, `note`.
                        let rows: Vec<String> = (0..n)
                            .map(|i| {
                                let k = 5 * i + 2;
                                format!(
                                    "({b},?{},?{},?{},?{},?{},?1,{now},{now},{seq})",
                                    k,
                                    k + 1,
                                    k + 2,
                                    k + 3,
                                    k + 4
                                )
                            })
                            .collect();
                        let upsert = if shape == Shape::Upsert {
                            format!("{CONTENT_UPSERT} RETURNING id")
                        } else {
                            String::new()
                        };
                        format!("{CONTENT_INSERT}{}{upsert}", rows.join(","))
                    }
                    Shape::Provenance => {
                        // `?1` is the source; row `i` binds `?(7i+2)` (the content id) to
                        // `?(7i+8)`.
                        let rows: Vec<String> = (0..n)
                            .map(|i| {
                                let k = 7 * i + 2;
                                let rest: Vec<String> =
                                    (k + 1..k + 7).map(|j| format!("?{j}")).collect();
                                format!("(?{k},?1,{},{now})", rest.join(","))
                            })
                            .collect();
                        format!(
                            "{PROVENANCE_INSERT}VALUES {}{PROVENANCE_UPSERT}",
                            rows.join(",")
                        )
                    }
                    Shape::Signals => format!(
                        "{}VALUES {}",
                        or_ignore(SIGNAL_INSERT),
                        values(Backend::Sqlite, n, &format!("(?,{b},?,?,{seq})"))
                    ),
                }
                .into()
            })
            .clone()
    }

    /// The content statement for `n` rows; `upsert`: updating items that exist.
    fn content(&mut self, n: usize, upsert: bool) -> Result<CachedStatement<'a>, Error> {
        let text = self.text(if upsert { Shape::Upsert } else { Shape::Append }, n);
        Ok(self.tx.prepare_cached(&text)?)
    }

    /// Writes items into a bank that held none before this import: every item is new (the
    /// sorter merged equal identities), so their content rows are appended with multi-row
    /// inserts and take consecutive ids, which are checked against the identities.
    fn append(&mut self, items: &[Item]) -> Result<(), Error> {
        let n = items.len();
        let mut st = self.content(n, false)?;
        st.raw_bind_parameter(1, self.source)?;
        let mut k = 2;
        for it in items {
            let (ikind, ikey) = value::split(&it.ikey);
            let m = it.meta.as_deref();
            st.raw_bind_parameter(k, ikind)?;
            st.raw_bind_parameter(k + 1, ikey)?;
            st.raw_bind_parameter(k + 2, m.and_then(|m| m.external_id.as_deref()))?;
            st.raw_bind_parameter(k + 3, m.and_then(|m| m.uri.as_deref()))?;
            st.raw_bind_parameter(k + 4, m.and_then(|m| m.note.as_deref()))?;
            k += 5;
        }
        let done = st.raw_execute()?;
        drop(st);
        let last = self.tx.last_insert_rowid();
        let first = last - n as i64 + 1;
        // SQLite gives new rows one more than the largest id, in `VALUES` order, while this
        // transaction holds the write lock. Checked row by row: a mismatch would attach
        // signals to the wrong item.
        let mut check = self.tx.prepare_cached(
            "SELECT bank_id, ikind, ikey FROM content WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
        )?;
        let mut rows = check.query([first, last])?;
        let mut matched = 0;
        while let Some(r) = rows.next()? {
            let Some(it) = items.get(matched) else { break };
            let (ikind, ikey) = value::split(&it.ikey);
            if r.get::<_, i64>(0)? != self.bank_id
                || r.get_ref(1)?.as_str().ok() != Some(ikind)
                || r.get_ref(2)?.as_blob().ok() != Some(ikey)
            {
                break;
            }
            matched += 1;
        }
        if done != n || matched != n {
            return Err(Error::Invalid(format!(
                "import: the new content rows of bank {} did not take consecutive ids \
                 ({done} rows written, {matched} of {n} in place)",
                self.bank_id
            )));
        }
        self.report.created += n as u64;
        let ids: Vec<i64> = (first..=last).collect();
        self.signals(items, &ids)?;
        self.provenance(items, &ids)
    }

    /// Writes items into a bank that had items: each is looked up, then upserted.
    fn upsert(&mut self, items: &[Item]) -> Result<(), Error> {
        let mut ids = Vec::with_capacity(items.len());
        for it in items {
            let (ikind, ikey) = value::split(&it.ikey);
            let existed = self
                .tx
                .prepare_cached(
                    "SELECT 1 FROM content WHERE bank_id = ?1 AND ikind = ?2 AND ikey = ?3",
                )?
                .query_row(rusqlite::params![self.bank_id, ikind, ikey], |_| Ok(()))
                .optional()?
                .is_some();
            let m = it.meta.as_deref();
            let id: i64 = self.content(1, true)?.query_row(
                rusqlite::params![
                    self.source,
                    ikind,
                    ikey,
                    m.and_then(|m| m.external_id.as_deref()),
                    m.and_then(|m| m.uri.as_deref()),
                    m.and_then(|m| m.note.as_deref()),
                ],
                |r| r.get(0),
            )?;
            if existed {
                self.report.updated += 1;
            } else {
                self.report.created += 1;
            }
            ids.push(id);
        }
        self.signals(items, &ids)?;
        self.provenance(items, &ids)
    }

    /// Adds the items' signals (`ids`: their content ids) in item order, counting those that
    /// were new. Short values go in multi-row inserts; a long one (with its body) alone.
    fn signals(&mut self, items: &[Item], ids: &[i64]) -> Result<(), Error> {
        let mut short: Vec<(i64, &str, &[u8])> = Vec::with_capacity(items.len());
        for (it, &id) in items.iter().zip(ids) {
            for (kind, v) in &it.signals {
                if v.len() <= value::LONG {
                    short.push((id, kind, v));
                    if short.len() == bulk::BATCH_SIGNALS {
                        self.short_signals(&std::mem::take(&mut short))?;
                    }
                    continue;
                }
                self.short_signals(&std::mem::take(&mut short))?;
                let (b, seq) = (self.bank_id, self.seq);
                let (stored, body) = value::split_long(v.clone());
                let sql = format!(
                    "{}VALUES (?,{b},?,?,?,{seq})",
                    or_ignore(SIGNAL_LONG_INSERT)
                );
                self.report.signals_added += self
                    .tx
                    .prepare_cached(&sql)?
                    .execute(rusqlite::params![id, kind, stored, body])?
                    as u64;
            }
        }
        self.short_signals(&short)
    }

    /// One multi-row insert of short signal values `(content id, kind, value)`.
    fn short_signals(&mut self, rows: &[(i64, &str, &[u8])]) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let text = self.text(Shape::Signals, rows.len());
        let mut st = self.tx.prepare_cached(&text)?;
        for (i, &(id, kind, v)) in rows.iter().enumerate() {
            st.raw_bind_parameter(3 * i + 1, id)?;
            st.raw_bind_parameter(3 * i + 2, kind)?;
            st.raw_bind_parameter(3 * i + 3, v)?;
        }
        self.report.signals_added += st.raw_execute()? as u64;
        Ok(())
    }

    /// Replaces the items' provenance for the import's source (`ids`: their content ids), for
    /// items whose record carried more than signals: one multi-row upsert.
    fn provenance(&mut self, items: &[Item], ids: &[i64]) -> Result<(), Error> {
        let prov: Vec<(i64, &Meta)> = items
            .iter()
            .zip(ids)
            .filter_map(|(it, &id)| Some((id, it.meta.as_deref()?)))
            .filter(|(_, m)| m.record != bulk::NO_RECORD)
            .collect();
        if prov.is_empty() {
            return Ok(());
        }
        let text = self.text(Shape::Provenance, prov.len());
        let mut st = self.tx.prepare_cached(&text)?;
        st.raw_bind_parameter(1, self.source)?;
        for (i, (id, m)) in prov.into_iter().enumerate() {
            let k = 7 * i + 2;
            st.raw_bind_parameter(k, id)?;
            st.raw_bind_parameter(k + 1, &m.category_scheme)?;
            st.raw_bind_parameter(k + 2, &m.category)?;
            st.raw_bind_parameter(k + 3, &m.tags)?;
            st.raw_bind_parameter(k + 4, &m.first_seen)?;
            st.raw_bind_parameter(k + 5, &m.last_seen)?;
            st.raw_bind_parameter(k + 6, &m.record)?;
        }
        st.raw_execute()?;
        Ok(())
    }
}

/// Signal changes a [`snapshot`] sends at a time.
const SNAPSHOT_BATCH: usize = 10_000;

/// Reads a matcher's snapshot of the store's file ([`crate::Store::signals_snapshot`]): the
/// change number, then every row of [`SNAPSHOT`] (bank `bank`, else the enabled banks), all in
/// one read transaction, so the rows are exactly the store's state at that number. Sends the
/// rows to `out` in id order, in batches; returns the change number.
///
/// Runs on a blocking thread. Stops with an error if the receiving side has gone.
pub(crate) fn snapshot(
    path: &std::path::Path,
    bank: Option<i64>,
    out: tokio::sync::mpsc::Sender<Vec<SignalChange>>,
) -> Result<i64, Error> {
    let mut conn = open(path)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
    let upto: i64 = tx.query_row("SELECT value FROM counters WHERE name = 'seq'", [], |r| {
        r.get(0)
    })?;
    {
        let mut st = tx.prepare(SNAPSHOT)?;
        let mut rows = st.query(rusqlite::params![0i64, bank.unwrap_or(0)])?;
        let mut batch = Vec::with_capacity(SNAPSHOT_BATCH);
        let gone = || Error::Sqlite("the snapshot's reader has gone".to_string());
        while let Some(r) = rows.next()? {
            let kind = r
                .get_ref(3)?
                .as_str()
                .map_err(|e| Error::Invalid(format!("stored signal kind: {e}")))?;
            let bytes = match r.get_ref(4)? {
                rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => b,
                other => {
                    return Err(Error::Invalid(format!(
                        "stored {kind} signal: a {} value",
                        other.data_type()
                    )));
                }
            };
            batch.push(SignalChange {
                seq: r.get(0)?,
                signal_id: r.get(1)?,
                bank_id: r.get(2)?,
                content_id: Some(r.get(6)?),
                signal: value::from_bytes(kind, bytes)?,
                present: true,
                disabled_until: r.get(5)?,
            });
            if batch.len() == SNAPSHOT_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(SNAPSHOT_BATCH));
                out.blocking_send(full).map_err(|_| gone())?;
            }
        }
        if !batch.is_empty() {
            out.blocking_send(batch).map_err(|_| gone())?;
        }
    }
    tx.commit()?;
    Ok(upto)
}
