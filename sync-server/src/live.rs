//! Live updates for dashboards: every sync and every change to turfs is announced on a broadcast
//! channel; each staff member's stream (server-sent events) carries only what touches their reach.
//! An event says what changed, never survey content: the page then fetches what it shows.

use doorstep_protocol::Position;
use futures_util::Stream;

pub use crate::model::LiveEvent;
use crate::model::Staff;
use crate::service::Service;

impl Service {
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
        if self.live.receiver_count() == 0 {
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
        let _ = self.live.send(event);
    }

    /// Announces a new message in a channel to the dashboards that reach it: a team's (`teams`),
    /// named people (`users`), or everyone of the campaign.
    pub(crate) fn announce_to(
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
        let _ = self.live.send(event);
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
                        let e = LiveEvent {
                            kind: "lagged",
                            turf_ids: vec![],
                            volunteer_id: None,
                            reports: 0,
                            position: None,
                            at_ms: 0,
                            campaign_id: st.campaign().to_string(),
                            teams: vec![],
                            channel_id: None,
                            seq: None,
                            users: vec![],
                            everyone: false,
                        };
                        return Some((e, (rx, st)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }
}
