//! The campaign as the phone needs it: how it canvasses (address-only or voter file), its result
//! codes, and its versioned survey script.

use serde::{Deserialize, Serialize};

/// How a campaign canvasses. Most French campaigns are address-only: results are kept per door and
/// no personal data is held at all. A voter-file campaign lists people at a door, each with their
/// own result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CampaignMode {
    AddressOnly,
    VoterFile,
}

/// Whether a result code is recorded for a whole door (or building) or for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ResultLevel {
    Door,
    Person,
}

/// What a result means for the door it was recorded at. Ordered: a door's status is the strongest
/// outcome among its effective reports (see `doorstep-core`'s status module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Outcome {
    /// Someone knocked, nobody useful answered: come back.
    Attempted,
    /// A conversation took place (answers may be recorded).
    Contacted,
    /// Nothing more to do at this door (vacant, moved, refused politely).
    Finished,
    /// Never knock again (hostile, asked not to be contacted, deceased).
    DoNotReturn,
}

impl Outcome {
    /// The stored form (as on the wire).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Attempted => "attempted",
            Outcome::Contacted => "contacted",
            Outcome::Finished => "finished",
            Outcome::DoNotReturn => "do_not_return",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Attempted, Outcome::Contacted, Outcome::Finished, Outcome::DoNotReturn]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// A result code a volunteer can record. Campaigns start from [`default_result_codes`] and may add
/// their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ResultCode {
    /// Stable machine code, e.g. `not_home`.
    pub code: String,
    /// French label shown first.
    pub label_fr: String,
    pub label_en: String,
    pub level: ResultLevel,
    pub outcome: Outcome,
}

impl ResultCode {
    fn builtin(code: &str, fr: &str, en: &str, level: ResultLevel, outcome: Outcome) -> Self {
        Self { code: code.into(), label_fr: fr.into(), label_en: en.into(), level, outcome }
    }
}

/// The result codes every campaign has.
pub fn default_result_codes() -> Vec<ResultCode> {
    use Outcome::*;
    use ResultLevel::*;
    vec![
        ResultCode::builtin("not_home", "Absent", "Not home", Door, Attempted),
        ResultCode::builtin("no_answer", "Pas de réponse", "No answer", Door, Attempted),
        ResultCode::builtin("come_back", "Repasser plus tard", "Come back later", Door, Attempted),
        ResultCode::builtin("inaccessible", "Inaccessible", "Inaccessible", Door, Attempted),
        ResultCode::builtin("refused", "Refus", "Refused", Door, Finished),
        ResultCode::builtin("hostile", "Hostile", "Hostile", Door, DoNotReturn),
        ResultCode::builtin("vacant", "Logement vide / introuvable", "Vacant / not found", Door, Finished),
        ResultCode::builtin("contact_made", "Contact établi", "Contact made", Person, Contacted),
        ResultCode::builtin("moved", "A déménagé", "Moved", Person, Finished),
        ResultCode::builtin("deceased", "Décédé(e)", "Deceased", Person, DoNotReturn),
        ResultCode::builtin("language_barrier", "Barrière de la langue", "Language barrier", Person, Attempted),
        ResultCode::builtin("do_not_contact", "Ne pas contacter", "Do not contact", Person, DoNotReturn),
    ]
}

/// The kind of answer a question takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum QuestionKind {
    YesNo,
    SingleChoice {
        choices: Vec<String>,
    },
    MultipleChoice {
        choices: Vec<String>,
    },
    /// A scale from 1 to 5.
    Scale,
    FreeText,
}

/// A question is shown only when an earlier question got one of these answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ShowWhen {
    pub question_id: String,
    /// The earlier answer, as text: `yes`/`no`, a choice, or a scale digit. Any one matches; for a
    /// multiple-choice question, any selected choice matches.
    pub any_of: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Question {
    pub id: String,
    pub text_fr: String,
    pub text_en: String,
    pub kind: QuestionKind,
    /// Must be answered when shown and the result is a contact.
    pub required: bool,
    /// The answer is personal data (a political opinion): it may only be recorded after the
    /// script's consent question was answered yes.
    pub personal: bool,
    pub show_when: Option<ShowWhen>,
}

/// The ordered, versioned questions a volunteer asks at the door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SurveyScript {
    pub version: u32,
    /// The yes/no question that must be answered yes before any `personal` question is recorded.
    pub consent_question_id: Option<String>,
    pub questions: Vec<Question>,
}

impl SurveyScript {
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }
}

/// What the phone knows of its campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub mode: CampaignMode,
    pub result_codes: Vec<ResultCode>,
    pub survey: SurveyScript,
    /// After this instant (ms since the Unix epoch, UTC) the device purges the campaign's data once
    /// its reports are acknowledged.
    pub retention_until_ms: Option<i64>,
}

impl Campaign {
    pub fn result_code(&self, code: &str) -> Option<&ResultCode> {
        self.result_codes.iter().find(|c| c.code == code)
    }
}
