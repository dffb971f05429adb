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

use crate::session::{Handoff, Session, SessionGrant, SignedGrant, SignedHandoff};
use crate::validate::report::is_report_id;

/// Longest lease a captain's phone may hand out.
pub const MAX_HANDOFF_MS: i64 = 12 * 3_600_000;
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
    #[error("bail destiné à un autre bénévole / lease for another volunteer")]
    NotForMe,
    #[error("ce capitaine n'encadre pas cette séance / not a captain of this session")]
    NotCaptain,
    #[error("secteur hors de la séance / turf not in this session")]
    OutOfScope,
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
            HandoffError::NotForMe => "not_for_me",
            HandoffError::NotCaptain => "not_captain",
            HandoffError::OutOfScope => "out_of_scope",
        }
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

fn verifies(public_key: &str, bytes: &[u8], signature: &str) -> bool {
    match (B64.decode(public_key), B64.decode(signature)) {
        (Ok(pk), Ok(sig)) if pk.len() == 32 && sig.len() == 64 => {
            UnparsedPublicKey::new(&ED25519, pk).verify(bytes, &sig).is_ok()
        }
        _ => false,
    }
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

/// Whether the lease covers a moment (a knock's time): from its issue to its expiry.
pub fn open_at(h: &Handoff, t_ms: i64) -> bool {
    (h.issued_ms..h.expires_ms).contains(&t_ms)
}

/// What the volunteer's phone checks when it scans a hand-off: the chain, that the lease is for
/// this volunteer, and open now (by the phone's clock).
pub fn check_received(s: &SignedHandoff, campaign_key: &str, me: &str, now_ms: i64) -> Result<(), HandoffError> {
    check_chain(s, campaign_key)?;
    if s.handoff.volunteer_id != me {
        return Err(HandoffError::NotForMe);
    }
    if !open_at(&s.handoff, now_ms) {
        return Err(HandoffError::Expired);
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
        assert!(!open_at(&h, h.issued_ms - 1) && !open_at(&h, h.expires_ms));
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
}
