//! The sync engine: push the outbox, then pull, over a [`Transport`]. [`http::HttpTransport`]
//! speaks HTTP (reqwest, rustls with ring); tests plug in simulated networks that drop, duplicate
//! or cut messages. Merge decisions never happen here: the server decides, the store applies its
//! answers. A failed attempt leaves everything pending and is retried with backoff, with no new
//! local write needed.

pub mod http;

use std::future::Future;
use std::time::Duration;

use doorstep_protocol::{PROTOCOL_VERSION, PullRequest, PullResponse, PushRequest, PushResponse};

use crate::error::{CoreError, Result};
use crate::store::{PullSummary, Store};
use crate::views::AckSummary;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Nothing is known about whether the server got the message: retry later, same ids.
    #[error("network unavailable: {0}")]
    Unavailable(String),
    /// The server refused the request as a whole (bad token, unsupported version): retrying the
    /// same request will not help.
    #[error("refused by the server: {0}")]
    Refused(String),
    /// The server is busy (503 with `Retry-After`) or limiting this device (429): retry, not
    /// before `retry_after`.
    #[error("server busy, retry in {retry_after:?}: {message}")]
    Busy { retry_after: Duration, message: String },
}

/// The shells' retry schedule, one for both (the platform's scheduler runs the sync, the core says
/// when): after the first failure in a row, wait this long…
pub const BACKOFF_BASE_MS: u64 = 30_000;
/// …doubling with each failure, up to this…
pub const BACKOFF_MAX_MS: u64 = 30 * 60_000;
/// …and never less than this while the battery is low.
pub const BACKOFF_LOW_BATTERY_MS: u64 = 15 * 60_000;

/// How long a shell waits before its next automatic sync after `failures` failures in a row (a
/// server's `Retry-After` may ask for longer: the shell takes the larger).
pub fn backoff_ms(failures: u32, battery_low: bool) -> u64 {
    let base = (BACKOFF_BASE_MS << failures.saturating_sub(1).min(16)).min(BACKOFF_MAX_MS);
    if battery_low { base.max(BACKOFF_LOW_BATTERY_MS) } else { base }
}

/// The longest wait a server's `Retry-After` may impose on one sync.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

pub trait Transport: Send + Sync {
    fn push(
        &self,
        request: &PushRequest,
    ) -> impl Future<Output = std::result::Result<PushResponse, TransportError>> + Send;
    fn pull(
        &self,
        request: &PullRequest,
    ) -> impl Future<Output = std::result::Result<PullResponse, TransportError>> + Send;
    /// Tells the server this revoked device has wiped itself, so that its token dies now rather
    /// than at the end of the grace period. Transports that cannot say it do nothing.
    fn ack_wipe(&self) -> impl Future<Output = std::result::Result<(), TransportError>> + Send {
        async { Ok(()) }
    }
    /// Pushes the hand-offs this phone gave or received (issue 17). Transports that cannot carry
    /// them refuse (the sync only calls this when some are pending).
    fn push_handoffs(
        &self,
        _request: &doorstep_protocol::HandoffPush,
    ) -> impl Future<Output = std::result::Result<PushResponse, TransportError>> + Send {
        async { Err(TransportError::Refused("this transport carries no hand-offs".into())) }
    }
    /// Pushes the volunteer's sign-up events. Transports that cannot carry them refuse (the sync
    /// only calls this when some are pending).
    fn push_signups(
        &self,
        _request: &doorstep_protocol::SignupPush,
    ) -> impl Future<Output = std::result::Result<PushResponse, TransportError>> + Send {
        async { Err(TransportError::Refused("this transport carries no sign-ups".into())) }
    }
    /// The sessions this phone may see, when the transport can fetch them.
    fn sessions(
        &self,
    ) -> impl Future<Output = std::result::Result<Option<Vec<crate::store::sessions::ListedSession>>, TransportError>> + Send
    {
        async { Ok(None) }
    }
    /// The volunteer's due session reminders, when the transport can fetch them.
    fn reminders(
        &self,
    ) -> impl Future<Output = std::result::Result<Option<Vec<doorstep_protocol::AppReminder>>, TransportError>> + Send
    {
        async { Ok(None) }
    }
    /// Pushes the person's message events. Transports that cannot carry them refuse (the sync
    /// only calls this when some are pending).
    fn push_messages(
        &self,
        _request: &doorstep_protocol::MessagePush,
    ) -> impl Future<Output = std::result::Result<PushResponse, TransportError>> + Send {
        async { Err(TransportError::Refused("this transport carries no messages".into())) }
    }
    /// The person's channels and the messages after what the phone holds, when the transport can
    /// fetch them.
    fn message_feed(
        &self,
        _request: &doorstep_protocol::MessageSince,
    ) -> impl Future<Output = std::result::Result<Option<doorstep_protocol::MessageFeed>, TransportError>> + Send {
        async { Ok(None) }
    }
    /// Pushes the person's people events (page settings, coopain steps).
    fn push_people(
        &self,
        _request: &doorstep_protocol::PeoplePush,
    ) -> impl Future<Output = std::result::Result<PushResponse, TransportError>> + Send {
        async { Err(TransportError::Refused("this transport carries no people events".into())) }
    }
    /// The person's page, coopains and team, when the transport can fetch them.
    fn people_view(
        &self,
    ) -> impl Future<Output = std::result::Result<Option<doorstep_protocol::PeopleView>, TransportError>> + Send {
        async { Ok(None) }
    }
    /// The campaign's public key, when the transport can fetch it.
    fn campaign_key(&self) -> impl Future<Output = std::result::Result<Option<String>, TransportError>> + Send {
        async { Ok(None) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_schedule() {
        let cases: &[(u32, bool, u64)] = &[
            (0, false, 30_000),
            (1, false, 30_000),
            (2, false, 60_000),
            (3, false, 120_000),
            (7, false, 30 * 60_000),
            (40, false, 30 * 60_000),
            (u32::MAX, false, 30 * 60_000),
            (1, true, 15 * 60_000),
            (7, true, 30 * 60_000),
        ];
        for (failures, low, want) in cases {
            assert_eq!(backoff_ms(*failures, *low), *want, "{failures} failures, battery low {low}");
        }
    }
}

/// Outcome of one [`push_outbox`] run.
#[derive(Debug, Default)]
pub struct PushRun {
    pub batches: u32,
    pub ack: AckSummary,
    /// Set when the run stopped on a network error; the reports stay pending.
    pub stopped_by: Option<TransportError>,
}

/// Pushes the outbox in batches of `batch` until it is empty or the network fails. Safe to call
/// again at any time: reports keep their ids, so a replay is answered "duplicate", never doubled.
/// `on_batch` is told how many reports are still pending after each acknowledged batch.
pub async fn push_outbox<T: Transport>(
    store: &Store,
    transport: &T,
    batch: u32,
    mut on_batch: impl FnMut(u32),
) -> Result<PushRun> {
    let mut run = PushRun {
        batches: 0,
        ack: AckSummary { accepted: 0, duplicate: 0, rejected: 0, ignored: 0 },
        stopped_by: None,
    };
    loop {
        let req = store.export_pending_batch(batch)?;
        if req.reports.is_empty() {
            break;
        }
        match transport.push(&req).await {
            Ok(resp) => {
                let a = store.apply_push_response(&resp)?;
                run.batches += 1;
                run.ack.accepted += a.accepted;
                run.ack.duplicate += a.duplicate;
                run.ack.rejected += a.rejected;
                run.ack.ignored += a.ignored;
                if a.accepted + a.duplicate + a.rejected == 0 {
                    return Err(CoreError::BadMessage("the server answered for none of the pushed reports".into()));
                }
                on_batch(store.pending_count()?);
            }
            Err(e) => {
                run.stopped_by = Some(e);
                break;
            }
        }
    }
    Ok(run)
}

/// Where a sync is, for the app's progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncPhase {
    Pushing,
    Pulling,
    /// Waiting before a retry after a network failure.
    Waiting,
    Done,
}

/// Progress reports during a sync.
pub trait SyncProgress: Send + Sync {
    fn on_progress(&self, phase: SyncPhase, pending: u32, attempt: u32);
}

impl SyncProgress for () {
    fn on_progress(&self, _: SyncPhase, _: u32, _: u32) {}
}

/// How long and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { first_delay: Duration::from_millis(250), max_delay: Duration::from_secs(30), max_attempts: 8 }
    }
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    pub attempts: u32,
    pub accepted: u32,
    pub duplicate: u32,
    pub rejected: u32,
    pub pull: PullSummary,
    pub pending_after: u32,
    /// Team messages this sync brought (new, or this phone's own now placed by the server).
    pub messages_received: u32,
}

/// Pushes the outbox then pulls, once. Errors from the network come back as `Err(TransportError)`
/// inside `Ok`, so the caller can tell them from local failures.
pub async fn sync_once<T: Transport>(
    store: &Store,
    transport: &T,
    progress: &dyn SyncProgress,
    attempt: u32,
    report: &mut SyncReport,
) -> Result<std::result::Result<(), TransportError>> {
    progress.on_progress(SyncPhase::Pushing, store.pending_count()?, attempt);
    // Leases first: the knocks made under a lease handed offline are judged by it.
    let leases = store.export_pending_handoffs()?;
    if !leases.handoffs.is_empty() {
        match transport.push_handoffs(&leases).await {
            Ok(resp) => {
                store.apply_handoff_response(&resp)?;
            }
            Err(e) => return Ok(Err(e)),
        }
    }
    let signups = store.export_pending_signups()?;
    if !signups.events.is_empty() {
        match transport.push_signups(&signups).await {
            Ok(resp) => {
                store.apply_signup_response(&resp)?;
            }
            Err(e) => return Ok(Err(e)),
        }
    }
    // Team messages, in batches of 200 until none is waiting (a batch the server answers nothing
    // for would loop: stop then, and try again next time).
    loop {
        let messages = store.export_pending_messages()?;
        if messages.events.is_empty() {
            break;
        }
        match transport.push_messages(&messages).await {
            Ok(resp) => {
                if store.apply_message_response(&resp)? == 0 {
                    break;
                }
            }
            Err(e) => return Ok(Err(e)),
        }
    }
    let people = store.export_pending_people()?;
    if !people.events.is_empty() {
        match transport.push_people(&people).await {
            Ok(resp) => {
                store.apply_people_response(&resp)?;
            }
            Err(e) => return Ok(Err(e)),
        }
    }
    let run = push_outbox(store, transport, 200, |pending| progress.on_progress(SyncPhase::Pushing, pending, attempt))
        .await?;
    report.accepted += run.ack.accepted;
    report.duplicate += run.ack.duplicate;
    report.rejected += run.ack.rejected;
    if let Some(e) = run.stopped_by {
        return Ok(Err(e));
    }
    progress.on_progress(SyncPhase::Pulling, store.pending_count()?, attempt);
    let req = PullRequest { protocol: PROTOCOL_VERSION, cursor: store.pull_cursor()?, held: store.held_turfs()? };
    let resp = match transport.pull(&req).await {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    report.pull = store.apply_pull(&resp)?;
    // The sessions it may see, with the standings its events gave (a failure here is no failure
    // of the sync: the list is refreshed next time).
    if !report.pull.wiped
        && let Ok(Some(listed)) = transport.sessions().await
    {
        store.apply_sessions(&listed)?;
        // …and the reminders due for them (each shown once, however often served).
        if let Ok(Some(served)) = transport.reminders().await {
            store.apply_reminders(&served)?;
        }
    }
    // The team's messages after what the phone holds, a few pages at most per sync (a failure
    // here is no failure of the sync: they come next time).
    if !report.pull.wiped {
        for _ in 0..5 {
            match transport.message_feed(&store.message_since()?).await {
                Ok(Some(feed)) => {
                    report.messages_received += store.apply_feed(&feed)?;
                    if !feed.more {
                        break;
                    }
                }
                _ => break,
            }
        }
    }
    // The person's page, coopains and team (refreshed next time if this fails).
    if !report.pull.wiped
        && let Ok(Some(v)) = transport.people_view().await
    {
        store.apply_people_view(&v)?;
    }
    // The campaign's key, once: what lets this phone take a lease with no network later.
    if !report.pull.wiped
        && store.campaign_key()?.is_none()
        && let Ok(Some(key)) = transport.campaign_key().await
    {
        store.set_campaign_key(&key)?;
    }
    // Wiped with nothing left unacknowledged: the token may die now. If this is lost, the
    // server's grace period ends it anyway.
    if report.pull.wiped && report.pull.reports_kept_pending == 0 {
        let _ = transport.ack_wipe().await;
    }
    Ok(Ok(()))
}

/// One `sync()`: push then pull, retrying network failures with exponential backoff (doubling,
/// capped, with ±25 % jitter) up to the policy's attempts. A refusal by the server is not retried.
pub async fn sync<T: Transport>(
    store: &Store,
    transport: &T,
    policy: RetryPolicy,
    progress: &dyn SyncProgress,
) -> Result<std::result::Result<SyncReport, TransportError>> {
    let mut report = SyncReport::default();
    let mut delay = policy.first_delay;
    let mut attempt = 0;
    loop {
        attempt += 1;
        report.attempts = attempt;
        match sync_once(store, transport, progress, attempt, &mut report).await? {
            Ok(()) => break,
            Err(TransportError::Refused(m)) => return Ok(Err(TransportError::Refused(m))),
            Err(e) if attempt >= policy.max_attempts => return Ok(Err(e)),
            Err(e) => {
                progress.on_progress(SyncPhase::Waiting, store.pending_count()?, attempt);
                let jitter = 0.75 + 0.5 * (uuid::Uuid::now_v7().as_u128() % 1000) as f64 / 1000.0;
                // A busy server says how long to wait: never less than that, and up to half as
                // long again, so that the phones it told the same wait do not come back together.
                let floor = match &e {
                    TransportError::Busy { retry_after, .. } => {
                        (*retry_after).min(MAX_RETRY_AFTER).mul_f64(jitter + 0.25)
                    }
                    _ => Duration::ZERO,
                };
                tokio::time::sleep(delay.mul_f64(jitter).max(floor)).await;
                delay = (delay * 2).min(policy.max_delay);
            }
        }
    }
    report.pending_after = store.pending_count()?;
    progress.on_progress(SyncPhase::Done, report.pending_after, attempt);
    Ok(Ok(report))
}

/// What joining a campaign gave this device. The shell keeps the token in the platform keystore.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct JoinInfo {
    pub token: String,
    pub volunteer_id: String,
    pub campaign_id: String,
    pub expires_ms: i64,
}

/// Redeems a one-time join code at `base` for this device.
pub async fn join(store: &Store, base: &str, code: &str) -> std::result::Result<JoinInfo, TransportError> {
    let r = http::HttpTransport::new(base, None)?
        .join(&doorstep_protocol::JoinRequest {
            protocol: PROTOCOL_VERSION,
            code: code.to_string(),
            device_id: store.device_id().to_string(),
        })
        .await?;
    // Who this phone belongs to: a sealed turf's knocks are made in this name.
    store.set_identity(&r.volunteer_id).map_err(|e| TransportError::Refused(format!("store: {e}")))?;
    Ok(JoinInfo { token: r.token, volunteer_id: r.volunteer_id, campaign_id: r.campaign_id, expires_ms: r.expires_ms })
}

/// While the app is open and online: waits up to `wait_ms` for the team's messages and keeps
/// what comes (messages live, not only at each sync). Returns how many arrived (0: none in the
/// wait). The app calls it again in a loop while it is in the foreground.
pub async fn listen_messages(
    store: &Store,
    transport: &http::HttpTransport,
    wait_ms: u64,
) -> Result<std::result::Result<u32, TransportError>> {
    let since = store.message_since()?.since;
    let req = doorstep_protocol::MessageWait { protocol: PROTOCOL_VERSION, since, wait_ms };
    match transport.wait_feed(&req).await {
        Ok(feed) => Ok(Ok(store.apply_feed(&feed)?)),
        Err(e) => Ok(Err(e)),
    }
}

/// What deleting one's account did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AccountDeleted {
    /// The phone's store was wiped as well.
    pub wiped: bool,
    pub turfs_returned: u64,
    pub messages_emptied: u64,
}

/// Deletes this person's account (GDPR article 17), push first: everything written here is
/// pushed (one sync); if anything is still waiting, nothing is deleted (`CoreError::Unsent`).
/// Then the server deletes the account and revokes every device, and a last pull wipes this
/// phone. `confirm` is what the person typed (`SUPPRIMER`).
pub async fn delete_account(
    store: &Store,
    transport: &http::HttpTransport,
    confirm: &str,
) -> Result<std::result::Result<AccountDeleted, TransportError>> {
    doorstep_protocol::validate::people::check_delete_confirmation(confirm).map_err(CoreError::People)?;
    let mut report = SyncReport::default();
    if let Err(e) = sync_once(store, transport, &(), 1, &mut report).await? {
        return Ok(Err(e));
    }
    let unsent = store.unsent_total()?;
    if unsent > 0 {
        return Err(CoreError::Unsent(unsent));
    }
    let done = match transport.delete_me(confirm).await {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    // The device is revoked now: this pull wipes it (nothing is pending, so nothing is kept).
    let mut after = SyncReport::default();
    let wiped = matches!(sync_once(store, transport, &(), 1, &mut after).await?, Ok(())) && after.pull.wiped;
    Ok(Ok(AccountDeleted {
        wiped,
        turfs_returned: done["turfs_returned"].as_u64().unwrap_or(0),
        messages_emptied: done["messages_emptied"].as_u64().unwrap_or(0),
    }))
}

/// A captain's phone, online before the session, gets the server's grant over its own hand-off
/// key for a session it captains (and the campaign's key if it has none yet), so that it can hand
/// out streets later with no network.
pub async fn request_grant(
    store: &Store,
    transport: &http::HttpTransport,
    session_id: &str,
) -> Result<std::result::Result<doorstep_protocol::SignedGrant, TransportError>> {
    if store.campaign_key()?.is_none() {
        match transport.campaign_key().await {
            Ok(Some(k)) => store.set_campaign_key(&k)?,
            Ok(None) => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    let req = doorstep_protocol::GrantRequest {
        protocol: PROTOCOL_VERSION,
        device_id: store.device_id().to_string(),
        session_id: session_id.to_string(),
        public_key: store.handoff_public_key()?,
    };
    match transport.grant(&req).await {
        Ok(g) => {
            store.save_grant(&g)?;
            Ok(Ok(g))
        }
        Err(e) => Ok(Err(e)),
    }
}
