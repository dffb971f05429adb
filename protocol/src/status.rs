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

/// What the coordinator's counters keep of a door (issue 21): its status over every report, and
/// whether one of its standing reports is a conversation (a door is *contacted* even when a later
/// report, "finished" or "do not return", is stronger). The dashboard's counts of knocked and
/// contacted doors add these up; the server keeps one per door at ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoorTally {
    pub status: DoorStatus,
    pub contacted: bool,
}

impl Default for DoorTally {
    fn default() -> Self {
        DoorTally { status: DoorStatus::Untouched, contacted: false }
    }
}

impl DoorTally {
    /// Knocked: any status but untouched.
    pub fn knocked(&self) -> bool {
        self.status != DoorStatus::Untouched
    }
}

/// The tally of a door from every report on it.
pub fn door_tally<'a>(facts: impl IntoIterator<Item = &'a StatusFact> + Clone) -> DoorTally {
    let superseded: HashSet<&str> =
        facts.clone().into_iter().filter(|f| !f.rejected).filter_map(|f| f.supersedes.as_deref()).collect();
    let standing = facts.into_iter().filter(|f| !f.rejected && !superseded.contains(f.id.as_str()));
    tally_after(DoorTally::default(), standing)
}

/// The tally once reports that correct nothing are added to a door whose tally was `before`: the
/// server keeps the tally without reading the door's history (exact: property
/// `adding_reports_to_the_tally`). A report that corrects another needs [`door_tally`].
pub fn tally_after<'a>(before: DoorTally, added: impl IntoIterator<Item = &'a StatusFact>) -> DoorTally {
    added.into_iter().filter(|f| !f.rejected).fold(before, |t, f| DoorTally {
        status: t.status.max(DoorStatus::from(f.outcome)),
        contacted: t.contacted || f.outcome == Outcome::Contacted,
    })
}

/// A report on a door as [`standing_pair`] needs it: its status fact and the device that made it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceFact {
    pub fact: StatusFact,
    pub device_id: String,
}

/// Which reports of a door a phone must be told for its door status to equal the status over
/// every report on the door, whatever the history behind them: `.0`, the strongest standing
/// report (not rejected, not superseded; ties to the smallest id), and `.1`, the strongest standing
/// report of a device other than `.0`'s. A phone holds its own reports, so it needs the strongest
/// standing report of the other devices ([`standing_for`]): `.0` unless it made `.0`, then `.1`.
/// The server keeps this pair per door at ingest, so a package carries at most one report per door
/// however many were made there (issue 21).
///
/// Exact as long as no report supersedes another device's report: a phone corrects only its own
/// reports (`correct_knock`), and the pair is computed over every report, corrections included.
pub fn standing_pair(facts: &[DeviceFact]) -> (Option<usize>, Option<usize>) {
    let superseded: HashSet<&str> =
        facts.iter().filter(|f| !f.fact.rejected).filter_map(|f| f.fact.supersedes.as_deref()).collect();
    let standing: Vec<usize> = (0..facts.len())
        .filter(|&i| !facts[i].fact.rejected && !superseded.contains(facts[i].fact.id.as_str()))
        .collect();
    // Strongest outcome first, then the smallest id: the same pick whatever the order of `facts`.
    let stronger = |a: usize, b: usize| {
        let (x, y) = (&facts[a].fact, &facts[b].fact);
        x.outcome.cmp(&y.outcome).then_with(|| y.id.cmp(&x.id)).is_gt()
    };
    let best_of = |among: &mut dyn Iterator<Item = usize>| {
        among.fold(None, |best: Option<usize>, i| match best {
            Some(b) if !stronger(i, b) => Some(b),
            _ => Some(i),
        })
    };
    let best = best_of(&mut standing.iter().copied());
    let other =
        best.and_then(|b| best_of(&mut standing.iter().copied().filter(|&i| facts[i].device_id != facts[b].device_id)));
    (best, other)
}

/// The one report of a door's [`standing_pair`] a device is sent: the strongest standing report of
/// the other devices, if any.
pub fn standing_for<'a>(
    pair: (Option<&'a DeviceFact>, Option<&'a DeviceFact>),
    device_id: &str,
) -> Option<&'a DeviceFact> {
    match pair {
        (Some(best), _) if best.device_id != device_id => Some(best),
        (Some(_), other) => other.filter(|o| o.device_id != device_id),
        (None, _) => None,
    }
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

    #[test]
    fn tally_case_table() {
        use Outcome::*;
        let t = |status, contacted| DoorTally { status, contacted };
        let rej = StatusFact { rejected: true, ..f("r", None, Contacted) };
        let cases: Vec<(Vec<StatusFact>, DoorTally)> = vec![
            // Untouched: not knocked, not contacted.
            (vec![], t(DoorStatus::Untouched, false)),
            (vec![f("a", None, Attempted)], t(DoorStatus::Attempted, false)),
            // A conversation, then a stronger "do not return": still contacted.
            (vec![f("a", None, Contacted), f("b", None, DoNotReturn)], t(DoorStatus::DoNotReturn, true)),
            // A conversation corrected into "not home": no longer contacted.
            (vec![f("a", None, Contacted), f("b", Some("a"), Attempted)], t(DoorStatus::Attempted, false)),
            // A rejected conversation counts for nothing.
            (vec![f("a", None, Attempted), rej], t(DoorStatus::Attempted, false)),
        ];
        for (i, (facts, want)) in cases.iter().enumerate() {
            assert_eq!(door_tally(facts), *want, "case {i}");
            assert_eq!(door_tally(facts).status, door_status(facts), "case {i}: the same status");
            assert_eq!(door_tally(facts).knocked(), want.status != DoorStatus::Untouched, "case {i}");
        }
    }

    fn d(id: &str, device: &str, sup: Option<&str>, o: Outcome) -> DeviceFact {
        DeviceFact { fact: f(id, sup, o), device_id: device.into() }
    }

    #[test]
    fn standing_pair_case_table() {
        use Outcome::*;
        let ids = |facts: &[DeviceFact], (a, b): (Option<usize>, Option<usize>)| {
            (a.map(|i| facts[i].fact.id.clone()), b.map(|i| facts[i].fact.id.clone()))
        };
        let s = |x: &str| Some(x.to_string());
        type Pair = (Option<String>, Option<String>);
        let cases: Vec<(Vec<DeviceFact>, Pair)> = vec![
            // Nothing on the door.
            (vec![], (None, None)),
            // One device: no second.
            (vec![d("a", "p1", None, Attempted), d("b", "p1", None, Contacted)], (s("b"), None)),
            // The strongest, and the strongest of another device.
            (
                vec![d("a", "p1", None, Finished), d("b", "p2", None, Attempted), d("c", "p2", None, Contacted)],
                (s("a"), s("c")),
            ),
            // A correction takes its report out: the next strongest stands.
            (
                vec![
                    d("a", "p1", None, DoNotReturn),
                    d("b", "p1", Some("a"), Attempted),
                    d("c", "p2", None, Contacted),
                ],
                (s("c"), s("b")),
            ),
            // Ties go to the smallest id, whatever the order.
            (vec![d("z", "p1", None, Contacted), d("m", "p2", None, Contacted)], (s("m"), s("z"))),
            // A rejected report counts for nothing and takes nothing out.
            (
                vec![
                    d("a", "p1", None, Attempted),
                    DeviceFact {
                        fact: StatusFact { rejected: true, ..f("b", Some("a"), Finished) },
                        device_id: "p2".into(),
                    },
                ],
                (s("a"), None),
            ),
        ];
        for (i, (facts, want)) in cases.iter().enumerate() {
            assert_eq!(ids(facts, standing_pair(facts)), *want, "case {i}");
        }
        // What each device is sent.
        let facts = vec![d("a", "p1", None, Finished), d("b", "p2", None, Attempted)];
        let (a, b) = standing_pair(&facts);
        let pair = (a.map(|i| &facts[i]), b.map(|i| &facts[i]));
        assert_eq!(standing_for(pair, "p2").map(|x| x.fact.id.as_str()), Some("a"));
        assert_eq!(standing_for(pair, "p1").map(|x| x.fact.id.as_str()), Some("b"));
        assert_eq!(standing_for(pair, "p3").map(|x| x.fact.id.as_str()), Some("a"));
        let alone = [d("a", "p1", None, Finished)];
        assert_eq!(standing_for((Some(&alone[0]), None), "p1"), None);
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

        /// The server keeps the pair without reading history: the pair of (the old pair + new
        /// reports that correct nothing) is the pair of (the whole history + those reports).
        #[test]
        fn adding_reports_to_the_pair(
            made in proptest::collection::vec((outcome(), 0usize..3, proptest::option::of(0usize..12), any::<bool>()), 0..12),
            added in proptest::collection::vec((outcome(), 0usize..3), 1..4),
        ) {
            let mut facts: Vec<DeviceFact> = Vec::new();
            for (i, (o, dev, sup, _)) in made.iter().enumerate() {
                let device = format!("p{dev}");
                let sup = sup.filter(|s| *s < i && facts[*s].device_id == device).map(|s| format!("k{s}"));
                facts.push(DeviceFact { fact: StatusFact { id: format!("k{i:02}"), supersedes: sup, outcome: *o, rejected: false }, device_id: device });
            }
            let new: Vec<DeviceFact> = added.iter().enumerate().map(|(i, (o, dev))| DeviceFact {
                fact: StatusFact { id: format!("n{i}"), supersedes: None, outcome: *o, rejected: false },
                device_id: format!("p{dev}"),
            }).collect();
            let id = |v: &[DeviceFact], i: Option<usize>| i.map(|i| v[i].fact.id.clone());
            let (a, b) = standing_pair(&facts);
            let mut kept: Vec<DeviceFact> = [a, b].into_iter().flatten().map(|i| facts[i].clone()).collect();
            kept.extend(new.iter().cloned());
            let mut whole = facts.clone();
            whole.extend(new.iter().cloned());
            let (ka, kb) = standing_pair(&kept);
            let (wa, wb) = standing_pair(&whole);
            prop_assert_eq!((id(&kept, ka), id(&kept, kb)), (id(&whole, wa), id(&whole, wb)));
        }

        /// The server keeps each door's tally without reading history: the tally of the old
        /// tally + new reports that correct nothing is the tally of the whole history + those.
        #[test]
        fn adding_reports_to_the_tally(
            made in proptest::collection::vec((outcome(), proptest::option::of(0usize..12), any::<bool>()), 0..12),
            added in proptest::collection::vec((outcome(), any::<bool>()), 1..4),
        ) {
            let facts: Vec<StatusFact> = made.iter().enumerate().map(|(i, (o, sup, rej))| StatusFact {
                id: format!("k{i}"),
                supersedes: sup.filter(|s| *s < i).map(|s| format!("k{s}")),
                outcome: *o,
                rejected: *rej,
            }).collect();
            let new: Vec<StatusFact> = added.iter().enumerate().map(|(i, (o, rej))| StatusFact {
                id: format!("n{i}"), supersedes: None, outcome: *o, rejected: *rej,
            }).collect();
            let mut whole = facts.clone();
            whole.extend(new.iter().cloned());
            prop_assert_eq!(tally_after(door_tally(&facts), &new), door_tally(&whole));
            prop_assert_eq!(door_tally(&whole).status, door_status(&whole));
        }

        /// A phone that holds its own reports and is sent its one report of the pair computes the
        /// status of the whole door history, for every device (corrections name the device's own
        /// reports, as phones make them).
        #[test]
        fn one_standing_report_gives_the_whole_status(
            made in proptest::collection::vec((outcome(), 0usize..3, proptest::option::of(0usize..12), any::<bool>()), 0..12),
        ) {
            let mut facts: Vec<DeviceFact> = Vec::new();
            for (i, (o, dev, sup, rej)) in made.iter().enumerate() {
                let device = format!("p{dev}");
                // A correction names an earlier report of the same device.
                let sup = sup.filter(|s| *s < i && facts[*s].device_id == device).map(|s| format!("k{s}"));
                facts.push(DeviceFact { fact: StatusFact { id: format!("k{i}"), supersedes: sup, outcome: *o, rejected: *rej }, device_id: device });
            }
            let all: Vec<StatusFact> = facts.iter().map(|x| x.fact.clone()).collect();
            let want = door_status(&all);
            let (a, b) = standing_pair(&facts);
            let pair = (a.map(|i| &facts[i]), b.map(|i| &facts[i]));
            for device in ["p0", "p1", "p2", "p9"] {
                let mut seen: Vec<StatusFact> = facts.iter().filter(|x| x.device_id == device).map(|x| x.fact.clone()).collect();
                if let Some(sent) = standing_for(pair, device) {
                    prop_assert_ne!(&sent.device_id, device);
                    seen.push(sent.fact.clone());
                }
                prop_assert_eq!(door_status(&seen), want, "device {}", device);
            }
        }
    }
}
