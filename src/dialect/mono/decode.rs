//! Reading Mono responses. Every function here is total over arbitrary bytes:
//! JSON is navigated with `Value::get` (which answers `None` on non-objects)
//! and nothing indexes, unwraps or assumes `data` is an object (mono.md §11.11).

use super::json::{
    exact, form_in, form_of, get, is_failed, malformed, message, name_str, plain_str, string_of,
    take, u64_of, word_str,
};
use super::step::{rejection, step};
use super::time::parse_rfc3339_ms;
use crate::dialect::bounds::{at_most, extra, MAX_AUTH_METHODS, MAX_ICON_BYTES, MAX_INSTITUTIONS};
use crate::dialect::text::{echoed, MAX_ECHOED_BYTES};
use crate::dialect::HttpResponse;
use crate::flow::{
    AuthMethod, CallError, CallKind, Catalogue, Continuation, Institution, InstitutionRef, Reply,
    SessionInfo, Step, Timestamp,
};
use serde_json::Value;
use std::sync::Arc;

pub(super) fn decode(kind: CallKind, response: &HttpResponse) -> Result<Reply, CallError> {
    let status = response.status;
    let parsed: Result<Value, _> = serde_json::from_slice(&response.body);
    let msg = || parsed.as_ref().ok().and_then(message);
    let is_step = matches!(kind, CallKind::Login | CallKind::Commit | CallKind::Poll);
    match status {
        401 | 403 => {
            return Err(CallError::Unauthorized(
                msg().unwrap_or_else(|| reason(status)),
            ))
        }
        429 => {
            return Err(CallError::RateLimited {
                retry_after_ms: retry_after_ms(response),
            })
        }
        200..=299 => {}
        // "HTTP < 500 → show message" (mono.md §8): a login or commit refused
        // with a readable message is the partner saying no, not a failed call.
        400..=499 if is_step => {
            return match msg() {
                Some(m) => Ok(Reply::Step(Step::Rejected(rejection(m)))),
                None => Err(CallError::Http {
                    status,
                    message: reason(status),
                }),
            }
        }
        _ => {
            return Err(CallError::Http {
                status,
                message: msg().unwrap_or_else(|| reason(status)),
            })
        }
    }
    let body = parsed.map_err(|e| CallError::Malformed(format!("body is not JSON: {e}")))?;
    if kind == CallKind::Reauthorise && is_failed(&body) {
        // Mono's no to re-authorising the account, sent with a 2xx (which
        // status goes with a v2 `responseCode: 400` is unconfirmed, mono.md
        // §4): the same as its 4xx refusal, the flow ends with its words.
        // Read as a failed call it sent the person back to the list as if
        // the bank were down, to meet the same refusal again.
        let message =
            message(&body).unwrap_or_else(|| "This account cannot be re-authorised".to_owned());
        return Ok(Reply::Step(Step::Rejected(
            crate::flow::Rejection::terminal(message),
        )));
    }
    if !is_step && is_failed(&body) {
        // A 2xx envelope that says `failed`: keep the partner's words.
        return Err(CallError::Http {
            status,
            message: message(&body).unwrap_or_else(|| "request failed".into()),
        });
    }
    match kind {
        CallKind::ListInstitutions => institutions(body),
        CallKind::CreateSession => session(&body).map(Reply::SessionCreated),
        CallKind::Reauthorise => reauth_session(&body),
        CallKind::Login | CallKind::Commit | CallKind::Poll => step(&body).map(Reply::Step),
        CallKind::ExchangeCode => exchanged(&body),
    }
}

fn reason(status: u16) -> String {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Request Failed",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unexpected status",
    }
    .to_owned()
}

/// `Retry-After` in seconds, as ms. The HTTP-date form is not used by Mono and
/// is ignored rather than guessed at.
fn retry_after_ms(response: &HttpResponse) -> Option<u64> {
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000))
}

// ---- institutions --------------------------------------------------------

/// v3 envelope `{data: [...]}` or v1 bare array (mono.md §11.10). Entries that
/// are not objects or have no id are skipped, so one odd bank does not hide
/// the rest; a non-empty list with no usable entry is malformed, and so is
/// one past [`MAX_INSTITUTIONS`] (cut, it would hide banks without a word).
fn institutions(body: Value) -> Result<Reply, CallError> {
    let list = match body {
        Value::Array(list) => list,
        Value::Object(mut o) => match o.remove("data") {
            Some(Value::Array(list)) => list,
            _ => return Err(malformed("institution list without a data array")),
        },
        _ => {
            return Err(malformed(
                "institution list is neither an array nor an envelope",
            ))
        }
    };
    at_most(list.len(), MAX_INSTITUTIONS, "institutions")?;
    let total = list.len();
    let found: Vec<Institution> = list.into_iter().filter_map(institution).collect();
    if total > 0 && found.is_empty() {
        return Err(malformed("no institution in the list has an id"));
    }
    Ok(Reply::Institutions(Arc::new(Catalogue::new(found))))
}

/// One catalogue entry, every part bounded (`dialect::bounds`): the
/// catalogue is shared by every flow and sent to every link page, and the
/// chosen bank's name, id and form are copied into the session. What is
/// sent back exactly (the id, a method's type) makes the entry (or method)
/// unusable when absurdly long, so it is skipped like one without an id;
/// words are cut; an icon, identifier or bank code too long to be one is
/// left out; unknown keys are kept within a small budget.
fn institution(v: Value) -> Option<Institution> {
    let Value::Object(mut o) = v else { return None };
    let id = take(&mut o, &["_id", "id"], exact(MAX_ECHOED_BYTES, string_of))?;
    let name = take(&mut o, &["name"], name_str).unwrap_or_else(|| id.clone());
    let mut inst = Institution::new(id, name, Vec::new());
    inst.kind = take(&mut o, &["type"], word_str);
    inst.identifier = take(&mut o, &["identifier"], exact(MAX_ECHOED_BYTES, plain_str));
    inst.bank_code = take(
        &mut o,
        &["bank_code", "nip_code"],
        exact(MAX_ECHOED_BYTES, string_of),
    );
    inst.country = take(&mut o, &["country"], word_str);
    inst.icon = take(&mut o, &["icon"], exact(MAX_ICON_BYTES, plain_str));
    inst.primary_color = take(&mut o, &["primary_color", "primaryColor"], word_str);
    inst.timeout_ms = take(&mut o, &["timeout"], u64_of);
    inst.ui = take(&mut o, &["ui"], form_of);
    // Moved out of the map, not cloned; anything but an array stays in `extra`.
    inst.auth_methods = match o.remove("auth_methods") {
        // More ways to log in than any bank has: not a bank we can offer
        // (a cut list could hide the one a person uses).
        Some(Value::Array(ms)) if ms.len() > MAX_AUTH_METHODS => return None,
        Some(Value::Array(ms)) => ms.into_iter().filter_map(auth_method).collect(),
        Some(other) => {
            o.insert("auth_methods".into(), other);
            Vec::new()
        }
        None => Vec::new(),
    };
    extra(&mut o);
    inst.extra = o;
    Some(inst)
}

fn auth_method(v: Value) -> Option<AuthMethod> {
    let Value::Object(mut o) = v else { return None };
    // The type is sent back when a session is created: too long to be one,
    // the method is skipped like one without a type.
    let kind = take(&mut o, &["type"], exact(MAX_ECHOED_BYTES, plain_str))?;
    let mut m = AuthMethod::new(kind.into(), None);
    m.name = take(&mut o, &["name"], name_str);
    m.ui = take(&mut o, &["ui"], form_of);
    m.requires_reauth = take(&mut o, &["requires_reauth"], Value::as_bool).unwrap_or(false);
    extra(&mut o);
    m.extra = o;
    Some(m)
}

// ---- session -------------------------------------------------------------

/// v2 `data.session.{id, expiresAt, institution}` + `data.ui`; v1 top-level
/// `id` and/or `data.id`. Keys are looked for in `data.session`, then `data`,
/// then the top level, because v1's exact names are unconfirmed (mono.md §3).
fn session(body: &Value) -> Result<SessionInfo, CallError> {
    let data = get(body, "data");
    let inner = data.and_then(|d| get(d, "session"));
    let scopes = [inner, data, Some(body)];
    let find = |keys: &[&str]| {
        scopes
            .iter()
            .flatten()
            .find_map(|s| keys.iter().find_map(|k| get(s, k)))
    };
    let id = find(&["id"])
        .and_then(string_of)
        .ok_or_else(|| malformed("session without an id"))?;
    // Sent back as `x-session-id` on every call of the session.
    echoed(&id, "session id")?;
    let expires_at = find(&["expiresAt", "expires_at"]).and_then(timestamp);
    let institution = find(&["institution"]).and_then(|i| match i {
        Value::String(id) => Some(InstitutionRef {
            id: id.clone(),
            name: String::new(),
        }),
        _ => Some(InstitutionRef {
            id: get(i, "id").or_else(|| get(i, "_id")).and_then(string_of)?,
            name: get(i, "name").and_then(name_str).unwrap_or_default(),
        }),
    });
    // The id names the bank in the session and its records: cut, it would
    // name another one.
    if let Some(i) = &institution {
        echoed(&i.id, "session institution id")?;
    }
    // The session form wins over the catalogue's (per-session captchas,
    // mono.md §11.7), so an unreadable one must not silently fall back.
    let form = match find(&["ui"]) {
        Some(ui) => Some(form_in(ui, "session ui")?),
        None => None,
    };
    Ok(SessionInfo {
        continuation: None,
        id,
        expires_at,
        form,
        institution,
    })
}

/// `reauth/session` (mono.md §7): linked again at once (`99` + `code`,
/// quirk 13), or a session to log in to, shaped as create-session's.
/// Where the session id comes from is unconfirmed; it is read where
/// create-session puts it, and the session is marked so that its login goes
/// to `reauth/login`.
fn reauth_session(body: &Value) -> Result<Reply, CallError> {
    let data = get(body, "data");
    let has_code = get(body, "responseCode")
        .or_else(|| data.and_then(|d| get(d, "responseCode")))
        .is_some();
    if has_code {
        return step(body).map(Reply::Step);
    }
    let mut info = session(body)?;
    info.continuation = Some(Continuation::new(super::encode::REAUTH));
    Ok(Reply::SessionCreated(info))
}

/// Epoch ms as a number or numeric string, or an RFC 3339 UTC string; anything
/// else is no expiry rather than an error (the flow then relies on its own
/// session timer).
fn timestamp(v: &Value) -> Option<Timestamp> {
    u64_of(v)
        .or_else(|| v.as_str().and_then(parse_rfc3339_ms))
        .map(Timestamp)
}

// ---- exchange ------------------------------------------------------------

/// `{id}` or `{data: {id}}` (mono.md §11.12).
fn exchanged(body: &Value) -> Result<Reply, CallError> {
    get(body, "id")
        .or_else(|| get(body, "data").and_then(|d| get(d, "id")))
        .and_then(string_of)
        .ok_or_else(|| malformed("exchange reply without an account id"))
        .and_then(|account_id| {
            // The durable id every later call about the account sends.
            echoed(&account_id, "account id")?;
            Ok(Reply::Exchanged { account_id })
        })
}

impl Catalogue {
    /// Reads a saved Mono institution list (`GET /v3/institutions`, or a v1
    /// bare array), as the dialect does: unknown keys kept, entries without
    /// an id skipped.
    pub fn from_mono_json(body: &[u8]) -> Result<Arc<Catalogue>, CallError> {
        let response = HttpResponse::new(200, body.to_vec());
        match decode(CallKind::ListInstitutions, &response)? {
            Reply::Institutions(catalogue) => Ok(catalogue),
            _ => Err(malformed("not an institution list")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::text::{MAX_CODE_CHARS, MAX_MESSAGE_CHARS};
    use serde_json::json;

    fn decoded(kind: CallKind, body: Value) -> Result<Reply, CallError> {
        decode(kind, &HttpResponse::new(200, body.to_string()))
    }

    /// Finding: an account's name, type, currency and status from a `101`,
    /// and the institution's name from a session, were kept verbatim in the
    /// flow's state (stored with the session, capped in size); 100 KB of
    /// each now comes back cut like a message or a code, between characters.
    #[test]
    fn huge_account_and_institution_names_decode_to_bounded_strings() {
        let huge = "é".repeat(50_000);
        let body = json!({
            "responseCode": 101,
            "data": { "accounts": [{
                "accountNumber": "0123456789",
                "name": huge,
                "type": huge,
                "currency": huge,
                "status": huge,
            }] },
        });
        let Ok(Reply::Step(Step::ChooseAccount { accounts, .. })) = decoded(CallKind::Login, body)
        else {
            panic!("a 101 is an account choice");
        };
        let Some(a) = accounts.first() else {
            panic!("one account");
        };
        assert_eq!(a.name, "é".repeat(MAX_MESSAGE_CHARS));
        for word in [&a.kind, &a.currency, &a.status] {
            assert_eq!(word.as_deref(), Some("é".repeat(MAX_CODE_CHARS).as_str()));
        }

        let body = json!({ "data": { "session": {
            "id": "sess_1",
            "institution": { "id": "bank_1", "name": huge },
        } } });
        let Ok(Reply::SessionCreated(info)) = decoded(CallKind::CreateSession, body) else {
            panic!("a session");
        };
        let name = info.institution.map(|i| i.name).unwrap_or_default();
        assert_eq!(name.chars().count(), MAX_MESSAGE_CHARS);

        let list = json!([{ "_id": "bank_1", "name": huge }]);
        let Ok(Reply::Institutions(catalogue)) = decoded(CallKind::ListInstitutions, list) else {
            panic!("a catalogue");
        };
        let name = catalogue
            .get("bank_1")
            .map(|i| i.name.clone())
            .unwrap_or_default();
        assert_eq!(name.chars().count(), MAX_MESSAGE_CHARS);
    }

    /// Finding (kept): a refusal's 100 KB message reaches the person cut to
    /// 300 characters, as before the bound moved to `dialect::text`.
    #[test]
    fn a_huge_refusal_message_is_cut_to_a_sentence() {
        let body =
            json!({ "status": "failed", "responseCode": 400, "message": "no ".repeat(40_000) });
        let Ok(Reply::Step(Step::Rejected(r))) = decoded(CallKind::Login, body) else {
            panic!("a refusal");
        };
        assert_eq!(r.message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(r.message.starts_with("no no"));
    }
}
