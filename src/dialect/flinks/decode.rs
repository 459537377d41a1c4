//! Reading Flinks replies (flinks.md §3, §5, §6). Total over arbitrary
//! bytes: JSON is navigated with `Value::get`, nothing indexes or unwraps.
//!
//! | reply | flow |
//! |---|---|
//! | `200` with `Login.Id` | [`Step::Done`] with [`Linked::Account`](crate::flow::Linked::Account) (the LoginId) |
//! | `203` with `SecurityChallenges` | [`Step::NeedsInput`]: one field per challenge, named by its prompt; `RequestId` carried on |
//! | `202` (`OPERATION_PENDING`, `OPERATION_DISPATCHED`) | [`Step::Pending`]: poll every 10 s, give up after 30 min |
//! | a `FlinksCode` | [`Step::Rejected`] sorted by [`FlinksCode::rejection_kind`] |

use super::codes::FlinksCode;
use super::encode::LOGIN_ID_MARK;
use super::wire::{ChallengeType, SecurityChallenge};
use super::{Flinks, FlinksConfig, Language, TOKEN_LIFETIME_MS};
use crate::dialect::HttpResponse;
use crate::flow::{
    Call, CallError, CallKind, Continuation, Rejection, Reply, SessionInfo, Step, Timestamp,
};
use crate::form::{ContentType, Field, Form};
use serde_json::Value;

pub(super) fn decode(
    flinks: &Flinks,
    call: &Call,
    response: &HttpResponse,
    now: Timestamp,
) -> Result<Reply, CallError> {
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    match call.kind() {
        CallKind::CreateSession => token(response, body.as_ref(), now),
        // With tokens this is the token; the card's LoginId rides on to a
        // login with no fields. Without, it was the card's `/Authorize`.
        CallKind::Reauthorise => match (&flinks.config.secret_key, call) {
            (Some(_), Call::Reauthorise { account, .. }) => {
                let mut reply = token(response, body.as_ref(), now)?;
                if let Reply::SessionCreated(info) = &mut reply {
                    info.form = Some(Form::new(String::new(), Vec::new()));
                    info.continuation =
                        Some(Continuation::new(format!("{LOGIN_ID_MARK}{account}")));
                }
                Ok(reply)
            }
            _ => {
                step(&flinks.config, response, body.as_ref()).map(|s| Reply::Step(card_refused(s)))
            }
        },
        CallKind::Login | CallKind::Commit | CallKind::Poll => {
            let card = call.session().is_some_and(|s| {
                s.continuation
                    .as_ref()
                    .is_some_and(|c| c.as_str().starts_with(LOGIN_ID_MARK))
            });
            let step = step(&flinks.config, response, body.as_ref())?;
            Ok(Reply::Step(if card { card_refused(step) } else { step }))
        }
        // Both are answered locally; a response to them is not Flinks'.
        CallKind::ListInstitutions | CallKind::ExchangeCode => Err(CallError::Malformed(
            "Flinks has no endpoint for this call".into(),
        )),
    }
}

/// A card's LoginId refused (`INVALID_LOGIN` in cached mode: the card was
/// deleted) is not "your password is incorrect": nobody typed one.
fn card_refused(step: Step) -> Step {
    match step {
        Step::Rejected(mut r) if r.code.as_deref() == Some(FlinksCode::InvalidLogin.as_str()) => {
            r.message = "This saved login is no longer valid: link the account again".into();
            Step::Rejected(r)
        }
        other => other,
    }
}

fn str_of<'a>(body: Option<&'a Value>, key: &str) -> Option<&'a str> {
    body?
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// `GenerateAuthorizeToken`: the token becomes the session handle, valid 30
/// minutes from now.
fn token(
    response: &HttpResponse,
    body: Option<&Value>,
    now: Timestamp,
) -> Result<Reply, CallError> {
    if matches!(response.status, 401 | 403) {
        return Err(CallError::Unauthorized(
            "Flinks refused the secret key".into(),
        ));
    }
    if !(200..300).contains(&response.status) {
        return Err(http_error(response.status));
    }
    let token = ["Token", "token", "AuthorizeToken", "authorizeToken"]
        .iter()
        .find_map(|k| str_of(body, k))
        .ok_or_else(|| CallError::Malformed("authorize token reply without a token".into()))?;
    let mut info = SessionInfo::new(token);
    info.expires_at = Some(now.plus_ms(TOKEN_LIFETIME_MS));
    Ok(Reply::SessionCreated(info))
}

fn http_error(status: u16) -> CallError {
    match status {
        429 => CallError::RateLimited {
            retry_after_ms: None,
        },
        _ => CallError::Http {
            status,
            message: format!("Flinks answered HTTP {status}"),
        },
    }
}

/// A login, commit or poll reply.
fn step(
    config: &FlinksConfig,
    response: &HttpResponse,
    body: Option<&Value>,
) -> Result<Step, CallError> {
    let language = config.language;
    // The body's own `HttpStatusCode` wins: Flinks mirrors it there, and a
    // proxy in front may have answered 200 for everything.
    let status = body
        .and_then(|b| b.get("HttpStatusCode"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(response.status);
    let request_id = str_of(body, "RequestId").map(Continuation::new);
    let code = str_of(body, "FlinksCode").map(FlinksCode::parse);
    if let Some(code) = &code {
        if *code == FlinksCode::AccessDenied {
            return Err(CallError::Unauthorized(
                "Flinks refused the API credentials (ACCESS_DENIED)".into(),
            ));
        }
    }
    match (status, code) {
        (200, _) => {
            let login_id = body
                .and_then(|b| b.get("Login"))
                .and_then(|l| l.get("Id"))
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| CallError::Malformed("200 without Login.Id".into()))?;
            Ok(Step::account(login_id))
        }
        (203, _) => {
            let list: Vec<SecurityChallenge> = body
                .and_then(|b| b.get("SecurityChallenges"))
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .filter(|l: &Vec<SecurityChallenge>| !l.is_empty())
                .ok_or_else(|| CallError::Malformed("203 without security challenges".into()))?;
            let continuation =
                request_id.ok_or_else(|| CallError::Malformed("203 without a RequestId".into()))?;
            Ok(Step::NeedsInput {
                form: challenge_form(language, &list),
                continuation: Some(continuation),
            })
        }
        (202, _) | (_, Some(FlinksCode::OperationPending | FlinksCode::OperationDispatched)) => {
            Ok(Step::Pending {
                poll_after_ms: config.poll_interval_ms,
                give_up_after_ms: config.poll_deadline_ms,
                continuation: request_id,
            })
        }
        (_, Some(code)) => Ok(Step::Rejected(
            Rejection::new(code.rejection_kind(), code.message(language)).with_code(code.as_str()),
        )),
        (401 | 403, None) => Err(CallError::Unauthorized(format!(
            "Flinks answered HTTP {status}"
        ))),
        (status, None) => Err(http_error(status)),
    }
}

/// One field per challenge, named by its exact prompt (answers are keyed by
/// it). Answers to security questions are secrets; a challenge with options
/// is a choice.
pub(super) fn challenge_form(language: Language, list: &[SecurityChallenge]) -> Form {
    let fields = list
        .iter()
        .map(|c| {
            let mut field = if c.iterables.is_empty() {
                Field::password(c.prompt.clone(), c.prompt.clone())
            } else {
                Field::choice(
                    c.prompt.clone(),
                    c.prompt.clone(),
                    c.iterables.iter().map(|o| (o.clone(), o.clone())),
                )
            };
            if let ChallengeType::Unknown(kind) = &c.kind {
                // Kept, so a front-end that knows the type can still show it.
                field
                    .extra
                    .insert("flinksType".into(), Value::String(kind.clone()));
                field.content_type = ContentType::Password;
            }
            field
        })
        .collect();
    let title = match language {
        Language::En => "Security question",
        Language::Fr => "Question de sécurité",
    };
    Form::new(title, fields)
}
