//! Transitions shared by actions, replies and timers, and the plumbing every
//! transition uses (issuing calls, emitting events).

use super::user::partner_session;
use super::ConnectFlow;
use crate::flow::call::{Call, Effect};
use crate::flow::error::Failure;
use crate::flow::event::{ErrorType, Event, EventKind, PageName};
use crate::flow::notice::Notice;
use crate::flow::reply::Linked;
use crate::flow::state::*;
use crate::flow::timers::Timer;
use crate::flow::types::{RequestId, Timestamp};
use crate::form::Form;

impl ConnectFlow {
    /// Fires one due timer (the caller has disarmed it).
    pub(super) fn fire(&mut self, now: Timestamp, timer: Timer) {
        let state = self.take_state();
        self.state = match (timer, state) {
            (Timer::ReadRetry, State::LoadingInstitutions(s)) if s.request.is_none() => {
                self.load_institutions(s.attempt, s.notice)
            }
            // On the login form: the renewed one keeps what was filled in.
            (
                Timer::SessionExpiry,
                State::AwaitingCredentials(AwaitingCredentials {
                    session, prefill, ..
                }),
            ) => {
                let renewed = self.session_expired(now, session);
                super::reply::with_prefill(renewed, prefill)
            }
            (Timer::SessionExpiry, State::AwaitingInput(AwaitingInput { session, .. }))
            | (Timer::SessionExpiry, State::AwaitingAccount(AwaitingAccount { session, .. })) => {
                self.session_expired(now, session)
            }
            (Timer::StatusPoll, State::Pending(mut s)) if s.request.is_none() => {
                // Counted when made, so failed polls count too (rule 5). A
                // poll due past the deadline (a flow restored long after it
                // was parked, both timers due at once and the poll's the
                // earlier) is not made: the flow has given up, and a poll it
                // handed out would only be refused when its reply came.
                let given_up = self
                    .timers
                    .get(Timer::PendingDeadline)
                    .is_some_and(|at| at <= now);
                if given_up || self.counters.polls >= self.config.max_polls {
                    self.fail(
                        now,
                        Failure::PartnerUnavailable {
                            detail: "the bank did not finish in time".into(),
                        },
                    )
                } else {
                    self.counters.polls += 1;
                    s.request = Some(self.call(Call::Poll {
                        session: partner_session(&s.session),
                    }));
                    State::Pending(s)
                }
            }
            (Timer::PendingDeadline, State::Pending(_)) => self.fail(
                now,
                Failure::PartnerUnavailable {
                    detail: "the bank did not finish in time".into(),
                },
            ),
            (Timer::CodeExpiry, State::Linked(_)) => self.fail(now, Failure::CodeExpired),
            // `Timer::live_in` keeps every other pair from firing.
            (_, other) => other,
        };
    }

    pub(super) fn load_institutions(&mut self, attempt: u8, notice: Option<Notice>) -> State {
        let request = self.call(Call::ListInstitutions);
        State::LoadingInstitutions(LoadingInstitutions {
            request: Some(request),
            attempt,
            notice,
        })
    }

    pub(super) fn back_to_list(&mut self, notice: Option<Notice>) -> State {
        self.leave_session();
        if self.catalogue.is_some() {
            State::ChoosingInstitution(ChoosingInstitution { notice })
        } else {
            self.load_institutions(0, notice)
        }
    }

    /// The person (or the preselection) chose `target`: report it, open a session.
    pub(super) fn select(&mut self, now: Timestamp, target: Target) -> State {
        self.emit(
            now,
            EventKind::InstitutionSelected {
                institution: target.institution.clone(),
                auth_method: target.auth_method.clone(),
            },
        );
        self.start_session(now, target, None)
    }

    /// Opens a new partner session for `target`, abandoning any current one.
    /// `notice` is shown on its login form.
    pub(super) fn start_session(
        &mut self,
        now: Timestamp,
        target: Target,
        notice: Option<Notice>,
    ) -> State {
        self.leave_session();
        if self.counters.sessions >= self.config.max_sessions {
            return self.fail(
                now,
                Failure::TooManySessions {
                    sessions: self.counters.sessions,
                },
            );
        }
        self.counters.sessions += 1;
        let institution = target.institution.id.clone();
        let auth_method = target.auth_method.clone();
        let call = match &self.config.reauthorise {
            Some(account) => Call::Reauthorise {
                account: account.clone(),
                institution,
                auth_method,
                live: self.counters.reauth_live,
            },
            None => Call::CreateSession {
                institution,
                auth_method,
                customer: self.config.customer.clone(),
            },
        };
        let request = self.call(call);
        State::CreatingSession(CreatingSession {
            target,
            request,
            notice,
            prefill: Vec::new(),
        })
    }

    /// The person left (Back, Exit): calls that would change something at
    /// the partner (a login with their password, a commit, a new session,
    /// a code's exchange) and that the host has not polled yet are not
    /// sent. Nothing will wait for their replies any more, and a login sent
    /// after the person left is one they did not make. Polled calls are out
    /// of the flow's hands; reads (a list, a poll) are harmless and stay.
    /// Events stay too: they report what the person did, `EXIT` included.
    pub(super) fn withdraw_unsent_writes(&mut self) {
        self.effects.retain(|effect| match effect {
            Effect::Call { call, .. } => call.kind().is_read(),
        });
    }

    /// Disarms what belonged to the partner session being left.
    pub(super) fn leave_session(&mut self) {
        self.timers.disarm(Timer::SessionExpiry);
        self.timers.disarm(Timer::StatusPoll);
        self.timers.disarm(Timer::PendingDeadline);
    }

    pub(super) fn session_expired(&mut self, now: Timestamp, session: Session) -> State {
        if self.counters.renewals >= self.config.max_renewals {
            return self.fail(now, Failure::SessionExpired);
        }
        // A renewed session would log in again with the saved login on the
        // flow's own (rule 2): as if renewal were not allowed.
        if session.saved_login {
            return self.saved_login_ends(now);
        }
        let target = session.target;
        self.counters.renewals += 1;
        self.emit_error(
            now,
            ErrorType::SessionExpired,
            "the session expired; opening a new one",
        );
        self.start_session(now, target, Some(Notice::SessionRenewed))
    }

    /// A session whose login was the saved one (nothing typed) must be
    /// replaced, or a session the flow opened on its own offers only such a
    /// login: the flow does not log in again by itself (rule 2), so it ends
    /// here, as an expired session the config will not renew does.
    ///
    /// Why not wait on a screen instead: the waiting screen would be a
    /// login form with nothing in it, which not every channel can show (a
    /// USSD menu has no field to ask, a terminal has nothing to prompt and
    /// submits at once), and in a re-authorisation the call that opens the
    /// next session may itself log in (Flinks' cached `/Authorize`, Mono's
    /// re-auth session settled at once), so even opening it is not the
    /// flow's to do. `SessionExpired` is retryable: starting again, the
    /// person's own act, sends the saved login once more.
    pub(super) fn saved_login_ends(&mut self, now: Timestamp) -> State {
        self.fail(now, Failure::SessionExpired)
    }

    /// A step finished with a code or an account id.
    pub(super) fn linked(&mut self, now: Timestamp, target: Target, linked: Linked) -> State {
        self.leave_session();
        // Rule 3: only step replies lead here, and no state after it waits for
        // one, so this holds by construction; the flag makes it checkable
        // from a snapshot.
        self.counters.code_emitted = true;
        self.emit(
            now,
            EventKind::AccountLinked {
                institution: target.institution,
            },
        );
        match linked {
            Linked::Code(code) => {
                self.emit(
                    now,
                    EventKind::Success {
                        code: Some(code.clone()),
                    },
                );
                self.timers
                    .arm(Timer::CodeExpiry, now.plus_ms(self.config.code_lifetime_ms));
                if self.config.exchange_code {
                    self.exchange(code)
                } else {
                    State::Done(Done {
                        code: Some(code),
                        account_id: None,
                    })
                }
            }
            Linked::Account(account_id) => {
                self.emit(now, EventKind::Success { code: None });
                State::Done(Done {
                    code: None,
                    account_id: Some(account_id),
                })
            }
        }
    }

    pub(super) fn exchange(&mut self, code: String) -> State {
        let request = self.call(Call::ExchangeCode { code: code.clone() });
        State::Exchanging(Exchanging { code, request })
    }

    /// Counts an MFA form or account list; `Some(Failed)` past the limit.
    pub(super) fn next_round(&mut self, now: Timestamp) -> Option<State> {
        // Compared before counting, as sessions and polls are: counting
        // first saturates at 255, and `255 > max_rounds` is never true for a
        // limit of `u8::MAX`, so such a flow never ended (rule 5).
        if self.counters.rounds >= self.config.max_rounds {
            // The round refused is the one past the limit.
            let rounds = self.counters.rounds.saturating_add(1);
            return Some(self.fail(now, Failure::TooManyRounds { rounds }));
        }
        self.counters.rounds += 1;
        None
    }

    /// Counts a call that produced no usable answer (or a partner that said
    /// "try later"); `Some(Failed)` once the configured number is reached.
    pub(super) fn count_transport(&mut self, now: Timestamp, detail: &str) -> Option<State> {
        self.count_try_later(now, detail, None)
    }

    /// [`count_transport`](Self::count_transport) for a partner that said
    /// "try later", with its code for it.
    pub(super) fn count_try_later(
        &mut self,
        now: Timestamp,
        detail: &str,
        code: Option<&str>,
    ) -> Option<State> {
        self.counters.transport_failures = self.counters.transport_failures.saturating_add(1);
        if self.counters.transport_failures >= self.config.max_transport_failures {
            return Some(self.fail(
                now,
                Failure::PartnerUnavailable {
                    detail: detail.to_owned(),
                },
            ));
        }
        self.emit_coded_error(now, ErrorType::PartnerUnavailable, detail, code);
        None
    }

    /// The catalogue's login form for `target`.
    pub(super) fn catalogue_form(&self, target: &Target) -> Option<Form> {
        self.catalogue
            .as_deref()
            .and_then(|c| c.get(&target.institution.id))
            .and_then(|i| i.form_for(&target.auth_method))
            .cloned()
    }

    pub(super) fn fail(&mut self, now: Timestamp, failure: Failure) -> State {
        let error_type = match &failure {
            Failure::Rejected { .. } => ErrorType::Rejected,
            Failure::Unrecognised { .. } => ErrorType::Unrecognised,
            Failure::TooManyAttempts { .. } | Failure::TooManySessions { .. } => {
                ErrorType::TooManyAttempts
            }
            Failure::TooManyRounds { .. } => ErrorType::TooManyRounds,
            Failure::SessionExpired => ErrorType::SessionExpired,
            Failure::CodeExpired => ErrorType::CodeExpired,
            Failure::PartnerUnavailable { .. } => ErrorType::PartnerUnavailable,
            Failure::Unauthorized { .. } => ErrorType::Unauthorized,
            Failure::Protocol { .. } => ErrorType::Protocol,
        };
        let code = match &failure {
            Failure::Rejected { code, .. } | Failure::Unrecognised { code, .. } => code.clone(),
            _ => None,
        };
        self.emit_coded_error(now, error_type, &failure.message(), code.as_deref());
        State::Failed(failure)
    }

    // ---- plumbing ---------------------------------------------------------

    pub(super) fn call(&mut self, call: Call) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.effects.push_back(Effect::Call { id, call });
        id
    }

    pub(super) fn emit(&mut self, now: Timestamp, kind: EventKind) {
        self.events.push_back(Event {
            kind,
            reference: self.config.reference.clone(),
            timestamp: now,
        });
    }

    pub(super) fn emit_error(&mut self, now: Timestamp, error_type: ErrorType, message: &str) {
        self.emit_coded_error(now, error_type, message, None);
    }

    /// An error event carrying the partner's code for it.
    pub(super) fn emit_coded_error(
        &mut self,
        now: Timestamp,
        error_type: ErrorType,
        message: &str,
        code: Option<&str>,
    ) {
        self.emit(
            now,
            EventKind::Error {
                error_type,
                error_message: message.to_owned(),
                error_code: code.map(str::to_owned),
            },
        );
    }

    pub(super) fn take_state(&mut self) -> State {
        std::mem::replace(&mut self.state, placeholder())
    }
}

/// Held in `self.state` only between `take_state` and the assignment that
/// follows it; never observable.
fn placeholder() -> State {
    State::Exited(Exited {
        page: PageName::Loading,
    })
}

pub(super) fn protocol(detail: &str) -> Failure {
    Failure::Protocol {
        detail: detail.to_owned(),
    }
}
