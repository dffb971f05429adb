//! Push messages: a batch of knock reports and the server's per-item acknowledgement.

use serde::{Deserialize, Serialize};

use crate::knock::KnockReport;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub protocol: u32,
    pub device_id: String,
    pub reports: Vec<KnockReport>,
}

/// The server's answer for one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemStatus {
    Accepted,
    /// Already held: the earlier copy stands.
    Duplicate,
    /// Kept by the server but not counted until a captain accepts it (a revoked device's last
    /// push). Settled on the phone: never sent again.
    Held {
        reason: String,
    },
    /// Never retried; the reason is shown to the volunteer.
    Rejected {
        reason: String,
        /// Stable machine-readable code ([`crate::validate::ReportError::code`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PushItemResult {
    pub id: String,
    #[serde(flatten)]
    pub status: ItemStatus,
    /// Something the volunteer should know about an accepted report: `personal_data_dropped`
    /// (the campaign is past its retention date: answers and note were not kept),
    /// `clock_untrusted` (the phone's clock is wrong: the server's time was used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PushResponse {
    pub protocol: u32,
    pub results: Vec<PushItemResult>,
    /// Server time, so the device can show "last sync 12:04" in server terms.
    pub server_time_ms: i64,
}

/// What the device holds of one turf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeldTurf {
    pub turf_id: String,
    pub version: u64,
    /// Held sealed (see [`PullBucket::staged`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub staged: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Pull: "here is what I hold; send me what changed". The cursor is opaque to the device: it sends
/// back the last one it received (or none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub protocol: u32,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub held: Vec<HeldTurf>,
}

/// One bucket per turf assigned to the volunteer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PullBucket {
    pub turf_id: String,
    pub version: u64,
    /// Checksum of the turf's canonical content at `version` ([`crate::turf_checksum`]).
    pub checksum: String,
    /// The full package when the device holds no version of the turf, or one too old for the op
    /// log; `None` otherwise.
    #[serde(default)]
    pub package: Option<crate::TurfPackage>,
    /// What changed since the version the device holds, from the server's op log: applied on top
    /// of that version it gives exactly the package at `version` (same checksum).
    #[serde(default)]
    pub delta: Option<crate::TurfDelta>,
    /// Reports from other devices on the turf's doors, as door status needs them (no answers, no
    /// note, no person): so that a phone given a street another volunteer worked, or sharing a door
    /// with one, does not knock again what is done. Outside the package and its checksum; the phone
    /// replaces what it held for the turf with this list. `None` from servers that do not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door_facts: Option<Vec<DoorFact>>,
    /// A turf of a canvass session the volunteer signed up to (or captains), held **sealed**:
    /// nothing in it may be knocked until a captain's hand-off opens it (or the turf is assigned),
    /// so that a street can be handed at the meeting point with no network. Sent from 24 hours
    /// before the session, without households or people (they come with the lease). A phone
    /// that held the turf sealed and now holds it (or the reverse) gets the whole package.
    #[serde(default, skip_serializing_if = "is_false")]
    pub staged: bool,
}

/// One report on one door, as door status needs it ([`crate::status::door_status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DoorFact {
    pub door_id: String,
    pub report_id: String,
    #[serde(default)]
    pub supersedes: Option<String>,
    pub outcome: crate::campaign::Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PullResponse {
    pub protocol: u32,
    pub cursor: String,
    pub buckets: Vec<PullBucket>,
    /// Turfs the device holds but no longer may: purge them (after pushing their reports).
    pub removed: Vec<String>,
    /// The device was revoked: push what is pending if the server still accepts it, then wipe.
    #[serde(default)]
    pub wipe: bool,
    pub server_time_ms: i64,
}

/// A volunteer's phone joins with a one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub protocol: u32,
    pub code: String,
    /// The device's own id (from its store).
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JoinResponse {
    /// Bearer token; the server keeps only its hash.
    pub token: String,
    pub volunteer_id: String,
    pub campaign_id: String,
    pub expires_ms: i64,
}

/// Every 4xx/5xx body: a stable machine-readable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// The answer to `POST /api/v1/sync/wiped`: `wiped` is true when this call ended a revoked
/// device's token (false when it had ended already).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WipeAck {
    pub wiped: bool,
}
