//! Reports leaving the server: every export is within the caller's reach and audited before the
//! rows leave (the API's JSON and CSV exports and the CLI's alike). The CSV follows a VAN
//! contact-history export where a column exists there, and neutralises spreadsheet formulas.

use std::collections::BTreeMap;

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::Service;
use crate::store::{StoreOps, StoredReport};

/// One row per report. Columns follow a VAN contact-history export where one exists (`Date
/// Canvassed`, `Result`, `Contact Type`, `Canvassed By`, `Input Type Name`), then Doorstep's own.
pub const CSV_COLUMNS: &[&str] = &[
    "Report ID",
    "Date Canvassed",
    "Result",
    "Contact Type",
    "Canvassed By",
    "Input Type Name",
    "Turf",
    "Target Type",
    "Target ID",
    "Survey Responses",
    "Note",
    "Supersedes",
    "Overlap",
    "Plausibility",
    "Device",
];

fn csv_field(s: &str) -> String {
    // Quote everything; neutralise spreadsheet formulas (CSV injection, OWASP's list).
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Reports as CSV, [`CSV_COLUMNS`], one row each.
pub fn reports_csv(reports: &[crate::store::StoredReport]) -> String {
    let mut out = CSV_COLUMNS.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for r in reports {
        let k = &r.report;
        let date = chrono_like(k.hlc.millis);
        let answers = k
            .answers
            .iter()
            .map(|a| format!("{}={}", a.question_id, serde_json::to_string(&a.value).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; ");
        let plaus = k.plausibility.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(" ");
        let row = [
            k.id.as_str(),
            &date,
            &k.result_code,
            "Walk",
            &k.volunteer_id,
            "Doorstep",
            &k.turf_id,
            k.target.kind(),
            k.target.id(),
            &answers,
            k.note.as_deref().unwrap_or(""),
            k.supersedes.as_deref().unwrap_or(""),
            if r.overlap { "yes" } else { "no" },
            &plaus,
            &k.device_id,
        ];
        out.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS` UTC from ms since the epoch (the report's hybrid logical clock).
fn chrono_like(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

impl Service {
    // ----- results -------------------------------------------------------------------------------

    /// Reports within reach for an export (`json` or `csv`), logged before they leave.
    pub async fn export_reports(&self, st: &Staff, format: &str) -> Result<Vec<StoredReport>, ServiceError> {
        let reports = self.reports_in_scope(st).await?;
        let detail = serde_json::json!({ "format": format, "rows": reports.len() });
        self.record_staff(st, "export.reports", None, detail).await?;
        Ok(reports)
    }

    /// Reports within reach, in HLC order: the whole campaign, or the turfs of a captain's teams.
    pub async fn reports_in_scope(&self, st: &Staff) -> Result<Vec<StoredReport>, ServiceError> {
        let all = self.store.reports(st.campaign()).await?;
        if st.is_coordinator() {
            return Ok(all);
        }
        let mine: BTreeMap<String, ()> = self
            .store
            .turf_summaries(st.campaign())
            .await?
            .into_iter()
            .filter(|s| st.reaches_team(s.turf.team_id.as_deref()))
            .map(|s| (s.turf.id, ()))
            .collect();
        Ok(all.into_iter().filter(|r| mine.contains_key(&r.report.turf_id)).collect())
    }
}
