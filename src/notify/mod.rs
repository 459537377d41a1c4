//! Sending a person a text message: the [`Notifier`] trait, a log-only
//! default ([`LogNotifier`]) and Africa's Talking's SMS API
//! ([`africastalking`]). The USSD channel uses it to hand a flow to the web
//! page: the message carries a one-time link.
//!
//! A message may carry a credential (a link token), so [`Sms`] does not
//! show its text in `Debug`, and the log-only notifier does not log it
//! unless told to (a development server, where the log is the only way to
//! see the link).

pub mod africastalking;

use crate::store::BoxFuture;
use std::fmt;

/// One text message.
#[derive(Clone, PartialEq, Eq)]
pub struct Sms {
    /// The recipient, E.164 (`+254711000001`).
    pub to: String,
    /// The text.
    pub text: String,
}

impl fmt::Debug for Sms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sms")
            .field("to", &mask(&self.to))
            .field(
                "text",
                &format_args!("({} characters)", self.text.chars().count()),
            )
            .finish()
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The provider could not be reached or did not answer in time.
    #[error("SMS provider unreachable: {0}")]
    Transport(String),
    /// The provider refused the message (bad number, no credit, bad key).
    #[error("SMS refused: {0}")]
    Refused(String),
}

/// Sends text messages.
pub trait Notifier: Send + Sync + fmt::Debug + 'static {
    /// Sends `sms`; `Ok` once the provider has accepted it.
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), NotifyError>>;
}

/// Logs messages instead of sending them (the default: no provider is set
/// up). The text is logged only when [`revealing`](LogNotifier::revealing),
/// since it may carry a one-time link.
#[derive(Debug, Default, Clone)]
pub struct LogNotifier {
    reveal: bool,
}

impl LogNotifier {
    /// Logs the recipient and length only.
    pub fn new() -> LogNotifier {
        LogNotifier { reveal: false }
    }

    /// Logs the whole text too: for a development server (the sandbox),
    /// where nobody else can receive it.
    pub fn revealing() -> LogNotifier {
        LogNotifier { reveal: true }
    }
}

impl Notifier for LogNotifier {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
            if self.reveal {
                tracing::info!(to = %mask(&sms.to), text = %sms.text, "SMS (not sent: log only)");
            } else {
                tracing::info!(to = %mask(&sms.to), chars = sms.text.chars().count(),
                    "SMS (not sent: no SMS provider is configured)");
            }
            Ok(())
        })
    }
}

/// A phone number as it may be logged: all but the last three digits hidden.
pub fn mask(phone: &str) -> String {
    let n = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i + 3 < n && c.is_ascii_digit() {
                '*'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_shows_neither_its_text_nor_the_whole_number() {
        let sms = Sms {
            to: "+254711000123".into(),
            text: "Continue: http://x/link?token=lt_1_2".into(),
        };
        let shown = format!("{sms:?}");
        assert!(
            !shown.contains("lt_1_2") && !shown.contains("711000"),
            "{shown}"
        );
        assert!(shown.contains("123"));
        assert_eq!(mask("+254711000123"), "+*********123");
    }
}
