//! The standing reports of every door ([`doorstep_protocol::status::standing_pair`]), kept by the
//! ingest in the push's own transaction, so that a turf's package carries at most one report per
//! door (the strongest standing report of the other devices) instead of the door's whole history
//! (issue 21). Facts (the door's reports) are gathered here, the pair is decided by the protocol's
//! pure function, and only the doors whose pair changed are rewritten.
//!
//! The same SQL on both backends (lists of ids, at most [`LIST`] per statement). On PostgreSQL the
//! buildings are locked first, in id order, so that two pushes on one door through two processes
//! are decided one after the other: the second reads the first's report once it commits (READ
//! COMMITTED reads anew at each statement) and no pair misses a report.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use doorstep_protocol::status::{DeviceFact, StatusFact, standing_pair};
use doorstep_protocol::{Outcome, ResultCode};

use super::super::records::{StoreError, StoreResult};
use super::super::tx::{Tx, Val};
use super::parse;
use crate::vals;

/// Ids per statement.
const LIST: usize = 400;

/// One row of a door's pair: `rank` 0 is the strongest standing report, 1 the strongest of another
/// device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingRow {
    pub door_id: String,
    pub rank: i64,
    pub building_id: String,
    pub report_id: String,
    pub device_id: String,
    pub supersedes: Option<String>,
    pub outcome: Outcome,
}

impl StandingRow {
    pub fn fact(&self) -> DeviceFact {
        DeviceFact {
            fact: StatusFact {
                id: self.report_id.clone(),
                supersedes: self.supersedes.clone(),
                outcome: self.outcome,
                rejected: false,
            },
            device_id: self.device_id.clone(),
        }
    }
}

/// A door whose status over every report changed: the counters' input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub door_id: String,
    pub was: Option<Outcome>,
    pub now: Option<Outcome>,
}

fn list(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

async fn outcomes(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<HashMap<String, Outcome>> {
    let Some(r) = tx.row(SELECT_CODES, &vals![campaign_id]).await? else {
        return Err(StoreError::Missing { kind: "campaign", id: campaign_id.to_string() });
    };
    let codes: Vec<ResultCode> = parse("result codes", &r[0].text()?)?;
    Ok(codes.into_iter().map(|c| (c.code, c.outcome)).collect())
}

/// A report just written, as the pair needs it.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub building_id: String,
    /// `None`: a report on the whole building (it counts for each of its doors).
    pub door_id: Option<String>,
    pub id: String,
    pub device_id: String,
    pub supersedes: Option<String>,
    pub result_code: String,
}

/// Brings the pair of every door the reports just written touch up to date, in the writing
/// transaction. A door whose new reports correct nothing gets the pair of its old pair and the new
/// reports (exact: [`doorstep_protocol::status`]'s `adding_reports_to_the_pair` property), without
/// reading its history; a door with a correction among them is recomputed from its reports.
/// Returns the doors whose status changed.
pub async fn refresh(tx: &mut dyn Tx, campaign_id: &str, written: &[NewReport]) -> StoreResult<Vec<StatusChange>> {
    if written.is_empty() {
        return Ok(Vec::new());
    }
    let outcome_of = outcomes(tx, campaign_id).await?;
    let buildings: BTreeSet<&str> = written.iter().map(|r| r.building_id.as_str()).collect();
    let buildings: Vec<&str> = buildings.into_iter().collect();
    if tx.arrays() {
        for chunk in buildings.chunks(LIST) {
            let sql = format!("SELECT id FROM buildings WHERE id IN ({}) ORDER BY id FOR UPDATE", list(1, chunk.len()));
            tx.rows(&sql, &chunk.iter().map(|b| Val::from(*b)).collect::<Vec<_>>()).await?;
        }
    }
    // Door → its building; the doors of buildings reported as a whole are read.
    let mut doors: BTreeMap<String, String> =
        written.iter().filter_map(|r| r.door_id.as_ref().map(|d| (d.clone(), r.building_id.clone()))).collect();
    let whole: BTreeSet<&str> =
        written.iter().filter(|r| r.door_id.is_none()).map(|r| r.building_id.as_str()).collect();
    let whole: Vec<&str> = whole.into_iter().collect();
    for chunk in whole.chunks(LIST) {
        let sql = format!("SELECT id, building_id FROM doors WHERE building_id IN ({})", list(1, chunk.len()));
        for r in tx.rows(&sql, &chunk.iter().map(|b| Val::from(*b)).collect::<Vec<_>>()).await? {
            doors.insert(r[0].text()?, r[1].text()?);
        }
    }
    let mut fresh: HashMap<&str, Vec<DeviceFact>> = HashMap::new();
    let mut corrected: BTreeSet<&str> = BTreeSet::new();
    for (door, building) in &doors {
        for r in written.iter().filter(|r| r.building_id == *building && r.door_id.as_ref().is_none_or(|d| d == door)) {
            if r.supersedes.is_some() {
                corrected.insert(building.as_str());
            }
            let Some(outcome) = outcome_of.get(&r.result_code).copied() else { continue };
            let fact = StatusFact { id: r.id.clone(), supersedes: r.supersedes.clone(), outcome, rejected: false };
            fresh.entry(door.as_str()).or_default().push(DeviceFact { fact, device_id: r.device_id.clone() });
        }
    }
    let door_ids: Vec<&str> = doors.keys().map(String::as_str).collect();
    let before = pairs_of(tx, &door_ids).await?;
    let corrected: Vec<&str> = corrected.into_iter().collect();
    let history = reports_on(tx, &outcome_of, &corrected).await?;
    let facts = doors.iter().map(|(door, building)| {
        let facts = if corrected.contains(&building.as_str()) {
            on_door(&history, door, building)
        } else {
            let mut facts: Vec<DeviceFact> =
                before.get(door).map(|rows| rows.iter().map(StandingRow::fact).collect()).unwrap_or_default();
            facts.extend(fresh.remove(door.as_str()).unwrap_or_default());
            facts
        };
        (door.clone(), building.clone(), facts)
    });
    let facts: Vec<(String, String, Vec<DeviceFact>)> = facts.collect();
    write_pairs(tx, before, facts).await
}

/// Every report on `buildings`, by building: `(door, fact)`, the door `None` for a report on the
/// whole building. A code the campaign no longer knows counts for nothing (as on the phone).
async fn reports_on(
    tx: &mut dyn Tx,
    outcome_of: &HashMap<String, Outcome>,
    buildings: &[&str],
) -> StoreResult<HashMap<String, Vec<(Option<String>, DeviceFact)>>> {
    let mut out: HashMap<String, Vec<(Option<String>, DeviceFact)>> = HashMap::new();
    for chunk in buildings.chunks(LIST) {
        let sql = format!(
            "SELECT building_id, door_id, id, device_id, supersedes, result_code FROM reports WHERE building_id IN ({})",
            list(1, chunk.len())
        );
        for r in tx.rows(&sql, &chunk.iter().map(|b| Val::from(*b)).collect::<Vec<_>>()).await? {
            let Some(outcome) = outcome_of.get(&r[5].text()?).copied() else { continue };
            let fact = DeviceFact {
                fact: StatusFact { id: r[2].text()?, supersedes: r[4].opt_text()?, outcome, rejected: false },
                device_id: r[3].text()?,
            };
            out.entry(r[0].text()?).or_default().push((r[1].opt_text()?, fact));
        }
    }
    Ok(out)
}

/// The reports of `history` (by building) on one door.
fn on_door(
    history: &HashMap<String, Vec<(Option<String>, DeviceFact)>>,
    door: &str,
    building: &str,
) -> Vec<DeviceFact> {
    history
        .get(building)
        .map(|all| all.iter().filter(|(d, _)| d.as_deref().is_none_or(|d| d == door)).map(|(_, f)| f.clone()).collect())
        .unwrap_or_default()
}

/// The pairs kept for these doors.
async fn pairs_of(tx: &mut dyn Tx, doors: &[&str]) -> StoreResult<HashMap<String, Vec<StandingRow>>> {
    let mut out: HashMap<String, Vec<StandingRow>> = HashMap::new();
    for chunk in doors.chunks(LIST) {
        let sql = format!("{SELECT_STANDING} WHERE door_id IN ({}) ORDER BY door_id, rank", list(1, chunk.len()));
        for row in rows_of(tx.rows(&sql, &chunk.iter().map(|d| Val::from(*d)).collect::<Vec<_>>()).await?)? {
            out.entry(row.door_id.clone()).or_default().push(row);
        }
    }
    Ok(out)
}

/// Recomputes the pairs of `doors` (`(door, building)`) from every report on `buildings`.
async fn recompute(
    tx: &mut dyn Tx,
    outcome_of: &HashMap<String, Outcome>,
    buildings: &[&str],
    doors: Vec<(String, String)>,
) -> StoreResult<Vec<StatusChange>> {
    let history = reports_on(tx, outcome_of, buildings).await?;
    let door_ids: Vec<&str> = doors.iter().map(|(d, _)| d.as_str()).collect();
    let before = pairs_of(tx, &door_ids).await?;
    let facts = doors
        .iter()
        .map(|(door, building)| (door.clone(), building.clone(), on_door(&history, door, building)))
        .collect();
    write_pairs(tx, before, facts).await
}

/// Each door's pair from its facts ([`standing_pair`]); only the doors whose pair changed are
/// rewritten.
async fn write_pairs(
    tx: &mut dyn Tx,
    mut before: HashMap<String, Vec<StandingRow>>,
    facts: Vec<(String, String, Vec<DeviceFact>)>,
) -> StoreResult<Vec<StatusChange>> {
    let mut changed: Vec<&str> = Vec::new();
    let mut rows: Vec<StandingRow> = Vec::new();
    let mut changes = Vec::new();
    for (door, building, facts) in &facts {
        let (best, other) = standing_pair(facts);
        let now: Vec<StandingRow> = [best, other]
            .into_iter()
            .enumerate()
            .filter_map(|(rank, i)| i.map(|i| (rank, &facts[i])))
            .map(|(rank, f)| StandingRow {
                door_id: door.clone(),
                rank: rank as i64,
                building_id: building.clone(),
                report_id: f.fact.id.clone(),
                device_id: f.device_id.clone(),
                supersedes: f.fact.supersedes.clone(),
                outcome: f.fact.outcome,
            })
            .collect();
        let was = before.remove(door).unwrap_or_default();
        if was != now {
            let (w, n) = (was.first().map(|r| r.outcome), now.first().map(|r| r.outcome));
            if w != n {
                changes.push(StatusChange { door_id: door.clone(), was: w, now: n });
            }
            changed.push(door);
            rows.extend(now);
        }
    }
    for chunk in changed.chunks(LIST) {
        let sql = format!("DELETE FROM door_standing WHERE door_id IN ({})", list(1, chunk.len()));
        tx.exec(&sql, &chunk.iter().map(|d| Val::from(*d)).collect::<Vec<_>>()).await?;
    }
    for chunk in rows.chunks(LIST / 7) {
        let values: Vec<String> = (0..chunk.len()).map(|i| format!("({})", list(i * 7 + 1, 7))).collect();
        let sql = format!(
            "INSERT INTO door_standing(door_id, rank, report_id, device_id, supersedes, outcome, building_id) VALUES {}",
            values.join(", ")
        );
        let params: Vec<Val> = chunk
            .iter()
            .flat_map(|r| {
                vals![
                    r.door_id.as_str(),
                    r.rank,
                    r.report_id.as_str(),
                    r.device_id.as_str(),
                    r.supersedes.clone(),
                    r.outcome.as_str(),
                    r.building_id.as_str()
                ]
            })
            .collect();
        tx.exec(&sql, &params).await?;
    }
    Ok(changes)
}

fn rows_of(rows: Vec<Vec<Val>>) -> StoreResult<Vec<StandingRow>> {
    rows.iter()
        .map(|r| {
            let outcome = r[5].text()?;
            Ok(StandingRow {
                door_id: r[0].text()?,
                rank: r[1].int()?,
                building_id: r[6].text()?,
                report_id: r[2].text()?,
                device_id: r[3].text()?,
                supersedes: r[4].opt_text()?,
                outcome: Outcome::parse(&outcome)
                    .ok_or_else(|| StoreError::Corrupt(format!("door standing outcome {outcome}")))?,
            })
        })
        .collect()
}

/// Every door's pair in a campaign recomputed from its history: the schema step that brings the
/// table in, and a script whose codes now mean another outcome.
pub async fn rebuild_campaign(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    let outcome_of = outcomes(tx, campaign_id).await?;
    let buildings: Vec<String> = tx
        .rows(SELECT_CAMPAIGN_BUILDINGS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| r[0].text())
        .collect::<Result<_, _>>()?;
    for chunk in buildings.chunks(LIST) {
        let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let sql = format!("SELECT id, building_id FROM doors WHERE building_id IN ({})", list(1, ids.len()));
        let doors = tx
            .rows(&sql, &ids.iter().map(|b| Val::from(*b)).collect::<Vec<_>>())
            .await?
            .iter()
            .map(|r| Ok((r[0].text()?, r[1].text()?)))
            .collect::<StoreResult<Vec<_>>>()?;
        recompute(tx, &outcome_of, &ids, doors).await?;
    }
    Ok(())
}

/// [`rebuild_campaign`] for every campaign.
pub async fn rebuild_all(tx: &mut dyn Tx) -> StoreResult<()> {
    let ids: Vec<String> =
        tx.rows(SELECT_CAMPAIGN_IDS, &[]).await?.iter().map(|r| r[0].text()).collect::<Result<_, _>>()?;
    for id in ids {
        rebuild_campaign(tx, &id).await?;
    }
    Ok(())
}

/// The pairs of a turf's doors, in door order: at most two rows per door, whatever the history.
pub async fn turf_standing(tx: &mut dyn Tx, turf_id: &str) -> StoreResult<Vec<StandingRow>> {
    let mut rows = rows_of(tx.rows(SELECT_TURF_STANDING, &vals![turf_id]).await?)?;
    rows.sort_unstable_by(|a, b| a.door_id.cmp(&b.door_id).then(a.rank.cmp(&b.rank)));
    Ok(rows)
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const SELECT_CODES: &str = "SELECT result_codes FROM campaigns WHERE id = $1";

const SELECT_STANDING: &str =
    "SELECT door_id, rank, report_id, device_id, supersedes, outcome, building_id FROM door_standing";

/// In no particular order ([`turf_standing`] sorts).
const SELECT_TURF_STANDING: &str =
    "SELECT s.door_id, s.rank, s.report_id, s.device_id, s.supersedes, s.outcome, s.building_id
     FROM buildings b JOIN door_standing s ON s.building_id = b.id WHERE b.turf_id = $1";

const SELECT_CAMPAIGN_BUILDINGS: &str = "SELECT id FROM buildings WHERE campaign_id = $1 ORDER BY id";

const SELECT_CAMPAIGN_IDS: &str = "SELECT id FROM campaigns ORDER BY id";
