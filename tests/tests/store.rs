//! End-to-end behaviour of the field core on real SQLite files with a turf of real Nantes addresses:
//! record, correct, reopen; atomic packages and deltas; purges that keep unacknowledged reports;
//! drafts; bad input that leaves the store byte-for-byte unchanged.

use std::sync::Arc;

use doorstep_core::{
    CoreError, DoorStatus, KnockDraft, KnockInput, ManualClock, OpenOptions, PairSide, ReceiptState, Store,
};
use doorstep_protocol::{
    Answer, AnswerValue, ItemStatus, PROTOCOL_VERSION, PlausibilityFlag, Position, PushItemResult, PushResponse,
    SafetyFlag, Target, TurfDelta,
};
use doorstep_tests::turf_package;

const T0: i64 = 1_780_000_000_000; // 2026-05-28

fn open(dir: &tempfile::TempDir) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0, 3_600_000));
    let store =
        Store::open_with(dir.path().join("field.db"), OpenOptions { clock: clock.clone(), ..Default::default() })
            .unwrap();
    (store, clock)
}

fn knock(door: &str, code: &str) -> KnockInput {
    doorstep_tests::knock_on(door, code)
}

fn yes(q: &str, v: bool) -> Answer {
    Answer { question_id: q.into(), value: AnswerValue::YesNo { value: v } }
}
fn choice(q: &str, v: &str) -> Answer {
    Answer { question_id: q.into(), value: AnswerValue::Choice { value: v.into() } }
}

/// Every row of every table, in a stable order: "unchanged" means this string is equal.
fn dump(path: &std::path::Path) -> String {
    let c = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for t in tables {
        let mut st = c.prepare(&format!("SELECT * FROM {t} ORDER BY 1, 2")).unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(&format!("{:?}|", r.get_ref(i)?));
                }
                Ok(s)
            })
            .unwrap();
        out.push_str(&format!("## {t}\n"));
        for r in rows {
            out.push_str(&r.unwrap());
            out.push('\n');
        }
    }
    out
}

#[test]
fn record_correct_reopen_and_find_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let pkg = turf_package("t1", 200);
    let (first, second, door);
    {
        let (store, clock) = open(&dir);
        let s = store.apply_turf_package(&serde_json::to_vec(&pkg).unwrap()).unwrap();
        assert_eq!((s.buildings, s.doors), (200, 180 + 20 * 8));
        let route = store
            .compute_route("t1", Some(Position { lat: 47.2135, lon: -1.5590, accuracy_m: Some(5.0) }), None, false)
            .unwrap();
        assert_eq!(route.remaining.len(), 200);
        assert_eq!(route.doors_total, 340);
        let next = route.next.clone().unwrap();
        door = next.doors[0].id.clone();
        let at = Some(Position { lat: next.lat, lon: next.lon, accuracy_m: Some(6.0) });
        first = store.record_knock(KnockInput { position: at, ..knock(&door, "not_home") }).unwrap();
        assert_eq!(first.receipt, ReceiptState::Pending);
        assert!(first.plausibility.is_empty(), "{:?}", first.plausibility);
        clock.advance(60_000);
        second = store
            .correct_knock(
                &first.id,
                KnockInput {
                    answers: vec![yes("consent", true), choice("intent", "non")],
                    note: Some("Rappeler après 18 h".into()),
                    position: at,
                    ..knock(&door, "contact_made")
                },
            )
            .unwrap();
        assert_eq!(second.supersedes.as_deref(), Some(first.id.as_str()));
        assert!(second.hlc > first.hlc);
        assert_eq!(store.door_status(&door).unwrap(), DoorStatus::Contacted);
        let p = store.route_progress("t1").unwrap();
        assert_eq!(p.doors_knocked, 1);
        assert_ne!(
            p.next.as_ref().map(|s| s.building_id.clone()),
            Some(next.building_id.clone()),
            "a finished stop is not next"
        );
    }
    // Reopen: everything is there, in the same state.
    let (store, _) = open(&dir);
    let knocks = store.list_knocks("t1").unwrap();
    assert_eq!(knocks.iter().map(|k| k.id.clone()).collect::<Vec<_>>(), vec![first.id.clone(), second.id.clone()]);
    assert_eq!(knocks[0].superseded_by.as_deref(), Some(second.id.as_str()));
    assert_eq!(knocks[1].note.as_deref(), Some("Rappeler après 18 h"));
    assert_eq!(store.door_status(&door).unwrap(), DoorStatus::Contacted);
    assert_eq!(store.pending_count().unwrap(), 2);
    assert_eq!(store.schema_version().unwrap(), doorstep_core::store::schema::current_version());
    // Knock reports are immutable even to SQL.
    let c = rusqlite::Connection::open(&path).unwrap();
    let err = c.execute("UPDATE knocks SET result_code = 'hostile'", []).unwrap_err();
    assert!(err.to_string().contains("immutable"), "{err}");
}

#[test]
fn floors_and_doors_in_order_inside_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    store.apply_turf_package_value(&turf_package("t1", 30)).unwrap();
    let route = store.route_progress("t1").unwrap();
    let tower = route.remaining.iter().find(|s| s.doors.len() == 8).expect("a building with a staircase");
    let floors: Vec<Option<i32>> = tower.doors.iter().map(|d| d.floor).collect();
    assert_eq!(floors, vec![Some(0), Some(0), Some(1), Some(1), Some(2), Some(2), Some(3), Some(3)]);
    assert_eq!(tower.entrances[0].digicode.as_deref(), Some("1234A"));
    // Each building appears once.
    let mut ids: Vec<_> = route.remaining.iter().map(|s| s.building_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30);
    assert!(route.remaining[0].address.contains("44000 Nantes"), "{}", route.remaining[0].address);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let (store, _) = open(&dir);
    let pkg = turf_package("t1", 40);
    store.apply_turf_package_value(&pkg).unwrap();
    let door = pkg.doors[0].id.clone();
    store.record_knock(knock(&door, "not_home")).unwrap();
    let before = dump(&path);

    let bad_knocks: Vec<(KnockInput, &str)> = vec![
        (
            KnockInput {
                position: Some(Position { lat: f64::NAN, lon: 0.0, accuracy_m: None }),
                ..knock(&door, "not_home")
            },
            "coordinates",
        ),
        (
            KnockInput {
                position: Some(Position { lat: 48.0, lon: 181.0, accuracy_m: None }),
                ..knock(&door, "not_home")
            },
            "coordinates",
        ),
        (knock("no-such-door", "not_home"), "unknown door"),
        (knock(&door, "bribed"), "result code"),
        (KnockInput { answers: vec![yes("consent", true)], ..knock(&door, "not_home") }, "contact result"),
        (KnockInput { answers: vec![choice("consent", "oui")], ..knock(&door, "contact_made") }, "expected yes or no"),
        (
            KnockInput { answers: vec![yes("consent", true)], ..knock(&door, "contact_made") },
            "required question intent",
        ),
        (
            KnockInput {
                answers: vec![yes("consent", true), choice("intent", "peut-être")],
                ..knock(&door, "contact_made")
            },
            "not offered",
        ),
        (
            KnockInput {
                answers: vec![yes("consent", false), choice("intent", "oui")],
                ..knock(&door, "contact_made")
            },
            "consent",
        ),
        (KnockInput { note: Some("x".repeat(3000)), ..knock(&door, "not_home") }, "longer than"),
        (
            KnockInput { target: Target::Building { id: pkg.buildings[0].id.clone() }, ..knock(&door, "contact_made") },
            "person",
        ),
    ];
    for (input, want) in bad_knocks {
        let err = store.record_knock(input).unwrap_err().to_string();
        assert!(err.contains(want), "{err:?} should mention {want:?}");
        assert_eq!(dump(&path), before, "after {err}");
    }
    let err = store.correct_knock("no-such-report", knock(&door, "refused")).unwrap_err();
    assert!(matches!(err, CoreError::UnknownId { .. }), "{err}");
    let other_door = pkg.doors[1].id.clone();
    let first = store.list_knocks("t1").unwrap()[0].id.clone();
    let err = store.correct_knock(&first, knock(&other_door, "refused")).unwrap_err();
    assert!(matches!(err, CoreError::CorrectionTargetMismatch(_)), "{err}");

    let good = serde_json::to_vec(&pkg).unwrap();
    let mut bad_coords = pkg.clone();
    bad_coords.buildings[3].lat = 123.0;
    let mut orphan_door = pkg.clone();
    orphan_door.doors[0].building_id = "nowhere".into();
    let mut newer = pkg.clone();
    newer.format = 99;
    let mut older = pkg.clone();
    older.turf.version = 0;
    let bad_packages: Vec<(Vec<u8>, &str)> = vec![
        (good[..good.len() / 2].to_vec(), "EOF"),
        (b"{\"format\":1}".to_vec(), "missing field"),
        (b"not json at all".to_vec(), "malformed"),
        (serde_json::to_vec(&bad_coords).unwrap(), "coordinates"),
        (serde_json::to_vec(&orphan_door).unwrap(), "unknown building"),
        (serde_json::to_vec(&newer).unwrap(), "newer"),
        (serde_json::to_vec(&older).unwrap(), "older"),
    ];
    for (bytes, want) in bad_packages {
        let err = store.apply_turf_package(&bytes).unwrap_err().to_string();
        assert!(err.contains(want), "{err:?} should mention {want:?}");
        assert_eq!(dump(&path), before, "after {err}");
    }
    // A delta for the wrong base version, and one that would leave a building without a door.
    let delta = |base, remove_doors: Vec<String>| TurfDelta {
        format: 1,
        turf_id: "t1".into(),
        base_version: base,
        version: base + 1,
        campaign: None,
        lease_expires_ms: None,
        upsert_buildings: vec![],
        upsert_entrances: vec![],
        upsert_doors: vec![],
        upsert_households: vec![],
        upsert_people: vec![],
        remove_buildings: vec![],
        remove_doors,
        remove_people: vec![],
        street_network: None,
    };
    let err = store.apply_turf_delta_value(&delta(7, vec![])).unwrap_err();
    assert!(matches!(err, CoreError::DeltaBaseMismatch { .. }), "{err}");
    let err = store.apply_turf_delta_value(&delta(1, vec![pkg.doors[2].id.clone()])).unwrap_err();
    assert!(err.to_string().contains("no door"), "{err}");
    let err = store
        .compute_route("t1", Some(Position { lat: 0.0, lon: f64::INFINITY, accuracy_m: None }), None, false)
        .unwrap_err();
    assert!(matches!(err, CoreError::Invalid(_)), "{err}");
    assert_eq!(dump(&path), before);
}

#[test]
fn foreign_files_and_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "Liste de courses : pain, lait, œufs. ".repeat(200)).unwrap();
    let err = Store::open(&text, None).unwrap_err();
    assert!(matches!(err, CoreError::NotOurStore { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "Liste de courses : pain, lait, œufs. ".repeat(200));

    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE contacts(name TEXT)").unwrap();
    let err = Store::open(&other, None).unwrap_err();
    assert!(matches!(err, CoreError::NotOurStore { .. }), "{err}");

    let newer = dir.path().join("newer.db");
    drop(Store::open(&newer, None).unwrap());
    rusqlite::Connection::open(&newer).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = Store::open(&newer, None).unwrap_err();
    assert!(matches!(err, CoreError::NewerSchema { found: 99, .. }), "{err}");

    let err = Store::open(&newer, Some("a key for a plain store".into())).unwrap_err();
    assert!(matches!(err, CoreError::WrongKey(_)), "{err}");
    let err = Store::open(dir.path().join("empty-key.db"), Some(String::new())).unwrap_err();
    assert!(matches!(err, CoreError::WrongKey(_)), "{err}");
    assert!(!dir.path().join("empty-key.db").exists(), "a refused key creates no file");
}

/// The phone's store encrypted with SQLCipher: its file and journal hold no readable byte of the
/// turf or the knocks; it opens with its key only (raw 256-bit or passphrase), and a wrong key
/// changes nothing.
#[test]
fn an_encrypted_store_is_unreadable_without_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_string();
    let pkg = turf_package("t1", 20);
    let street = pkg.buildings[0].street.clone();
    {
        let store = Store::open(&path, Some(key.clone())).unwrap();
        store.apply_turf_package_value(&pkg).unwrap();
        let mut k = knock(&pkg.doors[0].id, "contact_made");
        k.note = Some("Sympathisante, veut un tract sur les transports".into());
        k.answers = vec![yes("consent", true), choice("intent", "oui")];
        store.record_knock(k).unwrap();
        // The bytes on disk while the store is open (WAL included), then after closing.
        for f in [path.clone(), dir.path().join("phone.db-wal")] {
            if let Ok(bytes) = std::fs::read(&f) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    !text.contains(&street) && !text.contains("Sympathisante") && !text.contains("SQLite format 3")
                );
            }
        }
    }
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4096 && !String::from_utf8_lossy(&bytes).contains(&street));
    assert!(!bytes.starts_with(b"SQLite format 3"), "not a plain SQLite file");
    // Plain SQLite, no key, a wrong key: refused, and the store is intact.
    assert!(
        rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))
            .is_err()
    );
    assert!(matches!(Store::open(&path, None).unwrap_err(), CoreError::NotOurStore { .. }));
    let wrong = "f".repeat(64);
    assert!(matches!(Store::open(&path, Some(wrong)).unwrap_err(), CoreError::WrongKey(_)));
    let store = Store::open(&path, Some(key)).unwrap();
    assert_eq!(store.pending_count().unwrap(), 1);
    assert_eq!(store.route_progress("t1").unwrap().doors_total as usize, pkg.doors.len());
    drop(store);
    // A passphrase works too.
    let other = dir.path().join("passphrase.db");
    drop(Store::open(&other, Some("correct horse battery staple".into())).unwrap());
    assert!(Store::open(&other, Some("correct horse battery staple".into())).is_ok());
    assert!(matches!(Store::open(&other, Some("wrong horse".into())).unwrap_err(), CoreError::WrongKey(_)));
}

#[test]
fn fresh_store_has_wal_full_sync_foreign_keys_and_our_id() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    drop(store);
    let c = rusqlite::Connection::open(dir.path().join("field.db")).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let app: i64 = c.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(app, doorstep_core::store::schema::APPLICATION_ID);
}

#[test]
fn delta_then_removed_signal_keeps_unacknowledged_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    let pkg = turf_package("t1", 20);
    store.apply_turf_package_value(&pkg).unwrap();
    let d0 = pkg.doors[0].id.clone();
    let d1 = pkg.doors[1].id.clone();
    let k0 = store.record_knock(knock(&d0, "not_home")).unwrap();
    let k1 = store.record_knock(knock(&d1, "refused")).unwrap();
    // The server accepted k0 only.
    store
        .apply_push_response(&PushResponse {
            protocol: PROTOCOL_VERSION,
            results: vec![PushItemResult { id: k0.id.clone(), status: ItemStatus::Accepted, notice: None }],
            server_time_ms: T0,
        })
        .unwrap();
    // A delta moves one building out (a street reassigned) and flags a dog.
    let mut door = pkg.doors[5].clone();
    door.safety_flags = vec![SafetyFlag::Dog];
    let moved = pkg.buildings[4].id.clone();
    let delta = TurfDelta {
        format: 1,
        turf_id: "t1".into(),
        base_version: 1,
        version: 2,
        campaign: None,
        lease_expires_ms: None,
        upsert_buildings: vec![],
        upsert_entrances: vec![],
        upsert_doors: vec![door.clone()],
        upsert_households: vec![],
        upsert_people: vec![],
        remove_buildings: vec![moved.clone()],
        remove_doors: vec![],
        remove_people: vec![],
        street_network: None,
    };
    let s = store.apply_turf_delta(&serde_json::to_vec(&delta).unwrap()).unwrap();
    assert_eq!((s.version, s.buildings), (2, 19));
    let route = store.route_progress("t1").unwrap();
    assert!(route.remaining.iter().chain(&route.done).all(|s| s.building_id != moved));
    let flagged = route.remaining.iter().chain(&route.done).flat_map(|s| &s.doors).find(|d| d.id == door.id).unwrap();
    assert_eq!(flagged.safety_flags, vec![SafetyFlag::Dog]);

    let purge = store.remove_turf("t1").unwrap();
    assert_eq!((purge.reports_removed, purge.reports_kept_pending), (1, 1));
    assert!(store.turfs().unwrap().is_empty());
    // The pending report is still there and still goes out.
    let batch = store.export_pending_batch(100).unwrap();
    assert_eq!(batch.reports.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), vec![k1.id.clone()]);
    assert!(matches!(store.door_status(&d0), Err(CoreError::UnknownId { .. })));
}

#[test]
fn drafts_survive_reopen_and_go_when_the_knock_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = turf_package("t1", 10);
    let door = pkg.doors[0].id.clone();
    let target = Target::Door { id: door.clone() };
    {
        let (store, _) = open(&dir);
        store.apply_turf_package_value(&pkg).unwrap();
        let d = store
            .save_draft(KnockDraft {
                target: target.clone(),
                result_code: Some("contact_made".into()),
                answers: vec![yes("consent", true)],
                note: Some("chien gentil".into()),
                safety_flags: vec![SafetyFlag::Dog],
                updated_ms: 0,
            })
            .unwrap();
        assert_eq!(d.updated_ms, T0);
        let err = store.save_draft(KnockDraft { target: Target::Door { id: "nope".into() }, ..d.clone() }).unwrap_err();
        assert!(matches!(err, CoreError::UnknownId { .. }));
    } // the app is killed here
    let (store, _) = open(&dir);
    let d = store.load_draft(&target).unwrap().expect("draft survives");
    assert_eq!(d.note.as_deref(), Some("chien gentil"));
    assert_eq!(store.list_drafts().unwrap().len(), 1);
    store
        .record_knock(KnockInput {
            answers: vec![yes("consent", true), choice("intent", "oui")],
            safety_flags: d.safety_flags.clone(),
            ..knock(&door, "contact_made")
        })
        .unwrap();
    assert!(store.load_draft(&target).unwrap().is_none());
    assert!(!store.discard_draft(&target).unwrap());
    let route = store.route_progress("t1").unwrap();
    let v = route.done.iter().flat_map(|s| &s.doors).find(|x| x.id == door).unwrap();
    assert_eq!(v.safety_flags, vec![SafetyFlag::Dog], "a flag reported at the door persists");
}

#[test]
fn plausibility_flags_with_a_simulated_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = open(&dir);
    let pkg = turf_package("t1", 400);
    store.apply_turf_package_value(&pkg).unwrap();
    let a = &pkg.buildings[0];
    let far = pkg
        .buildings
        .iter()
        .find(|b| doorstep_core::plausibility::distance_m(a.lat, a.lon, b.lat, b.lon) > 150.0)
        .unwrap();
    let door_of = |b: &str| pkg.doors.iter().find(|d| d.building_id == b).unwrap().id.clone();
    let at = |lat, lon| Some(Position { lat, lon, accuracy_m: Some(10.0) });
    let k =
        store.record_knock(KnockInput { position: at(a.lat, a.lon), ..knock(&door_of(&a.id), "not_home") }).unwrap();
    assert!(k.plausibility.is_empty());
    clock.advance(20_000); // 20 s later, 150+ m away
    let k =
        store.record_knock(KnockInput { position: at(a.lat, a.lon), ..knock(&door_of(&far.id), "not_home") }).unwrap();
    assert!(k.plausibility.contains(&PlausibilityFlag::TooFast), "{:?}", k.plausibility);
    assert!(k.plausibility.iter().any(|f| matches!(f, PlausibilityFlag::Over100m | PlausibilityFlag::Over300m)));
    // The wall clock jumping back a year changes no order.
    clock.set_wall(T0 - 365 * 86_400_000);
    clock.advance(600_000);
    let k2 = store.record_knock(knock(&door_of(&far.id), "no_answer")).unwrap();
    assert!(k2.hlc > k.hlc);
    assert_eq!(k2.plausibility, vec![PlausibilityFlag::NoPosition]);
}

#[test]
fn sync_status_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = open(&dir);
    let mut pkg = turf_package("t1", 10);
    pkg.turf.lease_expires_ms = Some(T0 + 86_400_000);
    store.apply_turf_package_value(&pkg).unwrap();
    let s = store.sync_status().unwrap();
    assert_eq!(s.summary_fr, "0 en attente, 0 en échec, jamais synchronisé");
    for d in &pkg.doors[..3] {
        store.record_knock(knock(&d.id, "not_home")).unwrap();
    }
    let batch = store.export_pending_batch(2).unwrap();
    assert_eq!(batch.reports.len(), 2);
    let resp = PushResponse {
        protocol: PROTOCOL_VERSION,
        results: vec![
            PushItemResult { id: batch.reports[0].id.clone(), status: ItemStatus::Accepted, notice: None },
            PushItemResult {
                id: batch.reports[1].id.clone(),
                status: ItemStatus::Rejected { reason: "tournée retirée".into(), code: None },
                notice: None,
            },
            PushItemResult { id: "never-sent".into(), status: ItemStatus::Accepted, notice: None },
        ],
        server_time_ms: T0,
    };
    let ack = store.apply_push_response_bytes(&serde_json::to_vec(&resp).unwrap()).unwrap();
    assert_eq!((ack.accepted, ack.rejected, ack.ignored), (1, 1, 1));
    // Replaying the same answer changes nothing: receipts are settled once.
    let again = store.apply_push_response(&resp).unwrap();
    assert_eq!(again.ignored, 3);
    let s = store.sync_status().unwrap();
    assert_eq!((s.pending, s.accepted, s.rejected), (1, 1, 1));
    assert!(s.summary_fr.starts_with("1 en attente, 1 en échec, dernière synchro "), "{}", s.summary_fr);
    let rejected = store.knock(&batch.reports[1].id).unwrap();
    assert_eq!(rejected.receipt, ReceiptState::Rejected { reason: "tournée retirée".into() });
    assert!(store.apply_push_response_bytes(b"{\"protocol\":1").is_err());

    assert!(store.purge_expired().unwrap().is_empty());
    clock.advance(2 * 86_400_000);
    let purged = store.purge_expired().unwrap();
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0].reports_kept_pending, 1, "the pending report outlives the lease");
    assert_eq!(store.pending_count().unwrap(), 1);
}

#[test]
fn pairs_split_a_turf_by_side_of_street() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    store.apply_turf_package_value(&turf_package("t1", 150)).unwrap();
    let ids = |side| {
        let p = store.compute_route("t1", None, Some(side), false).unwrap();
        p.remaining.iter().map(|s| (s.building_id.clone(), s.house_number.clone())).collect::<Vec<_>>()
    };
    let odd = ids(PairSide::Odd);
    let even = ids(PairSide::Even);
    assert_eq!(odd.len() + even.len(), 150);
    assert!(even.iter().all(|(_, n)| doorstep_core::route::parity(n) == doorstep_core::route::Parity::Even));
    assert!(odd.iter().all(|(_, n)| doorstep_core::route::parity(n) != doorstep_core::route::Parity::Even));
    assert!(!odd.is_empty() && !even.is_empty());
}

/// A network simulated behind the `Transport` trait: the server stores what it gets, but the first
/// answer is lost on the way back. The retry is answered "duplicate" and nothing is counted twice.
#[tokio::test]
async fn push_survives_a_lost_acknowledgement() {
    use doorstep_core::sync::{Transport, TransportError, push_outbox};
    use doorstep_protocol::{KnockReport, PushRequest};
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct LossyServer {
        held: Mutex<HashMap<String, KnockReport>>,
        answers_lost: Mutex<u32>,
        calls: Mutex<u32>,
    }
    impl Transport for LossyServer {
        async fn push(&self, req: &PushRequest) -> Result<PushResponse, TransportError> {
            *self.calls.lock().unwrap() += 1;
            let mut held = self.held.lock().unwrap();
            let results = req
                .reports
                .iter()
                .map(|r| {
                    let status = if held.contains_key(&r.id) { ItemStatus::Duplicate } else { ItemStatus::Accepted };
                    held.insert(r.id.clone(), r.clone());
                    PushItemResult { id: r.id.clone(), status, notice: None }
                })
                .collect();
            let mut lost = self.answers_lost.lock().unwrap();
            if *lost == 0 {
                *lost += 1;
                return Err(TransportError::Unavailable("connection reset after the server committed".into()));
            }
            Ok(PushResponse { protocol: PROTOCOL_VERSION, results, server_time_ms: T0 })
        }
        async fn pull(
            &self,
            _: &doorstep_protocol::PullRequest,
        ) -> Result<doorstep_protocol::PullResponse, TransportError> {
            Err(TransportError::Unavailable("this test only pushes".into()))
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    let pkg = turf_package("t1", 30);
    store.apply_turf_package_value(&pkg).unwrap();
    for d in &pkg.doors[..25] {
        store.record_knock(knock(&d.id, "not_home")).unwrap();
    }
    let server = LossyServer::default();
    let run = push_outbox(&store, &server, 10, |_| {}).await.unwrap();
    assert!(run.stopped_by.is_some());
    assert_eq!(store.pending_count().unwrap(), 25);
    let run = push_outbox(&store, &server, 10, |_| {}).await.unwrap();
    assert!(run.stopped_by.is_none());
    let ack = run.ack;
    assert_eq!((ack.accepted, ack.duplicate), (15, 10));
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(server.held.lock().unwrap().len(), 25, "every report once on the server");
    assert_eq!(*server.calls.lock().unwrap(), 4);
}

/// On the real Nantes streets: a round trip ends near where it started (the walk back counts),
/// a path ends wherever is shortest. Each is the shorter of the two by its own measure.
#[test]
fn round_trips_end_near_the_start() {
    use doorstep_core::route::{walk_length_on, walking_order_ending};
    use doorstep_core::streets::{StreetGraph, clip, network_from_geojson};
    let geo: serde_json::Value = serde_json::from_slice(
        &std::fs::read(doorstep_tests::repo_root().join("data/nantes/fr_nantes_centre_streets.geojson")).unwrap(),
    )
    .unwrap();
    let (network, _) = network_from_geojson(&geo).unwrap();
    let start = (47.2135, -1.5590);
    for n in [30usize, 100] {
        let pts = doorstep_tests::nearest_route_points(n);
        let mut around: Vec<(f64, f64)> = pts.iter().map(|p| (p.lat, p.lon)).collect();
        around.push(start);
        let g = StreetGraph::new(&clip(&network, &around, 150.0)).unwrap();
        let back = |order: &[usize]| {
            let last = &pts[*order.last().unwrap()];
            g.distances(&g.snap(last.lat, last.lon), &[g.snap(start.0, start.1)])[0]
        };
        let path = walking_order_ending(&pts, Some(start), Some(&g), false);
        let round = walking_order_ending(&pts, Some(start), Some(&g), true);
        let mut sorted = round.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "every stop once");
        let (open_p, open_r) =
            (walk_length_on(&pts, &path, Some(start), &g), walk_length_on(&pts, &round, Some(start), &g));
        assert!(
            open_r + back(&round) <= open_p + back(&path) + 1.0,
            "{n}: round trip {} vs path {}",
            open_r + back(&round),
            open_p + back(&path)
        );
        assert!(open_p <= open_r + 1.0, "{n}: path {open_p} vs {open_r}");
        assert!(back(&round) < back(&path), "{n}: the round trip ends nearer the start");
    }
}

/// A captain can move every street out of a turf: the phone then holds an empty turf, and asking
/// for its route answers "nothing left" (it used to recurse until the stack overflowed; found by
/// the deterministic simulation, seed 2).
#[test]
fn a_turf_emptied_by_a_captain_has_an_empty_route() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    let pkg = turf_package("t1", 6);
    store.apply_turf_package_value(&pkg).unwrap();
    let all: Vec<String> = pkg.buildings.iter().map(|b| b.id.clone()).collect();
    let delta =
        serde_json::json!({"format": 1, "turf_id": "t1", "base_version": 1, "version": 2, "remove_buildings": all});
    store.apply_turf_delta(&serde_json::to_vec(&delta).unwrap()).unwrap();
    let progress = store.route_progress("t1").unwrap();
    assert!(progress.next.is_none() && progress.remaining.is_empty() && progress.done.is_empty());
    assert_eq!(progress.doors_total, 0);
    let again = store.compute_route("t1", None, None, true).unwrap();
    assert!(again.remaining.is_empty());
}

/// A store written by the previous release (schema 2: no `door_facts`) opens with this one: the
/// migration adds the table in place and keeps the turf, the knocks and their outbox; door status
/// then reads the new table too.
#[test]
fn a_store_of_the_previous_schema_upgrades_in_place_and_keeps_its_knocks() {
    let dir = tempfile::tempdir().unwrap();
    let door;
    {
        let (store, _) = open(&dir);
        let p = turf_package("t1", 20);
        door = p.doors[0].id.clone();
        store.apply_turf_package(&serde_json::to_vec(&p).unwrap()).unwrap();
        store.record_knock(knock(&door, "refused")).unwrap();
    }
    {
        // Back to schema 2, as an older release left it (each later step undone).
        let c = rusqlite::Connection::open(dir.path().join("field.db")).unwrap();
        c.execute_batch(
            "DROP TABLE door_facts; DROP TABLE grants; DROP TABLE handoffs; DROP TABLE sessions;
             DROP TABLE signup_outbox; DROP TABLE reminders; ALTER TABLE turfs DROP COLUMN staged;
             DROP TABLE channels; DROP TABLE messages; DROP TABLE message_outbox; DROP TABLE read_marks;
             DROP TABLE people_view; DROP TABLE people_outbox; ALTER TABLE route_stops DROP COLUMN misplaced_why;
             ALTER TABLE route_stops DROP COLUMN misplaced_m; ALTER TABLE route_stops DROP COLUMN placed_on_street;",
        )
        .unwrap();
        c.pragma_update(None, "user_version", 2).unwrap();
    }
    let (store, _) = open(&dir);
    assert_eq!(store.schema_version().unwrap(), doorstep_core::store::schema::current_version());
    assert!(!store.turfs().unwrap()[0].sealed, "a turf of before is open");
    assert_eq!(store.pending_count().unwrap(), 1);
    assert_eq!(store.door_status(&door).unwrap(), DoorStatus::Finished);
    assert_eq!(store.route_progress("t1").unwrap().doors_knocked, 1);
}
