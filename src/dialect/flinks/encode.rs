//! Building Flinks requests from flow calls (flinks.md §1–§3, §6).

use super::Flinks;
use crate::dialect::percent_encode;
use crate::dialect::{Encoded, HeaderValue, HttpRequest, Method};
use crate::flow::{Call, CallError, PartnerSession, Reply, SessionInfo, Timestamp};
use crate::form::{Secret, Values};
use serde_json::{Map, Value};

pub(super) fn encode(flinks: &Flinks, call: &Call, _now: Timestamp) -> Encoded {
    let config = &flinks.config;
    match call {
        // Flinks has no institutions endpoint: the catalogue is configuration.
        Call::ListInstitutions => Encoded::Local(Ok(Reply::Institutions(flinks.catalogue()))),
        Call::CreateSession { .. } => match &config.secret_key {
            Some(secret) => generate_token(flinks, secret),
            // An older instance authorizes without a token: nothing to open.
            None => Encoded::Local(Ok(Reply::SessionCreated(SessionInfo::new("")))),
        },
        // A returning user's card: with tokens, a token first (the decoder
        // hands the LoginId on to a login with no fields); without, the
        // LoginId's `/Authorize` at once.
        Call::Reauthorise { account, live, .. } => match &config.secret_key {
            Some(secret) => generate_token(flinks, secret),
            None => authorize(flinks, "", by_login_id(flinks, account, *live)),
        },
        // The login of a re-authorisation: the card's LoginId, no credentials.
        Call::Login { session, .. } if card_of(session).is_some() => {
            let (login_id, live) = card_of(session).unwrap_or_default();
            authorize(flinks, &session.id, by_login_id(flinks, login_id, live))
        }
        Call::Login {
            session,
            institution,
            values,
            ..
        } => {
            let mut body = Map::new();
            body.insert("Institution".into(), institution.clone().into());
            body.insert("Username".into(), text(values, "username").into());
            body.insert("Password".into(), text(values, "password").into());
            body.insert("MostRecentCached".into(), false.into());
            body.insert("Save".into(), config.save.into());
            body.insert("Language".into(), config.language.as_str().into());
            if let Some(tag) = &config.tag {
                body.insert("Tag".into(), tag.clone().into());
            }
            authorize(flinks, &session.id, Value::Object(body))
        }
        Call::Commit {
            session, values, ..
        } => {
            let Some(request_id) = &session.continuation else {
                return Encoded::Local(Err(CallError::Malformed(
                    "a Flinks answer needs the RequestId of the challenge".into(),
                )));
            };
            // Keyed by the exact prompt, each value an array (flinks.md §3):
            // the form's field names are the prompts.
            let responses: Map<String, Value> = values
                .iter()
                .map(|(prompt, answer)| {
                    (
                        prompt.clone(),
                        Value::Array(vec![answer.expose().to_owned().into()]),
                    )
                })
                .collect();
            let body = serde_json::json!({
                "RequestId": request_id.as_str(),
                "SecurityResponses": responses,
            });
            authorize(flinks, &session.id, body)
        }
        Call::Poll { session } => {
            let Some(request_id) = &session.continuation else {
                return Encoded::Local(Err(CallError::Malformed(
                    "a Flinks poll needs the RequestId of the pending step".into(),
                )));
            };
            let mut headers = Vec::new();
            if let Some(key) = &config.api_key {
                headers.push(("x-api-key", HeaderValue::Secret(key.clone())));
            }
            if !session.id.is_empty() {
                headers.push((
                    "flinks-auth-key",
                    HeaderValue::Secret(session.id.as_str().into()),
                ));
            }
            Encoded::Http(HttpRequest {
                method: Method::Get,
                path: format!(
                    "{}/GetAccountsDetailAsync/{}",
                    flinks.base(),
                    percent_encode(request_id.as_str())
                ),
                headers,
                body: None,
            })
        }
        // A Flinks link ends with the LoginId itself; a flow never asks.
        Call::ExchangeCode { .. } => Encoded::Local(Err(CallError::Malformed(
            "Flinks links with a LoginId; there is no code to exchange".into(),
        ))),
    }
}

/// `POST /GenerateAuthorizeToken` with the secret key (flinks.md §1).
fn generate_token(flinks: &Flinks, secret: &Secret) -> Encoded {
    Encoded::Http(HttpRequest {
        method: Method::Post,
        path: format!("{}/GenerateAuthorizeToken", flinks.base()),
        headers: vec![
            ("flinks-auth-key", HeaderValue::Secret(secret.clone())),
            json_type(),
        ],
        body: Some(b"{}".to_vec()),
    })
}

/// What a re-authorisation's session carries into its login: the LoginId,
/// marked so it cannot be mistaken for a step's RequestId.
const LOGIN_ID_MARK: &str = "LoginId:";
/// The same for a live refresh (the person there to answer the bank).
const LIVE_LOGIN_ID_MARK: &str = "LiveLoginId:";

/// The continuation a re-authorisation's session carries into its login.
pub(super) fn card_mark(login_id: &str, live: bool) -> String {
    let mark = if live {
        LIVE_LOGIN_ID_MARK
    } else {
        LOGIN_ID_MARK
    };
    format!("{mark}{login_id}")
}

/// The card a re-authorisation's login is for, and whether it is live.
pub(super) fn card_of(session: &PartnerSession) -> Option<(&str, bool)> {
    let continuation = session.continuation.as_ref()?.as_str();
    continuation
        .strip_prefix(LOGIN_ID_MARK)
        .map(|id| (id, false))
        .or_else(|| {
            continuation
                .strip_prefix(LIVE_LOGIN_ID_MARK)
                .map(|id| (id, true))
        })
}

/// `/Authorize` for a card (flinks.md §3): the LoginId instead of
/// credentials; `MostRecentCached` as configured, or `false` for a live
/// refresh the person is there to answer (flinks.md §5, `QUESTION_NOT_FOUND`).
fn by_login_id(flinks: &Flinks, login_id: &str, live: bool) -> Value {
    let config = &flinks.config;
    let mut body = Map::new();
    body.insert("LoginId".into(), login_id.into());
    body.insert(
        "MostRecentCached".into(),
        (config.most_recent_cached && !live).into(),
    );
    body.insert("Save".into(), config.save.into());
    body.insert("Language".into(), config.language.as_str().into());
    if let Some(tag) = &config.tag {
        body.insert("Tag".into(), tag.clone().into());
    }
    Value::Object(body)
}

/// `POST /Authorize`, with the session's token as `flinks-auth-key` when
/// the instance uses tokens (MFA answers reuse the same token).
fn authorize(flinks: &Flinks, token: &str, body: Value) -> Encoded {
    let mut headers = Vec::new();
    if !token.is_empty() {
        headers.push(("flinks-auth-key", HeaderValue::Secret(token.into())));
    }
    headers.push(json_type());
    Encoded::Http(HttpRequest {
        method: Method::Post,
        path: format!("{}/Authorize", flinks.base()),
        headers,
        // Serializing a `Value` cannot fail (all keys are strings).
        body: Some(serde_json::to_vec(&body).unwrap_or_default()),
    })
}

fn json_type() -> (&'static str, HeaderValue) {
    (
        "content-type",
        HeaderValue::Plain("application/json".to_owned()),
    )
}

fn text(values: &Values, name: &str) -> String {
    values
        .get(name)
        .map(|v| v.expose().to_owned())
        .unwrap_or_default()
}
