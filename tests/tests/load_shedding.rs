//! Load shedding over real HTTP on loopback (issue 21): the demo's seeded server on an SQLite file,
//! real phone cores on files. A process at its limit of phone syncs answers the next one 503 with
//! a `Retry-After`; the phone waits at least that long, tries again and loses nothing; people at a
//! screen are still served. An attacker cannot use the limit to turn the phones away: requests
//! without a credential take no place, and a client sending its body slowly holds a connection,
//! never a place.

use std::time::{Duration, Instant};

use doorstep_core::Store;
use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, sync};
use tokio::io::AsyncWriteExt;

fn policy() -> RetryPolicy {
    RetryPolicy { first_delay: Duration::from_millis(5), max_delay: Duration::from_millis(50), max_attempts: 10 }
}

/// A phone joined and holding its turf, with one knock waiting in its outbox.
async fn phone(d: &doorstep_tests::DemoServer, dir: &std::path::Path, i: usize) -> (Store, HttpTransport, String) {
    let (_, code, turf) = &d.seeded.volunteers[i];
    let store = Store::open(dir.join(format!("phone{i}.db")), None).unwrap();
    let join = doorstep_core::sync::join(&store, &d.base, code).await.unwrap();
    let net = HttpTransport::new(&d.base, Some(join.token.clone())).unwrap();
    sync(&store, &net, policy(), &()).await.unwrap().unwrap();
    let route = store.compute_route(turf, None, None, false).unwrap();
    let door = route.remaining.iter().flat_map(|s| &s.doors).next().unwrap().id.clone();
    store.record_knock(doorstep_tests::knock_on(door, "not_home")).unwrap();
    assert_eq!(store.pending_count().unwrap(), 1);
    (store, net, join.token)
}

/// A push whose head has arrived and whose body never ends: the server works on it for as long
/// as the connection stays open.
async fn slow_push(base: &str, token: Option<&str>) -> tokio::net::TcpStream {
    let host = base.trim_start_matches("http://");
    let mut c = tokio::net::TcpStream::connect(host).await.unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /api/v1/sync/push HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: 100000\r\n\r\n{{\"protocol\": 1, "
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c.flush().await.unwrap();
    c
}

async fn status(base: &str, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut rb = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if path.starts_with("/api/v1/sync/pull") {
        rb = rb.json(&serde_json::json!({"protocol": 1}));
    }
    rb.send().await.unwrap()
}

fn stored(d: &doorstep_tests::DemoServer) -> i64 {
    rusqlite::Connection::open(&d.db).unwrap().query_row("SELECT count(*) FROM reports", [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shedding_over_http_and_strangers_cannot_use_it() {
    let d = doorstep_tests::demo_server(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, net, token) = phone(&d, dir.path(), 0).await;
    let (other, other_net, other_token) = phone(&d, dir.path(), 1).await;
    let before = stored(&d);
    d.service.admission.set_limit(2);

    // Strangers: forty pushes without a credential and forty with a token nobody was given,
    // and two of the volunteer's own: each sends its body slowly and never finishes. None of
    // them takes a place (limit two).
    let mut slow = Vec::new();
    for i in 0..80 {
        let forged = format!("forged-token-{i:04}-0123456789abcdef");
        slow.push(slow_push(&d.base, if i % 2 == 0 { None } else { Some(&forged) }).await);
    }
    for _ in 0..2 {
        slow.push(slow_push(&d.base, Some(&token)).await);
    }
    // The real phone's sync goes through at the first attempt, never told to wait.
    let report = sync(&store, &net, policy(), &()).await.unwrap().expect("the phone's sync");
    assert_eq!(report.attempts, 1, "not shed while strangers flood: {report:?}");
    assert_eq!(report.accepted, 1);
    assert_eq!(d.service.admission.shed_count(), 0);
    // Without a credential, a sync request is refused at once.
    let r = status(&d.base, reqwest::Method::POST, "/api/v1/sync/pull", None).await;
    assert_eq!(r.status(), 401);

    // Two sync requests being worked on hold the two places (taken here as the guard takes them:
    // which requests hold them at a given instant is not something a test can time over HTTP).
    let one = d.service.admission.enter().unwrap();
    let two = d.service.admission.enter().unwrap();
    let r = status(&d.base, reqwest::Method::POST, "/api/v1/sync/pull", Some(&other_token)).await;
    assert_eq!(r.status(), 503, "a third sync request is shed");
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "busy");
    assert!(body["message"].as_str().unwrap().contains("serveur occupé"), "{body}");
    // People at a screen are still served, and the long poll is not shed.
    let coord = &d.seeded.coordinator_token;
    let r = status(&d.base, reqwest::Method::GET, "/api/v1/progress", Some(coord)).await;
    assert_eq!(r.status(), 200, "the coordinator's progress while phones are shed");

    // The other phone's sync is told to wait, waits at least that long, and then goes through
    // once a place is given back.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop((one, two));
    });
    let t0 = Instant::now();
    let report = sync(&other, &other_net, policy(), &()).await.unwrap().expect("the other phone's sync");
    let waited = t0.elapsed();
    release.await.unwrap();
    assert!(report.attempts >= 2, "it was told to wait first: {report:?}");
    assert_eq!(report.accepted, 1);
    assert!(waited >= Duration::from_secs(1), "the phone waited at least the shortest Retry-After: {waited:?}");
    assert!(d.service.admission.shed_count() >= 2);
    assert_eq!(other.pending_count().unwrap(), 0);
    assert_eq!(stored(&d), before + 2, "both knocks stored, each once");
    drop(slow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_body_too_large_gets_a_clear_refusal_and_loses_nothing() {
    let d = doorstep_tests::demo_server(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, net, token) = phone(&d, dir.path(), 0).await;
    // Larger than any sync route takes (8 MB and more): refused while it is read, before a place.
    let huge = vec![b' '; 9 * 1024 * 1024];
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/sync/push", d.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "body_unreadable");
    assert!(body["message"].as_str().unwrap().contains("trop grand"), "{body}");
    assert_eq!(d.service.admission.shed_count(), 0);
    // The phone's own sync then goes through: its knock stored once.
    let before = stored(&d);
    let report = sync(&store, &net, policy(), &()).await.unwrap().expect("the phone's sync");
    assert_eq!(report.accepted, 1);
    assert_eq!(stored(&d), before + 1);
}

/// A phone's push whose body stops arriving is answered 408 `body_timeout` once 30 s have passed
/// (in French first), without taking a place meanwhile, and nothing of it is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_body_that_stops_arriving_is_answered_408() {
    use tokio::io::AsyncReadExt;
    let d = doorstep_tests::demo_server(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (_store, _net, token) = phone(&d, dir.path(), 0).await;
    let before = stored(&d);
    d.service.admission.set_limit(1);
    let t0 = Instant::now();
    let mut c = slow_push(&d.base, Some(&token)).await;
    // Meanwhile the one place is free: the request waiting for its body does not hold it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(d.service.admission.enter().expect("the place is free while the body is awaited"));
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("body_timeout") {
        let n = tokio::time::timeout(Duration::from_secs(45), c.read(&mut buf))
            .await
            .expect("an answer within 45 s")
            .unwrap();
        assert!(n > 0, "closed without an answer: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("corps de requête non reçu en 30 s"), "{text}");
    assert!(t0.elapsed() >= Duration::from_secs(30), "answered after {:?}", t0.elapsed());
    assert_eq!(stored(&d), before, "nothing stored from a body that never arrived");
}
