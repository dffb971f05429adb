//! Many devices syncing at once over loopback HTTP against `doorstep-server`'s API on its embedded
//! SQLite backend. Each device is the real field core on its own SQLite file: it joins, pulls its
//! turf, records knocks offline, then all devices sync at the same moment; each sync's latency
//! (push then pull) is recorded.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-load-bench [-- DEVICES [BACKEND]]` (default
//! 1000 devices on SQLite with group commit; `ungrouped`: SQLite with one commit per write, as
//! before group commit; `postgres`: the same on a database made on `DATABASE_URL`'s server and
//! dropped afterwards). `DOORSTEP_LOAD_MAX_IN_FLIGHT` sets the server's shedding limit (64 by
//! default, as `serve`).

use std::sync::Arc;
use std::time::Instant;

use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_server::service::Service;
use doorstep_server::store::ServerStore;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;

#[tokio::main]
async fn main() {
    let devices: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let postgres = std::env::args().nth(2).is_some_and(|a| a == "postgres");
    let ungrouped = std::env::args().nth(2).is_some_and(|a| a == "ungrouped");
    let per_turf = 7usize;
    let dir = tempfile::tempdir().unwrap();
    let pg = if postgres { Some(doorstep_tests::TestDatabase::create().await) } else { None };
    let group = if ungrouped { 1 } else { doorstep_server::store::sqlite::MAX_GROUP };
    let sqlite = (!postgres).then(|| SqliteStore::open_grouped(dir.path().join("server.db"), group).unwrap());
    let store: Arc<dyn ServerStore> = match (&pg, &sqlite) {
        (Some(db), _) => Arc::new(doorstep_server::store::postgres::PgStore::connect(&db.url, 16).await.unwrap()),
        (None, Some(s)) => Arc::new(s.clone()),
        (None, None) => unreachable!(),
    };
    let backend = match (postgres, ungrouped) {
        (true, _) => "PostgreSQL",
        (false, true) => "SQLite, one commit per write",
        (false, false) => "SQLite, group commit",
    };
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(devices * per_turf);
    assert!(buildings.len() >= devices * per_turf, "not enough addresses for {devices} turfs");
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let admission = service.admission.clone();
    // `DOORSTEP_LOAD_MAX_IN_FLIGHT`: the shedding limit (`serve --max-in-flight`; a large number:
    // none).
    if let Some(n) = std::env::var("DOORSTEP_LOAD_MAX_IN_FLIGHT").ok().and_then(|v| v.parse().ok()) {
        admission.set_limit(n);
    }
    tokio::spawn(async move { axum::serve(listener, doorstep_server::api::app(service.clone())).await.unwrap() });
    let service = Service::new(store.clone());

    let setup = Instant::now();
    let mut phones = Vec::with_capacity(devices);
    for i in 0..devices {
        let ids: Vec<String> = buildings[i * per_turf..(i + 1) * per_turf].iter().map(|b| b.id.clone()).collect();
        let (st, tr, turf) =
            doorstep_tests::load_phone(&service, &store, &campaign.id, i, &ids, &base, dir.path()).await;
        sync(&st, &tr, RetryPolicy::default(), &()).await.unwrap().unwrap();
        let route = st.route_progress(&turf).unwrap();
        for door in route.remaining.iter().flat_map(|s| &s.doors).take(5) {
            st.record_knock(doorstep_tests::knock_on(door.id.clone(), "not_home")).unwrap();
        }
        phones.push((st, tr));
    }
    eprintln!("setup: {devices} devices joined and pulled in {:.1} s", setup.elapsed().as_secs_f64());

    let phones = Arc::new(phones);
    let before = sqlite.as_ref().map(SqliteStore::group_commits);
    let me = [std::process::id()];
    let (cpu0, pg0) = (doorstep_tests::cpu::cpu_seconds(&me, false), doorstep_tests::cpu::postgres_cpu());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(devices);
    for i in 0..devices {
        let phones = phones.clone();
        tasks.push(tokio::spawn(async move {
            let (st, tr) = &phones[i];
            let t = Instant::now();
            let r = sync(st, tr, RetryPolicy::default(), &()).await.unwrap();
            (t.elapsed().as_secs_f64() * 1000.0, r.is_ok(), r.map(|r| r.pending_after).unwrap_or(u32::MAX))
        }));
    }
    let mut lat = Vec::with_capacity(devices);
    let mut errors = 0;
    for t in tasks {
        let (ms, ok, pending) = t.await.unwrap();
        if !ok || pending != 0 {
            errors += 1;
        }
        lat.push(ms);
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = doorstep_tests::cpu::cpu_seconds(&me, false) - cpu0;
    let pg_cpu = if postgres { doorstep_tests::cpu::postgres_cpu() - pg0 } else { 0.0 };
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
    let held = store.reports(&campaign.id).await.unwrap().len();
    println!(
        "| backend | devices syncing at once | sync p50 ms | p99 ms | max ms | wall s | reports on server | errors |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {backend} | {devices} | {:.0} | {:.0} | {:.0} | {wall:.2} | {held} | {errors} |",
        p(0.5),
        p(0.99),
        p(1.0)
    );
    // Everything — the phones' stores and clients, the server, SQLite — runs in this process (on
    // PostgreSQL its own processes come on top): the CPU it used over the burst bounds how short
    // the burst can be on this machine's cores.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!(
        "\nCPU over the burst: this process {cpu:.2} s, PostgreSQL {pg_cpu:.2} s ({:.2} ms a sync in all); on \
         {cores} cores the burst cannot end before {:.2} s; syncs told to wait (503 busy): {}",
        (cpu + pg_cpu) * 1000.0 / devices as f64,
        (cpu + pg_cpu) / cores,
        admission.shed_count()
    );
    if let (Some(s), Some((c0, o0))) = (&sqlite, before) {
        let (c, o) = s.group_commits();
        println!("\nwrites during the burst: {} operations in {} commits", o - o0, c - c0);
    }
    assert_eq!(held, devices * 5, "every report once");
    assert_eq!(errors, 0);
    if let Some(db) = pg {
        drop(store);
        db.drop_now().await;
    }
}
