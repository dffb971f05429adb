//! The SMPP 3.4 back-end (issue 19): one transceiver session to the operator's message centre,
//! with rusmpp's PDU codec on the wire. Texts go as `submit_sm` (GSM-7, else UCS-2; a long one
//! in concatenated parts, each asking for a delivery receipt); receipts and replies come back as
//! `deliver_sm` on the same session and wait here until [`SmsProvider::events`] collects them.
//!
//! Never twice: a `submit_sm` written and not answered in time (a timeout, a cut link) is
//! [`SubmitError::Unknown`] — the centre may have taken it; a link that could not be opened or
//! bound, or a `submit_sm` refused as a whole for a passing reason (throttled, queue full, system
//! error), is certain not to have gone. A long text refused after its first part went is
//! `Unknown` as well: part of it reached the phone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rusmpp::extra::concatenation::SubmitSmMultipartExt;
use rusmpp::extra::encoding::ucs2::Ucs2;
use rusmpp::pdus::{BindTransceiver, DeliverSmResp, SubmitSm};
use rusmpp::tlvs::TlvValue;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::{COctetString, EmptyOrFullCOctetString};
use rusmpp::values::{DataCoding, EsmClass, InterfaceVersion, MessageState, Npi, RegisteredDelivery, Ton};
use rusmpp::{Command, CommandStatus, Pdu};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Framed;

use crate::sms_provider::{ProviderEvent, SmsProvider, Submission, SubmitError};

type Waiting = Arc<Mutex<HashMap<u32, oneshot::Sender<Command>>>>;

/// An open, bound session: commands go out through the writer task; answers find their waiter by
/// sequence number.
struct Link {
    out: mpsc::UnboundedSender<Command>,
    waiting: Waiting,
    dead: Arc<std::sync::atomic::AtomicBool>,
    /// The reader owns the socket's read half: stopped with the link, so a link replaced (a dead
    /// session, a provider changed) closes its socket instead of leaving it open on both sides.
    reader: tokio::task::JoinHandle<()>,
}

impl Link {
    fn alive(&self) -> bool {
        !self.dead.load(Ordering::SeqCst) && !self.out.is_closed()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // The writer ends when `out` goes; the reader is stopped here: the socket closes.
        self.reader.abort();
    }
}

/// An SMPP 3.4 message centre.
pub struct Smpp {
    addr: String,
    system_id: String,
    password: String,
    /// The sender: a number or up to 11 letters.
    from: String,
    timeout: Duration,
    link: tokio::sync::Mutex<Option<Link>>,
    events: Arc<Mutex<Vec<ProviderEvent>>>,
    seq: AtomicU32,
}

impl std::fmt::Debug for Smpp {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smpp").field("addr", &self.addr).field("system_id", &self.system_id).finish()
    }
}

/// What an SMPP status means for the text: a French sentence and whether it may be retried.
fn status_error(status: CommandStatus, first_part: bool) -> SubmitError {
    let code = format!("0x{:08X}", u32::from(status));
    let passing = matches!(status, CommandStatus::EsmeRthrottled | CommandStatus::EsmeRmsgqful);
    if !first_part {
        return SubmitError::Unknown(format!("une partie du texte refusée ({code}) après l'envoi des premières"));
    }
    if passing {
        return SubmitError::Throttled { retry_after_s: 5 };
    }
    if status == CommandStatus::EsmeRsyserr {
        return SubmitError::NotSent(format!("erreur du centre de messages ({code})"));
    }
    let message = match status {
        CommandStatus::EsmeRinvdstadr => "numéro invalide",
        CommandStatus::EsmeRinvsrcadr => "expéditeur refusé par l'opérateur",
        CommandStatus::EsmeRinvmsglen => "texte trop long pour l'opérateur",
        _ => "refusé par le centre de messages",
    };
    SubmitError::Rejected { code, message: message.to_string() }
}

fn c_string<const MIN: usize, const MAX: usize>(s: &str) -> Result<COctetString<MIN, MAX>, String> {
    COctetString::from_string(s.to_string()).map_err(|e| format!("{s:?}: {e}"))
}

/// A number as the centre writes it (`33612345678`, international) in E.164.
fn e164(addr: &str) -> String {
    if addr.starts_with('+') { addr.to_string() } else { format!("+{addr}") }
}

/// Decodes a `deliver_sm`'s text: UCS-2 (data coding 8) or the GSM-7 default alphabet.
fn text_of(coding: DataCoding, bytes: &[u8], udh: bool) -> String {
    // A user data header (a concatenated reply's part) comes first: its length, then itself.
    let body = if udh && !bytes.is_empty() { &bytes[(bytes[0] as usize + 1).min(bytes.len())..] } else { bytes };
    if coding == DataCoding::Ucs2 {
        let units: Vec<u16> = body.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        doorstep_protocol::validate::sms::gsm7_decode(body)
    }
}

/// Reads a receipt's text (`id:… sub:… dlvrd:… submit date:… done date:… stat:DELIVRD err:000 …`)
/// and its TLVs: (the receipted text's id, delivered, the error code).
fn receipt_of(d: &rusmpp::pdus::DeliverSm) -> Option<(String, bool, Option<String>)> {
    let text = String::from_utf8_lossy(&d.short_message()[..]).to_string();
    let field = |name: &str| {
        text.split_whitespace().find_map(|w| w.strip_prefix(name).and_then(|r| r.strip_prefix(':')).map(str::to_string))
    };
    let mut id = field("id");
    let mut state = field("stat").map(|s| s == "DELIVRD");
    for tlv in d.tlvs() {
        match tlv.value() {
            Some(TlvValue::ReceiptedMessageId(v)) => id = Some(v.as_str().to_string()),
            Some(TlvValue::MessageState(s)) => state = Some(*s == MessageState::Delivered),
            _ => {}
        }
    }
    let err = field("err").filter(|e| !e.trim_start_matches('0').is_empty());
    Some((id?, state?, err))
}

impl Smpp {
    pub fn new(addr: &str, system_id: &str, password: &str, from: &str, timeout: Duration) -> Smpp {
        Smpp {
            addr: addr.to_string(),
            system_id: system_id.to_string(),
            password: password.to_string(),
            from: from.to_string(),
            timeout,
            link: tokio::sync::Mutex::new(None),
            events: Arc::default(),
            seq: AtomicU32::new(1),
        }
    }

    fn next_seq(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    /// Opens and binds a transceiver session. Any failure here is certain: nothing was submitted.
    async fn open(&self) -> Result<Link, SubmitError> {
        let stream = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(&self.addr))
            .await
            .map_err(|_| SubmitError::NotSent("centre de messages injoignable (délai)".into()))?
            .map_err(|e| SubmitError::NotSent(format!("centre de messages injoignable : {e}")))?;
        let _ = stream.set_nodelay(true);
        let (mut sink, mut stream) = Framed::new(stream, CommandCodec::new()).split();
        let (out, mut queue) = mpsc::unbounded_channel::<Command>();
        let waiting: Waiting = Arc::default();
        let dead = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // The writer: one task owns the socket's write half.
        let dead_w = dead.clone();
        tokio::spawn(async move {
            while let Some(c) = queue.recv().await {
                if sink.send(c).await.is_err() {
                    break;
                }
            }
            dead_w.store(true, Ordering::SeqCst);
        });
        // The reader: answers to their waiters; receipts and replies to the events; the centre's
        // own requests answered.
        let (w, ev, o, dead_r) = (waiting.clone(), self.events.clone(), out.clone(), dead.clone());
        let system_id = self.system_id.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(cmd)) = stream.next().await {
                let seq = cmd.sequence_number();
                match cmd.pdu() {
                    Some(Pdu::DeliverSm(d)) => {
                        let esm = u8::from(d.esm_class);
                        let event = if esm & 0x04 != 0 {
                            receipt_of(d).map(|(provider_id, delivered, code)| ProviderEvent::Receipt {
                                provider_id,
                                delivered,
                                code,
                            })
                        } else {
                            Some(ProviderEvent::Inbound {
                                id: format!("smpp:{system_id}:{}", uuid::Uuid::now_v7()),
                                from: e164(d.source_addr.as_str()),
                                body: text_of(d.data_coding, &d.short_message()[..], esm & 0x40 != 0),
                            })
                        };
                        if let Some(e) = event {
                            ev.lock().unwrap().push(e);
                        }
                        let resp = DeliverSmResp::builder().build();
                        let _ = o.send(Command::new(CommandStatus::EsmeRok, seq, resp));
                    }
                    Some(Pdu::EnquireLink) => {
                        let _ = o.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::EnquireLinkResp));
                    }
                    Some(Pdu::Unbind) => {
                        let _ = o.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp));
                        break;
                    }
                    _ => {
                        if let Some(tx) = w.lock().unwrap().remove(&seq) {
                            let _ = tx.send(cmd);
                        }
                    }
                }
            }
            dead_r.store(true, Ordering::SeqCst);
            // Whoever still waits learns the link is gone (their sender is dropped).
            w.lock().unwrap().clear();
        });
        let link = Link { out, waiting, dead, reader };
        let bind = BindTransceiver::builder()
            .system_id(c_string(&self.system_id).map_err(SubmitError::NotSent)?)
            .password(c_string(&self.password).map_err(SubmitError::NotSent)?)
            .system_type(COctetString::empty())
            .interface_version(InterfaceVersion::Smpp3_4)
            .addr_ton(Ton::Unknown)
            .addr_npi(Npi::Unknown)
            .address_range(COctetString::empty())
            .build();
        let answer = self
            .call(&link, Command::new(CommandStatus::EsmeRok, self.next_seq(), bind))
            .await
            .map_err(|e| SubmitError::NotSent(format!("pas de réponse à l'ouverture de session : {e}")))?;
        if answer.status() != CommandStatus::EsmeRok {
            return Err(SubmitError::NotSent(format!(
                "session refusée par le centre de messages (0x{:08X}) : identifiant ou mot de passe",
                u32::from(answer.status())
            )));
        }
        Ok(link)
    }

    /// Sends a request and waits for its answer (`Err` if the link died or the time ran out; the
    /// request may have left).
    async fn call(&self, link: &Link, cmd: Command) -> Result<Command, String> {
        let (tx, rx) = oneshot::channel();
        let seq = cmd.sequence_number();
        link.waiting.lock().unwrap().insert(seq, tx);
        link.out.send(cmd).map_err(|_| "link closed".to_string())?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(_)) => Err("link closed".into()),
            Err(_) => {
                link.waiting.lock().unwrap().remove(&seq);
                // A centre that does not answer in time: this session is not trusted again.
                link.dead.store(true, Ordering::SeqCst);
                Err(format!("no answer in {} ms", self.timeout.as_millis()))
            }
        }
    }

    fn parts(&self, s: &Submission) -> Result<Vec<SubmitSm>, SubmitError> {
        let bad = |e: String| SubmitError::Rejected { code: "encoding".into(), message: e };
        let to = s.to.trim_start_matches('+');
        let alpha = self.from.chars().any(|c| c.is_ascii_alphabetic());
        let (ton, npi) = if alpha { (Ton::Alphanumeric, Npi::Unknown) } else { (Ton::International, Npi::Isdn) };
        let base = SubmitSm::builder()
            .source_addr_ton(ton)
            .source_addr_npi(npi)
            .source_addr(c_string(self.from.trim_start_matches('+')).map_err(bad)?)
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(c_string(to).map_err(bad)?)
            .esm_class(EsmClass::from(0u8))
            .schedule_delivery_time(EmptyOrFullCOctetString::empty())
            .validity_period(EmptyOrFullCOctetString::empty())
            // A receipt for the final outcome, delivered or not.
            .registered_delivery(RegisteredDelivery::from(1u8))
            .build();
        // The text's reference for its parts: from its outbox id, so each text has its own.
        let reference = s.id.bytes().fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
        base.multipart(&s.body).fallback(Ucs2::new()).reference_u8(reference).build().map_err(|e| bad(e.to_string()))
    }
}

#[async_trait::async_trait]
impl SmsProvider for Smpp {
    fn name(&self) -> &'static str {
        "smpp"
    }

    async fn submit(&self, s: &Submission) -> Result<String, SubmitError> {
        let parts = self.parts(s)?;
        let mut guard = self.link.lock().await;
        if !guard.as_ref().is_some_and(Link::alive) {
            *guard = Some(self.open().await?);
        }
        let link = guard.as_ref().expect("opened");
        let mut first_id = None;
        for (i, part) in parts.into_iter().enumerate() {
            let cmd = Command::new(CommandStatus::EsmeRok, self.next_seq(), part);
            let answer = match self.call(link, cmd).await {
                Ok(a) => a,
                Err(e) => return Err(SubmitError::Unknown(format!("réponse perdue : {e}"))),
            };
            if answer.status() != CommandStatus::EsmeRok {
                return Err(status_error(answer.status(), i == 0));
            }
            if let Some(Pdu::SubmitSmResp(r)) = answer.pdu() {
                first_id.get_or_insert_with(|| r.message_id().as_str().to_string());
            }
        }
        first_id.ok_or_else(|| SubmitError::Unknown("réponse sans identifiant".into()))
    }

    async fn events(&self, _awaiting: &[String]) -> Result<Vec<ProviderEvent>, String> {
        {
            // Replies reach only a bound session: keep one open, and tell the centre it is alive.
            let mut guard = self.link.lock().await;
            if !guard.as_ref().is_some_and(Link::alive) {
                *guard = Some(self.open().await.map_err(|e| e.to_string())?);
            }
            if let Some(link) = guard.as_ref() {
                let _ = link.out.send(Command::new(CommandStatus::EsmeRok, self.next_seq(), Pdu::EnquireLink));
            }
        }
        Ok(std::mem::take(&mut *self.events.lock().unwrap()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_say_whether_a_text_may_have_gone() {
        assert!(matches!(status_error(CommandStatus::EsmeRthrottled, true), SubmitError::Throttled { .. }));
        assert!(matches!(status_error(CommandStatus::EsmeRsyserr, true), SubmitError::NotSent(_)));
        assert!(
            matches!(status_error(CommandStatus::EsmeRinvdstadr, true), SubmitError::Rejected { ref message, .. } if message == "numéro invalide")
        );
        assert!(
            matches!(status_error(CommandStatus::EsmeRthrottled, false), SubmitError::Unknown(_)),
            "a later part refused: the first went"
        );
    }

    #[test]
    fn texts_of_replies() {
        let gsm = doorstep_protocol::validate::sms::gsm7_encode("Arrêt").unwrap_or_default();
        assert_eq!(text_of(DataCoding::McSpecific, b"STOP", false), "STOP");
        assert!(gsm.is_empty(), "ê is not in GSM-7");
        let ucs: Vec<u8> = "Arrêt 🙂".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(text_of(DataCoding::Ucs2, &ucs, false), "Arrêt 🙂");
        assert_eq!(text_of(DataCoding::McSpecific, &[5, 0, 3, 7, 2, 1, b'o', b'k'], true), "ok");
        assert_eq!(e164("33612345678"), "+33612345678");
    }
}
