//! Several server processes on one PostgreSQL (issue 21): three real `doorstep-server serve`
//! processes (the command line's own entry point) on one database, behind a round-robin TCP
//! balancer on loopback, with phones (real core stores on files) syncing through the balancer,
//! two coordinator dashboards on two different processes, and two captains on two others.
//!
//! It checks that every acknowledged report is stored once (a batch pushed through two processes
//! at the same instant included), that both dashboards see every process's events (the sum of
//! their `sync` events is what the database holds, no more), that two captains moving the same
//! street at once through two processes end with one owner and the other told where it went,
//! that a sign-in lockout and a token's request budget hold across processes, and that a process
//! started with another secret key is refused.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, Transport, sync};
use doorstep_protocol::{JoinRequest, PROTOCOL_VERSION, PushRequest};
use doorstep_server::service::Service;
use doorstep_server::store::postgres::PgStore;
use doorstep_server::store::{ServerStore, StoreOps};
use serde_json::{Value, json};
use tokio::process::Command;

const PHONES: usize = 9;
const PER_TURF: usize = 12;
const KNOCKS: usize = 8;

/// A coordinator's live stream on one process: every event as `(kind, data)`; returns once the
/// stream is open (its `ready` came: the process is subscribed).
async fn dashboard(base: &str, token: &str) -> tokio::sync::mpsc::UnboundedReceiver<(String, Value)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut r = reqwest::Client::new().get(format!("{base}/api/v1/events")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut buf = String::new();
        while let Ok(Some(chunk)) = r.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let Some(kind) = block.lines().find_map(|l| l.strip_prefix("event: ")) else { continue };
                let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
                if kind == "ready" {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    continue;
                }
                let _ = tx.send((kind.to_string(), serde_json::from_str(data).unwrap_or(Value::Null)));
            }
        }
    });
    ready_rx.await.expect("the stream opens");
    rx
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn policy() -> RetryPolicy {
    RetryPolicy { first_delay: Duration::from_millis(10), max_delay: Duration::from_millis(200), max_attempts: 20 }
}

async fn stored_reports(url: &str) -> (i64, i64) {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let r = c.query_one("SELECT COUNT(*), COUNT(DISTINCT id) FROM reports", &[]).await.unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_on_one_postgresql_behind_a_balancer() {
    let db = doorstep_tests::TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    // The core's transport installs the process's rustls provider, which reqwest needs.
    HttpTransport::new("http://127.0.0.1:9", None).unwrap();

    // The campaign, set up in this process on the same database.
    let pg = PgStore::connect(&db.url, 4).await.unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(pg);
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(PHONES * PER_TURF + 60);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let co = doorstep_tests::coordinator(&campaign.id);
    store.create_user(&co.user).await.unwrap();
    let coord_token = service.issue_staff_token("coord").await.unwrap();
    let mut captain_tokens = Vec::new();
    for c in ["cap-a", "cap-b"] {
        let req = doorstep_server::people::InviteRequest {
            email: None,
            name: c.into(),
            user_id: Some(c.into()),
            role: doorstep_server::store::Role::Captain,
            team_id: None,
        };
        captain_tokens.push(service.invite(&co, req).await.unwrap().token.unwrap());
    }
    let team = doorstep_server::people::TeamRequest {
        id: "nord".into(),
        name: "Nord".into(),
        captains: vec!["cap-a".into(), "cap-b".into()],
    };
    service.create_team(&co, team).await.unwrap();
    // The captains' turfs: one to take streets from, one target each.
    let spare: Vec<String> = buildings[PHONES * PER_TURF..].iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "m-src", "Rues à partager", Some("nord"), &spare).await.unwrap();
    store.create_turf(&campaign.id, "m-a", "Équipe A", Some("nord"), &[]).await.unwrap();
    store.create_turf(&campaign.id, "m-b", "Équipe B", Some("nord"), &[]).await.unwrap();

    // Three processes, one key file (secrets sealed by one open in the others).
    let key = dir.path().join("secret.key");
    std::fs::write(&key, "7".repeat(64)).unwrap();
    let mut processes = Vec::new();
    for _ in 0..3 {
        processes.push(
            doorstep_tests::server_process::start(Path::new(env!("CARGO_BIN_EXE_server-node")), &db.url, &key, None)
                .await,
        );
    }
    let bases: Vec<String> = processes.iter().map(|(_, b)| b.clone()).collect();
    let backends = bases.iter().map(|b| b.trim_start_matches("http://").parse().unwrap()).collect();
    let lb = doorstep_tests::balancer::Balancer::start(backends).await;

    // A fourth process with another key is refused: it would seal secrets the others cannot open.
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, "8".repeat(64)).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_server-node"))
        .args(["serve", "--database", &db.url, "--listen", "127.0.0.1:0"])
        .arg("--secret-key-file")
        .arg(&other_key)
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a process with another key must not serve");
    assert!(said.contains("--secret-key-file"), "and says why: {said}");

    // Two dashboards, on the second and third processes.
    let mut dash = [dashboard(&bases[1], &coord_token).await, dashboard(&bases[2], &coord_token).await];

    // Phones join and pull through the balancer, knock offline, then sync through it.
    let mut phones = Vec::new();
    for i in 0..PHONES {
        let ids: Vec<String> = buildings[i * PER_TURF..(i + 1) * PER_TURF].iter().map(|b| b.id.clone()).collect();
        phones.push(doorstep_tests::load_phone(&service, &store, &campaign.id, i, &ids, &lb.url(), dir.path()).await);
    }
    let mut acked = HashSet::new();
    for (st, net, turf) in &phones {
        sync(st, net, policy(), &()).await.unwrap().unwrap();
        let route = st.compute_route(turf, None, None, false).unwrap();
        for door in route.remaining.iter().flat_map(|s| &s.doors).take(KNOCKS) {
            let k = st.record_knock(doorstep_tests::knock_on(door.id.clone(), "not_home")).unwrap();
            acked.insert(k.id);
        }
    }
    let syncs = phones.iter().map(|(st, net, _)| sync(st, net, policy(), &()));
    for r in futures_util::future::join_all(syncs).await {
        r.unwrap().unwrap();
    }
    for (st, _, _) in &phones {
        assert_eq!(st.pending_count().unwrap(), 0, "every knock acknowledged");
    }
    assert!(lb.sent.iter().all(|n| n.load(std::sync::atomic::Ordering::Relaxed) > 0), "every process served");

    // One more phone's batch reaches two processes at the same instant (a retry on a new
    // connection while the first attempt is still committing): stored once, counted once.
    let code = service.invite_volunteer(&campaign.id, "vol-twice-2", "Deux fois").await.unwrap();
    let device = "device-twice".to_string();
    let join = HttpTransport::new(&lb.url(), None)
        .unwrap()
        .join(&JoinRequest { protocol: PROTOCOL_VERSION, code, device_id: device.clone() })
        .await
        .unwrap();
    store.assign_turf("t0000", Some("vol-twice-2"), None).await.unwrap();
    let pkg = service.turf_package("t0000").await.unwrap().unwrap();
    let batch: Vec<_> = pkg
        .doors
        .iter()
        .take(5)
        .enumerate()
        .map(|(n, d)| {
            let mut r = doorstep_tests::report(900 + n as u32, &campaign.id, "t0000", &d.id, "vol-twice-2", &device);
            r.hlc.millis = now_ms() + n as i64;
            r.device_time_ms = r.hlc.millis;
            r
        })
        .collect();
    let req = PushRequest { protocol: PROTOCOL_VERSION, device_id: device.clone(), reports: batch.clone() };
    let (a, b) = (
        HttpTransport::new(&bases[0], Some(join.token.clone())).unwrap(),
        HttpTransport::new(&bases[1], Some(join.token.clone())).unwrap(),
    );
    let (ra, rb) = tokio::join!(a.push(&req), b.push(&req));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    for (x, y) in ra.results.iter().zip(&rb.results) {
        let statuses = [format!("{:?}", x.status), format!("{:?}", y.status)];
        assert!(statuses.iter().all(|s| s == "Accepted" || s == "Duplicate"), "both acknowledged: {statuses:?}");
    }
    for r in &batch {
        acked.insert(r.id.clone());
    }
    let (rows, distinct) = stored_reports(&db.url).await;
    assert_eq!((rows, distinct), (acked.len() as i64, acked.len() as i64), "every acknowledged report, once");

    // Both dashboards see every process's sync events, each report counted once.
    let want = acked.len();
    for (n, rx) in dash.iter_mut().enumerate() {
        let mut seen = 0;
        while seen < want {
            match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
                Ok(Some((kind, data))) if kind == "sync" => seen += data["reports"].as_u64().unwrap() as usize,
                Ok(Some(_)) => {}
                _ => panic!("dashboard {n} saw {seen} of {want} reports"),
            }
        }
        assert_eq!(seen, want, "dashboard {n}: each report once");
    }

    // Two captains move the same street at once, through two processes: one owner, the other told.
    let src = service.turf_package("m-src").await.unwrap().unwrap();
    let mut streets: Vec<String> = src.buildings.iter().map(|b| b.street.clone()).collect();
    streets.sort();
    streets.dedup();
    assert!(streets.len() >= 3, "streets to move: {streets:?}");
    let http = reqwest::Client::new();
    for (round, street) in streets.iter().take(3).enumerate() {
        let (pa, pb) = (round % 3, (round + 1) % 3);
        let ask = |base: &str, token: &str, to: &str| {
            http.post(format!("{base}/api/v1/reassign"))
                .bearer_auth(token)
                .json(&json!({ "turf_id": "m-src", "street": street, "to_turf": to }))
                .send()
        };
        let (ra, rb) =
            tokio::join!(ask(&bases[pa], &captain_tokens[0], "m-a"), ask(&bases[pb], &captain_tokens[1], "m-b"));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let (sa, sb) = (ra.status().as_u16(), rb.status().as_u16());
        let (ba, bb): (Value, Value) = (ra.json().await.unwrap(), rb.json().await.unwrap());
        let (winner, loser_body) = match (sa, sb) {
            (200, 409) => ("m-a", &bb),
            (409, 200) => ("m-b", &ba),
            _ => panic!("{street}: one move wins, the other is told: {sa} {ba} / {sb} {bb}"),
        };
        assert_eq!(loser_body["code"], "moved", "{loser_body}");
        let told = loser_body["message"].as_str().unwrap();
        assert!(
            told.contains(winner) && told.contains("déjà déplacée"),
            "the other captain learns where it went: {told}"
        );
        let (c, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let owners: Vec<Option<String>> = c
            .query(
                "SELECT DISTINCT turf_id FROM buildings WHERE street = $1 AND campaign_id = $2",
                &[street, &campaign.id],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .filter(|t: &Option<String>| t.as_deref().is_some_and(|t| t.starts_with("m-")))
            .collect();
        assert_eq!(owners, vec![Some(winner.to_string())], "{street}: one owner");
    }
    // And the dashboards heard of the moves from whichever process made them.
    for (n, rx) in dash.iter_mut().enumerate() {
        let mut turfs = 0;
        while turfs < 3 {
            match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
                Ok(Some((kind, _))) if kind == "turfs" => turfs += 1,
                Ok(Some(_)) => {}
                _ => panic!("dashboard {n} heard {turfs} of 3 moves"),
            }
        }
    }

    // A sign-in lockout holds whichever process the next attempt reaches.
    doorstep_server::cli::set_password(
        &service,
        &campaign.id,
        "coord",
        "coordination",
        "un mot de passe solide".into(),
    )
    .await
    .unwrap();
    let sign_in = |base: &str, password: &str| {
        http.post(format!("{base}/api/v1/session"))
            .header("Origin", base.to_string())
            .json(&json!({ "login": "coordination", "password": password }))
            .send()
    };
    for i in 0..5 {
        let r = sign_in(&bases[i % 3], "mauvais").await.unwrap();
        assert_eq!(r.status(), 401, "failure {i}");
    }
    for b in &bases {
        let r = sign_in(b, "un mot de passe solide").await.unwrap();
        assert_eq!(r.status(), 429, "locked on every process, even with the right password ({b})");
    }

    // A token's request budget (120 at once, then 20 a second) is one budget across processes:
    // 300 requests spread over the three processes as fast as they go get refusals. Each process
    // reports every eighth request it serves (`ratelimit::REPORT_EVERY`): a burst may pass the
    // budget by at most seven a process.
    let started = std::time::Instant::now();
    let mut ok = 0usize;
    let mut limited = 0usize;
    for i in 0..300 {
        let r = http.get(format!("{}/api/v1/teams", bases[i % 3])).bearer_auth(&coord_token).send().await.unwrap();
        match r.status().as_u16() {
            200 => ok += 1,
            429 => limited += 1,
            s => panic!("unexpected {s}"),
        }
    }
    let slack = 3.0 * f64::from(doorstep_server::ratelimit::REPORT_EVERY - 1);
    let allowed = 120.0 + started.elapsed().as_secs_f64() * 20.0 + 1.0 + slack;
    assert!(limited > 0 && ok as f64 <= allowed, "{ok} served, {limited} refused; one budget allows {allowed:.0}");

    drop(processes);
    db.drop_now().await;
}

/// The shared bucket's one statement (PostgreSQL) follows the rule the embedded server applies in
/// Rust (`ratelimit::take_n`), step by step: refill by the clock, never past the burst, the
/// requests reported taken whatever is left (a debt), nothing more taken under one token, a clock
/// behind the bucket's refilling nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_bucket_follows_the_rule() {
    use doorstep_server::ratelimit::Bucket;
    use doorstep_server::ratelimit::take_n;
    let db = doorstep_tests::TestDatabase::create().await;
    let pg = PgStore::connect(&db.url, 2).await.unwrap();
    let (burst, per_s) = (3.0, 0.5);
    let mut want = Bucket { tokens: burst, at_ms: 10_000 };
    // (the bucket's clock, requests reported)
    let steps = [
        (10_000, 2),
        (10_000, 1),
        (10_000, 1),
        (10_000, 1),
        (11_000, 1),
        (12_000, 1),
        (12_000, 1),
        (11_500, 1),
        (20_000, 1),
        (20_000, 3),
        (20_000, 2),
        (24_000, 1),
        (100_000, 1),
        (100_001, 1),
        (100_002, 3),
    ];
    for (i, (now, n)) in steps.into_iter().enumerate() {
        let (left, answer) = take_n(want, now, burst, per_s, n);
        let got = pg.take_shared("t:key", burst, per_s, now, n).await.unwrap().expect("PostgreSQL shares buckets");
        assert_eq!(got.0, answer.is_ok(), "step {i} at {now}: granted");
        assert!(
            (got.1 - left.tokens).abs() < 1e-9,
            "step {i} at {now}: {} tokens left, the rule says {}",
            got.1,
            left.tokens
        );
        want = left;
    }
    drop(pg);
    db.drop_now().await;
}
