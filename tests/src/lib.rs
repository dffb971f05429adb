//! Fixtures built from the real data in `data/`, shared by the end-to-end tests, the crash-loop
//! child, the binding tests (through the `doorstep-fixture` binary) and the benchmarks.

use doorstep_server::store::StoreOps;
use std::path::PathBuf;

pub mod balancer;
pub mod cpu;
pub mod dashboard_reference;
pub mod faultproxy;
pub mod fuzzing;
pub mod ovh_double;
pub mod server_process;
pub mod smpp_double;
pub mod sms_double;
pub mod smtp;

use doorstep_protocol::{
    Building, Campaign, CampaignMode, Door, Entrance, Household, Person, Question, QuestionKind, ShowWhen,
    SurveyScript, TURF_PACKAGE_FORMAT, TurfInfo, TurfPackage, default_result_codes,
};

/// The repository root (this crate sits in `tests/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

#[derive(Debug, Clone)]
pub struct Address {
    pub id: String,
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub city: String,
    pub lat: f64,
    pub lon: f64,
}

/// The Nantes centre addresses, in file order. The file has no quoted fields.
pub fn nantes_addresses() -> Vec<Address> {
    addresses_of("data/nantes/fr_nantes_centre_addresses.csv")
}

/// A small random generator with a fixed seed (xorshift64): each call gives a number below `n`.
/// Tests replay the same history from the same seed.
pub fn random_below(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut s = seed | 1;
    move |n: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % n.max(1)
    }
}

/// An address file of the shared schema (`id,street,housenumber,postcode,city,lat,lon`, no quoted
/// fields), relative to the repository.
pub fn addresses_of(relative: &str) -> Vec<Address> {
    addresses_at(&repo_root().join(relative))
}

/// The addresses of a CSV `id,street,house_number,postcode,city,lat,lon` (one header line).
pub fn addresses_at(path: &std::path::Path) -> Vec<Address> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() != 7 {
                return None;
            }
            Some(Address {
                id: f[0].into(),
                street: f[1].into(),
                house_number: f[2].into(),
                postcode: f[3].into(),
                city: f[4].into(),
                lat: f[5].parse().ok()?,
                lon: f[6].parse().ok()?,
            })
        })
        .collect()
}

/// The `n` addresses nearest to Place Royale, Nantes: a compact turf of real streets.
pub fn nearest_addresses(n: usize) -> Vec<Address> {
    let (lat0, lon0) = (47.2135, -1.5590);
    let mut all = nantes_addresses();
    let d = |a: &Address| (a.lat - lat0).powi(2) + ((a.lon - lon0) * 0.68).powi(2);
    all.sort_by(|a, b| d(a).total_cmp(&d(b)).then(a.id.cmp(&b.id)));
    all.truncate(n);
    all
}

/// A survey script with every question kind, skip logic and a consent question.
pub fn survey_script() -> SurveyScript {
    let q = |id: &str, fr: &str, en: &str, kind, required, personal, show_when| Question {
        id: id.into(),
        text_fr: fr.into(),
        text_en: en.into(),
        kind,
        required,
        personal,
        show_when,
    };
    SurveyScript {
        version: 1,
        consent_question_id: Some("consent".into()),
        questions: vec![
            q(
                "consent",
                "Acceptez-vous de répondre à quelques questions ?",
                "Do you agree to answer a few questions?",
                QuestionKind::YesNo,
                true,
                false,
                None,
            ),
            q(
                "intent",
                "Irez-vous voter au premier tour ?",
                "Will you vote in the first round?",
                QuestionKind::SingleChoice { choices: vec!["oui".into(), "non".into(), "ne sait pas".into()] },
                true,
                true,
                None,
            ),
            q(
                "why_not",
                "Pourquoi ?",
                "Why not?",
                QuestionKind::FreeText,
                false,
                true,
                Some(ShowWhen { question_id: "intent".into(), any_of: vec!["non".into(), "ne sait pas".into()] }),
            ),
            q(
                "topics",
                "Quels sujets comptent pour vous ?",
                "Which issues matter to you?",
                QuestionKind::MultipleChoice {
                    choices: vec!["logement".into(), "transports".into(), "sécurité".into(), "écologie".into()],
                },
                false,
                true,
                None,
            ),
            q(
                "support",
                "Soutien au projet (1 à 5)",
                "Support for the programme (1–5)",
                QuestionKind::Scale,
                false,
                true,
                None,
            ),
        ],
    }
}

pub fn campaign() -> Campaign {
    Campaign {
        id: "nantes-2026".into(),
        name: "Municipales Nantes 2026".into(),
        mode: CampaignMode::AddressOnly,
        result_codes: default_result_codes(),
        survey: survey_script(),
        retention_until_ms: None,
    }
}

/// A turf package of the `n` addresses nearest Place Royale. Every address is a building with one
/// door; every 10th building also gets a synthetic staircase ("Bât. A (fictif)") with floors 0–3
/// and two doors per floor, because the open data has no units.
pub fn turf_package(turf_id: &str, n: usize) -> TurfPackage {
    turf_package_of(turf_id, &nearest_addresses(n))
}

pub fn turf_package_of(turf_id: &str, addresses: &[Address]) -> TurfPackage {
    let mut buildings = Vec::new();
    let mut entrances = Vec::new();
    let mut doors = Vec::new();
    for (i, a) in addresses.iter().enumerate() {
        buildings.push(Building {
            id: a.id.clone(),
            street: a.street.clone(),
            house_number: a.house_number.clone(),
            postcode: a.postcode.clone(),
            city: a.city.clone(),
            polling_station: None,
            lat: a.lat,
            lon: a.lon,
        });
        if i % 10 == 9 {
            let e = format!("{}-batA", a.id);
            entrances.push(Entrance {
                id: e.clone(),
                building_id: a.id.clone(),
                label: "Bât. A (fictif)".into(),
                digicode: Some("1234A".into()),
                interphone: None,
                caretaker: Some("Loge au rez-de-chaussée".into()),
                notes: None,
            });
            for floor in (0..4).rev() {
                for unit in ["droite", "gauche"] {
                    doors.push(Door {
                        id: format!("{}-{floor}-{unit}", a.id),
                        building_id: a.id.clone(),
                        entrance_id: Some(e.clone()),
                        floor: Some(floor),
                        label: format!("{floor}e {unit}"),
                        safety_flags: vec![],
                    });
                }
            }
        } else {
            doors.push(Door {
                id: format!("{}-door", a.id),
                building_id: a.id.clone(),
                entrance_id: None,
                floor: None,
                label: String::new(),
                safety_flags: vec![],
            });
        }
    }
    TurfPackage {
        format: TURF_PACKAGE_FORMAT,
        campaign: campaign(),
        turf: TurfInfo {
            id: turf_id.into(),
            name: format!("Nantes centre – {turf_id}"),
            version: 1,
            volunteer_id: "vol-1".into(),
            lease_expires_ms: None,
        },
        buildings,
        entrances,
        doors,
        households: vec![],
        people: vec![],
        street_network: None,
    }
}

/// The same package for a campaign with a voter file: each door holds one household of one to
/// three people with fictional names (the open data names nobody).
pub fn with_voters(mut p: TurfPackage) -> TurfPackage {
    const NAMES: [&str; 6] = ["Alice M.", "Bruno L.", "Chloé D.", "Didier R.", "Emma P.", "Farid B."];
    p.campaign.mode = CampaignMode::VoterFile;
    for (i, door) in p.doors.iter().enumerate() {
        let h = format!("{}-foyer", door.id);
        p.households.push(Household { id: h.clone(), door_id: door.id.clone() });
        for k in 0..=(i % 3) {
            p.people.push(Person {
                id: format!("{}-p{k}", door.id),
                household_id: h.clone(),
                display_name: format!("{} (fictif)", NAMES[(i + k) % NAMES.len()]),
                birth_year: Some(1950 + ((i * 7 + k * 13) % 55) as i32),
            });
        }
    }
    p
}

/// Server-side fixture: the campaign and the buildings/entrances/doors of the `n` addresses
/// nearest Place Royale, as a coordinator would import them.
pub fn server_import(n: usize) -> (Campaign, Vec<Building>, Vec<Entrance>, Vec<Door>) {
    let p = turf_package("import", n);
    (p.campaign, p.buildings, p.entrances, p.doors)
}

/// The `n` addresses nearest Place Royale as route points.
pub fn nearest_route_points(n: usize) -> Vec<doorstep_core::route::RoutePoint> {
    nearest_addresses(n)
        .iter()
        .map(|a| doorstep_core::route::RoutePoint {
            street: a.street.clone(),
            house_number: a.house_number.clone(),
            lat: a.lat,
            lon: a.lon,
        })
        .collect()
}

/// A door-level "not home" report numbered `n` (its id and HLC derive from `n`).
pub fn report(
    n: u32,
    campaign: &str,
    turf: &str,
    door: &str,
    volunteer: &str,
    device: &str,
) -> doorstep_protocol::KnockReport {
    doorstep_protocol::KnockReport {
        id: format!("0190a0b0-0000-7000-8000-{n:012}"),
        campaign_id: campaign.into(),
        turf_id: turf.into(),
        target: doorstep_protocol::Target::Door { id: door.into() },
        result_code: "not_home".into(),
        answers: vec![],
        note: None,
        safety_flags: vec![],
        supersedes: None,
        survey_version: 1,
        device_time_ms: 0,
        hlc: doorstep_protocol::Hlc { millis: 1_780_000_000_000 + i64::from(n), counter: 0 },
        monotonic_ms: 0,
        position: None,
        plausibility: vec![],
        volunteer_id: volunteer.into(),
        device_id: device.into(),
        follow_up: None,
    }
}

/// An import of these rows (no voter file).
pub fn import_of(buildings: &[Building], entrances: &[Entrance], doors: &[Door]) -> doorstep_server::store::Import {
    doorstep_server::store::Import {
        buildings: buildings.to_vec(),
        entrances: entrances.to_vec(),
        doors: doors.to_vec(),
        ..Default::default()
    }
}

/// A PostgreSQL database made for one test and dropped afterwards. `DATABASE_URL` names the
/// server (default `postgres://postgres@127.0.0.1:5432/postgres`). No PostgreSQL is a failure,
/// not a skip.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin_url =
            std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required for these tests and is not reachable at {admin_url}: {e}. Start it (see .ci/run) or set DATABASE_URL.")
        });
        tokio::spawn(conn);
        let name = format!("doorstep_test_{}_{}", std::process::id(), uuid_suffix());
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("DATABASE_URL must end with /<database>"),
        };
        Self { url, admin_url, name }
    }

    pub async fn drop_now(self) {
        let (client, conn) = tokio_postgres::connect(&self.admin_url, tokio_postgres::NoTls).await.expect("reconnect");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .await
            .expect("drop test database");
    }
}

fn uuid_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    format!("{:x}{}", t & 0xffff_ffff, N.fetch_add(1, Ordering::Relaxed))
}

/// A coordinator of `campaign` (user id `coord`) as the staff API sees them; create the user with
/// `store.create_user(&staff.user)` before use.
pub fn coordinator(campaign: &str) -> doorstep_server::admin::Staff {
    doorstep_server::admin::Staff {
        user: doorstep_server::store::User {
            id: "coord".into(),
            campaign_id: campaign.into(),
            role: doorstep_server::store::Role::Coordinator,
            display_name: "Coordinatrice".into(),
            team_id: None,
        },
        teams: None,
    }
}

/// One phone of a load run: turf `t{i:04}` of `buildings` made and assigned to a new volunteer
/// `vol-{i:04}`, whose phone (a store at `dir/phone-{i}.db`) joins the server at `base`. Returns
/// the phone's store, its transport and its turf id.
pub async fn load_phone(
    service: &doorstep_server::service::Service,
    store: &std::sync::Arc<dyn doorstep_server::store::ServerStore>,
    campaign_id: &str,
    i: usize,
    buildings: &[String],
    base: &str,
    dir: &std::path::Path,
) -> (doorstep_core::Store, doorstep_core::sync::http::HttpTransport, String) {
    use doorstep_core::sync::http::HttpTransport;
    let turf = format!("t{i:04}");
    store.create_turf(campaign_id, &turf, &turf, None, buildings).await.unwrap();
    let vol = format!("vol-{i:04}");
    let code = service.invite_volunteer(campaign_id, &vol, &vol).await.unwrap();
    store.assign_turf(&turf, Some(&vol), None).await.unwrap();
    let st = doorstep_core::Store::open(dir.join(format!("phone-{i}.db")), None).unwrap();
    let join = doorstep_protocol::JoinRequest {
        protocol: doorstep_protocol::PROTOCOL_VERSION,
        code,
        device_id: st.device_id().to_string(),
    };
    let joined = HttpTransport::new(base, None).unwrap().join(&join).await.unwrap();
    (st, HttpTransport::new(base, Some(joined.token)).unwrap(), turf)
}

/// One HTTP request to the router, in-process: its status and body.
pub async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (axum::http::StatusCode, Vec<u8>) {
    use axum::http::{Request, header};
    use tower::ServiceExt;
    let mut req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = app.clone().oneshot(req.body(axum::body::Body::from(body)).unwrap()).await.unwrap();
    let status = resp.status();
    (status, axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec())
}

/// The `code` of an API error body (empty when the body is not one).
pub fn code_of(b: &[u8]) -> String {
    serde_json::from_slice::<doorstep_protocol::ApiError>(b).map(|e| e.code).unwrap_or_default()
}

/// What a push decided for one report, as the storage conformance cases compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    Accepted {
        overlap: bool,
    },
    Held,
    Duplicate,
    /// Rejected, with the rule book's code (`unknown_target`, `out_of_scope`, `id_conflict`…).
    Rejected(&'static str),
}

#[allow(non_upper_case_globals)]
impl Ingested {
    pub const UnknownTarget: Ingested = Ingested::Rejected("unknown_target");
    pub const OutOfScope: Ingested = Ingested::Rejected("out_of_scope");
}

/// A push straight on a store, as the service makes it (the campaign's scripts, the protocol's
/// plan, an audit line), for the conformance cases.
pub async fn ingest(
    s: &dyn doorstep_server::store::ServerStore,
    device: &doorstep_server::store::Device,
    reports: &[doorstep_protocol::KnockReport],
    now: i64,
) -> doorstep_server::store::StoreResult<Vec<Ingested>> {
    Ok(push_decisions(s, device, reports, now).await?.iter().map(ingested).collect())
}

/// The decisions themselves (what was written, too).
pub async fn push_decisions(
    s: &dyn doorstep_server::store::ServerStore,
    device: &doorstep_server::store::Device,
    reports: &[doorstep_protocol::KnockReport],
    now: i64,
) -> doorstep_server::store::StoreResult<Vec<doorstep_protocol::merge::Decision>> {
    let input = push_input(s, device, reports, now).await?;
    s.push(input, reports).await
}

/// What the service hands the store for this push.
pub async fn push_input(
    s: &dyn doorstep_server::store::ServerStore,
    device: &doorstep_server::store::Device,
    reports: &[doorstep_protocol::KnockReport],
    now: i64,
) -> doorstep_server::store::StoreResult<doorstep_server::store::PushInput> {
    let campaign = s.campaign(&device.campaign_id).await?.expect("campaign");
    let mut campaigns = std::collections::HashMap::new();
    for r in reports {
        if let Some((survey, result_codes)) = s.script(&campaign.id, r.survey_version).await? {
            campaigns
                .insert(r.survey_version, doorstep_protocol::Campaign { survey, result_codes, ..campaign.clone() });
        }
    }
    let sender = doorstep_protocol::merge::Sender {
        device_id: device.device_id.clone(),
        user_id: device.user_id.clone(),
        campaign_id: device.campaign_id.clone(),
        revoked: device.revoked_ms.is_some(),
    };
    let (cid, uid, did) = (campaign.id.clone(), device.user_id.clone(), device.device_id.clone());
    Ok(doorstep_server::store::PushInput {
        sender,
        received_ms: now,
        campaigns,
        retention_until_ms: campaign.retention_until_ms,
        plan: doorstep_protocol::merge::plan,
        typed_for: Default::default(),
        audit: Box::new(move |d| doorstep_server::store::AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            at_ms: now,
            campaign_id: cid.clone(),
            actor: uid.clone(),
            device_id: Some(did.clone()),
            action: "sync.push".into(),
            subject: None,
            detail: serde_json::json!({ "reports": d.len() }),
        }),
    })
}

fn ingested(d: &doorstep_protocol::merge::Decision) -> Ingested {
    use doorstep_protocol::merge::Decision;
    match d {
        Decision::Accept(w) => Ingested::Accepted { overlap: w.overlap },
        Decision::Hold(..) => Ingested::Held,
        Decision::Duplicate => Ingested::Duplicate,
        Decision::Reject(e) => Ingested::Rejected(e.code()),
    }
}

/// The demo campaign (real Nantes addresses and streets) on a fresh SQLite file, served over real
/// HTTP on loopback, with a clock the test moves.
pub struct DemoServer {
    pub base: String,
    pub seeded: doorstep_server::demo::Seeded,
    pub clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
    pub db: std::path::PathBuf,
    pub dir: tempfile::TempDir,
    /// The server's service (its clock, its key for providers' secrets), to run background work
    /// such as the SMS sender beside the HTTP server.
    pub service: doorstep_server::service::Service,
}

pub async fn demo_server(limits: doorstep_server::ratelimit::RateLimits) -> DemoServer {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let store: Arc<dyn doorstep_server::store::ServerStore> =
        Arc::new(doorstep_server::store::sqlite::SqliteStore::open(&db).unwrap());
    let mut service = doorstep_server::service::Service::new(store.clone());
    let clock = Arc::new(AtomicI64::new(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64,
    ));
    let c = clock.clone();
    service.now = Arc::new(move || c.load(Ordering::SeqCst));
    service.rate_limits = limits;
    let seeded = doorstep_server::demo::seed(&service, &store).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    service.public_url = Some(base.clone());
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).unwrap();
    service.sms_keys = Some(Arc::new(doorstep_server::sms_credentials::Sealer::from_key(key)));
    let app = doorstep_server::api::app(service.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // The core's transport installs the process's rustls provider (ring), which reqwest needs.
    doorstep_core::sync::http::HttpTransport::new(&base, None).unwrap();
    DemoServer { base, seeded, clock, db, dir, service }
}

/// A plain knock on a door, as a phone records it: a result code and nothing else.
pub fn knock_on(door: impl Into<String>, result_code: &str) -> doorstep_core::KnockInput {
    doorstep_core::KnockInput {
        target: doorstep_protocol::Target::Door { id: door.into() },
        result_code: result_code.into(),
        answers: vec![],
        note: None,
        safety_flags: vec![],
        position: None,
        follow_up: None,
    }
}
