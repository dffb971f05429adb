//! Turfs: creation, assignment, moves of buildings between turfs, the op log, cuts, what a package holds.

use super::*;
use crate::store::tx::{Row, Tx, Val};
use crate::vals;

pub async fn create_turf(
    tx: &mut dyn Tx,
    campaign_id: &str,
    turf_id: &str,
    name: &str,
    team_id: Option<&str>,
    building_ids: &[String],
) -> StoreResult<()> {
    insert_turf(tx, campaign_id, turf_id, name, team_id).await?;
    let ids: Vec<&str> = building_ids.iter().map(String::as_str).collect();
    let counted = super::counters::Moving::start(tx, campaign_id, ids.clone()).await?;
    place_buildings(tx, campaign_id, ids.iter().map(|b| (*b, turf_id)).collect()).await?;
    counted.settle(tx).await
}

/// A new turf's row, at version 1; its team must be of the campaign.
async fn insert_turf(
    tx: &mut dyn Tx,
    campaign_id: &str,
    turf_id: &str,
    name: &str,
    team_id: Option<&str>,
) -> StoreResult<()> {
    if turf(tx, turf_id).await?.is_some() {
        return Err(StoreError::Conflict(format!("turf {turf_id}")));
    }
    if let Some(team) = team_id {
        team_in(tx, campaign_id, team).await?;
    }
    tx.exec(INSERT_TURF_V2, &vals![turf_id, campaign_id, name, team_id]).await?;
    Ok(())
}

/// Puts each (building, turf) in its new turf, in building id order, 500 to a statement (5,000 on
/// PostgreSQL, as arrays): a cut of
/// a million doors touches each page of the buildings once instead of once a turf. Only buildings
/// of this campaign in no turf are placed; a building named twice, already in a turf or unknown
/// refuses the whole change (the caller's transaction rolls back).
async fn place_buildings(tx: &mut dyn Tx, campaign_id: &str, mut pairs: Vec<(&str, &str)>) -> StoreResult<()> {
    pairs.sort_unstable();
    if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(StoreError::Conflict(format!("building {} is named twice", w[0].0)));
    }
    let batch = if tx.arrays() { 5000 } else { 500 };
    // SQLite: placing most of the table at once (the first cut of a large import) goes faster
    // without the turf index, built again once at the end in the same transaction (a million
    // buildings: 6.3–7.0 s → 3.8 s). Readers keep their snapshot, so nothing waits on it; on
    // PostgreSQL dropping the index would lock the table against every reader, so it never does.
    let table_rows = if !tx.arrays() && pairs.len() >= REBUILD_TURF_INDEX_FROM {
        tx.row(COUNT_BUILDINGS, &[]).await?.map_or(Ok(0), |r| r[0].int())?
    } else {
        0
    };
    let rebuild = !tx.arrays() && rebuild_turf_index(pairs.len(), table_rows);
    if rebuild {
        tx.exec(DROP_BUILDINGS_TURF, &[]).await?;
    }
    for chunk in pairs.chunks(batch) {
        let (sql, params) = if tx.arrays() {
            // PostgreSQL: two arrays, one short statement planned the same way every time (a
            // VALUES list of a thousand parameters was planned anew for each batch). Written so
            // that only the primary key can find the rows: the planner cannot know the arrays'
            // length (nor, before statistics, how many buildings a campaign has), and offered the
            // turf or the campaign index it walked every unplaced building for each pair (27 s a
            // batch of 5,000 among 50,000; 150 ms a turf of 50 among 16,000).
            let sql = "UPDATE buildings SET turf_id = v.t FROM unnest($1::text[], $2::text[]) AS v(b, t)
                 WHERE buildings.id = v.b AND buildings.campaign_id || '' = $3 AND COALESCE(buildings.turf_id, '') = ''"
                .to_string();
            let params = vec![
                Val::Array(chunk.iter().map(|(b, _)| Val::from(*b)).collect()),
                Val::Array(chunk.iter().map(|(_, t)| Val::from(*t)).collect()),
                Val::from(campaign_id),
            ];
            (sql, params)
        } else {
            values_update(chunk, campaign_id)
        };
        if tx.exec(&sql, &params).await? as usize == chunk.len() {
            continue;
        }
        // Fewer rows changed than were sent: the owners say which building was wrong.
        let owners = building_owners(tx, chunk.iter().map(|p| p.0)).await?;
        for (b, t) in chunk {
            match owners.get(*b) {
                Some((c, Some(now))) if c == campaign_id && now == t => {}
                Some((c, Some(_))) if c == campaign_id => {
                    return Err(StoreError::Conflict(format!("building {b} is already in a turf")));
                }
                Some((c, None)) if c == campaign_id => {
                    return Err(StoreError::Conflict(format!("building {b} changed while it was placed")));
                }
                _ => return Err(StoreError::Missing { kind: "building", id: b.to_string() }),
            }
        }
        return Err(StoreError::Conflict("a building changed while it was placed".into()));
    }
    if rebuild {
        tx.exec(crate::store::sql::CREATE_BUILDINGS_TURF, &[]).await?;
    }
    Ok(())
}

/// Placements from which rebuilding the turf index can pay.
const REBUILD_TURF_INDEX_FROM: usize = 50_000;

/// Whether to place `placing` buildings with the turf index dropped and built again: only when
/// they are many and at least half the table (all campaigns' buildings), since building the index
/// again reads every row.
fn rebuild_turf_index(placing: usize, table_rows: i64) -> bool {
    placing >= REBUILD_TURF_INDEX_FROM && placing as i64 * 2 >= table_rows
}

/// SQLite's form of a batch of placements: one `UPDATE … FROM (VALUES …)`.
fn values_update(chunk: &[(&str, &str)], campaign_id: &str) -> (String, Vec<Val>) {
    // `columnN` names a VALUES list's columns; SQLite numbers `$N` parameters in order of
    // appearance, so the campaign comes last.
    let values: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2)).collect();
    let sql = format!(
        "UPDATE buildings SET turf_id = v.column2 FROM (VALUES {}) AS v
         WHERE buildings.id = v.column1 AND buildings.campaign_id = ${} AND buildings.turf_id IS NULL",
        values.join(", "),
        2 * chunk.len() + 1
    );
    let mut params: Vec<Val> = chunk.iter().flat_map(|(b, t)| [Val::from(*b), Val::from(*t)]).collect();
    params.push(Val::from(campaign_id));
    (sql, params)
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
            .filter(|u| u.campaign_id == t.campaign_id && matches!(u.role, Role::Volunteer | Role::Captain))
            .ok_or_else(|| StoreError::Missing { kind: "volunteer", id: v.to_string() })?;
        tx.exec(INSERT_HOLDER, &vals![turf_id, &u.id]).await?;
    }
    tx.exec(SET_LEASE, &vals![volunteer_id, lease_expires_ms, turf_id]).await?;
    bump(tx, turf_id, &TurfOp { lease: true, ..TurfOp::default() }).await?;
    Ok(())
}

/// Moves buildings into `to_turf`; one op per turf touched. Returns the turfs touched.
///
/// With `expect_from` (a street taken from a turf), every building must still be in that turf:
/// its row is locked first, so two captains moving out of one turf at once (through two server
/// processes) are decided one after the other, and the second learns where the street went
/// ([`StoreError::Moved`]) instead of taking it back. Every building's move is conditional on the
/// turf it was read in, and buildings are taken in one order, so concurrent moves never both win
/// nor wait on each other in a circle.
pub async fn move_buildings(
    tx: &mut dyn Tx,
    campaign_id: &str,
    building_ids: &[String],
    to_turf: &str,
    expect_from: Option<&str>,
) -> StoreResult<Vec<String>> {
    turf_in(tx, campaign_id, to_turf).await?;
    if let Some(from) = expect_from {
        tx.exec(LOCK_TURF, &vals![from]).await?;
    }
    let mut ids: Vec<&String> = building_ids.iter().collect();
    ids.sort();
    ids.dedup();
    // What the buildings add to the counters, moved with them.
    let all: Vec<&str> = ids.iter().map(|b| b.as_str()).collect();
    let counted = super::counters::Moving::start(tx, campaign_id, all).await?;
    let mut removed: Vec<(String, Vec<String>)> = Vec::new();
    let mut added = Vec::new();
    for b in ids {
        let row = tx.row(SELECT_BUILDING_CAMPAIGN, &vals![b.as_str()]).await?;
        let from = match row {
            Some(r) if r[0].text()? == campaign_id => r[1].opt_text()?,
            _ => return Err(StoreError::Missing { kind: "building", id: b.clone() }),
        };
        if expect_from.is_some_and(|want| from.as_deref() != Some(want)) {
            return Err(StoreError::Moved { building: b.clone(), now_in: from });
        }
        if from.as_deref() == Some(to_turf) {
            continue;
        }
        if tx.exec(SET_BUILDING_TURF, &vals![to_turf, b.as_str(), campaign_id, from.as_deref()]).await? == 0 {
            // Moved by another transaction between the read and the write (PostgreSQL).
            let now_in = tx.row(SELECT_BUILDING_CAMPAIGN, &vals![b.as_str()]).await?.map(|r| r[1].opt_text());
            return Err(StoreError::Moved { building: b.clone(), now_in: now_in.transpose()?.flatten() });
        }
        if let Some(f) = from {
            tx.exec(INSERT_MOVE, &vals![b.as_str(), &f]).await?;
            match removed.iter_mut().find(|(t, _)| *t == f) {
                Some((_, ids)) => ids.push(b.clone()),
                None => removed.push((f, vec![b.clone()])),
            }
        }
        added.push(b.clone());
    }
    counted.settle(tx).await?;
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

pub async fn set_turf_team(
    tx: &mut dyn Tx,
    campaign_id: &str,
    turf_id: &str,
    team_id: Option<&str>,
) -> StoreResult<()> {
    let was = turf_in(tx, campaign_id, turf_id).await?;
    if let Some(t) = team_id {
        team_in(tx, campaign_id, t).await?;
    }
    super::groups::turf_changes_team(tx, campaign_id, turf_id, was.team_id.as_deref(), team_id).await?;
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

pub(crate) fn candidate_from(r: &Row) -> StoreResult<CutCandidate> {
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
pub(crate) async fn ensure_recuttable(tx: &mut dyn Tx, campaign_id: &str, turf_id: &str) -> StoreResult<()> {
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
    // The buildings that change turf: those of the dissolved turfs and those placed.
    let mut moving: Vec<String> = turfs.iter().flat_map(|t| t.buildings.iter().cloned()).collect();
    for t in dissolve {
        ensure_recuttable(tx, campaign_id, t).await?;
        for r in tx.rows(SELECT_TURF_BUILDING_IDS, &vals![t]).await? {
            moving.push(r[0].text()?);
        }
    }
    moving.sort_unstable();
    moving.dedup();
    let counted = super::counters::Moving::start(tx, campaign_id, moving.iter().map(String::as_str).collect()).await?;
    for t in dissolve {
        for q in DISSOLVE_TURF {
            tx.exec(q, &vals![t]).await?;
        }
    }
    // The turfs in batches (a cut of a million doors makes twelve thousand): each team checked
    // once, an id already taken (or named twice) refuses the whole cut.
    let mut teams: Vec<&str> = turfs.iter().filter_map(|t| t.team_id.as_deref()).collect();
    teams.sort_unstable();
    teams.dedup();
    for team in teams {
        team_in(tx, campaign_id, team).await?;
    }
    let rows = turfs
        .iter()
        .map(|t| {
            vec![
                Val::from(&t.id),
                Val::from(campaign_id),
                Val::from(&t.name),
                Val::Int(1),
                Val::Null,
                Val::Null,
                Val::from(t.team_id.clone()),
            ]
        })
        .collect();
    let added = insert_new(
        tx,
        "turfs(id, campaign_id, name, version, volunteer_id, lease_expires_ms, team_id)",
        &["text", "text", "text", "int8", "text", "int8", "text"],
        rows,
    )
    .await?;
    let mut seen = HashSet::new();
    if let Some(t) = turfs.iter().find(|t| !added.contains(&t.id) || !seen.insert(t.id.as_str())) {
        return Err(StoreError::Conflict(format!("turf {}", t.id)));
    }
    let pairs = turfs.iter().flat_map(|t| t.buildings.iter().map(move |b| (b.as_str(), t.id.as_str()))).collect();
    place_buildings(tx, campaign_id, pairs).await?;
    counted.settle(tx).await
}

pub async fn building_turf(tx: &mut dyn Tx, building_id: &str) -> StoreResult<Option<String>> {
    Ok(tx.row(SELECT_BUILDING_CAMPAIGN, &vals![building_id]).await?.map(|r| r[1].opt_text()).transpose()?.flatten())
}

/// Where a street of `turf_id` went, when it was moved out of it (`Some(None)`: into no turf).
pub async fn street_moved_to(tx: &mut dyn Tx, turf_id: &str, street: &str) -> StoreResult<Option<Option<String>>> {
    tx.row(SELECT_STREET_MOVED_TO, &vals![turf_id, street]).await?.map(|r| r[0].opt_text()).transpose()
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

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const COUNT_BUILDINGS: &str = "SELECT count(*) FROM buildings";

const DROP_BUILDINGS_TURF: &str = "DROP INDEX buildings_turf";

/// Conditional on the turf the building was read in (`$4`; none: in no turf).
const SET_BUILDING_TURF: &str = "UPDATE buildings SET turf_id = $1 WHERE id = $2 AND campaign_id = $3
    AND (turf_id = $4 OR (turf_id IS NULL AND $4 IS NULL))";

/// Locks a turf's row until commit (PostgreSQL; SQLite's write transaction holds everything).
const LOCK_TURF: &str = "UPDATE turfs SET version = version WHERE id = $1";

const SELECT_STREET_MOVED_TO: &str = "SELECT b.turf_id FROM building_moves m JOIN buildings b ON b.id = m.building_id
    WHERE m.from_turf = $1 AND LOWER(b.street) = LOWER($2) ORDER BY b.id LIMIT 1";

const SELECT_TURF_OPS: &str = "SELECT version, body FROM turf_ops WHERE turf_id = $1 AND version > $2 ORDER BY version";

const INSERT_HOLDER: &str =
    "INSERT INTO turf_holders(turf_id, volunteer_id) VALUES ($1, $2) ON CONFLICT (turf_id, volunteer_id) DO NOTHING";

const INSERT_MOVE: &str = "INSERT INTO building_moves(building_id, from_turf) VALUES ($1, $2) ON CONFLICT (building_id, from_turf) DO NOTHING";

const SET_LEASE: &str = "UPDATE turfs SET volunteer_id = $1, lease_expires_ms = $2 WHERE id = $3";

const SELECT_CAMPAIGN_TURFS: &str = "SELECT t.id, t.campaign_id, t.name, t.version, t.volunteer_id, t.lease_expires_ms,
     t.team_id, t.checksum, t.checksum_version,
     (SELECT COUNT(*) FROM buildings b WHERE b.turf_id = t.id),
     (SELECT COUNT(*) FROM doors d JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = t.id)
     FROM turfs t WHERE t.campaign_id = $1 ORDER BY t.id";

const SET_CHECKSUM: &str = "UPDATE turfs SET checksum = $1, checksum_version = $2 WHERE id = $3 AND version = $2";

const SET_TURF_TEAM: &str = "UPDATE turfs SET team_id = $1 WHERE id = $2";

const INSERT_TURF_V2: &str =
    "INSERT INTO turfs(id, campaign_id, name, version, volunteer_id, lease_expires_ms, team_id)
     VALUES ($1, $2, $3, 1, NULL, NULL, $4)";

const SELECT_BUILDING_CAMPAIGN: &str = "SELECT campaign_id, turf_id FROM buildings WHERE id = $1";

/// The columns a cut reads of each building (with its door count).
macro_rules! cut_columns {
    () => {
        "SELECT b.id, b.lat, b.lon, (SELECT COUNT(*) FROM doors d WHERE d.building_id = b.id),
         b.street, b.house_number, b.polling_station FROM buildings b "
    };
}

const SELECT_UNPLACED: &str = concat!(cut_columns!(), "WHERE b.campaign_id = $1 AND b.turf_id IS NULL ORDER BY b.id");

const SELECT_TURF_CUT_BUILDINGS: &str = concat!(cut_columns!(), "WHERE b.turf_id = $1 ORDER BY b.id");

const TURF_EVER_HELD: &str = "SELECT 1 FROM turf_holders WHERE turf_id = $1 LIMIT 1";

const TURF_HAS_REPORTS: &str = "SELECT 1 FROM reports WHERE turf_id = $1 LIMIT 1";

/// A turf no one ever worked, removed: its buildings are in no turf again.
const DISSOLVE_TURF: &[&str] = &[
    "UPDATE buildings SET turf_id = NULL WHERE turf_id = $1",
    "DELETE FROM building_moves WHERE from_turf = $1",
    "DELETE FROM turf_ops WHERE turf_id = $1",
    "DELETE FROM turfs WHERE id = $1",
];

const SELECT_TURF_BUILDING_IDS: &str = "SELECT id FROM buildings WHERE turf_id = $1";

const SELECT_STREET_BUILDINGS: &str =
    "SELECT id FROM buildings WHERE turf_id = $1 AND LOWER(street) = LOWER($2) ORDER BY id";

const SELECT_DOOR_BUILDING: &str = "SELECT d.building_id FROM doors d JOIN buildings b ON b.id = d.building_id
     WHERE d.id = $1 AND b.campaign_id = $2";

const SELECT_TURF_FACTS: &str = "SELECT r.id, r.building_id, r.door_id, r.person_id, r.result_code, r.supersedes,
     r.volunteer_id, r.at_ms, r.overlap, r.device_id
     FROM reports r JOIN buildings b ON b.id = r.building_id WHERE b.turf_id = $1 ORDER BY r.hlc_millis, r.hlc_counter, r.id";

const SELECT_TURF_DOOR_IDS: &str = "SELECT d.id, d.building_id FROM doors d JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = $1 ORDER BY d.id";

const SELECT_TURF_HOUSEHOLDS: &str = "SELECT h.id, h.door_id FROM households h JOIN doors d ON d.id = h.door_id
     JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = $1 ORDER BY h.id";

const SELECT_TURF_PEOPLE: &str = "SELECT p.id, p.household_id, p.display_name, p.birth_year FROM people p
     JOIN households h ON h.id = p.household_id JOIN doors d ON d.id = h.door_id
     JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = $1 ORDER BY p.id";

#[cfg(test)]
mod tests {
    use super::*;

    /// When a cut places buildings with the turf index dropped and built again.
    #[test]
    fn the_turf_index_is_rebuilt_only_for_large_placements_of_most_of_the_table() {
        // (buildings placed, buildings in the table, rebuild)
        let cases: &[(usize, i64, bool)] = &[
            (0, 0, false),
            (80, 1_000_000, false),       // a re-cut of one turf
            (49_999, 50_000, false),      // small: the index is cheap to update
            (50_000, 50_000, true),       // a first cut of a mid-sized import
            (999_880, 1_000_000, true),   // the million-address first cut
            (500_000, 1_000_000, true),   // half the table
            (500_000, 1_000_001, false),  // less than half: rebuilding reads too much
            (100_000, 10_000_000, false), // one campaign among many
        ];
        for &(placing, rows, want) in cases {
            assert_eq!(rebuild_turf_index(placing, rows), want, "{placing} of {rows}");
        }
    }
}
