//! What goes into a flow ([`Input`]) and what comes out of it ([`Effect`]):
//! abstract partner calls and their dialect-neutral replies.

use super::types::{Account, AuthMethodKind, Catalogue, RequestId, SessionInfo};
use crate::form::{Form, Values};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A partner API call the flow needs made. A dialect turns it into HTTP.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Call {
    /// List institutions (a read: the only call that may be retried).
    ListInstitutions,
    /// Open a session at an institution.
    CreateSession {
        /// Institution id.
        institution: String,
        /// How the person will log in.
        auth_method: AuthMethodKind,
    },
    /// Send the login form. Not idempotent: never re-sent on its own.
    Login {
        /// Session id (`x-session-id`).
        session: String,
        /// The values, keyed by form field name.
        values: Values,
    },
    /// Answer an MFA form and/or pick an account. Not idempotent.
    Commit {
        /// Session id (`x-session-id`).
        session: String,
        /// MFA answers (may be empty when only picking an account).
        values: Values,
        /// The account picked, when answering an account list.
        account: Option<AccountPick>,
    },
    /// Exchange the short-lived code for a durable account id.
    ExchangeCode {
        /// The code from the partner.
        code: String,
    },
}

/// An account chosen from a `101` list. v1 sends the index, v2 the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPick {
    /// Zero-based position in the list the partner sent.
    pub index: usize,
    /// The account number.
    pub number: String,
}

/// The kind of a [`Call`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CallKind {
    /// [`Call::ListInstitutions`]
    ListInstitutions,
    /// [`Call::CreateSession`]
    CreateSession,
    /// [`Call::Login`]
    Login,
    /// [`Call::Commit`]
    Commit,
    /// [`Call::ExchangeCode`]
    ExchangeCode,
}

impl CallKind {
    /// True for calls that change nothing at the partner, and so may be
    /// repeated safely.
    pub fn is_read(self) -> bool {
        matches!(self, CallKind::ListInstitutions)
    }
}

impl Call {
    /// The kind of call.
    pub fn kind(&self) -> CallKind {
        match self {
            Call::ListInstitutions => CallKind::ListInstitutions,
            Call::CreateSession { .. } => CallKind::CreateSession,
            Call::Login { .. } => CallKind::Login,
            Call::Commit { .. } => CallKind::Commit,
            Call::ExchangeCode { .. } => CallKind::ExchangeCode,
        }
    }
}

/// Something the flow asks its host to do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Effect {
    /// Make this call and feed the reply back as [`Input::Api`] with the same id.
    Call {
        /// Echo this in the reply.
        id: RequestId,
        /// What to call.
        call: Call,
    },
}

/// A successful partner reply, already decoded by a dialect.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// Answer to [`Call::ListInstitutions`].
    Institutions(Arc<Catalogue>),
    /// Answer to [`Call::CreateSession`].
    SessionCreated(SessionInfo),
    /// Answer to [`Call::Login`] or [`Call::Commit`].
    Step(Step),
    /// Answer to [`Call::ExchangeCode`].
    Exchanged {
        /// The durable account id.
        account_id: String,
    },
}

/// Where a login or commit left the person (Mono `responseCode`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// `99`: linked; here is the short-lived code.
    Done {
        /// Valid for 10 minutes, single use.
        code: String,
    },
    /// `102`: answer another form (OTP, security question, ...).
    NeedsInput {
        /// The form to answer.
        form: Form,
    },
    /// `101`: pick one of these accounts.
    ChooseAccount {
        /// The accounts, in the partner's order.
        accounts: Vec<Account>,
    },
    /// `400`: the partner said no.
    Rejected(Rejection),
}

/// A partner's "no" to a login or commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The partner's message, for the person.
    pub message: String,
    /// What the person can do about it.
    pub kind: RejectionKind,
    /// The partner's machine code, when it has one (Flinks `FlinksCode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Rejection {
    /// A rejection the person can fix by answering again.
    pub fn retry(message: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            kind: RejectionKind::Retry,
            code: None,
        }
    }

    /// A rejection nothing in this flow can fix.
    pub fn terminal(message: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            kind: RejectionKind::Final,
            code: None,
        }
    }
}

/// How final a [`Rejection`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectionKind {
    /// Wrong password, wrong OTP: try again (within the configured attempts).
    Retry,
    /// Locked, disabled, blocked: the flow fails.
    Final,
    /// The partner forgot the session: renew it if the config allows.
    SessionExpired,
}

/// A call that produced no usable reply. Distinct from [`Rejection`]: here the
/// partner did not answer the question at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CallError {
    /// No reply within the call's timeout.
    #[error("the partner did not answer in time")]
    Timeout,
    /// Could not connect, or the connection dropped.
    #[error("could not reach the partner: {0}")]
    Connect(String),
    /// The secret key was refused (HTTP 401/403).
    #[error("the partner refused our credentials: {0}")]
    Unauthorized(String),
    /// HTTP 429.
    #[error("rate limited by the partner")]
    RateLimited {
        /// `Retry-After`, in ms, when sent.
        retry_after_ms: Option<u64>,
    },
    /// Any other HTTP error status, with the partner's message when it had one.
    #[error("the partner answered HTTP {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// The partner's message, or the reason phrase.
        message: String,
    },
    /// A body the dialect could not read.
    #[error("the partner's reply could not be read: {0}")]
    Malformed(String),
}

impl CallError {
    /// True when the same call might work if made again later: timeouts,
    /// dropped connections, 5xx, 429.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Timeout | CallError::Connect(_) | CallError::RateLimited { .. } => true,
            CallError::Http { status, .. } => *status >= 500,
            CallError::Unauthorized(_) | CallError::Malformed(_) => false,
        }
    }
}

/// Something that happened to the flow.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// The person did something.
    User(UserAction),
    /// A call finished.
    Api {
        /// The id of the [`Effect::Call`] this answers.
        id: RequestId,
        /// The decoded reply, or why there is none.
        result: Result<Reply, CallError>,
    },
}

/// What a person can do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UserAction {
    /// Pick an institution; `None` takes its first auth method.
    ChooseInstitution {
        /// Institution id.
        id: String,
        /// Auth method.
        auth_method: Option<AuthMethodKind>,
    },
    /// Submit the form on screen (login or MFA).
    Submit(Values),
    /// Pick the account at this zero-based position of the list on screen.
    ChooseAccount(usize),
    /// Log in another way at the same institution (opens a new session).
    SwitchAuthMethod(AuthMethodKind),
    /// Go back to the institution list, abandoning the current session.
    Back,
    /// Try the last failed exchange again.
    Retry,
    /// Leave the flow.
    Exit,
}

impl UserAction {
    /// The kind of action, without its data (for errors).
    pub fn kind(&self) -> ActionKind {
        match self {
            UserAction::ChooseInstitution { .. } => ActionKind::ChooseInstitution,
            UserAction::Submit(_) => ActionKind::Submit,
            UserAction::ChooseAccount(_) => ActionKind::ChooseAccount,
            UserAction::SwitchAuthMethod(_) => ActionKind::SwitchAuthMethod,
            UserAction::Back => ActionKind::Back,
            UserAction::Retry => ActionKind::Retry,
            UserAction::Exit => ActionKind::Exit,
        }
    }
}

/// [`UserAction`] without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ActionKind {
    /// [`UserAction::ChooseInstitution`]
    ChooseInstitution,
    /// [`UserAction::Submit`]
    Submit,
    /// [`UserAction::ChooseAccount`]
    ChooseAccount,
    /// [`UserAction::SwitchAuthMethod`]
    SwitchAuthMethod,
    /// [`UserAction::Back`]
    Back,
    /// [`UserAction::Retry`]
    Retry,
    /// [`UserAction::Exit`]
    Exit,
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
