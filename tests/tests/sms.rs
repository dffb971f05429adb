//! Issue 19 over real HTTP on loopback (the demo's seeded server on an SQLite file, its clock moved
//! by the test): the compliance gate on every recipient of a captain's text to their team — its
//! verdict per person in the preview, what a send queues (once, whatever the retries), every
//! refusal said — at a permitted hour, at night, on a Sunday, on the eve of the vote; another
//! team's captain is refused; a STOP opts out and the next send skips the number.

use doorstep_server::store::SmsStore;
use serde_json::{Value, json};

async fn call(base: &str, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let c = reqwest::Client::new();
    let mut rb = c.request(method.parse().unwrap(), format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Epoch ms of a Paris wall time (winter, UTC+1).
fn paris(y: i32, m: u32, d: u32, h: u32) -> i64 {
    let days = doorstep_protocol::validate::sms::Day { year: y, month: m, day: d }.to_days();
    days * 86_400_000 + i64::from(h) * 3_600_000 - 3_600_000
}

/// The numbers the north team's first three volunteers gave.
const NUMBERS: [&str; 3] = ["06 11 22 33 01", "06 11 22 33 02", "06 11 22 33 03"];

/// Sets SMS up on the demo campaign (the signature, a polling day on 20 December 2026) and gives
/// the north team's first three volunteers their numbers; `consenting` of them consent to team
/// news. Returns a store on the server's database file.
async fn set_up(
    d: &doorstep_tests::DemoServer,
    consenting: usize,
) -> std::sync::Arc<doorstep_server::store::sqlite::SqliteStore> {
    let coord = &d.seeded.coordinator_token;
    let settings = json!({"sender_name": "Équipe Martin",
        "election_days": [{"year": 2026, "month": 12, "day": 20}], "max_segments": 2});
    let (st, b) = call(&d.base, "PUT", "/api/v1/sms/settings", coord, Some(settings)).await;
    assert_eq!(st, 200, "{b}");
    let store = std::sync::Arc::new(doorstep_server::store::sqlite::SqliteStore::open(&d.db).unwrap());
    for (i, n) in NUMBERS.iter().enumerate() {
        let e164 = doorstep_protocol::validate::sms::normalise_number(n).unwrap();
        store.set_phone(&d.seeded.volunteers[i].0, Some(e164)).await.unwrap();
    }
    let consent = json!({"purpose": "team_news", "numbers": &NUMBERS[..consenting],
        "consent_text": "J'accepte de recevoir par SMS les nouvelles de mon équipe."});
    let (st, b) = call(&d.base, "POST", "/api/v1/sms/consents", coord, Some(consent)).await;
    assert_eq!((st, b["recorded"].as_u64()), (200, Some(consenting as u64)), "{b}");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_decides_every_text_of_a_captain() {
    let d = doorstep_tests::demo_server(Default::default()).await;
    let coord = d.seeded.coordinator_token.clone();
    let (cap, cap_token) = d.seeded.captain_tokens[0].clone();
    assert_eq!(cap, "capitaine-nord");
    let south = d.seeded.captain_tokens[1].1.clone();
    // Not set up yet: said so.
    let text = json!({"audience": {"kind": "team", "team_id": "nord"}, "purpose": "team_news",
        "body": "Équipe Martin : rendez-vous samedi 10 h au local. STOP au 36180"});
    let (st, b) = call(&d.base, "POST", "/api/v1/sms/preview", &cap_token, Some(text.clone())).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("sms_not_set_up")), "{b}");
    // The north team's first three volunteers gave numbers; two consented to team news.
    let store = set_up(&d, 2).await;
    let numbers = NUMBERS;
    let (st, _) = call(
        &d.base,
        "POST",
        "/api/v1/sms/consents",
        &coord,
        Some(json!({"purpose": "team_news",
        "consent_text": "x", "numbers": ["12"]})),
    )
    .await;
    assert_eq!(st, 400, "an unreadable number refuses the import");

    // Tuesday 8 December 2026, 15:00 in Paris: the two who consented may get it.
    d.clock.store(paris(2026, 12, 8, 15), std::sync::atomic::Ordering::SeqCst);
    let (st, p) = call(&d.base, "POST", "/api/v1/sms/preview", &cap_token, Some(text.clone())).await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(
        (p["allowed"].as_u64(), p["encoding"].as_str(), p["segments"].as_u64()),
        (Some(2), Some("gsm7"), Some(1)),
        "{p}"
    );
    let rows = p["recipients"].as_array().unwrap();
    let no_consent = rows.iter().find(|r| r["number"].as_str().is_some_and(|n| n.ends_with("33 03"))).unwrap();
    assert_eq!(no_consent["refusals"][0]["code"], "no_consent");
    assert!(
        no_consent["reasons"][0].as_str().unwrap().starts_with("aucun consentement"),
        "said in French: {no_consent}"
    );
    let no_number = rows.iter().filter(|r| r["number"].is_null()).count();
    assert!(no_number >= 1, "volunteers without a number are listed, refused: {p}");
    assert!(!p.to_string().contains("0611223301") && !p.to_string().contains("+33611223301"), "numbers are masked");

    // Sent: queued once, whatever the retries.
    let send = json!({"audience": {"kind": "team", "team_id": "nord"}, "purpose": "team_news",
        "body": "Équipe Martin : rendez-vous samedi 10 h au local. STOP au 36180", "idempotency_key": "rdv-samedi"});
    let (st, r) = call(&d.base, "POST", "/api/v1/sms/send", &cap_token, Some(send.clone())).await;
    assert_eq!((st, r["queued"].as_u64()), (202, Some(2)), "{r}");
    let (_, again) = call(&d.base, "POST", "/api/v1/sms/send", &cap_token, Some(send.clone())).await;
    assert_eq!(again["queued"].as_u64(), Some(0), "a retry queues nothing twice: {again}");
    let mut no_key = send.clone();
    no_key["idempotency_key"] = Value::Null;
    let (st, b) = call(&d.base, "POST", "/api/v1/sms/send", &cap_token, Some(no_key)).await;
    assert_eq!((st, b["code"].as_str()), (400, Some("idempotency_key_required")));
    // The south captain may not text the north team.
    let (st, _) = call(&d.base, "POST", "/api/v1/sms/preview", &south, Some(text.clone())).await;
    assert_eq!(st, 403);

    // At night, on a Sunday, on the eve of the vote: nobody.
    for (when, code) in [
        (paris(2026, 12, 8, 21), "quiet_hours"),
        (paris(2026, 12, 13, 11), "sunday"),
        (paris(2026, 12, 19, 11), "electoral_silence"),
        (paris(2026, 12, 20, 19), "electoral_silence"),
    ] {
        d.clock.store(when, std::sync::atomic::Ordering::SeqCst);
        let (_, p) = call(&d.base, "POST", "/api/v1/sms/preview", &cap_token, Some(text.clone())).await;
        assert_eq!(p["allowed"].as_u64(), Some(0), "{code}: {p}");
        let first = &p["recipients"][0]["refusals"];
        assert!(first.as_array().unwrap().iter().any(|r| r["code"] == code), "{code}: {first}");
    }
    // A text without the sender's name and without STOP, with an emoji: every reason said.
    d.clock.store(paris(2026, 12, 8, 15), std::sync::atomic::Ordering::SeqCst);
    let bare = json!({"audience": {"kind": "team", "team_id": "nord"}, "purpose": "team_news", "body": "Rdv 10 h 🙂"});
    let (_, p) = call(&d.base, "POST", "/api/v1/sms/preview", &cap_token, Some(bare)).await;
    assert_eq!(p["encoding"], "ucs2");
    let codes: Vec<&str> =
        p["recipients"][0]["refusals"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"no_sender_identity") && codes.contains(&"no_stop_mention"), "{codes:?}");

    // A STOP from the first number (as the provider's webhook will hand it over): opted out; the
    // next text skips it.
    let first = doorstep_protocol::validate::sms::normalise_number(numbers[0]).unwrap();
    assert_eq!(
        store
            .sms_record_inbound("prov-1", "demo-nantes", &first, "STOP", true, paris(2026, 12, 8, 16))
            .await
            .unwrap()
            .1,
        doorstep_protocol::validate::sms::is_stop_word("STOP")
    );
    let (_, optouts) = call(&d.base, "GET", "/api/v1/sms/optouts", &coord, None).await;
    assert_eq!(optouts.as_array().map(Vec::len), Some(1), "{optouts}");
    let mut next = send.clone();
    next["idempotency_key"] = json!("rdv-dimanche");
    let (_, r) = call(&d.base, "POST", "/api/v1/sms/send", &cap_token, Some(next)).await;
    assert_eq!(r["queued"].as_u64(), Some(1), "only the one who did not say STOP: {r}");
}

/// Queued texts go through a Twilio-compatible provider (a double on loopback speaking its API),
/// each once: a 429 stops the round and loses nothing; a text whose answer is lost after the
/// provider took it is `unknown` and never resent (the double counts what it took); a refusal is
/// explained in French; a text queued at 19:55 waits for the morning; a STOP after queueing wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_texts_go_once_through_a_twilio_compatible_provider() {
    use doorstep_server::sms_provider::TwilioRest;
    use doorstep_tests::sms_double::{Mode, TwilioDouble};
    use std::sync::atomic::Ordering;
    let d = doorstep_tests::demo_server(Default::default()).await;
    let cap_token = d.seeded.captain_tokens[0].1.clone();
    let store = set_up(&d, 3).await;
    let numbers = NUMBERS;
    // The sender: a service on the same database, on the test's clock.
    let mut sender = doorstep_server::service::Service::new(store.clone());
    let clock = d.clock.clone();
    sender.now = std::sync::Arc::new(move || clock.load(Ordering::SeqCst));
    let double = TwilioDouble::start().await;
    let provider = TwilioRest::new(
        &double.base,
        &double.sid,
        &double.token,
        "EquipeMartin",
        std::time::Duration::from_millis(500),
    )
    .unwrap();
    let text = |key: &str| {
        json!({"audience": {"kind": "team", "team_id": "nord"}, "purpose": "team_news",
        "body": "Équipe Martin : rendez-vous samedi 10 h au local. STOP au 36180", "idempotency_key": key})
    };

    d.clock.store(paris(2026, 12, 8, 15), Ordering::SeqCst);
    let (_, r) = call(&d.base, "POST", "/api/v1/sms/send", &cap_token, Some(text("samedi"))).await;
    assert_eq!(r["queued"].as_u64(), Some(3), "{r}");
    // Round 1: the provider says 429 at once: nothing sent, nothing lost.
    double.then(&[Mode::Throttle]);
    let rep = sender.dispatch_sms(&provider, 10).await.unwrap();
    assert!(rep.throttled && rep.sent == 0, "{rep:?}");
    assert!(double.taken().is_empty());
    // Round 2: the first is taken and its answer lost; the second refused (invalid number); the
    // third sent.
    double.then(&[Mode::TakeThenHang(std::time::Duration::from_secs(3)), Mode::Reject("21211"), Mode::Accept]);
    let rep = sender.dispatch_sms(&provider, 10).await.unwrap();
    assert_eq!((rep.unknown, rep.failed, rep.sent), (1, 1, 1), "{rep:?}");
    assert_eq!(double.taken().len(), 2, "the provider took two: the lost answer and the accepted one");
    // Round 3: nothing left to send — the text whose answer was lost is not sent again.
    let before = double.requests();
    let rep = sender.dispatch_sms(&provider, 10).await.unwrap();
    assert_eq!((rep.sent, rep.unknown), (0, 0), "{rep:?}");
    assert_eq!(double.requests(), before, "no request at all");
    let states: Vec<String> = store.sms_outbox("demo-nantes").await.unwrap().into_iter().map(|r| r.3).collect();
    let mut sorted = states.clone();
    sorted.sort();
    assert_eq!(sorted, ["failed", "sent", "unknown"]);
    let taken = double.taken();
    assert!(taken.iter().all(|(_, from, body)| from == "EquipeMartin" && body.contains("STOP")), "{taken:?}");
    let failed = rusqlite::Connection::open(&d.db)
        .unwrap()
        .query_row("SELECT error FROM sms_outbox WHERE state = 'failed'", [], |r| r.get::<_, String>(0))
        .unwrap();
    assert!(failed.contains("numéro invalide"), "explained in French: {failed}");

    // Queued at 19:55, sent at 20:30? No: it waits for the morning.
    d.clock.store(paris(2026, 12, 8, 19) + 55 * 60_000, Ordering::SeqCst);
    let (_, r) = call(&d.base, "POST", "/api/v1/sms/send", &cap_token, Some(text("soir"))).await;
    assert_eq!(r["queued"].as_u64(), Some(3), "{r}");
    // …and the third volunteer answers STOP in between.
    let third = doorstep_protocol::validate::sms::normalise_number(numbers[2]).unwrap();
    let third_before = double.taken().iter().filter(|(to, _, _)| *to == third).count();
    store.sms_record_inbound("in-stop", "demo-nantes", &third, "Stop", true, paris(2026, 12, 8, 20)).await.unwrap();
    d.clock.store(paris(2026, 12, 8, 20) + 30 * 60_000, Ordering::SeqCst);
    let rep = sender.dispatch_sms(&provider, 10).await.unwrap();
    assert_eq!((rep.sent, rep.held, rep.refused), (0, 2, 1), "night: two wait, the STOP is refused: {rep:?}");
    d.clock.store(paris(2026, 12, 9, 9), Ordering::SeqCst);
    let rep = sender.dispatch_sms(&provider, 10).await.unwrap();
    assert_eq!(rep.sent, 2, "the morning after: {rep:?}");
    let to_third = double.taken().iter().filter(|(to, _, _)| *to == third).count();
    assert_eq!(to_third, third_before, "nothing more to the number that said STOP");
}
