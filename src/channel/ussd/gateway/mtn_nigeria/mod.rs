//! MTN Nigeria (ussd.md §4): XML over a persistent TCP connection that we
//! open, latest input only (L). This file is the codec, pure like every
//! other: one packet in, one packet out. The connection (login, the
//! enquire-link heartbeat, reconnecting) is
//! [`MtnNigeriaLink`](crate::channel::ussd::MtnNigeriaLink)'s.
//!
//! A hop's [`GatewayRequest::body`] is the whole packet, header included
//! (the session id is in the header): a `USSDRequest` of
//!
//! | field | what |
//! |---|---|
//! | `requestId`, `clientId`, `starCode` | echoed in the reply |
//! | `msisdn` | the phone, `234…` |
//! | `msgtype` | `1` a new session, `4` an answer |
//! | `userdata` | on `1` the dialled string (`*123*1#`), on `4` what was typed |
//! | `EndofSession` | `0` the session goes on; `1` (or absent) it ended |
//! | `phase`, `dcs` | `2` and `15` (GSM text) |
//!
//! read as:
//!
//! | `msgtype` | `EndofSession` | payload |
//! |---|---|---|
//! | `1` | any | [`Payload::Initiation`] |
//! | `4` | `0` | [`Payload::Latest`] |
//! | anything else | | [`Payload::Release`] (the reference client's reading: the person or the network ended it) |
//!
//! The reply is a `USSDResponse` with the request's ids, `msgtype` `2` and
//! `EndofSession` `0` to wait for an answer, `6` and `1` to end:
//!
//! ```xml
//! <USSDResponse><requestId>…</requestId><msisdn>…</msisdn><starCode>…</starCode>
//! <clientId>…</clientId><phase>2</phase><msgtype>2</msgtype><dcs>15</dcs>
//! <userdata>…</userdata><EndofSession>0</EndofSession><delvrpt>0</delvrpt></USSDResponse>
//! ```
//!
//! Since [`Gateway::encode`] is given only the session id, the codec that
//! answers a request is [`Gateway::replying_to`]'s copy, which carries the
//! ids to echo.

pub mod packet;
pub(crate) mod protocol;

use super::msisdn::{national, NIGERIA};
use super::{DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen};
use crate::channel::ussd::input::normalise_service_code;
use packet::Packet;

/// The MTN Nigeria codec (store-key name `mtn-ng`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MtnNigeria {
    /// What a reply echoes from its request; empty on the shared codec.
    echo: Echo,
}

/// A request's fields its reply repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Echo {
    request_id: String,
    msisdn: String,
    star_code: String,
    client_id: String,
}

/// The root element of a hop.
pub(crate) const REQUEST: &str = "USSDRequest";
/// The root element of a reply.
pub(crate) const RESPONSE: &str = "USSDResponse";
/// MTN Nigeria's MCC+MNC (ussd.md §1): every hop comes from its network.
const NETWORK: &str = "62130";

impl MtnNigeria {
    /// The codec, and the reply the link sends for a hop it cannot serve
    /// (too many in flight): [`Gateway::encode`] of `screen` echoing
    /// `request`'s ids, or `None` when `request` is no hop.
    pub(crate) fn reply_to(request: &Packet, screen: &Screen) -> Option<Vec<u8>> {
        (request.kind == REQUEST).then(|| {
            let codec = MtnNigeria {
                echo: Echo::of(request),
            };
            codec.encode(screen, &request.session_id, "").body
        })
    }
}

impl Echo {
    fn of(request: &Packet) -> Echo {
        let get = |name| request.field(name).unwrap_or_default().to_owned();
        Echo {
            request_id: get("requestId"),
            msisdn: get("msisdn"),
            star_code: get("starCode"),
            client_id: get("clientId"),
        }
    }
}

impl Gateway for MtnNigeria {
    fn name(&self) -> &'static str {
        "mtn-ng"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let packet = Packet::parse(&request.body).map_err(|e| DecodeError(e.to_string()))?;
        if packet.kind != REQUEST {
            return Err(DecodeError(format!("a {} packet is no hop", packet.kind)));
        }
        let session_id = packet.session_id.trim();
        if session_id.is_empty() {
            return Err(DecodeError("missing session id".to_owned()));
        }
        let get = |name| packet.field(name).unwrap_or_default();
        let userdata = get("userdata");
        // The reference client's defaults: an absent `EndofSession` ends.
        let ended = packet.field("EndofSession").unwrap_or("1") != "0";
        let payload = match get("msgtype") {
            "1" => Payload::Initiation {
                dialled: userdata.to_owned(),
            },
            "4" if !ended => Payload::Latest {
                text: userdata.to_owned(),
                sequence: None,
            },
            _ => Payload::Release,
        };
        Ok(RawHop {
            session_id: session_id.to_owned(),
            phone: national(get("msisdn"), NIGERIA),
            service_code: normalise_service_code(get("starCode")),
            network: NETWORK.to_owned(),
            payload,
        })
    }

    fn encode(&self, screen: &Screen, session_id: &str, _client_state: &str) -> GatewayResponse {
        let (msgtype, end) = if screen.end { ("6", "1") } else { ("2", "0") };
        let echo = &self.echo;
        let body = Packet::new(session_id, RESPONSE)
            .with("requestId", &echo.request_id)
            .with("msisdn", &echo.msisdn)
            .with("starCode", &echo.star_code)
            .with("clientId", &echo.client_id)
            .with("phase", "2")
            .with("msgtype", msgtype)
            // GSM text, the only coding the protocol documents.
            .with("dcs", "15")
            .with("userdata", &screen.text)
            .with("EndofSession", end)
            // Delivery reports are not asked for: their packets are not
            // documented.
            .with("delvrpt", "0")
            .to_bytes();
        GatewayResponse {
            status: 200,
            headers: Vec::new(),
            body,
        }
    }

    fn replying_to(&self, request: &GatewayRequest) -> Option<Box<dyn Gateway>> {
        let packet = Packet::parse(&request.body).ok()?;
        Some(Box::new(MtnNigeria {
            echo: Echo::of(&packet),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(session: &str, fields: &[(&str, &str)]) -> GatewayRequest {
        let mut packet = Packet::new(session, REQUEST);
        for (name, value) in fields {
            packet = packet.with(name, value);
        }
        GatewayRequest {
            body: packet.to_bytes(),
            ..GatewayRequest::default()
        }
    }

    fn hop(session: &str, msgtype: &str, userdata: &str, end: Option<&str>) -> GatewayRequest {
        let mut fields = vec![
            ("requestId", "1291850641"),
            ("msisdn", "2348031234567"),
            ("starCode", "123"),
            ("clientId", "0123"),
            ("phase", "2"),
            ("msgtype", msgtype),
            ("dcs", "15"),
            ("userdata", userdata),
        ];
        if let Some(end) = end {
            fields.push(("EndofSession", end));
        }
        request(session, &fields)
    }

    #[test]
    fn a_dial_an_answer_and_an_end_read_as_the_reference_client_reads_them() {
        let dial = MtnNigeria::default()
            .decode(&hop("77", "1", "*123*4#", Some("0")))
            .unwrap();
        assert_eq!(dial.session_id, "77");
        assert_eq!(dial.phone, "+2348031234567");
        assert_eq!(dial.service_code, "*123#");
        assert_eq!(
            dial.payload,
            Payload::Initiation {
                dialled: "*123*4#".into()
            }
        );
        let answer = MtnNigeria::default()
            .decode(&hop("77", "4", " 2 ", Some("0")))
            .unwrap();
        assert_eq!(
            answer.payload,
            Payload::Latest {
                text: "2".into(),
                sequence: None
            }
        );
        for end in [Some("1"), None] {
            let ended = MtnNigeria::default()
                .decode(&hop("77", "4", "", end))
                .unwrap();
            assert_eq!(ended.payload, Payload::Release, "{end:?}");
        }
        let odd = MtnNigeria::default()
            .decode(&hop("77", "9", "", Some("0")))
            .unwrap();
        assert_eq!(odd.payload, Payload::Release);
    }

    #[test]
    fn a_national_number_is_read_as_nigerian() {
        let request = request(
            "1",
            &[
                ("msisdn", "08031234567"),
                ("msgtype", "1"),
                ("userdata", "*123#"),
            ],
        );
        assert_eq!(
            MtnNigeria::default().decode(&request).unwrap().phone,
            "+2348031234567"
        );
    }

    #[test]
    fn a_reply_echoes_the_request_and_says_whether_it_ends() {
        let request = hop("77", "4", "1", Some("0"));
        let codec = MtnNigeria::default().replying_to(&request).unwrap();
        let on = Screen {
            text: "Enter OTP & go".into(),
            end: false,
            masked: true,
        };
        let reply = Packet::parse(&codec.encode(&on, "77", "").body).unwrap();
        assert_eq!(reply.session_id, "77");
        assert_eq!(reply.kind, RESPONSE);
        let names: Vec<&str> = reply.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "requestId",
                "msisdn",
                "starCode",
                "clientId",
                "phase",
                "msgtype",
                "dcs",
                "userdata",
                "EndofSession",
                "delvrpt"
            ]
        );
        for (name, want) in [
            ("requestId", "1291850641"),
            ("msisdn", "2348031234567"),
            ("starCode", "123"),
            ("clientId", "0123"),
            ("msgtype", "2"),
            ("userdata", "Enter OTP & go"),
            ("EndofSession", "0"),
        ] {
            assert_eq!(reply.field(name), Some(want), "{name}");
        }
        let end = Screen {
            text: "Bye".into(),
            end: true,
            masked: false,
        };
        let reply = Packet::parse(&codec.encode(&end, "77", "").body).unwrap();
        assert_eq!(
            (reply.field("msgtype"), reply.field("EndofSession")),
            (Some("6"), Some("1"))
        );
    }

    #[test]
    fn what_is_no_hop_is_unreadable() {
        let not_a_hop = GatewayRequest {
            body: Packet::new("1", "ENQRequest")
                .with("enqCmd", "ENQUIRELINK")
                .to_bytes(),
            ..GatewayRequest::default()
        };
        assert!(MtnNigeria::default().decode(&not_a_hop).is_err());
        let mut no_session = hop("", "1", "*123#", Some("0"));
        no_session.body[..16].fill(0);
        assert!(MtnNigeria::default().decode(&no_session).is_err());
        let garbage = GatewayRequest {
            body: b"hello".to_vec(),
            ..GatewayRequest::default()
        };
        assert!(MtnNigeria::default().decode(&garbage).is_err());
        assert!(MtnNigeria::default().replying_to(&garbage).is_none());
    }
}
