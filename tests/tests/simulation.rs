//! Deterministic simulation of the sync protocol: several phones (real core stores on real files)
//! and the server (the real router on a real SQLite file, called in process), with one seeded
//! generator deciding everything: which phone acts, knocks, syncs, crash-restarts, clocks set a
//! year off or jumping, partitions, a captain moving streets between phones' turfs, volunteers
//! signing up for, confirming and cancelling a canvass session of three places from their phones'
//! outboxes (issue 17: four phones race for them), a captain's phone handing streets of a second
//! session's turf to volunteers' phones by QR with no network (genuine codes carried phone to
//! phone and scanned late or never, codes for nobody in the campaign, forged codes scanned and
//! pushed by an attacker, leases expiring as time passes, volunteers checked in by the captain's
//! code) while the coordinator may take the captain off that session, take its turf off or call it
//! off mid-run (the captain's later hand-offs refused by the server, what was knocked under them
//! held for review), volunteers and the captain writing team messages and marking them read from
//! their outboxes (issue 18: in their team's channel and the session's), and on every
//! message whether it is dropped, its answer lost after the server committed, delivered twice, or
//! held back and delivered later out of order. Time is tokio's paused clock, so retries cost
//! nothing and nothing depends on the machine's speed.
//!
//! After the faults heal, each phone syncs until quiet. Then: every knock a phone recorded is on
//! the server exactly once, and nothing else from that phone; each phone holds exactly the
//! buildings the server assigns it; door statuses agree with the server's on every door a phone
//! holds (streets moved to it from other phones included); each phone's
//! hybrid logical clock only moved forward whatever its wall clock did; each phone's standing with
//! the session is the server's, no sign-up event is recorded twice, and the session never holds
//! more than its places; every hand-off on a phone stands as the server decided it (accepted, or
//! refused and so shown), none pending, nothing forged recorded, no hand-off on the server that no
//! phone made; each phone holds, open or sealed, exactly the turfs the server gives it, each with
//! the server's buildings; every knock made under a refused lease is held on the server, none
//! lost; every message written is on the server exactly once or shown refused on its phone, each
//! channel's places run 1, 2, 3… with no gap, every phone shows every channel it holds exactly as
//! the server orders it, and each read marker is the phone's own. A run's trace (no random
//! ids in it) is the same every time for a seed: the test runs its first seed twice to prove it.
//!
//! A failing seed prints its replay command, `DOORSTEP_SIM_SEED=<seed> cargo test -p
//! doorstep-tests --test simulation -- --nocapture`, and joins `REGRESSION_SEEDS` once fixed.
//! Long form: `DOORSTEP_SIM_SEEDS=300 DOORSTEP_SIM_STEPS=600 cargo test --release -p doorstep-tests --test simulation`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use doorstep_core::OpenOptions;
use doorstep_core::Store;
use doorstep_core::sync::{RetryPolicy, Transport, TransportError, sync};
use doorstep_core::{Clock, ManualClock};
use doorstep_protocol::{PullRequest, PullResponse, PushRequest, PushResponse};
use doorstep_server::people::InviteRequest;
use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore};

/// Seeds that once failed and a few more, run in CI: 2, 4 and 6 found a knocked door shown
/// untouched after a session's turf left the phone (its knocks purged while their street lived on
/// in a lease's turf); 7 a knock held for review counted on its phone; 13 holds five knocks made
/// under refused leases; 16 a phone that went quiet before another phone's message arrived (the
/// sync now says how many messages it brought, and quiet means none).
const REGRESSION_SEEDS: &[u64] = &[1, 2, 3, 4, 6, 7, 13, 16];
const PER_TURF: usize = 12;
const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
/// The simulated session: five years after the phones' clocks start (so that a clock set a year
/// ahead now and then still sees it coming), three places.
const SESSION_START_MS: i64 = 1_780_000_000_000 + 5 * YEAR_MS;
const SESSION_PLACES: u32 = 3;
/// When the simulated world starts (the server's clock and every phone's).
const T0: i64 = 1_780_000_000_000;
/// The session whose turf the captain's phone hands out, on now: started half an hour before the
/// run, over eight hours later.
const HAND_START_MS: i64 = T0 - 1_800_000;
const HAND_END_MS: i64 = T0 + 8 * 3_600_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// A message held back: the token, the method, the path and the body.
type Held = (String, &'static str, &'static str, Vec<u8>);

/// What every phone's network shares: the generator, the server, messages held back.
struct Net {
    rng: Mutex<Rng>,
    app: axum::Router,
    healthy: Mutex<bool>,
    partitioned: Mutex<BTreeSet<usize>>,
    held: Mutex<Vec<Held>>,
    trace: Mutex<Vec<String>>,
    faults: Mutex<BTreeMap<&'static str, u64>>,
}

impl Net {
    fn note(&self, line: String) {
        if std::env::var_os("DOORSTEP_SIM_VERBOSE").is_some() {
            eprintln!("{line}");
        }
        self.trace.lock().unwrap().push(line);
    }
    fn fault(&self, kind: &'static str) {
        *self.faults.lock().unwrap().entry(kind).or_default() += 1;
    }
}

struct SimTransport {
    device: usize,
    token: String,
    net: Arc<Net>,
}

impl SimTransport {
    async fn deliver(
        &self,
        method: &'static str,
        path: &'static str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        let (status, answer) = doorstep_tests::call(&self.net.app, method, path, Some(&self.token), body).await;
        if status.is_success() {
            Ok(answer)
        } else if status.is_server_error() {
            Err(TransportError::Unavailable(format!("{status}")))
        } else {
            Err(TransportError::Refused(format!("{status}: {}", String::from_utf8_lossy(&answer))))
        }
    }

    /// One request through the simulated network.
    async fn send(&self, method: &'static str, path: &'static str, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let healthy = *self.net.healthy.lock().unwrap();
        if !healthy && self.net.partitioned.lock().unwrap().contains(&self.device) {
            self.net.fault("partitioned");
            return Err(TransportError::Unavailable("partitioned".into()));
        }
        // Now and then a message held back earlier arrives first (reordered, and stale).
        let late = {
            let mut held = self.net.held.lock().unwrap();
            let mut rng = self.net.rng.lock().unwrap();
            if !held.is_empty() && (healthy || rng.chance(0.3)) {
                let i = rng.below(held.len());
                Some(held.remove(i))
            } else {
                None
            }
        };
        if let Some((token, m, p, b)) = late {
            self.net.fault("reordered");
            let _ = doorstep_tests::call(&self.net.app, m, p, Some(&token), b).await;
        }
        let roll = if healthy { 1.0 } else { (self.net.rng.lock().unwrap().next() % 1000) as f64 / 1000.0 };
        if roll < 0.10 {
            self.net.fault("dropped");
            Err(TransportError::Unavailable("dropped".into()))
        } else if roll < 0.20 {
            self.net.fault("answer lost");
            self.deliver(method, path, body).await?;
            Err(TransportError::Unavailable("answer lost".into()))
        } else if roll < 0.27 {
            self.net.fault("duplicated");
            let _ = self.deliver(method, path, body.clone()).await;
            self.deliver(method, path, body).await
        } else if roll < 0.33 {
            self.net.fault("held");
            self.net.held.lock().unwrap().push((self.token.clone(), method, path, body));
            Err(TransportError::Unavailable("held".into()))
        } else {
            self.deliver(method, path, body).await
        }
    }
}

impl Transport for SimTransport {
    async fn push(&self, r: &PushRequest) -> Result<PushResponse, TransportError> {
        let b = self.send("POST", "/api/v1/sync/push", serde_json::to_vec(r).unwrap()).await?;
        serde_json::from_slice(&b).map_err(|e| TransportError::Unavailable(e.to_string()))
    }
    async fn pull(&self, r: &PullRequest) -> Result<PullResponse, TransportError> {
        let b = self.send("POST", "/api/v1/sync/pull", serde_json::to_vec(r).unwrap()).await?;
        serde_json::from_slice(&b).map_err(|e| TransportError::Unavailable(e.to_string()))
    }
    async fn push_signups(&self, r: &doorstep_protocol::SignupPush) -> Result<PushResponse, TransportError> {
        let b = self.send("POST", "/api/v1/sync/signups", serde_json::to_vec(r).unwrap()).await?;
        serde_json::from_slice(&b).map_err(|e| TransportError::Unavailable(e.to_string()))
    }
    async fn sessions(&self) -> Result<Option<Vec<doorstep_core::store::sessions::ListedSession>>, TransportError> {
        let b = self.send("GET", "/api/v1/sync/sessions", Vec::new()).await?;
        serde_json::from_slice(&b).map(Some).map_err(|e| TransportError::Unavailable(e.to_string()))
    }
    async fn push_handoffs(&self, r: &doorstep_protocol::HandoffPush) -> Result<PushResponse, TransportError> {
        let b = self.send("POST", "/api/v1/sync/handoffs", serde_json::to_vec(r).unwrap()).await?;
        serde_json::from_slice(&b).map_err(|e| TransportError::Unavailable(e.to_string()))
    }
    async fn push_messages(&self, r: &doorstep_protocol::MessagePush) -> Result<PushResponse, TransportError> {
        let b = self.send("POST", "/api/v1/sync/messages", serde_json::to_vec(r).unwrap()).await?;
        serde_json::from_slice(&b).map_err(|e| TransportError::Unavailable(e.to_string()))
    }
    async fn message_feed(
        &self,
        r: &doorstep_protocol::MessageSince,
    ) -> Result<Option<doorstep_protocol::MessageFeed>, TransportError> {
        let b = self.send("POST", "/api/v1/sync/feed", serde_json::to_vec(r).unwrap()).await?;
        serde_json::from_slice(&b).map(Some).map_err(|e| TransportError::Unavailable(e.to_string()))
    }
    async fn campaign_key(&self) -> Result<Option<String>, TransportError> {
        let b = self.send("GET", "/api/v1/sync/keys", Vec::new()).await?;
        let keys: serde_json::Value =
            serde_json::from_slice(&b).map_err(|e| TransportError::Unavailable(e.to_string()))?;
        Ok(keys["campaign_key"].as_str().map(str::to_string))
    }
}

struct Phone {
    store: Option<Store>,
    path: std::path::PathBuf,
    clock: Arc<ManualClock>,
    transport: SimTransport,
    /// Whose phone: `v<i>`, or the captain's (`cap`).
    user: String,
    /// The turf assigned to its volunteer (the captain has none).
    turf: Option<String>,
    recorded: Vec<String>,
    /// Messages written on this phone.
    posted: Vec<String>,
}

/// A hand-off code on its way from the captain's phone to a volunteer's (shown, then scanned at
/// some later step, or never): the phone it is shown to, the text, whether it was tampered with.
struct Courier {
    to: usize,
    qr: String,
    forged: bool,
}

impl Phone {
    fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }
    fn reopen(&mut self) {
        self.store = None;
        let opts = OpenOptions { clock: self.clock.clone(), ..OpenOptions::default() };
        self.store = Some(Store::open_with(&self.path, opts).unwrap());
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        first_delay: std::time::Duration::from_millis(100),
        max_delay: std::time::Duration::from_secs(2),
        max_attempts: 3,
    }
}

/// Runs one seed; returns its trace. Panics, naming the seed, when an invariant breaks.
async fn simulate(seed: u64, devices: usize, steps: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    let mut service = Service::new(store.clone());
    // The server's clock is the simulated world's (the phones' wall clocks stray from it).
    let server_now = Arc::new(AtomicI64::new(T0));
    let clock_read = server_now.clone();
    service.now = Arc::new(move || clock_read.load(Ordering::SeqCst));
    service.rate_limits = doorstep_server::ratelimit::RateLimits {
        token_burst: 1e12,
        token_per_s: 1e12,
        anonymous_burst: 1e12,
        anonymous_per_s: 1e12,
    };
    // One turf per volunteer's phone, and one more for the session the captain hands out.
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import((devices + 1) * PER_TURF);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let co = doorstep_tests::coordinator(&campaign.id);
    store.create_user(&co.user).await.unwrap();
    let staff_token = service.issue_staff_token("coord").await.unwrap();
    let street_of: HashMap<String, String> = buildings.iter().map(|b| (b.id.clone(), b.street.clone())).collect();
    let door_street: HashMap<String, String> =
        doors.iter().map(|d| (d.id.clone(), street_of[&d.building_id].clone())).collect();
    let app = doorstep_server::api::app(service.clone());
    let net = Arc::new(Net {
        rng: Mutex::new(Rng(seed)),
        app: app.clone(),
        healthy: Mutex::new(false),
        partitioned: Mutex::new(BTreeSet::new()),
        held: Mutex::new(Vec::new()),
        trace: Mutex::new(Vec::new()),
        faults: Mutex::new(BTreeMap::new()),
    });
    // A canvass session of three places, for the four phones to race for (issue 17).
    store
        .create_user(&doorstep_server::store::User {
            id: "cap".into(),
            campaign_id: campaign.id.clone(),
            role: Role::Captain,
            display_name: "Capitaine".into(),
            team_id: None,
        })
        .await
        .unwrap();
    let session = doorstep_protocol::Session {
        id: "s-sim".into(),
        campaign_id: campaign.id.clone(),
        title: "Samedi matin".into(),
        start_ms: SESSION_START_MS,
        end_ms: SESSION_START_MS + 3 * 3_600_000,
        meeting_lat: buildings[0].lat,
        meeting_lon: buildings[0].lon,
        meeting_text: "Devant le marché".into(),
        capacity: SESSION_PLACES,
        captains: vec!["cap".into()],
        turfs: vec![],
        team_id: None,
        visibility: doorstep_protocol::Visibility::Campaign,
        cancelled: false,
    };
    service.create_session(&co, session).await.unwrap();
    // The session on now whose turf "h" the captain's phone hands out with no network; a second
    // captain, for when the coordinator takes the first off.
    let hand_ids: Vec<String> = buildings[devices * PER_TURF..].iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "h", "Quartier de la séance", None, &hand_ids).await.unwrap();
    let cap_user = doorstep_server::store::User {
        id: "cap".into(),
        campaign_id: campaign.id.clone(),
        role: Role::Captain,
        display_name: "Capitaine".into(),
        team_id: None,
    };
    store
        .create_user(&doorstep_server::store::User {
            id: "cap2".into(),
            display_name: "Relève".into(),
            ..cap_user.clone()
        })
        .await
        .unwrap();
    let hand = doorstep_protocol::Session {
        id: "s-hand".into(),
        title: "Porte-à-porte en cours".into(),
        start_ms: HAND_START_MS,
        end_ms: HAND_END_MS,
        capacity: 12,
        turfs: vec!["h".into()],
        ..session_template(&campaign.id, buildings[0].lat, buildings[0].lon)
    };
    service.create_session(&co, hand).await.unwrap();
    // One team of the four volunteers, led by the captain: its channel carries team messages.
    let team = doorstep_server::people::TeamRequest {
        id: "sim".into(),
        name: "Équipe sim".into(),
        captains: vec!["cap".into()],
    };
    service.create_team(&co, team).await.unwrap();
    let mut phones = Vec::new();
    for i in 0..devices {
        let turf = format!("s{i:02}");
        let ids: Vec<String> = buildings[i * PER_TURF..(i + 1) * PER_TURF].iter().map(|b| b.id.clone()).collect();
        store.create_turf(&campaign.id, &turf, &format!("Tournée {i}"), None, &ids).await.unwrap();
        let invite = InviteRequest {
            email: None,
            name: format!("B{i}"),
            user_id: Some(format!("v{i}")),
            role: Role::Volunteer,
            team_id: Some("sim".into()),
        };
        let code = service.invite(&co, invite).await.unwrap().join_code.unwrap();
        store.assign_turf(&turf, Some(&format!("v{i}")), None).await.unwrap();
        let clock = Arc::new(ManualClock::new(T0 + i as i64 * 1000, 1_000));
        let path = dir.path().join(format!("phone-{i}.db"));
        let st = Store::open_with(&path, OpenOptions { clock: clock.clone(), ..OpenOptions::default() }).unwrap();
        let join = service
            .join(doorstep_protocol::JoinRequest {
                protocol: doorstep_protocol::PROTOCOL_VERSION,
                code,
                device_id: st.device_id().to_string(),
            })
            .await
            .unwrap();
        st.set_identity(&join.volunteer_id).unwrap();
        let transport = SimTransport { device: i, token: join.token, net: net.clone() };
        let user = format!("v{i}");
        phones.push(Phone {
            store: Some(st),
            path,
            clock,
            transport,
            user,
            turf: Some(turf),
            recorded: Vec::new(),
            posted: Vec::new(),
        });
    }
    // The captain's own phone, joined with a code the captain asked for.
    {
        let cap_staff = doorstep_server::admin::Staff { user: cap_user.clone(), teams: None };
        let code = service.phone_code(&cap_staff).await.unwrap().join_code;
        let clock = Arc::new(ManualClock::new(T0 + devices as i64 * 1000, 1_000));
        let path = dir.path().join("phone-cap.db");
        let st = Store::open_with(&path, OpenOptions { clock: clock.clone(), ..OpenOptions::default() }).unwrap();
        let join = service
            .join(doorstep_protocol::JoinRequest {
                protocol: doorstep_protocol::PROTOCOL_VERSION,
                code,
                device_id: st.device_id().to_string(),
            })
            .await
            .unwrap();
        st.set_identity(&join.volunteer_id).unwrap();
        let transport = SimTransport { device: devices, token: join.token, net: net.clone() };
        phones.push(Phone {
            store: Some(st),
            path,
            clock,
            transport,
            user: "cap".into(),
            turf: None,
            recorded: Vec::new(),
            posted: Vec::new(),
        });
    }
    let captain = devices;
    // Before the run, online and with no fault: every volunteer's phone signs up for the session
    // on now and holds its turf sealed; the captain's phone gets its grant.
    *net.healthy.lock().unwrap() = true;
    for p in &phones {
        sync(p.store(), &p.transport, policy(), &()).await.unwrap().unwrap();
        if p.user != "cap" {
            p.store().sign_up("s-hand", doorstep_protocol::SignupKind::SignUp).unwrap();
            sync(p.store(), &p.transport, policy(), &()).await.unwrap().unwrap();
        }
        let sealed = p.store().turfs().unwrap().into_iter().filter(|t| t.sealed).count();
        assert_eq!(sealed, 1, "seed {seed}: {} holds the session's turf sealed", p.user);
    }
    {
        let cap = &phones[captain];
        let req = doorstep_protocol::GrantRequest {
            protocol: doorstep_protocol::PROTOCOL_VERSION,
            device_id: cap.store().device_id().to_string(),
            session_id: "s-hand".into(),
            public_key: cap.store().handoff_public_key().unwrap(),
        };
        let body = serde_json::to_vec(&req).unwrap();
        let (status, b) =
            doorstep_tests::call(&app, "POST", "/api/v1/sync/grants", Some(&cap.transport.token), body).await;
        assert!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&b));
        cap.store().save_grant(&serde_json::from_slice(&b).unwrap()).unwrap();
    }
    *net.healthy.lock().unwrap() = false;
    let mut courier: Vec<Courier> = Vec::new();
    let mut session_edited = false;

    let mut rng = Rng(seed ^ 0x5EED);
    let mut moved_streets = BTreeSet::new();
    for step in 0..steps {
        let d = rng.below(devices + 1);
        let action = rng.below(120);
        let p = &mut phones[d];
        let line = match action {
            0..=39 => {
                // Knock a door the phone holds (chosen in a stable order).
                let mut held: Vec<(String, f64, f64)> = Vec::new();
                for t in p.store().turfs().unwrap() {
                    let r = p.store().route_progress(&t.id).unwrap();
                    for s in r.remaining.iter().chain(&r.done) {
                        held.extend(s.doors.iter().map(|x| (x.id.clone(), s.lat, s.lon)));
                    }
                }
                held.sort_by(|a, b| a.0.cmp(&b.0));
                if held.is_empty() {
                    format!("{step} d{d} knock: nothing held")
                } else {
                    let (door, _, _) = held[rng.below(held.len())].clone();
                    let code = ["not_home", "no_answer", "refused", "come_back"][rng.below(4)];
                    let made = p.store().record_knock(doorstep_tests::knock_on(door.clone(), code));
                    match made {
                        Ok(k) => {
                            p.recorded.push(k.id);
                            format!("{step} d{d} knock {door} {code}")
                        }
                        // A sealed door no lease opens (now, by this phone's clock): refused on the phone.
                        Err(doorstep_core::CoreError::Sealed(_)) => format!("{step} d{d} knock {door}: sealed"),
                        Err(e) => panic!("seed {seed}: knock on {door}: {e:?}"),
                    }
                }
            }
            40..=64 => {
                let r = sync(p.store(), &p.transport, policy(), &()).await.unwrap();
                match r {
                    Ok(r) => format!(
                        "{step} d{d} sync ok acc={} dup={} rej={} upd={} rm={} pending={}",
                        r.accepted,
                        r.duplicate,
                        r.rejected,
                        r.pull.turfs_updated,
                        r.pull.turfs_removed,
                        r.pending_after
                    ),
                    Err(e) => {
                        format!("{step} d{d} sync failed {} pending={}", kind(&e), p.store().pending_count().unwrap())
                    }
                }
            }
            65..=72 => {
                p.reopen();
                format!("{step} d{d} crash-restart pending={}", p.store().pending_count().unwrap())
            }
            73..=79 => {
                // Set wrong by the user (a year off, an hour back, a day ahead), or put right again
                // by the network's time.
                let shift = [-YEAR_MS, YEAR_MS, -3_600_000, 86_400_000, 0, 0][rng.below(6)];
                if shift == 0 {
                    p.clock.set_wall(server_now.load(Ordering::SeqCst));
                    format!("{step} d{d} wall clock set right")
                } else {
                    let now = p.clock.now_ms();
                    p.clock.set_wall(now + shift);
                    format!("{step} d{d} wall clock {shift:+} ms")
                }
            }
            80..=84 => {
                let mut part = net.partitioned.lock().unwrap();
                let cut = if part.remove(&d) {
                    "healed"
                } else {
                    part.insert(d);
                    "cut off"
                };
                format!("{step} d{d} network {cut}")
            }
            85..=89 => {
                // The coordinator moves a street of one phone's turf to another phone's.
                let to = rng.below(devices);
                let from_turf = phones[d].turf.clone().unwrap_or_default();
                let pkg = store.turf_package(&from_turf).await.unwrap();
                let streets: BTreeSet<String> =
                    pkg.iter().flat_map(|k| k.buildings.iter().map(|b| b.street.clone())).collect();
                if streets.is_empty() || to == d || d == captain {
                    format!("{step} d{d} move: nothing")
                } else {
                    let street = streets.iter().nth(rng.below(streets.len())).unwrap().clone();
                    let body = serde_json::json!({"turf_id": from_turf, "street": street, "to_turf": phones[to].turf.clone().unwrap()});
                    let (status, _) = doorstep_tests::call(
                        &app,
                        "POST",
                        "/api/v1/reassign",
                        Some(&staff_token),
                        serde_json::to_vec(&body).unwrap(),
                    )
                    .await;
                    moved_streets.insert(street.clone());
                    format!("{step} d{d} move {street} to d{to}: {}", status.as_u16())
                }
            }
            90..=95 => {
                // Sign up, confirm or cancel, offline: decided on the phone, kept in its outbox.
                let kind = [
                    doorstep_protocol::SignupKind::SignUp,
                    doorstep_protocol::SignupKind::SignUp,
                    doorstep_protocol::SignupKind::Confirm,
                    doorstep_protocol::SignupKind::Cancel,
                ][rng.below(4)];
                match p.store().sign_up("s-sim", kind) {
                    Ok(v) => format!("{step} d{d} {kind:?}: {:?} pending={}", v.standing, v.pending),
                    Err(e) => {
                        format!("{step} d{d} {kind:?} refused: {e:?}")
                    }
                }
            }
            96..=99 => {
                let ms = 60_000 * (1 + rng.below(30)) as u64;
                for q in &phones {
                    q.clock.advance(ms);
                }
                server_now.fetch_add(ms as i64, Ordering::SeqCst);
                format!("{step} time +{ms} ms")
            }
            100..=103 => {
                // The captain's phone, with no network, hands a street it holds sealed to a
                // volunteer's phone (or to nobody of the campaign); now and then the code is
                // tampered with on its way.
                let cap = phones[captain].store();
                let mut streets: Vec<(String, String)> = Vec::new();
                for t in cap.turfs().unwrap().into_iter().filter(|t| t.sealed) {
                    streets.extend(cap.turf_streets(&t.id).unwrap().into_iter().map(|s| (s.street, t.id.clone())));
                }
                streets.sort();
                let to = rng.below(devices + 1);
                let minutes = [10, 60, 240][rng.below(3)];
                let forged = rng.chance(0.15);
                if streets.is_empty() {
                    format!("{step} hand-out: nothing sealed")
                } else {
                    let (street, turf) = streets[rng.below(streets.len())].clone();
                    let who = if to == devices { "noe".to_string() } else { phones[to].user.clone() };
                    match cap.give_handoff("s-hand", &who, &turf, Some(street.clone()), minutes) {
                        Ok(code) => {
                            let qr = if forged { tamper(&code.qr_text) } else { code.qr_text };
                            let line = format!(
                                "{step} hand-out {street} to {who} for {minutes} min{}",
                                if forged { ", forged on its way" } else { "" }
                            );
                            // Mostly scanned there and then; else later, or never.
                            if !forged && to < devices && rng.chance(0.6) {
                                let scanned = match phones[to].store().receive_handoff(&qr) {
                                    Ok(l) => {
                                        let k = knock_on_street(&mut phones[to], &l, &mut rng, seed);
                                        format!("opens {} doors{k}", l.doors)
                                    }
                                    Err(doorstep_core::CoreError::Handoff(e)) => e.code().to_string(),
                                    Err(e) => panic!("seed {seed}: scan: {e:?}"),
                                };
                                format!("{line}, scanned at once: {scanned}")
                            } else {
                                courier.push(Courier { to: to % devices, qr, forged });
                                line
                            }
                        }
                        Err(e) => format!("{step} hand-out {street} to {who} refused on the captain's phone: {e}"),
                    }
                }
            }
            104..=106 => {
                // A code shown earlier is scanned now (by the phone it was shown to), however late.
                if courier.is_empty() {
                    format!("{step} scan: nothing shown")
                } else {
                    let c = courier.remove(rng.below(courier.len()));
                    let q = &phones[c.to];
                    match q.store().receive_handoff(&c.qr) {
                        Ok(l) => {
                            assert!(!c.forged, "seed {seed}: a forged code opened doors on d{}", c.to);
                            let k = knock_on_street(&mut phones[c.to], &l, &mut rng, seed);
                            format!(
                                "{step} d{} scans: lease {} opens {} doors{k}",
                                c.to,
                                l.street.clone().unwrap_or_default(),
                                l.doors
                            )
                        }
                        Err(doorstep_core::CoreError::Handoff(e)) => {
                            if c.forged {
                                // The attacker pushes it anyway: rejected, never recorded.
                                let signed = doorstep_protocol::validate::handoff::from_qr(&c.qr).unwrap();
                                let push = doorstep_protocol::HandoffPush {
                                    protocol: doorstep_protocol::PROTOCOL_VERSION,
                                    device_id: q.store().device_id().to_string(),
                                    handoffs: vec![signed],
                                };
                                let sent = q.transport.push_handoffs(&push).await;
                                if let Ok(r) = &sent {
                                    assert!(
                                        matches!(r.results[0].status, doorstep_protocol::ItemStatus::Rejected { .. }),
                                        "seed {seed}: a forged hand-off was not rejected: {:?}",
                                        r.results[0]
                                    );
                                }
                                format!(
                                    "{step} d{} scans a forged code: {}; pushed anyway: {}",
                                    c.to,
                                    e.code(),
                                    if sent.is_ok() { "rejected" } else { "lost" }
                                )
                            } else {
                                format!("{step} d{} scans: {}", c.to, e.code())
                            }
                        }
                        Err(e) => panic!("seed {seed}: scan: {e:?}"),
                    }
                }
            }
            107..=108 => {
                // At the meeting point: the phone scans the captain's check-in code.
                let code = phones[captain].store().checkin_code("s-hand", 30);
                match code.map(|c| phones[d].store().check_in(&c)) {
                    Ok(Ok(v)) => format!("{step} d{d} checks in: {:?}", v.standing),
                    Ok(Err(e)) | Err(e) => format!("{step} d{d} check-in refused: {e}"),
                }
            }
            112..=116 => {
                // A message, written with or without a network: in a channel the phone may write in.
                let mut open: Vec<String> =
                    p.store().channels().unwrap().into_iter().filter(|c| c.can_post).map(|c| c.id).collect();
                open.sort();
                if open.is_empty() {
                    format!("{step} d{d} message: no channel")
                } else {
                    let ch = open[rng.below(open.len())].clone();
                    let text = format!("message {step} de d{d}");
                    match p.store().post_message(&ch, &text, None) {
                        Ok(m) => {
                            p.posted.push(m.id);
                            format!("{step} d{d} writes in {ch}")
                        }
                        Err(e) => panic!("seed {seed}: a message the phone allowed itself failed: {e:?}"),
                    }
                }
            }
            117..=118 => {
                let mut held: Vec<String> = p.store().channels().unwrap().into_iter().map(|c| c.id).collect();
                held.sort();
                if held.is_empty() {
                    format!("{step} d{d} reads: no channel")
                } else {
                    let ch = held[rng.below(held.len())].clone();
                    p.store().mark_read(&ch).unwrap();
                    format!("{step} d{d} reads {ch}")
                }
            }
            _ => {
                // Once a run, maybe: the coordinator takes the captain off the session, takes its
                // first turf off, or calls it off — the captain's phone, offline, goes on handing out.
                if session_edited || !rng.chance(0.3) {
                    format!("{step} session unchanged")
                } else {
                    session_edited = true;
                    let mut s = store.session("s-hand").await.unwrap().unwrap();
                    let what = match rng.below(3) {
                        0 => {
                            s.captains = vec!["cap2".into()];
                            "captain taken off"
                        }
                        1 => {
                            s.turfs.retain(|t| t != "h");
                            "turf h taken off"
                        }
                        _ => {
                            s.cancelled = true;
                            "called off"
                        }
                    };
                    let (status, b) = doorstep_tests::call(
                        &app,
                        "PUT",
                        "/api/v1/sessions/s-hand",
                        Some(&staff_token),
                        serde_json::to_vec(&s).unwrap(),
                    )
                    .await;
                    assert!(status.is_success(), "seed {seed}: {status} {}", String::from_utf8_lossy(&b));
                    format!("{step} session edited: {what}")
                }
            }
        };
        net.note(line);
    }

    // The faults stop; held messages arrive late; each phone syncs until quiet, in passes until a
    // whole pass changes nothing (a phone's late hand-offs change the turfs others hold).
    *net.healthy.lock().unwrap() = true;
    net.partitioned.lock().unwrap().clear();
    for p in phones.iter_mut() {
        p.reopen();
    }
    let mut settled = false;
    for pass in 0..5 {
        let mut changed = false;
        for (d, p) in phones.iter().enumerate() {
            let mut quiet = false;
            for round in 0..10 {
                let r = sync(p.store(), &p.transport, policy(), &()).await.unwrap().unwrap();
                net.note(format!(
                    "heal {pass} d{d} round {round}: acc={} dup={} upd={} rm={} msg={} pending={}",
                    r.accepted,
                    r.duplicate,
                    r.pull.turfs_updated,
                    r.pull.turfs_removed,
                    r.messages_received,
                    r.pending_after
                ));
                if r.pending_after == 0
                    && r.pull.turfs_updated == 0
                    && r.pull.turfs_removed == 0
                    && r.messages_received == 0
                {
                    quiet = true;
                    break;
                }
                changed = true;
            }
            assert!(quiet, "seed {seed}: phone {d} never went quiet");
            let pending = p.store().leases().unwrap().into_iter().filter(|l| l.state == "pending").count();
            assert_eq!(pending, 0, "seed {seed}: phone {d} has hand-offs still pending");
        }
        if !changed {
            settled = true;
            break;
        }
    }
    assert!(settled, "seed {seed}: the phones never settled");

    // Invariants.
    let conn = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
    let now = server_now.load(Ordering::SeqCst);
    // Every report on the server, counted or held for review, by device.
    let mut per_device: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    let mut held_reasons: BTreeMap<String, String> = BTreeMap::new();
    {
        let mut q = conn
            .prepare(
                "SELECT device_id, id, count(*) FROM (SELECT device_id, id FROM reports
                 UNION ALL SELECT device_id, id FROM held_reports) GROUP BY device_id, id",
            )
            .unwrap();
        let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)));
        for row in rows.unwrap() {
            let (dev, id, n) = row.unwrap();
            per_device.entry(dev).or_default().insert(id, n);
        }
        let mut q = conn.prepare("SELECT id, reason FROM held_reports").unwrap();
        for row in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
            let (id, reason) = row.unwrap();
            held_reasons.insert(id, reason);
        }
    }
    assert!(
        held_reasons.values().all(|r| r == doorstep_protocol::merge::HELD_LEASE_REFUSED),
        "seed {seed}: held for another reason than a refused lease: {held_reasons:?}"
    );
    // Hand-offs as the server decided them.
    let server_leases: BTreeMap<String, String> = {
        let mut q = conn.prepare("SELECT id, status FROM handoffs").unwrap();
        q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap().map(Result::unwrap).collect()
    };
    let mut lease_ids = BTreeSet::new();
    let mut differing = 0;
    for (d, p) in phones.iter().enumerate() {
        let on_server = per_device.remove(p.store().device_id()).unwrap_or_default();
        // Nothing refused, nothing left unanswered (a knock held for review is acknowledged). A
        // settled knock on a turf the phone no longer holds (a lease over, a session's turf
        // taken off) was purged from it: it must be on the server (checked below).
        let mut kept = Vec::new();
        for id in &p.recorded {
            let receipt = match p.store().knock(id) {
                Ok(k) => k.receipt,
                Err(doorstep_core::CoreError::UnknownId { .. }) => continue,
                Err(e) => panic!("seed {seed}: phone {d}'s knock {id}: {e:?}"),
            };
            kept.push(id.clone());
            assert!(
                matches!(receipt, doorstep_core::ReceiptState::Accepted | doorstep_core::ReceiptState::Duplicate),
                "seed {seed}: phone {d}'s knock {id}: {receipt:?}"
            );
        }
        let recorded: BTreeSet<&String> = p.recorded.iter().collect();
        let server_ids: BTreeSet<&String> = on_server.keys().collect();
        assert_eq!(recorded, server_ids, "seed {seed}: phone {d}'s knocks are exactly the server's");
        assert!(on_server.values().all(|&n| n == 1), "seed {seed}: a report stored twice");
        // Every hand-off the phone gave or received stands as the server decided it.
        for l in p.store().leases().unwrap() {
            let server = server_leases.get(&l.id).map(String::as_str);
            let agrees = matches!(
                (l.state.as_str(), server),
                ("accepted" | "duplicate", Some("accepted")) | ("held", Some("refused"))
            );
            assert!(
                agrees,
                "seed {seed}: phone {d}'s lease ({} to {}): phone {}, server {server:?}",
                l.direction, l.volunteer_id, l.state
            );
            lease_ids.insert(l.id);
        }
        // Holdings: exactly the turfs the server gives this phone, open (its volunteer's, leases
        // included) or sealed (the sessions it is involved in), each with the server's buildings.
        let open: BTreeSet<String> = store.turfs_of(&p.user, now).await.unwrap().into_iter().map(|t| t.id).collect();
        let standings: HashMap<String, doorstep_protocol::Attendance> =
            store.standings(&p.user).await.unwrap().into_iter().collect();
        let mut expected: BTreeSet<(String, bool)> = open.iter().map(|t| (t.clone(), false)).collect();
        for c in store.campaign_sessions(&campaign.id, 0).await.unwrap() {
            let standing = standings.get(&c.session.id).copied();
            if doorstep_protocol::validate::session::stages(&c.session, &p.user, standing, now) {
                expected.extend(c.session.turfs.iter().filter(|t| !open.contains(*t)).map(|t| (t.clone(), true)));
            }
        }
        let holds: BTreeSet<(String, bool)> =
            p.store().turfs().unwrap().into_iter().map(|t| (t.id, t.sealed)).collect();
        assert_eq!(holds, expected, "seed {seed}: phone {d} holds the turfs the server gives it");
        for (t, _) in &holds {
            let r = p.store().route_progress(t).unwrap();
            let held: BTreeSet<String> = r.remaining.iter().chain(&r.done).map(|s| s.building_id.clone()).collect();
            let pkg = store.turf_package(t).await.unwrap().unwrap();
            let theirs: BTreeSet<String> = pkg.buildings.into_iter().map(|b| b.id).collect();
            assert_eq!(held, theirs, "seed {seed}: phone {d}'s turf {t} has the server's buildings");
            // Statuses agree on every door it holds, streets moved to it from others included
            // (the pull's door facts carry what others did there).
            for door in service.turf_doors(&co, t).await.unwrap() {
                // A knock of its own held for review counts on the phone that made it (the
                // volunteer knows they knocked there), not on the server until a captain accepts it.
                let own_held: bool = conn
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM held_reports WHERE door_id = ?1 AND device_id = ?2)",
                        [door.door_id.as_str(), p.store().device_id()],
                        |r| r.get(0),
                    )
                    .unwrap();
                if !own_held && p.store().door_status(&door.door_id).unwrap() != door.status {
                    differing += 1;
                    net.note(format!(
                        "d{d} {} ({}): phone {:?}, server {:?}",
                        door.door_id,
                        door_street[&door.door_id],
                        p.store().door_status(&door.door_id).unwrap(),
                        door.status
                    ));
                }
            }
        }
        // The HLC only moved forward, whatever the wall clock did.
        let hlcs: Vec<_> = kept.iter().map(|id| p.store().knock(id).unwrap().hlc).collect();
        assert!(hlcs.windows(2).all(|w| w[0] < w[1]), "seed {seed}: phone {d}'s HLC went backwards");
    }
    assert_eq!(differing, 0, "seed {seed}: door statuses differ ({} streets moved)", moved_streets.len());
    // No hand-off on the server that no phone made (forged ones were never recorded).
    let unknown: Vec<&String> = server_leases.keys().filter(|id| !lease_ids.contains(*id)).collect();
    assert!(unknown.is_empty(), "seed {seed}: hand-offs from nowhere: {unknown:?}");
    // The sessions: each phone's standing is the server's, with nothing pending; no event twice;
    // never more taken than its places.
    let standing_on_server = |session: &str, v: &str| -> Option<String> {
        conn.query_row(
            "SELECT state FROM session_signups WHERE session_id = ?1 AND volunteer_id = ?2",
            [session, v],
            |r| r.get(0),
        )
        .ok()
    };
    let mut signed = 0;
    for (d, p) in phones.iter().enumerate() {
        for session in ["s-sim", "s-hand"] {
            let mine = p.store().sessions().unwrap().into_iter().find(|v| v.id == session);
            let mine = mine.unwrap_or_else(|| panic!("seed {seed}: phone {d} lists {session}"));
            assert!(!mine.pending, "seed {seed}: phone {d}'s sign-up to {session} still pending");
            let server = standing_on_server(session, &p.user);
            assert_eq!(
                mine.standing.map(|a| a.code().to_string()),
                server,
                "seed {seed}: phone {d}'s standing with {session}"
            );
            if session == "s-sim" {
                signed += usize::from(matches!(server.as_deref(), Some("signed_up" | "confirmed" | "checked_in")));
            }
        }
    }
    assert!(signed <= SESSION_PLACES as usize, "seed {seed}: {signed} places taken of {SESSION_PLACES}");
    let (events, distinct): (i64, i64) = conn
        .query_row("SELECT count(*), count(DISTINCT id) FROM signup_events", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(events, distinct, "seed {seed}: a sign-up event recorded twice");
    let accepted = server_leases.values().filter(|s| *s == "accepted").count();
    net.note(format!(
        "session: {signed} of {SESSION_PLACES} places taken, {events} events; hand-offs: {accepted} accepted, {} refused, {} knocks held",
        server_leases.len() - accepted,
        held_reasons.len()
    ));
    assert!(per_device.is_empty(), "seed {seed}: reports from no simulated phone");
    // Team messages: each channel's places run 1, 2, 3… with no gap; every message written is on
    // the server exactly once, or shown refused on its phone and not on the server; every phone
    // shows every channel it holds exactly as the server orders it; its read marker is its own.
    let mut q = conn
        .prepare("SELECT channel_id, count(*), max(seq), count(DISTINCT seq) FROM messages GROUP BY channel_id")
        .unwrap();
    let places: Vec<(String, i64, i64, i64)> =
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
    for (ch, n, max, distinct) in &places {
        assert!(n == max && n == distinct, "seed {seed}: {ch}: {n} messages, last place {max}, {distinct} distinct");
    }
    let on_server = |id: &str| -> i64 {
        conn.query_row("SELECT count(*) FROM messages WHERE id = ?1", [id], |r| r.get(0)).unwrap()
    };
    let (mut written, mut refused) = (0, 0);
    for (d, p) in phones.iter().enumerate() {
        let phone_db = rusqlite::Connection::open(&p.path).unwrap();
        for id in &p.posted {
            let state: String =
                phone_db.query_row("SELECT state FROM message_outbox WHERE id = ?1", [id], |r| r.get(0)).unwrap();
            let n = on_server(id);
            match state.as_str() {
                "accepted" | "duplicate" => {
                    assert_eq!(n, 1, "seed {seed}: phone {d}'s message {id} on the server once")
                }
                "rejected" => {
                    assert_eq!(n, 0, "seed {seed}: phone {d}'s refused message {id} is not on the server");
                    refused += 1;
                }
                other => panic!("seed {seed}: phone {d}'s message {id} still {other}"),
            }
            written += 1;
        }
        for c in p.store().channels().unwrap() {
            let mine: Vec<(String, Option<u64>)> = p
                .store()
                .thread(&c.id)
                .unwrap()
                .into_iter()
                .filter(|m| m.state != "rejected")
                .map(|m| (m.id, m.seq))
                .collect();
            let mut q = conn.prepare("SELECT id, seq FROM messages WHERE channel_id = ?1 ORDER BY seq").unwrap();
            let theirs: Vec<(String, Option<u64>)> = q
                .query_map([&c.id], |r| Ok((r.get::<_, String>(0)?, Some(r.get::<_, i64>(1)? as u64))))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(mine, theirs, "seed {seed}: phone {d} shows {} as the server orders it", c.id);
            let local: Option<i64> =
                phone_db.query_row("SELECT seq FROM read_marks WHERE channel_id = ?1", [&c.id], |r| r.get(0)).ok();
            let server: Option<i64> = conn
                .query_row(
                    "SELECT seq FROM read_markers WHERE channel_id = ?1 AND user_id = ?2",
                    [c.id.as_str(), p.user.as_str()],
                    |r| r.get(0),
                )
                .ok();
            if let Some(local) = local {
                assert_eq!(server, Some(local), "seed {seed}: phone {d}'s read marker in {}", c.id);
            }
        }
    }
    net.note(format!("messages: {written} written, {refused} refused, channels {places:?}"));
    let faults = net.faults.lock().unwrap().clone();
    let mut trace = std::mem::take(&mut *net.trace.lock().unwrap());
    trace.push(format!("faults {faults:?}"));
    trace
}

fn kind(e: &TransportError) -> &'static str {
    match e {
        TransportError::Unavailable(_) => "unavailable",
        TransportError::Refused(_) => "refused",
        TransportError::Busy { .. } => "busy",
    }
}

fn seeds() -> Vec<u64> {
    if let Some(s) = std::env::var("DOORSTEP_SIM_SEED").ok().and_then(|v| v.parse().ok()) {
        return vec![s];
    }
    match std::env::var("DOORSTEP_SIM_SEEDS").ok().and_then(|v| v.parse::<u64>().ok()) {
        Some(n) => (0..n).collect(),
        None => REGRESSION_SEEDS.to_vec(),
    }
}

/// One thread, one paused-clock runtime, a large stack (debug builds of the router nest deep).
#[test]
fn the_protocol_converges_under_any_schedule_of_faults() {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap()
                .block_on(run())
        })
        .unwrap()
        .join()
        .unwrap();
}

async fn run() {
    let steps = std::env::var("DOORSTEP_SIM_STEPS").ok().and_then(|v| v.parse().ok()).unwrap_or(250);
    let devices = 4;
    let seeds = seeds();
    for (i, &seed) in seeds.iter().enumerate() {
        let outcome = tokio::spawn(simulate(seed, devices, steps)).await;
        let trace = match outcome {
            Ok(t) => t,
            Err(e) => panic!(
                "seed {seed} failed: {e}\nreplay: DOORSTEP_SIM_SEED={seed} DOORSTEP_SIM_STEPS={steps} cargo test -p doorstep-tests --test simulation -- --nocapture"
            ),
        };
        if i == 0 {
            // Determinism: the same seed gives the same run, step for step.
            let again = tokio::spawn(simulate(seed, devices, steps)).await.unwrap();
            assert_eq!(trace, again, "seed {seed} did not replay identically");
        }
        println!("seed {seed}: {} steps, {}; {}", steps, trace[trace.len() - 2], trace.last().unwrap());
    }
}

/// A session for the simulation, to be completed by the caller.
fn session_template(campaign: &str, lat: f64, lon: f64) -> doorstep_protocol::Session {
    doorstep_protocol::Session {
        id: String::new(),
        campaign_id: campaign.into(),
        title: String::new(),
        start_ms: 0,
        end_ms: 0,
        meeting_lat: lat,
        meeting_lon: lon,
        meeting_text: "Devant le marché".into(),
        capacity: 1,
        captains: vec!["cap".into()],
        turfs: vec![],
        team_id: None,
        visibility: doorstep_protocol::Visibility::Campaign,
        cancelled: false,
    }
}

/// A hand-off code changed on its way: the street it names (the signature no longer holds).
fn tamper(qr: &str) -> String {
    let mut s = doorstep_protocol::validate::handoff::from_qr(qr).unwrap();
    s.handoff.street = Some(format!("{} bis", s.handoff.street.unwrap_or_default()));
    doorstep_protocol::validate::handoff::to_qr(&s).unwrap()
}

/// A volunteer who has just opened a street goes and knocks one of its doors.
fn knock_on_street(
    p: &mut Phone,
    lease: &doorstep_core::store::handoffs::LeaseView,
    rng: &mut Rng,
    seed: u64,
) -> String {
    let Ok(pkg) = p.store().export_turf(&lease.turf_id) else { return String::new() };
    let on: BTreeSet<&str> = pkg
        .buildings
        .iter()
        .filter(|b| lease.street.as_deref().is_none_or(|s| s == b.street))
        .map(|b| b.id.as_str())
        .collect();
    let mut doors: Vec<&str> =
        pkg.doors.iter().filter(|d| on.contains(d.building_id.as_str())).map(|d| d.id.as_str()).collect();
    doors.sort();
    if doors.is_empty() {
        return String::new();
    }
    let door = doors[rng.below(doors.len())].to_string();
    let made = p.store().record_knock(doorstep_tests::knock_on(door.clone(), "not_home"));
    match made {
        Ok(k) => {
            p.recorded.push(k.id);
            format!(", knocks {door}")
        }
        Err(doorstep_core::CoreError::Sealed(_)) => format!(", {door} sealed"),
        Err(e) => panic!("seed {seed}: knock on {door}: {e:?}"),
    }
}
