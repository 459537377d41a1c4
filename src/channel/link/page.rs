//! The reference web page at `GET /link` (`/link?token=...`): plain HTML and
//! a small JavaScript module, no framework, embedded in the binary at build
//! time. It renders any view from the JSON alone, and is the example a
//! front-end developer copies.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const HTML: &str = include_str!("page/link.html");
const SCRIPT: &str = include_str!("page/link.js");

/// Headers every response of the page carries: the token is in the URL, so
/// it must not leak through `Referer`; the page runs only its own script and
/// talks only to this server.
const SECURITY: [(header::HeaderName, &str); 4] = [
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data: https:; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CACHE_CONTROL, "no-store"),
];

/// `GET /link`.
pub(super) async fn page() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], HTML).into_response();
    for (name, value) in SECURITY {
        response
            .headers_mut()
            .insert(name, header::HeaderValue::from_static(value));
    }
    response
}

/// `GET /link/link.js`.
pub(super) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
        .into_response()
}
