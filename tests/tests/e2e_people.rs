//! Issue 18, end to end over real HTTP on loopback (the demo's seeded server on an SQLite file, real
//! phone cores on files): volunteer pages, coopains, a photo, and a volunteer's own data.
//!
//! Two north volunteers become coopains while offline (one asks, the other accepts, each from
//! their outbox); a knock shows on the coopain's activity line, worded in French; the page hides
//! the name from another team when its owner says so; a direct channel opens between coopains; a
//! camera photo comes back square, 256 px and without its EXIF block; the volunteer exports
//! everything the server holds about them (one JSON) and deletes their account — pushed first,
//! personal rows gone, an audit line without personal data, the phone wiped, the door counts kept.

use std::time::Duration;

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_core::{CoreError, KnockInput, Store};
use doorstep_protocol::{Audience, CoopainStep, FieldVisibility, ProfileSettings, Target};
use serde_json::{Value, json};

fn policy() -> RetryPolicy {
    RetryPolicy { first_delay: Duration::from_millis(5), max_delay: Duration::from_millis(50), max_attempts: 3 }
}

async fn phone(base: &str, dir: &std::path::Path, name: &str, code: &str) -> (Store, HttpTransport, String) {
    let store = Store::open(dir.join(format!("{name}.db")), None).unwrap();
    let join = doorstep_core::sync::join(&store, base, code).await.unwrap();
    let net = HttpTransport::new(base, Some(join.token.clone())).unwrap();
    sync(&store, &net, policy(), &()).await.unwrap().unwrap();
    (store, net, join.token)
}

async fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A JPEG as a phone's camera writes it: an EXIF block with a GPS position first.
fn camera_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(900, 1200, |x, y| image::Rgb([(x / 4) as u8, (y / 5) as u8, 120]));
    let mut plain = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)).unwrap();
    let payload = b"Exif\0\0GPSLatitude 47.2184 N GPSLongitude 1.5536 W Pixel 4a";
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&plain[2..]);
    out
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_coopains_photo_export_and_deletion_end_to_end() {
    let d = doorstep_tests::demo_server(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let vols = &d.seeded.volunteers;
    // Bénévoles 0 and 1 are of the north team, 5 of the south.
    let (lea, lea_net, lea_token) = phone(&d.base, dir.path(), "lea", &vols[0].1).await;
    let (noe, noe_net, noe_token) = phone(&d.base, dir.path(), "noe", &vols[1].1).await;
    let (_sud, _sud_net, sud_token) = phone(&d.base, dir.path(), "sud", &vols[5].1).await;
    let (lea_id, noe_id) = (vols[0].0.clone(), vols[1].0.clone());

    // Each phone knows its page and its team after a sync.
    let p = noe.people().unwrap();
    assert_eq!(p.me.as_ref().unwrap().user_id, noe_id);
    assert!(p.team.iter().any(|c| c.user_id == lea_id), "Léa is in Noé's team list: {:?}", p.team);
    assert!(p.team.iter().any(|c| c.role == "captain"), "and the captain who leads it");
    assert!(p.coopains.is_empty());

    // Offline: Léa asks Noé; accepting with nothing asked is refused on the phone, as the server would.
    let refused = noe.coopain(&lea_id, CoopainStep::Accept).unwrap_err();
    assert!(matches!(refused, CoreError::People(ref e) if e.code() == "no_ask"), "{refused:?}");
    lea.coopain(&noe_id, CoopainStep::Ask).unwrap();
    let mine = lea.people().unwrap();
    let asked = mine.coopains.iter().find(|c| c.user_id == noe_id).unwrap();
    assert_eq!((asked.coopain.as_deref(), asked.pending), (Some("asked_by_me"), true), "shown at once, pending");
    // Léa also sets her page: a pseudonym, her name for her team only, a few words.
    let settings = ProfileSettings {
        pseudonym: Some("Léa M.".into()),
        bio: Some("Dispo le samedi matin".into()),
        visibility: FieldVisibility { name: Audience::Team, ..FieldVisibility::default() },
    };
    lea.set_profile(settings.clone()).unwrap();
    assert_eq!(lea.people().unwrap().settings, settings);
    // …and knocks three doors of her turf, one a conversation.
    let route = lea.compute_route(&vols[0].2, None, None, false).unwrap();
    let doors: Vec<String> = route.remaining.iter().flat_map(|s| &s.doors).take(3).map(|d| d.id.clone()).collect();
    for (i, door) in doors.iter().enumerate() {
        lea.record_knock(KnockInput {
            target: Target::Door { id: door.clone() },
            result_code: if i == 0 { "contact_made" } else { "not_home" }.into(),
            // A conversation records the person's consent (here: declined, so no answers).
            answers: if i == 0 {
                vec![doorstep_protocol::Answer {
                    question_id: "consent".into(),
                    value: doorstep_protocol::AnswerValue::YesNo { value: false },
                }]
            } else {
                vec![]
            },
            note: None,
            safety_flags: vec![],
            position: None,
            follow_up: None,
        })
        .unwrap();
    }
    sync(&lea, &lea_net, policy(), &()).await.unwrap().unwrap();
    assert_eq!(lea.unsent_total().unwrap(), 0);

    // Noé sees the ask, and accepts it offline; the link exists once the server has it.
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    let p = noe.people().unwrap();
    let ask = p.coopains.iter().find(|c| c.user_id == lea_id).expect("Léa's ask");
    assert_eq!(ask.coopain.as_deref(), Some("asked_by_them"));
    noe.coopain(&lea_id, CoopainStep::Accept).unwrap();
    assert_eq!(noe.people().unwrap().coopains[0].coopain.as_deref(), Some("linked"));
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    sync(&lea, &lea_net, policy(), &()).await.unwrap().unwrap();
    let p = lea.people().unwrap();
    let noe_card = p.coopains.iter().find(|c| c.user_id == noe_id).unwrap();
    assert_eq!((noe_card.coopain.as_deref(), noe_card.pending), (Some("linked"), false));

    // Noé's view of his coopain: her name (same team), her figures from the reports, her
    // activity line in French.
    let p = noe.people().unwrap();
    let lea_card = p.coopains.iter().find(|c| c.user_id == lea_id).unwrap();
    let lea_name = lea_card.name.clone();
    assert!(!lea_name.is_empty() && lea_name != "Léa M.", "a teammate sees the name: {lea_name}");
    assert_eq!((lea_card.doors, lea_card.conversations), (Some(3), Some(1)));
    assert_eq!(lea_card.bio.as_deref(), Some("Dispo le samedi matin"));
    assert_eq!(lea_card.activity.len(), 1, "{:?}", lea_card.activity);
    let line = &lea_card.activity[0];
    assert!(line.starts_with(&format!("{lea_name} a frappé 3 portes ")), "{line}");
    assert!(!line.contains(" Rue ") && !line.contains(" Boulevard "), "the street's type in lower case: {line}");
    assert_eq!(lea_card.turfs.len(), 1, "Noé sees the turf Léa holds, to pair up on it: {:?}", lea_card.turfs);

    // The south volunteer, another team and no coopain, sees the pseudonym and no figures.
    let (st, page) = get(&d.base, &format!("/api/v1/sync/people/{lea_id}"), &sud_token).await;
    assert_eq!(st, 200);
    assert_eq!(page["shown_name"], "Léa M.");
    assert!(page["name"].is_null() && page["doors"].is_null() && page["activity"].is_null(), "{page}");
    assert!(page["settings"].is_null(), "settings are the owner's only");
    // Nobody is found outside the campaign, and nobody of another id.
    let (st, _) = get(&d.base, "/api/v1/sync/people/personne", &sud_token).await;
    assert_eq!(st, 404);

    // Coopains get a direct channel, both ways, and can write in it offline.
    let dm = doorstep_protocol::ChannelRef::direct(&lea_id, &noe_id).id();
    assert!(lea.channels().unwrap().iter().any(|c| c.id == dm), "Léa's channels list the coopain's");
    noe.post_message(&dm, "On se retrouve rue Bisson à 10 h ?", None).unwrap();
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    sync(&lea, &lea_net, policy(), &()).await.unwrap().unwrap();
    assert_eq!(lea.thread(&dm).unwrap().last().unwrap().body, "On se retrouve rue Bisson à 10 h ?");
    lea.post_message(&dm, "Oui, à 10 h devant le 12 !", None).unwrap();
    // …which the south volunteer does not see.
    let feed: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/sync/feed", d.base))
        .bearer_auth(&sud_token)
        .json(&json!({"protocol": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!feed["channels"].as_array().unwrap().iter().any(|c| c["id"] == dm.as_str()), "{feed}");

    // Coopains see each other on a session's sign-ups: Noé signs up, Léa reads his name on it.
    let start = d.clock.load(std::sync::atomic::Ordering::SeqCst) + 86_400_000;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions", d.base))
        .bearer_auth(&d.seeded.coordinator_token)
        .json(&json!({"id": "s-duo", "campaign_id": "x", "title": "Samedi, quartier nord", "start_ms": start,
            "end_ms": start + 10_800_000, "meeting_lat": 47.2184, "meeting_lon": -1.5536, "meeting_text": "Devant le marché",
            "capacity": 10, "captains": ["capitaine-nord"], "turfs": [], "team_id": "nord", "visibility": "team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    noe.sign_up("s-duo", doorstep_protocol::SignupKind::SignUp).unwrap();
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    sync(&lea, &lea_net, policy(), &()).await.unwrap().unwrap();
    let duo = lea.sessions().unwrap().into_iter().find(|s| s.id == "s-duo").unwrap();
    let noe_name = lea.people().unwrap().coopains.iter().find(|c| c.user_id == noe_id).unwrap().name.clone();
    assert_eq!(duo.coopains, vec![noe_name], "Léa sees her coopain is going");
    assert!(noe.sessions().unwrap().iter().all(|s| s.coopains.is_empty()), "Léa is not going: nobody on Noé's list");

    // A camera photo: stored square, 256 px, without the EXIF block and its GPS position.
    let jpeg = camera_jpeg();
    assert!(has(&jpeg, b"GPSLatitude"));
    let page = lea_net.set_photo(jpeg).await.unwrap();
    assert!(page.has_photo);
    let seen = noe_net.photo(&lea_id).await.unwrap();
    let img = image::load_from_memory(&seen).unwrap();
    assert_eq!((img.width(), img.height()), (256, 256));
    assert!(!has(&seen, b"Exif") && !has(&seen, b"GPSLatitude"), "no metadata survives");
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/sync/me/photo", d.base))
        .bearer_auth(&noe_token)
        .body(b"GIF89a not a photo".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "what is not a JPEG or PNG is refused");

    // Léa exports her data: one JSON document with every section, her reports without answers.
    let doc: Value = serde_json::from_str(&lea_net.export_my_data().await.unwrap()).unwrap();
    assert_eq!(doc["format"], "doorstep.personal-data/1");
    let data = &doc["data"];
    assert_eq!(data["account"]["user_id"], lea_id);
    assert_eq!(data["page"]["settings"]["pseudonym"], "Léa M.");
    assert!(data["page"]["photo_jpeg_base64"].is_string());
    assert_eq!(data["reports"].as_array().unwrap().len(), 3);
    assert!(data["reports"][0].get("answers").is_none() && data["reports"][0].get("body").is_none());
    assert_eq!(data["coopains"].as_array().unwrap().len(), 1);
    assert!(data["devices"].as_array().unwrap().iter().any(|dv| dv["device_id"] == lea.device_id()));
    assert!(data["teams"].as_array().unwrap().len() == 1);
    let exported = data["audit"].as_array().unwrap();
    assert!(exported.iter().any(|a| a["action"] == "photo.set"), "her own audit lines are hers too");

    // Deletion, push first: a knock made offline is pushed before anything is deleted.
    lea.record_knock(doorstep_tests::knock_on(doors[0].clone(), "not_home")).unwrap();
    // A wrong confirmation deletes nothing.
    let wrong = doorstep_core::sync::delete_account(&lea, &lea_net, "oui").await;
    assert!(matches!(wrong, Err(CoreError::People(ref e)) if e.code() == "confirmation_required"), "{wrong:?}");
    let done = doorstep_core::sync::delete_account(&lea, &lea_net, "SUPPRIMER").await.unwrap().unwrap();
    assert!(done.wiped, "the phone wiped itself after pushing: {done:?}");
    assert!(lea.turfs().unwrap().is_empty() && lea.channels().unwrap().is_empty());

    // On the server: her page is gone for everyone, her token dead for pages, her coopain link
    // gone, her message emptied, her four knocks kept for the campaign's results.
    let (st, _) = get(&d.base, &format!("/api/v1/sync/people/{lea_id}"), &noe_token).await;
    assert_eq!(st, 404, "a deleted account has no page");
    let (st, _) = get(&d.base, "/api/v1/sync/people", &lea_token).await;
    assert_eq!(st, 401, "her phone wiped itself and said so: its token is dead");
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    assert!(noe.people().unwrap().coopains.is_empty(), "the link went with the account");
    let coord = &d.seeded.coordinator_token;
    let (st, users) = get(&d.base, "/api/v1/users", coord).await;
    assert_eq!(st, 200);
    assert!(!users.as_array().unwrap().iter().any(|u| u["id"] == lea_id), "not listed any more");
    let reports = rusqlite::Connection::open(&d.db)
        .unwrap()
        .query_row("SELECT count(*) FROM reports WHERE volunteer_id = ?1", [&lea_id], |r| r.get::<_, i64>(0))
        .unwrap();
    assert_eq!(reports, 4, "every knock reached the server before the deletion and stays");
    let db = rusqlite::Connection::open(&d.db).unwrap();
    let (name, contacts, profiles): (String, i64, i64) = db
        .query_row(
            "SELECT display_name, (SELECT count(*) FROM user_contacts WHERE user_id = ?1),
                    (SELECT count(*) FROM profiles WHERE user_id = ?1) FROM users WHERE id = ?1",
            [&lea_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((name.as_str(), contacts, profiles), ("Compte supprimé", 0, 0));
    // The audit line: the account's id and counts, no name, no pseudonym, no e-mail.
    let (st, audit) = get(&d.base, "/api/v1/audit", coord).await;
    assert_eq!(st, 200);
    let line = audit.as_array().unwrap().iter().find(|a| a["action"] == "account.delete").expect("an audit line");
    let text = line.to_string();
    assert_eq!(line["subject"], lea_id);
    assert!(!text.contains("Léa") && !text.contains('@') && !text.contains("samedi"), "{text}");
    assert!(line["detail"]["devices_revoked"].as_u64().unwrap() >= 1);
    // Her direct message reached the server before the deletion and was emptied there.
    let bodies: Vec<String> = db
        .prepare("SELECT body FROM messages WHERE author_id = ?1")
        .unwrap()
        .query_map([&lea_id], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(bodies, vec![String::new()], "her one message, emptied");
}
