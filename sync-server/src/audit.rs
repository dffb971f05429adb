//! The audit log: who downloaded which turf, who exported what, every assignment, reassignment,
//! revocation, sign-in, login change, invitation and import. Entries hold ids and counts, never
//! survey content, and the database refuses to change or delete them (schema v6 triggers).
//!
//! Reads (downloads, exports) are logged before the data leaves: if the log cannot be written,
//! nothing is sent. Changes are logged right after they commit.

use serde::Deserialize;
use serde_json::Value;

use crate::auth;
use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::Service;
use crate::store::AuditEntry;
use crate::store::StoreOps;

/// Most lines one request returns.
pub const MAX_AUDIT_PAGE: i64 = 1000;

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Lines before this time (epoch ms), for paging back.
    pub before_ms: Option<i64>,
    pub limit: Option<i64>,
}

impl Service {
    /// Appends one line.
    pub(crate) async fn record(
        &self,
        campaign_id: &str,
        actor: &str,
        device_id: Option<&str>,
        action: &str,
        subject: Option<&str>,
        detail: Value,
    ) -> Result<(), ServiceError> {
        let entry = AuditEntry {
            id: auth::new_token()[..22].to_string(),
            at_ms: (self.now)(),
            campaign_id: campaign_id.to_string(),
            actor: actor.to_string(),
            device_id: device_id.map(str::to_string),
            action: action.to_string(),
            subject: subject.map(str::to_string),
            detail,
        };
        self.store.append_audit(&entry).await?;
        Ok(())
    }

    /// A staff member's action.
    pub(crate) async fn record_staff(
        &self,
        st: &Staff,
        action: &str,
        subject: Option<&str>,
        detail: Value,
    ) -> Result<(), ServiceError> {
        self.record(st.campaign(), &st.user.id, None, action, subject, detail).await
    }

    /// Purges the personal data of every campaign past its retention date (`retention_until_ms`):
    /// answers and notes, the voter file's people, volunteers' devices (revoked, so phones wipe
    /// after pushing). Each purge is logged (actor `retention`). Run hourly by `serve`, and by the
    /// `purge` command. Returns what each campaign lost.
    pub async fn purge_expired_campaigns(&self) -> Result<Vec<(String, crate::store::PurgeCounts)>, ServiceError> {
        let now = (self.now)();
        let mut out = Vec::new();
        for campaign in self.store.campaigns_past_retention(now).await? {
            let counts = self.store.purge_personal_data(&campaign, now).await?;
            if counts != crate::store::PurgeCounts::default() {
                let detail = serde_json::to_value(counts).unwrap_or_default();
                self.record(&campaign, "retention", None, "retention.purge", None, detail).await?;
            }
            out.push((campaign, counts));
        }
        Ok(out)
    }

    /// The campaign's audit log, newest first (coordinators).
    pub async fn audit_log(&self, st: &Staff, q: &AuditQuery) -> Result<Vec<AuditEntry>, ServiceError> {
        st.require_coordinator()?;
        let limit = q.limit.unwrap_or(200);
        if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
            return Err(ServiceError::invalid("bad_limit", format!("limit: 1–{MAX_AUDIT_PAGE}")));
        }
        Ok(self.store.audit_log(st.campaign(), q.before_ms.unwrap_or(i64::MAX), limit).await?)
    }
}
