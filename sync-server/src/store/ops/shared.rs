//! What several server processes on one database share (issue 21), gathered and written here; the
//! decisions are the service's pure functions ([`crate::ratelimit`]): sign-in failures per key,
//! forgetting idle request buckets, and the fingerprint of the key that seals secrets.

use super::*;

/// The failed sign-ins of `keys` since `since_ms`, oldest first, each as `(key, at_ms)`.
pub async fn signin_failures(tx: &mut dyn Tx, keys: &[String], since_ms: i64) -> StoreResult<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for k in keys {
        for r in tx.rows(SELECT_FAILURES, &vals![k.as_str(), since_ms]).await? {
            out.push((k.clone(), r[0].int()?));
        }
    }
    Ok(out)
}

/// Records a failed sign-in under each key, and forgets failures older than `forget_before_ms`
/// (no wait lasts longer).
pub async fn record_signin_failure(
    tx: &mut dyn Tx,
    keys: &[String],
    now_ms: i64,
    forget_before_ms: i64,
) -> StoreResult<()> {
    tx.exec(FORGET_FAILURES, &vals![forget_before_ms]).await?;
    for k in keys {
        tx.exec(INSERT_FAILURE, &vals![k.as_str(), now_ms]).await?;
    }
    Ok(())
}

pub async fn clear_signin_failures(tx: &mut dyn Tx, key: &str) -> StoreResult<()> {
    tx.exec(CLEAR_FAILURES, &vals![key]).await?;
    Ok(())
}

/// Forgets buckets untouched since `before_ms` (full again by now: as good as new).
pub async fn forget_buckets(tx: &mut dyn Tx, before_ms: i64) -> StoreResult<u64> {
    tx.exec(FORGET_BUCKETS, &vals![before_ms]).await
}

/// The fingerprint of the key that seals this database's secrets: `fingerprint` recorded if none is
/// yet; the one recorded otherwise (a process with another key must not start).
pub async fn key_fingerprint(tx: &mut dyn Tx, fingerprint: &str, now_ms: i64) -> StoreResult<String> {
    // One row (id 1): of two processes starting at once, the second waits for the first's insert
    // and keeps it.
    tx.exec(INSERT_KEY_PRINT, &vals![fingerprint, now_ms]).await?;
    let r = tx.row(SELECT_KEY_PRINT, &[]).await?.ok_or_else(|| StoreError::Missing { kind: "key", id: "1".into() })?;
    r[0].text()
}

const SELECT_FAILURES: &str = "SELECT at_ms FROM signin_failures WHERE key = $1 AND at_ms >= $2 ORDER BY at_ms";
const FORGET_FAILURES: &str = "DELETE FROM signin_failures WHERE at_ms < $1";
const INSERT_FAILURE: &str = "INSERT INTO signin_failures(key, at_ms) VALUES ($1, $2)";
const CLEAR_FAILURES: &str = "DELETE FROM signin_failures WHERE key = $1";
const FORGET_BUCKETS: &str = "DELETE FROM rate_buckets WHERE at_ms < $1";
const SELECT_KEY_PRINT: &str = "SELECT fingerprint FROM server_key WHERE id = 1";
const INSERT_KEY_PRINT: &str = "INSERT INTO server_key(id, fingerprint, created_ms) VALUES (1, $1, $2)
    ON CONFLICT (id) DO NOTHING";
