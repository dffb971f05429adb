//! The coordinator and captain API over HTTP, in-process on the SQLite backend: the role × route ×
//! scope matrix generated from the router's own table, imports (VAN walk list, GeoJSON, bad rows),
//! script edits reaching devices, reassignment reaching devices as deltas, and server-side door
//! status.

use std::sync::Arc;

use axum::http::StatusCode;
use doorstep_core::{KnockInput, Store};
use doorstep_protocol::{HeldTurf, PROTOCOL_VERSION, PullRequest, PullResponse, PushRequest, PushResponse, Target};
use doorstep_server::admin::{Staff, TurfTeamRequest};
use doorstep_server::api::{self, Access, ROUTES, RouteSpec};
use doorstep_server::people::{InviteRequest, TeamRequest};
use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, User};
use doorstep_tests::{call, code_of};

const CAMPAIGN: &str = "nantes-2026";

struct World {
    app: axum::Router,
    session_north: doorstep_protocol::Session,
    session_south: doorstep_protocol::Session,
    service: Service,
    /// anonymous, volunteer A's device, the north captain, the coordinator.
    tokens: Vec<(&'static str, Option<Role>, Option<String>)>,
    /// The first street of t1 (north) and of t2 (south).
    street_t1: String,
    street_t2: String,
    /// A report on a door moved out of t1 into t4 after vol-a took t1 (north), and one moved from
    /// t2 to t5 (south): overlaps to review.
    overlap_north: String,
    overlap_south: String,
    /// Reports of vol-a (north, t1) and vol-b (south, t2) pushed as if their devices were revoked:
    /// held for review.
    held_north: String,
    held_south: String,
    _dir: tempfile::TempDir,
}

fn coordinator(service: &Service) -> Staff {
    let _ = service;
    Staff {
        user: User {
            id: "coord".into(),
            campaign_id: CAMPAIGN.into(),
            role: Role::Coordinator,
            display_name: "C".into(),
            team_id: None,
        },
        teams: None,
    }
}

/// 40 addresses: t1 (north team, held by vol-a), t2 (south, vol-b), t4 (north, nobody), the last
/// five in no turf. Users: vol-a and vol-c (north), vol-b (south), captains cap-nord and cap-sud,
/// the coordinator. vol-a's device dev-a and vol-b's dev-b have joined.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let mut service = Service::new(store.clone());
    service.sms_keys = Some(Arc::new(doorstep_server::sms_credentials::Sealer::from_key([3; 32])));
    service.public_url = Some("https://terrain.example.fr".into());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(40);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    store
        .create_user(&User {
            id: "coord".into(),
            campaign_id: CAMPAIGN.into(),
            role: Role::Coordinator,
            display_name: "C".into(),
            team_id: None,
        })
        .await
        .unwrap();
    let co = coordinator(&service);
    let mut captain_token = String::new();
    for (cap, team) in [("cap-nord", "nord"), ("cap-sud", "sud")] {
        let inv = service
            .invite(
                &co,
                InviteRequest {
                    email: None,
                    name: cap.into(),
                    user_id: Some(cap.into()),
                    role: Role::Captain,
                    team_id: None,
                },
            )
            .await
            .unwrap();
        if cap == "cap-nord" {
            captain_token = inv.token.unwrap();
        }
        service
            .create_team(&co, TeamRequest { id: team.into(), name: team.into(), captains: vec![cap.into()] })
            .await
            .unwrap();
    }
    for (turf, team, range) in
        [("t1", "nord", 0..15), ("t2", "sud", 15..30), ("t4", "nord", 30..35), ("t5", "sud", 35..37)]
    {
        store.create_turf(CAMPAIGN, turf, turf, Some(team), &ids[range]).await.unwrap();
    }
    let mut device_tokens = Vec::new();
    for (vol, team, dev) in [("vol-a", "nord", Some("dev-a")), ("vol-b", "sud", Some("dev-b")), ("vol-c", "nord", None)]
    {
        let inv = service
            .invite(
                &co,
                InviteRequest {
                    email: None,
                    name: vol.into(),
                    user_id: Some(vol.into()),
                    role: Role::Volunteer,
                    team_id: Some(team.into()),
                },
            )
            .await
            .unwrap();
        if let Some(dev) = dev {
            let r = service
                .join(doorstep_protocol::JoinRequest {
                    protocol: 1,
                    code: inv.join_code.unwrap(),
                    device_id: dev.into(),
                })
                .await
                .unwrap();
            device_tokens.push(r.token);
        }
    }
    store.assign_turf("t1", Some("vol-a"), None).await.unwrap();
    store.assign_turf("t2", Some("vol-b"), None).await.unwrap();
    // SMS is set up (issue 19): how texts are signed, a polling day, a budget.
    doorstep_server::store::SmsStore::set_sms_settings(
        &*store,
        CAMPAIGN,
        &doorstep_server::store::ops::sms::SmsSettings {
            sender_name: "Équipe Nord".into(),
            election_days: vec![doorstep_protocol::validate::sms::Day { year: 2027, month: 4, day: 11 }],
            max_segments: 2,
            follow_up_body: None,
        },
        1_780_000_000_000,
    )
    .await
    .unwrap();
    // A reply in the team inbox.
    doorstep_server::store::SmsStore::sms_record_inbound(
        &*store,
        "in-1",
        CAMPAIGN,
        "+33612345678",
        "Je serai là samedi",
        false,
        "twilio",
        1_780_000_000_000,
    )
    .await
    .unwrap();
    // Both volunteers have a photo on their page (shown to the whole campaign by default).
    for v in ["vol-a", "vol-b"] {
        store.set_photo(v, Some("/9j/2Q==".to_string()), 1_780_000_000_000).await.unwrap();
    }
    let session = doorstep_protocol::Session {
        id: "s-monde".into(),
        campaign_id: CAMPAIGN.into(),
        title: "Samedi matin".into(),
        // Fixed times (every world the same: the matrix's edits send them back unchanged).
        start_ms: 1_900_000_000_000,
        end_ms: 1_900_000_000_000 + 3 * 3_600_000,
        meeting_lat: 47.2184,
        meeting_lon: -1.5536,
        meeting_text: "Devant le marché".into(),
        capacity: 12,
        captains: vec!["cap-nord".into()],
        turfs: vec!["t2".into()],
        team_id: Some("sud".into()),
        visibility: doorstep_protocol::Visibility::Team,
        cancelled: false,
    };
    service.create_session(&co, session.clone()).await.unwrap();
    // A session of the north team, captained by cap-nord: one they may edit.
    let north = doorstep_protocol::Session {
        id: "s-nord-samedi".into(),
        captains: vec!["cap-nord".into()],
        turfs: vec!["t1".into()],
        team_id: Some("nord".into()),
        ..session.clone()
    };
    service.create_session(&co, north.clone()).await.unwrap();
    // Past results with lists A and B, so that a formula can name them.
    let results = b"bureau,inscrits,votants,exprimes,liste,voix\n1,500,300,290,A,200\n1,500,300,290,B,90\n";
    service.import_results(&co, results, Default::default()).await.unwrap();
    let coord_token = service.issue_staff_token("coord").await.unwrap();
    let mut overlaps = Vec::new();
    for (i, (from, to, vol, dev, token)) in
        [("t1", "t4", "vol-a", "dev-a", &device_tokens[0]), ("t2", "t5", "vol-b", "dev-b", &device_tokens[1])]
            .into_iter()
            .enumerate()
    {
        let pkg = store.turf_package(from).await.unwrap().unwrap();
        let building = pkg.buildings.last().unwrap().id.clone();
        let door = pkg.doors.iter().find(|d| d.building_id == building).unwrap().id.clone();
        store.move_buildings(CAMPAIGN, std::slice::from_ref(&building), to, None).await.unwrap();
        let k = doorstep_tests::report(900 + i as u32, CAMPAIGN, from, &door, vol, dev);
        let session = service.authenticate(token).await.unwrap();
        let r = service
            .push(&session, PushRequest { protocol: 1, device_id: dev.into(), reports: vec![k.clone()] })
            .await
            .unwrap();
        assert_eq!(r.results[0].status, doorstep_protocol::ItemStatus::Accepted);
        overlaps.push(k.id);
    }
    let mut held = Vec::new();
    for (n, turf, vol, dev) in [(950, "t1", "vol-a", "dev-a"), (951, "t2", "vol-b", "dev-b")] {
        let pkg = store.turf_package(turf).await.unwrap().unwrap();
        let k = doorstep_tests::report(n, CAMPAIGN, turf, &pkg.doors[0].id, vol, dev);
        let revoked = doorstep_server::store::Device {
            device_id: dev.into(),
            user_id: vol.into(),
            campaign_id: CAMPAIGN.into(),
            expires_ms: i64::MAX,
            revoked_ms: Some(1),
            wiped_ms: None,
        };
        let got = doorstep_tests::ingest(&*store, &revoked, std::slice::from_ref(&k), 1_780_000_000_000).await;
        assert_eq!(got.unwrap(), vec![doorstep_tests::Ingested::Held]);
        held.push(k.id);
    }
    let street = |t: &str| {
        let s = store.clone();
        let t = t.to_string();
        async move { s.turf_package(&t).await.unwrap().unwrap().buildings[0].street.clone() }
    };
    World {
        app: api::app(service.clone()),
        tokens: vec![
            ("anonymous", None, None),
            ("volunteer", Some(Role::Volunteer), Some(device_tokens[0].clone())),
            ("captain", Some(Role::Captain), Some(captain_token)),
            ("coordinator", Some(Role::Coordinator), Some(coord_token)),
        ],
        street_t1: street("t1").await,
        street_t2: street("t2").await,
        overlap_north: overlaps[0].clone(),
        overlap_south: overlaps[1].clone(),
        held_north: held[0].clone(),
        held_south: held[1].clone(),
        session_north: north,
        session_south: session,
        service,
        _dir: dir,
    }
}

/// A request for a route: `inside` names things within the north captain's teams, otherwise the
/// south team's. `None` for `!inside` means the route takes nothing a scope could exclude.
fn sample(w: &World, r: &RouteSpec, inside: bool) -> Option<(String, Vec<u8>)> {
    let (turf, vol, dev, team) =
        if inside { ("t1", "vol-a", "dev-a", "nord") } else { ("t2", "vol-b", "dev-b", "sud") };
    let json = |v: serde_json::Value| v.to_string().into_bytes();
    let scoped = |p: String, b: Vec<u8>| Some((p, b));
    let unscoped = |b: Vec<u8>| if inside { Some((r.path.to_string(), b)) } else { None };
    match (r.method, r.path) {
        ("GET", "/healthz") | ("GET", "/openapi.json") | ("GET", "/api/v1/me") | ("GET", "/api/v1/campaign") => {
            unscoped(vec![])
        }
        ("GET", "/") => unscoped(vec![]),
        ("GET", "/assets/{file}") => inside.then(|| ("/assets/app.js".to_string(), vec![])),
        ("POST", "/api/v1/session") => {
            unscoped(json(serde_json::json!({"login": "nobody", "password": "not the one"})))
        }
        ("GET", "/api/v1/session")
        | ("DELETE", "/api/v1/session")
        | ("GET", "/api/v1/map/streets")
        | ("GET", "/api/v1/map/buildings")
        | ("GET", "/api/v1/map/cells")
        | ("GET", "/api/v1/progress")
        | ("GET", "/api/v1/audit") => unscoped(vec![]),
        // Until one event (`ready`) has been sent, then the stream ends.
        ("GET", "/api/v1/events") => inside.then(|| ("/api/v1/events?limit=1".to_string(), vec![])),
        ("PUT", "/api/v1/users/{user_id}/login") => {
            let (user, login) = if inside { ("cap-nord", "nour") } else { ("cap-sud", "yann") };
            scoped(
                format!("/api/v1/users/{user}/login"),
                json(serde_json::json!({"login": login, "password": "a long enough secret"})),
            )
        }
        ("GET", "/api/v1/results") | ("GET", "/api/v1/results.csv") => {
            scoped(format!("{}?turf={turf}", r.path), vec![])
        }
        ("POST", "/api/v1/overlaps/{report_id}/review") => {
            let id = if inside { &w.overlap_north } else { &w.overlap_south };
            scoped(format!("/api/v1/overlaps/{id}/review"), vec![])
        }
        ("POST", "/api/v1/join") => {
            unscoped(json(serde_json::json!({"protocol":1,"code":"XXXXX-XXXXX","device_id":"d"})))
        }
        ("POST", "/api/v1/sync/push") => {
            unscoped(json(serde_json::json!({"protocol":1,"device_id":"dev-a","reports":[]})))
        }
        ("POST", "/api/v1/sync/pull") => unscoped(json(serde_json::json!({"protocol":1}))),
        ("POST", "/api/v1/sync/wiped") => unscoped(vec![]),
        ("GET", "/api/v1/sync/sessions") | ("GET", "/api/v1/sessions") => unscoped(vec![]),
        ("POST", "/api/v1/sync/signups") => {
            unscoped(json(serde_json::json!({"protocol":1,"device_id":"dev-a","events":[]})))
        }
        ("GET", "/api/v1/sync/keys") | ("GET", "/api/v1/sync/reminders") => unscoped(vec![]),
        ("POST", "/api/v1/sync/messages") => {
            unscoped(json(serde_json::json!({"protocol":1,"device_id":"dev-a","events":[]})))
        }
        ("POST", "/api/v1/sync/feed") | ("POST", "/api/v1/messages/feed") => {
            unscoped(json(serde_json::json!({"protocol":1})))
        }
        // No wait: the answer comes at once.
        ("POST", "/api/v1/sync/feed/wait") => unscoped(json(serde_json::json!({"protocol":1, "wait_ms": 0}))),
        // A message to the captain's own team's channel, or to the other team's.
        ("POST", "/api/v1/messages") => scoped(
            r.path.into(),
            json(
                serde_json::json!({"channel_id": format!("team:{team}"), "action": {"kind": "post", "body": "Rendez-vous 10 h"}}),
            ),
        ),
        ("GET", "/p/{session_id}") => unscoped(vec![]).map(|_| ("/p/s-monde".to_string(), vec![])),
        ("POST", "/p/{session_id}") => unscoped(vec![]).map(|_| ("/p/s-monde".to_string(), b"name=A".to_vec())),
        ("GET", "/api/v1/sessions/{session_id}/calendar.ics") => {
            unscoped(vec![]).map(|_| ("/api/v1/sessions/s-monde/calendar.ics".to_string(), vec![]))
        }
        ("POST", "/api/v1/sync/handoffs") => {
            unscoped(json(serde_json::json!({"protocol":1,"device_id":"dev-a","handoffs":[]})))
        }
        // The world's session is captained by cap-nord: a volunteer's phone gets no grant.
        ("POST", "/api/v1/sync/grants") => unscoped(json(serde_json::json!({
            "protocol":1,"device_id":"dev-a","session_id":"s-monde","public_key":"A".repeat(43)}))),
        ("POST", "/api/v1/me/phone") => unscoped(vec![]),
        // A session of the captain's own team, captained by them; or of the other team.
        ("POST", "/api/v1/sessions") => {
            let captain = if inside { "cap-nord" } else { "cap-sud" };
            scoped(
                r.path.into(),
                json(serde_json::json!({
                    "id": format!("s-{team}"), "campaign_id": "ignored", "title": "Samedi matin",
                    "start_ms": 1_780_000_000_000i64, "end_ms": 1_780_010_000_000i64,
                    "meeting_lat": 47.2184, "meeting_lon": -1.5536, "meeting_text": "Devant le marché",
                    "capacity": 12, "captains": [captain], "turfs": [turf], "team_id": team, "visibility": "team"})),
            )
        }
        // An edit of the captain's own team's session, or of the other team's (which they
        // captain, but do not lead): more places.
        ("PUT", "/api/v1/sessions/{session_id}") => {
            let s = if inside { &w.session_north } else { &w.session_south };
            let edited = doorstep_protocol::Session { capacity: 20, ..s.clone() };
            scoped(format!("/api/v1/sessions/{}", s.id), json(serde_json::to_value(&edited).unwrap()))
        }
        ("GET", "/api/v1/held") => unscoped(vec![]),
        ("POST", "/api/v1/held/{report_id}/review") => {
            let id = if inside { &w.held_north } else { &w.held_south };
            scoped(format!("/api/v1/held/{id}/review"), json(serde_json::json!({"accept": true})))
        }
        ("POST", "/api/v1/campaigns") => unscoped(json(serde_json::json!({
            "id":"lyon-2027","name":"Lyon","mode":"address_only","coordinator_id":"coord-lyon","coordinator_name":"L"}))),
        ("PUT", "/api/v1/campaign/script") => unscoped(json(serde_json::json!({
            "survey": doorstep_tests::survey_script(), "result_codes": doorstep_protocol::default_result_codes()}))),
        ("POST", "/api/v1/import/addresses.csv") => {
            unscoped(b"street,housenumber,lat,lon\nRue Neuve,1,47.2135,-1.5561\n".to_vec())
        }
        ("POST", "/api/v1/import/addresses.geojson") => {
            unscoped(json(serde_json::json!({"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[-1.5561,47.2136]},"properties":{"street":"Rue Neuve","housenumber":"3"}}]})))
        }
        ("POST", "/api/v1/import/streets.geojson") => {
            unscoped(json(serde_json::json!({"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[-1.5565,47.2134],[-1.5555,47.2134]]},"properties":{"name":"Rue Neuve"}}]})))
        }
        ("POST", "/api/v1/import/streets") => unscoped(
            std::fs::read(doorstep_tests::repo_root().join("data/nantes/fr_nantes_centre_troncon_de_route.gpkg"))
                .unwrap(),
        ),
        ("POST", "/api/v1/turfs/cut") => unscoped(json(serde_json::json!({"target_doors": 20}))),
        ("POST", "/api/v1/import/results.csv") => {
            unscoped(b"bureau,inscrits,votants,exprimes,liste,voix\n1,500,300,290,A,200\n1,500,300,290,B,90\n".to_vec())
        }
        ("POST", "/api/v1/import/stations.geojson") => {
            unscoped(json(serde_json::json!({"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"bureau":"1"},"geometry":{"type":"Polygon","coordinates":[[[-1.6,47.1],[-1.5,47.1],[-1.5,47.3],[-1.6,47.1]]]}}]})))
        }
        ("PUT", "/api/v1/targeting") => unscoped(json(serde_json::json!({"favourable": ["A"]}))),
        ("GET", "/api/v1/targeting")
        | ("GET", "/api/v1/stations")
        | ("GET", "/api/v1/stations.geojson")
        | ("GET", "/api/v1/turfs/ranking") => unscoped(vec![]),
        ("GET", "/api/v1/turfs")
        | ("GET", "/api/v1/teams")
        | ("GET", "/api/v1/users")
        | ("GET", "/api/v1/overlaps")
        | ("GET", "/api/v1/export/reports.json")
        | ("GET", "/api/v1/export/reports.csv") => unscoped(vec![]),
        ("GET", "/api/v1/turfs/{turf_id}/doors") => scoped(format!("/api/v1/turfs/{turf}/doors"), vec![]),
        ("GET", "/api/v1/turfs/{turf_id}/sheet.pdf") => scoped(format!("/api/v1/turfs/{turf}/sheet.pdf"), vec![]),
        ("POST", "/api/v1/turfs/{turf_id}/paper") => scoped(
            format!("/api/v1/turfs/{turf}/paper"),
            json(serde_json::json!({"rows": [{"code": "000000", "result": "1"}]})),
        ),
        ("POST", "/api/v1/turfs/{turf_id}/assign") => scoped(
            format!("/api/v1/turfs/{turf}/assign"),
            json(serde_json::json!({"volunteer_id": vol, "lease_days": 7})),
        ),
        ("POST", "/api/v1/turfs/{turf_id}/return") => scoped(format!("/api/v1/turfs/{turf}/return"), vec![]),
        ("PUT", "/api/v1/turfs/{turf_id}/team") => {
            scoped(format!("/api/v1/turfs/{turf}/team"), json(serde_json::json!({"team_id": team})))
        }
        ("POST", "/api/v1/reassign") => {
            let street = if inside { &w.street_t1 } else { &w.street_t2 };
            scoped(r.path.into(), json(serde_json::json!({"turf_id": turf, "street": street, "to_turf": "t4"})))
        }
        ("POST", "/api/v1/teams") => unscoped(json(serde_json::json!({"id":"est","name":"Est"}))),
        ("POST", "/api/v1/teams/{team_id}/members") => {
            scoped(format!("/api/v1/teams/{team}/members"), json(serde_json::json!({"user_id": "vol-c"})))
        }
        ("POST", "/api/v1/invitations") => {
            scoped(r.path.into(), json(serde_json::json!({"name": "Nouvelle", "team_id": team})))
        }
        ("POST", "/api/v1/devices/{device_id}/revoke") => scoped(format!("/api/v1/devices/{dev}/revoke"), vec![]),
        // Pages are the campaign's (each field by its visibility): no team scope to cross.
        ("GET", "/api/v1/sync/people") | ("GET", "/api/v1/sync/me/export") | ("DELETE", "/api/v1/sync/me/photo") => {
            unscoped(vec![])
        }
        ("POST", "/api/v1/sync/people") => {
            unscoped(json(serde_json::json!({"protocol":1,"device_id":"dev-a","events":[]})))
        }
        ("GET", "/api/v1/sync/people/{user_id}")
        | ("GET", "/api/v1/sync/people/{user_id}/photo")
        | ("GET", "/api/v1/people/{user_id}")
        | ("GET", "/api/v1/people/{user_id}/photo")
        | ("GET", "/api/v1/people/{user_id}/export") => {
            unscoped(vec![]).map(|_| (r.path.replace("{user_id}", "vol-b"), vec![]))
        }
        ("PUT", "/api/v1/sync/me/photo") => unscoped({
            let mut png = Vec::new();
            image::RgbImage::new(4, 3).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
            png
        }),
        ("POST", "/api/v1/sync/me/delete") => unscoped(json(serde_json::json!({"confirm": "SUPPRIMER"}))),
        ("GET", "/api/v1/sms/settings")
        | ("GET", "/api/v1/sms/inbox")
        | ("GET", "/api/v1/sms/optouts")
        | ("GET", "/api/v1/sms/provider")
        | ("GET", "/api/v1/sms/outbox")
        | ("GET", "/api/v1/sms/expenses") => unscoped(vec![]),
        ("PUT", "/api/v1/sms/provider") => unscoped(json(serde_json::json!({"kind": "smpp",
            "endpoint": "127.0.0.1:2775", "account": "nord", "sender": "EqNord", "secret": "mot-de-passe"}))),
        ("PUT", "/api/v1/sms/inbox/{id}") => {
            unscoped(vec![]).map(|_| ("/api/v1/sms/inbox/in-1".into(), json(serde_json::json!({"state": "handled"}))))
        }
        // Twilio's webhook: public, and without the campaign's signature it takes nothing.
        ("POST", "/api/v1/sms/hooks/twilio/{campaign_id}") => unscoped(vec![]).map(|_| {
            (format!("/api/v1/sms/hooks/twilio/{CAMPAIGN}"), b"MessageSid=SM1&From=%2B33612345678&Body=STOP".to_vec())
        }),
        ("PUT", "/api/v1/sms/settings") => unscoped(json(serde_json::json!({"sender_name": "Équipe Nord",
            "election_days": [{"year": 2027, "month": 4, "day": 11}], "max_segments": 2}))),
        ("POST", "/api/v1/sms/consents") => unscoped(json(serde_json::json!({"purpose": "team_news",
            "consent_text": "J'accepte de recevoir les SMS de mon équipe.", "numbers": ["06 12 34 56 78"]}))),
        // A text to the captain's own team, or to the other team.
        ("POST", "/api/v1/sms/preview") | ("POST", "/api/v1/sms/send") => scoped(
            r.path.into(),
            json(serde_json::json!({"audience": {"kind": "team", "team_id": team}, "purpose": "team_news",
                "body": "Équipe Nord : rendez-vous 10 h. STOP au 36180", "idempotency_key": "k-1"})),
        ),
        (m, p) => panic!("route {m} {p} has no sample request in this test: add one"),
    }
}

/// For every route in the router's table, every role (anonymous, volunteer, captain,
/// coordinator), and both scopes (things of the captain's own team, and of another team), the
/// answer is exactly what the route's access and the caller's scope allow. Each call runs on a
/// fresh world, so no call depends on another's effects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_by_route_by_scope_matrix_from_the_route_table() {
    let mut checked = 0;
    let template = world().await;
    for r in ROUTES {
        for inside in [true, false] {
            let Some((path, body)) = sample(&template, r, inside) else { continue };
            for i in 0..template.tokens.len() {
                let w = world().await;
                let (who, role, token) = &w.tokens[i];
                let (st, b) = call(&w.app, r.method, &path, token.as_deref(), body.clone()).await;
                let code = code_of(&b);
                let what = format!(
                    "{} {path} as {who}: {st} {code} {}",
                    r.method,
                    String::from_utf8_lossy(&b[..b.len().min(200)])
                );
                match (r.access, role) {
                    // A public route may refuse what it is given (a wrong join code), never for want of a token.
                    (Access::Public, _) => assert!(st.is_success() || !code.ends_with("_token"), "{what}"),
                    (_, None) => assert_eq!(st, StatusCode::UNAUTHORIZED, "{what}"),
                    (access, Some(role)) if !access.admits(*role, *role == Role::Volunteer) => {
                        assert_eq!((st, code.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{what}")
                    }
                    // The world's session is the south team's: a north volunteer's phone does not see it.
                    (_, Some(Role::Volunteer)) if r.path == "/api/v1/sessions/{session_id}/calendar.ics" => {
                        assert_eq!((st, code.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{what}")
                    }
                    // Only a session's captains get a grant for it, and no volunteer captains one.
                    (_, Some(Role::Volunteer)) if (r.method, r.path) == ("POST", "/api/v1/sync/grants") => {
                        assert_eq!((st, code.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{what}")
                    }
                    // Another team's channel is unknown to a captain who does not lead it: nothing said.
                    (_, Some(Role::Captain)) if (r.method, r.path) == ("POST", "/api/v1/messages") && !inside => {
                        assert_eq!((st, code.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{what}")
                    }
                    // Signing out is for dashboard sessions (a cookie): an API token is refused, not
                    // revoked by its own holder's mistake.
                    (_, Some(_)) if (r.method, r.path) == ("DELETE", "/api/v1/session") => {
                        assert_eq!((st, code.as_str()), (StatusCode::BAD_REQUEST, "not_a_session"), "{what}")
                    }
                    // The captain outside their teams: refused, and nothing changed.
                    (Access::Staff, Some(Role::Captain)) if !inside => {
                        assert_eq!((st, code.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{what}");
                    }
                    _ => assert!(st.is_success(), "{what}"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= ROUTES.len() * 4, "{checked}");
    let spec = api::openapi();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for r in ROUTES {
        let op = &spec["paths"][r.path][r.method.to_lowercase()];
        assert!(op.is_object(), "{} in /openapi.json", r.path);
        // Every body is described, and every JSON schema named points at a component.
        let ok = op["responses"].as_object().unwrap().iter().find(|(k, _)| k.starts_with('2')).unwrap().1;
        assert!(
            ok["content"].is_object() || op["responses"]["204"].is_object(),
            "{} {}: no response body",
            r.method,
            r.path
        );
        for (what, body) in [("response", &ok["content"]), ("request", &op["requestBody"]["content"])] {
            if let Some(sch) = body["application/json"]["schema"]["$ref"].as_str() {
                let name = sch.trim_start_matches("#/components/schemas/");
                assert!(schemas.contains_key(name), "{} {} {what}: {sch} is not in components", r.method, r.path);
            }
        }
    }
    // The push is described down to the report's fields and the error body.
    let push = &spec["paths"]["/api/v1/sync/push"]["post"];
    assert_eq!(
        push["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PushRequest"
    );
    assert_eq!(
        push["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ApiError"
    );
    let report = schemas["KnockReport"]["required"].as_array().unwrap();
    for field in ["id", "target", "result_code", "hlc", "device_id"] {
        assert!(report.iter().any(|f| f == field), "KnockReport requires {field}");
    }
}

/// What each role sees in lists: the captain only their teams' turfs, volunteers and reports;
/// volunteer A never gets B's turf and cannot write to it.
#[tokio::test]
async fn lists_and_writes_are_scoped() {
    let w = world().await;
    let (vol, cap, coord) =
        (w.tokens[1].2.clone().unwrap(), w.tokens[2].2.clone().unwrap(), w.tokens[3].2.clone().unwrap());
    let get = |token: String, path: &'static str| {
        let app = w.app.clone();
        async move {
            let (st, b) = call(&app, "GET", path, Some(&token), vec![]).await;
            assert_eq!(st, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&b));
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()
        }
    };
    let ids = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v.as_array().unwrap().iter().map(|x| x[key].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(&get(cap.clone(), "/api/v1/turfs").await, "id"), vec!["t1", "t4"]);
    assert_eq!(ids(&get(coord.clone(), "/api/v1/turfs").await, "id"), vec!["t1", "t2", "t4", "t5"]);
    assert_eq!(ids(&get(cap.clone(), "/api/v1/users").await, "id"), vec!["vol-a", "vol-c"]);
    assert_eq!(ids(&get(cap.clone(), "/api/v1/teams").await, "id"), vec!["nord"]);
    let me = get(cap.clone(), "/api/v1/me").await;
    assert_eq!((me["role"].as_str(), me["teams"][0].as_str()), (Some("captain"), Some("nord")));

    // Volunteer A pulls: t1 only. A report on a door of B's turf is refused, and so is one on
    // t1 by someone who never held it (B's device).
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/pull", Some(&vol), br#"{"protocol":1}"#.to_vec()).await;
    let pull: PullResponse = serde_json::from_slice(&b).unwrap();
    assert_eq!(pull.buckets.iter().map(|b| b.turf_id.as_str()).collect::<Vec<_>>(), vec!["t1"]);
    let t2 = w.service.turf_package("t2").await.unwrap().unwrap();
    let t1 = pull.buckets[0].package.clone().unwrap();
    let push = |turf: &str, door: &str, n: u32| PushRequest {
        protocol: 1,
        device_id: "dev-a".into(),
        reports: vec![doorstep_tests::report(n, CAMPAIGN, turf, door, "vol-a", "dev-a")],
    };
    for (turf, door) in [("t2", &t2.doors[0].id), ("t1", &t2.doors[0].id)] {
        let (st, b) =
            call(&w.app, "POST", "/api/v1/sync/push", Some(&vol), serde_json::to_vec(&push(turf, door, 1)).unwrap())
                .await;
        assert_eq!(st, StatusCode::OK);
        let r: PushResponse = serde_json::from_slice(&b).unwrap();
        assert!(
            matches!(&r.results[0].status, doorstep_protocol::ItemStatus::Rejected { reason, .. } if reason.contains("hors de vos secteurs")),
            "{:?}",
            r.results
        );
    }
    let (_, b) = call(
        &w.app,
        "POST",
        "/api/v1/sync/push",
        Some(&vol),
        serde_json::to_vec(&push("t1", &t1.doors[0].id, 2)).unwrap(),
    )
    .await;
    let r: PushResponse = serde_json::from_slice(&b).unwrap();
    assert_eq!(r.results[0].status, doorstep_protocol::ItemStatus::Accepted);
    // The captain's export holds it (t1 is north) beside the world's north overlap; the south
    // captain's would not.
    let csv = String::from_utf8(call(&w.app, "GET", "/api/v1/export/reports.csv", Some(&cap), vec![]).await.1).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains(&w.overlap_north) && !csv.contains(&w.overlap_south));
    let co = coordinator(&w.service);
    let south = w
        .service
        .invite(
            &co,
            InviteRequest {
                email: None,
                name: "x".into(),
                user_id: Some("cap-sud-2".into()),
                role: Role::Captain,
                team_id: Some("sud".into()),
            },
        )
        .await
        .unwrap()
        .token
        .unwrap();
    let csv =
        String::from_utf8(call(&w.app, "GET", "/api/v1/export/reports.csv", Some(&south), vec![]).await.1).unwrap();
    assert_eq!(csv.lines().count(), 2, "header and the south overlap only: {csv}");
    assert!(csv.contains(&w.overlap_south));
    // Server-side door status: the knocked door is "attempted", the others untouched.
    let doors = get(coord, "/api/v1/turfs/t1/doors").await;
    let knocked = doors.as_array().unwrap().iter().find(|d| d["door_id"] == t1.doors[0].id.as_str()).unwrap();
    assert_eq!((knocked["status"].as_str(), knocked["knocks"].as_u64()), (Some("attempted"), Some(1)));
    assert_eq!(doors.as_array().unwrap().iter().filter(|d| d["status"] == "untouched").count(), t1.doors.len() - 1);
}

/// A VAN walk-list export into a voter-file campaign: people reach the device with their turf, a
/// person-level result is accepted, a bad file is refused whole, and re-importing changes nothing.
#[tokio::test]
async fn van_import_cut_assign_and_people_reach_the_device() {
    let w = world().await;
    let coord = w.tokens[3].2.clone().unwrap();
    // A voter-file campaign of its own.
    let body = serde_json::json!({"id":"van-2027","name":"VAN","mode":"voter_file","coordinator_id":"coord-van","coordinator_name":"V"});
    let (st, b) = call(&w.app, "POST", "/api/v1/campaigns", Some(&coord), body.to_string().into_bytes()).await;
    assert_eq!(st, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let van: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let token = van["token"].as_str().unwrap().to_string();
    let csv = "Voter File VANID,LastName,FirstName,Address,City,State,Zip5,AptNo,Latitude,Longitude,PrecinctName\n\
               1001,Martin,Léa,12 bis rue de la Paix,Nantes,FR,44000,3,47.2130,-1.5560,BV 12\n\
               1002,Martin,Jean,12 bis rue de la Paix,Nantes,FR,44000,3,47.2130,-1.5560,BV 12\n\
               1003,Durand,Ali,14 rue de la Paix,Nantes,FR,44000,,47.2131,-1.5561,BV 12\n";
    let bad = format!("{csv}1004,X,Y,16 rue de la Paix,Nantes,FR,44000,,95.0,-1.5,BV 12\n");
    let path = "/api/v1/import/addresses.csv";
    let (st, b) = call(&w.app, "POST", path, Some(&token), bad.clone().into_bytes()).await;
    assert_eq!(
        (st, code_of(&b).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_rows"),
        "{}",
        String::from_utf8_lossy(&b)
    );
    assert!(String::from_utf8_lossy(&b).contains("ligne 5"));
    let (st, b) = call(&w.app, "POST", path, Some(&token), csv.as_bytes().to_vec()).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let r: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (r["imported"]["buildings"].as_u64(), r["imported"]["doors"].as_u64(), r["imported"]["people"].as_u64()),
        (Some(2), Some(2), Some(3))
    );
    // Twice: nothing new.
    let (_, b) = call(&w.app, "POST", path, Some(&token), csv.as_bytes().to_vec()).await;
    let r: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!((r["imported"]["people"].as_u64(), r["imported"]["existing"].as_u64()), (Some(0), Some(9)));
    // The bad row skipped on request.
    let (st, b) = call(&w.app, "POST", &format!("{path}?skip_invalid=true"), Some(&token), bad.into_bytes()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&b).unwrap()["errors"][0]["line"], 5);
    let (_, b) = call(&w.app, "POST", "/api/v1/turfs/cut", Some(&token), br#"{"target_doors":80}"#.to_vec()).await;
    let cut: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let turf = cut["turfs"][0].as_str().unwrap().to_string();
    // No street network was imported: the cut says so plainly.
    assert_eq!(cut["report"]["street_network"], false, "{cut}");
    assert!(cut["notices"][0].as_str().unwrap().starts_with("Aucun réseau de rues"), "{cut}");
    let (_, b) =
        call(&w.app, "POST", "/api/v1/invitations", Some(&token), br#"{"name":"Sam","user_id":"sam"}"#.to_vec()).await;
    let inv: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let body = serde_json::json!({"volunteer_id": "sam"}).to_string().into_bytes();
    let (st, _) = call(&w.app, "POST", &format!("/api/v1/turfs/{turf}/assign"), Some(&token), body).await;
    assert_eq!(st, StatusCode::OK);
    // A real device joins and syncs over the in-process router.
    let dir = tempfile::tempdir().unwrap();
    let phone = Store::open(dir.path().join("p.db"), None).unwrap();
    let join = w
        .service
        .join(doorstep_protocol::JoinRequest {
            protocol: 1,
            code: inv["join_code"].as_str().unwrap().into(),
            device_id: phone.device_id().into(),
        })
        .await
        .unwrap();
    let sess = w.service.authenticate(&join.token).await.unwrap();
    let pull = w.service.pull(&sess, PullRequest { protocol: 1, cursor: None, held: vec![] }).await.unwrap();
    phone.apply_pull(&pull).unwrap();
    let pkg = phone.export_turf(&turf).unwrap();
    assert_eq!(pkg.people.len(), 3);
    assert!(pkg.people.iter().any(|p| p.display_name == "Léa Martin"));
    let person = pkg.people.iter().find(|p| p.id == "van-2027:p:1002").unwrap().id.clone();
    phone
        .record_knock(KnockInput {
            target: Target::Person { id: person.clone() },
            result_code: "moved".into(),
            answers: vec![],
            note: None,
            safety_flags: vec![],
            position: None,
            follow_up: None,
        })
        .unwrap();
    let batch = phone.export_pending_batch(100).unwrap();
    let resp = w.service.push(&sess, batch).await.unwrap();
    assert_eq!(resp.results[0].status, doorstep_protocol::ItemStatus::Accepted, "{:?}", resp.results);
    let (_, b) = call(&w.app, "GET", "/api/v1/export/reports.json", Some(&token), vec![]).await;
    let rows: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let k: doorstep_protocol::KnockReport = serde_json::from_value(rows[0]["report"].clone()).unwrap();
    assert_eq!(k.target, Target::Person { id: person });

    // A canvass session on that turf (issue 17): Kim signs up, and her phone holds the turf
    // sealed — its addresses and doors, **no voter's name** (they come with a lease, if ever).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let (_, b) = call(
        &w.app,
        "POST",
        "/api/v1/invitations",
        Some(&token),
        br#"{"name":"Cap","user_id":"cap-van","role":"captain"}"#.to_vec(),
    )
    .await;
    assert!(serde_json::from_slice::<serde_json::Value>(&b).unwrap()["token"].is_string());
    let session = serde_json::json!({"id": "s-van", "campaign_id": "x", "title": "Samedi", "start_ms": now + 3_600_000,
        "end_ms": now + 4 * 3_600_000, "meeting_lat": 47.2130, "meeting_lon": -1.5560, "meeting_text": "Devant la mairie",
        "capacity": 5, "captains": ["cap-van"], "turfs": [turf], "team_id": null, "visibility": "campaign"});
    let (st, b) = call(&w.app, "POST", "/api/v1/sessions", Some(&token), session.to_string().into_bytes()).await;
    assert_eq!(st, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let (_, b) =
        call(&w.app, "POST", "/api/v1/invitations", Some(&token), br#"{"name":"Kim","user_id":"kim"}"#.to_vec()).await;
    let kim_code = serde_json::from_slice::<serde_json::Value>(&b).unwrap()["join_code"].as_str().unwrap().to_string();
    let kim = w
        .service
        .join(doorstep_protocol::JoinRequest { protocol: 1, code: kim_code, device_id: "dev-kim".into() })
        .await
        .unwrap();
    let kim = w.service.authenticate(&kim.token).await.unwrap();
    let signup = doorstep_protocol::SignupPush {
        protocol: 1,
        device_id: "dev-kim".into(),
        events: vec![doorstep_protocol::SignupEvent {
            id: uuid::Uuid::now_v7().to_string(),
            session_id: "s-van".into(),
            volunteer_id: "kim".into(),
            device_id: "dev-kim".into(),
            kind: doorstep_protocol::SignupKind::SignUp,
            at_ms: now,
            proof: None,
        }],
    };
    let r = w.service.push_signups(&kim, signup).await.unwrap();
    assert_eq!(r.results[0].status, doorstep_protocol::ItemStatus::Accepted);
    let pull = w.service.pull(&kim, PullRequest { protocol: 1, cursor: None, held: vec![] }).await.unwrap();
    assert_eq!(pull.buckets.len(), 1);
    let sealed = pull.buckets[0].package.as_ref().unwrap();
    assert!(pull.buckets[0].staged);
    assert_eq!((sealed.buildings.len(), sealed.doors.len()), (2, 2));
    assert!(sealed.people.is_empty() && sealed.households.is_empty(), "no voter's name on a sealed turf");
    assert!(!serde_json::to_string(&pull).unwrap().contains("Martin"), "no name anywhere in the pull");
    assert_eq!((sealed.turf.volunteer_id.as_str(), sealed.turf.lease_expires_ms), ("", None), "nor who holds it");
}

/// Editing the script: devices get version 2 on their next pull (as a delta), reports made with
/// version 1 are still accepted, and a script that would break devices is refused.
#[tokio::test]
async fn script_edits_are_versioned_and_reach_devices() {
    let w = world().await;
    let coord = w.tokens[3].2.clone().unwrap();
    let dev = w.service.authenticate(w.tokens[1].2.as_deref().unwrap()).await.unwrap();
    let first = w.service.pull(&dev, PullRequest { protocol: 1, cursor: None, held: vec![] }).await.unwrap();
    let v1 = first.buckets[0].version;
    let mut survey = doorstep_tests::survey_script();
    survey.questions.retain(|q| q.id != "comment");
    let mut codes = doorstep_protocol::default_result_codes();
    codes.push(doorstep_protocol::ResultCode {
        code: "procuration".into(),
        label_fr: "Veut une procuration".into(),
        label_en: "Wants a proxy vote".into(),
        level: doorstep_protocol::ResultLevel::Door,
        outcome: doorstep_protocol::Outcome::Contacted,
    });
    let body = serde_json::json!({"survey": survey, "result_codes": codes}).to_string().into_bytes();
    let (st, b) = call(&w.app, "PUT", "/api/v1/campaign/script", Some(&coord), body).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&b).unwrap()["version"], 2);
    let held = vec![HeldTurf { turf_id: "t1".into(), version: v1, staged: false }];
    let next = w.service.pull(&dev, PullRequest { protocol: 1, cursor: None, held }).await.unwrap();
    let delta = next.buckets[0].delta.as_ref().expect("a delta, not the whole turf");
    assert!(next.buckets[0].package.is_none());
    assert_eq!(delta.campaign.as_ref().unwrap().survey.version, 2);
    assert!(delta.upsert_buildings.is_empty());
    // Removing a code that devices may hold reports with is refused; so is a broken skip rule.
    codes.retain(|c| c.code != "procuration");
    let body = serde_json::json!({"survey": survey, "result_codes": codes}).to_string().into_bytes();
    let (st, b) = call(&w.app, "PUT", "/api/v1/campaign/script", Some(&coord), body).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "bad_script"));
    let mut broken = survey.clone();
    broken.questions.reverse();
    let body = serde_json::json!({"survey": broken, "result_codes": doorstep_protocol::default_result_codes()})
        .to_string()
        .into_bytes();
    let (st, b) = call(&w.app, "PUT", "/api/v1/campaign/script", Some(&coord), body).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "bad_script"), "{}", String::from_utf8_lossy(&b));
    // A report made with version 1 (answering the question version 2 dropped) is accepted.
    let t1 = first.buckets[0].package.clone().unwrap();
    let mut k = doorstep_tests::report(9, CAMPAIGN, "t1", &t1.doors[0].id, "vol-a", "dev-a");
    k.survey_version = 1;
    let r = w
        .service
        .push(&dev, PushRequest { protocol: 1, device_id: "dev-a".into(), reports: vec![k.clone()] })
        .await
        .unwrap();
    assert_eq!(r.results[0].status, doorstep_protocol::ItemStatus::Accepted);
    k.id = "0190a0b0-0000-7000-8000-000000000099".into();
    k.survey_version = 7;
    let r =
        w.service.push(&dev, PushRequest { protocol: 1, device_id: "dev-a".into(), reports: vec![k] }).await.unwrap();
    assert!(
        matches!(&r.results[0].status, doorstep_protocol::ItemStatus::Rejected { reason, .. } if reason.contains("unknown survey version"))
    );
}

/// Incremental pull equals full pull: a device that follows a turf through a street moving in,
/// a street moving out, a lease change and a script edit by deltas ends with exactly the store a
/// fresh device gets from one full pull.
#[tokio::test]
async fn deltas_give_the_same_store_as_a_full_pull() {
    let w = world().await;
    let co = coordinator(&w.service);
    let dev = w.service.authenticate(w.tokens[1].2.as_deref().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let follower = Store::open(dir.path().join("a.db"), None).unwrap();
    let pull = |store: &Store| {
        let (service, dev) = (w.service.clone(), dev.clone());
        let held = store.held_turfs().unwrap();
        async move { service.pull(&dev, PullRequest { protocol: PROTOCOL_VERSION, cursor: None, held }).await.unwrap() }
    };
    follower.apply_pull(&pull(&follower).await).unwrap();
    let mut deltas = 0;
    let steps: Vec<doorstep_server::admin::ReassignRequest> = vec![
        doorstep_server::admin::ReassignRequest {
            turf_id: Some("t2".into()),
            street: Some(w.street_t2.clone()),
            to_turf: Some("t1".into()),
            ..Default::default()
        },
        doorstep_server::admin::ReassignRequest {
            turf_id: Some("t1".into()),
            street: Some(w.street_t1.clone()),
            to_turf: Some("t4".into()),
            ..Default::default()
        },
    ];
    for step in steps {
        w.service.reassign(&co, step).await.unwrap();
        let r = pull(&follower).await;
        deltas += r.buckets.iter().filter(|b| b.delta.is_some()).count();
        follower.apply_pull(&r).unwrap();
    }
    w.service
        .assign(&co, "t1", doorstep_server::admin::AssignRequest { volunteer_id: "vol-a".into(), lease_days: Some(30) })
        .await
        .unwrap();
    w.service.set_turf_team(&co, "t1", TurfTeamRequest { team_id: Some("nord".into()) }).await.unwrap();
    let r = pull(&follower).await;
    deltas += r.buckets.iter().filter(|b| b.delta.is_some()).count();
    let summary = follower.apply_pull(&r).unwrap();
    assert_eq!(summary.deltas_applied, 1);
    assert_eq!(deltas, 3, "every change came as a delta");
    let fresh = Store::open(dir.path().join("b.db"), None).unwrap();
    fresh.apply_pull(&pull(&fresh).await).unwrap();
    let (a, b) = (follower.export_turf("t1").unwrap(), fresh.export_turf("t1").unwrap());
    assert_eq!(doorstep_protocol::turf_checksum(&a), doorstep_protocol::turf_checksum(&b));
    assert_eq!(a.buildings.len(), b.buildings.len());
    assert_eq!(a.turf.lease_expires_ms, b.turf.lease_expires_ms);
    assert!(a.turf.lease_expires_ms.is_some());
}

/// Bad input on the staff API: clear 4xx, nothing changed.
#[tokio::test]
async fn staff_bad_input() {
    let w = world().await;
    let coord = w.tokens[3].2.clone().unwrap();
    let cases: Vec<(&str, String, Vec<u8>, StatusCode, &str)> = vec![
        (
            "POST",
            "/api/v1/turfs/nope/assign".into(),
            br#"{"volunteer_id":"vol-a"}"#.to_vec(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/turfs/t1/assign".into(),
            br#"{"volunteer_id":"nobody"}"#.to_vec(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/turfs/t1/assign".into(),
            br#"{"volunteer_id":"cap-nord"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "not_a_volunteer",
        ),
        (
            "POST",
            "/api/v1/turfs/t1/assign".into(),
            br#"{"volunteer_id":"vol-a","lease_days":9999}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_lease",
        ),
        (
            "POST",
            "/api/v1/turfs/t1/assign".into(),
            br#"{"volunteer_id":"vol-a","colour":1}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed_body",
        ),
        (
            "POST",
            "/api/v1/reassign".into(),
            br#"{"door_ids":["no-such-door"],"to_turf":"t1"}"#.to_vec(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/reassign".into(),
            br#"{"turf_id":"t1","door_ids":["x"],"to_turf":"t1"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_reassign",
        ),
        (
            "POST",
            "/api/v1/reassign".into(),
            br#"{"turf_id":"t1","street":"Nowhere Street","to_turf":"t4"}"#.to_vec(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        ("POST", "/api/v1/teams".into(), br#"{"id":"nord","name":"again"}"#.to_vec(), StatusCode::CONFLICT, "conflict"),
        ("POST", "/api/v1/teams".into(), br#"{"id":"bad id!","name":"x"}"#.to_vec(), StatusCode::BAD_REQUEST, "bad_id"),
        ("POST", "/api/v1/turfs/cut".into(), br#"{"target_doors":1}"#.to_vec(), StatusCode::BAD_REQUEST, "bad_target"),
        (
            "POST",
            "/api/v1/import/addresses.csv".into(),
            b"name,colour\nx,y\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_import",
        ),
        (
            "POST",
            "/api/v1/import/addresses.csv?lat=nope".into(),
            b"street,lat,lon\nx,1,2\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_import",
        ),
        (
            "POST",
            "/api/v1/import/addresses.geojson".into(),
            b"{\"type\":\"Point\"}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_import",
        ),
        ("POST", "/api/v1/devices/nope/revoke".into(), vec![], StatusCode::NOT_FOUND, "not_found"),
        ("POST", "/api/v1/invitations".into(), br#"{"name":""}"#.to_vec(), StatusCode::BAD_REQUEST, "bad_name"),
    ];
    let before = w.service.store.turf_summaries(CAMPAIGN).await.unwrap();
    for (m, path, body, status, code) in cases {
        let (st, b) = call(&w.app, m, &path, Some(&coord), body).await;
        assert_eq!((st, code_of(&b).as_str()), (status, code), "{m} {path}: {}", String::from_utf8_lossy(&b));
    }
    assert_eq!(w.service.store.turf_summaries(CAMPAIGN).await.unwrap(), before, "nothing changed");
    // An import larger than the 4 MiB of other routes is accepted (up to 64 MiB).
    let mut big = String::from("street,housenumber,lat,lon\n");
    while big.len() < 5 * 1024 * 1024 {
        let n = big.len();
        big.push_str(&format!("Rue Longue,{n},47.2{},-1.55\n", n % 1000));
    }
    let (st, b) = call(&w.app, "POST", "/api/v1/import/addresses.csv", Some(&coord), big.into_bytes()).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b[..b.len().min(300)]));
}

/// The real Nantes street network imported over HTTP reaches the device with its turf (only the
/// part around it), the phone routes along it offline, and a reassignment's delta carries the
/// network the turf now needs.
#[tokio::test]
async fn street_network_reaches_the_device_and_routes_follow_it() {
    let w = world().await;
    let coord = w.tokens[3].2.clone().unwrap();
    let path = doorstep_tests::repo_root().join("data/nantes/fr_nantes_centre_streets.geojson");
    let (st, b) =
        call(&w.app, "POST", "/api/v1/import/streets.geojson", Some(&coord), std::fs::read(path).unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let r: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert!(r["edges"].as_u64().unwrap() > 5000, "{r}");
    assert_eq!(r["turfs_touched"], 4);
    // Not a network: refused, nothing changed.
    let (st, b) = call(
        &w.app,
        "POST",
        "/api/v1/import/streets.geojson",
        Some(&coord),
        br#"{"type":"FeatureCollection","features":[]}"#.to_vec(),
    )
    .await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "bad_import"));

    let dev = w.service.authenticate(w.tokens[1].2.as_deref().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let phone = Store::open(dir.path().join("p.db"), None).unwrap();
    phone
        .apply_pull(&w.service.pull(&dev, PullRequest { protocol: 1, cursor: None, held: vec![] }).await.unwrap())
        .unwrap();
    let pkg = w.service.turf_package("t1").await.unwrap().unwrap();
    let net = pkg.street_network.clone().expect("the package carries streets");
    assert!(!net.edges.is_empty() && net.edges.len() < 5000, "only the part around the turf: {}", net.edges.len());
    assert!(phone.turfs().unwrap()[0].has_street_network);
    // The phone's route is computed along those streets and is no longer than the conventional
    // street/number order walked along the same streets.
    let progress = phone.compute_route("t1", None, None, false).unwrap();
    let graph = doorstep_core::streets::StreetGraph::new(&net).unwrap();
    let points: Vec<doorstep_core::route::RoutePoint> = pkg.buildings.iter().map(Into::into).collect();
    let index = |id: &str| pkg.buildings.iter().position(|b| b.id == id).unwrap();
    let ours: Vec<usize> = progress.remaining.iter().map(|s| index(&s.building_id)).collect();
    let mut conventional: Vec<usize> = (0..points.len()).collect();
    conventional
        .sort_by_key(|&i| (points[i].street.clone(), doorstep_core::route::house_number_key(&points[i].house_number)));
    let a = doorstep_core::route::walk_length_on(&points, &ours, None, &graph);
    let b = doorstep_core::route::walk_length_on(&points, &conventional, None, &graph);
    assert!(a <= b, "along streets: ours {a:.0} m, conventional {b:.0} m");

    // A street moves in: the delta brings the network the bigger turf needs.
    let co = coordinator(&w.service);
    let held = phone.held_turfs().unwrap();
    w.service
        .reassign(
            &co,
            doorstep_server::admin::ReassignRequest {
                turf_id: Some("t2".into()),
                street: Some(w.street_t2.clone()),
                to_turf: Some("t1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = w.service.pull(&dev, PullRequest { protocol: 1, cursor: None, held }).await.unwrap();
    let delta = r.buckets[0].delta.as_ref().expect("a delta");
    assert!(delta.street_network.is_some());
    phone.apply_pull(&r).unwrap();
    phone.compute_route("t1", None, None, false).unwrap();
}

/// Chosen doors of several turfs move in one request (the dashboard's selection); a captain's
/// selection must lie wholly within their teams' turfs — one door of another team's turf, or of no
/// turf at all, refuses the whole request and nothing moves.
#[tokio::test]
async fn a_selection_of_doors_moves_together_within_the_captains_reach() {
    let w = world().await;
    let (_, buildings, _, doors) = doorstep_tests::server_import(40);
    let doors_of = |i: usize| -> Vec<String> {
        doors.iter().filter(|d| d.building_id == buildings[i].id).map(|d| d.id.clone()).collect()
    };
    let captain = w.tokens[2].2.clone().unwrap();
    let coord = w.tokens[3].2.clone().unwrap();
    let turf_of = |i: usize| {
        let (store, id) = (w.service.store.clone(), buildings[i].id.clone());
        async move { store.building_turf(&id).await.unwrap() }
    };
    let post = |token: String, body: serde_json::Value| {
        let app = w.app.clone();
        async move {
            let (st, b) = call(&app, "POST", "/api/v1/reassign", Some(&token), body.to_string().into_bytes()).await;
            (st, serde_json::from_slice::<serde_json::Value>(&b).unwrap())
        }
    };
    // North's captain: addresses of t1 and t4 (both north) to vol-c (north, no turf yet).
    let chosen: Vec<String> = [1, 2, 32].iter().flat_map(|&i| doors_of(i)).collect();
    let (st, r) = post(captain.clone(), serde_json::json!({ "door_ids": chosen, "to_volunteer": "vol-c" })).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["buildings_moved"], 3);
    let to = r["to_turf"].as_str().unwrap().to_string();
    for i in [1, 2, 32] {
        assert_eq!(turf_of(i).await.as_deref(), Some(to.as_str()), "address {i} moved");
    }
    let mut touched: Vec<&str> = r["turfs_touched"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    touched.sort_unstable();
    let mut want = vec!["t1", "t4", to.as_str()];
    want.sort_unstable();
    assert_eq!(touched, want);

    // One address of the south's t2 among north's: refused, and none of them moves.
    for outsider in [16, 38] {
        let chosen: Vec<String> = [3, outsider].iter().flat_map(|&i| doors_of(i)).collect();
        let before = (turf_of(3).await, turf_of(outsider).await);
        let (st, r) = post(captain.clone(), serde_json::json!({ "door_ids": chosen, "to_turf": "t4" })).await;
        assert_eq!((st, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{outsider}: {r}");
        assert_eq!((turf_of(3).await, turf_of(outsider).await), before, "nothing moved");
    }
    // The coordinator may place doors that were in no turf.
    let (st, r) = post(coord, serde_json::json!({ "door_ids": doors_of(38), "to_turf": "t4" })).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(turf_of(38).await.as_deref(), Some("t4"));
}

/// Canvass sessions over HTTP (issue 17): the coordinator publishes, volunteer A sees the
/// sessions they may see with the places left, signs up from the phone's outbox (a replay is a
/// duplicate, a full session refuses), and another team's session stays unknown to them.
#[tokio::test]
async fn sessions_and_signups_over_http() {
    let w = world().await;
    let (vol, coord) = (w.tokens[1].2.clone().unwrap(), w.tokens[3].2.clone().unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let session = |id: &str, team: Option<&str>, capacity: u32| {
        serde_json::json!({
            "id": id, "campaign_id": "x", "title": "Samedi matin, quartier nord",
            "start_ms": now + 3_600_000, "end_ms": now + 4 * 3_600_000,
            "meeting_lat": 47.2184, "meeting_lon": -1.5536, "meeting_text": "Devant le marché",
            "capacity": capacity, "captains": ["cap-nord"], "turfs": ["t1"], "team_id": team,
            "visibility": if team.is_some() { "team" } else { "campaign" }})
        .to_string()
        .into_bytes()
    };
    let (st, b) = call(&w.app, "POST", "/api/v1/sessions", Some(&coord), session("s-marche", None, 1)).await;
    assert_eq!(st, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let (st, _) = call(&w.app, "POST", "/api/v1/sessions", Some(&coord), session("s-sud", Some("sud"), 5)).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, b) = call(&w.app, "POST", "/api/v1/sessions", Some(&coord), session("s-marche", None, 1)).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::CONFLICT, "conflict"));
    let mut bad: serde_json::Value = serde_json::from_slice(&session("s-bad", None, 1)).unwrap();
    bad["end_ms"] = bad["start_ms"].clone();
    let (st, b) = call(&w.app, "POST", "/api/v1/sessions", Some(&coord), bad.to_string().into_bytes()).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "bad_session"));

    let (st, b) = call(&w.app, "GET", "/api/v1/sync/sessions", Some(&vol), vec![]).await;
    assert_eq!(st, StatusCode::OK);
    let seen: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let ids: Vec<&str> = seen.as_array().unwrap().iter().map(|v| v["session"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["s-marche", "s-nord-samedi"], "the south team's session is not shown to a north volunteer");
    assert_eq!((seen[0]["places_left"].as_u64(), seen[0]["standing"].is_null()), (Some(1), true));

    let event = |n: u32, session: &str, kind: &str| {
        serde_json::json!({"id": format!("0190a0b0-0000-7000-8000-{n:012}"), "session_id": session,
            "volunteer_id": "vol-a", "device_id": "dev-a", "kind": kind, "at_ms": now})
    };
    let push = |events: Vec<serde_json::Value>, device: &str| {
        serde_json::json!({"protocol": 1, "device_id": device, "events": events}).to_string().into_bytes()
    };
    let statuses = |b: &[u8]| -> Vec<String> {
        let r: PushResponse = serde_json::from_slice(b).unwrap();
        r.results
            .into_iter()
            .map(|i| match i.status {
                doorstep_protocol::ItemStatus::Rejected { code, .. } => code.unwrap(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let body = push(vec![event(1, "s-marche", "sign_up"), event(2, "s-sud", "sign_up")], "dev-a");
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/signups", Some(&vol), body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    assert_eq!(statuses(&b), ["Accepted", "unknown_session"]);
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/signups", Some(&vol), body).await;
    assert_eq!(statuses(&b), ["Duplicate", "unknown_session"], "a replay changes nothing");
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/signups", Some(&vol), push(vec![], "dev-b")).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"), "another device's outbox");

    let (_, b) = call(&w.app, "GET", "/api/v1/sync/sessions", Some(&vol), vec![]).await;
    let seen: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!((seen[0]["standing"].as_str(), seen[0]["places_left"].as_u64()), (Some("signed_up"), Some(0)));
    let (_, b) = call(&w.app, "GET", "/api/v1/sessions", Some(&coord), vec![]).await;
    let listed: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(listed[0]["session"]["id"], "s-marche");
    assert_eq!(listed[0]["signed_up"], 1);
    // The campaign is the coordinator's, whatever the body said.
    assert_eq!(listed[0]["session"]["campaign_id"], "nantes-2026");

    // Edits: what the rule book allows (one place is taken, the times are fixed, the path names
    // the session), then calling it off, which is final; the phone sees it called off.
    let put = |id: &str, v: &serde_json::Value, token: &str| {
        let (app, path, body, token) =
            (w.app.clone(), format!("/api/v1/sessions/{id}"), v.to_string().into_bytes(), token.to_string());
        async move { call(&app, "PUT", &path, Some(&token), body).await }
    };
    let mut edited = listed[0]["session"].clone();
    edited["capacity"] = 0.into();
    let (st, b) = put("s-marche", &edited, &coord).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "bad_session"));
    edited["capacity"] = 3.into();
    edited["start_ms"] = (now + 2 * 3_600_000).into();
    let (st, b) = put("s-marche", &edited, &coord).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "session_times_fixed"));
    edited["start_ms"] = listed[0]["session"]["start_ms"].clone();
    let (st, b) = put("s-sud", &edited, &coord).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "id_mismatch"));
    let (st, b) = put("s-marche", &edited, &vol).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"), "a volunteer edits nothing");
    edited["id"] = "s-nulle-part".into();
    let (st, b) = put("s-nulle-part", &edited, &coord).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::NOT_FOUND, "not_found"));
    edited["id"] = "s-marche".into();
    let (st, b) = put("s-marche", &edited, &coord).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let (_, b) = call(&w.app, "GET", "/api/v1/sync/sessions", Some(&vol), vec![]).await;
    let seen: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(seen[0]["places_left"].as_u64(), Some(2), "three places, one taken");
    edited["capacity"] = 1.into();
    edited["cancelled"] = true.into();
    let (st, _) = put("s-marche", &edited, &coord).await;
    assert_eq!(st, StatusCode::OK);
    edited["cancelled"] = false.into();
    let (st, b) = put("s-marche", &edited, &coord).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "session_called_off"));
    let (_, b) = call(&w.app, "GET", "/api/v1/sync/sessions", Some(&vol), vec![]).await;
    let seen: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(seen[0]["session"]["cancelled"], true, "the phone sees it called off");
    let (_, b) = call(&w.app, "GET", "/api/v1/audit", Some(&coord), vec![]).await;
    let audit = String::from_utf8_lossy(&b);
    assert_eq!(audit.matches("session.edit").count(), 2, "each edit made is in the audit, none refused: {audit}");

    // A lost phone, revoked: it no longer learns where the team meets, and its events change
    // nothing.
    let (st, _) = call(&w.app, "POST", "/api/v1/devices/dev-a/revoke", Some(&coord), vec![]).await;
    assert!(st.is_success(), "{st}");
    let (st, b) = call(&w.app, "GET", "/api/v1/sync/sessions", Some(&vol), vec![]).await;
    assert_eq!((st, String::from_utf8_lossy(&b).as_ref()), (StatusCode::OK, "[]"));
    let body = push(vec![event(3, "s-marche", "cancel")], "dev-a");
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/signups", Some(&vol), body).await;
    assert_eq!(statuses(&b), ["revoked"]);
    let (_, b) = call(&w.app, "GET", "/api/v1/sessions", Some(&coord), vec![]).await;
    let listed: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!((listed[0]["signed_up"].as_u64(), listed[0]["cancelled"].as_u64()), (Some(1), Some(0)));
}

/// The offline hand-off over HTTP, with both phones' steps done as the phones do them (the same
/// rule-book functions): a captain's own phone joins, gets its grant, signs leases; the
/// volunteer's phone checks them offline, then brings them in. Accepted, replayed by the other
/// phone, over scope (the knocks under it held for review), forged, a street moved to a turf of
/// the volunteer's own, a revoked captain's phone.
#[tokio::test]
async fn offline_handoffs_over_http() {
    use doorstep_protocol::validate::handoff::{
        self, check_received, from_qr, new_key, public_key_of, sign_handoff, to_qr,
    };
    use doorstep_protocol::{Handoff, ItemStatus, SignedGrant};
    let w = world().await;
    let (vol, cap, coord) =
        (w.tokens[1].2.clone().unwrap(), w.tokens[2].2.clone().unwrap(), w.tokens[3].2.clone().unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let hour = 3_600_000;
    let json = |v: serde_json::Value| v.to_string().into_bytes();
    let session = |id: &str, captain: &str, turfs: &[&str]| {
        json(serde_json::json!({
            "id": id, "campaign_id": "x", "title": "Samedi matin, quartier nord",
            "start_ms": now - 2 * hour, "end_ms": now + 2 * hour,
            "meeting_lat": 47.2184, "meeting_lon": -1.5536, "meeting_text": "Devant le marché",
            "capacity": 12, "captains": [captain], "turfs": turfs, "team_id": null, "visibility": "campaign"}))
    };
    for (id, captain, turfs) in [("s-samedi", "cap-nord", vec!["t1", "t4"]), ("s-autre", "cap-sud", vec!["t2"])] {
        let (st, b) = call(&w.app, "POST", "/api/v1/sessions", Some(&coord), session(id, captain, &turfs)).await;
        assert_eq!(st, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    }

    // The captain's own phone joins with a code the captain asked for.
    let (st, b) = call(&w.app, "POST", "/api/v1/me/phone", Some(&cap), vec![]).await;
    assert_eq!(st, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let code = serde_json::from_slice::<serde_json::Value>(&b).unwrap()["join_code"].as_str().unwrap().to_string();
    let (st, b) = call(
        &w.app,
        "POST",
        "/api/v1/join",
        None,
        json(serde_json::json!({"protocol": 1, "code": code, "device_id": "cap-phone"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let phone = serde_json::from_slice::<serde_json::Value>(&b).unwrap()["token"].as_str().unwrap().to_string();
    // A captain's phone is no key to the staff API.
    for (m, p) in [("GET", "/api/v1/turfs"), ("POST", "/api/v1/turfs/t1/return")] {
        let (st, b) = call(&w.app, m, p, Some(&phone), vec![]).await;
        assert_eq!((st, code_of(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{m} {p}");
    }
    // It holds the session's turfs sealed (to hand out with no network), without names.
    let (st, b) =
        call(&w.app, "POST", "/api/v1/sync/pull", Some(&phone), json(serde_json::json!({"protocol": 1}))).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let pulled: PullResponse = serde_json::from_slice(&b).unwrap();
    let sealed: Vec<(&str, bool)> = pulled.buckets.iter().map(|b| (b.turf_id.as_str(), b.staged)).collect();
    assert_eq!(sealed, [("t1", true), ("t4", true)]);
    assert!(
        pulled
            .buckets
            .iter()
            .all(|b| b.package.as_ref().is_some_and(|p| p.people.is_empty() && p.turf.volunteer_id.is_empty()))
    );
    // Both phones learn the campaign's key: the same.
    let key_of = |token: String| {
        let app = w.app.clone();
        async move {
            let (st, b) = call(&app, "GET", "/api/v1/sync/keys", Some(&token), vec![]).await;
            assert_eq!(st, StatusCode::OK);
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()["campaign_key"].as_str().unwrap().to_string()
        }
    };
    let campaign_key = key_of(phone.clone()).await;
    assert_eq!(key_of(vol.clone()).await, campaign_key);
    assert_eq!(campaign_key.len(), 43);
    // Each phone may add the session to its calendar (its reminder plan as alarms).
    for token in [&phone, &vol] {
        let (st, b) = call(&w.app, "GET", "/api/v1/sessions/s-samedi/calendar.ics", Some(token), vec![]).await;
        let ics = String::from_utf8_lossy(&b).replace("\r\n ", "");
        assert_eq!(st, StatusCode::OK, "{ics}");
        assert!(ics.contains("SUMMARY:Samedi matin\\, quartier nord") && ics.contains("TRIGGER:-PT24H"), "{ics}");
    }
    // The captain's phone sees the session it captains; gets a grant for its own key there, and
    // none for another captain's session.
    let (_, b) = call(&w.app, "GET", "/api/v1/sync/sessions", Some(&phone), vec![]).await;
    assert!(String::from_utf8_lossy(&b).contains("s-samedi"));
    let device_key = new_key().unwrap();
    let grant_req = |session: &str| {
        json(serde_json::json!({"protocol": 1, "device_id": "cap-phone", "session_id": session,
            "public_key": public_key_of(&device_key).unwrap()}))
    };
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/grants", Some(&phone), grant_req("s-autre")).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/grants", Some(&phone), grant_req("s-samedi")).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let grant: SignedGrant = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (grant.grant.captain_id.as_str(), grant.grant.expires_ms),
        ("cap-nord", now + 2 * hour + handoff::GRANT_AFTER_MS)
    );

    // Offline: the captain's phone signs leases; the volunteer's phone scans and checks them.
    let lease = |n: u32, turf: &str, street: Option<&str>, issued: i64, expires: i64| {
        let h = Handoff {
            id: format!("0190a0b0-0000-7000-8000-{n:012}"),
            session_id: "s-samedi".into(),
            captain_id: "cap-nord".into(),
            device_id: "cap-phone".into(),
            volunteer_id: "vol-a".into(),
            turf_id: turf.into(),
            street: street.map(Into::into),
            issued_ms: issued,
            expires_ms: expires,
        };
        let s = sign_handoff(&device_key, h, grant.clone()).unwrap();
        let scanned = from_qr(&to_qr(&s).unwrap()).unwrap();
        assert_eq!(scanned, s);
        scanned
    };
    let whole = lease(1, "t4", None, now - 60_000, now + hour);
    assert_eq!(check_received(&whole, &campaign_key, "vol-a", now), Ok(()));
    let over = lease(2, "t2", None, now - 60_000, now + hour);
    assert_eq!(
        check_received(&over, &campaign_key, "vol-a", now),
        Ok(()),
        "the phone cannot tell: only the session can"
    );
    let mut forged = lease(3, "t4", None, now - 60_000, now + hour);
    forged.handoff.volunteer_id = "vol-c".into();
    let push = |items: Vec<&doorstep_protocol::SignedHandoff>, device: &str| {
        json(serde_json::json!({"protocol": 1, "device_id": device, "handoffs": items}))
    };
    let statuses = |b: &[u8]| -> Vec<String> {
        let r: PushResponse = serde_json::from_slice(b).unwrap();
        r.results
            .into_iter()
            .map(|i| match i.status {
                ItemStatus::Rejected { code, .. } => code.unwrap(),
                ItemStatus::Held { .. } => "held".into(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    // Check-in: a code of this session open when scanned checks in; the same code scanned after
    // it closed, used for another session, or no code at all, does not; nor may a volunteer check
    // someone else in.
    let pass = |issued: i64, expires: i64| {
        let p = doorstep_protocol::CheckinPass {
            session_id: "s-samedi".into(),
            captain_id: "cap-nord".into(),
            device_id: "cap-phone".into(),
            issued_ms: issued,
            expires_ms: expires,
        };
        handoff::checkin_to_qr(&handoff::sign_checkin(&device_key, p, grant.clone()).unwrap()).unwrap()
    };
    let checkin = |n: u32, session: &str, who: &str, proof: Option<String>| {
        serde_json::json!({"id": format!("0190a0b0-0000-7000-8000-{n:012}"), "session_id": session,
            "volunteer_id": who, "device_id": "dev-a", "kind": "check_in", "at_ms": now, "proof": proof})
    };
    let events = vec![
        checkin(30, "s-samedi", "vol-a", Some(pass(now - 2 * hour, now - hour))),
        checkin(31, "s-autre", "vol-a", Some(pass(now - 60_000, now + hour))),
        checkin(32, "s-samedi", "vol-a", None),
        checkin(33, "s-samedi", "vol-c", Some(pass(now - 60_000, now + hour))),
        checkin(34, "s-samedi", "vol-a", Some(pass(now - 60_000, now + hour))),
    ];
    let body = json(serde_json::json!({"protocol": 1, "device_id": "dev-a", "events": events}));
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/signups", Some(&vol), body).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    assert_eq!(statuses(&b), ["checkin_unproven", "checkin_unproven", "checkin_unproven", "wrong_sender", "Accepted"]);

    // The volunteer's phone syncs first.
    let (st, b) =
        call(&w.app, "POST", "/api/v1/sync/handoffs", Some(&vol), push(vec![&whole, &over, &forged], "dev-a")).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    assert_eq!(statuses(&b), ["Accepted", "held", "wrong_sender"], "forged for vol-c: not vol-a's to bring");
    // Then the captain's: the accepted lease is a duplicate, the refused one is answered refused
    // again (a phone whose first answer was lost learns it all the same); the forged one is
    // refused by signature.
    let (_, b) =
        call(&w.app, "POST", "/api/v1/sync/handoffs", Some(&phone), push(vec![&whole, &over, &forged], "cap-phone"))
            .await;
    assert_eq!(statuses(&b), ["Duplicate", "held", "handoff_forged"]);
    // The turf is the volunteer's until the lease ends, as if the captain had assigned it online,
    // and the volunteer counts as checked in.
    let (_, b) = call(&w.app, "GET", "/api/v1/turfs", Some(&coord), vec![]).await;
    let turfs: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let t4 = turfs.as_array().unwrap().iter().find(|t| t["id"] == "t4").unwrap();
    assert_eq!((t4["volunteer_id"].as_str(), t4["lease_expires_ms"].as_i64()), (Some("vol-a"), Some(now + hour)));
    let (_, b) = call(&w.app, "GET", "/api/v1/sessions", Some(&coord), vec![]).await;
    let listed: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let samedi = listed.as_array().unwrap().iter().find(|s| s["session"]["id"] == "s-samedi").unwrap();
    assert_eq!(samedi["checked_in"], 1);

    // Knocks: under the accepted lease counted; under the refused one held for review, not lost.
    let store = w.service.store.clone();
    let door_of = |turf: &str| {
        let s = store.clone();
        let t = turf.to_string();
        async move { s.turf_package(&t).await.unwrap().unwrap().doors[0].id.clone() }
    };
    let knocks = vec![
        doorstep_tests::report(101, CAMPAIGN, "t4", &door_of("t4").await, "vol-a", "dev-a"),
        doorstep_tests::report(102, CAMPAIGN, "t2", &door_of("t2").await, "vol-a", "dev-a"),
    ];
    let body = serde_json::to_vec(&PushRequest { protocol: 1, device_id: "dev-a".into(), reports: knocks }).unwrap();
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/push", Some(&vol), body).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(statuses(&b), ["Accepted", "held"]);
    let (_, b) = call(&w.app, "GET", "/api/v1/held", Some(&coord), vec![]).await;
    let held: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let mine = held.as_array().unwrap().iter().find(|h| h["report"]["id"] == "0190a0b0-0000-7000-8000-000000000102");
    assert!(mine.unwrap()["reason"].as_str().unwrap().contains("bail"), "{held}");

    // A street of t1 handed to vol-a: moved into a turf of its own, held until the lease ends,
    // and added to the session's turfs.
    let street = w.street_t1.clone();
    let by_street = lease(4, "t1", Some(&street), now - 60_000, now + hour);
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/handoffs", Some(&phone), push(vec![&by_street], "cap-phone")).await;
    assert_eq!(statuses(&b), ["Accepted"]);
    let (_, b) = call(&w.app, "GET", "/api/v1/turfs", Some(&coord), vec![]).await;
    let turfs: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let moved = turfs.as_array().unwrap().iter().find(|t| t["name"].as_str().unwrap().starts_with(&street)).unwrap();
    assert_eq!(moved["volunteer_id"], "vol-a");
    assert!(moved["buildings"].as_u64().unwrap() > 0);
    let session_now = store.session("s-samedi").await.unwrap().unwrap();
    assert!(session_now.turfs.contains(&moved["id"].as_str().unwrap().to_string()), "{:?}", session_now.turfs);

    // A captain's phone whose clock is a year ahead signs a lease "for next year": outside its
    // grant, refused, recorded nowhere (and one a year behind likewise).
    let year = 365 * 24 * hour;
    let ahead = lease(7, "t4", None, now + year, now + year + hour);
    let behind = lease(8, "t4", None, now - year, now - year + hour);
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/handoffs", Some(&vol), push(vec![&ahead, &behind], "dev-a")).await;
    assert_eq!(statuses(&b), ["outside_grant", "outside_grant"]);
    // A grant a phone signed for itself (not with the campaign's key): refused, recorded nowhere.
    let own_key = new_key().unwrap();
    let self_granted = sign_handoff(
        &device_key,
        Handoff { id: "0190a0b0-0000-7000-8000-000000000006".into(), ..whole.handoff.clone() },
        handoff::sign_grant(&own_key, grant.grant.clone()).unwrap(),
    )
    .unwrap();
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/handoffs", Some(&vol), push(vec![&self_granted], "dev-a")).await;
    assert_eq!(statuses(&b), ["grant_forged"]);

    // The captain's phone is lost and revoked: it is dead at once, and a lease it signed that
    // arrives afterwards is refused (knocks under it held), never taken.
    let (st, b) = call(&w.app, "POST", "/api/v1/devices/cap-phone/revoke", Some(&coord), vec![]).await;
    assert!(st.is_success(), "{st} {}", String::from_utf8_lossy(&b));
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/grants", Some(&phone), grant_req("s-samedi")).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::UNAUTHORIZED, "token_revoked"));
    let (_, b) =
        call(&w.app, "POST", "/api/v1/sync/pull", Some(&phone), json(serde_json::json!({"protocol": 1}))).await;
    assert!(serde_json::from_slice::<PullResponse>(&b).unwrap().wipe, "its next pull wipes it");
    let late = lease(5, "t4", None, now - 30_000, now + hour);
    let (_, b) = call(&w.app, "POST", "/api/v1/sync/handoffs", Some(&vol), push(vec![&late], "dev-a")).await;
    assert_eq!(statuses(&b), ["held"]);
    // And another phone's outbox is not the volunteer's to push.
    let (st, b) = call(&w.app, "POST", "/api/v1/sync/handoffs", Some(&vol), push(vec![], "cap-phone")).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"));
}
