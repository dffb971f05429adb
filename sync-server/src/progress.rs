//! The coordinator's and captains' progress (issue 21): the campaign's, each team's, turf's and
//! volunteer's figures and the timeline. The campaign's, the teams' and the timeline's come from
//! the rows the writes keep per campaign and per team (`store::ops::groups`), a few rows each
//! whatever the campaign's size; turfs and volunteers are listed for the whole reach up to
//! [`LIST_MAX`] turfs, else one team at a time (`?team=`), from the rows kept per turf and per
//! (turf, volunteer) (`store::ops::tallies`). The definitions are in [`crate::dashboard`].

use std::collections::{BTreeMap, HashMap};

use doorstep_protocol::Position;
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::Service;
use crate::store::dash::{self, DashQuery};
use crate::store::ops::counters::{DoorCounts, KnockCounts};
use crate::store::ops::{groups, tallies};
use crate::store::{DeviceRow, Role, StoreOps, typed_read};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Stats {
    pub doors: u64,
    pub knocked: u64,
    pub contacted: u64,
    pub contact_rate: Option<f64>,
    pub knocks: u64,
    pub hours: f64,
    pub doors_per_hour: Option<f64>,
    pub last_sync_ms: Option<i64>,
    /// Overlaps not yet reviewed.
    pub overlaps: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProgressRow {
    pub id: String,
    pub name: String,
    pub team_id: Option<String>,
    /// Turfs: who holds it. Volunteers: none.
    pub volunteer_id: Option<String>,
    pub stats: Stats,
    /// Volunteers: where their latest located report was made.
    pub position: Option<Position>,
    pub position_ms: Option<i64>,
    /// Volunteers: their devices (revocable).
    pub devices: Vec<DeviceRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bucket {
    pub start_ms: i64,
    pub knocks: u64,
    pub contacts: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Progress {
    pub campaign: Stats,
    pub teams: Vec<ProgressRow>,
    pub turfs: Vec<ProgressRow>,
    pub volunteers: Vec<ProgressRow>,
    /// Knocks per hour (per day when the campaign spans more than three days).
    /// What `turfs` and `volunteers` hold: every one in reach, one team's, or none (more than
    /// [`LIST_MAX`] turfs in reach: the page asks for a team).
    pub listed: Listed,
    /// The team listed (`?team=`).
    pub team: Option<String>,
    pub bucket_ms: i64,
    pub timeline: Vec<Bucket>,
    /// Reports of revoked devices within reach waiting for a review (see `held`).
    pub held_waiting: u64,
}

/// What the turfs and volunteers lists of a progress answer hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Listed {
    /// Every turf and volunteer in reach.
    All,
    /// One team's turfs, and its volunteers (`?team=`).
    Team,
    /// None: more than [`LIST_MAX`] turfs in reach.
    ByTeam,
}

/// `?team=`: one team's turfs and volunteers.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressQuery {
    pub team: Option<String>,
    /// Fewer turfs than [`LIST_MAX`] above which the lists come by team (a page on a small screen;
    /// the browser tests). Never more.
    pub list_max: Option<usize>,
}

/// Turfs in reach up to which progress lists every turf and volunteer; above, one team at a time
/// (a national campaign holds some 118,000 turfs at 10,000,000 doors).
pub const LIST_MAX: usize = 2_000;

/// turf id → (name, team, holder, doors)
type TurfsInReach = BTreeMap<String, (String, Option<String>, Option<String>, u64)>;

/// Knocking time below which a rate of doors per hour says nothing yet.
pub const MIN_RATE_MS: i64 = 15 * 60_000;

/// Progress being added up for one row.
#[derive(Default)]
struct Acc {
    stats: Stats,
    /// Knocking time, in milliseconds.
    ms: i64,
}

impl Acc {
    fn knocked(&mut self, d: &DoorCounts) {
        self.stats.knocked += d.knocked.max(0) as u64;
        self.stats.contacted += d.contacted.max(0) as u64;
    }
    fn knocks(&mut self, k: &KnockCounts) {
        self.stats.knocks += k.knocks.max(0) as u64;
        self.stats.overlaps += k.overlaps.max(0) as u64;
        self.ms += k.time_ms;
    }
    fn finish(mut self) -> Stats {
        let s = &mut self.stats;
        s.contact_rate = (s.knocked > 0).then(|| s.contacted as f64 / s.knocked as f64);
        s.hours = self.ms as f64 / 3_600_000.0;
        s.doors_per_hour = (self.ms >= MIN_RATE_MS).then(|| s.knocks as f64 / s.hours);
        self.stats
    }
    fn sync(&mut self, ms: Option<i64>) {
        self.stats.last_sync_ms = self.stats.last_sync_ms.max(ms);
    }
    /// A group's rows (`store::ops::groups`), parts added up.
    fn group(&mut self, c: &groups::GroupCounts) {
        self.stats.doors += c.doors.doors.max(0) as u64;
        self.knocked(&c.doors);
        self.knocks(&c.knocks);
    }
}

/// What the map reads of a report body: its position only.
#[derive(Deserialize, schemars::JsonSchema)]
struct PositionOnly {
    position: Option<Position>,
}

/// The groups that make up a staff member's whole reach.
fn whole_of(st: &Staff, teams: &[(String, String)]) -> Vec<String> {
    match &st.teams {
        None => vec![groups::CAMPAIGN.to_string()],
        Some(_) => teams.iter().map(|t| t.0.clone()).collect(),
    }
}

fn row(id: &str, name: &str, team: Option<String>, vol: Option<String>, acc: Acc) -> ProgressRow {
    ProgressRow {
        id: id.to_string(),
        name: name.to_string(),
        team_id: team,
        volunteer_id: vol,
        stats: acc.finish(),
        position: None,
        position_ms: None,
        devices: vec![],
    }
}

/// What the turfs and volunteers lists are made of: the rows of the turfs listed, and of the
/// volunteers listed wherever they knocked.
#[derive(Default)]
struct Listing {
    turfs: Vec<dash::TurfInReach>,
    tallies: Vec<tallies::TurfTally>,
    knocks: Vec<tallies::VolunteerTally>,
    people: (Vec<crate::store::User>, Vec<DeviceRow>),
    positions: Vec<(String, i64, String)>,
}

impl Listing {
    /// The rows of one team's turfs and volunteers, or of the whole campaign's.
    async fn read(
        tx: &mut dyn crate::store::tx::Tx,
        q: &DashQuery,
        team: Option<&str>,
    ) -> crate::store::StoreResult<Self> {
        let c = q.campaign_id.as_str();
        let lq = match team {
            Some(t) => DashQuery { teams: Some(vec![t.to_string()]), ..q.clone() },
            None => q.clone(),
        };
        Ok(Listing {
            turfs: dash::turfs(tx, &lq).await?,
            tallies: tallies::turf_tallies_of(tx, c, team).await?,
            knocks: tallies::volunteer_tallies_of(tx, c, team).await?,
            people: tallies::volunteers_of(tx, c, team).await?,
            positions: tallies::positions_of(tx, c, team).await?,
        })
    }

    /// Another team's rows with these (a row read for both teams counted once).
    fn add(&mut self, o: Listing) {
        fn merge<T, K: Ord>(into: &mut Vec<T>, from: Vec<T>, key: impl Fn(&T) -> K) {
            into.extend(from);
            into.sort_by_key(|x| key(x));
            into.dedup_by(|a, b| key(a) == key(b));
        }
        merge(&mut self.turfs, o.turfs, |t| t.id.clone());
        merge(&mut self.tallies, o.tallies, |t| t.turf_id.clone());
        merge(&mut self.knocks, o.knocks, |k| (k.turf_id.clone(), k.volunteer_id.clone()));
        merge(&mut self.people.0, o.people.0, |u| u.id.clone());
        merge(&mut self.people.1, o.people.1, |d| (d.user_id.clone(), d.created_ms, d.device_id.clone()));
        merge(&mut self.positions, o.positions, |p| p.0.clone());
    }

    /// The turfs' rows and the volunteers' (those of `team`, or every one in reach).
    fn rows(self, st: &Staff, team: Option<&str>) -> (Vec<ProgressRow>, Vec<ProgressRow>) {
        let turfs: TurfsInReach =
            self.turfs.into_iter().map(|t| (t.id, (t.name, t.team_id, t.volunteer_id, t.doors))).collect();
        let (users, devices) = self.people;
        let mut by_turf: HashMap<String, Acc> = HashMap::new();
        let mut by_vol: HashMap<String, Acc> = HashMap::new();
        for t in &self.tallies {
            if let Some(id) = t.turf_id.as_deref().filter(|id| turfs.contains_key(*id)) {
                let turf = by_turf.entry(id.to_string()).or_default();
                turf.stats.doors += t.counts.doors.max(0) as u64;
                turf.knocked(&t.counts);
            }
        }
        // Knocks, by who made them and the turf their door is in now: a turf's when it is listed,
        // a volunteer's when the turf is in reach.
        for k in &self.knocks {
            if turfs.contains_key(&k.turf_id) {
                by_turf.entry(k.turf_id.clone()).or_default().knocks(&k.counts);
            }
            if st.reaches_team(k.turf_team.as_deref()) {
                by_vol.entry(k.volunteer_id.clone()).or_default().knocks(&k.counts);
            }
        }
        let positions: HashMap<String, (i64, Position)> = self
            .positions
            .into_iter()
            .filter_map(|(v, t, body)| {
                let at: PositionOnly = serde_json::from_str(&body).ok()?;
                Some((v, (t, at.position?)))
            })
            .collect();
        for d in &devices {
            by_vol.entry(d.user_id.clone()).or_default().sync(d.last_seen_ms);
        }
        for (turf, (_, _, holder, _)) in &turfs {
            let seen =
                holder.as_ref().and_then(|h| devices.iter().filter(|d| &d.user_id == h).map(|d| d.last_seen_ms).max());
            by_turf.entry(turf.clone()).or_default().sync(seen.flatten());
        }
        let turf_rows = turfs
            .iter()
            .map(|(id, (name, team, holder, _))| {
                row(id, name, team.clone(), holder.clone(), by_turf.remove(id).unwrap_or_default())
            })
            .collect();
        let volunteers = users
            .iter()
            .filter(|u| u.role == Role::Volunteer && st.reaches_team(u.team_id.as_deref()))
            .filter(|u| team.is_none_or(|t| u.team_id.as_deref() == Some(t)))
            .map(|u| {
                let mut r =
                    row(&u.id, &u.display_name, u.team_id.clone(), None, by_vol.remove(&u.id).unwrap_or_default());
                if let Some((ms, p)) = positions.get(&u.id) {
                    r.position = Some(*p);
                    r.position_ms = Some(*ms);
                }
                r.devices = devices.iter().filter(|d| d.user_id == u.id).cloned().collect();
                r
            })
            .collect();
        (turf_rows, volunteers)
    }
}

impl Service {
    /// Progress per campaign, team, turf and volunteer, and the timeline (every turf and
    /// volunteer listed up to [`LIST_MAX`] turfs in reach).
    pub async fn progress(&self, st: &Staff) -> Result<Progress, ServiceError> {
        self.progress_of(st, &ProgressQuery::default()).await
    }

    /// Progress, its turfs and volunteers listed for one team when asked (`?team=`), or for the
    /// whole reach up to [`LIST_MAX`] turfs. The campaign's, the teams' and the timeline's figures
    /// come from the rows kept per campaign and per team (`store::ops::groups`): a few rows each,
    /// whatever the campaign's size.
    pub async fn progress_of(&self, st: &Staff, pq: &ProgressQuery) -> Result<Progress, ServiceError> {
        let (_, q) = self.dash_query(st).await?;
        let teams: Vec<(String, String)> = self.teams(st).await?.into_iter().map(|t| (t.id, t.name)).collect();
        if let Some(t) = &pq.team
            && !teams.iter().any(|(id, _)| id == t)
        {
            let exists = self.store.teams(st.campaign()).await?.iter().any(|x| x.id == *t);
            return Err(if exists {
                ServiceError::forbidden("hors de vos équipes / outside the teams you lead")
            } else {
                ServiceError::not_found(format!("équipe inconnue / unknown team {t}"))
            });
        }
        let team_ids: Vec<String> = teams.iter().map(|t| t.0.clone()).collect();
        // The whole reach: the campaign (a coordinator) or the captain's teams together.
        let whole = whole_of(st, &teams);
        let team = pq.team.clone();
        let list_max = pq.list_max.unwrap_or(LIST_MAX).min(LIST_MAX);
        // One call: one snapshot on SQLite; on PostgreSQL one connection, each read seeing what is
        // committed when it starts (READ COMMITTED).
        let (rows, hours, syncs, listing) = typed_read(&*self.store, move |tx| {
            Box::pin(async move {
                let c = q.campaign_id.as_str();
                let ids: Vec<&str> = whole.iter().chain(team_ids.iter()).map(String::as_str).collect();
                let rows = groups::read(tx, c, &ids).await?;
                let hours = groups::hours(tx, c, &whole.iter().map(String::as_str).collect::<Vec<_>>()).await?;
                let syncs = groups::last_syncs(tx, c).await?;
                let list = match &team {
                    Some(_) => true,
                    None => tallies::turfs_at_most(tx, c, q.teams.as_deref(), list_max).await?,
                };
                // A team's rows are read by team (a captain's reach too, team by team); a
                // coordinator's whole campaign at once (at most `list_max` turfs).
                let listing = match (list, &team, &q.teams) {
                    (false, ..) => None,
                    (true, Some(t), _) => Some(Listing::read(tx, &q, Some(t)).await?),
                    (true, None, None) => Some(Listing::read(tx, &q, None).await?),
                    (true, None, Some(ts)) => {
                        let mut all = Listing::default();
                        for t in ts {
                            all.add(Listing::read(tx, &q, Some(t)).await?);
                        }
                        Some(all)
                    }
                };
                Ok((rows, hours, syncs, listing))
            })
        })
        .await?;
        let by_group: HashMap<String, groups::GroupCounts> = rows.into_iter().collect();
        // The latest syncs per campaign and team, to the minute (`groups::SEEN_STEP_MS`).
        let seen: HashMap<String, Option<i64>> = syncs.into_iter().collect();
        let group_acc = |g: &str| {
            let mut a = Acc::default();
            if let Some(c) = by_group.get(g) {
                a.group(c);
            }
            a
        };
        let mut campaign = Acc::default();
        for g in whole_of(st, &teams) {
            if let Some(c) = by_group.get(&g) {
                campaign.group(c);
            }
        }
        for g in whole_of(st, &teams) {
            campaign.sync(seen.get(&g).copied().flatten());
        }
        let team_rows = teams
            .iter()
            .map(|(id, name)| {
                let mut acc = group_acc(id);
                acc.sync(seen.get(id).copied().flatten());
                row(id, name, Some(id.clone()), None, acc)
            })
            .collect();
        // The timeline: knocks in reach per hour, per day when the first and last hours are more
        // than three days apart.
        let (first, last) = (hours.first().map(|h| h.0), hours.last().map(|h| h.0));
        let bucket_ms = match (first, last) {
            (Some(a), Some(b)) if b - a > 3 * 86_400_000 => 86_400_000,
            _ => 3_600_000,
        };
        let mut timeline: BTreeMap<i64, Bucket> = BTreeMap::new();
        for (hour, c) in &hours {
            let start = hour - hour.rem_euclid(bucket_ms);
            let b = timeline.entry(start).or_insert(Bucket { start_ms: start, knocks: 0, contacts: 0 });
            b.knocks += c.knocks.max(0) as u64;
            b.contacts += c.contacts.max(0) as u64;
        }
        let (listed, turfs, volunteers) = match listing {
            Some(l) => {
                let (turfs, volunteers) = l.rows(st, pq.team.as_deref());
                (if pq.team.is_some() { Listed::Team } else { Listed::All }, turfs, volunteers)
            }
            None => (Listed::ByTeam, vec![], vec![]),
        };
        let held_waiting = self.held_in_scope(st).await?.iter().filter(|h| h.review.is_none()).count() as u64;
        Ok(Progress {
            campaign: campaign.finish(),
            teams: team_rows,
            turfs,
            volunteers,
            listed,
            team: pq.team.clone(),
            bucket_ms,
            timeline: timeline.into_values().collect(),
            held_waiting,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(knocks: u64, ms: i64) -> Option<f64> {
        let mut a = Acc::default();
        a.stats.knocks = knocks;
        a.ms = ms;
        a.finish().doors_per_hour
    }

    #[test]
    fn a_rate_of_doors_per_hour_waits_for_enough_knocking() {
        assert_eq!(rate(1, 2 * 60_000), None, "one knock is not 30 doors an hour");
        assert_eq!(rate(6, 14 * 60_000), None);
        assert_eq!(rate(20, 30 * 60_000), Some(40.0));
        assert_eq!(rate(0, 0), None);
    }
}
