//! The follow-up text a voter asks for at the door (issue 19). The volunteer records the request
//! and the words the voter agreed to in the knock, offline; the push files the consent (source
//! `door:{report}`) and the request in its own transaction, the number kept apart from the report.
//! Here, after sync, each waiting request becomes one text (its outbox id from the report's, so it
//! is queued once): the campaign's follow-up words after a first sentence that says where the text
//! comes from — "suite à notre passage à votre porte le 8 décembre" — through the compliance gate
//! like every text. A request the gate refuses only for its hour waits in the outbox for a
//! permitted one; one it refuses for anything else is set aside with its reasons.

use doorstep_protocol::validate::sms::{SmsPurpose, SmsRefusal};

use crate::error::ServiceError;
use crate::service::Service;
use crate::store::SmsStore;

/// The follow-up's words: where it comes from (the visit, its day), then the campaign's text.
pub fn follow_up_text(sender_name: &str, asked_ms: i64, number: &str, body: &str) -> String {
    let d = crate::sms::local_time(asked_ms, number).day;
    format!(
        "{} : suite à notre passage à votre porte le {} {}. {}",
        sender_name.trim(),
        d.day,
        crate::reminders::MONTHS[(d.month as usize).clamp(1, 12) - 1],
        body.trim()
    )
}

impl Service {
    /// Turns the campaign's waiting follow-ups into queued texts. Returns (queued, set aside).
    pub async fn queue_door_follow_ups(&self, campaign_id: &str) -> Result<(u32, u32), ServiceError> {
        let Some(settings) = self.store.sms_settings(campaign_id).await? else { return Ok((0, 0)) };
        let Some(body) = settings.follow_up_body.clone().filter(|b| !b.trim().is_empty()) else {
            return Ok((0, 0));
        };
        let now = (self.now)();
        let (mut queued, mut aside) = (0, 0);
        for (report_id, number, asked_ms) in self.store.sms_waiting_follow_ups(campaign_id).await? {
            let text = follow_up_text(&settings.sender_name, asked_ms, &number, &body);
            let purpose = SmsPurpose::DoorFollowUp;
            let v = self.gate_one(campaign_id, &settings, &number, &text, purpose, &["door_follow_up"]).await?;
            let timing_only = crate::sms_dispatch::timing_only(&v.refusals);
            let id = format!("door-{report_id}");
            let codes: Vec<&'static str> = v.refusals.iter().map(SmsRefusal::code).collect();
            if v.allowed() || timing_only {
                // Queued now; the sender holds it until its hour (it gates again at send time).
                let allowed = vec![(id, number, v.segments, crate::sms::encoding_code(v.encoding))];
                let (n, stopped) =
                    self.store.sms_queue(campaign_id, purpose, &text, "door", &allowed, &[], now).await?;
                let state = if stopped > 0 { "refused" } else { "queued" };
                let codes = (stopped > 0).then(|| "opted_out".to_string());
                self.store.sms_set_follow_up(&report_id, state, codes).await?;
                queued += n;
                aside += stopped;
            } else {
                self.store
                    .sms_queue(campaign_id, purpose, &text, "door", &[], &[(id, number, codes.clone())], now)
                    .await?;
                self.store.sms_set_follow_up(&report_id, "refused", Some(codes.join(","))).await?;
                aside += 1;
            }
        }
        Ok((queued, aside))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_text_says_where_it_comes_from() {
        // 2026-12-08 15:00 in Paris.
        let t = super::follow_up_text(
            "Équipe Martin",
            1_796_738_400_000,
            "+33612345678",
            "Notre programme : x.fr. STOP au 36180",
        );
        assert_eq!(
            t,
            "Équipe Martin : suite à notre passage à votre porte le 8 décembre. Notre programme : x.fr. STOP au 36180"
        );
    }
}
