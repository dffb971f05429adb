//! Push messages: a batch of knock reports and the server's per-item acknowledgement.

use serde::{Deserialize, Serialize};

use crate::knock::KnockReport;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub protocol: u32,
    pub device_id: String,
    pub reports: Vec<KnockReport>,
}

/// The server's answer for one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemStatus {
    Accepted,
    /// Already held: the earlier copy stands.
    Duplicate,
    /// Never retried; the reason is shown to the volunteer.
    Rejected {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushItemResult {
    pub id: String,
    #[serde(flatten)]
    pub status: ItemStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    pub protocol: u32,
    pub results: Vec<PushItemResult>,
    /// Server time, so the device can show "last sync 12:04" in server terms.
    pub server_time_ms: i64,
}
