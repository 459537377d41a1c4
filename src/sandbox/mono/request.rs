//! Reading Mono requests. Bodies are parsed here from `Bytes` (never axum's
//! `Json` extractor) so that malformed JSON, a wrong shape or an oversized
//! body is answered with Mono's error envelope rather than axum's plain-text
//! rejection.

use super::reply::Fail;
use super::BODY_LIMIT;
use crate::form::Values;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;

/// `GET /v3/institutions` filters; an empty value filters nothing.
#[derive(Debug, Deserialize)]
pub(super) struct Filter {
    pub(super) scope: Option<String>,
    pub(super) auth_method: Option<String>,
    pub(super) bank_code: Option<String>,
}

/// The body as JSON, or the envelope to answer with.
pub(super) fn json(body: Result<Bytes, BytesRejection>) -> Result<Value, Fail> {
    let bytes = body.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Fail::error(
                status,
                format!("Request body is larger than {BODY_LIMIT} bytes"),
            )
        } else {
            Fail::error(status, "Could not read the request body")
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|_| Fail::error(StatusCode::BAD_REQUEST, "Request body is not valid JSON"))
}

/// A flat `{name: value}` body (login, commit). Numbers are accepted as their
/// decimal text, as a lenient bank would.
pub(super) fn flat_values(v: Value) -> Result<Values, Fail> {
    let invalid =
        |detail: String| Fail::reject(StatusCode::BAD_REQUEST, format!("Invalid input: {detail}"));
    let Value::Object(map) = v else {
        return Err(invalid("the body must be a JSON object".into()));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            _ => Err(invalid(format!("{k} must be a string"))),
        })
        .collect()
}

/// The `x-session-id` header.
pub(super) fn session_id(headers: &HeaderMap) -> Result<String, Fail> {
    headers
        .get("x-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Fail::reject(StatusCode::BAD_REQUEST, "Missing x-session-id header"))
}
