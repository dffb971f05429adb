//! Plausibility checks made when a knock is recorded: was the device near the door, and could a
//! person have walked from the previous door in the time since? They never block a knock; the flags
//! travel with it to the captain.

use doorstep_protocol::{PlausibilityFlag, Position};
use geo::{Distance, Haversine, Point};

/// Brisk walking, with margin: 2.5 m/s is 9 km/h.
pub const MAX_WALK_SPEED_M_S: f64 = 2.5;
/// Below this distance between doors, speed is not judged (neighbouring doors, GPS noise).
pub const MIN_DISTANCE_FOR_SPEED_M: f64 = 60.0;

pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    Haversine.distance(Point::new(lon1, lat1), Point::new(lon2, lat2))
}

/// The previous knock of this device: where its door was and when (monotonic).
#[derive(Debug, Clone, Copy)]
pub struct PreviousKnock {
    pub door_lat: f64,
    pub door_lon: f64,
    pub monotonic_ms: u64,
}

pub fn check(
    door_lat: f64,
    door_lon: f64,
    position: Option<&Position>,
    now_monotonic_ms: u64,
    previous: Option<PreviousKnock>,
) -> Vec<PlausibilityFlag> {
    let mut flags = Vec::new();
    match position {
        None => flags.push(PlausibilityFlag::NoPosition),
        Some(p) => {
            let d = distance_m(p.lat, p.lon, door_lat, door_lon);
            if d > 300.0 {
                flags.push(PlausibilityFlag::Over300m);
            } else if d > 100.0 {
                flags.push(PlausibilityFlag::Over100m);
            }
        }
    }
    if let Some(prev) = previous {
        // A reboot restarts monotonic time: then nothing can be said.
        if now_monotonic_ms >= prev.monotonic_ms {
            let d = distance_m(prev.door_lat, prev.door_lon, door_lat, door_lon);
            let secs = (now_monotonic_ms - prev.monotonic_ms) as f64 / 1000.0;
            if d >= MIN_DISTANCE_FOR_SPEED_M && d > MAX_WALK_SPEED_M_S * secs {
                flags.push(PlausibilityFlag::TooFast);
            }
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAT: f64 = 47.2184;
    const LON: f64 = -1.5536;

    #[test]
    fn distance_flags() {
        let at = |dlat: f64| Position { lat: LAT + dlat, lon: LON, accuracy_m: Some(5.0) };
        assert!(check(LAT, LON, Some(&at(0.0005)), 0, None).is_empty()); // ~55 m
        assert_eq!(check(LAT, LON, Some(&at(0.0015)), 0, None), vec![PlausibilityFlag::Over100m]); // ~167 m
        assert_eq!(check(LAT, LON, Some(&at(0.004)), 0, None), vec![PlausibilityFlag::Over300m]); // ~445 m
        assert_eq!(check(LAT, LON, None, 0, None), vec![PlausibilityFlag::NoPosition]);
    }

    #[test]
    fn walking_speed() {
        let here = Some(&Position { lat: LAT, lon: LON, accuracy_m: None });
        let prev = PreviousKnock { door_lat: LAT + 0.0045, door_lon: LON, monotonic_ms: 1_000 }; // ~500 m away
        assert_eq!(check(LAT, LON, here, 1_000 + 60_000, Some(prev)), vec![PlausibilityFlag::TooFast]);
        assert!(check(LAT, LON, here, 1_000 + 600_000, Some(prev)).is_empty());
        // Reboot: monotonic time went back, no judgement.
        assert!(check(LAT, LON, here, 10, Some(prev)).is_empty());
    }
}
