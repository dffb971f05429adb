//! The device store: one SQLite file holding the device's turfs, knock reports with their outbox,
//! drafts and routes. [`Store`] is the single entry point; writers run in one IMMEDIATE transaction
//! each, so every multi-row change is atomic, and `synchronous=FULL` makes a write durable when the
//! call returns.

mod drafts;
pub mod handoffs;
mod knocks;
pub mod messages;
pub mod people;
pub mod pull;
mod routes;
pub mod schema;
pub mod sessions;
pub use pull::PullSummary;
mod turfs;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::clock::{Clock, SystemClock};
use crate::error::{CoreError, Result};

/// How to open a store. `Store::open(path, key)` covers the app's needs; tests add a clock or a
/// SQLite VFS.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Encryption key handed in by the shell (Android Keystore / iOS Keychain). `None` opens a
    /// plain file.
    pub key: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// Name of a registered SQLite VFS (tests count syncs through one).
    pub vfs: Option<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { key: None, clock: Arc::new(SystemClock), vfs: None }
    }
}

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    path: PathBuf,
    device_id: String,
    last_knock: Mutex<knocks::LastKnock>,
}

/// Sets the connection's pragmas, in one place:
/// - `journal_mode=WAL`: readers never block the writer; one fsync per commit.
/// - `synchronous=FULL`: the WAL is fsynced at every commit, so a returned write survives a crash
///   or power loss (NORMAL would only survive a process crash).
/// - `foreign_keys=ON`, `temp_store=MEMORY`, `journal_size_limit` 4 MiB, `busy_timeout` 5 s.
/// - the query planner stability guarantee: a cached statement keeps its plan whatever values are
///   bound (the bundled SQLite is built with STAT4, which otherwise re-prepares join queries on
///   every new binding).
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(CoreError::NotOurStore {
            path: String::new(),
            why: format!("cannot use WAL (journal_mode={mode})"),
        });
    }
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=4194304;",
    )?;
    Ok(())
}

fn not_ours(path: &Path, e: impl std::fmt::Display) -> CoreError {
    CoreError::NotOurStore { path: path.display().to_string(), why: e.to_string() }
}

impl Store {
    /// Opens (creating if needed) the store at `path`. With `key`, the file (and its journal) is
    /// encrypted by SQLCipher (AES-256, a page HMAC): the shell keeps the key in the Android
    /// Keystore or iOS Keychain. A key of 64 hex digits is used as the raw 256-bit key; any other
    /// string as a passphrase (PBKDF2). A wrong key, or a key for a plain store, fails with
    /// [`CoreError::WrongKey`]; an encrypted store opened without a key cannot be told from any
    /// other foreign file ([`CoreError::NotOurStore`]). Either way nothing is changed.
    pub fn open(path: impl AsRef<Path>, key: Option<String>) -> Result<Self> {
        Self::open_with(path, OpenOptions { key, ..OpenOptions::default() })
    }

    pub fn open_with(path: impl AsRef<Path>, opts: OpenOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if opts.key.as_ref().is_some_and(|k| k.is_empty()) {
            return Err(CoreError::WrongKey("an empty key".into()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = match &opts.vfs {
            Some(vfs) => Connection::open_with_flags_and_vfs(&path, flags, vfs.as_str())?,
            None => Connection::open_with_flags(&path, flags)?,
        };
        if let Some(key) = &opts.key {
            // Must be the first statement on the connection.
            let raw = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
            let value = if raw { format!("x'{key}'") } else { key.clone() };
            conn.pragma_update(None, "key", &value)?;
        }
        let keyed = opts.key.is_some();
        // Recognise a foreign file before changing anything in it.
        let (app_id, version, tables): (i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_schema)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| match e {
                // SQLCipher reads an encrypted page with the wrong key (or none) as garbage.
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase && keyed => {
                    CoreError::WrongKey(format!("{}", path.display()))
                }
                e => not_ours(&path, e),
            })?;
        if (tables > 0 || version > 0) && app_id != schema::APPLICATION_ID {
            return Err(not_ours(&path, format!("application_id is {app_id:#x}, not a Doorstep store")));
        }
        configure(&conn).map_err(|e| match e {
            CoreError::NotOurStore { why, .. } => not_ours(&path, why),
            other => other,
        })?;
        schema::migrate(&mut conn)?;
        let device_id = {
            let existing: Option<String> =
                conn.query_row("SELECT value FROM device_meta WHERE key = 'device_id'", [], |r| r.get(0)).optional()?;
            match existing {
                Some(id) => id,
                None => {
                    let id = uuid::Uuid::now_v7().to_string();
                    conn.execute("INSERT INTO device_meta(key, value) VALUES ('device_id', ?1)", [&id])?;
                    id
                }
            }
        };
        let last_knock = Mutex::new(knocks::load_last_knock(&conn)?);
        Ok(Self { conn: Mutex::new(conn), clock: opts.clock, path, device_id, last_knock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This installation's id, made at first open.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a closure leaves no open transaction (it rolls back on drop), so the
        // connection is still sound.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one IMMEDIATE transaction; commits if it returns Ok.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a consistent snapshot (a deferred read transaction).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
    }
}

pub(crate) fn meta_get(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(c.prepare_cached("SELECT value FROM device_meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)
}

pub(crate) fn meta_set(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO device_meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// The events of an outbox table (`signup_outbox`, `message_outbox`) not yet answered, oldest
/// first, at most 200, as they are pushed.
pub(crate) fn pending_events<T: serde::de::DeserializeOwned>(c: &Connection, table: &str) -> Result<Vec<T>> {
    let bodies: Vec<String> = c
        .prepare(&format!("SELECT body FROM {table} WHERE state = 'pending' ORDER BY id LIMIT 200"))?
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    bodies.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}

/// Files the server's answers to a push of an outbox table's events: each pending event becomes
/// accepted (held counts as accepted: the server has it), duplicate or rejected with its reason.
/// Returns how many were pending.
pub(crate) fn apply_answers(
    tx: &Transaction<'_>,
    table: &str,
    resp: &doorstep_protocol::PushResponse,
    now: i64,
) -> Result<u32> {
    use doorstep_protocol::ItemStatus;
    let mut n = 0;
    let sql =
        format!("UPDATE {table} SET state = ?1, reason = ?2, updated_ms = ?3 WHERE id = ?4 AND state = 'pending'");
    for r in &resp.results {
        let (state, reason) = match &r.status {
            ItemStatus::Accepted | ItemStatus::Held { .. } => ("accepted", None),
            ItemStatus::Duplicate => ("duplicate", None),
            ItemStatus::Rejected { reason, .. } => ("rejected", Some(reason.clone())),
        };
        n += tx.execute(&sql, rusqlite::params![state, reason, now, r.id])? as u32;
    }
    Ok(n)
}
