//! Walking distances along streets: the turf package's [`StreetNetwork`] as a graph, every door
//! snapped to its nearest street segment, and shortest paths between snapped points (Dijkstra).
//! Pedestrians ignore one-way rules. Going from one side of a street to the other side of the same
//! street costs a crossing ([`crossing_cost_m`]: a few metres for a quiet street, a detour for a
//! main road). A path that leaves the network's reach (streets that do not connect) costs three
//! times the straight line, so the route still covers it. Pure: no I/O.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use doorstep_protocol::StreetNetwork;

pub use crate::sources::{NetworkStats, network_from_geojson, network_from_geojson_within};

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
    /// Street names (lower case, spaces collapsed) to their index in `street_of`.
    names: std::collections::HashMap<String, usize>,
    crossing: Vec<f64>,
    adj: Vec<Vec<(usize, f64)>>,
    /// The same graph with chains of degree-2 nodes contracted: searches run between junctions.
    chains: Chains,
}

/// Degree-2 chains contracted: each edge lies on one chain between two junctions.
#[derive(Debug, Clone, Default)]
struct Chains {
    /// Per edge: its chain, the distance along the chain to the edge's `from` node, and whether the
    /// chain runs from → to.
    place: Vec<(usize, f64, bool)>,
    /// Per chain: its end junctions and length.
    ends: Vec<(usize, usize, f64)>,
    /// Junction adjacency (indexed by node id; empty for inner nodes).
    adj: Vec<Vec<(usize, f64)>>,
}

impl Chains {
    fn build(n: usize, edges: &[(usize, usize, f64)], adj_edges: &[Vec<usize>]) -> Self {
        let mut junction: Vec<bool> = adj_edges.iter().map(|es| es.len() != 2).collect();
        let mut place = vec![(usize::MAX, 0.0, true); edges.len()];
        let mut ends = Vec::new();
        let mut walk = |start: usize, first: usize, place: &mut Vec<(usize, f64, bool)>, junction: &[bool]| {
            let id = ends.len();
            let (mut at, mut e, mut offset) = (start, first, 0.0);
            loop {
                let (a, b, len) = edges[e];
                let forward = a == at;
                place[e] = (id, offset, forward);
                offset += len;
                at = if forward { b } else { a };
                if junction[at] {
                    break;
                }
                match adj_edges[at].iter().find(|&&x| place[x].0 == usize::MAX) {
                    Some(&next) => e = next,
                    None => break,
                }
            }
            ends.push((start, at, offset));
        };
        for u in 0..n {
            if !junction[u] {
                continue;
            }
            for &e in &adj_edges[u] {
                if place[e].0 == usize::MAX {
                    walk(u, e, &mut place, &junction);
                }
            }
        }
        // Pure cycles have no junction: make one of their nodes one.
        for e in 0..edges.len() {
            if place[e].0 == usize::MAX {
                let u = edges[e].0;
                junction[u] = true;
                walk(u, e, &mut place, &junction);
            }
        }
        let mut adj = vec![Vec::new(); n];
        for &(a, b, len) in &ends {
            if a != b {
                adj[a].push((b, len));
                adj[b].push((a, len));
            }
        }
        Self { place, ends, adj }
    }

    /// The junction adjacency with every dead-end branch that holds none of the `kept` chains
    /// removed (repeatedly: a junction left with one chain is a dead end too). Exact for searches
    /// between points on kept chains: a shortest path never enters a branch it must leave the same
    /// way.
    fn without_dead_ends(&self, kept: impl Iterator<Item = usize>) -> Vec<Vec<(usize, f64)>> {
        let mut keep_node = vec![false; self.adj.len()];
        for c in kept {
            let (a, b, _) = self.ends[c];
            keep_node[a] = true;
            keep_node[b] = true;
        }
        let mut degree: Vec<usize> = self.adj.iter().map(Vec::len).collect();
        let mut gone = vec![false; self.adj.len()];
        let mut queue: Vec<usize> = (0..self.adj.len()).filter(|&u| degree[u] == 1 && !keep_node[u]).collect();
        while let Some(u) = queue.pop() {
            if gone[u] {
                continue;
            }
            gone[u] = true;
            for &(v, _) in &self.adj[u] {
                if !gone[v] {
                    degree[v] -= 1;
                    if degree[v] == 1 && !keep_node[v] {
                        queue.push(v);
                    }
                }
            }
        }
        self.adj
            .iter()
            .enumerate()
            .map(|(u, es)| if gone[u] { Vec::new() } else { es.iter().copied().filter(|&(v, _)| !gone[v]).collect() })
            .collect()
    }

    /// Where a snapped point lies: its chain and distance from the chain's start.
    fn at(&self, s: &Snap, edge_len: f64) -> (usize, f64) {
        let (c, offset, forward) = self.place[s.edge];
        (c, offset + if forward { s.t } else { 1.0 - s.t } * edge_len)
    }
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
        let mut adj_edges: Vec<Vec<usize>> = vec![Vec::new(); xy.len()];
        let (mut street_of, mut crossing) = (Vec::new(), Vec::new());
        let mut names: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for e in &net.edges {
            let (a, b) = (e.from as usize, e.to as usize);
            if a >= xy.len() || b >= xy.len() || a == b {
                continue;
            }
            let straight = dist(xy[a], xy[b]);
            let len = if e.length_m.is_finite() && e.length_m >= straight * 0.5 { e.length_m } else { straight };
            adj_edges[a].push(edges.len());
            adj_edges[b].push(edges.len());
            edges.push((a, b, len));
            adj[a].push((b, len));
            adj[b].push((a, len));
            let next = names.len();
            street_of
                .push(e.name.as_ref().filter(|n| !n.is_empty()).map(|n| *names.entry(street_key(n)).or_insert(next)));
            crossing.push(crossing_cost_m(e.class.as_deref()));
        }
        if edges.is_empty() {
            return None;
        }
        let chains = Chains::build(xy.len(), &edges, &adj_edges);
        Some(Self { lat0, lon0, kx, xy, edges, street_of, names, crossing, adj, chains })
    }

    /// A point in the middle of the street named `name` (its edge nearest the centre of all its
    /// edges), as (lat, lon); `None` when no edge bears that name.
    pub fn street_point(&self, name: &str) -> Option<(f64, f64)> {
        let idx = *self.names.get(&street_key(name))?;
        let mids: Vec<(f64, f64)> = (0..self.edges.len())
            .filter(|&e| self.street_of[e] == Some(idx))
            .map(|e| {
                let (a, b, _) = self.edges[e];
                ((self.xy[a].0 + self.xy[b].0) / 2.0, (self.xy[a].1 + self.xy[b].1) / 2.0)
            })
            .collect();
        let n = mids.len() as f64;
        let c = (mids.iter().map(|m| m.0).sum::<f64>() / n, mids.iter().map(|m| m.1).sum::<f64>() / n);
        let m = mids.into_iter().min_by(|a, b| dist(*a, c).total_cmp(&dist(*b, c)))?;
        Some((self.lat0 + m.1 / M_PER_DEG_LAT, self.lon0 + m.0 / self.kx))
    }

    pub fn project(&self, lat: f64, lon: f64) -> (f64, f64) {
        ((lon - self.lon0) * self.kx, (lat - self.lat0) * M_PER_DEG_LAT)
    }

    /// The nearest point of the network to (lat, lon).
    pub fn snap(&self, lat: f64, lon: f64) -> Snap {
        let p = self.project(lat, lon);
        let mut best = Snap { edge: 0, t: 0.0, off: f64::INFINITY, side: 0, xy: p };
        for i in 0..self.edges.len() {
            self.try_edge(i, p, &mut best);
        }
        best
    }

    /// Keeps edge `i` in `best` if it is nearer to `p`.
    fn try_edge(&self, i: usize, p: (f64, f64), best: &mut Snap) {
        let (a, b, _) = self.edges[i];
        let (pa, pb) = (self.xy[a], self.xy[b]);
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        let l2 = dx * dx + dy * dy;
        let t = if l2 == 0.0 { 0.0 } else { (((p.0 - pa.0) * dx + (p.1 - pa.1) * dy) / l2).clamp(0.0, 1.0) };
        let q = (pa.0 + t * dx, pa.1 + t * dy);
        let d = dist(p, q);
        if d < best.off || (d == best.off && i < best.edge) {
            let cross = dx * (p.1 - pa.1) - dy * (p.0 - pa.0);
            *best = Snap { edge: i, t, off: d, side: if cross >= 0.0 { 1 } else { -1 }, xy: p };
        }
    }

    /// A grid index over the edges, for snapping many points at once (turf cutting: a campaign's
    /// every building) in about constant time each instead of a scan of every edge.
    pub fn snapper(&self) -> Snapper<'_> {
        Snapper::new(self)
    }

    /// How many blocks the network has: stretches of street between two junctions (chains of
    /// degree-2 nodes), the unit one side of which a turf never splits.
    pub fn blocks(&self) -> usize {
        self.chains.ends.len()
    }

    /// The block a snapped point lies on and its distance from the block's first junction.
    pub fn block_of(&self, s: &Snap) -> (usize, f64) {
        self.chains.at(s, self.edges[s.edge].2)
    }

    /// A block's two end junctions (node ids) and its length in metres.
    pub fn block_ends(&self, block: usize) -> (usize, usize, f64) {
        self.chains.ends[block]
    }

    /// Node count (junction ids returned by [`Self::block_ends`] are below it).
    pub fn node_count(&self) -> usize {
        self.xy.len()
    }

    /// A node's position in the graph's local metres.
    pub fn node_xy(&self, node: usize) -> (f64, f64) {
        self.xy[node]
    }

    /// Shortest walking distances from `from` to each of `to`, in metres (including the walk from
    /// each door to its street).
    pub fn distances(&self, from: &Snap, to: &[Snap]) -> Vec<f64> {
        let mut w = Workspace::new(self.xy.len());
        self.search(&mut w, from, to);
        to.iter().map(|s| self.finish(&w.best, from, s)).collect()
    }

    /// The symmetric matrix of walking distances between every pair of `snaps`, row-major (see
    /// [`Self::point_metric`]).
    pub fn matrix(&self, snaps: &[Snap]) -> Vec<f64> {
        let pm = self.point_metric(snaps);
        let k = snaps.len();
        let mut m = vec![0.0; k * k];
        for i in 0..k {
            for j in i + 1..k {
                let d = pm.d(i, j);
                m[i * k + j] = d;
                m[j * k + i] = d;
            }
        }
        m
    }

    /// Walking distances between `snaps`, each pair computed when asked in constant time:
    /// junction-to-junction distances from a contraction hierarchy over the junctions the points
    /// need, then each pair through its points' block ends. Holds junctions², not points²: what
    /// routes thousands of doors (many doors share a block).
    pub fn point_metric(&self, snaps: &[Snap]) -> PointMetric<'_> {
        // Each point lies on a chain between two junctions; many points share chains. Searches run
        // from the junctions at the ends of the points' chains, and a point-to-point distance is
        // the best of the four ways through its chain ends (or along a shared chain).
        let at: Vec<(usize, f64)> = snaps.iter().map(|s| self.chains.at(s, self.edges[s.edge].2)).collect();
        let mut junctions: Vec<usize> =
            at.iter().flat_map(|&(c, _)| [self.chains.ends[c].0, self.chains.ends[c].1]).collect();
        junctions.sort_unstable();
        junctions.dedup();
        let slot = |u: usize| junctions.binary_search(&u).expect("a chain end");
        let nj = junctions.len();
        // Dead ends that hold no point are never on a shortest path between points: peeled off.
        // What is left is renumbered densely (the points' junctions first) into one flat adjacency.
        let dense = Dense::new(&self.chains.without_dead_ends(at.iter().map(|&(c, _)| c)), &junctions);
        // Junction-to-junction distances: a contraction hierarchy over what is left, then each
        // searched junction's upward search meets every other's (many-to-many with buckets).
        let dj = crate::hierarchy::many_to_many(&dense.start, &dense.to, &dense.len, nj);
        // Per point: its chain, the slots of its two ends and the distances to them.
        let ends: Vec<(usize, usize, f64, usize, f64)> = at
            .iter()
            .map(|&(c, pos)| {
                let (a, b, len) = self.chains.ends[c];
                (c, slot(a), pos, slot(b), len - pos)
            })
            .collect();
        PointMetric { g: self, snaps: snaps.to_vec(), pos: at.iter().map(|a| a.1).collect(), ends, dj, nj }
    }

    /// Dijkstra on the full graph from `from` until the nodes the targets need are settled.
    fn search(&self, w: &mut Workspace, from: &Snap, to: &[Snap]) {
        let (a, b, len) = self.edges[from.edge];
        let needed = to.iter().flat_map(|s| {
            let (a, b, _) = self.edges[s.edge];
            [a, b]
        });
        dijkstra(w, &self.adj, [(a, from.t * len), (b, (1.0 - from.t) * len)], needed);
    }

    fn finish(&self, best: &[f64], from: &Snap, s: &Snap) -> f64 {
        let (a, b, len) = self.edges[s.edge];
        let mut along = (best[a] + s.t * len).min(best[b] + (1.0 - s.t) * len);
        if s.edge == from.edge {
            along = along.min((s.t - from.t).abs() * len);
        }
        self.total(along, from, s)
    }

    /// Door to street, along, street to door, and a crossing when changing side of one street.
    fn total(&self, along: f64, from: &Snap, s: &Snap) -> f64 {
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
            // Unreachable through the network (streets that do not connect): the route still
            // covers the door, at a cost that keeps it for last nearby.
            dist(from.xy, s.xy) * OFF_NETWORK_FACTOR
        }
    }
}

/// Walking distances between snapped points, computed pair by pair ([`StreetGraph::point_metric`]).
pub struct PointMetric<'g> {
    g: &'g StreetGraph,
    snaps: Vec<Snap>,
    pos: Vec<f64>,
    ends: Vec<(usize, usize, f64, usize, f64)>,
    dj: Vec<f64>,
    nj: usize,
}

impl PointMetric<'_> {
    /// How many points.
    pub fn len(&self) -> usize {
        self.snaps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.snaps.is_empty()
    }

    /// The walking distance from point `i` to point `j`, metres.
    pub fn d(&self, i: usize, j: usize) -> f64 {
        if i == j {
            return 0.0;
        }
        let (i, j) = (i.min(j), i.max(j));
        let nj = self.nj;
        let (ci, ai, da, bi, db) = self.ends[i];
        let (cj, aj, ea, bj, eb) = self.ends[j];
        let dj = &self.dj;
        let mut along = (da + dj[ai * nj + aj] + ea)
            .min(da + dj[ai * nj + bj] + eb)
            .min(db + dj[bi * nj + aj] + ea)
            .min(db + dj[bi * nj + bj] + eb);
        if ci == cj {
            along = along.min((self.pos[i] - self.pos[j]).abs());
        }
        self.g.total(along, &self.snaps[i], &self.snaps[j])
    }
}

/// A street name as compared: lower case, runs of spaces made one.
fn street_key(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A uniform grid over a [`StreetGraph`]'s edges: each query looks at rings of cells around the
/// point until no unseen cell can hold a nearer edge.
pub struct Snapper<'a> {
    g: &'a StreetGraph,
    cell: f64,
    x0: f64,
    y0: f64,
    nx: usize,
    ny: usize,
    /// Edge ids per cell, CSR.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl<'a> Snapper<'a> {
    const CELL_M: f64 = 100.0;

    fn new(g: &'a StreetGraph) -> Self {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in &g.xy {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let cell = Self::CELL_M;
        let nx = (((x1 - x0) / cell) as usize + 1).min(1 << 14);
        let ny = (((y1 - y0) / cell) as usize + 1).min(1 << 14);
        let cell_of = |x: f64, y: f64| {
            let cx = (((x - x0) / cell) as usize).min(nx - 1);
            let cy = (((y - y0) / cell) as usize).min(ny - 1);
            (cx, cy)
        };
        let mut counts = vec![0u32; nx * ny + 1];
        let each = |f: &mut dyn FnMut(usize, usize)| {
            for (i, &(a, b, _)) in g.edges.iter().enumerate() {
                let (pa, pb) = (g.xy[a], g.xy[b]);
                let (ax, ay) = cell_of(pa.0.min(pb.0), pa.1.min(pb.1));
                let (bx, by) = cell_of(pa.0.max(pb.0), pa.1.max(pb.1));
                for cy in ay..=by {
                    for cx in ax..=bx {
                        f(cy * nx + cx, i);
                    }
                }
            }
        };
        each(&mut |c, _| counts[c + 1] += 1);
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut items = vec![0u32; counts[nx * ny] as usize];
        let mut fill = counts.clone();
        each(&mut |c, e| {
            items[fill[c] as usize] = e as u32;
            fill[c] += 1;
        });
        Self { g, cell, x0, y0, nx, ny, start: counts, items }
    }

    /// The nearest point of the network to (lat, lon), as [`StreetGraph::snap`] finds it.
    pub fn snap(&self, lat: f64, lon: f64) -> Snap {
        let p = self.g.project(lat, lon);
        let cx = ((p.0 - self.x0) / self.cell).floor().clamp(0.0, (self.nx - 1) as f64) as i64;
        let cy = ((p.1 - self.y0) / self.cell).floor().clamp(0.0, (self.ny - 1) as f64) as i64;
        let mut best = Snap { edge: 0, t: 0.0, off: f64::INFINITY, side: 0, xy: p };
        let max_ring = self.nx.max(self.ny) as i64;
        for r in 0..=max_ring {
            for y in cy - r..=cy + r {
                if y < 0 || y >= self.ny as i64 {
                    continue;
                }
                let step = if y == cy - r || y == cy + r { 1 } else { (2 * r).max(1) };
                let mut x = cx - r;
                while x <= cx + r {
                    if x >= 0 && x < self.nx as i64 {
                        let c = y as usize * self.nx + x as usize;
                        for &e in &self.items[self.start[c] as usize..self.start[c + 1] as usize] {
                            self.g.try_edge(e as usize, p, &mut best);
                        }
                    }
                    x += step;
                }
            }
            // Cells beyond ring r lie at least r cells away from the point (a point outside the
            // grid is only farther from them).
            if best.off <= r as f64 * self.cell {
                break;
            }
        }
        best
    }
}

/// Shortest distances from two start nodes over `adj` into `w.best`, stopping once every `needed`
/// node is settled.
fn dijkstra(
    w: &mut Workspace,
    adj: &[Vec<(usize, f64)>],
    starts: [(usize, f64); 2],
    needed: impl Iterator<Item = usize>,
) {
    w.reset();
    for (node, d) in starts {
        w.relax(node, d);
    }
    let mut waiting = 0usize;
    for x in needed {
        if !w.needed[x] {
            w.needed[x] = true;
            w.touched_needed.push(x);
            waiting += 1;
        }
    }
    while let Some(Item(d, u)) = w.heap.pop() {
        if d > w.best[u] || w.settled[u] {
            continue;
        }
        w.settled[u] = true;
        if w.needed[u] {
            waiting -= 1;
            if waiting == 0 {
                break;
            }
        }
        for &(v, l) in &adj[u] {
            w.relax(v, d + l);
        }
    }
}

/// The junction graph left for a matrix, renumbered densely: the `first` searched junctions are
/// nodes `0..first` (in their given order), the rest follow; adjacency in one flat array.
struct Dense {
    start: Vec<u32>,
    to: Vec<u32>,
    len: Vec<f64>,
}

impl Dense {
    fn new(adj: &[Vec<(usize, f64)>], first: &[usize]) -> Self {
        let mut id = vec![u32::MAX; adj.len()];
        let mut order: Vec<usize> = Vec::with_capacity(adj.len());
        for &u in first {
            id[u] = order.len() as u32;
            order.push(u);
        }
        for (u, es) in adj.iter().enumerate() {
            if id[u] == u32::MAX && !es.is_empty() {
                id[u] = order.len() as u32;
                order.push(u);
            }
        }
        let mut start = Vec::with_capacity(order.len() + 1);
        let (mut to, mut len) = (Vec::new(), Vec::new());
        start.push(0);
        for &u in &order {
            for &(v, l) in &adj[u] {
                to.push(id[v]);
                len.push(l);
            }
            start.push(to.len() as u32);
        }
        Self { start, to, len }
    }
}

/// Buffers of one shortest-path search, reset by what was touched rather than reallocated.
struct Workspace {
    best: Vec<f64>,
    settled: Vec<bool>,
    needed: Vec<bool>,
    touched: Vec<usize>,
    touched_needed: Vec<usize>,
    heap: BinaryHeap<Item>,
}

impl Workspace {
    fn new(n: usize) -> Self {
        Self {
            best: vec![f64::INFINITY; n],
            settled: vec![false; n],
            needed: vec![false; n],
            touched: Vec::new(),
            touched_needed: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }
    fn reset(&mut self) {
        for &x in &self.touched {
            self.best[x] = f64::INFINITY;
            self.settled[x] = false;
        }
        for &x in &self.touched_needed {
            self.needed[x] = false;
        }
        self.touched.clear();
        self.touched_needed.clear();
        self.heap.clear();
    }
    fn relax(&mut self, node: usize, d: f64) {
        if d < self.best[node] {
            if self.best[node].is_infinite() {
                self.touched.push(node);
            }
            self.best[node] = d;
            self.heap.push(Item(d, node));
        }
    }
}

fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
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
    fn the_matrix_equals_one_search_per_point() {
        // On the ladder (every node a junction) and on a chain of degree-2 nodes with a loop.
        let mut net = ladder();
        let kx0 = M_PER_DEG_LAT * 47.2f64.to_radians().cos();
        for (x, y) in [(320.0, 0.0), (340.0, 10.0), (360.0, 0.0)] {
            net.nodes.push([-1.55 + x / kx0, 47.2 + y / M_PER_DEG_LAT]);
        }
        let e = |from, to, length_m| StreetEdge { from, to, length_m, name: None, class: None };
        net.edges.extend([e(1, 4, 20.0), e(4, 5, 22.4), e(5, 6, 22.4), e(6, 4, 40.0)]);
        let g = StreetGraph::new(&net).unwrap();
        let kx = M_PER_DEG_LAT * 47.2f64.to_radians().cos();
        let snaps: Vec<Snap> =
            [(0.0, 3.0), (150.0, 99.0), (290.0, -4.0), (40.0, 101.0), (300.0, 50.0), (345.0, 12.0), (355.0, -2.0)]
                .iter()
                .map(|&(x, y)| g.snap(47.2 + y / M_PER_DEG_LAT, -1.55 + x / kx))
                .collect();
        let m = g.matrix(&snaps);
        for (i, s) in snaps.iter().enumerate() {
            let row = g.distances(s, &snaps);
            for j in 0..snaps.len() {
                if i != j {
                    assert!(
                        (m[i * snaps.len() + j] - row[j]).abs() < 1e-6,
                        "{i}->{j}: {} vs {}",
                        m[i * snaps.len() + j],
                        row[j]
                    );
                }
            }
        }
    }

    /// On the real Nantes centre network: the contracted search gives the plain one's distances.
    #[test]
    fn the_matrix_equals_plain_searches_on_nantes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/nantes/fr_nantes_centre_streets.geojson");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let (net, _) = network_from_geojson(&v).unwrap();
        let g = StreetGraph::new(&net).unwrap();
        let snaps: Vec<Snap> = net.nodes.iter().step_by(173).map(|n| g.snap(n[1] + 0.00003, n[0] - 0.00002)).collect();
        assert!(snaps.len() > 30);
        let m = g.matrix(&snaps);
        for (i, s) in snaps.iter().enumerate() {
            let row = g.distances(s, &snaps);
            for j in 0..snaps.len() {
                if i != j {
                    let (a, b) = (m[i * snaps.len() + j], row[j]);
                    assert!((a - b).abs() < 1e-6 * b.max(1.0), "{i}->{j}: {a} vs {b}");
                }
            }
        }
    }

    /// The grid snapper finds what the full scan finds, for points on, beside and far outside the
    /// real Nantes network.
    #[test]
    fn the_grid_snapper_equals_the_full_scan_on_nantes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/nantes/fr_nantes_centre_streets.geojson");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let (net, _) = network_from_geojson(&v).unwrap();
        let g = StreetGraph::new(&net).unwrap();
        let grid = g.snapper();
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for i in 0..3000 {
            let n = net.nodes[(rnd() * net.nodes.len() as f64) as usize];
            // Mostly near the streets, some inside blocks, some kilometres away.
            let spread = [0.0003, 0.003, 0.05][i % 3];
            let (lat, lon) = (n[1] + (rnd() - 0.5) * spread, n[0] + (rnd() - 0.5) * spread);
            let (a, b) = (g.snap(lat, lon), grid.snap(lat, lon));
            assert_eq!((a.edge, a.side), (b.edge, b.side), "{lat},{lon}");
            assert!((a.off - b.off).abs() < 1e-9);
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
        assert_eq!((net.nodes.len(), net.edges.len(), skipped.not_lines), (4, 3, 1), "shared end point is one node");
        assert!((net.edges[0].length_m - 75.6).abs() < 1.0, "{}", net.edges[0].length_m);
        let c = clip(&net, &[(47.2, -1.5495)], 50.0);
        assert_eq!(c.edges.len(), 2, "both halves of Rue A touch the area; Rue B does not");
        assert!(network_from_geojson(&serde_json::json!({"type": "FeatureCollection", "features": []})).is_err());
    }
}
