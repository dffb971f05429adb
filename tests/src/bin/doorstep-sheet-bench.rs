//! The paper walk sheet of a 300-door turf (issue 17's target: under 2 s and under 500 KB),
//! through the service as the dashboard's download runs it (package, route along the streets,
//! door codes, PDF), next to the pull of the same turf's full package (what a phone downloads for
//! the same doors) on the same SQLite file.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-sheet-bench [-- --quick]`

use std::sync::Arc;
use std::time::Instant;

use doorstep_server::service::Service;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{ServerStore, StoreOps};

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let runs = if std::env::args().any(|a| a == "--quick") { 3 } else { 15 };
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(300);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "t", "Talensac", None, &ids).await.unwrap();
    let co = doorstep_tests::coordinator(&campaign.id);
    store.create_user(&co.user).await.unwrap();
    let (mut sheet, mut package) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        bytes = service.walk_sheet(&co, "t").await.unwrap().len();
        sheet.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let pkg = service.package("t").await.unwrap().unwrap();
        let _ = serde_json::to_vec(&pkg).unwrap();
        package.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("| what | doors | p50 | size |");
    println!("|---|---:|---:|---:|");
    println!(
        "| walk sheet PDF (route, codes, QR codes, PDF) | {} | {:.1} ms | {} KB |",
        doors.len(),
        p50(sheet),
        bytes / 1024
    );
    println!("| the same turf's full package (JSON), for scale | {} | {:.1} ms | — |", doors.len(), p50(package));
}
