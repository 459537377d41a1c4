//! Why a typed value was refused ([`FieldError`], [`Problem`]) and the
//! sentence a person is shown for it.

use serde::{Deserialize, Serialize};

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Problem {
    /// Empty or missing: every field is required.
    Required,
    /// Longer than `maxLength`.
    TooLong {
        /// The limit.
        max: u32,
    },
    /// Not exactly `length` characters (captcha).
    WrongLength {
        /// The required length.
        expected: u32,
    },
    /// Not one of the choice field's options.
    NotAnOption,
    /// The form has no such field.
    Unexpected,
    /// The same field was given twice.
    Duplicate,
}

/// A value refused by [`Form::validate`](super::Form::validate), with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.message())]
pub struct FieldError {
    /// The field's `name`.
    pub field: String,
    /// The field's label at the time of the error.
    pub label: String,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: Problem,
}

impl FieldError {
    pub(super) fn new(field: String, label: &str, problem: Problem) -> Self {
        FieldError {
            field,
            label: label.to_owned(),
            problem,
        }
    }

    /// A short sentence for a person: "PIN: at most 4 digits".
    /// A label that is a whole instruction ("Enter the OTP sent to
    /// ***005") is not repeated: the field is named by its short name.
    pub fn message(&self) -> String {
        let l = &self.subject();
        // PINs and one-time codes are typed as digits (whole names only:
        // not `shipping`, not `opinion`).
        let digits = ["otp", "pin", "mpin", "token"];
        let unit = if digits.iter().any(|d| self.field.eq_ignore_ascii_case(d)) {
            "digits"
        } else {
            "characters"
        };
        match &self.problem {
            Problem::Required => format!("{l} is required"),
            Problem::TooLong { max } => format!("{l}: at most {max} {unit}"),
            Problem::WrongLength { expected } => {
                format!("{l}: exactly {expected} {unit}")
            }
            Problem::NotAnOption => format!("{l}: choose one of the options"),
            Problem::Unexpected => format!("{l} is not a field of this form"),
            Problem::Duplicate => format!("{l} was given twice"),
        }
    }
}

impl FieldError {
    /// The label when it is a name (three words at most), else the field's
    /// name made readable (`otp` → `OTP`, `account_number` → `Account
    /// number`).
    fn subject(&self) -> String {
        if self.label.split_whitespace().count() <= 3 {
            return self.label.clone();
        }
        let lower = self.field.to_ascii_lowercase();
        if ["otp", "pin", "bvn", "nin", "mpin"].contains(&lower.as_str()) {
            return lower.to_ascii_uppercase();
        }
        let spaced = self.field.replace(['_', '-'], " ");
        let mut chars = spaced.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => self.label.clone(),
        }
    }
}
