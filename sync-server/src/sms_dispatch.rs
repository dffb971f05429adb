//! Sending what the outbox holds (issue 19): claim, decide again, submit, record — so that no
//! text goes twice and none goes that the law forbids at the moment it goes.
//!
//! Each queued text is claimed (`pending` → `sending`, one winner), passed through the gate again
//! with the facts of the moment (a STOP since it was queued, the hour where the recipient is), and
//! submitted to the provider. A text the gate now refuses for its timing (night, Sunday, holiday,
//! the L49 silence) goes back to wait; for anything else it is `refused`. What the provider's
//! answer means decides the rest ([`SubmitError`]): sent; failed for good; back to wait when the
//! provider certainly took nothing; `unknown` when the answer was lost — perhaps sent, so never
//! resent by itself. A sender that dies mid-send leaves its claims `unknown` too, not pending.

use std::collections::HashMap;
use std::sync::Arc;

use doorstep_protocol::validate::sms::SmsRefusal;
use serde::Serialize;

use crate::error::ServiceError;
use crate::service::Service;
use crate::sms_provider::{ProviderEvent, SmsProvider, Submission, SubmitError};
use crate::store::SmsStore;
use crate::store::ops::sms_providers::ProviderRow;

/// Receipts are awaited this long after a text went (then it stays `sent`).
pub const RECEIPT_WINDOW_MS: i64 = 3 * 86_400_000;

/// A claim older than this belongs to a sender that died: its texts become `unknown`.
pub const CLAIM_TIMEOUT_MS: i64 = 5 * 60_000;

/// What one round of sending did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DispatchReport {
    pub sent: u32,
    /// Back to wait: not their hour at the recipient's.
    pub held: u32,
    /// Refused by the gate at send time (a STOP since, a consent withdrawn).
    pub refused: u32,
    /// Refused by the provider for good.
    pub failed: u32,
    /// Back to wait: the provider certainly took nothing.
    pub retry: u32,
    /// Perhaps sent: the answer was lost. Never resent by itself.
    pub unknown: u32,
    /// Claims of a dead sender turned `unknown`.
    pub stale: u32,
    /// The provider asked to slow down: the round stopped there.
    pub throttled: bool,
    /// Delivery receipts recorded.
    pub receipts: u32,
    /// Replies recorded (STOPs among them).
    pub replies: u32,
    /// Providers that could not be reached for their receipts and replies this round.
    pub unreachable: u32,
    /// Door follow-ups turned into queued texts.
    pub follow_ups: u32,
}

impl DispatchReport {
    fn add(&mut self, o: &DispatchReport) {
        self.sent += o.sent;
        self.held += o.held;
        self.refused += o.refused;
        self.failed += o.failed;
        self.retry += o.retry;
        self.unknown += o.unknown;
        self.stale += o.stale;
        self.throttled |= o.throttled;
        self.receipts += o.receipts;
        self.replies += o.replies;
        self.unreachable += o.unreachable;
        self.follow_ups += o.follow_ups;
    }
}

/// Whether every refusal is about the moment (it may go later), none about the text or the person.
pub(crate) fn timing_only(r: &[SmsRefusal]) -> bool {
    r.iter().all(|r| {
        matches!(
            r,
            SmsRefusal::QuietHours | SmsRefusal::Sunday | SmsRefusal::Holiday { .. } | SmsRefusal::ElectoralSilence
        )
    })
}

impl Service {
    /// Records what a provider reported: receipts settle their texts (explained in French when a
    /// text did not arrive), replies go to the inbox, a STOP opts out at once and — unless the
    /// provider answers STOPs itself — queues its one confirmation.
    pub async fn apply_sms_events(
        &self,
        campaign_id: &str,
        provider: &str,
        provider_confirms: bool,
        events: Vec<ProviderEvent>,
    ) -> Result<DispatchReport, ServiceError> {
        let mut rep = DispatchReport::default();
        for e in events {
            match e {
                ProviderEvent::Receipt { provider_id, delivered, code } => {
                    let error = code.map(|c| match SubmitError::explained(&c) {
                        Some(why) => format!("non remis : {why} ({c})"),
                        None => format!("non remis ({c})"),
                    });
                    let n = self
                        .store
                        .sms_receipt(campaign_id, provider, &provider_id, delivered, error, (self.now)())
                        .await?;
                    rep.receipts += n as u32;
                }
                ProviderEvent::Inbound { id, from, body } => {
                    let Ok(out) = self.receive_sms(campaign_id, &id, &from, &body, provider).await else {
                        tracing::warn!(provider, "a reply from an unreadable number was dropped");
                        continue;
                    };
                    rep.replies += u32::from(out.new);
                    if out.opted_out && !provider_confirms {
                        self.queue_stop_confirmation(campaign_id, &id, &from).await?;
                    }
                }
            }
        }
        Ok(rep)
    }

    /// One round for one campaign: up to `limit` queued texts through `provider`, each segment
    /// billed at `price_millicents`.
    pub async fn dispatch_sms(
        &self,
        campaign_id: &str,
        provider: &dyn SmsProvider,
        price_millicents: Option<i64>,
        limit: i64,
    ) -> Result<DispatchReport, ServiceError> {
        let now = (self.now)();
        let (stale, rows) = self.store.sms_claim(campaign_id, now - CLAIM_TIMEOUT_MS, limit, now).await?;
        let mut rep = DispatchReport { stale: stale as u32, ..DispatchReport::default() };
        let mut rows = rows.into_iter();
        for row in rows.by_ref() {
            let Some(settings) = self.store.sms_settings(&row.campaign_id).await? else {
                self.store.sms_finish(&row.id, "pending", None, None, Some("sms not set up".into()), None, now).await?;
                rep.held += 1;
                continue;
            };
            let v = self.gate_one(&row.campaign_id, &settings, &row.number, &row.body, row.purpose, &[]).await?;
            if !v.allowed() {
                let codes = v.refusals.iter().map(SmsRefusal::code).collect::<Vec<_>>().join(",");
                if timing_only(&v.refusals) {
                    self.store.sms_finish(&row.id, "pending", None, None, Some(codes), None, now).await?;
                    rep.held += 1;
                } else {
                    self.store.sms_finish(&row.id, "refused", None, None, Some(codes), None, now).await?;
                    rep.refused += 1;
                }
                continue;
            }
            let sub = Submission { id: row.id.clone(), to: row.number.clone(), body: row.body.clone() };
            let name = Some(provider.name());
            match provider.submit(&sub).await {
                Ok(pid) => {
                    self.store.sms_finish(&row.id, "sent", name, Some(pid), None, price_millicents, now).await?;
                    rep.sent += 1;
                }
                Err(e @ SubmitError::Rejected { .. }) => {
                    self.store.sms_finish(&row.id, "failed", name, None, Some(e.to_string()), None, now).await?;
                    rep.failed += 1;
                }
                Err(e @ SubmitError::NotSent(_)) => {
                    self.store.sms_finish(&row.id, "pending", name, None, Some(e.to_string()), None, now).await?;
                    rep.retry += 1;
                }
                Err(e @ SubmitError::Throttled { .. }) => {
                    self.store.sms_finish(&row.id, "pending", name, None, Some(e.to_string()), None, now).await?;
                    rep.throttled = true;
                    break;
                }
                Err(e @ SubmitError::Unknown(_)) => {
                    let why = Some(e.to_string());
                    self.store.sms_finish(&row.id, "unknown", name, None, why, price_millicents, now).await?;
                    rep.unknown += 1;
                }
            }
        }
        // Throttled: what was claimed and not tried goes back to wait.
        for row in rows {
            self.store.sms_finish(&row.id, "pending", None, None, None, None, now).await?;
        }
        Ok(rep)
    }
}

/// The sender of every campaign's texts: each campaign through its own provider, the provider
/// kept between rounds (an SMPP session stays bound, so replies reach it) and rebuilt when its
/// coordinator changes it.
/// A campaign's provider as built from its row (rebuilt when the row changes).
type Kept = (ProviderRow, Arc<dyn SmsProvider>);

pub struct SmsSender {
    service: Service,
    pool: tokio::sync::Mutex<HashMap<String, Kept>>,
    /// How long a submission's answer is awaited before the text counts as `unknown` (20 s).
    pub timeout: std::time::Duration,
}

impl SmsSender {
    pub fn new(service: Service) -> SmsSender {
        SmsSender { service, pool: Default::default(), timeout: std::time::Duration::from_secs(20) }
    }

    /// One round over every campaign with a provider: its receipts and replies, then up to
    /// `limit` of its queued texts.
    pub async fn round(&self, limit: i64) -> Result<DispatchReport, ServiceError> {
        let mut total = DispatchReport::default();
        for campaign in self.service.store.sms_provider_campaigns().await? {
            total.add(&self.round_for(&campaign, limit).await?);
        }
        Ok(total)
    }

    /// One round for one campaign: its receipts and replies, then up to `limit` of its texts.
    pub async fn round_for(&self, campaign: &str, limit: i64) -> Result<DispatchReport, ServiceError> {
        let mut total = DispatchReport::default();
        let Some((row, provider)) = self.provider(campaign).await? else { return Ok(total) };
        // Follow-ups voters asked for at the door, synced since: queued through the gate.
        let (follow_ups, aside) = self.service.queue_door_follow_ups(campaign).await?;
        total.follow_ups += follow_ups;
        total.refused += aside;
        let now = (self.service.now)();
        let awaiting =
            self.service.store.sms_awaiting_receipts(campaign, provider.name(), now - RECEIPT_WINDOW_MS).await?;
        match provider.events(&awaiting).await {
            Ok(events) => {
                let r = self.service.apply_sms_events(campaign, provider.name(), row.confirms_stop, events).await?;
                total.add(&r);
            }
            Err(e) => {
                tracing::warn!(campaign, provider = provider.name(), error = %e, "provider unreachable");
                total.unreachable += 1;
            }
        }
        let r = self.service.dispatch_sms(campaign, provider.as_ref(), Some(row.price_millicents), limit).await?;
        total.add(&r);
        Ok(total)
    }

    async fn provider(&self, campaign: &str) -> Result<Option<Kept>, ServiceError> {
        let current = self.service.store.sms_provider(campaign).await?;
        let mut pool = self.pool.lock().await;
        match (current, pool.get(campaign)) {
            (None, _) => {
                pool.remove(campaign);
                Ok(None)
            }
            (Some(row), Some((kept, p))) if *kept == row => Ok(Some((row, p.clone()))),
            (Some(_), _) => {
                let built = self.service.provider_for(campaign, self.timeout).await?;
                if let Some((row, p)) = &built {
                    pool.insert(campaign.to_string(), (row.clone(), p.clone()));
                }
                Ok(built)
            }
        }
    }
}
