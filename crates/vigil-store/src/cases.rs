//! The case registry's tables (schema version 8): incidents, their sources, the identifiers they
//! name and their points, for `vigil-cases`.
//!
//! An incident is kept as its `vigil_cases::Incident` JSON (the whole record: categories, flags,
//! pseudonymised victims and abusers) beside the columns statistics and look-ups filter on
//! (reference, taxonomy, year, category, subtype, province, district). Sources and identifiers
//! have their own rows, so "which incidents name this phone?" is an index look-up. Points live in
//! their own table, apart from the record: exact locations are the most sensitive field and a
//! reader who may see counts but not places (a viewer) is served without ever reading that table.
//!
//! Saving is one transaction per call (all incidents or none), replaces incidents by reference,
//! and is audited; every read of case records is audited too (who read how many, and whether with
//! points), as Primero does.

use futures_util::TryStreamExt;
use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::json;
use sqlx::Row;
use vigil_cases::model::{Date, Identifier, IdentifierKind, Incident, Point, Source};

use crate::{Error, ROWS, Store, insert_rows, values};

/// What [`Store::save_incidents`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CasesSaved {
    /// Incidents new to the store.
    pub inserted: usize,
    /// Incidents that replaced one with the same reference.
    pub replaced: usize,
}

/// What [`Store::add_case_source`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceAdded {
    /// The source was added; the incident now has this many sources.
    Added {
        /// Sources of the incident after the addition.
        sources: usize,
    },
    /// No incident has that reference; nothing was written.
    NoIncident,
    /// The incident already has a source with the same outlet (compared case-insensitively,
    /// trimmed), date and link; nothing was written.
    Duplicate,
}

/// Counts a change of the case registry (in the change's transaction), so readers that keep
/// the registry in memory ([`Store::cases_version`]) know to read it again; returns the new
/// count, which the change's incident rows carry (`changed`, [`Store::incidents_changed`]).
async fn bump_cases_version(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64, Error> {
    Ok(sqlx::query(
        "INSERT INTO counters (name, value) VALUES ('cases', 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?)
}

fn invalid(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("case record {what}: {e}"))
}

/// The incident of a `case_incidents` row whose columns `at` and `at + 1` are `ref` and
/// `record`; a record that does not parse is an error naming its reference.
fn incident_at(r: &sqlx::any::AnyRow, at: usize) -> Result<Incident, Error> {
    let reference: String = r.try_get(at)?;
    let text: String = r.try_get(at + 1)?;
    serde_json::from_str(&text).map_err(|e| invalid(&reference, e))
}

impl Store {
    /// Saves incidents (new, or replacing the stored incident with the same id) in one
    /// transaction, audited as `cases.save` by `actor`. An id given twice is saved as its last
    /// record, the earlier ones counting as replaced, as if they were saved one after another.
    ///
    /// Written [`ROWS`] incidents a statement (their sources, identifiers and points likewise),
    /// with positional parameters ([`values`]): one statement per row was ~7 statements an
    /// incident.
    pub async fn save_incidents(
        &self,
        incidents: &[Incident],
        actor: &str,
    ) -> Result<CasesSaved, Error> {
        let be = self.backend;
        let mut w = self.write().await?;
        let change = bump_cases_version(&mut w.tx).await?;
        let mut saved = CasesSaved::default();
        let last: HashMap<&str, usize> = incidents
            .iter()
            .enumerate()
            .map(|(i, inc)| (inc.id.as_str(), i))
            .collect();
        let mut seen: HashSet<&str> = HashSet::new();
        for (c, chunk) in incidents.chunks(ROWS).enumerate() {
            // The stored incidents this chunk replaces (their rows go with them: ON DELETE
            // CASCADE).
            let refs: Vec<&str> = chunk
                .iter()
                .map(|inc| inc.id.as_str())
                .filter(|r| !seen.contains(r))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut stored: HashSet<String> = HashSet::new();
            if !refs.is_empty() {
                let sql = format!(
                    "DELETE FROM case_incidents WHERE ref IN ({}) RETURNING ref",
                    values(be, refs.len(), "?")
                );
                let mut q = sqlx::query(&sql);
                for r in &refs {
                    q = q.bind(*r);
                }
                for row in q.fetch_all(&mut *w.tx).await? {
                    stored.insert(row.try_get(0)?);
                }
            }
            let mut rows = Vec::with_capacity(chunk.len());
            for (i, inc) in chunk.iter().enumerate() {
                let id = inc.id.as_str();
                let first = seen.insert(id);
                if stored.contains(id) || !first {
                    saved.replaced += 1;
                } else {
                    saved.inserted += 1;
                }
                if last[id] == c * ROWS + i {
                    rows.push(inc);
                }
            }
            if rows.is_empty() {
                continue;
            }
            let sql = format!(
                "INSERT INTO case_incidents (ref, taxonomy, year, category, subtype, province, \
                 district, record, created_at, updated_at, changed) VALUES {} RETURNING id, ref",
                values(
                    be,
                    rows.len(),
                    &format!("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {change})")
                )
            );
            let mut q = sqlx::query(&sql);
            for inc in &rows {
                // The record holds the whole incident but its point (sources and identifiers
                // too, so the registry reads back in one pass; their rows are for searching).
                let mut record = (*inc).clone();
                record.area.point = None;
                let text = serde_json::to_string(&record).map_err(|e| invalid(&inc.id, e))?;
                q = q
                    .bind(&inc.id)
                    .bind(&inc.taxonomy)
                    .bind(i64::from(inc.date.year))
                    .bind(&inc.category)
                    .bind(inc.subtype.as_deref())
                    .bind(&inc.area.province)
                    .bind(&inc.area.district)
                    .bind(text)
                    .bind(w.now)
                    .bind(w.now);
            }
            let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
            for row in q.fetch_all(&mut *w.tx).await? {
                ids.insert(row.try_get(1)?, row.try_get(0)?);
            }
            let id_of = |inc: &Incident| {
                ids.get(&inc.id).copied().ok_or_else(|| {
                    Error::Invalid(format!("case record {}: no id came back", inc.id))
                })
            };
            let mut sources = Vec::new();
            let mut identifiers = Vec::new();
            let mut points = Vec::new();
            for inc in &rows {
                let id = id_of(inc)?;
                sources.extend(inc.sources.iter().map(|s| (id, s)));
                identifiers.extend(inc.identifiers.iter().map(|x| (id, x)));
                points.extend(inc.area.point.map(|p| (id, p)));
            }
            insert_rows(
                &mut w.tx,
                be,
                "INSERT INTO case_sources (incident_id, outlet, report_date, link)",
                "(?, ?, ?, ?)",
                &sources,
                |q, (id, s)| {
                    q.bind(*id)
                        .bind(&s.outlet)
                        .bind(s.date.to_string())
                        .bind(s.link.as_deref())
                },
            )
            .await?;
            insert_rows(
                &mut w.tx,
                be,
                "INSERT INTO case_identifiers (incident_id, kind, value, source, \
                 confidence_milli, first_seen, last_seen)",
                "(?, ?, ?, ?, ?, ?, ?)",
                &identifiers,
                |q, (id, x)| {
                    q.bind(*id)
                        .bind(x.kind.name())
                        .bind(&x.value)
                        .bind(&x.source)
                        .bind((f64::from(x.confidence) * 1000.0).round() as i64)
                        .bind(x.first_seen.map(|d| d.to_string()))
                        .bind(x.last_seen.map(|d| d.to_string()))
                },
            )
            .await?;
            insert_rows(
                &mut w.tx,
                be,
                "INSERT INTO case_points (incident_id, lat_e6, lon_e6)",
                "(?, ?, ?)",
                &points,
                |q, (id, p)| {
                    q.bind(*id)
                        .bind((p.lat * 1e6).round() as i64)
                        .bind((p.lon * 1e6).round() as i64)
                },
            )
            .await?;
        }
        w.audit(
            actor,
            "cases.save",
            None,
            None,
            json!({"inserted": saved.inserted, "replaced": saved.replaced}),
        )
        .await?;
        w.commit().await?;
        Ok(saved)
    }

    /// The case registry's change counter: it grows with every committed save of incidents
    /// and every added source (0 before the first). Equal counters, equal registry.
    pub async fn cases_version(&self) -> Result<i64, Error> {
        let row = sqlx::query("SELECT value FROM counters WHERE name = 'cases'")
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        })
    }

    /// Every incident, ordered by reference, with its sources and identifiers (from its record,
    /// one row an incident), and with its point only when `with_points` (otherwise the points
    /// table is not read). Audited as `cases.read` by `actor`.
    pub async fn incidents(&self, actor: &str, with_points: bool) -> Result<Vec<Incident>, Error> {
        // Streamed, not fetched whole: at 100,000 incidents a materialised result is hundreds
        // of MB of rows the kernel must first zero.
        let mut rows = sqlx::query("SELECT id, ref, record FROM case_incidents ORDER BY ref")
            .fetch(&self.pool);
        let mut out = Vec::new();
        let mut index = std::collections::HashMap::new();
        while let Some(r) = rows.try_next().await? {
            index.insert(r.try_get::<i64, _>(0)?, out.len());
            out.push(incident_at(&r, 1)?);
        }
        if with_points {
            drop(rows);
            let mut rows = sqlx::query("SELECT incident_id, lat_e6, lon_e6 FROM case_points")
                .fetch(&self.pool);
            while let Some(r) = rows.try_next().await? {
                let Some(&i) = index.get(&r.try_get::<i64, _>(0)?) else {
                    continue;
                };
                let (lat, lon): (i64, i64) = (r.try_get(1)?, r.try_get(2)?);
                out[i].area.point = Some(Point {
                    lat: lat as f64 / 1e6,
                    lon: lon as f64 / 1e6,
                });
            }
        }
        let mut w = self.write().await?;
        w.audit(
            actor,
            "cases.read",
            None,
            None,
            json!({"incidents": out.len(), "points": with_points}),
        )
        .await?;
        w.commit().await?;
        Ok(out)
    }

    /// The incidents written by registry changes after change `since` (saved, replaced or
    /// given a source: [`Store::cases_version`] counts the changes), ordered by reference,
    /// without points: what a reader holding the registry as of `since` must merge in, by
    /// reference, to hold it as of now (incidents are never deleted, only replaced). Audited
    /// as `cases.read` by `actor`.
    pub async fn incidents_changed(&self, since: i64, actor: &str) -> Result<Vec<Incident>, Error> {
        let rows =
            sqlx::query("SELECT ref, record FROM case_incidents WHERE changed > $1 ORDER BY ref")
                .bind(since)
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(incident_at(r, 0)?);
        }
        let mut w = self.write().await?;
        w.audit(
            actor,
            "cases.read",
            None,
            None,
            json!({"incidents": out.len(), "points": false, "changed_since": since}),
        )
        .await?;
        w.commit().await?;
        Ok(out)
    }

    /// Adds one report to a stored incident (the same case reported by another outlet), in one
    /// transaction audited as `cases.source.add` by `actor`. A source equal to one the incident
    /// has (outlet, date and link) is refused as [`SourceAdded::Duplicate`]. The caller checks
    /// the source itself (outlet not empty, dates) and the caller's right to the incident.
    pub async fn add_case_source(
        &self,
        reference: &str,
        source: &Source,
        actor: &str,
    ) -> Result<SourceAdded, Error> {
        let mut w = self.write().await?;
        let Some(row) = sqlx::query("SELECT id FROM case_incidents WHERE ref = $1")
            .bind(reference)
            .fetch_optional(&mut *w.tx)
            .await?
        else {
            return Ok(SourceAdded::NoIncident);
        };
        let id: i64 = row.try_get(0)?;
        let rows = sqlx::query(
            "SELECT outlet, report_date, link FROM case_sources WHERE incident_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *w.tx)
        .await?;
        let outlet = source.outlet.trim().to_lowercase();
        let date = source.date.to_string();
        for r in &rows {
            let (o, d, l): (String, String, Option<String>) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            if o.trim().to_lowercase() == outlet && d == date && l == source.link {
                return Ok(SourceAdded::Duplicate);
            }
        }
        sqlx::query(
            "INSERT INTO case_sources (incident_id, outlet, report_date, link) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(source.outlet.trim())
        .bind(&date)
        .bind(source.link.as_deref())
        .execute(&mut *w.tx)
        .await?;
        // The record holds the sources too.
        let text: String = sqlx::query("SELECT record FROM case_incidents WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?
            .try_get(0)?;
        let mut record: Incident =
            serde_json::from_str(&text).map_err(|e| invalid(reference, e))?;
        record.sources.push(Source {
            outlet: source.outlet.trim().to_string(),
            date: source.date,
            link: source.link.clone(),
        });
        let text = serde_json::to_string(&record).map_err(|e| invalid(reference, e))?;
        let change = bump_cases_version(&mut w.tx).await?;
        sqlx::query(
            "UPDATE case_incidents SET updated_at = $1, record = $2, changed = $3 WHERE id = $4",
        )
        .bind(w.now)
        .bind(text)
        .bind(change)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            actor,
            "cases.source.add",
            None,
            None,
            json!({"incident": reference, "outlet": source.outlet.trim(), "date": date,
                   "link": source.link}),
        )
        .await?;
        w.commit().await?;
        Ok(SourceAdded::Added {
            sources: rows.len() + 1,
        })
    }

    /// References of the incidents that name an identifier (kind and normalised value), sorted.
    pub async fn incidents_naming(
        &self,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Vec<String>, Error> {
        let rows = sqlx::query(
            "SELECT DISTINCT i.ref FROM case_identifiers x JOIN case_incidents i ON i.id = x.incident_id \
             WHERE x.kind = $1 AND x.value = $2 ORDER BY i.ref",
        )
        .bind(kind.name())
        .bind(kind.normalise(value))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}

/// Migration 16: records written before it held neither sources nor identifiers (those were
/// read from their rows each time); each record gets them from its rows, in row order.
pub(crate) async fn embed_case_children(conn: &mut sqlx::AnyConnection) -> Result<usize, Error> {
    let mut records: std::collections::BTreeMap<i64, Incident> = Default::default();
    for r in sqlx::query("SELECT id, ref, record FROM case_incidents")
        .fetch_all(&mut *conn)
        .await?
    {
        records.insert(r.try_get(0)?, incident_at(&r, 1)?);
    }
    let date = |s: String, what: &str| {
        Date::parse(&s).ok_or_else(|| invalid(what, format!("bad date {s:?}")))
    };
    let mut touched = std::collections::BTreeSet::new();
    for r in
        sqlx::query("SELECT incident_id, outlet, report_date, link FROM case_sources ORDER BY id")
            .fetch_all(&mut *conn)
            .await?
    {
        let id: i64 = r.try_get(0)?;
        let Some(inc) = records.get_mut(&id) else {
            continue;
        };
        let d = date(r.try_get(2)?, &inc.id)?;
        inc.sources.push(Source {
            outlet: r.try_get(1)?,
            date: d,
            link: r.try_get(3)?,
        });
        touched.insert(id);
    }
    for r in sqlx::query(
        "SELECT incident_id, kind, value, source, confidence_milli, first_seen, last_seen \
         FROM case_identifiers ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let id: i64 = r.try_get(0)?;
        let Some(inc) = records.get_mut(&id) else {
            continue;
        };
        let kind: String = r.try_get(1)?;
        let kind = IdentifierKind::parse(&kind)
            .ok_or_else(|| invalid(&inc.id, format!("unknown identifier kind {kind:?}")))?;
        let milli: i64 = r.try_get(4)?;
        let first: Option<String> = r.try_get(5)?;
        let last: Option<String> = r.try_get(6)?;
        let first_seen = first.map(|s| date(s, &inc.id)).transpose()?;
        let last_seen = last.map(|s| date(s, &inc.id)).transpose()?;
        inc.identifiers.push(Identifier {
            kind,
            value: r.try_get(2)?,
            source: r.try_get(3)?,
            confidence: milli as f32 / 1000.0,
            first_seen,
            last_seen,
        });
        touched.insert(id);
    }
    for id in &touched {
        let inc = &records[id];
        let text = serde_json::to_string(inc).map_err(|e| invalid(&inc.id, e))?;
        sqlx::query("UPDATE case_incidents SET record = $1 WHERE id = $2")
            .bind(text)
            .bind(*id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(touched.len())
}

// ---- Migration 10: the case map (boundaries and population figures). ----

/// What [`Store::save_boundaries`] and [`Store::save_population`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MapSaved {
    /// Rows written.
    pub written: usize,
    /// Rows of the same level (boundaries) or key (population) that were replaced.
    pub replaced: usize,
}

impl Store {
    /// Imports validated boundaries of one level (1 province, 2 district, 3 tehsil) in one
    /// transaction: the level's previous boundaries are replaced as a whole (a boundaries file
    /// is one map), all or nothing. Audited as `cases.boundaries.import` by `actor`.
    pub async fn save_boundaries(
        &self,
        b: &vigil_cases::geo::Boundaries,
        level: i64,
        source: &str,
        actor: &str,
    ) -> Result<MapSaved, Error> {
        if !(1..=3).contains(&level) {
            return Err(Error::Invalid(format!(
                "boundary level {level}: expected 1 (province), 2 (district) or 3 (tehsil)"
            )));
        }
        let mut w = self.write().await?;
        let gone = sqlx::query("DELETE FROM case_boundaries WHERE level = $1")
            .bind(level)
            .execute(&mut *w.tx)
            .await?
            .rows_affected() as usize;
        for a in &b.areas {
            // A code imported at another level is a conflict, not a move: refuse the file.
            let other = sqlx::query("SELECT level FROM case_boundaries WHERE area_code = $1")
                .bind(&a.code)
                .fetch_optional(&mut *w.tx)
                .await?;
            if let Some(r) = other {
                let l: i64 = r.try_get(0)?;
                return Err(Error::Invalid(format!(
                    "boundaries {source}: area {} already has a level-{l} boundary; nothing imported",
                    a.code
                )));
            }
            sqlx::query(
                "INSERT INTO case_boundaries (area_code, name, level, geometry, source, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&a.code)
            .bind(a.name.as_deref())
            .bind(level)
            .bind(a.geometry().to_string())
            .bind(source)
            .bind(w.now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.audit(
            actor,
            "cases.boundaries.import",
            None,
            None,
            json!({"level": level, "areas": b.areas.len(), "replaced": gone, "source": source}),
        )
        .await?;
        w.commit().await?;
        Ok(MapSaved {
            written: b.areas.len(),
            replaced: gone,
        })
    }

    /// The stored boundaries of a level (all levels with `None`), ordered by area code.
    pub async fn boundaries(
        &self,
        level: Option<i64>,
    ) -> Result<vigil_cases::geo::Boundaries, Error> {
        let rows = sqlx::query(
            "SELECT area_code, name, geometry FROM case_boundaries \
             WHERE ($1 IS NULL OR level = $1) ORDER BY area_code",
        )
        .bind(level)
        .fetch_all(&self.pool)
        .await?;
        let mut areas = Vec::with_capacity(rows.len());
        for r in &rows {
            let code: String = r.try_get(0)?;
            let text: String = r.try_get(2)?;
            let g: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| invalid(&code, e))?;
            let polygons = vigil_cases::geo::parse_geometry(&g).map_err(|e| invalid(&code, e))?;
            areas.push(vigil_cases::geo::Boundary {
                code,
                name: r.try_get(1)?,
                polygons,
            });
        }
        Ok(vigil_cases::geo::Boundaries { areas })
    }

    /// Imports population figures in one transaction, each replacing the stored figure of the
    /// same area, year and age group, all or nothing. Audited as `cases.population.import`.
    pub async fn save_population(
        &self,
        t: &vigil_cases::population::PopulationTable,
        source: &str,
        actor: &str,
    ) -> Result<MapSaved, Error> {
        let mut w = self.write().await?;
        let mut saved = MapSaved::default();
        for r in &t.rows {
            let population = i64::try_from(r.population)
                .map_err(|_| invalid(&r.area, "population too large"))?;
            saved.replaced += sqlx::query(
                "DELETE FROM case_population WHERE area_code = $1 AND year = $2 AND age_group = $3",
            )
            .bind(&r.area)
            .bind(i64::from(r.year))
            .bind(&r.group)
            .execute(&mut *w.tx)
            .await?
            .rows_affected() as usize;
            sqlx::query(
                "INSERT INTO case_population (area_code, year, population, age_group, source, \
                 imported_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&r.area)
            .bind(i64::from(r.year))
            .bind(population)
            .bind(&r.group)
            .bind(source)
            .bind(w.now)
            .execute(&mut *w.tx)
            .await?;
            saved.written += 1;
        }
        w.audit(
            actor,
            "cases.population.import",
            None,
            None,
            json!({"rows": saved.written, "replaced": saved.replaced, "source": source}),
        )
        .await?;
        w.commit().await?;
        Ok(saved)
    }

    /// Every stored population figure, ordered by area, age group and year.
    pub async fn population(&self) -> Result<vigil_cases::population::PopulationTable, Error> {
        let rows = sqlx::query(
            "SELECT area_code, year, population, age_group FROM case_population \
             ORDER BY area_code, age_group, year",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let area: String = r.try_get(0)?;
            let year: i64 = r.try_get(1)?;
            let population: i64 = r.try_get(2)?;
            out.push(vigil_cases::population::PopulationRow {
                year: i32::try_from(year).map_err(|e| invalid(&area, e))?,
                population: u64::try_from(population).map_err(|e| invalid(&area, e))?,
                group: r.try_get(3)?,
                area,
            });
        }
        Ok(vigil_cases::population::PopulationTable { rows: out })
    }

    /// Imports SDG 16.2 indicator figures in one transaction, each replacing the stored figure
    /// of the same indicator, area, year, sex and age group. Audited as
    /// `cases.indicators.import`.
    pub async fn save_indicators(
        &self,
        figures: &[vigil_cases::indicators::Figure],
        file: &str,
        actor: &str,
    ) -> Result<MapSaved, Error> {
        let mut w = self.write().await?;
        let mut saved = MapSaved::default();
        for f in figures {
            saved.replaced += sqlx::query(
                "DELETE FROM case_indicators WHERE indicator = $1 AND area_code = $2 \
                 AND year = $3 AND sex = $4 AND age_group = $5",
            )
            .bind(&f.indicator)
            .bind(&f.area)
            .bind(i64::from(f.year))
            .bind(&f.sex)
            .bind(&f.age_group)
            .execute(&mut *w.tx)
            .await?
            .rows_affected() as usize;
            sqlx::query(
                "INSERT INTO case_indicators (indicator, area_code, year, sex, age_group, value, \
                 unit, source, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&f.indicator)
            .bind(&f.area)
            .bind(i64::from(f.year))
            .bind(&f.sex)
            .bind(&f.age_group)
            .bind(&f.value)
            .bind(&f.unit)
            .bind(&f.source)
            .bind(w.now)
            .execute(&mut *w.tx)
            .await?;
            saved.written += 1;
        }
        w.audit(
            actor,
            "cases.indicators.import",
            None,
            None,
            json!({"rows": saved.written, "replaced": saved.replaced, "file": file}),
        )
        .await?;
        w.commit().await?;
        Ok(saved)
    }

    /// Every stored indicator figure, by indicator, area, year, sex and age group.
    pub async fn indicators(&self) -> Result<Vec<vigil_cases::indicators::Figure>, Error> {
        let rows = sqlx::query(
            "SELECT indicator, area_code, year, value, unit, sex, age_group, source \
             FROM case_indicators ORDER BY indicator, area_code, year, sex, age_group",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let area: String = r.try_get(1)?;
            let year: i64 = r.try_get(2)?;
            out.push(vigil_cases::indicators::Figure {
                indicator: r.try_get(0)?,
                year: i32::try_from(year).map_err(|e| invalid(&area, e))?,
                area,
                value: r.try_get(3)?,
                unit: r.try_get(4)?,
                sex: r.try_get(5)?,
                age_group: r.try_get(6)?,
                source: r.try_get(7)?,
            });
        }
        Ok(out)
    }
}
