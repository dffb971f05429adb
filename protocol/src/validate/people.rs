//! Volunteer pages and coopains (issue 18): who sees which field of a page ([`shown`], [`page`]),
//! what a page's settings may hold, what a people event may be, and the coopain link that exists
//! only when both sides said yes ([`coopain_next`]). The phone checks an event before writing it
//! ([`check_event`]); the server decides again with its own facts ([`people_outcome`]).

use crate::people::{Audience, CoopainState, CoopainStep, PeopleAction, PeopleEvent, ProfileSettings, VolunteerPage};
use crate::sync::ItemStatus;
use crate::validate::report::{MAX_DEVICE_TIME_MS, is_report_id};
use crate::validate::text::{TextError, TextKind, check_text};

/// Longest pseudonym, in characters.
pub const MAX_PSEUDONYM_CHARS: usize = 40;
/// Longest "few words", in characters.
pub const MAX_BIO_CHARS: usize = 280;
/// Most coopains (linked or asked by the person) one person may have: a coopain is someone one
/// canvasses with, not a follower.
pub const MAX_COOPAINS: u32 = 50;

/// Why a people event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeopleError {
    #[error("envoyé par un autre appareil que celui de son auteur / not sent by its author's device")]
    WrongSender,
    #[error("identifiant illisible / not a people event id")]
    Malformed,
    #[error("heure hors limites / time out of range")]
    BadTime,
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("pseudonyme vide ou trop long (40 caractères au plus) / pseudonym empty or longer than 40 characters")]
    BadPseudonym,
    #[error("présentation trop longue (280 caractères au plus) / a page's words are at most 280 characters")]
    BadBio,
    #[error("on ne devient pas son propre coopain / one cannot be one's own coopain")]
    Yourself,
    #[error("personne inconnue dans cette campagne / no such person in this campaign")]
    UnknownPerson,
    #[error("les coordinateurs n'ont pas de coopains / coordinators have no coopains")]
    NotForCoordinators,
    #[error("aucune demande à accepter / no ask to accept")]
    NoAsk,
    #[error("50 coopains au plus / at most 50 coopains")]
    TooMany,
    #[error("même identifiant, contenu différent / this id was already used for another event")]
    IdConflict,
    #[error("appareil révoqué / this device was revoked")]
    Revoked,
    #[error("tapez SUPPRIMER pour confirmer / type SUPPRIMER to confirm")]
    NotConfirmed,
}

impl PeopleError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PeopleError::WrongSender => "wrong_sender",
            PeopleError::Malformed => "people_malformed",
            PeopleError::BadTime => "bad_time",
            PeopleError::Text(_) => "bad_text",
            PeopleError::BadPseudonym => "bad_pseudonym",
            PeopleError::BadBio => "bad_bio",
            PeopleError::Yourself => "coopain_yourself",
            PeopleError::UnknownPerson => "unknown_person",
            PeopleError::NotForCoordinators => "coopain_coordinator",
            PeopleError::NoAsk => "no_ask",
            PeopleError::TooMany => "too_many_coopains",
            PeopleError::IdConflict => "id_conflict",
            PeopleError::Revoked => "revoked",
            PeopleError::NotConfirmed => "confirmation_required",
        }
    }
}

/// Who the viewer is to the person whose page it is, gathered by the storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// The viewer's own page.
    pub me: bool,
    pub coordinator: bool,
    /// Same team, or a captain who leads the person's team, or the person leads the viewer's.
    pub team: bool,
    /// Linked coopains (an ask is not a link).
    pub coopain: bool,
}

/// Whether a field with visibility `v` is shown to a viewer. Everything is inside the campaign:
/// the storage never builds a relation across campaigns.
pub fn shown(v: Audience, r: &Relation) -> bool {
    r.me || match v {
        Audience::Campaign => true,
        Audience::Team => r.team || r.coordinator,
        Audience::Coopains => r.coopain,
        Audience::OnlyMe => false,
    }
}

/// The name is shown as its visibility says, and always to coordinators (they invited the person
/// and answer for the campaign's data).
pub fn name_shown(v: Audience, r: &Relation) -> bool {
    r.coordinator || shown(v, r)
}

/// What the storage knows about a person, whoever looks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageFacts {
    pub user_id: String,
    pub name: String,
    pub role: String,
    pub has_photo: bool,
    pub settings: ProfileSettings,
    pub teams: Vec<String>,
    pub sessions_attended: u32,
    pub doors: u32,
    pub conversations: u32,
    /// Streets knocked lately, most recent first: (doors, street), worded by [`page`] with the
    /// name the viewer sees ([`activity_line`]).
    pub activity: Vec<(u32, String)>,
    /// The turfs they hold now, by name.
    pub turfs: Vec<String>,
}

/// The page a viewer sees: each field the viewer may not see is left out; the viewer's own page
/// carries its settings; `coopain` is where the viewer stands with the person.
pub fn page(f: &PageFacts, r: &Relation, coopain: Option<CoopainState>) -> VolunteerPage {
    let v = &f.settings.visibility;
    let name = name_shown(v.name, r).then(|| f.name.clone());
    let pseudonym = f.settings.pseudonym.clone();
    let shown_name = name.clone().or_else(|| pseudonym.clone()).unwrap_or_else(|| "Bénévole".to_string());
    VolunteerPage {
        user_id: f.user_id.clone(),
        activity: shown(v.activity, r)
            .then(|| f.activity.iter().map(|(n, street)| activity_line(&shown_name, *n, street)).collect()),
        shown_name,
        name,
        pseudonym,
        role: f.role.clone(),
        has_photo: f.has_photo && shown(v.photo, r),
        bio: f.settings.bio.clone().filter(|_| shown(v.bio, r)),
        teams: shown(v.teams, r).then(|| f.teams.clone()),
        sessions_attended: shown(v.sessions, r).then_some(f.sessions_attended),
        doors: shown(v.figures, r).then_some(f.doors),
        conversations: shown(v.figures, r).then_some(f.conversations),
        turfs: shown(v.activity, r).then(|| f.turfs.clone()),
        coopain: if r.me { None } else { coopain },
        settings: r.me.then(|| f.settings.clone()),
    }
}

/// What a page's settings may hold: a pseudonym of 1–40 characters on one line, at most 280
/// characters of words.
pub fn check_settings(s: &ProfileSettings) -> Result<(), PeopleError> {
    if let Some(p) = &s.pseudonym {
        let n = p.trim().chars().count();
        if n == 0 || p.chars().count() > MAX_PSEUDONYM_CHARS {
            return Err(PeopleError::BadPseudonym);
        }
        check_text("pseudonym", p, TextKind::Name)?;
    }
    if let Some(b) = &s.bio {
        if b.chars().count() > MAX_BIO_CHARS {
            return Err(PeopleError::BadBio);
        }
        check_text("bio", b, TextKind::Free)?;
    }
    Ok(())
}

/// What an event must be, whoever decides.
pub fn check_event(e: &PeopleEvent) -> Result<(), PeopleError> {
    if !is_report_id(&e.id) || e.author_id.is_empty() || e.device_id.is_empty() {
        return Err(PeopleError::Malformed);
    }
    check_text("author_id", &e.author_id, TextKind::Id)?;
    check_text("device_id", &e.device_id, TextKind::Id)?;
    if !(0..=MAX_DEVICE_TIME_MS).contains(&e.at_ms) {
        return Err(PeopleError::BadTime);
    }
    match &e.action {
        PeopleAction::Profile { settings } => check_settings(settings),
        PeopleAction::Coopain { user_id, .. } => {
            if user_id.is_empty() {
                return Err(PeopleError::Malformed);
            }
            check_text("user_id", user_id, TextKind::Id)?;
            if *user_id == e.author_id { Err(PeopleError::Yourself) } else { Ok(()) }
        }
    }
}

/// Where a link goes after one side's step, seen from the side that steps: an ask meets the
/// other's ask (or is accepted) and the link exists; an ask asked again, or a link asked again,
/// stays; accepting with nothing to accept is refused; ending ends whatever stands.
pub fn coopain_next(current: Option<CoopainState>, step: CoopainStep) -> Result<Option<CoopainState>, PeopleError> {
    use CoopainState::*;
    match (current, step) {
        (_, CoopainStep::End) => Ok(None),
        (None, CoopainStep::Ask) => Ok(Some(AskedByMe)),
        (Some(AskedByThem), CoopainStep::Ask | CoopainStep::Accept) => Ok(Some(Linked)),
        (Some(s @ (AskedByMe | Linked)), CoopainStep::Ask) => Ok(Some(s)),
        (Some(Linked), CoopainStep::Accept) => Ok(Some(Linked)),
        (None | Some(AskedByMe), CoopainStep::Accept) => Err(PeopleError::NoAsk),
    }
}

/// The same link seen from the other side.
pub fn mirrored(s: CoopainState) -> CoopainState {
    match s {
        CoopainState::Linked => CoopainState::Linked,
        CoopainState::AskedByMe => CoopainState::AskedByThem,
        CoopainState::AskedByThem => CoopainState::AskedByMe,
    }
}

/// What the storage knows when a people event arrives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeopleFacts {
    /// The body hash of an event already recorded under this id.
    pub held_hash: Option<String>,
    pub revoked: bool,
    /// The author is a coordinator.
    pub author_coordinator: bool,
    /// For a coopain step: the other is a person of the author's campaign (not deleted).
    pub other_known: bool,
    /// … and a coordinator.
    pub other_coordinator: bool,
    /// The link as it stands, seen from the author.
    pub link: Option<CoopainState>,
    /// The author's coopains and pending asks, counted.
    pub author_links: u32,
}

/// What the server does with a pushed people event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleOutcome {
    Duplicate,
    Reject(PeopleError),
    /// The page's settings are replaced.
    Profile,
    /// The link becomes this (seen from the author; `None`: no link).
    Link(Option<CoopainState>),
}

impl PeopleOutcome {
    /// The answer the phone gets.
    pub fn status(&self) -> ItemStatus {
        match self {
            PeopleOutcome::Duplicate => ItemStatus::Duplicate,
            PeopleOutcome::Reject(e) => ItemStatus::Rejected { reason: e.to_string(), code: Some(e.code().into()) },
            _ => ItemStatus::Accepted,
        }
    }
}

/// What a person types to delete their account.
pub const DELETE_CONFIRMATION: &str = "SUPPRIMER";

/// Whether a deletion is confirmed: exactly `SUPPRIMER` (the phone checks before it syncs; the
/// server again before it deletes).
pub fn check_delete_confirmation(typed: &str) -> Result<(), PeopleError> {
    if typed == DELETE_CONFIRMATION { Ok(()) } else { Err(PeopleError::NotConfirmed) }
}

/// SHA-256 of a people event as pushed (its JSON), hex.
pub fn event_hash(e: &PeopleEvent) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(e).expect("an event serialises");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Decides a pushed people event. `sender` is the token's `(device, user)`.
pub fn people_outcome(e: &PeopleEvent, sender: (&str, &str), f: &PeopleFacts) -> PeopleOutcome {
    if (e.device_id.as_str(), e.author_id.as_str()) != sender {
        return PeopleOutcome::Reject(PeopleError::WrongSender);
    }
    match &f.held_hash {
        Some(h) if *h == event_hash(e) => return PeopleOutcome::Duplicate,
        Some(_) => return PeopleOutcome::Reject(PeopleError::IdConflict),
        None => {}
    }
    if let Err(err) = check_event(e) {
        return PeopleOutcome::Reject(err);
    }
    if f.revoked {
        return PeopleOutcome::Reject(PeopleError::Revoked);
    }
    match &e.action {
        PeopleAction::Profile { .. } => PeopleOutcome::Profile,
        PeopleAction::Coopain { step, .. } => {
            if !f.other_known {
                return PeopleOutcome::Reject(PeopleError::UnknownPerson);
            }
            if (f.author_coordinator || f.other_coordinator) && *step != CoopainStep::End {
                return PeopleOutcome::Reject(PeopleError::NotForCoordinators);
            }
            if *step == CoopainStep::Ask && f.link.is_none() && f.author_links >= MAX_COOPAINS {
                return PeopleOutcome::Reject(PeopleError::TooMany);
            }
            match coopain_next(f.link, *step) {
                Ok(next) => PeopleOutcome::Link(next),
                Err(err) => PeopleOutcome::Reject(err),
            }
        }
    }
}

/// A street in running French text: its type in lower case ("Rue Bisson" → "rue Bisson").
pub fn street_in_text(street: &str) -> String {
    const TYPES: &[&str] = &[
        "Rue",
        "Avenue",
        "Boulevard",
        "Place",
        "Chemin",
        "Impasse",
        "Allée",
        "Quai",
        "Cours",
        "Montée",
        "Route",
        "Passage",
        "Square",
        "Sentier",
        "Rond-point",
        "Voie",
        "Cité",
        "Résidence",
        "Parvis",
        "Esplanade",
        "Promenade",
    ];
    let first = street.split(' ').next().unwrap_or_default();
    if TYPES.contains(&first) {
        let mut out = first.to_lowercase();
        out.push_str(&street[first.len()..]);
        out
    } else {
        street.to_string()
    }
}

/// The activity line coopains see: "Léa a frappé 40 portes rue Bisson".
pub fn activity_line(name: &str, doors: u32, street: &str) -> String {
    let portes = if doors == 1 { "porte" } else { "portes" };
    format!("{name} a frappé {doors} {portes} {}", street_in_text(street))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::FieldVisibility;
    use proptest::prelude::*;

    const ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

    fn ev(action: PeopleAction) -> PeopleEvent {
        PeopleEvent { id: ID.into(), author_id: "lea".into(), device_id: "dev-lea".into(), at_ms: 1_000, action }
    }

    fn coopain(step: CoopainStep) -> PeopleEvent {
        ev(PeopleAction::Coopain { user_id: "sam".into(), step })
    }

    fn rel(me: bool, coordinator: bool, team: bool, coopain: bool) -> Relation {
        Relation { me, coordinator, team, coopain }
    }

    /// Each visibility against each kind of viewer.
    #[test]
    fn who_sees_a_field() {
        use Audience::*;
        let stranger = rel(false, false, false, false);
        let teammate = rel(false, false, true, false);
        let pal = rel(false, false, false, true);
        let coord = rel(false, true, false, false);
        let me = rel(true, false, false, false);
        let table: &[(Audience, Relation, bool, &str)] = &[
            (Campaign, stranger, true, "the campaign sees a campaign field"),
            (Team, stranger, false, "someone of another team does not see a team field"),
            (Team, teammate, true, "a teammate or their captain sees a team field"),
            (Team, coord, true, "a coordinator sees a team field"),
            (Team, pal, false, "a coopain of another team does not see a team field"),
            (Coopains, pal, true, "a coopain sees a coopains field"),
            (Coopains, teammate, false, "a teammate who is not a coopain does not"),
            (Coopains, coord, false, "nor does a coordinator"),
            (OnlyMe, coord, false, "nobody else sees an only-me field, coordinators included"),
            (OnlyMe, pal, false, "not even a coopain"),
            (OnlyMe, me, true, "the person sees their whole page"),
        ];
        for (v, r, want, what) in table {
            assert_eq!(shown(*v, r), *want, "{what}");
        }
        assert!(name_shown(OnlyMe, &coord), "coordinators always see the name");
        assert!(!name_shown(OnlyMe, &teammate));
    }

    /// A page shows a stranger only what the campaign may see, a pseudonym in place of a hidden
    /// name, and its settings only to its owner.
    #[test]
    fn a_page_as_each_viewer_sees_it() {
        let f = PageFacts {
            user_id: "lea".into(),
            name: "Léa Martin".into(),
            role: "volunteer".into(),
            has_photo: true,
            settings: ProfileSettings {
                pseudonym: Some("Léa M.".into()),
                bio: Some("Dispo le samedi".into()),
                visibility: FieldVisibility { name: Audience::Team, ..FieldVisibility::default() },
            },
            teams: vec!["Nord".into()],
            sessions_attended: 3,
            doors: 120,
            conversations: 31,
            activity: vec![(40, "Rue Bisson".into())],
            turfs: vec!["Bisson – Zola".into()],
        };
        let stranger = page(&f, &rel(false, false, false, false), None);
        assert_eq!(stranger.shown_name, "Léa M.");
        assert_eq!(stranger.name, None);
        assert!(stranger.has_photo);
        assert_eq!(stranger.teams.as_deref(), Some(&["Nord".to_string()][..]));
        assert_eq!((stranger.doors, stranger.sessions_attended, stranger.activity.as_ref()), (None, None, None));
        assert_eq!(stranger.settings, None);
        let pal = page(&f, &rel(false, false, false, true), Some(CoopainState::Linked));
        assert_eq!(pal.activity.unwrap(), vec!["Léa M. a frappé 40 portes rue Bisson".to_string()]);
        assert_eq!(pal.coopain, Some(CoopainState::Linked));
        assert_eq!(pal.turfs.unwrap(), vec!["Bisson – Zola".to_string()], "a coopain sees where to join");
        assert_eq!(stranger.turfs, None);
        let mate = page(&f, &rel(false, false, true, false), None);
        assert_eq!((mate.shown_name.as_str(), mate.doors, mate.conversations), ("Léa Martin", Some(120), Some(31)));
        let mine = page(&f, &rel(true, false, false, false), Some(CoopainState::Linked));
        assert_eq!(mine.settings.as_ref(), Some(&f.settings));
        assert_eq!(mine.coopain, None, "no link with oneself");
        let nameless = PageFacts {
            settings: ProfileSettings {
                visibility: FieldVisibility { name: Audience::OnlyMe, ..FieldVisibility::default() },
                ..ProfileSettings::default()
            },
            ..f.clone()
        };
        assert_eq!(page(&nameless, &rel(false, false, true, false), None).shown_name, "Bénévole");
        let no_photo = PageFacts { has_photo: false, ..f };
        assert!(!page(&no_photo, &rel(true, false, false, false), None).has_photo);
    }

    /// Each coopain step from each standing.
    #[test]
    fn coopain_steps() {
        use CoopainState::*;
        use CoopainStep::*;
        type Row = (Option<CoopainState>, CoopainStep, Result<Option<CoopainState>, PeopleError>, &'static str);
        let table: &[Row] = &[
            (None, Ask, Ok(Some(AskedByMe)), "an ask waits for the other"),
            (Some(AskedByThem), Accept, Ok(Some(Linked)), "accepting their ask links"),
            (Some(AskedByThem), Ask, Ok(Some(Linked)), "both asked (offline, at once): linked"),
            (Some(AskedByMe), Ask, Ok(Some(AskedByMe)), "asking twice changes nothing"),
            (Some(Linked), Ask, Ok(Some(Linked)), "asking a coopain changes nothing"),
            (Some(Linked), Accept, Ok(Some(Linked)), "accepting again changes nothing"),
            (None, Accept, Err(PeopleError::NoAsk), "nothing to accept"),
            (Some(AskedByMe), Accept, Err(PeopleError::NoAsk), "one does not accept one's own ask"),
            (Some(Linked), End, Ok(None), "either side ends a link"),
            (Some(AskedByThem), End, Ok(None), "declining"),
            (Some(AskedByMe), End, Ok(None), "withdrawing"),
            (None, End, Ok(None), "ending nothing is harmless"),
        ];
        for (from, step, want, what) in table {
            assert_eq!(coopain_next(*from, *step), *want, "{what}");
        }
    }

    /// Each refusal and acceptance of a pushed event.
    #[test]
    fn people_outcome_cases() {
        let known = PeopleFacts { other_known: true, ..PeopleFacts::default() };
        let profile = ev(PeopleAction::Profile { settings: ProfileSettings::default() });
        let long_bio = ev(PeopleAction::Profile {
            settings: ProfileSettings { bio: Some("é".repeat(281)), ..ProfileSettings::default() },
        });
        let blank_pseudo = ev(PeopleAction::Profile {
            settings: ProfileSettings { pseudonym: Some("  ".into()), ..ProfileSettings::default() },
        });
        let ctrl_pseudo = ev(PeopleAction::Profile {
            settings: ProfileSettings { pseudonym: Some("Léa\u{7}".into()), ..ProfileSettings::default() },
        });
        let self_ask = ev(PeopleAction::Coopain { user_id: "lea".into(), step: CoopainStep::Ask });
        let bad_id = PeopleEvent { id: "1".into(), ..profile.clone() };
        let bad_time = PeopleEvent { at_ms: -1, ..profile.clone() };
        let with = |f: &dyn Fn(&mut PeopleFacts)| {
            let mut x = known.clone();
            f(&mut x);
            x
        };
        let table: Vec<(&str, PeopleEvent, PeopleFacts, PeopleOutcome)> = vec![
            ("a page's settings", profile.clone(), known.clone(), PeopleOutcome::Profile),
            ("words over 280 characters", long_bio, known.clone(), PeopleOutcome::Reject(PeopleError::BadBio)),
            ("a blank pseudonym", blank_pseudo, known.clone(), PeopleOutcome::Reject(PeopleError::BadPseudonym)),
            (
                "a control character",
                ctrl_pseudo,
                known.clone(),
                PeopleOutcome::Reject(PeopleError::Text(TextError::ControlCharacter {
                    field: "pseudonym".to_string(),
                })),
            ),
            ("an id that is not the device's", bad_id, known.clone(), PeopleOutcome::Reject(PeopleError::Malformed)),
            ("a time out of range", bad_time, known.clone(), PeopleOutcome::Reject(PeopleError::BadTime)),
            ("asking oneself", self_ask, known.clone(), PeopleOutcome::Reject(PeopleError::Yourself)),
            (
                "a replay",
                profile.clone(),
                with(&|f| f.held_hash = Some(event_hash(&profile))),
                PeopleOutcome::Duplicate,
            ),
            (
                "another event under a used id",
                profile.clone(),
                with(&|f| f.held_hash = Some("x".into())),
                PeopleOutcome::Reject(PeopleError::IdConflict),
            ),
            (
                "a revoked device",
                profile.clone(),
                with(&|f| f.revoked = true),
                PeopleOutcome::Reject(PeopleError::Revoked),
            ),
            (
                "asking a stranger (another campaign's, or nobody)",
                coopain(CoopainStep::Ask),
                PeopleFacts::default(),
                PeopleOutcome::Reject(PeopleError::UnknownPerson),
            ),
            (
                "asking a coordinator",
                coopain(CoopainStep::Ask),
                with(&|f| f.other_coordinator = true),
                PeopleOutcome::Reject(PeopleError::NotForCoordinators),
            ),
            (
                "a coordinator ends an old link (allowed: ending is always possible)",
                coopain(CoopainStep::End),
                with(&|f| {
                    f.author_coordinator = true;
                    f.link = Some(CoopainState::Linked)
                }),
                PeopleOutcome::Link(None),
            ),
            (
                "a 51st ask",
                coopain(CoopainStep::Ask),
                with(&|f| f.author_links = MAX_COOPAINS),
                PeopleOutcome::Reject(PeopleError::TooMany),
            ),
            (
                "accepting the 51st (their ask counts on their side)",
                coopain(CoopainStep::Accept),
                with(&|f| {
                    f.author_links = MAX_COOPAINS;
                    f.link = Some(CoopainState::AskedByThem)
                }),
                PeopleOutcome::Link(Some(CoopainState::Linked)),
            ),
            ("an ask", coopain(CoopainStep::Ask), known.clone(), PeopleOutcome::Link(Some(CoopainState::AskedByMe))),
            (
                "accepting nothing",
                coopain(CoopainStep::Accept),
                known.clone(),
                PeopleOutcome::Reject(PeopleError::NoAsk),
            ),
        ];
        for (what, e, f, want) in table {
            assert_eq!(people_outcome(&e, ("dev-lea", "lea"), &f), want, "{what}");
        }
        assert_eq!(
            people_outcome(&profile, ("dev-sam", "lea"), &known),
            PeopleOutcome::Reject(PeopleError::WrongSender),
            "another device's event"
        );
    }

    #[test]
    fn a_deletion_is_confirmed_by_typing_supprimer() {
        assert_eq!(check_delete_confirmation("SUPPRIMER"), Ok(()));
        for typed in ["supprimer", "oui", "", " SUPPRIMER"] {
            assert_eq!(check_delete_confirmation(typed), Err(PeopleError::NotConfirmed), "{typed:?}");
        }
    }

    #[test]
    fn activity_lines_read_as_french() {
        assert_eq!(activity_line("Léa", 40, "Rue Bisson"), "Léa a frappé 40 portes rue Bisson");
        assert_eq!(activity_line("Sam", 1, "Place Bellecour"), "Sam a frappé 1 porte place Bellecour");
        assert_eq!(
            activity_line("Sam", 3, "Grande Rue de la Croix-Rousse"),
            "Sam a frappé 3 portes Grande Rue de la Croix-Rousse"
        );
    }

    proptest! {
        /// Whatever the two sides do, in whatever order: the link exists only if each side said yes
        /// (asked or accepted) since the last end, and each side sees the mirror of the other's view.
        #[test]
        fn a_link_needs_both_yeses(steps in proptest::collection::vec((any::<bool>(), 0u8..3), 0..40)) {
            let mut state: Option<CoopainState> = None; // seen from side A
            let mut yes = [false, false];
            for (by_b, s) in steps {
                let step = [CoopainStep::Ask, CoopainStep::Accept, CoopainStep::End][s as usize];
                let seen = if by_b { state.map(mirrored) } else { state };
                if let Ok(next) = coopain_next(seen, step) {
                    state = if by_b { next.map(mirrored) } else { next };
                    match step {
                        CoopainStep::End => yes = [false, false],
                        _ => yes[by_b as usize] = true,
                    }
                }
                if state == Some(CoopainState::Linked) {
                    prop_assert!(yes[0] && yes[1], "linked without both yeses");
                }
                if state == Some(CoopainState::AskedByMe) {
                    prop_assert!(yes[0] && !yes[1]);
                }
                if state == Some(CoopainState::AskedByThem) {
                    prop_assert!(yes[1] && !yes[0]);
                }
            }
        }
    }
}
