//! The coordinator's page at national size (issue 21, Deliver 2): progress, results and the map of
//! a campaign of 10,000,000 doors and 5,000,000 reports, on the embedded SQLite store or on
//! PostgreSQL, beside what the page read before the campaign's and teams' rows were kept (every
//! turf's and volunteer's rows, the baseline column).
//!
//! The campaign is written in bulk, in SQL, not through imports and pushes (those would take
//! hours here): 4 doors a building, 21 buildings a turf (84 doors), 250 turfs a team, a volunteer
//! for every two turfs with one phone (a third of them two), a polling station every 250
//! buildings, a report on every second door (a conversation with the survey's answers one time in
//! three) knocked one every two minutes, each turf on one of 59 days. The door tallies and each
//! report's share of knocking time are written with them; every counter the page reads — per
//! turf, volunteer, hour, polling station, map square, campaign and team — is then counted by the
//! server's own recount (`counters::recount_campaign`, `cells::rebuild`), as after a schema step.
//! (Not written: door standing rows, which only packages read; people; entrances.)
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-national-dash -- [DOORS, default 10000000] [postgres]`
//! (`DOORSTEP_DASH_DB=path`: keep the SQLite file there and, when it already holds the campaign,
//! measure it again without loading; `DOORSTEP_DASH_PG_URL=postgres://…/db`: the same with a
//! PostgreSQL database made beforehand.)

use std::sync::Arc;
use std::time::Instant;

use doorstep_server::admin::Staff;
use doorstep_server::dashboard::{MapView, ProgressQuery, ResultsFilter};
use doorstep_server::service::Service;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, StoreOps, User};

const NOW: i64 = 1_780_000_000_000;
const START: i64 = NOW - 59 * 86_400_000;

/// Rows of `0..n` as `n(i)`, and the statement that follows reads them.
fn series(postgres: bool, n: u64) -> String {
    if postgres {
        format!("WITH n AS (SELECT i FROM generate_series(CAST(0 AS BIGINT), {}) AS g(i))", n.saturating_sub(1))
    } else {
        format!("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {})", n.saturating_sub(1))
    }
}

async fn load(store: &dyn ServerStore, postgres: bool, campaign: &str, doors: u64) {
    let buildings = doors / 4;
    let turfs = buildings.div_ceil(21);
    let teams = turfs.div_ceil(250);
    let volunteers = turfs.div_ceil(2);
    let phones = volunteers + volunteers / 3;
    let reports = doors / 2;
    let at = format!("{START} + (i / 42 % 59) * 86400000 + (9 + i / 42 % 10) * 3600000 + (i % 42) * 120000");
    use doorstep_protocol::{Answer, AnswerValue, Position};
    let position = Position { lat: 46.0, lon: 2.0, accuracy_m: Some(6.0) };
    let answers = vec![
        Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
        Answer { question_id: "intent".into(), value: AnswerValue::Choice { value: "oui".into() } },
    ];
    let conversation = serde_json::json!({ "answers": answers, "position": position }).to_string();
    let knock = serde_json::json!({ "position": position }).to_string();
    let steps: Vec<(&str, u64, String)> = vec![
        ("teams", teams, format!("INSERT INTO teams(id, campaign_id, name) SELECT 'team' || i, '{campaign}', 'Équipe ' || i FROM n")),
        ("volunteers", volunteers, format!(
            "INSERT INTO users(id, campaign_id, role, display_name, team_id)
             SELECT 'v' || i, '{campaign}', 'volunteer', 'Bénévole ' || i, 'team' || (i * 2 / 250) FROM n")),
        ("phones", phones, format!(
            "INSERT INTO devices(token_hash, device_id, user_id, created_ms, expires_ms, last_seen_ms)
             SELECT 'h' || i, 'dev' || i, 'v' || (i % {volunteers}), {START}, {NOW} + 31536000000, {NOW} - (i % 86400) * 1000 FROM n")),
        ("turfs", turfs, format!(
            "INSERT INTO turfs(id, campaign_id, name, version, volunteer_id, team_id)
             SELECT 't' || i, '{campaign}', 'Secteur ' || i, 1, 'v' || (i / 2), 'team' || (i / 250) FROM n")),
        ("buildings", buildings, format!(
            "INSERT INTO buildings(id, campaign_id, turf_id, street, house_number, postcode, city, polling_station, lat, lon)
             SELECT 'b' || i, '{campaign}', 't' || (i / 21), 'Rue ' || (i / 40), CAST(i % 40 + 1 AS TEXT), '75001', 'Ville',
               's' || (i / 250), 43.0 + (i / 1581) * 0.0044, -1.0 + (i % 1581) * 0.005 FROM n")),
        ("doors", doors, "INSERT INTO doors(id, building_id, label, safety_flags)
             SELECT 'p' || i, 'b' || (i / 4), 'Porte ' || (i % 4 + 1), '[]' FROM n".to_string()),
        ("reports", reports, format!(
            "INSERT INTO reports(id, campaign_id, turf_id, building_id, door_id, device_id, volunteer_id, result_code,
               hlc_millis, hlc_counter, overlap, received_ms, body, at_ms, share_ms, lat, lon)
             SELECT 'r' || i, '{campaign}', 't' || (i / 42), 'b' || (i / 2), 'p' || (i * 2), 'dev' || (i / 84), 'v' || (i / 84),
               CASE WHEN i % 3 = 0 THEN 'contact_made' WHEN i % 3 = 1 THEN 'not_home' ELSE 'no_answer' END,
               {at}, 0, FALSE, {NOW}, CASE WHEN i % 3 = 0 THEN $1 ELSE $2 END, {at}, 120000, 46.0, 2.0 FROM n")),
        ("door tallies", reports, "INSERT INTO door_tally(door_id, building_id, status, contacted)
             SELECT 'p' || (i * 2), 'b' || (i / 2), CASE WHEN i % 3 = 0 THEN 2 ELSE 1 END, CASE WHEN i % 3 = 0 THEN 1 ELSE 0 END
             FROM n".to_string()),
    ];
    for (what, n, insert) in steps {
        let t = Instant::now();
        let sql = format!("{} {insert}", series(postgres, n));
        let params: Vec<doorstep_server::store::tx::Val> =
            if what == "reports" { vec![conversation.clone().into(), knock.clone().into()] } else { vec![] };
        doorstep_server::store::typed(store, move |tx| {
            Box::pin(async move { tx.exec(&sql, &params).await.map(|_| ()) })
        })
        .await
        .unwrap();
        eprintln!("{what}: {n} rows in {:.1} s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let c = campaign.to_string();
    doorstep_server::store::typed(store, move |tx| {
        Box::pin(async move {
            use doorstep_server::store::ops::{cells, counters};
            counters::recount_campaign(tx, &c).await?;
            counters::relocate(tx, &c).await?;
            cells::rebuild(tx, &c).await
        })
    })
    .await
    .unwrap();
    eprintln!("counted by the server's recount in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    store.optimize().await.unwrap();
    eprintln!("planner statistics in {:.1} s", t.elapsed().as_secs_f64());
}

/// Median of five calls, in ms, and what the last one returned.
async fn median<T, F, Fut>(mut f: F) -> (f64, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        last = Some(f().await);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[2], last.unwrap())
}

#[tokio::main]
async fn main() {
    let doors: u64 = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let postgres = std::env::args().nth(2).is_some_and(|a| a == "postgres");
    let dir = tempfile::tempdir().unwrap();
    // DOORSTEP_DASH_PG_URL: a database kept between runs (made beforehand), loaded once.
    let kept_pg = std::env::var("DOORSTEP_DASH_PG_URL").ok().filter(|_| postgres);
    let pg = if postgres && kept_pg.is_none() { Some(doorstep_tests::TestDatabase::create().await) } else { None };
    let kept = std::env::var("DOORSTEP_DASH_DB").ok();
    let store: Arc<dyn ServerStore> = match (&pg, &kept_pg) {
        (_, Some(url)) => Arc::new(doorstep_server::store::postgres::PgStore::connect(url, 4).await.unwrap()),
        (Some(db), _) => Arc::new(doorstep_server::store::postgres::PgStore::connect(&db.url, 4).await.unwrap()),
        (None, None) => {
            Arc::new(SqliteStore::open(kept.clone().map_or(dir.path().join("national.db"), Into::into)).unwrap())
        }
    };
    let service = Service::new(store.clone());
    let (campaign, ..) = doorstep_tests::server_import(1);
    let c = campaign.id.clone();
    if store.campaign(&c).await.unwrap().is_none() {
        service.create_campaign(&campaign).await.unwrap();
        let t = Instant::now();
        load(store.as_ref(), postgres, &c, doors).await;
        eprintln!("loaded in {:.0} s", t.elapsed().as_secs_f64());
    }
    let (turfs, reports) = doorstep_server::store::typed_read(store.as_ref(), {
        let c = c.clone();
        move |tx| {
            Box::pin(async move {
                let n = |r: Option<Vec<doorstep_server::store::tx::Val>>| r.map_or(0, |r| r[0].int().unwrap_or(0));
                let turfs = n(tx
                    .row("SELECT COUNT(*) FROM turfs WHERE campaign_id = $1", &doorstep_server::vals![c.as_str()])
                    .await?);
                let reports = n(tx
                    .row("SELECT COUNT(*) FROM reports WHERE campaign_id = $1", &doorstep_server::vals![c.as_str()])
                    .await?);
                Ok((turfs, reports))
            })
        }
    })
    .await
    .unwrap();
    let coordinator = doorstep_tests::coordinator(&c);
    let whole = service.progress(&coordinator).await.unwrap();
    // A team in the middle of the campaign.
    let one = whole.teams[whole.teams.len() / 2].id.clone();
    let captain = Staff {
        user: User {
            id: "cap".into(),
            campaign_id: c.clone(),
            role: Role::Captain,
            display_name: "cap".into(),
            team_id: None,
        },
        teams: Some(vec![one.clone()]),
    };
    println!(
        "{} doors, {turfs} turfs, {} teams, {reports} reports, on {}",
        whole.campaign.doors,
        whole.teams.len(),
        if postgres { "PostgreSQL" } else { "the embedded SQLite store" }
    );
    assert_eq!(whole.campaign.doors, doors, "every door counted");
    let team = ProgressQuery { team: Some(one.clone()), list_max: None };
    let station = ResultsFilter { station: Some(format!("s{}", doors / 4 / 250 / 2)), ..ResultsFilter::default() };
    let team_results = ResultsFilter { team: Some(one.clone()), ..ResultsFilter::default() };
    // The first view of a large campaign's map (squares of 0.1°) and a zoom-16 view.
    let squares = MapView { level: Some(1), ..MapView::default() };
    let close =
        MapView { south: Some(43.0), north: Some(43.017), west: Some(-1.0), east: Some(-0.966), ..MapView::default() };
    println!("| read | ms (median of 5) | what it returned |");
    println!("|---|---:|---|");
    let (ms, p) = median(|| service.progress(&coordinator)).await;
    let p = p.unwrap();
    println!(
        "| coordinator's progress | {ms:.1} | campaign, {} teams, {} days on the timeline, lists {:?} ({} turfs) |",
        p.teams.len(),
        p.timeline.len(),
        p.listed,
        p.turfs.len()
    );
    let (ms, p) = median(|| service.progress_of(&coordinator, &team)).await;
    let p = p.unwrap();
    println!(
        "| coordinator's progress, one team listed (`?team=`) | {ms:.1} | {} turfs, {} volunteers |",
        p.turfs.len(),
        p.volunteers.len()
    );
    let (ms, p) = median(|| service.progress(&captain)).await;
    let p = p.unwrap();
    println!(
        "| captain's progress (one team) | {ms:.1} | {} turfs, {} volunteers |",
        p.turfs.len(),
        p.volunteers.len()
    );
    let everything = ResultsFilter::default();
    let (ms, r) = median(|| service.results(&coordinator, &everything)).await;
    println!("| results, whole campaign | {ms:.1} | {} standing reports |", r.unwrap().reports);
    let (ms, r) = median(|| service.results(&coordinator, &team_results)).await;
    println!("| results, one team | {ms:.1} | {} standing reports |", r.unwrap().reports);
    let (ms, r) = median(|| service.results(&coordinator, &station)).await;
    println!("| results, one polling station | {ms:.1} | {} standing reports |", r.unwrap().reports);
    let (ms, r) = median(|| service.map_cells(&coordinator, 1, &squares)).await;
    println!("| map, squares of 0.1° over the campaign | {ms:.1} | {} squares |", r.unwrap().len());
    let (ms, r) = median(|| service.map_buildings(&coordinator, &close)).await;
    println!("| map, buildings of a zoom-16 view | {ms:.1} | {} buildings |", r.unwrap().len());
    // The baseline: what the coordinator's progress read before (every turf's rows and name, every
    // (turf, volunteer) and (turf, hour) row, every position, user and phone), without adding up.
    let (ms, n) = median(|| async {
        let q = doorstep_server::store::dash::DashQuery::new(&campaign, None);
        let rows = doorstep_server::store::typed_read(store.as_ref(), move |tx| {
            Box::pin(async move {
                use doorstep_server::store::dash;
                use doorstep_server::store::ops::tallies;
                let c = q.campaign_id.clone();
                Ok(dash::turfs(tx, &q).await?.len()
                    + tallies::turf_tallies(tx, &c).await?.len()
                    + tallies::volunteer_tallies(tx, &c).await?.len()
                    + tallies::hour_tallies(tx, &c).await?.len()
                    + tallies::positions(tx, &c).await?.len())
            })
        })
        .await
        .unwrap();
        rows + store.users(&c).await.unwrap().len() + store.devices(&c).await.unwrap().len()
    })
    .await;
    println!(
        "| baseline: the coordinator's progress reads before (rows per turf, volunteer and hour) | {ms:.1} | {n} rows |"
    );
    drop(service);
    drop(store);
    if let Some(db) = pg {
        db.drop_now().await;
    }
}
