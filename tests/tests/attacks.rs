//! The attacks of issue 15, replayed over real HTTP on loopback against the demo campaign (real
//! Nantes addresses, SQLite): a hostile or stolen phone that forges its reports by hand with only
//! the public API, and honest phones (the real field core) beside it. Each attack is refused or held
//! as docs/security.md says; nothing an honest phone did is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use doorstep_protocol::{Hlc, KnockReport, Position, Target};
use doorstep_server::demo::Seeded;
use doorstep_server::service::REVOKED_GRACE_MS;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Server {
    base: String,
    seeded: Seeded,
    clock: Arc<AtomicI64>,
    db: std::path::PathBuf,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    let d = doorstep_tests::demo_server(Default::default()).await;
    Server { base: d.base, seeded: d.seeded, clock: d.clock, db: d.db, http: reqwest::Client::new(), _dir: d.dir }
}

/// A phone as an attacker drives it: its token, its ids, its turf and that turf's doors.
struct Phone {
    token: String,
    device: String,
    volunteer: String,
    turf: String,
    doors: Vec<String>,
}

impl Server {
    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }
    fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }
    fn coordinator(&self) -> &str {
        &self.seeded.coordinator_token
    }
    fn captain(&self, id: &str) -> &str {
        &self.seeded.captain_tokens.iter().find(|(c, _)| c == id).unwrap().1
    }
    async fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut rb = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let st = r.status();
        let text = r.text().await.unwrap();
        (st, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
    async fn join(&self, i: usize, device: &str) -> (StatusCode, Value) {
        let code = &self.seeded.volunteers[i].1;
        self.send("POST", "/api/v1/join", None, Some(json!({"protocol": 1, "code": code, "device_id": device}))).await
    }
    async fn phone(&self, i: usize, device: &str) -> Phone {
        let (st, j) = self.join(i, device).await;
        assert_eq!(st, StatusCode::OK, "{j}");
        let token = j["token"].as_str().unwrap().to_string();
        let (st, pull) = self.send("POST", "/api/v1/sync/pull", Some(&token), Some(json!({"protocol": 1}))).await;
        assert_eq!(st, StatusCode::OK, "{pull}");
        let pkg = &pull["buckets"][0]["package"];
        Phone {
            token,
            device: device.into(),
            volunteer: j["volunteer_id"].as_str().unwrap().into(),
            turf: pkg["turf"]["id"].as_str().unwrap().into(),
            doors: pkg["doors"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()).collect(),
        }
    }
    /// Pushes reports forged by hand; answers per item.
    async fn push(&self, p: &Phone, reports: &[KnockReport]) -> Vec<Value> {
        let body = json!({"protocol": 1, "device_id": p.device, "reports": reports});
        let (st, r) = self.send("POST", "/api/v1/sync/push", Some(&p.token), Some(body)).await;
        assert_eq!(st, StatusCode::OK, "{r}");
        r["results"].as_array().unwrap().clone()
    }
    async fn door_status(&self, turf: &str, door: &str) -> String {
        let (st, doors) =
            self.send("GET", &format!("/api/v1/turfs/{turf}/doors"), Some(self.coordinator()), None).await;
        assert_eq!(st, StatusCode::OK, "{doors}");
        let d = doors.as_array().unwrap().iter().find(|d| d["door_id"] == door).unwrap();
        d["status"].as_str().unwrap().to_string()
    }
    /// Another campaign on the same server ("lyon-2027", no doors): its coordinator's token.
    async fn other_campaign(&self) -> String {
        let body = json!({"id": "lyon-2027", "name": "Lyon",
            "mode": "address_only", "coordinator_id": "coord-lyon", "coordinator_name": "L"});
        let (st, other) = self.send("POST", "/api/v1/campaigns", Some(self.coordinator()), Some(body)).await;
        assert!(st.is_success(), "{other}");
        other["token"].as_str().unwrap().to_string()
    }
    async fn exported_ids(&self) -> Vec<String> {
        let (_, rows) = self.send("GET", "/api/v1/export/reports.json", Some(self.coordinator()), None).await;
        rows.as_array().unwrap().iter().map(|r| r["report"]["id"].as_str().unwrap().to_string()).collect()
    }
}

fn uuid7(s: &Server) -> String {
    let ms = s.now() as u64;
    uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32))
        .to_string()
}

fn forge(s: &Server, p: &Phone, door: &str, code: &str) -> KnockReport {
    KnockReport {
        id: uuid7(s),
        campaign_id: "demo-nantes".into(),
        turf_id: p.turf.clone(),
        target: Target::Door { id: door.into() },
        result_code: code.into(),
        answers: vec![],
        note: None,
        safety_flags: vec![],
        supersedes: None,
        survey_version: 1,
        device_time_ms: s.now(),
        hlc: Hlc { millis: s.now(), counter: 0 },
        monotonic_ms: 1,
        position: Some(Position { lat: 47.2137, lon: -1.5575, accuracy_m: Some(10.0) }),
        plausibility: vec![],
        volunteer_id: p.volunteer.clone(),
        device_id: p.device.clone(),
        follow_up: None,
    }
}

fn status(item: &Value) -> (&str, &str) {
    (item["status"].as_str().unwrap_or(""), item["code"].as_str().or(item["notice"].as_str()).unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_is_held_then_dead() {
    let s = server().await;
    let a = s.phone(0, "phone-a").await;
    // Honest work before the revocation counts.
    let before = forge(&s, &a, &a.doors[0], "not_home");
    assert_eq!(status(&s.push(&a, std::slice::from_ref(&before)).await[0]), ("accepted", ""));
    let (st, r) = s.send("POST", "/api/v1/devices/phone-a/revoke", Some(s.captain("capitaine-nord")), None).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    // What it pushes after: held, not counted, not exported, not sent to others, listed for review.
    let after = forge(&s, &a, &a.doors[1], "hostile");
    let answers = s.push(&a, std::slice::from_ref(&after)).await;
    assert_eq!(answers[0]["status"], "held", "{answers:?}");
    assert_eq!(s.door_status(&a.turf, &a.doors[1]).await, "untouched");
    assert!(!s.exported_ids().await.contains(&after.id));
    // Nor in the coordinator's counters (kept by the writes); the other team's captain sees none.
    let counted = |who: &'static str| {
        let s = &s;
        async move {
            let token = if who == "coordinator" { s.coordinator() } else { s.captain(who) };
            let (st, p) = s.send("GET", "/api/v1/progress", Some(token), None).await;
            assert_eq!(st, StatusCode::OK, "{p}");
            (p["campaign"]["knocks"].as_u64().unwrap(), p["campaign"]["knocked"].as_u64().unwrap())
        }
    };
    assert_eq!(counted("coordinator").await, (1, 1), "the held report counts for nothing");
    assert_eq!(counted("capitaine-nord").await, (1, 1));
    assert_eq!(counted("capitaine-sud").await, (0, 0), "another team's knocks are out of reach");
    let (_, held) = s.send("GET", "/api/v1/held", Some(s.captain("capitaine-nord")), None).await;
    assert_eq!(held.as_array().unwrap().iter().filter(|h| h["report"]["id"] == after.id.as_str()).count(), 1);
    let (_, held_south) = s.send("GET", "/api/v1/held", Some(s.captain("capitaine-sud")), None).await;
    assert!(held_south.as_array().unwrap().is_empty(), "the other team's captain does not see it: {held_south}");
    // A replay is a duplicate, never a second copy.
    assert_eq!(status(&s.push(&a, std::slice::from_ref(&after)).await[0]), ("duplicate", ""));
    // Every other route: 401 at once.
    for (m, path) in [("GET", "/api/v1/me"), ("GET", "/api/v1/session"), ("GET", "/api/v1/turfs")] {
        let (st, b) = s.send(m, path, Some(&a.token), None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {path}: {b}");
    }
    // The pull says wipe; the phone acknowledges; from then on its token is dead everywhere.
    let (_, pull) = s.send("POST", "/api/v1/sync/pull", Some(&a.token), Some(json!({"protocol": 1}))).await;
    assert_eq!(pull["wipe"], true);
    let (st, _) = s.send("POST", "/api/v1/sync/wiped", Some(&a.token), None).await;
    assert_eq!(st, StatusCode::OK);
    for path in ["/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/sync/wiped"] {
        let body = json!({"protocol": 1, "device_id": "phone-a", "reports": []});
        let (st, b) = s.send("POST", path, Some(&a.token), Some(body)).await;
        assert_eq!((st, b["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("token_revoked")), "{path}");
    }
    // The captain accepts the held report: counted from then on, audited.
    let path = format!("/api/v1/held/{}/review", after.id);
    let (st, b) = s.send("POST", &path, Some(s.captain("capitaine-sud")), Some(json!({"accept": true}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "another team's captain: {b}");
    let (st, b) = s.send("POST", &path, Some(s.captain("capitaine-nord")), Some(json!({"accept": true}))).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(s.door_status(&a.turf, &a.doors[1]).await, "do_not_return");
    assert!(s.exported_ids().await.contains(&after.id));
    assert_eq!(counted("coordinator").await, (2, 2), "accepted: counted once");
    assert_eq!(counted("capitaine-sud").await, (0, 0));
    let (st, _) = s.send("POST", &path, Some(s.captain("capitaine-nord")), Some(json!({"accept": false}))).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "reviewed once");

    // A second phone, revoked, that never acknowledges: dead after the grace period.
    let b = s.phone(1, "phone-b").await;
    let (st, _) = s.send("POST", "/api/v1/devices/phone-b/revoke", Some(s.coordinator()), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.send("POST", "/api/v1/sync/pull", Some(&b.token), Some(json!({"protocol": 1}))).await;
    assert_eq!(st, StatusCode::OK, "within the grace period");
    s.advance(REVOKED_GRACE_MS + 1);
    let (st, _) = s.send("POST", "/api/v1/sync/pull", Some(&b.token), Some(json!({"protocol": 1}))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "after it");

    // The audit log has the pushes (device, counts), the revocations, the wipe and the review.
    let (_, log) = s.send("GET", "/api/v1/audit?limit=1000", Some(s.coordinator()), None).await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["sync.push", "device.revoke", "device.wiped", "held.accept"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let held_push = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "sync.push" && e["detail"]["counts"]["held"] == 1)
        .expect("the held push is audited");
    assert_eq!(held_push["device_id"], "phone-a");
    assert_eq!(held_push["detail"]["device"], "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_one_erases_or_forges_anothers_work() {
    let s = server().await;
    let a = s.phone(0, "phone-a").await;
    let b = s.phone(1, "phone-b").await;
    let hers = forge(&s, &a, &a.doors[0], "hostile");
    assert_eq!(status(&s.push(&a, std::slice::from_ref(&hers)).await[0]), ("accepted", ""));
    assert_eq!(s.door_status(&a.turf, &a.doors[0]).await, "do_not_return");

    // B names A's report in `supersedes`, on A's door and on its own: refused, nothing hidden.
    let mut erase = forge(&s, &b, &a.doors[0], "not_home");
    erase.turf_id = a.turf.clone();
    erase.supersedes = Some(hers.id.clone());
    let mut erase_own_door = forge(&s, &b, &b.doors[0], "not_home");
    erase_own_door.supersedes = Some(hers.id.clone());
    let got = s.push(&b, &[erase, erase_own_door]).await;
    assert_eq!(status(&got[0]), ("rejected", "supersedes_other"), "{got:?}");
    assert_eq!(status(&got[1]), ("rejected", "supersedes_other"), "{got:?}");
    assert_eq!(s.door_status(&a.turf, &a.doors[0]).await, "do_not_return");

    // supersedes naming nothing, a non-UUID, itself, or a cycle: refused.
    let mut unknown = forge(&s, &a, &a.doors[1], "not_home");
    unknown.supersedes = Some(uuid7(&s));
    let mut not_uuid = forge(&s, &a, &a.doors[1], "not_home");
    not_uuid.supersedes = Some("DROP TABLE reports".into());
    let mut itself = forge(&s, &a, &a.doors[1], "not_home");
    itself.supersedes = Some(itself.id.clone());
    let mut x = forge(&s, &a, &a.doors[2], "not_home");
    let mut y = forge(&s, &a, &a.doors[2], "not_home");
    x.supersedes = Some(y.id.clone());
    y.supersedes = Some(x.id.clone());
    let got = s.push(&a, &[unknown, not_uuid, itself, x, y]).await;
    let codes: Vec<(&str, &str)> = got.iter().map(status).collect();
    assert_eq!(
        codes,
        vec![
            ("rejected", "supersedes_unknown"),
            ("rejected", "supersedes_unknown"),
            ("rejected", "supersedes_itself"),
            ("rejected", "supersedes_unknown"),
            ("rejected", "supersedes_unknown"),
        ]
    );
    // A's own correction still works.
    let mut fix = forge(&s, &a, &a.doors[0], "not_home");
    fix.supersedes = Some(hers.id.clone());
    assert_eq!(status(&s.push(&a, &[fix]).await[0]), ("accepted", ""));
    assert_eq!(s.door_status(&a.turf, &a.doors[0]).await, "attempted");

    // Reports in another's name, on another's turf: refused.
    let mut as_a = forge(&s, &b, &b.doors[0], "not_home");
    as_a.volunteer_id = a.volunteer.clone();
    let mut on_a = forge(&s, &b, &a.doors[3], "not_home");
    on_a.turf_id = a.turf.clone();
    let got = s.push(&b, &[as_a, on_a]).await;
    assert_eq!(
        got.iter().map(status).collect::<Vec<_>>(),
        vec![("rejected", "wrong_sender"), ("rejected", "out_of_scope")]
    );

    // Ids: the same id with another body is a conflict (never a silent duplicate); uppercase, nil
    // and v4 ids are refused.
    let mut again = hers.clone();
    again.result_code = "not_home".into();
    let mut upper = forge(&s, &a, &a.doors[4], "not_home");
    upper.id = upper.id.to_uppercase();
    let mut nil = forge(&s, &a, &a.doors[4], "not_home");
    nil.id = "00000000-0000-0000-0000-000000000000".into();
    let mut v4 = forge(&s, &a, &a.doors[4], "not_home");
    v4.id = "0192f0c4-1d2e-4a3b-8c4d-5e6f7a8b9c0d".into();
    let got = s.push(&a, &[again, upper, nil, v4]).await;
    assert_eq!(
        got.iter().map(status).collect::<Vec<_>>(),
        vec![("rejected", "id_conflict"), ("rejected", "bad_id"), ("rejected", "bad_id"), ("rejected", "bad_id")]
    );
    assert_eq!(status(&s.push(&a, &[hers]).await[0]), ("duplicate", ""), "the true replay");

    // A NUL byte or an escape sequence: 422 before anything is read, whatever the route.
    let mut nul = forge(&s, &a, &a.doors[4], "not_home");
    nul.note = Some("a\u{0}b".into());
    let body = json!({"protocol": 1, "device_id": "phone-a", "reports": [nul]});
    let (st, e) = s.send("POST", "/api/v1/sync/push", Some(&a.token), Some(body)).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_text")), "{e}");
    let body = json!({"name": "Léa\u{1b}[2J", "team_id": "nord"});
    let (st, e) = s.send("POST", "/api/v1/invitations", Some(s.coordinator()), Some(body)).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_text")), "{e}");
    let long = "x".repeat(100_000);
    let (st, e) =
        s.send("POST", "/api/v1/join", None, Some(json!({"protocol": 1, "code": long, "device_id": 7}))).await;
    assert!(st.is_client_error());
    assert!(!e.to_string().contains(&long[..1000]), "errors do not echo whole inputs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_ids_are_bound_and_staff_tokens_are_not_devices() {
    let s = server().await;
    let a = s.phone(0, "phone-a").await;
    // Another volunteer joining under A's device id: refused, and the code stays usable.
    let (st, e) = s.join(1, "phone-a").await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::CONFLICT, Some("device_id_taken")), "{e}");
    for reserved in ["staff:coordinatrice", "session:x"] {
        let (st, e) = s.join(1, reserved).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_device_id")), "{e}");
    }
    let b = s.phone(1, "phone-b").await;
    // Revoking by a staff token's id: not a device. The coordinator's token keeps working.
    for id in ["staff:coordinatrice", "staff:capitaine-nord"] {
        let (st, e) = s.send("POST", &format!("/api/v1/devices/{id}/revoke"), Some(s.coordinator()), None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{id}: {e}");
    }
    assert_eq!(s.send("GET", "/api/v1/me", Some(s.coordinator()), None).await.0, StatusCode::OK);
    // Revoking A's phone touches A's phone only.
    let (st, _) = s.send("POST", "/api/v1/devices/phone-a/revoke", Some(s.coordinator()), None).await;
    assert_eq!(st, StatusCode::OK);
    let fresh = forge(&s, &b, &b.doors[0], "not_home");
    assert_eq!(status(&s.push(&b, &[fresh]).await[0]), ("accepted", ""));
    let held = forge(&s, &a, &a.doors[0], "not_home");
    assert_eq!(s.push(&a, &[held]).await[0]["status"], "held");
    // Signing out with an API token is refused: it is not a session.
    let (st, e) = s.send("DELETE", "/api/v1/session", Some(s.coordinator()), None).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("not_a_session")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_clocks_and_retention_pin_nothing() {
    let s = server().await;
    let a = s.phone(0, "phone-a").await;
    // A phone whose clock says 2099: kept, told, and its time pins nothing.
    let mut future = forge(&s, &a, &a.doors[0], "not_home");
    future.hlc.millis = 4_070_908_800_000;
    future.device_time_ms = 4_070_908_800_000;
    future.id = {
        let ms = 4_070_908_800_000u64;
        uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, 0)).to_string()
    };
    let got = s.push(&a, std::slice::from_ref(&future)).await;
    assert_eq!(status(&got[0]), ("accepted", "clock_untrusted"), "{got:?}");
    let now = s.now();
    let (_, doors) = s.send("GET", &format!("/api/v1/turfs/{}/doors", a.turf), Some(s.coordinator()), None).await;
    let d = doors.as_array().unwrap().iter().find(|d| d["door_id"] == a.doors[0].as_str()).unwrap();
    assert!(d["last_knock_ms"].as_i64().unwrap() <= now, "{d}");
    let (_, progress) = s.send("GET", "/api/v1/progress", Some(s.coordinator()), None).await;
    let text = progress.to_string();
    assert!(!text.contains("4070908800"), "no figure carries 2099: {text}");
    // An honest knock a minute later is the volunteer's last position, not the 2099 one.
    s.advance(60_000);
    let mut later = forge(&s, &a, &a.doors[1], "not_home");
    later.position = Some(Position { lat: 47.2150, lon: -1.5500, accuracy_m: Some(5.0) });
    assert_eq!(status(&s.push(&a, &[later]).await[0]), ("accepted", ""));
    let (_, progress) = s.send("GET", "/api/v1/progress", Some(s.coordinator()), None).await;
    let me = progress["volunteers"].as_array().unwrap().iter().find(|v| v["id"] == a.volunteer.as_str()).unwrap();
    assert!((me["position"]["lat"].as_f64().unwrap() - 47.2150).abs() < 1e-6, "{me}");
    assert_eq!(me["position_ms"].as_i64(), Some(s.now()), "{me}");

    // Past the campaign's retention date: answers and notes are dropped at ingest, the phone is told.
    rusqlite::Connection::open(&s.db)
        .unwrap()
        .execute("UPDATE campaigns SET retention_until_ms = ?1", [s.now() - 1])
        .unwrap();
    let mut opinion = forge(&s, &a, &a.doors[2], "not_home");
    opinion.note = Some("vote RN, à recontacter au 06…".into());
    let got = s.push(&a, std::slice::from_ref(&opinion)).await;
    assert_eq!(status(&got[0]), ("accepted", "personal_data_dropped"), "{got:?}");
    let (_, rows) = s.send("GET", "/api/v1/export/reports.json", Some(s.coordinator()), None).await;
    let stored = rows.as_array().unwrap().iter().find(|r| r["report"]["id"] == opinion.id.as_str()).unwrap();
    assert!(stored["report"]["note"].is_null(), "{stored}");
    assert_eq!(stored["report"]["result_code"], "not_home", "the result and place are kept");
    let body: String = rusqlite::Connection::open(&s.db)
        .unwrap()
        .query_row("SELECT body FROM reports WHERE id = ?1", [&opinion.id], |r| r.get(0))
        .unwrap();
    assert!(!body.contains("vote RN"), "nothing personal in the file: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_neutralises_formulas() {
    let s = server().await;
    let a = s.phone(0, "phone-a").await;
    let mut notes = Vec::new();
    for (i, note) in ["=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "\tcmd", "\rcmd"].into_iter().enumerate() {
        let mut k = forge(&s, &a, &a.doors[i], "not_home");
        k.note = Some(note.into());
        notes.push(k);
    }
    // Notes with a leading TAB or CR are text a phone may carry (free text keeps layout characters).
    let got = s.push(&a, &notes).await;
    assert!(got.iter().all(|g| g["status"] == "accepted"), "{got:?}");
    let r =
        s.http.get(format!("{}/api/v1/export/reports.csv", s.base)).bearer_auth(s.coordinator()).send().await.unwrap();
    let csv = r.text().await.unwrap();
    for bad in ["\"=HYPERLINK", "\"+1", "\"-1", "\"@SUM", "\"\tcmd", "\"\rcmd"] {
        assert!(!csv.contains(bad), "{bad:?} reaches a spreadsheet as a formula");
    }
    assert!(csv.contains("\"'=HYPERLINK") && csv.contains("\"'\tcmd"), "neutralised with a quote");
}

/// The street network is the campaign's, changed by its coordinator only (issue 20's new import
/// route): a volunteer's phone, a captain and no token are refused over HTTP and the network stays
/// as it was; a file that only looks like a GeoPackage, or is nothing known, is a clear 4xx.
#[tokio::test]
async fn only_the_coordinator_replaces_the_streets() {
    let s = server().await;
    let phone = s.phone(0, "phone-streets").await;
    let gpkg =
        std::fs::read(doorstep_tests::repo_root().join("data/nantes/fr_nantes_centre_troncon_de_route.gpkg")).unwrap();
    let post = |token: Option<String>, body: Vec<u8>| {
        let mut rb = s.http.post(format!("{}/api/v1/import/streets", s.base)).body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        async move {
            let r = rb.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (_, before) = s.send("GET", "/api/v1/map/streets", Some(s.coordinator()), None).await;
    for token in [Some(phone.token.clone()), Some(s.captain("capitaine-nord").to_string()), None] {
        let (st, body) = post(token.clone(), gpkg.clone()).await;
        assert!(st == StatusCode::FORBIDDEN || st == StatusCode::UNAUTHORIZED, "{token:?}: {st} {body}");
    }
    let (_, after) = s.send("GET", "/api/v1/map/streets", Some(s.coordinator()), None).await;
    assert_eq!(before, after, "the network is unchanged");

    let mut fake = b"SQLite format 3\0".to_vec();
    fake.extend(std::iter::repeat_n(0u8, 4096));
    for body in [fake, b"\x00\x00\x00\x0eOSMHeader garbage".to_vec(), b"<osm/>".to_vec()] {
        let (st, text) = post(Some(s.coordinator().to_string()), body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        assert!(text.contains("bad_import"), "{text}");
    }
    let (_, still) = s.send("GET", "/api/v1/map/streets", Some(s.coordinator()), None).await;
    assert_eq!(before, still, "a refused file changes nothing");
    let (st, text) = post(Some(s.coordinator().to_string()), gpkg).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert!(text.contains("bdtopo_gpkg"), "{text}");
}

/// Pushes sign-up events; per item its code when refused, else its status.
async fn signups(s: &Server, p: &Phone, events: Vec<Value>) -> Vec<String> {
    let body = json!({"protocol": 1, "device_id": p.device, "events": events});
    let (st, r) = s.send("POST", "/api/v1/sync/signups", Some(&p.token), Some(body)).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| match status(i) {
            (st, "") => st.to_string(),
            (_, code) => code.to_string(),
        })
        .collect()
}

/// Canvass sessions (issue 17) against strangers and wrong clocks, over HTTP: a volunteer of
/// another team, a captain of another team, another campaign's coordinator, a phone whose clock
/// is a year off, and a stolen phone once revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_resist_strangers_and_wrong_clocks() {
    let s = server().await;
    let (nord, sud) = (s.phone(0, "dev-nord").await, s.phone(5, "dev-sud").await);
    let hour = 3_600_000;
    let session = |id: &str, captain: &str, turf: &str| {
        json!({"id": id, "campaign_id": "demo-nantes", "title": "Samedi matin, équipe sud",
            "start_ms": s.now() + hour, "end_ms": s.now() + 3 * hour,
            "meeting_lat": 47.2137, "meeting_lon": -1.5575, "meeting_text": "Place Royale, côté fontaine",
            "capacity": 8, "captains": [captain], "turfs": [turf], "team_id": "sud", "visibility": "team"})
    };
    // The north captain cannot publish for the south team; the south captain can.
    let (st, b) = s
        .send(
            "POST",
            "/api/v1/sessions",
            Some(s.captain("capitaine-nord")),
            Some(session("s-sud", "capitaine-nord", &sud.turf)),
        )
        .await;
    assert_eq!((st, b["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{b}");
    let (st, b) = s
        .send(
            "POST",
            "/api/v1/sessions",
            Some(s.captain("capitaine-sud")),
            Some(session("s-sud", "capitaine-sud", &sud.turf)),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");

    let event = |n: u32, p: &Phone, kind: &str, at_ms: i64| {
        json!({"id": uuid::Uuid::from_u128(0x0190a0b0_0000_7000_8000_000000000000 + u128::from(n)).to_string(),
            "session_id": "s-sud", "volunteer_id": p.volunteer, "device_id": p.device, "kind": kind, "at_ms": at_ms})
    };
    // A volunteer of the north team neither sees the south's session nor signs up to it.
    let (_, listed) = s.send("GET", "/api/v1/sync/sessions", Some(&nord.token), None).await;
    assert_eq!(listed, json!([]));
    assert_eq!(signups(&s, &nord, vec![event(1, &nord, "sign_up", s.now())]).await, ["unknown_session"]);

    // A phone whose clock is a year ahead: decided by the server's clock, so accepted now…
    assert_eq!(signups(&s, &sud, vec![event(2, &sud, "sign_up", s.now() + 365 * 24 * hour)]).await, ["accepted"]);
    let (_, listed) = s.send("GET", "/api/v1/sync/sessions", Some(&sud.token), None).await;
    assert_eq!(
        (listed[0]["session"]["id"].as_str(), listed[0]["standing"].as_str()),
        (Some("s-sud"), Some("signed_up"))
    );
    // …and a year behind once the session is over: still over.
    s.advance(3 * hour);
    assert_eq!(signups(&s, &sud, vec![event(3, &sud, "cancel", s.now() - 365 * 24 * hour)]).await, ["session_over"]);

    // Another campaign's coordinator sees none of it and cannot borrow this campaign's turfs or
    // captains.
    let lyon = s.other_campaign().await;
    let (_, listed) = s.send("GET", "/api/v1/sessions", Some(&lyon), None).await;
    assert_eq!(listed, json!([]));
    let mut borrowed = session("s-lyon", "coord-lyon", &sud.turf);
    borrowed["team_id"] = Value::Null;
    borrowed["visibility"] = json!("campaign");
    let (st, b) = s.send("POST", "/api/v1/sessions", Some(&lyon), Some(borrowed.clone())).await;
    assert_eq!((st, b["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_turf")), "{b}");
    borrowed["turfs"] = json!([]);
    borrowed["captains"] = json!(["capitaine-sud"]);
    let (st, b) = s.send("POST", "/api/v1/sessions", Some(&lyon), Some(borrowed)).await;
    assert_eq!((st, b["code"].as_str()), (StatusCode::BAD_REQUEST, Some("not_a_captain")), "{b}");
    // Nor call off this campaign's session, nor edit it: no such session, as far as they know.
    let mut off = session("s-sud", "capitaine-sud", &sud.turf);
    off["cancelled"] = json!(true);
    let (st, b) = s.send("PUT", "/api/v1/sessions/s-sud", Some(&lyon), Some(off.clone())).await;
    assert_eq!((st, b["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{b}");
    // The north captain cannot call off the south's session either; the south's own captain can
    // edit it (a place more), and it stands.
    let (st, b) = s.send("PUT", "/api/v1/sessions/s-sud", Some(s.captain("capitaine-nord")), Some(off)).await;
    assert_eq!((st, b["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{b}");
    let (_, mine) = s.send("GET", "/api/v1/sessions", Some(s.captain("capitaine-sud")), None).await;
    let mut more = mine.as_array().unwrap().iter().find(|x| x["session"]["id"] == "s-sud").unwrap()["session"].clone();
    more["capacity"] = json!(9);
    let (st, b) = s.send("PUT", "/api/v1/sessions/s-sud", Some(s.captain("capitaine-sud")), Some(more)).await;
    assert_eq!((st, b["cancelled"].as_bool(), b["capacity"].as_u64()), (StatusCode::OK, Some(false), Some(9)), "{b}");

    // A stolen phone, revoked: it learns nothing more and changes nothing.
    let (st, b) = s.send("POST", "/api/v1/devices/dev-sud/revoke", Some(s.coordinator()), None).await;
    assert!(st.is_success(), "{b}");
    let (_, listed) = s.send("GET", "/api/v1/sync/sessions", Some(&sud.token), None).await;
    assert_eq!(listed, json!([]));
    assert_eq!(signups(&s, &sud, vec![event(4, &sud, "cancel", s.now())]).await, ["revoked"]);
}

/// Team messages (issue 18) against strangers, over HTTP: a phone writing in another's name or
/// from another device, into another team's channel or two other people's conversation; another
/// campaign's coordinator; a stolen phone once revoked. None of it is written, and nothing of the
/// north team's conversation comes back to any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_resist_strangers() {
    let s = server().await;
    let (nord, sud) = (s.phone(0, "dev-nord").await, s.phone(5, "dev-sud").await);
    let event = |n: u32, p: &Phone, author: &str, channel: &str| {
        json!({"id": uuid::Uuid::from_u128(0x0190a0b0_0000_7000_8000_000000000000 + u128::from(n)).to_string(),
            "channel_id": channel, "author_id": author, "device_id": p.device, "at_ms": s.now(),
            "action": {"kind": "post", "body": "Rendez-vous au local"}})
    };
    let push = |p: &Phone, events: Vec<Value>| {
        let body = json!({"protocol": 1, "device_id": p.device, "events": events});
        let (s, token) = (&s, p.token.clone());
        async move {
            let (st, r) = s.send("POST", "/api/v1/sync/messages", Some(&token), Some(body)).await;
            assert_eq!(st, StatusCode::OK, "{r}");
            r["results"].as_array().unwrap().iter().map(|i| status(i).1.to_string()).collect::<Vec<_>>()
        }
    };
    // The north phone writes in its team's channel: taken. The south phone cannot write there, nor
    // in the north phone's name, nor in the north volunteer's conversation with their captain.
    assert_eq!(push(&nord, vec![event(1, &nord, &nord.volunteer, "team:nord")]).await, [""]);
    let dm = doorstep_protocol::ChannelRef::direct(&nord.volunteer, "capitaine-nord").id();
    assert_eq!(
        push(
            &sud,
            vec![
                event(2, &sud, &sud.volunteer, "team:nord"),
                event(3, &sud, &nord.volunteer, "team:sud"),
                event(4, &sud, &sud.volunteer, &dm),
            ]
        )
        .await,
        ["unknown_channel", "wrong_sender", "unknown_channel"]
    );
    // Another device's outbox is not this token's to push.
    let body = json!({"protocol": 1, "device_id": nord.device, "events": []});
    let (st, b) = s.send("POST", "/api/v1/sync/messages", Some(&sud.token), Some(body)).await;
    assert_eq!((st, b["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{b}");
    // Nothing of the north's conversation in the south phone's feed.
    let (_, feed) = s.send("POST", "/api/v1/sync/feed", Some(&sud.token), Some(json!({"protocol": 1}))).await;
    let text = feed.to_string();
    assert!(!text.contains("team:nord") && !text.contains("Rendez-vous au local"), "{text}");

    // Another campaign's coordinator: the north's channel does not exist for them.
    let lyon = s.other_campaign().await;
    let write = json!({"channel_id": "team:nord", "action": {"kind": "post", "body": "Bonjour de Lyon"}});
    let (st, b) = s.send("POST", "/api/v1/messages", Some(&lyon), Some(write)).await;
    assert_eq!((st, b["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{b}");
    let dm_lyon = json!({"channel_id": doorstep_protocol::ChannelRef::direct("coord-lyon", &nord.volunteer).id(),
        "action": {"kind": "post", "body": "Bonjour"}});
    let (st, _) = s.send("POST", "/api/v1/messages", Some(&lyon), Some(dm_lyon)).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a person of another campaign is nobody to talk to");
    let (_, feed) = s.send("POST", "/api/v1/messages/feed", Some(&lyon), Some(json!({"protocol": 1}))).await;
    assert!(!feed.to_string().contains("Rendez-vous au local"));
    // The north captain may not pin in the south's channel, nor in the announcements post.
    let pin = json!({"channel_id": "team:sud", "action": {"kind": "unpin"}});
    let (st, _) = s.send("POST", "/api/v1/messages", Some(s.captain("capitaine-nord")), Some(pin)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let ann = json!({"channel_id": "announce", "action": {"kind": "post", "body": "Annonce"}});
    let (st, b) = s.send("POST", "/api/v1/messages", Some(s.captain("capitaine-nord")), Some(ann)).await;
    assert_eq!((st, b["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{b}");

    // A stolen phone, revoked: it writes nothing more and reads nothing.
    let (st, b) = s.send("POST", "/api/v1/devices/dev-nord/revoke", Some(s.coordinator()), None).await;
    assert!(st.is_success(), "{b}");
    assert_eq!(push(&nord, vec![event(5, &nord, &nord.volunteer, "team:nord")]).await, ["revoked"]);
    let (_, feed) = s.send("POST", "/api/v1/sync/feed", Some(&nord.token), Some(json!({"protocol": 1}))).await;
    assert_eq!(
        (feed["channels"].as_array().map(Vec::len), feed["messages"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
}

/// Volunteer pages and one's own data (issue 18) against strangers, over HTTP: a phone pushing
/// coopain steps or a page in another's name or for another device; asking someone of another
/// campaign; another campaign's coordinator reading a page, a photo or an export; a captain
/// exporting; a stolen phone once revoked reading pages, exporting, or deleting the account it
/// was stolen from. None of it answers anything about the person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_personal_data_resist_strangers() {
    let s = server().await;
    let (nord, sud) = (s.phone(0, "dev-nord").await, s.phone(5, "dev-sud").await);
    let event = |n: u32, p: &Phone, author: &str, action: Value| {
        json!({"id": uuid::Uuid::from_u128(0x0190a0b0_0000_7000_9000_000000000000 + u128::from(n)).to_string(),
            "author_id": author, "device_id": p.device, "at_ms": s.now(), "action": action})
    };
    let push = |p: &Phone, events: Vec<Value>| {
        let body = json!({"protocol": 1, "device_id": p.device, "events": events});
        let (s, token) = (&s, p.token.clone());
        async move {
            let (st, r) = s.send("POST", "/api/v1/sync/people", Some(&token), Some(body)).await;
            assert_eq!(st, StatusCode::OK, "{r}");
            r["results"].as_array().unwrap().iter().map(|i| status(i).1.to_string()).collect::<Vec<_>>()
        }
    };
    let page = json!({"kind": "profile", "settings": {"pseudonym": "Nord", "bio": "Secret du nord",
        "visibility": {"name": "only_me", "photo": "only_me", "bio": "coopains", "teams": "only_me",
                       "sessions": "only_me", "figures": "only_me", "activity": "only_me"}}});
    assert_eq!(push(&nord, vec![event(1, &nord, &nord.volunteer, page.clone())]).await, [""]);
    // The south phone: a page in the north volunteer's name, an accept of an ask nobody made, an
    // ask to someone of no campaign of theirs; and another device's outbox.
    let accept = json!({"kind": "coopain", "user_id": nord.volunteer, "step": "accept"});
    let lyon_ask = json!({"kind": "coopain", "user_id": "coord-lyon", "step": "ask"});
    assert_eq!(
        push(
            &sud,
            vec![
                event(2, &sud, &nord.volunteer, page),
                event(3, &sud, &sud.volunteer, accept),
                event(4, &sud, &sud.volunteer, lyon_ask)
            ]
        )
        .await,
        ["wrong_sender", "no_ask", "unknown_person"]
    );
    let body = json!({"protocol": 1, "device_id": nord.device, "events": []});
    let (st, _) = s.send("POST", "/api/v1/sync/people", Some(&sud.token), Some(body)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The south volunteer sees the pseudonym and nothing the north volunteer keeps for themself.
    let (st, p) = s.send("GET", &format!("/api/v1/sync/people/{}", nord.volunteer), Some(&sud.token), None).await;
    assert_eq!(st, StatusCode::OK);
    let text = p.to_string();
    assert_eq!(p["shown_name"], "Nord");
    assert!(!text.contains("Secret du nord") && !text.contains("Bénévole 0") && p["teams"].is_null(), "{text}");

    // An id made to escape the set of ids a page is read with (a JSON array, `pages_for`): it is
    // one id among none, not the north volunteer, not every user.
    for crafted in [format!("x%22%2C%22{}", nord.volunteer), "%25".into(), "x%27%3B%20DROP%20TABLE%20users%3B--".into()]
    {
        let (st, b) = s.send("GET", &format!("/api/v1/sync/people/{crafted}"), Some(&sud.token), None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{crafted}: {b}");
    }
    // Another campaign's coordinator: no page, no photo, no export of this campaign's people.
    let lyon = s.other_campaign().await;
    for path in ["", "/photo", "/export"] {
        let (st, b) = s.send("GET", &format!("/api/v1/people/{}{path}", nord.volunteer), Some(&lyon), None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {b}");
    }
    // A captain does not export anyone's data: that is the coordinators' answer to a request.
    let (st, _) = s
        .send("GET", &format!("/api/v1/people/{}/export", nord.volunteer), Some(s.captain("capitaine-nord")), None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // A stolen phone, revoked: it reads no page, exports nothing, deletes nothing.
    let (st, b) = s.send("POST", "/api/v1/devices/dev-nord/revoke", Some(s.coordinator()), None).await;
    assert!(st.is_success(), "{b}");
    for (method, path, body) in [
        ("GET", "/api/v1/sync/people".to_string(), None),
        ("GET", format!("/api/v1/sync/people/{}", sud.volunteer), None),
        ("GET", "/api/v1/sync/me/export".to_string(), None),
        ("POST", "/api/v1/sync/me/delete".to_string(), Some(json!({"confirm": "SUPPRIMER"}))),
    ] {
        let (st, b) = s.send(method, &path, Some(&nord.token), body).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{method} {path}: {b}");
    }
    let (st, p) = s.send("GET", &format!("/api/v1/people/{}", nord.volunteer), Some(s.coordinator()), None).await;
    assert_eq!((st, p["shown_name"].as_str()), (StatusCode::OK, Some("Bénévole 0")), "the account is still there: {p}");
}

/// SMS (issue 19) against strangers, over HTTP: another campaign's coordinator previews, sends,
/// reads the inbox or the opt-out list of this campaign's team — nothing of it exists for them;
/// a volunteer's phone token is no staff key; a text to a team that does not exist is not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_resists_strangers() {
    let s = server().await;
    let nord = s.phone(0, "dev-nord").await;
    let settings = json!({"sender_name": "Équipe Nord", "election_days": [], "max_segments": 2});
    let (st, b) = s.send("PUT", "/api/v1/sms/settings", Some(s.coordinator()), Some(settings)).await;
    assert!(st.is_success(), "{b}");
    let lyon = s.other_campaign().await;
    let text = json!({"audience": {"kind": "team", "team_id": "nord"}, "purpose": "team_news",
        "body": "Équipe Nord : 10 h. STOP au 36180", "idempotency_key": "k"});
    // Lyon has no SMS settings and no team "nord": nothing to preview or send.
    for path in ["/api/v1/sms/preview", "/api/v1/sms/send"] {
        let (st, b) = s.send("POST", path, Some(&lyon), Some(text.clone())).await;
        assert!(st == StatusCode::NOT_FOUND || st == StatusCode::CONFLICT, "{path}: {st} {b}");
        assert!(!b.to_string().contains("Bénévole"), "{b}");
    }
    let (_, inbox) = s.send("GET", "/api/v1/sms/inbox", Some(&lyon), None).await;
    assert_eq!(inbox, json!([]));
    let (_, outs) = s.send("GET", "/api/v1/sms/optouts", Some(&lyon), None).await;
    assert_eq!(outs, json!([]));
    // A volunteer's phone is no staff key.
    let (st, _) = s.send("POST", "/api/v1/sms/preview", Some(&nord.token), Some(text.clone())).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // A team that is not there.
    let mut nowhere = text.clone();
    nowhere["audience"]["team_id"] = json!("nulle-part");
    let (st, _) = s.send("POST", "/api/v1/sms/preview", Some(s.coordinator()), Some(nowhere)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// The map by part (issue 21) against another campaign's coordinator, over HTTP: this campaign's
/// turf ids and a viewport over its doors give them nothing — no building, no square, no street,
/// no figure — while this campaign's coordinator, asking the same, gets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_by_part_shows_nothing_to_another_campaign() {
    let s = server().await;
    let nord = s.phone(0, "dev-nord").await;
    let r = s.push(&nord, &[forge(&s, &nord, &nord.doors[0], "not_home")]).await;
    assert_eq!(status(&r[0]).0, "accepted", "{r:?}");
    let lyon = s.other_campaign().await;
    // A viewport over every Nantes door, and the north turf by its id.
    let view = "south=47.0&west=-1.8&north=47.4&east=-1.3";
    let asks = [
        format!("/api/v1/map/buildings?{view}"),
        format!("/api/v1/map/buildings?turf={}", nord.turf),
        "/api/v1/map/buildings".to_string(),
        format!("/api/v1/map/cells?level=2&{view}"),
        "/api/v1/map/cells?level=0".to_string(),
    ];
    for path in &asks {
        let (st, mine) = s.send("GET", path, Some(s.coordinator()), None).await;
        assert_eq!(st, StatusCode::OK, "{path}: {mine}");
        assert!(!mine.as_array().unwrap().is_empty(), "{path}: the owner sees it");
        let (st, theirs) = s.send("GET", path, Some(&lyon), None).await;
        assert_eq!((st, &theirs), (StatusCode::OK, &json!([])), "{path}: another campaign sees nothing");
    }
    let path = format!("/api/v1/map/streets?{view}");
    let (_, mine) = s.send("GET", &path, Some(s.coordinator()), None).await;
    assert!(!mine["edges"].as_array().unwrap().is_empty());
    let (st, theirs) = s.send("GET", &path, Some(&lyon), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (theirs["nodes"].as_array().map(Vec::len), theirs["edges"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    // Their progress and results count nothing of this campaign's knock.
    let (_, progress) = s.send("GET", "/api/v1/progress", Some(&lyon), None).await;
    assert_eq!(
        (progress["campaign"]["doors"].as_u64(), progress["campaign"]["knocked"].as_u64()),
        (Some(0), Some(0)),
        "{progress}"
    );
    let (st, b) = s.send("GET", &format!("/api/v1/results?turf={}", nord.turf), Some(&lyon), None).await;
    assert!(st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN, "{st} {b}");
}

/// A phone whose clock is a year ahead (issue 18): its messages and its people events are taken
/// (their time is the phone's, shown; the order is the server's), placed after what came before,
/// and a time outside the protocol's bounds is refused with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_a_year_off_changes_no_order() {
    let s = server().await;
    let (a, b) = (s.phone(0, "dev-a").await, s.phone(1, "dev-b").await);
    let year = 365 * 86_400_000i64;
    let msg = |n: u32, p: &Phone, at: i64, body: &str| {
        json!({"protocol": 1, "device_id": p.device, "events": [{
            "id": uuid::Uuid::from_u128(0x0190a0b0_0000_7000_a000_000000000000 + u128::from(n)).to_string(),
            "channel_id": "team:nord", "author_id": p.volunteer, "device_id": p.device, "at_ms": at,
            "action": {"kind": "post", "body": body}}]})
    };
    let (st, r) = s.send("POST", "/api/v1/sync/messages", Some(&a.token), Some(msg(1, &a, s.now(), "d'abord"))).await;
    assert_eq!((st, status(&r["results"][0]).1), (StatusCode::OK, ""), "{r}");
    let (_, r) =
        s.send("POST", "/api/v1/sync/messages", Some(&b.token), Some(msg(2, &b, s.now() - year, "ensuite"))).await;
    assert_eq!(status(&r["results"][0]).1, "", "a clock a year behind is taken: {r}");
    let (_, r) =
        s.send("POST", "/api/v1/sync/messages", Some(&b.token), Some(msg(3, &b, s.now() + year, "enfin"))).await;
    assert_eq!(status(&r["results"][0]).1, "", "a clock a year ahead is taken: {r}");
    let (_, r) = s.send("POST", "/api/v1/sync/messages", Some(&b.token), Some(msg(4, &b, -5, "jamais"))).await;
    assert_eq!(status(&r["results"][0]).1, "bad_time", "{r}");
    let (_, feed) = s.send("POST", "/api/v1/sync/feed", Some(&a.token), Some(json!({"protocol": 1}))).await;
    let bodies: Vec<&str> = feed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel_id"] == "team:nord")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["d'abord", "ensuite", "enfin"], "the server's order, whatever the clocks");
    // A people event a year ahead: taken.
    let page = json!({"protocol": 1, "device_id": b.device, "events": [{
        "id": "0190a0b0-0000-7000-a000-000000000099", "author_id": b.volunteer, "device_id": b.device,
        "at_ms": s.now() + year, "action": {"kind": "profile", "settings": {"pseudonym": "B."}}}]});
    let (_, r) = s.send("POST", "/api/v1/sync/people", Some(&b.token), Some(page)).await;
    assert_eq!(status(&r["results"][0]).1, "", "{r}");
}
