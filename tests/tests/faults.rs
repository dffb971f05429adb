//! Fault injection end to end: devices are real processes (`fault-device`: the core on its own
//! SQLite file) talking to a real server process (`fault-server`) through the fault proxy on
//! loopback, which delays, drops, resets connections and cuts responses after some bytes (the
//! server committed, the phone never saw the acknowledgement). Meanwhile the server is killed with
//! SIGKILL and restarted during ingest, and each device is killed with SIGKILL in the middle of a
//! knock and in the middle of a sync (push or pull), then restarted. Once the faults stop, each
//! device finishes its work and drains its outbox by itself. Then: every acknowledged knock is on
//! the server exactly once, nothing is there that no device holds, every outbox is empty, and each
//! device's door statuses equal the server's.
//!
//! Short form in CI. Long form (documented in README):
//! `DOORSTEP_FAULT_DEVICES=20 DOORSTEP_FAULT_KNOCKS=120 DOORSTEP_FAULT_DEVICE_KILLS=20 DOORSTEP_FAULT_SERVER_KILLS=15 cargo test --release -p doorstep-tests --test faults -- --nocapture`

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use doorstep_core::Store;
use doorstep_core::sync::http::HttpTransport;
use doorstep_protocol::{JoinRequest, PROTOCOL_VERSION};
use doorstep_server::people::InviteRequest;
use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore};
use doorstep_tests::faultproxy::{FaultProxy, Plan};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

const PER_TURF: usize = 30;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn start_server(db: &Path) -> (Child, std::net::SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fault-server"))
        .arg(db)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("fault-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("READY line");
    let addr = line.strip_prefix("READY ").expect("READY").parse().unwrap();
    (child, addr)
}

struct Device {
    store: PathBuf,
    url: String,
    token: String,
    turf: String,
    tag: String,
}

#[derive(Default)]
struct Run {
    acked: Vec<String>,
    killed_in_knock: u64,
    killed_in_sync: u64,
    syncs: u64,
    drained: Option<u64>,
}

/// Runs the device process once with `knocks` left to do; kills it with SIGKILL shortly after it
/// announces `kill_in` (`knock` or `sync`) when given.
async fn run_device(d: &Device, knocks: usize, kill_in: Option<&str>, seed: u64, run: &mut Run) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fault-device"))
        .arg(&d.store)
        .arg(&d.url)
        .arg(&d.token)
        .arg(&d.turf)
        .arg(knocks.to_string())
        .arg(&d.tag)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("fault-device");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = 0u64;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(id) = line.strip_prefix("ACK ") {
            run.acked.push(id.to_string());
        } else if line.starts_with("SYNC ") {
            run.syncs += 1;
        } else if let Some(n) = line.strip_prefix("DRAINED ") {
            run.drained = n.parse().ok();
        } else if let (Some(phase), Some(target)) = (line.strip_prefix("PHASE "), kill_in) {
            seen += 1;
            // Not always the first time: let some work land first.
            if phase == target && seen > seed % 3 {
                tokio::time::sleep(Duration::from_millis(seed % 25)).await;
                child.start_kill().unwrap();
                if target == "knock" {
                    run.killed_in_knock += 1;
                } else {
                    run.killed_in_sync += 1;
                }
                // What it printed before dying is still in the pipe: an `ACK` there was on screen.
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(id) = line.strip_prefix("ACK ") {
                        run.acked.push(id.to_string());
                    }
                }
                break;
            }
        }
    }
    child.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_knocks_survive_a_bad_network_and_kill_9() {
    let devices = env("DOORSTEP_FAULT_DEVICES", 6) as usize;
    let knocks = env("DOORSTEP_FAULT_KNOCKS", 24) as usize;
    let device_kills = env("DOORSTEP_FAULT_DEVICE_KILLS", 6);
    let server_kills = env("DOORSTEP_FAULT_SERVER_KILLS", 4);
    let seed = env("DOORSTEP_FAULT_SEED", 7);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");

    // The campaign, one turf and one volunteer per device, made in process on the server's file.
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(devices * PER_TURF);
    let mut codes = Vec::new();
    {
        let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(&db).unwrap());
        let service = Service::new(store.clone());
        service.create_campaign(&campaign).await.unwrap();
        store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
        let co = doorstep_tests::coordinator(&campaign.id);
        store.create_user(&co.user).await.unwrap();
        for i in 0..devices {
            let turf = format!("f{i:02}");
            let ids: Vec<String> = buildings[i * PER_TURF..(i + 1) * PER_TURF].iter().map(|b| b.id.clone()).collect();
            store.create_turf(&campaign.id, &turf, &format!("Tournée {i}"), None, &ids).await.unwrap();
            let vol = format!("vol-{i:02}");
            let invite = InviteRequest {
                email: None,
                name: format!("Bénévole {i}"),
                user_id: Some(vol.clone()),
                role: Role::Volunteer,
                team_id: None,
            };
            codes.push((service.invite(&co, invite).await.unwrap().join_code.unwrap(), turf.clone()));
            store.assign_turf(&turf, Some(&vol), None).await.unwrap();
        }
    }

    let (server, addr) = start_server(&db).await;
    let server = Arc::new(Mutex::new(server));
    let proxy = FaultProxy::start(addr, Plan::Pass).await.unwrap();
    let mut fleet = Vec::new();
    for (i, (code, turf)) in codes.into_iter().enumerate() {
        let path = dir.path().join(format!("device-{i}.db"));
        let device_id = Store::open(&path, None).unwrap().device_id().to_string();
        let join = HttpTransport::new(&proxy.url(), None)
            .unwrap()
            .join(&JoinRequest { protocol: PROTOCOL_VERSION, code, device_id })
            .await
            .unwrap();
        fleet.push(Device { store: path, url: proxy.url(), token: join.token, turf, tag: format!("d{i}") });
    }

    // Faults on: the network, the server, the devices.
    proxy.set_plan(Plan::Random { seed, delay: 0.1, drop: 0.08, reset: 0.05, cut: 0.12 });
    let server_restarts = Arc::new(AtomicU64::new(0));
    let killer = {
        let (server, proxy, db, restarts) = (server.clone(), proxy.clone(), db.clone(), server_restarts.clone());
        tokio::spawn(async move {
            for _ in 0..server_kills {
                tokio::time::sleep(Duration::from_millis(700)).await;
                let mut s = server.lock().await;
                s.start_kill().unwrap();
                s.wait().await.unwrap();
                tokio::time::sleep(Duration::from_millis(150)).await;
                let (fresh, addr) = start_server(&db).await;
                *s = fresh;
                proxy.set_upstream(addr);
                restarts.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let runs: Vec<Run> = futures_util::future::join_all(fleet.iter().enumerate().map(|(i, d)| async move {
        let mut run = Run::default();
        for k in 0..device_kills {
            let left = knocks.saturating_sub(run.acked.len());
            let phase = if k % 2 == 0 { "knock" } else { "sync" };
            run_device(d, left, Some(phase), seed.wrapping_mul(31).wrapping_add(i as u64 * 7 + k), &mut run).await;
        }
        run
    }))
    .await;
    killer.await.unwrap();

    // Faults off: each phone finishes its work and drains by itself.
    proxy.set_plan(Plan::Pass);
    let mut runs = runs;
    for (d, run) in fleet.iter().zip(runs.iter_mut()) {
        let left = knocks.saturating_sub(run.acked.len());
        run_device(d, left, None, 0, run).await;
    }
    server.lock().await.start_kill().unwrap();
    server.lock().await.wait().await.unwrap();

    // The verdict, read from the server's file and each phone's.
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(&db).unwrap());
    let service = Service::new(store.clone());
    let co = doorstep_tests::coordinator(&campaign.id);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (rows, distinct): (i64, i64) =
        conn.query_row("SELECT COUNT(*), COUNT(DISTINCT id) FROM reports", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    let mut on_server: HashMap<String, HashSet<String>> = HashMap::new();
    let mut q = conn.prepare("SELECT device_id, id FROM reports").unwrap();
    for row in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
        let (device, id) = row.unwrap();
        on_server.entry(device).or_default().insert(id);
    }
    let (mut acked, mut lost, mut phantom, mut status_mismatch) = (0, 0, 0, 0);
    for (d, run) in fleet.iter().zip(&runs) {
        let phone = Store::open(&d.store, None).unwrap();
        assert_eq!(run.drained, Some(0), "{}: the outbox drained by itself", d.tag);
        assert_eq!(phone.pending_count().unwrap(), 0);
        let local: HashSet<String> = phone.list_knocks(&d.turf).unwrap().into_iter().map(|k| k.id).collect();
        let server_ids = on_server.get(phone.device_id()).cloned().unwrap_or_default();
        acked += run.acked.len();
        lost += run.acked.iter().filter(|id| !server_ids.contains(*id)).count();
        phantom += server_ids.difference(&local).count();
        assert_eq!(local, server_ids, "{}: the phone's knocks are exactly the server's", d.tag);
        for door in service.turf_doors(&co, &d.turf).await.unwrap() {
            if phone.door_status(&door.door_id).unwrap() != door.status {
                status_mismatch += 1;
            }
        }
    }
    let device_kills_done: u64 = runs.iter().map(|r| r.killed_in_knock + r.killed_in_sync).sum();
    let in_knock: u64 = runs.iter().map(|r| r.killed_in_knock).sum();
    let in_sync: u64 = runs.iter().map(|r| r.killed_in_sync).sum();
    let stats = proxy.stats();
    println!(
        "fault injection: {} devices, attempts (syncs) {}, connections {}, faults injected {} (network {} = delayed {} dropped {} reset {} cut {}; device SIGKILLs {} = {} mid-knock + {} mid-sync; server SIGKILLs {}), reports {}, acknowledged {}, lost {}, duplicated {}, phantom {}, door statuses differing {}",
        devices,
        runs.iter().map(|r| r.syncs).sum::<u64>(),
        stats.connections.load(Ordering::Relaxed),
        stats.faults() + device_kills_done + server_restarts.load(Ordering::Relaxed),
        stats.faults(),
        stats.delayed.load(Ordering::Relaxed),
        stats.dropped.load(Ordering::Relaxed),
        stats.reset.load(Ordering::Relaxed),
        stats.cut.load(Ordering::Relaxed),
        device_kills_done,
        in_knock,
        in_sync,
        server_restarts.load(Ordering::Relaxed),
        rows,
        acked,
        lost,
        rows - distinct,
        phantom,
        status_mismatch,
    );
    assert_eq!(lost, 0, "acknowledged knocks missing on the server");
    assert_eq!(rows - distinct, 0, "a report stored twice");
    assert_eq!(phantom, 0);
    assert_eq!(status_mismatch, 0, "door statuses differ between phones and server");
    assert!(acked >= devices * knocks, "every device did its knocks: {acked}");
    assert!(in_knock > 0 && in_sync > 0, "kills landed in both phases");
    assert_eq!(server_restarts.load(Ordering::Relaxed), server_kills);
    assert!(
        stats.cut.load(Ordering::Relaxed) > 0 && stats.dropped.load(Ordering::Relaxed) > 0,
        "the network misbehaved"
    );
}
