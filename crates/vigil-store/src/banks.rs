//! Banks: named lists of content, `block` or `allow`, with a per-bank PDQ threshold.

use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Store};

/// What a bank's matches mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BankKind {
    /// Known material: a match is reported.
    Block,
    /// Known false positives: a query matching this bank has its block matches suppressed.
    Allow,
}

impl BankKind {
    /// `block` or `allow`.
    pub fn name(self) -> &'static str {
        match self {
            BankKind::Block => "block",
            BankKind::Allow => "allow",
        }
    }

    /// The kind named `block` or `allow`.
    pub fn from_name(s: &str) -> Option<BankKind> {
        match s {
            "block" => Some(BankKind::Block),
            "allow" => Some(BankKind::Allow),
            _ => None,
        }
    }
}

/// A bank as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Bank {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Block or allow.
    pub kind: BankKind,
    /// Whether matching uses it.
    pub enabled: bool,
    /// PDQ match threshold (inclusive) for this bank; `None`: the matcher's default (31).
    pub pdq_threshold: Option<u32>,
    /// The share of lookups this bank takes part in (HMA's `matching_enabled_ratio`): 1 (the
    /// default) for all, 0 for none but those that bypass the draw. HMA's API uses it to
    /// disable a bank softly or to roll one out gradually; Vigil's own `enabled` unloads it.
    pub match_ratio: f64,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
    /// Last change of the bank's own fields, ms since the Unix epoch.
    pub updated_at: i64,
    /// Content items.
    pub content_count: i64,
    /// Signals (all kinds, quarantined ones included). Both counts are -1 where the bank was
    /// read without them ([`Store::bank_list`]).
    pub signal_count: i64,
}

/// A bank to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBank {
    /// Unique name: 1–100 characters, letters, digits, `_`, `-`, `.`, starting with a letter or
    /// digit.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Block or allow.
    pub kind: BankKind,
    /// PDQ threshold, `None` for the default.
    pub pdq_threshold: Option<u32>,
    /// See [`Bank::match_ratio`] (1.0 for a plain bank).
    pub match_ratio: f64,
}

impl NewBank {
    /// An enabled block bank with the default threshold and no description.
    pub fn block(name: &str) -> NewBank {
        NewBank {
            name: name.to_string(),
            description: String::new(),
            kind: BankKind::Block,
            pdq_threshold: None,
            match_ratio: 1.0,
        }
    }
}

/// Changes to a bank's own fields (`None`: unchanged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BankUpdate {
    /// A new name (the bank keeps its content, exchanges and history).
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New threshold (`Some(None)`: back to the default).
    pub pdq_threshold: Option<Option<u32>>,
    /// New kind.
    pub kind: Option<BankKind>,
    /// New match ratio ([`Bank::match_ratio`]).
    pub match_ratio: Option<f64>,
}

pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    check_name_of("bank", name)
}

/// Checks the name of a bank or an exchange (`what`): 1–100 letters, digits, `_`, `-`, `.`,
/// starting with a letter or digit.
pub(crate) fn check_name_of(what: &str, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} name {name:?}: use 1-100 letters, digits, '_', '-' or '.', starting with a \
             letter or digit"
        )))
    }
}

fn check_ratio(r: f64) -> Result<f64, Error> {
    if r.is_finite() {
        Ok(r)
    } else {
        Err(Error::Invalid(format!(
            "match ratio {r}: must be a finite number"
        )))
    }
}

fn check_threshold(t: Option<u32>) -> Result<(), Error> {
    match t {
        Some(t) if t > 256 => Err(Error::Invalid(format!(
            "PDQ threshold {t}: must be 0..=256 bits"
        ))),
        _ => Ok(()),
    }
}

const BANK_COLUMNS: &str = "b.id, b.name, b.description, b.kind, b.enabled, b.pdq_threshold, \
     b.created_at, b.updated_at, b.match_ratio, \
     (SELECT COUNT(*) FROM content c WHERE c.bank_id = b.id), \
     (SELECT COUNT(*) FROM signals s WHERE s.bank_id = b.id)";

/// [`BANK_COLUMNS`] without the counts (which read a whole bank's index).
const BANK_COLUMNS_UNCOUNTED: &str = "b.id, b.name, b.description, b.kind, b.enabled, \
     b.pdq_threshold, b.created_at, b.updated_at, b.match_ratio, -1, -1";

fn bank_from_row(row: &AnyRow) -> Result<Bank, Error> {
    let kind: String = row.try_get(3)?;
    Ok(Bank {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        description: row.try_get(2)?,
        kind: BankKind::from_name(&kind)
            .ok_or_else(|| Error::Invalid(format!("stored bank kind {kind:?} is unknown")))?,
        enabled: row.try_get::<i64, _>(4)? != 0,
        pdq_threshold: row.try_get::<Option<i64>, _>(5)?.map(|t| t as u32),
        created_at: row.try_get(6)?,
        updated_at: row.try_get(7)?,
        match_ratio: row.try_get(8)?,
        content_count: row.try_get(9)?,
        signal_count: row.try_get(10)?,
    })
}

impl Store {
    /// Creates a bank.
    pub async fn create_bank(&self, actor: &str, new: &NewBank) -> Result<Bank, Error> {
        check_name(&new.name)?;
        check_threshold(new.pdq_threshold)?;
        let mut w = self.write().await?;
        let r = sqlx::query(
            "INSERT INTO banks (name, description, kind, enabled, pdq_threshold, created_at, \
             updated_at, seq, match_ratio) VALUES ($1, $2, $3, 1, $4, $5, $5, $6, $7) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.kind.name())
        .bind(new.pdq_threshold.map(i64::from))
        .bind(w.now)
        .bind(w.seq)
        .bind(check_ratio(new.match_ratio)?)
        .fetch_one(&mut *w.tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &r
            && e.is_unique_violation()
        {
            return Err(Error::BankExists(new.name.clone()));
        }
        r?;
        w.audit(
            actor,
            "bank.create",
            Some(&new.name),
            None,
            json!({"kind": new.kind.name(), "description": new.description,
                   "pdq_threshold": new.pdq_threshold, "match_ratio": new.match_ratio}),
        )
        .await?;
        w.commit().await?;
        self.bank(&new.name).await
    }

    /// All banks, by name.
    pub async fn banks(&self) -> Result<Vec<Bank>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {BANK_COLUMNS} FROM banks b ORDER BY b.name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(bank_from_row).collect()
    }

    /// All banks, by name, without their counts (`content_count` and `signal_count` are -1):
    /// cheap whatever the banks hold.
    pub async fn bank_list(&self) -> Result<Vec<Bank>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {BANK_COLUMNS_UNCOUNTED} FROM banks b ORDER BY b.name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(bank_from_row).collect()
    }

    /// The bank named `name`, without its counts (see [`Store::bank_list`]).
    pub async fn bank_uncounted(&self, name: &str) -> Result<Bank, Error> {
        let row = sqlx::query(&format!(
            "SELECT {BANK_COLUMNS_UNCOUNTED} FROM banks b WHERE b.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NoBank(name.to_string()))?;
        bank_from_row(&row)
    }

    /// The bank named `name`.
    pub async fn bank(&self, name: &str) -> Result<Bank, Error> {
        let row = sqlx::query(&format!(
            "SELECT {BANK_COLUMNS} FROM banks b WHERE b.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NoBank(name.to_string()))?;
        bank_from_row(&row)
    }

    /// Changes a bank's own fields.
    pub async fn update_bank(
        &self,
        actor: &str,
        name: &str,
        update: &BankUpdate,
    ) -> Result<Bank, Error> {
        if let Some(t) = update.pdq_threshold {
            check_threshold(t)?;
        }
        if let Some(n) = &update.name {
            check_name(n)?;
        }
        if let Some(r) = update.match_ratio {
            check_ratio(r)?;
        }
        let mut w = self.write().await?;
        let before = sqlx::query("SELECT id FROM banks WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *w.tx)
            .await?;
        if before.is_none() {
            return Err(Error::NoBank(name.to_string()));
        }
        // Each field is set to itself unless given (one statement for every combination).
        let r = sqlx::query(
            "UPDATE banks SET \
             description = CASE WHEN $1 = 1 THEN $2 ELSE description END, \
             enabled = CASE WHEN $3 = 1 THEN $4 ELSE enabled END, \
             pdq_threshold = CASE WHEN $5 = 1 THEN $6 ELSE pdq_threshold END, \
             kind = CASE WHEN $7 = 1 THEN $8 ELSE kind END, \
             name = CASE WHEN $12 = 1 THEN $13 ELSE name END, \
             match_ratio = CASE WHEN $14 = 1 THEN $15 ELSE match_ratio END, \
             updated_at = $9, seq = $10 WHERE name = $11",
        )
        .bind(i64::from(update.description.is_some()))
        .bind(update.description.clone().unwrap_or_default())
        .bind(i64::from(update.enabled.is_some()))
        .bind(i64::from(update.enabled.unwrap_or(true)))
        .bind(i64::from(update.pdq_threshold.is_some()))
        .bind(update.pdq_threshold.flatten().map(i64::from))
        .bind(i64::from(update.kind.is_some()))
        .bind(update.kind.unwrap_or(BankKind::Block).name())
        .bind(w.now)
        .bind(w.seq)
        .bind(name)
        .bind(i64::from(update.name.is_some()))
        .bind(update.name.clone().unwrap_or_default())
        .bind(i64::from(update.match_ratio.is_some()))
        .bind(update.match_ratio.unwrap_or(1.0))
        .execute(&mut *w.tx)
        .await;
        if let (Err(sqlx::Error::Database(e)), Some(new)) = (&r, &update.name)
            && e.is_unique_violation()
        {
            return Err(Error::BankExists(new.clone()));
        }
        r?;
        let action = match update.enabled {
            Some(true) => "bank.enable",
            Some(false) => "bank.disable",
            None => "bank.update",
        };
        w.audit(
            actor,
            action,
            Some(name),
            None,
            json!({"description": update.description, "enabled": update.enabled,
                   "pdq_threshold": update.pdq_threshold, "kind": update.kind.map(|k| k.name()),
                   "name": update.name, "match_ratio": update.match_ratio}),
        )
        .await?;
        w.commit().await?;
        self.bank(update.name.as_deref().unwrap_or(name)).await
    }

    /// Deletes a bank with all its content (the audit log keeps the record of it).
    pub async fn delete_bank(&self, actor: &str, name: &str) -> Result<(), Error> {
        let mut w = self.write().await?;
        let id: i64 = sqlx::query("SELECT id FROM banks WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or_else(|| Error::NoBank(name.to_string()))?
            .try_get(0)?;
        let seq = w.seq;
        sqlx::query(
            "INSERT INTO tombstones (seq, bank_id, signal_id, kind, value, body) \
             SELECT $1, bank_id, id, kind, value, body FROM signals WHERE bank_id = $2",
        )
        .bind(seq)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        let n = sqlx::query("DELETE FROM content WHERE bank_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM banks WHERE id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        w.audit(
            actor,
            "bank.delete",
            Some(name),
            None,
            json!({"content": n}),
        )
        .await?;
        w.commit().await
    }
}
