#!/usr/bin/env bash
# Peer comparison for PDQ hashing: Vigil vs the reference pipeline (Pillow + PyPI pdqhash, the
# reference C++ core) vs the Rust crate pdqhash 0.1.1 (darwinium). See bench/README.md.
#
# Run with:  bench/pdq_peers.sh [compare.py options]     e.g. --sets photos --reps 5
#
# 1. creates bench/.venv with the pinned peers (bench/requirements.txt);
# 2. downloads Debian's plasma-workspace-wallpapers into bench/data (gitignored) and prepares the
#    sets (bench/prepare_data.py);
# 3. builds Vigil (release), the vigil-pdq hash_raw example and the Rust peer (bench/peer-rust,
#    its own workspace, never built by `cargo test --workspace`);
# 4. runs bench/compare.py: checks that the outputs agree, then prints the times and the ratios and
#    writes the raw results to bench/runs/<date>-<host>/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=bench/data
DEB_NAME=plasma-workspace-wallpapers
DEB_VERSION=4:5.27.5-2
DEB_SHA256=32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b
PY=${PYTHON:-python3}

step() { printf '\n### %s\n' "$*" >&2; }

step "virtualenv bench/.venv (peers only)"
if [ ! -x bench/.venv/bin/python ]; then
    "$PY" -m venv bench/.venv
fi
bench/.venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt

step "data: $DEB_NAME $DEB_VERSION"
mkdir -p "$DATA"
if [ ! -d "$DATA/wallpapers/usr/share/wallpapers" ]; then
    deb=$(ls "$DATA"/${DEB_NAME}_*.deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
        if [ -n "${WALLPAPERS_DEB:-}" ]; then
            cp "$WALLPAPERS_DEB" "$DATA/"
        else
            (cd "$DATA" && apt-get download "$DEB_NAME=$DEB_VERSION") || {
                echo "apt-get download failed: run 'sudo apt-get update' (Debian 12 sources) or set WALLPAPERS_DEB=/path/to.deb" >&2
                exit 1
            }
        fi
        deb=$(ls "$DATA"/${DEB_NAME}_*.deb | head -1)
    fi
    got=$(sha256sum "$deb" | cut -d' ' -f1)
    if [ "$got" != "$DEB_SHA256" ]; then
        echo "warning: $deb has sha256 $got, expected $DEB_SHA256: the image sets will differ from the recorded runs" >&2
    fi
    dpkg-deb -x "$deb" "$DATA/wallpapers"
fi
bench/.venv/bin/python bench/prepare_data.py

step "build: vigil (release), vigil-pdq example hash_raw, Rust peer"
cargo build --release -p vigil
cargo build --release -p vigil-pdq --example hash_raw
cargo build --release --locked --manifest-path bench/peer-rust/Cargo.toml

step "run (correctness first, then timings)"
exec bench/.venv/bin/python bench/compare.py "$@"
