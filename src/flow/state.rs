//! The lifecycle states. [`StateKind`] is public; the per-state data is
//! private to the flow (it is not API, and its stored form is the
//! [`Snapshot`](super::Snapshot)'s business), one struct per state so a value
//! that makes no sense in a state cannot be there.

use super::error::Failure;
use super::event::PageName;
use super::notice::Notice;
use super::reply::Continuation;
use super::types::{Account, AuthMethodKind, InstitutionRef, RequestId};
use crate::form::{FieldError, Form};
use serde::{Deserialize, Serialize};

/// Where a flow is: the states of DESIGN.md's lifecycle, without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StateKind {
    /// Fetching the institution list (or waiting to retry it).
    LoadingInstitutions,
    /// The person picks an institution.
    ChoosingInstitution,
    /// Opening a partner session.
    CreatingSession,
    /// The person fills in the login form.
    AwaitingCredentials,
    /// Login sent, waiting for the partner.
    LoggingIn,
    /// The person answers a form the partner asked for (MFA).
    AwaitingInput,
    /// The person picks an account.
    AwaitingAccount,
    /// Commit sent, waiting for the partner.
    Committing,
    /// The partner is still working on the last step; the flow polls.
    Pending,
    /// A code is held but its exchange failed; the person may retry.
    Linked,
    /// Exchanging the code for an account id.
    Exchanging,
    /// Linked (terminal).
    Done,
    /// Ended badly (terminal).
    Failed,
    /// The person left (terminal).
    Exited,
}

impl StateKind {
    /// Every state, in lifecycle order.
    pub const ALL: [StateKind; 14] = [
        StateKind::LoadingInstitutions,
        StateKind::ChoosingInstitution,
        StateKind::CreatingSession,
        StateKind::AwaitingCredentials,
        StateKind::LoggingIn,
        StateKind::AwaitingInput,
        StateKind::AwaitingAccount,
        StateKind::Committing,
        StateKind::Pending,
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
            StateKind::Pending => "Pending",
            StateKind::Linked => "Linked",
            StateKind::Exchanging => "Exchanging",
            StateKind::Done => "Done",
            StateKind::Failed => "Failed",
            StateKind::Exited => "Exited",
        }
    }
}

/// A state with its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum State {
    LoadingInstitutions(LoadingInstitutions),
    ChoosingInstitution(ChoosingInstitution),
    CreatingSession(CreatingSession),
    AwaitingCredentials(AwaitingCredentials),
    LoggingIn(LoggingIn),
    AwaitingInput(AwaitingInput),
    AwaitingAccount(AwaitingAccount),
    Committing(Committing),
    Pending(Pending),
    Linked(HoldingCode),
    Exchanging(Exchanging),
    Done(Done),
    Failed(Failure),
    Exited(Exited),
}

/// The chosen institution and auth method. The other methods it offers are
/// looked up in the catalogue, not copied, so a parked flow stays small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Target {
    pub(crate) institution: InstitutionRef,
    pub(crate) auth_method: AuthMethodKind,
}

/// An open partner session. Its expiry is the `SessionExpiry` timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) continuation: Option<Continuation>,
    /// This session's login went with nothing the person typed: a login the
    /// partner keeps (an empty login form, sent at once) or a
    /// re-authorisation the partner settled itself. Rule 2: the flow never
    /// logs in with it again on its own, so when this session must be
    /// replaced (restarted, renewed) the flow ends instead; only the person
    /// starting again sends it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) saved_login: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoadingInstitutions {
    /// The call in flight; `None` while the `ReadRetry` timer runs.
    pub(crate) request: Option<RequestId>,
    /// Failed tries so far.
    pub(crate) attempt: u8,
    /// What the person is told on the list once it is loaded (why they are
    /// back on it: a "try later" when this flow had no list to go back to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<Notice>,
}

impl LoadingInstitutions {
    /// A flow's state before it has asked for the list at all.
    pub(crate) const UNASKED: LoadingInstitutions = LoadingInstitutions {
        request: None,
        attempt: 0,
        notice: None,
    };
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ChoosingInstitution {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<Notice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CreatingSession {
    pub(crate) target: Target,
    pub(crate) request: RequestId,
    /// Shown on the login form once the session is open (a renewal, a
    /// restarted login). Set exactly when the flow opened the session on
    /// its own (see [`opened_by_flow`](Self::opened_by_flow)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<Notice>,
    /// Non-secret values of the login refused on the session this one
    /// replaces (a spent session: [`Rejection::session_spent`]), filled in
    /// again on its form.
    ///
    /// [`Rejection::session_spent`]: crate::flow::Rejection::session_spent
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) prefill: Vec<(String, String)>,
}

impl CreatingSession {
    /// The flow opened this session itself (a renewal or a restarted
    /// login), not the person (a bank chosen, a method switched, or the
    /// host's preselection as the flow opened). Read from the notice, which
    /// only those sessions carry, so sessions stored by earlier builds (v1:
    /// `renewal`) answer the same.
    pub(crate) fn opened_by_flow(&self) -> bool {
        self.notice.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AwaitingCredentials {
    pub(crate) session: Session,
    /// The session's login form, else the catalogue's.
    pub(crate) form: Form,
    /// Non-secret values of the last try, to fill in again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) prefill: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) errors: Vec<FieldError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<Notice>,
}

/// Holds no typed value but the non-secret prefill: the password left with
/// the effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoggingIn {
    pub(crate) session: Session,
    pub(crate) form: Form,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) prefill: Vec<(String, String)>,
    pub(crate) request: RequestId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AwaitingInput {
    pub(crate) session: Session,
    pub(crate) form: Form,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) errors: Vec<FieldError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<Notice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AwaitingAccount {
    pub(crate) session: Session,
    pub(crate) accounts: Vec<Account>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<Notice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Committing {
    pub(crate) session: Session,
    pub(crate) request: RequestId,
    pub(crate) origin: Origin,
}

/// The partner said "still working". While `request` is `None` the
/// `StatusPoll` timer runs; `PendingDeadline` bounds the whole wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) session: Session,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) request: Option<RequestId>,
    /// How long to wait between polls.
    pub(crate) poll_after_ms: u64,
    pub(crate) origin: Origin,
}

/// The screen a step was sent from: where a retryable rejection or a failed
/// call sends the person back to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Origin {
    /// The login form, with its non-secret prefill.
    Login(Form, #[serde(default)] Vec<(String, String)>),
    /// A form the partner asked for.
    Input(Form),
    /// An account list.
    Account(Vec<Account>),
    /// The call that opened a re-authorisation, which the partner answered
    /// with a step (Mono quirk 13, Flinks' cached `/Authorize`): that call
    /// was the login, with nothing the person typed, and there is no partner
    /// session to log in to. It was made from the bank list (or the host's
    /// preselection), so going back means the list, where choosing the bank
    /// makes the call again; a login form here would send a login on no
    /// session.
    Reauthorise,
}

impl Origin {
    /// A login the person typed nothing into: a form with no fields (a
    /// login the partner keeps) or a re-authorisation's opening call.
    pub(crate) fn typed_nothing(&self) -> bool {
        match self {
            Origin::Login(form, _) => form.fields.is_empty(),
            Origin::Reauthorise => true,
            Origin::Input(_) | Origin::Account(_) => false,
        }
    }
}

/// Data of [`StateKind::Linked`]: a code whose exchange failed. Its expiry is
/// the `CodeExpiry` timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HoldingCode {
    pub(crate) code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<Notice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Exchanging {
    pub(crate) code: String,
    pub(crate) request: RequestId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Done {
    /// The partner's code, when the link went through one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    /// The durable account id; `None` when the host exchanges the code itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Exited {
    pub(crate) page: PageName,
}

impl State {
    pub(crate) fn kind(&self) -> StateKind {
        match self {
            State::LoadingInstitutions(_) => StateKind::LoadingInstitutions,
            State::ChoosingInstitution(_) => StateKind::ChoosingInstitution,
            State::CreatingSession(_) => StateKind::CreatingSession,
            State::AwaitingCredentials(_) => StateKind::AwaitingCredentials,
            State::LoggingIn(_) => StateKind::LoggingIn,
            State::AwaitingInput(_) => StateKind::AwaitingInput,
            State::AwaitingAccount(_) => StateKind::AwaitingAccount,
            State::Committing(_) => StateKind::Committing,
            State::Pending(_) => StateKind::Pending,
            State::Linked(_) => StateKind::Linked,
            State::Exchanging(_) => StateKind::Exchanging,
            State::Done(_) => StateKind::Done,
            State::Failed(_) => StateKind::Failed,
            State::Exited(_) => StateKind::Exited,
        }
    }

    /// The request this state waits for, if any.
    pub(crate) fn waiting_for(&self) -> Option<RequestId> {
        match self {
            State::LoadingInstitutions(s) => s.request,
            State::CreatingSession(s) => Some(s.request),
            State::LoggingIn(s) => Some(s.request),
            State::Committing(s) => Some(s.request),
            State::Pending(s) => s.request,
            State::Exchanging(s) => Some(s.request),
            _ => None,
        }
    }

    /// The page name reported when the person exits here.
    pub(crate) fn page(&self) -> PageName {
        match self {
            State::ChoosingInstitution(_) => PageName::InstitutionList,
            State::AwaitingCredentials(_) => PageName::Login,
            State::AwaitingInput(_) => PageName::Mfa,
            State::AwaitingAccount(_) => PageName::AccountSelection,
            State::Linked(_) | State::Done(_) => PageName::Linked,
            State::Exited(e) => e.page,
            _ => PageName::Loading,
        }
    }

    /// The open partner session, in states that have one.
    pub(crate) fn session(&self) -> Option<&Session> {
        match self {
            State::AwaitingCredentials(s) => Some(&s.session),
            State::LoggingIn(s) => Some(&s.session),
            State::AwaitingInput(s) => Some(&s.session),
            State::AwaitingAccount(s) => Some(&s.session),
            State::Committing(s) => Some(&s.session),
            State::Pending(s) => Some(&s.session),
            _ => None,
        }
    }

    /// The institution being linked, once one is chosen.
    pub(crate) fn target(&self) -> Option<&Target> {
        match self {
            State::CreatingSession(s) => Some(&s.target),
            other => other.session().map(|s| &s.target),
        }
    }
}
