//! SMS providers (issue 19), written once for both backends: each campaign's provider (its secret
//! only ever sealed), delivery receipts found by the provider's id, the team inbox's states, and
//! what the campaign may be billed, per provider and day.

use super::*;

/// A campaign's provider as stored: everything in clear but the secret, which the service seals
/// before it gets here and opens after it leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRow {
    /// `twilio`, `smpp`, `ovh`.
    pub kind: String,
    /// A base URL (`https://api.twilio.com`, `https://eu.api.ovh.com/1.0`) or `host:port` (SMPP).
    pub endpoint: String,
    /// The account: Twilio's account SID, the SMPP system id, OVH's `serviceName` and application key.
    pub account: String,
    /// The sender shown on phones (a number or up to 11 letters).
    pub sender: String,
    pub sealed_secret: String,
    /// What one segment costs, in thousandths of a cent (for the expense export).
    pub price_millicents: i64,
    /// The provider answers a STOP itself: no confirmation of ours.
    pub confirms_stop: bool,
}

pub async fn provider(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Option<ProviderRow>> {
    let Some(r) = tx.row(SELECT_PROVIDER, &vals![campaign_id]).await? else { return Ok(None) };
    Ok(Some(ProviderRow {
        kind: r[0].text()?,
        endpoint: r[1].text()?,
        account: r[2].text()?,
        sender: r[3].text()?,
        sealed_secret: r[4].text()?,
        price_millicents: r[5].int()?,
        confirms_stop: r[6].int()? != 0,
    }))
}

pub async fn set_provider(tx: &mut dyn Tx, campaign_id: &str, p: &ProviderRow, now_ms: i64) -> StoreResult<()> {
    tx.exec(
        UPSERT_PROVIDER,
        &vals![
            campaign_id,
            p.kind.as_str(),
            p.endpoint.as_str(),
            p.account.as_str(),
            p.sender.as_str(),
            p.sealed_secret.as_str(),
            p.price_millicents,
            p.confirms_stop,
            now_ms
        ],
    )
    .await?;
    Ok(())
}

/// The campaigns that have a provider (those the sender works for).
pub async fn provider_campaigns(tx: &mut dyn Tx) -> StoreResult<Vec<String>> {
    tx.rows(SELECT_PROVIDER_CAMPAIGNS, &[]).await?.iter().map(|r| r[0].text()).collect()
}

/// A delivery receipt: the text the provider knows by `provider_id` was delivered or not. A text
/// whose answer was lost (`unknown`) is settled by its receipt too. Returns how many texts it
/// settled (0 for a receipt already recorded, or for a text of another campaign).
pub async fn receipt(
    tx: &mut dyn Tx,
    campaign_id: &str,
    provider: &str,
    provider_id: &str,
    delivered: bool,
    error: Option<&str>,
    now_ms: i64,
) -> StoreResult<u64> {
    let state = if delivered { "delivered" } else { "undelivered" };
    let n =
        tx.exec(RECEIPT, &vals![state, error.map(str::to_string), now_ms, campaign_id, provider, provider_id]).await?;
    if n == 0 {
        // A receipt can overtake the send's own record (a webhook posted the instant the
        // provider answered): it waits for it. A duplicate of one already applied waits forever,
        // harmlessly.
        tx.exec(INSERT_EARLY, &vals![campaign_id, provider, provider_id, state, error.map(str::to_string), now_ms])
            .await?;
    }
    Ok(n)
}

/// Applies a receipt that arrived before its text was recorded as sent (called as it is).
pub async fn apply_early_receipt(
    tx: &mut dyn Tx,
    outbox_id: &str,
    provider: &str,
    provider_id: &str,
) -> StoreResult<()> {
    let Some(c) = tx.row(SELECT_CAMPAIGN_OF, &vals![outbox_id]).await? else { return Ok(()) };
    let campaign = c[0].text()?;
    let Some(r) = tx.row(SELECT_EARLY, &vals![campaign.as_str(), provider, provider_id]).await? else { return Ok(()) };
    let (state, error, at) = (r[0].text()?, r[1].opt_text()?, r[2].int()?);
    tx.exec(RECEIPT, &vals![state, error, at, campaign.as_str(), provider, provider_id]).await?;
    tx.exec(DELETE_EARLY, &vals![campaign.as_str(), provider, provider_id]).await?;
    Ok(())
}

/// The provider's ids of texts sent since `since_ms` that have no receipt yet (for providers
/// whose receipts are fetched rather than pushed).
pub async fn awaiting_receipts(
    tx: &mut dyn Tx,
    campaign_id: &str,
    provider: &str,
    since_ms: i64,
) -> StoreResult<Vec<String>> {
    tx.rows(SELECT_AWAITING, &vals![campaign_id, provider, since_ms]).await?.iter().map(|r| r[0].text()).collect()
}

/// Sets a reply's state in the team inbox (`unread`, `needs_reply`, `handled`); a STOP stays
/// `opted_out`. Returns whether the reply exists in this campaign.
pub async fn set_inbound_state(
    tx: &mut dyn Tx,
    campaign_id: &str,
    id: &str,
    state: &str,
    by: &str,
) -> StoreResult<bool> {
    Ok(tx.exec(SET_INBOUND_STATE, &vals![state, by, campaign_id, id]).await? > 0)
}

/// One text as the expense export counts it: (provider, sent at, segments, cost, state).
pub type Billed = (String, i64, u32, Option<i64>, String);

/// Every text a provider took or perhaps took, oldest first.
pub async fn billed(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<Billed>> {
    tx.rows(SELECT_BILLED, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].int()?, r[2].int()? as u32, r[3].opt_int()?, r[4].text()?)))
        .collect()
}

/// Every delivery state per text, for the sender to read: (id, number, purpose, state, error,
/// provider, sent at), newest first.
pub type OutboxLine = (String, String, String, String, Option<String>, Option<String>, Option<i64>);

pub async fn outbox_lines(tx: &mut dyn Tx, campaign_id: &str, limit: i64) -> StoreResult<Vec<OutboxLine>> {
    tx.rows(SELECT_OUTBOX_LINES, &vals![campaign_id, limit])
        .await?
        .iter()
        .map(|r| {
            Ok((
                r[0].text()?,
                r[1].text()?,
                r[2].text()?,
                r[3].text()?,
                r[4].opt_text()?,
                r[5].opt_text()?,
                r[6].opt_int()?,
            ))
        })
        .collect()
}

/// A follow-up asked for at the door and not yet turned into a text: (report id, number, asked at).
pub async fn waiting_follow_ups(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<(String, String, i64)>> {
    tx.rows(SELECT_WAITING_FOLLOW_UPS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].text()?, r[2].int()?)))
        .collect()
}

/// A follow-up's outcome: `queued`, or `refused` with the gate's codes.
pub async fn set_follow_up(tx: &mut dyn Tx, report_id: &str, state: &str, codes: Option<&str>) -> StoreResult<()> {
    tx.exec(SET_FOLLOW_UP, &vals![state, codes.map(str::to_string), report_id]).await?;
    Ok(())
}

const SELECT_WAITING_FOLLOW_UPS: &str = "SELECT report_id, number, asked_ms FROM sms_follow_ups
     WHERE campaign_id = $1 AND state = 'waiting' ORDER BY asked_ms, report_id LIMIT 500";
const SET_FOLLOW_UP: &str = "UPDATE sms_follow_ups SET state = $1, codes = $2 WHERE report_id = $3";
const SELECT_PROVIDER: &str = "SELECT kind, endpoint, account, sender, sealed_secret, price_millicents, confirms_stop
     FROM sms_providers WHERE campaign_id = $1";
const UPSERT_PROVIDER: &str = "INSERT INTO sms_providers(campaign_id, kind, endpoint, account, sender, sealed_secret,
       price_millicents, confirms_stop, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (campaign_id) DO UPDATE SET kind = $2, endpoint = $3, account = $4, sender = $5,
       sealed_secret = $6, price_millicents = $7, confirms_stop = $8, updated_ms = $9";
const SELECT_PROVIDER_CAMPAIGNS: &str = "SELECT campaign_id FROM sms_providers ORDER BY campaign_id";
const RECEIPT: &str = "UPDATE sms_outbox SET state = $1, error = $2, receipt_ms = $3
     WHERE campaign_id = $4 AND provider = $5 AND provider_id = $6 AND state IN ('sent', 'unknown')";
const INSERT_EARLY: &str = "INSERT INTO sms_early_receipts(campaign_id, provider, provider_id, state, error, at_ms)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id, provider, provider_id) DO NOTHING";
const SELECT_CAMPAIGN_OF: &str = "SELECT campaign_id FROM sms_outbox WHERE id = $1";
const SELECT_EARLY: &str = "SELECT state, error, at_ms FROM sms_early_receipts
     WHERE campaign_id = $1 AND provider = $2 AND provider_id = $3";
const DELETE_EARLY: &str =
    "DELETE FROM sms_early_receipts WHERE campaign_id = $1 AND provider = $2 AND provider_id = $3";
const SELECT_AWAITING: &str = "SELECT provider_id FROM sms_outbox
     WHERE campaign_id = $1 AND provider = $2 AND state = 'sent' AND sent_ms >= $3 AND provider_id IS NOT NULL
     ORDER BY sent_ms LIMIT 500";
const SET_INBOUND_STATE: &str = "UPDATE sms_inbound SET state = $1, handled_by = $2
     WHERE campaign_id = $3 AND id = $4 AND state <> 'opted_out'";
const SELECT_BILLED: &str =
    "SELECT provider, COALESCE(sent_ms, claimed_ms, created_ms), segments, cost_millicents, state
     FROM sms_outbox WHERE campaign_id = $1 AND provider IS NOT NULL
       AND state IN ('sent', 'delivered', 'undelivered', 'unknown')
     ORDER BY created_ms, id";
const SELECT_OUTBOX_LINES: &str = "SELECT id, number, purpose, state, error, provider, sent_ms FROM sms_outbox
     WHERE campaign_id = $1 ORDER BY created_ms DESC, id LIMIT $2";
