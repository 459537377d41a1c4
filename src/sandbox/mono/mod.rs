//! The Mono v2 wire front of the sandbox: axum routes that read Mono's
//! requests, ask the [bank](super::bank), and answer in Mono's envelopes built
//! by [`crate::dialect::mono::wire`]. The route table is in the
//! [module documentation](super).
//!
//! The bank sits behind a `std::sync::Mutex` that is never held across an
//! `.await`; it reads no clock, so the front passes the time in.

mod accounts;
mod connect;
mod reply;
mod request;

use super::bank::{Bank, World};
use super::front::OsEntropy;
use super::{catalogue, users, SandboxConfig};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use reply::Fail;
use std::sync::{Arc, Mutex, MutexGuard};

/// Largest request body accepted. Mono's bodies are a handful of short
/// strings; anything bigger is a bug or an attack.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// The secret key of the request, checked by [`require_key`]. The bank keeps
/// everything per key.
#[derive(Clone)]
struct ApiKey(String);

/// The routes' shared state.
#[derive(Clone)]
struct Front(Arc<Mutex<Bank>>);

impl Front {
    /// A poisoned lock only means another handler panicked mid-update; the
    /// bank is still usable, and a sandbox must keep answering.
    fn bank(&self) -> MutexGuard<'_, Bank> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What Mono's sandbox knows: the Nigerian catalogue and the test users.
fn world() -> World {
    World {
        institutions: catalogue::institutions(),
        personas: users::personas(),
        outcomes: catalogue::outcomes(),
    }
}

/// Any other path: `404` in Mono's envelope (and `405` for another
/// method), for every front.
pub(crate) fn not_found(router: Router) -> Router {
    router
        .fallback(|| async { Fail::error(StatusCode::NOT_FOUND, "Route not found") })
        .method_not_allowed_fallback(|| async {
            Fail::error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        })
}

/// The Mono routes over a fresh bank.
pub(crate) fn router(config: SandboxConfig) -> Router {
    let front = Front(Arc::new(Mutex::new(Bank::new(
        config,
        world(),
        Box::new(OsEntropy),
    ))));
    Router::new()
        .route("/v3/institutions", get(connect::list_institutions))
        .route("/v2/connect/session", post(connect::create_session))
        .route("/v2/connect/login", post(connect::login))
        .route("/v2/connect/commit", post(connect::commit))
        .route("/v2/connect/reauth/session", post(connect::reauth_session))
        // Separate endpoints (mono.md §7): each takes only its own kind of
        // session, so a client logging in at the wrong one is told.
        .route("/v2/connect/reauth/login", post(connect::reauth_login))
        .route("/v2/connect/sandbox", get(connect::sandbox_credentials))
        .route("/v2/accounts/auth", post(accounts::exchange))
        .route("/v2/accounts/{id}", get(accounts::account_details))
        .route("/v2/accounts/{id}/unlink", post(accounts::unlink))
        // Only Mono's routes need Mono's key; the Flinks routes beside them
        // have their own credentials.
        .route_layer(middleware::from_fn(require_key))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(front)
}

/// Every route needs `mono-sec-key: test_sk_…` (mono.md §1); a `live_sk_`
/// key is refused too, since the sandbox is never live.
async fn require_key(mut req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get("mono-sec-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| k.len() > "test_sk_".len() && k.starts_with("test_sk_"))
        .map(str::to_owned);
    match key {
        Some(key) => {
            req.extensions_mut().insert(ApiKey(key));
            next.run(req).await
        }
        None => Fail::error(
            StatusCode::UNAUTHORIZED,
            "Invalid or missing secret key: send the header mono-sec-key: test_sk_…",
        )
        .into_response(),
    }
}
