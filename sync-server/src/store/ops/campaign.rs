//! Campaign-wide operations: the survey script, the street network, polling stations and targeting, retention.

use doorstep_protocol::{Campaign, ResultCode, SurveyScript};

use super::*;
use crate::store::tx::Tx;
use crate::vals;

/// Stores a new version of the campaign's script and result codes; every turf of the campaign
/// moves to a new version so that devices get it on their next pull. Returns the new version.
pub async fn update_script(
    tx: &mut dyn Tx,
    campaign_id: &str,
    survey: &SurveyScript,
    codes: &[ResultCode],
    now_ms: i64,
) -> StoreResult<u32> {
    let current = tx.row(SELECT_MAX_SCRIPT, &vals![campaign_id]).await?.and_then(|r| r[0].opt_int().ok().flatten());
    let Some(current) = current else { return Err(StoreError::Missing { kind: "campaign", id: campaign_id.into() }) };
    let version = current + 1;
    // A code that now means another outcome changes the status of doors already reported.
    let before: Vec<ResultCode> = match tx.row(SELECT_CAMPAIGN_CODES, &vals![campaign_id]).await? {
        Some(r) => parse("result codes", &r[0].text()?)?,
        None => Vec::new(),
    };
    let recount = before.iter().any(|b| codes.iter().any(|c| c.code == b.code && c.outcome != b.outcome));
    let mut survey = survey.clone();
    survey.version = u32::try_from(version).map_err(|_| StoreError::Corrupt("script version overflow".into()))?;
    tx.exec(INSERT_SCRIPT, &vals![campaign_id, version, json(&survey), json(&codes), now_ms]).await?;
    tx.exec(UPDATE_CAMPAIGN_SCRIPT, &vals![json(&survey), json(&codes), campaign_id]).await?;
    let turfs = tx.rows(SELECT_TURF_IDS, &vals![campaign_id]).await?;
    for t in turfs {
        bump(tx, &t[0].text()?, &TurfOp { campaign: true, ..TurfOp::default() }).await?;
    }
    if recount {
        super::counters::rebuild_campaign(tx, campaign_id).await?;
    }
    Ok(survey.version)
}

pub async fn script(
    tx: &mut dyn Tx,
    campaign_id: &str,
    version: u32,
) -> StoreResult<Option<(SurveyScript, Vec<ResultCode>)>> {
    tx.row(SELECT_SCRIPT, &vals![campaign_id, i64::from(version)])
        .await?
        .map(|r| Ok((parse("survey", &r[0].text()?)?, parse("result codes", &r[1].text()?)?)))
        .transpose()
}

/// Creates a campaign and records the first version of its script.
pub async fn create_campaign(tx: &mut dyn Tx, c: &Campaign, now_ms: i64) -> StoreResult<()> {
    let mode = serde_json::to_value(c.mode).expect("mode").as_str().unwrap_or_default().to_string();
    let n = tx
        .exec(
            INSERT_CAMPAIGN,
            &vals![&c.id, &c.name, mode, json(&c.result_codes), json(&c.survey), c.retention_until_ms, now_ms],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict(format!("campaign {}", c.id)));
    }
    super::groups::added(tx, &c.id, super::groups::CAMPAIGN).await?;
    tx.exec(INSERT_SCRIPT, &vals![&c.id, i64::from(c.survey.version), json(&c.survey), json(&c.result_codes), now_ms])
        .await?;
    Ok(())
}

pub async fn set_street_network(
    tx: &mut dyn Tx,
    campaign_id: &str,
    body: &str,
    edges: u64,
) -> StoreResult<Vec<String>> {
    tx.exec(UPSERT_NETWORK, &vals![campaign_id, edges as i64, body]).await?;
    let mut touched = Vec::new();
    for t in tx.rows(SELECT_TURF_IDS, &vals![campaign_id]).await? {
        let id = t[0].text()?;
        bump(tx, &id, &TurfOp { network: true, ..TurfOp::default() }).await?;
        touched.push(id);
    }
    Ok(touched)
}

pub async fn street_network_version(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Option<u64>> {
    Ok(tx.row(SELECT_NETWORK_VERSION, &vals![campaign_id]).await?.map(|r| r[0].int()).transpose()?.map(|v| v as u64))
}

pub async fn street_network(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Option<(u64, String)>> {
    tx.row(SELECT_NETWORK, &vals![campaign_id]).await?.map(|r| Ok((r[0].int()? as u64, r[1].text()?))).transpose()
}

pub async fn set_station_results(tx: &mut dyn Tx, campaign_id: &str, results: &[(String, String)]) -> StoreResult<()> {
    for (id, body) in results {
        tx.exec(UPSERT_STATION_RESULTS, &vals![campaign_id, id.as_str(), body.as_str()]).await?;
    }
    Ok(())
}

/// Stores boundaries, then gives every building with no station and in no turf the station whose
/// boundary holds it. Returns how many got one, and the buildings that are in no boundary or
/// already in a turf (whose packages are not changed behind devices' backs).
pub async fn set_station_boundaries(
    tx: &mut dyn Tx,
    campaign_id: &str,
    boundaries: &[(String, String)],
) -> StoreResult<StationsPlaced> {
    for (id, geometry) in boundaries {
        tx.exec(UPSERT_STATION_BOUNDARY, &vals![campaign_id, id.as_str(), geometry.as_str()]).await?;
    }
    // Facts (the buildings with no station), the decision (a pure function), then the writes.
    let areas: Vec<(String, crate::targeting::Area)> = boundaries
        .iter()
        .filter_map(|(id, g)| Some((id.clone(), crate::targeting::Area::of(&serde_json::from_str(g).ok()?)?)))
        .collect();
    let buildings = tx
        .rows(SELECT_UNSTATIONED, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].float()?, r[2].float()?, r[3].opt_text()?.is_some())))
        .collect::<StoreResult<Vec<_>>>()?;
    let plan = crate::targeting::place_in_areas(&areas, &buildings);
    // The results count by station: what the placed buildings' reports count moves with them.
    let placed: Vec<&str> = plan.assign.iter().map(|(b, _)| b.as_str()).collect();
    let counted = super::counters::Moving::start(tx, campaign_id, placed).await?;
    for (building, station) in &plan.assign {
        tx.exec(SET_BUILDING_STATION, &vals![station.as_str(), building.as_str()]).await?;
    }
    counted.settle(tx).await?;
    let out = StationsPlaced {
        assigned: plan.assign.len() as u64,
        outside: plan.outside,
        in_turfs: plan.in_turfs,
        ambiguous: plan.ambiguous,
    };
    Ok(out)
}

pub async fn stations(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<StationRow>> {
    tx.rows(SELECT_STATIONS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| {
            Ok(StationRow {
                id: r[0].text()?,
                results: r[1].opt_text()?.map(|s| parse("station results", &s)).transpose()?,
                boundary: r[2].opt_text()?.map(|s| parse("station boundary", &s)).transpose()?,
            })
        })
        .collect()
}

/// The bounding box (south, west, north, east) of the campaign's buildings, if it has any.
pub async fn extent(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Option<(f64, f64, f64, f64)>> {
    let rows = tx.rows(SELECT_EXTENT, &vals![campaign_id]).await?;
    let Some(r) = rows.first() else { return Ok(None) };
    if r[4].int()? == 0 {
        return Ok(None);
    }
    Ok(Some((r[0].float()?, r[1].float()?, r[2].float()?, r[3].float()?)))
}

pub async fn station_doors(
    tx: &mut dyn Tx,
    campaign_id: &str,
) -> StoreResult<Vec<(Option<String>, Option<String>, u64)>> {
    tx.rows(SELECT_STATION_DOORS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].opt_text()?, r[1].opt_text()?, r[2].int()? as u64)))
        .collect()
}

pub async fn targeting(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Option<crate::targeting::Formula>> {
    tx.row(SELECT_TARGETING, &vals![campaign_id]).await?.map(|r| parse("targeting", &r[0].text()?)).transpose()
}

pub async fn set_targeting(tx: &mut dyn Tx, campaign_id: &str, f: &crate::targeting::Formula) -> StoreResult<()> {
    tx.exec(UPSERT_TARGETING, &vals![campaign_id, json(f)]).await?;
    Ok(())
}

/// What a retention purge erased.
pub async fn purge_personal_data(tx: &mut dyn Tx, campaign_id: &str, now_ms: i64) -> StoreResult<PurgeCounts> {
    let mut counts = PurgeCounts::default();
    for r in tx.rows(SELECT_REPORT_BODIES, &vals![campaign_id]).await? {
        let (id, body) = (r[0].text()?, r[1].text()?);
        let mut report: doorstep_protocol::KnockReport = parse("report", &body)?;
        if report.answers.is_empty() && report.note.is_none() {
            continue;
        }
        report.answers.clear();
        report.note = None;
        tx.exec(UPDATE_REPORT_BODY, &vals![json(&report), id]).await?;
        counts.reports_stripped += 1;
    }
    for r in tx.rows(SELECT_HELD_BODIES, &vals![campaign_id]).await? {
        let (id, body) = (r[0].text()?, r[1].text()?);
        let mut report: doorstep_protocol::KnockReport = parse("held report", &body)?;
        if report.answers.is_empty() && report.note.is_none() {
            continue;
        }
        report.answers.clear();
        report.note = None;
        tx.exec(UPDATE_HELD_BODY, &vals![json(&report), id]).await?;
        counts.reports_stripped += 1;
    }
    counts.people_deleted = tx.exec(DELETE_CAMPAIGN_PEOPLE, &vals![campaign_id]).await?;
    counts.devices_revoked = tx.exec(REVOKE_CAMPAIGN_VOLUNTEERS, &vals![now_ms, campaign_id]).await?;
    counts.public_signups_deleted = super::reminders::purge(tx, campaign_id).await?;
    counts.messages_deleted = super::messages::purge(tx, campaign_id).await?;
    counts.pages_deleted = super::pages::purge(tx, campaign_id).await?;
    super::results::answers_purged(tx, campaign_id).await?;
    Ok(counts)
}

pub async fn campaigns_past_retention(tx: &mut dyn Tx, now_ms: i64) -> StoreResult<Vec<String>> {
    tx.rows(SELECT_CAMPAIGNS_PAST_RETENTION, &vals![now_ms]).await?.iter().map(|r| r[0].text()).collect()
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const SELECT_EXTENT: &str =
    "SELECT MIN(lat), MIN(lon), MAX(lat), MAX(lon), COUNT(*) FROM buildings WHERE campaign_id = $1";
const INSERT_CAMPAIGN: &str =
    "INSERT INTO campaigns(id, name, mode, result_codes, survey, retention_until_ms, created_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";

const SELECT_MAX_SCRIPT: &str = "SELECT MAX(version) FROM survey_versions WHERE campaign_id = $1";

const INSERT_SCRIPT: &str =
    "INSERT INTO survey_versions(campaign_id, version, survey, result_codes, created_ms) VALUES ($1, $2, $3, $4, $5)";

const SELECT_SCRIPT: &str = "SELECT survey, result_codes FROM survey_versions WHERE campaign_id = $1 AND version = $2";

const SELECT_CAMPAIGN_CODES: &str = "SELECT result_codes FROM campaigns WHERE id = $1";

const UPDATE_CAMPAIGN_SCRIPT: &str = "UPDATE campaigns SET survey = $1, result_codes = $2 WHERE id = $3";

const SELECT_TURF_IDS: &str = "SELECT id FROM turfs WHERE campaign_id = $1 ORDER BY id";

const UPSERT_NETWORK: &str = "INSERT INTO street_networks(campaign_id, version, edges, body) VALUES ($1, 1, $2, $3)
     ON CONFLICT (campaign_id) DO UPDATE SET version = street_networks.version + 1, edges = excluded.edges, body = excluded.body";

const SELECT_NETWORK_VERSION: &str = "SELECT version FROM street_networks WHERE campaign_id = $1";

const SELECT_NETWORK: &str = "SELECT version, body FROM street_networks WHERE campaign_id = $1";

const UPSERT_STATION_RESULTS: &str =
    "INSERT INTO stations(campaign_id, id, results, boundary) VALUES ($1, $2, $3, NULL)
     ON CONFLICT (campaign_id, id) DO UPDATE SET results = excluded.results";

const UPSERT_STATION_BOUNDARY: &str =
    "INSERT INTO stations(campaign_id, id, results, boundary) VALUES ($1, $2, NULL, $3)
     ON CONFLICT (campaign_id, id) DO UPDATE SET boundary = excluded.boundary";

const SELECT_STATIONS: &str = "SELECT id, results, boundary FROM stations WHERE campaign_id = $1 ORDER BY id";

const SELECT_UNSTATIONED: &str = "SELECT id, lat, lon, turf_id FROM buildings
     WHERE campaign_id = $1 AND polling_station IS NULL ORDER BY id";

const SET_BUILDING_STATION: &str = "UPDATE buildings SET polling_station = $1 WHERE id = $2 AND turf_id IS NULL";

const SELECT_STATION_DOORS: &str = "SELECT b.turf_id, b.polling_station, COUNT(d.id) FROM buildings b
     JOIN doors d ON d.building_id = b.id WHERE b.campaign_id = $1 GROUP BY b.turf_id, b.polling_station";

const SELECT_TARGETING: &str = "SELECT formula FROM targeting WHERE campaign_id = $1";

const UPSERT_TARGETING: &str = "INSERT INTO targeting(campaign_id, formula) VALUES ($1, $2)
     ON CONFLICT (campaign_id) DO UPDATE SET formula = excluded.formula";

const SELECT_REPORT_BODIES: &str = "SELECT id, body FROM reports WHERE campaign_id = $1 ORDER BY id";

const UPDATE_REPORT_BODY: &str = "UPDATE reports SET body = $1 WHERE id = $2";

const DELETE_CAMPAIGN_PEOPLE: &str = "DELETE FROM people WHERE household_id IN (SELECT h.id FROM households h
     JOIN doors d ON d.id = h.door_id JOIN buildings b ON b.id = d.building_id WHERE b.campaign_id = $1)";

const REVOKE_CAMPAIGN_VOLUNTEERS: &str = "UPDATE devices SET revoked_ms = $1 WHERE revoked_ms IS NULL
     AND user_id IN (SELECT id FROM users WHERE campaign_id = $2 AND role = 'volunteer')";

const SELECT_CAMPAIGNS_PAST_RETENTION: &str =
    "SELECT id FROM campaigns WHERE retention_until_ms IS NOT NULL AND retention_until_ms <= $1 ORDER BY id";

const SELECT_HELD_BODIES: &str = "SELECT id, body FROM held_reports WHERE campaign_id = $1 ORDER BY id";

const UPDATE_HELD_BODY: &str = "UPDATE held_reports SET body = $1 WHERE id = $2";
