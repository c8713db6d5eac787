#!/usr/bin/env python3
"""Prepare the benchmark inputs for bench/pdq_peers.sh (deterministic; benign images only).

Sets (each gets bench/data/lists/<set>.txt, one absolute path per line, sorted):

* conformance  the 307 PNGs of ../shared/fixtures/conformance (not copied).
* shipped      every distinct JPEG file in Debian's plasma-workspace-wallpapers (symlinks skipped, so
               each picture counts once), copied unmodified to bench/data/sets/shipped/.
* photos       206 JPEG photos derived from the package's full-size wallpapers: each of the 43
               full-size pictures (JPEG and PNG, sorted by path, screenshots excluded) resized
               (Pillow LANCZOS, aspect kept) to a long side of 640, 1024, 1600, 2048, 2400 and
               4032 px where that is not an upscale, saved by Pillow as baseline JPEG, quality 90,
               4:2:0.
               The package ships only 39 distinct JPEG files (132 of its 171 .jpg paths are
               symlinks), so the ~200-photo set has to be derived.

For the hashing-step comparison each image is decoded once with Pillow (`convert("RGB")`, the
pixels the reference pipeline hashes) and written to bench/data/raw/<set>/NAME.WxH.rgb.

Writes bench/data/sets.csv (set, name, path, bytes, width, height, pillow_mode) and prints the size
distribution of every set.
"""

import csv
import hashlib
import os
import shutil
import statistics
import sys
from pathlib import Path

from PIL import Image

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
FIXTURES = Path(os.environ.get("VIGIL_FIXTURES", BENCH.parent.parent / "shared" / "fixtures")).resolve()
WALL = DATA / "wallpapers" / "usr" / "share" / "wallpapers"
LONG_SIDES = (640, 1024, 1600, 2048, 2400, 4032)
JPEG_QUALITY = 90


def raw_name(name: str, w: int, h: int) -> str:
    return f"{name}.{w}x{h}.rgb"


def write_raw(set_name: str, name: str, path: Path) -> tuple[int, int, str]:
    out_dir = DATA / "raw" / set_name
    with Image.open(path) as im:
        mode = im.mode
        rgb = im.convert("RGB")
    w, h = rgb.size
    out = out_dir / raw_name(name, w, h)
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        tmp.write_bytes(rgb.tobytes())
        tmp.rename(out)
    return w, h, mode


def conformance() -> list[tuple[str, Path]]:
    root = FIXTURES / "conformance"
    files = sorted(root.glob("**/*.png"))
    # Names keep the sub-folder so they are unique: photo__p001-....png
    return [("__".join(f.relative_to(root).parts), f) for f in files]


def shipped() -> list[tuple[str, Path]]:
    out_dir = DATA / "sets" / "shipped"
    out_dir.mkdir(parents=True, exist_ok=True)
    srcs = sorted(p for p in WALL.glob("*/contents/**/*.jpg") if p.is_file() and not p.is_symlink())
    res = []
    for p in srcs:
        rel = p.relative_to(WALL)
        name = "-".join([rel.parts[0]] + [x for x in rel.parts[1:] if x != "contents"])
        dst = out_dir / name
        if not dst.exists():
            shutil.copyfile(p, dst)
        res.append((name, dst))
    return res


def photos() -> list[tuple[str, Path]]:
    out_dir = DATA / "sets" / "photos"
    out_dir.mkdir(parents=True, exist_ok=True)
    srcs = sorted(
        p
        for p in WALL.glob("*/contents/images*/*")
        if p.is_file() and not p.is_symlink() and p.suffix.lower() in (".jpg", ".png")
    )
    plan = []
    for p in srcs:
        with Image.open(p) as im:
            w, h = im.size
        for L in LONG_SIDES:
            if L <= max(w, h):
                plan.append((p, L))
    res = []
    for p, L in plan:
        rel = p.relative_to(WALL)
        stem = "-".join([rel.parts[0], rel.parts[2], p.stem])
        name = f"{stem}-L{L}.jpg"
        dst = out_dir / name
        if not dst.exists():
            with Image.open(p) as im:
                im = im.convert("RGB")
                w, h = im.size
                s = L / max(w, h)
                size = (max(1, round(w * s)), max(1, round(h * s)))
                if size != (w, h):
                    im = im.resize(size, Image.Resampling.LANCZOS)
                tmp = dst.with_suffix(".tmp")
                im.save(tmp, "JPEG", quality=JPEG_QUALITY, subsampling="4:2:0", optimize=False)
                tmp.rename(dst)
        res.append((name, dst))
    return res


def describe(set_name: str, rows: list[dict]) -> None:
    sizes = sorted(r["bytes"] for r in rows)
    mps = sorted(r["width"] * r["height"] / 1e6 for r in rows)
    q = lambda xs, f: xs[min(len(xs) - 1, int(f * len(xs)))]
    print(
        f"  {set_name:12s} n={len(rows):4d}  file KB min/med/p90/max = "
        f"{sizes[0] / 1024:.0f}/{statistics.median(sizes) / 1024:.0f}/{q(sizes, .9) / 1024:.0f}/{sizes[-1] / 1024:.0f}"
        f"  total {sum(sizes) / 2**20:.1f} MiB"
        f"  | MP min/med/p90/max = {mps[0]:.3f}/{statistics.median(mps):.2f}/{q(mps, .9):.2f}/{mps[-1]:.2f}"
        f"  total {sum(mps):.1f} MP"
    )


def main() -> int:
    if not WALL.is_dir():
        print(f"missing {WALL}: extract plasma-workspace-wallpapers first", file=sys.stderr)
        return 1
    (DATA / "lists").mkdir(parents=True, exist_ok=True)
    all_rows = []
    print("data sets:")
    for set_name, fn in (("conformance", conformance), ("shipped", shipped), ("photos", photos)):
        (DATA / "raw" / set_name).mkdir(parents=True, exist_ok=True)
        items = fn()
        rows = []
        for name, path in items:
            w, h, mode = write_raw(set_name, name, path)
            rows.append(
                dict(set=set_name, name=name, raw=raw_name(name, w, h), path=str(path),
                     bytes=path.stat().st_size, width=w, height=h, pillow_mode=mode)
            )
        (DATA / "lists" / f"{set_name}.txt").write_text("".join(r["path"] + "\n" for r in rows))
        describe(set_name, rows)
        all_rows += rows
    with open(DATA / "sets.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(all_rows[0].keys()))
        wr.writeheader()
        wr.writerows(all_rows)
    # A digest of the inputs, so two runs can be seen to use the same files.
    h = hashlib.sha256()
    for r in all_rows:
        h.update(f"{r['set']},{r['name']},{r['bytes']}\n".encode())
    print(f"  inputs digest (set,name,bytes): {h.hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
