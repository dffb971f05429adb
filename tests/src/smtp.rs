//! A local SMTP server for tests: speaks RFC 5321 on loopback (greeting, EHLO/HELO, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT), keeps every message it accepted, and can be told
//! to refuse the next messages with a transient (451) or permanent (550) reply, or to hang up
//! after DATA without answering (a relay that took the message but whose answer was lost).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, as sent (CRLF line ends, dot-unstuffed).
    pub data: String,
}

impl Mail {
    /// A header's value (unfolded), case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut out: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = out.as_mut() {
                    v.push_str(line.trim_start());
                }
                continue;
            }
            if out.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                out = Some(v.trim().to_string());
            }
        }
        out
    }

    /// The body, with quoted-printable soft breaks and escapes undone (what lettre writes for
    /// non-ASCII text).
    pub fn body_text(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let qp = self.header("Content-Transfer-Encoding").is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"));
        if !qp {
            return body.to_string();
        }
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && let Some(h) = joined.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(h);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What the double does with the next messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 451: try again later.
    Transient,
    /// 550: never.
    Permanent,
    /// Keeps the message, then closes the connection without answering.
    AcceptThenHangUp,
}

#[derive(Debug, Default)]
struct State {
    mails: Vec<Mail>,
    faults: Vec<Fault>,
    sessions: u64,
}

/// The running double.
#[derive(Debug, Clone)]
pub struct SmtpDouble {
    pub addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
}

impl SmtpDouble {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP double");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, s).await;
                });
            }
        });
        Self { addr, state }
    }

    /// `smtp://127.0.0.1:<port>` (plain: loopback).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The next messages meet these faults, in order; after them, messages are accepted.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state.lock().unwrap().faults.extend_from_slice(faults);
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.state.lock().unwrap().mails.clone()
    }

    /// SMTP conversations opened so far.
    pub fn sessions(&self) -> u64 {
        self.state.lock().unwrap().sessions
    }
}

async fn serve(sock: tokio::net::TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    state.lock().unwrap().sessions += 1;
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 double.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-double.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n").await?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 double.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = addr_of(&cmd[10..]);
            to.clear();
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(addr_of(&cmd[8..]));
            w.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
            }
            let fault = {
                let mut st = state.lock().unwrap();
                if st.faults.is_empty() { None } else { Some(st.faults.remove(0)) }
            };
            match fault {
                Some(Fault::Transient) => w.write_all(b"451 4.3.0 try again later\r\n").await?,
                Some(Fault::Permanent) => w.write_all(b"550 5.1.1 no such mailbox\r\n").await?,
                Some(Fault::AcceptThenHangUp) => {
                    state.lock().unwrap().mails.push(Mail { from: from.clone(), to: to.clone(), data });
                    return Ok(());
                }
                None => {
                    state.lock().unwrap().mails.push(Mail { from: from.clone(), to: to.clone(), data });
                    w.write_all(b"250 2.0.0 queued\r\n").await?;
                }
            }
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 OK\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 5.5.2 not implemented\r\n").await?;
        }
    }
}

fn addr_of(s: &str) -> String {
    let s = s.trim();
    let s = s.split_whitespace().next().unwrap_or("");
    s.trim_start_matches('<').trim_end_matches('>').to_string()
}
