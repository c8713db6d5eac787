#!/usr/bin/env bash
# The exact index's memory floor: for each table layout (substrings m, directory bits d), the
# bytes per hash, the time per query, and the distinct cache lines a query reads
# (`Index::footprint`), against this machine's random-read rate (bench/random_access.c).
#
#   bench/index_layouts.sh [SETS] [LAYOUTS]
#     SETS     default "uniform-1M skewed-1M uniform-10M skewed-10M" (files made by
#              bench/index_faiss.sh in bench/data/index/)
#     LAYOUTS  default "auto 12:auto 11:auto 10:auto 9:auto 8:auto 11:14 11:16 10:14 9:14"
#              (m:d, "auto" for the size-based choice)
#   NQ (2000 queries), REPS (2 timed passes, the best kept)
#
# Each line: set, layout, B/hash (heap), µs/query, lines/query, ns/line, and the floor:
# lines × the best random-read time at 128–512 MiB. A query cannot run faster than its floor
# unless it reads fewer lines; the rest of its time is the work per line.
set -euo pipefail
cd "$(dirname "$0")/.."
sets=${1:-"uniform-1M skewed-1M uniform-10M skewed-10M"}
layouts=${2:-"auto 12:auto 11:auto 10:auto 9:auto 8:auto 11:14 11:16 10:14 9:14"}
NQ=${NQ:-2000}
REPS=${REPS:-2}
for s in $sets; do
  [ -f "bench/data/index/$s.u8" ] || {
    echo "bench/data/index/$s.u8 missing: run bench/index_faiss.sh --sizes ${s#*-} first" >&2
    exit 1
  }
done
cargo build -q --release -p vigil-index --example bench_queries
cc -O2 -o target/random_access bench/random_access.c
floor=$(target/random_access | awk '$1 >= 128 { if (min == "" || $6 < min) min = $6 } END { print min }')
echo "random-read floor (best of 128-512 MiB): $floor ns/line"
printf '%-12s %-8s %7s %9s %8s %8s %9s\n' set layout B/hash us/query lines ns/line floor_us
for s in $sets; do
  for l in $layouts; do
    m=${l%%:*}; d=auto
    [[ $l == *:* ]] && d=${l#*:}
    env=()
    [ "$m" != auto ] && env+=(VIGIL_SUBSTRINGS="$m")
    [ "$d" != auto ] && env+=(VIGIL_DIR_BITS="$d")
    out=$(env "${env[@]}" VIGIL_FOOTPRINT=$NQ ./target/release/examples/bench_queries \
      "bench/data/index/$s.u8" "bench/data/index/$s-queries.u8" 31 /dev/null mih "$REPS" "$NQ" 2>&1)
    python3 - "$s" "$l" "$floor" <<EOF
import json, sys
lines = """$out""".strip().splitlines()
fp = json.loads(next(x for x in lines if x.startswith('{"footprint')))
run = json.loads(next(x for x in lines if x.startswith('{"engine')))
s, l, floor = sys.argv[1], sys.argv[2], float(sys.argv[3])
lay = l if ":" in l else l + ":auto"
us, n = run["us_per_query"], fp["lines"]
print(f"{s:<12} {lay:<8} {run['heap_bytes_per_hash']:7.1f} {us:9.1f} {n:8.0f} "
      f"{us * 1000 / n:8.1f} {n * floor / 1000:9.1f}  (m={run['substrings']})")
EOF
  done
done
