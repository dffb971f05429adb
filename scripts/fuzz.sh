#!/usr/bin/env bash
# Fuzzes every decoder with cargo-fuzz (libFuzzer) for a bounded time each:
#   bash scripts/fuzz.sh [seconds per target, default 60] [target ...]
# Installs cargo-fuzz from crates.io when missing. cargo-fuzz needs nightly features: on the stable
# toolchain, RUSTC_BOOTSTRAP=1. Crashes land in fuzz/artifacts/<target>/; copy each into
# fuzz/regressions/<target>/ so the short form (tests/tests/fuzz_short.rs, in CI) replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(push_request server_push pull_response turf_package addresses_csv addresses_geojson streets_geojson results_csv stations_geojson)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/doorstep/fuzz-target}
for t in "${targets[@]}"; do
  mkdir -p "fuzz/work/$t"
  echo "==> $t (${secs} s)"
  # A scratch corpus seeded from the committed one, so runs do not grow the repository.
  cargo fuzz run --fuzz-dir fuzz "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 2>&1 \
    | grep -E "^#[0-9]+.*(DONE|pulse)|Done [0-9]+ runs|ERROR|SUMMARY|panicked|Test unit written" || true
  test -z "$(ls -A "fuzz/artifacts/$t" 2>/dev/null)" || { echo "crash in $t: fuzz/artifacts/$t" >&2; exit 1; }
done
echo "no crash in ${targets[*]}"
