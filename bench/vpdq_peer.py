"""Times vPDQ hashing of a set of videos by PyPI vpdq (the reference) and by `vigil hash`.

Each configuration (sampling x cores) runs both tools `--reps` times and keeps the fastest run;
the frames each produced are compared first (frame numbers, hashes, qualities) and a mismatch
stops the run. Frames per second are the videos' frames over wall time, the interpreter's start
excluded for the peer. The reference decodes every frame whatever the sampling; Vigil, when
sampling, leaves undecoded the frames that are neither sampled nor referred to by other frames,
unless `--decode-every-frame` (the third configuration, for the difference). CPU seconds (user +
system, all threads) are printed beside wall time: on a shared machine they move less than wall
time. A last line gives the decode floor: the `ffmpeg` tool decoding every frame of the same
videos into nothing (`-threads 1 -f null`), one core, with the same FFmpeg libraries: what any
tool that decodes every frame pays.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import vpdq


def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def ref_hash(paths, seconds, threads):
    out = {}
    c0, t0 = cpu(resource.RUSAGE_SELF), time.perf_counter()
    for p in paths:
        feats = vpdq.computeHash(str(p), seconds_per_hash=seconds, thread_count=threads)
        out[str(p)] = [(f.frame_number, f.quality, f.hex) for f in feats]
    return time.perf_counter() - t0, cpu(resource.RUSAGE_SELF) - c0, out


def decode_floor(paths):
    """Wall and CPU seconds of `ffmpeg -threads 1` decoding every frame to nothing, one core."""
    c0, t0 = cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    for p in paths:
        subprocess.run(["taskset", "-c", "0", "ffmpeg", "-v", "error", "-threads", "1",
                        "-i", str(p), "-f", "null", "-"], check=True)
    return time.perf_counter() - t0, cpu(resource.RUSAGE_CHILDREN) - c0


def vigil_hash(vigil, paths, seconds, jobs, pin, extra):
    cmd = [vigil, "hash", "--format", "jsonl", "--frames", "--seconds-per-hash", str(seconds),
           "--jobs", str(jobs)] + extra + [str(p) for p in paths]
    if pin:
        cmd = ["taskset", "-c", "0"] + cmd
    c0, t0 = cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    dt, dc = time.perf_counter() - t0, cpu(resource.RUSAGE_CHILDREN) - c0
    out, decoded = {}, 0
    for line in res.stdout.splitlines():
        r = json.loads(line)
        out[r["path"]] = [(f["frame"], f["quality"], f["pdq"]) for f in r["frames"]]
        decoded += r["decoded_frames"]
    return dt, dc, out, decoded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--videos", required=True)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    paths = sorted(Path(a.videos).glob("*.mp4"))
    if not paths:
        sys.exit(f"no .mp4 under {a.videos}")
    cores = os.cpu_count() or 1
    print(f"{len(paths)} videos; {cores} cores; vpdq {getattr(vpdq, '__version__', '0.2.5')}")
    print(f"{'sampling':<12}{'cores':<7}{'ref s':>8}{'vigil s':>9}{'ref fps':>9}{'vigil fps':>11}"
          f"{'ratio':>7}{'ref cpu':>9}{'vigil cpu':>11}{'cpu ratio':>11}  frames")
    # The last row: Vigil decoding every frame at 1 frame/s (`--decode-every-frame`), as it did
    # before it learned to leave unneeded frames undecoded.
    for seconds, label, extra in [(0, "every frame", []), (1.0, "1 frame/s", []),
                                  (1.0, "1/s all dec.", ["--decode-every-frame"])]:
        for pin in (True, False):
            best_ref = best_vig = cpu_ref = cpu_vig = None
            for _ in range(a.reps):
                if pin:
                    os.sched_setaffinity(0, {0})
                    dt_ref, dc_ref, ref = ref_hash(paths, seconds, 1)
                    os.sched_setaffinity(0, set(range(cores)))
                else:
                    dt_ref, dc_ref, ref = ref_hash(paths, seconds, 0)
                dt_vig, dc_vig, vig, decoded = vigil_hash(
                    a.vigil, paths, seconds, 1 if pin else cores, pin, extra)
                if ref != vig:
                    bad = [p for p in ref if ref[p] != vig.get(p)]
                    sys.exit(f"outputs differ on {len(bad)} videos, e.g. {bad[:2]}")
                best_ref = dt_ref if best_ref is None else min(best_ref, dt_ref)
                best_vig = dt_vig if best_vig is None else min(best_vig, dt_vig)
                cpu_ref = dc_ref if cpu_ref is None else min(cpu_ref, dc_ref)
                cpu_vig = dc_vig if cpu_vig is None else min(cpu_vig, dc_vig)
            hashed = sum(len(v) for v in ref.values())
            print(f"{label:<12}{'1' if pin else 'all':<7}{best_ref:>8.2f}{best_vig:>9.2f}"
                  f"{decoded / best_ref:>9.0f}{decoded / best_vig:>11.0f}{best_ref / best_vig:>7.2f}"
                  f"{cpu_ref:>9.2f}{cpu_vig:>11.2f}{cpu_ref / cpu_vig:>11.2f}"
                  f"  {decoded} frames, {hashed} hashed, equal")
    if shutil.which("ffmpeg"):
        floor = [decode_floor(paths) for _ in range(a.reps)]
        wall, cpus = min(f[0] for f in floor), min(f[1] for f in floor)
        print(f"decode floor (ffmpeg -threads 1 -f null, 1 core): {wall:.2f} s wall, "
              f"{cpus:.2f} s CPU, {decoded / wall:.0f} fps")


if __name__ == "__main__":
    main()
