//! Session reminders (issue 17): which reminders a person gets for a session, and whether a due
//! one is sent now. Pure functions: the server plans rows with them when someone signs up (from a
//! phone or the public page) and decides each due row with them before it sends; a phone can plan
//! its own local notifications with the same [`plan`].
//!
//! A reminder is one row per (session, person, kind, channel): planned once, sent once. Through
//! retries and restarts nobody gets one twice (the row's state moves forward only, the sender
//! claims a row before it sends) or none at all (the row is written in the same transaction as the
//! sign-up, before the answer).

use crate::{Attendance, Session};

/// The day-before reminder goes out this long before the start…
pub const DAY_BEFORE_MS: i64 = 24 * 3_600_000;
/// …and the last one this long before.
pub const TWO_HOURS_MS: i64 = 2 * 3_600_000;
/// A reminder that failed is tried this many times in all, then left failed (shown to the staff).
pub const MAX_ATTEMPTS: u32 = 5;
/// A row claimed by a sender that never finished (the process died) is sent again after this.
pub const CLAIM_TIMEOUT_MS: i64 = 10 * 60_000;

/// Which reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// 24 hours before the start.
    DayBefore,
    /// 2 hours before the start.
    TwoHours,
    /// Sent at once to someone who signed up after a reminder's time had passed.
    Late,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::DayBefore, Kind::TwoHours, Kind::Late];

    pub fn code(self) -> &'static str {
        match self {
            Kind::DayBefore => "day_before",
            Kind::TwoHours => "two_hours",
            Kind::Late => "late",
        }
    }

    pub fn from_code(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// How long before the start a scheduled reminder is due (none for `Late`).
    pub fn lead_ms(self) -> Option<i64> {
        match self {
            Kind::DayBefore => Some(DAY_BEFORE_MS),
            Kind::TwoHours => Some(TWO_HOURS_MS),
            Kind::Late => None,
        }
    }
}

/// How a reminder reaches its person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Shown by the app at its next sync (a volunteer with a phone).
    App,
    /// An e-mail through the campaign's SMTP relay (a volunteer or a public sign-up with an address).
    Email,
    /// A text through the campaign's SMS provider (issue 19): a volunteer who gave a number and
    /// consented to session reminders by text; it passes the compliance gate when it is due.
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::App, Channel::Email, Channel::Sms];

    pub fn code(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn from_code(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// Where a planned row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowState {
    /// Waiting for its time (or for another try after a failure).
    Pending,
    /// Claimed by a sender that is sending it now.
    Sending,
    Sent,
    /// Tried [`MAX_ATTEMPTS`] times in vain.
    Failed,
    /// Not sent, and never will be as things stand (the person cancelled, the session was called
    /// off or started): planned again if the person signs up again.
    Dropped,
}

impl RowState {
    pub const ALL: [RowState; 5] =
        [RowState::Pending, RowState::Sending, RowState::Sent, RowState::Failed, RowState::Dropped];

    pub fn code(self) -> &'static str {
        match self {
            RowState::Pending => "pending",
            RowState::Sending => "sending",
            RowState::Sent => "sent",
            RowState::Failed => "failed",
            RowState::Dropped => "dropped",
        }
    }

    pub fn from_code(s: &str) -> Option<RowState> {
        RowState::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// Whether a standing still wants reminders: signed up or confirmed, not yet there.
pub fn wants_reminders(standing: Option<Attendance>) -> bool {
    matches!(standing, Some(Attendance::SignedUp | Attendance::Confirmed))
}

/// The rows to write (insert, or re-arm a dropped one) for a person whose standing with `session`
/// just changed, given the rows they already have (`existing`: kind, channel, state) and the
/// channels that reach them. Nothing for a session called off or started, or a standing that
/// wants no reminder; for each channel, each scheduled reminder still ahead, and one `Late`
/// reminder at once when a reminder's time has passed with none written for it.
pub fn plan(
    session: &Session,
    standing: Option<Attendance>,
    channels: &[Channel],
    existing: &[(Kind, Channel, RowState)],
    now_ms: i64,
) -> Vec<(Kind, Channel, i64)> {
    let mut out = Vec::new();
    if session.cancelled || now_ms >= session.start_ms || !wants_reminders(standing) {
        return out;
    }
    let live = |k: Kind, c: Channel| existing.iter().any(|&(ek, ec, s)| ek == k && ec == c && s != RowState::Dropped);
    let mut seen = Vec::new();
    for &c in channels {
        if seen.contains(&c) {
            continue;
        }
        seen.push(c);
        let mut missed = false;
        for k in [Kind::DayBefore, Kind::TwoHours] {
            let due = session.start_ms - k.lead_ms().unwrap_or(0);
            if live(k, c) {
                continue;
            }
            if due > now_ms {
                out.push((k, c, due));
            } else {
                missed = true;
            }
        }
        if missed && !live(Kind::Late, c) {
            out.push((Kind::Late, c, now_ms));
        }
    }
    out
}

/// What to do with a due row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendDecision {
    /// Send it now.
    Send,
    /// Not yet (its time has not come).
    Wait,
    /// Never, with the reason recorded on the row.
    Drop(&'static str),
}

/// Whether a pending row is sent now: never for a session called off or started, nor to someone
/// who cancelled or is already there; otherwise when its time has come.
pub fn decide_send(session: &Session, standing: Option<Attendance>, due_ms: i64, now_ms: i64) -> SendDecision {
    if session.cancelled {
        SendDecision::Drop("called_off")
    } else if now_ms >= session.start_ms {
        SendDecision::Drop("started")
    } else if !wants_reminders(standing) {
        SendDecision::Drop("not_signed_up")
    } else if due_ms > now_ms {
        SendDecision::Wait
    } else {
        SendDecision::Send
    }
}

/// After a failed try (the `attempts`-th): tried again later (1, 2, 4, 8 minutes…) or given up.
pub fn after_failure(attempts: u32, now_ms: i64) -> (RowState, i64) {
    if attempts >= MAX_ATTEMPTS {
        (RowState::Failed, now_ms)
    } else {
        (RowState::Pending, now_ms + 60_000 * (1_i64 << attempts.saturating_sub(1).min(10)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Visibility;

    const H: i64 = 3_600_000;
    const START: i64 = 100 * H;

    fn session() -> Session {
        Session {
            id: "s1".into(),
            campaign_id: "c1".into(),
            title: "Marché".into(),
            start_ms: START,
            end_ms: START + 3 * H,
            meeting_lat: 47.2,
            meeting_lon: -1.55,
            meeting_text: "Devant le marché".into(),
            capacity: 10,
            captains: vec![],
            turfs: vec![],
            team_id: None,
            visibility: Visibility::Public,
            cancelled: false,
        }
    }

    use Attendance::*;
    use Channel::*;
    use Kind::*;
    use RowState::*;

    /// The plan's case table: (case, standing, channels, existing rows, now, expected rows).
    #[allow(clippy::type_complexity)]
    #[test]
    fn plan_cases() {
        let cases: Vec<(
            &str,
            Option<Attendance>,
            Vec<Channel>,
            Vec<(Kind, Channel, RowState)>,
            i64,
            Vec<(Kind, Channel, i64)>,
        )> = vec![
            (
                "signed up days ahead: both reminders on each channel",
                Some(SignedUp),
                vec![App, Email],
                vec![],
                START - 72 * H,
                vec![
                    (DayBefore, App, START - 24 * H),
                    (TwoHours, App, START - 2 * H),
                    (DayBefore, Email, START - 24 * H),
                    (TwoHours, Email, START - 2 * H),
                ],
            ),
            (
                "signed up 5 h before: the day-before one is missed, one late reminder at once",
                Some(SignedUp),
                vec![Email],
                vec![],
                START - 5 * H,
                vec![(TwoHours, Email, START - 2 * H), (Late, Email, START - 5 * H)],
            ),
            (
                "signed up 1 h before: one late reminder only",
                Some(SignedUp),
                vec![App],
                vec![],
                START - H,
                vec![(Late, App, START - H)],
            ),
            (
                "a replay plans nothing more",
                Some(SignedUp),
                vec![App],
                vec![(DayBefore, App, Pending), (TwoHours, App, Pending)],
                START - 72 * H,
                vec![],
            ),
            (
                "confirming after the day-before one was sent plans nothing",
                Some(Confirmed),
                vec![App],
                vec![(DayBefore, App, Sent), (TwoHours, App, Pending)],
                START - 10 * H,
                vec![],
            ),
            (
                "a late one already written is not written again",
                Some(SignedUp),
                vec![App],
                vec![(TwoHours, App, Pending), (Late, App, Sent)],
                START - 3 * H,
                vec![],
            ),
            (
                "signing up again re-arms dropped rows",
                Some(SignedUp),
                vec![App],
                vec![(DayBefore, App, Dropped), (TwoHours, App, Dropped)],
                START - 30 * H,
                vec![(DayBefore, App, START - 24 * H), (TwoHours, App, START - 2 * H)],
            ),
            (
                "a failed row is not planned again",
                Some(SignedUp),
                vec![Email],
                vec![(DayBefore, Email, Failed), (TwoHours, Email, Pending)],
                START - 20 * H,
                vec![],
            ),
            ("cancelled: nothing", Some(Cancelled), vec![App], vec![], START - 72 * H, vec![]),
            ("checked in: nothing", Some(CheckedIn), vec![App], vec![], START - H, vec![]),
            ("no standing: nothing", None, vec![App], vec![], START - 72 * H, vec![]),
            ("started: nothing", Some(SignedUp), vec![App], vec![], START, vec![]),
            ("no channel: nothing", Some(SignedUp), vec![], vec![], START - 72 * H, vec![]),
            (
                "a channel twice counts once",
                Some(SignedUp),
                vec![App, App],
                vec![],
                START - H,
                vec![(Late, App, START - H)],
            ),
        ];
        for (case, standing, channels, existing, now, want) in cases {
            assert_eq!(plan(&session(), standing, &channels, &existing, now), want, "{case}");
        }
        let mut off = session();
        off.cancelled = true;
        assert!(plan(&off, Some(SignedUp), &[App], &[], START - 72 * H).is_empty(), "called off: nothing");
    }

    #[test]
    fn send_cases() {
        let cases = [
            ("due: send", Some(SignedUp), START - 24 * H, START - 24 * H, SendDecision::Send),
            ("due and confirmed: send", Some(Confirmed), START - 2 * H, START - H, SendDecision::Send),
            ("not yet due: wait", Some(SignedUp), START - 2 * H, START - 3 * H, SendDecision::Wait),
            ("cancelled since: drop", Some(Cancelled), START - 2 * H, START - H, SendDecision::Drop("not_signed_up")),
            ("checked in early: drop", Some(CheckedIn), START - 2 * H, START - H, SendDecision::Drop("not_signed_up")),
            (
                "the server was down past the start: drop",
                Some(SignedUp),
                START - 2 * H,
                START + 1,
                SendDecision::Drop("started"),
            ),
        ];
        for (case, standing, due, now, want) in cases {
            assert_eq!(decide_send(&session(), standing, due, now), want, "{case}");
        }
        let mut off = session();
        off.cancelled = true;
        assert_eq!(decide_send(&off, Some(SignedUp), START - 2 * H, START - H), SendDecision::Drop("called_off"));
    }

    #[test]
    fn failures_back_off_then_give_up() {
        assert_eq!(after_failure(1, 0), (RowState::Pending, 60_000));
        assert_eq!(after_failure(2, 0), (RowState::Pending, 120_000));
        assert_eq!(after_failure(4, 0), (RowState::Pending, 480_000));
        assert_eq!(after_failure(MAX_ATTEMPTS, 7), (RowState::Failed, 7));
    }

    #[test]
    fn codes_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_code(k.code()), Some(k));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::from_code(c.code()), Some(c));
        }
        for s in RowState::ALL {
            assert_eq!(RowState::from_code(s.code()), Some(s));
        }
    }

    proptest::proptest! {
        /// Planning twice (a replayed sign-up, a restart) never adds a row: the second plan, fed the
        /// rows the first wrote, is empty; and every planned row is due before the start.
        #[test]
        fn planning_is_idempotent(now in 0i64..START + H, email: bool, confirmed: bool) {
            let channels = if email { vec![App, Email] } else { vec![App] };
            let standing = Some(if confirmed { Confirmed } else { SignedUp });
            let first = plan(&session(), standing, &channels, &[], now);
            let written: Vec<_> = first.iter().map(|&(k, c, _)| (k, c, Pending)).collect();
            proptest::prop_assert!(plan(&session(), standing, &channels, &written, now).is_empty());
            for (_, _, due) in first {
                proptest::prop_assert!(due < START && due >= now.min(START));
            }
        }
    }
}
