//! DMark Mobile, Uganda (ussd.md §4): query parameters in, JSON out,
//! latest input only (L).
//!
//! Request: a `GET` with `transactionId` (the session), `msisdn`,
//! `ussdServiceCode`, `ussdRequestString`, `response`, `transactionTime`
//! and `creationTime`, in the query string (or a form body). `response`
//! says what the hop is:
//!
//! | `response` | hop | payload |
//! |---|---|---|
//! | `false` | first dial; `ussdRequestString` is what was dialled | [`Payload::Initiation`] |
//! | anything else (`true`) | an answer; `ussdRequestString` is what was typed last | [`Payload::Latest`] |
//!
//! Only `false` is a first dial: an absent or garbled flag reads as an
//! answer, which a session with no state takes as a first screen's answer
//! (it may only pick a bank) and a session with state as input, never as a
//! second first dial that would restart it. A first dial's pre-dialled
//! segments (`*257*1#` under `*257#`) are found against
//! `ussdServiceCode`, which DMark may send without its marks (`257`).
//!
//! The reference marks DMark's history as cumulative or latest (C/L). It
//! is read as latest only: the transport of the reference's source
//! (praekeltfoundation/vumi, `vumi/transports/dmark`) hands
//! `ussdRequestString` to its applications as the hop's message, which
//! they read as the person's last answer. DMark numbers no hops, so a
//! repeated delivery cannot be told from the same answer typed again, and
//! it sends no end-of-session call (the same source: "no way to detect
//! when the user closes the session"): a session just stops, and its flow
//! is offered on the next dial.
//!
//! Reply: `{"responseString": "…", "action": "request"}` to wait for an
//! answer, `"action": "end"` to end. Nothing is echoed.

use std::borrow::Cow;

use serde::Serialize;

use super::msisdn::{national, UGANDA};
use super::{DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen};
use crate::channel::ussd::input::normalise_service_code;

/// The DMark codec (store-key name `dmark`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dmark;

/// The fields this codec reads, by the names of the reference.
#[derive(Debug, Clone, Copy)]
enum Field {
    Transaction,
    Msisdn,
    ServiceCode,
    Request,
    Response,
}

/// How many [`Field`]s there are (`Response` is the last).
const FIELDS: usize = Field::Response as usize + 1;

impl Field {
    fn named(name: &[u8]) -> Option<Field> {
        Some(match name {
            b"transactionId" => Field::Transaction,
            b"msisdn" => Field::Msisdn,
            b"ussdServiceCode" => Field::ServiceCode,
            b"ussdRequestString" => Field::Request,
            b"response" => Field::Response,
            _ => return None,
        })
    }
}

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(rename = "responseString")]
    response_string: &'a str,
    action: &'static str,
}

impl Gateway for Dmark {
    fn name(&self) -> &'static str {
        "dmark"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        // DMark calls by `GET`: the query first, then a form body.
        let values: [Option<Cow<'_, str>>; FIELDS] =
            super::form::first_values([request.query.as_bytes(), &request.body[..]], |name| {
                Field::named(name).map(|field| field as usize)
            });
        let get = |field: Field| values[field as usize].as_deref().unwrap_or_default();
        let session_id = get(Field::Transaction).trim();
        if session_id.is_empty() {
            return Err(DecodeError("missing transactionId".to_owned()));
        }
        let text = get(Field::Request);
        let payload = if get(Field::Response).trim().eq_ignore_ascii_case("false") {
            Payload::Initiation {
                dialled: text.trim().to_owned(),
            }
        } else {
            Payload::Latest {
                text: text.to_owned(),
                sequence: None,
            }
        };
        Ok(RawHop {
            session_id: session_id.to_owned(),
            phone: national(get(Field::Msisdn), UGANDA),
            service_code: normalise_service_code(get(Field::ServiceCode)),
            // DMark names no network.
            network: String::new(),
            payload,
        })
    }

    fn encode(&self, screen: &Screen, _session_id: &str, _client_state: &str) -> GatewayResponse {
        super::json::json_reply(&Reply {
            response_string: &screen.text,
            action: if screen.end { "end" } else { "request" },
        })
    }
}
