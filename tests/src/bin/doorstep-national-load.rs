//! A load model at national scale (issue 21, Deliver 6): bounded, loopback only, outside CI.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-national-load` — 100,000 devices (each a
//! volunteer with a token, most with a turf of about 10 doors) on one PostgreSQL database (made on
//! `DATABASE_URL`'s server, dropped afterwards) served by three `doorstep-server serve` processes
//! (this binary started again with `serve`: the command line's own entry point) behind a
//! round-robin loopback balancer. Every device first pulls its package (a session's start), then
//! syncs every 10 minutes ± 10 % as the phone's background sync does: push what it holds, pull,
//! sessions, reminders, team messages, its people page — the same requests through the core's own
//! `HttpTransport`, a new client and connection for each sync, retried with the core's default
//! policy (250 ms doubling to 30 s, ± 25 %, 8 attempts; `Retry-After` obeyed).
//!
//! Phases, one after the other: steady polling; an evening peak where each sync carries the
//! knocks made since the last one (5,000 reports/s over the whole fleet: 30 per sync); an outage
//! (the balancer cuts every connection and refuses new ones); the recovery, where the devices whose
//! syncs failed come back together (the reconnect storm). Printed per phase: syncs, p50/p99/max,
//! failures (a sync that gave up after its attempts), requests retried, CPU of the three server
//! processes, of PostgreSQL and of this load generator, and the database's size; at the end every
//! acknowledged report is checked to be stored once.
//!
//! Environment (defaults): `DOORSTEP_LOAD_DEVICES` (100000), `DOORSTEP_LOAD_DOORS` (10 doors per
//! turf), `DOORSTEP_LOAD_PERIOD_S` (600), `DOORSTEP_LOAD_STEADY_S` (120), `DOORSTEP_LOAD_PEAK_S`
//! (60), `DOORSTEP_LOAD_PEAK_RATE` (5000 reports/s), `DOORSTEP_LOAD_OUTAGE_S` (60),
//! `DOORSTEP_LOAD_RECOVERY_S` (120), `DOORSTEP_LOAD_TEAM` (0: no teams; n: the volunteers in teams
//! of n, whose people views then carry their teammates' pages).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{Transport, TransportError};
use doorstep_protocol::{HeldTurf, MessageSince, PROTOCOL_VERSION, PullRequest, PushRequest};
use doorstep_server::service::Service;
use doorstep_server::store::postgres::PgStore;
use doorstep_server::store::{ServerStore, StoreOps};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        // One of the three server processes: the `doorstep-server` command line itself.
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
        return rt.block_on(doorstep_server::command::run());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    rt.block_on(model());
    ExitCode::SUCCESS
}

/// What one simulated device holds between syncs.
struct Device {
    token: String,
    device_id: String,
    volunteer: String,
    turf: Option<(String, u64, Vec<String>)>,
    cursor: Option<String>,
    since: BTreeMap<String, u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Steady,
    Peak,
    Outage,
    Recovery,
}

const PHASES: [Phase; 4] = [Phase::Steady, Phase::Peak, Phase::Outage, Phase::Recovery];

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Steady => "steady polling",
            Phase::Peak => "evening peak",
            Phase::Outage => "outage",
            Phase::Recovery => "recovery (reconnect storm)",
        }
    }
}

/// One sync as measured: the phase it started in, its time from first try to the answer (retries
/// and waits included), its attempts, whether it gave up, and the reports it had acknowledged.
struct Sample {
    phase: Phase,
    started_s: f64,
    ms: f64,
    attempts: u32,
    gave_up: bool,
    acked: u32,
    /// Attempts answered "busy, come back in …" (503 or 429).
    busy: u32,
}

/// Why sync attempts failed, over the run.
static ERRORS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// A small deterministic random source (xorshift), one per device task.
struct Rand(u64);
impl Rand {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The pull a device sends: its cursor and the turf it holds, at the version it holds.
fn pull_request(d: &Device) -> PullRequest {
    let held = d
        .turf
        .iter()
        .map(|(id, version, _)| HeldTurf { turf_id: id.clone(), version: *version, staged: false })
        .collect();
    PullRequest { protocol: PROTOCOL_VERSION, cursor: d.cursor.clone(), held }
}

/// Runs one request alone and keeps its time in milliseconds under `name`.
async fn timed<T, E: std::fmt::Debug>(
    times: &mut BTreeMap<&'static str, Vec<f64>>,
    name: &'static str,
    request: impl std::future::Future<Output = Result<T, E>>,
) {
    let t = Instant::now();
    request.await.unwrap();
    times.entry(name).or_default().push(t.elapsed().as_secs_f64() * 1000.0);
}

/// `p` (0–100) of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p / 100.0).round() as usize]
}

/// One background sync as the core's `sync()` makes it: the whole sync tried again on a network
/// failure or a busy answer, 250 ms doubling to 30 s (± 25 %), at least the `Retry-After` and up
/// to half as long again, 8 attempts. Returns the attempts, whether it gave up, and the reports
/// acknowledged.
async fn sync_once(
    client: &HttpTransport,
    d: &mut Device,
    reports: u32,
    campaign: &str,
    rand: &mut Rand,
    next_id: &AtomicU32,
) -> (u32, bool, u32, u32) {
    let net = client.with_token(Some(d.token.clone()));
    // The outbox: the same reports (the same ids) on every attempt.
    let mut push = match &d.turf {
        Some((turf, _, doors)) if reports > 0 && !doors.is_empty() => Some(PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: d.device_id.clone(),
            reports: (0..reports)
                .map(|k| {
                    let n = next_id.fetch_add(1, Ordering::Relaxed);
                    let door = &doors[k as usize % doors.len()];
                    doorstep_tests::report(n, campaign, turf, door, &d.volunteer, &d.device_id)
                })
                .collect(),
        }),
        _ => None,
    };
    let mut delay = 0.25f64;
    let (mut attempts, mut busy, mut acked) = (0, 0, 0);
    let planned = push.as_ref().map_or(0, |p| p.reports.len() as u32);
    let mut pushed_counted = planned == 0;
    loop {
        attempts += 1;
        let answer = sync_attempt(&net, d, &mut push).await;
        busy += u32::from(matches!(answer, Err(TransportError::Busy { .. })));
        if let Err(e) = &answer
            && push.is_none()
            && !pushed_counted
        {
            // The push went through before a later request failed.
            pushed_counted = true;
            acked += planned;
            let _ = e;
        }
        if let Err(e) = &answer {
            let kind: String = e.to_string().chars().take(70).collect();
            *ERRORS.lock().unwrap().entry(kind).or_default() += 1;
        }
        match answer {
            Ok(n) => return (attempts, false, if pushed_counted { acked } else { n }, busy),
            Err(TransportError::Refused(_)) => return (attempts, true, acked, busy),
            Err(_) if attempts >= 8 => return (attempts, true, acked, busy),
            Err(e) => {
                let jitter = 0.75 + 0.5 * rand.next();
                let floor = match &e {
                    TransportError::Busy { retry_after, .. } => retry_after.as_secs_f64() * (jitter + 0.25),
                    _ => 0.0,
                };
                tokio::time::sleep(Duration::from_secs_f64((delay * jitter).max(floor))).await;
                delay = (delay * 2.0).min(30.0);
            }
        }
    }
}

/// The requests of one sync attempt: push, pull, sessions, reminders, the team's messages, the
/// volunteer's people page; as in the core's sync, only the push and the pull can fail it.
async fn sync_attempt(
    net: &HttpTransport,
    d: &mut Device,
    push: &mut Option<PushRequest>,
) -> Result<u32, TransportError> {
    let mut acked = 0;
    if let Some(req) = push.as_ref() {
        let resp = net.push(req).await?;
        acked = resp
            .results
            .iter()
            .filter(|r| {
                matches!(r.status, doorstep_protocol::ItemStatus::Accepted | doorstep_protocol::ItemStatus::Duplicate)
            })
            .count() as u32;
        // Acknowledged: out of the outbox, not sent again by a later attempt of this sync.
        *push = None;
    }
    let req = pull_request(d);
    let resp = net.pull(&req).await?;
    apply_pull(d, resp);
    // As the core: a failure from here on is no failure of the sync (refreshed next time).
    let _ = net.sessions().await;
    let _ = net.reminders().await;
    let since = MessageSince { protocol: PROTOCOL_VERSION, since: d.since.clone() };
    if let Ok(Some(feed)) = net.message_feed(&since).await {
        for m in &feed.messages {
            let seen = d.since.entry(m.channel_id.clone()).or_default();
            *seen = (*seen).max(m.seq);
        }
    }
    let _ = net.people_view().await;
    Ok(acked)
}

fn apply_pull(d: &mut Device, resp: doorstep_protocol::PullResponse) {
    d.cursor = Some(resp.cursor);
    for b in resp.buckets {
        let doors = match (&b.package, &d.turf) {
            (Some(p), _) => p.doors.iter().map(|x| x.id.clone()).collect(),
            (None, Some((id, _, doors))) if *id == b.turf_id => doors.clone(),
            (None, _) => Vec::new(),
        };
        d.turf = Some((b.turf_id, b.version, doors));
    }
    if resp.removed.iter().any(|r| d.turf.as_ref().is_some_and(|(id, _, _)| id == r)) {
        d.turf = None;
    }
}

async fn model() {
    // Many sockets at once (each sync's, the balancer's two): raise this process's descriptors
    // (the server processes inherit it).
    unsafe {
        let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        let want = libc::rlimit { rlim_cur: 262_144, rlim_max: l.rlim_max.max(262_144) };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) != 0 {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
    let devices = env("DOORSTEP_LOAD_DEVICES", 100_000) as usize;
    let doors_per_turf = env("DOORSTEP_LOAD_DOORS", 10) as u32;
    let period = env("DOORSTEP_LOAD_PERIOD_S", 600) as f64;
    let lengths = [
        env("DOORSTEP_LOAD_STEADY_S", 120) as f64,
        env("DOORSTEP_LOAD_PEAK_S", 60) as f64,
        env("DOORSTEP_LOAD_OUTAGE_S", 60) as f64,
        env("DOORSTEP_LOAD_RECOVERY_S", 120) as f64,
    ];
    let peak_rate = env("DOORSTEP_LOAD_PEAK_RATE", 5000) as f64;
    let team = env("DOORSTEP_LOAD_TEAM", 0) as usize;
    let per_sync_at_peak = (peak_rate * period / devices as f64).round() as u32;
    // The core's transport installs the process's rustls provider, which reqwest needs.
    HttpTransport::new("http://127.0.0.1:9", None).unwrap();

    let db = doorstep_tests::TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let pg = PgStore::connect(&db.url, 4).await.unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(pg);
    let service = Service::new(store.clone());
    let campaign = doorstep_tests::campaign();
    service.create_campaign(&campaign).await.unwrap();

    // The addresses: streets of 20 buildings, a street a kilometre from the next, over France;
    // every 10th building a staircase of 8 doors (as the Nantes excerpt's packages), about 1.7
    // doors a building.
    let setup = Instant::now();
    let buildings_wanted = devices * doors_per_turf as usize * 10 / 17;
    let addresses: Vec<doorstep_tests::Address> = (0..buildings_wanted)
        .map(|i| {
            let (street, number) = (i / 20, i % 20);
            let (row, col) = (street / 700, street % 700);
            doorstep_tests::Address {
                id: format!("b{street}-{number}"),
                street: format!("Rue du Modèle {street}"),
                house_number: (number + 1).to_string(),
                postcode: format!("{:05}", 1000 + (street / 50) % 94000),
                city: format!("Commune {}", street / 50),
                lat: 43.5 + row as f64 * 0.01,
                lon: -1.5 + col as f64 * 0.01 + number as f64 * 0.00015,
            }
        })
        .collect();
    let package = doorstep_tests::turf_package_of("import", &addresses);
    drop(addresses);
    let door_count = package.doors.len();
    store
        .import(&campaign.id, &doorstep_tests::import_of(&package.buildings, &package.entrances, &package.doors))
        .await
        .unwrap();
    drop(package);
    let imported = setup.elapsed().as_secs_f64();
    let coordinator = doorstep_tests::coordinator(&campaign.id);
    store.create_user(&coordinator.user).await.unwrap();
    let cut = doorstep_server::intake::CutRequest { target_doors: Some(doors_per_turf), ..Default::default() };
    let cut = service.cut_turfs(&coordinator, cut).await.unwrap();
    let cut_s = setup.elapsed().as_secs_f64() - imported;
    eprintln!("setup: {door_count} doors imported in {imported:.0} s, {} turfs cut in {cut_s:.0} s", cut.turfs.len());

    // Volunteers and their devices, written in bulk (what a join writes: a user, a device token).
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut fleet = Vec::with_capacity(devices);
    for chunk in (0..devices).collect::<Vec<_>>().chunks(5000) {
        let (mut ids, mut names, mut hashes, mut device_ids) = (vec![], vec![], vec![], vec![]);
        for &i in chunk {
            let token = doorstep_server::auth::new_token();
            ids.push(format!("vol-{i:06}"));
            names.push(format!("Bénévole {i}"));
            hashes.push(doorstep_server::auth::hash_secret(&token));
            device_ids.push(format!("load-{i:06}"));
            fleet.push(Device {
                token,
                device_id: format!("load-{i:06}"),
                volunteer: format!("vol-{i:06}"),
                turf: None,
                cursor: None,
                since: BTreeMap::new(),
            });
        }
        client
            .execute(
                "INSERT INTO users (id, campaign_id, role, display_name) \
                 SELECT u, $2, 'volunteer', n FROM unnest($1::text[], $3::text[]) AS t(u, n)",
                &[&ids, &campaign.id, &names],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO devices (token_hash, device_id, user_id, created_ms, expires_ms) \
                 SELECT h, d, u, $4, $5 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(h, d, u)",
                &[&hashes, &device_ids, &ids, &now, &(now + 30 * 86_400_000)],
            )
            .await
            .unwrap();
    }
    // Teams of `team` volunteers each (a phone's people view then holds its teammates' pages).
    if team > 0 {
        let teams = devices.div_ceil(team) as i64;
        client
            .execute(
                "INSERT INTO teams (id, campaign_id, name) \
                 SELECT 'team-' || g, $1, 'Équipe ' || g FROM generate_series(0, $2::int8 - 1) AS g",
                &[&campaign.id, &teams],
            )
            .await
            .unwrap();
        client
            .execute(
                "UPDATE users SET team_id = 'team-' || (substr(id, 5)::int8 / $2::int8) \
                 WHERE campaign_id = $1 AND role = 'volunteer'",
                &[&campaign.id, &(team as i64)],
            )
            .await
            .unwrap();
    }
    // Each turf checked out to one volunteer, through the store (its version and op log move).
    let turfs: Vec<String> =
        client.query("SELECT id FROM turfs ORDER BY id", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    let assigned = turfs.len().min(devices);
    let mut tasks = tokio::task::JoinSet::new();
    for part in 0..8 {
        let (store, turfs) = (store.clone(), turfs.clone());
        tasks.spawn(async move {
            for (i, t) in turfs.iter().enumerate().take(assigned).skip(part).step_by(8) {
                store.assign_turf(t, Some(&format!("vol-{i:06}")), None).await.unwrap();
            }
        });
    }
    tasks.join_all().await;
    eprintln!(
        "setup: {devices} volunteers and devices, {assigned} turfs checked out, in {:.0} s",
        setup.elapsed().as_secs_f64()
    );

    // Three processes, one key file, behind the balancer.
    let key = dir.path().join("secret.key");
    std::fs::write(&key, "7".repeat(64)).unwrap();
    let mut processes = Vec::new();
    let exe = std::env::current_exe().expect("this binary");
    for i in 0..3 {
        let log = std::env::temp_dir().join(format!("doorstep-national-load-{}-{i}.log", std::process::id()));
        eprintln!("server process {i}: warnings and errors in {}", log.display());
        processes.push(doorstep_tests::server_process::start(&exe, &db.url, &key, Some(log)).await);
    }
    let server_pids: Vec<u32> = processes.iter().filter_map(|(c, _)| c.id()).collect();
    let backends = processes.iter().map(|(_, b)| b.trim_start_matches("http://").parse().unwrap()).collect();
    let lb = Arc::new(doorstep_tests::balancer::Balancer::start(backends).await);
    // One HTTP client for the whole fleet (its pool keeps connections to the balancer open), each
    // device with its own token: building a client per sync cost the generator 4 ms a sync.
    let base = Arc::new(HttpTransport::new(&lb.url(), None).unwrap());
    let me = [std::process::id()];

    // A session's start: every device pulls its first package, 32 at a time.
    let start = Instant::now();
    let cpu0 = (
        doorstep_tests::cpu::cpu_seconds(&server_pids, false),
        doorstep_tests::cpu::postgres_cpu(),
        doorstep_tests::cpu::cpu_seconds(&me, false),
    );
    let fleet: Arc<Vec<Mutex<Option<Device>>>> = Arc::new(fleet.into_iter().map(|d| Mutex::new(Some(d))).collect());
    let first_ms = Arc::new(Mutex::new(Vec::with_capacity(devices)));
    let failed_first = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..32 {
        let (fleet, base, first_ms, failed_first) =
            (fleet.clone(), base.clone(), first_ms.clone(), failed_first.clone());
        tasks.spawn(async move {
            let mut rand = Rand(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
            for i in (w..fleet.len()).step_by(32) {
                let mut d = fleet[i].lock().unwrap().take().unwrap();
                let net = base.with_token(Some(d.token.clone()));
                let req = PullRequest { protocol: PROTOCOL_VERSION, cursor: None, held: vec![] };
                let t = Instant::now();
                let mut answer = net.pull(&req).await;
                for _ in 0..7 {
                    match &answer {
                        Err(TransportError::Busy { retry_after, .. }) => {
                            tokio::time::sleep(retry_after.mul_f64(1.0 + 0.5 * rand.next())).await
                        }
                        Err(TransportError::Unavailable(_)) => tokio::time::sleep(Duration::from_millis(250)).await,
                        _ => break,
                    }
                    answer = net.pull(&req).await;
                }
                match answer {
                    Ok(resp) => apply_pull(&mut d, resp),
                    Err(_) => {
                        failed_first.fetch_add(1, Ordering::Relaxed);
                    }
                }
                first_ms.lock().unwrap().push(t.elapsed().as_secs_f64() * 1000.0);
                *fleet[i].lock().unwrap() = Some(d);
            }
        });
    }
    tasks.join_all().await;
    let first_wall = start.elapsed().as_secs_f64();
    let cpu1 = (
        doorstep_tests::cpu::cpu_seconds(&server_pids, false),
        doorstep_tests::cpu::postgres_cpu(),
        doorstep_tests::cpu::cpu_seconds(&me, false),
    );
    let mut first = first_ms.lock().unwrap().clone();
    first.sort_by(f64::total_cmp);
    let with_turf = fleet.iter().filter(|d| d.lock().unwrap().as_ref().is_some_and(|d| d.turf.is_some())).count();
    println!(
        "first packages: {devices} devices in {first_wall:.1} s ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms, {} failed, {with_turf} hold a turf; CPU s: servers {:.1}, PostgreSQL {:.1}, load generator {:.1}",
        devices as f64 / first_wall,
        pct(&first, 50.0),
        pct(&first, 99.0),
        failed_first.load(Ordering::Relaxed),
        cpu1.0 - cpu0.0,
        cpu1.1 - cpu0.1,
        cpu1.2 - cpu0.2,
    );
    if std::env::var("DOORSTEP_LOAD_PROBE").is_ok() {
        // Where a sync's time goes: each request of a sync, one device after another, alone.
        let mut times: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
        for i in 0..200 {
            let d = fleet[i * (devices / 200)].lock().unwrap().take().unwrap();
            let net = base.with_token(Some(d.token.clone()));
            let pull = pull_request(&d);
            let since = MessageSince { protocol: PROTOCOL_VERSION, since: d.since.clone() };
            if let Some((turf, _, doors)) = d.turf.as_ref().filter(|t| !t.2.is_empty()) {
                let reports = (0..30)
                    .map(|k| {
                        let n = 4_000_000_000 - (i * 30 + k) as u32;
                        doorstep_tests::report(
                            n,
                            &campaign.id,
                            turf,
                            &doors[k % doors.len()],
                            &d.volunteer,
                            &d.device_id,
                        )
                    })
                    .collect();
                let push = PushRequest { protocol: PROTOCOL_VERSION, device_id: d.device_id.clone(), reports };
                timed(&mut times, "push of 30", net.push(&push)).await;
            }
            timed(&mut times, "pull", net.pull(&pull)).await;
            timed(&mut times, "sessions", net.sessions()).await;
            timed(&mut times, "reminders", net.reminders()).await;
            timed(&mut times, "feed", net.message_feed(&since)).await;
            timed(&mut times, "people", net.people_view()).await;
            *fleet[i * (devices / 200)].lock().unwrap() = Some(d);
        }
        for (k, mut v) in times {
            v.sort_by(f64::total_cmp);
            println!("probe {k}: p50 {:.2} ms, p90 {:.2} ms", pct(&v, 50.0), pct(&v, 90.0));
        }
    }
    let db_size_before: i64 =
        client.query_one("SELECT pg_database_size(current_database())", &[]).await.unwrap().get(0);

    // The run: every device syncs every period ± 10 %, from a random point of its first period.
    let t0 = Instant::now();
    let bounds: [f64; 4] = [
        lengths[0],
        lengths[0] + lengths[1],
        lengths[0] + lengths[1] + lengths[2],
        lengths[0] + lengths[1] + lengths[2] + lengths[3],
    ];
    let end = bounds[3];
    let phase_at = move |s: f64| PHASES[bounds.iter().position(|b| s < *b).unwrap_or(3)];
    let samples = Arc::new(Mutex::new(Vec::<Sample>::with_capacity(devices)));
    let next_id = Arc::new(AtomicU32::new(1));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..devices {
        let (fleet, base, samples, next_id) = (fleet.clone(), base.clone(), samples.clone(), next_id.clone());
        let campaign = campaign.id.clone();
        tasks.spawn(async move {
            let mut rand = Rand(0xD1B5_4A32_D192_ED03 ^ (i as u64 * 0x9E37_79B9 + 7));
            let mut d = fleet[i].lock().unwrap().take().unwrap();
            let mut next = rand.next() * period;
            while next < end {
                let wait = next - t0.elapsed().as_secs_f64();
                if wait > 0.0 {
                    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                }
                let started_s = t0.elapsed().as_secs_f64();
                let phase = phase_at(started_s);
                let reports = if phase == Phase::Peak { per_sync_at_peak } else { 0 };
                let t = Instant::now();
                let (attempts, gave_up, acked, busy) =
                    sync_once(&base, &mut d, reports, &campaign, &mut rand, &next_id).await;
                samples.lock().unwrap().push(Sample {
                    phase,
                    started_s,
                    ms: t.elapsed().as_secs_f64() * 1000.0,
                    attempts,
                    gave_up,
                    acked,
                    busy,
                });
                next += period * (0.9 + 0.2 * rand.next());
            }
            *fleet[i].lock().unwrap() = Some(d);
        });
    }
    // The phases' clock: CPU at each boundary, the outage on the balancer.
    let mut cpu_at = vec![cpu1];
    for (k, b) in bounds.iter().enumerate() {
        let wait = b - t0.elapsed().as_secs_f64();
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        cpu_at.push((
            doorstep_tests::cpu::cpu_seconds(&server_pids, false),
            doorstep_tests::cpu::postgres_cpu(),
            doorstep_tests::cpu::cpu_seconds(&me, false),
        ));
        if k == 1 {
            lb.set_down(true);
            eprintln!("outage: the balancer cuts every connection");
        }
        if k == 2 {
            lb.set_down(false);
            eprintln!("outage over");
        }
    }
    tasks.join_all().await;
    let wall = t0.elapsed().as_secs_f64();
    let db_size_after: i64 = client.query_one("SELECT pg_database_size(current_database())", &[]).await.unwrap().get(0);

    let samples = std::mem::take(&mut *samples.lock().unwrap());
    println!(
        "\n{devices} devices every {period:.0} s ± 10 %{}, 3 server processes, PostgreSQL; peak {per_sync_at_peak} reports a sync ({:.0} reports/s offered)\n",
        if team > 0 { format!(", in teams of {team}") } else { String::new() },
        per_sync_at_peak as f64 * devices as f64 / period
    );
    println!(
        "| phase | seconds | syncs started | p50 ms | p99 ms | max ms | gave up | syncs tried again (told busy) | reports acknowledged (per s) | CPU cores: servers / PostgreSQL / load generator |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (k, phase) in PHASES.iter().enumerate() {
        let of: Vec<&Sample> = samples.iter().filter(|s| s.phase == *phase).collect();
        let mut ms: Vec<f64> = of.iter().filter(|s| !s.gave_up).map(|s| s.ms).collect();
        ms.sort_by(f64::total_cmp);
        let retried: u64 = of.iter().map(|s| u64::from(s.attempts.saturating_sub(1))).sum();
        let acked: u64 = of.iter().map(|s| u64::from(s.acked)).sum();
        let secs = lengths[k];
        let (a, b) = (cpu_at[k], cpu_at[k + 1]);
        println!(
            "| {} | {secs:.0} | {} | {:.0} | {:.0} | {:.0} | {} | {retried} ({}) | {acked} ({:.0}) | {:.2} / {:.2} / {:.2} |",
            phase.name(),
            of.len(),
            pct(&ms, 50.0),
            pct(&ms, 99.0),
            ms.last().copied().unwrap_or(f64::NAN),
            of.iter().filter(|s| s.gave_up).count(),
            of.iter().map(|s| u64::from(s.busy)).sum::<u64>(),
            acked as f64 / secs,
            (b.0 - a.0) / secs,
            (b.1 - a.1) / secs,
            (b.2 - a.2) / secs,
        );
    }
    // The storm: syncs started in each second after the outage, and when the last one that
    // failed during it was answered.
    let outage_end = bounds[2];
    let mut per_second = BTreeMap::<u64, u64>::new();
    for s in samples.iter().filter(|s| s.started_s >= bounds[1]) {
        let answered = s.started_s + s.ms / 1000.0;
        if answered >= outage_end && !s.gave_up {
            *per_second.entry((answered - outage_end) as u64).or_default() += 1;
        }
    }
    let storm_peak = per_second.values().max().copied().unwrap_or(0);
    let caught_up = samples
        .iter()
        .filter(|s| s.phase == Phase::Outage && !s.gave_up)
        .map(|s| s.started_s + s.ms / 1000.0 - outage_end)
        .fold(0.0f64, f64::max);
    println!(
        "\nreconnect storm: up to {storm_peak} syncs answered in one second after the outage (steady: {:.0}/s); the last sync begun during the outage answered {caught_up:.1} s after it",
        devices as f64 / period
    );
    for (kind, n) in ERRORS.lock().unwrap().iter() {
        println!("attempts failed: {n} × {kind}");
    }
    let acked_total: u64 = samples.iter().map(|s| u64::from(s.acked)).sum();
    let stored: (i64, i64) = {
        let r = client.query_one("SELECT COUNT(*), COUNT(DISTINCT id) FROM reports", &[]).await.unwrap();
        (r.get(0), r.get(1))
    };
    println!(
        "reports: {acked_total} acknowledged, {} stored ({} distinct); database {:.0} MB after setup and first packages, {:.0} MB at the end; run {wall:.0} s",
        stored.0,
        stored.1,
        db_size_before as f64 / 1e6,
        db_size_after as f64 / 1e6
    );
    assert!(stored.0 as u64 >= acked_total && stored.0 == stored.1, "every acknowledged report is stored once");
    for (child, base) in &mut processes {
        let alive = child.try_wait().map(|s| s.is_none()).unwrap_or(false);
        println!(
            "server process {} at {base}: {}",
            child.id().unwrap_or(0),
            if alive { "alive at the end" } else { "ENDED during the run" }
        );
    }
    drop(processes);
    drop(client);
    db.drop_now().await;
}
