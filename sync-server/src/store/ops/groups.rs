//! The coordinator's counters rolled up (issue 21): per campaign and per team, the sums of their
//! turfs' rows ([`super::counters`]) — doors, knocked and contacted doors, knocks, overlaps not
//! yet reviewed, knocking time — and per hour the knocks and conversations, kept by the same
//! writes in the same transaction, so that a national campaign's page reads a few rows per team
//! instead of a row per turf (118,000 turfs at 10,000,000 doors).
//!
//! Each group's figures are spread over [`PARTS`] rows, a turf's share always in the same part
//! ([`part_of`]): on PostgreSQL a row is locked from a push's update to its commit, and one row
//! per campaign would make every push of the campaign wait on the one before. A reader adds the
//! parts up.
//!
//! Groups: `''` is the whole campaign (the doors in no turf too), a team's id its turfs. A turf
//! given to another team takes its rows with it ([`turf_changes_team`]). Written last in a
//! transaction ([`GroupChanges::apply`]), in key order, so that the rows shared by many writers
//! are held for the shortest time and never in a circle.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::super::records::StoreResult;
use super::super::tx::{Tx, Val};
use super::counts::{DoorCounts, HourCounts, KnockCounts};
use crate::vals;

/// Rows per group.
pub const PARTS: i64 = 8;

/// The campaign's group.
pub const CAMPAIGN: &str = "";

/// The part a turf's share of its groups goes to: FNV-1a of its key, the same in every process.
pub fn part_of(turf_key: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in turf_key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % PARTS as u64) as i64
}

/// A group's figures (one part of them, a change to them, or their sum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCounts {
    pub doors: DoorCounts,
    pub knocks: KnockCounts,
}

impl GroupCounts {
    fn add(&mut self, o: &GroupCounts, sign: i64) {
        self.doors.doors += sign * o.doors.doors;
        self.doors.knocked += sign * o.doors.knocked;
        self.doors.contacted += sign * o.doors.contacted;
        self.knocks.knocks += sign * o.knocks.knocks;
        self.knocks.overlaps += sign * o.knocks.overlaps;
        self.knocks.time_ms += sign * o.knocks.time_ms;
    }
}

/// Changes to turfs' rows, gathered during a transaction and added to their groups at its end.
#[derive(Debug, Default)]
pub struct GroupChanges {
    tallies: BTreeMap<String, GroupCounts>,
    hours: BTreeMap<(String, i64), HourCounts>,
    /// The results view's counts (`super::results`): (turf key, kind, question, answer).
    results: BTreeMap<ResultKey, i64>,
}

/// (turf key or group, kind, question, answer), as in `result_tally`.
type ResultKey = (String, String, String, String);

impl GroupChanges {
    pub fn doors(&mut self, turf_key: &str, d: DoorCounts) {
        let c = GroupCounts { doors: d, ..GroupCounts::default() };
        self.tallies.entry(turf_key.to_string()).or_default().add(&c, 1);
    }
    pub fn knocks(&mut self, turf_key: &str, k: KnockCounts) {
        let c = GroupCounts { knocks: k, ..GroupCounts::default() };
        self.tallies.entry(turf_key.to_string()).or_default().add(&c, 1);
    }
    pub fn hour(&mut self, turf_key: &str, hour_ms: i64, h: HourCounts) {
        let e = self.hours.entry((turf_key.to_string(), hour_ms)).or_default();
        e.knocks += h.knocks;
        e.contacts += h.contacts;
    }

    pub fn result(&mut self, turf_key: &str, kind: &str, question: &str, answer: &str, n: i64) {
        let key = (turf_key.to_string(), kind.to_string(), question.to_string(), answer.to_string());
        *self.results.entry(key).or_default() += n;
    }

    /// The turf keys changed.
    pub fn keys(&self) -> BTreeSet<&str> {
        self.tallies
            .keys()
            .map(String::as_str)
            .chain(self.hours.keys().map(|k| k.0.as_str()))
            .chain(self.results.keys().map(|k| k.0.as_str()))
            .collect()
    }

    /// The changes added to the campaign's and the turfs' teams' rows (a turf's team as it is
    /// now).
    pub async fn apply(self, tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
        if self.tallies.is_empty() && self.hours.is_empty() && self.results.is_empty() {
            return Ok(());
        }
        let team_of = teams_of(tx, campaign_id, &self.keys()).await?;
        self.resolve(&team_of).write(tx, campaign_id).await
    }

    /// The changes per (group, part), each turf key's team given.
    pub fn resolve(&self, team_of: &HashMap<String, Option<String>>) -> Resolved {
        let groups = |key: &str| {
            let team = team_of.get(key).cloned().flatten();
            std::iter::once(CAMPAIGN.to_string()).chain(team)
        };
        let mut tallies: BTreeMap<(String, i64), GroupCounts> = BTreeMap::new();
        for (key, c) in &self.tallies {
            for g in groups(key) {
                tallies.entry((g, part_of(key))).or_default().add(c, 1);
            }
        }
        let mut hours: BTreeMap<(String, i64, i64), HourCounts> = BTreeMap::new();
        for ((key, hour), h) in &self.hours {
            for g in groups(key) {
                let e = hours.entry((g, *hour, part_of(key))).or_default();
                e.knocks += h.knocks;
                e.contacts += h.contacts;
            }
        }
        let mut results: BTreeMap<(ResultKey, i64), i64> = BTreeMap::new();
        for ((key, kind, question, answer), n) in &self.results {
            for g in groups(key) {
                *results.entry(((g, kind.clone(), question.clone(), answer.clone()), part_of(key))).or_default() += n;
            }
        }
        Resolved { tallies, hours, results }
    }

    /// The same changes with the opposite sign.
    pub fn negated(mut self) -> Self {
        for c in self.tallies.values_mut() {
            *c = {
                let mut n = GroupCounts::default();
                n.add(c, -1);
                n
            };
        }
        for h in self.hours.values_mut() {
            *h = HourCounts { knocks: -h.knocks, contacts: -h.contacts };
        }
        for n in self.results.values_mut() {
            *n = -*n;
        }
        self
    }
}

/// Changes per (group, part) and per (group, hour, part).
#[derive(Debug, Default)]
pub struct Resolved {
    tallies: BTreeMap<(String, i64), GroupCounts>,
    hours: BTreeMap<(String, i64, i64), HourCounts>,
    results: BTreeMap<(ResultKey, i64), i64>,
}

impl Resolved {
    /// Both changes together (written in one pass, in key order).
    pub fn merge(mut self, o: Resolved) -> Resolved {
        for (k, c) in o.tallies {
            self.tallies.entry(k).or_default().add(&c, 1);
        }
        for (k, h) in o.hours {
            let e = self.hours.entry(k).or_default();
            e.knocks += h.knocks;
            e.contacts += h.contacts;
        }
        for (k, n) in o.results {
            *self.results.entry(k).or_default() += n;
        }
        self
    }

    /// Adds to the groups' rows, in key order.
    pub async fn write(self, tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
        write(tx, campaign_id, self.tallies, self.hours, self.results).await
    }
}

async fn write(
    tx: &mut dyn Tx,
    campaign_id: &str,
    tallies: BTreeMap<(String, i64), GroupCounts>,
    hours: BTreeMap<(String, i64, i64), HourCounts>,
    results: BTreeMap<(ResultKey, i64), i64>,
) -> StoreResult<()> {
    for (((g, kind, question, answer), part), n) in results.into_iter().filter(|(_, n)| *n != 0) {
        tx.defer(UPSERT_GROUP_RESULT, vals![campaign_id, g, kind, question, answer, part, n].to_vec()).await?;
    }
    for ((g, part), c) in tallies.into_iter().filter(|(_, c)| *c != GroupCounts::default()) {
        let (d, k) = (c.doors, c.knocks);
        let v = vals![campaign_id, g, part, d.doors, d.knocked, d.contacted, k.knocks, k.overlaps, k.time_ms];
        tx.defer(UPSERT_GROUP, v.to_vec()).await?;
    }
    for ((g, hour, part), h) in hours.into_iter().filter(|(_, h)| *h != HourCounts::default()) {
        tx.defer(UPSERT_GROUP_HOUR, vals![campaign_id, g, hour, part, h.knocks, h.contacts].to_vec()).await?;
    }
    Ok(())
}

/// `$2, $3, …` for some ids after the campaign's `$1`, and those parameters.
fn campaign_and(campaign_id: &str, ids: &[&str]) -> (String, Vec<Val>) {
    let list = (2..ids.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    (list, std::iter::once(Val::from(campaign_id)).chain(ids.iter().map(|k| Val::from(*k))).collect())
}

/// Each turf key's team (`''` and unknown keys: none).
pub async fn teams_of(
    tx: &mut dyn Tx,
    campaign_id: &str,
    keys: &BTreeSet<&str>,
) -> StoreResult<HashMap<String, Option<String>>> {
    let keys: Vec<&str> = keys.iter().copied().filter(|k| !k.is_empty()).collect();
    let mut out = HashMap::new();
    for chunk in keys.chunks(400) {
        let (list, params) = campaign_and(campaign_id, chunk);
        let sql = format!("SELECT id, team_id FROM turfs WHERE campaign_id = $1 AND id IN ({list})");
        for r in tx.rows(&sql, &params).await? {
            out.insert(r[0].text()?, r[1].opt_text()?);
        }
    }
    Ok(out)
}

/// A turf given to another team (or to none, or from none): its rows leave the team it was in for
/// the one it goes to. Called before the turf's team changes, once its new team is known.
pub async fn turf_changes_team(
    tx: &mut dyn Tx,
    campaign_id: &str,
    turf_id: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> StoreResult<()> {
    if from == to {
        return Ok(());
    }
    let (c, hours, counts) = turf_rows(tx, campaign_id, turf_id).await?;
    let part = part_of(turf_id);
    let mut tallies: BTreeMap<(String, i64), GroupCounts> = BTreeMap::new();
    let mut by_hour: BTreeMap<(String, i64, i64), HourCounts> = BTreeMap::new();
    let mut results: BTreeMap<(ResultKey, i64), i64> = BTreeMap::new();
    for (team, sign) in [(from, -1), (to, 1)] {
        let Some(team) = team else { continue };
        tallies.entry((team.to_string(), part)).or_default().add(&c, sign);
        for (hour, h) in &hours {
            by_hour.insert(
                (team.to_string(), *hour, part),
                HourCounts { knocks: sign * h.knocks, contacts: sign * h.contacts },
            );
        }
        for ((kind, question, answer), n) in &counts {
            let key = (team.to_string(), kind.clone(), question.clone(), answer.clone());
            *results.entry((key, part)).or_default() += sign * n;
        }
    }
    write(tx, campaign_id, tallies, by_hour, results).await
}

/// What one turf's rows hold.
type TurfRows = (GroupCounts, Vec<(i64, HourCounts)>, BTreeMap<(String, String, String), i64>);

async fn turf_rows(tx: &mut dyn Tx, campaign_id: &str, turf_id: &str) -> StoreResult<TurfRows> {
    // On PostgreSQL the rows are locked as they are read: a push adding to them either commits
    // first (and is read) or waits, then finds the turf in its new team.
    let lock = if tx.arrays() { " FOR UPDATE" } else { "" };
    let mut c = GroupCounts::default();
    for r in tx.rows(&format!("{SELECT_TURF_DOORS}{lock}"), &vals![campaign_id, turf_id]).await? {
        c.doors = DoorCounts { doors: r[0].int()?, knocked: r[1].int()?, contacted: r[2].int()? };
    }
    for r in tx.rows(&format!("{SELECT_TURF_KNOCKS}{lock}"), &vals![campaign_id, turf_id]).await? {
        let k = KnockCounts { knocks: r[0].int()?, overlaps: r[1].int()?, time_ms: r[2].int()? };
        c.add(&GroupCounts { knocks: k, ..GroupCounts::default() }, 1);
    }
    let hours = tx
        .rows(&format!("{SELECT_TURF_HOURS}{lock}"), &vals![campaign_id, turf_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].int()?, HourCounts { knocks: r[1].int()?, contacts: r[2].int()? })))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for r in tx.rows(&format!("{SELECT_TURF_RESULTS}{lock}"), &vals![campaign_id, turf_id]).await? {
        *counts.entry((r[0].text()?, r[1].text()?, r[2].text()?)).or_default() += r[3].int()?;
    }
    Ok((c, hours, counts))
}

/// A campaign's group rows counted again from its turfs' rows (after the turfs' rows were).
pub async fn recount(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    tx.exec(DELETE_GROUPS, &vals![campaign_id]).await?;
    tx.exec(DELETE_GROUP_HOURS, &vals![campaign_id]).await?;
    tx.exec(DELETE_GROUP_RESULTS, &vals![campaign_id]).await?;
    for q in RECOUNT_SEEN {
        tx.exec(q, &vals![campaign_id]).await?;
    }
    let mut changes = GroupChanges::default();
    for r in tx.rows(SELECT_ALL_DOORS, &vals![campaign_id]).await? {
        changes.doors(&r[0].text()?, DoorCounts { doors: r[1].int()?, knocked: r[2].int()?, contacted: r[3].int()? });
    }
    for r in tx.rows(SELECT_ALL_KNOCKS, &vals![campaign_id]).await? {
        changes.knocks(&r[0].text()?, KnockCounts { knocks: r[1].int()?, overlaps: r[2].int()?, time_ms: r[3].int()? });
    }
    for r in tx.rows(SELECT_ALL_HOURS, &vals![campaign_id]).await? {
        changes.hour(&r[0].text()?, r[1].int()?, HourCounts { knocks: r[2].int()?, contacts: r[3].int()? });
    }
    for r in tx.rows(SELECT_ALL_RESULTS, &vals![campaign_id]).await? {
        changes.result(&r[0].text()?, &r[1].text()?, &r[2].text()?, &r[3].text()?, r[4].int()?);
    }
    changes.apply(tx, campaign_id).await
}

/// How stale a group's latest sync may be: it is written at most once a minute per group, so that
/// the phones' syncs do not all write the campaign's row.
pub const SEEN_STEP_MS: i64 = 60_000;

/// A device synced at `now_ms`: its volunteer's campaign's and team's latest sync, to the minute
/// ([`SEEN_STEP_MS`]). Nothing is written (nor locked) when the row is recent enough.
pub async fn synced(tx: &mut dyn Tx, campaign_id: &str, user_id: &str, now_ms: i64) -> StoreResult<()> {
    tx.defer(TOUCH_SEEN, vals![now_ms, campaign_id, now_ms - SEEN_STEP_MS, user_id, user_id].to_vec()).await?;
    Ok(())
}

/// A new campaign or team (`grp`): its row of latest sync.
pub async fn added(tx: &mut dyn Tx, campaign_id: &str, grp: &str) -> StoreResult<()> {
    tx.exec(INSERT_SEEN, &vals![campaign_id, grp]).await?;
    Ok(())
}

/// Each group's latest sync of a volunteer's device (`None`: never).
pub async fn last_syncs(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<(String, Option<i64>)>> {
    tx.rows(SELECT_SEEN, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, Some(r[1].int()?).filter(|ms| *ms > 0))))
        .collect()
}

/// A retention purge erased every report's answers (`super::results::answers_purged`).
pub async fn answers_purged(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    tx.exec(DELETE_GROUP_ANSWERS, &vals![campaign_id]).await?;
    Ok(())
}

/// The results view's counts of some groups together, per (kind, question, answer).
pub async fn results(
    tx: &mut dyn Tx,
    campaign_id: &str,
    groups: &[&str],
) -> StoreResult<Vec<(String, String, String, u64)>> {
    let mut sum: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for chunk in groups.chunks(400) {
        let (list, params) = campaign_and(campaign_id, chunk);
        let sql = format!("{SELECT_GROUP_RESULTS} AND grp IN ({list}) GROUP BY kind, question, answer");
        for r in tx.rows(&sql, &params).await? {
            *sum.entry((r[0].text()?, r[1].text()?, r[2].text()?)).or_default() += r[3].int()?;
        }
    }
    Ok(sum.into_iter().map(|((k, q, a), n)| (k, q, a, n.max(0) as u64)).collect())
}

/// [`recount`] for every campaign (the schema step that brings the groups in).
pub async fn recount_all(tx: &mut dyn Tx) -> StoreResult<()> {
    let ids: Vec<String> = tx
        .rows("SELECT id FROM campaigns ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| r[0].text())
        .collect::<Result<_, _>>()?;
    for id in ids {
        recount(tx, &id).await?;
    }
    Ok(())
}

/// Some groups' figures, their parts added up: `(group, counts)` for each group that has rows.
pub async fn read(tx: &mut dyn Tx, campaign_id: &str, groups: &[&str]) -> StoreResult<Vec<(String, GroupCounts)>> {
    let mut out = Vec::new();
    for chunk in groups.chunks(400) {
        let (list, params) = campaign_and(campaign_id, chunk);
        let sql = format!("{SELECT_GROUPS} AND grp IN ({list}) GROUP BY grp ORDER BY grp");
        for r in tx.rows(&sql, &params).await? {
            let doors = DoorCounts { doors: r[1].int()?, knocked: r[2].int()?, contacted: r[3].int()? };
            let knocks = KnockCounts { knocks: r[4].int()?, overlaps: r[5].int()?, time_ms: r[6].int()? };
            out.push((r[0].text()?, GroupCounts { doors, knocks }));
        }
    }
    Ok(out)
}

/// Knocks and conversations per hour of some groups together, in hour order.
pub async fn hours(tx: &mut dyn Tx, campaign_id: &str, groups: &[&str]) -> StoreResult<Vec<(i64, HourCounts)>> {
    let mut by_hour: BTreeMap<i64, HourCounts> = BTreeMap::new();
    for chunk in groups.chunks(400) {
        let (list, params) = campaign_and(campaign_id, chunk);
        let sql = format!("{SELECT_GROUP_HOURS} AND grp IN ({list}) GROUP BY hour_ms");
        for r in tx.rows(&sql, &params).await? {
            let e = by_hour.entry(r[0].int()?).or_default();
            e.knocks += r[1].int()?;
            e.contacts += r[2].int()?;
        }
    }
    Ok(by_hour.into_iter().filter(|(_, h)| h.knocks > 0).collect())
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const UPSERT_GROUP: &str = "INSERT INTO group_tally(campaign_id, grp, part, doors, knocked, contacted, knocks,
       unreviewed, time_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (campaign_id, grp, part) DO UPDATE SET doors = group_tally.doors + excluded.doors,
       knocked = group_tally.knocked + excluded.knocked, contacted = group_tally.contacted + excluded.contacted,
       knocks = group_tally.knocks + excluded.knocks, unreviewed = group_tally.unreviewed + excluded.unreviewed,
       time_ms = group_tally.time_ms + excluded.time_ms";

const UPSERT_GROUP_HOUR: &str = "INSERT INTO group_hour_tally(campaign_id, grp, hour_ms, part, knocks, contacts)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id, grp, hour_ms, part) DO UPDATE SET
     knocks = group_hour_tally.knocks + excluded.knocks, contacts = group_hour_tally.contacts + excluded.contacts";

/// The campaign's row and the volunteer's team's, when older than `$3`.
const TOUCH_SEEN: &str = "UPDATE group_seen SET last_seen_ms = $1 WHERE campaign_id = $2 AND last_seen_ms < $3
     AND grp IN (SELECT '' FROM users WHERE id = $4 AND role = 'volunteer'
       UNION SELECT team_id FROM users WHERE id = $5 AND role = 'volunteer' AND team_id IS NOT NULL)";

const INSERT_SEEN: &str = "INSERT INTO group_seen(campaign_id, grp, last_seen_ms) VALUES ($1, $2, 0) ON CONFLICT (campaign_id, grp) DO NOTHING";

const SELECT_SEEN: &str = "SELECT grp, last_seen_ms FROM group_seen WHERE campaign_id = $1";

/// A campaign's rows of latest sync, from its volunteers' devices.
const RECOUNT_SEEN: &[&str] = &[
    "DELETE FROM group_seen WHERE campaign_id = $1",
    "INSERT INTO group_seen(campaign_id, grp, last_seen_ms) SELECT id, '', 0 FROM campaigns WHERE id = $1
     UNION ALL SELECT campaign_id, id, 0 FROM teams WHERE campaign_id = $1",
    "UPDATE group_seen SET last_seen_ms = COALESCE((SELECT MAX(d.last_seen_ms) FROM devices d
       JOIN users u ON u.id = d.user_id WHERE u.campaign_id = group_seen.campaign_id AND u.role = 'volunteer'
       AND (group_seen.grp = '' OR u.team_id = group_seen.grp)), 0) WHERE campaign_id = $1",
];

const UPSERT_GROUP_RESULT: &str = "INSERT INTO group_result_tally(campaign_id, grp, kind, question, answer, part, n)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (campaign_id, grp, kind, question, answer, part)
     DO UPDATE SET n = group_result_tally.n + excluded.n";

const SELECT_GROUP_RESULTS: &str = "SELECT kind, question, answer, CAST(SUM(n) AS BIGINT) FROM group_result_tally
     WHERE campaign_id = $1";

const SELECT_TURF_RESULTS: &str =
    "SELECT kind, question, answer, n FROM result_tally WHERE campaign_id = $1 AND turf_key = $2";

const SELECT_ALL_RESULTS: &str = "SELECT turf_key, kind, question, answer, CAST(SUM(n) AS BIGINT) FROM result_tally
     WHERE campaign_id = $1 GROUP BY turf_key, kind, question, answer";

const DELETE_GROUP_RESULTS: &str = "DELETE FROM group_result_tally WHERE campaign_id = $1";

const DELETE_GROUP_ANSWERS: &str = "DELETE FROM group_result_tally WHERE campaign_id = $1 AND kind <> 'code'";

const SELECT_GROUPS: &str = "SELECT grp, CAST(SUM(doors) AS BIGINT), CAST(SUM(knocked) AS BIGINT),
     CAST(SUM(contacted) AS BIGINT), CAST(SUM(knocks) AS BIGINT), CAST(SUM(unreviewed) AS BIGINT),
     CAST(SUM(time_ms) AS BIGINT) FROM group_tally WHERE campaign_id = $1";

const SELECT_GROUP_HOURS: &str = "SELECT hour_ms, CAST(SUM(knocks) AS BIGINT), CAST(SUM(contacts) AS BIGINT)
     FROM group_hour_tally WHERE campaign_id = $1";

const SELECT_TURF_DOORS: &str =
    "SELECT doors, knocked, contacted FROM turf_tally WHERE campaign_id = $1 AND turf_key = $2";

const SELECT_TURF_KNOCKS: &str =
    "SELECT knocks, unreviewed, time_ms FROM volunteer_tally WHERE campaign_id = $1 AND turf_key = $2";

const SELECT_TURF_HOURS: &str =
    "SELECT hour_ms, knocks, contacts FROM hour_tally WHERE campaign_id = $1 AND turf_key = $2";

const DELETE_GROUPS: &str = "DELETE FROM group_tally WHERE campaign_id = $1";

const DELETE_GROUP_HOURS: &str = "DELETE FROM group_hour_tally WHERE campaign_id = $1";

const SELECT_ALL_DOORS: &str = "SELECT turf_key, doors, knocked, contacted FROM turf_tally WHERE campaign_id = $1";

const SELECT_ALL_KNOCKS: &str = "SELECT turf_key, CAST(SUM(knocks) AS BIGINT), CAST(SUM(unreviewed) AS BIGINT),
     CAST(SUM(time_ms) AS BIGINT) FROM volunteer_tally WHERE campaign_id = $1 GROUP BY turf_key";

const SELECT_ALL_HOURS: &str = "SELECT turf_key, hour_ms, knocks, contacts FROM hour_tally WHERE campaign_id = $1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turf_always_lands_in_the_same_part_and_turfs_spread_over_all_parts() {
        assert_eq!(part_of("t00001"), part_of("t00001"));
        // FNV-1a of "" is its offset basis.
        assert_eq!(part_of(""), (0xcbf2_9ce4_8422_2325u64 % PARTS as u64) as i64);
        let mut seen = [0usize; PARTS as usize];
        for i in 0..800 {
            seen[part_of(&format!("t{i:05}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
    }

    #[test]
    fn a_change_adds_up_per_key() {
        let mut g = GroupChanges::default();
        g.doors("a", DoorCounts { doors: 2, knocked: 1, contacted: 0 });
        g.knocks("a", KnockCounts { knocks: 3, overlaps: 1, time_ms: 60_000 });
        g.doors("a", DoorCounts { doors: -1, knocked: 0, contacted: 1 });
        let a = g.tallies["a"];
        assert_eq!(a.doors, DoorCounts { doors: 1, knocked: 1, contacted: 1 });
        assert_eq!(a.knocks, KnockCounts { knocks: 3, overlaps: 1, time_ms: 60_000 });
    }
}
