//! Who may see which case records, and what analysts decided (schema version 11).
//!
//! * **Record scopes.** A subject (`key:NAME` for an API key, `user:NAME` for a UI user) may be
//!   limited to a set of areas: province codes (all their districts) or district codes. No row
//!   means no limit. The server filters every case route through it ([`Store::case_scope`]).
//! * **Link decisions.** An analyst confirms or rejects a link between two incidents (by
//!   reference, kept in order `a < b`), with a note; the latest decision on a pair replaces the
//!   earlier one. Rejected links are dropped from the network analysis, confirmed ones kept even
//!   below its threshold. Every decision is audited (`cases.link.confirm` / `cases.link.reject`).
//! * **Areas.** The province → district → tehsil hierarchy manual entries are validated against
//!   ([`Store::save_case_areas`], replaced as a whole, audited as `cases.areas`).

use serde_json::json;
use sqlx::Row;
use vigil_cases::areas::Areas;

use crate::{Error, Store};

/// One subject's record scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseScope {
    /// `key:NAME` or `user:NAME`.
    pub subject: String,
    /// Province or district codes, sorted.
    pub areas: Vec<String>,
}

/// An analyst's decision on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDecision {
    /// The first incident's reference (the lower of the two).
    pub a: String,
    /// The second incident's reference.
    pub b: String,
    /// Confirmed (`true`) or rejected.
    pub confirmed: bool,
    /// Why, in the analyst's words.
    pub note: String,
    /// Who decided.
    pub actor: String,
    /// When, ms since the Unix epoch.
    pub decided_at: i64,
}

/// The longest note kept on a decision, in bytes.
pub const MAX_NOTE: usize = 4000;
/// The most areas in one scope.
pub const MAX_SCOPE_AREAS: usize = 1000;

impl Store {
    /// The areas `subject` is limited to, sorted; empty when it is not limited.
    pub async fn case_scope(&self, subject: &str) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT area FROM case_scopes WHERE subject = $1 ORDER BY area")
            .bind(subject)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Every limited subject with its areas, by subject.
    pub async fn case_scopes(&self) -> Result<Vec<CaseScope>, Error> {
        let rows = sqlx::query("SELECT subject, area FROM case_scopes ORDER BY subject, area")
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<CaseScope> = Vec::new();
        for r in &rows {
            let subject: String = r.try_get(0)?;
            let area: String = r.try_get(1)?;
            match out.last_mut() {
                Some(s) if s.subject == subject => s.areas.push(area),
                _ => out.push(CaseScope {
                    subject,
                    areas: vec![area],
                }),
            }
        }
        Ok(out)
    }

    /// Limits `subject` to `areas` (replacing its scope; empty: no limit), audited as
    /// `cases.scope` by `actor`.
    pub async fn set_case_scope(
        &self,
        actor: &str,
        subject: &str,
        areas: &[String],
    ) -> Result<(), Error> {
        if !(subject.starts_with("key:") || subject.starts_with("user:")) || subject.len() > 300 {
            return Err(Error::Invalid(format!(
                "case scope subject {subject:?}: must be key:NAME or user:NAME"
            )));
        }
        if areas.len() > MAX_SCOPE_AREAS {
            return Err(Error::Invalid(format!(
                "case scope of {subject}: {} areas, at most {MAX_SCOPE_AREAS}",
                areas.len()
            )));
        }
        let mut areas: Vec<&str> = areas.iter().map(|a| a.trim()).collect();
        if let Some(bad) = areas.iter().find(|a| a.is_empty() || a.len() > 100) {
            return Err(Error::Invalid(format!(
                "case scope of {subject}: bad area code {bad:?}"
            )));
        }
        areas.sort_unstable();
        areas.dedup();
        let mut w = self.write().await?;
        sqlx::query("DELETE FROM case_scopes WHERE subject = $1")
            .bind(subject)
            .execute(&mut *w.tx)
            .await?;
        for a in &areas {
            sqlx::query("INSERT INTO case_scopes (subject, area) VALUES ($1, $2)")
                .bind(subject)
                .bind(a)
                .execute(&mut *w.tx)
                .await?;
        }
        w.audit(
            actor,
            "cases.scope",
            None,
            None,
            json!({"subject": subject, "areas": areas}),
        )
        .await?;
        w.commit().await
    }

    /// Records a decision on the link between incidents `a` and `b` (in either order),
    /// replacing an earlier one on the pair; audited as `cases.link.confirm` or
    /// `cases.link.reject` with the note.
    pub async fn decide_case_link(
        &self,
        actor: &str,
        a: &str,
        b: &str,
        confirmed: bool,
        note: &str,
    ) -> Result<LinkDecision, Error> {
        if a == b || a.is_empty() || b.is_empty() {
            return Err(Error::Invalid(format!(
                "a link joins two different incidents, not {a:?} and {b:?}"
            )));
        }
        if note.len() > MAX_NOTE {
            return Err(Error::Invalid(format!(
                "the note on link {a}–{b} is {} bytes, at most {MAX_NOTE}",
                note.len()
            )));
        }
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        let decision = if confirmed { "confirm" } else { "reject" };
        let mut w = self.write().await?;
        sqlx::query("DELETE FROM case_link_decisions WHERE a_ref = $1 AND b_ref = $2")
            .bind(a)
            .bind(b)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query(
            "INSERT INTO case_link_decisions (a_ref, b_ref, decision, note, actor, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a)
        .bind(b)
        .bind(decision)
        .bind(note)
        .bind(actor)
        .bind(w.now)
        .execute(&mut *w.tx)
        .await?;
        let now = w.now;
        w.audit(
            actor,
            &format!("cases.link.{decision}"),
            None,
            None,
            json!({"a": a, "b": b, "note": note}),
        )
        .await?;
        w.commit().await?;
        Ok(LinkDecision {
            a: a.into(),
            b: b.into(),
            confirmed,
            note: note.into(),
            actor: actor.into(),
            decided_at: now,
        })
    }

    /// Every link decision, by pair.
    pub async fn case_link_decisions(&self) -> Result<Vec<LinkDecision>, Error> {
        let rows = sqlx::query(
            "SELECT a_ref, b_ref, decision, note, actor, decided_at FROM case_link_decisions \
             ORDER BY a_ref, b_ref",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let d: String = r.try_get(2)?;
                Ok(LinkDecision {
                    a: r.try_get(0)?,
                    b: r.try_get(1)?,
                    confirmed: d == "confirm",
                    note: r.try_get(3)?,
                    actor: r.try_get(4)?,
                    decided_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Replaces the area hierarchy, audited as `cases.areas` by `actor`.
    pub async fn save_case_areas(&self, actor: &str, areas: &Areas) -> Result<(), Error> {
        let mut w = self.write().await?;
        sqlx::query("DELETE FROM case_areas")
            .execute(&mut *w.tx)
            .await?;
        for (level, map) in [
            ("province", &areas.provinces),
            ("district", &areas.districts),
            ("tehsil", &areas.tehsils),
        ] {
            for (code, info) in map {
                sqlx::query(
                    "INSERT INTO case_areas (code, name, level, parent) VALUES ($1, $2, $3, $4)",
                )
                .bind(code)
                .bind(&info.name)
                .bind(level)
                .bind(info.parent.as_deref())
                .execute(&mut *w.tx)
                .await?;
            }
        }
        w.audit(
            actor,
            "cases.areas",
            None,
            None,
            json!({
                "provinces": areas.provinces.len(),
                "districts": areas.districts.len(),
                "tehsils": areas.tehsils.len(),
            }),
        )
        .await?;
        w.commit().await
    }

    /// Whether an incident with reference `reference` is stored.
    pub async fn case_incident_exists(&self, reference: &str) -> Result<bool, Error> {
        Ok(sqlx::query("SELECT 1 FROM case_incidents WHERE ref = $1")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// The area hierarchy (empty until [`Store::save_case_areas`]).
    pub async fn case_areas(&self) -> Result<Areas, Error> {
        let rows = sqlx::query("SELECT code, name, level, parent FROM case_areas ORDER BY code")
            .fetch_all(&self.pool)
            .await?;
        let mut areas = Areas::default();
        for r in &rows {
            let code: String = r.try_get(0)?;
            let name: String = r.try_get(1)?;
            let level: String = r.try_get(2)?;
            let parent: Option<String> = r.try_get(3)?;
            let parent = parent.unwrap_or_default();
            match level.as_str() {
                "province" => areas.add_province(&code, &name),
                "district" => areas.add_district(&code, &name, &parent),
                _ => areas.add_tehsil(&code, &name, &parent),
            }
        }
        Ok(areas)
    }
}
