//! Exchanges: configured sources a bank is fetched from (a hash-list file, the NCMEC API, …),
//! each with a *checkpoint* (how far it has been fetched), its status and counters.
//!
//! The store knows no exchange kind: the configuration and the checkpoint are JSON text that the
//! fetchers (`vigil-fetch`) write and read. What the store guarantees is the one operation a
//! resumable fetch rests on, [`Store::apply_page`]: a page's records, its deletions and the
//! checkpoint after it are written in **one transaction**, and only if the stored checkpoint is
//! still the one the page was fetched from (compare-and-set). A fetch killed at any point
//! therefore leaves the exchange at the checkpoint of its last applied page, with exactly that
//! page's changes; fetching again from there neither skips nor repeats a page.
//!
//! # Ordered pages
//!
//! Sources such as NCMEC send each entry with the time of its last change, but not in time
//! order, and the same change may come twice (an entry on the boundary of two time windows). For
//! such pages ([`Page::ordered`]) the store keeps, per exchange and external id, the key of the
//! newest change applied — its time, then deletion after addition — and applies a change only if
//! its key is newer than the stored one. Within one page, when an id is added and deleted (or
//! added twice), the change with the later timestamp wins; at equal timestamps a deletion wins
//! over an addition, and of two additions the later in the page. So the bank ends the same
//! whatever the order of the pages and however often a page is applied. A change without a
//! timestamp counts as time 0 (the Unix epoch).

use std::collections::HashMap;

use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_exchange::record::{Record, Timestamp};

use crate::banks::check_name_of;
use crate::content::bank_id;
use crate::{Error, ImportOptions, RecordIssue, Store, Write};

/// An exchange to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExchange {
    /// Unique name: 1–100 letters, digits, `_`, `-`, `.`, starting with a letter or digit.
    pub name: String,
    /// Its kind (`file`, `ncmec`, …): lower-case ASCII letters, digits and `_`; the fetchers
    /// give it a meaning.
    pub kind: String,
    /// The bank it fills.
    pub bank: String,
    /// Its configuration: a JSON object. Never secrets: it is stored in clear and printed by
    /// `vigil exchange status` (name the environment variables that hold them instead).
    pub config: String,
}

/// An exchange as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// The bank it fills.
    pub bank: String,
    /// Its configuration (JSON text).
    pub config: String,
    /// How far it has been fetched (JSON text written by its fetcher); `None` before the first
    /// page.
    pub checkpoint: Option<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
    /// When a fetch last ended, ms since the Unix epoch.
    pub last_fetch_at: Option<i64>,
    /// How the last fetch ended (the fetcher's word: `ok`, `skipped`, `error`, …).
    pub last_status: Option<String>,
    /// The last fetch's error, if it failed.
    pub last_error: Option<String>,
    /// Records applied, over all fetches.
    pub records: i64,
    /// Deletions applied, over all fetches.
    pub deletions: i64,
    /// Entries skipped as bad, over all fetches.
    pub errors: i64,
}

/// A deletion in a page: the external id of a withdrawn entry and when it was withdrawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageDeletion {
    /// The external id (the first id of the record that brought the item).
    pub id: String,
    /// When (used by [`Page::ordered`] pages).
    pub at: Option<Timestamp>,
}

/// One page fetched from an exchange, with the checkpoint it was fetched from and the one
/// after it (see [`Store::apply_page`]).
#[derive(Debug)]
pub struct Page<'a, I> {
    /// The page's records (or the errors of records that could not be read: a bad record is
    /// skipped and reported, a fatal one refuses the page).
    pub records: I,
    /// The page's deletions.
    pub deletions: &'a [PageDeletion],
    /// Apply each change only if it is newer than the change this exchange applied last for the
    /// same id (by the records' `updated` and the deletions' `at`; see the module
    /// documentation). Records are then held in memory: a page must be of bounded size.
    /// Unordered pages are streamed, records first, then deletions.
    pub ordered: bool,
    /// The checkpoint the page was fetched from: the page is refused
    /// ([`Error::CheckpointMoved`]) unless the stored one equals it.
    pub expected_checkpoint: Option<&'a str>,
    /// The checkpoint after this page.
    pub checkpoint: &'a str,
    /// Entries of the page the fetcher could not read (each naming its place); counted as
    /// errors and reported back in [`PageReport::skipped`].
    pub skipped: &'a [String],
}

/// What applying a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageReport {
    /// Records applied (imported into the bank).
    pub records: u64,
    /// Content items created.
    pub created: u64,
    /// Content items that existed and were updated.
    pub updated: u64,
    /// Signals added.
    pub signals_added: u64,
    /// Deletions applied.
    pub deletions: u64,
    /// Content items removed by them.
    pub removed: u64,
    /// Changes not applied because this exchange had applied the same or a newer change of
    /// their id (ordered pages only).
    pub stale: u64,
    /// Entries skipped as bad: the page's own ([`Page::skipped`]) and the bad records.
    pub skipped: Vec<String>,
    /// The change number of the page's transaction.
    pub seq: i64,
}

/// Rows of `exchange_items` per statement.
const ITEM_BATCH: usize = 100;

/// The ordering key of a change: microseconds since the Unix epoch (0 without a timestamp),
/// then 0 for an addition and 1 for a deletion.
type Key = (i64, i64);

fn micros(t: Option<&Timestamp>) -> i64 {
    t.map_or(0, |t| {
        i64::try_from(t.unix_nanos().div_euclid(1000)).unwrap_or(if t.unix_nanos() < 0 {
            i64::MIN
        } else {
            i64::MAX
        })
    })
}

const EXCHANGE_COLUMNS: &str = "e.id, e.name, e.kind, b.name, e.config, e.checkpoint, \
     e.created_at, e.last_fetch_at, e.last_status, e.last_error, e.records, e.deletions, e.errors";

fn exchange_from_row(r: &AnyRow) -> Result<Exchange, Error> {
    Ok(Exchange {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        kind: r.try_get(2)?,
        bank: r.try_get(3)?,
        config: r.try_get(4)?,
        checkpoint: r.try_get(5)?,
        created_at: r.try_get(6)?,
        last_fetch_at: r.try_get(7)?,
        last_status: r.try_get(8)?,
        last_error: r.try_get(9)?,
        records: r.try_get(10)?,
        deletions: r.try_get(11)?,
        errors: r.try_get(12)?,
    })
}

/// A change of an ordered page, kept while the page is resolved.
// Additions are the common case, so boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
enum Change {
    Put(Record),
    Delete,
}

impl Store {
    /// Creates an exchange filling `new.bank`.
    pub async fn add_exchange(&self, actor: &str, new: &NewExchange) -> Result<Exchange, Error> {
        check_name_of("exchange", &new.name)?;
        let kind_ok = !new.kind.is_empty()
            && new.kind.len() <= 32
            && new
                .kind
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if !kind_ok {
            return Err(Error::Invalid(format!(
                "exchange kind {:?}: use lower-case letters, digits and '_'",
                new.kind
            )));
        }
        let config: serde_json::Value = serde_json::from_str(&new.config)
            .ok()
            .filter(serde_json::Value::is_object)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "exchange {:?}: its configuration is not a JSON object",
                    new.name
                ))
            })?;
        let mut w = self.write().await?;
        let bank_id = bank_id(&mut w, &new.bank).await?;
        let r = sqlx::query(
            "INSERT INTO exchanges (name, kind, bank_id, config, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.kind)
        .bind(bank_id)
        .bind(&new.config)
        .bind(w.now)
        .fetch_one(&mut *w.tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &r
            && e.is_unique_violation()
        {
            return Err(Error::ExchangeExists(new.name.clone()));
        }
        r?;
        w.audit(
            actor,
            "exchange.add",
            Some(&new.bank),
            None,
            json!({"exchange": new.name, "kind": new.kind, "config": config}),
        )
        .await?;
        w.commit().await?;
        self.exchange(&new.name).await
    }

    /// All exchanges, by name.
    pub async fn exchanges(&self) -> Result<Vec<Exchange>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {EXCHANGE_COLUMNS} FROM exchanges e JOIN banks b ON b.id = e.bank_id \
             ORDER BY e.name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(exchange_from_row).collect()
    }

    /// The exchange named `name`.
    pub async fn exchange(&self, name: &str) -> Result<Exchange, Error> {
        let row = sqlx::query(&format!(
            "SELECT {EXCHANGE_COLUMNS} FROM exchanges e JOIN banks b ON b.id = e.bank_id \
             WHERE e.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NoExchange(name.to_string()))?;
        exchange_from_row(&row)
    }

    /// Removes an exchange with its checkpoint and status. The content it brought stays in its
    /// bank.
    pub async fn remove_exchange(&self, actor: &str, name: &str) -> Result<(), Error> {
        let mut w = self.write().await?;
        let row = sqlx::query(
            "SELECT e.id, e.kind, e.checkpoint, b.name FROM exchanges e \
             JOIN banks b ON b.id = e.bank_id WHERE e.name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or_else(|| Error::NoExchange(name.to_string()))?;
        let id: i64 = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        let checkpoint: Option<String> = row.try_get(2)?;
        let bank: String = row.try_get(3)?;
        // Explicitly, not by cascade: SQLite cascades only with its foreign keys switched on.
        sqlx::query("DELETE FROM exchange_items WHERE exchange_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("DELETE FROM exchanges WHERE id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        w.audit(
            actor,
            "exchange.remove",
            Some(&bank),
            None,
            json!({"exchange": name, "kind": kind, "checkpoint": checkpoint}),
        )
        .await?;
        w.commit().await
    }

    /// Records how a fetch of the exchange ended: its status word (`ok`, `error`, …) and error,
    /// with the time. Writes an `exchange.fetch` audit entry.
    pub async fn record_fetch_status(
        &self,
        actor: &str,
        name: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), Error> {
        let mut w = self.write().await?;
        let bank: String = sqlx::query(
            "SELECT b.name FROM exchanges e JOIN banks b ON b.id = e.bank_id WHERE e.name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or_else(|| Error::NoExchange(name.to_string()))?
        .try_get(0)?;
        sqlx::query(
            "UPDATE exchanges SET last_fetch_at = $1, last_status = $2, last_error = $3 \
             WHERE name = $4",
        )
        .bind(w.now)
        .bind(status)
        .bind(error)
        .bind(name)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            actor,
            "exchange.fetch",
            Some(&bank),
            None,
            json!({"exchange": name, "status": status, "error": error}),
        )
        .await?;
        w.commit().await
    }

    /// Applies one fetched page to the exchange's bank, in one transaction: checks that the
    /// exchange's checkpoint is still `page.expected_checkpoint` (else
    /// [`Error::CheckpointMoved`], nothing applied), imports the records (provenance source
    /// `exchange:<name>`, bad records skipped and reported), removes the deleted items (by
    /// external id), stores `page.checkpoint` and adds to the exchange's counters. All of it is
    /// committed together or not at all; the import and the removals write their audit entries.
    ///
    /// For ordered pages only changes newer than the last one applied for their id are applied
    /// (see the module documentation).
    pub async fn apply_page<E, I>(
        &self,
        actor: &str,
        exchange: &str,
        page: Page<'_, I>,
    ) -> Result<PageReport, Error>
    where
        E: Into<RecordIssue>,
        I: IntoIterator<Item = Result<Record, E>>,
    {
        let mut w = self.write().await?;
        let row = sqlx::query(
            "SELECT e.id, e.checkpoint, e.bank_id, b.name FROM exchanges e \
             JOIN banks b ON b.id = e.bank_id WHERE e.name = $1",
        )
        .bind(exchange)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or_else(|| Error::NoExchange(exchange.to_string()))?;
        let exchange_id: i64 = row.try_get(0)?;
        let stored: Option<String> = row.try_get(1)?;
        let bank_id: i64 = row.try_get(2)?;
        let bank: String = row.try_get(3)?;
        if stored.as_deref() != page.expected_checkpoint {
            return Err(Error::CheckpointMoved {
                exchange: exchange.to_string(),
            });
        }
        let source = format!("exchange:{exchange}");
        let options = ImportOptions {
            source: source.clone(),
            skip_bad: true,
            sort_memory: None,
        };
        let mut report = PageReport {
            seq: w.seq,
            skipped: page.skipped.to_vec(),
            ..PageReport::default()
        };
        let import = if page.ordered {
            let (puts, deletes, keys) = self
                .resolve_ordered(
                    &mut w,
                    exchange_id,
                    &bank,
                    page.records,
                    page.deletions,
                    &mut report,
                )
                .await?;
            let import = if puts.is_empty() {
                None
            } else {
                Some(
                    self.import_in(
                        &mut w,
                        actor,
                        &bank,
                        bank_id,
                        puts.into_iter().map(Ok::<_, String>),
                        &options,
                    )
                    .await?,
                )
            };
            report.deletions = deletes.len() as u64;
            report.removed = self
                .remove_external_in(&mut w, actor, &bank, bank_id, &deletes, &source)
                .await?;
            store_keys(&mut w, exchange_id, &keys).await?;
            import
        } else {
            let mut records = page.records.into_iter().peekable();
            let import = if records.peek().is_none() {
                None
            } else {
                Some(
                    self.import_in(&mut w, actor, &bank, bank_id, records, &options)
                        .await?,
                )
            };
            let deletes: Vec<String> = page.deletions.iter().map(|d| d.id.clone()).collect();
            report.deletions = deletes.len() as u64;
            report.removed = self
                .remove_external_in(&mut w, actor, &bank, bank_id, &deletes, &source)
                .await?;
            import
        };
        if let Some(i) = import {
            report.records = i.records;
            report.created = i.created;
            report.updated = i.updated;
            report.signals_added = i.signals_added;
            report.skipped.extend(i.skipped);
        }
        sqlx::query(
            "UPDATE exchanges SET checkpoint = $1, records = records + $2, \
             deletions = deletions + $3, errors = errors + $4 WHERE id = $5",
        )
        .bind(page.checkpoint)
        .bind(report.records as i64)
        .bind(report.deletions as i64)
        .bind(report.skipped.len() as i64)
        .bind(exchange_id)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        tracing::debug!(
            exchange,
            records = report.records,
            deletions = report.deletions,
            stale = report.stale,
            skipped = report.skipped.len(),
            "page applied"
        );
        Ok(report)
    }

    /// Resolves an ordered page against itself and against the keys stored for the exchange:
    /// the records to import (page order), the ids to remove, and the keys to store.
    #[allow(clippy::type_complexity)]
    async fn resolve_ordered<E, I>(
        &self,
        w: &mut Write<'_>,
        exchange_id: i64,
        bank: &str,
        records: I,
        deletions: &[PageDeletion],
        report: &mut PageReport,
    ) -> Result<(Vec<Record>, Vec<String>, Vec<(String, Key)>), Error>
    where
        E: Into<RecordIssue>,
        I: IntoIterator<Item = Result<Record, E>>,
    {
        // Per id: the winning change so far, with its key and place in the page.
        let mut latest: HashMap<String, (Key, usize, Change)> = HashMap::new();
        let mut untracked: Vec<(usize, Record)> = Vec::new();
        let mut events = 0u64;
        let mut place = 0usize;
        let mut offer = |id: String, key: Key, place: usize, change: Change| {
            match latest.get(&id) {
                // Ties between additions go to the later one in the page.
                Some((k, _, _)) if *k > key => {}
                _ => {
                    latest.insert(id, (key, place, change));
                }
            }
        };
        for item in records {
            match item.map_err(Into::into) {
                Ok(r) => {
                    place += 1;
                    match r.ids.first() {
                        Some(id) => {
                            events += 1;
                            let key = (micros(r.updated.as_ref()), 0);
                            offer(id.clone(), key, place, Change::Put(r));
                        }
                        None => untracked.push((place, r)),
                    }
                }
                Err(RecordIssue {
                    message,
                    fatal: true,
                }) => {
                    return Err(Error::Import {
                        bank: bank.to_string(),
                        why: message,
                    });
                }
                Err(e) => report.skipped.push(e.message),
            }
        }
        for d in deletions {
            place += 1;
            events += 1;
            offer(
                d.id.clone(),
                (micros(d.at.as_ref()), 1),
                place,
                Change::Delete,
            );
        }
        // The keys this exchange applied before, for the ids of the page.
        let ids: Vec<&String> = latest.keys().collect();
        let mut stored: HashMap<String, Key> = HashMap::new();
        for chunk in ids.chunks(ITEM_BATCH) {
            let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT external_id, at_us, deleted FROM exchange_items \
                 WHERE exchange_id = $1 AND external_id IN ({})",
                params.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(exchange_id);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(&mut *w.tx).await? {
                stored.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?));
            }
        }
        let mut puts: Vec<(usize, Record)> = untracked;
        let mut deletes: Vec<(usize, String)> = Vec::new();
        let mut keys: Vec<(String, Key)> = Vec::new();
        for (id, (key, place, change)) in latest {
            if stored.get(&id).is_some_and(|s| *s >= key) {
                continue;
            }
            match change {
                Change::Put(r) => puts.push((place, r)),
                Change::Delete => deletes.push((place, id.clone())),
            }
            keys.push((id, key));
        }
        report.stale = events - keys.len() as u64;
        puts.sort_by_key(|(p, _)| *p);
        deletes.sort_by_key(|(p, _)| *p);
        keys.sort();
        Ok((
            puts.into_iter().map(|(_, r)| r).collect(),
            deletes.into_iter().map(|(_, id)| id).collect(),
            keys,
        ))
    }
}

/// Stores the keys of the changes applied (newest per id).
async fn store_keys(
    w: &mut Write<'_>,
    exchange_id: i64,
    keys: &[(String, Key)],
) -> Result<(), Error> {
    for chunk in keys.chunks(ITEM_BATCH) {
        let mut sql = String::from(
            "INSERT INTO exchange_items (exchange_id, external_id, at_us, deleted) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            let b = 4 * i;
            sql.push_str(&format!("(${},${},${},${})", b + 1, b + 2, b + 3, b + 4));
        }
        sql.push_str(
            " ON CONFLICT (exchange_id, external_id) DO UPDATE SET at_us = excluded.at_us, \
             deleted = excluded.deleted",
        );
        let mut q = sqlx::query(&sql);
        for (id, (at, deleted)) in chunk {
            q = q
                .bind(exchange_id)
                .bind(id.as_str())
                .bind(*at)
                .bind(*deleted);
        }
        q.execute(&mut *w.tx).await?;
    }
    Ok(())
}
