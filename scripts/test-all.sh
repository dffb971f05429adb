#!/usr/bin/env bash
# Runs every test of Doorstep, installing what a fresh Debian machine lacks:
#   - Debian packages libjna-java and junit4 (JNA and JUnit for the Kotlin binding test), libssl-dev
#     (SQLCipher links libcrypto),
#   - kotlinc from npm (kotlin-compiler@2.4.20) into ~/.cache/doorstep,
#   - Debian's chromium and firefox-esr, playwright-core and puppeteer-core from npm (tests/browser) for
#     the dashboard's browser tests,
# and makes sure PostgreSQL runs with a test role (scripts/ensure-postgres.sh), then: rustfmt check, clippy (warnings are errors), the Rust test suites (unit, end-to-end, fsync
# probe, SIGKILL crash loop), the Python and Kotlin binding tests on the real cdylib, the OpenAPI
# client and schemathesis tests (tests/openapi), and the short
# form of the benchmarks. A missing toolchain fails the run with a message; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step says when it starts, in seconds since the run began (where a cold run's time goes).
step() { printf '\n==> %s (at %d s)\n' "$*" "$SECONDS"; }

need_apt=()
[ -f /usr/share/java/jna.jar ] || need_apt+=(libjna-java)
[ -f /usr/share/java/junit4.jar ] || need_apt+=(junit4)
command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v python3 >/dev/null || need_apt+=(python3)
# The OpenAPI test installs its tools (openapi-python-client, schemathesis) into a virtualenv.
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
# SQLCipher (rusqlite's bundled-sqlcipher) links the system's libcrypto.
[ -f /usr/include/openssl/evp.h ] || need_apt+=(libssl-dev pkg-config)
# The dashboard's browser tests run in Debian's Chromium (never a downloaded browser).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# …and in Debian's Firefox ESR (driven over WebDriver BiDi: no geckodriver).
[ -x /usr/bin/firefox-esr ] || need_apt+=(firefox-esr)
command -v npm >/dev/null || need_apt+=(npm)
# The paper walk sheets' test rasterises their PDF (pdftoppm) and reads its text (pdftotext).
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "apt-get install ${need_apt[*]}"
  command -v apt-get >/dev/null || { echo "apt-get not found: install ${need_apt[*]} by hand" >&2; exit 1; }
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

export KOTLIN_HOME=${KOTLIN_HOME:-$HOME/.cache/doorstep/kotlin-compiler-2.4.20}
if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
  step "npm pack kotlin-compiler@2.4.20 → $KOTLIN_HOME"
  command -v npm >/dev/null || { echo "npm not found: install Node.js and npm (Debian: apt-get install npm)" >&2; exit 1; }
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent kotlin-compiler@2.4.20 >/dev/null && tar xzf kotlin-compiler-2.4.20.tgz)
  mkdir -p "$(dirname "$KOTLIN_HOME")"
  rm -rf "$KOTLIN_HOME" && mv "$tmp/package" "$KOTLIN_HOME" && rm -rf "$tmp"
  chmod +x "$KOTLIN_HOME"/bin/*
fi

step "playwright-core and puppeteer-core for the dashboard's browser tests (tests/browser, from npm)"
(cd tests/browser && npm ci --silent --no-audit --no-fund)

step "PostgreSQL on 127.0.0.1:5432 (the storage conformance suite runs on it too)"
DATABASE_URL=${DATABASE_URL:-$(bash scripts/ensure-postgres.sh)}
export DATABASE_URL
echo "DATABASE_URL=$DATABASE_URL"

# Each clone is built from a new path, so its workspace crates get new artifact names in the shared
# target dir and earlier runs' copies are never used again (one machine filled its disk with them):
# prune test binaries, workspace libraries and incremental state older than half a day.
if [ -d "${CARGO_TARGET_DIR:-target}/debug/deps" ]; then
  step "prune what earlier runs left in ${CARGO_TARGET_DIR:-target}"
  find "${CARGO_TARGET_DIR:-target}/debug/deps" -maxdepth 1 -type f \( -executable ! -name '*.so' -o -name 'libdoorstep*' \) -mmin +720 -delete 2>/dev/null || true
  rm -rf "${CARGO_TARGET_DIR:-target}/debug/incremental"
fi

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (warnings are errors)"
cargo clippy -q --workspace --all-targets -- -D warnings
step "cargo test --workspace"
cargo test -q --workspace
step "Python binding tests (real cdylib)"
tests/bindings/run-python.sh
step "OpenAPI: a client generated from /openapi.json drives join, pull and push; schemathesis, bounded"
tests/openapi/run.sh
step "Kotlin binding tests and the Android :field view models on the JVM (real cdylib)"
tests/bindings/run-kotlin.sh
step "Benchmarks, short form (figures in docs/benchmarks.md come from the long form)"
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$target/debug/doorstep-bench" --quick --dir "$target/bench-tmp" > /dev/null
"$target/debug/doorstep-bench" --quick --key --dir "$target/bench-tmp" > /dev/null
"$target/debug/doorstep-server-bench" --quick > /dev/null
"$target/debug/doorstep-load-bench" 50 > /dev/null
"$target/debug/doorstep-soak" 40 8 > /dev/null
"$target/debug/doorstep-cut-bench" prepare --copies 2 --out "$target/bench-tmp/cut" > /dev/null
"$target/debug/doorstep-cut-bench" evaluate --copies 2 --out "$target/bench-tmp/cut" --sample 20 > /dev/null
"$target/debug/doorstep-route-matrix" all > /dev/null
step "all tests passed"
