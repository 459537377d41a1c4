//! What comes back from a call, already decoded by a dialect and stated in
//! the flow's own terms. What a partner's codes mean (Mono's `99/101/102/400`,
//! Flinks' `200/203/202/401`) is decided once, in that partner's dialect; the
//! flow only ever sees these types.

use super::types::{Account, Catalogue, SessionInfo};
use crate::form::Form;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A successful partner reply.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// Answer to [`Call::ListInstitutions`](super::Call::ListInstitutions).
    Institutions(Arc<Catalogue>),
    /// Answer to [`Call::CreateSession`](super::Call::CreateSession).
    SessionCreated(SessionInfo),
    /// Answer to a login, a commit or a poll.
    Step(Step),
    /// Answer to [`Call::ExchangeCode`](super::Call::ExchangeCode).
    Exchanged {
        /// The durable account id.
        account_id: String,
    },
}

/// Where a login, a commit or a poll left the person.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// Linked.
    Done(Linked),
    /// Answer another form (an OTP, a security question, a captcha, ...).
    NeedsInput {
        /// The form to answer.
        form: Form,
        /// To carry into the commit that answers it.
        continuation: Option<Continuation>,
    },
    /// Choose one of these accounts.
    ChooseAccount {
        /// The accounts, in the partner's order.
        accounts: Vec<Account>,
        /// To carry into the commit that chooses.
        continuation: Option<Continuation>,
    },
    /// The partner is still working: ask again after `poll_after_ms`, and give
    /// up `give_up_after_ms` after the first time it said so.
    Pending {
        /// Wait this long before the next poll.
        poll_after_ms: u64,
        /// Give up this long after the first pending reply in a row.
        give_up_after_ms: u64,
        /// To carry into the poll.
        continuation: Option<Continuation>,
    },
    /// The partner said no.
    Rejected(Rejection),
}

impl Step {
    /// Done, with a short-lived code to exchange.
    pub fn code(code: impl Into<String>) -> Step {
        Step::Done(Linked::Code(code.into()))
    }

    /// Done, with the durable account id itself (no exchange needed).
    pub fn account(id: impl Into<String>) -> Step {
        Step::Done(Linked::Account(id.into()))
    }

    /// Answer `form` (no continuation).
    pub fn needs_input(form: Form) -> Step {
        Step::NeedsInput {
            form,
            continuation: None,
        }
    }

    /// Choose one of `accounts` (no continuation).
    pub fn choose_account(accounts: Vec<Account>) -> Step {
        Step::ChooseAccount {
            accounts,
            continuation: None,
        }
    }

    /// The same step carrying `continuation` into the next call (no effect on
    /// `Done` and `Rejected`, which end the step loop).
    pub fn with_continuation(mut self, next: Continuation) -> Step {
        match &mut self {
            Step::NeedsInput { continuation, .. }
            | Step::ChooseAccount { continuation, .. }
            | Step::Pending { continuation, .. } => *continuation = Some(next),
            Step::Done(_) | Step::Rejected(_) => {}
        }
        self
    }
}

/// What a finished step gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Linked {
    /// A short-lived, single-use code the flow exchanges for an account id.
    Code(String),
    /// The durable account id itself.
    Account(String),
}

/// An opaque value a partner wants back on the next call of the same session
/// (a request id, a step token). The flow stores it and hands it on; only the
/// dialect that made it reads it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Continuation(String);

impl Continuation {
    /// Wraps a partner's value.
    pub fn new(value: impl Into<String>) -> Continuation {
        Continuation(value.into())
    }

    /// The partner's value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Continuation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Continuation({:?})", self.0)
    }
}

/// A partner's "no" to a login, a commit or a poll. Built with
/// [`Rejection::new`] and its builders (the wire may grow more to say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rejection {
    /// The partner's words, for the person.
    pub message: String,
    /// What the flow can do about it.
    pub kind: RejectionKind,
    /// The partner's machine code, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The call that was refused used up the partner's session: the next
    /// attempt needs a new one (Flinks' authorize token is single-use: a
    /// refused login spends it, flinks.md §1). The flow then opens a new
    /// session before showing the form again, where it would otherwise
    /// send the next login on the spent one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub session_spent: bool,
    /// A saved login (a re-authorisation's, nothing typed) was refused
    /// because the partner could not settle it from what it saved: the
    /// bank has a question only the person can answer (Flinks' cached
    /// `/Authorize` answering `QUESTION_NOT_FOUND`, flinks.md §5). The flow
    /// sends the person back to the bank list; choosing it again goes on
    /// live ([`Call::Reauthorise`](crate::flow::Call::Reauthorise)'s `live`),
    /// where the bank asks and the person answers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_person: bool,
}

impl Rejection {
    /// A rejection of this kind.
    pub fn new(kind: RejectionKind, message: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            kind,
            code: None,
            session_spent: false,
            needs_person: false,
        }
    }

    /// Answer the same form again (wrong password, wrong OTP).
    pub fn retry(message: impl Into<String>) -> Self {
        Rejection::new(RejectionKind::Retry, message)
    }

    /// Nothing in this flow can fix it (locked, disabled).
    pub fn terminal(message: impl Into<String>) -> Self {
        Rejection::new(RejectionKind::Final, message)
    }

    /// The partner's machine code (builder style).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Marks the partner's session used up by the refused call (builder
    /// style): see [`Rejection::session_spent`].
    pub fn spending_session(mut self) -> Self {
        self.session_spent = true;
        self
    }

    /// Marks a saved login's refusal as needing the person there (builder
    /// style): see [`Rejection::needs_person`].
    pub fn needing_person(mut self) -> Self {
        self.needs_person = true;
        self
    }
}

/// What a [`Rejection`] lets the flow do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectionKind {
    /// Show the same form again with the message (within the attempt limit).
    Retry,
    /// The partner's session cannot go on (a wrong MFA answer some partners
    /// do not let you retry): open a new session and log in again.
    RestartLogin,
    /// The partner forgot the session: renew it if the config allows.
    SessionExpired,
    /// The institution cannot answer now: like a failed call, the person is
    /// shown the same screen and may try again later.
    TryLater,
    /// Locked, disabled, blocked: the flow fails.
    Final,
    /// A reply the dialect could not place (a code the partner added after
    /// this crate was written): the flow ends with the partner's words,
    /// marked retryable (starting again may meet a partner that knows
    /// better), and the event carries the code.
    Unrecognised,
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
    /// Our API credentials were refused (HTTP 401/403 outside the step loop).
    #[error("the partner refused our credentials: {0}")]
    Unauthorized(String),
    /// Rate limited.
    #[error("rate limited by the partner")]
    RateLimited {
        /// How long the partner asked us to wait, in ms, when it said.
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
