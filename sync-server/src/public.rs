//! The public sign-up page of a session (issue 17): supporters without an account sign up with a
//! name, an e-mail address or a phone number, and an explicit consent whose text is recorded with
//! the sign-up. One HTML page, no script, served by the server itself.
//!
//! Against abuse, without a CAPTCHA (a third-party CAPTCHA sends every visitor's data to its
//! provider, which the CNIL says needs consent, and shuts out some disabled people):
//! - a form token signed with the campaign's key, carrying when the page was served: a post
//!   without one, for another session, older than [`FORM_LIFETIME_MS`] or sent less than
//!   [`MIN_FILL_MS`] after the page (no person fills a form that fast; scripts do) is refused;
//! - a honeypot field hidden from people (a form-filling robot fills it): such a post is answered
//!   like a success and nothing is written;
//! - [`PER_ADDRESS`] posts per client address per ten minutes;
//! - one sign-up per e-mail address or phone number per session, and the session's capacity
//!   (public sign-ups take places like volunteers'): a flood cannot take more than the places.
//!
//! The answer never says whether an address was already signed up (whether someone signed up for
//! a political event is their political opinion): a repeat gets the same thanks as a first time.

use axum::http::StatusCode;
use doorstep_protocol::validate::handoff;
use doorstep_protocol::{Session, Visibility};
use serde::Deserialize;

use crate::error::ServiceError;
use crate::service::Service;
use crate::store::StoreOps;
use crate::store::ops::sessions::{PublicOutcome, PublicSignup};

/// A form posted sooner than this after its page was served is refused.
pub const MIN_FILL_MS: i64 = 3_000;
/// A form token is good this long.
pub const FORM_LIFETIME_MS: i64 = 6 * 3_600_000;
/// Posts per client address per ten minutes.
pub const PER_ADDRESS: f64 = 10.0;

/// The form as posted (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub token: String,
    /// The honeypot: hidden from people.
    #[serde(default)]
    pub website: String,
}

/// Why a form is refused, in French for the person who filled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    Expired,
    TooFast,
    Name,
    NoContact,
    Email,
    Phone,
    Consent,
}

impl FormError {
    pub fn message(self) -> &'static str {
        match self {
            FormError::Expired => "Le formulaire a expiré : rechargez la page puis envoyez-le à nouveau.",
            FormError::TooFast => "Le formulaire a été envoyé trop vite : vérifiez-le puis envoyez-le à nouveau.",
            FormError::Name => "Indiquez votre nom ou un prénom (100 caractères au plus).",
            FormError::NoContact => "Indiquez une adresse e-mail ou un numéro de téléphone pour recevoir les rappels.",
            FormError::Email => "Cette adresse e-mail n'est pas valide.",
            FormError::Phone => "Ce numéro de téléphone n'est pas valide (par exemple 06 12 34 56 78).",
            FormError::Consent => "Cochez la case d'accord pour que nous puissions enregistrer votre inscription.",
        }
    }
}

/// A checked form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanForm {
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
}

/// An e-mail address as kept (trimmed, domain lowercased), or `None` if it cannot be one.
pub fn check_email(s: &str) -> Option<String> {
    let s = s.trim();
    let (local, domain) = s.rsplit_once('@')?;
    let ok_local =
        !local.is_empty() && local.len() <= 64 && !local.chars().any(|c| c.is_whitespace() || c.is_control());
    let ok_domain = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    (ok_local && ok_domain && s.len() <= 254 && !local.contains('@'))
        .then(|| format!("{local}@{}", domain.to_lowercase()))
}

/// A phone number in E.164: French national numbers (`06 12 34 56 78`, `+33 6…`, `0033 6…`)
/// and other international numbers (`+` and 8 to 15 digits).
pub fn normalise_phone(s: &str) -> Option<String> {
    let t = s.trim();
    if t.chars().any(|c| !(c.is_ascii_digit() || " .-()+".contains(c))) {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let international = t.starts_with('+') || digits.starts_with("00");
    let digits = if t.starts_with('+') { digits } else { digits.strip_prefix("00").unwrap_or(&digits).to_string() };
    if international {
        if let Some(national) = digits.strip_prefix("33") {
            let national = national.strip_prefix('0').unwrap_or(national);
            return (national.len() == 9 && !national.starts_with('0')).then(|| format!("+33{national}"));
        }
        return ((9..=15).contains(&digits.len()) && !digits.starts_with('0')).then(|| format!("+{digits}"));
    }
    (digits.len() == 10 && digits.starts_with('0') && &digits[1..2] != "0").then(|| format!("+33{}", &digits[1..]))
}

/// Checks a posted form; `Ok(None)`: the honeypot was filled (answered as a success, not kept).
/// `issued_ms`: when the form's token says its page was served (`None`: no valid token).
pub fn check_form(f: &PublicForm, issued_ms: Option<i64>, now_ms: i64) -> Result<Option<CleanForm>, FormError> {
    if !f.website.trim().is_empty() {
        return Ok(None);
    }
    let issued = issued_ms.ok_or(FormError::Expired)?;
    if now_ms - issued > FORM_LIFETIME_MS || issued > now_ms {
        return Err(FormError::Expired);
    }
    if now_ms - issued < MIN_FILL_MS {
        return Err(FormError::TooFast);
    }
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(FormError::Name);
    }
    let (email, phone) = (f.email.trim(), f.phone.trim());
    if email.is_empty() && phone.is_empty() {
        return Err(FormError::NoContact);
    }
    let email = if email.is_empty() { None } else { Some(check_email(email).ok_or(FormError::Email)?) };
    let phone = if phone.is_empty() { None } else { Some(normalise_phone(phone).ok_or(FormError::Phone)?) };
    if f.consent.as_deref() != Some("on") {
        return Err(FormError::Consent);
    }
    Ok(Some(CleanForm { name: name.to_string(), email, phone }))
}

/// The consent the box asks for; its text is kept with each sign-up.
pub fn consent_text(campaign: &str) -> String {
    format!(
        "J'accepte que « {campaign} » enregistre mon nom et mes coordonnées pour m'inscrire à cette séance de \
         porte-à-porte et m'envoyer les rappels qui s'y rapportent. Ces données sont effacées à la fin de la \
         campagne ; je peux retirer mon accord à tout moment."
    )
}

fn token_bytes(session_id: &str, issued_ms: i64) -> Vec<u8> {
    format!("doorstep-public-form-v1\u{0}{session_id}\u{0}{issued_ms}").into_bytes()
}

/// A form token: when the page was served, signed with the campaign's key.
pub fn form_token(pkcs8: &[u8], session_id: &str, issued_ms: i64) -> String {
    let sig = handoff::sign(pkcs8, &token_bytes(session_id, issued_ms)).unwrap_or_default();
    format!("{issued_ms}.{sig}")
}

/// When a token's page was served, if the token is the campaign's for this session.
pub fn read_token(public_key: &str, session_id: &str, token: &str) -> Option<i64> {
    let (at, sig) = token.split_once('.')?;
    let at: i64 = at.parse().ok()?;
    handoff::verifies(public_key, &token_bytes(session_id, at), sig).then_some(at)
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// What the page shows above (or instead of) the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice<'a> {
    None,
    Error(&'a str),
    /// Signed up (or already was): the form is not shown again.
    Thanks,
    Full,
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f1ea;color:#1d1d1b}\
main{max-width:34rem;margin:0 auto;padding:1.5rem 1rem}h1{font-size:1.5rem;margin:.2rem 0 1rem}\
.campaign{color:#6b4d9a;font-weight:600;margin:0}.when{font-size:1.1rem;font-weight:600}\
form{background:#fff;border-radius:.5rem;padding:1rem 1.2rem;margin-top:1rem}label{display:block;margin:.7rem 0 .2rem;font-weight:600}\
input[type=text],input[type=email],input[type=tel]{width:100%;box-sizing:border-box;padding:.55rem;font:inherit;border:1px solid #8a8780;border-radius:.3rem}\
.consent{display:flex;gap:.6rem;align-items:flex-start;font-weight:400}.consent input{margin-top:.35rem}\
button{margin-top:1rem;background:#6b4d9a;color:#fff;border:0;border-radius:.3rem;padding:.7rem 1.2rem;font:inherit;font-weight:600}\
.error{background:#fde8e6;border-left:4px solid #b3261e;padding:.6rem .8rem}.thanks{background:#e5f3e8;border-left:4px solid #2e7d32;padding:.6rem .8rem}\
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}small{color:#55534e;display:block;margin-top:1rem}";

/// The page of a session open to the public.
pub fn page(
    s: &Session,
    campaign: &str,
    places_left: u32,
    token: &str,
    notice: Notice<'_>,
    form: &PublicForm,
) -> String {
    use crate::reminders::{french_day, french_time};
    let when = format!("{} de {} à {}", french_day(s.start_ms), french_time(s.start_ms), french_time(s.end_ms));
    let places = match places_left {
        0 => "Complet".to_string(),
        1 => "Il reste 1 place".to_string(),
        n => format!("Il reste {n} places"),
    };
    let mut body = match notice {
        Notice::Error(m) => format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)),
        Notice::Thanks => "<p class=\"thanks\" role=\"status\">Merci ! Votre inscription est enregistrée. \
             Si vous avez donné une adresse e-mail, un rappel vous sera envoyé la veille et deux heures avant.</p>"
            .to_string(),
        Notice::Full => {
            "<p class=\"error\" role=\"alert\">Cette séance est complète : merci de votre intérêt.</p>".into()
        }
        Notice::None => String::new(),
    };
    if !matches!(notice, Notice::Thanks | Notice::Full) && places_left > 0 {
        let checked = if form.consent.as_deref() == Some("on") { " checked" } else { "" };
        body.push_str(&format!(
            "<form method=\"post\" action=\"/p/{id}\" accept-charset=\"utf-8\">\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <label for=\"name\">Nom ou prénom</label><input type=\"text\" id=\"name\" name=\"name\" required maxlength=\"100\" autocomplete=\"name\" value=\"{name}\">\
             <label for=\"email\">Adresse e-mail</label><input type=\"email\" id=\"email\" name=\"email\" maxlength=\"254\" autocomplete=\"email\" value=\"{email}\">\
             <label for=\"phone\">ou téléphone</label><input type=\"tel\" id=\"phone\" name=\"phone\" maxlength=\"30\" autocomplete=\"tel\" value=\"{phone}\">\
             <div class=\"hp\" aria-hidden=\"true\"><label for=\"website\">Ne pas remplir</label><input type=\"text\" id=\"website\" name=\"website\" tabindex=\"-1\" autocomplete=\"off\"></div>\
             <label class=\"consent\"><input type=\"checkbox\" name=\"consent\" value=\"on\" required{checked}><span>{consent}</span></label>\
             <button type=\"submit\">Je m'inscris</button></form>",
            id = esc(&s.id),
            token = esc(token),
            name = esc(&form.name),
            email = esc(&form.email),
            phone = esc(&form.phone),
            consent = esc(&consent_text(campaign)),
        ));
    }
    format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} — inscription</title><style>{STYLE}</style></head><body><main>\
         <p class=\"campaign\">{campaign}</p><h1>{title}</h1><p class=\"when\">{when}</p>\
         <p>Rendez-vous : {place}</p><p>{places}</p>{body}\
         <small>Responsable du traitement : « {campaign} ». Vos données servent uniquement à organiser cette séance et à \
         vous la rappeler ; elles ne sont ni vendues ni cédées et sont effacées à la fin de la campagne. Vous pouvez y \
         accéder, les faire rectifier ou effacer et retirer votre accord en écrivant à la campagne ; vous pouvez aussi \
         saisir la CNIL (cnil.fr).</small></main></body></html>",
        title = esc(&s.title),
        campaign = esc(campaign),
        place = esc(&s.meeting_text),
    )
}

fn closed_page() -> String {
    format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Séance introuvable</title><style>{STYLE}</style></head><body><main><h1>Séance introuvable</h1>\
         <p>Cette séance n'existe pas ou n'est plus ouverte aux inscriptions.</p></main></body></html>"
    )
}

impl Service {
    /// A session open to the public, its campaign's name and its places left; `None` when the
    /// session is unknown, not public, called off or over (one answer for all: nothing leaks).
    async fn open_session(&self, session_id: &str) -> Result<Option<(Session, String, u32)>, ServiceError> {
        let now = (self.now)();
        let Some(s) = self.store.session(session_id).await? else { return Ok(None) };
        if s.visibility != Visibility::Public || s.cancelled || s.end_ms <= now {
            return Ok(None);
        }
        let campaign = self.store.campaign(&s.campaign_id).await?.map(|c| c.name).unwrap_or_default();
        let counts = self.store.campaign_sessions(&s.campaign_id, now).await?;
        let left = counts
            .iter()
            .find(|c| c.session.id == s.id)
            .map_or(0, |c| s.capacity.saturating_sub(c.signed_up + c.confirmed + c.checked_in + c.public));
        Ok(Some((s, campaign, left)))
    }

    /// The public page of a session: `(status, HTML)`.
    pub async fn public_page(&self, session_id: &str) -> Result<(StatusCode, String), ServiceError> {
        let Some((s, campaign, left)) = self.open_session(session_id).await? else {
            return Ok((StatusCode::NOT_FOUND, closed_page()));
        };
        let (pkcs8, _) = self.campaign_signing_key(&s.campaign_id).await?;
        let token = form_token(&pkcs8, &s.id, (self.now)());
        Ok((StatusCode::OK, page(&s, &campaign, left, &token, Notice::None, &PublicForm::default())))
    }

    /// A posted public sign-up: checked ([`check_form`]), rate limited per client address,
    /// recorded with its consent text and its reminders, audited without personal data.
    pub async fn public_signup(
        &self,
        session_id: &str,
        form: PublicForm,
        client: Option<std::net::IpAddr>,
    ) -> Result<(StatusCode, String), ServiceError> {
        let Some((s, campaign, left)) = self.open_session(session_id).await? else {
            return Ok((StatusCode::NOT_FOUND, closed_page()));
        };
        let now = (self.now)();
        let (pkcs8, public_key) = self.campaign_signing_key(&s.campaign_id).await?;
        let fresh = form_token(&pkcs8, &s.id, now);
        if let Some(ip) = client
            && self.take_request(&format!("public:{ip}"), PER_ADDRESS, PER_ADDRESS / 600.0).await.is_err()
        {
            let m = "Trop d'inscriptions depuis cette connexion : réessayez dans quelques minutes.";
            return Ok((StatusCode::TOO_MANY_REQUESTS, page(&s, &campaign, left, &fresh, Notice::Error(m), &form)));
        }
        let clean = match check_form(&form, read_token(&public_key, &s.id, &form.token), now) {
            Ok(Some(c)) => c,
            Ok(None) => {
                self.record(
                    &s.campaign_id,
                    "public",
                    None,
                    "public_signup.ignored",
                    Some(&s.id),
                    serde_json::json!({}),
                )
                .await?;
                return Ok((StatusCode::OK, page(&s, &campaign, left, &fresh, Notice::Thanks, &form)));
            }
            Err(e) => {
                let status =
                    if e == FormError::Expired { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
                return Ok((status, page(&s, &campaign, left, &fresh, Notice::Error(e.message()), &form)));
            }
        };
        let signup = PublicSignup {
            id: crate::auth::new_token()[..22].to_string(),
            session_id: s.id.clone(),
            name: clean.name,
            email: clean.email,
            phone: clean.phone,
            consent_text: consent_text(&campaign),
        };
        let outcome = self.store.record_public_signup(&signup, now).await?;
        let code = match outcome {
            PublicOutcome::Recorded => "recorded",
            PublicOutcome::AlreadyThere => "repeat",
            PublicOutcome::Full => "full",
            PublicOutcome::Closed => "closed",
        };
        self.record(
            &s.campaign_id,
            "public",
            None,
            "public_signup",
            Some(&s.id),
            serde_json::json!({ "outcome": code }),
        )
        .await?;
        Ok(match outcome {
            PublicOutcome::Recorded | PublicOutcome::AlreadyThere => {
                let left = if outcome == PublicOutcome::Recorded { left.saturating_sub(1) } else { left };
                (StatusCode::OK, page(&s, &campaign, left, &fresh, Notice::Thanks, &form))
            }
            PublicOutcome::Full => (StatusCode::CONFLICT, page(&s, &campaign, 0, &fresh, Notice::Full, &form)),
            PublicOutcome::Closed => (StatusCode::NOT_FOUND, closed_page()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, email: &str, phone: &str, consent: bool) -> PublicForm {
        PublicForm {
            name: name.into(),
            email: email.into(),
            phone: phone.into(),
            consent: consent.then(|| "on".into()),
            token: String::new(),
            website: String::new(),
        }
    }

    #[test]
    fn phones() {
        let cases = [
            ("06 12 34 56 78", Some("+33612345678")),
            ("06.12.34.56.78", Some("+33612345678")),
            ("+33 6 12 34 56 78", Some("+33612345678")),
            ("+33 (0)6 12 34 56 78", Some("+33612345678")),
            ("0033612345678", Some("+33612345678")),
            ("+590 690 12 34 56", Some("+590690123456")),
            ("+44 20 7946 0958", Some("+442079460958")),
            ("0612", None),
            ("00 12 34 56 78", None),
            ("06 12 34 56 7x", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(normalise_phone(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn emails() {
        let cases = [
            ("lea@Example.FR", Some("lea@example.fr")),
            (" lea.martin+seance@exemple.fr ", Some("lea.martin+seance@exemple.fr")),
            ("léa@exemple.fr", Some("léa@exemple.fr")),
            ("lea@localhost", None),
            ("lea", None),
            ("@exemple.fr", None),
            ("le a@exemple.fr", None),
            ("lea@exem_ple.fr", None),
            ("lea@@exemple.fr", None),
        ];
        for (raw, want) in cases {
            assert_eq!(check_email(raw).as_deref(), want, "{raw}");
        }
    }

    /// The form's case table: (case, form, token issued at, now, outcome).
    #[allow(clippy::type_complexity)]
    #[test]
    fn form_cases() {
        let ok = Ok(Some(CleanForm { name: "Léa".into(), email: Some("lea@exemple.fr".into()), phone: None }));
        let mut bot = form("Léa", "lea@exemple.fr", "", true);
        bot.website = "http://spam.example".into();
        let cases: Vec<(&str, PublicForm, Option<i64>, i64, Result<Option<CleanForm>, FormError>)> = vec![
            ("a person, a minute after the page", form("Léa", "lea@exemple.fr", "", true), Some(0), 60_000, ok.clone()),
            ("the honeypot filled: ignored, answered as a success", bot, Some(0), 60_000, Ok(None)),
            (
                "no token (or another session's, or forged)",
                form("Léa", "lea@exemple.fr", "", true),
                None,
                60_000,
                Err(FormError::Expired),
            ),
            (
                "sent a second after the page: a script",
                form("Léa", "lea@exemple.fr", "", true),
                Some(0),
                1_000,
                Err(FormError::TooFast),
            ),
            (
                "a page served seven hours ago",
                form("Léa", "lea@exemple.fr", "", true),
                Some(0),
                7 * 3_600_000,
                Err(FormError::Expired),
            ),
            (
                "a token from the future",
                form("Léa", "lea@exemple.fr", "", true),
                Some(90_000),
                60_000,
                Err(FormError::Expired),
            ),
            ("no name", form("  ", "lea@exemple.fr", "", true), Some(0), 60_000, Err(FormError::Name)),
            ("no contact", form("Léa", "", "", true), Some(0), 60_000, Err(FormError::NoContact)),
            ("a bad address", form("Léa", "lea@", "", true), Some(0), 60_000, Err(FormError::Email)),
            ("a bad number", form("Léa", "", "12", true), Some(0), 60_000, Err(FormError::Phone)),
            ("no consent", form("Léa", "lea@exemple.fr", "", false), Some(0), 60_000, Err(FormError::Consent)),
            (
                "a phone only",
                form("Léa", "", "06 12 34 56 78", true),
                Some(0),
                60_000,
                Ok(Some(CleanForm { name: "Léa".into(), email: None, phone: Some("+33612345678".into()) })),
            ),
        ];
        for (case, f, issued, now, want) in cases {
            assert_eq!(check_form(&f, issued, now), want, "{case}");
        }
    }

    #[test]
    fn tokens_are_bound_to_their_session_and_key() {
        let key = handoff::new_key().unwrap();
        let public = handoff::public_key_of(&key).unwrap();
        let t = form_token(&key, "s1", 1_000);
        assert_eq!(read_token(&public, "s1", &t), Some(1_000));
        assert_eq!(read_token(&public, "s2", &t), None, "another session's token");
        let other = handoff::public_key_of(&handoff::new_key().unwrap()).unwrap();
        assert_eq!(read_token(&other, "s1", &t), None, "another campaign's key");
        let forged = t.replacen("1000.", "900.", 1);
        assert_eq!(read_token(&public, "s1", &forged), None, "an earlier time written over the token");
        assert_eq!(read_token(&public, "s1", "garbage"), None);
    }

    #[test]
    fn the_page_escapes_what_it_shows() {
        let s = Session {
            id: "s1".into(),
            campaign_id: "c".into(),
            title: "<script>alert(1)</script>".into(),
            start_ms: 0,
            end_ms: 3_600_000,
            meeting_lat: 0.0,
            meeting_lon: 0.0,
            meeting_text: "\"devant\" & <b>".into(),
            capacity: 3,
            captains: vec![],
            turfs: vec![],
            team_id: None,
            visibility: Visibility::Public,
            cancelled: false,
        };
        let html = page(&s, "Nantes <en commun>", 2, "t", Notice::None, &form("\"><img>", "", "", false));
        assert!(!html.contains("<script>alert") && !html.contains("<b>") && !html.contains("\"><img>"));
        assert!(html.contains("Il reste 2 places") && html.contains("name=\"website\""));
    }
}
