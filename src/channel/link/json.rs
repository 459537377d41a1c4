//! JSON answers written into one buffer.
//!
//! `axum::Json` writes through a `BytesMut` writer that starts at 128
//! bytes: serde_json's many small writes (a quote, a key, a comma) each go
//! through `BufMut::put_slice`, and the buffer is copied as it grows past
//! 128, 256, 512. A view is 500 bytes to a few KiB, so a 422 spent 15 % of
//! the server's CPU in `Json::into_response` (issue 13's `perf` profile of
//! the link API's refused submit). Written into a `Vec` sized for a view,
//! the same bytes cost a fraction of that.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Room for a form's view without growing (an institution list grows once
/// or twice).
const VIEW_BYTES: usize = 1024;

/// `value` as a JSON answer with `status`: the bytes, type and length
/// `axum::Json` gives. A value that cannot be serialized (none of ours:
/// their maps have string keys) is a plain-text 500.
pub(crate) fn answer<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut body = Vec::with_capacity(VIEW_BYTES);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            Bytes::from(body),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// A success answer of the link API, serialized as [`answer`] does.
pub(crate) struct Json<T>(pub(crate) T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        answer(StatusCode::OK, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer is what `axum::Json` answers: the same status, type and
    /// bytes.
    #[tokio::test]
    async fn answers_as_axum_json_does() {
        let value = serde_json::json!({"seq": 3, "view": {"type": "form", "title": "Login \"to\" Bank \u{e9}"}});
        let ours = answer(StatusCode::UNPROCESSABLE_ENTITY, &value);
        let theirs = (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(&value)).into_response();
        assert_eq!(ours.status(), theirs.status());
        assert_eq!(
            ours.headers().get(header::CONTENT_TYPE),
            theirs.headers().get(header::CONTENT_TYPE)
        );
        let ours = axum::body::to_bytes(ours.into_body(), usize::MAX)
            .await
            .unwrap();
        let theirs = axum::body::to_bytes(theirs.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(ours, theirs);
    }
}
