//! Load soak: many phones syncing for minutes over loopback HTTP against the server on its embedded
//! SQLite file. Each phone is the real field core on its own file: it knocks one or two doors, syncs
//! (push then pull), waits 2–8 s, and again, until the time is up (a bounded loop), then drains.
//! The server's per-credential rate limit is set tight on purpose so that some requests get 429 with
//! `Retry-After`, which the phones must honour (the core waits, then retries) without an error.
//! Reports: syncs, latency p50/p99/max, 429s, 5xx, sync errors, reports on the server against
//! knocks made, and the process's resident memory after the first minute, at the end and at most.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-soak -- [DEVICES=2000] [SECONDS=300] [tight|default|process]`
//! (`tight`, the default: the rate limit set to provoke 429s; `default`: the server's own limits;
//! `process`: the server's own limits, the server in its own process (`fault-server`, built with
//! this binary) so that its memory is measured alone; 429s and 5xx are then not counted).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_server::service::Service;
use doorstep_server::store::ServerStore;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;

/// Resident memory of this process, or of `pid`.
fn rss_mb(pid: Option<u32>) -> f64 {
    let path = pid.map_or("/proc/self/status".to_string(), |p| format!("/proc/{p}/status"));
    let s = std::fs::read_to_string(path).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    too_many: AtomicU64,
    server_errors: AtomicU64,
}

#[tokio::main]
async fn main() {
    let devices: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let seconds: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(300);
    let per_turf = 3usize;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    let mut service = Service::new(store.clone());
    // Deliberately tight: a burst of 4 requests per phone, then one every 5 s (a sync is two).
    let mode = std::env::args().nth(3).unwrap_or_else(|| "tight".into());
    if mode == "tight" {
        service.rate_limits.token_burst = 4.0;
        service.rate_limits.token_per_s = 0.2;
    }
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(devices * per_turf);
    assert!(buildings.len() >= devices * per_turf, "not enough addresses for {devices} turfs");
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let counters = Arc::new(Counters::default());
    let app = {
        let c = counters.clone();
        doorstep_server::api::app(service.clone()).layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let c = c.clone();
                async move {
                    let resp = next.run(req).await;
                    c.requests.fetch_add(1, Ordering::Relaxed);
                    if resp.status().as_u16() == 429 {
                        c.too_many.fetch_add(1, Ordering::Relaxed);
                    } else if resp.status().is_server_error() {
                        c.server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    resp
                }
            },
        ))
    };
    let mut server_process = None;
    let base = if mode == "process" {
        use std::io::BufRead;
        let exe = std::env::current_exe().unwrap().with_file_name("fault-server");
        let mut child = std::process::Command::new(&exe)
            .arg(dir.path().join("server.db"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (cargo build --release -p doorstep-tests --bins)", exe.display()));
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("READY ").expect("READY").to_string();
        server_process = Some(child);
        format!("http://{addr}")
    } else {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    };
    let measured = server_process.as_ref().map(|c| c.id());

    let setup = Instant::now();
    let mut phones = Vec::with_capacity(devices);
    for i in 0..devices {
        let ids: Vec<String> = buildings[i * per_turf..(i + 1) * per_turf].iter().map(|b| b.id.clone()).collect();
        phones.push(doorstep_tests::load_phone(&service, &store, &campaign.id, i, &ids, &base, dir.path()).await);
    }
    eprintln!("setup: {devices} phones joined in {:.1} s", setup.elapsed().as_secs_f64());

    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let rss = Arc::new(std::sync::Mutex::new((0.0f64, 0.0f64))); // (after the first minute, max)
    {
        let rss = rss.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let now = rss_mb(measured);
                let mut g = rss.lock().unwrap();
                if g.0 == 0.0 && start.elapsed() >= Duration::from_secs(60.min(seconds / 2)) {
                    g.0 = now;
                }
                g.1 = g.1.max(now);
            }
        });
    }
    let mut tasks = Vec::with_capacity(devices);
    for (i, (st, tr, turf)) in phones.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut rand = move |n: u64| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % n
            };
            let (mut lat, mut errors, mut knocks) = (Vec::new(), 0u64, 0u64);
            let doors: Vec<String> = {
                sync(&st, &tr, RetryPolicy::default(), &()).await.unwrap().unwrap();
                let r = st.route_progress(&turf).unwrap();
                r.remaining.iter().flat_map(|s| s.doors.iter().map(|d| d.id.clone())).collect()
            };
            // Phones start spread over the first 8 s, as they would.
            tokio::time::sleep(Duration::from_millis(rand(8000))).await;
            while Instant::now() < deadline {
                for _ in 0..1 + rand(2) {
                    let door = &doors[rand(doors.len() as u64) as usize];
                    st.record_knock(doorstep_tests::knock_on(door.clone(), "not_home")).unwrap();
                    knocks += 1;
                }
                let t = Instant::now();
                match sync(&st, &tr, RetryPolicy::default(), &()).await.unwrap() {
                    Ok(_) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    Err(_) => errors += 1,
                }
                tokio::time::sleep(Duration::from_millis(2000 + rand(6000))).await;
            }
            // Drain what is left.
            if sync(&st, &tr, RetryPolicy::default(), &()).await.unwrap().is_err() {
                errors += 1;
            }
            (lat, errors, knocks, st.pending_count().unwrap())
        }));
    }
    let (mut lat, mut errors, mut knocks, mut pending) = (Vec::new(), 0, 0, 0);
    for t in tasks {
        let (l, e, k, p) = t.await.unwrap();
        lat.extend(l);
        errors += e;
        knocks += k;
        pending += p;
    }
    let wall = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let q = |f: f64| lat.get(((lat.len().max(1) - 1) as f64 * f).round() as usize).copied().unwrap_or(0.0);
    let held = store.reports(&campaign.id).await.unwrap().len() as u64;
    let (rss_minute, rss_max) = *rss.lock().unwrap();
    let rss_end = rss_mb(measured);
    if let Some(mut c) = server_process {
        let _ = c.kill();
        let _ = c.wait();
    }
    println!(
        "| phones | minutes | syncs | sync p50 ms | p99 ms | max ms | requests | 429 (honoured) | 5xx | sync errors | knocks | reports on server | RSS after 1 min MB | at end | max |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {devices} | {:.1} | {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {errors} | {knocks} | {held} | {rss_minute:.0} | {rss_end:.0} | {rss_max:.0} |",
        wall / 60.0,
        lat.len(),
        q(0.5),
        q(0.99),
        q(1.0),
        counters.requests.load(Ordering::Relaxed),
        counters.too_many.load(Ordering::Relaxed),
        counters.server_errors.load(Ordering::Relaxed),
    );
    assert_eq!(errors, 0, "a sync failed");
    assert_eq!(pending, 0, "an outbox did not drain");
    assert_eq!(held, knocks, "every knock on the server once");
    assert_eq!(counters.server_errors.load(Ordering::Relaxed), 0, "5xx answers");
    if measured.is_some() {
        println!("(server in its own process: RSS is the server's alone; 429 and 5xx not counted there)");
    }
}
