//! The uniffi layer over `doorstep-core`: one object, [`FieldStore`], whose methods forward to
//! [`doorstep_core::Store`], and one error enum, [`FieldError`]. No logic lives here: records and
//! enums are the core's own types (derived with its `uniffi` feature), errors are mapped in
//! exactly one place (`From<CoreError>`).

use std::sync::Arc;

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{JoinInfo, RetryPolicy, SyncPhase, SyncProgress, SyncReport, TransportError};
use doorstep_core::{
    AckSummary, ApplySummary, CoreError, DoorStatus, HandoffCode, KnockDraft, KnockInput, KnockView, LeaseView,
    PairSide, PurgeSummary, RouteProgress, SessionView, Store, StreetDoors, SyncStatus, TurfSummary,
    store::messages::{ChannelSummary, ThreadMessage},
};
use doorstep_protocol::{Answer, AppReminder, Position, ResultCode, SignupKind, SurveyScript, Target};

uniffi::setup_scaffolding!("doorstep");

/// A door found from a paper walk sheet's code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SheetDoorRef {
    pub turf_id: String,
    pub door_id: String,
}

/// What the app can act on. Every variant carries a readable reason (named `reason`, not
/// `message`, which would clash with `Throwable.message` in Kotlin).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FieldError {
    /// The file is not a Doorstep store, or was written by a newer app version.
    #[error("{reason}")]
    NotOurStore { reason: String },
    /// The key could not be used (this build has no encryption, or the key is wrong).
    #[error("{reason}")]
    Encryption { reason: String },
    /// Input that does not fit: coordinates, answers against the script, result code, text length.
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// An id the device does not hold (door, turf, report).
    #[error("{reason}")]
    UnknownId { reason: String },
    /// A turf package, delta or server message that is malformed or not for this version.
    #[error("{reason}")]
    BadPackage { reason: String },
    /// The device's copy is out of date for this delta: fetch a full package.
    #[error("{reason}")]
    OutOfDate { reason: String },
    /// The database failed (disk full, I/O error).
    #[error("{reason}")]
    Storage { reason: String },
    /// The network failed after every retry: everything stays pending; try again later.
    #[error("{reason}")]
    Network { reason: String },
    /// The server refused (bad or expired token or join code, unsupported version).
    #[error("{reason}")]
    Refused { reason: String },
    /// The server is busy (429): try again after `retry_after_ms`; everything stays pending.
    #[error("{reason}")]
    Busy { reason: String, retry_after_ms: u64 },
}

impl From<TransportError> for FieldError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Unavailable(reason) => FieldError::Network { reason },
            TransportError::Refused(reason) => FieldError::Refused { reason },
            busy @ TransportError::Busy { retry_after, .. } => {
                FieldError::Busy { retry_after_ms: retry_after.as_millis() as u64, reason: busy.to_string() }
            }
        }
    }
}

/// The app's progress callback during a sync.
#[uniffi::export(callback_interface)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, phase: SyncPhase, pending: u32, attempt: u32);
}

struct Listener(Box<dyn SyncListener>);

impl SyncProgress for Listener {
    fn on_progress(&self, phase: SyncPhase, pending: u32, attempt: u32) {
        self.0.on_progress(phase, pending, attempt)
    }
}

impl From<CoreError> for FieldError {
    fn from(e: CoreError) -> Self {
        let reason = e.to_string();
        match e {
            CoreError::NotOurStore { .. } | CoreError::NewerSchema { .. } => FieldError::NotOurStore { reason },
            CoreError::WrongKey(_) => FieldError::Encryption { reason },
            // The rule book's refusals of a lease or a sign-up start with their stable code, so
            // that a screen can say it in its own words: `not_for_me: …`.
            CoreError::Handoff(h) => FieldError::InvalidInput { reason: format!("{}: {reason}", h.code()) },
            CoreError::Signup(s) => FieldError::InvalidInput { reason: format!("{}: {reason}", s.code()) },
            CoreError::Message(m) => FieldError::InvalidInput { reason: format!("{}: {reason}", m.code()) },
            CoreError::People(p) => FieldError::InvalidInput { reason: format!("{}: {reason}", p.code()) },
            CoreError::Unsent(_) => FieldError::InvalidInput { reason: format!("unsent: {reason}") },
            CoreError::Sealed(_) => FieldError::InvalidInput { reason: format!("sealed: {reason}") },
            CoreError::Report(r) => FieldError::InvalidInput { reason: format!("{}: {reason}", r.code()) },
            CoreError::Invalid(_)
            | CoreError::UnknownResultCode(_)
            | CoreError::ResultLevelMismatch { .. }
            | CoreError::CorrectionTargetMismatch(_)
            | CoreError::NeedsSync(_) => FieldError::InvalidInput { reason },
            CoreError::UnknownId { .. } => FieldError::UnknownId { reason },
            CoreError::BadPackage(_) | CoreError::UnsupportedPackageFormat { .. } | CoreError::BadMessage(_) => {
                FieldError::BadPackage { reason }
            }
            CoreError::StalePackage { .. } | CoreError::DeltaBaseMismatch { .. } => FieldError::OutOfDate { reason },
            CoreError::Sqlite(_) | CoreError::Json(_) => FieldError::Storage { reason },
        }
    }
}

type Result<T> = std::result::Result<T, FieldError>;

/// The device store: the app's one handle on its turfs, knocks and outbox.
#[derive(uniffi::Object)]
pub struct FieldStore {
    inner: Store,
}

#[uniffi::export]
impl FieldStore {
    /// Opens (or creates) the store at `path`. `key` is the encryption key from the platform keystore.
    #[uniffi::constructor]
    pub fn open(path: String, key: Option<String>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self { inner: Store::open(path, key)? }))
    }

    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.inner.schema_version()?)
    }

    pub fn apply_turf_package(&self, package: Vec<u8>) -> Result<ApplySummary> {
        Ok(self.inner.apply_turf_package(&package)?)
    }

    pub fn apply_turf_delta(&self, delta: Vec<u8>) -> Result<ApplySummary> {
        Ok(self.inner.apply_turf_delta(&delta)?)
    }

    pub fn remove_turf(&self, turf_id: String) -> Result<PurgeSummary> {
        Ok(self.inner.remove_turf(&turf_id)?)
    }

    pub fn purge_expired(&self) -> Result<Vec<PurgeSummary>> {
        Ok(self.inner.purge_expired()?)
    }

    pub fn turfs(&self) -> Result<Vec<TurfSummary>> {
        Ok(self.inner.turfs()?)
    }

    pub fn result_codes(&self, turf_id: String) -> Result<Vec<ResultCode>> {
        Ok(self.inner.campaign_for_turf(&turf_id)?.result_codes)
    }

    pub fn survey_script(&self, turf_id: String) -> Result<SurveyScript> {
        Ok(self.inner.campaign_for_turf(&turf_id)?.survey)
    }

    /// The questions to show for the answers given so far (skip logic and consent).
    pub fn visible_questions(&self, turf_id: String, answers: Vec<Answer>) -> Result<Vec<String>> {
        let survey = self.inner.campaign_for_turf(&turf_id)?.survey;
        Ok(doorstep_protocol::validate::visible_questions(&survey, &answers))
    }

    pub fn compute_route(
        &self,
        turf_id: String,
        start: Option<Position>,
        side: Option<PairSide>,
        round_trip: bool,
    ) -> Result<RouteProgress> {
        Ok(self.inner.compute_route(&turf_id, start, side, round_trip)?)
    }

    pub fn route_progress(&self, turf_id: String) -> Result<RouteProgress> {
        Ok(self.inner.route_progress(&turf_id)?)
    }

    pub fn record_knock(&self, input: KnockInput) -> Result<KnockView> {
        Ok(self.inner.record_knock(input)?)
    }

    pub fn correct_knock(&self, original_id: String, input: KnockInput) -> Result<KnockView> {
        Ok(self.inner.correct_knock(&original_id, input)?)
    }

    pub fn knock(&self, id: String) -> Result<KnockView> {
        Ok(self.inner.knock(&id)?)
    }

    pub fn list_knocks(&self, turf_id: String) -> Result<Vec<KnockView>> {
        Ok(self.inner.list_knocks(&turf_id)?)
    }

    pub fn door_status(&self, door_id: String) -> Result<DoorStatus> {
        Ok(self.inner.door_status(&door_id)?)
    }

    pub fn pending_count(&self) -> Result<u32> {
        Ok(self.inner.pending_count()?)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        Ok(self.inner.sync_status()?)
    }

    /// Up to `max` pending reports as a push request (JSON bytes).
    pub fn export_pending_batch(&self, max: u32) -> Result<Vec<u8>> {
        Ok(self.inner.export_pending_batch_bytes(max)?)
    }

    /// Applies the server's acknowledgement (JSON bytes of a push response).
    pub fn apply_push_response(&self, response: Vec<u8>) -> Result<AckSummary> {
        Ok(self.inner.apply_push_response_bytes(&response)?)
    }

    pub fn save_draft(&self, draft: KnockDraft) -> Result<KnockDraft> {
        Ok(self.inner.save_draft(draft)?)
    }

    pub fn load_draft(&self, target: Target) -> Result<Option<KnockDraft>> {
        Ok(self.inner.load_draft(&target)?)
    }

    pub fn list_drafts(&self) -> Result<Vec<KnockDraft>> {
        Ok(self.inner.list_drafts()?)
    }

    pub fn discard_draft(&self, target: Target) -> Result<bool> {
        Ok(self.inner.discard_draft(&target)?)
    }

    pub fn pull_cursor(&self) -> Result<Option<String>> {
        Ok(self.inner.pull_cursor()?)
    }

    pub fn is_wiped(&self) -> Result<bool> {
        Ok(self.inner.is_wiped()?)
    }

    /// A captain's phone with no network hands a turf, or one street of it, to a volunteer: the
    /// QR text to show and the lease.
    pub fn give_handoff(
        &self,
        session_id: String,
        volunteer_id: String,
        turf_id: String,
        street: Option<String>,
        minutes: u32,
    ) -> Result<HandoffCode> {
        Ok(self.inner.give_handoff(&session_id, &volunteer_id, &turf_id, street, minutes)?)
    }

    /// A volunteer's phone scans a captain's code: checked offline, the sealed turf or street opens.
    pub fn receive_handoff(&self, qr_text: String) -> Result<LeaseView> {
        Ok(self.inner.receive_handoff(&qr_text)?)
    }

    /// The canvass sessions this phone knows (from its last sync), soonest first.
    pub fn sessions(&self) -> Result<Vec<SessionView>> {
        Ok(self.inner.sessions()?)
    }

    /// The session reminders to show now ("Rappel : demain à 10 h — …"), each until dismissed.
    pub fn reminders(&self) -> Result<Vec<AppReminder>> {
        Ok(self.inner.reminders()?)
    }

    /// The volunteer saw a reminder: it is not shown again.
    pub fn dismiss_reminder(&self, id: String) -> Result<()> {
        Ok(self.inner.dismiss_reminder(&id)?)
    }

    /// Signs up for a session, confirms or cancels, with no network (pushed at the next sync).
    pub fn sign_up(&self, session_id: String, kind: SignupKind) -> Result<SessionView> {
        Ok(self.inner.sign_up(&session_id, kind)?)
    }

    /// The streets of a turf this phone holds, with their doors (the captain's hand-out screen).
    pub fn turf_streets(&self, turf_id: String) -> Result<Vec<StreetDoors>> {
        Ok(self.inner.turf_streets(&turf_id)?)
    }

    /// The door a paper walk sheet's QR code names (or a code typed in, with its turf): the turf
    /// and door ids, to open its result form. Unknown if this phone does not hold it.
    pub fn door_from_sheet(&self, text: String, turf_id: Option<String>) -> Result<SheetDoorRef> {
        let (turf_id, door_id) = self.inner.door_from_sheet(&text, turf_id.as_deref())?;
        Ok(SheetDoorRef { turf_id, door_id })
    }

    /// A captain's phone: the check-in code to show at the meeting point for `minutes`.
    pub fn checkin_code(&self, session_id: String, minutes: u32) -> Result<String> {
        Ok(self.inner.checkin_code(&session_id, minutes)?)
    }

    /// A volunteer's phone scans the captain's check-in code, with no network.
    pub fn check_in(&self, qr_text: String) -> Result<SessionView> {
        Ok(self.inner.check_in(&qr_text)?)
    }

    /// A captain's phone checks in a volunteer it sees at the meeting point.
    pub fn confirm_check_in(&self, session_id: String, volunteer_id: String) -> Result<()> {
        Ok(self.inner.confirm_check_in(&session_id, &volunteer_id)?)
    }

    /// The leases this phone gave or received, newest first.
    pub fn leases(&self) -> Result<Vec<LeaseView>> {
        Ok(self.inner.leases()?)
    }

    /// The team's channels as the server last described them (issue 18), with what was read here.
    pub fn channels(&self) -> Result<Vec<ChannelSummary>> {
        Ok(self.inner.channels()?)
    }

    /// A channel's messages: those placed by the server in its order, then this phone's pending.
    pub fn thread(&self, channel_id: String) -> Result<Vec<ThreadMessage>> {
        Ok(self.inner.thread(&channel_id)?)
    }

    /// Writes a message with no network (pending until the next sync), optionally pointing at a
    /// door (`door_id`) or a street (`street` with its `turf_id`).
    pub fn post_message(
        &self,
        channel_id: String,
        body: String,
        door_id: Option<String>,
        street: Option<String>,
        turf_id: Option<String>,
    ) -> Result<ThreadMessage> {
        let reference = match (door_id, street, turf_id) {
            (Some(door_id), _, _) => Some(doorstep_protocol::MessageRef::Door { door_id }),
            (None, Some(street), Some(turf_id)) => Some(doorstep_protocol::MessageRef::Street { turf_id, street }),
            _ => None,
        };
        Ok(self.inner.post_message(&channel_id, &body, reference)?)
    }

    /// Marks the channel read up to its last message (the marker only rises).
    pub fn mark_read(&self, channel_id: String) -> Result<()> {
        Ok(self.inner.mark_read(&channel_id)?)
    }

    /// A captain pins a message (`None`: unpins), with no network.
    pub fn pin_message(&self, channel_id: String, message_id: Option<String>) -> Result<()> {
        Ok(self.inner.pin_message(&channel_id, message_id)?)
    }

    /// The people screens: this person's page and settings, their coopains and asks, their team.
    pub fn people(&self) -> Result<doorstep_core::store::people::PeopleSnapshot> {
        Ok(self.inner.people()?)
    }

    /// Replaces this person's page settings, offline (pushed at the next sync).
    pub fn set_profile(&self, settings: doorstep_protocol::ProfileSettings) -> Result<()> {
        Ok(self.inner.set_profile(settings)?)
    }

    /// Asks, accepts or ends a coopain link, offline (pushed at the next sync).
    pub fn coopain(&self, user_id: String, step: doorstep_protocol::CoopainStep) -> Result<()> {
        Ok(self.inner.coopain(&user_id, step)?)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl FieldStore {
    /// Joins a campaign at `server_url` with a one-time code.
    pub async fn join(&self, server_url: String, code: String) -> Result<JoinInfo> {
        Ok(doorstep_core::sync::join(&self.inner, &server_url, &code).await?)
    }

    /// A captain's phone, online before the session, gets its grant to hand out that session's
    /// streets offline later.
    pub async fn request_grant(&self, server_url: String, token: String, session_id: String) -> Result<i64> {
        let transport = HttpTransport::new(&server_url, Some(token))?;
        let g = doorstep_core::sync::request_grant(&self.inner, &transport, &session_id).await??;
        Ok(g.grant.expires_ms)
    }

    /// While the app is open and online: waits up to `wait_ms` (at most 25 s) for the team's
    /// messages and keeps them; returns how many came. Called again in a loop in the foreground.
    pub async fn listen_messages(&self, server_url: String, token: String, wait_ms: u64) -> Result<u32> {
        let transport = HttpTransport::new(&server_url, Some(token))?;
        Ok(doorstep_core::sync::listen_messages(&self.inner, &transport, wait_ms).await??)
    }

    /// All this person's data held by the server, one JSON document to save or share.
    pub async fn export_my_data(&self, server_url: String, token: String) -> Result<String> {
        Ok(HttpTransport::new(&server_url, Some(token))?.export_my_data().await?)
    }

    /// Deletes this person's account: pushes everything first (refused while anything is
    /// unsent), then the server deletes it and this phone is wiped.
    pub async fn delete_account(
        &self,
        server_url: String,
        token: String,
        confirm: String,
    ) -> Result<doorstep_core::sync::AccountDeleted> {
        let transport = HttpTransport::new(&server_url, Some(token))?;
        Ok(doorstep_core::sync::delete_account(&self.inner, &transport, &confirm).await??)
    }

    /// Sets this person's photo (JPEG or PNG); the server keeps a 256 px copy without metadata.
    /// Returns whether the page now has a photo.
    pub async fn set_photo(&self, server_url: String, token: String, image: Vec<u8>) -> Result<bool> {
        Ok(HttpTransport::new(&server_url, Some(token))?.set_photo(image).await?.has_photo)
    }

    /// A person's photo (JPEG), if this person may see it.
    pub async fn photo(&self, server_url: String, token: String, user_id: String) -> Result<Vec<u8>> {
        Ok(HttpTransport::new(&server_url, Some(token))?.photo(&user_id).await?)
    }

    /// Pushes the outbox then pulls, retrying network failures with backoff.
    pub async fn sync(&self, server_url: String, token: String, listener: Box<dyn SyncListener>) -> Result<SyncReport> {
        let transport = HttpTransport::new(&server_url, Some(token))?;
        Ok(doorstep_core::sync::sync(&self.inner, &transport, RetryPolicy::default(), &Listener(listener)).await??)
    }

    /// Pushes the outbox then pulls, one attempt and no retry: for apps whose platform schedules
    /// the retries (WorkManager, BGTaskScheduler) so that no process stays awake waiting.
    pub async fn sync_once(
        &self,
        server_url: String,
        token: String,
        listener: Box<dyn SyncListener>,
    ) -> Result<SyncReport> {
        let transport = HttpTransport::new(&server_url, Some(token))?;
        let once = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
        Ok(doorstep_core::sync::sync(&self.inner, &transport, once, &Listener(listener)).await??)
    }
}

/// Reads an invitation: a scanned `doorstep://join?server=…&code=…` link, or a code typed by hand
/// when `server` (the last server used) is known. The one parser both shells use.
#[uniffi::export]
pub fn parse_join_link(input: String, server: Option<String>) -> Result<doorstep_protocol::JoinLink> {
    doorstep_protocol::JoinLink::parse(&input, server.as_deref())
        .map_err(|e| FieldError::InvalidInput { reason: e.to_string() })
}

/// How long to wait before the next automatic sync after `failures` failures in a row (doubling
/// from 30 s to 30 min; at least 15 min while the battery is low). The one schedule both shells use.
#[uniffi::export]
pub fn sync_backoff_ms(failures: u32, battery_low: bool) -> u64 {
    doorstep_core::sync::backoff_ms(failures, battery_low)
}

/// The protocol version this build speaks.
#[uniffi::export]
pub fn protocol_version() -> u32 {
    doorstep_protocol::PROTOCOL_VERSION
}
