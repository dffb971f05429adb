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
    let mut service = Service::new(store.clone());
    // The key that seals SMS providers' secrets, beside the demo's database.
    let key = doorstep_server::sealer::Sealer::load_or_create(std::path::Path::new(&format!("{database}.key")))?;
    service.sms_keys = Some(Arc::new(key));
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
    let session = canvass_session(&service, &store, &seeded, &base, &phones, pace_ms, knocks.min(15)).await?;
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
                let session = service.authenticate(&seeded.captain_tokens[0].1).await.map_err(|e| e.message)?;
                let staff = service.staff(&session).await.map_err(|e| e.message)?;
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
    let day = session.await.map_err(|e| e.to_string())??;
    for (who, street) in &day.handed {
        println!("  séance : « {street} » remise hors connexion par le téléphone du capitaine à {who}");
    }
    for (who, text) in &day.messages {
        println!("  messages de la séance — {who} : {text}");
    }
    if let Some(p) = &day.pinned {
        println!("  épinglé par le capitaine : {p}");
    }
    let coord = staff_of(&service, &seeded.coordinator_token, doorstep_server::store::Role::Coordinator).await?;
    let sessions = service.sessions(&coord).await.map_err(|e| e.message)?;
    if let Some(r) = sessions.iter().find(|r| r.counts.session.id == "seance-samedi-matin") {
        println!(
            "Bilan de la séance « {} » : {} inscrits, {} accueillis, {} présents, {} portes sous ses baux, {} conversations.",
            r.counts.session.title,
            r.counts.signed_up + r.counts.confirmed + r.counts.checked_in,
            r.counts.checked_in,
            r.attended,
            r.doors,
            r.contacts
        );
    }
    sms_reminders(&service, &store, &seeded).await?;
    let reports = store.reports(&campaign).await.map_err(|e| e.to_string())?;
    println!("Terminé : {} passages sur le serveur, chacun une seule fois.", reports.len());
    if exit_when_done {
        server.abort();
        return Ok(());
    }
    println!("Le serveur continue ({base}) ; Ctrl-C pour arrêter.");
    server.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

/// The next weekday that is not a public holiday, 10:00 in Paris (11:00 in summer): texts may go.
fn next_permitted_morning() -> i64 {
    use doorstep_protocol::validate::sms::{Day, Zone, holiday};
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let mut day = Day::from_days(now.div_euclid(86_400_000)).plus(1);
    while day.weekday() == 6 || holiday(Zone::Metropole, day).is_some() {
        day = day.plus(1);
    }
    day.to_days() * 86_400_000 + 9 * 3_600_000
}

/// Session reminders by SMS (issue 19) through a local SMPP message centre: the coordinator sets
/// the campaign's texts up (signature, polling day, the provider with its password sealed), the
/// session's two sign-ups gave numbers and one consented to reminders; the captain's reminder goes
/// through the compliance gate (the other is refused, said why), the sender submits it over SMPP,
/// the centre's receipt comes back; then the volunteer answers STOP.
async fn sms_reminders(
    service: &Service,
    store: &Arc<dyn ServerStore>,
    seeded: &doorstep_server::demo::Seeded,
) -> Result<(), String> {
    use doorstep_protocol::validate::sms::{Day, SmsPurpose};
    use doorstep_server::store::{Role, SmsStore};
    use doorstep_tests::sms_double::SmsDouble as _;
    let centre = doorstep_tests::smpp_double::SmppDouble::start().await;
    let mut texts = service.clone();
    let morning = next_permitted_morning();
    texts.now = Arc::new(move || morning);
    let coord = staff_of(&texts, &seeded.coordinator_token, Role::Coordinator).await?;
    let captain = staff_of(&texts, &seeded.captain_tokens[0].1, Role::Captain).await?;
    let polling = Day::from_days(morning.div_euclid(86_400_000)).plus(60);
    let settings = doorstep_server::store::ops::sms::SmsSettings {
        sender_name: "Équipe Martin".into(),
        election_days: vec![polling],
        max_segments: 2,
        follow_up_body: None,
    };
    texts.set_sms_settings(&coord, settings).await.map_err(|e| e.message)?;
    let provider = doorstep_server::sms_credentials::ProviderSettings {
        kind: "smpp".into(),
        endpoint: centre.addr.clone(),
        account: centre.system_id.clone(),
        sender: "EqMartin".into(),
        secret: centre.password.clone(),
        price_millicents: 4_500,
        confirms_stop: false,
    };
    texts.set_sms_provider(&coord, provider).await.map_err(|e| e.message)?;
    let campaign = doorstep_server::demo::demo_campaign().id;
    for (user, number) in [("benevole-seance-1", "+33611223344"), ("benevole-seance-2", "+33611223355")] {
        store.set_phone(user, Some(number.into())).await.map_err(|e| e.to_string())?;
    }
    let consent = vec![(
        "+33611223344".to_string(),
        SmsPurpose::SessionReminder,
        "J'accepte de recevoir par SMS les rappels des séances où je m'inscris.".to_string(),
    )];
    store.record_consents(&campaign, &consent, "app", morning).await.map_err(|e| e.to_string())?;
    let req = doorstep_server::sms::SmsRequest {
        audience: doorstep_server::sms::SmsAudience::Session { session_id: "seance-samedi-matin".into() },
        purpose: SmsPurpose::SessionReminder,
        body: "Équipe Martin : demain 10 h, porte-à-porte, rendez-vous au point habituel. STOP au 36180".into(),
        idempotency_key: Some("rappel-seance-samedi".into()),
    };
    let preview = texts.sms_preview(&captain, req.clone()).await.map_err(|e| e.message)?;
    let day = Day::from_days(morning.div_euclid(86_400_000));
    println!(
        "SMS (horloge de la démo : {:02}/{:02}/{} à 10 h) — rappel du capitaine aux inscrits de la séance :",
        day.day, day.month, day.year
    );
    for r in &preview.recipients {
        // French first: each reason is "français / English".
        let reasons: Vec<&str> = r.reasons.iter().map(|x| x.split(" / ").next().unwrap_or(x)).collect();
        let verdict = if r.allowed { "envoyé".to_string() } else { format!("refusé : {}", reasons.join(" ; ")) };
        println!("  {} ({}) — {verdict}", r.name, r.number.as_deref().unwrap_or("pas de numéro"));
    }
    texts.sms_send(&captain, req).await.map_err(|e| e.message)?;
    let sender = doorstep_server::sms_dispatch::SmsSender::new(texts.clone());
    let mut receipts = 0;
    for _ in 0..50 {
        let r = sender.round(100).await.map_err(|e| e.message)?;
        receipts += r.receipts;
        if receipts > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let taken = centre.taken();
    println!(
        "  centre SMPP local : {} SMS reçu(s) de « {} », {} accusé(s) de réception",
        taken.len(),
        taken.first().map_or("", |t| t.1.as_str()),
        receipts
    );
    centre.reply("+33611223344", "Stop").await;
    for _ in 0..50 {
        sender.round(100).await.map_err(|e| e.message)?;
        if centre.taken().len() > taken.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let optouts = texts.sms_optouts(&coord).await.map_err(|e| e.message)?;
    let answer = centre.taken().last().map(|t| t.2.clone()).unwrap_or_default();
    println!("  Inès répond « Stop » : {} numéro sur la liste d'opposition ; réponse : « {answer} »", optouts.len());
    Ok(())
}

/// The staff member behind an API token.
async fn staff_of(
    service: &Service,
    token: &str,
    role: doorstep_server::store::Role,
) -> Result<doorstep_server::admin::Staff, String> {
    let session = service.authenticate(token).await.map_err(|e| format!("a staff token of the seed: {}", e.message))?;
    if session.user.role != role {
        return Err(format!("the seed's token is a {}'s", session.user.role.as_str()));
    }
    service.staff(&session).await.map_err(|e| e.message)
}

/// The demo's canvass session (issue 17) on a turf no volunteer holds: a morning session started
/// two hours ago at a meeting point of the first turf; two more volunteers sign up from their
/// phones, the north captain's own phone hands each a street with no network, and they knock at
/// walking pace. Runs beside the ten volunteers; returns its task.
async fn canvass_session(
    service: &Service,
    store: &Arc<dyn ServerStore>,
    seeded: &doorstep_server::demo::Seeded,
    base: &str,
    phones: &std::path::Path,
    pace_ms: u64,
    knocks: usize,
) -> Result<tokio::task::JoinHandle<Result<doorstep_demo::SessionDay, String>>, String> {
    use doorstep_server::store::Role;
    let campaign = doorstep_server::demo::demo_campaign().id;
    let coord = staff_of(service, &seeded.coordinator_token, Role::Coordinator).await?;
    let (captain_id, captain_token) = seeded.captain_tokens[0].clone();
    let captain = staff_of(service, &captain_token, Role::Captain).await?;
    let held: Vec<&str> = seeded.volunteers.iter().map(|(_, _, t)| t.as_str()).collect();
    let free = store
        .turf_summaries(&campaign)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|t| !held.contains(&t.turf.id.as_str()) && t.doors >= 20)
        .ok_or("a turf nobody holds")?;
    let pkg = service.turf_package(&free.turf.id).await.map_err(|e| e.to_string())?.ok_or("the session's turf")?;
    let meet = pkg.buildings.first().ok_or("a building")?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?;
    let start = now.as_millis() as i64 - 2 * 3_600_000;
    let session = doorstep_protocol::Session {
        id: "seance-samedi-matin".into(),
        campaign_id: campaign.clone(),
        title: "Matinée de porte-à-porte".into(),
        start_ms: start,
        end_ms: start + 3 * 3_600_000,
        meeting_lat: meet.lat,
        meeting_lon: meet.lon,
        meeting_text: format!("Devant le {} {}", meet.house_number, meet.street),
        capacity: 12,
        captains: vec![captain_id],
        turfs: vec![free.turf.id.clone()],
        team_id: None,
        visibility: doorstep_protocol::Visibility::Campaign,
        cancelled: false,
    };
    service.create_session(&coord, session.clone()).await.map_err(|e| e.message)?;
    let mut volunteers = Vec::new();
    for (id, name) in [("benevole-seance-1", "Inès (séance)"), ("benevole-seance-2", "Malik (séance)")] {
        let req = doorstep_server::people::InviteRequest {
            email: None,
            name: name.into(),
            user_id: Some(id.into()),
            role: Role::Volunteer,
            team_id: None,
        };
        let inv = service.invite(&coord, req).await.map_err(|e| e.message)?;
        volunteers.push((id.to_string(), inv.join_code.ok_or("a join code")?));
    }
    let captain_code = service.phone_code(&captain).await.map_err(|e| e.message)?.join_code;
    println!(
        "Séance « {} » ({}), rendez-vous {} : deux bénévoles s'inscrivent depuis leur téléphone ; le capitaine leur remet une rue chacun sans réseau.",
        session.title, free.turf.id, session.meeting_text
    );
    let dir = phones.join("session");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let pace = std::time::Duration::from_millis(pace_ms);
    Ok(tokio::spawn(doorstep_demo::session_day(doorstep_demo::SessionPlan {
        base: base.to_string(),
        dir,
        session_id: session.id,
        turf: free.turf.id,
        captain_code,
        volunteers,
        start_ms: start + 5 * 60_000,
        pace,
        knocks,
    })))
}

fn tempdir_for_phones() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("doorstep-demo-phones-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}
