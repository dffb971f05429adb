//! The team's people (issue 18): a volunteer's page, the settings they choose for it (a pseudonym,
//! a few words, who sees each field), and coopains — a link both sides accept, between two people
//! of a campaign who canvass together. Profile edits and coopain steps are written offline into
//! the phone's outbox like knocks (a device-made id; a replay is a duplicate); the page itself is
//! made by the server from what it holds (teams, sessions attended, doors knocked: counted from
//! the reports, never typed). The rules are in [`crate::validate::people`].

use serde::{Deserialize, Serialize};

/// Who sees a field of a volunteer's page. The person always sees their own page whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Audience {
    /// Everyone of the campaign (never outside it: there is no public page).
    #[default]
    Campaign,
    /// The person's team (its volunteers and the captains who lead it) and the coordinators.
    Team,
    /// Their coopains only.
    Coopains,
    /// Nobody but the person.
    OnlyMe,
}

/// Who sees each field of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldVisibility {
    /// The name the campaign knows them by (coordinators always see it: they invited them).
    pub name: Audience,
    pub photo: Audience,
    pub bio: Audience,
    pub teams: Audience,
    /// Sessions attended.
    pub sessions: Audience,
    /// Doors knocked and conversations.
    pub figures: Audience,
    /// The activity line ("Léa a frappé 40 portes rue Bisson") and the turfs they hold now (so
    /// that coopains pair up on a turf, each walking one side).
    pub activity: Audience,
}

impl Default for FieldVisibility {
    /// What a new volunteer's page shows: their name, photo, words and teams to the campaign,
    /// sessions and figures to their team, their activity to their coopains.
    fn default() -> Self {
        FieldVisibility {
            name: Audience::Campaign,
            photo: Audience::Campaign,
            bio: Audience::Campaign,
            teams: Audience::Campaign,
            sessions: Audience::Team,
            figures: Audience::Team,
            activity: Audience::Coopains,
        }
    }
}

/// What a volunteer sets on their page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProfileSettings {
    /// Shown to those who may not see the name (and beside it to those who may).
    #[serde(default)]
    pub pseudonym: Option<String>,
    /// A few words ("Étudiante, dispo le samedi").
    #[serde(default)]
    pub bio: Option<String>,
    #[serde(default)]
    pub visibility: FieldVisibility,
}

/// A coopain step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CoopainStep {
    /// "Devenir coopains": asks (or accepts, if the other asked first).
    Ask,
    /// Accepts the other's ask.
    Accept,
    /// Declines an ask, withdraws one's own, or ends the link.
    End,
}

/// What a phone writes about its person, offline, from its outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum PeopleAction {
    /// Replaces the page's settings (the last one written wins, by the order the server got them).
    Profile {
        settings: ProfileSettings,
    },
    Coopain {
        user_id: String,
        step: CoopainStep,
    },
}

/// One event about a person. The id is made on the device (a lowercase UUIDv7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PeopleEvent {
    pub id: String,
    pub author_id: String,
    pub device_id: String,
    pub at_ms: i64,
    pub action: PeopleAction,
}

/// A phone's people events, pushed like knocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PeoplePush {
    pub protocol: u32,
    pub device_id: String,
    pub events: Vec<PeopleEvent>,
}

/// Where a coopain link stands, seen from one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CoopainState {
    /// Both accepted.
    Linked,
    /// I asked, they have not answered.
    AskedByMe,
    /// They asked me.
    AskedByThem,
}

/// A volunteer's page as one viewer may see it: every field they may not see is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VolunteerPage {
    pub user_id: String,
    /// The name if the viewer may see it, else the pseudonym, else "Bénévole".
    pub shown_name: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub pseudonym: Option<String>,
    /// `volunteer`, `captain` or `coordinator`.
    pub role: String,
    /// Whether a photo may be fetched (`GET /api/v1/people/{id}/photo`).
    pub has_photo: bool,
    #[serde(default)]
    pub bio: Option<String>,
    /// Team names.
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    /// Sessions they attended (knocked under their leases).
    #[serde(default)]
    pub sessions_attended: Option<u32>,
    /// Doors knocked, from the reports.
    #[serde(default)]
    pub doors: Option<u32>,
    /// Of those, doors where a conversation took place.
    #[serde(default)]
    pub conversations: Option<u32>,
    /// Newest first: "Léa a frappé 40 portes rue Bisson".
    #[serde(default)]
    pub activity: Option<Vec<String>>,
    /// The turfs they hold now, by name (shown with the activity).
    #[serde(default)]
    pub turfs: Option<Vec<String>>,
    /// Where the viewer stands with them (`None`: no link, or the viewer's own page).
    #[serde(default)]
    pub coopain: Option<CoopainState>,
    /// The viewer's own page: its settings, to edit.
    #[serde(default)]
    pub settings: Option<ProfileSettings>,
}

/// What a phone holds about its people, fetched at each sync: its own page, its coopains and asks,
/// and the people it may ask (its team, the captains who lead it, coopains' pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PeopleView {
    pub protocol: u32,
    pub me: VolunteerPage,
    /// Coopains and asks, each page as this person may see it, with `coopain` set.
    pub coopains: Vec<VolunteerPage>,
    /// Others of the team (and its captains): pages to open, people to ask.
    pub team: Vec<VolunteerPage>,
    pub server_time_ms: i64,
}
