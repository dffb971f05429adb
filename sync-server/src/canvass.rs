//! Canvass sessions ("séances", issue 17): published by coordinators and captains, seen and
//! signed up for by volunteers from their phones — sign-up events written offline into the same
//! outbox as knocks and decided by the rule book (`validate::session`), the phone first, the
//! server again here. Audited here.

use serde::{Deserialize, Serialize};

use doorstep_protocol::validate::session::{check_session, may_see};
use doorstep_protocol::{
    Attendance, PROTOCOL_VERSION, PushItemResult, PushResponse, Session, SignupEvent, SignupPush, Visibility,
};

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::{DeviceSession, Service};
use crate::store::{Role, SessionCounts, StoreOps, User};

/// Most sign-up events in one push.
pub const MAX_SIGNUPS_PER_PUSH: usize = 200;

/// A session as a volunteer's phone sees it: the session and the volunteer's standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VolunteerSession {
    pub session: Session,
    pub standing: Option<Attendance>,
    /// Places left (capacity less those signed up, confirmed or checked in).
    pub places_left: u32,
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
        self.store.create_session(&s, &st.user.id, (self.now)()).await?;
        self.record_staff(st, "session.create", Some(&s.id), serde_json::json!({ "turfs": s.turfs.len() })).await?;
        Ok(s)
    }

    /// The sessions not over yet that a staff member reaches: all of the campaign's for a
    /// coordinator; for a captain, those of their teams, those they captain, and campaign-wide ones.
    pub async fn sessions(&self, st: &Staff) -> Result<Vec<SessionCounts>, ServiceError> {
        let all = self.store.campaign_sessions(st.campaign(), (self.now)()).await?;
        Ok(all
            .into_iter()
            .filter(|c| {
                let s = &c.session;
                st.is_coordinator()
                    || s.visibility != Visibility::Team
                    || st.reaches_team(s.team_id.as_deref())
                    || s.captains.contains(&st.user.id)
            })
            .collect())
    }

    /// The sessions a volunteer's phone shows: those not over that they may see, with their
    /// standing and the places left.
    /// A revoked device (until it acknowledges its wipe) sees none: where and when the team meets
    /// is not for a lost phone.
    pub async fn volunteer_sessions(&self, dev: &DeviceSession) -> Result<Vec<VolunteerSession>, ServiceError> {
        if dev.revoked {
            return Ok(Vec::new());
        }
        let me = self.device_user(dev).await?;
        let standings: std::collections::HashMap<String, Attendance> =
            self.store.standings(&me.id).await?.into_iter().collect();
        Ok(self
            .store
            .campaign_sessions(&me.campaign_id, (self.now)())
            .await?
            .into_iter()
            .filter(|c| may_see(&c.session, &me.campaign_id, me.team_id.as_deref()))
            .map(|c| {
                let taken = c.signed_up + c.confirmed + c.checked_in;
                VolunteerSession {
                    standing: standings.get(&c.session.id).copied(),
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
        let me = self.device_user(dev).await?;
        Ok(self.store.record_signups(&me, &dev.device.device_id, events, (self.now)()).await?)
    }

    async fn device_user(&self, dev: &DeviceSession) -> Result<User, ServiceError> {
        self.store
            .user(&dev.device.user_id)
            .await?
            .filter(|u| u.campaign_id == dev.device.campaign_id)
            .ok_or_else(|| ServiceError::forbidden("unknown volunteer"))
    }
}
