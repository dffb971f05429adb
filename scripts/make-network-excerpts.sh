#!/usr/bin/env bash
# Rebuilds the street-network test files in other publishers' formats from the GeoJSON networks
# the repository already ships (run by hand, outside CI; the outputs are committed):
#   data/helsinki/fi_helsinki_streets.osm.pbf  — OpenStreetMap PBF (osmium-tool, Debian)
#   data/nantes/fr_nantes_centre_troncon_de_route.gpkg — IGN BD TOPO layout, Lambert-93 (gdal-bin)
# apt-get install osmium-tool gdal-bin
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# OpenStreetMap: the Helsinki extract's ways back as OSM XML (a node per distinct coordinate,
# shared where ways meet, as in OpenStreetMap), then PBF.
python3 - "$tmp/helsinki.osm" <<'PY'
import json, sys
from xml.sax.saxutils import quoteattr
d = json.load(open('data/helsinki/fi_helsinki_streets.geojson'))
nodes, ways = {}, []
for f in d['features']:
    g = f['geometry']
    lines = [g['coordinates']] if g['type'] == 'LineString' else g['coordinates']
    for line in lines:
        refs = []
        for lon, lat in line:
            key = (round(lon * 1e7), round(lat * 1e7))
            refs.append(nodes.setdefault(key, len(nodes) + 1))
        ways.append((f['properties'], refs))
with open(sys.argv[1], 'w') as out:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="doorstep make-network-excerpts">\n')
    for (lon, lat), i in sorted(nodes.items(), key=lambda kv: kv[1]):
        out.write(f'  <node id="{i}" version="1" lat="{lat / 1e7:.7f}" lon="{lon / 1e7:.7f}"/>\n')
    seen = set()
    for n, (p, refs) in enumerate(ways):
        wid = p['osm_id'] if p['osm_id'] not in seen else 10**10 + n
        seen.add(wid)
        out.write(f'  <way id="{wid}" version="1">\n')
        for r in refs:
            out.write(f'    <nd ref="{r}"/>\n')
        for k in ('highway', 'name', 'oneway', 'foot'):
            if p.get(k):
                out.write(f'    <tag k="{k}" v={quoteattr(str(p[k]))}/>\n')
        out.write('  </way>\n')
    out.write('</osm>\n')
PY
osmium cat --overwrite -o data/helsinki/fi_helsinki_streets.osm.pbf "$tmp/helsinki.osm"

# IGN BD TOPO: the Nantes sections (BD TOPO 3.5 data) back in their GeoPackage layout — table
# troncon_de_route, geometry `geometrie` LINESTRING Z in Lambert-93 (EPSG:2154), BD TOPO's columns.
rm -f data/nantes/fr_nantes_centre_troncon_de_route.gpkg
ogr2ogr -f GPKG data/nantes/fr_nantes_centre_troncon_de_route.gpkg data/nantes/fr_nantes_centre_streets.geojson \
  -dialect SQLite -nln troncon_de_route -lco GEOMETRY_NAME=geometrie -lco FID=fid \
  -s_srs EPSG:4326 -t_srs EPSG:2154 -dim XYZ -nlt LINESTRINGZ \
  -sql "SELECT id AS cleabs, nature, importance,
               name_label_left AS nom_collaboratif_gauche, name_label_right AS nom_collaboratif_droite,
               name AS nom_voie_ban_gauche, name_right AS nom_voie_ban_droite,
               sens AS sens_de_circulation, CASE WHEN fictif = 'Oui' THEN 1 ELSE 0 END AS fictif,
               'En service' AS etat_de_l_objet, insee AS insee_commune_gauche, geometry
        FROM fr_nantes_centre_streets"
ls -l data/helsinki/fi_helsinki_streets.osm.pbf data/nantes/fr_nantes_centre_troncon_de_route.gpkg
