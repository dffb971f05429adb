//! Writes, for the 50 / 100 / 300 addresses nearest Place Royale (Nantes), the walking distance
//! matrix along the street network (index 0 = the start, Place Royale; then the addresses), our
//! route over it and the conventional street / side / number order, as JSON on stdout. The
//! reference solvers of `bench/route_reference.py` read it, so every solver is scored on the very
//! same matrix.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-route-matrix > /tmp/matrix.json`

use std::time::Instant;

use doorstep_core::route::{self, RoutePoint};
use doorstep_core::streets::{StreetGraph, clip, network_from_geojson};

fn main() {
    let geo: serde_json::Value = serde_json::from_slice(
        &std::fs::read(doorstep_tests::repo_root().join("data/nantes/fr_nantes_centre_streets.geojson")).unwrap(),
    )
    .unwrap();
    let (network, _) = network_from_geojson(&geo).unwrap();
    let start = (47.2135, -1.5590);
    let mut out = Vec::new();
    for n in [50usize, 100, 300] {
        let pts: Vec<RoutePoint> = doorstep_tests::nearest_route_points(n);
        let mut around: Vec<(f64, f64)> = pts.iter().map(|p| (p.lat, p.lon)).collect();
        around.push(start);
        let net = clip(&network, &around, 150.0);
        let t = Instant::now();
        let graph = StreetGraph::new(&net).unwrap();
        let ours = route::walking_order_on(&pts, Some(start), Some(&graph));
        let our_ms = t.elapsed().as_secs_f64() * 1000.0;
        let mut conv: Vec<usize> = (0..pts.len()).collect();
        conv.sort_by_key(|&i| {
            (
                pts[i].street.to_lowercase(),
                route::parity(&pts[i].house_number),
                route::house_number_key(&pts[i].house_number),
            )
        });
        // The matrix: start, then every address, each snapped to its street.
        let mut snaps = vec![graph.snap(start.0, start.1)];
        snaps.extend(pts.iter().map(|p| graph.snap(p.lat, p.lon)));
        let matrix: Vec<Vec<f64>> = snaps.iter().map(|s| graph.distances(s, &snaps)).collect();
        let length = |order: &[usize]| -> f64 {
            let mut here = 0usize;
            let mut total = 0.0;
            for &i in order {
                total += matrix[here][i + 1];
                here = i + 1;
            }
            total
        };
        out.push(serde_json::json!({
            "n": n,
            "matrix": matrix,
            "ours": { "order": ours.iter().map(|i| i + 1).collect::<Vec<_>>(), "length_m": length(&ours), "ms": our_ms },
            "conventional": { "length_m": length(&conv) },
        }));
    }
    println!("{}", serde_json::Value::Array(out));
}
