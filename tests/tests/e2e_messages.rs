//! Issue 18, end to end over real HTTP on loopback (the demo's seeded server on an SQLite file, real
//! phone cores on files): two phones of the north team, offline at the same time, write in their
//! team's channel; they sync later; the server places every message once, and both phones show
//! the same thread in the same order, nothing lost or doubled. The north captain's live stream
//! hears of each message as it lands (the south captain's does not), the captain answers and pins
//! from the dashboard, "lu par" counts who read, and a direct message reaches the captain alone.

use std::time::{Duration, Instant};

use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_core::{CoreError, Store};
use doorstep_protocol::validate::message::MessageError;
use serde_json::{Value, json};

fn policy() -> RetryPolicy {
    RetryPolicy { first_delay: Duration::from_millis(5), max_delay: Duration::from_millis(50), max_attempts: 3 }
}

async fn phone(base: &str, dir: &std::path::Path, name: &str, code: &str) -> (Store, HttpTransport) {
    let store = Store::open(dir.join(format!("{name}.db")), None).unwrap();
    let join = doorstep_core::sync::join(&store, base, code).await.unwrap();
    let net = HttpTransport::new(base, Some(join.token)).unwrap();
    sync(&store, &net, policy(), &()).await.unwrap().unwrap();
    (store, net)
}

/// A staff member's live stream: every `message` event, with when it came.
fn listen(base: &str, token: &str) -> tokio::sync::mpsc::UnboundedReceiver<(Instant, Value)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (url, token) = (format!("{base}/api/v1/events"), token.to_string());
    tokio::spawn(async move {
        let mut r = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
        let mut buf = String::new();
        while let Ok(Some(chunk)) = r.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let ev = block.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("");
                let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
                if ev == "message" || ev == "ready" {
                    let _ = tx.send((
                        Instant::now(),
                        json!({ "event": ev, "data": serde_json::from_str::<Value>(data).unwrap() }),
                    ));
                }
            }
        }
    });
    rx
}

async fn next_message(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(Instant, Value)>,
    within: Duration,
) -> Option<(Instant, Value)> {
    loop {
        match tokio::time::timeout(within, rx.recv()).await {
            Ok(Some((t, v))) if v["event"] == "message" => return Some((t, v["data"].clone())),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offline_phones_exchange_messages_through_the_server() {
    let d = doorstep_tests::demo_server(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let vols = &d.seeded.volunteers;
    // Bénévoles 0 and 1 are of the north team, 5 of the south.
    let (lea, lea_net) = phone(&d.base, dir.path(), "lea", &vols[0].1).await;
    let (noe, noe_net) = phone(&d.base, dir.path(), "noe", &vols[1].1).await;
    let (sud, sud_net) = phone(&d.base, dir.path(), "sud", &vols[5].1).await;
    let (cap_id, cap_token) = d.seeded.captain_tokens[0].clone();
    let south_token = d.seeded.captain_tokens[1].1.clone();
    assert_eq!(cap_id, "capitaine-nord");
    let mut north_stream = listen(&d.base, &cap_token);
    let mut south_stream = listen(&d.base, &south_token);
    // Both streams say they are ready before anything happens.
    for rx in [&mut north_stream, &mut south_stream] {
        let (_, v) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
        assert_eq!(v["event"], "ready");
    }

    // What each phone reads: its team, the announcements, its captain; nothing of the other team.
    let ids = |s: &Store| s.channels().unwrap().into_iter().map(|c| c.id).collect::<Vec<_>>();
    let dm = doorstep_protocol::ChannelRef::direct(&vols[0].0, "capitaine-nord").id();
    assert_eq!(ids(&lea), ["team:nord", "announce", dm.as_str()]);
    assert!(!ids(&sud).contains(&"team:nord".to_string()), "{:?}", ids(&sud));
    let announce = lea.channels().unwrap().into_iter().find(|c| c.id == "announce").unwrap();
    assert!(!announce.can_post, "announcements are the coordinators'");

    // Offline, both at once: three messages each, interleaved; the rule book refuses what the
    // server would (a blank message, an announcement from a volunteer), with nothing written.
    let mut written = Vec::new();
    for i in 0..3 {
        written.push(lea.post_message("team:nord", &format!("Léa {i} : la rue Bisson est faite"), None).unwrap().id);
        written.push(noe.post_message("team:nord", &format!("Noé {i} : attention, chien au 12"), None).unwrap().id);
    }
    assert!(matches!(lea.post_message("team:nord", "  ", None), Err(CoreError::Message(MessageError::Empty))));
    assert!(matches!(lea.post_message("announce", "Salut", None), Err(CoreError::Message(MessageError::NotAllowed))));
    let states = |s: &Store| s.thread("team:nord").unwrap().into_iter().map(|m| m.state).collect::<Vec<_>>();
    assert_eq!(states(&lea), ["pending"; 3], "en attente");
    assert_eq!((lea.pending_messages().unwrap(), noe.pending_messages().unwrap()), (3, 3));

    // Noé reconnects first, then Léa: the captain's stream hears of each message as it lands.
    let t0 = Instant::now();
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    let mut heard = Vec::new();
    for _ in 0..3 {
        let (t, v) =
            next_message(&mut north_stream, Duration::from_secs(10)).await.expect("the north captain hears of it");
        heard.push((t.duration_since(t0), v));
    }
    let t1 = Instant::now();
    sync(&lea, &lea_net, policy(), &()).await.unwrap().unwrap();
    for _ in 0..3 {
        let (t, v) =
            next_message(&mut north_stream, Duration::from_secs(10)).await.expect("the north captain hears of it");
        heard.push((t.duration_since(t1), v));
    }
    let worst = heard.iter().map(|(d, _)| *d).max().unwrap();
    println!(
        "a message written offline reached the captain's live stream {worst:?} after its author's reconnect (worst of 6)"
    );
    let seqs: Vec<u64> = heard.iter().map(|(_, v)| v["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    assert!(heard.iter().all(|(_, v)| v["channel_id"] == "team:nord" && v.get("body").is_none()), "no text in events");
    assert!(next_message(&mut south_stream, Duration::from_millis(500)).await.is_none(), "nothing for the south");

    // Once both have synced again: the same thread, in the same order, each message once.
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    let thread = |s: &Store| s.thread("team:nord").unwrap().into_iter().map(|m| (m.id, m.seq)).collect::<Vec<_>>();
    assert_eq!(thread(&lea), thread(&noe));
    let mut ids_seen: Vec<String> = thread(&lea).into_iter().map(|(id, _)| id).collect();
    assert_eq!(thread(&lea).iter().map(|(_, s)| s.unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    ids_seen.sort();
    written.sort();
    assert_eq!(ids_seen, written, "every message once, none lost");
    assert_eq!(states(&lea), ["sent"; 6], "envoyé");
    // Noé's first three were placed first: he reconnected first.
    let authors: Vec<bool> = lea.thread("team:nord").unwrap().into_iter().map(|m| m.mine).collect();
    assert_eq!(authors, [false, false, false, true, true, true]);

    // Léa reads; after the next syncs Noé's messages say "lu par 1", and her unread count is 0.
    assert_eq!(lea.channels().unwrap()[0].unread, 3);
    lea.mark_read("team:nord").unwrap();
    lea.mark_read("team:nord").unwrap();
    assert_eq!(lea.channels().unwrap()[0].unread, 0);
    sync(&lea, &lea_net, policy(), &()).await.unwrap().unwrap();
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    let read_by: Vec<u32> =
        noe.thread("team:nord").unwrap().into_iter().filter(|m| m.mine).map(|m| m.read_by).collect();
    assert_eq!(read_by, [1, 1, 1], "lu par 1");

    // The captain answers from the dashboard and pins the answer; a volunteer cannot pin.
    let http = reqwest::Client::new();
    let post =
        |body: Value| http.post(format!("{}/api/v1/messages", d.base)).bearer_auth(&cap_token).json(&body).send();
    let r = post(
        json!({"channel_id": "team:nord", "action": {"kind": "post", "body": "Rendez-vous 10 h devant le marché"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let pinned_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let r = post(json!({"channel_id": "team:nord", "action": {"kind": "pin", "message_id": pinned_id}})).await.unwrap();
    assert_eq!(r.status(), 201);
    let r = post(json!({"channel_id": "team:sud", "action": {"kind": "post", "body": "?"}})).await.unwrap();
    assert_eq!(r.status(), 404, "another team's channel is unknown to the north captain");
    assert!(matches!(
        noe.pin_message("team:nord", Some(pinned_id.clone())),
        Err(CoreError::Message(MessageError::NotAllowed))
    ));
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    let nord = noe.channels().unwrap().into_iter().find(|c| c.id == "team:nord").unwrap();
    assert_eq!(nord.pinned.as_deref(), Some("Rendez-vous 10 h devant le marché"));
    assert_eq!(noe.thread("team:nord").unwrap().last().unwrap().author_name, "Nour (capitaine)");

    // A direct message: Léa to her captain. The captain's feed shows it; Noé's phone does not.
    lea.post_message(&dm, "Je serai en retard de 10 minutes", None).unwrap();
    sync(&lea, &lea_net, policy(), &()).await.unwrap().unwrap();
    let feed: Value = http
        .post(format!("{}/api/v1/messages/feed", d.base))
        .bearer_auth(&cap_token)
        .json(&json!({"protocol": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let in_dm: Vec<&str> = feed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel_id"] == dm.as_str())
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(in_dm, ["Je serai en retard de 10 minutes"]);
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    assert!(!ids(&noe).contains(&dm));
    assert!(noe.thread(&dm).unwrap().is_empty());
    // Noé's phone is lost and revoked: at its next sync it holds no channel and no message.
    let r = http
        .post(format!("{}/api/v1/devices/{}/revoke", d.base, noe.device_id()))
        .bearer_auth(&d.seeded.coordinator_token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    assert!(noe.channels().unwrap().is_empty() && noe.thread("team:nord").unwrap().is_empty(), "revoked means revoked");
    // The south phone, after all this, holds nothing of the north.
    sync(&sud, &sud_net, policy(), &()).await.unwrap().unwrap();
    assert!(sud.thread("team:nord").unwrap().is_empty());
}

/// Live while online (issue 18): a phone with the app open waits for its team's messages (a long
/// poll); another phone of the team, offline until now, syncs a message; the waiting phone has it
/// without a sync, in the server's order. A phone of another team waiting at the same time gets
/// nothing of it, and its wait ends empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_online_gets_team_messages_live() {
    let d = doorstep_tests::demo_server(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let vols = &d.seeded.volunteers;
    let (lea, lea_net) = phone(&d.base, dir.path(), "lea", &vols[0].1).await;
    let (noe, noe_net) = phone(&d.base, dir.path(), "noe", &vols[1].1).await;
    let (sud, sud_net) = phone(&d.base, dir.path(), "sud", &vols[5].1).await;
    // Noé writes with no network.
    noe.post_message("team:nord", "Je suis en bas de la rue, j'arrive", None).unwrap();
    // Léa's app is open: it waits (up to 20 s); so does the south phone's.
    let lea = std::sync::Arc::new(lea);
    let waiting = {
        let (lea, net) = (lea.clone(), lea_net.clone());
        tokio::spawn(async move {
            let n = doorstep_core::sync::listen_messages(&lea, &net, 20_000).await.unwrap().unwrap();
            (n, Instant::now())
        })
    };
    let sud = std::sync::Arc::new(sud);
    let south_waiting = {
        let (sud, net) = (sud.clone(), sud_net.clone());
        tokio::spawn(async move { doorstep_core::sync::listen_messages(&sud, &net, 1_500).await.unwrap().unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    let synced = Instant::now();
    let (n, got) = tokio::time::timeout(Duration::from_secs(20), waiting).await.expect("the wait ends").unwrap();
    assert_eq!(n, 1, "the message came while Léa was online, without a sync");
    let thread = lea.thread("team:nord").unwrap();
    assert_eq!(thread.last().unwrap().body, "Je suis en bas de la rue, j'arrive");
    assert_eq!(thread.last().unwrap().seq, Some(1));
    eprintln!("live: {} ms from Noé's sync to Léa's phone", got.saturating_duration_since(synced).as_millis());
    assert_eq!(south_waiting.await.unwrap(), 0, "another team's phone hears nothing of it");
    assert!(sud.thread("team:nord").unwrap().is_empty());
    // Something already there is answered at once, whatever the wait.
    noe.post_message("team:nord", "C'est bon, je vous vois", None).unwrap();
    sync(&noe, &noe_net, policy(), &()).await.unwrap().unwrap();
    let n = doorstep_core::sync::listen_messages(&lea, &lea_net, 20_000).await.unwrap().unwrap();
    assert_eq!(n, 1);
}
