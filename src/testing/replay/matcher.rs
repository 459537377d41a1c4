//! Does an incoming request match a recorded one, modulo placeholders?
//!
//! A recorded placeholder (`__password_3__`) matches any value the first
//! time and binds to it; later it matches only that value again. So a
//! replay accepts someone else's password, but not a login that sends a
//! session id other than the one the replayed session reply gave out.

use crate::driver::scrub::placeholder_len;
use serde_json::Value;
use std::collections::HashMap;

/// Placeholder → the value it stood for in this replay.
pub(super) type Bindings = HashMap<String, String>;

enum Segment<'a> {
    Literal(&'a str),
    Hole(&'a str),
}

fn segments(recorded: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i < recorded.len() {
        if let Some(len) = recorded[i..]
            .starts_with("__")
            .then(|| placeholder_len(&recorded[i..]))
            .flatten()
        {
            if literal_start < i {
                out.push(Segment::Literal(&recorded[literal_start..i]));
            }
            out.push(Segment::Hole(&recorded[i..i + len]));
            i += len;
            literal_start = i;
        } else {
            i += recorded[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if literal_start < recorded.len() {
        out.push(Segment::Literal(&recorded[literal_start..]));
    }
    out
}

/// Matches `actual` against the recorded string, extending `bindings`
/// (only when the whole string matches).
pub(super) fn match_str(recorded: &str, actual: &str, bindings: &mut Bindings) -> bool {
    let segs = segments(recorded);
    let mut trial = bindings.clone();
    if match_segments(&segs, actual, &mut trial) {
        *bindings = trial;
        true
    } else {
        false
    }
}

fn match_segments(segs: &[Segment<'_>], actual: &str, b: &mut Bindings) -> bool {
    let Some((first, rest)) = segs.split_first() else {
        return actual.is_empty();
    };
    match first {
        Segment::Literal(l) => actual.starts_with(l) && match_segments(rest, &actual[l.len()..], b),
        Segment::Hole(h) => {
            if let Some(v) = b.get(*h).cloned() {
                return actual.starts_with(v.as_str())
                    && match_segments(rest, &actual[v.len()..], b);
            }
            // Shortest first: a hole is followed by a literal delimiter.
            let mut ends: Vec<usize> = actual
                .char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .chain([actual.len()])
                .collect();
            if rest.is_empty() {
                ends = vec![actual.len()];
            }
            for end in ends {
                if end == 0 {
                    continue;
                }
                let mut trial = b.clone();
                trial.insert((*h).to_owned(), actual[..end].to_owned());
                if match_segments(rest, &actual[end..], &mut trial) {
                    *b = trial;
                    return true;
                }
            }
            false
        }
    }
}

/// Matches two JSON values; on a mismatch, says where and how (never
/// printing a value a placeholder stood for).
pub(super) fn match_json(
    at: &str,
    recorded: &Value,
    actual: &Value,
    b: &mut Bindings,
) -> Result<(), String> {
    match (recorded, actual) {
        (Value::String(r), Value::String(a)) => {
            if match_str(r, a, b) {
                Ok(())
            } else if segments(r).iter().any(|s| matches!(s, Segment::Hole(_))) {
                Err(format!(
                    "{at}: expected {r:?} (placeholders stand for earlier values), got a different value"
                ))
            } else {
                Err(format!("{at}: expected {r:?}, got {a:?}"))
            }
        }
        // A secret number was recorded as its placeholder string.
        (Value::String(r), Value::Number(n)) if placeholder_len(r) == Some(r.len()) => {
            if match_str(r, &n.to_string(), b) {
                Ok(())
            } else {
                Err(format!("{at}: a different value than {r} stood for"))
            }
        }
        (Value::Object(r), Value::Object(a)) => {
            for key in r.keys() {
                if !a.contains_key(key) {
                    return Err(format!("{at}.{key}: missing"));
                }
            }
            for key in a.keys() {
                if !r.contains_key(key) {
                    return Err(format!("{at}.{key}: not in the recording"));
                }
            }
            for (key, rv) in r {
                match_json(&format!("{at}.{key}"), rv, &a[key], b)?;
            }
            Ok(())
        }
        (Value::Array(r), Value::Array(a)) => {
            if r.len() != a.len() {
                return Err(format!("{at}: expected {} items, got {}", r.len(), a.len()));
            }
            for (i, (rv, av)) in r.iter().zip(a).enumerate() {
                match_json(&format!("{at}[{i}]"), rv, av, b)?;
            }
            Ok(())
        }
        (r, a) if r == a => Ok(()),
        (r, a) => Err(format!("{at}: expected {r}, got {a}")),
    }
}

/// `value` with every bound placeholder replaced by what it stood for.
pub(super) fn fill(value: &Value, b: &Bindings) -> Value {
    match value {
        Value::String(s) => Value::String(fill_str(s, b)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, b)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (fill_str(k, b), fill(v, b)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub(super) fn fill_str(s: &str, b: &Bindings) -> String {
    segments(s)
        .into_iter()
        .map(|seg| match seg {
            Segment::Literal(l) => l.to_owned(),
            Segment::Hole(h) => b.get(h).cloned().unwrap_or_else(|| h.to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_bind_once_and_then_must_repeat() {
        let mut b = Bindings::new();
        assert!(match_str("/v2/x/__id_1__/login", "/v2/x/abc/login", &mut b));
        assert_eq!(b["__id_1__"], "abc");
        assert!(!match_str("__id_1__", "abd", &mut b));
        assert!(match_str("__id_1__", "abc", &mut b));
        let err = match_json(
            "$",
            &json!({"institution": "sandbox-bank", "pw": "__password_2__"}),
            &json!({"institution": "other-bank", "pw": "x"}),
            &mut b,
        )
        .unwrap_err();
        assert!(
            err.contains("$.institution") && err.contains("other-bank"),
            "{err}"
        );
    }
}
