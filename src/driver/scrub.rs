//! Replacing every secret in a recorded exchange by a stable placeholder.
//!
//! A transcript is attached to bug reports and committed as a regression
//! test, so nothing a person typed or a partner issued may reach it: typed
//! form values, API keys, session ids, codes, tokens, account numbers, BVNs,
//! phone numbers, e-mails, names. The same value always gets the same
//! placeholder within one file, so the conversation still reads (the session
//! id a partner issued is the one the next login sends) and a replay can
//! check that a request reuses what an earlier reply gave it.

use serde_json::Value;
use std::collections::HashMap;

/// Shorter values are only replaced where they stand alone (a whole JSON
/// string under a secret key): replacing every "12" inside every string
/// would shred the transcript.
const MIN_SUBSTRING: usize = 4;

/// JSON keys (lower case, without `_` and `-`) whose values are secrets.
const SECRET_KEYS: &[&str] = &[
    "password",
    "pin",
    "otp",
    "token",
    "authorizetoken",
    "accesstoken",
    "refreshtoken",
    "code",
    "id",
    "sessionid",
    "session",
    "loginid",
    "requestid",
    "accountid",
    "accountnumber",
    "accountno",
    "account",
    "number",
    "nuban",
    "bvn",
    "phone",
    "phonenumber",
    "msisdn",
    "mobile",
    "email",
    "name",
    "username",
    "answer",
    "answers",
    "securityresponses",
    "secret",
    "key",
    "apikey",
    "authorization",
    "customer",
    "identifiervalue",
    "cardid",
    "dateofbirth",
    "dob",
];

/// Secret keys whose nested objects are secret whole (their keys are
/// questions, their values answers).
const INHERITED: &[&str] = &["securityresponses", "answers"];

/// Containers whose contents are public protocol vocabulary (a form's field
/// names, an institution's id): key-based scrubbing stops there, so a
/// replayed form still has its fields. Known secrets are still replaced.
const PUBLIC_CONTAINERS: &[&str] = &[
    "userinput",
    "ui",
    "form",
    "fields",
    "securitychallenges",
    "institution",
    "institutions",
];

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// True when a JSON key names a secret value.
pub(crate) fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&normalise(key).as_str())
}

/// True when `s` is a placeholder this scrubber writes: `__kind_n__`.
pub fn is_placeholder(s: &str) -> bool {
    placeholder_len(s) == Some(s.len())
}

/// The highest placeholder number in `text` (0 when there is none).
pub(crate) fn highest_placeholder(text: &str) -> u32 {
    let mut max = 0;
    let mut rest = text;
    while let Some(i) = rest.find("__") {
        let here = &rest[i..];
        match placeholder_len(here) {
            Some(len) => {
                let inner = &here[2..len - 2];
                if let Some(n) = inner
                    .rsplit_once('_')
                    .and_then(|(_, n)| n.parse::<u32>().ok())
                {
                    max = max.max(n);
                }
                rest = &here[len..];
            }
            None => rest = &here[1..],
        }
    }
    max
}

/// The length of the placeholder at the start of `s`, if one is there.
pub(crate) fn placeholder_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("__")?;
    let end = rest.find("__")?;
    let inner = &rest[..end];
    let (kind, n) = inner.rsplit_once('_')?;
    let ok = !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(end + 4)
}

/// The secrets seen so far in one transcript and their placeholders.
#[derive(Default)]
pub(crate) struct Scrubber {
    placeholders: HashMap<String, String>,
    /// (encoded form, placeholder), longest first, for substring replacement.
    forms: Vec<(String, String)>,
    next: u32,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("secrets", &self.placeholders.len())
            .finish()
    }
}

impl Scrubber {
    /// A scrubber numbering its placeholders after `used`: appending to a
    /// transcript that already holds placeholders up to `used` must not
    /// give a new secret an old one's name.
    pub(crate) fn continuing(used: u32) -> Scrubber {
        Scrubber {
            next: used,
            ..Scrubber::default()
        }
    }

    /// Registers `value` as a secret of `kind`; returns its placeholder.
    pub(crate) fn secret(&mut self, kind: &str, value: &str) -> String {
        if value.is_empty() || is_placeholder(value) {
            return value.to_owned();
        }
        if let Some(p) = self.placeholders.get(value) {
            return p.clone();
        }
        self.next += 1;
        let kind: String = normalise(kind)
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            .take(16)
            .collect();
        let kind = if kind.is_empty() {
            "secret".into()
        } else {
            kind
        };
        let placeholder = format!("__{kind}_{}__", self.next);
        self.placeholders
            .insert(value.to_owned(), placeholder.clone());
        if value.len() >= MIN_SUBSTRING {
            // In clear, and as the encodings a wire might carry it in.
            for form in [
                value.to_owned(),
                hex(value.as_bytes()),
                hex(value.as_bytes()).to_uppercase(),
                base64(value.as_bytes()),
                base64(value.as_bytes()).trim_end_matches('=').to_owned(),
            ] {
                if form.len() >= MIN_SUBSTRING && !self.forms.iter().any(|(f, _)| *f == form) {
                    self.forms.push((form, placeholder.clone()));
                }
            }
            self.forms.sort_by_key(|f| std::cmp::Reverse(f.0.len()));
        }
        placeholder
    }

    /// `s` with every known secret (in any form) replaced.
    pub(crate) fn text(&self, s: &str) -> String {
        if let Some(p) = self.placeholders.get(s) {
            return p.clone();
        }
        let mut out = s.to_owned();
        for (form, placeholder) in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), placeholder);
            }
        }
        out
    }

    /// Registers the values under secret keys of `value` (outside public
    /// containers); `public_ids` keeps `id` and `name` (a catalogue).
    pub(crate) fn learn(&mut self, value: &Value, public_ids: bool) {
        self.learn_in(value, None, public_ids);
    }

    fn learn_in(&mut self, value: &Value, secret_kind: Option<&str>, public_ids: bool) {
        match value {
            Value::String(s) => {
                if let Some(kind) = secret_kind {
                    self.secret(kind, s);
                }
            }
            Value::Number(n) => {
                if let Some(kind) = secret_kind {
                    self.secret(kind, &n.to_string());
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.learn_in(item, secret_kind, public_ids);
                }
            }
            Value::Object(map) => {
                // An object under a secret key (`session`, `customer`) is
                // read key by key; only a map of answers is secret whole.
                let inherited = secret_kind.filter(|k| INHERITED.contains(&normalise(k).as_str()));
                for (key, item) in map {
                    let norm = normalise(key);
                    if inherited.is_none() && PUBLIC_CONTAINERS.contains(&norm.as_str()) {
                        continue;
                    }
                    let public = public_ids && (norm == "id" || norm == "name");
                    let kind = match inherited {
                        Some(k) => Some(k),
                        None if is_secret_key(key) && !public => Some(key.as_str()),
                        None => None,
                    };
                    self.learn_in(item, kind, public_ids);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// `value` with every known secret replaced: strings in place, numbers
    /// that are secrets become their placeholder string.
    pub(crate) fn json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Number(n) => match self.placeholders.get(&n.to_string()) {
                Some(p) => Value::String(p.clone()),
                None => value.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.text(k), self.json(v)))
                    .collect(),
            ),
            Value::Null | Value::Bool(_) => value.clone(),
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn same_value_same_placeholder_and_every_form_replaced() {
        let mut s = Scrubber::default();
        let body = json!({"data": {"id": "sess_123456", "institution": {"id": "bank-1"}}});
        s.learn(&body, false);
        let out = s.json(&body);
        assert_eq!(out["data"]["id"], "__id_1__");
        assert_eq!(out["data"]["institution"]["id"], "bank-1");
        let header = format!("Basic {}", base64(b"sess_123456"));
        assert_eq!(s.text(&header), "Basic __id_1__");
        assert_eq!(s.text(&hex(b"sess_123456")), "__id_1__");
        assert_eq!(s.secret("session", "sess_123456"), "__id_1__");
        assert!(is_placeholder("__id_1__") && !is_placeholder("__id__"));
    }
}
