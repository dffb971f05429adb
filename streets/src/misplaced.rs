//! Doors whose position cannot be right (issue 22): a failed geocode at (0°, 0°), a door far
//! outside the rest of its turf, a door far from every street of the package. Each is flagged with
//! a distance the volunteer and the coordinator can read, placed on its street by its address when
//! other doors of that street (or the street itself) are known, otherwise walked last; none of them
//! stretches the route or the street network clipped into the package. Pure: no I/O.

use crate::route::{RoutePoint, house_number_key, parity};
use crate::streets::StreetGraph;

/// A door farther than this from every street of its package is flagged.
pub const FAR_FROM_STREET_M: f64 = 250.0;
/// A door is outside its turf's area when it lies farther from the turf's centre (the median of
/// its doors) than twice the radius holding nine doors in ten, plus this margin.
pub const OUTSIDE_MARGIN_M: f64 = 1_500.0;

/// Why a door's position cannot be right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// At (0°, 0°), where a failed geocode puts an address.
    NullIsland,
    /// Far outside the area of the other doors.
    OutsideArea,
    /// Far from every street of the package.
    FarFromStreets,
}

impl Why {
    pub fn code(self) -> &'static str {
        match self {
            Why::NullIsland => "null_island",
            Why::OutsideArea => "outside_area",
            Why::FarFromStreets => "far_from_streets",
        }
    }
}

/// A flagged door: why, and how far (metres) from the other doors (`NullIsland`, `OutsideArea`)
/// or from the nearest street (`FarFromStreets`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Misplaced {
    pub why: Why,
    pub distance_m: f64,
}

impl Misplaced {
    /// What the volunteer and the coordinator read: `Adresse mal placée : à 2,1 km de toute rue`.
    pub fn message_fr(&self) -> String {
        let d = distance_fr(self.distance_m);
        match self.why {
            Why::NullIsland => format!("Adresse mal placée : position (0, 0), à {d} des autres adresses"),
            Why::OutsideArea => format!("Adresse mal placée : à {d} des autres adresses du secteur"),
            Why::FarFromStreets => format!("Adresse mal placée : à {d} de toute rue"),
        }
    }
}

/// `85 m`, `2,1 km`, `5 130 km` (French number forms, a narrow no-break space between thousands).
pub fn distance_fr(m: f64) -> String {
    if m < 1_000.0 {
        return format!("{} m", m.round() as i64);
    }
    let km = m / 1_000.0;
    if km < 100.0 {
        return format!("{:.1} km", km).replace('.', ",");
    }
    let s = (km.round() as i64).to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    format!("{out} km")
}

/// Great-circle distance in metres.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().min(1.0).asin()
}

fn is_null_island(p: (f64, f64)) -> bool {
    !p.0.is_finite() || !p.1.is_finite() || (p.0.abs() < 1e-3 && p.1.abs() < 1e-3)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Flags by position alone (lat, lon): at (0, 0), or outside the area of the others. What the
/// server checks before clipping the street network into a package.
pub fn by_position(points: &[(f64, f64)]) -> Vec<Option<Misplaced>> {
    let good: Vec<(f64, f64)> = points.iter().copied().filter(|&p| !is_null_island(p)).collect();
    let centre = (!good.is_empty())
        .then(|| (median(good.iter().map(|p| p.0).collect()), median(good.iter().map(|p| p.1).collect())));
    // Nine doors in ten lie within `r90` of the centre; fewer than four doors say nothing of an area.
    let limit = centre.filter(|_| good.len() >= 4).map(|c| {
        let mut r: Vec<f64> = good.iter().map(|&p| haversine_m(c, p)).collect();
        r.sort_by(f64::total_cmp);
        2.0 * r[(r.len() * 9).div_ceil(10) - 1] + OUTSIDE_MARGIN_M
    });
    points
        .iter()
        .map(|&p| {
            let c = centre?;
            let d = if p.0.is_finite() && p.1.is_finite() { haversine_m(c, p) } else { f64::INFINITY };
            if is_null_island(p) {
                Some(Misplaced { why: Why::NullIsland, distance_m: d })
            } else if limit.is_some_and(|l| d > l) {
                Some(Misplaced { why: Why::OutsideArea, distance_m: d })
            } else {
                None
            }
        })
        .collect()
}

/// The points a package's street network is clipped around: the flagged ones left out.
pub fn clip_points(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let flags = by_position(points);
    points.iter().zip(&flags).filter(|(_, f)| f.is_none()).map(|(p, _)| *p).collect()
}

/// Flags by position, then, along streets, every other door farther than
/// [`FAR_FROM_STREET_M`] from every street of `graph`.
pub fn check(points: &[RoutePoint], graph: Option<&StreetGraph>) -> Vec<Option<Misplaced>> {
    let mut flags = by_position(&points.iter().map(|p| (p.lat, p.lon)).collect::<Vec<_>>());
    if let Some(g) = graph {
        let grid = g.snapper();
        for (p, f) in points.iter().zip(flags.iter_mut()) {
            if f.is_none() {
                let off = grid.snap(p.lat, p.lon).off;
                if off > FAR_FROM_STREET_M {
                    *f = Some(Misplaced { why: Why::FarFromStreets, distance_m: off });
                }
            }
        }
    }
    flags
}

/// Where a flagged door is walked: at a position on its street found by its address, or last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Its own position is fine.
    AsIs,
    /// On its street, beside the doors of that street with the nearest house numbers (or on the
    /// street itself when no other door of it is known).
    OnStreet(f64, f64),
    /// Nowhere known: walked after every other door, and the walk to it is not counted.
    Last,
}

fn street_key(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Places each flagged door (see [`Placement`]).
pub fn place(points: &[RoutePoint], flags: &[Option<Misplaced>], graph: Option<&StreetGraph>) -> Vec<Placement> {
    points
        .iter()
        .zip(flags)
        .map(|(p, f)| {
            if f.is_none() {
                return Placement::AsIs;
            }
            let key = street_key(&p.street);
            let (n, _) = house_number_key(&p.house_number);
            // The well-placed doors of the same street: the same side first.
            let same: Vec<&RoutePoint> = points
                .iter()
                .zip(flags)
                .filter(|(q, g)| g.is_none() && !key.is_empty() && street_key(&q.street) == key)
                .map(|(q, _)| q)
                .collect();
            let side: Vec<&RoutePoint> =
                same.iter().copied().filter(|q| parity(&q.house_number) == parity(&p.house_number)).collect();
            let pool = if side.is_empty() { &same } else { &side };
            let nearest = pool.iter().min_by_key(|q| {
                let m = house_number_key(&q.house_number).0;
                match (n, m) {
                    (Some(a), Some(b)) => a.abs_diff(b),
                    _ => u32::MAX,
                }
            });
            if let Some(q) = nearest {
                return Placement::OnStreet(q.lat, q.lon);
            }
            match graph.and_then(|g| g.street_point(&p.street)) {
                Some((lat, lon)) => Placement::OnStreet(lat, lon),
                None => Placement::Last,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(street: &str, n: &str, lat: f64, lon: f64) -> RoutePoint {
        RoutePoint { street: street.into(), house_number: n.into(), lat, lon }
    }

    /// The case table: each row a turf of ten doors around Nantes plus one door, and what becomes
    /// of that door.
    #[test]
    fn case_table() {
        let base: Vec<RoutePoint> =
            (0..10).map(|k| pt("Rue Crébillon", &(k + 1).to_string(), 47.2135 + k as f64 * 1e-4, -1.5610)).collect();
        let rows: &[(&str, RoutePoint, Option<Why>, Placement)] = &[
            ("a door among the others", pt("Rue Crébillon", "11", 47.2146, -1.5611), None, Placement::AsIs),
            (
                "a failed geocode, a street the turf knows",
                pt("Rue Crébillon", "4", 0.0, 0.0),
                Some(Why::NullIsland),
                Placement::OnStreet(base[3].lat, base[3].lon),
            ),
            (
                "a failed geocode, nothing known",
                pt("Rue Inconnue", "4", 0.0, 0.0),
                Some(Why::NullIsland),
                Placement::Last,
            ),
            ("40 km away", pt("", "", 47.5, -1.2), Some(Why::OutsideArea), Placement::Last),
            ("1 km away: within the margin", pt("", "", 47.2230, -1.5610), None, Placement::AsIs),
        ];
        for (what, door, why, placed) in rows {
            let mut pts = base.clone();
            pts.push(door.clone());
            let flags = check(&pts, None);
            assert!(flags[..10].iter().all(Option::is_none), "{what}: {flags:?}");
            assert_eq!(flags[10].map(|f| f.why), *why, "{what}");
            assert_eq!(place(&pts, &flags, None)[10], *placed, "{what}");
        }
    }

    /// Along streets: the turf's street runs north–south beside its doors; "Rue du Port" lies
    /// 300 m east and holds no door of the turf.
    #[test]
    fn case_table_along_streets() {
        use doorstep_protocol::{StreetEdge, StreetNetwork};
        let base: Vec<RoutePoint> =
            (0..10).map(|k| pt("Rue Crébillon", &(k + 1).to_string(), 47.2135 + k as f64 * 1e-4, -1.5610)).collect();
        let east = |m: f64| -1.5612 + m / (111_132.0 * 47.214f64.to_radians().cos());
        let net = StreetNetwork {
            nodes: vec![[-1.5612, 47.2130], [-1.5612, 47.2150], [east(300.0), 47.2130], [east(300.0), 47.2150]],
            edges: vec![
                StreetEdge { from: 0, to: 1, length_m: 222.0, name: Some("Rue Crébillon".into()), class: None },
                StreetEdge { from: 2, to: 3, length_m: 222.0, name: Some("Rue du  Port".into()), class: None },
                StreetEdge { from: 0, to: 2, length_m: 300.0, name: None, class: None },
            ],
        };
        let g = StreetGraph::new(&net).unwrap();
        let rows: &[(&str, RoutePoint, Option<Why>, Option<Placement>)] = &[
            ("beside its street", pt("Rue Crébillon", "11", 47.2146, -1.5611), None, Some(Placement::AsIs)),
            (
                "700 m from every street, its street known by its doors",
                pt("Rue Crébillon", "3", 47.2137, east(1_000.0)),
                Some(Why::FarFromStreets),
                Some(Placement::OnStreet(base[2].lat, base[2].lon)),
            ),
            (
                "700 m from every street, its street in the network only",
                pt("rue du port", "1", 47.2137, east(1_000.0)),
                Some(Why::FarFromStreets),
                None,
            ),
            (
                "700 m from every street, nothing known",
                pt("Impasse Ailleurs", "1", 47.2137, east(1_000.0)),
                Some(Why::FarFromStreets),
                Some(Placement::Last),
            ),
        ];
        for (what, door, why, placed) in rows {
            let mut pts = base.clone();
            pts.push(door.clone());
            let flags = check(&pts, Some(&g));
            assert!(flags[..10].iter().all(Option::is_none), "{what}: {flags:?}");
            assert_eq!(flags[10].map(|f| f.why), *why, "{what}");
            let got = place(&pts, &flags, Some(&g))[10];
            match placed {
                Some(p) => assert_eq!(got, *p, "{what}"),
                // On Rue du Port, 300 m east.
                None => match got {
                    Placement::OnStreet(lat, lon) => {
                        assert!(
                            (lon - east(300.0)).abs() < 1e-6 && (47.2130..=47.2150).contains(&lat),
                            "{what}: {got:?}"
                        )
                    }
                    other => panic!("{what}: {other:?}"),
                },
            }
        }
    }

    #[test]
    fn distances_read_in_french() {
        assert_eq!(distance_fr(84.6), "85 m");
        assert_eq!(distance_fr(2_140.0), "2,1 km");
        assert_eq!(distance_fr(5_130_400.0), "5\u{202f}130 km");
        let m = Misplaced { why: Why::FarFromStreets, distance_m: 2_000.0 };
        assert_eq!(m.message_fr(), "Adresse mal placée : à 2,0 km de toute rue");
    }

    #[test]
    fn the_clip_ignores_flagged_doors() {
        let mut pts: Vec<(f64, f64)> = (0..10).map(|k| (47.2135 + k as f64 * 1e-4, -1.5610)).collect();
        pts.push((0.0, 0.0));
        assert_eq!(clip_points(&pts).len(), 10);
    }
}
