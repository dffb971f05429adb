//! Decisions: who may do what, which reports are accepted, what each device must hold. No SQL
//! here; the store does the atomic parts (deduplication, overlap detection).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use doorstep_protocol::merge::{Decision, Sender};
use doorstep_protocol::{
    Campaign, DoorFact, JoinRequest, JoinResponse, KnockReport, PROTOCOL_VERSION, PullBucket, PullRequest,
    PullResponse, PushItemResult, PushRequest, PushResponse, TurfPackage, turf_checksum,
};

use crate::auth;
use crate::error::ServiceError;
use crate::store::StoreOps;
use crate::store::{Device, PushInput, Role, ServerStore, StoreResult, User};

/// Largest batch a device may push at once.
pub const MAX_PUSH_ITEMS: usize = 500;
/// A revoked phone may still push (held for review) and pull (told to wipe) this long, unless it
/// acknowledges its wipe first; then its token answers 401 everywhere.
pub const REVOKED_GRACE_MS: i64 = 72 * 3_600_000;
/// Device ids the server makes for its own tokens: a phone may not join under them.
pub const RESERVED_DEVICE_PREFIXES: &[&str] = &["staff:", "session:", PAPER_DEVICE_PREFIX];
/// The device id prefix of reports typed in from paper walk sheets (`paper:<who typed it>`).
pub const PAPER_DEVICE_PREFIX: &str = "paper:";
/// A device token lives this long (a campaign season), then the volunteer joins again.
pub const TOKEN_LIFETIME_MS: i64 = 120 * 86_400_000;
/// A join code must be used within this time.
pub const JOIN_CODE_LIFETIME_MS: i64 = 7 * 86_400_000;

pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A published script version never changes: kept in memory once read.
type ScriptCache = Arc<
    std::sync::Mutex<HashMap<(String, u32), (doorstep_protocol::SurveyScript, Vec<doorstep_protocol::ResultCode>)>>,
>;

/// The campaign's street network, parsed once per version.
type NetworkCache = Arc<std::sync::Mutex<HashMap<String, (u64, Arc<doorstep_protocol::StreetNetwork>)>>>;

/// A turf's package carries the streets within this distance of its buildings' bounding box.
pub const NETWORK_MARGIN_M: f64 = 150.0;

#[derive(Clone)]
pub struct Service {
    pub store: Arc<dyn ServerStore>,
    pub now: Clock,
    scripts: ScriptCache,
    networks: NetworkCache,
    /// What changed, for dashboards watching live (server-sent events).
    pub(crate) live: tokio::sync::broadcast::Sender<crate::model::LiveEvent>,
    /// Whether live events go through the database to every process ([`Self::share_live_events`]).
    pub(crate) shared_live: Arc<std::sync::atomic::AtomicBool>,
    /// A map tile URL template (`https://…/{z}/{x}/{y}.png`) for dashboards, when the campaign has
    /// a tile server; without one the map draws our own streets.
    pub tile_url: Option<String>,
    pub rate_limits: crate::ratelimit::RateLimits,
    pub(crate) rate: Arc<crate::ratelimit::Limiter>,
    /// Phones' sync requests this process works on at once before it sheds ([`crate::admission`]).
    pub admission: Arc<crate::admission::Admission>,
    /// What the server counts (served by `serve --metrics-listen`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The campaign's SMTP relay for e-mail reminders (`serve --smtp-url`); none: they wait.
    pub mailer: Option<crate::mail::Mailer>,
    /// The server's key for SMS providers' secrets (`serve --secret-key-file`); none: no provider
    /// can be set.
    pub sms_keys: Option<Arc<crate::sealer::Sealer>>,
    /// This server as the outside world reaches it (`https://terrain.example.fr`), for webhooks.
    pub public_url: Option<String>,
    /// The proxies (balancers) whose `X-Forwarded-For` names the client (`serve --trusted-proxy`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Phones' sync times, written together when they arrive together ([`crate::touches`]).
    touches: Arc<crate::touches::Touches>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("store", &self.store).finish()
    }
}

/// An authenticated token: a volunteer's phone, or a captain's or coordinator's API token.
#[derive(Debug, Clone)]
pub struct DeviceSession {
    pub device: Device,
    pub revoked: bool,
    /// The token's user, read with it (one statement): not read again by the handlers.
    pub user: User,
}

impl DeviceSession {
    /// A phone's token (joined with a code), not a staff API token or a dashboard session.
    pub fn is_phone(&self) -> bool {
        !RESERVED_DEVICE_PREFIXES.iter().any(|p| self.device.device_id.starts_with(p))
    }
}

/// A staff (captain, coordinator) API token lives this long.
pub const STAFF_TOKEN_LIFETIME_MS: i64 = 30 * 86_400_000;

pub(crate) fn check_protocol(p: u32) -> Result<(), ServiceError> {
    if p != PROTOCOL_VERSION {
        return Err(ServiceError::invalid(
            "unsupported_protocol",
            format!("protocol {p} is not supported; this server speaks {PROTOCOL_VERSION}"),
        ));
    }
    Ok(())
}

pub fn system_clock() -> Clock {
    Arc::new(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64))
}

impl Service {
    pub fn new(store: Arc<dyn ServerStore>) -> Self {
        Self {
            store,
            now: system_clock(),
            scripts: ScriptCache::default(),
            networks: NetworkCache::default(),
            live: tokio::sync::broadcast::channel(256).0,
            shared_live: Default::default(),
            tile_url: None,
            rate_limits: Default::default(),
            rate: Default::default(),
            admission: Default::default(),
            metrics: Default::default(),
            mailer: None,
            sms_keys: None,
            public_url: None,
            trusted_proxies: Vec::new(),
            touches: Default::default(),
        }
    }

    // ----- devices -------------------------------------------------------------------------------

    /// Redeems a one-time join code for a device token.
    pub async fn join(&self, req: JoinRequest) -> Result<JoinResponse, ServiceError> {
        check_protocol(req.protocol)?;
        let ok_chars = req.device_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if req.device_id.is_empty() || req.device_id.len() > 64 || !ok_chars {
            return Err(ServiceError::invalid(
                "bad_device_id",
                "device_id must be 1–64 characters of A–Z a–z 0–9 - _ . :",
            ));
        }
        if RESERVED_DEVICE_PREFIXES.iter().any(|p| req.device_id.starts_with(p)) {
            return Err(ServiceError::invalid(
                "bad_device_id",
                "this device_id is reserved for the server's own tokens",
            ));
        }
        let now = (self.now)();
        // A device id belongs to the user that first joined with it: another user's code cannot
        // take it over (checked before the code is used, so a refused join leaves the code usable).
        let code_hash = auth::hash_secret(&auth::normalise_code(&req.code));
        if let Some(user) = self.store.join_code_user(&code_hash, now).await?
            && self.store.device_other_user(&req.device_id, &user).await?.is_some()
        {
            return Err(ServiceError::new(
                crate::error::Failure::Conflict,
                "device_id_taken",
                "cet appareil est lié à un autre bénévole / this device id belongs to another user",
            ));
        }
        let token = auth::new_token();
        let expires = now + TOKEN_LIFETIME_MS;
        let user = self
            .store
            .redeem_join_code(
                &auth::hash_secret(&auth::normalise_code(&req.code)),
                &req.device_id,
                &auth::hash_secret(&token),
                now,
                expires,
            )
            .await?
            .ok_or_else(|| {
                ServiceError::unauthenticated("bad_join_code", "join code unknown, already used or expired")
            })?;
        Ok(JoinResponse { token, volunteer_id: user.id, campaign_id: user.campaign_id, expires_ms: expires })
    }

    /// Finds the device behind a bearer token. Expired tokens are refused, and so are revoked
    /// ones, with one exception: a volunteer's revoked phone may still push (its reports are held
    /// for review) and pull (it is told to wipe) until it acknowledges the wipe or
    /// [`REVOKED_GRACE_MS`] has passed; the HTTP layer lets it reach those routes only.
    pub async fn authenticate(&self, bearer: &str) -> Result<DeviceSession, ServiceError> {
        // The token's device and its user in one read (a user deleted with their devices leaves
        // no row to join).
        let (device, user) = self
            .store
            .device_with_user(&auth::hash_secret(bearer))
            .await?
            .ok_or_else(|| ServiceError::unauthenticated("bad_token", "unknown device token"))?;
        let now = (self.now)();
        if device.expires_ms <= now {
            return Err(ServiceError::unauthenticated(
                "token_expired",
                "device token expired: join again with a new code",
            ));
        }
        if let Some(at) = device.revoked_ms {
            // A phone (a volunteer's, or a captain's own) may still push what it holds.
            let phone = !RESERVED_DEVICE_PREFIXES.iter().any(|p| device.device_id.starts_with(p));
            let dead = !phone || device.wiped_ms.is_some() || now >= at + REVOKED_GRACE_MS;
            if dead {
                return Err(ServiceError::unauthenticated(
                    "token_revoked",
                    "ce jeton a été révoqué / this token was revoked",
                ));
            }
        }
        Ok(DeviceSession { revoked: device.revoked_ms.is_some(), device, user })
    }

    /// A revoked phone says it has wiped itself: its token is dead from now on.
    pub async fn wiped(&self, s: &DeviceSession) -> Result<doorstep_protocol::WipeAck, ServiceError> {
        if !s.revoked {
            // Nothing to acknowledge: said so, nothing changes.
            return Ok(doorstep_protocol::WipeAck { wiped: false });
        }
        let now = (self.now)();
        self.store.device_wiped(&s.device.device_id, &s.device.user_id, now).await?;
        let (campaign, device) = (&s.device.campaign_id, Some(s.device.device_id.as_str()));
        self.record(campaign, &s.device.user_id, device, "device.wiped", None, serde_json::json!({})).await?;
        Ok(doorstep_protocol::WipeAck { wiped: true })
    }

    /// An API token for a captain or coordinator (the dashboard's login comes with issue 5).
    pub async fn issue_staff_token(&self, user_id: &str) -> Result<String, ServiceError> {
        let user = self.store.user(user_id).await?.ok_or_else(|| ServiceError::not_found(format!("user {user_id}")))?;
        if user.role == Role::Volunteer {
            return Err(ServiceError::forbidden("volunteers join with a code from their phone"));
        }
        let token = auth::new_token();
        let now = (self.now)();
        // Staff tokens live in the same table as device tokens, under a device id of their own.
        self.store
            .register_token(
                &auth::hash_secret(&token),
                &format!("staff:{user_id}"),
                user_id,
                now,
                now + STAFF_TOKEN_LIFETIME_MS,
            )
            .await?;
        Ok(token)
    }

    /// Every report of the session's campaign, in HLC order, with its overlap flag.
    pub async fn export(&self, s: &DeviceSession) -> Result<Vec<crate::store::StoredReport>, ServiceError> {
        Ok(self.store.reports(&s.device.campaign_id).await?)
    }

    // ----- push ----------------------------------------------------------------------------------

    /// Merges a batch — facts → [`doorstep_protocol::merge::plan`] → writes, in one transaction
    /// (the store's [`ServerStore::push`]) — and answers each report: accepted, duplicate, held for
    /// review or rejected with a reason and a code. The same batch is answered the same way
    /// however often it is sent.
    pub async fn push(&self, s: &DeviceSession, req: PushRequest) -> Result<PushResponse, ServiceError> {
        let started = std::time::Instant::now();
        let answer = self.push_inner(s, req).await;
        self.metrics.sync("push", started.elapsed().as_secs_f64());
        answer
    }

    async fn push_inner(&self, s: &DeviceSession, req: PushRequest) -> Result<PushResponse, ServiceError> {
        check_protocol(req.protocol)?;
        if req.reports.len() > MAX_PUSH_ITEMS {
            return Err(ServiceError::new(
                crate::error::Failure::TooLarge,
                "batch_too_large",
                format!("at most {MAX_PUSH_ITEMS} reports per push"),
            ));
        }
        if req.device_id != s.device.device_id {
            return Err(ServiceError::forbidden("device_id does not match the token"));
        }
        let campaign = self
            .store
            .campaign(&s.device.campaign_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("campaign not found"))?;
        // Each report is checked against the script version it was made with: a device that has
        // not pulled a script edit yet still gets its reports accepted.
        let mut campaigns: HashMap<u32, Campaign> = HashMap::new();
        for v in req.reports.iter().map(|r| r.survey_version).collect::<std::collections::BTreeSet<_>>() {
            if let Some((survey, result_codes)) = self.script(&campaign.id, v).await? {
                campaigns.insert(v, Campaign { survey, result_codes, ..campaign.clone() });
            }
        }
        let now = (self.now)();
        let sender = Sender {
            device_id: s.device.device_id.clone(),
            user_id: s.device.user_id.clone(),
            campaign_id: campaign.id.clone(),
            revoked: s.revoked,
        };
        let audit_sender = sender.clone();
        let audit_id = auth::new_token()[..22].to_string();
        let input = PushInput {
            sender,
            received_ms: now,
            campaigns,
            retention_until_ms: campaign.retention_until_ms,
            plan: doorstep_protocol::merge::plan,
            audit: Box::new(move |decisions| push_audit(&audit_id, &audit_sender, now, decisions)),
            typed_for: Default::default(),
        };
        let held_db = std::time::Instant::now();
        let decisions = self.store.push(input, &req.reports).await?;
        self.metrics.push_transaction_seconds.observe(held_db.elapsed().as_secs_f64());
        for d in &decisions {
            self.metrics.report(match d {
                Decision::Accept(w) if w.overlap => "accepted_overlap",
                Decision::Accept(_) => "accepted",
                Decision::Hold(..) => "held",
                Decision::Duplicate => "duplicate",
                Decision::Reject(_) => "rejected",
            });
        }
        let accepted: Vec<&KnockReport> = req
            .reports
            .iter()
            .zip(&decisions)
            .filter(|(_, d)| matches!(d, Decision::Accept(_)))
            .map(|(r, _)| r)
            .collect();
        if !accepted.is_empty() {
            let mut turfs: Vec<String> = accepted.iter().map(|r| r.turf_id.clone()).collect();
            turfs.sort();
            turfs.dedup();
            // The last position is the newest report's by the time it counts as made: a phone
            // whose clock is a year ahead cannot pin itself on the map.
            let position = accepted
                .iter()
                .zip(decisions.iter().filter_map(|d| if let Decision::Accept(w) = d { Some(w.at_ms) } else { None }))
                .filter(|(r, _)| r.position.is_some())
                .max_by_key(|(r, at)| (*at, r.hlc))
                .and_then(|(r, _)| r.position);
            let volunteer = Some(s.device.user_id.clone());
            self.announce(&campaign.id, "sync", turfs, volunteer, accepted.len(), position).await;
        }
        if decisions.iter().any(|d| matches!(d, Decision::Hold(..))) {
            self.announce(&campaign.id, "held", vec![], Some(s.device.user_id.clone()), 0, None).await;
        }
        Ok(PushResponse {
            protocol: PROTOCOL_VERSION,
            results: req
                .reports
                .iter()
                .zip(&decisions)
                .map(|(r, d)| {
                    let (status, notice) = d.answer();
                    PushItemResult { id: r.id.clone(), status, notice }
                })
                .collect(),
            server_time_ms: now,
        })
    }

    // ----- pull ----------------------------------------------------------------------------------

    /// One bucket per turf the volunteer holds now; a full package where the device's version
    /// differs; `removed` for what the device holds and no longer may; `wipe` when revoked.
    pub async fn pull(&self, s: &DeviceSession, req: PullRequest) -> Result<PullResponse, ServiceError> {
        let started = std::time::Instant::now();
        let answer = self.pull_inner(s, req).await;
        self.metrics.sync("pull", started.elapsed().as_secs_f64());
        answer
    }

    async fn pull_inner(&self, s: &DeviceSession, req: PullRequest) -> Result<PullResponse, ServiceError> {
        check_protocol(req.protocol)?;
        if let Some(c) = &req.cursor {
            decode_cursor(c)
                .ok_or_else(|| ServiceError::invalid("bad_cursor", "cursor is not one this server made"))?;
        }
        let now = (self.now)();
        // The device's last sync (written with those of the pulls beside it) and its turfs, at once.
        let touched = self.touches.touch(&self.store, &s.device, now);
        let (_, turfs) = tokio::try_join!(touched, self.store.turfs_of(&s.device.user_id, now))?;
        if s.revoked {
            return Ok(PullResponse {
                protocol: PROTOCOL_VERSION,
                cursor: encode_cursor(&[]),
                buckets: vec![],
                removed: req.held.iter().map(|h| h.turf_id.clone()).collect(),
                wipe: true,
                server_time_ms: now,
            });
        }
        // What the phone holds open; a turf it holds sealed is not held for an open bucket (it
        // lacks the people), and the reverse.
        let held: HashMap<&str, u64> =
            req.held.iter().filter(|h| !h.staged).map(|h| (h.turf_id.as_str(), h.version)).collect();
        let held_sealed: HashMap<&str, u64> =
            req.held.iter().filter(|h| h.staged).map(|h| (h.turf_id.as_str(), h.version)).collect();
        let sealed = self.staged_turfs(s, &turfs, now).await?;
        let mut buckets = Vec::with_capacity(turfs.len() + sealed.len());
        for t in &sealed {
            let mut b = self.sealed_bucket(t, held_sealed.get(t.id.as_str()).copied()).await?;
            b.door_facts = Some(self.door_facts(t, &s.device.device_id).await?);
            if b.package.is_some() {
                let detail = serde_json::json!({ "kind": "sealed", "version": b.version });
                let (campaign, device) = (&s.device.campaign_id, Some(s.device.device_id.as_str()));
                self.record(campaign, &s.device.user_id, device, "turf.download", Some(&t.id), detail).await?;
            }
            buckets.push(b);
        }
        for t in &turfs {
            // Two reads at once (two connections on PostgreSQL): the package and the standing reports.
            let (mut b, facts) = tokio::try_join!(
                self.bucket(t, held.get(t.id.as_str()).copied()),
                self.door_facts(t, &s.device.device_id)
            )?;
            b.door_facts = Some(facts);
            // Logged before the doors leave the server.
            let kind = if b.package.is_some() { Some("package") } else { b.delta.as_ref().map(|_| "delta") };
            if let Some(kind) = kind {
                let detail = serde_json::json!({ "kind": kind, "version": b.version });
                let (campaign, device) = (&s.device.campaign_id, Some(s.device.device_id.as_str()));
                self.record(campaign, &s.device.user_id, device, "turf.download", Some(&t.id), detail).await?;
            }
            buckets.push(b);
        }
        let removed = req
            .held
            .iter()
            .filter(|h| !turfs.iter().chain(&sealed).any(|t| t.id == h.turf_id))
            .map(|h| h.turf_id.clone())
            .collect();
        let versions: Vec<(String, u64)> = buckets.iter().map(|b| (b.turf_id.clone(), b.version)).collect();
        Ok(PullResponse {
            protocol: PROTOCOL_VERSION,
            cursor: encode_cursor(&versions),
            buckets,
            removed,
            wipe: false,
            server_time_ms: now,
        })
    }

    /// A version of a campaign's script, from memory once read (versions are immutable).
    async fn script(
        &self,
        campaign: &str,
        version: u32,
    ) -> Result<Option<(doorstep_protocol::SurveyScript, Vec<doorstep_protocol::ResultCode>)>, ServiceError> {
        let key = (campaign.to_string(), version);
        if let Some(hit) = self.scripts.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(Some(hit.clone()));
        }
        let found = self.store.script(campaign, version).await?;
        if let Some(f) = &found {
            self.scripts.lock().unwrap_or_else(|p| p.into_inner()).insert(key, f.clone());
        }
        Ok(found)
    }

    /// One turf's bucket. A device that is current gets the cached checksum alone (no package is
    /// built); one a few versions behind gets a delta from the op log; anyone else the package.
    /// What door status needs of the other devices' reports on a turf's doors (the asking device
    /// has its own): per door, the strongest standing one ([`doorstep_protocol::status::standing_for`]),
    /// kept by the ingest — one report per door at most, however long the door's history.
    async fn door_facts(&self, t: &crate::store::TurfRow, device: &str) -> Result<Vec<DoorFact>, ServiceError> {
        let rows = self.store.turf_standing(&t.id).await?;
        let mut out = Vec::new();
        for door in rows.chunk_by(|a, b| a.door_id == b.door_id) {
            let facts: Vec<_> = door.iter().map(|r| (r.rank, r.fact())).collect();
            let rank = |k: i64| facts.iter().find(|(r, _)| *r == k).map(|(_, f)| f);
            if let Some(f) = doorstep_protocol::status::standing_for((rank(0), rank(1)), device) {
                out.push(DoorFact {
                    door_id: door[0].door_id.clone(),
                    report_id: f.fact.id.clone(),
                    supersedes: f.fact.supersedes.clone(),
                    outcome: f.fact.outcome,
                });
            }
        }
        Ok(out)
    }

    async fn bucket(&self, t: &crate::store::TurfRow, held: Option<u64>) -> Result<PullBucket, ServiceError> {
        if held == Some(t.version)
            && let Some((v, sum)) = &t.checksum
            && *v == t.version
        {
            return Ok(PullBucket {
                turf_id: t.id.clone(),
                version: t.version,
                checksum: sum.clone(),
                package: None,
                delta: None,
                door_facts: None,
                staged: false,
            });
        }
        let pkg = self.package(&t.id).await?.ok_or_else(|| ServiceError::not_found("turf vanished"))?;
        // The package is read in its own snapshot: its version is the one to describe (its
        // checksum computed and kept once per version).
        let checksum = match &t.checksum {
            Some((v, sum)) if *v == pkg.turf.version => sum.clone(),
            _ => {
                let sum = turf_checksum(&pkg);
                self.store.set_checksum(&t.id, pkg.turf.version, &sum).await?;
                sum
            }
        };
        let version = pkg.turf.version;
        let mut bucket = PullBucket {
            turf_id: t.id.clone(),
            version,
            checksum,
            package: None,
            delta: None,
            door_facts: None,
            staged: false,
        };
        match held {
            Some(h) if h == version => {}
            Some(h) if h > 0 && h < version => {
                let ops = self.store.turf_ops(&t.id, h).await?;
                let complete =
                    ops.len() as u64 == version - h && ops.iter().enumerate().all(|(i, (v, _))| *v == h + 1 + i as u64);
                if complete {
                    bucket.delta = Some(crate::delta::delta_from(&pkg, h, &ops));
                } else {
                    bucket.package = Some(pkg);
                }
            }
            _ => bucket.package = Some(pkg),
        }
        Ok(bucket)
    }

    // ----- coordinator operations used by the demo and tests (HTTP: see `admin`) -----------------

    pub async fn create_campaign(&self, c: &Campaign) -> StoreResult<()> {
        self.store.create_campaign(c, (self.now)()).await
    }

    /// Creates a volunteer and a one-time join code for them. Returns (volunteer id, code).
    pub async fn invite_volunteer(&self, campaign_id: &str, user_id: &str, name: &str) -> StoreResult<String> {
        self.store
            .create_user(&User {
                id: user_id.into(),
                campaign_id: campaign_id.into(),
                role: Role::Volunteer,
                display_name: name.into(),
                team_id: None,
            })
            .await?;
        let code = auth::new_join_code();
        self.store
            .create_join_code(
                &auth::hash_secret(&auth::normalise_code(&code)),
                user_id,
                (self.now)() + JOIN_CODE_LIFETIME_MS,
            )
            .await?;
        Ok(code)
    }

    pub async fn turf_package(&self, turf_id: &str) -> StoreResult<Option<TurfPackage>> {
        self.package(turf_id).await
    }

    /// A turf's package as devices get it: with the part of the campaign's street network around
    /// its buildings, so the phone can route along streets offline.
    pub async fn package(&self, turf_id: &str) -> StoreResult<Option<TurfPackage>> {
        let Some(mut pkg) = self.store.turf_package(turf_id).await? else { return Ok(None) };
        if let Some(net) = self.network(&pkg.campaign.id).await?
            && !pkg.buildings.is_empty()
        {
            // Around the doors whose position can be right: a failed geocode at (0, 0) or a door
            // far outside the turf must not pull half a country's streets into the package.
            let pts: Vec<(f64, f64)> = pkg.buildings.iter().map(|b| (b.lat, b.lon)).collect();
            let pts = doorstep_streets::misplaced::clip_points(&pts);
            pkg.street_network = Some(doorstep_streets::streets::clip(&net, &pts, NETWORK_MARGIN_M));
        }
        Ok(Some(pkg))
    }

    pub(crate) async fn network(&self, campaign: &str) -> StoreResult<Option<Arc<doorstep_protocol::StreetNetwork>>> {
        let Some(version) = self.store.street_network_version(campaign).await? else { return Ok(None) };
        if let Some((v, n)) = self.networks.lock().unwrap_or_else(|p| p.into_inner()).get(campaign)
            && *v == version
        {
            return Ok(Some(n.clone()));
        }
        let Some((version, body)) = self.store.street_network(campaign).await? else { return Ok(None) };
        let net: doorstep_protocol::StreetNetwork = serde_json::from_str(&body)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("street network of {campaign}: {e}")))?;
        let net = Arc::new(net);
        self.networks.lock().unwrap_or_else(|p| p.into_inner()).insert(campaign.to_string(), (version, net.clone()));
        Ok(Some(net))
    }
}

/// The push's audit line: the device, counts per outcome, and why reports were refused (codes
/// only, never content).
pub(crate) fn push_audit(id: &str, sender: &Sender, now: i64, decisions: &[Decision]) -> crate::store::AuditEntry {
    let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
    let mut refused: std::collections::BTreeMap<&str, u64> = Default::default();
    for d in decisions {
        let k = match d {
            Decision::Accept(w) if w.overlap => "accepted_overlap",
            Decision::Accept(_) => "accepted",
            Decision::Hold(..) => "held",
            Decision::Duplicate => "duplicate",
            Decision::Reject(e) => {
                *refused.entry(e.code()).or_default() += 1;
                "rejected"
            }
        };
        *counts.entry(k).or_default() += 1;
    }
    let dropped = decisions.iter().filter(|d| matches!(d, Decision::Accept(w) if w.personal_dropped)).count();
    let outcome = if sender.revoked { "revoked" } else { "ok" };
    crate::store::AuditEntry {
        id: id.to_string(),
        at_ms: now,
        campaign_id: sender.campaign_id.clone(),
        actor: sender.user_id.clone(),
        device_id: Some(sender.device_id.clone()),
        action: "sync.push".into(),
        subject: None,
        detail: serde_json::json!({
            "reports": decisions.len(), "counts": counts, "refused": refused,
            "personal_data_dropped": dropped, "device": outcome,
        }),
    }
}

fn encode_cursor(versions: &[(String, u64)]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&(1u8, versions)).expect("serialisable"))
}

fn decode_cursor(s: &str) -> Option<Vec<(String, u64)>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()?;
    let (v, versions): (u8, Vec<(String, u64)>) = serde_json::from_slice(&bytes).ok()?;
    (v == 1).then_some(versions)
}
