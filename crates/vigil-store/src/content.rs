//! Content items, their signals and provenance: imports, exports, single changes, quarantines,
//! verdicts, the audit log and the change feed.

use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_exchange::record::{Record, Signal, SignalKind};

use crate::bulk::{self, Item, Meta};
use crate::codec::{apply_record_json, record_json, scheme_name};
use crate::{Backend, Error, Store, Write, native, now_ms, value, values};

/// A content item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Database id.
    pub id: i64,
    /// The bank's name.
    pub bank: String,
    /// The first external id of its record, if it had one.
    pub external_id: Option<String>,
    /// A URI for the content.
    pub uri: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// Metadata an API client attached (JSON text), if any.
    pub meta: Option<String>,
    /// The source of the import or exchange that last brought it.
    pub source: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
    /// Last change, ms since the Unix epoch.
    pub updated_at: i64,
    /// Quarantined (not matched) until this time, ms since the Unix epoch (`i64::MAX`: until
    /// lifted).
    pub disabled_until: Option<i64>,
    /// Its signals.
    pub signals: Vec<StoredSignal>,
    /// What each source said of it: `(source, record)` per import or exchange whose record
    /// carried more than signals (the record's signals not included).
    pub provenance: Vec<(String, Record)>,
}

/// A content item to create with [`Store::create_content`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewContent {
    /// Its signals (at least one).
    pub signals: Vec<Signal>,
    /// An external id (kept, not used as its identity).
    pub external_id: Option<String>,
    /// A URI for the content.
    pub uri: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// Client metadata, JSON text.
    pub meta: Option<String>,
    /// Where it came from (an API key's name, `api`).
    pub source: String,
}

/// A signal as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSignal {
    /// Database id.
    pub id: i64,
    /// The content item it belongs to.
    pub content_id: i64,
    /// The bank's id.
    pub bank_id: i64,
    /// The signal (kind and normalised value).
    pub signal: Signal,
    /// Quarantined until this time (ms since the Unix epoch), if set.
    pub disabled_until: Option<i64>,
}

/// How an import treats its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The provenance source recorded for every item (for example `file:known.csv` or an
    /// exchange's name). One provenance row per item and source: importing from the same source
    /// again replaces it.
    pub source: String,
    /// Import the good records and report the bad ones, instead of refusing the whole input at
    /// its first bad record (the default).
    pub skip_bad: bool,
    /// Bytes of records an import sorts in memory before it spills a sorted run to an
    /// anonymous temporary file; `None`: 64 MiB. Bounds an import's memory whatever the size
    /// of its input.
    pub sort_memory: Option<usize>,
}

/// A record an import could not take, from the record source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordIssue {
    /// What was wrong, naming the input and the record's place in it.
    pub message: String,
    /// `true`: the input itself failed (an I/O error, a truncated file): the whole import is
    /// refused even with [`ImportOptions::skip_bad`]. `false`: one bad record.
    pub fatal: bool,
}

impl From<String> for RecordIssue {
    /// A bad record (not fatal).
    fn from(message: String) -> Self {
        RecordIssue {
            message,
            fatal: false,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records read (good ones).
    pub records: u64,
    /// Content items created.
    pub created: u64,
    /// Content items that existed and were updated.
    pub updated: u64,
    /// Signals added (new to their item).
    pub signals_added: u64,
    /// Bad records skipped (with `skip_bad`), each naming its input and place.
    pub skipped: Vec<String>,
    /// The change number of the import.
    pub seq: i64,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Database id (increasing).
    pub id: i64,
    /// When, ms since the Unix epoch.
    pub at: i64,
    /// Who (a user name, `cli:<os user>`, an exchange).
    pub actor: String,
    /// What (`bank.create`, `content.import`, `signal.quarantine`, …).
    pub action: String,
    /// The bank concerned, if any.
    pub bank: Option<String>,
    /// The content item concerned, if any.
    pub content_id: Option<i64>,
    /// Details, as JSON text.
    pub detail: String,
}

/// The state of one signal after a change, from [`Store::changes_since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalChange {
    /// The change number.
    pub seq: i64,
    /// The signal's id.
    pub signal_id: i64,
    /// The bank's id.
    pub bank_id: i64,
    /// The content item it belongs to; `None` for a removed signal.
    pub content_id: Option<i64>,
    /// The signal.
    pub signal: Signal,
    /// `false` when the signal was removed (deleted, or its bank deleted).
    pub present: bool,
    /// Quarantined until (ms since the Unix epoch): the later of the signal's and its content
    /// item's, when present.
    pub disabled_until: Option<i64>,
}

/// Changes after a given change number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The newest change number covered: pass it to the next call.
    pub upto: i64,
    /// Signals added, changed or removed.
    pub signals: Vec<SignalChange>,
    /// Banks whose own fields changed (enabled, kind, threshold) or that were created.
    pub banks: Vec<i64>,
}

/// Where the next page of changes starts ([`Store::changes_page`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeCursor {
    /// The newest change covered by this round of pages.
    pub upto: i64,
    /// The change number and signal id of the last change read.
    pub seq: i64,
    /// See `seq`.
    pub signal_id: i64,
}

/// One page of changes ([`Store::changes_page`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangePage {
    /// The newest change covered by this round of pages: after the last page, pass it as the
    /// next round's `after`.
    pub upto: i64,
    /// Signals added, changed or removed, in `(seq, signal id)` order.
    pub signals: Vec<SignalChange>,
    /// On the first page only: banks whose own fields changed or that were created.
    pub banks: Vec<i64>,
    /// The next page's cursor; `None` after the last page.
    pub next: Option<ChangeCursor>,
}

/// An analyst's judgement of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerdictKind {
    /// The match is real.
    TruePositive,
    /// The match is wrong: the list's hash matched unrelated content.
    FalsePositive,
}

impl VerdictKind {
    /// `true_positive` or `false_positive`.
    pub fn name(self) -> &'static str {
        match self {
            VerdictKind::TruePositive => "true_positive",
            VerdictKind::FalsePositive => "false_positive",
        }
    }

    /// The verdict of a name ([`VerdictKind::name`]; `tp`/`fp` accepted too).
    pub fn from_name(s: &str) -> Option<VerdictKind> {
        match s {
            "true_positive" | "tp" => Some(VerdictKind::TruePositive),
            "false_positive" | "fp" => Some(VerdictKind::FalsePositive),
            _ => None,
        }
    }
}

/// A recorded verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Database id.
    pub id: i64,
    /// When, ms since the Unix epoch.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// The bank of the matched signal.
    pub bank: String,
    /// The matched content item, if known.
    pub content_id: Option<i64>,
    /// The matched signal.
    pub signal: Signal,
    /// What was matched against it (a file name, a query hash).
    pub query: String,
    /// The verdict.
    pub verdict: VerdictKind,
    /// Free text.
    pub note: Option<String>,
}

fn signal_from(kind: &str, value: &str) -> Result<Signal, Error> {
    Signal::new(SignalKind::from_name(kind), value)
        .map_err(|e| Error::Invalid(format!("stored signal {kind}:{value}: {e}")))
}

/// Whether a record carries nothing but its signals (as every line of a plain list does).
fn only_signals(r: &Record) -> bool {
    // Every field named: a field added to `Record` must be considered here.
    let Record {
        signals: _,
        ids,
        content,
        uri,
        note,
        category,
        tags,
        source,
        series,
        first_seen,
        last_seen,
        updated,
        flags,
        extra,
    } = r;
    ids.is_empty()
        && content.is_none()
        && uri.is_none()
        && note.is_none()
        && category.is_none()
        && tags.is_empty()
        && source.is_none()
        && series.is_none()
        && first_seen.is_none()
        && last_seen.is_none()
        && updated.is_none()
        && *flags == Default::default()
        && extra.is_empty()
}

/// The reading half of an import: checks each record, turns it into an [`Item`] and sends it,
/// encoded ([`bulk::encode`]), to the sorter in chunks, then the end marker. Counts the good records and collects the
/// skipped ones (with `skip_bad`) in `report`. Returns at the first bad record otherwise, or at
/// a fatal one, without the end marker (dropping `items` stops the sorter). Stops reading early
/// (and returns `Ok`) when the sorter is gone or `stopped()` says the writer is: the error is
/// theirs to report.
fn feed_records<E: Into<RecordIssue>>(
    bank: &str,
    records: impl IntoIterator<Item = Result<Record, E>>,
    options: &ImportOptions,
    items: std::sync::mpsc::SyncSender<Vec<u8>>,
    report: &mut ImportReport,
    stopped: impl Fn() -> bool,
) -> Result<(), Error> {
    let mut chunk: Vec<u8> = Vec::with_capacity(bulk::FEED_BYTES + (4 << 10));
    let mut n: u64 = 0;
    for item in records {
        let r = match item.map_err(Into::into) {
            Ok(r) => r,
            Err(RecordIssue {
                message,
                fatal: true,
            }) => {
                return Err(Error::Import {
                    bank: bank.to_string(),
                    why: message,
                });
            }
            Err(e) if options.skip_bad => {
                report.skipped.push(e.message);
                continue;
            }
            Err(e) => {
                return Err(Error::BadRecord {
                    bank: bank.to_string(),
                    error: e.message,
                });
            }
        };
        // Each value's stored bytes, decoded once: the identity of a record without an external
        // id is its first signal's.
        let signals: Vec<(String, Vec<u8>)> = r
            .signals
            .iter()
            .map(|s| (s.kind().name().to_string(), value::signal_bytes(s)))
            .collect();
        let ikey = match value::identity_of(&r.ids, signals.first()) {
            Some(k) if !signals.is_empty() => k,
            other => {
                let e = match other {
                    Some(k) => format!("record {} has no signal", value::shown(&k)),
                    None => format!("record {} has no signal", n + 1),
                };
                if options.skip_bad {
                    report.skipped.push(e);
                    continue;
                }
                return Err(Error::BadRecord {
                    bank: bank.to_string(),
                    error: e,
                });
            }
        };
        n += 1;
        let item = Item {
            n,
            // A plain list's record has nothing but its signal: no metadata to build.
            meta: (!only_signals(&r))
                .then(|| {
                    Meta {
                        external_id: r.ids.first().cloned(),
                        uri: r.uri.clone(),
                        note: r.note.clone(),
                        category_scheme: r.category.as_ref().map(|c| scheme_name(&c.scheme)),
                        category: r.category.as_ref().map(|c| c.value.clone()),
                        tags: if r.tags.is_empty() {
                            bulk::NO_TAGS.to_string()
                        } else {
                            json!(r.tags).to_string()
                        },
                        first_seen: r.first_seen.as_ref().map(|t| t.to_string()),
                        last_seen: r.last_seen.as_ref().map(|t| t.to_string()),
                        record: record_json(&r),
                    }
                    .boxed()
                })
                .flatten(),
            signals,
            ikey,
        };
        bulk::encode(&item, &mut chunk).map_err(|e| Error::BadRecord {
            bank: bank.to_string(),
            error: format!("record {n}: {e}"),
        })?;
        if chunk.len() >= bulk::FEED_BYTES
            && (items
                .send(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(bulk::FEED_BYTES + (4 << 10)),
                ))
                .is_err()
                || stopped())
        {
            // The sorter or the writer stopped: its error comes out of the writing side.
            break;
        }
    }
    report.records = n;
    if !chunk.is_empty() {
        let _ = items.send(chunk);
    }
    // Closing the channel with the end marker lets the sorter finish; dropping it without
    // (an early return above) makes it stop.
    let _ = items.send(Vec::new());
    Ok(())
}

impl Store {
    /// Imports records into a bank in one transaction: all of them or, at the first bad record
    /// (unless [`ImportOptions::skip_bad`]), none.
    ///
    /// `records` yields each record or the error of one that could not be read (a parser's
    /// record error, which names the input and its line or record number). A record is matched
    /// to an existing item of the bank by its first external id, or, having none, by its first
    /// signal; a matched item gains the record's new signals and its provenance for
    /// `options.source` is replaced. Memory use does not depend on the number of records:
    /// they are sorted in bounded memory (runs spilled to temporary files) and written in
    /// batches.
    ///
    /// On an SQLite file the rows are written by a blocking thread of the store's own
    /// (`native.rs`); once every record has been read, that thread commits even if the
    /// caller stops waiting (the import is whole by then).
    pub async fn import<E: Into<RecordIssue>>(
        &self,
        actor: &str,
        bank: &str,
        records: impl IntoIterator<Item = Result<Record, E>>,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        if let Some(path) = &self.file {
            return self
                .import_sqlite_file(path.clone(), actor, bank, records, options)
                .await;
        }
        let mut w = self.write().await?;
        let bank_id = bank_id(&mut w, bank).await?;
        let report = self
            .import_in(&mut w, actor, bank, bank_id, records, options)
            .await?;
        w.commit().await?;
        tracing::info!(bank, source = %options.source, records = report.records,
                       created = report.created, "import committed");
        Ok(report)
    }

    /// [`Store::import`] into an SQLite file: the records are read and sorted here as in
    /// [`Store::import_in`], and written by [`native::write`] on a blocking thread, through a
    /// connection of its own, in one transaction.
    async fn import_sqlite_file<E: Into<RecordIssue>>(
        &self,
        path: std::path::PathBuf,
        actor: &str,
        bank: &str,
        records: impl IntoIterator<Item = Result<Record, E>>,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let started = std::time::Instant::now();
        let gone = || Error::Import {
            bank: bank.to_string(),
            why: "the import's writing thread failed".to_string(),
        };
        let (items, feed, sorter) = bulk::sort_in_background(
            options.sort_memory.unwrap_or(bulk::CHUNK_BYTES),
        )
        .map_err(|e| Error::Import {
            bank: bank.to_string(),
            why: format!("temporary sort file: {e}"),
        })?;
        let (ready, is_ready) = tokio::sync::oneshot::channel();
        let (read, read_rx) = std::sync::mpsc::sync_channel(1);
        let job = native::Job {
            path,
            actor: actor.to_string(),
            bank: bank.to_string(),
            source: options.source.clone(),
        };
        let writer = tokio::task::spawn_blocking(move || native::write(job, ready, feed, read_rx));
        // The writer holds the write lock and has found the bank before anything is read.
        if is_ready.await.is_err() {
            drop(items);
            let _ = sorter.join();
            return Err(writer.await.map_err(|_| gone())?.err().unwrap_or_else(gone));
        }
        let mut report = ImportReport::default();
        let fed = feed_records(bank, records, options, items, &mut report, || {
            writer.is_finished()
        });
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            records = report.records,
            "import: read"
        );
        if fed.is_ok() {
            let _ = read.send(native::Read {
                records: report.records,
                skipped: report.skipped,
            });
        }
        drop(read);
        let written = writer.await.map_err(|_| gone());
        let _ = sorter.join();
        fed?;
        let report = written??;
        tracing::info!(bank, source = %options.source, records = report.records,
                       created = report.created, "import committed");
        Ok(report)
    }

    /// [`Store::import`] inside a write transaction the caller commits (an exchange applies a
    /// fetched page, its deletions and its checkpoint together). Writes the audit entry.
    ///
    /// The records are sorted by identity first ([`crate::bulk`], bounded memory), then written
    /// in batches: the indexes of the content and signal tables grow at their end instead of
    /// taking random inserts, which is what keeps a 10-million-record import fast.
    pub(crate) async fn import_in<E: Into<RecordIssue>>(
        &self,
        w: &mut Write<'_>,
        actor: &str,
        bank: &str,
        bank_id: i64,
        records: impl IntoIterator<Item = Result<Record, E>>,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let started = std::time::Instant::now();
        let spill = |e: std::io::Error| Error::Import {
            bank: bank.to_string(),
            why: format!("temporary sort file: {e}"),
        };
        let mut report = ImportReport {
            seq: w.seq,
            ..ImportReport::default()
        };
        // Reading (this thread) and sorting (a helper thread) overlap; so do, afterwards,
        // merging and batching (the helper) and writing (the database).
        let (items, feed, sorter) =
            bulk::sort_in_background(options.sort_memory.unwrap_or(bulk::CHUNK_BYTES))
                .map_err(spill)?;
        feed_records(bank, records, options, items, &mut report, || false)?;
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            records = report.records,
            "import: read"
        );

        // A bank empty before the import needs no look-ups of existing items.
        let was_empty = sqlx::query("SELECT 1 FROM content WHERE bank_id = $1 LIMIT 1")
            .bind(bank_id)
            .fetch_optional(&mut *w.tx)
            .await?
            .is_none();
        let batch = Batch::new(self.backend, bank_id, w.now, w.seq, &options.source);
        let mut feed = feed;
        // PostgreSQL plans (its foreign-key checks' cached plans among them) from statistics
        // that do not know the rows this transaction writes: planned for a small table, each
        // check would scan it. Statistics refreshed as the tables grow (ANALYZE counts this
        // transaction's own rows) keep every look-up on its index.
        let mut written: u64 = 0;
        let mut analyze_at: u64 = 4_096;
        let mut waited = std::time::Duration::ZERO;
        let mut flushing = std::time::Duration::ZERO;
        loop {
            let t0 = std::time::Instant::now();
            let Some(items) = feed.recv().await else {
                break;
            };
            waited += t0.elapsed();
            let items = items.map_err(spill)?;
            written += items.len() as u64;
            let t1 = std::time::Instant::now();
            batch.flush(w, items, was_empty, &mut report).await?;
            flushing += t1.elapsed();
            if self.backend == Backend::Postgres && written >= analyze_at {
                sqlx::query("ANALYZE content, signals, provenance")
                    .execute(&mut *w.tx)
                    .await?;
                analyze_at = written.saturating_mul(4);
            }
        }
        sorter.join().map_err(|_| Error::Import {
            bank: bank.to_string(),
            why: "the import's sorting thread failed".to_string(),
        })?;
        // Time waiting for sorted batches, and writing them (statements built and run).
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            waited_ms = waited.as_millis() as u64,
            writing_ms = flushing.as_millis() as u64,
            "import: written"
        );

        // Items that existed still changed (their provenance): mark their signals.
        if report.updated > 0 {
            sqlx::query(MARK_UPDATED)
                .bind(w.seq)
                .bind(bank_id)
                .execute(&mut *w.tx)
                .await?;
        }
        w.audit(
            actor,
            "content.import",
            Some(bank),
            None,
            import_detail(&options.source, &report),
        )
        .await?;
        Ok(report)
    }

    /// Removes the content items of a bank with these external ids (their first external id),
    /// inside a write transaction the caller commits; returns how many were removed. Writes one
    /// audit entry.
    pub(crate) async fn remove_external_in(
        &self,
        w: &mut Write<'_>,
        actor: &str,
        bank: &str,
        bank_id: i64,
        external_ids: &[String],
        source: &str,
    ) -> Result<u64, Error> {
        let mut removed = 0;
        for id in external_ids {
            let ikey = id.as_bytes();
            sqlx::query(
                "INSERT INTO tombstones (seq, bank_id, signal_id, kind, value, body) \
                 SELECT $1, s.bank_id, s.id, s.kind, s.value, s.body FROM signals s \
                 JOIN content c ON c.id = s.content_id \
                 WHERE c.bank_id = $2 AND c.ikind = '' AND c.ikey = $3",
            )
            .bind(w.seq)
            .bind(bank_id)
            .bind(ikey)
            .execute(&mut *w.tx)
            .await?;
            removed +=
                sqlx::query("DELETE FROM content WHERE bank_id = $1 AND ikind = '' AND ikey = $2")
                    .bind(bank_id)
                    .bind(ikey)
                    .execute(&mut *w.tx)
                    .await?
                    .rows_affected();
        }
        if !external_ids.is_empty() {
            w.audit(
                actor,
                "content.remove",
                Some(bank),
                None,
                json!({"source": source, "external_ids": external_ids.len(), "removed": removed}),
            )
            .await?;
        }
        Ok(removed)
    }

    /// Adds one record to a bank (as an import of one record from `source`); returns the
    /// content item's id.
    pub async fn add(
        &self,
        actor: &str,
        bank: &str,
        record: Record,
        source: &str,
    ) -> Result<i64, Error> {
        let key = value::identity(&record)
            .ok_or_else(|| Error::Invalid("a content item needs at least one signal".into()))?;
        let (ikind, ikey) = value::split(&key);
        self.import::<String>(
            actor,
            bank,
            [Ok(record)],
            &ImportOptions {
                source: source.to_string(),
                skip_bad: false,
                sort_memory: None,
            },
        )
        .await?;
        let row = sqlx::query(
            "SELECT c.id FROM content c JOIN banks b ON b.id = c.bank_id \
             WHERE b.name = $1 AND c.ikind = $2 AND c.ikey = $3",
        )
        .bind(bank)
        .bind(ikind)
        .bind(ikey)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Creates a new content item holding `new.signals`, always a new one (as HMA's API does:
    /// the same hash added twice is two items); returns its id. Its identity in the bank is
    /// the change number that created it (`ikind` `api`), so it never merges with an imported
    /// item.
    pub async fn create_content(
        &self,
        actor: &str,
        bank: &str,
        new: &NewContent,
    ) -> Result<i64, Error> {
        if new.signals.is_empty() {
            return Err(Error::Invalid(
                "a content item needs at least one signal".into(),
            ));
        }
        let mut w = self.write().await?;
        let bank_id = bank_id(&mut w, bank).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO content (bank_id, ikind, ikey, external_id, uri, note, meta, source, \
             created_at, updated_at, seq) VALUES ($1, 'api', $2, $3, $4, $5, $6, $7, $8, $8, $9) \
             RETURNING id",
        )
        .bind(bank_id)
        .bind(w.seq.to_be_bytes().to_vec())
        .bind(new.external_id.as_deref())
        .bind(new.uri.as_deref())
        .bind(new.note.as_deref())
        .bind(new.meta.as_deref())
        .bind(&new.source)
        .bind(w.now)
        .bind(w.seq)
        .fetch_one(&mut *w.tx)
        .await?
        .try_get(0)?;
        for signal in &new.signals {
            let (key, body) = value::stored(signal);
            sqlx::query(
                "INSERT INTO signals (content_id, bank_id, kind, value, body, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, value, content_id) DO NOTHING",
            )
            .bind(id)
            .bind(bank_id)
            .bind(signal.kind().name())
            .bind(key)
            .bind(body)
            .bind(w.seq)
            .execute(&mut *w.tx)
            .await?;
        }
        let signals: Vec<_> = new
            .signals
            .iter()
            .map(|s| json!({"kind": s.kind().name(), "value": s.value()}))
            .collect();
        w.audit(
            actor,
            "content.create",
            Some(bank),
            Some(id),
            json!({"signals": signals, "source": new.source}),
        )
        .await?;
        w.commit().await?;
        Ok(id)
    }

    /// Sets (or clears, `None`) a content item's note.
    pub async fn set_content_note(
        &self,
        actor: &str,
        bank: &str,
        id: i64,
        note: Option<&str>,
    ) -> Result<(), Error> {
        let mut w = self.write().await?;
        let bank_id = bank_id(&mut w, bank).await?;
        let n = sqlx::query(
            "UPDATE content SET note = $1, updated_at = $2 WHERE id = $3 AND bank_id = $4",
        )
        .bind(note)
        .bind(w.now)
        .bind(id)
        .bind(bank_id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NoContent {
                bank: bank.to_string(),
                id,
            });
        }
        w.audit(
            actor,
            "content.note",
            Some(bank),
            Some(id),
            json!({"note": note}),
        )
        .await?;
        w.commit().await
    }

    /// Removes a content item with its signals.
    pub async fn remove(&self, actor: &str, bank: &str, id: i64) -> Result<(), Error> {
        let mut w = self.write().await?;
        let bank_id = bank_id(&mut w, bank).await?;
        sqlx::query(
            "INSERT INTO tombstones (seq, bank_id, signal_id, kind, value, body) \
             SELECT $1, bank_id, id, kind, value, body FROM signals \
             WHERE content_id = $2 AND bank_id = $3",
        )
        .bind(w.seq)
        .bind(id)
        .bind(bank_id)
        .execute(&mut *w.tx)
        .await?;
        let n = sqlx::query("DELETE FROM content WHERE id = $1 AND bank_id = $2")
            .bind(id)
            .bind(bank_id)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NoContent {
                bank: bank.to_string(),
                id,
            });
        }
        w.audit(actor, "content.remove", Some(bank), Some(id), json!({}))
            .await?;
        w.commit().await
    }

    /// Quarantines a content item (`until`: ms since the Unix epoch; `i64::MAX` until lifted) or
    /// lifts its quarantine (`None`). Effective for the next query of a matcher that follows
    /// [`Store::changes_since`].
    pub async fn set_content_disabled(
        &self,
        actor: &str,
        bank: &str,
        id: i64,
        until: Option<i64>,
    ) -> Result<(), Error> {
        let mut w = self.write().await?;
        let bank_id = bank_id(&mut w, bank).await?;
        let n = sqlx::query(
            "UPDATE content SET disabled_until = $1, updated_at = $2, seq = $3 \
             WHERE id = $4 AND bank_id = $5",
        )
        .bind(until)
        .bind(w.now)
        .bind(w.seq)
        .bind(id)
        .bind(bank_id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NoContent {
                bank: bank.to_string(),
                id,
            });
        }
        sqlx::query("UPDATE signals SET seq = $1 WHERE content_id = $2")
            .bind(w.seq)
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let action = if until.is_some() {
            "content.disable"
        } else {
            "content.enable"
        };
        w.audit(actor, action, Some(bank), Some(id), json!({"until": until}))
            .await?;
        w.commit().await
    }

    /// Quarantines one hash wherever it is stored (in `bank` only, if given): every signal of
    /// that kind and value, until `until` (ms since the Unix epoch; `i64::MAX`: until lifted),
    /// or lifts the quarantine (`None`). Returns the number of signals changed.
    pub async fn quarantine_signal(
        &self,
        actor: &str,
        signal: &Signal,
        bank: Option<&str>,
        until: Option<i64>,
    ) -> Result<u64, Error> {
        let mut w = self.write().await?;
        let bank_id = match bank {
            Some(b) => Some(bank_id(&mut w, b).await?),
            None => None,
        };
        let n = sqlx::query(
            "UPDATE signals SET disabled_until = $1, seq = $2 \
             WHERE kind = $3 AND value = $4 AND ($5 = 0 OR bank_id = $6)",
        )
        .bind(until)
        .bind(w.seq)
        .bind(signal.kind().name())
        .bind(value::signal_key(signal))
        .bind(i64::from(bank_id.is_some()))
        .bind(bank_id.unwrap_or(0))
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        let action = if until.is_some() {
            "signal.quarantine"
        } else {
            "signal.release"
        };
        w.audit(
            actor,
            action,
            bank,
            None,
            json!({"kind": signal.kind().name(), "value": signal.value(), "until": until,
                   "signals": n}),
        )
        .await?;
        w.commit().await?;
        Ok(n)
    }

    /// A content item with its signals and provenance.
    pub async fn content(&self, bank: &str, id: i64) -> Result<Content, Error> {
        let row = sqlx::query(
            "SELECT c.id, c.external_id, c.uri, c.note, c.created_at, c.updated_at, \
             c.disabled_until, c.source, c.meta FROM content c JOIN banks b ON b.id = c.bank_id \
             WHERE b.name = $1 AND c.id = $2",
        )
        .bind(bank)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NoContent {
            bank: bank.to_string(),
            id,
        })?;
        let mut c = content_from_row(&row, bank)?;
        for r in sqlx::query(
            "SELECT id, content_id, bank_id, kind, COALESCE(body, value), disabled_until FROM signals \
             WHERE content_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            c.signals.push(stored_signal(&r)?);
        }
        for r in sqlx::query(
            "SELECT source, record FROM provenance WHERE content_id = $1 ORDER BY imported_at, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let mut rec = Record::default();
            apply_record_json(&mut rec, &r.try_get::<String, _>(1)?);
            c.provenance.push((r.try_get(0)?, rec));
        }
        Ok(c)
    }

    /// A page of a bank's content items, in id order after `after` (0 for the first page), at
    /// most `limit` (1..=1000). `search` narrows it to items whose external id, URI or note
    /// contains the text (case-insensitive), or that hold a signal of exactly that value (a
    /// hash's hex). Signals come with each item; provenance does not ([`Store::content`]).
    pub async fn content_page(
        &self,
        bank: &str,
        after: i64,
        limit: i64,
        search: Option<&str>,
    ) -> Result<Vec<Content>, Error> {
        let limit = limit.clamp(1, 1000);
        let b = self.bank_uncounted(bank).await?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let like = search.map(|s| {
            let escaped = s
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        // A hash's hex (MD5, SHA-1, PDQ/SHA-256 lengths) is looked up by value through the
        // signal index; other text by a scan of the bank's items.
        let digest = search
            .and_then(|s| hex::decode(s.to_lowercase()).ok())
            .filter(|d| matches!(d.len(), 16 | 20 | 32));
        let columns = "SELECT c.id, c.external_id, c.uri, c.note, c.created_at, c.updated_at, \
             c.disabled_until, c.source, c.meta FROM content c";
        let by_digest = format!(
            "{columns} WHERE c.bank_id = $1 AND c.id > $2 AND c.id IN (SELECT s.content_id \
             FROM signals s WHERE s.kind IN ('pdq', 'md5', 'sha1', 'sha256') AND s.value = $3 \
             AND s.bank_id = $1) ORDER BY c.id LIMIT $4"
        );
        let by_text = format!(
            "{columns} WHERE c.bank_id = $1 AND c.id > $2 \
             AND ($3 = 0 OR LOWER(COALESCE(c.external_id, '')) LIKE $4 ESCAPE '\\' \
                  OR LOWER(COALESCE(c.uri, '')) LIKE $4 ESCAPE '\\' \
                  OR LOWER(COALESCE(c.note, '')) LIKE $4 ESCAPE '\\') \
             ORDER BY c.id LIMIT $5"
        );
        let rows = if let Some(d) = digest {
            sqlx::query(&by_digest)
                .bind(b.id)
                .bind(after)
                .bind(d)
                .bind(limit)
        } else {
            sqlx::query(&by_text)
                .bind(b.id)
                .bind(after)
                .bind(i64::from(search.is_some()))
                .bind(like.unwrap_or_default())
                .bind(limit)
        }
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(content_from_row(row, bank)?);
        }
        if let (Some(first), Some(last)) = (out.first().map(|c| c.id), out.last().map(|c| c.id)) {
            let sigs = sqlx::query(
                "SELECT id, content_id, bank_id, kind, COALESCE(body, value), disabled_until FROM signals \
                 WHERE bank_id = $1 AND content_id BETWEEN $2 AND $3 ORDER BY content_id, id",
            )
            .bind(b.id)
            .bind(first)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
            let mut at = 0;
            for r in &sigs {
                let s = stored_signal(r)?;
                while at < out.len() && out[at].id < s.content_id {
                    at += 1;
                }
                if at < out.len() && out[at].id == s.content_id {
                    out[at].signals.push(s);
                }
            }
        }
        Ok(out)
    }

    /// The content items holding a signal, as `(bank, content id)`.
    pub async fn find(&self, signal: &Signal) -> Result<Vec<(String, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT b.name, s.content_id FROM signals s JOIN banks b ON b.id = s.bank_id \
             WHERE s.kind = $1 AND s.value = $2 ORDER BY b.name, s.content_id",
        )
        .bind(signal.kind().name())
        .bind(value::signal_key(signal))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Calls `f` with every record of a bank, in content-id order, as it was imported (its
    /// newest provenance's record, with all the item's signals), without holding the whole bank
    /// in memory. Quarantined items are included.
    pub async fn export(
        &self,
        bank: &str,
        mut f: impl FnMut(Record) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let bank_id: i64 = sqlx::query("SELECT id FROM banks WHERE name = $1")
            .bind(bank)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NoBank(bank.to_string()))?
            .try_get(0)?;
        const PAGE: i64 = 2000;
        let (mut after, mut count) = (0i64, 0u64);
        loop {
            let rows = sqlx::query(
                "SELECT c.id, c.external_id, c.uri, c.note, \
                 (SELECT p.record FROM provenance p WHERE p.content_id = c.id \
                  ORDER BY p.imported_at DESC, p.id DESC LIMIT 1) \
                 FROM content c WHERE c.bank_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
            )
            .bind(bank_id)
            .bind(after)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            let last_id: i64 = last.try_get(0)?;
            let mut sigs = sqlx::query(
                "SELECT content_id, kind, COALESCE(body, value) FROM signals \
                 WHERE bank_id = $1 AND content_id > $2 AND content_id <= $3 \
                 ORDER BY content_id, id",
            )
            .bind(bank_id)
            .bind(after)
            .bind(last_id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .peekable();
            for row in &rows {
                let id: i64 = row.try_get(0)?;
                let mut rec = Record::default();
                if let Some(json) = row.try_get::<Option<String>, _>(4)? {
                    apply_record_json(&mut rec, &json);
                }
                if rec.ids.is_empty()
                    && let Some(x) = row.try_get::<Option<String>, _>(1)?
                {
                    rec.ids.push(x);
                }
                if rec.uri.is_none() {
                    rec.uri = row.try_get(2)?;
                }
                if rec.note.is_none() {
                    rec.note = row.try_get(3)?;
                }
                while let Some(s) = sigs.peek() {
                    let cid: i64 = s.try_get(0)?;
                    if cid > id {
                        break;
                    }
                    if cid == id {
                        rec.signals.push(value::from_bytes(
                            &s.try_get::<String, _>(1)?,
                            &s.try_get::<Vec<u8>, _>(2)?,
                        )?);
                    }
                    sigs.next();
                }
                f(rec)?;
                count += 1;
            }
            after = last_id;
        }
        Ok(count)
    }

    /// Calls `f` with every signal a matcher should use now: of enabled banks, not quarantined
    /// (neither the signal nor its item), of the given kind (all kinds: `None`). Streams: memory
    /// does not depend on the number of signals. Returns the change number the result is
    /// consistent with (pass it to [`Store::changes_since`]).
    pub async fn active_signals(
        &self,
        kind: Option<&SignalKind>,
        mut f: impl FnMut(StoredSignal),
    ) -> Result<i64, Error> {
        // One transaction: the snapshot and the change number agree.
        let mut tx = self.pool.begin().await?;
        let upto: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'seq'")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let now = now_ms();
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(
                "SELECT s.id, s.content_id, s.bank_id, s.kind, COALESCE(s.body, s.value), s.disabled_until \
                 FROM signals s JOIN content c ON c.id = s.content_id \
                 JOIN banks b ON b.id = s.bank_id \
                 WHERE s.id > $1 AND b.enabled = 1 AND ($2 = '' OR s.kind = $2) \
                 AND (s.disabled_until IS NULL OR s.disabled_until <= $3) \
                 AND (c.disabled_until IS NULL OR c.disabled_until <= $3) \
                 ORDER BY s.id LIMIT 10000",
            )
            .bind(after)
            .bind(kind.map_or("", |k| k.name()))
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0)?;
            for r in &rows {
                f(stored_signal(r)?);
            }
        }
        tx.commit().await?;
        Ok(upto)
    }

    /// Every signal of the enabled banks (of bank `bank` only, enabled or not, if given), the
    /// quarantined ones included, each with its effective quarantine end (the later of the
    /// signal's and its content item's) — what a matcher loads before it follows
    /// [`Store::changes_since`] from the number returned. Paged by signal id, so memory does not
    /// grow with the bank; `f` sees each signal once, in id order, with `present` set.
    ///
    /// The number returned was read before the first page: on PostgreSQL (where pages are
    /// separate snapshots) a signal changed meanwhile may show its newer state here *and* come
    /// again from `changes_since`, so a follower must apply changes idempotently.
    pub async fn signals_snapshot(
        &self,
        bank: Option<i64>,
        mut f: impl FnMut(SignalChange),
    ) -> Result<i64, Error> {
        if let Some(path) = &self.file {
            // An SQLite file is read in one transaction on a connection of its own (one
            // consistent snapshot, and no per-row round trip through sqlx's worker: a 10M bank
            // is read in seconds, not a minute), its rows brought here in batches.
            let (batches, mut rx) = tokio::sync::mpsc::channel(4);
            let path = path.clone();
            let reader =
                tokio::task::spawn_blocking(move || native::snapshot(&path, bank, batches));
            while let Some(batch) = rx.recv().await {
                batch.into_iter().for_each(&mut f);
            }
            return reader
                .await
                .map_err(|_| Error::Sqlite("the snapshot's reading thread failed".to_string()))?;
        }
        let mut tx = self.pool.begin().await?;
        let upto: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'seq'")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(&format!("{SNAPSHOT} LIMIT 10000"))
                .bind(after)
                .bind(bank.unwrap_or(0))
                .fetch_all(&mut *tx)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(1)?;
            for r in &rows {
                f(change_from(r, true)?);
            }
        }
        tx.commit().await?;
        Ok(upto)
    }

    /// The signals added, changed or removed after change `after`, and the banks whose own
    /// fields changed, up to the newest change — all of them at once (a follower of a store
    /// that takes big imports reads them in pages: [`Store::changes_page`]).
    pub async fn changes_since(&self, after: i64) -> Result<ChangeSet, Error> {
        let mut page = self.changes_page(after, None, 10_000).await?;
        let mut set = ChangeSet {
            upto: page.upto,
            signals: std::mem::take(&mut page.signals),
            banks: std::mem::take(&mut page.banks),
        };
        while let Some(next) = page.next {
            page = self.changes_page(after, Some(next), 10_000).await?;
            set.signals.append(&mut page.signals);
        }
        Ok(set)
    }

    /// One page of the changes after change `after`: at most `limit` signal changes in
    /// `(seq, signal id)` order, from `cursor` (`None`: the first page, which also fixes the
    /// newest change covered, `upto`, and lists the banks changed), and the cursor of the next
    /// page (`None` after the last). Memory does not grow with the number of changes (a 10M
    /// import is 10M signal changes).
    ///
    /// Pages are read separately: a signal changed again while the pages are read shows its
    /// newer state in a later page or in the next round of pages (its change number is then
    /// above `upto`), so a follower must apply changes idempotently, as it must a snapshot.
    pub async fn changes_page(
        &self,
        after: i64,
        cursor: Option<ChangeCursor>,
        limit: usize,
    ) -> Result<ChangePage, Error> {
        let limit = limit.max(1);
        let mut tx = self.pool.begin().await?;
        let (upto, from) = match cursor {
            Some(c) => (c.upto, (c.seq, c.signal_id)),
            None => {
                let upto: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'seq'")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                (upto, (after, i64::MAX))
            }
        };
        let mut page = ChangePage {
            upto,
            ..ChangePage::default()
        };
        // Each table is read in two steps, the rest of the cursor's change number, then the
        // later ones: a single `(seq, id) > cursor` condition is not an index range for
        // SQLite (which would scan a whole bulk import's run of one change number per page).
        const PRESENT: &str = "SELECT s.seq, s.id, s.bank_id, s.kind, COALESCE(s.body, s.value), \
             CASE WHEN c.disabled_until IS NULL THEN s.disabled_until \
                  WHEN s.disabled_until IS NULL THEN c.disabled_until \
                  WHEN s.disabled_until > c.disabled_until THEN s.disabled_until \
                  ELSE c.disabled_until END, s.content_id \
             FROM signals s JOIN content c ON c.id = s.content_id WHERE ";
        const GONE: &str =
            "SELECT seq, signal_id, bank_id, kind, COALESCE(body, value) FROM tombstones WHERE ";
        let mut present = Vec::new();
        let mut gone = Vec::new();
        for (rows, select, seq, id) in [
            (&mut present, PRESENT, "s.seq", "s.id"),
            (&mut gone, GONE, "seq", "signal_id"),
        ] {
            rows.extend(
                sqlx::query(&format!(
                    "{select}{seq} = $1 AND {id} > $2 ORDER BY {id} LIMIT $3"
                ))
                .bind(from.0)
                .bind(from.1)
                .bind(limit as i64)
                .fetch_all(&mut *tx)
                .await?,
            );
            if rows.len() < limit {
                rows.extend(
                    sqlx::query(&format!(
                        "{select}{seq} > $1 AND {seq} <= $2 ORDER BY {seq}, {id} LIMIT $3"
                    ))
                    .bind(from.0)
                    .bind(upto)
                    .bind((limit - rows.len()) as i64)
                    .fetch_all(&mut *tx)
                    .await?,
                );
            }
        }
        // Either table may hold more past its `limit` rows; the first `limit` of both together
        // are within the first `limit` of each.
        let more = present.len() == limit || gone.len() == limit;
        for r in &present {
            page.signals.push(change_from(r, true)?);
        }
        for r in &gone {
            page.signals.push(change_from(r, false)?);
        }
        page.signals.sort_by_key(|c| (c.seq, c.signal_id));
        page.signals.truncate(limit);
        if more && let Some(last) = page.signals.last() {
            page.next = Some(ChangeCursor {
                upto,
                seq: last.seq,
                signal_id: last.signal_id,
            });
        }
        if cursor.is_none() {
            for r in sqlx::query("SELECT id FROM banks WHERE seq > $1 AND seq <= $2 ORDER BY id")
                .bind(after)
                .bind(upto)
                .fetch_all(&mut *tx)
                .await?
            {
                page.banks.push(r.try_get(0)?);
            }
        }
        tx.commit().await?;
        Ok(page)
    }

    /// Records an analyst's verdict on a match of `signal` (of `bank`) against `query`.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_verdict(
        &self,
        actor: &str,
        bank: &str,
        signal: &Signal,
        content_id: Option<i64>,
        query: &str,
        verdict: VerdictKind,
        note: Option<&str>,
    ) -> Result<i64, Error> {
        let mut w = self.write().await?;
        let bank_id = bank_id(&mut w, bank).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO verdicts (at, actor, bank_id, content_id, kind, value, query, verdict, \
             note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(w.now)
        .bind(actor)
        .bind(bank_id)
        .bind(content_id)
        .bind(signal.kind().name())
        .bind(signal.value())
        .bind(query)
        .bind(verdict.name())
        .bind(note)
        .fetch_one(&mut *w.tx)
        .await?
        .try_get(0)?;
        w.audit(
            actor,
            "verdict.record",
            Some(bank),
            content_id,
            json!({"kind": signal.kind().name(), "value": signal.value(), "query": query,
                   "verdict": verdict.name(), "note": note}),
        )
        .await?;
        w.commit().await?;
        Ok(id)
    }

    /// The verdicts recorded on a bank's matches, oldest first (the feedback for the list's
    /// owner).
    pub async fn verdicts(&self, bank: &str) -> Result<Vec<Verdict>, Error> {
        let rows = sqlx::query(
            "SELECT v.id, v.at, v.actor, v.content_id, v.kind, v.value, v.query, v.verdict, \
             v.note FROM verdicts v JOIN banks b ON b.id = v.bank_id WHERE b.name = $1 \
             ORDER BY v.at, v.id",
        )
        .bind(bank)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let v: String = r.try_get(7)?;
                Ok(Verdict {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    bank: bank.to_string(),
                    content_id: r.try_get(3)?,
                    signal: signal_from(&r.try_get::<String, _>(4)?, &r.try_get::<String, _>(5)?)?,
                    query: r.try_get(6)?,
                    verdict: VerdictKind::from_name(&v)
                        .ok_or_else(|| Error::Invalid(format!("stored verdict {v:?}")))?,
                    note: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// The audit log after entry `after_id`, oldest first, at most `limit` entries.
    pub async fn audit_log(&self, after_id: i64, limit: i64) -> Result<Vec<AuditEntry>, Error> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, bank, content_id, detail FROM audit \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    bank: r.try_get(4)?,
                    content_id: r.try_get(5)?,
                    detail: r.try_get(6)?,
                })
            })
            .collect()
    }
}

/// A change-feed row: `seq, signal id, bank id, kind, value` and, for a present signal, its
/// quarantine end.
/// A matcher's snapshot: every signal of the enabled banks (`$2 = 0`) or of bank `$2`, after
/// signal id `$1`, in id order, with its effective quarantine end; the columns of a present
/// signal's [`change_from`]. Read paged through sqlx and whole by [`native::snapshot`].
pub(crate) const SNAPSHOT: &str = "SELECT s.seq, s.id, s.bank_id, s.kind, \
     COALESCE(s.body, s.value), \
     CASE WHEN c.disabled_until IS NULL THEN s.disabled_until \
          WHEN s.disabled_until IS NULL THEN c.disabled_until \
          WHEN s.disabled_until > c.disabled_until THEN s.disabled_until \
          ELSE c.disabled_until END, s.content_id \
     FROM signals s JOIN content c ON c.id = s.content_id \
     JOIN banks b ON b.id = s.bank_id \
     WHERE s.id > $1 AND (($2 = 0 AND b.enabled = 1) OR b.id = $2) \
     ORDER BY s.id";

fn change_from(r: &AnyRow, present: bool) -> Result<SignalChange, Error> {
    Ok(SignalChange {
        seq: r.try_get(0)?,
        signal_id: r.try_get(1)?,
        bank_id: r.try_get(2)?,
        signal: value::from_bytes(&r.try_get::<String, _>(3)?, &r.try_get::<Vec<u8>, _>(4)?)?,
        present,
        disabled_until: if present { r.try_get(5)? } else { None },
        content_id: if present { Some(r.try_get(6)?) } else { None },
    })
}

fn stored_signal(r: &AnyRow) -> Result<StoredSignal, Error> {
    Ok(StoredSignal {
        id: r.try_get(0)?,
        content_id: r.try_get(1)?,
        bank_id: r.try_get(2)?,
        signal: value::from_bytes(&r.try_get::<String, _>(3)?, &r.try_get::<Vec<u8>, _>(4)?)?,
        disabled_until: r.try_get(5)?,
    })
}

/// A content item (without signals and provenance) from a row of `c.id, c.external_id, c.uri,
/// c.note, c.created_at, c.updated_at, c.disabled_until, c.source, c.meta`.
fn content_from_row(row: &AnyRow, bank: &str) -> Result<Content, Error> {
    Ok(Content {
        id: row.try_get(0)?,
        bank: bank.to_string(),
        external_id: row.try_get(1)?,
        uri: row.try_get(2)?,
        note: row.try_get(3)?,
        created_at: row.try_get(4)?,
        updated_at: row.try_get(5)?,
        disabled_until: row.try_get(6)?,
        source: row.try_get(7)?,
        meta: row.try_get(8)?,
        signals: Vec::new(),
        provenance: Vec::new(),
    })
}

pub(crate) async fn bank_id(w: &mut Write<'_>, bank: &str) -> Result<i64, Error> {
    Ok(sqlx::query("SELECT id FROM banks WHERE name = $1")
        .bind(bank)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or_else(|| Error::NoBank(bank.to_string()))?
        .try_get(0)?)
}

/// An import's content rows: `(bank_id, ikind, ikey, external_id, uri, note, source,
/// created_at, updated_at, seq)` follow.
pub(crate) const CONTENT_INSERT: &str = "INSERT INTO content (bank_id, ikind, ikey, external_id, \
     uri, note, source, created_at, updated_at, seq) VALUES ";
/// An item that exists keeps its creation time and the fields the record leaves empty.
pub(crate) const CONTENT_UPSERT: &str = " ON CONFLICT (bank_id, ikind, ikey) DO UPDATE SET \
     external_id = COALESCE(excluded.external_id, content.external_id), \
     uri = COALESCE(excluded.uri, content.uri), \
     note = COALESCE(excluded.note, content.note), \
     source = excluded.source, updated_at = excluded.updated_at, seq = excluded.seq";
/// An import's signal rows (`VALUES` or a `SELECT` follows).
pub(crate) const SIGNAL_INSERT: &str =
    "INSERT INTO signals (content_id, bank_id, kind, value, seq) ";
/// The same with the body of a long value.
pub(crate) const SIGNAL_LONG_INSERT: &str =
    "INSERT INTO signals (content_id, bank_id, kind, value, body, seq) ";
/// A signal its item has already is not added again.
pub(crate) const SIGNAL_CONFLICT: &str = " ON CONFLICT (kind, value, content_id) DO NOTHING";
/// An import's provenance rows (`VALUES` or a `SELECT` follows).
pub(crate) const PROVENANCE_INSERT: &str = "INSERT INTO provenance (content_id, source, \
     category_scheme, category, tags, first_seen, last_seen, record, imported_at) ";
/// Importing from the same source again replaces the item's provenance for it.
pub(crate) const PROVENANCE_UPSERT: &str = " ON CONFLICT (content_id, source) DO UPDATE SET \
     category_scheme = excluded.category_scheme, category = excluded.category, \
     tags = excluded.tags, first_seen = excluded.first_seen, \
     last_seen = excluded.last_seen, record = excluded.record, \
     imported_at = excluded.imported_at";
/// After an import (`$1`: its change number, `$2`: the bank): items that existed still changed
/// (their provenance), so their signals take the change number too.
pub(crate) const MARK_UPDATED: &str = "UPDATE signals SET seq = $1 WHERE content_id IN \
     (SELECT id FROM content WHERE bank_id = $2 AND seq = $1) AND seq <> $1";

/// The audit detail of an import.
pub(crate) fn import_detail(source: &str, report: &ImportReport) -> serde_json::Value {
    json!({"source": source, "records": report.records,
           "created": report.created, "updated": report.updated,
           "signals_added": report.signals_added, "skipped": report.skipped.len()})
}

/// Signal rows per `INSERT`.
const BATCH_SIGNALS: usize = bulk::BATCH_SIGNALS;
/// Bound bytes of signal values after which a batch is cut (long vPDQ values).
const BATCH_BYTES: usize = 1 << 20;

/// How a batch statement refers to an item's content row: its id, or its identity.
enum Key<'a> {
    Id(i64),
    Identity(&'a str, &'a [u8]),
}

impl<'a> Key<'a> {
    fn bind(
        self,
        q: sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>>,
    ) -> sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>> {
        match self {
            Key::Id(id) => q.bind(id),
            Key::Identity(ikind, ikey) => q.bind(ikind).bind(ikey),
        }
    }
}

/// Sorted, merged items on their way to the tables. The bank id, the time and the change
/// number are the import's own integers and are written into the statements; everything from
/// the input is bound.
struct Batch<'a> {
    backend: Backend,
    bank_id: i64,
    now: i64,
    seq: i64,
    source: &'a str,
}

impl<'a> Batch<'a> {
    fn new(backend: Backend, bank_id: i64, now: i64, seq: i64, source: &'a str) -> Self {
        Batch {
            backend,
            bank_id,
            now,
            seq,
            source,
        }
    }

    /// Writes the batch's content, signals and provenance; counts what was new.
    async fn flush(
        &self,
        w: &mut Write<'_>,
        items: Vec<Item>,
        was_empty: bool,
        report: &mut ImportReport,
    ) -> Result<(), Error> {
        if items.is_empty() {
            return Ok(());
        }
        let (b, now, seq, be) = (self.bank_id, self.now, self.seq, self.backend);
        let existing: i64 = if was_empty {
            0
        } else {
            let sql = format!(
                "SELECT COUNT(*) FROM (VALUES {}) AS v CROSS JOIN content c \
                 WHERE c.bank_id = {b} AND c.ikind = v.column1 AND c.ikey = v.column2",
                values(be, items.len(), "(?,?)")
            );
            let mut q = sqlx::query(&sql);
            for it in &items {
                let (ikind, ikey) = value::split(&it.ikey);
                q = q.bind(ikind).bind(ikey);
            }
            q.fetch_one(&mut *w.tx).await?.try_get(0)?
        };
        report.updated += existing as u64;
        report.created += (items.len() as i64 - existing) as u64;

        let sql = format!(
            "{CONTENT_INSERT}{}{CONTENT_UPSERT}{}",
            values(
                be,
                items.len(),
                &format!("({b},?,?,?,?,?,?,{now},{now},{seq})")
            ),
            if be == Backend::Postgres {
                " RETURNING id, ikind, ikey"
            } else {
                ""
            }
        );
        let mut q = sqlx::query(&sql);
        for it in &items {
            let (ikind, ikey) = value::split(&it.ikey);
            q = q
                .bind(ikind)
                .bind(ikey)
                .bind(it.meta.as_ref().and_then(|m| m.external_id.as_deref()))
                .bind(it.meta.as_ref().and_then(|m| m.uri.as_deref()))
                .bind(it.meta.as_ref().and_then(|m| m.note.as_deref()))
                .bind(self.source);
        }
        // Signals and provenance need each item's content id. PostgreSQL returns them (a join
        // on the identity would be planned from statistics that do not yet know the rows this
        // transaction wrote: a scan of the table per batch). On SQLite, whose driver hands
        // returned rows over one by one between threads, the statements look each item up by
        // identity instead (`VALUES` columns are `column1`, `column2`…); the look-ups follow
        // the index in order.
        let ids: Option<Vec<i64>> = if be == Backend::Postgres {
            let mut ids = vec![0i64; items.len()];
            for row in q.fetch_all(&mut *w.tx).await? {
                let key = value::key(
                    &row.try_get::<String, _>(1)?,
                    &row.try_get::<Vec<u8>, _>(2)?,
                );
                let i = items
                    .binary_search_by(|it| it.ikey.cmp(&key))
                    .map_err(|_| {
                        Error::Invalid(format!(
                            "import: unexpected identity {}",
                            value::shown(&key)
                        ))
                    })?;
                ids[i] = row.try_get(0)?;
            }
            if let Some(i) = ids.iter().position(|&id| id == 0) {
                return Err(Error::Invalid(format!(
                    "import: no content row came back for {}",
                    value::shown(&items[i].ikey)
                )));
            }
            Some(ids)
        } else {
            let done = q.execute(&mut *w.tx).await?;
            let n = items.len() as i64;
            if existing == 0 && done.rows_affected() == n as u64 {
                // Every item was new, so SQLite gave the rows one more than the largest id, in
                // `VALUES` order, each in turn (this transaction holds the write lock): ids
                // `last - n + 1 ..= last`. Checked, and looked up by identity if not so.
                let last: i64 = sqlx::query("SELECT last_insert_rowid()")
                    .fetch_one(&mut *w.tx)
                    .await?
                    .try_get(0)?;
                // By id alone: asked for `bank_id = ?` as well, SQLite's planner (which has no
                // statistics) would search the bank's index instead of the id range.
                let row = sqlx::query(
                    "SELECT COUNT(*), MIN(bank_id), MAX(bank_id), MIN(seq), MAX(seq) \
                     FROM content WHERE id BETWEEN $1 AND $2",
                )
                .bind(last - n + 1)
                .bind(last)
                .fetch_one(&mut *w.tx)
                .await?;
                let found = if (1..=4).all(|i| {
                    row.try_get::<Option<i64>, _>(i).ok().flatten()
                        == Some(if i <= 2 { b } else { seq })
                }) {
                    row.try_get::<i64, _>(0)?
                } else {
                    -1
                };
                (found == n).then(|| (last - n + 1..=last).collect())
            } else {
                None
            }
        };
        // How a statement gets each row's content id: bound (`VALUES (?, …)`, the id first), or
        // looked up by the item's bound identity, `ikind` and `ikey` first. The look-up is a
        // CROSS JOIN, which SQLite takes as "for each row of `VALUES`, search the index":
        // without statistics its planner may otherwise scan every item of the bank and probe
        // the `VALUES` rows, which makes an import quadratic.
        //
        // `row` lists the other columns: `?` for a bound value, else SQL.
        let source = |row: &str, n: usize| -> String {
            if ids.is_some() {
                format!("VALUES {}", values(be, n, &format!("(?,{row})")))
            } else {
                let mut k = 2;
                let cols: Vec<String> = row
                    .split(',')
                    .map(|c| {
                        if c == "?" {
                            k += 1;
                            format!("v.column{k}")
                        } else {
                            c.to_string()
                        }
                    })
                    .collect();
                let marks = vec!["?"; k].join(",");
                format!(
                    "SELECT c.id, {} FROM (VALUES {}) AS v CROSS JOIN content c \
                     WHERE c.bank_id = {b} AND c.ikind = v.column1 AND c.ikey = v.column2",
                    cols.join(", "),
                    values(be, n, &format!("({marks})"))
                )
            }
        };
        let key = |i: usize| -> Key<'_> {
            match &ids {
                Some(ids) => Key::Id(ids[i]),
                None => {
                    let (ikind, ikey) = value::split(&items[i].ikey);
                    Key::Identity(ikind, ikey)
                }
            }
        };

        let sigs: Vec<(usize, &str, &[u8])> = items
            .iter()
            .enumerate()
            .flat_map(|(i, it)| {
                it.signals
                    .iter()
                    .map(move |(k, v)| (i, k.as_str(), v.as_slice()))
            })
            .collect();
        // A batch holding long values (vPDQ) binds their bodies too, and is cut short by
        // bytes: a long value can be megabytes.
        let mut from = 0;
        while from < sigs.len() {
            let (mut to, mut bytes, mut long) = (from, 0usize, false);
            while to < sigs.len() && to - from < BATCH_SIGNALS && bytes < BATCH_BYTES {
                bytes += sigs[to].2.len();
                long |= sigs[to].2.len() > value::LONG;
                to += 1;
            }
            let chunk = &sigs[from..to];
            from = to;
            let q = if long {
                let sql = format!(
                    "{SIGNAL_LONG_INSERT}{}{SIGNAL_CONFLICT}",
                    source(&format!("{b},?,?,?,{seq}"), chunk.len())
                );
                let mut q = sqlx::query(&sql);
                for &(i, kind, bytes) in chunk {
                    let (stored, body) = value::split_long(bytes.to_vec());
                    q = key(i).bind(q).bind(kind).bind(stored).bind(body);
                }
                q.execute(&mut *w.tx).await?
            } else {
                let sql = format!(
                    "{SIGNAL_INSERT}{}{SIGNAL_CONFLICT}",
                    source(&format!("{b},?,?,{seq}"), chunk.len())
                );
                let mut q = sqlx::query(&sql);
                for &(i, kind, value) in chunk {
                    q = key(i).bind(q).bind(kind).bind(value);
                }
                q.execute(&mut *w.tx).await?
            };
            report.signals_added += q.rows_affected();
        }

        let prov: Vec<(usize, &Meta)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, it)| Some((i, it.meta.as_deref()?)))
            .filter(|(_, m)| m.record != bulk::NO_RECORD)
            .collect();
        if !prov.is_empty() {
            let sql = format!(
                "{PROVENANCE_INSERT}{}{PROVENANCE_UPSERT}",
                source(&format!("?,?,?,?,?,?,?,{now}"), prov.len())
            );
            let mut q = sqlx::query(&sql);
            for (i, m) in prov {
                q = key(i)
                    .bind(q)
                    .bind(self.source)
                    .bind(&m.category_scheme)
                    .bind(&m.category)
                    .bind(&m.tags)
                    .bind(&m.first_seen)
                    .bind(&m.last_seen)
                    .bind(&m.record);
            }
            q.execute(&mut *w.tx).await?;
        }
        Ok(())
    }
}
