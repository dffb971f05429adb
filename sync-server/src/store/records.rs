//! The store's records: the rows the storage reads and writes, its error, and the small
//! functions that turn rows into protocol types. Depends on nothing else of the store, so every
//! store module can use it without depending on the storage trait (`super`).

use doorstep_protocol::merge::{BatchFacts, Decision, Known, Sender};
use doorstep_protocol::validate::Corrected;
use doorstep_protocol::{Building, Campaign, Door, Entrance, Household, KnockReport, Person, Target, TurfPackage};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{kind} {id} does not exist")]
    Missing { kind: &'static str, id: String },
    #[error("{0} already exists")]
    Conflict(String),
    /// A building was moved by someone else meanwhile (two captains moving one street at once).
    #[error("building {building} was just moved elsewhere (now in {})", now_in.as_deref().unwrap_or("no turf"))]
    Moved { building: String, now_in: Option<String> },
    #[error("the database is newer than this server (schema {0})")]
    NewerSchema(i64),
    #[error("background task failed: {0}")]
    Join(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Volunteer,
    Captain,
    Coordinator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Volunteer => "volunteer",
            Role::Captain => "captain",
            Role::Coordinator => "coordinator",
        }
    }
    pub fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "volunteer" => Role::Volunteer,
            "captain" => Role::Captain,
            "coordinator" => Role::Coordinator,
            other => return Err(StoreError::Corrupt(format!("role {other}"))),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct User {
    pub id: String,
    pub campaign_id: String,
    pub role: Role,
    pub display_name: String,
    pub team_id: Option<String>,
}

/// A device token's row (found by the token's hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: String,
    pub user_id: String,
    pub campaign_id: String,
    pub expires_ms: i64,
    pub revoked_ms: Option<i64>,
    /// When the revoked device acknowledged its wipe.
    pub wiped_ms: Option<i64>,
}

/// Makes a push's audit line from what was decided.
pub type AuditOf = Box<dyn Fn(&[Decision]) -> AuditEntry + Send + Sync>;

/// What the service hands the store for a push: who sent it and when, the campaign at each survey
/// version the batch names, and the two decisions the store must not make itself — the merge plan
/// and the push's audit line.
pub struct PushInput {
    pub sender: Sender,
    pub received_ms: i64,
    pub campaigns: std::collections::HashMap<u32, Campaign>,
    pub retention_until_ms: Option<i64>,
    pub plan: fn(&BatchFacts, &[KnockReport]) -> Vec<Decision>,
    pub audit: AuditOf,
    /// Turfs whose paper sheets staff who reach them are typing in (`BatchFacts::typed_for`).
    pub typed_for: std::collections::HashSet<String>,
}

impl std::fmt::Debug for PushInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushInput").field("sender", &self.sender).field("received_ms", &self.received_ms).finish()
    }
}

impl PushInput {
    pub(crate) fn facts(&self) -> BatchFacts {
        BatchFacts {
            sender: Some(self.sender.clone()),
            received_ms: self.received_ms,
            campaigns: self.campaigns.clone(),
            retention_until_ms: self.retention_until_ms,
            typed_for: self.typed_for.clone(),
            ..Default::default()
        }
    }
}

/// A stored report as the merge knows it (`id, volunteer, campaign, building, door, person, hash`
/// columns of [`sql::SELECT_KNOWN`]).
pub(crate) fn known_from(
    volunteer_id: String,
    campaign_id: String,
    building_id: String,
    door_id: Option<String>,
    person_id: Option<String>,
    body_hash: Option<String>,
) -> Known {
    let target = match (person_id, door_id) {
        (Some(p), _) => Target::Person { id: p },
        (None, Some(d)) => Target::Door { id: d },
        (None, None) => Target::Building { id: building_id },
    };
    Known { corrected: Corrected { volunteer_id, campaign_id, target }, body_hash }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurfRow {
    pub id: String,
    pub campaign_id: String,
    pub name: String,
    pub version: u64,
    pub volunteer_id: Option<String>,
    pub lease_expires_ms: Option<i64>,
    /// The team whose captains manage this turf.
    pub team_id: Option<String>,
    /// `(version, checksum)` cached by the last pull that computed it.
    pub checksum: Option<(u64, String)>,
}

/// A team: volunteers (each in one team) led by one or more captains.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Team {
    pub id: String,
    pub campaign_id: String,
    pub name: String,
    pub captains: Vec<String>,
}

/// A canvass session with its volunteers' standings counted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct SessionCounts {
    pub session: doorstep_protocol::Session,
    pub signed_up: u32,
    pub confirmed: u32,
    pub checked_in: u32,
    pub cancelled: u32,
    /// Supporters signed up on the public page (no account; they take places too).
    pub public: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurfSummary {
    pub turf: TurfRow,
    pub buildings: u64,
    pub doors: u64,
}

/// What one import brings: addresses and, for voter-file campaigns, households and people.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Import {
    pub buildings: Vec<Building>,
    pub entrances: Vec<Entrance>,
    pub doors: Vec<Door>,
    pub households: Vec<Household>,
    pub people: Vec<Person>,
}

impl Import {
    /// The import cut into parts of at most `buildings` buildings, each carrying its buildings'
    /// entrances, doors, households and people, in the order of their ids. Moves the rows (no
    /// copy: an import can hold a million of them).
    ///
    /// Ids are hashes, so in the file's order each part's rows would land all over the id
    /// indexes and every part's commit would rewrite hundreds of pages; in id order a part fills a
    /// few neighbouring pages of each index.
    pub fn into_parts(mut self, buildings: usize) -> Vec<Import> {
        // Buildings in id order across the import; the other rows only within their part (a few
        // hundred rows to sort instead of a million).
        self.buildings.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let per = buildings.max(1);
        let count = self.buildings.len().div_ceil(per).max(1);
        let last = count - 1;
        // Each row's part, by its building's id (a building already stored, in no part: the last
        // part takes the row). One map of borrowed ids, dropped before the rows move.
        let (entrance_part, door_part_of): (Vec<usize>, Vec<usize>) = {
            let part_of: foldhash::HashMap<&str, usize> =
                self.buildings.iter().enumerate().map(|(i, b)| (b.id.as_str(), i / per)).collect();
            let of = |id: &str| part_of.get(id).copied().unwrap_or(last);
            (
                self.entrances.iter().map(|e| of(&e.building_id)).collect(),
                self.doors.iter().map(|d| of(&d.building_id)).collect(),
            )
        };
        let mut parts: Vec<Import> = (0..count).map(|_| Import::default()).collect();
        for (i, b) in self.buildings.into_iter().enumerate() {
            parts[i / per].buildings.push(b);
        }
        for (e, p) in self.entrances.into_iter().zip(entrance_part) {
            parts[p].entrances.push(e);
        }
        let mut door_part: foldhash::HashMap<String, usize> = Default::default();
        let with_households = !self.households.is_empty();
        for (d, p) in self.doors.into_iter().zip(door_part_of) {
            if with_households {
                door_part.insert(d.id.clone(), p);
            }
            parts[p].doors.push(d);
        }
        let mut household_part: foldhash::HashMap<String, usize> = Default::default();
        for h in self.households {
            let p = *door_part.get(&h.door_id).unwrap_or(&last);
            household_part.insert(h.id.clone(), p);
            parts[p].households.push(h);
        }
        for person in self.people {
            parts[*household_part.get(&person.household_id).unwrap_or(&last)].people.push(person);
        }
        for part in &mut parts {
            part.entrances.sort_unstable_by(|a, b| a.id.cmp(&b.id));
            part.doors.sort_unstable_by(|a, b| a.id.cmp(&b.id));
            part.households.sort_unstable_by(|a, b| a.id.cmp(&b.id));
            part.people.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        }
        parts
    }
}

impl ImportCounts {
    /// Adds another part's counts (turfs touched once each).
    pub fn add(&mut self, other: ImportCounts) {
        self.buildings += other.buildings;
        self.entrances += other.entrances;
        self.doors += other.doors;
        self.households += other.households;
        self.people += other.people;
        self.existing += other.existing;
        for t in other.turfs_touched {
            if !self.turfs_touched.contains(&t) {
                self.turfs_touched.push(t);
            }
        }
    }
}

/// A backend's database connections at one moment, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Connections the backend may hold at most.
    pub size: u64,
    /// Connections serving an operation now.
    pub in_use: u64,
    /// Open connections waiting for work.
    pub idle: u64,
}

/// A polling station: its past results and boundary, either possibly missing.
#[derive(Debug, Clone, PartialEq)]
pub struct StationRow {
    pub id: String,
    pub results: Option<crate::targeting::StationResults>,
    pub boundary: Option<serde_json::Value>,
}

/// Buildings placed in station boundaries.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct StationsPlaced {
    pub assigned: u64,
    /// In no boundary.
    pub outside: Vec<String>,
    /// In a boundary but already in a turf: left as they are.
    pub in_turfs: Vec<String>,
    /// In more than one boundary (published boundaries overlap): placed in the one they lie deepest in.
    pub ambiguous: Vec<String>,
}

/// A building a cut may place.
#[derive(Debug, Clone, PartialEq)]
pub struct CutCandidate {
    pub id: String,
    pub lat: f64,
    pub lon: f64,
    pub doors: u32,
    pub street: String,
    pub house_number: String,
    pub polling_station: Option<String>,
}

/// A turf a cut creates.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTurf {
    pub id: String,
    pub name: String,
    pub team_id: Option<String>,
    pub buildings: Vec<String>,
}

/// Rows created by an import; `existing` counts rows that were already there and were kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ImportCounts {
    pub buildings: u64,
    pub entrances: u64,
    pub doors: u64,
    pub households: u64,
    pub people: u64,
    pub existing: u64,
    /// Turfs that got new rows and moved to a new version.
    pub turfs_touched: Vec<String>,
}

/// What changed in one version of a turf: the op log pull turns into deltas.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct TurfOp {
    /// Buildings added (or given new rows): sent whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// The campaign (script, result codes) changed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub campaign: bool,
    /// The lease (holder or expiry) changed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lease: bool,
    /// The campaign's street network was replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub network: bool,
}

/// The part of a stored report that progress and door status need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFact {
    pub id: String,
    pub building_id: String,
    pub door_id: Option<String>,
    pub person_id: Option<String>,
    pub result_code: String,
    pub supersedes: Option<String>,
    pub volunteer_id: String,
    /// When it counts as made ([`doorstep_protocol::validate::report_time`]).
    pub at_ms: i64,
    pub overlap: bool,
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub report: KnockReport,
    /// The door's lease had moved to someone else when the report arrived.
    pub overlap: bool,
}

/// One line of the audit log: who did what to what, when; never survey content.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at_ms: i64,
    pub campaign_id: String,
    /// The user, or `cli` for the coordinator's command line.
    pub actor: String,
    pub device_id: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    /// Small JSON of ids and counts.
    pub detail: serde_json::Value,
}

/// A report of a revoked device, held for a captain's review.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct HeldReport {
    pub report: KnockReport,
    pub building_id: String,
    pub door_id: Option<String>,
    pub received_ms: i64,
    pub reason: String,
    /// `accepted` or `discarded` once reviewed.
    pub review: Option<String>,
}

/// A volunteer's device as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct DeviceRow {
    pub device_id: String,
    pub user_id: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
}

/// A report with what it was located on when it arrived (a person's report names their door).
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedReport {
    pub stored: StoredReport,
    pub building_id: String,
    pub door_id: Option<String>,
    pub received_ms: i64,
}

/// What a retention purge erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, schemars::JsonSchema)]
pub struct PurgeCounts {
    pub reports_stripped: u64,
    pub people_deleted: u64,
    pub devices_revoked: u64,
    /// Sign-ups from the public page erased (volunteers' e-mail addresses go with them).
    pub public_signups_deleted: u64,
    /// Team messages erased.
    pub messages_deleted: u64,
    /// Volunteer pages (settings, photos) and coopain links erased.
    pub pages_deleted: u64,
}

/// A door of the campaign with where it stands (the dashboard's map and progress).
#[derive(Debug, Clone, PartialEq)]
pub struct DoorRow {
    pub door_id: String,
    pub building_id: String,
    pub turf_id: Option<String>,
    pub street: String,
    pub house_number: String,
    pub lat: f64,
    pub lon: f64,
    pub station: Option<String>,
}

pub(crate) fn locate_sql(target: &Target) -> &'static str {
    match target {
        Target::Building { .. } => super::sql::LOCATE_BUILDING,
        Target::Door { .. } => super::sql::LOCATE_DOOR,
        Target::Person { .. } => super::sql::LOCATE_PERSON,
    }
}

pub(crate) fn package_from_rows(
    campaign: Campaign,
    turf: &TurfRow,
    buildings: Vec<Building>,
    entrances: Vec<Entrance>,
    doors: Vec<Door>,
    households: Vec<Household>,
    people: Vec<Person>,
) -> TurfPackage {
    TurfPackage {
        format: doorstep_protocol::TURF_PACKAGE_FORMAT,
        campaign,
        turf: doorstep_protocol::TurfInfo {
            id: turf.id.clone(),
            name: turf.name.clone(),
            version: turf.version,
            volunteer_id: turf.volunteer_id.clone().unwrap_or_default(),
            lease_expires_ms: turf.lease_expires_ms,
        },
        buildings,
        entrances,
        doors,
        households,
        people,
        street_network: None,
    }
}

pub(crate) fn campaign_from_row(
    id: String,
    name: String,
    mode: String,
    codes: String,
    survey: String,
    retention: Option<i64>,
) -> StoreResult<Campaign> {
    let bad = |e: serde_json::Error| StoreError::Corrupt(format!("campaign {id}: {e}"));
    Ok(Campaign {
        mode: serde_json::from_value(serde_json::Value::String(mode)).map_err(bad)?,
        result_codes: serde_json::from_str(&codes).map_err(bad)?,
        survey: serde_json::from_str(&survey).map_err(bad)?,
        retention_until_ms: retention,
        name,
        id,
    })
}

/// A phone's people as the storage finds them: its own page, its coopains and asks, its team.
pub type PeoplePages =
    (doorstep_protocol::VolunteerPage, Vec<doorstep_protocol::VolunteerPage>, Vec<doorstep_protocol::VolunteerPage>);

#[cfg(test)]
mod tests {
    use doorstep_protocol::{Building, Door};

    use super::*;

    #[test]
    fn an_import_in_parts_keeps_each_door_with_its_building() {
        let building = |i: usize| Building {
            id: format!("b{i}"),
            street: "Rue Bisson".into(),
            house_number: i.to_string(),
            postcode: "44000".into(),
            city: "Nantes".into(),
            polling_station: None,
            lat: 47.2,
            lon: -1.55,
        };
        let door = |i: usize, j: usize| Door {
            id: format!("b{i}-d{j}"),
            building_id: format!("b{i}"),
            entrance_id: None,
            floor: None,
            label: String::new(),
            safety_flags: vec![],
        };
        let import = Import {
            buildings: (0..5).map(building).collect(),
            doors: (0..5).rev().flat_map(|i| (0..2).map(move |j| door(i, j))).collect(),
            ..Default::default()
        };
        let parts = import.into_parts(2);
        assert_eq!(parts.iter().map(|p| p.buildings.len()).collect::<Vec<_>>(), [2, 2, 1]);
        for p in &parts {
            assert_eq!(p.doors.len(), p.buildings.len() * 2);
            assert!(p.doors.iter().all(|d| p.buildings.iter().any(|b| b.id == d.building_id)));
            assert!(p.doors.windows(2).all(|w| w[0].id < w[1].id), "doors in id order within their part");
        }
        assert_eq!(Import::default().into_parts(2).len(), 1, "an empty import is one empty part");
    }
}
