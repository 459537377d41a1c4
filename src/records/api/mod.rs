//! Okra's six Auth endpoints over the records, under `/v2/`, so an Okra
//! client pointed at `http://HOST/v2/` works unchanged:
//!
//! | route | body |
//! |---|---|
//! | `POST /v2/auth/getById` | `{id}` |
//! | `POST /v2/auth/getByCustomer` | `{customer, page, limit}` |
//! | `POST /v2/auth/getByDate` | `{from, to, page, limit}` |
//! | `POST /v2/auth/getByBank` | `{bank, page, limit}` |
//! | `POST /v2/auth/getByCustomerDate` | `{customer, from, to, page, limit}` |
//! | `POST /v2/products/auths` | `{page, limit}` (body optional) |
//!
//! Every route needs `Authorization: Bearer <api key>`. Success is
//! `{status: "success", message, data: {pagination, auths}}`
//! (`/products/auths` adds `data.total`); a problem is
//! `{status: "error", message, data: null}` with a 4xx — or a 503 when the
//! database cannot be read — never a 500.

mod request;

use super::pagination::{PageRequest, Pagination};
use super::store::{AuthStore, Filter, RecordsError};
use super::Auth;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use std::sync::Arc;

/// Okra's success message, spelled as in Okra's own samples.
const FOUND: &str = "Auth retrieved succesfully";

pub use crate::server::ApiKey;

/// A problem, answered in Okra's error envelope.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<RecordsError> for ApiError {
    fn from(e: RecordsError) -> ApiError {
        tracing::warn!(error = %e, "records API: the database failed");
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the records are not available right now; try again".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "status": "error", "message": self.message, "data": null });
        (self.status, axum::Json(body)).into_response()
    }
}

#[derive(Serialize)]
struct Envelope<D: Serialize> {
    status: &'static str,
    message: &'static str,
    data: D,
}

#[derive(Serialize)]
struct Listing<'a> {
    pagination: Pagination,
    auths: &'a [Auth],
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
}

#[derive(Clone)]
struct Api {
    store: Arc<dyn AuthStore>,
    key: Option<Arc<ApiKey>>,
}

/// The `/v2/` routes over `store`. With no `key` every request is refused
/// (401): the records are personal data, and there is no safe default.
pub fn router(store: Arc<dyn AuthStore>, key: Option<ApiKey>) -> Router {
    let api = Api {
        store,
        key: key.map(Arc::new),
    };
    let routes = Router::new()
        .route("/v2/auth/getById", post(get_by_id))
        .route("/v2/auth/getByCustomer", post(get_by_customer))
        .route("/v2/auth/getByDate", post(get_by_date))
        .route("/v2/auth/getByBank", post(get_by_bank))
        .route("/v2/auth/getByCustomerDate", post(get_by_customer_date))
        .route("/v2/products/auths", post(products_auths));
    // Every answer under `/v2` in Okra's envelope, a wrong method's and an
    // unknown path's too (axum's own are an empty 405 and the app's plain
    // 404), as the link API does for `/link/v1`.
    crate::server::unknown_under(routes, "/v2", unknown_route)
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: "this route takes POST".into(),
            }
        })
        .with_state(api)
}

async fn unknown_route() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        message: "no such route".into(),
    }
}

type Body = Result<Bytes, BytesRejection>;

impl Api {
    /// The body as an object, once the caller is admitted.
    fn admit(
        &self,
        headers: &HeaderMap,
        body: Body,
        optional: bool,
    ) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
        let admitted = self.key.as_ref().is_some_and(|k| k.admits(headers));
        if !admitted {
            return Err(ApiError {
                status: StatusCode::UNAUTHORIZED,
                message: match self.key {
                    Some(_) => "missing or wrong API key (Authorization: Bearer <key>)".into(),
                    None => "the records API is off: the server has no CONNECTFLOW_API_KEY".into(),
                },
            });
        }
        let bytes = body.map_err(|e| ApiError {
            status: e.status(),
            message: "the body could not be read".into(),
        })?;
        request::object(&bytes, optional)
    }

    async fn list(
        &self,
        filter: Filter,
        page: PageRequest,
        total: bool,
    ) -> Result<Response, ApiError> {
        let found = self.store.find(&filter, page).await?;
        let listing = Listing {
            pagination: Pagination::new(page, found.total),
            auths: &found.auths,
            total: total.then_some(found.total),
        };
        Ok(ok(listing))
    }
}

fn ok<D: Serialize>(data: D) -> Response {
    axum::Json(Envelope {
        status: "success",
        message: FOUND,
        data,
    })
    .into_response()
}

async fn get_by_id(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = api.admit(&headers, body, false)?;
    let id = request::id(&body, "id")?;
    let auth = api.store.get(&id).await?.ok_or_else(|| ApiError {
        status: StatusCode::NOT_FOUND,
        message: format!("no auth with id {id:?}"),
    })?;
    let page = PageRequest::new(1, 1).unwrap_or_default();
    Ok(ok(Listing {
        pagination: Pagination::new(page, 1),
        auths: std::slice::from_ref(&auth),
        total: None,
    }))
}

async fn get_by_customer(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = api.admit(&headers, body, false)?;
    let filter = Filter {
        customer: Some(request::id(&body, "customer")?),
        ..Filter::default()
    };
    api.list(filter, request::page(&body)?, false).await
}

async fn get_by_date(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = api.admit(&headers, body, false)?;
    let (from, until) = request::days(&body)?;
    let filter = Filter {
        from: Some(from),
        until: Some(until),
        ..Filter::default()
    };
    api.list(filter, request::page(&body)?, false).await
}

async fn get_by_bank(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = api.admit(&headers, body, false)?;
    let filter = Filter {
        bank: Some(request::id(&body, "bank")?),
        ..Filter::default()
    };
    api.list(filter, request::page(&body)?, false).await
}

async fn get_by_customer_date(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = api.admit(&headers, body, false)?;
    let customer = request::id(&body, "customer")?;
    let (from, until) = request::days(&body)?;
    let filter = Filter {
        customer: Some(customer),
        from: Some(from),
        until: Some(until),
        ..Filter::default()
    };
    api.list(filter, request::page(&body)?, false).await
}

async fn products_auths(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = api.admit(&headers, body, true)?;
    api.list(Filter::default(), request::page(&body)?, true)
        .await
}
