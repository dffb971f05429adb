//! Wire types shared by the phone core (`doorstep-core`) and the sync server (`doorstep-server`).
//!
//! Everything that crosses the network or is stored as a self-describing blob is defined here, once:
//! the campaign (result codes, survey script), the versioned turf package and its deltas, the knock
//! report, and the push/acknowledgement messages. Validation rules that both sides must apply the same
//! way (answers against the survey script, coordinates) live here too, as pure functions.
//!
//! This crate does no I/O.

pub mod campaign;
pub mod checksum;
pub mod knock;
pub mod status;
pub mod sync;
pub mod turf;
pub mod validate;

pub use campaign::*;
pub use checksum::turf_checksum;
pub use knock::*;
pub use sync::*;
pub use turf::*;
pub use validate::{ScriptError, ValidationError, validate_answers, validate_position, validate_script};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("doorstep_protocol");

/// Version of the sync protocol spoken by this build. A server refuses versions it does not know.
pub const PROTOCOL_VERSION: u32 = 1;

/// Version of the turf package format this build writes and the newest it reads.
pub const TURF_PACKAGE_FORMAT: u32 = 1;
