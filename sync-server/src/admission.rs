//! Load shedding for the phones' syncs (issue 21): a process that already holds its limit of sync
//! requests answers the next one at once — 503 with a `Retry-After` of 1 to 5 seconds, spread so
//! that the phones told to wait do not come back together — before any database work. A phone's
//! sync takes that as "busy" and tries again after the wait (its outbox keeps every report), so a
//! reconnect storm is served at the rate the process can answer instead of piling up requests
//! until every one of them times out and is sent again. People at a screen (the dashboard, admin
//! pages, sign-in) and the message feed's long poll are never shed. A place is taken only by a
//! request that carries a credential and whose body has arrived in full (`web::guard`): strangers,
//! and clients that send slowly, cannot hold the places the phones need.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Sync requests one process works on at once before it sheds (`serve --max-in-flight`).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

#[derive(Debug)]
pub struct Admission {
    in_flight: AtomicUsize,
    limit: AtomicUsize,
    shed: AtomicU64,
}

/// A request being worked on; its place is given back when it is dropped.
pub struct Slot(Arc<Admission>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Default for Admission {
    fn default() -> Self {
        Self { in_flight: AtomicUsize::new(0), limit: AtomicUsize::new(DEFAULT_MAX_IN_FLIGHT), shed: AtomicU64::new(0) }
    }
}

impl Admission {
    /// Whether requests to this path may be shed: a phone's sync, not the long poll.
    pub fn sheds(path: &str) -> bool {
        path.starts_with("/api/v1/sync/") && path != "/api/v1/sync/feed/wait"
    }

    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit.max(1), Ordering::Relaxed);
    }

    /// A place for one more request, or the seconds to tell the caller to wait.
    pub fn enter(self: &Arc<Self>) -> Result<Slot, u64> {
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        if before >= self.limit.load(Ordering::Relaxed) {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            let n = self.shed.fetch_add(1, Ordering::Relaxed);
            return Err(1 + n % 5);
        }
        Ok(Slot(self.clone()))
    }

    /// Requests shed so far by this process.
    pub fn shed_count(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_above_the_limit_and_gives_places_back() {
        let a = Arc::new(Admission::default());
        a.set_limit(2);
        let one = a.enter().unwrap();
        let two = a.enter().unwrap();
        let waits: Vec<u64> = (0..5).map(|_| a.enter().err().unwrap()).collect();
        assert_eq!(waits, vec![1, 2, 3, 4, 5], "the waits are spread over 1–5 s");
        assert_eq!(a.shed_count(), 5);
        drop(one);
        let three = a.enter().expect("a place given back is taken again");
        drop((two, three));
        assert_eq!(a.in_flight.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn only_phone_syncs_are_shed() {
        assert!(Admission::sheds("/api/v1/sync/pull"));
        assert!(Admission::sheds("/api/v1/sync/push"));
        assert!(!Admission::sheds("/api/v1/sync/feed/wait"));
        assert!(!Admission::sheds("/api/v1/dashboard/progress"));
        assert!(!Admission::sheds("/healthz"));
    }
}
