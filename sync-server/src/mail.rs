//! E-mail through the campaign's SMTP relay (lettre): session reminders. One plain-text message
//! per reminder, with a Message-ID made from the reminder's key, so that a message re-sent after a
//! crash (the relay accepted it, the server died before writing "sent") carries the same id and
//! mail clients show it once.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The relay: `smtp://host:port` (plain, a local relay), `smtp://host:587?tls=required`
/// (STARTTLS) or `smtps://host:465`; credentials as `smtp://user:password@host`.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    // Never the URL: it may carry the relay's password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish()
    }
}

/// A message the relay did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError {
    /// The relay refused for good (5xx: unknown mailbox, policy): trying again will not help.
    pub permanent: bool,
    pub message: String,
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let from: Mailbox =
            from.parse().map_err(|e| format!("adresse d'expédition invalide / bad sender address: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("relais SMTP invalide / bad SMTP relay URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        Ok(Self { transport, from })
    }

    /// Sends one plain-text message; `message_id` without angle brackets.
    pub async fn send(&self, to: &str, subject: &str, body: &str, message_id: &str) -> Result<(), MailError> {
        let to: Mailbox =
            to.parse().map_err(|e| MailError { permanent: true, message: format!("adresse invalide: {e}") })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{message_id}>")))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| MailError { permanent: true, message: e.to_string() })?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(MailError { permanent: e.is_permanent(), message: e.to_string() }),
        }
    }
}
