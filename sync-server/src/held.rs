//! Reports held for review: what a revoked phone pushed after its revocation is kept (never lost)
//! but not counted, not sent to other phones and not exported, until a captain of the volunteer's
//! or the turf's team — or a coordinator — accepts it (counted from then on) or discards it (its
//! answers and note are erased; the line stays for the record). Every review is audited.

use std::collections::HashMap;

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::Service;
use crate::store::HeldReport;
use crate::store::StoreOps;

impl Service {
    /// Held reports within reach, oldest first (reviewed ones included, with their review).
    pub async fn held_in_scope(&self, st: &Staff) -> Result<Vec<HeldReport>, ServiceError> {
        let all = self.store.held_reports(st.campaign()).await?;
        // Most of the time nothing is held: no need to read who belongs where.
        if st.is_coordinator() || all.is_empty() {
            return Ok(all);
        }
        let teams_of_users: HashMap<String, Option<String>> =
            self.store.users(st.campaign()).await?.into_iter().map(|u| (u.id, u.team_id)).collect();
        let teams_of_turfs: HashMap<String, Option<String>> =
            self.store.turf_summaries(st.campaign()).await?.into_iter().map(|s| (s.turf.id, s.turf.team_id)).collect();
        Ok(all
            .into_iter()
            .filter(|h| {
                let by_user = teams_of_users.get(&h.report.volunteer_id).cloned().flatten();
                let by_turf = teams_of_turfs.get(&h.report.turf_id).cloned().flatten();
                st.reaches_team(by_user.as_deref()) || st.reaches_team(by_turf.as_deref())
            })
            .collect())
    }

    /// Accepts or discards one held report within reach.
    pub async fn review_held(&self, st: &Staff, report_id: &str, accept: bool) -> Result<HeldReport, ServiceError> {
        let waiting = |h: &HeldReport| h.report.id == report_id && h.review.is_none();
        if !self.held_in_scope(st).await?.iter().any(waiting) {
            let exists = self.store.held_reports(st.campaign()).await?.iter().any(waiting);
            return Err(if exists {
                ServiceError::forbidden("hors de vos équipes / outside the teams you lead")
            } else {
                ServiceError::not_found(format!(
                    "rapport en attente inconnu ou déjà traité / no held report {report_id} waiting"
                ))
            });
        }
        let done = self
            .store
            .review_held(st.campaign(), report_id, accept, &st.user.id, (self.now)())
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no held report {report_id} waiting")))?;
        let action = if accept { "held.accept" } else { "held.discard" };
        let detail = serde_json::json!({ "volunteer": done.report.volunteer_id, "turf": done.report.turf_id });
        self.record_staff(st, action, Some(report_id), detail).await?;
        if accept {
            let turfs = vec![done.report.turf_id.clone()];
            self.announce(st.campaign(), "sync", turfs, Some(done.report.volunteer_id.clone()), 1, None).await;
        }
        Ok(done)
    }
}
