//! Each knock's share of its volunteer's knocking time (issue 21), decided before the knocks are
//! written, so that each report row is written once with its share: facts (the volunteer's stored
//! knocks around the new ones, [`facts`]) → plan ([`plan`], pure) → the rows inserted with their
//! share and the few stored knocks whose share changes updated ([`apply_changes`]).
//!
//! A knock's share is the time since the volunteer's previous knock in knocking order (time,
//! counter, id) when at most [`SESSION_GAP_MS`], else [`LAST_DOOR_MS`] ([`share_ms`]). New knocks
//! change the share of at most the stored knocks right after each of them: those between the first
//! and the last new knock, and the first stored knock after the last.
//!
//! Until schema 19's first sessions the share was written by an `UPDATE` after the `INSERT`: on
//! PostgreSQL every such update wrote the whole row again with its nine index entries (the row is
//! never on a page with room to spare, right after its insert), 16 ms for a push of 500.

use std::collections::{HashMap, HashSet};

use super::super::dash::{LAST_DOOR_MS, SESSION_GAP_MS};
use super::super::records::StoreResult;
use super::super::tx::{Tx, Val};
use crate::vals;

/// A knock's share of its volunteer's knocking time: the time since their previous knock when it
/// is at most [`SESSION_GAP_MS`] (the same session), else [`LAST_DOOR_MS`] (a session starts here;
/// its last door counts that long). A volunteer's shares add up to their sessions' lengths plus
/// [`LAST_DOOR_MS`] per session, whatever the order the reports arrive in; a turf's time is the
/// shares of the knocks on its doors.
pub fn share_ms(gap_ms: Option<i64>) -> i64 {
    match gap_ms {
        Some(g) if (0..=SESSION_GAP_MS).contains(&g) => g,
        _ => LAST_DOOR_MS,
    }
}

/// A knock's place in its volunteer's knocking order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub at_ms: i64,
    pub counter: i64,
    pub id: String,
}

/// A stored knock of the volunteer whose share new knocks may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key: Key,
    /// `None`: stored without a share (not counted; left so).
    pub share_ms: Option<i64>,
    /// The turf it counts in (`''`: none).
    pub turf_key: String,
}

/// What [`plan`] needs: the time of the volunteer's stored knock just before the first new one,
/// the stored knocks in between the first and the last new one, and the stored knock right after
/// the last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareFacts {
    pub before_ms: Option<i64>,
    pub between: Vec<Stored>,
    pub after: Option<Stored>,
}

/// A stored knock whose share changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub id: String,
    pub turf_key: String,
    pub was_ms: i64,
    pub now_ms: i64,
}

/// The shares of the new knocks and the changes to stored ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharePlan {
    pub new: HashMap<String, i64>,
    pub changed: Vec<Changed>,
}

/// The plan (pure): the new knocks and the stored ones around them walked in knocking order, each
/// given the share of its gap to the one before. A stored knock with the id of a new one is that
/// knock already stored (it will not be written again): it counts as stored.
pub fn plan(new: &[Key], facts: &ShareFacts) -> SharePlan {
    let (Some(first), Some(last)) = (new.iter().min(), new.iter().max()) else { return SharePlan::default() };
    let stored_ids: HashSet<&str> = facts.between.iter().chain(&facts.after).map(|s| s.key.id.as_str()).collect();
    let mut walk: Vec<(&Key, Option<&Stored>)> =
        new.iter().filter(|k| !stored_ids.contains(k.id.as_str())).map(|k| (k, None)).collect();
    walk.extend(facts.between.iter().filter(|s| s.key >= *first && s.key <= *last).map(|s| (&s.key, Some(s))));
    walk.extend(facts.after.iter().filter(|s| s.key > *last).map(|s| (&s.key, Some(s))));
    walk.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = SharePlan::default();
    let mut prev = facts.before_ms;
    for (key, stored) in walk {
        let share = share_ms(prev.map(|p| key.at_ms - p));
        match stored {
            None => {
                out.new.insert(key.id.clone(), share);
            }
            Some(s) => {
                if let Some(was) = s.share_ms.filter(|w| *w != share) {
                    out.changed.push(Changed {
                        id: key.id.clone(),
                        turf_key: s.turf_key.clone(),
                        was_ms: was,
                        now_ms: share,
                    });
                }
            }
        }
        prev = Some(key.at_ms);
    }
    out
}

/// The facts of [`plan`] for `volunteer_id`'s new knocks `new` (not yet written). On PostgreSQL
/// the caller holds the volunteer's lock ([`lock_volunteer`]), so no other transaction writes
/// their knocks meanwhile.
pub async fn facts(tx: &mut dyn Tx, volunteer_id: &str, new: &[Key]) -> StoreResult<ShareFacts> {
    let (Some(first), Some(last)) = (new.iter().min(), new.iter().max()) else { return Ok(ShareFacts::default()) };
    let before_ms = tx
        .row(SELECT_BEFORE, &vals![volunteer_id, first.at_ms, first.counter, first.id.as_str()])
        .await?
        .map(|r| r[0].opt_int())
        .transpose()?
        .flatten();
    let stored = |r: &[Val]| -> StoreResult<Stored> {
        Ok(Stored {
            key: Key { at_ms: r[1].int()?, counter: r[2].int()?, id: r[0].text()? },
            share_ms: r[3].opt_int()?,
            turf_key: r[4].text()?,
        })
    };
    let mut between = Vec::new();
    if first.at_ms < last.at_ms || first < last {
        for r in tx.rows(SELECT_BETWEEN, &vals![volunteer_id, first.at_ms, last.at_ms]).await? {
            between.push(stored(&r)?);
        }
    }
    let after = match tx.row(SELECT_AFTER, &vals![volunteer_id, last.at_ms, last.counter, last.id.as_str()]).await? {
        Some(r) => Some(stored(&r)?),
        None => None,
    };
    Ok(ShareFacts { before_ms, between, after })
}

/// [`facts`] then [`plan`].
pub async fn plan_for(tx: &mut dyn Tx, volunteer_id: &str, new: &[Key]) -> StoreResult<SharePlan> {
    Ok(plan(new, &facts(tx, volunteer_id, new).await?))
}

/// The stored knocks whose share changed, written.
pub async fn apply_changes(tx: &mut dyn Tx, changed: &[Changed]) -> StoreResult<()> {
    for c in changed {
        tx.defer(SET_SHARE, vals![c.now_ms, c.id.as_str()].to_vec()).await?;
    }
    Ok(())
}

/// PostgreSQL: the volunteer locked for the transaction, before their knocks are read and written,
/// so that two pushes of one volunteer through two processes are decided one after the other (the
/// second reads the first's knocks once it commits). Taken before any building (see
/// `ops::standing`): every writer takes the volunteer first.
pub async fn lock_volunteer(tx: &mut dyn Tx, volunteer_id: &str) -> StoreResult<()> {
    if tx.arrays() {
        tx.rows(LOCK_VOLUNTEER, &vals![volunteer_id]).await?;
    }
    Ok(())
}

/// Every share of some knocks computed again in order (`rows`: id, volunteer, time, stored share,
/// sorted by volunteer then knocking order), the changed ones written.
pub async fn reshare(tx: &mut dyn Tx, rows: &[Vec<Val>]) -> StoreResult<()> {
    let mut prev: Option<(String, i64)> = None;
    for r in rows {
        let (id, volunteer, at, stored) = (r[0].text()?, r[1].text()?, r[2].int()?, r[3].opt_int()?);
        let gap = prev.as_ref().filter(|(v, _)| *v == volunteer).map(|(_, p)| at - p);
        let share = share_ms(gap);
        if stored != Some(share) {
            tx.defer(SET_SHARE, vals![share, id.as_str()].to_vec()).await?;
        }
        prev = Some((volunteer, at));
    }
    Ok(())
}

// ----- its SQL (the same text on both backends) -----
//
// Neighbours are looked up column by column — same instant and counter, same instant, another
// instant — through the index `reports_volunteer_order`, never by one row comparison
// `(at, counter, id) < (…)`: SQLite seeks such a comparison on its first column only, so a push
// whose knocks share one instant (a phone whose clock was not believed is placed at the server's)
// read every knock of that instant for each (quadratic: 2.5 s of 4.4 s for 50,000 reports).

pub(crate) const LOCK_VOLUNTEER: &str = "SELECT id FROM users WHERE id = $1 FOR UPDATE";

/// The time of the volunteer's last knock before (at $2, counter $3, id $4).
const SELECT_BEFORE: &str = "SELECT CASE
       WHEN EXISTS (SELECT 1 FROM reports s WHERE s.volunteer_id = $1 AND s.at_ms = $2 AND s.hlc_counter = $3
                      AND s.id < $4)
         OR EXISTS (SELECT 1 FROM reports s WHERE s.volunteer_id = $1 AND s.at_ms = $2 AND s.hlc_counter < $3)
       THEN CAST($2 AS BIGINT)
       ELSE (SELECT MAX(p.at_ms) FROM reports p WHERE p.volunteer_id = $1 AND p.at_ms < $2) END";

/// The volunteer's knocks from time $2 to time $3, with the turf each counts in.
const SELECT_BETWEEN: &str = "SELECT r.id, r.at_ms, r.hlc_counter, r.share_ms, COALESCE(b.turf_id, r.turf_id)
     FROM reports r JOIN buildings b ON b.id = r.building_id
     WHERE r.volunteer_id = $1 AND r.at_ms >= $2 AND r.at_ms <= $3";

/// The volunteer's first knock after (at $2, counter $3, id $4), with the turf it counts in.
const SELECT_AFTER: &str = "SELECT r.id, r.at_ms, r.hlc_counter, r.share_ms, COALESCE(b.turf_id, r.turf_id)
     FROM reports r JOIN buildings b ON b.id = r.building_id
     WHERE r.id = COALESCE(
       (SELECT s.id FROM reports s WHERE s.volunteer_id = $1 AND s.at_ms = $2 AND s.hlc_counter = $3 AND s.id > $4
          ORDER BY s.id LIMIT 1),
       (SELECT s.id FROM reports s WHERE s.volunteer_id = $1 AND s.at_ms = $2 AND s.hlc_counter > $3
          ORDER BY s.hlc_counter, s.id LIMIT 1),
       (SELECT s.id FROM reports s WHERE s.volunteer_id = $1 AND s.at_ms > $2
          ORDER BY s.at_ms, s.hlc_counter, s.id LIMIT 1))";

const SET_SHARE: &str = "UPDATE reports SET share_ms = $1 WHERE id = $2";

#[cfg(test)]
mod tests {
    use super::*;

    fn key(at: i64, id: &str) -> Key {
        Key { at_ms: at, counter: 0, id: id.into() }
    }

    fn stored(at: i64, id: &str, share: i64) -> Stored {
        Stored { key: key(at, id), share_ms: Some(share), turf_key: "t".into() }
    }

    /// Every knock's share computed from the whole ordered history: the definition.
    fn shares_of(mut all: Vec<Key>) -> HashMap<String, i64> {
        all.sort();
        let mut out = HashMap::new();
        for (i, k) in all.iter().enumerate() {
            out.insert(k.id.clone(), share_ms(i.checked_sub(1).map(|p| k.at_ms - all[p].at_ms)));
        }
        out
    }

    /// Cases: (stored knocks, new knocks) as (time in minutes, id); the plan must give every new
    /// knock its share and change exactly the stored knocks whose share the definition changes.
    #[test]
    fn the_plan_matches_the_definition_case_by_case() {
        type Knocks = &'static [(i64, &'static str)];
        let cases: &[(&str, Knocks, Knocks)] = &[
            ("first knock ever", &[], &[(0, "a")]),
            ("after a stored one, same session", &[(0, "a")], &[(5, "b")]),
            ("after a break", &[(0, "a")], &[(45, "b")]),
            ("before a stored one (an old phone syncs late)", &[(10, "b")], &[(4, "a")]),
            ("between two stored ones", &[(0, "a"), (20, "c")], &[(8, "b")]),
            ("interleaved with stored ones", &[(0, "a"), (10, "c"), (30, "e")], &[(5, "b"), (20, "d"), (31, "f")]),
            ("a burst at one instant", &[(7, "a"), (7, "c")], &[(7, "b"), (7, "d"), (7, "0")]),
            ("far before everything", &[(100, "x")], &[(0, "a"), (1, "b")]),
        ];
        for (name, old, new) in cases {
            let m = 60_000;
            let old_keys: Vec<Key> = old.iter().map(|(t, id)| key(t * m, id)).collect();
            let before = shares_of(old_keys.clone());
            let new_keys: Vec<Key> = new.iter().map(|(t, id)| key(t * m, id)).collect();
            let after = shares_of(old_keys.iter().chain(&new_keys).cloned().collect());
            let (first, last) = (new_keys.iter().min().unwrap(), new_keys.iter().max().unwrap());
            let facts = ShareFacts {
                before_ms: old_keys.iter().filter(|k| *k < first).max().map(|k| k.at_ms),
                between: old_keys
                    .iter()
                    .filter(|k| k.at_ms >= first.at_ms && k.at_ms <= last.at_ms)
                    .map(|k| stored(k.at_ms, &k.id, before[&k.id]))
                    .collect(),
                after: old_keys.iter().filter(|k| *k > last).min().map(|k| stored(k.at_ms, &k.id, before[&k.id])),
            };
            let p = plan(&new_keys, &facts);
            for k in &new_keys {
                assert_eq!(p.new.get(&k.id), Some(&after[&k.id]), "{name}: new knock {}", k.id);
            }
            let want: Vec<(String, i64, i64)> = old_keys
                .iter()
                .filter(|k| before[&k.id] != after[&k.id])
                .map(|k| (k.id.clone(), before[&k.id], after[&k.id]))
                .collect();
            let mut got: Vec<(String, i64, i64)> =
                p.changed.iter().map(|c| (c.id.clone(), c.was_ms, c.now_ms)).collect();
            got.sort();
            let mut want = want;
            want.sort();
            assert_eq!(got, want, "{name}: stored knocks changed");
        }
    }

    /// Random histories (knocks at a few instants, bursts at one instant, breaks): the plan of
    /// every split into stored and new knocks matches the definition.
    #[test]
    fn random_histories_match_the_definition() {
        let mut rng = 0x5EED_0021_u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for case in 0..3_000 {
            let n = 1 + next(12) as usize;
            let all: Vec<Key> = (0..n)
                .map(|i| Key {
                    at_ms: next(6) as i64 * [1, 60_000, 1_200_000, 2_400_000][next(4) as usize],
                    counter: next(2) as i64,
                    id: format!("{:02}-{i}", next(20)),
                })
                .collect();
            let (old, new): (Vec<Key>, Vec<Key>) = all.iter().cloned().partition(|_| next(3) == 0);
            if new.is_empty() {
                continue;
            }
            let before = shares_of(old.clone());
            let after = shares_of(all.clone());
            let (first, last) = (new.iter().min().unwrap(), new.iter().max().unwrap());
            let at = |k: &Key| Stored { key: k.clone(), share_ms: Some(before[&k.id]), turf_key: "t".into() };
            let facts = ShareFacts {
                before_ms: old.iter().filter(|k| *k < first).max().map(|k| k.at_ms),
                between: old.iter().filter(|k| k.at_ms >= first.at_ms && k.at_ms <= last.at_ms).map(at).collect(),
                after: old.iter().filter(|k| *k > last).min().map(at),
            };
            let p = plan(&new, &facts);
            for k in &new {
                assert_eq!(p.new.get(&k.id), Some(&after[&k.id]), "case {case}: {all:?}");
            }
            let changed: HashMap<&str, i64> = p.changed.iter().map(|c| (c.id.as_str(), c.now_ms)).collect();
            for k in &old {
                let want = (before[&k.id] != after[&k.id]).then_some(after[&k.id]);
                assert_eq!(changed.get(k.id.as_str()).copied(), want, "case {case}: {all:?}");
            }
        }
    }

    #[test]
    fn a_knock_already_stored_is_not_planned_again() {
        let facts = ShareFacts { before_ms: None, between: vec![stored(0, "a", LAST_DOOR_MS)], after: None };
        let p = plan(&[key(0, "a"), key(60_000, "b")], &facts);
        assert_eq!(p.new.len(), 1);
        assert_eq!(p.new["b"], 60_000);
        assert!(p.changed.is_empty());
    }
}
