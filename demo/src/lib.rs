//! The simulated volunteers of the demo: each one is a real field core (`doorstep_core::Store` on
//! its own SQLite file) syncing over real HTTP with the server, as a phone would.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use doorstep_core::store::OpenOptions;
use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_core::{Clock as _, KnockInput, ManualClock, Store};
use doorstep_protocol::{Answer, AnswerValue, JoinRequest, PROTOCOL_VERSION, Position, Target};

/// Time between two doors on the phone's own clock: walking to the door, waiting, talking — about
/// 20 doors an hour, as on a real afternoon (150–210 s, varying from door to door).
fn walk_ms(n: usize) -> u64 {
    150_000 + (n as u64 * 7_919) % 60_000
}

/// One simulated volunteer: joins, pulls, walks the route knocking a door every `pace` of real
/// time, syncing every five knocks. Stops after `knocks` knocks. The phone's clock runs at walking
/// pace ([`walk_ms`] a door) and starts far enough in the past that its last knock is about now:
/// the dashboard shows a realistic afternoon (doors per hour, the timeline), not a minute's burst.
pub async fn volunteer(
    base: String,
    dir: PathBuf,
    code: String,
    turf: String,
    pace: Duration,
    knocks: usize,
) -> Result<(), String> {
    let walked: u64 = (0..knocks).map(walk_ms).sum();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?;
    let clock = Arc::new(ManualClock::new(now.as_millis() as i64 - walked as i64, 3_600_000));
    let store = Store::open_with(dir.join("phone.db"), OpenOptions { clock: clock.clone(), ..OpenOptions::default() })
        .map_err(|e| e.to_string())?;
    let join = HttpTransport::new(&base, None)
        .map_err(|e| e.to_string())?
        .join(&JoinRequest { protocol: PROTOCOL_VERSION, code, device_id: store.device_id().to_string() })
        .await
        .map_err(|e| e.to_string())?;
    let transport = HttpTransport::new(&base, Some(join.token)).map_err(|e| e.to_string())?;
    sync(&store, &transport, RetryPolicy::default(), &())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    for n in 0..knocks {
        let Ok(progress) = store.route_progress(&turf) else { break };
        let Some(stop) = progress.next else { break };
        let door = &stop.doors[0];
        let (code, answers) = match n % 5 {
            0 | 3 => ("not_home", vec![]),
            1 => (
                "contact_made",
                vec![
                    Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
                    Answer { question_id: "intent".into(), value: AnswerValue::Choice { value: "oui".into() } },
                ],
            ),
            2 => ("refused", vec![]),
            _ => (
                "contact_made",
                vec![Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: false } }],
            ),
        };
        store
            .record_knock(KnockInput {
                target: Target::Door { id: door.id.clone() },
                result_code: code.into(),
                answers,
                note: None,
                safety_flags: vec![],
                position: Some(Position { lat: stop.lat, lon: stop.lon, accuracy_m: Some(8.0) }),
                follow_up: None,
            })
            .map_err(|e| e.to_string())?;
        if n % 5 == 4 {
            let _ = sync(&store, &transport, RetryPolicy::default(), &()).await;
        }
        tokio::time::sleep(pace).await;
        clock.advance(walk_ms(n));
    }
    let _ = sync(&store, &transport, RetryPolicy::default(), &()).await;
    Ok(())
}

/// What the demo's canvass session did.
#[derive(Debug, Default)]
pub struct SessionDay {
    pub signed_up: usize,
    pub handed: Vec<(String, String)>,
    pub knocks: usize,
    /// The session's channel as the captain's phone shows it at the end: `(author, text)`, in the
    /// server's order, and the pinned message.
    pub messages: Vec<(String, String)>,
    pub pinned: Option<String>,
}

async fn joined_phone(
    base: &str,
    path: PathBuf,
    code: &str,
    clock: Arc<ManualClock>,
) -> Result<(Store, HttpTransport), String> {
    let store = Store::open_with(path, OpenOptions { clock, ..OpenOptions::default() }).map_err(|e| e.to_string())?;
    let j = doorstep_core::sync::join(&store, base, code).await.map_err(|e| e.to_string())?;
    let net = HttpTransport::new(base, Some(j.token)).map_err(|e| e.to_string())?;
    sync(&store, &net, RetryPolicy::default(), &()).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    Ok((store, net))
}

/// What [`session_day`] plays: where the server is, where the phones keep their files, the
/// session and its turf, the captain's phone code, the volunteers `(user id, join code)`, when the
/// phones' clocks start, the real time between two knocks, and the knocks each.
pub struct SessionPlan {
    pub base: String,
    pub dir: PathBuf,
    pub session_id: String,
    pub turf: String,
    pub captain_code: String,
    pub volunteers: Vec<(String, String)>,
    pub start_ms: i64,
    pub pace: Duration,
    pub knocks: usize,
}

/// A canvass session played with real phones (issue 17): the volunteers sign up from their phones
/// and receive the session's turf sealed; the captain's own phone gets its grant; then, at the
/// meeting point with no network, the captain hands each volunteer a street of the turf by QR
/// code; they knock it at walking pace (each phone's clock from `start_ms`) and sync.
pub async fn session_day(plan: SessionPlan) -> Result<SessionDay, String> {
    let SessionPlan { base, dir, session_id, turf, captain_code, volunteers, start_ms, pace, knocks } = plan;
    let mut day = SessionDay::default();
    let captain_clock = Arc::new(ManualClock::new(start_ms, 3_600_000));
    let (captain, captain_net) =
        joined_phone(&base, dir.join("captain.db"), &captain_code, captain_clock.clone()).await?;
    doorstep_core::sync::request_grant(&captain, &captain_net, &session_id)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let mut phones = Vec::new();
    for (i, (id, code)) in volunteers.iter().enumerate() {
        let clock = Arc::new(ManualClock::new(start_ms, 3_600_000));
        let (phone, net) = joined_phone(&base, dir.join(format!("session-{i}.db")), code, clock.clone()).await?;
        phone.sign_up(&session_id, doorstep_protocol::SignupKind::SignUp).map_err(|e| e.to_string())?;
        sync(&phone, &net, RetryPolicy::default(), &()).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        day.signed_up += 1;
        phones.push((id.clone(), phone, net, clock));
    }
    // At the meeting point, no network: one street each, the streets with the most doors first.
    let mut streets = captain.turf_streets(&turf).map_err(|e| e.to_string())?;
    streets.sort_by(|a, b| b.doors.cmp(&a.doors).then(a.street.cmp(&b.street)));
    captain_clock.advance(10 * 60_000);
    // The day's instructions, written and pinned on the captain's phone with no network.
    let channel = format!("session:{session_id}");
    let note = captain
        .post_message(&channel, "Rendez-vous ici à 12 h 30 pour le bilan. Attention au chien du 12.", None)
        .map_err(|e| e.to_string())?;
    captain.pin_message(&channel, Some(note.id)).map_err(|e| e.to_string())?;
    for ((id, phone, _, clock), street) in phones.iter().zip(&streets) {
        let code = captain
            .give_handoff(&session_id, id, &turf, Some(street.street.clone()), 180)
            .map_err(|e| e.to_string())?;
        clock.set_wall(captain_clock.now_ms() + 60_000);
        phone.receive_handoff(&code.qr_text).map_err(|e| e.to_string())?;
        day.handed.push((id.clone(), street.street.clone()));
    }
    // Each knocks their street at walking pace, syncing every five doors.
    let mut tasks = Vec::new();
    for ((_, phone, net, clock), (_, street)) in phones.into_iter().zip(day.handed.clone()) {
        let session = session_id.clone();
        tasks.push(tokio::spawn(async move {
            let pkg = phone.export_turf(&turf_of(&phone, &street)?).map_err(|e| e.to_string())?;
            let on: Vec<&str> = pkg.buildings.iter().filter(|b| b.street == street).map(|b| b.id.as_str()).collect();
            let doors: Vec<String> = pkg
                .doors
                .iter()
                .filter(|d| on.contains(&d.building_id.as_str()))
                .take(knocks)
                .map(|d| d.id.clone())
                .collect();
            for (n, d) in doors.iter().enumerate() {
                let code = if n % 3 == 1 { "contact_made" } else { "not_home" };
                let answers = if code == "contact_made" {
                    vec![Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: false } }]
                } else {
                    vec![]
                };
                phone
                    .record_knock(KnockInput {
                        target: Target::Door { id: d.clone() },
                        result_code: code.into(),
                        answers,
                        note: None,
                        safety_flags: vec![],
                        position: None,
                        follow_up: None,
                    })
                    .map_err(|e| e.to_string())?;
                if n % 5 == 4 {
                    let _ = sync(&phone, &net, RetryPolicy::default(), &()).await;
                }
                tokio::time::sleep(pace).await;
                clock.advance(walk_ms(n));
            }
            // Done: said to the team, pointing at the street, offline first and sent with the sync.
            let turf_id = turf_of(&phone, &street).unwrap_or_default();
            let done = format!("{street} : {} portes frappées.", doors.len());
            let reference = Some(doorstep_protocol::MessageRef::Street { turf_id, street: street.clone() });
            phone.post_message(&format!("session:{}", session), &done, reference).map_err(|e| e.to_string())?;
            let _ = sync(&phone, &net, RetryPolicy::default(), &()).await;
            Ok::<usize, String>(doors.len())
        }));
    }
    for t in tasks {
        day.knocks += t.await.map_err(|e| e.to_string())??;
    }
    let _ = sync(&captain, &captain_net, RetryPolicy::default(), &()).await;
    let _ = sync(&captain, &captain_net, RetryPolicy::default(), &()).await;
    day.messages = captain
        .thread(&channel)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|m| (if m.mine { "capitaine".to_string() } else { m.author_name }, m.body))
        .collect();
    day.pinned =
        captain.channels().map_err(|e| e.to_string())?.into_iter().find(|c| c.id == channel).and_then(|c| c.pinned);
    Ok(day)
}

/// The turf a phone holds a street in (the session's, sealed, until a sync moves the street to a
/// turf of the volunteer's own).
fn turf_of(phone: &Store, street: &str) -> Result<String, String> {
    for t in phone.turfs().map_err(|e| e.to_string())? {
        if phone.turf_streets(&t.id).map_err(|e| e.to_string())?.iter().any(|s| s.street == street) {
            return Ok(t.id);
        }
    }
    Err(format!("no turf holds {street}"))
}
