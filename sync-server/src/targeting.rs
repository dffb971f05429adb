//! Polling-station targeting, the French way: past results per bureau de vote, a priority per
//! station from a configurable formula, and per turf from the stations its doors belong to.
//!
//! Results files (CSV: comma, semicolon or tab; UTF-8 or Latin-1; decimal comma or point):
//! - the Interior Ministry's "wide" layout: one row per bureau, station columns (`Code du b.vote`,
//!   `Inscrits`, `Votants`, `Exprimés`, …) then one group of columns per candidate (`N°Panneau`,
//!   `Sexe`, `Nom`, `Prénom`, [`Nuance`,] `Voix`, …) that the header names once and rows repeat;
//! - the "long" layout: one row per bureau × candidate (the same columns, one group per row);
//! - a percentage layout like Lyon's open data: `num_bureau`, `inscrits`, `abst` (% of registered),
//!   `blancs` (% of voters) and one column per candidate (% of votes cast).
//!
//! Any column can be named by a mapping (`?station=…&registered=…`). Station ids are compared with
//! leading zeros dropped (`0101` is bureau `101`).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::tabular::{ImportError, RowError, normalise};

/// Station-level fields and the header names recognised for them (normalised).
const STATION_FIELDS: &[(&str, &[&str])] = &[
    ("station", &["codedubvote", "numbureau", "bureau", "bureaudevote", "codebv", "bv", "codebureau", "numerobureau"]),
    ("department", &["codedudepartement", "codedepartement", "coddep", "codedep"]),
    ("commune", &["codedelacommune", "codecommune", "codeinsee"]),
    ("station_name", &["libelledubvote", "libellebureau", "nombureau", "lieu"]),
    ("registered", &["inscrits"]),
    ("abstentions", &["abstentions"]),
    ("abstention_pct", &["abst", "absins", "pctabst", "abstention"]),
    ("voters", &["votants"]),
    ("blank", &["blancs"]),
    ("null", &["nuls"]),
    ("expressed", &["exprimes"]),
];

/// Candidate-level fields (a group repeated per candidate in the wide layout).
const CANDIDATE_FIELDS: &[(&str, &[&str])] = &[
    ("panel", &["npanneau", "numeropanneau", "panneau", "numpanneau"]),
    ("sex", &["sexe"]),
    ("last_name", &["nom", "nomcandidat"]),
    ("first_name", &["prenom", "prenomcandidat"]),
    ("nuance", &["nuance", "codenuance"]),
    ("list", &["liste", "libelledeliste", "libelleabregeliste", "candidat", "libellecandidat"]),
    ("votes", &["voix"]),
];

/// One station's results.
/// The names a list is known by, folded (see [`normalise`]): for `MACRON Emmanuel (REM)`, the
/// whole label, `MACRON Emmanuel`, `MACRON` and the nuance `REM`; for a list or a column name, itself.
pub fn list_keys(label: &str) -> Vec<String> {
    let mut keys = vec![normalise(label)];
    let (name, nuance) = match label.trim().strip_suffix(')').and_then(|l| l.rsplit_once('(')) {
        Some((name, nuance)) => (name.trim(), Some(nuance.trim())),
        None => (label.trim(), None),
    };
    keys.push(normalise(name));
    if let Some(n) = nuance {
        keys.push(normalise(n));
    }
    if let Some(last) = name.split_whitespace().next() {
        keys.push(normalise(last));
    }
    keys.retain(|k| !k.is_empty());
    keys.dedup();
    keys
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StationResults {
    pub id: String,
    pub name: Option<String>,
    pub registered: u64,
    pub voters: u64,
    pub expressed: u64,
    /// Votes per list or candidate.
    pub votes: BTreeMap<String, u64>,
    /// What looks wrong but was kept (votes that do not add up to the votes cast, …).
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct ParsedResults {
    #[serde(skip)]
    pub stations: Vec<StationResults>,
    pub layout: String,
    pub rows: usize,
    pub lists: Vec<String>,
    /// Rows refused (the file is refused unless `skip_invalid`).
    pub errors: Vec<RowError>,
    /// Stations kept with a flag.
    pub flagged: Vec<RowError>,
}

/// A station id as compared: trimmed, upper case, leading zeros of a number dropped.
pub fn station_key(s: &str) -> String {
    let s = s.trim();
    // A composite id (INSEE code and bureau, `01001_0001`, `69123-0101`, `69123 0101`) keeps the
    // commune's code as written (its zeros are part of it) and the bureau's number without its
    // leading zeros.
    let parts: Vec<&str> = s.split(['-', '_', ' ']).filter(|p| !p.is_empty()).collect();
    if let [commune @ .., bureau] = parts.as_slice()
        && !commune.is_empty()
    {
        let commune: Vec<String> = commune.iter().map(|p| p.to_uppercase()).collect();
        return format!("{}-{}", commune.join("-"), station_key(bureau));
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        let t = s.trim_start_matches('0');
        if t.is_empty() { "0".into() } else { t.into() }
    } else {
        s.to_uppercase()
    }
}

/// The INSEE code of a commune from the Ministry's columns: département (`69`, `2A`, `971`…) and
/// the commune's number within it (`123`, or already `69123`).
fn insee_code(department: &str, commune: &str) -> String {
    let (d, c) = (department.trim().to_uppercase(), commune.trim());
    if d.is_empty() || c.len() >= 5 {
        return c.to_string();
    }
    // Overseas départements have three digits and their communes two (971 + 01 = 97101).
    let width = if d.len() == 3 { 2 } else { 3 };
    format!("{d:0>2}{c:0>width$}")
}

fn number(s: &str) -> Option<f64> {
    let t = s.trim().trim_end_matches('%').trim().replace(['\u{a0}', ' '], "").replace(',', ".");
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

fn find(header: &[String], names: &[&str], taken: &[usize]) -> Option<usize> {
    header
        .iter()
        .enumerate()
        .find(|(i, h)| !taken.contains(i) && names.contains(&normalise(h).as_str()))
        .map(|(i, _)| i)
}

/// Parses a results file. `mapping` is field → column name (station fields, or `votes`, `list`…).
pub fn parse_results(bytes: &[u8], mapping: &HashMap<String, String>) -> Result<ParsedResults, ImportError> {
    let text = crate::tabular::text_of(bytes);
    let (mut reader, header) = crate::tabular::csv_reader(&text)?;
    let all: Vec<&'static str> = STATION_FIELDS.iter().chain(CANDIDATE_FIELDS).map(|(f, _)| *f).collect();
    let mut cols = crate::tabular::mapped_columns(&header, mapping, &all)?;
    let mut taken: Vec<usize> = cols.values().copied().collect();
    // Candidate columns first: in the wide layout `Nom` is a candidate's, not a station's name.
    for (f, names) in CANDIDATE_FIELDS.iter().chain(STATION_FIELDS) {
        if !cols.contains_key(f)
            && let Some(at) = find(&header, names, &taken)
        {
            cols.insert(f, at);
            taken.push(at);
        }
    }
    if !cols.contains_key("station") {
        return Err(ImportError::Missing("the polling station", "station"));
    }
    if !cols.contains_key("registered") {
        return Err(ImportError::Missing("registered voters", "registered"));
    }
    let grouped = cols.contains_key("votes");
    let mut out = ParsedResults { layout: if grouped { "votes" } else { "percent" }.into(), ..Default::default() };
    // Percent layout: every other numeric column is a candidate's share of the votes cast.
    let known: Vec<usize> = cols.values().copied().collect();
    let percent_cols: Vec<usize> = if grouped {
        Vec::new()
    } else {
        let skip = ["id", "nom", "name", "libelle"];
        (0..header.len()).filter(|i| !known.contains(i) && !skip.contains(&normalise(&header[*i]).as_str())).collect()
    };
    // Wide layout: the candidate group starts at its first column and repeats to the row's end.
    let group: Vec<(&str, usize)> =
        CANDIDATE_FIELDS.iter().filter_map(|(f, _)| cols.get(f).map(|&at| (*f, at))).collect();
    let group_start = group.iter().map(|(_, at)| *at).min().unwrap_or(header.len());
    let group_width = header.len().saturating_sub(group_start).max(1);
    let mut stations: BTreeMap<String, (usize, StationResults)> = BTreeMap::new();
    let mut rows: Vec<(usize, csv::StringRecord)> = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        match rec {
            Ok(r) => rows.push((i + 2, r)),
            Err(e) => out.errors.push(RowError { line: i + 2, reason: e.to_string() }),
        }
    }
    out.rows = rows.len() + out.errors.len();
    if out.rows == 0 {
        return Err(ImportError::Empty);
    }
    // Station ids carry the commune when the file covers several.
    let distinct = |field: &str| {
        cols.get(field).map_or(1, |&at| {
            rows.iter().filter_map(|(_, r)| r.get(at)).map(str::trim).collect::<std::collections::HashSet<_>>().len()
        })
    };
    let (commune_count, department_count) = (distinct("commune"), distinct("department"));
    let mut lists: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (line, r) in &rows {
        let get = |f: &str| cols.get(f).and_then(|&at| r.get(at)).map(str::trim).unwrap_or("");
        let raw = get("station");
        if raw.is_empty() {
            out.errors.push(RowError { line: *line, reason: "no polling station".into() });
            continue;
        }
        // Several communes (or départements): the bureau's number is only unique with its
        // commune, named by its INSEE code when the file gives the département.
        let id = if commune_count > 1 || department_count > 1 {
            let commune = if cols.contains_key("department") {
                insee_code(get("department"), get("commune"))
            } else {
                station_key(get("commune"))
            };
            format!("{commune}-{}", station_key(raw))
        } else {
            station_key(raw)
        };
        let Some(registered) = number(get("registered")) else {
            out.errors
                .push(RowError { line: *line, reason: format!("station {id}: registered voters is not a number") });
            continue;
        };
        let registered = registered.round() as u64;
        let (voters, expressed, votes) = if grouped {
            let voters = number(get("voters"))
                .or_else(|| number(get("abstentions")).map(|a| registered as f64 - a))
                .map(|v| v.round() as u64);
            let expressed = number(get("expressed")).map(|v| v.round() as u64);
            let mut votes = Vec::new();
            let mut at = group_start;
            while at < r.len() {
                let field = |f: &str| {
                    group.iter().find(|(g, _)| *g == f).and_then(|(_, c)| r.get(at + c - group_start)).map(str::trim)
                };
                let label = match (field("list"), field("last_name"), field("first_name"), field("nuance")) {
                    (Some(l), _, _, _) if !l.is_empty() => l.to_string(),
                    (_, Some(n), f, nu) if !n.is_empty() => {
                        let mut s = n.to_string();
                        if let Some(f) = f.filter(|f| !f.is_empty()) {
                            s = format!("{s} {f}");
                        }
                        if let Some(nu) = nu.filter(|x| !x.is_empty()) {
                            s = format!("{s} ({nu})");
                        }
                        s
                    }
                    _ => String::new(),
                };
                let v = field("votes").and_then(number);
                if !label.is_empty() || v.is_some() {
                    match (label.is_empty(), v) {
                        (false, Some(v)) => votes.push((label, v.round() as u64)),
                        _ => {
                            out.errors.push(RowError {
                                line: *line,
                                reason: format!("station {id}: a candidate without a name or a number of votes"),
                            });
                        }
                    }
                }
                at += group_width;
            }
            (voters, expressed, votes)
        } else {
            let abst = number(get("abstention_pct"));
            let voters = number(get("voters")).or_else(|| abst.map(|a| registered as f64 * (1.0 - a / 100.0)));
            let blank = number(get("blank")).unwrap_or(0.0);
            let expressed = number(get("expressed")).or_else(|| voters.map(|v| v * (1.0 - blank / 100.0)));
            let mut votes = Vec::new();
            for &c in &percent_cols {
                if let (Some(p), Some(e)) = (r.get(c).and_then(number), expressed) {
                    votes.push((header[c].clone(), (e * p / 100.0).round() as u64));
                }
            }
            (voters.map(|v| v.round() as u64), expressed.map(|v| v.round() as u64), votes)
        };
        let (Some(voters), Some(expressed)) = (voters, expressed.or(voters)) else {
            out.errors.push(RowError { line: *line, reason: format!("station {id}: no number of voters") });
            continue;
        };
        let name = cols
            .get("station_name")
            .and_then(|&at| r.get(at))
            .or_else(|| {
                if grouped { None } else { header.iter().position(|h| normalise(h) == "nom").and_then(|at| r.get(at)) }
            })
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        match stations.get_mut(&id) {
            // Long layout: more candidates for a station already seen, with the same totals.
            Some((_, s)) if grouped => {
                if (s.registered, s.voters, s.expressed) != (registered, voters, expressed) {
                    out.errors.push(RowError {
                        line: *line,
                        reason: format!("station {id} appears twice with different totals"),
                    });
                    continue;
                }
                for (l, v) in votes {
                    if s.votes.insert(l.clone(), v).is_some() {
                        out.errors.push(RowError { line: *line, reason: format!("station {id}: {l} appears twice") });
                    }
                }
            }
            Some(_) => out.errors.push(RowError { line: *line, reason: format!("station {id} appears twice") }),
            None => {
                let mut map = BTreeMap::new();
                for (l, v) in votes {
                    map.insert(l, v);
                }
                stations.insert(
                    id.clone(),
                    (*line, StationResults { id, name, registered, voters, expressed, votes: map, flags: Vec::new() }),
                );
            }
        }
    }
    // Totals that cannot be: refused. Totals that do not quite add up: kept, flagged.
    for (line, s) in stations.values_mut() {
        // Saturating: a row of absurd numbers is refused below, never an overflow (found by fuzzing).
        let sum = s.votes.values().fold(0u64, |a, v| a.saturating_add(*v));
        let impossible = if s.voters > s.registered {
            Some(format!("station {}: {} voters for {} registered", s.id, s.voters, s.registered))
        } else if s.expressed > s.voters {
            Some(format!("station {}: {} votes cast for {} voters", s.id, s.expressed, s.voters))
        } else if sum > s.expressed.saturating_add(s.votes.len() as u64) {
            Some(format!("station {}: candidates' votes ({sum}) exceed the votes cast ({})", s.id, s.expressed))
        } else {
            None
        };
        if let Some(reason) = impossible {
            out.errors.push(RowError { line: *line, reason });
            continue;
        }
        if s.registered == 0 {
            s.flags.push("no registered voters".into());
        }
        if s.votes.is_empty() {
            s.flags.push("no votes per list or candidate".into());
        } else if sum.saturating_add(s.votes.len() as u64 + 1) < s.expressed {
            s.flags.push(format!("candidates' votes ({sum}) fall short of the votes cast ({})", s.expressed));
        }
        for f in &s.flags {
            out.flagged.push(RowError { line: *line, reason: format!("station {}: {f}", s.id) });
        }
    }
    let refused: std::collections::HashSet<usize> = out.errors.iter().map(|e| e.line).collect();
    out.stations = stations.into_values().filter(|(line, _)| !refused.contains(line)).map(|(_, s)| s).collect();
    for s in &out.stations {
        lists.extend(s.votes.keys().cloned());
    }
    out.lists = lists.into_iter().collect();
    out.errors.sort_by_key(|e| e.line);
    Ok(out)
}

/// How stations are ranked: `registered^registered × abstention^abstention × favourable^favourable_share`,
/// where abstention is the share of registered voters who did not vote and favourable the share
/// of votes cast that went to the `favourable` lists (names or nuances, matched loosely). With no
/// favourable list named, that factor is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Formula {
    #[serde(default)]
    pub favourable: Vec<String>,
    #[serde(default = "one")]
    pub registered: f64,
    #[serde(default = "one")]
    pub abstention: f64,
    #[serde(default = "one")]
    pub favourable_share: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for Formula {
    fn default() -> Self {
        Self { favourable: Vec::new(), registered: 1.0, abstention: 1.0, favourable_share: 1.0 }
    }
}

impl Formula {
    pub fn validate(&self) -> Result<(), String> {
        for (n, v) in [
            ("registered", self.registered),
            ("abstention", self.abstention),
            ("favourable_share", self.favourable_share),
        ] {
            if !v.is_finite() || !(0.0..=4.0).contains(&v) {
                return Err(format!("{n} must be an exponent between 0 and 4"));
            }
        }
        if self.favourable.iter().any(|f| normalise(f).is_empty()) || self.favourable.len() > 50 {
            return Err("favourable: up to 50 list or candidate names".into());
        }
        Ok(())
    }

    /// Exactly one of a list's names (case and accents folded): the whole label, the candidate's
    /// name with or without first name, or the Ministry's nuance code — `FI` never matches
    /// FILLON, nor `LR` DLR.
    fn is_favourable(&self, list: &str) -> bool {
        let keys = list_keys(list);
        self.favourable.iter().any(|f| keys.contains(&normalise(f)))
    }

    /// The favourable names that match no list of `lists` (the results imported).
    pub fn unmatched(&self, lists: &std::collections::BTreeSet<String>) -> Vec<String> {
        let keys: std::collections::HashSet<String> = lists.iter().flat_map(|l| list_keys(l)).collect();
        self.favourable.iter().filter(|f| !keys.contains(&normalise(f))).cloned().collect()
    }

    /// A station's abstention, favourable share and priority.
    pub fn score(&self, s: &StationResults) -> StationScore {
        let abstention = if s.registered > 0 { 1.0 - s.voters as f64 / s.registered as f64 } else { 0.0 };
        let fav = s.votes.iter().filter(|(l, _)| self.is_favourable(l)).fold(0u64, |a, (_, v)| a.saturating_add(*v));
        let share = if s.expressed > 0 { fav as f64 / s.expressed as f64 } else { 0.0 };
        let mut p = (s.registered as f64).powf(self.registered) * abstention.max(0.0).powf(self.abstention);
        if !self.favourable.is_empty() {
            p *= share.powf(self.favourable_share);
        }
        StationScore { abstention, favourable_share: (!self.favourable.is_empty()).then_some(share), priority: p }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StationScore {
    pub abstention: f64,
    pub favourable_share: Option<f64>,
    pub priority: f64,
}

/// A station's boundary as numbers: polygons of rings of `(lon, lat)`, the first ring of each
/// the outer one, and the bounding box of the outer rings (`(min_lon, min_lat, max_lon,
/// max_lat)`). About 16 bytes a point, where a JSON tree of the same geometry took over 100.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    polygons: Vec<Vec<Vec<(f64, f64)>>>,
    pub bbox: (f64, f64, f64, f64),
}

impl Area {
    /// A GeoJSON Polygon or MultiPolygon; `None` for any other geometry, or one whose positions
    /// are not all pairs of numbers, or whose outer rings are empty.
    pub fn of(geometry: &serde_json::Value) -> Option<Area> {
        let ring = |r: &serde_json::Value| -> Option<Vec<(f64, f64)>> {
            r.as_array()?.iter().map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?))).collect()
        };
        let polygon =
            |p: &serde_json::Value| -> Option<Vec<Vec<(f64, f64)>>> { p.as_array()?.iter().map(ring).collect() };
        let polygons: Vec<Vec<Vec<(f64, f64)>>> = match geometry.get("type")?.as_str()? {
            "Polygon" => vec![polygon(geometry.get("coordinates")?)?],
            "MultiPolygon" => geometry.get("coordinates")?.as_array()?.iter().map(polygon).collect::<Option<_>>()?,
            _ => return None,
        };
        let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in polygons.iter().filter_map(|p| p.first()).flatten() {
            b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
        }
        (b.0 <= b.2).then_some(Area { polygons, bbox: b })
    }

    /// Point in polygon, holes respected.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let b = self.bbox;
        if !(b.0..=b.2).contains(&lon) || !(b.1..=b.3).contains(&lat) {
            return false;
        }
        let ring_contains = |pts: &Vec<(f64, f64)>| {
            let mut inside = false;
            let n = pts.len();
            for i in 0..n {
                let ((xi, yi), (xj, yj)) = (pts[i], pts[if i == 0 { n - 1 } else { i - 1 }]);
                if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
            }
            inside
        };
        self.polygons
            .iter()
            .any(|rings| !rings.is_empty() && ring_contains(&rings[0]) && !rings[1..].iter().any(ring_contains))
    }

    /// How far inside its boundary a point lies (degrees, longitude scaled by the latitude's
    /// cosine): the distance to the nearest edge of any ring. Where published boundaries overlap,
    /// a building goes to the one it lies deepest in.
    pub fn depth(&self, lat: f64, lon: f64) -> f64 {
        let k = lat.to_radians().cos();
        let mut best = f64::INFINITY;
        for r in self.polygons.iter().flatten() {
            for w in r.windows(2) {
                let (ax, ay, bx, by, px, py) = (w[0].0 * k, w[0].1, w[1].0 * k, w[1].1, lon * k, lat);
                let (dx, dy) = (bx - ax, by - ay);
                let l2 = dx * dx + dy * dy;
                let t = if l2 == 0.0 { 0.0 } else { (((px - ax) * dx + (py - ay) * dy) / l2).clamp(0.0, 1.0) };
                best = best.min(((ax + t * dx - px).powi(2) + (ay + t * dy - py).powi(2)).sqrt());
            }
        }
        best
    }
}

/// Where each building goes among station areas: `(building id, lat, lon, in a turf)` against
/// `(station id, area)`. A building inside several areas goes to the one it lies deepest in
/// (ties: the lower station id) and is listed as ambiguous; one in a turf is listed and left.
/// Areas are found through a grid of their bounding boxes, so a national file of 70,000 bureaux
/// is not scanned once per building.
pub fn place_in_areas(areas: &[(String, Area)], buildings: &[(String, f64, f64, bool)]) -> AreaPlacement {
    const CELL: f64 = 0.01;
    // An area whose box covers more cells than this is checked for every building instead.
    const MAX_CELLS: i64 = 4096;
    let cell = |v: f64| (v / CELL).floor() as i64;
    let mut grid: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
    let mut wide: Vec<u32> = Vec::new();
    for (i, (_, a)) in areas.iter().enumerate() {
        let (x0, y0, x1, y1) = (cell(a.bbox.0), cell(a.bbox.1), cell(a.bbox.2), cell(a.bbox.3));
        if (x1 - x0 + 1).saturating_mul(y1 - y0 + 1) > MAX_CELLS {
            wide.push(i as u32);
            continue;
        }
        for x in x0..=x1 {
            for y in y0..=y1 {
                grid.entry((x, y)).or_default().push(i as u32);
            }
        }
    }
    let mut out = AreaPlacement::default();
    for (id, lat, lon, in_turf) in buildings {
        let (lat, lon) = (*lat, *lon);
        let near = grid.get(&(cell(lon), cell(lat))).map(Vec::as_slice).unwrap_or_default();
        let holding: Vec<usize> =
            near.iter().chain(&wide).map(|&i| i as usize).filter(|&i| areas[i].1.contains(lat, lon)).collect();
        if holding.len() > 1 {
            out.ambiguous.push(id.clone());
        }
        let found = holding.into_iter().max_by(|&a, &b| {
            areas[a].1.depth(lat, lon).total_cmp(&areas[b].1.depth(lat, lon)).then(areas[b].0.cmp(&areas[a].0))
        });
        match (found, in_turf) {
            (Some(_), true) => out.in_turfs.push(id.clone()),
            (Some(i), false) => out.assign.push((id.clone(), areas[i].0.clone())),
            (None, _) => out.outside.push(id.clone()),
        }
    }
    out
}

/// What [`place_in_areas`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaPlacement {
    /// `(building, station)` to set.
    pub assign: Vec<(String, String)>,
    pub outside: Vec<String>,
    pub in_turfs: Vec<String>,
    pub ambiguous: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: &str = "Code du département;Libellé du département;Code de la circonscription;Libellé de la circonscription;Code de la commune;Libellé de la commune;Code du b.vote;Inscrits;Abstentions;% Abs/Ins;Votants;% Vot/Ins;Blancs;% Blancs/Ins;% Blancs/Vot;Nuls;% Nuls/Ins;% Nuls/Vot;Exprimés;% Exp/Ins;% Exp/Vot;N°Panneau;Sexe;Nom;Prénom;Voix;% Voix/Ins;% Voix/Exp
69;Rhône;01;1ère circonscription;123;Lyon;0101;1000;250;25,00;750;75,00;10;1,00;1,33;5;0,50;0,67;735;73,50;98,00;1;F;MARTIN;Anne;400;40,00;54,42;2;M;DURAND;Paul;335;33,50;45,58
69;Rhône;01;1ère circonscription;123;Lyon;0102;800;400;50,00;400;50,00;0;0;0;0;0;0;400;50,00;100,00;1;F;MARTIN;Anne;100;12,50;25,00;2;M;DURAND;Paul;300;37,50;75,00
";

    #[test]
    fn the_ministry_wide_layout() {
        let p = parse_results(WIDE.as_bytes(), &HashMap::new()).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.stations.len(), 2);
        let s = &p.stations[0];
        assert_eq!((s.id.as_str(), s.registered, s.voters, s.expressed), ("101", 1000, 750, 735));
        assert_eq!(s.votes["MARTIN Anne"], 400);
        assert_eq!(s.votes["DURAND Paul"], 335);
        let f = Formula { favourable: vec!["Martin".into()], ..Formula::default() };
        let sc = f.score(s);
        assert!((sc.abstention - 0.25).abs() < 1e-9);
        assert!((sc.priority - 1000.0 * 0.25 * 400.0 / 735.0).abs() < 1e-6);
    }

    #[test]
    fn the_long_layout_and_impossible_totals() {
        let long = "bureau,inscrits,votants,exprimes,liste,voix\n1,500,300,290,A,200\n1,500,300,290,B,90\n2,100,150,140,A,140\n";
        let p = parse_results(long.as_bytes(), &HashMap::new()).unwrap();
        assert_eq!(p.stations.len(), 1);
        assert_eq!(p.stations[0].votes.len(), 2);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(p.errors[0].reason.contains("150 voters for 100 registered"), "{:?}", p.errors);
        assert_eq!(p.errors[0].line, 4);
    }

    #[test]
    fn lyon_percentages() {
        let lyon = "id,nom,num_bureau,inscrits,abst,blancs,joly,hollande\n0101,MAIRIE,101,1000,20,1,40,60\n";
        let p = parse_results(lyon.as_bytes(), &HashMap::new()).unwrap();
        let s = &p.stations[0];
        assert_eq!((s.id.as_str(), s.voters, s.expressed), ("101", 800, 792));
        assert_eq!(s.votes["hollande"], 475);
        assert_eq!(s.name.as_deref(), Some("MAIRIE"));
    }

    #[test]
    fn point_in_polygon_with_a_hole() {
        let g = serde_json::json!({"type":"Polygon","coordinates":[
            [[0.0,0.0],[10.0,0.0],[10.0,10.0],[0.0,10.0],[0.0,0.0]],
            [[4.0,4.0],[6.0,4.0],[6.0,6.0],[4.0,6.0],[4.0,4.0]]]});
        let a = Area::of(&g).unwrap();
        assert!(a.contains(2.0, 2.0));
        assert!(!a.contains(5.0, 5.0));
        assert!(!a.contains(11.0, 5.0));
        assert_eq!(a.bbox, (0.0, 0.0, 10.0, 10.0));
    }

    /// Which geometries are areas at all.
    #[test]
    fn only_polygons_of_numbers_are_areas() {
        let square = serde_json::json!([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]);
        // (geometry, an area)
        let cases = [
            (serde_json::json!({"type": "Polygon", "coordinates": square}), true),
            (serde_json::json!({"type": "MultiPolygon", "coordinates": [square, square]}), true),
            (serde_json::json!({"type": "Point", "coordinates": [0.0, 0.0]}), false),
            (serde_json::json!({"type": "Polygon", "coordinates": []}), false),
            (serde_json::json!({"type": "Polygon", "coordinates": [[]]}), false),
            (serde_json::json!({"type": "Polygon", "coordinates": [[[0.0, "x"], [1.0, 0.0]]]}), false),
            (serde_json::json!({"type": "Polygon", "coordinates": [[[0.0]]]}), false),
            (serde_json::json!({"type": "Polygon"}), false),
            (serde_json::json!(null), false),
            (serde_json::json!([1, 2]), false),
        ];
        for (g, want) in cases {
            assert_eq!(Area::of(&g).is_some(), want, "{g}");
        }
    }

    /// Buildings among overlapping areas, a wide area, a building in a turf and one outside.
    #[test]
    fn buildings_go_to_the_area_they_lie_deepest_in() {
        let square = |x0: f64, y0: f64, side: f64| {
            Area::of(&serde_json::json!({"type": "Polygon", "coordinates": [[
                [x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]]]}))
            .unwrap()
        };
        let areas = vec![
            ("69123_101".to_string(), square(4.80, 45.70, 0.02)),
            ("69123_102".to_string(), square(4.815, 45.70, 0.02)),
            // A hundred kilometres wide: found without the grid.
            ("01001_1".to_string(), square(5.0, 45.0, 1.0)),
        ];
        let b = |id: &str, lat: f64, lon: f64, in_turf: bool| (id.to_string(), lat, lon, in_turf);
        let placed = place_in_areas(
            &areas,
            &[
                b("a", 45.71, 4.805, false), // only in 101
                b("b", 45.71, 4.816, false), // in both, deeper in 101
                b("c", 45.71, 4.819, false), // in both, deeper in 102
                b("d", 45.71, 4.83, true),   // in 102, already in a turf
                b("e", 45.5, 5.5, false),    // in the wide area
                b("f", 48.85, 2.35, false),  // Paris: in none
            ],
        );
        let assign: Vec<(&str, &str)> = placed.assign.iter().map(|(a, s)| (a.as_str(), s.as_str())).collect();
        assert_eq!(assign, vec![("a", "69123_101"), ("b", "69123_101"), ("c", "69123_102"), ("e", "01001_1")]);
        assert_eq!(
            (placed.ambiguous, placed.in_turfs, placed.outside),
            (vec!["b".into(), "c".into()], vec!["d".into()], vec!["f".into()])
        );
    }

    /// Names match exactly (case and accents folded), by whole label, name, or nuance code; a
    /// name that matches nothing is said.
    #[test]
    fn favourable_names_match_exactly() {
        let lists: std::collections::BTreeSet<String> = [
            "FILLON François (LR)",
            "DUPONT-AIGNAN Nicolas (DLR)",
            "MÉLENCHON Jean-Luc (FI)",
            "hollande",
            "Liste Écologie",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let f = |names: &[&str]| Formula {
            favourable: names.iter().map(|s| s.to_string()).collect(),
            ..Formula::default()
        };
        let matching =
            |formula: &Formula| lists.iter().filter(|l| formula.is_favourable(l)).cloned().collect::<Vec<_>>();
        assert_eq!(matching(&f(&["FI"])), vec!["MÉLENCHON Jean-Luc (FI)"], "FI is not FILLON");
        assert_eq!(matching(&f(&["lr"])), vec!["FILLON François (LR)"], "LR is not DLR");
        assert_eq!(matching(&f(&["melenchon"])), vec!["MÉLENCHON Jean-Luc (FI)"]);
        assert_eq!(matching(&f(&["Dupont-Aignan"])), vec!["DUPONT-AIGNAN Nicolas (DLR)"]);
        assert_eq!(matching(&f(&["liste ecologie", "HOLLANDE"])), vec!["Liste Écologie", "hollande"]);
        assert!(matching(&f(&["ecologie", "fil", "Mélenchon J"])).is_empty(), "no partial names");
        assert_eq!(f(&["FI", "hollnde"]).unmatched(&lists), vec!["hollnde".to_string()]);
    }

    /// The Ministry's national file: "commune 001, bureau 0001" exists in every département; each
    /// is its own station, named by INSEE code and bureau, and an address file naming bureaux the
    /// REU way (`01001_0001`) meets the same key.
    #[test]
    fn the_national_file_keeps_departments_apart() {
        let head = WIDE.lines().next().unwrap();
        let row = |dep: &str, lib: &str, com: &str, bv: &str, reg: u32| {
            format!(
                "{dep};{lib};01;1ère circonscription;{com};Commune;{bv};{reg};100;10,00;{v};90,00;0;0;0;0;0;0;{v};90,00;100,00;1;F;MARTIN;Anne;{v};50,00;100,00",
                v = reg - 100
            )
        };
        let text = [
            head.to_string(),
            row("01", "Ain", "001", "0001", 500),
            row("02", "Aisne", "001", "0001", 600),
            row("2A", "Corse-du-Sud", "004", "0002", 700),
            row("971", "Guadeloupe", "01", "0001", 800),
        ]
        .join("\n");
        let p = parse_results(text.as_bytes(), &HashMap::new()).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let ids: Vec<&str> = p.stations.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["01001-1", "02001-1", "2A004-2", "97101-1"]);
        for (address_side, want) in
            [("01001_0001", "01001-1"), ("02001-0001", "02001-1"), ("2A004_0002", "2A004-2"), ("0101", "101")]
        {
            assert_eq!(station_key(address_side), want);
        }
    }
}
