//! `doorstep-demo`: the sync server on an embedded SQLite file with the demo campaign (the real
//! Nantes centre addresses and streets, turfs cut, a coordinator, two captains, ten volunteers),
//! and ten simulated volunteers — the real field core over real HTTP — knocking doors and syncing,
//! so that results arrive on the dashboard while you watch. A captain moves a street midway.

use std::sync::Arc;

use clap::Parser;
use doorstep_server::store::ServerStore;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::{api, service::Service};

#[derive(Parser)]
#[command(name = "doorstep-demo", version, about = "Doorstep demo: the server and ten simulated volunteers")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The demo's SQLite file (recreated at each run).
    #[arg(long, default_value = "doorstep-demo.db")]
    database: String,
    /// Milliseconds between two knocks of a simulated volunteer.
    #[arg(long, default_value_t = 700)]
    pace_ms: u64,
    /// Knocks per simulated volunteer.
    #[arg(long, default_value_t = 60)]
    knocks: usize,
    /// Stop when the simulated volunteers are done instead of serving until Ctrl-C.
    #[arg(long)]
    exit_when_done: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    match run_demo(&a.listen, &a.database, a.pace_ms, a.knocks, a.exit_when_done).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("doorstep-demo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_demo(
    listen: &str,
    database: &str,
    pace_ms: u64,
    knocks: usize,
    exit_when_done: bool,
) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{database}{suffix}"));
    }
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(database).map_err(|e| e.to_string())?);
    let service = Service::new(store.clone());
    let seeded = doorstep_server::demo::seed(&service, &store).await?;
    let volunteers = seeded.volunteers.clone();
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let app = api::app(service.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(doorstep_server::shutdown_signal()).await
    });
    println!("Serveur / server: {base}  (base SQLite : {database})");
    println!("Tableau de bord / dashboard: {base}/  (mots de passe tirés au hasard à chaque démo / random each run)");
    for (login, password) in &seeded.logins {
        println!("  identifiant {login:<15} mot de passe {password}");
    }
    println!("API: {base}/openapi.json");
    println!("Jetons API / API tokens:");
    println!("  coordinatrice   {}", seeded.coordinator_token);
    for (captain, token) in &seeded.captain_tokens {
        println!("  {captain:<15} {token}");
    }
    let coord = &seeded.coordinator_token;
    println!("Export des résultats / results export:");
    println!("  curl -H 'Authorization: Bearer {coord}' {base}/api/v1/export/reports.csv");
    println!("Secteurs et état des portes / turfs and door status:");
    println!("  curl -H 'Authorization: Bearer {coord}' {base}/api/v1/turfs");
    println!("Bénévoles et codes d'accès (usage unique, utilisés ci-dessous par les téléphones simulés):");
    for (vol, code, turf) in &volunteers {
        println!("  {vol:<12} {code}  → {turf}");
    }
    let phones = tempdir_for_phones()?;
    let mut tasks = Vec::new();
    for (i, (_, code, turf)) in volunteers.iter().enumerate() {
        let dir = phones.join(format!("phone-{i:02}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // Staggered starts, so results trickle in as on a real afternoon.
        let (base, code, turf) = (base.clone(), code.clone(), turf.clone());
        let pace = std::time::Duration::from_millis(pace_ms + (i as u64 * 37) % 300);
        tasks.push(tokio::spawn(doorstep_demo::volunteer(base, dir, code, turf, pace, knocks)));
    }
    println!("Dix bénévoles simulés frappent aux portes (noyau réel, HTTP réel)…");
    let campaign = doorstep_server::demo::demo_campaign().id;
    let mut moved = false;
    let mut ticks = 0u32;
    let mut last_line = String::new();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(if pace_ms == 0 { 100 } else { 3000 })).await;
        if server.is_finished() {
            // Ctrl-C or SIGTERM stopped the server: stop the simulated phones too.
            for t in &tasks {
                t.abort();
            }
            println!("Démo arrêtée.");
            return Ok(());
        }
        ticks += 1;
        let reports = store.reports(&campaign).await.map_err(|e| e.to_string())?;
        let overlaps = reports.iter().filter(|r| r.overlap).count();
        let contacts = reports.iter().filter(|r| r.report.result_code == "contact_made").count();
        let line = format!(
            "  remontés : {} passages, {} contacts, {} chevauchements à revoir",
            reports.len(),
            contacts,
            overlaps
        );
        if line != last_line {
            println!("{line}");
            last_line = line;
        }
        if !moved && ticks >= 3 {
            // The north captain moves the first street of volunteer 0's turf to volunteer 1, through
            // the same call as `POST /api/v1/reassign`.
            if let Some(pkg) = service.turf_package(&volunteers[0].2).await.map_err(|e| e.to_string())? {
                let street = pkg.buildings.first().map(|b| b.street.clone()).unwrap_or_default();
                let captain = store.device(&doorstep_server::auth::hash_secret(&seeded.captain_tokens[0].1)).await;
                let session =
                    captain.map_err(|e| e.to_string())?.map(|device| doorstep_server::service::DeviceSession {
                        device,
                        revoked: false,
                        role: doorstep_server::store::Role::Captain,
                    });
                let staff = service.staff(&session.ok_or("captain token")?).await.map_err(|e| e.message)?;
                let req = doorstep_server::admin::ReassignRequest {
                    turf_id: Some(volunteers[0].2.clone()),
                    street: Some(street.clone()),
                    to_volunteer: Some(volunteers[1].0.clone()),
                    ..Default::default()
                };
                let moved_now = service.reassign(&staff, req).await.map_err(|e| e.message)?;
                println!(
                    "  capitaine-nord déplace « {street} » ({} adresses) de {} vers {}",
                    moved_now.buildings_moved, volunteers[0].0, volunteers[1].0
                );
            }
            moved = true;
        }
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let reports = store.reports(&campaign).await.map_err(|e| e.to_string())?;
    println!("Terminé : {} passages sur le serveur, chacun une seule fois.", reports.len());
    if exit_when_done {
        server.abort();
        return Ok(());
    }
    println!("Le serveur continue ({base}) ; Ctrl-C pour arrêter.");
    server.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

fn tempdir_for_phones() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("doorstep-demo-phones-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}
