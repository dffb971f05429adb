//! The state several server processes share through the database (issue 21), for the service
//! layer: sign-in failures, forgetting idle request buckets, and the sealing key's fingerprint
//! (PostgreSQL takes a request from a bucket in one statement: [`ServerStore::take_shared`]). Written once over
//! [`super::tx::Tx`] in [`ops::shared`]; live events go through [`ServerStore::publish`] and
//! [`ServerStore::listen`] instead (they are not rows).

use async_trait::async_trait;

use super::{ServerStore, StoreResult, ops, typed, typed_read};

#[async_trait]
pub trait SharedStore: ServerStore {
    /// Failed sign-ins under `keys` since `since_ms`, oldest first.
    async fn signin_failures(&self, keys: &[String], since_ms: i64) -> StoreResult<Vec<(String, i64)>> {
        let keys = keys.to_vec();
        typed_read(self, move |tx| Box::pin(async move { ops::shared::signin_failures(tx, &keys, since_ms).await }))
            .await
    }
    async fn record_signin_failure(&self, keys: &[String], now_ms: i64, forget_before_ms: i64) -> StoreResult<()> {
        let keys = keys.to_vec();
        typed(self, move |tx| {
            Box::pin(async move { ops::shared::record_signin_failure(tx, &keys, now_ms, forget_before_ms).await })
        })
        .await
    }
    async fn clear_signin_failures(&self, key: &str) -> StoreResult<()> {
        let key = key.to_string();
        typed(self, move |tx| Box::pin(async move { ops::shared::clear_signin_failures(tx, &key).await })).await
    }
    async fn forget_buckets(&self, before_ms: i64) -> StoreResult<u64> {
        typed(self, move |tx| Box::pin(async move { ops::shared::forget_buckets(tx, before_ms).await })).await
    }
    /// The sealing key's fingerprint this database knows (`fingerprint` when it knew none).
    async fn key_fingerprint(&self, fingerprint: &str, now_ms: i64) -> StoreResult<String> {
        let f = fingerprint.to_string();
        typed(self, move |tx| Box::pin(async move { ops::shared::key_fingerprint(tx, &f, now_ms).await })).await
    }
}

impl<T: ServerStore + ?Sized> SharedStore for T {}
