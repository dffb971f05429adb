//! What an operator sees (issue 16): one log line per request with its route template, status,
//! latency and campaign — as JSON here — and the Prometheus metrics on their own listener, scraped
//! over real HTTP after a phone synced and a coordinator imported addresses. Neither carries a
//! token, a person, an id from a path or survey content.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use doorstep_core::KnockInput;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_protocol::Target;
use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, User};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `name{labels}` → value, for every sample line; panics on a line that is not one.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        let name = key.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && name.starts_with("doorstep_"),
            "metric name {name}"
        );
        if let Some(labels) = key.strip_prefix(name) {
            assert!(labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')), "labels of {line}");
        }
        out.insert(key.to_string(), value.parse::<f64>().unwrap_or_else(|_| panic!("value of {line}")));
    }
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics ends with # EOF");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_metrics_describe_requests_without_personal_data() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(move || writer.clone())
        .try_init()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(20);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    store
        .create_user(&User {
            id: "coord".into(),
            campaign_id: campaign.id.clone(),
            role: Role::Coordinator,
            display_name: "Camille Secret".into(),
            team_id: None,
        })
        .await
        .unwrap();
    let coord = service.issue_staff_token("coord").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = doorstep_server::api::app(service.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("http://{}/metrics", metrics_listener.local_addr().unwrap());
    let metrics_app = doorstep_server::observe::metrics_app(service.clone());
    tokio::spawn(async move { axum::serve(metrics_listener, metrics_app).await.unwrap() });

    // A phone joins, knocks three doors and syncs.
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    let (phone, transport, turf) =
        doorstep_tests::load_phone(&service, &store, &campaign.id, 1, &ids, &base, dir.path()).await;
    sync(&phone, &transport, RetryPolicy::default(), &()).await.unwrap().unwrap();
    let pkg = phone.export_turf(&turf).unwrap();
    for d in pkg.doors.iter().take(3) {
        let k = KnockInput {
            target: Target::Door { id: d.id.clone() },
            result_code: "not_home".into(),
            answers: vec![],
            note: Some("note secrète".into()),
            safety_flags: vec![],
            position: None,
            follow_up: None,
        };
        phone.record_knock(k).unwrap();
    }
    sync(&phone, &transport, RetryPolicy::default(), &()).await.unwrap().unwrap();
    // A coordinator imports addresses; someone asks for a page that does not exist.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/import/addresses.csv"))
        .bearer_auth(&coord)
        .body("street,housenumber,lat,lon\nRue Neuve,1,47.2135,-1.5561\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(http.get(format!("{base}/no/such/{}", turf)).send().await.unwrap().status(), 404);

    let text = http.get(&metrics_url).send().await.unwrap().text().await.unwrap();
    let m = parse(&text);
    let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("{k} in\n{text}"));
    assert!(get(r#"doorstep_http_requests_total{method="POST",route="/api/v1/sync/push",status="200"}"#) >= 1.0);
    assert!(get(r#"doorstep_http_requests_total{method="POST",route="/api/v1/sync/pull",status="200"}"#) >= 2.0);
    assert_eq!(get(r#"doorstep_http_requests_total{method="GET",route="unmatched",status="404"}"#), 1.0);
    assert_eq!(get(r#"doorstep_reports_total{outcome="accepted"}"#), 3.0);
    assert!(get(r#"doorstep_sync_seconds_count{phase="push"}"#) >= 1.0);
    assert!(get(r#"doorstep_sync_seconds_count{phase="pull"}"#) >= 2.0);
    assert!(get("doorstep_push_transaction_seconds_count") >= 1.0);
    assert!(get(r#"doorstep_http_request_seconds_bucket{le="+Inf",method="POST",route="/api/v1/sync/push"}"#) >= 1.0);
    assert_eq!(get(r#"doorstep_imports_total{kind="addresses"}"#), 1.0);
    assert_eq!(get("doorstep_imports_running"), 0.0);
    // The embedded SQLite store: one writer and two reader connections, free between requests.
    let size = 1.0 + doorstep_server::store::sqlite::READERS as f64;
    assert_eq!(get("doorstep_db_pool_size"), size);
    assert!(get(r#"doorstep_db_transaction_seconds_count{mode="write"}"#) >= 1.0, "the import's parts");
    assert_eq!(
        get(r#"doorstep_db_connections{state="idle"}"#) + get(r#"doorstep_db_connections{state="in_use"}"#),
        size
    );

    let lines = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let events: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let push = events
        .iter()
        .find(|e| e["span"]["route"] == "/api/v1/sync/push" && e["fields"]["message"] == "answered")
        .unwrap_or_else(|| panic!("a log line for the push in\n{lines}"));
    assert_eq!(push["span"]["status"], 200);
    assert_eq!(push["span"]["campaign"], campaign.id.as_str());
    assert!(push["span"]["latency_ms"].as_f64().is_some());
    let import =
        events.iter().find(|e| e["span"]["route"] == "/api/v1/import/addresses.csv").expect("the import's line");
    assert_eq!(import["span"]["status"], 200);

    // Nothing secret or personal anywhere: tokens, names, notes, the ids in a path.
    for (what, out) in [("metrics", &text), ("logs", &lines)] {
        for secret in [coord.as_str(), "Camille Secret", "note secrète", turf.as_str(), "Rue Neuve"] {
            assert!(!out.contains(secret), "{what} contain {secret:?}");
        }
    }
}
