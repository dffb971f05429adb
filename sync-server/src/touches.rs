//! A phone's last sync, written by its pull. The pulls that arrive while one such write is under
//! way are written together by the next one: one transaction and one commit for all of them
//! instead of one each (at the evening peak, when commits queue, a write carries many). Each pull
//! is still answered only once its own sync time is stored, as when it wrote alone.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::store::{Device, ServerStore, StoreError, StoreOps, StoreResult};

type Waiting = (Device, i64, oneshot::Sender<Result<(), String>>);

/// The sync times waiting to be written, and whether a write is under way.
#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    writing: bool,
}

/// The most sync times one write carries.
pub const MAX_TOUCHES: usize = 256;

#[derive(Default)]
pub struct Touches {
    queue: Mutex<Queue>,
}

impl Touches {
    /// Records that `device` synced at `now_ms`; returns once that is stored (with the others
    /// that arrived meanwhile).
    pub async fn touch(
        self: &Arc<Self>,
        store: &Arc<dyn ServerStore>,
        device: &Device,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (done, stored) = oneshot::channel();
        let first = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.waiting.push((device.clone(), now_ms, done));
            !std::mem::replace(&mut q.writing, true)
        };
        if first {
            // The writer runs on its own: a pull that goes away does not stop the others' write.
            let (this, store) = (self.clone(), store.clone());
            tokio::spawn(async move { this.write_all(store).await });
        }
        match stored.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Join(format!("the sync time was not stored: {e}"))),
            Err(_) => Err(StoreError::Join("the sync time's writer stopped".into())),
        }
    }

    /// Writes what waits, then what came meanwhile, until nothing waits.
    async fn write_all(&self, store: Arc<dyn ServerStore>) {
        loop {
            let batch: Vec<Waiting> = {
                let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                if q.waiting.is_empty() {
                    q.writing = false;
                    return;
                }
                let n = q.waiting.len().min(MAX_TOUCHES);
                q.waiting.drain(..n).collect()
            };
            let touches = batch.iter().map(|(d, at, _)| (d.clone(), *at)).collect();
            let result = store.touch_devices(touches).await.map_err(|e| e.to_string());
            for (_, _, done) in batch {
                let _ = done.send(result.clone());
            }
        }
    }
}
