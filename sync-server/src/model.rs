//! The server's records: who is asking and what they reach ([`Staff`], [`Me`]) and what changed
//! ([`LiveEvent`]). Plain data with the rules that only read it; no I/O. Every layer above the
//! store may use them; they use nothing above the store.

use doorstep_protocol::Position;
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::store::{Role, User};

/// A captain's or coordinator's reach.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: User,
    /// `None`: the whole campaign (coordinator). `Some`: the teams a captain leads.
    pub teams: Option<Vec<String>>,
}

impl Staff {
    pub fn campaign(&self) -> &str {
        &self.user.campaign_id
    }
    pub fn is_coordinator(&self) -> bool {
        self.teams.is_none()
    }
    pub(crate) fn reaches_team(&self, team: Option<&str>) -> bool {
        match &self.teams {
            None => true,
            Some(ts) => team.is_some_and(|t| ts.iter().any(|x| x == t)),
        }
    }
    pub(crate) fn require_coordinator(&self) -> Result<(), ServiceError> {
        if self.is_coordinator() {
            Ok(())
        } else {
            Err(ServiceError::forbidden("réservé à la coordination / coordinators only"))
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Me {
    pub user_id: String,
    pub display_name: String,
    pub role: Role,
    pub campaign_id: String,
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LiveEvent {
    /// `sync` (reports arrived) or `turfs` (assignment, reassignment, cut, revocation).
    pub kind: &'static str,
    pub turf_ids: Vec<String>,
    /// Who synced (`sync`).
    pub volunteer_id: Option<String>,
    /// Reports newly stored (`sync`).
    pub reports: usize,
    /// The volunteer's last known position: that of their latest report in the batch, if the
    /// phone had one.
    pub position: Option<Position>,
    pub at_ms: i64,
    #[serde(skip)]
    pub campaign_id: String,
    /// The teams of the turfs touched (`None`: a turf of no team).
    #[serde(skip)]
    pub teams: Vec<Option<String>>,
    /// A new message (`message`): its channel and place; the page fetches what it may read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Who else it reaches: the people of a direct channel, a session's captains.
    #[serde(skip)]
    pub users: Vec<String>,
    /// It reaches every staff member of the campaign (the announcements).
    #[serde(skip)]
    pub everyone: bool,
}

impl LiveEvent {
    pub fn reaches(&self, st: &Staff) -> bool {
        // A reload after a lost connection between processes has no campaign: it reaches all.
        let reload_all = self.kind == "lagged" && self.campaign_id.is_empty();
        (self.campaign_id == st.campaign() || reload_all)
            && (st.is_coordinator()
                || self.everyone
                || self.users.contains(&st.user.id)
                || self.teams.iter().any(|t| st.reaches_team(t.as_deref())))
    }
}
