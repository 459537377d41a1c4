//! `GenerateAuthorizeToken` and `/Authorize`: reading the request, checking
//! the customer id and the token, and handing it to the [state](super::state).

use super::state::Login;
use super::{auth_key, check_customer, Front, Reply};
use crate::dialect::flinks::wire::{self, AuthorizeRequest};
use crate::dialect::flinks::FlinksCode;
use crate::sandbox::front::now_ms;
use crate::sandbox::FLINKS_SECRET;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

/// A non-blank string field.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

/// `POST /GenerateAuthorizeToken` with the secret key as `flinks-auth-key`.
pub(super) async fn generate_token(
    State(front): State<Front>,
    Path(customer_id): Path<String>,
    headers: HeaderMap,
) -> Reply {
    if let Err(refused) = check_customer(&customer_id) {
        return refused;
    }
    if auth_key(&headers).as_deref() != Some(FLINKS_SECRET) {
        return Reply::code(FlinksCode::AccessDenied, None, None);
    }
    let token = uuid::Uuid::new_v4().to_string();
    front.state().add_token(token.clone(), now_ms());
    Reply::ok(wire::authorize_token(&token))
}

/// `POST /Authorize`: answers (with `RequestId`), a card (`LoginId`), or
/// credentials, in that order of precedence.
pub(super) async fn authorize(
    State(front): State<Front>,
    Path(customer_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    if let Err(refused) = check_customer(&customer_id) {
        return refused;
    }
    let invalid = || Reply::code(FlinksCode::InvalidRequest, None, None);
    let Ok(body) = body else {
        return invalid();
    };
    let Ok(request) = serde_json::from_slice::<AuthorizeRequest>(&body) else {
        return invalid();
    };
    let token = auth_key(&headers);
    let now = now_ms();
    let (reply, delay) = {
        let mut state = front.state();
        let answering = request.request_id.as_deref().filter(|r| !r.is_empty());
        if let Err(refused) = state.check_token(token.as_deref(), answering, now) {
            return refused;
        }
        let french = request.language.as_deref() == Some("fr");
        if let Some(request_id) = request.request_id.as_deref().filter(|r| !r.is_empty()) {
            (
                state.answer(request_id, &request.security_responses, now),
                None,
            )
        } else if let Some(login_id) = request.login_id.as_deref().filter(|l| !l.is_empty()) {
            let cached = request.most_recent_cached.unwrap_or(false);
            let request_id = uuid::Uuid::new_v4().to_string();
            (
                state.card_login(token, login_id, cached, request_id, now),
                None,
            )
        } else {
            match (
                given(&request.institution),
                given(&request.username),
                given(&request.password),
            ) {
                (Some(institution), Some(username), Some(password)) => state.login(
                    token.clone(),
                    &Login {
                        institution,
                        username,
                        password,
                        french,
                    },
                    now,
                ),
                _ => return invalid(),
            }
        }
    };
    // A slow bank is slow here, outside the lock, so other requests go on.
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    reply
}
