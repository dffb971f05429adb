//! Whether a turf package may be applied on a phone: checked by the phone before anything is
//! written, and by the server's tests on every package it builds. Moved here from the phone's store
//! so that the rule is written once.

use std::collections::HashSet;

use crate::TURF_PACKAGE_FORMAT;
use crate::campaign::{Campaign, CampaignMode, QuestionKind};
use crate::turf::{Building, StreetNetwork, TurfPackage};
use crate::validate::answers::validate_lat_lon;

/// Why a package cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("turf package is malformed: {0}")]
    Malformed(String),
    #[error("turf package format {found} is newer than this build reads ({supported})")]
    UnsupportedFormat { found: u32, supported: u32 },
}

type Result<T> = std::result::Result<T, PackageError>;

fn bad(msg: impl Into<String>) -> PackageError {
    PackageError::Malformed(msg.into())
}

pub fn check_format(format: u32) -> Result<()> {
    if format == 0 {
        return Err(bad("format 0 does not exist"));
    }
    if format > TURF_PACKAGE_FORMAT {
        return Err(PackageError::UnsupportedFormat { found: format, supported: TURF_PACKAGE_FORMAT });
    }
    Ok(())
}

pub fn check_campaign(c: &Campaign) -> Result<()> {
    if c.id.is_empty() {
        return Err(bad("campaign id is empty"));
    }
    let mut codes = HashSet::new();
    for rc in &c.result_codes {
        if !codes.insert(rc.code.as_str()) {
            return Err(bad(format!("result code {} appears twice", rc.code)));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for q in &c.survey.questions {
        if seen.contains(&q.id.as_str()) {
            return Err(bad(format!("question {} appears twice", q.id)));
        }
        if let Some(cond) = &q.show_when
            && !seen.contains(&cond.question_id.as_str())
        {
            return Err(bad(format!(
                "question {} depends on {}, which is not an earlier question",
                q.id, cond.question_id
            )));
        }
        seen.push(&q.id);
    }
    if let Some(cq) = &c.survey.consent_question_id {
        match c.survey.question(cq) {
            Some(q) if q.kind == QuestionKind::YesNo && !q.personal => {}
            _ => {
                return Err(bad(format!("consent question {cq} must be a non-personal yes/no question of the script")));
            }
        }
    } else if c.survey.questions.iter().any(|q| q.personal) {
        return Err(bad("the script has personal questions but no consent question"));
    }
    Ok(())
}

pub fn check_building(b: &Building) -> Result<()> {
    if b.id.is_empty() {
        return Err(bad("a building has an empty id"));
    }
    validate_lat_lon(b.lat, b.lon).map_err(|e| bad(format!("building {}: {e}", b.id)))
}

/// Coordinates in range, edges between existing nodes with a finite length.
pub fn check_network(net: &StreetNetwork) -> Result<()> {
    for n in &net.nodes {
        validate_lat_lon(n[1], n[0]).map_err(|e| bad(format!("street network node: {e}")))?;
    }
    let count = net.nodes.len() as u32;
    if let Some(e) =
        net.edges.iter().find(|e| e.from >= count || e.to >= count || !e.length_m.is_finite() || e.length_m < 0.0)
    {
        return Err(bad(format!("street network edge {}→{} is invalid", e.from, e.to)));
    }
    Ok(())
}

/// Checks a full package before anything is written.
pub fn check_package(p: &TurfPackage) -> Result<()> {
    check_format(p.format)?;
    check_campaign(&p.campaign)?;
    if p.turf.id.is_empty() {
        return Err(bad("turf id is empty"));
    }
    let mut buildings = HashSet::new();
    for b in &p.buildings {
        check_building(b)?;
        if !buildings.insert(b.id.as_str()) {
            return Err(bad(format!("building {} appears twice", b.id)));
        }
    }
    let mut entrances = std::collections::HashMap::new();
    for e in &p.entrances {
        if !buildings.contains(e.building_id.as_str()) {
            return Err(bad(format!("entrance {} belongs to unknown building {}", e.id, e.building_id)));
        }
        if entrances.insert(e.id.as_str(), e.building_id.as_str()).is_some() {
            return Err(bad(format!("entrance {} appears twice", e.id)));
        }
    }
    let mut doors = HashSet::new();
    let mut with_doors = HashSet::new();
    for d in &p.doors {
        if !buildings.contains(d.building_id.as_str()) {
            return Err(bad(format!("door {} belongs to unknown building {}", d.id, d.building_id)));
        }
        if let Some(e) = &d.entrance_id
            && entrances.get(e.as_str()) != Some(&d.building_id.as_str())
        {
            return Err(bad(format!("door {} names entrance {e}, which is not in its building", d.id)));
        }
        if !doors.insert(d.id.as_str()) {
            return Err(bad(format!("door {} appears twice", d.id)));
        }
        with_doors.insert(d.building_id.as_str());
    }
    if let Some(b) = p.buildings.iter().find(|b| !with_doors.contains(b.id.as_str())) {
        return Err(bad(format!("building {} has no door (a house has one door with an empty label)", b.id)));
    }
    let mut households = HashSet::new();
    for h in &p.households {
        if !doors.contains(h.door_id.as_str()) {
            return Err(bad(format!("household {} belongs to unknown door {}", h.id, h.door_id)));
        }
        if !households.insert(h.id.as_str()) {
            return Err(bad(format!("household {} appears twice", h.id)));
        }
    }
    let mut people = HashSet::new();
    for person in &p.people {
        if p.campaign.mode == CampaignMode::AddressOnly {
            return Err(bad("an address-only campaign carries no people"));
        }
        if !households.contains(person.household_id.as_str()) {
            return Err(bad(format!("person {} belongs to unknown household {}", person.id, person.household_id)));
        }
        if !people.insert(person.id.as_str()) {
            return Err(bad(format!("person {} appears twice", person.id)));
        }
    }
    if let Some(net) = &p.street_network {
        check_network(net)?;
    }
    Ok(())
}
