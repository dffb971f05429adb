//! The audit log: who downloaded which turf, who exported what, every assignment, reassignment,
//! revocation, sign-in, login change, invitation and import. Entries hold ids and counts, never
//! survey content, and the database refuses to change or delete them (schema v6 triggers).
//!
//! Reads (downloads, exports) are logged before the data leaves: if the log cannot be written,
//! nothing is sent. Changes are logged right after they commit.

use serde::Deserialize;
use serde_json::Value;

use crate::admin::Staff;
use crate::auth;
use crate::error::AppError;
use crate::service::Service;
use crate::store::AuditEntry;

/// Most lines one request returns.
pub const MAX_AUDIT_PAGE: i64 = 1000;

#[derive(Debug, Clone, Default, Deserialize)]
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
    ) -> Result<(), AppError> {
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
    ) -> Result<(), AppError> {
        self.record(st.campaign(), &st.user.id, None, action, subject, detail).await
    }

    /// The campaign's audit log, newest first (coordinators).
    pub async fn audit_log(&self, st: &Staff, q: &AuditQuery) -> Result<Vec<AuditEntry>, AppError> {
        st.require_coordinator()?;
        let limit = q.limit.unwrap_or(200);
        if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
            return Err(AppError::bad_request("bad_limit", format!("limit: 1–{MAX_AUDIT_PAGE}")));
        }
        Ok(self.store.audit_log(st.campaign(), q.before_ms.unwrap_or(i64::MAX), limit).await?)
    }
}
