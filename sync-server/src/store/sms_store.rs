//! The SMS operations (issue 19) as async calls on any [`ServerStore`]: each runs one function
//! of [`super::ops::sms`] in one transaction of the backend, or on a read snapshot.

use async_trait::async_trait;
use doorstep_protocol::validate::sms::SmsPurpose;

use super::ops::sms::{InboundRow, OutboxRow, Queued, Recipient, SmsSettings};
use super::ops::sms_providers::{Billed, OutboxLine, ProviderRow};
use super::{ServerStore, StoreResult, ops, typed, typed_read};

/// A text the gate let through, to queue: (idempotency key, number, its segments, its encoding).
pub type ToQueue = (String, String, u32, &'static str);
/// A text the gate refused, to log: (id, number, its refusal codes).
pub type ToRefuse = (String, String, Vec<&'static str>);

#[async_trait]
pub trait SmsStore: ServerStore {
    async fn sms_settings(&self, campaign_id: &str) -> StoreResult<Option<SmsSettings>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sms::settings(tx, &c).await })).await
    }
    async fn set_sms_settings(&self, campaign_id: &str, s: &SmsSettings, now_ms: i64) -> StoreResult<()> {
        let (c, s) = (campaign_id.to_string(), s.clone());
        typed(self, move |tx| Box::pin(async move { ops::sms::set_settings(tx, &c, &s, now_ms).await })).await
    }
    async fn set_phone(&self, user_id: &str, number: Option<String>) -> StoreResult<()> {
        let u = user_id.to_string();
        typed(self, move |tx| Box::pin(async move { ops::sms::set_phone(tx, &u, number.as_deref()).await })).await
    }
    /// Records consents, several numbers at once (an import of a sign-up sheet), in one transaction.
    async fn record_consents(
        &self,
        campaign_id: &str,
        rows: &[(String, SmsPurpose, String)],
        source: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (c, rows, src) = (campaign_id.to_string(), rows.to_vec(), source.to_string());
        typed(self, move |tx| {
            Box::pin(async move {
                for (number, purpose, text) in &rows {
                    ops::sms::record_consent(tx, &c, number, *purpose, text, &src, now_ms).await?;
                }
                Ok(())
            })
        })
        .await
    }
    async fn sms_opt_out(&self, campaign_id: &str, number: &str, source: &str, now_ms: i64) -> StoreResult<bool> {
        let (c, n, s) = (campaign_id.to_string(), number.to_string(), source.to_string());
        typed(self, move |tx| Box::pin(async move { ops::sms::opt_out(tx, &c, &n, &s, now_ms).await })).await
    }
    async fn sms_optouts(&self, campaign_id: &str) -> StoreResult<Vec<(String, String, i64)>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sms::optouts(tx, &c).await })).await
    }
    /// An audience and, for each number in it, its consents and whether it opted out — in one
    /// snapshot, so the gate decides on facts of one moment.
    async fn sms_audience(
        &self,
        campaign_id: &str,
        team: Option<String>,
        session: Option<String>,
    ) -> StoreResult<Vec<(Recipient, Vec<SmsPurpose>, bool)>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| {
            Box::pin(async move {
                let mut out = Vec::new();
                for r in ops::sms::audience(tx, &c, team.as_deref(), session.as_deref()).await? {
                    let (consents, opted) = match &r.number {
                        Some(n) => ops::sms::number_facts(tx, &c, n).await?,
                        None => (vec![], false),
                    };
                    out.push((r, consents, opted));
                }
                Ok(out)
            })
        })
        .await
    }
    /// Queues the texts the gate let through and logs those it refused, in one transaction; the
    /// opt-out list is read again inside it, so a STOP that landed since the gate decided wins.
    /// Returns how many were queued new (a retried request queues nothing twice).
    #[allow(clippy::too_many_arguments)]
    async fn sms_queue(
        &self,
        campaign_id: &str,
        purpose: SmsPurpose,
        body: &str,
        actor: &str,
        allowed: &[ToQueue],
        refused: &[ToRefuse],
        now_ms: i64,
    ) -> StoreResult<(u32, u32)> {
        let (c, b, a) = (campaign_id.to_string(), body.to_string(), actor.to_string());
        let (allowed, refused) = (allowed.to_vec(), refused.to_vec());
        typed(self, move |tx| {
            Box::pin(async move {
                let (mut queued, mut late_stops) = (0, 0);
                for (id, number, segments, encoding) in &allowed {
                    let answer = purpose == SmsPurpose::StopConfirmation;
                    if !answer && ops::sms::number_facts(tx, &c, number).await?.1 {
                        ops::sms::record_refusal(tx, id, &c, number, purpose, &["opted_out"], &a, now_ms).await?;
                        late_stops += 1;
                        continue;
                    }
                    let q = ops::sms::enqueue(tx, id, &c, number, purpose, &b, *segments, encoding, &a, now_ms).await?;
                    queued += u32::from(q == Queued::New);
                }
                for (id, number, codes) in &refused {
                    ops::sms::record_refusal(tx, id, &c, number, purpose, codes, &a, now_ms).await?;
                }
                Ok((queued, late_stops))
            })
        })
        .await
    }
    /// Records a reply (once, by the provider's id); a STOP opts out in the same transaction.
    /// Returns (new reply, newly opted out).
    #[allow(clippy::too_many_arguments)]
    async fn sms_record_inbound(
        &self,
        id: &str,
        campaign_id: &str,
        number: &str,
        body: &str,
        stop: bool,
        provider: &str,
        now_ms: i64,
    ) -> StoreResult<(bool, bool)> {
        let (i, c, n, b, p) =
            (id.to_string(), campaign_id.to_string(), number.to_string(), body.to_string(), provider.to_string());
        typed(self, move |tx| {
            Box::pin(async move { ops::sms::record_inbound(tx, &i, &c, &n, &b, stop, &p, now_ms).await })
        })
        .await
    }
    async fn sms_inbox(&self, campaign_id: &str, limit: i64) -> StoreResult<Vec<InboundRow>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sms::inbox(tx, &c, limit).await })).await
    }
    /// Turns texts stuck in `sending` since before `before_ms` into `unknown`, then claims up to
    /// `limit` pending ones.
    async fn sms_claim(
        &self,
        campaign_id: &str,
        before_ms: i64,
        limit: i64,
        now_ms: i64,
    ) -> StoreResult<(u64, Vec<OutboxRow>)> {
        let c = campaign_id.to_string();
        typed(self, move |tx| {
            Box::pin(async move {
                let stale = ops::sms::reclaim_stale(tx, before_ms).await?;
                Ok((stale, ops::sms::claim_due(tx, &c, limit, now_ms).await?))
            })
        })
        .await
    }
    /// A number's consents and opt-out, read at send time.
    async fn sms_number_facts(&self, campaign_id: &str, number: &str) -> StoreResult<(Vec<SmsPurpose>, bool)> {
        let (c, n) = (campaign_id.to_string(), number.to_string());
        typed_read(self, move |tx| Box::pin(async move { ops::sms::number_facts(tx, &c, &n).await })).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn sms_finish(
        &self,
        id: &str,
        state: &'static str,
        provider: Option<&'static str>,
        provider_id: Option<String>,
        error: Option<String>,
        price_millicents: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let i = id.to_string();
        typed(self, move |tx| {
            Box::pin(async move {
                ops::sms::finish_text(
                    tx,
                    &i,
                    state,
                    provider,
                    provider_id.as_deref(),
                    error.as_deref(),
                    price_millicents,
                    now_ms,
                )
                .await
            })
        })
        .await
    }
    async fn sms_provider(&self, campaign_id: &str) -> StoreResult<Option<ProviderRow>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sms_providers::provider(tx, &c).await })).await
    }
    async fn set_sms_provider(&self, campaign_id: &str, p: &ProviderRow, now_ms: i64) -> StoreResult<()> {
        let (c, p) = (campaign_id.to_string(), p.clone());
        typed(self, move |tx| Box::pin(async move { ops::sms_providers::set_provider(tx, &c, &p, now_ms).await })).await
    }
    async fn sms_provider_campaigns(&self) -> StoreResult<Vec<String>> {
        typed_read(self, move |tx| Box::pin(async move { ops::sms_providers::provider_campaigns(tx).await })).await
    }
    #[allow(clippy::too_many_arguments)]
    async fn sms_receipt(
        &self,
        campaign_id: &str,
        provider: &str,
        provider_id: &str,
        delivered: bool,
        error: Option<String>,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let (c, p, i) = (campaign_id.to_string(), provider.to_string(), provider_id.to_string());
        typed(self, move |tx| {
            Box::pin(
                async move { ops::sms_providers::receipt(tx, &c, &p, &i, delivered, error.as_deref(), now_ms).await },
            )
        })
        .await
    }
    async fn sms_awaiting_receipts(
        &self,
        campaign_id: &str,
        provider: &str,
        since_ms: i64,
    ) -> StoreResult<Vec<String>> {
        let (c, p) = (campaign_id.to_string(), provider.to_string());
        typed_read(self, move |tx| {
            Box::pin(async move { ops::sms_providers::awaiting_receipts(tx, &c, &p, since_ms).await })
        })
        .await
    }
    async fn sms_set_inbound_state(&self, campaign_id: &str, id: &str, state: &str, by: &str) -> StoreResult<bool> {
        let (c, i, s, b) = (campaign_id.to_string(), id.to_string(), state.to_string(), by.to_string());
        typed(self, move |tx| Box::pin(async move { ops::sms_providers::set_inbound_state(tx, &c, &i, &s, &b).await }))
            .await
    }
    async fn sms_waiting_follow_ups(&self, campaign_id: &str) -> StoreResult<Vec<(String, String, i64)>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sms_providers::waiting_follow_ups(tx, &c).await })).await
    }
    async fn sms_set_follow_up(&self, report_id: &str, state: &str, codes: Option<String>) -> StoreResult<()> {
        let (r, s) = (report_id.to_string(), state.to_string());
        typed(self, move |tx| {
            Box::pin(async move { ops::sms_providers::set_follow_up(tx, &r, &s, codes.as_deref()).await })
        })
        .await
    }
    async fn sms_billed(&self, campaign_id: &str) -> StoreResult<Vec<Billed>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sms_providers::billed(tx, &c).await })).await
    }
    async fn sms_outbox_lines(&self, campaign_id: &str, limit: i64) -> StoreResult<Vec<OutboxLine>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sms_providers::outbox_lines(tx, &c, limit).await })).await
    }
    async fn sms_outbox(&self, campaign_id: &str) -> StoreResult<Vec<(String, String, String, String, u32)>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sms::outbox(tx, &c).await })).await
    }
}

impl<T: ServerStore + ?Sized> SmsStore for T {}
