//! Issue 22's "done when" for bad doors, on the real Nantes streets: a turf of 120 real addresses
//! plus a failed geocode at (0°, 0°) and a door more than 2 km from every street of the package.
//! Both are flagged to the volunteer with their distance ("Adresse mal placée"), the first walked
//! on its street by its address, the second last with no walk counted to it; the package's
//! network is clipped as if neither were there, and the route is no longer than without them
//! by more than the walk along the street the first one was placed on.

use doorstep_core::store::{OpenOptions, Store};
use doorstep_core::streets::{clip, network_from_geojson};
use doorstep_tests::{Address, turf_package_of};

fn network() -> doorstep_protocol::StreetNetwork {
    let geo: serde_json::Value = serde_json::from_slice(
        &std::fs::read(doorstep_tests::repo_root().join("data/nantes/fr_nantes_centre_streets.geojson")).unwrap(),
    )
    .unwrap();
    network_from_geojson(&geo).unwrap().0
}

/// The package as the server makes it: the network clipped around the doors that can be right.
fn package(id: &str, addresses: &[Address], net: &doorstep_protocol::StreetNetwork) -> doorstep_protocol::TurfPackage {
    let mut pkg = turf_package_of(id, addresses);
    let pts: Vec<(f64, f64)> = addresses.iter().map(|a| (a.lat, a.lon)).collect();
    pkg.street_network = Some(clip(net, &doorstep_core::misplaced::clip_points(&pts), 150.0));
    pkg
}

#[test]
fn a_failed_geocode_and_a_door_far_from_every_street_are_flagged_and_never_stretch_the_route() {
    let net = network();
    let good = doorstep_tests::nearest_addresses(120);
    // The northernmost node of the whole centre network; 2.5 km further north, no street.
    let top = net.nodes.iter().map(|n| n[1]).fold(f64::MIN, f64::max);
    let far_lat = top + 2_500.0 / 111_132.0;
    let street = good[5].street.clone();
    let zero = Address {
        id: "geocode-rate".into(),
        street: street.clone(),
        house_number: "2".into(),
        postcode: "44000".into(),
        city: "NANTES".into(),
        lat: 0.0,
        lon: 0.0,
    };
    let far = Address {
        id: "au-milieu-des-champs".into(),
        street: "Chemin des Marais Perdus".into(),
        house_number: "7".into(),
        postcode: "44000".into(),
        city: "NANTES".into(),
        lat: far_lat,
        lon: -1.5590,
    };
    let mut all = good.clone();
    all.push(zero);
    all.push(far);

    // The same good doors under other ids (a store holds a building in one turf).
    let apart: Vec<Address> = good.iter().map(|a| Address { id: format!("sans-{}", a.id), ..a.clone() }).collect();
    let (with, without) = (package("avec", &all, &net), package("sans", &apart, &net));
    let edges = |p: &doorstep_protocol::TurfPackage| p.street_network.as_ref().unwrap().edges.len();
    assert_eq!(edges(&with), edges(&without), "neither door pulls streets into the package");

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path().join("field.db"), OpenOptions::default()).unwrap();
    store.apply_turf_package_value(&with).unwrap();
    store.apply_turf_package_value(&without).unwrap();
    let start = doorstep_protocol::Position { lat: 47.2135, lon: -1.5590, accuracy_m: Some(5.0) };
    let a = store.compute_route("avec", Some(start), None, false).unwrap();
    let b = store.compute_route("sans", Some(start), None, false).unwrap();
    assert_eq!(a.remaining.len(), 122);

    let flagged: Vec<_> = a.remaining.iter().filter(|s| s.misplaced.is_some()).collect();
    assert_eq!(flagged.len(), 2, "only the two: {:?}", flagged.iter().map(|s| &s.building_id).collect::<Vec<_>>());
    let z = a.remaining.iter().find(|s| s.building_id == "geocode-rate").unwrap();
    let zm = z.misplaced.as_ref().unwrap();
    assert_eq!((zm.why.as_str(), zm.placed_on_street), ("null_island", true), "{zm:?}");
    assert!(zm.message.starts_with("Adresse mal placée : position (0, 0)"), "{}", zm.message);
    assert!(zm.distance_m > 5_000_000.0, "{zm:?}");
    assert!(z.walk_from_previous_m < 500.0, "walked on its street: {} m", z.walk_from_previous_m);

    let last = a.remaining.last().unwrap();
    assert_eq!(last.building_id, "au-milieu-des-champs", "walked last");
    let lm = last.misplaced.as_ref().unwrap();
    assert!(!lm.placed_on_street && lm.distance_m > 2_000.0, "{lm:?}");
    assert!(lm.message.starts_with("Adresse mal placée : à "), "{}", lm.message);
    assert!(lm.message.contains("km"), "{}", lm.message);
    assert_eq!(last.walk_from_previous_m, 0.0, "no walk counted to it");

    // The route is the route of the good doors, give or take the door placed on its street.
    assert!(
        a.total_walk_m <= b.total_walk_m + 2.0 * z.walk_from_previous_m + 50.0,
        "{} m with them, {} m without",
        a.total_walk_m,
        b.total_walk_m
    );
    assert!(b.remaining.iter().all(|s| s.misplaced.is_none()));
}
