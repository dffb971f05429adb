//! A TCP proxy on loopback that puts a bad network between devices and the server: it delays,
//! drops and resets connections, and cuts responses after some bytes (the server committed, the
//! client never saw the acknowledgement). Used in process by the fault-injection suite and, as the
//! `doorstep-fault-proxy` binary driven over stdin, by the Kotlin view-model tests.
//!
//! The plan is read per connection (reqwest keeps connections alive, so one connection may carry
//! several requests; a cut ends the connection and the client opens a new one on its next try).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to the next connections.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Forward faithfully.
    Pass,
    /// The network is gone: every connection is closed at once, nothing forwarded.
    Down,
    /// Forward requests, but cut each response after this many bytes.
    Cut(usize),
    /// Seeded random faults, per connection, with these probabilities (the rest pass): delay
    /// 50–400 ms, drop before forwarding, reset mid-request, cut the response after 0–300 bytes.
    Random { seed: u64, delay: f64, drop: f64, reset: f64, cut: f64 },
}

/// What the proxy did, for the run's summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub delayed: AtomicU64,
    pub dropped: AtomicU64,
    pub reset: AtomicU64,
    pub cut: AtomicU64,
}

impl Stats {
    /// Faults injected so far (delays included).
    pub fn faults(&self) -> u64 {
        self.delayed.load(Ordering::Relaxed)
            + self.dropped.load(Ordering::Relaxed)
            + self.reset.load(Ordering::Relaxed)
            + self.cut.load(Ordering::Relaxed)
    }

    pub fn json(&self) -> serde_json::Value {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "connections": g(&self.connections), "delayed": g(&self.delayed), "dropped": g(&self.dropped),
            "reset": g(&self.reset), "cut": g(&self.cut), "faults": self.faults(),
        })
    }
}

struct Shared {
    plan: Mutex<Plan>,
    upstream: Mutex<SocketAddr>,
    stats: Stats,
}

/// A running proxy: `addr` is where devices connect.
#[derive(Clone)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

enum Fault {
    None,
    Delay(Duration),
    Drop,
    Reset,
    Cut(usize),
}

/// splitmix64: a small, well-mixed generator, so a seed replays the same faults.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr, plan: Plan) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared =
            Arc::new(Shared { plan: Mutex::new(plan), upstream: Mutex::new(upstream), stats: Stats::default() });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = s.stats.connections.fetch_add(1, Ordering::Relaxed);
                let fault = s.decide(n);
                let upstream = *s.upstream.lock().unwrap();
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(client, upstream, fault, &s.stats).await;
                });
            }
        });
        Ok(Self { addr, shared })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_plan(&self, plan: Plan) {
        *self.shared.plan.lock().unwrap() = plan;
    }

    /// Points new connections at another server (after a restart on a new port).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.shared.upstream.lock().unwrap() = upstream;
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }
}

impl Shared {
    fn decide(&self, n: u64) -> Fault {
        match &*self.plan.lock().unwrap() {
            Plan::Pass => Fault::None,
            Plan::Down => Fault::Drop,
            Plan::Cut(bytes) => Fault::Cut(*bytes),
            Plan::Random { seed, delay, drop, reset, cut } => {
                let r = mix(seed ^ mix(n));
                let p = (r >> 11) as f64 / (1u64 << 53) as f64;
                let extra = mix(r);
                if p < *delay {
                    Fault::Delay(Duration::from_millis(50 + extra % 350))
                } else if p < delay + drop {
                    Fault::Drop
                } else if p < delay + drop + reset {
                    Fault::Reset
                } else if p < delay + drop + reset + cut {
                    Fault::Cut((extra % 300) as usize)
                } else {
                    Fault::None
                }
            }
        }
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Fault, stats: &Stats) -> std::io::Result<()> {
    let mut cut_after = None;
    match fault {
        Fault::None => {}
        Fault::Delay(d) => {
            stats.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(d).await;
        }
        Fault::Drop => {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Fault::Reset => {
            // Read a little of the request, forward none of it, and close with RST.
            stats.reset.fetch_add(1, Ordering::Relaxed);
            let mut buf = [0u8; 64];
            let _ = tokio::time::timeout(Duration::from_millis(200), client.read(&mut buf)).await;
            // Linger 0 makes the close an RST and never blocks (the deprecation is about non-zero).
            #[allow(deprecated)]
            client.set_linger(Some(Duration::ZERO))?;
            return Ok(());
        }
        Fault::Cut(n) => cut_after = Some(n),
    }
    let server = TcpStream::connect(upstream).await?;
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
        let _ = sw.shutdown().await;
    });
    let mut forwarded = 0usize;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = sr.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if let Some(limit) = cut_after
            && forwarded + n >= limit
        {
            // The response started (the server has committed); the client sees only part.
            cw.write_all(&buf[..limit - forwarded]).await?;
            stats.cut.fetch_add(1, Ordering::Relaxed);
            up.abort();
            return Ok(());
        }
        cw.write_all(&buf[..n]).await?;
        forwarded += n;
    }
    let _ = cw.shutdown().await;
    up.abort();
    Ok(())
}
