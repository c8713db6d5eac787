#!/usr/bin/env bash
# Side by side: HMA's hash-lookup path (bench/hma_peer.py: python-threatexchange's PDQ index
# behind Flask, under gunicorn with one worker per core, as HMA is deployed) against `vigil
# serve`, on the same N hashes and the same queries (bench/serve_data.py), driven by the same
# wrk script. Prints each one's requests/s, latency percentiles and RSS, then the ratio. The
# answers are compared first on 200 queries (the same content ids at the same distances), and
# the run stops if they differ.
#
# Run with:  bench/serve_peer.sh [N ...]    e.g. bench/serve_peer.sh 1000000
# Env as bench/serve.sh (DURATION, CONNS, THREADS, VIGIL_BENCH_NO_BUILD). The peer is installed
# into bench/.venv-serve from bench/requirements-serve.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000}")
DURATION=${DURATION:-20}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}
WORKERS=${WORKERS:-$(nproc)}
if [ ! -x bench/.venv-serve/bin/gunicorn ]; then
  python3 -m venv bench/.venv-serve
  bench/.venv-serve/bin/pip install -q -r bench/requirements-serve.txt
fi
if [ "${VIGIL_BENCH_NO_BUILD:-0}" != 1 ]; then
  cargo build --release -p vigil
fi
V=$PWD/target/release/vigil
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p bench/data/serve
rss_tree() { # RSS of a process and its children, MiB
  local total=0
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$((total / 1024)) MiB"
}
rps() { sed -n 's/^Requests\/sec: *//p' "$1"; }

for n in "${sizes[@]}"; do
  list=bench/data/import/plain-$n.txt
  [ -f "$list" ] || python3 bench/import_data.py plain "$n" "$list"
  queries=bench/data/serve/queries-$n.txt
  [ -f "$queries" ] || python3 bench/serve_data.py queries "$list" 20000 "$queries"

  # The peer.
  s=$(date +%s.%N)
  HMA_PEER_LIST=$PWD/$list bench/.venv-serve/bin/gunicorn -w "$WORKERS" -b 127.0.0.1:5182 \
    --chdir bench --timeout 3600 --log-level warning hma_peer:app >"$tmp/peer.log" 2>&1 &
  pids+=($!)
  peer=$!
  until curl -sf http://127.0.0.1:5182/status >/dev/null; do
    kill -0 "$peer" 2>/dev/null || { cat "$tmp/peer.log" >&2; exit 1; }
    sleep 0.5
  done
  # Every worker must have built its index: /status answers only from a worker that has.
  sleep 2
  echo "== $n hashes: HMA peer up in $(echo "$(date +%s.%N) - $s" | bc)s, $WORKERS workers, RSS $(rss_tree $peer)"

  # Vigil.
  db="sqlite://$tmp/peer-$n.db"
  "$V" --db "$db" bank create bench >/dev/null
  VIGIL_LOG=error "$V" --db "$db" bank import bench "$list" >/dev/null
  VIGIL_LOG=warn "$V" --db "$db" serve --listen 127.0.0.1:5183 2>"$tmp/serve.log" &
  pids+=($!)
  vig=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5183/status)" = 200 ]; do
    kill -0 "$vig" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
    sleep 0.2
  done

  # Same answers: the same number of matches at the same distances for each query (content ids
  # differ: the peer numbers list lines, Vigil's import orders items by hash).
  python3 - "$queries" <<'PY'
import json, sys, urllib.request
bad = 0
for q in open(sys.argv[1]).read().split()[:200]:
    def get(port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/m/lookup?signal_type=pdq&signal={q}") as r:
            d = json.load(r)
        return sorted(int(m["distance"]) for m in d.get("bench", []))
    a, b = get(5182), get(5183)
    if a != b:
        bad += 1
        print(f"differ on {q}: hma {a} vigil {b}", file=sys.stderr)
print(f"answers compared on 200 queries: {200 - bad} identical")
sys.exit(1 if bad else 0)
PY
  sleep 1
  for who in peer vigil; do
    port=5182; [ $who = vigil ] && port=5183
    QUERIES=$queries wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s bench/wrk/lookup.lua \
      "http://127.0.0.1:$port" >"$tmp/$who.wrk"
    echo "-- $who: $(rps "$tmp/$who.wrk") requests/s"
    sed -n '/Latency Distribution/,/99%/p' "$tmp/$who.wrk"
  done
  echo "   RSS: peer $(rss_tree $peer), vigil $(rss_tree $vig)"
  echo "   ratio vigil/peer: $(echo "$(rps "$tmp/vigil.wrk") / $(rps "$tmp/peer.wrk")" | bc -l | xargs printf '%.1f')x"
  kill "$peer" "$vig"; wait "$peer" "$vig" 2>/dev/null || true
  pids=()
done
