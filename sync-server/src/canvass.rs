//! Canvass sessions ("séances", issue 17): published by coordinators and captains, seen and
//! signed up for by volunteers from their phones — sign-up events written offline into the same
//! outbox as knocks and decided by the rule book (`validate::session`), the phone first, the
//! server again here. Audited here.

use serde::{Deserialize, Serialize};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use doorstep_protocol::validate::handoff::{self, HandoffError, HandoffOutcome};
use doorstep_protocol::validate::session::{check_session, may_see};
use doorstep_protocol::{
    Attendance, GrantRequest, HandoffPush, PROTOCOL_VERSION, PushItemResult, PushResponse, Session, SignedGrant,
    SignupEvent, SignupPush, Visibility,
};

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::{DeviceSession, Service};
use crate::store::{Role, SessionCounts, StoreOps};

/// Most sign-up events in one push.
pub const MAX_SIGNUPS_PER_PUSH: usize = 200;
/// How long after its end a session stays on the dashboard's list.
pub const SESSIONS_LOOKBACK_MS: i64 = 14 * 86_400_000;
/// Most hand-offs in one push (a captain hands out a few dozen in a morning).
pub const MAX_HANDOFFS_PER_PUSH: usize = 100;

/// A session on the dashboard: its standings counted, and attendance **measured, not typed**: a
/// volunteer attended if they knocked at least one door under a lease of the session.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SessionReport {
    #[serde(flatten)]
    pub counts: SessionCounts,
    /// By the server's clock: `upcoming`, `ongoing`, `over` or `called_off`.
    pub phase: &'static str,
    /// Volunteers who knocked at least one door under a lease of the session.
    pub attended: u32,
    /// Doors knocked under its leases (a building-level knock counts once for the building).
    pub doors: u32,
    /// Of those, doors where a conversation took place.
    pub contacts: u32,
    /// Once the session is over: signed up (not cancelled) and never knocked under its leases.
    pub no_shows: Option<u32>,
    /// `no_shows` over those signed up (not cancelled); none before the end or with nobody signed up.
    pub no_show_rate: Option<f64>,
}

/// The figures of [`SessionReport`] from a session's standings (`(volunteer, state)`) and the
/// knocks under its leases (`(volunteer, door, contact)`); `over`: the session has ended.
pub fn attendance(
    standings: &[(String, String)],
    knocks: &[(String, String, bool)],
    over: bool,
) -> (u32, u32, u32, Option<u32>, Option<f64>) {
    use std::collections::{BTreeMap, BTreeSet};
    let attended: BTreeSet<&str> = knocks.iter().map(|(v, _, _)| v.as_str()).collect();
    let mut doors: BTreeMap<&str, bool> = BTreeMap::new();
    for (_, d, contact) in knocks {
        *doors.entry(d.as_str()).or_default() |= *contact;
    }
    let registered: Vec<&str> = standings
        .iter()
        .filter(|(_, s)| matches!(s.as_str(), "signed_up" | "confirmed" | "checked_in" | "no_show"))
        .map(|(v, _)| v.as_str())
        .collect();
    let no_shows = over.then(|| registered.iter().filter(|v| !attended.contains(*v)).count() as u32);
    let rate = no_shows.filter(|_| !registered.is_empty()).map(|n| f64::from(n) / registered.len() as f64);
    (attended.len() as u32, doors.len() as u32, doors.values().filter(|c| **c).count() as u32, no_shows, rate)
}

/// The reminder plan every session gets in its calendar file: a day and two hours before.
pub const REMINDERS_BEFORE_MS: [i64; 2] = [24 * 3_600_000, 2 * 3_600_000];

/// A session as an iCalendar file (RFC 5545) for the phone's or the coordinator's calendar: one
/// event in UTC, its meeting point as `LOCATION` and `GEO`, called off as `STATUS:CANCELLED`, and
/// an alarm for each step of the reminder plan. Written here rather than with a crate: one event
/// of eight properties, escaped and folded as the RFC says, is shorter than a dependency's glue.
pub fn session_ics(s: &Session, now_ms: i64) -> String {
    fn utc(ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y%m%dT%H%M%SZ").to_string()
    }
    fn text(v: &str) -> String {
        let mut out = String::with_capacity(v.len());
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                ';' => out.push_str("\\;"),
                ',' => out.push_str("\\,"),
                '\n' => out.push_str("\\n"),
                '\r' => {}
                c => out.push(c),
            }
        }
        out
    }
    // Content lines longer than 75 octets are folded: CRLF and a space, never inside a character.
    fn fold(line: &str, out: &mut String) {
        let mut width = 0;
        for c in line.chars() {
            if width + c.len_utf8() > 75 {
                out.push_str("\r\n ");
                width = 1;
            }
            out.push(c);
            width += c.len_utf8();
        }
        out.push_str("\r\n");
    }
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//Doorstep//Seances//FR".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{}@{}.doorstep", text(&s.id), text(&s.campaign_id)),
        format!("DTSTAMP:{}", utc(now_ms)),
        format!("DTSTART:{}", utc(s.start_ms)),
        format!("DTEND:{}", utc(s.end_ms)),
        format!("SUMMARY:{}", text(&s.title)),
        format!("LOCATION:{}", text(&s.meeting_text)),
        format!("GEO:{:.6};{:.6}", s.meeting_lat, s.meeting_lon),
        format!("STATUS:{}", if s.cancelled { "CANCELLED" } else { "CONFIRMED" }),
    ];
    for before in REMINDERS_BEFORE_MS {
        lines.extend([
            "BEGIN:VALARM".to_string(),
            "ACTION:DISPLAY".into(),
            format!("DESCRIPTION:{}", text(&format!("Rappel : {}", s.title))),
            format!("TRIGGER:-PT{}H", before / 3_600_000),
            "END:VALARM".into(),
        ]);
    }
    lines.extend(["END:VEVENT".to_string(), "END:VCALENDAR".into()]);
    let mut out = String::new();
    for l in &lines {
        fold(l, &mut out);
    }
    out
}

/// What a phone needs to check hand-offs with no network: the campaign's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CampaignKeys {
    pub campaign_id: String,
    /// Ed25519, 32 bytes, base64url without padding: signs the grants of captains' devices.
    pub campaign_key: String,
}

/// A one-time code for a captain's (or coordinator's) own phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhoneCode {
    pub user_id: String,
    pub join_code: String,
    pub expires_ms: i64,
}

/// A session as a volunteer's phone sees it: the session and the volunteer's standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VolunteerSession {
    pub session: Session,
    pub standing: Option<Attendance>,
    /// Places left (capacity less those signed up, confirmed or checked in).
    pub places_left: u32,
    /// The volunteer's coopains who are going (signed up, confirmed or checked in), by the names
    /// the volunteer may see: "Léa y va" pairs them before the day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coopains: Vec<String>,
}

impl Service {
    /// Publishes a session. Coordinators publish any; a captain only sessions of a team they
    /// lead, with themselves among its captains. Captains named must be the campaign's captains or
    /// coordinators; turfs must be the campaign's (a captain's: their teams').
    pub async fn create_session(&self, st: &Staff, mut s: Session) -> Result<Session, ServiceError> {
        s.campaign_id = st.campaign().to_string();
        check_session(&s).map_err(|e| ServiceError::invalid("bad_session", e.to_string()))?;
        if !st.is_coordinator() {
            let own_team = s.visibility == Visibility::Team && st.reaches_team(s.team_id.as_deref());
            if !own_team || !s.captains.contains(&st.user.id) {
                return Err(ServiceError::forbidden(
                    "un capitaine publie les séances de ses équipes, dont il est capitaine / a captain publishes sessions of the teams they lead, as one of their captains",
                ));
            }
        }
        self.check_session_refs(st, &s).await?;
        self.store.create_session(&s, &st.user.id, (self.now)()).await?;
        self.record_staff(st, "session.create", Some(&s.id), serde_json::json!({ "turfs": s.turfs.len() })).await?;
        Ok(s)
    }

    /// Edits a published session (`PUT /api/v1/sessions/{id}`): a coordinator any of the campaign's;
    /// a captain only a session of a team they lead that they captain (and it stays a team
    /// session). The rule book decides what may change (`validate::session::check_edit`: the same
    /// times, a called-off session not reopened, no fewer places than taken). A captain taken off
    /// hands out nothing more: their hand-offs are refused from then on (and what was knocked
    /// under them held for review).
    pub async fn edit_session(&self, st: &Staff, id: &str, mut s: Session) -> Result<Session, ServiceError> {
        if s.id != id {
            return Err(ServiceError::invalid("id_mismatch", "the body's id is not the path's"));
        }
        s.campaign_id = st.campaign().to_string();
        let old = self
            .store
            .session(id)
            .await?
            .filter(|o| o.campaign_id == st.campaign())
            .ok_or_else(|| ServiceError::not_found("no such session"))?;
        if !st.is_coordinator() {
            let own = |x: &Session| x.visibility == Visibility::Team && st.reaches_team(x.team_id.as_deref());
            if !own(&old) || !own(&s) || !old.captains.contains(&st.user.id) {
                return Err(ServiceError::forbidden(
                    "un capitaine modifie les séances de ses équipes, dont il est capitaine / a captain edits sessions of the teams they lead, that they captain",
                ));
            }
        }
        self.check_session_refs(st, &s).await?;
        let old = match self.store.edit_session(&s).await? {
            Ok(old) => old,
            Err(e) => return Err(ServiceError::invalid(edit_code(&e), e.to_string())),
        };
        let detail = serde_json::json!({
            "called_off": s.cancelled && !old.cancelled,
            "captains": s.captains,
            "turfs": s.turfs.len(),
            "capacity": s.capacity,
        });
        self.record_staff(st, "session.edit", Some(&s.id), detail).await?;
        Ok(s)
    }

    /// What a session names must be the campaign's and within the staff member's reach: its team,
    /// its captains (captains or coordinators), its turfs.
    async fn check_session_refs(&self, st: &Staff, s: &Session) -> Result<(), ServiceError> {
        if let Some(team) = &s.team_id
            && !self.store.teams(st.campaign()).await?.iter().any(|t| &t.id == team)
        {
            return Err(ServiceError::invalid("unknown_team", format!("team {team} is not of this campaign")));
        }
        for c in &s.captains {
            let u = self.store.user(c).await?.filter(|u| u.campaign_id == st.campaign());
            if u.as_ref().is_none_or(|u| !matches!(u.role, Role::Captain | Role::Coordinator)) {
                return Err(ServiceError::invalid("not_a_captain", format!("{c} is not a captain of this campaign")));
            }
        }
        for t in &s.turfs {
            match self.store.turf(t).await? {
                Some(turf) if turf.campaign_id == st.campaign() && st.reaches_team(turf.team_id.as_deref()) => {}
                _ => return Err(ServiceError::invalid("unknown_turf", format!("turf {t} is not within reach"))),
            }
        }
        Ok(())
    }

    /// The sessions not over yet that a staff member reaches: all of the campaign's for a
    /// coordinator; for a captain, those of their teams, those they captain, and campaign-wide ones.
    /// Sessions ended within [`SESSIONS_LOOKBACK_MS`] are listed too, for their attendance.
    pub async fn sessions(&self, st: &Staff) -> Result<Vec<SessionReport>, ServiceError> {
        let now = (self.now)();
        let all = self.store.campaign_sessions(st.campaign(), now.saturating_sub(SESSIONS_LOOKBACK_MS)).await?;
        let campaign =
            self.store.campaign(st.campaign()).await?.ok_or_else(|| ServiceError::not_found("campaign vanished"))?;
        let mut out = Vec::new();
        for c in all {
            let s = &c.session;
            let reached = st.is_coordinator()
                || s.visibility != Visibility::Team
                || st.reaches_team(s.team_id.as_deref())
                || s.captains.contains(&st.user.id);
            if !reached {
                continue;
            }
            let (standings, work) = self.store.session_work(&s.id).await?;
            let knocks: Vec<(String, String, bool)> = work
                .into_iter()
                .map(|(v, d, code)| {
                    let contact =
                        campaign.result_code(&code).is_some_and(|c| c.outcome == doorstep_protocol::Outcome::Contacted);
                    (v, d, contact)
                })
                .collect();
            let (attended, doors, contacts, no_shows, no_show_rate) = attendance(&standings, &knocks, now >= s.end_ms);
            let phase = if s.cancelled {
                "called_off"
            } else if now < s.start_ms {
                "upcoming"
            } else if now < s.end_ms {
                "ongoing"
            } else {
                "over"
            };
            out.push(SessionReport { counts: c, phase, attended, doors, contacts, no_shows, no_show_rate });
        }
        Ok(out)
    }

    /// The sessions a phone shows: those not over that its volunteer may see (a captain's phone:
    /// also those they captain), with their standing and the places left.
    /// A revoked device (until it acknowledges its wipe) sees none: where and when the team meets
    /// is not for a lost phone.
    pub async fn volunteer_sessions(&self, dev: &DeviceSession) -> Result<Vec<VolunteerSession>, ServiceError> {
        if dev.revoked {
            return Ok(Vec::new());
        }
        let me = &dev.user;
        let standings: std::collections::HashMap<String, Attendance> =
            self.store.standings(&me.id).await?.into_iter().collect();
        let mut going: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
        for (session, name) in self.store.coopains_going(me).await? {
            going.entry(session).or_default().push(name);
        }
        Ok(self
            .store
            .campaign_sessions(&me.campaign_id, (self.now)())
            .await?
            .into_iter()
            .filter(|c| {
                may_see(&c.session, &me.campaign_id, me.team_id.as_deref()) || c.session.captains.contains(&me.id)
            })
            .map(|c| {
                let taken = c.signed_up + c.confirmed + c.checked_in + c.public;
                VolunteerSession {
                    standing: standings.get(&c.session.id).copied(),
                    coopains: going.remove(&c.session.id).unwrap_or_default(),
                    places_left: c.session.capacity.saturating_sub(taken),
                    session: c.session,
                }
            })
            .collect())
    }

    /// A phone's sign-up events, each answered like a pushed knock: accepted, duplicate (a
    /// replay), or rejected with the rule book's reason. A revoked device's events change nothing.
    pub async fn push_signups(&self, dev: &DeviceSession, req: SignupPush) -> Result<PushResponse, ServiceError> {
        crate::service::check_protocol(req.protocol)?;
        if req.device_id != dev.device.device_id {
            return Err(ServiceError::forbidden("device_id does not match the token"));
        }
        let results = self.signup_results(dev, &req.events).await?;
        Ok(PushResponse { protocol: PROTOCOL_VERSION, results, server_time_ms: (self.now)() })
    }

    async fn signup_results(
        &self,
        dev: &DeviceSession,
        events: &[SignupEvent],
    ) -> Result<Vec<PushItemResult>, ServiceError> {
        if events.len() > MAX_SIGNUPS_PER_PUSH {
            return Err(ServiceError::too_large(
                "too_many_items",
                format!("at most {MAX_SIGNUPS_PER_PUSH} sign-up events per push"),
            ));
        }
        if dev.revoked {
            return Ok(events
                .iter()
                .map(|e| PushItemResult {
                    id: e.id.clone(),
                    status: doorstep_protocol::ItemStatus::Rejected {
                        reason: "appareil révoqué / device revoked".into(),
                        code: Some("revoked".into()),
                    },
                    notice: None,
                })
                .collect());
        }
        let me = &dev.user;
        let (_, key) = self.campaign_signing_key(&me.campaign_id).await?;
        Ok(self.store.record_signups(me, &dev.device.device_id, events, &key, (self.now)()).await?)
    }

    /// The campaign's signing key, made the first time it is needed (Ed25519; the private half
    /// never leaves the server's database).
    pub(crate) async fn campaign_signing_key(&self, campaign_id: &str) -> Result<(Vec<u8>, String), ServiceError> {
        let fresh = handoff::new_key().ok_or_else(|| ServiceError::internal("no randomness for a key"))?;
        let public =
            handoff::public_key_of(&fresh).ok_or_else(|| ServiceError::internal("a new key has a public half"))?;
        let (pkcs8, public) =
            self.store.campaign_key(campaign_id, (&B64.encode(&fresh), &public), (self.now)()).await?;
        let pkcs8 = B64.decode(pkcs8).map_err(|_| ServiceError::internal("the campaign's key is unreadable"))?;
        Ok((pkcs8, public))
    }

    /// The campaign's public key, for a phone to check hand-offs offline.
    pub async fn campaign_keys(&self, dev: &DeviceSession) -> Result<CampaignKeys, ServiceError> {
        let (_, campaign_key) = self.campaign_signing_key(&dev.device.campaign_id).await?;
        Ok(CampaignKeys { campaign_id: dev.device.campaign_id.clone(), campaign_key })
    }

    /// A one-time join code for the caller's own phone: a captain's phone signs hand-offs with a
    /// key of its own, vouched for by the server per session (`POST /api/v1/sync/grants`).
    pub async fn phone_code(&self, st: &Staff) -> Result<PhoneCode, ServiceError> {
        let code = crate::auth::new_join_code();
        let expires_ms = (self.now)() + crate::service::JOIN_CODE_LIFETIME_MS;
        self.store
            .create_join_code(&crate::auth::hash_secret(&crate::auth::normalise_code(&code)), &st.user.id, expires_ms)
            .await?;
        self.record_staff(st, "phone.code", Some(&st.user.id), serde_json::json!({})).await?;
        Ok(PhoneCode { user_id: st.user.id.clone(), join_code: code, expires_ms })
    }

    /// A session's calendar file, for a staff member who reaches it or a phone that may see it
    /// (a revoked phone: none).
    pub async fn session_calendar(&self, dev: &DeviceSession, session_id: &str) -> Result<String, ServiceError> {
        let unknown = || ServiceError::not_found(format!("séance inconnue / unknown session {session_id}"));
        let s = self
            .store
            .session(session_id)
            .await?
            .filter(|s| s.campaign_id == dev.device.campaign_id)
            .ok_or_else(unknown)?;
        let visible = if dev.is_phone() {
            let me = &dev.user;
            !dev.revoked && (may_see(&s, &me.campaign_id, me.team_id.as_deref()) || s.captains.contains(&me.id))
        } else {
            let st = self.staff(dev).await.map_err(|e| ServiceError::forbidden(e.message))?;
            st.is_coordinator()
                || s.visibility != Visibility::Team
                || st.reaches_team(s.team_id.as_deref())
                || s.captains.contains(&st.user.id)
        };
        if !visible {
            return Err(unknown());
        }
        Ok(session_ics(&s, (self.now)()))
    }

    /// Gives a captain's phone its grant for a session: the server's signature over the phone's
    /// public key, the session and a window (`validate::handoff::decide_grant`). Audited.
    pub async fn grant(&self, dev: &DeviceSession, req: GrantRequest) -> Result<SignedGrant, ServiceError> {
        crate::service::check_protocol(req.protocol)?;
        if req.device_id != dev.device.device_id {
            return Err(ServiceError::forbidden("device_id does not match the token"));
        }
        if dev.revoked {
            return Err(ServiceError::unauthenticated(
                "token_revoked",
                "ce jeton a été révoqué / this token was revoked",
            ));
        }
        let me = &dev.user;
        let session =
            self.store.session(&req.session_id).await?.filter(|s| s.campaign_id == me.campaign_id).ok_or_else(
                || ServiceError::not_found(format!("séance inconnue / unknown session {}", req.session_id)),
            )?;
        let grant = handoff::decide_grant(&session, &me.id, &dev.device.device_id, &req.public_key, (self.now)())
            .map_err(|e| match e {
                HandoffError::NotCaptain => ServiceError::forbidden(e.to_string()),
                _ => ServiceError::invalid(e.code(), e.to_string()),
            })?;
        let (pkcs8, _) = self.campaign_signing_key(&me.campaign_id).await?;
        let signed = handoff::sign_grant(&pkcs8, grant)
            .ok_or_else(|| ServiceError::internal("the campaign's key does not sign"))?;
        self.store.record_grant(&signed.grant, (self.now)()).await?;
        let device = Some(dev.device.device_id.as_str());
        let detail =
            serde_json::json!({ "not_before_ms": signed.grant.not_before_ms, "expires_ms": signed.grant.expires_ms });
        self.record(&me.campaign_id, &me.id, device, "session.grant", Some(&session.id), detail).await?;
        Ok(signed)
    }

    /// Hand-offs brought in by either phone of a pair: each decided by the rule book, recorded
    /// once, and (accepted, still open) applied as if the captain had assigned the lease online.
    /// A revoked phone's hand-offs change nothing.
    pub async fn push_handoffs(&self, dev: &DeviceSession, req: HandoffPush) -> Result<PushResponse, ServiceError> {
        crate::service::check_protocol(req.protocol)?;
        if req.device_id != dev.device.device_id {
            return Err(ServiceError::forbidden("device_id does not match the token"));
        }
        if req.handoffs.len() > MAX_HANDOFFS_PER_PUSH {
            return Err(ServiceError::too_large(
                "too_many_items",
                format!("at most {MAX_HANDOFFS_PER_PUSH} hand-offs per push"),
            ));
        }
        let now = (self.now)();
        if dev.revoked {
            let status = doorstep_protocol::ItemStatus::Rejected {
                reason: "appareil révoqué / device revoked".into(),
                code: Some("revoked".into()),
            };
            let results = req
                .handoffs
                .iter()
                .map(|h| PushItemResult { id: h.handoff.id.clone(), status: status.clone(), notice: None })
                .collect();
            return Ok(PushResponse { protocol: PROTOCOL_VERSION, results, server_time_ms: now });
        }
        let me = &dev.user;
        let (_, key) = self.campaign_signing_key(&me.campaign_id).await?;
        let recorded = self
            .store
            .record_handoffs(&me.campaign_id, &key, (&dev.device.device_id, &me.id), &req.handoffs, now)
            .await?;
        let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
        for o in &recorded.outcomes {
            let k = match o {
                HandoffOutcome::Accept => "accepted",
                HandoffOutcome::Duplicate => "duplicate",
                HandoffOutcome::Refuse(e) | HandoffOutcome::Reject(e) | HandoffOutcome::Replay(e) => e.code(),
            };
            *counts.entry(k).or_default() += 1;
        }
        let device = Some(dev.device.device_id.as_str());
        self.record(&me.campaign_id, &me.id, device, "handoff.push", None, serde_json::json!(counts)).await?;
        if !recorded.turfs_touched.is_empty() {
            self.announce(&me.campaign_id, "turfs", recorded.turfs_touched.clone(), None, 0, None).await;
        }
        Ok(PushResponse { protocol: PROTOCOL_VERSION, results: recorded.results, server_time_ms: now })
    }

    // ----- sealed turfs: what a pull sends for the sessions a phone is involved in -------------

    /// The turfs the phone holds sealed: those of the sessions it is involved in now
    /// (`validate::session::stages`), less those its user holds.
    pub(crate) async fn staged_turfs(
        &self,
        s: &DeviceSession,
        held: &[crate::store::TurfRow],
        now: i64,
    ) -> Result<Vec<crate::store::TurfRow>, ServiceError> {
        use doorstep_protocol::validate::{handoff::GRANT_AFTER_MS, session::stages};
        let user = &s.device.user_id;
        let standings: std::collections::HashMap<String, Attendance> =
            self.store.standings(user).await?.into_iter().collect();
        let sessions = self.store.campaign_sessions(&s.device.campaign_id, now.saturating_sub(GRANT_AFTER_MS)).await?;
        let mut ids: Vec<&String> = sessions
            .iter()
            .filter(|c| stages(&c.session, user, standings.get(&c.session.id).copied(), now))
            .flat_map(|c| &c.session.turfs)
            .filter(|id| !held.iter().any(|t| &t.id == *id))
            .collect();
        ids.sort();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = self.store.turf(id).await?.filter(|t| t.campaign_id == s.device.campaign_id) {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// A sealed turf's bucket: the package without households or people (minimisation: names come
    /// with the lease), always whole when the phone's version differs (no delta).
    pub(crate) async fn sealed_bucket(
        &self,
        t: &crate::store::TurfRow,
        held: Option<u64>,
    ) -> Result<doorstep_protocol::PullBucket, ServiceError> {
        let mut pkg = self.package(&t.id).await?.ok_or_else(|| ServiceError::not_found("turf vanished"))?;
        pkg.households.clear();
        pkg.people.clear();
        // Whoever holds it now is not the phone's business; the phone keeps it as long as the
        // server lists it.
        pkg.turf.volunteer_id = String::new();
        pkg.turf.lease_expires_ms = None;
        let checksum = doorstep_protocol::turf_checksum(&pkg);
        let version = pkg.turf.version;
        Ok(doorstep_protocol::PullBucket {
            turf_id: t.id.clone(),
            version,
            checksum,
            package: (held != Some(version)).then_some(pkg),
            delta: None,
            door_facts: None,
            staged: true,
        })
    }
}

/// The error code of a refused edit.
fn edit_code(e: &doorstep_protocol::validate::session::SessionError) -> &'static str {
    use doorstep_protocol::validate::session::SessionError as E;
    match e {
        E::TimesFixed => "session_times_fixed",
        E::CalledOffFinal => "session_called_off",
        E::BelowTaken { .. } => "capacity_below_taken",
        E::Identity => "session_identity",
        _ => "bad_session",
    }
}

#[cfg(test)]
mod tests {
    use super::{attendance, session_ics};

    /// The calendar file: CRLF lines of at most 75 octets, text escaped, UTC times, the plan's
    /// two alarms, a called-off session said so.
    #[test]
    fn a_session_as_icalendar() {
        let s = doorstep_protocol::Session {
            id: "s-marche".into(),
            campaign_id: "nantes-2026".into(),
            title: "Samedi matin, marché; quartier nord — une très longue description pour éprouver le pliage".into(),
            start_ms: 1_780_380_000_000,
            end_ms: 1_780_390_800_000,
            meeting_lat: 47.2184,
            meeting_lon: -1.5536,
            meeting_text: "Devant le marché\ncôté fontaine".into(),
            capacity: 12,
            captains: vec!["cap".into()],
            turfs: vec![],
            team_id: None,
            visibility: doorstep_protocol::Visibility::Campaign,
            cancelled: false,
        };
        let ics = session_ics(&s, 1_780_000_000_000);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.split("\r\n").all(|l| l.len() <= 75), "{ics}");
        assert!(!ics.replace("\r\n", "").contains('\n'), "no bare line feed");
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("DTSTART:20260602T060000Z\r\nDTEND:20260602T090000Z\r\n"), "{unfolded}");
        assert!(unfolded.contains("SUMMARY:Samedi matin\\, marché\\; quartier nord — une très longue"), "{unfolded}");
        assert!(unfolded.contains("LOCATION:Devant le marché\\ncôté fontaine\r\n"), "{unfolded}");
        assert!(unfolded.contains("GEO:47.218400;-1.553600") && unfolded.contains("STATUS:CONFIRMED"));
        assert_eq!((unfolded.matches("TRIGGER:-PT24H").count(), unfolded.matches("TRIGGER:-PT2H").count()), (1, 1));
        let off = doorstep_protocol::Session { cancelled: true, ..s };
        assert!(session_ics(&off, 0).contains("STATUS:CANCELLED"));
    }

    /// Attendance is measured: one row per case.
    #[test]
    fn attendance_is_measured_not_typed() {
        let st = |v: &str, s: &str| (v.to_string(), s.to_string());
        let k = |v: &str, d: &str, c: bool| (v.to_string(), d.to_string(), c);
        let standings =
            vec![st("lea", "checked_in"), st("noe", "confirmed"), st("ana", "cancelled"), st("tom", "signed_up")];
        let knocks = vec![k("lea", "d1", false), k("lea", "d1", true), k("lea", "d2", false), k("walk-in", "d3", true)];
        // Léa and a walk-in knocked; Noé and Tom never did; Ana cancelled.
        assert_eq!(attendance(&standings, &knocks, true), (2, 3, 2, Some(2), Some(2.0 / 3.0)));
        assert_eq!(attendance(&standings, &knocks, false), (2, 3, 2, None, None), "not over: no no-shows yet");
        assert_eq!(attendance(&[], &[], true), (0, 0, 0, Some(0), None), "nobody signed up: no rate");
    }
}
