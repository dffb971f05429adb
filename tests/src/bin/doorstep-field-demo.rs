//! A volunteer's afternoon on the field core alone (no server yet: issue 3): a turf of real Nantes
//! addresses, the walking route from Place Royale, knocks recorded durably as the volunteer walks,
//! a correction, a draft, and the sync line the app shows.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-field-demo [-- STORE_PATH]`

use doorstep_core::{KnockDraft, KnockInput, Store};
use doorstep_protocol::{Answer, AnswerValue, Position, Target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "doorstep-field-demo.db".into());
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{s}"));
    }
    let store = Store::open(&path, None)?;
    let pkg = doorstep_tests::turf_package("nantes-centre-01", 150);
    let s = store.apply_turf_package_value(&pkg)?;
    println!(
        "Tournée « {} » : {} adresses, {} portes (données réelles, Nantes Métropole / IGN).",
        pkg.turf.name, s.buildings, s.doors
    );
    let start = Position { lat: 47.2135, lon: -1.5590, accuracy_m: Some(5.0) };
    let route = store.compute_route(&pkg.turf.id, Some(start), None, false)?;
    println!(
        "Itinéraire depuis la place Royale : {:.1} km à vol d'oiseau entre les portes.\n",
        route.total_walk_m / 1000.0
    );
    for stop in route.remaining.iter().take(12) {
        let doors = if stop.doors.len() > 1 {
            format!(
                " ({} portes, étages {}–{})",
                stop.doors.len(),
                stop.doors[0].floor.unwrap_or(0),
                stop.doors.last().and_then(|d| d.floor).unwrap_or(0)
            )
        } else {
            String::new()
        };
        println!("  {:>3}. {}{}  (+{:.0} m)", stop.position + 1, stop.address, doors, stop.walk_from_previous_m);
    }
    println!("  …\n");

    // The volunteer walks the first stops.
    let mut first_knock = None;
    for (i, stop) in route.remaining.iter().take(8).enumerate() {
        let here = Some(Position { lat: stop.lat, lon: stop.lon, accuracy_m: Some(6.0) });
        for door in &stop.doors {
            let (code, answers) = match i % 4 {
                0 => ("not_home", vec![]),
                1 => (
                    "contact_made",
                    vec![
                        Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: true } },
                        Answer { question_id: "intent".into(), value: AnswerValue::Choice { value: "oui".into() } },
                    ],
                ),
                2 => ("no_answer", vec![]),
                _ => (
                    "contact_made",
                    vec![Answer { question_id: "consent".into(), value: AnswerValue::YesNo { value: false } }],
                ),
            };
            let k = store.record_knock(KnockInput {
                target: Target::Door { id: door.id.clone() },
                result_code: code.into(),
                answers,
                note: None,
                safety_flags: vec![],
                position: here,
                follow_up: None,
            })?;
            first_knock.get_or_insert((k.id, door.id.clone(), here));
        }
    }
    // A correction: the first door was in fact a refusal.
    if let Some((id, door, here)) = first_knock {
        let c = store.correct_knock(
            &id,
            KnockInput {
                target: Target::Door { id: door.clone() },
                result_code: "refused".into(),
                answers: vec![],
                note: Some("Correction : refus poli".into()),
                safety_flags: vec![],
                position: here,
                follow_up: None,
            },
        )?;
        println!(
            "Correction enregistrée ({}), porte désormais : {}.",
            &c.id[..8],
            store.door_status(&door)?.label_fr()
        );
    }
    let progress = store.route_progress(&pkg.turf.id)?;
    if let Some(next) = &progress.next {
        store.save_draft(KnockDraft {
            target: Target::Door { id: next.doors[0].id.clone() },
            result_code: Some("contact_made".into()),
            answers: vec![],
            note: Some("Brouillon : interphone en panne".into()),
            safety_flags: vec![],
            updated_ms: 0,
        })?;
        println!("Prochaine porte : {} (brouillon enregistré).", next.address);
    }
    println!("Progression : {}/{} portes frappées.", progress.doors_knocked, progress.doors_total);
    println!("Synchronisation : {}", store.sync_status()?.summary_fr);
    println!("\nMagasin : {path} (SQLite, WAL, synchronous=FULL). Rouvrez-le : tout y est.");
    Ok(())
}
