//! Team messages (issue 18): "on se retrouve où ?", "la rue Bisson est faite", "attention, chien au
//! 12". A phone writes message events offline into the same kind of outbox as knocks (each with a
//! device-made id, so a replay is a duplicate); the server orders the posts of each channel
//! (`seq`: 1, 2, 3… per channel, never reused) and serves each phone the channels its person may
//! read. The rules are in [`crate::validate::message`].
//!
//! Channel ids are derived from what the channel is for, never chosen by a client: `team:<team>`,
//! `session:<session>`, `announce` (the campaign's announcements), and `dm:<n>:<a><b>` for the
//! direct messages between users `a` and `b` (`a < b`, `n` the byte length of `a`, so that no two
//! pairs share an id whatever characters ids hold). Within a campaign a channel id names one
//! channel.

use serde::{Deserialize, Serialize};

/// What a channel is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChannelRef {
    /// A team's channel: its volunteers, the captains who lead it, the coordinators.
    Team { team_id: String },
    /// A session's channel: those signed up, confirmed or checked in, its captains, the
    /// coordinators.
    Session { session_id: String },
    /// The campaign's announcements: everyone reads, coordinators post.
    Announcements,
    /// Two people: a volunteer and their captain, two coopains, or anyone and a coordinator.
    Direct { a: String, b: String },
}

impl ChannelRef {
    /// The channel's id.
    pub fn id(&self) -> String {
        match self {
            ChannelRef::Team { team_id } => format!("team:{team_id}"),
            ChannelRef::Session { session_id } => format!("session:{session_id}"),
            ChannelRef::Announcements => "announce".to_string(),
            ChannelRef::Direct { a, b } => {
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                format!("dm:{}:{a}{b}", a.len())
            }
        }
    }

    /// The direct channel between two users (in either order).
    pub fn direct(x: &str, y: &str) -> ChannelRef {
        let (a, b) = if x <= y { (x, y) } else { (y, x) };
        ChannelRef::Direct { a: a.to_string(), b: b.to_string() }
    }

    /// Reads a channel id back; `None` for anything that is not one (an empty part, a direct
    /// channel whose two ids are out of order or the same).
    pub fn parse(id: &str) -> Option<ChannelRef> {
        if id == "announce" {
            return Some(ChannelRef::Announcements);
        }
        if let Some(t) = id.strip_prefix("team:") {
            return (!t.is_empty()).then(|| ChannelRef::Team { team_id: t.to_string() });
        }
        if let Some(s) = id.strip_prefix("session:") {
            return (!s.is_empty()).then(|| ChannelRef::Session { session_id: s.to_string() });
        }
        let rest = id.strip_prefix("dm:")?;
        let (n, pair) = rest.split_once(':')?;
        if n.is_empty() || n.len() > 3 || !n.bytes().all(|c| c.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0'))
        {
            return None;
        }
        let n: usize = n.parse().ok()?;
        if n == 0 || n >= pair.len() || !pair.is_char_boundary(n) {
            return None;
        }
        let (a, b) = pair.split_at(n);
        (a < b).then(|| ChannelRef::Direct { a: a.to_string(), b: b.to_string() })
    }
}

/// What a message may point at: tapping it opens the door or the street on the map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MessageRef {
    Door { door_id: String },
    Street { turf_id: String, street: String },
}

/// What a phone does in a channel, offline, from its outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum MessageAction {
    /// Writes a message (a captain writing to their team or session is a broadcast).
    Post {
        body: String,
        #[serde(default)]
        reference: Option<MessageRef>,
    },
    /// "I have read up to `up_to`": one rising marker per person and channel.
    Read {
        up_to: u64,
    },
    /// A captain pins the day's instructions (one pinned message per channel).
    Pin {
        message_id: String,
    },
    Unpin,
}

/// One message event. The id is made on the device (a lowercase UUIDv7): the server keeps the
/// first event under an id and answers a replay as a duplicate; a post's id is its message's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageEvent {
    pub id: String,
    pub channel_id: String,
    pub author_id: String,
    pub device_id: String,
    /// Device time when it was written (shown; the order is the server's).
    pub at_ms: i64,
    pub action: MessageAction,
}

/// A phone's message events, pushed from its outbox (answered like a knock push: one
/// [`crate::PushItemResult`] per event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MessagePush {
    pub protocol: u32,
    pub device_id: String,
    pub events: Vec<MessageEvent>,
}

/// A message as the server ordered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Message {
    pub id: String,
    pub channel_id: String,
    /// Its place in the channel: 1, 2, 3… in the order the server received the posts.
    pub seq: u64,
    pub author_id: String,
    pub author_name: String,
    pub body: String,
    #[serde(default)]
    pub reference: Option<MessageRef>,
    /// When its author wrote it (their phone's clock).
    pub written_ms: i64,
    /// When the server received it.
    pub received_ms: i64,
}

/// How many others have read one of the caller's own messages ("lu par 3").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReadCount {
    pub seq: u64,
    pub readers: u32,
}

/// A channel as one person sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChannelView {
    pub id: String,
    pub channel: ChannelRef,
    /// "Équipe nord", "Samedi matin, quartier nord", "Annonces", "Léa Martin".
    pub title: String,
    /// The last message's place (0: none yet).
    pub last_seq: u64,
    /// This person's read marker (0: nothing read).
    pub read_seq: u64,
    pub can_post: bool,
    pub can_pin: bool,
    /// The pinned message, if any.
    #[serde(default)]
    pub pinned: Option<Message>,
    /// For the caller's own latest messages in the channel: how many others have read them.
    #[serde(default)]
    pub read_by: Vec<ReadCount>,
}

/// A phone online waiting for its team's messages (a long poll): what it holds, and how long
/// it waits at most (the server caps it at [`MAX_MESSAGE_WAIT_MS`]). The answer is a
/// [`MessageFeed`] as soon as there is something after what it holds, or an empty one at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageWait {
    pub protocol: u32,
    #[serde(default)]
    pub since: std::collections::BTreeMap<String, u64>,
    pub wait_ms: u64,
}

/// Longest wait of a [`MessageWait`]: under the phones' and proxies' idle timeouts.
pub const MAX_MESSAGE_WAIT_MS: u64 = 25_000;

/// What a phone asks for: for each channel it holds, the last `seq` it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageSince {
    pub protocol: u32,
    #[serde(default)]
    pub since: std::collections::BTreeMap<String, u64>,
}

/// The channels a person may read, and the messages after what they hold (oldest first, at most
/// a page per channel: ask again with the new marks while `more` is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MessageFeed {
    pub protocol: u32,
    pub channels: Vec<ChannelView>,
    pub messages: Vec<Message>,
    pub more: bool,
    pub server_time_ms: i64,
}
