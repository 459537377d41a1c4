//! Every answer of the link API that is not a success: typed JSON with a
//! stable `code` and a sentence, never a stack trace or a 500, and never an
//! echo of what was typed.

use super::view::SessionResponse;
use super::view::ViewJson;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
    /// Per-field messages (`invalid_values`), by field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// The current sequence number (`stale_seq`, `busy`, `invalid_values`,
    /// `invalid_action`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The current view, so the front-end can show it at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<ViewJson>,
}

/// A machine-readable code and a sentence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `unauthorized`, `bad_request`, `payload_too_large`, `not_found`,
    /// `method_not_allowed`, `stale_seq`, `busy`, `invalid_values`,
    /// `invalid_action`, `invalid_public_token`, `not_linked`, `unavailable`.
    pub code: String,
    /// For a developer; safe to show a person.
    pub message: String,
}

/// Why a request was not served.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// No credentials, wrong ones, an expired or unknown token: all look the
    /// same, so an answer reveals nothing about which it was.
    Unauthorized,
    /// Unreadable JSON or a value out of range.
    BadRequest(String),
    /// A body over the limit.
    TooLarge,
    /// No such route.
    NotFound,
    /// A route that does not take this method.
    MethodNotAllowed,
    /// `seq` is not the current step's (and not a repeat of the last one).
    Stale(Box<SessionResponse>),
    /// A call to the bank is in flight; wait for it.
    Busy(Box<SessionResponse>),
    /// Field errors; nothing was sent and the session is as it was.
    InvalidValues(BTreeMap<String, String>, Box<SessionResponse>),
    /// The action makes no sense on this view.
    InvalidAction(String, Box<SessionResponse>),
    /// Exchange: no such public token.
    InvalidPublicToken,
    /// Exchange: the flow has not linked an account.
    NotLinked,
    /// The store or partner failed; try again.
    Unavailable,
}

impl ApiError {
    /// `stale_seq`, showing `current`.
    pub(crate) fn stale(current: SessionResponse) -> ApiError {
        ApiError::Stale(Box::new(current))
    }

    /// `busy`, showing `current`.
    pub(crate) fn busy(current: SessionResponse) -> ApiError {
        ApiError::Busy(Box::new(current))
    }

    /// The outcome label for metrics.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadRequest(_) | ApiError::TooLarge => "bad_request",
            ApiError::NotFound | ApiError::MethodNotAllowed => "not_found",
            ApiError::Stale(_) => "stale",
            ApiError::Busy(_) => "busy",
            ApiError::InvalidValues(..) => "invalid_values",
            ApiError::InvalidAction(..) => "invalid_action",
            ApiError::InvalidPublicToken | ApiError::NotLinked => "refused",
            ApiError::Unavailable => "error",
        }
    }

    fn parts(self) -> (StatusCode, &'static str, String, ErrorBody) {
        let mut body = ErrorBody {
            error: ErrorDetail {
                code: String::new(),
                message: String::new(),
            },
            fields: None,
            seq: None,
            view: None,
        };
        let mut current = |r: Box<SessionResponse>| {
            body.seq = Some(r.seq);
            body.view = Some(r.view);
        };
        let (status, code, message) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing, invalid or expired credentials".to_owned(),
            ),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is over {} bytes", super::routes::MAX_BODY),
            ),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such route".into()),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method".into(),
            ),
            ApiError::Stale(r) => {
                current(r);
                (
                    StatusCode::CONFLICT,
                    "stale_seq",
                    "the action was for another step; here is the current one".into(),
                )
            }
            ApiError::Busy(r) => {
                current(r);
                (
                    StatusCode::CONFLICT,
                    "busy",
                    "the bank is still working on the last step".into(),
                )
            }
            ApiError::InvalidValues(fields, r) => {
                current(r);
                body.fields = Some(fields);
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_values",
                    "some values need fixing; nothing was sent".into(),
                )
            }
            ApiError::InvalidAction(m, r) => {
                current(r);
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_action", m)
            }
            ApiError::InvalidPublicToken => (
                StatusCode::BAD_REQUEST,
                "invalid_public_token",
                "no link has this public token".into(),
            ),
            ApiError::NotLinked => (
                StatusCode::CONFLICT,
                "not_linked",
                "this flow has not linked an account".into(),
            ),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "temporarily unavailable; try again".into(),
            ),
        };
        (status, code, message, body)
    }
}

impl ApiError {
    /// The code and sentence alone (for callers in-process).
    pub(crate) fn detail(self) -> ErrorDetail {
        let (_, code, message, _) = self.parts();
        ErrorDetail {
            code: code.to_owned(),
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, mut body) = self.parts();
        body.error = ErrorDetail {
            code: code.to_owned(),
            message,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// A JSON parse error as a sentence that never quotes the input: serde's
/// own messages can echo a value (`invalid type: string "hunter2"`), and a
/// value may be a password.
pub(crate) fn json_error(e: &serde_json::Error) -> ApiError {
    let position = format!("line {} column {}", e.line(), e.column());
    let message = match e.classify() {
        serde_json::error::Category::Data => {
            format!("{} (at {position})", redact_quoted(&e.to_string()))
        }
        serde_json::error::Category::Eof => format!("the JSON ends early ({position})"),
        _ => format!("malformed JSON at {position}"),
    };
    ApiError::BadRequest(message)
}

/// `text` with every `"..."` replaced by `"…"`, and serde's trailing
/// position dropped (it is added back once).
fn redact_quoted(text: &str) -> String {
    let text = text.split(" at line ").next().unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            if inside {
                out.push('…');
            }
            out.push(c);
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_error_never_quotes_the_value() {
        let e = serde_json::from_str::<u64>(r#""hunter2""#).unwrap_err();
        let ApiError::BadRequest(message) = json_error(&e) else {
            panic!()
        };
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("invalid type"), "{message}");
        let e = serde_json::from_str::<u64>("{").unwrap_err();
        let ApiError::BadRequest(message) = json_error(&e) else {
            panic!()
        };
        assert!(message.contains("line 1"), "{message}");
    }
}
