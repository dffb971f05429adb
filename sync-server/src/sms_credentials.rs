//! Each campaign's SMS provider (issue 19): set by its coordinator, the secret (an auth token, an
//! SMPP password, OVHcloud's keys) sealed with the server's key before it is stored — bound to
//! the campaign, so a sealed secret copied to another campaign's row does not open — and never
//! given back, logged, audited or exported. The server's key lives outside the database (a file
//! only the server reads, or `DOORSTEP_SECRET_KEY`): a copy of the database alone opens nothing.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::model::Staff;
pub use crate::sealer::Sealer;
use crate::service::Service;
use crate::sms_provider::SmsProvider;
use crate::store::ops::sms_providers::ProviderRow;
use crate::store::{SharedStore as _, SmsStore};

/// A coordinator's provider settings. The secret is written, never read back.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// `twilio`, `smpp` or `ovh`.
    pub kind: String,
    /// Twilio: `https://api.twilio.com`; OVHcloud: `https://eu.api.ovh.com/1.0`; SMPP: `host:port`.
    pub endpoint: String,
    /// Twilio: the account SID; SMPP: the system id; OVHcloud: the SMS account (`sms-ab12345-1`).
    pub account: String,
    /// The sender phones show: a number, or up to 11 letters and digits.
    pub sender: String,
    /// Twilio: the auth token; SMPP: the password; OVHcloud: `application_key:application_secret:consumer_key`.
    pub secret: String,
    /// What one segment costs, in thousandths of a cent (7,500 for 7.5 c), for the expense export.
    #[serde(default)]
    pub price_millicents: i64,
    /// The provider answers a STOP itself (no confirmation of ours).
    #[serde(default)]
    pub confirms_stop: bool,
}

/// A provider as the dashboard shows it: no secret.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProviderView {
    pub kind: String,
    pub endpoint: String,
    pub account: String,
    pub sender: String,
    pub secret_set: bool,
    pub price_millicents: i64,
    pub confirms_stop: bool,
    /// Where Twilio must post replies and delivery states (Twilio only, with `--public-url`).
    pub webhook: Option<String>,
}

fn invalid(code: &'static str, msg: &str) -> ServiceError {
    ServiceError::invalid(code, msg)
}

pub const KINDS: [&str; 3] = ["twilio", "smpp", "ovh"];

impl Service {
    /// Takes the server's sealing key, refused when this database already knows another one: every
    /// server process on one database must hold the same key (a secret sealed by one must open in
    /// the others), and a process started with a fresh key file would otherwise seal with its own.
    pub async fn use_sealing_key(&mut self, key: Sealer) -> Result<(), String> {
        let known = self.store.key_fingerprint(key.fingerprint(), (self.now)()).await.map_err(|e| e.to_string())?;
        if known != key.fingerprint() {
            return Err(format!(
                "cette base attend la clé {known}, celle-ci est {} : donnez à chaque processus le même \
                 --secret-key-file / this database's processes use the key {known}, this one is {}: give \
                 every process the same --secret-key-file",
                key.fingerprint(),
                key.fingerprint()
            ));
        }
        self.sms_keys = Some(Arc::new(key));
        Ok(())
    }

    fn sealer(&self) -> Result<&Arc<Sealer>, ServiceError> {
        self.sms_keys.as_ref().ok_or_else(|| {
            ServiceError::conflict(
                "no_secret_key",
                "clé du serveur absente : impossible de garder un secret / no server key",
            )
        })
    }

    /// The URL Twilio posts a campaign's replies and delivery states to.
    pub fn twilio_webhook(&self, campaign_id: &str) -> Option<String> {
        self.public_url.as_ref().map(|u| format!("{}/api/v1/sms/hooks/twilio/{campaign_id}", u.trim_end_matches('/')))
    }

    fn view(&self, campaign_id: &str, p: ProviderRow) -> ProviderView {
        let webhook = (p.kind == "twilio").then(|| self.twilio_webhook(campaign_id)).flatten();
        ProviderView {
            kind: p.kind,
            endpoint: p.endpoint,
            account: p.account,
            sender: p.sender,
            secret_set: !p.sealed_secret.is_empty(),
            price_millicents: p.price_millicents,
            confirms_stop: p.confirms_stop,
            webhook,
        }
    }

    /// Sets the campaign's provider (a coordinator). The audit line names the kind and account,
    /// never the secret.
    pub async fn set_sms_provider(&self, st: &Staff, s: ProviderSettings) -> Result<ProviderView, ServiceError> {
        st.require_coordinator()?;
        if !KINDS.contains(&s.kind.as_str()) {
            return Err(invalid("bad_provider", "fournisseur inconnu : twilio, smpp ou ovh / unknown provider"));
        }
        let sender_ok = !s.sender.trim().is_empty()
            && (s.sender.starts_with('+') || s.sender.chars().count() <= 11)
            && s.sender.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == ' ');
        if !sender_ok {
            return Err(invalid(
                "bad_sender",
                "expéditeur : un numéro, ou 11 lettres et chiffres au plus / bad sender",
            ));
        }
        if s.endpoint.trim().is_empty() || s.account.trim().is_empty() || s.secret.is_empty() {
            return Err(invalid("incomplete_provider", "adresse, compte et secret requis / endpoint, account, secret"));
        }
        if s.kind == "ovh" && s.secret.splitn(3, ':').count() != 3 {
            return Err(invalid("bad_secret", "OVHcloud : application_key:application_secret:consumer_key"));
        }
        if !(0..=1_000_000).contains(&s.price_millicents) {
            return Err(invalid("bad_price", "prix par segment hors bornes / price out of range"));
        }
        let row = ProviderRow {
            kind: s.kind,
            endpoint: s.endpoint.trim().to_string(),
            account: s.account.trim().to_string(),
            sender: s.sender.trim().to_string(),
            sealed_secret: self.sealer()?.seal(st.campaign(), &s.secret),
            price_millicents: s.price_millicents,
            confirms_stop: s.confirms_stop,
        };
        self.store.set_sms_provider(st.campaign(), &row, (self.now)()).await?;
        let detail = serde_json::json!({ "kind": row.kind, "endpoint": row.endpoint, "account": row.account });
        self.record_staff(st, "sms.provider", None, detail).await?;
        Ok(self.view(st.campaign(), row))
    }

    pub async fn sms_provider_view(&self, st: &Staff) -> Result<Option<ProviderView>, ServiceError> {
        st.require_coordinator()?;
        Ok(self.store.sms_provider(st.campaign()).await?.map(|p| self.view(st.campaign(), p)))
    }

    /// The campaign's provider, its secret opened, ready to send (`None` without one).
    /// `timeout`: how long a submission's answer is awaited before the text counts as `unknown`.
    pub async fn provider_for(
        &self,
        campaign_id: &str,
        timeout: Duration,
    ) -> Result<Option<(ProviderRow, Arc<dyn SmsProvider>)>, ServiceError> {
        let Some(row) = self.store.sms_provider(campaign_id).await? else { return Ok(None) };
        let secret = self.sealer()?.open(campaign_id, &row.sealed_secret).map_err(|e| ServiceError::internal(&e))?;
        let p: Arc<dyn SmsProvider> = match row.kind.as_str() {
            "twilio" => Arc::new(
                crate::sms_provider::TwilioRest::new(&row.endpoint, &row.account, &secret, &row.sender, timeout)
                    .map_err(|e| ServiceError::internal(&e))?
                    .with_status_callback(self.twilio_webhook(campaign_id)),
            ),
            "smpp" => Arc::new(crate::sms_smpp::Smpp::new(&row.endpoint, &row.account, &secret, &row.sender, timeout)),
            "ovh" => Arc::new(
                crate::sms_ovh::Ovh::new(&row.endpoint, &row.account, &secret, &row.sender, timeout)
                    .map_err(|e| ServiceError::internal(&e))?,
            ),
            other => return Err(ServiceError::internal(format!("unknown provider kind {other}"))),
        };
        Ok(Some((row, p)))
    }

    /// Twilio's webhook: a reply or a delivery state, taken only with a valid signature from the
    /// campaign's own token (anyone else's post is refused and changes nothing).
    pub async fn twilio_hook(
        &self,
        campaign_id: &str,
        signature: &str,
        form: &[(String, String)],
    ) -> Result<(), ServiceError> {
        let forbidden = || {
            ServiceError::new(
                crate::error::Failure::Forbidden,
                "bad_signature",
                "signature Twilio invalide / bad signature",
            )
        };
        let row = self.store.sms_provider(campaign_id).await?.filter(|r| r.kind == "twilio").ok_or_else(forbidden)?;
        let url = self.twilio_webhook(campaign_id).ok_or_else(forbidden)?;
        let token = self.sealer()?.open(campaign_id, &row.sealed_secret).map_err(|e| ServiceError::internal(&e))?;
        let want = crate::sms_provider::twilio_signature(&token, &url, form);
        if !crate::auth::same_secret(&want, signature) {
            return Err(forbidden());
        }
        if let Some(e) = crate::sms_provider::twilio_event(form) {
            self.apply_sms_events(campaign_id, "twilio", row.confirms_stop, vec![e]).await?;
        }
        Ok(())
    }
}
