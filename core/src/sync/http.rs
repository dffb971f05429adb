//! The HTTP transport: JSON over HTTPS (rustls with the ring provider), gzip responses, bearer
//! device token. Network failures, timeouts and 5xx are `Unavailable` (retry), 429 is `Busy` (retry
//! after the server's `Retry-After`); other 4xx are
//! `Refused` (the same request will not succeed).

use std::time::Duration;

use doorstep_protocol::{ApiError, JoinRequest, JoinResponse, PullRequest, PullResponse, PushRequest, PushResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Transport, TransportError};

#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

fn client() -> Result<reqwest::Client, TransportError> {
    // One process-wide rustls provider: ring (no aws-lc). Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .gzip(true)
        .build()
        .map_err(|e| TransportError::Unavailable(format!("HTTP client: {e}")))
}

impl HttpTransport {
    /// `base` like `https://canvass.example.org` (no trailing slash needed).
    pub fn new(base: &str, token: Option<String>) -> Result<Self, TransportError> {
        Ok(Self { client: client()?, base: base.trim_end_matches('/').to_string(), token })
    }

    /// The same client (its connection pool, its TLS set-up) and server, with another token: what
    /// a phone uses after joining, and a load generator for many devices.
    pub fn with_token(&self, token: Option<String>) -> Self {
        Self { client: self.client.clone(), base: self.base.clone(), token }
    }

    pub async fn join(&self, req: &JoinRequest) -> Result<JoinResponse, TransportError> {
        self.post("/api/v1/join", req).await
    }

    /// A captain's phone asks the server to vouch for its hand-off key for a session.
    pub async fn grant(
        &self,
        req: &doorstep_protocol::GrantRequest,
    ) -> Result<doorstep_protocol::SignedGrant, TransportError> {
        self.post("/api/v1/sync/grants", req).await
    }

    /// Waits (at most `wait_ms`, capped by the server) for the team's messages after what the
    /// phone holds: the feed as soon as there is one.
    pub async fn wait_feed(
        &self,
        request: &doorstep_protocol::MessageWait,
    ) -> Result<doorstep_protocol::MessageFeed, TransportError> {
        self.post("/api/v1/sync/feed/wait", request).await
    }

    /// All this person's data held by the server, as the JSON document it sends (GDPR articles
    /// 15 and 20): the app offers to save or share it.
    pub async fn export_my_data(&self) -> Result<String, TransportError> {
        let v: serde_json::Value = self.get("/api/v1/sync/me/export").await?;
        Ok(serde_json::to_string_pretty(&v).expect("JSON serialises"))
    }

    /// Asks the server to delete this person's account (`doorstep_core::sync::delete_account`
    /// pushes everything first).
    pub async fn delete_me(&self, confirm: &str) -> Result<serde_json::Value, TransportError> {
        self.post("/api/v1/sync/me/delete", &serde_json::json!({ "confirm": confirm })).await
    }

    /// Sets this person's photo (JPEG or PNG): the server keeps a 256 px copy without metadata.
    pub async fn set_photo(&self, image: Vec<u8>) -> Result<doorstep_protocol::VolunteerPage, TransportError> {
        self.send(
            self.client
                .put(format!("{}/api/v1/sync/me/photo", self.base))
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(image),
        )
        .await
    }

    /// A person's photo (JPEG), if this person may see it.
    pub async fn photo(&self, user_id: &str) -> Result<Vec<u8>, TransportError> {
        let mut rb = self.client.get(format!("{}/api/v1/sync/people/{user_id}/photo", self.base));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.map_err(|e| TransportError::Unavailable(e.to_string()))?;
        if !r.status().is_success() {
            return Err(TransportError::Refused(format!("photo: {}", r.status())));
        }
        Ok(r.bytes().await.map_err(|e| TransportError::Unavailable(e.to_string()))?.to_vec())
    }

    async fn post<Q: Serialize, R: DeserializeOwned>(&self, path: &str, body: &Q) -> Result<R, TransportError> {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body)).await
    }

    async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, TransportError> {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    async fn send<R: DeserializeOwned>(&self, mut rb: reqwest::RequestBuilder) -> Result<R, TransportError> {
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().await.map_err(|e| TransportError::Unavailable(e.to_string()))?;
        let status = resp.status();
        // `Retry-After` in seconds (the only form our server sends).
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let bytes = resp.bytes().await.map_err(|e| TransportError::Unavailable(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| TransportError::Unavailable(format!("unreadable answer from the server: {e}")));
        }
        let detail = serde_json::from_slice::<ApiError>(&bytes)
            .map(|e| format!("{} ({})", e.message, e.code))
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).chars().take(200).collect());
        if status.as_u16() == 429 || (status.as_u16() == 503 && retry_after.is_some()) {
            let retry_after = retry_after.unwrap_or(std::time::Duration::from_secs(1));
            Err(TransportError::Busy { retry_after, message: format!("{status}: {detail}") })
        } else if status.is_server_error() || status.as_u16() == 408 {
            Err(TransportError::Unavailable(format!("{status}: {detail}")))
        } else {
            Err(TransportError::Refused(format!("{status}: {detail}")))
        }
    }
}

impl Transport for HttpTransport {
    async fn push(&self, request: &PushRequest) -> Result<PushResponse, TransportError> {
        self.post("/api/v1/sync/push", request).await
    }
    async fn pull(&self, request: &PullRequest) -> Result<PullResponse, TransportError> {
        self.post("/api/v1/sync/pull", request).await
    }
    async fn ack_wipe(&self) -> Result<(), TransportError> {
        let _: serde_json::Value = self.post("/api/v1/sync/wiped", &serde_json::json!({})).await?;
        Ok(())
    }
    async fn push_handoffs(&self, request: &doorstep_protocol::HandoffPush) -> Result<PushResponse, TransportError> {
        self.post("/api/v1/sync/handoffs", request).await
    }
    async fn push_signups(&self, request: &doorstep_protocol::SignupPush) -> Result<PushResponse, TransportError> {
        self.post("/api/v1/sync/signups", request).await
    }
    async fn push_messages(&self, request: &doorstep_protocol::MessagePush) -> Result<PushResponse, TransportError> {
        self.post("/api/v1/sync/messages", request).await
    }
    async fn message_feed(
        &self,
        request: &doorstep_protocol::MessageSince,
    ) -> Result<Option<doorstep_protocol::MessageFeed>, TransportError> {
        Ok(Some(self.post("/api/v1/sync/feed", request).await?))
    }
    async fn sessions(&self) -> Result<Option<Vec<crate::store::sessions::ListedSession>>, TransportError> {
        Ok(Some(self.get("/api/v1/sync/sessions").await?))
    }
    async fn reminders(&self) -> Result<Option<Vec<doorstep_protocol::AppReminder>>, TransportError> {
        Ok(Some(self.get("/api/v1/sync/reminders").await?))
    }
    async fn push_people(&self, request: &doorstep_protocol::PeoplePush) -> Result<PushResponse, TransportError> {
        self.post("/api/v1/sync/people", request).await
    }
    async fn people_view(&self) -> Result<Option<doorstep_protocol::PeopleView>, TransportError> {
        Ok(Some(self.get("/api/v1/sync/people").await?))
    }
    async fn campaign_key(&self) -> Result<Option<String>, TransportError> {
        let keys: serde_json::Value = self.get("/api/v1/sync/keys").await?;
        Ok(keys["campaign_key"].as_str().map(str::to_string))
    }
}
