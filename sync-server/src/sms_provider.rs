//! The providers that carry texts (issue 19): one interface ([`SmsProvider`]) and three back-ends —
//! the Twilio-compatible REST API here (Twilio itself, and the providers that copy its API), SMPP
//! 3.4 ([`crate::sms_smpp`]) and OVHcloud's API ([`crate::sms_ovh`]). What comes back from a
//! provider — delivery receipts and replies — arrives as [`ProviderEvent`]s: gathered on the SMPP
//! session, fetched from OVHcloud, pushed by Twilio to a webhook this module checks the signature of.
//!
//! What an error means for the outbox is decided here, once, because it decides whether a text
//! could be sent twice: [`SubmitError::NotSent`] is certain the provider took nothing (the
//! connection was refused, the provider said 429 or 503) and may be retried; [`SubmitError::Unknown`]
//! is a request that left and whose answer was lost (a timeout, a cut connection, a 500): the text
//! may have gone, so it is never sent again by itself — a person decides.

use std::time::Duration;

use serde::Deserialize;

/// A text to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The outbox row's id (the idempotency key).
    pub id: String,
    /// E.164.
    pub to: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The provider refused this text for good (a number that cannot receive, a blocked sender).
    #[error("refusé par l'opérateur : {message} ({code}) / refused by the provider")]
    Rejected { code: String, message: String },
    /// Certainly not taken: try again later.
    #[error("non envoyé, réessai plus tard : {0} / not sent, will retry")]
    NotSent(String),
    /// The provider asks to slow down.
    #[error("trop d'envois, réessai dans {retry_after_s} s / throttled")]
    Throttled { retry_after_s: u64 },
    /// The request left and its answer was lost: perhaps sent. Never retried by itself.
    #[error("envoi incertain : {0} — vérifiez avant de renvoyer / perhaps sent: check before sending again")]
    Unknown(String),
}

impl SubmitError {
    /// A French sentence for the sender, from a provider's error code where one is known.
    pub fn explained(code: &str) -> Option<&'static str> {
        Some(match code {
            "21211" => "numéro invalide",
            "21610" => "le destinataire a répondu STOP auprès de l'opérateur",
            "21612" | "21408" => "destination non desservie par ce compte",
            "21614" => "ce numéro ne peut pas recevoir de SMS",
            "30003" => "téléphone éteint ou injoignable",
            "30005" => "numéro inconnu de l'opérateur",
            "30007" => "bloqué par l'opérateur comme indésirable",
            _ => return None,
        })
    }
}

/// What a provider reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    /// The text the provider knows by `provider_id` reached the phone, or never will.
    Receipt { provider_id: String, delivered: bool, code: Option<String> },
    /// A reply: `id` is the provider's id for it (a reply is recorded once).
    Inbound { id: String, from: String, body: String },
}

/// A provider that carries texts.
#[async_trait::async_trait]
pub trait SmsProvider: Send + Sync {
    /// `twilio`, `smpp`, `ovh`.
    fn name(&self) -> &'static str;
    /// Submits one text; `Ok` carries the provider's id for it.
    async fn submit(&self, s: &Submission) -> Result<String, SubmitError>;
    /// Receipts and replies since the last call. `awaiting` holds the provider's ids of texts sent
    /// without a receipt yet, for providers whose receipts are fetched. Twilio pushes its own to
    /// the webhook instead: nothing here.
    async fn events(&self, _awaiting: &[String]) -> Result<Vec<ProviderEvent>, String> {
        Ok(vec![])
    }
}

/// Twilio's webhook signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the auth
/// token, over the URL Twilio called followed by every form field's name and value, sorted by name.
pub fn twilio_signature(auth_token: &str, url: &str, form: &[(String, String)]) -> String {
    use base64::Engine as _;
    let mut fields: Vec<&(String, String)> = form.iter().collect();
    fields.sort();
    let mut data = url.to_string();
    for (k, v) in fields {
        data.push_str(k);
        data.push_str(v);
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, data.as_bytes()).as_ref())
}

/// What one of Twilio's webhook calls says: a status callback or a reply.
pub fn twilio_event(form: &[(String, String)]) -> Option<ProviderEvent> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let sid = get("MessageSid").or_else(|| get("SmsSid"))?;
    if let Some(status) = get("MessageStatus").or_else(|| get("SmsStatus")) {
        let delivered = match status.as_str() {
            "delivered" | "read" => true,
            "undelivered" | "failed" => false,
            // queued, sending, sent, received…: not final.
            _ if get("Body").is_none() => return None,
            _ => return Some(ProviderEvent::Inbound { id: sid, from: get("From")?, body: get("Body")? }),
        };
        return Some(ProviderEvent::Receipt { provider_id: sid, delivered, code: get("ErrorCode") });
    }
    Some(ProviderEvent::Inbound { id: sid, from: get("From")?, body: get("Body")? })
}

/// A Twilio-compatible REST API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with HTTP
/// basic authentication (account SID, auth token) and a form body (`To`, `From`, `Body`).
pub struct TwilioRest {
    client: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: String,
    /// The sender: a number or an alphanumeric sender id ("EquipeMartin").
    from: String,
    /// Where Twilio posts the texts' delivery states (this server's webhook), if it can be reached.
    status_callback: Option<String>,
}

impl std::fmt::Debug for TwilioRest {
    /// Never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioRest").field("base", &self.base).field("account_sid", &self.account_sid).finish()
    }
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<serde_json::Value>,
    message: Option<String>,
}

/// The HTTP client of the REST back-ends: rustls with ring, 5 s to connect, `timeout` in all.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

impl TwilioRest {
    pub fn new(base: &str, account_sid: &str, auth_token: &str, from: &str, timeout: Duration) -> Result<Self, String> {
        let client = http_client(timeout)?;
        Ok(TwilioRest {
            client,
            base: base.trim_end_matches('/').to_string(),
            account_sid: account_sid.to_string(),
            auth_token: auth_token.to_string(),
            from: from.to_string(),
            status_callback: None,
        })
    }

    /// Asks Twilio to post each text's delivery state to `url` (the campaign's webhook).
    pub fn with_status_callback(mut self, url: Option<String>) -> Self {
        self.status_callback = url;
        self
    }
}

#[async_trait::async_trait]
impl SmsProvider for TwilioRest {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn submit(&self, s: &Submission) -> Result<String, SubmitError> {
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("To", &s.to).append_pair("From", &self.from).append_pair("Body", &s.body);
            if let Some(cb) = &self.status_callback {
                form.append_pair("StatusCallback", cb);
            }
            form.finish()
        };
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.base, self.account_sid);
        let sent = self
            .client
            .post(url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            // Refused before anything was written: nothing left.
            Err(e) if e.is_connect() => return Err(SubmitError::NotSent(e.to_string())),
            Err(e) => return Err(SubmitError::Unknown(e.to_string())),
        };
        let status = r.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry = r
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(30);
            return Err(SubmitError::Throttled { retry_after_s: retry });
        }
        if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            return Err(SubmitError::NotSent("503".into()));
        }
        let body = match r.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(SubmitError::Unknown(e.to_string())),
        };
        if status.is_success() {
            return serde_json::from_slice::<Created>(&body)
                .map(|c| c.sid)
                .map_err(|e| SubmitError::Unknown(format!("answer unreadable: {e}")));
        }
        if status.is_client_error() {
            let e: Option<TwilioError> = serde_json::from_slice(&body).ok();
            let code = e
                .as_ref()
                .and_then(|e| e.code.as_ref())
                .map(|c| c.to_string().trim_matches('"').to_string())
                .unwrap_or_else(|| status.as_u16().to_string());
            let message = SubmitError::explained(&code)
                .map(str::to_string)
                .or_else(|| e.and_then(|e| e.message))
                .unwrap_or_else(|| status.to_string());
            return Err(SubmitError::Rejected { code, message });
        }
        Err(SubmitError::Unknown(format!("HTTP {status}")))
    }
}
