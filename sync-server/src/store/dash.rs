//! The dashboard's reads, aggregated by the database within a staff member's reach, so that a
//! call costs what its answer holds rather than the whole campaign's reports: door status per
//! building, the turfs in reach, the hourly timeline, the volunteers' last positions, answer counts,
//! overlaps. Doors, knocks and knocking time per turf and volunteer are kept by the writes
//! (`ops::counters`) and read from there. Written once over [`Tx`] (both backends);
//! [`crate::dashboard`] turns the rows into what the page shows.
//!
//! Door status is the protocol's (`doorstep_protocol::status::door_tally`), kept per door by the
//! ingest (`door_tally`); the results view keeps the standing rule in SQL ([`STANDING`]). Outcomes
//! are ranked 1–4 in `DoorStatus` order (0 = untouched).

use doorstep_protocol::status::DoorStatus;
use doorstep_protocol::{Campaign, Outcome};

use super::records::StoreResult;
use super::tx::{Tx, Val};

/// Whose reach a read covers, and the campaign's codes by outcome.
#[derive(Debug, Clone)]
pub struct DashQuery {
    pub campaign_id: String,
    /// `None`: the whole campaign (coordinator). `Some`: the turfs of these teams (captain).
    pub teams: Option<Vec<String>>,
    /// Result code → outcome rank (1 attempted … 4 do not return).
    pub ranks: Vec<(String, i64)>,
}

impl DashQuery {
    pub fn new(campaign: &Campaign, teams: Option<Vec<String>>) -> Self {
        let ranks = campaign.result_codes.iter().map(|c| (c.code.clone(), rank(c.outcome))).collect();
        DashQuery { campaign_id: campaign.id.clone(), teams, ranks }
    }
    fn contact_codes(&self) -> impl Iterator<Item = &String> {
        self.ranks.iter().filter(|(_, r)| *r == rank(Outcome::Contacted)).map(|(c, _)| c)
    }
}

fn rank(o: Outcome) -> i64 {
    rank_of_status(DoorStatus::from(o))
}

/// A session ends after this long without a knock.
pub const SESSION_GAP_MS: i64 = 30 * 60_000;

/// The last door of a session counts this long.
pub const LAST_DOOR_MS: i64 = 2 * 60_000;

/// The rank a status is stored as (0 untouched … 4 do not return).
pub fn rank_of_status(s: DoorStatus) -> i64 {
    match s {
        DoorStatus::Untouched => 0,
        DoorStatus::Attempted => 1,
        DoorStatus::Contacted => 2,
        DoorStatus::Finished => 3,
        DoorStatus::DoNotReturn => 4,
    }
}

pub fn status_of_rank(r: i64) -> DoorStatus {
    match r {
        1 => DoorStatus::Attempted,
        2 => DoorStatus::Contacted,
        3 => DoorStatus::Finished,
        4 => DoorStatus::DoNotReturn,
        _ => DoorStatus::Untouched,
    }
}

/// A statement built left to right: every value becomes the next `$n`, so placeholders appear in
/// order of first use (what SQLite needs to number them like PostgreSQL).
#[derive(Default)]
struct Sql {
    text: String,
    params: Vec<Val>,
}

impl Sql {
    fn s(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    fn p(&mut self, v: impl Into<Val>) -> &mut Self {
        self.params.push(v.into());
        self.text.push_str(&format!("${}", self.params.len()));
        self
    }
    fn list<'a>(&mut self, items: impl IntoIterator<Item = &'a String>) -> &mut Self {
        let mut first = true;
        for i in items {
            if !first {
                self.s(", ");
            }
            first = false;
            self.p(i);
        }
        if first {
            // An empty list matches nothing.
            self.s("NULL");
        }
        self
    }
    /// `turf` is in reach (always true for a coordinator).
    fn reach(&mut self, q: &DashQuery, turf: &str) -> &mut Self {
        match &q.teams {
            None => self.s("1 = 1"),
            Some(teams) => self.s(turf).s(" IN (SELECT id FROM turfs WHERE team_id IN (").list(teams).s("))"),
        }
    }
    /// The reports in reach, as `r`: a coordinator's are the campaign's (filtered by the caller);
    /// a captain's are those made in their teams' turfs or on buildings in them now, found through
    /// the indexes by turf and by building, so that a captain's read costs what their teams hold.
    fn reports(&mut self, q: &DashQuery) -> &mut Self {
        if q.teams.is_none() {
            return self.s("reports r");
        }
        self.s("(SELECT rr.* FROM (SELECT r2.id FROM buildings b2 JOIN reports r2 ON r2.building_id = b2.id WHERE ")
            .reach(q, "b2.turf_id")
            .s(" UNION SELECT r3.id FROM reports r3 WHERE ")
            .reach(q, "r3.turf_id")
            .s(") k JOIN reports rr ON rr.id = k.id) r")
    }
    async fn rows(&self, tx: &mut dyn Tx) -> StoreResult<Vec<Vec<Val>>> {
        tx.rows(&self.text, &self.params).await
    }
}

/// Separates the door ids of a building in one aggregated string.
const SEP: &str = "\u{1f}";

/// A report stands unless a correction names it — a correction by the same volunteer, in the same
/// campaign, on the same target (the rule book refuses any other at ingest; this keeps reports
/// stored before it from erasing anyone's work).
pub(crate) const STANDING: &str = "NOT EXISTS (SELECT 1 FROM reports x WHERE x.supersedes = r.id
    AND x.volunteer_id = r.volunteer_id AND x.campaign_id = r.campaign_id AND x.building_id = r.building_id
    AND COALESCE(x.door_id, '') = COALESCE(r.door_id, '') AND COALESCE(x.person_id, '') = COALESCE(r.person_id, ''))";

/// `bs(building_id, turf_id, doors, knocked, contacted, st[, ids])`: every building in reach with
/// its number of doors, how many are knocked and contacted, and its least advanced door's status
/// rank (with `ids`, its door ids joined by [`SEP`]), from the doors' tallies the ingest keeps
/// (`door_tally`, `ops::counters`): a read as long as the buildings in reach, whatever the history.
/// A part of the map: south, west, north and east edges in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

/// Which buildings of the map: all in reach, those within a viewport, or one turf's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapPart {
    pub view: Option<Viewport>,
    pub turf: Option<String>,
}

impl Sql {
    /// `b` within the part of the map: a viewport (the index `buildings_position`), a turf.
    fn within(&mut self, part: &MapPart) -> &mut Self {
        if let Some(t) = &part.turf {
            self.s(" AND b.turf_id = ").p(t.as_str());
        }
        if let Some(v) = &part.view {
            self.s(" AND b.lat >= ").p(v.south).s(" AND b.lat <= ").p(v.north).s(" AND b.lon >= ").p(v.west);
            self.s(" AND b.lon <= ").p(v.east);
        }
        self
    }
}

fn building_states(q: &DashQuery, with_ids: bool, part: &MapPart) -> Sql {
    let mut sql = Sql::default();
    sql.s("WITH bn AS (SELECT b.id AS building_id, b.turf_id, COUNT(*) AS doors");
    if with_ids {
        sql.s(", string_agg(d.id, ").p(SEP).s(") AS ids");
    }
    sql.s(" FROM buildings b JOIN doors d ON d.building_id = b.id WHERE b.campaign_id = ")
        .p(&q.campaign_id)
        .s(" AND ")
        .reach(q, "b.turf_id")
        .within(part)
        .s(" GROUP BY b.id, b.turf_id),
         tb AS (SELECT t.building_id, COUNT(*) AS n, SUM(CASE WHEN t.status > 0 THEN 1 ELSE 0 END) AS knocked,
             CAST(SUM(t.contacted) AS BIGINT) AS ct, MIN(t.status) AS st
           FROM door_tally t JOIN buildings b ON b.id = t.building_id WHERE b.campaign_id = ")
        .p(&q.campaign_id)
        .s(" AND ")
        .reach(q, "b.turf_id")
        .within(part)
        .s(" GROUP BY t.building_id),
         bs AS (SELECT bn.*, COALESCE(tb.knocked, 0) AS knocked, COALESCE(tb.ct, 0) AS contacted,
             CASE WHEN COALESCE(tb.n, 0) < bn.doors THEN 0 ELSE tb.st END AS st
           FROM bn LEFT JOIN tb ON tb.building_id = bn.building_id) ");
    sql
}

/// A turf in reach with its number of doors (kept by the counters, `ops::counters`).
#[derive(Debug, Clone, PartialEq)]
pub struct TurfInReach {
    pub id: String,
    pub name: String,
    pub team_id: Option<String>,
    pub volunteer_id: Option<String>,
    pub doors: u64,
}

pub async fn turfs(tx: &mut dyn Tx, q: &DashQuery) -> StoreResult<Vec<TurfInReach>> {
    let mut sql = Sql::default();
    sql.s("SELECT t.id, t.name, t.team_id, t.volunteer_id, COALESCE(c.doors, 0)
         FROM turfs t LEFT JOIN turf_tally c ON c.campaign_id = t.campaign_id AND c.turf_key = t.id
         WHERE t.campaign_id = ")
        .p(&q.campaign_id)
        .s(" AND ")
        .reach(q, "t.id")
        .s(" ORDER BY t.id");
    sql.rows(tx)
        .await?
        .iter()
        .map(|r| {
            Ok(TurfInReach {
                id: r[0].text()?,
                name: r[1].text()?,
                team_id: r[2].opt_text()?,
                volunteer_id: r[3].opt_text()?,
                doors: r[4].int()? as u64,
            })
        })
        .collect()
}

/// One building on the map: its doors' worst-case status (`untouched` first) and counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
    /// Set when the building's position cannot be right (issue 22: at (0, 0), or far outside the
    /// rest of its turf): what the coordinator reads; such a building is not drawn where it says.
    pub misplaced: Option<String>,
}

pub async fn building_doors(tx: &mut dyn Tx, q: &DashQuery, part: &MapPart) -> StoreResult<Vec<MapBuilding>> {
    let mut sql = building_states(q, true, part);
    sql.s("SELECT b.id, b.turf_id, b.street, b.house_number, b.lat, b.lon, bs.doors, bs.knocked, bs.contacted, bs.st,
           bs.ids FROM bs JOIN buildings b ON b.id = bs.building_id ORDER BY b.street, b.house_number, b.id");
    sql.rows(tx)
        .await?
        .iter()
        .map(|r| {
            let mut door_ids: Vec<String> = r[10].text()?.split(SEP).map(str::to_string).collect();
            door_ids.sort_unstable();
            Ok(MapBuilding {
                id: r[0].text()?,
                turf_id: r[1].opt_text()?,
                street: r[2].text()?,
                house_number: r[3].text()?,
                lat: r[4].float()?,
                lon: r[5].float()?,
                doors: r[6].int()? as u32,
                knocked: r[7].int()? as u32,
                contacted: r[8].int()? as u32,
                status: status_of_rank(r[9].int()?),
                door_ids,
                misplaced: None,
            })
        })
        .collect()
}

/// Every building of some turfs: (turf, building, lat, lon).
pub async fn turf_positions(tx: &mut dyn Tx, turfs: &[String]) -> StoreResult<Vec<(String, String, f64, f64)>> {
    let mut out = Vec::new();
    for chunk in turfs.chunks(400) {
        let mut sql = Sql::default();
        sql.s("SELECT turf_id, id, lat, lon FROM buildings WHERE turf_id IN (").list(chunk).s(")");
        for r in sql.rows(tx).await? {
            out.push((r[0].text()?, r[1].text()?, r[2].float()?, r[3].float()?));
        }
    }
    Ok(out)
}

/// Which standing reports the results view counts (all optional).
#[derive(Debug, Clone, Default)]
pub struct ResultsWhere {
    pub turf: Option<String>,
    pub team: Option<String>,
    pub station: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

fn results_from(q: &DashQuery, f: &ResultsWhere) -> Sql {
    let mut sql = Sql::default();
    sql.s(" FROM ")
        .reports(q)
        .s(" LEFT JOIN buildings b ON b.id = r.building_id
          LEFT JOIN turfs t ON t.id = COALESCE(b.turf_id, r.turf_id) WHERE r.campaign_id = ")
        .p(&q.campaign_id)
        .s(" AND ")
        .s(STANDING)
        // A captain's results count where the door is now, within reach when that turf is (as the
        // counters do, `ops::results`).
        .s(" AND ")
        .reach(q, "COALESCE(b.turf_id, r.turf_id)");
    if let Some(turf) = &f.turf {
        sql.s(" AND COALESCE(b.turf_id, r.turf_id) = ").p(turf);
    }
    if let Some(team) = &f.team {
        sql.s(" AND t.team_id = ").p(team);
    }
    if let Some(station) = &f.station {
        sql.s(" AND b.polling_station = ").p(station);
    }
    if let Some(from) = f.from_ms {
        sql.s(" AND r.at_ms >= ").p(from);
    }
    if let Some(to) = f.to_ms {
        sql.s(" AND r.at_ms < ").p(to);
    }
    sql
}

/// Standing reports matching the filter, per result code.
pub async fn result_codes(tx: &mut dyn Tx, q: &DashQuery, f: &ResultsWhere) -> StoreResult<Vec<(String, u64)>> {
    let from = results_from(q, f);
    let sql = Sql { text: format!("SELECT r.result_code, COUNT(*){} GROUP BY r.result_code", from.text), ..from };
    sql.rows(tx).await?.iter().map(|r| Ok((r[0].text()?, r[1].int()? as u64))).collect()
}

/// The bodies of the standing conversations matching the filter (only they carry answers).
pub async fn conversation_bodies(tx: &mut dyn Tx, q: &DashQuery, f: &ResultsWhere) -> StoreResult<Vec<String>> {
    let mut sql = results_from(q, f);
    sql.text = format!("SELECT r.body{}", sql.text);
    sql.s(" AND r.result_code IN (").list(q.contact_codes()).s(")");
    sql.rows(tx).await?.iter().map(|r| r[0].text()).collect()
}

/// A report made on a door whose turf or holder had changed, reviewed or not.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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

pub async fn overlaps(tx: &mut dyn Tx, q: &DashQuery) -> StoreResult<Vec<OverlapView>> {
    let mut sql = Sql::default();
    sql.s(
        "SELECT r.id, r.turf_id, r.volunteer_id, r.building_id, COALESCE(b.street, ''), COALESCE(b.house_number, ''),
           r.result_code, r.at_ms, CASE WHEN o.report_id IS NULL THEN 0 ELSE 1 END
         FROM ",
    )
    .reports(q)
    .s(" LEFT JOIN buildings b ON b.id = r.building_id
         LEFT JOIN overlap_reviews o ON o.report_id = r.id WHERE r.overlap AND r.campaign_id = ")
    .p(&q.campaign_id)
    .s(" ORDER BY r.at_ms, r.hlc_counter, r.id");
    sql.rows(tx)
        .await?
        .iter()
        .map(|r| {
            Ok(OverlapView {
                report_id: r[0].text()?,
                turf_id: r[1].text()?,
                volunteer_id: r[2].text()?,
                building_id: r[3].text()?,
                street: r[4].text()?,
                house_number: r[5].text()?,
                result_code: r[6].text()?,
                knocked_ms: r[7].int()?,
                reviewed: r[8].int()? != 0,
            })
        })
        .collect()
}
