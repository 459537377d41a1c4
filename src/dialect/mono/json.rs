//! Reading JSON that may be anything: every helper here is total. JSON is
//! navigated with `Value::get` (which answers `None` on non-objects) and
//! nothing indexes, unwraps or assumes `data` is an object (mono.md §11.11).

use crate::dialect::bounds;
use crate::dialect::text::{clip, MAX_CODE_CHARS, MAX_MESSAGE_CHARS};
use crate::flow::CallError;
use crate::form::Form;
use serde::Deserialize;
use serde_json::{Map, Value};

pub(super) type Obj = Map<String, Value>;

pub(super) fn malformed(what: &str) -> CallError {
    CallError::Malformed(what.to_owned())
}

/// The partner's `message` (or `error`) string, trimmed and bounded.
pub(super) fn message(body: &Value) -> Option<String> {
    ["message", "error"]
        .iter()
        .filter_map(|k| body.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .find(|m| !m.is_empty())
        .map(|m| clip(m, MAX_MESSAGE_CHARS).to_owned())
}

pub(super) fn is_failed(body: &Value) -> bool {
    body.get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("failed"))
}

/// `v.get(key)`, with JSON `null` treated as absent.
pub(super) fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// A string, or a number written as one (ids and codes arrive as either).
pub(super) fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn plain_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// A name a person reads (a bank's or an account's), cut like a message:
/// it is kept in the flow's state and stored with the session.
pub(super) fn name_str(v: &Value) -> Option<String> {
    v.as_str().map(|s| clip(s, MAX_MESSAGE_CHARS).to_owned())
}

/// A short partner word (an account's type, currency or status), cut like a
/// code, for the same reason.
pub(super) fn word_str(v: &Value) -> Option<String> {
    v.as_str().map(|s| clip(s, MAX_CODE_CHARS).to_owned())
}

pub(super) fn u64_of(v: &Value) -> Option<u64> {
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

pub(super) fn i64_of(v: &Value) -> Option<i64> {
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

/// A catalogue form: `None` when it does not parse or is past its bounds
/// (`dialect::bounds`), so the bank is kept without it, as with any
/// unreadable form. Deserializes straight from the borrowed tree: no copy of
/// the subtree first (an institution list carries dozens of forms).
pub(super) fn form_of(v: &Value) -> Option<Form> {
    Form::deserialize(v).ok().and_then(|f| bounds::form(f).ok())
}

/// A form a reply hands the flow (a session's, a `102`'s): unreadable, or
/// past its bounds, it makes the reply malformed, saying which. `what`
/// names the form.
pub(super) fn form_in(v: &Value, what: &str) -> Result<Form, CallError> {
    let form = Form::deserialize(v)
        .map_err(|_| CallError::Malformed(format!("{what} is not readable")))?;
    bounds::form(form)
}

/// A string that names something exactly (an identifier, a bank code),
/// read only when it is at most `max` bytes: cut, it would name something
/// else. A longer one is not read (and, past the `extra` budget, not kept).
pub(super) fn exact(
    max: usize,
    parse: fn(&Value) -> Option<String>,
) -> impl Fn(&Value) -> Option<String> {
    move |v| parse(v).filter(|s| s.len() <= max)
}

/// Removes and parses the first of `keys` that parses. Keys that are absent,
/// `null` or unreadable stay in `o`, so they end up in `extra` and round-trip.
pub(super) fn take<T>(
    o: &mut Obj,
    keys: &[&str],
    parse: impl Fn(&Value) -> Option<T>,
) -> Option<T> {
    let (key, value) = keys
        .iter()
        .find_map(|k| o.get(*k).and_then(|v| parse(v).map(|t| (*k, t))))?;
    o.remove(key);
    Some(value)
}
