#!/usr/bin/env bash
# Peer for bench/import.sh: imports the SAME seeded plain PDQ lists (bench/data/import/plain-N.txt)
# through python-threatexchange ("pytx", PyPI `threatexchange`, the library Meta's HMA is built
# on) and prints records per second and peak memory (RSS) of the Python process.
#
# Run with:  bench/import_peer.sh [N ...]   e.g. bench/import_peer.sh 100000 1000000
#
# What pytx does. Its import path for a hash list it did not get from an API is the CLI's
# local-file signal exchange (LocalFileSignalExchangeAPI): a collaboration configured with
#   threatexchange config collab edit local_file --create --filename LIST --signal-type pdq NAME
# and then `threatexchange fetch`. Fetch reads the whole file into memory (readlines), keeps a
# dict (signal_type, signal) -> empty metadata, and pickles that dict to
# $TX_STATEDIR/fetched/local_file/NAME.state.pickle (write to a temporary file, then rename; no
# fsync). Signals are NOT validated at fetch time; that happens when the match indices are
# rebuilt, which `fetch` does by default right after fetching: every signal is checked
# (PDQ: 64 hex digits), and a faiss PDQ index (PDQIndex = IndexBinaryMultiHash) is built and
# pickled to $TX_STATEDIR/index/. `--signal-type pdq` makes pytx read the plain list as is, one
# hash per line, so no conversion is needed. Two timed runs per N, each in a fresh state dir:
#
#   pytx-fetch        `threatexchange fetch --only-collab bench --skip-index-rebuild`
#                     (store only: the pickled dict, unvalidated)
#   pytx-fetch+index  `threatexchange fetch --only-collab bench` (the CLI's default: store,
#                     then validate and build and pickle the PDQ match index)
#
# Vigil, for comparison (bench/import.sh), validates every record and writes a durable,
# transactional SQLite database (content items, signals, provenance and an audit entry) and
# builds no match index on import. So neither pytx line stores what Vigil stores; pytx-fetch
# is the lower bound of pytx's path, pytx-fetch+index what the CLI does when asked to fetch.
# Times are the whole process, wall clock, like Vigil's: Python's start-up and pytx's imports
# (faiss, numpy) are counted; the `pytx start-up` line shows what that costs on its own (the
# same store-only fetch of an empty list).
# After each run, `threatexchange dataset` (untimed) must count N pdq signals.
#
# pytx 1.2.17 is installed into bench/.venv (created if missing; gitignored) when another
# version or none is there. It is a benchmark peer only: Vigil never depends on it. Its state
# lives in a temporary directory (TX_STATEDIR), never in ~/.threatexchange, and is removed
# afterwards. Needs Python >= 3.8 with venv, GNU /usr/bin/time, bc.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PYTX_VERSION=1.2.17
sizes=("${@:-1000000}")

if [ ! -x bench/.venv/bin/python ]; then
  "$PY" -m venv bench/.venv
fi
bench/.venv/bin/python - "$PYTX_VERSION" <<'PY' 2>/dev/null ||
import sys
from importlib.metadata import version
sys.exit(version("threatexchange") != sys.argv[1])
PY
  bench/.venv/bin/pip install -q --disable-pip-version-check "threatexchange==$PYTX_VERSION"
TX=$(pwd)/bench/.venv/bin/threatexchange

mkdir -p bench/data/import
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Never the user's own pytx state, whatever the steps below do.
export TX_STATEDIR="$tmp/unused-state" TX_VERBOSE=0

# $1: label, $2: N, $3: state dir; the rest: the command. Prints the result line.
timed() {
  local label=$1 n=$2 state=$3
  shift 3
  local start end secs rss
  start=$(date +%s.%N)
  TX_STATEDIR="$state" /usr/bin/time -f "%M" -o "$tmp/rss" "$@" >"$tmp/out" 2>"$tmp/err" ||
    { cat "$tmp/out" "$tmp/err" >&2; exit 1; }
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc)
  rss=$(cat "$tmp/rss")
  if [ "$n" = - ]; then
    printf '%s\t%.1f s\tpeak RSS %d MiB\n' "$label" "$secs" $((rss / 1024))
  else
    printf '%s\t%s records\t%.1f s\t%.0f records/s\tpeak RSS %d MiB\n' \
      "$label" "$n" "$secs" "$(echo "$n / $secs" | bc -l)" $((rss / 1024))
  fi
}

# A fresh pytx state dir with one enabled local-file collaboration "bench" reading $2 as PDQ.
setup() {
  rm -rf "$1"
  TX_STATEDIR="$1" "$TX" config collab edit local_file --create \
    --filename "$(realpath "$2")" --signal-type pdq bench >/dev/null
}

# `threatexchange dataset` (signal summary) must count N pdq signals.
check() {
  local got
  got=$(TX_STATEDIR="$1" "$TX" dataset --only-signals pdq 2>&1 | awk '$1 == "pdq:" {print $2}')
  if [ "$got" != "$2" ]; then
    echo "pytx dataset holds ${got:-no} pdq signals, expected $2:" >&2
    TX_STATEDIR="$1" "$TX" dataset >&2 || true
    exit 1
  fi
}

: >"$tmp/empty.txt"
setup "$tmp/tx-startup" "$tmp/empty.txt"
timed "pytx start-up" - "$tmp/tx-startup" "$TX" fetch --only-collab bench --skip-index-rebuild

for n in "${sizes[@]}"; do
  list=bench/data/import/plain-$n.txt
  if [ ! -f "$list" ]; then
    python3 bench/import_data.py plain "$n" "$list"
  fi
  for mode in fetch fetch+index; do
    state="$tmp/tx-$n-$mode"
    setup "$state" "$list"
    if [ "$mode" = fetch ]; then
      timed "pytx-$mode" "$n" "$state" "$TX" fetch --only-collab bench --skip-index-rebuild
    else
      timed "pytx-$mode" "$n" "$state" "$TX" fetch --only-collab bench
    fi
    check "$state" "$n"
    rm -rf "$state"
  done
done
