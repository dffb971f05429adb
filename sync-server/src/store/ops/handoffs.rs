//! The offline hand-off on the server (issue 17): each campaign's signing key, the grants given to
//! captains' devices, and the hand-offs phones bring in — the facts each needs gathered here, the
//! decision made by the rule book (`validate::handoff::handoff_outcome`), the result written and
//! applied (the lease assigned as if the captain had made it online) in the same transaction.

use doorstep_protocol::validate::handoff::{HandoffError, HandoffFacts, HandoffOutcome, handoff_hash, handoff_outcome};
use doorstep_protocol::{PushItemResult, Session, SessionGrant, SignedHandoff};

use super::*;

/// The campaign's key, `(pkcs8, public key)` both base64url: the one stored, or `candidate`
/// stored now if there is none yet (two servers racing keep the first).
pub async fn campaign_key(
    tx: &mut dyn Tx,
    campaign_id: &str,
    candidate: (&str, &str),
    now_ms: i64,
) -> StoreResult<(String, String)> {
    if let Some(r) = tx.row(SELECT_KEY, &vals![campaign_id]).await? {
        return Ok((r[0].text()?, r[1].text()?));
    }
    tx.exec(INSERT_KEY, &vals![campaign_id, candidate.0, candidate.1, now_ms]).await?;
    let r = tx
        .row(SELECT_KEY, &vals![campaign_id])
        .await?
        .ok_or_else(|| StoreError::Missing { kind: "key", id: campaign_id.into() })?;
    Ok((r[0].text()?, r[1].text()?))
}

/// Keeps the grant given to a device for a session (a new key from the same device replaces it).
pub async fn record_grant(tx: &mut dyn Tx, g: &SessionGrant, now_ms: i64) -> StoreResult<()> {
    tx.exec(
        UPSERT_GRANT,
        &vals![
            g.session_id.as_str(),
            g.device_id.as_str(),
            g.captain_id.as_str(),
            g.public_key.as_str(),
            g.not_before_ms,
            g.expires_ms,
            now_ms
        ],
    )
    .await?;
    Ok(())
}

/// What recording a push of hand-offs did: one answer per hand-off, and the turfs whose holder
/// changed (for the live dashboard).
#[derive(Debug, Clone, Default)]
pub struct HandoffsRecorded {
    pub results: Vec<PushItemResult>,
    pub outcomes: Vec<HandoffOutcome>,
    pub turfs_touched: Vec<String>,
}

/// Decides and records hand-offs, in order. `sender` is the token's `(device, user)`;
/// `campaign_key` the campaign's public key. An accepted hand-off whose lease is still open is
/// applied: the whole turf assigned to the volunteer until the lease's end, or the street moved
/// into a turf of its own assigned so (and added to the session's turfs); the volunteer counts as
/// checked in.
pub async fn record_handoffs(
    tx: &mut dyn Tx,
    campaign_id: &str,
    campaign_key: &str,
    sender: (&str, &str),
    items: &[SignedHandoff],
    now_ms: i64,
) -> StoreResult<HandoffsRecorded> {
    let mut out = HandoffsRecorded::default();
    for s in items {
        let h = &s.handoff;
        // The session's row locked first (PostgreSQL, until commit): the two phones of a pair
        // bringing the same hand-off at once are decided one after the other.
        tx.exec(LOCK_SESSION, &vals![h.session_id.as_str()]).await?;
        let held = tx.row(SELECT_HANDOFF, &vals![h.id.as_str()]).await?;
        let held_hash = held.as_ref().map(|r| r[0].text()).transpose()?;
        let held_refusal = match &held {
            Some(r) if r[1].text()? == "refused" => Some(
                r[2].opt_text()?
                    .and_then(|c| HandoffError::from_code(&c))
                    .ok_or_else(|| StoreError::Corrupt(format!("hand-off {} refused without a known code", h.id)))?,
            ),
            _ => None,
        };
        let session = match super::sessions::session(tx, &h.session_id).await? {
            Some(x) if x.campaign_id == campaign_id => Some(x),
            _ => None,
        };
        let captain_revoked = tx.row(DEVICE_REVOKED, &vals![h.device_id.as_str()]).await?.is_some();
        let volunteer_known = tx
            .row(SELECT_USER, &vals![h.volunteer_id.as_str()])
            .await?
            .as_ref()
            .map(user_from)
            .transpose()?
            .is_some_and(|u| u.campaign_id == campaign_id && matches!(u.role, Role::Volunteer | Role::Captain));
        let facts = HandoffFacts {
            campaign_key: campaign_key.to_string(),
            held_hash,
            held_refusal,
            session: session.clone(),
            captain_revoked,
            volunteer_known,
        };
        let outcome = handoff_outcome(s, sender, &facts);
        if let HandoffOutcome::Accept | HandoffOutcome::Refuse(_) = outcome {
            let (status, code) = match outcome {
                HandoffOutcome::Refuse(e) => ("refused", Some(e.code())),
                _ => ("accepted", None),
            };
            let applied = match (outcome, session) {
                (HandoffOutcome::Accept, Some(session)) if now_ms < h.expires_ms => {
                    apply(tx, &session, s, &mut out.turfs_touched).await?
                }
                _ => None,
            };
            tx.exec(
                INSERT_HANDOFF,
                &vals![
                    h.id.as_str(),
                    campaign_id,
                    h.session_id.as_str(),
                    h.captain_id.as_str(),
                    h.device_id.as_str(),
                    h.volunteer_id.as_str(),
                    h.turf_id.as_str(),
                    h.street.clone(),
                    h.issued_ms,
                    h.expires_ms,
                    json(s),
                    handoff_hash(s),
                    status,
                    code,
                    now_ms,
                    sender.0,
                    applied
                ],
            )
            .await?;
            if outcome == HandoffOutcome::Accept {
                // Handed work at the meeting point: checked in (a walk-in too).
                tx.exec(CHECK_IN, &vals![h.session_id.as_str(), h.volunteer_id.as_str(), now_ms]).await?;
            }
        }
        out.results.push(PushItemResult { id: h.id.clone(), status: outcome.status(), notice: None });
        out.outcomes.push(outcome);
    }
    out.turfs_touched.sort();
    out.turfs_touched.dedup();
    Ok(out)
}

/// What attendance is measured from, for one session: each volunteer's standing, and every knock
/// made under an accepted lease of the session (`(volunteer, door or building, result code)`:
/// by the lease's volunteer, on its turf or the turf its street moved to, between its issue (less
/// the clock margin, `CLOCK_SKEW_MS`) and its expiry by the time the knock counts as made).
pub async fn session_work(
    tx: &mut dyn Tx,
    session_id: &str,
) -> StoreResult<(Vec<(String, String)>, Vec<(String, String, String)>)> {
    let standings = tx
        .rows(SELECT_SESSION_STANDINGS, &vals![session_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].text()?)))
        .collect::<StoreResult<_>>()?;
    let knocks = tx
        .rows(SELECT_KNOCKS_UNDER_LEASES, &vals![session_id, doorstep_protocol::validate::handoff::CLOCK_SKEW_MS])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].text()?, r[2].text()?)))
        .collect::<StoreResult<_>>()?;
    Ok((standings, knocks))
}

/// Applies an accepted, still open lease; returns the turf the volunteer now holds for it.
async fn apply(
    tx: &mut dyn Tx,
    session: &Session,
    s: &SignedHandoff,
    touched: &mut Vec<String>,
) -> StoreResult<Option<String>> {
    let h = &s.handoff;
    let Some(from) = super::turf(tx, &h.turf_id).await? else { return Ok(None) };
    let Some(street) = &h.street else {
        super::turfs::assign_turf(tx, &h.turf_id, Some(&h.volunteer_id), Some(h.expires_ms)).await?;
        touched.push(h.turf_id.clone());
        return Ok(Some(h.turf_id.clone()));
    };
    // The turf's row locked before its street is read: a street handed (or moved online) through
    // another server process at the same moment is decided first or after, never both.
    tx.exec(LOCK_TURF, &vals![h.turf_id.as_str()]).await?;
    let buildings = super::turfs::street_buildings(tx, &h.turf_id, street).await?;
    if buildings.is_empty() {
        // Moved on already (the same street handed twice): the first hand-off's turf stands.
        return Ok(None);
    }
    // A turf of its own for the street, named after it, in the session's team.
    let id = format!("{}-h{}", h.turf_id, &h.id[h.id.len() - 8..]);
    let name = format!("{street} (séance)");
    super::turfs::create_turf(tx, &session.campaign_id, &id, &name, from.team_id.as_deref(), &[]).await?;
    super::turfs::assign_turf(tx, &id, Some(&h.volunteer_id), Some(h.expires_ms)).await?;
    touched.extend(super::turfs::move_buildings(tx, &session.campaign_id, &buildings, &id, None).await?);
    let mut grown = session.clone();
    grown.turfs.push(id.clone());
    tx.exec(UPDATE_SESSION_BODY, &vals![json(&grown), session.id.as_str()]).await?;
    Ok(Some(id))
}

const SELECT_SESSION_STANDINGS: &str = "SELECT volunteer_id, state FROM session_signups WHERE session_id = $1";

const SELECT_KNOCKS_UNDER_LEASES: &str = "SELECT r.volunteer_id, COALESCE(r.door_id, r.building_id), r.result_code
    FROM handoffs h JOIN reports r ON r.volunteer_id = h.volunteer_id
    WHERE h.session_id = $1 AND h.status = 'accepted' AND (r.turf_id = h.turf_id OR r.turf_id = h.applied_turf)
      AND r.at_ms >= h.issued_ms - $2 AND r.at_ms < h.expires_ms";

const LOCK_TURF: &str = "UPDATE turfs SET version = version WHERE id = $1";

const LOCK_SESSION: &str = "UPDATE canvass_sessions SET end_ms = end_ms WHERE id = $1";

const SELECT_KEY: &str = "SELECT pkcs8, public_key FROM campaign_keys WHERE campaign_id = $1";

const INSERT_KEY: &str = "INSERT INTO campaign_keys(campaign_id, pkcs8, public_key, created_ms) VALUES ($1, $2, $3, $4)
    ON CONFLICT (campaign_id) DO NOTHING";

const UPSERT_GRANT: &str = "INSERT INTO session_grants(session_id, device_id, captain_id, public_key, not_before_ms,
    expires_ms, issued_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (session_id, device_id) DO UPDATE SET
    captain_id = excluded.captain_id, public_key = excluded.public_key, not_before_ms = excluded.not_before_ms,
    expires_ms = excluded.expires_ms, issued_ms = excluded.issued_ms";

const SELECT_HANDOFF: &str = "SELECT body_hash, status, code FROM handoffs WHERE id = $1";

const DEVICE_REVOKED: &str = "SELECT 1 FROM devices WHERE device_id = $1 AND revoked_ms IS NOT NULL";

const INSERT_HANDOFF: &str = "INSERT INTO handoffs(id, campaign_id, session_id, captain_id, device_id, volunteer_id,
    turf_id, street, issued_ms, expires_ms, body, body_hash, status, code, received_ms, received_from, applied_turf)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

const CHECK_IN: &str = "INSERT INTO session_signups(session_id, volunteer_id, state, updated_ms)
    VALUES ($1, $2, 'checked_in', $3)
    ON CONFLICT (session_id, volunteer_id) DO UPDATE SET state = 'checked_in', updated_ms = excluded.updated_ms";

const UPDATE_SESSION_BODY: &str = "UPDATE canvass_sessions SET body = $1 WHERE id = $2";
