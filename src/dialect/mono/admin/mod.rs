//! Mono's partner admin calls — log in as a partner, create, list, update
//! and delete apps, switch an app to live — as a pure codec: request
//! builders ([`AdminCodec`]) and reply decoders, with no I/O. The async
//! client is `connectflow::admin` (feature `admin`); the sandbox answers the
//! same wire with the builders in [`wire`].
//!
//! # Paths and shapes: chosen, **unconfirmed**
//!
//! `reference/mono.md` §1 says these partner-level calls exist but that their
//! paths are **unconfirmed**, and it keeps them out of the connect flow (they
//! are: nothing here is a [`Call`](crate::flow::Call)). Every path below is
//! connectflow's choice, not Mono's documented API, and lives in
//! [`AdminPaths`] so a host that learns the real ones overrides them without
//! a new release:
//!
//! | call | request (default paths) | answer `data` |
//! |---|---|---|
//! | log in | `POST /v1/partners/login` `{email, password}` | `{access_token, token_type: "Bearer", expires_in, expires_at}` |
//! | list apps | `GET /v1/partners/apps` | `[App]` |
//! | create app | `POST /v1/partners/apps` `{name, display_name?, icon_url?}` | `App` (HTTP 201) |
//! | update app | `PATCH /v1/partners/apps?id=ID` `{name?, display_name?, icon_url?, live?}` | `App` |
//! | go live | the update with `{live: true}` | `App` |
//! | delete app | `DELETE /v1/partners/apps?id=ID` | `{id, deleted: true}` |
//!
//! The app id travels as the query parameter `id`, as the seed
//! describes. Every call but the login sends `Authorization: Bearer
//! <access token>` (also a choice). Bodies use Mono's envelope
//! `{status, message, data}`; an `App` is `{id, name, display_name,
//! icon_url, live, created_at}` (`created_at` in epoch ms; an RFC 3339
//! string and `_id` are read too).
//!
//! Refusals are the envelope with `status: "failed"` and are read by HTTP
//! status: `401` on the login is [`AdminError::WrongCredentials`], elsewhere
//! [`AdminError::TokenExpired`] when `data.code` is `token_expired` (else
//! [`AdminError::NotAuthenticated`]); `403` another owner's app, `404` an
//! unknown one, `400` a field named in `data.field`, `429`/`5xx`
//! unavailable.

mod decode;
mod encode;
pub mod wire;

pub use decode::{decode_app, decode_apps, decode_deleted, decode_login, AdminError};
pub use encode::AdminCodec;

use crate::flow::Timestamp;
use crate::form::Secret;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where the admin calls go. The defaults are connectflow's **unconfirmed**
/// choice (see the [module documentation](self)); override any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPaths {
    /// The partner login. Default `/v1/partners/login`.
    pub login: String,
    /// The apps collection: `GET`/`POST` on it, `PATCH`/`DELETE` with
    /// `?id=`. Default `/v1/partners/apps`.
    pub apps: String,
}

impl Default for AdminPaths {
    fn default() -> Self {
        AdminPaths {
            login: "/v1/partners/login".into(),
            apps: "/v1/partners/apps".into(),
        }
    }
}

/// A partner's access token, from a login. The token is a [`Secret`]: it is
/// `***` in `Debug` and nowhere serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// When it stops working, if the partner said.
    pub expires_at: Option<Timestamp>,
}

impl AccessToken {
    /// A token the partner gave out (or one read back from a file).
    pub fn new(token: impl Into<Secret>, expires_at: Option<Timestamp>) -> Self {
        AccessToken {
            token: token.into(),
            expires_at,
        }
    }

    /// True when its expiry is known and not after `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &self.token)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// One of a partner's apps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// The app id (what update, delete and live take).
    pub id: String,
    /// The app's name.
    pub name: String,
    /// The name shown to people linking, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// An `http(s)` URL of the app's icon, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Live (`live_sk_` keys work) rather than sandbox.
    pub live: bool,
    /// When it was created, epoch ms.
    pub created_at: Timestamp,
}

/// What creating an app takes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewApp {
    /// The app's name (required, not blank). Read as empty when absent, so
    /// that a server refuses it as a blank name rather than a bad body.
    #[serde(default)]
    pub name: String,
    /// The name shown to people linking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// An `http(s)` URL of the app's icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

impl NewApp {
    /// An app with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        NewApp {
            name: name.into(),
            ..NewApp::default()
        }
    }
}

/// A change to an app: only the fields set are sent, and changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AppPatch {
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A new icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// `true` switches the app to live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<bool>,
}

impl AppPatch {
    /// The patch that switches an app to live: `{live: true}`.
    pub fn go_live() -> Self {
        AppPatch {
            live: Some(true),
            ..AppPatch::default()
        }
    }

    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &AppPatch::default()
    }
}
