//! Teams and the people in them: teams and members, the volunteers within reach, invitations
//! (a one-time join code, its link and QR code) and device revocation. Audited here, so the API
//! and the CLI record the same lines.

use serde::{Deserialize, Serialize};

use crate::admin::*;
use crate::auth;
use crate::error::ServiceError;
use crate::service::{JOIN_CODE_LIFETIME_MS, Service};
use crate::store::StoreOps;
use crate::store::{Role, Team, User};

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub captains: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    pub user_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub name: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default = "volunteer")]
    pub role: Role,
    #[serde(default)]
    pub team_id: Option<String>,
    /// Where session reminders go by e-mail (optional; the app shows them anyway).
    #[serde(default)]
    pub email: Option<String>,
}

fn volunteer() -> Role {
    Role::Volunteer
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InviteResponse {
    pub user_id: String,
    /// Volunteers: a one-time code to type (or scan) in the app.
    pub join_code: Option<String>,
    /// Staff: an API token (until the dashboard login of the web interface).
    pub token: Option<String>,
    pub expires_ms: i64,
    /// Volunteers: the join link as a QR code (SVG) to scan from the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

/// The link a volunteer's app opens to join: `doorstep://join?server=…&code=…` (the server when
/// known, so one scan sets both).
pub fn join_link(code: &str, server: Option<&str>) -> String {
    doorstep_protocol::JoinLink { server_url: server.unwrap_or_default().to_string(), code: code.to_string() }.to_uri()
}

/// A QR code of `text` as an SVG document.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(code.render::<qrcode::render::svg::Color>().min_dimensions(180, 180).quiet_zone(true).build())
}

impl Service {
    // ----- teams and people ----------------------------------------------------------------------

    pub async fn teams(&self, st: &Staff) -> Result<Vec<Team>, ServiceError> {
        Ok(self.store.teams(st.campaign()).await?.into_iter().filter(|t| st.reaches_team(Some(&t.id))).collect())
    }

    pub async fn create_team(&self, st: &Staff, req: TeamRequest) -> Result<Team, ServiceError> {
        st.require_coordinator()?;
        check_id("team", &req.id)?;
        let team = Team { id: req.id, campaign_id: st.campaign().to_string(), name: req.name, captains: req.captains };
        for c in &team.captains {
            let u = self.store.user(c).await?.filter(|u| u.campaign_id == st.campaign());
            if u.as_ref().is_none_or(|u| u.role != Role::Captain) {
                return Err(ServiceError::invalid("not_a_captain", format!("{c} is not a captain of this campaign")));
            }
        }
        self.store.create_team(&team).await?;
        Ok(team)
    }

    pub async fn add_member(&self, st: &Staff, team_id: &str, req: MemberRequest) -> Result<Role, ServiceError> {
        st.require_coordinator()?;
        Ok(self.store.add_member(st.campaign(), team_id, &req.user_id).await?)
    }

    pub async fn users(&self, st: &Staff) -> Result<Vec<User>, ServiceError> {
        Ok(self
            .store
            .users(st.campaign())
            .await?
            .into_iter()
            .filter(|u| st.is_coordinator() || (u.role == Role::Volunteer && st.reaches_team(u.team_id.as_deref())))
            .collect())
    }

    /// Invites a volunteer (a one-time join code) or, for coordinators, a captain or coordinator (an
    /// API token). A captain invites volunteers into a team they lead.
    pub async fn invite(&self, st: &Staff, req: InviteRequest) -> Result<InviteResponse, ServiceError> {
        let r = self.invite_unrecorded(st, req).await?;
        let detail = serde_json::json!({ "join_code": r.join_code.is_some(), "staff_token": r.token.is_some() });
        self.record_staff(st, "invitation", Some(&r.user_id), detail).await?;
        Ok(r)
    }

    async fn invite_unrecorded(&self, st: &Staff, req: InviteRequest) -> Result<InviteResponse, ServiceError> {
        if req.name.trim().is_empty() || req.name.chars().count() > 100 {
            return Err(ServiceError::invalid("bad_name", "name must be 1–100 characters"));
        }
        if req.role != Role::Volunteer {
            st.require_coordinator()?;
        }
        let email = match req.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => Some(crate::public::check_email(e).ok_or_else(|| {
                ServiceError::invalid("bad_email", "adresse e-mail invalide / invalid e-mail address")
            })?),
            None => None,
        };
        let team = match (&req.team_id, &st.teams) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(ts)) if req.role == Role::Volunteer => ts.first().cloned(),
            _ => None,
        };
        if req.role == Role::Volunteer && !st.reaches_team(team.as_deref()) {
            return Err(outside());
        }
        let user_id = match req.user_id {
            Some(u) => {
                check_id("user", &u)?;
                u
            }
            None => format!("u-{}", &auth::new_token()[..12].to_lowercase()),
        };
        self.store
            .create_user(&User {
                id: user_id.clone(),
                campaign_id: st.campaign().to_string(),
                role: req.role,
                display_name: req.name.trim().to_string(),
                team_id: None,
            })
            .await
            .map_err(|_| {
                ServiceError::new(crate::error::Failure::Conflict, "conflict", format!("user {user_id} exists"))
            })?;
        if email.is_some() {
            self.store.set_email(&user_id, email.as_deref()).await?;
        }
        if let Some(t) = &team
            && req.role != Role::Coordinator
        {
            self.store.add_member(st.campaign(), t, &user_id).await?;
        }
        let now = (self.now)();
        if req.role == Role::Volunteer {
            let code = auth::new_join_code();
            self.store
                .create_join_code(
                    &auth::hash_secret(&auth::normalise_code(&code)),
                    &user_id,
                    now + JOIN_CODE_LIFETIME_MS,
                )
                .await?;
            Ok(InviteResponse {
                user_id,
                // Drawn by the API, which knows the address the caller reached.
                qr_svg: None,
                join_code: Some(code),
                token: None,
                expires_ms: now + JOIN_CODE_LIFETIME_MS,
            })
        } else {
            let token = self.issue_staff_token(&user_id).await?;
            Ok(InviteResponse {
                user_id,
                join_code: None,
                token: Some(token),
                expires_ms: now + crate::service::STAFF_TOKEN_LIFETIME_MS,
                qr_svg: None,
            })
        }
    }

    /// Revokes a volunteer's device: its next sync pushes what it holds, then wipes.
    pub async fn revoke(&self, st: &Staff, device_id: &str) -> Result<bool, ServiceError> {
        let owner = self
            .store
            .device_owner(device_id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("appareil inconnu / unknown device {device_id}")))?;
        // Staff tokens and dashboard sessions are never devices: only a phone is (a volunteer's,
        // or a captain's that hands out work offline).
        let user = self
            .store
            .user(&owner)
            .await?
            .filter(|u| u.campaign_id == st.campaign())
            .filter(|_| !crate::service::RESERVED_DEVICE_PREFIXES.iter().any(|p| device_id.starts_with(p)));
        let Some(user) = user else { return Err(ServiceError::not_found(format!("unknown device {device_id}"))) };
        // A coordinator revokes any phone; a captain their teams' volunteers' and their own.
        let reachable = st.is_coordinator()
            || user.id == st.user.id
            || (user.role == Role::Volunteer && st.reaches_team(user.team_id.as_deref()));
        if !reachable {
            return Err(outside());
        }
        let revoked = self.store.revoke_device(device_id, &user.id, (self.now)()).await?;
        let detail = serde_json::json!({ "user_id": user.id, "was_live": revoked });
        self.record_staff(st, "device.revoke", Some(device_id), detail).await?;
        let held = self.store.turfs_of(&user.id, (self.now)()).await?.into_iter().map(|t| t.id).collect();
        self.announce(st.campaign(), "turfs", held, Some(user.id), 0, None).await;
        Ok(revoked)
    }
}
