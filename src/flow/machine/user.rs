//! What a person's action does.

use super::ConnectFlow;
use crate::flow::call::{AccountChoice, Call, PartnerSession};
use crate::flow::error::FlowError;
use crate::flow::event::EventKind;
use crate::flow::input::{ActionKind, UserAction};
use crate::flow::mfa_type;
use crate::flow::state::*;
use crate::flow::types::{AuthMethodKind, Timestamp};
use crate::form::{Form, Values};

impl ConnectFlow {
    pub(super) fn on_user(&mut self, now: Timestamp, action: UserAction) -> Result<(), FlowError> {
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
            UserAction::ChooseAccount(index) => self.choose_account(now, index)?,
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
                self.start_session(now, target, None)
            }
            UserAction::Back => match kind {
                StateKind::CreatingSession
                | StateKind::AwaitingCredentials
                | StateKind::LoggingIn
                | StateKind::AwaitingInput
                | StateKind::AwaitingAccount
                | StateKind::Committing
                | StateKind::Pending => {
                    self.withdraw_unsent_writes();
                    self.back_to_list(None)
                }
                _ => return Err(not_allowed(ActionKind::Back)),
            },
            UserAction::Retry => match &self.state {
                State::Linked(s) => {
                    let code = s.code.clone();
                    self.exchange(code)
                }
                _ => return Err(not_allowed(ActionKind::Retry)),
            },
            UserAction::Exit => {
                self.withdraw_unsent_writes();
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
            State::AwaitingCredentials(s) => self.send_login(now, s.session, s.form, values),
            State::AwaitingInput(s) => {
                self.emit(
                    now,
                    EventKind::SubmitMfa {
                        mfa_type: mfa_type(&s.form).to_owned(),
                    },
                );
                let request = self.call(Call::Commit {
                    session: partner_session(&s.session),
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

    /// Sends the login form's values (the person's, or none for a form
    /// with no fields).
    pub(super) fn send_login(
        &mut self,
        now: Timestamp,
        mut session: Session,
        form: Form,
        values: Values,
    ) -> State {
        // A form with nothing to type is the partner's saved login, whoever
        // pressed on: the session then must not be replaced by the flow.
        session.saved_login |= form.fields.is_empty();
        self.emit(now, EventKind::SubmitCredentials);
        let prefill = values.public_part(&form);
        let request = self.call(Call::Login {
            session: partner_session(&session),
            institution: session.target.institution.id.clone(),
            auth_method: session.target.auth_method.clone(),
            values,
        });
        State::LoggingIn(LoggingIn {
            session,
            form,
            prefill,
            request,
        })
    }

    fn choose_account(&mut self, now: Timestamp, index: usize) -> Result<State, FlowError> {
        let State::AwaitingAccount(s) = &self.state else {
            return Err(FlowError::NotAllowed {
                action: ActionKind::ChooseAccount,
                state: self.state.kind(),
            });
        };
        let Some(account) = s.accounts.get(index) else {
            return Err(FlowError::NoSuchAccount {
                index,
                count: s.accounts.len(),
            });
        };
        let choice = AccountChoice {
            index,
            number: account.number.clone(),
        };
        let session = partner_session(&s.session);
        self.emit(
            now,
            EventKind::AccountSelected {
                selected_accounts_count: 1,
            },
        );
        let request = self.call(Call::Commit {
            session,
            values: Values::new(),
            account: Some(choice),
        });
        Ok(match self.take_state() {
            State::AwaitingAccount(s) => State::Committing(Committing {
                session: s.session,
                request,
                origin: Origin::Account(s.accounts),
            }),
            other => other,
        })
    }

    /// The institution and method the person picked, checked against the catalogue.
    pub(super) fn target(
        &self,
        id: &str,
        method: Option<AuthMethodKind>,
    ) -> Result<Target, FlowError> {
        // A re-authorisation re-opens its own bank only (the partner is
        // not told the bank: another would be reported as linked while the
        // configured account was re-authorised).
        if let (Some(_), Some(bank)) = (&self.config.reauthorise, &self.config.institution) {
            if bank.id != id {
                return Err(FlowError::UnknownInstitution(id.to_owned()));
            }
        }
        let institution = self
            .catalogue
            .as_deref()
            .and_then(|c| c.get(id))
            .ok_or_else(|| FlowError::UnknownInstitution(id.to_owned()))?;
        let methods = institution.method_kinds();
        let auth_method = match method {
            None => methods
                .first()
                .cloned()
                .unwrap_or(AuthMethodKind::InternetBanking),
            Some(m) if methods.contains(&m) => m,
            Some(m) => return Err(FlowError::UnknownAuthMethod(m.as_str().to_owned())),
        };
        Ok(Target {
            institution: institution.to_ref(),
            auth_method,
        })
    }

    /// The session of a screen the person answers (a form or an account
    /// list): where switching auth method makes sense.
    fn person_session(&self) -> Option<&Session> {
        match &self.state {
            State::AwaitingCredentials(s) => Some(&s.session),
            State::AwaitingInput(s) => Some(&s.session),
            State::AwaitingAccount(s) => Some(&s.session),
            _ => None,
        }
    }
}

/// What a call needs to know of the flow's partner session.
pub(super) fn partner_session(session: &Session) -> PartnerSession {
    PartnerSession {
        id: session.id.clone(),
        continuation: session.continuation.clone(),
    }
}
