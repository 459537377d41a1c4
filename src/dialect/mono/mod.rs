//! Mono's Connect Partners API (v2, with the older v1 shapes), as described in
//! `reference/mono.md`.
//!
//! Encoding follows the configured [`MonoVersion`]. Decoding accepts the v1
//! *and* v2 shapes whatever the version: Mono mixes them (re-auth answers nest
//! `responseCode` inside `data`, v1 puts payloads straight in `data`), and a
//! tolerant reader costs nothing while a strict one fails a person mid-login.
//!
//! What each `responseCode` means is decided in `step.rs`; requests are
//! built in `encode.rs`, every other reply is read in `decode.rs`.
//!
//! ```
//! use connectflow::dialect::{Dialect, HttpResponse, Mono, MonoConfig};
//! use connectflow::dialect::mono::Customer;
//! use connectflow::flow::{Call, Reply, Step, Timestamp};
//!
//! let mono = Mono::new(MonoConfig::new("test_sk_x", Customer::existing("cus_1")));
//! let body = r#"{"status":"successful","message":"ok","responseCode":99,"data":{"code":"code_xyz"}}"#;
//! let call = Call::ExchangeCode { code: "unused".into() }; // any call of the login loop reads the same
//! let reply = mono.decode_step(&HttpResponse::new(200, body)).unwrap();
//! assert_eq!(reply, Step::code("code_xyz"));
//! # let _ = (call, Timestamp(0));
//! ```

pub mod admin;
mod decode;
mod encode;
mod json;
mod step;
mod time;
pub mod wire;

use super::{Dialect, Encoded, HttpResponse};
use crate::flow::{Call, CallError, CallKind, Reply, Step, Timestamp};
use crate::form::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use step::classify_rejection;
pub use time::parse_rfc3339_ms;

/// Which generation of the Partners API to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonoVersion {
    /// The "White Label" API: app id in the session body, account picked by
    /// index.
    V1,
    /// The current API: customer and scope in the session body, account picked
    /// by number.
    #[default]
    V2,
}

/// The Mono customer a v2 session links the account to. Serialized exactly as
/// Mono's `customer` object: `{"id"}` or `{"name", "email"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Customer {
    /// A customer Mono already knows.
    Existing {
        /// Mono customer id.
        id: String,
    },
    /// A customer Mono creates with this session.
    New {
        /// Full name.
        name: String,
        /// Email address.
        email: String,
    },
}

impl Customer {
    /// `{"id": id}`.
    pub fn existing(id: impl Into<String>) -> Self {
        Customer::Existing { id: id.into() }
    }

    /// `{"name": name, "email": email}`.
    pub fn new_customer(name: impl Into<String>, email: impl Into<String>) -> Self {
        Customer::New {
            name: name.into(),
            email: email.into(),
        }
    }

    pub(super) fn to_json(&self) -> Value {
        match self {
            Customer::Existing { id } => serde_json::json!({ "id": id }),
            Customer::New { name, email } => serde_json::json!({ "name": name, "email": email }),
        }
    }
}

/// Everything the Mono dialect needs besides the call itself. No `Serialize`:
/// it holds the secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonoConfig {
    /// Which API generation to encode for.
    pub version: MonoVersion,
    /// `mono-sec-key`; `test_sk_…` selects the sandbox, `live_sk_…` live.
    pub secret_key: Secret,
    /// The v1 app id, sent as `app` in the session body (v2 identifies the app
    /// by the key alone).
    pub app_id: Option<String>,
    /// The v2 `scope` (and institution filter), normally `financial_data`.
    pub scope: String,
    /// Who the linked account belongs to (v2 session body) when the flow
    /// names no one ([`FlowConfig::customer`]). `None`: every flow must name
    /// its own, and a session for one that does not is refused before it is
    /// sent (a host that names each person's customer must never have one
    /// filed under a shared one).
    ///
    /// [`FlowConfig::customer`]: crate::flow::FlowConfig::customer
    pub customer: Option<Customer>,
}

impl MonoConfig {
    /// A v2 config with scope `financial_data`.
    pub fn new(secret_key: impl Into<Secret>, customer: Customer) -> Self {
        MonoConfig {
            version: MonoVersion::V2,
            secret_key: secret_key.into(),
            app_id: None,
            scope: "financial_data".to_owned(),
            customer: Some(customer),
        }
    }

    /// A v2 config with scope `financial_data` and no customer of its own:
    /// each flow names its person's ([`customer`](Self::customer)).
    pub fn per_flow_customer(secret_key: impl Into<Secret>) -> Self {
        MonoConfig {
            customer: None,
            ..MonoConfig::new(secret_key, Customer::existing(""))
        }
    }

    /// Sets the API version (builder style).
    pub fn version(mut self, version: MonoVersion) -> Self {
        self.version = version;
        self
    }

    /// Sets the v1 app id (builder style).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// Sets the scope (builder style).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }
}

/// The Mono dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mono {
    /// How to speak to Mono.
    pub config: MonoConfig,
}

impl Mono {
    /// A dialect for this config.
    pub fn new(config: MonoConfig) -> Self {
        Mono { config }
    }

    /// Reads a login/commit-shaped answer (the `99`/`101`/`102`/`400` loop) on
    /// its own. Re-auth calls (`/v2/connect/reauth/session` and `/login`)
    /// answer in the same shape, and may be done at once with `99`
    /// (mono.md §11.13).
    pub fn decode_step(&self, response: &HttpResponse) -> Result<Step, CallError> {
        match decode::decode(CallKind::Login, response)? {
            Reply::Step(step) => Ok(step),
            _ => Err(CallError::Malformed("expected a login step".into())),
        }
    }
}

impl Dialect for Mono {
    fn partner(&self) -> &'static str {
        "mono"
    }

    fn encode(&self, call: &Call, _now: Timestamp) -> Encoded {
        encode::encode(&self.config, call)
    }

    fn decode(
        &self,
        call: &Call,
        response: &HttpResponse,
        _now: Timestamp,
    ) -> Result<Reply, CallError> {
        decode::decode(call.kind(), response)
    }
}
