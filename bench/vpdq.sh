#!/usr/bin/env bash
# Peer comparison for vPDQ hashing: Vigil (`vigil hash`) vs PyPI vpdq 0.2.5 (Meta's reference C++,
# linked against the same system FFmpeg) on the fixture videos, at every frame and at 1 frame/s,
# on one core (both pinned with taskset) and on all cores. Outputs are compared frame for frame
# before any time is printed. See bench/README.md.
#
# Run with:  bench/vpdq.sh [--reps N]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
FIX=${VIGIL_FIXTURES:-../shared/fixtures}

# vpdq is an sdist: its build finds FFmpeg with pkg-config, all of it.
for lib in libavcodec libavformat libavutil libswscale libavdevice libavfilter; do
    pkg-config --exists "$lib" || {
        echo "the vpdq peer builds against FFmpeg's development files; missing $lib:" >&2
        echo "  apt-get install libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev libavfilter-dev" >&2
        exit 1
    }
done
if [ ! -x bench/.venv-vpdq/bin/python ]; then
    "$PY" -m venv bench/.venv-vpdq
fi
bench/.venv-vpdq/bin/pip install -q --disable-pip-version-check -r bench/requirements-vpdq.txt
cargo build --release -q -p vigil
exec bench/.venv-vpdq/bin/python bench/vpdq_peer.py \
    --vigil target/release/vigil \
    --videos "$FIX/threatexchange/tmk/sample-videos" "$@"
