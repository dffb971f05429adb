#!/usr/bin/env bash
# Turf cutting at 1,000,000 doors: Doorstep against plain k-means and a contiguous METIS cut of the
# same doors (docs/benchmarks.md). Installs numpy, scipy and pymetis into a venv under
# ~/.cache/doorstep (PyPI); none is a dependency of Doorstep.
# Usage: bash bench/cut_reference.sh [COPIES of Nantes centre, default 127 (≈1,007,000 doors)]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${DOORSTEP_BENCH_VENV:-$HOME/.cache/doorstep/bench-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import numpy, scipy, pymetis' 2>/dev/null || "$venv/bin/pip" install --quiet numpy scipy pymetis
copies=${1:-127}
out=${DOORSTEP_CUT_DIR:-/tmp/doorstep-cut-$copies}
cargo build --release --quiet -p doorstep-tests --bin doorstep-cut-bench
bin=${CARGO_TARGET_DIR:-target}/release/doorstep-cut-bench
"$bin" prepare --copies "$copies" --out "$out"
"$venv/bin/python" bench/cut_reference.py "$out"
"$bin" evaluate --copies "$copies" --out "$out" --sample "${DOORSTEP_CUT_SAMPLE:-1000}"
