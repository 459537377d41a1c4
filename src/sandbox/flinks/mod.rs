//! The Flinks wire front of the sandbox: Flinks' legacy Authorize API
//! (`reference/flinks.md`) under `/v3/{customerId}/BankingServices/`, over
//! the same sans-IO [bank](super::bank) as the Mono front, with Flinks
//! Capital's [users](capital). Replies are built with
//! [`crate::dialect::flinks::wire`], so the sandbox and the client cannot
//! drift apart.
//!
//! What is Flinks' and not the bank's lives here: authorize tokens, the
//! RequestId of each `/Authorize` conversation, the prompt each answer must
//! be keyed by, the language, and cards (the LoginId of each linked login,
//! until `DeleteCard`).
//!
//! | route | answers |
//! |---|---|
//! | `POST /GenerateAuthorizeToken` | with `flinks-auth-key: <`[`FLINKS_SECRET`](super::FLINKS_SECRET)`>`: `{Token}`, valid 30 minutes; else `401 ACCESS_DENIED` |
//! | `POST /Authorize` | credentials: `200` (LoginId), `203` (one question), `202` `OPERATION_DISPATCHED`, or `401` with a FlinksCode; `RequestId` + `SecurityResponses`: the next question or the link; `LoginId`: cached mode (or a live refresh with `MostRecentCached: false`) |
//! | `GET /GetAccountsDetailAsync/{requestId}` | `202` while the bank works, then `200` with the accounts |
//! | `POST /GetAccountsSummary` | `{RequestId}` of a linked conversation: the card's accounts |
//! | `DELETE /DeleteCard/{loginId}` | removes the card; its LoginId then gets `INVALID_LOGIN` |
//!
//! Only the toolbox customer id `43387ca6-0391-4c82-857d-70d95f087ecb` is
//! served; any other gets `401 ACCESS_DENIED`. `/Authorize` without a
//! `flinks-auth-key` is accepted, as on a legacy instance; with one, it must
//! be a live token. A token is single-use (flinks.md §1): the first login
//! with credentials it carries, refused or not, leaves it good only for
//! the answers of the conversation that login opened, and the link it
//! authorizes (a `200`) spends it; another login with it is
//! `401 ACCESS_DENIED`.

mod authorize;
pub(crate) mod capital;
mod cards;
mod state;

use super::bank::Bank;
use super::front::OsEntropy;
use super::SandboxConfig;
use crate::dialect::flinks::wire;
use crate::dialect::flinks::{FlinksCode, TOOLBOX_CUSTOMER_ID};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::Value;
use state::FlinksState;
use std::sync::{Arc, Mutex, MutexGuard};

/// The shared state of the Flinks routes.
#[derive(Clone)]
pub(crate) struct Front(Arc<Mutex<FlinksState>>);

impl Front {
    /// A poisoned lock only means another handler panicked mid-update; the
    /// state is still usable, and a sandbox must keep answering.
    fn state(&self) -> MutexGuard<'_, FlinksState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The Flinks routes over a fresh bank holding Flinks Capital.
pub(crate) fn router(config: SandboxConfig) -> Router {
    let bank = Bank::new(config, capital::world(), Box::new(OsEntropy));
    let front = Front(Arc::new(Mutex::new(FlinksState::new(bank))));
    let routes = Router::new()
        .route("/GenerateAuthorizeToken", post(authorize::generate_token))
        .route("/Authorize", post(authorize::authorize))
        .route(
            "/GetAccountsDetailAsync/{request_id}",
            get(cards::detail_async),
        )
        .route("/GetAccountsSummary", post(cards::summary))
        .route("/DeleteCard/{login_id}", delete(cards::delete_card))
        .layer(DefaultBodyLimit::max(super::mono::BODY_LIMIT))
        .with_state(front);
    Router::new().nest("/v3/{customer_id}/BankingServices", routes)
}

/// A Flinks answer: an HTTP status and its JSON body (which repeats the
/// status as `HttpStatusCode`, as Flinks does).
pub(crate) struct Reply(StatusCode, Value);

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply(StatusCode::OK, body)
    }

    fn with_status(status: u16, body: Value) -> Reply {
        Reply(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
    }

    /// A failure with its FlinksCode, at the status Flinks uses for it.
    fn code(code: FlinksCode, request_id: Option<&str>, institution: Option<&str>) -> Reply {
        let (status, body) = wire::failed(&code, request_id, institution);
        Reply::with_status(status, body)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// Only the toolbox instance is served: the path's customer id is checked
/// before anything else.
fn check_customer(customer_id: &str) -> Result<(), Reply> {
    if customer_id.eq_ignore_ascii_case(TOOLBOX_CUSTOMER_ID) {
        Ok(())
    } else {
        Err(Reply::code(FlinksCode::AccessDenied, None, None))
    }
}

/// A data endpoint's `x-api-key` (flinks.md §1): the sandbox's
/// [`FLINKS_API_KEY`](crate::sandbox::FLINKS_API_KEY), else
/// `401 ACCESS_DENIED`.
fn check_api_key(headers: &HeaderMap) -> Result<(), Reply> {
    let sent = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if sent.map(str::trim) == Some(crate::sandbox::FLINKS_API_KEY) {
        Ok(())
    } else {
        Err(Reply::code(FlinksCode::AccessDenied, None, None))
    }
}

/// `flinks-auth-key`, when sent.
fn auth_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("flinks-auth-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}
