//! SMS (issue 19), written once for both backends: a campaign's settings, consents and the
//! opt-out list, the facts the compliance gate (`validate::sms::gate`) needs per recipient, the
//! outbox (a text queued once under its idempotency key), replies (a STOP opts out in the same
//! transaction it is recorded in) and the gate's refusals.

use doorstep_protocol::validate::sms::{Day, SmsPurpose};

use super::*;

/// A campaign's SMS settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// How the campaign's texts are signed ("Équipe Martin 2026"): every text must name it.
    pub sender_name: String,
    /// Polling days: no text from midnight on the eve until the polls close (art. L49).
    pub election_days: Vec<Day>,
    /// Most segments a text may take.
    pub max_segments: u32,
    /// The words of the follow-up text a voter asks for at the door (issue 19): sent after
    /// "{sender_name} : suite à notre passage à votre porte le {date}." Without them, follow-ups
    /// wait. They must offer STOP.
    #[serde(default)]
    pub follow_up_body: Option<String>,
}

/// Someone an audience reaches: a volunteer (`user_id`) or a public sign-up (`None`), with a
/// number if they gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: Option<String>,
    pub name: String,
    pub number: Option<String>,
}

/// A reply received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct InboundRow {
    pub id: String,
    pub number: String,
    pub body: String,
    pub received_ms: i64,
    /// `unread`, `needs_reply`, `handled`, or `opted_out` (a STOP, handled by itself).
    pub state: String,
}

/// What queueing a text did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    New,
    /// The same idempotency key was queued before: nothing more.
    Already,
}

pub fn purpose_code(p: SmsPurpose) -> &'static str {
    match p {
        SmsPurpose::SessionReminder => "session_reminder",
        SmsPurpose::TeamNews => "team_news",
        SmsPurpose::DoorFollowUp => "door_follow_up",
        SmsPurpose::StopConfirmation => "stop_confirmation",
    }
}

fn purpose_from(code: &str) -> Option<SmsPurpose> {
    [SmsPurpose::SessionReminder, SmsPurpose::TeamNews, SmsPurpose::DoorFollowUp, SmsPurpose::StopConfirmation]
        .into_iter()
        .find(|p| purpose_code(*p) == code)
}

pub async fn settings(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Option<SmsSettings>> {
    let Some(r) = tx.row(SELECT_SETTINGS, &vals![campaign_id]).await? else { return Ok(None) };
    Ok(Some(SmsSettings {
        sender_name: r[0].text()?,
        election_days: parse("election days", &r[1].text()?)?,
        max_segments: r[2].int()? as u32,
        follow_up_body: r[3].opt_text()?,
    }))
}

pub async fn set_settings(tx: &mut dyn Tx, campaign_id: &str, s: &SmsSettings, now_ms: i64) -> StoreResult<()> {
    let days = json(&s.election_days);
    let v =
        vals![campaign_id, s.sender_name.as_str(), days, i64::from(s.max_segments), now_ms, s.follow_up_body.clone()];
    tx.exec(UPSERT_SETTINGS, &v).await?;
    Ok(())
}

/// Sets a volunteer's number (E.164, already normalised), or removes it.
pub async fn set_phone(tx: &mut dyn Tx, user_id: &str, number: Option<&str>) -> StoreResult<()> {
    tx.exec(UPSERT_PHONE, &vals![user_id, number.map(str::to_string)]).await?;
    Ok(())
}

/// Records a consent (the text the person agreed to, where it was given). An opt-out stands:
/// a consent recorded after it does not lift it.
pub async fn record_consent(
    tx: &mut dyn Tx,
    campaign_id: &str,
    number: &str,
    purpose: SmsPurpose,
    text: &str,
    source: &str,
    now_ms: i64,
) -> StoreResult<()> {
    tx.exec(UPSERT_CONSENT, &vals![campaign_id, number, purpose_code(purpose), text, source, now_ms]).await?;
    Ok(())
}

/// Puts a number on the campaign's opt-out list; `true` if it was not on it yet.
pub async fn opt_out(tx: &mut dyn Tx, campaign_id: &str, number: &str, source: &str, now_ms: i64) -> StoreResult<bool> {
    Ok(tx.exec(INSERT_OPTOUT, &vals![campaign_id, number, source, now_ms]).await? > 0)
}

/// What the gate needs about a number: its consents, and whether it opted out.
pub async fn number_facts(tx: &mut dyn Tx, campaign_id: &str, number: &str) -> StoreResult<(Vec<SmsPurpose>, bool)> {
    let consents = tx
        .rows(SELECT_CONSENTS, &vals![campaign_id, number])
        .await?
        .iter()
        .filter_map(|r| r[0].text().ok().and_then(|c| purpose_from(&c)))
        .collect();
    let out = tx.row(SELECT_OPTOUT, &vals![campaign_id, number]).await?.is_some();
    Ok((consents, out))
}

/// The opt-out list, newest first.
pub async fn optouts(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<(String, String, i64)>> {
    tx.rows(SELECT_OPTOUTS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].text()?, r[2].int()?)))
        .collect()
}

/// A team's volunteers, or a session's sign-ups (volunteers signed up, confirmed or checked in,
/// and the public page's sign-ups), with their numbers.
pub async fn audience(
    tx: &mut dyn Tx,
    campaign_id: &str,
    team: Option<&str>,
    session: Option<&str>,
) -> StoreResult<Vec<Recipient>> {
    let mut out = Vec::new();
    let rows = match (team, session) {
        (Some(t), _) => tx.rows(SELECT_TEAM_PHONES, &vals![campaign_id, t]).await?,
        (None, Some(s)) => tx.rows(SELECT_SESSION_PHONES, &vals![campaign_id, s]).await?,
        (None, None) => Vec::new(),
    };
    for r in rows {
        out.push(Recipient { user_id: r[0].opt_text()?, name: r[1].text()?, number: r[2].opt_text()? });
    }
    if let Some(s) = session {
        for r in tx.rows(SELECT_PUBLIC_PHONES, &vals![s]).await? {
            let number = r[1].opt_text()?.and_then(|n| doorstep_protocol::validate::sms::normalise_number(&n));
            out.push(Recipient { user_id: None, name: r[0].text()?, number });
        }
    }
    Ok(out)
}

/// Queues a text under its idempotency key, once.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue(
    tx: &mut dyn Tx,
    id: &str,
    campaign_id: &str,
    number: &str,
    purpose: SmsPurpose,
    body: &str,
    segments: u32,
    encoding: &str,
    actor: &str,
    now_ms: i64,
) -> StoreResult<Queued> {
    let n = tx
        .exec(
            INSERT_OUTBOX,
            &vals![id, campaign_id, number, purpose_code(purpose), body, i64::from(segments), encoding, actor, now_ms],
        )
        .await?;
    Ok(if n > 0 { Queued::New } else { Queued::Already })
}

/// Logs a refusal of the gate with its reasons.
#[allow(clippy::too_many_arguments)]
pub async fn record_refusal(
    tx: &mut dyn Tx,
    id: &str,
    campaign_id: &str,
    number: &str,
    purpose: SmsPurpose,
    codes: &[&str],
    actor: &str,
    now_ms: i64,
) -> StoreResult<()> {
    tx.exec(INSERT_REFUSAL, &vals![id, campaign_id, number, purpose_code(purpose), codes.join(","), actor, now_ms])
        .await?;
    Ok(())
}

/// Records a reply once (by the provider's id); a reply that is only a stop word opts the number
/// out in the same transaction. Returns (new reply, newly opted out).
#[allow(clippy::too_many_arguments)]
pub async fn record_inbound(
    tx: &mut dyn Tx,
    id: &str,
    campaign_id: &str,
    number: &str,
    body: &str,
    stop: bool,
    provider: &str,
    now_ms: i64,
) -> StoreResult<(bool, bool)> {
    let state = if stop { "opted_out" } else { "unread" };
    let new = tx.exec(INSERT_INBOUND, &vals![id, campaign_id, number, body, now_ms, state, stop, provider]).await? > 0;
    let opted = new && stop && opt_out(tx, campaign_id, number, "stop", now_ms).await?;
    Ok((new, opted))
}

/// The replies, newest first.
pub async fn inbox(tx: &mut dyn Tx, campaign_id: &str, limit: i64) -> StoreResult<Vec<InboundRow>> {
    tx.rows(SELECT_INBOX, &vals![campaign_id, limit])
        .await?
        .iter()
        .map(|r| {
            Ok(InboundRow {
                id: r[0].text()?,
                number: r[1].text()?,
                body: r[2].text()?,
                received_ms: r[3].int()?,
                state: r[4].text()?,
            })
        })
        .collect()
}

/// The texts queued, as (id, number, purpose, state, segments).
pub async fn outbox(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<(String, String, String, String, u32)>> {
    tx.rows(SELECT_OUTBOX, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].text()?, r[2].text()?, r[3].text()?, r[4].int()? as u32)))
        .collect()
}

/// A queued text, claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: String,
    pub campaign_id: String,
    pub number: String,
    pub purpose: SmsPurpose,
    pub body: String,
    pub attempts: u32,
}

/// Claims up to `limit` pending texts (oldest first): `pending` → `sending`, one winner per row
/// across processes.
pub async fn claim_due(tx: &mut dyn Tx, campaign_id: &str, limit: i64, now_ms: i64) -> StoreResult<Vec<OutboxRow>> {
    let mut out = Vec::new();
    for r in tx.rows(SELECT_PENDING, &vals![campaign_id, limit]).await? {
        let id = r[0].text()?;
        if tx.exec(CLAIM_TEXT, &vals![now_ms, id.as_str()]).await? == 0 {
            continue;
        }
        let purpose = purpose_from(&r[3].text()?).ok_or_else(|| StoreError::Corrupt(format!("sms purpose of {id}")))?;
        out.push(OutboxRow {
            id,
            campaign_id: r[1].text()?,
            number: r[2].text()?,
            purpose,
            body: r[4].text()?,
            attempts: r[5].int()? as u32,
        });
    }
    Ok(out)
}

/// Ends a claimed text: `sent` (with the provider's id), `failed`, `refused` (by the gate at
/// send time), `unknown` (perhaps sent: never again by itself), or back to `pending` (certainly
/// not sent, or not its hour yet).
#[allow(clippy::too_many_arguments)]
pub async fn finish_text(
    tx: &mut dyn Tx,
    id: &str,
    state: &str,
    provider: Option<&str>,
    provider_id: Option<&str>,
    error: Option<&str>,
    price_millicents: Option<i64>,
    now_ms: i64,
) -> StoreResult<()> {
    let sent = matches!(state, "sent" | "unknown").then_some(now_ms);
    // What the provider may bill: a text it took (sent), or perhaps took (unknown), per segment.
    let price = price_millicents.filter(|_| matches!(state, "sent" | "unknown"));
    tx.exec(
        FINISH_TEXT,
        &vals![
            state,
            provider.map(str::to_string),
            provider_id.map(str::to_string),
            error.map(str::to_string),
            sent,
            price,
            id
        ],
    )
    .await?;
    if let (Some(p), Some(pid), "sent") = (provider, provider_id, state) {
        super::sms_providers::apply_early_receipt(tx, id, p, pid).await?;
    }
    Ok(())
}

/// Texts claimed longer ago than `before_ms` whose sender died mid-send: perhaps sent, so
/// `unknown` — never back to pending.
pub async fn reclaim_stale(tx: &mut dyn Tx, before_ms: i64) -> StoreResult<u64> {
    tx.exec(STALE_TO_UNKNOWN, &vals![before_ms]).await
}

const SELECT_PENDING: &str = "SELECT id, campaign_id, number, purpose, body, attempts FROM sms_outbox
     WHERE campaign_id = $1 AND state = 'pending' ORDER BY created_ms, id LIMIT $2";
const CLAIM_TEXT: &str = "UPDATE sms_outbox SET state = 'sending', claimed_ms = $1, attempts = attempts + 1 WHERE id = $2 AND state = 'pending'";
const FINISH_TEXT: &str = "UPDATE sms_outbox SET state = $1, provider = $2, provider_id = $3, error = $4, sent_ms = $5,
       cost_millicents = segments * $6, claimed_ms = NULL WHERE id = $7 AND state = 'sending'";
const STALE_TO_UNKNOWN: &str =
    "UPDATE sms_outbox SET state = 'unknown', error = 'the sender stopped mid-send', claimed_ms = NULL
     WHERE state = 'sending' AND claimed_ms < $1";
const SELECT_SETTINGS: &str =
    "SELECT sender_name, election_days, max_segments, follow_up_body FROM sms_settings WHERE campaign_id = $1";
const UPSERT_SETTINGS: &str =
    "INSERT INTO sms_settings(campaign_id, sender_name, election_days, max_segments, updated_ms, follow_up_body)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id) DO UPDATE
     SET sender_name = $2, election_days = $3, max_segments = $4, updated_ms = $5, follow_up_body = $6";
const UPSERT_PHONE: &str =
    "INSERT INTO user_contacts(user_id, phone) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET phone = $2";
const UPSERT_CONSENT: &str = "INSERT INTO sms_consents(campaign_id, number, purpose, consent_text, source, given_ms)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id, number, purpose) DO UPDATE
     SET consent_text = $4, source = $5, given_ms = $6";
const INSERT_OPTOUT: &str = "INSERT INTO sms_optouts(campaign_id, number, source, at_ms) VALUES ($1, $2, $3, $4)
     ON CONFLICT (campaign_id, number) DO NOTHING";
const SELECT_CONSENTS: &str = "SELECT purpose FROM sms_consents WHERE campaign_id = $1 AND number = $2";
const SELECT_OPTOUT: &str = "SELECT 1 FROM sms_optouts WHERE campaign_id = $1 AND number = $2";
const SELECT_OPTOUTS: &str =
    "SELECT number, source, at_ms FROM sms_optouts WHERE campaign_id = $1 ORDER BY at_ms DESC, number";
const SELECT_TEAM_PHONES: &str = "SELECT u.id, u.display_name, c.phone FROM users u
     LEFT JOIN user_contacts c ON c.user_id = u.id
     WHERE u.campaign_id = $1 AND u.team_id = $2 AND u.deleted_ms IS NULL ORDER BY u.display_name, u.id";
const SELECT_SESSION_PHONES: &str = "SELECT u.id, u.display_name, c.phone FROM session_signups s
     JOIN users u ON u.id = s.volunteer_id LEFT JOIN user_contacts c ON c.user_id = u.id
     WHERE u.campaign_id = $1 AND s.session_id = $2 AND s.state IN ('signed_up', 'confirmed', 'checked_in')
       AND u.deleted_ms IS NULL ORDER BY u.display_name, u.id";
const SELECT_PUBLIC_PHONES: &str =
    "SELECT name, phone FROM public_signups WHERE session_id = $1 AND state = 'signed_up' ORDER BY created_ms, id";
const INSERT_OUTBOX: &str = "INSERT INTO sms_outbox(id, campaign_id, number, purpose, body, state, segments, encoding,
       created_by, created_ms, attempts) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, 0)
     ON CONFLICT (id) DO NOTHING";
const INSERT_REFUSAL: &str = "INSERT INTO sms_refusals(id, campaign_id, number, purpose, codes, actor, at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";
const INSERT_INBOUND: &str =
    "INSERT INTO sms_inbound(id, campaign_id, number, body, received_ms, state, stop, provider)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";
const SELECT_INBOX: &str = "SELECT id, number, body, received_ms, state FROM sms_inbound WHERE campaign_id = $1
     ORDER BY received_ms DESC, id LIMIT $2";
const SELECT_OUTBOX: &str =
    "SELECT id, number, purpose, state, segments FROM sms_outbox WHERE campaign_id = $1 ORDER BY created_ms, id";
