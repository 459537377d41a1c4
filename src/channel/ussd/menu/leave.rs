//! Asking before a form's progress is lost. Leaving a verification step
//! (`0` on its first field, or `00` anywhere in it), or a login with
//! answers already typed (`00`), throws away what the bank or the person has
//! done so far: the handset is asked first, as the terminal's `:back` asks.
//! The field the person was on, with its answers, is kept in the cursor
//! ([`Cursor::Leaving`]) so "No" returns to it with nothing lost, on any
//! instance (the cursor is saved in the sealed session record).

use super::paging::fit;
use super::{Cursor, MenuConfig, Outcome};
use crate::channel::ussd::gateway::Screen;
use crate::flow::{FormPurpose, FormView, UserAction};
use crate::form::Values;

/// The answer that leaves; anything else stays.
const YES: &str = "1";

/// Whether leaving the form from field `index` (with `values` typed) loses
/// progress worth a question: any verification step, or a login with
/// answers given.
pub(super) fn loses_progress(f: &FormView<'_>, index: usize, values: &Values) -> bool {
    f.purpose == FormPurpose::Mfa || index > 0 || !values.is_empty()
}

/// The answer to the question: `1` leaves (the flow goes back to the bank
/// list); anything else returns to the field, its answers kept.
pub(super) fn answer(input: &str, index: usize, page: usize, values: &Values) -> Outcome {
    if input == YES {
        Outcome::Act(UserAction::Back)
    } else {
        Outcome::Move(Cursor::Field {
            index,
            page,
            values: values.clone(),
        })
    }
}

/// The question, worded as the terminal's (`Leave this verification and
/// choose a bank again?`).
pub(super) fn screen(f: &FormView<'_>, config: &MenuConfig) -> Screen {
    let what = match f.purpose {
        FormPurpose::Credentials => "login",
        FormPurpose::Mfa => "verification",
    };
    fit(
        vec![
            format!("Leave this {what} and choose a bank again?"),
            "Your answers will be lost.".into(),
        ],
        vec![format!("{YES}. Yes, leave"), "2. No, continue".into()],
        config,
        false,
    )
}
