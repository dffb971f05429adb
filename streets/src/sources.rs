//! Street networks as they come: every reader (GeoJSON here; OpenStreetMap `.osm.pbf` and IGN BD
//! TOPO GeoPackage in the server, which does the file I/O) hands polylines to one
//! [`NetworkBuilder`], and asks the same two rules which ways a canvasser can walk
//! ([`osm_walkable`], [`bdtopo_walkable`]). Pure: no I/O.

use std::collections::HashMap;

use doorstep_protocol::{StreetEdge, StreetNetwork};

const M_PER_DEG_LAT: f64 = 111_132.0;

/// What a reader saw besides the lines it kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkStats {
    /// Lines read and kept.
    pub lines: usize,
    /// Objects that are not lines (points, polygons, relations…).
    pub not_lines: usize,
    /// Lines no one walks: motorways, ferries, ways closed to pedestrians, roads not built yet.
    pub not_walkable: usize,
    /// Lines with no point inside the kept area (see [`NetworkBuilder::within`]).
    pub outside: usize,
}

/// A bounding box (south, west, north, east) in degrees.
pub type Bounds = (f64, f64, f64, f64);

/// Builds a [`StreetNetwork`] from polylines: nodes where coordinates coincide (to about 1 cm),
/// one edge per consecutive pair of points, each with the street's name and class.
#[derive(Debug, Default)]
pub struct NetworkBuilder {
    net: StreetNetwork,
    index: HashMap<(i64, i64), u32>,
    bounds: Option<Bounds>,
    pub stats: NetworkStats,
}

impl NetworkBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps only lines with at least one point inside `bounds` (a campaign's area and a margin):
    /// a département's file for a town's campaign.
    pub fn within(mut self, bounds: Option<Bounds>) -> Self {
        self.bounds = bounds;
        self
    }

    fn node(&mut self, lon: f64, lat: f64) -> Option<u32> {
        if !(lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
            return None;
        }
        let key = ((lon * 1e7).round() as i64, (lat * 1e7).round() as i64);
        let net = &mut self.net;
        Some(*self.index.entry(key).or_insert_with(|| {
            net.nodes.push([lon, lat]);
            (net.nodes.len() - 1) as u32
        }))
    }

    /// Adds one polyline of `(lon, lat)` points.
    pub fn line(&mut self, points: &[(f64, f64)], name: Option<&str>, class: Option<&str>) {
        if let Some((s, w, n, e)) = self.bounds
            && !points.iter().any(|&(lon, lat)| (s..=n).contains(&lat) && (w..=e).contains(&lon))
        {
            self.stats.outside += 1;
            return;
        }
        self.stats.lines += 1;
        let name = name.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let class = class.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let mut previous: Option<u32> = None;
        for &(lon, lat) in points {
            let id = self.node(lon, lat);
            if let (Some(a), Some(b)) = (previous, id)
                && a != b
            {
                let (pa, pb) = (self.net.nodes[a as usize], self.net.nodes[b as usize]);
                let kx = M_PER_DEG_LAT * pa[1].to_radians().cos();
                let length_m = (((pb[0] - pa[0]) * kx).powi(2) + ((pb[1] - pa[1]) * M_PER_DEG_LAT).powi(2)).sqrt();
                self.net.edges.push(StreetEdge { from: a, to: b, length_m, name: name.clone(), class: class.clone() });
            }
            previous = id;
        }
    }

    pub fn finish(self) -> Result<(StreetNetwork, NetworkStats), String> {
        if self.net.edges.is_empty() {
            return Err(if self.stats.outside > 0 {
                format!(
                    "aucun tronçon près des adresses de la campagne / no street segment near the campaign's addresses ({} outside)",
                    self.stats.outside
                )
            } else {
                "aucun tronçon de rue dans le fichier / no street segment in the file".into()
            });
        }
        Ok((self.net, self.stats))
    }
}

/// OpenStreetMap `highway` values no canvasser walks along.
const OSM_NOT_WALKED: &[&str] = &[
    "motorway",
    "motorway_link",
    "construction",
    "proposed",
    "planned",
    "abandoned",
    "disused",
    "razed",
    "raceway",
    "bus_guideway",
    "busway",
    "escape",
    "emergency_bay",
    "rest_area",
    "services",
    "platform",
];

/// Whether an OpenStreetMap way is walkable: it has a `highway` tag that is not a motorway, a road
/// not built yet or a bus-only way; `foot=no` (or `access=no` without a `foot` permission) closes
/// it; a trunk road is walked only where it says so (`foot=yes`, a sidewalk).
pub fn osm_walkable(tag: &dyn Fn(&str) -> Option<String>) -> bool {
    let Some(highway) = tag("highway") else { return false };
    if OSM_NOT_WALKED.contains(&highway.as_str()) {
        return false;
    }
    let foot = tag("foot").unwrap_or_default();
    let foot_allowed = matches!(foot.as_str(), "yes" | "designated" | "permissive" | "use_sidepath");
    if matches!(foot.as_str(), "no" | "private" | "discouraged") {
        return false;
    }
    if matches!(tag("access").as_deref(), Some("no")) && !foot_allowed {
        return false;
    }
    if matches!(highway.as_str(), "trunk" | "trunk_link") {
        let sidewalk = tag("sidewalk").is_some_and(|s| !matches!(s.as_str(), "no" | "none" | "separate"));
        return foot_allowed || sidewalk;
    }
    true
}

/// Whether an IGN BD TOPO road section is walkable, from its `nature`, `etat_de_l_objet` and
/// `acces_pieton`: motorways (`Type autoroutier`), ferries (`Bac…`) and sections not in service or
/// closed to pedestrians are not.
pub fn bdtopo_walkable(nature: &str, state: Option<&str>, pedestrian_access: Option<&str>) -> bool {
    let nature = fold(nature);
    if nature.starts_with("type autoroutier") || nature.starts_with("bac") || nature.starts_with("liaison") {
        return false;
    }
    if state.is_some_and(|s| !s.trim().is_empty() && fold(s) != "en service") {
        return false;
    }
    !pedestrian_access.is_some_and(|a| fold(a).starts_with("interdit"))
}

/// The OpenStreetMap-style class of a BD TOPO section (what [`crate::streets::crossing_cost_m`]
/// reads): main roads by their `importance` (1–2 primary, 3 secondary, 4 tertiary), paths,
/// steps and cycle tracks by their `nature`, the rest residential.
pub fn bdtopo_class(nature: &str, importance: Option<&str>) -> &'static str {
    let nature = fold(nature);
    if nature.starts_with("escalier") {
        return "steps";
    }
    if nature.starts_with("sentier") {
        return "path";
    }
    if nature.starts_with("piste cyclable") {
        return "cycleway";
    }
    if nature.starts_with("chemin") || nature.starts_with("route empierree") {
        return "track";
    }
    match importance.map(str::trim) {
        Some("1" | "2") => "primary",
        Some("3") => "secondary",
        Some("4") => "tertiary",
        _ if nature.starts_with("route a 2 chaussees") || nature.starts_with("bretelle") => "primary",
        _ => "residential",
    }
}

/// Lower case with French accents removed (BD TOPO's values are written with and without them).
fn fold(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

/// Builds a [`StreetNetwork`] from GeoJSON LineStrings (and MultiLineStrings) in WGS84. Properties
/// of either schema are read: OpenStreetMap (`highway`, `foot`, `access`, `name`) or BD TOPO
/// (`nature`, `importance`, `nom_voie_ban_gauche`, `nom_collaboratif_gauche`…); ways no one walks
/// are left out and counted.
pub fn network_from_geojson(v: &serde_json::Value) -> Result<(StreetNetwork, NetworkStats), String> {
    network_from_geojson_within(v, None)
}

/// [`network_from_geojson`], keeping only the lines that reach into `bounds`.
pub fn network_from_geojson_within(
    v: &serde_json::Value,
    bounds: Option<Bounds>,
) -> Result<(StreetNetwork, NetworkStats), String> {
    let features = v["features"].as_array().ok_or("expected a FeatureCollection with features")?;
    let mut b = NetworkBuilder::new().within(bounds);
    for f in features {
        let g = &f["geometry"];
        let lines: Vec<&Vec<serde_json::Value>> = match g["type"].as_str() {
            Some("LineString") => g["coordinates"].as_array().into_iter().collect(),
            Some("MultiLineString") => {
                g["coordinates"].as_array().map(|a| a.iter().filter_map(|l| l.as_array()).collect()).unwrap_or_default()
            }
            _ => {
                b.stats.not_lines += 1;
                continue;
            }
        };
        let p = &f["properties"];
        let text = |k: &str| p[k].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let (name, class) = if let Some(highway) = text("highway") {
            if !osm_walkable(&|k| text(k)) {
                b.stats.not_walkable += 1;
                continue;
            }
            (text("name").or(text("nom")), highway)
        } else if let Some(nature) = text("nature") {
            if !bdtopo_walkable(&nature, text("etat_de_l_objet").as_deref(), text("acces_pieton").as_deref()) {
                b.stats.not_walkable += 1;
                continue;
            }
            (bdtopo_name(&|k| text(k)).or(text("name")), bdtopo_class(&nature, text("importance").as_deref()).into())
        } else {
            (text("name").or(text("nom")), String::new())
        };
        for line in lines {
            let points: Vec<(f64, f64)> =
                line.iter().map(|c| (c[0].as_f64().unwrap_or(f64::NAN), c[1].as_f64().unwrap_or(f64::NAN))).collect();
            b.line(&points, name.as_deref(), Some(&class));
        }
    }
    b.finish()
}

/// A BD TOPO section's street name: the Base Adresse Nationale's (the one addresses carry), else
/// the collaborative one, left side first.
pub fn bdtopo_name(field: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    ["nom_voie_ban_gauche", "nom_voie_ban_droite", "nom_collaboratif_gauche", "nom_collaboratif_droite"]
        .iter()
        .find_map(|k| field(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(a, _)| *a == k).map(|(_, v)| v.to_string())
    }

    /// Case table: which OpenStreetMap ways a canvasser walks.
    #[test]
    fn osm_walkable_case_table() {
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("highway", "residential")], true),
            (&[("highway", "footway")], true),
            (&[("highway", "steps")], true),
            (&[("highway", "service"), ("access", "private")], true),
            (&[("highway", "motorway")], false),
            (&[("highway", "motorway_link"), ("foot", "yes")], false),
            (&[("highway", "construction")], false),
            (&[("highway", "proposed")], false),
            (&[("highway", "cycleway"), ("foot", "no")], false),
            (&[("highway", "service"), ("access", "no")], false),
            (&[("highway", "service"), ("access", "no"), ("foot", "yes")], true),
            (&[("highway", "trunk")], false),
            (&[("highway", "trunk"), ("sidewalk", "both")], true),
            (&[("highway", "trunk"), ("foot", "designated")], true),
            (&[("building", "yes")], false),
        ];
        for (t, want) in cases {
            assert_eq!(osm_walkable(&tags(t)), *want, "{t:?}");
        }
    }

    /// Case table: which BD TOPO sections are walked, and their class.
    #[test]
    fn bdtopo_case_table() {
        assert!(bdtopo_walkable("Route à 1 chaussée", Some("En service"), Some("Libre")));
        assert!(bdtopo_walkable("Escalier", None, None));
        assert!(!bdtopo_walkable("Type autoroutier", Some("En service"), None));
        assert!(!bdtopo_walkable("Bac ou liaison maritime", None, None));
        assert!(!bdtopo_walkable("Route à 1 chaussée", Some("En construction"), None));
        assert!(!bdtopo_walkable("Route à 2 chaussées", None, Some("Interdit")));
        assert_eq!(bdtopo_class("Route à 1 chaussée", Some("5")), "residential");
        assert_eq!(bdtopo_class("Route a 1 chaussee", Some("4")), "tertiary");
        assert_eq!(bdtopo_class("Route à 2 chaussées", Some("2")), "primary");
        assert_eq!(bdtopo_class("Escalier", Some("6")), "steps");
        assert_eq!(bdtopo_class("Sentier", None), "path");
        assert_eq!(bdtopo_class("Route empierrée", Some("5")), "track");
    }

    /// Lines that share a point share a node; a line outside the kept area is counted, not kept.
    #[test]
    fn the_builder_joins_lines_and_clips() {
        let mut b = NetworkBuilder::new().within(Some((47.0, -2.0, 48.0, -1.0)));
        b.line(&[(-1.5, 47.5), (-1.5, 47.501)], Some("Rue A"), Some("residential"));
        b.line(&[(-1.5, 47.501), (-1.499, 47.501)], Some("Rue B"), None);
        b.line(&[(3.0, 45.0), (3.001, 45.0)], Some("Ailleurs"), None);
        let (net, stats) = b.finish().unwrap();
        assert_eq!(net.nodes.len(), 3);
        assert_eq!(net.edges.len(), 2);
        assert!((net.edges[0].length_m - 111.1).abs() < 0.5, "{}", net.edges[0].length_m);
        assert_eq!(stats, NetworkStats { lines: 2, not_lines: 0, not_walkable: 0, outside: 1 });
        assert!(NetworkBuilder::new().finish().is_err());
    }
}
