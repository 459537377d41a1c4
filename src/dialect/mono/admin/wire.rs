//! The admin wire for the side that *writes* it (the sandbox, tests): each
//! builder is read back by the decoders beside it, so the sandbox and the
//! client cannot drift apart. The shapes are connectflow's **unconfirmed**
//! choice (see the [module documentation](super)).

use super::App;
use crate::dialect::mono::wire::Envelope;
use crate::flow::Timestamp;
use serde_json::{json, Value};

/// `data.code` of a `401` for an expired token.
pub const TOKEN_EXPIRED: &str = "token_expired";
/// `data.code` of a `401` for a missing or unknown token.
pub const UNAUTHENTICATED: &str = "unauthenticated";

/// The login's answer.
pub fn token(access_token: &str, now: Timestamp, expires_at: Timestamp) -> Envelope {
    Envelope::successful(
        "Login successful",
        json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": now.until(expires_at) / 1000,
            "expires_at": expires_at.0,
        }),
    )
}

/// One app as the wire writes it.
pub fn app(a: &App) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "display_name": a.display_name,
        "icon_url": a.icon_url,
        "live": a.live,
        "created_at": a.created_at.0,
    })
}

/// An answer carrying one app.
pub fn app_reply(message: &str, a: &App) -> Envelope {
    Envelope::successful(message, app(a))
}

/// The list answer.
pub fn apps(list: &[App]) -> Envelope {
    Envelope::successful(
        "Apps retrieved",
        Value::Array(list.iter().map(app).collect()),
    )
}

/// The delete answer.
pub fn deleted(id: &str) -> Envelope {
    Envelope::successful("App deleted", json!({ "id": id, "deleted": true }))
}

/// A refusal: `{status: "failed", message, data}` with `data` carrying the
/// machine-readable part (`{code}` on a `401`, `{field}` on a `400`), or
/// `null`.
pub fn failure(message: impl Into<String>, data: Value) -> Envelope {
    let mut e = Envelope::failed(message);
    // responseCode belongs to the connect flow's login loop, not here.
    e.response_code = None;
    e.data = data;
    e
}

/// `data` of a `400` naming the refused field.
pub fn invalid_field(field: &str) -> Value {
    json!({ "field": field })
}

/// `data` of a `401` with its machine code.
pub fn auth_code(code: &str) -> Value {
    json!({ "code": code })
}
