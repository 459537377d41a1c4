//! [`State`]: one variant per lifecycle state, each with its own data.

use super::error::Failure;
use super::event::Page;
use super::types::{Account, AuthMethodKind, InstitutionRef, RequestId, Timestamp};
use crate::form::{FieldError, Form};
use serde::{Deserialize, Serialize};

/// Where a flow is. Each variant owns exactly the data that state needs, so a
/// value that makes no sense in a state cannot be there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum State {
    /// Fetching the institution list (or waiting to retry it).
    LoadingInstitutions(LoadingInstitutions),
    /// The person picks an institution from the catalogue.
    ChoosingInstitution(ChoosingInstitution),
    /// Opening a partner session.
    CreatingSession(CreatingSession),
    /// The person fills in the login form.
    AwaitingCredentials(AwaitingCredentials),
    /// Login sent, waiting for the partner.
    LoggingIn(LoggingIn),
    /// The person answers an MFA form.
    AwaitingInput(AwaitingInput),
    /// The person picks an account.
    AwaitingAccount(AwaitingAccount),
    /// Commit sent, waiting for the partner.
    Committing(Committing),
    /// A code is held but its exchange failed; the person may retry.
    Linked(Linked),
    /// Exchanging the code for an account id.
    Exchanging(Exchanging),
    /// Linked (terminal).
    Done(Done),
    /// Ended badly (terminal).
    Failed(Failure),
    /// The person left (terminal).
    Exited(Exited),
}

/// [`State`] without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StateKind {
    /// [`State::LoadingInstitutions`]
    LoadingInstitutions,
    /// [`State::ChoosingInstitution`]
    ChoosingInstitution,
    /// [`State::CreatingSession`]
    CreatingSession,
    /// [`State::AwaitingCredentials`]
    AwaitingCredentials,
    /// [`State::LoggingIn`]
    LoggingIn,
    /// [`State::AwaitingInput`]
    AwaitingInput,
    /// [`State::AwaitingAccount`]
    AwaitingAccount,
    /// [`State::Committing`]
    Committing,
    /// [`State::Linked`]
    Linked,
    /// [`State::Exchanging`]
    Exchanging,
    /// [`State::Done`]
    Done,
    /// [`State::Failed`]
    Failed,
    /// [`State::Exited`]
    Exited,
}

impl StateKind {
    /// Every state, in lifecycle order.
    pub const ALL: [StateKind; 13] = [
        StateKind::LoadingInstitutions,
        StateKind::ChoosingInstitution,
        StateKind::CreatingSession,
        StateKind::AwaitingCredentials,
        StateKind::LoggingIn,
        StateKind::AwaitingInput,
        StateKind::AwaitingAccount,
        StateKind::Committing,
        StateKind::Linked,
        StateKind::Exchanging,
        StateKind::Done,
        StateKind::Failed,
        StateKind::Exited,
    ];

    /// Done, Failed and Exited: nothing moves a flow out of them.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            StateKind::Done | StateKind::Failed | StateKind::Exited
        )
    }

    /// The name used in graphs and transcripts.
    pub fn name(self) -> &'static str {
        match self {
            StateKind::LoadingInstitutions => "LoadingInstitutions",
            StateKind::ChoosingInstitution => "ChoosingInstitution",
            StateKind::CreatingSession => "CreatingSession",
            StateKind::AwaitingCredentials => "AwaitingCredentials",
            StateKind::LoggingIn => "LoggingIn",
            StateKind::AwaitingInput => "AwaitingInput",
            StateKind::AwaitingAccount => "AwaitingAccount",
            StateKind::Committing => "Committing",
            StateKind::Linked => "Linked",
            StateKind::Exchanging => "Exchanging",
            StateKind::Done => "Done",
            StateKind::Failed => "Failed",
            StateKind::Exited => "Exited",
        }
    }
}

/// The chosen institution and auth method. The other methods it offers are
/// looked up in the catalogue, not copied, so a parked session stays small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Which institution.
    pub institution: InstitutionRef,
    /// How the person logs in.
    pub auth_method: AuthMethodKind,
}

/// An open partner session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `x-session-id`.
    pub id: String,
    /// When the partner forgets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Institution and method.
    pub target: Target,
}

/// A message shown above a screen after something did not go to plan.
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
            Notice::InstitutionUnavailable { message } => message.clone(),
            Notice::PreselectNotFound { .. } => {
                "That bank is not available. Please choose another.".into()
            }
        }
    }
}

/// Data of [`State::LoadingInstitutions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadingInstitutions {
    /// The call in flight; `None` while waiting to retry.
    pub request: Option<RequestId>,
    /// Failed tries so far.
    pub attempt: u8,
    /// When to retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
}

/// Data of [`State::ChoosingInstitution`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoosingInstitution {
    /// Why the person is back here, if not the first time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// Data of [`State::CreatingSession`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatingSession {
    /// Where.
    pub target: Target,
    /// The call in flight.
    pub request: RequestId,
    /// Replacing an expired session.
    pub renewal: bool,
}

/// Data of [`State::AwaitingCredentials`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwaitingCredentials {
    /// The session.
    pub session: Session,
    /// The login form (the session's, else the catalogue's).
    pub form: Form,
    /// Non-secret values from the last try, to fill in again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefill: Vec<(String, String)>,
    /// Problems with the last submitted values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Why the form is shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// Data of [`State::LoggingIn`]. Holds no typed value but the non-secret
/// prefill: the password left with the effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggingIn {
    /// The session.
    pub session: Session,
    /// The form, to show again on a retryable rejection.
    pub form: Form,
    /// Non-secret values sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefill: Vec<(String, String)>,
    /// The call in flight.
    pub request: RequestId,
}

/// Data of [`State::AwaitingInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwaitingInput {
    /// The session.
    pub session: Session,
    /// The MFA form.
    pub form: Form,
    /// Problems with the last submitted values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Why the form is shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// Data of [`State::AwaitingAccount`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwaitingAccount {
    /// The session.
    pub session: Session,
    /// The accounts to pick from.
    pub accounts: Vec<Account>,
    /// Why the list is shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// Data of [`State::Committing`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Committing {
    /// The session.
    pub session: Session,
    /// The call in flight.
    pub request: RequestId,
    /// The screen to return to on a retryable rejection.
    pub origin: Origin,
}

/// The screen a commit was sent from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Origin {
    /// An MFA form.
    Input(Form),
    /// An account list.
    Account(Vec<Account>),
}

/// Data of [`State::Linked`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Linked {
    /// The partner's code.
    pub code: String,
    /// When the code stops working.
    pub expires_at: Timestamp,
    /// Why the exchange is not done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// Data of [`State::Exchanging`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchanging {
    /// The partner's code.
    pub code: String,
    /// When the code stops working.
    pub expires_at: Timestamp,
    /// The call in flight.
    pub request: RequestId,
}

/// Data of [`State::Done`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done {
    /// The partner's code.
    pub code: String,
    /// The durable account id; `None` when the host exchanges the code itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// Data of [`State::Exited`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exited {
    /// Where the person was.
    pub page: Page,
}

impl State {
    /// The state's kind.
    pub fn kind(&self) -> StateKind {
        match self {
            State::LoadingInstitutions(_) => StateKind::LoadingInstitutions,
            State::ChoosingInstitution(_) => StateKind::ChoosingInstitution,
            State::CreatingSession(_) => StateKind::CreatingSession,
            State::AwaitingCredentials(_) => StateKind::AwaitingCredentials,
            State::LoggingIn(_) => StateKind::LoggingIn,
            State::AwaitingInput(_) => StateKind::AwaitingInput,
            State::AwaitingAccount(_) => StateKind::AwaitingAccount,
            State::Committing(_) => StateKind::Committing,
            State::Linked(_) => StateKind::Linked,
            State::Exchanging(_) => StateKind::Exchanging,
            State::Done(_) => StateKind::Done,
            State::Failed(_) => StateKind::Failed,
            State::Exited(_) => StateKind::Exited,
        }
    }

    /// The request this state waits for, if any.
    pub fn waiting_for(&self) -> Option<RequestId> {
        match self {
            State::LoadingInstitutions(s) => s.request,
            State::CreatingSession(s) => Some(s.request),
            State::LoggingIn(s) => Some(s.request),
            State::Committing(s) => Some(s.request),
            State::Exchanging(s) => Some(s.request),
            _ => None,
        }
    }

    /// The page name reported when the person exits here.
    pub fn page(&self) -> Page {
        match self {
            State::ChoosingInstitution(_) => Page::InstitutionList,
            State::AwaitingCredentials(_) => Page::Login,
            State::AwaitingInput(_) => Page::Mfa,
            State::AwaitingAccount(_) => Page::AccountSelection,
            State::Linked(_) | State::Done(_) => Page::Linked,
            State::Exited(e) => e.page,
            _ => Page::Loading,
        }
    }

    /// The open session, in states that have one.
    pub fn session(&self) -> Option<&Session> {
        match self {
            State::AwaitingCredentials(s) => Some(&s.session),
            State::LoggingIn(s) => Some(&s.session),
            State::AwaitingInput(s) => Some(&s.session),
            State::AwaitingAccount(s) => Some(&s.session),
            State::Committing(s) => Some(&s.session),
            _ => None,
        }
    }
}
