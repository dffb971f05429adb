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

// ----- sign-in failures (the dashboard's login) -----------------------------------------------

/// Failed sign-ins allowed per login *from one address* within [`FAILURE_WINDOW_MS`]; each failure
/// beyond doubles the wait (1, 2, 4 … minutes, at most [`MAX_LOCK_MS`]). Counted per (login,
/// address) so that a stranger's failures cannot lock a coordinator out from their own address.
pub const MAX_FAILURES_PER_LOGIN: usize = 5;
/// The first wait after [`MAX_FAILURES_PER_LOGIN`] failures.
pub const FIRST_LOCK_MS: i64 = 60_000;
/// The longest wait.
pub const MAX_LOCK_MS: i64 = 3_600_000;
/// Failed sign-ins allowed per client address (an office may share one) within the window.
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
/// Failed attempts in a sliding window, per key (a login or an address). Bounded: old entries go
/// whenever the map grows past a few thousand keys.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: HashMap<String, Vec<i64>>,
}

impl LoginLimiter {
    /// Seconds to wait, when `key` has used up its `max` failures: from the last failure, a wait
    /// that doubles with each failure beyond `max`. Failures older than the window (or than the
    /// wait, when it is longer) are forgotten.
    pub(crate) fn wait(&mut self, key: &str, max: usize, now: i64) -> Option<u64> {
        let list = self.failures.get_mut(key)?;
        let lock = |n: usize| FIRST_LOCK_MS.saturating_mul(1 << (n.saturating_sub(max)).min(20)).min(MAX_LOCK_MS);
        let keep = FAILURE_WINDOW_MS.max(lock(list.len()));
        list.retain(|t| now - t < keep);
        let last = *list.last()?;
        let until = last + lock(list.len());
        (list.len() >= max && until > now).then(|| ((until - now).max(1000) / 1000) as u64)
    }
    pub(crate) fn fail(&mut self, key: &str, now: i64) {
        if self.failures.len() > 4096 {
            self.failures.retain(|_, l| l.last().is_some_and(|t| now - t < FAILURE_WINDOW_MS));
        }
        self.failures.entry(key.to_string()).or_default().push(now);
    }
    pub(crate) fn clear(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod login_tests {
    use super::*;

    #[test]
    fn limiter_counts_failures_in_a_window() {
        let mut l = LoginLimiter::default();
        for i in 0..5 {
            assert_eq!(l.wait("k", 5, i), None);
            l.fail("k", i);
        }
        let wait = l.wait("k", 5, 10).expect("blocked after 5");
        assert!(wait > 55 && wait <= 60, "a minute after the fifth failure: {wait}");
        assert_eq!(l.wait("k", 5, FIRST_LOCK_MS + 5), None, "the wait passes");
        // Each failure after the fifth doubles the wait (failures older than the window are
        // forgotten, so a slow guesser starts again at a minute).
        let mut t = FIRST_LOCK_MS + 5;
        for want in [120, 240, 480] {
            l.fail("k", t);
            assert_eq!(l.wait("k", 5, t), Some(want));
            t += want as i64 * 1000;
            assert_eq!(l.wait("k", 5, t), None);
        }
        let mut m = LoginLimiter::default();
        for _ in 0..30 {
            m.fail("k", 0);
        }
        assert_eq!(m.wait("k", 5, 0), Some((MAX_LOCK_MS / 1000) as u64), "at most an hour");
        l.fail("k", 1);
        l.clear("k");
        assert_eq!(l.wait("k", 1, 2), None);
    }
}
