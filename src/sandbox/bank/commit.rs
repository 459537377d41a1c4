//! Commit: answering the step a logged-in session waits on (a form, an
//! account list, a wait), which moves the script on.

use super::run::{self, Issuer};
use super::tenant::{self, Progress, Stage};
use super::{reason, Answer, Bank, BankError, Challenge};
use crate::form::Values;

impl Bank {
    /// Answers the step session `sid` of `key` is waiting on.
    ///
    /// `values` must carry exactly the fields of the last form (after an
    /// account list or a wait: none). `account` picks one of the user's
    /// accounts; it may come with a form's answer, and the account list is
    /// then skipped (a v2 mixed commit, mono.md §4). A wrong answer is a
    /// retryable refusal: the same form may be answered again. An empty
    /// commit on a wait is a poll.
    pub(crate) fn commit(
        &mut self,
        key: &str,
        sid: &str,
        values: &Values,
        account: Option<&str>,
        now_ms: u64,
    ) -> Result<Answer, BankError> {
        let tenant = self
            .tenants
            .get_mut(key)
            .ok_or(BankError::SessionNotFound)?;
        let session = tenant::find(&mut tenant.sessions, sid, now_ms)?;
        let progress = match &session.stage {
            Stage::Login => return Err(BankError::LoginRequired),
            Stage::Finished => return Err(BankError::AlreadyCompleted),
            Stage::Running(p) => p.clone(),
        };
        // Both lookups hold by construction (a running session's user and
        // challenge came from this world); failing them would mean the
        // session is not what it claims, which is what "not found" says.
        let persona = self
            .world
            .personas
            .get(progress.user)
            .ok_or(BankError::SessionNotFound)?;
        let challenge = run::script_of(session, persona)
            .get(progress.at)
            .ok_or(BankError::SessionNotFound)?;
        if let Some(a) = account {
            if !persona.user.accounts().any(|n| n == a) {
                return Ok(Answer::refuse(
                    "Invalid account number",
                    reason::UNKNOWN_ACCOUNT,
                ));
            }
        }
        // The keys must be exactly the last form's (Mono caches them after a
        // `102` and checks, mono.md §4).
        let mut names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        let mut expected = run::fields(challenge).to_vec();
        expected.sort_unstable();
        if names != expected {
            return Err(BankError::mismatch());
        }
        let issuer = Issuer {
            codes: &mut tenant.codes,
            entropy: self.entropy.as_mut(),
            expires_at: now_ms.saturating_add(super::ms(self.config.code_ttl)),
        };
        let me = (progress.user, persona);
        let next = progress.at + 1;
        let step = match challenge {
            Challenge::Otp { .. } | Challenge::Question { .. } => {
                let given = expected
                    .first()
                    .and_then(|f| values.get(f))
                    .map_or("", |v| v.expose());
                if !run::answers(challenge, given) {
                    tracing::info!(session = %sid, user = persona.user.username, "sandbox: commit refused, wrong answer");
                    return Ok(match challenge {
                        Challenge::Otp { .. } => Answer::refuse("Invalid OTP", reason::WRONG_OTP),
                        _ => Answer::refuse("Incorrect answer", reason::WRONG_ANSWER),
                    });
                }
                let chosen = account.map(str::to_owned).or(progress.chosen);
                run::proceed(session, me, next, chosen, issuer)
            }
            Challenge::ChooseAccount => {
                let Some(account) = account else {
                    return Err(BankError::mismatch());
                };
                run::proceed(session, me, next, Some(account.to_owned()), issuer)
            }
            Challenge::Pending { .. } => {
                if account.is_some() {
                    return Err(BankError::mismatch());
                }
                if progress.polls_left > 0 {
                    session.stage = Stage::Running(Progress {
                        polls_left: progress.polls_left - 1,
                        ..progress
                    });
                    run::ask(challenge, me)
                } else {
                    run::proceed(session, me, next, progress.chosen, issuer)
                }
            }
        };
        Ok(Answer::now(step))
    }
}
