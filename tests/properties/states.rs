//! What the rules read off a state kind: whether the person is the one to
//! act in it, and which view fits it.

use connectflow::flow::StateKind;

pub(crate) fn is_person_state(kind: StateKind) -> bool {
    matches!(
        kind,
        StateKind::AwaitingCredentials | StateKind::AwaitingInput | StateKind::AwaitingAccount
    )
}

/// Every state's view is the one its kind calls for: the library's table,
/// the one `connectflow check --cases` judges by too.
pub(crate) use connectflow::flow::explore::view_fits;
