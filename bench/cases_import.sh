#!/usr/bin/env bash
# Case registry at the issue's size: import rate into the store, then the tables and the network
# analysis read back from the store, through the real binary.
#
# The data set is the demo generator's (entirely fictitious) at PER_YEAR incidents a year for
# five years, written as a register CSV (`vigil cases demo --register`) and topped up here to
# IDS identifiers per incident (unique phone and person values), so 19,000 a year gives about
# 100,000 incidents and 500,000 identifiers, as in the criterion bench `cases`.
#
# Prints, for a fresh SQLite store (and a PostgreSQL one when VIGIL_BENCH_PG is a postgres://
# URL to an empty database): rows, wall seconds, rows/s and identifiers/s of
# `vigil cases import --store` (parse, validate, save in one transaction), its peak RSS, and the
# wall seconds of `cases stats --rows year` and `cases network --top 10` reading the store (each
# reads every incident back, audited).
#
# Run with:  bench/cases_import.sh
# Env: PER_YEAR (default 19000), IDS (default 5), VIGIL_BENCH_PG, VIGIL_BENCH_NO_BUILD=1.
# Needs GNU /usr/bin/time and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PER_YEAR=${PER_YEAR:-19000}
IDS=${IDS:-5}
T=${CARGO_TARGET_DIR:-target}
if [ "${VIGIL_BENCH_NO_BUILD:-0}" != 1 ]; then
  cargo build --release -p vigil
fi
V=$(realpath "$T/release/vigil")
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
"$V" cases demo --per-year "$PER_YEAR" --out ds.json --register reg.csv \
  --register-mapping reg.json 2>&1 | tail -1
python3 - "$IDS" <<'EOF'
import csv, sys
ids = int(sys.argv[1])
n = serial = total = 0
with open("reg.csv", newline="") as f, open("big.csv", "w", newline="") as g:
    r, w = csv.reader(f), csv.writer(g)
    head = next(r)
    col = head.index("identifiers")
    w.writerow(head)
    for row in r:
        have = [x for x in row[col].split(";") if x]
        while len(have) < ids:
            serial += 1
            have.append(f"phone:+99311{serial:07d}" if serial % 2 == 0 else f"person:P-B{serial:07d}")
        row[col] = ";".join(have)
        w.writerow(row)
        n += 1
        total += len(have)
print(f"register: {n} incidents, {total} identifiers", file=sys.stderr)
open("counts", "w").write(f"{n} {total}\n")
EOF
read -r ROWS IDENTS < counts

run_store() {
  local name=$1 db=$2
  "$V" --db "$db" cases areas import --hierarchy ds.json 2>/dev/null || { echo "areas import failed on $name" >&2; exit 1; }
  /usr/bin/time -v -o time.txt "$V" --db "$db" cases import big.csv --mapping reg.json --store \
    2> import.err || { cat import.err >&2; exit 1; }
  local wall rss
  wall=$(python3 -c "
import re
t = open('time.txt').read()
m = re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.*)', t).group(1).split(':')
print(sum(float(x) * 60 ** i for i, x in enumerate(reversed(m))))")
  rss=$(awk '/Maximum resident set size/ {print int($6/1024)}' time.txt)
  python3 -c "
rows, ids, wall = $ROWS, $IDENTS, $wall
print(f'$name: import {rows} rows in {wall:.2f} s: {rows / wall:,.0f} rows/s, '
      f'{ids / wall:,.0f} identifiers/s, peak RSS $rss MiB')"
  for cmd in "stats --rows year" "network --top 10"; do
    local s e
    s=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$V" --db "$db" cases $cmd > /dev/null 2>&1
    e=$(date +%s.%N)
    python3 -c "print(f'$name: cases $cmd from the store: {$e - $s:.2f} s')"
  done
}

run_store sqlite "$W/v.db"
if [ -n "${VIGIL_BENCH_PG:-}" ]; then
  run_store postgres "$VIGIL_BENCH_PG"
fi
