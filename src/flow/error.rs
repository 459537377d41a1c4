//! Errors: [`FlowError`] is the caller's mistake, [`Failure`] is the partner's
//! (or the person's) final outcome.

use super::input::ActionKind;
use super::state::StateKind;
use super::types::RequestId;
use crate::form::FieldError;
use serde::{Deserialize, Serialize};

/// The caller asked for something the flow cannot do now. The flow is left
/// exactly as it was; nothing here is fatal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The flow already ended (Done, Failed or Exited).
    #[error("the flow has already ended ({0:?})")]
    Finished(StateKind),
    /// This action makes no sense in this state (e.g. Submit while a login is in flight).
    #[error("{action} is not possible while {state:?}")]
    NotAllowed {
        /// What was attempted.
        action: ActionKind,
        /// Where the flow is.
        state: StateKind,
    },
    /// No institution with this id in the catalogue.
    #[error("unknown institution {0:?}")]
    UnknownInstitution(String),
    /// The institution does not offer this auth method (or it is the current one).
    #[error("auth method {0:?} is not available here")]
    UnknownAuthMethod(String),
    /// No account at this position.
    #[error("there is no account {index} (the list has {count})")]
    NoSuchAccount {
        /// Requested position.
        index: usize,
        /// Accounts on screen.
        count: usize,
    },
    /// The values do not satisfy the form. The errors are also in the view.
    #[error("{} value(s) need fixing: {}", .0.len(), .0.iter().map(|e| e.message()).collect::<Vec<_>>().join("; "))]
    InvalidValues(Vec<FieldError>),
    /// A reply nobody is waiting for: stale (after Back/Exit), duplicated,
    /// or with an id never issued. Reported, never applied.
    #[error("reply {id} was not expected (waiting for {waiting:?})")]
    UnexpectedReply {
        /// The reply's id.
        id: RequestId,
        /// The id the flow is waiting for, if any.
        waiting: Option<RequestId>,
    },
}

/// How a flow ended badly. Terminal; `is_retryable` says whether starting a
/// new flow might succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "failure", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Failure {
    /// The partner refused for good (account locked, login disabled).
    #[error("{message}")]
    Rejected {
        /// The partner's words.
        message: String,
        /// The partner's code, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// The partner answered with something this crate does not know (an
    /// unknown code); its words are shown.
    #[error("the partner answered with an unknown outcome{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Unrecognised {
        /// The partner's words.
        message: String,
        /// The partner's code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// Too many wrong answers.
    #[error("too many unsuccessful attempts ({attempts})")]
    TooManyAttempts {
        /// How many were refused.
        attempts: u8,
    },
    /// The partner asked for more MFA rounds than the config allows.
    #[error("the bank asked for too many verification steps ({rounds})")]
    TooManyRounds {
        /// Rounds seen.
        rounds: u8,
    },
    /// More sessions than the config allows (Back and switch loops).
    #[error("too many sessions were started ({sessions})")]
    TooManySessions {
        /// Sessions created.
        sessions: u8,
    },
    /// The session expired and could not be renewed.
    #[error("the session expired")]
    SessionExpired,
    /// The code expired before it was exchanged.
    #[error("the link code expired before it was exchanged")]
    CodeExpired,
    /// The partner could not be reached, or kept failing.
    #[error("the bank is not responding: {detail}")]
    PartnerUnavailable {
        /// What went wrong last.
        detail: String,
    },
    /// The partner refused our API credentials: a configuration problem.
    #[error("the partner refused our credentials: {message}")]
    Unauthorized {
        /// The partner's words.
        message: String,
    },
    /// The partner's reply could not be used.
    #[error("the partner's reply could not be used: {detail}")]
    Protocol {
        /// What was wrong.
        detail: String,
    },
}

impl Failure {
    /// True when a new attempt (a new flow) might succeed as it is: the
    /// partner was down or answered something unknown, a session or code
    /// expired, Back/switch loops ran out of sessions. Not after too many
    /// wrong answers ([`Failure::TooManyAttempts`]): another try risks the
    /// bank locking the login, so the person must check their details
    /// first.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Failure::PartnerUnavailable { .. }
                | Failure::Unrecognised { .. }
                | Failure::SessionExpired
                | Failure::CodeExpired
                | Failure::TooManySessions { .. }
                | Failure::Protocol { .. }
        )
    }

    /// A sentence for the person, without internals.
    pub fn message(&self) -> String {
        match self {
            Failure::Rejected { message, .. } | Failure::Unrecognised { message, .. } => {
                message.clone()
            }
            Failure::TooManyAttempts { .. } => {
                "Too many wrong answers: your bank may have locked this login. Check with your bank before trying again.".into()
            }
            Failure::TooManyRounds { .. } | Failure::Protocol { .. } => {
                "Something went wrong with your bank. Please try again.".into()
            }
            Failure::TooManySessions { .. } => "Too many attempts. Please start again.".into(),
            Failure::SessionExpired => "Your session expired. Please start again.".into(),
            Failure::CodeExpired => {
                "The link expired before it was completed. Please start again.".into()
            }
            Failure::PartnerUnavailable { .. } => {
                "The bank is not responding. Please try again later.".into()
            }
            Failure::Unauthorized { .. } => {
                "This service is not set up correctly. Please contact support.".into()
            }
        }
    }
}
