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

use std::collections::{BTreeSet, HashMap};

use doorstep_protocol::{Answer, Campaign, QuestionKind};
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::Service;
use crate::store::StoreOps;
use crate::store::dash::{self, DashQuery, ResultsWhere};
use crate::store::ops::groups;
use crate::store::typed_read;

pub use crate::progress::{Bucket, LIST_MAX, Listed, MIN_RATE_MS, Progress, ProgressQuery, ProgressRow, Stats};
pub use crate::store::dash::LAST_DOOR_MS;

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

/// What the results view reads of a report body: its answers only.
#[derive(Deserialize, schemars::JsonSchema)]
struct AnswersOnly {
    #[serde(default)]
    answers: Vec<Answer>,
}

impl Service {
    /// The campaign and the reach of a dashboard read.
    pub(crate) async fn dash_query(&self, st: &Staff) -> Result<(Campaign, DashQuery), ServiceError> {
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
        // Without a time window the counts kept by the writes answer: those of the campaign or
        // of teams (a few rows per answer, `ops::groups`), or of a turf or polling station (a few
        // rows per turf); a window reads the standing reports in it.
        let (codes, answers) = if w.from_ms.is_none() && w.to_ms.is_none() {
            let rows = typed_read(&*self.store, move |tx| {
                Box::pin(async move {
                    let (turf, team, station) = (w.turf.as_deref(), w.team.as_deref(), w.station.as_deref());
                    if turf.is_none() && station.is_none() {
                        let whole: Vec<&str> = match (team, &q.teams) {
                            (Some(t), _) => vec![t],
                            (None, None) => vec![groups::CAMPAIGN],
                            (None, Some(ts)) => ts.iter().map(String::as_str).collect(),
                        };
                        return groups::results(tx, &q.campaign_id, &whole).await;
                    }
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
