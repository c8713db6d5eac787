#!/usr/bin/env bash
# Peer comparison for the exact Hamming index: Vigil vs faiss-cpu IndexBinaryFlat and
# IndexBinaryMultiHash(256,16,16) nflip=1 (Meta HMA's configuration), one thread each.
#
# Run with:  bench/index_faiss.sh [index_faiss.py options]   e.g. --sizes 1M,10M
#
# 1. creates/reuses bench/.venv and installs faiss-cpu + numpy into it (peers only: the product
#    never depends on faiss);
# 2. builds the Vigil driver (crates/vigil-index/examples/bench_queries.rs, release);
# 3. runs bench/index_faiss.py: generates the seeded sets into bench/data/index/ (gitignored),
#    checks that Vigil and faiss Flat return identical match sets, reports MultiHash's recall, then
#    prints the times and writes the raw results to bench/runs/<date>-<host>-index/.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export OMP_NUM_THREADS=1

if [ ! -x bench/.venv/bin/python ]; then
    "$PY" -m venv bench/.venv
fi
bench/.venv/bin/python -c 'import faiss, numpy' 2>/dev/null ||
    bench/.venv/bin/pip install -q --disable-pip-version-check 'faiss-cpu==1.15.1' numpy

cargo build --release -p vigil-index --example bench_queries
exec nice -n 5 bench/.venv/bin/python bench/index_faiss.py "$@"
