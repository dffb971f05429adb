//! Writes, for the 50 / 100 / 300 addresses nearest a central square of each city with a street
//! network (Nantes: Place Royale; Helsinki: Senate Square; München: Marienplatz; Monaco: Sainte-Dévote), the walking
//! distance matrix along the street network (index 0 = the start; then the addresses), our route
//! over it (an open path, and a round trip back to the start) and the conventional street / side /
//! number order, as JSON on stdout. The reference solvers of `bench/route_reference.py` read it, so
//! every solver is scored on the very same matrix.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-route-matrix [nantes|helsinki|munchen|monaco|all] > m.json`
//!
//! Any other town: `… doorstep-route-matrix custom NAME ADDRESSES STREETS LAT LON`, where ADDRESSES
//! is a CSV of `id,street,house_number,postcode,city,lat,lon` (one header line; the format of
//! `data/*/…_addresses.csv`), STREETS a street file in any format the server imports (GeoJSON lines,
//! an OpenStreetMap `.osm.pbf` extract, an IGN BD TOPO GeoPackage; only what reaches the
//! addresses' area is read) and LAT LON the start, the addresses nearest to it making each turf.
//!
//! `DOORSTEP_ROUTE_SIZES=50,100,…` sets the sizes (default 50,100,300; the size sweep of
//! `bench/route_sweep.sh` runs 50 to 5,000); `DOORSTEP_ROUTE_ROUND_TRIPS=0` leaves round trips out.

use std::time::Instant;

use doorstep_core::route::{self, RoutePoint};
use doorstep_core::streets::{StreetGraph, clip, network_from_geojson};

/// City, addresses, streets, start (lat, lon).
const CITIES: &[(&str, &str, &str, (f64, f64))] = &[
    (
        "nantes",
        "data/nantes/fr_nantes_centre_addresses.csv",
        "data/nantes/fr_nantes_centre_streets.geojson",
        (47.2135, -1.5590),
    ),
    (
        "helsinki",
        "data/helsinki/fi_helsinki_addresses.csv",
        "data/helsinki/fi_helsinki_streets.geojson",
        (60.1695, 24.9525),
    ),
    ("munchen", "data/munchen/de_munchen_addresses.csv", "data/munchen/de_munchen_streets.geojson", (48.1374, 11.5755)),
    // The old town: Monaco and Beausoleil's hillside, stairs and ramps (`scripts/make-oldtown-excerpt.sh`).
    ("monaco", "data/monaco/mc_oldtown_addresses.csv", "data/monaco/mc_oldtown_streets.geojson", (43.7375, 7.4205)),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().cloned().unwrap_or_else(|| "nantes".into());
    let mut out = Vec::new();
    if which == "custom" {
        let [_, name, addresses, streets, lat, lon] = &args[..] else {
            eprintln!("usage: doorstep-route-matrix custom NAME ADDRESSES.csv STREETS LAT LON");
            std::process::exit(2);
        };
        let start = match (lat.parse::<f64>(), lon.parse::<f64>()) {
            (Ok(lat), Ok(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => (lat, lon),
            _ => {
                eprintln!("start: {lat} {lon} is not a latitude and a longitude in degrees");
                std::process::exit(2);
            }
        };
        if !std::path::Path::new(addresses).is_file() {
            eprintln!("{addresses}: no such file");
            std::process::exit(2);
        }
        let all = doorstep_tests::addresses_at(std::path::Path::new(addresses));
        if all.is_empty() {
            eprintln!("{addresses}: no address read (expected id,street,house_number,postcode,city,lat,lon)");
            std::process::exit(2);
        }
        // Only the streets around the addresses (a whole region's extract is fine).
        let (mut lo_lat, mut lo_lon, mut hi_lat, mut hi_lon) = (start.0, start.1, start.0, start.1);
        for a in &all {
            (lo_lat, lo_lon, hi_lat, hi_lon) =
                (lo_lat.min(a.lat), lo_lon.min(a.lon), hi_lat.max(a.lat), hi_lon.max(a.lon));
        }
        let pad = 0.01;
        let bounds = (lo_lat - pad, lo_lon - pad, hi_lat + pad, hi_lon + pad);
        let source = doorstep_server::networks::NetworkSource::File(streets.into());
        let (network, stats, format) = doorstep_server::networks::read(&source, Some(bounds)).unwrap_or_else(|e| {
            eprintln!("{streets}: {e}");
            std::process::exit(2);
        });
        eprintln!("{name}: {} addresses, streets read as {format:?} ({stats:?})", all.len());
        city_cases(name, all, network, start, &mut out);
    } else {
        for &(city, addresses, streets, start) in CITIES.iter().filter(|c| which == "all" || which == c.0) {
            let geo: serde_json::Value =
                serde_json::from_slice(&std::fs::read(doorstep_tests::repo_root().join(streets)).unwrap()).unwrap();
            let (network, _) = network_from_geojson(&geo).unwrap();
            city_cases(city, doorstep_tests::addresses_of(addresses), network, start, &mut out);
        }
    }
    println!("{}", serde_json::Value::Array(out));
}

fn city_cases(
    city: &str,
    all: Vec<doorstep_tests::Address>,
    network: doorstep_protocol::StreetNetwork,
    start: (f64, f64),
    out: &mut Vec<serde_json::Value>,
) {
    let sizes: Vec<usize> = std::env::var("DOORSTEP_ROUTE_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![50, 100, 300]);
    let round_trips = std::env::var("DOORSTEP_ROUTE_ROUND_TRIPS").map_or(true, |v| v != "0");
    for n in sizes {
        if n > all.len() {
            eprintln!("{city}: {n} addresses asked, {} in the file", all.len());
            continue;
        }
        let mut near = all.clone();
        let k = start.0.to_radians().cos();
        let d = |a: &doorstep_tests::Address| (a.lat - start.0).powi(2) + ((a.lon - start.1) * k).powi(2);
        near.sort_by(|a, b| d(a).total_cmp(&d(b)).then(a.id.cmp(&b.id)));
        near.truncate(n);
        let pts: Vec<RoutePoint> = near
            .iter()
            .map(|a| RoutePoint {
                street: a.street.clone(),
                house_number: a.house_number.clone(),
                lat: a.lat,
                lon: a.lon,
            })
            .collect();
        let mut around: Vec<(f64, f64)> = pts.iter().map(|p| (p.lat, p.lon)).collect();
        around.push(start);
        let net = clip(&network, &around, 150.0);
        // Each time is the median of `DOORSTEP_ROUTE_RUNS` runs (default 7), graph building
        // included: what the phone does when it opens a route.
        let runs = std::env::var("DOORSTEP_ROUTE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(7usize).max(1);
        let timed = |round_trip: bool| {
            let mut times = Vec::new();
            let mut order = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let graph = StreetGraph::new(&net).unwrap();
                order = route::walking_order_ending(&pts, Some(start), Some(&graph), round_trip);
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            (order, times[times.len() / 2])
        };
        let (ours, our_ms) = timed(false);
        let (round, round_ms) = if round_trips { timed(true) } else { (Vec::new(), f64::NAN) };
        let graph = StreetGraph::new(&net).unwrap();
        if std::env::var_os("DOORSTEP_ROUTE_PHASES").is_some() {
            // Where the time goes (stderr): graph, snapping, the door-to-door matrix.
            let t = Instant::now();
            let g = StreetGraph::new(&net).unwrap();
            let graph_ms = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let grid = g.snapper();
            let snaps: Vec<_> = pts.iter().map(|p| grid.snap(p.lat, p.lon)).collect();
            let snap_ms = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let m = g.matrix(&snaps);
            let matrix_ms = t.elapsed().as_secs_f64() * 1000.0;
            eprintln!(
                "{city} {n}: total {our_ms:.1} ms; graph {graph_ms:.1}, snap {snap_ms:.2}, matrix {matrix_ms:.1} ({} cells)",
                m.len()
            );
        }
        let mut conv: Vec<usize> = (0..pts.len()).collect();
        conv.sort_by_key(|&i| {
            (
                pts[i].street.to_lowercase(),
                route::parity(&pts[i].house_number),
                route::house_number_key(&pts[i].house_number),
            )
        });
        // The matrix: start, then every address, each snapped to its street (the contraction
        // hierarchy's matrix equals plain searches: `the_matrix_equals_plain_searches_on_nantes`),
        // in decimetres' precision.
        let mut snaps = vec![graph.snap(start.0, start.1)];
        snaps.extend(pts.iter().map(|p| graph.snap(p.lat, p.lon)));
        let k = snaps.len();
        let flat = graph.matrix(&snaps);
        let matrix: Vec<Vec<f64>> =
            (0..k).map(|r| flat[r * k..(r + 1) * k].iter().map(|x| (x * 10.0).round() / 10.0).collect()).collect();
        let length = |order: &[usize]| -> f64 {
            let mut here = 0usize;
            let mut total = 0.0;
            for &i in order {
                total += matrix[here][i + 1];
                here = i + 1;
            }
            total
        };
        let back = |order: &[usize]| order.last().map_or(0.0, |&i| matrix[i + 1][0]);
        out.push(serde_json::json!({
            "city": city,
            "n": n,
            "matrix": matrix,
            "ours": { "order": ours.iter().map(|i| i + 1).collect::<Vec<_>>(), "length_m": length(&ours), "ms": our_ms },
            "ours_round_trip": round_trips.then(|| serde_json::json!({ "length_m": length(&round) + back(&round), "ms": round_ms })),
            "conventional": { "length_m": length(&conv), "round_trip_m": length(&conv) + back(&conv) },
        }));
    }
}
