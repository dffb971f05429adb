//! Canvass sessions (issue 17): publication, the sessions of a campaign with their counts, and
//! the sign-up events pushed by phones — the facts each event needs gathered here, the decision
//! made by the rule book (`validate::session::signup_outcome`), the result written in the same
//! transaction.

use doorstep_protocol::validate::session::{
    SessionError, SignupFacts, check_edit, checkin_proven, may_see, signup_hash, signup_outcome,
};
use doorstep_protocol::{Attendance, ItemStatus, PushItemResult, Session, SignupEvent, Visibility};

use super::*;

fn visibility_text(v: Visibility) -> &'static str {
    match v {
        Visibility::Team => "team",
        Visibility::Campaign => "campaign",
        Visibility::Public => "public",
    }
}

fn attendance_of(s: &str) -> StoreResult<Attendance> {
    Attendance::from_code(s).ok_or_else(|| StoreError::Corrupt(format!("attendance {s:?}")))
}

/// Publishes a session; an id already taken is a conflict.
pub async fn create_session(tx: &mut dyn Tx, s: &Session, created_by: &str, now_ms: i64) -> StoreResult<()> {
    if tx.row(SELECT_SESSION, &vals![s.id.as_str()]).await?.is_some() {
        return Err(StoreError::Conflict(format!("session {}", s.id)));
    }
    tx.exec(
        INSERT_SESSION,
        &vals![
            s.id.as_str(),
            s.campaign_id.as_str(),
            json(s),
            s.start_ms,
            s.end_ms,
            s.team_id.clone(),
            visibility_text(s.visibility),
            Val::Bool(s.cancelled),
            created_by,
            now_ms
        ],
    )
    .await?;
    Ok(())
}

/// Edits a published session: the old one locked and read, the places taken counted, the rule
/// book's `check_edit` deciding, the new body written — in one transaction, so that a sign-up
/// racing the edit sees one or the other. `Ok(Err(_))`: refused, nothing written; `Ok(Ok(old))`:
/// written, the session as it was returned (for the audit).
pub async fn edit_session(tx: &mut dyn Tx, new: &Session) -> StoreResult<Result<Session, SessionError>> {
    tx.exec(LOCK_SESSION, &vals![new.id.as_str()]).await?;
    let old = session(tx, &new.id).await?.ok_or_else(|| StoreError::Missing { kind: "session", id: new.id.clone() })?;
    let taken = places_taken(tx, &new.id, "").await?;
    if let Err(e) = check_edit(&old, new, taken) {
        return Ok(Err(e));
    }
    tx.exec(
        UPDATE_SESSION,
        &vals![json(new), visibility_text(new.visibility), Val::Bool(new.cancelled), new.id.as_str()],
    )
    .await?;
    Ok(Ok(old))
}

pub async fn session(tx: &mut dyn Tx, id: &str) -> StoreResult<Option<Session>> {
    tx.row(SELECT_SESSION, &vals![id]).await?.map(|r| parse("session", &r[0].text()?)).transpose()
}

/// The campaign's sessions not yet over at `from_ms`, soonest first, each with its standings
/// counted: `(session, signed up, confirmed, checked in, cancelled)`.
pub async fn campaign_sessions(tx: &mut dyn Tx, campaign_id: &str, from_ms: i64) -> StoreResult<Vec<SessionCounts>> {
    let mut out = Vec::new();
    for r in tx.rows(SELECT_CAMPAIGN_SESSIONS, &vals![campaign_id, from_ms]).await? {
        out.push(SessionCounts {
            session: parse("session", &r[0].text()?)?,
            signed_up: r[1].int()? as u32,
            confirmed: r[2].int()? as u32,
            checked_in: r[3].int()? as u32,
            cancelled: r[4].int()? as u32,
            public: r[5].int()? as u32,
        });
    }
    Ok(out)
}

/// A volunteer's standing with each session they have one with.
pub async fn standings(tx: &mut dyn Tx, volunteer_id: &str) -> StoreResult<Vec<(String, Attendance)>> {
    tx.rows(SELECT_STANDINGS, &vals![volunteer_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, attendance_of(&r[1].text()?)?)))
        .collect()
}

/// Decides and records a phone's sign-up events, in order (a sign-up then a cancel in one push
/// both count). `sender` is the token's user, `device_id` its device: a volunteer's own events, or
/// a session captain's check-ins of others; `campaign_key` checks check-in codes.
pub async fn record_signups(
    tx: &mut dyn Tx,
    sender: &User,
    device_id: &str,
    events: &[SignupEvent],
    campaign_key: &str,
    now_ms: i64,
) -> StoreResult<Vec<PushItemResult>> {
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        // The session's row locked first (PostgreSQL: until commit; SQLite writes one at a time
        // anyway): two phones taking the last place at once are decided one after the other, the
        // second seeing the first's place taken.
        tx.exec(LOCK_SESSION, &vals![e.session_id.as_str()]).await?;
        // Facts: an event held under this id, the session as the volunteer may see it, their
        // standing and the places others took.
        let held: Option<String> =
            tx.row(SELECT_SIGNUP_EVENT, &vals![e.id.as_str()]).await?.map(|r| r[0].text()).transpose()?;
        let session = match session(tx, &e.session_id).await? {
            Some(s) if s.campaign_id == sender.campaign_id => Some(s),
            _ => None,
        };
        // Whom the event is about: the sender, or (a captain's check-in) a volunteer of the campaign.
        let subject = if e.volunteer_id == sender.id {
            Some(sender.clone())
        } else {
            tx.row(SELECT_USER, &vals![e.volunteer_id.as_str()])
                .await?
                .as_ref()
                .map(user_from)
                .transpose()?
                .filter(|u| u.campaign_id == sender.campaign_id)
        };
        let current = tx
            .row(SELECT_STANDING, &vals![e.session_id.as_str(), e.volunteer_id.as_str()])
            .await?
            .map(|r| attendance_of(&r[0].text()?))
            .transpose()?;
        let taken_by_others = places_taken(tx, &e.session_id, &e.volunteer_id).await?;
        let sender_captains = session.as_ref().is_some_and(|s| s.captains.contains(&sender.id));
        let facts = SignupFacts {
            now_ms,
            session_end_ms: session.as_ref().map_or(i64::MIN, |s| s.end_ms),
            session_cancelled: session.as_ref().is_some_and(|s| s.cancelled),
            capacity: session.as_ref().map_or(0, |s| s.capacity),
            taken_by_others,
            current,
            may_see: match (&session, &subject) {
                (Some(s), Some(u)) => may_see(s, &u.campaign_id, u.team_id.as_deref()) || sender_captains,
                _ => false,
            },
            checkin_proven: checkin_proven(e, campaign_key, sender_captains),
            sender_captains,
        };
        // Decision, then what it says to write.
        let (status, standing) = signup_outcome(e, held.as_deref(), (&sender.id, device_id), &facts);
        if let (ItemStatus::Accepted, Some(a)) = (&status, standing) {
            let state = a.code();
            tx.exec(
                INSERT_SIGNUP_EVENT,
                &vals![
                    e.id.as_str(),
                    e.session_id.as_str(),
                    e.volunteer_id.as_str(),
                    device_id,
                    signup_hash(e),
                    state,
                    now_ms
                ],
            )
            .await?;
            tx.exec(UPSERT_STANDING, &vals![e.session_id.as_str(), e.volunteer_id.as_str(), state, now_ms]).await?;
            // Reminders planned in the same transaction: none lost if the answer is.
            if let Some(s) = &session {
                let channels = super::reminders::volunteer_channels(tx, &e.volunteer_id).await?;
                super::reminders::plan_for(tx, s, &e.volunteer_id, Some(a), &channels, now_ms).await?;
            }
        }
        out.push(PushItemResult { id: e.id.clone(), status, notice: None });
    }
    Ok(out)
}

/// Places taken in a session by everyone but `volunteer_id` (`""`: by everyone): volunteers
/// signed up, confirmed or checked in, and supporters signed up on the public page.
pub async fn places_taken(tx: &mut dyn Tx, session_id: &str, volunteer_id: &str) -> StoreResult<u32> {
    let taken = tx.row(COUNT_TAKEN_BY_OTHERS, &vals![session_id, volunteer_id]).await?;
    Ok(taken.map_or(Ok(0), |r| r[0].int())? as u32)
}

/// A public sign-up, checked by the service (name, contact, consent text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSignup {
    pub id: String,
    pub session_id: String,
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub consent_text: String,
}

/// What became of a public sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicOutcome {
    Recorded,
    /// The same e-mail or phone number is already signed up for this session: nothing written.
    AlreadyThere,
    Full,
    /// The session is not open to the public (unknown, not public, called off or over).
    Closed,
}

/// Records a public sign-up: the session locked (the last place goes to one), the same contact
/// never twice, places counted with volunteers'; its e-mail reminders planned with it.
pub async fn record_public_signup(tx: &mut dyn Tx, p: &PublicSignup, now_ms: i64) -> StoreResult<PublicOutcome> {
    tx.exec(LOCK_SESSION, &vals![p.session_id.as_str()]).await?;
    let Some(session) = session(tx, &p.session_id).await? else {
        return Ok(PublicOutcome::Closed);
    };
    if session.visibility != doorstep_protocol::Visibility::Public || session.cancelled || session.end_ms <= now_ms {
        return Ok(PublicOutcome::Closed);
    }
    let same = tx
        .row(SELECT_SAME_CONTACT, &vals![p.session_id.as_str(), p.email.clone(), p.phone.clone()])
        .await?
        .map_or(Ok(0), |r| r[0].int())?;
    if same > 0 {
        return Ok(PublicOutcome::AlreadyThere);
    }
    if places_taken(tx, &p.session_id, "").await? >= session.capacity {
        return Ok(PublicOutcome::Full);
    }
    tx.exec(
        INSERT_PUBLIC_SIGNUP,
        &vals![
            p.id.as_str(),
            p.session_id.as_str(),
            p.name.as_str(),
            p.email.clone(),
            p.phone.clone(),
            p.consent_text.as_str(),
            now_ms
        ],
    )
    .await?;
    let channels: &[doorstep_protocol::validate::reminder::Channel] =
        if p.email.is_some() { &[doorstep_protocol::validate::reminder::Channel::Email] } else { &[] };
    super::reminders::plan_for(
        tx,
        &session,
        &format!("{}{}", super::reminders::PUBLIC_PREFIX, p.id),
        Some(Attendance::SignedUp),
        channels,
        now_ms,
    )
    .await?;
    Ok(PublicOutcome::Recorded)
}

const INSERT_SESSION: &str =
    "INSERT INTO canvass_sessions(id, campaign_id, body, start_ms, end_ms, team_id, visibility,
    cancelled, created_by, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

pub(crate) const LOCK_SESSION: &str = "UPDATE canvass_sessions SET end_ms = end_ms WHERE id = $1";

const UPDATE_SESSION: &str = "UPDATE canvass_sessions SET body = $1, visibility = $2, cancelled = $3 WHERE id = $4";

const SELECT_SESSION: &str = "SELECT body FROM canvass_sessions WHERE id = $1";

const SELECT_CAMPAIGN_SESSIONS: &str = "SELECT s.body,
    (SELECT count(*) FROM session_signups g WHERE g.session_id = s.id AND g.state = 'signed_up'),
    (SELECT count(*) FROM session_signups g WHERE g.session_id = s.id AND g.state = 'confirmed'),
    (SELECT count(*) FROM session_signups g WHERE g.session_id = s.id AND g.state = 'checked_in'),
    (SELECT count(*) FROM session_signups g WHERE g.session_id = s.id AND g.state = 'cancelled'),
    (SELECT count(*) FROM public_signups p WHERE p.session_id = s.id AND p.state = 'signed_up')
    FROM canvass_sessions s WHERE s.campaign_id = $1 AND s.end_ms > $2 ORDER BY s.start_ms, s.id";

const SELECT_STANDINGS: &str =
    "SELECT session_id, state FROM session_signups WHERE volunteer_id = $1 ORDER BY session_id";

const SELECT_STANDING: &str = "SELECT state FROM session_signups WHERE session_id = $1 AND volunteer_id = $2";

const COUNT_TAKEN_BY_OTHERS: &str = "SELECT (SELECT count(*) FROM session_signups WHERE session_id = $1
    AND volunteer_id <> $2 AND state IN ('signed_up', 'confirmed', 'checked_in'))
    + (SELECT count(*) FROM public_signups WHERE session_id = $1 AND state = 'signed_up')";

const SELECT_SIGNUP_EVENT: &str = "SELECT body_hash FROM signup_events WHERE id = $1";

const INSERT_SIGNUP_EVENT: &str = "INSERT INTO signup_events(id, session_id, volunteer_id, device_id, body_hash, state,
    received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)";

const UPSERT_STANDING: &str =
    "INSERT INTO session_signups(session_id, volunteer_id, state, updated_ms) VALUES ($1, $2, $3, $4)
    ON CONFLICT (session_id, volunteer_id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms";

const SELECT_SAME_CONTACT: &str = "SELECT count(*) FROM public_signups WHERE session_id = $1 AND state = 'signed_up'
    AND ((email IS NOT NULL AND email = $2) OR (phone IS NOT NULL AND phone = $3))";

const INSERT_PUBLIC_SIGNUP: &str =
    "INSERT INTO public_signups(id, session_id, name, email, phone, consent_text, state, created_ms)
    VALUES ($1, $2, $3, $4, $5, $6, 'signed_up', $7)";
