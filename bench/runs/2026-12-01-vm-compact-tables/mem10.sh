#!/bin/bash
# usage: mem10.sh BIN DB SEED N  — serve DB, lookups for 45 s, import N new hashes after 5 s;
# prints RSS after load, peak (VmHWM) after load, and at the end, plus wrk results.
V=$1; db=$2; seed=$3; n=${4:-100000}
port=5193
Q=/work/main/bench/data/serve/queries-10000000.txt
python3 - "$seed" "$n" /tmp/mem10-new.txt <<'PY'
import random, sys
rng = random.Random(int(sys.argv[1]))
with open(sys.argv[3], "w") as f:
    for _ in range(int(sys.argv[2])):
        f.write(f"{rng.getrandbits(256):064x}\n")
PY
VIGIL_LOG=info $V --db sqlite://$db serve --listen 127.0.0.1:$port 2>/tmp/mem10-serve.log &
pid=$!
s=$(date +%s.%N)
until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/status)" = 200 ]; do sleep 0.2; kill -0 $pid || exit 1; done
st() { awk '/^(VmRSS|VmHWM)/ {printf "%s %.0f MiB  ", $1, $2/1024}' /proc/$pid/status; }
echo "loaded in $(echo "$(date +%s.%N) - $s" | bc) s; $(st)"
sleep 3
echo "before: $(st)"
QUERIES=$Q wrk -t1 -c16 -d45s --latency -s /work/main/bench/wrk/lookup.lua http://127.0.0.1:$port > /tmp/mem10-wrk.txt &
w=$!
sleep 5
t=$(date +%s.%N)
VIGIL_LOG=error $V --db sqlite://$db bank import bench /tmp/mem10-new.txt >/dev/null 2>&1
echo "import took $(echo "$(date +%s.%N) - $t" | bc) s; $(st)"
wait $w
echo "end: $(st)"
grep -E "Requests/sec|99%|50%|Latency  " /tmp/mem10-wrk.txt
grep -i compact /tmp/mem10-serve.log | tail -3
kill $pid; wait $pid 2>/dev/null
