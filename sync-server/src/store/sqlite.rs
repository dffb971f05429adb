//! The embedded default: one SQLite file, WAL, `synchronous=FULL`, one writer. Calls run on
//! tokio's blocking pool so the async runtime never waits on a disk sync.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doorstep_protocol::{Building, Campaign, Door, Entrance, KnockReport, TurfPackage};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::sql::*;
use super::*;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        // A server has disk to spare: checkpoint the WAL every 64 MiB rather than every 4 MiB (each
        // checkpoint syncs the database file), and truncate it back to 64 MiB afterwards.
        conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;
             PRAGMA wal_autocheckpoint=16384; PRAGMA journal_size_limit=67108864;",
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > 1 {
            return Err(StoreError::NewerSchema(version));
        }
        if version == 0 {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for stmt in SCHEMA_V1 {
                tx.execute_batch(stmt)?;
            }
            tx.pragma_update(None, "user_version", 1)?;
            tx.commit()?;
        }
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
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

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

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
    async fn create_campaign(&self, c: &Campaign, now_ms: i64) -> StoreResult<()> {
        let c = c.clone();
        self.run(move |conn| {
            let mode = serde_json::to_value(c.mode).expect("mode").as_str().unwrap_or_default().to_string();
            let n = conn.execute(
                INSERT_CAMPAIGN,
                params![c.id, c.name, mode, json(&c.result_codes), json(&c.survey), c.retention_until_ms, now_ms],
            )?;
            if n == 0 {
                return Err(StoreError::Conflict(format!("campaign {}", c.id)));
            }
            Ok(())
        })
        .await
    }

    async fn campaign(&self, id: &str) -> StoreResult<Option<Campaign>> {
        let id = id.to_string();
        self.run(move |c| load_campaign(c, &id)).await
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
        self.run(move |c| c.prepare_cached(SELECT_USER)?.query_row([id], user_row).optional()?.map(to_user).transpose())
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

    async fn device(&self, token_hash: &str) -> StoreResult<Option<Device>> {
        let h = token_hash.to_string();
        self.run(move |c| {
            Ok(c.prepare_cached(SELECT_DEVICE)?
                .query_row([h], |r| {
                    Ok(Device {
                        device_id: r.get(0)?,
                        user_id: r.get(1)?,
                        campaign_id: r.get(2)?,
                        expires_ms: r.get(3)?,
                        revoked_ms: r.get(4)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn revoke_device(&self, device_id: &str, now_ms: i64) -> StoreResult<bool> {
        let d = device_id.to_string();
        self.run(move |c| Ok(c.execute(REVOKE_DEVICE, params![now_ms, d])? > 0)).await
    }

    async fn import(
        &self,
        campaign_id: &str,
        buildings: &[Building],
        entrances: &[Entrance],
        doors: &[Door],
    ) -> StoreResult<()> {
        let (cid, b, e, d) = (campaign_id.to_string(), buildings.to_vec(), entrances.to_vec(), doors.to_vec());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut st = tx.prepare_cached(INSERT_BUILDING)?;
                for x in &b {
                    st.execute(params![
                        x.id,
                        cid,
                        x.street,
                        x.house_number,
                        x.postcode,
                        x.city,
                        x.polling_station,
                        x.lat,
                        x.lon
                    ])?;
                }
                let mut st = tx.prepare_cached(INSERT_ENTRANCE)?;
                for x in &e {
                    st.execute(params![x.id, x.building_id, x.label, x.digicode, x.interphone, x.caretaker, x.notes])?;
                }
                let mut st = tx.prepare_cached(INSERT_DOOR)?;
                for x in &d {
                    st.execute(params![x.id, x.building_id, x.entrance_id, x.floor, x.label, json(&x.safety_flags)])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn create_turf(
        &self,
        campaign_id: &str,
        turf_id: &str,
        name: &str,
        building_ids: &[String],
    ) -> StoreResult<()> {
        let (cid, tid, name, ids) =
            (campaign_id.to_string(), turf_id.to_string(), name.to_string(), building_ids.to_vec());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(INSERT_TURF, params![tid, cid, name])?;
            for b in &ids {
                if tx.prepare_cached(SET_BUILDING_TURF)?.execute(params![tid, b, cid])? == 0 {
                    return Err(StoreError::Missing { kind: "building", id: b.clone() });
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn assign_turf(
        &self,
        turf_id: &str,
        volunteer_id: Option<&str>,
        lease_expires_ms: Option<i64>,
    ) -> StoreResult<()> {
        let (t, v) = (turf_id.to_string(), volunteer_id.map(str::to_string));
        self.run(move |c| {
            if c.execute(ASSIGN_TURF, params![v, lease_expires_ms, t])? == 0 {
                return Err(StoreError::Missing { kind: "turf", id: t });
            }
            Ok(())
        })
        .await
    }

    async fn move_buildings(
        &self,
        campaign_id: &str,
        building_ids: &[String],
        to_turf: &str,
    ) -> StoreResult<Vec<String>> {
        let (cid, ids, to) = (campaign_id.to_string(), building_ids.to_vec(), to_turf.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let dest = tx.prepare_cached(SELECT_TURF)?.query_row([&to], turf_row).optional()?;
            if dest.as_ref().is_none_or(|t| t.campaign_id != cid) {
                return Err(StoreError::Missing { kind: "turf", id: to });
            }
            let mut touched = vec![to.clone()];
            for b in &ids {
                let from: Option<Option<String>> =
                    tx.prepare_cached(SELECT_BUILDING_TURF)?.query_row([b], |r| r.get(0)).optional()?;
                let Some(from) = from else { return Err(StoreError::Missing { kind: "building", id: b.clone() }) };
                if tx.prepare_cached(SET_BUILDING_TURF)?.execute(params![to, b, cid])? == 0 {
                    return Err(StoreError::Missing { kind: "building", id: b.clone() });
                }
                if let Some(f) = from
                    && !touched.contains(&f)
                {
                    touched.push(f);
                }
            }
            for t in &touched {
                tx.prepare_cached(BUMP_TURF)?.execute([t])?;
            }
            tx.commit()?;
            Ok(touched)
        })
        .await
    }

    async fn turf(&self, turf_id: &str) -> StoreResult<Option<TurfRow>> {
        let t = turf_id.to_string();
        self.run(move |c| Ok(c.prepare_cached(SELECT_TURF)?.query_row([t], turf_row).optional()?)).await
    }

    async fn turfs_of(&self, volunteer_id: &str, now_ms: i64) -> StoreResult<Vec<TurfRow>> {
        let v = volunteer_id.to_string();
        self.run(move |c| {
            Ok(c.prepare_cached(SELECT_TURFS_OF)?.query_map(params![v, now_ms], turf_row)?.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn turf_package(&self, turf_id: &str) -> StoreResult<Option<TurfPackage>> {
        let t = turf_id.to_string();
        self.run(move |c| {
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
            Ok(Some(package_from_rows(campaign, &turf, buildings, entrances, doors)))
        })
        .await
    }

    async fn ingest(&self, device: &Device, reports: &[KnockReport], now_ms: i64) -> StoreResult<Vec<Ingested>> {
        let (device, reports) = (device.clone(), reports.to_vec());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut out = Vec::with_capacity(reports.len());
            for r in &reports {
                let loc: Option<(String, Option<String>, Option<String>, Option<String>)> = tx
                    .prepare_cached(locate_sql(&r.target))?
                    .query_row(params![r.target.id(), device.campaign_id], |x| {
                        Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?))
                    })
                    .optional()?;
                let Some((building, door, turf_now, holder_now)) = loc else {
                    out.push(Ingested::UnknownTarget);
                    continue;
                };
                let overlap = is_overlap(r, &device, turf_now.as_deref(), holder_now.as_deref());
                let n = tx.prepare_cached(INSERT_REPORT)?.execute(params![
                    r.id,
                    device.campaign_id,
                    r.turf_id,
                    building,
                    door,
                    device.device_id,
                    device.user_id,
                    r.result_code,
                    r.supersedes,
                    r.hlc.millis,
                    r.hlc.counter as i64,
                    overlap,
                    now_ms,
                    json(r)
                ])?;
                out.push(if n == 0 { Ingested::Duplicate } else { Ingested::Accepted { overlap } });
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn reports(&self, campaign_id: &str) -> StoreResult<Vec<StoredReport>> {
        let cid = campaign_id.to_string();
        self.run(move |c| {
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
