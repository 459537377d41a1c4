//! What a partner's reply does. `Unauthorized` is handled once for every
//! call; then each reply kind reads on its own: institutions, a session, a
//! step (login, commit, poll), an exchange.

use super::transitions::protocol;
use super::ConnectFlow;
use crate::flow::call::CallKind;
use crate::flow::error::Failure;
use crate::flow::event::ErrorType;
use crate::flow::notice::Notice;
use crate::flow::reply::{CallError, RejectionKind, Reply, Step};
use crate::flow::retry::retry_delay;
use crate::flow::state::*;
use crate::flow::timers::Timer;
use crate::flow::types::{Catalogue, Timestamp};
use crate::form::Values;
use std::sync::Arc;

impl ConnectFlow {
    /// Applies the reply to the call the state waits for (checked by `handle`).
    pub(super) fn on_reply(&mut self, now: Timestamp, result: Result<Reply, CallError>) {
        // Our credentials refused: nothing the person can do, whatever the call.
        if let Err(CallError::Unauthorized(message)) = result {
            self.state = self.fail(now, Failure::Unauthorized { message });
            return;
        }
        self.state = match self.take_state() {
            State::LoadingInstitutions(s) => self.on_institutions(now, s, result),
            State::CreatingSession(s) => self.on_session(now, s, result),
            State::LoggingIn(s) => {
                let origin = Origin::Login(s.form, s.prefill);
                self.on_step_reply(now, s.session, origin, result)
            }
            State::Committing(s) => self.on_step_reply(now, s.session, s.origin, result),
            State::Pending(s) => {
                let poll_after_ms = s.poll_after_ms;
                match result {
                    // A poll is a read: a failed one is simply made again at
                    // the next interval, until the pending deadline.
                    Err(e) if e.is_transient() => {
                        self.emit_error(now, ErrorType::PartnerUnavailable, &e.to_string());
                        self.timers
                            .arm(Timer::StatusPoll, now.plus_ms(poll_after_ms));
                        State::Pending(Pending { request: None, ..s })
                    }
                    result => self.on_step_reply(now, s.session, s.origin, result),
                }
            }
            State::Exchanging(s) => self.on_exchanged(now, s, result),
            // Unreachable: `handle` only calls this when the state waits for
            // the reply, and only the states above wait.
            other => other,
        };
    }

    fn on_institutions(
        &mut self,
        now: Timestamp,
        s: LoadingInstitutions,
        result: Result<Reply, CallError>,
    ) -> State {
        match result {
            Ok(Reply::Institutions(catalogue)) => self.catalogue_loaded(now, catalogue, s.notice),
            Ok(_) => self.fail(now, protocol("expected an institution list")),
            Err(e) => {
                // Past 255 failures there is no attempt number to give:
                // that is past any limit, so give up. (A saturating count
                // stayed at 255, which a limit of `u8::MAX` never exceeds:
                // the list was retried for ever, rule 5.)
                let delay = s.attempt.checked_add(1).and_then(|attempt| {
                    retry_delay(&self.config, CallKind::ListInstitutions, attempt, &e)
                        .map(|delay| (attempt, delay))
                });
                match delay {
                    Some((attempt, delay)) => {
                        self.timers.arm(Timer::ReadRetry, now.plus_ms(delay));
                        State::LoadingInstitutions(LoadingInstitutions {
                            request: None,
                            attempt,
                            notice: s.notice,
                        })
                    }
                    None => self.fail(
                        now,
                        Failure::PartnerUnavailable {
                            detail: e.to_string(),
                        },
                    ),
                }
            }
        }
    }

    fn catalogue_loaded(
        &mut self,
        now: Timestamp,
        catalogue: Arc<Catalogue>,
        notice: Option<Notice>,
    ) -> State {
        self.catalogue = Some(catalogue);
        let preselect = match &self.config.institution {
            Some(p) if !self.counters.preselect_tried => p.clone(),
            _ => return State::ChoosingInstitution(ChoosingInstitution { notice }),
        };
        self.counters.preselect_tried = true;
        match self.target(&preselect.id, preselect.auth_method) {
            Ok(target) => self.select(now, target),
            Err(_) => {
                self.emit_error(
                    now,
                    ErrorType::UnknownInstitution,
                    "preselected institution not found",
                );
                State::ChoosingInstitution(ChoosingInstitution {
                    notice: Some(Notice::PreselectNotFound { id: preselect.id }),
                })
            }
        }
    }

    fn on_session(
        &mut self,
        now: Timestamp,
        s: CreatingSession,
        result: Result<Reply, CallError>,
    ) -> State {
        match result {
            Ok(Reply::SessionCreated(info)) => {
                let Some(form) = info.form.or_else(|| self.catalogue_form(&s.target)) else {
                    return self.fail(now, protocol("the institution sent no login form"));
                };
                if let Some(at) = info.expires_at {
                    self.timers.arm(Timer::SessionExpiry, at);
                }
                let opened_by_flow = s.opened_by_flow();
                let session = Session {
                    id: info.id,
                    target: s.target,
                    continuation: info.continuation,
                    saved_login: false,
                };
                // Nothing for the person to type (a returning user whose
                // login the partner keeps): the login goes at once, in a
                // session the person started. In one the flow opened on its
                // own (a renewal, a restart) it would be a login nobody
                // asked for (rule 2).
                if form.fields.is_empty() {
                    if opened_by_flow {
                        return self.saved_login_ends(now);
                    }
                    return self.send_login(now, session, form, Values::new());
                }
                State::AwaitingCredentials(AwaitingCredentials {
                    session,
                    form,
                    prefill: s.prefill,
                    errors: Vec::new(),
                    notice: s.notice,
                })
            }
            // A re-authorisation the partner settled without a login: linked
            // again at once, a form, or a refusal (Mono quirk 13; Flinks'
            // cached mode). Read as the reply of a login the person typed
            // nothing into, sent from the list: a refusal never leads to a
            // login form, which would send a login on no partner session.
            Ok(Reply::Step(step)) if self.config.reauthorise.is_some() => {
                // The call that opened the session was itself the login. No
                // id: the partner gave none. Only a commit or poll can follow
                // on it (a form, an account list, a pending step), carried by
                // the step's own continuation as Flinks' RequestId is; what
                // Mono would want there is unconfirmed (mono.md §7).
                let session = Session {
                    id: String::new(),
                    target: s.target,
                    continuation: None,
                    saved_login: true,
                };
                self.on_step(now, session, Origin::Reauthorise, step)
            }
            Ok(_) => self.fail(now, protocol("expected a session")),
            // The account cannot be re-authorised (not this app's, unlinked):
            // no list to go back to helps.
            Err(CallError::Http { status, message })
                if self.config.reauthorise.is_some()
                    && (400..500).contains(&status)
                    && status != 429 =>
            {
                let message = if message.is_empty() {
                    format!("This account cannot be re-authorised (HTTP {status})")
                } else {
                    message
                };
                self.fail(
                    now,
                    Failure::Rejected {
                        message,
                        code: None,
                    },
                )
            }
            Err(e) => {
                if let Some(failed) = self.count_transport(now, &e.to_string()) {
                    return failed;
                }
                let message = match &e {
                    CallError::Http { status, message } if *status < 500 && !message.is_empty() => {
                        message.clone()
                    }
                    _ => format!(
                        "{} is not available right now. Please try again.",
                        s.target.institution.name
                    ),
                };
                self.emit_error(now, ErrorType::PartnerUnavailable, &message);
                self.back_to_list(Some(Notice::InstitutionUnavailable { message }))
            }
        }
    }

    /// A login, commit or poll answered.
    fn on_step_reply(
        &mut self,
        now: Timestamp,
        session: Session,
        origin: Origin,
        result: Result<Reply, CallError>,
    ) -> State {
        match result {
            Ok(Reply::Step(step)) => self.on_step(now, session, origin, step),
            Ok(_) => self.fail(now, protocol("expected a step outcome")),
            Err(e) => match self.count_transport(now, &e.to_string()) {
                Some(failed) => failed,
                None => {
                    self.stop_polling();
                    self.back(
                        origin,
                        session,
                        Notice::PartnerUnavailable {
                            detail: e.to_string(),
                        },
                    )
                }
            },
        }
    }

    fn on_step(
        &mut self,
        now: Timestamp,
        mut session: Session,
        origin: Origin,
        step: Step,
    ) -> State {
        if !matches!(step, Step::Pending { .. }) {
            self.stop_polling();
        }
        match step {
            Step::Done(linked) => self.linked(now, session.target, linked),
            Step::NeedsInput { form, continuation } => match self.next_round(now) {
                Some(failed) => failed,
                None => {
                    session.continuation = continuation;
                    State::AwaitingInput(AwaitingInput {
                        session,
                        form,
                        errors: Vec::new(),
                        notice: None,
                    })
                }
            },
            Step::ChooseAccount { accounts, .. } if accounts.is_empty() => {
                self.fail(now, protocol("the bank sent an empty account list"))
            }
            Step::ChooseAccount {
                accounts,
                continuation,
            } => match self.next_round(now) {
                Some(failed) => failed,
                None => {
                    session.continuation = continuation;
                    State::AwaitingAccount(AwaitingAccount {
                        session,
                        accounts,
                        notice: None,
                    })
                }
            },
            Step::Pending {
                poll_after_ms,
                give_up_after_ms,
                continuation,
            } => {
                // The deadline runs from the first "pending" in a row: leaving
                // Pending any other way disarms it.
                if self.timers.get(Timer::PendingDeadline).is_none() {
                    self.timers
                        .arm(Timer::PendingDeadline, now.plus_ms(give_up_after_ms));
                }
                self.timers
                    .arm(Timer::StatusPoll, now.plus_ms(poll_after_ms));
                if continuation.is_some() {
                    session.continuation = continuation;
                }
                State::Pending(Pending {
                    session,
                    request: None,
                    poll_after_ms,
                    origin,
                })
            }
            // A login the person typed nothing into (a stored login,
            // re-authorised, or a re-authorisation's opening call): they
            // cannot fix it by typing again, and sending the same stored
            // login again would only repeat a refused login at their bank.
            Step::Rejected(rejection)
                if matches!(rejection.kind, RejectionKind::Retry) && origin.typed_nothing() =>
            {
                self.fail(
                    now,
                    Failure::Rejected {
                        message: rejection.message,
                        code: rejection.code,
                    },
                )
            }
            Step::Rejected(rejection) => match rejection.kind {
                // Restarting would log in again with the saved login, on the
                // flow's own (rule 2): it went once, and the partner's word
                // on it is recorded; starting again is the person's call.
                // Not counted as an attempt: the person answered nothing
                // wrong that a count should warn them about.
                RejectionKind::RestartLogin if session.saved_login => {
                    let error_type = match origin {
                        Origin::Login(..) | Origin::Reauthorise => ErrorType::LoginRejected,
                        _ => ErrorType::MfaRejected,
                    };
                    self.emit_coded_error(
                        now,
                        error_type,
                        &rejection.message,
                        rejection.code.as_deref(),
                    );
                    // The partner's cache could not answer the bank, but the
                    // person can: back to the list, and choosing the bank
                    // (their act, rule 2) goes on live. Once: a live login
                    // refused the same way ends like any other.
                    let live_once = rejection.needs_person
                        && self.config.reauthorise.is_some()
                        && !self.counters.reauth_live
                        && matches!(origin, Origin::Login(..) | Origin::Reauthorise);
                    if live_once {
                        self.counters.reauth_live = true;
                        let notice = Notice::AnswersNeeded {
                            message: rejection.message,
                        };
                        return self.back_to_list(Some(notice));
                    }
                    self.saved_login_ends(now)
                }
                RejectionKind::Retry | RejectionKind::RestartLogin => {
                    // Saturating, and checked with `>=`: a count restored
                    // from a stored snapshot at 255 still ends the flow
                    // (rule 5) instead of overflowing.
                    let (count, max, error_type) =
                        if matches!(origin, Origin::Login(..) | Origin::Reauthorise) {
                            self.counters.login_rejections =
                                self.counters.login_rejections.saturating_add(1);
                            let max = self.config.max_login_attempts;
                            (
                                self.counters.login_rejections,
                                max,
                                ErrorType::LoginRejected,
                            )
                        } else {
                            self.counters.mfa_rejections =
                                self.counters.mfa_rejections.saturating_add(1);
                            let max = self.config.max_mfa_attempts;
                            (self.counters.mfa_rejections, max, ErrorType::MfaRejected)
                        };
                    if count >= max {
                        return self.fail(now, Failure::TooManyAttempts { attempts: count });
                    }
                    self.emit_coded_error(
                        now,
                        error_type,
                        &rejection.message,
                        rejection.code.as_deref(),
                    );
                    if rejection.kind == RejectionKind::RestartLogin {
                        let notice = Notice::LoginAgain {
                            message: rejection.message,
                        };
                        let restarted = self.start_session(now, session.target, Some(notice));
                        return match origin {
                            Origin::Login(_, prefill) => with_prefill(restarted, prefill),
                            _ => restarted,
                        };
                    }
                    let notice = Notice::Rejected {
                        message: rejection.message,
                        attempts_left: max - count,
                    };
                    self.back_or_renew(now, origin, session, notice, rejection.session_spent)
                }
                RejectionKind::SessionExpired => self.session_expired(now, session),
                RejectionKind::TryLater => {
                    match self.count_try_later(now, &rejection.message, rejection.code.as_deref()) {
                        Some(failed) => failed,
                        None => {
                            let notice = Notice::PartnerUnavailable {
                                detail: rejection.message,
                            };
                            self.back_or_renew(
                                now,
                                origin,
                                session,
                                notice,
                                rejection.session_spent,
                            )
                        }
                    }
                }
                RejectionKind::Unrecognised => self.fail(
                    now,
                    Failure::Unrecognised {
                        message: rejection.message,
                        code: rejection.code,
                    },
                ),
                RejectionKind::Final => self.fail(
                    now,
                    Failure::Rejected {
                        message: rejection.message,
                        code: rejection.code,
                    },
                ),
            },
        }
    }

    fn on_exchanged(
        &mut self,
        now: Timestamp,
        s: Exchanging,
        result: Result<Reply, CallError>,
    ) -> State {
        match result {
            Ok(Reply::Exchanged { account_id }) => State::Done(Done {
                code: Some(s.code),
                account_id: Some(account_id),
            }),
            Ok(_) => self.fail(now, protocol("expected an account id")),
            Err(e) if e.is_transient() => match self.count_transport(now, &e.to_string()) {
                Some(failed) => failed,
                None => State::Linked(HoldingCode {
                    code: s.code,
                    notice: Some(Notice::PartnerUnavailable {
                        detail: e.to_string(),
                    }),
                }),
            },
            // The partner refused the code (used, expired) or said something
            // unreadable: the code may be spent, so retrying cannot help.
            Err(CallError::Http { message, .. }) => self.fail(
                now,
                Failure::Rejected {
                    message,
                    code: None,
                },
            ),
            Err(e) => self.fail(now, protocol(&e.to_string())),
        }
    }

    fn stop_polling(&mut self) {
        self.timers.disarm(Timer::StatusPoll);
        self.timers.disarm(Timer::PendingDeadline);
    }

    /// The screen a refused step was sent from, shown again with `notice`
    /// ([`back`](Self::back)); but a login whose refusal `spent` the
    /// partner's session (Flinks' single-use token) goes on a new session,
    /// its form shown with `notice` and the non-secret values typed, as on
    /// the same one. A refusal after an MFA answer (its status poll) goes
    /// back to that question, on the conversation's token.
    fn back_or_renew(
        &mut self,
        now: Timestamp,
        origin: Origin,
        session: Session,
        notice: Notice,
        spent: bool,
    ) -> State {
        match origin {
            Origin::Login(_, prefill) if spent => {
                let renewed = self.start_session(now, session.target, Some(notice));
                with_prefill(renewed, prefill)
            }
            origin => self.back(origin, session, notice),
        }
    }

    /// The screen a step was sent from, shown again with `notice`.
    fn back(&mut self, origin: Origin, session: Session, notice: Notice) -> State {
        match origin {
            Origin::Login(form, prefill) => State::AwaitingCredentials(AwaitingCredentials {
                session,
                form,
                prefill,
                errors: Vec::new(),
                notice: Some(notice),
            }),
            Origin::Input(form) => State::AwaitingInput(AwaitingInput {
                session,
                form,
                errors: Vec::new(),
                notice: Some(notice),
            }),
            Origin::Account(accounts) => State::AwaitingAccount(AwaitingAccount {
                session,
                accounts,
                notice: Some(notice),
            }),
            // Sent from the list: back there. Choosing the bank again (the
            // person's act, rule 2) makes the re-authorisation's opening
            // call again, counted as a session; there is no partner session
            // a login form could log in to.
            Origin::Reauthorise => self.back_to_list(Some(notice)),
        }
    }
}

/// `state` carrying `prefill` (the non-secret values the person typed) into
/// the session it opens, so the login form comes back with them filled in;
/// any other state as it is.
pub(super) fn with_prefill(state: State, prefill: Vec<(String, String)>) -> State {
    match state {
        State::CreatingSession(creating) => State::CreatingSession(CreatingSession {
            prefill,
            ..creating
        }),
        other => other,
    }
}
