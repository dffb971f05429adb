//! Whether a survey script and its result codes may be published to devices: checked by the server
//! before a new version is stored, and by the phone on every package it applies.

use std::collections::HashSet;

use crate::campaign::{QuestionKind, SurveyScript};

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
