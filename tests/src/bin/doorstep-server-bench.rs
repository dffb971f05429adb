//! Server benchmarks, each next to its baseline in the same run on the same database server:
//! - push ingest (reports validated, deduplicated and merged durably, per second) through the
//!   service, in batches of 500 (`DOORSTEP_INGEST_BATCH` sets another size), on SQLite and on PostgreSQL, next to a raw bulk load of the same
//!   rows into the same schema (SQLite: one transaction of prepared INSERTs; PostgreSQL: one COPY);
//! - pull of a 1,000-door turf (full package), by the phone that made every report and by another
//!   phone of the same volunteer (it is sent the standing report of each door the first phone
//!   knocked), next to what the pull read until schema 18 (every report on the turf's doors);
//! - 1,000 phones pulling their first package at once (a session's start), p50 / p99 / wall time;
//! - pushes of 30 new reports one after the other (the national model's evening peak), p50 / p99
//!   (`DOORSTEP_SMALL_PUSHES`: how many; 300, or 20 with `--quick`).
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-server-bench [-- --quick]`
//! PostgreSQL from `DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/postgres).

use std::sync::Arc;
use std::time::Instant;

use doorstep_protocol::{Hlc, JoinRequest, KnockReport, PROTOCOL_VERSION, PullRequest, PushRequest, Target};
use doorstep_server::service::{DeviceSession, Service};
use doorstep_server::store::ServerStore;
use doorstep_server::store::StoreOps;
use doorstep_server::store::postgres::PgStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_tests::TestDatabase;
use futures_util::SinkExt;

struct Seeded {
    service: Service,
    session: DeviceSession,
    doors: Vec<String>,
}

/// Another phone of the bench's volunteer.
async fn another_phone(s: &Seeded, device: &str) -> DeviceSession {
    use doorstep_server::auth;
    let code = auth::new_join_code();
    let hash = auth::hash_secret(&auth::normalise_code(&code));
    s.service.store.create_join_code(&hash, "vol-bench", i64::MAX / 2).await.unwrap();
    let joined =
        s.service.join(JoinRequest { protocol: PROTOCOL_VERSION, code, device_id: device.into() }).await.unwrap();
    s.service.authenticate(&joined.token).await.unwrap()
}

/// The read the pull made until schema 18: every report on the turf's doors.
async fn history_read_ms(s: &Seeded, reps: usize) -> (f64, usize) {
    let mut v = Vec::new();
    let mut n = 0;
    for _ in 0..reps {
        let t = Instant::now();
        n = s.service.store.turf_facts("bench").await.unwrap().0.len();
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], n)
}

/// `phones` phones pulling their first package at the same moment: (p50, p99, wall) in ms.
async fn first_pulls_at_once(s: &Seeded, phones: usize) -> (f64, f64, f64) {
    let mut sessions = Vec::with_capacity(phones);
    for i in 0..phones {
        sessions.push(another_phone(s, &format!("dev-crowd-{i}")).await);
    }
    let wall = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|session| {
            let service = s.service.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let r = service
                    .pull(&session, PullRequest { protocol: PROTOCOL_VERSION, cursor: None, held: vec![] })
                    .await
                    .unwrap();
                assert!(r.buckets.iter().all(|b| b.package.is_some()));
                t.elapsed().as_secs_f64() * 1000.0
            })
        })
        .collect();
    let mut v = Vec::with_capacity(phones);
    for t in tasks {
        v.push(t.await.unwrap());
    }
    let wall = wall.elapsed().as_secs_f64() * 1000.0;
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[(v.len() * 99 / 100).min(v.len() - 1)], wall)
}

async fn seed(store: Arc<dyn ServerStore>) -> Seeded {
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(590); // ~1,000 doors
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "bench", "Bench", None, &ids).await.unwrap();
    let code = service.invite_volunteer(&campaign.id, "vol-bench", "Bench").await.unwrap();
    store.assign_turf("bench", Some("vol-bench"), None).await.unwrap();
    let joined =
        service.join(JoinRequest { protocol: PROTOCOL_VERSION, code, device_id: "dev-bench".into() }).await.unwrap();
    let session = service.authenticate(&joined.token).await.unwrap();
    Seeded { service, session, doors: doors.iter().map(|d| d.id.clone()).collect() }
}

fn reports(n: usize, doors: &[String]) -> Vec<KnockReport> {
    reports_from(0, n, doors)
}

/// Reports `from..from + n` (ids, doors and times follow the index).
fn reports_from(from: usize, n: usize, doors: &[String]) -> Vec<KnockReport> {
    (from..from + n)
        .map(|i| KnockReport {
            id: format!("0190a0b0-0000-7000-8000-{i:012}"),
            campaign_id: "nantes-2026".into(),
            turf_id: "bench".into(),
            target: Target::Door { id: doors[i % doors.len()].clone() },
            result_code: if i % 3 == 0 { "not_home".into() } else { "no_answer".into() },
            answers: vec![],
            note: Some("Boîte aux lettres pleine".into()),
            safety_flags: vec![],
            supersedes: None,
            survey_version: 1,
            device_time_ms: 1_780_000_000_000 + i as i64,
            hlc: Hlc { millis: 1_780_000_000_000 + i as i64, counter: 0 },
            monotonic_ms: i as u64,
            position: None,
            plausibility: vec![],
            volunteer_id: "vol-bench".into(),
            device_id: "dev-bench".into(),
            follow_up: None,
        })
        .collect()
}

/// Reports per push in the ingest runs: 500, or `DOORSTEP_INGEST_BATCH`.
fn ingest_batch() -> usize {
    std::env::var("DOORSTEP_INGEST_BATCH").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(500)
}

async fn push_ok(s: &Seeded, reports: Vec<KnockReport>) {
    let r = s
        .service
        .push(&s.session, PushRequest { protocol: PROTOCOL_VERSION, device_id: "dev-bench".into(), reports })
        .await
        .unwrap();
    assert!(r.results.iter().all(|x| x.status == doorstep_protocol::ItemStatus::Accepted));
}

/// The evening peak's pushes (issue 21, Deliver 6): `pushes` pushes of 30 new reports one after
/// the other on the seeded turf, (p50, p99) ms each.
async fn small_pushes(s: &Seeded, pushes: usize) -> (f64, f64) {
    let mut v = Vec::with_capacity(pushes);
    for i in 0..pushes {
        let batch = reports_from(1_000_000 + i * SMALL_PUSH, SMALL_PUSH, &s.doors);
        let t = Instant::now();
        push_ok(s, batch).await;
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[(v.len() * 99 / 100).min(v.len() - 1)])
}

/// Reports a phone pushes at the national model's evening peak.
const SMALL_PUSH: usize = 30;

async fn ingest(s: &Seeded, batch: &[KnockReport]) -> f64 {
    let t = Instant::now();
    for chunk in batch.chunks(ingest_batch()) {
        push_ok(s, chunk.to_vec()).await;
    }
    batch.len() as f64 / t.elapsed().as_secs_f64()
}

fn row_values(r: &KnockReport) -> [String; 14] {
    [
        r.id.clone(),
        r.campaign_id.clone(),
        r.turf_id.clone(),
        r.target.id().split("-door").next().unwrap_or_default().to_string(),
        r.target.id().to_string(),
        r.device_id.clone(),
        r.volunteer_id.clone(),
        r.result_code.clone(),
        String::new(),
        r.hlc.millis.to_string(),
        r.hlc.counter.to_string(),
        "false".into(),
        "0".into(),
        serde_json::to_string(r).unwrap(),
    ]
}

fn raw_sqlite(path: &std::path::Path, batch: &[KnockReport]) -> f64 {
    let mut c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).unwrap();
    c.execute_batch("PRAGMA synchronous=FULL").unwrap();
    let t = Instant::now();
    let tx = c.transaction().unwrap();
    {
        let mut st = tx
            .prepare(
                "INSERT INTO reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id, result_code,
                   supersedes, hlc_millis, hlc_counter, overlap, received_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10, 0, 0, ?11)",
            )
            .unwrap();
        for r in batch {
            let v = row_values(r);
            st.execute(rusqlite::params![
                v[0],
                v[1],
                v[2],
                v[3],
                v[4],
                v[5],
                v[6],
                v[7],
                r.hlc.millis,
                r.hlc.counter as i64,
                v[13]
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    batch.len() as f64 / t.elapsed().as_secs_f64()
}

async fn raw_postgres(url: &str, batch: &[KnockReport]) -> f64 {
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let csv_field = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut data = String::new();
    for r in batch {
        let v = row_values(r);
        let fields: Vec<String> =
            v.iter().enumerate().map(|(i, x)| if i == 8 { String::new() } else { csv_field(x) }).collect();
        data.push_str(&fields.join(","));
        data.push('\n');
    }
    let t = Instant::now();
    let tx = client.transaction().await.unwrap();
    let sink = tx
        .copy_in(
            "COPY reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id, result_code, supersedes,
               hlc_millis, hlc_counter, overlap, received_ms, body) FROM STDIN WITH (FORMAT csv)",
        )
        .await
        .unwrap();
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from(data)).await.unwrap();
    sink.finish().await.unwrap();
    tx.commit().await.unwrap();
    batch.len() as f64 / t.elapsed().as_secs_f64()
}

/// A full pull's p50 in ms, with the door facts and bytes of the last one.
async fn pull_ms(s: &Seeded, session: &DeviceSession, reps: usize) -> (f64, usize, usize) {
    let mut v = Vec::new();
    let (mut facts, mut size) = (0, 0);
    for _ in 0..reps {
        let t = Instant::now();
        let r = s
            .service
            .pull(session, PullRequest { protocol: PROTOCOL_VERSION, cursor: None, held: vec![] })
            .await
            .unwrap();
        let bytes = serde_json::to_vec(&r).unwrap();
        assert!(bytes.len() > 1000);
        v.push(t.elapsed().as_secs_f64() * 1000.0);
        facts = r.buckets.iter().filter_map(|b| b.door_facts.as_ref()).map(Vec::len).sum();
        size = bytes.len();
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], facts, size)
}

/// Where a pull's time goes (stderr, with `DOORSTEP_PULL_PHASES`): the package read, the
/// standing reports, the other reads and writes a pull makes, each p50 of 20.
async fn phases(name: &str, s: &Seeded) {
    let store = s.service.store.clone();
    let put = |what: &str, v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        eprintln!("{name} {what}: {:.2} ms", v[v.len() / 2]);
    };
    macro_rules! time {
        ($what:expr, $e:expr) => {{
            let mut v = Vec::new();
            for _ in 0..20 {
                let t = Instant::now();
                let _ = $e;
                v.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            put($what, &mut v);
        }};
    }
    time!("store.turf_package", store.turf_package("bench").await.unwrap());
    time!("service.package (with streets)", s.service.turf_package("bench").await.unwrap());
    time!("turf_standing", store.turf_standing("bench").await.unwrap());
    time!("turfs_of", store.turfs_of("vol-bench", 0).await.unwrap());
    let phone = s.session.device.clone();
    time!("touch_device", store.touch_device(&phone, 1).await.unwrap());
    time!("set_checksum", store.set_checksum("bench", 1, "x").await.unwrap());
    let pkg = s.service.turf_package("bench").await.unwrap().unwrap();
    time!("checksum", doorstep_protocol::turf_checksum(&pkg));
    time!("serialise", serde_json::to_vec(&pkg).unwrap());
}

/// The pull lines of one backend (and its line of small pushes, added to `pushes`).
async fn pulls(name: &str, s: &Seeded, quick: bool, pushes: &mut String) -> String {
    if std::env::var_os("DOORSTEP_PULL_PHASES").is_some() {
        phases(name, s).await;
    }
    let n = std::env::var("DOORSTEP_SMALL_PUSHES").ok().and_then(|v| v.parse().ok());
    let (p50, p99) = small_pushes(s, n.unwrap_or(if quick { 20 } else { 300 })).await;
    pushes.push_str(&format!("| {name} | {p50:.2} | {p99:.2} |\n"));
    let reps = if quick { 3 } else { 20 };
    let (own, own_facts, own_bytes) = pull_ms(s, &s.session, reps).await;
    let other = another_phone(s, "dev-bench-2").await;
    let (theirs, facts, bytes) = pull_ms(s, &other, reps).await;
    let (history, reports) = history_read_ms(s, reps).await;
    let crowd = if quick { 50 } else { 1_000 };
    let (p50, p99, wall) = first_pulls_at_once(s, crowd).await;
    format!(
        "| {name} | {own:.1} ({own_facts} facts, {:.0} kB) | {theirs:.1} ({facts} facts, {:.0} kB) | {history:.1} ({reports} reports) | {crowd}: p50 {p50:.0}, p99 {p99:.0}, all in {wall:.0} |\n",
        own_bytes as f64 / 1000.0,
        bytes as f64 / 1000.0
    )
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 2_000 } else { 50_000 };
    let dir = tempfile::tempdir().unwrap();
    println!(
        "# Server benchmarks\n\n{n} reports per ingest run, pushed in batches of {}; medians of {} runs, each on fresh databases.\n",
        ingest_batch(),
        if quick { 1 } else { RUNS }
    );
    println!("| backend | push ingest, reports/s | raw bulk load, rows/s | ratio |");
    println!("|---|---:|---:|---:|");
    let mut pull_lines = String::new();
    let mut push_lines = String::new();

    // Each ingest is measured on `RUNS` fresh databases, alternated with the raw load on another
    // fresh database: the median of each and of the per-run ratios (one run of each moved by a
    // third between runs on this shared machine).
    let runs = if quick { 1 } else { RUNS };
    let batch = reports(n, &s_doors());
    let mut rates = Vec::new();
    let mut s = None;
    for i in 0..runs {
        let seeded = seed(Arc::new(SqliteStore::open(dir.path().join(format!("ingest-{i}.db"))).unwrap())).await;
        let ours = ingest(&seeded, &batch).await;
        let raw_db = dir.path().join(format!("raw-{i}.db"));
        drop(SqliteStore::open(&raw_db).unwrap()); // same schema
        rates.push((ours, raw_sqlite(&raw_db, &batch)));
        s = Some(seeded);
    }
    let s = s.expect("one run");
    pull_lines.push_str(&pulls("SQLite", &s, quick, &mut push_lines).await);
    println!("| SQLite (WAL, synchronous=FULL) | {} |", medians(&rates));
    let doors = s.doors.len();
    drop(s);

    // PostgreSQL
    let mut rates = Vec::new();
    let mut kept = None;
    for _ in 0..runs {
        let db = TestDatabase::create().await;
        let pg: Arc<dyn ServerStore> = Arc::new(PgStore::connect(&db.url, 4).await.unwrap());
        let seeded = seed(pg.clone()).await;
        let ours = ingest(&seeded, &batch).await;
        let raw_db = TestDatabase::create().await;
        drop(PgStore::connect(&raw_db.url, 1).await.unwrap());
        rates.push((ours, raw_postgres(&raw_db.url, &batch).await));
        raw_db.drop_now().await;
        if let Some((old_db, old)) = kept.replace((db, seeded)) {
            drop(old);
            TestDatabase::drop_now(old_db).await;
        }
    }
    let (db, s) = kept.expect("one run");
    pull_lines.push_str(&pulls("PostgreSQL", &s, quick, &mut push_lines).await);
    println!("| PostgreSQL 15 (default durability) | {} |", medians(&rates));
    println!("\nTarget: ingest ≥ 25 % of the raw bulk rate.\n");
    println!(
        "Pushes of {SMALL_PUSH} new reports (the national model's evening peak), one after the other on the same turf, ms:\n"
    );
    println!("| backend | p50 | p99 |");
    println!("|---|---:|---:|");
    print!("{push_lines}");
    println!();
    println!("Full pull of the turf after those {n} reports, p50 ms (door facts sent, response size):\n");
    println!(
        "| backend | the phone that made them | another phone | reading every report (the pull until schema 18) | phones pulling their first package at once, ms |"
    );
    println!("|---|---:|---:|---:|---|");
    print!("{pull_lines}");
    println!("\nThe turf holds {doors} doors (590 real Nantes addresses, 59 with a synthetic staircase of 8 doors).");
    println!("Target: a full package of a 1,000-door turf with 50,000 reports behind it in < 10 ms.");
    drop(s);
    db.drop_now().await;
}

/// Ingest runs per backend (see `main`).
const RUNS: usize = 3;

/// "ours | raw | ratio" as medians over the runs `(ours, raw)`.
fn medians(rates: &[(f64, f64)]) -> String {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ours = median(rates.iter().map(|r| r.0).collect());
    let raw = median(rates.iter().map(|r| r.1).collect());
    let ratio = median(rates.iter().map(|r| r.0 / r.1).collect());
    format!("{ours:.0} | {raw:.0} | {:.0} %", 100.0 * ratio)
}

/// The bench turf's door ids (the same import as [`seed`]).
fn s_doors() -> Vec<String> {
    doorstep_tests::server_import(590).3.iter().map(|d| d.id.clone()).collect()
}
