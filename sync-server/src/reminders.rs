//! Session reminders (issue 17): delivered in the app (served at each sync once due) and by e-mail
//! (a sender that runs every half minute in `serve`). Rows are planned with the sign-up
//! (`store::ops::reminders`); each due row is decided by the rule book
//! (`validate::reminder::decide_send`), claimed (one sender wins, across processes), sent, then
//! marked. Times are written in Europe/Paris, in French.

use chrono::{Datelike, TimeZone, Timelike};
use doorstep_protocol::validate::reminder::{self, Channel, Kind, RowState, SendDecision};
use doorstep_protocol::{AppReminder, Session};
use serde::Serialize;

use crate::error::ServiceError;
use crate::service::{DeviceSession, Service};
use crate::store::StoreOps;
use crate::store::ops::reminders::DueReminder;

/// Most e-mails one round of the sender takes.
pub const BATCH: i64 = 200;

/// What one round of the e-mail sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delivered {
    pub sent: u32,
    /// Dropped by the rule book (cancelled, called off, started, no address).
    pub dropped: u32,
    /// Failed this time, tried again later.
    pub retried: u32,
    /// Failed for good.
    pub failed: u32,
}

const DAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
pub(crate) const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

fn paris(ms: i64) -> chrono::DateTime<chrono_tz::Tz> {
    chrono_tz::Europe::Paris
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(|| chrono_tz::Europe::Paris.from_utc_datetime(&chrono::DateTime::UNIX_EPOCH.naive_utc()))
}

/// "samedi 12 décembre", in Europe/Paris.
pub fn french_day(ms: i64) -> String {
    let t = paris(ms);
    let day = if t.day() == 1 { "1er".to_string() } else { t.day().to_string() };
    format!("{} {day} {}", DAYS[t.weekday().num_days_from_monday() as usize], MONTHS[t.month0() as usize])
}

/// "10 h" or "10 h 30", in Europe/Paris (French typography).
pub fn french_time(ms: i64) -> String {
    let t = paris(ms);
    if t.minute() == 0 { format!("{} h", t.hour()) } else { format!("{} h {:02}", t.hour(), t.minute()) }
}

/// A reminder's one line (the app's text, the e-mail's subject): when, what, where.
pub fn reminder_line(kind: Kind, s: &Session) -> String {
    let when = match kind {
        Kind::DayBefore => format!("demain à {}", french_time(s.start_ms)),
        Kind::TwoHours => format!("aujourd'hui à {}", french_time(s.start_ms)),
        Kind::Late => format!("{} à {}", french_day(s.start_ms), french_time(s.start_ms)),
    };
    format!("Rappel : {when} — « {} », {}", s.title, s.meeting_text)
}

/// A reminder e-mail: its subject and plain-text body.
pub fn reminder_email(kind: Kind, s: &Session, name: &str, campaign: &str) -> (String, String) {
    let subject = format!("Rappel : « {} », {} à {}", s.title, french_day(s.start_ms), french_time(s.start_ms));
    let lead = match kind {
        Kind::DayBefore => "C'est demain",
        Kind::TwoHours => "C'est dans deux heures",
        Kind::Late => "Votre inscription est bien enregistrée",
    };
    let body = format!(
        "Bonjour {name},\n\n{lead} : séance de porte-à-porte « {title} »,\n{day} de {start} à {end}.\n\
         Rendez-vous : {place}.\n\nSi vous ne pouvez plus venir, annulez depuis l'application ou prévenez \
         votre responsable d'équipe : la place ira à quelqu'un d'autre.\n\nMerci !\n{campaign}\n\n--\n\
         Vous recevez ce message parce que vous vous êtes inscrit·e à cette séance. Vos coordonnées ne \
         servent qu'à son organisation et sont effacées à la fin de la campagne.\n",
        title = s.title,
        day = french_day(s.start_ms),
        start = french_time(s.start_ms),
        end = french_time(s.end_ms),
        place = s.meeting_text,
    );
    (subject, body)
}

/// The Message-ID of a reminder: the same for every try of the same row.
pub fn message_id(r: &DueReminder) -> String {
    use sha2::Digest;
    let key = format!("{}\u{0}{}\u{0}{}", r.session.id, r.person, r.kind.code());
    let h = sha2::Sha256::digest(key.as_bytes());
    let hex: String = h[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("rappel.{hex}@doorstep.invalid")
}

impl Service {
    /// One round of the e-mail sender: every due e-mail reminder decided, claimed, sent and
    /// marked. Without a relay configured, e-mail reminders wait (and are dropped once the session
    /// starts). Each sent reminder is audited without its address.
    pub async fn deliver_reminders(&self) -> Result<Delivered, ServiceError> {
        let now = (self.now)();
        let mut done = Delivered::default();
        let mut campaigns = std::collections::HashMap::new();
        for r in self.store.due_reminders(Channel::Email, now, BATCH).await? {
            let decision = match (reminder::decide_send(&r.session, r.standing, r.due_ms, now), &r.email) {
                (SendDecision::Send, None) => SendDecision::Drop("no_address"),
                (d, _) => d,
            };
            match decision {
                SendDecision::Wait => {}
                SendDecision::Drop(why) => {
                    self.store.finish_reminder(&r, RowState::Dropped, r.due_ms, Some(why), now).await?;
                    done.dropped += 1;
                }
                SendDecision::Send => {
                    let (Some(mailer), Some(to)) = (&self.mailer, &r.email) else { continue };
                    if !self.store.claim_reminder(&r, now).await? {
                        continue; // another process has it
                    }
                    if !campaigns.contains_key(&r.session.campaign_id) {
                        let name =
                            self.store.campaign(&r.session.campaign_id).await?.map(|c| c.name).unwrap_or_default();
                        campaigns.insert(r.session.campaign_id.clone(), name);
                    }
                    let (subject, body) =
                        reminder_email(r.kind, &r.session, &r.name, &campaigns[&r.session.campaign_id]);
                    match mailer.send(to, &subject, &body, &message_id(&r)).await {
                        Ok(()) => {
                            self.store.finish_reminder(&r, RowState::Sent, r.due_ms, None, now).await?;
                            done.sent += 1;
                            let detail = serde_json::json!({ "kind": r.kind.code(), "channel": "email" });
                            self.record(
                                &r.session.campaign_id,
                                "server",
                                None,
                                "reminder.sent",
                                Some(&r.session.id),
                                detail,
                            )
                            .await?;
                        }
                        Err(e) => {
                            let (state, due) = if e.permanent {
                                (RowState::Failed, now)
                            } else {
                                reminder::after_failure(r.attempts + 1, now)
                            };
                            tracing::warn!(session = %r.session.id, kind = r.kind.code(), permanent = e.permanent, error = %e.message, "reminder e-mail not sent");
                            self.store.finish_reminder(&r, state, due, Some(&e.message), now).await?;
                            if state == RowState::Failed { done.failed += 1 } else { done.retried += 1 }
                        }
                    }
                }
            }
        }
        Ok(done)
    }

    /// A phone's in-app reminders: each due one for a session not over, marked delivered the
    /// first time it is served and served again until the session ends (the phone shows each id
    /// once, so a lost answer loses nothing).
    pub async fn app_reminders(&self, dev: &DeviceSession) -> Result<Vec<AppReminder>, ServiceError> {
        if dev.revoked {
            return Ok(Vec::new());
        }
        let me = &dev.user;
        let now = (self.now)();
        let mut out = Vec::new();
        for r in self.store.app_reminders(&me.id, now).await? {
            if r.state == RowState::Pending {
                match reminder::decide_send(&r.session, r.standing, r.due_ms, now) {
                    SendDecision::Wait => continue,
                    SendDecision::Drop(why) => {
                        self.store.finish_reminder(&r, RowState::Dropped, r.due_ms, Some(why), now).await?;
                        continue;
                    }
                    SendDecision::Send => self.store.finish_reminder(&r, RowState::Sent, r.due_ms, None, now).await?,
                }
            }
            out.push(AppReminder {
                id: format!("{}:{}", r.session.id, r.kind.code()),
                session_id: r.session.id.clone(),
                kind: r.kind.code().to_string(),
                due_ms: r.due_ms,
                text: reminder_line(r.kind, &r.session),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_dates_in_paris_time() {
        // 2026-12-12 09:00 UTC is 10 h in Paris (winter); 2026-07-04 08:30 UTC is 10 h 30 (summer).
        let winter = chrono::Utc.with_ymd_and_hms(2026, 12, 12, 9, 0, 0).unwrap().timestamp_millis();
        assert_eq!((french_day(winter), french_time(winter)), ("samedi 12 décembre".into(), "10 h".into()));
        let summer = chrono::Utc.with_ymd_and_hms(2026, 7, 4, 8, 30, 0).unwrap().timestamp_millis();
        assert_eq!((french_day(summer), french_time(summer)), ("samedi 4 juillet".into(), "10 h 30".into()));
        let first = chrono::Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).unwrap().timestamp_millis();
        assert_eq!(french_day(first), "lundi 1er mars");
    }
}
