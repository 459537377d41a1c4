//! An API's unknown paths answered in its own words.
//!
//! Invariant: every path under the prefix that no route names (the prefix
//! itself, the prefix with a slash, anything deeper) reaches the handler
//! given, whatever the method. They are routes, not a fallback: the app
//! merges several routers, each keeping its own answers, and a fallback
//! would be one for all of them.

use axum::handler::Handler;
use axum::routing::any;
use axum::Router;

/// `router` with the paths under `prefix` that none of its routes names
/// answered by `handler` (an API's JSON 404 where the app's plain one
/// would reach its clients). `{*rest}` needs a segment, hence
/// `{prefix}/` on its own.
pub(crate) fn unknown_under<S, H, T>(router: Router<S>, prefix: &str, handler: H) -> Router<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    router
        .route(prefix, any(handler.clone()))
        .route(&format!("{prefix}/"), any(handler.clone()))
        .route(&format!("{prefix}/{{*rest}}"), any(handler))
}
