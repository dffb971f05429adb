//! The knock report: an immutable fact recorded on a device when a volunteer knocks a door.

use serde::{Deserialize, Serialize};

use crate::turf::SafetyFlag;

/// A device position as reported by the platform.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
    /// Radius of 68 % confidence, metres.
    pub accuracy_m: Option<f64>,
}

/// What was knocked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Target {
    /// The whole building (e.g. inaccessible entrance): applies to all its doors.
    Building {
        id: String,
    },
    Door {
        id: String,
    },
    Person {
        id: String,
    },
}

impl Target {
    pub fn id(&self) -> &str {
        match self {
            Target::Building { id } | Target::Door { id } | Target::Person { id } => id,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Building { .. } => "building",
            Target::Door { .. } => "door",
            Target::Person { .. } => "person",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AnswerValue {
    YesNo { value: bool },
    Choice { value: String },
    Choices { values: Vec<String> },
    Scale { value: u8 },
    Text { value: String },
}

impl AnswerValue {
    /// What the results count of this answer: "yes"/"no", the choice or choices, the scale's
    /// figure; nothing for free text (it is never tallied).
    pub fn tallied(&self) -> Vec<String> {
        match self {
            AnswerValue::YesNo { value } => vec![if *value { "yes" } else { "no" }.to_string()],
            AnswerValue::Choice { value } => vec![value.clone()],
            AnswerValue::Choices { values } => values.clone(),
            AnswerValue::Scale { value } => vec![value.to_string()],
            AnswerValue::Text { .. } => vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Answer {
    pub question_id: String,
    pub value: AnswerValue,
}

/// Hybrid logical clock timestamp: wall milliseconds that never go backwards, and a counter for
/// events within one millisecond. Ordered by `(millis, counter)`, ties broken by device id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Hlc {
    pub millis: i64,
    pub counter: u32,
}

/// Checks the device makes when a knock is recorded. They never block a knock; they are kept with
/// it for the captain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PlausibilityFlag {
    /// Device more than 100 m from the door.
    Over100m,
    /// Device more than 300 m from the door.
    Over300m,
    /// Faster than a person walks since the previous knock.
    TooFast,
    /// No position was available.
    NoPosition,
}

/// A voter's request at the door for a follow-up text (issue 19), with the words they agreed to:
/// recorded offline in the knock; the server keeps it apart from the report (the number never sits
/// in the reports) and the text goes only after sync, only with this consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// The number as the volunteer typed it (`06 12 34 56 78`).
    pub number: String,
    /// The consent as the app showed it to the voter, word for word.
    pub consent_text: String,
}

/// The fact sent to the server. Immutable once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct KnockReport {
    /// UUIDv7 made on the device.
    pub id: String,
    pub campaign_id: String,
    pub turf_id: String,
    pub target: Target,
    pub result_code: String,
    #[serde(default)]
    pub answers: Vec<Answer>,
    #[serde(default)]
    pub note: Option<String>,
    /// Flags the volunteer added to the door.
    #[serde(default)]
    pub safety_flags: Vec<SafetyFlag>,
    /// The report this one corrects.
    #[serde(default)]
    pub supersedes: Option<String>,
    pub survey_version: u32,
    /// Device wall clock (informational only: it decides nothing).
    pub device_time_ms: i64,
    pub hlc: Hlc,
    /// Time since the device booted.
    pub monotonic_ms: u64,
    pub position: Option<Position>,
    #[serde(default)]
    pub plausibility: Vec<PlausibilityFlag>,
    pub volunteer_id: String,
    pub device_id: String,
    /// The voter asked for a follow-up text (issue 19).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
}
