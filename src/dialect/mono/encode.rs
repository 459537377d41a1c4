//! Building Mono requests from flow calls (mono.md §1–§5).

use super::{Customer, MonoConfig, MonoVersion};
use crate::dialect::{percent_encode, Encoded, HeaderValue, HttpRequest, Method};
use crate::flow::{AccountChoice, Call, CallError, PartnerCustomer};
use crate::form::Values;
use serde_json::{Map, Value};

pub(super) fn encode(config: &MonoConfig, call: &Call) -> Encoded {
    let v2 = config.version == MonoVersion::V2;
    let path = |v1: &str, v2_path: &str| if v2 { v2_path } else { v1 }.to_owned();
    Encoded::Http(match call {
        Call::ListInstitutions => HttpRequest {
            method: Method::Get,
            path: if v2 {
                format!("/v3/institutions?scope={}", percent_encode(&config.scope))
            } else {
                "/v1/institutions".to_owned()
            },
            headers: vec![(
                "mono-sec-key",
                HeaderValue::Secret(config.secret_key.clone()),
            )],
            body: None,
        },
        Call::CreateSession {
            institution,
            auth_method,
            customer,
        } => {
            let mut body = Map::new();
            if !v2 {
                if let Some(app) = &config.app_id {
                    body.insert("app".into(), Value::String(app.clone()));
                }
            }
            body.insert("institution".into(), Value::String(institution.clone()));
            body.insert(
                "auth_method".into(),
                Value::String(auth_method.as_str().to_owned()),
            );
            if v2 {
                body.insert("scope".into(), Value::String(config.scope.clone()));
                // The flow's customer (the host's, per person), else the
                // one this dialect was configured with.
                let customer = match (customer, &config.customer) {
                    (Some(PartnerCustomer::Known { id }), _) => Customer::existing(id.clone()),
                    (Some(PartnerCustomer::New { name, email }), _) => {
                        Customer::new_customer(name.clone(), email.clone())
                    }
                    (None, Some(configured)) => configured.clone(),
                    (None, None) => {
                        return Encoded::Local(Err(CallError::Malformed(
                            "no Mono customer for this session: this host names one per flow"
                                .into(),
                        )))
                    }
                };
                body.insert("customer".into(), customer.to_json());
            }
            post(
                config,
                path("/v1/connect/session", "/v2/connect/session"),
                None,
                Value::Object(body),
            )
        }
        // v2 only: v1's re-authorisation hands a token to the widget
        // (mono.md §7), which a headless flow cannot use.
        Call::Reauthorise { account, .. } => {
            if !v2 {
                return Encoded::Local(Err(CallError::Malformed(
                    "re-authorisation needs Mono's v2 Partners API".into(),
                )));
            }
            post(
                config,
                "/v2/connect/reauth/session".to_owned(),
                None,
                serde_json::json!({ "account": account }),
            )
        }
        // Mono's login names neither institution nor method: the session
        // does. A re-authorisation session logs in at its own path.
        Call::Login {
            session, values, ..
        } => {
            let reauth = session.continuation.as_ref().map(|c| c.as_str()) == Some(REAUTH);
            let path = if reauth {
                "/v2/connect/reauth/login".to_owned()
            } else {
                path("/v1/connect/login", "/v2/connect/login")
            };
            post(
                config,
                path,
                Some(&session.id),
                Value::Object(values_body(values)),
            )
        }
        Call::Commit {
            session,
            values,
            account,
        } => {
            let mut body = values_body(values);
            if let Some(choice) = account {
                pick(config.version, &mut body, choice);
            }
            post(
                config,
                path("/v1/connect/commit", "/v2/connect/commit"),
                Some(&session.id),
                Value::Object(body),
            )
        }
        // Mono never answers "pending", so a flow never polls it.
        Call::Poll { .. } => {
            return Encoded::Local(Err(CallError::Malformed(
                "Mono has no pending steps to poll".into(),
            )))
        }
        Call::ExchangeCode { code } => post(
            config,
            path("/account/auth", "/v2/accounts/auth"),
            None,
            serde_json::json!({ "code": code }),
        ),
    })
}

/// The continuation a re-authorisation session carries into its login, so
/// the login goes to `reauth/login` (set by the decoder of `reauth/session`).
pub(super) const REAUTH: &str = "reauth";

fn post(config: &MonoConfig, path: String, session: Option<&str>, body: Value) -> HttpRequest {
    let mut headers = vec![(
        "mono-sec-key",
        HeaderValue::Secret(config.secret_key.clone()),
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
fn pick(version: MonoVersion, body: &mut Map<String, Value>, choice: &AccountChoice) {
    match version {
        MonoVersion::V1 => body.insert("account".into(), Value::String(choice.index.to_string())),
        MonoVersion::V2 => {
            body.insert("accountNumber".into(), Value::String(choice.number.clone()))
        }
    };
}
