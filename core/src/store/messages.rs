//! Team messages on the phone (issue 18): the channels the server last described, their
//! messages in the server's order, and what this phone's person writes, reads and pins — checked
//! here by the rule book (`validate::message::check_on_phone`) with what the phone holds, written
//! offline into an outbox, durable when the call returns, and pushed at the next sync. A message
//! written here shows at once as "en attente", then "envoyé" with its place once the server has
//! it, then "lu par n".

use std::collections::BTreeMap;

use doorstep_protocol::validate::message::check_on_phone;
use doorstep_protocol::{
    ChannelView, Message, MessageAction, MessageEvent, MessageFeed, MessagePush, MessageRef, MessageSince,
    PROTOCOL_VERSION, PushResponse,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, meta_get};
use crate::error::{CoreError, Result};

/// A channel as the app lists it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChannelSummary {
    pub id: String,
    /// `team`, `session`, `announcements` or `direct`.
    pub kind: String,
    pub title: String,
    /// Messages after this person's read marker (their own excepted).
    pub unread: u32,
    pub can_post: bool,
    pub can_pin: bool,
    /// The pinned message's text, if any.
    pub pinned: Option<String>,
    /// The last message's text, for the list.
    pub last: Option<String>,
}

/// A message as a thread shows it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ThreadMessage {
    pub id: String,
    pub channel_id: String,
    pub author_name: String,
    pub body: String,
    /// The door it points at, if any.
    pub door_id: Option<String>,
    /// The street it points at, if any (with its turf).
    pub street: Option<String>,
    pub turf_id: Option<String>,
    pub mine: bool,
    /// `pending` (written here, waiting for the network), `sent`, or `rejected` (with `reason`).
    pub state: String,
    pub reason: Option<String>,
    /// Its place in the channel once the server has it.
    pub seq: Option<u64>,
    /// For this person's own sent messages: how many others have read them.
    pub read_by: u32,
    pub written_ms: i64,
}

/// A thread's row: the message's JSON, its place, its outbox state and reason.
type ThreadRow = (String, Option<i64>, Option<String>, Option<String>);

fn kind_of(v: &ChannelView) -> &'static str {
    match v.channel {
        doorstep_protocol::ChannelRef::Team { .. } => "team",
        doorstep_protocol::ChannelRef::Session { .. } => "session",
        doorstep_protocol::ChannelRef::Announcements => "announcements",
        doorstep_protocol::ChannelRef::Direct { .. } => "direct",
    }
}

fn channel_view(c: &Connection, id: &str) -> Result<Option<ChannelView>> {
    let body: Option<String> = c.query_row("SELECT body FROM channels WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(CoreError::from)).transpose()
}

/// This person's read marker as the phone knows it: the server's, or further if read here since.
fn read_seq(c: &Connection, v: &ChannelView) -> Result<u64> {
    let local: Option<i64> =
        c.query_row("SELECT seq FROM read_marks WHERE channel_id = ?1", [&v.id], |r| r.get(0)).optional()?;
    Ok(v.read_seq.max(local.unwrap_or(0).max(0) as u64))
}

fn thread_message(me: &str, row: (String, String, Option<String>, Option<String>)) -> Result<ThreadMessage> {
    let (body, state, reason, read_by_json) = row;
    let m: Message = serde_json::from_str(&body)?;
    let (door_id, street, turf_id) = match &m.reference {
        Some(MessageRef::Door { door_id }) => (Some(door_id.clone()), None, None),
        Some(MessageRef::Street { turf_id, street }) => (None, Some(street.clone()), Some(turf_id.clone())),
        None => (None, None, None),
    };
    let read_by = read_by_json.and_then(|j| j.parse::<u32>().ok()).unwrap_or(0);
    Ok(ThreadMessage {
        mine: m.author_id == me,
        seq: (m.seq > 0).then_some(m.seq),
        id: m.id,
        channel_id: m.channel_id,
        author_name: m.author_name,
        body: m.body,
        door_id,
        street,
        turf_id,
        state,
        reason,
        read_by,
        written_ms: m.written_ms,
    })
}

impl Store {
    fn me(&self, c: &Connection) -> Result<String> {
        meta_get(c, "user_id")?.ok_or_else(|| CoreError::NeedsSync("join first".into()))
    }

    /// Writes an event into the outbox after the rule book's check with what the phone holds.
    fn write_event(&self, channel_id: &str, action: MessageAction) -> Result<MessageEvent> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            let e = MessageEvent {
                id: uuid::Uuid::now_v7().to_string(),
                channel_id: channel_id.to_string(),
                author_id: self.me(tx)?,
                device_id: self.device_id.clone(),
                at_ms: now,
                action,
            };
            check_on_phone(&e, channel_view(tx, channel_id)?.as_ref()).map_err(CoreError::Message)?;
            tx.execute(
                "INSERT INTO message_outbox(id, channel_id, body, state, updated_ms) VALUES (?1, ?2, ?3, 'pending', ?4)",
                params![e.id, channel_id, serde_json::to_string(&e)?, now],
            )?;
            if let MessageAction::Post { body, reference } = &e.action {
                let name: String = meta_get(tx, "display_name")?.unwrap_or_default();
                let m = Message {
                    id: e.id.clone(),
                    channel_id: channel_id.to_string(),
                    seq: 0,
                    author_id: e.author_id.clone(),
                    author_name: name,
                    body: body.clone(),
                    reference: reference.clone(),
                    written_ms: now,
                    received_ms: 0,
                };
                tx.execute(
                    "INSERT INTO messages(id, channel_id, seq, body) VALUES (?1, ?2, NULL, ?3)",
                    params![m.id, channel_id, serde_json::to_string(&m)?],
                )?;
            }
            Ok(e)
        })
    }

    /// Writes a message in a channel, with no network: checked, kept in the outbox (durable
    /// when this returns), shown at once as pending.
    pub fn post_message(&self, channel_id: &str, body: &str, reference: Option<MessageRef>) -> Result<ThreadMessage> {
        let e = self.write_event(channel_id, MessageAction::Post { body: body.to_string(), reference })?;
        self.thread(channel_id)?.into_iter().find(|m| m.id == e.id).ok_or_else(|| CoreError::unknown("message", &e.id))
    }

    /// "Read up to here": the channel's last message this phone holds. The marker only rises;
    /// reading again changes nothing and writes nothing.
    pub fn mark_read(&self, channel_id: &str) -> Result<()> {
        let (current, last) = self.read(|c| {
            let v = channel_view(c, channel_id)?.ok_or_else(|| CoreError::unknown("channel", channel_id))?;
            let held: Option<i64> =
                c.query_row("SELECT max(seq) FROM messages WHERE channel_id = ?1", [channel_id], |r| r.get(0))?;
            Ok((read_seq(c, &v)?, held.unwrap_or(0).max(0) as u64))
        })?;
        if doorstep_protocol::validate::message::next_marker(current, last, last).is_none() {
            return Ok(());
        }
        self.write_event(channel_id, MessageAction::Read { up_to: last })?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO read_marks(channel_id, seq) VALUES (?1, ?2)
                 ON CONFLICT (channel_id) DO UPDATE SET seq = max(seq, excluded.seq)",
                params![channel_id, last as i64],
            )?;
            Ok(())
        })
    }

    /// A captain pins a message of the channel (`None`: unpins), with no network.
    pub fn pin_message(&self, channel_id: &str, message_id: Option<String>) -> Result<()> {
        let action = match message_id {
            Some(message_id) => MessageAction::Pin { message_id },
            None => MessageAction::Unpin,
        };
        self.write_event(channel_id, action).map(|_| ())
    }

    /// The channels, as the server last described them, with what was read here since.
    pub fn channels(&self) -> Result<Vec<ChannelSummary>> {
        self.read(|c| {
            let me = meta_get(c, "user_id")?.unwrap_or_default();
            let bodies: Vec<String> = c
                .prepare("SELECT body FROM channels ORDER BY position")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(bodies.len());
            for b in bodies {
                let v: ChannelView = serde_json::from_str(&b)?;
                let read = read_seq(c, &v)? as i64;
                let unread: i64 = c.query_row(
                    "SELECT count(*) FROM messages WHERE channel_id = ?1 AND seq > ?2
                       AND json_extract(body, '$.author_id') <> ?3",
                    params![v.id, read, me],
                    |r| r.get(0),
                )?;
                let last: Option<String> = c
                    .query_row(
                        "SELECT json_extract(body, '$.body') FROM messages WHERE channel_id = ?1
                         ORDER BY seq IS NULL, seq DESC, id DESC LIMIT 1",
                        [&v.id],
                        |r| r.get(0),
                    )
                    .optional()?;
                out.push(ChannelSummary {
                    id: v.id.clone(),
                    kind: kind_of(&v).to_string(),
                    title: v.title.clone(),
                    unread: unread as u32,
                    can_post: v.can_post,
                    can_pin: v.can_pin,
                    pinned: v.pinned.as_ref().map(|m| m.body.clone()),
                    last,
                });
            }
            Ok(out)
        })
    }

    /// A channel's messages: those the server placed, in its order, then this phone's own still
    /// waiting (in the order they were written).
    pub fn thread(&self, channel_id: &str) -> Result<Vec<ThreadMessage>> {
        self.read(|c| {
            let me = meta_get(c, "user_id")?.unwrap_or_default();
            let counts: BTreeMap<u64, u32> = match channel_view(c, channel_id)? {
                Some(v) => v.read_by.iter().map(|r| (r.seq, r.readers)).collect(),
                None => BTreeMap::new(),
            };
            let rows: Vec<ThreadRow> = c
                .prepare(
                    "SELECT m.body, m.seq, o.state, o.reason FROM messages m LEFT JOIN message_outbox o ON o.id = m.id
                     WHERE m.channel_id = ?1 ORDER BY m.seq IS NULL, m.seq, m.id",
                )?
                .query_map([channel_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter()
                .map(|(body, seq, state, reason)| {
                    // Sent once the server has it (placed, or answered and not yet placed here).
                    let state = match (seq, state.as_deref()) {
                        (None, Some("rejected")) => "rejected",
                        (None, Some("pending")) => "pending",
                        _ => "sent",
                    };
                    let read_by = seq.and_then(|s| counts.get(&(s as u64))).map(|n| n.to_string());
                    thread_message(&me, (body, state.to_string(), reason, read_by))
                })
                .collect()
        })
    }

    /// What the phone holds per channel, for the feed request.
    pub fn message_since(&self) -> Result<MessageSince> {
        self.read(|c| {
            let since: BTreeMap<String, u64> = c
                .prepare("SELECT channel_id, max(seq) FROM messages WHERE seq IS NOT NULL GROUP BY channel_id")?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<Result<_, _>>()?;
            Ok(MessageSince { protocol: PROTOCOL_VERSION, since })
        })
    }

    /// Applies a feed: the channels as listed (one no longer listed goes, with its messages: this
    /// person no longer reads it), and the messages, each once (this phone's own, once placed,
    /// take their place).
    pub fn apply_feed(&self, feed: &MessageFeed) -> Result<u32> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            let listed: Vec<&str> = feed.channels.iter().map(|v| v.id.as_str()).collect();
            let held: Vec<String> =
                tx.prepare("SELECT id FROM channels")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            for gone in held.iter().filter(|h| !listed.contains(&h.as_str())) {
                tx.execute("DELETE FROM channels WHERE id = ?1", [gone])?;
                tx.execute("DELETE FROM read_marks WHERE channel_id = ?1", [gone])?;
                // Its messages go, but not one of this phone's still waiting for an answer.
                tx.execute(
                    "DELETE FROM messages WHERE channel_id = ?1
                       AND id NOT IN (SELECT id FROM message_outbox WHERE state = 'pending')",
                    [gone],
                )?;
            }
            for (i, v) in feed.channels.iter().enumerate() {
                tx.execute(
                    "INSERT INTO channels(id, body, position, fetched_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET body = excluded.body, position = excluded.position,
                       fetched_ms = excluded.fetched_ms",
                    params![v.id, serde_json::to_string(v)?, i as i64, now],
                )?;
            }
            let mut n = 0;
            for m in &feed.messages {
                n += tx.execute(
                    "INSERT INTO messages(id, channel_id, seq, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, body = excluded.body WHERE messages.seq IS NULL",
                    params![m.id, m.channel_id, m.seq as i64, serde_json::to_string(m)?],
                )? as u32;
            }
            Ok(n)
        })
    }

    /// The message events not yet answered, for a push (oldest first).
    pub fn export_pending_messages(&self) -> Result<MessagePush> {
        self.read(|c| {
            let events = super::pending_events(c, "message_outbox")?;
            Ok(MessagePush { protocol: PROTOCOL_VERSION, device_id: self.device_id.clone(), events })
        })
    }

    /// The server's answers to a message push.
    pub fn apply_message_response(&self, resp: &PushResponse) -> Result<u32> {
        let now = self.clock.now_ms();
        self.write(|tx| super::apply_answers(tx, "message_outbox", resp, now))
    }

    /// Message events waiting for the network.
    pub fn pending_messages(&self) -> Result<u32> {
        self.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM message_outbox WHERE state = 'pending'", [], |r| r.get::<_, i64>(0))?
                as u32)
        })
    }
}
