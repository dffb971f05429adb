//! How long the dashboard's reads take as a campaign grows: `progress`, `map/buildings` and
//! `results` for a coordinator (the whole campaign) and for a captain (one team: a turf in 20), on the
//! embedded SQLite store, after `COPIES` copies of the Nantes centre import (≈ 13,500 doors each,
//! shifted apart) cut into turfs of 50 buildings, with one knock report for every second door.
//! Each figure is the median of 3 calls. Every open dashboard makes one `progress` and one
//! `map/buildings` call per live update (throttled). The baseline column reads every door and
//! report of the reach and derives the same figures in memory (`doorstep_tests::
//! dashboard_reference`): how each call worked before the counting moved into the database.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-dashboard-bench -- [COPIES, default 8] [postgres]`
//! (`postgres`: on a database made on `DATABASE_URL`'s server instead of an SQLite file)
//! (`DOORSTEP_DASH_PARTS=1` also times the three store reads every call makes, on stderr).

use std::sync::Arc;
use std::time::Instant;

use doorstep_protocol::{Answer, AnswerValue, JoinRequest, PROTOCOL_VERSION, PushRequest};
use doorstep_server::admin::Staff;
use doorstep_server::dashboard::{MapView, ResultsFilter};
use doorstep_server::people::TeamRequest;
use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, User};
use doorstep_tests::dashboard_reference::Reach;

#[tokio::main]
async fn main() {
    let copies: usize = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(8);
    let postgres = std::env::args().nth(2).is_some_and(|a| a == "postgres");
    let dir = tempfile::tempdir().unwrap();
    let pg = if postgres { Some(doorstep_tests::TestDatabase::create().await) } else { None };
    let store: Arc<dyn ServerStore> = match &pg {
        Some(db) => Arc::new(doorstep_server::store::postgres::PgStore::connect(&db.url, 4).await.unwrap()),
        // DOORSTEP_DASH_DB keeps the SQLite file there (to look at query plans).
        None => Arc::new(
            SqliteStore::open(std::env::var("DOORSTEP_DASH_DB").map_or(dir.path().join("dash.db"), Into::into))
                .unwrap(),
        ),
    };
    let service = Service::new(store.clone());
    let (campaign, b0, e0, d0) = doorstep_tests::server_import(usize::MAX);
    service.create_campaign(&campaign).await.unwrap();
    let t = Instant::now();
    let (mut buildings, mut doors) = (Vec::new(), Vec::new());
    for k in 0..copies {
        let tag = |id: &str| format!("{id}-c{k}");
        let (mut bs, mut es, mut ds) = (b0.clone(), e0.clone(), d0.clone());
        for b in &mut bs {
            b.id = tag(&b.id);
            b.lat += 0.03 * k as f64;
        }
        for e in &mut es {
            e.id = tag(&e.id);
            e.building_id = tag(&e.building_id);
        }
        for d in &mut ds {
            d.id = tag(&d.id);
            d.building_id = tag(&d.building_id);
            d.entrance_id = d.entrance_id.as_deref().map(tag);
        }
        store.import(&campaign.id, &doorstep_tests::import_of(&bs, &es, &ds)).await.unwrap();
        buildings.extend(bs);
        doors.extend(ds);
    }
    let import_s = t.elapsed().as_secs_f64();
    // Turfs of 50 buildings, every one held by the bench volunteer; two teams, a captain for one.
    for (team, captain) in [("nord", "cap-nord"), ("sud", "cap-sud")] {
        store
            .create_user(&User {
                id: captain.into(),
                campaign_id: campaign.id.clone(),
                role: Role::Captain,
                display_name: captain.into(),
                team_id: None,
            })
            .await
            .unwrap();
        let req = TeamRequest { id: team.into(), name: team.into(), captains: vec![captain.into()] };
        service.create_team(&doorstep_tests::coordinator(&campaign.id), req).await.unwrap();
    }
    let code = service.invite_volunteer(&campaign.id, "vol-bench", "Bench").await.unwrap();
    let mut turf_of = std::collections::HashMap::new();
    for (i, chunk) in buildings.chunks(50).enumerate() {
        let id = format!("t{i:05}");
        let ids: Vec<String> = chunk.iter().map(|b| b.id.clone()).collect();
        // The north team holds one turf in twenty (a captain of a few volunteers among many).
        let team = if i % 20 == 0 { "nord" } else { "sud" };
        store.create_turf(&campaign.id, &id, &id, Some(team), &ids).await.unwrap();
        store.assign_turf(&id, Some("vol-bench"), None).await.unwrap();
        for b in chunk {
            turf_of.insert(b.id.clone(), id.clone());
        }
    }
    let turfs = buildings.len().div_ceil(50);
    let joined =
        service.join(JoinRequest { protocol: PROTOCOL_VERSION, code, device_id: "dev-bench".into() }).await.unwrap();
    let session = service.authenticate(&joined.token).await.unwrap();
    let setup_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let knocked: Vec<_> = doors.iter().step_by(2).collect();
    for (c, chunk) in knocked.chunks(500).enumerate() {
        let reports = chunk
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let n = (c * 500 + i) as u32;
                let mut r =
                    doorstep_tests::report(n, &campaign.id, &turf_of[&d.building_id], &d.id, "vol-bench", "dev-bench");
                // Knocks a minute apart, each with a position.
                r.hlc.millis += i64::from(n) * 60_000;
                r.position = Some(doorstep_protocol::Position { lat: 47.21, lon: -1.55, accuracy_m: Some(6.0) });
                if n.is_multiple_of(3) {
                    // A conversation, with the survey's answers (counted by `results`).
                    r.result_code = "contact_made".into();
                    r.answers = vec![
                        Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
                        Answer {
                            question_id: "intent".into(),
                            value: AnswerValue::Choice { value: ["oui", "non"][n as usize % 2].into() },
                        },
                    ];
                }
                r
            })
            .collect();
        let push = PushRequest { protocol: PROTOCOL_VERSION, device_id: "dev-bench".into(), reports };
        let r = service.push(&session, push).await.unwrap();
        assert!(
            r.results.iter().all(|x| x.status == doorstep_protocol::ItemStatus::Accepted),
            "{:?}",
            r.results.iter().find(|x| x.status != doorstep_protocol::ItemStatus::Accepted)
        );
    }
    let push_s = t.elapsed().as_secs_f64();
    // What the server does after each import and cut and every hour: planner statistics.
    let t = Instant::now();
    store.optimize().await.unwrap();
    let optimize_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{} doors, {} buildings, {turfs} turfs, {} reports (imported in {import_s:.1} s, setup {setup_s:.1} s, pushed in {push_s:.1} s, planner statistics in {optimize_ms:.0} ms)",
        doors.len(),
        buildings.len(),
        knocked.len()
    );
    let coordinator = doorstep_tests::coordinator(&campaign.id);
    let captain = Staff {
        user: User {
            id: "cap-nord".into(),
            campaign_id: campaign.id.clone(),
            role: Role::Captain,
            display_name: "cap-nord".into(),
            team_id: None,
        },
        teams: Some(vec!["nord".into()]),
    };
    if std::env::var_os("DOORSTEP_DASH_PARTS").is_some() {
        use doorstep_server::store::dash;
        for (who, teams) in [("coordinator", None), ("captain", Some(vec!["nord".to_string()]))] {
            let q = dash::DashQuery::new(&campaign, teams);
            macro_rules! part {
                ($name:literal, $f:expr) => {{
                    let q = q.clone();
                    let t = Instant::now();
                    let n = doorstep_server::store::typed_read(store.as_ref(), move |tx| {
                        Box::pin(async move { $f(tx, q).await.map(|v| v.len()) })
                    })
                    .await
                    .unwrap();
                    eprintln!("{who} {}: {n} rows in {:.0} ms", $name, t.elapsed().as_secs_f64() * 1000.0);
                }};
            }
            part!("turfs", |tx, q: dash::DashQuery| async move { dash::turfs(tx, &q).await });
            part!("turf_tallies", |tx, q: dash::DashQuery| async move {
                doorstep_server::store::ops::tallies::turf_tallies(tx, &q.campaign_id).await
            });
            part!("building_doors", |tx, q: dash::DashQuery| async move {
                dash::building_doors(tx, &q, &dash::MapPart::default()).await
            });
            part!("volunteer_tallies", |tx, q: dash::DashQuery| async move {
                doorstep_server::store::ops::tallies::volunteer_tallies(tx, &q.campaign_id).await
            });
            part!("hour_tallies", |tx, q: dash::DashQuery| async move {
                doorstep_server::store::ops::tallies::hour_tallies(tx, &q.campaign_id).await
            });
            part!("positions", |tx, q: dash::DashQuery| async move {
                doorstep_server::store::ops::tallies::positions(tx, &q.campaign_id).await
            });
            part!("overlaps", |tx, q: dash::DashQuery| async move { dash::overlaps(tx, &q).await });
            let w = dash::ResultsWhere::default();
            part!("conversation_bodies", |tx, q: dash::DashQuery| async move {
                dash::conversation_bodies(tx, &q, &w).await
            });
        }
    }
    // The map by part (issue 21): the squares of 0.1° over the whole campaign (the first view of a
    // large campaign), and the buildings of a view at zoom 16 on a 1280 × 820 screen with a quarter
    // on each side (0.034° by 0.017° at Nantes), around the campaign's first building.
    let (lat0, lon0) = (b0[0].lat, b0[0].lon);
    let squares = MapView { level: Some(1), ..MapView::default() };
    let close = MapView {
        south: Some(lat0 - 0.0085),
        north: Some(lat0 + 0.0085),
        west: Some(lon0 - 0.017),
        east: Some(lon0 + 0.017),
        ..MapView::default()
    };
    println!(
        "| who | progress ms | map/buildings ms | results ms | baseline: every door and report read and derived in memory ms | map by part: squares of 0.1° ms | map by part: buildings of a zoom-16 view ms | results with a time window (all time: every standing report read) ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (who, st) in [("coordinator", &coordinator), ("captain (one turf in 20)", &captain)] {
        // The baseline last: dropping its whole-campaign structures slowed the next call's timing.
        let mut cols = Vec::new();
        for call in [0, 1, 2, 4, 5, 6, 3] {
            let mut times = Vec::new();
            let mut rows = 0;
            for _ in 0..3 {
                let t = Instant::now();
                match call {
                    0 => drop(service.progress(st).await.unwrap()),
                    1 => drop(service.map_buildings(st, &MapView::default()).await.unwrap()),
                    4 if st.teams.is_none() => rows = service.map_cells(st, 1, &squares).await.unwrap().len(),
                    4 => {}
                    5 => rows = service.map_buildings(st, &close).await.unwrap().len(),
                    2 => drop(service.results(st, &ResultsFilter::default()).await.unwrap()),
                    // A time window is read from the reports in it (the counts have no time).
                    6 => {
                        let f = ResultsFilter { from_ms: Some(0), ..ResultsFilter::default() };
                        drop(service.results(st, &f).await.unwrap())
                    }
                    // The way every call worked before the aggregates moved into SQL.
                    _ => drop(Reach::read(store.as_ref(), st).await.expected()),
                }
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            cols.push((
                call,
                match call {
                    4 if st.teams.is_some() => "— (coordinators only)".to_string(),
                    4 => format!("{:.1} ({rows} squares)", times[1]),
                    5 => format!("{:.1} ({rows} buildings)", times[1]),
                    _ => format!("{:.0}", times[1]),
                },
            ));
        }
        cols.sort_by_key(|c| c.0);
        println!("| {who} | {} |", cols.into_iter().map(|c| c.1).collect::<Vec<_>>().join(" | "));
    }
    drop(service);
    drop(store);
    if let Some(db) = pg {
        db.drop_now().await;
    }
}
