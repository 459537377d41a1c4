//! HollaTags, Nigeria (ussd.md §4): query parameters in, JSON out, latest
//! input only (L).
//!
//! Request: a `GET` with `session_id`, `session_msisdn` (international,
//! `234…`), `session_operation`, `session_msg` (at most 160 characters),
//! `session_from` (the USSD code), `session_type` and `session_mno` (the
//! network: `MTN`, `AIRTEL`, `GLO`, `9MOBILE`), in the query string; HollaTags'
//! own example sends them as a form body on its `GET`, which is read too.
//! `session_operation` says what the hop is:
//!
//! | `session_operation` | hop | payload |
//! |---|---|---|
//! | `begin` | first dial | [`Payload::Initiation`] |
//! | `continue` | an answer; `session_msg` is what was typed last | [`Payload::Latest`] |
//! | `end` | the session ended | [`Payload::Release`] |
//! | anything else | not in the reference | [`Payload::Unsupported`] |
//!
//! Case and surrounding spaces do not matter. Absent, the hop cannot be
//! told apart from another kind, and is unreadable. On a first dial the
//! dialled string is `session_msg` when it is shaped like a dialled code
//! (`*347*100*1#`, its `#` perhaps lost from the query) and `session_from` otherwise (the reference does not say
//! what a `begin`'s message holds); pre-dialled segments are what it adds
//! to `session_from`. HollaTags numbers no hops, so a repeated delivery
//! cannot be told from the same answer typed again.
//!
//! Reply, "with the same keys":
//!
//! ```json
//! { "session_operation": "continue", "session_type": 1,
//!   "session_id": "…", "session_msg": "…" }
//! ```
//!
//! `continue` with `session_type` 1 (a reply is required) to wait for an
//! answer; `end` with `session_type` 4 (notify and end) to end. The
//! session id is echoed.

use std::borrow::Cow;

use serde::Serialize;

use super::msisdn::{national, NIGERIA};
use super::{DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen};
use crate::channel::ussd::input::{is_dialled_code, normalise_service_code};

/// The HollaTags codec (store-key name `hollatags`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HollaTags;

/// The fields this codec reads, by the names of the reference.
#[derive(Debug, Clone, Copy)]
enum Field {
    Session,
    Msisdn,
    Operation,
    Message,
    From,
    Network,
}

/// How many [`Field`]s there are (`Network` is the last).
const FIELDS: usize = Field::Network as usize + 1;

impl Field {
    fn named(name: &[u8]) -> Option<Field> {
        Some(match name {
            b"session_id" => Field::Session,
            b"session_msisdn" => Field::Msisdn,
            b"session_operation" => Field::Operation,
            b"session_msg" => Field::Message,
            b"session_from" => Field::From,
            b"session_mno" => Field::Network,
            _ => return None,
        })
    }
}

/// `session_type` of a reply that waits for an answer.
const REQUIRE_REPLY: u8 = 1;
/// `session_type` of a reply that ends the session.
const NOTIFY_AND_END: u8 = 4;

/// The reply body, in the field order of the reference's example.
#[derive(Serialize)]
struct Reply<'a> {
    session_operation: &'static str,
    session_type: u8,
    session_id: &'a str,
    session_msg: &'a str,
}

impl Gateway for HollaTags {
    fn name(&self) -> &'static str {
        "hollatags"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let values: [Option<Cow<'_, str>>; FIELDS] =
            super::form::first_values([request.query.as_bytes(), &request.body[..]], |name| {
                Field::named(name).map(|field| field as usize)
            });
        let get = |field: Field| values[field as usize].as_deref().unwrap_or_default();
        let session_id = get(Field::Session).trim();
        if session_id.is_empty() {
            return Err(DecodeError("missing session_id".to_owned()));
        }
        let operation = get(Field::Operation).trim();
        let message = get(Field::Message);
        let from = get(Field::From).trim();
        let payload = if operation.eq_ignore_ascii_case("begin") {
            let dialled = if is_dialled_code(message.trim()) {
                message.trim()
            } else {
                from
            };
            Payload::Initiation {
                dialled: dialled.to_owned(),
            }
        } else if operation.eq_ignore_ascii_case("continue") {
            Payload::Latest {
                text: message.to_owned(),
                sequence: None,
            }
        } else if operation.eq_ignore_ascii_case("end") {
            Payload::Release
        } else if operation.is_empty() {
            return Err(DecodeError("missing session_operation".to_owned()));
        } else {
            Payload::Unsupported(format!("session_operation {operation}"))
        };
        Ok(RawHop {
            session_id: session_id.to_owned(),
            phone: national(get(Field::Msisdn), NIGERIA),
            service_code: normalise_service_code(from),
            network: get(Field::Network).trim().to_owned(),
            payload,
        })
    }

    fn encode(&self, screen: &Screen, session_id: &str, _client_state: &str) -> GatewayResponse {
        let (session_operation, session_type) = if screen.end {
            ("end", NOTIFY_AND_END)
        } else {
            ("continue", REQUIRE_REPLY)
        };
        super::json::json_reply(&Reply {
            session_operation,
            session_type,
            session_id,
            session_msg: &screen.text,
        })
    }
}
