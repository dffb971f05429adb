//! An SMPP 3.4 message centre on loopback, for tests and the demo (issue 19): it binds
//! transceivers that give its system id and password, answers `submit_sm` as the test scripts
//! ([`Mode`]), joins concatenated parts back into one text, sends a delivery receipt
//! (`deliver_sm` with the receipt flag, `receipted_message_id` and `message_state`) for each text
//! it took, and delivers phones' replies as `deliver_sm` on the bound session. Same codec as the
//! server (rusmpp), written from the SMPP 3.4 specification's side of the message centre.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiverResp, DeliverSm, SubmitSm, SubmitSmResp};
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, MessageState, Npi, Ton};
use rusmpp::{Command, CommandStatus, Pdu};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

use crate::sms_double::{Mode, Script, SmsDouble};

#[derive(Debug, Default)]
struct Centre {
    script: Script,
    /// Parts of long texts waiting for the rest, by (to, reference).
    parts: HashMap<(String, u8), Vec<Option<String>>>,
    /// The bound sessions' outgoing queues (replies go to the latest).
    sessions: Vec<mpsc::UnboundedSender<Command>>,
    next_id: u32,
    seq: u32,
    binds: u32,
}

#[derive(Debug, Clone)]
pub struct SmppDouble {
    pub addr: String,
    pub system_id: String,
    pub password: String,
    centre: Arc<Mutex<Centre>>,
}

/// The text of a `submit_sm` part: (its UDH's reference, part number, total) and the words.
fn decode(sm: &SubmitSm) -> (Option<(u8, u8, u8)>, String) {
    let bytes: &[u8] = &sm.short_message()[..];
    let udhi = u8::from(sm.esm_class) & 0x40 != 0;
    let (udh, body) = if udhi && !bytes.is_empty() {
        let n = bytes[0] as usize + 1;
        let h = &bytes[..n.min(bytes.len())];
        // IEI 0x00: 8-bit reference concatenation (length 3: reference, total, number).
        let c = (h.len() >= 6 && h[1] == 0).then(|| (h[3], h[4], h[5]));
        (c, &bytes[n.min(bytes.len())..])
    } else {
        (None, bytes)
    };
    let text = if sm.data_coding == DataCoding::Ucs2 {
        let units: Vec<u16> = body.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        doorstep_protocol::validate::sms::gsm7_decode(body)
    };
    (udh, text)
}

fn deliver(
    source: &str,
    text: Vec<u8>,
    coding: DataCoding,
    esm: u8,
    tlvs: Vec<MessageDeliveryRequestTlvValue>,
) -> DeliverSm {
    DeliverSm::builder()
        .source_addr_ton(Ton::International)
        .source_addr_npi(Npi::Isdn)
        .source_addr(COctetString::from_string(source.to_string()).unwrap())
        .dest_addr_ton(Ton::Alphanumeric)
        .dest_addr_npi(Npi::Unknown)
        .destination_addr(COctetString::from_string("EquipeMartin".into()).unwrap())
        .esm_class(EsmClass::from(esm))
        .data_coding(coding)
        .short_message(OctetString::from_vec(text).unwrap())
        .tlvs(tlvs)
        .build()
}

impl SmppDouble {
    pub async fn start() -> SmppDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let d = SmppDouble {
            addr: listener.local_addr().unwrap().to_string(),
            system_id: "doorstep".into(),
            password: "secret12".into(),
            centre: Arc::default(),
        };
        let me = d.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.session(stream).await });
            }
        });
        d
    }

    /// How many sessions bound (a reconnect shows as a second bind).
    pub fn binds(&self) -> u32 {
        self.centre.lock().unwrap().binds
    }

    fn next_seq(&self) -> u32 {
        let mut c = self.centre.lock().unwrap();
        c.seq += 1;
        c.seq
    }

    async fn session(&self, stream: tokio::net::TcpStream) {
        let _ = stream.set_nodelay(true);
        let (mut sink, mut stream) = Framed::new(stream, CommandCodec::new()).split();
        let (out, mut queue) = mpsc::unbounded_channel::<Command>();
        tokio::spawn(async move {
            while let Some(c) = queue.recv().await {
                if sink.send(c).await.is_err() {
                    break;
                }
            }
        });
        while let Some(Ok(cmd)) = stream.next().await {
            let seq = cmd.sequence_number();
            match cmd.pdu() {
                Some(Pdu::BindTransceiver(b)) => {
                    let ok = b.system_id.as_str() == self.system_id && b.password.as_str() == self.password;
                    let status = if ok { CommandStatus::EsmeRok } else { CommandStatus::EsmeRinvpaswd };
                    let resp = BindTransceiverResp::builder()
                        .system_id(COctetString::from_string("DoubleSMSC".into()).unwrap())
                        .build();
                    let _ = out.send(Command::new(status, seq, resp));
                    if !ok {
                        return;
                    }
                    let mut c = self.centre.lock().unwrap();
                    c.binds += 1;
                    c.sessions.push(out.clone());
                }
                Some(Pdu::SubmitSm(sm)) => {
                    let mode = self.centre.lock().unwrap().script.next();
                    let status = match &mode {
                        Mode::Throttle => Some(CommandStatus::EsmeRthrottled),
                        Mode::RejectNumber => Some(CommandStatus::EsmeRinvdstadr),
                        Mode::Unavailable => Some(CommandStatus::EsmeRmsgqful),
                        Mode::Fail => Some(CommandStatus::EsmeRsyserr),
                        _ => None,
                    };
                    if let Some(st) = status {
                        let _ = out.send(Command::new(st, seq, SubmitSmResp::builder().build()));
                        continue;
                    }
                    let id = self.take(sm);
                    let resp =
                        SubmitSmResp::builder().message_id(COctetString::from_string(id.clone()).unwrap()).build();
                    let delivered = mode != Mode::AcceptUndelivered;
                    let (out2, me) = (out.clone(), self.clone());
                    let wants_receipt = u8::from(sm.registered_delivery) & 0x03 != 0;
                    tokio::spawn(async move {
                        if let Mode::TakeThenHang(wait) = mode {
                            tokio::time::sleep(wait).await;
                        }
                        let _ = out2.send(Command::new(CommandStatus::EsmeRok, seq, resp));
                        if wants_receipt {
                            me.receipt(&out2, &id, delivered);
                        }
                    });
                }
                Some(Pdu::EnquireLink) => {
                    let _ = out.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::EnquireLinkResp));
                }
                Some(Pdu::Unbind) => {
                    let _ = out.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp));
                    break;
                }
                // deliver_sm_resp, enquire_link_resp: nothing to do.
                _ => {}
            }
        }
        // The peer left: this session's writer goes too (its socket closes).
        self.centre.lock().unwrap().sessions.retain(|s| !s.same_channel(&out));
    }

    /// Records a part; a text is taken when its last part arrives. Returns the part's message id.
    fn take(&self, sm: &SubmitSm) -> String {
        let (udh, text) = decode(sm);
        let to = format!("+{}", sm.destination_addr.as_str());
        let from = sm.source_addr.as_str().to_string();
        let mut c = self.centre.lock().unwrap();
        c.next_id += 1;
        let id = format!("smsc-{:06}", c.next_id);
        match udh {
            None => c.script.taken.push((to, from, text)),
            Some((reference, total, number)) => {
                let slot = c.parts.entry((to.clone(), reference)).or_insert_with(|| vec![None; total as usize]);
                if let Some(p) = slot.get_mut(number as usize - 1) {
                    *p = Some(text);
                }
                if slot.iter().all(Option::is_some) {
                    let whole: String = slot.iter().flatten().cloned().collect();
                    c.parts.remove(&(to.clone(), reference));
                    c.script.taken.push((to, from, whole));
                }
            }
        }
        id
    }

    fn receipt(&self, out: &mpsc::UnboundedSender<Command>, id: &str, delivered: bool) {
        let stat = if delivered { "DELIVRD" } else { "UNDELIV" };
        let err = if delivered { "000" } else { "001" };
        let text = format!(
            "id:{id} sub:001 dlvrd:00{} submit date:2612081500 done date:2612081500 stat:{stat} err:{err} text:",
            u8::from(delivered)
        );
        let state = if delivered { MessageState::Delivered } else { MessageState::Undeliverable };
        let tlvs = vec![
            MessageDeliveryRequestTlvValue::ReceiptedMessageId(COctetString::from_string(id.to_string()).unwrap()),
            MessageDeliveryRequestTlvValue::MessageState(state),
        ];
        let d = deliver("33700000000", text.into_bytes(), DataCoding::McSpecific, 0x04, tlvs);
        let _ = out.send(Command::new(CommandStatus::EsmeRok, self.next_seq(), d));
    }
}

#[async_trait::async_trait]
impl SmsDouble for SmppDouble {
    fn kind(&self) -> &'static str {
        "smpp"
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({"kind": "smpp", "endpoint": self.addr, "account": self.system_id,
            "sender": "EqMartin", "secret": self.password, "price_millicents": 4_500})
    }
    fn then(&self, modes: &[Mode]) {
        self.centre.lock().unwrap().script.modes.extend_from_slice(modes);
    }
    fn taken_since(&self, from: usize) -> Vec<(String, String, String)> {
        self.centre.lock().unwrap().script.taken.get(from..).unwrap_or_default().to_vec()
    }
    fn requests(&self) -> u32 {
        self.centre.lock().unwrap().script.requests
    }
    async fn reply(&self, from: &str, body: &str) {
        let (bytes, coding) = match doorstep_protocol::validate::sms::gsm7_encode(body) {
            Some(b) => (b, DataCoding::McSpecific),
            None => (body.encode_utf16().flat_map(u16::to_be_bytes).collect(), DataCoding::Ucs2),
        };
        let d = deliver(from.trim_start_matches('+'), bytes, coding, 0, vec![]);
        let cmd = Command::new(CommandStatus::EsmeRok, self.next_seq(), d);
        // The latest bound session gets it (the message centre holds it until one binds).
        for _ in 0..200 {
            let session = self.centre.lock().unwrap().sessions.iter().rev().find(|s| !s.is_closed()).cloned();
            if let Some(s) = session {
                s.send(cmd).unwrap();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no session bound to deliver the reply to");
    }
}
