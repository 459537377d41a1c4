//! Building the admin requests. The base URL is the client's; the paths are
//! [`AdminPaths`], so the same builders target live, the sandbox or a path
//! Mono turns out to use.

use super::{AccessToken, AdminPaths, AppPatch, NewApp};
use crate::dialect::percent_encode;
use crate::dialect::{HeaderValue, HttpRequest, Method};
use crate::form::Secret;
use serde_json::json;

/// The admin calls' request builders (pure). Decoders are the `decode_*`
/// functions beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminCodec {
    paths: AdminPaths,
}

impl AdminCodec {
    /// Builders for `paths`.
    pub fn new(paths: AdminPaths) -> Self {
        AdminCodec { paths }
    }

    /// The paths in use.
    pub fn paths(&self) -> &AdminPaths {
        &self.paths
    }

    /// `POST {login}` with `{email, password}`: the only request with no
    /// token. Its body holds the password, which [`HttpRequest`]'s `Debug`
    /// never prints.
    pub fn login(&self, email: &str, password: &Secret) -> HttpRequest {
        let body = json!({ "email": email, "password": password.expose() });
        json_request(
            Method::Post,
            self.paths.login.clone(),
            None,
            body.to_string(),
        )
    }

    /// `GET {apps}`.
    pub fn list_apps(&self, token: &AccessToken) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            path: self.paths.apps.clone(),
            headers: vec![bearer(token)],
            body: None,
        }
    }

    /// `POST {apps}` with the new app.
    pub fn create_app(&self, token: &AccessToken, app: &NewApp) -> HttpRequest {
        let body = serde_json::to_string(app).unwrap_or_default();
        json_request(Method::Post, self.paths.apps.clone(), Some(token), body)
    }

    /// `PATCH {apps}?id=ID` with the fields to change.
    pub fn update_app(&self, token: &AccessToken, id: &str, patch: &AppPatch) -> HttpRequest {
        let body = serde_json::to_string(patch).unwrap_or_default();
        json_request(Method::Patch, self.with_id(id), Some(token), body)
    }

    /// `PATCH {apps}?id=ID` with `{live: true}`.
    pub fn go_live(&self, token: &AccessToken, id: &str) -> HttpRequest {
        self.update_app(token, id, &AppPatch::go_live())
    }

    /// `DELETE {apps}?id=ID`.
    pub fn delete_app(&self, token: &AccessToken, id: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Delete,
            path: self.with_id(id),
            headers: vec![bearer(token)],
            body: None,
        }
    }

    /// The apps path with `id` as its query parameter (appended with `&`
    /// when an overriding path already has a query).
    fn with_id(&self, id: &str) -> String {
        let sep = if self.paths.apps.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}id={}", self.paths.apps, percent_encode(id))
    }
}

fn bearer(token: &AccessToken) -> (&'static str, HeaderValue) {
    (
        "authorization",
        HeaderValue::Secret(Secret::new(format!("Bearer {}", token.token.expose()))),
    )
}

/// A request with a JSON body, and the token when there is one.
fn json_request(
    method: Method,
    path: String,
    token: Option<&AccessToken>,
    body: String,
) -> HttpRequest {
    let mut headers = vec![(
        "content-type",
        HeaderValue::Plain("application/json".into()),
    )];
    headers.extend(token.map(bearer));
    HttpRequest {
        method,
        path,
        headers,
        body: Some(body.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_query_parameters_escaped_and_tokens_are_never_printed() {
        let codec = AdminCodec::default();
        let token = AccessToken::new("pat_secret_value", None);
        let req = codec.delete_app(&token, "app 1&x=2");
        assert_eq!(req.path, "/v1/partners/apps?id=app%201%26x%3D2");
        assert_eq!(
            req.header("authorization").map(HeaderValue::expose),
            Some("Bearer pat_secret_value")
        );
        assert!(!format!("{req:?}").contains("pat_secret_value"));
        let custom = AdminCodec::new(AdminPaths {
            login: "/partner/auth".into(),
            apps: "/partner/apps?v=2".into(),
        });
        assert_eq!(custom.go_live(&token, "a1").path, "/partner/apps?v=2&id=a1");
        assert_eq!(
            custom.go_live(&token, "a1").body.as_deref(),
            Some(&br#"{"live":true}"#[..])
        );
        let login = custom.login("p@x.dev", &Secret::new("hunter2"));
        assert_eq!(login.path, "/partner/auth");
        assert!(login.header("authorization").is_none());
        assert!(!format!("{login:?}").contains("hunter2"));
    }
}
