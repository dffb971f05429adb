//! The core's one error enum. Internal failures carry their source; the FFI layer maps these to the
//! few variants an app can act on.

use doorstep_protocol::ValidationError;

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the file at {path} is not a Doorstep store: {why}")]
    NotOurStore { path: String, why: String },
    #[error("the store was written by a newer Doorstep (schema {found}, this build knows up to {supported})")]
    NewerSchema { found: i64, supported: i64 },
    #[error("the store cannot be opened with this key (wrong key, or an encrypted store opened without one): {0}")]
    WrongKey(String),
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    #[error("unknown {kind} {id}")]
    UnknownId { kind: &'static str, id: String },
    #[error("result code {0:?} is not one of the campaign's")]
    UnknownResultCode(String),
    #[error("result code {code:?} is for a person and cannot be recorded on a {target_kind}")]
    ResultLevelMismatch { code: String, target_kind: &'static str },
    #[error("a correction must be for the same target as the report it corrects ({0})")]
    CorrectionTargetMismatch(String),
    /// Refused by the rule book (`doorstep_protocol::check_report`), as the server would refuse it.
    #[error("report refused: {0}")]
    Report(doorstep_protocol::ReportError),
    #[error("turf package is malformed: {0}")]
    BadPackage(String),
    #[error("turf package format {found} is newer than this build reads ({supported})")]
    UnsupportedPackageFormat { found: u32, supported: u32 },
    #[error("turf {turf} is at version {have}; package version {got} is older")]
    StalePackage { turf: String, have: u64, got: u64 },
    #[error("turf {turf} is at version {have}; the delta applies to version {base}: a full package is needed")]
    DeltaBaseMismatch { turf: String, have: u64, base: u64 },
    #[error("message is malformed: {0}")]
    BadMessage(String),
    #[error("serialisation error: {0}")]
    Json(#[from] serde_json::Error),
    /// A hand-off refused by the rule book (`validate::handoff`), as the server would refuse it.
    #[error("remise refusée / hand-off refused: {0}")]
    Handoff(doorstep_protocol::validate::handoff::HandoffError),
    /// A door of a session's turf held sealed: no captain handed it to this phone (yet, or any more).
    #[error("porte d'une séance pas encore remise par un capitaine / this door has not been handed to you: {0}")]
    Sealed(String),
    /// A sign-up refused by the rule book (`validate::session`), as the server would refuse it.
    #[error("inscription refusée / sign-up refused: {0}")]
    Signup(doorstep_protocol::validate::session::SignupError),
    /// A message event refused by the rule book (`validate::message`), as the server would.
    #[error("message refusé / message refused: {0}")]
    Message(doorstep_protocol::validate::message::MessageError),
    /// A people event refused by the rule book (`validate::people`), as the server would.
    #[error("refusé / refused: {0}")]
    People(doorstep_protocol::validate::people::PeopleError),
    /// Something this phone holds has not reached the server: pushed first, then deleted.
    #[error("{0} élément(s) pas encore envoyé(s) : synchronisez d'abord / {0} item(s) not yet sent: sync first")]
    Unsent(u32),
    /// Something that needs the network first (the campaign's key, a captain's grant).
    #[error("à faire avec du réseau d'abord / needs a sync first: {0}")]
    NeedsSync(String),
}

impl From<doorstep_protocol::validate::PackageError> for CoreError {
    fn from(e: doorstep_protocol::validate::PackageError) -> Self {
        use doorstep_protocol::validate::PackageError as P;
        match e {
            P::Malformed(m) => CoreError::BadPackage(m),
            P::UnsupportedFormat { found, supported } => CoreError::UnsupportedPackageFormat { found, supported },
        }
    }
}

impl CoreError {
    pub(crate) fn unknown(kind: &'static str, id: impl Into<String>) -> Self {
        CoreError::UnknownId { kind, id: id.into() }
    }
}
