#!/usr/bin/env bash
# Crawl throughput: `vigil crawl run` over a local site of PAGES HTML pages and IMAGES distinct
# generated ~100 KB JPEGs (crates/vigil-crawl/examples/bench_site, served from memory on
# 127.0.0.1), with a fresh SQLite store and a bank holding the PDQ hashes of the site's first
# BANKED images (so findings are recorded), then `wget --mirror` of the same site (fetch only,
# into a temporary directory deleted afterwards) for the ratio.
#
# Prints: wall and CPU seconds (user + sys, from /usr/bin/time -v), pages/s, images hashed/s,
# both per wall second and per CPU second ("per core"), peak RSS, the RSS sampled as the crawl
# grows (URLs done vs RSS), the findings, and the wget ratio.
#
# Run with:  bench/crawl.sh            (one crawl of the 10,000-page site, then wget)
#            SIZES="2500 5000 10000" bench/crawl.sh   (a crawl per site size, for peak RSS over
#            crawl size; site N has N pages and N images; wget on the last size)
# Env: SIZES (default $PAGES), PAGES (default 10000), IMAGES (default PAGES), BANKED (default 100), WORKERS (fetches in
#      flight, default 16), PORT (default 5190), SITE_DIR (image cache, default
#      $CARGO_TARGET_DIR/bench-site or target/bench-site), CRAWL_CPUS (e.g. 0,1: run the crawler
#      under taskset -c), SKIP_WGET=1, VIGIL_BENCH_NO_BUILD=1 (use the release binaries as they
#      are). Needs GNU /usr/bin/time, python3 (sampling the store), wget (installed with apt-get
#      when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${PAGES:-10000}
IMAGES=${IMAGES:-$PAGES}
SIZES=${SIZES:-}
BANKED=${BANKED:-100}
WORKERS=${WORKERS:-16}
PORT=${PORT:-5190}
T=${CARGO_TARGET_DIR:-target}
SITE_DIR=${SITE_DIR:-$T/bench-site}
if [ "${VIGIL_BENCH_NO_BUILD:-0}" != 1 ]; then
  cargo build --release -p vigil
  cargo build --release -p vigil-crawl --example bench_site
fi
V=$T/release/vigil
SITE=$T/release/examples/bench_site
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
if [ "${SKIP_WGET:-0}" != 1 ] && ! command -v wget >/dev/null; then
  apt-get install -y wget >/dev/null
fi
tmp=$(mktemp -d)
site_pid=
sampler_pid=
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  [ -n "$site_pid" ] && kill "$site_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

run_size() {
PAGES=$1
IMAGES=$2
if [ -n "$site_pid" ]; then kill "$site_pid"; wait "$site_pid" 2>/dev/null || true; fi
# The images (generated once into SITE_DIR), then the site, in memory.
"$SITE" --dir "$SITE_DIR" --images "$IMAGES" --generate-only
"$SITE" --dir "$SITE_DIR" --pages "$PAGES" --images "$IMAGES" --listen "127.0.0.1:$PORT" \
  >"$tmp/site.out" 2>"$tmp/site.err" &
site_pid=$!
until grep -q listening "$tmp/site.out" 2>/dev/null; do
  kill -0 "$site_pid" 2>/dev/null || { cat "$tmp/site.err" >&2; exit 1; }
  sleep 0.2
done
base="http://127.0.0.1:$PORT/"
echo "== site: $PAGES pages, $IMAGES images ($(du -sh "$SITE_DIR" | cut -f1) of JPEG) at $base"
echo "   machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo);" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"

# A fresh store with a bank of the first BANKED images' PDQ hashes (as `vigil hash` gives them).
rm -f "$tmp"/crawl.db*
db="sqlite://$tmp/crawl.db"
files=()
for ((i = 0; i < BANKED; i++)); do files+=("$SITE_DIR/$(printf %05d $i).jpg"); done
"$V" hash --format csv -q "${files[@]}" | cut -d, -f1 >"$tmp/bank.txt"
"$V" --db "$db" bank create bench >/dev/null
VIGIL_LOG=error "$V" --db "$db" bank import bench "$tmp/bank.txt" >/dev/null
echo "$base" >"$tmp/seeds.txt"

# RSS and URLs done, sampled every second while the crawl runs.
sample() {
  local pid=$1
  local start
  start=$(date +%s.%N)
  while kill -0 "$pid" 2>/dev/null; do
    local vpid rss done_
    vpid=$(pgrep -P "$pid" -x vigil || true)
    [ -n "$vpid" ] || { sleep 0.2; continue; }
    rss=$(awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$vpid/status" 2>/dev/null || echo -)
    done_=$(python3 - "$tmp/crawl.db" 2>/dev/null <<'EOF' || echo -
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=0.2)
print(c.execute("SELECT count(*) FROM crawl_frontier WHERE state IN ('done','failed')").fetchone()[0])
EOF
)
    printf '%.1f %s %s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$done_" "$rss"
    sleep 1
  done
}

# CPU seconds (user + sys) a process has used so far, from /proc/PID/stat.
proc_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}

# How fast this machine is right now (a shared VM's speed drifts from run to run): the same
# 300 images hashed by `vigil hash` on one thread, before the crawl.
probe=()
for ((i = 0; i < 300; i++)); do probe+=("$SITE_DIR/$(printf %05d $((i % IMAGES))).jpg"); done
p0=$(date +%s.%N)
"$V" hash --jobs 1 --format csv -q "${probe[@]}" >/dev/null
p1=$(date +%s.%N)
echo "   machine speed now: vigil hash --jobs 1 of 300 site images:" \
  "$(echo "300 / ($p1 - $p0)" | bc) images/s (one thread)"

taskset_=()
[ -n "${CRAWL_CPUS:-}" ] && taskset_=(taskset -c "$CRAWL_CPUS")
echo "-- vigil crawl run: $WORKERS fetches in flight, no delay, robots.txt honoured" \
  "${CRAWL_CPUS:+(crawler on CPUs $CRAWL_CPUS)}"
VIGIL_LOG=warn /usr/bin/time -v "${taskset_[@]}" "$V" --db "$db" crawl run --seeds "$tmp/seeds.txt" \
  --name bench --allow-private 127.0.0.0/8 --workers "$WORKERS" --per-host-concurrency "$WORKERS" \
  --delay-ms 0 --max-depth 100 --max-pages 1000000 2>"$tmp/crawl.err" &
crawl_pid=$!
site_cpu0=$(proc_cpu "$site_pid")
sample "$crawl_pid" >"$tmp/samples.txt" &
sampler_pid=$!
wait "$crawl_pid" || { cat "$tmp/crawl.err" >&2; exit 1; }
site_cpu=$(echo "$(proc_cpu "$site_pid") - $site_cpu0" | bc)
wait "$sampler_pid" || true
sampler_pid=
grep '^crawl ' "$tmp/crawl.err"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/crawl.err")
user=$(awk -F': ' '/User time/ {print $2}' "$tmp/crawl.err")
sys=$(awk -F': ' '/System time/ {print $2}' "$tmp/crawl.err")
peak=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$tmp/crawl.err")
summary=$(grep '^crawl ' "$tmp/crawl.err")
fetched=$(echo "$summary" | sed -E 's/.*: ([0-9]+) fetched.*/\1/')
pages=$(echo "$summary" | sed -E 's/.* ([0-9]+) pages.*/\1/')
hashed=$(echo "$summary" | sed -E 's/.* ([0-9]+) media hashed.*/\1/')
findings=$(echo "$summary" | sed -E 's/.* ([0-9]+) findings.*/\1/')
cpu=$(echo "$user + $sys" | bc)
python3 - "$wall" "$cpu" "$user" "$sys" "$fetched" "$pages" "$hashed" "$findings" "$peak" "$site_cpu" <<'EOF'
import sys
wall, cpu, user, sys_ = map(float, sys.argv[1:5])
fetched, pages, hashed, findings, peak = map(int, sys.argv[5:10])
site_cpu = float(sys.argv[10])
print(f"   wall {wall:.1f} s, CPU {cpu:.1f} s (user {user:.1f} + sys {sys_:.1f}), "
      f"{cpu / wall:.2f} cores busy on average")
print(f"   {fetched} fetched: {fetched / wall:.0f} URLs/s; {pages} pages: {pages / wall:.0f} pages/s "
      f"({pages / cpu:.0f} per CPU-second); {hashed} images hashed: {hashed / wall:.0f} images/s "
      f"({hashed / cpu:.0f} per CPU-second)")
print(f"   peak RSS {peak} MiB; {findings} findings")
print(f"   the site server used {site_cpu:.1f} CPU-seconds meanwhile ({site_cpu / wall:.2f} cores)")
EOF
echo "   RSS as the crawl grows (URLs done → RSS MiB):"
python3 - "$tmp/samples.txt" <<'EOF'
import sys
rows = []
for line in open(sys.argv[1]):
    t, done, rss = line.split()
    if done != "-" and rss != "-":
        rows.append((float(t), int(done), int(rss)))
marks = [2500, 5000, 10000, 15000, 20000]
out, peak = [], 0
for t, done, rss in rows:
    peak = max(peak, rss)
    while marks and done >= marks[0]:
        out.append(f"{marks.pop(0)}: {rss} (peak so far {peak}) at {t:.0f} s")
if rows:
    out.append(f"end ({rows[-1][1]}): {rows[-1][2]} (peak {peak})")
print("     " + "\n     ".join(out))
EOF

}

if [ -n "$SIZES" ]; then
  for n in $SIZES; do run_size "$n" "$n"; done
else
  run_size "$PAGES" "$IMAGES"
fi
if [ "${SKIP_WGET:-0}" != 1 ]; then
  echo "-- wget --mirror of the same site (fetch only, one connection, into a temporary directory)"
  mkdir "$tmp/wget"
  /usr/bin/time -v wget --mirror --no-verbose --no-host-directories -P "$tmp/wget" "$base" \
    >"$tmp/wget.out" 2>"$tmp/wget.err" || true # wget exits 8 for the 404s the site has
  wwall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/wget.err")
  wuser=$(awk -F': ' '/User time/ {print $2}' "$tmp/wget.err")
  wsys=$(awk -F': ' '/System time/ {print $2}' "$tmp/wget.err")
  wfiles=$(find "$tmp/wget" -type f | wc -l)
  wimages=$(find "$tmp/wget" -type f -name '*.jpg' | wc -l)
  rm -rf "$tmp/wget"
  python3 - "$wall" "$cpu" "$fetched" "$wwall" "$wuser" "$wsys" "$wfiles" "$wimages" <<'EOF'
import sys
wall, cpu, fetched, wwall, wuser, wsys = map(float, sys.argv[1:7])
wfiles, wimages = map(int, sys.argv[7:9])
wcpu = wuser + wsys
print(f"   wget: {wfiles} files ({wimages} JPEG) in {wwall:.1f} s wall, CPU {wcpu:.1f} s: "
      f"{wfiles / wwall:.0f} files/s")
print(f"   ratio vigil/wget: URLs per wall second {fetched / wall / (wfiles / wwall):.2f}x, "
      f"wall time {wall / wwall:.2f}x, CPU per URL {(cpu / fetched) / (wcpu / wfiles):.2f}x "
      f"(vigil also parses, hashes, matches and records; wget only fetches and writes files)")
EOF
fi
