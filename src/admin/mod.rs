//! The partner admin client: log in to Mono's partner API with the
//! account's email and password, then create, list, update, delete and
//! switch to live the partner's apps (feature `admin`).
//!
//! A thin reqwest shell around the pure codec
//! [`crate::dialect::mono::admin`], whose module documentation lists the
//! paths and shapes. **Those paths are unconfirmed** (`reference/mono.md`
//! §1 says the calls exist but not where): the defaults are connectflow's
//! choice, and [`AdminClient::with_paths`] overrides them. None of this is
//! part of the connect flow.
//!
//! ```no_run
//! # async fn demo() -> Result<(), connectflow::admin::AdminError> {
//! use connectflow::admin::{AdminClient, NewApp};
//! use connectflow::form::Secret;
//!
//! let client = AdminClient::new("https://api.withmono.com")?;
//! let token = client.login("me@example.com", &Secret::new("password")).await?;
//! let app = client.create_app(&token, &NewApp::named("Shop")).await?;
//! client.go_live(&token, &app.id).await?;
//! # Ok(()) }
//! ```

use crate::dialect::mono::admin::{self as codec, AdminCodec};
use crate::dialect::{HttpRequest, HttpResponse, Method};
use crate::flow::Timestamp;
use crate::form::Secret;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::dialect::mono::admin::{AccessToken, AdminError, AdminPaths, App, AppPatch, NewApp};

/// Largest reply read: an app list is small; anything bigger is not ours.
const MAX_REPLY_BYTES: usize = 1 << 20;

/// Talks to the partner admin API at one base URL. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base_url: String,
    codec: AdminCodec,
}

impl AdminClient {
    /// A client for `base_url` (no trailing slash needed) on the default,
    /// unconfirmed [`AdminPaths`], with a 30 s timeout per call.
    pub fn new(base_url: impl Into<String>) -> Result<Self, AdminError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| AdminError::Transport(e.to_string()))?;
        Ok(AdminClient {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            codec: AdminCodec::default(),
        })
    }

    /// The same client on other paths (the real ones, once known).
    pub fn with_paths(mut self, paths: AdminPaths) -> Self {
        self.codec = AdminCodec::new(paths);
        self
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Logs in: an access token and its expiry, or
    /// [`AdminError::WrongCredentials`].
    pub async fn login(&self, email: &str, password: &Secret) -> Result<AccessToken, AdminError> {
        let response = self.send(&self.codec.login(email, password)).await?;
        codec::decode_login(&response, now())
    }

    /// The token's partner's apps.
    pub async fn list_apps(&self, token: &AccessToken) -> Result<Vec<App>, AdminError> {
        codec::decode_apps(&self.send(&self.codec.list_apps(token)).await?)
    }

    /// Creates an app in sandbox mode.
    pub async fn create_app(&self, token: &AccessToken, app: &NewApp) -> Result<App, AdminError> {
        codec::decode_app(&self.send(&self.codec.create_app(token, app)).await?)
    }

    /// Changes the fields `patch` sets on app `id`.
    pub async fn update_app(
        &self,
        token: &AccessToken,
        id: &str,
        patch: &AppPatch,
    ) -> Result<App, AdminError> {
        codec::decode_app(&self.send(&self.codec.update_app(token, id, patch)).await?)
    }

    /// Switches app `id` to live (`{live: true}`).
    pub async fn go_live(&self, token: &AccessToken, id: &str) -> Result<App, AdminError> {
        codec::decode_app(&self.send(&self.codec.go_live(token, id)).await?)
    }

    /// Deletes app `id`.
    pub async fn delete_app(&self, token: &AccessToken, id: &str) -> Result<(), AdminError> {
        codec::decode_deleted(&self.send(&self.codec.delete_app(token, id)).await?)
    }

    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, AdminError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
            Method::Patch => reqwest::Method::PATCH,
        };
        let url = format!("{}{}", self.base_url, request.path);
        let mut builder = self.http.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.expose());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        // Bodies and headers carry the password and the token: only the
        // method, path and status are logged.
        let transport = |e: reqwest::Error| AdminError::Transport(e.without_url().to_string());
        let mut response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(AdminError::Malformed(format!(
                    "reply larger than {MAX_REPLY_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(method = %request.method, path = %request.path, status, "partner admin call");
        Ok(HttpResponse::new(status, body))
    }
}

/// The wall clock, for a token's `expires_in`.
fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp(ms)
}
