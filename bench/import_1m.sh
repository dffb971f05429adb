#!/usr/bin/env bash
# A million addresses through the coordinator's CLI (docs/benchmarks.md, issue 20): import on
# SQLite and on PostgreSQL, each beside a raw bulk load of the same rows (sqlite3's .import into
# one table with its primary key; psql's \copy), then the cut of all of them into turfs of 80.
# The file: Grand Lyon's 147,497 address points (../shared/data) in 7 copies, each moved 5.5 km
# north and its street names marked with the copy's number — 1,000,000 rows, 72 MB.
# Needs sqlite3 and psql; PostgreSQL from DATABASE_URL (default: the test role on 127.0.0.1).
# Usage: bash bench/import_1m.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=${DOORSTEP_GRAND_LYON:-../shared/data/addresses/fr_grand_lyon.csv}
work=${DOORSTEP_BENCH_DIR:-/tmp/doorstep-import-1m}
pg=${DATABASE_URL:-postgres://doorstep:doorstep@127.0.0.1:5432/postgres}
mkdir -p "$work"
csv=$work/addresses_1m.csv
if [ ! -s "$csv" ]; then
  python3 - "$src" "$csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
with open(sys.argv[2], 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(rows[0])
    n = 0
    for c in range(7):
        for r in rows[1:]:
            if n == 1_000_000:
                break
            w.writerow([f"{r[0]}-{c}", f"{r[1]} {c}" if c else r[1], r[2], r[3], r[4], f"{float(r[5]) + 0.05 * c:.7f}", r[6]])
            n += 1
PY
fi
cargo build --release --quiet -p doorstep-server
bin=${CARGO_TARGET_DIR:-target}/release/doorstep-server
t() { /usr/bin/time -f "$1: %e s wall, %M KB peak" "${@:2}"; }

echo "== SQLite"
rm -f "$work"/bench.db* "$work"/raw.db*
"$bin" create-campaign --database "$work/bench.db" --id bench --name Bench >/dev/null
t "doorstep import (SQLite)" "$bin" import addresses "$csv" --database "$work/bench.db" --campaign bench >/dev/null
t "raw bulk load (sqlite3 .import)" sqlite3 "$work/raw.db" \
  "PRAGMA journal_mode=WAL;" "PRAGMA synchronous=FULL;" \
  "CREATE TABLE addresses(id TEXT PRIMARY KEY, street TEXT, housenumber TEXT, postcode TEXT, city TEXT, lat REAL, lon REAL);" \
  ".import --csv --skip 1 $csv addresses" >/dev/null
t "doorstep cut (SQLite)" "$bin" cut --target 80 --database "$work/bench.db" --campaign bench >/dev/null

echo "== PostgreSQL"
base=${pg%/*}
psql -q "$pg" -c "DROP DATABASE IF EXISTS doorstep_bench_1m" -c "CREATE DATABASE doorstep_bench_1m"
db=$base/doorstep_bench_1m
"$bin" create-campaign --database "$db" --id bench --name Bench >/dev/null
t "doorstep import (PostgreSQL)" "$bin" import addresses "$csv" --database "$db" --campaign bench >/dev/null
psql -q "$db" -c "CREATE TABLE raw_addresses(id TEXT PRIMARY KEY, street TEXT, housenumber TEXT, postcode TEXT, city TEXT, lat DOUBLE PRECISION, lon DOUBLE PRECISION)"
t "raw bulk load (psql \\copy)" psql -q "$db" -c "\\copy raw_addresses FROM '$csv' CSV HEADER"
t "doorstep cut (PostgreSQL)" "$bin" cut --target 80 --database "$db" --campaign bench >/dev/null
psql -q "$pg" -c "DROP DATABASE doorstep_bench_1m"
