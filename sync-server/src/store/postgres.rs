//! PostgreSQL backend for campaigns that outgrow one machine: several stateless server processes on
//! one database. tokio-postgres with a small pool; the same SQL as SQLite.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doorstep_protocol::{Building, Campaign, Door, Entrance, KnockReport, Target, TurfPackage};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, NoTls, Row};

use super::sql::*;
use super::tx::{AnyOp, AnyResult, PgTx};
use super::*;

#[derive(Debug, Clone)]
pub struct PgStore {
    url: String,
    idle: Arc<Mutex<Vec<Client>>>,
    slots: Arc<Semaphore>,
}

/// A client on loan from the pool; goes back when dropped (unless its connection died).
struct Pooled {
    client: Option<Client>,
    idle: Arc<Mutex<Vec<Client>>>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for Pooled {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until drop")
    }
}
impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}
impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.is_closed()
        {
            self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(c);
        }
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

impl PgStore {
    /// Connects (pool of up to `max` connections) and brings the schema up to date. Several
    /// processes may start at once: migration runs under an advisory lock.
    pub async fn connect(url: &str, max: usize) -> StoreResult<Self> {
        let store = Self { url: url.to_string(), idle: Arc::default(), slots: Arc::new(Semaphore::new(max.max(1))) };
        let mut c = store.get().await?;
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
                client
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

async fn load_campaign(c: &impl tokio_postgres::GenericClient, id: &str) -> StoreResult<Option<Campaign>> {
    c.query_opt(SELECT_CAMPAIGN, &[&id])
        .await?
        .map(|r| campaign_from_row(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .transpose()
}

#[async_trait]
impl ServerStore for PgStore {
    async fn op_any(&self, op: AnyOp) -> AnyResult {
        let mut c = self.get().await?;
        let t = c.transaction().await?;
        let out = op(&mut PgTx(&t)).await?;
        t.commit().await?;
        Ok(out)
    }

    async fn optimize(&self) -> StoreResult<()> {
        self.get().await?.batch_execute("ANALYZE").await?;
        Ok(())
    }

    async fn campaign(&self, id: &str) -> StoreResult<Option<Campaign>> {
        load_campaign(&*self.get().await?, id).await
    }

    async fn create_user(&self, u: &User) -> StoreResult<()> {
        self.get()
            .await?
            .execute(INSERT_USER, &[&u.id, &u.campaign_id, &u.role.as_str(), &u.display_name, &u.team_id])
            .await?;
        Ok(())
    }

    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        self.get().await?.query_opt(SELECT_USER, &[&id]).await?.as_ref().map(to_user).transpose()
    }

    async fn create_join_code(&self, code_hash: &str, user_id: &str, expires_ms: i64) -> StoreResult<()> {
        self.get().await?.execute(INSERT_JOIN_CODE, &[&code_hash, &user_id, &expires_ms]).await?;
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
        self.get().await?.execute(INSERT_DEVICE, &[&token_hash, &device_id, &user_id, &now_ms, &expires_ms]).await?;
        Ok(())
    }

    async fn device(&self, token_hash: &str) -> StoreResult<Option<Device>> {
        Ok(self.get().await?.query_opt(SELECT_DEVICE, &[&token_hash]).await?.map(|r| Device {
            device_id: r.get(0),
            user_id: r.get(1),
            campaign_id: r.get(2),
            expires_ms: r.get(3),
            revoked_ms: r.get(4),
        }))
    }

    async fn revoke_device(&self, device_id: &str, now_ms: i64) -> StoreResult<bool> {
        Ok(self.get().await?.execute(REVOKE_DEVICE, &[&now_ms, &device_id]).await? > 0)
    }

    async fn turf(&self, turf_id: &str) -> StoreResult<Option<TurfRow>> {
        Ok(self.get().await?.query_opt(SELECT_TURF, &[&turf_id]).await?.as_ref().map(turf_row))
    }

    async fn turfs_of(&self, volunteer_id: &str, now_ms: i64) -> StoreResult<Vec<TurfRow>> {
        Ok(self.get().await?.query(SELECT_TURFS_OF, &[&volunteer_id, &now_ms]).await?.iter().map(turf_row).collect())
    }

    async fn turf_package(&self, turf_id: &str) -> StoreResult<Option<TurfPackage>> {
        let mut c = self.get().await?;
        let tx = c.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).start().await?;
        let Some(turf) = tx.query_opt(SELECT_TURF, &[&turf_id]).await?.as_ref().map(turf_row) else { return Ok(None) };
        let campaign = load_campaign(&tx, &turf.campaign_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("turf {turf_id} without campaign")))?;
        let buildings = tx
            .query(SELECT_TURF_BUILDINGS, &[&turf_id])
            .await?
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
        let entrances = tx
            .query(SELECT_TURF_ENTRANCES, &[&turf_id])
            .await?
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
        let doors = tx
            .query(SELECT_TURF_DOORS, &[&turf_id])
            .await?
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
        let households = ops::turf_households(&mut PgTx(&tx), turf_id).await?;
        let people = ops::turf_people(&mut PgTx(&tx), turf_id).await?;
        tx.commit().await?;
        Ok(Some(package_from_rows(campaign, &turf, buildings, entrances, doors, households, people)))
    }

    /// A handful of round trips per batch whatever its size: find replays, locate every target,
    /// check scope, insert every report with one `INSERT … SELECT FROM UNNEST(…) ON CONFLICT DO
    /// NOTHING RETURNING id`, commit.
    async fn ingest(&self, device: &Device, reports: &[KnockReport], now_ms: i64) -> StoreResult<Vec<Ingested>> {
        type Loc = (String, Option<String>, Option<String>, Option<String>);
        let mut c = self.get().await?;
        let tx = c.transaction().await?;
        let ids: Vec<&str> = reports.iter().map(|r| r.id.as_str()).collect();
        let existing: HashSet<String> =
            tx.query(EXISTING_REPORTS_ANY, &[&ids]).await?.iter().map(|r| r.get(0)).collect();
        let of_kind = |k: fn(&Target) -> bool| -> Vec<&str> {
            reports.iter().filter(|r| k(&r.target)).map(|r| r.target.id()).collect()
        };
        let door_ids = of_kind(|t| matches!(t, Target::Door { .. }));
        let building_ids = of_kind(|t| matches!(t, Target::Building { .. }));
        let person_ids = of_kind(|t| matches!(t, Target::Person { .. }));
        let mut doors: HashMap<String, Loc> = HashMap::new();
        if !door_ids.is_empty() {
            for row in tx.query(LOCATE_DOORS_ANY, &[&door_ids, &device.campaign_id]).await? {
                doors.insert(row.get(0), (row.get(1), Some(row.get(0)), row.get(2), row.get(3)));
            }
        }
        let mut buildings: HashMap<String, Loc> = HashMap::new();
        if !building_ids.is_empty() {
            for row in tx.query(LOCATE_BUILDINGS_ANY, &[&building_ids, &device.campaign_id]).await? {
                buildings.insert(row.get(0), (row.get(0), None, row.get(1), row.get(2)));
            }
        }
        let mut people: HashMap<String, Loc> = HashMap::new();
        if !person_ids.is_empty() {
            for row in tx.query(LOCATE_PEOPLE_ANY, &[&person_ids, &device.campaign_id]).await? {
                people.insert(row.get(0), (row.get(1), Some(row.get(2)), row.get(3), row.get(4)));
            }
        }
        let turf_ids: Vec<&str> = reports.iter().map(|r| r.turf_id.as_str()).collect();
        let held: HashSet<String> =
            tx.query(HELD_EVER_ANY, &[&device.user_id, &turf_ids]).await?.iter().map(|r| r.get(0)).collect();
        let located: Vec<&str> =
            doors.values().chain(buildings.values()).chain(people.values()).map(|l| l.0.as_str()).collect();
        let moves: HashSet<(String, String)> =
            tx.query(WAS_IN_TURF_ANY, &[&located]).await?.iter().map(|r| (r.get(0), r.get(1))).collect();
        // `Err(overlap)`: waiting for the insert to say accepted or duplicate.
        let mut out: Vec<Result<Ingested, bool>> = Vec::with_capacity(reports.len());
        let mut cols: (Vec<&str>, Vec<&str>, Vec<String>, Vec<Option<String>>, Vec<&str>, Vec<Option<&str>>) =
            Default::default();
        let mut hlc: (Vec<i64>, Vec<i64>, Vec<bool>, Vec<String>, Vec<Option<&str>>) = Default::default();
        let mut at: (Vec<Option<f64>>, Vec<Option<f64>>) = Default::default();
        for r in reports {
            if existing.contains(&r.id) {
                out.push(Ok(Ingested::Duplicate));
                continue;
            }
            let loc = match r.target {
                Target::Building { .. } => buildings.get(r.target.id()),
                Target::Door { .. } => doors.get(r.target.id()),
                Target::Person { .. } => people.get(r.target.id()),
            };
            let Some((building, door, turf_now, holder_now)) = loc else {
                out.push(Ok(Ingested::UnknownTarget));
                continue;
            };
            let was_in = turf_now.as_deref() == Some(r.turf_id.as_str())
                || moves.contains(&(building.clone(), r.turf_id.clone()));
            if !held.contains(&r.turf_id) || !was_in {
                out.push(Ok(Ingested::OutOfScope));
                continue;
            }
            let overlap = is_overlap(r, device, turf_now.as_deref(), holder_now.as_deref());
            cols.0.push(&r.id);
            cols.1.push(&r.turf_id);
            cols.2.push(building.clone());
            cols.3.push(door.clone());
            cols.4.push(&r.result_code);
            cols.5.push(r.supersedes.as_deref());
            hlc.0.push(r.hlc.millis);
            hlc.1.push(r.hlc.counter as i64);
            hlc.2.push(overlap);
            hlc.3.push(json(r));
            hlc.4.push(matches!(r.target, Target::Person { .. }).then(|| r.target.id()));
            at.0.push(r.position.map(|p| p.lat));
            at.1.push(r.position.map(|p| p.lon));
            out.push(Err(overlap));
        }
        let inserted: HashSet<String> = tx
            .query(
                INSERT_REPORTS_UNNEST,
                &[
                    &cols.0,
                    &device.campaign_id,
                    &cols.1,
                    &cols.2,
                    &cols.3,
                    &device.device_id,
                    &device.user_id,
                    &cols.4,
                    &cols.5,
                    &hlc.0,
                    &hlc.1,
                    &hlc.2,
                    &now_ms,
                    &hlc.3,
                    &hlc.4,
                    &at.0,
                    &at.1,
                ],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.commit().await?;
        // The first occurrence of an inserted id is the accepted one; any other is a duplicate.
        let mut seen: HashSet<&str> = HashSet::new();
        Ok(reports
            .iter()
            .zip(out)
            .map(|(r, decided)| match decided {
                Ok(d) => d,
                Err(overlap) if inserted.contains(&r.id) && seen.insert(r.id.as_str()) => {
                    Ingested::Accepted { overlap }
                }
                Err(_) => Ingested::Duplicate,
            })
            .collect())
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
