//! [`Secret`]: a string that never shows itself by accident.

use std::fmt;

/// A value a person typed that must never reach a log, an event, an error or a
/// stored snapshot once it has been sent: passwords, PINs, OTPs, security
/// answers, and anything a descriptor marks `contentType: "password"`.
///
/// `Debug` and `Display` print `***`. There is deliberately no `Serialize`
/// implementation: the only way to put a secret on the wire is
/// [`Secret::expose`], which a dialect calls when it builds a request body, so a
/// leak has to be written out by name and is easy to find in review.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The plain value. Call it only to put the value on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Number of characters (not bytes): what `maxLength` counts.
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("123456");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", vec![s.clone()]), "[Secret(***)]");
        assert_eq!(s.expose(), "123456");
    }
}
