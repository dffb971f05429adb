//! A knock acknowledged on the screen is never lost.
//!
//! 1. `every_knock_is_synced_before_the_call_returns`: this test binary interposes `fsync` and
//!    `fdatasync` (the functions SQLite's unix VFS calls to make a commit durable) and counts the
//!    calls on the store's WAL file. Each `record_knock` must sync the WAL before it returns. With
//!    `synchronous=OFF` (or NORMAL, which in WAL mode does not sync at commit) the count is zero and
//!    the test fails; the probe checks itself on such a connection.
//! 2. `sigkill_during_knock_loop_loses_nothing`: a child process records knocks in a loop and prints
//!    each id after the call returned; it is killed with SIGKILL at a random moment, hundreds of
//!    times; every printed id must be in the reopened store. `DOORSTEP_CRASH_ITERATIONS` sets the
//!    count (200 by default; the long form in README uses 2000).

use std::collections::HashMap;
use std::ffi::c_int;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use doorstep_core::{KnockInput, Store};
use doorstep_protocol::Target;

static SYNCS: Mutex<Option<HashMap<PathBuf, u64>>> = Mutex::new(None);

fn note_sync(fd: c_int) {
    if let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        && let Ok(mut g) = SYNCS.lock()
    {
        *g.get_or_insert_with(HashMap::new).entry(p).or_default() += 1;
    }
}

fn syncs_of(path: &Path) -> u64 {
    let canon = path.canonicalize().unwrap_or(path.to_path_buf());
    SYNCS.lock().unwrap().as_ref().and_then(|m| m.get(&canon).copied()).unwrap_or(0)
}

type SyncFn = unsafe extern "C" fn(c_int) -> c_int;

unsafe fn real(name: &std::ffi::CStr) -> SyncFn {
    // SAFETY: RTLD_NEXT finds libc's definition of a function with this exact signature.
    unsafe {
        let f = libc::dlsym(libc::RTLD_NEXT, name.as_ptr());
        assert!(!f.is_null(), "libc has no {name:?}");
        std::mem::transmute::<*mut libc::c_void, SyncFn>(f)
    }
}

/// Interposes libc's fsync for this test binary (SQLite is linked statically into it).
///
/// # Safety
/// Same contract as libc's `fsync`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsync(fd: c_int) -> c_int {
    note_sync(fd);
    // SAFETY: forwarding to libc's fsync.
    unsafe { real(c"fsync")(fd) }
}

/// Interposes libc's fdatasync (SQLite's sync when built with `HAVE_FDATASYNC`).
///
/// # Safety
/// Same contract as libc's `fdatasync`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fdatasync(fd: c_int) -> c_int {
    note_sync(fd);
    // SAFETY: forwarding to libc's fdatasync.
    unsafe { real(c"fdatasync")(fd) }
}

fn knock(door: &str) -> KnockInput {
    doorstep_tests::knock_on(door, "not_home")
}

#[test]
fn every_knock_is_synced_before_the_call_returns() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("field.db");
    let wal = dir.path().join("field.db-wal");
    let store = Store::open(&db, None).unwrap();
    let pkg = doorstep_tests::turf_package("t1", 20);
    store.apply_turf_package_value(&pkg).unwrap();
    for d in &pkg.doors[..10] {
        let before = syncs_of(&wal);
        store.record_knock(knock(&d.id)).unwrap();
        let after = syncs_of(&wal);
        assert!(after > before, "record_knock returned without syncing the WAL ({before} → {after})");
    }
    // A draft is saved durably too: the app may be killed right after.
    let before = syncs_of(&wal);
    store
        .save_draft(doorstep_core::KnockDraft {
            target: Target::Door { id: pkg.doors[11].id.clone() },
            result_code: None,
            answers: vec![],
            note: Some("…".into()),
            safety_flags: vec![],
            updated_ms: 0,
        })
        .unwrap();
    assert!(syncs_of(&wal) > before);
}

/// The probe above must be able to fail: on a connection with `synchronous=OFF` the same kind of
/// commit makes no sync at all.
#[test]
fn the_sync_probe_sees_synchronous_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plain.db");
    let wal = dir.path().join("plain.db-wal");
    for (mode, expect_syncs) in [("OFF", false), ("NORMAL", false), ("FULL", true)] {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).unwrap();
        c.execute_batch(&format!("PRAGMA synchronous={mode}; CREATE TABLE IF NOT EXISTS t(x)")).unwrap();
        c.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let before = syncs_of(&wal);
        c.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_eq!(syncs_of(&wal) > before, expect_syncs, "synchronous={mode}");
    }
}

#[test]
fn sigkill_during_knock_loop_loses_nothing() {
    let iterations: u32 = std::env::var("DOORSTEP_CRASH_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("field.db");
    let exe = env!("CARGO_BIN_EXE_knock-loop");
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut acknowledged: Vec<String> = Vec::new();
    let mut killed_mid_run = 0;
    for i in 0..iterations {
        let mut child = Command::new(exe).arg(&db).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the child is knocking, then kill it after a random 0–25 ms.
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(first) => assert_eq!(first, "ready"),
            Err(_) => {
                let out = child.wait_with_output().unwrap();
                panic!("child never became ready: {}", String::from_utf8_lossy(&out.stderr))
            }
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(seed % 25_000));
        // SAFETY: sending SIGKILL to our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let ids: Vec<String> = rx.try_iter().filter(|l| l.len() == 36).collect();
        if status.code().is_none() {
            killed_mid_run += 1;
        }
        acknowledged.extend(ids);
        // Every 20 iterations (and at the end), the parent checks the file itself.
        if i % 20 == 19 || i + 1 == iterations {
            let store = Store::open(&db, None).unwrap();
            let held: std::collections::HashSet<String> =
                store.list_knocks("crash").unwrap().into_iter().map(|k| k.id).collect();
            let lost: Vec<&String> = acknowledged.iter().filter(|id| !held.contains(*id)).collect();
            assert!(
                lost.is_empty(),
                "after {} kills, {} acknowledged knocks lost: {:?}",
                i + 1,
                lost.len(),
                &lost[..lost.len().min(5)]
            );
            let ok: String =
                rusqlite::Connection::open(&db).unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(ok, "ok");
        }
    }
    assert_eq!(killed_mid_run, iterations, "every child died by the signal");
    assert!(acknowledged.len() as u32 > iterations, "the loop made progress: {} knocks", acknowledged.len());
    eprintln!("{iterations} SIGKILLs, {} acknowledged knocks, 0 lost", acknowledged.len());
}
