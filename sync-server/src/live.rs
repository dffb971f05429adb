//! Live updates for dashboards: every sync and every change to turfs is announced on a broadcast
//! channel; each staff member's stream (server-sent events) carries only what touches their reach.
//! An event says what changed, never survey content: the page then fetches what it shows.
//!
//! Several processes on one PostgreSQL (issue 21): once [`Service::share_live_events`] has run,
//! every event goes out through the database ([`crate::store::ServerStore::publish`]) and comes
//! back to every process's channel, this one's included, so each dashboard sees every process's
//! events, once each.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use doorstep_protocol::Position;
use futures_util::Stream;
use serde::{Deserialize, Serialize};

pub use crate::model::LiveEvent;
use crate::model::Staff;
use crate::service::Service;

/// An event as it travels between processes: every field, the ones dashboards never see included
/// (they decide who it reaches).
#[derive(Debug, Serialize, Deserialize)]
struct Shared {
    kind: String,
    #[serde(default)]
    turf_ids: Vec<String>,
    volunteer_id: Option<String>,
    #[serde(default)]
    reports: usize,
    position: Option<Position>,
    at_ms: i64,
    campaign_id: String,
    #[serde(default)]
    teams: Vec<Option<String>>,
    channel_id: Option<String>,
    seq: Option<u64>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    everyone: bool,
}

/// The kinds an event may have; anything else read off the wire is a `lagged` (reload).
fn kind_of(k: &str) -> &'static str {
    match k {
        "sync" => "sync",
        "turfs" => "turfs",
        "held" => "held",
        "message" => "message",
        _ => "lagged",
    }
}

/// An event as the processes send it; one too large for the database's channel (a cut of
/// thousands of turfs) goes as a `lagged` of its campaign: every dashboard of it reloads.
pub(crate) fn to_wire(e: &LiveEvent) -> String {
    let s = Shared {
        kind: e.kind.to_string(),
        turf_ids: e.turf_ids.clone(),
        volunteer_id: e.volunteer_id.clone(),
        reports: e.reports,
        position: e.position,
        at_ms: e.at_ms,
        campaign_id: e.campaign_id.clone(),
        teams: e.teams.clone(),
        channel_id: e.channel_id.clone(),
        seq: e.seq,
        users: e.users.clone(),
        everyone: e.everyone,
    };
    let text = serde_json::to_string(&s).expect("serialisable");
    if text.len() <= crate::store::pg_listen::MAX_PAYLOAD {
        return text;
    }
    let reload = Shared { kind: "lagged".into(), turf_ids: vec![], teams: vec![], users: vec![], everyone: true, ..s };
    serde_json::to_string(&reload).expect("serialisable")
}

/// An event read off the wire (`None`: not one of ours).
pub(crate) fn from_wire(text: &str) -> Option<LiveEvent> {
    let s: Shared = serde_json::from_str(text).ok()?;
    Some(LiveEvent {
        kind: kind_of(&s.kind),
        turf_ids: s.turf_ids,
        volunteer_id: s.volunteer_id,
        reports: s.reports,
        position: s.position,
        at_ms: s.at_ms,
        campaign_id: s.campaign_id,
        teams: s.teams,
        channel_id: s.channel_id,
        seq: s.seq,
        users: s.users,
        everyone: s.everyone,
    })
}

/// "Reload everything", to every dashboard of every campaign (after the database connection that
/// carries events was lost: some may be missed).
fn reload_all() -> LiveEvent {
    LiveEvent {
        kind: "lagged",
        turf_ids: vec![],
        volunteer_id: None,
        reports: 0,
        position: None,
        at_ms: 0,
        campaign_id: String::new(),
        teams: vec![],
        channel_id: None,
        seq: None,
        users: vec![],
        everyone: true,
    }
}

impl Service {
    /// Joins the live events of every server process on this database (PostgreSQL): from now on
    /// this process's events go through the database and every process's come back here. `false`
    /// (and nothing changes) when the store has no such channel: SQLite serves from one process.
    pub async fn share_live_events(&self) -> Result<bool, crate::store::StoreError> {
        let live = self.live.clone();
        let deliver: crate::store::LiveDeliver = Arc::new(move |payload: Option<String>| {
            let event = match payload {
                Some(p) => match from_wire(&p) {
                    Some(e) => e,
                    None => return,
                },
                None => reload_all(),
            };
            let _ = live.send(event);
        });
        let shared = self.store.listen(deliver).await?;
        self.shared_live.store(shared, Ordering::SeqCst);
        Ok(shared)
    }

    /// Whether events go through the database (and so must be sent even with no dashboard open
    /// here: another process may have one).
    pub(crate) fn live_is_shared(&self) -> bool {
        self.shared_live.load(Ordering::SeqCst)
    }

    /// Sends an event: through the database when processes share them (if that fails, at least
    /// to this process's dashboards), else straight to this process's.
    pub(crate) async fn emit(&self, event: LiveEvent) {
        if self.live_is_shared() {
            match self.store.publish(&to_wire(&event)).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "live event not shared with the other processes"),
            }
        }
        let _ = self.live.send(event);
    }

    /// Announces a change to whoever watches; costs nothing when no dashboard is open.
    pub(crate) async fn announce(
        &self,
        campaign_id: &str,
        kind: &'static str,
        turf_ids: Vec<String>,
        volunteer_id: Option<String>,
        reports: usize,
        position: Option<Position>,
    ) {
        if self.live.receiver_count() == 0 && !self.live_is_shared() {
            return;
        }
        let mut teams = Vec::new();
        for t in &turf_ids {
            if let Ok(Some(turf)) = self.store.turf(t).await {
                teams.push(turf.team_id);
            }
        }
        let event = LiveEvent {
            kind,
            turf_ids,
            volunteer_id,
            reports,
            position,
            at_ms: (self.now)(),
            campaign_id: campaign_id.to_string(),
            teams,
            channel_id: None,
            seq: None,
            users: vec![],
            everyone: false,
        };
        self.emit(event).await;
    }

    /// Announces a new message in a channel to the dashboards that reach it: a team's (`teams`),
    /// named people (`users`), or everyone of the campaign.
    pub(crate) async fn announce_to(
        &self,
        campaign_id: &str,
        channel_id: &str,
        seq: u64,
        teams: Vec<Option<String>>,
        users: Vec<String>,
        everyone: bool,
    ) {
        let event = LiveEvent {
            kind: "message",
            turf_ids: vec![],
            volunteer_id: None,
            reports: 0,
            position: None,
            at_ms: (self.now)(),
            campaign_id: campaign_id.to_string(),
            teams,
            channel_id: Some(channel_id.to_string()),
            seq: Some(seq),
            users,
            everyone,
        };
        self.emit(event).await;
    }

    /// The events within a staff member's reach, as they happen. A watcher too slow to keep up
    /// gets a `lagged` event (the page then reloads everything) instead of stalling the others.
    pub fn watch(&self, st: Staff) -> impl Stream<Item = LiveEvent> + Send + 'static {
        let rx = self.live.subscribe();
        futures_util::stream::unfold((rx, st), |(mut rx, st)| async move {
            loop {
                match rx.recv().await {
                    Ok(e) if e.reaches(&st) => return Some((e, (rx, st))),
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // "Reload everything", for this watcher's campaign only.
                        let e = LiveEvent { campaign_id: st.campaign().to_string(), everyone: false, ..reload_all() };
                        return Some((e, (rx, st)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }
}
