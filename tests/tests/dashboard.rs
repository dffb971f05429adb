//! The dashboard's server side over real HTTP on loopback, on the demo campaign (real Nantes
//! addresses and streets): sign-in (argon2id, cookie, CSRF, rate limit, expiry, sign-out), scope,
//! progress and results against knocks made by a real field core, live events per scope; and the
//! browser end to end in Debian's headless Chromium (`tests/browser/dashboard.mjs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_core::{KnockInput, Store};
use doorstep_protocol::{Answer, AnswerValue, JoinRequest, PROTOCOL_VERSION, Position, Target};
use doorstep_server::demo::Seeded;
use doorstep_server::service::Service;
use doorstep_server::store::ServerStore;
use doorstep_server::store::sqlite::SqliteStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Server {
    base: String,
    seeded: Seeded,
    clock: Arc<AtomicI64>,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
    service: doorstep_server::service::Service,
}

impl Server {
    fn password(&self, login: &str) -> String {
        self.seeded.logins.iter().find(|(l, _)| l == login).unwrap().1.clone()
    }
    fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }
}

/// The demo campaign on a fresh SQLite file, served on loopback, with a clock the test moves.
async fn server() -> Server {
    server_with(Default::default()).await
}

async fn server_with(limits: doorstep_server::ratelimit::RateLimits) -> Server {
    let d = doorstep_tests::demo_server(limits).await;
    Server { base: d.base, seeded: d.seeded, clock: d.clock, db: d.db, _dir: d.dir, service: d.service }
}

/// The browser tests take turns: two cores, and each browser wants both.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A browser-like session: the cookie and CSRF token from signing in.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

async fn sign_in(http: &reqwest::Client, base: &str, login: &str, password: &str) -> reqwest::Response {
    http.post(format!("{base}/api/v1/session"))
        .header("Origin", base)
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
}

impl Browser {
    async fn new(s: &Server, login: &str) -> Browser {
        let http = http_client();
        let r = sign_in(&http, &s.base, login, &s.password(login)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let body: Value = r.json().await.unwrap();
        Browser { http, base: s.base.clone(), cookie, csrf: body["csrf_token"].as_str().unwrap().to_string() }
    }
    /// Signs out as the page does (cookie and CSRF token).
    async fn sign_out(&self) -> reqwest::Response {
        self.http
            .delete(format!("{}/api/v1/session", self.base))
            .header("Cookie", &self.cookie)
            .header("X-CSRF-Token", &self.csrf)
            .send()
            .await
            .unwrap()
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(format!("{}{path}", self.base)).header("Cookie", &self.cookie).send().await.unwrap();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null))
    }
    async fn text(&self, path: &str) -> String {
        let r = self.http.get(format!("{}{path}", self.base)).header("Cookie", &self.cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.unwrap()
    }
    /// A change as the page makes it: cookie, CSRF token, this server's Origin.
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(path, body, Some(&self.csrf.clone()), Some(&self.base.clone())).await
    }
    async fn send(&self, path: &str, body: Value, csrf: Option<&str>, origin: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).header("Cookie", &self.cookie).json(&body);
        if let Some(c) = csrf {
            req = req.header("X-CSRF-Token", c);
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let r = req.send().await.unwrap();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null))
    }
}

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or("")
}

/// A volunteer's phone: the real core on a real SQLite file, joined with the demo's code.
async fn phone(base: &str, dir: &std::path::Path, join_code: &str) -> (Store, HttpTransport) {
    let store = Store::open(dir.join("phone.db"), None).unwrap();
    let join = HttpTransport::new(base, None)
        .unwrap()
        .join(&JoinRequest { protocol: PROTOCOL_VERSION, code: join_code.into(), device_id: store.device_id().into() })
        .await
        .unwrap();
    let transport = HttpTransport::new(base, Some(join.token)).unwrap();
    sync(&store, &transport, RetryPolicy::default(), &()).await.unwrap().unwrap();
    (store, transport)
}

/// A knock on a door as the app records it.
fn knock_at(door: &str, result: &str, answers: Vec<Answer>, position: Option<Position>) -> KnockInput {
    KnockInput {
        target: Target::Door { id: door.into() },
        result_code: result.into(),
        answers,
        note: None,
        safety_flags: vec![],
        position,
        follow_up: None,
    }
}

/// Every stop of the phone's walking route for a turf, in route order.
fn stops(store: &Store, turf: &str) -> Vec<doorstep_core::views::RouteStop> {
    let p = store.route_progress(turf).unwrap();
    let mut seen = std::collections::HashSet::new();
    // `next` is also the first of `remaining`.
    p.next.into_iter().chain(p.remaining).chain(p.done).filter(|s| seen.insert(s.building_id.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_cookie_csrf_rate_limit_expiry_and_sign_out() {
    let s = server().await;
    let http = http_client();

    // Wrong password and unknown login: the same refusal.
    let r = sign_in(&http, &s.base, "capitaine-nord", "not the password").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let wrong: Value = r.json().await.unwrap();
    let r = sign_in(&http, &s.base, "personne", "not the password").await;
    let unknown: Value = r.json().await.unwrap();
    assert_eq!((code(&wrong), &wrong["message"]), (code(&unknown), &unknown["message"]));
    assert_eq!(code(&wrong), "bad_login");

    // A stranger (another address) failing five times locks only themselves out: the captain, from
    // their own address, still signs in.
    http_client();
    let stranger =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    for _ in 0..6 {
        sign_in(&stranger, &s.base, "capitaine-sud", "guess guess guess").await;
    }
    let r = sign_in(&stranger, &s.base, "capitaine-sud", &s.password("capitaine-sud")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "the stranger's address is locked");
    assert_eq!(sign_in(&http, &s.base, "capitaine-sud", &s.password("capitaine-sud")).await.status(), StatusCode::OK);

    // Five failures from one address lock that login there, even with the right password, for a
    // minute; each failure after that doubles the wait.
    for _ in 0..5 {
        assert_eq!(
            sign_in(&http, &s.base, "capitaine-sud", "guess guess guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = sign_in(&http, &s.base, "capitaine-sud", &s.password("capitaine-sud")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((55..=60).contains(&retry), "{retry}");
    assert_eq!(code(&r.json().await.unwrap()), "too_many_attempts");
    s.advance(61_000);
    assert_eq!(
        sign_in(&http, &s.base, "capitaine-sud", "guess guess guess").await.status(),
        StatusCode::UNAUTHORIZED,
        "a sixth failure after the wait"
    );
    let r = sign_in(&http, &s.base, "capitaine-sud", &s.password("capitaine-sud")).await;
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((115..=120).contains(&retry), "the wait doubled: {retry}");
    s.advance(16 * 60_000);
    assert_eq!(sign_in(&http, &s.base, "capitaine-sud", &s.password("capitaine-sud")).await.status(), StatusCode::OK);

    // The cookie: HttpOnly, Secure, SameSite=Strict. The database holds an argon2id hash only.
    let r = sign_in(&http, &s.base, "capitaine-nord", &s.password("capitaine-nord")).await;
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    let hash: String = rusqlite::Connection::open(&s.db)
        .unwrap()
        .query_row("SELECT password_hash FROM users WHERE login = 'capitaine-nord'", [], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(&s.password("capitaine-nord")), "{hash}");

    let cap = Browser::new(&s, "capitaine-nord").await;
    let (st, me) = cap.get("/api/v1/session").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!((me["me"]["role"].as_str(), me["csrf_token"].as_str()), (Some("captain"), Some(cap.csrf.as_str())));

    // A change without the CSRF token, with a wrong one, or from another site: refused, nothing moves.
    let (_, turfs_before) = cap.get("/api/v1/turfs").await;
    let own = s.seeded.volunteers[0].2.clone();
    let (_, doors) = cap.get(&format!("/api/v1/turfs/{own}/doors")).await;
    let street = doors[0]["street"].as_str().unwrap().to_string();
    let req = json!({"turf_id": own, "street": street, "to_volunteer": "benevole-01"});
    let (st, b) = cap.send("/api/v1/reassign", req.clone(), None, Some(&s.base)).await;
    assert_eq!((st, code(&b)), (StatusCode::FORBIDDEN, "csrf"));
    let (st, b) = cap.send("/api/v1/reassign", req.clone(), Some("0000"), None).await;
    assert_eq!((st, code(&b)), (StatusCode::FORBIDDEN, "csrf"));
    let (st, b) = cap.send("/api/v1/reassign", req.clone(), Some(&cap.csrf), Some("http://evil.example")).await;
    assert_eq!((st, code(&b)), (StatusCode::FORBIDDEN, "forbidden"), "{b}");
    // A turf of the other team: refused by scope.
    let south = s.seeded.volunteers[5].2.clone();
    let (_, south_doors) = Browser::new(&s, "coordinatrice").await.get(&format!("/api/v1/turfs/{south}/doors")).await;
    let south_street = south_doors[0]["street"].as_str().unwrap();
    let (st, b) = cap
        .post("/api/v1/reassign", json!({"turf_id": south, "street": south_street, "to_volunteer": "benevole-01"}))
        .await;
    assert_eq!((st, code(&b)), (StatusCode::FORBIDDEN, "forbidden"), "{b}");
    assert_eq!(cap.get("/api/v1/turfs").await.1, turfs_before, "nothing changed");
    // With the token, from the page: done.
    let (st, b) = cap.post("/api/v1/reassign", req).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert!(b["buildings_moved"].as_u64().unwrap() > 0);

    // Staff logins: volunteers get none, passwords are long, a login is one person's.
    let coord = Browser::new(&s, "coordinatrice").await;
    let put = |path: String, body: Value| {
        let (http, base, cookie, csrf) =
            (coord.http.clone(), coord.base.clone(), coord.cookie.clone(), coord.csrf.clone());
        async move {
            let r = http
                .put(format!("{base}{path}"))
                .header("Cookie", cookie)
                .header("X-CSRF-Token", csrf)
                .json(&body)
                .send()
                .await
                .unwrap();
            let st = r.status();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, b) =
        put("/api/v1/users/benevole-00/login".into(), json!({"login": "vol", "password": "long enough password"}))
            .await;
    assert_eq!((st, code(&b)), (StatusCode::BAD_REQUEST, "not_staff"));
    let (st, b) = put("/api/v1/users/capitaine-sud/login".into(), json!({"login": "yann", "password": "short"})).await;
    assert_eq!((st, code(&b)), (StatusCode::BAD_REQUEST, "weak_password"));
    let (st, b) = put(
        "/api/v1/users/capitaine-sud/login".into(),
        json!({"login": "capitaine-nord", "password": "long enough password"}),
    )
    .await;
    assert_eq!((st, code(&b)), (StatusCode::CONFLICT, "conflict"));
    let (st, _) =
        put("/api/v1/users/capitaine-sud/login".into(), json!({"login": "Yann", "password": "long enough password"}))
            .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(sign_in(&http, &s.base, "yann", "long enough password").await.status(), StatusCode::OK);

    // Sign-out ends the session for good.
    let r = cap.sign_out().await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let (st, b) = cap.get("/api/v1/progress").await;
    assert_eq!((st, code(&b)), (StatusCode::UNAUTHORIZED, "session_expired"));

    // A session lasts 12 hours.
    let (st, _) = coord.get("/api/v1/progress").await;
    assert_eq!(st, StatusCode::OK);
    s.advance(12 * 3_600_000 + 1);
    let (st, b) = coord.get("/api/v1/progress").await;
    assert_eq!((st, code(&b)), (StatusCode::UNAUTHORIZED, "session_expired"));

    // The page itself: our script only, framing refused.
    let r = http.get(format!("{}/", s.base)).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.text().await.unwrap().contains("/assets/leaflet.js"));
}

/// Reads server-sent events until `want` events of kind `kind` have come, or the time is up.
async fn events(mut r: reqwest::Response, kind: &str, want: usize, within: Duration) -> Vec<Value> {
    let mut buf = String::new();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while got.len() < want {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, r.chunk()).await else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let ev = block.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("");
            let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
            if ev == kind {
                got.push(serde_json::from_str(data).unwrap());
            }
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_results_and_live_events_follow_real_knocks() {
    let s = server().await;
    let north = Browser::new(&s, "capitaine-nord").await;
    let south = Browser::new(&s, "capitaine-sud").await;
    let open = |b: &Browser| b.http.get(format!("{}/api/v1/events", b.base)).header("Cookie", b.cookie.clone()).send();
    let (north_events, south_events) = (open(&north).await.unwrap(), open(&south).await.unwrap());
    assert_eq!(north_events.headers()["content-type"], "text/event-stream");

    // Bénévole 0 (north team) knocks three doors on a real phone core and syncs.
    let dir = tempfile::tempdir().unwrap();
    let (vol, join_code, turf) = s.seeded.volunteers[0].clone();
    let (store, transport) = phone(&s.base, dir.path(), &join_code).await;
    let doors: Vec<String> =
        stops(&store, &turf).iter().flat_map(|st| st.doors.iter().map(|d| d.id.clone())).take(3).collect();
    let knocks = [
        (
            "contact_made",
            vec![
                Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
                Answer { question_id: "intent".into(), value: AnswerValue::Choice { value: "oui".into() } },
            ],
        ),
        ("not_home", vec![]),
        ("refused", vec![]),
    ];
    for (door, (result, answers)) in doors.iter().zip(knocks) {
        let at = Position { lat: 47.2135, lon: -1.5590, accuracy_m: Some(8.0) };
        store.record_knock(knock_at(door, result, answers, Some(at))).unwrap();
    }
    sync(&store, &transport, RetryPolicy::default(), &()).await.unwrap().unwrap();

    // The north captain hears of it at once; the south captain does not.
    let got = events(north_events, "sync", 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "the north captain's stream got the sync");
    assert_eq!((got[0]["volunteer_id"].as_str(), got[0]["reports"].as_u64()), (Some(vol.as_str()), Some(3)));
    assert_eq!(got[0]["turf_ids"], json!([turf]));
    assert!(got[0].get("answers").is_none(), "no survey content in events");
    assert!(events(south_events, "sync", 1, Duration::from_millis(800)).await.is_empty());
    // Signing out ends the open stream within the server's recheck interval.
    let watcher = Browser::new(&s, "capitaine-sud").await;
    let mut stream = open(&watcher).await.unwrap();
    assert_eq!(watcher.sign_out().await.status(), StatusCode::NO_CONTENT);
    let ended =
        tokio::time::timeout(Duration::from_secs(15), async { while let Ok(Some(_)) = stream.chunk().await {} }).await;
    assert!(ended.is_ok(), "the stream of a signed-out session ends");

    // Progress: three doors knocked, one contact, the volunteer's position and sync time.
    let (st, p) = north.get("/api/v1/progress").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (p["campaign"]["knocks"].as_u64(), p["campaign"]["knocked"].as_u64(), p["campaign"]["contacted"].as_u64()),
        (Some(3), Some(3), Some(1))
    );
    assert!((p["campaign"]["contact_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    let v = p["volunteers"].as_array().unwrap().iter().find(|v| v["id"] == vol.as_str()).unwrap();
    assert_eq!(v["stats"]["knocks"], 3);
    assert!(v["stats"]["last_sync_ms"].as_i64().is_some() && v["position"]["lat"].as_f64().is_some(), "{v}");
    assert_eq!(v["devices"][0]["device_id"], store.device_id());
    let t = p["turfs"].as_array().unwrap().iter().find(|t| t["id"] == turf.as_str()).unwrap();
    assert_eq!((t["stats"]["knocked"].as_u64(), t["volunteer_id"].as_str()), (Some(3), Some(vol.as_str())));
    let (_, p_south) = south.get("/api/v1/progress").await;
    assert_eq!(p_south["campaign"]["knocks"], 0, "the north team's knocks are outside the south captain's reach");

    // Results: the one contact said "oui"; filtered out by date, nothing.
    let (st, r) = north.get(&format!("/api/v1/results?turf={turf}")).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["reports"], 3);
    let intent = r["questions"].as_array().unwrap().iter().find(|q| q["question_id"] == "intent").unwrap();
    assert_eq!((intent["answered"].as_u64(), &intent["counts"][0]), (Some(1), &json!(["oui", 1])));
    let codes = r["result_codes"].as_array().unwrap();
    assert!(codes.contains(&json!(["contact_made", 1])) && codes.contains(&json!(["refused", 1])));
    let (_, none) = north.get("/api/v1/results?from_ms=4102444800000").await;
    assert_eq!(none["reports"], 0);
    let csv = north.text(&format!("/api/v1/results.csv?turf={turf}")).await;
    assert!(csv.lines().any(|l| l.starts_with("intent,") && l.ends_with(",oui,1,1")), "{csv}");
    let (st, b) = north.get("/api/v1/results?bogus=1").await;
    assert_eq!((st, code(&b)), (StatusCode::BAD_REQUEST, "bad_filter"));
    let (st, b) = north.get(&format!("/api/v1/results?turf={}", s.seeded.volunteers[5].2)).await;
    assert_eq!((st, code(&b)), (StatusCode::FORBIDDEN, "forbidden"));

    // The map: the three doors' buildings show as knocked; streets are drawn around the turfs.
    let (_, buildings) = north.get("/api/v1/map/buildings").await;
    let knocked: u64 = buildings.as_array().unwrap().iter().map(|b| b["knocked"].as_u64().unwrap()).sum();
    assert_eq!(knocked, 3);
    assert!(buildings.as_array().unwrap().iter().all(|b| b["turf_id"].is_string()));
    // By part (a large campaign's map, issue 21): within a viewport, only the buildings in it; one
    // turf's within reach; the squares are the coordinator's and hold every door; a viewport given
    // in part, or a level that does not exist, is refused.
    let all = buildings.as_array().unwrap();
    let mut lats: Vec<f64> = all.iter().map(|b| b["lat"].as_f64().unwrap()).collect();
    lats.sort_by(f64::total_cmp);
    let mid = lats[lats.len() / 2];
    let (st, part) = north.get(&format!("/api/v1/map/buildings?south={mid}&west=-180&north=90&east=180")).await;
    assert_eq!(st, StatusCode::OK, "{part}");
    let part = part.as_array().unwrap();
    assert!(!part.is_empty() && part.len() < all.len(), "{} of {}", part.len(), all.len());
    assert!(part.iter().all(|b| b["lat"].as_f64().unwrap() >= mid));
    let (_, mine) = north.get(&format!("/api/v1/map/buildings?turf={turf}")).await;
    assert!(
        !mine.as_array().unwrap().is_empty() && mine.as_array().unwrap().iter().all(|b| b["turf_id"] == turf.as_str())
    );
    let (_, theirs) = north.get(&format!("/api/v1/map/buildings?turf={}", s.seeded.volunteers[5].2)).await;
    assert_eq!(theirs, json!([]), "another team's turf is out of reach");
    let (st, b) = north.get("/api/v1/map/cells").await;
    assert_eq!((st, code(&b)), (StatusCode::FORBIDDEN, "forbidden"), "the squares are the coordinator's");
    let coordinator = Browser::new(&s, "coordinatrice").await;
    let (_, whole) = coordinator.get("/api/v1/progress").await;
    for level in 0..3 {
        let (st, squares) = coordinator.get(&format!("/api/v1/map/cells?level={level}")).await;
        assert_eq!(st, StatusCode::OK, "{squares}");
        let doors: u64 = squares.as_array().unwrap().iter().map(|c| c["doors"].as_u64().unwrap()).sum();
        let knocked: u64 = squares.as_array().unwrap().iter().map(|c| c["knocked"].as_u64().unwrap()).sum();
        assert_eq!((doors, knocked), (whole["campaign"]["doors"].as_u64().unwrap(), 3), "level {level}");
    }
    let (st, b) = coordinator.get("/api/v1/map/buildings?south=45").await;
    assert_eq!((st, code(&b)), (StatusCode::BAD_REQUEST, "bad_viewport"));
    let (st, b) = coordinator.get("/api/v1/map/cells?level=7").await;
    assert_eq!((st, code(&b)), (StatusCode::BAD_REQUEST, "bad_level"));
    // A large campaign's streets come by part: those of a view are fewer than the whole network.
    let (_, net) = coordinator.get("/api/v1/map/streets").await;
    let (st, half) = coordinator.get(&format!("/api/v1/map/streets?south={mid}&west=-180&north=90&east=180")).await;
    assert_eq!(st, StatusCode::OK, "{half}");
    let (whole_edges, half_edges) = (net["edges"].as_array().unwrap().len(), half["edges"].as_array().unwrap().len());
    assert!(half_edges > 0 && half_edges < whole_edges, "{half_edges} of {whole_edges}");
    assert!(
        half["nodes"].as_array().unwrap().iter().all(|n| n[1].as_f64().unwrap() >= mid - 0.05),
        "a kept segment ends within 5 km of the view"
    );
    // The audit log: the phone's download, the captain's export, never an answer.
    let coord = Browser::new(&s, "coordinatrice").await;
    let (st, log) = coord.get("/api/v1/audit?limit=1000").await;
    assert_eq!(st, StatusCode::OK, "{log}");
    let has = |action: &str, actor: &str| {
        log.as_array().unwrap().iter().any(|e| e["action"] == action && e["actor"] == actor)
    };
    assert!(
        has("turf.download", &vol) && has("export.results", "capitaine-nord") && has("session.login", "capitaine-nord")
    );
    let download = log.as_array().unwrap().iter().find(|e| e["action"] == "turf.download").unwrap();
    assert_eq!(
        (download["subject"].as_str(), download["device_id"].as_str()),
        (Some(turf.as_str()), Some(store.device_id()))
    );
    let text = log.to_string();
    assert!(
        !text.contains("intent") && !text.contains("consent") && !text.contains("\"oui\""),
        "no survey content: {text}"
    );
    // An invitation from the page: a join code and its QR code.
    let (st, inv) = north.post("/api/v1/invitations", json!({"name": "Léa", "team_id": "nord"})).await;
    assert_eq!(st, StatusCode::CREATED, "{inv}");
    assert!(inv["join_code"].is_string() && inv["qr_svg"].as_str().is_some_and(|q| q.contains("<svg")), "{inv}");
    let (st, b) = north.get("/api/v1/audit").await;
    assert_eq!((st, code(&b)), (StatusCode::FORBIDDEN, "forbidden"), "coordinators only");
    let (st, b) = coord.get("/api/v1/audit?limit=0").await;
    assert_eq!((st, code(&b)), (StatusCode::BAD_REQUEST, "bad_limit"));
    let (_, streets) = north.get("/api/v1/map/streets").await;
    let (_, all_streets) = coord.get("/api/v1/map/streets").await;
    let (n, all) = (streets["edges"].as_array().unwrap().len(), all_streets["edges"].as_array().unwrap().len());
    assert!(n > 100 && n < all, "the captain's streets ({n}) are part of the campaign's ({all})");
}

/// The captain's afternoon in a real browser: sign in, see the streets and doors, move a street
/// to another volunteer; that volunteer's phone syncs and routes the moved doors, knocks one, and
/// the open map updates live. Screenshots land in `tests/out/dashboard/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captain_moves_a_street_in_chromium_and_the_map_follows_the_phone() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    captain_in_browser(
        "dashboard.mjs",
        &["1-map.png", "2-street-moved.png", "2b-selection.png", "3-live-update.png", "4-phone-width.png"],
    )
    .await;
}

/// The same captain's path in Debian's Firefox ESR (puppeteer-core over WebDriver BiDi): sign in,
/// the map, a street and two ticked addresses moved, the phone's knock arriving live, English,
/// phone width.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captain_moves_a_street_in_firefox_and_the_map_follows_the_phone() {
    assert!(
        std::path::Path::new("/usr/bin/firefox-esr").exists(),
        "Debian's Firefox ESR is missing: apt-get install firefox-esr"
    );
    captain_in_browser("firefox.mjs", &["ff-1-map.png", "ff-2-moved.png", "ff-3-phone-width.png"]).await;
}

/// Runs a browser script (tests/browser) as the north captain on the demo campaign and plays
/// Bénévole 1's phone: the script moves a street and a selection of addresses to Bénévole 1, the
/// phone syncs and finds them in its route, knocks one of them, and the script sees it live.
async fn captain_in_browser(script: &str, screenshots: &[&str]) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let _one_browser_at_a_time = BROWSER.lock().await;
    let root = doorstep_tests::repo_root();
    let browser_dir = root.join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir()
            && browser_dir.join("node_modules/puppeteer-core").is_dir(),
        "playwright-core or puppeteer-core is missing: run `npm ci --prefix tests/browser` (scripts/test-all.sh does)"
    );
    let s = server().await;
    // Bénévole 1's phone joins before the move: it will receive the street as a delta.
    let dir = tempfile::tempdir().unwrap();
    let (target_vol, target_code, target_turf) = s.seeded.volunteers[1].clone();
    let (phone_store, transport) = phone(&s.base, dir.path(), &target_code).await;
    let before = stops(&phone_store, &target_turf).len();

    let shots = root.join("tests/out/dashboard");
    std::fs::create_dir_all(&shots).unwrap();
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(&browser_dir)
        .env("BASE_URL", &s.base)
        .env("LOGIN", "capitaine-nord")
        .env("PASSWORD", s.password("capitaine-nord"))
        .env("SOURCE_TURF", &s.seeded.volunteers[0].2)
        .env("TARGET_VOLUNTEER", &target_vol)
        .env("SHOTS", &shots)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node not found: install Node.js (Debian: apt-get install nodejs npm)");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut moved_street, mut selected) = (None, Vec::new());
    while let Some(line) = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await.unwrap().unwrap() {
        println!("browser: {line}");
        if let Some(ids) = line.strip_prefix("SELECTED ") {
            selected = ids.split(',').map(str::to_string).collect();
        }
        if let Some(street) = line.strip_prefix("MOVED ") {
            moved_street = Some(street.to_string());
            break;
        }
        assert!(!line.starts_with("FAIL"), "{line}");
    }
    let street = moved_street.expect("the browser script moved a street");

    // The phone syncs: the street is in its turf and in its route.
    sync(&phone_store, &transport, RetryPolicy::default(), &()).await.unwrap().unwrap();
    let route = stops(&phone_store, &target_turf);
    let moved: Vec<_> = route.iter().filter(|st| st.street == street).collect();
    assert!(!moved.is_empty() && route.len() > before, "the moved street {street} is in the volunteer's route");
    // And the addresses selected on the map and in the list, moved together.
    assert!(selected.len() >= 2, "the browser script moved a selection: {selected:?}");
    for id in &selected {
        assert!(route.iter().any(|st| &st.building_id == id), "selected address {id} is in the volunteer's route");
    }
    let door = moved[0].doors[0].id.clone();
    let at = Position { lat: moved[0].lat, lon: moved[0].lon, accuracy_m: Some(5.0) };
    phone_store.record_knock(knock_at(&door, "not_home", vec![], Some(at))).unwrap();
    sync(&phone_store, &transport, RetryPolicy::default(), &()).await.unwrap().unwrap();
    stdin.write_all(format!("SYNCED {}\n", moved[0].building_id).as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
    let mut done = false;
    while let Some(line) = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await.unwrap().unwrap() {
        println!("browser: {line}");
        assert!(!line.starts_with("FAIL"), "{line}");
        if line == "EXPIRE" {
            s.advance(12 * 3_600_000 + 1);
            stdin.write_all(b"EXPIRED\n").await.unwrap();
            stdin.flush().await.unwrap();
        }
        if line == "DONE" {
            done = true;
            break;
        }
    }
    assert!(done, "the browser script finished");
    let status = child.wait().await.unwrap();
    assert!(status.success(), "node exited with {status}");
    for name in screenshots {
        assert!(std::fs::metadata(shots.join(name)).unwrap().len() > 10_000, "{name} saved");
    }
}

/// A street moved from one volunteer to another arrives on the second phone with what the first
/// did on it: a door refused there is not to knock again (its stop is done), a door only tried
/// stays in the route; the receiving phone's own knock on top counts too, and its next pull keeps
/// the others' facts (no report of the first volunteer is sent as theirs, nor any answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_street_moved_to_another_volunteer_arrives_with_what_was_done_on_it() {
    let s = server().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_, code_a, turf_a) = s.seeded.volunteers[0].clone();
    let (vol_b, code_b, turf_b) = s.seeded.volunteers[1].clone();
    let (phone_a, transport_a) = phone(&s.base, dir_a.path(), &code_a).await;
    let (phone_b, transport_b) = phone(&s.base, dir_b.path(), &code_b).await;
    // A street of A's turf with at least two addresses: the first refused at every door, the
    // second only tried (nobody home).
    let route_a = stops(&phone_a, &turf_a);
    let street = route_a
        .iter()
        .map(|st| st.street.clone())
        .find(|name| route_a.iter().filter(|st| &st.street == name).count() >= 2)
        .expect("a street with two addresses");
    let on_street: Vec<_> = route_a.iter().filter(|st| st.street == street).collect();
    let (refused, tried) = (on_street[0], on_street[1]);
    for d in &refused.doors {
        phone_a.record_knock(knock_at(&d.id, "refused", vec![], None)).unwrap();
    }
    phone_a.record_knock(knock_at(&tried.doors[0].id, "not_home", vec![], None)).unwrap();
    sync(&phone_a, &transport_a, RetryPolicy::default(), &()).await.unwrap().unwrap();
    assert_eq!(phone_a.pending_count().unwrap(), 0);

    // The north captain moves the street to B; B syncs.
    let cap = Browser::new(&s, "capitaine-nord").await;
    let (st, b) =
        cap.post("/api/v1/reassign", json!({"turf_id": turf_a, "street": street, "to_volunteer": vol_b})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    sync(&phone_b, &transport_b, RetryPolicy::default(), &()).await.unwrap().unwrap();
    let route_b = stops(&phone_b, &turf_b);
    let got = |id: &str| route_b.iter().find(|st| st.building_id == id).cloned().expect("moved to B's route");
    let (refused_b, tried_b) = (got(&refused.building_id), got(&tried.building_id));
    assert!(refused_b.doors.iter().all(|d| d.status == doorstep_core::DoorStatus::Finished), "{refused_b:?}");
    assert!(refused_b.is_done(), "the refused address is not to knock again");
    assert_eq!(tried_b.doors[0].status, doorstep_core::DoorStatus::Attempted);
    let progress = phone_b.route_progress(&turf_b).unwrap();
    assert!(progress.done.iter().any(|st| st.building_id == refused.building_id));
    assert!(!progress.remaining.iter().any(|st| st.building_id == refused.building_id));
    assert_eq!(phone_b.door_status(&refused.doors[0].id).unwrap(), doorstep_core::DoorStatus::Finished);

    // B talks to someone at the tried door: its own knock counts on top of A's; a second sync keeps
    // A's facts and the server holds each report once.
    let answers = vec![
        Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
        Answer { question_id: "intent".into(), value: AnswerValue::Choice { value: "oui".into() } },
    ];
    let target_door = tried.doors[0].id.clone();
    phone_b.record_knock(knock_at(&target_door, "contact_made", answers, None)).unwrap();
    sync(&phone_b, &transport_b, RetryPolicy::default(), &()).await.unwrap().unwrap();
    assert_eq!(phone_b.door_status(&target_door).unwrap(), doorstep_core::DoorStatus::Contacted);
    assert_eq!(phone_b.door_status(&refused.doors[0].id).unwrap(), doorstep_core::DoorStatus::Finished);
    // B's own outbox holds only B's report: A's facts are status, not reports to send.
    assert_eq!(phone_b.pending_count().unwrap(), 0);
    let (st, reports) = cap.get("/api/v1/export/reports.json").await;
    assert_eq!(st, StatusCode::OK);
    let doors: Vec<String> = refused.doors.iter().chain(&tried.doors).map(|d| format!("\"{}\"", d.id)).collect();
    let on_street: Vec<&Value> = reports
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| doors.iter().any(|d| r.to_string().contains(d.as_str())))
        .collect();
    assert_eq!(on_street.len(), refused.doors.len() + 2, "each report once on the server");
}

/// The polling-station priority choropleth in Chromium, on Lyon's real data: the 1st
/// arrondissement's addresses, the 288 bureau boundaries and the 2012 first-round results with a
/// formula, imported through the API; a coordinator signs in and `tests/browser/stations.mjs` checks
/// the shading, the legend, a bureau's tooltip and the results filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_sees_the_station_choropleth_in_chromium() {
    use doorstep_server::store::{Role, User};
    let _one_browser_at_a_time = BROWSER.lock().await;
    let root = doorstep_tests::repo_root();
    let browser_dir = root.join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: npm ci --prefix tests/browser"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("lyon.db")).unwrap());
    let service = Service::new(store.clone());
    let mut campaign = doorstep_tests::campaign();
    campaign.id = "lyon-2027".into();
    campaign.name = "Lyon 2027".into();
    service.create_campaign(&campaign).await.unwrap();
    let coord = User {
        id: "coord".into(),
        campaign_id: campaign.id.clone(),
        role: Role::Coordinator,
        display_name: "Coordinatrice".into(),
        team_id: None,
    };
    store.create_user(&coord).await.unwrap();
    let token = service.issue_staff_token("coord").await.unwrap();
    let password = "une phrase de passe assez longue".to_string();
    service
        .set_login(
            &doorstep_tests::coordinator(&campaign.id),
            "coord",
            doorstep_server::session::SetLoginRequest { login: "coord-lyon".into(), password: password.clone() },
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = doorstep_server::api::app(service).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let http = http_client();
    let send = |method: reqwest::Method, path: &str, body: Vec<u8>| {
        let kind = if path.ends_with(".csv") { "text/csv" } else { "application/json" };
        http.request(method, format!("{base}{path}")).bearer_auth(&token).header("content-type", kind).body(body).send()
    };
    let text = std::fs::read_to_string(root.join("data/lyon/lyon_addresses_with_bureau_2012.csv")).unwrap();
    let mut csv = String::from("id,street,housenumber,postcode,city,lat,lon,bureau\n");
    for line in text.lines().skip(1).filter(|l| l.split(',').nth(4).is_some_and(|c| c.ends_with("1ER"))) {
        csv.push_str(line);
        csv.push('\n');
    }
    let formula = json!({"favourable": ["hollande", "melenchon", "joly"]}).to_string();
    for (method, path, body) in [
        (reqwest::Method::POST, "/api/v1/import/addresses.csv", csv.into_bytes()),
        (
            reqwest::Method::POST,
            "/api/v1/import/stations.geojson",
            std::fs::read(root.join("data/lyon/lyon_bureaux_2012.geojson")).unwrap(),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/import/results.csv",
            std::fs::read(root.join("data/lyon/lyon_results_presidentielle_2012_t1.csv")).unwrap(),
        ),
        (reqwest::Method::PUT, "/api/v1/targeting", formula.into_bytes()),
    ] {
        let r = send(method, path, body).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}: {}", r.text().await.unwrap());
    }

    let env = [("BASE_URL", base.as_str()), ("LOGIN", "coord-lyon"), ("PASSWORD", &password), ("STATIONS", "288")];
    browser_script("stations.mjs", &env, &["5-choropleth.png"]).await;
}

/// A canvass session on the dashboard (issue 17), played with real phones over loopback: two
/// volunteers sign up from their phones; the captain's own phone gets its grant and, with no
/// network, hands a street of the session's turf to the first; she knocks three doors and syncs;
/// the second never comes; the session ends. `tests/browser/sessions.mjs` reads the sessions tab:
/// 2 signed up, 1 checked in, 1 attended, 3 doors, a no-show rate of 50 %. Screenshot
/// `8-sessions.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_follows_a_sessions_attendance_in_chromium() {
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let http = http_client();
    let (cap_id, cap_token) = s.seeded.captain_tokens[0].clone();
    let turf = s.seeded.volunteers[1].2.clone();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let title = "Samedi matin, marché de Talensac";
    let session = json!({"id": "s-talensac", "campaign_id": "x", "title": title, "start_ms": now - 600_000,
        "end_ms": now + 3 * 3_600_000, "meeting_lat": 47.2225, "meeting_lon": -1.5580,
        "meeting_text": "Devant les halles", "capacity": 8, "captains": [cap_id], "turfs": [turf],
        "team_id": null, "visibility": "campaign"});
    let r = http
        .post(format!("{}/api/v1/sessions", s.base))
        .bearer_auth(&s.seeded.coordinator_token)
        .json(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let joined = |name: &str, code: String| {
        let (base, path) = (s.base.clone(), dir.path().join(format!("{name}.db")));
        async move {
            let store = Store::open(path, None).unwrap();
            let j = doorstep_core::sync::join(&store, &base, &code).await.unwrap();
            let net = HttpTransport::new(&base, Some(j.token)).unwrap();
            sync(&store, &net, RetryPolicy::default(), &()).await.unwrap().unwrap();
            (store, net)
        }
    };
    // Two volunteers sign up from their phones (offline, then sync).
    let (lea, lea_net) = joined("lea", s.seeded.volunteers[2].1.clone()).await;
    let (noe, noe_net) = joined("noe", s.seeded.volunteers[3].1.clone()).await;
    for (p, net) in [(&lea, &lea_net), (&noe, &noe_net)] {
        p.sign_up("s-talensac", doorstep_protocol::SignupKind::SignUp).unwrap();
        sync(p, net, RetryPolicy::default(), &()).await.unwrap().unwrap();
    }
    // The captain's own phone.
    let code: serde_json::Value = http
        .post(format!("{}/api/v1/me/phone", s.base))
        .bearer_auth(&cap_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (cap, cap_net) = joined("captain", code["join_code"].as_str().unwrap().to_string()).await;
    doorstep_core::sync::request_grant(&cap, &cap_net, "s-talensac").await.unwrap().unwrap();
    // No network: a street handed by QR, three doors knocked.
    let street = cap.turf_streets(&turf).unwrap().into_iter().find(|st| st.doors >= 3).unwrap().street;
    let qr = cap.give_handoff("s-talensac", &s.seeded.volunteers[2].0, &turf, Some(street.clone()), 120).unwrap();
    lea.receive_handoff(&qr.qr_text).unwrap();
    let pkg = lea.export_turf(&turf).unwrap();
    let on: Vec<&str> = pkg.buildings.iter().filter(|b| b.street == street).map(|b| b.id.as_str()).collect();
    let doors: Vec<String> =
        pkg.doors.iter().filter(|d| on.contains(&d.building_id.as_str())).take(3).map(|d| d.id.clone()).collect();
    for d in &doors {
        lea.record_knock(knock_at(d, "not_home", vec![], None)).unwrap();
    }
    let r = sync(&lea, &lea_net, RetryPolicy::default(), &()).await.unwrap().unwrap();
    assert_eq!((r.accepted, r.pending_after), (3, 0));
    // The session ends.
    s.advance(4 * 3_600_000);
    let password = s.password("coordinatrice");
    let env = [
        ("BASE_URL", s.base.as_str()),
        ("LOGIN", "coordinatrice"),
        ("PASSWORD", password.as_str()),
        ("SESSION_TITLE", title),
        ("SESSION_DOORS", "3"),
    ];
    browser_script("sessions.mjs", &env, &["8-sessions.png"]).await;
}

/// A session's public sign-up page (issue 17) in Chromium: a supporter without an account reads
/// it, fills it like a person (more than three seconds on the page), ticks the consent box and is
/// thanked; the coordinator then sees the sign-up on the session's card, "without an account".
/// Screenshots `9-public-signup.png`, `10-public-thanks.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supporter_signs_up_on_a_public_page_in_chromium() {
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    let http = http_client();
    let (cap_id, _) = s.seeded.captain_tokens[0].clone();
    let turf = s.seeded.volunteers[1].2.clone();
    // In two days, on the hour.
    let start = (s.clock.load(std::sync::atomic::Ordering::SeqCst) / 3_600_000 + 48) * 3_600_000;
    let title = "Marché de Talensac, ouvert à tous";
    let session = json!({"id": "s-public", "campaign_id": "x", "title": title, "start_ms": start,
        "end_ms": start + 3 * 3_600_000, "meeting_lat": 47.2225, "meeting_lon": -1.5580,
        "meeting_text": "Devant les halles", "capacity": 8, "captains": [cap_id], "turfs": [turf],
        "team_id": null, "visibility": "public"});
    let r = http
        .post(format!("{}/api/v1/sessions", s.base))
        .bearer_auth(&s.seeded.coordinator_token)
        .json(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    // The server's clock runs with real time while the browser fills the form.
    let clock = s.clock.clone();
    let ticking = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            clock.fetch_add(100, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let password = s.password("coordinatrice");
    let env = [
        ("BASE_URL", s.base.as_str()),
        ("LOGIN", "coordinatrice"),
        ("PASSWORD", password.as_str()),
        ("SESSION_ID", "s-public"),
        ("SESSION_TITLE", title),
    ];
    browser_script(
        "public_signup.mjs",
        &env,
        &["9-public-signup.png", "10-public-thanks.png", "12-session-places.png", "13-session-called-off.png"],
    )
    .await;
    ticking.abort();
}

/// Team messages on the dashboard (issue 18) in Chromium: a north volunteer's phone writes in the
/// team's channel with no network and syncs; the north captain sees one unread message, opens the
/// Messages tab, answers and pins the answer; the coordinator's message arrives live on the open
/// page. Then the phone syncs: the captain's answer and the coordinator's message are there, in
/// the server's order, the answer pinned; the phone reads, and the captain's answer says "lu par 1".
/// Screenshot `14-messages.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captain_reads_and_answers_team_messages_in_chromium() {
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("phone.db"), None).unwrap();
    let join = doorstep_core::sync::join(&store, &s.base, &s.seeded.volunteers[0].1).await.unwrap();
    let net = HttpTransport::new(&s.base, Some(join.token)).unwrap();
    sync(&store, &net, RetryPolicy::default(), &()).await.unwrap().unwrap();
    let phone_text = "La rue Bisson est faite, on passe rue Crébillon ?";
    store.post_message("team:nord", phone_text, None).unwrap();
    sync(&store, &net, RetryPolicy::default(), &()).await.unwrap().unwrap();
    let (reply, live) = ("Oui, et attention au chien du 12", "Pot à 13 h au local");
    let password = s.password("capitaine-nord");
    let env = [
        ("BASE_URL", s.base.as_str()),
        ("LOGIN", "capitaine-nord"),
        ("PASSWORD", password.as_str()),
        ("COORD_TOKEN", s.seeded.coordinator_token.as_str()),
        ("PHONE_TEXT", phone_text),
        ("REPLY", reply),
        ("LIVE_TEXT", live),
    ];
    browser_script("messages.mjs", &env, &["14-messages.png"]).await;
    sync(&store, &net, RetryPolicy::default(), &()).await.unwrap().unwrap();
    let thread: Vec<(String, String)> =
        store.thread("team:nord").unwrap().into_iter().map(|m| (m.body, m.state)).collect();
    let want: Vec<(String, String)> =
        [phone_text, reply, live].iter().map(|b| (b.to_string(), "sent".to_string())).collect();
    assert_eq!(thread, want);
    let nord = store.channels().unwrap().into_iter().find(|c| c.id == "team:nord").unwrap();
    assert_eq!((nord.pinned.as_deref(), nord.unread), (Some(reply), 2));
    store.mark_read("team:nord").unwrap();
    sync(&store, &net, RetryPolicy::default(), &()).await.unwrap().unwrap();
    let captain = &s.seeded.captain_tokens[0].1;
    let feed: Value = http_client()
        .post(format!("{}/api/v1/messages/feed", s.base))
        .bearer_auth(captain)
        .json(&json!({"protocol": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nord = feed["channels"].as_array().unwrap().iter().find(|c| c["id"] == "team:nord").unwrap();
    assert_eq!(nord["read_by"], json!([{"seq": 2, "readers": 1}]), "the captain's answer: lu par 1");
}

/// A turf's paper sheet typed in on the dashboard (issue 17) in Chromium: the sheet downloads as
/// a PDF; two rows typed by door code are recorded (and counted), a third with a code of no door
/// of the sheet stays with why. Screenshot `11-paper.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_types_a_paper_sheet_in_chromium() {
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    let http = http_client();
    let turf = s.seeded.volunteers[1].2.clone();
    let doors: Value = http
        .get(format!("{}/api/v1/turfs/{turf}/doors", s.base))
        .bearer_auth(&s.seeded.coordinator_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<String> =
        doors.as_array().unwrap().iter().map(|d| d["door_id"].as_str().unwrap().to_string()).collect();
    assert!(ids.len() > 10);
    let codes = doorstep_protocol::door_code::door_codes(ids.iter().map(String::as_str));
    let turfs: Value = http
        .get(format!("{}/api/v1/turfs", s.base))
        .bearer_auth(&s.seeded.coordinator_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let name = turfs.as_array().unwrap().iter().find(|t| t["id"] == turf.as_str()).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let password = s.password("coordinatrice");
    let env = [
        ("BASE_URL", s.base.as_str()),
        ("LOGIN", "coordinatrice"),
        ("PASSWORD", password.as_str()),
        ("TURF", turf.as_str()),
        ("TURF_NAME", name.as_str()),
        ("CODE_A", codes[&ids[0]].as_str()),
        ("CODE_B", codes[&ids[5]].as_str()),
    ];
    browser_script("paper.mjs", &env, &["11-paper.png"]).await;
}

/// Runs a browser script of `tests/browser` to its `DONE` line (every check prints `ok …` or
/// `FAIL …`), then checks its screenshots were saved in `tests/out/dashboard/`.
async fn browser_script(script: &str, env: &[(&str, &str)], screenshots: &[&str]) {
    let root = doorstep_tests::repo_root();
    let shots = root.join("tests/out/dashboard");
    std::fs::create_dir_all(&shots).unwrap();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(script).current_dir(root.join("tests/browser")).env("SHOTS", &shots).kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the browser script finished within 2 minutes")
        .expect("node not found: install Node.js (Debian: apt-get install nodejs npm)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.lines().last() == Some("DONE"), "{script} failed");
    for name in screenshots {
        assert!(std::fs::metadata(shots.join(name)).unwrap().len() > 10_000, "{name} saved");
    }
}

/// A north volunteer's phone knocks two doors offline and is revoked; it syncs: its two reports are
/// held, not counted. The north captain, in Chromium, accepts one (counted from then on) and
/// discards the other (its note erased). Screenshots `6-held.png`, `7-held-reviewed.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captain_reviews_a_revoked_phones_reports_in_chromium() {
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, code, turf) = s.seeded.volunteers[0].clone();
    let (phone_store, transport) = phone(&s.base, dir.path(), &code).await;
    let doors: Vec<String> = stops(&phone_store, &turf).iter().take(2).map(|st| st.doors[0].id.clone()).collect();
    let mut ids = Vec::new();
    for (door, note) in doors.iter().zip([None, Some("habite au 2e, vote X")]) {
        let mut k = knock_at(door, "not_home", vec![], None);
        k.note = note.map(str::to_string);
        ids.push(phone_store.record_knock(k).unwrap().id);
    }
    let coord = Browser::new(&s, "coordinatrice").await;
    let device = phone_store.device_id().to_string();
    let (st, b) = coord.post(&format!("/api/v1/devices/{device}/revoke"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let done = sync(&phone_store, &transport, RetryPolicy::default(), &()).await.unwrap().unwrap();
    assert!(done.pull.wiped && done.pending_after == 0, "pushed, then wiped: {done:?}");
    let exported = |rows: &Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["report"]["id"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let (_, rows) = coord.get("/api/v1/export/reports.json").await;
    assert!(ids.iter().all(|id| !exported(&rows).contains(id)), "held reports are not counted");

    let (held, password) = (ids.join(","), s.password("capitaine-nord"));
    let env = [("BASE_URL", s.base.as_str()), ("LOGIN", "capitaine-nord"), ("PASSWORD", &password), ("HELD", &held)];
    browser_script("held.mjs", &env, &["6-held.png", "7-held-reviewed.png"]).await;
    let (_, rows) = coord.get("/api/v1/export/reports.json").await;
    assert!(
        exported(&rows).contains(&ids[0]) && !exported(&rows).contains(&ids[1]),
        "accepted counts, discarded does not"
    );
    let body: String = rusqlite::Connection::open(&s.db)
        .unwrap()
        .query_row("SELECT body FROM held_reports WHERE id = ?1", [&ids[1]], |r| r.get(0))
        .unwrap();
    assert!(!body.contains("vote X"), "a discarded report keeps no note: {body}");
}

/// Issue 22: a building whose position cannot be right (a failed geocode at (0, 0)) is named to the
/// coordinator in its turf's view — "1 adresse mal placée" with what is wrong — and the map keeps
/// to the turf. Screenshot `17-misplaced.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_sees_a_misplaced_address_in_chromium() {
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    let turf = s.seeded.volunteers[0].2.clone();
    let (building, address) = {
        let c = rusqlite::Connection::open(&s.db).unwrap();
        let (id, street, number): (String, String, String) = c
            .query_row(
                "SELECT id, street, house_number FROM buildings WHERE turf_id = ?1 ORDER BY id LIMIT 1",
                [&turf],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        c.execute("UPDATE buildings SET lat = 0, lon = 0 WHERE id = ?1", [&id]).unwrap();
        (id, format!("{number} {street}"))
    };
    let password = s.password("coordinatrice");
    let env = [
        ("BASE_URL", s.base.as_str()),
        ("LOGIN", "coordinatrice"),
        ("PASSWORD", &password),
        ("TURF", &turf),
        ("BUILDING", &building),
        ("ADDRESS", &address),
    ];
    browser_script("misplaced.mjs", &env, &["17-misplaced.png"]).await;
}

/// A large campaign's map by part (issue 21): squares far out, the viewport's addresses up close.
/// The page is opened with `?map_full=100`: the seeded campaign's few hundred doors count as large.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_sees_a_large_campaign_by_part_in_chromium() {
    coordinator_script("?map_full=100", "map_viewport.mjs", &["18-map-squares.png", "19-map-viewport.png"]).await;
}

/// The coordinator signed in on the demo campaign, the page opened with `query`, in Chromium.
async fn coordinator_script(query: &str, script: &str, screenshots: &[&str]) {
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    let password = s.password("coordinatrice");
    let url = format!("{}/{query}", s.base);
    let env = [("BASE_URL", url.as_str()), ("LOGIN", "coordinatrice"), ("PASSWORD", &password)];
    browser_script(script, &env, screenshots).await;
}

/// A national campaign's turfs and volunteers one team at a time (issue 21): the page is opened with
/// `?list_max=1`, so that the seeded campaign lists by team as one of more than 2,000 turfs does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_lists_a_large_campaign_by_team_in_chromium() {
    coordinator_script("?list_max=1", "turfs_by_team.mjs", &["20-turfs-by-team.png"]).await;
}

/// Progress listed by team over HTTP (issue 21): a captain asking for another team's list is
/// refused (403), an unknown team is 404, a bad parameter 400, and a coordinator gets one team's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_by_team_is_scoped_over_http() {
    let s = server().await;
    let north = Browser::new(&s, "capitaine-nord").await;
    let (st, body) = north.get("/api/v1/progress?team=sud").await;
    assert_eq!((st, code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    let (st, body) = north.get("/api/v1/progress?team=nulle-part").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    for bad in ["/api/v1/progress?list_max=-1", "/api/v1/progress?bogus=1"] {
        let (st, body) = north.get(bad).await;
        assert_eq!((st, code(&body)), (StatusCode::BAD_REQUEST, "bad_query"), "{bad}: {body}");
    }
    let (st, own) = north.get("/api/v1/progress?team=nord").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(own["listed"], "team");
    assert!(own["turfs"].as_array().unwrap().iter().all(|t| t["team_id"] == "nord"), "{own}");
    let coordinator = Browser::new(&s, "coordinatrice").await;
    let (st, p) = coordinator.get("/api/v1/progress?list_max=0").await;
    assert_eq!((st, p["listed"].as_str()), (StatusCode::OK, Some("by_team")));
    assert_eq!(p["turfs"], json!([]));
    let (_, south) = coordinator.get("/api/v1/progress?team=sud").await;
    let turfs = south["turfs"].as_array().unwrap();
    assert!(!turfs.is_empty() && turfs.iter().all(|t| t["team_id"] == "sud"), "{south}");
}

/// Over the limit: 429 with `Retry-After`, per credential for signed-in callers (another's bucket
/// is untouched) and per address for anonymous ones; health checks are never limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    let limits = doorstep_server::ratelimit::RateLimits {
        token_burst: 5.0,
        token_per_s: 0.2,
        anonymous_burst: 3.0,
        anonymous_per_s: 0.2,
    };
    let s = server_with(limits).await;
    // Signing in is anonymous: two of the three anonymous requests.
    let north = Browser::new(&s, "capitaine-nord").await;
    let south = Browser::new(&s, "capitaine-sud").await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        let r =
            north.http.get(format!("{}/api/v1/progress", s.base)).header("Cookie", &north.cookie).send().await.unwrap();
        codes.push(r.status().as_u16());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=5).contains(&wait), "{wait}");
            assert_eq!(code(&r.json().await.unwrap()), "rate_limited");
        }
    }
    assert_eq!(codes, [200, 200, 200, 200, 200, 429, 429], "five at once, then refused");
    assert_eq!(south.get("/api/v1/progress").await.0, StatusCode::OK, "another credential's bucket");
    let http = http_client();
    let anonymous: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(http.get(format!("{}/", s.base)).send().await.unwrap().status().as_u16());
        }
        v
    };
    assert_eq!(anonymous, [200, 429, 429], "the address had used two of its three on signing in");
    for _ in 0..10 {
        assert_eq!(http.get(format!("{}/healthz", s.base)).send().await.unwrap().status(), StatusCode::OK);
    }
}

/// A phone limited by the server (429) waits at least the `Retry-After` it is given, then its
/// sync goes through with nothing lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_waits_as_long_as_a_busy_server_asks() {
    let limits = doorstep_server::ratelimit::RateLimits {
        token_burst: 2.0,
        token_per_s: 0.25,
        anonymous_burst: 100.0,
        anonymous_per_s: 100.0,
    };
    let s = server_with(limits).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, join_code, turf) = s.seeded.volunteers[2].clone();
    // Joining is anonymous; the first sync (push, pull) uses the token's two requests.
    let (store, transport) = phone(&s.base, dir.path(), &join_code).await;
    let door = stops(&store, &turf)[0].doors[0].id.clone();
    store.record_knock(knock_at(&door, "not_home", vec![], None)).unwrap();
    let policy = RetryPolicy { first_delay: Duration::from_millis(10), ..RetryPolicy::default() };
    let started = std::time::Instant::now();
    let report = sync(&store, &transport, policy, &()).await.unwrap().expect("the sync goes through");
    assert!(report.attempts >= 2, "the first attempt was refused: {report:?}");
    // The server never asks for less than a second; the client's own backoff starts at 10 ms.
    assert!(started.elapsed() >= Duration::from_secs(1), "waited the server's Retry-After, not 10 ms");
    assert_eq!((report.accepted, report.pending_after), (1, 0));
}

/// A plain HTTP client, with the process's rustls provider installed first (the core's transport
/// installs ring; reqwest is built here without a default provider), so that each test works run
/// alone as well as in the whole suite.
fn http_client() -> reqwest::Client {
    doorstep_core::sync::http::HttpTransport::new("http://127.0.0.1:9", None).expect("the core's HTTP client");
    reqwest::Client::new()
}

/// Issue 18 in Chromium: a volunteer's phone sets a photo, a pseudonym and a few words and knocks
/// four doors; the coordinator opens the volunteer's page from the volunteers' tab (photo, words,
/// figures from the reports) and exports the volunteer's data; the audit log says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_opens_a_volunteers_page_in_chromium() {
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("phone.db"), None).unwrap();
    let (vol, code, turf) = s.seeded.volunteers[0].clone();
    let join = doorstep_core::sync::join(&store, &s.base, &code).await.unwrap();
    let net = HttpTransport::new(&s.base, Some(join.token)).unwrap();
    sync(&store, &net, RetryPolicy::default(), &()).await.unwrap().unwrap();
    let bio = "Étudiante, dispo le samedi matin";
    store
        .set_profile(doorstep_protocol::ProfileSettings {
            pseudonym: Some("B. Zéro".into()),
            bio: Some(bio.into()),
            visibility: doorstep_protocol::FieldVisibility::default(),
        })
        .unwrap();
    let route = store.compute_route(&turf, None, None, false).unwrap();
    for door in route.remaining.iter().flat_map(|s| &s.doors).take(4) {
        store
            .record_knock(doorstep_core::KnockInput {
                target: doorstep_protocol::Target::Door { id: door.id.clone() },
                result_code: "not_home".into(),
                answers: vec![],
                note: None,
                safety_flags: vec![],
                position: None,
                follow_up: None,
            })
            .unwrap();
    }
    sync(&store, &net, RetryPolicy::default(), &()).await.unwrap().unwrap();
    // A square photo from a wide picture: the server crops and re-encodes it.
    let mut png = Vec::new();
    image::RgbImage::from_fn(600, 400, |x, y| image::Rgb([(x % 200) as u8 + 40, (y % 120) as u8 + 60, 160]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert!(net.set_photo(png).await.unwrap().has_photo);
    let password = s.password("coordinatrice");
    let env = [
        ("BASE_URL", s.base.as_str()),
        ("LOGIN", "coordinatrice"),
        ("PASSWORD", password.as_str()),
        ("VOLUNTEER_ID", vol.as_str()),
        ("VOLUNTEER_NAME", "Bénévole 0"),
        ("BIO", bio),
        ("DOORS", "4"),
    ];
    browser_script("people.mjs", &env, &["15-volunteer-page.png"]).await;
    let audit: Value = http_client()
        .get(format!("{}/api/v1/audit", s.base))
        .bearer_auth(&s.seeded.coordinator_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exported = audit.as_array().unwrap().iter().filter(|a| a["action"] == "data.export").count();
    assert_eq!(exported, 1, "the coordinator's export is in the audit log");
}

/// A coordinator texts the north team from the dashboard's SMS tab in Chromium (issue 19): the
/// compliance gate's verdict on every recipient before anything goes (two allowed, one refused
/// for want of consent, said in French), the send queued once, a reply in the team inbox marked
/// "to answer", each text's delivery state, the STOP list and the expenses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_texts_a_team_in_chromium() {
    use doorstep_server::store::SmsStore;
    use doorstep_tests::sms_double::SmsDouble as _;
    let _one_browser_at_a_time = BROWSER.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install chromium"
    );
    let s = server().await;
    // Tuesday 8 December 2026, 15:00 in Paris (UTC+1): texts may go.
    let at =
        doorstep_protocol::validate::sms::Day { year: 2026, month: 12, day: 8 }.to_days() * 86_400_000 + 14 * 3_600_000;
    s.clock.store(at, Ordering::SeqCst);
    let coord = s.seeded.coordinator_token.clone();
    let put = |path: &str, body: Value| {
        let (base, coord) = (s.base.clone(), coord.clone());
        let path = path.to_string();
        async move {
            let r = http_client().put(format!("{base}{path}")).bearer_auth(&coord).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.text().await.unwrap());
        }
    };
    put(
        "/api/v1/sms/settings",
        json!({"sender_name": "Équipe Martin",
        "election_days": [{"year": 2027, "month": 3, "day": 14}], "max_segments": 2}),
    )
    .await;
    let centre = doorstep_tests::smpp_double::SmppDouble::start().await;
    put("/api/v1/sms/provider", centre.settings()).await;
    let store = doorstep_server::store::sqlite::SqliteStore::open(&s.db).unwrap();
    let numbers = ["+33611223301", "+33611223302", "+33611223303"];
    for (i, n) in numbers.iter().enumerate() {
        store.set_phone(&s.seeded.volunteers[i].0, Some((*n).into())).await.unwrap();
    }
    let r = http_client()
        .post(format!("{}/api/v1/sms/consents", s.base))
        .bearer_auth(&coord)
        .json(&json!({"purpose": "team_news", "numbers": &numbers[..2],
            "consent_text": "J'accepte de recevoir par SMS les nouvelles de mon équipe."}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // A reply is waiting in the inbox.
    let sender = doorstep_server::sms_dispatch::SmsSender::new(s.service.clone());
    sender.round(10).await.unwrap();
    centre.reply(numbers[0], "Je serai là samedi, avec mon voisin").await;
    for _ in 0..100 {
        if sender.round(10).await.unwrap().replies > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let password = s.password("coordinatrice");
    let env = [("BASE_URL", s.base.as_str()), ("LOGIN", "coordinatrice"), ("PASSWORD", password.as_str())];
    browser_script("sms.mjs", &env, &["16-sms.png"]).await;
    // What the page did, as the server has it: two texts queued once, the reply to answer.
    let outbox = store.sms_outbox("demo-nantes").await.unwrap();
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    let inbox = store.sms_inbox("demo-nantes", 10).await.unwrap();
    assert_eq!(inbox[0].state, "needs_reply", "{inbox:?}");
    // Sent: the page's second look shows their delivery states and the expenses.
    for _ in 0..100 {
        sender.round(10).await.unwrap();
        if centre.taken().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(centre.taken().len(), 2);
}
