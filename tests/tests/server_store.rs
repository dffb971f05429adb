//! The storage conformance suite: every case runs against the embedded SQLite backend and against a
//! real PostgreSQL (a database made for the test and dropped after). Both must behave the same.

use std::sync::Arc;

use doorstep_protocol::{Hlc, KnockReport, Target};
use doorstep_server::store::postgres::PgStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Device, Ingested, Role, ServerStore, StoreError, User};
use doorstep_tests::{TestDatabase, server_import};

const NOW: i64 = 1_780_000_000_000;

fn user(id: &str, role: Role) -> User {
    User { id: id.into(), campaign_id: "nantes-2026".into(), role, display_name: id.into(), team_id: None }
}

/// A campaign with 30 imported buildings in two turfs: t1 (first 20) held by vol-a, t2 (last 10)
/// held by vol-b.
async fn seed(s: &dyn ServerStore) -> (Vec<String>, Vec<String>) {
    let (campaign, buildings, entrances, doors) = server_import(30);
    s.create_campaign(&campaign, NOW).await.unwrap();
    s.create_user(&user("vol-a", Role::Volunteer)).await.unwrap();
    s.create_user(&user("vol-b", Role::Volunteer)).await.unwrap();
    s.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    s.create_turf(&campaign.id, "t1", "Tournée 1", None, &ids[..20]).await.unwrap();
    s.create_turf(&campaign.id, "t2", "Tournée 2", None, &ids[20..]).await.unwrap();
    s.assign_turf("t1", Some("vol-a"), None).await.unwrap();
    s.assign_turf("t2", Some("vol-b"), None).await.unwrap();
    let door_ids = doors.iter().map(|d| d.id.clone()).collect();
    (ids, door_ids)
}

fn device(user: &str) -> Device {
    Device {
        device_id: format!("dev-{user}"),
        user_id: user.into(),
        campaign_id: "nantes-2026".into(),
        expires_ms: NOW + 1_000_000,
        revoked_ms: None,
    }
}

fn report(n: u32, turf: &str, door: &str, by: &str) -> KnockReport {
    KnockReport {
        id: format!("0190a0b0-0000-7000-8000-{n:012}"),
        campaign_id: "nantes-2026".into(),
        turf_id: turf.into(),
        target: Target::Door { id: door.into() },
        result_code: "not_home".into(),
        answers: vec![],
        note: None,
        safety_flags: vec![],
        supersedes: None,
        survey_version: 1,
        device_time_ms: NOW,
        hlc: Hlc { millis: NOW + n as i64, counter: 0 },
        monotonic_ms: 1000,
        position: None,
        plausibility: vec![],
        volunteer_id: by.into(),
        device_id: format!("dev-{by}"),
    }
}

async fn campaigns_and_conflicts(s: Arc<dyn ServerStore>) {
    seed(s.as_ref()).await;
    let c = s.campaign("nantes-2026").await.unwrap().unwrap();
    assert_eq!(c.name, "Municipales Nantes 2026");
    assert_eq!(c.survey.questions.len(), 5);
    assert!(matches!(s.create_campaign(&c, NOW).await, Err(StoreError::Conflict(_))));
    assert!(s.campaign("nope").await.unwrap().is_none());
    assert_eq!(s.user("vol-a").await.unwrap().unwrap().role, Role::Volunteer);
}

async fn join_codes_are_single_use_and_expire(s: Arc<dyn ServerStore>) {
    seed(s.as_ref()).await;
    s.create_join_code("h-code", "vol-a", NOW + 1000).await.unwrap();
    s.create_join_code("h-old", "vol-b", NOW - 1).await.unwrap();
    let u = s.redeem_join_code("h-code", "dev-1", "h-token", NOW, NOW + 5000).await.unwrap();
    assert_eq!(u.unwrap().id, "vol-a");
    assert!(s.redeem_join_code("h-code", "dev-2", "h-token2", NOW, NOW + 5000).await.unwrap().is_none(), "used once");
    assert!(s.redeem_join_code("h-old", "dev-3", "h-token3", NOW, NOW + 5000).await.unwrap().is_none(), "expired");
    assert!(s.device("h-token2").await.unwrap().is_none(), "a refused code registers nothing");
    let d = s.device("h-token").await.unwrap().unwrap();
    assert_eq!((d.device_id.as_str(), d.user_id.as_str(), d.revoked_ms), ("dev-1", "vol-a", None));
    assert!(s.revoke_device("dev-1", NOW + 10).await.unwrap());
    assert!(!s.revoke_device("dev-1", NOW + 20).await.unwrap(), "already revoked");
    assert_eq!(s.device("h-token").await.unwrap().unwrap().revoked_ms, Some(NOW + 10));
}

async fn turfs_packages_and_leases(s: Arc<dyn ServerStore>) {
    let (ids, _) = seed(s.as_ref()).await;
    let p = s.turf_package("t1").await.unwrap().unwrap();
    assert_eq!(p.buildings.len(), 20);
    assert_eq!(p.turf.version, 2, "created at 1, assigned once");
    assert_eq!(p.turf.volunteer_id, "vol-a");
    assert!(p.doors.iter().all(|d| ids[..20].contains(&d.building_id)));
    assert!(!p.entrances.is_empty(), "the fixture's staircase travels with its building");
    assert_eq!(s.turfs_of("vol-a", NOW).await.unwrap().len(), 1);
    s.assign_turf("t1", Some("vol-a"), Some(NOW + 10)).await.unwrap();
    assert_eq!(s.turfs_of("vol-a", NOW + 11).await.unwrap().len(), 0, "an expired lease holds nothing");
    assert!(matches!(s.assign_turf("nope", None, None).await, Err(StoreError::Missing { .. })));
    let err = s.create_turf("nantes-2026", "t3", "x", None, &["no-such-building".into()]).await.unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }));
    assert!(s.turf("t3").await.unwrap().is_none(), "a failed turf creation leaves nothing");
}

async fn ingest_dedupes_and_flags_overlaps(s: Arc<dyn ServerStore>) {
    let (ids, doors) = seed(s.as_ref()).await;
    let door_in_t1 = doors.iter().find(|d| d.starts_with(&ids[0])).unwrap().clone();
    let a = device("vol-a");
    let batch = vec![report(1, "t1", &door_in_t1, "vol-a"), report(2, "t1", "no-such-door", "vol-a")];
    let out = s.ingest(&a, &batch, NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Accepted { overlap: false }, Ingested::UnknownTarget]);
    // A replayed (and partly new) batch creates no duplicate.
    let out = s.ingest(&a, &[batch[0].clone(), report(3, "t1", &door_in_t1, "vol-a")], NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Duplicate, Ingested::Accepted { overlap: false }]);
    // The street moves to t2 (vol-b) while vol-a is offline; vol-a's later report is kept, flagged.
    let touched = s.move_buildings("nantes-2026", &[ids[0].clone()], "t2").await.unwrap();
    assert_eq!(touched, vec!["t2".to_string(), "t1".to_string()]);
    assert_eq!(s.turf("t1").await.unwrap().unwrap().version, 3);
    assert_eq!(s.turf("t2").await.unwrap().unwrap().version, 3);
    let out = s.ingest(&a, &[report(4, "t1", &door_in_t1, "vol-a")], NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Accepted { overlap: true }]);
    let stored = s.reports("nantes-2026").await.unwrap();
    assert_eq!(stored.len(), 3, "every accepted report exactly once");
    assert_eq!(stored.iter().filter(|r| r.overlap).count(), 1);
    assert_eq!(stored[0].report, batch[0], "the report comes back as pushed");
    assert!(s.move_buildings("nantes-2026", &[ids[1].clone()], "nope").await.is_err());
    // The same id twice in one batch: the first is accepted, the second is a duplicate. (vol-a
    // reports on t2, which vol-b holds: an overlap.)
    let twice = report(9, "t2", &door_in_t1, "vol-a");
    let out = s.ingest(&a, &[twice.clone(), twice], NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Accepted { overlap: true }, Ingested::Duplicate]);
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let s: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
                    super::$case(s).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let db = TestDatabase::create().await;
                    let s: Arc<dyn ServerStore> = Arc::new(PgStore::connect(&db.url, 4).await.unwrap());
                    super::$case(s.clone()).await;
                    drop(s);
                    db.drop_now().await;
                }
            )*
        }
    };
}

conformance!(
    campaigns_and_conflicts,
    join_codes_are_single_use_and_expire,
    turfs_packages_and_leases,
    ingest_dedupes_and_flags_overlaps,
);
