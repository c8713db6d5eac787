#!/usr/bin/env bash
# Lookup service throughput and latency: N random PDQ hashes (bench/import_data.py, seeded) in a
# bank of a fresh SQLite store, `vigil serve` on loopback, and wrk (a second process) driving:
#   1. GET /m/lookup?signal_type=pdq&signal=… (HMA's hash lookup): half near-duplicates of
#      stored hashes (0-16 bits flipped), half random;
#   2. POST /api/v1/lookup with 100 hashes per request (Vigil's batch lookup);
#   3. POST /m/lookup with a ~1 MP JPEG (upload-and-match), beside `vigil hash` on the same
#      file (decode + hash alone) for the bound.
# Prints the index load time, the server's RSS after loading and at the end, requests/s and
# latency percentiles (wrk --latency). Also: how long a bank change takes to be visible.
#
# Run with:  bench/serve.sh [N ...]     e.g. bench/serve.sh 1000000 10000000
# Env: DURATION (wrk seconds, default 20), CONNS (default 16), THREADS (wrk threads, default 1),
#      VIGIL_BENCH_NO_BUILD=1 (use target/release/vigil as it is). Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000}")
DURATION=${DURATION:-20}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
if [ "${VIGIL_BENCH_NO_BUILD:-0}" != 1 ]; then
  cargo build --release -p vigil
fi
V=$PWD/target/release/vigil
mkdir -p bench/data/import bench/data/serve
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# The upload: a ~1 MP JPEG (the fixtures' bridge photo, 1600x1004, resized when Pillow is at
# hand in bench/.venv; else as it is).
fixtures=${VIGIL_FIXTURES:-../shared/fixtures}
photo=bench/data/serve/photo-1mp.jpg
if [ ! -f "$photo" ]; then
  src=$fixtures/threatexchange/pdq/data/bridge-mods/aaa-orig.jpg
  if [ -x bench/.venv/bin/python ] && bench/.venv/bin/python -c 'import PIL' 2>/dev/null; then
    bench/.venv/bin/python -c "
from PIL import Image
im = Image.open('$src').convert('RGB').resize((1262, 792), Image.LANCZOS)
im.save('$photo', quality=90)"
  else
    cp "$src" "$photo"
  fi
fi
python3 bench/serve_data.py upload "$photo" "$tmp/upload.body"
rss() { awk '/^VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }
port=5181

for n in "${sizes[@]}"; do
  list=bench/data/import/plain-$n.txt
  [ -f "$list" ] || python3 bench/import_data.py plain "$n" "$list"
  queries=bench/data/serve/queries-$n.txt
  [ -f "$queries" ] || python3 bench/serve_data.py queries "$list" 20000 "$queries"
  db="sqlite://$tmp/serve-$n.db"
  "$V" --db "$db" bank create bench >/dev/null
  VIGIL_LOG=error "$V" --db "$db" bank import bench "$list" >/dev/null
  start=$(date +%s.%N)
  VIGIL_LOG=warn "$V" --db "$db" serve --listen 127.0.0.1:$port 2>"$tmp/serve.log" &
  pid=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/status)" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
    sleep 0.2
  done
  load=$(echo "$(date +%s.%N) - $start" | bc)
  echo "== $n hashes: index loaded in ${load}s; server RSS $(rss $pid) (peak $(hwm $pid))"
  curl -s "http://127.0.0.1:$port/m/index/status?signal_type=pdq"; echo

  echo "-- GET /m/lookup (hash lookups), ${CONNS} connections, ${DURATION}s"
  QUERIES=$queries wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s bench/wrk/lookup.lua \
    "http://127.0.0.1:$port" | sed -n '/Latency Distribution/,$p'
  echo "-- POST /api/v1/lookup, 100 hashes per request"
  QUERIES=$queries BATCH=100 wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s bench/wrk/batch.lua \
    "http://127.0.0.1:$port" | sed -n '/Latency Distribution/,$p'
  echo "-- POST /m/lookup, a $(stat -c %s "$photo")-byte JPEG ($(python3 -c "
import struct,sys
d=open('$photo','rb').read(); i=2
while i < len(d):
    m=d[i+1]; l=struct.unpack('>H', d[i+2:i+4])[0]
    if m in (0xC0,0xC1,0xC2):
        h,w=struct.unpack('>HH', d[i+5:i+9]); print(f'{w}x{h}'); break
    i += 2 + l"))"
  BODY=$tmp/upload.body wrk -t"$THREADS" -c4 -d"${DURATION}s" --latency -s bench/wrk/upload.lua \
    "http://127.0.0.1:$port" | sed -n '/Latency Distribution/,$p'
  echo "   decode+hash alone (vigil hash --jobs 2, 200 copies):"
  mkdir -p "$tmp/copies"; for i in $(seq 200); do ln -sf "$PWD/$photo" "$tmp/copies/$i.jpg"; done
  s=$(date +%s.%N); "$V" hash -q --jobs 2 "$tmp/copies" >/dev/null; e=$(date +%s.%N)
  echo "   $(echo "200 / ($e - $s)" | bc -l | xargs printf '%.1f') images/s"

  echo "-- a bank change until visible to lookups (5 adds, each polled)"
  for i in 1 2 3 4 5; do
    h=$(python3 -c "import random; print('%064x' % random.getrandbits(256))")
    s=$(date +%s%N)
    curl -s -o /dev/null -X POST -H 'content-type: application/json' \
      -d "{\"pdq\":\"$h\"}" "http://127.0.0.1:$port/c/bank/bench/signal"
    until curl -s "http://127.0.0.1:$port/m/lookup?signal_type=pdq&signal=$h" | grep -q bench; do :; done
    e=$(date +%s%N)
    echo "   visible after $(( (e - s) / 1000000 )) ms (POST included)"
  done
  echo "   server RSS at the end $(rss $pid) (peak $(hwm $pid))"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
