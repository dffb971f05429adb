//! A checksum of a turf's content that the server and the device compute the same way from their
//! own rows, so that a device can prove it holds exactly what the server sent (a checkpoint).

use crate::turf::TurfPackage;

/// Canonical form: buildings, entrances, doors, households and people, each sorted by id, with the
/// campaign's survey version, serialised as JSON and hashed with FNV-1a 128 (no crypto needed:
/// this detects divergence, it does not authenticate).
pub fn turf_checksum(p: &TurfPackage) -> String {
    let mut b = p.buildings.clone();
    b.sort_by(|x, y| x.id.cmp(&y.id));
    let mut e = p.entrances.clone();
    e.sort_by(|x, y| x.id.cmp(&y.id));
    let mut d = p.doors.clone();
    d.sort_by(|x, y| x.id.cmp(&y.id));
    for door in &mut d {
        door.safety_flags.sort();
    }
    let mut h = p.households.clone();
    h.sort_by(|x, y| x.id.cmp(&y.id));
    let mut pe = p.people.clone();
    pe.sort_by(|x, y| x.id.cmp(&y.id));
    let canon = serde_json::to_vec(&(&p.turf.id, p.turf.version, p.campaign.survey.version, b, e, d, h, pe))
        .expect("turf content serialises");
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in canon {
        hash ^= byte as u128;
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    format!("{hash:032x}")
}
