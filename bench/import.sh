#!/usr/bin/env bash
# Bank import throughput: imports a plain PDQ list of N hashes (generated, seeded) into a fresh
# bank, on SQLite and (when VIGIL_BENCH_POSTGRES_URL names an empty, disposable database) on
# PostgreSQL, and prints records per second and peak memory (RSS) of the `vigil` process.
#
# Run with:  bench/import.sh [--vics] [N ...]   e.g. bench/import.sh 100000 1000000
#
# --vics imports a Project VIC VICS 2.0 `#Media` hash set of N media instead (seeded; MD5 + SHA1
# and the usual VICS fields per media, US data model: `--format vics --vics-scheme us`); its
# result lines name the database as `sqlite/vics` / `postgres/vics`.
#
# The inputs are written by bench/import_data.py to bench/data/import/ (gitignored: plain-N.txt,
# vics-N.json) and reused; the SQLite store goes to a temporary directory that is removed
# afterwards. VIGIL_BENCH_NO_BUILD=1 skips `cargo build` and uses the existing
# target/release/vigil as it is. The peer (python-threatexchange) on the same plain lists:
# bench/import_peer.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=plain
if [ "${1:-}" = --vics ]; then
  kind=vics
  shift
fi
sizes=("${@:-1000000}")
if [ "${VIGIL_BENCH_NO_BUILD:-0}" != 1 ]; then
  cargo build --release -p vigil
fi
V=target/release/vigil
mkdir -p bench/data/import
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for n in "${sizes[@]}"; do
  if [ "$kind" = vics ]; then
    list=bench/data/import/vics-$n.json
    fmt=(--format vics --vics-scheme us)
    tag=/vics
  else
    list=bench/data/import/plain-$n.txt
    fmt=()
    tag=
  fi
  if [ ! -f "$list" ]; then
    python3 bench/import_data.py "$kind" "$n" "$list"
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
    /usr/bin/time -f "%M" -o "$tmp/rss" env VIGIL_LOG=error "$V" --db "$url" bank import bench "${fmt[@]}" "$list" 2>"$tmp/err" ||
      { cat "$tmp/err" >&2; exit 1; }
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc)
    rss=$(cat "$tmp/rss")
    printf '%s\t%s records\t%.1f s\t%.0f records/s\tpeak RSS %d MiB\n' \
      "$db$tag" "$n" "$secs" "$(echo "$n / $secs" | bc -l)" $((rss / 1024))
  done
done
