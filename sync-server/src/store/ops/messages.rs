//! Team messages (issue 18): who reaches which channel (the facts the rule book needs, gathered
//! here), message events pushed by phones or written on the dashboard — decided by
//! `validate::message::message_outcome` and recorded in the same transaction, each post placed at
//! its channel's next `seq` under the channel's row lock — and the feed a person reads.

use doorstep_protocol::validate::message::{MessageFacts, MessageOutcome, Reach, event_hash, message_outcome};
use doorstep_protocol::{ChannelRef, ChannelView, Message, MessageAction, MessageEvent, PushItemResult, ReadCount};

use super::*;

/// Most messages served per channel in one feed (ask again while `more`).
pub const FEED_PAGE: i64 = 200;
/// How many of the caller's latest own messages per channel carry a read count.
const READ_COUNTS: i64 = 20;

/// What recording a push did: one answer per event, and the posts placed (for live dashboards).
#[derive(Debug, Clone, Default)]
pub struct MessagesRecorded {
    pub results: Vec<PushItemResult>,
    pub posted: Vec<(String, u64)>,
}

async fn user_in(tx: &mut dyn Tx, campaign_id: &str, id: &str) -> StoreResult<Option<User>> {
    super::pages::live_user(tx, campaign_id, id).await
}

async fn leads(tx: &mut dyn Tx, team_id: &str, user_id: &str) -> StoreResult<bool> {
    Ok(tx.row(SELECT_LEADS, &vals![team_id, user_id]).await?.is_some())
}

/// Who `me` is to a channel of their campaign.
pub async fn reach(tx: &mut dyn Tx, me: &User, channel: &ChannelRef) -> StoreResult<Reach> {
    let coordinator = me.role == Role::Coordinator;
    let mut r = Reach { coordinator, ..Reach::default() };
    match channel {
        ChannelRef::Team { team_id } => {
            r.exists = team_in(tx, &me.campaign_id, team_id).await.is_ok();
            r.member = me.team_id.as_deref() == Some(team_id.as_str());
            r.leads = me.role == Role::Captain && leads(tx, team_id, &me.id).await?;
        }
        ChannelRef::Session { session_id } => {
            let s = super::sessions::session(tx, session_id).await?.filter(|s| s.campaign_id == me.campaign_id);
            r.exists = s.is_some();
            r.leads = s.as_ref().is_some_and(|s| s.captains.contains(&me.id));
            let standing = tx.row(SELECT_STANDING, &vals![session_id.as_str(), me.id.as_str()]).await?;
            r.member = match standing {
                Some(row) => matches!(row[0].text()?.as_str(), "signed_up" | "confirmed" | "checked_in"),
                None => false,
            };
        }
        ChannelRef::Announcements => {
            r.exists = true;
            r.member = true;
        }
        ChannelRef::Direct { a, b } => {
            let other = if *a == me.id {
                b
            } else if *b == me.id {
                a
            } else {
                return Ok(r);
            };
            let Some(them) = user_in(tx, &me.campaign_id, other).await? else { return Ok(r) };
            r.exists = true;
            // A volunteer and a captain who leads their team; anyone and a coordinator.
            let my_captain = match &me.team_id {
                Some(t) if them.role == Role::Captain => leads(tx, t, &them.id).await?,
                _ => false,
            };
            let their_captain = match &them.team_id {
                Some(t) if me.role == Role::Captain => leads(tx, t, &me.id).await?,
                _ => false,
            };
            // …and two coopains (both said yes).
            let coopains = super::pages::link(tx, &me.campaign_id, &me.id, &them.id).await?
                == Some(doorstep_protocol::CoopainState::Linked);
            r.pair_allowed = coordinator || them.role == Role::Coordinator || my_captain || their_captain || coopains;
        }
    }
    Ok(r)
}

/// Decides and records message events, in order, in one transaction. `sender` is the token's
/// `(device, user)`; `revoked` whether that device was revoked; `past_retention` whether the
/// campaign is past its retention date.
pub async fn record_messages(
    tx: &mut dyn Tx,
    me: &User,
    device_id: &str,
    events: &[MessageEvent],
    revoked: bool,
    past_retention: bool,
    now_ms: i64,
) -> StoreResult<MessagesRecorded> {
    let mut out = MessagesRecorded::default();
    let campaign = me.campaign_id.as_str();
    for e in events {
        let held_hash = tx.row(SELECT_EVENT, &vals![e.id.as_str()]).await?.map(|r| r[0].text()).transpose()?;
        let channel = ChannelRef::parse(&e.channel_id);
        let mut f = MessageFacts { held_hash, revoked, past_retention, ..MessageFacts::default() };
        if let Some(c) = &channel {
            f.reach = reach(tx, me, c).await?;
        }
        if let Some(c) = channel.as_ref().filter(|c| doorstep_protocol::validate::message::may_read(c, &f.reach)) {
            // The channel's row, made if it is new and locked until commit: posts to one channel
            // are placed one after the other. (Only for a channel the sender reads: nobody makes
            // rows for channels that are not theirs.)
            let (a, b) = match c {
                ChannelRef::Direct { a, b } => (Some(a.clone()), Some(b.clone())),
                _ => (None, None),
            };
            tx.exec(INSERT_CHANNEL, &vals![campaign, e.channel_id.as_str(), a, b, now_ms]).await?;
            let row = tx.row(LOCK_CHANNEL, &vals![campaign, e.channel_id.as_str()]).await?;
            f.last_seq = row.map(|r| r[0].int()).transpose()?.unwrap_or(0) as u64;
            f.read_seq = tx
                .row(SELECT_MARKER, &vals![campaign, e.channel_id.as_str(), me.id.as_str()])
                .await?
                .map(|r| r[0].int())
                .transpose()?
                .unwrap_or(0) as u64;
            if let MessageAction::Pin { message_id } = &e.action {
                f.pin_target_in_channel = tx
                    .row(SELECT_IN_CHANNEL, &vals![message_id.as_str(), campaign, e.channel_id.as_str()])
                    .await?
                    .is_some();
            }
        }
        let outcome = message_outcome(e, (device_id, me.id.as_str()), &f);
        let kind = match (&outcome, &e.action) {
            (MessageOutcome::Duplicate | MessageOutcome::Reject(_), _) => None,
            (_, MessageAction::Post { .. }) => Some("post"),
            (_, MessageAction::Read { .. }) => Some("read"),
            (_, MessageAction::Pin { .. }) => Some("pin"),
            (_, MessageAction::Unpin) => Some("unpin"),
        };
        if let Some(kind) = kind {
            tx.exec(
                INSERT_EVENT,
                &vals![
                    e.id.as_str(),
                    campaign,
                    e.channel_id.as_str(),
                    me.id.as_str(),
                    device_id,
                    kind,
                    event_hash(e),
                    now_ms
                ],
            )
            .await?;
        }
        match (&outcome, &e.action) {
            (MessageOutcome::Post, MessageAction::Post { body, reference }) => {
                let seq = f.last_seq + 1;
                tx.exec(SET_LAST_SEQ, &vals![seq as i64, campaign, e.channel_id.as_str()]).await?;
                tx.exec(
                    INSERT_MESSAGE,
                    &vals![
                        e.id.as_str(),
                        campaign,
                        e.channel_id.as_str(),
                        seq as i64,
                        me.id.as_str(),
                        device_id,
                        body.as_str(),
                        reference.as_ref().map(json),
                        e.at_ms,
                        now_ms
                    ],
                )
                .await?;
                // Writing is not reading: written offline, it may land after posts its author never
                // saw (their marker moves when their phone says it read).
                out.posted.push((e.channel_id.clone(), seq));
            }
            (MessageOutcome::Read(Some(to)), _) => {
                tx.exec(UPSERT_MARKER, &vals![campaign, e.channel_id.as_str(), me.id.as_str(), *to as i64, now_ms])
                    .await?;
            }
            (MessageOutcome::Pin, MessageAction::Pin { message_id }) => {
                tx.exec(SET_PIN, &vals![Val::Text(message_id.clone()), campaign, e.channel_id.as_str()]).await?;
            }
            (MessageOutcome::Unpin, _) => {
                tx.exec(SET_PIN, &vals![Val::Null, campaign, e.channel_id.as_str()]).await?;
            }
            _ => {}
        }
        out.results.push(PushItemResult { id: e.id.clone(), status: outcome.status(), notice: None });
    }
    Ok(out)
}

fn message_from(r: &Row) -> StoreResult<Message> {
    Ok(Message {
        id: r[0].text()?,
        channel_id: r[1].text()?,
        seq: r[2].int()? as u64,
        author_id: r[3].text()?,
        author_name: r[4].text()?,
        body: r[5].text()?,
        reference: r[6].opt_text()?.map(|t| parse("message reference", &t)).transpose()?,
        written_ms: r[7].int()?,
        received_ms: r[8].int()?,
    })
}

/// The channels `me` reads: their team's, the teams they lead (a coordinator: every team's), the
/// sessions they are signed up to or captain that ended less than `lookback_ms` ago (a
/// coordinator: all of those), the announcements, the direct channels they have written or been
/// written in, and the direct channels with each captain of their team (a volunteer) and with
/// each coopain.
pub async fn channels_of(
    tx: &mut dyn Tx,
    me: &User,
    now_ms: i64,
    lookback_ms: i64,
) -> StoreResult<Vec<(ChannelRef, String)>> {
    let campaign = me.campaign_id.as_str();
    let mut out: Vec<(ChannelRef, String)> = Vec::new();
    for r in tx
        .rows(SELECT_TEAMS_OF, &vals![campaign, me.id.as_str(), me.team_id.clone(), me.role == Role::Coordinator])
        .await?
    {
        out.push((ChannelRef::Team { team_id: r[0].text()? }, r[1].text()?));
    }
    for c in super::sessions::campaign_sessions(tx, campaign, now_ms - lookback_ms).await? {
        let r = reach(tx, me, &ChannelRef::Session { session_id: c.session.id.clone() }).await?;
        if r.coordinator || r.leads || r.member {
            out.push((ChannelRef::Session { session_id: c.session.id.clone() }, c.session.title.clone()));
        }
    }
    out.push((ChannelRef::Announcements, "Annonces".to_string()));
    let mut others: Vec<String> = Vec::new();
    for r in tx.rows(SELECT_MY_DIRECT, &vals![campaign, me.id.as_str()]).await? {
        if let Some(ChannelRef::Direct { a, b }) = ChannelRef::parse(&r[0].text()?) {
            others.push(if a == me.id { b } else { a });
        }
    }
    if let Some(team) = &me.team_id {
        for r in tx.rows(SELECT_CAPTAINS_OF, &vals![team.as_str()]).await? {
            others.push(r[0].text()?);
        }
    }
    for (other, state) in super::pages::links(tx, campaign, &me.id).await? {
        if state == doorstep_protocol::CoopainState::Linked {
            others.push(other);
        }
    }
    others.sort();
    others.dedup();
    for other in others {
        if other == me.id {
            continue;
        }
        let c = ChannelRef::direct(&me.id, &other);
        if let Some(them) = user_in(tx, campaign, &other).await?
            && doorstep_protocol::validate::message::may_read(&c, &reach(tx, me, &c).await?)
        {
            let title = super::pages::ShownNames::default().shown(tx, me, &them.id, &them.display_name).await?;
            out.push((c, title));
        }
    }
    Ok(out)
}

/// The feed: each channel `me` reads as they see it, and its messages after `since` (a page per
/// channel). Past the campaign's retention date, no message comes back.
pub async fn feed(
    tx: &mut dyn Tx,
    me: &User,
    since: &std::collections::BTreeMap<String, u64>,
    past_retention: bool,
    now_ms: i64,
    lookback_ms: i64,
) -> StoreResult<(Vec<ChannelView>, Vec<Message>, bool)> {
    let campaign = me.campaign_id.as_str();
    let (mut views, mut messages, mut more) = (Vec::new(), Vec::new(), false);
    let mut names = super::pages::ShownNames::default();
    for (c, title) in channels_of(tx, me, now_ms, lookback_ms).await? {
        let id = c.id();
        let r = reach(tx, me, &c).await?;
        let (last_seq, pinned_id) = match tx.row(SELECT_CHANNEL, &vals![campaign, id.as_str()]).await? {
            Some(row) => (row[0].int()? as u64, row[1].opt_text()?),
            None => (0, None),
        };
        let read_seq = tx
            .row(SELECT_MARKER, &vals![campaign, id.as_str(), me.id.as_str()])
            .await?
            .map(|r| r[0].int())
            .transpose()?
            .unwrap_or(0);
        let mut pinned = None;
        let mut read_by = Vec::new();
        if !past_retention {
            if let Some(p) = pinned_id {
                pinned = tx.row(SELECT_MESSAGE, &vals![p.as_str()]).await?.as_ref().map(message_from).transpose()?;
            }
            for row in tx.rows(SELECT_READ_COUNTS, &vals![campaign, id.as_str(), me.id.as_str(), READ_COUNTS]).await? {
                read_by.push(ReadCount { seq: row[0].int()? as u64, readers: row[1].int()? as u32 });
            }
            read_by.reverse();
            let after = since.get(&id).copied().unwrap_or(0).min(i64::MAX as u64) as i64;
            let rows = tx.rows(SELECT_AFTER, &vals![campaign, id.as_str(), after, FEED_PAGE + 1]).await?;
            more |= rows.len() as i64 > FEED_PAGE;
            for row in rows.iter().take(FEED_PAGE as usize) {
                messages.push(message_from(row)?);
            }
        }
        if let Some(p) = pinned.as_mut() {
            p.author_name = names.shown(tx, me, &p.author_id, &p.author_name).await?;
        }
        views.push(ChannelView {
            id,
            can_post: doorstep_protocol::validate::message::may_post(&c, &r),
            can_pin: doorstep_protocol::validate::message::may_pin(&c, &r),
            channel: c,
            title,
            last_seq,
            read_seq: read_seq as u64,
            pinned,
            read_by,
        });
    }
    // Each author by the name this reader may see (a pseudonym where the name is kept from them).
    for m in &mut messages {
        m.author_name = names.shown(tx, me, &m.author_id, &m.author_name).await?;
    }
    Ok((views, messages, more))
}

/// Erases a campaign's messages past its retention date (the channels' places stay, so that a
/// phone's marks never point past them).
pub async fn purge(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<u64> {
    let n = tx.exec(DELETE_MESSAGES, &vals![campaign_id]).await?;
    tx.exec(UNPIN_ALL, &vals![campaign_id]).await?;
    Ok(n)
}

const SELECT_LEADS: &str = "SELECT 1 FROM team_captains WHERE team_id = $1 AND user_id = $2";
const SELECT_STANDING: &str = "SELECT state FROM session_signups WHERE session_id = $1 AND volunteer_id = $2";
const SELECT_EVENT: &str = "SELECT body_hash FROM message_events WHERE id = $1";
const INSERT_CHANNEL: &str = "INSERT INTO channels(campaign_id, id, last_seq, a, b, created_ms)
    VALUES ($1, $2, 0, $3, $4, $5) ON CONFLICT (campaign_id, id) DO NOTHING";
const LOCK_CHANNEL: &str =
    "UPDATE channels SET last_seq = last_seq WHERE campaign_id = $1 AND id = $2 RETURNING last_seq";
const SELECT_CHANNEL: &str = "SELECT last_seq, pinned FROM channels WHERE campaign_id = $1 AND id = $2";
const SET_LAST_SEQ: &str = "UPDATE channels SET last_seq = $1 WHERE campaign_id = $2 AND id = $3";
const SET_PIN: &str = "UPDATE channels SET pinned = $1 WHERE campaign_id = $2 AND id = $3";
const UNPIN_ALL: &str = "UPDATE channels SET pinned = NULL WHERE campaign_id = $1";
const SELECT_MARKER: &str = "SELECT seq FROM read_markers WHERE campaign_id = $1 AND channel_id = $2 AND user_id = $3";
const UPSERT_MARKER: &str = "INSERT INTO read_markers(campaign_id, channel_id, user_id, seq, updated_ms)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id, channel_id, user_id)
    DO UPDATE SET seq = excluded.seq, updated_ms = excluded.updated_ms WHERE read_markers.seq < excluded.seq";
const SELECT_IN_CHANNEL: &str = "SELECT 1 FROM messages WHERE id = $1 AND campaign_id = $2 AND channel_id = $3";
const INSERT_EVENT: &str = "INSERT INTO message_events(id, campaign_id, channel_id, author_id, device_id, kind,
    body_hash, received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_MESSAGE: &str = "INSERT INTO messages(id, campaign_id, channel_id, seq, author_id, device_id, body,
    reference, written_ms, received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const SELECT_MESSAGE: &str = "SELECT m.id, m.channel_id, m.seq, m.author_id, COALESCE(u.display_name, ''), m.body,
    m.reference, m.written_ms, m.received_ms FROM messages m LEFT JOIN users u ON u.id = m.author_id WHERE m.id = $1";
const SELECT_AFTER: &str = "SELECT m.id, m.channel_id, m.seq, m.author_id, COALESCE(u.display_name, ''), m.body,
    m.reference, m.written_ms, m.received_ms FROM messages m LEFT JOIN users u ON u.id = m.author_id
    WHERE m.campaign_id = $1 AND m.channel_id = $2 AND m.seq > $3 ORDER BY m.seq LIMIT $4";
const SELECT_READ_COUNTS: &str =
    "SELECT m.seq, (SELECT count(*) FROM read_markers r WHERE r.campaign_id = m.campaign_id
      AND r.channel_id = m.channel_id AND r.user_id <> m.author_id AND r.seq >= m.seq)
    FROM messages m WHERE m.campaign_id = $1 AND m.channel_id = $2 AND m.author_id = $3 ORDER BY m.seq DESC LIMIT $4";
const SELECT_TEAMS_OF: &str = "SELECT t.id, t.name FROM teams t WHERE t.campaign_id = $1
    AND (EXISTS (SELECT 1 FROM team_captains c WHERE c.team_id = t.id AND c.user_id = $2) OR t.id = $3 OR $4)
    ORDER BY t.name, t.id";
const SELECT_MY_DIRECT: &str = "SELECT id FROM channels WHERE campaign_id = $1 AND last_seq > 0
    AND (a = $2 OR b = $2) ORDER BY id";
const SELECT_CAPTAINS_OF: &str = "SELECT user_id FROM team_captains WHERE team_id = $1 ORDER BY user_id";
const DELETE_MESSAGES: &str = "DELETE FROM messages WHERE campaign_id = $1";
