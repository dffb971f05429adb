//! Live events between server processes on one PostgreSQL (issue 21): each process publishes its
//! events with `NOTIFY` once their change has committed, and listens on a connection of its own,
//! so a dashboard connected to any process sees what every process did. A lost connection is made
//! again (every second until it works); the events sent meanwhile are missed, so the listener says
//! so (`None`) and the dashboards reload.

use futures_util::StreamExt as _;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{LiveDeliver, StoreResult};

/// The channel every process listens on.
pub const LIVE_CHANNEL: &str = "doorstep_live";
/// PostgreSQL refuses a notification's payload from 8,000 bytes.
pub const MAX_PAYLOAD: usize = 7_999;

/// Listens on `url`; returns once the first `LISTEN` has taken effect (so no event published after
/// this returns is missed), then keeps listening in a task of its own.
pub async fn listen(url: &str, deliver: LiveDeliver) -> StoreResult<()> {
    let first = Listening::open(url).await?;
    let url = url.to_string();
    tokio::spawn(async move {
        let mut current = Some(first);
        loop {
            if let Some(l) = current.take() {
                l.forward(&deliver).await;
            }
            tracing::warn!("live events: the database connection was lost; listening again");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            match Listening::open(&url).await {
                Ok(l) => {
                    deliver(None);
                    current = Some(l);
                }
                Err(e) => tracing::warn!(error = %e, "live events: cannot listen yet"),
            }
        }
    });
    Ok(())
}

/// A connection listening: the client (kept, or the connection closes) and its notifications.
struct Listening {
    _client: tokio_postgres::Client,
    payloads: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Listening {
    async fn open(url: &str) -> StoreResult<Self> {
        let (client, mut conn) = tokio_postgres::connect(url, NoTls).await?;
        let (tx, payloads) = tokio::sync::mpsc::unbounded_channel();
        // The connection is driven here: notifications come in among its messages.
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(Ok(m)) = messages.next().await {
                if let AsyncMessage::Notification(n) = m
                    && tx.send(n.payload().to_string()).is_err()
                {
                    break;
                }
            }
        });
        client.batch_execute(&format!("LISTEN {LIVE_CHANNEL}")).await?;
        Ok(Self { _client: client, payloads })
    }

    /// Hands on every payload until the connection ends.
    async fn forward(mut self, deliver: &LiveDeliver) {
        while let Some(p) = self.payloads.recv().await {
            deliver(Some(p));
        }
    }
}
