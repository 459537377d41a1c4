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
    /// `invalid_action`, `invalid_public_token`, `not_linked`,
    /// `request_timeout`, `unavailable`.
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
    /// A body that did not arrive within the server's body timeout.
    BodyTimeout,
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
            ApiError::BadRequest(_) | ApiError::TooLarge | ApiError::BodyTimeout => "bad_request",
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
            ApiError::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the body did not arrive in time; send it again".into(),
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
        let mut response = super::json::answer(status, &body);
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
/// own messages echo the value they refused (``invalid type: integer
/// `1234`, expected a string``, `invalid type: string "hunter2"`), and a
/// value may be a PIN or a password, so only what our own types expected
/// is kept, with the position.
pub(crate) fn json_error(e: &serde_json::Error) -> ApiError {
    let position = format!("line {} column {}", e.line(), e.column());
    let message = match e.classify() {
        serde_json::error::Category::Data => {
            format!("{} (at {position})", data_problem(e))
        }
        serde_json::error::Category::Eof => format!("the JSON ends early ({position})"),
        _ => format!("malformed JSON at {position}"),
    };
    ApiError::BadRequest(message)
}

/// What was wrong with well-formed JSON, without any of the client's text.
///
/// serde's sentences are `<problem> <the client's value or name>, expected
/// <what>`: the part after the last `, expected ` comes from our types'
/// `Deserialize` impls (field lists, variant names, `a string`), never from
/// the input, so it is kept; everything between the problem and it is
/// dropped. `missing field` and `duplicate field` name one of our fields.
/// Any other sentence (a custom error may quote anything) is replaced whole.
fn data_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde_json appends the position; it is added back once, ours.
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let text = text.strip_suffix(&suffix).unwrap_or(&text);
    // serde's one sentence without an "expected": a `, expected ` inside
    // the client's name must not be taken for serde's.
    for none in ["there are no fields", "there are no variants"] {
        if text.ends_with(&format!(", {none}")) {
            let problem = if text.starts_with("unknown field") {
                "unknown field"
            } else {
                "unknown variant"
            };
            return format!("{problem}: {none}");
        }
    }
    let expected = text.rsplit_once(", expected ").map(|(_, what)| what);
    for problem in [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
    ] {
        if text.starts_with(problem) {
            return match expected {
                Some(what) => format!("{problem}, expected {what}"),
                None => problem.to_owned(),
            };
        }
    }
    if text.starts_with("missing field `") || text.starts_with("duplicate field `") {
        return text.to_owned();
    }
    "the JSON does not have the expected shape".to_owned()
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

    /// The message for `body` sent as an action, which must refuse it.
    fn message_for(body: &str) -> String {
        match serde_json::from_str::<super::super::action::ActionRequest>(body) {
            Ok(_) => panic!("{body} was accepted"),
            Err(e) => match json_error(&e) {
                ApiError::BadRequest(message) => message,
                other => panic!("{other:?}"),
            },
        }
    }

    /// Finding: a PIN submitted as a JSON number came back in the 400's
    /// message (``invalid type: integer `1234`, expected a string``); so
    /// did floats and booleans. No value the client sent is echoed now,
    /// and the message still says what was expected.
    #[test]
    fn a_pin_sent_as_a_number_is_not_echoed_in_the_error() {
        for (value, shown) in [
            ("1234", "1234"),
            ("98.765", "98.765"),
            ("true", "true"),
            ("-4321", "4321"),
            (r#"["hunter2"]"#, "hunter2"),
            (r#"{"k":"hunter2"}"#, "hunter2"),
        ] {
            let body =
                format!(r#"{{"seq":1,"action":{{"type":"submit","values":{{"pin":{value}}}}}}}"#);
            let message = message_for(&body);
            assert!(!message.contains(shown), "{value}: {message}");
            assert!(message.contains("expected a string"), "{value}: {message}");
            assert!(message.contains("line 1 column"), "{value}: {message}");
        }
    }

    /// Finding (same): unknown variant and field names came back between
    /// backticks. The client's text never comes back, even when it mimics
    /// serde's own punctuation, while what our types accept still does.
    #[test]
    fn names_and_strings_the_client_sent_are_not_echoed() {
        // What looks like serde's own punctuation must not fool the cut.
        let secret = "s3cr3t` at line 9, expected x";
        let cases = [
            (
                format!(r#"{{"seq":1,"action":{{"type":"{secret}"}}}}"#),
                "unknown variant, expected one of `choose_institution`",
            ),
            (
                format!(r#"{{"seq":1,"{secret}":1,"action":{{"type":"exit"}}}}"#),
                "unknown field, expected `seq` or `action`",
            ),
            (
                format!(r#"{{"seq":"{secret}","action":{{"type":"exit"}}}}"#),
                "invalid type, expected u64",
            ),
            (
                r#"{"seq":1,"action":{"type":"choose_account","index":-7}}"#.to_owned(),
                "invalid value, expected usize",
            ),
            (
                format!(r#"{{"seq":1,"action":{{"type":"back","{secret}":1}}}}"#),
                "unknown field: there are no fields",
            ),
            (r#"{"seq":1}"#.to_owned(), "missing field `action`"),
        ];
        for (body, want) in cases {
            let message = message_for(&body);
            assert!(message.starts_with(want), "{body}: {message}");
            for leak in ["s3cr3t", "-7"] {
                assert!(!message.contains(leak), "{body}: {message}");
            }
        }
    }
}
