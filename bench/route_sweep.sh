#!/usr/bin/env bash
# Issue 22's size sweep: our route over the better of fast-tsp and LKH on the same street distance
# matrix, 50 to 5,000 addresses in small steps (around 1,500 every 10), with a plot
# (docs/img/route-sweep.svg). Outside CI (about an hour). Installs the references as
# bench/route_reference.sh does. Usage: bash bench/route_sweep.sh [SECONDS, default 10] [CITY, default nantes]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${DOORSTEP_BENCH_VENV:-$HOME/.cache/doorstep/bench-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import fast_tsp, elkai' 2>/dev/null || "$venv/bin/pip" install --quiet fast-tsp elkai
sizes=${DOORSTEP_ROUTE_SIZES:-50,100,200,300,500,750,1000,1250,1400,1450,1480,1490,1500,1501,1510,1520,1550,1600,1750,2000,2500,3000,4000,5000}
DOORSTEP_ROUTE_SIZES=$sizes DOORSTEP_ROUTE_ROUND_TRIPS=0 DOORSTEP_ROUTE_RUNS=${DOORSTEP_ROUTE_RUNS:-3} \
  cargo run --release --quiet -p doorstep-tests --bin doorstep-route-matrix -- "${2:-nantes}" > /tmp/doorstep-route-sweep.json
(cd bench && "$venv/bin/python" route_sweep.py "${1:-10}" ../docs/img/route-sweep.svg) < /tmp/doorstep-route-sweep.json
