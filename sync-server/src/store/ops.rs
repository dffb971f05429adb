//! Store operations written once over [`Tx`], run inside one transaction by either backend.
//! Every change to what a device holds bumps the turf's version and appends one [`TurfOp`] for
//! that version, in the same transaction: the op log that pull turns into deltas.

use std::collections::{HashMap, HashSet};

use doorstep_protocol::{Campaign, ResultCode, SurveyScript};

use super::records::*;
use super::sql::*;
use super::tx::{Row, Tx, Val};
use crate::vals;

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn turf_from(r: &Row) -> StoreResult<TurfRow> {
    Ok(TurfRow {
        id: r[0].text()?,
        campaign_id: r[1].text()?,
        name: r[2].text()?,
        version: r[3].int()? as u64,
        volunteer_id: r[4].opt_text()?,
        lease_expires_ms: r[5].opt_int()?,
        team_id: r[6].opt_text()?,
        checksum: match (r[7].opt_text()?, r[8].opt_int()?) {
            (Some(sum), Some(v)) => Some((v as u64, sum)),
            _ => None,
        },
    })
}

fn user_from(r: &Row) -> StoreResult<User> {
    Ok(User {
        id: r[0].text()?,
        campaign_id: r[1].text()?,
        role: Role::parse(&r[2].text()?)?,
        display_name: r[3].text()?,
        team_id: r[4].opt_text()?,
    })
}

pub async fn turf(tx: &mut dyn Tx, id: &str) -> StoreResult<Option<TurfRow>> {
    tx.row(SELECT_TURF, &vals![id]).await?.as_ref().map(turf_from).transpose()
}

async fn turf_in(tx: &mut dyn Tx, campaign_id: &str, id: &str) -> StoreResult<TurfRow> {
    match turf(tx, id).await? {
        Some(t) if t.campaign_id == campaign_id => Ok(t),
        _ => Err(StoreError::Missing { kind: "turf", id: id.to_string() }),
    }
}

/// Bumps a turf's version and records what changed. Returns the new version.
pub async fn bump(tx: &mut dyn Tx, turf_id: &str, op: &TurfOp) -> StoreResult<u64> {
    let row = tx
        .row(BUMP_TURF_RETURNING, &vals![turf_id])
        .await?
        .ok_or_else(|| StoreError::Missing { kind: "turf", id: turf_id.to_string() })?;
    let version = row[0].int()?;
    tx.exec(INSERT_TURF_OP, &vals![turf_id, version, json(op)]).await?;
    Ok(version as u64)
}

pub async fn create_turf(
    tx: &mut dyn Tx,
    campaign_id: &str,
    turf_id: &str,
    name: &str,
    team_id: Option<&str>,
    building_ids: &[String],
) -> StoreResult<()> {
    if turf(tx, turf_id).await?.is_some() {
        return Err(StoreError::Conflict(format!("turf {turf_id}")));
    }
    if let Some(team) = team_id {
        team_in(tx, campaign_id, team).await?;
    }
    tx.exec(INSERT_TURF_V2, &vals![turf_id, campaign_id, name, team_id]).await?;
    // In batches: a cut of a million doors is a few thousand statements, not two per building.
    let owners = building_owners(tx, building_ids.iter().map(String::as_str)).await?;
    let mut seen = std::collections::HashSet::new();
    for b in building_ids {
        match owners.get(b) {
            Some((c, None)) if c == campaign_id && seen.insert(b) => {}
            Some((c, _)) if c == campaign_id => {
                return Err(StoreError::Conflict(format!("building {b} is already in a turf")));
            }
            _ => return Err(StoreError::Missing { kind: "building", id: b.clone() }),
        }
    }
    for chunk in building_ids.chunks(500) {
        // Every id was checked to be of this campaign above; by primary key only (with the
        // campaign in the filter, SQLite walked the campaign's index instead).
        let list: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!("UPDATE buildings SET turf_id = $1 WHERE id IN ({})", list.join(", "));
        let mut params = vec![Val::from(turf_id)];
        params.extend(chunk.iter().map(Val::from));
        tx.exec(&sql, &params).await?;
    }
    Ok(())
}

pub async fn assign_turf(
    tx: &mut dyn Tx,
    turf_id: &str,
    volunteer_id: Option<&str>,
    lease_expires_ms: Option<i64>,
) -> StoreResult<()> {
    let t = turf(tx, turf_id).await?.ok_or_else(|| StoreError::Missing { kind: "turf", id: turf_id.to_string() })?;
    if let Some(v) = volunteer_id {
        let u = tx
            .row(SELECT_USER, &vals![v])
            .await?
            .as_ref()
            .map(user_from)
            .transpose()?
            .filter(|u| u.campaign_id == t.campaign_id && u.role == Role::Volunteer)
            .ok_or_else(|| StoreError::Missing { kind: "volunteer", id: v.to_string() })?;
        tx.exec(INSERT_HOLDER, &vals![turf_id, &u.id]).await?;
    }
    tx.exec(SET_LEASE, &vals![volunteer_id, lease_expires_ms, turf_id]).await?;
    bump(tx, turf_id, &TurfOp { lease: true, ..TurfOp::default() }).await?;
    Ok(())
}

/// Moves buildings into `to_turf`; one op per turf touched. Returns the turfs touched.
pub async fn move_buildings(
    tx: &mut dyn Tx,
    campaign_id: &str,
    building_ids: &[String],
    to_turf: &str,
) -> StoreResult<Vec<String>> {
    turf_in(tx, campaign_id, to_turf).await?;
    let mut removed: Vec<(String, Vec<String>)> = Vec::new();
    let mut added = Vec::new();
    for b in building_ids {
        let row = tx.row(SELECT_BUILDING_CAMPAIGN, &vals![b]).await?;
        let from = match row {
            Some(r) if r[0].text()? == campaign_id => r[1].opt_text()?,
            _ => return Err(StoreError::Missing { kind: "building", id: b.clone() }),
        };
        if from.as_deref() == Some(to_turf) {
            continue;
        }
        tx.exec(SET_BUILDING_TURF, &vals![to_turf, b, campaign_id]).await?;
        if let Some(f) = from {
            tx.exec(INSERT_MOVE, &vals![b, &f]).await?;
            match removed.iter_mut().find(|(t, _)| *t == f) {
                Some((_, ids)) => ids.push(b.clone()),
                None => removed.push((f, vec![b.clone()])),
            }
        }
        added.push(b.clone());
    }
    let mut touched = Vec::new();
    if !added.is_empty() {
        bump(tx, to_turf, &TurfOp { add: added, ..TurfOp::default() }).await?;
        touched.push(to_turf.to_string());
    }
    for (t, ids) in removed {
        bump(tx, &t, &TurfOp { remove: ids, ..TurfOp::default() }).await?;
        touched.push(t);
    }
    Ok(touched)
}

pub async fn turf_ops(tx: &mut dyn Tx, turf_id: &str, after: u64) -> StoreResult<Vec<(u64, TurfOp)>> {
    tx.rows(SELECT_TURF_OPS, &vals![turf_id, after as i64])
        .await?
        .iter()
        .map(|r| Ok((r[0].int()? as u64, parse("turf op", &r[1].text()?)?)))
        .collect()
}

pub async fn set_checksum(tx: &mut dyn Tx, turf_id: &str, version: u64, checksum: &str) -> StoreResult<()> {
    tx.exec(SET_CHECKSUM, &vals![checksum, version as i64, turf_id]).await?;
    Ok(())
}

// ----- survey script -----------------------------------------------------------------------------

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
    let mut survey = survey.clone();
    survey.version = u32::try_from(version).map_err(|_| StoreError::Corrupt("script version overflow".into()))?;
    tx.exec(INSERT_SCRIPT, &vals![campaign_id, version, json(&survey), json(&codes), now_ms]).await?;
    tx.exec(UPDATE_CAMPAIGN_SCRIPT, &vals![json(&survey), json(&codes), campaign_id]).await?;
    let turfs = tx.rows(SELECT_TURF_IDS, &vals![campaign_id]).await?;
    for t in turfs {
        bump(tx, &t[0].text()?, &TurfOp { campaign: true, ..TurfOp::default() }).await?;
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
    tx.exec(INSERT_SCRIPT, &vals![&c.id, i64::from(c.survey.version), json(&c.survey), json(&c.result_codes), now_ms])
        .await?;
    Ok(())
}

// ----- people and teams --------------------------------------------------------------------------

/// Gives a staff member a login and password hash; a login held by someone else is a conflict.
pub async fn set_login(tx: &mut dyn Tx, user_id: &str, login: &str, password_hash: &str) -> StoreResult<()> {
    if let Some(r) = tx.row(SELECT_LOGIN_OWNER, &vals![login]).await?
        && r[0].text()? != user_id
    {
        return Err(StoreError::Conflict(format!("login {login}")));
    }
    if tx.exec(SET_LOGIN, &vals![login, password_hash, user_id]).await? == 0 {
        return Err(StoreError::Missing { kind: "user", id: user_id.to_string() });
    }
    Ok(())
}

/// The user behind a login, with their password hash.
pub async fn user_by_login(tx: &mut dyn Tx, login: &str) -> StoreResult<Option<(User, Option<String>)>> {
    match tx.row(SELECT_BY_LOGIN, &vals![login]).await? {
        Some(r) => Ok(Some((user_from(&r)?, r[5].opt_text()?))),
        None => Ok(None),
    }
}

pub async fn devices(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<DeviceRow>> {
    tx.rows(SELECT_CAMPAIGN_DEVICES, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| {
            Ok(DeviceRow {
                device_id: r[0].text()?,
                user_id: r[1].text()?,
                created_ms: r[2].int()?,
                expires_ms: r[3].int()?,
                revoked_ms: r[4].opt_int()?,
                last_seen_ms: r[5].opt_int()?,
            })
        })
        .collect()
}

pub async fn campaign_doors(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<DoorRow>> {
    tx.rows(SELECT_CAMPAIGN_DOORS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| {
            Ok(DoorRow {
                door_id: r[0].text()?,
                building_id: r[1].text()?,
                turf_id: r[2].opt_text()?,
                street: r[3].text()?,
                house_number: r[4].text()?,
                lat: r[5].float()?,
                lon: r[6].float()?,
                station: r[7].opt_text()?,
            })
        })
        .collect()
}

pub async fn review_overlap(
    tx: &mut dyn Tx,
    campaign_id: &str,
    report_id: &str,
    user_id: &str,
    now_ms: i64,
) -> StoreResult<bool> {
    tx.exec(INSERT_OVERLAP_REVIEW, &vals![user_id, now_ms, report_id, campaign_id]).await?;
    Ok(tx.row(SELECT_OVERLAP_REVIEWED, &vals![report_id]).await?.is_some())
}

pub async fn located_reports(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<LocatedReport>> {
    tx.rows(SELECT_LOCATED_REPORTS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| {
            Ok(LocatedReport {
                stored: StoredReport { report: parse("report", &r[0].text()?)?, overlap: r[1].int()? != 0 },
                building_id: r[2].text()?,
                door_id: r[3].opt_text()?,
                received_ms: r[4].int()?,
            })
        })
        .collect()
}

pub async fn audit_log(tx: &mut dyn Tx, campaign_id: &str, before_ms: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
    tx.rows(SELECT_AUDIT, &vals![campaign_id, before_ms, limit])
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r[0].text()?,
                at_ms: r[1].int()?,
                campaign_id: campaign_id.to_string(),
                actor: r[2].text()?,
                device_id: r[3].opt_text()?,
                action: r[4].text()?,
                subject: r[5].opt_text()?,
                detail: parse("audit detail", &r[6].text()?)?,
            })
        })
        .collect()
}

pub async fn users(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<User>> {
    tx.rows(SELECT_USERS, &vals![campaign_id]).await?.iter().map(user_from).collect()
}

async fn team_in(tx: &mut dyn Tx, campaign_id: &str, team_id: &str) -> StoreResult<()> {
    match tx.row(SELECT_TEAM, &vals![team_id]).await? {
        Some(r) if r[1].text()? == campaign_id => Ok(()),
        _ => Err(StoreError::Missing { kind: "team", id: team_id.to_string() }),
    }
}

async fn user_in(tx: &mut dyn Tx, campaign_id: &str, user_id: &str) -> StoreResult<User> {
    match tx.row(SELECT_USER, &vals![user_id]).await?.as_ref().map(user_from).transpose()? {
        Some(u) if u.campaign_id == campaign_id => Ok(u),
        _ => Err(StoreError::Missing { kind: "user", id: user_id.to_string() }),
    }
}

pub async fn create_team(tx: &mut dyn Tx, team: &Team) -> StoreResult<()> {
    if tx.row(SELECT_TEAM, &vals![&team.id]).await?.is_some() {
        return Err(StoreError::Conflict(format!("team {}", team.id)));
    }
    tx.exec(INSERT_TEAM, &vals![&team.id, &team.campaign_id, &team.name]).await?;
    for c in &team.captains {
        add_member(tx, &team.campaign_id, &team.id, c).await?;
    }
    Ok(())
}

/// Adds a user to a team: a captain leads it (a captain may lead several teams), a volunteer
/// belongs to it (one team at a time).
pub async fn add_member(tx: &mut dyn Tx, campaign_id: &str, team_id: &str, user_id: &str) -> StoreResult<Role> {
    team_in(tx, campaign_id, team_id).await?;
    let u = user_in(tx, campaign_id, user_id).await?;
    match u.role {
        Role::Captain => {
            tx.exec(INSERT_CAPTAIN, &vals![team_id, user_id]).await?;
        }
        Role::Volunteer => {
            tx.exec(SET_USER_TEAM, &vals![team_id, user_id]).await?;
        }
        Role::Coordinator => {
            return Err(StoreError::Conflict(format!("{user_id} is a coordinator, not a team member")));
        }
    }
    Ok(u.role)
}

pub async fn teams(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<Team>> {
    let rows = tx.rows(SELECT_TEAMS, &vals![campaign_id]).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id = r[0].text()?;
        let captains =
            tx.rows(SELECT_CAPTAINS, &vals![&id]).await?.iter().map(|c| c[0].text()).collect::<Result<_, _>>()?;
        out.push(Team { id, campaign_id: r[1].text()?, name: r[2].text()?, captains });
    }
    Ok(out)
}

pub async fn captain_teams(tx: &mut dyn Tx, user_id: &str) -> StoreResult<Vec<String>> {
    tx.rows(SELECT_CAPTAIN_TEAMS, &vals![user_id]).await?.iter().map(|r| r[0].text()).collect()
}

pub async fn set_turf_team(
    tx: &mut dyn Tx,
    campaign_id: &str,
    turf_id: &str,
    team_id: Option<&str>,
) -> StoreResult<()> {
    turf_in(tx, campaign_id, turf_id).await?;
    if let Some(t) = team_id {
        team_in(tx, campaign_id, t).await?;
    }
    tx.exec(SET_TURF_TEAM, &vals![team_id, turf_id]).await?;
    Ok(())
}

pub async fn turf_summaries(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<TurfSummary>> {
    tx.rows(SELECT_CAMPAIGN_TURFS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok(TurfSummary { turf: turf_from(r)?, buildings: r[9].int()? as u64, doors: r[10].int()? as u64 }))
        .collect()
}

pub async fn device(tx: &mut dyn Tx, token_hash: &str) -> StoreResult<Option<Device>> {
    let Some(r) = tx.row(SELECT_DEVICE, &vals![token_hash]).await? else { return Ok(None) };
    Ok(Some(Device {
        device_id: r[0].text()?,
        user_id: r[1].text()?,
        campaign_id: r[2].text()?,
        expires_ms: r[3].int()?,
        revoked_ms: r[4].opt_int()?,
        wiped_ms: r[5].opt_int()?,
    }))
}

/// Another user holding a token under this device id, if any.
pub async fn device_other_user(tx: &mut dyn Tx, device_id: &str, user_id: &str) -> StoreResult<Option<String>> {
    tx.row(SELECT_DEVICE_OTHER_USERS, &vals![device_id, user_id]).await?.map(|r| r[0].text()).transpose()
}

pub async fn device_owner(tx: &mut dyn Tx, device_id: &str) -> StoreResult<Option<String>> {
    tx.row(SELECT_DEVICE_OWNER, &vals![device_id]).await?.map(|r| r[0].text()).transpose()
}

// ----- addresses ---------------------------------------------------------------------------------

fn candidate_from(r: &Row) -> StoreResult<CutCandidate> {
    Ok(CutCandidate {
        id: r[0].text()?,
        lat: r[1].float()?,
        lon: r[2].float()?,
        doors: r[3].int()? as u32,
        street: r[4].text()?,
        house_number: r[5].text()?,
        polling_station: r[6].opt_text()?,
    })
}

/// Refuses a turf that is being worked: held now or ever, or with a report.
async fn ensure_recuttable(tx: &mut dyn Tx, campaign_id: &str, turf_id: &str) -> StoreResult<()> {
    let t = turf_in(tx, campaign_id, turf_id).await?;
    if t.volunteer_id.is_some()
        || tx.row(TURF_EVER_HELD, &vals![turf_id]).await?.is_some()
        || tx.row(TURF_HAS_REPORTS, &vals![turf_id]).await?.is_some()
    {
        return Err(StoreError::Conflict(format!("turf {turf_id} is being worked: it is never re-cut")));
    }
    Ok(())
}

pub async fn cut_candidates(tx: &mut dyn Tx, campaign_id: &str, recut: &[String]) -> StoreResult<Vec<CutCandidate>> {
    let mut out: Vec<CutCandidate> =
        tx.rows(SELECT_UNPLACED, &vals![campaign_id]).await?.iter().map(candidate_from).collect::<StoreResult<_>>()?;
    for t in recut {
        ensure_recuttable(tx, campaign_id, t).await?;
        for r in tx.rows(SELECT_TURF_CUT_BUILDINGS, &vals![t]).await?.iter() {
            out.push(candidate_from(r)?);
        }
    }
    Ok(out)
}

pub async fn apply_cut(tx: &mut dyn Tx, campaign_id: &str, dissolve: &[String], turfs: &[NewTurf]) -> StoreResult<()> {
    for t in dissolve {
        ensure_recuttable(tx, campaign_id, t).await?;
        for q in DISSOLVE_TURF {
            tx.exec(q, &vals![t]).await?;
        }
    }
    for t in turfs {
        create_turf(tx, campaign_id, &t.id, &t.name, t.team_id.as_deref(), &t.buildings).await?;
    }
    Ok(())
}

pub async fn building_turf(tx: &mut dyn Tx, building_id: &str) -> StoreResult<Option<String>> {
    Ok(tx.row(SELECT_BUILDING_CAMPAIGN, &vals![building_id]).await?.map(|r| r[1].opt_text()).transpose()?.flatten())
}

pub async fn street_buildings(tx: &mut dyn Tx, turf_id: &str, street: &str) -> StoreResult<Vec<String>> {
    tx.rows(SELECT_STREET_BUILDINGS, &vals![turf_id, street]).await?.iter().map(|r| r[0].text()).collect()
}

/// The buildings of the given doors; an unknown door (or one of another campaign) is an error.
pub async fn door_buildings(tx: &mut dyn Tx, campaign_id: &str, door_ids: &[String]) -> StoreResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for d in door_ids {
        let b = tx
            .row(SELECT_DOOR_BUILDING, &vals![d, campaign_id])
            .await?
            .ok_or_else(|| StoreError::Missing { kind: "door", id: d.clone() })?[0]
            .text()?;
        if !out.contains(&b) {
            out.push(b);
        }
    }
    Ok(out)
}

/// Every report on a building now in the turf.
pub async fn turf_facts(tx: &mut dyn Tx, turf_id: &str) -> StoreResult<Vec<ReportFact>> {
    tx.rows(SELECT_TURF_FACTS, &vals![turf_id])
        .await?
        .iter()
        .map(|r| {
            Ok(ReportFact {
                id: r[0].text()?,
                building_id: r[1].text()?,
                door_id: r[2].opt_text()?,
                person_id: r[3].opt_text()?,
                result_code: r[4].text()?,
                supersedes: r[5].opt_text()?,
                volunteer_id: r[6].text()?,
                at_ms: r[7].int()?,
                overlap: r[8].int()? != 0,
                device_id: r[9].text()?,
            })
        })
        .collect()
}

/// `(door id, building id)` of every door in the turf.
pub async fn turf_doors(tx: &mut dyn Tx, turf_id: &str) -> StoreResult<Vec<(String, String)>> {
    tx.rows(SELECT_TURF_DOOR_IDS, &vals![turf_id]).await?.iter().map(|r| Ok((r[0].text()?, r[1].text()?))).collect()
}

pub async fn turf_households(tx: &mut dyn Tx, turf_id: &str) -> StoreResult<Vec<doorstep_protocol::Household>> {
    tx.rows(SELECT_TURF_HOUSEHOLDS, &vals![turf_id])
        .await?
        .iter()
        .map(|r| Ok(doorstep_protocol::Household { id: r[0].text()?, door_id: r[1].text()? }))
        .collect()
}

pub async fn turf_people(tx: &mut dyn Tx, turf_id: &str) -> StoreResult<Vec<doorstep_protocol::Person>> {
    tx.rows(SELECT_TURF_PEOPLE, &vals![turf_id])
        .await?
        .iter()
        .map(|r| {
            Ok(doorstep_protocol::Person {
                id: r[0].text()?,
                household_id: r[1].text()?,
                display_name: r[2].text()?,
                birth_year: r[3].opt_int()?.map(|y| y as i32),
            })
        })
        .collect()
}

/// Whether `volunteer` ever held `turf`, and whether `building` is or ever was in it.
pub async fn in_scope(
    tx: &mut dyn Tx,
    volunteer: &str,
    turf: &str,
    building: &str,
    turf_now: Option<&str>,
) -> StoreResult<bool> {
    if tx.row(HELD_EVER, &vals![turf, volunteer]).await?.is_none() {
        return Ok(false);
    }
    Ok(turf_now == Some(turf) || tx.row(WAS_IN_TURF, &vals![building, turf]).await?.is_some())
}

// ----- street network ----------------------------------------------------------------------------

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

// ----- polling stations --------------------------------------------------------------------------

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
    type Shape = (String, serde_json::Value, (f64, f64, f64, f64));
    let shapes: Vec<Shape> = boundaries
        .iter()
        .filter_map(|(id, g)| {
            let v: serde_json::Value = serde_json::from_str(g).ok()?;
            let b = crate::targeting::bbox(&v)?;
            Some((id.clone(), v, b))
        })
        .collect();
    let mut out = StationsPlaced::default();
    for r in tx.rows(SELECT_UNSTATIONED, &vals![campaign_id]).await? {
        let (id, lat, lon, turf) = (r[0].text()?, r[1].float()?, r[2].float()?, r[3].opt_text()?);
        let holding: Vec<&Shape> = shapes
            .iter()
            .filter(|(_, g, b)| {
                (b.0..=b.2).contains(&lon) && (b.1..=b.3).contains(&lat) && crate::targeting::contains(g, lat, lon)
            })
            .collect();
        if holding.len() > 1 {
            out.ambiguous.push(id.clone());
        }
        let found = holding.into_iter().max_by(|a, b| {
            crate::targeting::depth(&a.1, lat, lon)
                .total_cmp(&crate::targeting::depth(&b.1, lat, lon))
                .then(b.0.cmp(&a.0))
        });
        match (found, turf) {
            (Some(_), Some(_)) => out.in_turfs.push(id),
            (Some((station, _, _)), None) => {
                tx.exec(SET_BUILDING_STATION, &vals![station.as_str(), id.as_str()]).await?;
                out.assigned += 1;
            }
            (None, _) => out.outside.push(id),
        }
    }
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
    Ok(counts)
}

pub async fn campaigns_past_retention(tx: &mut dyn Tx, now_ms: i64) -> StoreResult<Vec<String>> {
    tx.rows(SELECT_CAMPAIGNS_PAST_RETENTION, &vals![now_ms]).await?.iter().map(|r| r[0].text()).collect()
}

/// For each building id, its campaign and turf now (unknown ids are left out).
pub(crate) async fn building_owners<'a>(
    tx: &mut dyn Tx,
    ids: impl IntoIterator<Item = &'a str>,
) -> StoreResult<HashMap<String, (String, Option<String>)>> {
    owners(tx, BUILDING_OWNERS, ids).await
}

/// For each id, its campaign and turf now, through `select` (`SELECT x.id, b.campaign_id,
/// b.turf_id … WHERE x.id IN` — the list is appended).
pub(crate) async fn owners<'a>(
    tx: &mut dyn Tx,
    select: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> StoreResult<HashMap<String, (String, Option<String>)>> {
    let ids: Vec<&str> = ids.into_iter().collect::<HashSet<_>>().into_iter().collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("{select} ({})", list.join(", "));
        let params: Vec<Val> = chunk.iter().map(|id| Val::from(*id)).collect();
        for r in tx.rows(&sql, &params).await? {
            out.insert(r[0].text()?, (r[1].text()?, r[2].opt_text()?));
        }
    }
    Ok(out)
}

const BUILDING_OWNERS: &str = "SELECT b.id, b.campaign_id, b.turf_id FROM buildings b WHERE b.id IN";
