#!/usr/bin/env bash
# Lookups while the bank changes: `vigil serve` over a bank of N random PDQ hashes, wrk driving
# GET /m/lookup for 2×DURATION seconds twice — once with nothing else happening, once while a
# second process imports M new hashes into the same bank (a bulk change the server follows
# through its change feed, compacting its index off the lookups' lock). Prints wrk's latency
# percentiles and maximum for both runs, how long the import took, and when its last hash became
# visible to lookups.
#
# Run with:  bench/serve_live.sh [N [M]]    (default 1000000 200000)
# Env: DURATION (default 15), CONNS (16), VIGIL_BENCH_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
m=${2:-200000}
DURATION=${DURATION:-15}
CONNS=${CONNS:-16}
if [ "${VIGIL_BENCH_NO_BUILD:-0}" != 1 ]; then
  cargo build --release -p vigil
fi
V=$PWD/target/release/vigil
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p bench/data/import bench/data/serve
list=bench/data/import/plain-$n.txt
[ -f "$list" ] || python3 bench/import_data.py plain "$n" "$list"
queries=bench/data/serve/queries-$n.txt
[ -f "$queries" ] || python3 bench/serve_data.py queries "$list" 20000 "$queries"
# The M new hashes: a different seed's list (bench/import_data.py is seeded by N), so they are
# new to the bank.
python3 - "$m" "$tmp/new.txt" <<'PY'
import random, sys
rng = random.Random(424242)
with open(sys.argv[2], "w") as f:
    for _ in range(int(sys.argv[1])):
        f.write(f"{rng.getrandbits(256):064x}\n")
PY
last=$(tail -1 "$tmp/new.txt")
db="sqlite://$tmp/live.db"
"$V" --db "$db" bank create bench >/dev/null
VIGIL_LOG=error "$V" --db "$db" bank import bench "$list" >/dev/null
VIGIL_LOG=warn "$V" --db "$db" serve --listen 127.0.0.1:5184 2>"$tmp/serve.log" &
pid=$!
until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5184/status)" = 200 ]; do
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
  sleep 0.2
done
run() {
  QUERIES=$queries wrk -t1 -c"$CONNS" -d"$((2 * DURATION))s" --latency -s bench/wrk/lookup.lua \
    http://127.0.0.1:5184 >"$tmp/$1.wrk"
  echo "-- $1: $(sed -n 's/^Requests\/sec: *//p' "$tmp/$1.wrk") lookups/s"
  sed -n '/Latency Distribution/,/99%/p' "$tmp/$1.wrk"
  grep -E '^ +Latency +[0-9]' "$tmp/$1.wrk" | awk '{print "     max   " $4}'
}
echo "== $n hashes, then $m more imported while lookups run"
run quiet
( sleep "$((DURATION / 2))"
  s=$(date +%s.%N)
  VIGIL_LOG=error "$V" --db "$db" bank import bench "$tmp/new.txt" >/dev/null 2>&1
  e=$(date +%s.%N)
  # Every imported hash is in the index when its size is N + M.
  until curl -s "http://127.0.0.1:5184/m/index/status?signal_type=pdq" | grep -q "\"size\":$((n + m))"; do
    sleep 0.01
  done
  v=$(date +%s.%N)
  curl -s "http://127.0.0.1:5184/m/lookup?signal_type=pdq&signal=$last" | grep -q bench ||
    { echo "the last imported hash does not match" >&2; exit 1; }
  echo "   import of $m: $(echo "$e - $s" | bc) s; all $m in the index $(echo "($v - $e) * 1000" | bc | cut -d. -f1) ms after the import ended" >"$tmp/import.txt"
) &
imp=$!
run importing
wait "$imp"
cat "$tmp/import.txt"
echo "   server RSS $(awk '/^VmRSS/ {printf "%.0f MiB", $2/1024}' /proc/$pid/status) (peak $(awk '/^VmHWM/ {printf "%.0f MiB", $2/1024}' /proc/$pid/status))"
