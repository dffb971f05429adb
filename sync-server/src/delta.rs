//! Turning a turf's op log into a [`TurfDelta`]: a pure function of the current package and the
//! ops since the device's version. Applied to the device's copy at that version it reproduces the
//! package exactly (the bucket's checksum proves it on the device).

use std::collections::BTreeSet;

use doorstep_protocol::{TURF_PACKAGE_FORMAT, TurfDelta, TurfPackage};

use crate::store::TurfOp;

pub fn delta_from(pkg: &TurfPackage, base_version: u64, ops: &[(u64, TurfOp)]) -> TurfDelta {
    let (mut added, mut removed) = (BTreeSet::new(), BTreeSet::new());
    let (mut campaign, mut lease, mut network) = (false, false, false);
    for (_, op) in ops {
        for b in &op.add {
            removed.remove(b);
            added.insert(b.clone());
        }
        for b in &op.remove {
            added.remove(b);
            removed.insert(b.clone());
        }
        campaign |= op.campaign;
        lease |= op.lease;
        // The part of the network a turf carries follows its buildings.
        network |= op.network || !op.add.is_empty() || !op.remove.is_empty();
    }
    let in_pkg: BTreeSet<&str> = pkg.buildings.iter().map(|b| b.id.as_str()).collect();
    let upsert_buildings: Vec<_> = pkg.buildings.iter().filter(|b| added.contains(&b.id)).cloned().collect();
    let upsert_doors: Vec<_> = pkg.doors.iter().filter(|d| added.contains(&d.building_id)).cloned().collect();
    let door_ids: BTreeSet<&str> = upsert_doors.iter().map(|d| d.id.as_str()).collect();
    let upsert_households: Vec<_> =
        pkg.households.iter().filter(|h| door_ids.contains(h.door_id.as_str())).cloned().collect();
    let household_ids: BTreeSet<&str> = upsert_households.iter().map(|h| h.id.as_str()).collect();
    TurfDelta {
        format: TURF_PACKAGE_FORMAT,
        turf_id: pkg.turf.id.clone(),
        base_version,
        version: pkg.turf.version,
        campaign: campaign.then(|| pkg.campaign.clone()),
        lease_expires_ms: lease.then_some(pkg.turf.lease_expires_ms),
        upsert_entrances: pkg.entrances.iter().filter(|e| added.contains(&e.building_id)).cloned().collect(),
        upsert_people: pkg.people.iter().filter(|p| household_ids.contains(p.household_id.as_str())).cloned().collect(),
        upsert_buildings,
        upsert_doors,
        upsert_households,
        remove_buildings: removed.into_iter().filter(|b| !in_pkg.contains(b.as_str())).collect(),
        remove_doors: vec![],
        remove_people: vec![],
        street_network: if network { pkg.street_network.clone() } else { None },
    }
}
