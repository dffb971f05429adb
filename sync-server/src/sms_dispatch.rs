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

use doorstep_protocol::validate::sms::{SmsDraft, SmsFacts, SmsRefusal, gate};
use serde::Serialize;

use crate::error::ServiceError;
use crate::service::Service;
use crate::sms_provider::{SmsProvider, Submission, SubmitError};
use crate::store::SmsStore;

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
}

fn timing_only(r: &[SmsRefusal]) -> bool {
    r.iter().all(|r| {
        matches!(
            r,
            SmsRefusal::QuietHours | SmsRefusal::Sunday | SmsRefusal::Holiday { .. } | SmsRefusal::ElectoralSilence
        )
    })
}

impl Service {
    /// One round: up to `limit` queued texts through `provider`.
    pub async fn dispatch_sms(&self, provider: &dyn SmsProvider, limit: i64) -> Result<DispatchReport, ServiceError> {
        let now = (self.now)();
        let (stale, rows) = self.store.sms_claim(now - CLAIM_TIMEOUT_MS, limit, now).await?;
        let mut rep = DispatchReport { stale: stale as u32, ..DispatchReport::default() };
        let mut rows = rows.into_iter();
        for row in rows.by_ref() {
            let Some(settings) = self.store.sms_settings(&row.campaign_id).await? else {
                self.store.sms_finish(&row.id, "pending", None, None, Some("sms not set up".into()), now).await?;
                rep.held += 1;
                continue;
            };
            let (consents, opted_out) = self.store.sms_number_facts(&row.campaign_id, &row.number).await?;
            let facts = SmsFacts {
                consents,
                opted_out,
                criteria: vec![],
                minor: false,
                local: crate::sms::local_time(now, &row.number),
                election_days: settings.election_days,
                sender_name: settings.sender_name,
                max_segments: settings.max_segments,
            };
            let v = gate(&SmsDraft { to: row.number.clone(), body: row.body.clone(), purpose: row.purpose }, &facts);
            if !v.allowed() {
                let codes = v.refusals.iter().map(SmsRefusal::code).collect::<Vec<_>>().join(",");
                if timing_only(&v.refusals) {
                    self.store.sms_finish(&row.id, "pending", None, None, Some(codes), now).await?;
                    rep.held += 1;
                } else {
                    self.store.sms_finish(&row.id, "refused", None, None, Some(codes), now).await?;
                    rep.refused += 1;
                }
                continue;
            }
            let sub = Submission { id: row.id.clone(), to: row.number.clone(), body: row.body.clone() };
            let name = Some(provider.name());
            match provider.submit(&sub).await {
                Ok(pid) => {
                    self.store.sms_finish(&row.id, "sent", name, Some(pid), None, now).await?;
                    rep.sent += 1;
                }
                Err(e @ SubmitError::Rejected { .. }) => {
                    self.store.sms_finish(&row.id, "failed", name, None, Some(e.to_string()), now).await?;
                    rep.failed += 1;
                }
                Err(e @ SubmitError::NotSent(_)) => {
                    self.store.sms_finish(&row.id, "pending", name, None, Some(e.to_string()), now).await?;
                    rep.retry += 1;
                }
                Err(e @ SubmitError::Throttled { .. }) => {
                    self.store.sms_finish(&row.id, "pending", name, None, Some(e.to_string()), now).await?;
                    rep.throttled = true;
                    break;
                }
                Err(e @ SubmitError::Unknown(_)) => {
                    self.store.sms_finish(&row.id, "unknown", name, None, Some(e.to_string()), now).await?;
                    rep.unknown += 1;
                }
            }
        }
        // Throttled: what was claimed and not tried goes back to wait.
        for row in rows {
            self.store.sms_finish(&row.id, "pending", None, None, None, now).await?;
        }
        Ok(rep)
    }
}
