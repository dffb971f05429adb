//! Imports of addresses and the voter file in batches: rows go in 500 to a statement
//! (`INSERT … VALUES (…), (…) ON CONFLICT (id) DO NOTHING RETURNING id`) and the owners of the
//! rows they refer to are looked up 500 ids at a time, so that an import costs a few statements
//! per thousand rows instead of two per row — the difference between seconds and minutes on
//! PostgreSQL, where every statement is a round trip. Written once over [`Tx`].

use std::collections::{HashMap, HashSet};

use super::ops::{self, insert_new};
use super::records::{Import, ImportCounts, StoreError, StoreResult, TurfOp};
use super::tx::{Tx, Val};

const ENTRANCE_OWNERS: &str =
    "SELECT e.id, b.campaign_id, b.turf_id FROM entrances e JOIN buildings b ON b.id = e.building_id WHERE e.id IN";
const DOOR_OWNERS: &str =
    "SELECT d.id, b.campaign_id, b.turf_id FROM doors d JOIN buildings b ON b.id = d.building_id WHERE d.id IN";
const HOUSEHOLD_OWNERS: &str = "SELECT h.id, b.campaign_id, b.turf_id FROM households h
     JOIN doors d ON d.id = h.door_id JOIN buildings b ON b.id = d.building_id WHERE h.id IN";

/// The turf of `id`'s building, if `id` exists in this campaign; the same errors as one lookup.
fn owned(
    owners: &HashMap<String, (String, Option<String>)>,
    id: &str,
    campaign_id: &str,
    kind: &'static str,
) -> StoreResult<Option<String>> {
    match owners.get(id) {
        Some((c, turf)) if c == campaign_id => Ok(turf.clone()),
        Some(_) => Err(StoreError::Conflict(format!("{kind} {id} belongs to another campaign"))),
        None => Err(StoreError::Missing { kind, id: id.to_string() }),
    }
}

/// Imports addresses and the voter file. Rows already present are kept as they are (an import can
/// be run twice); a new door, household or person in a building that is already in a turf moves
/// that turf to a new version so its volunteer gets it.
pub async fn import(tx: &mut dyn Tx, campaign_id: &str, i: &Import) -> StoreResult<ImportCounts> {
    let mut n = ImportCounts::default();
    let rows = i
        .buildings
        .iter()
        .map(|b| {
            vec![
                Val::from(&b.id),
                Val::from(campaign_id),
                Val::Null,
                Val::from(&b.street),
                Val::from(&b.house_number),
                Val::from(&b.postcode),
                Val::from(&b.city),
                Val::from(b.polling_station.clone()),
                Val::from(b.lat),
                Val::from(b.lon),
            ]
        })
        .collect();
    let added = insert_new(
        tx,
        "buildings(id, campaign_id, turf_id, street, house_number, postcode, city, polling_station, lat, lon)",
        &["text", "text", "text", "text", "text", "text", "text", "text", "float8", "float8"],
        rows,
    )
    .await?;
    n.buildings = added.len() as u64;
    // The new buildings' positions (the map's cells, below).
    let fresh: HashMap<&str, (f64, f64)> =
        i.buildings.iter().filter(|b| added.contains(&b.id)).map(|b| (b.id.as_str(), (b.lat, b.lon))).collect();
    // Every building referred to (or kept): its campaign and turf. The buildings this part just
    // added are this campaign's and in no turf: only the others are looked up.
    let referred = i
        .buildings
        .iter()
        .map(|b| b.id.as_str())
        .chain(i.entrances.iter().map(|e| e.building_id.as_str()))
        .chain(i.doors.iter().map(|d| d.building_id.as_str()))
        .filter(|id| !added.contains(*id));
    let mut buildings = ops::building_owners(tx, referred).await?;
    for id in &added {
        buildings.insert(id.clone(), (campaign_id.to_string(), None));
    }
    for b in i.buildings.iter().filter(|b| !added.contains(&b.id)) {
        owned(&buildings, &b.id, campaign_id, "building")?;
        n.existing += 1;
    }
    // (turf, building) pairs that got a new row.
    let mut touched: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut note = |turf: Option<String>, building: &str| {
        if let Some(t) = turf
            && seen.insert((t.clone(), building.to_string()))
        {
            touched.push((t, building.to_string()));
        }
    };

    let mut entrance_turf = Vec::with_capacity(i.entrances.len());
    for e in &i.entrances {
        entrance_turf.push(owned(&buildings, &e.building_id, campaign_id, "building")?);
    }
    let rows = i
        .entrances
        .iter()
        .map(|e| {
            vec![
                Val::from(&e.id),
                Val::from(&e.building_id),
                Val::from(&e.label),
                Val::from(e.digicode.clone()),
                Val::from(e.interphone.clone()),
                Val::from(e.caretaker.clone()),
                Val::from(e.notes.clone()),
            ]
        })
        .collect();
    let added =
        insert_new(tx, "entrances(id, building_id, label, digicode, interphone, caretaker, notes)", &["text"; 7], rows)
            .await?;
    let kept =
        ops::owners(tx, ENTRANCE_OWNERS, i.entrances.iter().filter(|e| !added.contains(&e.id)).map(|e| e.id.as_str()))
            .await?;
    for (e, turf) in i.entrances.iter().zip(entrance_turf) {
        if added.contains(&e.id) {
            note(turf, &e.building_id);
        } else {
            owned(&kept, &e.id, campaign_id, "entrance")?;
            n.existing += 1;
        }
    }
    n.entrances = added.len() as u64;

    let mut door_turf = Vec::with_capacity(i.doors.len());
    for d in &i.doors {
        door_turf.push(owned(&buildings, &d.building_id, campaign_id, "building")?);
    }
    let rows = i
        .doors
        .iter()
        .map(|d| {
            vec![
                Val::from(&d.id),
                Val::from(&d.building_id),
                Val::from(d.entrance_id.clone()),
                Val::from(d.floor.map(i64::from)),
                Val::from(&d.label),
                Val::from(serde_json::to_string(&d.safety_flags).expect("serialisable")),
            ]
        })
        .collect();
    let added = insert_new(
        tx,
        "doors(id, building_id, entrance_id, floor, label, safety_flags)",
        &["text", "text", "text", "int8", "text", "text"],
        rows,
    )
    .await?;
    let kept =
        ops::owners(tx, DOOR_OWNERS, i.doors.iter().filter(|d| !added.contains(&d.id)).map(|d| d.id.as_str())).await?;
    // The new doors, by the turf their building is in: the turfs' counters.
    let mut new_doors: Vec<Option<String>> = Vec::with_capacity(added.len());
    for (d, turf) in i.doors.iter().zip(door_turf) {
        if added.contains(&d.id) {
            new_doors.push(turf.clone());
            note(turf, &d.building_id);
        } else {
            owned(&kept, &d.id, campaign_id, "door")?;
            n.existing += 1;
        }
    }
    n.doors = added.len() as u64;
    ops::counters::doors_added(tx, campaign_id, &new_doors).await?;
    // And the map's cells, at each new door's building (read for buildings this part did not add).
    let new_door_buildings: Vec<&str> =
        i.doors.iter().filter(|d| added.contains(&d.id)).map(|d| d.building_id.as_str()).collect();
    let elsewhere = ops::cells::positions_of(
        tx,
        new_door_buildings.iter().copied().filter(|b| !fresh.contains_key(b)).collect::<HashSet<_>>().into_iter(),
    )
    .await?;
    let positions: Vec<(f64, f64)> = new_door_buildings
        .iter()
        .filter_map(|b| fresh.get(b).copied().or_else(|| elsewhere.get(*b).copied()))
        .collect();
    ops::cells::doors_added(tx, campaign_id, &positions).await?;

    // The voter file: households in doors, people in households.
    let building_of_door: HashMap<&str, &str> =
        i.doors.iter().map(|d| (d.id.as_str(), d.building_id.as_str())).collect();
    let doors = ops::owners(tx, DOOR_OWNERS, i.households.iter().map(|h| h.door_id.as_str())).await?;
    let mut household_turf = Vec::with_capacity(i.households.len());
    for h in &i.households {
        household_turf.push(owned(&doors, &h.door_id, campaign_id, "door")?);
    }
    let rows = i.households.iter().map(|h| vec![Val::from(&h.id), Val::from(&h.door_id)]).collect();
    let added = insert_new(tx, "households(id, door_id)", &["text", "text"], rows).await?;
    let kept = ops::owners(
        tx,
        HOUSEHOLD_OWNERS,
        i.households.iter().filter(|h| !added.contains(&h.id)).map(|h| h.id.as_str()),
    )
    .await?;
    for (h, turf) in i.households.iter().zip(household_turf) {
        if added.contains(&h.id) {
            if let Some(b) = building_of_door.get(h.door_id.as_str()) {
                note(turf, b);
            }
        } else {
            owned(&kept, &h.id, campaign_id, "household")?;
            n.existing += 1;
        }
    }
    n.households = added.len() as u64;

    let door_of_household: HashMap<&str, &str> =
        i.households.iter().map(|h| (h.id.as_str(), h.door_id.as_str())).collect();
    let households = ops::owners(tx, HOUSEHOLD_OWNERS, i.people.iter().map(|p| p.household_id.as_str())).await?;
    let mut person_turf = Vec::with_capacity(i.people.len());
    for p in &i.people {
        person_turf.push(owned(&households, &p.household_id, campaign_id, "household")?);
    }
    let rows = i
        .people
        .iter()
        .map(|p| {
            vec![
                Val::from(&p.id),
                Val::from(&p.household_id),
                Val::from(&p.display_name),
                Val::from(p.birth_year.map(i64::from)),
            ]
        })
        .collect();
    let added =
        insert_new(tx, "people(id, household_id, display_name, birth_year)", &["text", "text", "text", "int8"], rows)
            .await?;
    for (p, turf) in i.people.iter().zip(person_turf) {
        if !added.contains(&p.id) {
            n.existing += 1;
        } else if let Some(b) = door_of_household.get(p.household_id.as_str()).and_then(|d| building_of_door.get(d)) {
            note(turf, b);
        }
    }
    n.people = added.len() as u64;

    let mut turfs: Vec<String> = touched.iter().map(|(t, _)| t.clone()).collect();
    turfs.sort();
    turfs.dedup();
    for t in &turfs {
        let add = touched.iter().filter(|(x, _)| x == t).map(|(_, b)| b.clone()).collect();
        ops::bump(tx, t, &TurfOp { add, ..TurfOp::default() }).await?;
    }
    n.turfs_touched = turfs;
    Ok(n)
}
