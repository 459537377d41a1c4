//! What the flow asks its host to do: [`Effect`]s carrying partner-neutral
//! [`Call`]s. A dialect decides what each call is on the wire (or answers it
//! locally); nothing here names a partner's path, field or code.

use super::config::PartnerCustomer;
use super::reply::Continuation;
use super::types::{AuthMethodKind, RequestId};
use crate::form::Values;
use serde::{Deserialize, Serialize};

/// A partner call the flow needs made.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Call {
    /// List the institutions a person can link. A read: the only kind of call,
    /// with [`Call::Poll`], that may be made again after a failure.
    ListInstitutions,
    /// Open a partner session at an institution, for one auth method.
    CreateSession {
        /// Institution id.
        institution: String,
        /// How the person will log in.
        auth_method: AuthMethodKind,
        /// Who the session is for ([`FlowConfig::customer`]); `None`: the
        /// dialect's configured customer.
        ///
        /// [`FlowConfig::customer`]: crate::flow::FlowConfig::customer
        customer: Option<PartnerCustomer>,
    },
    /// Open a partner session to re-authorise an account linked before (its
    /// bank needs the person again, or a returning user comes back). Made
    /// instead of [`Call::CreateSession`] when
    /// [`FlowConfig::reauthorise`](super::FlowConfig::reauthorise) is set.
    /// The reply is a session (a login follows, as usual; a login form with
    /// no fields is sent at once) or, when the partner needs nothing from the
    /// person, a step straight away. Such a step is read as the reply of a
    /// login nobody typed into, made from the bank list: "try later" goes
    /// back to the list (choosing the bank makes this call again), "wrong"
    /// or final ends the flow; never a login form, as there is no partner
    /// session to log in to. Not idempotent.
    Reauthorise {
        /// The account to re-authorise: the partner's durable id for it
        /// (Mono's account id, Flinks' LoginId).
        account: String,
        /// Institution id.
        institution: String,
        /// How the person logs in, if they must.
        auth_method: AuthMethodKind,
        /// The person is there to answer the bank: the partner must not
        /// settle it from what it saved (Flinks: `MostRecentCached:
        /// false`). Set once a saved login was refused for needing the
        /// person ([`Rejection::needs_person`](crate::flow::Rejection::needs_person));
        /// Mono's re-authorisation is always live and ignores it.
        live: bool,
    },
    /// Send the login form. Not idempotent: never re-sent on its own.
    Login {
        /// The partner session it belongs to.
        session: PartnerSession,
        /// Institution id (some partners want it on the login itself).
        institution: String,
        /// How the person logs in.
        auth_method: AuthMethodKind,
        /// The values, keyed by form field name.
        values: Values,
    },
    /// Answer a form the partner asked for and/or choose an account. Not
    /// idempotent: never re-sent on its own.
    Commit {
        /// The partner session, with the continuation of the last step.
        session: PartnerSession,
        /// Answers (may be empty when only choosing an account).
        values: Values,
        /// The account chosen, when answering an account list.
        account: Option<AccountChoice>,
    },
    /// Ask whether a step the partner said was pending has finished. A read.
    Poll {
        /// The partner session, with the continuation of the pending step.
        session: PartnerSession,
    },
    /// Exchange a short-lived code for a durable account id.
    ExchangeCode {
        /// The code from the partner.
        code: String,
    },
}

/// The partner session a call belongs to: the id the partner gave it and the
/// continuation of the last step, if that step had one. Both are opaque to
/// the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerSession {
    /// The partner's session handle (may be empty for partners without one).
    pub id: String,
    /// What the last step reply said to carry into the next call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<Continuation>,
}

impl PartnerSession {
    /// A session handle with no continuation yet.
    pub fn new(id: impl Into<String>) -> PartnerSession {
        PartnerSession {
            id: id.into(),
            continuation: None,
        }
    }
}

impl From<&str> for PartnerSession {
    fn from(id: &str) -> Self {
        PartnerSession::new(id)
    }
}

impl From<String> for PartnerSession {
    fn from(id: String) -> Self {
        PartnerSession::new(id)
    }
}

/// An account chosen from a list the partner sent. A dialect sends whichever
/// of the two its partner expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChoice {
    /// Zero-based position in the list as the partner sent it.
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
    /// [`Call::Reauthorise`]
    Reauthorise,
    /// [`Call::Login`]
    Login,
    /// [`Call::Commit`]
    Commit,
    /// [`Call::Poll`]
    Poll,
    /// [`Call::ExchangeCode`]
    ExchangeCode,
}

impl CallKind {
    /// True for calls that change nothing at the partner, and so may be made
    /// again safely.
    pub fn is_read(self) -> bool {
        matches!(self, CallKind::ListInstitutions | CallKind::Poll)
    }

    /// A stable lower-case name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            CallKind::ListInstitutions => "list_institutions",
            CallKind::CreateSession => "create_session",
            CallKind::Reauthorise => "reauthorise",
            CallKind::Login => "login",
            CallKind::Commit => "commit",
            CallKind::Poll => "poll",
            CallKind::ExchangeCode => "exchange_code",
        }
    }
}

impl Call {
    /// The kind of call.
    pub fn kind(&self) -> CallKind {
        match self {
            Call::ListInstitutions => CallKind::ListInstitutions,
            Call::CreateSession { .. } => CallKind::CreateSession,
            Call::Reauthorise { .. } => CallKind::Reauthorise,
            Call::Login { .. } => CallKind::Login,
            Call::Commit { .. } => CallKind::Commit,
            Call::Poll { .. } => CallKind::Poll,
            Call::ExchangeCode { .. } => CallKind::ExchangeCode,
        }
    }

    /// The partner session the call belongs to, if it belongs to one.
    pub fn session(&self) -> Option<&PartnerSession> {
        match self {
            Call::Login { session, .. } | Call::Commit { session, .. } | Call::Poll { session } => {
                Some(session)
            }
            _ => None,
        }
    }
}

/// Something the flow asks its host to do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Effect {
    /// Make this call and feed the reply back as
    /// [`Input::Api`](super::Input::Api) with the same id.
    Call {
        /// Echo this in the reply.
        id: RequestId,
        /// What to call.
        call: Call,
    },
}
