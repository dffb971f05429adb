//! A Twilio-compatible SMS provider on loopback, for tests (issue 19): it speaks the real API
//! (`POST /2010-04-01/Accounts/{sid}/Messages.json`, HTTP basic authentication, a form body; a
//! JSON answer with the message's `sid`, or Twilio's error JSON) and can be told, request by
//! request, to accept, throttle (429), refuse (400 with a Twilio error code), be unavailable (503),
//! fail (500), or take the message and never answer in time (the answer lost after submission).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

/// What the double does with the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Accept,
    Throttle,
    Reject(&'static str),
    Unavailable,
    Fail,
    /// Takes the message (it is sent), then answers after this long.
    TakeThenHang(Duration),
}

#[derive(Debug, Default)]
struct Inner {
    modes: Vec<Mode>,
    /// (To, From, Body) of every message taken.
    taken: Vec<(String, String, String)>,
    requests: u32,
}

#[derive(Debug, Clone)]
pub struct TwilioDouble {
    pub base: String,
    pub sid: String,
    pub token: String,
    inner: Arc<Mutex<Inner>>,
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn messages(
    State(d): State<TwilioDouble>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use base64::Engine as _;
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", d.sid, d.token)));
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if sid != d.sid || auth != expected {
        return (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({"code": 20003, "message": "Authenticate"})))
            .into_response();
    }
    let f = form(&body);
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let mode = {
        let mut i = d.inner.lock().unwrap();
        i.requests += 1;
        if i.modes.is_empty() { Mode::Accept } else { i.modes.remove(0) }
    };
    let take = |d: &TwilioDouble| {
        let mut i = d.inner.lock().unwrap();
        i.taken.push((get("To"), get("From"), get("Body")));
        format!("SM{:032}", i.taken.len())
    };
    match mode {
        Mode::Accept => {
            let sid = take(&d);
            (StatusCode::CREATED, axum::Json(serde_json::json!({"sid": sid, "status": "queued"}))).into_response()
        }
        Mode::Throttle => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "2")], "").into_response(),
        Mode::Reject(code) => (
            StatusCode::BAD_REQUEST,
            axum::Json(
                serde_json::json!({"code": code.parse::<u32>().unwrap_or(0), "message": "refused", "status": 400}),
            ),
        )
            .into_response(),
        Mode::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::TakeThenHang(wait) => {
            let sid = take(&d);
            tokio::time::sleep(wait).await;
            (StatusCode::CREATED, axum::Json(serde_json::json!({"sid": sid, "status": "queued"}))).into_response()
        }
    }
}

impl TwilioDouble {
    /// Starts the double on a free loopback port.
    pub async fn start() -> TwilioDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let d = TwilioDouble {
            base: format!("http://{}", listener.local_addr().unwrap()),
            sid: "AC00000000000000000000000000000001".into(),
            token: "not-a-real-token".into(),
            inner: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", axum::routing::post(messages))
            .with_state(d.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        d
    }

    /// What the next requests get, in order (then: accepted).
    pub fn then(&self, modes: &[Mode]) {
        self.inner.lock().unwrap().modes.extend_from_slice(modes);
    }

    /// Every message the double took (sent), in order.
    pub fn taken(&self) -> Vec<(String, String, String)> {
        self.inner.lock().unwrap().taken.clone()
    }

    pub fn requests(&self) -> u32 {
        self.inner.lock().unwrap().requests
    }
}
