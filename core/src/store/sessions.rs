//! Canvass sessions on the phone (issue 17): the sessions the server last listed for this phone,
//! and the volunteer's sign-up, confirmation and cancellation, decided here by the rule book
//! (`validate::session::decide_signup`, the server's own rule) with what the phone knows, written
//! offline into an outbox like knocks, and decided again by the server when pushed.

use doorstep_protocol::validate::session::{SignupFacts, decide_signup};
use doorstep_protocol::{Attendance, PROTOCOL_VERSION, PushResponse, Session, SignupEvent, SignupKind, SignupPush};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, meta_get};
use crate::error::{CoreError, Result};

/// A session as the app lists it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SessionView {
    pub id: String,
    pub title: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub meeting_lat: f64,
    pub meeting_lon: f64,
    pub meeting_text: String,
    pub capacity: u32,
    /// Places left when the server last said, less this phone's own pending sign-up.
    pub places_left: u32,
    pub cancelled: bool,
    /// The volunteer's standing, with what this phone has not pushed yet.
    pub standing: Option<Attendance>,
    /// A sign-up event of this phone is waiting for the network.
    pub pending: bool,
    /// This phone's user captains it.
    pub captain: bool,
    /// Their coopains who are going ("Léa, Noé"), as the server last said.
    pub coopains: Vec<String>,
}

/// One session and the volunteer's standing, as `GET /api/v1/sync/sessions` lists it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct ListedSession {
    pub session: Session,
    pub standing: Option<Attendance>,
    pub places_left: u32,
    #[serde(default)]
    pub coopains: Vec<String>,
}

fn takes_place(a: Option<Attendance>) -> bool {
    matches!(a, Some(Attendance::SignedUp | Attendance::Confirmed | Attendance::CheckedIn))
}

fn view(c: &Connection, id: &str) -> Result<SessionView> {
    let (body, server, places_left, local, coopains): (String, Option<String>, i64, Option<String>, Option<String>) = c
        .query_row("SELECT body, standing, places_left, local, coopains FROM sessions WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?
        .ok_or_else(|| CoreError::unknown("session", id))?;
    let s: Session = serde_json::from_str(&body)?;
    let (server, local) =
        (server.as_deref().and_then(Attendance::from_code), local.as_deref().and_then(Attendance::from_code));
    let pending: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM signup_outbox WHERE session_id = ?1 AND state = 'pending')",
        [id],
        |r| r.get(0),
    )?;
    let mut left = places_left.max(0) as u32;
    match (takes_place(server), takes_place(local)) {
        (false, true) => left = left.saturating_sub(1),
        (true, false) => left += 1,
        _ => {}
    }
    let me = meta_get(c, "user_id")?.unwrap_or_default();
    Ok(SessionView {
        captain: s.captains.contains(&me),
        coopains: coopains.map(|j| serde_json::from_str(&j)).transpose()?.unwrap_or_default(),
        id: s.id,
        title: s.title,
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        meeting_lat: s.meeting_lat,
        meeting_lon: s.meeting_lon,
        meeting_text: s.meeting_text,
        capacity: s.capacity,
        places_left: left,
        cancelled: s.cancelled,
        standing: local,
        pending,
    })
}

impl Store {
    /// Replaces the sessions the phone knows with the server's list (after its pending events
    /// were pushed: the server's standing then includes them).
    pub fn apply_sessions(&self, listed: &[ListedSession]) -> Result<()> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            // What this phone did and has not pushed stays its local standing.
            let kept: std::collections::HashMap<String, Option<String>> = tx
                .prepare(
                    "SELECT id, local FROM sessions WHERE id IN
                       (SELECT session_id FROM signup_outbox WHERE state = 'pending')",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            tx.execute("DELETE FROM sessions", [])?;
            for l in listed {
                let standing = l.standing.map(|a| a.code().to_string());
                let local = kept.get(&l.session.id).cloned().unwrap_or_else(|| standing.clone());
                tx.execute(
                    "INSERT INTO sessions(id, body, standing, places_left, local, fetched_ms, coopains)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        l.session.id,
                        serde_json::to_string(&l.session)?,
                        standing,
                        l.places_left,
                        local,
                        now,
                        serde_json::to_string(&l.coopains)?
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Keeps the reminders the server served (issue 17): new ones wait to be shown; one served
    /// again keeps its state (shown once); one of a session the phone no longer lists goes.
    pub fn apply_reminders(&self, served: &[doorstep_protocol::AppReminder]) -> Result<()> {
        self.write(|tx| {
            for r in served {
                tx.execute(
                    "INSERT INTO reminders(id, session_id, kind, due_ms, text) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (id) DO UPDATE SET text = excluded.text, due_ms = excluded.due_ms",
                    params![r.id, r.session_id, r.kind, r.due_ms, r.text],
                )?;
            }
            tx.execute("DELETE FROM reminders WHERE session_id NOT IN (SELECT id FROM sessions)", [])?;
            Ok(())
        })
    }

    /// The reminders to show now (served, not yet dismissed), oldest first.
    pub fn reminders(&self) -> Result<Vec<doorstep_protocol::AppReminder>> {
        self.read(|c| {
            c.prepare(
                "SELECT id, session_id, kind, due_ms, text FROM reminders WHERE shown_ms IS NULL ORDER BY due_ms, id",
            )?
            .query_map([], |r| {
                Ok(doorstep_protocol::AppReminder {
                    id: r.get(0)?,
                    session_id: r.get(1)?,
                    kind: r.get(2)?,
                    due_ms: r.get(3)?,
                    text: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()
            .map_err(Into::into)
        })
    }

    /// The volunteer has seen a reminder: it is not shown again, even when served again.
    pub fn dismiss_reminder(&self, id: &str) -> Result<()> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            tx.execute("UPDATE reminders SET shown_ms = ?1 WHERE id = ?2 AND shown_ms IS NULL", params![now, id])?;
            Ok(())
        })
    }

    /// The sessions the phone knows, soonest first.
    pub fn sessions(&self) -> Result<Vec<SessionView>> {
        self.read(|c| {
            let ids: Vec<String> = c
                .prepare("SELECT id FROM sessions ORDER BY json_extract(body, '$.start_ms'), id")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.iter().map(|id| view(c, id)).collect()
        })
    }

    /// Signs up for a session, confirms or cancels, with no network: decided by the rule book
    /// with what the phone knows (refused: nothing written, the reason said), written to the
    /// outbox, durable when this returns.
    pub fn sign_up(&self, session_id: &str, kind: SignupKind) -> Result<SessionView> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            let me = meta_get(tx, "user_id")?.ok_or_else(|| CoreError::NeedsSync("join first".into()))?;
            let before = view(tx, session_id)?;
            let (body, server, places_left): (String, Option<String>, i64) =
                tx.query_row("SELECT body, standing, places_left FROM sessions WHERE id = ?1", [session_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            let s: Session = serde_json::from_str(&body)?;
            // The places others hold, by the server's last word (its count included this user's).
            let mine_at_server = u32::from(takes_place(server.as_deref().and_then(Attendance::from_code)));
            let facts = SignupFacts {
                now_ms: now,
                session_end_ms: s.end_ms,
                session_cancelled: s.cancelled,
                capacity: s.capacity,
                taken_by_others: s.capacity.saturating_sub(places_left.max(0) as u32 + mine_at_server),
                current: before.standing,
                may_see: true,
                checkin_proven: false,
                sender_captains: false,
            };
            let e = SignupEvent {
                id: uuid::Uuid::now_v7().to_string(),
                session_id: session_id.to_string(),
                volunteer_id: me,
                device_id: self.device_id.clone(),
                kind,
                at_ms: now,
                proof: None,
            };
            let standing = decide_signup(&e, &facts).map_err(CoreError::Signup)?;
            tx.execute(
                "INSERT INTO signup_outbox(id, session_id, body, state, updated_ms) VALUES (?1, ?2, ?3, 'pending', ?4)",
                params![e.id, session_id, serde_json::to_string(&e)?, now],
            )?;
            tx.execute("UPDATE sessions SET local = ?1 WHERE id = ?2", params![standing.code(), session_id])?;
            view(tx, session_id)
        })
    }

    /// A captain's phone shows this code at the meeting point for `minutes` (at most 4 hours):
    /// whoever scans it while it is open is checked in. Made with no network, from the grant.
    pub fn checkin_code(&self, session_id: &str, minutes: u32) -> Result<String> {
        let now = self.clock.now_ms();
        let public = self.handoff_public_key()?;
        self.read(|c| {
            let body: String = c
                .query_row("SELECT body FROM grants WHERE session_id = ?1", [session_id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| CoreError::NeedsSync(format!("the grant for session {session_id}")))?;
            let grant: doorstep_protocol::SignedGrant = serde_json::from_str(&body)?;
            if grant.grant.public_key != public {
                return Err(CoreError::Handoff(doorstep_protocol::validate::handoff::HandoffError::GrantMismatch));
            }
            let doc = meta_get(c, "handoff_key")?
                .and_then(|t| doorstep_protocol::validate::handoff::decode_key(&t))
                .ok_or_else(|| CoreError::BadMessage("the hand-off key is gone".into()))?;
            let expires = now
                .saturating_add(i64::from(minutes.max(1)) * 60_000)
                .min(now.saturating_add(doorstep_protocol::validate::handoff::MAX_CHECKIN_MS))
                .min(grant.grant.expires_ms);
            let pass = doorstep_protocol::CheckinPass {
                session_id: session_id.to_string(),
                captain_id: grant.grant.captain_id.clone(),
                device_id: self.device_id.clone(),
                issued_ms: now,
                expires_ms: expires,
            };
            let signed = doorstep_protocol::validate::handoff::sign_checkin(&doc, pass, grant)
                .ok_or_else(|| CoreError::BadMessage("cannot sign".into()))?;
            doorstep_protocol::validate::handoff::checkin_to_qr(&signed).map_err(CoreError::Handoff)
        })
    }

    /// A volunteer's phone scans the captain's check-in code, with no network: checked against the
    /// campaign's key (a code of a session this phone knows, open now), decided by the rule book,
    /// written to the outbox with the code as its proof.
    pub fn check_in(&self, qr_text: &str) -> Result<SessionView> {
        use doorstep_protocol::validate::handoff::{check_checkin, read_checkin};
        let now = self.clock.now_ms();
        let pass = read_checkin(qr_text).map_err(CoreError::Handoff)?;
        self.write(|tx| {
            let key = meta_get(tx, "campaign_key")?.ok_or_else(|| CoreError::NeedsSync("the campaign's key".into()))?;
            check_checkin(qr_text, &key, &pass.pass.session_id, now).map_err(CoreError::Handoff)?;
            let me = meta_get(tx, "user_id")?.ok_or_else(|| CoreError::NeedsSync("join first".into()))?;
            let before = view(tx, &pass.pass.session_id)?;
            let body: String =
                tx.query_row("SELECT body FROM sessions WHERE id = ?1", [&pass.pass.session_id], |r| r.get(0))?;
            let s: Session = serde_json::from_str(&body)?;
            let facts = SignupFacts {
                now_ms: now,
                session_end_ms: s.end_ms,
                session_cancelled: s.cancelled,
                capacity: s.capacity,
                taken_by_others: 0,
                current: before.standing,
                may_see: true,
                checkin_proven: true,
                sender_captains: false,
            };
            let e = SignupEvent {
                id: uuid::Uuid::now_v7().to_string(),
                session_id: s.id.clone(),
                volunteer_id: me,
                device_id: self.device_id.clone(),
                kind: SignupKind::CheckIn,
                at_ms: now,
                proof: Some(qr_text.trim().to_string()),
            };
            let standing = decide_signup(&e, &facts).map_err(CoreError::Signup)?;
            tx.execute(
                "INSERT INTO signup_outbox(id, session_id, body, state, updated_ms) VALUES (?1, ?2, ?3, 'pending', ?4)",
                params![e.id, s.id, serde_json::to_string(&e)?, now],
            )?;
            tx.execute("UPDATE sessions SET local = ?1 WHERE id = ?2", params![standing.code(), s.id])?;
            view(tx, &s.id)
        })
    }

    /// A captain's phone checks a volunteer in (one it sees at the meeting point), with no network:
    /// written to the outbox; the server takes it from a captain of the session only.
    pub fn confirm_check_in(&self, session_id: &str, volunteer_id: &str) -> Result<()> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            // (`captain` compares the session's captains with this phone's user: joined first.)
            if meta_get(tx, "user_id")?.is_none() {
                return Err(CoreError::NeedsSync("join first".into()));
            }
            if !view(tx, session_id)?.captain {
                return Err(CoreError::Signup(doorstep_protocol::validate::session::SignupError::Unproven));
            }
            let e = SignupEvent {
                id: uuid::Uuid::now_v7().to_string(),
                session_id: session_id.to_string(),
                volunteer_id: volunteer_id.to_string(),
                device_id: self.device_id.clone(),
                kind: SignupKind::CheckIn,
                at_ms: now,
                proof: None,
            };
            tx.execute(
                "INSERT INTO signup_outbox(id, session_id, body, state, updated_ms) VALUES (?1, ?2, ?3, 'pending', ?4)",
                params![e.id, session_id, serde_json::to_string(&e)?, now],
            )?;
            Ok(())
        })
    }

    /// The sign-up events not yet answered, for a push (oldest first).
    pub fn export_pending_signups(&self) -> Result<SignupPush> {
        self.read(|c| {
            let events = super::pending_events(c, "signup_outbox")?;
            Ok(SignupPush { protocol: PROTOCOL_VERSION, device_id: self.device_id.clone(), events })
        })
    }

    /// The server's answers to a sign-up push.
    pub fn apply_signup_response(&self, resp: &PushResponse) -> Result<u32> {
        let now = self.clock.now_ms();
        self.write(|tx| super::apply_answers(tx, "signup_outbox", resp, now))
    }
}
