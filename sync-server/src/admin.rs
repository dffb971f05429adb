//! What coordinators and captains do: campaigns, imports, script edits, turf cutting, teams,
//! invitations, assignment and reassignment, door status, overlaps. Every call starts from a
//! [`Staff`] scope: a coordinator reaches the whole campaign, a captain the turfs and volunteers of
//! the teams they lead. Something outside the campaign is "not found"; something in the campaign
//! but outside a captain's teams is "forbidden".

use std::collections::HashMap;

use doorstep_protocol::status::{DoorStatus, StatusFact, door_status};
use doorstep_protocol::{Campaign, CampaignMode, ResultCode, SurveyScript, validate_script};
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
pub use crate::model::{Me, Staff};
use crate::service::{DeviceSession, Service};
use crate::store::StoreOps;
use crate::store::{Role, TurfRow, User};

/// Default lease when a turf is assigned: two weeks, then it returns unless renewed.
pub const DEFAULT_LEASE_DAYS: u32 = 14;
pub const MAX_LEASE_DAYS: u32 = 120;
const DAY_MS: i64 = 86_400_000;

pub(crate) fn outside() -> ServiceError {
    ServiceError::forbidden("hors de vos équipes / outside the teams you lead")
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaignRequest {
    pub id: String,
    pub name: String,
    pub mode: CampaignMode,
    #[serde(default)]
    pub survey: Option<SurveyScript>,
    #[serde(default)]
    pub result_codes: Option<Vec<ResultCode>>,
    #[serde(default)]
    pub retention_until_ms: Option<i64>,
    /// The new campaign's first coordinator (an account of its own).
    pub coordinator_id: String,
    pub coordinator_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateCampaignResponse {
    pub campaign_id: String,
    pub coordinator_id: String,
    /// API token of the new coordinator (shown once).
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptRequest {
    pub survey: SurveyScript,
    pub result_codes: Vec<ResultCode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TurfView {
    pub id: String,
    pub name: String,
    pub version: u64,
    pub volunteer_id: Option<String>,
    pub lease_expires_ms: Option<i64>,
    pub team_id: Option<String>,
    pub buildings: u64,
    pub doors: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DoorView {
    pub door_id: String,
    pub building_id: String,
    pub street: String,
    pub house_number: String,
    pub label: String,
    pub lat: f64,
    pub lon: f64,
    pub status: DoorStatus,
    pub status_fr: String,
    pub last_result: Option<String>,
    pub last_knock_ms: Option<i64>,
    pub knocks: u32,
    pub overlaps: u32,
    /// When the door's position cannot be right (issue 22): why (`null_island`, `outside_area`,
    /// `far_from_streets`), how far, and the words the volunteer reads.
    pub misplaced: Option<MisplacedDoor>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MisplacedDoor {
    pub why: String,
    pub distance_m: f64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub volunteer_id: String,
    #[serde(default)]
    pub lease_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TurfTeamRequest {
    pub team_id: Option<String>,
}

/// Reassign a street of a turf, or chosen doors, to another turf or volunteer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    /// With `street`: the turf the street is taken from.
    #[serde(default)]
    pub turf_id: Option<String>,
    #[serde(default)]
    pub street: Option<String>,
    /// Or: doors (each moves with its building: an address is one stop of a walk).
    #[serde(default)]
    pub door_ids: Vec<String>,
    #[serde(default)]
    pub to_turf: Option<String>,
    /// The volunteer's first current turf, or a new turf for them.
    #[serde(default)]
    pub to_volunteer: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReassignResponse {
    pub buildings_moved: usize,
    pub to_turf: String,
    pub turfs_touched: Vec<String>,
}

pub(crate) fn check_id(what: &str, id: &str) -> Result<(), ServiceError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid("bad_id", format!("{what} id must be 1–64 characters of A–Z, a–z, 0–9, _ - .")))
    }
}

impl Service {
    /// The caller's staff scope; volunteers have none.
    pub async fn staff(&self, s: &DeviceSession) -> Result<Staff, ServiceError> {
        // The user read with the token (one statement: a deleted user has no token left).
        let user = s.user.clone();
        let teams = match user.role {
            Role::Coordinator => None,
            Role::Captain => Some(self.store.captain_teams(&user.id).await?),
            Role::Volunteer => return Err(ServiceError::forbidden("a volunteer may not do this")),
        };
        Ok(Staff { user, teams })
    }

    pub async fn me(&self, s: &DeviceSession) -> Result<Me, ServiceError> {
        let user = s.user.clone();
        let teams = match user.role {
            Role::Captain => self.store.captain_teams(&user.id).await?,
            _ => user.team_id.clone().into_iter().collect(),
        };
        Ok(Me {
            user_id: user.id,
            display_name: user.display_name,
            role: user.role,
            campaign_id: user.campaign_id,
            teams,
        })
    }

    pub(crate) async fn turf_in_scope(&self, st: &Staff, turf_id: &str) -> Result<TurfRow, ServiceError> {
        let t = self
            .store
            .turf(turf_id)
            .await?
            .filter(|t| t.campaign_id == st.campaign())
            .ok_or_else(|| ServiceError::not_found(format!("secteur inconnu / unknown turf {turf_id}")))?;
        if !st.reaches_team(t.team_id.as_deref()) {
            return Err(outside());
        }
        Ok(t)
    }

    async fn volunteer_in_scope(&self, st: &Staff, user_id: &str) -> Result<User, ServiceError> {
        let u = self
            .store
            .user(user_id)
            .await?
            .filter(|u| u.campaign_id == st.campaign())
            .ok_or_else(|| ServiceError::not_found(format!("bénévole inconnu / unknown volunteer {user_id}")))?;
        if u.role != Role::Volunteer {
            return Err(ServiceError::invalid("not_a_volunteer", format!("{user_id} is a {}", u.role.as_str())));
        }
        if !st.reaches_team(u.team_id.as_deref()) {
            return Err(outside());
        }
        Ok(u)
    }

    // ----- campaign ------------------------------------------------------------------------------

    /// A coordinator opens another campaign, with its own first coordinator account.
    pub async fn create_campaign_for(
        &self,
        st: &Staff,
        req: CreateCampaignRequest,
    ) -> Result<CreateCampaignResponse, ServiceError> {
        st.require_coordinator()?;
        check_id("campaign", &req.id)?;
        check_id("coordinator", &req.coordinator_id)?;
        let survey = req.survey.unwrap_or(SurveyScript { version: 1, consent_question_id: None, questions: vec![] });
        let codes = req.result_codes.unwrap_or_else(doorstep_protocol::default_result_codes);
        validate_script(&survey, &codes, &[]).map_err(|e| ServiceError::invalid("bad_script", e.to_string()))?;
        let campaign = Campaign {
            id: req.id.clone(),
            name: req.name,
            mode: req.mode,
            result_codes: codes,
            survey: SurveyScript { version: 1, ..survey },
            retention_until_ms: req.retention_until_ms,
        };
        self.store.create_campaign(&campaign, (self.now)()).await?;
        self.store
            .create_user(&User {
                id: req.coordinator_id.clone(),
                campaign_id: campaign.id.clone(),
                role: Role::Coordinator,
                display_name: req.coordinator_name,
                team_id: None,
            })
            .await
            .map_err(|_| {
                ServiceError::new(crate::error::Failure::Conflict, "conflict", "coordinator id already taken")
            })?;
        let token = self.issue_staff_token(&req.coordinator_id).await?;
        Ok(CreateCampaignResponse { campaign_id: campaign.id, coordinator_id: req.coordinator_id, token })
    }

    pub async fn campaign_of(&self, st: &Staff) -> Result<Campaign, ServiceError> {
        self.store.campaign(st.campaign()).await?.ok_or_else(|| ServiceError::not_found("campaign"))
    }

    /// Publishes a new version of the script and result codes; devices get it on their next pull.
    pub async fn update_script(&self, st: &Staff, req: ScriptRequest) -> Result<u32, ServiceError> {
        st.require_coordinator()?;
        let current = self.campaign_of(st).await?;
        validate_script(&req.survey, &req.result_codes, &current.result_codes)
            .map_err(|e| ServiceError::invalid("bad_script", e.to_string()))?;
        let version = self.store.update_script(st.campaign(), &req.survey, &req.result_codes, (self.now)()).await?;
        self.record_staff(st, "script.update", None, serde_json::json!({ "version": version })).await?;
        Ok(version)
    }

    pub async fn turfs(&self, st: &Staff) -> Result<Vec<TurfView>, ServiceError> {
        Ok(self
            .store
            .turf_summaries(st.campaign())
            .await?
            .into_iter()
            .filter(|s| st.reaches_team(s.turf.team_id.as_deref()))
            .map(|s| TurfView {
                id: s.turf.id,
                name: s.turf.name,
                version: s.turf.version,
                volunteer_id: s.turf.volunteer_id,
                lease_expires_ms: s.turf.lease_expires_ms,
                team_id: s.turf.team_id,
                buildings: s.buildings,
                doors: s.doors,
            })
            .collect())
    }

    /// Every door of a turf with its status derived from every report the server holds.
    pub async fn turf_doors(&self, st: &Staff, turf_id: &str) -> Result<Vec<DoorView>, ServiceError> {
        self.turf_in_scope(st, turf_id).await?;
        let campaign = self.campaign_of(st).await?;
        let pkg = self.package(turf_id).await?.ok_or_else(|| ServiceError::not_found("turf"))?;
        let (facts, _) = self.store.turf_facts(turf_id).await?;
        // The same check the phone makes before routing: on the package's own streets.
        let graph = pkg.street_network.as_ref().and_then(doorstep_streets::streets::StreetGraph::new);
        let points: Vec<doorstep_streets::route::RoutePoint> = pkg.buildings.iter().map(Into::into).collect();
        let flags = doorstep_streets::misplaced::check(&points, graph.as_ref());
        let misplaced: HashMap<&str, MisplacedDoor> = pkg
            .buildings
            .iter()
            .zip(&flags)
            .filter_map(|(b, f)| {
                f.map(|f| {
                    let door =
                        MisplacedDoor { why: f.why.code().into(), distance_m: f.distance_m, message: f.message_fr() };
                    (b.id.as_str(), door)
                })
            })
            .collect();
        let mut by_door: HashMap<&str, Vec<&crate::store::ReportFact>> = HashMap::new();
        let doors_of: HashMap<&str, Vec<&str>> = pkg.doors.iter().fold(HashMap::new(), |mut m, d| {
            m.entry(d.building_id.as_str()).or_default().push(d.id.as_str());
            m
        });
        for f in &facts {
            // A building-level report counts for every door of the building.
            let in_building = doors_of.get(f.building_id.as_str()).map_or(&[][..], Vec::as_slice);
            for d in doorstep_protocol::validate::doors_covered(f.door_id.as_deref(), in_building) {
                by_door.entry(d).or_default().push(f);
            }
        }
        let buildings: HashMap<&str, &doorstep_protocol::Building> =
            pkg.buildings.iter().map(|b| (b.id.as_str(), b)).collect();
        Ok(pkg
            .doors
            .iter()
            .map(|d| {
                let reports = by_door.get(d.id.as_str()).cloned().unwrap_or_default();
                let status_facts: Vec<StatusFact> = reports
                    .iter()
                    .filter_map(|r| {
                        campaign.result_code(&r.result_code).map(|c| StatusFact {
                            id: r.id.clone(),
                            supersedes: r.supersedes.clone(),
                            outcome: c.outcome,
                            rejected: false,
                        })
                    })
                    .collect();
                let status = door_status(&status_facts);
                let last = reports.iter().max_by_key(|r| r.at_ms);
                let b = buildings.get(d.building_id.as_str());
                DoorView {
                    door_id: d.id.clone(),
                    building_id: d.building_id.clone(),
                    street: b.map(|b| b.street.clone()).unwrap_or_default(),
                    house_number: b.map(|b| b.house_number.clone()).unwrap_or_default(),
                    label: d.label.clone(),
                    lat: b.map_or(0.0, |b| b.lat),
                    lon: b.map_or(0.0, |b| b.lon),
                    status,
                    status_fr: status.label_fr().to_string(),
                    last_result: last.map(|r| r.result_code.clone()),
                    last_knock_ms: last.map(|r| r.at_ms),
                    knocks: reports.len() as u32,
                    overlaps: reports.iter().filter(|r| r.overlap).count() as u32,
                    misplaced: misplaced.get(d.building_id.as_str()).cloned(),
                }
            })
            .collect())
    }

    pub async fn assign(&self, st: &Staff, turf_id: &str, req: AssignRequest) -> Result<TurfView, ServiceError> {
        self.turf_in_scope(st, turf_id).await?;
        self.volunteer_in_scope(st, &req.volunteer_id).await?;
        let days = req.lease_days.unwrap_or(DEFAULT_LEASE_DAYS);
        if !(1..=MAX_LEASE_DAYS).contains(&days) {
            return Err(ServiceError::invalid("bad_lease", format!("lease_days must be 1–{MAX_LEASE_DAYS}")));
        }
        let expires = (self.now)() + i64::from(days) * DAY_MS;
        self.store.assign_turf(turf_id, Some(&req.volunteer_id), Some(expires)).await?;
        let detail = serde_json::json!({ "volunteer_id": req.volunteer_id, "lease_days": days });
        self.record_staff(st, "turf.assign", Some(turf_id), detail).await?;
        self.announce(st.campaign(), "turfs", vec![turf_id.to_string()], None, 0, None).await;
        self.turf_view(st, turf_id).await
    }

    pub async fn return_turf(&self, st: &Staff, turf_id: &str) -> Result<TurfView, ServiceError> {
        self.turf_in_scope(st, turf_id).await?;
        self.store.assign_turf(turf_id, None, None).await?;
        self.record_staff(st, "turf.return", Some(turf_id), serde_json::json!({})).await?;
        self.announce(st.campaign(), "turfs", vec![turf_id.to_string()], None, 0, None).await;
        self.turf_view(st, turf_id).await
    }

    async fn turf_view(&self, st: &Staff, turf_id: &str) -> Result<TurfView, ServiceError> {
        self.turfs(st).await?.into_iter().find(|t| t.id == turf_id).ok_or_else(|| ServiceError::not_found("turf"))
    }

    pub async fn set_turf_team(
        &self,
        st: &Staff,
        turf_id: &str,
        req: TurfTeamRequest,
    ) -> Result<TurfView, ServiceError> {
        st.require_coordinator()?;
        self.store.set_turf_team(st.campaign(), turf_id, req.team_id.as_deref()).await?;
        self.record_staff(st, "turf.team", Some(turf_id), serde_json::json!({ "team_id": req.team_id })).await?;
        self.announce(st.campaign(), "turfs", vec![turf_id.to_string()], None, 0, None).await;
        self.turf_view(st, turf_id).await
    }

    /// Moves a street of a turf, or chosen doors, to another turf or to a volunteer. Both ends must
    /// be within the caller's reach.
    pub async fn reassign(&self, st: &Staff, req: ReassignRequest) -> Result<ReassignResponse, ServiceError> {
        let buildings = match (&req.turf_id, &req.street, req.door_ids.is_empty()) {
            (Some(turf), Some(street), true) => {
                self.turf_in_scope(st, turf).await?;
                let b = self.store.street_buildings(turf, street).await?;
                if b.is_empty()
                    && let Some(now_in) = self.store.street_moved_to(turf, street).await?
                {
                    // Another captain moved it first (perhaps through another server process).
                    return Err(ServiceError::conflict("moved", crate::error::moved_message(now_in.as_deref())));
                }
                if b.is_empty() {
                    return Err(ServiceError::not_found(format!(
                        "aucune adresse « {street} » dans {turf} / no such street in the turf"
                    )));
                }
                b
            }
            (None, None, false) => {
                if req.door_ids.len() > 5000 {
                    return Err(ServiceError::invalid("too_many_doors", "at most 5000 doors at once"));
                }
                self.store.door_buildings(st.campaign(), &req.door_ids).await?
            }
            _ => {
                return Err(ServiceError::invalid(
                    "bad_reassign",
                    "give either turf_id and street, or door_ids (not both)",
                ));
            }
        };
        // Every source turf must be within reach; a captain never takes doors that are in no turf
        // (those are the coordinators' to cut).
        let summaries = self.store.turf_summaries(st.campaign()).await?;
        if !st.is_coordinator() {
            for b in &buildings {
                let reached = self.store.building_turf(b).await?.is_some_and(|t| {
                    st.reaches_team(summaries.iter().find(|s| s.turf.id == t).and_then(|s| s.turf.team_id.as_deref()))
                });
                if !reached {
                    return Err(outside());
                }
            }
        }
        let to_turf = match (&req.to_turf, &req.to_volunteer) {
            (Some(t), None) => self.turf_in_scope(st, t).await?.id,
            (None, Some(v)) => {
                let vol = self.volunteer_in_scope(st, v).await?;
                match self.store.turfs_of(&vol.id, (self.now)()).await?.into_iter().next() {
                    Some(t) => t.id,
                    None => {
                        let id = format!("{}-r{:04}", st.campaign(), summaries.len() + 1);
                        let label = req.street.clone().unwrap_or_else(|| "portes choisies".into());
                        let team = vol.team_id.clone().or_else(|| st.teams.as_ref().and_then(|t| t.first().cloned()));
                        self.store
                            .create_turf(st.campaign(), &id, &format!("{label} (réaffecté)"), team.as_deref(), &[])
                            .await?;
                        let expires = (self.now)() + i64::from(DEFAULT_LEASE_DAYS) * DAY_MS;
                        self.store.assign_turf(&id, Some(&vol.id), Some(expires)).await?;
                        id
                    }
                }
            }
            _ => return Err(ServiceError::invalid("bad_reassign", "give either to_turf or to_volunteer")),
        };
        let from = req.street.as_ref().and(req.turf_id.as_deref());
        let touched = self.store.move_buildings(st.campaign(), &buildings, &to_turf, from).await?;
        let detail = serde_json::json!({
            "from_turf": req.turf_id, "street": req.street, "doors": req.door_ids.len(),
            "buildings_moved": buildings.len(), "to_turf": to_turf, "to_volunteer": req.to_volunteer,
        });
        self.record_staff(st, "turf.reassign", req.turf_id.as_deref(), detail).await?;
        self.announce(st.campaign(), "turfs", touched.clone(), None, 0, None).await;
        Ok(ReassignResponse { buildings_moved: buildings.len(), to_turf, turfs_touched: touched })
    }
}
