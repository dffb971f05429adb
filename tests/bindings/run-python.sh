#!/usr/bin/env bash
# Builds the cdylib, generates the Python bindings from it, writes the Nantes turf fixture, and runs
# the Python binding tests. Needs python3 (3.9+); fails, never skips, when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v python3 >/dev/null || { echo "python3 not found: install Python 3 (Debian: apt-get install python3)" >&2; exit 1; }
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# --workspace --all-targets: the same feature unification as `cargo test --workspace`, so nothing is
# rebuilt after the Rust suites ran.
cargo build -q --workspace --all-targets
out="$target/bindings/python/doorstep_bindings"
rm -rf "$out" && mkdir -p "$out"
# uniffi writes one module per crate, with relative imports between them: make them a package.
touch "$out/__init__.py"
"$target/debug/uniffi-bindgen" generate --library "$target/debug/libdoorstep_ffi.so" --language python --out-dir "$out" >/dev/null
cp "$target/debug/libdoorstep_ffi.so" "$out/"
"$target/debug/doorstep-fixture" py 120 "$out/turf-py.json"
DOORSTEP_SERVER="$target/debug/doorstep-server" DOORSTEP_FIXTURE="$out/turf-py.json" PYTHONPATH="$(dirname "$out")" python3 -B tests/bindings/python/test_field_store.py
