//! [`View`]: what a person must see or answer right now, borrowed from the flow.

use super::error::Failure;
use super::event::PageName;
use super::machine::ConnectFlow;
use super::notice::Notice;
use super::state::State;
use super::timers::Timer;
use super::types::{
    Account, AuthMethod, AuthMethodKind, Catalogue, Institution, InstitutionRef, Timestamp,
};
use crate::form::{FieldError, Form};

/// What to put in front of the person. Every state has one; a channel renders
/// it (a terminal prompt, a USSD screen, JSON for an app) and needs nothing
/// else from the flow.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum View<'a> {
    /// Nothing to answer: a call is in flight (or a retry is scheduled).
    Working(Working),
    /// Pick an institution.
    ChooseInstitution {
        /// The catalogue, in the partner's order.
        institutions: &'a [Institution],
        /// Why the person is back here.
        notice: Option<&'a Notice>,
    },
    /// Fill in a form (login or MFA).
    Form(FormView<'a>),
    /// Pick an account.
    ChooseAccount {
        /// Where.
        institution: &'a InstitutionRef,
        /// The accounts.
        accounts: &'a [Account],
        /// Why the list is shown again.
        notice: Option<&'a Notice>,
    },
    /// The account is linked but the code exchange failed; the person may retry.
    Linked {
        /// Why the exchange is not done.
        notice: Option<&'a Notice>,
    },
    /// Linked (terminal).
    Done {
        /// The partner's code, when the link went through one.
        code: Option<&'a str>,
        /// The durable account id, when this flow exchanged the code.
        account_id: Option<&'a str>,
    },
    /// Ended badly (terminal).
    Failed {
        /// What happened.
        failure: &'a Failure,
        /// Whether starting again might work.
        retryable: bool,
    },
    /// The person left (terminal).
    Exited {
        /// Where they were.
        page: PageName,
    },
}

/// What a [`View::Working`] is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Working {
    /// Fetching institutions.
    LoadingInstitutions,
    /// Waiting to retry the institution list.
    RetryingInstitutions {
        /// When.
        at: Timestamp,
    },
    /// Opening a session.
    CreatingSession,
    /// Login in flight.
    LoggingIn,
    /// Commit in flight.
    Committing,
    /// The bank is still working on the last step; the flow polls it.
    Pending {
        /// The next poll, when no poll is in flight.
        poll_at: Option<Timestamp>,
    },
    /// Exchange in flight.
    Exchanging,
}

impl Working {
    /// A sentence for the person.
    pub fn message(self) -> &'static str {
        match self {
            Working::LoadingInstitutions | Working::RetryingInstitutions { .. } => {
                "Loading banks..."
            }
            Working::CreatingSession => "Connecting to your bank...",
            Working::LoggingIn => "Logging in...",
            Working::Committing => "Verifying...",
            Working::Pending { .. } => "Your bank is still working on it...",
            Working::Exchanging => "Finishing...",
        }
    }
}

/// Login or MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormPurpose {
    /// The login form.
    Credentials,
    /// An MFA form (OTP, security question, ...).
    Mfa,
}

/// A form to fill in.
#[derive(Debug, Clone, PartialEq)]
pub struct FormView<'a> {
    /// Login or MFA.
    pub purpose: FormPurpose,
    /// Where.
    pub institution: &'a InstitutionRef,
    /// How the person is logging in.
    pub auth_method: &'a AuthMethodKind,
    /// Every method the institution offers (from the catalogue; empty when
    /// the flow was restored without it).
    pub methods: &'a [AuthMethod],
    /// The form.
    pub form: &'a Form,
    /// Non-secret values to fill in again.
    pub prefill: &'a [(String, String)],
    /// Per-field problems with the last values.
    pub errors: &'a [FieldError],
    /// Why the form is shown again.
    pub notice: Option<&'a Notice>,
}

impl<'a> FormView<'a> {
    /// The methods the person could switch to.
    pub fn other_methods(&self) -> impl Iterator<Item = &'a AuthMethodKind> + 'a {
        let current = self.auth_method;
        self.methods
            .iter()
            .map(|m| &m.kind)
            .filter(move |m| *m != current)
    }

    /// The error for one field, if any.
    pub fn error_for(&self, field: &str) -> Option<&'a FieldError> {
        self.errors.iter().find(|e| e.field == field)
    }

    /// The prefilled value of a field, if any.
    pub fn prefill_for(&self, field: &str) -> Option<&'a str> {
        self.prefill
            .iter()
            .find(|(n, _)| n == field)
            .map(|(_, v)| v.as_str())
    }
}

impl<'a> View<'a> {
    pub(super) fn of(flow: &'a ConnectFlow) -> View<'a> {
        let catalogue: Option<&'a Catalogue> = flow.catalogue.as_deref();
        // A re-authorisation is of one account at one bank: back on the
        // list (a "try later"), that bank is the only choice.
        let institutions = match (&flow.config.reauthorise, &flow.config.institution) {
            (Some(_), Some(bank)) => catalogue
                .and_then(|c| c.get(&bank.id))
                .map(std::slice::from_ref)
                .unwrap_or(&[]),
            _ => catalogue.map(Catalogue::institutions).unwrap_or(&[]),
        };
        let methods = |id: &str| -> &'a [AuthMethod] {
            catalogue
                .and_then(|c| c.get(id))
                .map(|i| i.auth_methods.as_slice())
                .unwrap_or(&[])
        };
        match &flow.state {
            State::LoadingInstitutions(_) => {
                View::Working(match flow.timers.get(Timer::ReadRetry) {
                    Some(at) => Working::RetryingInstitutions { at },
                    None => Working::LoadingInstitutions,
                })
            }
            State::ChoosingInstitution(s) => View::ChooseInstitution {
                institutions,
                notice: s.notice.as_ref(),
            },
            State::CreatingSession(_) => View::Working(Working::CreatingSession),
            State::AwaitingCredentials(s) => View::Form(FormView {
                purpose: FormPurpose::Credentials,
                institution: &s.session.target.institution,
                auth_method: &s.session.target.auth_method,
                methods: methods(&s.session.target.institution.id),
                form: &s.form,
                prefill: &s.prefill,
                errors: &s.errors,
                notice: s.notice.as_ref(),
            }),
            State::LoggingIn(_) => View::Working(Working::LoggingIn),
            State::AwaitingInput(s) => View::Form(FormView {
                purpose: FormPurpose::Mfa,
                institution: &s.session.target.institution,
                auth_method: &s.session.target.auth_method,
                methods: methods(&s.session.target.institution.id),
                form: &s.form,
                prefill: &[],
                errors: &s.errors,
                notice: s.notice.as_ref(),
            }),
            State::AwaitingAccount(s) => View::ChooseAccount {
                institution: &s.session.target.institution,
                accounts: &s.accounts,
                notice: s.notice.as_ref(),
            },
            State::Committing(_) => View::Working(Working::Committing),
            State::Pending(s) => View::Working(Working::Pending {
                poll_at: match s.request {
                    Some(_) => None,
                    None => flow.timers.get(Timer::StatusPoll),
                },
            }),
            State::Linked(s) => View::Linked {
                notice: s.notice.as_ref(),
            },
            State::Exchanging(_) => View::Working(Working::Exchanging),
            State::Done(s) => View::Done {
                code: s.code.as_deref(),
                account_id: s.account_id.as_deref(),
            },
            State::Failed(f) => View::Failed {
                failure: f,
                retryable: f.is_retryable(),
            },
            State::Exited(e) => View::Exited { page: e.page },
        }
    }

    /// True when the person must act (a form, a list, a retry).
    pub fn needs_person(&self) -> bool {
        matches!(
            self,
            View::ChooseInstitution { .. }
                | View::Form(_)
                | View::ChooseAccount { .. }
                | View::Linked { .. }
        )
    }

    /// True for Done, Failed and Exited.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            View::Done { .. } | View::Failed { .. } | View::Exited { .. }
        )
    }
}
