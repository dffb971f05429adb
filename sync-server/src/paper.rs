//! Paper results (issue 17): what volunteers ticked on a printed walk sheet, typed in on the
//! dashboard by door code. Each row becomes a knock report on that door and goes through the same
//! path as a phone's push — the rule book's checks, the merge (deduplicated, overlaps flagged),
//! the same transaction and audit — marked as paper by its device id (`paper:<who typed it>`, a
//! prefix no phone may take). The typist's reach is the scope: the merge counts the sheet's turf
//! as held for this batch (`BatchFacts::typed_for`).
//!
//! A row typed twice is one report: its id is made from the door, the result, the day walked and
//! who typed it, so a second submission of the same sheet answers "duplicate".

use std::collections::{HashMap, HashSet};

use doorstep_protocol::merge::{Decision, Sender};
use doorstep_protocol::{Hlc, KnockReport, Target, door_code};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::admin::Staff;
use crate::error::ServiceError;
use crate::service::Service;
use crate::store::PushInput;

/// The device id prefix of reports typed from paper.
pub use crate::service::PAPER_DEVICE_PREFIX as PAPER_PREFIX;
/// How old a sheet may be when typed in.
pub const MAX_SHEET_AGE_MS: i64 = 365 * 86_400_000;
/// Most rows in one submission (a sheet of 1,000 doors).
pub const MAX_ROWS: usize = 1_000;

/// Rows typed from a turf's sheet.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaperRequest {
    pub rows: Vec<PaperRow>,
    /// When the sheet was walked (ms since the epoch); now when absent.
    #[serde(default)]
    pub walked_ms: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaperRow {
    /// The door's code as printed (`K7M2QX`; lower case, spaces and dashes accepted).
    pub code: String,
    /// The result: its number in the sheet's legend (`1`…), or its code (`not_home`).
    pub result: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// What became of each row, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PaperRowResult {
    pub code: String,
    pub door_id: Option<String>,
    /// `accepted`, `duplicate` (typed before), `held` or `rejected`.
    pub status: String,
    /// Why a row was rejected, in French.
    pub message: Option<String>,
}

/// A report id shaped like a phone's (a lowercase UUIDv7: the walk's time, then bits of a hash
/// of what the row says), the same for the same row typed again.
fn paper_report_id(turf: &str, door: &str, result: &str, walked_ms: i64, typist: &str) -> String {
    let day = walked_ms.div_euclid(86_400_000);
    let h = sha2::Sha256::digest(format!("paper\u{0}{turf}\u{0}{door}\u{0}{result}\u{0}{day}\u{0}{typist}").as_bytes());
    let ms = ((day * 86_400_000).max(0) as u64).to_be_bytes();
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms[2..]);
    b[6] = 0x70 | (h[0] & 0x0f);
    b[7] = h[1];
    b[8] = 0x80 | (h[2] & 0x3f);
    b[9..].copy_from_slice(&h[3..10]);
    let x: String = b.iter().map(|v| format!("{v:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
}

impl Service {
    /// Types in a turf's paper results, for staff who reach the turf. Rows whose code or result
    /// cannot be read are answered as rejected and change nothing; the others go through the
    /// push's path as one batch.
    pub async fn type_paper(
        &self,
        st: &Staff,
        turf_id: &str,
        req: PaperRequest,
    ) -> Result<Vec<PaperRowResult>, ServiceError> {
        if req.rows.len() > MAX_ROWS {
            return Err(ServiceError::invalid("too_many_rows", format!("at most {MAX_ROWS} rows at once")));
        }
        self.turf_in_scope(st, turf_id).await?;
        let campaign = self.campaign_of(st).await?;
        let pkg = self.store.turf_package(turf_id).await?.ok_or_else(|| ServiceError::not_found("turf"))?;
        let now = (self.now)();
        // A sheet walked in the past year (schemathesis sent i64::MIN, which overflowed below);
        // "today" as the dashboard sends it (noon, the browser's time) may be hours ahead of now.
        if let Some(w) = req.walked_ms
            && !(now - MAX_SHEET_AGE_MS..=now + 86_400_000).contains(&w)
        {
            return Err(ServiceError::invalid(
                "bad_walked_ms",
                "le jour du passage doit être dans l'année écoulée / the day walked must be within the past year",
            ));
        }
        // Paper says the day, not the hour: every row counts at the start of the day walked
        // (UTC), so the same sheet typed again is the same reports.
        let walked = req.walked_ms.unwrap_or(now).min(now).div_euclid(86_400_000) * 86_400_000;
        let codes = door_code::door_codes(pkg.doors.iter().map(|d| d.id.as_str()));
        let door_of: HashMap<&str, &str> = codes.iter().map(|(d, c)| (c.as_str(), d.as_str())).collect();
        let device_id = format!("{PAPER_PREFIX}{}", st.user.id);
        let mut out: Vec<PaperRowResult> = Vec::with_capacity(req.rows.len());
        let mut reports: Vec<(usize, KnockReport)> = Vec::new();
        let mut seen = HashSet::new();
        for (i, row) in req.rows.iter().enumerate() {
            let reject = |m: String| PaperRowResult {
                code: row.code.clone(),
                door_id: None,
                status: "rejected".into(),
                message: Some(m),
            };
            let Some(code) = door_code::normalise(&row.code) else {
                out.push(reject(format!("« {} » n'est pas un code de porte (6 caractères)", row.code.trim())));
                continue;
            };
            let Some(&door) = door_of.get(code.as_str()) else {
                out.push(reject(format!("aucune porte de cette feuille n'a le code {code}")));
                continue;
            };
            let typed = row.result.trim();
            let result = match typed.parse::<usize>() {
                Ok(n) if (1..=campaign.result_codes.len()).contains(&n) => Some(&campaign.result_codes[n - 1]),
                Ok(_) => None,
                Err(_) => campaign.result_code(typed),
            };
            let Some(result) = result else {
                out.push(reject(format!("résultat « {typed} » inconnu (1 à {})", campaign.result_codes.len())));
                continue;
            };
            if !seen.insert((door, result.code.clone())) {
                out.push(PaperRowResult {
                    code,
                    door_id: Some(door.to_string()),
                    status: "duplicate".into(),
                    message: None,
                });
                continue;
            }
            // A result of a person (a voter file's) is refused by the rule book on a door, with
            // its reason: paper does not say which resident answered.
            let target = Target::Door { id: door.to_string() };
            let id = paper_report_id(turf_id, door, &result.code, walked, &st.user.id);
            let counter = u32::from_str_radix(&id[24..28], 16).unwrap_or(0);
            reports.push((
                i,
                KnockReport {
                    id,
                    campaign_id: campaign.id.clone(),
                    turf_id: turf_id.to_string(),
                    target,
                    result_code: result.code.clone(),
                    answers: vec![],
                    note: row.note.clone().filter(|n| !n.trim().is_empty()),
                    safety_flags: vec![],
                    supersedes: None,
                    survey_version: campaign.survey.version,
                    device_time_ms: walked,
                    hlc: Hlc { millis: walked, counter },
                    monotonic_ms: 0,
                    position: None,
                    plausibility: vec![],
                    volunteer_id: st.user.id.clone(),
                    device_id: device_id.clone(),
                    follow_up: None,
                },
            ));
            out.push(PaperRowResult { code, door_id: Some(door.to_string()), status: String::new(), message: None });
        }
        if reports.is_empty() {
            return Ok(out);
        }
        let sender = Sender {
            device_id: device_id.clone(),
            user_id: st.user.id.clone(),
            campaign_id: campaign.id.clone(),
            revoked: false,
        };
        let audit_sender = sender.clone();
        let audit_id = crate::auth::new_token()[..22].to_string();
        let batch: Vec<KnockReport> = reports.iter().map(|(_, r)| r.clone()).collect();
        let input = PushInput {
            sender,
            received_ms: now,
            campaigns: HashMap::from([(campaign.survey.version, campaign.clone())]),
            retention_until_ms: campaign.retention_until_ms,
            plan: doorstep_protocol::merge::plan,
            audit: Box::new(move |d| {
                let mut e = crate::service::push_audit(&audit_id, &audit_sender, now, d);
                e.action = "paper.typed".into();
                e
            }),
            typed_for: HashSet::from([turf_id.to_string()]),
        };
        let decisions = self.store.push(input, &batch).await?;
        let mut accepted = 0;
        for ((i, _), d) in reports.iter().zip(&decisions) {
            let (status, message) = match d {
                Decision::Accept(_) => {
                    accepted += 1;
                    ("accepted", None)
                }
                Decision::Duplicate => ("duplicate", None),
                Decision::Hold(..) => ("held", None),
                Decision::Reject(e) => ("rejected", Some(e.to_string())),
            };
            out[*i].status = status.into();
            out[*i].message = message;
        }
        if accepted > 0 {
            self.announce(&campaign.id, "sync", vec![turf_id.to_string()], Some(st.user.id.clone()), accepted, None)
                .await;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_ids_are_report_ids_and_stable() {
        let a = paper_report_id("t1", "d1", "not_home", 1_797_066_000_000, "coord");
        assert!(doorstep_protocol::validate::is_report_id(&a), "{a}");
        assert_eq!(a, paper_report_id("t1", "d1", "not_home", 1_797_066_000_000 + 3_600_000, "coord"), "same day");
        assert_ne!(a, paper_report_id("t1", "d1", "refused", 1_797_066_000_000, "coord"));
        assert_ne!(a, paper_report_id("t1", "d2", "not_home", 1_797_066_000_000, "coord"));
    }
}
