//! Mono's envelopes for everything the front answers: successes, steps, and
//! the bank's errors as Mono's statuses (mono.md §8). Every body is a
//! [`wire`] envelope, so the client's decoder reads exactly what is sent.

use crate::dialect::mono::wire::{self, Envelope};
use crate::flow::{RejectionKind, Step};
use crate::sandbox::bank::BankError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

pub(super) use crate::sandbox::front::now_ms;

/// Epoch ms as RFC 3339 UTC with milliseconds, the way Mono stamps envelopes.
pub(super) fn rfc3339(ms: u64) -> String {
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `envelope`, stamped with the time, as JSON with `status`.
pub(super) fn send<T: serde::Serialize>(status: StatusCode, mut envelope: Envelope<T>) -> Response {
    envelope.timestamp = Some(rfc3339(now_ms()));
    (status, Json(envelope)).into_response()
}

/// `{status: "successful", message, data}` with HTTP 200.
pub(super) fn ok(message: &str, data: Value) -> Response {
    send(StatusCode::OK, Envelope::successful(message, data))
}

/// A login/commit answer: `99`/`101`/`102` with 200; a refusal with 400.
pub(super) fn step(step: &Step) -> Response {
    let status = match step {
        // Mono has no "pending" (wire::step writes it as a failure), and no
        // Mono user waits; were one added, it would read as a refusal.
        Step::Rejected(r) if r.kind == RejectionKind::Unrecognised => StatusCode::OK,
        Step::Rejected(_) | Step::Pending { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    send(status, wire::step(step))
}

/// A failure not yet rendered: what request parsing and the bank's errors
/// become.
#[derive(Debug)]
pub(super) struct Fail {
    status: StatusCode,
    message: String,
    /// A login/commit refusal (`responseCode: 400`, which the dialect reads
    /// as the partner saying no) rather than a plain error.
    step: bool,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u64>,
}

impl Fail {
    /// A failure outside the login loop: `{status: "failed", message,
    /// data: null}`.
    pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Fail {
            status,
            message: message.into(),
            step: false,
            retry_after: None,
        }
    }

    /// A login/commit refusal: the same envelope with `responseCode: 400`.
    pub(super) fn reject(status: StatusCode, message: impl Into<String>) -> Self {
        Fail {
            step: true,
            ..Fail::error(status, message)
        }
    }
}

impl From<BankError> for Fail {
    fn from(e: BankError) -> Fail {
        let message = e.to_string();
        match e {
            // Session errors are refusals on every session route, so that
            // the dialect reads them as a session to renew.
            BankError::SessionNotFound => Fail::reject(StatusCode::NOT_FOUND, message),
            BankError::SessionExpired
            | BankError::AlreadyLoggedIn
            | BankError::AlreadyCompleted
            | BankError::LoginRequired
            | BankError::InvalidInput { .. } => Fail::reject(StatusCode::BAD_REQUEST, message),
            BankError::UnknownInstitution
            | BankError::MethodNotSupported { .. }
            | BankError::CodeInvalid => Fail::error(StatusCode::BAD_REQUEST, message),
            BankError::TooManySessions { retry_after_ms, .. } => Fail {
                retry_after: Some(retry_after_ms.div_ceil(1000)),
                ..Fail::error(StatusCode::TOO_MANY_REQUESTS, message)
            },
            BankError::AccountNotFound => Fail::error(StatusCode::NOT_FOUND, message),
            BankError::InstitutionDown { .. } => {
                Fail::error(StatusCode::SERVICE_UNAVAILABLE, message)
            }
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let mut envelope = Envelope::failed(self.message);
        if !self.step {
            envelope.response_code = None;
        }
        let mut response = send(self.status, envelope);
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_the_dialect_parser() {
        for ms in [0, 951_782_400_000, 1_735_689_600_123, 4_102_444_799_999] {
            let s = rfc3339(ms);
            assert_eq!(crate::dialect::mono::parse_rfc3339_ms(&s), Some(ms), "{s}");
        }
        assert_eq!(rfc3339(1_735_689_600_000), "2025-01-01T00:00:00.000Z");
    }
}
