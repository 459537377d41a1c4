//! What the Ghanaian JSON gateways of ussd.md §4 (Arkesel, Nalo, Korba /
//! Mobiverse) are read by alike: a JSON object, a required session id, a
//! first-dial flag that may arrive as a bool or as text, and phone numbers
//! that may arrive in national form.
//!
//! Keys are matched ASCII-case-insensitively, as for Hubtel (each of these
//! gateways spells its keys its own way: `sessionID`, `SESSIONID`), and
//! values through [`text`], so a number where a string belongs still reads.

use serde_json::{Map, Value};

pub(super) use super::hubtel::{field, text};
pub(super) use super::json::{json_reply, object};
use super::{DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen};

/// The request keys of a gateway whose first dial is a flag and whose
/// reply echoes the caller (Arkesel, Nalo).
#[derive(Debug, Clone, Copy)]
pub(super) struct Keys {
    pub(super) session: &'static str,
    /// The first-dial flag.
    pub(super) first: &'static str,
    /// The dialled string on a first dial, the last answer after it.
    pub(super) data: &'static str,
    pub(super) msisdn: &'static str,
    pub(super) network: &'static str,
    /// The id the reply echoes besides the phone.
    pub(super) user: &'static str,
}

/// A hop of a gateway read by `keys`. These gateways send no service code
/// (`service_code` is left empty): the channel tells pre-dialled segments
/// from the code by the codes the deployment answers, if it was given any
/// (whether these gateways forward such segments is unconfirmed). They number no hops either, so a repeated
/// delivery cannot be told from the same answer typed again.
pub(super) fn decode_flagged(request: &GatewayRequest, keys: &Keys) -> Result<RawHop, DecodeError> {
    let object = object(request)?;
    let session_id = session_id(&object, keys.session)?;
    let data = text(&object, keys.data);
    let payload = if flag(&object, keys.first) {
        Payload::Initiation { dialled: data }
    } else {
        Payload::Latest {
            text: data,
            sequence: None,
        }
    };
    Ok(RawHop {
        session_id,
        phone: msisdn(&text(&object, keys.msisdn)),
        service_code: String::new(),
        network: text(&object, keys.network).trim().to_owned(),
        payload,
    })
}

/// A codec whose reply echoes the request's user id and phone, which
/// [`Gateway::encode`] is not given: the codec that answers one request is
/// an [`Echo`] of it ([`echo`], its [`Gateway::replying_to`]). Such a codec
/// says only its name, keys and reply: its [`Gateway`] is the one below.
pub(super) trait Echoing: Copy + Send + Sync + 'static {
    /// Its store-key name ([`Gateway::name`]).
    const NAME: &'static str;
    /// How its requests are read.
    const KEYS: Keys;
    /// Its reply to the request of `user_id` and `msisdn` (as sent).
    fn reply(
        &self,
        screen: &Screen,
        session_id: &str,
        user_id: &str,
        msisdn: &str,
    ) -> GatewayResponse;
}

/// `codec`, answering one request: with what its reply echoes.
#[derive(Debug)]
pub(super) struct Echo<G> {
    codec: G,
    user_id: String,
    msisdn: String,
}

/// The [`Echo`] of `codec` for `request`; `None` (answered by `codec`
/// itself, with nothing to echo) for an unreadable request.
pub(super) fn echo<G: Echoing>(codec: G, request: &GatewayRequest) -> Option<Box<dyn Gateway>> {
    let object = object(request).ok()?;
    Some(Box::new(Echo {
        codec,
        user_id: text(&object, G::KEYS.user).trim().to_owned(),
        msisdn: text(&object, G::KEYS.msisdn).trim().to_owned(),
    }))
}

impl<G: Echoing> Gateway for G {
    fn name(&self) -> &'static str {
        G::NAME
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        decode_flagged(request, &G::KEYS)
    }

    /// With nothing to echo: a request that did not read (the busy screen
    /// of one that could not be decoded).
    fn encode(&self, screen: &Screen, session_id: &str, _client_state: &str) -> GatewayResponse {
        self.reply(screen, session_id, "", "")
    }

    fn replying_to(&self, request: &GatewayRequest) -> Option<Box<dyn Gateway>> {
        echo(*self, request)
    }
}

impl<G: Echoing> Gateway for Echo<G> {
    fn name(&self) -> &'static str {
        G::NAME
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        decode_flagged(request, &G::KEYS)
    }

    fn encode(&self, screen: &Screen, session_id: &str, _client_state: &str) -> GatewayResponse {
        self.codec
            .reply(screen, session_id, &self.user_id, &self.msisdn)
    }
}

/// The session id under `key`, trimmed. It keys all session state, so
/// absent or blank is an error rather than a session strangers would share.
pub(super) fn session_id(object: &Map<String, Value>, key: &str) -> Result<String, DecodeError> {
    let id = text(object, key).trim().to_owned();
    if id.is_empty() {
        return Err(DecodeError(format!("missing {key}")));
    }
    Ok(id)
}

/// A yes/no field: a JSON bool, or (not in ussd.md, read leniently) the
/// text `true`/`false` or the number `1`/`0`, as a form-minded client may
/// send it. Absent or anything else is `false`: for a first-dial flag that
/// reads an unclear hop as an answer, which a session with no state takes
/// as a first screen's answer (it may only pick a bank) and a session with
/// state as input — never as a second first dial that would restart it.
pub(super) fn flag(object: &Map<String, Value>, key: &str) -> bool {
    match field(object, key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(Value::String(s)) => {
            let s = s.trim();
            s.eq_ignore_ascii_case("true") || s == "1"
        }
        _ => false,
    }
}

/// A phone number from a Ghanaian gateway in E.164, a national number
/// (`0244567890`) as Ghana's.
pub(super) fn msisdn(raw: &str) -> String {
    super::msisdn::national(raw, super::msisdn::GHANA)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_of(json: &str) -> Map<String, Value> {
        match serde_json::from_str(json) {
            Ok(Value::Object(o)) => o,
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn flags_read_as_bool_text_or_number() {
        for (json, want) in [
            (r#"{"f": true}"#, true),
            (r#"{"f": false}"#, false),
            (r#"{"f": "true"}"#, true),
            (r#"{"f": " TRUE "}"#, true),
            (r#"{"f": "false"}"#, false),
            (r#"{"f": 1}"#, true),
            (r#"{"f": "1"}"#, true),
            (r#"{"f": 0}"#, false),
            (r#"{"f": null}"#, false),
            (r#"{"f": "yes please"}"#, false),
            (r#"{}"#, false),
            (r#"{"F": true}"#, true),
        ] {
            assert_eq!(flag(&object_of(json), "f"), want, "{json}");
        }
    }

    #[test]
    fn national_ghana_numbers_become_e164() {
        for (raw, want) in [
            ("0244567890", "+233244567890"),
            ("024 456 7890", "+233244567890"),
            ("233244567890", "+233244567890"),
            ("+233244567890", "+233244567890"),
            ("00233244567890", "+233244567890"),
            // Not a national Ghanaian number: as normalise_msisdn leaves it.
            ("024456789", "024456789"),
            ("02445678901", "02445678901"),
            ("0", "0"),
            ("", ""),
        ] {
            assert_eq!(msisdn(raw), want, "{raw:?}");
        }
    }
}
