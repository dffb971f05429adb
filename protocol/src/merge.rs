//! How a pushed batch is decided: the server's storage gathers the facts a batch needs
//! ([`BatchFacts`]), [`plan`] decides every report's fate, and the storage writes what was decided,
//! all in one transaction. The plan is pure, so every rule has a row in its case table below;
//! both server backends run it, so they cannot decide differently.
//!
//! The outcomes: accepted (counted, sent to other phones as door facts), accepted and flagged (an
//! overlap: the door's turf had moved on), duplicate (already held, the earlier copy stands), held
//! for review (from a revoked device: kept, not counted, until a captain accepts or discards it),
//! rejected with a reason.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::campaign::Campaign;
use crate::knock::{KnockReport, Target};
use crate::sync::ItemStatus;
use crate::validate::report::{Corrected, ReportError, check_report, report_time};

/// Who pushed: the token's device and user, as the server knows them (never as the body says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub device_id: String,
    pub user_id: String,
    pub campaign_id: String,
    /// The device was revoked by a captain or a coordinator.
    pub revoked: bool,
}

/// A report the server already holds (counted or held), as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub corrected: Corrected,
    /// [`body_hash`] of the report as it was pushed; `None` for reports stored before hashes were
    /// kept (a replay of one of those is taken as a duplicate).
    pub body_hash: Option<String>,
}

/// Where a target sits now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub building_id: String,
    pub door_id: Option<String>,
    pub turf_now: Option<String>,
    pub holder_now: Option<String>,
}

/// Everything [`plan`] needs to decide a batch, gathered by the storage inside the push's
/// transaction.
#[derive(Debug, Clone, Default)]
pub struct BatchFacts {
    pub sender: Option<Sender>,
    /// The server's clock when the batch arrived.
    pub received_ms: i64,
    /// The campaign at each survey version the batch names; a version missing here is unknown.
    pub campaigns: HashMap<u32, Campaign>,
    /// The campaign's retention date: after it no personal data is accepted.
    pub retention_until_ms: Option<i64>,
    /// Reports already held whose id the batch uses or names in `supersedes`.
    pub known: HashMap<String, Known>,
    /// Every target the batch names that exists in the sender's campaign.
    pub places: HashMap<Target, Place>,
    /// Turfs the sender's volunteer ever held.
    pub held_ever: HashSet<String>,
    /// `(building, turf)`: the building was in that turf before it moved.
    pub was_in: HashSet<(String, String)>,
    /// Turfs a captain's phone handed to the sender's volunteer with no network, by hand-offs the
    /// server accepted (`validate::handoff`): held, as if the captain had assigned them online.
    pub handed: HashSet<String>,
    /// Turfs handed to the sender's volunteer by hand-offs the server refused (a captain not
    /// entitled, a turf outside the session): knocks made under them are held for review.
    pub refused: HashSet<String>,
    /// Turfs whose paper walk sheets a captain or coordinator who reaches them is typing in from
    /// the dashboard (the service checked their reach): in scope like held turfs, and no overlap
    /// for being typed by someone who never held them.
    pub typed_for: HashSet<String>,
}

/// What the storage writes for a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The report as stored: without answers or note when the campaign is past retention.
    pub report: KnockReport,
    pub body_hash: String,
    pub building_id: String,
    pub door_id: Option<String>,
    pub person_id: Option<String>,
    /// The door's turf or holder had changed when the report arrived.
    pub overlap: bool,
    /// When the report counts as made ([`report_time`]).
    pub at_ms: i64,
    /// The device's clock was not believed: `at_ms` is the receipt time.
    pub clock_untrusted: bool,
    /// Answers or a note were dropped because the campaign is past its retention date.
    pub personal_dropped: bool,
    /// The voter's follow-up request, taken out of the stored report (issue 19).
    pub follow_up: Option<crate::FollowUp>,
}

/// Why a report is kept aside for a captain instead of counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// The device was revoked.
    Revoked,
    /// Made under a lease handed from a captain's phone that the server refused.
    LeaseRefused,
}

impl Held {
    /// What the device is told, and what the review list shows.
    pub fn reason(self) -> &'static str {
        match self {
            Held::Revoked => HELD_REVOKED,
            Held::LeaseRefused => HELD_LEASE_REFUSED,
        }
    }
}

/// One report's fate.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Accept(Write),
    /// Kept aside for a captain, not counted until one accepts it.
    Hold(Write, Held),
    Duplicate,
    Reject(ReportError),
}

/// Sent with an accepted report whose answers and note were dropped.
pub const NOTICE_PERSONAL_DROPPED: &str = "personal_data_dropped";
/// Sent with a report whose device clock was not believed.
pub const NOTICE_CLOCK: &str = "clock_untrusted";
/// Why a report is held.
pub const HELD_REVOKED: &str =
    "appareil révoqué : en attente de validation par un capitaine / device revoked: held for a captain's review";
/// Why a report made under a refused hand-off is held.
pub const HELD_LEASE_REFUSED: &str = "bail remis hors connexion refusé : en attente de validation par un capitaine / \
     lease handed offline was refused: held for a captain's review";

impl Decision {
    /// The answer the device gets, and a notice it may show.
    pub fn answer(&self) -> (ItemStatus, Option<String>) {
        match self {
            Decision::Accept(w) => {
                let notice = if w.personal_dropped {
                    Some(NOTICE_PERSONAL_DROPPED)
                } else if w.clock_untrusted {
                    Some(NOTICE_CLOCK)
                } else {
                    None
                };
                (ItemStatus::Accepted, notice.map(str::to_string))
            }
            Decision::Hold(_, why) => (ItemStatus::Held { reason: why.reason().into() }, None),
            Decision::Duplicate => (ItemStatus::Duplicate, None),
            Decision::Reject(e) => (ItemStatus::Rejected { reason: e.to_string(), code: Some(e.code().into()) }, None),
        }
    }
}

/// SHA-256 of the report as pushed (its canonical JSON), hex: the same id with another body is an
/// id conflict, never a silent duplicate.
pub fn body_hash(r: &KnockReport) -> String {
    let bytes = serde_json::to_vec(r).expect("a report serialises");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Decides every report of a batch, in order. A correction may name a report accepted earlier in
/// the same batch; since it must name one that is already held, corrections can never form a cycle.
pub fn plan(facts: &BatchFacts, reports: &[KnockReport]) -> Vec<Decision> {
    let mut in_batch: HashMap<&str, (String, Corrected)> = HashMap::new();
    reports
        .iter()
        .map(|r| {
            let hash = body_hash(r);
            let decision = decide(facts, &in_batch, r, &hash);
            if matches!(decision, Decision::Accept(_) | Decision::Hold(..)) {
                in_batch.insert(r.id.as_str(), (hash, Corrected::of(r)));
            }
            decision
        })
        .collect()
}

fn decide(facts: &BatchFacts, in_batch: &HashMap<&str, (String, Corrected)>, r: &KnockReport, hash: &str) -> Decision {
    // A replay is a duplicate whatever has changed since; the same id with another body is not.
    let held_hash = match (facts.known.get(&r.id), in_batch.get(r.id.as_str())) {
        (Some(k), _) => Some(k.body_hash.as_deref()),
        (None, Some((h, _))) => Some(Some(h.as_str())),
        (None, None) => None,
    };
    if let Some(h) = held_hash {
        return match h {
            Some(h) if h != hash => Decision::Reject(ReportError::IdConflict),
            _ => Decision::Duplicate,
        };
    }
    match decide_new(facts, in_batch, r, hash) {
        Ok(d) => d,
        Err(e) => Decision::Reject(e),
    }
}

fn decide_new(
    facts: &BatchFacts,
    in_batch: &HashMap<&str, (String, Corrected)>,
    r: &KnockReport,
    hash: &str,
) -> Result<Decision, ReportError> {
    let sender = facts.sender.as_ref().ok_or(ReportError::WrongSender)?;
    if r.device_id != sender.device_id || r.volunteer_id != sender.user_id {
        return Err(ReportError::WrongSender);
    }
    if r.campaign_id != sender.campaign_id {
        return Err(ReportError::WrongCampaign);
    }
    let campaign = facts.campaigns.get(&r.survey_version).ok_or(ReportError::UnknownSurveyVersion(r.survey_version))?;
    let corrected = r
        .supersedes
        .as_deref()
        .and_then(|s| facts.known.get(s).map(|k| &k.corrected).or_else(|| in_batch.get(s).map(|(_, c)| c)));
    check_report(campaign, r, corrected)?;
    let place = facts.places.get(&r.target).ok_or(ReportError::UnknownTarget)?;
    let was_in = place.turf_now.as_deref() == Some(r.turf_id.as_str())
        || facts.was_in.contains(&(place.building_id.clone(), r.turf_id.clone()));
    let typed = facts.typed_for.contains(&r.turf_id);
    let held = facts.held_ever.contains(&r.turf_id) || facts.handed.contains(&r.turf_id) || typed;
    // A lease the captain was not entitled to give: what was done under it is kept for review.
    let under_refused = !held && facts.refused.contains(&r.turf_id);
    if !(held || under_refused) || !was_in {
        return Err(ReportError::OutOfScope);
    }
    // A street handed from a captain's phone moves to a turf of the volunteer's own when the
    // server records it: its knocks, made under the session's turf, are no overlap.
    let moved_with_lease = facts.handed.contains(&r.turf_id);
    let overlap = if typed {
        place.turf_now.as_deref() != Some(r.turf_id.as_str())
    } else {
        place.holder_now.as_deref() != Some(sender.user_id.as_str())
            || (place.turf_now.as_deref() != Some(r.turf_id.as_str()) && !moved_with_lease)
    };
    let mut stored = r.clone();
    // A follow-up's number is kept apart from the report (the server's follow-up list), never in it.
    let mut follow_up = stored.follow_up.take();
    let past_retention = facts.retention_until_ms.is_some_and(|t| facts.received_ms >= t);
    let personal_dropped =
        past_retention && (!stored.answers.is_empty() || stored.note.is_some() || follow_up.is_some());
    if past_retention {
        stored.answers.clear();
        stored.note = None;
        follow_up = None;
    }
    let (at_ms, clock_untrusted) = report_time(r.hlc.millis, facts.received_ms);
    let write = Write {
        report: stored,
        body_hash: hash.to_string(),
        building_id: place.building_id.clone(),
        door_id: place.door_id.clone(),
        person_id: matches!(r.target, Target::Person { .. }).then(|| r.target.id().to_string()),
        overlap,
        at_ms,
        clock_untrusted,
        personal_dropped,
        follow_up,
    };
    Ok(if sender.revoked {
        Decision::Hold(write, Held::Revoked)
    } else if under_refused {
        Decision::Hold(write, Held::LeaseRefused)
    } else {
        Decision::Accept(write)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::{CampaignMode, Question, QuestionKind, SurveyScript, default_result_codes};
    use crate::knock::{Answer, AnswerValue, Hlc};

    const NOW: i64 = 1_760_000_000_000;

    fn id(n: u32) -> String {
        format!("0192f0c4-1d2e-7a3b-8c4d-{n:012x}")
    }

    fn campaign() -> Campaign {
        Campaign {
            id: "c1".into(),
            name: "C".into(),
            mode: CampaignMode::AddressOnly,
            result_codes: default_result_codes(),
            survey: SurveyScript {
                version: 1,
                consent_question_id: None,
                questions: vec![Question {
                    id: "q".into(),
                    text_fr: "q".into(),
                    text_en: "q".into(),
                    kind: QuestionKind::FreeText,
                    required: false,
                    personal: false,
                    show_when: None,
                }],
            },
            retention_until_ms: None,
        }
    }

    fn door(d: &str) -> Target {
        Target::Door { id: d.into() }
    }

    fn report(n: u32, target: Target) -> KnockReport {
        KnockReport {
            id: id(n),
            campaign_id: "c1".into(),
            turf_id: "t1".into(),
            target,
            result_code: "not_home".into(),
            answers: vec![],
            note: None,
            safety_flags: vec![],
            supersedes: None,
            survey_version: 1,
            device_time_ms: NOW - 60_000,
            hlc: Hlc { millis: NOW - 60_000, counter: 0 },
            monotonic_ms: 1,
            position: None,
            plausibility: vec![],
            volunteer_id: "v1".into(),
            device_id: "dev1".into(),
            follow_up: None,
        }
    }

    fn place(building: &str, turf: Option<&str>, holder: Option<&str>) -> Place {
        Place {
            building_id: building.into(),
            door_id: Some(format!("{building}-d")),
            turf_now: turf.map(Into::into),
            holder_now: holder.map(Into::into),
        }
    }

    /// v1 holds t1 (doors d1, d2 in b1, b2); d3 is in t2, held by v2, never by v1; d4 moved from
    /// t1 to t2; a report of v2 on d1 is stored.
    fn facts() -> BatchFacts {
        let mut f = BatchFacts {
            sender: Some(Sender {
                device_id: "dev1".into(),
                user_id: "v1".into(),
                campaign_id: "c1".into(),
                revoked: false,
            }),
            received_ms: NOW,
            campaigns: HashMap::from([(1, campaign())]),
            held_ever: HashSet::from(["t1".to_string()]),
            was_in: HashSet::from([("b4".to_string(), "t1".to_string())]),
            ..Default::default()
        };
        f.places.insert(door("d1"), place("b1", Some("t1"), Some("v1")));
        f.places.insert(door("d2"), place("b2", Some("t1"), Some("v1")));
        f.places.insert(door("d3"), place("b3", Some("t2"), Some("v2")));
        f.places.insert(door("d4"), place("b4", Some("t2"), Some("v2")));
        f.places.insert(
            Target::Building { id: "b1".into() },
            Place { door_id: None, ..place("b1", Some("t1"), Some("v1")) },
        );
        let theirs = KnockReport { volunteer_id: "v2".into(), device_id: "dev2".into(), ..report(900, door("d1")) };
        f.known.insert(id(900), Known { corrected: Corrected::of(&theirs), body_hash: Some(body_hash(&theirs)) });
        let mine = report(901, door("d1"));
        f.known.insert(id(901), Known { corrected: Corrected::of(&mine), body_hash: Some(body_hash(&mine)) });
        f
    }

    fn kind(d: &Decision) -> String {
        match d {
            Decision::Accept(w) if w.overlap => "accepted, overlap".into(),
            Decision::Accept(w) if w.personal_dropped => "accepted, personal data dropped".into(),
            Decision::Accept(w) if w.clock_untrusted => "accepted, clock untrusted".into(),
            Decision::Accept(_) => "accepted".into(),
            Decision::Hold(_, Held::Revoked) => "held".into(),
            Decision::Hold(_, Held::LeaseRefused) => "held: lease refused".into(),
            Decision::Duplicate => "duplicate".into(),
            Decision::Reject(e) => format!("rejected: {}", e.code()),
        }
    }

    /// One row per rule: (name, how the facts differ, the batch, the outcome of each report).
    #[test]
    fn case_table() {
        type Tweak = fn(&mut BatchFacts);
        let keep: Tweak = |_| {};
        let with = |n: u32, t: Target, f: &dyn Fn(&mut KnockReport)| {
            let mut r = report(n, t);
            f(&mut r);
            r
        };
        let mine_again = report(901, door("d1"));
        let cases: Vec<(&str, Tweak, Vec<KnockReport>, Vec<&str>)> = vec![
            ("a knock on one's own turf", keep, vec![report(1, door("d1"))], vec!["accepted"]),
            ("a building-level knock", keep, vec![report(1, Target::Building { id: "b1".into() })], vec!["accepted"]),
            ("a replay", keep, vec![mine_again.clone()], vec!["duplicate"]),
            (
                "the same report twice in a batch",
                keep,
                vec![report(1, door("d1")), report(1, door("d1"))],
                vec!["accepted", "duplicate"],
            ),
            (
                "the same id, another body",
                keep,
                vec![with(901, door("d1"), &|r| r.result_code = "refused".into())],
                vec!["rejected: id_conflict"],
            ),
            (
                "the same id, another body, in one batch",
                keep,
                vec![report(1, door("d1")), with(1, door("d2"), &|_| {})],
                vec!["accepted", "rejected: id_conflict"],
            ),
            (
                "a replay of a report stored before hashes",
                |f| f.known.get_mut(&id(901)).unwrap().body_hash = None,
                vec![with(901, door("d1"), &|r| r.result_code = "refused".into())],
                vec!["duplicate"],
            ),
            (
                "uppercase id",
                keep,
                vec![with(1, door("d1"), &|r| r.id = r.id.to_uppercase())],
                vec!["rejected: bad_id"],
            ),
            (
                "made by another device",
                keep,
                vec![with(1, door("d1"), &|r| r.device_id = "dev2".into())],
                vec!["rejected: wrong_sender"],
            ),
            (
                "made by another volunteer",
                keep,
                vec![with(1, door("d1"), &|r| r.volunteer_id = "v2".into())],
                vec!["rejected: wrong_sender"],
            ),
            (
                "for another campaign",
                keep,
                vec![with(1, door("d1"), &|r| r.campaign_id = "c2".into())],
                vec!["rejected: wrong_campaign"],
            ),
            (
                "an unknown script version",
                keep,
                vec![with(1, door("d1"), &|r| r.survey_version = 7)],
                vec!["rejected: unknown_survey_version"],
            ),
            (
                "unknown result code",
                keep,
                vec![with(1, door("d1"), &|r| r.result_code = "x".into())],
                vec!["rejected: unknown_result_code"],
            ),
            ("unknown target", keep, vec![report(1, door("d9"))], vec!["rejected: unknown_target"]),
            (
                "a turf never held",
                keep,
                vec![with(1, door("d3"), &|r| r.turf_id = "t2".into())],
                vec!["rejected: out_of_scope"],
            ),
            ("a door never in the turf named", keep, vec![report(1, door("d3"))], vec!["rejected: out_of_scope"]),
            ("a door moved away since", keep, vec![report(1, door("d4"))], vec!["accepted, overlap"]),
            (
                "a turf returned since",
                |f| f.places.get_mut(&door("d1")).unwrap().holder_now = None,
                vec![report(1, door("d1"))],
                vec!["accepted, overlap"],
            ),
            (
                "a correction of one's own report",
                keep,
                vec![with(1, door("d1"), &|r| r.supersedes = Some(id(901)))],
                vec!["accepted"],
            ),
            (
                "a correction of another volunteer's report",
                keep,
                vec![with(1, door("d1"), &|r| r.supersedes = Some(id(900)))],
                vec!["rejected: supersedes_other"],
            ),
            (
                "a correction naming an unknown report",
                keep,
                vec![with(1, door("d1"), &|r| r.supersedes = Some(id(77)))],
                vec!["rejected: supersedes_unknown"],
            ),
            (
                "a correction naming a non-UUID",
                keep,
                vec![with(1, door("d1"), &|r| r.supersedes = Some("not-a-uuid".into()))],
                vec!["rejected: supersedes_unknown"],
            ),
            (
                "a correction naming itself",
                keep,
                vec![with(1, door("d1"), &|r| r.supersedes = Some(id(1)))],
                vec!["rejected: supersedes_itself"],
            ),
            (
                "a correction of another target",
                keep,
                vec![with(1, door("d2"), &|r| r.supersedes = Some(id(901)))],
                vec!["rejected: correction_target_mismatch"],
            ),
            (
                "a correction of a report earlier in the batch",
                keep,
                vec![report(1, door("d2")), with(2, door("d2"), &|r| r.supersedes = Some(id(1)))],
                vec!["accepted", "accepted"],
            ),
            (
                "a cycle of corrections",
                keep,
                vec![
                    with(1, door("d2"), &|r| r.supersedes = Some(id(2))),
                    with(2, door("d2"), &|r| r.supersedes = Some(id(1))),
                ],
                vec!["rejected: supersedes_unknown", "rejected: supersedes_unknown"],
            ),
            (
                "from a revoked device",
                |f| f.sender.as_mut().unwrap().revoked = true,
                vec![report(1, door("d1")), mine_again.clone()],
                vec!["held", "duplicate"],
            ),
            (
                "from a revoked device, out of scope",
                |f| f.sender.as_mut().unwrap().revoked = true,
                vec![report(1, door("d3"))],
                vec!["rejected: out_of_scope"],
            ),
            (
                "past retention, with a note",
                |f| f.retention_until_ms = Some(NOW - 1),
                vec![with(1, door("d1"), &|r| {
                    r.result_code = "contact_made".into();
                    r.note = Some("vote X".into());
                    r.answers =
                        vec![Answer { question_id: "q".into(), value: AnswerValue::Text { value: "X".into() } }];
                })],
                vec!["accepted, personal data dropped"],
            ),
            (
                "past retention, nothing personal",
                |f| f.retention_until_ms = Some(NOW - 1),
                vec![report(1, door("d1"))],
                vec!["accepted"],
            ),
            (
                "before retention",
                |f| f.retention_until_ms = Some(NOW + 1),
                vec![with(1, door("d1"), &|r| r.note = Some("chien".into()))],
                vec!["accepted"],
            ),
            (
                "a clock a year ahead",
                keep,
                vec![with(1, door("d1"), &|r| r.hlc.millis = NOW + 365 * 86_400_000)],
                vec!["accepted, clock untrusted"],
            ),
            (
                "a NUL in the note",
                keep,
                vec![with(1, door("d1"), &|r| r.note = Some("\u{0}".into()))],
                vec!["rejected: bad_text"],
            ),
            ("no sender", |f| f.sender = None, vec![report(1, door("d1"))], vec!["rejected: wrong_sender"]),
            (
                "a paper sheet of t2 typed in by staff who reach it: in scope, no overlap",
                |f| {
                    f.typed_for.insert("t2".into());
                },
                vec![with(1, door("d3"), &|r| r.turf_id = "t2".into())],
                vec!["accepted"],
            ),
            (
                "a paper row naming another turf than the sheet typed in",
                |f| {
                    f.typed_for.insert("t2".into());
                },
                vec![with(1, door("d3"), &|r| r.turf_id = "t3".into())],
                vec!["rejected: out_of_scope"],
            ),
            (
                "a turf handed from a captain's phone, accepted",
                |f| {
                    f.handed.insert("t2".into());
                    f.places.get_mut(&door("d3")).unwrap().holder_now = Some("v1".into());
                },
                vec![with(1, door("d3"), &|r| r.turf_id = "t2".into())],
                vec!["accepted"],
            ),
            (
                "a street handed from a captain's phone, moved to the volunteer's own turf since",
                |f| {
                    f.handed.insert("t2".into());
                    *f.places.get_mut(&door("d3")).unwrap() = place("b3", Some("t9"), Some("v1"));
                    f.was_in.insert(("b3".into(), "t2".into()));
                },
                vec![with(1, door("d3"), &|r| r.turf_id = "t2".into())],
                vec!["accepted"],
            ),
            (
                "a turf handed from a captain's phone, handed to someone else since",
                |f| {
                    f.handed.insert("t2".into());
                },
                vec![with(1, door("d3"), &|r| r.turf_id = "t2".into())],
                vec!["accepted, overlap"],
            ),
            (
                "a turf handed by a hand-off the server refused",
                |f| {
                    f.refused.insert("t2".into());
                },
                vec![with(1, door("d3"), &|r| r.turf_id = "t2".into()), report(2, door("d1"))],
                vec!["held: lease refused", "accepted"],
            ),
            (
                "a refused hand-off's turf, a door never in it",
                |f| {
                    f.refused.insert("t2".into());
                },
                vec![with(1, door("d1"), &|r| r.turf_id = "t2".into())],
                vec!["rejected: out_of_scope"],
            ),
            (
                "a refused hand-off, from a revoked device",
                |f| {
                    f.refused.insert("t2".into());
                    f.sender.as_mut().unwrap().revoked = true;
                },
                vec![with(1, door("d3"), &|r| r.turf_id = "t2".into())],
                vec!["held"],
            ),
        ];
        for (name, tweak, batch, want) in cases {
            let mut f = facts();
            tweak(&mut f);
            let got: Vec<String> = plan(&f, &batch).iter().map(kind).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn what_is_written() {
        let mut f = facts();
        f.retention_until_ms = Some(NOW);
        let mut r = report(1, Target::Person { id: "p1".into() });
        r.note = Some("vote X".into());
        r.hlc.millis = 4_070_908_800_000;
        f.places.insert(r.target.clone(), place("b1", Some("t1"), Some("v1")));
        let Some(Decision::Accept(w)) = plan(&f, std::slice::from_ref(&r)).pop() else { panic!("not accepted") };
        assert_eq!(w.report.note, None);
        assert_eq!(w.body_hash, body_hash(&r), "the hash is of what was pushed");
        assert_eq!((w.at_ms, w.clock_untrusted), (NOW, true));
        assert_eq!(w.person_id.as_deref(), Some("p1"));
        assert_eq!(w.report.hlc, r.hlc, "the report is kept as sent");
        let (status, notice) = Decision::Accept(w).answer();
        assert_eq!((status, notice.as_deref()), (ItemStatus::Accepted, Some(NOTICE_PERSONAL_DROPPED)));
    }

    #[test]
    fn a_follow_up_is_kept_apart_from_the_report_and_dropped_past_retention() {
        let follow = crate::FollowUp { number: "06 12 34 56 78".into(), consent_text: "J'accepte.".into() };
        let mut f = facts();
        let mut r = report(1, door("d1"));
        r.follow_up = Some(follow.clone());
        f.places.insert(r.target.clone(), place("b1", Some("t1"), Some("v1")));
        let Some(Decision::Accept(w)) = plan(&f, std::slice::from_ref(&r)).pop() else { panic!("not accepted") };
        assert_eq!((w.report.follow_up.as_ref(), w.follow_up.as_ref()), (None, Some(&follow)), "apart");
        assert_eq!(w.body_hash, body_hash(&r), "the hash is of what was pushed");
        f.retention_until_ms = Some(NOW - 1);
        let Some(Decision::Accept(w)) = plan(&f, std::slice::from_ref(&r)).pop() else { panic!("not accepted") };
        assert_eq!((w.follow_up, w.personal_dropped), (None, true), "past retention: nothing personal kept");
    }
}
