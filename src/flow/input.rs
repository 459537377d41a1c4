//! What goes into a flow: a person's [`UserAction`] or a call's reply.

use super::reply::{CallError, Reply};
use super::types::{AuthMethodKind, RequestId};
use crate::form::Values;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Something that happened to the flow.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// The person did something.
    User(UserAction),
    /// A call finished.
    Api {
        /// The id of the [`Effect::Call`](super::Effect::Call) this answers.
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
