//! What coordinators and captains do: campaigns, imports, script edits, turf cutting, teams,
//! invitations, assignment and reassignment, door status, overlaps. Every call starts from a
//! [`Staff`] scope: a coordinator reaches the whole campaign, a captain the turfs and volunteers of
//! the teams they lead. Something outside the campaign is "not found"; something in the campaign
//! but outside a captain's teams is "forbidden".

use std::collections::{BTreeMap, HashMap};

use doorstep_protocol::status::{DoorStatus, StatusFact, door_status};
use doorstep_protocol::{Campaign, CampaignMode, ResultCode, SurveyScript, validate_script};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::error::ServiceError;
use crate::import::{self, ImportError, RowError};
pub use crate::model::{Me, Staff};
use crate::service::{DeviceSession, JOIN_CODE_LIFETIME_MS, Service};
use crate::store::{ImportCounts, Role, StoredReport, Team, TurfRow, User};

/// Default lease when a turf is assigned: two weeks, then it returns unless renewed.
pub const DEFAULT_LEASE_DAYS: u32 = 14;
pub const MAX_LEASE_DAYS: u32 = 120;
const DAY_MS: i64 = 86_400_000;

fn outside() -> ServiceError {
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

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ImportResponse {
    pub rows: usize,
    /// Field → column used.
    pub columns: Vec<(String, String)>,
    pub errors: Vec<RowError>,
    pub people_ignored: bool,
    /// Rows repeating an earlier row's address, merged into its door.
    pub duplicates: Vec<crate::import::DuplicateRow>,
    /// Rows with an earlier row's address in the same commune, too far from it to be the same
    /// building: kept apart.
    pub kept_apart: Vec<crate::import::DuplicateRow>,
    pub imported: ImportCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StreetsImported {
    pub nodes: usize,
    pub edges: usize,
    /// Features that were not lines.
    pub skipped: usize,
    pub turfs_touched: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CutRequest {
    /// Doors per turf (default 80).
    #[serde(default)]
    pub target_doors: Option<u32>,
    /// Or: minutes of canvassing per turf, at `doors_per_hour` (default 30).
    #[serde(default)]
    pub target_minutes: Option<u32>,
    #[serde(default)]
    pub doors_per_hour: Option<u32>,
    /// Never put two polling stations in one turf.
    #[serde(default)]
    pub by_station: bool,
    /// Turfs to cut again together with the buildings in no turf (never a turf being worked).
    #[serde(default)]
    pub recut: Vec<String>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
}

impl CutRequest {
    /// Doors per turf this request asks for.
    pub fn target(&self) -> Result<u32, ServiceError> {
        if self.doors_per_hour.is_some() && self.target_minutes.is_none() {
            return Err(ServiceError::invalid(
                "bad_target",
                "doors_per_hour (--rate) only applies with target_minutes (--minutes)",
            ));
        }
        let target = match (self.target_doors, self.target_minutes) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::invalid("bad_target", "give target_doors or target_minutes, not both"));
            }
            (_, Some(min)) => {
                let rate = self.doors_per_hour.unwrap_or(30);
                if !(1..=600).contains(&rate) || !(5..=600).contains(&min) {
                    return Err(ServiceError::invalid(
                        "bad_target",
                        "target_minutes must be 5–600 and doors_per_hour 1–600",
                    ));
                }
                (u64::from(min) * u64::from(rate)).div_ceil(60) as u32
            }
            (Some(d), None) => d,
            (None, None) => 80,
        };
        if !(5..=2000).contains(&target) {
            return Err(ServiceError::invalid("bad_target", "a turf must hold 5–2000 doors"));
        }
        Ok(target)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CutResponse {
    pub turfs: Vec<String>,
    pub buildings: usize,
    /// Turfs that were cut again (and are gone).
    pub dissolved: Vec<String>,
    pub target_doors: u32,
    pub report: CutSummary,
}

/// The cut's report, with building ids for what the coordinator should check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CutSummary {
    pub doors: u64,
    pub max_deviation: f64,
    pub within_10pct: usize,
    pub disconnected: usize,
    pub far_from_street: Vec<String>,
    pub islands_joined: usize,
    pub island_doors: u64,
    pub long_sides_split: usize,
    pub small_by_constraint: usize,
    pub street_network: bool,
    pub buildings_without_station: usize,
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

fn check_id(what: &str, id: &str) -> Result<(), ServiceError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid("bad_id", format!("{what} id must be 1–64 characters of A–Z, a–z, 0–9, _ - .")))
    }
}

pub(crate) fn import_error(e: ImportError) -> ServiceError {
    ServiceError::new(crate::error::Failure::Unreadable, "bad_import", e.to_string())
}

impl Service {
    /// The caller's staff scope; volunteers have none.
    pub async fn staff(&self, s: &DeviceSession) -> Result<Staff, ServiceError> {
        let user = self
            .store
            .user(&s.device.user_id)
            .await?
            .ok_or_else(|| ServiceError::unauthenticated("bad_token", "the token's user no longer exists"))?;
        let teams = match user.role {
            Role::Coordinator => None,
            Role::Captain => Some(self.store.captain_teams(&user.id).await?),
            Role::Volunteer => return Err(ServiceError::forbidden("a volunteer may not do this")),
        };
        Ok(Staff { user, teams })
    }

    pub async fn me(&self, s: &DeviceSession) -> Result<Me, ServiceError> {
        let user = self.store.user(&s.device.user_id).await?.ok_or_else(|| ServiceError::not_found("user"))?;
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

    async fn turf_in_scope(&self, st: &Staff, turf_id: &str) -> Result<TurfRow, ServiceError> {
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

    // ----- imports -------------------------------------------------------------------------------

    /// Imports a CSV or GeoJSON file. With bad rows, nothing is stored unless `skip_invalid`.
    pub async fn import_file(
        &self,
        st: &Staff,
        bytes: &[u8],
        geojson: bool,
        mut mapping: HashMap<String, String>,
    ) -> Result<ImportResponse, ServiceError> {
        st.require_coordinator()?;
        let _running = self.metrics.import("addresses");
        let skip_invalid = mapping.remove("skip_invalid").is_some_and(|v| v == "true" || v == "1");
        let campaign = self.campaign_of(st).await?;
        // Parsing a large file takes seconds of CPU: on the blocking pool, never on the threads
        // that answer phones and /healthz.
        let size = bytes.len();
        let (bytes, campaign_id, mode) = (bytes.to_vec(), campaign.id.clone(), campaign.mode);
        let parsed = tokio::task::spawn_blocking(move || {
            if geojson {
                import::parse_geojson(&bytes, &mapping, &campaign_id, mode)
            } else {
                import::parse_csv(&bytes, &mapping, &campaign_id, mode)
            }
        })
        .await
        .map_err(crate::error::ServiceError::internal)?
        .map_err(import_error)?;
        if !parsed.errors.is_empty() && !skip_invalid {
            let first: Vec<String> =
                parsed.errors.iter().take(20).map(|e| format!("ligne {}: {}", e.line, e.reason)).collect();
            return Err(ServiceError::new(
                crate::error::Failure::Unreadable,
                "bad_rows",
                format!(
                    "{} ligne(s) invalide(s), rien n'a été importé (ajoutez skip_invalid=true pour importer le reste) / {} bad row(s), nothing imported: {}",
                    parsed.errors.len(),
                    parsed.errors.len(),
                    first.join("; ")
                ),
            ));
        }
        let imported = self.store.import(&campaign.id, &parsed.import).await?;
        // Many new rows: fresh statistics so the dashboard's plans stay narrow.
        self.store.optimize().await?;
        let action = if geojson { "import.addresses_geojson" } else { "import.addresses_csv" };
        let detail = serde_json::json!({ "bytes": size, "buildings": imported.buildings, "doors": imported.doors });
        self.record_staff(st, action, None, detail).await?;
        Ok(ImportResponse {
            rows: parsed.rows,
            columns: parsed.columns,
            errors: parsed.errors,
            people_ignored: parsed.people_ignored,
            duplicates: parsed.duplicates,
            kept_apart: parsed.kept_apart,
            imported,
        })
    }

    /// Imports the campaign's street network (GeoJSON LineStrings); every turf moves to a new
    /// version so devices get their part of it.
    pub async fn import_streets(&self, st: &Staff, bytes: &[u8]) -> Result<StreetsImported, ServiceError> {
        st.require_coordinator()?;
        let _running = self.metrics.import("streets");
        let size = bytes.len();
        let bytes = bytes.to_vec();
        let (net, skipped, body) = tokio::task::spawn_blocking(move || {
            let v: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| import_error(ImportError::GeoJson(e.to_string())))?;
            let (net, skipped) = doorstep_streets::streets::network_from_geojson(&v)
                .map_err(|e| import_error(ImportError::GeoJson(e)))?;
            let body = serde_json::to_string(&net).expect("serialisable");
            Ok::<_, ServiceError>((net, skipped, body))
        })
        .await
        .map_err(crate::error::ServiceError::internal)??;
        let touched = self.store.set_street_network(st.campaign(), &body, net.edges.len() as u64).await?;
        let detail = serde_json::json!({ "bytes": size, "edges": net.edges.len() });
        self.record_staff(st, "import.streets", None, detail).await?;
        Ok(StreetsImported { nodes: net.nodes.len(), edges: net.edges.len(), skipped, turfs_touched: touched.len() })
    }

    // ----- turfs ---------------------------------------------------------------------------------

    /// Cuts every building that is in no turf yet, and the turfs named in `recut`, into turfs of
    /// about the target's doors along streets ([`crate::cut`]); one transaction.
    pub async fn cut_turfs(&self, st: &Staff, req: CutRequest) -> Result<CutResponse, ServiceError> {
        self.cut_turfs_with_progress(st, req, Box::new(|_, _| {})).await
    }

    /// [`Self::cut_turfs`], reporting each step of the cut (for the CLI's progress bar).
    pub async fn cut_turfs_with_progress(
        &self,
        st: &Staff,
        req: CutRequest,
        mut progress: doorstep_streets::cut::Progress,
    ) -> Result<CutResponse, ServiceError> {
        st.require_coordinator()?;
        self.campaign_of(st).await?;
        let target = req.target()?;
        let prefix = req.name_prefix.clone().unwrap_or_else(|| "Secteur".into());
        let mut recut = req.recut.clone();
        recut.sort();
        recut.dedup();
        let candidates = self.store.cut_candidates(st.campaign(), &recut).await?;
        let buildings: Vec<doorstep_streets::cut::CutBuilding> = candidates
            .iter()
            .map(|c| doorstep_streets::cut::CutBuilding {
                lat: c.lat,
                lon: c.lon,
                doors: c.doors.max(1),
                street: c.street.clone(),
                house_number: c.house_number.clone(),
                station: c.polling_station.clone(),
            })
            .collect();
        let without_station = buildings.iter().filter(|b| b.station.is_none()).count();
        if req.by_station && !buildings.is_empty() && without_station == buildings.len() {
            return Err(ServiceError::invalid(
                "no_stations",
                "aucune adresse n'a de bureau de vote : importez les bureaux d'abord / by_station needs polling stations: import them first",
            ));
        }
        // With station boundaries kept, buildings with no station are cut among themselves, and
        // counted in the report.
        let net = self.network(st.campaign()).await?;
        let opts = doorstep_streets::cut::CutOptions { target, by_station: req.by_station };
        let plan = tokio::task::spawn_blocking(move || {
            progress("réseau", 0.0);
            let graph = net.as_deref().and_then(doorstep_streets::streets::StreetGraph::new);
            doorstep_streets::cut::plan_with_progress(&buildings, graph.as_ref(), opts, &mut *progress)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("cut: {e}")))?;
        let existing: std::collections::HashSet<String> =
            self.store.turf_summaries(st.campaign()).await?.into_iter().map(|s| s.turf.id).collect();
        let mut number = 0usize;
        let mut new = Vec::with_capacity(plan.turfs.len());
        for part in &plan.turfs {
            let id = loop {
                number += 1;
                let id = format!("{}-t{number:04}", st.campaign());
                if !existing.contains(&id) || recut.contains(&id) {
                    break id;
                }
            };
            new.push(crate::store::NewTurf {
                name: format!("{prefix} {number}"),
                id,
                team_id: req.team_id.clone(),
                buildings: part.iter().map(|&i| candidates[i].id.clone()).collect(),
            });
        }
        self.store.apply_cut(st.campaign(), &recut, &new).await?;
        self.store.optimize().await?;
        let r = plan.report;
        let detail = serde_json::json!({ "turfs": new.len(), "dissolved": recut, "target_doors": target });
        self.record_staff(st, "turfs.cut", None, detail).await?;
        Ok(CutResponse {
            turfs: new.into_iter().map(|t| t.id).collect(),
            buildings: candidates.len(),
            dissolved: recut,
            target_doors: target,
            report: CutSummary {
                doors: r.doors,
                max_deviation: r.max_deviation,
                within_10pct: r.within_10pct,
                disconnected: r.disconnected,
                far_from_street: r.far_from_street.iter().map(|&i| candidates[i].id.clone()).collect(),
                islands_joined: r.islands_joined,
                island_doors: r.island_doors,
                long_sides_split: r.long_sides_split,
                small_by_constraint: r.small_by_constraint,
                street_network: r.street_network,
                buildings_without_station: without_station,
            },
        })
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
        let pkg = self.store.turf_package(turf_id).await?.ok_or_else(|| ServiceError::not_found("turf"))?;
        let (facts, _) = self.store.turf_facts(turf_id).await?;
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
        let touched = self.store.move_buildings(st.campaign(), &buildings, &to_turf).await?;
        let detail = serde_json::json!({
            "from_turf": req.turf_id, "street": req.street, "doors": req.door_ids.len(),
            "buildings_moved": buildings.len(), "to_turf": to_turf, "to_volunteer": req.to_volunteer,
        });
        self.record_staff(st, "turf.reassign", req.turf_id.as_deref(), detail).await?;
        self.announce(st.campaign(), "turfs", touched.clone(), None, 0, None).await;
        Ok(ReassignResponse { buildings_moved: buildings.len(), to_turf, turfs_touched: touched })
    }

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
        // Staff tokens and dashboard sessions are never devices: only a volunteer's phone is.
        let user = self
            .store
            .user(&owner)
            .await?
            .filter(|u| u.campaign_id == st.campaign() && u.role == Role::Volunteer)
            .filter(|_| !crate::service::RESERVED_DEVICE_PREFIXES.iter().any(|p| device_id.starts_with(p)));
        let Some(user) = user else { return Err(ServiceError::not_found(format!("unknown device {device_id}"))) };
        let reachable =
            st.is_coordinator() || (user.role == Role::Volunteer && st.reaches_team(user.team_id.as_deref()));
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

    // ----- results -------------------------------------------------------------------------------

    /// Reports within reach for an export (`json` or `csv`), logged before they leave.
    pub async fn export_reports(&self, st: &Staff, format: &str) -> Result<Vec<StoredReport>, ServiceError> {
        let reports = self.reports_in_scope(st).await?;
        let detail = serde_json::json!({ "format": format, "rows": reports.len() });
        self.record_staff(st, "export.reports", None, detail).await?;
        Ok(reports)
    }

    /// Reports within reach, in HLC order: the whole campaign, or the turfs of a captain's teams.
    pub async fn reports_in_scope(&self, st: &Staff) -> Result<Vec<StoredReport>, ServiceError> {
        let all = self.store.reports(st.campaign()).await?;
        if st.is_coordinator() {
            return Ok(all);
        }
        let mine: BTreeMap<String, ()> = self
            .store
            .turf_summaries(st.campaign())
            .await?
            .into_iter()
            .filter(|s| st.reaches_team(s.turf.team_id.as_deref()))
            .map(|s| (s.turf.id, ()))
            .collect();
        Ok(all.into_iter().filter(|r| mine.contains_key(&r.report.turf_id)).collect())
    }
}
