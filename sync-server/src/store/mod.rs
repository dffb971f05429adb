//! Server storage behind one trait, [`ServerStore`], with two backends that run the same
//! conformance suite: SQLite (embedded default, [`sqlite::SqliteStore`]) and PostgreSQL
//! ([`postgres::PgStore`], several stateless server processes on one database). Both use the SQL in
//! [`sql`]; decisions (validation, scope) are made above the store, in the service layer, except
//! what must be atomic with the write (deduplication, overlap detection).

pub mod dash;
pub mod import;
pub mod operations;
pub mod ops;
pub mod pg_listen;
pub mod pg_stats;
pub mod postgres;
pub mod push;
pub mod records;
pub mod shared_store;
pub mod sms_store;
pub mod sql;
pub mod sqlite;
pub mod tx;

pub use operations::StoreOps;
pub use records::*;
pub use shared_store::SharedStore;
pub use sms_store::SmsStore;

use async_trait::async_trait;
use doorstep_protocol::merge::Decision;
use doorstep_protocol::{Campaign, KnockReport, TurfPackage};

#[async_trait]
pub trait ServerStore: Send + Sync + std::fmt::Debug + 'static {
    async fn campaign(&self, id: &str) -> StoreResult<Option<Campaign>>;
    async fn create_user(&self, u: &User) -> StoreResult<()>;
    async fn user(&self, id: &str) -> StoreResult<Option<User>>;
    async fn create_join_code(&self, code_hash: &str, user_id: &str, expires_ms: i64) -> StoreResult<()>;
    /// Consumes the code (once, unexpired) and registers the device token, atomically. `None` when
    /// the code is unknown, used or expired.
    async fn redeem_join_code(
        &self,
        code_hash: &str,
        device_id: &str,
        token_hash: &str,
        now_ms: i64,
        token_expires_ms: i64,
    ) -> StoreResult<Option<User>>;
    /// Registers a token for a user directly (staff API tokens; devices go through join codes).
    async fn register_token(
        &self,
        token_hash: &str,
        device_id: &str,
        user_id: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<()>;
    async fn turf(&self, turf_id: &str) -> StoreResult<Option<TurfRow>>;
    /// The turfs a volunteer holds now (lease not expired).
    async fn turfs_of(&self, volunteer_id: &str, now_ms: i64) -> StoreResult<Vec<TurfRow>>;
    /// A full package of the turf as it is now.
    async fn turf_package(&self, turf_id: &str) -> StoreResult<Option<TurfPackage>>;
    /// A push, in one write transaction: gathers the facts the batch needs
    /// ([`doorstep_protocol::merge::BatchFacts`]), lets `input.plan` decide every report, writes
    /// what was decided (counted reports, reports held for review), records that the device
    /// synced and appends the push's audit line. Returns the decisions, in the batch's order.
    /// Written once row by row ([`push::push_rowwise`]); PostgreSQL gathers by batch.
    async fn push(&self, input: PushInput, reports: &[KnockReport]) -> StoreResult<Vec<Decision>> {
        let reports = reports.to_vec();
        typed(self, move |tx| Box::pin(async move { push::push_rowwise(tx, &input, &reports).await })).await
    }
    async fn reports(&self, campaign_id: &str) -> StoreResult<Vec<StoredReport>>;

    /// Runs `op` inside one write transaction: committed if it returns `Ok`, rolled back
    /// otherwise. Every operation below is written once, over [`tx::Tx`], in [`ops`].
    async fn op_any(&self, op: tx::AnyOp) -> tx::AnyResult;

    /// The database connections now (sampled when metrics are scraped).
    fn pool(&self) -> PoolState {
        PoolState::default()
    }

    /// Refreshes the query planner's statistics (after an import or a cut, and every hour in
    /// `serve`): SQLite's `PRAGMA optimize`, PostgreSQL's `ANALYZE`.
    async fn optimize(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Whether several server processes may share this store (PostgreSQL): then request buckets
    /// live in the database and live events go through it.
    fn shared(&self) -> bool {
        false
    }

    /// Reports `n` requests to a bucket every process shares and takes the last, in one statement
    /// (PostgreSQL): the same rule as [`crate::ratelimit::take_n`] (refilled by the time since, at
    /// most `burst`; the `n - 1` served before taken whatever is left, then one token for the last,
    /// none when less than one is left), written as SQL so that it costs one round trip and no
    /// transaction. `None`: the store has no shared buckets.
    async fn take_shared(
        &self,
        _key: &str,
        _burst: f64,
        _per_s: f64,
        _now_ms: i64,
        _n: u32,
    ) -> StoreResult<Option<(bool, f64)>> {
        Ok(None)
    }

    /// Sends a live event to every server process listening on this database (PostgreSQL:
    /// `NOTIFY`, after the change committed). `false`: the store has no such channel (SQLite, one
    /// process), the caller tells its own dashboards.
    async fn publish(&self, _payload: &str) -> StoreResult<bool> {
        Ok(false)
    }

    /// Starts listening for every process's live events (PostgreSQL: `LISTEN` on a connection of
    /// its own, listening before this returns, reconnected when lost): `deliver` gets each event's
    /// payload, and `None` after a reconnection (events may have been missed meanwhile). `false`:
    /// the store has no such channel.
    async fn listen(&self, _deliver: LiveDeliver) -> StoreResult<bool> {
        Ok(false)
    }

    /// Runs a read-only `op` on one consistent snapshot. SQLite runs it on a reader connection, so
    /// that a long read (the dashboard's) never holds up the writer; the default is [`Self::op_any`].
    async fn read_any(&self, op: tx::AnyOp) -> tx::AnyResult {
        self.op_any(op).await
    }
}

/// Where a store's listener hands each live event's payload (`None`: some may have been missed).
pub type LiveDeliver = std::sync::Arc<dyn Fn(Option<String>) + Send + Sync>;

/// Runs a typed read-only operation through [`ServerStore::read_any`].
pub async fn typed_read<S, T, F>(store: &S, f: F) -> StoreResult<T>
where
    S: ServerStore + ?Sized,
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut dyn tx::Tx) -> tx::BoxFut<'a, StoreResult<T>> + Send + 'static,
{
    run_typed(store, true, f).await
}

/// Runs a typed operation through [`ServerStore::op_any`].
pub async fn typed<S, T, F>(store: &S, f: F) -> StoreResult<T>
where
    S: ServerStore + ?Sized,
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut dyn tx::Tx) -> tx::BoxFut<'a, StoreResult<T>> + Send + 'static,
{
    run_typed(store, false, f).await
}

async fn run_typed<S, T, F>(store: &S, read_only: bool, f: F) -> StoreResult<T>
where
    S: ServerStore + ?Sized,
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut dyn tx::Tx) -> tx::BoxFut<'a, StoreResult<T>> + Send + 'static,
{
    let op: tx::AnyOp =
        Box::new(move |tx| Box::pin(async move { f(tx).await.map(|v| Box::new(v) as Box<dyn std::any::Any + Send>) }));
    let started = std::time::Instant::now();
    let any = if read_only { store.read_any(op).await } else { store.op_any(op).await };
    crate::metrics::transaction_seconds()
        .get_or_create(&crate::metrics::ModeLabels { mode: if read_only { "read" } else { "write" } })
        .observe(started.elapsed().as_secs_f64());
    let any = any?;
    Ok(*any.downcast::<T>().expect("an operation returns the type it was typed with"))
}
