//! Arkesel, Ghana (ussd.md §4): JSON in, JSON out, latest input only (L).
//!
//! Request: `{sessionID, userID, newSession, msisdn, userData, network}`.
//! `newSession: true` is the first dial, and its `userData` the dialled
//! string; every later hop's `userData` is what the person typed last.
//! Arkesel sends no service code, so pre-dialled segments cannot be told
//! from the code itself: a first dial carries none (lenient reading; the
//! reference says nothing of pre-dialled input here). Arkesel has no
//! end-of-session request in the reference: a session just stops.
//!
//! Reply, in the reference's field order:
//!
//! ```json
//! { "sessionID": "…", "userID": "…", "msisdn": "233…", "message": "…",
//!   "continueSession": true }
//! ```
//!
//! `continueSession` is `true` to wait for an answer and `false` to end.
//! `userID` and `msisdn` are echoed as the request sent them; since
//! [`Gateway::encode`] is given only the session id, the codec that
//! answers a request is [`Gateway::replying_to`]'s copy, which carries them.

use serde::Serialize;

use super::ghana::{self, text};
use super::{DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen};

/// The Arkesel codec (store-key name `arkesel`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Arkesel;

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(rename = "sessionID")]
    session_id: &'a str,
    #[serde(rename = "userID")]
    user_id: &'a str,
    msisdn: &'a str,
    message: &'a str,
    #[serde(rename = "continueSession")]
    continue_session: bool,
}

/// The codec answering one request: [`Arkesel`] with what its reply echoes.
#[derive(Debug)]
struct Replying {
    user_id: String,
    msisdn: String,
}

impl Gateway for Arkesel {
    fn name(&self) -> &'static str {
        "arkesel"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let object = ghana::object(request)?;
        let session_id = ghana::session_id(&object, "sessionID")?;
        let data = text(&object, "userData");
        let payload = if ghana::flag(&object, "newSession") {
            Payload::Initiation { dialled: data }
        } else {
            // Arkesel numbers no hops, so a repeated delivery cannot be
            // told from the same answer typed again.
            Payload::Latest {
                text: data,
                sequence: None,
            }
        };
        Ok(RawHop {
            session_id,
            phone: ghana::msisdn(&text(&object, "msisdn")),
            service_code: String::new(),
            network: text(&object, "network").trim().to_owned(),
            payload,
        })
    }

    fn encode(&self, screen: &Screen, session_id: &str, _client_state: &str) -> GatewayResponse {
        reply(screen, session_id, "", "")
    }

    fn replying_to(&self, request: &GatewayRequest) -> Option<Box<dyn Gateway>> {
        // An unreadable request is answered without the echo (there is
        // nothing to echo), by `self`.
        let object = ghana::object(request).ok()?;
        Some(Box::new(Replying {
            user_id: text(&object, "userID").trim().to_owned(),
            msisdn: text(&object, "msisdn").trim().to_owned(),
        }))
    }
}

impl Gateway for Replying {
    fn name(&self) -> &'static str {
        Arkesel.name()
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        Arkesel.decode(request)
    }

    fn encode(&self, screen: &Screen, session_id: &str, _client_state: &str) -> GatewayResponse {
        reply(screen, session_id, &self.user_id, &self.msisdn)
    }
}

fn reply(screen: &Screen, session_id: &str, user_id: &str, msisdn: &str) -> GatewayResponse {
    let reply = Reply {
        session_id,
        user_id,
        msisdn,
        message: &screen.text,
        continue_session: !screen.end,
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
