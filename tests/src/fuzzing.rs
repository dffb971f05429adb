//! Fuzz targets for every decoder: each takes arbitrary bytes and must never panic (a clear error
//! is the right answer to garbage). Run for real by cargo-fuzz (`fuzz/`, `scripts/fuzz.sh`), and in
//! short form in CI by `tests/tests/fuzz_short.rs` over the seed corpus in `fuzz/corpus/` and
//! seeded mutations of it. A crash found becomes a file in `fuzz/regressions/<target>/`, which the
//! short form replays forever.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use doorstep_core::Store;
use doorstep_protocol::{CampaignMode, PullResponse, PushRequest};
use doorstep_server::store::StoreOps;

/// A fuzz target: any bytes in, never a panic.
pub type Target = fn(&[u8]);

/// Every target by name, as the corpus folders are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("push_request", push_request),
    ("server_push", server_push),
    ("pull_response", pull_response),
    ("turf_package", turf_package),
    ("addresses_csv", addresses_csv),
    ("addresses_geojson", addresses_geojson),
    ("streets_geojson", streets_geojson),
    ("results_csv", results_csv),
    ("stations_geojson", stations_geojson),
];

/// A push as the server decodes it, then the shared checks on every report.
pub fn push_request(data: &[u8]) {
    if let Ok(req) = serde_json::from_slice::<PushRequest>(data) {
        for r in &req.reports {
            if let Some(p) = &r.position {
                let _ = doorstep_protocol::validate::validate_position(p);
            }
            let _ = serde_json::to_vec(r).expect("a decoded report encodes again");
        }
    }
}

struct Server {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

fn server() -> &'static Mutex<Server> {
    static S: OnceLock<Mutex<Server>> = OnceLock::new();
    S.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (app, token) = rt.block_on(async {
            use doorstep_server::store::ServerStore;
            let store: std::sync::Arc<dyn ServerStore> =
                std::sync::Arc::new(doorstep_server::store::sqlite::SqliteStore::open(dir.path().join("s.db")).unwrap());
            let service = doorstep_server::service::Service::new(store.clone());
            let (campaign, b, e, d) = crate::server_import(20);
            service.create_campaign(&campaign).await.unwrap();
            store.import(&campaign.id, &crate::import_of(&b, &e, &d)).await.unwrap();
            let ids: Vec<String> = b.iter().map(|b| b.id.clone()).collect();
            store.create_turf(&campaign.id, "fz", "Fuzz", None, &ids).await.unwrap();
            let staff = crate::coordinator(&campaign.id);
            store.create_user(&staff.user).await.unwrap();
            let invite = doorstep_server::people::InviteRequest { email: None,
                name: "V".into(),
                user_id: Some("vol".into()),
                role: doorstep_server::store::Role::Volunteer,
                team_id: None,
            };
            let code = service.invite(&staff, invite).await.unwrap().join_code.unwrap();
            store.assign_turf("fz", Some("vol"), None).await.unwrap();
            let app = doorstep_server::api::app(service);
            let join = serde_json::json!({"protocol": doorstep_protocol::PROTOCOL_VERSION, "code": code, "device_id": "00000000-0000-7000-8000-00000000f022"});
            let (status, body) = crate::call(&app, "POST", "/api/v1/join", None, serde_json::to_vec(&join).unwrap()).await;
            assert!(status.is_success(), "{}", String::from_utf8_lossy(&body));
            let token = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_string();
            (app, token)
        });
        Mutex::new(Server { rt, app, token, _dir: dir })
    })
}

/// A push through the real router on a real SQLite file: any answer but a 5xx.
pub fn server_push(data: &[u8]) {
    let s = server().lock().unwrap_or_else(|e| e.into_inner());
    let (status, body) = s.rt.block_on(crate::call(&s.app, "POST", "/api/v1/sync/push", Some(&s.token), data.to_vec()));
    assert!(!status.is_server_error(), "push answered {status}: {}", String::from_utf8_lossy(&body));
}

fn phone() -> &'static Mutex<(Store, tempfile::TempDir)> {
    static P: OnceLock<Mutex<(Store, tempfile::TempDir)>> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("phone.db"), None).unwrap();
        store.apply_turf_package_value(&crate::turf_package("fz", 10)).unwrap();
        Mutex::new((store, dir))
    })
}

/// The server's pull answer as the phone applies it (to a store holding a turf).
pub fn pull_response(data: &[u8]) {
    let p = phone().lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(resp) = serde_json::from_slice::<PullResponse>(data) {
        if resp.wipe {
            return; // a wipe is legitimate and would empty the store for later inputs
        }
        let _ = p.0.apply_pull(&resp);
    }
}

/// Turf packages, deltas and push acknowledgements as the phone decodes them.
pub fn turf_package(data: &[u8]) {
    let p = phone().lock().unwrap_or_else(|e| e.into_inner());
    let _ = p.0.apply_turf_package(data);
    let _ = p.0.apply_turf_delta(data);
    let _ = p.0.apply_push_response_bytes(data);
}

pub fn addresses_csv(data: &[u8]) {
    for mode in [CampaignMode::AddressOnly, CampaignMode::VoterFile] {
        let _ = doorstep_server::import::parse_csv(data, &HashMap::new(), "c", mode);
    }
}

pub fn addresses_geojson(data: &[u8]) {
    let _ = doorstep_server::import::parse_geojson(data, &HashMap::new(), "c", CampaignMode::AddressOnly);
}

/// Street networks: decoded, then built into a graph, snapped to and searched.
pub fn streets_geojson(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok((net, _)) = doorstep_core::streets::network_from_geojson(&v)
        && let Some(g) = doorstep_core::streets::StreetGraph::new(&net)
    {
        let (lat, lon) = net.nodes.first().map_or((47.2, -1.55), |n| (n[1], n[0]));
        let a = g.snap(lat, lon);
        let b = g.snap(lat + 0.001, lon - 0.001);
        let _ = g.matrix(&[a, b]);
    }
}

pub fn results_csv(data: &[u8]) {
    let _ = doorstep_server::targeting::parse_results(data, &HashMap::new());
}

/// Polling-station boundaries: every geometry measured and tested against a point.
pub fn stations_geojson(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for f in v["features"].as_array().into_iter().flatten() {
        if let Some(a) = doorstep_server::targeting::Area::of(&f["geometry"]) {
            let (lon, lat) = ((a.bbox.0 + a.bbox.2) / 2.0, (a.bbox.1 + a.bbox.3) / 2.0);
            let _ = a.contains(lat, lon);
            let _ = a.depth(lat, lon);
        }
    }
}

/// A small deterministic mutator for the short form: flips, inserts, deletes, duplicates and
/// splices bytes, and swaps in "interesting" tokens (numbers at the edges, quotes, separators).
pub fn mutate(seed: u64, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    const TOKENS: &[&[u8]] = &[
        b"-1",
        b"1e309",
        b"NaN",
        b"\"\"",
        b"null",
        b"[]",
        b"{}",
        b"\"",
        b",",
        b";",
        b"\n",
        b"\xff\xfe",
        b"9999999999999999999999",
        b"-90.0000001",
        b"180.5",
        b"\"door\"",
        b"\0",
        b"\"protocol\":999",
    ];
    let mut out = input.to_vec();
    for _ in 0..1 + next() % 4 {
        let at = if out.is_empty() { 0 } else { (next() as usize) % out.len() };
        match next() % 6 {
            0 if !out.is_empty() => out[at] ^= 1 << (next() % 8),
            1 => out.insert(at, next() as u8),
            2 if !out.is_empty() => {
                let end = (at + 1 + (next() as usize) % 16).min(out.len());
                out.drain(at..end);
            }
            3 => {
                let t = TOKENS[(next() as usize) % TOKENS.len()];
                out.splice(at..at, t.iter().copied());
            }
            4 if !other.is_empty() => {
                let from = (next() as usize) % other.len();
                let end = (from + 1 + (next() as usize) % 64).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => out.truncate(at),
        }
    }
    out
}
