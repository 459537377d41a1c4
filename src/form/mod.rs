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
mod validate;
mod values;

pub use error::{FieldError, Problem};
pub use secret::Secret;
pub(crate) use values::reveal_values;
pub use values::Values;

use serde::{Deserialize, Serialize};

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
        // Whatever the case: a partner that sends `Password` still means a
        // masked field, and reading it as unknown (plain) would keep its
        // value after a rejection, as a prefill, and show it on screen.
        if s.eq_ignore_ascii_case("password") {
            ContentType::Password
        } else if s.eq_ignore_ascii_case("string") {
            ContentType::Text
        } else {
            ContentType::Unknown(s)
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
        // Case-insensitive, without a lowercased copy: every view of a form
        // asks this of every field.
        let name = self.name.as_bytes();
        SECRET_NAME_PARTS.iter().any(|part| {
            name.windows(part.len())
                .any(|w| w.eq_ignore_ascii_case(part.as_bytes()))
        })
    }

    /// What to call the field in a message: its hint, or its name.
    pub fn label(&self) -> &str {
        if self.hint.is_empty() {
            &self.name
        } else {
            &self.hint
        }
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
}

#[cfg(test)]
mod tests;
