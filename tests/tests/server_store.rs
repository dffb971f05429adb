//! The storage conformance suite: every case runs against the embedded SQLite backend and against a
//! real PostgreSQL (a database made for the test and dropped after). Both must behave the same.

use std::sync::Arc;

use doorstep_protocol::{KnockReport, Target};
use doorstep_server::store::StoreOps;
use doorstep_server::store::postgres::PgStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Device, Role, ServerStore, StoreError, User};
use doorstep_tests::{Ingested, TestDatabase, ingest, server_import};

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
        wiped_ms: None,
    }
}

fn report(n: u32, turf: &str, door: &str, by: &str) -> KnockReport {
    doorstep_tests::report(n, "nantes-2026", turf, door, by, &format!("dev-{by}"))
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
    assert!(s.revoke_device("dev-1", "vol-a", NOW + 10).await.unwrap());
    assert!(!s.revoke_device("dev-1", "vol-a", NOW + 20).await.unwrap(), "already revoked");
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
    // A building already in a turf, or named twice, refuses the whole turf.
    for list in [vec![ids[0].clone()], vec![ids[25].clone()]] {
        let err = s.create_turf("nantes-2026", "t3", "x", None, &list).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }
    let (_, b, e, d) = server_import(31);
    let free = b[30].id.clone();
    let mine = |x: &String| x == &free;
    let (e, d): (Vec<_>, Vec<_>) = (
        e.into_iter().filter(|x| mine(&x.building_id)).collect(),
        d.into_iter().filter(|x| mine(&x.building_id)).collect(),
    );
    s.import("nantes-2026", &doorstep_tests::import_of(&b[30..], &e, &d)).await.unwrap();
    let err = s.create_turf("nantes-2026", "t3", "x", None, &[free.clone(), free.clone()]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(s.turf("t3").await.unwrap().is_none());
    s.create_turf("nantes-2026", "t3", "x", None, &[free]).await.unwrap();
    assert_eq!(s.turf_package("t3").await.unwrap().unwrap().buildings.len(), 1);
}

async fn ingest_dedupes_and_flags_overlaps(s: Arc<dyn ServerStore>) {
    let (ids, doors) = seed(s.as_ref()).await;
    let door_in_t1 = doors.iter().find(|d| d.starts_with(&ids[0])).unwrap().clone();
    let a = device("vol-a");
    let batch = vec![report(1, "t1", &door_in_t1, "vol-a"), report(2, "t1", "no-such-door", "vol-a")];
    let out = ingest(&*s, &a, &batch, NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Accepted { overlap: false }, Ingested::UnknownTarget]);
    // A replayed (and partly new) batch creates no duplicate.
    let out = ingest(&*s, &a, &[batch[0].clone(), report(3, "t1", &door_in_t1, "vol-a")], NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Duplicate, Ingested::Accepted { overlap: false }]);
    // The street moves to t2 (vol-b) while vol-a is offline; vol-a's later report is kept, flagged.
    let touched = s.move_buildings("nantes-2026", &[ids[0].clone()], "t2", None).await.unwrap();
    assert_eq!(touched, vec!["t2".to_string(), "t1".to_string()]);
    assert_eq!(s.turf("t1").await.unwrap().unwrap().version, 3);
    assert_eq!(s.turf("t2").await.unwrap().unwrap().version, 3);
    let out = ingest(&*s, &a, &[report(4, "t1", &door_in_t1, "vol-a")], NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Accepted { overlap: true }]);
    let stored = s.reports("nantes-2026").await.unwrap();
    assert_eq!(stored.len(), 3, "every accepted report exactly once");
    assert_eq!(stored.iter().filter(|r| r.overlap).count(), 1);
    assert_eq!(stored[0].report, batch[0], "the report comes back as pushed");
    assert!(s.move_buildings("nantes-2026", &[ids[1].clone()], "nope", None).await.is_err());
    // The same id twice in one batch: the first is accepted, the second is a duplicate. (vol-a
    // reports on t1, where the door no longer is: an overlap.)
    let twice = report(9, "t1", &door_in_t1, "vol-a");
    let out = ingest(&*s, &a, &[twice.clone(), twice], NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Accepted { overlap: true }, Ingested::Duplicate]);
}

/// A report is in scope when its volunteer ever held the turf it names and its target is or was
/// in that turf: B cannot write to A's turf, A's late report after a reassignment still counts.
async fn reports_outside_any_held_turf_are_refused(s: Arc<dyn ServerStore>) {
    let (ids, doors) = seed(s.as_ref()).await;
    let door_in_t1 = doors.iter().find(|d| d.starts_with(&ids[0])).unwrap().clone();
    let door_in_t2 = doors.iter().find(|d| d.starts_with(&ids[25])).unwrap().clone();
    let b = device("vol-b");
    let out = ingest(&*s, &b, &[report(1, "t1", &door_in_t1, "vol-b"), report(2, "t2", &door_in_t1, "vol-b")], NOW)
        .await
        .unwrap();
    assert_eq!(out, vec![Ingested::OutOfScope, Ingested::OutOfScope]);
    // t1 goes to vol-b: vol-a's report made before, pushed after, is accepted as an overlap; vol-b's
    // is now in scope.
    s.assign_turf("t1", Some("vol-b"), None).await.unwrap();
    let out = ingest(&*s, &device("vol-a"), &[report(3, "t1", &door_in_t1, "vol-a")], NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Accepted { overlap: true }]);
    let out = ingest(&*s, &b, &[report(4, "t1", &door_in_t1, "vol-b"), report(5, "t2", &door_in_t2, "vol-b")], NOW)
        .await
        .unwrap();
    assert_eq!(out, vec![Ingested::Accepted { overlap: false }, Ingested::Accepted { overlap: false }]);
    // A replay stays a duplicate whatever the scope has become.
    s.assign_turf("t1", None, None).await.unwrap();
    let out = ingest(&*s, &b, &[report(4, "t1", &door_in_t1, "vol-b")], NOW).await.unwrap();
    assert_eq!(out, vec![Ingested::Duplicate]);
    let (facts, turf_doors) = s.turf_facts("t1").await.unwrap();
    assert_eq!(facts.len(), 2);
    assert!(facts.iter().all(|f| f.door_id.as_deref() == Some(door_in_t1.as_str())));
    assert_eq!(facts.iter().filter(|f| f.overlap).count(), 1);
    assert!(turf_doors.iter().any(|(d, _)| *d == door_in_t1));
}

async fn teams_scripts_and_the_op_log(s: Arc<dyn ServerStore>) {
    use doorstep_server::store::{Team, TurfOp};
    let (ids, _) = seed(s.as_ref()).await;
    s.create_user(&user("cap", Role::Captain)).await.unwrap();
    s.create_team(&Team {
        id: "nord".into(),
        campaign_id: "nantes-2026".into(),
        name: "Nord".into(),
        captains: vec!["cap".into()],
    })
    .await
    .unwrap();
    assert!(matches!(
        s.create_team(&Team {
            id: "nord".into(),
            campaign_id: "nantes-2026".into(),
            name: "x".into(),
            captains: vec![]
        })
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.add_member("nantes-2026", "nord", "vol-a").await.unwrap(), Role::Volunteer);
    assert!(matches!(s.add_member("nantes-2026", "sud", "vol-a").await, Err(StoreError::Missing { .. })));
    assert_eq!(s.captain_teams("cap").await.unwrap(), vec!["nord".to_string()]);
    assert_eq!(s.user("vol-a").await.unwrap().unwrap().team_id.as_deref(), Some("nord"));
    assert_eq!(s.teams("nantes-2026").await.unwrap()[0].captains, vec!["cap".to_string()]);
    assert_eq!(s.users("nantes-2026").await.unwrap().len(), 3);
    s.set_turf_team("nantes-2026", "t1", Some("nord")).await.unwrap();
    let sums = s.turf_summaries("nantes-2026").await.unwrap();
    assert_eq!((sums[0].turf.team_id.as_deref(), sums[0].buildings), (Some("nord"), 20));
    assert!(sums[0].doors > 20, "the staircases' flats count");
    // Script history: version 2 is current, version 1 still readable; every turf moved on.
    let c = s.campaign("nantes-2026").await.unwrap().unwrap();
    let mut survey = c.survey.clone();
    survey.questions.pop();
    assert_eq!(s.update_script("nantes-2026", &survey, &c.result_codes, NOW).await.unwrap(), 2);
    assert_eq!(s.campaign("nantes-2026").await.unwrap().unwrap().survey.version, 2);
    assert_eq!(s.script("nantes-2026", 1).await.unwrap().unwrap().0.questions.len(), 5);
    assert_eq!(s.script("nantes-2026", 2).await.unwrap().unwrap().0.questions.len(), 4);
    assert!(s.script("nantes-2026", 3).await.unwrap().is_none());
    // The op log of t1 since its creation: assignment (lease), script (campaign), a move out.
    s.move_buildings("nantes-2026", &[ids[0].clone()], "t2", None).await.unwrap();
    let ops = s.turf_ops("t1", 1).await.unwrap();
    assert_eq!(
        ops,
        vec![
            (2, TurfOp { lease: true, ..Default::default() }),
            (3, TurfOp { campaign: true, ..Default::default() }),
            (4, TurfOp { remove: vec![ids[0].clone()], ..Default::default() }),
        ]
    );
    assert_eq!(
        s.turf_ops("t2", 3).await.unwrap(),
        vec![(4, TurfOp { add: vec![ids[0].clone()], ..Default::default() })]
    );
    // Checksums are cached per version and a stale one is ignored.
    s.set_checksum("t1", 4, "abc").await.unwrap();
    s.set_checksum("t1", 3, "stale").await.unwrap();
    assert_eq!(s.turf("t1").await.unwrap().unwrap().checksum, Some((4, "abc".to_string())));
    // Moving into the turf a building already is in changes nothing.
    assert_eq!(s.move_buildings("nantes-2026", &[ids[0].clone()], "t2", None).await.unwrap(), Vec::<String>::new());
    let street = s.turf_package("t2").await.unwrap().unwrap().buildings[0].street.to_uppercase();
    assert!(!s.street_buildings("t2", &street).await.unwrap().is_empty(), "streets match whatever their case");
}

/// An import of one household with one person, `p1` ("Léa", born `birth_year`), at `door` of t1.
async fn one_person_import(s: &dyn ServerStore, door: &str, birth_year: Option<i32>) -> doorstep_server::store::Import {
    use doorstep_protocol::{Household, Person};
    let mut import = doorstep_server::store::Import::default();
    import.households.push(Household { id: "h1".into(), door_id: door.into() });
    import.people.push(Person { id: "p1".into(), household_id: "h1".into(), display_name: "Léa".into(), birth_year });
    // Households need their doors in the import's view of the building: the building is in t1.
    let full = s.turf_package("t1").await.unwrap().unwrap();
    import.doors.push(full.doors.iter().find(|d| d.id == door).unwrap().clone());
    import
}

async fn voter_file_import(s: Arc<dyn ServerStore>) {
    let (ids, doors) = seed(s.as_ref()).await;
    let door = doors.iter().find(|d| d.starts_with(&ids[0])).unwrap().clone();
    let full = s.turf_package("t1").await.unwrap().unwrap();
    let import = one_person_import(s.as_ref(), &door, Some(1980)).await;
    let n = s.import("nantes-2026", &import).await.unwrap();
    assert_eq!((n.households, n.people, n.existing), (1, 1, 1));
    assert_eq!(n.turfs_touched, vec!["t1".to_string()], "t1's volunteer must get the new people");
    let p = s.turf_package("t1").await.unwrap().unwrap();
    assert_eq!((p.households.len(), p.people.len()), (1, 1));
    assert_eq!(p.people[0].birth_year, Some(1980));
    assert_eq!(p.turf.version, full.turf.version + 1);
    let again = s.import("nantes-2026", &import).await.unwrap();
    assert_eq!((again.people, again.existing, again.turfs_touched.len()), (0, 3, 0));
    // A person-level report is located through household and door.
    let mut k = report(1, "t1", "p1", "vol-a");
    k.target = Target::Person { id: "p1".into() };
    assert_eq!(ingest(&*s, &device("vol-a"), &[k], NOW).await.unwrap(), vec![Ingested::Accepted { overlap: false }]);
    assert_eq!(s.turf_facts("t1").await.unwrap().0[0].person_id.as_deref(), Some("p1"));
    // Rows of another campaign cannot be reached through an import.
    let mut other = s.campaign("nantes-2026").await.unwrap().unwrap();
    other.id = "other".into();
    s.create_campaign(&other, NOW).await.unwrap();
    assert!(matches!(s.import("other", &import).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.cut_candidates("nantes-2026", &[]).await.unwrap().len(), 0);
    // A row referring to a building nobody imported refuses the whole import: nothing is kept.
    let (_, buildings, entrances, doors) = server_import(40);
    let fresh = |id: &String| buildings[30..].iter().any(|b| &b.id == id);
    let entrances: Vec<_> = entrances.into_iter().filter(|e| fresh(&e.building_id)).collect();
    let mut new_doors: Vec<_> = doors.into_iter().filter(|d| fresh(&d.building_id)).collect();
    let good = new_doors[3].building_id.clone();
    new_doors[3].building_id = "no-such-building".into();
    let mut batch = doorstep_tests::import_of(&buildings[30..], &entrances, &new_doors);
    let err = s.import("nantes-2026", &batch).await.unwrap_err();
    assert!(matches!(&err, StoreError::Missing { kind: "building", id } if id == "no-such-building"), "{err:?}");
    assert_eq!(s.cut_candidates("nantes-2026", &[]).await.unwrap().len(), 0, "no building of the batch was kept");
    // Imported again with the row mended.
    new_doors[3].building_id = good;
    batch.doors = new_doors.clone();
    let n = s.import("nantes-2026", &batch).await.unwrap();
    assert_eq!(
        (n.buildings, n.doors, n.entrances, n.existing),
        (10, new_doors.len() as u64, entrances.len() as u64, 0)
    );
    assert_eq!(s.cut_candidates("nantes-2026", &[]).await.unwrap().len(), 10, "the ten buildings await a cut");
}

/// Retention: a campaign past its date loses answers, notes, its voter file's people and its
/// volunteers' devices, in one go; result codes, places and times stay; a second purge changes
/// nothing; a campaign without a date or with a later one is untouched.
async fn retention_purge_strips_personal_data(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::{Answer, AnswerValue};
    let (ids, doors) = seed(s.as_ref()).await;
    let door = doors.iter().find(|d| d.starts_with(&ids[0])).unwrap().clone();
    s.import("nantes-2026", &one_person_import(s.as_ref(), &door, None).await).await.unwrap();
    let mut k = report(1, "t1", &door, "vol-a");
    k.result_code = "contact_made".into();
    k.answers = vec![
        Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
        Answer { question_id: "intent".into(), value: AnswerValue::Choice { value: "oui".into() } },
    ];
    k.note = Some("Sympathisante, rappeler".into());
    ingest(&*s, &device("vol-a"), &[k.clone(), report(2, "t1", &door, "vol-a")], NOW).await.unwrap();
    s.register_token("h-a", "dev-vol-a", "vol-a", NOW, NOW + 1000).await.unwrap();
    assert_eq!(s.campaigns_past_retention(NOW).await.unwrap(), Vec::<String>::new(), "no date, no purge");
    let mut old = s.campaign("nantes-2026").await.unwrap().unwrap();
    old.id = "old".into();
    old.retention_until_ms = Some(NOW - 1);
    s.create_campaign(&old, NOW).await.unwrap();
    let mut later = old.clone();
    later.id = "later".into();
    later.retention_until_ms = Some(NOW + 1);
    s.create_campaign(&later, NOW).await.unwrap();
    assert_eq!(s.campaigns_past_retention(NOW).await.unwrap(), vec!["old".to_string()]);

    let n = s.purge_personal_data("nantes-2026", NOW).await.unwrap();
    assert_eq!((n.reports_stripped, n.people_deleted, n.devices_revoked), (1, 1, 1));
    let kept = s.reports("nantes-2026").await.unwrap();
    assert_eq!(kept.len(), 2, "reports stay, stripped");
    let stripped = kept.iter().find(|r| r.report.id == k.id).unwrap();
    assert!(stripped.report.answers.is_empty() && stripped.report.note.is_none());
    assert_eq!((stripped.report.result_code.as_str(), &stripped.report.target), ("contact_made", &k.target));
    assert_eq!(s.turf_package("t1").await.unwrap().unwrap().people.len(), 0);
    assert!(s.devices("nantes-2026").await.unwrap().iter().all(|d| d.revoked_ms.is_some()));
    let again = s.purge_personal_data("nantes-2026", NOW).await.unwrap();
    assert_eq!(again, Default::default(), "idempotent");
}

/// Re-cutting replaces only turfs nobody worked, in one transaction; station results, boundaries
/// (placing buildings in no turf) and the targeting formula round-trip.
async fn recut_stations_and_targeting(s: Arc<dyn ServerStore>) {
    use doorstep_server::store::NewTurf;
    let (ids, door_ids) = seed(s.as_ref()).await;
    // t1 and t2 are held: never re-cut, and a refused cut changes nothing.
    let err = s.cut_candidates("nantes-2026", &["t1".into()]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    s.assign_turf("t2", None, None).await.unwrap();
    assert!(matches!(s.cut_candidates("nantes-2026", &["t2".into()]).await, Err(StoreError::Conflict(_))), "once held");
    // A turf nobody held: its buildings are candidates and the cut replaces it.
    s.create_turf("nantes-2026", "t8", "T8", None, &[]).await.unwrap();
    s.move_buildings("nantes-2026", &ids[25..], "t8", None).await.unwrap();
    let c = s.cut_candidates("nantes-2026", &["t8".into()]).await.unwrap();
    let mut got: Vec<String> = c.iter().map(|b| b.id.clone()).collect();
    let mut want = ids[25..].to_vec();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let bad = NewTurf { id: "t9".into(), name: "x".into(), team_id: None, buildings: vec![ids[0].clone()] };
    assert!(matches!(s.apply_cut("nantes-2026", &["t8".into()], &[bad]).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.turf_package("t8").await.unwrap().unwrap().buildings.len(), 5, "a failed cut leaves the old turf");
    let good = NewTurf { id: "t9".into(), name: "T9".into(), team_id: None, buildings: ids[25..].to_vec() };
    s.apply_cut("nantes-2026", &["t8".into()], &[good]).await.unwrap();
    assert!(s.turf("t8").await.unwrap().is_none());
    assert_eq!(s.turf_package("t9").await.unwrap().unwrap().buildings.len(), 5);
    // Stations: results, a boundary around every building (all are in turfs: left as they are).
    let body = r#"{"id":"101","name":null,"registered":10,"voters":5,"expressed":5,"votes":{"A":5},"flags":[]}"#;
    s.set_station_results("nantes-2026", &[("101".into(), body.into())]).await.unwrap();
    let square = r#"{"type":"Polygon","coordinates":[[[-1.6,47.1],[-1.5,47.1],[-1.5,47.3],[-1.6,47.3],[-1.6,47.1]]]}"#;
    let placed = s.set_station_boundaries("nantes-2026", &[("101".into(), square.into())]).await.unwrap();
    assert_eq!((placed.assigned, placed.in_turfs.len(), placed.outside.len()), (0, 30, 0));
    let st = s.stations("nantes-2026").await.unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].results.as_ref().unwrap().registered, 10);
    assert!(st[0].boundary.is_some());
    let doors = s.station_doors("nantes-2026").await.unwrap();
    assert_eq!(doors.iter().map(|d| d.2).sum::<u64>() as usize, door_ids.len());
    assert!(s.targeting("nantes-2026").await.unwrap().is_none());
    let f = doorstep_server::targeting::Formula { favourable: vec!["A".into()], ..Default::default() };
    s.set_targeting("nantes-2026", &f).await.unwrap();
    assert_eq!(s.targeting("nantes-2026").await.unwrap(), Some(f));
}

/// Canvass sessions on both backends (issue 17): publication, sign-up events decided by the rule
/// book with the facts the storage gathers — a replay is a duplicate, the same id with another
/// body a conflict, a full session refuses, a cancellation frees the place, a team session is
/// unknown to others, nothing is taken once the session is over.
async fn sessions_signups_and_replays(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::{Attendance, ItemStatus, Session, SignupEvent, SignupKind, Visibility};
    seed(s.as_ref()).await;
    s.create_user(&user("cap", Role::Captain)).await.unwrap();
    let hour = 3_600_000;
    let session = Session {
        id: "s1".into(),
        campaign_id: "nantes-2026".into(),
        title: "Samedi matin".into(),
        start_ms: NOW + hour,
        end_ms: NOW + 4 * hour,
        meeting_lat: 47.2184,
        meeting_lon: -1.5536,
        meeting_text: "Devant le marché".into(),
        capacity: 1,
        captains: vec!["cap".into()],
        turfs: vec!["t1".into()],
        team_id: None,
        visibility: Visibility::Campaign,
        cancelled: false,
    };
    s.create_session(&session, "cap", NOW).await.unwrap();
    assert!(matches!(s.create_session(&session, "cap", NOW).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.session("s1").await.unwrap(), Some(session.clone()));
    let team_session =
        Session { id: "s2".into(), visibility: Visibility::Team, team_id: Some("nord".into()), ..session.clone() };
    s.create_session(&team_session, "cap", NOW).await.unwrap();

    let event = |n: u32, who: &str, session: &str, kind: SignupKind| SignupEvent {
        id: format!("0190a0b0-0000-7000-8000-{n:012}"),
        session_id: session.into(),
        volunteer_id: who.into(),
        device_id: format!("dev-{who}"),
        kind,
        at_ms: NOW,
        proof: None,
    };
    let (a, b) = (user("vol-a", Role::Volunteer), user("vol-b", Role::Volunteer));
    let status = |r: Vec<doorstep_protocol::PushItemResult>| -> Vec<String> {
        r.into_iter()
            .map(|i| match i.status {
                ItemStatus::Rejected { code, .. } => code.unwrap(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let e1 = event(1, "vol-a", "s1", SignupKind::SignUp);
    assert_eq!(
        status(s.record_signups(&a, "dev-vol-a", std::slice::from_ref(&e1), "", NOW).await.unwrap()),
        ["Accepted"]
    );
    assert_eq!(
        status(s.record_signups(&a, "dev-vol-a", std::slice::from_ref(&e1), "", NOW).await.unwrap()),
        ["Duplicate"]
    );
    let conflicting = SignupEvent { kind: SignupKind::Cancel, ..e1.clone() };
    assert_eq!(status(s.record_signups(&a, "dev-vol-a", &[conflicting], "", NOW).await.unwrap()), ["id_conflict"]);
    // One place: vol-b is refused until vol-a cancels; both in one push each, in order.
    let pushed = s
        .record_signups(
            &b,
            "dev-vol-b",
            &[event(2, "vol-b", "s1", SignupKind::SignUp), event(3, "vol-a", "s1", SignupKind::Cancel)],
            "",
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(status(pushed), ["session_full", "wrong_sender"]);
    let pushed =
        s.record_signups(&a, "dev-vol-a", &[event(4, "vol-a", "s1", SignupKind::Cancel)], "", NOW).await.unwrap();
    assert_eq!(status(pushed), ["Accepted"]);
    let pushed = s
        .record_signups(
            &b,
            "dev-vol-b",
            &[event(5, "vol-b", "s1", SignupKind::SignUp), event(6, "vol-b", "s1", SignupKind::Confirm)],
            "",
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(status(pushed), ["Accepted", "Accepted"]);
    // A team session is unknown to a volunteer of no team.
    let pushed =
        s.record_signups(&a, "dev-vol-a", &[event(7, "vol-a", "s2", SignupKind::SignUp)], "", NOW).await.unwrap();
    assert_eq!(status(pushed), ["unknown_session"]);
    let pushed =
        s.record_signups(&a, "dev-vol-a", &[event(8, "vol-a", "nowhere", SignupKind::SignUp)], "", NOW).await.unwrap();
    assert_eq!(status(pushed), ["unknown_session"]);

    assert_eq!(s.standings("vol-a").await.unwrap(), vec![("s1".to_string(), Attendance::Cancelled)]);
    assert_eq!(s.standings("vol-b").await.unwrap(), vec![("s1".to_string(), Attendance::Confirmed)]);
    let listed = s.campaign_sessions("nantes-2026", NOW).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.session.id.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);
    let c = &listed[0];
    assert_eq!((c.signed_up, c.confirmed, c.checked_in, c.cancelled), (0, 1, 0, 1));
    // The last place of a session, taken by two phones at once: exactly one gets it (on
    // PostgreSQL the two transactions run side by side on two connections).
    for round in 0..5u32 {
        let id = format!("race{round}");
        s.create_session(&Session { id: id.clone(), capacity: 1, ..session.clone() }, "cap", NOW).await.unwrap();
        let (ea, eb) = (
            event(100 + 2 * round, "vol-a", &id, SignupKind::SignUp),
            event(101 + 2 * round, "vol-b", &id, SignupKind::SignUp),
        );
        let (ra, rb) = tokio::join!(
            s.record_signups(&a, "dev-vol-a", std::slice::from_ref(&ea), "", NOW),
            s.record_signups(&b, "dev-vol-b", std::slice::from_ref(&eb), "", NOW)
        );
        let mut got = [status(ra.unwrap()), status(rb.unwrap())].concat();
        got.sort();
        assert_eq!(got, ["Accepted", "session_full"], "round {round}");
    }
    // Over: nothing is taken, and the session is no longer listed.
    let late = s
        .record_signups(&a, "dev-vol-a", &[event(9, "vol-a", "s1", SignupKind::SignUp)], "", NOW + 4 * hour)
        .await
        .unwrap();
    assert_eq!(status(late), ["session_over"]);
    assert!(s.campaign_sessions("nantes-2026", NOW + 4 * hour).await.unwrap().is_empty());
    // At the meeting point: the session's captain checks vol-b in from their own phone; vol-a's
    // phone cannot check itself in without a captain's code, nor check vol-b in.
    let cap = user("cap", Role::Captain);
    let by_captain = SignupEvent { device_id: "dev-cap".into(), ..event(20, "vol-b", "s1", SignupKind::CheckIn) };
    assert_eq!(status(s.record_signups(&cap, "dev-cap", &[by_captain], "", NOW).await.unwrap()), ["Accepted"]);
    assert!(s.standings("vol-b").await.unwrap().contains(&("s1".to_string(), Attendance::CheckedIn)));
    let own = event(21, "vol-a", "s1", SignupKind::CheckIn);
    let for_b = SignupEvent { device_id: "dev-vol-a".into(), ..event(22, "vol-b", "s1", SignupKind::CheckIn) };
    assert_eq!(
        status(s.record_signups(&a, "dev-vol-a", &[own, for_b], "", NOW).await.unwrap()),
        ["checkin_unproven", "wrong_sender"]
    );
}

/// A first cut of a large import (50,000 buildings: on SQLite, placed with the turf index dropped
/// and built again): a cut naming an unknown building changes nothing, the good cut places every
/// building once, and turfs are found by their buildings afterwards (a re-cut of one works).
async fn a_large_first_cut_places_every_building_once(s: Arc<dyn ServerStore>) {
    use doorstep_server::store::NewTurf;
    const N: usize = 50_000;
    let (campaign, template, _, _) = server_import(1);
    s.create_campaign(&campaign, NOW).await.unwrap();
    let mut buildings = Vec::with_capacity(N);
    let mut doors = Vec::with_capacity(N);
    for i in 0..N {
        let mut b = template[0].clone();
        b.id = format!("big-b{i:06}");
        b.house_number = format!("{}", i + 1);
        b.lat += (i / 250) as f64 * 1e-4;
        b.lon += (i % 250) as f64 * 1e-4;
        doors.push(doorstep_protocol::Door {
            id: format!("{}-door", b.id),
            building_id: b.id.clone(),
            entrance_id: None,
            floor: None,
            label: "porte".into(),
            safety_flags: vec![],
        });
        buildings.push(b);
    }
    s.import(&campaign.id, &doorstep_tests::import_of(&buildings, &[], &doors)).await.unwrap();
    let turf = |k: usize, ids: &[doorstep_protocol::Building]| NewTurf {
        id: format!("big-t{k:04}"),
        name: format!("Secteur {k}"),
        team_id: None,
        buildings: ids.iter().map(|b| b.id.clone()).collect(),
    };
    let mut turfs: Vec<NewTurf> = buildings.chunks(100).enumerate().map(|(k, c)| turf(k, c)).collect();
    // One building nobody imported, at the very end: the whole cut is refused.
    turfs.last_mut().unwrap().buildings.push("nowhere".into());
    let err = s.apply_cut(&campaign.id, &[], &turfs).await.unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert_eq!(s.cut_candidates(&campaign.id, &[]).await.unwrap().len(), N, "nothing placed");
    assert!(s.turf("big-t0000").await.unwrap().is_none(), "no turf made");
    turfs.last_mut().unwrap().buildings.pop();
    s.apply_cut(&campaign.id, &[], &turfs).await.unwrap();
    assert!(s.cut_candidates(&campaign.id, &[]).await.unwrap().is_empty(), "every building placed");
    for k in [0, 250, 499] {
        let p = s.turf_package(&format!("big-t{k:04}")).await.unwrap().unwrap();
        let mut got: Vec<String> = p.buildings.iter().map(|b| b.id.clone()).collect();
        got.sort();
        let want: Vec<String> = buildings[k * 100..(k + 1) * 100].iter().map(|b| b.id.clone()).collect();
        assert_eq!(got, want, "turf {k}");
    }
    let again = s.cut_candidates(&campaign.id, &["big-t0007".into()]).await.unwrap();
    assert_eq!(again.len(), 100);
    let split = [turf(900, &buildings[700..750]), turf(901, &buildings[750..800])];
    s.apply_cut(&campaign.id, &["big-t0007".into()], &split).await.unwrap();
    assert_eq!(s.turf_package("big-t0901").await.unwrap().unwrap().buildings.len(), 50);
}

/// On SQLite the large cut above leaves the turf index in place (dropped and built again inside
/// its transaction, and never dropped by the refused cut).
#[tokio::test]
async fn a_large_first_cut_on_sqlite_keeps_the_turf_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.db");
    let s: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(&path).unwrap());
    a_large_first_cut_places_every_building_once(s.clone()).await;
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    let sql: String = c
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'buildings_turf'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sql, doorstep_server::store::sql::CREATE_BUILDINGS_TURF);
    let plan: String = c
        .query_row("EXPLAIN QUERY PLAN SELECT id FROM buildings WHERE turf_id = 'big-t0001'", [], |r| r.get(3))
        .unwrap();
    assert!(plan.contains("buildings_turf"), "{plan}");
}

/// Schema v5–v6 on both backends: logins, device sync times, campaign doors, overlap reviews, and
/// an audit log that the database itself refuses to change or delete.
async fn logins_dashboard_reads_and_an_append_only_audit_log(s: Arc<dyn ServerStore>) {
    use doorstep_server::store::AuditEntry;
    let (_, door_ids) = seed(s.as_ref()).await;
    s.create_user(&user("cap", Role::Captain)).await.unwrap();
    s.set_login("cap", "nour", "$argon2id$hash").await.unwrap();
    let (u, hash) = s.user_by_login("nour").await.unwrap().unwrap();
    assert_eq!((u.id.as_str(), hash.as_deref()), ("cap", Some("$argon2id$hash")));
    assert!(matches!(s.set_login("vol-a", "nour", "h").await, Err(StoreError::Conflict(_))), "one login, one person");
    assert!(matches!(s.set_login("nobody", "x", "h").await, Err(StoreError::Missing { .. })));
    assert!(s.user_by_login("personne").await.unwrap().is_none());
    // Doors of the campaign with their turf; devices with when they last synced.
    let doors = s.campaign_doors("nantes-2026").await.unwrap();
    assert_eq!(doors.len(), door_ids.len());
    assert_eq!(doors.iter().filter(|d| d.turf_id.as_deref() == Some("t1")).count(), doors.len() * 2 / 3);
    s.register_token("h-a", "dev-a", "vol-a", NOW, NOW + 1000).await.unwrap();
    let a = Device { device_id: "dev-a".into(), ..device("vol-a") };
    s.touch_device(&a, NOW + 5).await.unwrap();
    let devices = s.devices("nantes-2026").await.unwrap();
    assert_eq!((devices.len(), devices[0].last_seen_ms), (1, Some(NOW + 5)));
    // Reviewing: only an overlap of the campaign can be reviewed.
    assert!(!s.review_overlap("nantes-2026", "no-such-report", "cap", NOW).await.unwrap());
    assert!(s.overlap_reviews("nantes-2026").await.unwrap().is_empty());
    // The audit log: appended, read newest first, paged, and never changed.
    for i in 0..3 {
        let e = AuditEntry {
            id: format!("a{i}"),
            at_ms: NOW + i,
            campaign_id: "nantes-2026".into(),
            actor: "cap".into(),
            device_id: (i == 1).then(|| "dev-a".to_string()),
            action: "turf.download".into(),
            subject: Some("t1".into()),
            detail: serde_json::json!({ "version": i }),
        };
        s.append_audit(&e).await.unwrap();
    }
    let log = s.audit_log("nantes-2026", i64::MAX, 10).await.unwrap();
    assert_eq!(log.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a2", "a1", "a0"]);
    assert_eq!((log[1].device_id.as_deref(), &log[1].detail), (Some("dev-a"), &serde_json::json!({ "version": 1 })));
    assert_eq!(s.audit_log("nantes-2026", NOW + 2, 1).await.unwrap()[0].id, "a1");
    assert!(s.audit_log("other", i64::MAX, 10).await.unwrap().is_empty());
    for sql in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
        let r = s
            .op_any(Box::new(move |tx| {
                Box::pin(async move { tx.exec(sql, &[]).await.map(|n| Box::new(n) as Box<dyn std::any::Any + Send>) })
            }))
            .await;
        assert!(r.is_err(), "{sql} must be refused");
    }
    assert_eq!(s.audit_log("nantes-2026", i64::MAX, 10).await.unwrap().len(), 3, "nothing changed");
}

/// The dashboard's reads, aggregated by the database (progress with knocking time, the timeline,
/// last positions, the map's buildings, results under every filter, overlaps), equal their
/// definitions computed the slow way from every door and report (`doorstep_tests::
/// dashboard_reference`), for the coordinator and for each captain: on 60 addresses (a few with
/// several doors, ten in no turf) in three turfs of two teams, 400 reports from three volunteers
/// with corrections, building-level reports, conversations with answers, positions, breaks over 30
/// minutes, and overlaps after buildings moved to the other team (one reviewed).
async fn dashboard_aggregates_equal_their_definitions(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::{Answer, AnswerValue, Position, Target};
    use doorstep_server::admin::Staff;
    use doorstep_server::dashboard::ResultsFilter;
    use doorstep_server::service::Service;
    use doorstep_server::store::Team;
    use doorstep_tests::dashboard_reference::Reach;

    let (campaign, mut buildings, entrances, mut doors) = server_import(60);
    for (i, b) in buildings.iter_mut().enumerate() {
        b.polling_station = Some(format!("{}", 101 + i % 3));
    }
    for d in doors.clone().iter().take(12).step_by(3) {
        for k in 1..=3 {
            doors.push(doorstep_protocol::Door {
                id: format!("{}-apt{k}", d.id),
                label: format!("Apt {k}"),
                ..d.clone()
            });
        }
    }
    s.create_campaign(&campaign, NOW).await.unwrap();
    for (id, role) in [("vol-a", Role::Volunteer), ("vol-b", Role::Volunteer), ("vol-c", Role::Volunteer)] {
        s.create_user(&user(id, role)).await.unwrap();
        // Each volunteer's phone, joined (its syncs are the dashboard's "last sync").
        s.register_token(&format!("h-{id}"), &format!("dev-{id}"), id, NOW - 1, NOW + 1_000_000).await.unwrap();
    }
    for id in ["cap-n", "cap-s"] {
        s.create_user(&user(id, Role::Captain)).await.unwrap();
    }
    s.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    for (team, cap) in [("nord", "cap-n"), ("sud", "cap-s")] {
        let t =
            Team { id: team.into(), campaign_id: campaign.id.clone(), name: team.into(), captains: vec![cap.into()] };
        s.create_team(&t).await.unwrap();
    }
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    let turfs = [("t1", "nord", "vol-a", 0..20), ("t2", "nord", "vol-b", 20..35), ("t3", "sud", "vol-c", 35..50)];
    for (turf, team, vol, range) in turfs.clone() {
        s.add_member(&campaign.id, team, vol).await.unwrap();
        s.create_turf(&campaign.id, turf, turf, Some(team), &ids[range]).await.unwrap();
        s.assign_turf(turf, Some(vol), None).await.unwrap();
    }
    // Reports: a little generator with a fixed seed.
    let mut next = doorstep_tests::random_below(0x2545_f491_4f6c_dd1du64);
    let codes = ["not_home", "contact_made", "refused", "hostile", "come_back", "contact_made", "vacant"];
    let mut clock = [NOW - 40 * 3_600_000; 3];
    let mut made: Vec<Vec<KnockReport>> = vec![vec![]; 3];
    let mut n = 0u32;
    let mut push =
        |v: usize, turf: &str, target: Target, made: &mut Vec<Vec<KnockReport>>, next: &mut dyn FnMut(u64) -> u64| {
            n += 1;
            clock[v] +=
                [60_000, 4 * 60_000, 29 * 60_000, 31 * 60_000, 3 * 3_600_000][next(5) as usize] + next(50_000) as i64;
            let vol = ["vol-a", "vol-b", "vol-c"][v];
            let mut r = report(n, turf, "", vol);
            r.target = target;
            r.hlc.millis = clock[v];
            r.result_code = codes[next(codes.len() as u64) as usize].into();
            // A conversation is a person's result: on a whole building the rule book refuses it.
            if r.result_code == "contact_made" && matches!(r.target, Target::Building { .. }) {
                r.result_code = "inaccessible".into();
            }
            // The script requires the consent question in every conversation.
            if r.result_code == "contact_made" {
                let consent = next(5) > 0;
                r.answers =
                    vec![Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: consent } }];
                if consent {
                    r.answers.push(Answer {
                        question_id: "intent".into(),
                        value: AnswerValue::Choice { value: ["oui", "non", "ne sait pas"][next(3) as usize].into() },
                    });
                }
            }
            if next(10) < 7 {
                r.position = Some(Position { lat: 47.2 + next(1000) as f64 * 1e-5, lon: -1.55, accuracy_m: Some(5.0) });
            }
            // Now and then a correction of one of this volunteer's earlier reports on the same target.
            if next(10) == 0
                && let Some(old) = made[v].iter().rev().find(|o| o.target == r.target && o.turf_id == r.turf_id)
            {
                r.supersedes = Some(old.id.clone());
            }
            made[v].push(r);
        };
    for _ in 0..400 {
        let v = next(3) as usize;
        let (turf, _, _, range) = turfs[v].clone();
        let b = range.start + next((range.end - range.start) as u64) as usize;
        let door_ids: Vec<&String> = doors.iter().filter(|d| d.building_id == ids[b]).map(|d| &d.id).collect();
        let target = if next(5) == 0 {
            Target::Building { id: ids[b].clone() }
        } else {
            Target::Door { id: door_ids[next(door_ids.len() as u64) as usize].clone() }
        };
        push(v, turf, target, &mut made, &mut next);
    }
    // Each phone syncs every twenty knocks, a minute after the last: the server believes its clock.
    for (v, reports) in made.iter().enumerate() {
        for chunk in reports.chunks(20) {
            let at = chunk.iter().map(|r| r.hlc.millis).max().unwrap() + 60_000;
            let got = ingest(&*s, &device(["vol-a", "vol-b", "vol-c"][v]), chunk, at).await.unwrap();
            assert!(got.iter().all(|g| matches!(g, Ingested::Accepted { .. })), "{got:?}");
        }
    }
    // A row stored before the rule book, in which vol-c "corrects" vol-a's first report on another
    // door: the standing rule (SQL and definition alike) ignores it.
    let victim = made[0][0].clone();
    let forged_id = "0190a0b0-0000-7000-8000-999999999999";
    let forged = KnockReport {
        id: forged_id.into(),
        supersedes: Some(victim.id.clone()),
        ..report(999, "t3", &doors[0].id, "vol-c")
    };
    let row = doorstep_server::vals![
        forged_id,
        campaign.id.as_str(),
        "t3",
        ids[40].as_str(),
        doors.iter().find(|d| d.building_id == ids[40]).unwrap().id.as_str(),
        "dev-vol-c",
        "vol-c",
        "not_home",
        victim.id.as_str(),
        NOW - 1000,
        0i64,
        false,
        NOW,
        serde_json::to_string(&forged).unwrap(),
        Option::<String>::None,
        Option::<f64>::None,
        Option::<f64>::None,
        "legacy",
        NOW - 1000,
        Option::<i64>::None
    ];
    doorstep_server::store::typed(&*s, move |tx| {
        Box::pin(async move { tx.exec(doorstep_server::store::sql::INSERT_REPORT, &row).await })
    })
    .await
    .unwrap();
    // Such a row predates the counters: the step that brought them in counted it (before the moves
    // below, which the counters follow as they happen).
    doorstep_server::store::typed(&*s, |tx| {
        Box::pin(async move { doorstep_server::store::ops::counters::rebuild_all(tx).await })
    })
    .await
    .unwrap();

    // Three of t1's buildings move to the south team's t3; vol-a, offline, knocks two of them.
    s.move_buildings(&campaign.id, &ids[0..3], "t3", None).await.unwrap();
    let mut late = vec![];
    for building in &ids[..2] {
        let door = doors.iter().find(|d| &d.building_id == building).unwrap().id.clone();
        n += 1;
        let mut r = report(n, "t1", &door, "vol-a");
        r.hlc.millis = NOW;
        late.push(r);
    }
    let got = ingest(&*s, &device("vol-a"), &late, NOW).await.unwrap();
    assert!(got.iter().all(|g| matches!(g, Ingested::Accepted { overlap: true })), "{got:?}");
    assert!(s.review_overlap(&campaign.id, &late[0].id, "cap-s", NOW).await.unwrap());
    // vol-b's phone thinks it is next year: its reports count at their receipt, and its position
    // is not pinned to 2027.
    let mut ahead = vec![];
    for b in &ids[20..23] {
        let door = doors.iter().find(|d| &d.building_id == b).unwrap().id.clone();
        n += 1;
        let mut r = report(n, "t2", &door, "vol-b");
        r.hlc.millis = NOW + 400 * 86_400_000;
        r.position = Some(Position { lat: 47.3, lon: -1.6, accuracy_m: Some(5.0) });
        ahead.push(r);
    }
    let got = ingest(&*s, &device("vol-b"), &ahead, NOW - 3_600_000).await.unwrap();
    assert!(got.iter().all(|g| matches!(g, Ingested::Accepted { overlap: false })), "{got:?}");
    let service = Service::new(s.clone());
    let captain = |id: &str, team: &str| Staff { user: user(id, Role::Captain), teams: Some(vec![team.to_string()]) };
    let whole = Reach::read(s.as_ref(), &doorstep_tests::coordinator(&campaign.id)).await.expected();
    // The data has what the definitions are about.
    assert!(whole.campaign.overlaps == 1 && whole.overlaps.len() == 2, "{:?}", whole.overlaps);
    assert!(whole.campaign.knocked < whole.campaign.doors && whole.campaign.contacted > 5);
    assert!(made.iter().flatten().filter(|r| r.supersedes.is_some()).count() > 5);
    assert!(whole.buildings.values().any(|b| b.0 == 4 && b.1 > 0 && b.1 < 4), "a building partly knocked");
    for st in [doorstep_tests::coordinator(&campaign.id), captain("cap-n", "nord"), captain("cap-s", "sud")] {
        let who = st.user.id.clone();
        let reach = Reach::read(s.as_ref(), &st).await;
        let want = reach.expected();
        let p = service.progress(&st).await.unwrap();
        let same = |what: &str,
                    got: &doorstep_server::dashboard::Stats,
                    want: Option<&doorstep_tests::dashboard_reference::Figures>| {
            let w = want.cloned().unwrap_or_default();
            assert_eq!(
                (got.doors, got.knocked, got.contacted, got.knocks, got.overlaps),
                (w.doors, w.knocked, w.contacted, w.knocks, w.overlaps),
                "{who}: {what}"
            );
            assert!(
                (got.hours - w.ms as f64 / 3_600_000.0).abs() < 1e-9,
                "{who}: {what} hours {} vs {}",
                got.hours,
                w.ms
            );
        };
        same("campaign", &p.campaign, Some(&want.campaign));
        assert_eq!(
            p.turfs.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
            reach.turfs.keys().cloned().collect::<std::collections::BTreeSet<_>>().into_iter().collect::<Vec<_>>()
        );
        for t in &p.turfs {
            same(&t.id, &t.stats, want.turfs.get(&t.id));
        }
        for t in &p.teams {
            same(&t.id, &t.stats, want.teams.get(&t.id));
        }
        assert!(!p.volunteers.is_empty());
        for v in &p.volunteers {
            same(&v.id, &v.stats, want.volunteers.get(&v.id));
            let pos = want.positions.get(&v.id).map(|(t, lat, lon)| (*t, *lat, *lon));
            assert_eq!(v.position.map(|p| (v.position_ms.unwrap(), p.lat, p.lon)), pos, "{who}: {} position", v.id);
        }
        // Days: the knocks span more than three days.
        assert_eq!(p.bucket_ms, 86_400_000);
        let timeline: std::collections::BTreeMap<i64, (u64, u64)> =
            p.timeline.iter().map(|b| (b.start_ms, (b.knocks, b.contacts))).collect();
        let mut days = std::collections::BTreeMap::<i64, (u64, u64)>::new();
        for (h, (k, c)) in &want.hours {
            let d = days.entry(h - h.rem_euclid(86_400_000)).or_default();
            (d.0, d.1) = (d.0 + k, d.1 + c);
        }
        assert_eq!(timeline, days, "{who}: timeline");
        // The latest syncs, kept per campaign and team to the minute: within a minute of the
        // newest of their volunteers' phones.
        let users = s.users(&campaign.id).await.unwrap();
        let phones = s.devices(&campaign.id).await.unwrap();
        let newest = |team: Option<&str>| {
            let of = |d: &&doorstep_server::store::DeviceRow| {
                users.iter().any(|u| u.id == d.user_id && (team.is_none() || u.team_id.as_deref() == team))
            };
            phones.iter().filter(of).filter_map(|d| d.last_seen_ms).max()
        };
        let within = |got: Option<i64>, want: Option<i64>| match (got, want) {
            (Some(g), Some(w)) => g <= w && w - g < 60_000,
            (g, w) => g == w,
        };
        assert!(p.teams.iter().any(|t| t.stats.last_sync_ms.is_some()), "{who}: some team synced");
        for t in &p.teams {
            let want = newest(Some(&t.id));
            assert!(
                within(t.stats.last_sync_ms, want),
                "{who}: {} synced {:?}, not {want:?}",
                t.id,
                t.stats.last_sync_ms
            );
        }
        if st.teams.is_none() {
            let want = newest(None);
            assert!(within(p.campaign.last_sync_ms, want), "{who}: synced {:?}, not {want:?}", p.campaign.last_sync_ms);
        }
        // The same figures listed by team (a campaign of more than 2,000 turfs in reach): no turf
        // nor volunteer at first, then each team's, each with the same figures as above.
        use doorstep_server::dashboard::{Listed, ProgressQuery};
        let by_team = service.progress_of(&st, &ProgressQuery { team: None, list_max: Some(0) }).await.unwrap();
        assert_eq!(by_team.listed, Listed::ByTeam, "{who}");
        assert!(by_team.turfs.is_empty() && by_team.volunteers.is_empty(), "{who}: nothing listed");
        same("campaign, listed by team", &by_team.campaign, Some(&want.campaign));
        assert_eq!(by_team.campaign.last_sync_ms, p.campaign.last_sync_ms, "{who}: last sync");
        // Compared as the page reads them (JSON).
        use serde_json::json;
        assert_eq!(json!(&by_team.teams), json!(&p.teams), "{who}: teams");
        assert_eq!(json!(&by_team.timeline), json!(&p.timeline), "{who}: timeline by team");
        for t in &p.teams {
            let q = ProgressQuery { team: Some(t.id.clone()), list_max: None };
            let one = service.progress_of(&st, &q).await.unwrap();
            assert_eq!((one.listed, one.team.as_deref()), (Listed::Team, Some(t.id.as_str())), "{who}");
            let of_team = |team: &Option<String>| team.as_deref() == Some(t.id.as_str());
            let turfs: Vec<_> = p.turfs.iter().filter(|x| of_team(&x.team_id)).collect();
            assert!(!turfs.is_empty(), "{who}: {} has turfs", t.id);
            assert_eq!(json!(one.turfs.iter().collect::<Vec<_>>()), json!(turfs), "{who}: {}'s turfs", t.id);
            let vols: Vec<_> = p.volunteers.iter().filter(|v| of_team(&v.team_id)).collect();
            assert!(!vols.is_empty(), "{who}: {} has volunteers", t.id);
            assert_eq!(json!(one.volunteers.iter().collect::<Vec<_>>()), json!(vols), "{who}: {}'s volunteers", t.id);
        }
        let other = if st.teams.is_none() {
            "zzz"
        } else if who == "cap-n" {
            "sud"
        } else {
            "nord"
        };
        let e =
            service.progress_of(&st, &ProgressQuery { team: Some(other.into()), list_max: None }).await.unwrap_err();
        use doorstep_server::error::Failure;
        let failure = if other == "zzz" { Failure::NotFound } else { Failure::Forbidden };
        assert_eq!(e.kind, failure, "{who}: team {other}");
        // The map.
        let map: std::collections::BTreeMap<String, _> = service
            .map_buildings(&st, &doorstep_server::dashboard::MapView::default())
            .await
            .unwrap()
            .into_iter()
            .map(|b| (b.id, (b.doors, b.knocked, b.contacted, b.status, b.door_ids)))
            .collect();
        assert_eq!(map, want.buildings, "{who}: map");
        // Results under each filter.
        let filters = [
            ResultsFilter::default(),
            ResultsFilter { turf: Some(reach.turfs.keys().next().unwrap().clone()), ..Default::default() },
            ResultsFilter {
                team: st.teams.as_ref().map_or(Some("nord".into()), |t| Some(t[0].clone())),
                ..Default::default()
            },
            ResultsFilter { station: Some("102".into()), ..Default::default() },
            ResultsFilter {
                from_ms: Some(NOW - 30 * 3_600_000),
                to_ms: Some(NOW - 10 * 3_600_000),
                ..Default::default()
            },
        ];
        for f in &filters {
            let r = service.results(&st, f).await.unwrap();
            let (n, codes, answers) =
                reach.results(f.turf.as_deref(), f.team.as_deref(), f.station.as_deref(), f.from_ms, f.to_ms);
            assert_eq!(r.reports, n, "{who}: {f:?}");
            for (code, count) in &r.result_codes {
                assert_eq!(*count, codes.get(code).copied().unwrap_or(0), "{who}: {f:?} {code}");
            }
            for q in &r.questions {
                let want = answers.get(&q.question_id);
                assert_eq!(
                    q.answered,
                    want.and_then(|a| a.get("")).copied().unwrap_or(0),
                    "{who}: {f:?} {}",
                    q.question_id
                );
                for (k, count) in &q.counts {
                    assert_eq!(*count, want.and_then(|a| a.get(k)).copied().unwrap_or(0), "{who}: {f:?} {k}");
                }
            }
        }
        // Overlaps.
        let overlaps: std::collections::BTreeMap<String, bool> =
            service.overlap_views(&st).await.unwrap().into_iter().map(|o| (o.report_id, o.reviewed)).collect();
        assert_eq!(overlaps, want.overlaps, "{who}: overlaps");
    }
}

/// The offline hand-off on both backends (issue 17): the campaign's key is made once (two
/// candidates: the first kept); a hand-off is recorded once whichever phone brings it (the two at
/// once: one accepted, one duplicate); an accepted open lease is assigned until its end; an
/// expired one is recorded, not assigned, and its knocks count; a refused one holds the knocks
/// made under it for review (gathered by each backend's own push facts).
async fn handoffs_record_once_and_hold_refused_knocks(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::validate::handoff::{decide_grant, new_key, public_key_of, sign_grant, sign_handoff};
    use doorstep_protocol::{Handoff, ItemStatus, Session, Visibility};
    let (ids, doors) = seed(s.as_ref()).await;
    s.create_user(&user("cap", Role::Captain)).await.unwrap();
    s.create_turf("nantes-2026", "t3", "Tournée 3", None, &[]).await.unwrap();
    s.move_buildings("nantes-2026", &ids[25..26], "t3", None).await.unwrap();
    let hour = 3_600_000;
    let session = Session {
        id: "s1".into(),
        campaign_id: "nantes-2026".into(),
        title: "Samedi matin".into(),
        start_ms: NOW - hour,
        end_ms: NOW + 3 * hour,
        meeting_lat: 47.2184,
        meeting_lon: -1.5536,
        meeting_text: "Devant le marché".into(),
        capacity: 10,
        captains: vec!["cap".into()],
        turfs: vec!["t1".into(), "t3".into()],
        team_id: None,
        visibility: Visibility::Campaign,
        cancelled: false,
    };
    s.create_session(&session, "cap", NOW).await.unwrap();
    let campaign_pkcs8 = new_key().unwrap();
    let campaign_pub = public_key_of(&campaign_pkcs8).unwrap();
    let first = s.campaign_key("nantes-2026", ("first", &campaign_pub), NOW).await.unwrap();
    let second = s.campaign_key("nantes-2026", ("second", "other"), NOW).await.unwrap();
    assert_eq!((first.0.as_str(), second), ("first", ("first".to_string(), campaign_pub.clone())));

    let device_key = new_key().unwrap();
    let grant = decide_grant(&session, "cap", "dev-cap", &public_key_of(&device_key).unwrap(), NOW).unwrap();
    let grant = sign_grant(&campaign_pkcs8, grant).unwrap();
    s.record_grant(&grant.grant, NOW).await.unwrap();
    s.record_grant(&grant.grant, NOW).await.unwrap();
    let lease = |n: u32, turf: &str, to: &str, issued: i64, expires: i64| {
        let h = Handoff {
            id: format!("0190a0b0-0000-7000-8000-{n:012}"),
            session_id: "s1".into(),
            captain_id: "cap".into(),
            device_id: "dev-cap".into(),
            volunteer_id: to.into(),
            turf_id: turf.into(),
            street: None,
            issued_ms: issued,
            expires_ms: expires,
        };
        sign_handoff(&device_key, h, grant.clone()).unwrap()
    };
    let status = |r: &doorstep_server::store::ops::handoffs::HandoffsRecorded| -> Vec<String> {
        r.results
            .iter()
            .map(|i| match &i.status {
                ItemStatus::Rejected { code, .. } => code.clone().unwrap(),
                ItemStatus::Held { .. } => "held".into(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let open = lease(1, "t1", "vol-b", NOW - 60_000, NOW + hour);
    let over = lease(2, "t2", "vol-a", NOW - 60_000, NOW + hour);
    let expired = lease(3, "t3", "vol-a", NOW - 90 * 60_000, NOW - 30 * 60_000);
    let cap = ("dev-cap", "cap");
    let three = [open.clone(), over.clone(), expired.clone()];
    let got = s.record_handoffs("nantes-2026", &campaign_pub, cap, &three, NOW).await.unwrap();
    assert_eq!(status(&got), ["Accepted", "held", "Accepted"]);
    assert_eq!(got.turfs_touched, ["t1"], "only the open lease is assigned");
    let again =
        s.record_handoffs("nantes-2026", &campaign_pub, ("dev-vol-b", "vol-b"), std::slice::from_ref(&open), NOW);
    assert_eq!(status(&again.await.unwrap()), ["Duplicate"]);
    // The refused one brought again (its first answer lost): answered refused again, not recorded twice.
    let again = s.record_handoffs("nantes-2026", &campaign_pub, cap, std::slice::from_ref(&over), NOW);
    assert_eq!(status(&again.await.unwrap()), ["held"]);
    let t1 = s.turf("t1").await.unwrap().unwrap();
    assert_eq!((t1.volunteer_id.as_deref(), t1.lease_expires_ms), (Some("vol-b"), Some(NOW + hour)));
    assert_eq!(s.turf("t3").await.unwrap().unwrap().volunteer_id, None);
    assert_eq!(s.standings("vol-b").await.unwrap(), vec![("s1".to_string(), doorstep_protocol::Attendance::CheckedIn)]);

    // Both phones of a pair bring a new hand-off at the same moment: recorded once.
    let both = lease(4, "t1", "vol-b", NOW, NOW + hour);
    let (x, y) = tokio::join!(
        s.record_handoffs("nantes-2026", &campaign_pub, cap, std::slice::from_ref(&both), NOW),
        s.record_handoffs("nantes-2026", &campaign_pub, ("dev-vol-b", "vol-b"), std::slice::from_ref(&both), NOW),
    );
    let mut two = [status(&x.unwrap()).remove(0), status(&y.unwrap()).remove(0)];
    two.sort();
    assert_eq!(two, ["Accepted", "Duplicate"]);

    // Knocks: under the expired accepted lease counted (the turf went back to nobody: flagged);
    // under the refused one held, never lost; a turf never handed nor held refused.
    let door_in = |b: &str| doors.iter().find(|d| d.starts_with(b)).unwrap().clone();
    let a = device("vol-a");
    let got = ingest(
        &*s,
        &a,
        &[report(10, "t3", &door_in(&ids[25]), "vol-a"), report(11, "t2", &door_in(&ids[21]), "vol-a")],
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(got, vec![Ingested::Accepted { overlap: true }, Ingested::Held]);
    let held = s.held_reports("nantes-2026").await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].reason, doorstep_protocol::merge::HELD_LEASE_REFUSED);
    let b = device("vol-b");
    let got = ingest(&*s, &b, &[report(13, "t3", &door_in(&ids[25]), "vol-b")], NOW).await.unwrap();
    assert_eq!(got, vec![Ingested::Rejected("out_of_scope")]);

    // The coordinator takes the captain off the session: the captain's phone, offline, goes on
    // handing out; what it hands out now is refused. An edit the rule book refuses writes nothing.
    let mut edited = s.session("s1").await.unwrap().unwrap();
    edited.captains = vec!["cap2".into()];
    let moved = doorstep_protocol::Session { start_ms: edited.start_ms + 1, ..edited.clone() };
    assert_eq!(
        s.edit_session(&moved).await.unwrap(),
        Err(doorstep_protocol::validate::session::SessionError::TimesFixed)
    );
    assert_eq!(s.session("s1").await.unwrap().unwrap().captains, ["cap"]);
    assert!(s.edit_session(&edited).await.unwrap().is_ok());
    assert_eq!(s.session("s1").await.unwrap(), Some(edited));
    let late = lease(5, "t2", "vol-a", NOW, NOW + hour);
    let got = s.record_handoffs("nantes-2026", &campaign_pub, cap, std::slice::from_ref(&late), NOW).await.unwrap();
    assert_eq!(status(&got), ["held"]);
}

/// Reminders and public sign-ups (issue 17) on both backends: a sign-up plans its rows in the
/// same transaction, a replay plans none, a cancel then a new sign-up re-arms dropped rows; one
/// claim wins; public sign-ups take places, never twice per contact, never past capacity; a
/// retention purge erases them and drops what was not sent.
async fn reminders_and_public_signups(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::validate::reminder::{Channel, RowState};
    use doorstep_protocol::{ItemStatus, Session, SignupEvent, SignupKind, Visibility};
    use doorstep_server::store::ops::sessions::{PublicOutcome, PublicSignup};
    seed(s.as_ref()).await;
    s.create_user(&user("cap", Role::Captain)).await.unwrap();
    s.set_email("vol-a", Some("a@exemple.fr")).await.unwrap();
    let hour = 3_600_000;
    let session = Session {
        id: "s1".into(),
        campaign_id: "nantes-2026".into(),
        title: "Marché".into(),
        start_ms: NOW + 72 * hour,
        end_ms: NOW + 75 * hour,
        meeting_lat: 47.2184,
        meeting_lon: -1.5536,
        meeting_text: "Devant le marché".into(),
        capacity: 3,
        captains: vec!["cap".into()],
        turfs: vec!["t1".into()],
        team_id: None,
        visibility: Visibility::Public,
        cancelled: false,
    };
    s.create_session(&session, "cap", NOW).await.unwrap();
    let event = |id: &str, who: &str, kind: SignupKind| SignupEvent {
        id: id.into(),
        session_id: "s1".into(),
        volunteer_id: who.into(),
        device_id: format!("dev-{who}"),
        kind,
        at_ms: NOW,
        proof: None,
    };
    let a = user("vol-a", Role::Volunteer);
    let up = event("0190a000-0000-7000-8000-000000000001", "vol-a", SignupKind::SignUp);
    let r = s.record_signups(&a, "dev-vol-a", std::slice::from_ref(&up), "", NOW).await.unwrap();
    assert_eq!(r[0].status, ItemStatus::Accepted);
    let rows = s.session_reminders("s1").await.unwrap();
    assert_eq!(rows.len(), 4, "app and e-mail, day before and two hours: {rows:?}");
    s.record_signups(&a, "dev-vol-a", &[up], "", NOW).await.unwrap();
    assert_eq!(s.session_reminders("s1").await.unwrap(), rows, "a replay plans nothing");
    let cancel = event("0190a000-0000-7000-8000-000000000002", "vol-a", SignupKind::Cancel);
    s.record_signups(&a, "dev-vol-a", &[cancel], "", NOW + 1).await.unwrap();
    // The sender drops the cancelled person's rows when they fall due; here by hand, then a new
    // sign-up re-arms them.
    let due = s.due_reminders(Channel::Email, NOW + 48 * hour, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].standing, Some(doorstep_protocol::Attendance::Cancelled));
    assert_eq!((due[0].name.as_str(), due[0].email.as_deref()), ("vol-a", Some("a@exemple.fr")));
    s.finish_reminder(&due[0], RowState::Dropped, due[0].due_ms, Some("not_signed_up"), NOW + 48 * hour).await.unwrap();
    let again = event("0190a000-0000-7000-8000-000000000003", "vol-a", SignupKind::SignUp);
    s.record_signups(&a, "dev-vol-a", &[again], "", NOW + 2).await.unwrap();
    let states: Vec<String> = s.session_reminders("s1").await.unwrap().into_iter().map(|r| r.3).collect();
    assert!(states.iter().all(|st| st == "pending"), "re-armed: {states:?}");
    // One claim wins.
    let due = s.due_reminders(Channel::Email, NOW + 48 * hour, 10).await.unwrap();
    assert!(s.claim_reminder(&due[0], NOW + 48 * hour).await.unwrap());
    assert!(!s.claim_reminder(&due[0], NOW + 48 * hour).await.unwrap());
    assert!(s.due_reminders(Channel::Email, NOW + 48 * hour + 60_000, 10).await.unwrap().is_empty(), "claimed");
    let reclaimed = s.due_reminders(Channel::Email, NOW + 48 * hour + 11 * 60_000, 10).await.unwrap();
    assert_eq!(reclaimed.len(), 1, "a claim older than the timeout is taken back");
    // Public sign-ups: places counted with volunteers' (1 taken of 3).
    let public = |id: &str, email: Option<&str>, phone: Option<&str>| PublicSignup {
        id: id.into(),
        session_id: "s1".into(),
        name: "Zoé".into(),
        email: email.map(str::to_string),
        phone: phone.map(str::to_string),
        consent_text: "J'accepte".into(),
    };
    let rec = |p: PublicSignup| {
        let s = s.clone();
        async move { s.record_public_signup(&p, NOW).await.unwrap() }
    };
    assert_eq!(rec(public("p1", Some("z@exemple.fr"), None)).await, PublicOutcome::Recorded);
    assert_eq!(rec(public("p2", Some("z@exemple.fr"), Some("+33612345678"))).await, PublicOutcome::AlreadyThere);
    assert_eq!(rec(public("p3", None, Some("+33612345678"))).await, PublicOutcome::Recorded);
    assert_eq!(rec(public("p4", None, Some("+33600000000"))).await, PublicOutcome::Full);
    assert_eq!(rec(public("p5", Some("x@exemple.fr"), None)).await, PublicOutcome::Full);
    let b = user("vol-b", Role::Volunteer);
    let late = event("0190a000-0000-7000-8000-000000000004", "vol-b", SignupKind::SignUp);
    let r = s.record_signups(&b, "dev-vol-b", &[late], "", NOW).await.unwrap();
    assert!(matches!(r[0].status, ItemStatus::Rejected { .. }), "the public took the last places: {:?}", r[0].status);
    let counts = s.campaign_sessions("nantes-2026", NOW).await.unwrap();
    assert_eq!((counts[0].signed_up, counts[0].public), (1, 2));
    let mut other = session.clone();
    other.id = "s2".into();
    other.visibility = Visibility::Campaign;
    s.create_session(&other, "cap", NOW).await.unwrap();
    let mut closed = public("p6", Some("y@exemple.fr"), None);
    closed.session_id = "s2".into();
    assert_eq!(rec(closed).await, PublicOutcome::Closed, "a session not open to the public");
    let n = s.purge_personal_data("nantes-2026", NOW).await.unwrap();
    assert_eq!(n.public_signups_deleted, 2);
    assert!(s.due_reminders(Channel::Email, NOW + 100 * hour, 10).await.unwrap().is_empty());
    let after: Vec<String> = s.session_reminders("s1").await.unwrap().into_iter().map(|r| r.3).collect();
    assert!(after.iter().all(|st| st == "dropped"), "{after:?}");
}

/// Team messages (issue 18) on both backends: posts placed 1, 2, 3… per channel, a replay a
/// duplicate (placed once), the same id with another body refused; who reads which channel (a
/// team's volunteer, the captain who leads it, not another team's volunteer; a direct channel
/// between a volunteer and their captain, not with another team's volunteer); the read marker only
/// rises; a captain pins; the feed pages; two phones posting to one channel at once get two places;
/// past retention nothing comes back.
async fn messages_order_replays_and_reach(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::{ChannelRef, ItemStatus, MessageAction, MessageEvent};
    use doorstep_server::store::Team;
    seed(s.as_ref()).await;
    s.create_user(&user("cap", Role::Captain)).await.unwrap();
    for (team, name) in [("nord", "Équipe nord"), ("sud", "Équipe sud")] {
        s.create_team(&Team {
            id: team.into(),
            campaign_id: "nantes-2026".into(),
            name: name.into(),
            captains: vec![],
        })
        .await
        .unwrap();
    }
    s.add_member("nantes-2026", "nord", "cap").await.unwrap();
    s.add_member("nantes-2026", "nord", "vol-a").await.unwrap();
    s.add_member("nantes-2026", "sud", "vol-b").await.unwrap();
    let (a, b, cap) = (
        s.user("vol-a").await.unwrap().unwrap(),
        s.user("vol-b").await.unwrap().unwrap(),
        s.user("cap").await.unwrap().unwrap(),
    );
    let ev = |n: u32, by: &str, channel: &str, action: MessageAction| MessageEvent {
        id: format!("0190a0b0-0000-7000-8000-{n:012}"),
        channel_id: channel.into(),
        author_id: by.into(),
        device_id: format!("dev-{by}"),
        at_ms: NOW,
        action,
    };
    let say = |text: &str| MessageAction::Post { body: text.into(), reference: None };
    let status = |r: &doorstep_server::store::ops::messages::MessagesRecorded| -> Vec<String> {
        r.results
            .iter()
            .map(|i| match &i.status {
                ItemStatus::Rejected { code, .. } => code.clone().unwrap(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let push = |me: &User, events: Vec<MessageEvent>| {
        let (s, me) = (s.clone(), me.clone());
        async move { s.record_messages(&me, &format!("dev-{}", me.id), &events, false, false, NOW).await.unwrap() }
    };
    let first = ev(1, "vol-a", "team:nord", say("On se retrouve où ?"));
    let r = push(&a, vec![first.clone(), ev(2, "vol-a", "team:nord", say("Devant le marché ?"))]).await;
    assert_eq!(status(&r), ["Accepted", "Accepted"]);
    assert_eq!(r.posted, [("team:nord".to_string(), 1), ("team:nord".to_string(), 2)]);
    let r = push(&a, vec![first.clone()]).await;
    assert_eq!((status(&r), r.posted.len()), (vec!["Duplicate".to_string()], 0), "a replay is placed once");
    let other = MessageEvent { action: say("autre chose"), ..first.clone() };
    assert_eq!(status(&push(&a, vec![other]).await), ["id_conflict"]);
    // Another team's volunteer: the channel is unknown to them; the captain who leads it writes.
    assert_eq!(status(&push(&b, vec![ev(3, "vol-b", "team:nord", say("coucou"))]).await), ["unknown_channel"]);
    assert_eq!(status(&push(&cap, vec![ev(4, "cap", "team:nord", say("Rendez-vous 10 h"))]).await), ["Accepted"]);
    // Direct: a volunteer and their captain; not a volunteer of another team.
    let dm = ChannelRef::direct("vol-a", "cap").id();
    assert_eq!(status(&push(&a, vec![ev(5, "vol-a", &dm, say("Je serai en retard"))]).await), ["Accepted"]);
    let dm_b = ChannelRef::direct("vol-b", "cap").id();
    assert_eq!(status(&push(&b, vec![ev(6, "vol-b", &dm_b, say("bonjour"))]).await), ["unknown_channel"]);
    // Pins: the captain, a message of this channel; not a volunteer.
    let captains_id = "0190a0b0-0000-7000-8000-000000000004".to_string();
    let pin = |n, by: &str| ev(n, by, "team:nord", MessageAction::Pin { message_id: captains_id.clone() });
    assert_eq!(status(&push(&a, vec![pin(7, "vol-a")]).await), ["not_allowed"]);
    assert_eq!(status(&push(&cap, vec![pin(8, "cap")]).await), ["Accepted"]);
    // The read marker only rises, never past the last message.
    let read_a = |n, up_to| ev(n, "vol-a", "team:nord", MessageAction::Read { up_to });
    assert_eq!(status(&push(&a, vec![read_a(9, 99), read_a(10, 1)]).await), ["Accepted", "Accepted"]);
    let since = std::collections::BTreeMap::new();
    let (views, msgs, more) = s.message_feed(&a, &since, false, NOW, 86_400_000).await.unwrap();
    let nord = views.iter().find(|v| v.id == "team:nord").unwrap();
    assert_eq!((nord.last_seq, nord.read_seq, nord.can_post, nord.can_pin), (3, 3, true, false));
    assert_eq!(nord.pinned.as_ref().map(|m| m.body.as_str()), Some("Rendez-vous 10 h"));
    assert_eq!(nord.title, "Équipe nord");
    assert!(!more);
    let ids: Vec<&str> = views.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["team:nord", "announce", dm.as_str()], "vol-a reads their team, the announcements, their captain");
    let order: Vec<(String, u64)> =
        msgs.iter().filter(|m| m.channel_id == "team:nord").map(|m| (m.author_name.clone(), m.seq)).collect();
    assert_eq!(order, [("vol-a".to_string(), 1), ("vol-a".to_string(), 2), ("cap".to_string(), 3)]);
    // "Lu par": the captain's message was read by vol-a.
    let (views, _, _) = s.message_feed(&cap, &since, false, NOW, 86_400_000).await.unwrap();
    let nord = views.iter().find(|v| v.id == "team:nord").unwrap();
    assert_eq!((nord.can_pin, nord.read_by.clone()), (true, vec![doorstep_protocol::ReadCount { seq: 3, readers: 1 }]));
    assert!(views.iter().any(|v| v.id == dm), "the captain sees the direct channel vol-a opened");
    let (views_b, msgs_b, _) = s.message_feed(&b, &since, false, NOW, 86_400_000).await.unwrap();
    assert!(!views_b.iter().any(|v| v.id == "team:nord" || v.id == dm), "nothing of the north for vol-b");
    assert!(msgs_b.iter().all(|m| m.channel_id != "team:nord"));
    // Since what a phone holds: only what is newer.
    let since_2: std::collections::BTreeMap<String, u64> = [("team:nord".to_string(), 2)].into();
    let (_, newer, _) = s.message_feed(&a, &since_2, false, NOW, 86_400_000).await.unwrap();
    assert_eq!(newer.iter().filter(|m| m.channel_id == "team:nord").map(|m| m.seq).collect::<Vec<_>>(), [3]);
    // Two phones post to one channel at once: two places, no gap, none shared.
    for round in 0..4u32 {
        let (x, y) = tokio::join!(
            push(&a, vec![ev(100 + 2 * round, "vol-a", "team:nord", say("a"))]),
            push(&cap, vec![ev(101 + 2 * round, "cap", "team:nord", say("c"))])
        );
        assert_eq!((status(&x), status(&y)), (vec!["Accepted".to_string()], vec!["Accepted".to_string()]));
    }
    let (_, all, _) = s.message_feed(&a, &since, false, NOW, 86_400_000).await.unwrap();
    let seqs: Vec<u64> = all.iter().filter(|m| m.channel_id == "team:nord").map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=11).collect::<Vec<u64>>());
    // Past retention: nothing comes back, nothing new is written; the purge erases the messages.
    let (_, none, _) = s.message_feed(&a, &since, true, NOW, 86_400_000).await.unwrap();
    assert!(none.is_empty());
    let late_event = [ev(200, "vol-a", "team:nord", say("encore"))];
    let late = s.record_messages(&a, "dev-vol-a", &late_event, false, true, NOW).await.unwrap();
    assert_eq!(status(&late), ["retention_over"]);
    let n = s.purge_personal_data("nantes-2026", NOW).await.unwrap();
    assert_eq!(n.messages_deleted, 12);
    let (views, gone, _) = s.message_feed(&a, &since, false, NOW, 86_400_000).await.unwrap();
    assert!(gone.is_empty() && views.iter().all(|v| v.pinned.is_none()));
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

/// The rules of the merge (issue 15), on both backends: a revoked device's reports are held (not
/// counted, not in door facts) until reviewed; the same id with another body is a conflict;
/// corrections only of one's own report on the same target; a wrong clock is replaced by the
/// receipt time; past retention nothing personal is stored; every push leaves an audit line.
async fn merge_rules_hold_on_both_backends(s: Arc<dyn ServerStore>) {
    use doorstep_tests::push_input;
    let (ids, doors) = seed(s.as_ref()).await;
    let door = doors.iter().find(|d| d.starts_with(&ids[0])).unwrap().clone();
    let other_door = doors.iter().find(|d| d.starts_with(&ids[1])).unwrap().clone();
    let (a, b) = (device("vol-a"), device("vol-b"));
    let k1 = report(1, "t1", &door, "vol-a");
    assert_eq!(
        ingest(&*s, &a, std::slice::from_ref(&k1), NOW).await.unwrap(),
        vec![Ingested::Accepted { overlap: false }]
    );
    // The same id, another body.
    let mut conflict = k1.clone();
    conflict.result_code = "refused".into();
    assert_eq!(ingest(&*s, &a, &[conflict], NOW).await.unwrap(), vec![Ingested::Rejected("id_conflict")]);
    // Corrections: of another volunteer's report, of another target, of one's own.
    s.assign_turf("t1", Some("vol-b"), None).await.unwrap();
    let mut theirs = report(2, "t1", &door, "vol-b");
    theirs.supersedes = Some(k1.id.clone());
    let mut elsewhere = report(3, "t1", &other_door, "vol-a");
    elsewhere.supersedes = Some(k1.id.clone());
    let mut mine = report(4, "t1", &door, "vol-a");
    mine.supersedes = Some(k1.id.clone());
    assert_eq!(ingest(&*s, &b, &[theirs], NOW).await.unwrap(), vec![Ingested::Rejected("supersedes_other")]);
    assert_eq!(
        ingest(&*s, &a, &[elsewhere, mine], NOW).await.unwrap(),
        vec![Ingested::Rejected("correction_target_mismatch"), Ingested::Accepted { overlap: true }]
    );
    s.assign_turf("t1", Some("vol-a"), None).await.unwrap();
    // A revoked device: held, and a replay of a held report is a duplicate.
    let revoked = doorstep_server::store::Device { revoked_ms: Some(NOW - 1), ..device("vol-a") };
    let late = report(5, "t1", &other_door, "vol-a");
    for want in [Ingested::Held, Ingested::Duplicate] {
        assert_eq!(ingest(&*s, &revoked, std::slice::from_ref(&late), NOW).await.unwrap(), vec![want]);
    }
    let (facts, _) = s.turf_facts("t1").await.unwrap();
    assert!(!facts.iter().any(|f| f.id == late.id), "held reports are not counted");
    assert!(s.reports("nantes-2026").await.unwrap().iter().all(|r| r.report.id != late.id));
    let held = s.held_reports("nantes-2026").await.unwrap();
    assert_eq!((held.len(), held[0].report.id.as_str(), held[0].review.as_deref()), (1, late.id.as_str(), None));
    let done = s.review_held("nantes-2026", &late.id, true, "vol-b", NOW).await.unwrap().unwrap();
    assert_eq!(done.review.as_deref(), Some("accepted"));
    assert!(s.review_held("nantes-2026", &late.id, false, "vol-b", NOW).await.unwrap().is_none(), "once");
    assert!(s.turf_facts("t1").await.unwrap().0.iter().any(|f| f.id == late.id), "counted once accepted");
    // A clock a year ahead: the receipt time counts.
    let mut ahead = report(6, "t1", &door, "vol-a");
    ahead.hlc.millis = NOW + 365 * 86_400_000;
    ingest(&*s, &a, &[ahead.clone()], NOW).await.unwrap();
    let f = s.turf_facts("t1").await.unwrap().0.into_iter().find(|f| f.id == ahead.id).unwrap();
    assert_eq!(f.at_ms, NOW);
    // Past retention: the note is not stored, the result is.
    let mut personal = report(7, "t1", &door, "vol-a");
    personal.note = Some("vote X".into());
    let mut input = push_input(&*s, &a, std::slice::from_ref(&personal), NOW).await.unwrap();
    input.retention_until_ms = Some(NOW - 1);
    let d = s.push(input, std::slice::from_ref(&personal)).await.unwrap();
    assert!(matches!(&d[0], doorstep_protocol::merge::Decision::Accept(w) if w.personal_dropped));
    let stored = s.reports("nantes-2026").await.unwrap().into_iter().find(|r| r.report.id == personal.id).unwrap();
    assert_eq!((stored.report.note, stored.report.result_code.as_str()), (None, "not_home"));
    // A NUL byte in a note (once a 500 on PostgreSQL): refused by the rule book on both backends.
    let mut nul = report(8, "t1", &door, "vol-a");
    nul.note = Some("a\u{0}b".into());
    assert_eq!(ingest(&*s, &a, &[nul], NOW).await.unwrap(), vec![Ingested::Rejected("bad_text")]);
    // Every push is in the audit log.
    let log = s.audit_log("nantes-2026", i64::MAX, 100).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "sync.push").count(), 9);
}

/// Issue 18, on both backends: a page's settings and a coopain link through people events (a
/// replay a duplicate, an accept with no ask refused, a link only after both yeses), a page as a
/// teammate and as another team see it, the figures counted from the reports, the export holding
/// every section, and a deletion that keeps the reports and the audit line and nothing personal.
async fn pages_coopains_export_and_erasure(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::{
        Audience, CoopainState, CoopainStep, FieldVisibility, ItemStatus, PeopleAction, PeopleEvent, ProfileSettings,
    };
    let (ids, doors) = seed(s.as_ref()).await;
    let in_t1 = |i: usize| doors.iter().find(|d| d.starts_with(&ids[i])).unwrap().clone();
    let (d0, d1) = (in_t1(0), in_t1(1));
    s.create_user(&user("vol-c", Role::Volunteer)).await.unwrap();
    for team in ["nord", "sud"] {
        s.create_team(&doorstep_server::store::Team {
            id: team.into(),
            campaign_id: "nantes-2026".into(),
            name: team.into(),
            captains: vec![],
        })
        .await
        .unwrap();
    }
    s.add_member("nantes-2026", "nord", "vol-a").await.unwrap();
    s.add_member("nantes-2026", "nord", "vol-c").await.unwrap();
    s.add_member("nantes-2026", "sud", "vol-b").await.unwrap();
    let u = |id: &str| {
        let s = s.clone();
        let id = id.to_string();
        async move { s.user(&id).await.unwrap().unwrap() }
    };
    let (a, b, c) = (u("vol-a").await, u("vol-b").await, u("vol-c").await);
    let ev = |n: u32, by: &str, action: PeopleAction| PeopleEvent {
        id: format!("0190a0b0-0000-7000-9000-{n:012}"),
        author_id: by.into(),
        device_id: format!("dev-{by}"),
        at_ms: NOW,
        action,
    };
    let codes = |r: Vec<doorstep_protocol::PushItemResult>| -> Vec<String> {
        r.iter()
            .map(|i| match &i.status {
                ItemStatus::Rejected { code, .. } => code.clone().unwrap(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let settings = ProfileSettings {
        pseudonym: Some("A.".into()),
        bio: Some("Le samedi".into()),
        visibility: FieldVisibility { name: Audience::Team, ..FieldVisibility::default() },
    };
    let profile = ev(1, "vol-a", PeopleAction::Profile { settings: settings.clone() });
    let ask = ev(2, "vol-a", PeopleAction::Coopain { user_id: "vol-c".into(), step: CoopainStep::Ask });
    let got = s.record_people(&a, "dev-vol-a", &[profile.clone(), ask.clone(), profile.clone()], false, NOW).await;
    assert_eq!(codes(got.unwrap()), ["Accepted", "Accepted", "Duplicate"]);
    let wrong = ev(3, "vol-b", PeopleAction::Coopain { user_id: "vol-a".into(), step: CoopainStep::Accept });
    assert_eq!(codes(s.record_people(&b, "dev-vol-b", &[wrong], false, NOW).await.unwrap()), ["no_ask"]);
    let stranger = ev(4, "vol-b", PeopleAction::Coopain { user_id: "nobody".into(), step: CoopainStep::Ask });
    assert_eq!(codes(s.record_people(&b, "dev-vol-b", &[stranger], false, NOW).await.unwrap()), ["unknown_person"]);
    let (me_a, coop_a, _) = s.people_view(&a, NOW).await.unwrap();
    assert_eq!(me_a.settings.as_ref(), Some(&settings));
    assert_eq!(coop_a[0].coopain, Some(CoopainState::AskedByMe));
    let accept = ev(5, "vol-c", PeopleAction::Coopain { user_id: "vol-a".into(), step: CoopainStep::Accept });
    assert_eq!(codes(s.record_people(&c, "dev-vol-c", &[accept], false, NOW).await.unwrap()), ["Accepted"]);
    // vol-a knocks two doors of t1 (the first twice).
    for (n, door) in [(1u32, &d0), (2, &d1), (3, &d0)] {
        let got = ingest(&*s, &device("vol-a"), &[report(n, "t1", door, "vol-a")], NOW).await.unwrap();
        assert_eq!(got, vec![Ingested::Accepted { overlap: false }]);
    }
    // A teammate and coopain sees the name, the figures and the activity; another team the pseudonym only.
    let seen_by_c = s.person_page(&c, "vol-a", NOW + 1).await.unwrap().unwrap();
    assert_eq!(
        (seen_by_c.shown_name.as_str(), seen_by_c.doors, seen_by_c.coopain),
        ("vol-a", Some(2), Some(CoopainState::Linked))
    );
    assert_eq!(seen_by_c.activity.as_ref().map(Vec::len), Some(1), "{seen_by_c:?}");
    let seen_by_b = s.person_page(&b, "vol-a", NOW + 1).await.unwrap().unwrap();
    assert_eq!((seen_by_b.shown_name.as_str(), seen_by_b.doors, seen_by_b.activity.as_ref()), ("A.", None, None));
    // A photo, shown to the campaign.
    s.set_photo("vol-a", Some("/9j/2Q==".into()), NOW).await.unwrap();
    assert_eq!(s.person_photo(&b, "vol-a", NOW).await.unwrap().as_deref(), Some("/9j/2Q=="));
    // vol-b (another team) and vol-a become coopains: their direct channel and vol-a's message in
    // it carry the pseudonym, the name vol-a keeps for their team.
    let ask_b = ev(6, "vol-b", PeopleAction::Coopain { user_id: "vol-a".into(), step: CoopainStep::Ask });
    let ok_a = ev(7, "vol-a", PeopleAction::Coopain { user_id: "vol-b".into(), step: CoopainStep::Accept });
    assert_eq!(codes(s.record_people(&b, "dev-vol-b", &[ask_b], false, NOW).await.unwrap()), ["Accepted"]);
    assert_eq!(codes(s.record_people(&a, "dev-vol-a", &[ok_a], false, NOW).await.unwrap()), ["Accepted"]);
    let dm = doorstep_protocol::ChannelRef::direct("vol-a", "vol-b").id();
    let post = doorstep_protocol::MessageEvent {
        id: "0190a0b0-0000-7000-9000-000000000099".into(),
        channel_id: dm.clone(),
        author_id: "vol-a".into(),
        device_id: "dev-vol-a".into(),
        at_ms: NOW,
        action: doorstep_protocol::MessageAction::Post { body: "Coucou".into(), reference: None },
    };
    let placed = s.record_messages(&a, "dev-vol-a", &[post], false, false, NOW).await.unwrap();
    assert_eq!(placed.posted.len(), 1, "coopains may write to each other");
    let (channels, messages, _) = s.message_feed(&b, &Default::default(), false, NOW, 14 * 86_400_000).await.unwrap();
    let dm_view = channels.iter().find(|c| c.id == dm).expect("the coopains' channel");
    assert_eq!(dm_view.title, "A.");
    assert_eq!(messages.iter().find(|m| m.channel_id == dm).unwrap().author_name, "A.");
    let (_, messages_c, _) = s.message_feed(&c, &Default::default(), false, NOW, 14 * 86_400_000).await.unwrap();
    assert!(messages_c.iter().all(|m| m.channel_id != dm), "nobody else reads it");
    // The export holds every section.
    let data = s.personal_data(&a).await.unwrap();
    for section in [
        "account",
        "page",
        "teams",
        "sessions",
        "reports",
        "messages",
        "read_markers",
        "coopains",
        "devices",
        "handoffs",
        "audit",
    ] {
        assert!(data.get(section).is_some(), "{section} in {data}");
    }
    assert_eq!(data["reports"].as_array().unwrap().len(), 3);
    assert_eq!(data["teams"][0]["name"], "nord");
    assert_eq!(data["page"]["photo_jpeg_base64"], "/9j/2Q==");
    // The deletion: turf returned, link and page gone, reports kept, one audit line.
    let n = s.erase_person(&a, NOW + 2, "audit-erase-1").await.unwrap();
    assert_eq!((n.turfs_returned, n.coopains_removed, n.messages_emptied), (1, 2, 1));
    assert!(s.person_page(&c, "vol-a", NOW + 3).await.unwrap().is_none());
    assert!(s.people_view(&c, NOW + 3).await.unwrap().1.is_empty(), "the link went with the account");
    let (_, after, _) = s.message_feed(&b, &Default::default(), false, NOW, 14 * 86_400_000).await.unwrap();
    assert!(after.iter().all(|m| m.channel_id != dm), "a gone account's conversation is nobody's channel any more");
    assert!(s.person_photo(&b, "vol-a", NOW + 3).await.unwrap().is_none());
    assert_eq!(s.turf("t1").await.unwrap().unwrap().volunteer_id, None);
    let left = s.personal_data(&s.user("vol-a").await.unwrap().unwrap()).await.unwrap();
    assert_eq!(left["account"]["name"], "Compte supprimé");
    assert!(left["page"]["photo_jpeg_base64"].is_null() && left["coopains"].as_array().unwrap().is_empty());
    assert_eq!(left["reports"].as_array().unwrap().len(), 3, "the campaign's results stay");
    let log = s.audit_log("nantes-2026", i64::MAX, 100).await.unwrap();
    let line = log.iter().find(|e| e.action == "account.delete").unwrap();
    assert_eq!((line.actor.as_str(), line.subject.as_deref()), ("vol-a", Some("vol-a")));
    assert!(!users_listed(&*s).await.contains(&"vol-a".to_string()));
}

async fn users_listed(s: &dyn ServerStore) -> Vec<String> {
    s.users("nantes-2026").await.unwrap().into_iter().map(|u| u.id).collect()
}

/// Issue 19, on both backends: SMS settings; an audience with each number's consents and
/// opt-out; texts queued once under their idempotency key (a retry queues nothing); a reply that is
/// only STOP opts the number out in the same transaction (a provider's retry of it changes
/// nothing), a text the gate let through before the STOP is not queued after it, and a consent
/// recorded later does not lift the opt-out.
async fn sms_consents_optouts_outbox_and_stop(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::validate::sms::{Day, SmsPurpose};
    use doorstep_server::store::SmsStore;
    use doorstep_server::store::ops::sms::SmsSettings;
    seed(s.as_ref()).await;
    s.create_team(&doorstep_server::store::Team {
        id: "nord".into(),
        campaign_id: "nantes-2026".into(),
        name: "Nord".into(),
        captains: vec![],
    })
    .await
    .unwrap();
    s.add_member("nantes-2026", "nord", "vol-a").await.unwrap();
    s.add_member("nantes-2026", "nord", "vol-b").await.unwrap();
    let settings = SmsSettings {
        sender_name: "Équipe Nord".into(),
        election_days: vec![Day { year: 2027, month: 4, day: 11 }],
        max_segments: 2,
        follow_up_body: None,
    };
    assert_eq!(s.sms_settings("nantes-2026").await.unwrap(), None);
    s.set_sms_settings("nantes-2026", &settings, NOW).await.unwrap();
    assert_eq!(s.sms_settings("nantes-2026").await.unwrap(), Some(settings));
    let (na, nb) = ("+33612345678".to_string(), "+33698765432".to_string());
    s.set_phone("vol-a", Some(na.clone())).await.unwrap();
    s.set_phone("vol-b", Some(nb.clone())).await.unwrap();
    s.record_consents("nantes-2026", &[(na.clone(), SmsPurpose::TeamNews, "J'accepte.".into())], "import", NOW)
        .await
        .unwrap();
    let facts = |s: Arc<dyn ServerStore>| async move {
        s.sms_audience("nantes-2026", Some("nord".into()), None)
            .await
            .unwrap()
            .into_iter()
            .map(|(r, consents, out)| (r.user_id.unwrap(), r.number.unwrap(), consents, out))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        facts(s.clone()).await,
        vec![
            ("vol-a".to_string(), na.clone(), vec![SmsPurpose::TeamNews], false),
            ("vol-b".to_string(), nb.clone(), vec![], false)
        ]
    );
    let allowed = vec![("k1-a".to_string(), na.clone(), 1u32, "gsm7")];
    let refused = vec![("k1-b".to_string(), nb.clone(), vec!["no_consent"])];
    let q = |allowed: Vec<_>, refused: Vec<_>| {
        let s = s.clone();
        async move {
            s.sms_queue("nantes-2026", SmsPurpose::TeamNews, "Équipe Nord : 10 h. STOP", "cap", &allowed, &refused, NOW)
                .await
                .unwrap()
        }
    };
    assert_eq!(q(allowed.clone(), refused.clone()).await, (1, 0));
    assert_eq!(q(allowed.clone(), refused.clone()).await, (0, 0), "a retry queues nothing twice");
    assert_eq!(s.sms_outbox("nantes-2026").await.unwrap().len(), 1);
    // STOP from vol-a's number; the provider sends it twice.
    assert_eq!(
        s.sms_record_inbound("in-1", "nantes-2026", &na, "Stop", true, "smpp", NOW).await.unwrap(),
        (true, true)
    );
    assert_eq!(
        s.sms_record_inbound("in-1", "nantes-2026", &na, "Stop", true, "smpp", NOW).await.unwrap(),
        (false, false)
    );
    assert_eq!(
        s.sms_record_inbound("in-2", "nantes-2026", &nb, "Je serai là", false, "smpp", NOW).await.unwrap(),
        (true, false)
    );
    // A text the gate let through before the STOP is not queued after it.
    assert_eq!(q(vec![("k2-a".to_string(), na.clone(), 1, "gsm7")], vec![]).await, (0, 1));
    // A consent recorded later does not lift the opt-out.
    s.record_consents(
        "nantes-2026",
        &[(na.clone(), SmsPurpose::TeamNews, "J'accepte encore.".into())],
        "import",
        NOW + 1,
    )
    .await
    .unwrap();
    assert!(facts(s.clone()).await[0].3, "still opted out");
    let optouts = s.sms_optouts("nantes-2026").await.unwrap();
    assert_eq!(
        optouts.iter().map(|(n, src, _)| (n.as_str(), src.as_str())).collect::<Vec<_>>(),
        [(na.as_str(), "stop")]
    );
    let inbox = s.sms_inbox("nantes-2026", 10).await.unwrap();
    let states: Vec<(&str, &str)> = inbox.iter().map(|r| (r.id.as_str(), r.state.as_str())).collect();
    assert_eq!(states.len(), 2);
    assert!(states.contains(&("in-1", "opted_out")) && states.contains(&("in-2", "unread")), "{states:?}");
}

/// Issue 19's providers on both backends: a campaign's provider row (the sealed secret as given),
/// claims per campaign, a receipt that overtakes its send waits for it, a receipt settles a text
/// once, inbox states (a STOP stays handled by itself), what the providers may bill.
async fn sms_providers_receipts_and_expenses(s: Arc<dyn ServerStore>) {
    use doorstep_protocol::validate::sms::SmsPurpose;
    use doorstep_server::store::SmsStore;
    use doorstep_server::store::ops::sms_providers::ProviderRow;
    seed(s.as_ref()).await;
    assert_eq!(s.sms_provider("nantes-2026").await.unwrap(), None);
    let row = ProviderRow {
        kind: "smpp".into(),
        endpoint: "127.0.0.1:2775".into(),
        account: "nord".into(),
        sender: "EqNord".into(),
        sealed_secret: "c2NlbGzDqQ==".into(),
        price_millicents: 4_500,
        confirms_stop: false,
    };
    s.set_sms_provider("nantes-2026", &row, NOW).await.unwrap();
    assert_eq!(s.sms_provider("nantes-2026").await.unwrap(), Some(row.clone()));
    assert_eq!(s.sms_provider_campaigns().await.unwrap(), ["nantes-2026"]);
    let allowed = vec![
        ("t-1".to_string(), "+33611111111".to_string(), 2u32, "gsm7"),
        ("t-2".to_string(), "+33622222222".to_string(), 1u32, "gsm7"),
    ];
    s.sms_queue("nantes-2026", SmsPurpose::TeamNews, "Équipe Nord : 10 h. STOP", "cap", &allowed, &[], NOW)
        .await
        .unwrap();
    let (_, claimed) = s.sms_claim("other-campaign", NOW - 1, 10, NOW).await.unwrap();
    assert!(claimed.is_empty(), "claims are per campaign");
    let (_, claimed) = s.sms_claim("nantes-2026", NOW - 1, 10, NOW).await.unwrap();
    assert_eq!(claimed.len(), 2);
    // t-1's receipt overtakes its send's record: it waits, then applies.
    assert_eq!(s.sms_receipt("nantes-2026", "smpp", "smsc-1", true, None, NOW).await.unwrap(), 0);
    s.sms_finish("t-1", "sent", Some("smpp"), Some("smsc-1".into()), None, Some(4_500), NOW).await.unwrap();
    s.sms_finish("t-2", "unknown", Some("smpp"), None, Some("lost".into()), Some(4_500), NOW).await.unwrap();
    let states: Vec<(String, String)> =
        s.sms_outbox("nantes-2026").await.unwrap().into_iter().map(|r| (r.0, r.3)).collect();
    assert_eq!(states, [("t-1".to_string(), "delivered".to_string()), ("t-2".into(), "unknown".into())]);
    assert_eq!(s.sms_receipt("nantes-2026", "smpp", "smsc-1", false, None, NOW).await.unwrap(), 0, "settled once");
    assert!(s.sms_awaiting_receipts("nantes-2026", "smpp", NOW - 1).await.unwrap().is_empty());
    // Billed: both (the unknown perhaps), per segment.
    let billed = s.sms_billed("nantes-2026").await.unwrap();
    assert_eq!(billed.iter().map(|b| (b.2, b.3)).collect::<Vec<_>>(), [(2, Some(9_000)), (1, Some(4_500))]);
    // The inbox.
    s.sms_record_inbound("in-1", "nantes-2026", "+33611111111", "STOP", true, "smpp", NOW).await.unwrap();
    s.sms_record_inbound("in-2", "nantes-2026", "+33622222222", "Merci", false, "smpp", NOW).await.unwrap();
    assert!(s.sms_set_inbound_state("nantes-2026", "in-2", "needs_reply", "coord").await.unwrap());
    assert!(!s.sms_set_inbound_state("nantes-2026", "in-1", "unread", "coord").await.unwrap(), "a STOP stays");
    assert!(!s.sms_set_inbound_state("lyon", "in-2", "handled", "coord").await.unwrap(), "another campaign's");
    let inbox = s.sms_inbox("nantes-2026", 10).await.unwrap();
    assert!(inbox.iter().any(|r| r.id == "in-2" && r.state == "needs_reply"), "{inbox:?}");
}

/// Writes deferred by [`Tx::defer`] (sent with the next statement on PostgreSQL, pipelined): a
/// read after them in the transaction sees them, in order; one that fails fails the transaction
/// whole, even when it is only sent at the commit; a transaction that ends with deferred writes
/// commits them.
async fn deferred_writes_are_read_back_and_fail_their_transaction(s: Arc<dyn ServerStore>) {
    use doorstep_server::store::sql::INSERT_AUDIT;
    use doorstep_server::store::tx::Val;
    fn line(id: &str) -> Vec<Val> {
        [id, "1", "c", "tester", "d", "test", "s", "{}"]
            .iter()
            .enumerate()
            .map(|(i, v)| if i == 1 { Val::Int(1) } else { Val::from(*v) })
            .collect()
    }
    const COUNT: &str = "SELECT COUNT(*) FROM audit_log WHERE actor = 'tester'";
    let seen = doorstep_server::store::typed(&*s, |tx| {
        Box::pin(async move {
            tx.defer(INSERT_AUDIT, line("a1")).await?;
            tx.defer(INSERT_AUDIT, line("a2")).await?;
            let after_two = tx.row(COUNT, &[]).await?.unwrap()[0].int()?;
            tx.defer(INSERT_AUDIT, line("a3")).await?;
            let changed = tx.exec("UPDATE campaigns SET name = name WHERE id = 'none'", &[]).await?;
            let after_three = tx.row(COUNT, &[]).await?.unwrap()[0].int()?;
            tx.defer(INSERT_AUDIT, line("a4")).await?; // sent at the commit
            Ok((after_two, changed, after_three))
        })
    })
    .await
    .unwrap();
    assert_eq!(seen, (2, 0, 3));
    // A deferred write that fails (a duplicate id) fails its transaction, even as the last
    // statement: nothing of it is kept.
    let failed = doorstep_server::store::typed(&*s, |tx| {
        Box::pin(async move {
            tx.defer(INSERT_AUDIT, line("b1")).await?;
            tx.defer(INSERT_AUDIT, line("a1")).await?;
            Ok(())
        })
    })
    .await;
    assert!(failed.is_err(), "a duplicate audit id was accepted");
    let failed_early = doorstep_server::store::typed(&*s, |tx| {
        Box::pin(async move {
            tx.defer(INSERT_AUDIT, line("b2")).await?;
            tx.defer(INSERT_AUDIT, line("a2")).await?;
            tx.defer(INSERT_AUDIT, line("b3")).await?;
            tx.rows(COUNT, &[]).await
        })
    })
    .await;
    assert!(failed_early.is_err(), "a read after a failed deferred write answered");
    let kept = doorstep_server::store::typed_read(&*s, |tx| {
        Box::pin(async move {
            let rows = tx.rows("SELECT id FROM audit_log WHERE actor = 'tester' ORDER BY id", &[]).await?;
            rows.iter().map(|r| r[0].text()).collect::<Result<Vec<_>, _>>()
        })
    })
    .await
    .unwrap();
    assert_eq!(kept, ["a1", "a2", "a3", "a4"]);
}

/// A phone's people view of a whole team (read together, one set of statements for everyone):
/// each teammate with their own figures, a captain seen by the team they lead and seeing it, and
/// nothing of another team's figures.
async fn a_team_people_view_has_each_teammate_once(s: Arc<dyn ServerStore>) {
    let (ids, doors) = seed(s.as_ref()).await;
    let in_turf = |i: usize| doors.iter().find(|d| d.starts_with(&ids[i])).unwrap().clone();
    s.create_user(&user("vol-c", Role::Volunteer)).await.unwrap();
    s.create_user(&user("cap-n", Role::Captain)).await.unwrap();
    for (team, captains) in [("nord", vec!["cap-n".to_string()]), ("sud", vec![])] {
        let t = doorstep_server::store::Team {
            id: team.into(),
            campaign_id: "nantes-2026".into(),
            name: team.into(),
            captains,
        };
        s.create_team(&t).await.unwrap();
    }
    s.add_member("nantes-2026", "nord", "vol-a").await.unwrap();
    s.add_member("nantes-2026", "nord", "vol-c").await.unwrap();
    s.add_member("nantes-2026", "sud", "vol-b").await.unwrap();
    // vol-a knocks two doors of t1 (the first twice), vol-b one of t2.
    for (n, door) in [(1u32, in_turf(0)), (2, in_turf(1)), (3, in_turf(0))] {
        ingest(&*s, &device("vol-a"), &[report(n, "t1", &door, "vol-a")], NOW).await.unwrap();
    }
    ingest(&*s, &device("vol-b"), &[report(4, "t2", &in_turf(25), "vol-b")], NOW).await.unwrap();
    let u = |id: &str| {
        let s = s.clone();
        let id = id.to_string();
        async move { s.user(&id).await.unwrap().unwrap() }
    };
    let figures = |p: &doorstep_protocol::VolunteerPage| (p.user_id.clone(), p.doors, p.teams.clone());
    let nord = Some(vec!["nord".to_string()]);
    // The captain: their own page, and the team they lead with its figures.
    let (me, coopains, team) = s.people_view(&u("cap-n").await, NOW + 1).await.unwrap();
    assert_eq!(figures(&me), ("cap-n".into(), Some(0), nord.clone()));
    assert!(coopains.is_empty());
    assert_eq!(
        team.iter().map(figures).collect::<Vec<_>>(),
        [("vol-a".into(), Some(2), nord.clone()), ("vol-c".into(), Some(0), nord.clone())]
    );
    // A volunteer of that team: their captain and their teammate, each once.
    let (me, _, team) = s.people_view(&u("vol-c").await, NOW + 1).await.unwrap();
    assert_eq!(figures(&me), ("vol-c".into(), Some(0), nord.clone()));
    assert_eq!(
        team.iter().map(figures).collect::<Vec<_>>(),
        [("cap-n".into(), Some(0), nord.clone()), ("vol-a".into(), Some(2), nord.clone())]
    );
    // A volunteer's own page holds their turf; another team sees no figures.
    let (me, _, team) = s.people_view(&u("vol-a").await, NOW + 1).await.unwrap();
    assert_eq!((me.doors, me.turfs.clone()), (Some(2), Some(vec!["Tournée 1".to_string()])));
    assert_eq!(team.len(), 2);
    let (me, _, team) = s.people_view(&u("vol-b").await, NOW + 1).await.unwrap();
    assert_eq!((me.doors, me.teams.clone(), team.len()), (Some(1), Some(vec!["sud".to_string()]), 0));
    let seen_by_b = s.person_page(&u("vol-b").await, "vol-a", NOW + 1).await.unwrap().unwrap();
    assert_eq!((seen_by_b.doors, seen_by_b.teams), (None, nord));
    assert!(s.person_page(&u("vol-b").await, "nobody", NOW + 1).await.unwrap().is_none());
}

/// Phones' sync times arriving together are written together (`touches`): each stored with its
/// own time, every caller answered, the campaign's latest sync moved.
async fn sync_times_arriving_together_are_each_stored(s: Arc<dyn ServerStore>) {
    seed(s.as_ref()).await;
    let touches = Arc::new(doorstep_server::touches::Touches::default());
    let mut phones = Vec::new();
    for i in 0..40 {
        let d = Device { device_id: format!("dev-{i}"), ..device(if i % 2 == 0 { "vol-a" } else { "vol-b" }) };
        s.register_token(&format!("h-{i}"), &d.device_id, &d.user_id, NOW, NOW + 1000).await.unwrap();
        phones.push(d);
    }
    let mut waits = tokio::task::JoinSet::new();
    for (i, d) in phones.into_iter().enumerate() {
        let (touches, s) = (touches.clone(), s.clone());
        waits.spawn(async move { touches.touch(&s, &d, NOW + i as i64).await });
    }
    for answered in waits.join_all().await {
        answered.unwrap();
    }
    let mut seen: Vec<(String, Option<i64>)> =
        s.devices("nantes-2026").await.unwrap().into_iter().map(|d| (d.device_id, d.last_seen_ms)).collect();
    seen.sort();
    let mut want: Vec<(String, Option<i64>)> = (0..40).map(|i| (format!("dev-{i}"), Some(NOW + i))).collect();
    want.sort();
    assert_eq!(seen, want);
    // The campaign's row moved too (to the minute: at least the first time written).
    let synced = doorstep_server::store::typed_read(&*s, |tx| {
        Box::pin(async move { doorstep_server::store::ops::groups::last_syncs(tx, "nantes-2026").await })
    })
    .await
    .unwrap();
    assert!(synced.iter().any(|(g, at)| g.is_empty() && at.is_some_and(|t| t >= NOW)), "{synced:?}");
}

conformance!(
    sync_times_arriving_together_are_each_stored,
    a_team_people_view_has_each_teammate_once,
    deferred_writes_are_read_back_and_fail_their_transaction,
    merge_rules_hold_on_both_backends,
    messages_order_replays_and_reach,
    pages_coopains_export_and_erasure,
    sms_consents_optouts_outbox_and_stop,
    sms_providers_receipts_and_expenses,
    campaigns_and_conflicts,
    join_codes_are_single_use_and_expire,
    turfs_packages_and_leases,
    ingest_dedupes_and_flags_overlaps,
    reports_outside_any_held_turf_are_refused,
    teams_scripts_and_the_op_log,
    voter_file_import,
    recut_stations_and_targeting,
    logins_dashboard_reads_and_an_append_only_audit_log,
    retention_purge_strips_personal_data,
    dashboard_aggregates_equal_their_definitions,
    a_large_first_cut_places_every_building_once,
    sessions_signups_and_replays,
    handoffs_record_once_and_hold_refused_knocks,
    reminders_and_public_signups,
);

/// A database made by the first published schema and upgraded in place has the same schema as a
/// fresh one, and its data carries over (a held turf's holder, the campaign's first script).
#[tokio::test]
async fn an_upgraded_v1_database_equals_a_fresh_one() {
    use doorstep_server::store::sql::SCHEMA_V1;
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&old).unwrap();
        for stmt in SCHEMA_V1 {
            c.execute_batch(stmt).unwrap();
        }
        c.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO campaigns VALUES ('c', 'C', 'address_only', '[]', '{\"version\":1,\"consent_question_id\":null,\"questions\":[]}', NULL, 1);
             INSERT INTO users VALUES ('v', 'c', 'volunteer', 'V', NULL);
             INSERT INTO turfs VALUES ('t', 'c', 'T', 3, 'v', NULL);",
        )
        .unwrap();
    }
    let upgraded = SqliteStore::open(&old).unwrap();
    let _fresh = SqliteStore::open(dir.path().join("fresh.db")).unwrap();
    let schema = |p: &std::path::Path| -> Vec<String> {
        let c = rusqlite::Connection::open(p).unwrap();
        let mut st = c
            // Planner statistics (sqlite_stat*) are data, not schema.
            .prepare(
                "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master
                 WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name",
            )
            .unwrap();
        st.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(schema(&old), schema(&dir.path().join("fresh.db")));
    assert_eq!(upgraded.turf("t").await.unwrap().unwrap().version, 3);
    assert!(upgraded.script("c", 1).await.unwrap().is_some(), "the first script is in the history");
    // The old holder is known: their reports on t are in scope.
    assert_eq!(upgraded.turfs_of("v", 0).await.unwrap().len(), 1);
    let v: i64 = rusqlite::Connection::open(&old).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, doorstep_server::store::sql::MIGRATIONS.len() as i64);
    let h: i64 = rusqlite::Connection::open(&old)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM turf_holders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(h, 1);
}

/// SQLite: a long read (the dashboard's) runs on its own read-only connection, so the phones'
/// pushes commit while it is under way, and the read sees one snapshot from its start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_dashboard_read_does_not_hold_up_pushes() {
    use std::sync::mpsc;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    let (_, door_ids) = seed(s.as_ref()).await;
    ingest(&*s, &device("vol-a"), &[report(1, "t1", &door_ids[0], "vol-a")], NOW).await.unwrap();
    let (started, started_rx) = mpsc::channel::<()>();
    let (pushed, pushed_rx) = mpsc::channel::<()>();
    let reader = s.clone();
    let read = tokio::spawn(async move {
        doorstep_server::store::typed_read(reader.as_ref(), move |tx| {
            Box::pin(async move {
                let before = tx.rows("SELECT COUNT(*) FROM reports", &[]).await?[0][0].int()?;
                started.send(()).unwrap();
                // Held open until the push below has committed (or 10 s).
                let waited = pushed_rx.recv_timeout(Duration::from_secs(10)).is_ok();
                let after = tx.rows("SELECT COUNT(*) FROM reports", &[]).await?[0][0].int()?;
                Ok((before, after, waited))
            })
        })
        .await
    });
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
    let (vol_a, second) = (device("vol-a"), [report(2, "t1", &door_ids[1], "vol-a")]);
    let push = ingest(&*s, &vol_a, &second, NOW);
    let got = tokio::time::timeout(Duration::from_secs(5), push).await.expect("the push waited for the read");
    assert!(matches!(got.unwrap()[..], [Ingested::Accepted { .. }]));
    pushed.send(()).unwrap();
    let (before, after, waited) = read.await.unwrap().unwrap();
    assert!(waited);
    assert_eq!((before, after), (1, 1), "the read sees its snapshot, not the push made meanwhile");
    assert_eq!(s.reports("nantes-2026").await.unwrap().len(), 2);
}

/// PostgreSQL: the server processes analyze the tables the knocks fill as they grow
/// (`store::pg_stats`), off the request, from PostgreSQL's own counts of changed rows: nothing while
/// they changed less than 2,000 rows, then an analysis with a small sample, table by table.
#[tokio::test]
async fn postgres_analyzes_the_tables_the_knocks_fill_as_they_grow() {
    use std::time::Duration;
    let db = TestDatabase::create().await;
    let s: Arc<dyn ServerStore> = Arc::new(PgStore::connect(&db.url, 4).await.unwrap());
    let (ids, _) = seed(s.as_ref()).await;
    let doors = server_import(30).3;
    let t1: Vec<&String> = doors.iter().filter(|d| ids[..20].contains(&d.building_id)).map(|d| &d.id).collect();
    let (c, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let analyzed = |table: &'static str| {
        let c = &c;
        async move {
            let q = "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = $1";
            c.query_one(q, &[&table]).await.unwrap().get::<_, bool>(0)
        }
    };
    let mut n = 0u32;
    let mut push = |count: u32| {
        let batch: Vec<KnockReport> =
            (n..n + count).map(|i| report(i + 1, "t1", t1[i as usize % t1.len()], "vol-a")).collect();
        n += count;
        let s = s.clone();
        async move {
            let got = ingest(&*s, &device("vol-a"), &batch, NOW + i64::from(n)).await.unwrap();
            assert!(got.iter().all(|g| matches!(g, Ingested::Accepted { .. })), "{got:?}");
        }
    };
    // 200 reports: a few hundred rows changed in each table, a check a second later, no analysis.
    push(200).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    for t in doorstep_server::store::pg_stats::TABLES {
        assert!(!analyzed(t).await, "{t} analyzed after 200 reports");
    }
    // 6,000 reports: analyzed within seconds (PostgreSQL's counts arrive within a second or ten of
    // a commit; the pushes that keep coming each ask for a check).
    for _ in 0..12 {
        push(500).await;
    }
    let mut waited = 0;
    while !analyzed("reports").await {
        if waited == 40 {
            let facts: Vec<(String, f64, f64)> = c
                .query(doorstep_server::store::pg_stats::FACTS, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            panic!("not analyzed 20 s after 6,200 reports: {facts:?}");
        }
        push(1).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        waited += 1;
    }
    // Table by table: the turf's few dozen doors changed their standing rows a few dozen times.
    assert!(!analyzed("door_standing").await, "door_standing analyzed after a few dozen changes");
    // With the small sample: at most 21 bounds in a histogram (101 at PostgreSQL's default).
    let bounds: i32 = c
        .query_one(
            "SELECT max(cardinality(string_to_array(btrim(histogram_bounds::text, '{}'), ',')))
             FROM pg_stats WHERE tablename = 'reports' AND attname = 'id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!((2..=21).contains(&bounds), "{bounds} bounds in the histogram of reports.id");
    drop(s);
    db.drop_now().await;
}
