//! SMS sending (issue 19's figures): sustained texts to the loopback SMPP message centre with the
//! compliance gate and the outbox in the path (each text claimed, gated again with the facts of
//! the moment, submitted, recorded — [`SmsSender::round`], as `serve` runs it), beside the
//! strongest baseline: the same SMPP session submitting the same texts with nothing around it
//! (the provider alone). Then STOP to opt-out end to end at the server's own cadence (the sender
//! runs every 5 s): a phone's STOP reaches the message centre at a random moment, and the clock
//! runs until the number is on the campaign's opt-out list.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-sms-bench [-- TEXTS [STOPS] [postgres]]`
//! (default 2,000 texts, 10 STOPs, SQLite; `postgres` uses `DATABASE_URL`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use doorstep_protocol::validate::sms::{Day, SmsPurpose};
use doorstep_server::service::Service;
use doorstep_server::sms_dispatch::SmsSender;
use doorstep_server::sms_provider::{SmsProvider, Submission};
use doorstep_server::store::ops::sms::SmsSettings;
use doorstep_server::store::ops::sms_providers::ProviderRow;
use doorstep_server::store::{ServerStore, SmsStore, StoreOps};
use doorstep_tests::smpp_double::SmppDouble;
use doorstep_tests::sms_double::SmsDouble as _;

const BODY: &str = "Équipe Martin : séance de porte-à-porte samedi 10 h, rendez-vous au local. STOP au 36180";

fn number(i: usize) -> String {
    format!("+336{:08}", 10_000_000 + i)
}

/// A Tuesday, 15:00 in Paris (texts may go).
const NOW: i64 = 1_796_140_800_000;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let texts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let stops: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let postgres = args.iter().any(|a| a == "postgres");
    let dir = tempfile::tempdir().unwrap();
    let pg = if postgres { Some(doorstep_tests::TestDatabase::create().await) } else { None };
    let store: Arc<dyn ServerStore> = match &pg {
        Some(db) => Arc::new(doorstep_server::store::postgres::PgStore::connect(&db.url, 16).await.unwrap()),
        None => Arc::new(doorstep_server::store::sqlite::SqliteStore::open(dir.path().join("server.db")).unwrap()),
    };
    let (campaign, ..) = doorstep_tests::server_import(1);
    store.create_campaign(&campaign, 0).await.unwrap();
    let c = campaign.id.clone();
    let settings = SmsSettings {
        sender_name: "Équipe Martin".into(),
        election_days: vec![Day { year: 2027, month: 3, day: 14 }],
        max_segments: 2,
        follow_up_body: None,
    };
    store.set_sms_settings(&c, &settings, NOW).await.unwrap();
    let consents: Vec<(String, SmsPurpose, String)> = (0..texts + stops)
        .map(|i| (number(i), SmsPurpose::SessionReminder, "J'accepte les rappels de séance par SMS.".into()))
        .collect();
    store.record_consents(&c, &consents, "import", NOW).await.unwrap();
    let centre = SmppDouble::start().await;
    let mut service = Service::new(store.clone());
    service.now = Arc::new(|| NOW);
    let sealer = doorstep_server::sealer::Sealer::from_key([9; 32]);
    let row = ProviderRow {
        kind: "smpp".into(),
        endpoint: centre.addr.clone(),
        account: centre.system_id.clone(),
        sender: "EqMartin".into(),
        sealed_secret: sealer.seal(&c, &centre.password),
        price_millicents: 4_500,
        confirms_stop: false,
    };
    service.sms_keys = Some(Arc::new(sealer));
    store.set_sms_provider(&c, &row, NOW).await.unwrap();
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    println!("SMPP message centre on loopback, {backend}, {texts} texts of {} characters", BODY.chars().count());
    println!();
    println!("| path | texts | seconds | texts/s |");
    println!("|---|---:|---:|---:|");

    // Baseline: the provider alone, one session, the same texts.
    let alone = doorstep_server::sms_smpp::Smpp::new(
        &centre.addr,
        &centre.system_id,
        &centre.password,
        "EqMartin",
        Duration::from_secs(20),
    );
    let t = Instant::now();
    for i in 0..texts {
        let s = Submission { id: format!("raw-{i}"), to: number(i), body: BODY.into() };
        alone.submit(&s).await.unwrap();
    }
    let raw = t.elapsed().as_secs_f64();
    println!("| SMPP `submit_sm` alone (baseline) | {texts} | {raw:.2} | {:.0} |", texts as f64 / raw);

    // Through the outbox and the gate, as `serve` sends.
    let allowed: Vec<(String, String, u32, &'static str)> =
        (0..texts).map(|i| (format!("bench-{i}"), number(i), 1, "gsm7")).collect();
    store.sms_queue(&c, SmsPurpose::SessionReminder, BODY, "bench", &allowed, &[], NOW).await.unwrap();
    let sender = SmsSender::new(service.clone());
    let before = centre.taken().len();
    let t = Instant::now();
    let mut sent = 0;
    while sent < texts as u32 {
        let r = sender.round(100).await.unwrap();
        assert!(r.refused == 0 && r.failed == 0 && r.unknown == 0, "{r:?}");
        sent += r.sent;
    }
    let through = t.elapsed().as_secs_f64();
    assert_eq!(centre.taken().len() - before, texts, "each text once");
    println!(
        "| outbox + gate + SMPP (`SmsSender::round`, 100 a round) | {texts} | {through:.2} | {:.0} |",
        texts as f64 / through
    );
    println!();

    // STOP to opt-out at the server's cadence: the sender every 5 s, the STOP at a random moment.
    if stops == 0 {
        return;
    }
    let runner = Arc::new(SmsSender::new(service.clone()));
    let r2 = runner.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            r2.round(100).await.unwrap();
        }
    });
    let mut latencies = Vec::new();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for k in 0..stops {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(seed % 5_000)).await;
        let who = number(texts + k);
        let t = Instant::now();
        centre.reply(&who, "STOP").await;
        loop {
            if store.sms_number_facts(&c, &who).await.unwrap().1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(t.elapsed().as_secs_f64());
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "STOP to opt-out, end to end ({stops} STOPs at random moments, the sender every 5 s): p50 {:.2} s, max {:.2} s",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}
