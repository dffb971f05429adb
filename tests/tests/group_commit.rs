//! Group commit on the embedded SQLite server (issue 21): concurrent writes share one commit, yet
//! each one succeeds or fails alone, as if it had had a transaction of its own — an operation that
//! fails (or panics) after writing leaves nothing behind, and the others of its group are kept.
//! Every answer comes after the commit: what was answered `Ok` is in the file when reopened.

use std::any::Any;
use std::collections::HashSet;

use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::tx::AnyOp;
use doorstep_server::store::{ServerStore, StoreError};
use doorstep_server::vals;

const WRITES: usize = 300;

/// Write `i` inserts its row, then fails if `i % 10 == 3`, panics if `i % 50 == 7`.
fn op(i: usize) -> AnyOp {
    Box::new(move |tx| {
        Box::pin(async move {
            tx.exec("INSERT INTO signin_failures(key, at_ms) VALUES ($1, $2)", &vals![format!("k{i}"), i as i64])
                .await?;
            if i % 50 == 7 {
                panic!("write {i} panics after writing (on purpose)");
            }
            if i % 10 == 3 {
                return Err(StoreError::Conflict(format!("write {i}")));
            }
            Ok(Box::new(i) as Box<dyn Any + Send>)
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits_and_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.db");
    let store = SqliteStore::open(&path).unwrap();
    let tasks: Vec<_> = (0..WRITES)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move { (i, s.op_any(op(i)).await.map(|b| *b.downcast::<usize>().unwrap())) })
        })
        .collect();
    let mut answered_ok = HashSet::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match r {
            Ok(v) => {
                assert_eq!(v, i, "each write gets its own answer");
                answered_ok.insert(format!("k{i}"));
            }
            Err(e) => assert!(i % 10 == 3 || i % 50 == 7, "write {i} failed: {e}"),
        }
    }
    let want: HashSet<String> = (0..WRITES).filter(|i| i % 10 != 3 && i % 50 != 7).map(|i| format!("k{i}")).collect();
    assert_eq!(answered_ok, want);
    let (commits, operations) = store.group_commits();
    assert_eq!(operations, WRITES as u64);
    assert!(commits < operations, "concurrent writes shared commits: {operations} writes in {commits} commits");
    drop(store);
    // Reopened from the file: exactly the writes answered Ok.
    let c = rusqlite::Connection::open(&path).unwrap();
    let mut st = c.prepare("SELECT key FROM signin_failures").unwrap();
    let kept: HashSet<String> = st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(kept, want, "on disk: what was acknowledged, nothing of what failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_commit_per_write_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_grouped(dir.path().join("server.db"), 1).unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move { s.op_any(op(i * 10)).await.is_ok() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(store.group_commits(), (40, 40));
}
