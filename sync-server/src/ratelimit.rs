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

/// A request bucket: its tokens when last touched, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub at_ms: i64,
}

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

/// Takes one request from a bucket of `burst` tokens that refills at `per_s` a second: the bucket
/// left, and `Err(seconds to wait)` when it held less than one token. One rule for this process's
/// buckets and for those PostgreSQL's processes share; a clock behind the bucket's (another
/// process's) refills nothing.
pub fn take(b: Bucket, now_ms: i64, burst: f64, per_s: f64) -> (Bucket, Result<(), u64>) {
    let at_ms = now_ms.max(b.at_ms);
    let tokens = (b.tokens + (at_ms - b.at_ms) as f64 / 1000.0 * per_s).min(burst);
    if tokens >= 1.0 {
        (Bucket { tokens: tokens - 1.0, at_ms }, Ok(()))
    } else {
        (Bucket { tokens, at_ms }, Err(wait_s(tokens, per_s)))
    }
}

/// Seconds until a bucket holding `tokens` (less than one) holds one again; at least one.
pub fn wait_s(tokens: f64, per_s: f64) -> u64 {
    ((1.0 - tokens) / per_s).ceil().max(1.0) as u64
}

/// This process's buckets (the embedded server's; PostgreSQL's processes share theirs in the
/// database: `Service::take_request`).
#[derive(Debug)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    epoch: Instant,
}

impl Default for Limiter {
    fn default() -> Self {
        Self { buckets: Mutex::default(), epoch: Instant::now() }
    }
}

impl Limiter {
    /// Takes one request from `key`'s bucket; `Err(seconds to wait)` when it is empty.
    pub fn take(&self, key: &str, burst: f64, per_s: f64) -> Result<(), u64> {
        let now = self.epoch.elapsed().as_millis() as i64;
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() > 100_000 {
            // Forget the buckets that have filled up again: they are as good as new.
            b.retain(|_, k| k.tokens + (now - k.at_ms) as f64 / 1000.0 * per_s < burst);
        }
        let held = *b.entry(key.to_string()).or_insert(Bucket { tokens: burst, at_ms: now });
        let (left, answer) = take(held, now, burst, per_s);
        b.insert(key.to_string(), left);
        answer
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

    #[test]
    fn the_rule_refills_by_the_clock_and_never_backwards() {
        let full = Bucket { tokens: 2.0, at_ms: 1_000 };
        let (b, r) = take(full, 1_000, 2.0, 0.5);
        assert_eq!((b.tokens, r), (1.0, Ok(())));
        let (b, r) = take(b, 1_000, 2.0, 0.5);
        assert_eq!((b.tokens, r), (0.0, Ok(())));
        assert_eq!(take(b, 1_000, 2.0, 0.5).1, Err(2), "one token takes two seconds at 0.5 a second");
        assert_eq!(take(b, 2_000, 2.0, 0.5).1, Err(1), "half a token: one more second");
        assert_eq!(take(b, 3_000, 2.0, 0.5).1, Ok(()));
        assert_eq!(take(b, 100_000, 2.0, 0.5).0.tokens, 1.0, "never more than the burst");
        // A process whose clock is behind the bucket's refills nothing and keeps the later time.
        let (later, r) = take(Bucket { tokens: 0.0, at_ms: 5_000 }, 4_000, 2.0, 0.5);
        assert_eq!((later, r), (Bucket { tokens: 0.0, at_ms: 5_000 }, Err(2)));
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
/// The longest a failed sign-in is remembered (no wait lasts longer).
pub const FAILURE_MEMORY_MS: i64 = MAX_LOCK_MS;

/// Seconds to wait before the next sign-in under a key (a login from an address, or an address)
/// whose failed attempts were at `failures` (in any order; those older than the window, or than
/// the wait when it is longer, count no more): `None` under `max` failures, else a wait from the
/// last failure that doubles with each failure beyond `max`. The database keeps the failures, so
/// the wait holds whichever server process the next attempt reaches.
pub fn signin_wait(failures: &[i64], max: usize, now: i64) -> Option<u64> {
    let lock = |n: usize| FIRST_LOCK_MS.saturating_mul(1 << (n.saturating_sub(max)).min(20)).min(MAX_LOCK_MS);
    let keep = FAILURE_WINDOW_MS.max(lock(failures.len()));
    let recent: Vec<i64> = failures.iter().copied().filter(|t| now - t < keep).collect();
    let last = *recent.iter().max()?;
    let until = last + lock(recent.len());
    (recent.len() >= max && until > now).then(|| ((until - now).max(1000) / 1000) as u64)
}

#[cfg(test)]
mod login_tests {
    use super::*;

    #[test]
    fn failures_in_a_window_lock_a_key_with_doubling_waits() {
        let mut f: Vec<i64> = Vec::new();
        for i in 0..5 {
            assert_eq!(signin_wait(&f, 5, i), None);
            f.push(i);
        }
        let wait = signin_wait(&f, 5, 10).expect("blocked after 5");
        assert!(wait > 55 && wait <= 60, "a minute after the fifth failure: {wait}");
        assert_eq!(signin_wait(&f, 5, FIRST_LOCK_MS + 5), None, "the wait passes");
        // Each failure after the fifth doubles the wait (failures older than the window are
        // forgotten, so a slow guesser starts again at a minute).
        let mut t = FIRST_LOCK_MS + 5;
        for want in [120, 240, 480] {
            f.push(t);
            assert_eq!(signin_wait(&f, 5, t), Some(want));
            t += want as i64 * 1000;
            assert_eq!(signin_wait(&f, 5, t), None);
        }
        assert_eq!(signin_wait(&[0; 30], 5, 0), Some((MAX_LOCK_MS / 1000) as u64), "at most an hour");
        assert_eq!(signin_wait(&[], 1, 2), None);
        let mut shuffled = vec![3, 1, 4, 0, 2];
        assert_eq!(signin_wait(&shuffled, 5, 10), signin_wait(&[0, 1, 2, 3, 4], 5, 10), "order does not matter");
        shuffled.truncate(4);
        assert_eq!(signin_wait(&shuffled, 5, 10), None);
    }
}
