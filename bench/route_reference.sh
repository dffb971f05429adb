#!/usr/bin/env bash
# Route length against near-optimal reference solvers on the same street distance matrix.
# Installs fast-tsp and elkai into a venv under ~/.cache/doorstep (PyPI); neither is a dependency
# of Doorstep. Usage: bash bench/route_reference.sh [SECONDS for fast-tsp, default 10] [CITY: nantes,
# helsinki, munchen, monaco or all (default)]
# Any other town: bash bench/route_reference.sh SECONDS custom NAME ADDRESSES.csv STREETS LAT LON
# (addresses as id,street,house_number,postcode,city,lat,lon; streets as GeoJSON lines, an
# OpenStreetMap .osm.pbf extract or a BD TOPO GeoPackage; LAT LON the start).
set -euo pipefail
# Not a cd: the custom mode's file names are the caller's, relative to where it stands.
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || set -- "${1:-10}" all
venv=${DOORSTEP_BENCH_VENV:-$HOME/.cache/doorstep/bench-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import fast_tsp, elkai' 2>/dev/null || "$venv/bin/pip" install --quiet fast-tsp elkai
cargo run --manifest-path "$root/Cargo.toml" --release --quiet -p doorstep-tests --bin doorstep-route-matrix -- "${@:2}" > /tmp/doorstep-route-matrix.json
"$venv/bin/python" "$root/bench/route_reference.py" "${1:-10}" < /tmp/doorstep-route-matrix.json
