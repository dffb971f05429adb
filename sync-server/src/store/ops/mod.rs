//! Store operations written once over [`Tx`], run inside one transaction by either backend.
//! Every change to what a device holds bumps the turf's version and appends one [`TurfOp`] for
//! that version, in the same transaction: the op log that pull turns into deltas.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::records::*;
use super::sql::*;
use super::tx::{Row, Tx, Val};
use crate::vals;

pub mod campaign;
pub mod cells;
pub mod counters;
pub mod counts;
pub mod erasure;
pub mod groups;
pub mod handoffs;
pub mod messages;
pub mod pages;
pub mod people;
pub mod reminders;
pub mod reports;
pub mod results;
pub mod sessions;
pub mod shared;
pub mod shares;
pub mod sms;
pub mod sms_providers;
pub mod standing;
pub mod tallies;
pub mod turfs;

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn turf_from(r: &Row) -> StoreResult<TurfRow> {
    Ok(TurfRow {
        id: r[0].text()?,
        campaign_id: r[1].text()?,
        name: r[2].text()?,
        version: r[3].int()? as u64,
        volunteer_id: r[4].opt_text()?,
        lease_expires_ms: r[5].opt_int()?,
        team_id: r[6].opt_text()?,
        checksum: match (r[7].opt_text()?, r[8].opt_int()?) {
            (Some(sum), Some(v)) => Some((v as u64, sum)),
            _ => None,
        },
    })
}

pub(crate) fn user_from(r: &Row) -> StoreResult<User> {
    Ok(User {
        id: r[0].text()?,
        campaign_id: r[1].text()?,
        role: Role::parse(&r[2].text()?)?,
        display_name: r[3].text()?,
        team_id: r[4].opt_text()?,
    })
}

pub async fn turf(tx: &mut dyn Tx, id: &str) -> StoreResult<Option<TurfRow>> {
    tx.row(SELECT_TURF, &vals![id]).await?.as_ref().map(turf_from).transpose()
}

pub(crate) async fn turf_in(tx: &mut dyn Tx, campaign_id: &str, id: &str) -> StoreResult<TurfRow> {
    match turf(tx, id).await? {
        Some(t) if t.campaign_id == campaign_id => Ok(t),
        _ => Err(StoreError::Missing { kind: "turf", id: id.to_string() }),
    }
}

/// Bumps a turf's version and records what changed. Returns the new version.
pub async fn bump(tx: &mut dyn Tx, turf_id: &str, op: &TurfOp) -> StoreResult<u64> {
    let row = tx
        .row(BUMP_TURF_RETURNING, &vals![turf_id])
        .await?
        .ok_or_else(|| StoreError::Missing { kind: "turf", id: turf_id.to_string() })?;
    let version = row[0].int()?;
    tx.exec(INSERT_TURF_OP, &vals![turf_id, version, json(op)]).await?;
    Ok(version as u64)
}

pub(crate) async fn team_in(tx: &mut dyn Tx, campaign_id: &str, team_id: &str) -> StoreResult<()> {
    match tx.row(SELECT_TEAM, &vals![team_id]).await? {
        Some(r) if r[1].text()? == campaign_id => Ok(()),
        _ => Err(StoreError::Missing { kind: "team", id: team_id.to_string() }),
    }
}

pub(crate) async fn user_in(tx: &mut dyn Tx, campaign_id: &str, user_id: &str) -> StoreResult<User> {
    match tx.row(SELECT_USER, &vals![user_id]).await?.as_ref().map(user_from).transpose()? {
        Some(u) if u.campaign_id == campaign_id => Ok(u),
        _ => Err(StoreError::Missing { kind: "user", id: user_id.to_string() }),
    }
}

const CHUNK: usize = 500;

/// `INSERT INTO {table} VALUES …` for every row (each `width` values), skipping ids already
/// present; returns the ids that were added. Imports and cuts write their many rows through it.
pub(crate) async fn insert_new(
    tx: &mut dyn Tx,
    table: &str,
    types: &[&str],
    rows: Vec<Vec<Val>>,
) -> StoreResult<foldhash::HashSet<String>> {
    let width = types.len();
    let mut added = foldhash::HashSet::default();
    let mut rows = rows.into_iter().peekable();
    if tx.arrays() {
        // PostgreSQL: one array per column and one short statement per batch (planning a
        // statement of 5,000 parameters each time cost most of a million-row import).
        while rows.peek().is_some() {
            let mut columns: Vec<Vec<Val>> = vec![Vec::with_capacity(CHUNK); width];
            for row in rows.by_ref().take(CHUNK * 10) {
                for (c, v) in row.into_iter().enumerate() {
                    columns[c].push(v);
                }
            }
            let arrays: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", i + 1)).collect();
            let sql = format!(
                "INSERT INTO {table} SELECT * FROM unnest({}) ON CONFLICT (id) DO NOTHING RETURNING id",
                arrays.join(", ")
            );
            let params: Vec<Val> = columns.into_iter().map(Val::Array).collect();
            for r in tx.rows(&sql, &params).await? {
                added.insert(r[0].text()?);
            }
        }
        return Ok(added);
    }
    // SQLite: one statement of up to CHUNK rows; the text of a full chunk is the same every time,
    // so it is written once per table (formatting 5,000 placeholders per part was a tenth of a
    // big import).
    let statement = |n: usize| {
        let mut sql = format!("INSERT INTO {table} VALUES ");
        let mut k = 0;
        for i in 0..n {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..width {
                k += 1;
                let _ = write!(sql, "{}${k}", if j == 0 { "" } else { ", " });
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING id");
        sql
    };
    static FULL: std::sync::Mutex<Vec<(String, std::sync::Arc<str>)>> = std::sync::Mutex::new(Vec::new());
    let full = {
        let mut cache = FULL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match cache.iter().find(|(t, _)| t == table) {
            Some((_, sql)) => sql.clone(),
            None => {
                let sql: std::sync::Arc<str> = statement(CHUNK).into();
                cache.push((table.to_string(), sql.clone()));
                sql
            }
        }
    };
    while rows.peek().is_some() {
        let params: Vec<Val> = rows.by_ref().take(CHUNK).flatten().collect();
        let n = params.len() / width.max(1);
        let last;
        let sql = if n == CHUNK {
            &*full
        } else {
            last = statement(n);
            &last
        };
        for r in tx.rows(sql, &params).await? {
            added.insert(r[0].text()?);
        }
    }
    Ok(added)
}

/// For each building id, its campaign and turf now (unknown ids are left out).
pub(crate) async fn building_owners<'a>(
    tx: &mut dyn Tx,
    ids: impl IntoIterator<Item = &'a str>,
) -> StoreResult<HashMap<String, (String, Option<String>)>> {
    owners(tx, BUILDING_OWNERS, ids).await
}

/// For each id, its campaign and turf now, through `select` (`SELECT x.id, b.campaign_id,
/// b.turf_id … WHERE x.id IN` — the list is appended).
pub(crate) async fn owners<'a>(
    tx: &mut dyn Tx,
    select: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> StoreResult<HashMap<String, (String, Option<String>)>> {
    let mut ids: Vec<&str> = ids.into_iter().collect::<HashSet<_>>().into_iter().collect();
    // In id order: each batch reads neighbouring pages of the id index.
    ids.sort_unstable();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("{select} ({})", list.join(", "));
        let params: Vec<Val> = chunk.iter().map(|id| Val::from(*id)).collect();
        for r in tx.rows(&sql, &params).await? {
            out.insert(r[0].text()?, (r[1].text()?, r[2].opt_text()?));
        }
    }
    Ok(out)
}

pub(crate) const BUILDING_OWNERS: &str = "SELECT b.id, b.campaign_id, b.turf_id FROM buildings b WHERE b.id IN";

// ----- its SQL (the same text on both backends; see `store::sql`) -----

const BUMP_TURF_RETURNING: &str = "UPDATE turfs SET version = version + 1 WHERE id = $1 RETURNING version";

const INSERT_TURF_OP: &str = "INSERT INTO turf_ops(turf_id, version, body) VALUES ($1, $2, $3)";
