//! Africa's Talking (ussd.md §1) and the Kenyan clones that copy it.
//!
//! Request: form fields `sessionId`, `serviceCode`, `phoneNumber`,
//! `networkCode`, `text` (cumulative input joined with `*`), POSTed as
//! `application/x-www-form-urlencoded`. Clones send the same fields in the
//! query string (GET) and/or with snake_case names (`session_id`, `msisdn`,
//! `ussd_string`, `service_code`, `network_code`), so decoding looks in the
//! body first, then in the query, under every known name. Safaricom's
//! direct interface (ussd.md §4) is the same protocol under its own names:
//! a `GET` with `SESSION_ID`, `ORIG` (the phone), `DEST` (the service
//! code) and `USSD_PARAMS` (the cumulative input, pre-dialled segments
//! first), answered `CON …` / `END …`.
//!
//! Response: `200 text/plain`, body `CON <text>` (continue) or `END <text>`.

use super::msisdn::normalised_msisdn;
use super::{
    normalise_msisdn, DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop,
    Screen, SessionEnded,
};
use crate::channel::ussd::input::normalised_service_code;
use std::borrow::Cow;

/// The Africa's Talking codec (store-key name `at`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfricasTalking;

/// The fields this codec reads, each under AT's own name first, then the
/// clones' spellings.
#[derive(Debug, Clone, Copy)]
enum Field {
    SessionId,
    ServiceCode,
    Phone,
    Network,
    Text,
    Status,
    ErrorMessage,
    Duration,
    Hops,
}

/// How many [`Field`]s there are (`Hops` is the last).
const FIELDS: usize = Field::Hops as usize + 1;

impl Field {
    fn named(name: &[u8]) -> Option<Field> {
        Some(match name {
            b"sessionId" | b"session_id" | b"SESSION_ID" => Field::SessionId,
            b"serviceCode" | b"service_code" | b"DEST" => Field::ServiceCode,
            b"phoneNumber" | b"msisdn" | b"phone_number" | b"ORIG" => Field::Phone,
            b"networkCode" | b"network_code" => Field::Network,
            b"text" | b"ussd_string" | b"USSD_PARAMS" => Field::Text,
            b"status" => Field::Status,
            b"errorMessage" | b"error_message" => Field::ErrorMessage,
            b"durationInMillis" | b"duration_in_millis" => Field::Duration,
            b"hopsCount" | b"hops_count" => Field::Hops,
            _ => return None,
        })
    }
}

/// The decoded form fields of a request, read in one pass over the body
/// then the query: the first value under any of a field's names wins, body
/// before query (the body is what AT itself sends, a query may only carry
/// routing extras). Values are borrowed from the request where nothing
/// needed decoding (every hop goes through here).
struct Fields<'a> {
    values: [Option<Cow<'a, str>>; FIELDS],
}

impl<'a> Fields<'a> {
    /// Parses body and query. Form decoding is lossy rather than failing on
    /// bad UTF-8 or stray `%`, which is what we want from a lenient codec:
    /// a request without a readable session id still fails, in `session_id`.
    fn parse(request: &'a GatewayRequest) -> Fields<'a> {
        let values =
            super::form::first_values([&request.body[..], request.query.as_bytes()], |name| {
                Field::named(name).map(|field| field as usize)
            });
        Fields { values }
    }

    /// A field's value, taken out (absent: empty), for a caller that
    /// keeps it: a decoded value's buffer moves rather than being copied.
    fn take(&mut self, field: Field) -> Cow<'a, str> {
        self.values[field as usize]
            .take()
            .unwrap_or(Cow::Borrowed(""))
    }

    fn get(&self, field: Field) -> Option<&str> {
        self.values[field as usize].as_deref()
    }

    /// A field that may be absent: absent is empty (§1.1).
    fn optional(&self, field: Field) -> &str {
        self.get(field).unwrap_or_default()
    }

    /// The session id, which keys all session state: absent or blank is an
    /// error rather than a session everyone would share.
    fn session_id(&self) -> Result<String, DecodeError> {
        match self.get(Field::SessionId).map(str::trim) {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(DecodeError("missing sessionId".to_owned())),
        }
    }
}

impl Gateway for AfricasTalking {
    fn name(&self) -> &'static str {
        "at"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let mut fields = Fields::parse(request);
        Ok(RawHop {
            session_id: fields.session_id()?,
            phone: normalised_msisdn(fields.take(Field::Phone)),
            service_code: normalised_service_code(fields.take(Field::ServiceCode)),
            network: fields.optional(Field::Network).trim().to_owned(),
            // Raw, untrimmed: the suffix diff compares it byte for byte with
            // the previous hop's text.
            payload: Payload::Cumulative(fields.optional(Field::Text).to_owned()),
        })
    }

    fn encode(&self, screen: &Screen, _session_id: &str, _client_state: &str) -> GatewayResponse {
        let prefix = if screen.end { "END" } else { "CON" };
        // Exactly one space after the prefix (§1.2): leading whitespace in the
        // text would otherwise add to it.
        let body = [prefix, " ", screen.text.trim_start()].concat();
        GatewayResponse {
            status: 200,
            headers: vec![("content-type", "text/plain; charset=utf-8".to_owned())],
            body: body.into_bytes(),
        }
    }
}

/// Decodes AT's end-of-session notification (§1.4), form-POSTed once to a
/// separate URL when a session ends. Reply `200` with any body.
///
/// `status` is passed through as sent (`Success`, `Incomplete`, `Failed`),
/// empty if absent. `errorMessage` is `Some` only when present and non-empty.
/// `durationInMillis` and `hopsCount` are `None` when absent or not numbers.
/// The `input` and `lastAppResponse` fields are deliberately not kept: they
/// hold PINs and OTPs; log `input` only through [`mask_input`].
pub fn decode_notification(request: &GatewayRequest) -> Result<SessionEnded, DecodeError> {
    let fields = Fields::parse(request);
    let error_message = fields
        .get(Field::ErrorMessage)
        .filter(|m| !m.trim().is_empty())
        .map(str::to_owned);
    Ok(SessionEnded {
        session_id: fields.session_id()?,
        phone: normalise_msisdn(fields.optional(Field::Phone)),
        status: fields.optional(Field::Status).trim().to_owned(),
        error_message,
        duration_ms: fields.get(Field::Duration).and_then(parse_millis),
        hops: fields.get(Field::Hops).and_then(|h| h.trim().parse().ok()),
    })
}

/// A millisecond count, tolerating a decimal form (`"1234.0"`) that some
/// serialisers produce.
fn parse_millis(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    if let Ok(ms) = raw.parse::<u64>() {
        return Some(ms);
    }
    let ms = raw.parse::<f64>().ok()?;
    if ms.is_finite() && ms >= 0.0 && ms <= u64::MAX as f64 {
        // Truncation is fine: sub-millisecond precision is meaningless here.
        Some(ms as u64)
    } else {
        None
    }
}

/// Masks an AT `input` history for logging: every character of every
/// `*`-separated segment becomes `#`, separators stay. `"1*1234*0000"` →
/// `"#*####*####"`: the shape (how many hops, how long each answer) survives
/// for debugging, the PINs and OTPs do not.
pub fn mask_input(input: &str) -> String {
    input
        .chars()
        .map(|c| if c == '*' { '*' } else { '#' })
        .collect()
}
