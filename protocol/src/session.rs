//! Canvass sessions (issue 17): "samedi 10 h, devant le marché, 12 bénévoles". A session, a
//! volunteer's sign-up events (written offline into the same outbox as knocks), and the lease a
//! captain's phone hands to a volunteer's phone with no network (signed with a key the server gave
//! the captain's device for this session). The rules about them are in
//! [`crate::validate::session`] and [`crate::validate::handoff`].

use serde::{Deserialize, Serialize};

/// Who sees a session in the app.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// The session's team only.
    Team,
    /// Every volunteer of the campaign.
    Campaign,
    /// Also supporters without an account, through the public sign-up page.
    Public,
}

/// A canvass session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub id: String,
    pub campaign_id: String,
    pub title: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The meeting point: where the captain shows the check-in code.
    pub meeting_lat: f64,
    pub meeting_lon: f64,
    /// "Devant le marché, côté fontaine".
    pub meeting_text: String,
    /// Volunteers who may sign up (captains not counted).
    pub capacity: u32,
    /// User ids of the session's captains: the ones who check volunteers in and hand out work.
    pub captains: Vec<String>,
    /// The turfs the session covers: the only ones a captain may hand out under it.
    pub turfs: Vec<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    pub visibility: Visibility,
    /// Set when the session is called off: no sign-up is taken any more.
    #[serde(default)]
    pub cancelled: bool,
}

/// What a volunteer does about a session, from their phone (offline: in the outbox).
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignupKind {
    SignUp,
    /// "I'm still coming" (answering the day-before reminder).
    Confirm,
    Cancel,
    /// At the meeting point: the volunteer's phone scanned the captain's check-in code (its text
    /// in `proof`), or a captain of the session confirmed the volunteer on their own phone.
    CheckIn,
}

/// One sign-up event. The id is made on the device (a lowercase UUIDv7, like a report's): the
/// server keeps the first event under an id and answers a replay as a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupEvent {
    pub id: String,
    pub session_id: String,
    pub volunteer_id: String,
    pub device_id: String,
    pub kind: SignupKind,
    /// Device time when the volunteer acted (shown; decisions use the time of the one deciding).
    pub at_ms: i64,
    /// A check-in's proof: the text of the captain's check-in code the volunteer's phone scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// A phone's sign-up events, pushed from its outbox (answered like a knock push: one
/// [`crate::PushItemResult`] per event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupPush {
    pub protocol: u32,
    pub device_id: String,
    pub events: Vec<SignupEvent>,
}

/// Where a volunteer stands with a session.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    SignedUp,
    Confirmed,
    CheckedIn,
    Cancelled,
    /// Signed up, never checked in, and the session is over.
    NoShow,
}

impl Attendance {
    /// Every standing, in the order a session goes through them.
    pub const ALL: [Attendance; 5] =
        [Attendance::SignedUp, Attendance::Confirmed, Attendance::CheckedIn, Attendance::Cancelled, Attendance::NoShow];

    /// Its stable text, as on the wire and in the stores: `signed_up`, `checked_in`, …
    pub fn code(self) -> &'static str {
        match self {
            Attendance::SignedUp => "signed_up",
            Attendance::Confirmed => "confirmed",
            Attendance::CheckedIn => "checked_in",
            Attendance::Cancelled => "cancelled",
            Attendance::NoShow => "no_show",
        }
    }

    /// The standing a stable text names.
    pub fn from_code(s: &str) -> Option<Attendance> {
        Attendance::ALL.into_iter().find(|a| a.code() == s)
    }
}

/// What the server gives one captain's device for one session: the public half of a key pair
/// whose private half only that device holds, attested by the server's signature (with the
/// campaign's key, which every phone receives when it joins), so that a volunteer's phone that
/// never synced since can still tell a real captain's lease from a forged one. What the captain
/// may hand out (the session's turfs) is checked against the session, by the server at the latest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionGrant {
    pub campaign_id: String,
    pub session_id: String,
    pub captain_id: String,
    pub device_id: String,
    /// Ed25519 public key, 32 bytes, base64url without padding.
    pub public_key: String,
    pub not_before_ms: i64,
    pub expires_ms: i64,
}

/// A grant and the server's signature over it (Ed25519, base64url without padding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedGrant {
    pub grant: SessionGrant,
    pub signature: String,
}

/// A lease handed from the captain's phone to a volunteer's phone by QR code, with no network:
/// "this volunteer works this turf (or this street of it) until then".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    /// Made on the captain's device (a lowercase UUIDv7): the server records a hand-off once.
    pub id: String,
    pub session_id: String,
    pub captain_id: String,
    /// The captain's device: the one whose grant signed it.
    pub device_id: String,
    pub volunteer_id: String,
    pub turf_id: String,
    /// One street of the turf, or the whole turf.
    #[serde(default)]
    pub street: Option<String>,
    pub issued_ms: i64,
    pub expires_ms: i64,
}

/// What the captain's phone shows as a QR code: the hand-off, the captain device's signature over
/// it (Ed25519, base64url without padding) and the grant that vouches for that device's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedHandoff {
    pub handoff: Handoff,
    pub signature: String,
    pub grant: SignedGrant,
}

/// A captain's phone asks for its grant for a session: the public half of a key pair it made
/// and keeps (the private half never leaves the phone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub protocol: u32,
    pub device_id: String,
    pub session_id: String,
    /// Ed25519 public key, 32 bytes, base64url without padding.
    pub public_key: String,
}

/// Hand-offs pushed by a phone that gave or received them (answered like a knock push, one
/// [`crate::PushItemResult`] per hand-off: accepted, duplicate, held — recorded but refused, the
/// knocks made under it held for review — or rejected and not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HandoffPush {
    pub protocol: u32,
    pub device_id: String,
    pub handoffs: Vec<SignedHandoff>,
}

/// What a captain's phone shows at the meeting point for volunteers to scan and be checked in:
/// "this session, this captain's phone, open from then to then" (at most 4 hours), signed by the
/// phone's key under its grant, like a hand-off. The same code checks in anyone who scans it
/// while it is open; what it proves is presence where the captain shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckinPass {
    pub session_id: String,
    pub captain_id: String,
    pub device_id: String,
    pub issued_ms: i64,
    pub expires_ms: i64,
}

/// A check-in code: the pass, the captain's phone's signature over it, and the grant that vouches
/// for that phone's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedCheckinPass {
    pub pass: CheckinPass,
    pub signature: String,
    pub grant: SignedGrant,
}

/// A session reminder shown by the app (`GET /api/v1/sync/reminders`): the server plans it when
/// the volunteer signs up (`validate::reminder`) and serves it once due, at every sync until the
/// session ends; the phone shows each id once.
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AppReminder {
    /// `<session id>:<kind>`: stable, so a reminder served twice is shown once.
    pub id: String,
    pub session_id: String,
    /// `day_before`, `two_hours` or `late`.
    pub kind: String,
    pub due_ms: i64,
    /// Its text, in French: "Rappel : demain à 10 h — « Marché de Talensac », devant la fontaine".
    pub text: String,
}
