//! Reading Mono responses. Every function here is total over arbitrary bytes:
//! JSON is navigated with `Value::get` (which answers `None` on non-objects)
//! and nothing indexes, unwraps or assumes `data` is an object (mono.md §11.11).

use super::super::HttpResponse;
use crate::flow::{
    Account, AuthMethod, CallError, CallKind, Catalogue, Institution, InstitutionRef, Rejection,
    RejectionKind, Reply, SessionInfo, Step, Timestamp,
};
use crate::form::Form;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

type Obj = Map<String, Value>;

/// Longest partner message passed on; a message is for a person, a longer one
/// is a body we should not be echoing.
const MAX_MESSAGE: usize = 300;

pub(super) fn decode(kind: CallKind, response: &HttpResponse) -> Result<Reply, CallError> {
    let status = response.status;
    let parsed: Result<Value, _> = serde_json::from_slice(&response.body);
    let msg = || parsed.as_ref().ok().and_then(message);
    let is_step = matches!(kind, CallKind::Login | CallKind::Commit);
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
        CallKind::Login | CallKind::Commit => step(&body).map(Reply::Step),
        CallKind::ExchangeCode => exchanged(&body),
    }
}

fn malformed(what: &str) -> CallError {
    CallError::Malformed(what.to_owned())
}

/// The partner's `message` (or `error`) string, trimmed and bounded.
fn message(body: &Value) -> Option<String> {
    ["message", "error"]
        .iter()
        .filter_map(|k| body.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .find(|m| !m.is_empty())
        .map(|m| m.chars().take(MAX_MESSAGE).collect())
}

fn is_failed(body: &Value) -> bool {
    body.get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("failed"))
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

/// Sorts a Mono refusal by what a person can do about it.
///
/// A heuristic over the human-readable message, because Mono sends no machine
/// codes for login/commit failures (mono.md §8): a message mentioning
/// *locked, disabled, blocked, suspended* or *deactivated* is
/// [`RejectionKind::Final`]; one mentioning *session* together with *expired,
/// invalid* or *not found* is [`RejectionKind::SessionExpired`]; anything else
/// (wrong password, wrong OTP) is [`RejectionKind::Retry`], which the flow
/// bounds by its attempt limit anyway.
pub fn classify_rejection(message: &str) -> RejectionKind {
    let m = message.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["locked", "disabled", "blocked", "suspended", "deactivated"]) {
        RejectionKind::Final
    } else if m.contains("session") && has(&["expired", "invalid", "not found"]) {
        RejectionKind::SessionExpired
    } else {
        RejectionKind::Retry
    }
}

fn rejection(message: String) -> Rejection {
    Rejection {
        kind: classify_rejection(&message),
        message,
        code: None,
    }
}

// ---- small Value helpers -------------------------------------------------

/// `v.get(key)`, with JSON `null` treated as absent.
fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// A string, or a number written as one (ids and codes arrive as either).
fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn plain_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn u64_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn i64_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= i64::MAX as f64)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Deserializes straight from the borrowed tree: no copy of the subtree first
/// (an institution list carries dozens of forms).
fn form_of(v: &Value) -> Option<Form> {
    Form::deserialize(v).ok()
}

/// Removes and parses the first of `keys` that parses. Keys that are absent,
/// `null` or unreadable stay in `o`, so they end up in `extra` and round-trip.
fn take<T>(o: &mut Obj, keys: &[&str], parse: impl Fn(&Value) -> Option<T>) -> Option<T> {
    let (key, value) = keys
        .iter()
        .find_map(|k| o.get(*k).and_then(|v| parse(v).map(|t| (*k, t))))?;
    o.remove(key);
    Some(value)
}

// ---- institutions --------------------------------------------------------

/// v3 envelope `{data: [...]}` or v1 bare array (mono.md §11.10). Entries that
/// are not objects or have no id are skipped, so one odd bank does not hide
/// the rest; a non-empty list with no usable entry is malformed.
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
    let total = list.len();
    let found: Vec<Institution> = list.into_iter().filter_map(institution).collect();
    if total > 0 && found.is_empty() {
        return Err(malformed("no institution in the list has an id"));
    }
    Ok(Reply::Institutions(Arc::new(Catalogue::new(found))))
}

fn institution(v: Value) -> Option<Institution> {
    let Value::Object(mut o) = v else { return None };
    let id = take(&mut o, &["_id", "id"], string_of)?;
    let name = take(&mut o, &["name"], plain_str).unwrap_or_else(|| id.clone());
    let mut inst = Institution::new(id, name, Vec::new());
    inst.kind = take(&mut o, &["type"], plain_str);
    inst.identifier = take(&mut o, &["identifier"], plain_str);
    inst.bank_code = take(&mut o, &["bank_code", "nip_code"], string_of);
    inst.country = take(&mut o, &["country"], plain_str);
    inst.icon = take(&mut o, &["icon"], plain_str);
    inst.primary_color = take(&mut o, &["primary_color", "primaryColor"], plain_str);
    inst.timeout_ms = take(&mut o, &["timeout"], u64_of);
    inst.ui = take(&mut o, &["ui"], form_of);
    // Moved out of the map, not cloned; anything but an array stays in `extra`.
    inst.auth_methods = match o.remove("auth_methods") {
        Some(Value::Array(ms)) => ms.into_iter().filter_map(auth_method).collect(),
        Some(other) => {
            o.insert("auth_methods".into(), other);
            Vec::new()
        }
        None => Vec::new(),
    };
    inst.extra = o;
    Some(inst)
}

fn auth_method(v: Value) -> Option<AuthMethod> {
    let Value::Object(mut o) = v else { return None };
    let kind = take(&mut o, &["type"], plain_str)?;
    let mut m = AuthMethod::new(kind.into(), None);
    m.name = take(&mut o, &["name"], plain_str);
    m.ui = take(&mut o, &["ui"], form_of);
    m.requires_reauth = take(&mut o, &["requires_reauth"], Value::as_bool).unwrap_or(false);
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
    let expires_at = find(&["expiresAt", "expires_at"]).and_then(timestamp);
    let institution = find(&["institution"]).and_then(|i| match i {
        Value::String(id) => Some(InstitutionRef {
            id: id.clone(),
            name: String::new(),
        }),
        _ => Some(InstitutionRef {
            id: get(i, "id").or_else(|| get(i, "_id")).and_then(string_of)?,
            name: get(i, "name").and_then(plain_str).unwrap_or_default(),
        }),
    });
    // The session form wins over the catalogue's (per-session captchas,
    // mono.md §11.7), so an unreadable one must not silently fall back.
    let form = match find(&["ui"]) {
        Some(ui) => Some(form_of(ui).ok_or_else(|| malformed("session ui is not a form"))?),
        None => None,
    };
    Ok(SessionInfo {
        id,
        expires_at,
        form,
        institution,
    })
}

/// Epoch ms as a number or numeric string, or an RFC 3339 UTC string; anything
/// else is no expiry rather than an error (the flow then relies on its own
/// session timer).
fn timestamp(v: &Value) -> Option<Timestamp> {
    u64_of(v)
        .or_else(|| v.as_str().and_then(parse_rfc3339_ms))
        .map(Timestamp)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` into epoch ms. Only UTC:
/// Mono sends `Z`, and supporting offsets would be guessing. `None` on
/// anything else, including dates before 1970.
pub fn parse_rfc3339_ms(s: &str) -> Option<u64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter().try_fold(0u64, |acc, d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    };
    let sep = |i: usize, cs: &[u8]| b.get(i).is_some_and(|c| cs.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = b.get(19..)?;
    let mut millis = 0;
    if let Some((b'.', tail)) = rest.split_first() {
        let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        // Milliseconds: the first three digits, right-padded with zeros.
        millis = tail
            .get(..digits)?
            .iter()
            .chain(b"000".iter())
            .take(3)
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        rest = tail.get(digits..)?;
    }
    if !matches!(rest, b"Z" | b"z" | b"+00:00") {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = *month_days.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    if year < 1970 || day == 0 || day > max_day || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil, year >= 1970).
    let y = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (y / 400, y % 400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec;
    secs.checked_mul(1000)?.checked_add(millis)
}

// ---- login / commit ------------------------------------------------------

/// The `responseCode` loop (mono.md §4): code at the top level, else inside
/// `data` (§11.1); payload nested (v2) or bare in `data` (v1, §11.2).
fn step(body: &Value) -> Result<Step, CallError> {
    if !body.is_object() {
        return Err(malformed("login reply is not a JSON object"));
    }
    let data = get(body, "data");
    let code_value =
        get(body, "responseCode").or_else(|| data.and_then(|d| get(d, "responseCode")));
    let code = code_value.and_then(u64_of);
    // `status: "failed"` wins over any code: a body that says it failed must
    // never yield a link code.
    if is_failed(body) || code == Some(400) {
        let message = message(body).unwrap_or_else(|| "The institution refused the request".into());
        return Ok(Step::Rejected(rejection(message)));
    }
    match code {
        Some(99) => {
            let code = data
                .and_then(|d| get(d, "code"))
                .or_else(|| get(body, "code"))
                .and_then(string_of)
                .ok_or_else(|| malformed("responseCode 99 without a code"))?;
            Ok(Step::Done { code })
        }
        Some(101) => {
            let list = data
                .and_then(|d| get(d, "accounts"))
                .or(data)
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or_else(|| malformed("responseCode 101 without accounts"))?;
            let accounts = list
                .iter()
                .map(account)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed("responseCode 101 with an account that has no number"))?;
            Ok(Step::ChooseAccount { accounts })
        }
        Some(102) => {
            let ui = data
                .and_then(|d| get(d, "userInput"))
                .or_else(|| data.filter(|d| get(d, "form").is_some()))
                .ok_or_else(|| malformed("responseCode 102 without a form"))?;
            let form =
                form_of(ui).ok_or_else(|| malformed("responseCode 102 form is not readable"))?;
            Ok(Step::NeedsInput { form })
        }
        Some(other) => Err(CallError::Malformed(format!(
            "unknown responseCode {other}"
        ))),
        None if code_value.is_some() => Err(malformed("responseCode is not a number")),
        None => Err(malformed("login reply without a responseCode")),
    }
}

/// One `101` entry. `balance` is kobo (mono.md §11.15) and is never turned
/// into naira here; a balance that is not an integer stays in `extra`.
fn account(v: &Value) -> Option<Account> {
    let mut o = v.as_object()?.clone();
    let number = take(
        &mut o,
        &["accountNumber", "account_number", "number"],
        string_of,
    )?;
    let name = take(&mut o, &["name"], plain_str).unwrap_or_default();
    let mut a = Account::new(number, name);
    a.kind = take(&mut o, &["type"], plain_str);
    a.currency = take(&mut o, &["currency"], plain_str);
    a.status = take(&mut o, &["status"], plain_str);
    a.balance = take(&mut o, &["balance"], i64_of);
    a.extra = o;
    Some(a)
}

// ---- exchange ------------------------------------------------------------

/// `{id}` or `{data: {id}}` (mono.md §11.12).
fn exchanged(body: &Value) -> Result<Reply, CallError> {
    get(body, "id")
        .or_else(|| get(body, "data").and_then(|d| get(d, "id")))
        .and_then(string_of)
        .map(|account_id| Reply::Exchanged { account_id })
        .ok_or_else(|| malformed("exchange reply without an account id"))
}
