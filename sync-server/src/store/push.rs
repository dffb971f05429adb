//! The storage side of a push (facts → plan → apply): gathering what
//! [`doorstep_protocol::merge::plan`] needs to decide a batch, and writing what it decided, inside
//! the push's one transaction. Nothing here decides: the plan and the audit line come from the
//! service in [`PushInput`].
//!
//! [`push_rowwise`] is written once over [`Tx`] with one small query per id (SQLite, where a query
//! is a function call); PostgreSQL gathers the same facts with one query per kind
//! (`postgres.rs`) and shares [`write_vals`] and [`finish`].

use std::collections::HashSet;

use doorstep_protocol::merge::{BatchFacts, Decision, Place, Sender, Write};
use doorstep_protocol::{KnockReport, Target};

use super::ops::shares::{self, Key, SharePlan};
use super::ops::standing::NewReport;
use super::records::{HeldReport, PushInput, StoreError, StoreResult, known_from, locate_sql};
use super::sql::*;
use super::tx::{Tx, Val};
use crate::vals;

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

/// The values of [`INSERT_REPORT`] (and the first 19 of [`INSERT_HELD`]) for a decided report.
pub(crate) fn write_vals(w: &Write, sender: &Sender, received_ms: i64) -> Vec<Val> {
    let r = &w.report;
    vals![
        r.id.as_str(),
        sender.campaign_id.as_str(),
        r.turf_id.as_str(),
        w.building_id.as_str(),
        w.door_id.clone(),
        sender.device_id.as_str(),
        sender.user_id.as_str(),
        r.result_code.as_str(),
        r.supersedes.clone(),
        r.hlc.millis,
        r.hlc.counter as i64,
        w.overlap,
        received_ms,
        json(r),
        w.person_id.clone(),
        r.position.map(|p| p.lat),
        r.position.map(|p| p.lon),
        w.body_hash.as_str(),
        w.at_ms
    ]
    .to_vec()
}

/// What every push does after its counted reports are written: the held ones set aside, the
/// device's last sync, the audit line.
pub(crate) async fn finish(
    tx: &mut dyn Tx,
    input: &PushInput,
    decisions: &[Decision],
    shares: &SharePlan,
) -> StoreResult<()> {
    for d in decisions {
        if let Decision::Hold(w, why) = d {
            let mut v = write_vals(w, &input.sender, input.received_ms);
            v.push(Val::from(why.reason()));
            tx.defer(INSERT_HELD, v).await?;
        }
        // A follow-up text the voter asked for at the door (issue 19): their consent recorded and
        // the request filed, in the push's own transaction (a counted report, not a held one).
        if let Decision::Accept(w) = d
            && let Some(f) = &w.follow_up
            && let Some(number) = doorstep_protocol::validate::sms::normalise_number(&f.number)
        {
            let campaign = input.sender.campaign_id.as_str();
            let source = format!("door:{}", w.report.id);
            let purpose = doorstep_protocol::validate::sms::SmsPurpose::DoorFollowUp;
            super::ops::sms::record_consent(tx, campaign, &number, purpose, &f.consent_text, &source, w.at_ms).await?;
            let v = vals![w.report.id.as_str(), campaign, number, input.sender.user_id.as_str(), w.at_ms];
            tx.exec(INSERT_FOLLOW_UP, &v).await?;
        }
    }
    // Each door's standing reports (what packages carry) and the coordinator's counters, in the same
    // transaction.
    let written: Vec<NewReport> = decisions
        .iter()
        .filter_map(|d| if let Decision::Accept(w) = d { Some(new_report(w, &input.sender.device_id)) } else { None })
        .collect();
    let (campaign, volunteer) = (&input.sender.campaign_id, &input.sender.user_id);
    super::ops::counters::reports_written(tx, campaign, volunteer, &written, shares).await?;
    tx.defer(TOUCH_DEVICE, vals![input.received_ms, input.sender.device_id.as_str(), input.received_ms].to_vec())
        .await?;
    super::ops::groups::synced(tx, campaign, volunteer, input.received_ms).await?;
    let e = (input.audit)(decisions);
    tx.defer(
        INSERT_AUDIT,
        vals![e.id, e.at_ms, e.campaign_id, e.actor, e.device_id, e.action, e.subject, e.detail.to_string()].to_vec(),
    )
    .await?;
    Ok(())
}

fn new_report(w: &Write, device_id: &str) -> NewReport {
    NewReport {
        building_id: w.building_id.clone(),
        door_id: w.door_id.clone(),
        id: w.report.id.clone(),
        device_id: device_id.to_string(),
        supersedes: w.report.supersedes.clone(),
        result_code: w.report.result_code.clone(),
        turf_id: w.report.turf_id.clone(),
        at_ms: w.at_ms,
        hlc_counter: w.report.hlc.counter as i64,
        overlap: w.overlap,
        located: w.report.position.is_some(),
        person_id: w.person_id.clone(),
        answers: w.report.answers.clone(),
    }
}

/// A decided report's place in its volunteer's knocking order.
pub(crate) fn key_of(w: &Write) -> Key {
    Key { at_ms: w.at_ms, counter: w.report.hlc.counter as i64, id: w.report.id.clone() }
}

/// The shares of the knocks a push writes, planned before they are written
/// ([`super::ops::shares`]); on PostgreSQL the volunteer is already locked.
pub(crate) async fn plan_shares(tx: &mut dyn Tx, input: &PushInput, decisions: &[Decision]) -> StoreResult<SharePlan> {
    let keys: Vec<Key> =
        decisions.iter().filter_map(|d| if let Decision::Accept(w) = d { Some(key_of(w)) } else { None }).collect();
    shares::plan_for(tx, &input.sender.user_id, &keys).await
}

const INSERT_FOLLOW_UP: &str =
    "INSERT INTO sms_follow_ups(report_id, campaign_id, number, volunteer_id, asked_ms, state)
     VALUES ($1, $2, $3, $4, $5, 'waiting') ON CONFLICT (report_id) DO NOTHING";

/// Files a recorded hand-off of `turf` to the sender's volunteer among the facts.
pub(crate) fn handoff_fact(f: &mut BatchFacts, turf: &str, status: &str) {
    if status == "accepted" {
        f.handed.insert(turf.to_string());
    } else {
        f.refused.insert(turf.to_string());
    }
}

/// When some planned knocks were not written (stored meanwhile under another volunteer: the
/// volunteer's own are serialised by their lock), the shares as written are planned again around
/// the knocks that were: their planned shares stand and the corrections, theirs and their
/// neighbours', replace the first plan's.
pub(crate) async fn settle_shares(
    tx: &mut dyn Tx,
    input: &PushInput,
    decisions: &[Decision],
    plan: SharePlan,
) -> StoreResult<SharePlan> {
    let again = plan_shares(tx, input, decisions).await?;
    Ok(SharePlan { new: plan.new, changed: again.changed })
}

/// Gathers the facts of a batch one id at a time.
pub(crate) async fn facts_rowwise(
    tx: &mut dyn Tx,
    input: &PushInput,
    reports: &[KnockReport],
) -> StoreResult<BatchFacts> {
    let mut f = input.facts();
    let campaign = input.sender.campaign_id.as_str();
    let ids: HashSet<&str> =
        reports.iter().flat_map(|r| std::iter::once(r.id.as_str()).chain(r.supersedes.as_deref())).collect();
    for id in ids {
        if let Some(r) = tx.row(SELECT_KNOWN, &vals![id]).await? {
            let k = known_from(
                r[1].text()?,
                r[2].text()?,
                r[3].text()?,
                r[4].opt_text()?,
                r[5].opt_text()?,
                r[6].opt_text()?,
            );
            f.known.insert(r[0].text()?, k);
        }
    }
    let targets: HashSet<&Target> = reports.iter().map(|r| &r.target).collect();
    for t in targets {
        if let Some(r) = tx.row(locate_sql(t), &vals![t.id(), campaign]).await? {
            let place = Place {
                building_id: r[0].text()?,
                door_id: r[1].opt_text()?,
                turf_now: r[2].opt_text()?,
                holder_now: r[3].opt_text()?,
            };
            f.places.insert(t.clone(), place);
        }
    }
    let turfs: HashSet<&str> = reports.iter().map(|r| r.turf_id.as_str()).collect();
    for t in &turfs {
        if tx.row(HELD_EVER, &vals![*t, input.sender.user_id.as_str()]).await?.is_some() {
            f.held_ever.insert(t.to_string());
        }
        for r in tx.rows(HANDOFF_STATUS, &vals![*t, input.sender.user_id.as_str()]).await? {
            handoff_fact(&mut f, t, &r[0].text()?);
        }
    }
    let pairs: HashSet<(String, String)> = reports
        .iter()
        .filter_map(|r| f.places.get(&r.target).map(|p| (p.building_id.clone(), r.turf_id.clone())))
        .filter(|(_, t)| turfs.contains(t.as_str()))
        .collect();
    for (b, t) in pairs {
        if tx.row(WAS_IN_TURF, &vals![b.as_str(), t.as_str()]).await?.is_some() {
            f.was_in.insert((b, t));
        }
    }
    Ok(f)
}

/// A whole push, one row at a time: facts, plan, writes.
pub(crate) async fn push_rowwise(
    tx: &mut dyn Tx,
    input: &PushInput,
    reports: &[KnockReport],
) -> StoreResult<Vec<Decision>> {
    let facts = facts_rowwise(tx, input, reports).await?;
    let mut decisions = (input.plan)(&facts, reports);
    let plan = plan_shares(tx, input, &decisions).await?;
    let mut demoted = false;
    for d in decisions.iter_mut() {
        if let Decision::Accept(w) = d {
            let mut v = write_vals(w, &input.sender, input.received_ms);
            v.push(Val::from(plan.new.get(&w.report.id).copied()));
            if tx.exec(INSERT_REPORT, &v).await? == 0 {
                // Stored meanwhile by a concurrent push (not on SQLite, whose writer is alone).
                *d = Decision::Duplicate;
                demoted = true;
            }
        }
    }
    let plan = if demoted { settle_shares(tx, input, &decisions, plan).await? } else { plan };
    finish(tx, input, &decisions, &plan).await?;
    Ok(decisions)
}

fn held_from(r: &[Val]) -> StoreResult<HeldReport> {
    Ok(HeldReport {
        report: serde_json::from_str(&r[0].text()?).map_err(|e| StoreError::Corrupt(format!("held report: {e}")))?,
        building_id: r[1].text()?,
        door_id: r[2].opt_text()?,
        received_ms: r[3].int()?,
        reason: r[4].text()?,
        review: r[5].opt_text()?,
    })
}

pub async fn held_reports(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<HeldReport>> {
    tx.rows(SELECT_HELD, &vals![campaign_id]).await?.iter().map(|r| held_from(r)).collect()
}

/// Accepts or discards a held report; a discarded one loses its answers and note.
pub async fn review_held(
    tx: &mut dyn Tx,
    campaign_id: &str,
    report_id: &str,
    accept: bool,
    user_id: &str,
    now_ms: i64,
) -> StoreResult<Option<HeldReport>> {
    let Some(row) = tx.row(SELECT_HELD_ONE, &vals![campaign_id, report_id]).await? else { return Ok(None) };
    let mut held = held_from(&row)?;
    if held.review.is_some() {
        return Ok(None);
    }
    if accept {
        // Counted from now on, with its share planned before it is written (the volunteer locked
        // first on PostgreSQL, as a push does).
        let Some(k) = tx.row(SELECT_HELD_KEY, &vals![campaign_id, report_id]).await? else { return Ok(None) };
        let (volunteer, at_ms, located) = (k[0].text()?, k[1].int()?, k[2].int()? != 0);
        shares::lock_volunteer(tx, &volunteer).await?;
        let key = Key { at_ms, counter: held.report.hlc.counter as i64, id: held.report.id.clone() };
        let plan = shares::plan_for(tx, &volunteer, std::slice::from_ref(&key)).await?;
        let share = plan.new.get(report_id).copied();
        if tx.exec(ACCEPT_HELD, &vals![share, campaign_id, report_id]).await? > 0 {
            let written = NewReport {
                building_id: held.building_id.clone(),
                door_id: held.door_id.clone(),
                id: held.report.id.clone(),
                device_id: held.report.device_id.clone(),
                supersedes: held.report.supersedes.clone(),
                result_code: held.report.result_code.clone(),
                turf_id: held.report.turf_id.clone(),
                at_ms,
                hlc_counter: key.counter,
                overlap: k[3].int()? != 0,
                located,
                person_id: match &held.report.target {
                    doorstep_protocol::Target::Person { id } => Some(id.clone()),
                    _ => None,
                },
                answers: held.report.answers.clone(),
            };
            super::ops::counters::reports_written(tx, campaign_id, &volunteer, &[written], &plan).await?;
        }
    } else {
        held.report.answers.clear();
        held.report.note = None;
    }
    let review = if accept { "accepted" } else { "discarded" };
    tx.exec(REVIEW_HELD, &vals![review, user_id, now_ms, json(&held.report), campaign_id, report_id]).await?;
    held.review = Some(review.to_string());
    Ok(Some(held))
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

/// A revoked device's report, kept for a captain's review.
const INSERT_HELD: &str =
    "INSERT INTO held_reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id, result_code,
       supersedes, hlc_millis, hlc_counter, overlap, received_ms, body, person_id, lat, lon, body_hash, at_ms, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
     ON CONFLICT (id) DO NOTHING";

const SELECT_HELD: &str = "SELECT body, building_id, door_id, received_ms, reason, review FROM held_reports
     WHERE campaign_id = $1 ORDER BY received_ms, id";

const SELECT_HELD_ONE: &str = "SELECT body, building_id, door_id, received_ms, reason, review FROM held_reports
     WHERE campaign_id = $1 AND id = $2";

/// A held report's volunteer, time, whether it has a position, and whether it is an overlap.
const SELECT_HELD_KEY: &str =
    "SELECT volunteer_id, COALESCE(at_ms, hlc_millis), CASE WHEN lat IS NULL THEN 0 ELSE 1 END,
     CASE WHEN overlap THEN 1 ELSE 0 END FROM held_reports WHERE campaign_id = $1 AND id = $2";

/// A held report accepted by a captain: counted from now on.
const ACCEPT_HELD: &str =
    "INSERT INTO reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id, result_code,
       supersedes, hlc_millis, hlc_counter, overlap, received_ms, body, person_id, lat, lon, body_hash, at_ms, share_ms)
     SELECT id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id, result_code, supersedes,
       hlc_millis, hlc_counter, overlap, received_ms, body, person_id, lat, lon, body_hash, at_ms, CAST($1 AS BIGINT)
     FROM held_reports WHERE campaign_id = $2 AND id = $3 AND review IS NULL ON CONFLICT (id) DO NOTHING";

const REVIEW_HELD: &str = "UPDATE held_reports SET review = $1, reviewed_by = $2, reviewed_ms = $3, body = $4
     WHERE campaign_id = $5 AND id = $6 AND review IS NULL";
