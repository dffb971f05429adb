//! Sessions: whether a session may be published, what a sign-up event does to a volunteer's
//! standing, who did not come, and whether a phone is at the meeting point. The phone decides with
//! what it holds (its own clock, the last count of places it pulled); the server decides again
//! with its own facts when the event arrives, by the same function.

use crate::session::{Attendance, Session, SignupEvent, SignupKind, Visibility};
use crate::validate::answers::validate_lat_lon;
use crate::validate::report::{MAX_DEVICE_TIME_MS, is_report_id};
use crate::validate::text::{TextError, TextKind, check_text};

/// Longest session: a day.
pub const MAX_SESSION_MS: i64 = 24 * 3_600_000;
/// Most volunteers a session takes.
pub const MAX_CAPACITY: u32 = 500;
/// Most turfs a session covers (what a captain may hand out).
pub const MAX_SESSION_TURFS: usize = 200;
/// A phone this close to the meeting point may be checked in by the captain without the code.
pub const CHECKIN_RADIUS_M: f64 = 150.0;

/// Why a session cannot be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("identifiant de séance vide / a session needs an id")]
    EmptyId,
    #[error("dates hors limites / session times out of range")]
    BadTime,
    #[error("la séance finit avant de commencer / a session must end after it starts")]
    EndsBeforeStart,
    #[error("une séance dure au plus 24 h / a session lasts at most 24 hours")]
    TooLong,
    #[error("capacité entre 1 et {MAX_CAPACITY} / capacity must be between 1 and {MAX_CAPACITY}")]
    Capacity,
    #[error("au moins un capitaine / a session needs a captain")]
    NoCaptain,
    #[error("au plus {MAX_SESSION_TURFS} secteurs / at most {MAX_SESSION_TURFS} turfs")]
    TooManyTurfs,
    #[error("une séance d'équipe nomme son équipe / a team session names its team")]
    TeamMissing,
    #[error("point de rendez-vous invalide / meeting point out of range")]
    MeetingPoint,
    #[error(
        "les horaires d'une séance publiée ne changent pas : annulez-la et publiez-en une autre / a published session's times do not change: call it off and publish another"
    )]
    TimesFixed,
    #[error("une séance annulée le reste / a called-off session stays called off")]
    CalledOffFinal,
    #[error(
        "{taken} places déjà prises : la capacité ne descend pas en dessous / {taken} places already taken: capacity cannot go below"
    )]
    BelowTaken { taken: u32 },
    #[error("une séance garde son identifiant, sa campagne et son équipe / a session keeps its id, campaign and team")]
    Identity,
    #[error(transparent)]
    Text(#[from] TextError),
}

/// Whether a session may be published (by a coordinator or captain, online).
pub fn check_session(s: &Session) -> Result<(), SessionError> {
    check_text("id", &s.id, TextKind::Id)?;
    check_text("title", &s.title, TextKind::Name)?;
    check_text("meeting_text", &s.meeting_text, TextKind::Free)?;
    for c in &s.captains {
        check_text("captains", c, TextKind::Id)?;
    }
    for t in &s.turfs {
        check_text("turfs", t, TextKind::Id)?;
    }
    if s.id.is_empty() {
        return Err(SessionError::EmptyId);
    }
    let in_range = |t: i64| (0..=MAX_DEVICE_TIME_MS).contains(&t);
    if !in_range(s.start_ms) || !in_range(s.end_ms) {
        return Err(SessionError::BadTime);
    }
    if s.end_ms <= s.start_ms {
        return Err(SessionError::EndsBeforeStart);
    }
    if s.end_ms - s.start_ms > MAX_SESSION_MS {
        return Err(SessionError::TooLong);
    }
    if s.capacity == 0 || s.capacity > MAX_CAPACITY {
        return Err(SessionError::Capacity);
    }
    if s.captains.is_empty() {
        return Err(SessionError::NoCaptain);
    }
    if s.turfs.len() > MAX_SESSION_TURFS {
        return Err(SessionError::TooManyTurfs);
    }
    if s.visibility == Visibility::Team && s.team_id.is_none() {
        return Err(SessionError::TeamMissing);
    }
    validate_lat_lon(s.meeting_lat, s.meeting_lon).map_err(|_| SessionError::MeetingPoint)?;
    Ok(())
}

/// Whether a published session may become `new` (an edit by a coordinator or one of its captains,
/// online), `taken` places being held now (volunteers signed up, confirmed or checked in, and
/// supporters signed up on the public page). What is published is kept: the same id, campaign and
/// team; the same times (phones offline hold them, reminders are planned on them: moving a session
/// is calling it off and publishing another); a called-off session is not reopened; capacity never
/// below the places taken. Everything else may change: title, meeting point, capacity, captains
/// (a captain taken off hands out nothing more: their hand-offs are refused from then on), turfs,
/// visibility, calling it off.
pub fn check_edit(old: &Session, new: &Session, taken: u32) -> Result<(), SessionError> {
    check_session(new)?;
    if (&old.id, &old.campaign_id, &old.team_id) != (&new.id, &new.campaign_id, &new.team_id) {
        return Err(SessionError::Identity);
    }
    if (old.start_ms, old.end_ms) != (new.start_ms, new.end_ms) {
        return Err(SessionError::TimesFixed);
    }
    if old.cancelled && !new.cancelled {
        return Err(SessionError::CalledOffFinal);
    }
    if !new.cancelled && new.capacity < taken {
        return Err(SessionError::BelowTaken { taken });
    }
    Ok(())
}

/// Whether a volunteer (of `campaign_id`, in team `team_id` if any) may see a session: a team
/// session its team's volunteers; a campaign or public one every volunteer of the campaign.
pub fn may_see(s: &Session, campaign_id: &str, team_id: Option<&str>) -> bool {
    s.campaign_id == campaign_id
        && match s.visibility {
            Visibility::Team => s.team_id.is_some() && s.team_id.as_deref() == team_id,
            Visibility::Campaign | Visibility::Public => true,
        }
}

/// What the one deciding knows when a sign-up event is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupFacts {
    /// The decider's clock (the phone's own, or the server's when the event arrives).
    pub now_ms: i64,
    pub session_end_ms: i64,
    pub session_cancelled: bool,
    pub capacity: u32,
    /// Places taken by other volunteers (signed up, confirmed or checked in).
    pub taken_by_others: u32,
    /// The volunteer's standing before this event.
    pub current: Option<Attendance>,
    /// Whether the volunteer may see the session at all (its team, or its campaign).
    pub may_see: bool,
    /// For a check-in: its proof holds ([`checkin_proven`]).
    pub checkin_proven: bool,
    /// The one pushing the event is a captain of the session (who may check others in).
    pub sender_captains: bool,
}

/// Whether a check-in event is proven: confirmed by a captain of the session on their own phone,
/// or carrying the text of a check-in code of this session open when the volunteer scanned it
/// (`validate::handoff::check_checkin`, with the campaign's key).
pub fn checkin_proven(e: &SignupEvent, campaign_key: &str, sender_captains: bool) -> bool {
    match &e.proof {
        None => sender_captains,
        Some(text) => crate::validate::handoff::check_checkin(text, campaign_key, &e.session_id, e.at_ms).is_ok(),
    }
}

/// Why a sign-up event changes nothing. The phone shows the reason; the server answers it as a
/// rejection (never retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignupError {
    #[error("l'identifiant n'est pas un UUIDv7 en minuscules / id must be a lowercase UUIDv7")]
    BadId,
    #[error("séance inconnue / unknown session")]
    Unknown,
    #[error("séance terminée / the session is over")]
    Over,
    #[error("séance annulée / the session was called off")]
    CalledOff,
    #[error("séance complète / the session is full")]
    Full,
    #[error("pas inscrit à cette séance / not signed up for this session")]
    NotSignedUp,
    #[error("déjà accueilli : rien à annuler / already checked in")]
    CheckedIn,
    #[error("accueil sans code du capitaine valable / check-in without a valid code from the captain")]
    Unproven,
}

impl SignupError {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            SignupError::BadId => "bad_id",
            SignupError::Unknown => "unknown_session",
            SignupError::Over => "session_over",
            SignupError::CalledOff => "session_called_off",
            SignupError::Full => "session_full",
            SignupError::NotSignedUp => "not_signed_up",
            SignupError::CheckedIn => "checked_in",
            SignupError::Unproven => "checkin_unproven",
        }
    }
}

/// The volunteer's standing after `e`. Replaying an event gives the same standing (signing up
/// twice, confirming twice, cancelling twice); check-in is not a volunteer's event (the captain's
/// phone records it).
pub fn decide_signup(e: &SignupEvent, f: &SignupFacts) -> Result<Attendance, SignupError> {
    use Attendance::*;
    if !is_report_id(&e.id) {
        return Err(SignupError::BadId);
    }
    if !f.may_see {
        // Never say more about a session one may not see than about one that does not exist.
        return Err(SignupError::Unknown);
    }
    let over = f.now_ms >= f.session_end_ms;
    match (e.kind, f.current) {
        // Standing that an event cannot move.
        (_, Some(NoShow)) => Err(SignupError::Over),
        (SignupKind::SignUp | SignupKind::Confirm | SignupKind::CheckIn, Some(CheckedIn)) => Ok(CheckedIn),
        (SignupKind::Cancel, Some(CheckedIn)) => Err(SignupError::CheckedIn),
        _ if over => Err(SignupError::Over),
        (SignupKind::Cancel, _) => Ok(Cancelled),
        _ if f.session_cancelled => Err(SignupError::CalledOff),
        // Someone at the meeting point is checked in, signed up or not (a walk-in), full or not.
        (SignupKind::CheckIn, _) if f.checkin_proven => Ok(CheckedIn),
        (SignupKind::CheckIn, _) => Err(SignupError::Unproven),
        (SignupKind::SignUp, Some(s @ (SignedUp | Confirmed))) => Ok(s),
        (SignupKind::SignUp, None | Some(Cancelled)) => {
            if f.taken_by_others >= f.capacity {
                Err(SignupError::Full)
            } else {
                Ok(SignedUp)
            }
        }
        (SignupKind::Confirm, Some(SignedUp | Confirmed)) => Ok(Confirmed),
        (SignupKind::Confirm, None | Some(Cancelled)) => Err(SignupError::NotSignedUp),
    }
}

/// SHA-256 of a sign-up event as pushed (its JSON), hex: the same id with another body is an id
/// conflict, never a silent duplicate.
pub fn signup_hash(e: &SignupEvent) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(e).expect("an event serialises");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// How the server answers one pushed sign-up event, and the standing to store (`None`: nothing
/// changes). `held_hash` is the hash of an event already held under the same id; `sender` is the
/// token's user and device.
pub fn signup_outcome(
    e: &SignupEvent,
    held_hash: Option<&str>,
    sender: (&str, &str),
    f: &SignupFacts,
) -> (crate::sync::ItemStatus, Option<Attendance>) {
    use crate::sync::ItemStatus;
    let reject = |reason: String, code: &str| (ItemStatus::Rejected { reason, code: Some(code.into()) }, None);
    // A volunteer pushes their own events; a session's captain may also check others in.
    let for_another = e.volunteer_id != sender.0 && e.kind == SignupKind::CheckIn && f.sender_captains;
    if e.device_id != sender.1 || (e.volunteer_id != sender.0 && !for_another) {
        return reject(
            "événement fait par un autre appareil ou bénévole / event made by another device or volunteer".into(),
            "wrong_sender",
        );
    }
    match held_hash {
        Some(h) if h == signup_hash(e) => (ItemStatus::Duplicate, None),
        Some(_) => reject(
            "même identifiant, contenu différent / this id was already used for a different event".into(),
            "id_conflict",
        ),
        None => match decide_signup(e, f) {
            Ok(a) => (ItemStatus::Accepted, Some(a)),
            Err(err) => reject(err.to_string(), err.code()),
        },
    }
}

/// The standing once the session is over: signed up or confirmed and never checked in is a
/// no-show; everything else stays.
pub fn standing_after(current: Attendance, now_ms: i64, session_end_ms: i64) -> Attendance {
    match current {
        Attendance::SignedUp | Attendance::Confirmed if now_ms >= session_end_ms => Attendance::NoShow,
        other => other,
    }
}

/// How long before a session its turfs are sent sealed to the phones of those signed up and of
/// its captains.
pub const STAGE_BEFORE_MS: i64 = 24 * 3_600_000;

/// Whether a user's phone holds a session's turfs sealed now: the session is not called off, it
/// starts within [`STAGE_BEFORE_MS`] or has started, its captains' grants still run
/// ([`crate::validate::handoff::GRANT_AFTER_MS`] after its end), and the user captains it or
/// stands signed up, confirmed or checked in.
pub fn stages(s: &Session, user_id: &str, standing: Option<Attendance>, now_ms: i64) -> bool {
    let window =
        s.start_ms.saturating_sub(STAGE_BEFORE_MS)..s.end_ms.saturating_add(crate::validate::handoff::GRANT_AFTER_MS);
    let involved = s.captains.iter().any(|c| c == user_id)
        || matches!(standing, Some(Attendance::SignedUp | Attendance::Confirmed | Attendance::CheckedIn));
    !s.cancelled && window.contains(&now_ms) && involved
}

/// Whether a phone at `(lat, lon)` is within [`CHECKIN_RADIUS_M`] of the meeting point
/// (equirectangular distance: exact to the metre at this range).
pub fn at_meeting_point(s: &Session, lat: f64, lon: f64) -> bool {
    const M_PER_DEG: f64 = 111_195.0;
    let k = s.meeting_lat.to_radians().cos();
    let (dx, dy) = ((lon - s.meeting_lon) * k * M_PER_DEG, (lat - s.meeting_lat) * M_PER_DEG);
    (dx * dx + dy * dy).sqrt() <= CHECKIN_RADIUS_M
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn session() -> Session {
        Session {
            id: "s-marche-nord".into(),
            campaign_id: "nantes-2026".into(),
            title: "Samedi matin, quartier nord".into(),
            start_ms: 1_780_000_000_000,
            end_ms: 1_780_000_000_000 + 3 * 3_600_000,
            meeting_lat: 47.2184,
            meeting_lon: -1.5536,
            meeting_text: "Devant le marché, côté fontaine".into(),
            capacity: 12,
            captains: vec!["cap".into()],
            turfs: vec!["t1".into(), "t2".into()],
            team_id: None,
            visibility: Visibility::Campaign,
            cancelled: false,
        }
    }

    /// Every rule of a session's publication, one row each.
    #[test]
    fn session_rules() {
        type Edit = fn(&mut Session);
        let cases: &[(&str, Edit, Option<SessionError>)] = &[
            ("as made", |_| {}, None),
            ("ends at its start", |s| s.end_ms = s.start_ms, Some(SessionError::EndsBeforeStart)),
            ("ends before", |s| s.end_ms = s.start_ms - 1, Some(SessionError::EndsBeforeStart)),
            ("no id", |s| s.id.clear(), Some(SessionError::EmptyId)),
            // Found by schemathesis: the duration overflowed.
            ("starts at the dawn of i64", |s| s.start_ms = i64::MIN, Some(SessionError::BadTime)),
            ("ends at the end of i64", |s| s.end_ms = i64::MAX, Some(SessionError::BadTime)),
            ("before 1970", |s| s.start_ms = -1, Some(SessionError::BadTime)),
            ("a whole day", |s| s.end_ms = s.start_ms + MAX_SESSION_MS, None),
            ("longer than a day", |s| s.end_ms = s.start_ms + MAX_SESSION_MS + 1, Some(SessionError::TooLong)),
            ("no place", |s| s.capacity = 0, Some(SessionError::Capacity)),
            ("too many places", |s| s.capacity = MAX_CAPACITY + 1, Some(SessionError::Capacity)),
            ("the most places", |s| s.capacity = MAX_CAPACITY, None),
            ("no captain", |s| s.captains.clear(), Some(SessionError::NoCaptain)),
            ("no turf yet", |s| s.turfs.clear(), None),
            (
                "too many turfs",
                |s| s.turfs = (0..=MAX_SESSION_TURFS).map(|i| format!("t{i}")).collect(),
                Some(SessionError::TooManyTurfs),
            ),
            ("team session without its team", |s| s.visibility = Visibility::Team, Some(SessionError::TeamMissing)),
            (
                "team session with its team",
                |s| {
                    s.visibility = Visibility::Team;
                    s.team_id = Some("nord".into());
                },
                None,
            ),
            ("meeting point off the globe", |s| s.meeting_lat = 91.0, Some(SessionError::MeetingPoint)),
            ("meeting point not a number", |s| s.meeting_lon = f64::NAN, Some(SessionError::MeetingPoint)),
            (
                "a title on two lines",
                |s| s.title = "Samedi\nmatin".into(),
                Some(SessionError::Text(TextError::ControlCharacter { field: "title".into() })),
            ),
            ("meeting text on two lines", |s| s.meeting_text = "Devant le marché\ncôté fontaine".into(), None),
        ];
        for (name, edit, want) in cases {
            let mut s = session();
            edit(&mut s);
            assert_eq!(check_session(&s).err(), *want, "{name}");
        }
    }

    /// Every rule of a session's edit, one row each: (edit, places taken, outcome).
    #[test]
    fn edit_rules() {
        type Edit = fn(&mut Session);
        let cases: &[(&str, Edit, u32, Option<SessionError>)] = &[
            ("unchanged", |_| {}, 5, None),
            ("a new title and meeting text", |s| s.title = "Samedi, quartier nord".into(), 5, None),
            ("another captain instead", |s| s.captains = vec!["cap2".into()], 5, None),
            ("no captain left", |s| s.captains.clear(), 0, Some(SessionError::NoCaptain)),
            ("a turf taken off", |s| s.turfs = vec!["t1".into()], 5, None),
            ("more places", |s| s.capacity = 20, 12, None),
            ("as many places as taken", |s| s.capacity = 5, 5, None),
            ("fewer places than taken", |s| s.capacity = 4, 5, Some(SessionError::BelowTaken { taken: 5 })),
            (
                "called off with fewer places",
                |s| {
                    s.cancelled = true;
                    s.capacity = 1;
                },
                5,
                None,
            ),
            ("called off", |s| s.cancelled = true, 5, None),
            ("moved an hour later", |s| s.start_ms += 3_600_000, 0, Some(SessionError::TimesFixed)),
            ("ends later", |s| s.end_ms += 3_600_000, 0, Some(SessionError::TimesFixed)),
            ("another id", |s| s.id = "s-autre".into(), 0, Some(SessionError::Identity)),
            ("another campaign", |s| s.campaign_id = "lyon".into(), 0, Some(SessionError::Identity)),
            (
                "moved to a team",
                |s| {
                    s.team_id = Some("nord".into());
                },
                0,
                Some(SessionError::Identity),
            ),
            (
                "a broken title",
                |s| s.title = "a\nb".into(),
                0,
                Some(SessionError::Text(TextError::ControlCharacter { field: "title".into() })),
            ),
        ];
        for (name, edit, taken, want) in cases {
            let mut s = session();
            edit(&mut s);
            assert_eq!(check_edit(&session(), &s, *taken).err(), *want, "{name}");
        }
        // A called-off session is not reopened.
        let off = Session { cancelled: true, ..session() };
        assert_eq!(check_edit(&off, &session(), 0).err(), Some(SessionError::CalledOffFinal));
        assert_eq!(check_edit(&off, &off, 0).err(), None);
    }

    fn event(kind: SignupKind) -> SignupEvent {
        SignupEvent {
            id: "0190a0b0-0000-7000-8000-000000000001".into(),
            session_id: "s-marche-nord".into(),
            volunteer_id: "lea".into(),
            device_id: "dev-lea".into(),
            kind,
            at_ms: 1_779_990_000_000,
            proof: None,
        }
    }

    /// Every way a sign-up event is decided, one row each: (event, standing before, facts changed,
    /// outcome).
    #[test]
    fn signup_rules() {
        use Attendance::*;
        use SignupKind::*;
        let before_end = 1_780_000_000_000;
        let facts = |current: Option<Attendance>| SignupFacts {
            now_ms: before_end,
            session_end_ms: before_end + 3_600_000,
            session_cancelled: false,
            capacity: 12,
            taken_by_others: 3,
            current,
            may_see: true,
            checkin_proven: true,
            sender_captains: false,
        };
        type Edit = fn(&mut SignupFacts);
        let none: Edit = |_| {};
        let full: Edit = |f| f.taken_by_others = 12;
        let over: Edit = |f| f.now_ms = f.session_end_ms;
        let off: Edit = |f| f.session_cancelled = true;
        let hidden: Edit = |f| f.may_see = false;
        let unproven: Edit = |f| f.checkin_proven = false;
        type Row = (SignupKind, Option<Attendance>, Edit, Result<Attendance, SignupError>);
        let cases: &[Row] = &[
            (SignUp, None, none, Ok(SignedUp)),
            (SignUp, Some(SignedUp), none, Ok(SignedUp)),
            (SignUp, Some(Confirmed), none, Ok(Confirmed)),
            (SignUp, Some(Cancelled), none, Ok(SignedUp)),
            (SignUp, Some(CheckedIn), none, Ok(CheckedIn)),
            (SignUp, None, full, Err(SignupError::Full)),
            (SignUp, Some(SignedUp), full, Ok(SignedUp)), // a replay keeps its place
            (SignUp, Some(Cancelled), full, Err(SignupError::Full)),
            (SignUp, None, over, Err(SignupError::Over)),
            (SignUp, None, off, Err(SignupError::CalledOff)),
            (SignUp, None, hidden, Err(SignupError::Unknown)),
            (SignUp, Some(NoShow), none, Err(SignupError::Over)),
            (Confirm, Some(SignedUp), none, Ok(Confirmed)),
            (Confirm, Some(Confirmed), none, Ok(Confirmed)),
            (Confirm, Some(CheckedIn), none, Ok(CheckedIn)),
            (Confirm, None, none, Err(SignupError::NotSignedUp)),
            (Confirm, Some(Cancelled), none, Err(SignupError::NotSignedUp)),
            (Confirm, Some(SignedUp), off, Err(SignupError::CalledOff)),
            (Confirm, Some(SignedUp), over, Err(SignupError::Over)),
            (Cancel, Some(SignedUp), none, Ok(Cancelled)),
            (Cancel, Some(Confirmed), none, Ok(Cancelled)),
            (Cancel, Some(Cancelled), none, Ok(Cancelled)),
            (Cancel, None, none, Ok(Cancelled)), // a cancel whose sign-up was refused
            (Cancel, Some(SignedUp), off, Ok(Cancelled)), // called off: cancelling is still fine
            (Cancel, Some(SignedUp), full, Ok(Cancelled)),
            (Cancel, Some(CheckedIn), none, Err(SignupError::CheckedIn)),
            (Cancel, Some(SignedUp), over, Err(SignupError::Over)),
            (Cancel, Some(NoShow), none, Err(SignupError::Over)),
            (Cancel, None, hidden, Err(SignupError::Unknown)),
            (CheckIn, Some(SignedUp), none, Ok(CheckedIn)),
            (CheckIn, Some(Confirmed), none, Ok(CheckedIn)),
            (CheckIn, None, none, Ok(CheckedIn)), // a walk-in
            (CheckIn, None, full, Ok(CheckedIn)), // there in person: a full session takes them in
            (CheckIn, Some(Cancelled), none, Ok(CheckedIn)),
            (CheckIn, Some(CheckedIn), unproven, Ok(CheckedIn)), // a replay
            (CheckIn, Some(SignedUp), unproven, Err(SignupError::Unproven)),
            (CheckIn, Some(SignedUp), over, Err(SignupError::Over)),
            (CheckIn, Some(SignedUp), off, Err(SignupError::CalledOff)),
            (CheckIn, Some(NoShow), none, Err(SignupError::Over)),
            (CheckIn, None, hidden, Err(SignupError::Unknown)),
        ];
        for (kind, current, edit, want) in cases {
            let mut f = facts(*current);
            edit(&mut f);
            assert_eq!(decide_signup(&event(*kind), &f), *want, "{kind:?} from {current:?}");
        }
        let mut bad = event(SignUp);
        bad.id = "not-a-uuid".into();
        assert_eq!(decide_signup(&bad, &facts(None)), Err(SignupError::BadId));
    }

    /// What the server answers a pushed event: accepted with its standing, a replay as a
    /// duplicate, the same id with another body or someone else's event as a rejection.
    #[test]
    fn pushed_signup_outcomes() {
        use crate::sync::ItemStatus;
        let f = SignupFacts {
            now_ms: 0,
            session_end_ms: 10,
            session_cancelled: false,
            capacity: 12,
            taken_by_others: 12,
            current: None,
            may_see: true,
            checkin_proven: false,
            sender_captains: false,
        };
        let e = event(SignupKind::SignUp);
        let me = ("lea", "dev-lea");
        let code = |s: ItemStatus| match s {
            ItemStatus::Rejected { code, .. } => code.unwrap(),
            other => format!("{other:?}"),
        };
        let open = SignupFacts { taken_by_others: 0, ..f.clone() };
        assert_eq!(signup_outcome(&e, None, me, &open), (ItemStatus::Accepted, Some(Attendance::SignedUp)));
        // A replay stays a duplicate, even now that the session is full.
        assert_eq!(signup_outcome(&e, Some(&signup_hash(&e)), me, &f), (ItemStatus::Duplicate, None));
        let other = SignupEvent { kind: SignupKind::Cancel, ..e.clone() };
        assert_eq!(code(signup_outcome(&other, Some(&signup_hash(&e)), me, &open).0), "id_conflict");
        assert_eq!(code(signup_outcome(&e, None, ("noe", "dev-lea"), &open).0), "wrong_sender");
        assert_eq!(code(signup_outcome(&e, None, ("lea", "dev-noe"), &open).0), "wrong_sender");
        assert_eq!(code(signup_outcome(&e, None, me, &f).0), "session_full");
        assert_ne!(signup_hash(&e), signup_hash(&other));
        // A captain of the session checks Léa in from their own phone; nobody else may.
        let by_captain = SignupEvent { device_id: "dev-cap".into(), ..event(SignupKind::CheckIn) };
        let captains = SignupFacts { sender_captains: true, checkin_proven: true, ..open.clone() };
        assert_eq!(signup_outcome(&by_captain, None, ("cap", "dev-cap"), &captains).1, Some(Attendance::CheckedIn));
        let not_captain = SignupFacts { sender_captains: false, ..captains.clone() };
        assert_eq!(code(signup_outcome(&by_captain, None, ("cap", "dev-cap"), &not_captain).0), "wrong_sender");
        let signs_up_for_her = SignupEvent { device_id: "dev-cap".into(), ..event(SignupKind::SignUp) };
        assert_eq!(code(signup_outcome(&signs_up_for_her, None, ("cap", "dev-cap"), &captains).0), "wrong_sender");
    }

    /// Deciding an event again from the standing it produced changes nothing (replay-safe).
    #[test]
    fn every_signup_decision_is_a_fixed_point() {
        use Attendance::*;
        for kind in [SignupKind::SignUp, SignupKind::Confirm, SignupKind::Cancel, SignupKind::CheckIn] {
            for current in [None, Some(SignedUp), Some(Confirmed), Some(CheckedIn), Some(Cancelled), Some(NoShow)] {
                for taken in [0, 11, 12] {
                    let f = SignupFacts {
                        now_ms: 0,
                        session_end_ms: 10,
                        session_cancelled: false,
                        capacity: 12,
                        taken_by_others: taken,
                        current,
                        may_see: true,
                        checkin_proven: true,
                        sender_captains: false,
                    };
                    if let Ok(next) = decide_signup(&event(kind), &f) {
                        let again = SignupFacts { current: Some(next), ..f };
                        assert_eq!(decide_signup(&event(kind), &again), Ok(next), "{kind:?} {current:?} {taken}");
                    }
                }
            }
        }
    }

    /// Who sees a session: (visibility, session's team, volunteer's campaign, volunteer's team).
    #[test]
    fn who_sees_a_session() {
        type Row<'a> = (Visibility, Option<&'a str>, &'a str, Option<&'a str>, bool);
        let cases: &[Row] = &[
            (Visibility::Campaign, None, "nantes-2026", None, true),
            (Visibility::Campaign, None, "nantes-2026", Some("sud"), true),
            (Visibility::Public, None, "nantes-2026", None, true),
            (Visibility::Campaign, None, "lyon-2027", None, false), // another campaign's volunteer
            (Visibility::Public, None, "lyon-2027", None, false),
            (Visibility::Team, Some("nord"), "nantes-2026", Some("nord"), true),
            (Visibility::Team, Some("nord"), "nantes-2026", Some("sud"), false),
            (Visibility::Team, Some("nord"), "nantes-2026", None, false),
            (Visibility::Team, None, "nantes-2026", None, false), // never published (check_session)
        ];
        for &(visibility, team, campaign, volunteer_team, want) in cases {
            let s = Session { visibility, team_id: team.map(str::to_string), ..session() };
            assert_eq!(
                may_see(&s, campaign, volunteer_team),
                want,
                "{visibility:?} {team:?} {campaign} {volunteer_team:?}"
            );
        }
    }

    #[test]
    fn no_shows_and_the_meeting_point() {
        use Attendance::*;
        for (current, after) in
            [(SignedUp, NoShow), (Confirmed, NoShow), (CheckedIn, CheckedIn), (Cancelled, Cancelled), (NoShow, NoShow)]
        {
            assert_eq!(standing_after(current, 10, 10), after);
            assert_eq!(standing_after(current, 9, 10), current, "not over yet");
        }
        let s = session();
        // 0.001° of latitude is 111 m; of longitude at 47° N, 76 m.
        assert!(at_meeting_point(&s, s.meeting_lat, s.meeting_lon));
        assert!(at_meeting_point(&s, s.meeting_lat + 0.001, s.meeting_lon + 0.001));
        assert!(!at_meeting_point(&s, s.meeting_lat + 0.0014, s.meeting_lon));
        assert!(at_meeting_point(&s, s.meeting_lat, s.meeting_lon + 0.0019));
        assert!(!at_meeting_point(&s, s.meeting_lat, s.meeting_lon + 0.0021));
    }

    /// Who holds a session's turfs sealed, and when.
    #[test]
    fn staging_rules() {
        let s = session();
        let hour = 3_600_000;
        let after = crate::validate::handoff::GRANT_AFTER_MS;
        let cases: &[(&str, &str, Option<Attendance>, i64, bool)] = &[
            ("signed up, the day before", "lea", Some(Attendance::SignedUp), s.start_ms - 20 * hour, true),
            ("signed up, two days before", "lea", Some(Attendance::SignedUp), s.start_ms - 48 * hour, false),
            ("confirmed, during", "lea", Some(Attendance::Confirmed), s.start_ms + hour, true),
            (
                "checked in, after the end, while grants run",
                "lea",
                Some(Attendance::CheckedIn),
                s.end_ms + after - 1,
                true,
            ),
            ("checked in, once grants ended", "lea", Some(Attendance::CheckedIn), s.end_ms + after, false),
            ("cancelled", "lea", Some(Attendance::Cancelled), s.start_ms, false),
            ("a no-show", "lea", Some(Attendance::NoShow), s.start_ms, false),
            ("never signed up", "lea", None, s.start_ms, false),
            ("its captain", "cap", None, s.start_ms, true),
        ];
        for (name, who, standing, now, want) in cases {
            assert_eq!(stages(&s, who, *standing, *now), *want, "{name}");
        }
        let off = Session { cancelled: true, ..s.clone() };
        assert!(!stages(&off, "cap", None, s.start_ms), "called off");
    }

    /// A standing's stable text is its wire name, and reads back.
    #[test]
    fn attendance_codes_are_the_wire_names() {
        for a in Attendance::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.code());
            assert_eq!(Attendance::from_code(a.code()), Some(a));
        }
        assert_eq!(Attendance::from_code("present"), None);
    }
}
