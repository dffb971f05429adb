//! What the dashboard shows, within the caller's reach: door status on the map, progress per
//! campaign, team, turf and volunteer, a timeline, answer distributions, and the overlaps still to
//! review. The database does the counting ([`crate::store::dash`], on a read snapshot); this module
//! adds the rows up into what the page shows.
//!
//! Definitions (shown in the interface too):
//! - a door is *knocked* when its status is anything but untouched; it is *contacted* when one of
//!   its standing reports is a conversation (outcome `contacted`);
//! - contact rate = contacted doors / knocked doors;
//! - time spent = volunteer-hours: each volunteer's knocking sessions (knocks at most 30 min
//!   apart), each counted from its first to its last knock plus 2 min for the last door, added up
//!   over volunteers (a turf or team counts its volunteers' sessions on its doors); doors per hour =
//!   knocks / time, so per volunteer-hour, shown once there are at least 15 minutes of knocking
//!   (one knock counts 2 minutes, which would read as 30 doors an hour);
//! - last sync = the latest push or pull of any of the volunteer's devices.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use doorstep_protocol::{Answer, Campaign, Position, QuestionKind};
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::Service;
use crate::store::StoreOps;
use crate::store::dash::{self, DashQuery, ResultsWhere};
use crate::store::ops::counters::{self, DoorCounts, KnockCounts};
use crate::store::ops::tallies;
use crate::store::{DeviceRow, Role, typed_read};

pub use crate::store::dash::LAST_DOOR_MS;

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
    pub bucket_ms: i64,
    pub timeline: Vec<Bucket>,
    /// Reports of revoked devices within reach waiting for a review (see `held`).
    pub held_waiting: u64,
}

pub use crate::store::dash::{MapBuilding, OverlapView};
pub use crate::store::ops::cells::{self, MapCell};

/// Filters of the results view (all optional; dates in epoch milliseconds, the page converts
/// local days).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsFilter {
    pub turf: Option<String>,
    pub team: Option<String>,
    pub station: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// A part of the map (`?south=&west=&north=&east=`, degrees; all four or none) and, for cells,
/// the level.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapView {
    pub south: Option<f64>,
    pub west: Option<f64>,
    pub north: Option<f64>,
    pub east: Option<f64>,
    /// Cells only: 0 (1°), 1 (0.1°) or 2 (0.01°).
    pub level: Option<usize>,
    /// Buildings only: one turf's (within reach).
    pub turf: Option<String>,
}

impl MapView {
    /// The viewport, checked: all four edges or none, south ≤ north, west ≤ east, on the globe.
    pub fn viewport(&self) -> Result<Option<dash::Viewport>, ServiceError> {
        match (self.south, self.west, self.north, self.east) {
            (None, None, None, None) => Ok(None),
            (Some(south), Some(west), Some(north), Some(east))
                if (-90.0..=90.0).contains(&south)
                    && (-90.0..=90.0).contains(&north)
                    && (-180.0..=180.0).contains(&west)
                    && (-180.0..=180.0).contains(&east)
                    && south <= north
                    && west <= east =>
            {
                Ok(Some(dash::Viewport { south, west, north, east }))
            }
            _ => Err(ServiceError::invalid(
                "bad_viewport",
                "south, west, north, east : les quatre bords, sud ≤ nord, ouest ≤ est / all four edges, south ≤ north, west ≤ east",
            )),
        }
    }
}

/// At most this many cells in one answer (a viewport of a few hundred cells at any sensible zoom).
pub const MAP_CELLS_MAX: i64 = 20_000;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QuestionResult {
    pub question_id: String,
    pub text_fr: String,
    pub text_en: String,
    pub answered: u64,
    /// Choice (or yes/no, or scale point) → count, in the script's order. Free text: empty (the
    /// texts stay in the export, never in aggregates).
    pub counts: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Results {
    /// Standing reports matching the filter.
    pub reports: u64,
    pub result_codes: Vec<(String, u64)>,
    pub questions: Vec<QuestionResult>,
}

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
}

/// What the results view reads of a report body: its answers only.
#[derive(Deserialize, schemars::JsonSchema)]
struct AnswersOnly {
    #[serde(default)]
    answers: Vec<Answer>,
}

/// What the map reads of a report body: its position only.
#[derive(Deserialize, schemars::JsonSchema)]
struct PositionOnly {
    position: Option<Position>,
}

impl Service {
    /// The campaign and the reach of a dashboard read.
    async fn dash_query(&self, st: &Staff) -> Result<(Campaign, DashQuery), ServiceError> {
        let campaign = self.campaign_of(st).await?;
        let q = DashQuery::new(&campaign, st.teams.clone());
        Ok((campaign, q))
    }

    /// Buildings within reach with their doors' status, for the map; within a viewport when one
    /// is given (a large campaign's map, issue 21).
    pub async fn map_buildings(&self, st: &Staff, view: &MapView) -> Result<Vec<MapBuilding>, ServiceError> {
        let part = dash::MapPart { view: view.viewport()?, turf: view.turf.clone() };
        let (_, q) = self.dash_query(st).await?;
        let (mut all, whole) = typed_read(&*self.store, move |tx| {
            Box::pin(async move {
                let all = dash::building_doors(tx, &q, &part).await?;
                // Within a viewport, each turf's other buildings too: a position is judged
                // against its whole turf, as on the full map.
                let whole = match part.view {
                    Some(_) => {
                        let turfs: BTreeSet<String> = all.iter().filter_map(|b| b.turf_id.clone()).collect();
                        dash::turf_positions(tx, &turfs.into_iter().collect::<Vec<_>>()).await?
                    }
                    None => Vec::new(),
                };
                Ok((all, whole))
            })
        })
        .await?;
        // Positions that cannot be right, turf by turf (the doors in no turf together: within a
        // viewport, those in view).
        let at: HashMap<String, usize> = all.iter().enumerate().map(|(i, b)| (b.id.clone(), i)).collect();
        // Per turf: each position, with its place in `all` when it is on the answer.
        type Positions = Vec<(Option<usize>, (f64, f64))>;
        let mut by_turf: HashMap<Option<String>, Positions> = HashMap::new();
        if whole.is_empty() {
            for (i, b) in all.iter().enumerate() {
                by_turf.entry(b.turf_id.clone()).or_default().push((Some(i), (b.lat, b.lon)));
            }
        } else {
            for (turf, id, lat, lon) in &whole {
                by_turf.entry(Some(turf.clone())).or_default().push((at.get(id).copied(), (*lat, *lon)));
            }
            for (i, b) in all.iter().enumerate().filter(|(_, b)| b.turf_id.is_none()) {
                by_turf.entry(None).or_default().push((Some(i), (b.lat, b.lon)));
            }
        }
        for rows in by_turf.values() {
            let pts: Vec<(f64, f64)> = rows.iter().map(|(_, p)| *p).collect();
            for ((i, _), f) in rows.iter().zip(doorstep_streets::misplaced::by_position(&pts)) {
                if let Some(i) = i {
                    all[*i].misplaced = f.map(|f| f.message_fr());
                }
            }
        }
        Ok(all)
    }

    /// The coordinator's map at low zoom: doors, knocked and contacted doors per grid cell of a
    /// level (0: 1°, 1: 0.1°, 2: 0.01°), within a viewport, kept by the writes (`ops::cells`).
    /// Captains see their turfs' buildings instead.
    pub async fn map_cells(&self, st: &Staff, level: usize, view: &MapView) -> Result<Vec<MapCell>, ServiceError> {
        st.require_coordinator()?;
        if level >= cells::LEVELS.len() {
            return Err(ServiceError::invalid("bad_level", "niveau 0, 1 ou 2 / level 0, 1 or 2"));
        }
        let v = view.viewport()?.unwrap_or(dash::Viewport { south: -90.0, west: -180.0, north: 90.0, east: 180.0 });
        let campaign = st.user.campaign_id.clone();
        let bbox = (v.south, v.west, v.north, v.east);
        Ok(typed_read(&*self.store, move |tx| {
            Box::pin(async move { cells::read(tx, &campaign, level, bbox, MAP_CELLS_MAX).await })
        })
        .await?)
    }

    /// Progress per campaign, team, turf and volunteer, and the timeline.
    pub async fn progress(&self, st: &Staff) -> Result<Progress, ServiceError> {
        let (_, q) = self.dash_query(st).await?;
        // The five reads in one call: one snapshot on SQLite; on PostgreSQL one connection, each read
        // seeing what is committed when it starts (READ COMMITTED). All but the turfs' names come
        // from the counters the writes keep (rows per turf, hour and volunteer, never per report:
        // `store::ops::counters`).
        let (turfs, tallies, knocks, hours, positions) = typed_read(&*self.store, move |tx| {
            Box::pin(async move {
                Ok((
                    dash::turfs(tx, &q).await?,
                    tallies::turf_tallies(tx, &q.campaign_id).await?,
                    tallies::volunteer_tallies(tx, &q.campaign_id).await?,
                    tallies::hour_tallies(tx, &q.campaign_id).await?,
                    tallies::positions(tx, &q.campaign_id).await?,
                ))
            })
        })
        .await?;
        let turfs: TurfsInReach =
            turfs.into_iter().map(|t| (t.id, (t.name, t.team_id, t.volunteer_id, t.doors))).collect();
        let users = self.store.users(st.campaign()).await?;
        let devices = self.store.devices(st.campaign()).await?;
        let teams: Vec<(String, String)> = self.teams(st).await?.into_iter().map(|t| (t.id, t.name)).collect();
        let mut campaign = Acc::default();
        let mut by_turf: HashMap<String, Acc> = HashMap::new();
        let mut by_team: HashMap<String, Acc> = HashMap::new();
        let mut by_vol: HashMap<String, Acc> = HashMap::new();
        let team_of = |turf: &str| turfs.get(turf).and_then(|t| t.1.clone());
        // Doors, by the turf they are in now (the doors in no turf: the coordinator's only).
        for t in &tallies {
            let doors = t.counts.doors.max(0) as u64;
            match t.turf_id.as_deref() {
                None if st.teams.is_none() => {
                    campaign.stats.doors += doors;
                    campaign.knocked(&t.counts);
                }
                Some(id) if turfs.contains_key(id) => {
                    campaign.stats.doors += doors;
                    campaign.knocked(&t.counts);
                    let turf = by_turf.entry(id.to_string()).or_default();
                    turf.stats.doors += doors;
                    turf.knocked(&t.counts);
                    if let Some(team) = team_of(id) {
                        let team = by_team.entry(team).or_default();
                        team.stats.doors += doors;
                        team.knocked(&t.counts);
                    }
                }
                _ => {}
            }
        }
        // Knocks, by who made them and the turf their door is in now (within reach when that turf
        // is); time in volunteer-hours, each knock's share (`counters::share_ms`).
        for k in knocks.iter().filter(|k| turfs.contains_key(&k.turf_id)) {
            campaign.knocks(&k.counts);
            by_vol.entry(k.volunteer_id.clone()).or_default().knocks(&k.counts);
            by_turf.entry(k.turf_id.clone()).or_default().knocks(&k.counts);
            if let Some(team) = team_of(&k.turf_id) {
                by_team.entry(team).or_default().knocks(&k.counts);
            }
        }
        // The timeline: knocks in reach per hour, per day when the first and last hours are more
        // than three days apart.
        let hours: Vec<(i64, counters::HourCounts)> =
            hours.into_iter().filter(|(turf, ..)| turfs.contains_key(turf)).map(|(_, h, c)| (h, c)).collect();
        let (first, last) = (hours.iter().map(|h| h.0).min(), hours.iter().map(|h| h.0).max());
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
        let positions: HashMap<String, (i64, Position)> = positions
            .into_iter()
            .filter_map(|(v, t, body)| {
                let at: PositionOnly = serde_json::from_str(&body).ok()?;
                Some((v, (t, at.position?)))
            })
            .collect();
        let vol_team: HashMap<&str, Option<&String>> =
            users.iter().map(|u| (u.id.as_str(), u.team_id.as_ref())).collect();
        for d in &devices {
            by_vol.entry(d.user_id.clone()).or_default().sync(d.last_seen_ms);
            if let Some(team) = vol_team.get(d.user_id.as_str()).copied().flatten() {
                by_team.entry(team.clone()).or_default().sync(d.last_seen_ms);
            }
            campaign.sync(d.last_seen_ms);
        }
        for (turf, (_, _, holder, _)) in &turfs {
            let seen =
                holder.as_ref().and_then(|h| devices.iter().filter(|d| &d.user_id == h).map(|d| d.last_seen_ms).max());
            by_turf.entry(turf.clone()).or_default().sync(seen.flatten());
        }
        let row = |id: &str, name: &str, team: Option<String>, vol: Option<String>, acc: Option<Acc>| ProgressRow {
            id: id.to_string(),
            name: name.to_string(),
            team_id: team,
            volunteer_id: vol,
            stats: acc.unwrap_or_default().finish(),
            position: None,
            position_ms: None,
            devices: vec![],
        };
        let turf_rows = turfs
            .iter()
            .map(|(id, (name, team, holder, _))| row(id, name, team.clone(), holder.clone(), by_turf.remove(id)))
            .collect();
        let teams = teams.iter().map(|(id, name)| row(id, name, Some(id.clone()), None, by_team.remove(id))).collect();
        let volunteers = users
            .iter()
            .filter(|u| u.role == Role::Volunteer && st.reaches_team(u.team_id.as_deref()))
            .map(|u| {
                let mut r = row(&u.id, &u.display_name, u.team_id.clone(), None, by_vol.remove(&u.id));
                if let Some((ms, p)) = positions.get(&u.id) {
                    r.position = Some(*p);
                    r.position_ms = Some(*ms);
                }
                r.devices = devices.iter().filter(|d| d.user_id == u.id).cloned().collect();
                r
            })
            .collect();
        let held_waiting = self.held_in_scope(st).await?.iter().filter(|h| h.review.is_none()).count() as u64;
        Ok(Progress {
            campaign: campaign.finish(),
            teams,
            turfs: turf_rows,
            volunteers,
            bucket_ms,
            timeline: timeline.into_values().collect(),
            held_waiting,
        })
    }

    /// Answer distributions of the standing reports matching the filter.
    pub async fn results(&self, st: &Staff, f: &ResultsFilter) -> Result<Results, ServiceError> {
        let (campaign, q) = self.dash_query(st).await?;
        if let Some(t) = &f.turf {
            let reached = self
                .store
                .turf(t)
                .await?
                .is_some_and(|row| row.campaign_id == st.campaign() && st.reaches_team(row.team_id.as_deref()));
            if !reached {
                return Err(self.outside_or_unknown(st, "turf", t).await);
            }
        }
        if let Some(team) = &f.team
            && !st.reaches_team(Some(team))
        {
            return Err(ServiceError::forbidden("hors de vos équipes / outside the teams you lead"));
        }
        let w = ResultsWhere {
            turf: f.turf.clone(),
            team: f.team.clone(),
            station: f.station.clone(),
            from_ms: f.from_ms,
            to_ms: f.to_ms,
        };
        // Without a time window the counts kept by the writes answer (a few rows per turf);
        // a window reads the standing reports in it.
        let (codes, answers) = if w.from_ms.is_none() && w.to_ms.is_none() {
            let rows = typed_read(&*self.store, move |tx| {
                Box::pin(async move {
                    let (turf, team, station) = (w.turf.as_deref(), w.team.as_deref(), w.station.as_deref());
                    crate::store::ops::results::read(tx, &q, turf, team, station).await
                })
            })
            .await?;
            let mut codes: HashMap<String, u64> = HashMap::new();
            let mut answers: HashMap<String, (u64, HashMap<String, u64>)> = HashMap::new();
            for (kind, question, answer, n) in rows {
                match kind.as_str() {
                    "code" => *codes.entry(question).or_default() += n,
                    "answered" => answers.entry(question).or_default().0 += n,
                    _ => *answers.entry(question).or_default().1.entry(answer).or_default() += n,
                }
            }
            (codes, answers)
        } else {
            let (codes, bodies) = typed_read(&*self.store, move |tx| {
                Box::pin(async move {
                    Ok((dash::result_codes(tx, &q, &w).await?, dash::conversation_bodies(tx, &q, &w).await?))
                })
            })
            .await?;
            let mut answers: HashMap<String, (u64, HashMap<String, u64>)> = HashMap::new();
            for body in &bodies {
                let r: AnswersOnly = serde_json::from_str(body).map_err(ServiceError::internal)?;
                for a in r.answers {
                    let slot = answers.entry(a.question_id).or_default();
                    slot.0 += 1;
                    for key in a.value.tallied() {
                        *slot.1.entry(key).or_default() += 1;
                    }
                }
            }
            (codes.into_iter().collect::<HashMap<String, u64>>(), answers)
        };
        let reports = codes.values().sum();
        let mut answers = answers;
        let questions = campaign
            .survey
            .questions
            .iter()
            .map(|q| {
                let (answered, counts) = answers.remove(q.id.as_str()).unwrap_or_default();
                let keys: Vec<String> = match &q.kind {
                    QuestionKind::YesNo => vec!["yes".into(), "no".into()],
                    QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices } => {
                        choices.clone()
                    }
                    QuestionKind::Scale => (1..=5).map(|i| i.to_string()).collect(),
                    QuestionKind::FreeText => vec![],
                };
                QuestionResult {
                    question_id: q.id.clone(),
                    text_fr: q.text_fr.clone(),
                    text_en: q.text_en.clone(),
                    answered,
                    counts: keys.into_iter().map(|k| (k.clone(), counts.get(&k).copied().unwrap_or(0))).collect(),
                }
            })
            .collect();
        let result_codes =
            campaign.result_codes.iter().map(|c| (c.code.clone(), codes.get(&c.code).copied().unwrap_or(0))).collect();
        Ok(Results { reports, result_codes, questions })
    }

    async fn outside_or_unknown(&self, st: &Staff, what: &str, id: &str) -> ServiceError {
        match self.store.turf(id).await {
            Ok(Some(t)) if t.campaign_id == st.campaign() => {
                ServiceError::forbidden("hors de vos équipes / outside the teams you lead")
            }
            _ => ServiceError::not_found(format!("{what} inconnu / unknown {what} {id}")),
        }
    }

    /// The results as CSV: one row per question and answer (what the results view shows).
    pub async fn results_csv(&self, st: &Staff, f: &ResultsFilter) -> Result<String, ServiceError> {
        let r = self.results(st, f).await?;
        let detail = serde_json::json!({ "turf": f.turf, "team": f.team, "station": f.station, "from_ms": f.from_ms, "to_ms": f.to_ms });
        self.record_staff(st, "export.results", None, detail).await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| ServiceError::internal(e);
        w.write_record(["question", "question_fr", "reponse", "nombre", "sur"]).map_err(csv_err)?;
        w.write_record(["result_code", "résultat du passage", "", "", &r.reports.to_string()]).map_err(csv_err)?;
        for (code, n) in &r.result_codes {
            w.write_record(["result_code", "résultat du passage", code, &n.to_string(), &r.reports.to_string()])
                .map_err(csv_err)?;
        }
        for q in &r.questions {
            for (k, n) in &q.counts {
                w.write_record([&q.question_id, &q.text_fr, k, &n.to_string(), &q.answered.to_string()])
                    .map_err(csv_err)?;
            }
        }
        String::from_utf8(w.into_inner().map_err(|e| csv_err(e.into_error().into()))?).map_err(ServiceError::internal)
    }

    /// Overlaps within reach (reports made on doors whose lease had moved), reviewed or not.
    pub async fn overlap_views(&self, st: &Staff) -> Result<Vec<OverlapView>, ServiceError> {
        let (_, q) = self.dash_query(st).await?;
        self.overlap_rows(q).await
    }

    async fn overlap_rows(&self, q: DashQuery) -> Result<Vec<OverlapView>, ServiceError> {
        Ok(typed_read(&*self.store, move |tx| Box::pin(async move { dash::overlaps(tx, &q).await })).await?)
    }

    /// Marks an overlap reviewed: the report stands (it was made in good faith), the captain has
    /// seen it.
    pub async fn review_overlap(&self, st: &Staff, report_id: &str) -> Result<OverlapView, ServiceError> {
        let all = self.overlap_views(st).await?;
        let Some(mut v) = all.into_iter().find(|o| o.report_id == report_id) else {
            let (_, whole) = self.dash_query(st).await?;
            let whole = DashQuery { teams: None, ..whole };
            let exists = self.overlap_rows(whole).await?.iter().any(|o| o.report_id == report_id);
            return Err(if exists {
                ServiceError::forbidden("hors de vos équipes / outside the teams you lead")
            } else {
                ServiceError::not_found(format!("chevauchement inconnu / unknown overlap {report_id}"))
            });
        };
        self.store.review_overlap(st.campaign(), report_id, &st.user.id, (self.now)()).await?;
        v.reviewed = true;
        self.announce(st.campaign(), "turfs", vec![v.turf_id.clone()], None, 0, None).await;
        Ok(v)
    }

    /// The street network to draw: the campaign's whole network for coordinators, the part
    /// around their turfs for captains (empty without one).
    pub async fn map_streets(
        &self,
        st: &Staff,
        view: &MapView,
    ) -> Result<doorstep_protocol::StreetNetwork, ServiceError> {
        let viewport = view.viewport()?;
        let Some(net) = self.network(st.campaign()).await? else {
            return Ok(doorstep_protocol::StreetNetwork { nodes: vec![], edges: vec![] });
        };
        if st.is_coordinator() {
            // A large campaign's map asks for the streets of its view (`?south=&west=&north=&east=`).
            return Ok(match viewport {
                Some(v) => doorstep_streets::streets::clip(&net, &[(v.south, v.west), (v.north, v.east)], 0.0),
                None => (*net).clone(),
            });
        }
        let pts: Vec<(f64, f64)> =
            self.map_buildings(st, &MapView::default()).await?.iter().map(|b| (b.lat, b.lon)).collect();
        if pts.is_empty() {
            return Ok(doorstep_protocol::StreetNetwork { nodes: vec![], edges: vec![] });
        }
        Ok(doorstep_streets::streets::clip(&net, &doorstep_streets::misplaced::clip_points(&pts), 300.0))
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
