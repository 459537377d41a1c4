//! The data and card routes: polling a background link, the accounts
//! summary, and `DeleteCard`.

use super::{check_api_key, check_customer, Front, Reply};
use crate::dialect::flinks::FlinksCode;
use crate::sandbox::front::now_ms;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::Value;

/// `GET /GetAccountsDetailAsync/{requestId}`.
pub(super) async fn detail_async(
    State(front): State<Front>,
    Path((customer_id, request_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    if let Err(refused) = check_customer(&customer_id).and_then(|()| check_api_key(&headers)) {
        return refused;
    }
    front.state().poll(&request_id, now_ms())
}

/// `POST /GetAccountsSummary` with `{RequestId}`.
pub(super) async fn summary(
    State(front): State<Front>,
    Path(customer_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    if let Err(refused) = check_customer(&customer_id).and_then(|()| check_api_key(&headers)) {
        return refused;
    }
    let request_id = body
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v.get("RequestId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    match request_id {
        Some(id) => front.state().summary(&id),
        None => Reply::code(FlinksCode::InvalidRequest, None, None),
    }
}

/// `DELETE /DeleteCard/{loginId}`.
pub(super) async fn delete_card(
    State(front): State<Front>,
    Path((customer_id, login_id)): Path<(String, String)>,
) -> Reply {
    if let Err(refused) = check_customer(&customer_id) {
        return refused;
    }
    front.state().delete_card(&login_id, now_ms())
}
