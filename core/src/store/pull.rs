//! Applying what the server sends on pull: each bucket's package (checked against its checksum
//! before and after), the `removed` turfs, and the wipe order of a revoked device. Purges and the
//! wipe keep every report the server has not acknowledged.

use doorstep_protocol::{
    Building, Door, Entrance, HeldTurf, Household, Person, PullResponse, TurfPackage, turf_checksum,
};
use rusqlite::{Connection, Transaction};

use super::turfs::load_campaign_for_turf;
use super::{Store, meta_get, meta_set};
use crate::error::{CoreError, Result};
use crate::views::PurgeSummary;

/// What a pull changed on the device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PullSummary {
    pub turfs_updated: u32,
    pub turfs_unchanged: u32,
    pub turfs_removed: u32,
    /// Of `turfs_updated`, how many came as a delta rather than a whole package.
    pub deltas_applied: u32,
    pub wiped: bool,
    /// Reports kept because the server has not acknowledged them yet.
    pub reports_kept_pending: u32,
}

fn export(c: &Connection, turf_id: &str) -> Result<TurfPackage> {
    let campaign = load_campaign_for_turf(c, turf_id)?;
    let (name, version, volunteer, lease): (String, i64, String, Option<i64>) =
        c.query_row("SELECT name, version, volunteer_id, lease_expires_ms FROM turfs WHERE id = ?1", [turf_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let buildings = c
        .prepare("SELECT id, street, house_number, postcode, city, polling_station, lat, lon FROM buildings WHERE turf_id = ?1")?
        .query_map([turf_id], |r| {
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
    let entrances = c
        .prepare(
            "SELECT e.id, e.building_id, e.label, e.digicode, e.interphone, e.caretaker, e.notes FROM entrances e
             JOIN buildings b ON b.id = e.building_id WHERE b.turf_id = ?1",
        )?
        .query_map([turf_id], |r| {
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
    let rows = c
        .prepare(
            "SELECT d.id, d.building_id, d.entrance_id, d.floor, d.label, d.safety_flags FROM doors d
             JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = ?1",
        )?
        .query_map([turf_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, String>(5)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let doors = rows
        .into_iter()
        .map(|(id, building_id, entrance_id, floor, label, flags)| {
            Ok(Door { id, building_id, entrance_id, floor, label, safety_flags: serde_json::from_str(&flags)? })
        })
        .collect::<Result<Vec<_>>>()?;
    let households = c
        .prepare(
            "SELECT h.id, h.door_id FROM households h JOIN doors d ON d.id = h.door_id
             JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = ?1",
        )?
        .query_map([turf_id], |r| Ok(Household { id: r.get(0)?, door_id: r.get(1)? }))?
        .collect::<Result<Vec<_>, _>>()?;
    let people = c
        .prepare(
            "SELECT p.id, p.household_id, p.display_name, p.birth_year FROM people p
             JOIN households h ON h.id = p.household_id JOIN doors d ON d.id = h.door_id
             JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = ?1",
        )?
        .query_map([turf_id], |r| {
            Ok(Person { id: r.get(0)?, household_id: r.get(1)?, display_name: r.get(2)?, birth_year: r.get(3)? })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TurfPackage {
        format: doorstep_protocol::TURF_PACKAGE_FORMAT,
        campaign,
        turf: doorstep_protocol::TurfInfo {
            id: turf_id.to_string(),
            name,
            version: version as u64,
            volunteer_id: volunteer,
            lease_expires_ms: lease,
        },
        buildings,
        entrances,
        doors,
        households,
        people,
        street_network: None,
    })
}

fn wipe(tx: &Transaction<'_>) -> Result<u32> {
    let kept = tx.query_row("SELECT count(*) FROM outbox WHERE state = 'pending'", [], |r| r.get::<_, i64>(0))? as u32;
    tx.execute_batch(
        "DELETE FROM knocks WHERE id IN (SELECT knock_id FROM outbox WHERE state <> 'pending');
         DELETE FROM route_stops; DELETE FROM drafts; DELETE FROM buildings; DELETE FROM turfs;
         DELETE FROM campaigns WHERE id NOT IN (SELECT campaign_id FROM knocks);
         DELETE FROM channels; DELETE FROM read_marks;
         DELETE FROM messages WHERE id NOT IN (SELECT id FROM message_outbox WHERE state = 'pending');
         DELETE FROM people_view; DELETE FROM people_outbox WHERE state <> 'pending';",
    )?;
    meta_set(tx, "wiped", "1")?;
    Ok(kept)
}

impl Store {
    /// What the device holds, for a pull request.
    pub fn held_turfs(&self) -> Result<Vec<HeldTurf>> {
        self.read(|c| {
            Ok(c.prepare("SELECT id, version, staged FROM turfs ORDER BY id")?
                .query_map([], |r| {
                    Ok(HeldTurf { turf_id: r.get(0)?, version: r.get::<_, i64>(1)? as u64, staged: r.get(2)? })
                })?
                .collect::<Result<_, _>>()?)
        })
    }

    /// The turf as the device holds it, in package form (for checksums and debugging).
    pub fn export_turf(&self, turf_id: &str) -> Result<TurfPackage> {
        self.read(|c| export(c, turf_id))
    }

    /// The cursor of the last applied pull.
    pub fn pull_cursor(&self) -> Result<Option<String>> {
        self.read(|c| meta_get(c, "pull_cursor"))
    }

    /// Whether the server ordered this device wiped.
    pub fn is_wiped(&self) -> Result<bool> {
        self.read(|c| Ok(meta_get(c, "wiped")?.is_some()))
    }

    /// Applies a pull response. Each bucket is applied atomically and checked: the package must
    /// match the bucket's checksum, and what the store holds afterwards must too.
    pub fn apply_pull(&self, resp: &PullResponse) -> Result<PullSummary> {
        if resp.protocol != doorstep_protocol::PROTOCOL_VERSION {
            return Err(CoreError::BadMessage(format!("protocol {}", resp.protocol)));
        }
        let mut sum = PullSummary::default();
        if resp.wipe {
            sum.reports_kept_pending = self.write(wipe)?;
            sum.wiped = true;
            return Ok(sum);
        }
        for b in &resp.buckets {
            if let Some(d) = &b.delta {
                if d.turf_id != b.turf_id || d.version != b.version {
                    return Err(CoreError::BadMessage(format!(
                        "turf {}: delta for another turf or version",
                        b.turf_id
                    )));
                }
                // Applied on the version it was made for, the delta must give the server's checksum;
                // if anything disagrees the turf is marked stale (version 0) so the next pull brings
                // the whole package, and nothing else is touched.
                let applied = self.apply_turf_delta_value(d);
                let ok = applied.is_ok() && turf_checksum(&self.export_turf(&b.turf_id)?) == b.checksum;
                if !ok {
                    self.write(|tx| {
                        tx.execute("UPDATE turfs SET version = 0 WHERE id = ?1", [&b.turf_id])?;
                        Ok(())
                    })?;
                    return Err(CoreError::BadMessage(format!(
                        "turf {}: delta did not reproduce the server's turf{}; the next pull fetches it whole",
                        b.turf_id,
                        applied.err().map(|e| format!(" ({e})")).unwrap_or_default()
                    )));
                }
                sum.turfs_updated += 1;
                sum.deltas_applied += 1;
                continue;
            }
            match &b.package {
                None => sum.turfs_unchanged += 1,
                Some(p) => {
                    if turf_checksum(p) != b.checksum {
                        return Err(CoreError::BadMessage(format!(
                            "turf {}: package does not match its checksum",
                            b.turf_id
                        )));
                    }
                    self.apply_turf_package_value(p)?;
                    // Sealed (a session's turf, until a lease opens it) or open, as the server says.
                    self.write(|tx| {
                        tx.execute(
                            "UPDATE turfs SET staged = ?1 WHERE id = ?2",
                            rusqlite::params![b.staged, b.turf_id],
                        )?;
                        Ok(())
                    })?;
                    let held = turf_checksum(&self.export_turf(&b.turf_id)?);
                    if held != b.checksum {
                        return Err(CoreError::BadMessage(format!(
                            "turf {}: store differs from the server after apply",
                            b.turf_id
                        )));
                    }
                    sum.turfs_updated += 1;
                }
            }
        }
        // What others did on the turfs' doors: each list replaces the turf's (one transaction).
        let facts: Vec<_> = resp.buckets.iter().filter_map(|b| Some((&b.turf_id, b.door_facts.as_ref()?))).collect();
        if !facts.is_empty() {
            self.write(|tx| {
                for (turf, list) in &facts {
                    tx.execute("DELETE FROM door_facts WHERE turf_id = ?1", [turf])?;
                    let held: bool =
                        tx.query_row("SELECT EXISTS (SELECT 1 FROM turfs WHERE id = ?1)", [turf], |r| r.get(0))?;
                    if !held {
                        continue;
                    }
                    let mut st = tx.prepare_cached(
                        "INSERT OR IGNORE INTO door_facts(turf_id, door_id, report_id, supersedes, outcome)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?;
                    for f in list.iter() {
                        st.execute(rusqlite::params![
                            turf,
                            f.door_id,
                            f.report_id,
                            f.supersedes,
                            super::knocks::outcome_text(f.outcome)
                        ])?;
                    }
                }
                Ok(())
            })?;
        }
        for t in &resp.removed {
            let p: PurgeSummary = self.remove_turf(t)?;
            sum.turfs_removed += 1;
            sum.reports_kept_pending += p.reports_kept_pending;
        }
        self.write(|tx| {
            meta_set(tx, "pull_cursor", &resp.cursor)?;
            tx.execute("DELETE FROM device_meta WHERE key = 'wiped'", [])?;
            Ok(())
        })?;
        Ok(sum)
    }
}
