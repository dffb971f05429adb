//! `doorstep-server serve` runs the sync server on an SQLite file (default) or PostgreSQL.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use doorstep_server::store::ServerStore;
use doorstep_server::store::postgres::PgStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::{api, service::Service};

#[derive(Parser)]
#[command(name = "doorstep-server", version, about = "Doorstep sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// An SQLite file path (default `doorstep.db`) or a `postgres://` URL.
        #[arg(long, default_value = "doorstep.db")]
        database: String,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// The demo campaign with simulated volunteers (issue 3, not built yet).
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("doorstep-server: arrêt propre / shutting down");
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { database, listen } => {
            let store: Arc<dyn ServerStore> =
                if database.starts_with("postgres://") || database.starts_with("postgresql://") {
                    match PgStore::connect(&database, 16).await {
                        Ok(s) => Arc::new(s),
                        Err(e) => {
                            eprintln!("doorstep-server: cannot open {database}: {e}");
                            return std::process::ExitCode::FAILURE;
                        }
                    }
                } else {
                    match SqliteStore::open(&database) {
                        Ok(s) => Arc::new(s),
                        Err(e) => {
                            eprintln!("doorstep-server: cannot open {database}: {e}");
                            return std::process::ExitCode::FAILURE;
                        }
                    }
                };
            let listener = match tokio::net::TcpListener::bind(&listen).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("doorstep-server: cannot listen on {listen}: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            eprintln!(
                "doorstep-server: http://{} ({})",
                listener.local_addr().map_or(listen, |a| a.to_string()),
                database
            );
            let app = api::app(Service::new(store));
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await {
                eprintln!("doorstep-server: {e}");
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
        Command::Demo { listen } => {
            eprintln!(
                "doorstep-server demo ({listen}): la démo n'est pas encore disponible (issue 3, à venir) / the demo is not built yet."
            );
            std::process::ExitCode::from(2)
        }
    }
}
