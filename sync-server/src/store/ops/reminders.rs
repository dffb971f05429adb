//! Session reminders and public sign-ups (issue 17), written once for both backends. Rows are
//! planned by the rule book (`validate::reminder::plan`) in the same transaction as the sign-up
//! that calls for them; a sender claims a due row (`pending` → `sending`, one winner across
//! processes) before it sends and finishes it after.

use doorstep_protocol::validate::reminder::{self, Channel, Kind, RowState};
use doorstep_protocol::{Attendance, Session};

use super::*;

/// A person a reminder goes to: a volunteer's user id, or `pub:` and a public sign-up's id.
pub const PUBLIC_PREFIX: &str = "pub:";

/// A due reminder with the facts its decision and its message need.
#[derive(Debug, Clone, PartialEq)]
pub struct DueReminder {
    pub session: Session,
    pub person: String,
    pub kind: Kind,
    pub channel: Channel,
    pub due_ms: i64,
    pub attempts: u32,
    /// The person's standing now (a public sign-up: signed up or cancelled).
    pub standing: Option<Attendance>,
    pub name: String,
    pub email: Option<String>,
    pub state: RowState,
    /// A volunteer's number (E.164), for the SMS channel.
    pub phone: Option<String>,
}

fn existing_rows(rows: &[Row]) -> StoreResult<Vec<(Kind, Channel, RowState)>> {
    rows.iter()
        .map(|r| {
            let (k, c, s) = (r[0].text()?, r[1].text()?, r[2].text()?);
            match (Kind::from_code(&k), Channel::from_code(&c), RowState::from_code(&s)) {
                (Some(k), Some(c), Some(s)) => Ok((k, c, s)),
                _ => Err(StoreError::Corrupt(format!("reminder {k}/{c}/{s}"))),
            }
        })
        .collect()
}

/// Plans (writes or re-arms) a person's reminders for a session after their standing changed.
pub async fn plan_for(
    tx: &mut dyn Tx,
    session: &Session,
    person: &str,
    standing: Option<Attendance>,
    channels: &[Channel],
    now_ms: i64,
) -> StoreResult<usize> {
    let rows = tx.rows(SELECT_PERSON_REMINDERS, &vals![session.id.as_str(), person]).await?;
    let planned = reminder::plan(session, standing, channels, &existing_rows(&rows)?, now_ms);
    for (k, c, due) in &planned {
        tx.exec(UPSERT_REMINDER, &vals![session.id.as_str(), person, k.code(), c.code(), *due]).await?;
    }
    Ok(planned.len())
}

/// The channels that reach a volunteer: the app always, e-mail when they gave an address, a text
/// when they gave a number that consented to session reminders and never said STOP.
pub async fn volunteer_channels(tx: &mut dyn Tx, user_id: &str) -> StoreResult<Vec<Channel>> {
    let row = tx.row(SELECT_CONTACT, &vals![user_id]).await?;
    let email = row.as_ref().map(|r| r[0].opt_text()).transpose()?.flatten();
    let phone = row.as_ref().map(|r| r[1].opt_text()).transpose()?.flatten();
    let mut out = vec![Channel::App];
    if email.is_some() {
        out.push(Channel::Email);
    }
    if let Some(n) = phone
        && tx.row(SELECT_SMS_REMINDABLE, &vals![user_id, n]).await?.is_some()
    {
        out.push(Channel::Sms);
    }
    Ok(out)
}

pub async fn set_email(tx: &mut dyn Tx, user_id: &str, email: Option<&str>) -> StoreResult<()> {
    tx.exec(UPSERT_CONTACT, &vals![user_id, email.map(str::to_string)]).await?;
    Ok(())
}

/// Rows claimed longer than the claim timeout ago (their sender died) go back to pending.
pub async fn reclaim(tx: &mut dyn Tx, now_ms: i64) -> StoreResult<u64> {
    tx.exec(RECLAIM, &vals![now_ms - reminder::CLAIM_TIMEOUT_MS]).await
}

/// Pending rows of a channel due at `now_ms`, oldest first, with their facts.
pub async fn due(tx: &mut dyn Tx, channel: Channel, now_ms: i64, limit: i64) -> StoreResult<Vec<DueReminder>> {
    let rows = tx.rows(SELECT_DUE, &vals![channel.code(), now_ms, limit]).await?;
    rows.iter().map(due_from).collect()
}

fn due_from(r: &Row) -> StoreResult<DueReminder> {
    let (k, c) = (r[2].text()?, r[3].text()?);
    let standing = match r[6].opt_text()? {
        Some(s) => Some(Attendance::from_code(&s).ok_or_else(|| StoreError::Corrupt(format!("standing {s}")))?),
        None => None,
    };
    Ok(DueReminder {
        session: parse("session", &r[0].text()?)?,
        person: r[1].text()?,
        kind: Kind::from_code(&k).ok_or_else(|| StoreError::Corrupt(format!("kind {k}")))?,
        channel: Channel::from_code(&c).ok_or_else(|| StoreError::Corrupt(format!("channel {c}")))?,
        due_ms: r[4].int()?,
        attempts: r[5].int()? as u32,
        standing,
        name: r[7].opt_text()?.unwrap_or_default(),
        email: r[8].opt_text()?,
        state: {
            let s = r[9].text()?;
            RowState::from_code(&s).ok_or_else(|| StoreError::Corrupt(format!("reminder state {s}")))?
        },
        phone: r[10].opt_text()?,
    })
}

/// Claims a pending row for sending: true for exactly one caller.
pub async fn claim(tx: &mut dyn Tx, r: &DueReminder, now_ms: i64) -> StoreResult<bool> {
    Ok(tx
        .exec(CLAIM, &vals![now_ms, r.session.id.as_str(), r.person.as_str(), r.kind.code(), r.channel.code()])
        .await?
        == 1)
}

/// Moves a row on: sent, dropped (with its reason), or after a failure pending again or failed.
pub async fn finish(
    tx: &mut dyn Tx,
    r: &DueReminder,
    state: RowState,
    due_ms: i64,
    error: Option<&str>,
    now_ms: i64,
) -> StoreResult<()> {
    let sent = (state == RowState::Sent).then_some(now_ms);
    let attempts =
        i64::from(r.attempts) + i64::from(matches!(state, RowState::Sent | RowState::Pending | RowState::Failed));
    tx.exec(
        FINISH,
        &vals![
            state.code(),
            due_ms,
            attempts,
            sent,
            error.map(str::to_string),
            r.session.id.as_str(),
            r.person.as_str(),
            r.kind.code(),
            r.channel.code()
        ],
    )
    .await?;
    Ok(())
}

/// A volunteer's in-app reminders due by `now_ms` for sessions not over, with their facts.
pub async fn app_reminders(tx: &mut dyn Tx, volunteer_id: &str, now_ms: i64) -> StoreResult<Vec<DueReminder>> {
    let rows = tx.rows(SELECT_APP, &vals![volunteer_id, now_ms]).await?;
    rows.iter().map(due_from).collect()
}

/// Every reminder row of a session: `(person, kind, channel, state)` (the dashboard's counts, tests).
pub async fn session_reminders(
    tx: &mut dyn Tx,
    session_id: &str,
) -> StoreResult<Vec<(String, String, String, String)>> {
    tx.rows(SELECT_SESSION_REMINDERS, &vals![session_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].text()?, r[2].text()?, r[3].text()?)))
        .collect()
}

/// A campaign's public sign-ups and contacts erased, its reminders dropped (retention).
pub async fn purge(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<u64> {
    tx.exec(DROP_CAMPAIGN_REMINDERS, &vals![campaign_id]).await?;
    let n = tx.exec(DELETE_PUBLIC_SIGNUPS, &vals![campaign_id]).await?;
    tx.exec(DELETE_CONTACTS, &vals![campaign_id]).await?;
    Ok(n)
}

const SELECT_PERSON_REMINDERS: &str =
    "SELECT kind, channel, state FROM reminders WHERE session_id = $1 AND person = $2 ORDER BY kind, channel";

const UPSERT_REMINDER: &str =
    "INSERT INTO reminders(session_id, person, kind, channel, due_ms, state, attempts) VALUES ($1, $2, $3, $4, $5, 'pending', 0)
    ON CONFLICT (session_id, person, kind, channel) DO UPDATE SET due_ms = excluded.due_ms, state = 'pending',
    attempts = 0, claimed_ms = NULL, error = NULL WHERE reminders.state = 'dropped'";

const SELECT_CONTACT: &str = "SELECT email, phone FROM user_contacts WHERE user_id = $1";
const SELECT_SMS_REMINDABLE: &str = "SELECT 1 FROM users u JOIN sms_consents k ON k.campaign_id = u.campaign_id
     WHERE u.id = $1 AND k.number = $2 AND k.purpose = 'session_reminder'
       AND NOT EXISTS (SELECT 1 FROM sms_optouts o WHERE o.campaign_id = u.campaign_id AND o.number = $2)";

const UPSERT_CONTACT: &str = "INSERT INTO user_contacts(user_id, email) VALUES ($1, $2)
    ON CONFLICT (user_id) DO UPDATE SET email = excluded.email";

const RECLAIM: &str =
    "UPDATE reminders SET state = 'pending', claimed_ms = NULL WHERE state = 'sending' AND claimed_ms < $1";

/// A due row with its session, and its person's standing, name and address: a volunteer's from
/// their sign-up, user and contact rows, a public sign-up's from its own row.
macro_rules! due_columns {
    () => {
        "SELECT s.body, r.person, r.kind, r.channel, r.due_ms, r.attempts,
    COALESCE(g.state, p.state), COALESCE(u.display_name, p.name), COALESCE(c.email, p.email), r.state, c.phone
    FROM reminders r JOIN canvass_sessions s ON s.id = r.session_id
    LEFT JOIN session_signups g ON g.session_id = r.session_id AND g.volunteer_id = r.person
    LEFT JOIN users u ON u.id = r.person
    LEFT JOIN user_contacts c ON c.user_id = r.person
    LEFT JOIN public_signups p ON 'pub:' || p.id = r.person"
    };
}

const SELECT_DUE: &str = concat!(
    due_columns!(),
    " WHERE r.state = 'pending' AND r.channel = $1 AND r.due_ms <= $2 ORDER BY r.due_ms, r.session_id, r.person LIMIT $3"
);

const SELECT_APP: &str = concat!(
    due_columns!(),
    " WHERE r.person = $1 AND r.channel = 'app' AND r.state IN ('pending', 'sent') AND r.due_ms <= $2
    AND s.end_ms > $2 ORDER BY r.due_ms, r.session_id, r.kind"
);

const CLAIM: &str = "UPDATE reminders SET state = 'sending', claimed_ms = $1
    WHERE session_id = $2 AND person = $3 AND kind = $4 AND channel = $5 AND state = 'pending'";

const FINISH: &str = "UPDATE reminders SET state = $1, due_ms = $2, attempts = $3, sent_ms = $4, error = $5,
    claimed_ms = NULL WHERE session_id = $6 AND person = $7 AND kind = $8 AND channel = $9";

const SELECT_SESSION_REMINDERS: &str =
    "SELECT person, kind, channel, state FROM reminders WHERE session_id = $1 ORDER BY person, kind, channel";

const DROP_CAMPAIGN_REMINDERS: &str = "UPDATE reminders SET state = 'dropped', error = 'retention'
    WHERE state IN ('pending', 'sending') AND session_id IN (SELECT id FROM canvass_sessions WHERE campaign_id = $1)";

const DELETE_PUBLIC_SIGNUPS: &str =
    "DELETE FROM public_signups WHERE session_id IN (SELECT id FROM canvass_sessions WHERE campaign_id = $1)";

const DELETE_CONTACTS: &str =
    "DELETE FROM user_contacts WHERE user_id IN (SELECT id FROM users WHERE campaign_id = $1)";
