//! The simulated volunteers of the demo: each one is a real field core (`doorstep_core::Store` on
//! its own SQLite file) syncing over real HTTP with the server, as a phone would.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use doorstep_core::store::OpenOptions;
use doorstep_core::sync::http::HttpTransport;
use doorstep_core::sync::{RetryPolicy, sync};
use doorstep_core::{KnockInput, ManualClock, Store};
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
