//! Walking routes over the store: computes a turf's order with [`crate::route`], keeps it (so the
//! route survives a restart and "next door" is instant), and builds the route views with each
//! door's current status.

use std::collections::HashMap;

use doorstep_protocol::{Position, SafetyFlag, validate_position};
use rusqlite::{Connection, params};

use super::Store;
use super::knocks::{facts_by_door, reported_flags_by_door};
use crate::error::{CoreError, Result};
use crate::route::{self, Parity, RoutePoint};
use crate::status::door_status;
use crate::views::{DoorView, EntranceView, MisplacedView, PairSide, PersonView, RouteProgress, RouteStop};

struct BuildingRow {
    id: String,
    point: RoutePoint,
    postcode: String,
    city: String,
}

fn buildings(c: &Connection, turf_id: &str) -> Result<Vec<BuildingRow>> {
    let mut st = c.prepare_cached(
        "SELECT id, street, house_number, postcode, city, lat, lon FROM buildings WHERE turf_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([turf_id], |r| {
        Ok(BuildingRow {
            id: r.get(0)?,
            point: RoutePoint { street: r.get(1)?, house_number: r.get(2)?, lat: r.get(5)?, lon: r.get(6)? },
            postcode: r.get(3)?,
            city: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn ensure_turf(c: &Connection, turf_id: &str) -> Result<()> {
    let n: i64 = c.query_row("SELECT count(*) FROM turfs WHERE id = ?1", [turf_id], |r| r.get(0))?;
    if n == 0 {
        return Err(CoreError::unknown("turf", turf_id));
    }
    Ok(())
}

/// `12 BIS` → `12 bis`; `Rue de X`, `44000`, `NANTES` → `12 bis Rue de X, 44000 Nantes`.
pub fn french_address(house_number: &str, street: &str, postcode: &str, city: &str) -> String {
    let (n, rest) = route::house_number_key(house_number);
    let number = match n {
        Some(n) if !rest.is_empty() && rest.chars().all(|c| c.is_alphabetic()) => format!("{n} {rest}"),
        _ => house_number.trim().to_string(),
    };
    let city = title_case(city);
    let tail = [postcode.trim(), city.as_str()].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" ");
    let head = [number.as_str(), street.trim()].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" ");
    if tail.is_empty() { head } else { format!("{head}, {tail}") }
}

fn title_case(s: &str) -> String {
    if s.chars().any(|c| c.is_lowercase()) {
        return s.trim().to_string();
    }
    s.trim()
        .split(['-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_lowercase();
            let mut cs = lower.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(if s.contains('-') { "-" } else { " " })
}

/// Natural order of door labels: `2` before `10`, then text.
fn label_key(label: &str) -> (Option<u32>, String) {
    route::house_number_key(label)
}

impl Store {
    /// Orders the turf into a walking route from `start` (the volunteer's position; `None` starts at
    /// an edge of the turf) and keeps it. With `side`, only that half of a pair's split is routed.
    pub fn compute_route(
        &self,
        turf_id: &str,
        start: Option<Position>,
        side: Option<PairSide>,
        round_trip: bool,
    ) -> Result<RouteProgress> {
        if let Some(p) = &start {
            validate_position(p)?;
        }
        self.write(|tx| {
            ensure_turf(tx, turf_id)?;
            let rows: Vec<BuildingRow> = buildings(tx, turf_id)?
                .into_iter()
                .filter(|b| match side {
                    None => true,
                    Some(PairSide::Even) => route::parity(&b.point.house_number) == Parity::Even,
                    Some(PairSide::Odd) => route::parity(&b.point.house_number) != Parity::Even,
                })
                .collect();
            let points: Vec<RoutePoint> = rows.iter().map(|b| b.point.clone()).collect();
            // Along the turf's streets when its package carried them.
            let net: Option<String> =
                tx.query_row("SELECT street_network FROM turfs WHERE id = ?1", [turf_id], |r| r.get(0))?;
            let graph = net
                .and_then(|n| serde_json::from_str::<doorstep_protocol::StreetNetwork>(&n).ok())
                .and_then(|n| crate::streets::StreetGraph::new(&n));
            let plan = route::plan(&points, start.map(|p| (p.lat, p.lon)), graph.as_ref(), round_trip);
            // Where each stop is walked: its own position, or on its street when its own cannot be
            // right; a door placed nowhere is walked last and the walk to it is not counted.
            let at = |i: usize| match plan.placement[i] {
                route::Placement::OnStreet(lat, lon) => Some((lat, lon)),
                route::Placement::AsIs => Some((points[i].lat, points[i].lon)),
                route::Placement::Last => None,
            };
            let order = &plan.order;
            // The walk to each stop, kept with the route: along streets when there are some.
            let walks: Vec<Option<f64>> = match &graph {
                Some(g) => {
                    let snaps: Vec<_> = order.iter().map(|&i| at(i).map(|(lat, lon)| g.snap(lat, lon))).collect();
                    std::iter::once(None)
                        .chain(snaps.windows(2).map(|w| match (&w[0], &w[1]) {
                            (Some(a), Some(b)) => Some(g.distances(a, &[*b])[0]),
                            _ => Some(0.0),
                        }))
                        .collect()
                }
                None => {
                    let mut prev: Option<(f64, f64)> = None;
                    order
                        .iter()
                        .map(|&i| {
                            let here = at(i);
                            let walk = match (prev, here) {
                                (Some(a), Some(b)) => Some(crate::plausibility::distance_m(a.0, a.1, b.0, b.1)),
                                (Some(_), None) => Some(0.0),
                                (None, _) => None,
                            };
                            prev = here.or(prev);
                            walk
                        })
                        .collect()
                }
            };
            tx.execute("DELETE FROM route_stops WHERE turf_id = ?1", [turf_id])?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO route_stops(turf_id, position, building_id, walk_m, misplaced_why, misplaced_m, placed_on_street)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (pos, &i) in order.iter().enumerate() {
                let flag = plan.misplaced[i];
                let on_street = matches!(plan.placement[i], route::Placement::OnStreet(..));
                ins.execute(params![
                    turf_id,
                    pos as i64,
                    rows[i].id,
                    walks[pos],
                    flag.map(|f| f.why.code()),
                    flag.map(|f| f.distance_m),
                    on_street
                ])?;
            }
            Ok(())
        })?;
        // Straight to the progress: a turf emptied by a captain keeps no stop, and asking
        // `route_progress` would compute again, forever (found by the deterministic simulation).
        self.read(|c| build_progress(c, turf_id))
    }

    /// The kept route with every door's current status: next stop, remaining, done, progress.
    /// Computes a route from the turf's edge if none was kept.
    pub fn route_progress(&self, turf_id: &str) -> Result<RouteProgress> {
        let kept: i64 = self.read(|c| {
            ensure_turf(c, turf_id)?;
            Ok(c.query_row("SELECT count(*) FROM route_stops WHERE turf_id = ?1", [turf_id], |r| r.get(0))?)
        })?;
        if kept == 0 {
            return self.compute_route(turf_id, None, None, false);
        }
        self.read(|c| build_progress(c, turf_id))
    }
}

fn build_progress(c: &Connection, turf_id: &str) -> Result<RouteProgress> {
    let by_id: HashMap<String, BuildingRow> = buildings(c, turf_id)?.into_iter().map(|b| (b.id.clone(), b)).collect();
    type Kept = (String, Option<f64>, Option<String>, Option<f64>, bool);
    let stops_kept: Vec<Kept> = c
        .prepare_cached(
            "SELECT building_id, walk_m, misplaced_why, misplaced_m, placed_on_street FROM route_stops
             WHERE turf_id = ?1 ORDER BY position",
        )?
        .query_map([turf_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let walks: HashMap<String, f64> = stops_kept.iter().filter_map(|k| k.1.map(|w| (k.0.clone(), w))).collect();
    let mut flags: HashMap<String, MisplacedView> = HashMap::new();
    for (b, _, why, m, on_street) in &stops_kept {
        if let (Some(why), Some(m)) = (why, m) {
            flags.insert(b.clone(), MisplacedView::new(why, *m, *on_street));
        }
    }
    let order: Vec<String> = stops_kept.into_iter().map(|k| k.0).collect();
    let facts = facts_by_door(c, turf_id)?;
    let reported_flags = reported_flags_by_door(c, turf_id)?;

    let mut doors_by_building: HashMap<String, Vec<(Option<String>, DoorView)>> = HashMap::new();
    let mut st = c.prepare_cached(
        "SELECT d.id, d.building_id, d.label, d.floor, e.label, d.safety_flags FROM doors d
         JOIN buildings b ON b.id = d.building_id LEFT JOIN entrances e ON e.id = d.entrance_id WHERE b.turf_id = ?1",
    )?;
    let rows = st.query_map([turf_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<i32>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    for row in rows {
        let (id, building, label, floor, entrance_label, flags) = row?;
        let mut safety_flags: Vec<SafetyFlag> = serde_json::from_str(&flags)?;
        if let Some(extra) = reported_flags.get(&id) {
            safety_flags.extend(extra.iter().copied());
        }
        safety_flags.sort();
        safety_flags.dedup();
        let status = door_status(facts.get(&id).map(|v| v.as_slice()).unwrap_or(&[]));
        doors_by_building.entry(building).or_default().push((
            entrance_label.clone(),
            DoorView { id, label, floor, entrance_label, status, safety_flags, people: Vec::new() },
        ));
    }
    let mut people: HashMap<String, Vec<PersonView>> = HashMap::new();
    let mut st = c.prepare_cached(
        "SELECT h.door_id, p.id, p.display_name FROM people p JOIN households h ON h.id = p.household_id
         JOIN doors d ON d.id = h.door_id JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = ?1 ORDER BY p.display_name, p.id",
    )?;
    for row in
        st.query_map([turf_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
    {
        let (door, id, display_name) = row?;
        people.entry(door).or_default().push(PersonView { id, display_name });
    }
    let mut entrances: HashMap<String, Vec<EntranceView>> = HashMap::new();
    let mut st = c.prepare_cached(
        "SELECT e.building_id, e.id, e.label, e.digicode, e.interphone, e.caretaker, e.notes FROM entrances e
         JOIN buildings b ON b.id = e.building_id WHERE b.turf_id = ?1 ORDER BY e.label, e.id",
    )?;
    for row in st.query_map([turf_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            EntranceView {
                id: r.get(1)?,
                label: r.get(2)?,
                digicode: r.get(3)?,
                interphone: r.get(4)?,
                caretaker: r.get(5)?,
                notes: r.get(6)?,
            },
        ))
    })? {
        let (b, e) = row?;
        entrances.entry(b).or_default().push(e);
    }

    let mut stops = Vec::with_capacity(order.len());
    let mut prev: Option<(f64, f64)> = None;
    for (pos, bid) in order.iter().enumerate() {
        let Some(b) = by_id.get(bid) else { continue };
        let mut doors = doors_by_building.remove(bid).unwrap_or_default();
        doors.sort_by(|(ea, a), (eb, b)| {
            ea.cmp(eb)
                .then(a.floor.cmp(&b.floor))
                .then(label_key(&a.label).cmp(&label_key(&b.label)))
                .then(a.id.cmp(&b.id))
        });
        let doors: Vec<DoorView> = doors
            .into_iter()
            .map(|(_, mut d)| {
                d.people = people.remove(&d.id).unwrap_or_default();
                d
            })
            .collect();
        let walk = match walks.get(bid) {
            Some(w) => *w,
            None => prev.map_or(0.0, |(lat, lon)| crate::plausibility::distance_m(lat, lon, b.point.lat, b.point.lon)),
        };
        prev = Some((b.point.lat, b.point.lon));
        stops.push(RouteStop {
            position: pos as u32,
            building_id: bid.clone(),
            address: french_address(&b.point.house_number, &b.point.street, &b.postcode, &b.city),
            street: b.point.street.clone(),
            house_number: b.point.house_number.clone(),
            lat: b.point.lat,
            lon: b.point.lon,
            walk_from_previous_m: walk,
            entrances: entrances.remove(bid).unwrap_or_default(),
            doors,
            misplaced: flags.remove(bid),
        });
    }
    let doors_total = stops.iter().map(|s| s.doors.len() as u32).sum();
    let doors_knocked =
        stops.iter().flat_map(|s| &s.doors).filter(|d| d.status != crate::DoorStatus::Untouched).count() as u32;
    let total_walk_m = stops.iter().map(|s| s.walk_from_previous_m).sum();
    let (done, remaining): (Vec<RouteStop>, Vec<RouteStop>) = stops.into_iter().partition(RouteStop::is_done);
    Ok(RouteProgress {
        turf_id: turf_id.to_string(),
        next: remaining.first().cloned(),
        remaining,
        done,
        doors_total,
        doors_knocked,
        total_walk_m,
    })
}

#[cfg(test)]
mod tests {
    use super::french_address;

    #[test]
    fn french_addresses() {
        assert_eq!(
            french_address("14 BIS", "Rue de Strasbourg", "44000", "NANTES"),
            "14 bis Rue de Strasbourg, 44000 Nantes"
        );
        assert_eq!(
            french_address("168-170", "AV DE GRANDE BRETAGNE", "", "TOULOUSE"),
            "168-170 AV DE GRANDE BRETAGNE, Toulouse"
        );
        assert_eq!(french_address("3", "Quai X", "69001", "Lyon 1er"), "3 Quai X, 69001 Lyon 1er");
    }
}
