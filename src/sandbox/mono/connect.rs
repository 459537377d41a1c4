//! The connect routes: institutions, session, login, commit and the sandbox
//! credentials. Each parses, asks the bank, and writes the answer with
//! [`wire`]; none decides anything about users, lockouts or expiry.

use super::reply::{self, now_ms, ok, send, Fail};
use super::request::{self, Filter};
use super::{ApiKey, Front};
use crate::dialect::mono::{wire, Customer};
use crate::flow::{AuthMethodKind, Institution};
use crate::form::Values;
use crate::sandbox::bank::Reauthorised;
use crate::sandbox::catalogue;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};

/// The key a v2 commit picks an account with (mono.md §4).
const ACCOUNT_NUMBER: &str = "accountNumber";

pub(super) async fn list_institutions(
    State(front): State<Front>,
    query: Result<Query<Filter>, QueryRejection>,
) -> Result<Response, Fail> {
    let Query(filter) =
        query.map_err(|_| Fail::error(StatusCode::BAD_REQUEST, "Invalid query string"))?;
    // An empty filter value (`?scope=`) filters nothing.
    let given = |v: Option<String>| v.filter(|s| !s.is_empty());
    let (scope, method, code) = (
        given(filter.scope),
        given(filter.auth_method),
        given(filter.bank_code),
    );
    let method = method.map(AuthMethodKind::from);
    let list: Vec<Institution> = front
        .bank()
        .institutions()
        .iter()
        .filter(|i| scope.as_deref().is_none_or(|s| catalogue::has_scope(i, s)))
        .filter(|i| method.as_ref().is_none_or(|m| i.method(m).is_some()))
        .filter(|i| {
            code.as_deref()
                .is_none_or(|c| i.bank_code.as_deref() == Some(c))
        })
        .cloned()
        .collect();
    Ok(send(StatusCode::OK, wire::institutions(&list)))
}

pub(super) async fn create_session(
    State(front): State<Front>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let request: wire::SessionRequest =
        serde_json::from_value(request::json(body)?).map_err(|_| {
            Fail::error(
                StatusCode::BAD_REQUEST,
                "Invalid input: institution and auth_method are required strings, customer an object with an id, or a name and email",
            )
        })?;
    check_scope_and_customer(&request)?;
    let method = AuthMethodKind::from(request.auth_method);
    let info = front
        .bank()
        .open_session(&key, &request.institution, &method, now_ms())?;
    Ok(send(StatusCode::OK, wire::session(&info)))
}

/// The scopes the sandbox's institutions offer (each lists them in `scope`).
const SCOPES: [&str; 1] = ["financial_data"];

/// A v2 session names its scope and its customer, new (`name`, `email`) or
/// existing (`id`) (mono.md §3): a client that leaves either out, or sends
/// a blank one, is refused here as a real partner would refuse it, not
/// given a session it would not get there.
fn check_scope_and_customer(request: &wire::SessionRequest) -> Result<(), Fail> {
    let invalid =
        |what: &str| Fail::error(StatusCode::BAD_REQUEST, format!("Invalid input: {what}"));
    match request.scope.as_deref() {
        Some(scope) if SCOPES.contains(&scope) => {}
        Some(_) => return Err(invalid("scope must be financial_data")),
        None => return Err(invalid("scope is required")),
    }
    let given = |s: &str| !s.trim().is_empty();
    match &request.customer {
        Some(Customer::Existing { id }) if given(id) => Ok(()),
        Some(Customer::New { name, email }) if given(name) && given(email) => Ok(()),
        _ => Err(invalid(
            "customer is required: an existing customer's id, or a new one's name and email",
        )),
    }
}

/// `POST /v2/connect/reauth/session` with `{account}` (mono.md §7): `99`
/// and a code inside `data` when the bank needs nothing, else a session
/// shaped as create-session's, logged in to at `reauth/login`.
pub(super) async fn reauth_session(
    State(front): State<Front>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let account = request::json(body)?
        .get("account")
        .and_then(Value::as_str)
        .filter(|a| !a.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Fail::error(
                StatusCode::BAD_REQUEST,
                "Invalid input: account is a required string",
            )
        })?;
    let answer = front.bank().reauthorise(&key, &account, now_ms())?;
    Ok(match answer {
        Reauthorised::Code(code) => ok(
            "Account re-authorised",
            json!({ "responseCode": 99, "code": code }),
        ),
        Reauthorised::Session(info) => send(StatusCode::OK, wire::session(&info)),
    })
}

pub(super) async fn login(
    front: State<Front>,
    key: Extension<ApiKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    login_at(front, key, headers, body, false).await
}

/// `POST /v2/connect/reauth/login`: the login of a session
/// `reauth/session` opened (mono.md §7).
pub(super) async fn reauth_login(
    front: State<Front>,
    key: Extension<ApiKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    login_at(front, key, headers, body, true).await
}

/// A login at `connect/login` (`reauth` false) or `reauth/login`: the
/// session must be of that endpoint's kind.
async fn login_at(
    State(front): State<Front>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    reauth: bool,
) -> Result<Response, Fail> {
    let sid = request::session_id(&headers)?;
    let values = request::flat_values(request::json(body)?)?;
    let answer = {
        let mut bank = front.bank();
        match (reauth, bank.is_reauth_session(&key, &sid)) {
            (false, Some(true)) => {
                return Err(Fail::error(
                    StatusCode::BAD_REQUEST,
                    "This session re-authorises an account: log in at /v2/connect/reauth/login",
                ))
            }
            (true, Some(false)) => {
                return Err(Fail::error(
                    StatusCode::BAD_REQUEST,
                    "This session is not a re-authorisation: log in at /v2/connect/login",
                ))
            }
            _ => {}
        }
        bank.login(&key, &sid, &values, now_ms())?
    };
    // A slow bank is slow here, outside the lock, so other requests go on.
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    Ok(reply::step(&answer.step))
}

pub(super) async fn commit(
    State(front): State<Front>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let sid = request::session_id(&headers)?;
    let values = request::flat_values(request::json(body)?)?;
    let account = values.get(ACCOUNT_NUMBER).map(|v| v.expose().to_owned());
    let answers: Values = values
        .iter()
        .filter(|(name, _)| *name != ACCOUNT_NUMBER)
        .map(|(name, v)| (name.clone(), v.clone()))
        .collect();
    let answer = {
        let mut bank = front.bank();
        bank.commit(&key, &sid, &answers, account.as_deref(), now_ms())?
    };
    Ok(reply::step(&answer.step))
}

pub(super) async fn sandbox_credentials(
    State(front): State<Front>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    headers: HeaderMap,
) -> Result<Response, Fail> {
    let sid = request::session_id(&headers)?;
    let (sets, hints) = {
        let bank = front.bank();
        (bank.credentials(&key, &sid, now_ms())?, bank.hints())
    };
    let credentials: Vec<Value> = sets
        .into_iter()
        .map(|set| {
            let values: Map<String, Value> = set
                .values
                .into_iter()
                .map(|(name, v)| (name, Value::String(v)))
                .collect();
            json!({
                "hasMultipleAccounts": set.has_multiple_accounts,
                "values": values,
                "description": set.behaviour,
            })
        })
        .collect();
    let inputs: Vec<Value> = hints
        .into_iter()
        .map(|h| json!({ "name": h.name, "value": h.value, "description": h.description }))
        .collect();
    Ok(ok(
        "Sandbox credentials",
        json!({ "credentials": credentials, "inputs": inputs }),
    ))
}
