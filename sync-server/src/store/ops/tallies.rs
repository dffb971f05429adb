//! The coordinator's counters as the dashboard reads them (kept by [`super::counters`]): rows per
//! turf, per (turf, volunteer), per (turf, hour), and each volunteer's latest position.

use super::super::records::StoreResult;
use super::super::tx::Tx;
use super::counters::{DoorCounts, HourCounts, KnockCounts};
use crate::vals;

/// A turf's door counts as the counters keep them (`turf_id` `None`: the doors in no turf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurfTally {
    pub turf_id: Option<String>,
    pub counts: DoorCounts,
}

/// A (turf, volunteer)'s knock counts as the counters keep them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolunteerTally {
    pub turf_id: String,
    pub volunteer_id: String,
    pub counts: KnockCounts,
}

/// The turf rows of a campaign (every turf, and the doors in no turf), in key order.
pub async fn turf_tallies(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<TurfTally>> {
    tx.rows(SELECT_TURF_TALLIES, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| {
            let key = r[0].text()?;
            Ok(TurfTally {
                turf_id: (!key.is_empty()).then_some(key),
                counts: DoorCounts { doors: r[1].int()?, knocked: r[2].int()?, contacted: r[3].int()? },
            })
        })
        .collect()
}

/// The (turf, volunteer) rows of a campaign with knocks, in key order.
pub async fn volunteer_tallies(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<VolunteerTally>> {
    tx.rows(SELECT_VOLUNTEER_TALLIES, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| {
            Ok(VolunteerTally {
                turf_id: r[0].text()?,
                volunteer_id: r[1].text()?,
                counts: KnockCounts { knocks: r[2].int()?, overlaps: r[3].int()?, time_ms: r[4].int()? },
            })
        })
        .collect()
}

/// Knocks and conversations per (turf, hour) of a campaign, with knocks.
pub async fn hour_tallies(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<(String, i64, HourCounts)>> {
    tx.rows(SELECT_HOUR_TALLIES, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].int()?, HourCounts { knocks: r[2].int()?, contacts: r[3].int()? })))
        .collect()
}

/// Each volunteer's latest located report of a campaign: (volunteer, time, body).
pub async fn positions(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<(String, i64, String)>> {
    tx.rows(SELECT_POSITIONS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].int()?, r[2].text()?)))
        .collect()
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const SELECT_TURF_TALLIES: &str =
    "SELECT turf_key, doors, knocked, contacted FROM turf_tally WHERE campaign_id = $1 ORDER BY turf_key";

const SELECT_VOLUNTEER_TALLIES: &str = "SELECT turf_key, volunteer_id, knocks, unreviewed, time_ms FROM volunteer_tally
     WHERE campaign_id = $1 AND knocks > 0 ORDER BY turf_key, volunteer_id";

const SELECT_HOUR_TALLIES: &str = "SELECT turf_key, hour_ms, knocks, contacts FROM hour_tally
     WHERE campaign_id = $1 AND knocks > 0 ORDER BY hour_ms, turf_key";

const SELECT_POSITIONS: &str = "SELECT p.volunteer_id, p.at_ms, r.body FROM volunteer_position p
     JOIN reports r ON r.id = p.report_id WHERE p.campaign_id = $1 ORDER BY p.volunteer_id";
