//! [`Notice`]: the line shown above a screen when something did not go to plan.

use serde::{Deserialize, Serialize};

/// Why a screen is shown again, or what changed. Every channel shows
/// [`message`](Notice::message) above the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Notice {
    /// The partner refused the last answer; the person may try again.
    Rejected {
        /// The partner's words.
        message: String,
        /// Tries left before the flow fails.
        attempts_left: u8,
    },
    /// The partner did not answer usefully; the person may try again.
    PartnerUnavailable {
        /// What went wrong (no secrets: built from a `CallError`).
        detail: String,
    },
    /// The session expired and a new one was opened: log in again.
    SessionRenewed,
    /// The partner ended the session after a wrong answer: log in again.
    LoginAgain {
        /// The partner's words.
        message: String,
    },
    /// The institution could not open a session.
    InstitutionUnavailable {
        /// The partner's words.
        message: String,
    },
    /// The preselected institution or method is not in the catalogue.
    PreselectNotFound {
        /// The id asked for.
        id: String,
    },
    /// A saved login needs the person to answer the bank's questions:
    /// choosing the bank again asks them.
    AnswersNeeded {
        /// The partner's words.
        message: String,
    },
}

impl Notice {
    /// A sentence for the person.
    pub fn message(&self) -> String {
        match self {
            Notice::Rejected {
                message,
                attempts_left,
            } => {
                if *attempts_left == 1 {
                    format!("{message} (1 try left)")
                } else {
                    format!("{message} ({attempts_left} tries left)")
                }
            }
            Notice::PartnerUnavailable { .. } => {
                "The bank is not responding. Please try again.".into()
            }
            Notice::SessionRenewed => "Your session expired. Please log in again.".into(),
            Notice::LoginAgain { message } => {
                format!("{}. Please log in again.", message.trim_end_matches('.'))
            }
            Notice::InstitutionUnavailable { message } => message.clone(),
            Notice::PreselectNotFound { .. } => {
                "That bank is not available. Please choose another.".into()
            }
            Notice::AnswersNeeded { message } => format!(
                "{}. Choose your bank again to answer them.",
                message.trim_end_matches('.')
            ),
        }
    }
}
