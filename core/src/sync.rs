//! The sync engine's seam with the network. [`Transport`] carries push messages; the HTTP
//! implementation (reqwest) arrives with the sync server (issue 3), and tests plug in simulated
//! networks that drop, duplicate or cut messages. Merge decisions never happen here: the server
//! decides, the store applies its per-item answer.

use std::future::Future;

use doorstep_protocol::{PushRequest, PushResponse};

use crate::error::Result;
use crate::store::Store;
use crate::views::AckSummary;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Nothing is known about whether the server got the message: retry later, same ids.
    #[error("network unavailable: {0}")]
    Unavailable(String),
    /// The server refused the request as a whole (bad token, unsupported version).
    #[error("refused by the server: {0}")]
    Refused(String),
}

pub trait Transport: Send + Sync {
    fn push(
        &self,
        request: &PushRequest,
    ) -> impl Future<Output = std::result::Result<PushResponse, TransportError>> + Send;
}

/// Outcome of one [`push_outbox`] run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushRun {
    pub batches: u32,
    pub ack: Option<AckSummary>,
    /// Set when the run stopped on a network error; the reports stay pending.
    pub stopped_by: Option<String>,
}

/// Pushes the outbox in batches of `batch` until it is empty or the network fails. Safe to call
/// again at any time: reports keep their ids, so a replay is answered "duplicate", never doubled.
pub async fn push_outbox<T: Transport>(store: &Store, transport: &T, batch: u32) -> Result<PushRun> {
    let mut run = PushRun::default();
    let mut total = AckSummary { accepted: 0, duplicate: 0, rejected: 0, ignored: 0 };
    loop {
        let req = store.export_pending_batch(batch)?;
        if req.reports.is_empty() {
            break;
        }
        match transport.push(&req).await {
            Ok(resp) => {
                let a = store.apply_push_response(&resp)?;
                run.batches += 1;
                total.accepted += a.accepted;
                total.duplicate += a.duplicate;
                total.rejected += a.rejected;
                total.ignored += a.ignored;
                if a.accepted + a.duplicate + a.rejected == 0 {
                    run.stopped_by = Some("the server answered for none of the batch".into());
                    break;
                }
            }
            Err(e) => {
                run.stopped_by = Some(e.to_string());
                break;
            }
        }
    }
    run.ack = Some(total);
    Ok(run)
}
