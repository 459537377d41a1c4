//! Form descriptors (Mono's `ui` object), the values a person types into them,
//! and validation before anything is sent.
//!
//! A partner describes every login and MFA screen as data:
//!
//! ```json
//! { "title": "Login to First Bank",
//!   "form": [ { "type": "elements.input", "name": "username", "hint": "Username", "contentType": "string" },
//!             { "type": "elements.input", "name": "password", "hint": "Password", "contentType": "password" } ] }
//! ```
//!
//! [`Form`] is that object. Field types and content types the partner adds later
//! land in `Unknown(String)` and unknown keys are kept in `extra`, so a form
//! re-serializes byte-for-byte equivalent to what the partner sent.
//!
//! ```
//! use connectflow::form::{Form, Values};
//!
//! let form: Form = serde_json::from_str(r#"{"title":"Login","form":[
//!   {"type":"elements.input","name":"pin","hint":"PIN","contentType":"password","maxLength":4}]}"#).unwrap();
//! let errors = form.validate(&Values::new().with("pin", "12345")).unwrap_err();
//! assert_eq!(errors[0].to_string(), "PIN: at most 4 digits");
//! assert!(form.validate(&Values::new().with("pin", "1234")).is_ok());
//! ```

mod error;
mod secret;

pub use error::{FieldError, Problem};
pub use secret::Secret;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Keys a partner sent that this crate does not model; kept so they round-trip.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// One screen of input: the `ui` object of an institution, a session or an MFA step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    /// Heading shown above the fields.
    #[serde(default)]
    pub title: String,
    /// The fields, in display order. Serialized as `form`, as Mono names it.
    #[serde(rename = "form", default)]
    pub fields: Vec<Field>,
    /// Keys this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One input on a [`Form`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// `elements.input`, `elements.captcha_input`, our `elements.choice`, or unknown.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// Key sent back to the partner, byte for byte (`accountNo` and `accountno` differ).
    pub name: String,
    /// Label or placeholder.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
    /// `string` or `password` (masked, never logged).
    #[serde(default)]
    pub content_type: ContentType,
    /// Most characters accepted (e.g. 4 for a transaction PIN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Exact number of characters (captcha).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Captcha image as a `data:` URL, or a default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Options of a choice field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    /// Keys this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `type` of a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum FieldKind {
    /// `elements.input`: free text.
    Input,
    /// `elements.captcha_input`: type the characters of the image in `value`.
    Captcha,
    /// `elements.choice`: pick one of `options` (not sent by Mono today; used
    /// for "where should we send the code?" prompts and the manual auth method).
    Choice,
    /// A type this crate does not know; treated as free text and kept as sent.
    Unknown(String),
}

impl From<String> for FieldKind {
    fn from(s: String) -> Self {
        match s.as_str() {
            "elements.input" => FieldKind::Input,
            "elements.captcha_input" => FieldKind::Captcha,
            "elements.choice" => FieldKind::Choice,
            _ => FieldKind::Unknown(s),
        }
    }
}

impl From<FieldKind> for String {
    fn from(k: FieldKind) -> Self {
        match k {
            FieldKind::Input => "elements.input".into(),
            FieldKind::Captcha => "elements.captcha_input".into(),
            FieldKind::Choice => "elements.choice".into(),
            FieldKind::Unknown(s) => s,
        }
    }
}

/// The `contentType` of a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum ContentType {
    /// Plain text.
    #[default]
    Text,
    /// Masked input; the value is a [`Secret`].
    Password,
    /// A content type this crate does not know; kept as sent.
    Unknown(String),
}

impl From<String> for ContentType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "string" => ContentType::Text,
            "password" => ContentType::Password,
            _ => ContentType::Unknown(s),
        }
    }
}

impl From<ContentType> for String {
    fn from(c: ContentType) -> Self {
        match c {
            ContentType::Text => "string".into(),
            ContentType::Password => "password".into(),
            ContentType::Unknown(s) => s,
        }
    }
}

/// One option of a [`FieldKind::Choice`] field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// What is sent back.
    pub value: String,
    /// What a person reads.
    pub label: String,
}

/// Name fragments that mark a value as secret even when the partner forgot
/// `contentType: "password"`: a USSD PIN or an OTP must never be logged either.
const SECRET_NAME_PARTS: [&str; 7] = ["pass", "pin", "otp", "token", "cvv", "secret", "answer"];

impl Field {
    /// A plain text input; handy in tests and scripted partners.
    pub fn input(name: impl Into<String>, hint: impl Into<String>) -> Self {
        Field {
            kind: FieldKind::Input,
            name: name.into(),
            hint: hint.into(),
            content_type: ContentType::Text,
            max_length: None,
            length: None,
            value: None,
            options: Vec::new(),
            extra: Extra::new(),
        }
    }

    /// A masked input.
    pub fn password(name: impl Into<String>, hint: impl Into<String>) -> Self {
        Field {
            content_type: ContentType::Password,
            ..Field::input(name, hint)
        }
    }

    /// A choice between `options` (`(value, label)` pairs).
    pub fn choice<V: Into<String>, L: Into<String>>(
        name: impl Into<String>,
        hint: impl Into<String>,
        options: impl IntoIterator<Item = (V, L)>,
    ) -> Self {
        Field {
            kind: FieldKind::Choice,
            options: options
                .into_iter()
                .map(|(value, label)| ChoiceOption {
                    value: value.into(),
                    label: label.into(),
                })
                .collect(),
            ..Field::input(name, hint)
        }
    }

    /// Sets `maxLength`.
    pub fn max_length(mut self, n: u32) -> Self {
        self.max_length = Some(n);
        self
    }

    /// True when the value must be handled as a [`Secret`] beyond the wire:
    /// masked on screen, never logged, never kept after it is sent.
    pub fn is_secret(&self) -> bool {
        if self.content_type == ContentType::Password {
            return true;
        }
        let name = self.name.to_ascii_lowercase();
        SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
    }

    /// What to call the field in a message: its hint, or its name.
    pub fn label(&self) -> &str {
        if self.hint.is_empty() {
            &self.name
        } else {
            &self.hint
        }
    }

    /// Checks one value against this field.
    pub fn check(&self, value: &Secret) -> Result<(), Problem> {
        let len = value.char_len();
        if value.expose().trim().is_empty() {
            return Err(Problem::Required);
        }
        if self.kind == FieldKind::Choice {
            return if self.options.iter().any(|o| o.value == value.expose()) {
                Ok(())
            } else {
                Err(Problem::NotAnOption)
            };
        }
        if let Some(exact) = self.length {
            if len != exact as usize {
                return Err(Problem::WrongLength { expected: exact });
            }
        }
        if let Some(max) = self.max_length {
            if len > max as usize {
                return Err(Problem::TooLong { max });
            }
        }
        Ok(())
    }
}

impl Form {
    /// A form from a title and fields.
    pub fn new(title: impl Into<String>, fields: Vec<Field>) -> Self {
        Form {
            title: title.into(),
            fields,
            extra: Extra::new(),
        }
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Checks `values` against every field: each field is required, `maxLength`
    /// and `length` are honoured, a choice must be one of its options, and no
    /// value may name a field the form does not have. All problems are returned
    /// at once, in field order, so a person can fix them in one go.
    pub fn validate(&self, values: &Values) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for field in &self.fields {
            let problem = match values.get(&field.name) {
                None => Some(Problem::Required),
                Some(v) => field.check(v).err(),
            };
            if let Some(problem) = problem {
                errors.push(FieldError::new(field.name.clone(), field.label(), problem));
            }
        }
        for (i, (name, _)) in values.iter().enumerate() {
            if self.field(name).is_none() {
                errors.push(FieldError::new(name.clone(), name, Problem::Unexpected));
            } else if values.iter().take(i).any(|(n, _)| n == name) {
                errors.push(FieldError::new(name.clone(), name, Problem::Duplicate));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// What a person typed, by field name, in the order given. Every value is held
/// as a [`Secret`] while in transit: `Debug` on a `Values` never shows a PIN,
/// whatever the partner's descriptor said.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Values(Vec<(String, Secret)>);

impl Values {
    /// No values.
    pub fn new() -> Self {
        Values(Vec::new())
    }

    /// Adds `name = value` (builder style).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.insert(name, value);
        self
    }

    /// Adds `name = value`, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Secret>) {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// `(name, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Secret)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values of the fields `form` does not treat as secret, for pre-filling
    /// the form again after a retryable rejection (the username stays, the
    /// password goes).
    pub fn public_part(&self, form: &Form) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(n, _)| form.field(n).is_some_and(|f| !f.is_secret()))
            .map(|(n, v)| (n.clone(), v.expose().to_owned()))
            .collect()
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, v)| (n, v)))
            .finish()
    }
}

impl<N: Into<String>, V: Into<Secret>> FromIterator<(N, V)> for Values {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut values = Values::new();
        for (n, v) in iter {
            values.insert(n, v);
        }
        values
    }
}

/// Serde for [`Values`] in the one place that must store values not yet sent:
/// an unpolled effect inside a snapshot. `Values` has no `Serialize` of its own
/// so that no derived impl can leak a PIN by accident; use
/// `#[serde(with = "crate::form::reveal_values")]` and justify it.
pub(crate) mod reveal_values {
    use super::Values;
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub(crate) fn serialize<S: Serializer>(values: &Values, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(values.len()))?;
        for (n, v) in values.iter() {
            map.serialize_entry(n, v.expose())?;
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Values, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Values;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Values, A::Error> {
                let mut values = Values::new();
                while let Some((k, v)) = m.next_entry::<String, Text>()? {
                    values.insert(k, v.0);
                }
                Ok(values)
            }
        }
        d.deserialize_map(V)
    }

    /// One value: a `String` whose refusal says values are strings, so a
    /// front-end that sends a PIN as a JSON number is told what to send
    /// (the link API's `json_error` keeps only the "expected ..." part,
    /// never the PIN). JSON is the only format values are read from, and
    /// it hands strings to `visit_str`/`visit_string`.
    struct Text(String);

    impl<'de> serde::Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
            struct T;
            impl Visitor<'_> for T {
                type Value = Text;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string (form values are JSON strings, digits too)")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                    Ok(Text(v.to_owned()))
                }
                fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                    Ok(Text(v))
                }
            }
            d.deserialize_string(T)
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_label_is_not_repeated_in_the_message() {
        let e = FieldError::new(
            "otp".into(),
            "Enter the OTP sent to ********005",
            Problem::TooLong { max: 6 },
        );
        assert_eq!(e.message(), "OTP: at most 6 digits");
        let e = FieldError::new("username".into(), "Username", Problem::TooLong { max: 9 });
        assert_eq!(e.message(), "Username: at most 9 characters");
    }

    fn login() -> Form {
        serde_json::from_str(
            r#"{"title":"Login to First Bank","form":[
              {"type":"elements.input","name":"username","hint":"Username","contentType":"string"},
              {"type":"elements.input","name":"password","hint":"Password","contentType":"password"},
              {"type":"elements.captcha_input","name":"captcha","hint":"Enter code","contentType":"string",
               "length":5,"value":"data:image/png;base64,iVBORw0KGgo"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn unknown_types_and_keys_round_trip() {
        let raw = serde_json::json!({
            "title": "T", "layout": "grid",
            "form": [{ "type": "elements.slider", "name": "x", "contentType": "biometric",
                       "hint": "X", "min": 1, "style": { "w": 2 } }]
        });
        let form: Form = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(
            form.fields[0].kind,
            FieldKind::Unknown("elements.slider".into())
        );
        assert_eq!(
            form.fields[0].content_type,
            ContentType::Unknown("biometric".into())
        );
        assert_eq!(form.extra["layout"], "grid");
        assert_eq!(serde_json::to_value(&form).unwrap(), raw);
    }

    #[test]
    fn every_field_is_required_and_all_errors_come_at_once() {
        let errs = login().validate(&Values::new()).unwrap_err();
        let msgs: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            [
                "Username is required",
                "Password is required",
                "Enter code is required"
            ]
        );
    }

    #[test]
    fn captcha_length_is_exact() {
        let v = Values::new()
            .with("username", "ada")
            .with("password", "pw")
            .with("captcha", "abcd");
        let errs = login().validate(&v).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].problem, Problem::WrongLength { expected: 5 });
        assert!(login().validate(&v.with("captcha", "abcde")).is_ok());
    }

    #[test]
    fn unexpected_and_whitespace_values_are_refused() {
        let v = Values::new()
            .with("username", "  ")
            .with("password", "pw")
            .with("captcha", "abcde")
            .with("pasword", "typo");
        let errs = login().validate(&v).unwrap_err();
        assert_eq!(errs[0].problem, Problem::Required);
        assert_eq!(errs[1].problem, Problem::Unexpected);
        assert_eq!(errs[1].field, "pasword");
    }

    #[test]
    fn choice_accepts_only_its_options() {
        let form = Form::new(
            "Verify",
            vec![Field::choice(
                "identifier",
                "Identify with",
                [("bvn", "BVN"), ("dob", "Date of birth")],
            )],
        );
        assert!(form
            .validate(&Values::new().with("identifier", "bvn"))
            .is_ok());
        let errs = form
            .validate(&Values::new().with("identifier", "BVN"))
            .unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "Identify with: choose one of the options"
        );
    }

    #[test]
    fn secrets_are_recognised_by_content_type_and_name() {
        let form = login();
        assert!(!form.fields[0].is_secret());
        assert!(form.fields[1].is_secret());
        assert!(Field::input("mPin", "M-PIN").is_secret());
        assert!(Field::input("otp", "OTP").is_secret());
        assert!(!Field::input("accountNo", "Account").is_secret());
        assert!(Field::input("answer", "What city were you born in?").is_secret());
        let v = Values::new()
            .with("username", "ada")
            .with("password", "hunter2");
        assert_eq!(
            format!("{v:?}"),
            r#"{"username": Secret(***), "password": Secret(***)}"#
        );
        assert_eq!(
            v.public_part(&form),
            vec![("username".to_string(), "ada".to_string())]
        );
    }

    #[test]
    fn max_length_counts_characters_not_bytes() {
        let f = Field::input("name", "Name").max_length(3);
        assert!(f.check(&Secret::new("éèà")).is_ok());
        assert_eq!(
            f.check(&Secret::new("abcd")),
            Err(Problem::TooLong { max: 3 })
        );
    }
}
