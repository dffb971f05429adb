//! SMS (issue 19), the service — first slice: a campaign's settings, consents and the opt-out
//! list, the compliance gate run on every recipient of an audience (a preview that shows the
//! gate's verdict per person, and a send that queues only what the gate lets through, each text
//! once under its idempotency key), and replies (a STOP opts the number out at once). Texts wait
//! in the outbox: the providers that carry them (Twilio-compatible REST, SMPP, OVHcloud) come with
//! the next slice.

use std::str::FromStr;

use chrono::TimeZone;
use doorstep_protocol::validate::sms::{
    Day, LocalTime, SmsDraft, SmsFacts, SmsPurpose, SmsRefusal, SmsVerdict, gate, is_stop_word, normalise_number,
    zone_of,
};
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::model::Staff;
use crate::service::Service;
use crate::store::ops::sms::{InboundRow, SmsSettings};
use crate::store::{SmsStore, StoreOps};

/// Who a text goes to.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum SmsAudience {
    /// A team's volunteers (a captain: a team they lead).
    Team { team_id: String },
    /// A session's sign-ups, the public page's included (a captain: a session of their teams or
    /// one they captain).
    Session { session_id: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsRequest {
    pub audience: SmsAudience,
    pub purpose: SmsPurpose,
    pub body: String,
    /// The same key sent again (a retry, a double click) queues nothing more. Required to send.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// The gate's verdict on one recipient.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RecipientVerdict {
    pub name: String,
    /// The number with its middle hidden (`+33 6 •• •• 56 78`); none if the person gave none.
    pub number: Option<String>,
    pub allowed: bool,
    /// Every reason it may not go, with its code.
    pub refusals: Vec<SmsRefusal>,
    /// The same reasons as the sender reads them ("hors des heures permises … / outside …").
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SmsPreview {
    pub recipients: Vec<RecipientVerdict>,
    pub allowed: u32,
    pub refused: u32,
    /// `gsm7` or `ucs2` (one emoji turns 160 characters into 70).
    pub encoding: String,
    pub segments: u32,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SmsSendReport {
    /// Texts queued by this request (0 for a retry of one already queued).
    pub queued: u32,
    /// Refused by the gate, each logged with its reasons.
    pub refused: u32,
    /// Let through by the gate, then found on the opt-out list when queued (a STOP in between).
    pub stopped_since: u32,
}

/// A reply recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct InboundOutcome {
    /// The reply was new (a provider's retry of the same message is not).
    pub new: bool,
    /// It was only a stop word: the number is on the opt-out list now.
    pub stop: bool,
    /// This reply put the number on the list (it was not on it before).
    pub opted_out: bool,
}

/// A state a person gives a reply in the team inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxState {
    Unread,
    NeedsReply,
    Handled,
}

/// One queued text as its sender follows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OutboxView {
    pub id: String,
    /// Masked.
    pub number: String,
    pub purpose: String,
    /// `pending`, `sending`, `sent`, `delivered`, `undelivered`, `failed`, `refused`, `unknown`.
    pub state: String,
    /// What the state means, in French.
    pub meaning: String,
    /// The provider's or the gate's reason, explained.
    pub error: Option<String>,
    pub provider: Option<String>,
    pub sent_ms: Option<i64>,
}

/// One line of the expense export: a provider's texts of one day (Paris time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ExpenseLine {
    /// `2026-12-08`.
    pub day: String,
    pub provider: String,
    pub texts: u32,
    pub segments: u32,
    /// Texts whose answer was lost: perhaps billed, counted in.
    pub uncertain: u32,
    /// In thousandths of a cent.
    pub cost_millicents: i64,
}

/// What a text's state means, for the sender.
pub fn state_meaning(state: &str) -> &'static str {
    match state {
        "pending" => "en attente (heure permise, débit ou nouvel essai)",
        "sending" => "en cours d'envoi",
        "sent" => "remis à l'opérateur",
        "delivered" => "reçu sur le téléphone",
        "undelivered" => "non remis au téléphone",
        "failed" => "refusé par l'opérateur",
        "refused" => "bloqué par les règles d'envoi",
        "unknown" => "envoi incertain : l'opérateur l'a peut-être reçu — jamais renvoyé automatiquement",
        _ => "état inconnu",
    }
}

/// Consents to record (an import of a sign-up sheet on paper, with the text people signed).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentImport {
    pub purpose: SmsPurpose,
    /// What the people agreed to, word for word.
    pub consent_text: String,
    pub numbers: Vec<String>,
}

fn mask(number: &str) -> String {
    let n = number.len();
    if n < 8 {
        return "•".repeat(n);
    }
    format!("{} •• •• {} {}", &number[..n - 8], &number[n - 4..n - 2], &number[n - 2..])
}

/// The wall time at a number's territory.
pub fn local_time(now_ms: i64, number: &str) -> LocalTime {
    let tz =
        zone_of(number).and_then(|z| chrono_tz::Tz::from_str(z.tz_name()).ok()).unwrap_or(chrono_tz::Europe::Paris);
    let t = tz.timestamp_millis_opt(now_ms).single().unwrap_or_else(|| tz.timestamp_millis_opt(0).unwrap());
    use chrono::{Datelike, Timelike};
    LocalTime { day: Day { year: t.year(), month: t.month(), day: t.day() }, hour: t.hour(), minute: t.minute() }
}

/// An encoding as the outbox stores it.
pub(crate) fn encoding_code(e: doorstep_protocol::validate::sms::Encoding) -> &'static str {
    if e == doorstep_protocol::validate::sms::Encoding::Gsm7 { "gsm7" } else { "ucs2" }
}

fn invalid(code: &'static str, msg: &str) -> ServiceError {
    ServiceError::invalid(code, msg.to_string())
}

impl Service {
    pub async fn sms_settings(&self, st: &Staff) -> Result<Option<SmsSettings>, ServiceError> {
        Ok(self.store.sms_settings(st.campaign()).await?)
    }

    /// A coordinator sets how texts are signed, the polling days and the segment budget.
    pub async fn set_sms_settings(&self, st: &Staff, s: SmsSettings) -> Result<SmsSettings, ServiceError> {
        st.require_coordinator()?;
        let n = s.sender_name.trim().chars().count();
        if n == 0 || n > 40 {
            return Err(invalid("bad_sender", "signature de 1 à 40 caractères / a sender name of 1–40 characters"));
        }
        if !(1..=10).contains(&s.max_segments) {
            return Err(invalid("bad_budget", "1 à 10 segments / 1–10 segments"));
        }
        self.store.set_sms_settings(st.campaign(), &s, (self.now)()).await?;
        self.record_staff(st, "sms.settings", None, serde_json::json!({ "election_days": s.election_days.len() }))
            .await?;
        Ok(s)
    }

    /// A coordinator records consents collected elsewhere; numbers already on the opt-out list
    /// stay on it. Returns how many numbers were recorded; unreadable numbers are refused, all.
    pub async fn import_consents(&self, st: &Staff, req: ConsentImport) -> Result<u32, ServiceError> {
        st.require_coordinator()?;
        if req.consent_text.trim().is_empty() {
            return Err(invalid(
                "no_consent_text",
                "le texte du consentement est requis / the consent text is required",
            ));
        }
        let mut rows = Vec::with_capacity(req.numbers.len());
        for (i, n) in req.numbers.iter().enumerate() {
            let number = normalise_number(n).ok_or_else(|| {
                ServiceError::invalid(
                    "bad_number",
                    format!("ligne {} : numéro illisible / line {}: not a French number", i + 1, i + 1),
                )
            })?;
            rows.push((number, req.purpose, req.consent_text.clone()));
        }
        self.store.record_consents(st.campaign(), &rows, "import", (self.now)()).await?;
        self.record_staff(st, "sms.consents", None, serde_json::json!({ "numbers": rows.len() })).await?;
        Ok(rows.len() as u32)
    }

    async fn audience_in_reach(
        &self,
        st: &Staff,
        a: &SmsAudience,
    ) -> Result<(Option<String>, Option<String>), ServiceError> {
        match a {
            SmsAudience::Team { team_id } => {
                let known = self.store.teams(st.campaign()).await?.iter().any(|t| t.id == *team_id);
                if !known {
                    return Err(ServiceError::not_found("équipe inconnue / no such team"));
                }
                if !st.reaches_team(Some(team_id)) {
                    return Err(ServiceError::forbidden("hors de vos équipes / outside your teams"));
                }
                Ok((Some(team_id.clone()), None))
            }
            SmsAudience::Session { session_id } => {
                let s = self
                    .store
                    .session(session_id)
                    .await?
                    .filter(|s| s.campaign_id == st.campaign())
                    .ok_or_else(|| ServiceError::not_found("séance inconnue / no such session"))?;
                if !(st.is_coordinator()
                    || s.captains.contains(&st.user.id)
                    || (s.team_id.is_some() && st.reaches_team(s.team_id.as_deref())))
                {
                    return Err(ServiceError::forbidden("hors de vos séances / outside your sessions"));
                }
                Ok((None, Some(session_id.clone())))
            }
        }
    }

    /// Runs the gate on every recipient of an audience.
    async fn gated(
        &self,
        st: &Staff,
        req: &SmsRequest,
    ) -> Result<Vec<(RecipientVerdict, Option<String>, SmsVerdict)>, ServiceError> {
        let settings = self.store.sms_settings(st.campaign()).await?.ok_or_else(|| {
            ServiceError::conflict(
                "sms_not_set_up",
                "réglez d'abord la signature et les dates du scrutin / set the sender name and polling days first",
            )
        })?;
        let (team, session) = self.audience_in_reach(st, &req.audience).await?;
        let criteria = vec![if team.is_some() { "team" } else { "session" }.to_string()];
        let now = (self.now)();
        let mut out = Vec::new();
        for (r, consents, opted_out) in self.store.sms_audience(st.campaign(), team, session).await? {
            let to = r.number.clone().unwrap_or_default();
            let facts = SmsFacts {
                consents,
                opted_out,
                criteria: criteria.clone(),
                minor: false,
                local: local_time(now, &to),
                election_days: settings.election_days.clone(),
                sender_name: settings.sender_name.clone(),
                max_segments: settings.max_segments,
            };
            let v = gate(&SmsDraft { to: to.clone(), body: req.body.clone(), purpose: req.purpose }, &facts);
            let shown = RecipientVerdict {
                name: r.name.clone(),
                number: r.number.as_deref().map(mask),
                allowed: v.allowed(),
                reasons: v.refusals.iter().map(ToString::to_string).collect(),
                refusals: v.refusals.clone(),
            };
            out.push((shown, r.number, v));
        }
        Ok(out)
    }

    /// What a send would do: the gate's verdict per recipient, nothing queued.
    pub async fn sms_preview(&self, st: &Staff, req: SmsRequest) -> Result<SmsPreview, ServiceError> {
        let gated = self.gated(st, &req).await?;
        let (encoding, segments) = doorstep_protocol::validate::sms::segments(&req.body);
        let allowed = gated.iter().filter(|g| g.2.allowed()).count() as u32;
        Ok(SmsPreview {
            allowed,
            refused: gated.len() as u32 - allowed,
            recipients: gated.into_iter().map(|g| g.0).collect(),
            encoding: if encoding == doorstep_protocol::validate::sms::Encoding::Gsm7 { "gsm7" } else { "ucs2" }.into(),
            segments,
        })
    }

    /// Queues a text to every recipient the gate lets through, each under an id made from the
    /// request's idempotency key and the number (a retry queues nothing twice); logs every
    /// refusal with its reasons.
    pub async fn sms_send(&self, st: &Staff, req: SmsRequest) -> Result<SmsSendReport, ServiceError> {
        let key = req.idempotency_key.clone().filter(|k| !k.trim().is_empty() && k.len() <= 128).ok_or_else(|| {
            invalid("idempotency_key_required", "une clé d'idempotence est requise / an idempotency key is required")
        })?;
        let gated = self.gated(st, &req).await?;
        let id_for = |number: &str| {
            use sha2::{Digest, Sha256};
            let h = Sha256::digest(format!("{}\u{0}{key}\u{0}{number}", st.campaign()).as_bytes());
            h.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>()
        };
        let (mut allowed, mut refused) = (Vec::new(), Vec::new());
        for (_, number, v) in &gated {
            let number = number.clone().unwrap_or_default();
            let id = id_for(&number);
            if v.allowed() {
                let enc = if v.encoding == doorstep_protocol::validate::sms::Encoding::Gsm7 { "gsm7" } else { "ucs2" };
                allowed.push((id, number, v.segments, enc));
            } else {
                refused.push((id, number, v.refusals.iter().map(SmsRefusal::code).collect()));
            }
        }
        let (queued, stopped_since) = self
            .store
            .sms_queue(st.campaign(), req.purpose, &req.body, &st.user.id, &allowed, &refused, (self.now)())
            .await?;
        let report = SmsSendReport { queued, refused: refused.len() as u32, stopped_since };
        self.record_staff(st, "sms.send", None, serde_json::to_value(&report).unwrap_or_default()).await?;
        Ok(report)
    }

    /// A reply from a provider: recorded once (by the provider's message id); one that is only a
    /// stop word ("STOP", "Arrêt", "stop sms") opts the number out at once, whatever any import
    /// says later. Anything else waits in the inbox for a person.
    pub async fn receive_sms(
        &self,
        campaign_id: &str,
        provider_message_id: &str,
        from: &str,
        body: &str,
        provider: &str,
    ) -> Result<InboundOutcome, ServiceError> {
        let number =
            normalise_number(from).ok_or_else(|| invalid("bad_number", "numéro illisible / not a French number"))?;
        let stop = is_stop_word(body);
        let now = (self.now)();
        let (new, opted_out) =
            self.store.sms_record_inbound(provider_message_id, campaign_id, &number, body, stop, provider, now).await?;
        Ok(InboundOutcome { new, stop, opted_out })
    }

    /// Queues the one confirmation a STOP gets (its id from the reply's, so a provider's retry
    /// queues nothing more), through the gate like every text.
    pub(crate) async fn queue_stop_confirmation(
        &self,
        campaign_id: &str,
        reply_id: &str,
        from: &str,
    ) -> Result<(), ServiceError> {
        let (Some(settings), Some(number)) = (self.store.sms_settings(campaign_id).await?, normalise_number(from))
        else {
            return Ok(());
        };
        let body = doorstep_protocol::validate::sms::stop_confirmation(&settings.sender_name);
        let now = (self.now)();
        let purpose = SmsPurpose::StopConfirmation;
        let v = self.gate_one(campaign_id, &settings, &number, &body, purpose, &[]).await?;
        let id = format!("stop-{reply_id}");
        let (allowed, refused) = if v.allowed() {
            (vec![(id, number, v.segments, encoding_code(v.encoding))], vec![])
        } else {
            (vec![], vec![(id, number, v.refusals.iter().map(SmsRefusal::code).collect())])
        };
        self.store.sms_queue(campaign_id, purpose, &body, "stop", &allowed, &refused, now).await?;
        Ok(())
    }

    /// The gate on one text to one number now, fed by what the storage holds for that number.
    pub(crate) async fn gate_one(
        &self,
        campaign_id: &str,
        settings: &SmsSettings,
        number: &str,
        body: &str,
        purpose: SmsPurpose,
        criteria: &[&str],
    ) -> Result<SmsVerdict, ServiceError> {
        let (consents, opted_out) = self.store.sms_number_facts(campaign_id, number).await?;
        let facts = SmsFacts {
            consents,
            opted_out,
            criteria: criteria.iter().map(|c| c.to_string()).collect(),
            minor: false,
            local: local_time((self.now)(), number),
            election_days: settings.election_days.clone(),
            sender_name: settings.sender_name.clone(),
            max_segments: settings.max_segments,
        };
        Ok(gate(&SmsDraft { to: number.to_string(), body: body.to_string(), purpose }, &facts))
    }

    /// Marks a reply in the team inbox (a coordinator): unread, needs a reply, handled.
    pub async fn set_inbox_state(&self, st: &Staff, id: &str, state: InboxState) -> Result<(), ServiceError> {
        st.require_coordinator()?;
        let code = match state {
            InboxState::Unread => "unread",
            InboxState::NeedsReply => "needs_reply",
            InboxState::Handled => "handled",
        };
        if !self.store.sms_set_inbound_state(st.campaign(), id, code, &st.user.id).await? {
            return Err(ServiceError::not_found("réponse inconnue / no such reply"));
        }
        Ok(())
    }

    /// Every queued text and where it stands (a coordinator).
    pub async fn sms_outbox_view(&self, st: &Staff) -> Result<Vec<OutboxView>, ServiceError> {
        st.require_coordinator()?;
        Ok(self
            .store
            .sms_outbox_lines(st.campaign(), 1000)
            .await?
            .into_iter()
            .map(|(id, number, purpose, state, error, provider, sent_ms)| OutboxView {
                id,
                number: mask(&number),
                purpose,
                meaning: state_meaning(&state).to_string(),
                state,
                error,
                provider,
                sent_ms,
            })
            .collect())
    }

    /// What the providers may bill, per provider and day (Paris time), for the campaign's accounts.
    pub async fn sms_expenses(&self, st: &Staff) -> Result<Vec<ExpenseLine>, ServiceError> {
        st.require_coordinator()?;
        let mut lines: Vec<ExpenseLine> = Vec::new();
        for (provider, at_ms, segments, cost, state) in self.store.sms_billed(st.campaign()).await? {
            let d = local_time(at_ms, "+33100000000").day;
            let day = format!("{:04}-{:02}-{:02}", d.year, d.month, d.day);
            let i = match lines.iter().position(|l| l.day == day && l.provider == provider) {
                Some(i) => i,
                None => {
                    lines.push(ExpenseLine { day, provider, texts: 0, segments: 0, uncertain: 0, cost_millicents: 0 });
                    lines.len() - 1
                }
            };
            let l = &mut lines[i];
            l.texts += 1;
            l.segments += segments;
            l.uncertain += u32::from(state == "unknown");
            l.cost_millicents += cost.unwrap_or(0);
        }
        lines.sort_by(|a, b| (&a.day, &a.provider).cmp(&(&b.day, &b.provider)));
        Ok(lines)
    }

    /// The replies (a coordinator's team inbox).
    pub async fn sms_inbox(&self, st: &Staff) -> Result<Vec<InboundRow>, ServiceError> {
        st.require_coordinator()?;
        Ok(self.store.sms_inbox(st.campaign(), 500).await?)
    }

    /// The opt-out list (numbers, where the STOP came from, when).
    pub async fn sms_optouts(&self, st: &Staff) -> Result<Vec<serde_json::Value>, ServiceError> {
        st.require_coordinator()?;
        Ok(self
            .store
            .sms_optouts(st.campaign())
            .await?
            .into_iter()
            .map(|(n, source, at)| serde_json::json!({ "number": n, "source": source, "at_ms": at }))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_and_times_are_local() {
        assert_eq!(mask("+33612345678"), "+336 •• •• 56 78");
        // 2027-03-09 12:00 UTC: 13:00 in Paris, 08:00 in Guadeloupe, 16:00 in La Réunion.
        let noon = 1_804_593_600_000_i64;
        assert_eq!(local_time(noon, "+33612345678").hour, 13);
        assert_eq!(local_time(noon, "+590690123456").hour, 8);
        assert_eq!(local_time(noon, "+262692123456").hour, 16);
    }
}
