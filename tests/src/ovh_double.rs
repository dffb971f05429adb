//! OVHcloud's SMS API on loopback, for tests (issue 19): every call must carry the application
//! key, the consumer key, a timestamp and the signature OVHcloud computes (`$1$` + SHA-1 of the
//! application secret, consumer key, method, URL, body and timestamp), or it gets 403. A job
//! (`POST /1.0/sms/{service}/jobs`) answers its ids, or the number in `invalidReceivers`; a text
//! it took shows in `GET …/outgoing/{id}` with its `ptt` (4: delivered, 6: not); replies wait in
//! `GET …/incoming` until deleted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;

use crate::sms_double::{Mode, Script, SmsDouble};

#[derive(Debug, Default)]
struct Account {
    script: Script,
    /// Texts taken: id → ptt.
    outgoing: BTreeMap<i64, i64>,
    /// Replies waiting: id → (sender, message).
    incoming: BTreeMap<i64, (String, String)>,
    next_id: i64,
}

#[derive(Debug, Clone)]
pub struct OvhDouble {
    pub base: String,
    pub service: String,
    pub application_key: String,
    pub application_secret: String,
    pub consumer_key: String,
    account: Arc<Mutex<Account>>,
}

impl OvhDouble {
    fn signed_ok(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &str) -> bool {
        let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let Ok(ts) = h("x-ovh-timestamp").parse::<i64>() else { return false };
        let url = format!("{}{}", self.base.trim_end_matches("/1.0"), uri);
        let want = doorstep_server::sms_ovh::ovh_signature(
            &self.application_secret,
            &self.consumer_key,
            method.as_str(),
            &url,
            body,
            ts,
        );
        h("x-ovh-application") == self.application_key
            && h("x-ovh-consumer") == self.consumer_key
            && h("x-ovh-signature") == want
    }
}

async fn api(
    State(d): State<OvhDouble>,
    method: Method,
    uri: Uri,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    if !d.signed_ok(&method, &uri, &headers, &body) {
        let msg = serde_json::json!({"message": "Invalid signature", "errorCode": "INVALID_SIGNATURE"});
        return (StatusCode::FORBIDDEN, axum::Json(msg)).into_response();
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let json = |v: serde_json::Value| axum::Json(v).into_response();
    match (method.as_str(), parts.as_slice()) {
        ("POST", [svc, "jobs"]) if *svc == d.service => {
            let job: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let to = job["receivers"][0].as_str().unwrap_or("").to_string();
            let from = job["sender"].as_str().unwrap_or("").to_string();
            let text = job["message"].as_str().unwrap_or("").to_string();
            let mode = d.account.lock().unwrap().script.next();
            let take = |ptt: i64| {
                let mut a = d.account.lock().unwrap();
                a.next_id += 1;
                let id = 900_000 + a.next_id;
                a.script.taken.push((to.clone(), from.clone(), text.clone()));
                a.outgoing.insert(id, ptt);
                id
            };
            match mode {
                Mode::Accept | Mode::AcceptUndelivered => {
                    let id = take(if mode == Mode::Accept { 4 } else { 6 });
                    json(serde_json::json!({"ids": [id], "invalidReceivers": [], "validReceivers": [to],
                        "totalCreditsRemoved": 1}))
                }
                Mode::RejectNumber => json(serde_json::json!({"ids": [], "invalidReceivers": [to],
                    "validReceivers": [], "totalCreditsRemoved": 0})),
                Mode::Throttle => StatusCode::TOO_MANY_REQUESTS.into_response(),
                Mode::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                Mode::TakeThenHang(wait) => {
                    let id = take(4);
                    tokio::time::sleep(wait).await;
                    json(serde_json::json!({"ids": [id], "invalidReceivers": [], "validReceivers": [to]}))
                }
            }
        }
        ("GET", [svc, "outgoing", id]) if *svc == d.service => {
            let a = d.account.lock().unwrap();
            match id.parse::<i64>().ok().and_then(|i| a.outgoing.get(&i).map(|p| (i, *p))) {
                Some((i, ptt)) => json(serde_json::json!({"id": i, "ptt": ptt, "deliveryReceipt": ptt})),
                None => {
                    (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"message": "not found"}))).into_response()
                }
            }
        }
        ("GET", [svc, "incoming"]) if *svc == d.service => {
            let ids: Vec<i64> = d.account.lock().unwrap().incoming.keys().copied().collect();
            json(serde_json::json!(ids))
        }
        ("GET", [svc, "incoming", id]) if *svc == d.service => {
            let a = d.account.lock().unwrap();
            match id.parse::<i64>().ok().and_then(|i| a.incoming.get(&i).map(|m| (i, m.clone()))) {
                Some((i, (sender, message))) => json(serde_json::json!({"id": i, "sender": sender,
                    "message": message, "creationDatetime": "2026-12-08T15:00:00+01:00", "credits": 0})),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        ("DELETE", [svc, "incoming", id]) if *svc == d.service => {
            let removed = id.parse::<i64>().ok().and_then(|i| d.account.lock().unwrap().incoming.remove(&i));
            if removed.is_some() { json(serde_json::Value::Null) } else { StatusCode::NOT_FOUND.into_response() }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

impl OvhDouble {
    pub async fn start() -> OvhDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let d = OvhDouble {
            base: format!("http://{}/1.0", listener.local_addr().unwrap()),
            service: "sms-dm12345-1".into(),
            application_key: "appkey0000000001".into(),
            application_secret: "appsecret00000000000000000000001".into(),
            consumer_key: "consumer000000000000000000000001".into(),
            account: Arc::default(),
        };
        let app = axum::Router::new().route("/1.0/sms/{*rest}", axum::routing::any(api)).with_state(d.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        d
    }
}

#[async_trait::async_trait]
impl SmsDouble for OvhDouble {
    fn kind(&self) -> &'static str {
        "ovh"
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({"kind": "ovh", "endpoint": self.base, "account": self.service, "sender": "EqMartin",
            "secret": format!("{}:{}:{}", self.application_key, self.application_secret, self.consumer_key),
            "price_millicents": 6_000})
    }
    fn then(&self, modes: &[Mode]) {
        self.account.lock().unwrap().script.modes.extend_from_slice(modes);
    }
    fn taken_since(&self, from: usize) -> Vec<(String, String, String)> {
        self.account.lock().unwrap().script.taken.get(from..).unwrap_or_default().to_vec()
    }
    fn requests(&self) -> u32 {
        self.account.lock().unwrap().script.requests
    }
    async fn reply(&self, from: &str, body: &str) {
        let mut a = self.account.lock().unwrap();
        a.next_id += 1;
        let id = 500_000 + a.next_id;
        a.incoming.insert(id, (from.to_string(), body.to_string()));
    }
}
