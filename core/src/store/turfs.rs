//! Applying turf packages (full snapshots) and deltas atomically, and purging a turf the device no
//! longer holds. Unacknowledged reports always survive a purge.

use doorstep_protocol::validate::check_package;
use doorstep_protocol::validate::package::{check_building, check_campaign, check_format, check_network};
use doorstep_protocol::{Building, Campaign, Door, Entrance, Household, Person, TurfDelta, TurfPackage};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Store;
use crate::error::{CoreError, Result};
use crate::views::{ApplySummary, PurgeSummary, TurfSummary};

fn bad(msg: impl Into<String>) -> CoreError {
    CoreError::BadPackage(msg.into())
}

/// Largest turf package accepted, bytes (a 5,000-door turf with a street network is ~3 MB).
pub const MAX_PACKAGE_BYTES: usize = 64 * 1024 * 1024;

pub fn decode_package(bytes: &[u8]) -> Result<TurfPackage> {
    if bytes.len() > MAX_PACKAGE_BYTES {
        return Err(bad(format!("{} bytes is over the {} byte limit", bytes.len(), MAX_PACKAGE_BYTES)));
    }
    serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))
}

fn upsert_campaign(tx: &Transaction<'_>, c: &Campaign) -> Result<()> {
    tx.execute(
        "INSERT INTO campaigns(id, name, mode, result_codes, survey, survey_version, retention_until_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET name=excluded.name, mode=excluded.mode, result_codes=excluded.result_codes,
           survey=excluded.survey, survey_version=excluded.survey_version, retention_until_ms=excluded.retention_until_ms",
        params![
            c.id,
            c.name,
            serde_json::to_value(c.mode)?.as_str().unwrap_or_default(),
            serde_json::to_string(&c.result_codes)?,
            serde_json::to_string(&c.survey)?,
            c.survey.version,
            c.retention_until_ms
        ],
    )?;
    Ok(())
}

fn upsert_building(tx: &Transaction<'_>, turf_id: &str, b: &Building) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO buildings(id, turf_id, street, house_number, postcode, city, polling_station, lat, lon)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET turf_id=excluded.turf_id, street=excluded.street, house_number=excluded.house_number,
           postcode=excluded.postcode, city=excluded.city, polling_station=excluded.polling_station, lat=excluded.lat, lon=excluded.lon",
    )?
    .execute(params![b.id, turf_id, b.street, b.house_number, b.postcode, b.city, b.polling_station, b.lat, b.lon])?;
    Ok(())
}

fn upsert_entrance(tx: &Transaction<'_>, e: &Entrance) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO entrances(id, building_id, label, digicode, interphone, caretaker, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET building_id=excluded.building_id, label=excluded.label, digicode=excluded.digicode,
           interphone=excluded.interphone, caretaker=excluded.caretaker, notes=excluded.notes",
    )?
    .execute(params![e.id, e.building_id, e.label, e.digicode, e.interphone, e.caretaker, e.notes])?;
    Ok(())
}

fn upsert_door(tx: &Transaction<'_>, d: &Door) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO doors(id, building_id, entrance_id, floor, label, safety_flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET building_id=excluded.building_id, entrance_id=excluded.entrance_id, floor=excluded.floor,
           label=excluded.label, safety_flags=excluded.safety_flags",
    )?
    .execute(params![d.id, d.building_id, d.entrance_id, d.floor, d.label, serde_json::to_string(&d.safety_flags)?])?;
    Ok(())
}

fn upsert_household(tx: &Transaction<'_>, h: &Household) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO households(id, door_id) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET door_id=excluded.door_id",
    )?
    .execute(params![h.id, h.door_id])?;
    Ok(())
}

fn upsert_person(tx: &Transaction<'_>, p: &Person) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO people(id, household_id, display_name, birth_year) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET household_id=excluded.household_id, display_name=excluded.display_name, birth_year=excluded.birth_year",
    )?
    .execute(params![p.id, p.household_id, p.display_name, p.birth_year])?;
    Ok(())
}

fn turf_version(c: &Connection, turf_id: &str) -> Result<Option<u64>> {
    Ok(c.query_row("SELECT version FROM turfs WHERE id = ?1", [turf_id], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|v| v as u64))
}

/// Deletes drafts whose target no longer exists on the device.
fn drop_orphan_drafts(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM drafts WHERE
           (target_kind = 'building' AND target_id NOT IN (SELECT id FROM buildings)) OR
           (target_kind = 'door' AND target_id NOT IN (SELECT id FROM doors)) OR
           (target_kind = 'person' AND target_id NOT IN (SELECT id FROM people));",
    )?;
    Ok(())
}

fn count(c: &Connection, sql: &str, turf_id: &str) -> Result<u32> {
    Ok(c.query_row(sql, [turf_id], |r| r.get::<_, i64>(0))? as u32)
}

fn summary(c: &Connection, turf_id: &str, version: u64) -> Result<ApplySummary> {
    Ok(ApplySummary {
        turf_id: turf_id.to_string(),
        version,
        buildings: count(c, "SELECT count(*) FROM buildings WHERE turf_id = ?1", turf_id)?,
        doors: count(
            c,
            "SELECT count(*) FROM doors d JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = ?1",
            turf_id,
        )?,
        people: count(
            c,
            "SELECT count(*) FROM people p JOIN households h ON h.id = p.household_id JOIN doors d ON d.id = h.door_id
             JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = ?1",
            turf_id,
        )?,
    })
}

impl Store {
    /// Applies a full turf package (JSON bytes) atomically: afterwards the turf holds exactly what
    /// the package lists. Reports already recorded are kept.
    pub fn apply_turf_package(&self, bytes: &[u8]) -> Result<ApplySummary> {
        let p = decode_package(bytes)?;
        self.apply_turf_package_value(&p)
    }

    pub fn apply_turf_package_value(&self, p: &TurfPackage) -> Result<ApplySummary> {
        check_package(p)?;
        let now = self.clock.now_ms();
        self.write(|tx| {
            let t = &p.turf;
            if let Some(have) = turf_version(tx, &t.id)?
                && p.turf.version < have {
                    return Err(CoreError::StalePackage { turf: t.id.clone(), have, got: p.turf.version });
                }
            upsert_campaign(tx, &p.campaign)?;
            tx.execute(
                "INSERT INTO turfs(id, campaign_id, name, version, volunteer_id, lease_expires_ms, street_network, applied_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(id) DO UPDATE SET campaign_id=excluded.campaign_id, name=excluded.name, version=excluded.version,
                   volunteer_id=excluded.volunteer_id, lease_expires_ms=excluded.lease_expires_ms,
                   street_network=excluded.street_network, applied_ms=excluded.applied_ms",
                params![
                    t.id,
                    p.campaign.id,
                    t.name,
                    t.version as i64,
                    t.volunteer_id,
                    t.lease_expires_ms,
                    p.street_network.as_ref().map(serde_json::to_string).transpose()?,
                    now
                ],
            )?;
            tx.execute("DELETE FROM buildings WHERE turf_id = ?1", [&t.id])?;
            tx.execute("DELETE FROM route_stops WHERE turf_id = ?1", [&t.id])?;
            for b in &p.buildings {
                upsert_building(tx, &t.id, b)?;
            }
            for e in &p.entrances {
                upsert_entrance(tx, e)?;
            }
            for d in &p.doors {
                upsert_door(tx, d)?;
            }
            for h in &p.households {
                upsert_household(tx, h)?;
            }
            for person in &p.people {
                upsert_person(tx, person)?;
            }
            drop_orphan_drafts(tx)?;
            summary(tx, &t.id, t.version)
        })
    }

    /// Applies a delta (JSON bytes) atomically. The turf must be at the delta's base version.
    pub fn apply_turf_delta(&self, bytes: &[u8]) -> Result<ApplySummary> {
        let d: TurfDelta = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        self.apply_turf_delta_value(&d)
    }

    pub fn apply_turf_delta_value(&self, d: &TurfDelta) -> Result<ApplySummary> {
        check_format(d.format)?;
        if let Some(c) = &d.campaign {
            check_campaign(c)?;
        }
        for b in &d.upsert_buildings {
            check_building(b)?;
        }
        if let Some(net) = &d.street_network {
            check_network(net)?;
        }
        if d.version <= d.base_version {
            return Err(bad("a delta must move the turf forward"));
        }
        self.write(|tx| {
            let have = turf_version(tx, &d.turf_id)?.ok_or_else(|| CoreError::unknown("turf", &d.turf_id))?;
            if have != d.base_version {
                return Err(CoreError::DeltaBaseMismatch { turf: d.turf_id.clone(), have, base: d.base_version });
            }
            if let Some(c) = &d.campaign {
                upsert_campaign(tx, c)?;
            }
            for id in &d.remove_people {
                tx.execute("DELETE FROM people WHERE id = ?1", [id])?;
            }
            for id in &d.remove_doors {
                tx.execute("DELETE FROM doors WHERE id = ?1", [id])?;
            }
            for id in &d.remove_buildings {
                tx.execute("DELETE FROM buildings WHERE id = ?1 AND turf_id = ?2", [id, &d.turf_id])?;
            }
            for b in &d.upsert_buildings {
                upsert_building(tx, &d.turf_id, b)?;
            }
            let in_turf = |tx: &Transaction<'_>, building: &str| -> Result<bool> {
                Ok(tx
                    .query_row("SELECT 1 FROM buildings WHERE id = ?1 AND turf_id = ?2", [building, &d.turf_id], |_| Ok(()))
                    .optional()?
                    .is_some())
            };
            for e in &d.upsert_entrances {
                if !in_turf(tx, &e.building_id)? {
                    return Err(bad(format!("entrance {} belongs to building {} outside the turf", e.id, e.building_id)));
                }
                upsert_entrance(tx, e)?;
            }
            for door in &d.upsert_doors {
                if !in_turf(tx, &door.building_id)? {
                    return Err(bad(format!("door {} belongs to building {} outside the turf", door.id, door.building_id)));
                }
                upsert_door(tx, door)?;
            }
            for h in &d.upsert_households {
                upsert_household(tx, h).map_err(|e| bad(format!("household {}: {e}", h.id)))?;
            }
            for p in &d.upsert_people {
                upsert_person(tx, p).map_err(|e| bad(format!("person {}: {e}", p.id)))?;
            }
            let orphan: Option<String> = tx
                .query_row(
                    "SELECT b.id FROM buildings b WHERE b.turf_id = ?1 AND NOT EXISTS (SELECT 1 FROM doors d WHERE d.building_id = b.id) LIMIT 1",
                    [&d.turf_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(b) = orphan {
                return Err(bad(format!("building {b} would be left with no door")));
            }
            if let Some(net) = &d.street_network {
                tx.execute(
                    "UPDATE turfs SET street_network = ?2 WHERE id = ?1",
                    params![d.turf_id, serde_json::to_string(net)?],
                )?;
            }
            let mut sql = "UPDATE turfs SET version = ?2".to_string();
            if d.lease_expires_ms.is_some() {
                sql.push_str(", lease_expires_ms = ?3");
            }
            sql.push_str(" WHERE id = ?1");
            let lease = d.lease_expires_ms.flatten();
            if d.lease_expires_ms.is_some() {
                tx.execute(&sql, params![d.turf_id, d.version as i64, lease])?;
            } else {
                tx.execute(&sql, params![d.turf_id, d.version as i64])?;
            }
            tx.execute("DELETE FROM route_stops WHERE turf_id = ?1", [&d.turf_id])?;
            drop_orphan_drafts(tx)?;
            summary(tx, &d.turf_id, d.version)
        })
    }

    /// The server's "removed" signal: purge everything of the turf, except reports the server has
    /// not acknowledged yet (they stay in the outbox until pushed).
    pub fn remove_turf(&self, turf_id: &str) -> Result<PurgeSummary> {
        self.write(|tx| purge_turf(tx, turf_id))
    }

    /// Purges turfs whose lease ended and campaigns past their retention date.
    pub fn purge_expired(&self) -> Result<Vec<PurgeSummary>> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            let ids: Vec<String> = tx
                .prepare(
                    "SELECT t.id FROM turfs t JOIN campaigns c ON c.id = t.campaign_id
                     WHERE (t.lease_expires_ms IS NOT NULL AND t.lease_expires_ms <= ?1)
                        OR (c.retention_until_ms IS NOT NULL AND c.retention_until_ms <= ?1) ORDER BY t.id",
                )?
                .query_map([now], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.iter().map(|id| purge_turf(tx, id)).collect()
        })
    }

    pub fn turfs(&self) -> Result<Vec<TurfSummary>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT t.id, t.name, t.campaign_id, c.name, t.version, t.lease_expires_ms, t.street_network IS NOT NULL,
                   (SELECT count(*) FROM buildings b WHERE b.turf_id = t.id),
                   (SELECT count(*) FROM doors d JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = t.id), t.staged
                 FROM turfs t JOIN campaigns c ON c.id = t.campaign_id ORDER BY t.name, t.id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(TurfSummary {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    campaign_id: r.get(2)?,
                    campaign_name: r.get(3)?,
                    version: r.get::<_, i64>(4)? as u64,
                    lease_expires_ms: r.get(5)?,
                    has_street_network: r.get(6)?,
                    buildings: r.get::<_, i64>(7)? as u32,
                    doors: r.get::<_, i64>(8)? as u32,
                    sealed: r.get(9)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The campaign a turf belongs to (result codes and survey script for the knock form).
    pub fn campaign_for_turf(&self, turf_id: &str) -> Result<Campaign> {
        self.read(|c| load_campaign_for_turf(c, turf_id))
    }
}

pub(crate) fn load_campaign(c: &Connection, campaign_id: &str) -> Result<Campaign> {
    c.prepare_cached("SELECT id, name, mode, result_codes, survey, retention_until_ms FROM campaigns WHERE id = ?1")?
        .query_row([campaign_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .optional()?
        .ok_or_else(|| CoreError::unknown("campaign", campaign_id))
        .and_then(|(id, name, mode, codes, survey, retention)| {
            Ok(Campaign {
                id,
                name,
                mode: serde_json::from_value(serde_json::Value::String(mode))?,
                result_codes: serde_json::from_str(&codes)?,
                survey: serde_json::from_str(&survey)?,
                retention_until_ms: retention,
            })
        })
}

pub(crate) fn load_campaign_for_turf(c: &Connection, turf_id: &str) -> Result<Campaign> {
    let cid: String = c
        .query_row("SELECT campaign_id FROM turfs WHERE id = ?1", [turf_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| CoreError::unknown("turf", turf_id))?;
    load_campaign(c, &cid)
}

fn purge_turf(tx: &Transaction<'_>, turf_id: &str) -> Result<PurgeSummary> {
    let campaign: Option<String> =
        tx.query_row("SELECT campaign_id FROM turfs WHERE id = ?1", [turf_id], |r| r.get(0)).optional()?;
    let doors_removed = count(
        tx,
        "SELECT count(*) FROM doors d JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = ?1",
        turf_id,
    )?;
    let reports_kept_pending = count(
        tx,
        "SELECT count(*) FROM knocks k JOIN outbox o ON o.knock_id = k.id WHERE k.turf_id = ?1 AND o.state = 'pending'",
        turf_id,
    )?;
    // Push first, then purge: only settled reports go — those made on this turf or on its
    // buildings, unless their building is still held in another turf here (a street handed out
    // from a session's turf lives on in a turf of its own: the door's status there rests on them;
    // the deterministic simulation found a knocked door shown untouched).
    let reports_removed = tx.execute(
        "DELETE FROM knocks WHERE (turf_id = ?1 OR building_id IN (SELECT id FROM buildings WHERE turf_id = ?1))
           AND id IN (SELECT knock_id FROM outbox WHERE state <> 'pending')
           AND building_id NOT IN (SELECT id FROM buildings WHERE turf_id <> ?1)",
        [turf_id],
    )? as u32;
    tx.execute("DELETE FROM buildings WHERE turf_id = ?1", [turf_id])?;
    tx.execute("DELETE FROM turfs WHERE id = ?1", [turf_id])?;
    if let Some(cid) = campaign {
        tx.execute(
            "DELETE FROM campaigns WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM turfs WHERE campaign_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM knocks WHERE campaign_id = ?1)",
            [&cid],
        )?;
    }
    drop_orphan_drafts(tx)?;
    Ok(PurgeSummary { turf_id: turf_id.to_string(), doors_removed, reports_removed, reports_kept_pending })
}
