//! The differential test of the rule book: generated knocks — good ones and every kind of bad one
//! (unknown targets and codes, a person's result on a building, answers that do not fit the
//! script, control characters, long notes, bad positions, corrections of unknown reports or of
//! another door) — go through the real phone store and, when the phone accepts, through its real
//! sync to the real server; when the phone refuses, the same report is forged by hand and pushed
//! as a hostile phone would. The phone must refuse exactly what the server refuses.
//!
//! `DOORSTEP_PROPTEST_CASES` sets the number of batches (24 in CI).

use std::sync::Arc;

use doorstep_core::sync::{Transport, TransportError, sync_once};
use doorstep_core::views::ReceiptState;
use doorstep_core::{KnockInput, Store};
use doorstep_protocol::{
    Answer, AnswerValue, Hlc, KnockReport, PROTOCOL_VERSION, Position, PullRequest, PullResponse, PushRequest,
    PushResponse, Target,
};
use doorstep_server::service::Service;
use doorstep_server::store::StoreOps;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{Role, ServerStore, User};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The real router, in process.
struct InProcess {
    app: axum::Router,
    token: String,
}

impl InProcess {
    async fn post(&self, path: &str, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let (st, b) = doorstep_tests::call(&self.app, "POST", path, Some(&self.token), body).await;
        if st.is_success() { Ok(b) } else { Err(TransportError::Refused(format!("{st}"))) }
    }
}

impl Transport for InProcess {
    async fn push(&self, r: &PushRequest) -> Result<PushResponse, TransportError> {
        let b = self.post("/api/v1/sync/push", serde_json::to_vec(r).unwrap()).await?;
        Ok(serde_json::from_slice(&b).unwrap())
    }
    async fn pull(&self, r: &PullRequest) -> Result<PullResponse, TransportError> {
        let b = self.post("/api/v1/sync/pull", serde_json::to_vec(r).unwrap()).await?;
        Ok(serde_json::from_slice(&b).unwrap())
    }
}

struct World {
    phone: Store,
    net: InProcess,
    volunteer: String,
    turf: String,
    doors: Vec<String>,
    buildings: Vec<String>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let mut service = Service::new(store.clone());
    // Hundreds of pushes a second from one token: not what the rate limit is for here.
    service.rate_limits.token_burst = 1e9;
    service.rate_limits.token_per_s = 1e9;
    let (campaign, buildings, entrances, doors) = doorstep_tests::server_import(12);
    service.create_campaign(&campaign).await.unwrap();
    store.import(&campaign.id, &doorstep_tests::import_of(&buildings, &entrances, &doors)).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "t1", "T1", None, &ids).await.unwrap();
    let code = service.invite_volunteer(&campaign.id, "vol-a", "Léa").await.unwrap();
    store.assign_turf("t1", Some("vol-a"), None).await.unwrap();
    store
        .create_user(&User {
            id: "vol-b".into(),
            campaign_id: campaign.id.clone(),
            role: Role::Volunteer,
            display_name: "B".into(),
            team_id: None,
        })
        .await
        .unwrap();
    let phone = Store::open(dir.path().join("phone.db"), None).unwrap();
    let joined = service
        .join(doorstep_protocol::JoinRequest {
            protocol: PROTOCOL_VERSION,
            code,
            device_id: phone.device_id().to_string(),
        })
        .await
        .unwrap();
    let net = InProcess { app: doorstep_server::api::app(service), token: joined.token };
    let mut report = Default::default();
    sync_once(&phone, &net, &(), 1, &mut report).await.unwrap().unwrap();
    assert_eq!(phone.turfs().unwrap().len(), 1, "the phone holds its turf");
    World {
        phone,
        net,
        volunteer: "vol-a".into(),
        turf: "t1".into(),
        doors: doors.iter().map(|d| d.id.clone()).collect(),
        buildings: ids,
        _dir: dir,
    }
}

/// A knock as the generator draws it.
#[derive(Debug, Clone)]
struct Candidate {
    /// 0–2: a door of the turf; 3: its building; 4: a door that does not exist.
    target: u8,
    code: &'static str,
    answers: Vec<Answer>,
    note: Option<String>,
    position: Option<Position>,
    /// 0: none; 1: an earlier knock of this batch on the same target; 2: one on another target;
    /// 3: an id no one made.
    correction: u8,
}

fn answers() -> impl Strategy<Value = Vec<Answer>> {
    let a = |q: &str, v: AnswerValue| Answer { question_id: q.into(), value: v };
    prop_oneof![
        6 => Just(vec![]),
        2 => Just(vec![a("consent", AnswerValue::YesNo { value: false })]),
        2 => Just(vec![a("consent", AnswerValue::YesNo { value: true }), a("intent", AnswerValue::Choice { value: "oui".into() })]),
        2 => Just(vec![
            a("consent", AnswerValue::YesNo { value: true }),
            a("intent", AnswerValue::Choice { value: "non".into() }),
            a("why_not", AnswerValue::Text { value: "trop loin\ndu bureau".into() }),
        ]),
        // Hidden, unconsented, unknown, off-list, out of range, control characters.
        1 => Just(vec![
            a("consent", AnswerValue::YesNo { value: true }),
            a("intent", AnswerValue::Choice { value: "oui".into() }),
            a("why_not", AnswerValue::Text { value: "x".into() }),
        ]),
        1 => Just(vec![a("consent", AnswerValue::YesNo { value: false }), a("intent", AnswerValue::Choice { value: "oui".into() })]),
        1 => Just(vec![a("nope", AnswerValue::YesNo { value: true })]),
        1 => Just(vec![a("consent", AnswerValue::YesNo { value: true }), a("intent", AnswerValue::Choice { value: "peut-être".into() })]),
        1 => Just(vec![
            a("consent", AnswerValue::YesNo { value: true }),
            a("intent", AnswerValue::Choice { value: "oui".into() }),
            a("support", AnswerValue::Scale { value: 9 }),
        ]),
        1 => Just(vec![
            a("consent", AnswerValue::YesNo { value: true }),
            a("intent", AnswerValue::Choice { value: "non".into() }),
            a("why_not", AnswerValue::Text { value: "\u{1b}[2J".into() }),
        ]),
    ]
}

fn candidate() -> impl Strategy<Value = Candidate> {
    (
        0u8..5,
        prop_oneof![Just("not_home"), Just("hostile"), Just("contact_made"), Just("moved"), Just("no_such_code"),],
        answers(),
        prop_oneof![
            4 => Just(None),
            2 => Just(Some("chien au 12".to_string())),
            1 => Just(Some("   ".to_string())),
            1 => Just(Some("é".repeat(2001))),
            1 => Just(Some("bip\u{7}".to_string())),
        ],
        prop_oneof![
            3 => Just(None),
            3 => Just(Some(Position { lat: 47.2137, lon: -1.5575, accuracy_m: Some(12.0) })),
            1 => Just(Some(Position { lat: 91.0, lon: 0.0, accuracy_m: None })),
            1 => Just(Some(Position { lat: 47.2, lon: -1.5, accuracy_m: Some(-3.0) })),
        ],
        prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
    )
        .prop_map(|(target, code, answers, note, position, correction)| Candidate {
            target,
            code,
            answers,
            note,
            position,
            correction,
        })
}

impl World {
    fn target(&self, c: &Candidate) -> Target {
        match c.target {
            0..=2 => Target::Door { id: self.doors[c.target as usize].clone() },
            3 => Target::Building { id: self.buildings[0].clone() },
            _ => Target::Door { id: "no-such-door".into() },
        }
    }

    /// The report a hostile phone sends for what the phone refused: what the phone would have
    /// written, made by hand.
    fn forge(&self, c: &Candidate, target: Target, supersedes: Option<String>) -> KnockReport {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        KnockReport {
            id: uuid::Uuid::now_v7().to_string(),
            campaign_id: "nantes-2026".into(),
            turf_id: self.turf.clone(),
            target,
            result_code: c.code.into(),
            answers: c.answers.clone(),
            note: c.note.clone().filter(|n| !n.trim().is_empty()),
            safety_flags: vec![],
            supersedes,
            survey_version: 1,
            device_time_ms: now,
            hlc: Hlc { millis: now, counter: 0 },
            monotonic_ms: 1,
            position: c.position,
            plausibility: vec![],
            volunteer_id: self.volunteer.clone(),
            device_id: self.phone.device_id().to_string(),
            follow_up: None,
        }
    }

    /// Whether the server takes this report from this phone.
    async fn server_accepts(&self, r: KnockReport) -> Result<bool, String> {
        let req = PushRequest { protocol: PROTOCOL_VERSION, device_id: r.device_id.clone(), reports: vec![r] };
        let (st, b) = doorstep_tests::call(
            &self.net.app,
            "POST",
            "/api/v1/sync/push",
            Some(&self.net.token),
            serde_json::to_vec(&req).unwrap(),
        )
        .await;
        if !st.is_success() {
            return Ok(false);
        }
        let resp: PushResponse = serde_json::from_slice(&b).map_err(|e| e.to_string())?;
        Ok(resp.results[0].status == doorstep_protocol::ItemStatus::Accepted)
    }

    /// One batch: every candidate through the phone, then the phone's sync; each refusal forged.
    async fn run(&self, batch: &[Candidate]) -> Result<(), TestCaseError> {
        let mut made: Vec<(String, Target)> = Vec::new();
        let mut phone_ok: Vec<String> = Vec::new();
        for c in batch {
            let target = self.target(c);
            let input = KnockInput {
                target: target.clone(),
                result_code: c.code.into(),
                answers: c.answers.clone(),
                note: c.note.clone(),
                safety_flags: vec![],
                position: c.position,
                follow_up: None,
            };
            let supersedes = match c.correction {
                1 => made.iter().rev().find(|(_, t)| *t == target).map(|(id, _)| id.clone()),
                2 => made.iter().rev().find(|(_, t)| *t != target).map(|(id, _)| id.clone()),
                3 => Some(uuid::Uuid::now_v7().to_string()),
                _ => None,
            };
            let on_phone = match &supersedes {
                Some(orig) => self.phone.correct_knock(orig, input),
                None => self.phone.record_knock(input),
            };
            match on_phone {
                Ok(view) => {
                    made.push((view.id.clone(), target));
                    phone_ok.push(view.id);
                }
                Err(phone_err) => {
                    let forged = self.forge(c, target, supersedes);
                    let accepted = self.server_accepts(forged.clone()).await.map_err(TestCaseError::fail)?;
                    prop_assert!(!accepted, "the phone refused ({phone_err}) what the server accepted: {forged:?}");
                }
            }
        }
        let mut report = Default::default();
        sync_once(&self.phone, &self.net, &(), 1, &mut report)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for id in phone_ok {
            let receipt = self.phone.knock(&id).map_err(|e| TestCaseError::fail(e.to_string()))?.receipt;
            prop_assert_eq!(
                &receipt,
                &ReceiptState::Accepted,
                "the phone accepted {} but the server said {:?}",
                id,
                receipt
            );
        }
        Ok(())
    }
}

#[test]
fn the_phone_refuses_exactly_what_the_server_refuses() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let w = rt.block_on(world());
    let plain = doorstep_tests::knock_on(w.doors[0].clone(), "not_home");
    w.phone.record_knock(plain).expect("a plain knock is accepted by the phone");
    let cases = std::env::var("DOORSTEP_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let tried = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&proptest::collection::vec(candidate(), 1..8), |batch| {
            tried.fetch_add(batch.len(), std::sync::atomic::Ordering::Relaxed);
            rt.block_on(w.run(&batch))
        })
        .unwrap();
    // The generator reaches both sides of the rule book.
    let (kept, tried) = (w.phone.list_knocks(&w.turf).unwrap().len() - 1, tried.into_inner());
    assert!(kept > 0 && kept < tried, "the phone kept {kept} of {tried} candidates");
}
