//! Walking distances along streets: the turf package's [`StreetNetwork`] as a graph, every door
//! snapped to its nearest street segment, and shortest paths between snapped points (Dijkstra).
//! Pedestrians ignore one-way rules. Going from one side of a street to the other side of the same
//! street costs a crossing ([`crossing_cost_m`]: a few metres for a quiet street, a detour for a
//! main road). A path that leaves the network's reach (streets that do not connect) costs three
//! times the straight line, so the route still covers it. Pure: no I/O.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use doorstep_protocol::StreetNetwork;

const M_PER_DEG_LAT: f64 = 111_132.0;
/// What a metre off the network costs, relative to a metre along it.
pub const OFF_NETWORK_FACTOR: f64 = 3.0;

/// A point placed on the network: on edge `edge`, at fraction `t` from its `from` node, `off` metres
/// from where it really is.
#[derive(Debug, Clone, Copy)]
pub struct Snap {
    pub edge: usize,
    pub t: f64,
    pub off: f64,
    /// Which side of its street the point is on (+1 left of the edge's direction, -1 right).
    pub side: i8,
    xy: (f64, f64),
}

/// What crossing a street costs, in metres of walking: little for a quiet street, a detour to a
/// crossing for a main road.
pub fn crossing_cost_m(class: Option<&str>) -> f64 {
    match class {
        Some("primary" | "secondary" | "trunk" | "motorway" | "primary_link" | "secondary_link") => 80.0,
        Some("tertiary") => 25.0,
        _ => 8.0,
    }
}

#[derive(Debug, Clone)]
pub struct StreetGraph {
    lat0: f64,
    lon0: f64,
    kx: f64,
    xy: Vec<(f64, f64)>,
    /// `(from, to, length m)`.
    edges: Vec<(usize, usize, f64)>,
    /// Per edge: its street (an index into `streets`, names compared as written) and crossing cost.
    street_of: Vec<Option<usize>>,
    crossing: Vec<f64>,
    adj: Vec<Vec<(usize, f64)>>,
}

#[derive(PartialEq)]
struct Item(f64, usize);
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

impl StreetGraph {
    /// Builds the graph; `None` when the network has no usable edge.
    pub fn new(net: &StreetNetwork) -> Option<Self> {
        if net.nodes.is_empty() || net.edges.is_empty() {
            return None;
        }
        let n = net.nodes.len() as f64;
        let lat0 = net.nodes.iter().map(|p| p[1]).sum::<f64>() / n;
        let lon0 = net.nodes.iter().map(|p| p[0]).sum::<f64>() / n;
        let kx = M_PER_DEG_LAT * lat0.to_radians().cos();
        let xy: Vec<(f64, f64)> =
            net.nodes.iter().map(|p| ((p[0] - lon0) * kx, (p[1] - lat0) * M_PER_DEG_LAT)).collect();
        let mut edges = Vec::with_capacity(net.edges.len());
        let mut adj = vec![Vec::new(); xy.len()];
        let (mut street_of, mut crossing) = (Vec::new(), Vec::new());
        let mut names: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for e in &net.edges {
            let (a, b) = (e.from as usize, e.to as usize);
            if a >= xy.len() || b >= xy.len() || a == b {
                continue;
            }
            let straight = dist(xy[a], xy[b]);
            let len = if e.length_m.is_finite() && e.length_m >= straight * 0.5 { e.length_m } else { straight };
            edges.push((a, b, len));
            adj[a].push((b, len));
            adj[b].push((a, len));
            let next = names.len();
            street_of.push(
                e.name.as_ref().filter(|n| !n.is_empty()).map(|n| *names.entry(n.to_lowercase()).or_insert(next)),
            );
            crossing.push(crossing_cost_m(e.class.as_deref()));
        }
        if edges.is_empty() {
            return None;
        }
        Some(Self { lat0, lon0, kx, xy, edges, street_of, crossing, adj })
    }

    pub fn project(&self, lat: f64, lon: f64) -> (f64, f64) {
        ((lon - self.lon0) * self.kx, (lat - self.lat0) * M_PER_DEG_LAT)
    }

    /// The nearest point of the network to (lat, lon).
    pub fn snap(&self, lat: f64, lon: f64) -> Snap {
        let p = self.project(lat, lon);
        let mut best = Snap { edge: 0, t: 0.0, off: f64::INFINITY, side: 0, xy: p };
        for (i, &(a, b, _)) in self.edges.iter().enumerate() {
            let (pa, pb) = (self.xy[a], self.xy[b]);
            let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
            let l2 = dx * dx + dy * dy;
            let t = if l2 == 0.0 { 0.0 } else { (((p.0 - pa.0) * dx + (p.1 - pa.1) * dy) / l2).clamp(0.0, 1.0) };
            let q = (pa.0 + t * dx, pa.1 + t * dy);
            let d = dist(p, q);
            if d < best.off {
                let cross = dx * (p.1 - pa.1) - dy * (p.0 - pa.0);
                best = Snap { edge: i, t, off: d, side: if cross >= 0.0 { 1 } else { -1 }, xy: p };
            }
        }
        best
    }

    /// Shortest walking distances from `from` to each of `to`, in metres (including the walk from
    /// each door to its street).
    pub fn distances(&self, from: &Snap, to: &[Snap]) -> Vec<f64> {
        let mut best = vec![f64::INFINITY; self.xy.len()];
        let mut heap = BinaryHeap::new();
        let (a, b, len) = self.edges[from.edge];
        for (node, d) in [(a, from.t * len), (b, (1.0 - from.t) * len)] {
            if d < best[node] {
                best[node] = d;
                heap.push(Item(d, node));
            }
        }
        // Stop once every node the targets need is settled.
        let mut needed = vec![false; self.xy.len()];
        let mut waiting = 0usize;
        for s in to {
            let (a, b, _) = self.edges[s.edge];
            for x in [a, b] {
                if !needed[x] {
                    needed[x] = true;
                    waiting += 1;
                }
            }
        }
        let mut settled = vec![false; self.xy.len()];
        while let Some(Item(d, u)) = heap.pop() {
            if d > best[u] || settled[u] {
                continue;
            }
            settled[u] = true;
            if needed[u] {
                waiting -= 1;
                if waiting == 0 {
                    break;
                }
            }
            for &(v, w) in &self.adj[u] {
                let nd = d + w;
                if nd < best[v] {
                    best[v] = nd;
                    heap.push(Item(nd, v));
                }
            }
        }
        to.iter()
            .map(|s| {
                let (a, b, len) = self.edges[s.edge];
                let mut along = (best[a] + s.t * len).min(best[b] + (1.0 - s.t) * len);
                if s.edge == from.edge {
                    along = along.min((s.t - from.t).abs() * len);
                }
                if along.is_finite() {
                    // From one side of a street to the other side of the same street: a crossing.
                    let same_street = s.edge == from.edge
                        || (self.street_of[s.edge].is_some() && self.street_of[s.edge] == self.street_of[from.edge]);
                    let crossing = if same_street && s.side != from.side {
                        self.crossing[s.edge].max(self.crossing[from.edge])
                    } else {
                        0.0
                    };
                    from.off + along + s.off + crossing
                } else {
                    // Unreachable through the network (streets that do not connect): the route
                    // still covers the door, at a cost that keeps it for last nearby.
                    dist(from.xy, s.xy) * OFF_NETWORK_FACTOR
                }
            })
            .collect()
    }
}

fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// Builds a [`StreetNetwork`] from GeoJSON LineStrings (and MultiLineStrings): nodes where
/// coordinates coincide (to about 1 cm), one edge per consecutive pair of points, the street's
/// name and class (`highway`, else `nature`) kept. Returns the network and how many features were
/// skipped (not lines).
pub fn network_from_geojson(v: &serde_json::Value) -> Result<(StreetNetwork, usize), String> {
    let features = v["features"].as_array().ok_or("expected a FeatureCollection with features")?;
    let mut net = StreetNetwork::default();
    let mut index: std::collections::HashMap<(i64, i64), u32> = std::collections::HashMap::new();
    let mut skipped = 0;
    let mut node = |net: &mut StreetNetwork, c: &serde_json::Value| -> Option<u32> {
        let (lon, lat) = (c[0].as_f64()?, c[1].as_f64()?);
        if !(lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
            return None;
        }
        let key = ((lon * 1e7).round() as i64, (lat * 1e7).round() as i64);
        Some(*index.entry(key).or_insert_with(|| {
            net.nodes.push([lon, lat]);
            (net.nodes.len() - 1) as u32
        }))
    };
    for f in features {
        let g = &f["geometry"];
        let lines: Vec<&Vec<serde_json::Value>> = match g["type"].as_str() {
            Some("LineString") => g["coordinates"].as_array().into_iter().collect(),
            Some("MultiLineString") => {
                g["coordinates"].as_array().map(|a| a.iter().filter_map(|l| l.as_array()).collect()).unwrap_or_default()
            }
            _ => {
                skipped += 1;
                continue;
            }
        };
        let p = &f["properties"];
        let name = p["name"].as_str().or(p["nom"].as_str()).map(str::to_string);
        let class = p["highway"].as_str().or(p["nature"].as_str()).map(str::to_string);
        for line in lines {
            let ids: Vec<Option<u32>> = line.iter().map(|c| node(&mut net, c)).collect();
            for w in ids.windows(2) {
                let (Some(a), Some(b)) = (w[0], w[1]) else { continue };
                if a == b {
                    continue;
                }
                let (pa, pb) = (net.nodes[a as usize], net.nodes[b as usize]);
                let kx = M_PER_DEG_LAT * pa[1].to_radians().cos();
                let length_m = (((pb[0] - pa[0]) * kx).powi(2) + ((pb[1] - pa[1]) * M_PER_DEG_LAT).powi(2)).sqrt();
                net.edges.push(doorstep_protocol::StreetEdge {
                    from: a,
                    to: b,
                    length_m,
                    name: name.clone(),
                    class: class.clone(),
                });
            }
        }
    }
    if net.edges.is_empty() {
        return Err("no street segment in the file".into());
    }
    Ok((net, skipped))
}

/// The part of `net` within `margin_m` of the bounding box of `points` (lat, lon): what a turf's
/// package carries.
pub fn clip(net: &StreetNetwork, points: &[(f64, f64)], margin_m: f64) -> StreetNetwork {
    if points.is_empty() {
        return StreetNetwork::default();
    }
    let (mut lat_min, mut lat_max, mut lon_min, mut lon_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(lat, lon) in points {
        lat_min = lat_min.min(lat);
        lat_max = lat_max.max(lat);
        lon_min = lon_min.min(lon);
        lon_max = lon_max.max(lon);
    }
    let dlat = margin_m / M_PER_DEG_LAT;
    let dlon = margin_m / (M_PER_DEG_LAT * lat_min.to_radians().cos().max(0.01));
    let inside = |p: &[f64; 2]| {
        (lat_min - dlat..=lat_max + dlat).contains(&p[1]) && (lon_min - dlon..=lon_max + dlon).contains(&p[0])
    };
    let mut map = vec![u32::MAX; net.nodes.len()];
    let mut out = StreetNetwork::default();
    for e in &net.edges {
        let (a, b) = (e.from as usize, e.to as usize);
        if a >= net.nodes.len() || b >= net.nodes.len() || !(inside(&net.nodes[a]) || inside(&net.nodes[b])) {
            continue;
        }
        let mut id = |i: usize, out: &mut StreetNetwork| {
            if map[i] == u32::MAX {
                map[i] = out.nodes.len() as u32;
                out.nodes.push(net.nodes[i]);
            }
            map[i]
        };
        let (na, nb) = (id(a, &mut out), id(b, &mut out));
        out.edges.push(doorstep_protocol::StreetEdge { from: na, to: nb, ..e.clone() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_protocol::StreetEdge;

    /// A ladder: two parallel streets 100 m apart joined at both ends, 300 m long.
    fn ladder() -> StreetNetwork {
        let lat = |m: f64| 47.2 + m / M_PER_DEG_LAT;
        let kx = M_PER_DEG_LAT * 47.2f64.to_radians().cos();
        let lon = |m: f64| -1.55 + m / kx;
        let nodes =
            vec![[lon(0.0), lat(0.0)], [lon(300.0), lat(0.0)], [lon(0.0), lat(100.0)], [lon(300.0), lat(100.0)]];
        let e = |from, to, length_m| StreetEdge { from, to, length_m, name: None, class: None };
        StreetNetwork { nodes, edges: vec![e(0, 1, 300.0), e(2, 3, 300.0), e(0, 2, 100.0), e(1, 3, 100.0)] }
    }

    #[test]
    fn distances_follow_the_streets() {
        let net = ladder();
        let g = StreetGraph::new(&net).unwrap();
        let kx = M_PER_DEG_LAT * 47.2f64.to_radians().cos();
        let at = |x: f64, y: f64| g.snap(47.2 + y / M_PER_DEG_LAT, -1.55 + x / kx);
        // Middle of the south street to the middle of the north street: 150 + 100 + 150, not 100
        // (the ladder's streets have no name: no crossing cost between them).
        let (s, n) = (at(150.0, 1.0), at(150.0, 99.0));
        let d = g.distances(&s, &[n])[0];
        assert!((d - 402.0).abs() < 2.0, "{d}");
        // Along one street: straight.
        let d = g.distances(&at(0.0, 0.0), &[at(200.0, 0.0)])[0];
        assert!((d - 200.0).abs() < 1.0, "{d}");
    }

    #[test]
    fn crossing_a_main_road_costs_more_than_a_quiet_street() {
        let kx = M_PER_DEG_LAT * 47.2f64.to_radians().cos();
        let lon = |m: f64| -1.55 + m / kx;
        for (class, cost) in [("primary", 80.0), ("residential", 8.0)] {
            let net = StreetNetwork {
                nodes: vec![[lon(0.0), 47.2], [lon(300.0), 47.2]],
                edges: vec![StreetEdge {
                    from: 0,
                    to: 1,
                    length_m: 300.0,
                    name: Some("Cours X".into()),
                    class: Some(class.into()),
                }],
            };
            let g = StreetGraph::new(&net).unwrap();
            let north = g.snap(47.2 + 5.0 / M_PER_DEG_LAT, lon(100.0));
            let south = g.snap(47.2 - 5.0 / M_PER_DEG_LAT, lon(100.0));
            let same_side = g.snap(47.2 + 5.0 / M_PER_DEG_LAT, lon(120.0));
            let across = g.distances(&north, &[south])[0];
            assert!((across - (10.0 + cost)).abs() < 0.5, "{class}: {across}");
            assert!((g.distances(&north, &[same_side])[0] - 30.0).abs() < 0.5);
        }
    }

    #[test]
    fn disconnected_or_far_costs_the_fallback() {
        let mut net = ladder();
        net.edges.truncate(2); // two streets, not joined
        let g = StreetGraph::new(&net).unwrap();
        let kx = M_PER_DEG_LAT * 47.2f64.to_radians().cos();
        let at = |x: f64, y: f64| g.snap(47.2 + y / M_PER_DEG_LAT, -1.55 + x / kx);
        let d = g.distances(&at(150.0, 0.0), &[at(150.0, 100.0)])[0];
        assert!((d - 300.0).abs() < 1.0, "three times the straight 100 m: {d}");
    }

    #[test]
    fn geojson_and_clip() {
        let v = serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "Rue A", "highway": "residential"},
             "geometry": {"type": "LineString", "coordinates": [[-1.55, 47.2], [-1.549, 47.2], [-1.548, 47.2]]}},
            {"type": "Feature", "properties": {"name": "Rue B"},
             "geometry": {"type": "LineString", "coordinates": [[-1.548, 47.2], [-1.548, 47.21]]}},
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}}]});
        let (net, skipped) = network_from_geojson(&v).unwrap();
        assert_eq!((net.nodes.len(), net.edges.len(), skipped), (4, 3, 1), "shared end point is one node");
        assert!((net.edges[0].length_m - 75.6).abs() < 1.0, "{}", net.edges[0].length_m);
        let c = clip(&net, &[(47.2, -1.5495)], 50.0);
        assert_eq!(c.edges.len(), 2, "both halves of Rue A touch the area; Rue B does not");
        assert!(network_from_geojson(&serde_json::json!({"type": "FeatureCollection", "features": []})).is_err());
    }
}
