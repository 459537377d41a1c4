//! The first snapshot format (`"v":1`), read and turned into the current one.
//!
//! Differences: deadlines lived in the states (`retry_at`, a session's
//! `expires_at`, a code's `expires_at`) where the current format has a timer
//! table; a renewal was a `renewal` flag; `Done` always had a code; a stored
//! login effect did not name its institution.

use super::{Snapshot, StoredCall, StoredEffect, SNAPSHOT_VERSION};
use crate::flow::call::{AccountChoice, PartnerSession};
use crate::flow::config::FlowConfig;
use crate::flow::error::Failure;
use crate::flow::event::{Event, PageName};
use crate::flow::machine::Counters;
use crate::flow::notice::Notice;
use crate::flow::state::{self as st, State, Target};
use crate::flow::timers::{Timer, Timers};
use crate::flow::types::{Account, AuthMethodKind, RequestId, Timestamp};
use crate::flow::RestoreError;
use crate::form::{FieldError, Form, Values};
use serde::Deserialize;

#[derive(Deserialize)]
struct V1 {
    #[serde(default)]
    config: FlowConfig,
    state: V1State,
    #[serde(default)]
    catalogue: Option<u64>,
    next_id: u64,
    #[serde(default)]
    counters: Counters,
    #[serde(default)]
    effects: Vec<V1Effect>,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct V1Session {
    id: String,
    #[serde(default)]
    expires_at: Option<Timestamp>,
    target: Target,
}

#[derive(Deserialize)]
enum V1State {
    LoadingInstitutions {
        request: Option<RequestId>,
        attempt: u8,
        #[serde(default)]
        retry_at: Option<Timestamp>,
    },
    ChoosingInstitution {
        #[serde(default)]
        notice: Option<Notice>,
    },
    CreatingSession {
        target: Target,
        request: RequestId,
        renewal: bool,
    },
    AwaitingCredentials {
        session: V1Session,
        form: Form,
        #[serde(default)]
        prefill: Vec<(String, String)>,
        #[serde(default)]
        errors: Vec<FieldError>,
        #[serde(default)]
        notice: Option<Notice>,
    },
    LoggingIn {
        session: V1Session,
        form: Form,
        #[serde(default)]
        prefill: Vec<(String, String)>,
        request: RequestId,
    },
    AwaitingInput {
        session: V1Session,
        form: Form,
        #[serde(default)]
        errors: Vec<FieldError>,
        #[serde(default)]
        notice: Option<Notice>,
    },
    AwaitingAccount {
        session: V1Session,
        accounts: Vec<Account>,
        #[serde(default)]
        notice: Option<Notice>,
    },
    Committing {
        session: V1Session,
        request: RequestId,
        origin: V1Origin,
    },
    Linked {
        code: String,
        expires_at: Timestamp,
        #[serde(default)]
        notice: Option<Notice>,
    },
    Exchanging {
        code: String,
        expires_at: Timestamp,
        request: RequestId,
    },
    Done {
        code: String,
        #[serde(default)]
        account_id: Option<String>,
    },
    Failed(Failure),
    Exited {
        page: PageName,
    },
}

#[derive(Deserialize)]
enum V1Origin {
    Input(Form),
    Account(Vec<Account>),
}

#[derive(Deserialize)]
struct V1Effect {
    id: RequestId,
    #[serde(flatten)]
    call: V1Call,
}

#[derive(Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
enum V1Call {
    ListInstitutions,
    CreateSession {
        institution: String,
        auth_method: AuthMethodKind,
    },
    Login {
        session: String,
        #[serde(with = "crate::form::reveal_values")]
        values: Values,
    },
    Commit {
        session: String,
        #[serde(with = "crate::form::reveal_values")]
        values: Values,
        account: Option<AccountChoice>,
    },
    ExchangeCode {
        code: String,
    },
}

pub(super) fn read(bytes: &[u8]) -> Result<Snapshot, RestoreError> {
    let old: V1 =
        serde_json::from_slice(bytes).map_err(|e| RestoreError::Malformed(e.to_string()))?;
    let mut timers = Timers::default();
    let mut session = |s: V1Session| {
        if let Some(at) = s.expires_at {
            timers.arm(Timer::SessionExpiry, at);
        }
        st::Session {
            id: s.id,
            target: s.target,
            continuation: None,
            saved_login: false,
        }
    };
    let state = match old.state {
        V1State::LoadingInstitutions {
            request,
            attempt,
            retry_at,
        } => {
            if let Some(at) = retry_at {
                timers.arm(Timer::ReadRetry, at);
            }
            State::LoadingInstitutions(st::LoadingInstitutions {
                request,
                attempt,
                notice: None,
            })
        }
        V1State::ChoosingInstitution { notice } => {
            State::ChoosingInstitution(st::ChoosingInstitution { notice })
        }
        V1State::CreatingSession {
            target,
            request,
            renewal,
        } => State::CreatingSession(st::CreatingSession {
            target,
            request,
            notice: renewal.then_some(Notice::SessionRenewed),
            prefill: Vec::new(),
        }),
        V1State::AwaitingCredentials {
            session: s,
            form,
            prefill,
            errors,
            notice,
        } => State::AwaitingCredentials(st::AwaitingCredentials {
            session: session(s),
            form,
            prefill,
            errors,
            notice,
        }),
        V1State::LoggingIn {
            session: s,
            form,
            prefill,
            request,
        } => State::LoggingIn(st::LoggingIn {
            session: session(s),
            form,
            prefill,
            request,
        }),
        V1State::AwaitingInput {
            session: s,
            form,
            errors,
            notice,
        } => State::AwaitingInput(st::AwaitingInput {
            session: session(s),
            form,
            errors,
            notice,
        }),
        V1State::AwaitingAccount {
            session: s,
            accounts,
            notice,
        } => State::AwaitingAccount(st::AwaitingAccount {
            session: session(s),
            accounts,
            notice,
        }),
        V1State::Committing {
            session: s,
            request,
            origin,
        } => State::Committing(st::Committing {
            session: session(s),
            request,
            origin: match origin {
                V1Origin::Input(form) => st::Origin::Input(form),
                V1Origin::Account(accounts) => st::Origin::Account(accounts),
            },
        }),
        V1State::Linked {
            code,
            expires_at,
            notice,
        } => {
            timers.arm(Timer::CodeExpiry, expires_at);
            State::Linked(st::HoldingCode { code, notice })
        }
        V1State::Exchanging {
            code,
            expires_at,
            request,
        } => {
            timers.arm(Timer::CodeExpiry, expires_at);
            State::Exchanging(st::Exchanging { code, request })
        }
        V1State::Done { code, account_id } => State::Done(st::Done {
            code: Some(code),
            account_id,
        }),
        V1State::Failed(failure) => State::Failed(failure),
        V1State::Exited { page } => State::Exited(st::Exited { page }),
    };
    let target = state.target().cloned();
    let effects = old
        .effects
        .into_iter()
        .map(|e| StoredEffect {
            id: e.id,
            call: upgrade_call(e.call, target.as_ref()),
        })
        .collect();
    Ok(Snapshot {
        v: SNAPSHOT_VERSION,
        config: old.config,
        state,
        catalogue: old.catalogue,
        next_id: old.next_id,
        counters: old.counters,
        timers,
        effects,
        events: old.events,
    })
}

/// A v1 login did not name its institution: it is the state's.
fn upgrade_call(call: V1Call, target: Option<&Target>) -> StoredCall {
    let session = |id: String| PartnerSession {
        id,
        continuation: None,
    };
    match call {
        V1Call::ListInstitutions => StoredCall::ListInstitutions,
        V1Call::CreateSession {
            institution,
            auth_method,
        } => StoredCall::CreateSession {
            institution,
            auth_method,
            customer: None,
        },
        V1Call::Login {
            session: id,
            values,
        } => StoredCall::Login {
            session: session(id),
            institution: target.map(|t| t.institution.id.clone()).unwrap_or_default(),
            auth_method: target
                .map(|t| t.auth_method.clone())
                .unwrap_or(AuthMethodKind::InternetBanking),
            values,
        },
        V1Call::Commit {
            session: id,
            values,
            account,
        } => StoredCall::Commit {
            session: session(id),
            values,
            account,
        },
        V1Call::ExchangeCode { code } => StoredCall::ExchangeCode { code },
    }
}
