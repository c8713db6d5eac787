#!/usr/bin/env bash
# Bank import throughput: imports a plain PDQ list of N hashes (generated, seeded) into a fresh
# bank, on SQLite and (when VIGIL_BENCH_POSTGRES_URL names an empty, disposable database) on
# PostgreSQL, and prints records per second and peak memory (RSS) of the `vigil` process.
#
# Run with:  bench/import.sh [N ...]        e.g. bench/import.sh 100000 1000000
#
# The list is written to bench/data/import/ (gitignored); the SQLite store to a temporary
# directory that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000}")
cargo build --release -p vigil
V=target/release/vigil
mkdir -p bench/data/import
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for n in "${sizes[@]}"; do
  list=bench/data/import/plain-$n.txt
  if [ ! -f "$list" ]; then
    python3 - "$n" "$list" <<'PY'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261129 + n)
with open(path, "w") as f:
    for _ in range(n):
        f.write("%064x\n" % rng.getrandbits(256))
PY
  fi
  for db in sqlite postgres; do
    if [ "$db" = sqlite ]; then
      url="sqlite://$tmp/bench-$n.db"
    elif [ -n "${VIGIL_BENCH_POSTGRES_URL:-}" ]; then
      url="$VIGIL_BENCH_POSTGRES_URL"
    else
      continue
    fi
    "$V" --db "$url" bank delete bench --yes >/dev/null 2>&1 || true
    "$V" --db "$url" bank create bench >/dev/null
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$tmp/rss" env VIGIL_LOG=error "$V" --db "$url" bank import bench "$list" 2>"$tmp/err"
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc)
    rss=$(cat "$tmp/rss")
    printf '%s\t%s records\t%.1f s\t%.0f records/s\tpeak RSS %d MiB\n' \
      "$db" "$n" "$secs" "$(echo "$n / $secs" | bc -l)" $((rss / 1024))
  done
done
