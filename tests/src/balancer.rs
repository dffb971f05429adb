//! A small TCP load balancer on loopback for the multi-process tests: each new connection goes to
//! the next server process in turn (round robin), as a layer-4 balancer in front of several
//! stateless servers would send it. A phone's client keeps its connection alive, so its requests
//! stay on one process until the connection closes; different phones land on different processes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};

pub struct Balancer {
    pub addr: SocketAddr,
    /// Connections sent to each backend so far, in the backends' order.
    pub sent: Arc<Vec<AtomicU64>>,
}

impl Balancer {
    pub async fn start(backends: Vec<SocketAddr>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        let sent: Arc<Vec<AtomicU64>> = Arc::new(backends.iter().map(|_| AtomicU64::new(0)).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let counts = sent.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let i = next.fetch_add(1, Ordering::Relaxed) % backends.len();
                counts[i].fetch_add(1, Ordering::Relaxed);
                let to = backends[i];
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Balancer { addr, sent }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
