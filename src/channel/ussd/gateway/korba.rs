//! Korba / Mobiverse (Uzo), Ghana (ussd.md §4): JSON in, JSON out, latest
//! input only (L).
//!
//! Request: `{sessionID, msisdn, ussdString, ussdServiceOp, network, code,
//! country}`. `ussdServiceOp` says what the hop is:
//!
//! | `ussdServiceOp` | hop | payload |
//! |---|---|---|
//! | `1` | first dial; `ussdString` is the dialled string | [`Payload::Initiation`] |
//! | `18` | an answer; `ussdString` is what was typed last | [`Payload::Latest`] |
//! | `29` or more | the session ended | [`Payload::Release`] |
//! | anything else | not in the reference | [`Payload::Unsupported`] |
//!
//! It is read as a number or as numeric text (Mobiverse's own example
//! sends `"1"`). A value the reference does not name is not taken as typed
//! input (it might be an acknowledgement, carrying nothing the person
//! typed): it ends the reply politely and never reaches a flow. Absent or
//! not a number, the hop cannot be told apart from another kind, and is
//! unreadable. `code` is the service code, so a first dial's pre-dialled
//! segments (`*1234*1#` under `*1234#`) are found as for Hubtel.
//!
//! Reply: `{"message": "…", "ussdServiceOp": 2}`, `2` to wait for an answer
//! and `17` to end. Nothing is echoed: the reply answers its own request.

use serde::Serialize;
use serde_json::{Map, Value};

use super::ghana::{self, field, text};
use super::{
    normalise_msisdn, DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop,
    Screen,
};
use crate::channel::ussd::input::normalise_service_code;

/// The Korba / Mobiverse codec (store-key name `korba`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Korba;

/// The first dial.
const BEGIN: u64 = 1;
/// An answer.
const CONTINUE: u64 = 18;
/// This and every value above it: the session ended.
const TERMINATE: u64 = 29;
/// The reply that waits for an answer.
const REPLY_CONTINUE: u64 = 2;
/// The reply that ends the session.
const REPLY_FINAL: u64 = 17;

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
struct Reply<'a> {
    message: &'a str,
    #[serde(rename = "ussdServiceOp")]
    op: u64,
}

/// `ussdServiceOp` as a whole number: a JSON number (`18`, `18.0`) or
/// numeric text (`"18"`). A value too large for a `u64` is still "29 or
/// more". `None` when absent, negative, fractional or not a number.
fn service_op(object: &Map<String, Value>) -> Option<u64> {
    match field(object, "ussdServiceOp")? {
        Value::Number(n) => n.as_u64().or_else(|| whole(n.as_f64()?)),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                // All digits: only an overflow fails to parse.
                Some(s.parse().unwrap_or(u64::MAX))
            } else {
                whole(s.parse().ok()?)
            }
        }
        _ => None,
    }
}

/// A float that is a whole, non-negative number, as a `u64` (saturating).
fn whole(f: f64) -> Option<u64> {
    // `as` saturates at u64::MAX, which is still "29 or more".
    (f.is_finite() && f.fract() == 0.0 && f >= 0.0).then_some(f as u64)
}

impl Gateway for Korba {
    fn name(&self) -> &'static str {
        "korba"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let object = ghana::object(request)?;
        let session_id = ghana::session_id(&object, "sessionID")?;
        let op = service_op(&object)
            .ok_or_else(|| DecodeError("missing or non-numeric ussdServiceOp".to_owned()))?;
        let input = text(&object, "ussdString");
        let payload = match op {
            BEGIN => Payload::Initiation { dialled: input },
            // Korba numbers no hops, so a repeated delivery cannot be told
            // from the same answer typed again.
            CONTINUE => Payload::Latest {
                text: input,
                sequence: None,
            },
            op if op >= TERMINATE => Payload::Release,
            op => Payload::Unsupported(format!("ussdServiceOp {op}")),
        };
        // Mobiverse carries the country: only a Ghanaian session's national
        // number is read as Ghana's. An absent country is Ghana's, this
        // being a Ghanaian gateway.
        let country = text(&object, "country");
        let country = country.trim();
        let raw_phone = text(&object, "msisdn");
        let phone = if country.is_empty() || country.eq_ignore_ascii_case("GH") {
            ghana::msisdn(&raw_phone)
        } else {
            normalise_msisdn(&raw_phone)
        };
        Ok(RawHop {
            session_id,
            phone,
            service_code: normalise_service_code(&text(&object, "code")),
            network: text(&object, "network").trim().to_owned(),
            payload,
        })
    }

    fn encode(&self, screen: &Screen, _session_id: &str, _client_state: &str) -> GatewayResponse {
        let reply = Reply {
            message: &screen.text,
            op: if screen.end {
                REPLY_FINAL
            } else {
                REPLY_CONTINUE
            },
        };
        ghana::json_reply(&reply)
    }
}
