//! Team messages (issue 18): who reads and writes which channel, what a message event may hold,
//! what the server does with a pushed one, and the read marker that only rises. The phone checks
//! an event with what it holds before writing it ([`check_on_phone`]: the channel as the server
//! last described it); the server decides again with its own facts ([`message_outcome`]).

use crate::message::{ChannelRef, ChannelView, MessageAction, MessageEvent, MessageRef};
use crate::sync::ItemStatus;
use crate::validate::report::{MAX_DEVICE_TIME_MS, is_report_id};
use crate::validate::text::{TextError, TextKind, check_text};

/// Why a message event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("envoyé par un autre appareil que celui de son auteur / not sent by its author's device")]
    WrongSender,
    #[error("identifiant ou canal illisible / not a message event id or channel")]
    Malformed,
    #[error("heure hors limites / time out of range")]
    BadTime,
    #[error("message vide / an empty message")]
    Empty,
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("canal inconnu / no such channel")]
    UnknownChannel,
    #[error("vous ne pouvez pas écrire ou épingler ici / you may not write or pin here")]
    NotAllowed,
    #[error("même identifiant, contenu différent / this id was already used for another event")]
    IdConflict,
    #[error("appareil révoqué / this device was revoked")]
    Revoked,
    #[error("la campagne est close : plus de message / the campaign is past its retention date: no more messages")]
    RetentionOver,
    #[error("message inconnu dans ce canal / no such message in this channel")]
    UnknownMessage,
}

impl MessageError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::WrongSender => "wrong_sender",
            MessageError::Malformed => "message_malformed",
            MessageError::BadTime => "bad_time",
            MessageError::Empty => "empty_message",
            MessageError::Text(_) => "bad_text",
            MessageError::UnknownChannel => "unknown_channel",
            MessageError::NotAllowed => "not_allowed",
            MessageError::IdConflict => "id_conflict",
            MessageError::Revoked => "revoked",
            MessageError::RetentionOver => "retention_over",
            MessageError::UnknownMessage => "unknown_message",
        }
    }
}

/// Who the sender is to a channel, gathered by the storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// The channel is one of the sender's campaign: its team or session exists there; for a direct
    /// channel, the sender is one of the two and the other is a person of the campaign.
    pub exists: bool,
    pub coordinator: bool,
    /// A captain who leads the team, or one of the session's captains.
    pub leads: bool,
    /// A volunteer of the team; signed up, confirmed or checked in to the session; anyone of the
    /// campaign for the announcements.
    pub member: bool,
    /// A direct channel's pair may talk: a volunteer and a captain who leads their team, two
    /// coopains, or anyone and a coordinator.
    pub pair_allowed: bool,
}

/// Whether the sender reads the channel (and so may learn it exists at all).
pub fn may_read(c: &ChannelRef, r: &Reach) -> bool {
    r.exists
        && match c {
            ChannelRef::Direct { .. } => r.pair_allowed,
            _ => r.coordinator || r.leads || r.member,
        }
}

/// Whether the sender writes in it: everyone who reads it, but the announcements are the
/// coordinators'.
pub fn may_post(c: &ChannelRef, r: &Reach) -> bool {
    may_read(c, r) && (!matches!(c, ChannelRef::Announcements) || r.coordinator)
}

/// Whether the sender pins in it: its captains and the coordinators, never in a direct channel.
pub fn may_pin(c: &ChannelRef, r: &Reach) -> bool {
    may_read(c, r) && !matches!(c, ChannelRef::Direct { .. }) && (r.coordinator || r.leads)
}

/// What an event must be, whoever decides: a device-made id, a channel id, a time in range, a
/// post's text (not blank, at most 2,000 characters, no control character but line breaks) and
/// reference, a pinned message's id.
pub fn check_event(e: &MessageEvent) -> Result<ChannelRef, MessageError> {
    if !is_report_id(&e.id) || e.author_id.is_empty() || e.device_id.is_empty() {
        return Err(MessageError::Malformed);
    }
    check_text("author_id", &e.author_id, TextKind::Id)?;
    check_text("device_id", &e.device_id, TextKind::Id)?;
    check_text("channel_id", &e.channel_id, TextKind::Name)?;
    let channel = ChannelRef::parse(&e.channel_id).ok_or(MessageError::Malformed)?;
    if !(0..=MAX_DEVICE_TIME_MS).contains(&e.at_ms) {
        return Err(MessageError::BadTime);
    }
    match &e.action {
        MessageAction::Post { body, reference } => {
            if body.trim().is_empty() {
                return Err(MessageError::Empty);
            }
            check_text("body", body, TextKind::Free)?;
            match reference {
                Some(MessageRef::Door { door_id }) => check_text("door_id", door_id, TextKind::Id)?,
                Some(MessageRef::Street { turf_id, street }) => {
                    check_text("turf_id", turf_id, TextKind::Id)?;
                    check_text("street", street, TextKind::Name)?;
                }
                None => {}
            }
        }
        MessageAction::Pin { message_id } if !is_report_id(message_id) => return Err(MessageError::Malformed),
        _ => {}
    }
    Ok(channel)
}

/// The phone's own check before it writes an event into its outbox: the rules above, and the
/// channel as the server last described it to this phone (one it reads; may it post, pin).
pub fn check_on_phone(e: &MessageEvent, view: Option<&ChannelView>) -> Result<(), MessageError> {
    check_event(e)?;
    let v = view.ok_or(MessageError::UnknownChannel)?;
    let allowed = match &e.action {
        MessageAction::Post { .. } => v.can_post,
        MessageAction::Pin { .. } | MessageAction::Unpin => v.can_pin,
        MessageAction::Read { .. } => true,
    };
    if allowed { Ok(()) } else { Err(MessageError::NotAllowed) }
}

/// The read marker after "read up to `up_to`": never past the channel's last message, never
/// back. `None`: unchanged.
pub fn next_marker(current: u64, up_to: u64, last_seq: u64) -> Option<u64> {
    let to = up_to.min(last_seq);
    (to > current).then_some(to)
}

/// What the server knows when a message event arrives, gathered by its storage.
#[derive(Debug, Clone, Default)]
pub struct MessageFacts {
    /// The body hash of an event already recorded under this id.
    pub held_hash: Option<String>,
    pub reach: Reach,
    /// The sender's device was revoked.
    pub revoked: bool,
    /// The campaign is past its retention date.
    pub past_retention: bool,
    /// The channel's last message's place.
    pub last_seq: u64,
    /// The sender's read marker in the channel.
    pub read_seq: u64,
    /// For a pin: the message named is a post of this channel.
    pub pin_target_in_channel: bool,
}

/// What the server does with a pushed message event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Recorded before with the same body (a replay): nothing changes.
    Duplicate,
    Reject(MessageError),
    /// A new message, placed at the channel's next `seq`.
    Post,
    /// The sender's marker moves to this place (`None`: it stays; the event is still accepted).
    Read(Option<u64>),
    Pin,
    Unpin,
}

impl MessageOutcome {
    /// The answer the phone gets.
    pub fn status(&self) -> ItemStatus {
        match self {
            MessageOutcome::Duplicate => ItemStatus::Duplicate,
            MessageOutcome::Reject(e) => ItemStatus::Rejected { reason: e.to_string(), code: Some(e.code().into()) },
            _ => ItemStatus::Accepted,
        }
    }
}

/// SHA-256 of a message event as pushed (its JSON), hex.
pub fn event_hash(e: &MessageEvent) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(e).expect("an event serialises");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Decides a pushed message event. `sender` is the token's `(device, user)`.
pub fn message_outcome(e: &MessageEvent, sender: (&str, &str), f: &MessageFacts) -> MessageOutcome {
    if (e.device_id.as_str(), e.author_id.as_str()) != sender {
        return MessageOutcome::Reject(MessageError::WrongSender);
    }
    match &f.held_hash {
        Some(h) if *h == event_hash(e) => return MessageOutcome::Duplicate,
        Some(_) => return MessageOutcome::Reject(MessageError::IdConflict),
        None => {}
    }
    let channel = match check_event(e) {
        Ok(c) => c,
        Err(err) => return MessageOutcome::Reject(err),
    };
    if f.revoked {
        return MessageOutcome::Reject(MessageError::Revoked);
    }
    // A channel the sender may not read is unknown to them: nothing said about it.
    if !may_read(&channel, &f.reach) {
        return MessageOutcome::Reject(MessageError::UnknownChannel);
    }
    match &e.action {
        MessageAction::Read { up_to } => MessageOutcome::Read(next_marker(f.read_seq, *up_to, f.last_seq)),
        _ if f.past_retention => MessageOutcome::Reject(MessageError::RetentionOver),
        MessageAction::Post { .. } if !may_post(&channel, &f.reach) => MessageOutcome::Reject(MessageError::NotAllowed),
        MessageAction::Post { .. } => MessageOutcome::Post,
        MessageAction::Pin { .. } | MessageAction::Unpin if !may_pin(&channel, &f.reach) => {
            MessageOutcome::Reject(MessageError::NotAllowed)
        }
        MessageAction::Pin { .. } if !f.pin_target_in_channel => MessageOutcome::Reject(MessageError::UnknownMessage),
        MessageAction::Pin { .. } => MessageOutcome::Pin,
        MessageAction::Unpin => MessageOutcome::Unpin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "0190a0b0-0000-7000-8000-000000000001";

    fn post(channel: &str, body: &str) -> MessageEvent {
        MessageEvent {
            id: ID.into(),
            channel_id: channel.into(),
            author_id: "lea".into(),
            device_id: "dev-lea".into(),
            at_ms: 1_780_000_000_000,
            action: MessageAction::Post { body: body.into(), reference: None },
        }
    }

    /// Channel ids: made and read back alike; a direct channel is one id for the pair whatever
    /// the order; ids that are not channels are refused.
    #[test]
    fn channel_ids() {
        let cases = [
            (ChannelRef::Team { team_id: "nord".into() }, "team:nord"),
            (ChannelRef::Session { session_id: "s-marche".into() }, "session:s-marche"),
            (ChannelRef::Announcements, "announce"),
            (ChannelRef::direct("lea", "cap-nord"), "dm:8:cap-nordlea"),
            (ChannelRef::direct("cap-nord", "lea"), "dm:8:cap-nordlea"),
            // Ids holding the separator or digits stay apart.
            (ChannelRef::direct("a:1", "b"), "dm:3:a:1b"),
            (ChannelRef::direct("é", "ë"), "dm:2:éë"),
        ];
        for (c, id) in cases {
            assert_eq!(c.id(), id);
            assert_eq!(ChannelRef::parse(id), Some(c), "{id}");
        }
        for bad in [
            "",
            "team:",
            "session:",
            "dm:",
            "dm:0:ab",
            "dm:1:a",
            "dm:2:ab",
            "dm:1:ba",
            "dm:1:aa",
            "dm:01:ab",
            "dm:x:ab",
            "dm:1:é",
            "dm:1000:ab",
            "announce:x",
            "teams:nord",
            "Team:nord",
        ] {
            assert_eq!(ChannelRef::parse(bad), None, "{bad:?}");
        }
    }

    /// Who reads, writes and pins which channel, one row each.
    #[test]
    fn reach_rules() {
        let team = ChannelRef::Team { team_id: "nord".into() };
        let announce = ChannelRef::Announcements;
        let dm = ChannelRef::direct("lea", "cap");
        let none = Reach { exists: true, ..Reach::default() };
        let member = Reach { member: true, ..none };
        let lead = Reach { leads: true, ..none };
        let coord = Reach { coordinator: true, ..none };
        let pair = Reach { pair_allowed: true, ..none };
        let gone = Reach { exists: false, coordinator: true, member: true, leads: true, pair_allowed: true };
        // (what, channel, reach, read, post, pin)
        let cases: &[(&str, &ChannelRef, Reach, bool, bool, bool)] = &[
            ("a team's volunteer", &team, member, true, true, false),
            ("a captain who leads the team", &team, lead, true, true, true),
            ("a coordinator", &team, coord, true, true, true),
            ("someone of another team", &team, none, false, false, false),
            ("another campaign's team (exists nowhere for them)", &team, gone, false, false, false),
            ("anyone of the campaign, announcements", &announce, member, true, false, false),
            ("a captain, announcements", &announce, Reach { member: true, ..lead }, true, false, true),
            ("a coordinator, announcements", &announce, coord, true, true, true),
            ("a pair that may talk", &dm, pair, true, true, false),
            ("a coordinator in a pair that may not talk", &dm, coord, false, false, false),
            ("a pair that may not talk", &dm, member, false, false, false),
        ];
        for (what, c, r, read, write, pin) in cases {
            assert_eq!((may_read(c, r), may_post(c, r), may_pin(c, r)), (*read, *write, *pin), "{what}");
        }
    }

    /// Every way a pushed event is decided, one row each: (what, event, facts, outcome).
    #[test]
    fn pushed_event_rules() {
        let member = MessageFacts {
            reach: Reach { exists: true, member: true, ..Reach::default() },
            last_seq: 10,
            read_seq: 4,
            ..MessageFacts::default()
        };
        let captain = MessageFacts { reach: Reach { leads: true, ..member.reach }, ..member.clone() };
        type Make = fn() -> MessageEvent;
        type Tweak = fn(&mut MessageFacts);
        let keep: Tweak = |_| {};
        fn hello() -> MessageEvent {
            post("team:nord", "On se retrouve où ?")
        }
        use MessageOutcome::*;
        let cases: &[(&str, Make, &MessageFacts, Tweak, MessageOutcome)] = &[
            ("a post by a member", hello, &member, keep, Post),
            (
                "a post with a street",
                || {
                    let mut e = hello();
                    e.action = MessageAction::Post {
                        body: "La rue Bisson est faite".into(),
                        reference: Some(MessageRef::Street { turf_id: "t1".into(), street: "Rue Bisson".into() }),
                    };
                    e
                },
                &member,
                keep,
                Post,
            ),
            ("a replay", hello, &member, |f| f.held_hash = Some(event_hash(&hello())), Duplicate),
            (
                "the same id, another body",
                hello,
                &member,
                |f| f.held_hash = Some("0".repeat(64)),
                Reject(MessageError::IdConflict),
            ),
            (
                "from another device",
                || MessageEvent { device_id: "dev-other".into(), ..hello() },
                &member,
                keep,
                Reject(MessageError::WrongSender),
            ),
            (
                "in someone else's name",
                || MessageEvent { author_id: "noe".into(), ..hello() },
                &member,
                keep,
                Reject(MessageError::WrongSender),
            ),
            (
                "not a device-made id",
                || MessageEvent { id: "m1".into(), ..hello() },
                &member,
                keep,
                Reject(MessageError::Malformed),
            ),
            (
                "not a channel",
                || MessageEvent { channel_id: "tout le monde".into(), ..hello() },
                &member,
                keep,
                Reject(MessageError::Malformed),
            ),
            ("blank", || post("team:nord", " \n\t "), &member, keep, Reject(MessageError::Empty)),
            (
                "too long",
                || post("team:nord", &"a".repeat(2001)),
                &member,
                keep,
                Reject(MessageError::Text(TextError::TooLong { field: "body".into(), max: 2000 })),
            ),
            ("on several lines", || post("team:nord", "Attention :\nchien au 12"), &member, keep, Post),
            (
                "with an escape character",
                || post("team:nord", "\u{1b}[2J"),
                &member,
                keep,
                Reject(MessageError::Text(TextError::ControlCharacter { field: "body".into() })),
            ),
            (
                "written before 1970",
                || MessageEvent { at_ms: -1, ..hello() },
                &member,
                keep,
                Reject(MessageError::BadTime),
            ),
            ("from a revoked phone", hello, &member, |f| f.revoked = true, Reject(MessageError::Revoked)),
            (
                "to a channel they do not read",
                hello,
                &member,
                |f| f.reach.member = false,
                Reject(MessageError::UnknownChannel),
            ),
            (
                "after the campaign's retention date",
                hello,
                &member,
                |f| f.past_retention = true,
                Reject(MessageError::RetentionOver),
            ),
            (
                "read further",
                || MessageEvent { action: MessageAction::Read { up_to: 7 }, ..hello() },
                &member,
                keep,
                Read(Some(7)),
            ),
            (
                "read past the last message",
                || MessageEvent { action: MessageAction::Read { up_to: 99 }, ..hello() },
                &member,
                keep,
                Read(Some(10)),
            ),
            (
                "read back (never goes back)",
                || MessageEvent { action: MessageAction::Read { up_to: 2 }, ..hello() },
                &member,
                keep,
                Read(None),
            ),
            (
                "read after retention (still recorded)",
                || MessageEvent { action: MessageAction::Read { up_to: 7 }, ..hello() },
                &member,
                |f| f.past_retention = true,
                Read(Some(7)),
            ),
            (
                "a volunteer pins",
                || MessageEvent { action: MessageAction::Pin { message_id: ID.into() }, ..hello() },
                &member,
                |f| f.pin_target_in_channel = true,
                Reject(MessageError::NotAllowed),
            ),
            (
                "a captain pins",
                || MessageEvent { action: MessageAction::Pin { message_id: ID.into() }, ..hello() },
                &captain,
                |f| f.pin_target_in_channel = true,
                Pin,
            ),
            (
                "a captain pins another channel's message",
                || MessageEvent { action: MessageAction::Pin { message_id: ID.into() }, ..hello() },
                &captain,
                keep,
                Reject(MessageError::UnknownMessage),
            ),
            ("a captain unpins", || MessageEvent { action: MessageAction::Unpin, ..hello() }, &captain, keep, Unpin),
            (
                "a volunteer posts an announcement",
                || post("announce", "Meeting ce soir"),
                &member,
                keep,
                Reject(MessageError::NotAllowed),
            ),
            (
                "a coordinator posts an announcement",
                || post("announce", "Meeting ce soir"),
                &member,
                |f| f.reach.coordinator = true,
                Post,
            ),
        ];
        for (what, make, base, tweak, want) in cases {
            let mut f = (*base).clone();
            tweak(&mut f);
            let e = make();
            assert_eq!(message_outcome(&e, ("dev-lea", "lea"), &f), *want, "{what}");
        }
    }

    /// The phone refuses what it can tell is refused: a channel it does not hold, posting where
    /// it may not post, pinning where it may not pin; reading is always allowed.
    #[test]
    fn phone_rules() {
        let view = ChannelView {
            id: "team:nord".into(),
            channel: ChannelRef::Team { team_id: "nord".into() },
            title: "Équipe nord".into(),
            last_seq: 3,
            read_seq: 1,
            can_post: true,
            can_pin: false,
            pinned: None,
            read_by: vec![],
        };
        let e = post("team:nord", "Bonjour");
        assert_eq!(check_on_phone(&e, Some(&view)), Ok(()));
        assert_eq!(check_on_phone(&e, None), Err(MessageError::UnknownChannel));
        let muted = ChannelView { can_post: false, ..view.clone() };
        assert_eq!(check_on_phone(&e, Some(&muted)), Err(MessageError::NotAllowed));
        let pin = MessageEvent { action: MessageAction::Pin { message_id: ID.into() }, ..e.clone() };
        assert_eq!(check_on_phone(&pin, Some(&view)), Err(MessageError::NotAllowed));
        let read = MessageEvent { action: MessageAction::Read { up_to: 3 }, ..e.clone() };
        assert_eq!(check_on_phone(&read, Some(&muted)), Ok(()));
        assert_eq!(check_on_phone(&post("team:nord", ""), Some(&view)), Err(MessageError::Empty));
    }

    /// The wire form of an event: the action an object tagged by its kind; unknown fields refused.
    #[test]
    fn wire_form() {
        let e = MessageEvent { action: MessageAction::Read { up_to: 3 }, ..post("dm:3:caplea", "") };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            (v["action"]["kind"].as_str(), v["action"]["up_to"].as_u64(), v["channel_id"].as_str()),
            (Some("read"), Some(3), Some("dm:3:caplea"))
        );
        assert_eq!(serde_json::from_value::<MessageEvent>(v.clone()).unwrap(), e);
        let mut extra = v.clone();
        extra["action"]["by"] = "someone".into();
        assert!(serde_json::from_value::<MessageEvent>(extra).is_err());
        let mut extra = v;
        extra["seq"] = 9.into();
        assert!(serde_json::from_value::<MessageEvent>(extra).is_err());
    }

    proptest! {
        /// The read marker only rises, never past the last message, whatever order the reads
        /// arrive in and however often they are replayed.
        #[test]
        fn the_read_marker_never_goes_back(reads in proptest::collection::vec((0u64..50, 0u64..50), 0..40)) {
            let mut marker = 0u64;
            let mut last = 0u64;
            for (up_to, grow) in reads {
                last += grow % 3;
                let before = marker;
                if let Some(m) = next_marker(marker, up_to, last) {
                    prop_assert!(m > before);
                    marker = m;
                }
                prop_assert!(marker >= before && marker <= last.max(before));
                // A replay of the same read changes nothing.
                prop_assert_eq!(next_marker(marker, up_to, last), None);
            }
        }

        /// A replayed event is a duplicate whatever else changed since, and a decision never
        /// panics on any text.
        #[test]
        fn replays_are_duplicates(body in "\\PC{0,40}", channel in "[a-z:]{0,12}", up_to in 0u64..100) {
            let mut e = post(&channel, &body);
            if up_to % 2 == 0 {
                e.action = MessageAction::Read { up_to };
            }
            let f = MessageFacts { held_hash: Some(event_hash(&e)), ..MessageFacts::default() };
            prop_assert_eq!(message_outcome(&e, ("dev-lea", "lea"), &f), MessageOutcome::Duplicate);
            let _ = message_outcome(&e, ("dev-lea", "lea"), &MessageFacts::default());
        }
    }
}
