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
use super::{normalise_msisdn, DecodeError, GatewayRequest};

/// The request body as a JSON object; anything else is unreadable.
pub(super) fn object(request: &GatewayRequest) -> Result<Map<String, Value>, DecodeError> {
    let value: Value = serde_json::from_slice(&request.body)
        .map_err(|e| DecodeError(format!("JSON body: {e}")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(DecodeError("JSON body is not an object".to_owned())),
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

/// A phone number from a Ghanaian gateway in E.164: what
/// [`normalise_msisdn`] makes of it, and a national number (`0` and nine
/// digits, `0244567890`) as Ghana's (`+233244567890`). `normalise_msisdn`
/// leaves a national number alone because it cannot know the country; a
/// gateway that serves Ghana can (ussd.md §4: "Normalise MSISDNs to
/// E.164"), and a resume index keyed by two spellings of one phone would
/// not find its flow.
pub(super) fn msisdn(raw: &str) -> String {
    let phone = normalise_msisdn(raw);
    match phone.strip_prefix('0') {
        Some(national) if national.len() == 9 && national.bytes().all(|b| b.is_ascii_digit()) => {
            ["+233", national].concat()
        }
        _ => phone,
    }
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
