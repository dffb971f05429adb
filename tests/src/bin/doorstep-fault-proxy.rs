//! The fault-injection proxy as a process, for tests in other languages:
//! `doorstep-fault-proxy <upstream host:port>` prints `{"url": …}` then reads one command per line
//! on stdin and answers each with one line: `pass`, `down`, `cut <bytes>`,
//! `random <seed> <delay> <drop> <reset> <cut>` (probabilities), `upstream <host:port>`, `stats`
//! (a JSON line). Ends when stdin closes.

use std::io::BufRead;

use doorstep_tests::faultproxy::{FaultProxy, Plan};

fn parse(line: &str) -> Result<Option<Plan>, String> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize| w.get(i).and_then(|v| v.parse::<f64>().ok()).ok_or(format!("bad command: {line}"));
    Ok(Some(match w.first().copied() {
        Some("pass") => Plan::Pass,
        Some("down") => Plan::Down,
        Some("cut") => Plan::Cut(num(1)? as usize),
        Some("random") => {
            Plan::Random { seed: num(1)? as u64, delay: num(2)?, drop: num(3)?, reset: num(4)?, cut: num(5)? }
        }
        Some("stats") | Some("upstream") => return Ok(None),
        _ => return Err(format!("unknown command: {line}")),
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let upstream = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        eprintln!("usage: doorstep-fault-proxy <upstream host:port>");
        std::process::exit(2)
    });
    let proxy = FaultProxy::start(upstream, Plan::Pass).await.expect("a loopback port");
    println!("{}", serde_json::json!({ "url": proxy.url() }));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        let answer = match parse(&line) {
            Ok(Some(plan)) => {
                proxy.set_plan(plan);
                "ok".to_string()
            }
            Ok(None) if line.starts_with("upstream") => {
                match line.split_whitespace().nth(1).and_then(|a| a.parse().ok()) {
                    Some(addr) => {
                        proxy.set_upstream(addr);
                        "ok".to_string()
                    }
                    None => format!("error: bad address: {line}"),
                }
            }
            Ok(None) => proxy.stats().json().to_string(),
            Err(e) => format!("error: {e}"),
        };
        println!("{answer}");
    }
}
