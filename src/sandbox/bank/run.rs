//! Running a script: which step comes next for a logged-in session, and the
//! form, account list or wait the bank shows for it. Shared by login (which
//! starts the script) and commit (which moves it on).

use super::ids::{self, Entropy};
use super::script::{Challenge, Persona, Reauth};
use super::tenant::{BankSession, CodeEntry, LinkEntry, Progress, Stage};
use crate::flow::{Account, Step};
use crate::form::{Field, Form};
use std::collections::HashMap;

/// The names of the fields a challenge's form asks for (what a commit must
/// carry, and nothing else). Empty for an account list or a wait.
pub(super) fn fields(challenge: &Challenge) -> &'static [&'static str] {
    match challenge {
        Challenge::Otp { .. } => &["otp"],
        Challenge::Question { .. } => &["answer"],
        Challenge::ChooseAccount | Challenge::Pending { .. } => &[],
    }
}

/// The script a session runs: the user's re-authorisation challenges on a
/// re-authorisation session, else the linking ones.
pub(super) fn script_of(session: &BankSession, persona: &Persona) -> &'static [Challenge] {
    match (&session.reauth_of, persona.script.reauth) {
        (Some(_), Reauth::Login(challenges)) => challenges,
        _ => persona.script.challenges,
    }
}

/// What issuing a link code needs besides the session.
pub(super) struct Issuer<'a> {
    /// The key's codes, where the new one goes.
    pub(super) codes: &'a mut HashMap<String, CodeEntry>,
    pub(super) entropy: &'a mut dyn Entropy,
    /// Epoch ms after which the new code is refused.
    pub(super) expires_at: u64,
}

/// Moves `session` to challenge `at` of `persona`'s script (skipping the
/// account list if an account is already `chosen`), or, when the script is
/// done, finishes it with a fresh code.
pub(super) fn proceed(
    session: &mut BankSession,
    (index, persona): (usize, &Persona),
    mut at: usize,
    chosen: Option<String>,
    issuer: Issuer<'_>,
) -> Step {
    let script = script_of(session, persona);
    loop {
        match script.get(at) {
            Some(Challenge::ChooseAccount) if chosen.is_some() => at += 1,
            // A wait of no polls is no wait.
            Some(Challenge::Pending { polls: 0, .. }) => at += 1,
            _ => break,
        }
    }
    let Some(challenge) = script.get(at) else {
        let link = LinkEntry {
            institution: session.institution.clone(),
            user: index,
            account: chosen.unwrap_or_else(|| persona.user.account_number.to_owned()),
            method: session.method.clone(),
        };
        let code = ids::link_code(issuer.entropy.next_bits());
        issuer.codes.insert(
            code.clone(),
            CodeEntry {
                link,
                expires_at: issuer.expires_at,
            },
        );
        session.stage = Stage::Finished;
        tracing::info!(user = persona.user.username, "sandbox: code issued");
        return Step::code(code);
    };
    // This answer is the first "pending"; `polls_left` counts the rest.
    let polls_left = match challenge {
        Challenge::Pending { polls, .. } => polls.saturating_sub(1),
        _ => 0,
    };
    session.stage = Stage::Running(Progress {
        user: index,
        at,
        chosen,
        polls_left,
    });
    ask(challenge, (index, persona))
}

/// The step that asks `challenge` of the person.
pub(super) fn ask(challenge: &Challenge, (index, persona): (usize, &Persona)) -> Step {
    match challenge {
        Challenge::Otp { code } => {
            let to = if persona.user.phone.is_empty() {
                "your phone".to_owned()
            } else {
                mask_tail(persona.user.phone)
            };
            let max = u32::try_from(code.chars().count()).unwrap_or(u32::MAX);
            Step::needs_input(Form::new(
                "Enter OTP",
                vec![Field::input("otp", format!("Enter the OTP sent to {to}")).max_length(max)],
            ))
        }
        Challenge::Question { prompt, .. } => Step::needs_input(Form::new(
            "Security question",
            vec![Field::password("answer", *prompt)],
        )),
        Challenge::ChooseAccount => Step::choose_account(accounts_of(persona, index)),
        Challenge::Pending {
            poll_after_ms,
            give_up_after_ms,
            ..
        } => Step::Pending {
            poll_after_ms: *poll_after_ms,
            give_up_after_ms: *give_up_after_ms,
            continuation: None,
        },
    }
}

/// Whether `given` answers `challenge` (a form challenge; anything else has
/// no answer to check).
pub(super) fn answers(challenge: &Challenge, given: &str) -> bool {
    let given = given.trim();
    match challenge {
        Challenge::Otp { code } => given == *code,
        Challenge::Question { answer, .. } => given.eq_ignore_ascii_case(answer),
        Challenge::ChooseAccount | Challenge::Pending { .. } => false,
    }
}

/// The accounts of the user at `index`: types and balances are made up but
/// fixed, so a README can show them.
pub(super) fn accounts_of(persona: &Persona, index: usize) -> Vec<Account> {
    const KINDS: [&str; 3] = ["SAVINGS_ACCOUNT", "CURRENT_ACCOUNT", "SAVINGS_ACCOUNT"];
    let user = &persona.user;
    let nth = i64::try_from(index).unwrap_or(0);
    user.accounts()
        .enumerate()
        .map(|(i, number)| {
            let mut a = Account::new(number, user.name);
            a.kind = Some(KINDS[i % KINDS.len()].into());
            a.currency = Some("NGN".into());
            a.status = Some("active".into());
            // Kobo: ₦12,500.00 times the user's number, plus ₦500 per extra account.
            let extra = i64::try_from(i).unwrap_or(0);
            a.balance = Some(1_250_000 * (nth + 1) + 50_000 * extra);
            a
        })
        .collect()
}

/// `********001`: enough of a phone number to recognise it, not to use it.
fn mask_tail(s: &str) -> String {
    let n = s.chars().count();
    let tail: String = s.chars().skip(n.saturating_sub(3)).collect();
    format!("{}{}", "*".repeat(n.saturating_sub(3)), tail)
}
