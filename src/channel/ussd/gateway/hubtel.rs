//! Hubtel, Ghana (ussd.md §3): JSON in, JSON out, latest input only.
//!
//! Request: `{Mobile, SessionId, ServiceCode, Type, Message, Operator,
//! Sequence, ClientState}`. `Type` is `Initiation | Response | Release |
//! Timeout` in the classic API and lower-case (plus `AddToCart`, `Query`,
//! `Favorite`, …) in Programmable Services, so it is matched
//! case-insensitively; a kind that is none of the four is not a USSD step
//! and is refused (`Payload::Unsupported`), never read as user input. Keys
//! are also matched case-insensitively, so a camelCase client decodes too.
//!
//! Response: `{"Type": "Response" | "Release", "Message", "ClientState"}`.
//! Programmable Services' own reply shape is [`super::hubtel_ps`].

use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    normalise_msisdn, DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop,
    Screen,
};
use crate::channel::ussd::input::normalise_service_code;

/// The Hubtel codec (store-key name `hubtel`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hubtel;

/// The response body, in the field order of Hubtel's documentation.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(rename = "Message")]
    message: &'a str,
    #[serde(rename = "ClientState")]
    client_state: &'a str,
}

/// The value under `key`, compared ASCII-case-insensitively.
pub(super) fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A field as text: strings as they are, numbers in decimal (some clients
/// send `Mobile` or `Message` as a number), anything else or absent as empty.
pub(super) fn text(object: &Map<String, Value>, key: &str) -> String {
    match field(object, key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// `Sequence`: a number or a numeric string; anything else is unknown.
pub(super) fn sequence(object: &Map<String, Value>) -> Option<u64> {
    match field(object, "Sequence")? {
        Value::Number(n) => n.as_u64().or_else(|| {
            // `1.0` from a float-happy serialiser; reject fractions and
            // negatives rather than round them into a wrong hop number.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The parts both Hubtel shapes share: the JSON object, its `SessionId`
/// and its `Type` (trimmed, as sent), each required.
pub(super) fn envelope(
    request: &GatewayRequest,
) -> Result<(Map<String, Value>, String, String), DecodeError> {
    let value: Value = serde_json::from_slice(&request.body)
        .map_err(|e| DecodeError(format!("JSON body: {e}")))?;
    let Value::Object(object) = value else {
        return Err(DecodeError("JSON body is not an object".to_owned()));
    };
    // The session id keys all state: blank would merge strangers.
    let session_id = text(&object, "SessionId").trim().to_owned();
    if session_id.is_empty() {
        return Err(DecodeError("missing SessionId".to_owned()));
    }
    // Without a Type we cannot tell a first dial from an answer or an
    // end; guessing would start or advance the wrong flow.
    let kind = text(&object, "Type").trim().to_owned();
    if kind.is_empty() {
        return Err(DecodeError("missing Type".to_owned()));
    }
    Ok((object, session_id, kind))
}

/// The hop from a decoded request's common fields and its payload.
pub(super) fn hop(object: &Map<String, Value>, session_id: String, payload: Payload) -> RawHop {
    RawHop {
        session_id,
        phone: normalise_msisdn(&text(object, "Mobile")),
        service_code: normalise_service_code(&text(object, "ServiceCode")),
        network: text(object, "Operator").trim().to_owned(),
        payload,
    }
}

impl Gateway for Hubtel {
    fn name(&self) -> &'static str {
        "hubtel"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let (object, session_id, kind) = envelope(request)?;
        let message = text(&object, "Message");
        let payload = match kind.to_ascii_lowercase().as_str() {
            "initiation" => Payload::Initiation { dialled: message },
            "response" => Payload::Latest {
                text: message,
                sequence: sequence(&object),
            },
            "release" => Payload::Release,
            "timeout" => Payload::Timeout,
            // The Programmable Services extras (AddToCart, Query, Favorite,
            // ussd.md §3) sent to this endpoint, and whatever Hubtel adds
            // next: none is what the person typed, and reading one as input
            // would submit a cart or a search string to a PIN form (found
            // in review; `hubtel_ps` refused them already).
            _ => Payload::Unsupported(kind),
        };

        Ok(hop(&object, session_id, payload))
    }

    fn encode(&self, screen: &Screen, _session_id: &str, client_state: &str) -> GatewayResponse {
        let reply = Reply {
            kind: if screen.end { "Release" } else { "Response" },
            message: &screen.text,
            client_state,
        };
        // Serialising three string fields into memory cannot fail (no I/O, no
        // non-string map keys), so the empty fallback is unreachable.
        let body = serde_json::to_vec(&reply).unwrap_or_default();
        GatewayResponse {
            status: 200,
            headers: vec![("content-type", "application/json".to_owned())],
            body,
        }
    }
}
