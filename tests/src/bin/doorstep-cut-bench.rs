//! Turf cutting at campaign scale: the Nantes centre addresses and street network replicated into a
//! grid of copies (each address jittered by up to 3 m, each copy's border streets joined to the
//! next copy's), about 1,000,000 doors at 127 copies, cut into turfs of 80 doors.
//!
//! `prepare` times our cut (snapping included) and writes the data for the reference cuts of
//! `bench/cut_reference.py` (k-means, METIS); `evaluate` scores every assignment found in the
//! directory by the same measures: balance, turfs connected along streets, block sides split, and
//! the walking length of a sample of turfs routed along the streets.
//!
//! `bash bench/cut_reference.sh` runs the three steps.

use std::path::{Path, PathBuf};
use std::time::Instant;

use doorstep_core::route::{RoutePoint, walk_length_on, walking_order_on};
use doorstep_core::streets::{StreetGraph, clip, network_from_geojson};
use doorstep_protocol::{StreetEdge, StreetNetwork};
use doorstep_server::cut::{self, CutBuilding, CutOptions};

const M_PER_DEG_LAT: f64 = 111_132.0;

struct Args {
    copies: usize,
    target: u32,
    out: PathBuf,
    sample: usize,
}

fn args() -> (String, Args) {
    let mut a = std::env::args().skip(1);
    let cmd = a.next().unwrap_or_else(|| "prepare".into());
    let mut out = Args { copies: 127, target: 80, out: PathBuf::from("/tmp/doorstep-cut"), sample: 200 };
    while let Some(k) = a.next() {
        let v = a.next().expect("a value after each flag");
        match k.as_str() {
            "--copies" => out.copies = v.parse().expect("--copies N"),
            "--target" => out.target = v.parse().expect("--target DOORS"),
            "--out" => out.out = v.into(),
            "--sample" => out.sample = v.parse().expect("--sample TURFS"),
            _ => panic!("unknown flag {k}"),
        }
    }
    (cmd, out)
}

/// The replicated campaign: buildings and one street network.
fn dataset(copies: usize) -> (Vec<CutBuilding>, StreetNetwork) {
    let geo: serde_json::Value = serde_json::from_slice(
        &std::fs::read(doorstep_tests::repo_root().join("data/nantes/fr_nantes_centre_streets.geojson")).unwrap(),
    )
    .unwrap();
    let (base, _) = network_from_geojson(&geo).unwrap();
    let addresses = doorstep_tests::nantes_addresses();
    let (mut lat0, mut lat1, mut lon0, mut lon1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for n in &base.nodes {
        lon0 = lon0.min(n[0]);
        lon1 = lon1.max(n[0]);
        lat0 = lat0.min(n[1]);
        lat1 = lat1.max(n[1]);
    }
    let kx = M_PER_DEG_LAT * lat0.to_radians().cos();
    // Copies 60 m apart.
    let (dlon, dlat) = (lon1 - lon0 + 60.0 / kx, lat1 - lat0 + 60.0 / M_PER_DEG_LAT);
    let cols = (copies as f64).sqrt().ceil() as usize;
    // Border nodes: the 25 nearest each side of the base network.
    let border = |key: &dyn Fn(&[f64; 2]) -> f64| {
        let mut ids: Vec<usize> = (0..base.nodes.len()).collect();
        ids.sort_by(|&a, &b| key(&base.nodes[a]).total_cmp(&key(&base.nodes[b])));
        ids.truncate(25);
        ids
    };
    let (west, east) = (border(&|p| p[0]), border(&|p| -p[0]));
    let (south, north) = (border(&|p| p[1]), border(&|p| -p[1]));
    let mut net = StreetNetwork::default();
    let mut buildings = Vec::with_capacity(copies * addresses.len());
    let mut seed = 42u64;
    let mut rnd = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let nb = base.nodes.len() as u32;
    for c in 0..copies {
        let (ox, oy) = ((c % cols) as f64 * dlon, (c / cols) as f64 * dlat);
        let first = net.nodes.len() as u32;
        net.nodes.extend(base.nodes.iter().map(|p| [p[0] + ox, p[1] + oy]));
        net.edges.extend(base.edges.iter().map(|e| StreetEdge { from: e.from + first, to: e.to + first, ..e.clone() }));
        let join = |mine: &[usize], other_copy: usize, theirs: &[usize], net: &mut StreetNetwork| {
            let other = other_copy as u32 * nb;
            for &a in mine {
                let pa = net.nodes[(first + a as u32) as usize];
                let (b, d) = theirs
                    .iter()
                    .map(|&b| {
                        let pb = net.nodes[(other + b as u32) as usize];
                        (b, (((pa[0] - pb[0]) * kx).powi(2) + ((pa[1] - pb[1]) * M_PER_DEG_LAT).powi(2)).sqrt())
                    })
                    .min_by(|x, y| x.1.total_cmp(&y.1))
                    .unwrap();
                net.edges.push(StreetEdge {
                    from: first + a as u32,
                    to: other + b as u32,
                    length_m: d,
                    name: Some("Raccord".into()),
                    class: Some("residential".into()),
                });
            }
        };
        if c % cols > 0 {
            join(&west, c - 1, &east, &mut net);
        }
        if c >= cols {
            join(&south, c - cols, &north, &mut net);
        }
        for a in &addresses {
            buildings.push(CutBuilding {
                lat: a.lat + oy + rnd() * 6.0 / M_PER_DEG_LAT,
                lon: a.lon + ox + rnd() * 6.0 / kx,
                doors: 1,
                street: a.street.clone(),
                house_number: a.house_number.clone(),
                station: None,
            });
        }
    }
    (buildings, net)
}

fn write_u32(path: &Path, v: &[u32]) {
    std::fs::write(path, v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
}

fn read_u32(path: &Path) -> Vec<u32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn write_f64(path: &Path, v: &[f64]) {
    std::fs::write(path, v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
}

fn main() {
    let (cmd, a) = args();
    std::fs::create_dir_all(&a.out).unwrap();
    let t = Instant::now();
    let (buildings, net) = dataset(a.copies);
    let doors: u64 = buildings.iter().map(|b| u64::from(b.doors)).sum();
    eprintln!(
        "{} copies: {} buildings, {doors} doors, {} street segments (built in {:.1} s)",
        a.copies,
        buildings.len(),
        net.edges.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let graph = StreetGraph::new(&net).unwrap();
    let graph_s = t.elapsed().as_secs_f64();
    let opts = CutOptions { target: a.target, by_station: false };
    let t = Instant::now();
    let plan = cut::plan(&buildings, Some(&graph), opts);
    let cut_s = t.elapsed().as_secs_f64();
    let ours = cut::assignment_of(&plan.graph, &plan.turfs);
    match cmd.as_str() {
        "prepare" => {
            let g = &plan.graph;
            write_u32(&a.out.join("xadj.u32"), &g.xadj);
            write_u32(&a.out.join("adj.u32"), &g.adj);
            write_u32(&a.out.join("w.u32"), &g.w);
            write_u32(&a.out.join("unit_of.u32"), &g.unit_of);
            write_u32(&a.out.join("bdoors.u32"), &g.bdoors);
            let xy: Vec<f64> = g.bx.iter().zip(&g.by).flat_map(|(x, y)| [*x, *y]).collect();
            write_f64(&a.out.join("bxy.f64"), &xy);
            write_u32(&a.out.join("ours.u32"), &ours);
            let meta = serde_json::json!({
                "buildings": buildings.len(), "doors": doors, "units": g.len(), "turfs": plan.turfs.len(),
                "target": a.target, "graph_build_s": graph_s, "ours_s": cut_s,
            });
            std::fs::write(a.out.join("meta.json"), meta.to_string()).unwrap();
            let mut report = plan.report.clone();
            let far = std::mem::take(&mut report.far_from_street).len();
            println!(
                "ours: {} turfs in {cut_s:.2} s (+ {graph_s:.2} s to build the street graph); {far} buildings far from \
                 a street; report {}",
                plan.turfs.len(),
                serde_json::to_string(&report).unwrap()
            );
        }
        "evaluate" => {
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(a.out.join("meta.json")).unwrap_or_default()).unwrap_or_default();
            println!(
                "| cut | time s | turfs | max dev. | mean dev. | within ±10 % | not connected | block sides split | mean walk m (sample) |"
            );
            println!("|---|---|---|---|---|---|---|---|---|");
            let mut methods = vec![("Doorstep".to_string(), ours, cut_s)];
            for (name, file) in [("k-means", "kmeans.u32"), ("METIS (contiguous)", "metis.u32")] {
                let path = a.out.join(file);
                if path.exists() {
                    let secs = meta[file.trim_end_matches(".u32")].as_f64().unwrap_or(f64::NAN);
                    methods.push((name.to_string(), read_u32(&path), secs));
                }
            }
            for (name, assignment, secs) in methods {
                assert_eq!(assignment.len(), buildings.len(), "{name}: one turf per building");
                let m = cut::evaluate(&plan.graph, &assignment, a.target);
                let walk = mean_walk(&buildings, &net, &assignment, m.turfs, a.sample);
                println!(
                    "| {name} | {secs:.2} | {} | {:.1} % | {:.1} % | {:.1} % | {} ({:.2} %) | {} | {walk:.0} |",
                    m.turfs,
                    m.max_deviation * 100.0,
                    m.mean_abs_deviation * 100.0,
                    m.within_10pct as f64 * 100.0 / m.turfs.max(1) as f64,
                    m.disconnected,
                    m.disconnected as f64 * 100.0 / m.turfs.max(1) as f64,
                    m.sides_split,
                );
            }
        }
        _ => panic!("commands: prepare, evaluate"),
    }
}

/// Mean walking length along streets of `sample` turfs spread over the turf ids.
fn mean_walk(buildings: &[CutBuilding], net: &StreetNetwork, assignment: &[u32], turfs: usize, sample: usize) -> f64 {
    let mut by_turf: Vec<Vec<usize>> = vec![Vec::new(); turfs];
    for (b, &t) in assignment.iter().enumerate() {
        by_turf[t as usize].push(b);
    }
    let step = (turfs / sample.max(1)).max(1);
    let (mut total, mut n) = (0.0, 0usize);
    for bs in by_turf.iter().step_by(step).take(sample) {
        if bs.is_empty() {
            continue;
        }
        let pts: Vec<RoutePoint> = bs
            .iter()
            .map(|&b| RoutePoint {
                street: buildings[b].street.clone(),
                house_number: buildings[b].house_number.clone(),
                lat: buildings[b].lat,
                lon: buildings[b].lon,
            })
            .collect();
        let around: Vec<(f64, f64)> = pts.iter().map(|p| (p.lat, p.lon)).collect();
        let part = clip(net, &around, 150.0);
        let Some(g) = StreetGraph::new(&part) else { continue };
        let order = walking_order_on(&pts, None, Some(&g));
        total += walk_length_on(&pts, &order, None, &g);
        n += 1;
    }
    total / n.max(1) as f64
}
