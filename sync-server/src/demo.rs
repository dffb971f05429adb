//! The demo campaign, seeded through the same operations the API runs: the real Nantes centre
//! addresses and streets shipped in `data/`, turfs cut along the streets, a coordinator, two
//! captains and ten volunteers with their join codes. The simulated phones that knock its doors
//! (the real field core over real HTTP) live in the `doorstep-demo` crate, so that this server
//! does not link the phone's store; the binding tests' fixture and the attack tests seed it too.

use std::sync::Arc;

use doorstep_protocol::{Campaign, CampaignMode, Question, QuestionKind, ShowWhen, SurveyScript, default_result_codes};

use crate::admin::{AssignRequest, Staff, TurfTeamRequest};
use crate::intake::CutRequest;
use crate::people::{InviteRequest, TeamRequest};
use crate::service::Service;
use crate::session::SetLoginRequest;
use crate::store::{Role, ServerStore, User};

pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/nantes/fr_nantes_centre_addresses.csv");
pub const STREETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/nantes/fr_nantes_centre_streets.geojson");

pub fn demo_campaign() -> Campaign {
    let q = |id: &str, fr: &str, en: &str, kind, required, personal, show_when| Question {
        id: id.into(),
        text_fr: fr.into(),
        text_en: en.into(),
        kind,
        required,
        personal,
        show_when,
    };
    Campaign {
        id: "demo-nantes".into(),
        name: "Démo — Nantes centre".into(),
        mode: CampaignMode::AddressOnly,
        result_codes: default_result_codes(),
        survey: SurveyScript {
            version: 1,
            consent_question_id: Some("consent".into()),
            questions: vec![
                q(
                    "consent",
                    "Acceptez-vous de répondre ?",
                    "Do you agree to answer?",
                    QuestionKind::YesNo,
                    true,
                    false,
                    None,
                ),
                q(
                    "intent",
                    "Irez-vous voter ?",
                    "Will you vote?",
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
                    Some(ShowWhen { question_id: "intent".into(), any_of: vec!["non".into()] }),
                ),
            ],
        },
        retention_until_ms: None,
    }
}

/// What `seed` made: the volunteers with their join codes and turfs, and the staff's API tokens.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// `(volunteer id, join code, turf id)`.
    pub volunteers: Vec<(String, String, String)>,
    pub coordinator_token: String,
    /// `(captain id, token)`.
    pub captain_tokens: Vec<(String, String)>,
    /// Dashboard sign-ins `(login, password)`: the coordinator's, then each captain's. Passwords
    /// are random at each run.
    pub logins: Vec<(String, String)>,
    pub addresses: usize,
    pub turfs: usize,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Builds the campaign through the same operations the coordinator API runs: import the shipped
/// CSV, cut turfs, invite two captains and ten volunteers into two teams, assign turfs.
pub async fn seed(service: &Service, store: &Arc<dyn ServerStore>) -> Result<Seeded, String> {
    let campaign = demo_campaign();
    service.create_campaign(&campaign).await.map_err(err)?;
    let coordinator = User {
        id: "coordinatrice".into(),
        campaign_id: campaign.id.clone(),
        role: Role::Coordinator,
        display_name: "Camille (coordinatrice)".into(),
        team_id: None,
    };
    store.create_user(&coordinator).await.map_err(err)?;
    let coordinator_token = service.issue_staff_token(&coordinator.id).await.map_err(|e| e.message)?;
    let staff = Staff { user: coordinator, teams: None };
    let csv = std::fs::read(DATA).map_err(|e| format!("{DATA}: {e}"))?;
    let imported = service.import_file(&staff, &csv, false, Default::default()).await.map_err(|e| e.message)?;
    let streets = std::fs::read(STREETS).map_err(|e| format!("{STREETS}: {e}"))?;
    let network = service.import_streets(&staff, &streets).await.map_err(|e| e.message)?;
    let cut = service
        .cut_turfs(&staff, CutRequest { target_doors: Some(80), ..CutRequest::default() })
        .await
        .map_err(|e| e.message)?;
    let mut captain_tokens = Vec::new();
    for (id, name, team, team_name) in [
        ("capitaine-nord", "Nour (capitaine)", "nord", "Équipe nord"),
        ("capitaine-sud", "Yann (capitaine)", "sud", "Équipe sud"),
    ] {
        let inv = service
            .invite(
                &staff,
                InviteRequest {
                    email: None,
                    name: name.into(),
                    user_id: Some(id.into()),
                    role: Role::Captain,
                    team_id: None,
                },
            )
            .await
            .map_err(|e| e.message)?;
        captain_tokens.push((id.to_string(), inv.token.unwrap_or_default()));
        service
            .create_team(&staff, TeamRequest { id: team.into(), name: team_name.into(), captains: vec![id.into()] })
            .await
            .map_err(|e| e.message)?;
    }
    let mut volunteers = Vec::new();
    for i in 0..10 {
        let vol = format!("benevole-{i:02}");
        let team = if i < 5 { "nord" } else { "sud" };
        let inv = service
            .invite(
                &staff,
                InviteRequest {
                    email: None,
                    name: format!("Bénévole {i}"),
                    user_id: Some(vol.clone()),
                    role: Role::Volunteer,
                    team_id: Some(team.into()),
                },
            )
            .await
            .map_err(|e| e.message)?;
        let turf = cut.turfs[(i * 5) % cut.turfs.len()].clone();
        service
            .set_turf_team(&staff, &turf, TurfTeamRequest { team_id: Some(team.into()) })
            .await
            .map_err(|e| e.message)?;
        service
            .assign(&staff, &turf, AssignRequest { volunteer_id: vol.clone(), lease_days: None })
            .await
            .map_err(|e| e.message)?;
        volunteers.push((vol, inv.join_code.unwrap_or_default(), turf));
    }
    let mut logins = Vec::new();
    for user in ["coordinatrice", "capitaine-nord", "capitaine-sud"] {
        let password = crate::auth::new_token()[..16].to_string();
        service
            .set_login(&staff, user, SetLoginRequest { login: user.into(), password: password.clone() })
            .await
            .map_err(|e| e.message)?;
        logins.push((user.to_string(), password));
    }
    eprintln!(
        "Campagne « {} » : {} adresses réelles (Nantes Métropole, ODbL), {} tronçons de rue (IGN BD TOPO), {} secteurs d'environ 80 portes.",
        campaign.name,
        imported.imported.buildings,
        network.edges,
        cut.turfs.len()
    );
    Ok(Seeded {
        volunteers,
        coordinator_token,
        captain_tokens,
        logins,
        addresses: imported.imported.buildings as usize,
        turfs: cut.turfs.len(),
    })
}
