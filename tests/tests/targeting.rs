//! Polling-station targeting on Lyon's real data, over HTTP in-process: addresses of the 1st
//! arrondissement (half of them without their bureau), the 288 bureau boundaries placing those,
//! the 2012 first-round results, a formula, a cut that never crosses a bureau, turfs ranked by
//! priority, the choropleth's GeoJSON, and bad input refused with nothing changed. Also the cut's
//! partial re-cut and its report on the Nantes street network.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use doorstep_server::api;
use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, User};
use doorstep_server::targeting::station_key;
use doorstep_tests::{call, code_of, repo_root};
use serde_json::{Value, json};

struct Lyon {
    app: axum::Router,
    store: Arc<dyn ServerStore>,
    token: String,
    /// Street and number → the bureaux the source file gives them (some addresses repeat).
    bureau_of: HashMap<String, HashSet<String>>,
    _dir: tempfile::TempDir,
}

async fn lyon() -> Lyon {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let service = Service::new(store.clone());
    let mut campaign = doorstep_tests::campaign();
    campaign.id = "lyon-2027".into();
    campaign.name = "Lyon 2027".into();
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
    let token = service.issue_staff_token("coord").await.unwrap();
    Lyon { app: api::app(service), store, token, bureau_of: HashMap::new(), _dir: dir }
}

async fn ok(l: &Lyon, method: &str, path: &str, body: Vec<u8>) -> Value {
    let (st, b) = call(&l.app, method, path, Some(&l.token), body).await;
    assert_eq!(st, StatusCode::OK, "{method} {path}: {}", String::from_utf8_lossy(&b[..b.len().min(400)]));
    serde_json::from_slice(&b).unwrap()
}

/// The 1st arrondissement's addresses, every second one without its bureau.
async fn import_addresses(l: &mut Lyon) -> usize {
    let text = std::fs::read_to_string(repo_root().join("data/lyon/lyon_addresses_with_bureau_2012.csv")).unwrap();
    let mut csv = String::from("id,street,housenumber,postcode,city,lat,lon,bureau\n");
    let mut n = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 8 || !f[4].ends_with("1ER") || f[1].contains('"') {
            continue;
        }
        let bureau = if n % 2 == 0 { "" } else { f[7] };
        csv.push_str(&format!("{},{},{},{},{},{},{},{bureau}\n", f[0], f[1], f[2], f[3], f[4], f[5], f[6]));
        l.bureau_of
            .entry(format!("{}|{}", f[1].to_lowercase(), f[2].to_lowercase()))
            .or_default()
            .insert(station_key(f[7]));
        n += 1;
    }
    let r = ok(l, "POST", "/api/v1/import/addresses.csv", csv.into_bytes()).await;
    assert_eq!(r["errors"], json!([]), "{r}");
    // Lyon's file repeats some addresses: each repeat is named with the line it repeats.
    let dups = r["duplicates"].as_array().unwrap();
    let rows = r["rows"].as_u64().unwrap() as usize;
    let buildings = r["imported"]["buildings"].as_u64().unwrap() as usize;
    assert_eq!(rows, n);
    assert_eq!(buildings + dups.len(), n, "every row is a building or a named repeat: {}", dups.len());
    assert!(dups.iter().all(|d| d["same_as_line"].as_u64() < d["line"].as_u64()));
    n
}

#[tokio::test]
async fn lyon_results_boundaries_formula_cut_and_ranking() {
    let mut l = lyon().await;
    let rows = import_addresses(&mut l).await;
    assert!(rows > 500, "{rows}");

    // Boundaries place the buildings that came without a bureau, in the bureau the source says.
    let geo = std::fs::read(repo_root().join("data/lyon/lyon_bureaux_2012.geojson")).unwrap();
    let r = ok(&l, "POST", "/api/v1/import/stations.geojson", geo).await;
    assert_eq!(r["stations"], 288, "{r}");
    assert!(r["buildings_assigned"].as_u64().unwrap() > 100, "{r}");
    // Lyon's published polygons overlap in places: those buildings are named, and placed in the
    // bureau they lie deepest in (which is what the source's own assignment says, checked below).
    assert!(!r["buildings_ambiguous"].as_array().unwrap().is_empty(), "{r}");
    let cands = l.store.cut_candidates("lyon-2027", &[]).await.unwrap();
    let mut checked = 0;
    for c in &cands {
        let key = format!("{}|{}", c.street.to_lowercase(), c.house_number.to_lowercase());
        if let (Some(want), Some(got)) = (l.bureau_of.get(&key), &c.polling_station) {
            assert!(want.contains(&station_key(got)), "{key}: {got} not in {want:?}");
            checked += 1;
        }
    }
    assert!(checked + r["buildings_outside"].as_array().unwrap().len() >= cands.len() * 9 / 10, "{checked}");

    // Results: Lyon's percentage layout, every bureau.
    let results = std::fs::read(repo_root().join("data/lyon/lyon_results_presidentielle_2012_t1.csv")).unwrap();
    let r = ok(&l, "POST", "/api/v1/import/results.csv", results).await;
    assert_eq!((r["layout"].as_str(), r["stations"].as_u64()), (Some("percent"), Some(288)), "{r}");
    assert_eq!(r["errors"], json!([]));
    assert_eq!(r["stations_without_results"], json!([]), "every bureau of the 1st has results");

    // A name the results do not hold is refused, with the names they do hold (issue 20): a typo
    // never sets every priority to 0 silently, and a part of a name matches nothing.
    for bad in [json!({"favourable": ["hollnde"]}), json!({"favourable": ["holl"]})] {
        let (st, b) =
            doorstep_tests::call(&l.app, "PUT", "/api/v1/targeting", Some(&l.token), bad.to_string().into_bytes())
                .await;
        let e: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!((st.as_u16(), e["code"].as_str()), (400, Some("unknown_list")), "{e}");
        assert!(e["message"].as_str().unwrap().contains("melenchon"), "the message lists the results' names: {e}");
    }
    // The formula: registered × abstention × the left's share of votes cast.
    let f = json!({"favourable": ["Hollande", "Mélenchon", "JOLY"]});
    let r = ok(&l, "PUT", "/api/v1/targeting", f.to_string().into_bytes()).await;
    assert_eq!(r["registered"], 1.0);
    let stations = ok(&l, "GET", "/api/v1/stations", vec![]).await;
    let stations = stations.as_array().unwrap();
    assert!(stations.windows(2).all(|w| w[0]["priority"].as_f64() >= w[1]["priority"].as_f64()), "highest first");
    // Checked against the source row, computed here independently.
    let src = std::fs::read_to_string(repo_root().join("data/lyon/lyon_results_presidentielle_2012_t1.csv")).unwrap();
    let row: Vec<&str> = src.lines().find(|l| l.starts_with("0101,")).unwrap().split(',').collect();
    let (reg, abst): (f64, f64) = (row[3].parse().unwrap(), row[4].parse::<f64>().unwrap() / 100.0);
    let share: f64 = [6, 15, 9].iter().map(|&i| row[i].parse::<f64>().unwrap()).sum::<f64>() / 100.0;
    let s101 = stations.iter().find(|s| s["id"] == "101").unwrap();
    let want = reg * abst * share;
    let got = s101["priority"].as_f64().unwrap();
    assert!((got - want).abs() / want < 0.01, "101: {got} vs {want}");
    assert!(s101["doors"].as_u64().unwrap() > 0);

    // A cut that never crosses a bureau.
    let cut =
        ok(&l, "POST", "/api/v1/turfs/cut", json!({"target_doors": 60, "by_station": true}).to_string().into()).await;
    let turfs = cut["turfs"].as_array().unwrap().len();
    assert!(turfs > 5, "{cut}");
    assert_eq!(cut["report"]["street_network"], false, "Lyon has no street network: names and proximity");
    let mut stations_of: HashMap<String, HashSet<String>> = HashMap::new();
    for (turf, station, _) in l.store.station_doors("lyon-2027").await.unwrap() {
        if let (Some(t), Some(s)) = (turf, station) {
            stations_of.entry(t).or_default().insert(station_key(&s));
        }
    }
    assert_eq!(stations_of.len(), turfs);
    assert!(stations_of.values().all(|s| s.len() == 1), "one bureau per turf");

    // Turfs by priority; together they carry the priority of the bureaux they cover.
    let ranking = ok(&l, "GET", "/api/v1/turfs/ranking", vec![]).await;
    let ranked = ranking["turfs"].as_array().unwrap();
    assert_eq!(ranked.len(), turfs);
    assert!(ranked.windows(2).all(|w| w[0]["priority"].as_f64() >= w[1]["priority"].as_f64()));
    let total: f64 = ranked.iter().map(|t| t["priority"].as_f64().unwrap()).sum();
    let covered: f64 =
        stations.iter().filter(|s| s["doors"].as_u64() > Some(0)).map(|s| s["priority"].as_f64().unwrap()).sum();
    assert!((total - covered).abs() / covered < 1e-6, "{total} vs {covered}");

    // The choropleth.
    let fc = ok(&l, "GET", "/api/v1/stations.geojson", vec![]).await;
    let features = fc["features"].as_array().unwrap();
    assert_eq!(features.len(), 288);
    assert!(features.iter().all(|f| f["properties"]["priority"].is_number() && f["geometry"]["type"].is_string()));
}

#[tokio::test]
async fn bad_results_and_boundaries_are_refused_and_change_nothing() {
    let l = lyon().await;
    let header = "bureau,inscrits,votants,exprimes,liste,voix\n";
    // More voters than registered: refused with its line, nothing stored.
    let bad = format!("{header}1,500,300,290,A,200\n2,100,150,140,A,140\n");
    let (st, b) = call(&l.app, "POST", "/api/v1/import/results.csv", Some(&l.token), bad.clone().into_bytes()).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "bad_rows"));
    assert!(String::from_utf8_lossy(&b).contains("ligne 3"), "{}", String::from_utf8_lossy(&b));
    assert!(l.store.stations("lyon-2027").await.unwrap().is_empty());
    // With skip_invalid the rest goes in, and the refused row is listed.
    let r = ok(&l, "POST", "/api/v1/import/results.csv?skip_invalid=true", bad.into_bytes()).await;
    assert_eq!((r["stations"].as_u64(), r["errors"].as_array().unwrap().len()), (Some(1), 1));
    // Candidates' votes over the votes cast: refused. Under: kept and flagged.
    let over = format!("{header}3,500,300,290,A,200\n3,500,300,290,B,200\n");
    let (st, _) = call(&l.app, "POST", "/api/v1/import/results.csv", Some(&l.token), over.into_bytes()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let under = format!("{header}4,500,300,290,A,100\n");
    let r = ok(&l, "POST", "/api/v1/import/results.csv", under.into_bytes()).await;
    assert_eq!(r["flagged"].as_array().unwrap().len(), 1, "{r}");
    // A file with no registered voters column, or not CSV results at all.
    for body in ["bureau,votants\n1,3\n", "", "lat,lon\n1,2\n"] {
        let (st, b) = call(&l.app, "POST", "/api/v1/import/results.csv", Some(&l.token), body.into()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", String::from_utf8_lossy(&b));
    }
    // Boundaries: not GeoJSON, no polygon, no id, twice the same bureau.
    for body in [
        "nope".to_string(),
        json!({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"bureau":"1"},"geometry":{"type":"Point","coordinates":[4.8,45.7]}}]}).to_string(),
        json!({"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[4.8,45.7],[4.9,45.7],[4.9,45.8],[4.8,45.7]]]}}]}).to_string(),
        json!({"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"bureau":"1"},"geometry":{"type":"Polygon","coordinates":[[[4.8,45.7],[4.9,45.7],[4.9,45.8],[4.8,45.7]]]}},
            {"type":"Feature","properties":{"bureau":"01"},"geometry":{"type":"Polygon","coordinates":[[[4.8,45.7],[4.9,45.7],[4.9,45.8],[4.8,45.7]]]}}]}).to_string(),
    ] {
        let (st, b) = call(&l.app, "POST", "/api/v1/import/stations.geojson", Some(&l.token), body.clone().into()).await;
        assert_eq!((st, code_of(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "bad_import"), "{body}");
    }
    assert!(l.store.stations("lyon-2027").await.unwrap().iter().all(|s| s.boundary.is_none()));
    // A formula out of range.
    let (st, b) =
        call(&l.app, "PUT", "/api/v1/targeting", Some(&l.token), json!({"abstention": 9}).to_string().into()).await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "bad_formula"));
    assert!(l.store.targeting("lyon-2027").await.unwrap().is_none());
    // Cutting by station when no address has a station: an option that cannot apply is an
    // error (issue 20), and nothing is cut. So is a rate without minutes.
    let csv = "street,housenumber,lat,lon\nRue Neuve,1,45.764,4.835\n";
    ok(&l, "POST", "/api/v1/import/addresses.csv", csv.into()).await;
    for (body, want) in [(json!({"by_station": true}), "no_stations"), (json!({"doors_per_hour": 40}), "bad_target")] {
        let (st, b) = call(&l.app, "POST", "/api/v1/turfs/cut", Some(&l.token), body.to_string().into()).await;
        assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, want), "{body}");
    }
    assert!(l.store.turf_summaries("lyon-2027").await.unwrap().is_empty());
    // Without the option, the building is cut.
    let cut = ok(&l, "POST", "/api/v1/turfs/cut", json!({}).to_string().into()).await;
    assert_eq!(cut["turfs"].as_array().unwrap().len(), 1);
}

/// On the Nantes network: the cut reports what it did, a turf nobody worked can be cut again with
/// new buildings, and a turf someone holds is never touched.
#[tokio::test]
async fn cut_along_streets_recut_and_report() {
    let l = lyon().await;
    let text = std::fs::read_to_string(repo_root().join("data/nantes/fr_nantes_centre_addresses.csv")).unwrap();
    let first: String = text.lines().take(1201).collect::<Vec<_>>().join("\n");
    ok(&l, "POST", "/api/v1/import/addresses.csv", first.into_bytes()).await;
    let streets = std::fs::read(repo_root().join("data/nantes/fr_nantes_centre_streets.geojson")).unwrap();
    ok(&l, "POST", "/api/v1/import/streets.geojson", streets).await;
    let cut =
        ok(&l, "POST", "/api/v1/turfs/cut", json!({"target_minutes": 120, "doors_per_hour": 40}).to_string().into())
            .await;
    assert_eq!(cut["target_doors"], 80);
    assert_eq!(cut["report"]["street_network"], true);
    assert_eq!(cut["report"]["disconnected"], 0, "{cut}");
    let turfs: Vec<String> = serde_json::from_value(cut["turfs"].clone()).unwrap();
    let within = cut["report"]["within_10pct"].as_u64().unwrap() as usize;
    assert!(within * 10 >= turfs.len() * 8, "{cut}");
    // Hold the first turf; re-cut the second with the next 200 addresses.
    l.store
        .create_user(&User {
            id: "v".into(),
            campaign_id: "lyon-2027".into(),
            role: Role::Volunteer,
            display_name: "V".into(),
            team_id: None,
        })
        .await
        .unwrap();
    l.store.assign_turf(&turfs[0], Some("v"), None).await.unwrap();
    let more: String = text.lines().take(1).chain(text.lines().skip(1201).take(200)).collect::<Vec<_>>().join("\n");
    ok(&l, "POST", "/api/v1/import/addresses.csv", more.into_bytes()).await;
    let held = l.store.turf_package(&turfs[0]).await.unwrap().unwrap();
    let (st, b) =
        call(&l.app, "POST", "/api/v1/turfs/cut", Some(&l.token), json!({"recut": [turfs[0]]}).to_string().into())
            .await;
    assert_eq!((st, code_of(&b).as_str()), (StatusCode::CONFLICT, "conflict"), "{}", String::from_utf8_lossy(&b));
    let again = ok(&l, "POST", "/api/v1/turfs/cut", json!({"recut": [turfs[1]]}).to_string().into()).await;
    assert_eq!(again["dissolved"], json!([turfs[1]]));
    assert!(again["buildings"].as_u64().unwrap() >= 200, "{again}");
    assert!(
        l.store.turf(&turfs[1]).await.unwrap().is_none()
            || again["turfs"].as_array().unwrap().contains(&json!(turfs[1]))
    );
    assert_eq!(l.store.turf_package(&turfs[0]).await.unwrap().unwrap(), held, "the held turf is untouched");
    assert!(l.store.cut_candidates("lyon-2027", &[]).await.unwrap().is_empty(), "every address is in a turf");
    // A bad target.
    for body in [
        json!({"target_doors": 1}),
        json!({"target_doors": 80, "target_minutes": 60}),
        json!({"target_minutes": 60, "doors_per_hour": 0}),
    ] {
        let (st, b) = call(&l.app, "POST", "/api/v1/turfs/cut", Some(&l.token), body.to_string().into()).await;
        assert_eq!((st, code_of(&b).as_str()), (StatusCode::BAD_REQUEST, "bad_target"), "{body}");
    }
}
