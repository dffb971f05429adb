//! Session reminders and the public sign-up page (issue 17), over real HTTP on loopback, the real
//! server on an SQLite file and a local SMTP server that speaks the protocol: a reminder plan per
//! sign-up, sent once per (session, person, kind) through relay failures, a lost answer, a
//! crashed sender and a restart; a late sign-up reminded at once; the app's reminders served at
//! each sync; the public page's consent recorded and its abuse refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use doorstep_protocol::validate::reminder::{Channel, RowState};
use doorstep_protocol::{
    AppReminder, JoinRequest, JoinResponse, PROTOCOL_VERSION, PushResponse, Session, SignupEvent, SignupKind,
    SignupPush, Visibility,
};
use doorstep_server::people::InviteRequest;
use doorstep_server::service::Service;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, StoreOps};
use doorstep_tests::smtp::{Fault, SmtpDouble};

const H: i64 = 3_600_000;

struct World {
    base: String,
    store: Arc<dyn ServerStore>,
    clock: Arc<AtomicI64>,
    smtp: SmtpDouble,
    http: reqwest::Client,
    start: i64,
    _dir: tempfile::TempDir,
}

impl World {
    fn service(&self) -> Service {
        let mut s = Service::new(self.store.clone());
        let c = self.clock.clone();
        s.now = Arc::new(move || c.load(Ordering::SeqCst));
        s.mailer = Some(
            doorstep_server::mail::Mailer::new(&self.smtp.url(), "Nantes en commun <seances@exemple.fr>").unwrap(),
        );
        s
    }

    fn set(&self, t: i64) {
        self.clock.store(t, Ordering::SeqCst);
    }

    async fn join(&self, code: String, device: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/join", self.base))
            .json(&JoinRequest { protocol: PROTOCOL_VERSION, code, device_id: device.into() })
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<JoinResponse>().await.unwrap().token
    }

    async fn signup(&self, token: &str, volunteer: &str, device: &str, kind: SignupKind) -> PushResponse {
        let e = SignupEvent {
            id: uuid::Uuid::now_v7().to_string(),
            session_id: "s-marche".into(),
            volunteer_id: volunteer.into(),
            device_id: device.into(),
            kind,
            at_ms: self.clock.load(Ordering::SeqCst),
            proof: None,
        };
        let push = SignupPush { protocol: PROTOCOL_VERSION, device_id: device.into(), events: vec![e] };
        let r =
            self.http.post(format!("{}/api/v1/sync/signups", self.base)).bearer_auth(token).json(&push).send().await;
        r.unwrap().json().await.unwrap()
    }

    async fn app_reminders(&self, token: &str) -> Vec<AppReminder> {
        let r = self.http.get(format!("{}/api/v1/sync/reminders", self.base)).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn page(&self) -> (u16, String) {
        let r = self.http.get(format!("{}/p/s-marche", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post_form(&self, fields: &[(&str, &str)]) -> (u16, String) {
        let body: String = fields.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
        let r = self
            .http
            .post(format!("{}/p/s-marche", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The reminder rows of the session: `(person, kind, channel) → state`.
    async fn rows(&self) -> BTreeMap<(String, String, String), String> {
        self.store.session_reminders("s-marche").await.unwrap().into_iter().map(|(p, k, c, s)| ((p, k, c), s)).collect()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The form token of a page.
fn token_of(html: &str) -> String {
    let at = html.find("name=\"token\" value=\"").expect("a form token") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

async fn world(capacity: u32) -> (World, Vec<(String, String, String)>) {
    // (The core's transport installs the process's TLS provider, which reqwest needs.)
    doorstep_core::sync::http::HttpTransport::new("http://127.0.0.1:9", None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(20);
    let smtp = SmtpDouble::start().await;
    // Saturday 12 December 2026, 10:00 in Paris (09:00 UTC).
    let start = 1_797_066_000_000;
    let w = World {
        base: String::new(),
        store: store.clone(),
        clock: Arc::new(AtomicI64::new(start - 72 * H)),
        smtp,
        http: reqwest::Client::new(),
        start,
        _dir: dir,
    };
    let service = w.service();
    let mut campaign = campaign;
    campaign.name = "Nantes en commun".into();
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "t1", "Talensac", None, &ids).await.unwrap();
    let co = doorstep_tests::coordinator(&campaign.id);
    store.create_user(&co.user).await.unwrap();
    let invite = |id: &str, role: Role, email: Option<&str>| InviteRequest {
        email: email.map(str::to_string),
        name: id.into(),
        user_id: Some(id.into()),
        role,
        team_id: None,
    };
    service.invite(&co, invite("cap", Role::Captain, None)).await.unwrap();
    let mut people = Vec::new();
    for (id, email) in [("lea", Some("lea@exemple.fr")), ("max", None), ("nour", Some("nour@exemple.fr"))] {
        let code = service.invite(&co, invite(id, Role::Volunteer, email)).await.unwrap().join_code.unwrap();
        people.push((id.to_string(), code, format!("phone-{id}")));
    }
    let bad = service.invite(&co, invite("x", Role::Volunteer, Some("pas-une-adresse"))).await.unwrap_err();
    assert_eq!(bad.code, "bad_email", "an invitation with a bad address is refused");
    service
        .create_session(
            &co,
            Session {
                id: "s-marche".into(),
                campaign_id: campaign.id.clone(),
                title: "Marché de Talensac".into(),
                start_ms: start,
                end_ms: start + 3 * H,
                meeting_lat: buildings[0].lat,
                meeting_lon: buildings[0].lon,
                meeting_text: "devant la halle".into(),
                capacity,
                captains: vec!["cap".into()],
                turfs: vec!["t1".into()],
                team_id: None,
                visibility: Visibility::Public,
                cancelled: false,
            },
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = doorstep_server::api::app(service).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (World { base, ..w }, people)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_are_sent_once_each_through_failures_crashes_and_restarts() {
    let (w, people) = world(10).await;
    let mut tokens = BTreeMap::new();
    for (id, code, device) in &people {
        tokens.insert(id.clone(), (w.join(code.clone(), device).await, device.clone()));
    }
    // Three days before: Léa (with an address) and Max (without) sign up from their phones; a
    // replay of Léa's push plans nothing more.
    for who in ["lea", "max"] {
        let (t, d) = &tokens[who];
        let r = w.signup(t, who, d, SignupKind::SignUp).await;
        assert_eq!(format!("{:?}", r.results[0].status), "Accepted", "{who}");
    }
    let before = w.rows().await;
    let key = |p: &str, k: &str, c: &str| (p.to_string(), k.to_string(), c.to_string());
    assert_eq!(before.len(), 6, "Léa: 2 in the app + 2 by e-mail; Max: 2 in the app: {before:?}");
    assert!(
        before.contains_key(&key("lea", "day_before", "email"))
            && !before.contains_key(&key("max", "day_before", "email"))
    );

    // A supporter signs up on the public page (with her address), after reading it for a while.
    let (status, html) = w.page().await;
    assert_eq!(status, 200);
    assert!(html.contains("Marché de Talensac") && html.contains("samedi 12 décembre de 10 h à 13 h"), "{html}");
    assert!(html.contains("Il reste 8 places"), "10 places, 2 taken");
    let token = token_of(&html);
    w.set(w.start - 72 * H + 40_000);
    let zoe = [
        ("token", token.as_str()),
        ("name", "Zoé"),
        ("email", "zoe@exemple.fr"),
        ("phone", ""),
        ("consent", "on"),
        ("website", ""),
    ];
    let (status, html) = w.post_form(&zoe).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Merci") && html.contains("Il reste 7 places"));
    let rows = w.rows().await;
    let zoe_rows: Vec<_> = rows.keys().filter(|(p, _, _)| p.starts_with("pub:")).collect();
    assert_eq!(zoe_rows.len(), 2, "a public sign-up gets its two e-mail reminders: {zoe_rows:?}");

    // The day before, the relay refuses the first message for now (451): one sent, one retried.
    w.set(w.start - 24 * H);
    w.smtp.fail_next(&[Fault::Transient]);
    let d = w.service().deliver_reminders().await.unwrap();
    assert_eq!((d.sent, d.retried, d.failed), (1, 1, 0), "{d:?}");
    // Run again at once: the retried one waits its back-off; nothing goes twice.
    assert_eq!(w.service().deliver_reminders().await.unwrap().sent, 0);
    w.set(w.start - 24 * H + 61_000);
    assert_eq!(w.service().deliver_reminders().await.unwrap().sent, 1);
    // A restart (a new service on the same database) sends nothing again.
    assert_eq!(w.service().deliver_reminders().await.unwrap(), Default::default());
    let day_before: Vec<_> = w.smtp.mails().iter().flat_map(|m| m.to.clone()).collect();
    let mut sorted = day_before.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["lea@exemple.fr", "zoe@exemple.fr"], "one day-before e-mail each");

    // The app shows Léa her day-before reminder, at this sync and the next (the same id).
    let (lea_t, _) = tokens["lea"].clone();
    let shown = w.app_reminders(&lea_t).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].id, "s-marche:day_before");
    assert!(shown[0].text.starts_with("Rappel : demain à 10 h — « Marché de Talensac »"), "{}", shown[0].text);
    assert_eq!(w.app_reminders(&lea_t).await, shown, "served again, the same: the phone shows it once");

    // Max cancels: his app reminders are dropped, never shown.
    let (max_t, max_d) = tokens["max"].clone();
    w.signup(&max_t, "max", &max_d, SignupKind::Cancel).await;
    assert!(w.app_reminders(&max_t).await.is_empty());
    assert_eq!(w.rows().await[&key("max", "day_before", "app")], "dropped");

    // Five hours before, Nour signs up late: the day-before one is long past, so one reminder at
    // once by e-mail (and in the app), and the two-hour one still to come.
    w.set(w.start - 5 * H);
    let (nour_t, nour_d) = tokens["nour"].clone();
    w.signup(&nour_t, "nour", &nour_d, SignupKind::SignUp).await;
    let rows = w.rows().await;
    assert!(rows.contains_key(&key("nour", "late", "email")) && rows.contains_key(&key("nour", "two_hours", "email")));
    assert!(!rows.contains_key(&key("nour", "day_before", "email")), "no day-before for a late sign-up: {rows:?}");
    let d = w.service().deliver_reminders().await.unwrap();
    assert_eq!(d.sent, 1, "the late one, at once");
    let late = w.smtp.mails().last().cloned().unwrap();
    assert_eq!(late.to, vec!["nour@exemple.fr"]);
    assert!(late.body_text().contains("Votre inscription est bien enregistrée"), "{}", late.body_text());
    assert_eq!(w.app_reminders(&nour_t).await.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), vec!["late"]);

    // Two hours before: a sender claims Léa's reminder and dies before sending. Nobody sends it
    // while the claim is fresh; after the claim timeout it goes, once.
    w.set(w.start - 2 * H);
    let due = w.store.due_reminders(Channel::Email, w.start - 2 * H, 100).await.unwrap();
    let lea_due = due.iter().find(|r| r.person == "lea").expect("Léa's two-hour reminder is due").clone();
    assert!(w.store.claim_reminder(&lea_due, w.start - 2 * H).await.unwrap());
    assert!(!w.store.claim_reminder(&lea_due, w.start - 2 * H).await.unwrap(), "one claim wins");
    let d = w.service().deliver_reminders().await.unwrap();
    assert_eq!(d.sent, 2, "Zoé's and Nour's two-hour reminders; Léa's is claimed: {d:?}");
    w.set(w.start - 2 * H + 11 * 60_000);
    let d = w.service().deliver_reminders().await.unwrap();
    assert_eq!(d.sent, 1, "Léa's, after the dead sender's claim timed out");

    // The relay takes a message but the answer is lost (connection cut after DATA): sent again
    // with the same Message-ID, so a mail client shows it once. The session's later rows are none.
    // Every (person, kind) went out exactly once by e-mail, bar that documented case.
    let mails = w.smtp.mails();
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in &mails {
        let subject = m.header("Subject").unwrap_or_default();
        assert!(!subject.is_empty());
        *per.entry((m.to[0].clone(), m.header("Message-ID").unwrap())).or_default() += 1;
    }
    assert!(per.values().all(|&n| n == 1), "no Message-ID twice: {per:?}");
    assert_eq!(mails.len(), 6, "2 day-before + 1 late + 3 two-hour");
    for m in &mails {
        let body = m.body_text();
        assert!(body.contains("samedi 12 décembre de 10 h à 13 h") && body.contains("devant la halle"), "{body}");
        assert!(m.from == "seances@exemple.fr");
    }
    let rows = w.rows().await;
    assert!(rows.values().all(|s| s != RowState::Sending.code()), "no row left claimed: {rows:?}");

    // A stolen phone, revoked: over HTTP it is served no reminder any more (Léa had one).
    assert!(!w.app_reminders(&lea_t).await.is_empty());
    let co = doorstep_tests::coordinator(&doorstep_tests::campaign().id);
    assert!(w.service().revoke(&co, &tokens["lea"].1).await.unwrap());
    assert!(w.app_reminders(&lea_t).await.is_empty(), "a revoked phone learns nothing of the session");

    // Once the session has started nothing more goes: a row still pending is dropped.
    w.set(w.start + 1);
    let d = w.service().deliver_reminders().await.unwrap();
    assert_eq!(d.sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_resent_with_the_same_message_id_and_a_refusal_is_final() {
    let (w, people) = world(10).await;
    let (id, code, device) = &people[0];
    let token = w.join(code.clone(), device).await;
    w.set(w.start - 26 * H);
    w.signup(&token, id, device, SignupKind::SignUp).await;
    w.set(w.start - 24 * H);
    w.smtp.fail_next(&[Fault::AcceptThenHangUp]);
    let d = w.service().deliver_reminders().await.unwrap();
    assert_eq!(d.retried, 1, "the answer never came: tried again later");
    w.set(w.start - 24 * H + 61_000);
    assert_eq!(w.service().deliver_reminders().await.unwrap().sent, 1);
    let mails = w.smtp.mails();
    assert_eq!(mails.len(), 2, "the relay got it twice…");
    assert_eq!(mails[0].header("Message-ID"), mails[1].header("Message-ID"), "…under one Message-ID");
    // A permanent refusal (550) is final: the row is failed, with the relay's words.
    w.set(w.start - 2 * H);
    w.smtp.fail_next(&[Fault::Permanent]);
    let d = w.service().deliver_reminders().await.unwrap();
    assert_eq!(d.failed, 1);
    w.set(w.start - 2 * H + 3_600_000 - 1);
    assert_eq!(w.service().deliver_reminders().await.unwrap(), Default::default(), "never tried again");
    let rows = w.rows().await;
    assert_eq!(rows[&(id.clone(), "two_hours".into(), "email".into())], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_page_records_consent_and_turns_abuse_away() {
    let (w, people) = world(2).await;
    let (status, html) = w.page().await;
    assert_eq!(status, 200);
    assert!(html.contains("accepte que « Nantes en commun » enregistre mon nom"));
    let token = token_of(&html);
    let form = |name: &'static str, email: &'static str, phone: &'static str, consent: &'static str| {
        vec![
            ("token", token.clone()),
            ("name", name.into()),
            ("email", email.into()),
            ("phone", phone.into()),
            ("consent", consent.into()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let w = &w;
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.post_form(&f).await
        }
    };
    // Sent one second after the page: a script, refused with a clear word.
    w.set(w.start - 72 * H + 1_000);
    let (s, html) = post(form("Bot", "bot@exemple.fr", "", "on")).await;
    assert_eq!(s, 422);
    assert!(html.contains("trop vite"), "{html}");
    w.set(w.start - 72 * H + 60_000);
    // No consent, no contact, a bad number: refused, nothing kept, what was typed kept in the form.
    let (s, html) = post(form("Zoé", "zoe@exemple.fr", "", "")).await;
    assert!(s == 422 && html.contains("Cochez la case") && html.contains("value=\"zoe@exemple.fr\""));
    assert_eq!(post(form("Zoé", "", "", "on")).await.0, 422);
    assert_eq!(post(form("Zoé", "", "12", "on")).await.0, 422);
    // A forged token, and a token of another session: expired.
    let (s, html) =
        w.post_form(&[("token", "1.AAAA"), ("name", "Zoé"), ("email", "zoe@exemple.fr"), ("consent", "on")]).await;
    assert!(s == 400 && html.contains("expiré"));
    // The honeypot filled: thanked, nothing kept.
    let mut bot = form("Bot", "bot2@exemple.fr", "", "on");
    bot.push(("website", "http://spam.example".into()));
    let (s, html) = post(bot).await;
    assert!(s == 200 && html.contains("Merci"));
    // A phone-only sign-up, then the same number written another way: one sign-up, the same thanks.
    let (s, _) = post(form("Yanis", "", "06 12 34 56 78", "on")).await;
    assert_eq!(s, 200);
    let (s, html) = post(form("Yanis", "", "+33 6 12 34 56 78", "on")).await;
    assert!(s == 200 && html.contains("Merci"), "a repeat is thanked like a first time: nothing tells it apart");
    // The rate limit: ten posts per address per ten minutes; these are the ninth to eleventh.
    assert_eq!(post(form("Zoé", "", "", "on")).await.0, 422);
    assert_eq!(post(form("Zoé", "", "", "on")).await.0, 422);
    let (s, html) = post(form("Inès", "ines@exemple.fr", "", "on")).await;
    assert_eq!(s, 429, "{html}");
    assert!(html.contains("Trop d'inscriptions"));
    let counts = w.store.campaign_sessions(&doorstep_tests::campaign().id, w.start - 72 * H).await.unwrap();
    assert_eq!(counts[0].public, 1, "the honeypot, the refusals and the rate-limited post kept nothing");
    // Reminders for a phone-only sign-up: none yet (SMS is issue 19); the consent text is kept,
    // word for word, with the number in E.164.
    assert!(w.rows().await.is_empty());
    let db = rusqlite::Connection::open(w._dir.path().join("server.db")).unwrap();
    let (name, phone, consent): (String, String, String) = db
        .query_row("SELECT name, phone, consent_text FROM public_signups", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((name.as_str(), phone.as_str()), ("Yanis", "+33612345678"));
    assert_eq!(consent, doorstep_server::public::consent_text("Nantes en commun"));
    // A volunteer takes the last place from the app; then the page says it is full.
    let (id, code, device) = &people[1];
    let t = w.join(code.clone(), device).await;
    w.signup(&t, id, device, SignupKind::SignUp).await;
    let (s, html) = w.page().await;
    assert!(s == 200 && html.contains("Complet") && !html.contains("<form"), "{html}");
    // A session not open to the public answers one page for all: unknown.
    let r = w.http.get(format!("{}/p/s-inconnue", w.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // The audit has a line per public sign-up, with no name, address or number.
    let audit = w.store.audit_log(&doorstep_tests::campaign().id, i64::MAX, 100).await.unwrap();
    let public: Vec<_> = audit.iter().filter(|a| a.action.starts_with("public_signup")).collect();
    let mut outcomes: Vec<String> = public
        .iter()
        .map(|a| format!("{} {}", a.action, a.detail.get("outcome").and_then(|o| o.as_str()).unwrap_or("-")))
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["public_signup recorded", "public_signup repeat", "public_signup.ignored -"], "{public:?}");
    for a in public {
        let text = format!("{a:?}");
        assert!(!text.contains("Yanis") && !text.contains("612345678") && !text.contains("bot2@"), "{text}");
    }
}

/// The phone's side: the reminders come down with the sync, are shown until dismissed, and a
/// reminder served again at the next sync is not shown again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_shows_each_reminder_once() {
    use doorstep_core::clock::ManualClock;
    use doorstep_core::store::OpenOptions;
    use doorstep_core::sync::http::HttpTransport;
    use doorstep_core::sync::{RetryPolicy, sync};
    let (w, people) = world(10).await;
    let (_, code, _) = &people[0];
    let clock = Arc::new(ManualClock::new(w.start - 72 * H, 1_000));
    let phone = doorstep_core::Store::open_with(
        w._dir.path().join("lea.db"),
        OpenOptions { clock: clock.clone(), ..Default::default() },
    )
    .unwrap();
    let joined = doorstep_core::sync::join(&phone, &w.base, code).await.unwrap();
    let net = HttpTransport::new(&w.base, Some(joined.token)).unwrap();
    let policy = RetryPolicy {
        first_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(50),
        max_attempts: 3,
    };
    sync(&phone, &net, policy, &()).await.unwrap().unwrap();
    phone.sign_up("s-marche", SignupKind::SignUp).unwrap();
    sync(&phone, &net, policy, &()).await.unwrap().unwrap();
    assert!(phone.reminders().unwrap().is_empty(), "nothing due three days before");
    w.set(w.start - 24 * H);
    clock.set_wall(w.start - 24 * H);
    sync(&phone, &net, policy, &()).await.unwrap().unwrap();
    let shown = phone.reminders().unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!((shown[0].id.as_str(), shown[0].kind.as_str()), ("s-marche:day_before", "day_before"));
    assert!(shown[0].text.contains("demain à 10 h"), "{}", shown[0].text);
    phone.dismiss_reminder(&shown[0].id).unwrap();
    sync(&phone, &net, policy, &()).await.unwrap().unwrap();
    assert!(phone.reminders().unwrap().is_empty(), "served again, not shown again");
    w.set(w.start - 2 * H);
    clock.set_wall(w.start - 2 * H);
    sync(&phone, &net, policy, &()).await.unwrap().unwrap();
    let kinds: Vec<String> = phone.reminders().unwrap().into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["two_hours"]);
}

/// Session reminders by text (issue 19): a volunteer who gave a number and consented to session
/// reminders gets the `sms` channel planned with their sign-up (one who did not consent gets none);
/// when due, the reminder becomes one text in the SMS outbox through the compliance gate and the
/// campaign's provider carries it (a loopback SMPP message centre); after a STOP the next reminder
/// is dropped with its reason, nothing sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_by_text_go_through_the_gate_and_the_provider() {
    use doorstep_protocol::validate::sms::{Day, SmsPurpose};
    use doorstep_server::store::SmsStore;
    use doorstep_tests::sms_double::SmsDouble as _;
    let (w, people) = world(10).await;
    let campaign = doorstep_tests::server_import(1).0.id;
    let mut s = w.service();
    s.sms_keys = Some(Arc::new(doorstep_server::sealer::Sealer::from_key([4; 32])));
    let co = doorstep_tests::coordinator(&campaign);
    let settings = doorstep_server::store::ops::sms::SmsSettings {
        sender_name: "Nantes en commun".into(),
        election_days: vec![Day { year: 2027, month: 3, day: 14 }],
        max_segments: 2,
        follow_up_body: None,
    };
    s.set_sms_settings(&co, settings).await.unwrap();
    let centre = doorstep_tests::smpp_double::SmppDouble::start().await;
    let provider: doorstep_server::sms_credentials::ProviderSettings =
        serde_json::from_value(centre.settings()).unwrap();
    s.set_sms_provider(&co, provider).await.unwrap();
    w.store.set_phone("lea", Some("+33611000001".into())).await.unwrap();
    w.store.set_phone("max", Some("+33611000002".into())).await.unwrap();
    let consent = vec![("+33611000001".to_string(), SmsPurpose::SessionReminder, "J'accepte les rappels.".to_string())];
    w.store.record_consents(&campaign, &consent, "app", w.start - 80 * H).await.unwrap();
    for (id, code, device) in people.iter().filter(|p| p.0 == "lea" || p.0 == "max") {
        let token = w.join(code.clone(), device).await;
        w.signup(&token, id, device, SignupKind::SignUp).await;
    }
    let rows = w.rows().await;
    let sms: Vec<_> = rows.keys().filter(|(_, _, c)| c == Channel::Sms.code()).collect();
    assert!(!sms.is_empty() && sms.iter().all(|(p, _, _)| p == "lea"), "only the one who consented: {rows:?}");
    // The day before, 10:00 in Paris: the reminder is queued, then sent.
    w.set(w.start - 24 * H);
    let done = s.deliver_sms_reminders().await.unwrap();
    let why = rusqlite::Connection::open(w._dir.path().join("server.db"))
        .unwrap()
        .query_row("SELECT group_concat(COALESCE(error, '-'), ',') FROM reminders WHERE channel = 'sms'", [], |r| {
            r.get::<_, Option<String>>(0)
        })
        .unwrap();
    assert_eq!(done.sent, 1, "{done:?} {why:?}");
    assert_eq!(s.deliver_sms_reminders().await.unwrap().sent, 0, "once");
    let sender = doorstep_server::sms_dispatch::SmsSender::new(s.clone());
    assert_eq!(sender.round(10).await.unwrap().sent, 1);
    let taken = centre.taken();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].0, "+33611000001");
    assert!(
        taken[0]
            .2
            .starts_with("Nantes en commun : rappel, c'est demain - \"Marché de Talensac\", samedi 12 décembre 10 h")
            && taken[0].2.contains("devant la halle")
            && taken[0].2.contains("STOP"),
        "{}",
        taken[0].2
    );
    // Léa answers STOP: her two-hours reminder is dropped, said why, nothing sent.
    let stop = doorstep_server::sms_provider::ProviderEvent::Inbound {
        id: "in-1".into(),
        from: "+33611000001".into(),
        body: "STOP".into(),
    };
    s.apply_sms_events(&campaign, "smpp", true, vec![stop]).await.unwrap();
    w.set(w.start - 2 * H);
    let done = s.deliver_sms_reminders().await.unwrap();
    assert_eq!((done.sent, done.dropped), (0, 1), "{done:?}");
    sender.round(10).await.unwrap();
    assert_eq!(centre.taken().len(), 1, "nothing after the STOP");
    let rows = w.rows().await;
    assert_eq!(rows[&("lea".to_string(), "two_hours".to_string(), "sms".to_string())], RowState::Dropped.code());
}
