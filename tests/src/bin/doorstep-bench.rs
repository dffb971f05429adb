//! Field-core benchmarks, each next to its baseline in the same run, on the same disk:
//! - durable knock record (p50/p99) next to one write + fdatasync of a plain file;
//! - applying a 1,000-door turf package next to raw INSERTs of the same rows in one transaction
//!   with the same pragmas;
//! - walking routes for 200 / 1,000 / 5,000 real Nantes addresses, with the length of the
//!   conventional street / side / house-number sort for comparison.
//!
//! `cargo run --release -p doorstep-tests --bin doorstep-bench [-- --quick] [--dir D] [--key]`
//! Prints a Markdown report; docs/benchmarks.md holds the latest one.

use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::time::Instant;

use doorstep_core::route::{self, RoutePoint};
use doorstep_core::{KnockInput, Store};
use doorstep_protocol::{Position, Target};

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .map(|i| PathBuf::from(&args[i + 1]))
        .unwrap_or_else(|| doorstep_tests::repo_root().join("target/bench-tmp"));
    std::fs::create_dir_all(&dir).unwrap();
    let reps = if quick { 50 } else { 1000 };
    // `--key`: the knock store encrypted with SQLCipher (a raw 256-bit key), and its SQL baseline
    // on the same encrypted file.
    let key = args.iter().any(|a| a == "--key").then(|| "ab".repeat(32));

    println!("# Field core benchmarks\n");
    println!(
        "Machine: {} cores; disk of `{}`; {} samples per latency figure.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        dir.display(),
        reps
    );

    // --- durable knock record, next to its two baselines, interleaved sample by sample so that
    // the disk's moods hit all three alike -------------------------------------------------------
    let fpath = dir.join("fsync-baseline.bin");
    let _ = std::fs::remove_file(&fpath);
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&fpath).unwrap();
    let db = dir.join("bench-knocks.db");
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
    let store = Store::open(&db, key.clone()).unwrap();
    let pkg = doorstep_tests::turf_package("bench", 600);
    store.apply_turf_package_value(&pkg).unwrap();
    let doors: Vec<(String, f64, f64)> = pkg
        .doors
        .iter()
        .map(|d| {
            let b = pkg.buildings.iter().find(|b| b.id == d.building_id).unwrap();
            (d.id.clone(), b.lat, b.lon)
        })
        .collect();
    // Baseline 2 writes the same two rows (a report and its outbox row), already serialised, with
    // plain SQL into the same schema and pragmas: what SQLite's commit costs on its own.
    let raw = rusqlite::Connection::open(&db).unwrap();
    if let Some(k) = &key {
        raw.pragma_update(None, "key", format!("x'{k}'")).unwrap();
    }
    raw.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).unwrap();
    raw.execute_batch("PRAGMA synchronous=FULL").unwrap();
    if key.is_some() {
        // What SQLCipher does on each page: its version, crypto provider and settings.
        let mut said = Vec::new();
        for p in [
            "cipher_version",
            "cipher_provider",
            "cipher_provider_version",
            "cipher_memory_security",
            "cipher_page_size",
            "cipher_hmac_algorithm",
            "cipher_kdf_algorithm",
            "kdf_iter",
            "cache_size",
        ] {
            let v: String = raw
                .query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| format!("{v:?}"))
                .unwrap_or_else(|e| format!("({e})"));
            said.push(format!("{p} = {v}"));
        }
        println!("SQLCipher: {}\n", said.join(", "));
    }
    let mut fsync = Vec::with_capacity(reps);
    let mut rawk = Vec::with_capacity(reps);
    let mut knock = Vec::with_capacity(reps);
    let rec = [b'x'; 512];
    let mut body = String::new();
    for i in 0..reps {
        let t = Instant::now();
        f.write_all(&rec).unwrap();
        // SAFETY: a valid open file descriptor.
        let rc = unsafe { libc::fdatasync(f.as_raw_fd()) };
        assert_eq!(rc, 0);
        fsync.push(ms(t.elapsed()));

        let (door, lat, lon) = &doors[i % doors.len()];
        let input = KnockInput {
            target: Target::Door { id: door.clone() },
            result_code: "not_home".into(),
            answers: vec![],
            note: Some("Boîte aux lettres pleine".into()),
            safety_flags: vec![],
            position: Some(Position { lat: *lat, lon: *lon, accuracy_m: Some(8.0) }),
            follow_up: None,
        };
        let t = Instant::now();
        let k = store.record_knock(input).unwrap();
        knock.push(ms(t.elapsed()));

        if body.is_empty() {
            body = raw.query_row("SELECT body FROM knocks WHERE id = ?1", [&k.id], |r| r.get(0)).unwrap();
        }
        let id = format!("raw-{i:08}");
        let t = Instant::now();
        raw.execute_batch("BEGIN IMMEDIATE").unwrap();
        raw.prepare_cached(
            "INSERT INTO knocks(id, campaign_id, turf_id, building_id, door_id, target_kind, target_id, result_code, outcome, supersedes, hlc_millis, hlc_counter, monotonic_ms, body)
             VALUES (?1, 'c', 'bench', 'b', 'd', 'door', 'd', 'not_home', 'attempted', NULL, ?2, 0, 0, ?3)",
        )
        .unwrap()
        .execute(rusqlite::params![id, i as i64, body])
        .unwrap();
        raw.prepare_cached("INSERT INTO outbox(knock_id, state, updated_ms) VALUES (?1, 'pending', 0)")
            .unwrap()
            .execute([&id])
            .unwrap();
        raw.execute_batch("COMMIT").unwrap();
        rawk.push(ms(t.elapsed()));
    }
    drop(f);
    let _ = std::fs::remove_file(&fpath);
    drop(store);
    let (f50, f99) = (percentile(&mut fsync, 0.5), percentile(&mut fsync, 0.99));
    let (rk50, rk99) = (percentile(&mut rawk, 0.5), percentile(&mut rawk, 0.99));
    let (k50, k99) = (percentile(&mut knock, 0.5), percentile(&mut knock, 0.99));
    println!("## Durable knock record{}\n", if key.is_some() { " (store encrypted with SQLCipher)" } else { "" });
    println!("| what | p50 ms | p99 ms |\n|---|---:|---:|");
    println!("| baseline: append 512 B + `fdatasync` on the same disk | {f50:.3} | {f99:.3} |");
    println!(
        "| baseline: the same report + outbox row by plain INSERTs in one transaction, same schema and pragmas | {rk50:.3} | {rk99:.3} |"
    );
    println!(
        "| `record_knock` (validate, flag, HLC, report + outbox row in one transaction, WAL + `synchronous=FULL`) | {k50:.3} | {k99:.3} |"
    );
    println!("\nRatio p50 knock / p50 fsync: **{:.2}×** (target ≤ 2×).\n", k50 / f50);

    // --- the same knock on a plain store and on an encrypted one, side by side (issue 21) -------
    // Each store is the only connection writing its own file, as on a phone, so each keeps its
    // page cache between knocks (above, the SQL baseline's connection shares the knock store's
    // file: every commit of one empties the other's cache, and the encrypted store then decrypts
    // and checks every page it reads again). Alternated knock by knock.
    let mut side = Vec::new();
    for (name, k) in [("plain", None), ("encrypted", Some("cd".repeat(32)))] {
        let db = dir.join(format!("bench-side-{name}.db"));
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", db.display()));
        }
        let st = Store::open(&db, k).unwrap();
        st.apply_turf_package_value(&pkg).unwrap();
        side.push((name, st, Vec::with_capacity(reps)));
    }
    for i in 0..reps {
        let (door, lat, lon) = &doors[i % doors.len()];
        for (_, st, times) in side.iter_mut() {
            let input = KnockInput {
                target: Target::Door { id: door.clone() },
                result_code: "not_home".into(),
                answers: vec![],
                note: Some("Boîte aux lettres pleine".into()),
                safety_flags: vec![],
                position: Some(Position { lat: *lat, lon: *lon, accuracy_m: Some(8.0) }),
                follow_up: None,
            };
            let t = Instant::now();
            st.record_knock(input).unwrap();
            times.push(ms(t.elapsed()));
        }
    }
    println!("## The same knock on a plain store and on an SQLCipher store, side by side\n");
    println!("| store | `record_knock` p50 ms | p99 ms |\n|---|---:|---:|");
    let mut p50s = Vec::new();
    for (name, _, times) in side.iter_mut() {
        let (a, b) = (percentile(times, 0.5), percentile(times, 0.99));
        p50s.push(a);
        println!("| {name} | {a:.3} | {b:.3} |");
    }
    println!("\nEncrypted / plain, p50: **{:.2}×** (target ≤ 1.5×).\n", p50s[1] / p50s[0]);
    drop(side);

    // --- apply a 1,000-door package ----------------------------------------------------------
    let pkg = doorstep_tests::turf_package("apply", 589); // 530 houses + 59 buildings × 8 doors
    let bytes = serde_json::to_vec(&pkg).unwrap();
    let n_doors = pkg.doors.len();
    let apply_reps = if quick { 5 } else { 30 };
    let mut apply = Vec::new();
    let mut raw = Vec::new();
    for i in 0..apply_reps {
        let p = dir.join(format!("bench-apply-{i}.db"));
        let store = Store::open(&p, None).unwrap();
        let t = Instant::now();
        store.apply_turf_package(&bytes).unwrap();
        apply.push(ms(t.elapsed()));
        drop(store);
        let q = dir.join(format!("bench-raw-{i}.db"));
        raw.push(raw_insert(&q, &pkg));
        for f in [&p, &q] {
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", f.display()));
            }
        }
    }
    let (a50, r50) = (percentile(&mut apply, 0.5), percentile(&mut raw, 0.5));
    println!(
        "## Apply a {n_doors}-door turf package ({} buildings, {} KiB of JSON)\n",
        pkg.buildings.len(),
        bytes.len() / 1024
    );
    println!("| what | p50 ms |\n|---|---:|");
    println!(
        "| baseline: raw INSERT of the same rows, one transaction, same pragmas, no parsing or checks | {r50:.2} |"
    );
    println!(
        "| `apply_turf_package` (parse JSON, check every reference and coordinate, upsert, one transaction) | {a50:.2} |"
    );
    println!();

    // --- routes ---------------------------------------------------------------------------------
    println!("## Walking route (straight-line, street-side segments)\n");
    println!(
        "| addresses (one stop, one door each) | route p50 ms | conventional sort ms | our length m | conventional length m | saved |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in [200usize, 1000, 5000] {
        let pts: Vec<RoutePoint> = doorstep_tests::nearest_route_points(n);
        let start = Some((47.2135, -1.5590));
        let route_reps = if quick {
            3
        } else if n >= 5000 {
            10
        } else {
            30
        };
        let mut times = Vec::new();
        let mut order = Vec::new();
        for _ in 0..route_reps {
            let t = Instant::now();
            order = route::walking_order(&pts, start);
            times.push(ms(t.elapsed()));
        }
        let t = Instant::now();
        let mut conv: Vec<usize> = (0..pts.len()).collect();
        conv.sort_by_key(|&i| {
            (
                pts[i].street.to_lowercase(),
                route::parity(&pts[i].house_number),
                route::house_number_key(&pts[i].house_number),
            )
        });
        let conv_ms = ms(t.elapsed());
        let ours = route::walk_length_m(&pts, &order, start);
        let theirs = route::walk_length_m(&pts, &conv, start);
        println!(
            "| {n} | {:.2} | {conv_ms:.2} | {ours:.0} | {theirs:.0} | {:.0} % |",
            percentile(&mut times, 0.5),
            100.0 * (1.0 - ours / theirs)
        );
    }
    println!("\nLengths are straight-line metres between consecutive doors.\n");

    // --- routes along streets ---------------------------------------------------------------------
    println!("## Walking route along the street network (Nantes centre, IGN BD TOPO)\n");
    println!(
        "| addresses | route p50 ms (snap + distances + order) | our length m | conventional length m | saved | straight-line route, walked along streets, m |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let geo: serde_json::Value = serde_json::from_slice(
        &std::fs::read(doorstep_tests::repo_root().join("data/nantes/fr_nantes_centre_streets.geojson")).unwrap(),
    )
    .unwrap();
    let (network, _) = doorstep_core::streets::network_from_geojson(&geo).unwrap();
    for n in [50usize, 100, 300] {
        let pts: Vec<RoutePoint> = doorstep_tests::nearest_route_points(n);
        let start = Some((47.2135, -1.5590));
        // What the phone gets: the network around the turf.
        let mut around: Vec<(f64, f64)> = pts.iter().map(|p| (p.lat, p.lon)).collect();
        around.extend(start);
        let net = doorstep_core::streets::clip(&network, &around, 150.0);
        let reps = if quick { 3 } else { 20 };
        let mut times = Vec::new();
        let mut order = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            let graph = doorstep_core::streets::StreetGraph::new(&net).unwrap();
            order = route::walking_order_on(&pts, start, Some(&graph));
            times.push(ms(t.elapsed()));
        }
        let graph = doorstep_core::streets::StreetGraph::new(&net).unwrap();
        let mut conv: Vec<usize> = (0..pts.len()).collect();
        conv.sort_by_key(|&i| {
            (
                pts[i].street.to_lowercase(),
                route::parity(&pts[i].house_number),
                route::house_number_key(&pts[i].house_number),
            )
        });
        let straight = route::walking_order(&pts, start);
        let ours = route::walk_length_on(&pts, &order, start, &graph);
        let theirs = route::walk_length_on(&pts, &conv, start, &graph);
        let straight_len = route::walk_length_on(&pts, &straight, start, &graph);
        println!(
            "| {n} | {:.2} | {ours:.0} | {theirs:.0} | {:.0} % | {straight_len:.0} |",
            percentile(&mut times, 0.5),
            100.0 * (1.0 - ours / theirs)
        );
    }
    println!(
        "\nLengths are walked along the streets (Dijkstra between doors snapped to their street, a crossing cost to \
         reach the other side of the same street). Reference solvers on the same matrix: bash bench/route_reference.sh"
    );
}

/// The strongest simple baseline for applying a package: prepared INSERTs of the same rows in one
/// transaction on a fresh file with the same durability pragmas.
fn raw_insert(path: &std::path::Path, p: &doorstep_protocol::TurfPackage) -> f64 {
    let mut c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).unwrap();
    c.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
         CREATE TABLE buildings(id TEXT PRIMARY KEY, turf_id TEXT, street TEXT, house_number TEXT, postcode TEXT, city TEXT, polling_station TEXT, lat REAL, lon REAL);
         CREATE TABLE entrances(id TEXT PRIMARY KEY, building_id TEXT REFERENCES buildings(id), label TEXT, digicode TEXT, interphone TEXT, caretaker TEXT, notes TEXT);
         CREATE TABLE doors(id TEXT PRIMARY KEY, building_id TEXT REFERENCES buildings(id), entrance_id TEXT REFERENCES entrances(id), floor INTEGER, label TEXT, safety_flags TEXT);",
    )
    .unwrap();
    let t = Instant::now();
    let tx = c.transaction().unwrap();
    {
        let mut b = tx.prepare("INSERT INTO buildings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)").unwrap();
        for x in &p.buildings {
            b.execute(rusqlite::params![
                x.id,
                p.turf.id,
                x.street,
                x.house_number,
                x.postcode,
                x.city,
                x.polling_station,
                x.lat,
                x.lon
            ])
            .unwrap();
        }
        let mut e = tx.prepare("INSERT INTO entrances VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)").unwrap();
        for x in &p.entrances {
            e.execute(rusqlite::params![x.id, x.building_id, x.label, x.digicode, x.interphone, x.caretaker, x.notes])
                .unwrap();
        }
        let mut d = tx.prepare("INSERT INTO doors VALUES (?1, ?2, ?3, ?4, ?5, '[]')").unwrap();
        for x in &p.doors {
            d.execute(rusqlite::params![x.id, x.building_id, x.entrance_id, x.floor, x.label]).unwrap();
        }
    }
    tx.commit().unwrap();
    ms(t.elapsed())
}
