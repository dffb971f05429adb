//! A small TCP load balancer on loopback for the multi-process tests: each new connection goes to
//! the next server process in turn (round robin), as a layer-4 balancer in front of several
//! stateless servers would send it. A phone's client keeps its connection alive, so its requests
//! stay on one process until the connection closes; different phones land on different processes.
//!
//! [`Balancer::set_down`] plays an outage: open connections are cut and new ones are closed as
//! soon as they are accepted, until it is set up again (the national load model's reconnect storm).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Balancer {
    pub addr: SocketAddr,
    /// Connections sent to each backend so far, in the backends' order.
    pub sent: Arc<Vec<AtomicU64>>,
    down: watch::Sender<bool>,
}

impl Balancer {
    pub async fn start(backends: Vec<SocketAddr>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        let sent: Arc<Vec<AtomicU64>> = Arc::new(backends.iter().map(|_| AtomicU64::new(0)).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let counts = sent.clone();
        let (down, watching) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                // An accept that fails (out of descriptors) is tried again, not the end of the
                // balancer.
                let mut client = match listener.accept().await {
                    Ok((c, _)) => c,
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if *watching.borrow() {
                    drop(client);
                    continue;
                }
                let i = next.fetch_add(1, Ordering::Relaxed) % backends.len();
                counts[i].fetch_add(1, Ordering::Relaxed);
                let to = backends[i];
                let mut outage = watching.clone();
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(to).await {
                        // Small requests and answers pass at once (no Nagle wait in the middle).
                        let _ = (client.set_nodelay(true), server.set_nodelay(true));
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = outage.wait_for(|down| *down) => {}
                        }
                    }
                });
            }
        });
        Balancer { addr, sent, down }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An outage (`true`: every connection cut, none accepted) or its end (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }
}
