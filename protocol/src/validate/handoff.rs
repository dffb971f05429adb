//! The offline hand-off (issue 17): a captain's phone with no network gives a volunteer's phone
//! with no network a lease on a turf (or one street of it), by QR code.
//!
//! Trust runs in a chain, each link an Ed25519 signature checked by the same functions on the
//! phone and on the server: the campaign's server key (every phone receives its public half when
//! it joins) signs a [`SessionGrant`] naming one captain device's key for one session and a
//! window; that device's key signs the [`Handoff`]. The volunteer's phone checks the chain, that
//! the lease is for itself and open now ([`check_received`]); the server checks the chain again,
//! that the captain was entitled to the session and the turf is the session's
//! ([`check_scope`]), and judges each knock made under the lease by its time
//! ([`open_at`]). Signing bytes are length-prefixed fields after a domain tag, so that no two
//! different hand-offs (or a grant and a hand-off) sign the same bytes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use crate::session::{CheckinPass, Handoff, Session, SessionGrant, SignedCheckinPass, SignedGrant, SignedHandoff};
use crate::sync::ItemStatus;
use crate::validate::report::is_report_id;
use crate::validate::text::{TextKind, check_text};

/// Longest lease a captain's phone may hand out.
pub const MAX_HANDOFF_MS: i64 = 12 * 3_600_000;
/// How far two phones' clocks may differ at the meeting point: a lease issued by a captain's phone
/// whose clock runs up to this much ahead of the volunteer's opens at once, and a knock made in
/// that margin counts as made under it (the deterministic simulation found a lease scanned from a
/// phone two seconds ahead refused as not open).
pub const CLOCK_SKEW_MS: i64 = 10 * 60_000;
/// Longest QR text accepted (a QR code of version 25 at the lowest correction holds about 1,270
/// bytes; phones scan that reliably from a screen).
pub const MAX_QR_CHARS: usize = 1_200;
/// The QR text's prefix: names the format and its version.
pub const QR_PREFIX: &str = "DSH1.";

/// Why a hand-off is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandoffError {
    #[error("code illisible / not a Doorstep hand-off code")]
    Malformed,
    #[error("code trop long / hand-off code too long")]
    TooLong,
    #[error("autorisation du capitaine non signée par le serveur / the captain's grant is not the server's")]
    ForgedGrant,
    #[error("signature du capitaine invalide / the captain's signature does not verify")]
    ForgedHandoff,
    #[error("le code ne correspond pas à l'autorisation du capitaine / hand-off and grant disagree")]
    GrantMismatch,
    #[error("remis hors de la période de l'autorisation / handed out outside the grant's window")]
    OutsideGrant,
    #[error("bail trop long / lease too long")]
    LeaseTooLong,
    #[error("bail expiré / lease expired")]
    Expired,
    #[error(
        "bail pas encore ouvert : l'heure de ce téléphone et celle du capitaine diffèrent de plus de 10 minutes / lease not open yet: this phone's clock and the captain's differ by more than 10 minutes"
    )]
    NotYet,
    #[error("bail destiné à un autre bénévole / lease for another volunteer")]
    NotForMe,
    #[error("ce capitaine n'encadre pas cette séance / not a captain of this session")]
    NotCaptain,
    #[error("secteur hors de la séance / turf not in this session")]
    OutOfScope,
    #[error(
        "remis par un autre appareil que celui du capitaine ou du bénévole / sent by neither the captain's nor the volunteer's device"
    )]
    WrongSender,
    #[error("même identifiant, contenu différent / this id was already used for a different hand-off")]
    IdConflict,
    #[error("appareil du capitaine révoqué / the captain's device was revoked")]
    CaptainRevoked,
    #[error("bénévole inconnu dans cette campagne / no such volunteer in this campaign")]
    UnknownVolunteer,
    #[error("séance annulée / session called off")]
    CalledOff,
    #[error("clé publique illisible (32 octets en base64url attendus) / public key must be 32 bytes of base64url")]
    BadKey,
}

impl HandoffError {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            HandoffError::Malformed => "handoff_malformed",
            HandoffError::TooLong => "handoff_too_long",
            HandoffError::ForgedGrant => "grant_forged",
            HandoffError::ForgedHandoff => "handoff_forged",
            HandoffError::GrantMismatch => "grant_mismatch",
            HandoffError::OutsideGrant => "outside_grant",
            HandoffError::LeaseTooLong => "lease_too_long",
            HandoffError::Expired => "lease_expired",
            HandoffError::NotYet => "lease_not_yet",
            HandoffError::NotForMe => "not_for_me",
            HandoffError::NotCaptain => "not_captain",
            HandoffError::OutOfScope => "out_of_scope",
            HandoffError::WrongSender => "wrong_sender",
            HandoffError::IdConflict => "id_conflict",
            HandoffError::CaptainRevoked => "captain_revoked",
            HandoffError::UnknownVolunteer => "unknown_volunteer",
            HandoffError::CalledOff => "session_called_off",
            HandoffError::BadKey => "bad_key",
        }
    }

    /// Every refusal, once.
    pub const ALL: [HandoffError; 18] = {
        use HandoffError::*;
        [
            Malformed,
            TooLong,
            ForgedGrant,
            ForgedHandoff,
            GrantMismatch,
            OutsideGrant,
            LeaseTooLong,
            Expired,
            NotYet,
            NotForMe,
            NotCaptain,
            OutOfScope,
            WrongSender,
            IdConflict,
            CaptainRevoked,
            UnknownVolunteer,
            CalledOff,
            BadKey,
        ]
    };

    /// The error a stable code names (a refusal recorded by the server, read back).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }
}

fn field(out: &mut Vec<u8>, v: &[u8]) {
    out.extend_from_slice(&(v.len() as u32).to_be_bytes());
    out.extend_from_slice(v);
}

/// The bytes the server signs for a grant.
pub fn grant_bytes(g: &SessionGrant) -> Vec<u8> {
    let mut out = b"doorstep/session-grant/v1".to_vec();
    for v in [&g.campaign_id, &g.session_id, &g.captain_id, &g.device_id, &g.public_key] {
        field(&mut out, v.as_bytes());
    }
    field(&mut out, &g.not_before_ms.to_be_bytes());
    field(&mut out, &g.expires_ms.to_be_bytes());
    out
}

/// The bytes a captain's device signs for a hand-off.
pub fn handoff_bytes(h: &Handoff) -> Vec<u8> {
    let mut out = b"doorstep/handoff/v1".to_vec();
    for v in [&h.id, &h.session_id, &h.captain_id, &h.device_id, &h.volunteer_id, &h.turf_id] {
        field(&mut out, v.as_bytes());
    }
    match &h.street {
        Some(s) => {
            field(&mut out, b"1");
            field(&mut out, s.as_bytes());
        }
        None => field(&mut out, b"0"),
    }
    field(&mut out, &h.issued_ms.to_be_bytes());
    field(&mut out, &h.expires_ms.to_be_bytes());
    out
}

/// The check-in code's QR prefix.
pub const CHECKIN_PREFIX: &str = "DSC1.";
/// Longest a check-in code stays open.
pub const MAX_CHECKIN_MS: i64 = 4 * 3_600_000;

/// The bytes a captain's phone signs for a check-in pass.
pub fn checkin_bytes(p: &CheckinPass) -> Vec<u8> {
    let mut out = b"doorstep/checkin/v1".to_vec();
    for v in [&p.session_id, &p.captain_id, &p.device_id] {
        field(&mut out, v.as_bytes());
    }
    field(&mut out, &p.issued_ms.to_be_bytes());
    field(&mut out, &p.expires_ms.to_be_bytes());
    out
}

/// Signs a check-in pass with the captain phone's key (the captain's phone does this).
pub fn sign_checkin(device_pkcs8: &[u8], pass: CheckinPass, grant: SignedGrant) -> Option<SignedCheckinPass> {
    let signature = sign(device_pkcs8, &checkin_bytes(&pass))?;
    Some(SignedCheckinPass { pass, signature, grant })
}

/// Whether a check-in code proves presence at `session_id`'s meeting point at `at_ms`: the chain
/// holds (the grant is the campaign's, names the pass's session, captain and phone, and that
/// phone signed the pass), the pass is within the grant's window and at most
/// [`MAX_CHECKIN_MS`] long, and open at `at_ms`. The same on the phone and on the server.
pub fn check_checkin(
    text: &str,
    campaign_key: &str,
    session_id: &str,
    at_ms: i64,
) -> Result<CheckinPass, HandoffError> {
    let s = read_checkin(text)?;
    let (p, g) = (&s.pass, &s.grant.grant);
    if !grant_verifies(&s.grant, campaign_key) {
        return Err(HandoffError::ForgedGrant);
    }
    if (&p.session_id, &p.captain_id, &p.device_id) != (&g.session_id, &g.captain_id, &g.device_id) {
        return Err(HandoffError::GrantMismatch);
    }
    if !verifies(&g.public_key, &checkin_bytes(p), &s.signature) {
        return Err(HandoffError::ForgedHandoff);
    }
    if p.issued_ms < g.not_before_ms || p.issued_ms >= g.expires_ms {
        return Err(HandoffError::OutsideGrant);
    }
    if p.expires_ms <= p.issued_ms
        || p.expires_ms.saturating_sub(p.issued_ms) > MAX_CHECKIN_MS
        || p.expires_ms > g.expires_ms
    {
        return Err(HandoffError::LeaseTooLong);
    }
    if p.session_id != session_id {
        return Err(HandoffError::OutOfScope);
    }
    if at_ms >= p.expires_ms {
        return Err(HandoffError::Expired);
    }
    if at_ms < p.issued_ms.saturating_sub(CLOCK_SKEW_MS) {
        return Err(HandoffError::NotYet);
    }
    Ok(s.pass)
}

/// Reads a scanned check-in code (not yet checked: [`check_checkin`] does).
pub fn read_checkin(text: &str) -> Result<SignedCheckinPass, HandoffError> {
    if text.len() > MAX_QR_CHARS {
        return Err(HandoffError::TooLong);
    }
    let body = text.trim().strip_prefix(CHECKIN_PREFIX).ok_or(HandoffError::Malformed)?;
    let json = B64.decode(body).map_err(|_| HandoffError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| HandoffError::Malformed)
}

/// The QR text of a check-in code.
pub fn checkin_to_qr(s: &SignedCheckinPass) -> Result<String, HandoffError> {
    let json = serde_json::to_vec(s).map_err(|_| HandoffError::Malformed)?;
    let text = format!("{CHECKIN_PREFIX}{}", B64.encode(json));
    if text.len() > MAX_QR_CHARS {
        return Err(HandoffError::TooLong);
    }
    Ok(text)
}

/// A new Ed25519 key, as its PKCS#8 document: the campaign's key on the server, a captain's
/// phone's key for its grants.
pub fn new_key() -> Option<Vec<u8>> {
    let rng = ring::rand::SystemRandom::new();
    Ed25519KeyPair::generate_pkcs8(&rng).ok().map(|d| d.as_ref().to_vec())
}

/// A key document as text (base64url), for a store that keeps text.
pub fn encode_key(pkcs8: &[u8]) -> String {
    B64.encode(pkcs8)
}

/// The key document back from [`encode_key`]'s text.
pub fn decode_key(text: &str) -> Option<Vec<u8>> {
    B64.decode(text).ok()
}

/// Signs with an Ed25519 key given as its PKCS#8 document (what `ring` generates); `None` if the
/// document is not an Ed25519 key.
pub fn sign(pkcs8: &[u8], bytes: &[u8]) -> Option<String> {
    let key = Ed25519KeyPair::from_pkcs8(pkcs8).ok()?;
    Some(B64.encode(key.sign(bytes).as_ref()))
}

/// The public half of a PKCS#8 Ed25519 key, base64url.
pub fn public_key_of(pkcs8: &[u8]) -> Option<String> {
    Ed25519KeyPair::from_pkcs8(pkcs8).ok().map(|k| B64.encode(k.public_key().as_ref()))
}

/// Whether `signature` (base64url) is `public_key`'s Ed25519 signature over `bytes`.
pub fn verifies(public_key: &str, bytes: &[u8], signature: &str) -> bool {
    match (B64.decode(public_key), B64.decode(signature)) {
        (Ok(pk), Ok(sig)) if pk.len() == 32 && sig.len() == 64 => {
            UnparsedPublicKey::new(&ED25519, pk).verify(bytes, &sig).is_ok()
        }
        _ => false,
    }
}

/// Whether a grant is signed by the campaign's key (the first link of every chain).
pub fn grant_verifies(g: &SignedGrant, campaign_key: &str) -> bool {
    verifies(campaign_key, &grant_bytes(&g.grant), &g.signature)
}

/// The chain: the grant is the server's (for this campaign's key), the hand-off names that grant's
/// session, captain and device, was signed by that device's key, was issued within the grant's
/// window, and is at most [`MAX_HANDOFF_MS`] long. Time-independent: the same on the phone and
/// on the server, whenever each checks.
pub fn check_chain(s: &SignedHandoff, campaign_key: &str) -> Result<(), HandoffError> {
    let (h, g) = (&s.handoff, &s.grant.grant);
    if !is_report_id(&h.id) {
        return Err(HandoffError::Malformed);
    }
    let ids = [&h.session_id, &h.captain_id, &h.device_id, &h.volunteer_id, &h.turf_id];
    if ids.iter().any(|v| v.is_empty() || check_text("id", v, TextKind::Id).is_err())
        || h.street.as_deref().is_some_and(|v| v.is_empty() || check_text("street", v, TextKind::Name).is_err())
    {
        return Err(HandoffError::Malformed);
    }
    if !verifies(campaign_key, &grant_bytes(g), &s.grant.signature) {
        return Err(HandoffError::ForgedGrant);
    }
    if (&h.session_id, &h.captain_id, &h.device_id) != (&g.session_id, &g.captain_id, &g.device_id) {
        return Err(HandoffError::GrantMismatch);
    }
    if !verifies(&g.public_key, &handoff_bytes(h), &s.signature) {
        return Err(HandoffError::ForgedHandoff);
    }
    if h.issued_ms < g.not_before_ms || h.issued_ms >= g.expires_ms {
        return Err(HandoffError::OutsideGrant);
    }
    // (Saturating: a grant is signed by the server, yet no arithmetic here trusts its numbers.)
    if h.expires_ms <= h.issued_ms
        || h.expires_ms.saturating_sub(h.issued_ms) > MAX_HANDOFF_MS
        || h.expires_ms > g.expires_ms
    {
        return Err(HandoffError::LeaseTooLong);
    }
    Ok(())
}

/// Whether the lease covers a moment (a knock's time, by the knocking phone's clock): from its
/// issue (less [`CLOCK_SKEW_MS`]: the captain's clock may run ahead) to its expiry.
pub fn open_at(h: &Handoff, t_ms: i64) -> bool {
    (h.issued_ms.saturating_sub(CLOCK_SKEW_MS)..h.expires_ms).contains(&t_ms)
}

/// What the volunteer's phone checks when it scans a hand-off: the chain, that the lease is for
/// this volunteer, and open now (by the phone's clock).
pub fn check_received(s: &SignedHandoff, campaign_key: &str, me: &str, now_ms: i64) -> Result<(), HandoffError> {
    check_chain(s, campaign_key)?;
    if s.handoff.volunteer_id != me {
        return Err(HandoffError::NotForMe);
    }
    if now_ms >= s.handoff.expires_ms {
        return Err(HandoffError::Expired);
    }
    if !open_at(&s.handoff, now_ms) {
        return Err(HandoffError::NotYet);
    }
    Ok(())
}

/// What only the session knows (the server's copy, or the phone's when it holds it): the captain
/// is one of the session's, the session is the grant's, and the turf is one the session covers.
pub fn check_scope(h: &Handoff, session: &Session) -> Result<(), HandoffError> {
    if h.session_id != session.id || !session.captains.contains(&h.captain_id) {
        return Err(HandoffError::NotCaptain);
    }
    if !session.turfs.contains(&h.turf_id) {
        return Err(HandoffError::OutOfScope);
    }
    Ok(())
}

/// How long before a session a captain's grant opens, and how long after its end it lasts (the
/// last streets handed out are finished after the session's official end).
pub const GRANT_BEFORE_MS: i64 = 3_600_000;
pub const GRANT_AFTER_MS: i64 = 4 * 3_600_000;

/// The grant the server gives a captain's device for a session, or why not: only a captain of the
/// session, for a session not called off and not long over, for a well-formed Ed25519 key.
/// `now_ms` is the server's clock. The caller signs it ([`sign_grant`]).
pub fn decide_grant(
    session: &Session,
    captain_id: &str,
    device_id: &str,
    public_key: &str,
    now_ms: i64,
) -> Result<SessionGrant, HandoffError> {
    if !session.captains.iter().any(|c| c == captain_id) {
        return Err(HandoffError::NotCaptain);
    }
    if session.cancelled {
        return Err(HandoffError::CalledOff);
    }
    let expires_ms = session.end_ms.saturating_add(GRANT_AFTER_MS);
    if now_ms >= expires_ms {
        return Err(HandoffError::Expired);
    }
    if B64.decode(public_key).map_or(true, |k| k.len() != 32) {
        return Err(HandoffError::BadKey);
    }
    Ok(SessionGrant {
        campaign_id: session.campaign_id.clone(),
        session_id: session.id.clone(),
        captain_id: captain_id.to_string(),
        device_id: device_id.to_string(),
        public_key: public_key.to_string(),
        not_before_ms: session.start_ms.saturating_sub(GRANT_BEFORE_MS),
        expires_ms,
    })
}

/// What the server knows when a hand-off arrives, gathered by its storage.
#[derive(Debug, Clone, Default)]
pub struct HandoffFacts {
    /// The campaign's public key (every signature chain starts there).
    pub campaign_key: String,
    /// The body hash of a hand-off already recorded under this id.
    pub held_hash: Option<String>,
    /// Why that recorded hand-off was refused, if it was (a replay is answered as the first time).
    pub held_refusal: Option<HandoffError>,
    /// The hand-off's session, if it is the campaign's.
    pub session: Option<Session>,
    /// The device that signed it was revoked (a stolen captain's phone hands out nothing).
    pub captain_revoked: bool,
    /// The volunteer it names is a volunteer of the campaign.
    pub volunteer_known: bool,
}

/// What the server does with a pushed hand-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffOutcome {
    /// Recorded before and accepted (a replay from the same phone, or the other phone of the pair).
    Duplicate,
    /// Recorded before and refused: answered as refused again (a phone whose first answer was lost
    /// learns it all the same, and stops knocking under it), nothing recorded anew.
    Replay(HandoffError),
    /// Not a hand-off the campaign's keys made, or not the sender's to push: not recorded.
    Reject(HandoffError),
    /// Recorded and applied, as if the captain had made the lease online.
    Accept,
    /// Recorded and refused: the captain was not entitled to it; knocks made under it are held
    /// for review, never lost.
    Refuse(HandoffError),
}

impl HandoffOutcome {
    /// The answer the phone gets.
    pub fn status(self) -> ItemStatus {
        match self {
            HandoffOutcome::Duplicate => ItemStatus::Duplicate,
            HandoffOutcome::Accept => ItemStatus::Accepted,
            HandoffOutcome::Reject(e) => ItemStatus::Rejected { reason: e.to_string(), code: Some(e.code().into()) },
            HandoffOutcome::Refuse(e) | HandoffOutcome::Replay(e) => ItemStatus::Held {
                reason: format!(
                    "bail refusé ({e}) : les passages faits sous ce bail attendent un capitaine / lease refused: knocks under it await a captain's review"
                ),
            },
        }
    }
}

/// SHA-256 of a signed hand-off as pushed (its JSON), hex.
pub fn handoff_hash(s: &SignedHandoff) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(s).expect("a hand-off serialises");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Decides a pushed hand-off. `sender` is the token's `(device, user)`: the captain's device that
/// signed it or the volunteer it names — either phone of the pair may bring it in first.
pub fn handoff_outcome(s: &SignedHandoff, sender: (&str, &str), f: &HandoffFacts) -> HandoffOutcome {
    let h = &s.handoff;
    if sender.0 != h.device_id && sender.1 != h.volunteer_id {
        return HandoffOutcome::Reject(HandoffError::WrongSender);
    }
    match &f.held_hash {
        Some(held) if *held == handoff_hash(s) => {
            return f.held_refusal.map_or(HandoffOutcome::Duplicate, HandoffOutcome::Replay);
        }
        Some(_) => return HandoffOutcome::Reject(HandoffError::IdConflict),
        None => {}
    }
    if let Err(e) = check_chain(s, &f.campaign_key) {
        return HandoffOutcome::Reject(e);
    }
    let refused = match &f.session {
        None => Some(HandoffError::NotCaptain),
        Some(session) => check_scope(h, session).err().or(session.cancelled.then_some(HandoffError::CalledOff)),
    };
    let refused = refused
        .or(f.captain_revoked.then_some(HandoffError::CaptainRevoked))
        .or((!f.volunteer_known).then_some(HandoffError::UnknownVolunteer));
    match refused {
        Some(e) => HandoffOutcome::Refuse(e),
        None => HandoffOutcome::Accept,
    }
}

/// The QR text of a hand-off: [`QR_PREFIX`] and the base64url of its JSON.
pub fn to_qr(s: &SignedHandoff) -> Result<String, HandoffError> {
    let json = serde_json::to_vec(s).map_err(|_| HandoffError::Malformed)?;
    let text = format!("{QR_PREFIX}{}", B64.encode(json));
    if text.len() > MAX_QR_CHARS {
        return Err(HandoffError::TooLong);
    }
    Ok(text)
}

/// Reads a scanned QR text (any text: a camera reads whatever it is shown).
pub fn from_qr(text: &str) -> Result<SignedHandoff, HandoffError> {
    if text.len() > MAX_QR_CHARS {
        return Err(HandoffError::TooLong);
    }
    let body = text.trim().strip_prefix(QR_PREFIX).ok_or(HandoffError::Malformed)?;
    let json = B64.decode(body).map_err(|_| HandoffError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| HandoffError::Malformed)
}

/// Signs a grant with the campaign's key (the server does this).
pub fn sign_grant(campaign_pkcs8: &[u8], grant: SessionGrant) -> Option<SignedGrant> {
    let signature = sign(campaign_pkcs8, &grant_bytes(&grant))?;
    Some(SignedGrant { grant, signature })
}

/// Signs a hand-off with the captain device's key (the captain's phone does this).
pub fn sign_handoff(device_pkcs8: &[u8], handoff: Handoff, grant: SignedGrant) -> Option<SignedHandoff> {
    let signature = sign(device_pkcs8, &handoff_bytes(&handoff))?;
    Some(SignedHandoff { handoff, signature, grant })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::session::tests::session;

    /// Deterministic keys for the tests (PKCS#8 v2 documents built from fixed seeds).
    fn key(seed: u8) -> Vec<u8> {
        // The fixed PKCS#8 v2 prefix of an Ed25519 key, then the seed, then the public key.
        let pair = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let mut doc =
            vec![0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
        doc.extend_from_slice(&[seed; 32]);
        doc.extend_from_slice(&[0xa1, 0x23, 0x03, 0x21, 0x00]);
        doc.extend_from_slice(pair.public_key().as_ref());
        doc
    }

    const T0: i64 = 1_780_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn grant() -> SessionGrant {
        SessionGrant {
            campaign_id: "nantes-2026".into(),
            session_id: "s-marche-nord".into(),
            captain_id: "cap".into(),
            device_id: "dev-cap".into(),
            public_key: public_key_of(&key(2)).unwrap(),
            not_before_ms: T0 - HOUR,
            expires_ms: T0 + 4 * HOUR,
        }
    }

    fn handoff() -> Handoff {
        Handoff {
            id: "0190a0b0-0000-7000-8000-0000000000aa".into(),
            session_id: "s-marche-nord".into(),
            captain_id: "cap".into(),
            device_id: "dev-cap".into(),
            volunteer_id: "lea".into(),
            turf_id: "t1".into(),
            street: Some("Rue Bisson".into()),
            issued_ms: T0,
            expires_ms: T0 + 3 * HOUR,
        }
    }

    fn signed(h: Handoff, g: SessionGrant) -> SignedHandoff {
        sign_handoff(&key(2), h, sign_grant(&key(1), g).unwrap()).unwrap()
    }

    /// Every way a scanned hand-off is judged by the volunteer's phone, one row each.
    #[test]
    fn received_handoff_rules() {
        let campaign_key = public_key_of(&key(1)).unwrap();
        type Make = fn() -> SignedHandoff;
        let cases: &[(&str, Make, Result<(), HandoffError>)] = &[
            ("as made", || signed(handoff(), grant()), Ok(())),
            ("whole turf", || signed(Handoff { street: None, ..handoff() }, grant()), Ok(())),
            (
                "grant signed by another key",
                || sign_handoff(&key(2), handoff(), sign_grant(&key(9), grant()).unwrap()).unwrap(),
                Err(HandoffError::ForgedGrant),
            ),
            (
                "grant changed after signing (another device's key put in)",
                || {
                    let mut s = signed(handoff(), grant());
                    s.grant.grant.public_key = public_key_of(&key(7)).unwrap();
                    s.signature = sign(&key(7), &handoff_bytes(&s.handoff)).unwrap();
                    s
                },
                Err(HandoffError::ForgedGrant),
            ),
            (
                "hand-off signed by a key that is not the grant's",
                || sign_handoff(&key(3), handoff(), sign_grant(&key(1), grant()).unwrap()).unwrap(),
                Err(HandoffError::ForgedHandoff),
            ),
            (
                "hand-off changed after signing (another turf)",
                || {
                    let mut s = signed(handoff(), grant());
                    s.handoff.turf_id = "t2".into();
                    s
                },
                Err(HandoffError::ForgedHandoff),
            ),
            (
                "hand-off changed after signing (a street added)",
                || {
                    let mut s = signed(Handoff { street: None, ..handoff() }, grant());
                    s.handoff.street = Some("Rue Bisson".into());
                    s
                },
                Err(HandoffError::ForgedHandoff),
            ),
            (
                "hand-off under another session's grant",
                || signed(handoff(), SessionGrant { session_id: "s-autre".into(), ..grant() }),
                Err(HandoffError::GrantMismatch),
            ),
            (
                "hand-off under another device's grant",
                || signed(handoff(), SessionGrant { device_id: "dev-other".into(), ..grant() }),
                Err(HandoffError::GrantMismatch),
            ),
            (
                "issued before the grant",
                || signed(Handoff { issued_ms: T0 - 2 * HOUR, expires_ms: T0, ..handoff() }, grant()),
                Err(HandoffError::OutsideGrant),
            ),
            (
                "issued after the grant",
                || signed(Handoff { issued_ms: T0 + 4 * HOUR, expires_ms: T0 + 5 * HOUR, ..handoff() }, grant()),
                Err(HandoffError::OutsideGrant),
            ),
            (
                "outlives the grant",
                || signed(Handoff { expires_ms: T0 + 4 * HOUR + 1, ..handoff() }, grant()),
                Err(HandoffError::LeaseTooLong),
            ),
            (
                "longer than allowed",
                || {
                    let g = SessionGrant { expires_ms: T0 + 24 * HOUR, ..grant() };
                    signed(Handoff { expires_ms: T0 + MAX_HANDOFF_MS + 1, ..handoff() }, g)
                },
                Err(HandoffError::LeaseTooLong),
            ),
            (
                "times at the ends of i64, under a grant as wide",
                || {
                    let g = SessionGrant { not_before_ms: i64::MIN, expires_ms: i64::MAX, ..grant() };
                    signed(Handoff { issued_ms: i64::MIN, expires_ms: i64::MAX, ..handoff() }, g)
                },
                Err(HandoffError::LeaseTooLong),
            ),
            (
                "ends when it starts",
                || signed(Handoff { expires_ms: T0, ..handoff() }, grant()),
                Err(HandoffError::LeaseTooLong),
            ),
            (
                "for another volunteer",
                || signed(Handoff { volunteer_id: "noe".into(), ..handoff() }, grant()),
                Err(HandoffError::NotForMe),
            ),
            (
                "expired by the phone's clock",
                || {
                    signed(
                        Handoff { issued_ms: T0 - 30 * 60_000, expires_ms: T0 + 30 * 60_000 - 1, ..handoff() },
                        grant(),
                    )
                },
                Err(HandoffError::Expired),
            ),
            (
                "issued by a captain's phone ten minutes ahead of this one",
                || signed(Handoff { issued_ms: T0 + 40 * 60_000, ..handoff() }, grant()),
                Ok(()),
            ),
            (
                "issued by a captain's phone more than ten minutes ahead",
                || signed(Handoff { issued_ms: T0 + 40 * 60_000 + 1, ..handoff() }, grant()),
                Err(HandoffError::NotYet),
            ),
            (
                "not a device-made id",
                || signed(Handoff { id: "h1".into(), ..handoff() }, grant()),
                Err(HandoffError::Malformed),
            ),
        ];
        for (name, make, want) in cases {
            // The phone's clock: half an hour into the lease.
            assert_eq!(check_received(&make(), &campaign_key, "lea", T0 + 30 * 60_000), *want, "{name}");
        }
    }

    /// What only the session can tell: the captain's and the turf's.
    #[test]
    fn scope_rules() {
        let s = session();
        let cases: &[(&str, Handoff, Result<(), HandoffError>)] = &[
            ("a turf of the session", handoff(), Ok(())),
            ("another turf of the session", Handoff { turf_id: "t2".into(), ..handoff() }, Ok(())),
            (
                "a turf the session does not cover",
                Handoff { turf_id: "t9".into(), ..handoff() },
                Err(HandoffError::OutOfScope),
            ),
            ("not a captain of it", Handoff { captain_id: "noe".into(), ..handoff() }, Err(HandoffError::NotCaptain)),
            ("another session", Handoff { session_id: "s-autre".into(), ..handoff() }, Err(HandoffError::NotCaptain)),
        ];
        for (name, h, want) in cases {
            assert_eq!(check_scope(h, &s), *want, "{name}");
        }
        let h = handoff();
        assert!(open_at(&h, h.issued_ms) && open_at(&h, h.expires_ms - 1));
        assert!(open_at(&h, h.issued_ms - CLOCK_SKEW_MS), "the captain's clock ahead by the margin");
        assert!(!open_at(&h, h.issued_ms - CLOCK_SKEW_MS - 1) && !open_at(&h, h.expires_ms));
    }

    /// The QR text round-trips, stays small enough to scan, and anything else a camera may read
    /// is refused as not a hand-off.
    #[test]
    fn qr_text() {
        let s = signed(handoff(), grant());
        let text = to_qr(&s).unwrap();
        assert!(text.len() < 1_000, "{} chars", text.len());
        assert_eq!(from_qr(&text).unwrap(), s);
        let campaign_key = public_key_of(&key(1)).unwrap();
        assert_eq!(check_received(&from_qr(&text).unwrap(), &campaign_key, "lea", T0), Ok(()));
        for bad in ["", "DSH1.", "DSH1.!!!", "https://example.org", "DSH2.e30", &format!("DSH1.{}", B64.encode("{}"))] {
            assert_eq!(from_qr(bad), Err(HandoffError::Malformed), "{bad}");
        }
        assert_eq!(from_qr(&"A".repeat(MAX_QR_CHARS + 1)), Err(HandoffError::TooLong));
        let long = Handoff { street: Some("x".repeat(1_000)), ..handoff() };
        assert_eq!(to_qr(&signed(long, grant())), Err(HandoffError::TooLong));
    }

    /// Every way the server decides a pushed hand-off, one row each: (name, the sender, how the
    /// facts differ, how the hand-off differs, the outcome).
    #[test]
    fn pushed_handoff_rules() {
        let base = || HandoffFacts {
            campaign_key: public_key_of(&key(1)).unwrap(),
            held_hash: None,
            held_refusal: None,
            session: Some(session()),
            captain_revoked: false,
            volunteer_known: true,
        };
        type Tweak = fn(&mut HandoffFacts);
        type Make = fn() -> SignedHandoff;
        let keep: Tweak = |_| {};
        let made: Make = || signed(handoff(), grant());
        let captain = ("dev-cap", "cap");
        let volunteer = ("dev-lea", "lea");
        use HandoffOutcome::*;
        type Row<'a> = (&'a str, (&'a str, &'a str), Tweak, Make, HandoffOutcome);
        let cases: &[Row] = &[
            ("from the captain's phone", captain, keep, made, Accept),
            ("from the volunteer's phone", volunteer, keep, made, Accept),
            ("from a third phone", ("dev-noe", "noe"), keep, made, Reject(HandoffError::WrongSender)),
            ("from the captain's other phone", ("dev-cap-2", "cap"), keep, made, Reject(HandoffError::WrongSender)),
            (
                "recorded before, the same body (the other phone of the pair)",
                volunteer,
                |f| f.held_hash = Some(handoff_hash(&signed(handoff(), grant()))),
                made,
                Duplicate,
            ),
            (
                "recorded before and refused, the same body (its first answer lost)",
                captain,
                |f| {
                    f.held_hash = Some(handoff_hash(&signed(handoff(), grant())));
                    f.held_refusal = Some(HandoffError::NotCaptain);
                },
                made,
                Replay(HandoffError::NotCaptain),
            ),
            (
                "recorded before with another body",
                captain,
                |f| f.held_hash = Some("0".repeat(64)),
                made,
                Reject(HandoffError::IdConflict),
            ),
            (
                "a grant the campaign's key did not sign",
                volunteer,
                keep,
                || sign_handoff(&key(2), handoff(), sign_grant(&key(9), grant()).unwrap()).unwrap(),
                Reject(HandoffError::ForgedGrant),
            ),
            (
                "changed after signing",
                volunteer,
                keep,
                || {
                    let mut s = signed(handoff(), grant());
                    s.handoff.turf_id = "t2".into();
                    s
                },
                Reject(HandoffError::ForgedHandoff),
            ),
            (
                "an expired lease is still recorded (knocks made while it was open count)",
                volunteer,
                keep,
                || signed(Handoff { issued_ms: T0 - 30 * 60_000, expires_ms: T0 - 60_000, ..handoff() }, grant()),
                Accept,
            ),
            (
                "a control character in the street",
                captain,
                keep,
                || signed(Handoff { street: Some("Rue\u{7}".into()), ..handoff() }, grant()),
                Reject(HandoffError::Malformed),
            ),
            (
                "an empty turf id",
                captain,
                keep,
                || signed(Handoff { turf_id: String::new(), ..handoff() }, grant()),
                Reject(HandoffError::Malformed),
            ),
            (
                "a turf the session does not cover",
                volunteer,
                keep,
                || signed(Handoff { turf_id: "t9".into(), ..handoff() }, grant()),
                Refuse(HandoffError::OutOfScope),
            ),
            (
                "a captain no longer of the session",
                volunteer,
                |f| f.session.as_mut().unwrap().captains = vec!["autre".into()],
                made,
                Refuse(HandoffError::NotCaptain),
            ),
            ("a session not of the campaign", volunteer, |f| f.session = None, made, Refuse(HandoffError::NotCaptain)),
            (
                "a session called off",
                volunteer,
                |f| f.session.as_mut().unwrap().cancelled = true,
                made,
                Refuse(HandoffError::CalledOff),
            ),
            (
                "the captain's phone revoked",
                volunteer,
                |f| f.captain_revoked = true,
                made,
                Refuse(HandoffError::CaptainRevoked),
            ),
            (
                "a volunteer not of the campaign",
                captain,
                |f| f.volunteer_known = false,
                made,
                Refuse(HandoffError::UnknownVolunteer),
            ),
        ];
        for (name, sender, tweak, make, want) in cases {
            let mut f = base();
            tweak(&mut f);
            assert_eq!(handoff_outcome(&make(), *sender, &f), *want, "{name}");
        }
        assert_eq!(Accept.status(), ItemStatus::Accepted);
        assert!(matches!(Refuse(HandoffError::OutOfScope).status(), ItemStatus::Held { .. }));
        assert!(matches!(
            Reject(HandoffError::ForgedGrant).status(),
            ItemStatus::Rejected { code: Some(c), .. } if c == "grant_forged"
        ));
    }

    /// Who gets a grant for a session, and its window.
    /// Every refusal's code reads back as that refusal; an unknown code as none.
    #[test]
    fn codes_read_back() {
        let all = HandoffError::ALL;
        let mut codes: Vec<&str> = all.iter().map(|e| e.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "every code names one refusal");
        for e in all {
            assert_eq!(HandoffError::from_code(e.code()), Some(e), "{e:?}");
        }
        assert_eq!(HandoffError::from_code("accepted"), None);
    }

    #[test]
    fn grant_rules() {
        let s = session();
        let pk = public_key_of(&key(2)).unwrap();
        let g = decide_grant(&s, "cap", "dev-cap", &pk, s.start_ms - HOUR).unwrap();
        assert_eq!((g.not_before_ms, g.expires_ms), (s.start_ms - GRANT_BEFORE_MS, s.end_ms + GRANT_AFTER_MS));
        assert_eq!(
            (g.session_id.as_str(), g.device_id.as_str(), g.public_key.as_str()),
            (s.id.as_str(), "dev-cap", pk.as_str())
        );
        let cases: &[(&str, Session, &str, &str, i64, HandoffError)] = &[
            ("not a captain of it", s.clone(), "lea", &pk, s.start_ms, HandoffError::NotCaptain),
            ("called off", Session { cancelled: true, ..s.clone() }, "cap", &pk, s.start_ms, HandoffError::CalledOff),
            ("long over", s.clone(), "cap", &pk, s.end_ms + GRANT_AFTER_MS, HandoffError::Expired),
            ("a key of 31 bytes", s.clone(), "cap", &B64.encode([7u8; 31]), s.start_ms, HandoffError::BadKey),
            ("not base64url", s.clone(), "cap", "pas une clé!", s.start_ms, HandoffError::BadKey),
        ];
        for (name, session, who, key, now, want) in cases {
            assert_eq!(decide_grant(session, who, "dev-cap", key, *now), Err(*want), "{name}");
        }
        // A grant the server signs opens the chain a phone checks.
        let signed = sign_handoff(
            &key(2),
            Handoff { session_id: s.id.clone(), issued_ms: s.start_ms, expires_ms: s.start_ms + HOUR, ..handoff() },
            sign_grant(&key(1), g).unwrap(),
        )
        .unwrap();
        assert_eq!(check_chain(&signed, &public_key_of(&key(1)).unwrap()), Ok(()));
    }

    /// A check-in code proves presence: every way one is judged, one row each.
    #[test]
    fn checkin_rules() {
        let campaign_key = public_key_of(&key(1)).unwrap();
        let pass = || CheckinPass {
            session_id: "s-marche-nord".into(),
            captain_id: "cap".into(),
            device_id: "dev-cap".into(),
            issued_ms: T0,
            expires_ms: T0 + 2 * HOUR,
        };
        let code = |p: CheckinPass, g: SessionGrant, device_key: u8| {
            checkin_to_qr(&sign_checkin(&key(device_key), p, sign_grant(&key(1), g).unwrap()).unwrap()).unwrap()
        };
        let good = code(pass(), grant(), 2);
        assert!(good.starts_with(CHECKIN_PREFIX) && good.len() < 900, "{} chars", good.len());
        assert_eq!(check_checkin(&good, &campaign_key, "s-marche-nord", T0 + HOUR), Ok(pass()));
        // Scanned from a phone whose clock is behind the captain's, within the margin.
        assert_eq!(check_checkin(&good, &campaign_key, "s-marche-nord", T0 - CLOCK_SKEW_MS), Ok(pass()));
        let cases: &[(&str, String, &str, i64, HandoffError)] = &[
            ("another session", good.clone(), "s-autre", T0 + HOUR, HandoffError::OutOfScope),
            (
                "before it opens, by more than the clocks' margin",
                good.clone(),
                "s-marche-nord",
                T0 - CLOCK_SKEW_MS - 1,
                HandoffError::NotYet,
            ),
            ("once it closed", good.clone(), "s-marche-nord", T0 + 2 * HOUR, HandoffError::Expired),
            ("signed by another phone", code(pass(), grant(), 3), "s-marche-nord", T0, HandoffError::ForgedHandoff),
            (
                "a grant of another session",
                code(pass(), SessionGrant { session_id: "s-autre".into(), ..grant() }, 2),
                "s-marche-nord",
                T0,
                HandoffError::GrantMismatch,
            ),
            (
                "open longer than allowed",
                code(CheckinPass { expires_ms: T0 + MAX_CHECKIN_MS + 1, ..pass() }, grant(), 2),
                "s-marche-nord",
                T0,
                HandoffError::LeaseTooLong,
            ),
            (
                "a hand-off code",
                to_qr(&signed(handoff(), grant())).unwrap(),
                "s-marche-nord",
                T0,
                HandoffError::Malformed,
            ),
            ("anything else", "bonjour".into(), "s-marche-nord", T0, HandoffError::Malformed),
        ];
        for (name, text, session, at, want) in cases {
            assert_eq!(check_checkin(text, &campaign_key, session, *at), Err(*want), "{name}");
        }
        let forged = sign_checkin(&key(2), pass(), sign_grant(&key(9), grant()).unwrap()).unwrap();
        assert_eq!(
            check_checkin(&checkin_to_qr(&forged).unwrap(), &campaign_key, "s-marche-nord", T0),
            Err(HandoffError::ForgedGrant)
        );
    }
}
