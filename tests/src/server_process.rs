//! A real `doorstep-server serve` process for the tests and benchmarks that run several of them
//! on one database (the multi-process test, the national load model).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `exe serve` on `database` with the secret key in `key`, listening on a free loopback
/// port; returns the process and its address once it says it listens. Its log is read on (a full
/// pipe would stall it); with `keep`, its warnings and errors (and anything not JSON: a panic) are
/// written to that file.
pub async fn start(exe: &Path, database: &str, key: &Path, keep: Option<PathBuf>) -> (Child, String) {
    let mut child = Command::new(exe)
        .args(["serve", "--database", database, "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--secret-key-file")
        .arg(key)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server process");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["fields"]["message"] == "doorstep-server listening" {
                return v["fields"]["url"].as_str().unwrap().to_string();
            }
        }
        panic!("the server process ended before listening");
    })
    .await
    .expect("the server process listens within two minutes");
    tokio::spawn(async move {
        use std::io::Write;
        let mut file = keep.map(|p| std::fs::File::create(p).expect("a log file"));
        while let Ok(Some(line)) = lines.next_line().await {
            let Some(f) = file.as_mut() else { continue };
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v.is_null() || v["level"] == "WARN" || v["level"] == "ERROR" {
                let _ = writeln!(f, "{line}");
            }
        }
    });
    (child, base)
}
