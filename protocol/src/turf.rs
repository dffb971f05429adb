//! The turf package: a full, versioned snapshot of one turf (door list) as a device holds it, and the
//! deltas that move it from one version to the next.
//!
//! The hierarchy follows the field: building (an address point) → entrance (bâtiment, escalier, with
//! access notes) → door (a unit on a floor) → household → person. Lists are flat with parent ids so
//! that a store can apply them row by row inside one transaction.

use serde::{Deserialize, Serialize};

use crate::campaign::Campaign;

/// A persistent warning on a door or building, kept across visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SafetyFlag {
    Dog,
    NoTrespassing,
    DoNotKnock,
}

/// An address point: one stop of a walking route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Building {
    pub id: String,
    pub street: String,
    /// As written on the wall: `12`, `12 BIS`, `14-20`.
    pub house_number: String,
    pub postcode: String,
    pub city: String,
    /// Bureau de vote id.
    pub polling_station: Option<String>,
    /// WGS84.
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Entrance {
    pub id: String,
    pub building_id: String,
    /// e.g. `Bât. A, esc. 2`.
    pub label: String,
    pub digicode: Option<String>,
    pub interphone: Option<String>,
    pub caretaker: Option<String>,
    pub notes: Option<String>,
}

/// A door (unit). A house has one door with an empty label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Door {
    pub id: String,
    pub building_id: String,
    pub entrance_id: Option<String>,
    /// 0 = rez-de-chaussée; negative for basements.
    pub floor: Option<i32>,
    pub label: String,
    #[serde(default)]
    pub safety_flags: Vec<SafetyFlag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Household {
    pub id: String,
    pub door_id: String,
}

/// A person from a voter file. Address-only campaigns carry none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Person {
    pub id: String,
    pub household_id: String,
    pub display_name: String,
    pub birth_year: Option<i32>,
}

/// A walkable street graph: nodes in WGS84 and edges between them. Carried by the package so that a
/// phone can route along streets with no network; optional in format 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StreetNetwork {
    /// `[lon, lat]` pairs.
    pub nodes: Vec<[f64; 2]>,
    pub edges: Vec<StreetEdge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StreetEdge {
    pub from: u32,
    pub to: u32,
    pub length_m: f64,
    pub name: Option<String>,
    /// `residential`, `primary`, ...: how costly it is to cross.
    pub class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TurfInfo {
    pub id: String,
    pub name: String,
    /// Monotonic per turf; a delta applies to exactly one base version.
    pub version: u64,
    /// The volunteer holding the lease.
    pub volunteer_id: String,
    /// When the lease ends (ms since the Unix epoch); the device purges acknowledged data after it.
    pub lease_expires_ms: Option<i64>,
}

/// A full snapshot of one turf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TurfPackage {
    /// Must be ≤ [`crate::TURF_PACKAGE_FORMAT`].
    pub format: u32,
    pub campaign: Campaign,
    pub turf: TurfInfo,
    pub buildings: Vec<Building>,
    #[serde(default)]
    pub entrances: Vec<Entrance>,
    pub doors: Vec<Door>,
    #[serde(default)]
    pub households: Vec<Household>,
    #[serde(default)]
    pub people: Vec<Person>,
    #[serde(default)]
    pub street_network: Option<StreetNetwork>,
}

/// Moves a turf from `base_version` to `version`. Upserts replace whole rows; removals take ids.
/// Removing a building removes its entrances, doors, households and people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TurfDelta {
    pub format: u32,
    pub turf_id: String,
    pub base_version: u64,
    pub version: u64,
    #[serde(default)]
    pub campaign: Option<Campaign>,
    #[serde(default)]
    pub lease_expires_ms: Option<Option<i64>>,
    #[serde(default)]
    pub upsert_buildings: Vec<Building>,
    #[serde(default)]
    pub upsert_entrances: Vec<Entrance>,
    #[serde(default)]
    pub upsert_doors: Vec<Door>,
    #[serde(default)]
    pub upsert_households: Vec<Household>,
    #[serde(default)]
    pub upsert_people: Vec<Person>,
    #[serde(default)]
    pub remove_buildings: Vec<String>,
    #[serde(default)]
    pub remove_doors: Vec<String>,
    #[serde(default)]
    pub remove_people: Vec<String>,
    /// The turf's street network, replaced whole when it changed (the turf grew or shrank, or a
    /// new network was imported).
    #[serde(default)]
    pub street_network: Option<StreetNetwork>,
}
