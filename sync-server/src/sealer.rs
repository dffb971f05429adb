//! The server's key for secrets at rest (issue 19: SMS providers' credentials): ChaCha20-Poly1305
//! with a random nonce per secret, the campaign bound in as associated data. The key lives outside
//! the database — a file only the server reads, or `DOORSTEP_SECRET_KEY` — so a copy of the
//! database alone opens nothing.

use std::path::Path;

use base64::Engine as _;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

/// Seals and opens secrets with the server's key (ChaCha20-Poly1305, a random nonce each time).
pub struct Sealer {
    key: LessSafeKey,
    fingerprint: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

fn hex_key(text: &str) -> Option<[u8; 32]> {
    let t = text.trim();
    if t.len() != 64 {
        return None;
    }
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(t.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(k)
}

impl Sealer {
    pub fn from_key(key: [u8; 32]) -> Sealer {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"doorstep sealing key fingerprint\0");
        ctx.update(&key);
        let fingerprint = ctx.finish().as_ref()[..12].iter().map(|b| format!("{b:02x}")).collect();
        Sealer { key: LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).expect("32 bytes")), fingerprint }
    }

    /// Names the key without giving it away (a hash of it): every server process on one database
    /// must hold the same key, and the database keeps this to check that they do.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key in `DOORSTEP_SECRET_KEY` (64 hex digits) if set, else the one in `path`, created
    /// (mode 0600) on first use.
    pub fn load_or_create(path: &Path) -> Result<Sealer, String> {
        if let Ok(v) = std::env::var("DOORSTEP_SECRET_KEY") {
            return hex_key(&v).map(Sealer::from_key).ok_or_else(|| "DOORSTEP_SECRET_KEY: 64 hex digits".to_string());
        }
        if let Ok(text) = std::fs::read_to_string(path) {
            return hex_key(&text).map(Sealer::from_key).ok_or_else(|| format!("{}: not a key", path.display()));
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| e.to_string())?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        use std::io::Write as _;
        opts.open(path)
            .and_then(|mut f| f.write_all(hex.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Sealer::from_key(key))
    }

    pub fn seal(&self, campaign_id: &str, secret: &str) -> String {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the system's random source");
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(campaign_id.as_bytes()), &mut data)
            .expect("sealing cannot fail for these sizes");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    pub fn open(&self, campaign_id: &str, sealed: &str) -> Result<String, String> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|e| e.to_string())?;
        if bytes.len() < 12 + 16 {
            return Err("sealed secret too short".into());
        }
        let (nonce, rest) = bytes.split_at(12);
        let mut data = rest.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "nonce".to_string())?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(campaign_id.as_bytes()), &mut data)
            .map_err(|_| "the secret does not open with this server's key".to_string())?;
        String::from_utf8(plain.to_vec()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_campaign_and_key() {
        let s = Sealer::from_key([7; 32]);
        let sealed = s.seal("nantes", "tok-123");
        assert!(!sealed.contains("tok-123"));
        assert_ne!(sealed, s.seal("nantes", "tok-123"), "a fresh nonce each time");
        assert_eq!(s.open("nantes", &sealed).unwrap(), "tok-123");
        assert!(s.open("lyon", &sealed).is_err(), "moved to another campaign: does not open");
        assert!(Sealer::from_key([8; 32]).open("nantes", &sealed).is_err(), "another server's key");
        assert_eq!(hex_key(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(hex_key("abc"), None);
    }
}
