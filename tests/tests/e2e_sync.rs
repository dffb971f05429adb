//! End to end over real HTTP on loopback: the sync server on an SQLite file and 20 devices, each a
//! real core store on its own file. Devices join with one-time codes, pull their turf, knock while
//! offline (some behind a network that fails their first attempts), the north team's captain moves
//! a street from one volunteer to another midway over the staff API (and is refused for a volunteer
//! of another team), the coordinator revokes one device over the API, and everyone syncs. Then: the server
//! holds every acknowledged report exactly once, the moved street's late reports are flagged as
//! overlaps, each device holds exactly its current scope (the changed turfs arrived as deltas), and
//! the revoked one is wiped after its reports were pushed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use doorstep_core::Store;
use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, Transport, TransportError, sync};
use doorstep_protocol::{JoinRequest, PROTOCOL_VERSION, PullRequest, PullResponse, PushRequest, PushResponse, Target};
use doorstep_server::service::Service;
use doorstep_server::store::ServerStore;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;

const DEVICES: usize = 20;
const PER_TURF: usize = 20;

/// A network that fails the first `fail_first` calls, then works.
struct Flaky {
    inner: HttpTransport,
    fail_first: AtomicU32,
    failures: AtomicU32,
}

impl Transport for Flaky {
    async fn push(&self, r: &PushRequest) -> Result<PushResponse, TransportError> {
        if self.fail_first.load(Ordering::SeqCst) > 0 {
            self.fail_first.fetch_sub(1, Ordering::SeqCst);
            self.failures.fetch_add(1, Ordering::SeqCst);
            return Err(TransportError::Unavailable("simulated: no signal".into()));
        }
        self.inner.push(r).await
    }
    async fn pull(&self, r: &PullRequest) -> Result<PullResponse, TransportError> {
        if self.fail_first.load(Ordering::SeqCst) > 0 {
            self.fail_first.fetch_sub(1, Ordering::SeqCst);
            self.failures.fetch_add(1, Ordering::SeqCst);
            return Err(TransportError::Unavailable("simulated: connection reset".into()));
        }
        self.inner.pull(r).await
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        first_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(50),
        max_attempts: 10,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_devices_offline_reassignment_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(DEVICES * PER_TURF);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = doorstep_server::api::app(service.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // Staff: a coordinator, and a captain leading the north team (devices 0–9).
    let co = doorstep_server::admin::Staff {
        user: doorstep_server::store::User {
            id: "coord".into(),
            campaign_id: campaign.id.clone(),
            role: doorstep_server::store::Role::Coordinator,
            display_name: "C".into(),
            team_id: None,
        },
        teams: None,
    };
    store.create_user(&co.user).await.unwrap();
    let coord_token = service.issue_staff_token("coord").await.unwrap();
    let captain_token = service
        .invite(
            &co,
            doorstep_server::people::InviteRequest {
                email: None,
                name: "Nour".into(),
                user_id: Some("cap-nord".into()),
                role: doorstep_server::store::Role::Captain,
                team_id: None,
            },
        )
        .await
        .unwrap()
        .token
        .unwrap();
    for (team, captains) in [("nord", vec!["cap-nord".to_string()]), ("sud", vec![])] {
        let req = doorstep_server::people::TeamRequest { id: team.into(), name: team.into(), captains };
        service.create_team(&co, req).await.unwrap();
    }

    // Turfs of 20 buildings in file order of the nearest addresses: compact and street-shaped.
    let mut devices = Vec::new();
    for i in 0..DEVICES {
        let turf = format!("t{i:02}");
        let team = if i < DEVICES / 2 { "nord" } else { "sud" };
        let ids: Vec<String> = buildings[i * PER_TURF..(i + 1) * PER_TURF].iter().map(|b| b.id.clone()).collect();
        store.create_turf(&campaign.id, &turf, &format!("Tournée {i}"), Some(team), &ids).await.unwrap();
        let vol = format!("vol-{i:02}");
        let code = service
            .invite(
                &co,
                doorstep_server::people::InviteRequest {
                    email: None,
                    name: format!("Bénévole {i}"),
                    user_id: Some(vol.clone()),
                    role: doorstep_server::store::Role::Volunteer,
                    team_id: Some(team.into()),
                },
            )
            .await
            .unwrap()
            .join_code
            .unwrap();
        store.assign_turf(&turf, Some(&vol), None).await.unwrap();
        let st = Store::open(dir.path().join(format!("device-{i}.db")), None).unwrap();
        let join = HttpTransport::new(&base, None)
            .unwrap()
            .join(&JoinRequest { protocol: PROTOCOL_VERSION, code, device_id: st.device_id().to_string() })
            .await
            .unwrap();
        let transport = Flaky {
            inner: HttpTransport::new(&base, Some(join.token)).unwrap(),
            fail_first: AtomicU32::new(if i % 4 == 0 { 3 } else { 0 }),
            failures: AtomicU32::new(0),
        };
        let r = sync(&st, &transport, policy(), &()).await.unwrap().unwrap();
        assert_eq!(r.pull.turfs_updated, 1, "device {i} got its turf");
        devices.push((st, transport, turf));
    }

    // Offline: every device knocks its first 12 doors.
    let mut made: HashMap<usize, Vec<String>> = HashMap::new();
    for (i, (st, _, turf)) in devices.iter().enumerate() {
        let route = st.compute_route(turf, None, None, false).unwrap();
        for door in route.remaining.iter().flat_map(|s| &s.doors).take(12) {
            let k = st.record_knock(doorstep_tests::knock_on(door.id.clone(), "not_home"));
            made.entry(i).or_default().push(k.unwrap().id);
        }
    }

    // Midway, the north captain moves a street from device 0's turf to device 1's volunteer, over
    // HTTP. The same move towards a south volunteer is refused and changes nothing.
    let t00 = service.turf_package("t00").await.unwrap().unwrap();
    let street = t00.buildings[0].street.clone();
    let moved: Vec<String> = t00.buildings.iter().filter(|b| b.street == street).map(|b| b.id.clone()).collect();
    let http = reqwest::Client::new();
    let reassign = |to: &str| {
        http.post(format!("{base}/api/v1/reassign"))
            .bearer_auth(&captain_token)
            .json(&serde_json::json!({"turf_id": "t00", "street": street, "to_volunteer": to}))
            .send()
    };
    let refused = reassign("vol-15").await.unwrap();
    assert_eq!(refused.status(), 403, "a captain cannot give a street to another team");
    let done = reassign("vol-01").await.unwrap();
    assert_eq!(done.status(), 200);
    let done: serde_json::Value = done.json().await.unwrap();
    assert_eq!((done["to_turf"].as_str(), done["buildings_moved"].as_u64()), (Some("t01"), Some(moved.len() as u64)));
    // Device 0, still offline, knocks every door of that street again.
    let moved_doors: Vec<String> =
        t00.doors.iter().filter(|d| moved.contains(&d.building_id)).map(|d| d.id.clone()).collect();
    for d in &moved_doors {
        let k = devices[0].0.record_knock(doorstep_tests::knock_on(d.clone(), "no_answer")).unwrap();
        made.entry(0).or_default().push(k.id);
    }
    // Device 19 is lost; the coordinator revokes it over HTTP before it syncs again.
    let dev19 = devices[19].0.device_id().to_string();
    let r = http.post(format!("{base}/api/v1/devices/{dev19}/revoke")).bearer_auth(&coord_token).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Everyone syncs, concurrently.
    let devices = Arc::new(devices);
    let mut tasks = Vec::new();
    for i in 0..DEVICES {
        let devices = devices.clone();
        tasks.push(tokio::spawn(async move {
            let (st, tr, _) = &devices[i];
            sync(st, tr, policy(), &()).await.unwrap().unwrap()
        }));
    }
    let mut reports = Vec::new();
    for t in tasks {
        reports.push(t.await.unwrap());
    }

    // Every acknowledged report is on the server exactly once.
    let all_made: HashSet<String> = made.values().flatten().cloned().collect();
    let on_server = store.reports(&campaign.id).await.unwrap();
    let ids: Vec<String> = on_server.iter().map(|r| r.report.id.clone()).collect();
    let unique: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), unique.len(), "no report twice");
    // The revoked device pushed what it held before wiping: kept, held for a captain's review
    // (not counted); every other report is counted.
    let dev19_made: HashSet<String> = made.get(&19).into_iter().flatten().cloned().collect();
    assert!(!dev19_made.is_empty());
    let held: HashSet<String> =
        store.held_reports(&campaign.id).await.unwrap().into_iter().map(|h| h.report.id).collect();
    assert_eq!(held, dev19_made, "the revoked device's reports are held, none lost");
    let counted: HashSet<String> = all_made.difference(&dev19_made).cloned().collect();
    assert_eq!(unique, counted, "every other report made is on the server");
    for (i, (st, tr, _)) in devices.iter().enumerate() {
        assert_eq!(st.pending_count().unwrap(), 0, "device {i} drained its outbox");
        if i % 4 == 0 {
            assert!(tr.failures.load(Ordering::SeqCst) >= 3, "device {i} went through failures");
        }
    }
    // The late reports on the moved street are flagged for the captain, the others are not.
    let overlaps: HashSet<String> = on_server.iter().filter(|r| r.overlap).map(|r| r.report.id.clone()).collect();
    let late: HashSet<String> = made[&0][made[&0].len() - moved_doors.len()..].iter().cloned().collect();
    assert!(late.is_subset(&overlaps), "late reports on the moved street are overlaps");
    let early_on_moved: usize = on_server
        .iter()
        .filter(|r| r.report.device_id == devices[0].0.device_id() && !late.contains(&r.report.id))
        .filter(|r| matches!(&r.report.target, Target::Door { id } if moved_doors.contains(id)))
        .count();
    assert_eq!(overlaps.len(), late.len() + early_on_moved, "only reports pushed after the move on moved doors");

    // Each device holds exactly its current scope.
    for (i, (st, _, turf)) in devices.iter().enumerate() {
        let held = st.turfs().unwrap();
        if i == 19 {
            assert!(held.is_empty(), "the revoked device is wiped");
            assert!(st.is_wiped().unwrap());
            assert!(reports[i].pull.wiped);
            continue;
        }
        assert_eq!(held.len(), 1);
        let server = service.turf_package(turf).await.unwrap().unwrap();
        let mine = st.export_turf(turf).unwrap();
        assert_eq!(doorstep_protocol::turf_checksum(&mine), doorstep_protocol::turf_checksum(&server), "device {i}");
    }
    // The two devices whose turfs changed got deltas, not whole turfs.
    assert_eq!((reports[0].pull.deltas_applied, reports[1].pull.deltas_applied), (1, 1));
    let t01 = devices[1].0.export_turf("t01").unwrap();
    assert!(moved.iter().all(|b| t01.buildings.iter().any(|x| &x.id == b)), "the street arrived at device 1");
    let t00_now = devices[0].0.export_turf("t00").unwrap();
    assert!(moved.iter().all(|b| t00_now.buildings.iter().all(|x| &x.id != b)), "and left device 0");
    eprintln!(
        "{} reports on the server, {} overlaps, {} moved doors, {} retried devices",
        on_server.len(),
        overlaps.len(),
        moved_doors.len(),
        DEVICES.div_ceil(4)
    );
}
