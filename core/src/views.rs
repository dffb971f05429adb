//! Plain records the store hands to callers (and, with the `uniffi` feature, to Kotlin, Swift and
//! Python as they are: no mirror types in `ffi`).

use doorstep_protocol::{Answer, Hlc, PlausibilityFlag, Position, SafetyFlag, Target};

use crate::status::DoorStatus;

/// What the volunteer entered for a knock.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct KnockInput {
    pub target: Target,
    pub result_code: String,
    pub answers: Vec<Answer>,
    pub note: Option<String>,
    /// Safety flags to add to the door (they persist for the next visit).
    pub safety_flags: Vec<SafetyFlag>,
    pub position: Option<Position>,
    /// The voter asked for a follow-up text and agreed to these words (issue 19).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub follow_up: Option<doorstep_protocol::FollowUp>,
}

/// Where a report stands with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ReceiptState {
    Pending,
    Accepted,
    Duplicate,
    Rejected { reason: String },
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct KnockView {
    pub id: String,
    pub turf_id: String,
    pub target: Target,
    pub door_id: Option<String>,
    pub building_id: String,
    pub result_code: String,
    pub answers: Vec<Answer>,
    pub note: Option<String>,
    pub supersedes: Option<String>,
    /// Set when a later report corrects this one.
    pub superseded_by: Option<String>,
    pub hlc: Hlc,
    pub device_time_ms: i64,
    pub plausibility: Vec<PlausibilityFlag>,
    pub receipt: ReceiptState,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DoorView {
    pub id: String,
    pub label: String,
    pub floor: Option<i32>,
    pub entrance_label: Option<String>,
    pub status: DoorStatus,
    pub safety_flags: Vec<SafetyFlag>,
    pub people: Vec<PersonView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PersonView {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EntranceView {
    pub id: String,
    pub label: String,
    pub digicode: Option<String>,
    pub interphone: Option<String>,
    pub caretaker: Option<String>,
    pub notes: Option<String>,
}

/// One stop of a walking route: a building and its doors, floors in order.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RouteStop {
    pub position: u32,
    pub building_id: String,
    /// French postal form: `12 bis Rue de Strasbourg, 44000 Nantes`.
    pub address: String,
    pub street: String,
    pub house_number: String,
    pub lat: f64,
    pub lon: f64,
    pub walk_from_previous_m: f64,
    pub entrances: Vec<EntranceView>,
    pub doors: Vec<DoorView>,
    /// Set when the stop's position cannot be right (issue 22): say so to the volunteer.
    pub misplaced: Option<MisplacedView>,
}

/// A door whose position cannot be right: why (`null_island`, `outside_area`,
/// `far_from_streets`), how far, and whether it was walked on its street by its address (or last).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MisplacedView {
    pub why: String,
    pub distance_m: f64,
    pub placed_on_street: bool,
    /// `Adresse mal placée : à 2,1 km de toute rue` (and where it was walked).
    pub message: String,
}

impl MisplacedView {
    pub fn new(why: &str, distance_m: f64, placed_on_street: bool) -> Self {
        use doorstep_streets::misplaced::{Misplaced, Why};
        let w = match why {
            "null_island" => Why::NullIsland,
            "outside_area" => Why::OutsideArea,
            _ => Why::FarFromStreets,
        };
        let mut message = Misplaced { why: w, distance_m }.message_fr();
        message.push_str(if placed_on_street {
            " ; placée sur sa rue d'après son numéro"
        } else {
            " ; gardée pour la fin du parcours"
        });
        Self { why: why.to_string(), distance_m, placed_on_street, message }
    }
}

impl RouteStop {
    /// Every door of the stop has been knocked at least once.
    pub fn is_done(&self) -> bool {
        self.doors.iter().all(|d| d.status != DoorStatus::Untouched)
    }
}

/// Which half of a turf a pair member walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PairSide {
    /// Odd house numbers (and numbers without parity).
    Odd,
    Even,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RouteProgress {
    pub turf_id: String,
    pub next: Option<RouteStop>,
    pub remaining: Vec<RouteStop>,
    pub done: Vec<RouteStop>,
    pub doors_total: u32,
    pub doors_knocked: u32,
    pub total_walk_m: f64,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TurfSummary {
    pub id: String,
    pub name: String,
    pub campaign_id: String,
    pub campaign_name: String,
    pub version: u64,
    pub buildings: u32,
    pub doors: u32,
    pub lease_expires_ms: Option<i64>,
    pub has_street_network: bool,
    /// A canvass session's turf held sealed: nothing in it may be knocked until a captain's
    /// hand-off opens it (or a street of it).
    pub sealed: bool,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ApplySummary {
    pub turf_id: String,
    pub version: u64,
    pub buildings: u32,
    pub doors: u32,
    pub people: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PurgeSummary {
    pub turf_id: String,
    pub doors_removed: u32,
    pub reports_removed: u32,
    /// Reports the server has not acknowledged: kept until pushed.
    pub reports_kept_pending: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AckSummary {
    pub accepted: u32,
    pub duplicate: u32,
    pub rejected: u32,
    /// Ids in the acknowledgement that this device never sent or already settled.
    pub ignored: u32,
}

/// "3 en attente, 0 en échec, dernière synchro 12:04"
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncStatus {
    pub pending: u32,
    pub accepted: u32,
    pub duplicate: u32,
    pub rejected: u32,
    pub last_sync_ms: Option<i64>,
    pub summary_fr: String,
    pub summary_en: String,
}

/// A knock being entered, saved as the volunteer types so that a killed app loses nothing.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct KnockDraft {
    pub target: Target,
    pub result_code: Option<String>,
    pub answers: Vec<Answer>,
    pub note: Option<String>,
    pub safety_flags: Vec<SafetyFlag>,
    /// Set by the store when saved.
    pub updated_ms: i64,
}
