//! Packages bounded by doors, not history (issue 21, Deliver 4), and the coordinator's counters
//! (Deliver 2), on both backends: the standing reports the ingest keeps per door (`door_standing`)
//! equal their definition — the pair [`standing_pair`] computes from every report on the door —
//! and the counters per turf and per (turf, volunteer) (`ops::counters`) equal the dashboard's
//! definitions computed from every door and report (`doorstep_tests::dashboard_reference`), after
//! random pushes from several devices (door and building reports, conversations, corrections,
//! duplicates, a held report accepted, a street moved, an overlap reviewed, new doors imported, a
//! script whose code changes outcome, the personal data purged), and a database upgraded from
//! schema 17 gets the same rows from the reports it held.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use doorstep_protocol::status::{DeviceFact, StatusFact, standing_pair};
use doorstep_protocol::{KnockReport, Target};
use doorstep_server::store::postgres::PgStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Device, Role, ServerStore, StoreOps, User};
use doorstep_tests::{TestDatabase, ingest, server_import};

const NOW: i64 = 1_780_000_000_000;
const CAMPAIGN: &str = "nantes-2026";

fn device(user: &str, id: &str) -> Device {
    Device {
        device_id: id.into(),
        user_id: user.into(),
        campaign_id: CAMPAIGN.into(),
        expires_ms: NOW + 1_000_000,
        revoked_ms: None,
        wiped_ms: None,
    }
}

/// `(door, rank) → (report, device, outcome)` as kept by the store, for every turf.
async fn kept(s: &dyn ServerStore) -> BTreeMap<(String, i64), (String, String, String)> {
    let mut out = BTreeMap::new();
    for t in ["t1", "t2"] {
        for r in s.turf_standing(t).await.unwrap() {
            out.insert((r.door_id.clone(), r.rank), (r.report_id, r.device_id, r.outcome.as_str().to_string()));
        }
    }
    out
}

/// The same, from the definition: every report on each door, through the protocol's pair.
async fn defined(s: &dyn ServerStore) -> BTreeMap<(String, i64), (String, String, String)> {
    let campaign = s.campaign(CAMPAIGN).await.unwrap().unwrap();
    let mut out = BTreeMap::new();
    for t in ["t1", "t2"] {
        let (facts, doors) = s.turf_facts(t).await.unwrap();
        for (door, building) in &doors {
            let on_door: Vec<DeviceFact> = facts
                .iter()
                .filter(|f| f.building_id == *building && f.door_id.as_ref().is_none_or(|d| d == door))
                .filter_map(|f| {
                    let outcome = campaign.result_code(&f.result_code)?.outcome;
                    let fact =
                        StatusFact { id: f.id.clone(), supersedes: f.supersedes.clone(), outcome, rejected: false };
                    Some(DeviceFact { fact, device_id: f.device_id.clone() })
                })
                .collect();
            let (a, b) = standing_pair(&on_door);
            for (rank, i) in [(0, a), (1, b)] {
                if let Some(i) = i {
                    let f = &on_door[i];
                    out.insert(
                        (door.clone(), rank),
                        (f.fact.id.clone(), f.device_id.clone(), f.fact.outcome.as_str().to_string()),
                    );
                }
            }
        }
    }
    out
}

/// The counters as kept, per turf (`""`: no turf) and per volunteer: (doors, knocked, contacted,
/// knocks, overlaps, time in ms).
type Figures = BTreeMap<String, (i64, i64, i64, i64, i64, i64)>;

async fn counted(s: &dyn ServerStore) -> (Figures, Figures) {
    use doorstep_server::store::ops::tallies;
    let (turfs, knocks) = doorstep_server::store::typed_read(s, |tx| {
        Box::pin(async move {
            Ok((tallies::turf_tallies(tx, CAMPAIGN).await?, tallies::volunteer_tallies(tx, CAMPAIGN).await?))
        })
    })
    .await
    .unwrap();
    let (mut by_turf, mut by_vol) = (Figures::new(), Figures::new());
    for t in turfs {
        let c = t.counts;
        let e = by_turf.entry(t.turf_id.unwrap_or_default()).or_default();
        (e.0, e.1, e.2) = (c.doors, c.knocked, c.contacted);
    }
    for k in knocks {
        let c = k.counts;
        for e in [by_turf.entry(k.turf_id).or_default(), by_vol.entry(k.volunteer_id).or_default()] {
            (e.3, e.4, e.5) = (e.3 + c.knocks, e.4 + c.overlaps, e.5 + c.time_ms);
        }
    }
    by_turf.retain(|_, v| *v != Default::default());
    (by_turf, by_vol)
}

/// The same from the definitions, every door and report read (the coordinator's reach).
async fn counted_by_definition(s: &dyn ServerStore) -> (Figures, Figures) {
    let want =
        doorstep_tests::dashboard_reference::Reach::read(s, &doorstep_tests::coordinator(CAMPAIGN)).await.expected();
    let f = |x: &doorstep_tests::dashboard_reference::Figures| {
        (x.doors as i64, x.knocked as i64, x.contacted as i64, x.knocks as i64, x.overlaps as i64, x.ms)
    };
    let mut by_turf: Figures = want.turfs.iter().map(|(t, x)| (t.clone(), f(x))).collect();
    // The doors in no turf: the campaign's less every turf's.
    let in_turfs = want.turfs.values().fold((0, 0, 0), |a, x| (a.0 + x.doors, a.1 + x.knocked, a.2 + x.contacted));
    let c = &want.campaign;
    let none = ((c.doors - in_turfs.0) as i64, (c.knocked - in_turfs.1) as i64, (c.contacted - in_turfs.2) as i64);
    by_turf.insert(String::new(), (none.0, none.1, none.2, 0, 0, 0));
    by_turf.retain(|_, v| *v != Default::default());
    let by_vol = want.volunteers.iter().map(|(v, x)| (v.clone(), f(x))).collect();
    (by_turf, by_vol)
}

async fn counters_hold(s: &dyn ServerStore, when: &str) {
    use doorstep_server::store::ops::tallies;
    let (got, want) = (counted(s).await, counted_by_definition(s).await);
    assert_eq!(got.0, want.0, "turfs, {when}");
    assert_eq!(got.1, want.1, "volunteers, {when}");
    // The timeline per hour and each volunteer's latest position.
    let (hours, positions) = doorstep_server::store::typed_read(s, |tx| {
        Box::pin(
            async move { Ok((tallies::hour_tallies(tx, CAMPAIGN).await?, tallies::positions(tx, CAMPAIGN).await?)) },
        )
    })
    .await
    .unwrap();
    let by_hour: BTreeMap<(String, i64), (u64, u64)> =
        hours.into_iter().map(|(turf, hour, c)| ((turf, hour), (c.knocks as u64, c.contacts as u64))).collect();
    let reach = doorstep_tests::dashboard_reference::Reach::read(s, &doorstep_tests::coordinator(CAMPAIGN)).await;
    let want = reach.expected();
    assert_eq!(by_hour, want.turf_hours, "hours per turf, {when}");
    groups_hold(s, &got.0, &by_hour, when).await;
    // The results view's counts: the whole campaign, each turf, each polling station.
    let mut stations: Vec<String> = reach.buildings.values().filter_map(|b| b.1.clone()).collect();
    stations.sort();
    stations.dedup();
    let mut filters: Vec<(Option<String>, Option<String>)> = vec![(None, None)];
    filters.extend(["t1", "t2"].map(|t| (Some(t.to_string()), None)));
    filters.extend(stations.into_iter().map(|st| (None, Some(st))));
    for (turf, station) in filters {
        let q = doorstep_server::store::dash::DashQuery::new(&reach.campaign, None);
        let (t, st) = (turf.clone(), station.clone());
        let rows = doorstep_server::store::typed_read(s, move |tx| {
            Box::pin(async move {
                doorstep_server::store::ops::results::read(tx, &q, t.as_deref(), None, st.as_deref()).await
            })
        })
        .await
        .unwrap();
        let (mut n, mut codes, mut answers) = (0u64, BTreeMap::new(), BTreeMap::<String, BTreeMap<String, u64>>::new());
        for (kind, question, answer, count) in rows.into_iter().filter(|r| r.3 > 0) {
            match kind.as_str() {
                "code" => {
                    n += count;
                    codes.insert(question, count);
                }
                "answered" => {
                    answers.entry(question).or_default().insert(String::new(), count);
                }
                _ => {
                    answers.entry(question).or_default().insert(answer, count);
                }
            }
        }
        let (wn, mut wcodes, mut wanswers) = reach.results(turf.as_deref(), None, station.as_deref(), None, None);
        wcodes.retain(|_, v| *v > 0);
        wanswers.retain(|_, a| !a.is_empty());
        assert_eq!((n, codes, answers), (wn, wcodes, wanswers), "results of {turf:?} {station:?}, {when}");
    }
    let positions: BTreeMap<String, i64> = positions.into_iter().map(|(v, at, _)| (v, at)).collect();
    let wanted: BTreeMap<String, i64> = want.positions.iter().map(|(v, p)| (v.clone(), p.0)).collect();
    assert_eq!(positions, wanted, "positions, {when}");
    // The map's squares: at every level, the reference's doors, knocked and contacted doors per
    // building, gathered by the square of the building's position.
    use doorstep_server::store::ops::cells;
    let (squares, at) = doorstep_server::store::typed_read(s, |tx| {
        Box::pin(async move {
            let mut squares = Vec::new();
            for level in 0..cells::LEVELS.len() {
                squares.push(cells::read(tx, CAMPAIGN, level, (-90.0, -180.0, 90.0, 180.0), 1_000_000).await?);
            }
            let at = tx
                .rows("SELECT id, lat, lon FROM buildings WHERE campaign_id = $1", &doorstep_server::vals![CAMPAIGN])
                .await?;
            Ok((squares, at))
        })
    })
    .await
    .unwrap();
    let position: BTreeMap<String, (f64, f64)> =
        at.iter().map(|r| (r[0].text().unwrap(), (r[1].float().unwrap(), r[2].float().unwrap()))).collect();
    for (level, got) in squares.iter().enumerate() {
        let mut squares_wanted: BTreeMap<(i64, i64), (u64, u64, u64)> = BTreeMap::new();
        for (b, (doors, knocked, contacted, ..)) in &want.buildings {
            let (lat, lon) = position[b];
            let e = squares_wanted.entry(cells::cell_of(level, lat, lon)).or_default();
            *e = (e.0 + u64::from(*doors), e.1 + u64::from(*knocked), e.2 + u64::from(*contacted));
        }
        squares_wanted.retain(|_, v| v.0 > 0);
        let got: BTreeMap<(i64, i64), (u64, u64, u64)> = got
            .iter()
            .map(|c| {
                (
                    cells::cell_of(level, c.south + c.size / 2.0, c.west + c.size / 2.0),
                    (c.doors, c.knocked, c.contacted),
                )
            })
            .collect();
        assert_eq!(got, squares_wanted, "map squares at level {level}, {when}");
    }
}

/// The campaign's and each team's rows (`ops::groups`) equal the sums of their turfs' (proven
/// equal to the definitions above): figures and hours.
async fn groups_hold(s: &dyn ServerStore, turfs: &Figures, hours: &BTreeMap<(String, i64), (u64, u64)>, when: &str) {
    use doorstep_server::store::ops::groups;
    let (rows, team_of, by_group_hour) = doorstep_server::store::typed_read(s, |tx| {
        Box::pin(async move {
            let rows = groups::read(tx, CAMPAIGN, &["", "nord", "sud"]).await?;
            let team_of = tx
                .rows("SELECT id, team_id FROM turfs WHERE campaign_id = $1", &doorstep_server::vals![CAMPAIGN])
                .await?;
            let mut by_group_hour = BTreeMap::new();
            for g in ["", "nord", "sud"] {
                for (hour, h) in groups::hours(tx, CAMPAIGN, &[g]).await? {
                    by_group_hour.insert((g.to_string(), hour), (h.knocks as u64, h.contacts as u64));
                }
            }
            Ok((rows, team_of, by_group_hour))
        })
    })
    .await
    .unwrap();
    let team_of: HashMap<String, Option<String>> =
        team_of.iter().map(|r| (r[0].text().unwrap(), r[1].opt_text().unwrap())).collect();
    let got: Figures = rows
        .into_iter()
        .map(|(g, c)| {
            (
                g,
                (
                    c.doors.doors,
                    c.doors.knocked,
                    c.doors.contacted,
                    c.knocks.knocks,
                    c.knocks.overlaps,
                    c.knocks.time_ms,
                ),
            )
        })
        .filter(|(_, v)| *v != Default::default())
        .collect();
    let groups_of = |turf: &str| -> Vec<String> {
        std::iter::once(String::new()).chain(team_of.get(turf).cloned().flatten()).collect()
    };
    let mut want = Figures::new();
    for (turf, x) in turfs {
        for g in groups_of(turf) {
            let e = want.entry(g).or_default();
            *e = (e.0 + x.0, e.1 + x.1, e.2 + x.2, e.3 + x.3, e.4 + x.4, e.5 + x.5);
        }
    }
    want.retain(|_, v| *v != Default::default());
    assert_eq!(got, want, "the campaign's and teams' rows, {when}");
    let mut want_hours: BTreeMap<(String, i64), (u64, u64)> = BTreeMap::new();
    for ((turf, hour), (k, c)) in hours {
        for g in groups_of(turf) {
            let e = want_hours.entry((g, *hour)).or_default();
            *e = (e.0 + k, e.1 + c);
        }
    }
    assert_eq!(by_group_hour, want_hours, "the campaign's and teams' hours, {when}");
    // The results view's counts: each group's equal its turfs' (`result_tally`, checked above).
    let campaign = s.campaign(CAMPAIGN).await.unwrap().unwrap();
    for g in ["", "nord", "sud"] {
        let q = doorstep_server::store::dash::DashQuery::new(&campaign, None);
        let (got, want) = doorstep_server::store::typed_read(s, move |tx| {
            Box::pin(async move {
                let got = groups::results(tx, CAMPAIGN, &[g]).await?;
                let team = (!g.is_empty()).then_some(g);
                let want = doorstep_server::store::ops::results::read(tx, &q, None, team, None).await?;
                Ok((got, want))
            })
        })
        .await
        .unwrap();
        let nonzero = |v: Vec<(String, String, String, u64)>| -> Vec<_> { v.into_iter().filter(|r| r.3 > 0).collect() };
        let (mut got, mut want) = (nonzero(got), nonzero(want));
        got.sort();
        want.sort();
        assert_eq!(got, want, "results of group {g:?}, {when}");
    }
}

async fn random_history(s: Arc<dyn ServerStore>) {
    let (campaign, mut buildings, entrances, doors) = server_import(40);
    // Three polling stations, a few buildings in none (the results count by station).
    for (i, b) in buildings.iter_mut().enumerate() {
        b.polling_station = ["101", "102", "103"].get(i % 4).map(|s| s.to_string());
    }
    s.create_campaign(&campaign, NOW).await.unwrap();
    for v in ["vol-a", "vol-b", "vol-c"] {
        let u = User {
            id: v.into(),
            campaign_id: CAMPAIGN.into(),
            role: Role::Volunteer,
            display_name: v.into(),
            team_id: None,
        };
        s.create_user(&u).await.unwrap();
    }
    s.import(CAMPAIGN, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    for team in ["nord", "sud"] {
        let t = doorstep_server::store::Team {
            id: team.into(),
            campaign_id: CAMPAIGN.into(),
            name: team.into(),
            captains: vec![],
        };
        s.create_team(&t).await.unwrap();
    }
    s.create_turf(CAMPAIGN, "t1", "Tournée 1", Some("nord"), &ids[..25]).await.unwrap();
    s.create_turf(CAMPAIGN, "t2", "Tournée 2", None, &ids[25..]).await.unwrap();
    // vol-a on two phones, vol-b on one: all three on t1 (the holder changes as they go).
    let phones = [device("vol-a", "dev-a1"), device("vol-a", "dev-a2"), device("vol-b", "dev-b")];
    let t1_buildings = &ids[..25];
    let t1_doors: Vec<&String> =
        doors.iter().filter(|d| t1_buildings.contains(&d.building_id)).map(|d| &d.id).collect();
    let t1_doors: Vec<&str> = t1_doors.into_iter().map(String::as_str).collect();
    assert!(t1_doors.len() > 30, "buildings with several doors");
    let building_of: HashMap<&str, &str> = doors.iter().map(|d| (d.id.as_str(), d.building_id.as_str())).collect();
    let mut next = doorstep_tests::random_below(0x9e37_79b9_7f4a_7c15u64);
    let codes = ["not_home", "no_answer", "refused", "hostile", "vacant", "come_back", "contact_made"];
    let mut made: Vec<(usize, KnockReport)> = Vec::new();
    let mut n = 0u32;
    for round in 0..40 {
        let p = next(3) as usize;
        let phone = &phones[p];
        s.assign_turf("t1", Some(&phone.user_id), None).await.unwrap();
        let mut batch = Vec::new();
        for _ in 0..1 + next(6) {
            n += 1;
            let door = t1_doors[next(t1_doors.len() as u64) as usize];
            let mut r = doorstep_tests::report(n, CAMPAIGN, "t1", door, &phone.user_id, &phone.device_id);
            r.result_code = codes[next(codes.len() as u64) as usize].into();
            match next(6) {
                // A report on the whole building (an entrance no one opened).
                0 => r.target = Target::Building { id: building_of[door].to_string() },
                // A correction of one of this phone's own reports.
                1 => {
                    let own: Vec<&KnockReport> = made.iter().filter(|(q, _)| *q == p).map(|(_, r)| r).collect();
                    if let Some(o) = own.get(next(own.len().max(1) as u64) as usize) {
                        r.target = o.target.clone();
                        r.supersedes = Some(o.id.clone());
                    }
                }
                _ => {}
            }
            // A conversation is a person's, with the consent question the script requires; on a
            // whole building it becomes "not home".
            if r.result_code == "contact_made" {
                if matches!(r.target, Target::Building { .. }) {
                    r.result_code = "not_home".into();
                } else {
                    use doorstep_protocol::{Answer, AnswerValue};
                    r.answers = vec![
                        Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
                        Answer { question_id: "intent".into(), value: AnswerValue::Choice { value: "oui".into() } },
                    ];
                }
            }
            // Most knocks located.
            if next(4) > 0 {
                let lat = 47.2 + next(1000) as f64 * 1e-5;
                r.position = Some(doorstep_protocol::Position { lat, lon: -1.55, accuracy_m: Some(5.0) });
            }
            // Knocks minutes apart, now and then after a break.
            r.hlc.millis = NOW - 200 * 3_600_000 + (n as i64) * [60_000, 5 * 60_000, 45 * 60_000][next(3) as usize];
            batch.push(r);
        }
        // Now and then the same batch twice (a phone that never heard the answer).
        let times = if round % 7 == 3 { 2 } else { 1 };
        for _ in 0..times {
            let got = ingest(&*s, phone, &batch, NOW).await.unwrap();
            assert!(!got.iter().any(|g| matches!(g, doorstep_tests::Ingested::Rejected(_))), "{got:?}");
        }
        made.extend(batch.into_iter().map(|r| (p, r)));
        // Halfway, t2 given to a team (its rows follow it).
        if round == 20 {
            s.set_turf_team(CAMPAIGN, "t2", Some("sud")).await.unwrap();
        }
        if round % 10 == 9 {
            assert_eq!(kept(&*s).await, defined(&*s).await, "after round {round}");
            counters_hold(&*s, &format!("after round {round}")).await;
        }
    }
    // A report of a revoked phone, held, then accepted by a captain.
    let revoked = Device { revoked_ms: Some(NOW - 1), ..phones[2].clone() };
    s.assign_turf("t1", Some("vol-b"), None).await.unwrap();
    n += 1;
    let mut late = doorstep_tests::report(n, CAMPAIGN, "t1", t1_doors[0], "vol-b", "dev-b");
    late.result_code = "hostile".into();
    ingest(&*s, &revoked, std::slice::from_ref(&late), NOW).await.unwrap();
    assert!(!kept(&*s).await.values().any(|(id, ..)| *id == late.id), "a held report stands for nothing");
    s.review_held(CAMPAIGN, &late.id, true, "vol-a", NOW).await.unwrap().unwrap();
    let after = kept(&*s).await;
    assert_eq!(after.get(&(t1_doors[0].to_string(), 0)).map(|(.., o)| o.as_str()), Some("do_not_return"));
    assert_eq!(after, defined(&*s).await);
    counters_hold(&*s, "a held report accepted").await;
    let (turfs, vols) = counted(&*s).await;
    assert_eq!(vols.len(), 2, "two volunteers knocked");
    assert!(turfs["t1"].2 > 0 && turfs["t1"].2 < turfs["t1"].1, "some doors contacted, fewer than knocked: {turfs:?}");
    // A street moved to t2: its doors' rows follow the doors.
    let moved: Vec<String> = t1_buildings[..5].to_vec();
    let moved_doors: Vec<&str> =
        t1_doors.iter().copied().filter(|d| moved.iter().any(|b| building_of[d] == b.as_str())).collect();
    let rows_moved = |rows: &[doorstep_server::store::ops::standing::StandingRow]| {
        rows.iter().filter(|r| moved_doors.contains(&r.door_id.as_str())).count()
    };
    let before_move = rows_moved(&s.turf_standing("t1").await.unwrap());
    assert!(before_move > 0, "the moved street was knocked");
    s.move_buildings(CAMPAIGN, &moved, "t2", None).await.unwrap();
    assert_eq!(kept(&*s).await, defined(&*s).await);
    assert_eq!(rows_moved(&s.turf_standing("t2").await.unwrap()), before_move);
    assert_eq!(rows_moved(&s.turf_standing("t1").await.unwrap()), 0);
    counters_hold(&*s, "a street moved").await;
    // t1, knocked, given to the other team, then to none, then back.
    for team in [Some("sud"), None, Some("nord")] {
        s.set_turf_team(CAMPAIGN, "t1", team).await.unwrap();
        counters_hold(&*s, &format!("t1 given to {team:?}")).await;
    }
    // vol-a, offline, knocks a moved door for t1: an overlap, reviewed by a captain.
    s.assign_turf("t1", Some("vol-a"), None).await.unwrap();
    n += 1;
    let over = doorstep_tests::report(n, CAMPAIGN, "t1", moved_doors[0], "vol-a", "dev-a1");
    let got = ingest(&*s, &phones[0], std::slice::from_ref(&over), NOW).await.unwrap();
    assert!(matches!(got[0], doorstep_tests::Ingested::Accepted { overlap: true }), "{got:?}");
    assert_eq!(counted(&*s).await.1["vol-a"].4, 1, "one overlap to review");
    counters_hold(&*s, "an overlap").await;
    assert!(s.review_overlap(CAMPAIGN, &over.id, "vol-a", NOW).await.unwrap());
    assert_eq!(counted(&*s).await.1["vol-a"].4, 0, "reviewed");
    // Reviewed twice (two captains at once): counted once.
    assert!(s.review_overlap(CAMPAIGN, &over.id, "vol-b", NOW).await.unwrap());
    assert_eq!(counted(&*s).await.1["vol-a"].4, 0, "reviewed once");
    counters_hold(&*s, "an overlap reviewed").await;
    // New doors in a building of t2 and in one in no turf.
    let mut extra = doors.iter().find(|d| d.building_id == ids[30]).unwrap().clone();
    extra.id = format!("{}-bis", extra.id);
    let mut loose = buildings[0].clone();
    loose.id = "b-loose".into();
    let mut loose_door = extra.clone();
    loose_door.id = "d-loose".into();
    loose_door.building_id = loose.id.clone();
    loose_door.entrance_id = None;
    s.import(CAMPAIGN, &doorstep_tests::import_of(&[loose], &[], &[extra, loose_door])).await.unwrap();
    assert_eq!(counted(&*s).await.0[""].0, 1, "one door in no turf");
    counters_hold(&*s, "doors imported").await;
    // A cut makes a turf of the building in no turf for one team, then cuts it again for the
    // other under the same id (the turf dissolved takes its doors out of the team it was in).
    for team in ["nord", "sud"] {
        let t3 = doorstep_server::store::NewTurf {
            id: "t3".into(),
            name: "Tournée 3".into(),
            team_id: Some(team.into()),
            buildings: vec!["b-loose".into()],
        };
        let dissolve: Vec<String> = if team == "sud" { vec!["t3".into()] } else { vec![] };
        s.apply_cut(CAMPAIGN, &dissolve, &[t3]).await.unwrap();
        counters_hold(&*s, &format!("t3 cut for {team}")).await;
    }
    // A script in which "not_home" now finishes the door: every pair recomputed.
    let mut codes = campaign.result_codes.clone();
    codes.iter_mut().find(|c| c.code == "not_home").unwrap().outcome = doorstep_protocol::Outcome::Finished;
    s.update_script(CAMPAIGN, &campaign.survey, &codes, NOW).await.unwrap();
    let rescored = kept(&*s).await;
    assert_eq!(rescored, defined(&*s).await);
    assert_ne!(rescored, after, "some pair changed with the code's meaning");
    counters_hold(&*s, "a code's outcome changed").await;
    // The personal data purged at the end of retention: the counts stay.
    let before_purge = counted(&*s).await;
    s.purge_personal_data(CAMPAIGN, NOW).await.unwrap();
    assert_eq!(counted(&*s).await, before_purge);
    counters_hold(&*s, "purged").await;
    // At most two rows per door, whatever the history: a turf's rows bounded by its doors.
    let rows = s.turf_standing("t1").await.unwrap();
    let doors_t1 = s.turf_facts("t1").await.unwrap().1.len();
    assert!(rows.len() <= 2 * doors_t1, "{} rows for {doors_t1} doors", rows.len());
    assert!(made.len() > rows.len() / 2, "history longer than the pairs");
}

#[tokio::test]
async fn standing_rows_equal_their_definition_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    random_history(s).await;
}

#[tokio::test]
async fn standing_rows_equal_their_definition_on_postgres() {
    let db = TestDatabase::create().await;
    let s: Arc<dyn ServerStore> = Arc::new(PgStore::connect(&db.url, 4).await.unwrap());
    random_history(s.clone()).await;
    drop(s);
    db.drop_now().await;
}

/// What schemas 18 to 25 added, taken out again.
const BEFORE_18: &str = "DROP TABLE door_standing; DROP TABLE door_tally; DROP TABLE turf_tally;
    DROP TABLE volunteer_tally; DROP TABLE hour_tally; DROP TABLE volunteer_position;
    DROP INDEX reports_volunteer_order; ALTER TABLE reports DROP COLUMN share_ms;
    CREATE INDEX reports_volunteer ON reports(volunteer_id); CREATE INDEX reports_volunteer_at ON reports(volunteer_id, at_ms);
    DROP TABLE map_cells; DROP INDEX buildings_position; DROP TABLE result_tally; DROP INDEX users_team;
    DROP TABLE group_tally; DROP TABLE group_hour_tally; DROP TABLE group_result_tally; DROP TABLE group_seen; DROP INDEX turfs_team;
    DROP INDEX devices_user; DROP INDEX session_signups_volunteer; DROP INDEX team_captains_user;";

/// A database written before schema 18 held reports and no standing rows nor counters: the upgrade
/// computes them from those reports (SQLite: the file reopened; PostgreSQL: the same database
/// reconnected).
#[tokio::test]
async fn an_upgrade_fills_the_standing_rows_from_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.db");
    let s: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(&path).unwrap());
    random_history(s.clone()).await;
    let want = (kept(&*s).await, counted(&*s).await);
    assert!(!want.0.is_empty());
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(&format!("{BEFORE_18} PRAGMA user_version = 17;")).unwrap();
    drop(c);
    let s: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!((kept(&*s).await, counted(&*s).await), want);
    counters_hold(&*s, "upgraded from 17 (SQLite)").await;

    let db = TestDatabase::create().await;
    let s: Arc<dyn ServerStore> = Arc::new(PgStore::connect(&db.url, 2).await.unwrap());
    random_history(s.clone()).await;
    let want = (kept(&*s).await, counted(&*s).await);
    drop(s);
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("{BEFORE_18} UPDATE doorstep_schema SET version = 17")).await.unwrap();
    drop(client);
    let s: Arc<dyn ServerStore> = Arc::new(PgStore::connect(&db.url, 2).await.unwrap());
    assert_eq!((kept(&*s).await, counted(&*s).await), want);
    counters_hold(&*s, "upgraded from 17 (PostgreSQL)").await;
    drop(s);
    db.drop_now().await;
}

/// PostgreSQL, several pushes at once on the same doors (as from phones reaching several server
/// processes): each push locks the buildings it touches before reading their reports, so no pair
/// misses a report committed meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_on_one_door_keep_its_pair() {
    let db = TestDatabase::create().await;
    let s: Arc<dyn ServerStore> = Arc::new(PgStore::connect(&db.url, 8).await.unwrap());
    let (campaign, buildings, entrances, doors) = server_import(40);
    s.create_campaign(&campaign, NOW).await.unwrap();
    s.import(CAMPAIGN, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    s.create_turf(CAMPAIGN, "t1", "Tournée 1", None, &ids[..25]).await.unwrap();
    s.create_turf(CAMPAIGN, "t2", "Tournée 2", None, &ids[25..]).await.unwrap();
    let u = User {
        id: "vol".into(),
        campaign_id: CAMPAIGN.into(),
        role: Role::Volunteer,
        display_name: "V".into(),
        team_id: None,
    };
    s.create_user(&u).await.unwrap();
    s.assign_turf("t1", Some("vol"), None).await.unwrap();
    let hot: Vec<String> = doors.iter().filter(|d| ids[..3].contains(&d.building_id)).map(|d| d.id.clone()).collect();
    let codes = ["not_home", "refused", "hostile", "vacant", "come_back"];
    let mut tasks = Vec::new();
    for p in 0..8u32 {
        let (s, hot) = (s.clone(), hot.clone());
        tasks.push(tokio::spawn(async move {
            let phone = device("vol", &format!("dev-{p}"));
            for round in 0..10u32 {
                let n = 1 + p * 1000 + round * 10;
                let batch: Vec<KnockReport> = (0..3u32)
                    .map(|k| {
                        let door = &hot[((p + round + k) as usize) % hot.len()];
                        let mut r = doorstep_tests::report(n + k, CAMPAIGN, "t1", door, "vol", &phone.device_id);
                        r.result_code = codes[((p * 7 + round * 3 + k) as usize) % codes.len()].into();
                        r
                    })
                    .collect();
                ingest(&*s, &phone, &batch, NOW).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (facts, _) = s.turf_facts("t1").await.unwrap();
    assert_eq!(facts.len(), 8 * 10 * 3);
    assert_eq!(kept(&*s).await, defined(&*s).await);
    // The counters too: eight devices of one volunteer, the volunteer locked by each push.
    counters_hold(&*s, "eight pushes at once").await;
    drop(s);
    db.drop_now().await;
}
