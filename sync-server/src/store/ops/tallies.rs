//! The coordinator's counters as the dashboard reads them (kept by [`super::counters`]): rows per
//! turf, per (turf, volunteer), per (turf, hour), and each volunteer's latest position — for the
//! whole campaign, or for one team (`team`: its turfs, and its volunteers wherever they knocked),
//! so that a national campaign's page lists one team at a time.

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
    /// The team of the turf (a captain's reach).
    pub turf_team: Option<String>,
}

/// The turf rows of a campaign (every turf, and the doors in no turf), in key order.
pub async fn turf_tallies(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<TurfTally>> {
    turf_tallies_of(tx, campaign_id, None).await
}

/// The turf rows of a campaign, or of one team's turfs, in key order.
pub async fn turf_tallies_of(tx: &mut dyn Tx, campaign_id: &str, team: Option<&str>) -> StoreResult<Vec<TurfTally>> {
    let rows = match team {
        None => tx.rows(SELECT_TURF_TALLIES, &vals![campaign_id]).await?,
        Some(t) => tx.rows(SELECT_TEAM_TURF_TALLIES, &vals![campaign_id, t]).await?,
    };
    rows.iter()
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
    volunteer_tallies_of(tx, campaign_id, None).await
}

/// The (turf, volunteer) rows with knocks of a campaign, or those of one team's turfs and of its
/// volunteers (wherever they knocked), in key order.
pub async fn volunteer_tallies_of(
    tx: &mut dyn Tx,
    campaign_id: &str,
    team: Option<&str>,
) -> StoreResult<Vec<VolunteerTally>> {
    let rows = match team {
        None => tx.rows(SELECT_VOLUNTEER_TALLIES, &vals![campaign_id]).await?,
        Some(t) => tx.rows(SELECT_TEAM_VOLUNTEER_TALLIES, &vals![campaign_id, t, campaign_id, t]).await?,
    };
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(VolunteerTally {
                turf_id: r[0].text()?,
                volunteer_id: r[1].text()?,
                counts: KnockCounts { knocks: r[2].int()?, overlaps: r[3].int()?, time_ms: r[4].int()? },
                turf_team: r[5].opt_text()?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    out.sort_by(|a, b| (&a.turf_id, &a.volunteer_id).cmp(&(&b.turf_id, &b.volunteer_id)));
    Ok(out)
}

/// Whether a campaign has at most `n` turfs (of `team` when given).
pub async fn turfs_at_most(
    tx: &mut dyn Tx,
    campaign_id: &str,
    teams: Option<&[String]>,
    n: usize,
) -> StoreResult<bool> {
    let limit = n as i64 + 1;
    let found = match teams {
        None => tx.rows(SELECT_SOME_TURFS, &vals![campaign_id, limit]).await?.len(),
        Some(ts) => {
            let mut found = 0;
            for t in ts {
                found += tx.rows(SELECT_SOME_TEAM_TURFS, &vals![campaign_id, t, limit]).await?.len();
            }
            found
        }
    };
    Ok(found <= n)
}

/// The volunteers of a campaign, or of one team, with their devices.
pub async fn volunteers_of(
    tx: &mut dyn Tx,
    campaign_id: &str,
    team: Option<&str>,
) -> StoreResult<(Vec<crate::store::User>, Vec<crate::store::DeviceRow>)> {
    let Some(t) = team else {
        return Ok((super::people::users(tx, campaign_id).await?, super::people::devices(tx, campaign_id).await?));
    };
    let users = tx
        .rows(SELECT_TEAM_USERS, &vals![campaign_id, t])
        .await?
        .iter()
        .map(super::user_from)
        .collect::<Result<_, _>>()?;
    let devices = tx
        .rows(SELECT_TEAM_DEVICES, &vals![campaign_id, t, campaign_id, t])
        .await?
        .iter()
        .map(|r| super::people::device_row_from(r))
        .collect::<StoreResult<_>>()?;
    Ok((users, devices))
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
    positions_of(tx, campaign_id, None).await
}

/// The same, for one team's volunteers when given.
pub async fn positions_of(
    tx: &mut dyn Tx,
    campaign_id: &str,
    team: Option<&str>,
) -> StoreResult<Vec<(String, i64, String)>> {
    let rows = match team {
        None => tx.rows(SELECT_POSITIONS, &vals![campaign_id]).await?,
        Some(t) => tx.rows(SELECT_TEAM_POSITIONS, &vals![campaign_id, t]).await?,
    };
    rows.iter().map(|r| Ok((r[0].text()?, r[1].int()?, r[2].text()?))).collect()
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const SELECT_TURF_TALLIES: &str =
    "SELECT turf_key, doors, knocked, contacted FROM turf_tally WHERE campaign_id = $1 ORDER BY turf_key";

const SELECT_TEAM_TURF_TALLIES: &str = "SELECT turf_key, doors, knocked, contacted FROM turf_tally
     WHERE campaign_id = $1 AND turf_key IN (SELECT id FROM turfs WHERE team_id = $2) ORDER BY turf_key";

const SELECT_VOLUNTEER_TALLIES: &str = "SELECT v.turf_key, v.volunteer_id, v.knocks, v.unreviewed, v.time_ms, t.team_id
     FROM volunteer_tally v LEFT JOIN turfs t ON t.id = v.turf_key
     WHERE v.campaign_id = $1 AND v.knocks > 0 ORDER BY v.turf_key, v.volunteer_id";

/// A team's turfs' rows, and its volunteers' (two searches by index, not one over the campaign).
const SELECT_TEAM_VOLUNTEER_TALLIES: &str = "SELECT v.turf_key, v.volunteer_id, v.knocks, v.unreviewed, v.time_ms,
       t.team_id FROM volunteer_tally v LEFT JOIN turfs t ON t.id = v.turf_key
     WHERE v.campaign_id = $1 AND v.knocks > 0 AND v.turf_key IN (SELECT id FROM turfs WHERE team_id = $2)
     UNION SELECT v.turf_key, v.volunteer_id, v.knocks, v.unreviewed, v.time_ms, t.team_id
     FROM volunteer_tally v LEFT JOIN turfs t ON t.id = v.turf_key
     WHERE v.campaign_id = $3 AND v.knocks > 0 AND v.volunteer_id IN (SELECT id FROM users WHERE team_id = $4)";

const SELECT_SOME_TURFS: &str = "SELECT id FROM turfs WHERE campaign_id = $1 LIMIT $2";

const SELECT_SOME_TEAM_TURFS: &str = "SELECT id FROM turfs WHERE campaign_id = $1 AND team_id = $2 LIMIT $3";

const SELECT_TEAM_USERS: &str = "SELECT id, campaign_id, role, display_name, team_id FROM users
     WHERE campaign_id = $1 AND team_id = $2 AND deleted_ms IS NULL ORDER BY id";

/// The devices of a team's volunteers and of its turfs' holders.
const SELECT_TEAM_DEVICES: &str = "SELECT d.device_id, d.user_id, d.created_ms, d.expires_ms, d.revoked_ms,
     d.last_seen_ms FROM devices d JOIN users u ON u.id = d.user_id
     WHERE u.campaign_id = $1 AND u.role = 'volunteer' AND u.team_id = $2
     UNION SELECT d.device_id, d.user_id, d.created_ms, d.expires_ms, d.revoked_ms, d.last_seen_ms
     FROM devices d JOIN users u ON u.id = d.user_id
     WHERE u.campaign_id = $3 AND u.role = 'volunteer' AND u.id IN (SELECT volunteer_id FROM turfs WHERE team_id = $4)
     ORDER BY 2, 3";

const SELECT_TEAM_POSITIONS: &str = "SELECT p.volunteer_id, p.at_ms, r.body FROM volunteer_position p
     JOIN users u ON u.id = p.volunteer_id JOIN reports r ON r.id = p.report_id
     WHERE p.campaign_id = $1 AND u.team_id = $2 ORDER BY p.volunteer_id";

const SELECT_HOUR_TALLIES: &str = "SELECT turf_key, hour_ms, knocks, contacts FROM hour_tally
     WHERE campaign_id = $1 AND knocks > 0 ORDER BY hour_ms, turf_key";

const SELECT_POSITIONS: &str = "SELECT p.volunteer_id, p.at_ms, r.body FROM volunteer_position p
     JOIN reports r ON r.id = p.report_id WHERE p.campaign_id = $1 ORDER BY p.volunteer_id";
