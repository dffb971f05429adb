//! Property: incremental pull equals full pull. For any sequence of street moves between three
//! turfs (two held by the same volunteer), lease changes, and pulls at arbitrary points, a phone
//! that followed by deltas holds exactly what a fresh phone gets from one full pull: the same turfs,
//! each with the same checksum.

use std::sync::Arc;

use doorstep_core::Store;
use doorstep_protocol::{PROTOCOL_VERSION, PullRequest};
use doorstep_server::admin::{AssignRequest, ReassignRequest};
use doorstep_server::people::InviteRequest;
use doorstep_server::service::{DeviceSession, Service};
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore};
use proptest::prelude::*;

const TURFS: [&str; 3] = ["t1", "t2", "t3"];

#[derive(Debug, Clone)]
enum Op {
    /// Move the `nth` street of turf `from` to turf `to`.
    Move { from: usize, to: usize, nth: usize },
    /// Give turf `turf` a lease of `days` (or none) for vol-a.
    Lease { turf: usize, days: Option<u32> },
    /// The following phone pulls now.
    Pull,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..3usize, 0..20usize).prop_map(|(from, to, nth)| Op::Move { from, to, nth }),
        1 => (0..2usize, proptest::option::of(1..60u32)).prop_map(|(turf, days)| Op::Lease { turf, days }),
        3 => Just(Op::Pull),
    ]
}

async fn pull(service: &Service, dev: &DeviceSession, store: &Store) {
    let held = store.held_turfs().unwrap();
    let r = service.pull(dev, PullRequest { protocol: PROTOCOL_VERSION, cursor: None, held }).await.unwrap();
    store.apply_pull(&r).unwrap();
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let service = Service::new(store.clone());
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(30);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let co = doorstep_tests::coordinator(&campaign.id);
    store.create_user(&co.user).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    for (i, t) in TURFS.iter().enumerate() {
        store.create_turf(&campaign.id, t, t, None, &ids[i * 10..(i + 1) * 10]).await.unwrap();
    }
    let invite = InviteRequest {
        email: None,
        name: "A".into(),
        user_id: Some("vol-a".into()),
        role: Role::Volunteer,
        team_id: None,
    };
    let code = service.invite(&co, invite).await.unwrap().join_code.unwrap();
    for t in &TURFS[..2] {
        service.assign(&co, t, AssignRequest { volunteer_id: "vol-a".into(), lease_days: None }).await.unwrap();
    }
    let follower = Store::open(dir.path().join("follower.db"), None).unwrap();
    let join = doorstep_protocol::JoinRequest {
        protocol: PROTOCOL_VERSION,
        code,
        device_id: follower.device_id().to_string(),
    };
    let token = service.join(join).await.unwrap().token;
    let dev = service.authenticate(&token).await.unwrap();
    pull(&service, &dev, &follower).await;
    for op in ops {
        match op {
            Op::Move { from, to, nth } => {
                let pkg = store.turf_package(TURFS[from]).await.unwrap().unwrap();
                let mut streets: Vec<String> = pkg.buildings.iter().map(|b| b.street.clone()).collect();
                streets.sort();
                streets.dedup();
                if from != to && !streets.is_empty() {
                    let req = ReassignRequest {
                        turf_id: Some(TURFS[from].into()),
                        street: Some(streets[nth % streets.len()].clone()),
                        to_turf: Some(TURFS[to].into()),
                        ..Default::default()
                    };
                    service.reassign(&co, req).await.unwrap();
                }
            }
            Op::Lease { turf, days } => {
                let req = AssignRequest { volunteer_id: "vol-a".into(), lease_days: days };
                service.assign(&co, TURFS[turf], req).await.unwrap();
            }
            Op::Pull => pull(&service, &dev, &follower).await,
        }
    }
    pull(&service, &dev, &follower).await;
    let fresh = Store::open(dir.path().join("fresh.db"), None).unwrap();
    pull(&service, &dev, &fresh).await;
    let held = |s: &Store| {
        let mut t: Vec<String> = s.turfs().unwrap().into_iter().map(|t| t.id).collect();
        t.sort();
        t
    };
    assert_eq!(held(&follower), held(&fresh));
    for t in held(&fresh) {
        let (a, b) = (follower.export_turf(&t).unwrap(), fresh.export_turf(&t).unwrap());
        assert_eq!(doorstep_protocol::turf_checksum(&a), doorstep_protocol::turf_checksum(&b), "turf {t}");
        assert_eq!(a.turf.lease_expires_ms, b.turf.lease_expires_ms);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("DOORSTEP_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        ..ProptestConfig::default()
    })]
    #[test]
    fn incremental_pull_equals_full_pull(ops in proptest::collection::vec(op(), 1..14)) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(ops));
    }
}
