//! Back-ups while the server runs (issue 21, docs/scaling.md): phones keep pushing over HTTP while
//! the embedded server's database is copied by `doorstep-server backup` (another process, as an
//! operator's cron would run it), and while PostgreSQL's is dumped by `pg_dump -Fc`. Each copy is
//! one consistent instant: it opens, passes its integrity check, holds only reports the live
//! database holds (and some), and a server restored from it serves the turfs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use doorstep_core::Store;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_server::service::Service;
use doorstep_server::store::{ServerStore, StoreOps};

const PHONES: usize = 3;
const PER_TURF: usize = 15;

fn policy() -> RetryPolicy {
    RetryPolicy { first_delay: Duration::from_millis(5), max_delay: Duration::from_millis(100), max_attempts: 20 }
}

/// A campaign on `store` served over loopback, with phones that joined: `(base, phones)`.
async fn serve_with_phones(
    store: Arc<dyn ServerStore>,
    dir: &std::path::Path,
) -> (Service, Vec<(Store, doorstep_core::sync::http::HttpTransport, String)>) {
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(PHONES * PER_TURF);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = doorstep_server::api::app(service.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut phones = Vec::new();
    for i in 0..PHONES {
        let ids: Vec<String> = buildings[i * PER_TURF..(i + 1) * PER_TURF].iter().map(|b| b.id.clone()).collect();
        let p = doorstep_tests::load_phone(&service, &store, &campaign.id, i, &ids, &base, dir).await;
        sync(&p.0, &p.1, policy(), &()).await.unwrap().unwrap();
        phones.push(p);
    }
    (service, phones)
}

/// Every phone knocks its doors one by one, syncing after each knock, until `stop` is set.
async fn keep_knocking(
    phones: &[(Store, doorstep_core::sync::http::HttpTransport, String)],
    stop: &std::sync::atomic::AtomicBool,
) -> usize {
    let mut knocks = 0;
    'outer: for round in 0.. {
        for (st, net, turf) in phones {
            if stop.load(std::sync::atomic::Ordering::SeqCst) && round > 0 {
                break 'outer;
            }
            let route = st.compute_route(turf, None, None, false).unwrap();
            let Some(door) = route.remaining.iter().flat_map(|s| &s.doors).nth(round % 10) else { continue };
            st.record_knock(doorstep_tests::knock_on(
                door.id.clone(),
                if round % 2 == 0 { "not_home" } else { "no_answer" },
            ))
            .unwrap();
            sync(st, net, policy(), &()).await.unwrap().unwrap();
            knocks += 1;
        }
    }
    knocks
}

fn ids_in_sqlite(path: &std::path::Path) -> HashSet<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut st = c.prepare("SELECT id FROM reports").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

async fn ids_in_pg(url: &str) -> HashSet<String> {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    c.query("SELECT id FROM reports", &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_database_backs_up_while_phones_push() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("server.db");
    let store: Arc<dyn ServerStore> = Arc::new(doorstep_server::store::sqlite::SqliteStore::open(&live).unwrap());
    let (_service, phones) = serve_with_phones(store, dir.path()).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let copy = dir.path().join("copie.db");
    let (knocks, out) = tokio::join!(keep_knocking(&phones, &stop), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_server-node"))
            .args(["backup", "--database", live.to_str().unwrap(), "--to", copy.to_str().unwrap()])
            .output()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        out
    });
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "backup: {said} {}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("passages / reports"), "{said}");
    let (kept, all) = (ids_in_sqlite(&copy), ids_in_sqlite(&live));
    assert_eq!(all.len(), knocks, "the live database holds every acknowledged knock");
    assert!(!kept.is_empty() && kept.len() < all.len(), "an instant mid-run: {} of {}", kept.len(), all.len());
    assert!(kept.is_subset(&all), "the copy holds nothing the live database does not");
    // Written twice, the copy is refused rather than overwritten.
    let again = tokio::process::Command::new(env!("CARGO_BIN_EXE_server-node"))
        .args(["backup", "--database", live.to_str().unwrap(), "--to", copy.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("existe déjà"));
    // Restored: a server on the copy serves the turfs as they were.
    let restored = Service::new(Arc::new(doorstep_server::store::sqlite::SqliteStore::open(&copy).unwrap()));
    let pkg = restored.turf_package(&phones[0].2).await.unwrap().expect("the turf is there");
    assert_eq!(pkg.buildings.len(), PER_TURF);
    assert_eq!(restored.store.reports("nantes-2026").await.unwrap().len(), kept.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_dumps_while_phones_push_and_restores() {
    let db = doorstep_tests::TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> =
        Arc::new(doorstep_server::store::postgres::PgStore::connect(&db.url, 4).await.unwrap());
    let (_service, phones) = serve_with_phones(store, dir.path()).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dump = dir.path().join("doorstep.dump");
    let (knocks, out) = tokio::join!(keep_knocking(&phones, &stop), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let out = tokio::process::Command::new("pg_dump")
            .args(["-Fc", "-d", &db.url, "-f", dump.to_str().unwrap()])
            .output()
            .await
            .expect("pg_dump (PostgreSQL's client tools) is required");
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        out
    });
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    let target = doorstep_tests::TestDatabase::create().await;
    let restore = tokio::process::Command::new("pg_restore")
        .args(["--no-owner", "-d", &target.url, dump.to_str().unwrap()])
        .output()
        .await
        .expect("pg_restore");
    assert!(restore.status.success(), "pg_restore: {}", String::from_utf8_lossy(&restore.stderr));
    let (kept, all) = (ids_in_pg(&target.url).await, ids_in_pg(&db.url).await);
    assert_eq!(all.len(), knocks);
    assert!(!kept.is_empty() && kept.is_subset(&all), "{} of {}", kept.len(), all.len());
    let restored =
        Service::new(Arc::new(doorstep_server::store::postgres::PgStore::connect(&target.url, 2).await.unwrap()));
    let pkg = restored.turf_package(&phones[0].2).await.unwrap().expect("the turf is there");
    assert_eq!(pkg.buildings.len(), PER_TURF);
    target.drop_now().await;
    db.drop_now().await;
}
