//! SMS providers on loopback, for tests (issue 19): each double speaks its provider's real
//! protocol — Twilio's REST API and signed webhooks (here), SMPP 3.4 ([`crate::smpp_double`]),
//! OVHcloud's signed API ([`crate::ovh_double`]) — and can be told, request by request, to accept,
//! throttle, refuse the number, be unavailable, fail, or take the text and answer too late (the
//! answer lost after submission). Each sends delivery receipts and replies the way its provider
//! does, so one suite runs against all three ([`SmsDouble`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

/// What the double does with the next submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Accepted, then a receipt says it never reached the phone.
    AcceptUndelivered,
    Throttle,
    /// The number cannot receive texts (Twilio 21211, SMPP `ESME_RINVDSTADR`, OVHcloud's
    /// `invalidReceivers`).
    RejectNumber,
    Unavailable,
    Fail,
    /// Takes the message (it is sent), then answers after this long.
    TakeThenHang(Duration),
}

/// What every provider double offers the shared suite.
#[async_trait::async_trait]
pub trait SmsDouble: Send + Sync {
    /// `twilio`, `smpp`, `ovh` (the provider's name in the outbox).
    fn kind(&self) -> &'static str;
    /// The body of `PUT /api/v1/sms/provider` that points a campaign at this double.
    fn settings(&self) -> serde_json::Value;
    /// What the next submissions get, in order (then: accepted).
    fn then(&self, modes: &[Mode]);
    /// Every message taken (sent): (to, from, body), in order.
    fn taken(&self) -> Vec<(String, String, String)> {
        self.taken_since(0)
    }
    /// The messages taken from the `from`-th on (a long run reads only what is new).
    fn taken_since(&self, from: usize) -> Vec<(String, String, String)>;
    /// Submissions seen, whatever their fate.
    fn requests(&self) -> u32;
    /// A phone answers: the double hands the reply to the server its provider's way.
    async fn reply(&self, from: &str, body: &str);
    /// Where the provider posts replies (the number's webhook: Twilio only).
    fn set_webhook(&self, _url: &str) {}
}

#[derive(Debug, Default)]
pub(crate) struct Script {
    pub modes: Vec<Mode>,
    pub taken: Vec<(String, String, String)>,
    pub requests: u32,
}

impl Script {
    pub fn next(&mut self) -> Mode {
        self.requests += 1;
        if self.modes.is_empty() { Mode::Accept } else { self.modes.remove(0) }
    }
}

/// A Twilio-compatible provider: `POST /2010-04-01/Accounts/{sid}/Messages.json` with HTTP basic
/// authentication and a form body; a JSON answer with the message's `sid`, or Twilio's error
/// JSON. Delivery states go to the message's `StatusCallback` and replies to the number's
/// webhook, both signed (`X-Twilio-Signature`) with the auth token.
#[derive(Debug, Clone)]
pub struct TwilioDouble {
    pub base: String,
    pub sid: String,
    pub token: String,
    /// The number's webhook for replies (the campaign's `/api/v1/sms/hooks/twilio/{campaign}`).
    pub inbound_url: Arc<Mutex<Option<String>>>,
    script: Arc<Mutex<Script>>,
    client: reqwest::Client,
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

impl TwilioDouble {
    /// Posts a signed webhook, as Twilio does.
    async fn post(&self, url: &str, fields: Vec<(String, String)>) {
        let sig = doorstep_server::sms_provider::twilio_signature(&self.token, url, &fields);
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields.iter()).finish();
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(body)
            .send()
            .await;
        assert!(sent.is_ok_and(|r| r.status().is_success()), "the webhook took the post");
    }
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
    let mode = d.script.lock().unwrap().next();
    let take = |d: &TwilioDouble| {
        let mut s = d.script.lock().unwrap();
        s.taken.push((get("To"), get("From"), get("Body")));
        format!("SM{:032}", s.taken.len())
    };
    let receipt = |d: &TwilioDouble, sid: String, delivered: bool| {
        let (d, cb) = (d.clone(), get("StatusCallback"));
        if cb.is_empty() {
            return;
        }
        tokio::spawn(async move {
            let mut fields = vec![
                ("MessageSid".to_string(), sid),
                ("MessageStatus".to_string(), if delivered { "delivered" } else { "undelivered" }.to_string()),
            ];
            if !delivered {
                fields.push(("ErrorCode".into(), "30003".into()));
            }
            d.post(&cb, fields).await;
        });
    };
    let created = |sid: &str| {
        (StatusCode::CREATED, axum::Json(serde_json::json!({"sid": sid, "status": "queued"}))).into_response()
    };
    match mode {
        Mode::Accept | Mode::AcceptUndelivered => {
            let sid = take(&d);
            receipt(&d, sid.clone(), mode == Mode::Accept);
            created(&sid)
        }
        Mode::Throttle => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "2")], "").into_response(),
        Mode::RejectNumber => (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"code": 21211, "message": "invalid 'To' number", "status": 400})),
        )
            .into_response(),
        Mode::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::TakeThenHang(wait) => {
            let sid = take(&d);
            tokio::time::sleep(wait).await;
            created(&sid)
        }
    }
}

impl TwilioDouble {
    /// Starts the double on a free loopback port.
    pub async fn start() -> TwilioDouble {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let d = TwilioDouble {
            base: format!("http://{}", listener.local_addr().unwrap()),
            sid: "AC00000000000000000000000000000001".into(),
            token: "not-a-real-token".into(),
            inbound_url: Arc::default(),
            script: Arc::default(),
            client: reqwest::Client::new(),
        };
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", axum::routing::post(messages))
            .with_state(d.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        d
    }
}

#[async_trait::async_trait]
impl SmsDouble for TwilioDouble {
    fn kind(&self) -> &'static str {
        "twilio"
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({"kind": "twilio", "endpoint": self.base, "account": self.sid, "sender": "EqMartin",
            "secret": self.token, "price_millicents": 7_500})
    }
    fn then(&self, modes: &[Mode]) {
        self.script.lock().unwrap().modes.extend_from_slice(modes);
    }
    fn taken_since(&self, from: usize) -> Vec<(String, String, String)> {
        self.script.lock().unwrap().taken.get(from..).unwrap_or_default().to_vec()
    }
    fn requests(&self) -> u32 {
        self.script.lock().unwrap().requests
    }
    fn set_webhook(&self, url: &str) {
        self.inbound_url.lock().unwrap().replace(url.to_string());
    }
    async fn reply(&self, from: &str, body: &str) {
        let url = self.inbound_url.lock().unwrap().clone().expect("the number's webhook is set");
        let fields = vec![
            ("MessageSid".to_string(), format!("SM{}", uuid::Uuid::now_v7().simple())),
            ("From".to_string(), from.to_string()),
            ("To".to_string(), "+33700000000".to_string()),
            ("Body".to_string(), body.to_string()),
            ("SmsStatus".to_string(), "received".to_string()),
        ];
        self.post(&url, fields).await;
    }
}
