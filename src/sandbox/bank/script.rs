//! What a test user's login does, as data: the bank reads these values and
//! has no per-user code, so a new user set (Flinks Capital's `Greatday`,
//! `test_dispatched`, ...) is a new table, not a new branch.

use crate::flow::{Institution, Rejection};
use crate::sandbox::users::TestUser;

/// One step a logged-in user must get through before the bank links an
/// account. A script is a list of these, run in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// A one-time code: a form with one `otp` field of `code.len()`
    /// characters, answered by `code`.
    Otp {
        /// The code the bank "sent".
        code: &'static str,
    },
    /// A security question: a form with one password-type `answer` field
    /// whose hint is `prompt`, answered by `answer` (case and surrounding
    /// blanks ignored, as banks do).
    Question {
        /// The question, shown as the field's hint.
        prompt: &'static str,
        /// The accepted answer.
        answer: &'static str,
    },
    /// Pick one of the user's accounts. Skipped when an account was already
    /// picked alongside an earlier answer (a v2 mixed commit, mono.md §4).
    ChooseAccount,
    /// The bank works in the background: `polls` answers in a row are
    /// "pending" (the one that reaches the wait counts), each poll (a commit
    /// with no values) getting the next, then the script goes on. Flinks'
    /// `202 OPERATION_DISPATCHED` (flinks.md §5); no Mono user has it.
    Pending {
        /// How many polls answer "pending".
        polls: u32,
        /// What the bank asks the client to wait between polls, in ms.
        poll_after_ms: u64,
        /// When the client should give up, in ms after the first "pending".
        give_up_after_ms: u64,
    },
}

/// How a user's login ends besides the challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    /// Nothing special: a right login runs the challenges.
    None,
    /// Every login is refused for good, even with the right password: a
    /// locked or disabled account. `reason` is the bank's machine code.
    Refused {
        /// What the person is told.
        message: &'static str,
        /// See [`super::reason`].
        reason: &'static str,
    },
    /// The institution is unreachable: every login is an error naming it.
    Down,
    /// A right login is answered only after the sandbox's `slow_delay`.
    Slow,
}

/// What re-authorising an account the user linked does (Mono's
/// `reauth/session`, mono.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reauth {
    /// Nothing is asked: a new link code at once (`99` + `code`, quirk 13).
    AtOnce,
    /// The bank needs the person again: a login (the same user's), then
    /// these challenges, then a code.
    Login(&'static [Challenge]),
}

/// A user's whole script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Script {
    /// Run in order after a right login.
    pub(crate) challenges: &'static [Challenge],
    /// How the login ends besides.
    pub(crate) special: Special,
    /// What re-authorising a linked account does.
    pub(crate) reauth: Reauth,
}

impl Script {
    /// Linked at once; re-authorised at once.
    pub(crate) const PLAIN: Script = Script {
        challenges: &[],
        special: Special::None,
        reauth: Reauth::AtOnce,
    };
}

/// A test user with the script the bank runs for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Persona {
    /// Credentials, accounts and the text a person reads about them.
    pub(crate) user: TestUser,
    /// What logging in does.
    pub(crate) script: Script,
}

/// Everything a bank knows before its first request: the institutions it
/// serves and the people who can log in at any of them. One bank serves one
/// world; a partner front with other institutions and users (Flinks Capital)
/// builds its bank from another world.
#[derive(Debug, Clone)]
pub(crate) struct World {
    /// In list order.
    pub(crate) institutions: Vec<Institution>,
    /// In table order; a user's position also picks their made-up balances.
    pub(crate) personas: Vec<Persona>,
    /// Institutions where every right login, whoever logs in, ends in this
    /// refusal instead of the user's script: a bank answering an outcome
    /// the partner's docs do not list.
    pub(crate) outcomes: Vec<(String, Rejection)>,
}
