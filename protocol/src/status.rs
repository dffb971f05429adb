//! Door status as a pure function of the set of knock reports on the door. The phone and the
//! server both derive it with this one function.
//!
//! A report counts unless another report in the set supersedes it (a correction) or the server
//! rejected it. The status is the strongest outcome among the reports that count. Taking a maximum
//! over a set makes the answer the same whatever the order of the reports and however often each
//! appears.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::campaign::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DoorStatus {
    Untouched,
    Attempted,
    Contacted,
    Finished,
    DoNotReturn,
}

impl From<Outcome> for DoorStatus {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Attempted => DoorStatus::Attempted,
            Outcome::Contacted => DoorStatus::Contacted,
            Outcome::Finished => DoorStatus::Finished,
            Outcome::DoNotReturn => DoorStatus::DoNotReturn,
        }
    }
}

impl DoorStatus {
    pub fn label_fr(self) -> &'static str {
        match self {
            DoorStatus::Untouched => "à frapper",
            DoorStatus::Attempted => "tentée",
            DoorStatus::Contacted => "contact",
            DoorStatus::Finished => "terminée",
            DoorStatus::DoNotReturn => "ne pas revenir",
        }
    }
}

/// The part of a report that status depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusFact {
    pub id: String,
    pub supersedes: Option<String>,
    pub outcome: Outcome,
    /// Rejected by the server: it counts for nothing, and supersedes nothing.
    pub rejected: bool,
}

pub fn door_status<'a>(facts: impl IntoIterator<Item = &'a StatusFact> + Clone) -> DoorStatus {
    let superseded: HashSet<&str> =
        facts.clone().into_iter().filter(|f| !f.rejected).filter_map(|f| f.supersedes.as_deref()).collect();
    facts
        .into_iter()
        .filter(|f| !f.rejected && !superseded.contains(f.id.as_str()))
        .map(|f| DoorStatus::from(f.outcome))
        .max()
        .unwrap_or(DoorStatus::Untouched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(id: &str, sup: Option<&str>, o: Outcome) -> StatusFact {
        StatusFact { id: id.into(), supersedes: sup.map(Into::into), outcome: o, rejected: false }
    }

    #[test]
    fn case_table() {
        use Outcome::*;
        let rej = StatusFact { rejected: true, ..f("r", None, DoNotReturn) };
        let cases: Vec<(Vec<StatusFact>, DoorStatus)> = vec![
            (vec![], DoorStatus::Untouched),
            (vec![f("a", None, Attempted)], DoorStatus::Attempted),
            (vec![f("a", None, Attempted), f("b", None, Contacted)], DoorStatus::Contacted),
            // A correction replaces the report it names.
            (vec![f("a", None, DoNotReturn), f("b", Some("a"), Attempted)], DoorStatus::Attempted),
            // A correction of a correction.
            (
                vec![f("a", None, Finished), f("b", Some("a"), Attempted), f("c", Some("b"), Contacted)],
                DoorStatus::Contacted,
            ),
            // Rejected reports count for nothing.
            (vec![f("a", None, Attempted), rej.clone()], DoorStatus::Attempted),
            (
                vec![f("a", None, Finished), StatusFact { rejected: true, ..f("b", Some("a"), Attempted) }],
                DoorStatus::Finished,
            ),
        ];
        for (i, (facts, want)) in cases.iter().enumerate() {
            assert_eq!(door_status(facts), *want, "case {i}");
        }
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Attempted),
            Just(Outcome::Contacted),
            Just(Outcome::Finished),
            Just(Outcome::DoNotReturn)
        ]
    }

    proptest! {
        /// Any order and any duplication of the same set gives the same status.
        #[test]
        fn order_and_duplicates_do_not_matter(
            outcomes in proptest::collection::vec((outcome(), proptest::option::of(0usize..8), any::<bool>()), 0..8),
            seed in any::<u64>(),
            dups in proptest::collection::vec(0usize..8, 0..8),
        ) {
            let facts: Vec<StatusFact> = outcomes.iter().enumerate().map(|(i, (o, sup, rej))| StatusFact {
                id: format!("k{i}"),
                supersedes: sup.filter(|s| *s < i).map(|s| format!("k{s}")),
                outcome: *o,
                rejected: *rej,
            }).collect();
            let want = door_status(&facts);
            let mut shuffled = facts.clone();
            for d in dups { if let Some(x) = facts.get(d) { shuffled.push(x.clone()); } }
            // deterministic shuffle from the seed
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(door_status(&shuffled), want);
        }
    }
}
