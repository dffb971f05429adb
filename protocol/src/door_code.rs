//! Door codes of the paper walk sheets (issue 17): six characters per door, unique within its
//! turf, printed beside the door with a QR code. The phone reads the QR code to open that door's
//! result form; the dashboard takes paper results typed by code. Both sides compute the codes
//! from the turf's door ids with [`door_codes`], so the phone needs nothing more than what it
//! holds.
//!
//! Crockford's base 32 (no I, L, O or U: nothing to misread on paper); typed codes are forgiving
//! ([`normalise`]: lower case, spaces and dashes, O for 0, I or L for 1).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

/// Characters per code.
pub const CODE_LEN: usize = 6;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// What a door's QR code says: `doorstep://porte/<turf id>/<code>`.
pub const QR_PREFIX: &str = "doorstep://porte/";

fn code_of(door_id: &str, salt: u32) -> String {
    let mut h = Sha256::new();
    h.update(b"doorstep-door-code-v1\0");
    h.update(door_id.as_bytes());
    h.update(salt.to_be_bytes());
    let d = h.finalize();
    // 30 bits, five at a time.
    let n = u64::from_be_bytes([0, 0, 0, d[0], d[1], d[2], d[3], d[4]]);
    (0..CODE_LEN).map(|i| ALPHABET[((n >> (35 - 5 * i)) & 31) as usize] as char).collect()
}

/// Every door's code, unique within the set: door ids in byte order, each takes its first code
/// not already taken (a collision — about one turf in 2,000 at 1,000 doors — moves the later id
/// to its next code). The same ids give the same codes in any order.
pub fn door_codes<'a>(door_ids: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    let ids: BTreeSet<&str> = door_ids.into_iter().collect();
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    for id in ids {
        let mut salt = 0;
        let code = loop {
            let c = code_of(id, salt);
            if taken.insert(c.clone()) {
                break c;
            }
            salt += 1;
        };
        out.insert(id.to_string(), code);
    }
    out
}

/// A typed code as printed, if it can be one: upper case, spaces and dashes dropped, `O` read as
/// `0` and `I`/`L` as `1`; `U` is never printed.
pub fn normalise(typed: &str) -> Option<String> {
    let s: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (s.len() == CODE_LEN && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
}

/// A door's QR text.
pub fn qr_text(turf_id: &str, code: &str) -> String {
    format!("{QR_PREFIX}{turf_id}/{code}")
}

/// The turf and code a door's QR text names, if it is one.
pub fn read_qr(text: &str) -> Option<(String, String)> {
    let (turf, code) = text.trim().strip_prefix(QR_PREFIX)?.rsplit_once('/')?;
    let code = normalise(code)?;
    (!turf.is_empty() && !turf.contains('/')).then(|| (turf.to_string(), code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_stable_and_readable() {
        let ids: Vec<String> = (0..5_000).map(|i| format!("d-{i}")).collect();
        let codes = door_codes(ids.iter().map(String::as_str));
        assert_eq!(codes.len(), 5_000);
        let distinct: BTreeSet<&String> = codes.values().collect();
        assert_eq!(distinct.len(), 5_000, "unique within the set");
        let reversed = door_codes(ids.iter().rev().map(String::as_str));
        assert_eq!(codes, reversed, "the order of the ids does not matter");
        for c in codes.values() {
            assert_eq!(c.len(), CODE_LEN);
            assert!(!c.contains(['I', 'L', 'O', 'U']), "{c}");
            assert_eq!(normalise(&c.to_lowercase()).as_ref(), Some(c));
        }
    }

    #[test]
    fn a_collision_moves_the_later_id_only() {
        // Find two ids whose first codes collide (30 bits: search a few hundred thousand).
        let mut seen = BTreeMap::new();
        let (a, b) = (0..2_000_000)
            .find_map(|i| {
                let id = format!("x{i}");
                let c = code_of(&id, 0);
                seen.insert(c, id.clone()).map(|other| (other, id))
            })
            .expect("a collision among two million ids");
        let codes = door_codes([a.as_str(), b.as_str()]);
        let (first, second) = if a < b { (&a, &b) } else { (&b, &a) };
        assert_eq!(codes[first], code_of(first, 0));
        assert_eq!(codes[second], code_of(second, 1));
        assert_ne!(codes[first], codes[second]);
    }

    #[test]
    fn typed_codes_and_qr_texts() {
        let cases = [
            ("k7m2qx", Some("K7M2QX")),
            ("K7M-2QX", Some("K7M2QX")),
            (" k7m 2qx ", Some("K7M2QX")),
            ("O1IL23", Some("011123")),
            ("K7M2Q", None),
            ("K7M2QXX", None),
            ("K7M2QU", None),
            ("K7M2Q!", None),
        ];
        for (typed, want) in cases {
            assert_eq!(normalise(typed).as_deref(), want, "{typed}");
        }
        assert_eq!(read_qr(&qr_text("t-nord", "K7M2QX")), Some(("t-nord".into(), "K7M2QX".into())));
        assert_eq!(read_qr("doorstep://porte/t-nord/k7m2qx"), Some(("t-nord".into(), "K7M2QX".into())));
        assert_eq!(read_qr("https://porte/t/K7M2QX"), None);
        assert_eq!(read_qr("doorstep://porte//K7M2QX"), None);
        assert_eq!(read_qr("doorstep://porte/a/b/K7M2QX"), None);
    }
}
