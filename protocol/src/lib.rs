//! Wire types shared by the phone core (`doorstep-core`) and the sync server (`doorstep-server`).
//!
//! Everything that crosses the network or is stored as a self-describing blob is defined here, once:
//! the campaign (result codes, survey script), the versioned turf package and its deltas, the knock
//! report, and the push/acknowledgement messages. Every rule about what a device may write lives here
//! too, once, as pure functions both sides call: [`validate`] (the rule book: answers, scripts,
//! packages, reports, text) and [`merge`] (how the server decides a pushed batch).
//!
//! This crate does no I/O.

pub mod campaign;
pub mod checksum;
pub mod door_code;
pub mod join_link;
pub mod knock;
pub mod merge;
pub mod message;
pub mod people;
pub mod session;
pub mod status;
pub mod sync;
pub mod turf;
pub mod validate;

pub use campaign::*;
pub use checksum::turf_checksum;
pub use join_link::{JoinLink, JoinLinkError};
pub use knock::*;
pub use message::*;
pub use people::*;
pub use session::*;
pub use sync::*;
pub use turf::*;
pub use validate::{
    ReportError, ScriptError, ValidationError, check_report, validate_answers, validate_position, validate_script,
};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("doorstep_protocol");

/// Version of the sync protocol spoken by this build. A server refuses versions it does not know.
pub const PROTOCOL_VERSION: u32 = 1;

/// Version of the turf package format this build writes and the newest it reads.
pub const TURF_PACKAGE_FORMAT: u32 = 1;
