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

use doorstep_protocol::status::{
    DeviceFact, DoorStatus, DoorTally, StatusFact, door_tally, standing_pair, tally_after,
};
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

/// A door whose tally (status, contacted) changed: the counters' input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyChange {
    pub door_id: String,
    pub building_id: String,
    pub was: DoorTally,
    pub now: DoorTally,
}

/// A door's facts and its tally, as [`write_pairs`] takes them.
type DoorFacts = (String, String, Vec<DeviceFact>, DoorTally);

fn list(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub(super) async fn outcomes(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<HashMap<String, Outcome>> {
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
    /// The turf it was made in, its place in knocking order, an overlap, a position: what the
    /// counters need (`ops::counters`).
    pub turf_id: String,
    pub at_ms: i64,
    pub hlc_counter: i64,
    pub overlap: bool,
    pub located: bool,
    /// The person reported on, and the answers (the results' counts, `ops::results`).
    pub person_id: Option<String>,
    pub answers: Vec<doorstep_protocol::Answer>,
}

impl NewReport {
    pub fn key(&self) -> super::shares::Key {
        super::shares::Key { at_ms: self.at_ms, counter: self.hlc_counter, id: self.id.clone() }
    }
}

/// Brings the pair of every door the reports just written touch up to date, in the writing
/// transaction. A door whose new reports correct nothing gets the pair of its old pair and the new
/// reports (exact: [`doorstep_protocol::status`]'s `adding_reports_to_the_pair` property), without
/// reading its history; a door with a correction among them is recomputed from its reports.
/// Each door's tally follows the same way ([`tally_after`], or [`door_tally`] of its history).
/// Returns each building's turf and the doors whose tally changed (for the counters,
/// `ops::counters::reports_written`).
pub async fn refresh(tx: &mut dyn Tx, campaign_id: &str, written: &[NewReport]) -> StoreResult<Refreshed> {
    if written.is_empty() {
        return Ok(Refreshed::default());
    }
    let outcome_of = outcomes(tx, campaign_id).await?;
    let buildings: BTreeSet<&str> = written.iter().map(|r| r.building_id.as_str()).collect();
    let buildings: Vec<&str> = buildings.into_iter().collect();
    // Each building's turf now (locked on PostgreSQL, see the module's note).
    let mut turf_of: HashMap<String, Option<String>> = HashMap::new();
    let mut position_of: HashMap<String, (f64, f64)> = HashMap::new();
    let mut station_of: HashMap<String, Option<String>> = HashMap::new();
    for chunk in buildings.chunks(LIST) {
        let lock = if tx.arrays() { " FOR UPDATE" } else { "" };
        let sql = format!(
            "SELECT id, turf_id, lat, lon, polling_station FROM buildings WHERE id IN ({}) ORDER BY id{lock}",
            list(1, chunk.len())
        );
        for r in tx.rows(&sql, &chunk.iter().map(|b| Val::from(*b)).collect::<Vec<_>>()).await? {
            turf_of.insert(r[0].text()?, r[1].opt_text()?);
            position_of.insert(r[0].text()?, (r[2].float()?, r[3].float()?));
            station_of.insert(r[0].text()?, r[4].opt_text()?);
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
    let mut tallies = tallies_of(tx, &door_ids).await?;
    let corrected: Vec<&str> = corrected.into_iter().collect();
    let history = reports_on(tx, &outcome_of, &corrected).await?;
    let facts = doors.iter().map(|(door, building)| {
        let old = tallies.get(door).copied().unwrap_or_default();
        if corrected.contains(&building.as_str()) {
            let facts = on_door(&history, door, building);
            let tally = door_tally(facts.iter().map(|f| &f.fact));
            (door.clone(), building.clone(), facts, tally)
        } else {
            let new = fresh.remove(door.as_str()).unwrap_or_default();
            let tally = tally_after(old, new.iter().map(|f| &f.fact));
            let mut facts: Vec<DeviceFact> =
                before.get(door).map(|rows| rows.iter().map(StandingRow::fact).collect()).unwrap_or_default();
            facts.extend(new);
            (door.clone(), building.clone(), facts, tally)
        }
    });
    let facts: Vec<DoorFacts> = facts.collect();
    let changes = write_pairs(tx, before, &mut tallies, facts).await?;
    Ok(Refreshed { turf_of, position_of, station_of, changes, outcome_of })
}

/// What [`refresh`] saw and changed: each building's turf now, and the doors whose tally changed.
#[derive(Debug, Default)]
pub struct Refreshed {
    pub turf_of: HashMap<String, Option<String>>,
    /// Each building's position (the map's cells, `ops::cells`).
    pub position_of: HashMap<String, (f64, f64)>,
    /// Each building's polling station (the results' counts, `ops::results`).
    pub station_of: HashMap<String, Option<String>>,
    pub changes: Vec<TallyChange>,
    pub outcome_of: HashMap<String, Outcome>,
}

/// The tallies kept for these doors (untouched doors have none).
async fn tallies_of(tx: &mut dyn Tx, doors: &[&str]) -> StoreResult<HashMap<String, DoorTally>> {
    let mut out = HashMap::new();
    for chunk in doors.chunks(LIST) {
        let sql =
            format!("SELECT door_id, status, contacted FROM door_tally WHERE door_id IN ({})", list(1, chunk.len()));
        for r in tx.rows(&sql, &chunk.iter().map(|d| Val::from(*d)).collect::<Vec<_>>()).await? {
            let status = super::super::dash::status_of_rank(r[1].int()?);
            out.insert(r[0].text()?, DoorTally { status, contacted: r[2].int()? != 0 });
        }
    }
    Ok(out)
}

/// Every report on `buildings`, by building: `(door, fact)`, the door `None` for a report on the
/// whole building. A code the campaign no longer knows counts for nothing (as on the phone). A
/// `supersedes` counts only when it names a report of the same volunteer on the same door and
/// person (the rule book's scope for corrections, refused otherwise at ingest since; a row stored
/// before that erases no one's work, here as on the dashboard).
async fn reports_on(
    tx: &mut dyn Tx,
    outcome_of: &HashMap<String, Outcome>,
    buildings: &[&str],
) -> StoreResult<HashMap<String, Vec<(Option<String>, DeviceFact)>>> {
    type Scope = (String, Option<String>, Option<String>);
    let mut out: HashMap<String, Vec<(Option<String>, DeviceFact)>> = HashMap::new();
    for chunk in buildings.chunks(LIST) {
        let sql = format!(
            "SELECT building_id, door_id, id, device_id, supersedes, result_code, volunteer_id, person_id
             FROM reports WHERE building_id IN ({})",
            list(1, chunk.len())
        );
        let rows = tx.rows(&sql, &chunk.iter().map(|b| Val::from(*b)).collect::<Vec<_>>()).await?;
        let mut scope: HashMap<String, Scope> = HashMap::new();
        for r in &rows {
            scope.insert(r[2].text()?, (r[6].text()?, r[1].opt_text()?, r[7].opt_text()?));
        }
        for r in &rows {
            let Some(outcome) = outcome_of.get(&r[5].text()?).copied() else { continue };
            let mine = scope.get(&r[2].text()?);
            let supersedes = r[4].opt_text()?.filter(|s| scope.get(s).is_some_and(|named| Some(named) == mine));
            let fact = DeviceFact {
                fact: StatusFact { id: r[2].text()?, supersedes, outcome, rejected: false },
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

/// Recomputes the pairs and tallies of `doors` (`(door, building)`) from every report on
/// `buildings` (the counters are recounted by the caller).
async fn recompute(
    tx: &mut dyn Tx,
    outcome_of: &HashMap<String, Outcome>,
    buildings: &[&str],
    doors: Vec<(String, String)>,
) -> StoreResult<Vec<TallyChange>> {
    let history = reports_on(tx, outcome_of, buildings).await?;
    let door_ids: Vec<&str> = doors.iter().map(|(d, _)| d.as_str()).collect();
    let before = pairs_of(tx, &door_ids).await?;
    let mut tallies = tallies_of(tx, &door_ids).await?;
    let facts = doors
        .iter()
        .map(|(door, building)| {
            let facts = on_door(&history, door, building);
            let tally = door_tally(facts.iter().map(|f| &f.fact));
            (door.clone(), building.clone(), facts, tally)
        })
        .collect();
    write_pairs(tx, before, &mut tallies, facts).await
}

/// Each door's pair from its facts ([`standing_pair`]) and its tally; only the doors whose pair or
/// tally changed are rewritten. Returns the doors whose tally changed.
async fn write_pairs(
    tx: &mut dyn Tx,
    mut before: HashMap<String, Vec<StandingRow>>,
    tallies: &mut HashMap<String, DoorTally>,
    facts: Vec<DoorFacts>,
) -> StoreResult<Vec<TallyChange>> {
    let mut changed: Vec<&str> = Vec::new();
    let mut rows: Vec<StandingRow> = Vec::new();
    let mut changes = Vec::new();
    for (door, building, facts, tally) in &facts {
        let was = tallies.remove(door).unwrap_or_default();
        if was != *tally {
            changes.push(TallyChange { door_id: door.clone(), building_id: building.clone(), was, now: *tally });
        }
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
            changed.push(door);
            rows.extend(now);
        }
    }
    write_tallies(tx, &changes).await?;
    for chunk in changed.chunks(LIST) {
        let sql = format!("DELETE FROM door_standing WHERE door_id IN ({})", list(1, chunk.len()));
        tx.defer(&sql, chunk.iter().map(|d| Val::from(*d)).collect()).await?;
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
        tx.defer(&sql, params).await?;
    }
    Ok(changes)
}

/// Rewrites the tallies that changed (an untouched door keeps no row).
async fn write_tallies(tx: &mut dyn Tx, changes: &[TallyChange]) -> StoreResult<()> {
    let doors: Vec<&str> = changes.iter().map(|c| c.door_id.as_str()).collect();
    for chunk in doors.chunks(LIST) {
        let sql = format!("DELETE FROM door_tally WHERE door_id IN ({})", list(1, chunk.len()));
        tx.defer(&sql, chunk.iter().map(|d| Val::from(*d)).collect()).await?;
    }
    let kept: Vec<&TallyChange> = changes.iter().filter(|c| c.now.status != DoorStatus::Untouched).collect();
    for chunk in kept.chunks(LIST / 4) {
        let values: Vec<String> = (0..chunk.len()).map(|i| format!("({})", list(i * 4 + 1, 4))).collect();
        let sql =
            format!("INSERT INTO door_tally(door_id, building_id, status, contacted) VALUES {}", values.join(", "));
        let params: Vec<Val> = chunk
            .iter()
            .flat_map(|c| {
                vals![
                    c.door_id.as_str(),
                    c.building_id.as_str(),
                    super::super::dash::rank_of_status(c.now.status),
                    i64::from(c.now.contacted)
                ]
            })
            .collect();
        tx.defer(&sql, params).await?;
    }
    Ok(())
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

/// Every door's pair and tally in a campaign recomputed from its history (through
/// [`super::counters::rebuild_campaign`], which counts again after).
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
