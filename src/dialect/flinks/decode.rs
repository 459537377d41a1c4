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
use super::encode::{card_mark, card_of};
use super::wire::{ChallengeType, SecurityChallenge};
use super::{Flinks, FlinksConfig, Language, TOKEN_LIFETIME_MS};
use crate::dialect::bounds::{self, at_most, MAX_CHALLENGES, MAX_FIELD_OPTIONS};
use crate::dialect::text::echoed;
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
            (Some(_), Call::Reauthorise { account, live, .. }) => {
                let mut reply = token(response, body.as_ref(), now)?;
                if let Reply::SessionCreated(info) = &mut reply {
                    info.form = Some(Form::new(String::new(), Vec::new()));
                    info.continuation = Some(Continuation::new(card_mark(account, *live)));
                }
                Ok(reply)
            }
            _ => {
                step(&flinks.config, response, body.as_ref()).map(|s| Reply::Step(card_refused(s)))
            }
        },
        CallKind::Login | CallKind::Commit | CallKind::Poll => {
            let card = call.session().is_some_and(|s| card_of(s).is_some());
            let step = step(&flinks.config, response, body.as_ref())?;
            Ok(Reply::Step(if card {
                card_refused(step)
            } else {
                spent_by_login(flinks, call.kind(), step)
            }))
        }
        // Both are answered locally; a response to them is not Flinks'.
        CallKind::ListInstitutions | CallKind::ExchangeCode => Err(CallError::Malformed(
            "Flinks has no endpoint for this call".into(),
        )),
    }
}

/// A refused login with credentials spends its authorize token: the token
/// is single-use and only the MFA answers of the conversation it opened
/// reuse it (flinks.md §1), so the person's next try needs a new one. So
/// does one refused at its status poll (a `202` first): the login went
/// out on the token all the same. On a legacy instance (no secret key, no
/// tokens) nothing is spent.
fn spent_by_login(flinks: &Flinks, kind: CallKind, step: Step) -> Step {
    match step {
        Step::Rejected(r)
            if matches!(kind, CallKind::Login | CallKind::Poll)
                && flinks.config.secret_key.is_some() =>
        {
            Step::Rejected(r.spending_session())
        }
        other => other,
    }
}

/// A card's LoginId refused (`INVALID_LOGIN` in cached mode: the card was
/// deleted) is not "your password is incorrect": nobody typed one. One
/// answered `QUESTION_NOT_FOUND` needs the person (a live refresh).
fn card_refused(step: Step) -> Step {
    match step {
        Step::Rejected(mut r) if r.code.as_deref() == Some(FlinksCode::InvalidLogin.as_str()) => {
            r.message = "This saved login is no longer valid: link the account again".into();
            Step::Rejected(r)
        }
        // The card's last refresh met a question Flinks kept no answer to:
        // a live `/Authorize` lets the person answer it (flinks.md §5).
        Step::Rejected(r) if r.code.as_deref() == Some(FlinksCode::QuestionNotFound.as_str()) => {
            Step::Rejected(r.needing_person())
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
    let token = echoed(token, "authorize token")?;
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
    // Checked only where it is kept (203, 202): a refusal does not need it.
    let request_id = str_of(body, "RequestId");
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
            Ok(Step::account(echoed(login_id, "Login.Id")?))
        }
        (203, _) => {
            let raw = body.and_then(|b| b.get("SecurityChallenges"));
            // Counted before the list is copied out of the body. Past the
            // cap the reply is refused, never cut: Flinks expects an answer
            // to every challenge it asked (`dialect::bounds`).
            if let Some(Value::Array(raw)) = raw {
                at_most(raw.len(), MAX_CHALLENGES, "security challenges")?;
            }
            let list: Vec<SecurityChallenge> = raw
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .filter(|l: &Vec<SecurityChallenge>| !l.is_empty())
                .ok_or_else(|| CallError::Malformed("203 without security challenges".into()))?;
            // A prompt keys its answer and an option is sent back as one, so
            // they are refused when too long rather than cut; so are options
            // past the cap (the right answer may be the one dropped).
            for c in &list {
                echoed(&c.prompt, "security question")?;
                at_most(
                    c.iterables.len(),
                    MAX_FIELD_OPTIONS,
                    "options on a question",
                )?;
                for option in &c.iterables {
                    echoed(option, "security question option")?;
                }
            }
            let continuation =
                request_id.ok_or_else(|| CallError::Malformed("203 without a RequestId".into()))?;
            Ok(Step::NeedsInput {
                // Bounded as any partner form is: the hint and option labels
                // (copies of the prompt and options) are cut for display,
                // the name and values stay whole.
                form: bounds::form(challenge_form(language, &list))?,
                continuation: Some(Continuation::new(echoed(continuation, "RequestId")?)),
            })
        }
        (202, _) | (_, Some(FlinksCode::OperationPending | FlinksCode::OperationDispatched)) => {
            Ok(Step::Pending {
                poll_after_ms: config.poll_interval_ms,
                give_up_after_ms: config.poll_deadline_ms,
                continuation: request_id
                    .map(|r| echoed(r, "RequestId").map(Continuation::new))
                    .transpose()?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::text::{MAX_CODE_CHARS, MAX_MESSAGE_CHARS};
    use crate::dialect::Dialect;
    use crate::flow::{AuthMethodKind, PartnerSession};
    use crate::form::Values;
    use serde_json::json;

    const NOW: Timestamp = Timestamp(1_700_000_000_000);

    fn login() -> Call {
        Call::Login {
            session: PartnerSession {
                id: "tok_1".into(),
                continuation: None,
            },
            institution: "FlinksCapital".into(),
            auth_method: AuthMethodKind::InternetBanking,
            values: Values::new().with("username", "u").with("password", "p"),
        }
    }

    fn decoded(call: &Call, status: u16, body: Value) -> Result<Reply, CallError> {
        let flinks = Flinks::new(FlinksConfig::new("c", Some("secret".into())));
        flinks.decode(call, &HttpResponse::new(status, body.to_string()), NOW)
    }

    /// Finding: an unknown FlinksCode (and any message beside it) was kept
    /// verbatim; a ~64 KB one was copied into the refusal's message, its code
    /// and its event, and the session grew past the record cap and could not
    /// be saved, losing the bank's answer to a login. Both come back bounded,
    /// cut between characters.
    #[test]
    fn a_huge_unknown_flinks_code_and_message_decode_to_bounded_strings() {
        for code in ["X".repeat(100_000), "é".repeat(50_000)] {
            let body = json!({
                "HttpStatusCode": 401,
                "FlinksCode": code,
                "Message": "word ".repeat(20_000),
            });
            let Ok(Reply::Step(Step::Rejected(r))) = decoded(&login(), 401, body) else {
                panic!("a refusal with an unknown code is still a refusal");
            };
            let kept = r.code.unwrap_or_default();
            assert_eq!(kept.chars().count(), MAX_CODE_CHARS);
            assert!(
                code.starts_with(&kept),
                "a prefix of the code the bank sent"
            );
            assert!(
                r.message.chars().count() <= MAX_MESSAGE_CHARS,
                "{}",
                r.message
            );
            assert!(r.message.contains(&kept), "the person still sees the code");
        }
    }

    /// Finding: an unknown challenge type was kept verbatim on the MFA
    /// form's field (stored with the session, sent on every MFA event); it
    /// is cut like a code.
    #[test]
    fn a_huge_unknown_challenge_type_is_cut_like_a_code() {
        let body = json!({
            "HttpStatusCode": 203,
            "RequestId": "req-1",
            "SecurityChallenges": [{ "Type": "T".repeat(100_000), "Prompt": "Pet?" }],
        });
        let Ok(Reply::Step(Step::NeedsInput { form, .. })) = decoded(&login(), 203, body) else {
            panic!("a 203 is a form to answer");
        };
        let kind = form
            .fields
            .first()
            .and_then(|f| f.extra.get("flinksType"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        assert_eq!(kind, "T".repeat(MAX_CODE_CHARS));
    }

    /// Finding: values Flinks needs back exactly (the token, a RequestId, a
    /// LoginId, a security question) were kept whatever their size; cutting
    /// one would make it wrong, so an absurdly long one is a malformed reply
    /// (a typed error) instead of a session too big to save.
    #[test]
    fn huge_identifiers_are_refused_as_malformed_not_stored() {
        let huge = "r".repeat(100_000);
        let replies = [
            json!({ "HttpStatusCode": 200, "Login": { "Id": huge } }),
            json!({
                "HttpStatusCode": 203,
                "RequestId": huge,
                "SecurityChallenges": [{ "Type": "QuestionAndAnswer", "Prompt": "Pet?" }],
            }),
            json!({
                "HttpStatusCode": 203,
                "RequestId": "req-1",
                "SecurityChallenges": [{ "Type": "QuestionAndAnswer", "Prompt": huge }],
            }),
            json!({ "HttpStatusCode": 202, "FlinksCode": "OPERATION_PENDING", "RequestId": huge }),
        ];
        for body in replies {
            let status = body["HttpStatusCode"].as_u64().map_or(0, |s| s as u16);
            assert!(
                matches!(
                    decoded(&login(), status, body),
                    Err(CallError::Malformed(_))
                ),
                "a {status} reply with a 100 KB identifier",
            );
        }
        let token = decoded(
            &Call::CreateSession {
                institution: "FlinksCapital".into(),
                auth_method: AuthMethodKind::InternetBanking,
                customer: None,
            },
            200,
            json!({ "Token": huge }),
        );
        assert!(matches!(token, Err(CallError::Malformed(_))), "{token:?}");
        // A refusal carrying a huge RequestId is still the refusal.
        let refused =
            json!({ "HttpStatusCode": 401, "FlinksCode": "INVALID_LOGIN", "RequestId": huge });
        assert!(matches!(
            decoded(&login(), 401, refused),
            Ok(Reply::Step(Step::Rejected(_)))
        ));
    }
}
