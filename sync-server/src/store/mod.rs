//! Server storage behind one trait, [`ServerStore`], with two backends that run the same
//! conformance suite: SQLite (embedded default, [`sqlite::SqliteStore`]) and PostgreSQL
//! ([`postgres::PgStore`], several stateless server processes on one database). Both use the SQL in
//! [`sql`]; decisions (validation, scope) are made above the store, in the service layer, except
//! what must be atomic with the write (deduplication, overlap detection).

pub mod postgres;
pub mod sql;
pub mod sqlite;

use async_trait::async_trait;
use doorstep_protocol::{Building, Campaign, Door, Entrance, KnockReport, Target, TurfPackage};

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
    #[error("the database is newer than this server (schema {0})")]
    NewerSchema(i64),
    #[error("background task failed: {0}")]
    Join(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq)]
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurfRow {
    pub id: String,
    pub campaign_id: String,
    pub name: String,
    pub version: u64,
    pub volunteer_id: Option<String>,
    pub lease_expires_ms: Option<i64>,
}

/// What happened to one pushed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    Accepted {
        overlap: bool,
    },
    Duplicate,
    /// The target is not in the device's campaign.
    UnknownTarget,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub report: KnockReport,
    /// The door's lease had moved to someone else when the report arrived.
    pub overlap: bool,
}

#[async_trait]
pub trait ServerStore: Send + Sync + std::fmt::Debug + 'static {
    async fn create_campaign(&self, c: &Campaign, now_ms: i64) -> StoreResult<()>;
    async fn campaign(&self, id: &str) -> StoreResult<Option<Campaign>>;
    async fn create_user(&self, u: &User) -> StoreResult<()>;
    async fn user(&self, id: &str) -> StoreResult<Option<User>>;
    async fn create_join_code(&self, code_hash: &str, user_id: &str, expires_ms: i64) -> StoreResult<()>;
    /// Consumes the code (once, unexpired) and registers the device token, atomically. `None` when
    /// the code is unknown, used or expired.
    async fn redeem_join_code(
        &self,
        code_hash: &str,
        device_id: &str,
        token_hash: &str,
        now_ms: i64,
        token_expires_ms: i64,
    ) -> StoreResult<Option<User>>;
    /// Registers a token for a user directly (staff API tokens; devices go through join codes).
    async fn register_token(
        &self,
        token_hash: &str,
        device_id: &str,
        user_id: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<()>;
    async fn device(&self, token_hash: &str) -> StoreResult<Option<Device>>;
    /// Revokes every token of the device. Returns whether any was live.
    async fn revoke_device(&self, device_id: &str, now_ms: i64) -> StoreResult<bool>;
    /// Imports addresses (not yet in any turf), atomically.
    async fn import(
        &self,
        campaign_id: &str,
        buildings: &[Building],
        entrances: &[Entrance],
        doors: &[Door],
    ) -> StoreResult<()>;
    async fn create_turf(
        &self,
        campaign_id: &str,
        turf_id: &str,
        name: &str,
        building_ids: &[String],
    ) -> StoreResult<()>;
    /// Checks the turf out to a volunteer (or returns it with `None`); bumps its version.
    async fn assign_turf(
        &self,
        turf_id: &str,
        volunteer_id: Option<&str>,
        lease_expires_ms: Option<i64>,
    ) -> StoreResult<()>;
    /// Moves buildings (a street, or chosen doors' buildings) into another turf; bumps the version
    /// of every turf touched. Returns the turfs touched.
    async fn move_buildings(
        &self,
        campaign_id: &str,
        building_ids: &[String],
        to_turf: &str,
    ) -> StoreResult<Vec<String>>;
    async fn turf(&self, turf_id: &str) -> StoreResult<Option<TurfRow>>;
    /// The turfs a volunteer holds now (lease not expired).
    async fn turfs_of(&self, volunteer_id: &str, now_ms: i64) -> StoreResult<Vec<TurfRow>>;
    /// A full package of the turf as it is now.
    async fn turf_package(&self, turf_id: &str) -> StoreResult<Option<TurfPackage>>;
    /// Stores reports, deduplicated by id, in one transaction; flags overlaps (the target's turf is
    /// no longer the reporter's).
    async fn ingest(&self, device: &Device, reports: &[KnockReport], now_ms: i64) -> StoreResult<Vec<Ingested>>;
    async fn reports(&self, campaign_id: &str) -> StoreResult<Vec<StoredReport>>;
}

/// The target's building and door ids in a `LOCATE_*` query.
pub(crate) fn locate_sql(target: &Target) -> &'static str {
    match target {
        Target::Building { .. } => sql::LOCATE_BUILDING,
        // A person's report is located by its door, which the device sends as part of the target
        // id space of voter-file campaigns (issue 3 follow-up: people on the server).
        Target::Door { .. } | Target::Person { .. } => sql::LOCATE_DOOR,
    }
}

/// Overlap: the report was made by someone who no longer holds the target's turf, or on a turf
/// other than the one the target sits in now.
pub(crate) fn is_overlap(
    report: &KnockReport,
    device: &Device,
    turf_now: Option<&str>,
    holder_now: Option<&str>,
) -> bool {
    turf_now != Some(report.turf_id.as_str()) || holder_now != Some(device.user_id.as_str())
}

pub(crate) fn package_from_rows(
    campaign: Campaign,
    turf: &TurfRow,
    buildings: Vec<Building>,
    entrances: Vec<Entrance>,
    doors: Vec<Door>,
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
        households: vec![],
        people: vec![],
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
