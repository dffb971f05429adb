//! The `doorstep-server` command line: `serve` runs the sync server on an SQLite file (default)
//! or PostgreSQL; the other commands administer a campaign. In the library (not only the binary)
//! so that the multi-process tests start this very entry point ([`run`]).

use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::store::ServerStore;
use crate::store::sqlite::SqliteStore;
use crate::{api, service::Service};

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
        /// Map tiles for the dashboard, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png` (by
        /// default the map draws the campaign's own streets: no tile server needed).
        #[arg(long)]
        tile_url: Option<String>,
        /// Serve Prometheus metrics (`GET /metrics`) on this address, e.g. `127.0.0.1:9464`: an
        /// operator's port, apart from the public API. Off by default.
        #[arg(long)]
        metrics_listen: Option<String>,
        /// Log lines as `text` (default) or `json`; `RUST_LOG` filters them (default `info`).
        #[arg(long, default_value = "text")]
        log_format: String,
        /// The SMTP relay for e-mail reminders of sessions: `smtp://host:25` (a local relay),
        /// `smtp://user:password@host:587?tls=required` or `smtps://…:465`; read from the
        /// environment so that a password stays out of the process list. Without one, e-mail
        /// reminders wait (the app's are shown anyway).
        #[arg(long, env = "DOORSTEP_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// The sender of e-mail reminders, e.g. `Nantes en commun <seances@exemple.fr>`.
        #[arg(long, env = "DOORSTEP_MAIL_FROM", default_value = "Doorstep <noreply@localhost>")]
        mail_from: String,
        /// How often the reminder sender runs, in seconds.
        #[arg(long, default_value_t = 30)]
        reminder_every_s: u64,
        /// The server's key that seals SMS providers' secrets (created on first use, mode 0600;
        /// `DOORSTEP_SECRET_KEY` overrides it). Keep it apart from the database's backups: a
        /// database copied without it opens no secret. Default: beside an SQLite database, else
        /// `doorstep-secret.key`.
        #[arg(long)]
        secret_key_file: Option<std::path::PathBuf>,
        /// This server as providers reach it (`https://terrain.example.fr`): Twilio posts replies
        /// and delivery states to `{public-url}/api/v1/sms/hooks/twilio/{campaign}`.
        #[arg(long, env = "DOORSTEP_PUBLIC_URL")]
        public_url: Option<String>,
        /// A balancer or reverse proxy in front of this server (repeat for several): requests
        /// from it are counted against the address its `X-Forwarded-For` names, for rate limits
        /// and sign-in lockouts. Without it the header is ignored.
        #[arg(long = "trusted-proxy")]
        trusted_proxies: Vec<std::net::IpAddr>,
        /// Phones' sync requests this process works on at once; beyond, a phone is told to come
        /// back in 1–5 s (503 with `Retry-After`) before any database work.
        #[arg(long, default_value_t = crate::admission::DEFAULT_MAX_IN_FLIGHT)]
        max_in_flight: usize,
    },
    /// Create a campaign and its coordinator; prints the coordinator's API token.
    CreateCampaign {
        #[arg(long, default_value = "doorstep.db")]
        database: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// A voter-file campaign (people per door) rather than address-only.
        #[arg(long)]
        voter_file: bool,
        /// Keep personal data until this day (YYYY-MM-DD, inclusive, UTC); after it, `serve` and
        /// `purge` erase answers, notes, people and devices. Without it, nothing is purged.
        #[arg(long)]
        keep_until: Option<String>,
    },
    /// Import a file into a campaign: addresses (CSV or GeoJSON points; BAN, REU, VAN layouts),
    /// streets (GeoJSON lines, OpenStreetMap .osm.pbf, IGN BD TOPO GeoPackage), results (CSV per
    /// polling station) or stations (GeoJSON boundaries).
    Import {
        #[arg(value_enum)]
        kind: ImportArg,
        file: std::path::PathBuf,
        #[arg(long, default_value = "doorstep.db")]
        database: String,
        #[arg(long)]
        campaign: String,
        /// Column mapping, `field=Column name` (repeatable).
        #[arg(long = "map", value_parser = parse_pair)]
        map: Vec<(String, String)>,
        /// Import the valid rows and list the others, instead of refusing the file.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Cut the addresses in no turf (and turfs to re-cut) into turfs along streets.
    Cut {
        #[arg(long, default_value = "doorstep.db")]
        database: String,
        #[arg(long)]
        campaign: String,
        /// Doors per turf (default 80).
        #[arg(long)]
        target: Option<u32>,
        /// Or minutes of canvassing per turf, at `--rate` doors per hour.
        #[arg(long)]
        minutes: Option<u32>,
        /// Doors per hour for `--minutes` (default 30); only with `--minutes`.
        #[arg(long, requires = "minutes")]
        rate: Option<u32>,
        /// Never put two polling stations in one turf.
        #[arg(long)]
        by_station: bool,
        /// Turfs to cut again (never one being worked); repeatable.
        #[arg(long)]
        recut: Vec<String>,
        #[arg(long)]
        prefix: Option<String>,
        #[arg(long)]
        team: Option<String>,
    },
    /// Rank turfs by polling-station priority (optionally setting the favourable lists first).
    Rank {
        #[arg(long, default_value = "doorstep.db")]
        database: String,
        #[arg(long)]
        campaign: String,
        /// Favourable lists or candidates, comma-separated (saved as the campaign's formula).
        #[arg(long)]
        favourable: Option<String>,
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
    /// Give a captain or coordinator a dashboard login; the password is read from standard input
    /// (one line) or `DOORSTEP_PASSWORD`.
    SetPassword {
        #[arg(long, default_value = "doorstep.db")]
        database: String,
        #[arg(long)]
        campaign: String,
        /// The user's id.
        #[arg(long)]
        user: String,
        /// The login to sign in with (default: the user's id).
        #[arg(long)]
        login: Option<String>,
    },
    /// Export every report (CSV, VAN-style columns; or JSON).
    Export {
        #[arg(long, default_value = "doorstep.db")]
        database: String,
        #[arg(long)]
        campaign: String,
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Back up the embedded SQLite database while the server runs: a consistent copy of it as it
    /// was at one instant, into a new file (`VACUUM INTO`: a reader's snapshot, the server keeps
    /// writing). Restore: stop the server, put the copy in the database's place, start it. For
    /// PostgreSQL, `pg_dump -Fc` (docs/scaling.md).
    Backup {
        #[arg(long, default_value = "doorstep.db")]
        database: String,
        /// The copy to write (must not exist yet).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Purge the personal data of every campaign past its retention date (`serve` does it hourly):
    /// survey answers and notes, the voter file's people, volunteers' devices.
    Purge {
        #[arg(long, default_value = "doorstep.db")]
        database: String,
    },
    /// For the binding tests: seeds the demo campaign, prints one line of JSON (`url`, a fresh
    /// volunteer's join `code`, their `turf`), then serves until killed.
    #[command(hide = true)]
    TestFixture {
        #[arg(long)]
        database: String,
        /// Per-token request rates high enough for a schema fuzzer (the limiter has its own tests).
        #[arg(long)]
        relaxed_limits: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportArg {
    Addresses,
    Streets,
    Results,
    Stations,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .ok_or_else(|| format!("{s}: expected field=Column"))
}

/// Runs one coordinator command on the database.
async fn admin(command: Command) -> Result<(), String> {
    use crate::cli;
    let database = match &command {
        Command::CreateCampaign { database, .. }
        | Command::Import { database, .. }
        | Command::Cut { database, .. }
        | Command::Rank { database, .. }
        | Command::SetPassword { database, .. }
        | Command::Export { database, .. } => database.clone(),
        _ => unreachable!("not a coordinator command"),
    };
    let service = Service::new(cli::open_store(&database).await?);
    if let Command::Import { campaign, .. }
    | Command::Cut { campaign, .. }
    | Command::Rank { campaign, .. }
    | Command::SetPassword { campaign, .. }
    | Command::Export { campaign, .. } = &command
    {
        service
            .campaign_of(&cli::coordinator(campaign))
            .await
            .map_err(|_| format!("pas de campagne « {campaign} » dans {database} / no such campaign"))?;
    }
    match command {
        Command::CreateCampaign { id, name, voter_file, keep_until, .. } => {
            let retention = keep_until.as_deref().map(cli::end_of_day_ms).transpose()?;
            cli::create_campaign(&service, &id, &name, voter_file, retention).await
        }
        Command::Import { kind, file, campaign, map, skip_invalid, .. } => {
            let kind = match kind {
                ImportArg::Addresses => cli::ImportKind::Addresses,
                ImportArg::Streets => cli::ImportKind::Streets,
                ImportArg::Results => cli::ImportKind::Results,
                ImportArg::Stations => cli::ImportKind::Stations,
            };
            let mut mapping: std::collections::HashMap<String, String> = map.into_iter().collect();
            if skip_invalid {
                mapping.insert("skip_invalid".into(), "true".into());
            }
            cli::import(&service, &campaign, kind, &file, mapping).await
        }
        Command::Cut { campaign, target, minutes, rate, by_station, recut, prefix, team, .. } => {
            let req = crate::intake::CutRequest {
                target_doors: target,
                target_minutes: minutes,
                doors_per_hour: rate,
                by_station,
                recut: recut
                    .iter()
                    .flat_map(|r| r.split(','))
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty())
                    .collect(),
                name_prefix: prefix,
                team_id: team,
            };
            cli::cut(&service, &campaign, req).await
        }
        Command::Rank { campaign, favourable, top, .. } => {
            let formula = favourable.map(|f| crate::targeting::Formula {
                favourable: f.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
                ..Default::default()
            });
            cli::rank(&service, &campaign, formula, top).await
        }
        Command::Export { campaign, out, json, .. } => cli::export(&service, &campaign, &out, json).await,
        Command::SetPassword { campaign, user, login, .. } => {
            let password = match std::env::var("DOORSTEP_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            cli::set_password(&service, &campaign, &user, login.as_deref().unwrap_or(&user), password).await
        }
        _ => unreachable!(),
    }
}

/// Runs the command line's command (`std::env::args`).
pub async fn run() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            database,
            listen,
            tile_url,
            metrics_listen,
            log_format,
            smtp_url,
            mail_from,
            reminder_every_s,
            secret_key_file,
            public_url,
            trusted_proxies,
            max_in_flight,
        } => {
            crate::observe::init_logs(&log_format);
            let store = match crate::cli::open_store(&database).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot open the database");
                    return std::process::ExitCode::FAILURE;
                }
            };
            let listener = match tokio::net::TcpListener::bind(&listen).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(listen, error = %e, "cannot listen");
                    return std::process::ExitCode::FAILURE;
                }
            };
            let address = listener.local_addr().map_or(listen, |a| a.to_string());
            // The database's location, not its URL: a PostgreSQL URL may carry a password.
            let backend = if database.starts_with("postgres") { "postgresql" } else { database.as_str() };
            let mut service = Service::new(store);
            service.tile_url = tile_url;
            service.public_url = public_url;
            service.trusted_proxies = trusted_proxies;
            service.admission.set_limit(max_in_flight);
            let key_file = secret_key_file.unwrap_or_else(|| {
                if database.starts_with("postgres") {
                    "doorstep-secret.key".into()
                } else {
                    format!("{database}.key").into()
                }
            });
            let key = match crate::sms_credentials::Sealer::load_or_create(&key_file) {
                Ok(k) => k,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read or create the server's secret key");
                    return std::process::ExitCode::FAILURE;
                }
            };
            if let Err(e) = service.use_sealing_key(key).await {
                tracing::error!(error = %e, "not the secret key of this database");
                return std::process::ExitCode::FAILURE;
            }
            // Several processes on one PostgreSQL: live events through the database.
            match service.share_live_events().await {
                Ok(true) => tracing::info!("live events shared with the database's other processes"),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for the other processes' live events");
                    return std::process::ExitCode::FAILURE;
                }
            }
            if let Some(url) = smtp_url {
                match crate::mail::Mailer::new(&url, &mail_from) {
                    Ok(m) => service.mailer = Some(m),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot use the SMTP relay");
                        return std::process::ExitCode::FAILURE;
                    }
                }
            }
            if let Some(at) = metrics_listen {
                match tokio::net::TcpListener::bind(&at).await {
                    Ok(l) => {
                        tracing::info!(url = %format!("http://{}/metrics", l.local_addr().map_or(at, |a| a.to_string())), "metrics");
                        let app = crate::observe::metrics_app(service.clone());
                        tokio::spawn(async move { axum::serve(l, app).await });
                    }
                    Err(e) => {
                        tracing::error!(listen = at, error = %e, "cannot listen for metrics");
                        return std::process::ExitCode::FAILURE;
                    }
                }
            }
            // Every hour: planner statistics, and retention (campaigns past their date lose their
            // personal data).
            let purger = service.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
                loop {
                    every.tick().await;
                    if let Err(e) = purger.store.optimize().await {
                        tracing::warn!(error = %e, "planner statistics");
                    }
                    let idle = (purger.now)() - 3_600_000;
                    if let Err(e) = crate::store::SharedStore::forget_buckets(&*purger.store, idle).await {
                        tracing::warn!(error = %e, "request buckets");
                    }
                    match purger.purge_expired_campaigns().await {
                        Ok(done) => {
                            for (c, n) in done.iter().filter(|(_, n)| *n != Default::default()) {
                                tracing::info!(campaign = %c, counts = ?n, "retention purge");
                            }
                        }
                        Err(e) => tracing::error!(error = %e.message, "retention purge failed"),
                    }
                }
            });
            // The reminder sender: due e-mail reminders every half minute (each row claimed before it
            // is sent, so several server processes never send one twice).
            let sender = service.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(reminder_every_s.max(1)));
                loop {
                    every.tick().await;
                    match sender.deliver_reminders().await {
                        Ok(d) if d != Default::default() => tracing::info!(?d, "reminders"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e.message, "reminders failed"),
                    }
                    // Reminders by text go to the SMS outbox (the SMS sender sends them).
                    match sender.deliver_sms_reminders().await {
                        Ok(d) if d != Default::default() => tracing::info!(?d, "sms reminders"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e.message, "sms reminders failed"),
                    }
                }
            });
            // The SMS sender: every campaign's outbox through its own provider every 5 s, and
            // its receipts and replies (claimed rows: several processes never send one twice; a
            // lost answer is never resent).
            let texts = crate::sms_dispatch::SmsSender::new(service.clone());
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    every.tick().await;
                    match texts.round(100).await {
                        Ok(d) if d != Default::default() => tracing::info!(?d, "sms"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e.message, "sms sending failed"),
                    }
                }
            });
            // Said once everything is ready (tests and balancers wait for this line).
            tracing::info!(url = %format!("http://{address}"), database = backend, "doorstep-server listening");
            let app = api::app(service).into_make_service_with_connect_info::<std::net::SocketAddr>();
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(crate::shutdown_signal()).await {
                tracing::error!(error = %e, "server stopped");
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
        Command::Backup { database, to } => match crate::cli::backup_sqlite(&database, &to) {
            Ok(line) => {
                println!("{line}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("doorstep-server : erreur / error: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Purge { database } => {
            let service = match crate::cli::open_store(&database).await {
                Ok(s) => Service::new(s),
                Err(e) => {
                    eprintln!("doorstep-server: cannot open {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            match service.purge_expired_campaigns().await {
                Ok(done) => {
                    println!(
                        "| campagne / campaign | réponses effacées / reports stripped | personnes / people | appareils révoqués / devices revoked | inscriptions publiques / public sign-ups |"
                    );
                    println!("|---|---:|---:|---:|---:|");
                    for (c, n) in &done {
                        println!(
                            "| {c} | {} | {} | {} | {} |",
                            n.reports_stripped, n.people_deleted, n.devices_revoked, n.public_signups_deleted
                        );
                    }
                    if done.is_empty() {
                        println!(
                            "aucune campagne au-delà de sa durée de conservation / no campaign past its retention date"
                        );
                    }
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("doorstep-server : erreur / error: {}", e.message);
                    std::process::ExitCode::FAILURE
                }
            }
        }
        c @ (Command::CreateCampaign { .. }
        | Command::Import { .. }
        | Command::Cut { .. }
        | Command::Rank { .. }
        | Command::SetPassword { .. }
        | Command::Export { .. }) => {
            // The coordinator's commands print their own summary; their log lines (the cut's
            // step times, say) only when asked for with RUST_LOG.
            if std::env::var_os("RUST_LOG").is_some() {
                crate::observe::init_logs("text");
            }
            match admin(c).await {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("doorstep-server : erreur / error: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::TestFixture { database, relaxed_limits } => match test_fixture(&database, relaxed_limits).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("doorstep-server test-fixture: {e}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}

async fn test_fixture(database: &str, relaxed_limits: bool) -> Result<(), String> {
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(database).map_err(|e| e.to_string())?);
    let mut service = Service::new(store.clone());
    if relaxed_limits {
        service.rate_limits.token_burst = 100_000.0;
        service.rate_limits.token_per_s = 100_000.0;
    }
    let seeded = crate::demo::seed(&service, &store).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (volunteer, code, turf) = &seeded.volunteers[0];
    // The first volunteer's invitation on the first line's top level (the binding tests), and the
    // rest of the north team with the coordinator's token for tests that move streets and revoke
    // (other key names, so that a search for `"turf":` finds the first volunteer's).
    let team: Vec<_> = seeded.volunteers[1..5]
        .iter()
        .map(|(v, c, t)| serde_json::json!({"volunteer_id": v, "join_code": c, "turf_id": t}))
        .collect();
    println!(
        "{}",
        serde_json::json!({"url": url, "code": code, "turf": turf, "volunteer": volunteer,
            "coordinator_token": seeded.coordinator_token, "team": team})
    );
    axum::serve(listener, api::app(service))
        .with_graceful_shutdown(crate::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}
