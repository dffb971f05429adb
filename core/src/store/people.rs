//! The team's people on the phone (issue 18): the person's own page and its settings, their
//! coopains and asks, their team — as the server last described them, with what was written here
//! since laid over it. Page settings and coopain steps are checked by the rule book
//! (`validate::people`), written offline into an outbox (durable when the call returns) and
//! pushed at the next sync.

use doorstep_protocol::validate::people::{check_event, coopain_next};
use doorstep_protocol::{
    CoopainState, CoopainStep, PROTOCOL_VERSION, PeopleAction, PeopleEvent, PeoplePush, PeopleView, ProfileSettings,
    PushResponse, VolunteerPage,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, meta_get};
use crate::error::{CoreError, Result};

/// A person as the app shows them: each field the viewer may not see is empty.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PersonCard {
    pub user_id: String,
    pub name: String,
    /// `volunteer`, `captain` or `coordinator`.
    pub role: String,
    pub has_photo: bool,
    pub bio: Option<String>,
    pub teams: Vec<String>,
    pub sessions_attended: Option<u32>,
    pub doors: Option<u32>,
    pub conversations: Option<u32>,
    /// "Léa a frappé 40 portes rue Bisson", newest first (coopains, by default).
    pub activity: Vec<String>,
    /// The turfs they hold now (coopains, by default): where to join them.
    pub turfs: Vec<String>,
    /// `linked`, `asked_by_me`, `asked_by_them`, or none.
    pub coopain: Option<String>,
    /// A step written here is waiting for the network.
    pub pending: bool,
}

/// What the app's people screens show.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PeopleSnapshot {
    /// This person's own page (`None` before the first sync).
    pub me: Option<PersonCard>,
    /// The settings as they will be once what waits here is sent.
    pub settings: ProfileSettings,
    /// Coopains and asks, both ways.
    pub coopains: Vec<PersonCard>,
    /// The rest of the team: people to ask.
    pub team: Vec<PersonCard>,
    /// People events waiting for the network.
    pub pending: u32,
}

fn state_code(s: CoopainState) -> &'static str {
    match s {
        CoopainState::Linked => "linked",
        CoopainState::AskedByMe => "asked_by_me",
        CoopainState::AskedByThem => "asked_by_them",
    }
}

fn card(p: &VolunteerPage, coopain: Option<CoopainState>, pending: bool) -> PersonCard {
    PersonCard {
        user_id: p.user_id.clone(),
        name: p.shown_name.clone(),
        role: p.role.clone(),
        has_photo: p.has_photo,
        bio: p.bio.clone(),
        teams: p.teams.clone().unwrap_or_default(),
        sessions_attended: p.sessions_attended,
        doors: p.doors,
        conversations: p.conversations,
        activity: p.activity.clone().unwrap_or_default(),
        turfs: p.turfs.clone().unwrap_or_default(),
        coopain: coopain.map(|s| state_code(s).to_string()),
        pending,
    }
}

fn view(c: &Connection) -> Result<Option<PeopleView>> {
    let body: Option<String> = c.query_row("SELECT body FROM people_view WHERE id = 1", [], |r| r.get(0)).optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(CoreError::from)).transpose()
}

fn pending(c: &Connection) -> Result<Vec<PeopleEvent>> {
    let bodies: Vec<String> = c
        .prepare("SELECT body FROM people_outbox WHERE state = 'pending' ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    bodies.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}

/// The link with `other` as the server said it, then each step written here since (a step the
/// rule book would refuse changes nothing).
fn link_now(v: Option<&PeopleView>, waiting: &[PeopleEvent], other: &str) -> (Option<CoopainState>, bool) {
    let mut state = v.and_then(|v| v.coopains.iter().find(|p| p.user_id == other)).and_then(|p| p.coopain);
    let mut touched = false;
    for e in waiting {
        if let PeopleAction::Coopain { user_id, step } = &e.action
            && user_id == other
        {
            touched = true;
            if let Ok(next) = coopain_next(state, *step) {
                state = next;
            }
        }
    }
    (state, touched)
}

impl Store {
    fn write_people(&self, action: PeopleAction, check: impl FnOnce(&Connection) -> Result<()>) -> Result<()> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            let author = meta_get(tx, "user_id")?.ok_or_else(|| CoreError::NeedsSync("join first".into()))?;
            let e = PeopleEvent {
                id: uuid::Uuid::now_v7().to_string(),
                author_id: author,
                device_id: self.device_id.clone(),
                at_ms: now,
                action,
            };
            check_event(&e).map_err(CoreError::People)?;
            check(tx)?;
            tx.execute(
                "INSERT INTO people_outbox(id, body, state, updated_ms) VALUES (?1, ?2, 'pending', ?3)",
                params![e.id, serde_json::to_string(&e)?, now],
            )?;
            Ok(())
        })
    }

    /// Replaces this person's page settings (pseudonym, a few words, who sees each field), with no
    /// network: checked, kept in the outbox, shown at once.
    pub fn set_profile(&self, settings: ProfileSettings) -> Result<()> {
        self.write_people(PeopleAction::Profile { settings }, |_| Ok(()))
    }

    /// A coopain step (ask, accept, end) towards someone, with no network. Accepting needs an ask
    /// from them that this phone knows of.
    pub fn coopain(&self, user_id: &str, step: CoopainStep) -> Result<()> {
        let other = user_id.to_string();
        self.write_people(PeopleAction::Coopain { user_id: user_id.to_string(), step }, |c| {
            let (state, _) = link_now(view(c)?.as_ref(), &pending(c)?, &other);
            coopain_next(state, step).map(|_| ()).map_err(CoreError::People)
        })
    }

    /// What the people screens show: the server's last word with what waits here laid over it.
    pub fn people(&self) -> Result<PeopleSnapshot> {
        self.read(|c| {
            let v = view(c)?;
            let waiting = pending(c)?;
            let mut settings = v.as_ref().and_then(|v| v.me.settings.clone()).unwrap_or_default();
            for e in &waiting {
                if let PeopleAction::Profile { settings: s } = &e.action {
                    settings = s.clone();
                }
            }
            let me = v.as_ref().map(|v| {
                let mut me =
                    card(&v.me, None, waiting.iter().any(|e| matches!(e.action, PeopleAction::Profile { .. })));
                me.bio = settings.bio.clone();
                if let Some(p) = &settings.pseudonym
                    && v.me.name.is_none()
                {
                    me.name = p.clone();
                }
                me
            });
            let everyone: Vec<&VolunteerPage> =
                v.as_ref().map(|v| v.coopains.iter().chain(v.team.iter()).collect()).unwrap_or_default();
            let (mut coopains, mut team) = (Vec::new(), Vec::new());
            for p in everyone {
                let (state, touched) = link_now(v.as_ref(), &waiting, &p.user_id);
                let c = card(p, state, touched);
                if state.is_some() { coopains.push(c) } else { team.push(c) }
            }
            coopains.sort_by(|a, b| a.name.cmp(&b.name));
            team.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(PeopleSnapshot { me, settings, coopains, team, pending: waiting.len() as u32 })
        })
    }

    /// Keeps what the server said about this person's people.
    pub fn apply_people_view(&self, v: &PeopleView) -> Result<()> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO people_view(id, body, fetched_ms) VALUES (1, ?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET body = excluded.body, fetched_ms = excluded.fetched_ms",
                params![serde_json::to_string(v)?, now],
            )?;
            Ok(())
        })
    }

    /// The people events not yet answered, for a push (oldest first).
    pub fn export_pending_people(&self) -> Result<PeoplePush> {
        self.read(|c| {
            let events = super::pending_events(c, "people_outbox")?;
            Ok(PeoplePush { protocol: PROTOCOL_VERSION, device_id: self.device_id.clone(), events })
        })
    }

    /// The server's answers to a people push.
    pub fn apply_people_response(&self, resp: &PushResponse) -> Result<u32> {
        let now = self.clock.now_ms();
        self.write(|tx| super::apply_answers(tx, "people_outbox", resp, now))
    }

    /// Everything written here that the server has not answered yet: knocks, hand-offs, sign-ups,
    /// messages, people events. Nothing is deleted while this is not zero.
    pub fn unsent_total(&self) -> Result<u32> {
        self.read(|c| {
            let mut n = 0i64;
            for sql in [
                "SELECT count(*) FROM outbox WHERE state = 'pending'",
                "SELECT count(DISTINCT id) FROM handoffs WHERE state = 'pending'",
                "SELECT count(*) FROM signup_outbox WHERE state = 'pending'",
                "SELECT count(*) FROM message_outbox WHERE state = 'pending'",
                "SELECT count(*) FROM people_outbox WHERE state = 'pending'",
            ] {
                n += c.query_row(sql, [], |r| r.get::<_, i64>(0))?;
            }
            Ok(n as u32)
        })
    }
}
