#!/usr/bin/env bash
# Copies Leaflet's distribution files from the npm registry into sync-server/web/vendor/leaflet/
# (the dashboard is compiled into the server; nothing is fetched at run time).
#   bash scripts/vendor-web.sh [version]     copy (default 1.9.4) and print the hashes
#   bash scripts/vendor-web.sh --check       fetch 1.9.4 again and compare with the copies
set -euo pipefail
cd "$(dirname "$0")/.."
check=0; version=1.9.4
if [ "${1:-}" = "--check" ]; then check=1; else version=${1:-1.9.4}; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "leaflet@$version" >/dev/null && tar xzf "leaflet-$version.tgz")
dest=sync-server/web/vendor/leaflet
for f in dist/leaflet.js dist/leaflet.css LICENSE; do
  if [ $check = 1 ]; then
    cmp "$tmp/package/$f" "$dest/$(basename "$f")" && echo "same as npm: $f"
  else
    cp "$tmp/package/$f" "$dest/"
  fi
done
sha256sum "$dest"/leaflet.js "$dest"/leaflet.css
