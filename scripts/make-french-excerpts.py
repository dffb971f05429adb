#!/usr/bin/env python3
"""Builds small excerpts of the national French files in their published layouts, from the Lyon
data the repository ships (run by hand; the outputs are committed in data/france/):

- reu_adresses_bureaux_lyon1.csv — INSEE/Etalab « Bureaux de vote et adresses de leurs électeurs »
  (table-adresses-reu.csv): code_commune_ref, reconstitution_code_commune, id_brut_bv_reu, id,
  geo_adresse, geo_type, geo_score, longitude, latitude, api_line, nb_bv_commune, nb_adresses.
- contours_bureaux_lyon1.geojson — Etalab « Proposition de contours des bureaux de vote »
  (codeDepartement, nomDepartement, codeCirconscription, nomCirconscription, codeCommune,
  nomCommune, numeroBureauVote, codeBureauVote).
- resultats_burvot_t1_excerpt.txt — Ministère de l'Intérieur, résultats par bureau de vote, France
  entière, wide layout, ';', Latin-1, decimal commas (the 2012/2017 presidential files).

Values are Lyon's (2012 addresses, bureaux and results); identifiers the source files do not carry
(BAN ids, line numbers) are made up in the published shape, and a few rows geocoded only to the
street or with a low score are added, as the REU file has them. See data/README.md.
"""
import csv, json, os, random

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
out_dir = os.path.join(root, 'data', 'france')
random.seed(20)
BUREAUX = [str(b) for b in range(101, 113)]

rows = [r for r in csv.DictReader(open(os.path.join(root, 'data/lyon/lyon_addresses_with_bureau_2012.csv')))
        if r['bureau'] in BUREAUX]
by_bureau = {}
for r in rows:
    by_bureau.setdefault(r['bureau'], []).append(r)
picked = []
for b in BUREAUX:
    picked += random.sample(by_bureau[b], min(25, len(by_bureau[b])))
streets = {}
with open(os.path.join(out_dir, 'reu_adresses_bureaux_lyon1.csv'), 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['code_commune_ref', 'reconstitution_code_commune', 'id_brut_bv_reu', 'id', 'geo_adresse', 'geo_type',
                'geo_score', 'longitude', 'latitude', 'api_line', 'nb_bv_commune', 'nb_adresses'])
    line = 0
    for r in picked:
        arr = int(r['bureau'][0])
        insee, cp = f'6938{arr}', f'6900{arr}'
        code = streets.setdefault(r['street'], f'{len(streets) + 1:04d}')
        number = r['housenumber'].strip()
        digits = ''.join(c for c in number if c.isdigit()) or '0'
        line += 1
        w.writerow([insee, '1', f"69123_{r['bureau']}", f'{insee}_{code}_{int(digits):05d}',
                    f"{number} {r['street']} {cp} Lyon", 'housenumber', f'{random.uniform(0.82, 0.99):.4f}',
                    r['lon'], r['lat'], line, 288, random.choice([1, 1, 1, 2, 3, 6, 12])])
    # As in the real file: addresses the geocoder found only as a street, or barely.
    for r, kind, score in [(picked[3], 'street', 0.71), (picked[40], 'street', 0.64), (picked[77], 'municipality', 0.31),
                           (picked[120], 'housenumber', 0.38)]:
        arr = int(r['bureau'][0])
        line += 1
        label = f"{r['street']} 6900{arr} Lyon" if kind == 'street' else (
            f'6900{arr} Lyon' if kind == 'municipality' else f"{r['housenumber']} {r['street']} 6900{arr} Lyon")
        w.writerow([f'6938{arr}', '1', f"69123_{r['bureau']}", f'6938{arr}_{streets[r["street"]]}', label, kind,
                    f'{score:.4f}', r['lon'], r['lat'], line, 288, 1])

geo = json.load(open(os.path.join(root, 'data/lyon/lyon_bureaux_2012.geojson')))
features = []
for f in geo['features']:
    p = f['properties']
    if p['num_bureau'] not in BUREAUX:
        continue
    circ = ''.join(c for c in p['circonscri'] if c.isdigit())
    features.append({'type': 'Feature', 'geometry': f['geometry'], 'properties': {
        'codeDepartement': '69', 'nomDepartement': 'Rhône', 'codeCirconscription': f'69{int(circ):02d}',
        'nomCirconscription': f'{p["circonscri"]}', 'codeCommune': '69123', 'nomCommune': 'Lyon',
        'numeroBureauVote': p['num_bureau'], 'codeBureauVote': f"69123_{int(p['num_bureau']):04d}"}})
json.dump({'type': 'FeatureCollection', 'features': features},
          open(os.path.join(out_dir, 'contours_bureaux_lyon1.geojson'), 'w'), ensure_ascii=False)

CANDIDATES = [('joly', 'F', 'JOLY', 'Eva'), ('lepen', 'F', 'LE PEN', 'Marine'), ('sarkozy', 'M', 'SARKOZY', 'Nicolas'),
              ('melenchon', 'M', 'MÉLENCHON', 'Jean-Luc'), ('poutou', 'M', 'POUTOU', 'Philippe'),
              ('arthaud', 'F', 'ARTHAUD', 'Nathalie'), ('cheminade', 'M', 'CHEMINADE', 'Jacques'),
              ('bayrou', 'M', 'BAYROU', 'François'), ('dupont.aignan', 'M', 'DUPONT-AIGNAN', 'Nicolas'),
              ('hollande', 'M', 'HOLLANDE', 'François')]
head = ['Code du département', 'Libellé du département', 'Code de la circonscription', 'Libellé de la circonscription',
        'Code de la commune', 'Libellé de la commune', 'Code du b.vote', 'Inscrits', 'Abstentions', '% Abs/Ins',
        'Votants', '% Vot/Ins', 'Blancs', '% Blancs/Ins', '% Blancs/Vot', 'Nuls', '% Nuls/Ins', '% Nuls/Vot', 'Exprimés',
        '% Exp/Ins', '% Exp/Vot', 'N°Panneau', 'Sexe', 'Nom', 'Prénom', 'Voix', '% Voix/Ins', '% Voix/Exp']
pct = lambda a, b: f'{100 * a / b:.2f}'.replace('.', ',') if b else '0,00'
lines = [';'.join(head)]
results = {r['num_bureau']: r for r in csv.DictReader(open(os.path.join(root, 'data/lyon/lyon_results_presidentielle_2012_t1.csv')))}
def row(dep, dep_name, circ, circ_name, com, com_name, bv, reg, abst_pct, blank_pct, shares):
    voters = round(reg * (1 - abst_pct / 100))
    blank = round(voters * blank_pct / 100)
    expressed = voters - blank
    cells = [dep, dep_name, circ, circ_name, com, com_name, bv, str(reg), str(reg - voters), pct(reg - voters, reg),
             str(voters), pct(voters, reg), str(blank), pct(blank, reg), pct(blank, voters), '0', '0,00', '0,00',
             str(expressed), pct(expressed, reg), pct(expressed, voters)]
    for i, ((_, sex, name, first), share) in enumerate(zip(CANDIDATES, shares)):
        votes = round(expressed * share / 100)
        cells += [str(i + 1), sex, name, first, str(votes), pct(votes, reg), pct(votes, expressed)]
    return ';'.join(cells)
for b in BUREAUX:
    r = results[b]
    lines.append(row('69', 'Rhône', '02', '2ème circonscription', '123', 'Lyon', f'{int(b):04d}', int(r['inscrits']),
                     float(r['abst']), float(r['blancs']), [float(r[k]) for k, *_ in CANDIDATES]))
# Other départements' "commune 001, bureau 0001" (made-up figures): every one is its own bureau.
for dep, name, com, com_name in [('01', 'Ain', '001', "L'Abergement-Clémenciat"), ('44', 'Loire-Atlantique', '001', 'Abbaretz'),
                                 ('2A', 'Corse-du-Sud', '001', 'Afa')]:
    lines.append(row(dep, name, '01', '1ère circonscription', com, com_name, '0001', 600, 20.0, 1.5,
                     [2.3, 18.0, 27.2, 11.1, 1.2, 0.6, 0.2, 9.1, 1.8, 28.5]))
open(os.path.join(out_dir, 'resultats_burvot_t1_excerpt.txt'), 'wb').write(('\r\n'.join(lines) + '\r\n').encode('latin-1'))
print(len(picked) + 4, 'REU rows,', len(features), 'contours,', len(lines) - 1, 'result rows')
