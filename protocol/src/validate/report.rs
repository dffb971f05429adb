//! Whether a knock report may be written: the one `check_report` the phone runs before it records a
//! knock and the server runs (through [`crate::merge::plan`]) before it stores one. A report the
//! phone accepted is never refused by the server for a reason the phone could have seen, and a
//! report forged by a hostile phone is refused for the same reasons.
//!
//! Also here, because both sides need them the same way: the form of a report id, the bounds
//! within which a device's clock is believed, and the building → door fan-out of reports.

use crate::campaign::{Campaign, ResultLevel};
use crate::knock::{KnockReport, Target};
use crate::validate::answers::{ValidationError, validate_answers, validate_position};
use crate::validate::text::{TextError, TextKind, check_text};

/// What the report a correction names was, as far as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrected {
    pub volunteer_id: String,
    pub campaign_id: String,
    pub target: Target,
}

impl Corrected {
    pub fn of(r: &KnockReport) -> Self {
        Self { volunteer_id: r.volunteer_id.clone(), campaign_id: r.campaign_id.clone(), target: r.target.clone() }
    }
}

/// Why a report is refused. Each has a stable [`ReportError::code`] that the server sends to the
/// phone beside the message, so that the app can act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("l'identifiant n'est pas un UUIDv7 en minuscules / id must be a lowercase UUIDv7")]
    BadId,
    #[error("rapport d'une autre campagne / report for another campaign")]
    WrongCampaign,
    #[error("rapport fait par un autre appareil ou bénévole / report made by another device or volunteer")]
    WrongSender,
    #[error("code de résultat inconnu / unknown result code")]
    UnknownResultCode,
    #[error("result code {code:?} is for a person and cannot be recorded on a {target_kind}")]
    LevelMismatch { code: String, target_kind: &'static str },
    #[error("version {0} du questionnaire inconnue / unknown survey version")]
    UnknownSurveyVersion(u32),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("une correction ne peut pas se corriger elle-même / a report cannot supersede itself")]
    SupersedesItself,
    #[error("la correction vise un rapport inconnu / a correction must name an existing report")]
    SupersedesUnknown,
    #[error(
        "une correction ne vise que ses propres rapports / a correction may only name a report of the same volunteer and campaign"
    )]
    SupersedesOther,
    #[error("a correction must be for the same target as the report it corrects")]
    CorrectionTargetMismatch,
    #[error("horloge hors limites / device clock out of range")]
    BadClock,
    #[error("même identifiant, contenu différent / this id was already used for a different report")]
    IdConflict,
    #[error("cible inconnue dans cette campagne / unknown target")]
    UnknownTarget,
    #[error("porte hors de vos secteurs / door outside any turf you held")]
    OutOfScope,
    #[error("numéro du suivi par SMS illisible (un numéro français) / the follow-up's number is not a French number")]
    BadFollowUpNumber,
    #[error("suivi par SMS sans le texte du consentement / a follow-up needs the consent text the voter agreed to")]
    FollowUpWithoutConsent,
}

impl ReportError {
    /// The stable machine-readable code sent with a rejection.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::BadId => "bad_id",
            ReportError::WrongCampaign => "wrong_campaign",
            ReportError::WrongSender => "wrong_sender",
            ReportError::UnknownResultCode => "unknown_result_code",
            ReportError::LevelMismatch { .. } => "level_mismatch",
            ReportError::UnknownSurveyVersion(_) => "unknown_survey_version",
            ReportError::Invalid(_) => "invalid_answers",
            ReportError::Text(_) => "bad_text",
            ReportError::SupersedesItself => "supersedes_itself",
            ReportError::SupersedesUnknown => "supersedes_unknown",
            ReportError::SupersedesOther => "supersedes_other",
            ReportError::CorrectionTargetMismatch => "correction_target_mismatch",
            ReportError::BadClock => "bad_clock",
            ReportError::IdConflict => "id_conflict",
            ReportError::UnknownTarget => "unknown_target",
            ReportError::OutOfScope => "out_of_scope",
            ReportError::BadFollowUpNumber => "bad_follow_up_number",
            ReportError::FollowUpWithoutConsent => "follow_up_without_consent",
        }
    }
}

/// Whether `id` is a report id as devices make them: a UUID version 7 (RFC 9562 variant) in its
/// canonical lowercase hyphenated form. Uppercase, braces, nil and other versions are refused so
/// that one report has exactly one spelling.
pub fn is_report_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
        && b[14] == b'7'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

/// Largest time a device may claim, ms since the epoch (2^53: beyond it JSON numbers lose
/// precision). Below 0 or above this a report is refused.
pub const MAX_DEVICE_TIME_MS: i64 = 1 << 53;
/// A device's time is believed when it is at most this far before the server received the report
/// (a phone may stay offline for weeks during a campaign)…
pub const CLOCK_TRUST_BEFORE_MS: i64 = 60 * 86_400_000;
/// …and at most this far after (clocks drift, networks are slow).
pub const CLOCK_TRUST_AFTER_MS: i64 = 10 * 60_000;

/// When a report counts as made, for every figure (timelines, last positions, "last results"):
/// the device's hybrid logical clock when it lies within [`CLOCK_TRUST_BEFORE_MS`] before and
/// [`CLOCK_TRUST_AFTER_MS`] after the server's receipt, otherwise the receipt time. The second
/// value says the device's clock was not believed. The report itself is kept as it was sent.
pub fn report_time(device_ms: i64, received_ms: i64) -> (i64, bool) {
    let trusted = device_ms >= received_ms.saturating_sub(CLOCK_TRUST_BEFORE_MS)
        && device_ms <= received_ms.saturating_add(CLOCK_TRUST_AFTER_MS);
    if trusted { (device_ms, false) } else { (received_ms, true) }
}

/// The doors a report covers: its own door, or every door of its building when it was made on the
/// building (an entrance no one could reach counts for each door behind it).
pub fn doors_covered<'a>(report_door: Option<&'a str>, building_doors: &[&'a str]) -> Vec<&'a str> {
    match report_door {
        Some(d) => vec![d],
        None => building_doors.to_vec(),
    }
}

/// Checks a report against the campaign as it was at the report's survey version. `corrected` is
/// the report named by `supersedes`, when the checker holds it (`None` when it names nothing the
/// checker knows).
pub fn check_report(campaign: &Campaign, r: &KnockReport, corrected: Option<&Corrected>) -> Result<(), ReportError> {
    if !is_report_id(&r.id) {
        return Err(ReportError::BadId);
    }
    for (field, value) in [
        ("campaign_id", r.campaign_id.as_str()),
        ("turf_id", &r.turf_id),
        ("target", r.target.id()),
        ("result_code", &r.result_code),
        ("volunteer_id", &r.volunteer_id),
        ("device_id", &r.device_id),
    ] {
        check_text(field, value, TextKind::Id)?;
    }
    if let Some(n) = &r.note {
        check_text("note", n, TextKind::Free)?;
    }
    // A follow-up text asked for at the door: a number a text can reach, and the words agreed to.
    if let Some(f) = &r.follow_up {
        if f.consent_text.trim().is_empty() {
            return Err(ReportError::FollowUpWithoutConsent);
        }
        check_text("follow_up.consent_text", &f.consent_text, TextKind::Free)?;
        if crate::validate::sms::normalise_number(&f.number).is_none() {
            return Err(ReportError::BadFollowUpNumber);
        }
    }
    if r.campaign_id != campaign.id {
        return Err(ReportError::WrongCampaign);
    }
    if !(0..MAX_DEVICE_TIME_MS).contains(&r.hlc.millis) || !(0..MAX_DEVICE_TIME_MS).contains(&r.device_time_ms) {
        return Err(ReportError::BadClock);
    }
    let code = campaign.result_code(&r.result_code).ok_or(ReportError::UnknownResultCode)?;
    if code.level == ResultLevel::Person && matches!(r.target, Target::Building { .. }) {
        return Err(ReportError::LevelMismatch { code: code.code.clone(), target_kind: "building" });
    }
    validate_answers(&campaign.survey, code.outcome, &r.answers)?;
    if let Some(p) = &r.position {
        validate_position(p)?;
    }
    if let Some(s) = &r.supersedes {
        if *s == r.id {
            return Err(ReportError::SupersedesItself);
        }
        let c = corrected.ok_or(ReportError::SupersedesUnknown)?;
        if c.volunteer_id != r.volunteer_id || c.campaign_id != r.campaign_id {
            return Err(ReportError::SupersedesOther);
        }
        if c.target != r.target {
            return Err(ReportError::CorrectionTargetMismatch);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::{CampaignMode, ResultCode, SurveyScript, default_result_codes};
    use crate::knock::{Answer, AnswerValue, Hlc, Position};

    fn campaign() -> Campaign {
        let mut codes = default_result_codes();
        codes.push(ResultCode {
            code: "moved".into(),
            label_fr: "A déménagé".into(),
            label_en: "Moved".into(),
            level: ResultLevel::Person,
            outcome: crate::campaign::Outcome::Finished,
        });
        Campaign {
            id: "c1".into(),
            name: "C".into(),
            mode: CampaignMode::VoterFile,
            result_codes: codes,
            survey: SurveyScript { version: 1, consent_question_id: None, questions: vec![] },
            retention_until_ms: None,
        }
    }

    pub(crate) fn report(id: &str) -> KnockReport {
        KnockReport {
            id: id.into(),
            campaign_id: "c1".into(),
            turf_id: "t1".into(),
            target: Target::Door { id: "d1".into() },
            result_code: "not_home".into(),
            answers: vec![],
            note: None,
            safety_flags: vec![],
            supersedes: None,
            survey_version: 1,
            device_time_ms: 1_760_000_000_000,
            hlc: Hlc { millis: 1_760_000_000_000, counter: 0 },
            monotonic_ms: 5,
            position: Some(Position { lat: 47.2, lon: -1.55, accuracy_m: Some(8.0) }),
            plausibility: vec![],
            volunteer_id: "v1".into(),
            device_id: "dev1".into(),
            follow_up: None,
        }
    }

    const A: &str = "0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0d";
    const B: &str = "0192f0c4-1d2e-7a3b-9c4d-5e6f7a8b9c0e";

    #[test]
    fn report_ids() {
        let cases: &[(&str, bool)] = &[
            (A, true),
            (B, true),
            ("0192F0C4-1D2E-7A3B-8C4D-5E6F7A8B9C0D", false),
            ("00000000-0000-0000-0000-000000000000", false),
            ("0192f0c4-1d2e-4a3b-8c4d-5e6f7a8b9c0d", false),
            ("0192f0c4-1d2e-7a3b-cc4d-5e6f7a8b9c0d", false),
            ("0192f0c41d2e7a3b8c4d5e6f7a8b9c0d", false),
            ("{0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0d}", false),
            ("0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0g", false),
            ("", false),
        ];
        for (id, ok) in cases {
            assert_eq!(is_report_id(id), *ok, "{id}");
        }
    }

    /// One row per rule of `check_report`.
    #[test]
    fn case_table() {
        use ReportError as E;
        let follow =
            |number: &str, consent: &str| crate::FollowUp { number: number.into(), consent_text: consent.into() };
        let c = campaign();
        let mine =
            Corrected { volunteer_id: "v1".into(), campaign_id: "c1".into(), target: Target::Door { id: "d1".into() } };
        let with = |f: &dyn Fn(&mut KnockReport)| {
            let mut r = report(A);
            f(&mut r);
            r
        };
        type Case = (&'static str, KnockReport, Option<Corrected>, Result<(), ReportError>);
        let cases: Vec<Case> = vec![
            ("a plain knock", report(A), None, Ok(())),
            ("uppercase id", report(&A.to_uppercase()), None, Err(E::BadId)),
            ("nil id", report("00000000-0000-0000-0000-000000000000"), None, Err(E::BadId)),
            ("v4 id", report("0192f0c4-1d2e-4a3b-8c4d-5e6f7a8b9c0d"), None, Err(E::BadId)),
            ("another campaign", with(&|r| r.campaign_id = "c2".into()), None, Err(E::WrongCampaign)),
            ("unknown code", with(&|r| r.result_code = "nope".into()), None, Err(E::UnknownResultCode)),
            (
                "person code on a building",
                with(&|r| {
                    r.result_code = "moved".into();
                    r.target = Target::Building { id: "b1".into() };
                }),
                None,
                Err(E::LevelMismatch { code: "moved".into(), target_kind: "building" }),
            ),
            (
                "person code on a person",
                with(&|r| {
                    r.result_code = "moved".into();
                    r.target = Target::Person { id: "p1".into() };
                }),
                None,
                Ok(()),
            ),
            (
                "answers without contact",
                with(&|r| {
                    r.answers = vec![Answer { question_id: "q".into(), value: AnswerValue::YesNo { value: true } }]
                }),
                None,
                Err(E::Invalid(ValidationError::AnswersWithoutContact)),
            ),
            (
                "position out of range",
                with(&|r| r.position = Some(Position { lat: 91.0, lon: 0.0, accuracy_m: None })),
                None,
                Err(E::Invalid(ValidationError::BadCoordinates { lat: "91".into(), lon: "0".into() })),
            ),
            (
                "NUL in the note",
                with(&|r| r.note = Some("a\u{0}b".into())),
                None,
                Err(E::Text(TextError::ControlCharacter { field: "note".into() })),
            ),
            ("multi-line note", with(&|r| r.note = Some("chien\nau 12".into())), None, Ok(())),
            (
                "note too long",
                with(&|r| r.note = Some("x".repeat(2001))),
                None,
                Err(E::Text(TextError::TooLong { field: "note".into(), max: 2000 })),
            ),
            (
                "escape in an id",
                with(&|r| r.turf_id = "t\u{1b}1".into()),
                None,
                Err(E::Text(TextError::ControlCharacter { field: "turf_id".into() })),
            ),
            ("negative clock", with(&|r| r.hlc.millis = -1), None, Err(E::BadClock)),
            ("clock past 2^53", with(&|r| r.device_time_ms = i64::MAX), None, Err(E::BadClock)),
            ("clock in 2099 is kept", with(&|r| r.hlc.millis = 4_070_908_800_000), None, Ok(())),
            (
                "supersedes itself",
                with(&|r| r.supersedes = Some(A.into())),
                Some(mine.clone()),
                Err(E::SupersedesItself),
            ),
            ("supersedes unknown", with(&|r| r.supersedes = Some(B.into())), None, Err(E::SupersedesUnknown)),
            ("correction of one's own", with(&|r| r.supersedes = Some(B.into())), Some(mine.clone()), Ok(())),
            (
                "correction of another volunteer's",
                with(&|r| r.supersedes = Some(B.into())),
                Some(Corrected { volunteer_id: "v2".into(), ..mine.clone() }),
                Err(E::SupersedesOther),
            ),
            (
                "correction across campaigns",
                with(&|r| r.supersedes = Some(B.into())),
                Some(Corrected { campaign_id: "c2".into(), ..mine.clone() }),
                Err(E::SupersedesOther),
            ),
            (
                "correction of another target",
                with(&|r| r.supersedes = Some(B.into())),
                Some(Corrected { target: Target::Door { id: "d2".into() }, ..mine.clone() }),
                Err(E::CorrectionTargetMismatch),
            ),
            (
                "a follow-up text asked for at the door, with its consent",
                with(&|r| r.follow_up = Some(follow("06 12 34 56 78", "J'accepte un SMS de suivi."))),
                None,
                Ok(()),
            ),
            (
                "a follow-up to an overseas number",
                with(&|r| r.follow_up = Some(follow("+590 690 12 34 56", "J'accepte."))),
                None,
                Ok(()),
            ),
            (
                "a follow-up to a number no text reaches",
                with(&|r| r.follow_up = Some(follow("12 34", "J'accepte."))),
                None,
                Err(E::BadFollowUpNumber),
            ),
            (
                "a follow-up without the consent's words",
                with(&|r| r.follow_up = Some(follow("06 12 34 56 78", "  "))),
                None,
                Err(E::FollowUpWithoutConsent),
            ),
        ];
        for (name, r, corrected, want) in cases {
            assert_eq!(check_report(&c, &r, corrected.as_ref()), want, "{name}");
        }
    }

    #[test]
    fn clock_bounds() {
        let now = 1_760_000_000_000;
        let cases: &[(i64, (i64, bool))] = &[
            (now, (now, false)),
            (now - 30 * 86_400_000, (now - 30 * 86_400_000, false)),
            (now - 365 * 86_400_000, (now, true)),
            (now + 5 * 60_000, (now + 5 * 60_000, false)),
            (now + 365 * 86_400_000, (now, true)),
            (4_070_908_800_000, (now, true)),
            (0, (now, true)),
        ];
        for (device, want) in cases {
            assert_eq!(report_time(*device, now), *want, "{device}");
        }
    }

    #[test]
    fn fan_out() {
        assert_eq!(doors_covered(Some("d1"), &["d1", "d2"]), vec!["d1"]);
        assert_eq!(doors_covered(None, &["d1", "d2"]), vec!["d1", "d2"]);
        assert!(doors_covered(None, &[]).is_empty());
    }
}
