//! The results view's counts (issue 21), kept by the writes that change them, in their own
//! transaction, so that a campaign's, a team's, a turf's or a polling station's results read a few
//! rows per turf instead of every report and its body.
//!
//! `result_tally`, per (turf key, station, kind, question, answer): how many standing reports
//! count there — kind `code`: reports with that result code (`question` holds the code); kind
//! `answered`: conversations that answered the question; kind `answer`: conversations that gave
//! that answer (a multiple choice counts once per choice). The definitions are those of
//! `store::dash` (the results read with a time window, and the conformance suite's reference):
//! a report stands while no correction names it (same volunteer, campaign, building, door and
//! person); it counts in the turf its building is in now, else the turf it was made in, at its
//! building's polling station (`''`: none); answers count only from codes whose outcome is
//! "contacted" (conversations).
//!
//! Who changes them: a push and an accepted held report ([`reports_written`]: facts → [`plan`] →
//! rows), buildings changing turf or station ([`contribution`] before and after, through
//! `counters::Moving`), a campaign counted again ([`recount`]), a retention purge (the answers
//! are erased from every report: [`answers_purged`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use doorstep_protocol::{Answer, Outcome};

use super::super::records::StoreResult;
use super::super::tx::{Tx, Val};
use crate::vals;

/// Ids per statement.
const LIST: usize = 400;

/// (turf key, station, kind, question, answer).
pub type Key = (String, String, &'static str, String, String);

/// Counts per key, or changes to them.
pub type Counts = BTreeMap<Key, i64>;

/// What a correction must share with the report it names to hide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub volunteer_id: String,
    pub campaign_id: String,
    pub building_id: String,
    pub door_id: String,
    pub person_id: String,
}

/// A report the results may count.
#[derive(Debug, Clone)]
pub struct Counted {
    pub id: String,
    pub scope: Scope,
    pub turf_key: String,
    pub station: String,
    pub result_code: String,
    /// A conversation's answers (empty for other codes).
    pub answers: Vec<Answer>,
}

/// A stored report that names another as the one it corrects.
#[derive(Debug, Clone)]
pub struct Correction {
    pub id: String,
    pub supersedes: String,
    pub scope: Scope,
}

/// Adds what one standing report counts (`sign` −1: takes it away).
pub fn add(counts: &mut Counts, r: &Counted, sign: i64) {
    let key = |kind: &'static str, q: &str, a: &str| (r.turf_key.clone(), r.station.clone(), kind, q.into(), a.into());
    *counts.entry(key("code", &r.result_code, "")).or_default() += sign;
    for a in &r.answers {
        *counts.entry(key("answered", &a.question_id, "")).or_default() += sign;
        for k in a.value.tallied() {
            *counts.entry(key("answer", &a.question_id, &k)).or_default() += sign;
        }
    }
}

/// The plan of a write: for each report it touched (the new ones, and the stored ones the new
/// ones name), +1 when it starts to stand, −1 when it stops; `corrections`: every stored report
/// (new ones included) naming one of them; `new`: the ids just written.
pub fn plan<'a>(touched: &'a [Counted], corrections: &[Correction], new: &HashSet<&str>) -> Vec<(&'a Counted, i64)> {
    touched
        .iter()
        .filter_map(|r| {
            let hiding: Vec<&Correction> =
                corrections.iter().filter(|c| c.supersedes == r.id && c.scope == r.scope).collect();
            let after = hiding.is_empty();
            let before = !new.contains(r.id.as_str()) && hiding.iter().all(|c| new.contains(c.id.as_str()));
            let sign = i64::from(after) - i64::from(before);
            (sign != 0).then_some((r, sign))
        })
        .collect()
}

fn list(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The answers of a report body ([`Counted::answers`]).
fn answers_of(body: &str) -> StoreResult<Vec<Answer>> {
    #[derive(serde::Deserialize)]
    struct AnswersOnly {
        #[serde(default)]
        answers: Vec<Answer>,
    }
    Ok(super::parse::<AnswersOnly>("report answers", body)?.answers)
}

fn scope_of(r: &[Val], at: usize) -> StoreResult<Scope> {
    Ok(Scope {
        volunteer_id: r[at].text()?,
        campaign_id: r[at + 1].text()?,
        building_id: r[at + 2].text()?,
        door_id: r[at + 3].text()?,
        person_id: r[at + 4].text()?,
    })
}

/// After reports are written (a push, a held report accepted): the facts — the new reports (as
/// the push holds them, with their building's turf and station as the standing pairs read them),
/// the stored reports they name as corrected, and every correction naming any of them — then
/// [`plan`], then the rows.
pub async fn reports_written(
    tx: &mut dyn Tx,
    campaign_id: &str,
    volunteer_id: &str,
    written: &[super::standing::NewReport],
    seen: &super::standing::Refreshed,
    g: &mut super::groups::GroupChanges,
) -> StoreResult<()> {
    if written.is_empty() {
        return Ok(());
    }
    let new: HashSet<&str> = written.iter().map(|r| r.id.as_str()).collect();
    let mut touched: Vec<Counted> = written
        .iter()
        .map(|n| {
            let contact = seen.outcome_of.get(&n.result_code) == Some(&Outcome::Contacted);
            Counted {
                id: n.id.clone(),
                scope: Scope {
                    volunteer_id: volunteer_id.to_string(),
                    campaign_id: campaign_id.to_string(),
                    building_id: n.building_id.clone(),
                    door_id: n.door_id.clone().unwrap_or_default(),
                    person_id: n.person_id.clone().unwrap_or_default(),
                },
                turf_key: seen.turf_of.get(&n.building_id).cloned().flatten().unwrap_or_else(|| n.turf_id.clone()),
                station: seen.station_of.get(&n.building_id).cloned().flatten().unwrap_or_default(),
                result_code: n.result_code.clone(),
                answers: if contact { n.answers.clone() } else { Vec::new() },
            }
        })
        .collect();
    let mut named: Vec<&str> =
        written.iter().filter_map(|r| r.supersedes.as_deref()).filter(|s| !new.contains(s)).collect();
    named.sort_unstable();
    named.dedup();
    for chunk in named.chunks(LIST) {
        let params: Vec<Val> = chunk.iter().map(|i| Val::from(*i)).collect();
        let sql = format!("{SELECT_COUNTED} WHERE r.id IN ({})", list(1, chunk.len()));
        for r in tx.rows(&sql, &params).await? {
            touched.push(counted(&r, &seen.outcome_of)?);
        }
    }
    let mut corrections = Vec::new();
    let ids: Vec<&str> = touched.iter().map(|r| r.id.as_str()).collect();
    for chunk in ids.chunks(LIST) {
        let params: Vec<Val> = chunk.iter().map(|i| Val::from(*i)).collect();
        let sql = format!("{SELECT_CORRECTIONS} WHERE x.supersedes IN ({})", list(1, chunk.len()));
        for r in tx.rows(&sql, &params).await? {
            corrections.push(Correction { id: r[0].text()?, supersedes: r[1].text()?, scope: scope_of(&r, 2)? });
        }
    }
    let mut counts = Counts::new();
    for (r, sign) in plan(&touched, &corrections, &new) {
        add(&mut counts, r, sign);
    }
    write(tx, campaign_id, counts, g).await
}

/// A row of [`SELECT_COUNTED`] as a [`Counted`] (answers read only from conversations).
fn counted(r: &[Val], outcome_of: &HashMap<String, Outcome>) -> StoreResult<Counted> {
    let result_code = r[3].text()?;
    let answers = match outcome_of.get(&result_code) {
        Some(Outcome::Contacted) => answers_of(&r[4].text()?)?,
        _ => Vec::new(),
    };
    Ok(Counted {
        id: r[0].text()?,
        scope: scope_of(r, 5)?,
        turf_key: r[1].text()?,
        station: r[2].text()?,
        result_code,
        answers,
    })
}

/// Adds to the rows, in key order (two writers never wait on each other in a circle).
/// The same changes are added to the campaign's and teams' (`g`, [`super::groups`]).
pub async fn write(
    tx: &mut dyn Tx,
    campaign_id: &str,
    counts: Counts,
    g: &mut super::groups::GroupChanges,
) -> StoreResult<()> {
    for ((turf, station, kind, question, answer), n) in counts.into_iter().filter(|(_, n)| *n != 0) {
        g.result(&turf, kind, &question, &answer, n);
        tx.defer(UPSERT, vals![campaign_id, turf, station, kind, question, answer, n].to_vec()).await?;
    }
    Ok(())
}

/// What the standing reports on some buildings count where they are now (a move reads it before
/// and after).
pub async fn contribution(
    tx: &mut dyn Tx,
    outcome_of: &HashMap<String, Outcome>,
    buildings: &[&str],
) -> StoreResult<Counts> {
    let mut counts = Counts::new();
    for chunk in buildings.chunks(LIST) {
        let params: Vec<Val> = chunk.iter().map(|b| Val::from(*b)).collect();
        let filter = format!("r.building_id IN ({})", list(1, chunk.len()));
        standing(tx, outcome_of, &filter, &params, &mut counts).await?;
    }
    Ok(counts)
}

/// Adds the standing reports matching `filter` (over `r`, with `params`): their codes counted
/// in SQL, the conversations' answers read from their bodies.
async fn standing(
    tx: &mut dyn Tx,
    outcome_of: &HashMap<String, Outcome>,
    filter: &str,
    params: &[Val],
    counts: &mut Counts,
) -> StoreResult<()> {
    let from = format!(
        "FROM reports r JOIN buildings b ON b.id = r.building_id WHERE {filter} AND {}",
        super::super::dash::STANDING
    );
    let sql = format!(
        "SELECT COALESCE(b.turf_id, r.turf_id), COALESCE(b.polling_station, ''), r.result_code, COUNT(*) {from}
         GROUP BY COALESCE(b.turf_id, r.turf_id), COALESCE(b.polling_station, ''), r.result_code"
    );
    for r in tx.rows(&sql, params).await? {
        *counts.entry((r[0].text()?, r[1].text()?, "code", r[2].text()?, String::new())).or_default() += r[3].int()?;
    }
    let contact: Vec<&String> = outcome_of.iter().filter(|(_, o)| **o == Outcome::Contacted).map(|(c, _)| c).collect();
    if contact.is_empty() {
        return Ok(());
    }
    let n = params.len();
    let sql = format!(
        "SELECT COALESCE(b.turf_id, r.turf_id), COALESCE(b.polling_station, ''), r.body {from} AND r.result_code IN ({})",
        list(n + 1, contact.len())
    );
    let mut all: Vec<Val> = params.to_vec();
    all.extend(contact.iter().map(|c| Val::from(c.as_str())));
    for r in tx.rows(&sql, &all).await? {
        let c = Counted {
            id: String::new(),
            scope: Scope {
                volunteer_id: String::new(),
                campaign_id: String::new(),
                building_id: String::new(),
                door_id: String::new(),
                person_id: String::new(),
            },
            turf_key: r[0].text()?,
            station: r[1].text()?,
            result_code: String::new(),
            answers: answers_of(&r[2].text()?)?,
        };
        // The code is counted above: only the answers here.
        let mut answers = Counts::new();
        add(&mut answers, &c, 1);
        for (k, v) in answers.into_iter().filter(|(k, _)| k.2 != "code") {
            *counts.entry(k).or_default() += v;
        }
    }
    Ok(())
}

/// Every row of a campaign counted again from its standing reports.
pub async fn recount(tx: &mut dyn Tx, campaign_id: &str, outcome_of: &HashMap<String, Outcome>) -> StoreResult<()> {
    tx.exec(DELETE_CAMPAIGN, &vals![campaign_id]).await?;
    let mut counts = Counts::new();
    standing(tx, outcome_of, "r.campaign_id = $1", &vals![campaign_id], &mut counts).await?;
    // The groups are counted again from these rows as a whole (`groups::recount`).
    write(tx, campaign_id, counts, &mut super::groups::GroupChanges::default()).await
}

/// A retention purge erased every report's answers: no answer counts any more.
pub async fn answers_purged(tx: &mut dyn Tx, campaign_id: &str) -> StoreResult<()> {
    tx.exec(DELETE_ANSWERS, &vals![campaign_id]).await?;
    super::groups::answers_purged(tx, campaign_id).await
}

/// The counts in reach matching the filter (no time window: see `store::dash`), per
/// (kind, question, answer).
pub async fn read(
    tx: &mut dyn Tx,
    q: &super::super::dash::DashQuery,
    turf: Option<&str>,
    team: Option<&str>,
    station: Option<&str>,
) -> StoreResult<Vec<(String, String, String, u64)>> {
    let mut params: Vec<Val> = vec![Val::from(q.campaign_id.as_str())];
    let mut sql =
        String::from("SELECT kind, question, answer, CAST(SUM(n) AS BIGINT) FROM result_tally WHERE campaign_id = $1");
    let p = |v: &str, params: &mut Vec<Val>| {
        params.push(Val::from(v));
        format!("${}", params.len())
    };
    if let Some(teams) = &q.teams {
        let ids: Vec<String> = teams.iter().map(|t| p(t, &mut params)).collect();
        sql.push_str(&format!(" AND turf_key IN (SELECT id FROM turfs WHERE team_id IN ({}))", ids.join(", ")));
    }
    if let Some(t) = turf {
        sql.push_str(&format!(" AND turf_key = {}", p(t, &mut params)));
    }
    if let Some(t) = team {
        sql.push_str(&format!(" AND turf_key IN (SELECT id FROM turfs WHERE team_id = {})", p(t, &mut params)));
    }
    if let Some(s) = station {
        sql.push_str(&format!(" AND station = {}", p(s, &mut params)));
    }
    sql.push_str(" GROUP BY kind, question, answer");
    tx.rows(&sql, &params)
        .await?
        .iter()
        .map(|r| Ok((r[0].text()?, r[1].text()?, r[2].text()?, r[3].int()?.max(0) as u64)))
        .collect()
}

// ----- its SQL (the same text on both backends; see `store::sql`) -----

/// A report as [`counted`] reads it (completed by the caller).
const SELECT_COUNTED: &str = "SELECT r.id, COALESCE(b.turf_id, r.turf_id), COALESCE(b.polling_station, ''),
     r.result_code, r.body, r.volunteer_id, r.campaign_id, r.building_id, COALESCE(r.door_id, ''),
     COALESCE(r.person_id, '') FROM reports r JOIN buildings b ON b.id = r.building_id";

const SELECT_CORRECTIONS: &str = "SELECT x.id, x.supersedes, x.volunteer_id, x.campaign_id, x.building_id,
     COALESCE(x.door_id, ''), COALESCE(x.person_id, '') FROM reports x";

const UPSERT: &str = "INSERT INTO result_tally(campaign_id, turf_key, station, kind, question, answer, n)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (campaign_id, turf_key, station, kind, question, answer)
     DO UPDATE SET n = result_tally.n + excluded.n";

const DELETE_CAMPAIGN: &str = "DELETE FROM result_tally WHERE campaign_id = $1";

const DELETE_ANSWERS: &str = "DELETE FROM result_tally WHERE campaign_id = $1 AND kind <> 'code'";

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_protocol::AnswerValue;

    fn scope(volunteer: &str, door: &str) -> Scope {
        Scope {
            volunteer_id: volunteer.into(),
            campaign_id: "c".into(),
            building_id: "b".into(),
            door_id: door.into(),
            person_id: String::new(),
        }
    }

    fn report(id: &str, volunteer: &str, door: &str) -> Counted {
        Counted {
            id: id.into(),
            scope: scope(volunteer, door),
            turf_key: "t".into(),
            station: "101".into(),
            result_code: "contact_made".into(),
            answers: vec![Answer {
                question_id: "intent".into(),
                value: AnswerValue::Choices { values: vec!["a".into(), "b".into()] },
            }],
        }
    }

    fn fix(id: &str, names: &str, volunteer: &str, door: &str) -> Correction {
        Correction { id: id.into(), supersedes: names.into(), scope: scope(volunteer, door) }
    }

    /// The case table of [`plan`]: (case, touched, corrections, new ids, expected signs by id).
    #[test]
    fn what_starts_and_stops_counting() {
        let r = |id: &str| report(id, "v", "d");
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Vec<Counted>, Vec<Correction>, Vec<&str>, Vec<(&str, i64)>)> = vec![
            ("a new report counts", vec![r("n")], vec![], vec!["n"], vec![("n", 1)]),
            (
                "a correction hides the stored report it names",
                vec![r("s"), r("c")],
                vec![fix("c", "s", "v", "d")],
                vec!["c"],
                vec![("s", -1), ("c", 1)],
            ),
            (
                "a second correction of a report already hidden hides nothing more",
                vec![r("s"), r("c2")],
                vec![fix("c1", "s", "v", "d"), fix("c2", "s", "v", "d")],
                vec!["c2"],
                vec![("c2", 1)],
            ),
            (
                "a report and its correction in one push: only the correction counts",
                vec![r("n"), r("c")],
                vec![fix("c", "n", "v", "d")],
                vec!["n", "c"],
                vec![("c", 1)],
            ),
            (
                "another volunteer's correction hides nothing",
                vec![r("s"), report("c", "w", "d")],
                vec![fix("c", "s", "w", "d")],
                vec!["c"],
                vec![("c", 1)],
            ),
            (
                "a correction on another door hides nothing",
                vec![r("s"), report("c", "v", "e")],
                vec![fix("c", "s", "v", "e")],
                vec!["c"],
                vec![("c", 1)],
            ),
            (
                "a report accepted late, already corrected, never counts",
                vec![r("h")],
                vec![fix("c", "h", "v", "d")],
                vec!["h"],
                vec![],
            ),
            (
                "a correction naming a report never stored counts itself",
                vec![r("c")],
                vec![],
                vec!["c"],
                vec![("c", 1)],
            ),
        ];
        for (case, touched, corrections, new, want) in cases {
            let new: HashSet<&str> = new.into_iter().collect();
            let got: Vec<(&str, i64)> =
                plan(&touched, &corrections, &new).into_iter().map(|(r, s)| (r.id.as_str(), s)).collect();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn a_conversation_counts_its_code_each_answer_and_each_choice() {
        let mut c = Counts::new();
        add(&mut c, &report("n", "v", "d"), 1);
        let key = |kind: &'static str, q: &str, a: &str| {
            ("t".to_string(), "101".to_string(), kind, q.to_string(), a.to_string())
        };
        assert_eq!(c[&key("code", "contact_made", "")], 1);
        assert_eq!(c[&key("answered", "intent", "")], 1);
        assert_eq!((c[&key("answer", "intent", "a")], c[&key("answer", "intent", "b")]), (1, 1));
        add(&mut c, &report("n", "v", "d"), -1);
        assert!(c.values().all(|n| *n == 0));
    }
}
