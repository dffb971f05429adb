//! Secrets: join codes and device tokens are random, shown once, and stored only as SHA-256
//! hashes, so a stolen database holds no usable credential.

use base64::Engine;
use sha2::{Digest, Sha256};

/// 32 random bytes, URL-safe base64: a device's bearer token.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS has randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A join code people can type: 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
/// grouped `ABCDE-FGHJK`; about 49 bits, single use and short-lived.
pub fn new_join_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 10];
    getrandom::fill(&mut b).expect("the OS has randomness");
    let s: String = b.iter().map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char).collect();
    format!("{}-{}", &s[..5], &s[5..])
}

/// Codes are compared case- and dash-insensitively.
pub fn normalise_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

pub fn hash_secret(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_ne!(hash_secret(&a), a);
        let code = new_join_code();
        assert_eq!(code.len(), 11);
        assert_eq!(normalise_code(&code.to_lowercase()), normalise_code(&code));
    }
}
