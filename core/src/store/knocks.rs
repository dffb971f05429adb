//! Recording knocks (each with its outbox row, in one durable transaction), corrections, door
//! status, and the outbox: exporting pending reports and applying the server's acknowledgement.

use std::collections::HashMap;

use doorstep_protocol::validate::{Corrected, ReportError, check_report};
use doorstep_protocol::{
    Hlc, ItemStatus, KnockReport, Outcome, PROTOCOL_VERSION, PushRequest, PushResponse, SafetyFlag, Target,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::turfs::load_campaign;
use super::{Store, meta_get, meta_set};
use crate::error::{CoreError, Result};
use crate::hlc;
use crate::plausibility::{self, PreviousKnock};
use crate::status::{DoorStatus, StatusFact, door_status};
use crate::views::{AckSummary, KnockInput, KnockView, ReceiptState, SyncStatus};

/// Where a target sits.
struct Resolved {
    turf_id: String,
    campaign_id: String,
    volunteer_id: String,
    building_id: String,
    door_id: Option<String>,
    lat: f64,
    lon: f64,
}

fn resolve(c: &Connection, target: &Target) -> Result<Resolved> {
    let (sql, kind) = match target {
        Target::Building { .. } => (
            "SELECT b.turf_id, t.campaign_id, t.volunteer_id, b.id, NULL, b.lat, b.lon
             FROM buildings b JOIN turfs t ON t.id = b.turf_id WHERE b.id = ?1",
            "building",
        ),
        Target::Door { .. } => (
            "SELECT b.turf_id, t.campaign_id, t.volunteer_id, b.id, d.id, b.lat, b.lon
             FROM doors d JOIN buildings b ON b.id = d.building_id JOIN turfs t ON t.id = b.turf_id WHERE d.id = ?1",
            "door",
        ),
        Target::Person { .. } => (
            "SELECT b.turf_id, t.campaign_id, t.volunteer_id, b.id, d.id, b.lat, b.lon
             FROM people p JOIN households h ON h.id = p.household_id JOIN doors d ON d.id = h.door_id
             JOIN buildings b ON b.id = d.building_id JOIN turfs t ON t.id = b.turf_id WHERE p.id = ?1",
            "person",
        ),
    };
    c.prepare_cached(sql)?
        .query_row([target.id()], |r| {
            Ok(Resolved {
                turf_id: r.get(0)?,
                campaign_id: r.get(1)?,
                volunteer_id: r.get(2)?,
                building_id: r.get(3)?,
                door_id: r.get(4)?,
                lat: r.get(5)?,
                lon: r.get(6)?,
            })
        })
        .optional()?
        .ok_or_else(|| CoreError::unknown(kind, target.id()))
}

/// The device's last knock: its HLC stamp, and where and when (monotonic) it was. Read once when
/// the store opens, then kept in memory under the write lock, so that a knock writes no extra row
/// (every page a commit touches is written and synced again).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LastKnock {
    pub hlc: Hlc,
    pub previous: Option<PreviousKnock>,
}

pub(crate) fn load_last_knock(c: &Connection) -> Result<LastKnock> {
    type Row = (i64, i64, u64, Option<f64>, Option<f64>);
    let row: Option<Row> = c
        .query_row(
            "SELECT k.hlc_millis, k.hlc_counter, k.monotonic_ms, b.lat, b.lon FROM knocks k
             LEFT JOIN buildings b ON b.id = k.building_id ORDER BY k.hlc_millis DESC, k.hlc_counter DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let stored: Hlc = meta_get(c, "hlc")?
        .and_then(|s| {
            let (m, k) = s.split_once(':')?;
            Some(Hlc { millis: m.parse().ok()?, counter: k.parse().ok()? })
        })
        .unwrap_or_default();
    Ok(match row {
        None => LastKnock { hlc: stored, previous: None },
        Some((millis, counter, mono, lat, lon)) => LastKnock {
            hlc: stored.max(Hlc { millis, counter: counter as u32 }),
            previous: lat.zip(lon).map(|(door_lat, door_lon)| PreviousKnock { door_lat, door_lon, monotonic_ms: mono }),
        },
    })
}

pub(crate) fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Attempted => "attempted",
        Outcome::Contacted => "contacted",
        Outcome::Finished => "finished",
        Outcome::DoNotReturn => "do_not_return",
    }
}

fn outcome_from(s: &str) -> Outcome {
    match s {
        "contacted" => Outcome::Contacted,
        "finished" => Outcome::Finished,
        "do_not_return" => Outcome::DoNotReturn,
        _ => Outcome::Attempted,
    }
}

fn receipt(state: &str, reason: Option<String>) -> ReceiptState {
    match state {
        "accepted" => ReceiptState::Accepted,
        "duplicate" => ReceiptState::Duplicate,
        "rejected" => ReceiptState::Rejected { reason: reason.unwrap_or_default() },
        _ => ReceiptState::Pending,
    }
}

/// body, door, building, receipt state, rejection reason, superseding report.
type KnockRow = (String, Option<String>, String, String, Option<String>, Option<String>);

const KNOCK_VIEW_SQL: &str = "SELECT k.body, k.door_id, k.building_id, o.state, o.reason,
    (SELECT s.id FROM knocks s LEFT JOIN outbox so ON so.knock_id = s.id
      WHERE s.supersedes = k.id AND coalesce(so.state, 'pending') <> 'rejected' LIMIT 1)
    FROM knocks k JOIN outbox o ON o.knock_id = k.id";

fn knock_view(r: &rusqlite::Row<'_>) -> rusqlite::Result<KnockRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn to_view(row: KnockRow) -> Result<KnockView> {
    let (body, door_id, building_id, state, reason, superseded_by) = row;
    let k: KnockReport = serde_json::from_str(&body)?;
    Ok(KnockView {
        id: k.id,
        turf_id: k.turf_id,
        target: k.target,
        door_id,
        building_id,
        result_code: k.result_code,
        answers: k.answers,
        note: k.note,
        supersedes: k.supersedes,
        superseded_by,
        hlc: k.hlc,
        device_time_ms: k.device_time_ms,
        plausibility: k.plausibility,
        receipt: receipt(&state, reason),
    })
}

/// Status facts for every door of a turf, keyed by door id, from one query.
pub(crate) fn facts_by_door(c: &Connection, turf_id: &str) -> Result<HashMap<String, Vec<StatusFact>>> {
    let mut out: HashMap<String, Vec<StatusFact>> = HashMap::new();
    let mut st = c.prepare_cached(
        "SELECT d.id, k.id, k.supersedes, k.outcome, o.state = 'rejected'
         FROM doors d JOIN buildings b ON b.id = d.building_id
         JOIN knocks k ON k.building_id = b.id AND (k.door_id = d.id OR k.door_id IS NULL)
         JOIN outbox o ON o.knock_id = k.id
         WHERE b.turf_id = ?1
         UNION ALL
         SELECT d.id, f.report_id, f.supersedes, f.outcome, 0
         FROM doors d JOIN buildings b ON b.id = d.building_id JOIN door_facts f ON f.door_id = d.id
         WHERE b.turf_id = ?1 AND NOT EXISTS (SELECT 1 FROM knocks k WHERE k.id = f.report_id)",
    )?;
    let rows = st.query_map([turf_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            StatusFact {
                id: r.get(1)?,
                supersedes: r.get(2)?,
                outcome: outcome_from(&r.get::<_, String>(3)?),
                rejected: r.get(4)?,
            },
        ))
    })?;
    for row in rows {
        let (door, fact) = row?;
        out.entry(door).or_default().push(fact);
    }
    Ok(out)
}

/// Safety flags added by effective reports, keyed by door id.
pub(crate) fn reported_flags_by_door(c: &Connection, turf_id: &str) -> Result<HashMap<String, Vec<SafetyFlag>>> {
    let mut out: HashMap<String, Vec<SafetyFlag>> = HashMap::new();
    let mut st = c.prepare_cached(
        "SELECT d.id, k.body FROM doors d JOIN buildings b ON b.id = d.building_id
         JOIN knocks k ON k.building_id = b.id AND (k.door_id = d.id OR k.door_id IS NULL)
         JOIN outbox o ON o.knock_id = k.id
         WHERE b.turf_id = ?1 AND o.state <> 'rejected' AND k.body LIKE '%\"safety_flags\":[\"%'
           AND NOT EXISTS (SELECT 1 FROM knocks s JOIN outbox so ON so.knock_id = s.id WHERE s.supersedes = k.id AND so.state <> 'rejected')",
    )?;
    let rows = st.query_map([turf_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (door, body) = row?;
        let k: KnockReport = serde_json::from_str(&body)?;
        out.entry(door).or_default().extend(k.safety_flags);
    }
    Ok(out)
}

fn format_local_time(ms: i64, now_ms: i64) -> String {
    use chrono::{Local, TimeZone};
    let (Some(t), Some(now)) = (Local.timestamp_millis_opt(ms).single(), Local.timestamp_millis_opt(now_ms).single())
    else {
        return "?".into();
    };
    if t.date_naive() == now.date_naive() { t.format("%H:%M").to_string() } else { t.format("%d/%m %H:%M").to_string() }
}

impl Store {
    /// Records a knock: validated, flagged for plausibility, written with its outbox row in one
    /// transaction, durable when this returns. The draft for the same target is discarded.
    pub fn record_knock(&self, input: KnockInput) -> Result<KnockView> {
        self.insert_knock(input, None)
    }

    /// Records a correction: a new report that supersedes `original_id` (same target).
    pub fn correct_knock(&self, original_id: &str, input: KnockInput) -> Result<KnockView> {
        self.insert_knock(input, Some(original_id))
    }

    fn insert_knock(&self, input: KnockInput, supersedes: Option<&str>) -> Result<KnockView> {
        let now = self.clock.now_ms();
        let mono = self.clock.monotonic_ms();
        self.write(|tx| {
            let at = resolve(tx, &input.target)?;
            // A session's turf held sealed is knocked only under a lease handed to this phone.
            if !super::handoffs::may_knock(tx, &at.turf_id, &at.building_id, now)? {
                return Err(CoreError::Sealed(at.turf_id.clone()));
            }
            let volunteer_id = super::handoffs::knocker(tx, &at.volunteer_id)?;
            let campaign = load_campaign(tx, &at.campaign_id)?;
            let code = campaign
                .result_code(&input.result_code)
                .ok_or_else(|| CoreError::UnknownResultCode(input.result_code.clone()))?;
            // The report a correction names: only this phone's own reports can be corrected here.
            let corrected = match supersedes {
                Some(orig) => Some(
                    tx.query_row("SELECT body FROM knocks WHERE id = ?1", [orig], |r| r.get::<_, String>(0))
                        .optional()?
                        .ok_or_else(|| CoreError::unknown("knock report", orig))
                        .and_then(|body| Ok(Corrected::of(&serde_json::from_str::<KnockReport>(&body)?)))?,
                ),
                None => None,
            };
            let mut last = self.last_knock.lock().unwrap_or_else(|p| p.into_inner());
            let plausibility = plausibility::check(at.lat, at.lon, input.position.as_ref(), mono, last.previous);
            let stamp = hlc::tick(last.hlc, now);
            let ms = stamp.millis.max(0) as u64;
            let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
                uuid::NoContext,
                ms / 1000,
                ((ms % 1000) * 1_000_000) as u32,
            ))
            .to_string();
            let mut flags = input.safety_flags.clone();
            flags.sort();
            flags.dedup();
            let report = KnockReport {
                id: id.clone(),
                campaign_id: at.campaign_id.clone(),
                turf_id: at.turf_id.clone(),
                target: input.target.clone(),
                result_code: code.code.clone(),
                answers: input.answers.clone(),
                note: input.note.clone().filter(|n| !n.trim().is_empty()),
                safety_flags: flags,
                supersedes: supersedes.map(str::to_string),
                survey_version: campaign.survey.version,
                device_time_ms: now,
                hlc: stamp,
                monotonic_ms: mono,
                position: input.position,
                plausibility,
                volunteer_id,
                device_id: self.device_id.clone(),
                follow_up: input.follow_up.clone(),
            };
            // The rule book the server applies too: refused here, nothing is written.
            check_report(&campaign, &report, corrected.as_ref()).map_err(|e| match e {
                ReportError::Invalid(v) => CoreError::Invalid(v),
                ReportError::LevelMismatch { code, target_kind } => {
                    CoreError::ResultLevelMismatch { code, target_kind }
                }
                ReportError::CorrectionTargetMismatch => {
                    CoreError::CorrectionTargetMismatch(supersedes.unwrap_or_default().to_string())
                }
                other => CoreError::Report(other),
            })?;
            // Moves forward only for a report that will be written: an HLC may skip, never repeat.
            *last = LastKnock {
                hlc: stamp,
                previous: Some(PreviousKnock { door_lat: at.lat, door_lon: at.lon, monotonic_ms: mono }),
            };
            drop(last);
            insert_report(tx, &report, &at.building_id, at.door_id.as_deref(), code.outcome, now)?;
            tx.prepare_cached("DELETE FROM drafts WHERE target_kind = ?1 AND target_id = ?2")?
                .execute([input.target.kind(), input.target.id()])?;
            Ok(KnockView {
                id,
                turf_id: report.turf_id,
                target: report.target,
                door_id: at.door_id,
                building_id: at.building_id,
                result_code: report.result_code,
                answers: report.answers,
                note: report.note,
                supersedes: report.supersedes,
                superseded_by: None,
                hlc: report.hlc,
                device_time_ms: report.device_time_ms,
                plausibility: report.plausibility,
                receipt: ReceiptState::Pending,
            })
        })
    }

    pub fn knock(&self, id: &str) -> Result<KnockView> {
        self.read(|c| {
            let row = c
                .query_row(&format!("{KNOCK_VIEW_SQL} WHERE k.id = ?1"), [id], knock_view)
                .optional()?
                .ok_or_else(|| CoreError::unknown("knock report", id))?;
            to_view(row)
        })
    }

    /// Every report recorded in a turf, oldest first (by hybrid logical clock).
    pub fn list_knocks(&self, turf_id: &str) -> Result<Vec<KnockView>> {
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "{KNOCK_VIEW_SQL} WHERE k.turf_id = ?1 ORDER BY k.hlc_millis, k.hlc_counter, k.id"
            ))?;
            let rows = st.query_map([turf_id], knock_view)?.collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(to_view).collect()
        })
    }

    /// Status of one door: a pure function of its reports (and its building's and people's).
    pub fn door_status(&self, door_id: &str) -> Result<DoorStatus> {
        self.read(|c| {
            let building: String = c
                .query_row("SELECT building_id FROM doors WHERE id = ?1", [door_id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| CoreError::unknown("door", door_id))?;
            // Its own reports, and what others did there as the last pull told (door_facts).
            let mut st = c.prepare_cached(
                "SELECT k.id, k.supersedes, k.outcome, o.state = 'rejected' FROM knocks k JOIN outbox o ON o.knock_id = k.id
                 WHERE k.building_id = ?2 AND (k.door_id = ?1 OR k.door_id IS NULL)
                 UNION ALL
                 SELECT f.report_id, f.supersedes, f.outcome, 0 FROM door_facts f
                 WHERE f.door_id = ?1 AND NOT EXISTS (SELECT 1 FROM knocks k WHERE k.id = f.report_id)",
            )?;
            let facts = st
                .query_map([door_id, &building], |r| {
                    Ok(StatusFact { id: r.get(0)?, supersedes: r.get(1)?, outcome: outcome_from(&r.get::<_, String>(2)?), rejected: r.get(3)? })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(door_status(&facts))
        })
    }

    pub fn pending_count(&self) -> Result<u32> {
        self.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM outbox WHERE state = 'pending'", [], |r| r.get::<_, i64>(0))? as u32)
        })
    }

    /// Up to `max` pending reports, oldest first, as a push request.
    pub fn export_pending_batch(&self, max: u32) -> Result<PushRequest> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            let mut st = tx.prepare_cached(
                "SELECT k.id, k.body FROM knocks k JOIN outbox o ON o.knock_id = k.id WHERE o.state = 'pending'
                 ORDER BY k.hlc_millis, k.hlc_counter, k.id LIMIT ?1",
            )?;
            let rows: Vec<(String, String)> =
                st.query_map([max], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            let mut reports = Vec::with_capacity(rows.len());
            for (id, body) in rows {
                tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1, updated_ms = ?2 WHERE knock_id = ?1",
                    params![id, now],
                )?;
                reports.push(serde_json::from_str(&body)?);
            }
            Ok(PushRequest { protocol: PROTOCOL_VERSION, device_id: self.device_id.clone(), reports })
        })
    }

    /// [`Self::export_pending_batch`] as JSON bytes, for shells that carry the message themselves.
    pub fn export_pending_batch_bytes(&self, max: u32) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(&self.export_pending_batch(max)?)?)
    }

    /// Applies the server's per-item answer. Only pending receipts change; an answer for a report
    /// this device does not hold, or already settled, is ignored and counted.
    pub fn apply_push_response(&self, resp: &PushResponse) -> Result<AckSummary> {
        if resp.protocol != PROTOCOL_VERSION {
            return Err(CoreError::BadMessage(format!("protocol {} is not {PROTOCOL_VERSION}", resp.protocol)));
        }
        let now = self.clock.now_ms();
        self.write(|tx| {
            let mut sum = AckSummary { accepted: 0, duplicate: 0, rejected: 0, ignored: 0 };
            for item in &resp.results {
                let (state, reason) = match &item.status {
                    ItemStatus::Accepted => ("accepted", item.notice.as_deref()),
                    ItemStatus::Duplicate => ("duplicate", None),
                    // Held by the server for a captain (a revoked device): settled here, never
                    // sent again; the reason is kept beside the receipt.
                    ItemStatus::Held { reason } => ("accepted", Some(reason.as_str())),
                    ItemStatus::Rejected { reason, .. } => ("rejected", Some(reason.as_str())),
                };
                let n = tx.execute(
                    "UPDATE outbox SET state = ?2, reason = ?3, updated_ms = ?4 WHERE knock_id = ?1 AND state = 'pending'",
                    params![item.id, state, reason, now],
                )?;
                match (n, state) {
                    (0, _) => sum.ignored += 1,
                    (_, "accepted") => sum.accepted += 1,
                    (_, "duplicate") => sum.duplicate += 1,
                    _ => sum.rejected += 1,
                }
            }
            meta_set(tx, "last_sync_ms", &now.to_string())?;
            Ok(sum)
        })
    }

    /// Applies an acknowledgement received as JSON bytes.
    pub fn apply_push_response_bytes(&self, bytes: &[u8]) -> Result<AckSummary> {
        let resp: PushResponse = serde_json::from_slice(bytes).map_err(|e| CoreError::BadMessage(e.to_string()))?;
        self.apply_push_response(&resp)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let now = self.clock.now_ms();
        self.read(|c| {
            let mut counts: HashMap<String, u32> = HashMap::new();
            let mut st = c.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
            for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (s, n) = row?;
                counts.insert(s, n as u32);
            }
            let last: Option<i64> = meta_get(c, "last_sync_ms")?.and_then(|s| s.parse().ok());
            let get = |k: &str| counts.get(k).copied().unwrap_or(0);
            let (pending, rejected) = (get("pending"), get("rejected"));
            let when = last.map(|ms| format_local_time(ms, now));
            Ok(SyncStatus {
                pending,
                accepted: get("accepted"),
                duplicate: get("duplicate"),
                rejected,
                last_sync_ms: last,
                summary_fr: format!(
                    "{pending} en attente, {rejected} en échec, {}",
                    when.as_ref().map_or("jamais synchronisé".to_string(), |w| format!("dernière synchro {w}"))
                ),
                summary_en: format!(
                    "{pending} pending, {rejected} failed, {}",
                    when.as_ref().map_or("never synced".to_string(), |w| format!("last sync {w}"))
                ),
            })
        })
    }
}

fn insert_report(
    tx: &Transaction<'_>,
    k: &KnockReport,
    building_id: &str,
    door_id: Option<&str>,
    outcome: Outcome,
    now: i64,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO knocks(id, campaign_id, turf_id, building_id, door_id, target_kind, target_id, result_code, outcome,
           supersedes, hlc_millis, hlc_counter, monotonic_ms, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        k.id,
        k.campaign_id,
        k.turf_id,
        building_id,
        door_id,
        k.target.kind(),
        k.target.id(),
        k.result_code,
        outcome_text(outcome),
        k.supersedes,
        k.hlc.millis,
        k.hlc.counter,
        k.monotonic_ms as i64,
        serde_json::to_string(k)?
    ])?;
    tx.prepare_cached("INSERT INTO outbox(knock_id, state, updated_ms) VALUES (?1, 'pending', ?2)")?
        .execute(params![k.id, now])?;
    Ok(())
}
