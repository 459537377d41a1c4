//! The scripted partner: the reply a [`Harness`] gives to a call, one that
//! fits it (any outcome, or only those that move the flow forward), a
//! hostile partner's that never ends the flow, or one meant for another
//! kind of call.

use crate::harness::Harness;
use crate::partner::*;
use connectflow::flow::*;
use std::sync::Arc;

const FIVE_MIN: u64 = 5 * 60 * 1000;

impl Harness {
    // ---- the scripted partner

    pub(crate) fn session_reply(&mut self, variant: usize) -> Result<Reply, CallError> {
        self.sessions += 1;
        let (expires_at, form) = match variant {
            2 => (None, Some(session_form())),
            3 => (Some(self.now.plus_ms(30_000)), None),
            4 => (Some(self.now.plus_ms(FIVE_MIN)), Some(saved_login_form())),
            _ => (Some(self.now.plus_ms(FIVE_MIN)), None),
        };
        Ok(Reply::SessionCreated(SessionInfo {
            continuation: None,
            id: format!("sess-{}", self.sessions),
            expires_at,
            form,
            institution: None,
        }))
    }

    /// A step outcome. 0–10 are Mono's vocabulary; 11–14 the rest of the
    /// flow's (Flinks'): a durable id at once, "pending" (with a
    /// continuation), a restarted login, "try later".
    pub(crate) fn step_reply(&self, variant: usize) -> Result<Reply, CallError> {
        let step = match variant {
            0 | 1 => Step::code(format!("code_{}", self.max_issued())),
            2..=4 => Step::needs_input(mfa_form(variant - 2)),
            5 => Step::choose_account(accounts(1)),
            6 => Step::choose_account(accounts(3)),
            7 => Step::choose_account(accounts(0)),
            8 => return rejected(RejectionKind::Retry),
            9 => return rejected(RejectionKind::Final),
            11 => Step::account(format!("login_{}", self.max_issued())),
            12 => Step::Pending {
                poll_after_ms: 10_000,
                give_up_after_ms: 60_000,
                continuation: Some(Continuation::new(format!("req-{}", self.max_issued()))),
            },
            13 => return rejected(RejectionKind::RestartLogin),
            14 => return rejected(RejectionKind::TryLater),
            _ => return rejected(RejectionKind::SessionExpired),
        };
        Ok(Reply::Step(step))
    }

    /// A reply that fits `call`: a success or a transport error. Selectors
    /// below 176 pick only outcomes that move the flow forward, so runs get
    /// deep; the others pick from every outcome.
    pub(crate) fn fitting(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        if self.hostile {
            return self.looping(call, sel);
        }
        let forward = sel < 176;
        let sel = usize::from(sel);
        match call {
            Call::ListInstitutions if forward => {
                Ok(Reply::Institutions(Arc::clone(&self.catalogue)))
            }
            Call::CreateSession { .. } if forward => self.session_reply(sel % 5),
            // A re-authorisation is opened like a session, or settled by the
            // partner in the same call (a code, a form, a refusal).
            Call::Reauthorise { .. } if forward => match sel % 6 {
                5 => self.step_reply([0, 2, 5, 11][sel / 6 % 4]),
                k => self.session_reply(k),
            },
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } if forward => {
                self.step_reply([0, 1, 2, 3, 4, 5, 6, 8, 11, 12][sel % 10])
            }
            Call::ExchangeCode { .. } if forward => Ok(Reply::Exchanged {
                account_id: format!("acc_{}", self.max_issued()),
            }),
            Call::ListInstitutions => match sel % 10 {
                0..=2 => Ok(Reply::Institutions(Arc::clone(&self.catalogue))),
                k => Err(call_error(k - 3)),
            },
            Call::CreateSession { .. } => match sel % 12 {
                k @ 0..=4 => self.session_reply(k),
                k => Err(call_error(k - 5)),
            },
            Call::Reauthorise { .. } => match sel % 27 {
                k @ 0..=4 => self.session_reply(k),
                k @ 5..=19 => self.step_reply(k - 5),
                k => Err(call_error(k - 20)),
            },
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } => match sel % 22 {
                k @ 0..=14 => self.step_reply(k),
                k => Err(call_error(k - 15)),
            },
            Call::ExchangeCode { .. } => match sel % 10 {
                0..=2 => Ok(Reply::Exchanged {
                    account_id: format!("acc_{}", self.max_issued()),
                }),
                k => Err(call_error(k - 3)),
            },
            other => panic!("unknown call {other:?}"),
        }
    }

    /// A hostile partner's reply to `call`: never a code or a final "no".
    pub(crate) fn looping(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        let sel = usize::from(sel);
        let transient = [0, 1, 2, 6].map(call_error);
        match call {
            Call::ListInstitutions if sel % 4 == 0 => {
                Ok(Reply::Institutions(Arc::clone(&self.catalogue)))
            }
            Call::CreateSession { .. } | Call::Reauthorise { .. } if sel % 2 == 0 => {
                self.session_reply(if sel % 4 == 0 { 4 } else { 3 })
            }
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } if sel % 3 != 0 => {
                self.step_reply([2, 3, 4, 5, 6, 8, 10, 12, 13, 14][sel % 10])
            }
            _ => Err(transient[sel % 4].clone()),
        }
    }

    /// A successful reply meant for another kind of call than `call`.
    pub(crate) fn wrong_shape(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        let k = sel % 3;
        let institutions = Ok(Reply::Institutions(Arc::clone(&self.catalogue)));
        let exchanged = Ok(Reply::Exchanged {
            account_id: "acc_wrong".into(),
        });
        match (call, k) {
            (Call::ListInstitutions, 0) => self.session_reply(0),
            (Call::ListInstitutions, 1) => self.step_reply(0),
            (Call::CreateSession { .. } | Call::Reauthorise { .. }, 0)
            | (Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. }, 0) => institutions,
            (Call::CreateSession { .. }, 1) => self.step_reply(2),
            (Call::Reauthorise { .. }, 1) => Ok(Reply::Exchanged {
                account_id: "acc_wrong".into(),
            }),
            (Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. }, 1) => {
                self.session_reply(0)
            }
            (Call::ExchangeCode { .. }, 0) => institutions,
            (Call::ExchangeCode { .. }, 1) => self.session_reply(0),
            (Call::ExchangeCode { .. }, _) => self.step_reply(0),
            _ => exchanged,
        }
    }
}
