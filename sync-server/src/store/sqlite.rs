//! The embedded default: one SQLite file, WAL, `synchronous=FULL`; one writer thread that commits
//! waiting writes together (group commit) and two reader threads, so the async runtime never waits
//! on a disk sync and reads never wait for the writer.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doorstep_protocol::{Building, Campaign, Door, Entrance, TurfPackage};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::tx::{AnyOp, AnyResult, SqliteTx, run_ready};

use super::sql::*;
use super::*;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Reads on their way to the reader threads, each with a read-only connection of its own
    /// (WAL: a read sees a snapshot and never blocks the writer, nor waits for it).
    reads: std::sync::mpsc::Sender<ReadJob>,
    /// Reader threads busy now.
    reading: Arc<std::sync::atomic::AtomicU64>,
    /// Write operations on their way to the writer thread ([`write_groups`]).
    writes: std::sync::mpsc::Sender<Queued>,
    /// Commits made, and write operations they carried (so far).
    groups: Arc<GroupCount>,
}

#[derive(Debug, Default)]
pub struct GroupCount {
    pub commits: std::sync::atomic::AtomicU64,
    pub operations: std::sync::atomic::AtomicU64,
}

/// A read for a reader thread, on that thread's connection.
type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// Reader threads (and read-only connections): reads queue for them instead of piling up on one
/// connection's lock.
pub const READERS: usize = 2;

/// A write operation waiting for its group's commit, and where its answer goes.
struct Queued {
    op: AnyOp,
    done: tokio::sync::oneshot::Sender<AnyResult>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queued")
    }
}

/// The most write operations one commit carries.
pub const MAX_GROUP: usize = 128;

/// Group commit (issue 21): the writer thread takes every write operation waiting (up to
/// [`MAX_GROUP`]) and runs them one after the other in one transaction, each inside a savepoint of
/// its own (an operation that fails is rolled back alone, as if it had had its own transaction),
/// then commits once: one disk sync for the whole group instead of one each. Every operation's
/// answer is sent only after that commit, so what a phone sees acknowledged is on disk; if the
/// commit fails, every operation of the group fails. Operations see each other's writes in the
/// order they run, as they would one transaction after another.
fn write_groups(
    conn: Arc<Mutex<Connection>>,
    queue: std::sync::mpsc::Receiver<Queued>,
    count: Arc<GroupCount>,
    max_group: usize,
) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match queue.try_recv() {
                Ok(q) => group.push(q),
                Err(_) => break,
            }
        }
        let (ops, answers): (Vec<AnyOp>, Vec<_>) = group.into_iter().map(|q| (q.op, q.done)).unzip();
        count.commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        count.operations.fetch_add(ops.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let results = {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            commit_group(&mut c, ops)
        };
        for (done, r) in answers.into_iter().zip(results) {
            let _ = done.send(r);
        }
    }
}

fn commit_group(c: &mut Connection, ops: Vec<AnyOp>) -> Vec<AnyResult> {
    let failed = |n: usize, why: String| (0..n).map(|_| Err(StoreError::Join(why.clone()))).collect();
    let t = match c.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(t) => t,
        Err(e) => return failed(ops.len(), format!("cannot begin a write: {e}")),
    };
    let n = ops.len();
    let mut out = Vec::with_capacity(n);
    for op in ops {
        if let Err(e) = t.execute_batch("SAVEPOINT op") {
            return failed(n, format!("savepoint: {e}"));
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_ready(op(&mut SqliteTx(&t)))))
            .unwrap_or_else(|_| Err(StoreError::Join("a write operation panicked".into())));
        let end = if r.is_ok() { "RELEASE op" } else { "ROLLBACK TO op; RELEASE op" };
        if let Err(e) = t.execute_batch(end) {
            return failed(n, format!("savepoint: {e}"));
        }
        out.push(r);
    }
    match t.commit() {
        Ok(()) => out,
        Err(e) => failed(n, format!("commit: {e}")),
    }
}

impl SqliteStore {
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_grouped(path, MAX_GROUP)
    }

    /// With at most `max_group` write operations per commit (1: each its own commit, as before
    /// group commit; for benchmarks side by side).
    pub fn open_grouped(path: impl AsRef<Path>, max_group: usize) -> StoreResult<Self> {
        let path = path.as_ref();
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Stable plans: without this, the bundled SQLite (built with STAT4) re-prepares join
        // queries each time a new value is bound, which cost ingest a third of its time.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        // A server has disk to spare: checkpoint the WAL every 64 MiB rather than every 4 MiB (each
        // checkpoint syncs the database file), and truncate it back to 64 MiB afterwards.
        // A page cache of up to 256 MiB (allocated as pages are used; SQLite's default is 2 MiB):
        // ids are hashes, so an import's inserts land all over the id indexes, and with the
        // default cache a million-address import spent most of its time re-reading pages.
        conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;
             PRAGMA wal_autocheckpoint=16384; PRAGMA journal_size_limit=67108864;
             PRAGMA cache_size=-262144;",
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::NewerSchema(version));
        }
        // One step per version, each in its own IMMEDIATE transaction.
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for stmt in step.iter().filter(|s| sql::runs_on(s, "sqlite")) {
                tx.execute_batch(stmt)?;
            }
            match sql::refill(version as usize, i + 1) {
                Some(sql::Refill::Everything) => {
                    super::tx::run_ready(super::ops::counters::rebuild_all(&mut super::tx::SqliteTx(&tx)))?
                }
                Some(sql::Refill::Groups) => {
                    super::tx::run_ready(super::ops::groups::recount_all(&mut super::tx::SqliteTx(&tx)))?
                }
                None => {}
            }
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        conn.execute_batch("PRAGMA optimize=0x10002;")?;
        let (reads, jobs) = std::sync::mpsc::channel::<ReadJob>();
        let jobs = Arc::new(Mutex::new(jobs));
        let reading = Arc::new(std::sync::atomic::AtomicU64::new(0));
        for i in 0..READERS {
            let mut reader = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            reader.busy_timeout(std::time::Duration::from_secs(10))?;
            reader.execute_batch("PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;")?;
            let (jobs, busy) = (jobs.clone(), reading.clone());
            std::thread::Builder::new()
                .name(format!("doorstep-sqlite-reader-{i}"))
                .spawn(move || {
                    loop {
                        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = job else { break };
                        busy.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        // A read that panics loses its answer (its caller gets an error), not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut reader)));
                        busy.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
                .map_err(|e| StoreError::Join(format!("reader thread: {e}")))?;
        }
        let conn = Arc::new(Mutex::new(conn));
        let (writes, queue) = std::sync::mpsc::channel();
        let (writer, groups) = (conn.clone(), Arc::new(GroupCount::default()));
        let count = groups.clone();
        std::thread::Builder::new()
            .name("doorstep-sqlite-writer".into())
            .spawn(move || write_groups(writer, queue, count, max_group.max(1)))
            .map_err(|e| StoreError::Join(format!("writer thread: {e}")))?;
        Ok(Self { conn, reads, reading, writes, groups })
    }

    /// `(commits, write operations)` so far: how many operations shared each disk sync.
    pub fn group_commits(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.groups.commits.load(Relaxed), self.groups.operations.load(Relaxed))
    }

    /// On a reader thread: reads never wait behind the writer's group (WAL: they see what was
    /// committed when they start).
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: ReadJob = Box::new(move |c| {
            let _ = done.send(f(c));
        });
        self.reads.send(job).map_err(|_| StoreError::Join("the reader threads are gone".into()))?;
        answer.await.map_err(|_| StoreError::Join("a read failed without an answer".into()))?
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))?
    }
}

/// Planner statistics, gathered again (sampling about 20,000 rows per index, so it stays quick on
/// a big file: 14 ms at 107,872 doors): without them SQLite cannot tell that a captain's few turfs
/// select few rows, and scans the whole campaign. `PRAGMA optimize` alone judged stale statistics
/// fresh enough, and 1,000 rows a sample were too few to tell (doorstep-dashboard-bench).
const OPTIMIZE: &str = "PRAGMA analysis_limit=20000; ANALYZE;";

fn load_campaign(c: &Connection, id: &str) -> StoreResult<Option<Campaign>> {
    let row = c
        .prepare_cached(SELECT_CAMPAIGN)?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    row.map(|(a, b, c, d, e, f)| campaign_from_row(a, b, c, d, e, f)).transpose()
}

fn turf_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TurfRow> {
    Ok(TurfRow {
        id: r.get(0)?,
        campaign_id: r.get(1)?,
        name: r.get(2)?,
        version: r.get::<_, i64>(3)? as u64,
        volunteer_id: r.get(4)?,
        lease_expires_ms: r.get(5)?,
        team_id: r.get(6)?,
        checksum: match (r.get::<_, Option<String>>(7)?, r.get::<_, Option<i64>>(8)?) {
            (Some(sum), Some(v)) => Some((v as u64, sum)),
            _ => None,
        },
    })
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String, Option<String>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_user(row: (String, String, String, String, Option<String>)) -> StoreResult<User> {
    Ok(User { id: row.0, campaign_id: row.1, role: Role::parse(&row.2)?, display_name: row.3, team_id: row.4 })
}

#[async_trait]
impl ServerStore for SqliteStore {
    /// One writer connection and [`READERS`] reader connections; a held lock or a busy reader
    /// thread is a connection in use.
    fn pool(&self) -> PoolState {
        let size = 1 + READERS as u64;
        let readers = self.reading.load(std::sync::atomic::Ordering::Relaxed);
        let in_use = (u64::from(self.conn.try_lock().is_err()) + readers).min(size);
        PoolState { size, in_use, idle: size - in_use }
    }

    /// Through the writer thread: committed with whatever other writes are waiting
    /// ([`write_groups`]).
    async fn op_any(&self, op: AnyOp) -> AnyResult {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.writes.send(Queued { op, done }).map_err(|_| StoreError::Join("the writer thread is gone".into()))?;
        answer.await.map_err(|_| StoreError::Join("the writer thread is gone".into()))?
    }

    async fn read_any(&self, op: AnyOp) -> AnyResult {
        self.read(move |c| {
            // Deferred: a read transaction, one snapshot for every statement of the operation.
            let t = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = run_ready(op(&mut SqliteTx(&t)))?;
            t.commit()?;
            Ok(out)
        })
        .await
    }

    async fn optimize(&self) -> StoreResult<()> {
        self.run(|c| Ok(c.execute_batch(OPTIMIZE)?)).await
    }

    async fn campaign(&self, id: &str) -> StoreResult<Option<Campaign>> {
        let id = id.to_string();
        self.read(move |c| load_campaign(c, &id)).await
    }

    async fn create_user(&self, u: &User) -> StoreResult<()> {
        let u = u.clone();
        self.run(move |c| {
            c.execute(INSERT_USER, params![u.id, u.campaign_id, u.role.as_str(), u.display_name, u.team_id])?;
            Ok(())
        })
        .await
    }

    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        let id = id.to_string();
        self.read(move |c| {
            c.prepare_cached(SELECT_USER)?.query_row([id], user_row).optional()?.map(to_user).transpose()
        })
        .await
    }

    async fn create_join_code(&self, code_hash: &str, user_id: &str, expires_ms: i64) -> StoreResult<()> {
        let (h, u) = (code_hash.to_string(), user_id.to_string());
        self.run(move |c| {
            c.execute(INSERT_JOIN_CODE, params![h, u, expires_ms])?;
            Ok(())
        })
        .await
    }

    async fn redeem_join_code(
        &self,
        code_hash: &str,
        device_id: &str,
        token_hash: &str,
        now_ms: i64,
        token_expires_ms: i64,
    ) -> StoreResult<Option<User>> {
        let (h, d, t) = (code_hash.to_string(), device_id.to_string(), token_hash.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let user: Option<String> =
                tx.prepare_cached(USE_JOIN_CODE)?.query_row(params![now_ms, h], |r| r.get(0)).optional()?;
            let Some(user_id) = user else { return Ok(None) };
            tx.execute(INSERT_DEVICE, params![t, d, user_id, now_ms, token_expires_ms])?;
            let user = tx.prepare_cached(SELECT_USER)?.query_row([&user_id], user_row).map(to_user)??;
            tx.commit()?;
            Ok(Some(user))
        })
        .await
    }

    async fn register_token(
        &self,
        token_hash: &str,
        device_id: &str,
        user_id: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<()> {
        let (t, d, u) = (token_hash.to_string(), device_id.to_string(), user_id.to_string());
        self.run(move |c| {
            c.execute(INSERT_DEVICE, params![t, d, u, now_ms, expires_ms])?;
            Ok(())
        })
        .await
    }

    async fn turf(&self, turf_id: &str) -> StoreResult<Option<TurfRow>> {
        let t = turf_id.to_string();
        self.read(move |c| Ok(c.prepare_cached(SELECT_TURF)?.query_row([t], turf_row).optional()?)).await
    }

    async fn turfs_of(&self, volunteer_id: &str, now_ms: i64) -> StoreResult<Vec<TurfRow>> {
        let v = volunteer_id.to_string();
        self.read(move |c| {
            Ok(c.prepare_cached(SELECT_TURFS_OF)?.query_map(params![v, now_ms], turf_row)?.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn turf_package(&self, turf_id: &str) -> StoreResult<Option<TurfPackage>> {
        let t = turf_id.to_string();
        self.read(move |c| {
            let tx = c.transaction()?; // one snapshot
            let Some(turf) = tx.prepare_cached(SELECT_TURF)?.query_row([&t], turf_row).optional()? else {
                return Ok(None);
            };
            let campaign = load_campaign(&tx, &turf.campaign_id)?
                .ok_or_else(|| StoreError::Corrupt(format!("turf {t} without campaign")))?;
            let buildings = tx
                .prepare_cached(SELECT_TURF_BUILDINGS)?
                .query_map([&t], |r| {
                    Ok(Building {
                        id: r.get(0)?,
                        street: r.get(1)?,
                        house_number: r.get(2)?,
                        postcode: r.get(3)?,
                        city: r.get(4)?,
                        polling_station: r.get(5)?,
                        lat: r.get(6)?,
                        lon: r.get(7)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let entrances = tx
                .prepare_cached(SELECT_TURF_ENTRANCES)?
                .query_map([&t], |r| {
                    Ok(Entrance {
                        id: r.get(0)?,
                        building_id: r.get(1)?,
                        label: r.get(2)?,
                        digicode: r.get(3)?,
                        interphone: r.get(4)?,
                        caretaker: r.get(5)?,
                        notes: r.get(6)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let doors = tx
                .prepare_cached(SELECT_TURF_DOORS)?
                .query_map([&t], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, String>(5)?))
                })?
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(|(id, building_id, entrance_id, floor, label, flags)| {
                    Ok(Door {
                        id,
                        building_id,
                        entrance_id,
                        floor,
                        label,
                        safety_flags: serde_json::from_str(&flags).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let (households, people) = {
                let mut stx = SqliteTx(&tx);
                run_ready(async {
                    Ok::<_, StoreError>((
                        ops::turfs::turf_households(&mut stx, &t).await?,
                        ops::turfs::turf_people(&mut stx, &t).await?,
                    ))
                })?
            };
            Ok(Some(package_from_rows(campaign, &turf, buildings, entrances, doors, households, people)))
        })
        .await
    }

    async fn reports(&self, campaign_id: &str) -> StoreResult<Vec<StoredReport>> {
        let cid = campaign_id.to_string();
        self.read(move |c| {
            c.prepare_cached(SELECT_REPORTS)?
                .query_map([cid], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(|(body, overlap)| {
                    Ok(StoredReport {
                        report: serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        overlap,
                    })
                })
                .collect()
        })
        .await
    }
}
