//! Issue 17's "done when", end to end over real HTTP on loopback: a captain with no network hands
//! a street to a volunteer with no network, both knock, both sync later, and the server and both
//! phones agree. Real core stores on files, the real server on an SQLite file; the phones' only
//! network use is before the session (join, sign-up, the grant, the sealed turfs) and after it.

use std::sync::Arc;

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, request_grant, sync};
use doorstep_core::{CoreError, KnockInput, Store};
use doorstep_protocol::validate::handoff::HandoffError;
use doorstep_protocol::{Attendance, Session, SignupKind, Visibility};
use doorstep_server::service::Service;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, StoreOps, User};

fn policy() -> RetryPolicy {
    RetryPolicy {
        first_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(50),
        max_attempts: 3,
    }
}

fn knock(door: &str) -> KnockInput {
    doorstep_tests::knock_on(door, "not_home")
}

/// The doors a phone holds on one street of a turf.
fn doors_on(st: &Store, turf: &str, street: &str) -> Vec<String> {
    let pkg = st.export_turf(turf).unwrap();
    let on: Vec<&str> = pkg.buildings.iter().filter(|b| b.street == street).map(|b| b.id.as_str()).collect();
    pkg.doors.iter().filter(|d| on.contains(&d.building_id.as_str())).map(|d| d.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captain_offline_hands_a_street_to_a_volunteer_offline() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(60);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "t1", "Quartier nord", None, &ids).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, doorstep_server::api::app(service.clone())).await.unwrap() });
    let service = Service::new(store.clone());

    // Staff: a coordinator; a captain, who asks a join code for their own phone; a volunteer.
    let co = doorstep_server::admin::Staff {
        user: User {
            id: "coord".into(),
            campaign_id: campaign.id.clone(),
            role: Role::Coordinator,
            display_name: "C".into(),
            team_id: None,
        },
        teams: None,
    };
    store.create_user(&co.user).await.unwrap();
    let invite = |id: &str, role: Role| doorstep_server::people::InviteRequest {
        email: None,
        name: id.into(),
        user_id: Some(id.into()),
        role,
        team_id: None,
    };
    let cap_token = service.invite(&co, invite("cap", Role::Captain)).await.unwrap().token.unwrap();
    let lea_code = service.invite(&co, invite("lea", Role::Volunteer)).await.unwrap().join_code.unwrap();
    // (The core's transport installs the process's TLS provider, which reqwest needs too.)
    HttpTransport::new(&base, None).unwrap();
    let http = reqwest::Client::new();
    let phone_code: serde_json::Value = http
        .post(format!("{base}/api/v1/me/phone"))
        .bearer_auth(&cap_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let session = Session {
        id: "s-samedi".into(),
        campaign_id: campaign.id.clone(),
        title: "Samedi matin, quartier nord".into(),
        start_ms: now - 10 * 60_000,
        end_ms: now + 3 * 3_600_000,
        meeting_lat: buildings[0].lat,
        meeting_lon: buildings[0].lon,
        meeting_text: "Devant le marché".into(),
        capacity: 12,
        captains: vec!["cap".into()],
        turfs: vec!["t1".into()],
        team_id: None,
        visibility: Visibility::Campaign,
        cancelled: false,
    };
    service.create_session(&co, session).await.unwrap();

    // Before the session, online: both phones join; the volunteer signs up; the captain's phone
    // gets its grant; both sync and hold the session's turf sealed, with the campaign's key.
    let cap_phone = Store::open(dir.path().join("captain.db"), None).unwrap();
    let lea_phone = Store::open(dir.path().join("lea.db"), None).unwrap();
    let cap_join =
        doorstep_core::sync::join(&cap_phone, &base, phone_code["join_code"].as_str().unwrap()).await.unwrap();
    let lea_join = doorstep_core::sync::join(&lea_phone, &base, &lea_code).await.unwrap();
    assert_eq!((cap_join.volunteer_id.as_str(), lea_join.volunteer_id.as_str()), ("cap", "lea"));
    let cap_net = HttpTransport::new(&base, Some(cap_join.token)).unwrap();
    let lea_net = HttpTransport::new(&base, Some(lea_join.token)).unwrap();
    // Léa's phone lists the session and signs up with no network: decided on the phone by the
    // rule book, kept in the outbox, pushed at the next sync.
    let first = sync(&lea_phone, &lea_net, policy(), &()).await.unwrap().unwrap();
    assert_eq!(first.pull.turfs_updated, 0, "nothing to hold before signing up");
    let listed = lea_phone.sessions().unwrap();
    assert_eq!((listed.len(), listed[0].standing, listed[0].places_left), (1, None, 12));
    let signed = lea_phone.sign_up("s-samedi", SignupKind::SignUp).unwrap();
    assert_eq!((signed.standing, signed.places_left, signed.pending), (Some(Attendance::SignedUp), 11, true));
    assert!(
        matches!(lea_phone.sign_up("s-samedi", SignupKind::Confirm), Ok(v) if v.standing == Some(Attendance::Confirmed))
    );
    for (phone, net) in [(&cap_phone, &cap_net), (&lea_phone, &lea_net)] {
        let r = sync(phone, net, policy(), &()).await.unwrap().unwrap();
        assert_eq!(r.pull.turfs_updated, 1);
        let turfs = phone.turfs().unwrap();
        assert_eq!((turfs.len(), turfs[0].id.as_str(), turfs[0].sealed), (1, "t1", true));
        assert!(phone.campaign_key().unwrap().is_some());
    }
    let after = lea_phone.sessions().unwrap();
    assert_eq!((after[0].standing, after[0].pending, after[0].places_left), (Some(Attendance::Confirmed), false, 11));
    assert!(cap_phone.sessions().unwrap()[0].captain);
    request_grant(&cap_phone, &cap_net, "s-samedi").await.unwrap().unwrap();
    // Sealed: nothing is knocked before a captain hands it out.
    let pkg = lea_phone.export_turf("t1").unwrap();
    let mut streets: Vec<String> = pkg.buildings.iter().map(|b| b.street.clone()).collect();
    streets.sort();
    streets.dedup();
    assert!(streets.len() >= 2, "{streets:?}");
    let (s1, s2) = (streets[0].clone(), streets[1].clone());
    let d1 = doors_on(&lea_phone, "t1", &s1);
    let d2 = doors_on(&lea_phone, "t1", &s2);
    assert!(matches!(lea_phone.record_knock(knock(&d1[0])), Err(CoreError::Sealed(_))));

    // At the meeting point, no network at all: Léa scans the captain's check-in code; a code
    // that is not one is refused and changes nothing.
    let checkin = cap_phone.checkin_code("s-samedi", 60).unwrap();
    assert!(matches!(lea_phone.check_in("DSC1.bonjour"), Err(CoreError::Handoff(HandoffError::Malformed))));
    let checked = lea_phone.check_in(&checkin).unwrap();
    assert_eq!((checked.standing, checked.pending), (Some(Attendance::CheckedIn), true));
    // Then the captain hands s1 to Léa and keeps s2.
    let code = cap_phone.give_handoff("s-samedi", "lea", "t1", Some(s1.clone()), 180).unwrap();
    assert!(code.qr_text.len() <= 1_200, "{} chars", code.qr_text.len());
    cap_phone.give_handoff("s-samedi", "cap", "t1", Some(s2.clone()), 180).unwrap();
    // A code for someone else is refused by Léa's phone; hers opens the street she already holds.
    let other = cap_phone.give_handoff("s-samedi", "noe", "t1", None, 60).unwrap();
    assert!(matches!(lea_phone.receive_handoff(&other.qr_text), Err(CoreError::Handoff(HandoffError::NotForMe))));
    let lease = lea_phone.receive_handoff(&code.qr_text).unwrap();
    assert_eq!(
        (lease.street.as_deref(), lease.doors as usize, lease.state.as_str()),
        (Some(s1.as_str()), d1.len(), "pending")
    );
    // Both knock, each on their own street only.
    let mut made = Vec::new();
    for d in &d1 {
        made.push(lea_phone.record_knock(knock(d)).unwrap().id);
    }
    assert!(matches!(lea_phone.record_knock(knock(&d2[0])), Err(CoreError::Sealed(_))));
    for d in &d2 {
        made.push(cap_phone.record_knock(knock(d)).unwrap().id);
    }
    assert!(matches!(cap_phone.record_knock(knock(&d1[0])), Err(CoreError::Sealed(_))));

    // Later, both sync (Léa first): every knock lands once; the leases are recorded once each
    // (the captain's copy of Léa's is a duplicate); the streets are theirs on the server.
    for (phone, net) in [(&lea_phone, &lea_net), (&cap_phone, &cap_net)] {
        let r = sync(phone, net, policy(), &()).await.unwrap().unwrap();
        assert_eq!((r.rejected, r.pending_after), (0, 0), "{r:?}");
    }
    let held = store.reports(&campaign.id).await.unwrap();
    let mut on_server: Vec<String> = held.iter().map(|r| r.report.id.clone()).collect();
    on_server.sort();
    made.sort();
    assert_eq!(on_server, made, "every knock once");
    assert!(held.iter().all(|r| !r.overlap), "knocks under an accepted lease are no overlaps");
    let by = |who: &str| held.iter().filter(|r| r.report.volunteer_id == who).count();
    assert_eq!((by("lea"), by("cap")), (d1.len(), d2.len()));
    let states = |phone: &Store| -> Vec<String> { phone.leases().unwrap().into_iter().map(|l| l.state).collect() };
    assert!(states(&lea_phone).iter().all(|s| s == "accepted"), "{:?}", states(&lea_phone));
    // The code made for "noe", who is nobody in this campaign: refused by the server (held).
    let noe = cap_phone.leases().unwrap().into_iter().find(|l| l.volunteer_id == "noe").unwrap();
    assert_eq!(noe.state, "held");
    let cap_states: Vec<String> =
        cap_phone.leases().unwrap().into_iter().filter(|l| l.volunteer_id != "noe").map(|l| l.state).collect();
    assert!(cap_states.iter().all(|s| s == "accepted" || s == "duplicate"), "{cap_states:?}");
    assert!(cap_states.contains(&"duplicate".to_string()), "Léa brought hers in first: {cap_states:?}");
    let standings = store.standings("lea").await.unwrap();
    assert_eq!(standings, vec![("s-samedi".to_string(), Attendance::CheckedIn)]);

    // After one more sync each phone holds what the server says: its street as a turf of its
    // own (open), the rest of the session's turf still sealed; the checksums agree.
    for (phone, net, who, street) in [(&lea_phone, &lea_net, "lea", &s1), (&cap_phone, &cap_net, "cap", &s2)] {
        sync(phone, net, policy(), &()).await.unwrap().unwrap();
        let turfs = phone.turfs().unwrap();
        let own: Vec<_> = turfs.iter().filter(|t| !t.sealed).collect();
        assert_eq!(own.len(), 1, "{who}: {turfs:?}");
        let server_own = store.turfs_of(who, now).await.unwrap();
        assert_eq!(server_own.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [own[0].id.as_str()]);
        let pkg = phone.export_turf(&own[0].id).unwrap();
        assert!(pkg.buildings.iter().all(|b| &b.street == street), "{who}: only their street");
        let server_pkg = store.turf_package(&own[0].id).await.unwrap().unwrap();
        assert_eq!(doorstep_protocol::turf_checksum(&pkg), doorstep_protocol::turf_checksum(&server_pkg));
        let sealed = phone.export_turf("t1").unwrap();
        assert!(sealed.buildings.iter().all(|b| b.street != s1 && b.street != s2), "{who}: both streets left t1");
    }
}
