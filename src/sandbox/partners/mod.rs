//! The partner admin front of the sandbox: a partner logs in with an email
//! and password for a bearer token, then creates, lists, updates, deletes
//! and switches to live its apps, on the paths and shapes of
//! [`crate::dialect::mono::admin`] (connectflow's **unconfirmed** choice;
//! see there). Replies are built with that module's [`wire`], so the
//! client and the sandbox read and write the same thing.
//!
//! Two accounts exist ([`PARTNER_EMAIL`](super::PARTNER_EMAIL) and
//! [`OTHER_PARTNER_EMAIL`](super::OTHER_PARTNER_EMAIL)), so a test can show
//! that one partner's apps are not the other's. Tokens last
//! [`partner_token_ttl`](super::SandboxConfig::partner_token_ttl).

mod state;

use super::front::{now_ms, OsEntropy};
use super::mono::BODY_LIMIT;
use super::SandboxConfig;
use crate::dialect::mono::admin::{wire, AdminPaths, AppPatch, NewApp};
use crate::dialect::mono::wire::Envelope;
use crate::flow::Timestamp;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use state::{Account, PartnerError, Partners};
use std::sync::{Arc, Mutex, MutexGuard};

/// The routes' shared state.
#[derive(Clone)]
struct Front(Arc<Mutex<Partners>>);

impl Front {
    /// A poisoned lock only means another handler panicked mid-update; the
    /// state is still usable, and a sandbox must keep answering.
    fn partners(&self) -> MutexGuard<'_, Partners> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The admin routes over fresh state, on the default paths.
pub(crate) fn router(config: &SandboxConfig) -> Router {
    let accounts = vec![
        Account {
            email: super::PARTNER_EMAIL,
            password: super::PARTNER_PASSWORD,
        },
        Account {
            email: super::OTHER_PARTNER_EMAIL,
            password: super::OTHER_PARTNER_PASSWORD,
        },
    ];
    let front = Front(Arc::new(Mutex::new(Partners::new(
        accounts,
        config.partner_token_ttl,
        Box::new(OsEntropy),
    ))));
    let paths = AdminPaths::default();
    Router::new()
        .route(&paths.login, post(login))
        .route(
            &paths.apps,
            post(create).get(list).patch(update).delete(delete),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(front)
}

/// A refusal on its way out.
struct Fail(StatusCode, Envelope);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<PartnerError> for Fail {
    fn from(e: PartnerError) -> Fail {
        let message = e.to_string();
        let (status, data) = match e {
            PartnerError::WrongCredentials => (StatusCode::UNAUTHORIZED, Value::Null),
            PartnerError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                wire::auth_code(wire::UNAUTHENTICATED),
            ),
            PartnerError::TokenExpired => (
                StatusCode::UNAUTHORIZED,
                wire::auth_code(wire::TOKEN_EXPIRED),
            ),
            PartnerError::Forbidden => (StatusCode::FORBIDDEN, Value::Null),
            PartnerError::NotFound => (StatusCode::NOT_FOUND, Value::Null),
            PartnerError::Invalid { field, .. } => {
                (StatusCode::BAD_REQUEST, wire::invalid_field(field))
            }
            PartnerError::TooManyApps => (StatusCode::TOO_MANY_REQUESTS, Value::Null),
        };
        Fail(status, wire::failure(message, data))
    }
}

fn bad_request(field: &str, message: impl Into<String>) -> Fail {
    Fail(
        StatusCode::BAD_REQUEST,
        wire::failure(message, wire::invalid_field(field)),
    )
}

/// The body as `T`, or a `400` in the envelope (never axum's plain text).
fn body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Fail> {
    let bytes = body.map_err(|r| {
        let status = r.status();
        Fail(
            status,
            wire::failure(
                format!("Could not read the request body (at most {BODY_LIMIT} bytes)"),
                Value::Null,
            ),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| bad_request("", format!("Invalid body: {e}")))
}

/// The partner behind `Authorization: Bearer …`.
fn owner(front: &Front, headers: &HeaderMap) -> Result<&'static str, Fail> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    Ok(front.partners().owner(token, Timestamp(now_ms()))?)
}

fn ok(status: StatusCode, envelope: Envelope) -> Response {
    (status, Json(envelope)).into_response()
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login(State(front): State<Front>, raw: Result<Bytes, BytesRejection>) -> Response {
    let run = || -> Result<Response, Fail> {
        let creds: Credentials = body(raw)?;
        let now = Timestamp(now_ms());
        let (token, expires_at) = front.partners().login(&creds.email, &creds.password, now)?;
        Ok(ok(StatusCode::OK, wire::token(&token, now, expires_at)))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

async fn list(State(front): State<Front>, headers: HeaderMap) -> Response {
    let run = || -> Result<Response, Fail> {
        let owner = owner(&front, &headers)?;
        Ok(ok(
            StatusCode::OK,
            wire::apps(&front.partners().list(owner)),
        ))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

async fn create(
    State(front): State<Front>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let run = || -> Result<Response, Fail> {
        let owner = owner(&front, &headers)?;
        let new: NewApp = body(raw)?;
        let app = front.partners().create(owner, new, Timestamp(now_ms()))?;
        Ok(ok(
            StatusCode::CREATED,
            wire::app_reply("App created", &app),
        ))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

/// `?id=` of update and delete.
#[derive(Deserialize)]
struct Id {
    id: Option<String>,
}

fn id(query: Result<Query<Id>, QueryRejection>) -> Result<String, Fail> {
    query
        .ok()
        .and_then(|Query(q)| q.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| bad_request("id", "Missing app id: add ?id=<app id>"))
}

async fn update(
    State(front): State<Front>,
    headers: HeaderMap,
    query: Result<Query<Id>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let run = || -> Result<Response, Fail> {
        let owner = owner(&front, &headers)?;
        let id = id(query)?;
        let patch: AppPatch = body(raw)?;
        let app = front.partners().update(owner, &id, patch)?;
        Ok(ok(StatusCode::OK, wire::app_reply("App updated", &app)))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

async fn delete(
    State(front): State<Front>,
    headers: HeaderMap,
    query: Result<Query<Id>, QueryRejection>,
) -> Response {
    let run = || -> Result<Response, Fail> {
        let owner = owner(&front, &headers)?;
        let id = id(query)?;
        front.partners().delete(owner, &id)?;
        Ok(ok(StatusCode::OK, wire::deleted(&id)))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}
