//! Request rate limits: a token bucket per credential (each device's or staff member's token, or
//! session) and, for requests without one, per client address. Over the limit: 429 with
//! `Retry-After`, which the phones' sync client treats as "try again later" (it backs off).
//!
//! Per address only for anonymous requests: thousands of phones may share one address behind a
//! carrier's NAT, and each has its own token. Sign-in failures have their own lockout
//! ([`crate::session`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Requests a credential may make at once…
    pub token_burst: f64,
    /// …and per second after that.
    pub token_per_s: f64,
    pub anonymous_burst: f64,
    pub anonymous_per_s: f64,
}

impl Default for RateLimits {
    /// A phone's sync is two to five requests; a dashboard page load about fifteen.
    fn default() -> Self {
        Self { token_burst: 120.0, token_per_s: 20.0, anonymous_burst: 300.0, anonymous_per_s: 30.0 }
    }
}

#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    /// Takes one request from `key`'s bucket; `Err(seconds to wait)` when it is empty.
    pub fn take(&self, key: &str, burst: f64, per_s: f64) -> Result<(), u64> {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() > 100_000 {
            // Forget the buckets that have filled up again: they are as good as new.
            b.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_s < burst);
        }
        let (tokens, at) = b.entry(key.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_s).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_s).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_refills() {
        let l = Limiter::default();
        for _ in 0..3 {
            assert_eq!(l.take("k", 3.0, 1.0), Ok(()));
        }
        assert_eq!(l.take("k", 3.0, 1.0), Err(1));
        assert_eq!(l.take("other", 3.0, 1.0), Ok(()), "buckets are per key");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(l.take("k", 3.0, 1.0), Ok(()));
    }
}
