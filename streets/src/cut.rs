//! Turf cutting along streets.
//!
//! 1. Units: every building is snapped to its street; the buildings of one side of one block
//!    (the stretch of street between two junctions) form one unit, which a turf never splits unless
//!    it alone holds more doors than a turf (then it is cut into consecutive pieces along the street).
//!    With polling-station boundaries on, a unit also never spans two stations. Without a street
//!    network, a unit is a run of one street's odd or even numbers with no gap over 80 m.
//! 2. Adjacency along streets: units on one block are neighbours (crossing the street); units meet
//!    at junctions, and junctions joined by a short stretch of street with no door (≤ 150 m) count as
//!    one place. Without a network, the nearest buildings of other units stand in for junctions.
//!    Pieces that connect to nothing else (an island of streets, a lone building) and hold under half
//!    a turf are joined to the nearest unit, and reported.
//! 3. Recursive bisection of each connected part into `round(doors / target)` turfs: a region grows
//!    from one end of the part's principal axis through neighbouring units, nearest along the axis
//!    first, until it holds its share; pockets of the rest that the region cut off join the region,
//!    so both halves stay connected.
//! 4. Balance: units on a turf's border move to a lighter neighbouring turf when that evens the two
//!    out and leaves the giving turf connected.
//!
//! Pure and deterministic: the same buildings, network and options give the same turfs.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::route::{Parity, house_number_key, parity};
use crate::streets::StreetGraph;
use serde::Serialize;

const M_PER_DEG_LAT: f64 = 111_132.0;
/// A building further than this from any street is reported (and still cut into a turf).
pub const FAR_FROM_STREET_M: f64 = 150.0;
/// Two junctions joined by a stretch of street with no door at most this long are one place.
const EMPTY_LINK_M: f64 = 150.0;
/// Without a network: a gap this long between consecutive numbers of one street side starts a new unit.
const RUN_GAP_M: f64 = 80.0;
/// Buildings from which a cut's neighbour search is shared between two cores.
const PARALLEL_FROM: usize = 50_000;
/// Without a network, a turf is connected when its buildings can be walked with no straight step
/// longer than this (the longest edge of their minimum spanning tree).
pub const WALK_GAP_M: f64 = 250.0;
const BALANCE_PASSES: usize = 40;
const COMPACT_PASSES: usize = 10;
/// Chains of moves for the turfs left outside ±10 %: rounds, turfs per chain, tries per turf on
/// each link, chains per turf and round.
const REPAIR_ROUNDS: usize = 4;
const REPAIR_DEPTH: usize = 5;
const REPAIR_BRANCH: usize = 4;
const REPAIR_STEPS: usize = 100;

/// Reports a step of a long cut and the fraction done (for a progress bar).
pub type Progress = Box<dyn FnMut(&str, f64) + Send>;

/// One building to cut, with its doors (an apartment block weighs all its flats).
#[derive(Debug, Clone)]
pub struct CutBuilding {
    pub lat: f64,
    pub lon: f64,
    pub doors: u32,
    pub street: String,
    pub house_number: String,
    pub station: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct CutOptions {
    /// Doors per turf.
    pub target: u32,
    /// Never put two polling stations in one turf.
    pub by_station: bool,
}

/// What came out, and what the coordinator should look at.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CutReport {
    pub buildings: usize,
    pub doors: u64,
    pub turfs: usize,
    pub target: u32,
    /// Largest |doors − target| / target over the turfs.
    pub max_deviation: f64,
    /// Turfs within ±10 % of the target.
    pub within_10pct: usize,
    /// Turfs whose units are not connected along streets (0 unless islands had to be joined).
    pub disconnected: usize,
    /// Buildings further than [`FAR_FROM_STREET_M`] from any street (indices into the input).
    pub far_from_street: Vec<usize>,
    /// Pieces of the campaign that connect to no other street, joined to the nearest one.
    pub islands_joined: usize,
    pub island_doors: u64,
    /// Block sides holding more doors than a turf, cut into pieces.
    pub long_sides_split: usize,
    /// Turfs below 90 % of the target because their polling station or island is too small.
    pub small_by_constraint: usize,
    /// Turfs in a part (an island, or a station when cut by station) that cannot be split evenly
    /// within ±10 % ([`constrained_turfs`]): the turfs balance is not asked of.
    pub constrained: usize,
    /// Turfs within ±10 % among the others.
    pub within_10pct_unconstrained: usize,
    /// Whether a street network was used (else: street names, numbers and proximity).
    pub street_network: bool,
    /// Without a network: the longest straight step inside any turf, in metres.
    pub max_gap_m: f64,
    /// Without a network: the turfs (indices into the plan's turfs) with a step longer than
    /// [`WALK_GAP_M`], and that step — each is also counted in `disconnected`.
    pub gaps: Vec<(usize, f64)>,
}

/// The units and their adjacency, kept for evaluating any assignment of the same buildings.
#[derive(Debug, Clone, Default)]
pub struct UnitGraph {
    /// Per building: its unit.
    pub unit_of: Vec<u32>,
    /// Per building: its block side (before long sides and stations split it), for counting split sides.
    pub side_of: Vec<u32>,
    /// Per unit: doors, centroid (local metres), station.
    pub w: Vec<u32>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub station: Vec<u32>,
    /// Adjacency, CSR.
    pub xadj: Vec<u32>,
    pub adj: Vec<u32>,
    /// Buildings per unit, CSR.
    pub mstart: Vec<u32>,
    pub members: Vec<u32>,
    /// Per building: its doors.
    pub bdoors: Vec<u32>,
    /// Per building: local metres.
    pub bx: Vec<f64>,
    pub by: Vec<f64>,
}

impl UnitGraph {
    pub fn len(&self) -> usize {
        self.w.len()
    }
    pub fn is_empty(&self) -> bool {
        self.w.is_empty()
    }
    pub fn neighbours(&self, u: usize) -> &[u32] {
        &self.adj[self.xadj[u] as usize..self.xadj[u + 1] as usize]
    }
    pub fn buildings(&self, u: usize) -> &[u32] {
        &self.members[self.mstart[u] as usize..self.mstart[u + 1] as usize]
    }
}

#[derive(Debug, Clone)]
pub struct CutPlan {
    /// Building indices per turf, turfs ordered north-west to south-east (by station first when
    /// cut by station).
    pub turfs: Vec<Vec<usize>>,
    pub report: CutReport,
    pub graph: UnitGraph,
}

/// Cuts `buildings` into turfs of about `opts.target` doors.
pub fn plan(buildings: &[CutBuilding], network: Option<&StreetGraph>, opts: CutOptions) -> CutPlan {
    plan_with_progress(buildings, network, opts, &mut |_, _| {})
}

/// [`plan`], calling `progress(step, fraction)` along the way (for the CLI's progress bar).
pub fn plan_with_progress(
    buildings: &[CutBuilding],
    network: Option<&StreetGraph>,
    opts: CutOptions,
    progress: &mut dyn FnMut(&str, f64),
) -> CutPlan {
    let target = opts.target.max(1);
    let mut report =
        CutReport { buildings: buildings.len(), target, street_network: network.is_some(), ..Default::default() };
    report.doors = buildings.iter().map(|b| u64::from(b.doors.max(1))).sum();
    if buildings.is_empty() {
        return CutPlan { turfs: Vec::new(), report, graph: UnitGraph::default() };
    }
    progress("unités", 0.0);
    let mut g = match network {
        Some(net) => units_on_streets(buildings, net, opts, &mut report),
        None => units_by_name(buildings, opts),
    };
    progress("contiguïté", 0.3);
    join_islands(&mut g, target, opts.by_station, &mut report);
    progress("découpage", 0.4);
    let (mut part, goals) = bisect_all(&g, target);
    progress("équilibrage", 0.8);
    balance(&g, &mut part, &goals, target);
    progress("bilan", 0.95);
    let turfs = order_turfs(&g, &part, goals.len());
    let assignment = assignment_of(&g, &turfs);
    let m = evaluate(&g, &assignment, target);
    report.turfs = turfs.len();
    report.max_deviation = m.max_deviation;
    report.within_10pct = m.within_10pct;
    report.disconnected = m.disconnected;
    let constrained = constrained_turfs(&g, &turfs, target);
    report.constrained = constrained.iter().filter(|&&c| c).count();
    report.within_10pct_unconstrained = m
        .doors
        .iter()
        .zip(&constrained)
        .filter(|(d, c)| !**c && (**d as f64 - f64::from(target)).abs() <= 0.1 * f64::from(target) + 1e-9)
        .count();
    if network.is_none() {
        // Without streets, "connected" is walkable: no step longer than WALK_GAP_M in a turf.
        for (t, bs) in turfs.iter().enumerate() {
            let pts: Vec<(f64, f64)> = bs.iter().map(|&b| (g.bx[b], g.by[b])).collect();
            let gap = longest_gap(&pts);
            report.max_gap_m = report.max_gap_m.max(gap);
            if gap > WALK_GAP_M {
                report.gaps.push((t, gap.round()));
            }
        }
        report.disconnected = report.gaps.len();
    }
    report.small_by_constraint =
        turfs.iter().zip(&m.doors).filter(|(_, d)| (**d as f64) < 0.9 * f64::from(target)).count();
    progress("bilan", 1.0);
    CutPlan { turfs, report, graph: g }
}

/// The longest edge of the minimum spanning tree of `points` (local metres): the longest straight
/// step needed to walk from any of them to any other (Prim, quadratic: a turf holds few buildings).
pub fn longest_gap(points: &[(f64, f64)]) -> f64 {
    let n = points.len();
    if n < 2 {
        return 0.0;
    }
    let mut best = vec![f64::INFINITY; n];
    let mut done = vec![false; n];
    let mut current = 0;
    done[0] = true;
    let mut longest: f64 = 0.0;
    for _ in 1..n {
        let (cx, cy) = points[current];
        let mut next = usize::MAX;
        let mut next_d = f64::INFINITY;
        for j in 0..n {
            if done[j] {
                continue;
            }
            let d = (points[j].0 - cx).powi(2) + (points[j].1 - cy).powi(2);
            if d < best[j] {
                best[j] = d;
            }
            if best[j] < next_d {
                next_d = best[j];
                next = j;
            }
        }
        done[next] = true;
        longest = longest.max(next_d);
        current = next;
    }
    longest.sqrt()
}

/// Per turf: whether its connected part of the unit graph (islands joined; one station's when
/// cut by station) cannot be split evenly within ±10 % of the target — an island or a station
/// too small or of an awkward size, whose turfs no cut can balance.
pub fn constrained_turfs(g: &UnitGraph, turfs: &[Vec<usize>], target: u32) -> Vec<bool> {
    let (comp, n) = components(g);
    let mut w = vec![0u64; n];
    for u in 0..g.len() {
        w[comp[u] as usize] += u64::from(g.w[u]);
    }
    let mut k = vec![0usize; n];
    let part_of: Vec<usize> =
        turfs.iter().map(|bs| bs.first().map_or(0, |&b| comp[g.unit_of[b] as usize] as usize)).collect();
    for &c in &part_of {
        k[c] += 1;
    }
    let t = f64::from(target.max(1));
    part_of
        .iter()
        .map(|&c| {
            let kc = k[c].max(1) as f64;
            // The best even split of the part: its turf count, one more or one fewer.
            [kc - 1.0, kc, kc + 1.0].iter().filter(|&&x| x >= 1.0).all(|&x| (w[c] as f64 / x - t).abs() > 0.1 * t)
        })
        .collect()
}

/// Per building, the index of its turf in `turfs`.
pub fn assignment_of(g: &UnitGraph, turfs: &[Vec<usize>]) -> Vec<u32> {
    let mut a = vec![u32::MAX; g.unit_of.len()];
    for (t, bs) in turfs.iter().enumerate() {
        for &b in bs {
            a[b] = t as u32;
        }
    }
    a
}

/// How good a cut is, by the measures the benchmark compares.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    pub turfs: usize,
    pub doors: Vec<u64>,
    pub max_deviation: f64,
    pub mean_abs_deviation: f64,
    pub within_10pct: usize,
    /// Turfs whose buildings are not connected along streets.
    pub disconnected: usize,
    /// Block sides (holding at most a turf's doors) whose buildings went to more than one turf.
    pub sides_split: usize,
}

/// Measures any assignment (building → turf) of the graph's buildings.
pub fn evaluate(g: &UnitGraph, assignment: &[u32], target: u32) -> Metrics {
    let turfs = assignment.iter().filter(|&&t| t != u32::MAX).map(|&t| t as usize + 1).max().unwrap_or(0);
    let mut doors = vec![0u64; turfs];
    let bdoors: Vec<u64> = g.bdoors.iter().map(|&d| u64::from(d)).collect();
    for (b, &t) in assignment.iter().enumerate() {
        if t != u32::MAX {
            doors[t as usize] += bdoors[b];
        }
    }
    let tf = f64::from(target.max(1));
    let devs: Vec<f64> = doors.iter().map(|&d| (d as f64 - tf).abs() / tf).collect();
    let max_deviation = devs.iter().copied().fold(0.0, f64::max);
    let mean_abs_deviation = if devs.is_empty() { 0.0 } else { devs.iter().sum::<f64>() / devs.len() as f64 };
    let within_10pct = devs.iter().filter(|&&d| d <= 0.1 + 1e-9).count();
    // Connectivity: the units a turf touches, linked by the unit graph.
    let mut by_turf: Vec<Vec<u32>> = vec![Vec::new(); turfs];
    let mut seen_unit_turf: HashMap<(u32, u32), ()> = HashMap::new();
    for (b, &t) in assignment.iter().enumerate() {
        if t != u32::MAX && seen_unit_turf.insert((g.unit_of[b], t), ()).is_none() {
            by_turf[t as usize].push(g.unit_of[b]);
        }
    }
    let mut stamp = vec![u32::MAX; g.len()];
    let mut disconnected = 0;
    let mut stack = Vec::new();
    for (t, units) in by_turf.iter().enumerate() {
        if units.is_empty() {
            continue;
        }
        for &u in units {
            stamp[u as usize] = t as u32;
        }
        let mut reached = 1usize;
        let visit = u32::MAX - 1;
        stamp[units[0] as usize] = visit;
        stack.push(units[0]);
        while let Some(u) = stack.pop() {
            for &v in g.neighbours(u as usize) {
                if stamp[v as usize] == t as u32 {
                    stamp[v as usize] = visit;
                    reached += 1;
                    stack.push(v);
                }
            }
        }
        if reached < units.len() {
            disconnected += 1;
        }
        for &u in units {
            stamp[u as usize] = u32::MAX;
        }
    }
    // Block sides split between turfs.
    let mut side_turf: HashMap<u32, (u32, bool, u64)> = HashMap::new();
    for (b, &t) in assignment.iter().enumerate() {
        let e = side_turf.entry(g.side_of[b]).or_insert((t, false, 0));
        e.2 += bdoors[b];
        if e.0 != t {
            e.1 = true;
        }
    }
    let sides_split = side_turf.values().filter(|(_, split, d)| *split && *d <= u64::from(target)).count();
    Metrics { turfs, doors, max_deviation, mean_abs_deviation, within_10pct, disconnected, sides_split }
}

// ----- units -------------------------------------------------------------------------------------

struct Projection {
    lat0: f64,
    lon0: f64,
    kx: f64,
}

impl Projection {
    fn of(buildings: &[CutBuilding]) -> Self {
        let n = buildings.len() as f64;
        let lat0 = buildings.iter().map(|b| b.lat).sum::<f64>() / n;
        let lon0 = buildings.iter().map(|b| b.lon).sum::<f64>() / n;
        Self { lat0, lon0, kx: M_PER_DEG_LAT * lat0.to_radians().cos() }
    }
    fn xy(&self, b: &CutBuilding) -> (f64, f64) {
        ((b.lon - self.lon0) * self.kx, (b.lat - self.lat0) * M_PER_DEG_LAT)
    }
}

/// Station ids: one number per distinct station (`u32::MAX` for none).
fn stations(buildings: &[CutBuilding]) -> Vec<u32> {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    buildings
        .iter()
        .map(|b| match &b.station {
            Some(s) => {
                let next = ids.len() as u32;
                *ids.entry(s.as_str()).or_insert(next)
            }
            None => u32::MAX,
        })
        .collect()
}

/// Groups of building indices (each sorted along its street) → units, long ones cut in pieces.
/// Returns per unit its buildings, and per group the range of units it became.
fn units_from_groups(
    groups: &[Vec<u32>],
    buildings: &[CutBuilding],
    target: u32,
    report: &mut CutReport,
) -> (Vec<Vec<u32>>, Vec<std::ops::Range<usize>>) {
    let mut units = Vec::new();
    let mut ranges = Vec::with_capacity(groups.len());
    for grp in groups {
        let start = units.len();
        let w: u64 = grp.iter().map(|&b| u64::from(buildings[b as usize].doors.max(1))).sum();
        if w <= u64::from(target) || grp.len() == 1 {
            units.push(grp.clone());
        } else {
            report.long_sides_split += 1;
            let pieces = w.div_ceil(u64::from(target));
            let (mut acc, mut cur) = (0u64, Vec::new());
            let mut done = 0u64;
            for &b in grp {
                let d = u64::from(buildings[b as usize].doors.max(1));
                // Close the piece when this building would carry it past its share.
                let share = (done + 1) * w / pieces;
                if !cur.is_empty() && acc + d > share && (acc + d - share) > (share - acc.min(share)) {
                    units.push(std::mem::take(&mut cur));
                    done += 1;
                }
                cur.push(b);
                acc += d;
            }
            if !cur.is_empty() {
                units.push(cur);
            }
        }
        ranges.push(start..units.len());
    }
    (units, ranges)
}

fn finish_graph(
    buildings: &[CutBuilding],
    proj: &Projection,
    units: Vec<Vec<u32>>,
    side_of: Vec<u32>,
    station_of: &[u32],
    mut edges: Vec<(u32, u32)>,
    by_station: bool,
) -> UnitGraph {
    let n = units.len();
    let mut g = UnitGraph {
        unit_of: vec![0; buildings.len()],
        side_of,
        w: vec![0; n],
        x: vec![0.0; n],
        y: vec![0.0; n],
        station: vec![u32::MAX; n],
        bx: Vec::with_capacity(buildings.len()),
        by: Vec::with_capacity(buildings.len()),
        ..Default::default()
    };
    g.bdoors = buildings.iter().map(|b| b.doors.max(1)).collect();
    for b in buildings {
        let (x, y) = proj.xy(b);
        g.bx.push(x);
        g.by.push(y);
    }
    g.mstart.push(0);
    for (u, bs) in units.iter().enumerate() {
        let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0u64);
        for &b in bs {
            let d = buildings[b as usize].doors.max(1);
            g.unit_of[b as usize] = u as u32;
            sx += g.bx[b as usize] * f64::from(d);
            sy += g.by[b as usize] * f64::from(d);
            sw += u64::from(d);
            g.members.push(b);
        }
        g.mstart.push(g.members.len() as u32);
        g.w[u] = sw.min(u64::from(u32::MAX)) as u32;
        g.x[u] = sx / sw.max(1) as f64;
        g.y[u] = sy / sw.max(1) as f64;
        g.station[u] = bs.first().map_or(u32::MAX, |&b| station_of[b as usize]);
    }
    if by_station {
        edges.retain(|&(a, b)| g.station[a as usize] == g.station[b as usize]);
    }
    set_adjacency(&mut g, edges);
    g
}

fn set_adjacency(g: &mut UnitGraph, mut edges: Vec<(u32, u32)>) {
    edges.retain(|&(a, b)| a != b);
    let mut both: Vec<(u32, u32)> = edges.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
    both.sort_unstable();
    both.dedup();
    let n = g.w.len();
    g.xadj = vec![0; n + 1];
    for &(a, _) in &both {
        g.xadj[a as usize + 1] += 1;
    }
    for i in 0..n {
        g.xadj[i + 1] += g.xadj[i];
    }
    g.adj = both.into_iter().map(|(_, b)| b).collect();
}

fn units_on_streets(
    buildings: &[CutBuilding],
    net: &StreetGraph,
    opts: CutOptions,
    report: &mut CutReport,
) -> UnitGraph {
    let proj = Projection::of(buildings);
    let station_of = stations(buildings);
    let snapper = net.snapper();
    // Per building: block, side, offset along the block.
    let mut placed: Vec<(u32, u8, u32, f64, u32)> = Vec::with_capacity(buildings.len());
    for (i, b) in buildings.iter().enumerate() {
        let s = snapper.snap(b.lat, b.lon);
        if s.off > FAR_FROM_STREET_M {
            report.far_from_street.push(i);
        }
        let (block, offset) = net.block_of(&s);
        let station = if opts.by_station { station_of[i] } else { 0 };
        placed.push((block as u32, u8::from(s.side > 0), station, offset, i as u32));
    }
    placed.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)).then(a.3.total_cmp(&b.3)).then(a.4.cmp(&b.4)));
    let mut side_of = vec![0u32; buildings.len()];
    let mut offset_of = vec![0f64; buildings.len()];
    for p in &placed {
        side_of[p.4 as usize] = p.0 * 2 + u32::from(p.1);
        offset_of[p.4 as usize] = p.3;
    }
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut group_key: Vec<(u32, u8)> = Vec::new();
    for (i, p) in placed.iter().enumerate() {
        if i == 0 || (p.0, p.1, p.2) != (placed[i - 1].0, placed[i - 1].1, placed[i - 1].2) {
            groups.push(Vec::new());
            group_key.push((p.0, p.1));
        }
        groups.last_mut().expect("pushed").push(p.4);
    }
    let (units, ranges) = units_from_groups(&groups, buildings, opts.target, report);

    // Units per block, in order along it; which blocks hold doors.
    let mut on_block: HashMap<u32, Vec<(usize, f64, u8)>> = HashMap::new();
    for (gi, r) in ranges.iter().enumerate() {
        let (block, side) = group_key[gi];
        for u in r.clone() {
            let first = offset_of[units[u][0] as usize];
            on_block.entry(block).or_default().push((u, first, side));
        }
    }
    // Junction places: junctions joined by short stretches with no door.
    let mut uf = UnionFind::new(net.node_count());
    for b in 0..net.blocks() {
        let (j1, j2, len) = net.block_ends(b);
        if len <= EMPTY_LINK_M && !on_block.contains_key(&(b as u32)) {
            uf.union(j1, j2);
        }
    }
    let mut edges = Vec::new();
    let mut at_place: HashMap<usize, Vec<u32>> = HashMap::new();
    let mut blocks: Vec<_> = on_block.into_iter().collect();
    blocks.sort_unstable_by_key(|(b, _)| *b);
    for (block, mut us) in blocks {
        us.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        // Along the block: every unit with the next two (both sides: crossing the street).
        for i in 0..us.len() {
            for j in i + 1..(i + 3).min(us.len()) {
                edges.push((us[i].0 as u32, us[j].0 as u32));
            }
        }
        let (j1, j2, _) = net.block_ends(block as usize);
        for side in 0..2u8 {
            let of_side: Vec<usize> = us.iter().filter(|u| u.2 == side).map(|u| u.0).collect();
            if let (Some(&first), Some(&last)) = (of_side.first(), of_side.last()) {
                at_place.entry(uf.find(j1)).or_default().push(first as u32);
                at_place.entry(uf.find(j2)).or_default().push(last as u32);
            }
        }
    }
    let mut places: Vec<_> = at_place.into_values().collect();
    places.sort_unstable();
    let centroid = |u: u32| {
        let bs = &units[u as usize];
        let (mut x, mut y) = (0.0, 0.0);
        for &b in bs {
            let p = proj.xy(&buildings[b as usize]);
            x += p.0;
            y += p.1;
        }
        (x / bs.len() as f64, y / bs.len() as f64)
    };
    for mut p in places {
        p.sort_unstable();
        p.dedup();
        link_place(&p, &centroid, &mut edges);
    }
    finish_graph(buildings, &proj, units, side_of, &station_of, edges, opts.by_station)
}

/// Units meeting at one place: all together when few, else each with its six nearest.
fn link_place(p: &[u32], centroid: &dyn Fn(u32) -> (f64, f64), edges: &mut Vec<(u32, u32)>) {
    if p.len() <= 12 {
        for i in 0..p.len() {
            for j in i + 1..p.len() {
                edges.push((p[i], p[j]));
            }
        }
        return;
    }
    let cs: Vec<(f64, f64)> = p.iter().map(|&u| centroid(u)).collect();
    for i in 0..p.len() {
        let mut d: Vec<(f64, usize)> = (0..p.len())
            .filter(|&j| j != i)
            .map(|j| ((cs[i].0 - cs[j].0).powi(2) + (cs[i].1 - cs[j].1).powi(2), j))
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(_, j) in d.iter().take(6) {
            edges.push((p[i], p[j]));
        }
    }
}

fn units_by_name(buildings: &[CutBuilding], opts: CutOptions) -> UnitGraph {
    let proj = Projection::of(buildings);
    let station_of = stations(buildings);
    let xy: Vec<(f64, f64)> = buildings.iter().map(|b| proj.xy(b)).collect();
    // (street, side, station, number, building)
    type Keyed = (String, u8, u32, (Option<u32>, String), u32);
    let mut keyed: Vec<Keyed> = buildings
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let side = match parity(&b.house_number) {
                Parity::Odd => 1,
                Parity::Even => 2,
                Parity::Unknown => 0,
            };
            let station = if opts.by_station { station_of[i] } else { 0 };
            (b.street.trim().to_lowercase(), side, station, house_number_key(&b.house_number), i as u32)
        })
        .collect();
    // Keys end with the building's index: unique, so an unstable sort gives the one order.
    keyed.sort_unstable();
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut side_of = vec![0u32; buildings.len()];
    let mut sides = 0u32;
    for (i, k) in keyed.iter().enumerate() {
        let same = i > 0 && {
            let p = &keyed[i - 1];
            (&p.0, p.1, p.2) == (&k.0, k.1, k.2) && {
                let (a, b) = (xy[p.4 as usize], xy[k.4 as usize]);
                ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() <= RUN_GAP_M
            }
        };
        if !same {
            groups.push(Vec::new());
            sides += 1;
        }
        side_of[k.4 as usize] = sides - 1;
        groups.last_mut().expect("pushed").push(k.4);
    }
    // Without a network nothing says where a block ends: a run is cut into pieces of at most an
    // eighth of a turf, which keeps neighbours together and leaves the balance room to work
    // (a quarter left 4–5 % of Toulouse's and Grand Lyon's turfs outside ±10 %); by station, a
    // quarter (bureaux are small: finer pieces gave fewer balanced turfs than an even split).
    let mut quiet = CutReport::default();
    let piece = if opts.by_station { opts.target / 4 } else { opts.target / 8 };
    let (units, ranges) = units_from_groups(&groups, buildings, piece.max(1), &mut quiet);
    let mut unit_of = vec![0u32; buildings.len()];
    for (u, bs) in units.iter().enumerate() {
        for &b in bs {
            unit_of[b as usize] = u as u32;
        }
    }
    let mut edges = Vec::new();
    for r in &ranges {
        for u in r.start + 1..r.end {
            edges.push(((u - 1) as u32, u as u32));
        }
    }
    // Each building with its four nearest buildings of other units, within 250 m.
    // Cell by cell, so that one cell's queries read the same neighbouring cells; the cells shared
    // between two cores on a large cut (the edges are sorted afterwards: same graph either way).
    let grid = Grid::new(&xy, 60.0);
    let cells: Vec<&Vec<(f64, f64, u32)>> = grid.cells.values().collect();
    let near = |cells: &[&Vec<(f64, f64, u32)>]| {
        let mut out = Vec::new();
        for cell in cells {
            for &(x, y, i) in cell.iter() {
                let i = i as usize;
                let start = out.len();
                for j in grid.nearest((x, y), 4, 250.0, |j| unit_of[j] != unit_of[i]) {
                    let e = (unit_of[i], unit_of[j]);
                    if !out[start..].contains(&e) {
                        out.push(e);
                    }
                }
            }
        }
        out
    };
    if buildings.len() >= PARALLEL_FROM {
        let (a, b) = cells.split_at(cells.len() / 2);
        let (ea, eb) = std::thread::scope(|sc| {
            let h = sc.spawn(|| near(b));
            (near(a), h.join().expect("a neighbour worker"))
        });
        edges.extend(ea);
        edges.extend(eb);
    } else {
        edges.extend(near(&cells));
    }
    finish_graph(buildings, &proj, units, side_of, &station_of, edges, opts.by_station)
}

// ----- islands -----------------------------------------------------------------------------------

/// Connected parts of the unit graph, as a part id per unit.
fn components(g: &UnitGraph) -> (Vec<u32>, usize) {
    let mut comp = vec![u32::MAX; g.len()];
    let mut n = 0u32;
    let mut stack = Vec::new();
    for s in 0..g.len() {
        if comp[s] != u32::MAX {
            continue;
        }
        comp[s] = n;
        stack.push(s as u32);
        while let Some(u) = stack.pop() {
            for &v in g.neighbours(u as usize) {
                if comp[v as usize] == u32::MAX {
                    comp[v as usize] = n;
                    stack.push(v);
                }
            }
        }
        n += 1;
    }
    (comp, n as usize)
}

/// Parts holding under half a turf are linked to the nearest unit of another part (of the same
/// station when cutting by station): a lone building or a dead-end street becomes part of the
/// turf next to it instead of a turf of its own.
fn join_islands(g: &mut UnitGraph, target: u32, by_station: bool, report: &mut CutReport) {
    let (comp, n) = components(g);
    if n <= 1 {
        return;
    }
    let mut weight = vec![0u64; n];
    let mut of_comp: Vec<Vec<u32>> = vec![Vec::new(); n];
    for u in 0..g.len() {
        weight[comp[u] as usize] += u64::from(g.w[u]);
        of_comp[comp[u] as usize].push(u as u32);
    }
    let xy: Vec<(f64, f64)> = (0..g.len()).map(|u| (g.x[u], g.y[u])).collect();
    let grid = Grid::new(&xy, 200.0);
    let mut uf = UnionFind::new(n);
    let mut merged_w = weight.clone();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&c| (weight[c], c));
    let mut extra = Vec::new();
    for c in order {
        let root = uf.find(c);
        if merged_w[root] * 2 >= u64::from(target) {
            continue;
        }
        // The nearest unit outside this (merged) part, from any of its units.
        let mut best: Option<(f64, u32, u32)> = None;
        for &u in &of_comp[c] {
            let p = xy[u as usize];
            let st = g.station[u as usize];
            for v in grid.nearest(p, 1, f64::INFINITY, |v| {
                uf.find_const(comp[v] as usize) != root && (!by_station || g.station[v] == st)
            }) {
                let d = (xy[v].0 - p.0).powi(2) + (xy[v].1 - p.1).powi(2);
                if best.is_none_or(|b| d < b.0) {
                    best = Some((d, u, v as u32));
                }
            }
        }
        if let Some((_, u, v)) = best {
            report.islands_joined += 1;
            report.island_doors += weight[c];
            extra.push((u, v));
            let other = uf.find(comp[v as usize] as usize);
            let total = merged_w[root] + merged_w[other];
            uf.union(root, other);
            let r = uf.find(root);
            merged_w[r] = total;
        }
    }
    if !extra.is_empty() {
        let mut edges: Vec<(u32, u32)> = Vec::with_capacity(g.adj.len() / 2 + extra.len());
        for u in 0..g.len() {
            for &v in g.neighbours(u) {
                if (u as u32) < v {
                    edges.push((u as u32, v));
                }
            }
        }
        edges.extend(extra);
        set_adjacency(g, edges);
    }
}

// ----- bisection ---------------------------------------------------------------------------------

/// Cuts every connected part; returns the turf of each unit and each turf's goal in doors.
fn bisect_all(g: &UnitGraph, target: u32) -> (Vec<u32>, Vec<f64>) {
    let (comp, n) = components(g);
    let mut of_comp: Vec<Vec<u32>> = vec![Vec::new(); n];
    for u in 0..g.len() {
        of_comp[comp[u] as usize].push(u as u32);
    }
    let mut part = vec![u32::MAX; g.len()];
    let mut goals = Vec::new();
    let mut s = Scratch::new(g.len());
    for members in of_comp {
        let w: u64 = members.iter().map(|&u| u64::from(g.w[u as usize])).sum();
        let k = ((w as f64 / f64::from(target)).round() as usize).max(1);
        let mut stack = vec![(members, k)];
        while let Some((m, k)) = stack.pop() {
            if k <= 1 || m.len() <= 1 {
                let id = goals.len() as u32;
                let w: u64 = m.iter().map(|&u| u64::from(g.w[u as usize])).sum();
                goals.push(w as f64);
                for u in m {
                    part[u as usize] = id;
                }
                continue;
            }
            let (a, ka, b, kb) = bisect(g, &m, k, &mut s);
            stack.push((b, kb));
            stack.push((a, ka));
        }
    }
    // Each turf aims at its part's mean: recompute goals per connected part.
    let mut part_w: HashMap<u32, (u64, u32)> = HashMap::new();
    for (c, w) in comp.iter().zip(&g.w) {
        part_w.entry(*c).or_default().0 += u64::from(*w);
    }
    let mut turfs_of: HashMap<u32, Vec<u32>> = HashMap::new();
    for (c, p) in comp.iter().zip(part.iter()) {
        turfs_of.entry(*c).or_default().push(*p);
    }
    for (c, mut ts) in turfs_of {
        ts.sort_unstable();
        ts.dedup();
        let mean = part_w[&c].0 as f64 / ts.len() as f64;
        for t in ts {
            goals[t as usize] = mean;
        }
    }
    (part, goals)
}

struct Scratch {
    mark: Vec<u32>,
    region: Vec<u32>,
    stamp: u32,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Self { mark: vec![0; n], region: vec![0; n], stamp: 0 }
    }
}

/// Splits connected `m` (to become `k` turfs) into two connected halves and their turf counts.
fn bisect(g: &UnitGraph, m: &[u32], k: usize, s: &mut Scratch) -> (Vec<u32>, usize, Vec<u32>, usize) {
    s.stamp += 1;
    let stamp = s.stamp;
    let (mut sw, mut mx, mut my) = (0.0, 0.0, 0.0);
    let mut total = 0u64;
    for &u in m {
        s.mark[u as usize] = stamp;
        let w = f64::from(g.w[u as usize].max(1));
        sw += w;
        mx += w * g.x[u as usize];
        my += w * g.y[u as usize];
        total += u64::from(g.w[u as usize]);
    }
    mx /= sw;
    my /= sw;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for &u in m {
        let w = f64::from(g.w[u as usize].max(1));
        let (dx, dy) = (g.x[u as usize] - mx, g.y[u as usize] - my);
        sxx += w * dx * dx;
        syy += w * dy * dy;
        sxy += w * dx * dy;
    }
    let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (c, sn) = (angle.cos(), angle.sin());
    let proj = |u: u32| (g.x[u as usize] - mx) * c + (g.y[u as usize] - my) * sn;
    let key = |u: u32| Reverse(((proj(u) * 16.0) as i64, u));
    let seed = *m.iter().min_by(|&&a, &&b| proj(a).total_cmp(&proj(b)).then(a.cmp(&b))).expect("not empty");
    let k1 = k / 2;
    let goal = total as f64 * k1 as f64 / k as f64;
    // Grow the region from the seed, nearest along the axis first.
    let mut heap = BinaryHeap::new();
    let queued = stamp; // s.region == stamp: queued or in; separate "in" by a second stamp below.
    s.stamp += 1;
    let inside = s.stamp;
    s.region[seed as usize] = queued;
    heap.push(key(seed));
    let mut acc = 0.0;
    let mut region = Vec::new();
    while let Some(Reverse((_, u))) = heap.pop() {
        let w = f64::from(g.w[u as usize]);
        if !region.is_empty() && acc + w > goal && (acc + w - goal) > (goal - acc) {
            break;
        }
        s.region[u as usize] = inside;
        region.push(u);
        acc += w;
        if acc >= goal {
            break;
        }
        for &v in g.neighbours(u as usize) {
            if s.mark[v as usize] == stamp && s.region[v as usize] != queued && s.region[v as usize] != inside {
                s.region[v as usize] = queued;
                heap.push(key(v));
            }
        }
    }
    // The rest: keep its heaviest connected piece, give the pockets to the region.
    s.stamp += 1;
    let seen = s.stamp;
    let mut pieces: Vec<(u64, Vec<u32>)> = Vec::new();
    let mut stack = Vec::new();
    for &u in m {
        let r = s.region[u as usize];
        if r == inside || r == seen {
            continue;
        }
        s.region[u as usize] = seen;
        stack.push(u);
        let mut piece = Vec::new();
        let mut w = 0u64;
        while let Some(x) = stack.pop() {
            piece.push(x);
            w += u64::from(g.w[x as usize]);
            for &v in g.neighbours(x as usize) {
                let r = s.region[v as usize];
                if s.mark[v as usize] == stamp && r != inside && r != seen {
                    s.region[v as usize] = seen;
                    stack.push(v);
                }
            }
        }
        pieces.push((w, piece));
    }
    let heaviest = (0..pieces.len()).max_by_key(|&i| (pieces[i].0, Reverse(i)));
    let mut rest = Vec::new();
    for (i, (w, piece)) in pieces.into_iter().enumerate() {
        if Some(i) == heaviest {
            rest = piece;
        } else {
            acc += w as f64;
            region.extend(piece);
        }
    }
    if rest.is_empty() {
        // Nothing left (one heavy unit): split the members arbitrarily in two, keeping counts.
        let mut all = region;
        let b = all.split_off(all.len() / 2);
        return (all, k1.max(1), b, (k - k1).max(1));
    }
    let mean = total as f64 / k as f64;
    let ka = ((acc / mean).round() as usize).clamp(1, k - 1);
    (region, ka, rest, k - ka)
}

// ----- balance and compactness --------------------------------------------------------------------

/// Turfs being refined: members, doors and door-weighted centroids, kept as units move.
struct Turfs<'a> {
    g: &'a UnitGraph,
    part: &'a mut [u32],
    goals: &'a [f64],
    /// The window the report counts as balanced: target ± 10 %.
    lo: f64,
    hi: f64,
    load: Vec<f64>,
    sx: Vec<f64>,
    sy: Vec<f64>,
    sw: Vec<f64>,
    members: Vec<Vec<u32>>,
    pos: Vec<u32>,
    mark: Vec<u32>,
    stamp: u32,
    stack: Vec<u32>,
}

impl<'a> Turfs<'a> {
    fn new(g: &'a UnitGraph, part: &'a mut [u32], goals: &'a [f64], target: u32) -> Self {
        let t = goals.len();
        let tf = f64::from(target.max(1));
        let mut s = Self {
            g,
            goals,
            lo: 0.9 * tf - 1e-9,
            hi: 1.1 * tf + 1e-9,
            load: vec![0.0; t],
            sx: vec![0.0; t],
            sy: vec![0.0; t],
            sw: vec![0.0; t],
            members: vec![Vec::new(); t],
            pos: vec![0; g.len()],
            mark: vec![0; g.len()],
            stamp: 0,
            stack: Vec::new(),
            part,
        };
        for u in 0..g.len() {
            let p = s.part[u] as usize;
            s.pos[u] = s.members[p].len() as u32;
            s.members[p].push(u as u32);
            s.add(u, p, 1.0);
        }
        s
    }

    fn add(&mut self, u: usize, t: usize, sign: f64) {
        let w = f64::from(self.g.w[u]);
        let cw = f64::from(self.g.w[u].max(1));
        self.load[t] += sign * w;
        self.sx[t] += sign * cw * self.g.x[u];
        self.sy[t] += sign * cw * self.g.y[u];
        self.sw[t] += sign * cw;
    }

    fn dev(&self, t: usize, w: f64) -> f64 {
        (self.load[t] + w - self.goals[t]).abs() / self.goals[t].max(1.0)
    }

    /// How far turf `t`, given `w` more doors, would stand outside the balanced window (0 inside).
    fn viol(&self, t: usize, w: f64) -> f64 {
        let l = self.load[t] + w;
        (l - self.hi).max(self.lo - l).max(0.0)
    }

    /// Squared distance from unit `u` to turf `t`'s centroid.
    fn d2(&self, u: usize, t: usize) -> f64 {
        let (cx, cy) = (self.sx[t] / self.sw[t].max(1e-9), self.sy[t] / self.sw[t].max(1e-9));
        (self.g.x[u] - cx).powi(2) + (self.g.y[u] - cy).powi(2)
    }

    /// Whether turf `a` stays connected once `u` leaves it (nothing hangs on `u` alone).
    fn connected_without(&mut self, a: usize, u: usize) -> bool {
        self.group_leaving(a, u).0.len() == 1
    }

    fn move_unit(&mut self, u: usize, b: usize) {
        let a = self.part[u] as usize;
        let i = self.pos[u] as usize;
        self.members[a].swap_remove(i);
        if let Some(&moved_in) = self.members[a].get(i) {
            self.pos[moved_in as usize] = i as u32;
        }
        self.pos[u] = self.members[b].len() as u32;
        self.members[b].push(u as u32);
        self.part[u] = b as u32;
        self.add(u, a, -1.0);
        self.add(u, b, 1.0);
    }

    /// One pass of moves chosen by `pick(turfs, unit, from)`; returns how many units moved.
    fn pass(&mut self, pick: &dyn Fn(&Self, usize, usize) -> Option<usize>) -> usize {
        let mut moved = 0;
        for u in 0..self.g.len() {
            let a = self.part[u] as usize;
            if self.members[a].len() <= 1 {
                continue;
            }
            let Some(b) = pick(self, u, a) else { continue };
            if self.connected_without(a, u) {
                self.move_unit(u, b);
                moved += 1;
            }
        }
        moved
    }
}

/// Moves border units from heavier to lighter neighbouring turfs while that brings them into the
/// balanced window (target ± 10 %) or evens them out, then to the neighbouring turf whose centre is
/// nearer while both stay balanced, and last shifts doors along chains of turfs for the turfs still
/// outside the window. Every move keeps the giving turf connected.
fn balance(g: &UnitGraph, part: &mut [u32], goals: &[f64], target: u32) {
    let mut t = Turfs::new(g, part, goals, target);
    let even = |t: &Turfs, u: usize, a: usize| {
        let w = f64::from(t.g.w[u]);
        let mut best: Option<(f64, f64, usize)> = None;
        for &v in t.g.neighbours(u) {
            let b = t.part[v as usize] as usize;
            if b == a {
                continue;
            }
            let before_v = t.viol(a, 0.0).max(t.viol(b, 0.0));
            let after_v = t.viol(a, -w).max(t.viol(b, w));
            let before = t.dev(a, 0.0).max(t.dev(b, 0.0));
            let after = t.dev(a, -w).max(t.dev(b, w));
            let better = if after_v < before_v - 1e-9 {
                true
            } else if after_v > before_v + 1e-9 {
                false
            } else {
                // Same standing against the window: even out towards the goals, heavier to lighter
                // only, and within 5 % of the goals both is good enough (no churn).
                before > 0.05 && t.load[a] / t.goals[a] > t.load[b] / t.goals[b] && after < before - 1e-9
            };
            if better && best.is_none_or(|(xv, x, bb)| (after_v, after, b) < (xv, x, bb)) {
                best = Some((after_v, after, b));
            }
        }
        best.map(|(_, _, b)| b)
    };
    // Fewer street links between turfs: a unit goes where most of its neighbours are (ties: a
    // centre much nearer, under 0.6 × the squared distance), as long as both turfs stay within
    // ±10 % of their goal and in the window (measured with bench/cut_reference.sh: ±8 % and 0.8
    // walked 2 % more).
    let compact = |t: &Turfs, u: usize, a: usize| {
        let w = f64::from(t.g.w[u]);
        let nb = t.g.neighbours(u);
        let links = |x: usize| nb.iter().filter(|&&v| t.part[v as usize] as usize == x).count();
        let (here, here_d) = (links(a), t.d2(u, a));
        let mut best: Option<(usize, f64, usize)> = None;
        for &v in nb {
            let b = t.part[v as usize] as usize;
            if b == a
                || t.dev(a, -w) > 0.10
                || t.dev(b, w) > 0.10
                || t.viol(a, -w) > t.viol(a, 0.0)
                || t.viol(b, w) > t.viol(b, 0.0)
            {
                continue;
            }
            let (there, d) = (links(b), t.d2(u, b));
            let better = there > here || (there == here && d < here_d * 0.6);
            if better && best.is_none_or(|(x, bd, bb)| there > x || (there == x && (d < bd || (d == bd && b < bb)))) {
                best = Some((there, d, b));
            }
        }
        best.map(|(_, _, b)| b)
    };
    for _ in 0..BALANCE_PASSES {
        if t.pass(&even) == 0 {
            break;
        }
    }
    for _ in 0..COMPACT_PASSES {
        if t.pass(&compact) == 0 {
            break;
        }
        for _ in 0..4 {
            if t.pass(&even) == 0 {
                break;
            }
        }
    }
    t.repair();
}

impl Turfs<'_> {
    /// For each turf still outside the window, a chain of moves through neighbouring turfs: the
    /// heavy turf gives a border unit to a neighbour, which, if now too heavy, gives one on, until
    /// a turf with room takes it (and the mirror for a light turf). Every turf on the chain ends
    /// in the window and connected; a chain that finds no end is undone.
    fn repair(&mut self) {
        for _ in 0..REPAIR_ROUNDS {
            let mut fixed = 0;
            for a in 0..self.goals.len() {
                if self.viol(a, 0.0) <= 0.0 || self.members[a].is_empty() {
                    continue;
                }
                let heavy = self.load[a] > self.hi;
                // Each chain moves one unit; a turf far out needs several.
                for _ in 0..REPAIR_STEPS {
                    let mut visited = vec![a];
                    if self.viol(a, 0.0) <= 0.0 || !self.chain(a, heavy, REPAIR_DEPTH, &mut visited) {
                        break;
                    }
                    fixed += 1;
                }
            }
            if fixed == 0 {
                break;
            }
        }
    }

    /// The units that leave turf `a` with `u`: `u` itself, and the pieces of `a` that only hang
    /// on through `u` (all but the heaviest piece of `a` without `u`), so that `a` stays connected.
    fn group_leaving(&mut self, a: usize, u: usize) -> (Vec<u32>, f64) {
        let g = self.g;
        self.stamp += 2;
        let (inside, seen) = (self.stamp - 1, self.stamp);
        for &x in &self.members[a] {
            self.mark[x as usize] = inside;
        }
        self.mark[u] = 0;
        let mut pieces: Vec<(u64, Vec<u32>)> = Vec::new();
        for i in 0..self.members[a].len() {
            let start = self.members[a][i];
            if self.mark[start as usize] != inside {
                continue;
            }
            self.mark[start as usize] = seen;
            self.stack.push(start);
            let (mut piece, mut w) = (Vec::new(), 0u64);
            while let Some(x) = self.stack.pop() {
                piece.push(x);
                w += u64::from(g.w[x as usize]);
                for &y in g.neighbours(x as usize) {
                    if self.mark[y as usize] == inside {
                        self.mark[y as usize] = seen;
                        self.stack.push(y);
                    }
                }
            }
            pieces.push((w, piece));
        }
        let keep = (0..pieces.len()).max_by_key(|&i| (pieces[i].0, Reverse(i)));
        let mut group = vec![u as u32];
        for (i, (_, piece)) in pieces.into_iter().enumerate() {
            if Some(i) != keep {
                group.extend(piece);
            }
        }
        let w = group.iter().map(|&x| f64::from(g.w[x as usize])).sum();
        (group, w)
    }

    /// Border units that could take turf `a` (giving when `heavy`, else taking) towards the
    /// window, lightest first: (unit, giving turf, taking turf).
    fn chain_moves(&self, a: usize, heavy: bool, visited: &[usize]) -> Vec<(usize, usize, usize)> {
        let g = self.g;
        let mut out: Vec<(u32, usize, usize, usize)> = Vec::new();
        for &x in &self.members[a] {
            for &v in g.neighbours(x as usize) {
                let b = self.part[v as usize] as usize;
                if b == a || visited.contains(&b) {
                    continue;
                }
                // Heavy: a gives its unit x to b. Light: a takes b's unit v.
                let (u, from, to) = if heavy { (x as usize, a, b) } else { (v as usize, b, a) };
                if self.members[from].len() > 1 {
                    out.push((g.w[u], u, from, to));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out.into_iter().map(|(_, u, from, to)| (u, from, to)).collect()
    }

    fn chain(&mut self, a: usize, heavy: bool, depth: usize, visited: &mut Vec<usize>) -> bool {
        let top = visited.len() == 1;
        let moves = self.chain_moves(a, heavy, visited);
        let mut tried = 0;
        for (u, from, to) in moves {
            if tried == REPAIR_BRANCH {
                break;
            }
            if self.part[u] as usize != from {
                continue;
            }
            let (group, w) = self.group_leaving(from, u);
            if group.len() == self.members[from].len() {
                continue;
            }
            // `a` must end in the window, or at the chain's start at least nearer to it.
            let here = if heavy { self.viol(a, -w) } else { self.viol(a, w) };
            if here > 0.0 && !(top && here < self.viol(a, 0.0) - 1e-9) {
                continue;
            }
            tried += 1;
            for &x in &group {
                self.move_unit(x as usize, to);
            }
            let next = if heavy { to } else { from };
            if self.viol(next, 0.0) <= 0.0 {
                return true;
            }
            if depth > 1 {
                visited.push(next);
                if self.chain(next, heavy, depth - 1, visited) {
                    return true;
                }
                visited.pop();
            }
            for &x in &group {
                self.move_unit(x as usize, from);
            }
        }
        false
    }
}

/// Turfs as building lists, ordered by station, then north to south, then west to east (in
/// bands of about 500 m), so that names follow the map.
fn order_turfs(g: &UnitGraph, part: &[u32], n: usize) -> Vec<Vec<usize>> {
    let mut turfs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut cx = vec![(0.0f64, 0.0f64, 0.0f64, u32::MAX); n];
    for (u, &t) in part.iter().enumerate() {
        let t = t as usize;
        let w = f64::from(g.w[u].max(1));
        cx[t].0 += g.x[u] * w;
        cx[t].1 += g.y[u] * w;
        cx[t].2 += w;
        cx[t].3 = cx[t].3.min(g.station[u]);
        turfs[t].extend(g.buildings(u).iter().map(|&b| b as usize));
    }
    let mut order: Vec<usize> = (0..n).filter(|&t| !turfs[t].is_empty()).collect();
    order.sort_by(|&a, &b| {
        let band = |t: usize| (-(cx[t].1 / cx[t].2) / 500.0).floor() as i64;
        (cx[a].3, band(a)).cmp(&(cx[b].3, band(b))).then((cx[a].0 / cx[a].2).total_cmp(&(cx[b].0 / cx[b].2)))
    });
    order
        .into_iter()
        .map(|t| {
            let mut bs = std::mem::take(&mut turfs[t]);
            bs.sort_unstable();
            bs
        })
        .collect()
}

// ----- helpers -----------------------------------------------------------------------------------

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self { parent: (0..n).collect() }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn find_const(&self, mut x: usize) -> usize {
        while self.parent[x] != x {
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// Per cell, its points with their coordinates (read together: no jump to a far array per point).
/// foldhash with its fixed seed: cell keys are not chosen by anyone, and a fixed seed keeps the
/// cell-by-cell order, and so the cut, the same from run to run (SipHash took a third of the
/// nearest-neighbour queries of a million-building cut).
type CellMap = HashMap<(i64, i64), Vec<(f64, f64, u32)>, foldhash::fast::FixedState>;

/// A uniform grid over points, for nearest-neighbour queries.
struct Grid {
    cell: f64,
    cells: CellMap,
    /// Occupied cells' bounds: an unbounded search stops once its rings cover them.
    lo: (i64, i64),
    hi: (i64, i64),
}

impl Grid {
    fn new(xy: &[(f64, f64)], cell: f64) -> Self {
        let mut cells = CellMap::default();
        for (i, p) in xy.iter().enumerate() {
            cells
                .entry(((p.0 / cell).floor() as i64, (p.1 / cell).floor() as i64))
                .or_default()
                .push((p.0, p.1, i as u32));
        }
        let (mut lo, mut hi) = ((i64::MAX, i64::MAX), (i64::MIN, i64::MIN));
        for &(x, y) in cells.keys() {
            lo = (lo.0.min(x), lo.1.min(y));
            hi = (hi.0.max(x), hi.1.max(y));
        }
        Self { cell, cells, lo, hi }
    }

    /// Up to `k` nearest points within `max_d` that pass `ok`, nearest first (ties: lower index).
    fn nearest(&self, p: (f64, f64), k: usize, max_d: f64, ok: impl Fn(usize) -> bool) -> Vec<usize> {
        let (cx, cy) = ((p.0 / self.cell).floor() as i64, (p.1 / self.cell).floor() as i64);
        // The k best so far, nearest first, as (squared distance, index): kept by insertion
        // (k is small; sorting every candidate of a dense ring cost most of a big cut).
        let mut found: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        let max_d2 = max_d * max_d;
        let cover = (cx - self.lo.0).max(self.hi.0 - cx).max(cy - self.lo.1).max(self.hi.1 - cy).max(0);
        let max_ring = if max_d.is_finite() { ((max_d / self.cell).ceil() as i64 + 1).min(cover) } else { cover };
        let mut r = 0i64;
        while r <= max_ring {
            for y in cy - r..=cy + r {
                let step = if y == cy - r || y == cy + r { 1 } else { (2 * r).max(1) };
                let mut x = cx - r;
                while x <= cx + r {
                    if let Some(v) = self.cells.get(&(x, y)) {
                        for &(px, py, i) in v {
                            let i = i as usize;
                            let d2 = (px - p.0).powi(2) + (py - p.1).powi(2);
                            if d2 > max_d2 || (found.len() == k && (d2, i) >= found[k - 1]) || !ok(i) {
                                continue;
                            }
                            let at = found.partition_point(|&(fd, fi)| (fd, fi) < (d2, i));
                            found.insert(at, (d2, i));
                            found.truncate(k);
                        }
                    }
                    x += step;
                }
            }
            let reach = r as f64 * self.cell;
            if found.len() == k && found[k - 1].0 <= reach * reach {
                break;
            }
            r += 1;
        }
        found.into_iter().map(|(_, i)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest step of a walk through every point: the gap between two clusters, not the
    /// clusters' size.
    #[test]
    fn longest_gap_is_the_widest_step() {
        assert_eq!(longest_gap(&[]), 0.0);
        assert_eq!(longest_gap(&[(5.0, 5.0)]), 0.0);
        let mut pts: Vec<(f64, f64)> = (0..10).map(|i| (f64::from(i) * 20.0, 0.0)).collect();
        pts.extend((0..10).map(|i| (500.0 + f64::from(i) * 20.0, 0.0)));
        assert!((longest_gap(&pts) - 320.0).abs() < 1e-9, "{}", longest_gap(&pts));
        pts.push((340.0, 0.0));
        assert!((longest_gap(&pts) - 160.0).abs() < 1e-9);
    }

    /// A unit graph from weights and edges (positions along a line), for the balance alone.
    fn graph_of(w: &[u32], edges: &[(u32, u32)]) -> UnitGraph {
        let mut g = UnitGraph {
            w: w.to_vec(),
            x: (0..w.len()).map(|i| i as f64 * 30.0).collect(),
            y: vec![0.0; w.len()],
            station: vec![0; w.len()],
            ..Default::default()
        };
        let both: Vec<(u32, u32)> = edges.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
        set_adjacency(&mut g, both);
        g
    }

    /// A light turf meets a heavy one only at a unit the heavy turf cannot lose alone (a branch
    /// of it hangs on that unit): no single move helps, the unit and its branch move together.
    #[test]
    fn a_unit_that_holds_a_branch_moves_with_it() {
        // Units 0–5 (10 doors each) are turf 0; 6 (1 door) joins 5 to the line 7–14 (10 each)
        // and to 15 (19 doors), which hangs on 6 alone. Turf 1 is 6–15: 100 doors against 60.
        let mut w = vec![10; 6];
        w.push(1);
        w.extend([10; 8]);
        w.push(19);
        let mut edges: Vec<(u32, u32)> = (0..14).map(|i| (i, i + 1)).collect();
        edges.push((6, 15));
        let g = graph_of(&w, &edges);
        let mut part: Vec<u32> = (0..16).map(|u| u32::from(u >= 6)).collect();
        balance(&g, &mut part, &[80.0, 80.0], 80);
        let load = |t: u32| (0..16).filter(|&u| part[u] == t).map(|u| w[u]).sum::<u32>();
        assert_eq!((load(0), load(1)), (80, 80), "{part:?}");
        let assignment: Vec<u32> = part.clone();
        let mut g2 = g.clone();
        g2.unit_of = (0..16).collect();
        g2.bdoors = w.clone();
        g2.side_of = (0..16).collect();
        assert_eq!(evaluate(&g2, &assignment, 80).disconnected, 0, "{part:?}");
    }

    /// Too heavy at one end of a line of three turfs, too light at the other, with the middle
    /// turf at the window's edge: doors pass through the middle turf.
    #[test]
    fn doors_pass_along_a_chain_of_turfs() {
        let w = vec![8u32; 31];
        let edges: Vec<(u32, u32)> = (0..30).map(|i| (i, i + 1)).collect();
        let g = graph_of(&w, &edges);
        // 13 units (104 doors), 11 (88), 7 (56): 248 doors, 82.7 each on average.
        let mut part: Vec<u32> = (0..31)
            .map(|u| {
                if u < 13 {
                    0
                } else if u < 24 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let goals = [248.0 / 3.0; 3];
        balance(&g, &mut part, &goals, 80);
        for t in 0..3 {
            let load: u32 = (0..31).filter(|&u| part[u] == t).map(|u| w[u]).sum();
            assert!((72..=88).contains(&load), "turf {t}: {load} doors ({part:?})");
        }
    }

    fn grid_town(nx: usize, ny: usize) -> Vec<CutBuilding> {
        let mut out = Vec::new();
        for i in 0..nx {
            for j in 0..ny {
                out.push(CutBuilding {
                    lat: 47.2 + j as f64 * 0.0003,
                    lon: -1.55 + i as f64 * 0.0004,
                    doors: 1 + ((i * 7 + j * 3) % 4) as u32,
                    street: format!("Rue {}", i / 3),
                    house_number: format!("{}", j + 1),
                    station: Some(format!("BV {}", i / 20)),
                });
            }
        }
        out
    }

    #[test]
    fn every_building_once_balanced_and_connected_without_a_network() {
        let bs = grid_town(60, 40);
        let p = plan(&bs, None, CutOptions { target: 80, by_station: false });
        let mut all: Vec<usize> = p.turfs.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..bs.len()).collect::<Vec<_>>());
        assert_eq!(p.report.disconnected, 0, "{:?}", p.report);
        assert!(p.report.max_deviation <= 0.1, "{:?}", p.report);
        let m = evaluate(&p.graph, &assignment_of(&p.graph, &p.turfs), 80);
        assert_eq!(m.sides_split, 0);
    }

    #[test]
    fn by_station_no_turf_spans_two_stations() {
        let bs = grid_town(60, 40);
        let p = plan(&bs, None, CutOptions { target: 80, by_station: true });
        for t in &p.turfs {
            let s = &bs[t[0]].station;
            assert!(t.iter().all(|&b| &bs[b].station == s));
        }
        assert_eq!(p.report.disconnected, 0);
    }

    #[test]
    fn a_long_side_is_cut_in_pieces_and_reported() {
        let mut bs = grid_town(4, 4);
        bs[0].doors = 500;
        bs[0].street = "Tour Bretagne".into();
        let p = plan(&bs, None, CutOptions { target: 80, by_station: false });
        assert_eq!(p.report.long_sides_split, 0, "one building is not split");
        let mut bs = grid_town(1, 200);
        for b in &mut bs {
            b.station = None;
            b.house_number = "2".into();
        }
        let p = plan(&bs, None, CutOptions { target: 40, by_station: false });
        // Without a network, runs are cut into eighths of a turf: one 500-door street (a path,
        // the hardest graph to balance: each turf can only trade with the next) comes out with
        // most turfs within ±10 % and none beyond ±15 %. (With quarter turfs it did a little
        // better here, and worse on every real town: 95–98 % against 97–99.5 %; README.)
        assert!(p.report.within_10pct * 10 >= p.report.turfs * 6, "{:?}", p.report);
        assert!(p.report.max_deviation <= 0.15, "{:?}", p.report);
        assert_eq!(p.report.disconnected, 0);
        let mut all: Vec<usize> = p.turfs.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all.len(), bs.len());
    }
}
