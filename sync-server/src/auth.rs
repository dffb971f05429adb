//! Secrets: join codes and device tokens are random, shown once, and stored only as SHA-256
//! hashes, so a stolen database holds no usable credential. Staff passwords are stored as
//! argon2id hashes (PHC strings, a random salt each). Dashboard sessions are tokens like any other,
//! carried in an HttpOnly cookie; their CSRF token is derived from the session token, so it needs
//! no storage and a page of another origin can neither read nor compute it.

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

/// Shortest password accepted (the CNIL's recommendation for a password alone, with login
/// attempts rate limited).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Hashes a password with argon2id (19 MiB, 2 passes, 1 lane: the OWASP minimum) and a random salt.
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS has randomness");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a salt");
    argon2::Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any input").to_string()
}

/// Whether `password` matches a stored PHC hash (constant time in the hash comparison).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the login is unknown, so a wrong login costs as long as a wrong
/// password and timing tells nothing about who has an account.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not a password of anybody"))
}

/// The CSRF token of a dashboard session: a keyed hash of the session token (which only the
/// cookie holds), sent back by the page in `X-CSRF-Token` on every change.
pub fn csrf_token(session_token: &str) -> String {
    hash_secret(&format!("doorstep-csrf:{session_token}"))
}

/// Compares two secrets without an early exit.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

    #[test]
    fn passwords_are_salted_argon2id() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert_ne!(h, hash_password("correct horse battery"), "a new salt each time");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert!(!verify_password("x", decoy_hash()));
        let t = new_token();
        assert_eq!(csrf_token(&t), csrf_token(&t));
        assert_ne!(csrf_token(&t), csrf_token(&new_token()));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
