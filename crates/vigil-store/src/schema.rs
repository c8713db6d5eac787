//! The schema and its migrations, one list for both databases.
//!
//! Each migration is written once in a dialect both SQLite and PostgreSQL accept, with three
//! markers replaced per backend: `{ID}` (an auto-assigned 64-bit primary key), `{INT}` (a
//! 64-bit integer) and `{TS}` (a timestamp: milliseconds since the Unix epoch, as `{INT}`).
//! Applied migrations are recorded in `vigil_schema`; a database whose schema is newer than this
//! build is refused rather than touched.
//!
//! Timestamps are integers (milliseconds, UTC) because the two databases share no date type the
//! runtime-generic driver can carry; booleans are `{INT}` 0/1 for the same reason. Timestamps
//! *from lists* (first/last seen) are kept as the list wrote them, in text, inside provenance.

use sqlx::AnyConnection;
use sqlx::{Connection, Row};

use crate::{Backend, Error};

/// A migration's statements (separated by `;` at line ends): the same for both databases, or
/// one text per database where they share no way to say it.
enum Sql {
    Both(&'static str),
    Each {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

/// `(version, name, statements)`.
const MIGRATIONS: &[(i64, &str, Sql)] = &[
    (
        1,
        "banks, content, signals, provenance, audit",
        Sql::Both(V1),
    ),
    (2, "exchanges", Sql::Both(V2)),
    (
        3,
        "signal values and identities as bytes",
        Sql::Each {
            sqlite: V3_SQLITE,
            postgres: V3_POSTGRES,
        },
    ),
    (
        4,
        "bank match ratio, content metadata, API keys",
        Sql::Both(V4),
    ),
    (5, "users and sessions", Sql::Both(V5)),
    (6, "long signal values as a key and a body", Sql::Both(V6)),
    (
        7,
        "crawls: frontier, fetched content, findings",
        Sql::Both(V7),
    ),
    (8, "case registry", Sql::Both(V8)),
    (9, "crawl removal notices sent", Sql::Both(V9)),
    // Migration 10 (the case map: boundaries and population figures).
    (10, "case map: boundaries and population", Sql::Both(V10)),
    // Migration 11 (case access): record scopes, link decisions, the area hierarchy.
    (
        11,
        "case access: scopes, link decisions, areas",
        Sql::Both(V11),
    ),
    // Migration 12 (the case map page): server secrets (the displacement key).
    (12, "server secrets", Sql::Both(V12)),
    // Migration 13 (crawl queue): reported URLs waiting for a crawl; uncontactable notices.
    (
        13,
        "crawl report queue, uncontactable notices",
        Sql::Both(V13),
    ),
    // Migration 15: SDG 16.2 indicators imported as published.
    (15, "case indicators (SDG 16.2)", Sql::Both(V15)),
    // Migration 16: a case record holds its sources and identifiers (a data step, no DDL:
    // `cases::embed_case_children`), so the registry reads back one row an incident.
    (
        16,
        "case records hold their sources and identifiers",
        Sql::Both(""),
    ),
    // Migration 17: frontier entries found where media is expected are taken first.
    (17, "crawl frontier: media taken first", Sql::Both(V17)),
    // Migration 18: each incident row carries the registry change that wrote it, so a reader
    // holding the registry reads only what changed since.
    (
        18,
        "case incidents: the change that wrote each",
        Sql::Both(V18),
    ),
];

const V1: &str = r#"
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value {INT} NOT NULL
);
INSERT INTO counters (name, value) VALUES ('seq', 0);
CREATE TABLE banks (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('block', 'allow')),
    enabled {INT} NOT NULL DEFAULT 1,
    pdq_threshold {INT} NULL CHECK (pdq_threshold BETWEEN 0 AND 256),
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    seq {INT} NOT NULL
);
CREATE TABLE content (
    id {ID},
    bank_id {INT} NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    ikey TEXT NOT NULL,
    external_id TEXT NULL,
    uri TEXT NULL,
    note TEXT NULL,
    source TEXT NOT NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    disabled_until {TS} NULL,
    seq {INT} NOT NULL,
    UNIQUE (bank_id, ikey)
);
CREATE TABLE signals (
    id {ID},
    content_id {INT} NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    bank_id {INT} NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    disabled_until {TS} NULL,
    seq {INT} NOT NULL,
    UNIQUE (content_id, kind, value)
);
CREATE INDEX signals_by_value ON signals (kind, value);
CREATE INDEX signals_by_seq ON signals (seq);
CREATE TABLE provenance (
    id {ID},
    content_id {INT} NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    category_scheme TEXT NULL,
    category TEXT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    first_seen TEXT NULL,
    last_seen TEXT NULL,
    record TEXT NOT NULL DEFAULT '{}',
    imported_at {TS} NOT NULL,
    UNIQUE (content_id, source)
);
CREATE TABLE tombstones (
    seq {INT} NOT NULL,
    bank_id {INT} NOT NULL,
    signal_id {INT} NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX tombstones_by_seq ON tombstones (seq);
CREATE TABLE audit (
    id {ID},
    at {TS} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    bank TEXT NULL,
    content_id {INT} NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON audit (at);
CREATE TABLE verdicts (
    id {ID},
    at {TS} NOT NULL,
    actor TEXT NOT NULL,
    bank_id {INT} NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    content_id {INT} NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    query TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('true_positive', 'false_positive')),
    note TEXT NULL
);
CREATE INDEX verdicts_by_bank ON verdicts (bank_id, at)
"#;

/// Exchanges: configured sources a bank is fetched from, with their checkpoint and status, and
/// per exchange the newest change applied for each external id (so that out-of-order pages and
/// pages fetched twice cannot undo a newer change).
const V2: &str = r#"
CREATE TABLE exchanges (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    bank_id {INT} NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    config TEXT NOT NULL,
    checkpoint TEXT NULL,
    created_at {TS} NOT NULL,
    last_fetch_at {TS} NULL,
    last_status TEXT NULL,
    last_error TEXT NULL,
    records {INT} NOT NULL DEFAULT 0,
    deletions {INT} NOT NULL DEFAULT 0,
    errors {INT} NOT NULL DEFAULT 0
);
CREATE TABLE exchange_items (
    exchange_id {INT} NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    at_us {INT} NOT NULL,
    deleted {INT} NOT NULL,
    PRIMARY KEY (exchange_id, external_id)
)
"#;

/// Version 3: a signal's value is kept as bytes (the digest itself for the hex kinds, `pdq`,
/// `md5`, `sha1`, `sha256`; the UTF-8 text for the others), and so is an item's identity within
/// its bank: `ikind` is `''` for an item known by its external id (`ikey`: the id's UTF-8) or the
/// kind of the signal it is known by (`ikey`: that signal's value bytes). One index on
/// `(kind, value, content_id)` replaces the two signal indexes that each held the value. A PDQ
/// hash was held five times as 64 hex digits; it is now held four times in 32 bytes (item
/// identity and its index, signal value and its index): a plain-list item takes 283 bytes
/// instead of 513, and bulk import speed is made of bytes written.
///
/// The change feed is read in pages ordered by `(seq, signal id)`: its indexes hold both (an
/// SQLite index holds the row id already).
///
/// SQLite cannot change a column's type or drop a table's constraint: the tables are rebuilt
/// (with foreign keys off, see [`migrate`]); PostgreSQL alters them in place.
const V3_SQLITE: &str = r#"
CREATE TABLE content_v3 (
    id {ID},
    bank_id {INT} NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    ikind TEXT NOT NULL,
    ikey {BLOB} NOT NULL,
    external_id TEXT NULL,
    uri TEXT NULL,
    note TEXT NULL,
    source TEXT NOT NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    disabled_until {TS} NULL,
    seq {INT} NOT NULL,
    UNIQUE (bank_id, ikind, ikey)
);
INSERT INTO content_v3 (id, bank_id, ikind, ikey, external_id, uri, note, source, created_at,
    updated_at, disabled_until, seq)
SELECT id, bank_id,
    CASE WHEN substr(ikey, 1, 3) = 'id:' THEN ''
         ELSE substr(ikey, 5, instr(substr(ikey, 5), ':') - 1) END,
    CASE WHEN substr(ikey, 1, 3) = 'id:' THEN CAST(substr(ikey, 4) AS BLOB)
         WHEN substr(ikey, 5, instr(substr(ikey, 5), ':') - 1) IN ('pdq', 'md5', 'sha1', 'sha256')
         THEN unhex(substr(ikey, 5 + instr(substr(ikey, 5), ':')))
         ELSE CAST(substr(ikey, 5 + instr(substr(ikey, 5), ':')) AS BLOB) END,
    external_id, uri, note, source, created_at, updated_at, disabled_until, seq
FROM content ORDER BY id;
DROP TABLE content;
ALTER TABLE content_v3 RENAME TO content;
CREATE TABLE signals_v3 (
    id {ID},
    content_id {INT} NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    bank_id {INT} NOT NULL,
    kind TEXT NOT NULL,
    value {BLOB} NOT NULL,
    disabled_until {TS} NULL,
    seq {INT} NOT NULL,
    UNIQUE (kind, value, content_id)
);
INSERT INTO signals_v3 (id, content_id, bank_id, kind, value, disabled_until, seq)
SELECT id, content_id, bank_id, kind,
    CASE WHEN kind IN ('pdq', 'md5', 'sha1', 'sha256') THEN unhex(value)
         ELSE CAST(value AS BLOB) END,
    disabled_until, seq
FROM signals ORDER BY id;
DROP TABLE signals;
ALTER TABLE signals_v3 RENAME TO signals;
CREATE INDEX signals_by_content ON signals (content_id);
CREATE INDEX signals_by_seq ON signals (seq);
CREATE TABLE tombstones_v3 (
    seq {INT} NOT NULL,
    bank_id {INT} NOT NULL,
    signal_id {INT} NOT NULL,
    kind TEXT NOT NULL,
    value {BLOB} NOT NULL
);
INSERT INTO tombstones_v3 (seq, bank_id, signal_id, kind, value)
SELECT seq, bank_id, signal_id, kind,
    CASE WHEN kind IN ('pdq', 'md5', 'sha1', 'sha256') THEN unhex(value)
         ELSE CAST(value AS BLOB) END
FROM tombstones ORDER BY rowid;
DROP TABLE tombstones;
ALTER TABLE tombstones_v3 RENAME TO tombstones;
CREATE INDEX tombstones_by_seq ON tombstones (seq, signal_id)
"#;

const V3_POSTGRES: &str = r#"
ALTER TABLE content ADD COLUMN ikind TEXT NOT NULL DEFAULT '';
UPDATE content SET ikind = split_part(ikey, ':', 2) WHERE ikey LIKE 'sig:%';
ALTER TABLE content DROP CONSTRAINT content_bank_id_ikey_key;
ALTER TABLE content ALTER COLUMN ikey TYPE {BLOB} USING
    CASE WHEN ikey LIKE 'id:%' THEN convert_to(substr(ikey, 4), 'UTF8')
         WHEN ikind IN ('pdq', 'md5', 'sha1', 'sha256')
         THEN decode(substr(ikey, length(ikind) + 6), 'hex')
         ELSE convert_to(substr(ikey, length(ikind) + 6), 'UTF8') END;
ALTER TABLE content ALTER COLUMN ikind DROP DEFAULT;
ALTER TABLE content ADD CONSTRAINT content_bank_id_ikind_ikey_key UNIQUE (bank_id, ikind, ikey);
ALTER TABLE signals DROP CONSTRAINT signals_content_id_kind_value_key;
DROP INDEX signals_by_value;
ALTER TABLE signals ALTER COLUMN value TYPE {BLOB} USING
    CASE WHEN kind IN ('pdq', 'md5', 'sha1', 'sha256') THEN decode(value, 'hex')
         ELSE convert_to(value, 'UTF8') END;
ALTER TABLE signals ADD CONSTRAINT signals_kind_value_content_id_key
    UNIQUE (kind, value, content_id);
CREATE INDEX signals_by_content ON signals (content_id);
DROP INDEX signals_by_seq;
CREATE INDEX signals_by_seq ON signals (seq, id);
ALTER TABLE tombstones ALTER COLUMN value TYPE {BLOB} USING
    CASE WHEN kind IN ('pdq', 'md5', 'sha1', 'sha256') THEN decode(value, 'hex')
         ELSE convert_to(value, 'UTF8') END;
DROP INDEX tombstones_by_seq;
CREATE INDEX tombstones_by_seq ON tombstones (seq, signal_id)
"#;

/// Version 4, for the server: a bank's `match_ratio` (HMA's `matching_enabled_ratio`: the share
/// of lookups a bank takes part in; 1 for every bank before), a content item's user metadata
/// (`meta`: JSON text an API client attached), and API keys (only a SHA-256 of each secret is
/// kept: a key is 256 random bits, so a slow password hash would add nothing), and match
/// actions: rules that fire on a match in a bank (or any bank) — a webhook POST or a record
/// only — with every firing kept as an event (delivered, retried, failed). A webhook's signing
/// secret is never stored: the action names the environment variable that holds it.
const V4: &str = r#"
ALTER TABLE banks ADD COLUMN match_ratio DOUBLE PRECISION NOT NULL DEFAULT 1.0;
ALTER TABLE content ADD COLUMN meta TEXT NULL;
CREATE TABLE api_keys (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'curator', 'matcher', 'viewer')),
    secret_sha256 {BLOB} NOT NULL UNIQUE,
    created_at {TS} NOT NULL,
    revoked_at {TS} NULL
);
CREATE TABLE actions (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    bank_id {INT} NULL REFERENCES banks (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'record')),
    url TEXT NULL,
    secret_env TEXT NULL,
    created_at {TS} NOT NULL
);
CREATE TABLE action_events (
    id {ID},
    action_id {INT} NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    at {TS} NOT NULL,
    bank TEXT NOT NULL,
    content_id {INT} NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('recorded', 'pending', 'delivered', 'failed')),
    attempts {INT} NOT NULL DEFAULT 0,
    next_at {TS} NULL,
    last_error TEXT NULL,
    delivered_at {TS} NULL
);
CREATE INDEX action_events_due ON action_events (status, next_at);
CREATE INDEX action_events_by_action ON action_events (action_id, id)
"#;

/// Users of the web UI (role as an API key's; the password as a PHC string, `$argon2id$…`, made
/// by the server) and their login sessions: the SHA-256 of the token, never the token, the CSRF
/// token, and the session's end (the server slides it on use, up to a fixed maximum). Audit
/// entries are read newest first by action (the UI's recent matches: `match.lookup`).
const V5: &str = r#"
CREATE TABLE users (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'curator', 'matcher', 'viewer')),
    password_phc TEXT NOT NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    disabled_at {TS} NULL
);
CREATE TABLE sessions (
    id {ID},
    token_sha256 {BLOB} NOT NULL UNIQUE,
    csrf TEXT NOT NULL,
    user_id {INT} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at {TS} NOT NULL,
    expires_at {TS} NOT NULL,
    last_seen {TS} NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_end ON sessions (expires_at);
CREATE INDEX audit_by_action ON audit (action, id)
"#;

/// Version 6: long signal values (vPDQ: one PDQ hash per sampled frame) as a key and a body.
/// PostgreSQL refuses a B-tree entry over about 2.7 KB, so the unique indexes on a signal's
/// `(kind, value, content_id)` and an item's `(bank_id, ikind, ikey)` cannot hold a long
/// video's vPDQ; `value` (and `ikey`) now hold the value's SHA-256 form when it is longer than
/// `value::LONG` bytes, and `body` the whole value (see `value`). Existing long values are
/// re-keyed by [`rekey_long_values`] in the same transaction.
const V6: &str = r#"
ALTER TABLE signals ADD COLUMN body {BLOB} NULL;
ALTER TABLE tombstones ADD COLUMN body {BLOB} NULL
"#;

/// Moves every value longer than `value::LONG` into `body` and keys it by its SHA-256 form
/// (migration 6). Long values could be written before only on SQLite, or on PostgreSQL up to
/// its index limit; they are few (one per video), so they are read and rewritten one by one.
async fn rekey_long_values(tx: &mut AnyConnection, backend: Backend) -> Result<(), Error> {
    let len = match backend {
        Backend::Sqlite => "length",
        Backend::Postgres => "octet_length",
    };
    let long = crate::value::LONG as i64;
    for table in ["signals", "tombstones"] {
        let id = if table == "signals" {
            "id"
        } else {
            "signal_id"
        };
        let rows = sqlx::query(&format!(
            "SELECT {id}, value FROM {table} WHERE {len}(value) > $1"
        ))
        .bind(long)
        .fetch_all(&mut *tx)
        .await?;
        for r in rows {
            let (key, body) = crate::value::split_long(r.try_get::<Vec<u8>, _>(1)?);
            sqlx::query(&format!(
                "UPDATE {table} SET value = $1, body = $2 WHERE {id} = $3"
            ))
            .bind(key)
            .bind(body)
            .bind(r.try_get::<i64, _>(0)?)
            .execute(&mut *tx)
            .await?;
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT id, ikey FROM content WHERE ikind <> '' AND {len}(ikey) > $1"
    ))
    .bind(long)
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let ikey: Vec<u8> = r.try_get(1)?;
        sqlx::query("UPDATE content SET ikey = $1 WHERE id = $2")
            .bind(crate::value::index_key(&ikey).into_owned())
            .bind(r.try_get::<i64, _>(0)?)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The crawler's tables (`crawl.rs`): a crawl by name with its settings, its frontier (one row
/// per URL, unique per crawl: the URL de-duplication), the media content it hashed (by SHA-256,
/// shared by every crawl: the same bytes are hashed once) and its findings (matches, kept even
/// when the bank or item they matched is deleted later, hence no foreign key to them).
const V7: &str = r#"
CREATE TABLE crawls (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    finished_at {TS} NULL
);
CREATE TABLE crawl_frontier (
    id {ID},
    crawl_id {INT} NOT NULL REFERENCES crawls (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    depth {INT} NOT NULL,
    parent_url TEXT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'fetching', 'done', 'failed')),
    attempts {INT} NOT NULL,
    kind TEXT NULL,
    content_sha256 {BLOB} NULL,
    error TEXT NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    UNIQUE (crawl_id, url)
);
CREATE INDEX crawl_frontier_by_state ON crawl_frontier (crawl_id, state, id);
CREATE TABLE crawl_content (
    sha256 {BLOB} PRIMARY KEY,
    kind TEXT NOT NULL,
    md5 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    pdq TEXT NULL,
    quality {INT} NULL,
    frames {INT} NULL,
    matches TEXT NOT NULL,
    hashed_at {TS} NOT NULL
);
CREATE TABLE crawl_findings (
    id {ID},
    crawl_id {INT} NOT NULL REFERENCES crawls (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    page_url TEXT NULL,
    host TEXT NOT NULL,
    ip TEXT NULL,
    found_at {TS} NOT NULL,
    kind TEXT NOT NULL,
    sha256 {BLOB} NOT NULL,
    md5 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    pdq TEXT NULL,
    bank TEXT NOT NULL,
    content_id {INT} NOT NULL,
    signal_kind TEXT NOT NULL,
    distance {INT} NOT NULL,
    checked_at {TS} NULL,
    removed_at {TS} NULL,
    UNIQUE (crawl_id, url, bank, content_id)
);
CREATE INDEX crawl_findings_by_host ON crawl_findings (crawl_id, host)
"#;

/// The case registry (`vigil-cases`): incidents as JSON records beside the columns statistics
/// filter on, their sources, the identifiers they name (indexed by kind and value for link
/// look-ups) and, apart, their points. Confidence is kept in thousandths and coordinates in
/// millionths of a degree, as `{INT}`: the two databases share no float type the
/// runtime-generic driver carries alike.
const V8: &str = r#"
CREATE TABLE case_incidents (
    id {ID},
    ref TEXT NOT NULL UNIQUE,
    taxonomy TEXT NOT NULL,
    year {INT} NOT NULL,
    category TEXT NOT NULL,
    subtype TEXT NULL,
    province TEXT NOT NULL,
    district TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL
);
CREATE INDEX case_incidents_by_area ON case_incidents (district, year);
CREATE INDEX case_incidents_by_category ON case_incidents (category, year);
CREATE TABLE case_sources (
    id {ID},
    incident_id {INT} NOT NULL REFERENCES case_incidents (id) ON DELETE CASCADE,
    outlet TEXT NOT NULL,
    report_date TEXT NOT NULL,
    link TEXT NULL
);
CREATE INDEX case_sources_by_incident ON case_sources (incident_id);
CREATE TABLE case_identifiers (
    id {ID},
    incident_id {INT} NOT NULL REFERENCES case_incidents (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL,
    confidence_milli {INT} NOT NULL CHECK (confidence_milli BETWEEN 0 AND 1000),
    first_seen TEXT NULL,
    last_seen TEXT NULL
);
CREATE INDEX case_identifiers_by_value ON case_identifiers (kind, value);
CREATE INDEX case_identifiers_by_incident ON case_identifiers (incident_id);
CREATE TABLE case_points (
    incident_id {INT} PRIMARY KEY REFERENCES case_incidents (id) ON DELETE CASCADE,
    lat_e6 {INT} NOT NULL CHECK (lat_e6 BETWEEN -90000000 AND 90000000),
    lon_e6 {INT} NOT NULL CHECK (lon_e6 BETWEEN -180000000 AND 180000000)
)
"#;

// Migration 12: secrets the server generates once and keeps (`secrets.rs`): the case map's
// displacement key, which must outlive the process (see `Store::server_secret`).
const V12: &str = r#"
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value {BLOB} NOT NULL,
    created_at {TS} NOT NULL
)
"#;

// Migration 11: who may see which areas' case records, analysts' decisions on links, and the
// area hierarchy manual entries are checked against (see `case_access.rs`).
const V11: &str = r#"
CREATE TABLE case_scopes (
    subject TEXT NOT NULL,
    area TEXT NOT NULL,
    PRIMARY KEY (subject, area)
);
CREATE TABLE case_link_decisions (
    id {ID},
    a_ref TEXT NOT NULL,
    b_ref TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('confirm', 'reject')),
    note TEXT NOT NULL,
    actor TEXT NOT NULL,
    decided_at {TS} NOT NULL,
    UNIQUE (a_ref, b_ref)
);
CREATE TABLE case_areas (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'district', 'tehsil')),
    parent TEXT NULL
)
"#;

// Migration 10: the case map. Boundaries are one row per area code (GeoJSON geometry text, the
// level 1 = province, 2 = district, 3 = tehsil, where the file came from); population figures one
// row per (area, year, age group), '' for all ages.
const V10: &str = r#"
CREATE TABLE case_boundaries (
    id {ID},
    area_code TEXT NOT NULL UNIQUE,
    name TEXT NULL,
    level {INT} NOT NULL CHECK (level BETWEEN 1 AND 3),
    geometry TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at {TS} NOT NULL
);
CREATE INDEX case_boundaries_by_level ON case_boundaries (level);
CREATE TABLE case_population (
    id {ID},
    area_code TEXT NOT NULL,
    year {INT} NOT NULL,
    population {INT} NOT NULL CHECK (population > 0),
    age_group TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    imported_at {TS} NOT NULL,
    UNIQUE (area_code, year, age_group)
)
"#;

// Migration 15: SDG 16.2 indicators imported as their publishers give them (survey figures for
// 16.2.1 and 16.2.3; the value is the published decimal text, never recomputed). One row per
// (indicator, area, year, sex, age group); '' is the whole country / both sexes / as defined.
/// A frontier entry's rank: 0 for a URL found where media is expected (`img src`, `srcset`,
/// `video`/`source src`, `poster`, `object data`, CSS `url()`), 1 for anything else (pages,
/// seeds, scripts); queued entries are taken by rank, then in the order they were found, so
/// the hashing threads are fed from the first pages on instead of after every page has been
/// parsed, and the queue of media stays short. The take index leads with the rank.
const V17: &str = r#"
ALTER TABLE crawl_frontier ADD COLUMN rank {INT} NOT NULL DEFAULT 1;
DROP INDEX crawl_frontier_by_state;
CREATE INDEX crawl_frontier_by_state ON crawl_frontier (crawl_id, state, rank, id)
"#;

const V18: &str = r#"
ALTER TABLE case_incidents ADD COLUMN changed {INT} NOT NULL DEFAULT 0;
CREATE INDEX case_incidents_by_change ON case_incidents (changed)
"#;

const V15: &str = r#"
CREATE TABLE case_indicators (
    id {ID},
    indicator TEXT NOT NULL,
    area_code TEXT NOT NULL DEFAULT '',
    year {INT} NOT NULL,
    sex TEXT NOT NULL DEFAULT '',
    age_group TEXT NOT NULL DEFAULT '',
    value TEXT NOT NULL,
    unit TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at {TS} NOT NULL,
    UNIQUE (indicator, area_code, year, sex, age_group)
)
"#;

/// Removal notices sent for crawl findings (`crawl.rs`): one row per notice (its provider,
/// hosts, contact, the channel it went by, the recipient, the message id, when, whether it
/// went out or failed and why, and which notice of its findings it was: 1 first, 2… reminders),
/// and which findings each covered. A failed notice is kept (with its error) but counts as no
/// notice: its findings are due again.
const V9: &str = r#"
CREATE TABLE crawl_notices (
    id {ID},
    crawl_id {INT} NULL REFERENCES crawls (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    contact TEXT NOT NULL,
    hosts TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('smtp', 'file')),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    sequence {INT} NOT NULL,
    message_id TEXT NULL,
    sent_at {TS} NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sent', 'failed')),
    error TEXT NULL
);
CREATE INDEX crawl_notices_by_time ON crawl_notices (sent_at, id);
CREATE TABLE crawl_notice_findings (
    notice_id {INT} NOT NULL REFERENCES crawl_notices (id) ON DELETE CASCADE,
    finding_id {INT} NOT NULL REFERENCES crawl_findings (id) ON DELETE CASCADE,
    PRIMARY KEY (notice_id, finding_id)
);
CREATE INDEX crawl_notice_findings_by_finding ON crawl_notice_findings (finding_id)
"#;

/// The queue of reported URLs (`reports.rs`): one row per report, `pending` until a crawl takes
/// it (`taken`, with the crawl), `done` when that crawl finished. A URL has at most one pending
/// row (the partial unique index): a second report of it while pending is merged into the first
/// (`times` counts them). And removal notices that could not be addressed (the provider has no
/// e-mail contact) are flagged, so that they are recorded once, not on every pass.
const V13: &str = r#"
CREATE TABLE crawl_reports (
    id {ID},
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'taken', 'done')),
    crawl_id {INT} NULL REFERENCES crawls (id),
    submitted_by TEXT NOT NULL,
    times {INT} NOT NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    taken_at {TS} NULL,
    done_at {TS} NULL
);
CREATE UNIQUE INDEX crawl_reports_pending_url ON crawl_reports (url) WHERE state = 'pending';
CREATE INDEX crawl_reports_by_state ON crawl_reports (state, id);
CREATE INDEX crawl_reports_by_crawl ON crawl_reports (crawl_id, state);
ALTER TABLE crawl_notices ADD COLUMN uncontactable {INT} NOT NULL DEFAULT 0
"#;

/// The schema version this build writes.
pub(crate) const CURRENT: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

fn dialect(sql: &str, backend: Backend) -> String {
    let (id, int, blob) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY", "INTEGER", "BLOB"),
        Backend::Postgres => (
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            "BIGINT",
            "BYTEA",
        ),
    };
    sql.replace("{ID}", id)
        .replace("{INT}", int)
        .replace("{TS}", int)
        .replace("{BLOB}", blob)
}

/// Brings the schema up to [`CURRENT`], each migration in its own transaction.
pub(crate) async fn migrate(conn: &mut AnyConnection, backend: Backend) -> Result<(), Error> {
    migrate_to(conn, backend, CURRENT).await
}

/// Brings the schema up to version `upto` (tests start from older versions).
async fn migrate_to(conn: &mut AnyConnection, backend: Backend, upto: i64) -> Result<(), Error> {
    sqlx::query(&dialect(
        "CREATE TABLE IF NOT EXISTS vigil_schema (version {INT} PRIMARY KEY, name TEXT NOT NULL, \
         applied_at {TS} NOT NULL)",
        backend,
    ))
    .execute(&mut *conn)
    .await?;
    // Every version applied, not only the newest: migrations made on parallel branches land
    // with their numbers, and a store migrated by a build that had 15 but not 12 still gets 12.
    let applied: std::collections::BTreeSet<i64> = sqlx::query("SELECT version FROM vigil_schema")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    if let Some(&newest) = applied.last()
        && newest > CURRENT
    {
        return Err(Error::FutureSchema {
            found: newest,
            known: CURRENT,
        });
    }
    // SQLite rebuilds a table to change it; dropping the old one with foreign keys on would
    // delete the rows that refer to it (cascades). The pragma is a no-op inside a transaction,
    // so it is set around them, and the rebuilt tables are checked before each commit.
    if backend == Backend::Sqlite {
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
    }
    let result = apply(conn, backend, &applied, upto).await;
    if backend == Backend::Sqlite {
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn apply(
    conn: &mut AnyConnection,
    backend: Backend,
    applied: &std::collections::BTreeSet<i64>,
    upto: i64,
) -> Result<(), Error> {
    for (version, name, sql) in MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.0) && m.0 <= upto)
    {
        let (version, name) = (*version, *name);
        let sql = match (sql, backend) {
            (Sql::Both(s), _) => *s,
            (Sql::Each { sqlite, .. }, Backend::Sqlite) => *sqlite,
            (Sql::Each { postgres, .. }, Backend::Postgres) => *postgres,
        };
        let mut tx = conn.begin().await?;
        // Claiming the version is the transaction's first statement, a write: it takes the
        // write lock at once (SQLite) or waits for a concurrent migrator and then fails on the
        // key (both), in which case that other process has applied this migration.
        let claim =
            sqlx::query("INSERT INTO vigil_schema (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(version)
                .bind(name)
                .bind(crate::now_ms())
                .execute(&mut *tx)
                .await;
        match claim {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        for stmt in dialect(sql, backend).split(";\n") {
            let stmt = stmt.trim();
            if !stmt.is_empty() {
                sqlx::query(stmt).execute(&mut *tx).await?;
            }
        }
        if version == 6 {
            rekey_long_values(&mut tx, backend).await?;
        }
        if version == 16 {
            let n = crate::cases::embed_case_children(&mut tx).await?;
            tracing::info!(
                records = n,
                "case records now hold their sources and identifiers"
            );
        }
        if backend == Backend::Sqlite
            && let Some(r) = sqlx::query("PRAGMA foreign_key_check")
                .fetch_optional(&mut *tx)
                .await?
        {
            let table: String = r.try_get(0)?;
            return Err(Error::Invalid(format!(
                "schema migration {version} ({name}) would leave rows of {table} without the row \
                 they refer to; nothing was changed"
            )));
        }
        tx.commit().await?;
        tracing::info!(version, name, "database schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImportOptions, Store};
    use vigil_exchange::record::{Record, Signal, SignalKind};

    const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const MD5: &str = "0123456789abcdef0123456789abcdef";

    fn sig(kind: &str, value: &str) -> Signal {
        Signal::new(SignalKind::from_name(kind), value).unwrap()
    }

    /// A version-2 database with items of each identity form, a quarantined signal, a
    /// provenance row and a tombstone, migrated to the current version: everything reads back,
    /// and re-importing the same identities updates the items instead of duplicating them.
    #[test]
    fn version_2_data_survives_the_move_to_bytes() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        for db in vigil_testkit::postgres::databases("schema_v2_to_v3") {
            rt.block_on(v2_to_v3(db.name, &db.url));
        }
    }

    /// The URL to open a test database with directly, and its backend.
    fn raw_url(name: &str, url: &str) -> (String, Backend) {
        sqlx::any::install_default_drivers();
        if name == "sqlite" {
            (format!("{url}?mode=rwc"), Backend::Sqlite)
        } else {
            (url.to_string(), Backend::Postgres)
        }
    }

    /// Moves PostgreSQL's id sequences past the ids a test wrote by hand (SQLite takes the
    /// largest id + 1 by itself).
    async fn past_test_ids(conn: &mut AnyConnection, backend: Backend) {
        if backend == Backend::Postgres {
            for t in ["banks", "content", "signals"] {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), 10)"
                ))
                .execute(&mut *conn)
                .await
                .unwrap();
            }
        }
    }

    /// Version 15 records held neither sources nor identifiers (they were read from their rows);
    /// after migration 16 the registry reads back whole from the records alone.
    #[test]
    fn version_15_case_records_get_their_children() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        for db in vigil_testkit::postgres::databases("schema_v15_to_v16") {
            rt.block_on(async {
                let (raw, backend) = raw_url(db.name, &db.url);
                let mut conn = AnyConnection::connect(&raw).await.unwrap();
                migrate_to(&mut conn, backend, 15).await.unwrap();
                let demo = vigil_cases::demo::generate(&vigil_cases::demo::DemoOptions {
                    per_year: 40,
                    ..Default::default()
                });
                let want: Vec<_> = demo
                    .incidents
                    .iter()
                    .filter(|i| !i.identifiers.is_empty())
                    .take(3)
                    .cloned()
                    .map(|mut i| {
                        i.area.point = None;
                        i.sources.push(vigil_cases::model::Source {
                            outlet: "Second Paper".into(),
                            date: vigil_cases::model::Date::new(2024, 2, 29).unwrap(),
                            link: Some("https://paper.invalid/a".into()),
                        });
                        i
                    })
                    .collect();
                for (n, inc) in want.iter().enumerate() {
                    let id = n as i64 + 1;
                    let mut record = inc.clone();
                    record.sources.clear();
                    record.identifiers.clear();
                    sqlx::query(
                        "INSERT INTO case_incidents (id, ref, taxonomy, year, category, province, \
                         district, record, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0)",
                    )
                    .bind(id)
                    .bind(&inc.id)
                    .bind(&inc.taxonomy)
                    .bind(i64::from(inc.date.year))
                    .bind(&inc.category)
                    .bind(&inc.area.province)
                    .bind(&inc.area.district)
                    .bind(serde_json::to_string(&record).unwrap())
                    .execute(&mut conn)
                    .await
                    .unwrap();
                    for src in &inc.sources {
                        sqlx::query(
                            "INSERT INTO case_sources (incident_id, outlet, report_date, link) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(id)
                        .bind(&src.outlet)
                        .bind(src.date.to_string())
                        .bind(src.link.as_deref())
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    }
                    for x in &inc.identifiers {
                        sqlx::query(
                            "INSERT INTO case_identifiers (incident_id, kind, value, source, \
                             confidence_milli) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(id)
                        .bind(x.kind.name())
                        .bind(&x.value)
                        .bind(&x.source)
                        .bind((f64::from(x.confidence) * 1000.0).round() as i64)
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    }
                }
                if backend == Backend::Postgres {
                    sqlx::query(
                        "SELECT setval(pg_get_serial_sequence('case_incidents', 'id'), 10)",
                    )
                    .execute(&mut conn)
                    .await
                    .unwrap();
                }
                drop(conn);
                let store = Store::open(&db.url).await.unwrap();
                let mut got = store.incidents("test", false).await.unwrap();
                got.sort_by(|a, b| a.id.cmp(&b.id));
                let mut want = want;
                want.sort_by(|a, b| a.id.cmp(&b.id));
                assert_eq!(got, want, "{}", db.name);
                assert!(
                    got.iter()
                        .all(|i| i.sources.len() >= 2 && !i.identifiers.is_empty())
                );
                store.close().await;
            });
        }
    }

    /// A store that lacks a migration below its newest one (made on a parallel branch, or by a
    /// build that had 15 but not 11) gets it on the next open, and keeps what it holds.
    #[test]
    fn a_missing_middle_migration_is_applied() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        for db in vigil_testkit::postgres::databases("schema_gap") {
            rt.block_on(async {
                let (raw, backend) = raw_url(db.name, &db.url);
                let mut conn = AnyConnection::connect(&raw).await.unwrap();
                migrate(&mut conn, backend).await.unwrap();
                for stmt in [
                    "DROP TABLE case_scopes",
                    "DROP TABLE case_link_decisions",
                    "DROP TABLE case_areas",
                    "DELETE FROM vigil_schema WHERE version = 11",
                    "INSERT INTO case_indicators (indicator, area_code, year, value, unit, \
                     source, imported_at) VALUES ('16.2.1', '', 2020, '71.5', 'percent', 's', 0)",
                ] {
                    sqlx::query(stmt).execute(&mut conn).await.unwrap();
                }
                migrate(&mut conn, backend).await.unwrap();
                let versions: Vec<i64> =
                    sqlx::query("SELECT version FROM vigil_schema ORDER BY version")
                        .fetch_all(&mut conn)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| r.try_get(0).unwrap())
                        .collect();
                let want: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
                assert_eq!(versions, want, "{}", db.name);
                let n: i64 = sqlx::query("SELECT COUNT(*) FROM case_scopes")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
                assert_eq!(n, 0);
                let v: String = sqlx::query("SELECT value FROM case_indicators")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
                assert_eq!(v, "71.5");
            });
        }
    }

    /// A version-5 database holding a vPDQ value longer than `value::LONG` as an item's
    /// identity, a signal and a tombstone, migrated: the values move to their bodies, look-ups
    /// and re-imports find them, and the tombstone still names the whole value.
    #[test]
    fn version_5_long_values_are_rekeyed() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        for db in vigil_testkit::postgres::databases("schema_v5_to_v6") {
            rt.block_on(v5_to_v6(db.name, &db.url));
        }
    }

    async fn v5_to_v6(name: &str, url: &str) {
        let (raw, backend) = raw_url(name, url);
        let frames = |seed: u64| -> String {
            let items: Vec<String> = (0..30)
                .map(|i| {
                    format!(
                        "\"{},100,{i}.000\"",
                        vigil_testkit::seeded_pdq_hex(seed * 1000 + i)
                    )
                })
                .collect();
            sig("vpdq", &format!("[{}]", items.join(", ")))
                .value()
                .to_string()
        };
        let (a, gone) = (frames(1), frames(2));
        assert!(a.len() > crate::value::LONG && a.len() < 2500);
        let mut conn = AnyConnection::connect(&raw).await.unwrap();
        migrate_to(&mut conn, backend, 5).await.unwrap();
        for stmt in [
            "INSERT INTO banks (id, name, kind, created_at, updated_at, seq) \
             VALUES (1, 'b', 'block', 0, 0, 1)",
            "INSERT INTO content (id, bank_id, ikind, ikey, source, created_at, updated_at, seq) \
             VALUES (1, 1, 'vpdq', $1, 'file:a', 0, 0, 1)",
            "INSERT INTO signals (id, content_id, bank_id, kind, value, seq) \
             VALUES (1, 1, 1, 'vpdq', $1, 1)",
            "INSERT INTO tombstones (seq, bank_id, signal_id, kind, value) \
             VALUES (1, 1, 9, 'vpdq', $1) -- gone",
            "UPDATE counters SET value = 1 WHERE name = 'seq'",
        ] {
            let mut q = sqlx::query(stmt);
            if stmt.ends_with("-- gone") {
                q = q.bind(gone.as_bytes().to_vec());
            } else if stmt.contains("$1") {
                q = q.bind(a.as_bytes().to_vec());
            }
            q.execute(&mut conn).await.unwrap();
        }
        past_test_ids(&mut conn, backend).await;
        drop(conn);

        let store = Store::open(url).await.unwrap();
        let (a, gone) = (sig("vpdq", &a), sig("vpdq", &gone));
        assert_eq!(
            store.find(&a).await.unwrap(),
            vec![("b".to_string(), 1)],
            "{name}"
        );
        assert_eq!(store.content("b", 1).await.unwrap().signals[0].signal, a);
        let changes = store.changes_since(0).await.unwrap();
        assert!(
            changes
                .signals
                .iter()
                .any(|c| !c.present && c.signal == gone),
            "{name}: tombstone kept"
        );
        let report = store
            .import::<String>(
                "test",
                "b",
                [Ok(Record {
                    signals: vec![a.clone()],
                    ..Record::default()
                })],
                &ImportOptions {
                    source: "file:b".to_string(),
                    skip_bad: false,
                    sort_memory: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (report.created, report.updated, report.signals_added),
            (0, 1, 0),
            "{name}: the re-keyed identity is found"
        );
        store.close().await;
    }

    async fn v2_to_v3(name: &str, url: &str) {
        let (raw, backend) = raw_url(name, url);
        let mut conn = AnyConnection::connect(&raw).await.unwrap();
        migrate_to(&mut conn, backend, 2).await.unwrap();
        for stmt in [
            "INSERT INTO banks (id, name, kind, created_at, updated_at, seq) \
             VALUES (1, 'b', 'block', 0, 0, 1)",
            "INSERT INTO content (id, bank_id, ikey, external_id, source, created_at, updated_at, \
             seq) VALUES (1, 1, 'id:ü:1', 'ü:1', 'file:a', 0, 0, 1)",
            "INSERT INTO content (id, bank_id, ikey, source, created_at, updated_at, seq) \
             VALUES (2, 1, 'sig:pdq:f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22', \
             'file:a', 0, 0, 1)",
            "INSERT INTO content (id, bank_id, ikey, source, created_at, updated_at, seq) \
             VALUES (3, 1, 'sig:photodna:QU:J+', 'file:a', 0, 0, 1)",
            "INSERT INTO signals (id, content_id, bank_id, kind, value, disabled_until, seq) \
             VALUES (1, 1, 1, 'md5', '0123456789abcdef0123456789abcdef', 99, 1)",
            "INSERT INTO signals (id, content_id, bank_id, kind, value, seq) \
             VALUES (2, 2, 1, 'pdq', 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22', 1)",
            "INSERT INTO signals (id, content_id, bank_id, kind, value, seq) \
             VALUES (3, 3, 1, 'photodna', 'QU:J+', 1)",
            "INSERT INTO provenance (content_id, source, record, imported_at) \
             VALUES (1, 'file:a', '{\"ids\":[\"ü:1\"]}', 0)",
            "INSERT INTO tombstones (seq, bank_id, signal_id, kind, value) \
             VALUES (1, 1, 9, 'sha1', '00112233445566778899aabbccddeeff00112233')",
            "UPDATE counters SET value = 1 WHERE name = 'seq'",
        ] {
            sqlx::query(stmt).execute(&mut conn).await.unwrap();
        }
        past_test_ids(&mut conn, backend).await;
        drop(conn);

        let store = Store::open(url).await.unwrap();
        let c = store.content("b", 1).await.unwrap();
        assert_eq!(c.signals.len(), 1, "{name}");
        assert_eq!(c.signals[0].signal, sig("md5", MD5), "{name}");
        assert_eq!(c.signals[0].disabled_until, Some(99), "{name}");
        assert_eq!(c.provenance.len(), 1, "{name}: provenance kept");
        assert_eq!(c.provenance[0].1.ids, vec!["ü:1".to_string()], "{name}");
        assert_eq!(
            store.find(&sig("pdq", PDQ)).await.unwrap(),
            vec![("b".to_string(), 2)],
            "{name}"
        );
        assert_eq!(
            store.find(&sig("photodna", "QU:J+")).await.unwrap(),
            vec![("b".to_string(), 3)],
            "{name}"
        );
        let changes = store.changes_since(0).await.unwrap();
        assert!(
            changes.signals.iter().any(|c| !c.present
                && c.signal == sig("sha1", "00112233445566778899aabbccddeeff00112233")),
            "{name}: tombstone kept"
        );
        // The same three identities again: all updated, none created.
        let again = [
            Record {
                ids: vec!["ü:1".to_string()],
                signals: vec![sig("md5", MD5)],
                ..Record::default()
            },
            Record {
                signals: vec![sig("pdq", PDQ)],
                ..Record::default()
            },
            Record {
                signals: vec![sig("photodna", "QU:J+")],
                ..Record::default()
            },
        ];
        let report = store
            .import::<String>(
                "test",
                "b",
                again.into_iter().map(Ok),
                &ImportOptions {
                    source: "file:b".to_string(),
                    skip_bad: false,
                    sort_memory: None,
                },
            )
            .await
            .unwrap();
        assert_eq!((report.created, report.updated), (0, 3), "{name}");
        assert_eq!(report.signals_added, 0, "{name}");
        store.close().await;
    }
}
