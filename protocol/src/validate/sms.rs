//! The SMS compliance gate (issue 19): one pure function every text passes before it is sent
//! ([`gate`]), fed by facts the storage gathers (consents, the opt-out list, how the audience was
//! built, the recipient's local time, the campaign's election days). It answers every reason a
//! text may not go, not only the first, so the sender sees them all.
//!
//! The law it encodes, for French political texts:
//! - prior consent for that purpose (CNIL, « La communication politique par téléphone », 2016;
//!   regulation (EU) 2024/900 on political advertising, in force since October 2025: explicit
//!   consent, no targeting on special-category data or of minors);
//! - the campaign-wide opt-out list (STOP), never undone;
//! - the sender's identity and a way to say STOP in every text;
//! - no electronic campaign message from midnight on the eve of the vote until the polls close
//!   (Code électoral, art. L49);
//! - operators' rules for bulk texts: 08:00–20:00 local time, not on Sundays or public holidays
//!   (local time and holidays of the recipient's territory: overseas numbers by prefix).
//!
//! Time zones are the storage's business: it turns the send time into the recipient's wall time
//! with [`Zone::tz_name`] (the protocol crate carries no time-zone database).

use serde::{Deserialize, Serialize};

/// What a text is for: a consent is given for one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SmsPurpose {
    /// A volunteer's session reminders and last-minute changes.
    SessionReminder,
    /// A captain's news to their team.
    TeamNews,
    /// The follow-up a voter asked for at the door.
    DoorFollowUp,
    /// The one answer a STOP gets ([`stop_confirmation`]): it goes to the number that just opted
    /// out, needs no consent and no STOP mention, and may go at any hour (it answers the person's
    /// own message) — but not inside the L49 silence, and it names its sender.
    StopConfirmation,
}

/// The words of the one confirmation a STOP gets (when the provider does not send its own).
pub fn stop_confirmation(sender_name: &str) -> String {
    format!("{} : c'est noté, vous ne recevrez plus de SMS de notre part.", sender_name.trim())
}

/// Where a number rings: metropolitan France or an overseas territory (its clock and holidays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    Metropole,
    Guadeloupe,
    Martinique,
    Guyane,
    Reunion,
    Mayotte,
    SaintPierreEtMiquelon,
    NouvelleCaledonie,
    Polynesie,
    WallisEtFutuna,
}

impl Zone {
    /// The IANA time zone of the territory.
    pub fn tz_name(self) -> &'static str {
        match self {
            Zone::Metropole => "Europe/Paris",
            Zone::Guadeloupe => "America/Guadeloupe",
            Zone::Martinique => "America/Martinique",
            Zone::Guyane => "America/Cayenne",
            Zone::Reunion => "Indian/Reunion",
            Zone::Mayotte => "Indian/Mayotte",
            Zone::SaintPierreEtMiquelon => "America/Miquelon",
            Zone::NouvelleCaledonie => "Pacific/Noumea",
            Zone::Polynesie => "Pacific/Tahiti",
            Zone::WallisEtFutuna => "Pacific/Wallis",
        }
    }
}

/// The territory of a French number in E.164 form (`+33…`, `+262…`), `None` for a number that is
/// not one (the gate then refuses it: campaigns text French numbers). Overseas mobiles use their
/// territory's code (`+590 690…` Guadeloupe, `+262 639…` Mayotte…).
pub fn zone_of(number: &str) -> Option<Zone> {
    let digits = number.strip_prefix('+')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (zone, national) = if let Some(n) = digits.strip_prefix("33") {
        (Zone::Metropole, n)
    } else if let Some(n) = digits.strip_prefix("262") {
        // Mayotte shares +262 with La Réunion: its numbers start 269 (fixed) or 639 (mobile).
        (if n.starts_with("269") || n.starts_with("639") { Zone::Mayotte } else { Zone::Reunion }, n)
    } else if let Some(n) = digits.strip_prefix("590") {
        (Zone::Guadeloupe, n)
    } else if let Some(n) = digits.strip_prefix("596") {
        (Zone::Martinique, n)
    } else if let Some(n) = digits.strip_prefix("594") {
        (Zone::Guyane, n)
    } else if let Some(n) = digits.strip_prefix("508") {
        (Zone::SaintPierreEtMiquelon, n)
    } else if let Some(n) = digits.strip_prefix("687") {
        (Zone::NouvelleCaledonie, n)
    } else if let Some(n) = digits.strip_prefix("689") {
        (Zone::Polynesie, n)
    } else if let Some(n) = digits.strip_prefix("681") {
        (Zone::WallisEtFutuna, n)
    } else {
        return None;
    };
    // National significant numbers: 9 digits in France and its departments, 6 in the Pacific
    // territories and Saint-Pierre, 8 in Polynesia.
    let len_ok = match zone {
        Zone::NouvelleCaledonie | Zone::WallisEtFutuna | Zone::SaintPierreEtMiquelon => national.len() == 6,
        Zone::Polynesie => national.len() == 8,
        _ => national.len() == 9,
    };
    len_ok.then_some(zone)
}

/// A French number as people write it ("06 12 34 56 78", "+33 6 12…", "0033 6…", "0690 12 34 56")
/// in E.164 form, or `None` if it is not one. Overseas mobiles written nationally get their
/// territory's code (0690/0691 Guadeloupe, 0696/0697 Martinique, 0694 Guyane, 0692/0693 La
/// Réunion, 0639 Mayotte).
pub fn normalise_number(written: &str) -> Option<String> {
    let mut digits = String::new();
    let mut plus = false;
    for (i, c) in written.trim().chars().enumerate() {
        match c {
            '+' if i == 0 => plus = true,
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '(' | ')' | '\u{a0}' => {}
            _ => return None,
        }
    }
    let e164 = if plus {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else if digits.len() == 10 && digits.starts_with('0') {
        let national = &digits[1..];
        let code = match &digits[..4] {
            "0690" | "0691" => "590",
            "0696" | "0697" => "596",
            "0694" => "594",
            "0692" | "0693" | "0639" => "262",
            _ => "33",
        };
        format!("+{code}{national}")
    } else {
        return None;
    };
    zone_of(&e164).map(|_| e164)
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Day {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Day {
    /// Days since 1970-01-01 (the civil-from-days algorithm of H. Hinnant, in reverse).
    pub fn to_days(self) -> i64 {
        let (y, m, d) = (i64::from(self.year), i64::from(self.month), i64::from(self.day));
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days(z: i64) -> Day {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Day { year, month, day }
    }

    pub fn plus(self, days: i64) -> Day {
        Day::from_days(self.to_days() + days)
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (self.to_days() + 3).rem_euclid(7) as u32
    }
}

/// Easter Sunday of a year (the anonymous Gregorian algorithm).
pub fn easter(year: i32) -> Day {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Day { year, month: month as u32, day: day as u32 }
}

/// The public holiday a day is in a territory, if any: the eleven national ones, and the
/// abolition of slavery where it is a holiday (loi du 30 juin 1983 and its decrees).
pub fn holiday(zone: Zone, d: Day) -> Option<&'static str> {
    let e = easter(d.year);
    let fixed = match (d.month, d.day) {
        (1, 1) => Some("Jour de l'an"),
        (5, 1) => Some("Fête du Travail"),
        (5, 8) => Some("Victoire 1945"),
        (7, 14) => Some("Fête nationale"),
        (8, 15) => Some("Assomption"),
        (11, 1) => Some("Toussaint"),
        (11, 11) => Some("Armistice 1918"),
        (12, 25) => Some("Noël"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    if d == e.plus(1) {
        return Some("Lundi de Pâques");
    }
    if d == e.plus(39) {
        return Some("Ascension");
    }
    if d == e.plus(50) {
        return Some("Lundi de Pentecôte");
    }
    let abolition = match zone {
        Zone::Guadeloupe => Some((5, 27)),
        Zone::Martinique => Some((5, 22)),
        Zone::Guyane => Some((6, 10)),
        Zone::Reunion => Some((12, 20)),
        Zone::Mayotte => Some((4, 27)),
        _ => None,
    };
    (abolition == Some((d.month, d.day))).then_some("Abolition de l'esclavage")
}

/// How a text is encoded, and so how long a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The GSM 03.38 alphabet: 160 characters in one segment, 153 per segment beyond.
    Gsm7,
    /// Anything else (one emoji, one "œ"): 70 UTF-16 units in one segment, 67 per segment beyond.
    Ucs2,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// Decodes text in the GSM 03.38 default alphabet, one septet per byte (as SMPP carries it with
/// `data_coding` 0): an escape (0x1B) then a byte gives an extended character; what no table holds
/// becomes U+FFFD.
pub fn gsm7_decode(bytes: &[u8]) -> String {
    const EXTENDED_CODES: [u8; 10] = [0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65, 0x0A];
    let basic: Vec<char> = GSM7_BASIC.chars().collect();
    let extended: Vec<char> = GSM7_EXTENDED.chars().collect();
    let mut out = String::with_capacity(bytes.len());
    let mut it = bytes.iter();
    while let Some(&b) = it.next() {
        if b == 0x1B {
            let next = it.next().copied().unwrap_or(0);
            let c = EXTENDED_CODES.iter().position(|&x| x == next).map(|i| extended[i]);
            out.push(c.unwrap_or('\u{fffd}'));
        } else {
            // The table skips 0x1B itself: indexes above it are one lower.
            let i = if b > 0x1B { b as usize - 1 } else { b as usize };
            out.push(basic.get(i).copied().unwrap_or('\u{fffd}'));
        }
    }
    out
}

/// Encodes text in the GSM 03.38 default alphabet, one septet per byte; `None` if a character
/// is not in it (the text then goes as UCS-2).
pub fn gsm7_encode(text: &str) -> Option<Vec<u8>> {
    const EXTENDED_CODES: [u8; 10] = [0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65, 0x0A];
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if let Some(i) = GSM7_BASIC.chars().position(|x| x == c) {
            out.push(if i >= 0x1B { i as u8 + 1 } else { i as u8 });
        } else if let Some(i) = GSM7_EXTENDED.chars().position(|x| x == c) {
            out.extend_from_slice(&[0x1B, EXTENDED_CODES[i]]);
        } else {
            return None;
        }
    }
    Some(out)
}

/// The encoding a text needs and how many segments it takes.
pub fn segments(body: &str) -> (Encoding, u32) {
    let mut septets = 0u32;
    let mut gsm = true;
    for c in body.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENDED.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    if gsm {
        let n = if septets <= 160 { 1 } else { septets.div_ceil(153) };
        return (Encoding::Gsm7, n.max(1));
    }
    let units = body.encode_utf16().count() as u32;
    let n = if units <= 70 { 1 } else { units.div_ceil(67) };
    (Encoding::Ucs2, n.max(1))
}

/// Folds a text for matching stop words: upper case, accents removed, spaces collapsed, the
/// punctuation around it dropped.
fn fold(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        let base = match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'A',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'î' | 'ï' | 'Î' | 'Ï' => 'I',
            'ô' | 'ö' | 'Ô' | 'Ö' => 'O',
            'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ç' | 'Ç' => 'C',
            c if c.is_whitespace() || c == '-' || c == '_' => ' ',
            c if c.is_alphanumeric() => c.to_ascii_uppercase(),
            _ => continue,
        };
        if base == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(base);
    }
    out.trim_end().to_string()
}

/// The words that, alone in a reply, opt a number out at once.
pub const STOP_WORDS: &[&str] =
    &["STOP", "STOP SMS", "ARRET", "ARRETER", "DESABONNER", "DESINSCRIRE", "UNSUBSCRIBE", "STOPALL", "END", "QUIT"];

/// Whether a reply is only a stop word ("Stop", "ARRÊT", " stop sms! "): it opts out at once. A
/// reply that merely contains the word ("stop, je suis déjà inscrit") goes to a person.
pub fn is_stop_word(reply: &str) -> bool {
    STOP_WORDS.contains(&fold(reply).as_str())
}

/// Why a text may not go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum SmsRefusal {
    #[error("numéro non français ou illisible / not a French number in E.164 form")]
    BadNumber,
    #[error("aucun consentement recueilli pour cet usage / no consent recorded for this purpose")]
    NoConsent,
    #[error("ce numéro a dit STOP / this number opted out")]
    OptedOut,
    #[error("audience construite sur des données sensibles ({criterion}) / audience built on sensitive data")]
    SensitiveAudience { criterion: String },
    #[error("destinataire mineur / the recipient is a minor")]
    Minor,
    #[error("hors des heures permises (8 h – 20 h, heure du destinataire) / outside 08:00–20:00 at the recipient's")]
    QuietHours,
    #[error("pas d'envoi le dimanche / no sending on Sundays")]
    Sunday,
    #[error("jour férié ({name}) / a public holiday")]
    Holiday { name: String },
    #[error(
        "silence électoral (art. L49 : de la veille du scrutin à zéro heure jusqu'à la clôture) / the eve-of-vote silence"
    )]
    ElectoralSilence,
    #[error("le texte ne dit pas qui l'envoie / the text does not name its sender")]
    NoSenderIdentity,
    #[error("le texte n'offre pas de répondre STOP / the text does not offer to reply STOP")]
    NoStopMention,
    #[error("texte trop long : {segments} segments pour {max} permis / too long: {segments} segments, {max} allowed")]
    TooLong { segments: u32, max: u32 },
}

impl SmsRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            SmsRefusal::BadNumber => "bad_number",
            SmsRefusal::NoConsent => "no_consent",
            SmsRefusal::OptedOut => "opted_out",
            SmsRefusal::SensitiveAudience { .. } => "sensitive_audience",
            SmsRefusal::Minor => "minor",
            SmsRefusal::QuietHours => "quiet_hours",
            SmsRefusal::Sunday => "sunday",
            SmsRefusal::Holiday { .. } => "holiday",
            SmsRefusal::ElectoralSilence => "electoral_silence",
            SmsRefusal::NoSenderIdentity => "no_sender_identity",
            SmsRefusal::NoStopMention => "no_stop_mention",
            SmsRefusal::TooLong { .. } => "too_long",
        }
    }
}

/// What an audience may be built from. Anything else — an answer to the survey, a result code, an
/// opinion, a polling station's vote — is special-category data or derived from it.
pub const ALLOWED_CRITERIA: &[&str] = &["team", "session", "door_follow_up", "volunteers", "consent_list"];

/// A wall-clock time at the recipient's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LocalTime {
    pub day: Day,
    pub hour: u32,
    pub minute: u32,
}

/// The polls close at 20:00 at the latest (the big towns; 18:00 elsewhere, or later by prefect's
/// order): the silence holds until then.
pub const POLLS_CLOSE_HOUR: u32 = 20;
/// Permitted sending hours, local time: from 08:00 to 20:00.
pub const SEND_FROM_HOUR: u32 = 8;
pub const SEND_UNTIL_HOUR: u32 = 20;

/// What the storage knows about one recipient and one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsFacts {
    /// Purposes this number consented to, by text message.
    pub consents: Vec<SmsPurpose>,
    /// On the campaign's opt-out list.
    pub opted_out: bool,
    /// What the audience was built from (see [`ALLOWED_CRITERIA`]).
    pub criteria: Vec<String>,
    /// Known to be under 18.
    pub minor: bool,
    /// The send time at the recipient's (in [`Zone::tz_name`] of [`zone_of`] of their number).
    pub local: LocalTime,
    /// The campaign's polling days.
    pub election_days: Vec<Day>,
    /// How the campaign signs its texts ("Équipe Martin 2026").
    pub sender_name: String,
    /// The most segments a text may take (the campaign's budget).
    pub max_segments: u32,
}

/// A text about to go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SmsDraft {
    /// E.164 (`+33612345678`).
    pub to: String,
    pub body: String,
    pub purpose: SmsPurpose,
}

/// The gate's answer: it may go if `refusals` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SmsVerdict {
    pub refusals: Vec<SmsRefusal>,
    pub encoding: Encoding,
    pub segments: u32,
}

impl SmsVerdict {
    pub fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }
}

/// Whether a text offers to reply STOP: the word STOP, alone, in capitals.
fn mentions_stop(body: &str) -> bool {
    body.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "STOP")
}

/// Every reason a text may not go to this recipient now, and its encoding and length.
pub fn gate(d: &SmsDraft, f: &SmsFacts) -> SmsVerdict {
    let mut no = Vec::new();
    let zone = zone_of(&d.to);
    if zone.is_none() {
        no.push(SmsRefusal::BadNumber);
    }
    // The answer to a STOP goes to the number that said it, at once, and only says it is done.
    let answer = d.purpose == SmsPurpose::StopConfirmation;
    if f.opted_out && !answer {
        no.push(SmsRefusal::OptedOut);
    }
    if !f.consents.contains(&d.purpose) && !answer {
        no.push(SmsRefusal::NoConsent);
    }
    for c in &f.criteria {
        if !ALLOWED_CRITERIA.contains(&c.as_str()) {
            no.push(SmsRefusal::SensitiveAudience { criterion: c.clone() });
        }
    }
    if f.minor {
        no.push(SmsRefusal::Minor);
    }
    let (day, hour) = (f.local.day, f.local.hour);
    if !(SEND_FROM_HOUR..SEND_UNTIL_HOUR).contains(&hour) && !answer {
        no.push(SmsRefusal::QuietHours);
    }
    if day.weekday() == 6 && !answer {
        no.push(SmsRefusal::Sunday);
    }
    if let Some(name) = holiday(zone.unwrap_or(Zone::Metropole), day).filter(|_| !answer) {
        no.push(SmsRefusal::Holiday { name: name.to_string() });
    }
    let silent = f.election_days.iter().any(|vote| day == vote.plus(-1) || (day == *vote && hour < POLLS_CLOSE_HOUR));
    if silent {
        no.push(SmsRefusal::ElectoralSilence);
    }
    let sender = f.sender_name.trim();
    if sender.is_empty() || !d.body.contains(sender) {
        no.push(SmsRefusal::NoSenderIdentity);
    }
    if !mentions_stop(&d.body) && !answer {
        no.push(SmsRefusal::NoStopMention);
    }
    let (encoding, segments) = segments(&d.body);
    if segments > f.max_segments {
        no.push(SmsRefusal::TooLong { segments, max: f.max_segments });
    }
    SmsVerdict { refusals: no, encoding, segments }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SENDER: &str = "Équipe Martin";
    const BODY: &str = "Équipe Martin : rendez-vous samedi 10 h place du marché. STOP au 36180";

    fn day(year: i32, month: u32, d: u32) -> Day {
        Day { year, month, day: d }
    }

    /// A Tuesday afternoon in March 2027, every consent, nothing sensitive: allowed.
    fn ok_facts() -> SmsFacts {
        SmsFacts {
            consents: vec![SmsPurpose::SessionReminder, SmsPurpose::DoorFollowUp],
            opted_out: false,
            criteria: vec!["session".into()],
            minor: false,
            local: LocalTime { day: day(2027, 3, 9), hour: 15, minute: 30 },
            election_days: vec![day(2027, 4, 11), day(2027, 4, 25)],
            sender_name: SENDER.into(),
            max_segments: 2,
        }
    }

    fn draft(to: &str, body: &str) -> SmsDraft {
        SmsDraft { to: to.into(), body: body.into(), purpose: SmsPurpose::SessionReminder }
    }

    fn codes(v: &SmsVerdict) -> Vec<&'static str> {
        v.refusals.iter().map(SmsRefusal::code).collect()
    }

    #[test]
    fn dates_weekdays_and_easter() {
        assert_eq!(day(1970, 1, 1).to_days(), 0);
        assert_eq!(Day::from_days(day(2027, 3, 9).to_days()), day(2027, 3, 9));
        assert_eq!(day(2026, 12, 6).weekday(), 6, "6 December 2026 is a Sunday");
        assert_eq!(day(2027, 3, 9).weekday(), 1, "a Tuesday");
        assert_eq!(easter(2026), day(2026, 4, 5));
        assert_eq!(easter(2027), day(2027, 3, 28));
        assert_eq!(easter(2024), day(2024, 3, 31));
        assert_eq!(day(2024, 2, 28).plus(1), day(2024, 2, 29), "a leap year");
        assert_eq!(day(2027, 2, 28).plus(1), day(2027, 3, 1));
    }

    #[test]
    fn holidays_of_each_territory() {
        let table: &[(Zone, Day, Option<&str>)] = &[
            (Zone::Metropole, day(2027, 7, 14), Some("Fête nationale")),
            (Zone::Metropole, day(2027, 3, 29), Some("Lundi de Pâques")),
            (Zone::Metropole, day(2027, 5, 6), Some("Ascension")),
            (Zone::Metropole, day(2027, 5, 17), Some("Lundi de Pentecôte")),
            (Zone::Metropole, day(2027, 5, 27), None),
            (Zone::Guadeloupe, day(2027, 5, 27), Some("Abolition de l'esclavage")),
            (Zone::Martinique, day(2027, 5, 22), Some("Abolition de l'esclavage")),
            (Zone::Guyane, day(2027, 6, 10), Some("Abolition de l'esclavage")),
            (Zone::Reunion, day(2027, 12, 20), Some("Abolition de l'esclavage")),
            (Zone::Mayotte, day(2027, 4, 27), Some("Abolition de l'esclavage")),
            (Zone::Reunion, day(2027, 5, 27), None),
            (Zone::Polynesie, day(2027, 11, 11), Some("Armistice 1918")),
        ];
        for (z, d, want) in table {
            assert_eq!(holiday(*z, *d), *want, "{z:?} {d:?}");
        }
    }

    #[test]
    fn numbers_and_their_territory() {
        let table: &[(&str, Option<Zone>)] = &[
            ("+33612345678", Some(Zone::Metropole)),
            ("+262692123456", Some(Zone::Reunion)),
            ("+262639123456", Some(Zone::Mayotte)),
            ("+590690123456", Some(Zone::Guadeloupe)),
            ("+596696123456", Some(Zone::Martinique)),
            ("+594694123456", Some(Zone::Guyane)),
            ("+687751234", Some(Zone::NouvelleCaledonie)),
            ("+68987123456", Some(Zone::Polynesie)),
            ("0612345678", None),
            ("+3361234567", None),
            ("+4915112345678", None),
            ("+33 6 12 34 56 78", None),
        ];
        for (n, want) in table {
            assert_eq!(zone_of(n), *want, "{n}");
        }
        assert_eq!(Zone::Guyane.tz_name(), "America/Cayenne");
    }

    #[test]
    fn numbers_as_people_write_them() {
        let table: &[(&str, Option<&str>)] = &[
            ("06 12 34 56 78", Some("+33612345678")),
            ("06.12.34.56.78", Some("+33612345678")),
            ("+33 6 12 34 56 78", Some("+33612345678")),
            ("0033612345678", Some("+33612345678")),
            ("0690 12 34 56", Some("+590690123456")),
            ("0692 12 34 56", Some("+262692123456")),
            ("0639 12 34 56", Some("+262639123456")),
            ("612345678", None),
            ("06 12 34 56", None),
            ("+49 151 1234 5678", None),
            ("06-12-34-56-7x", None),
            ("", None),
        ];
        for (w, want) in table {
            assert_eq!(normalise_number(w).as_deref(), *want, "{w:?}");
        }
    }

    #[test]
    fn encodings_and_segments() {
        let table: &[(String, Encoding, u32)] = &[
            ("a".repeat(160), Encoding::Gsm7, 1),
            ("a".repeat(161), Encoding::Gsm7, 2),
            ("a".repeat(306), Encoding::Gsm7, 2),
            ("a".repeat(307), Encoding::Gsm7, 3),
            ("€".repeat(80), Encoding::Gsm7, 1),
            ("€".repeat(81), Encoding::Gsm7, 2),
            ("Réunion à 10 h, café offert".into(), Encoding::Gsm7, 1),
            (format!("{}🙂", "a".repeat(69)), Encoding::Ucs2, 2),
            (format!("{}🙂", "a".repeat(68)), Encoding::Ucs2, 1),
            ("Cœur de ville".into(), Encoding::Ucs2, 1),
            ("ç".repeat(71), Encoding::Ucs2, 2),
        ];
        for (text, enc, n) in table {
            assert_eq!(segments(text), (*enc, *n), "{text}");
        }
    }

    #[test]
    fn stop_words_alone_opt_out() {
        for yes in ["STOP", "stop", " Stop ! ", "ARRÊT", "arret", "Stop SMS", "stop-sms", "Désabonner", "UNSUBSCRIBE"]
        {
            assert!(is_stop_word(yes), "{yes:?}");
        }
        for no in ["stop, je viens samedi", "Non merci", "STOPPEZ", "je veux arrêter de recevoir", ""] {
            assert!(!is_stop_word(no), "{no:?}");
        }
    }

    /// One row per rule: the facts changed, the refusal expected.
    #[test]
    fn each_rule_of_the_gate() {
        let base = ok_facts();
        let with = |f: &dyn Fn(&mut SmsFacts)| {
            let mut x = base.clone();
            f(&mut x);
            x
        };
        let at = |d: Day, hour: u32| with(&|f| f.local = LocalTime { day: d, hour, minute: 0 });
        let table: Vec<(&str, SmsDraft, SmsFacts, Vec<&str>)> = vec![
            ("everything in order", draft("+33612345678", BODY), base.clone(), vec![]),
            ("a number that is not French", draft("+4915112345678", BODY), base.clone(), vec!["bad_number"]),
            ("on the opt-out list", draft("+33612345678", BODY), with(&|f| f.opted_out = true), vec!["opted_out"]),
            (
                "consent for another purpose only",
                draft("+33612345678", BODY),
                with(&|f| f.consents = vec![SmsPurpose::TeamNews]),
                vec!["no_consent"],
            ),
            (
                "an audience built on survey answers",
                draft("+33612345678", BODY),
                with(&|f| f.criteria = vec!["session".into(), "answer:intent".into()]),
                vec!["sensitive_audience"],
            ),
            ("a minor", draft("+33612345678", BODY), with(&|f| f.minor = true), vec!["minor"]),
            (
                "07:59",
                draft("+33612345678", BODY),
                with(&|f| f.local = LocalTime { day: day(2027, 3, 9), hour: 7, minute: 59 }),
                vec!["quiet_hours"],
            ),
            ("08:00", draft("+33612345678", BODY), at(day(2027, 3, 9), 8), vec![]),
            ("20:00", draft("+33612345678", BODY), at(day(2027, 3, 9), 20), vec!["quiet_hours"]),
            ("a Sunday", draft("+33612345678", BODY), at(day(2027, 3, 14), 11), vec!["sunday"]),
            ("14 July", draft("+33612345678", BODY), at(day(2027, 7, 14), 11), vec!["holiday"]),
            ("27 May in Guadeloupe", draft("+590690123456", BODY), at(day(2027, 5, 27), 11), vec!["holiday"]),
            ("27 May in Paris", draft("+33612345678", BODY), at(day(2027, 5, 27), 11), vec![]),
            (
                "the eve of the vote, 09:00",
                draft("+33612345678", BODY),
                at(day(2027, 4, 10), 9),
                vec!["electoral_silence"],
            ),
            (
                "the vote, 19:00",
                draft("+33612345678", BODY),
                at(day(2027, 4, 12).plus(-1), 19),
                vec!["sunday", "electoral_silence"],
            ),
            ("two days before the vote", draft("+33612345678", BODY), at(day(2027, 4, 9), 19), vec![]),
            ("the day after the vote", draft("+33612345678", BODY), at(day(2027, 4, 12), 9), vec![]),
            (
                "no sender named",
                draft("+33612345678", "Rendez-vous samedi 10 h. STOP au 36180"),
                base.clone(),
                vec!["no_sender_identity"],
            ),
            (
                "no STOP",
                draft("+33612345678", "Équipe Martin : rendez-vous samedi 10 h."),
                base.clone(),
                vec!["no_stop_mention"],
            ),
            (
                "'stop' in lower case is not the mention",
                draft("+33612345678", "Équipe Martin : stop au 36180"),
                base.clone(),
                vec!["no_stop_mention"],
            ),
            (
                "three segments for a budget of two",
                draft("+33612345678", &format!("{BODY} {}", "a".repeat(250))),
                base.clone(),
                vec!["too_long"],
            ),
            (
                "everything wrong at once: all said",
                draft("+33612345678", "Salut 🙂"),
                with(&|f| {
                    f.opted_out = true;
                    f.consents.clear();
                    f.local = LocalTime { day: day(2027, 4, 11), hour: 21, minute: 0 };
                }),
                vec!["opted_out", "no_consent", "quiet_hours", "sunday", "no_sender_identity", "no_stop_mention"],
            ),
            (
                "the answer to a STOP: to the opted-out number, without consent, at night, on a Sunday",
                SmsDraft {
                    to: "+33612345678".into(),
                    body: stop_confirmation(SENDER),
                    purpose: SmsPurpose::StopConfirmation,
                },
                with(&|f| {
                    f.opted_out = true;
                    f.consents.clear();
                    f.local = LocalTime { day: day(2027, 3, 14), hour: 23, minute: 0 };
                }),
                vec![],
            ),
            (
                "the answer to a STOP waits out the L49 silence and names its sender",
                SmsDraft {
                    to: "+33612345678".into(),
                    body: "C'est noté.".into(),
                    purpose: SmsPurpose::StopConfirmation,
                },
                with(&|f| f.local = LocalTime { day: day(2027, 4, 10), hour: 9, minute: 0 }),
                vec!["electoral_silence", "no_sender_identity"],
            ),
        ];
        for (what, d, f, want) in table {
            assert_eq!(codes(&gate(&d, &f)), want, "{what}");
        }
        // The election's eve: the whole day, from midnight.
        assert_eq!(codes(&gate(&draft("+33612345678", BODY), &at(day(2027, 4, 10), 8))), ["electoral_silence"]);
    }

    #[test]
    fn gsm7_both_ways() {
        for text in ["Équipe Martin : 10 h, 5 € ! STOP", "@£$ {ok} [x] ~|^\\ ÄÖÑÜ§¿äöñüà", ""] {
            let bytes = gsm7_encode(text).unwrap();
            assert_eq!(gsm7_decode(&bytes), text);
        }
        assert_eq!(gsm7_encode("STOP").unwrap(), b"STOP", "ASCII letters are themselves");
        assert_eq!(gsm7_encode("é").unwrap(), [0x05]);
        assert_eq!(gsm7_encode("€").unwrap(), [0x1B, 0x65]);
        assert_eq!(gsm7_encode("🙂"), None);
        assert_eq!(gsm7_decode(&[0x1B, 0x00]), "\u{fffd}");
    }

    fn any_day() -> impl Strategy<Value = Day> {
        (0i64..3_650).prop_map(|n| day(2026, 1, 1).plus(n))
    }

    proptest! {
        /// Whatever the time, the day, the consents and the list: the gate never lets a text go
        /// to an opted-out number, without consent for its purpose, outside 08:00–20:00, on a
        /// Sunday or public holiday, or inside the L49 window.
        #[test]
        fn the_gate_never_lets_through_what_the_law_forbids(
            d in any_day(),
            hour in 0u32..24,
            opted_out in any::<bool>(),
            consents in proptest::collection::vec(0u8..3, 0..3),
            purpose in 0u8..3,
            vote_offset in -5i64..5,
            overseas in any::<bool>(),
        ) {
            let purposes = [SmsPurpose::SessionReminder, SmsPurpose::TeamNews, SmsPurpose::DoorFollowUp];
            let f = SmsFacts {
                consents: consents.iter().map(|c| purposes[*c as usize]).collect(),
                opted_out,
                local: LocalTime { day: d, hour, minute: 0 },
                election_days: vec![d.plus(vote_offset)],
                ..ok_facts()
            };
            let to = if overseas { "+590690123456" } else { "+33612345678" };
            let dr = SmsDraft { to: to.into(), body: BODY.into(), purpose: purposes[purpose as usize] };
            let v = gate(&dr, &f);
            if v.allowed() {
                prop_assert!(!opted_out);
                prop_assert!(f.consents.contains(&dr.purpose));
                prop_assert!((8..20).contains(&hour));
                prop_assert!(d.weekday() != 6);
                prop_assert!(holiday(zone_of(to).unwrap(), d).is_none());
                prop_assert!(!(vote_offset == 1 || (vote_offset == 0 && hour < 20)), "L49: {d:?} {hour}h, vote {vote_offset:+}");
            }
        }

        /// A segment count is what a phone would bill: GSM-7 septets or UTF-16 units, in parts.
        #[test]
        fn segments_match_their_definition(s in "[a-z€é🙂 ]{0,400}") {
            let (enc, n) = segments(&s);
            let units: u32 = match enc {
                Encoding::Gsm7 => s.chars().map(|c| if c == '€' { 2 } else { 1 }).sum(),
                Encoding::Ucs2 => s.encode_utf16().count() as u32,
            };
            let (one, part) = if enc == Encoding::Gsm7 { (160, 153) } else { (70, 67) };
            prop_assert_eq!(enc == Encoding::Gsm7, !s.contains('🙂'));
            prop_assert!(n >= 1);
            if units <= one { prop_assert_eq!(n, 1); } else { prop_assert_eq!(n, units.div_ceil(part)); }
        }
    }
}
