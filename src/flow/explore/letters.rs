//! The explorer's input alphabet: a person's actions, partner replies, timers.

use crate::flow::types::AuthMethodKind;

/// One abstract input: a person's action, a partner reply to the call in
/// flight, or the next timer firing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Letter {
    /// Choose this institution and method.
    Choose {
        /// Institution id.
        id: String,
        /// Auth method.
        method: AuthMethodKind,
    },
    /// Submit values that satisfy the form on screen ([`sample_values`](super::sample_values)).
    SubmitValid,
    /// Submit an empty form (always invalid).
    SubmitInvalid,
    /// Pick the first account.
    ChooseAccount,
    /// Switch to another auth method.
    Switch(AuthMethodKind),
    /// Back to the list.
    Back,
    /// Retry the exchange.
    Retry,
    /// Leave.
    Exit,
    /// Let the next deadline pass.
    Timeout,
    /// The partner answers the call in flight.
    Reply(ReplyLetter),
    /// A reply nobody waits for: a code, under the id of a call already
    /// answered (late, duplicated, or after Back). Only random runs
    /// ([`run_cases`](super::run_cases)) use it: it must change nothing, so
    /// it adds no edge to the graph.
    Stale,
}

/// The partner replies the explorer tries for a call in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReplyLetter {
    /// The catalogue (to a list call).
    Institutions,
    /// A session (to a create-session call).
    Session,
    /// Linked with a code (to a login, commit or poll).
    Code,
    /// Linked with the durable account id itself (to a login, commit or poll).
    AccountId,
    /// `102` + an OTP form (to a login or commit).
    Mfa,
    /// `101` + two accounts (to a login or commit).
    Accounts,
    /// Still working: poll later (to a login, commit or poll).
    Pending,
    /// Refused, may try again (to a login, commit or poll).
    RejectRetry,
    /// Refused; the partner session is over, log in again.
    RestartLogin,
    /// A saved login refused for needing the person there (Flinks' cached
    /// card answering `QUESTION_NOT_FOUND`); elsewhere as [`RestartLogin`](Self::RestartLogin).
    NeedsPerson,
    /// The institution cannot answer now.
    TryLater,
    /// `400`, final (to a login or commit).
    RejectFinal,
    /// The partner forgot the session (to a login or commit).
    SessionExpired,
    /// An account id (to an exchange).
    Exchanged,
    /// No answer in time (to anything).
    Timeout,
    /// HTTP 401 (to anything).
    Unauthorized,
    /// Unreadable body (to anything).
    Malformed,
    /// HTTP 400 with a message (to anything).
    BadRequest,
}

impl ReplyLetter {
    /// Every reply letter.
    pub const ALL: [ReplyLetter; 18] = [
        ReplyLetter::Institutions,
        ReplyLetter::Session,
        ReplyLetter::Code,
        ReplyLetter::AccountId,
        ReplyLetter::Mfa,
        ReplyLetter::Accounts,
        ReplyLetter::Pending,
        ReplyLetter::RejectRetry,
        ReplyLetter::RestartLogin,
        ReplyLetter::NeedsPerson,
        ReplyLetter::TryLater,
        ReplyLetter::RejectFinal,
        ReplyLetter::SessionExpired,
        ReplyLetter::Exchanged,
        ReplyLetter::Timeout,
        ReplyLetter::Unauthorized,
        ReplyLetter::Malformed,
        ReplyLetter::BadRequest,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            ReplyLetter::Institutions => "institutions",
            ReplyLetter::Session => "session",
            ReplyLetter::Code => "code",
            ReplyLetter::AccountId => "account id",
            ReplyLetter::Pending => "pending",
            ReplyLetter::RestartLogin => "log in again",
            ReplyLetter::NeedsPerson => "needs the person",
            ReplyLetter::TryLater => "try later",
            ReplyLetter::Mfa => "mfa",
            ReplyLetter::Accounts => "accounts",
            ReplyLetter::RejectRetry => "rejected",
            ReplyLetter::RejectFinal => "locked",
            ReplyLetter::SessionExpired => "session expired",
            ReplyLetter::Exchanged => "exchanged",
            ReplyLetter::Timeout => "timeout",
            ReplyLetter::Unauthorized => "401",
            ReplyLetter::Malformed => "malformed",
            ReplyLetter::BadRequest => "400",
        }
    }
}

impl Letter {
    /// A short label for graphs and test names.
    pub fn label(&self) -> String {
        match self {
            Letter::Choose { id, method } => format!("choose {id} {method}"),
            Letter::SubmitValid => "submit".into(),
            Letter::SubmitInvalid => "submit invalid".into(),
            Letter::ChooseAccount => "pick account".into(),
            Letter::Switch(m) => format!("switch {m}"),
            Letter::Back => "back".into(),
            Letter::Retry => "retry".into(),
            Letter::Exit => "exit".into(),
            Letter::Timeout => "deadline".into(),
            Letter::Reply(r) => r.name().into(),
            Letter::Stale => "stale reply".into(),
        }
    }

    /// The label used on graph edges: without institution ids, so the graph
    /// stays readable for a catalogue of 60 banks.
    pub(super) fn edge_label(&self) -> String {
        match self {
            Letter::Choose { .. } => "choose".into(),
            Letter::Switch(_) => "switch method".into(),
            other => other.label(),
        }
    }
}

/// The replies a partner can give: what the explorer tries for each call in
/// flight. A partner that never says "pending" has no Pending state to
/// reach, and exploring replies it cannot send only grows the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    pub(super) replies: Vec<ReplyLetter>,
}

impl Vocabulary {
    /// Mono's: codes to exchange, MFA forms, account lists, rejections.
    pub fn mono() -> Vocabulary {
        use ReplyLetter as R;
        Vocabulary {
            replies: vec![
                R::Institutions,
                R::Session,
                R::Code,
                R::Mfa,
                R::Accounts,
                R::RejectRetry,
                R::RejectFinal,
                R::SessionExpired,
                R::Exchanged,
                R::Timeout,
                R::Unauthorized,
                R::Malformed,
                R::BadRequest,
            ],
        }
    }

    /// Flinks': the durable id at once, security questions, pending steps,
    /// restarted logins, "try later".
    pub fn flinks() -> Vocabulary {
        use ReplyLetter as R;
        Vocabulary {
            replies: vec![
                R::Institutions,
                R::Session,
                R::AccountId,
                R::Mfa,
                R::Pending,
                R::RejectRetry,
                R::RestartLogin,
                R::NeedsPerson,
                R::TryLater,
                R::RejectFinal,
                R::SessionExpired,
                R::Timeout,
                R::Unauthorized,
                R::Malformed,
                R::BadRequest,
            ],
        }
    }

    /// Every reply the flow understands.
    pub fn every() -> Vocabulary {
        Vocabulary {
            replies: ReplyLetter::ALL.to_vec(),
        }
    }

    /// The replies, in the order tried.
    pub fn replies(&self) -> &[ReplyLetter] {
        &self.replies
    }

    /// Whether a partner with this vocabulary can bring a flow to `state`.
    pub fn can_reach(&self, state: crate::flow::StateKind) -> bool {
        use crate::flow::StateKind as S;
        let has = |r: ReplyLetter| self.replies.contains(&r);
        match state {
            S::Pending => has(ReplyLetter::Pending),
            S::Linked | S::Exchanging => has(ReplyLetter::Code),
            S::AwaitingAccount => has(ReplyLetter::Accounts),
            S::AwaitingInput => has(ReplyLetter::Mfa),
            S::Committing => has(ReplyLetter::Mfa) || has(ReplyLetter::Accounts),
            _ => true,
        }
    }
}
