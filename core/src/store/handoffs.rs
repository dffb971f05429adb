//! The offline hand-off on the phone (issue 17). A captain's phone keeps its own signing key (in
//! this encrypted store; never sent), the grants the server gave it per session, and signs leases
//! with no network; a volunteer's phone checks a scanned lease against the campaign's key
//! (`validate::handoff::check_received`, the rule the server applies too) and opens the sealed
//! turf, or the one street of it, it already holds. Both keep every hand-off in an outbox until
//! the server answers: pushed before the knocks made under it.

use doorstep_protocol::validate::handoff::{
    self, HandoffError, check_received, decode_key, encode_key, from_qr, new_key, public_key_of, sign_handoff, to_qr,
};
use doorstep_protocol::{Handoff, HandoffPush, ItemStatus, PROTOCOL_VERSION, PushResponse, SignedGrant, SignedHandoff};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Store, meta_get, meta_set};
use crate::error::{CoreError, Result};

/// A lease this phone gave or received, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LeaseView {
    pub id: String,
    pub session_id: String,
    pub volunteer_id: String,
    pub turf_id: String,
    pub street: Option<String>,
    pub issued_ms: i64,
    pub expires_ms: i64,
    /// `given` (this phone is the captain's) or `received`.
    pub direction: String,
    /// `pending` until the server answers; then `accepted`, `duplicate`, `held` (refused by the
    /// server: the knocks made under it await a captain's review) or `rejected`.
    pub state: String,
    pub reason: Option<String>,
    /// Doors this phone holds that the lease opens.
    pub doors: u32,
}

/// One street of a turf and its doors, for the captain's hand-out screen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StreetDoors {
    pub street: String,
    pub buildings: u32,
    pub doors: u32,
}

/// The QR text a captain's phone shows, and the lease it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HandoffCode {
    pub qr_text: String,
    pub lease: LeaseView,
}

const META_USER: &str = "user_id";
const META_CAMPAIGN_KEY: &str = "campaign_key";
const META_DEVICE_KEY: &str = "handoff_key";

fn me(c: &Connection) -> Result<String> {
    meta_get(c, META_USER)?.ok_or_else(|| CoreError::NeedsSync("who this phone belongs to (join first)".into()))
}

fn refused(e: HandoffError) -> CoreError {
    CoreError::Handoff(e)
}

fn insert(tx: &Transaction<'_>, s: &SignedHandoff, direction: &str, now: i64) -> Result<()> {
    let h = &s.handoff;
    tx.execute(
        "INSERT INTO handoffs(id, direction, session_id, volunteer_id, turf_id, street, issued_ms, expires_ms, body, state, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10) ON CONFLICT(id, direction) DO NOTHING",
        params![
            h.id,
            direction,
            h.session_id,
            h.volunteer_id,
            h.turf_id,
            h.street,
            h.issued_ms,
            h.expires_ms,
            serde_json::to_string(s)?,
            now
        ],
    )?;
    Ok(())
}

fn lease_view(c: &Connection, id: &str, direction: &str) -> Result<LeaseView> {
    c.query_row(
        "SELECT h.id, h.session_id, h.volunteer_id, h.turf_id, h.street, h.issued_ms, h.expires_ms, h.direction,
                h.state, h.reason,
                (SELECT count(*) FROM doors d JOIN buildings b ON b.id = d.building_id
                  WHERE b.turf_id = h.turf_id AND (h.street IS NULL OR b.street = h.street))
         FROM handoffs h WHERE h.id = ?1 AND h.direction = ?2",
        [id, direction],
        |r| {
            Ok(LeaseView {
                id: r.get(0)?,
                session_id: r.get(1)?,
                volunteer_id: r.get(2)?,
                turf_id: r.get(3)?,
                street: r.get(4)?,
                issued_ms: r.get(5)?,
                expires_ms: r.get(6)?,
                direction: r.get(7)?,
                state: r.get(8)?,
                reason: r.get(9)?,
                doors: r.get::<_, i64>(10)? as u32,
            })
        },
    )
    .optional()?
    .ok_or_else(|| CoreError::unknown("hand-off", id))
}

/// Whether this phone may knock a building of a turf: an open turf always; a sealed one only
/// under a lease it received (or gave itself) that covers the building's street now and that the
/// server has not refused.
pub(crate) fn may_knock(c: &Connection, turf_id: &str, building_id: &str, now: i64) -> Result<bool> {
    let staged: bool = c
        .prepare_cached("SELECT staged FROM turfs WHERE id = ?1")?
        .query_row([turf_id], |r| r.get(0))
        .optional()?
        .unwrap_or(false);
    if !staged {
        return Ok(true);
    }
    Ok(c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM handoffs h, buildings b WHERE b.id = ?2 AND h.direction = 'received'
           AND h.turf_id = ?1 AND (h.street IS NULL OR h.street = b.street) AND h.issued_ms - ?4 <= ?3 AND ?3 < h.expires_ms
           AND h.state IN ('pending', 'accepted', 'duplicate'))",
    )?
    .query_row(params![turf_id, building_id, now, doorstep_protocol::validate::handoff::CLOCK_SKEW_MS], |r| r.get(0))?)
}

/// Who knocks on a turf: its holder, or this phone's user on a sealed turf opened by a lease.
pub(crate) fn knocker(c: &Connection, holder: &str) -> Result<String> {
    if holder.is_empty() { me(c) } else { Ok(holder.to_string()) }
}

impl Store {
    /// Remembers who this phone belongs to (from the join answer).
    pub fn set_identity(&self, user_id: &str) -> Result<()> {
        self.write(|tx| meta_set(tx, META_USER, user_id))
    }

    /// Who this phone belongs to, once joined.
    pub fn identity(&self) -> Result<Option<String>> {
        self.read(|c| meta_get(c, META_USER))
    }

    /// Keeps the campaign's public key (from `GET /api/v1/sync/keys`): the root of every lease
    /// this phone will accept with no network.
    pub fn set_campaign_key(&self, key: &str) -> Result<()> {
        self.write(|tx| meta_set(tx, META_CAMPAIGN_KEY, key))
    }

    pub fn campaign_key(&self) -> Result<Option<String>> {
        self.read(|c| meta_get(c, META_CAMPAIGN_KEY))
    }

    /// The public half of this phone's hand-off key, made the first time it is asked for (the
    /// private half stays in this encrypted store).
    pub fn handoff_public_key(&self) -> Result<String> {
        self.write(|tx| {
            let doc = match meta_get(tx, META_DEVICE_KEY)?.and_then(|t| decode_key(&t)) {
                Some(d) => d,
                None => {
                    let d = new_key().ok_or_else(|| CoreError::BadMessage("no randomness for a key".into()))?;
                    meta_set(tx, META_DEVICE_KEY, &encode_key(&d))?;
                    d
                }
            };
            public_key_of(&doc).ok_or_else(|| CoreError::BadMessage("the hand-off key is unreadable".into()))
        })
    }

    /// Keeps a grant the server gave this phone for a session, once checked: signed by the
    /// campaign's key, for this phone and its key.
    pub fn save_grant(&self, grant: &SignedGrant) -> Result<()> {
        let public = self.handoff_public_key()?;
        let now = self.clock.now_ms();
        self.write(|tx| {
            let key =
                meta_get(tx, META_CAMPAIGN_KEY)?.ok_or_else(|| CoreError::NeedsSync("the campaign's key".into()))?;
            let g = &grant.grant;
            if g.device_id != self.device_id || g.public_key != public {
                return Err(refused(HandoffError::GrantMismatch));
            }
            // A grant is checked as the first link of a chain: sign a probe and check the chain.
            if !handoff::grant_verifies(grant, &key) {
                return Err(refused(HandoffError::ForgedGrant));
            }
            tx.execute(
                "INSERT INTO grants(session_id, body, received_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(session_id) DO UPDATE SET body = excluded.body, received_ms = excluded.received_ms",
                params![g.session_id, serde_json::to_string(grant)?, now],
            )?;
            Ok(())
        })
    }

    /// The sessions this phone holds a grant for.
    pub fn grants(&self) -> Result<Vec<SignedGrant>> {
        self.read(|c| {
            let bodies: Vec<String> = c
                .prepare("SELECT body FROM grants ORDER BY session_id")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            bodies.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
        })
    }

    /// A captain's phone, with no network, hands a turf (or one street of it) to a volunteer for
    /// `minutes` (at most 12 hours, and not past the grant): signs the lease, keeps it in the
    /// outbox, and returns the QR text to show. Handing to oneself opens it on this phone too.
    pub fn give_handoff(
        &self,
        session_id: &str,
        volunteer_id: &str,
        turf_id: &str,
        street: Option<String>,
        minutes: u32,
    ) -> Result<HandoffCode> {
        let now = self.clock.now_ms();
        let public = self.handoff_public_key()?;
        self.write(|tx| {
            let body: String = tx
                .query_row("SELECT body FROM grants WHERE session_id = ?1", [session_id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| CoreError::NeedsSync(format!("the grant for session {session_id}")))?;
            let grant: SignedGrant = serde_json::from_str(&body)?;
            if grant.grant.public_key != public {
                return Err(refused(HandoffError::GrantMismatch));
            }
            let doc = meta_get(tx, META_DEVICE_KEY)?
                .and_then(|t| decode_key(&t))
                .ok_or_else(|| CoreError::BadMessage("the hand-off key is gone".into()))?;
            let expires = now
                .saturating_add(i64::from(minutes.max(1)) * 60_000)
                .min(now.saturating_add(handoff::MAX_HANDOFF_MS))
                .min(grant.grant.expires_ms);
            let h = Handoff {
                id: uuid::Uuid::now_v7().to_string(),
                session_id: session_id.to_string(),
                captain_id: grant.grant.captain_id.clone(),
                device_id: self.device_id.clone(),
                volunteer_id: volunteer_id.to_string(),
                turf_id: turf_id.to_string(),
                street,
                issued_ms: now,
                expires_ms: expires,
            };
            let signed = sign_handoff(&doc, h, grant).ok_or_else(|| CoreError::BadMessage("cannot sign".into()))?;
            // The rule book's own check before anything is shown: the chain must hold.
            let key =
                meta_get(tx, META_CAMPAIGN_KEY)?.ok_or_else(|| CoreError::NeedsSync("the campaign's key".into()))?;
            handoff::check_chain(&signed, &key).map_err(refused)?;
            let qr_text = to_qr(&signed).map_err(refused)?;
            insert(tx, &signed, "given", now)?;
            if meta_get(tx, META_USER)?.as_deref() == Some(volunteer_id) {
                insert(tx, &signed, "received", now)?;
            }
            Ok(HandoffCode { qr_text, lease: lease_view(tx, &signed.handoff.id, "given")? })
        })
    }

    /// A volunteer's phone scans a captain's code: checked with no network against the campaign's
    /// key (the chain, for this volunteer, open now), kept in the outbox, and the sealed turf (or
    /// street) it names opens. Scanning the same code again changes nothing.
    pub fn receive_handoff(&self, qr_text: &str) -> Result<LeaseView> {
        let now = self.clock.now_ms();
        let s = from_qr(qr_text).map_err(refused)?;
        self.write(|tx| {
            let key =
                meta_get(tx, META_CAMPAIGN_KEY)?.ok_or_else(|| CoreError::NeedsSync("the campaign's key".into()))?;
            check_received(&s, &key, &me(tx)?, now).map_err(refused)?;
            insert(tx, &s, "received", now)?;
            lease_view(tx, &s.handoff.id, "received")
        })
    }

    /// The streets of a turf this phone holds (open or sealed), by name, with their doors: what a
    /// captain picks from to hand out.
    pub fn turf_streets(&self, turf_id: &str) -> Result<Vec<StreetDoors>> {
        self.read(|c| {
            Ok(c.prepare(
                "SELECT b.street, count(DISTINCT b.id), count(d.id) FROM buildings b LEFT JOIN doors d ON d.building_id = b.id
                 WHERE b.turf_id = ?1 GROUP BY b.street ORDER BY b.street",
            )?
            .query_map([turf_id], |r| {
                Ok(StreetDoors {
                    street: r.get(0)?,
                    buildings: r.get::<_, i64>(1)? as u32,
                    doors: r.get::<_, i64>(2)? as u32,
                })
            })?
            .collect::<Result<_, _>>()?)
        })
    }

    /// The door a paper walk sheet's QR code (or its typed code, with the turf) names, if this
    /// phone holds it: `(turf id, door id)`, to open that door's result form. The codes are
    /// computed from the turf's doors as the server printed them (`door_code::door_codes`).
    pub fn door_from_sheet(&self, text: &str, turf_id: Option<&str>) -> Result<(String, String)> {
        use doorstep_protocol::door_code;
        let (turf, code) = match (door_code::read_qr(text), turf_id, door_code::normalise(text)) {
            (Some(tc), _, _) => tc,
            (None, Some(t), Some(code)) => (t.to_string(), code),
            _ => return Err(crate::error::CoreError::unknown("door code", text)),
        };
        let ids: Vec<String> = self.read(|c| {
            Ok(c.prepare("SELECT d.id FROM doors d JOIN buildings b ON b.id = d.building_id WHERE b.turf_id = ?1")?
                .query_map([&turf], |r| r.get(0))?
                .collect::<Result<_, _>>()?)
        })?;
        door_code::door_codes(ids.iter().map(String::as_str))
            .into_iter()
            .find(|(_, c)| *c == code)
            .map(|(door, _)| (turf.clone(), door))
            .ok_or_else(|| crate::error::CoreError::unknown("door code", format!("{turf}/{code}")))
    }

    /// Every lease this phone gave or received, newest first.
    pub fn leases(&self) -> Result<Vec<LeaseView>> {
        self.read(|c| {
            let keys: Vec<(String, String)> = c
                .prepare("SELECT id, direction FROM handoffs ORDER BY issued_ms DESC, id, direction")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            keys.iter().map(|(id, d)| lease_view(c, id, d)).collect()
        })
    }

    /// The hand-offs not yet answered by the server, for a push (each once, whichever way it went).
    pub fn export_pending_handoffs(&self) -> Result<HandoffPush> {
        self.read(|c| {
            let bodies: Vec<String> = c
                .prepare(
                    "SELECT body FROM handoffs WHERE state = 'pending' GROUP BY id ORDER BY min(issued_ms), id LIMIT 100",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let handoffs = bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<_, _>>()?;
            Ok(HandoffPush { protocol: PROTOCOL_VERSION, device_id: self.device_id.clone(), handoffs })
        })
    }

    /// The server's answers to a hand-off push. Returns how many it answered.
    pub fn apply_handoff_response(&self, resp: &PushResponse) -> Result<u32> {
        let now = self.clock.now_ms();
        self.write(|tx| {
            let mut n = 0;
            for r in &resp.results {
                let (state, reason) = match &r.status {
                    ItemStatus::Accepted => ("accepted", None),
                    ItemStatus::Duplicate => ("duplicate", None),
                    ItemStatus::Held { reason } => ("held", Some(reason.clone())),
                    ItemStatus::Rejected { reason, .. } => ("rejected", Some(reason.clone())),
                };
                n += tx.execute(
                    "UPDATE handoffs SET state = ?1, reason = ?2, updated_ms = ?3 WHERE id = ?4 AND state = 'pending'",
                    params![state, reason, now, r.id],
                )? as u32;
            }
            Ok(n)
        })
    }
}
