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
    take_n(b, now_ms, burst, per_s, 1)
}

/// [`take`] for the last of `n` requests, the `n - 1` before it already served by a process on its
/// own ([`take_local`]): they are taken whatever is left (the bucket may owe them), then the last
/// is taken as one request is.
pub fn take_n(b: Bucket, now_ms: i64, burst: f64, per_s: f64, n: u32) -> (Bucket, Result<(), u64>) {
    let at_ms = now_ms.max(b.at_ms);
    let tokens = (b.tokens + (at_ms - b.at_ms) as f64 / 1000.0 * per_s).min(burst) - f64::from(n.max(1) - 1);
    if tokens >= 1.0 {
        (Bucket { tokens: tokens - 1.0, at_ms }, Ok(()))
    } else {
        (Bucket { tokens, at_ms }, Err(wait_s(tokens, per_s)))
    }
}

/// Requests a process serves a credential on its own before it reports them to the bucket every
/// process shares (PostgreSQL): a phone's sync (five or six requests, spread by the balancer over
/// the processes) never writes the shared bucket; a client over the limit is refused everywhere
/// once its requests are reported, and a burst may pass the limit by at most this many less one
/// per process.
pub const REPORT_EVERY: u32 = 8;

/// A process's share of a credential's budget when the processes share one: its own bucket (at
/// most the burst: no process alone lets more through than the limit), and the requests it served
/// without reporting them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    pub bucket: Bucket,
    pub unreported: u32,
}

/// What a process decides alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// Served, counted for a later report.
    Granted,
    /// Refused: this process's bucket is empty (or the shared one was when last asked).
    Refused(u64),
    /// Served if the shared bucket says so: report this many requests ([`take_n`]), then [`settle`].
    Ask(u32),
}

/// One request under a process's share: its own bucket decides, and every [`REPORT_EVERY`]th
/// request served is reported. A bucket that has filled up again forgets what it did not report
/// (the shared bucket, refilling at the same pace, has those tokens back too).
pub fn take_local(s: Share, now_ms: i64, burst: f64, per_s: f64) -> (Share, Local) {
    let at_ms = now_ms.max(s.bucket.at_ms);
    let tokens = (s.bucket.tokens + (at_ms - s.bucket.at_ms) as f64 / 1000.0 * per_s).min(burst);
    let unreported = if tokens >= burst { 0 } else { s.unreported };
    if tokens < 1.0 {
        return (Share { bucket: Bucket { tokens, at_ms }, unreported }, Local::Refused(wait_s(tokens, per_s)));
    }
    let left = Share { bucket: Bucket { tokens: tokens - 1.0, at_ms }, unreported: unreported + 1 };
    let step = if left.unreported >= REPORT_EVERY { Local::Ask(left.unreported) } else { Local::Granted };
    (left, step)
}

/// The shared bucket's answer to a report of `n`: `left` tokens there. The process's bucket never
/// holds more than the shared one (the other processes' requests count).
pub fn settle(s: Share, n: u32, left: f64) -> Share {
    Share {
        bucket: Bucket { tokens: s.bucket.tokens.min(left), at_ms: s.bucket.at_ms },
        unreported: s.unreported.saturating_sub(n),
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
    shares: Mutex<HashMap<String, Share>>,
    epoch: Instant,
}

impl Default for Limiter {
    fn default() -> Self {
        Self { buckets: Mutex::default(), shares: Mutex::default(), epoch: Instant::now() }
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

    /// One request under this process's share of `key`'s budget ([`take_local`]).
    pub fn take_share(&self, key: &str, burst: f64, per_s: f64) -> Local {
        let now = self.epoch.elapsed().as_millis() as i64;
        let mut s = self.shares.lock().unwrap_or_else(|p| p.into_inner());
        if s.len() > 100_000 {
            s.retain(|_, k| k.bucket.tokens + (now - k.bucket.at_ms) as f64 / 1000.0 * per_s < burst);
        }
        let held =
            *s.entry(key.to_string()).or_insert(Share { bucket: Bucket { tokens: burst, at_ms: now }, unreported: 0 });
        let (left, step) = take_local(held, now, burst, per_s);
        s.insert(key.to_string(), left);
        step
    }

    /// The shared bucket answered a report of `n` requests under `key` ([`settle`]).
    pub fn settle(&self, key: &str, n: u32, left: f64) {
        let mut s = self.shares.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = s.get_mut(key) {
            *held = settle(*held, n, left);
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

    #[test]
    fn reported_requests_are_taken_whatever_is_left() {
        // (tokens, n reported, granted, tokens left) at the bucket's own time, burst 10, 1 a second.
        let cases = [
            (10.0, 1, true, 9.0),
            (10.0, 8, true, 2.0),
            (8.0, 8, true, 0.0),
            (7.5, 8, false, 0.5),
            (3.0, 8, false, -4.0),
            (-4.0, 8, false, -11.0),
        ];
        for (tokens, n, granted, left) in cases {
            let (b, r) = take_n(Bucket { tokens, at_ms: 0 }, 0, 10.0, 1.0, n);
            assert_eq!((r.is_ok(), b.tokens), (granted, left), "{tokens} tokens, {n} reported");
        }
        // A bucket in debt waits until it holds one token again.
        assert_eq!(take_n(Bucket { tokens: -4.0, at_ms: 0 }, 0, 10.0, 1.0, 1).1, Err(5));
    }

    #[test]
    fn a_process_serves_alone_and_reports_every_eighth_request() {
        let (burst, per_s) = (120.0, 20.0);
        let mut s = Share { bucket: Bucket { tokens: burst, at_ms: 0 }, unreported: 0 };
        let mut steps = Vec::new();
        for _ in 0..REPORT_EVERY {
            let (left, step) = take_local(s, 0, burst, per_s);
            steps.push(step);
            s = left;
        }
        assert_eq!(steps[..7], [Local::Granted; 7]);
        assert_eq!(steps[7], Local::Ask(8), "the eighth is reported with the seven before");
        // The shared bucket had other processes' requests: it holds 2.5 tokens; so does this one.
        s = settle(s, 8, 2.5);
        assert_eq!(s, Share { bucket: Bucket { tokens: 2.5, at_ms: 0 }, unreported: 0 });
        let (s2, step) = take_local(s, 0, burst, per_s);
        assert_eq!(step, Local::Granted);
        let (s3, step) = take_local(s2, 0, burst, per_s);
        assert_eq!(step, Local::Granted);
        let (_, step) = take_local(s3, 0, burst, per_s);
        assert_eq!(step, Local::Refused(1), "0.5 left: refused here, no question asked");
        // Refilled to the burst (six seconds later), what was not reported is forgotten.
        let (s4, step) = take_local(s3, 6_000, burst, per_s);
        assert_eq!((step, s4.unreported), (Local::Granted, 1));
        // A phone's sync (six requests) never reaches the shared bucket.
        let mut s = Share { bucket: Bucket { tokens: burst, at_ms: 0 }, unreported: 0 };
        for k in 0..60 {
            for r in 0..6 {
                let (left, step) = take_local(s, k * 600_000 + r * 50, burst, per_s);
                assert_eq!(step, Local::Granted, "sync {k}, request {r}");
                s = left;
            }
        }
        // A report answered while this process served more keeps those for the next report.
        let busy = Share { bucket: Bucket { tokens: 50.0, at_ms: 0 }, unreported: 10 };
        assert_eq!(settle(busy, 8, 100.0).unreported, 2);
        assert_eq!(settle(busy, 8, 100.0).bucket.tokens, 50.0, "never more than its own");
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
