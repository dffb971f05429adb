//! Session reminders by text (issue 19 on issue 17's reminders): a due reminder on the `sms`
//! channel becomes one text in the campaign's SMS outbox — its id from the reminder's row, so it is
//! queued once — after the reminder rule book (`decide_send`: never for a session called off or
//! started, nor to someone who cancelled) and the compliance gate (consent to session reminders,
//! the STOP list, 08:00–20:00, Sundays and holidays, the L49 silence). A reminder the gate refuses
//! is dropped with its reasons, never held: a late reminder is worse than none.

use doorstep_protocol::validate::reminder::{self, Channel, Kind, RowState, SendDecision};
use doorstep_protocol::validate::sms::{SmsPurpose, SmsRefusal};

use crate::error::ServiceError;
use crate::reminders::Delivered;
use crate::service::Service;
use crate::store::{SmsStore, StoreOps};

const BATCH: i64 = 100;

/// The words of a session reminder by text: signed, what, when, where, and how to stop — in the
/// GSM-7 alphabet where the session's own words allow (no guillemets, no dash: one emoji or « would
/// make it UCS-2, 70 characters a segment).
pub fn reminder_text(kind: Kind, s: &doorstep_protocol::Session, sender_name: &str) -> String {
    let lead = match kind {
        Kind::DayBefore => "rappel, c'est demain",
        Kind::TwoHours => "rappel, c'est dans 2 h",
        Kind::Late => "inscription enregistrée",
    };
    format!(
        "{} : {lead} - \"{}\", {} {}, RDV {}. STOP pour ne plus recevoir de SMS",
        sender_name.trim(),
        s.title,
        crate::reminders::french_day(s.start_ms),
        crate::reminders::french_time(s.start_ms),
        s.meeting_text
    )
}

impl Service {
    /// Queues the due SMS reminders as texts (the SMS sender sends them).
    pub async fn deliver_sms_reminders(&self) -> Result<Delivered, ServiceError> {
        let now = (self.now)();
        let mut done = Delivered::default();
        for r in self.store.due_reminders(Channel::Sms, now, BATCH).await? {
            let decision = match (reminder::decide_send(&r.session, r.standing, r.due_ms, now), &r.phone) {
                (SendDecision::Send, None) => SendDecision::Drop("no_number"),
                (d, _) => d,
            };
            let number = match decision {
                SendDecision::Wait => continue,
                SendDecision::Drop(why) => {
                    self.store.finish_reminder(&r, RowState::Dropped, r.due_ms, Some(why), now).await?;
                    done.dropped += 1;
                    continue;
                }
                SendDecision::Send => r.phone.clone().unwrap_or_default(),
            };
            let campaign = r.session.campaign_id.clone();
            let Some(settings) = self.store.sms_settings(&campaign).await? else {
                self.store.finish_reminder(&r, RowState::Dropped, r.due_ms, Some("sms_not_set_up"), now).await?;
                done.dropped += 1;
                continue;
            };
            if !self.store.claim_reminder(&r, now).await? {
                continue; // another process has it
            }
            let body = reminder_text(r.kind, &r.session, &settings.sender_name);
            let purpose = SmsPurpose::SessionReminder;
            let v = self.gate_one(&campaign, &settings, &number, &body, purpose, &["session"]).await?;
            let id = format!("rem-{}", crate::reminders::message_id(&r).trim_end_matches("@doorstep.invalid"));
            if v.allowed() {
                let allowed = vec![(id, number, v.segments, crate::sms::encoding_code(v.encoding))];
                let (_, stopped) =
                    self.store.sms_queue(&campaign, purpose, &body, "reminders", &allowed, &[], now).await?;
                if stopped > 0 {
                    self.store.finish_reminder(&r, RowState::Dropped, r.due_ms, Some("opted_out"), now).await?;
                    done.dropped += 1;
                } else {
                    self.store.finish_reminder(&r, RowState::Sent, r.due_ms, None, now).await?;
                    done.sent += 1;
                }
            } else {
                let codes: Vec<&'static str> = v.refusals.iter().map(SmsRefusal::code).collect();
                let refused = vec![(id, number, codes.clone())];
                self.store.sms_queue(&campaign, purpose, &body, "reminders", &[], &refused, now).await?;
                let why = format!("sms: {}", codes.join(","));
                self.store.finish_reminder(&r, RowState::Dropped, r.due_ms, Some(why.as_str()), now).await?;
                done.dropped += 1;
            }
        }
        Ok(done)
    }
}
