//! Doorstep's field core: everything a volunteer's phone does with no network.
//!
//! The [`Store`] is the single entry point: it owns the SQLite database holding the device's turfs,
//! its knock reports and their outbox, and its drafts. Pure logic sits in modules that do no I/O:
//! [`status`] (door status from reports), [`route`] (walking order), [`plausibility`], [`hlc`].
//! Time comes through the [`clock::Clock`] trait and the network through [`sync::Transport`], so
//! tests can simulate both.

pub mod clock;
pub mod error;
pub mod hlc;
pub mod plausibility;
/// Door status is shared with the server: see `doorstep_protocol::status`.
pub use doorstep_protocol::status;
pub use doorstep_streets::{misplaced, route, streets};
pub mod store;
pub mod sync;
pub mod views;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{CoreError, Result};
pub use status::DoorStatus;
pub use store::handoffs::{HandoffCode, LeaseView, StreetDoors};
pub use store::sessions::{ListedSession, SessionView};
pub use store::{OpenOptions, PullSummary, Store};
pub use views::*;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("doorstep_core");
