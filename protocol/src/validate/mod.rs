//! The rule book: every rule about what a device may write, decided once. The phone runs these
//! before it writes; the server runs the same functions before it stores (see [`crate::merge`] for
//! how a pushed batch is decided). Pure functions, no I/O.
//!
//! - [`answers`]: answers against the survey script, positions;
//! - [`script`]: whether a survey script and result codes may be published;
//! - [`package`]: whether a turf package may be applied on a phone;
//! - [`report`]: whether a knock report may be written (`check_report`), report ids, clock bounds,
//!   the building → door fan-out;
//! - [`text`]: control characters and lengths of stored text;
//! - [`session`]: canvass sessions and sign-up events;
//! - [`handoff`]: the lease a captain's phone hands to a volunteer's phone with no network;
//! - [`reminder`]: which session reminders a person gets, and when a due one is sent;
//! - [`message`]: team messages — who reads, writes and pins which channel, the read marker;
//! - [`people`]: volunteer pages (who sees which field) and coopains (a link both sides accept);
//! - [`sms`]: the SMS compliance gate — consent, STOP, quiet hours and holidays, the L49 silence.

pub mod answers;
pub mod handoff;
pub mod message;
pub mod package;
pub mod people;
pub mod reminder;
pub mod report;
pub mod script;
pub mod session;
pub mod sms;
pub mod text;

pub use answers::{ValidationError, validate_answers, validate_lat_lon, validate_position, visible_questions};
pub use package::{PackageError, check_package};
pub use report::{
    CLOCK_TRUST_AFTER_MS, CLOCK_TRUST_BEFORE_MS, Corrected, MAX_DEVICE_TIME_MS, ReportError, check_report,
    doors_covered, is_report_id, report_time,
};
pub use script::{ScriptError, validate_script};
pub use text::{MAX_ID_CHARS, MAX_NAME_CHARS, MAX_TEXT_CHARS, TextError, TextKind, check_text};
