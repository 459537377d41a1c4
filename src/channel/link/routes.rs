//! The HTTP face of the link API (axum): authentication, body limits,
//! typed errors and metrics around [`LinkService`]'s calls.

use super::error::{json_error, ApiError, ErrorBody};
use super::json::Json;
use super::token::LinkToken;
use super::turn::Served;
use super::{ActionRequest, ExchangeRequest, LinkService, TokenRequest};
use super::{ExchangeResponse, SessionResponse, TokenResponse};
use crate::server::bearer;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Instant;

/// Larger request bodies are refused with `413` (a form's values are a few
/// hundred bytes).
pub(crate) const MAX_BODY: usize = 16 * 1024;

/// Every route of the link API and its reference page:
///
/// - `POST /link/v1/tokens`, `POST /link/v1/exchange` (the host's API key);
/// - `GET /link/v1/session`, `POST /link/v1/session/actions`,
///   `GET /link/v1/session/events` (a link token; CORS as configured);
/// - `GET /link/v1/openapi.json`, `GET /link` (the web page).
pub fn router(link: Arc<LinkService>) -> Router {
    // Every route under its whole path, not `nest("/link/v1", …)`: a nested
    // router rewrote each request's URI (an allocation and a copy) and added
    // a second route to pass through, ~2,600 instructions on every request
    // of the API (issue 13's callgrind of the link API). The catch-all
    // routes keep what nesting gave: an unknown path under `/link/v1`
    // answers in the API's JSON (`{*rest}` needs a segment, hence `/link/v1/`
    // on its own). They are routes, not a fallback: a host mounting its own
    // routes under `/link/v1` beside these would now be refused at start.
    //
    // The method-not-allowed answer is set before the CORS layer: set after,
    // it replaced each route's fallback with one the layer does not wrap,
    // and every browser preflight (`OPTIONS`) was a bare 405.
    let mut front = Router::new()
        .route("/link/v1/session", get(get_session))
        .route("/link/v1/session/actions", post(post_action))
        .route("/link/v1/session/events", get(super::sse::events))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    if let Some(cors) = cors(&link.config().cors_origins) {
        // `layer` wraps the router's not-found fallback too, and `merge`
        // hands a router's fallback on: reset, the CORS answers stay on
        // the front-end routes instead of reaching every unknown path of
        // the app (review: `OPTIONS /anything` was answered as a preflight).
        front = front.layer(cors).reset_fallback();
    }
    let api = Router::new()
        .route("/link/v1/tokens", post(post_tokens))
        .route("/link/v1/exchange", post(post_exchange))
        .route("/link/v1/openapi.json", get(openapi_json));
    let api = crate::server::unknown_under(api, "/link/v1", not_found)
        .merge(front)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(link);
    Router::new()
        .route("/link", get(super::page::page))
        .route("/link/link.js", get(super::page::script))
        .merge(api)
}

/// Any path under `/link/v1` that is not one of the API's.
async fn not_found() -> ApiError {
    ApiError::NotFound
}

fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, Any, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::from(Any)
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.parse().ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
    )
}

/// The request's link token, or `401`.
pub(crate) fn link_token(headers: &HeaderMap) -> Result<LinkToken, ApiError> {
    bearer(headers)
        .and_then(LinkToken::parse)
        .ok_or(ApiError::Unauthorized)
}

fn api_key(link: &LinkService, headers: &HeaderMap) -> Result<(), ApiError> {
    if link.api_key.admits(headers) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// The body as `T`: at most [`MAX_BODY`] bytes of JSON.
async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(ApiError::TooLarge);
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(body_error)?;
    serde_json::from_slice(&bytes).map_err(|e| json_error(&e))
}

/// Why a body could not be read: it did not arrive within the server's
/// body timeout (a 408 the client may retry), else it ran past the limit
/// (or the client went away, which nobody will read).
fn body_error(error: axum::Error) -> ApiError {
    let error = error.into_inner();
    let timed_out = std::iter::successors(
        Some(error.as_ref() as &(dyn std::error::Error + 'static)),
        |e| e.source(),
    )
    .any(|e| e.is::<crate::server::deadline::BodyTimedOut>());
    if timed_out {
        ApiError::BodyTimeout
    } else {
        ApiError::TooLarge
    }
}

impl LinkService {
    /// Counts the request and turns its result into a response.
    fn answer<T: IntoResponse>(
        &self,
        started: Instant,
        result: Result<(T, Served), ApiError>,
    ) -> Response {
        let (outcome, response) = match result {
            Ok((body, served)) => (served.outcome(), body.into_response()),
            Err(e) => (e.outcome(), e.into_response()),
        };
        if let Some(metrics) = &self.metrics {
            metrics.turn_named("link", outcome, started.elapsed());
        }
        response
    }
}

/// Make a link token for one person's flow.
#[utoipa::path(post, path = "/link/v1/tokens", tag = "host",
    security(("api_key" = [])),
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A link token", body = TokenResponse),
        (status = 400, description = "A value out of range, or bad JSON", body = ErrorBody),
        (status = 401, description = "Not the API key", body = ErrorBody),
        (status = 408, description = "`request_timeout`: the body stopped arriving; send it again", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 503, description = "The session store is not available; try again", body = ErrorBody),
    ))]
pub(super) async fn post_tokens(
    State(link): State<Arc<LinkService>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let result = async {
        api_key(&link, &headers)?;
        let request: TokenRequest = json_body(&headers, body).await?;
        Ok((Json(link.create_token(request).await?), Served::Applied))
    }
    .await;
    link.answer(started, result)
}

/// Exchange a public token for the linked account (the partner's code was
/// exchanged server-side when the flow linked).
#[utoipa::path(post, path = "/link/v1/exchange", tag = "host",
    security(("api_key" = [])),
    request_body = ExchangeRequest,
    responses(
        (status = 200, description = "The linked account", body = ExchangeResponse),
        (status = 400, description = "No such public token, or bad JSON", body = ErrorBody),
        (status = 401, description = "Not the API key", body = ErrorBody),
        (status = 409, description = "The flow has not linked an account", body = ErrorBody),
        (status = 408, description = "`request_timeout`: the body stopped arriving; send it again", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 503, description = "The session store is not available; try again", body = ErrorBody),
    ))]
pub(super) async fn post_exchange(
    State(link): State<Arc<LinkService>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let result = async {
        api_key(&link, &headers)?;
        let request: ExchangeRequest = json_body(&headers, body).await?;
        Ok((
            Json(link.exchange(&request.public_token).await?),
            Served::Shown,
        ))
    }
    .await;
    link.answer(started, result)
}

/// The current view and the `seq` the next action must carry. The first
/// call starts the flow.
#[utoipa::path(get, path = "/link/v1/session", tag = "front-end",
    security(("link_token" = [])),
    responses(
        (status = 200, description = "The current view", body = SessionResponse),
        (status = 401, description = "No valid link token", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable", body = ErrorBody),
    ))]
pub(super) async fn get_session(
    State(link): State<Arc<LinkService>>,
    request: axum::extract::Request,
) -> Response {
    let started = Instant::now();
    // The headers borrowed, not extracted (a copy): this route is polled.
    let token = link_token(request.headers());
    drop(request);
    let result = async {
        let token = token?;
        let (body, served) = link.show(&token).await?;
        // Already JSON (possibly the cached rendering).
        let response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
        Ok((response, served))
    }
    .await;
    link.answer(started, result)
}

/// Act on the current view. Exactly once per step: the same `{seq, action}`
/// again gets the current view and is not applied twice.
#[utoipa::path(post, path = "/link/v1/session/actions", tag = "front-end",
    security(("link_token" = [])),
    request_body = ActionRequest,
    responses(
        (status = 200, description = "Applied (or a repeat of the last action): the view now", body = SessionResponse),
        (status = 400, description = "Bad JSON", body = ErrorBody),
        (status = 401, description = "No valid link token", body = ErrorBody),
        (status = 409, description = "`stale_seq` or `busy`, with the current view", body = ErrorBody),
        (status = 408, description = "`request_timeout`: the body stopped arriving; send it again", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "`invalid_values` (per-field messages) or `invalid_action`; nothing was sent", body = ErrorBody),
        (status = 503, description = "The session store is not available; try again", body = ErrorBody),
    ))]
pub(super) async fn post_action(
    State(link): State<Arc<LinkService>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let result = async {
        let token = link_token(&headers)?;
        let request: ActionRequest = json_body(&headers, body).await?;
        let (response, served) = link.act(&token, request).await?;
        Ok((Json(response), served))
    }
    .await;
    link.answer(started, result)
}

/// This document.
#[utoipa::path(get, path = "/link/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub(super) async fn openapi_json() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::openapi_json(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::DriverConfig;
    use crate::service::SessionService;
    use crate::store::MemoryStore;
    use crate::testing::mono_driver;

    fn link(cors_origins: Vec<String>) -> Arc<LinkService> {
        let driver = mono_driver("http://127.0.0.1:9", DriverConfig::default());
        let service = SessionService::new(
            vec![driver],
            Arc::new(MemoryStore::new()),
            Default::default(),
        );
        LinkService::new(
            Arc::new(service),
            super::super::LinkConfig {
                cors_origins,
                ..Default::default()
            },
            super::super::ApiKey::generate(),
        )
    }

    /// An unknown path under `/link/v1` answers in the API's JSON (as the
    /// nested router's fallback did), and an unknown path elsewhere is
    /// not the link API's: with CORS on, it is not answered as a preflight
    /// (review: the CORS layer's fallback reached every path of the app).
    #[tokio::test]
    async fn unknown_paths_are_the_apis_only_under_its_prefix() {
        use tower::ServiceExt;
        let app = router(link(vec!["https://app.example".into()]));
        let send = |method: Method, path: &str| {
            let request = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header("origin", "https://app.example")
                .header("access-control-request-method", "GET")
                .body(Body::empty());
            let app = app.clone();
            async move { app.oneshot(request.unwrap()).await.unwrap() }
        };
        for path in [
            "/link/v1",
            "/link/v1/",
            "/link/v1/nothing",
            "/link/v1/session/",
        ] {
            let answer = send(Method::GET, path).await;
            assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
            let body = axum::body::to_bytes(answer.into_body(), MAX_BODY)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"]["code"], "not_found", "{path}");
        }
        for path in ["/nothing", "/link/"] {
            let answer = send(Method::OPTIONS, path).await;
            assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(
                answer
                    .headers()
                    .get("access-control-allow-origin")
                    .is_none(),
                "{path}"
            );
        }
        let preflight = send(Method::OPTIONS, "/link/v1/session").await;
        assert!(preflight.status().is_success(), "{}", preflight.status());
    }

    /// An action's future (what axum allocates and copies for every
    /// `POST /link/v1/session/actions`, the 422s included) stays small: the
    /// paths that run a turn are boxed where they start. It was 14,512 bytes
    /// with them inline (issue 13's profile of the Redis 422: 2.6 % of the
    /// server's CPU in copying it).
    #[test]
    fn an_actions_future_stays_small() {
        let action = post_action(State(link(Vec::new())), HeaderMap::new(), Body::empty());
        let size = std::mem::size_of_val(&action);
        assert!(size <= 4096, "an action's future is {size} bytes");
    }
}
