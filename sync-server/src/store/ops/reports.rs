//! Reports as staff review them: doors with their reports, overlaps, located reports.

use super::*;
use crate::store::tx::Tx;
use crate::vals;

pub async fn campaign_doors(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<DoorRow>> {
    tx.rows(SELECT_CAMPAIGN_DOORS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| {
            Ok(DoorRow {
                door_id: r[0].text()?,
                building_id: r[1].text()?,
                turf_id: r[2].opt_text()?,
                street: r[3].text()?,
                house_number: r[4].text()?,
                lat: r[5].float()?,
                lon: r[6].float()?,
                station: r[7].opt_text()?,
            })
        })
        .collect()
}

pub async fn review_overlap(
    tx: &mut dyn Tx,
    campaign_id: &str,
    report_id: &str,
    user_id: &str,
    now_ms: i64,
) -> StoreResult<bool> {
    if tx.exec(INSERT_OVERLAP_REVIEW, &vals![user_id, now_ms, report_id, campaign_id]).await? > 0 {
        super::counters::overlap_reviewed(tx, campaign_id, report_id).await?;
    }
    Ok(tx.row(SELECT_OVERLAP_REVIEWED, &vals![report_id]).await?.is_some())
}

pub async fn located_reports(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<Vec<LocatedReport>> {
    tx.rows(SELECT_LOCATED_REPORTS, &vals![campaign_id])
        .await?
        .iter()
        .map(|r| {
            Ok(LocatedReport {
                stored: StoredReport { report: parse("report", &r[0].text()?)?, overlap: r[1].int()? != 0 },
                building_id: r[2].text()?,
                door_id: r[3].opt_text()?,
                received_ms: r[4].int()?,
            })
        })
        .collect()
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const SELECT_CAMPAIGN_DOORS: &str = "SELECT d.id, d.building_id, b.turf_id, b.street, b.house_number,
     b.lat, b.lon, b.polling_station FROM doors d JOIN buildings b ON b.id = d.building_id
     WHERE b.campaign_id = $1 ORDER BY b.street, b.house_number, d.id";

const INSERT_OVERLAP_REVIEW: &str = "INSERT INTO overlap_reviews(report_id, user_id, reviewed_ms)
     SELECT id, $1, $2 FROM reports WHERE id = $3 AND campaign_id = $4 AND overlap
     ON CONFLICT (report_id) DO NOTHING";

const SELECT_LOCATED_REPORTS: &str = "SELECT body, overlap, building_id, door_id, received_ms FROM reports
     WHERE campaign_id = $1 ORDER BY hlc_millis, hlc_counter, id";

const SELECT_OVERLAP_REVIEWED: &str = "SELECT 1 FROM overlap_reviews WHERE report_id = $1";
