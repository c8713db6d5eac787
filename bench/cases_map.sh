#!/usr/bin/env bash
# The case map page at the registry's target size (issue 8): the demo data set at 19,000
# incidents a year for five years (about 104,000 incidents, as the vigil-cases criterion bench)
# in a fresh SQLite store, served by the real server on 127.0.0.1; then
#   (a) GET /api/v1/cases/map without and with points=1 (displaced points), REPEAT times each;
#   (b) the page /ui/cases/map in headless Chromium until the polygons are drawn (Navigation
#       Timing and the page's marker window.vigilMapDrawn), and the density layer's draw.
# All the work is crates/vigil-server/examples/cases_map_bench.rs; this builds and runs it.
#
# Run with:  bench/cases_map.sh
# Env: PER_YEAR (default 19000), REPEAT (default 7), BROWSER=0 (skip the page; otherwise
#      Debian's chromium and chromium-driver are needed), VIGIL_BENCH_NO_BUILD=1 (run the
#      example as built).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${CARGO_TARGET_DIR:-target}
if [ "${VIGIL_BENCH_NO_BUILD:-0}" != 1 ]; then
  cargo build --release -p vigil-server --example cases_map_bench
fi
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$T/release/examples/cases_map_bench"
