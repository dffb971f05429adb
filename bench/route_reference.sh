#!/usr/bin/env bash
# Route length against near-optimal reference solvers on the same street distance matrix.
# Installs fast-tsp and elkai into a venv under ~/.cache/doorstep (PyPI); neither is a dependency
# of Doorstep. Usage: bash bench/route_reference.sh [SECONDS for fast-tsp, default 10] [CITY: nantes,
# helsinki, munchen or all (default)]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${DOORSTEP_BENCH_VENV:-$HOME/.cache/doorstep/bench-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import fast_tsp, elkai' 2>/dev/null || "$venv/bin/pip" install --quiet fast-tsp elkai
cargo run --release --quiet -p doorstep-tests --bin doorstep-route-matrix -- "${2:-all}" > /tmp/doorstep-route-matrix.json
"$venv/bin/python" bench/route_reference.py "${1:-10}" < /tmp/doorstep-route-matrix.json
