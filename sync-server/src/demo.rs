//! `doorstep-server demo`: the server on an embedded SQLite file with a campaign built from the
//! real Nantes centre addresses shipped in `data/`, turfs cut, a coordinator, two captains and ten
//! volunteers, and ten simulated volunteers — the real field core over real HTTP — knocking doors
//! and syncing, so that results arrive while you watch. A captain moves a street midway.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_core::{KnockInput, Store};
use doorstep_protocol::{
    Answer, AnswerValue, Building, Campaign, CampaignMode, Door, JoinRequest, PROTOCOL_VERSION, Position, Question,
    QuestionKind, ShowWhen, SurveyScript, Target, default_result_codes,
};

use crate::service::Service;
use crate::store::{Role, ServerStore, User};

pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/nantes/fr_nantes_centre_addresses.csv");

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

/// Reads the shipped Nantes addresses: one building and one door per address.
pub fn nantes_buildings() -> Result<(Vec<Building>, Vec<Door>), String> {
    let text = std::fs::read_to_string(DATA).map_err(|e| format!("{DATA}: {e}"))?;
    let mut seen = std::collections::HashSet::new();
    let (mut buildings, mut doors) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let [id, street, number, postcode, city, lat, lon] = f[..] else { continue };
        let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) else { continue };
        if !seen.insert(id.to_string()) {
            continue;
        }
        buildings.push(Building {
            id: id.into(),
            street: street.into(),
            house_number: number.into(),
            postcode: postcode.into(),
            city: city.into(),
            polling_station: None,
            lat,
            lon,
        });
        doors.push(Door {
            id: format!("{id}-d"),
            building_id: id.into(),
            entrance_id: None,
            floor: None,
            label: String::new(),
            safety_flags: vec![],
        });
    }
    Ok((buildings, doors))
}

/// Builds the campaign in `store`; returns (turf ids assigned to the ten volunteers, join codes).
pub async fn seed(service: &Service, store: &Arc<dyn ServerStore>) -> Result<Vec<(String, String, String)>, String> {
    let campaign = demo_campaign();
    service.create_campaign(&campaign).await.map_err(|e| e.to_string())?;
    let (buildings, doors) = nantes_buildings()?;
    store.import(&campaign.id, &buildings, &[], &doors).await.map_err(|e| e.to_string())?;
    let pts: Vec<(usize, f64, f64)> = buildings.iter().enumerate().map(|(i, b)| (i, b.lat, b.lon)).collect();
    let parts = crate::cut::cut(&pts, 80);
    for (n, part) in parts.iter().enumerate() {
        let ids: Vec<String> = part.iter().map(|&i| buildings[i].id.clone()).collect();
        store
            .create_turf(&campaign.id, &format!("turf-{n:03}"), &format!("Secteur {n}"), &ids)
            .await
            .map_err(|e| e.to_string())?;
    }
    for (id, role, name) in [
        ("coordinatrice", Role::Coordinator, "Camille (coordinatrice)"),
        ("capitaine-nord", Role::Captain, "Nour (capitaine)"),
        ("capitaine-sud", Role::Captain, "Yann (capitaine)"),
    ] {
        store
            .create_user(&User {
                id: id.into(),
                campaign_id: campaign.id.clone(),
                role,
                display_name: name.into(),
                team_id: None,
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut volunteers = Vec::new();
    for i in 0..10 {
        let vol = format!("benevole-{i:02}");
        let code =
            service.invite_volunteer(&campaign.id, &vol, &format!("Bénévole {i}")).await.map_err(|e| e.to_string())?;
        let turf = format!("turf-{:03}", i * 5);
        store.assign_turf(&turf, Some(&vol), None).await.map_err(|e| e.to_string())?;
        volunteers.push((vol, code, turf));
    }
    eprintln!(
        "Campagne « {} » : {} adresses réelles (Nantes Métropole, ODbL), {} secteurs de ≤ 80 adresses.",
        campaign.name,
        buildings.len(),
        parts.len()
    );
    Ok(volunteers)
}

/// One simulated volunteer: joins, pulls, walks the route knocking a door every `pace`, syncing
/// every five knocks. Stops after `knocks` knocks.
pub async fn volunteer(
    base: String,
    dir: PathBuf,
    code: String,
    turf: String,
    pace: Duration,
    knocks: usize,
) -> Result<(), String> {
    let store = Store::open(dir.join("phone.db"), None).map_err(|e| e.to_string())?;
    let join = HttpTransport::new(&base, None)
        .map_err(|e| e.to_string())?
        .join(&JoinRequest { protocol: PROTOCOL_VERSION, code, device_id: store.device_id().to_string() })
        .await
        .map_err(|e| e.to_string())?;
    let transport = HttpTransport::new(&base, Some(join.token)).map_err(|e| e.to_string())?;
    sync(&store, &transport, RetryPolicy::default(), &())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    for n in 0..knocks {
        let Ok(progress) = store.route_progress(&turf) else { break };
        let Some(stop) = progress.next else { break };
        let door = &stop.doors[0];
        let (code, answers) = match n % 5 {
            0 | 3 => ("not_home", vec![]),
            1 => (
                "contact_made",
                vec![
                    Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
                    Answer { question_id: "intent".into(), value: AnswerValue::Choice { value: "oui".into() } },
                ],
            ),
            2 => ("refused", vec![]),
            _ => (
                "contact_made",
                vec![Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: false } }],
            ),
        };
        store
            .record_knock(KnockInput {
                target: Target::Door { id: door.id.clone() },
                result_code: code.into(),
                answers,
                note: None,
                safety_flags: vec![],
                position: Some(Position { lat: stop.lat, lon: stop.lon, accuracy_m: Some(8.0) }),
            })
            .map_err(|e| e.to_string())?;
        if n % 5 == 4 {
            let _ = sync(&store, &transport, RetryPolicy::default(), &()).await;
        }
        tokio::time::sleep(pace).await;
    }
    let _ = sync(&store, &transport, RetryPolicy::default(), &()).await;
    Ok(())
}
