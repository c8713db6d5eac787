#!/usr/bin/env python3
"""The reference pipeline for bench/pdq_peers.sh: Pillow decode + PyPI `pdqhash` (the reference C++
core through Cython), as python-threatexchange and HMA hash a file.

What's measured:
* e2e: `np.asarray(Image.open(f).convert("RGB"))` then `pdqhash.compute(arr)`, for every file;
  `--jobs 1` in-process, `--jobs N` with multiprocessing.Pool(N) (fork) over the files.
* raw: the hashing step alone. Every NAME.WxH.rgb in DIR is loaded into a numpy array first, then
  only `pdqhash.compute` is timed (it includes pdqhash's own numpy float64 luma conversion, which is
  part of that library's hashing step), `--reps` times; the median total is reported.

Output: `hex,quality,path` (or name) per file on stdout, in input order; a `TIMING ...` line on
stderr with the in-process time (interpreter start and imports excluded).

Run with: bench/.venv/bin/python bench/ref_pdqhash.py e2e --jobs 1 --files-from LIST
          bench/.venv/bin/python bench/ref_pdqhash.py raw --reps 3 DIR
"""

import argparse
import multiprocessing
import os
import sys
import time

import numpy as np
import pdqhash
from PIL import Image

_NIB = np.array([8, 4, 2, 1], dtype=np.int64)


def to_hex(bits: np.ndarray) -> str:
    # pdqhash's bit vector is the reference's 256-bit number written MSB first.
    nibbles = bits.reshape(64, 4) @ _NIB
    return "".join("0123456789abcdef"[n] for n in nibbles)


def hash_file(path: str) -> str:
    try:
        arr = np.asarray(Image.open(path).convert("RGB"))
        bits, quality = pdqhash.compute(arr)
        return f"{to_hex(bits)},{int(quality)},{path}"
    except Exception as e:  # a failure is reported, the run goes on
        return f"ERROR,{type(e).__name__}: {e},{path}"


def e2e(files: list[str], jobs: int) -> None:
    t0 = time.perf_counter()
    if jobs <= 1:
        lines = [hash_file(f) for f in files]
    else:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            lines = list(pool.imap(hash_file, files, chunksize=1))
    dt = time.perf_counter() - t0
    sys.stdout.write("".join(l + "\n" for l in lines))
    sys.stdout.flush()
    print(f"TIMING tool=reference mode=e2e images={len(files)} jobs={jobs} inproc_s={dt:.6f}", file=sys.stderr)


def raw(directory: str, reps: int) -> None:
    names = sorted(n for n in os.listdir(directory) if n.endswith(".rgb"))
    arrays = []
    for n in names:
        w, h = (int(x) for x in n[: -len(".rgb")].rsplit(".", 1)[1].split("x"))
        a = np.fromfile(os.path.join(directory, n), dtype=np.uint8).reshape(h, w, 3)
        arrays.append(a)
    lines = []
    totals = []
    for rep in range(reps):
        t0 = time.perf_counter()
        for n, a in zip(names, arrays):
            bits, quality = pdqhash.compute(a)
            if rep == 0:
                lines.append((bits, quality, n))
        totals.append(time.perf_counter() - t0)
    sys.stdout.write("".join(f"{to_hex(b)},{int(q)},{n}\n" for b, q, n in lines))
    sys.stdout.flush()
    med = sorted(totals)[len(totals) // 2]
    print(
        f"TIMING tool=reference images={len(names)} reps={reps} median_s={med:.6f} "
        f"per_image_ms={med * 1e3 / max(1, len(names)):.4f} all_s={';'.join(f'{t:.6f}' for t in totals)}",
        file=sys.stderr,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["e2e", "raw"])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--files-from")
    ap.add_argument("paths", nargs="*")
    a = ap.parse_intermixed_args()
    if a.mode == "e2e":
        files = list(a.paths)
        if a.files_from:
            with open(a.files_from) as f:
                files += [l.rstrip("\n") for l in f if l.strip()]
        e2e(files, a.jobs)
    else:
        raw(a.paths[0], max(1, a.reps))


if __name__ == "__main__":
    main()
