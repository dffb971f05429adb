//! Child process of the fault-injection suite: one volunteer's phone. Opens its store, syncs,
//! then knocks `knocks` doors along its route, printing `ACK <id>` only after `record_knock`
//! returned (what the screen shows as saved), syncing every three knocks, then syncs until its
//! outbox is empty. Before each phase it prints `PHASE knock` or `PHASE sync` so the parent can
//! kill it in either. `fault-device <store> <base-url> <token> <turf> <knocks> <tag>`.

use std::io::Write;
use std::time::Duration;

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_core::{DoorStatus, KnockInput, Store};
use doorstep_protocol::{Position, Target};

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (path, base, token, turf, knocks, tag) = (&a[1], &a[2], &a[3], &a[4], a[5].parse::<usize>().unwrap(), &a[6]);
    let store = Store::open(path, None).expect("open store");
    let policy =
        RetryPolicy { first_delay: Duration::from_millis(20), max_delay: Duration::from_millis(200), max_attempts: 6 };
    // A new client (and connection) per sync, as the app's `sync_once` does.
    let sync_now = async |store: &Store| {
        let transport = HttpTransport::new(base, Some(token.clone())).expect("transport");
        say("PHASE sync");
        let r = sync(store, &transport, policy, &()).await.expect("local store");
        say(if r.is_ok() { "SYNC ok" } else { "SYNC failed" });
    };
    sync_now(&store).await;
    let mut done = 0;
    while done < knocks {
        if store.turfs().expect("turfs").is_empty() {
            sync_now(&store).await;
            continue;
        }
        let route = store.route_progress(turf).expect("route");
        // The next door nobody knocked yet, else any door again (a second visit).
        let stops: Vec<_> = route.remaining.iter().chain(route.done.iter()).collect();
        let door = stops
            .iter()
            .flat_map(|s| s.doors.iter().map(move |d| (s, d)))
            .find(|(_, d)| d.status == DoorStatus::Untouched)
            .or_else(|| stops.iter().flat_map(|s| s.doors.iter().map(move |d| (s, d))).nth(done))
            .map(|(s, d)| (d.id.clone(), s.lat, s.lon));
        let Some((door, lat, lon)) = door else { break };
        say("PHASE knock");
        let k = store
            .record_knock(KnockInput {
                target: Target::Door { id: door },
                result_code: if done % 2 == 0 { "not_home".into() } else { "no_answer".into() },
                answers: vec![],
                note: Some(format!("{tag} passage {done}")),
                safety_flags: vec![],
                position: Some(Position { lat, lon, accuracy_m: Some(8.0) }),
                follow_up: None,
            })
            .expect("record knock");
        say(&format!("ACK {}", k.id));
        done += 1;
        if done % 3 == 0 {
            sync_now(&store).await;
        }
    }
    // Drain: the app keeps syncing by itself until the outbox is empty.
    for _ in 0..200 {
        if store.pending_count().expect("pending") == 0 {
            break;
        }
        sync_now(&store).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    say(&format!("DRAINED {}", store.pending_count().expect("pending")));
}
