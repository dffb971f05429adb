//! What the dashboard shows, computed from the store within the caller's reach: door status on
//! the map, progress per campaign, team, turf and volunteer, a timeline, answer distributions,
//! and the overlaps still to review.
//!
//! Definitions (shown in the interface too):
//! - a door is *knocked* when its status is anything but untouched; it is *contacted* when one of
//!   its standing reports is a conversation (outcome `contacted`);
//! - contact rate = contacted doors / knocked doors;
//! - time spent = a volunteer's knocking sessions (reports less than 30 min apart), each counted
//!   from its first to its last knock plus 2 min for the last door; doors per hour = knocks / time;
//! - last sync = the latest push or pull of any of the volunteer's devices.

use std::collections::{BTreeMap, HashMap, HashSet};

use doorstep_protocol::status::{DoorStatus, StatusFact, door_status};
use doorstep_protocol::{AnswerValue, Campaign, Outcome, Position, QuestionKind};
use serde::{Deserialize, Serialize};

use crate::admin::Staff;
use crate::error::AppError;
use crate::service::Service;
use crate::store::{DeviceRow, DoorRow, LocatedReport, Role};

const SESSION_GAP_MS: i64 = 30 * 60_000;
const LAST_DOOR_MS: i64 = 2 * 60_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub start_ms: i64,
    pub knocks: u64,
    pub contacts: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub campaign: Stats,
    pub teams: Vec<ProgressRow>,
    pub turfs: Vec<ProgressRow>,
    pub volunteers: Vec<ProgressRow>,
    /// Knocks per hour (per day when the campaign spans more than three days).
    pub bucket_ms: i64,
    pub timeline: Vec<Bucket>,
}

/// One building on the map: its doors' worst-case status (`untouched` first) and counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapBuilding {
    pub id: String,
    pub turf_id: Option<String>,
    pub street: String,
    pub house_number: String,
    pub lat: f64,
    pub lon: f64,
    pub doors: u32,
    pub knocked: u32,
    pub contacted: u32,
    /// The least advanced door's status: a building is done when every door is.
    pub status: DoorStatus,
    pub door_ids: Vec<String>,
}

/// Filters of the results view (all optional; dates in epoch milliseconds, the page converts
/// local days).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsFilter {
    pub turf: Option<String>,
    pub team: Option<String>,
    pub station: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuestionResult {
    pub question_id: String,
    pub text_fr: String,
    pub text_en: String,
    pub answered: u64,
    /// Choice (or yes/no, or scale point) → count, in the script's order. Free text: empty (the
    /// texts stay in the export, never in aggregates).
    pub counts: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Standing reports matching the filter.
    pub reports: u64,
    pub result_codes: Vec<(String, u64)>,
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OverlapView {
    pub report_id: String,
    pub turf_id: String,
    pub volunteer_id: String,
    pub building_id: String,
    pub street: String,
    pub house_number: String,
    pub result_code: String,
    pub knocked_ms: i64,
    pub reviewed: bool,
}

/// turf id → (name, team, holder)
type TurfsInReach = BTreeMap<String, (String, Option<String>, Option<String>)>;

/// Everything within a staff member's reach, read once per request.
struct Reach {
    campaign: Campaign,
    turfs: TurfsInReach,
    doors: Vec<DoorRow>,
    reports: Vec<LocatedReport>,
    reviewed: HashSet<String>,
}

impl Reach {
    /// Standing reports (not superseded), per door id; a building's report counts for each of its
    /// doors.
    fn facts_by_door(&self) -> HashMap<&str, Vec<&LocatedReport>> {
        let mut doors_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for d in &self.doors {
            doors_of.entry(d.building_id.as_str()).or_default().push(d.door_id.as_str());
        }
        let mut by_door: HashMap<&str, Vec<&LocatedReport>> = HashMap::new();
        for r in &self.reports {
            match &r.door_id {
                Some(d) => by_door.entry(d.as_str()).or_default().push(r),
                None => {
                    for d in doors_of.get(r.building_id.as_str()).into_iter().flatten() {
                        by_door.entry(d).or_default().push(r);
                    }
                }
            }
        }
        by_door
    }

    fn outcome(&self, r: &LocatedReport) -> Option<Outcome> {
        self.campaign.result_code(&r.stored.report.result_code).map(|c| c.outcome)
    }

    /// Status and whether contacted, per door.
    fn door_states(&self) -> HashMap<&str, (DoorStatus, bool)> {
        let by_door = self.facts_by_door();
        self.doors
            .iter()
            .map(|d| {
                let reports = by_door.get(d.door_id.as_str()).map(Vec::as_slice).unwrap_or_default();
                let facts: Vec<StatusFact> = reports
                    .iter()
                    .filter_map(|r| {
                        self.outcome(r).map(|outcome| StatusFact {
                            id: r.stored.report.id.clone(),
                            supersedes: r.stored.report.supersedes.clone(),
                            outcome,
                            rejected: false,
                        })
                    })
                    .collect();
                let superseded: HashSet<&str> = facts.iter().filter_map(|f| f.supersedes.as_deref()).collect();
                let contacted =
                    facts.iter().any(|f| f.outcome == Outcome::Contacted && !superseded.contains(f.id.as_str()));
                (d.door_id.as_str(), (door_status(&facts), contacted))
            })
            .collect()
    }

    fn superseded(&self) -> HashSet<&str> {
        self.reports.iter().filter_map(|r| r.stored.report.supersedes.as_deref()).collect()
    }
}

/// Hours of knocking in a volunteer's reports (sorted by time).
fn hours(times: &mut [i64]) -> f64 {
    times.sort_unstable();
    let mut total = 0i64;
    let mut start = None;
    let mut prev = 0;
    for &t in times.iter() {
        match start {
            Some(s) if t - prev <= SESSION_GAP_MS => {
                let _ = s;
            }
            Some(s) => {
                total += prev - s + LAST_DOOR_MS;
                start = Some(t);
            }
            None => start = Some(t),
        }
        prev = t;
    }
    if let Some(s) = start {
        total += prev - s + LAST_DOOR_MS;
    }
    total as f64 / 3_600_000.0
}

#[derive(Default)]
struct Acc {
    stats: Stats,
    times: Vec<i64>,
}

impl Acc {
    fn finish(mut self) -> Stats {
        let s = &mut self.stats;
        s.contact_rate = (s.knocked > 0).then(|| s.contacted as f64 / s.knocked as f64);
        s.hours = hours(&mut self.times);
        s.doors_per_hour = (s.hours > 0.0).then(|| s.knocks as f64 / s.hours);
        self.stats
    }
    fn sync(&mut self, ms: Option<i64>) {
        self.stats.last_sync_ms = self.stats.last_sync_ms.max(ms);
    }
}

fn answer_keys(v: &AnswerValue) -> Vec<String> {
    match v {
        AnswerValue::YesNo { value } => vec![if *value { "yes" } else { "no" }.to_string()],
        AnswerValue::Choice { value } => vec![value.clone()],
        AnswerValue::Choices { values } => values.clone(),
        AnswerValue::Scale { value } => vec![value.to_string()],
        AnswerValue::Text { .. } => vec![],
    }
}

impl Service {
    /// The turfs (id → name, team, holder) and doors within reach.
    async fn doors_in_reach(&self, st: &Staff) -> Result<(TurfsInReach, Vec<DoorRow>), AppError> {
        let turfs: TurfsInReach = self
            .store
            .turf_summaries(st.campaign())
            .await?
            .into_iter()
            .filter(|s| st.reaches_team(s.turf.team_id.as_deref()))
            .map(|s| (s.turf.id, (s.turf.name, s.turf.team_id, s.turf.volunteer_id)))
            .collect();
        let doors: Vec<DoorRow> = self
            .store
            .campaign_doors(st.campaign())
            .await?
            .into_iter()
            .filter(|d| d.turf_id.as_ref().is_some_and(|t| turfs.contains_key(t)) || st.is_coordinator())
            .collect();
        Ok((turfs, doors))
    }

    async fn reach(&self, st: &Staff) -> Result<Reach, AppError> {
        let campaign = self.campaign_of(st).await?;
        let (turfs, doors) = self.doors_in_reach(st).await?;
        let buildings: HashSet<&str> = doors.iter().map(|d| d.building_id.as_str()).collect();
        let reports: Vec<LocatedReport> = self
            .store
            .located_reports(st.campaign())
            .await?
            .into_iter()
            .filter(|r| {
                st.is_coordinator()
                    || turfs.contains_key(&r.stored.report.turf_id)
                    || buildings.contains(r.building_id.as_str())
            })
            .collect();
        let reviewed = self.store.overlap_reviews(st.campaign()).await?.into_iter().collect();
        Ok(Reach { campaign, turfs, doors, reports, reviewed })
    }

    /// Buildings within reach with their doors' status, for the map.
    pub async fn map_buildings(&self, st: &Staff) -> Result<Vec<MapBuilding>, AppError> {
        let reach = self.reach(st).await?;
        let states = reach.door_states();
        let mut out: Vec<MapBuilding> = Vec::new();
        let mut at: HashMap<&str, usize> = HashMap::new();
        for d in &reach.doors {
            let (status, contacted) = states[d.door_id.as_str()];
            let i = *at.entry(d.building_id.as_str()).or_insert_with(|| {
                out.push(MapBuilding {
                    id: d.building_id.clone(),
                    turf_id: d.turf_id.clone(),
                    street: d.street.clone(),
                    house_number: d.house_number.clone(),
                    lat: d.lat,
                    lon: d.lon,
                    doors: 0,
                    knocked: 0,
                    contacted: 0,
                    status: DoorStatus::DoNotReturn,
                    door_ids: vec![],
                });
                out.len() - 1
            });
            let b = &mut out[i];
            b.doors += 1;
            b.knocked += u32::from(status != DoorStatus::Untouched);
            b.contacted += u32::from(contacted);
            b.status = b.status.min(status);
            b.door_ids.push(d.door_id.clone());
        }
        Ok(out)
    }

    /// Progress per campaign, team, turf and volunteer, and the timeline.
    pub async fn progress(&self, st: &Staff) -> Result<Progress, AppError> {
        let reach = self.reach(st).await?;
        let states = reach.door_states();
        let users = self.store.users(st.campaign()).await?;
        let devices = self.store.devices(st.campaign()).await?;
        let teams: Vec<(String, String)> = self.teams(st).await?.into_iter().map(|t| (t.id, t.name)).collect();
        let mut campaign = Acc::default();
        let mut by_turf: HashMap<String, Acc> = HashMap::new();
        let mut by_team: HashMap<String, Acc> = HashMap::new();
        let mut by_vol: HashMap<String, Acc> = HashMap::new();
        let team_of = |turf: Option<&String>| turf.and_then(|t| reach.turfs.get(t)).and_then(|t| t.1.clone());
        // Doors, by their current turf.
        for d in &reach.doors {
            let (status, contacted) = states[d.door_id.as_str()];
            let add = |a: &mut Acc| {
                a.stats.doors += 1;
                a.stats.knocked += u64::from(status != DoorStatus::Untouched);
                a.stats.contacted += u64::from(contacted);
            };
            add(&mut campaign);
            if let Some(t) = &d.turf_id {
                add(by_turf.entry(t.clone()).or_default());
            }
            if let Some(team) = team_of(d.turf_id.as_ref()) {
                add(by_team.entry(team).or_default());
            }
        }
        // Knocks, by who made them and the turf they were made in.
        let doors_turf: HashMap<&str, Option<&String>> =
            reach.doors.iter().map(|d| (d.building_id.as_str(), d.turf_id.as_ref())).collect();
        let mut positions: HashMap<&str, (i64, Position)> = HashMap::new();
        let (first, last) = (
            reach.reports.iter().map(|r| r.stored.report.hlc.millis).min(),
            reach.reports.iter().map(|r| r.stored.report.hlc.millis).max(),
        );
        let bucket_ms = match (first, last) {
            (Some(a), Some(b)) if b - a > 3 * 86_400_000 => 86_400_000,
            _ => 3_600_000,
        };
        let mut timeline: BTreeMap<i64, Bucket> = BTreeMap::new();
        for r in &reach.reports {
            let k = &r.stored.report;
            let t = k.hlc.millis;
            let unreviewed = r.stored.overlap && !reach.reviewed.contains(&k.id);
            let turf = doors_turf.get(r.building_id.as_str()).copied().flatten().or(Some(&k.turf_id));
            let add = |a: &mut Acc| {
                a.stats.knocks += 1;
                a.stats.overlaps += u64::from(unreviewed);
                a.times.push(t);
            };
            add(&mut campaign);
            if let Some(turf) = turf.filter(|t| reach.turfs.contains_key(*t)) {
                add(by_turf.entry(turf.clone()).or_default());
                if let Some(team) = team_of(Some(turf)) {
                    add(by_team.entry(team).or_default());
                }
            }
            add(by_vol.entry(k.volunteer_id.clone()).or_default());
            if let Some(p) = k.position {
                let slot = positions.entry(k.volunteer_id.as_str()).or_insert((t, p));
                if t >= slot.0 {
                    *slot = (t, p);
                }
            }
            let start = t - t.rem_euclid(bucket_ms);
            let b = timeline.entry(start).or_insert(Bucket { start_ms: start, knocks: 0, contacts: 0 });
            b.knocks += 1;
            b.contacts += u64::from(reach.outcome(r) == Some(Outcome::Contacted));
        }
        let vol_team: HashMap<&str, Option<&String>> =
            users.iter().map(|u| (u.id.as_str(), u.team_id.as_ref())).collect();
        for d in &devices {
            by_vol.entry(d.user_id.clone()).or_default().sync(d.last_seen_ms);
            if let Some(team) = vol_team.get(d.user_id.as_str()).copied().flatten() {
                by_team.entry(team.clone()).or_default().sync(d.last_seen_ms);
            }
            campaign.sync(d.last_seen_ms);
        }
        for (turf, (_, _, holder)) in &reach.turfs {
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
        let turfs = reach
            .turfs
            .iter()
            .map(|(id, (name, team, holder))| row(id, name, team.clone(), holder.clone(), by_turf.remove(id)))
            .collect();
        let teams = teams.iter().map(|(id, name)| row(id, name, Some(id.clone()), None, by_team.remove(id))).collect();
        let volunteers = users
            .iter()
            .filter(|u| u.role == Role::Volunteer && st.reaches_team(u.team_id.as_deref()))
            .map(|u| {
                let mut r = row(&u.id, &u.display_name, u.team_id.clone(), None, by_vol.remove(&u.id));
                if let Some((ms, p)) = positions.get(u.id.as_str()) {
                    r.position = Some(*p);
                    r.position_ms = Some(*ms);
                }
                r.devices = devices.iter().filter(|d| d.user_id == u.id).cloned().collect();
                r
            })
            .collect();
        Ok(Progress {
            campaign: campaign.finish(),
            teams,
            turfs,
            volunteers,
            bucket_ms,
            timeline: timeline.into_values().collect(),
        })
    }

    /// Answer distributions of the standing reports matching the filter.
    pub async fn results(&self, st: &Staff, f: &ResultsFilter) -> Result<Results, AppError> {
        let reach = self.reach(st).await?;
        if let Some(t) = &f.turf
            && !reach.turfs.contains_key(t)
        {
            return Err(self.outside_or_unknown(st, "turf", t).await);
        }
        if let Some(team) = &f.team
            && !st.reaches_team(Some(team))
        {
            return Err(AppError::forbidden("hors de vos équipes / outside the teams you lead"));
        }
        let superseded = reach.superseded();
        let doors_by_building: HashMap<&str, &DoorRow> =
            reach.doors.iter().map(|d| (d.building_id.as_str(), d)).collect();
        let mut reports = 0;
        let mut codes: BTreeMap<String, u64> = BTreeMap::new();
        let mut answers: HashMap<&str, (u64, HashMap<String, u64>)> = HashMap::new();
        for r in &reach.reports {
            let k = &r.stored.report;
            if superseded.contains(k.id.as_str()) {
                continue;
            }
            let door = doors_by_building.get(r.building_id.as_str());
            let turf = door.and_then(|d| d.turf_id.as_ref()).unwrap_or(&k.turf_id);
            let team = reach.turfs.get(turf).and_then(|t| t.1.as_ref());
            let keep = f.turf.as_ref().is_none_or(|t| t == turf)
                && f.team.as_ref().is_none_or(|t| Some(t) == team)
                && f.station.as_ref().is_none_or(|s| door.and_then(|d| d.station.as_ref()) == Some(s))
                && f.from_ms.is_none_or(|a| k.hlc.millis >= a)
                && f.to_ms.is_none_or(|b| k.hlc.millis < b);
            if !keep {
                continue;
            }
            reports += 1;
            *codes.entry(k.result_code.clone()).or_default() += 1;
            for a in &k.answers {
                let slot = answers.entry(a.question_id.as_str()).or_default();
                slot.0 += 1;
                for key in answer_keys(&a.value) {
                    *slot.1.entry(key).or_default() += 1;
                }
            }
        }
        let questions = reach
            .campaign
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
        let result_codes = reach
            .campaign
            .result_codes
            .iter()
            .map(|c| (c.code.clone(), codes.get(&c.code).copied().unwrap_or(0)))
            .collect();
        Ok(Results { reports, result_codes, questions })
    }

    async fn outside_or_unknown(&self, st: &Staff, what: &str, id: &str) -> AppError {
        match self.store.turf(id).await {
            Ok(Some(t)) if t.campaign_id == st.campaign() => {
                AppError::forbidden("hors de vos équipes / outside the teams you lead")
            }
            _ => AppError::not_found(format!("{what} inconnu / unknown {what} {id}")),
        }
    }

    /// The results as CSV: one row per question and answer (what the results view shows).
    pub async fn results_csv(&self, st: &Staff, f: &ResultsFilter) -> Result<String, AppError> {
        let r = self.results(st, f).await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_err =
            |e: csv::Error| AppError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string());
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
        String::from_utf8(w.into_inner().map_err(|e| csv_err(e.into_error().into()))?)
            .map_err(|e| AppError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
    }

    /// Overlaps within reach (reports made on doors whose lease had moved), reviewed or not.
    pub async fn overlap_views(&self, st: &Staff) -> Result<Vec<OverlapView>, AppError> {
        let reach = self.reach(st).await?;
        let doors: HashMap<&str, &DoorRow> = reach.doors.iter().map(|d| (d.building_id.as_str(), d)).collect();
        Ok(reach
            .reports
            .iter()
            .filter(|r| r.stored.overlap)
            .map(|r| {
                let k = &r.stored.report;
                let d = doors.get(r.building_id.as_str());
                OverlapView {
                    report_id: k.id.clone(),
                    turf_id: k.turf_id.clone(),
                    volunteer_id: k.volunteer_id.clone(),
                    building_id: r.building_id.clone(),
                    street: d.map(|d| d.street.clone()).unwrap_or_default(),
                    house_number: d.map(|d| d.house_number.clone()).unwrap_or_default(),
                    result_code: k.result_code.clone(),
                    knocked_ms: k.hlc.millis,
                    reviewed: reach.reviewed.contains(&k.id),
                }
            })
            .collect())
    }

    /// Marks an overlap reviewed: the report stands (it was made in good faith), the captain has
    /// seen it.
    pub async fn review_overlap(&self, st: &Staff, report_id: &str) -> Result<OverlapView, AppError> {
        let all = self.overlap_views(st).await?;
        let Some(mut v) = all.into_iter().find(|o| o.report_id == report_id) else {
            let exists = self.store.reports(st.campaign()).await?.iter().any(|r| r.overlap && r.report.id == report_id);
            return Err(if exists {
                AppError::forbidden("hors de vos équipes / outside the teams you lead")
            } else {
                AppError::not_found(format!("chevauchement inconnu / unknown overlap {report_id}"))
            });
        };
        self.store.review_overlap(st.campaign(), report_id, &st.user.id, (self.now)()).await?;
        v.reviewed = true;
        self.announce(st.campaign(), "turfs", vec![v.turf_id.clone()], None, 0, None).await;
        Ok(v)
    }

    /// The street network to draw: the campaign's whole network for coordinators, the part
    /// around their turfs for captains (empty without one).
    pub async fn map_streets(&self, st: &Staff) -> Result<doorstep_protocol::StreetNetwork, AppError> {
        let Some(net) = self.network(st.campaign()).await? else {
            return Ok(doorstep_protocol::StreetNetwork { nodes: vec![], edges: vec![] });
        };
        if st.is_coordinator() {
            return Ok((*net).clone());
        }
        let (_, doors) = self.doors_in_reach(st).await?;
        let pts: Vec<(f64, f64)> = doors.iter().map(|d| (d.lat, d.lon)).collect();
        if pts.is_empty() {
            return Ok(doorstep_protocol::StreetNetwork { nodes: vec![], edges: vec![] });
        }
        Ok(doorstep_core::streets::clip(&net, &pts, 300.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_count_sessions() {
        assert_eq!(hours(&mut []), 0.0);
        // One knock: two minutes.
        assert!((hours(&mut [0]) - 2.0 / 60.0).abs() < 1e-9);
        // 0, 10 min, 20 min; then a 2-hour break; then one knock: 22 + 2 minutes.
        let h = hours(&mut [20 * 60_000, 0, 10 * 60_000, 140 * 60_000]);
        assert!((h - 24.0 / 60.0).abs() < 1e-9, "{h}");
    }
}
