//! PostgreSQL backend for campaigns that outgrow one machine: several stateless server processes on
//! one database. tokio-postgres with a small pool; the same SQL as SQLite.

use std::collections::HashSet;

use doorstep_protocol::merge::{Decision, Place, Write};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doorstep_protocol::{Building, Campaign, Door, Entrance, KnockReport, Target, TurfPackage};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, Row};

use super::sql::*;
use super::tx::{AnyOp, AnyResult, PgTx, Statements, Tx};
use super::*;

#[derive(Debug, Clone)]
pub struct PgStore {
    url: String,
    idle: Arc<Mutex<Vec<(Client, Statements)>>>,
    slots: Arc<Semaphore>,
    max: usize,
    /// A check of the tables the knocks fill is waiting ([`super::pg_stats`]): at most one.
    checking: Arc<std::sync::atomic::AtomicBool>,
}

/// A client on loan from the pool; goes back when dropped (unless its connection died).
struct Pooled {
    client: Option<(Client, Statements)>,
    idle: Arc<Mutex<Vec<(Client, Statements)>>>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for Pooled {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client.as_ref().expect("present until drop").0
    }
}
impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client.as_mut().expect("present until drop").0
    }
}
impl Pooled {
    /// This connection's prepared statements.
    fn statements(&self) -> Statements {
        self.client.as_ref().expect("present until drop").1.clone()
    }
    /// `sql` prepared on this connection, once.
    async fn prepared(&self, sql: &str) -> StoreResult<tokio_postgres::Statement> {
        PgTx::new(&**self, self.statements()).statement(sql).await
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.0.is_closed()
        {
            self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(c);
        }
    }
}

impl PgStore {
    /// After a push that stored reports: unless one is waiting, a check of the tables the knocks
    /// fill a moment later, off the request ([`super::pg_stats`]).
    fn check_statistics_soon(&self) {
        use std::sync::atomic::Ordering;
        if self.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(super::pg_stats::CHECK_AFTER).await;
            if let Err(e) = store.analyze_grown().await {
                tracing::warn!(error = %e, "the tables the knocks fill could not be analyzed");
            }
            store.checking.store(false, Ordering::Release);
        });
    }

    /// Analyzes the tables the knocks fill that grew by half since their last analysis, unless
    /// another process is at it; returns the tables analyzed.
    pub async fn analyze_grown(&self) -> StoreResult<Vec<&'static str>> {
        use super::pg_stats::{FACTS, STATISTICS_TARGET, TableFacts, analyze_sql, plan};
        let mut c = self.get().await?;
        let tx = c.transaction().await?;
        if !tx.query_one("SELECT pg_try_advisory_xact_lock(4443)", &[]).await?.get::<_, bool>(0) {
            return Ok(Vec::new());
        }
        let facts: Vec<TableFacts> = tx
            .query(FACTS, &[])
            .await?
            .iter()
            .map(|r| TableFacts { table: r.get(0), rows: r.get(1), changed: r.get(2) })
            .collect();
        let tables = plan(&facts);
        if let Some(sql) = analyze_sql(&tables) {
            tx.batch_execute(&format!("SET LOCAL default_statistics_target = {STATISTICS_TARGET}; {sql}")).await?;
        }
        tx.commit().await?;
        Ok(tables)
    }

    /// Connects (pool of up to `max` connections) and brings the schema up to date. Several
    /// processes may start at once: migration runs under an advisory lock.
    pub async fn connect(url: &str, max: usize) -> StoreResult<Self> {
        let store = Self {
            url: url.to_string(),
            idle: Arc::default(),
            slots: Arc::new(Semaphore::new(max.max(1))),
            max: max.max(1),
            checking: Arc::default(),
        };
        let mut c = store.get().await?;
        let stmts = c.statements();
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(4442)", &[]).await?;
        tx.execute("CREATE TABLE IF NOT EXISTS doorstep_schema (version BIGINT NOT NULL)", &[]).await?;
        let v: Option<i64> = tx.query_opt("SELECT version FROM doorstep_schema", &[]).await?.map(|r| r.get(0));
        let have = v.unwrap_or(0);
        if have > MIGRATIONS.len() as i64 {
            return Err(StoreError::NewerSchema(have));
        }
        if v.is_none() {
            tx.execute("INSERT INTO doorstep_schema(version) VALUES (0)", &[]).await?;
        }
        // Every step inside the one transaction held under the lock: all or nothing.
        for (i, step) in MIGRATIONS.iter().enumerate().skip(have as usize) {
            for stmt in step.iter().filter(|s| sql::runs_on(s, "postgres")) {
                tx.batch_execute(stmt).await?;
            }
            match sql::refill(have as usize, i + 1) {
                Some(sql::Refill::Everything) => {
                    let mut ptx = PgTx::new(&tx, stmts.clone());
                    ops::counters::rebuild_all(&mut ptx).await?;
                    ptx.flush().await?;
                }
                Some(sql::Refill::Groups) => {
                    let mut ptx = PgTx::new(&tx, stmts.clone());
                    ops::groups::recount_all(&mut ptx).await?;
                    ptx.flush().await?;
                }
                None => {}
            }
            tx.execute("UPDATE doorstep_schema SET version = $1", &[&(i as i64 + 1)]).await?;
        }
        tx.commit().await?;
        drop(c);
        Ok(store)
    }

    async fn get(&self) -> StoreResult<Pooled> {
        let permit = self.slots.clone().acquire_owned().await.expect("semaphore never closed");
        let existing = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let client = match existing {
            Some(c) => c,
            None => {
                let (client, conn) = tokio_postgres::connect(&self.url, NoTls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                // Each statement is kept prepared (no parse per run) and PostgreSQL may keep a
                // generic plan for it, as it does by default; a statement given an array of ids
                // is planned for its values each time ([`PgTx::statement`]).
                (client, Statements::default())
            }
        };
        Ok(Pooled { client: Some(client), idle: self.idle.clone(), _permit: permit })
    }
}

fn turf_row(r: &Row) -> TurfRow {
    TurfRow {
        id: r.get(0),
        campaign_id: r.get(1),
        name: r.get(2),
        version: r.get::<_, i64>(3) as u64,
        volunteer_id: r.get(4),
        lease_expires_ms: r.get(5),
        team_id: r.get(6),
        checksum: match (r.get::<_, Option<String>>(7), r.get::<_, Option<i64>>(8)) {
            (Some(sum), Some(v)) => Some((v as u64, sum)),
            _ => None,
        },
    }
}

fn to_user(r: &Row) -> StoreResult<User> {
    Ok(User {
        id: r.get(0),
        campaign_id: r.get(1),
        role: Role::parse(r.get(2))?,
        display_name: r.get(3),
        team_id: r.get(4),
    })
}

async fn load_campaign(
    c: &impl tokio_postgres::GenericClient,
    st: &tokio_postgres::Statement,
    id: &str,
) -> StoreResult<Option<Campaign>> {
    c.query_opt(st, &[&id])
        .await?
        .map(|r| campaign_from_row(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .transpose()
}

/// A located target's place from a row of one of the `LOCATE_…_ANY` statements: the columns of
/// its building, its door (if any) and its turf now, the holder's column just after the turf's.
fn place_at(row: &Row, building: usize, door: Option<usize>, turf: usize) -> Place {
    Place {
        building_id: row.get(building),
        door_id: door.map(|d| row.get(d)),
        turf_now: row.get(turf),
        holder_now: row.get(turf + 1),
    }
}

/// Targets of one kind located for a push (no query when there are none).
async fn locate(
    tx: &tokio_postgres::Transaction<'_>,
    sql: &str,
    ids: &[&str],
    campaign: &str,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    tx.query_typed(sql, &[(&ids, Type::TEXT_ARRAY), (&campaign, Type::TEXT)]).await
}

#[async_trait]
impl ServerStore for PgStore {
    /// Up to `max` connections; a connection on loan holds a permit.
    fn pool(&self) -> PoolState {
        let in_use = (self.max - self.slots.available_permits()) as u64;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).len() as u64;
        PoolState { size: self.max as u64, in_use, idle }
    }

    async fn op_any(&self, op: AnyOp) -> AnyResult {
        let mut c = self.get().await?;
        let stmts = c.statements();
        let t = c.transaction().await?;
        let mut ptx = PgTx::new(&t, stmts.clone());
        let out = op(&mut ptx).await?;
        ptx.flush().await?;
        t.commit().await?;
        Ok(out)
    }

    /// A read runs on a pooled connection without a transaction: the store's transactions are
    /// READ COMMITTED, where one gives a read nothing (each statement sees what is committed when
    /// it starts) and costs a `BEGIN` and a `COMMIT` round trip.
    async fn read_any(&self, op: AnyOp) -> AnyResult {
        let c = self.get().await?;
        let stmts = c.statements();
        let mut ptx = PgTx::new(&*c, stmts);
        let out = op(&mut ptx).await?;
        ptx.flush().await?;
        Ok(out)
    }

    async fn optimize(&self) -> StoreResult<()> {
        self.get().await?.batch_execute("ANALYZE").await?;
        Ok(())
    }

    fn shared(&self) -> bool {
        true
    }

    async fn take_shared(
        &self,
        key: &str,
        burst: f64,
        per_s: f64,
        now_ms: i64,
        n: u32,
    ) -> StoreResult<Option<(bool, f64)>> {
        let c = self.get().await?;
        let n = n.max(1) as i32;
        let r = c.query_one(&c.prepared(TAKE_SHARED).await?, &[&key, &burst, &now_ms, &per_s, &n]).await?;
        Ok(Some((r.get(0), r.get(1))))
    }

    async fn publish(&self, payload: &str) -> StoreResult<bool> {
        let sql = "SELECT pg_notify($1, $2)";
        let c = self.get().await?;
        c.execute(&c.prepared(sql).await?, &[&super::pg_listen::LIVE_CHANNEL, &payload]).await?;
        Ok(true)
    }

    async fn listen(&self, deliver: LiveDeliver) -> StoreResult<bool> {
        super::pg_listen::listen(&self.url, deliver).await?;
        Ok(true)
    }

    async fn campaign(&self, id: &str) -> StoreResult<Option<Campaign>> {
        let c = self.get().await?;
        load_campaign(&*c, &c.prepared(SELECT_CAMPAIGN).await?, id).await
    }

    async fn create_user(&self, u: &User) -> StoreResult<()> {
        self.get()
            .await?
            .execute(INSERT_USER, &[&u.id, &u.campaign_id, &u.role.as_str(), &u.display_name, &u.team_id])
            .await?;
        Ok(())
    }

    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        let c = self.get().await?;
        c.query_opt(&c.prepared(SELECT_USER).await?, &[&id]).await?.as_ref().map(to_user).transpose()
    }

    async fn create_join_code(&self, code_hash: &str, user_id: &str, expires_ms: i64) -> StoreResult<()> {
        let c = self.get().await?;
        c.execute(&c.prepared(INSERT_JOIN_CODE).await?, &[&code_hash, &user_id, &expires_ms]).await?;
        Ok(())
    }

    async fn redeem_join_code(
        &self,
        code_hash: &str,
        device_id: &str,
        token_hash: &str,
        now_ms: i64,
        token_expires_ms: i64,
    ) -> StoreResult<Option<User>> {
        let mut c = self.get().await?;
        let tx = c.transaction().await?;
        let Some(row) = tx.query_opt(USE_JOIN_CODE, &[&now_ms, &code_hash]).await? else { return Ok(None) };
        let user_id: String = row.get(0);
        tx.execute(INSERT_DEVICE, &[&token_hash, &device_id, &user_id, &now_ms, &token_expires_ms]).await?;
        let user = to_user(&tx.query_one(SELECT_USER, &[&user_id]).await?)?;
        tx.commit().await?;
        Ok(Some(user))
    }

    async fn register_token(
        &self,
        token_hash: &str,
        device_id: &str,
        user_id: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<()> {
        let c = self.get().await?;
        c.execute(&c.prepared(INSERT_DEVICE).await?, &[&token_hash, &device_id, &user_id, &now_ms, &expires_ms])
            .await?;
        Ok(())
    }

    async fn turf(&self, turf_id: &str) -> StoreResult<Option<TurfRow>> {
        let c = self.get().await?;
        Ok(c.query_opt(&c.prepared(SELECT_TURF).await?, &[&turf_id]).await?.as_ref().map(turf_row))
    }

    async fn turfs_of(&self, volunteer_id: &str, now_ms: i64) -> StoreResult<Vec<TurfRow>> {
        let c = self.get().await?;
        Ok(c.query(&c.prepared(SELECT_TURFS_OF).await?, &[&volunteer_id, &now_ms])
            .await?
            .iter()
            .map(turf_row)
            .collect())
    }

    async fn turf_package(&self, turf_id: &str) -> StoreResult<Option<TurfPackage>> {
        let mut c = self.get().await?;
        let stmts = c.statements();
        let tx = c.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).start().await?;
        let ptx = PgTx::new(&tx, stmts.clone());
        let Some(turf) = tx.query_opt(&ptx.statement(SELECT_TURF).await?, &[&turf_id]).await?.as_ref().map(turf_row)
        else {
            return Ok(None);
        };
        // The rest in one pipeline: every query sent before the first answer is read.
        let (k, b, e, d) = (
            ptx.statement(SELECT_CAMPAIGN).await?,
            ptx.statement(SELECT_TURF_BUILDINGS).await?,
            ptx.statement(SELECT_TURF_ENTRANCES).await?,
            ptx.statement(SELECT_TURF_DOORS).await?,
        );
        let (mut h_tx, mut p_tx) = (PgTx::new(&tx, stmts.clone()), PgTx::new(&tx, stmts.clone()));
        let (campaign, buildings, entrances, doors, households, people) = tokio::try_join!(
            load_campaign(&tx, &k, &turf.campaign_id),
            async { Ok::<_, StoreError>(tx.query(&b, &[&turf_id]).await?) },
            async { Ok::<_, StoreError>(tx.query(&e, &[&turf_id]).await?) },
            async { Ok::<_, StoreError>(tx.query(&d, &[&turf_id]).await?) },
            ops::turfs::turf_households(&mut h_tx, turf_id),
            ops::turfs::turf_people(&mut p_tx, turf_id),
        )?;
        let campaign = campaign.ok_or_else(|| StoreError::Corrupt(format!("turf {turf_id} without campaign")))?;
        let buildings = buildings
            .iter()
            .map(|r| Building {
                id: r.get(0),
                street: r.get(1),
                house_number: r.get(2),
                postcode: r.get(3),
                city: r.get(4),
                polling_station: r.get(5),
                lat: r.get(6),
                lon: r.get(7),
            })
            .collect();
        let entrances = entrances
            .iter()
            .map(|r| Entrance {
                id: r.get(0),
                building_id: r.get(1),
                label: r.get(2),
                digicode: r.get(3),
                interphone: r.get(4),
                caretaker: r.get(5),
                notes: r.get(6),
            })
            .collect();
        let doors = doors
            .iter()
            .map(|r| {
                Ok(Door {
                    id: r.get(0),
                    building_id: r.get(1),
                    entrance_id: r.get(2),
                    floor: r.get(3),
                    label: r.get(4),
                    safety_flags: serde_json::from_str(r.get(5)).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some(package_from_rows(campaign, &turf, buildings, entrances, doors, households, people)))
    }

    /// A handful of round trips per batch whatever its size: the facts with one query per kind
    /// (known ids, doors, buildings, people, turfs held, buildings moved), the plan, every counted
    /// report with one `INSERT … SELECT FROM UNNEST(…) ON CONFLICT DO NOTHING RETURNING id`, then
    /// what every push does ([`push::finish`]), commit.
    async fn push(&self, input: PushInput, reports: &[KnockReport]) -> StoreResult<Vec<Decision>> {
        let mut c = self.get().await?;
        let stmts = c.statements();
        let tx = c.transaction().await?;
        let mut ptx = PgTx::new(&tx, stmts.clone());
        // The volunteer first (see `ops::shares::lock_volunteer`): their knocks are read and
        // written by one push at a time, and a retry waiting here sees the first copy as known.
        // The lock and the facts' queries are sent together (one round trip; PostgreSQL runs them
        // in order, each reading what is committed when it starts). Statements given arrays are
        // sent unnamed with their types (`query_typed`): planned for their values, without a
        // round trip to prepare them.
        let lock = ptx.statement(super::ops::shares::LOCK_VOLUNTEER).await?;
        let mut f = input.facts();
        let campaign = input.sender.campaign_id.as_str();
        let user = input.sender.user_id.as_str();
        let ids: Vec<&str> =
            reports.iter().flat_map(|r| std::iter::once(r.id.as_str()).chain(r.supersedes.as_deref())).collect();
        let of_kind = |k: fn(&Target) -> bool| -> Vec<&str> {
            reports.iter().filter(|r| k(&r.target)).map(|r| r.target.id()).collect()
        };
        let door_ids = of_kind(|t| matches!(t, Target::Door { .. }));
        let building_ids = of_kind(|t| matches!(t, Target::Building { .. }));
        let person_ids = of_kind(|t| matches!(t, Target::Person { .. }));
        let turf_ids: Vec<&str> = reports.iter().map(|r| r.turf_id.as_str()).collect();
        use futures_util::future::{try_join, try_join3, try_join4};
        // `try_join` polls its futures in order: each sends its query when first polled.
        let ((_, known, doors, buildings), (people, held, handoffs)) = try_join(
            try_join4(
                tx.execute(&lock, &[&user]),
                tx.query_typed(SELECT_KNOWN_ANY, &[(&ids, Type::TEXT_ARRAY)]),
                locate(&tx, LOCATE_DOORS_ANY, &door_ids, campaign),
                locate(&tx, LOCATE_BUILDINGS_ANY, &building_ids, campaign),
            ),
            try_join3(
                locate(&tx, LOCATE_PEOPLE_ANY, &person_ids, campaign),
                tx.query_typed(HELD_EVER_ANY, &[(&user, Type::TEXT), (&turf_ids, Type::TEXT_ARRAY)]),
                tx.query_typed(HANDOFF_STATUS_ANY, &[(&user, Type::TEXT), (&turf_ids, Type::TEXT_ARRAY)]),
            ),
        )
        .await?;
        for r in known {
            let k = known_from(r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6));
            f.known.insert(r.get(0), k);
        }
        for row in doors {
            f.places.insert(Target::Door { id: row.get(0) }, place_at(&row, 1, Some(0), 2));
        }
        for row in buildings {
            f.places.insert(Target::Building { id: row.get(0) }, place_at(&row, 0, None, 1));
        }
        for row in people {
            f.places.insert(Target::Person { id: row.get(0) }, place_at(&row, 1, Some(2), 3));
        }
        f.held_ever = held.iter().map(|r| r.get(0)).collect();
        for r in handoffs {
            super::push::handoff_fact(&mut f, r.get::<_, &str>(0), r.get::<_, &str>(1));
        }
        let located: Vec<&str> = f.places.values().map(|p| p.building_id.as_str()).collect();
        f.was_in = tx
            .query_typed(WAS_IN_TURF_ANY, &[(&located, Type::TEXT_ARRAY)])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut decisions = (input.plan)(&f, reports);
        let plan = super::push::plan_shares(&mut ptx, &input, &decisions).await?;
        let accepted: Vec<&Write> =
            decisions.iter().filter_map(|d| if let Decision::Accept(w) = d { Some(w) } else { None }).collect();
        let inserted: HashSet<String> = if accepted.is_empty() {
            HashSet::new()
        } else {
            let col =
                |g: fn(&Write) -> Option<String>| -> Vec<Option<String>> { accepted.iter().map(|w| g(w)).collect() };
            let ids = col(|w| Some(w.report.id.clone()));
            let turfs = col(|w| Some(w.report.turf_id.clone()));
            let buildings = col(|w| Some(w.building_id.clone()));
            let doors = col(|w| w.door_id.clone());
            let codes = col(|w| Some(w.report.result_code.clone()));
            let sups = col(|w| w.report.supersedes.clone());
            let bodies = col(|w| Some(serde_json::to_string(&w.report).expect("serialisable")));
            let people = col(|w| w.person_id.clone());
            let hashes = col(|w| Some(w.body_hash.clone()));
            let hm: Vec<i64> = accepted.iter().map(|w| w.report.hlc.millis).collect();
            let hc: Vec<i64> = accepted.iter().map(|w| w.report.hlc.counter as i64).collect();
            let ov: Vec<bool> = accepted.iter().map(|w| w.overlap).collect();
            let lat: Vec<Option<f64>> = accepted.iter().map(|w| w.report.position.map(|p| p.lat)).collect();
            let lon: Vec<Option<f64>> = accepted.iter().map(|w| w.report.position.map(|p| p.lon)).collect();
            let at: Vec<i64> = accepted.iter().map(|w| w.at_ms).collect();
            let share: Vec<Option<i64>> = accepted.iter().map(|w| plan.new.get(&w.report.id).copied()).collect();
            let (text, texts, bigints) = (Type::TEXT, Type::TEXT_ARRAY, Type::INT8_ARRAY);
            tx.query_typed(
                INSERT_REPORTS_UNNEST,
                &[
                    (&ids, texts.clone()),
                    (&campaign, text.clone()),
                    (&turfs, texts.clone()),
                    (&buildings, texts.clone()),
                    (&doors, texts.clone()),
                    (&input.sender.device_id, text.clone()),
                    (&input.sender.user_id, text),
                    (&codes, texts.clone()),
                    (&sups, texts.clone()),
                    (&hm, bigints.clone()),
                    (&hc, bigints.clone()),
                    (&ov, Type::BOOL_ARRAY),
                    (&input.received_ms, Type::INT8),
                    (&bodies, texts.clone()),
                    (&people, texts.clone()),
                    (&lat, Type::FLOAT8_ARRAY),
                    (&lon, Type::FLOAT8_ARRAY),
                    (&hashes, texts),
                    (&at, bigints.clone()),
                    (&share, bigints),
                ],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
        };
        let mut demoted = false;
        for d in decisions.iter_mut() {
            // Stored meanwhile by a concurrent push: that copy stands.
            if let Decision::Accept(w) = d
                && !inserted.contains(&w.report.id)
            {
                *d = Decision::Duplicate;
                demoted = true;
            }
        }
        let plan = if demoted { push::settle_shares(&mut ptx, &input, &decisions, plan).await? } else { plan };
        push::finish(&mut ptx, &input, &decisions, &plan).await?;
        ptx.flush().await?;
        tx.commit().await?;
        drop(c);
        if decisions.iter().any(|d| matches!(d, Decision::Accept(_))) {
            self.check_statistics_soon();
        }
        Ok(decisions)
    }

    async fn reports(&self, campaign_id: &str) -> StoreResult<Vec<StoredReport>> {
        self.get()
            .await?
            .query(SELECT_REPORTS, &[&campaign_id])
            .await?
            .iter()
            .map(|r| {
                Ok(StoredReport {
                    report: serde_json::from_str(r.get(0)).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    overlap: r.get(1),
                })
            })
            .collect()
    }
}

/// [`crate::ratelimit::take_n`] in one statement: `r` is the bucket refilled by the time since (at
/// most the burst; a clock behind the bucket's refills nothing), less the `$5 - 1` requests served
/// before and reported now; a token is taken for the last when `r >= 1`. Returns whether it was,
/// and the tokens left (below zero: the bucket owes them).
const TAKE_SHARED: &str = "INSERT INTO rate_buckets AS b (key, tokens, at_ms, granted)
    VALUES ($1, $2::float8 - ($5::int4 - 1) - CASE WHEN $2::float8 - ($5::int4 - 1) >= 1 THEN 1 ELSE 0 END,
            $3::int8, $2::float8 - ($5::int4 - 1) >= 1)
    ON CONFLICT (key) DO UPDATE SET
        granted = LEAST($2::float8, b.tokens + GREATEST($3::int8 - b.at_ms, 0) * $4::float8 / 1000.0)
            - ($5::int4 - 1) >= 1,
        tokens = LEAST($2::float8, b.tokens + GREATEST($3::int8 - b.at_ms, 0) * $4::float8 / 1000.0)
            - ($5::int4 - 1)
            - CASE WHEN LEAST($2::float8, b.tokens + GREATEST($3::int8 - b.at_ms, 0) * $4::float8 / 1000.0)
                - ($5::int4 - 1) >= 1 THEN 1 ELSE 0 END,
        at_ms = GREATEST($3::int8, b.at_ms)
    RETURNING granted, tokens";
