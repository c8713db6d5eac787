#!/usr/bin/env python3
"""Peer comparison for the exact Hamming index: Vigil vs faiss IndexBinaryFlat and
IndexBinaryMultiHash(256, 16, 16) nflip=1 (HMA's configuration). Run through bench/index_faiss.sh.

1. Builds (or reuses) seeded hash sets in bench/data/index/: `uniform-<N>` (uniform random) and
   `skewed-<N>` (families of 1-32 near-duplicates, 0-12 bits from a centre whose bit k is set with
   probability 0.15-0.5), N x 32 bytes, plus 10,000 queries per set (even: a stored hash with 0-24
   bits flipped; odd: a fresh hash from the set's distribution).
2. Runs the Vigil driver (crates/vigil-index/examples/bench_queries.rs) and faiss, one thread each.
3. CHECKS that Vigil and faiss IndexBinaryFlat return identical match sets at radius r (faiss's
   range_search keeps `dis < radius`, so it is called with r + 1), and reports MultiHash nflip=1's
   recall against that exact set (it is exact only when some 16-bit substring is within 1 bit,
   i.e. not at r = 31 in general). Only then prints times, build times, memory and ratios.
4. Writes everything raw to bench/runs/<date>-<host>-index/.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data", "index")
NQ = 10_000


def label(n):
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}K"


def bias():
    k = np.arange(256)
    return 0.15 + 0.35 * ((k * 37 % 256) / 255.0)


def biased(rng, n):
    out = np.empty((n, 32), np.uint8)
    p = bias()
    for s in range(0, n, 1 << 18):
        e = min(n, s + (1 << 18))
        out[s:e] = np.packbits(rng.random((e - s, 256)) < p, axis=1)
    return out


def flip(rng, codes, kmax):
    """Flips k ~ U{0..kmax} random bit positions (with replacement) in each row, in place."""
    n = len(codes)
    k = rng.integers(0, kmax + 1, n)
    rows = np.arange(n)
    for j in range(kmax):
        pos = rng.integers(0, 256, n)
        sel = k > j
        codes[rows[sel], pos[sel] >> 3] ^= (1 << (7 - (pos[sel] & 7))).astype(np.uint8)
    return codes


def make(kind, n):
    os.makedirs(DATA, exist_ok=True)
    base_p = os.path.join(DATA, f"{kind}-{label(n)}.u8")
    q_p = os.path.join(DATA, f"{kind}-{label(n)}-queries.u8")
    if os.path.exists(base_p) and os.path.exists(q_p):
        return base_p, q_p
    seed = {"uniform": 1, "skewed": 2}[kind] * 1_000_003 + n
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        base = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    else:
        nfam = n // 8 + 16
        while True:
            members = 1 + (rng.integers(0, 32, nfam) * rng.integers(0, 32, nfam)) // 31
            if members.sum() >= n:
                break
            nfam *= 2
        centres = biased(rng, nfam)
        fam = np.repeat(np.arange(nfam), members)[:n]
        base = flip(rng, centres[fam], 12)
        base = base[rng.permutation(n)]
    near = flip(rng, base[rng.integers(0, n, NQ // 2)].copy(), 24)
    if kind == "uniform":
        far = rng.integers(0, 256, (NQ // 2, 32), dtype=np.uint8)
    else:
        far = biased(rng, NQ // 2)
    q = np.empty((NQ, 32), np.uint8)
    q[0::2] = near
    q[1::2] = far
    base.tofile(base_p)
    q.tofile(q_p)
    return base_p, q_p


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def canon(lims, ids):
    return [np.sort(ids[lims[i] : lims[i + 1]]) for i in range(len(lims) - 1)]


def run_faiss(faiss, kind, base, queries, r):
    d = 256
    rss0 = rss()
    t = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexBinaryFlat(d)
        index.add(base)
    else:
        index = faiss.IndexBinaryMultiHash(d, 16, 16)
        index.add(base)
        index.nflip = 1
    build = time.perf_counter() - t
    mem = rss() - rss0
    index.range_search(queries[: min(200, len(queries))], r + 1)  # warm-up
    best = float("inf")
    res = None
    for _ in range(args.reps):
        t = time.perf_counter()
        lims, dist, ids = index.range_search(queries, r + 1)
        best = min(best, time.perf_counter() - t)
        res = (lims, dist, ids)
    lims, dist, ids = res
    assert dist.size == 0 or dist.max() <= r, "faiss returned a distance > r"
    del index
    return dict(build_s=build, us_per_query=best / len(queries) * 1e6, rss_delta_bytes_per_hash=mem / len(base),
                matches=int(lims[-1])), canon(lims, ids)


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1M", help="comma list, e.g. 1M,10M")
    ap.add_argument("--sets", default="uniform,skewed")
    ap.add_argument("-r", type=int, default=31)
    ap.add_argument("--faiss-queries", type=int, default=NQ,
                    help="queries run through faiss (the first K of the 10,000); Vigil runs all")
    ap.add_argument("--faiss-queries-10m", type=int, default=1000)
    ap.add_argument("--scan-queries", type=int, default=2000, help="queries for Vigil's forced scan")
    ap.add_argument("--reps", type=int, default=1, help="timed faiss passes (best kept)")
    ap.add_argument("--vigil-reps", type=int, default=3)
    ap.add_argument("--driver", default=os.path.join(ROOT, "target", "release", "examples", "bench_queries"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import faiss

    faiss.omp_set_num_threads(1)
    host = socket.gethostname().split(".")[0] or "host"
    out = args.out or os.path.join(ROOT, "bench", "runs", f"{datetime.date.today()}-{host}-index")
    os.makedirs(out, exist_ok=True)
    scratch = os.path.join(out, "scratch")
    os.makedirs(scratch, exist_ok=True)
    meta = dict(date=datetime.datetime.now().isoformat(timespec="seconds"), host=host,
                cpu=next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
                nproc=os.cpu_count(), faiss=faiss.__version__, faiss_opts=faiss.get_compile_options(),
                numpy=np.__version__, python=platform.python_version(), r=args.r,
                loadavg_start=os.getloadavg(), argv=sys.argv)
    results = []
    ok = True
    for size in args.sizes.split(","):
        n = int(size[:-1]) * (1_000_000 if size.endswith("M") else 1000)
        for kind in args.sets.split(","):
            t = time.perf_counter()
            base_p, q_p = make(kind, n)
            print(f"## {kind} {label(n)} (data {time.perf_counter() - t:.1f} s)", flush=True)
            base = np.fromfile(base_p, np.uint8).reshape(-1, 32)
            queries = np.fromfile(q_p, np.uint8).reshape(-1, 32)
            nfq = min(len(queries), args.faiss_queries if n < 10_000_000 else args.faiss_queries_10m)
            row = dict(set=kind, n=n, nq=len(queries), faiss_nq=nfq, r=args.r,
                       distinct=int(len(np.unique(base.view(np.dtype((np.void, 32)))))) if n <= 1_000_000 else None)
            # Vigil (auto, plus forced strategies for context)
            for strat in ["auto", "scan"]:
                res_p = os.path.join(scratch, f"vigil-{kind}-{label(n)}-{strat}.u64")
                snq = len(queries) if strat == "auto" else min(nfq, args.scan_queries)
                cmd = [args.driver, base_p, q_p, str(args.r), res_p, strat,
                       str(args.vigil_reps if strat == "auto" else 1), str(snq)]
                p = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                   env=dict(os.environ, OMP_NUM_THREADS="1"))
                v = json.loads(p.stdout.strip().splitlines()[-1])
                raw = np.fromfile(res_p, np.uint64)
                lims = raw[: snq + 1].astype(np.int64)
                v_sets = canon(lims, raw[snq + 1 :].astype(np.int64))
                row[f"vigil_{strat}"] = v
                if strat == "auto":
                    vigil_sets = v_sets
                else:
                    row["vigil_scan_identical_to_auto"] = all(
                        np.array_equal(a, b) for a, b in zip(v_sets, vigil_sets))
                print(f"  vigil {strat}: {v['us_per_query']:.1f} us/q, build {v['build_s']:.2f} s, "
                      f"{v['heap_bytes_per_hash']:.1f} B/hash, m={v['substrings']}", flush=True)
            qf = np.ascontiguousarray(queries[:nfq])
            flat, flat_sets = run_faiss(faiss, "flat", base, qf, args.r)
            row["faiss_flat"] = flat
            same = all(np.array_equal(a, b) for a, b in zip(flat_sets, vigil_sets[:nfq]))
            row["identical_vigil_vs_flat"] = same
            ok &= same and row["vigil_scan_identical_to_auto"]
            print(f"  faiss Flat: {flat['us_per_query']:.1f} us/q, build {flat['build_s']:.2f} s; "
                  f"match sets identical to Vigil on {nfq} queries: {same}", flush=True)
            mh, mh_sets = run_faiss(faiss, "multihash", base, qf, args.r)
            exact = sum(len(a) for a in flat_sets)
            found = sum(len(np.intersect1d(a, b)) for a, b in zip(mh_sets, flat_sets))
            extra = sum(len(np.setdiff1d(b, a)) for a, b in zip(flat_sets, mh_sets))
            mh.update(recall=found / exact if exact else 1.0, exact_pairs=exact, found_pairs=found,
                      false_pairs=extra,
                      queries_missing=sum(len(np.setdiff1d(a, b)) > 0 for a, b in zip(flat_sets, mh_sets)))
            row["faiss_multihash_nflip1"] = mh
            ok &= extra == 0
            print(f"  faiss MultiHash(256,16,16) nflip=1: {mh['us_per_query']:.1f} us/q, build {mh['build_s']:.2f} s, "
                  f"recall {mh['recall']:.5f} ({found}/{exact} pairs, {mh['queries_missing']} queries miss some)",
                  flush=True)
            results.append(row)
    meta["loadavg_end"] = os.getloadavg()
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(dict(meta=meta, results=results), f, indent=1)
    if not ok:
        print("MATCH SETS DIFFER: no timings reported", file=sys.stderr)
        sys.exit(1)
    lines = [f"# {meta['date']} {meta['cpu']} ({meta['nproc']} vCPU), faiss {meta['faiss']} ({meta['faiss_opts']}), "
             f"1 thread, r = {args.r} (faiss radius {args.r + 1}); load avg start {meta['loadavg_start']}, end {meta['loadavg_end']}",
             "",
             "| set | N | Vigil µs/q | Vigil scan µs/q | Flat µs/q | MultiHash µs/q | × Flat | × MultiHash | MH recall | "
             "Vigil build s | Flat build s | MH build s | Vigil B/hash | MH RSS B/hash | identical |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in results:
        v, s, fl, mh = x["vigil_auto"], x["vigil_scan"], x["faiss_flat"], x["faiss_multihash_nflip1"]
        lines.append(
            f"| {x['set']} | {label(x['n'])} | {v['us_per_query']:.1f} | {s['us_per_query']:.0f} | {fl['us_per_query']:.0f} | "
            f"{mh['us_per_query']:.0f} | {fl['us_per_query'] / v['us_per_query']:.0f} | {mh['us_per_query'] / v['us_per_query']:.0f} | "
            f"{mh['recall']:.4f} | {v['build_s']:.2f} | {fl['build_s']:.2f} | {mh['build_s']:.2f} | "
            f"{v['heap_bytes_per_hash']:.1f} | {mh['rss_delta_bytes_per_hash']:.0f} | {x['identical_vigil_vs_flat']} ({x['faiss_nq']} q) |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
