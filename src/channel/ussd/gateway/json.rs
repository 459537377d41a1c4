//! What every JSON gateway is read and answered with: the request body as
//! one JSON object, and a reply serialised with status 200.

use serde_json::{Map, Value};

use super::{DecodeError, GatewayRequest, GatewayResponse};

/// `body` as a JSON reply (status 200: a gateway shows anything else as a
/// network error).
pub(super) fn json_reply(body: &impl serde::Serialize) -> GatewayResponse {
    // Serialising plain strings, bools and numbers into memory cannot
    // fail, so the empty fallback is unreachable.
    GatewayResponse {
        status: 200,
        headers: vec![("content-type", "application/json".to_owned())],
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// The request body as a JSON object; anything else is unreadable.
pub(super) fn object(request: &GatewayRequest) -> Result<Map<String, Value>, DecodeError> {
    let value: Value = serde_json::from_slice(&request.body)
        .map_err(|e| DecodeError(format!("JSON body: {e}")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(DecodeError("JSON body is not an object".to_owned())),
    }
}
