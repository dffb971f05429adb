//! Turf cutting on real French address files, with and without a street network and by polling
//! station (issue 20): balance (turfs within ±10 % of the target, islands apart), the longest
//! walking gap inside a turf without a network, and, by station, the same count for the baseline
//! that splits each bureau evenly into round(doors / target) turfs.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-cut-quality [-- --target 80]`
//! (Toulouse and Grand Lyon come from ../shared/data/addresses when present.)

use std::collections::HashMap;
use std::time::Instant;

use doorstep_core::streets::{StreetGraph, network_from_geojson};
use doorstep_server::cut::{self, CutBuilding, CutOptions, CutPlan};

fn buildings_of(path: &std::path::Path) -> Option<Vec<CutBuilding>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let at = |n: &str| header.iter().position(|h| *h == n);
    let (street, number, lat, lon) = (at("street")?, at("housenumber")?, at("lat")?, at("lon")?);
    let station = at("bureau");
    let mut seen: HashMap<(String, String, String), ()> = HashMap::new();
    let city = at("city");
    Some(
        lines
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                if f.len() != header.len() {
                    return None;
                }
                let key =
                    (f[street].to_string(), f[number].to_string(), city.map(|c| f[c].to_string()).unwrap_or_default());
                seen.insert(key, ()).is_none().then_some(())?;
                Some(CutBuilding {
                    lat: f[lat].parse().ok()?,
                    lon: f[lon].parse().ok()?,
                    doors: 1,
                    street: f[street].to_string(),
                    house_number: f[number].to_string(),
                    station: station.map(|s| f[s].to_string()).filter(|s| !s.is_empty()),
                })
            })
            .collect(),
    )
}

/// Turfs within ±10 % when each station is split evenly into round(doors / target) turfs.
fn even_split_baseline(buildings: &[CutBuilding], target: u32) -> (usize, usize) {
    let mut doors: HashMap<Option<&str>, u64> = HashMap::new();
    for b in buildings {
        *doors.entry(b.station.as_deref()).or_default() += u64::from(b.doors);
    }
    let (mut turfs, mut within) = (0, 0);
    for d in doors.values() {
        let k = ((*d as f64 / f64::from(target)).round() as usize).max(1);
        turfs += k;
        if ((*d as f64 / k as f64) - f64::from(target)).abs() <= 0.1 * f64::from(target) {
            within += k;
        }
    }
    (within, turfs)
}

fn row(name: &str, mode: &str, p: &CutPlan, secs: f64, baseline: Option<(usize, usize)>) {
    let r = &p.report;
    if std::env::var("CUT_DEBUG").is_ok() {
        let c = cut::constrained_turfs(&p.graph, &p.turfs, r.target);
        let mut devs: Vec<i64> = p
            .turfs
            .iter()
            .zip(&c)
            .filter(|(_, c)| !**c)
            .map(|(bs, _)| bs.iter().map(|&b| i64::from(p.graph.bdoors[b])).sum::<i64>() - i64::from(r.target))
            .filter(|d| d.abs() * 10 > i64::from(r.target))
            .collect();
        devs.sort();
        eprintln!("{name} {mode}: out of range {devs:?}");
    }
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    let base = baseline.map(|(w, t)| format!("{w} / {t} ({:.1} %)", pct(w, t))).unwrap_or_else(|| "—".into());
    println!(
        "| {name} | {mode} | {} | {} | {} ({:.1} %) | {} | {} ({:.1} %) | {:.1} % | {} | {} | {:.0} | {base} | {secs:.2} |",
        r.buildings,
        r.turfs,
        r.within_10pct,
        pct(r.within_10pct, r.turfs),
        r.constrained,
        r.within_10pct_unconstrained,
        pct(r.within_10pct_unconstrained, r.turfs - r.constrained),
        100.0 * r.max_deviation,
        r.islands_joined,
        r.disconnected,
        r.max_gap_m,
    );
}

fn main() {
    let mut target = 80u32;
    let mut a = std::env::args().skip(1);
    while let Some(k) = a.next() {
        match k.as_str() {
            "--target" => target = a.next().and_then(|v| v.parse().ok()).expect("--target DOORS"),
            _ => panic!("unknown flag {k}"),
        }
    }
    let root = doorstep_tests::repo_root();
    let shared = root.join("../shared/data/addresses");
    println!("target {target} doors; gap limit {} m without a network", cut::WALK_GAP_M);
    println!();
    println!(
        "| file | cut | buildings | turfs | within ±10 % | constrained (island, station) | others within ±10 % | max dev. | islands joined | not connected | longest gap m | even split of each station | s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let files = [
        ("Toulouse", shared.join("fr_toulouse.csv")),
        ("Grand Lyon", shared.join("fr_grand_lyon.csv")),
        ("Lyon 1er–9e", root.join("data/lyon/lyon_addresses_with_bureau_2012.csv")),
        ("Nantes centre", root.join("data/nantes/fr_nantes_centre_addresses.csv")),
    ];
    for (name, path) in files {
        let Some(bs) = buildings_of(&path) else {
            println!("| {name} | (missing: {}) |", path.display());
            continue;
        };
        let t = Instant::now();
        let p = cut::plan(&bs, None, CutOptions { target, by_station: false });
        row(name, "no network", &p, t.elapsed().as_secs_f64(), None);
        if bs.iter().any(|b| b.station.is_some()) {
            let t = Instant::now();
            let p = cut::plan(&bs, None, CutOptions { target, by_station: true });
            row(name, "by station, no network", &p, t.elapsed().as_secs_f64(), Some(even_split_baseline(&bs, target)));
        }
        if name == "Nantes centre" {
            let geo: serde_json::Value = serde_json::from_slice(
                &std::fs::read(root.join("data/nantes/fr_nantes_centre_streets.geojson")).unwrap(),
            )
            .unwrap();
            let (net, _) = network_from_geojson(&geo).unwrap();
            let g = StreetGraph::new(&net).unwrap();
            let t = Instant::now();
            let p = cut::plan(&bs, Some(&g), CutOptions { target, by_station: false });
            row(name, "street network", &p, t.elapsed().as_secs_f64(), None);
        }
    }
}
