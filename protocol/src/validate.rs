//! Validation rules both the device and the server apply, so that a report the phone accepted is
//! never refused by the server for a reason the phone could have seen.

use std::collections::HashSet;

use crate::campaign::{Outcome, QuestionKind, SurveyScript};
use crate::knock::{Answer, AnswerValue, Position};

/// Longest free-text answer or note, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("coordinates out of range or not numbers: lat {lat}, lon {lon}")]
    BadCoordinates { lat: String, lon: String },
    #[error("position accuracy must be a non-negative number, got {0}")]
    BadAccuracy(String),
    #[error("question {0} is not in the survey script")]
    UnknownQuestion(String),
    #[error("question {0} was answered twice")]
    DuplicateAnswer(String),
    #[error("question {question}: expected {expected}")]
    WrongType { question: String, expected: &'static str },
    #[error("question {question}: choice {choice:?} is not offered")]
    ChoiceNotOffered { question: String, choice: String },
    #[error("question {question}: scale value {value} is outside 1–5")]
    ScaleOutOfRange { question: String, value: u8 },
    #[error("question {0} is not shown for the earlier answers and must not be answered")]
    HiddenQuestionAnswered(String),
    #[error("question {0} holds a personal opinion and needs the consent question answered yes first")]
    ConsentMissing(String),
    #[error("required question {0} was skipped")]
    MissingRequired(String),
    #[error("answers can only be recorded with a contact result")]
    AnswersWithoutContact,
    #[error("text longer than {MAX_TEXT_CHARS} characters")]
    TextTooLong,
}

/// Checks a WGS84 position.
pub fn validate_position(p: &Position) -> Result<(), ValidationError> {
    validate_lat_lon(p.lat, p.lon)?;
    if let Some(a) = p.accuracy_m
        && (!a.is_finite() || a < 0.0)
    {
        return Err(ValidationError::BadAccuracy(a.to_string()));
    }
    Ok(())
}

pub fn validate_lat_lon(lat: f64, lon: f64) -> Result<(), ValidationError> {
    if !(lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
        return Err(ValidationError::BadCoordinates { lat: lat.to_string(), lon: lon.to_string() });
    }
    Ok(())
}

fn answer_text_values(v: &AnswerValue) -> Vec<String> {
    match v {
        AnswerValue::YesNo { value } => vec![if *value { "yes" } else { "no" }.to_string()],
        AnswerValue::Choice { value } => vec![value.clone()],
        AnswerValue::Choices { values } => values.clone(),
        AnswerValue::Scale { value } => vec![value.to_string()],
        AnswerValue::Text { value } => vec![value.clone()],
    }
}

/// The ids of the questions shown for a given set of answers, in script order. A question is shown
/// when its `show_when` condition matches an earlier answer and, if it is personal, when consent was
/// given.
pub fn visible_questions(script: &SurveyScript, answers: &[Answer]) -> Vec<String> {
    let by_id = |id: &str| answers.iter().find(|a| a.question_id == id);
    let consent = script
        .consent_question_id
        .as_deref()
        .and_then(by_id)
        .is_some_and(|a| a.value == AnswerValue::YesNo { value: true });
    let mut shown: Vec<String> = Vec::new();
    for q in &script.questions {
        let cond_ok = match &q.show_when {
            None => true,
            Some(cond) => {
                shown.contains(&cond.question_id)
                    && by_id(&cond.question_id)
                        .is_some_and(|a| answer_text_values(&a.value).iter().any(|v| cond.any_of.contains(v)))
            }
        };
        let consent_ok = !q.personal || consent;
        if cond_ok && consent_ok {
            shown.push(q.id.clone());
        }
    }
    shown
}

/// Checks answers against the script for a report whose result has `outcome`.
pub fn validate_answers(script: &SurveyScript, outcome: Outcome, answers: &[Answer]) -> Result<(), ValidationError> {
    if answers.is_empty() {
        // A contact with no answers is a valid "we talked" only if nothing is required.
        if outcome != Outcome::Contacted {
            return Ok(());
        }
    } else if outcome != Outcome::Contacted {
        return Err(ValidationError::AnswersWithoutContact);
    }
    let mut seen = HashSet::new();
    for a in answers {
        let q =
            script.question(&a.question_id).ok_or_else(|| ValidationError::UnknownQuestion(a.question_id.clone()))?;
        if !seen.insert(a.question_id.as_str()) {
            return Err(ValidationError::DuplicateAnswer(a.question_id.clone()));
        }
        check_kind(&q.id, &q.kind, &a.value)?;
    }
    let visible = visible_questions(script, answers);
    for a in answers {
        if !visible.contains(&a.question_id) {
            let q = script.question(&a.question_id).expect("checked above");
            let consent_given = script
                .consent_question_id
                .as_deref()
                .and_then(|c| answers.iter().find(|a| a.question_id == c))
                .is_some_and(|a| a.value == AnswerValue::YesNo { value: true });
            return Err(if q.personal && !consent_given {
                ValidationError::ConsentMissing(q.id.clone())
            } else {
                ValidationError::HiddenQuestionAnswered(q.id.clone())
            });
        }
    }
    for q in &script.questions {
        if q.required && visible.contains(&q.id) && !seen.contains(q.id.as_str()) {
            return Err(ValidationError::MissingRequired(q.id.clone()));
        }
    }
    Ok(())
}

fn check_kind(qid: &str, kind: &QuestionKind, v: &AnswerValue) -> Result<(), ValidationError> {
    let wrong = |expected| Err(ValidationError::WrongType { question: qid.to_string(), expected });
    let offered = |choices: &[String], c: &String| {
        if choices.contains(c) {
            Ok(())
        } else {
            Err(ValidationError::ChoiceNotOffered { question: qid.to_string(), choice: c.clone() })
        }
    };
    match (kind, v) {
        (QuestionKind::YesNo, AnswerValue::YesNo { .. }) => Ok(()),
        (QuestionKind::YesNo, _) => wrong("yes or no"),
        (QuestionKind::SingleChoice { choices }, AnswerValue::Choice { value }) => offered(choices, value),
        (QuestionKind::SingleChoice { .. }, _) => wrong("one choice"),
        (QuestionKind::MultipleChoice { choices }, AnswerValue::Choices { values }) => {
            let mut uniq = HashSet::new();
            for c in values {
                offered(choices, c)?;
                if !uniq.insert(c) {
                    return Err(ValidationError::DuplicateAnswer(format!("{qid}: {c}")));
                }
            }
            Ok(())
        }
        (QuestionKind::MultipleChoice { .. }, _) => wrong("a list of choices"),
        (QuestionKind::Scale, AnswerValue::Scale { value }) => {
            if (1..=5).contains(value) {
                Ok(())
            } else {
                Err(ValidationError::ScaleOutOfRange { question: qid.to_string(), value: *value })
            }
        }
        (QuestionKind::Scale, _) => wrong("a value from 1 to 5"),
        (QuestionKind::FreeText, AnswerValue::Text { value }) => {
            if value.chars().count() > MAX_TEXT_CHARS {
                Err(ValidationError::TextTooLong)
            } else {
                Ok(())
            }
        }
        (QuestionKind::FreeText, _) => wrong("text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::{Question, ShowWhen};

    fn script() -> SurveyScript {
        let q = |id: &str, kind, required, personal, show_when| Question {
            id: id.into(),
            text_fr: id.into(),
            text_en: id.into(),
            kind,
            required,
            personal,
            show_when,
        };
        SurveyScript {
            version: 1,
            consent_question_id: Some("consent".into()),
            questions: vec![
                q("consent", QuestionKind::YesNo, true, false, None),
                q("intent", QuestionKind::SingleChoice { choices: vec!["A".into(), "B".into()] }, true, true, None),
                q(
                    "why_b",
                    QuestionKind::FreeText,
                    true,
                    true,
                    Some(ShowWhen { question_id: "intent".into(), any_of: vec!["B".into()] }),
                ),
                q("topics", QuestionKind::MultipleChoice { choices: vec!["x".into(), "y".into()] }, false, true, None),
                q("mood", QuestionKind::Scale, false, false, None),
            ],
        }
    }
    fn yes(q: &str, v: bool) -> Answer {
        Answer { question_id: q.into(), value: AnswerValue::YesNo { value: v } }
    }
    fn choice(q: &str, v: &str) -> Answer {
        Answer { question_id: q.into(), value: AnswerValue::Choice { value: v.into() } }
    }

    #[test]
    fn case_table() {
        use ValidationError as E;
        let s = script();
        let text = |q: &str| Answer { question_id: q.into(), value: AnswerValue::Text { value: "t".into() } };
        let cases: Vec<(Vec<Answer>, Outcome, Result<(), ValidationError>)> = vec![
            (vec![yes("consent", true), choice("intent", "A")], Outcome::Contacted, Ok(())),
            (vec![yes("consent", false)], Outcome::Contacted, Ok(())),
            (vec![yes("consent", true)], Outcome::Contacted, Err(E::MissingRequired("intent".into()))),
            (
                vec![yes("consent", false), choice("intent", "A")],
                Outcome::Contacted,
                Err(E::ConsentMissing("intent".into())),
            ),
            (
                vec![yes("consent", true), choice("intent", "C")],
                Outcome::Contacted,
                Err(E::ChoiceNotOffered { question: "intent".into(), choice: "C".into() }),
            ),
            (
                vec![yes("consent", true), choice("intent", "B")],
                Outcome::Contacted,
                Err(E::MissingRequired("why_b".into())),
            ),
            (vec![yes("consent", true), choice("intent", "B"), text("why_b")], Outcome::Contacted, Ok(())),
            (
                vec![yes("consent", true), choice("intent", "A"), text("why_b")],
                Outcome::Contacted,
                Err(E::HiddenQuestionAnswered("why_b".into())),
            ),
            (
                vec![choice("consent", "A")],
                Outcome::Contacted,
                Err(E::WrongType { question: "consent".into(), expected: "yes or no" }),
            ),
            (vec![yes("nope", true)], Outcome::Contacted, Err(E::UnknownQuestion("nope".into()))),
            (
                vec![yes("consent", true), yes("consent", true)],
                Outcome::Contacted,
                Err(E::DuplicateAnswer("consent".into())),
            ),
            (
                vec![
                    yes("consent", false),
                    Answer { question_id: "mood".into(), value: AnswerValue::Scale { value: 6 } },
                ],
                Outcome::Contacted,
                Err(E::ScaleOutOfRange { question: "mood".into(), value: 6 }),
            ),
            (vec![yes("consent", true)], Outcome::Attempted, Err(E::AnswersWithoutContact)),
            (vec![], Outcome::Attempted, Ok(())),
            (vec![], Outcome::Contacted, Err(E::MissingRequired("consent".into()))),
        ];
        for (i, (answers, outcome, want)) in cases.into_iter().enumerate() {
            assert_eq!(validate_answers(&s, outcome, &answers), want, "case {i}");
        }
    }

    #[test]
    fn positions() {
        let p = |lat, lon| Position { lat, lon, accuracy_m: None };
        assert!(validate_position(&p(47.2, -1.55)).is_ok());
        assert!(validate_position(&p(f64::NAN, 0.0)).is_err());
        assert!(validate_position(&p(91.0, 0.0)).is_err());
        assert!(validate_position(&p(0.0, -180.5)).is_err());
        assert!(validate_position(&p(0.0, f64::INFINITY)).is_err());
        assert!(validate_position(&Position { lat: 0.0, lon: 0.0, accuracy_m: Some(-1.0) }).is_err());
    }
}

/// Why a survey script or a set of result codes cannot be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("id {0:?} must be 1–64 characters of a–z, 0–9, _ or -")]
    BadId(String),
    #[error("{0} {1} appears twice")]
    Duplicate(&'static str, String),
    #[error("question {0}: a choice question needs at least one choice, each unique and non-empty")]
    BadChoices(String),
    #[error("question {question}: show_when refers to {refers}, which is not an earlier question")]
    ShowWhenNotEarlier { question: String, refers: String },
    #[error("question {question}: show_when value {value:?} is not an answer {refers} can take")]
    ShowWhenValue { question: String, refers: String, value: String },
    #[error("the consent question {0} must be a yes/no question of the script, shown unconditionally")]
    BadConsent(String),
    #[error("question {0} is personal: the script needs a consent question asked before it")]
    PersonalWithoutConsent(String),
    #[error("result code {0} is built in and cannot be removed")]
    BuiltinRemoved(String),
    #[error("result code {0} was published before and cannot be removed (devices hold reports with it)")]
    CodeRemoved(String),
}

fn check_id(id: &str) -> Result<(), ScriptError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(ScriptError::BadId(id.to_string())) }
}

fn answers_of(kind: &QuestionKind) -> Option<Vec<String>> {
    match kind {
        QuestionKind::YesNo => Some(vec!["yes".into(), "no".into()]),
        QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices } => Some(choices.clone()),
        QuestionKind::Scale => Some((1..=5).map(|n| n.to_string()).collect()),
        QuestionKind::FreeText => None,
    }
}

/// Checks a script and its result codes before they are published to devices. `previous_codes`
/// are the codes of the version being replaced: none may disappear, since devices may hold
/// reports made with them.
pub fn validate_script(
    survey: &SurveyScript,
    codes: &[crate::campaign::ResultCode],
    previous_codes: &[crate::campaign::ResultCode],
) -> Result<(), ScriptError> {
    let mut seen = HashSet::new();
    for (i, q) in survey.questions.iter().enumerate() {
        check_id(&q.id)?;
        if !seen.insert(q.id.as_str()) {
            return Err(ScriptError::Duplicate("question", q.id.clone()));
        }
        if q.text_fr.trim().is_empty() {
            return Err(ScriptError::Empty("text_fr"));
        }
        if let QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices } = &q.kind {
            let unique: HashSet<&String> = choices.iter().collect();
            if choices.is_empty() || unique.len() != choices.len() || choices.iter().any(|c| c.trim().is_empty()) {
                return Err(ScriptError::BadChoices(q.id.clone()));
            }
        }
        if let Some(sw) = &q.show_when {
            let Some(earlier) = survey.questions[..i].iter().find(|e| e.id == sw.question_id) else {
                return Err(ScriptError::ShowWhenNotEarlier { question: q.id.clone(), refers: sw.question_id.clone() });
            };
            if let Some(allowed) = answers_of(&earlier.kind)
                && let Some(v) = sw.any_of.iter().find(|v| !allowed.contains(v))
            {
                return Err(ScriptError::ShowWhenValue {
                    question: q.id.clone(),
                    refers: earlier.id.clone(),
                    value: v.clone(),
                });
            }
        }
    }
    let consent_at = match &survey.consent_question_id {
        Some(c) => {
            let at = survey.questions.iter().position(|q| &q.id == c);
            match at.map(|i| &survey.questions[i]) {
                Some(q) if q.kind == QuestionKind::YesNo && q.show_when.is_none() && !q.personal => at,
                _ => return Err(ScriptError::BadConsent(c.clone())),
            }
        }
        None => None,
    };
    for (i, q) in survey.questions.iter().enumerate() {
        if q.personal && consent_at.is_none_or(|c| c >= i) {
            return Err(ScriptError::PersonalWithoutConsent(q.id.clone()));
        }
    }
    if codes.is_empty() {
        return Err(ScriptError::Empty("result_codes"));
    }
    let mut seen = HashSet::new();
    for c in codes {
        check_id(&c.code)?;
        if !seen.insert(c.code.as_str()) {
            return Err(ScriptError::Duplicate("result code", c.code.clone()));
        }
        if c.label_fr.trim().is_empty() {
            return Err(ScriptError::Empty("label_fr"));
        }
    }
    for b in crate::campaign::default_result_codes() {
        if !seen.contains(b.code.as_str()) {
            return Err(ScriptError::BuiltinRemoved(b.code));
        }
    }
    for p in previous_codes {
        if !seen.contains(p.code.as_str()) {
            return Err(ScriptError::CodeRemoved(p.code.clone()));
        }
    }
    Ok(())
}
