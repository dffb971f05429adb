//! The sync API over HTTP, in-process (`tower::ServiceExt::oneshot`) on the SQLite backend: join,
//! push, pull, and every kind of bad input answered with a clear 4xx and a machine-readable code,
//! storing nothing. The access matrix is generated from the router's own route table.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use doorstep_protocol::{
    ApiError, HeldTurf, ItemStatus, JoinResponse, KnockReport, PROTOCOL_VERSION, PullRequest, PullResponse,
    PushRequest, PushResponse,
};
use doorstep_server::api;
use doorstep_server::service::Service;
use doorstep_server::store::ServerStore;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_tests::call;
use tower::ServiceExt;

struct World {
    app: axum::Router,
    service: Service,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(40);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "t1", "Tournée 1", None, &ids[..25]).await.unwrap();
    store.create_turf(&campaign.id, "t2", "Tournée 2", None, &ids[25..]).await.unwrap();
    World { app: api::app(service.clone()), service, _dir: dir }
}

async fn join(w: &World, volunteer: &str, device: &str) -> String {
    let code = w.service.invite_volunteer("nantes-2026", volunteer, volunteer).await.unwrap();
    let body = serde_json::json!({"protocol": 1, "code": code.to_lowercase(), "device_id": device});
    let (st, b) = call(&w.app, "POST", "/api/v1/join", None, body.to_string().into_bytes()).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let r: JoinResponse = serde_json::from_slice(&b).unwrap();
    assert_eq!(r.volunteer_id, volunteer);
    // The code is single use.
    let (st, b) = call(&w.app, "POST", "/api/v1/join", None, body.to_string().into_bytes()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(serde_json::from_slice::<ApiError>(&b).unwrap().code, "bad_join_code");
    r.token
}

fn error_code(b: &[u8]) -> String {
    serde_json::from_slice::<ApiError>(b)
        .unwrap_or_else(|_| panic!("not an ApiError: {}", String::from_utf8_lossy(b)))
        .code
}

fn knock(id_n: u32, turf: &str, door: &str, volunteer: &str, device: &str) -> KnockReport {
    doorstep_tests::report(id_n, "nantes-2026", turf, door, volunteer, device)
}

#[tokio::test]
async fn join_pull_push_and_replay() {
    let w = world().await;
    let token = join(&w, "vol-a", "dev-a").await;
    w.service.store.assign_turf("t1", Some("vol-a"), None).await.unwrap();

    let pull = |held: Vec<HeldTurf>| PullRequest { protocol: PROTOCOL_VERSION, cursor: None, held };
    let (st, b) =
        call(&w.app, "POST", "/api/v1/sync/pull", Some(&token), serde_json::to_vec(&pull(vec![])).unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    let r: PullResponse = serde_json::from_slice(&b).unwrap();
    assert_eq!(r.buckets.len(), 1);
    let pkg = r.buckets[0].package.clone().expect("a new device gets the full package");
    assert_eq!(pkg.buildings.len(), 25);
    assert_eq!(doorstep_protocol::turf_checksum(&pkg), r.buckets[0].checksum);
    // Holding the current version (and a turf it must drop): nothing to send, one removed.
    let held = vec![
        HeldTurf { turf_id: "t1".into(), version: pkg.turf.version, staged: false },
        HeldTurf { turf_id: "t2".into(), version: 1, staged: false },
    ];
    let mut req = pull(held);
    req.cursor = Some(r.cursor.clone());
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/pull", Some(&token), serde_json::to_vec(&req).unwrap()).await;
    let r2: PullResponse = serde_json::from_slice(&b).unwrap();
    assert!(r2.buckets[0].package.is_none());
    assert_eq!(r2.removed, vec!["t2".to_string()]);

    let door = pkg.doors[0].id.clone();
    let batch = PushRequest {
        protocol: PROTOCOL_VERSION,
        device_id: "dev-a".into(),
        reports: vec![knock(1, "t1", &door, "vol-a", "dev-a"), knock(2, "t1", &door, "vol-b", "dev-a")],
    };
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/push", Some(&token), serde_json::to_vec(&batch).unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let r: PushResponse = serde_json::from_slice(&b).unwrap();
    assert_eq!(r.results[0].status, ItemStatus::Accepted);
    assert!(
        matches!(&r.results[1].status, ItemStatus::Rejected { reason, .. } if reason.contains("another device or volunteer"))
    );
    // Replayed: duplicate, and the rejected one is rejected again, never stored.
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/push", Some(&token), serde_json::to_vec(&batch).unwrap()).await;
    let r: PushResponse = serde_json::from_slice(&b).unwrap();
    assert_eq!(r.results[0].status, ItemStatus::Duplicate);
    assert!(matches!(r.results[1].status, ItemStatus::Rejected { .. }));
    assert_eq!(w.service.store.reports("nantes-2026").await.unwrap().len(), 1);

    // Revoked: the next pull says wipe and hands out nothing.
    assert!(w.service.store.revoke_device("dev-a", "vol-a", (w.service.now)()).await.unwrap());
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/pull", Some(&token), serde_json::to_vec(&req).unwrap()).await;
    let r3: PullResponse = serde_json::from_slice(&b).unwrap();
    assert!(r3.wipe);
    assert!(r3.buckets.is_empty());
    assert_eq!(r3.removed.len(), 2);
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_stores_nothing() {
    let w = world().await;
    let token = join(&w, "vol-a", "dev-a").await;
    w.service.store.assign_turf("t1", Some("vol-a"), None).await.unwrap();
    let door = w.service.turf_package("t1").await.unwrap().unwrap().doors[0].id.clone();
    let good =
        PushRequest { protocol: 1, device_id: "dev-a".into(), reports: vec![knock(7, "t1", &door, "vol-a", "dev-a")] };
    let mut good_json = serde_json::to_value(&good).unwrap();
    let mut unknown_field = good_json.clone();
    unknown_field["reports"][0]["vote"] = serde_json::json!("secret");
    let mut missing_field = good_json.clone();
    missing_field["reports"][0].as_object_mut().unwrap().remove("hlc");
    let mut old_protocol = good_json.clone();
    old_protocol["protocol"] = serde_json::json!(99);
    let mut forged_device = good_json.clone();
    forged_device["device_id"] = serde_json::json!("dev-b");
    let mut bad_coords = good_json.clone();
    bad_coords["reports"][0]["position"] = serde_json::json!({"lat": 95.0, "lon": 2.0, "accuracy_m": null});
    let big = vec![b' '; api::MAX_BODY_BYTES + 10];
    let push = "/api/v1/sync/push";
    let cases: Vec<(Option<&str>, Vec<u8>, StatusCode, &str)> = vec![
        (Some(&token), b"{not json".to_vec(), StatusCode::BAD_REQUEST, "malformed_body"),
        (Some(&token), serde_json::to_vec(&unknown_field).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "malformed_body"),
        (Some(&token), serde_json::to_vec(&missing_field).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "malformed_body"),
        (Some(&token), serde_json::to_vec(&old_protocol).unwrap(), StatusCode::BAD_REQUEST, "unsupported_protocol"),
        (Some(&token), serde_json::to_vec(&forged_device).unwrap(), StatusCode::FORBIDDEN, "forbidden"),
        (Some(&token), big, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        (None, serde_json::to_vec(&good).unwrap(), StatusCode::UNAUTHORIZED, "missing_token"),
        (Some("forged-token"), serde_json::to_vec(&good).unwrap(), StatusCode::UNAUTHORIZED, "bad_token"),
    ];
    for (tok, body, status, code) in cases {
        let (st, b) = call(&w.app, "POST", push, tok, body).await;
        assert_eq!((st, error_code(&b).as_str()), (status, code), "{}", String::from_utf8_lossy(&b));
    }
    // Bogus coordinates inside a well-formed batch: that item is rejected with a reason.
    let (st, b) = call(&w.app, "POST", push, Some(&token), serde_json::to_vec(&bad_coords).unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    let r: PushResponse = serde_json::from_slice(&b).unwrap();
    assert!(matches!(&r.results[0].status, ItemStatus::Rejected { reason, .. } if reason.contains("coordinates")));
    assert!(w.service.store.reports("nantes-2026").await.unwrap().is_empty(), "nothing half-stored");
    // A bad cursor on pull.
    let (st, b) =
        call(&w.app, "POST", "/api/v1/sync/pull", Some(&token), br#"{"protocol":1,"cursor":"garbage"}"#.to_vec()).await;
    assert_eq!((st, error_code(&b).as_str()), (StatusCode::BAD_REQUEST, "bad_cursor"));
    // The server is still up and the good batch goes through.
    good_json["reports"][0]["note"] = serde_json::json!("ok");
    let (st, _) = call(&w.app, "POST", push, Some(&token), serde_json::to_vec(&good_json).unwrap()).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn exports_and_expired_tokens() {
    use doorstep_server::store::{Role, User};
    let w = world().await;
    let token = join(&w, "vol-a", "dev-a").await;
    w.service.store.assign_turf("t1", Some("vol-a"), None).await.unwrap();
    let door = w.service.turf_package("t1").await.unwrap().unwrap().doors[0].id.clone();
    let mut k = knock(42, "t1", &door, "vol-a", "dev-a");
    k.note = Some("=HYPERLINK(\"http://evil\")".into());
    let batch = PushRequest { protocol: 1, device_id: "dev-a".into(), reports: vec![k] };
    let (st, _) = call(&w.app, "POST", "/api/v1/sync/push", Some(&token), serde_json::to_vec(&batch).unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    w.service
        .store
        .create_user(&User {
            id: "coord".into(),
            campaign_id: "nantes-2026".into(),
            role: Role::Coordinator,
            display_name: "C".into(),
            team_id: None,
        })
        .await
        .unwrap();
    let coord = w.service.issue_staff_token("coord").await.unwrap();
    let (st, b) = call(&w.app, "GET", "/api/v1/export/reports.csv", Some(&coord), vec![]).await;
    assert_eq!(st, StatusCode::OK);
    let csv = String::from_utf8(b).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("\"Report ID\",\"Date Canvassed\",\"Result\""), "{}", lines[0]);
    assert!(lines[1].contains("\"not_home\"") && lines[1].contains("\"vol-a\""), "{}", lines[1]);
    assert!(lines[1].contains("\"'=HYPERLINK(\"\"http://evil\"\")\""), "formulas are neutralised: {}", lines[1]);
    let (_, b) = call(&w.app, "GET", "/api/v1/export/reports.json", Some(&coord), vec![]).await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&b).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["overlap"], false);

    // A token past its expiry is refused with its own code.
    let mut later = w.service.clone();
    later.now = Arc::new(|| i64::MAX / 2);
    let app = api::app(later);
    let (st, b) = call(&app, "POST", "/api/v1/sync/pull", Some(&token), br#"{"protocol":1}"#.to_vec()).await;
    assert_eq!((st, error_code(&b).as_str()), (StatusCode::UNAUTHORIZED, "token_expired"));
}

#[tokio::test]
async fn responses_are_gzipped_when_asked() {
    let w = world().await;
    let token = join(&w, "vol-a", "dev-a").await;
    w.service.store.assign_turf("t1", Some("vol-a"), None).await.unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/sync/pull")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(r#"{"protocol":1}"#))
        .unwrap();
    let resp = w.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.headers().get(header::CONTENT_ENCODING).unwrap(), "gzip");
}
