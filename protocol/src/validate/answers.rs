//! Answers and positions: what a report may carry, checked against the survey script it was made
//! with. The phone checks before it writes; the server checks the same way before it stores.

use std::collections::HashSet;

use crate::campaign::{Outcome, QuestionKind, SurveyScript};
use crate::knock::{Answer, AnswerValue, Position};
use crate::validate::text::{TextError, TextKind, check_text};

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
    #[error(transparent)]
    Text(#[from] TextError),
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
            Ok(check_text(&format!("question {qid}"), value, TextKind::Free)?)
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
