//! Team messages (issue 18's figure: 1,000 messages sync in under 200 KB compressed). Five
//! volunteers and their captain write 1,000 messages in their team's channel (texts of the kind a
//! team writes, 20 to 200 characters), pushed as phones push them (batches of 200 events); then a
//! sixth volunteer's phone, holding nothing, catches up through the feed (pages of 200 per
//! channel) as the sync does. Measured on the embedded SQLite store, through the service: the
//! feed's JSON, raw and gzip-compressed as the server sends it (tower-http's gzip at its default
//! level), the pages, and the time to push and to catch up.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-messages-bench [-- --quick]`

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use doorstep_protocol::{MessageAction, MessageEvent};
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, StoreOps, Team, User};

/// Sentence frames a team writes; each message fills one with a real street of Nantes, a house
/// number and a time, so that no two messages are alike.
const TEXTS: &[&str] = &[
    "On se retrouve où ?",
    "Devant le marché, côté fontaine, dans dix minutes.",
    "La rue Bisson est faite, on passe rue Crébillon.",
    "Attention, chien au 12 : sonnez et reculez.",
    "Personne au 4, boîte aux lettres pleine, on repassera samedi.",
    "Digicode du 18 : 4527B. Escalier A, troisième étage, deux portes à gauche.",
    "Très bon accueil rue de la Fosse, beaucoup de questions sur les transports et les loyers ; j'ai laissé des tracts.",
    "Pause café au bar du coin, qui nous rejoint ?",
    "Il pleut, on finit les halls d'immeubles d'abord puis on fait le point à 12 h 30 devant la mairie annexe.",
    "Merci à tous, 212 portes aujourd'hui !",
];

/// The `i`-th message: a frame filled with a real street, a number and a time; or (`noise`) 160
/// letters a compressor cannot shrink much, the worst case.
fn body(i: u64, streets: &[String], noise: bool) -> String {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    if noise {
        return (0..160).map(|_| (b'a' + (next() % 26) as u8) as char).collect();
    }
    let street = &streets[(next() % streets.len() as u64) as usize];
    let frame = TEXTS[(next() % TEXTS.len() as u64) as usize];
    format!("{frame} ({street}, n° {}, {} h {:02})", 1 + next() % 140, 9 + next() % 10, next() % 60)
}

fn user(id: &str, role: Role, team: Option<&str>) -> User {
    User {
        id: id.into(),
        campaign_id: "nantes-2026".into(),
        role,
        display_name: format!("{id} (bénévole)"),
        team_id: team.map(str::to_string),
    }
}

fn gz(bytes: &[u8]) -> usize {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).unwrap();
    z.finish().unwrap().len()
}

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let runs = if std::env::args().any(|a| a == "--quick") { 1 } else { 5 };
    let mut streets: Vec<String> = doorstep_tests::nearest_addresses(2_000).into_iter().map(|a| a.street).collect();
    streets.sort();
    streets.dedup();
    println!("| what | messages | p50 | bytes |");
    println!("|---|---:|---:|---:|");
    for noise in [false, true] {
        run(runs, &streets, noise).await;
    }
}

async fn run(runs: usize, streets: &[String], noise: bool) {
    let n_messages = 1_000;
    let (mut push_ms, mut catch_ms) = (Vec::new(), Vec::new());
    let (mut raw, mut zipped, mut pages) = (0, 0, 0);
    for _ in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
        let (campaign, ..) = doorstep_tests::server_import(1);
        store.create_campaign(&campaign, 0).await.unwrap();
        store.create_user(&user("cap", Role::Captain, None)).await.unwrap();
        let team =
            Team { id: "nord".into(), campaign_id: campaign.id.clone(), name: "Équipe nord".into(), captains: vec![] };
        store.create_team(&team).await.unwrap();
        store.add_member(&campaign.id, "nord", "cap").await.unwrap();
        let mut writers: Vec<User> = vec![store.user("cap").await.unwrap().unwrap()];
        for i in 0..6 {
            store.create_user(&user(&format!("vol-{i}"), Role::Volunteer, Some("nord"))).await.unwrap();
            writers.push(store.user(&format!("vol-{i}")).await.unwrap().unwrap());
        }
        let reader = writers.pop().unwrap();
        // Writes: each author's batch of events, as their phone pushes its outbox.
        let t = Instant::now();
        let mut n = 0u64;
        while n < n_messages {
            let w = &writers[(n / 200) as usize % writers.len()];
            let batch: Vec<MessageEvent> = (0..200.min(n_messages - n))
                .map(|k| {
                    let i = n + k;
                    MessageEvent {
                        id: format!("0190a0b0-0000-7000-8000-{i:012}"),
                        channel_id: "team:nord".into(),
                        author_id: w.id.clone(),
                        device_id: format!("dev-{}", w.id),
                        at_ms: 1_780_000_000_000 + i as i64 * 60_000,
                        action: MessageAction::Post { body: body(i, streets, noise), reference: None },
                    }
                })
                .collect();
            let got = store.record_messages(w, &format!("dev-{}", w.id), &batch, false, false, 1_780_000_000_000).await;
            assert_eq!(got.unwrap().posted.len(), batch.len());
            n += batch.len() as u64;
        }
        push_ms.push(t.elapsed().as_secs_f64() * 1e3);
        // Catch-up: a phone holding nothing, page after page, as the sync asks.
        let t = Instant::now();
        let mut since = std::collections::BTreeMap::new();
        let (mut r, mut z, mut p, mut got) = (0, 0, 0, 0);
        loop {
            let (channels, messages, more) =
                store.message_feed(&reader, &since, false, 1_780_000_000_000, 14 * 86_400_000).await.unwrap();
            let feed = doorstep_protocol::MessageFeed { protocol: 1, channels, messages, more, server_time_ms: 0 };
            let json = serde_json::to_vec(&feed).unwrap();
            r += json.len();
            z += gz(&json);
            p += 1;
            got += feed.messages.len();
            for m in &feed.messages {
                since.insert(m.channel_id.clone(), m.seq);
            }
            if !more {
                break;
            }
        }
        catch_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(got as u64, n_messages, "every message once");
        (raw, zipped, pages) = (r, z, p);
    }
    let what = if noise { "160 random letters each (worst case)" } else { "team texts with real streets" };
    println!(
        "| push: 5 phones' outboxes, batches of 200 (SQLite), {what} | {n_messages} | {:.0} ms | — |",
        p50(push_ms)
    );
    println!(
        "| catch-up: a phone holding nothing, {pages} pages of the feed, {what} | {n_messages} | {:.0} ms | {} KB raw, **{} KB gzip** |",
        p50(catch_ms),
        raw / 1024,
        zipped / 1024
    );
}
