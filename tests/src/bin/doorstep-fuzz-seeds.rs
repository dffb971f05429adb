//! Writes the fuzz targets' seed corpus into `fuzz/corpus/<target>/` from the real data and the
//! protocol's own types (run once and committed; rerun after a wire change):
//! `cargo run -p doorstep-tests --bin doorstep-fuzz-seeds`.

use std::path::Path;

use doorstep_protocol::{PROTOCOL_VERSION, PullBucket, PullResponse, PushRequest, TURF_PACKAGE_FORMAT, TurfDelta};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = doorstep_tests::repo_root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// The first `n` lines of a data file.
fn head(relative: &str, n: usize) -> Vec<u8> {
    let text = std::fs::read(doorstep_tests::repo_root().join(relative)).unwrap();
    let mut out = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n').take(n) {
        out.extend_from_slice(line);
    }
    out
}

/// A FeatureCollection of the first `n` features of a GeoJSON file.
fn features(relative: &str, n: usize) -> Vec<u8> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(doorstep_tests::repo_root().join(relative)).unwrap()).unwrap();
    let f: Vec<_> = v["features"].as_array().unwrap().iter().take(n).cloned().collect();
    serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": f})).unwrap()
}

fn main() {
    let (campaign, _, _, doors) = doorstep_tests::server_import(20);
    let device = "00000000-0000-7000-8000-00000000f022";
    let reports: Vec<_> =
        (0..3).map(|n| doorstep_tests::report(n, &campaign.id, "fz", &doors[n as usize].id, "vol", device)).collect();
    let push =
        serde_json::to_vec(&PushRequest { protocol: PROTOCOL_VERSION, device_id: device.into(), reports }).unwrap();
    write("push_request", "push.json", &push);
    write("server_push", "push.json", &push);
    let mut package = doorstep_tests::turf_package("fz", 6);
    package.turf.version = 2;
    let delta = TurfDelta {
        format: TURF_PACKAGE_FORMAT,
        turf_id: "fz".into(),
        base_version: 1,
        version: 2,
        campaign: None,
        lease_expires_ms: Some(Some(1_900_000_000_000)),
        upsert_buildings: vec![package.buildings[0].clone()],
        upsert_entrances: vec![],
        upsert_doors: vec![package.doors[0].clone()],
        upsert_households: vec![],
        upsert_people: vec![],
        remove_buildings: vec![package.buildings[1].id.clone()],
        remove_doors: vec![],
        remove_people: vec![],
        street_network: None,
    };
    let pull = PullResponse {
        protocol: PROTOCOL_VERSION,
        cursor: "c1".into(),
        buckets: vec![
            PullBucket {
                turf_id: "fz".into(),
                version: 2,
                checksum: String::new(),
                package: None,
                delta: Some(delta.clone()),
                door_facts: Some(vec![doorstep_protocol::DoorFact {
                    door_id: "d1".into(),
                    report_id: "r1".into(),
                    supersedes: None,
                    outcome: doorstep_protocol::Outcome::Finished,
                }]),
                staged: false,
            },
            PullBucket {
                turf_id: "other".into(),
                version: 2,
                checksum: String::new(),
                package: Some(package.clone()),
                delta: None,
                door_facts: None,
                staged: true,
            },
        ],
        removed: vec!["gone".into()],
        wipe: false,
        server_time_ms: 1_780_000_000_000,
    };
    write("pull_response", "pull.json", &serde_json::to_vec(&pull).unwrap());
    let mut with_streets = doorstep_tests::with_voters(doorstep_tests::turf_package("fz", 4));
    with_streets.street_network = Some(doorstep_protocol::StreetNetwork {
        nodes: vec![[-1.5591, 47.2135], [-1.5580, 47.2140]],
        edges: vec![doorstep_protocol::StreetEdge {
            from: 0,
            to: 1,
            length_m: 95.0,
            name: Some("Rue Test".into()),
            class: Some("residential".into()),
        }],
    });
    write("turf_package", "package.json", &serde_json::to_vec(&with_streets).unwrap());
    write("turf_package", "delta.json", &serde_json::to_vec(&delta).unwrap());
    let ack = serde_json::json!({"protocol": 1, "server_time_ms": 0, "results": [{"id": "x", "status": "accepted"}, {"id": "y", "status": "rejected", "reason": "non"}]});
    write("turf_package", "ack.json", &serde_json::to_vec(&ack).unwrap());
    write("addresses_csv", "nantes.csv", &head("data/nantes/fr_nantes_centre_addresses.csv", 12));
    write("addresses_csv", "lyon.csv", &head("data/lyon/lyon_addresses_with_bureau_2012.csv", 12));
    write("addresses_geojson", "points.geojson", br#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-1.5591,47.2135]},"properties":{"numero":"12","voie":"Rue Bisson","code_postal":"44100","commune":"Nantes"}}]}"#);
    write("streets_geojson", "nantes.geojson", &features("data/nantes/fr_nantes_centre_streets.geojson", 25));
    write("results_csv", "lyon.csv", &head("data/lyon/lyon_results_presidentielle_2012_t1.csv", 6));
    write("stations_geojson", "lyon.geojson", &features("data/lyon/lyon_bureaux_2012.geojson", 2));
    println!("seeds written under {}", Path::new("fuzz/corpus").display());
}
