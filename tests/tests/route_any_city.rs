//! Issue 22, Deliver 4: the route benchmark's matrix writer runs on a town it was not written for,
//! from an address CSV and a street file in any format the server imports — here Helsinki's
//! OpenStreetMap extract (`.osm.pbf`) and Nantes' IGN BD TOPO GeoPackage, given as a stranger
//! would give them (`custom NAME ADDRESSES STREETS LAT LON`). The reference solvers
//! (`bench/route_reference.sh … custom …`) read the same JSON; they are not run here.

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_doorstep-route-matrix"))
        .args(args)
        .env("DOORSTEP_ROUTE_SIZES", "50")
        .env("DOORSTEP_ROUTE_RUNS", "1")
        .env("DOORSTEP_ROUTE_ROUND_TRIPS", "0")
        .output()
        .unwrap()
}

#[test]
fn any_town_given_as_addresses_and_a_street_file() {
    let root = doorstep_tests::repo_root();
    let path = |p: &str| root.join(p).to_string_lossy().into_owned();
    for (name, addresses, streets, lat, lon) in [
        (
            "helsinki-pbf",
            "data/helsinki/fi_helsinki_addresses.csv",
            "data/helsinki/fi_helsinki_streets.osm.pbf",
            "60.1695",
            "24.9525",
        ),
        (
            "nantes-bdtopo",
            "data/nantes/fr_nantes_centre_addresses.csv",
            "data/nantes/fr_nantes_centre_troncon_de_route.gpkg",
            "47.2135",
            "-1.5590",
        ),
    ] {
        let out = run(&["custom", name, &path(addresses), &path(streets), lat, lon]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {err}");
        let cases: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let case = &cases[0];
        assert_eq!((case["city"].as_str(), case["n"].as_u64()), (Some(name), Some(50)), "{name}");
        let matrix = case["matrix"].as_array().unwrap();
        assert_eq!(matrix.len(), 51, "{name}: the start and 50 addresses");
        // Every address reached along the streets (a street file read wrong leaves them apart).
        let reached = matrix[0].as_array().unwrap().iter().filter(|x| x.as_f64().is_some_and(f64::is_finite)).count();
        assert_eq!(reached, 51, "{name}: {err}");
        let (ours, conventional) =
            (case["ours"]["length_m"].as_f64().unwrap(), case["conventional"]["length_m"].as_f64().unwrap());
        assert!(ours > 100.0 && ours < conventional, "{name}: ours {ours} m, street order {conventional} m");
    }
    // A wrong call says what it wants, and writes no JSON.
    let out = run(&["custom", "x", "nope.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: doorstep-route-matrix custom"));
    let out = run(&["custom", "x", &path("data/helsinki/fi_helsinki_addresses.csv"), "s.geojson", "91", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a latitude and a longitude"));
    assert!(out.stdout.is_empty());
}
