//! Mono's Connect Partners API (v2, with the older v1 shapes), as described in
//! `reference/mono.md`.
//!
//! Encoding follows the configured [`MonoVersion`]. Decoding accepts the v1
//! *and* v2 shapes whatever the version: Mono mixes them (re-auth answers nest
//! `responseCode` inside `data`, v1 puts payloads straight in `data`), and a
//! tolerant reader costs nothing while a strict one fails a person mid-login.
//!
//! ```
//! use connectflow::dialect::{Dialect, HttpResponse, Mono, MonoConfig};
//! use connectflow::dialect::mono::Customer;
//! use connectflow::flow::{CallKind, Reply, Step};
//!
//! let mono = Mono::new(MonoConfig::new("test_sk_x", Customer::existing("cus_1")));
//! let body = r#"{"status":"successful","message":"ok","responseCode":99,"data":{"code":"code_xyz"}}"#;
//! let reply = mono.decode(CallKind::Login, &HttpResponse::new(200, body)).unwrap();
//! assert_eq!(reply, Reply::Step(Step::Done { code: "code_xyz".into() }));
//! ```

mod decode;
pub mod wire;

use super::{Dialect, HeaderValue, HttpRequest, HttpResponse, Method};
use crate::flow::{AccountPick, Call, CallError, CallKind, Reply, Step};
use crate::form::{Secret, Values};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use decode::{classify_rejection, parse_rfc3339_ms};

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

    fn to_json(&self) -> Value {
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
    /// Who the linked account belongs to (v2 session body).
    pub customer: Customer,
}

impl MonoConfig {
    /// A v2 config with scope `financial_data`.
    pub fn new(secret_key: impl Into<Secret>, customer: Customer) -> Self {
        MonoConfig {
            version: MonoVersion::V2,
            secret_key: secret_key.into(),
            app_id: None,
            scope: "financial_data".to_owned(),
            customer,
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
    /// its own. Re-auth calls (`/v2/connect/reauth/session` and `/login`) answer
    /// in the same shape, and may be done at once with `99` (mono.md §11.13),
    /// so a future re-auth call reuses this.
    pub fn decode_step(&self, response: &HttpResponse) -> Result<Step, CallError> {
        match decode::decode(CallKind::Login, response)? {
            Reply::Step(step) => Ok(step),
            _ => Err(CallError::Malformed("expected a login step".into())),
        }
    }

    fn path(&self, v1: &str, v2: &str) -> String {
        match self.config.version {
            MonoVersion::V1 => v1.to_owned(),
            MonoVersion::V2 => v2.to_owned(),
        }
    }

    fn post(&self, path: String, session: Option<&str>, body: Value) -> HttpRequest {
        let mut headers = vec![(
            "mono-sec-key",
            HeaderValue::Secret(self.config.secret_key.clone()),
        )];
        if let Some(id) = session {
            headers.push(("x-session-id", HeaderValue::Plain(id.to_owned())));
        }
        headers.push((
            "content-type",
            HeaderValue::Plain("application/json".to_owned()),
        ));
        HttpRequest {
            method: Method::Post,
            path,
            headers,
            // Serializing a `Value` cannot fail (all keys are strings).
            body: Some(serde_json::to_vec(&body).unwrap_or_default()),
        }
    }

    /// The flat `{name: value}` body of a login or MFA answer, names byte for
    /// byte as the form gave them (mono.md §11.8).
    fn values_body(values: &Values) -> Map<String, Value> {
        values
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.expose().to_owned())))
            .collect()
    }

    /// v1 picks by index *as a string*; v2 by number, merged with any MFA
    /// answers (mono.md §4, §11.6).
    fn pick(&self, body: &mut Map<String, Value>, pick: &AccountPick) {
        match self.config.version {
            MonoVersion::V1 => body.insert("account".into(), Value::String(pick.index.to_string())),
            MonoVersion::V2 => {
                body.insert("accountNumber".into(), Value::String(pick.number.clone()))
            }
        };
    }
}

impl Dialect for Mono {
    fn encode(&self, call: &Call) -> HttpRequest {
        let v2 = self.config.version == MonoVersion::V2;
        match call {
            Call::ListInstitutions => HttpRequest {
                method: Method::Get,
                path: if v2 {
                    format!(
                        "/v3/institutions?scope={}",
                        percent_encode(&self.config.scope)
                    )
                } else {
                    "/v1/institutions".to_owned()
                },
                headers: vec![(
                    "mono-sec-key",
                    HeaderValue::Secret(self.config.secret_key.clone()),
                )],
                body: None,
            },
            Call::CreateSession {
                institution,
                auth_method,
            } => {
                let mut body = Map::new();
                if !v2 {
                    if let Some(app) = &self.config.app_id {
                        body.insert("app".into(), Value::String(app.clone()));
                    }
                }
                body.insert("institution".into(), Value::String(institution.clone()));
                body.insert(
                    "auth_method".into(),
                    Value::String(auth_method.as_str().to_owned()),
                );
                if v2 {
                    body.insert("scope".into(), Value::String(self.config.scope.clone()));
                    body.insert("customer".into(), self.config.customer.to_json());
                }
                self.post(
                    self.path("/v1/connect/session", "/v2/connect/session"),
                    None,
                    Value::Object(body),
                )
            }
            Call::Login { session, values } => self.post(
                self.path("/v1/connect/login", "/v2/connect/login"),
                Some(session),
                Value::Object(Self::values_body(values)),
            ),
            Call::Commit {
                session,
                values,
                account,
            } => {
                let mut body = Self::values_body(values);
                if let Some(pick) = account {
                    self.pick(&mut body, pick);
                }
                self.post(
                    self.path("/v1/connect/commit", "/v2/connect/commit"),
                    Some(session),
                    Value::Object(body),
                )
            }
            Call::ExchangeCode { code } => self.post(
                self.path("/account/auth", "/v2/accounts/auth"),
                None,
                serde_json::json!({ "code": code }),
            ),
        }
    }

    fn decode(&self, call: CallKind, response: &HttpResponse) -> Result<Reply, CallError> {
        decode::decode(call, response)
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass), so a
/// configured scope can never break the request line.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
