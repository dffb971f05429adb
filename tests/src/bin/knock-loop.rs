//! Child process of the crash test: opens the store at `argv[1]` (applying the fixture turf on first
//! use), then records knocks forever, printing each report id to stdout only after `record_knock`
//! returned. The parent kills it with SIGKILL at a random moment and checks that every printed id
//! is in the store.

use std::io::Write;

use doorstep_core::{KnockInput, Store};
use doorstep_protocol::{Position, Target};

fn main() {
    let path = std::env::args().nth(1).expect("store path");
    let store = Store::open(&path, None).expect("open store");
    if store.turfs().expect("turfs").is_empty() {
        store.apply_turf_package_value(&doorstep_tests::turf_package("crash", 50)).expect("apply turf");
    }
    let route = store.route_progress("crash").expect("route");
    let stops: Vec<_> = route.remaining.into_iter().chain(route.done).collect();
    let doors: Vec<(String, f64, f64)> =
        stops.iter().flat_map(|s| s.doors.iter().map(move |d| (d.id.clone(), s.lat, s.lon))).collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    for i in 0.. {
        let (door, lat, lon) = &doors[i % doors.len()];
        let k = store
            .record_knock(KnockInput {
                target: Target::Door { id: door.clone() },
                result_code: if i % 3 == 0 { "not_home".into() } else { "no_answer".into() },
                answers: vec![],
                note: Some(format!("passage {i}")),
                safety_flags: vec![],
                position: Some(Position { lat: *lat, lon: *lon, accuracy_m: Some(8.0) }),
                follow_up: None,
            })
            .expect("record knock");
        writeln!(out, "{}", k.id).unwrap();
        out.flush().unwrap();
    }
}
