//! OVHcloud's SMS API (issue 19), the provider French campaigns use most: signed REST calls
//! (`X-Ovh-Application`, `X-Ovh-Consumer`, `X-Ovh-Timestamp`, and `X-Ovh-Signature` = `$1$` and the
//! SHA-1 of the application secret, the consumer key, the method, the URL, the body and the
//! timestamp joined by `+`). A text is a job (`POST /sms/{service}/jobs`, one receiver, our own
//! STOP mention so `noStopClause`); receipts are read per text (`GET …/outgoing/{id}`: its `ptt`
//! code) and replies fetched then deleted (`GET …/incoming`, `GET …/incoming/{id}`, `DELETE`).

use std::time::Duration;

use serde::Deserialize;

use crate::sms_provider::{ProviderEvent, SmsProvider, Submission, SubmitError};

pub struct Ovh {
    client: reqwest::Client,
    /// `https://eu.api.ovh.com/1.0`.
    base: String,
    /// The SMS account (`sms-ab12345-1`).
    service: String,
    application_key: String,
    application_secret: String,
    consumer_key: String,
    /// A sender validated on the account.
    sender: String,
}

impl std::fmt::Debug for Ovh {
    /// Never the secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ovh").field("base", &self.base).field("service", &self.service).finish()
    }
}

/// The request signature OVHcloud checks.
pub fn ovh_signature(
    application_secret: &str,
    consumer_key: &str,
    method: &str,
    url: &str,
    body: &str,
    timestamp: i64,
) -> String {
    let data = format!("{application_secret}+{consumer_key}+{method}+{url}+{body}+{timestamp}");
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data.as_bytes());
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("$1${hex}")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Job {
    #[serde(default)]
    ids: Vec<i64>,
    #[serde(default)]
    invalid_receivers: Vec<String>,
}

#[derive(Deserialize)]
struct Outgoing {
    ptt: Option<i64>,
}

#[derive(Deserialize)]
struct Incoming {
    id: i64,
    sender: String,
    message: String,
}

/// What a `ptt` code says of a text: delivered, failed for good, or not yet known.
fn ptt_outcome(ptt: i64) -> Option<bool> {
    match ptt {
        4 => Some(true),
        5..=9 | 16 => Some(false),
        _ => None,
    }
}

impl Ovh {
    /// `secret` is `application_key:application_secret:consumer_key`.
    pub fn new(base: &str, service: &str, secret: &str, sender: &str, timeout: Duration) -> Result<Ovh, String> {
        let mut parts = secret.splitn(3, ':');
        let (Some(ak), Some(as_), Some(ck)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("OVHcloud : la clé doit être « application_key:application_secret:consumer_key »".into());
        };
        let client = crate::sms_provider::http_client(timeout)?;
        Ok(Ovh {
            client,
            base: base.trim_end_matches('/').to_string(),
            service: service.to_string(),
            application_key: ak.to_string(),
            application_secret: as_.to_string(),
            consumer_key: ck.to_string(),
            sender: sender.to_string(),
        })
    }

    fn signed(&self, method: reqwest::Method, path: &str, body: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.base);
        let ts =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
        let sig = ovh_signature(&self.application_secret, &self.consumer_key, method.as_str(), &url, body, ts);
        let mut rb = self
            .client
            .request(method, url)
            .header("X-Ovh-Application", &self.application_key)
            .header("X-Ovh-Consumer", &self.consumer_key)
            .header("X-Ovh-Timestamp", ts.to_string())
            .header("X-Ovh-Signature", sig);
        if !body.is_empty() {
            rb = rb.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string());
        }
        rb
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let r = self.signed(reqwest::Method::GET, path, "").send().await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("OVHcloud {path}: HTTP {}", r.status()));
        }
        r.json().await.map_err(|e| e.to_string())
    }
}

#[async_trait::async_trait]
impl SmsProvider for Ovh {
    fn name(&self) -> &'static str {
        "ovh"
    }

    async fn submit(&self, s: &Submission) -> Result<String, SubmitError> {
        let body = serde_json::json!({
            "message": s.body, "receivers": [s.to], "sender": self.sender, "noStopClause": true,
            "priority": "high", "coding": "7bit", "charset": "UTF-8", "tag": s.id,
        })
        .to_string();
        let path = format!("/sms/{}/jobs", self.service);
        let r = match self.signed(reqwest::Method::POST, &path, &body).send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Err(SubmitError::NotSent(e.to_string())),
            Err(e) => return Err(SubmitError::Unknown(e.to_string())),
        };
        let status = r.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(SubmitError::Throttled { retry_after_s: 10 });
        }
        if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            return Err(SubmitError::NotSent("503".into()));
        }
        let bytes = r.bytes().await.map_err(|e| SubmitError::Unknown(e.to_string()))?;
        if status.is_client_error() {
            // OVHcloud's errors: {"message": "…"} (a sender not validated, no credit left…).
            let msg = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| status.to_string());
            return Err(SubmitError::Rejected { code: status.as_u16().to_string(), message: msg });
        }
        if !status.is_success() {
            return Err(SubmitError::Unknown(format!("HTTP {status}")));
        }
        let job: Job =
            serde_json::from_slice(&bytes).map_err(|e| SubmitError::Unknown(format!("answer unreadable: {e}")))?;
        if let Some(id) = job.ids.first() {
            return Ok(id.to_string());
        }
        if !job.invalid_receivers.is_empty() {
            return Err(SubmitError::Rejected { code: "invalidReceivers".into(), message: "numéro invalide".into() });
        }
        Err(SubmitError::Unknown("job without an id".into()))
    }

    async fn events(&self, awaiting: &[String]) -> Result<Vec<ProviderEvent>, String> {
        let mut out = Vec::new();
        for id in awaiting {
            let o: Outgoing = match self.get_json(&format!("/sms/{}/outgoing/{id}", self.service)).await {
                Ok(o) => o,
                // Not in the outgoing list yet (still a job): later.
                Err(_) => continue,
            };
            if let Some(delivered) = o.ptt.and_then(ptt_outcome) {
                let code = (!delivered).then(|| format!("ptt {}", o.ptt.unwrap_or_default()));
                out.push(ProviderEvent::Receipt { provider_id: id.clone(), delivered, code });
            }
        }
        let ids: Vec<i64> = self.get_json(&format!("/sms/{}/incoming", self.service)).await?;
        for id in ids {
            let m: Incoming = self.get_json(&format!("/sms/{}/incoming/{id}", self.service)).await?;
            out.push(ProviderEvent::Inbound { id: format!("ovh:{}", m.id), from: m.sender, body: m.message });
            // Read: removed from the account (recorded on our side by its id, so a failed delete
            // only means it is read again and recorded once).
            let _ =
                self.signed(reqwest::Method::DELETE, &format!("/sms/{}/incoming/{id}", self.service), "").send().await;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_sha1_of_the_joined_parts() {
        // SHA-1 of "s+c+GET+https://x/1.0/sms++1" computed by hand with sha1sum.
        let s = ovh_signature("s", "c", "GET", "https://x/1.0/sms", "", 1);
        assert_eq!(s, "$1$9ceaa4407f2d2139c58199c2d237e84d9464ab6a");
        assert_ne!(s, ovh_signature("s", "c", "GET", "https://x/1.0/sms", "", 2), "the time is signed");
        assert_eq!(ptt_outcome(4), Some(true));
        assert_eq!(ptt_outcome(3), None);
        assert_eq!(ptt_outcome(6), Some(false));
    }
}
