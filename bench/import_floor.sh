#!/usr/bin/env bash
# The floor of a bank import on SQLite: the same tables and indexes as vigil-store's schema 3,
# filled by the sqlite3 shell itself (`INSERT … SELECT` from N pre-sorted random PDQ hashes; no
# Rust, no driver, no parsing), in one transaction, WAL, synchronous = FULL, 64 MiB cache — as
# `vigil bank import` runs. Prints the time of each statement and of the commit (which includes
# SQLite's checkpoint of the log into the database), with foreign keys on (as Vigil) and off.
#
# Run with:  bench/import_floor.sh [N]     (default 2000000; needs the sqlite3 shell)
set -euo pipefail
n="${1:-2000000}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sqlite3 "$tmp/src.db" <<SQL
PRAGMA journal_mode = OFF;
CREATE TABLE src (v BLOB);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
INSERT INTO src SELECT randomblob(32) FROM c;
CREATE TABLE sorted AS SELECT v FROM src ORDER BY v;
SQL
for fk in ON OFF; do
  rm -f "$tmp"/b.db*
  echo "foreign_keys = $fk, $n records (content insert, signals insert, commit):"
  sqlite3 "$tmp/b.db" <<SQL | grep '^Run Time' | sed 's/^/  /'
PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = $fk;
PRAGMA cache_size = -65536;
ATTACH '$tmp/src.db' AS s;
CREATE TABLE banks (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO banks VALUES (1, 'b');
CREATE TABLE content (id INTEGER PRIMARY KEY, bank_id INTEGER NOT NULL REFERENCES banks (id)
  ON DELETE CASCADE, ikind TEXT NOT NULL, ikey BLOB NOT NULL, external_id TEXT NULL, uri TEXT
  NULL, note TEXT NULL, source TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT
  NULL, disabled_until INTEGER NULL, seq INTEGER NOT NULL, UNIQUE (bank_id, ikind, ikey));
CREATE TABLE signals (id INTEGER PRIMARY KEY, content_id INTEGER NOT NULL REFERENCES content (id)
  ON DELETE CASCADE, bank_id INTEGER NOT NULL, kind TEXT NOT NULL, value BLOB NOT NULL,
  disabled_until INTEGER NULL, seq INTEGER NOT NULL, UNIQUE (kind, value, content_id));
CREATE INDEX signals_by_content ON signals (content_id);
CREATE INDEX signals_by_seq ON signals (seq);
.timer on
BEGIN;
INSERT INTO content (bank_id, ikind, ikey, source, created_at, updated_at, seq)
  SELECT 1, 'pdq', v, 'file:plain.txt', 1764432000000, 1764432000000, 5 FROM s.sorted ORDER BY rowid;
INSERT INTO signals (content_id, bank_id, kind, value, seq)
  SELECT rowid, 1, 'pdq', v, 5 FROM s.sorted ORDER BY rowid;
COMMIT;
SQL
  ls -l "$tmp/b.db" | awk '{printf "  database: %d bytes\n", $5}'
done
