//! Reading the admin replies: every success into a typed value, every
//! refusal into an [`AdminError`], whatever the bytes (never a panic).

use super::{wire, AccessToken, App};
use crate::dialect::mono::parse_rfc3339_ms;
use crate::dialect::text::{clip, MAX_CODE_CHARS, MAX_MESSAGE_CHARS};
use crate::dialect::HttpResponse;
use crate::flow::Timestamp;
use serde::Deserialize;
use serde_json::Value;

/// Why an admin call did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The login's email or password is wrong.
    #[error("wrong email or password")]
    WrongCredentials,
    /// The access token has expired: log in again.
    #[error("the access token has expired; log in again")]
    TokenExpired,
    /// No token, or one the partner does not know.
    #[error("not logged in: {0}")]
    NotAuthenticated(String),
    /// The app belongs to another partner.
    #[error("that app belongs to another partner")]
    Forbidden,
    /// No app has that id.
    #[error("no app has that id")]
    NotFound,
    /// A field was refused; `field` names it as the wire does.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field (`name`, `icon_url`, ...), empty when not said.
        field: String,
        /// Why, in the partner's words.
        message: String,
    },
    /// The partner is down or busy (`429`, `5xx`): try again later.
    #[error("the partner is unavailable (HTTP {status}): {message}")]
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// The partner's message, if any.
        message: String,
    },
    /// A success whose body is not the promised shape.
    #[error("unreadable reply from the partner: {0}")]
    Malformed(String),
    /// The request never got an answer (set by the client, not the codec).
    #[error("could not reach the partner: {0}")]
    Transport(String),
    /// Any other refusal.
    #[error("the partner refused (HTTP {status}): {message}")]
    Unknown {
        /// The HTTP status.
        status: u16,
        /// The partner's message, if any.
        message: String,
    },
}

/// The login's answer: the token, its expiry (`data.expires_at` in epoch
/// ms, else `now` + `data.expires_in` seconds, else unknown).
pub fn decode_login(response: &HttpResponse, now: Timestamp) -> Result<AccessToken, AdminError> {
    let data = data(response, true)?;
    let token = data
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AdminError::Malformed("no data.access_token".into()))?;
    let expires_at = data.get("expires_at").and_then(time).or_else(|| {
        let secs = data.get("expires_in")?.as_u64()?;
        Some(now.plus_ms(secs.saturating_mul(1000)))
    });
    Ok(AccessToken::new(token, expires_at))
}

/// One app (create, update, go live).
pub fn decode_app(response: &HttpResponse) -> Result<App, AdminError> {
    app(data(response, false)?)
}

/// The partner's apps (list).
pub fn decode_apps(response: &HttpResponse) -> Result<Vec<App>, AdminError> {
    match data(response, false)? {
        Value::Array(items) => items.into_iter().map(app).collect(),
        other => Err(AdminError::Malformed(format!(
            "data is {}, not a list of apps",
            kind(&other)
        ))),
    }
}

/// A delete: any success.
pub fn decode_deleted(response: &HttpResponse) -> Result<(), AdminError> {
    data(response, false).map(drop)
}

/// The `data` of a success, or the refusal's error. `login` says whether a
/// `401` means a wrong password rather than a bad token.
fn data(response: &HttpResponse, login: bool) -> Result<Value, AdminError> {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let status = response.status;
    if (200..300).contains(&status) {
        let Some(Value::Object(mut envelope)) = body else {
            return Err(AdminError::Malformed(format!(
                "HTTP {status} with a body that is not a JSON object"
            )));
        };
        return envelope
            .remove("data")
            .ok_or_else(|| AdminError::Malformed("no data in the envelope".into()));
    }
    // Both are cut (see `dialect::text`): the error is shown and logged, and
    // a refusal's body is no place for a partner to push unbounded text.
    let field = |key: &str| {
        let text = body
            .as_ref()
            .and_then(|b| b.get("data"))
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default();
        clip(text, MAX_CODE_CHARS).to_owned()
    };
    let message = body
        .as_ref()
        .and_then(|b| b.get("message"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let message = clip(message, MAX_MESSAGE_CHARS).to_owned();
    Err(match status {
        401 if login => AdminError::WrongCredentials,
        401 if field("code") == wire::TOKEN_EXPIRED => AdminError::TokenExpired,
        401 => AdminError::NotAuthenticated(message),
        403 => AdminError::Forbidden,
        404 => AdminError::NotFound,
        400 | 422 => AdminError::Invalid {
            field: field("field"),
            message,
        },
        429 | 500..=599 => AdminError::Unavailable { status, message },
        _ => AdminError::Unknown { status, message },
    })
}

/// The wire's app: `_id` accepted for `id`, `created_at` as epoch ms or
/// RFC 3339.
#[derive(Deserialize)]
struct WireApp {
    #[serde(alias = "_id")]
    id: String,
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    icon_url: Option<String>,
    #[serde(default)]
    live: bool,
    created_at: Value,
}

fn app(v: Value) -> Result<App, AdminError> {
    let w: WireApp =
        serde_json::from_value(v).map_err(|e| AdminError::Malformed(format!("app: {e}")))?;
    let created_at = time(&w.created_at)
        .ok_or_else(|| AdminError::Malformed("app: created_at is not a time".into()))?;
    Ok(App {
        id: w.id,
        name: w.name,
        display_name: w.display_name,
        icon_url: w.icon_url,
        live: w.live,
        created_at,
    })
}

/// Epoch ms, or an RFC 3339 string.
fn time(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Number(n) => n.as_u64().map(Timestamp),
        Value::String(s) => parse_rfc3339_ms(s).map(Timestamp),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(status, body)
    }

    /// Finding: an admin refusal's message and field name were kept
    /// verbatim, whatever their size; they are shown and logged, and come
    /// back cut like the connect flow's (300 and 64 characters).
    #[test]
    fn a_huge_refusal_message_and_field_are_cut() {
        let body = serde_json::json!({
            "status": "failed",
            "message": "é".repeat(50_000),
            "data": { "field": "f".repeat(100_000) },
        });
        let Err(AdminError::Invalid { field, message }) =
            decode_app(&reply(400, &body.to_string()))
        else {
            panic!("a 400 is an invalid field");
        };
        assert_eq!(message, "é".repeat(MAX_MESSAGE_CHARS));
        assert_eq!(field, "f".repeat(MAX_CODE_CHARS));
    }

    #[test]
    fn refusals_are_typed_by_status_and_code() {
        let failed = |data: &str| format!(r#"{{"status":"failed","message":"no","data":{data}}}"#);
        assert_eq!(
            decode_login(&reply(401, &failed("null")), Timestamp(0)),
            Err(AdminError::WrongCredentials)
        );
        assert_eq!(
            decode_apps(&reply(401, &failed(r#"{"code":"token_expired"}"#))),
            Err(AdminError::TokenExpired)
        );
        assert_eq!(
            decode_apps(&reply(401, &failed("null"))),
            Err(AdminError::NotAuthenticated("no".into()))
        );
        assert_eq!(
            decode_app(&reply(400, &failed(r#"{"field":"icon_url"}"#))),
            Err(AdminError::Invalid {
                field: "icon_url".into(),
                message: "no".into()
            })
        );
        assert_eq!(decode_deleted(&reply(403, "")), Err(AdminError::Forbidden));
        assert_eq!(
            decode_deleted(&reply(404, "<html>")),
            Err(AdminError::NotFound)
        );
        assert!(matches!(
            decode_apps(&reply(502, "bad gateway")),
            Err(AdminError::Unavailable { status: 502, .. })
        ));
        assert!(matches!(
            decode_apps(&reply(200, "<html>")),
            Err(AdminError::Malformed(_))
        ));
        assert!(matches!(
            decode_apps(&reply(200, r#"{"data":{"id":"x"}}"#)),
            Err(AdminError::Malformed(_))
        ));
    }

    proptest::proptest! {
        /// Whatever the status and bytes, every decoder answers (a value or
        /// a typed error) without panicking; and an app the sandbox writes
        /// with `wire` reads back as itself, so the two cannot drift.
        #[test]
        fn decoders_never_panic_and_read_what_wire_writes(
            status in 0u16..600,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            name in "\\PC{1,20}",
            display in proptest::option::of("\\PC{0,20}"),
            live in proptest::bool::ANY,
            at in 0u64..4_102_444_800_000,
        ) {
            let response = HttpResponse::new(status, body);
            let _ = decode_login(&response, Timestamp(0));
            let _ = decode_app(&response);
            let _ = decode_apps(&response);
            let _ = decode_deleted(&response);
            let app = App {
                id: "app_1".into(),
                name,
                display_name: display,
                icon_url: Some("https://example.com/i.png".into()),
                live,
                created_at: Timestamp(at),
            };
            let written = HttpResponse::new(200, wire::app_reply("ok", &app).to_bytes());
            proptest::prop_assert_eq!(decode_app(&written), Ok(app.clone()));
            let list = HttpResponse::new(200, wire::apps(std::slice::from_ref(&app)).to_bytes());
            proptest::prop_assert_eq!(decode_apps(&list), Ok(vec![app]));
        }
    }

    #[test]
    fn apps_and_tokens_are_read_leniently() {
        let app = decode_app(&reply(
            201,
            r#"{"data":{"_id":"a1","name":"Shop","display_name":null,"live":false,"created_at":"2025-01-01T00:00:00.000Z"}}"#,
        ));
        assert_eq!(
            app.map(|a| (a.id, a.display_name, a.created_at)),
            Ok(("a1".into(), None, Timestamp(1_735_689_600_000)))
        );
        let token = decode_login(
            &reply(200, r#"{"data":{"access_token":"pat_1","expires_in":60}}"#),
            Timestamp(1_000),
        );
        assert_eq!(token.map(|t| t.expires_at), Ok(Some(Timestamp(61_000))));
    }
}
