//! Every store operation that is written once for both backends, as async calls on any
//! [`ServerStore`]: each runs one function of [`super::ops`] (grouped by aggregate: campaign,
//! people, turfs, reports) inside one transaction of the backend ([`ServerStore::op_any`]), or on a
//! read snapshot. The backend trait itself keeps only what the backends write differently.

use async_trait::async_trait;
use doorstep_protocol::{Campaign, ResultCode, SurveyScript};

use super::records::*;
use super::{ServerStore, import, ops, push, sql, typed, typed_read};

#[async_trait]
pub trait StoreOps: ServerStore {
    /// Creates a campaign (its script at its first version).
    async fn create_campaign(&self, c: &Campaign, now_ms: i64) -> StoreResult<()> {
        let c = c.clone();
        typed(self, move |tx| Box::pin(async move { ops::campaign::create_campaign(tx, &c, now_ms).await })).await
    }
    /// Imports addresses and the voter file, atomically; rows already present are kept.
    async fn import(&self, campaign_id: &str, import: &Import) -> StoreResult<ImportCounts> {
        let (cid, i) = (campaign_id.to_string(), import.clone());
        typed(self, move |tx| Box::pin(async move { import::import(tx, &cid, &i).await })).await
    }
    /// Creates a turf at version 1 from buildings that are in no turf yet.
    async fn create_turf(
        &self,
        campaign_id: &str,
        turf_id: &str,
        name: &str,
        team_id: Option<&str>,
        building_ids: &[String],
    ) -> StoreResult<()> {
        let (cid, tid, name, team, ids) = (
            campaign_id.to_string(),
            turf_id.to_string(),
            name.to_string(),
            team_id.map(str::to_string),
            building_ids.to_vec(),
        );
        typed(self, move |tx| {
            Box::pin(async move { ops::turfs::create_turf(tx, &cid, &tid, &name, team.as_deref(), &ids).await })
        })
        .await
    }
    /// Checks the turf out to a volunteer (or returns it with `None`); bumps its version.
    async fn assign_turf(
        &self,
        turf_id: &str,
        volunteer_id: Option<&str>,
        lease_expires_ms: Option<i64>,
    ) -> StoreResult<()> {
        let (t, v) = (turf_id.to_string(), volunteer_id.map(str::to_string));
        typed(self, move |tx| {
            Box::pin(async move { ops::turfs::assign_turf(tx, &t, v.as_deref(), lease_expires_ms).await })
        })
        .await
    }
    /// Moves buildings (a street, or chosen doors' buildings) into another turf; bumps the version
    /// of every turf touched. Returns the turfs touched. With `expect_from`, `Moved` when any of
    /// them is no longer in that turf (someone moved it first).
    async fn move_buildings(
        &self,
        campaign_id: &str,
        building_ids: &[String],
        to_turf: &str,
        expect_from: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        let (cid, ids, to) = (campaign_id.to_string(), building_ids.to_vec(), to_turf.to_string());
        let from = expect_from.map(str::to_string);
        typed(self, move |tx| {
            Box::pin(async move { ops::turfs::move_buildings(tx, &cid, &ids, &to, from.as_deref()).await })
        })
        .await
    }
    /// Stores a new version of the script and result codes and moves every turf of the campaign to
    /// a new version. Returns the script's new version.
    async fn update_script(
        &self,
        campaign_id: &str,
        survey: &SurveyScript,
        codes: &[ResultCode],
        now_ms: i64,
    ) -> StoreResult<u32> {
        let (c, s, k) = (campaign_id.to_string(), survey.clone(), codes.to_vec());
        typed(self, move |tx| Box::pin(async move { ops::campaign::update_script(tx, &c, &s, &k, now_ms).await })).await
    }
    /// One version of the campaign's script and result codes.
    async fn script(&self, campaign_id: &str, version: u32) -> StoreResult<Option<(SurveyScript, Vec<ResultCode>)>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::campaign::script(tx, &c, version).await })).await
    }
    async fn users(&self, campaign_id: &str) -> StoreResult<Vec<User>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::users(tx, &c).await })).await
    }
    /// Sets a staff member's dashboard login and password hash (argon2id, PHC string).
    async fn set_login(&self, user_id: &str, login: &str, password_hash: &str) -> StoreResult<()> {
        let (u, l, h) = (user_id.to_string(), login.to_string(), password_hash.to_string());
        typed(self, move |tx| Box::pin(async move { ops::people::set_login(tx, &u, &l, &h).await })).await
    }
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let l = login.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::user_by_login(tx, &l).await })).await
    }
    /// The token's row, found by the token's hash.
    async fn device(&self, token_hash: &str) -> StoreResult<Option<Device>> {
        let h = token_hash.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::device(tx, &h).await })).await
    }
    /// The device behind a token hash and its user (one query: every request's sign-in).
    async fn device_with_user(&self, token_hash: &str) -> StoreResult<Option<(Device, User)>> {
        let h = token_hash.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::device_with_user(tx, &h).await })).await
    }
    /// Revokes the tokens of one user's device. Returns whether any was live.
    async fn revoke_device(&self, device_id: &str, user_id: &str, now_ms: i64) -> StoreResult<bool> {
        let (d, u) = (device_id.to_string(), user_id.to_string());
        typed(self, move |tx| {
            Box::pin(async move { Ok(tx.exec(sql::REVOKE_DEVICE, &crate::vals![now_ms, d, u]).await? > 0) })
        })
        .await
    }
    /// A revoked device acknowledged its wipe: its tokens are dead from now on.
    async fn device_wiped(&self, device_id: &str, user_id: &str, now_ms: i64) -> StoreResult<bool> {
        let (d, u) = (device_id.to_string(), user_id.to_string());
        typed(self, move |tx| {
            Box::pin(async move { Ok(tx.exec(sql::WIPED_DEVICE, &crate::vals![now_ms, d, u]).await? > 0) })
        })
        .await
    }
    /// Another user holding a token under this device id, if any.
    async fn device_other_user(&self, device_id: &str, user_id: &str) -> StoreResult<Option<String>> {
        let (d, u) = (device_id.to_string(), user_id.to_string());
        typed_read(self, move |tx| Box::pin(async move { ops::people::device_other_user(tx, &d, &u).await })).await
    }
    /// The user whose join code this is, if it is still usable.
    async fn join_code_user(&self, code_hash: &str, now_ms: i64) -> StoreResult<Option<String>> {
        let c = code_hash.to_string();
        typed(self, move |tx| {
            Box::pin(async move {
                tx.rows(sql::SELECT_JOIN_CODE_USER, &crate::vals![c, now_ms])
                    .await?
                    .first()
                    .map(|r| r[0].text())
                    .transpose()
            })
        })
        .await
    }
    /// Reports of revoked devices waiting for a captain (the campaign's), oldest first.
    async fn held_reports(&self, campaign_id: &str) -> StoreResult<Vec<HeldReport>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { push::held_reports(tx, &c).await })).await
    }
    /// Accepts (counted from now on, as an overlap when its door moved on) or discards a held
    /// report. `None` when no such report waits in the campaign.
    async fn review_held(
        &self,
        campaign_id: &str,
        report_id: &str,
        accept: bool,
        user_id: &str,
        now_ms: i64,
    ) -> StoreResult<Option<HeldReport>> {
        let (c, r, u) = (campaign_id.to_string(), report_id.to_string(), user_id.to_string());
        typed(self, move |tx| Box::pin(async move { push::review_held(tx, &c, &r, accept, &u, now_ms).await })).await
    }
    /// Records that a device synced now (and its volunteer's campaign's and team's latest sync, to
    /// the minute: `ops::groups::synced`).
    async fn touch_device(&self, device: &Device, now_ms: i64) -> StoreResult<()> {
        self.touch_devices(vec![(device.clone(), now_ms)]).await
    }
    /// [`Self::touch_device`] for several devices, in one transaction (one commit for them all).
    async fn touch_devices(&self, touches: Vec<(Device, i64)>) -> StoreResult<()> {
        typed(self, move |tx| {
            Box::pin(async move {
                for (d, now_ms) in &touches {
                    tx.defer(sql::TOUCH_DEVICE, crate::vals![*now_ms, d.device_id.as_str(), *now_ms].to_vec()).await?;
                    ops::groups::synced(tx, &d.campaign_id, &d.user_id, *now_ms).await?;
                }
                Ok(())
            })
        })
        .await
    }
    async fn devices(&self, campaign_id: &str) -> StoreResult<Vec<DeviceRow>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::devices(tx, &c).await })).await
    }
    async fn campaign_doors(&self, campaign_id: &str) -> StoreResult<Vec<DoorRow>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::reports::campaign_doors(tx, &c).await })).await
    }
    /// Marks an overlap reviewed. `false` when the report is not an overlap of the campaign.
    async fn review_overlap(
        &self,
        campaign_id: &str,
        report_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let (c, r, u) = (campaign_id.to_string(), report_id.to_string(), user_id.to_string());
        typed(self, move |tx| Box::pin(async move { ops::reports::review_overlap(tx, &c, &r, &u, now_ms).await })).await
    }
    /// Erases a campaign's personal data, in one transaction: survey answers and notes in every
    /// report (result codes, times and places stay, for the campaign's figures), the voter file's
    /// people, and every volunteer device (revoked: each wipes at its next sync). Idempotent.
    async fn purge_personal_data(&self, campaign_id: &str, now_ms: i64) -> StoreResult<PurgeCounts> {
        let c = campaign_id.to_string();
        typed(self, move |tx| Box::pin(async move { ops::campaign::purge_personal_data(tx, &c, now_ms).await })).await
    }
    /// Campaigns whose retention date has passed.
    async fn campaigns_past_retention(&self, now_ms: i64) -> StoreResult<Vec<String>> {
        typed(self, move |tx| Box::pin(async move { ops::campaign::campaigns_past_retention(tx, now_ms).await })).await
    }
    /// Every report of the campaign with its building and door, in HLC order.
    async fn located_reports(&self, campaign_id: &str) -> StoreResult<Vec<LocatedReport>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::reports::located_reports(tx, &c).await })).await
    }
    async fn overlap_reviews(&self, campaign_id: &str) -> StoreResult<Vec<String>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| {
            Box::pin(async move {
                tx.rows(sql::SELECT_OVERLAP_REVIEWS, &crate::vals![c]).await?.iter().map(|r| r[0].text()).collect()
            })
        })
        .await
    }
    /// Appends to the audit log (the only write the log accepts).
    async fn append_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        let e = e.clone();
        typed(self, move |tx| {
            Box::pin(async move {
                tx.exec(
                    sql::INSERT_AUDIT,
                    &crate::vals![
                        e.id,
                        e.at_ms,
                        e.campaign_id,
                        e.actor,
                        e.device_id.map_or(crate::store::tx::Val::Null, crate::store::tx::Val::from),
                        e.action,
                        e.subject.map_or(crate::store::tx::Val::Null, crate::store::tx::Val::from),
                        e.detail.to_string()
                    ],
                )
                .await
                .map(|_| ())
            })
        })
        .await
    }
    /// The campaign's audit log, newest first, before `before_ms`, at most `limit` lines.
    async fn audit_log(&self, campaign_id: &str, before_ms: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::audit_log(tx, &c, before_ms, limit).await }))
            .await
    }
    async fn create_team(&self, team: &Team) -> StoreResult<()> {
        let t = team.clone();
        typed(self, move |tx| Box::pin(async move { ops::people::create_team(tx, &t).await })).await
    }
    /// Adds a captain (leads) or a volunteer (belongs) to a team.
    async fn add_member(&self, campaign_id: &str, team_id: &str, user_id: &str) -> StoreResult<Role> {
        let (c, t, u) = (campaign_id.to_string(), team_id.to_string(), user_id.to_string());
        typed(self, move |tx| Box::pin(async move { ops::people::add_member(tx, &c, &t, &u).await })).await
    }
    async fn teams(&self, campaign_id: &str) -> StoreResult<Vec<Team>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::teams(tx, &c).await })).await
    }
    /// The teams a captain leads.
    async fn captain_teams(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let u = user_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::captain_teams(tx, &u).await })).await
    }
    async fn set_turf_team(&self, campaign_id: &str, turf_id: &str, team_id: Option<&str>) -> StoreResult<()> {
        let (c, t, team) = (campaign_id.to_string(), turf_id.to_string(), team_id.map(str::to_string));
        typed(self, move |tx| Box::pin(async move { ops::turfs::set_turf_team(tx, &c, &t, team.as_deref()).await }))
            .await
    }
    async fn turf_summaries(&self, campaign_id: &str) -> StoreResult<Vec<TurfSummary>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::turfs::turf_summaries(tx, &c).await })).await
    }
    /// Whose device this is (any of its tokens).
    async fn device_owner(&self, device_id: &str) -> StoreResult<Option<String>> {
        let d = device_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::people::device_owner(tx, &d).await })).await
    }
    /// What a cut may place: the campaign's buildings in no turf, and those of the turfs to re-cut.
    /// A turf that is being worked (held by a volunteer now or before, or with a report) is a
    /// conflict: it is never re-cut.
    async fn cut_candidates(&self, campaign_id: &str, recut: &[String]) -> StoreResult<Vec<CutCandidate>> {
        let (c, r) = (campaign_id.to_string(), recut.to_vec());
        typed(self, move |tx| Box::pin(async move { ops::turfs::cut_candidates(tx, &c, &r).await })).await
    }
    /// Publishes a canvass session; an id already taken is a conflict.
    async fn create_session(&self, s: &doorstep_protocol::Session, created_by: &str, now_ms: i64) -> StoreResult<()> {
        let (s, by) = (s.clone(), created_by.to_string());
        typed(self, move |tx| Box::pin(async move { ops::sessions::create_session(tx, &s, &by, now_ms).await })).await
    }
    /// Decides and records a person's message events, in order, in one transaction.
    async fn record_messages(
        &self,
        me: &User,
        device_id: &str,
        events: &[doorstep_protocol::MessageEvent],
        revoked: bool,
        past_retention: bool,
        now_ms: i64,
    ) -> StoreResult<ops::messages::MessagesRecorded> {
        let (u, d, e) = (me.clone(), device_id.to_string(), events.to_vec());
        typed(self, move |tx| {
            Box::pin(
                async move { ops::messages::record_messages(tx, &u, &d, &e, revoked, past_retention, now_ms).await },
            )
        })
        .await
    }
    /// The channels a person reads, as they see them, and the messages after `since`.
    async fn message_feed(
        &self,
        me: &User,
        since: &std::collections::BTreeMap<String, u64>,
        past_retention: bool,
        now_ms: i64,
        lookback_ms: i64,
    ) -> StoreResult<(Vec<doorstep_protocol::ChannelView>, Vec<doorstep_protocol::Message>, bool)> {
        let (u, since) = (me.clone(), since.clone());
        typed_read(self, move |tx| {
            Box::pin(async move { ops::messages::feed(tx, &u, &since, past_retention, now_ms, lookback_ms).await })
        })
        .await
    }
    /// Who a person is to a channel (for the live dashboards' filter).
    async fn channel_reach(
        &self,
        me: &User,
        channel: &doorstep_protocol::ChannelRef,
    ) -> StoreResult<doorstep_protocol::validate::message::Reach> {
        let (u, c) = (me.clone(), channel.clone());
        typed_read(self, move |tx| Box::pin(async move { ops::messages::reach(tx, &u, &c).await })).await
    }
    /// Edits a published session as the rule book allows (`validate::session::check_edit`);
    /// returns the session as it was, or why not.
    async fn edit_session(
        &self,
        s: &doorstep_protocol::Session,
    ) -> StoreResult<Result<doorstep_protocol::Session, doorstep_protocol::validate::session::SessionError>> {
        let s = s.clone();
        typed(self, move |tx| Box::pin(async move { ops::sessions::edit_session(tx, &s).await })).await
    }
    async fn session(&self, id: &str) -> StoreResult<Option<doorstep_protocol::Session>> {
        let id = id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sessions::session(tx, &id).await })).await
    }
    /// The campaign's sessions not over at `from_ms`, soonest first, with their standings counted.
    async fn campaign_sessions(&self, campaign_id: &str, from_ms: i64) -> StoreResult<Vec<SessionCounts>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sessions::campaign_sessions(tx, &c, from_ms).await }))
            .await
    }
    /// A volunteer's standing with each session they have one with.
    async fn standings(&self, volunteer_id: &str) -> StoreResult<Vec<(String, doorstep_protocol::Attendance)>> {
        let v = volunteer_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::sessions::standings(tx, &v).await })).await
    }
    /// Decides and records a phone's sign-up events, in order, in one transaction.
    async fn record_signups(
        &self,
        volunteer: &User,
        device_id: &str,
        events: &[doorstep_protocol::SignupEvent],
        campaign_key: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<doorstep_protocol::PushItemResult>> {
        let (u, d, e, k) = (volunteer.clone(), device_id.to_string(), events.to_vec(), campaign_key.to_string());
        typed(self, move |tx| Box::pin(async move { ops::sessions::record_signups(tx, &u, &d, &e, &k, now_ms).await }))
            .await
    }
    /// The campaign's signing key `(pkcs8, public)`, storing `candidate` if it has none yet.
    async fn campaign_key(
        &self,
        campaign_id: &str,
        candidate: (&str, &str),
        now_ms: i64,
    ) -> StoreResult<(String, String)> {
        let (c, k, p) = (campaign_id.to_string(), candidate.0.to_string(), candidate.1.to_string());
        typed(self, move |tx| Box::pin(async move { ops::handoffs::campaign_key(tx, &c, (&k, &p), now_ms).await }))
            .await
    }
    /// Keeps the grant given to a captain's device for a session.
    async fn record_grant(&self, grant: &doorstep_protocol::SessionGrant, now_ms: i64) -> StoreResult<()> {
        let g = grant.clone();
        typed(self, move |tx| Box::pin(async move { ops::handoffs::record_grant(tx, &g, now_ms).await })).await
    }
    /// Decides, records and applies pushed hand-offs, in order, in one transaction.
    async fn record_handoffs(
        &self,
        campaign_id: &str,
        campaign_key: &str,
        sender: (&str, &str),
        items: &[doorstep_protocol::SignedHandoff],
        now_ms: i64,
    ) -> StoreResult<ops::handoffs::HandoffsRecorded> {
        let (c, k, d, u, i) = (
            campaign_id.to_string(),
            campaign_key.to_string(),
            sender.0.to_string(),
            sender.1.to_string(),
            items.to_vec(),
        );
        typed(self, move |tx| {
            Box::pin(async move { ops::handoffs::record_handoffs(tx, &c, &k, (&d, &u), &i, now_ms).await })
        })
        .await
    }
    /// A session's standings and the knocks made under its accepted leases (attendance).
    #[allow(clippy::type_complexity)]
    async fn session_work(
        &self,
        session_id: &str,
    ) -> StoreResult<(Vec<(String, String)>, Vec<(String, String, String)>)> {
        let id = session_id.to_string();
        typed(self, move |tx| Box::pin(async move { ops::handoffs::session_work(tx, &id).await })).await
    }
    /// Sets (or clears) a volunteer's e-mail address for reminders.
    async fn set_email(&self, user_id: &str, email: Option<&str>) -> StoreResult<()> {
        let (u, e) = (user_id.to_string(), email.map(str::to_string));
        typed(self, move |tx| Box::pin(async move { ops::reminders::set_email(tx, &u, e.as_deref()).await })).await
    }
    /// Records a public sign-up and plans its reminders, in one transaction.
    async fn record_public_signup(
        &self,
        p: &ops::sessions::PublicSignup,
        now_ms: i64,
    ) -> StoreResult<ops::sessions::PublicOutcome> {
        let p = p.clone();
        typed(self, move |tx| Box::pin(async move { ops::sessions::record_public_signup(tx, &p, now_ms).await })).await
    }
    /// Reminders claimed by a sender that died go back to pending; then the due ones of a channel.
    async fn due_reminders(
        &self,
        channel: doorstep_protocol::validate::reminder::Channel,
        now_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ops::reminders::DueReminder>> {
        typed(self, move |tx| {
            Box::pin(async move {
                ops::reminders::reclaim(tx, now_ms).await?;
                ops::reminders::due(tx, channel, now_ms, limit).await
            })
        })
        .await
    }
    /// Claims a due reminder for sending: true for exactly one caller, across processes.
    async fn claim_reminder(&self, r: &ops::reminders::DueReminder, now_ms: i64) -> StoreResult<bool> {
        let r = r.clone();
        typed(self, move |tx| Box::pin(async move { ops::reminders::claim(tx, &r, now_ms).await })).await
    }
    /// Moves a reminder on (sent, dropped, pending again or failed).
    async fn finish_reminder(
        &self,
        r: &ops::reminders::DueReminder,
        state: doorstep_protocol::validate::reminder::RowState,
        due_ms: i64,
        error: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (r, e) = (r.clone(), error.map(str::to_string));
        typed(self, move |tx| {
            Box::pin(async move { ops::reminders::finish(tx, &r, state, due_ms, e.as_deref(), now_ms).await })
        })
        .await
    }
    /// A volunteer's in-app reminders due by now for sessions not over.
    async fn app_reminders(&self, volunteer_id: &str, now_ms: i64) -> StoreResult<Vec<ops::reminders::DueReminder>> {
        let v = volunteer_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::reminders::app_reminders(tx, &v, now_ms).await })).await
    }
    /// Every reminder row of a session: `(person, kind, channel, state)`.
    async fn session_reminders(&self, session_id: &str) -> StoreResult<Vec<(String, String, String, String)>> {
        let id = session_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::reminders::session_reminders(tx, &id).await })).await
    }
    /// Replaces the turfs to re-cut by the new ones, in one transaction.
    async fn apply_cut(&self, campaign_id: &str, dissolve: &[String], turfs: &[NewTurf]) -> StoreResult<()> {
        let (c, d, t) = (campaign_id.to_string(), dissolve.to_vec(), turfs.to_vec());
        typed(self, move |tx| Box::pin(async move { ops::turfs::apply_cut(tx, &c, &d, &t).await })).await
    }
    /// Stores results per station (`(id, StationResults JSON)`), replacing earlier ones.
    async fn set_station_results(&self, campaign_id: &str, results: &[(String, String)]) -> StoreResult<()> {
        let (c, r) = (campaign_id.to_string(), results.to_vec());
        typed(self, move |tx| Box::pin(async move { ops::campaign::set_station_results(tx, &c, &r).await })).await
    }
    /// Stores station boundaries (`(id, GeoJSON geometry)`) and places buildings in them.
    async fn set_station_boundaries(&self, campaign_id: &str, b: &[(String, String)]) -> StoreResult<StationsPlaced> {
        let (c, b) = (campaign_id.to_string(), b.to_vec());
        typed(self, move |tx| Box::pin(async move { ops::campaign::set_station_boundaries(tx, &c, &b).await })).await
    }
    /// The bounding box (south, west, north, east) of the campaign's buildings, if it has any.
    async fn extent(&self, campaign_id: &str) -> StoreResult<Option<(f64, f64, f64, f64)>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::campaign::extent(tx, &c).await })).await
    }
    async fn stations(&self, campaign_id: &str) -> StoreResult<Vec<StationRow>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::campaign::stations(tx, &c).await })).await
    }
    /// Doors per (turf, station) of the campaign.
    async fn station_doors(&self, campaign_id: &str) -> StoreResult<Vec<(Option<String>, Option<String>, u64)>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::campaign::station_doors(tx, &c).await })).await
    }
    async fn targeting(&self, campaign_id: &str) -> StoreResult<Option<crate::targeting::Formula>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::campaign::targeting(tx, &c).await })).await
    }
    async fn set_targeting(&self, campaign_id: &str, f: &crate::targeting::Formula) -> StoreResult<()> {
        let (c, f) = (campaign_id.to_string(), f.clone());
        typed(self, move |tx| Box::pin(async move { ops::campaign::set_targeting(tx, &c, &f).await })).await
    }
    /// The turf a building is in now.
    async fn building_turf(&self, building_id: &str) -> StoreResult<Option<String>> {
        let b = building_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::turfs::building_turf(tx, &b).await })).await
    }
    /// Buildings of a turf on a street (case-insensitive).
    async fn street_buildings(&self, turf_id: &str, street: &str) -> StoreResult<Vec<String>> {
        let (t, s) = (turf_id.to_string(), street.to_string());
        typed_read(self, move |tx| Box::pin(async move { ops::turfs::street_buildings(tx, &t, &s).await })).await
    }
    /// Where a street moved out of `turf_id` went (`Some(None)`: into no turf).
    async fn street_moved_to(&self, turf_id: &str, street: &str) -> StoreResult<Option<Option<String>>> {
        let (t, s) = (turf_id.to_string(), street.to_string());
        typed_read(self, move |tx| Box::pin(async move { ops::turfs::street_moved_to(tx, &t, &s).await })).await
    }
    /// The buildings of these doors; an unknown door is `Missing`.
    async fn door_buildings(&self, campaign_id: &str, door_ids: &[String]) -> StoreResult<Vec<String>> {
        let (c, d) = (campaign_id.to_string(), door_ids.to_vec());
        typed_read(self, move |tx| Box::pin(async move { ops::turfs::door_buildings(tx, &c, &d).await })).await
    }
    /// The op log of a turf after `version`, in order.
    async fn turf_ops(&self, turf_id: &str, after_version: u64) -> StoreResult<Vec<(u64, TurfOp)>> {
        let t = turf_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::turfs::turf_ops(tx, &t, after_version).await })).await
    }
    /// Caches the checksum of a turf version (ignored if the turf moved on meanwhile).
    async fn set_checksum(&self, turf_id: &str, version: u64, checksum: &str) -> StoreResult<()> {
        let (t, c) = (turf_id.to_string(), checksum.to_string());
        typed(self, move |tx| Box::pin(async move { ops::turfs::set_checksum(tx, &t, version, &c).await })).await
    }
    /// Stores the campaign's street network (JSON of a `StreetNetwork`) and moves every turf to a
    /// new version. Returns the turfs touched.
    async fn set_street_network(&self, campaign_id: &str, body: &str, edges: u64) -> StoreResult<Vec<String>> {
        let (c, b) = (campaign_id.to_string(), body.to_string());
        typed(self, move |tx| Box::pin(async move { ops::campaign::set_street_network(tx, &c, &b, edges).await })).await
    }
    /// The version of the campaign's street network, if it has one.
    async fn street_network_version(&self, campaign_id: &str) -> StoreResult<Option<u64>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::campaign::street_network_version(tx, &c).await })).await
    }
    /// `(version, JSON)` of the campaign's street network.
    async fn street_network(&self, campaign_id: &str) -> StoreResult<Option<(u64, String)>> {
        let c = campaign_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::campaign::street_network(tx, &c).await })).await
    }
    /// Every report on a building now in the turf, and the turf's doors `(door, building)`.
    async fn turf_facts(&self, turf_id: &str) -> StoreResult<(Vec<ReportFact>, Vec<(String, String)>)> {
        let t = turf_id.to_string();
        typed_read(self, move |tx| {
            Box::pin(async move { Ok((ops::turfs::turf_facts(tx, &t).await?, ops::turfs::turf_doors(tx, &t).await?)) })
        })
        .await
    }
    /// The standing reports of a turf's doors (`ops::standing`): at most two rows per door.
    async fn turf_standing(&self, turf_id: &str) -> StoreResult<Vec<ops::standing::StandingRow>> {
        let t = turf_id.to_string();
        typed_read(self, move |tx| Box::pin(async move { ops::standing::turf_standing(tx, &t).await })).await
    }
    /// A person's page as `viewer` sees it (`None`: nobody of that id in the viewer's campaign).
    async fn person_page(
        &self,
        viewer: &User,
        person_id: &str,
        now_ms: i64,
    ) -> StoreResult<Option<doorstep_protocol::VolunteerPage>> {
        let (v, p) = (viewer.clone(), person_id.to_string());
        typed_read(self, move |tx| Box::pin(async move { ops::pages::page_for(tx, &v, &p, now_ms).await })).await
    }
    /// A phone's people: its own page, its coopains and asks, its team.
    async fn people_view(&self, me: &User, now_ms: i64) -> StoreResult<PeoplePages> {
        let u = me.clone();
        typed_read(self, move |tx| Box::pin(async move { ops::pages::people_view(tx, &u, now_ms).await })).await
    }
    /// Decides and records a person's people events (page settings, coopain steps), in one transaction.
    async fn record_people(
        &self,
        me: &User,
        device_id: &str,
        events: &[doorstep_protocol::PeopleEvent],
        revoked: bool,
        now_ms: i64,
    ) -> StoreResult<Vec<doorstep_protocol::PushItemResult>> {
        let (u, d, e) = (me.clone(), device_id.to_string(), events.to_vec());
        typed(self, move |tx| Box::pin(async move { ops::pages::record_people(tx, &u, &d, &e, revoked, now_ms).await }))
            .await
    }
    /// The sessions a person's coopains are going to: (session, the coopain's name as they see it).
    async fn coopains_going(&self, me: &User) -> StoreResult<Vec<(String, String)>> {
        let u = me.clone();
        typed_read(self, move |tx| Box::pin(async move { ops::pages::coopains_going(tx, &u).await })).await
    }
    /// A person's photo (base64 JPEG) if `viewer` may see it.
    async fn person_photo(&self, viewer: &User, person_id: &str, now_ms: i64) -> StoreResult<Option<String>> {
        let (v, p) = (viewer.clone(), person_id.to_string());
        typed_read(self, move |tx| {
            Box::pin(async move {
                match ops::pages::page_for(tx, &v, &p, now_ms).await? {
                    Some(page) if page.has_photo => ops::pages::photo(tx, &p).await,
                    _ => Ok(None),
                }
            })
        })
        .await
    }
    /// Sets (or with `None` removes) a person's photo, already resized and re-encoded.
    async fn set_photo(&self, user_id: &str, jpeg_b64: Option<String>, now_ms: i64) -> StoreResult<()> {
        let u = user_id.to_string();
        typed(self, move |tx| Box::pin(async move { ops::pages::set_photo(tx, &u, jpeg_b64.as_deref(), now_ms).await }))
            .await
    }
    /// Everything held about a person (their export), read in one snapshot.
    async fn personal_data(&self, me: &User) -> StoreResult<serde_json::Value> {
        let u = me.clone();
        typed_read(self, move |tx| Box::pin(async move { ops::erasure::personal_data(tx, &u).await })).await
    }
    /// Deletes a person's account, with its audit line, in one transaction.
    async fn erase_person(&self, me: &User, now_ms: i64, audit_id: &str) -> StoreResult<ops::erasure::ErasureCounts> {
        let (u, a) = (me.clone(), audit_id.to_string());
        typed(self, move |tx| Box::pin(async move { ops::erasure::erase(tx, &u, now_ms, &a).await })).await
    }
}

impl<T: ServerStore + ?Sized> StoreOps for T {}
