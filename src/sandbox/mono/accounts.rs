//! The account routes: code exchange, account details, unlink.

use super::reply::{now_ms, ok, Fail};
use super::request;
use super::{ApiKey, Front};
use crate::dialect::mono::wire;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

const NOT_FOUND: &str = "Account not found";

pub(super) async fn exchange(
    State(front): State<Front>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let body = request::json(body)?;
    let code = body
        .get("code")
        .and_then(Value::as_str)
        .ok_or_else(|| Fail::error(StatusCode::BAD_REQUEST, "Invalid input: code is required"))?;
    let id = front.bank().exchange(&key, code, now_ms())?;
    Ok(ok("Account linked", wire::exchanged(&id)))
}

/// `GET /v2/accounts/{id}`: a flat summary of what was linked. Mono's own
/// account object is richer; no client in this crate reads it, so the
/// sandbox keeps to what a demo shows.
pub(super) async fn account_details(
    State(front): State<Front>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let data = {
        let bank = front.bank();
        let view = bank
            .account(&key, &id)
            .ok_or_else(|| Fail::error(StatusCode::NOT_FOUND, NOT_FOUND))?;
        let account = &view.account;
        json!({
            "id": id,
            "institution": view.institution.map(|i| json!({
                "id": i.id, "name": i.name, "bank_code": i.bank_code, "type": i.kind,
            })),
            "account_number": account.number,
            "name": account.name,
            "type": account.kind,
            "currency": account.currency,
            "balance": account.balance,
            "auth_method": view.method.as_str(),
            "status": "active",
            "data_status": "AVAILABLE",
        })
    };
    Ok(ok("Account retrieved", data))
}

pub(super) async fn unlink(
    State(front): State<Front>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    if front.bank().unlink(&key, &id) {
        Ok(ok("Account unlinked successfully", Value::Null))
    } else {
        Err(Fail::error(StatusCode::NOT_FOUND, NOT_FOUND))
    }
}
