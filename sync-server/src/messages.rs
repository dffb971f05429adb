//! Team messages (issue 18), the service: phones push message events from their outbox and read
//! their feed; staff write, read and pin from the dashboard through the same rule book
//! (`validate::message`), as a device of their own (`web:<user>`). Every post is announced to the
//! live dashboards that reach its channel (which then fetch what they may read: the event carries
//! no text).

use doorstep_protocol::validate::message::MessageError;
use doorstep_protocol::{
    ChannelRef, ItemStatus, MessageAction, MessageEvent, MessageFeed, MessagePush, MessageSince, MessageWait,
    PROTOCOL_VERSION, PushResponse,
};
use serde::Deserialize;

use crate::canvass::SESSIONS_LOOKBACK_MS;
use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::{DeviceSession, Service};
use crate::store::User;
use crate::store::operations::StoreOps;

/// Most message events in one push.
pub const MAX_MESSAGES_PER_PUSH: usize = 200;

/// What a staff member does in a channel from the dashboard.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffMessage {
    pub channel_id: String,
    pub action: MessageAction,
}

impl Service {
    async fn past_retention(&self, campaign_id: &str) -> Result<bool, ServiceError> {
        let c = self.store.campaign(campaign_id).await?;
        Ok(c.and_then(|c| c.retention_until_ms).is_some_and(|t| (self.now)() >= t))
    }

    /// Records events and announces the posts; answers one item per event.
    async fn message_events(
        &self,
        me: &User,
        device_id: &str,
        events: &[MessageEvent],
        revoked: bool,
    ) -> Result<Vec<doorstep_protocol::PushItemResult>, ServiceError> {
        if events.len() > MAX_MESSAGES_PER_PUSH {
            return Err(ServiceError::too_large(
                "too_many_items",
                format!("at most {MAX_MESSAGES_PER_PUSH} message events per push"),
            ));
        }
        let past = self.past_retention(&me.campaign_id).await?;
        let now = (self.now)();
        let recorded = self.store.record_messages(me, device_id, events, revoked, past, now).await?;
        for (channel_id, seq) in &recorded.posted {
            self.announce_message(me, channel_id, *seq).await;
        }
        Ok(recorded.results)
    }

    /// A phone's message events, each answered like a pushed knock.
    pub async fn push_messages(&self, dev: &DeviceSession, req: MessagePush) -> Result<PushResponse, ServiceError> {
        crate::service::check_protocol(req.protocol)?;
        if req.device_id != dev.device.device_id {
            return Err(ServiceError::forbidden("device_id does not match the token"));
        }
        let me = &dev.user;
        let results = self.message_events(me, &dev.device.device_id, &req.events, dev.revoked).await?;
        Ok(PushResponse { protocol: PROTOCOL_VERSION, results, server_time_ms: (self.now)() })
    }

    /// A phone's feed: the channels its person reads and the messages after what it holds. A
    /// revoked phone gets nothing (its next pull wipes it).
    pub async fn phone_feed(&self, dev: &DeviceSession, req: MessageSince) -> Result<MessageFeed, ServiceError> {
        crate::service::check_protocol(req.protocol)?;
        let now = (self.now)();
        if dev.revoked {
            return Ok(MessageFeed {
                protocol: PROTOCOL_VERSION,
                channels: vec![],
                messages: vec![],
                more: false,
                server_time_ms: now,
            });
        }
        let me = &dev.user;
        self.feed_of(me, &req).await
    }

    /// A phone online waits for its team's messages (a long poll): subscribed first, then its
    /// feed after what it holds is read; if that brings nothing, the first message that lands in
    /// one of its channels (or the end of the wait) brings the feed again. Nothing lands between
    /// the subscription and the read unseen.
    pub async fn wait_feed(&self, dev: &DeviceSession, req: MessageWait) -> Result<MessageFeed, ServiceError> {
        crate::service::check_protocol(req.protocol)?;
        if dev.revoked {
            return Err(ServiceError::forbidden("appareil révoqué / this device was revoked"));
        }
        let me = &dev.user;
        let since = MessageSince { protocol: req.protocol, since: req.since };
        let mut rx = self.live.subscribe();
        let first = self.feed_of(me, &since).await?;
        if !first.messages.is_empty() {
            return Ok(first);
        }
        let deadline = tokio::time::Instant::now()
            + std::time::Duration::from_millis(req.wait_ms.min(doorstep_protocol::MAX_MESSAGE_WAIT_MS));
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => return Ok(first),
                Ok(Ok(ev)) => {
                    if ev.kind == "lagged" {
                        // Some events may have been missed (another process's): read again.
                        return self.feed_of(me, &since).await;
                    }
                    if ev.kind != "message" || ev.campaign_id != me.campaign_id {
                        continue;
                    }
                    let Some(c) = ev.channel_id.as_deref().and_then(ChannelRef::parse) else { continue };
                    let reach = self.store.channel_reach(me, &c).await?;
                    if doorstep_protocol::validate::message::may_read(&c, &reach) {
                        return self.feed_of(me, &since).await;
                    }
                }
                // Too slow to follow every event: read the feed rather than miss one.
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => return self.feed_of(me, &since).await,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return Ok(first),
            }
        }
    }

    /// A staff member's feed, for the dashboard's messages tab.
    pub async fn staff_feed(&self, st: &Staff, req: MessageSince) -> Result<MessageFeed, ServiceError> {
        crate::service::check_protocol(req.protocol)?;
        self.feed_of(&st.user, &req).await
    }

    async fn feed_of(&self, me: &User, req: &MessageSince) -> Result<MessageFeed, ServiceError> {
        let now = (self.now)();
        let past = self.past_retention(&me.campaign_id).await?;
        let (channels, messages, more) =
            self.store.message_feed(me, &req.since, past, now, SESSIONS_LOOKBACK_MS).await?;
        Ok(MessageFeed { protocol: PROTOCOL_VERSION, channels, messages, more, server_time_ms: now })
    }

    /// A staff member writes, reads or pins from the dashboard: decided by the same rules as a
    /// phone's event, the dashboard being a device of its own. Refusals are errors with the rule
    /// book's code.
    pub async fn staff_message(&self, st: &Staff, m: StaffMessage) -> Result<serde_json::Value, ServiceError> {
        let device = format!("web:{}", st.user.id);
        let e = MessageEvent {
            id: uuid::Uuid::now_v7().to_string(),
            channel_id: m.channel_id,
            author_id: st.user.id.clone(),
            device_id: device.clone(),
            at_ms: (self.now)(),
            action: m.action,
        };
        let results = self.message_events(&st.user, &device, std::slice::from_ref(&e), false).await?;
        match &results[0].status {
            ItemStatus::Rejected { reason, code } => {
                let code = code.as_deref().unwrap_or("rejected");
                Err(if code == MessageError::UnknownChannel.code() {
                    ServiceError::not_found(reason.clone())
                } else if code == MessageError::NotAllowed.code() {
                    ServiceError::forbidden(reason.clone())
                } else {
                    ServiceError::invalid(static_code(code), reason.clone())
                })
            }
            _ => Ok(serde_json::json!({ "id": e.id })),
        }
    }

    /// Tells the live dashboards that reach a channel that it has a new message.
    async fn announce_message(&self, author: &User, channel_id: &str, seq: u64) {
        if self.live.receiver_count() == 0 && !self.live_is_shared() {
            return;
        }
        let Some(channel) = ChannelRef::parse(channel_id) else { return };
        let (teams, users, everyone) = match &channel {
            ChannelRef::Team { team_id } => (vec![Some(team_id.clone())], vec![], false),
            ChannelRef::Session { session_id } => {
                let s = self.store.session(session_id).await.ok().flatten();
                let mut users = s.as_ref().map(|s| s.captains.clone()).unwrap_or_default();
                users.push(author.id.clone());
                (vec![], users, false)
            }
            ChannelRef::Announcements => (vec![], vec![], true),
            ChannelRef::Direct { a, b } => (vec![], vec![a.clone(), b.clone()], false),
        };
        self.announce_to(&author.campaign_id, channel_id, seq, teams, users, everyone).await;
    }
}

/// The error codes a staff message may be refused with, as `'static` strings.
fn static_code(code: &str) -> &'static str {
    [
        "wrong_sender",
        "message_malformed",
        "bad_time",
        "empty_message",
        "bad_text",
        "id_conflict",
        "revoked",
        "retention_over",
        "unknown_message",
    ]
    .into_iter()
    .find(|c| *c == code)
    .unwrap_or("rejected")
}
