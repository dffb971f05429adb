#!/usr/bin/env bash
# Builds the old-town route excerpt (issue 22): Monaco's Rocher, La Condamine and the hillside of
# Beausoleil above them — stairs, ramps, footbridges and streets in hairpins — from the
# OpenStreetMap extract `test/data/monaco.osm.pbf` that Project-OSRM's osrm-backend ships as test
# data (OSM as of 2016-03-05; ODbL 1.0, "© OpenStreetMap contributors"). Run by hand, outside CI;
# the outputs are committed:
#   data/monaco/mc_oldtown_streets.geojson   — every walkable-or-not `highway=*` way of the area,
#                                              one feature per way (osm_id, highway, name, oneway, foot)
#   data/monaco/mc_oldtown_addresses.csv     — one door per building of the area (its centroid):
#                                              OpenStreetMap has few house numbers there, so the
#                                              buildings stand for the doors; street = the building's
#                                              addr:street, else the nearest named way; house number
#                                              = addr:housenumber where tagged, else empty
# Usage: bash scripts/make-oldtown-excerpt.sh PATH/TO/monaco.osm.pbf
# Needs osmium-tool (apt-get install osmium-tool) and python3.
set -euo pipefail
src=${1:?usage: make-oldtown-excerpt.sh monaco.osm.pbf}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The area: lon 7.410–7.432, lat 43.727–43.745 (about 1.8 km × 2 km).
bbox=7.410,43.727,7.432,43.745
osmium extract --strategy complete_ways -b "$bbox" "$src" -o "$tmp/area.osm.pbf"
osmium tags-filter "$tmp/area.osm.pbf" w/highway -o "$tmp/highways.osm.pbf"
osmium tags-filter "$tmp/area.osm.pbf" w/building -o "$tmp/buildings.osm.pbf"
osmium export "$tmp/highways.osm.pbf" --geometry-types=linestring -a id,type -o "$tmp/highways.geojson"
osmium export "$tmp/buildings.osm.pbf" --geometry-types=polygon -a id,type -o "$tmp/buildings.geojson"
mkdir -p data/monaco
python3 - "$tmp" "$bbox" <<'PY'
import csv, json, math, sys
tmp, bbox = sys.argv[1], [float(v) for v in sys.argv[2].split(',')]
west, south, east, north = bbox
k = math.cos(math.radians((south + north) / 2))

ways = []
for f in json.load(open(f'{tmp}/highways.geojson'))['features']:
    p = f['properties']
    ways.append({'type': 'Feature', 'geometry': f['geometry'], 'properties': {
        'osm_id': int(p['@id']), 'highway': p.get('highway', ''), 'name': p.get('name', ''),
        'oneway': p.get('oneway', ''), 'foot': p.get('foot', '')}})
ways.sort(key=lambda w: w['properties']['osm_id'])
with open('data/monaco/mc_oldtown_streets.geojson', 'w') as out:
    json.dump({'type': 'FeatureCollection', 'features': ways}, out, ensure_ascii=False, separators=(',', ':'))
    out.write('\n')

# Named segments, for the street of a building without addr:street.
named = []
for w in ways:
    name = w['properties']['name']
    if not name or w['properties']['highway'] in ('motorway', 'motorway_link', 'construction', 'proposed'):
        continue
    c = w['geometry']['coordinates']
    named += [(name, c[i], c[i + 1]) for i in range(len(c) - 1)]

def nearest_street(lon, lat):
    best = (float('inf'), '')
    for name, (x1, y1), (x2, y2) in named:
        ax, ay, bx, by = (x1 - lon) * k, y1 - lat, (x2 - lon) * k, y2 - lat
        dx, dy = bx - ax, by - ay
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
        d = (ax + t * dx) ** 2 + (ay + t * dy) ** 2
        if d < best[0]:
            best = (d, name)
    return best[1]

def centroid(ring):
    # The polygon's area-weighted centroid (metres, local plane) and its area in m².
    m = 111_320.0
    pts = [((x - ring[0][0]) * k * m, (y - ring[0][1]) * m) for x, y in ring]
    a = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        cr = x1 * y2 - x2 * y1
        a += cr
        cx += (x1 + x2) * cr
        cy += (y1 + y2) * cr
    if abs(a) < 1e-9:
        return None
    cx, cy = cx / (3 * a), cy / (3 * a)
    return ring[0][0] + cx / (k * m), ring[0][1] + cy / m, abs(a) / 2

rows = []
for f in json.load(open(f'{tmp}/buildings.geojson'))['features']:
    p, g = f['properties'], f['geometry']
    ring = g['coordinates'][0][0] if g['type'] == 'MultiPolygon' else g['coordinates'][0]
    c = centroid(ring)
    # Sheds, kiosks and garages under 40 m² are no one's door.
    if c is None or c[2] < 40 or not (west <= c[0] <= east and south <= c[1] <= north):
        continue
    lon, lat, _ = c
    street = p.get('addr:street') or nearest_street(lon, lat)
    rows.append((f"{p['@type'][0]}{p['@id']}", street, p.get('addr:housenumber', ''), p.get('addr:postcode', ''),
                 p.get('addr:city', ''), f'{lat:.7f}', f'{lon:.7f}'))
rows.sort()
with open('data/monaco/mc_oldtown_addresses.csv', 'w', newline='') as out:
    w = csv.writer(out, lineterminator='\n')
    w.writerow(['id', 'street', 'housenumber', 'postcode', 'city', 'lat', 'lon'])
    w.writerows(rows)
steps = sum(1 for w in ways if w['properties']['highway'] == 'steps')
print(f'{len(ways)} ways ({steps} of them steps), {len(rows)} buildings as doors')
PY
