//! French data as campaigns get it (issue 20): a metropolitan address file where the same street
//! and number exist in many communes (Grand Lyon's municipal open data: commune names, no
//! postcode) keeps every address, through the coordinator's import; importing it twice changes
//! nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, User};

#[tokio::test]
async fn a_multi_commune_file_keeps_every_address() {
    let path = doorstep_tests::repo_root().join("data/grand_lyon/fr_grand_lyon_shared_addresses.csv");
    let bytes = std::fs::read(&path).unwrap();
    // What the file holds: distinct (street, number, commune), and how many rows repeat one.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let distinct: HashSet<(String, String, &str)> =
        rows.iter().map(|r| (r[1].to_lowercase(), r[2].to_lowercase(), r[4])).collect();
    let by_number: HashSet<(String, String)> =
        rows.iter().map(|r| (r[1].to_lowercase(), r[2].to_lowercase())).collect();
    assert!(by_number.len() * 10 < distinct.len(), "the excerpt is about addresses shared by communes");

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let service = Service::new(store.clone());
    let mut campaign = doorstep_tests::campaign();
    campaign.id = "grand-lyon".into();
    service.create_campaign(&campaign).await.unwrap();
    store
        .create_user(&User {
            id: "coord".into(),
            campaign_id: campaign.id.clone(),
            role: Role::Coordinator,
            display_name: "C".into(),
            team_id: None,
        })
        .await
        .unwrap();
    let staff = doorstep_tests::coordinator(&campaign.id);
    let first = service.import_file(&staff, &bytes, false, HashMap::new()).await.unwrap();
    assert_eq!(first.rows, rows.len());
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.imported.buildings as usize, distinct.len(), "one building per address and commune");
    assert_eq!(first.duplicates.len(), rows.len() - distinct.len(), "every merge is listed");
    assert!(first.duplicates.iter().all(|d| d.distance_m < 100.0), "{:?}", first.duplicates);
    assert!(first.kept_apart.is_empty());
    // Again: nothing new.
    let again = service.import_file(&staff, &bytes, false, HashMap::new()).await.unwrap();
    assert_eq!((again.imported.buildings, again.imported.doors), (0, 0));
    let addresses: HashSet<String> = store
        .cut_candidates(&campaign.id, &[])
        .await
        .unwrap()
        .iter()
        .map(|c| c.street.clone() + " " + &c.house_number)
        .collect();
    assert_eq!(addresses.len(), by_number.len(), "each shared address is there, in every commune");
    assert_eq!(store.cut_candidates(&campaign.id, &[]).await.unwrap().len(), distinct.len());
}

/// A service on a real SQLite file with one campaign and its coordinator.
async fn campaign_service(
    id: &str,
) -> (tempfile::TempDir, Service, doorstep_server::model::Staff, Arc<dyn ServerStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let service = Service::new(store.clone());
    let mut campaign = doorstep_tests::campaign();
    campaign.id = id.into();
    service.create_campaign(&campaign).await.unwrap();
    let user = User {
        id: "coord".into(),
        campaign_id: id.into(),
        role: Role::Coordinator,
        display_name: "C".into(),
        team_id: None,
    };
    store.create_user(&user).await.unwrap();
    (dir, service, doorstep_tests::coordinator(id), store)
}

fn nodes_of(net: &doorstep_protocol::StreetNetwork) -> Vec<(i64, i64)> {
    let mut v: Vec<(i64, i64)> =
        net.nodes.iter().map(|n| ((n[0] * 1e7).round() as i64, (n[1] * 1e7).round() as i64)).collect();
    v.sort();
    v
}

/// A protobuf varint.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One PBF block: its length, its header (`type`, `datasize`) and the blob.
fn pbf_block(kind: &str, blob: &[u8], out: &mut Vec<u8>) {
    let mut header = vec![0x0a];
    varint(kind.len() as u64, &mut header);
    header.extend_from_slice(kind.as_bytes());
    header.push(0x18);
    varint(blob.len() as u64, &mut header);
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(blob);
}

/// A street file that inflates far beyond its size (a "zip bomb" made as an OpenStreetMap
/// extract: 100 kB that decompress to a 200 MB string table) is refused with a clear error and
/// never inflated whole: the PBF reader stops each block at 32 MB, so the block ends early and
/// is reported as broken (inflated whole, a string table with no ways would read as an empty
/// network).
#[test]
fn an_osm_pbf_bomb_is_refused_without_inflating_it() {
    use std::io::Write;
    const INFLATED: u64 = 200 << 20;
    // PrimitiveBlock { stringtable: StringTable { s: [200 MB of zeros] } }, compressed as it is
    // written (never held whole).
    let mut inner = vec![0x0a];
    varint(INFLATED, &mut inner);
    let mut block = vec![0x0a];
    varint(INFLATED + inner.len() as u64, &mut block);
    block.extend_from_slice(&inner);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&block).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..(INFLATED >> 20) {
        z.write_all(&zeros).unwrap();
    }
    let zlib = z.finish().unwrap();
    assert!(zlib.len() < 1 << 20, "{} bytes", zlib.len());
    let mut file = Vec::new();
    // An empty header block (raw), then the data block (raw_size, zlib_data).
    pbf_block("OSMHeader", &[0x0a, 0x00, 0x10, 0x00], &mut file);
    let mut blob = vec![0x10];
    varint(INFLATED + block.len() as u64, &mut blob);
    blob.push(0x1a);
    varint(zlib.len() as u64, &mut blob);
    blob.extend_from_slice(&zlib);
    pbf_block("OSMData", &blob, &mut file);
    assert_eq!(doorstep_server::networks::sniff(&file[..64]), doorstep_server::networks::NetworkFormat::OsmPbf);
    let err = doorstep_server::networks::read(&doorstep_server::networks::NetworkSource::Bytes(file), None)
        .map(|(net, stats, _)| (net.edges.len(), stats.lines))
        .unwrap_err();
    assert!(err.starts_with("OpenStreetMap PBF:"), "{err}");
}

/// An OpenStreetMap `.osm.pbf` extract (Helsinki's, rebuilt by scripts/make-network-excerpts.sh)
/// gives the same network as the GeoJSON of the same ways: walkable ways only (`foot=no` left out
/// and counted), ways sharing a node joined.
#[tokio::test]
async fn an_osm_pbf_extract_imports_walkable_ways() {
    let root = doorstep_tests::repo_root();
    // (Helsinki's addresses are outside France, so a French campaign has none: the whole
    // extract is kept.)
    let (_dir, service, st, _) = campaign_service("helsinki").await;

    let pbf = std::fs::read(root.join("data/helsinki/fi_helsinki_streets.osm.pbf")).unwrap();
    let r = service.import_streets(&st, &pbf).await.unwrap();
    assert_eq!(r.format, doorstep_server::networks::NetworkFormat::OsmPbf);
    let geo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("data/helsinki/fi_helsinki_streets.geojson")).unwrap())
            .unwrap();
    let foot_no = geo["features"].as_array().unwrap().iter().filter(|f| f["properties"]["foot"] == "no").count();
    assert_eq!(foot_no, 34, "the extract has ways closed to pedestrians");
    assert_eq!(r.not_walkable, foot_no);
    assert_eq!((r.lines, r.outside), (2461 - foot_no, 0));
    assert_eq!(r.notices.len(), 1);
    assert!(r.km > 80.0 && r.km < 93.0, "{} km", r.km);

    // The same ways from GeoJSON: the same network, node for node.
    let (from_geojson, stats) = doorstep_core::streets::network_from_geojson(&geo).unwrap();
    assert_eq!(stats.not_walkable, foot_no);
    let (from_pbf, _, _) = doorstep_server::networks::read(
        &doorstep_server::networks::NetworkSource::File(root.join("data/helsinki/fi_helsinki_streets.osm.pbf")),
        None,
    )
    .unwrap();
    assert_eq!(from_pbf.edges.len(), from_geojson.edges.len());
    assert_eq!(nodes_of(&from_pbf), nodes_of(&from_geojson));
    let km = |n: &doorstep_protocol::StreetNetwork| n.edges.iter().map(|e| e.length_m).sum::<f64>() / 1000.0;
    assert!((km(&from_pbf) - km(&from_geojson)).abs() < 0.01, "{} vs {}", km(&from_pbf), km(&from_geojson));
    assert!(from_pbf.edges.iter().any(|e| e.name.as_deref() == Some("Erottajankatu")));
}

/// IGN BD TOPO's `troncon_de_route` in its GeoPackage (Lambert-93, LINESTRING Z; Nantes centre,
/// rebuilt by scripts/make-network-excerpts.sh): reprojected to WGS84 within a centimetre of the
/// same sections' GeoJSON, named by the Base Adresse Nationale's street names, so that the
/// addresses find their street.
#[tokio::test]
async fn a_bd_topo_geopackage_imports_in_wgs84() {
    let root = doorstep_tests::repo_root();
    let (_dir, service, st, _) = campaign_service("nantes").await;
    // Before any address: the whole file is kept, and the coordinator is told.
    let gpkg = std::fs::read(root.join("data/nantes/fr_nantes_centre_troncon_de_route.gpkg")).unwrap();
    let early = service.import_streets(&st, &gpkg).await.unwrap();
    assert_eq!(early.format, doorstep_server::networks::NetworkFormat::BdtopoGpkg);
    assert_eq!(early.notices.len(), 1, "{:?}", early.notices);
    assert_eq!((early.lines, early.outside, early.not_walkable), (3695, 0, 0));
    assert!((early.km - 169.0).abs() < 1.5, "{} km", early.km);

    let addresses = std::fs::read(root.join("data/nantes/fr_nantes_centre_addresses.csv")).unwrap();
    service.import_file(&st, &addresses, false, HashMap::new()).await.unwrap();
    let r = service
        .import_streets_from(
            &st,
            doorstep_server::networks::NetworkSource::File(
                root.join("data/nantes/fr_nantes_centre_troncon_de_route.gpkg"),
            ),
        )
        .await
        .unwrap();
    assert!(r.notices.is_empty());
    assert_eq!(r.lines + r.outside, 3695);

    let (gp, _, _) =
        doorstep_server::networks::read(&doorstep_server::networks::NetworkSource::Bytes(gpkg.clone()), None).unwrap();
    let geo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("data/nantes/fr_nantes_centre_streets.geojson")).unwrap())
            .unwrap();
    let (gj, _) = doorstep_core::streets::network_from_geojson(&geo).unwrap();
    assert_eq!(gp.nodes.len(), gj.nodes.len(), "sections that meet still share a node after the projection");
    assert_eq!(gp.edges.len(), gj.edges.len());
    // Node for node (both in file order), within a centimetre.
    let worst = gp
        .nodes
        .iter()
        .zip(&gj.nodes)
        .map(|(a, b)| {
            let kx = 111_132.0 * a[1].to_radians().cos();
            (((a[0] - b[0]) * kx).powi(2) + ((a[1] - b[1]) * 111_132.0).powi(2)).sqrt()
        })
        .fold(0.0f64, f64::max);
    assert!(worst < 0.01, "worst node moved {worst} m");
    // Names are the BAN's (what the addresses say), classes from nature and importance.
    let named = gp.edges.iter().filter(|e| e.name.is_some()).count();
    assert!(named * 10 > gp.edges.len() * 6, "{named} of {} named", gp.edges.len());
    assert!(gp.edges.iter().any(|e| e.name.as_deref() == Some("Rue de Strasbourg")));
    assert!(gp.edges.iter().any(|e| e.class.as_deref() == Some("steps")));
    // Something else in a GeoPackage is refused, naming what it holds.
    let other = tempfile::tempdir().unwrap();
    let path = other.path().join("x.gpkg");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE gpkg_contents(table_name TEXT); INSERT INTO gpkg_contents VALUES ('batiment');
         CREATE TABLE gpkg_geometry_columns(table_name TEXT, column_name TEXT, srs_id INTEGER);",
    )
    .unwrap();
    drop(db);
    let e = service.import_streets(&st, &std::fs::read(&path).unwrap()).await.unwrap_err();
    assert!(e.message.contains("troncon_de_route") && e.message.contains("batiment"), "{}", e.message);
    let e = service.import_streets(&st, b"not a network").await.unwrap_err();
    assert!(e.message.contains("GeoJSON") && e.message.contains("PBF"), "{}", e.message);
}

/// The national files, end to end, in their published layouts (excerpts in data/france/, built by
/// scripts/make-french-excerpts.py): the REU address → bureau file brings doors with their bureau
/// (rows geocoded only to the street or with a low score refused, each listed with its line),
/// Etalab's national bureau contours and the Ministry's national per-bureau results (Latin-1,
/// several départements) meet them on the same key, commune + bureau.
#[tokio::test]
async fn the_national_files_import_and_match() {
    let root = doorstep_tests::repo_root().join("data/france");
    let (_dir, service, st, store) = campaign_service("lyon-1er").await;
    let reu = std::fs::read(root.join("reu_adresses_bureaux_lyon1.csv")).unwrap();
    let e = service.import_file(&st, &reu, false, HashMap::new()).await.unwrap_err();
    assert!(e.message.starts_with("4 ligne(s) invalide(s)"), "{}", e.message);
    let skip = HashMap::from([("skip_invalid".to_string(), "true".to_string())]);
    let r = service.import_file(&st, &reu, false, skip).await.unwrap();
    assert_eq!(r.rows, 304);
    let refused: Vec<usize> = r.errors.iter().map(|e| e.line).collect();
    assert_eq!(refused, vec![302, 303, 304, 305], "{:?}", r.errors);
    assert!(r.errors[0].reason.contains("street") && r.errors[2].reason.contains("municipality"), "{:?}", r.errors);
    assert!(r.errors[3].reason.contains("0.38"), "{:?}", r.errors);
    assert_eq!(r.imported.doors as usize + r.duplicates.len(), 300, "every located row is a door or a listed merge");
    // The label was split: street without postcode and commune; the postcode kept.
    let doors = store.cut_candidates("lyon-1er", &[]).await.unwrap();
    let grande_cote = doors.iter().find(|c| c.street == "Montée de la Grande Côte" && c.house_number == "112").unwrap();
    assert_eq!(grande_cote.polling_station.as_deref(), Some("69123_101"));
    assert!(doors.iter().all(|c| !c.street.contains("Lyon") && !c.street.contains("6900")));

    let contours = std::fs::read(root.join("contours_bureaux_lyon1.geojson")).unwrap();
    let s = service.import_stations(&st, &contours, HashMap::new()).await.unwrap();
    assert_eq!((s.stations, s.skipped), (12, 0));

    let results = std::fs::read(root.join("resultats_burvot_t1_excerpt.txt")).unwrap();
    assert!(std::str::from_utf8(&results).is_err(), "the Ministry's file is Latin-1");
    let res = service.import_results(&st, &results, HashMap::new()).await.unwrap();
    assert_eq!(res.stations, 15);
    assert!(res.errors.is_empty(), "{:?}", res.errors);
    assert!(res.stations_without_results.is_empty(), "{:?}", res.stations_without_results);
    let mut elsewhere = res.results_without_doors.clone();
    elsewhere.sort();
    assert_eq!(elsewhere, vec!["01001-1", "2A001-1", "44001-1"], "other départements' bureau 0001 stay apart");
    assert!(res.lists.iter().any(|l| l.contains("MÉLENCHON")), "{:?}", res.lists);

    let stations = service.stations(&st).await.unwrap();
    let with_doors: Vec<_> = stations.iter().filter(|s| s.doors > 0).collect();
    assert_eq!(with_doors.len(), 12);
    for s in &with_doors {
        assert!(s.has_results && s.has_boundary, "{s:?}");
        assert!(s.registered.unwrap() > 300, "{s:?}");
    }
}

/// Cuts without a street network (issue 20, item 6), on Lyon's 31,160 addresses: balance among
/// the turfs that can be balanced ≥ 99 %, "connected" stated as a walking gap (250 m) and every
/// turf with a longer step listed by id; by station, no turf crosses a bureau and at least as many
/// turfs are within ±10 % as when each bureau is split evenly.
#[tokio::test]
async fn cuts_without_streets_are_balanced_and_say_their_gaps() {
    let root = doorstep_tests::repo_root();
    let bytes = std::fs::read(root.join("data/lyon/lyon_addresses_with_bureau_2012.csv")).unwrap();
    for by_station in [false, true] {
        let (dir, service, st, _) = campaign_service("lyon").await;
        service.import_file(&st, &bytes, false, HashMap::new()).await.unwrap();
        let req = doorstep_server::intake::CutRequest {
            target_doors: Some(80),
            by_station,
            ..serde_json::from_str("{}").unwrap()
        };
        let r = service.cut_turfs(&st, req).await.unwrap();
        let rep = &r.report;
        assert!(!rep.street_network);
        assert_eq!(rep.walk_gap_limit_m, Some(250.0));
        assert_eq!(rep.gaps.len(), rep.disconnected, "every turf with a gap is listed");
        assert!(rep.gaps.iter().all(|g| g.gap_m > 250.0 && r.turfs.contains(&g.turf_id)), "{:?}", rep.gaps);
        assert!(rep.max_gap_m.unwrap() >= rep.gaps.iter().map(|g| g.gap_m).fold(0.0, f64::max));
        let db = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        if by_station {
            let crossing: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM (SELECT turf_id FROM buildings GROUP BY turf_id
                     HAVING COUNT(DISTINCT COALESCE(polling_station, '')) > 1)",
                    [],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(crossing, 0, "no turf crosses a bureau");
            // The baseline: each bureau split evenly into round(doors / 80) turfs.
            let mut stmt = db.prepare("SELECT COUNT(*) FROM buildings GROUP BY polling_station").unwrap();
            let doors: Vec<i64> = stmt.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
            let even: usize = doors
                .iter()
                .map(|&d| {
                    let k = ((d as f64 / 80.0).round() as usize).max(1);
                    if ((d as f64 / k as f64) - 80.0).abs() <= 8.0 { k } else { 0 }
                })
                .sum();
            assert!(rep.within_10pct >= even, "{} within ±10 % vs {even} for an even split", rep.within_10pct);
        } else {
            let others = r.turfs.len() - rep.constrained;
            assert!(
                rep.within_10pct_unconstrained * 100 >= others * 99,
                "{} of {others}",
                rep.within_10pct_unconstrained
            );
        }
    }
}
