//! Time behind a trait: the device's wall clock (which may be wrong) and monotonic time since boot.
//! Tests use [`ManualClock`] to make time jump, stall or run backwards.

use std::sync::Mutex;

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Wall clock, ms since the Unix epoch. May jump in either direction.
    fn now_ms(&self) -> i64;
    /// Monotonic ms since the device booted (keeps counting in sleep). Resets on reboot.
    fn monotonic_ms(&self) -> u64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn monotonic_ms(&self) -> u64 {
        boot_time_ms()
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn boot_time_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_BOOTTIME exists on Linux and Android.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn boot_time_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC exists on Darwin.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock {
    inner: Mutex<(i64, u64)>,
}

impl ManualClock {
    pub fn new(now_ms: i64, monotonic_ms: u64) -> Self {
        Self { inner: Mutex::new((now_ms, monotonic_ms)) }
    }
    /// Both clocks move forward by `ms`.
    pub fn advance(&self, ms: u64) {
        let mut g = self.inner.lock().unwrap();
        g.0 += ms as i64;
        g.1 += ms;
    }
    /// The wall clock is set to anything; monotonic time is untouched.
    pub fn set_wall(&self, now_ms: i64) {
        self.inner.lock().unwrap().0 = now_ms;
    }
    /// A reboot: monotonic time restarts.
    pub fn reboot(&self, monotonic_ms: u64) {
        self.inner.lock().unwrap().1 = monotonic_ms;
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.inner.lock().unwrap().0
    }
    fn monotonic_ms(&self) -> u64 {
        self.inner.lock().unwrap().1
    }
}
