//! Nalo Solutions, Ghana (ussd.md §4): JSON in, JSON out, latest input
//! only (L).
//!
//! Request: `{USERID, MSISDN, USERDATA, MSGTYPE, NETWORK, SESSIONID}`.
//! `MSGTYPE: true` is the first dial, and its `USERDATA` the dialled
//! string; every later hop's `USERDATA` is what the person typed last.
//! Nalo sends no service code, so pre-dialled segments cannot be told from
//! the code itself: a first dial carries none (lenient reading; the
//! reference says nothing of pre-dialled input here). Nalo has no
//! end-of-session request in the reference: a session just stops.
//!
//! Reply, in the reference's field order:
//!
//! ```json
//! { "USERID": "…", "MSISDN": "233…", "USERDATA": "", "MSG": "…", "MSGTYPE": true }
//! ```
//!
//! `MSGTYPE` is `true` to wait for an answer and `false` to end. `USERID`
//! and `MSISDN` are echoed as the request sent them; since
//! [`Gateway::encode`] is given only the session id, the codec that
//! answers a request is [`Gateway::replying_to`]'s copy, which carries
//! them. The reference lists `USERDATA` in the reply without saying what it
//! holds: it is sent, empty. Echoing the request's `USERDATA` would send
//! back what the person typed, which may be a PIN.

use serde::Serialize;

use super::ghana::{self, text};
use super::{DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen};

/// The Nalo codec (store-key name `nalo`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nalo;

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(rename = "USERID")]
    user_id: &'a str,
    #[serde(rename = "MSISDN")]
    msisdn: &'a str,
    #[serde(rename = "USERDATA")]
    user_data: &'a str,
    #[serde(rename = "MSG")]
    message: &'a str,
    #[serde(rename = "MSGTYPE")]
    continues: bool,
}

/// The codec answering one request: [`Nalo`] with what its reply echoes.
#[derive(Debug)]
struct Replying {
    user_id: String,
    msisdn: String,
}

impl Gateway for Nalo {
    fn name(&self) -> &'static str {
        "nalo"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let object = ghana::object(request)?;
        let session_id = ghana::session_id(&object, "SESSIONID")?;
        let data = text(&object, "USERDATA");
        let payload = if ghana::flag(&object, "MSGTYPE") {
            Payload::Initiation { dialled: data }
        } else {
            // Nalo numbers no hops, so a repeated delivery cannot be told
            // from the same answer typed again.
            Payload::Latest {
                text: data,
                sequence: None,
            }
        };
        Ok(RawHop {
            session_id,
            phone: ghana::msisdn(&text(&object, "MSISDN")),
            service_code: String::new(),
            network: text(&object, "NETWORK").trim().to_owned(),
            payload,
        })
    }

    fn encode(&self, screen: &Screen, _session_id: &str, _client_state: &str) -> GatewayResponse {
        // Nalo's reply names no session: it answers its own request.
        reply(screen, "", "")
    }

    fn replying_to(&self, request: &GatewayRequest) -> Option<Box<dyn Gateway>> {
        // An unreadable request is answered without the echo (there is
        // nothing to echo), by `self`.
        let object = ghana::object(request).ok()?;
        Some(Box::new(Replying {
            user_id: text(&object, "USERID").trim().to_owned(),
            msisdn: text(&object, "MSISDN").trim().to_owned(),
        }))
    }
}

impl Gateway for Replying {
    fn name(&self) -> &'static str {
        Nalo.name()
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        Nalo.decode(request)
    }

    fn encode(&self, screen: &Screen, _session_id: &str, _client_state: &str) -> GatewayResponse {
        reply(screen, &self.user_id, &self.msisdn)
    }
}

fn reply(screen: &Screen, user_id: &str, msisdn: &str) -> GatewayResponse {
    let reply = Reply {
        user_id,
        msisdn,
        user_data: "",
        message: &screen.text,
        continues: !screen.end,
    };
    // Serialising strings and a bool into memory cannot fail, so the
    // empty fallback is unreachable.
    let body = serde_json::to_vec(&reply).unwrap_or_default();
    GatewayResponse {
        status: 200,
        headers: vec![("content-type", "application/json".to_owned())],
        body,
    }
}
