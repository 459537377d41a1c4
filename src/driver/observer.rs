//! What a [`Driver`](super::Driver) tells observers (metrics, institution
//! health) about each partner call.

use crate::flow::{CallError, CallKind, Reply};
use std::time::Duration;

/// How a partner call went, in a few words a dashboard can group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallOutcome {
    /// A usable answer (including a form, an account list, pending).
    Ok,
    /// The partner said no (wrong password, locked, ...).
    Rejected,
    /// The partner said the institution cannot answer now.
    TryLater,
    /// No answer in time.
    Timeout,
    /// No connection, or it dropped.
    Unreachable,
    /// HTTP 5xx.
    ServerError,
    /// Another HTTP error.
    ClientError,
    /// Our credentials refused.
    Unauthorized,
    /// HTTP 429.
    RateLimited,
    /// An unreadable answer.
    Malformed,
}

impl CallOutcome {
    /// The outcome of a call's result.
    pub fn of(result: &Result<Reply, CallError>) -> CallOutcome {
        use crate::flow::{RejectionKind, Step};
        match result {
            Ok(Reply::Step(Step::Rejected(r))) if r.kind == RejectionKind::TryLater => {
                CallOutcome::TryLater
            }
            Ok(Reply::Step(Step::Rejected(_))) => CallOutcome::Rejected,
            Ok(_) => CallOutcome::Ok,
            Err(CallError::Timeout) => CallOutcome::Timeout,
            Err(CallError::Connect(_)) => CallOutcome::Unreachable,
            Err(CallError::Http { status, .. }) if *status >= 500 => CallOutcome::ServerError,
            Err(CallError::Http { .. }) => CallOutcome::ClientError,
            Err(CallError::Unauthorized(_)) => CallOutcome::Unauthorized,
            Err(CallError::RateLimited { .. }) => CallOutcome::RateLimited,
            Err(_) => CallOutcome::Malformed,
        }
    }

    /// A stable lower-case name (a metric label).
    pub fn name(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Rejected => "rejected",
            CallOutcome::TryLater => "try_later",
            CallOutcome::Timeout => "timeout",
            CallOutcome::Unreachable => "unreachable",
            CallOutcome::ServerError => "server_error",
            CallOutcome::ClientError => "client_error",
            CallOutcome::Unauthorized => "unauthorized",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::Malformed => "malformed",
        }
    }

    /// True when the institution (or partner) failed rather than answered:
    /// what counts against its health.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            CallOutcome::TryLater
                | CallOutcome::Timeout
                | CallOutcome::Unreachable
                | CallOutcome::ServerError
                | CallOutcome::RateLimited
                | CallOutcome::Malformed
        )
    }
}

/// Told about every partner call a [`Driver`](super::Driver) makes (metrics, institution
/// health). Must not block.
pub trait CallObserver: Send + Sync + std::fmt::Debug + 'static {
    /// A call is about to be sent.
    fn started(&self) {}

    /// A call finished with `outcome` after `elapsed`; `institution` when
    /// the call was made for a flow that had chosen one.
    fn finished(
        &self,
        partner: &str,
        call: CallKind,
        outcome: CallOutcome,
        elapsed: Duration,
        institution: Option<&str>,
    );
}
