//! One transaction interface over both backends, so that store operations that are not on the hot
//! path (teams, imports, script edits, reassignment, the op log) are written once, in
//! [`super::ops`], and run identically on SQLite and PostgreSQL. The hot paths (ingest, packages)
//! keep their backend-specific code.
//!
//! Values cross the boundary as [`Val`]; the shared SQL uses `$n` placeholders in order of first
//! use (see [`super::sql`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::records::{StoreError, StoreResult};

/// A SQL value in the types both backends share.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    /// A column of values as one array parameter (PostgreSQL only: `unnest($1::text[], …)`).
    Array(Vec<Val>),
}

impl Val {
    pub fn text(&self) -> StoreResult<String> {
        match self {
            Val::Text(s) => Ok(s.clone()),
            other => Err(StoreError::Corrupt(format!("expected text, got {other:?}"))),
        }
    }
    pub fn opt_text(&self) -> StoreResult<Option<String>> {
        match self {
            Val::Null => Ok(None),
            v => v.text().map(Some),
        }
    }
    pub fn int(&self) -> StoreResult<i64> {
        match self {
            Val::Int(i) => Ok(*i),
            Val::Bool(b) => Ok(i64::from(*b)),
            other => Err(StoreError::Corrupt(format!("expected an integer, got {other:?}"))),
        }
    }
    pub fn opt_int(&self) -> StoreResult<Option<i64>> {
        match self {
            Val::Null => Ok(None),
            v => v.int().map(Some),
        }
    }
    pub fn float(&self) -> StoreResult<f64> {
        match self {
            Val::Float(f) => Ok(*f),
            Val::Int(i) => Ok(*i as f64),
            other => Err(StoreError::Corrupt(format!("expected a number, got {other:?}"))),
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Self {
        Val::Text(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Self {
        Val::Text(s)
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Self {
        Val::Text(s.clone())
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Self {
        Val::Int(i)
    }
}
impl From<f64> for Val {
    fn from(f: f64) -> Self {
        Val::Float(f)
    }
}
impl From<bool> for Val {
    fn from(b: bool) -> Self {
        Val::Bool(b)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(o: Option<T>) -> Self {
        o.map_or(Val::Null, Into::into)
    }
}

/// `vals![a, b, c]` → `[Val; 3]`.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => { [$($crate::store::tx::Val::from($v)),*] };
}

pub type Row = Vec<Val>;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type AnyResult = StoreResult<Box<dyn std::any::Any + Send>>;
/// An operation over a transaction, type-erased so that [`super::ServerStore`] stays object-safe.
pub type AnyOp = Box<dyn for<'a> FnOnce(&'a mut dyn Tx) -> BoxFut<'a, AnyResult> + Send>;

/// A transaction in progress. Committed by the backend when the operation returns `Ok`, rolled
/// back otherwise.
#[async_trait]
pub trait Tx: Send {
    /// Runs a statement; returns the number of rows changed.
    async fn exec(&mut self, sql: &str, params: &[Val]) -> StoreResult<u64>;
    /// Runs a query; returns every row.
    async fn rows(&mut self, sql: &str, params: &[Val]) -> StoreResult<Vec<Row>>;
    /// Whether array parameters ([`Val::Array`]) work: PostgreSQL's, where a batch of rows goes
    /// in as one array per column (`unnest`) instead of a statement of thousands of parameters.
    fn arrays(&self) -> bool {
        false
    }
    /// The first row, if any.
    async fn row(&mut self, sql: &str, params: &[Val]) -> StoreResult<Option<Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }
    /// A write whose outcome the caller does not read (a counter added to, an audit line). SQLite
    /// runs it at once. PostgreSQL keeps it and sends it with the transaction's next statement, or
    /// at [`Tx::flush`], pipelined: the writes at the end of a push, a dozen round trips, become one
    /// (each round trip costs both processes a wake-up; `doorstep-server-bench`'s pushes of 30).
    /// Statements still run in the order they were given; an error surfaces at the statement that
    /// sends it, and the transaction fails as it would have.
    async fn defer(&mut self, sql: &str, params: Vec<Val>) -> StoreResult<()> {
        self.exec(sql, &params).await.map(|_| ())
    }
    /// Sends the writes kept by [`Tx::defer`]; the backends call it before they commit.
    async fn flush(&mut self) -> StoreResult<()> {
        Ok(())
    }
}

// ----- SQLite ------------------------------------------------------------------------------------

pub struct SqliteTx<'a>(pub &'a rusqlite::Transaction<'a>);

// SAFETY: a `SqliteTx` lives inside one `spawn_blocking` closure and is only used by futures that
// `run_ready` polls to completion on that same thread, so the connection is never touched from two
// threads. `Tx: Send` is required so the PostgreSQL side can hold one across real awaits.
unsafe impl Send for SqliteTx<'_> {}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Val::Array(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure("arrays are for PostgreSQL only".into()));
            }
        })
    }
}

// SQLite calls never wait: the futures below complete on their first poll.
#[async_trait]
impl Tx for SqliteTx<'_> {
    async fn exec(&mut self, sql: &str, params: &[Val]) -> StoreResult<u64> {
        debug_assert!(placeholders_in_order(sql), "placeholders out of order of first use: {sql}");
        Ok(self.0.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params))? as u64)
    }
    async fn rows(&mut self, sql: &str, params: &[Val]) -> StoreResult<Vec<Row>> {
        debug_assert!(placeholders_in_order(sql), "placeholders out of order of first use: {sql}");
        let mut st = self.0.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                use rusqlite::types::ValueRef;
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(v) => Val::Int(v),
                    ValueRef::Real(v) => Val::Float(v),
                    ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => return Err(StoreError::Corrupt("unexpected blob".into())),
                });
            }
            out.push(row);
        }
        Ok(out)
    }
}

/// Drives a future that never waits (an operation over [`SqliteTx`]) to completion on the
/// current thread.
pub fn run_ready<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(&mut fut).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("SQLite operations complete without waiting"),
    }
}

// ----- PostgreSQL --------------------------------------------------------------------------------

/// Operations over a PostgreSQL transaction — or over a bare connection, for a read
/// ([`super::ServerStore::read_any`]): under READ COMMITTED a transaction gives a read nothing
/// more (each statement sees what is committed when it starts) and costs two round trips.
/// Holds the writes [`Tx::defer`] keeps until they are sent: whoever commits calls
/// [`Tx::flush`] first.
pub struct PgTx<'a, C: tokio_postgres::GenericClient = tokio_postgres::Transaction<'a>> {
    client: &'a C,
    statements: Statements,
    deferred: Vec<(String, Vec<Val>)>,
}

impl<'a, C: tokio_postgres::GenericClient> PgTx<'a, C> {
    pub fn new(client: &'a C, statements: Statements) -> Self {
        PgTx { client, statements, deferred: Vec::new() }
    }
}

/// One connection's prepared statements, by SQL text, with when each was prepared: a statement run
/// again is bound and executed at once (one round trip instead of two, and PostgreSQL may keep its
/// plan) instead of being parsed and planned anew. Statements survive the transaction they were
/// prepared in, for [`STATEMENT_LIFETIME`].
pub type Statements = std::sync::Arc<
    std::sync::Mutex<std::collections::HashMap<String, (tokio_postgres::Statement, std::time::Instant)>>,
>;

/// How long a prepared statement is kept: then it is prepared again, and PostgreSQL plans it anew
/// for the tables as they are. A generic plan is kept by its statement; made while a table was
/// empty (the door facts of a campaign before its first knock), it read the whole table at every
/// pull once the table had grown (9.6 ms a pull instead of 0.2 on 46,000 rows).
pub const STATEMENT_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Statements kept per connection at most; past that the cache starts again (lists of ids make
/// many texts of one query).
const MAX_STATEMENTS: usize = 512;

/// Whether a statement takes an array of values (a batch of ids, rows written together): such a
/// statement is planned for the values it runs with, every time. A generic plan, which a connection
/// keeps once made — perhaps while the tables were small — walked a campaign's buildings for a
/// batch of ids and tested each row against a 500-id array (the push ingest; the cut placement
/// took 356 s). Every other statement may keep its plan: planning each statement at every run
/// cost PostgreSQL almost half its CPU on a phone's sync (`doorstep-national-load`, 2026-12-07);
/// other plans are made again every [`STATEMENT_LIFETIME`].
fn takes_arrays(sql: &str) -> bool {
    sql.contains("ANY($") || sql.contains("unnest($") || sql.contains("[]")
}

impl<C: tokio_postgres::GenericClient + Sync> PgTx<'_, C> {
    pub(crate) async fn statement(&self, sql: &str) -> StoreResult<tokio_postgres::Statement> {
        if takes_arrays(sql) {
            // A new statement starts with plans made for its values.
            return Ok(self.client.prepare(sql).await?);
        }
        if let Some((s, at)) = self.statements.lock().unwrap_or_else(|p| p.into_inner()).get(sql)
            && at.elapsed() < STATEMENT_LIFETIME
        {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        let mut cache = self.statements.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_STATEMENTS {
            cache.clear();
        }
        cache.insert(sql.to_string(), (s.clone(), std::time::Instant::now()));
        Ok(s)
    }

    /// The deferred writes, then `then` (if any) — all sent before any answer is awaited, in
    /// order: one round trip. Statements not yet prepared are prepared first (together).
    async fn pipelined(&mut self, then: Option<(&str, &[Val], Want)>) -> StoreResult<Answer> {
        let pending = std::mem::take(&mut self.deferred);
        let sqls: Vec<&str> = pending.iter().map(|(s, _)| s.as_str()).chain(then.map(|t| t.0)).collect();
        let prepared = futures_util::future::try_join_all(sqls.iter().map(|s| self.statement(s))).await?;
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = pending
            .iter()
            .map(|(_, p)| p.as_slice())
            .chain(then.map(|t| t.1))
            .map(|p| p.iter().map(|v| v as &(dyn ToSql + Sync)).collect())
            .collect();
        let n = pending.len();
        // Each future sends its messages when first polled, and `join` polls them in order.
        let writes = futures_util::future::try_join_all(
            prepared[..n].iter().zip(&params).map(|(st, p)| self.client.execute(st, p)),
        );
        Ok(match then.map(|t| t.2) {
            None => {
                writes.await?;
                Answer::Nothing
            }
            Some(Want::Rows) => {
                let (w, r) = futures_util::future::join(writes, self.client.query(&prepared[n], &params[n])).await;
                w?;
                Answer::Rows(r?)
            }
            Some(Want::Count) => {
                let (w, r) = futures_util::future::join(writes, self.client.execute(&prepared[n], &params[n])).await;
                w?;
                Answer::Count(r?)
            }
        })
    }
}

/// What the statement sent after the deferred writes answers with ([`PgTx::pipelined`]).
#[derive(Clone, Copy)]
enum Want {
    Rows,
    Count,
}

enum Answer {
    Nothing,
    Rows(Vec<tokio_postgres::Row>),
    Count(u64),
}

impl ToSql for Val {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self, ty) {
            (Val::Null, _) => Ok(IsNull::Yes),
            (Val::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Val::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Val::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Val::Int(i), _) => i.to_sql(ty, out),
            (Val::Float(f), _) => f.to_sql(ty, out),
            (Val::Text(s), _) => s.to_sql(ty, out),
            (Val::Bool(b), &Type::BOOL) => b.to_sql(ty, out),
            (Val::Bool(b), _) => i64::from(*b).to_sql(ty, out),
            (Val::Array(items), _) => items.to_sql(ty, out),
        }
    }
    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::FLOAT8
                | Type::TEXT
                | Type::VARCHAR
                | Type::BOOL
                | Type::UNKNOWN
                | Type::TEXT_ARRAY
                | Type::FLOAT8_ARRAY
                | Type::INT8_ARRAY
        )
    }
    to_sql_checked!();
}

fn pg_val(row: &tokio_postgres::Row, i: usize) -> StoreResult<Val> {
    let ty = row.columns()[i].type_().clone();
    Ok(match ty {
        Type::INT8 => row.get::<_, Option<i64>>(i).map_or(Val::Null, Val::Int),
        Type::INT4 => row.get::<_, Option<i32>>(i).map_or(Val::Null, |v| Val::Int(v.into())),
        Type::INT2 => row.get::<_, Option<i16>>(i).map_or(Val::Null, |v| Val::Int(v.into())),
        Type::FLOAT8 => row.get::<_, Option<f64>>(i).map_or(Val::Null, Val::Float),
        Type::BOOL => row.get::<_, Option<bool>>(i).map_or(Val::Null, Val::Bool),
        Type::TEXT | Type::VARCHAR => row.get::<_, Option<String>>(i).map_or(Val::Null, Val::Text),
        other => return Err(StoreError::Corrupt(format!("unexpected column type {other}"))),
    })
}

#[async_trait]
impl<C: tokio_postgres::GenericClient + Sync> Tx for PgTx<'_, C> {
    fn arrays(&self) -> bool {
        true
    }
    async fn exec(&mut self, sql: &str, params: &[Val]) -> StoreResult<u64> {
        if !self.deferred.is_empty() {
            return match self.pipelined(Some((sql, params, Want::Count))).await? {
                Answer::Count(n) => Ok(n),
                _ => unreachable!("a count was asked for"),
            };
        }
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let st = self.statement(sql).await?;
        Ok(self.client.execute(&st, &p).await?)
    }
    async fn rows(&mut self, sql: &str, params: &[Val]) -> StoreResult<Vec<Row>> {
        let rows = if self.deferred.is_empty() {
            let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let st = self.statement(sql).await?;
            self.client.query(&st, &p).await?
        } else {
            match self.pipelined(Some((sql, params, Want::Rows))).await? {
                Answer::Rows(r) => r,
                _ => unreachable!("rows were asked for"),
            }
        };
        rows.iter().map(|r| (0..r.len()).map(|i| pg_val(r, i)).collect()).collect()
    }
    async fn defer(&mut self, sql: &str, params: Vec<Val>) -> StoreResult<()> {
        self.deferred.push((sql.to_string(), params));
        Ok(())
    }
    async fn flush(&mut self) -> StoreResult<()> {
        if !self.deferred.is_empty() {
            self.pipelined(None).await?;
        }
        Ok(())
    }
}

/// Whether a statement's placeholders come in order of first use (`$1` first, then `$2`…): SQLite
/// binds them by position in that order, so `$2` before `$1` would bind the wrong values (it did
/// once: a session's attendance counted nothing). Checked on every statement in debug builds.
pub fn placeholders_in_order(sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut next = 1u32;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if let Ok(n) = sql[start..j].parse::<u32>() {
                if n == next {
                    next += 1;
                } else if n > next {
                    return false;
                }
            }
            i = j.max(start);
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod placeholder_tests {
    #[test]
    fn placeholders_in_order_of_first_use() {
        use super::placeholders_in_order as ok;
        assert!(ok("SELECT 1 WHERE a = $1 AND b = $2 AND c = $1"));
        assert!(ok("SELECT 1"));
        assert!(!ok("SELECT 1 WHERE a = $2 AND b = $1"));
        assert!(!ok("SELECT 1 WHERE a = $1 AND b = $3"));
    }
}
