//! The coordinator's counters (issue 21), kept by the writes that change them, in their own
//! transaction, so that the progress view reads a few rows per turf instead of every report:
//!
//! - `turf_tally`, per turf (`''`: the doors in no turf): doors, knocked doors, contacted doors,
//!   the sums of the doors' tallies (`door_tally`, kept with the standing pairs by
//!   [`super::standing::refresh`], [`doorstep_protocol::status::door_tally`]);
//! - `volunteer_tally`, per (turf, volunteer): knocks, overlaps not yet reviewed, and knocking
//!   time, the sum of each knock's share ([`share_ms`]);
//! - `hour_tally`, per (turf, hour): knocks and conversations, the timeline;
//! - `volunteer_position`: each volunteer's latest report that carried a position;
//! - `result_tally`: the results view's counts per (turf, station) ([`super::results`]);
//! - `group_tally` and `group_hour_tally`: the same sums per campaign and per team
//!   ([`super::groups`]), added to at the end of every change below.
//!
//! A report counts in the turf its building is in now, or the turf it was made in when its
//! building is in none.
//!
//! Campaign and team figures are kept apart, spread over a few rows each ([`super::groups`]), so
//! that a national campaign's page does not add up a row per turf, and no one row is shared by
//! every push of the campaign (on PostgreSQL such a row would make concurrent pushes wait on each
//! other).
//!
//! Who changes them: a push and an accepted held report ([`reports_written`]), an import ([`doors_added`]), buildings that change turf — a street
//! moved, a turf made, a cut — ([`Moving`]), a reviewed overlap
//! ([`overlap_reviewed`]), a script whose codes mean another outcome and the schema step that
//! brings them in ([`rebuild_campaign`]). The conformance suite (`tests/tests/counters.rs`)
//! checks them against the definitions in `store::dash` on both backends.
//!
//! Known limit (PostgreSQL, several writers): a push that changes the share of a volunteer's next
//! knock on a building that another transaction is moving at that instant adds the change to the
//! turf the building leaves. [`recount_campaign`] mends it; the suite runs writers one at a time.

use std::collections::{BTreeMap, HashMap};

use doorstep_protocol::Outcome;

use super::super::records::StoreResult;
use super::super::tx::{Tx, Val};
use super::groups::GroupChanges;
use super::shares::SharePlan;
use super::standing::TallyChange;
use crate::vals;

/// Ids per statement.
const LIST: usize = 400;

pub use super::counts::{DoorCounts, HourCounts, KnockCounts};
pub use super::shares::share_ms;

fn list(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Adds to the turfs' rows, in key order (so two writers never wait on each other in a circle).
async fn add_doors(
    tx: &mut dyn Tx,
    campaign_id: &str,
    by_key: BTreeMap<String, DoorCounts>,
    g: &mut GroupChanges,
) -> StoreResult<()> {
    for (key, d) in by_key.into_iter().filter(|(_, d)| *d != DoorCounts::default()) {
        g.doors(&key, d);
        tx.defer(UPSERT_TURF_TALLY, vals![campaign_id, key, d.doors, d.knocked, d.contacted].to_vec()).await?;
    }
    Ok(())
}

/// Adds to the (turf, volunteer) rows, in key order.
async fn add_knocks(
    tx: &mut dyn Tx,
    campaign_id: &str,
    by_key: BTreeMap<(String, String), KnockCounts>,
    g: &mut GroupChanges,
) -> StoreResult<()> {
    for ((key, volunteer), k) in by_key.into_iter().filter(|(_, k)| *k != KnockCounts::default()) {
        g.knocks(&key, k);
        tx.defer(UPSERT_VOLUNTEER_TALLY, vals![campaign_id, key, volunteer, k.knocks, k.overlaps, k.time_ms].to_vec())
            .await?;
    }
    Ok(())
}

/// After a volunteer's reports are written with their shares (a push, a held report accepted;
/// `shares`: [`super::shares`]): each door's standing pair and tally
/// ([`super::standing::refresh`]), the turfs' door counts, and the knocks with their shares in
/// the (turf, volunteer) and (turf, hour) rows.
pub async fn reports_written(
    tx: &mut dyn Tx,
    campaign_id: &str,
    volunteer_id: &str,
    written: &[super::standing::NewReport],
    shares: &SharePlan,
) -> StoreResult<()> {
    let seen = super::standing::refresh(tx, campaign_id, written).await?;
    let mut g = GroupChanges::default();
    doors_changed(tx, campaign_id, &seen.turf_of, &seen.changes, &mut g).await?;
    let cells: Vec<(f64, f64, i64, i64)> = seen
        .changes
        .iter()
        .filter_map(|c| {
            let &(lat, lon) = seen.position_of.get(&c.building_id)?;
            let knocked = i64::from(c.now.knocked()) - i64::from(c.was.knocked());
            Some((lat, lon, knocked, i64::from(c.now.contacted) - i64::from(c.was.contacted)))
        })
        .collect();
    super::cells::tallies_changed(tx, campaign_id, &cells).await?;
    knocks_written(tx, campaign_id, volunteer_id, written, &seen, shares, &mut g).await?;
    super::results::reports_written(tx, campaign_id, volunteer_id, written, &seen, &mut g).await?;
    g.apply(tx, campaign_id).await
}

/// The doors whose tally changed, added to their turfs' rows (`turf_of`: each building's turf).
async fn doors_changed(
    tx: &mut dyn Tx,
    campaign_id: &str,
    turf_of: &HashMap<String, Option<String>>,
    changes: &[TallyChange],
    g: &mut GroupChanges,
) -> StoreResult<()> {
    let mut by_key: BTreeMap<String, DoorCounts> = BTreeMap::new();
    for c in changes {
        let key = turf_of.get(&c.building_id).cloned().flatten().unwrap_or_default();
        let d = DoorCounts {
            doors: 0,
            knocked: i64::from(c.now.knocked()) - i64::from(c.was.knocked()),
            contacted: i64::from(c.now.contacted) - i64::from(c.was.contacted),
        };
        by_key.entry(key).or_default().add(d, 1);
    }
    add_doors(tx, campaign_id, by_key, g).await
}

/// New doors by the turf their building is in (`None`: in no turf).
pub async fn doors_added(tx: &mut dyn Tx, campaign_id: &str, turfs: &[Option<String>]) -> StoreResult<()> {
    let mut by_key: BTreeMap<String, DoorCounts> = BTreeMap::new();
    for t in turfs {
        by_key.entry(t.clone().unwrap_or_default()).or_default().doors += 1;
    }
    let mut g = GroupChanges::default();
    add_doors(tx, campaign_id, by_key, &mut g).await?;
    g.apply(tx, campaign_id).await
}

/// After a volunteer's reports are written (a push, or a held report accepted): the stored knocks
/// whose share the new ones changed, the (turf, volunteer) and (turf, hour) rows, and the
/// volunteer's latest position. Nothing is read: the shares were planned before the reports were
/// written ([`super::shares`]) and a report counts in its building's turf now (`seen.turf_of`, read
/// by the standing pairs) or the turf it was made in.
async fn knocks_written(
    tx: &mut dyn Tx,
    campaign_id: &str,
    volunteer_id: &str,
    written: &[super::standing::NewReport],
    seen: &super::standing::Refreshed,
    shares: &SharePlan,
    g: &mut GroupChanges,
) -> StoreResult<()> {
    let mut by_key: BTreeMap<(String, String), KnockCounts> = BTreeMap::new();
    let mut hours: BTreeMap<(String, i64), HourCounts> = BTreeMap::new();
    for c in &shares.changed {
        by_key.entry((c.turf_key.clone(), volunteer_id.to_string())).or_default().time_ms += c.now_ms - c.was_ms;
    }
    super::shares::apply_changes(tx, &shares.changed).await?;
    let mut latest: Option<(i64, i64, &str)> = None;
    for n in written {
        let key = seen.turf_of.get(&n.building_id).cloned().flatten().unwrap_or_else(|| n.turf_id.clone());
        let share = shares.new.get(&n.id).copied().unwrap_or(0);
        let change = KnockCounts { knocks: 1, overlaps: i64::from(n.overlap), time_ms: share };
        by_key.entry((key.clone(), volunteer_id.to_string())).or_default().add(change, 1);
        let contact = seen.outcome_of.get(&n.result_code) == Some(&Outcome::Contacted);
        hours.entry((key, hour_of(n.at_ms))).or_default().add(HourCounts::one(contact), 1);
        if n.located {
            latest = latest.max(Some((n.at_ms, n.hlc_counter, n.id.as_str())));
        }
    }
    add_knocks(tx, campaign_id, by_key, g).await?;
    add_hours(tx, campaign_id, hours, g).await?;
    if let Some((at, counter, id)) = latest {
        let stored = tx.row(SELECT_POSITION, &vals![volunteer_id]).await?;
        let newer = match stored {
            Some(p) => (at, counter, id.to_string()) > (p[0].int()?, p[1].int()?, p[2].text()?),
            None => true,
        };
        if newer {
            tx.defer(UPSERT_POSITION, vals![volunteer_id, campaign_id, at, counter, id].to_vec()).await?;
        }
    }
    Ok(())
}

/// The hour a knock made at `at_ms` counts in (UTC hours since the epoch).
fn hour_of(at_ms: i64) -> i64 {
    at_ms - at_ms.rem_euclid(3_600_000)
}

/// Adds to the (turf, hour) rows, in key order.
async fn add_hours(
    tx: &mut dyn Tx,
    campaign_id: &str,
    by_key: BTreeMap<(String, i64), HourCounts>,
    g: &mut GroupChanges,
) -> StoreResult<()> {
    for ((key, hour), h) in by_key.into_iter().filter(|(_, h)| *h != HourCounts::default()) {
        g.hour(&key, hour, h);
        tx.defer(UPSERT_HOUR_TALLY, vals![campaign_id, key, hour, h.knocks, h.contacts].to_vec()).await?;
    }
    Ok(())
}

/// A report's overlap reviewed: one fewer to review in its (turf, volunteer) row.
pub async fn overlap_reviewed(tx: &mut dyn Tx, campaign_id: &str, report_id: &str) -> StoreResult<()> {
    if let Some(r) = tx.row(SELECT_REPORT_KEY, &vals![report_id]).await? {
        let change = KnockCounts { overlaps: -1, ..KnockCounts::default() };
        let mut g = GroupChanges::default();
        add_knocks(tx, campaign_id, BTreeMap::from([((r[0].text()?, r[1].text()?), change)]), &mut g).await?;
        g.apply(tx, campaign_id).await?;
    }
    Ok(())
}

/// What some buildings add to the counters where they are now.
#[derive(Debug, Clone, Default, PartialEq)]
struct Contribution {
    doors: BTreeMap<String, DoorCounts>,
    knocks: BTreeMap<(String, String), KnockCounts>,
    hours: BTreeMap<(String, i64), HourCounts>,
    results: super::results::Counts,
}

/// Knocks and conversations per (turf, hour) from rows `(turf, hour, result code, knocks)`.
fn hours_of(
    rows: &[Vec<Val>],
    outcome_of: &HashMap<String, Outcome>,
) -> StoreResult<BTreeMap<(String, i64), HourCounts>> {
    let mut out: BTreeMap<(String, i64), HourCounts> = BTreeMap::new();
    for r in rows {
        let n = r[3].int()?;
        let contact = outcome_of.get(&r[2].text()?) == Some(&Outcome::Contacted);
        let h = HourCounts { knocks: n, contacts: if contact { n } else { 0 } };
        out.entry((r[0].text()?, r[1].int()?)).or_default().add(h, 1);
    }
    Ok(out)
}

impl Contribution {
    /// The same sums as changes to the groups.
    fn groups(&self) -> GroupChanges {
        let mut g = GroupChanges::default();
        for (k, d) in &self.doors {
            g.doors(k, *d);
        }
        for ((k, _), c) in &self.knocks {
            g.knocks(k, *c);
        }
        for ((k, hour), h) in &self.hours {
            g.hour(k, *hour, *h);
        }
        for ((k, _station, kind, question, answer), n) in &self.results {
            g.result(k, kind, question, answer, *n);
        }
        g
    }
}

async fn contribution(
    tx: &mut dyn Tx,
    outcome_of: &HashMap<String, Outcome>,
    buildings: &[&str],
) -> StoreResult<Contribution> {
    let mut c = Contribution::default();
    for chunk in buildings.chunks(LIST) {
        let params: Vec<Val> = chunk.iter().map(|b| Val::from(*b)).collect();
        let sql = format!(
            "{SELECT_BUILDING_DOORS} WHERE b.id IN ({}) GROUP BY COALESCE(b.turf_id, '')",
            list(1, chunk.len())
        );
        for r in tx.rows(&sql, &params).await? {
            let d = DoorCounts { doors: r[1].int()?, knocked: r[2].int()?, contacted: r[3].int()? };
            c.doors.entry(r[0].text()?).or_default().add(d, 1);
        }
        let sql = format!("{SELECT_BUILDING_KNOCKS} WHERE r.building_id IN ({}) GROUP BY 1, 2", list(1, chunk.len()));
        for r in tx.rows(&sql, &params).await? {
            let k = KnockCounts { knocks: r[2].int()?, overlaps: r[3].int()?, time_ms: r[4].int()? };
            c.knocks.entry((r[0].text()?, r[1].text()?)).or_default().add(k, 1);
        }
        let sql = format!("{SELECT_BUILDING_HOURS} WHERE r.building_id IN ({}) GROUP BY 1, 2, 3", list(1, chunk.len()));
        for (k, h) in hours_of(&tx.rows(&sql, &params).await?, outcome_of)? {
            c.hours.entry(k).or_default().add(h, 1);
        }
    }
    c.results = super::results::contribution(tx, outcome_of, buildings).await?;
    Ok(c)
}

/// From this many buildings changing turf at once (a cut), the campaign is counted again rather
/// than the buildings read twice.
const RECOUNT_FROM: usize = 5_000;

/// Buildings about to change turf (a street moved, a turf made or cut): what they add to the
/// counters where they are, read before the change — once they are locked, on PostgreSQL, so that
/// a push on them either waits or has committed and is read — and moved to where they are after
/// ([`Moving::settle`]).
pub struct Moving<'a> {
    campaign_id: String,
    outcome_of: HashMap<String, Outcome>,
    buildings: Vec<&'a str>,
    /// `None`: too many, the campaign is counted again.
    before: Option<Contribution>,
    /// The teams of the turfs they are in before (a turf dissolved by a cut is gone after).
    teams_before: HashMap<String, Option<String>>,
}

impl<'a> Moving<'a> {
    pub async fn start(tx: &mut dyn Tx, campaign_id: &str, mut buildings: Vec<&'a str>) -> StoreResult<Moving<'a>> {
        let outcome_of = super::standing::outcomes(tx, campaign_id).await?;
        let campaign_id = campaign_id.to_string();
        if buildings.len() >= RECOUNT_FROM {
            return Ok(Moving { campaign_id, outcome_of, buildings, before: None, teams_before: HashMap::new() });
        }
        buildings.sort_unstable();
        buildings.dedup();
        if tx.arrays() {
            for chunk in buildings.chunks(LIST) {
                let sql =
                    format!("SELECT id FROM buildings WHERE id IN ({}) ORDER BY id FOR UPDATE", list(1, chunk.len()));
                tx.rows(&sql, &chunk.iter().map(|b| Val::from(*b)).collect::<Vec<_>>()).await?;
            }
        }
        let before = contribution(tx, &outcome_of, &buildings).await?;
        let teams_before = super::groups::teams_of(tx, &campaign_id, &before.groups().keys()).await?;
        Ok(Moving { campaign_id, outcome_of, buildings, before: Some(before), teams_before })
    }

    /// Moves what the buildings added where they were to where they are now.
    pub async fn settle(self, tx: &mut dyn Tx) -> StoreResult<()> {
        let Some(before) = self.before else { return recount_campaign(tx, &self.campaign_id).await };
        let after = contribution(tx, &self.outcome_of, &self.buildings).await?;
        // The groups: what the buildings added leaves the teams their turfs were in, and goes to
        // the teams their turfs are in now.
        let after_groups = after.groups();
        let teams_after = super::groups::teams_of(tx, &self.campaign_id, &after_groups.keys()).await?;
        let groups = before.groups().negated().resolve(&self.teams_before).merge(after_groups.resolve(&teams_after));
        let mut doors = after.doors;
        for (k, d) in before.doors {
            doors.entry(k).or_default().add(d, -1);
        }
        let mut knocks = after.knocks;
        for (k, d) in before.knocks {
            knocks.entry(k).or_default().add(d, -1);
        }
        let mut hours = after.hours;
        for (k, h) in before.hours {
            hours.entry(k).or_default().add(h, -1);
        }
        let mut results = after.results;
        for (k, n) in before.results {
            *results.entry(k).or_default() -= n;
        }
        let mut net = GroupChanges::default();
        add_doors(tx, &self.campaign_id, doors, &mut net).await?;
        add_knocks(tx, &self.campaign_id, knocks, &mut net).await?;
        add_hours(tx, &self.campaign_id, hours, &mut net).await?;
        super::results::write(tx, &self.campaign_id, results, &mut net).await?;
        groups.write(tx, &self.campaign_id).await
    }
}

/// Every counter row of a campaign counted again from the door tallies and the reports' shares (a
/// cut places thousands of buildings at once; cheaper than a contribution per building).
pub async fn recount_campaign(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    for q in RECOUNT {
        tx.exec(q, &vals![campaign_id]).await?;
    }
    let outcome_of = super::standing::outcomes(tx, campaign_id).await?;
    let hours = hours_of(&tx.rows(SELECT_CAMPAIGN_HOURS, &vals![campaign_id]).await?, &outcome_of)?;
    // The groups are counted again from the turfs' rows as a whole, last.
    add_hours(tx, campaign_id, hours, &mut GroupChanges::default()).await?;
    super::results::recount(tx, campaign_id, &outcome_of).await?;
    super::groups::recount(tx, campaign_id).await
}

/// Each volunteer's latest located report found again.
pub async fn relocate(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    for q in RELOCATE {
        tx.exec(q, &vals![campaign_id]).await?;
    }
    Ok(())
}

/// Every share of knocking time of a campaign computed again, volunteer by volunteer.
async fn reshare_campaign(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    let rows = tx.rows(SELECT_CAMPAIGN_KNOCK_TIMES, &vals![campaign_id]).await?;
    super::shares::reshare(tx, &rows).await
}

/// A campaign's door pairs and tallies, shares and counters computed again from its reports: a
/// script whose codes now mean another outcome, and the schema step that brings the counters in.
pub async fn rebuild_campaign(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    super::standing::rebuild_campaign(tx, campaign_id).await?;
    reshare_campaign(tx, campaign_id).await?;
    relocate(tx, campaign_id).await?;
    super::cells::rebuild(tx, campaign_id).await?;
    recount_campaign(tx, campaign_id).await
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

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const UPSERT_HOUR_TALLY: &str = "INSERT INTO hour_tally(campaign_id, turf_key, hour_ms, knocks, contacts)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id, turf_key, hour_ms) DO UPDATE SET
     knocks = hour_tally.knocks + excluded.knocks, contacts = hour_tally.contacts + excluded.contacts";

const SELECT_POSITION: &str = "SELECT at_ms, hlc_counter, report_id FROM volunteer_position WHERE volunteer_id = $1";

const UPSERT_POSITION: &str =
    "INSERT INTO volunteer_position(volunteer_id, campaign_id, at_ms, hlc_counter, report_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (volunteer_id) DO UPDATE SET at_ms = excluded.at_ms, hlc_counter = excluded.hlc_counter,
     report_id = excluded.report_id";

/// Per (turf key, hour, result code), the reports on some buildings (completed by the caller).
const SELECT_BUILDING_HOURS: &str =
    "SELECT COALESCE(b.turf_id, r.turf_id), r.at_ms - (r.at_ms % 3600000), r.result_code, COUNT(*)
     FROM reports r JOIN buildings b ON b.id = r.building_id";

const SELECT_CAMPAIGN_HOURS: &str =
    "SELECT COALESCE(b.turf_id, r.turf_id), r.at_ms - (r.at_ms % 3600000), r.result_code, COUNT(*)
     FROM reports r JOIN buildings b ON b.id = r.building_id WHERE r.campaign_id = $1 GROUP BY 1, 2, 3";

/// Each volunteer's latest located report, found again.
const RELOCATE: &[&str] = &[
    "DELETE FROM volunteer_position WHERE campaign_id = $1",
    "INSERT INTO volunteer_position(volunteer_id, campaign_id, at_ms, hlc_counter, report_id)
     SELECT x.volunteer_id, x.campaign_id, x.at_ms, x.hlc_counter, x.id FROM (SELECT r.volunteer_id, r.campaign_id,
       r.at_ms, r.hlc_counter, r.id, ROW_NUMBER() OVER (PARTITION BY r.volunteer_id
         ORDER BY r.at_ms DESC, r.hlc_counter DESC, r.id DESC) AS n
       FROM reports r WHERE r.campaign_id = $1 AND r.lat IS NOT NULL) x WHERE x.n = 1",
];

const UPSERT_TURF_TALLY: &str = "INSERT INTO turf_tally(campaign_id, turf_key, doors, knocked, contacted)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id, turf_key) DO UPDATE SET
     doors = turf_tally.doors + excluded.doors, knocked = turf_tally.knocked + excluded.knocked,
     contacted = turf_tally.contacted + excluded.contacted";

const UPSERT_VOLUNTEER_TALLY: &str =
    "INSERT INTO volunteer_tally(campaign_id, turf_key, volunteer_id, knocks, unreviewed, time_ms)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id, turf_key, volunteer_id) DO UPDATE SET
     knocks = volunteer_tally.knocks + excluded.knocks, unreviewed = volunteer_tally.unreviewed + excluded.unreviewed,
     time_ms = volunteer_tally.time_ms + excluded.time_ms";

/// 1 when report `r` is an overlap not yet reviewed.
macro_rules! unreviewed_overlap {
    ($r:literal) => {
        concat!(
            "CASE WHEN ",
            $r,
            ".overlap AND NOT EXISTS (SELECT 1 FROM overlap_reviews o WHERE o.report_id = ",
            $r,
            ".id) THEN 1 ELSE 0 END"
        )
    };
}

const SELECT_REPORT_KEY: &str = "SELECT COALESCE(b.turf_id, r.turf_id), r.volunteer_id
     FROM reports r JOIN buildings b ON b.id = r.building_id WHERE r.id = $1";

/// Per turf key, the doors of some buildings (completed by the caller) and their tallies.
const SELECT_BUILDING_DOORS: &str = "SELECT COALESCE(b.turf_id, ''), COUNT(d.id),
     CAST(SUM(CASE WHEN t.status > 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(COALESCE(t.contacted, 0)) AS BIGINT)
     FROM buildings b JOIN doors d ON d.building_id = b.id LEFT JOIN door_tally t ON t.door_id = d.id";

/// Per (turf key, volunteer), the reports on some buildings (completed by the caller).
const SELECT_BUILDING_KNOCKS: &str = concat!(
    "SELECT COALESCE(b.turf_id, r.turf_id), r.volunteer_id, COUNT(*), CAST(SUM(",
    unreviewed_overlap!("r"),
    ") AS BIGINT), CAST(SUM(COALESCE(r.share_ms, 0)) AS BIGINT)
     FROM reports r JOIN buildings b ON b.id = r.building_id"
);

const RECOUNT: &[&str] = &[
    "DELETE FROM turf_tally WHERE campaign_id = $1",
    "INSERT INTO turf_tally(campaign_id, turf_key, doors, knocked, contacted)
     SELECT b.campaign_id, COALESCE(b.turf_id, ''), COUNT(d.id),
       CAST(SUM(CASE WHEN t.status > 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(COALESCE(t.contacted, 0)) AS BIGINT)
     FROM buildings b JOIN doors d ON d.building_id = b.id LEFT JOIN door_tally t ON t.door_id = d.id
     WHERE b.campaign_id = $1 GROUP BY b.campaign_id, COALESCE(b.turf_id, '')",
    "DELETE FROM volunteer_tally WHERE campaign_id = $1",
    "DELETE FROM hour_tally WHERE campaign_id = $1",
    concat!(
        "INSERT INTO volunteer_tally(campaign_id, turf_key, volunteer_id, knocks, unreviewed, time_ms)
     SELECT r.campaign_id, COALESCE(b.turf_id, r.turf_id), r.volunteer_id, COUNT(*), CAST(SUM(",
        unreviewed_overlap!("r"),
        ") AS BIGINT), CAST(SUM(COALESCE(r.share_ms, 0)) AS BIGINT)
     FROM reports r JOIN buildings b ON b.id = r.building_id WHERE r.campaign_id = $1
     GROUP BY r.campaign_id, COALESCE(b.turf_id, r.turf_id), r.volunteer_id"
    ),
];

const SELECT_CAMPAIGN_KNOCK_TIMES: &str = "SELECT id, volunteer_id, at_ms, share_ms FROM reports WHERE campaign_id = $1
     ORDER BY volunteer_id, at_ms, hlc_counter, id";

const SELECT_CAMPAIGN_IDS: &str = "SELECT id FROM campaigns ORDER BY id";
