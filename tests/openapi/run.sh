#!/usr/bin/env bash
# The OpenAPI document as outside clients use it (issue 16): installs openapi-python-client and
# schemathesis (PyPI, pinned) into a virtualenv under ~/.cache/doorstep, then runs
# tests/openapi/test_openapi.py against the real server (`doorstep-server test-fixture`: the Nantes
# demo campaign on an SQLite file, HTTP on loopback). DOORSTEP_FUZZ_EXAMPLES (default 8) bounds
# schemathesis; a long run: DOORSTEP_FUZZ_EXAMPLES=200 tests/openapi/run.sh. Fails, never skips.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v python3 >/dev/null || { echo "python3 not found (Debian: apt-get install python3 python3-venv)" >&2; exit 1; }
venv=${DOORSTEP_OPENAPI_VENV:-$HOME/.cache/doorstep/venv-openapi}
tools=("openapi-python-client==0.29.1" "schemathesis==4.32.5")
stamp="$venv/.doorstep-tools"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${tools[*]}" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" || { echo "python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
  "$venv/bin/pip" install -q --disable-pip-version-check "${tools[@]}"
  echo "${tools[*]}" > "$stamp"
fi
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo build -q -p doorstep-server
DOORSTEP_SERVER="$target/debug/doorstep-server" "$venv/bin/python" -B tests/openapi/test_openapi.py
