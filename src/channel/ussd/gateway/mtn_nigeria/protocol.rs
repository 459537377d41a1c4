//! One connection of MTN Nigeria's XML over TCP, without the socket: what
//! to send, what is a hop for the USSD service, when the link is dead.
//!
//! Anchor: quinn-proto's `Connection`. Bytes and timeouts go in
//! ([`Protocol::handle_frame`], [`Protocol::handle_timeout`], each given
//! `now`); what to do comes out, drained in this order after each input:
//!
//! 1. [`Protocol::ended`]: once set the connection is over (close it; a new
//!    one starts a new `Protocol`), and nothing else is returned;
//! 2. [`Protocol::poll_transmit`]: packets to write, in order (the login
//!    from the start; an enquiry when one falls due; answers to the
//!    server's enquiries and refusals of packets it should not send);
//! 3. [`Protocol::poll_hop`]: `USSDRequest`s, once logged in, for the USSD
//!    service (whose replies the driver writes as they come);
//! 4. [`Protocol::poll_timeout`]: when to call `handle_timeout` next: the
//!    login's or an enquiry's answer is due, or the next enquiry.
//!
//! The protocol (vumi's `xml_over_tcp.py`): we log in with `AUTHRequest`
//! and wait for `AUTHResponse` (`AUTHError`: refused). Then every
//! `enquire_every` we send `ENQRequest` and expect `ENQResponse` within
//! `enquire_timeout` (at most `enquire_every`), and answer the server's
//! `ENQRequest`s. A packet other than the login's answers before login, or
//! of a kind the protocol does not have, is refused with `USSDError` (`207`,
//! `208`). A body that is not XML is refused too, and the connection goes
//! on: its header said where the next packet starts. A header that does
//! not is the end of the connection.

use super::packet::{self, Packet, PacketError};
use super::REQUEST;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long the server has to answer the login.
pub(crate) const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The account the link logs in with.
pub(crate) struct Login<'a> {
    /// `userName`.
    pub(crate) username: &'a str,
    /// `passWord` (sent as the protocol has it: in the clear, over the
    /// connection MTN provisions).
    pub(crate) password: &'a str,
    /// `applicationId`.
    pub(crate) application_id: &'a str,
}

/// Why a connection is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// `AUTHError`: the account was refused (its code and meaning).
    Refused(String),
    /// The login or an enquiry went unanswered.
    Silent(&'static str),
    /// A packet's header was unreadable: where the next one starts is lost.
    OutOfStep,
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Refused(why) => write!(f, "login refused: {why}"),
            End::Silent(what) => write!(f, "no answer to the {what}"),
            End::OutOfStep => f.write_str("a packet's header was unreadable"),
        }
    }
}

/// A `USSDRequest`: the packet as it came (the codec's input) and read.
pub(crate) struct Hop {
    /// The whole packet, header included.
    pub(crate) frame: Vec<u8>,
    /// The same, read.
    pub(crate) packet: Packet,
}

/// Debug without the raw packet, whose `userdata` may be a PIN.
impl std::fmt::Debug for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hop")
            .field("packet", &self.packet)
            .finish_non_exhaustive()
    }
}

/// The fields a hop cannot be served without: the id its reply echoes, the
/// phone its session is bound to, and what kind of hop it is. (The
/// reference client refuses a hop missing any of its eight fields; the
/// others are only echoed or fixed, so a hop without them is still served.)
const HOP_NEEDS: [&str; 3] = ["requestId", "msisdn", "msgtype"];

/// One connection's protocol state.
pub(crate) struct Protocol {
    logged_in: bool,
    /// The login's or the last enquiry's answer is due by then.
    answer_by: Option<Instant>,
    /// The next enquiry (once logged in).
    next_enquiry: Option<Instant>,
    enquire_every: Duration,
    enquire_timeout: Duration,
    /// Request and dummy session ids: numbers, as the protocol wants,
    /// counted from a random start (unique on the connection).
    next_id: u64,
    transmit: VecDeque<Vec<u8>>,
    hops: VecDeque<Hop>,
    ended: Option<End>,
}

/// The error codes of the protocol (vumi's table), for the log.
fn meaning(code: &str) -> &'static str {
    match code {
        "001" => "invalid user name or password",
        "002" => "buffer overflow",
        "200" => "no free dialogs",
        "202" => "subscriber not reachable",
        "203" => "timer expiry",
        "204" => "subscriber blacklisted",
        "205" => "service not configured",
        "206" => "network error",
        "207" => "unknown error",
        "208" => "invalid message",
        "209" => "subscriber terminated the session",
        "210" => "incomplete menu",
        "211" => "ER not running",
        "212" => "timeout waiting for response from ER",
        _ => "unknown code",
    }
}

impl Protocol {
    /// A new connection's protocol: its login is the first packet to send.
    /// `seed` starts its ids (a random number, so two connections' ids differ).
    pub(crate) fn new(
        now: Instant,
        login: &Login<'_>,
        enquire_every: Duration,
        enquire_timeout: Duration,
        seed: u64,
    ) -> Protocol {
        let mut protocol = Protocol {
            logged_in: false,
            answer_by: now.checked_add(LOGIN_TIMEOUT),
            next_enquiry: None,
            enquire_every,
            enquire_timeout: enquire_timeout.min(enquire_every),
            next_id: seed,
            transmit: VecDeque::new(),
            hops: VecDeque::new(),
            ended: None,
        };
        let request_id = protocol.request_id();
        let session = protocol.dummy_session();
        protocol.send(
            Packet::new(&session, "AUTHRequest")
                .with("requestId", &request_id)
                .with("userName", login.username)
                .with("passWord", login.password)
                .with("applicationId", login.application_id),
        );
        protocol
    }

    /// Whether the server accepted the login.
    pub(crate) fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// One whole packet from the stream (as [`packet::frame_len`] cut it).
    pub(crate) fn handle_frame(&mut self, now: Instant, frame: Vec<u8>) {
        if self.ended.is_some() {
            return;
        }
        let packet = match Packet::parse(&frame) {
            Ok(packet) => packet,
            Err(PacketError::Body(why)) => {
                tracing::warn!(gateway = "mtn-ng", error = %why, "unreadable packet refused");
                let session = packet::session_of(&frame);
                self.refuse(&session, None, "208");
                return;
            }
            Err(PacketError::Length | PacketError::Short) => {
                self.ended = Some(End::OutOfStep);
                return;
            }
        };
        match packet.kind.as_str() {
            // Once logged in, another would clear an enquiry's deadline.
            "AUTHResponse" if self.logged_in => {
                tracing::debug!(gateway = "mtn-ng", "a second login answer ignored");
            }
            "AUTHResponse" => {
                self.logged_in = true;
                self.answer_by = None;
                self.next_enquiry = Some(now);
            }
            "AUTHError" => {
                let code = packet.field("errorCode").unwrap_or_default();
                self.ended = Some(End::Refused(format!("{code} ({})", meaning(code))));
            }
            "USSDError" => {
                let code = packet.field("errorCode").unwrap_or_default();
                tracing::warn!(
                    gateway = "mtn-ng",
                    code,
                    meaning = meaning(code),
                    message = packet.field("errorMsg").unwrap_or_default(),
                    "the server reported an error"
                );
            }
            _ if !self.logged_in => {
                let request = packet.field("requestId").map(str::to_owned);
                self.refuse(&packet.session_id, request.as_deref(), "207");
            }
            REQUEST => {
                let missing = HOP_NEEDS
                    .iter()
                    .find(|name| packet.field(name).is_none_or(|v| v.is_empty()));
                if let Some(missing) = missing {
                    tracing::warn!(
                        gateway = "mtn-ng",
                        field = missing,
                        "a hop without a field it needs refused"
                    );
                    let request = packet.field("requestId").map(str::to_owned);
                    self.refuse(&packet.session_id, request.as_deref(), "208");
                } else {
                    self.hops.push_back(Hop { frame, packet });
                }
            }
            "ENQRequest" => {
                let request = packet.field("requestId").unwrap_or_default();
                self.send(
                    Packet::new(&packet.session_id, "ENQResponse")
                        .with("requestId", request)
                        .with("enqCmd", "ENQUIRELINKRSP"),
                );
            }
            "ENQResponse" => self.answer_by = None,
            // What the server sends when we answer a session it has closed.
            "USSDResponse" => {
                tracing::debug!(
                    gateway = "mtn-ng",
                    "a response for a closed session ignored"
                );
            }
            other => {
                tracing::warn!(gateway = "mtn-ng", kind = %other.chars().take(40).collect::<String>(),
                    "a packet of an unknown kind refused");
                let request = packet.field("requestId").map(str::to_owned);
                self.refuse(&packet.session_id, request.as_deref(), "208");
            }
        }
    }

    /// Time has passed: an answer overdue ends the connection; an enquiry
    /// due is sent.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.ended.is_some() {
            return;
        }
        if self.answer_by.is_some_and(|by| now >= by) {
            let what = if self.logged_in {
                "enquire link"
            } else {
                "login"
            };
            self.ended = Some(End::Silent(what));
            return;
        }
        if self.next_enquiry.is_some_and(|at| now >= at) {
            let request_id = self.request_id();
            let session = self.dummy_session();
            self.send(
                Packet::new(&session, "ENQRequest")
                    .with("requestId", &request_id)
                    .with("enqCmd", "ENQUIRELINK"),
            );
            self.answer_by = now.checked_add(self.enquire_timeout);
            self.next_enquiry = now.checked_add(self.enquire_every);
        }
    }

    /// Why the connection is over, once it is.
    pub(crate) fn ended(&self) -> Option<&End> {
        self.ended.as_ref()
    }

    /// The next packet to write.
    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.ended.is_some() {
            return None;
        }
        self.transmit.pop_front()
    }

    /// The next hop for the USSD service.
    pub(crate) fn poll_hop(&mut self) -> Option<Hop> {
        if self.ended.is_some() {
            return None;
        }
        self.hops.pop_front()
    }

    /// When [`Protocol::handle_timeout`] next has something to do.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.ended.is_some() {
            return None;
        }
        match (self.answer_by, self.next_enquiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn send(&mut self, packet: Packet) {
        self.transmit.push_back(packet.to_bytes());
    }

    /// `USSDError` with `code` for a packet of `session`.
    fn refuse(&mut self, session: &str, request: Option<&str>, code: &str) {
        let request_id = match request {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => self.request_id(),
        };
        let session = if session.is_empty() {
            self.dummy_session()
        } else {
            session.to_owned()
        };
        self.send(
            Packet::new(&session, "USSDError")
                .with("requestId", &request_id)
                .with("errorCode", code),
        );
    }

    /// A request id: at most 10 digits.
    fn request_id(&mut self) -> String {
        self.next_id = self.next_id.wrapping_add(1);
        (self.next_id % 10_000_000_000).to_string()
    }

    /// A session id for a packet of no session (login, enquiry): 16 digits.
    fn dummy_session(&mut self) -> String {
        self.next_id = self.next_id.wrapping_add(1);
        format!("{:016}", self.next_id % 10_000_000_000_000_000)
    }
}

/// Cuts whole packets from the front of `stream` into `protocol`; stops at
/// the first unreadable header (the protocol then says it ended).
pub(crate) fn feed(protocol: &mut Protocol, now: Instant, stream: &mut Vec<u8>) {
    loop {
        match packet::frame_len(stream) {
            Ok(Some(len)) => {
                let frame: Vec<u8> = stream.drain(..len).collect();
                protocol.handle_frame(now, frame);
            }
            Ok(None) => return,
            Err(_) => {
                protocol.ended = Some(End::OutOfStep);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
