//! [`ConnectFlow`]: the state machine.

use super::api::{
    AccountPick, ActionKind, Call, CallError, Effect, Input, Reply, Step, UserAction,
};
use super::config::FlowConfig;
use super::error::{Failure, FlowError};
use super::event::{ErrorType, Event, EventKind};
use super::retry::retry_delay;
use super::state::*;
use super::types::{Catalogue, InstitutionRef, RequestId, Timestamp};
use super::view::View;
use super::{mfa_type, AuthMethodKind};
use crate::form::{Form, Values};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// Counters that bound a flow. Per flow, never reset, so Back and switch loops
/// cannot buy more attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Counters {
    #[serde(skip_serializing_if = "is_zero")]
    pub login_rejections: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub mfa_rejections: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub rounds: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub sessions: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub renewals: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub transport_failures: u8,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub code_emitted: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preselect_tried: bool,
}

// Snapshots omit zero counters: a parked session must fit in 512 bytes.
fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl Counters {
    pub(super) fn is_zero(&self) -> bool {
        *self == Counters::default()
    }
}

/// The whole connect flow as a plain value: no clock, no sockets, no threads.
///
/// Feed it [`Input`]s with [`handle`](Self::handle) and the current time; take
/// the calls it needs made from [`poll_effect`](Self::poll_effect), what
/// happened from [`poll_event`](Self::poll_event), the next deadline from
/// [`poll_timeout`](Self::poll_timeout), and what to show from
/// [`view`](Self::view). See the crate docs for the run loop.
#[derive(Debug, Clone)]
pub struct ConnectFlow {
    pub(super) config: FlowConfig,
    pub(super) state: State,
    pub(super) catalogue: Option<Arc<Catalogue>>,
    pub(super) next_id: u64,
    pub(super) counters: Counters,
    pub(super) effects: VecDeque<Effect>,
    pub(super) events: VecDeque<Event>,
}

impl ConnectFlow {
    /// A new flow. It starts by asking for the institution list and emits `OPENED`.
    pub fn new(config: FlowConfig, now: Timestamp) -> Self {
        let mut flow = ConnectFlow {
            config,
            state: State::LoadingInstitutions(LoadingInstitutions {
                request: None,
                attempt: 0,
                retry_at: None,
            }),
            catalogue: None,
            next_id: 1,
            counters: Counters::default(),
            effects: VecDeque::new(),
            events: VecDeque::new(),
        };
        flow.emit(now, EventKind::Opened);
        flow.state = flow.load_institutions(0);
        flow
    }

    /// Applies one input. An `Err` means the caller asked for something
    /// impossible now (or delivered a reply nobody waits for); the flow is then
    /// unchanged, except that invalid form values are recorded for the view.
    ///
    /// Deadlines are not applied implicitly (as in quinn-proto): when
    /// [`poll_timeout`](Self::poll_timeout) has passed, call
    /// [`handle_timeout`](Self::handle_timeout) before handling input, and
    /// show the person the new view if the state changed. The driver and
    /// every channel in this crate do.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Result<(), FlowError> {
        match input {
            Input::User(action) => self.on_user(now, action),
            Input::Api { id, result } => {
                let waiting = self.state.waiting_for();
                if waiting != Some(id) {
                    return Err(FlowError::UnexpectedReply { id, waiting });
                }
                self.on_reply(now, result);
                Ok(())
            }
        }
    }

    /// Fires every timer due at `now`: a scheduled retry of the institution
    /// list, session expiry while waiting for the person, code expiry.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        match self.poll_timeout() {
            Some(deadline) if deadline <= now => {}
            _ => return,
        }
        let state = std::mem::replace(&mut self.state, placeholder());
        self.state = match state {
            State::LoadingInstitutions(s) => self.load_institutions(s.attempt),
            State::AwaitingCredentials(AwaitingCredentials { session, .. })
            | State::AwaitingInput(AwaitingInput { session, .. })
            | State::AwaitingAccount(AwaitingAccount { session, .. }) => {
                self.session_expired(now, session.target)
            }
            State::Linked(_) => self.fail(now, Failure::CodeExpired),
            other => other,
        };
    }

    /// The next call to make, in order. Each is made exactly once.
    #[must_use = "an effect is a call the flow is waiting for"]
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline, if any: call [`handle_timeout`](Self::handle_timeout) then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match &self.state {
            State::LoadingInstitutions(s) => s.retry_at,
            State::AwaitingCredentials(s) => s.session.expires_at,
            State::AwaitingInput(s) => s.session.expires_at,
            State::AwaitingAccount(s) => s.session.expires_at,
            State::Linked(s) => Some(s.expires_at),
            _ => None,
        }
    }

    /// What the person must see or answer now.
    pub fn view(&self) -> View<'_> {
        View::of(&self.state, self.catalogue.as_deref())
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The config this flow runs with.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// The catalogue, once loaded.
    pub fn catalogue(&self) -> Option<&Arc<Catalogue>> {
        self.catalogue.as_ref()
    }

    /// True once Done, Failed or Exited.
    pub fn is_finished(&self) -> bool {
        self.state.kind().is_terminal()
    }

    // ---- user actions ---------------------------------------------------

    fn on_user(&mut self, now: Timestamp, action: UserAction) -> Result<(), FlowError> {
        let kind = self.state.kind();
        if kind.is_terminal() {
            return Err(FlowError::Finished(kind));
        }
        let not_allowed = |action: ActionKind| FlowError::NotAllowed {
            action,
            state: kind,
        };
        let next = match action {
            UserAction::ChooseInstitution { id, auth_method } => {
                if kind != StateKind::ChoosingInstitution {
                    return Err(not_allowed(ActionKind::ChooseInstitution));
                }
                let target = self.target(&id, auth_method)?;
                self.select(now, target)
            }
            UserAction::Submit(values) => self.submit(now, values)?,
            UserAction::ChooseAccount(index) => {
                let State::AwaitingAccount(s) = &self.state else {
                    return Err(not_allowed(ActionKind::ChooseAccount));
                };
                let Some(account) = s.accounts.get(index) else {
                    return Err(FlowError::NoSuchAccount {
                        index,
                        count: s.accounts.len(),
                    });
                };
                let pick = AccountPick {
                    index,
                    number: account.number.clone(),
                };
                let session = s.session.id.clone();
                self.emit(
                    now,
                    EventKind::AccountSelected {
                        selected_accounts_count: 1,
                    },
                );
                let request = self.call(Call::Commit {
                    session,
                    values: Values::new(),
                    account: Some(pick),
                });
                match self.take_state() {
                    State::AwaitingAccount(s) => State::Committing(Committing {
                        session: s.session,
                        request,
                        origin: Origin::Account(s.accounts),
                    }),
                    other => other,
                }
            }
            UserAction::SwitchAuthMethod(method) => {
                let Some(session) = self.person_session() else {
                    return Err(not_allowed(ActionKind::SwitchAuthMethod));
                };
                let offered = self
                    .catalogue
                    .as_deref()
                    .and_then(|c| c.get(&session.target.institution.id))
                    .is_some_and(|i| i.method(&method).is_some());
                if method == session.target.auth_method || !offered {
                    return Err(FlowError::UnknownAuthMethod(method.as_str().to_owned()));
                }
                let mut target = session.target.clone();
                let prev = std::mem::replace(&mut target.auth_method, method.clone());
                self.emit(
                    now,
                    EventKind::AuthMethodSwitched {
                        prev_auth_method: prev,
                        auth_method: method,
                    },
                );
                self.start_session(now, target, false)
            }
            UserAction::Back => match kind {
                StateKind::CreatingSession
                | StateKind::AwaitingCredentials
                | StateKind::LoggingIn
                | StateKind::AwaitingInput
                | StateKind::AwaitingAccount
                | StateKind::Committing => self.back_to_list(None),
                _ => return Err(not_allowed(ActionKind::Back)),
            },
            UserAction::Retry => match &self.state {
                State::Linked(s) => {
                    let (code, expires_at) = (s.code.clone(), s.expires_at);
                    self.exchange(code, expires_at)
                }
                _ => return Err(not_allowed(ActionKind::Retry)),
            },
            UserAction::Exit => {
                let page = self.state.page();
                self.emit(now, EventKind::Exit { page_name: page });
                State::Exited(Exited { page })
            }
        };
        self.state = next;
        Ok(())
    }

    fn submit(&mut self, now: Timestamp, values: Values) -> Result<State, FlowError> {
        let (form, errors) = match &mut self.state {
            State::AwaitingCredentials(s) => (&s.form, &mut s.errors),
            State::AwaitingInput(s) => (&s.form, &mut s.errors),
            _ => {
                return Err(FlowError::NotAllowed {
                    action: ActionKind::Submit,
                    state: self.state.kind(),
                })
            }
        };
        if let Err(found) = form.validate(&values) {
            *errors = found.clone();
            return Err(FlowError::InvalidValues(found));
        }
        Ok(match self.take_state() {
            State::AwaitingCredentials(s) => {
                self.emit(now, EventKind::SubmitCredentials);
                let prefill = values.public_part(&s.form);
                let request = self.call(Call::Login {
                    session: s.session.id.clone(),
                    values,
                });
                State::LoggingIn(LoggingIn {
                    session: s.session,
                    form: s.form,
                    prefill,
                    request,
                })
            }
            State::AwaitingInput(s) => {
                self.emit(
                    now,
                    EventKind::SubmitMfa {
                        mfa_type: mfa_type(&s.form).to_owned(),
                    },
                );
                let request = self.call(Call::Commit {
                    session: s.session.id.clone(),
                    values,
                    account: None,
                });
                State::Committing(Committing {
                    session: s.session,
                    request,
                    origin: Origin::Input(s.form),
                })
            }
            other => other,
        })
    }

    /// The institution and method the person picked, checked against the catalogue.
    fn target(&self, id: &str, method: Option<AuthMethodKind>) -> Result<Target, FlowError> {
        let institution = self
            .catalogue
            .as_deref()
            .and_then(|c| c.get(id))
            .ok_or_else(|| FlowError::UnknownInstitution(id.to_owned()))?;
        let methods = institution.method_kinds();
        let auth_method = match method {
            None => methods[0].clone(),
            Some(m) if methods.contains(&m) => m,
            Some(m) => return Err(FlowError::UnknownAuthMethod(m.as_str().to_owned())),
        };
        Ok(Target {
            institution: institution.to_ref(),
            auth_method,
        })
    }

    /// The session of a state where the person is on a screen (not waiting
    /// for a call).
    fn person_session(&self) -> Option<&Session> {
        self.state
            .session()
            .filter(|_| self.state.waiting_for().is_none())
    }

    // ---- replies ----------------------------------------------------------

    fn on_reply(&mut self, now: Timestamp, result: Result<Reply, CallError>) {
        let state = self.take_state();
        self.state = match (state, result) {
            (State::LoadingInstitutions(s), result) => match result {
                Ok(Reply::Institutions(catalogue)) => self.catalogue_loaded(now, catalogue),
                Ok(_) => self.fail(now, protocol("expected an institution list")),
                Err(CallError::Unauthorized(message)) => {
                    self.fail(now, Failure::Unauthorized { message })
                }
                Err(e) => {
                    let attempt = s.attempt.saturating_add(1);
                    match retry_delay(&self.config, Call::ListInstitutions.kind(), attempt, &e) {
                        Some(delay) => State::LoadingInstitutions(LoadingInstitutions {
                            request: None,
                            attempt,
                            retry_at: Some(now.plus_ms(delay)),
                        }),
                        None => self.fail(
                            now,
                            Failure::PartnerUnavailable {
                                detail: e.to_string(),
                            },
                        ),
                    }
                }
            },
            (State::CreatingSession(s), result) => match result {
                Ok(Reply::SessionCreated(info)) => {
                    let form = info.form.or_else(|| self.catalogue_form(&s.target));
                    match form {
                        None => self.fail(now, protocol("the institution sent no login form")),
                        Some(form) => State::AwaitingCredentials(AwaitingCredentials {
                            session: Session {
                                id: info.id,
                                expires_at: info.expires_at,
                                target: s.target,
                            },
                            form,
                            prefill: Vec::new(),
                            errors: Vec::new(),
                            notice: s.renewal.then_some(Notice::SessionRenewed),
                        }),
                    }
                }
                Ok(_) => self.fail(now, protocol("expected a session")),
                Err(CallError::Unauthorized(message)) => {
                    self.fail(now, Failure::Unauthorized { message })
                }
                Err(e) => {
                    if let Some(failed) = self.count_transport(now, &e) {
                        failed
                    } else {
                        let message = match &e {
                            CallError::Http { status, message }
                                if *status < 500 && !message.is_empty() =>
                            {
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
            },
            (State::LoggingIn(s), result) => match result {
                Ok(Reply::Step(step)) => {
                    self.on_step(now, s.session, step, Back::Login(s.form, s.prefill))
                }
                Ok(_) => self.fail(now, protocol("expected a login outcome")),
                Err(CallError::Unauthorized(message)) => {
                    self.fail(now, Failure::Unauthorized { message })
                }
                Err(e) => match self.count_transport(now, &e) {
                    Some(failed) => failed,
                    None => State::AwaitingCredentials(AwaitingCredentials {
                        session: s.session,
                        form: s.form,
                        prefill: s.prefill,
                        errors: Vec::new(),
                        notice: Some(Notice::PartnerUnavailable {
                            detail: e.to_string(),
                        }),
                    }),
                },
            },
            (State::Committing(s), result) => {
                let back = match s.origin {
                    Origin::Input(form) => Back::Input(form),
                    Origin::Account(accounts) => Back::Account(accounts),
                };
                match result {
                    Ok(Reply::Step(step)) => self.on_step(now, s.session, step, back),
                    Ok(_) => self.fail(now, protocol("expected a commit outcome")),
                    Err(CallError::Unauthorized(message)) => {
                        self.fail(now, Failure::Unauthorized { message })
                    }
                    Err(e) => match self.count_transport(now, &e) {
                        Some(failed) => failed,
                        None => back.into_state(
                            s.session,
                            Notice::PartnerUnavailable {
                                detail: e.to_string(),
                            },
                        ),
                    },
                }
            }
            (State::Exchanging(s), result) => match result {
                Ok(Reply::Exchanged { account_id }) => State::Done(Done {
                    code: s.code,
                    account_id: Some(account_id),
                }),
                Ok(_) => self.fail(now, protocol("expected an account id")),
                Err(CallError::Unauthorized(message)) => {
                    self.fail(now, Failure::Unauthorized { message })
                }
                Err(e) if e.is_transient() => match self.count_transport(now, &e) {
                    Some(failed) => failed,
                    None => State::Linked(Linked {
                        code: s.code,
                        expires_at: s.expires_at,
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
            },
            // Unreachable: `handle` only calls this when the state waits for
            // the reply, and only the states above wait.
            (other, _) => other,
        };
    }

    fn catalogue_loaded(&mut self, now: Timestamp, catalogue: Arc<Catalogue>) -> State {
        self.catalogue = Some(catalogue);
        let preselect = match &self.config.institution {
            Some(p) if !self.counters.preselect_tried => p.clone(),
            _ => return State::ChoosingInstitution(ChoosingInstitution { notice: None }),
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

    fn on_step(&mut self, now: Timestamp, session: Session, step: Step, back: Back) -> State {
        match step {
            Step::Done { code } => self.got_code(now, session.target.institution, code),
            Step::NeedsInput { form } => match self.next_round(now) {
                Some(failed) => failed,
                None => State::AwaitingInput(AwaitingInput {
                    session,
                    form,
                    errors: Vec::new(),
                    notice: None,
                }),
            },
            Step::ChooseAccount { accounts } if accounts.is_empty() => {
                self.fail(now, protocol("the bank sent an empty account list"))
            }
            Step::ChooseAccount { accounts } => match self.next_round(now) {
                Some(failed) => failed,
                None => State::AwaitingAccount(AwaitingAccount {
                    session,
                    accounts,
                    notice: None,
                }),
            },
            Step::Rejected(rejection) => match rejection.kind {
                super::RejectionKind::Retry => {
                    let (count, max, error_type) = match back {
                        Back::Login(..) => {
                            self.counters.login_rejections += 1;
                            (
                                self.counters.login_rejections,
                                self.config.max_login_attempts,
                                ErrorType::LoginRejected,
                            )
                        }
                        _ => {
                            self.counters.mfa_rejections += 1;
                            (
                                self.counters.mfa_rejections,
                                self.config.max_mfa_attempts,
                                ErrorType::MfaRejected,
                            )
                        }
                    };
                    if count >= max {
                        return self.fail(now, Failure::TooManyAttempts { attempts: count });
                    }
                    self.emit_error(now, error_type, &rejection.message);
                    back.into_state(
                        session,
                        Notice::Rejected {
                            message: rejection.message,
                            attempts_left: max - count,
                        },
                    )
                }
                super::RejectionKind::SessionExpired => self.session_expired(now, session.target),
                _ => self.fail(
                    now,
                    Failure::Rejected {
                        message: rejection.message,
                        code: rejection.code,
                    },
                ),
            },
        }
    }

    // ---- transitions shared by several states -------------------------------

    fn load_institutions(&mut self, attempt: u8) -> State {
        let request = self.call(Call::ListInstitutions);
        State::LoadingInstitutions(LoadingInstitutions {
            request: Some(request),
            attempt,
            retry_at: None,
        })
    }

    fn back_to_list(&mut self, notice: Option<Notice>) -> State {
        if self.catalogue.is_some() {
            State::ChoosingInstitution(ChoosingInstitution { notice })
        } else {
            self.load_institutions(0)
        }
    }

    /// The person (or the preselection) chose `target`: report it, open a session.
    fn select(&mut self, now: Timestamp, target: Target) -> State {
        self.emit(
            now,
            EventKind::InstitutionSelected {
                institution: target.institution.clone(),
                auth_method: target.auth_method.clone(),
            },
        );
        self.start_session(now, target, false)
    }

    fn start_session(&mut self, now: Timestamp, target: Target, renewal: bool) -> State {
        if self.counters.sessions >= self.config.max_sessions {
            return self.fail(
                now,
                Failure::TooManySessions {
                    sessions: self.counters.sessions,
                },
            );
        }
        self.counters.sessions += 1;
        let request = self.call(Call::CreateSession {
            institution: target.institution.id.clone(),
            auth_method: target.auth_method.clone(),
        });
        State::CreatingSession(CreatingSession {
            target,
            request,
            renewal,
        })
    }

    fn session_expired(&mut self, now: Timestamp, target: Target) -> State {
        if self.counters.renewals >= self.config.max_renewals {
            return self.fail(now, Failure::SessionExpired);
        }
        self.counters.renewals += 1;
        self.emit_error(
            now,
            ErrorType::SessionExpired,
            "the session expired; opening a new one",
        );
        self.start_session(now, target, true)
    }

    fn got_code(&mut self, now: Timestamp, institution: InstitutionRef, code: String) -> State {
        // Rule 3: only Login and Commit replies lead here, and no state after
        // a code waits for either, so this holds by construction; the flag
        // makes it checkable from a snapshot.
        self.counters.code_emitted = true;
        self.emit(now, EventKind::AccountLinked { institution });
        self.emit(now, EventKind::Success { code: code.clone() });
        let expires_at = now.plus_ms(self.config.code_lifetime_ms);
        if self.config.exchange_code {
            self.exchange(code, expires_at)
        } else {
            State::Done(Done {
                code,
                account_id: None,
            })
        }
    }

    fn exchange(&mut self, code: String, expires_at: Timestamp) -> State {
        let request = self.call(Call::ExchangeCode { code: code.clone() });
        State::Exchanging(Exchanging {
            code,
            expires_at,
            request,
        })
    }

    fn next_round(&mut self, now: Timestamp) -> Option<State> {
        self.counters.rounds = self.counters.rounds.saturating_add(1);
        (self.counters.rounds > self.config.max_rounds).then(|| {
            self.fail(
                now,
                Failure::TooManyRounds {
                    rounds: self.counters.rounds,
                },
            )
        })
    }

    /// Counts a failed login/commit/session/exchange call; `Some(Failed)` once
    /// the configured number is reached.
    fn count_transport(&mut self, now: Timestamp, error: &CallError) -> Option<State> {
        self.counters.transport_failures = self.counters.transport_failures.saturating_add(1);
        if self.counters.transport_failures >= self.config.max_transport_failures {
            return Some(self.fail(
                now,
                Failure::PartnerUnavailable {
                    detail: error.to_string(),
                },
            ));
        }
        self.emit_error(now, ErrorType::PartnerUnavailable, &error.to_string());
        None
    }

    fn catalogue_form(&self, target: &Target) -> Option<Form> {
        self.catalogue
            .as_deref()
            .and_then(|c| c.get(&target.institution.id))
            .and_then(|i| i.form_for(&target.auth_method))
            .cloned()
    }

    fn fail(&mut self, now: Timestamp, failure: Failure) -> State {
        let error_type = match &failure {
            Failure::Rejected { .. } => ErrorType::Rejected,
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
        self.emit_error(now, error_type, &failure.message());
        State::Failed(failure)
    }

    // ---- plumbing --------------------------------------------------------------

    fn call(&mut self, call: Call) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.effects.push_back(Effect::Call { id, call });
        id
    }

    fn emit(&mut self, now: Timestamp, kind: EventKind) {
        self.events.push_back(Event {
            kind,
            reference: self.config.reference.clone(),
            timestamp: now,
        });
    }

    fn emit_error(&mut self, now: Timestamp, error_type: ErrorType, message: &str) {
        self.emit(
            now,
            EventKind::Error {
                error_type,
                error_message: message.to_owned(),
            },
        );
    }

    fn take_state(&mut self) -> State {
        std::mem::replace(&mut self.state, placeholder())
    }
}

/// Where a retryable rejection or a failed call sends the person back to.
enum Back {
    Login(Form, Vec<(String, String)>),
    Input(Form),
    Account(Vec<crate::flow::Account>),
}

impl Back {
    fn into_state(self, session: Session, notice: Notice) -> State {
        match self {
            Back::Login(form, prefill) => State::AwaitingCredentials(AwaitingCredentials {
                session,
                form,
                prefill,
                errors: Vec::new(),
                notice: Some(notice),
            }),
            Back::Input(form) => State::AwaitingInput(AwaitingInput {
                session,
                form,
                errors: Vec::new(),
                notice: Some(notice),
            }),
            Back::Account(accounts) => State::AwaitingAccount(AwaitingAccount {
                session,
                accounts,
                notice: Some(notice),
            }),
        }
    }
}

/// Held in `self.state` only between `take_state` and the assignment that
/// follows it; never observable.
fn placeholder() -> State {
    State::Exited(Exited {
        page: super::Page::Loading,
    })
}

fn protocol(detail: &str) -> Failure {
    Failure::Protocol {
        detail: detail.to_owned(),
    }
}
