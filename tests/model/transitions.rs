//! The transitions: what can happen to a flow next (the partner answers,
//! time passes, the person acts), how each is weighted, and the random
//! configs runs start from.

use crate::reference::Model;
use connectflow::flow::*;
use proptest::prelude::*;

/// A transport or HTTP failure of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Timeout,
    Connect,
    Http500,
    Http400,
    Unauthorized,
    Malformed,
    RateLimited,
}

pub(crate) const FAULTS: [Fault; 7] = [
    Fault::Timeout,
    Fault::Connect,
    Fault::Http500,
    Fault::Http400,
    Fault::Unauthorized,
    Fault::Malformed,
    Fault::RateLimited,
];

impl Fault {
    /// Worth trying again later: timeouts, dropped connections, 5xx, 429.
    pub(crate) fn transient(self) -> bool {
        matches!(
            self,
            Fault::Timeout | Fault::Connect | Fault::Http500 | Fault::RateLimited
        )
    }

    pub(crate) fn error(self) -> CallError {
        match self {
            Fault::Timeout => CallError::Timeout,
            Fault::Connect => CallError::Connect("connection reset".into()),
            Fault::Http500 => CallError::Http {
                status: 500,
                message: "Internal error".into(),
            },
            Fault::Http400 => CallError::Http {
                status: 400,
                message: "Bad request".into(),
            },
            Fault::Unauthorized => CallError::Unauthorized("invalid key".into()),
            Fault::Malformed => CallError::Malformed("not JSON".into()),
            Fault::RateLimited => CallError::RateLimited {
                retry_after_ms: Some(1_000),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Transition {
    // The partner answers the call in flight.
    Institutions,
    Session {
        expires: bool,
        form: bool,
    },
    Code,
    Mfa,
    Accounts(usize),
    NoAccounts,
    RejectRetry,
    RejectFinal,
    RejectExpired,
    Exchanged,
    Fail(Fault),
    /// A successful reply meant for another kind of call.
    WrongShape,
    /// A reply with an id the flow is not waiting for.
    Stale,
    // Time.
    /// Jump to the (only) deadline and fire it.
    Deadline,
    /// `handle_timeout` with nothing due.
    Tick,
    // The person.
    Choose {
        inst: usize,
        method: Option<AuthMethodKind>,
    },
    ChooseUnknown,
    SubmitValid,
    SubmitInvalid,
    ChooseAccount(usize),
    Switch(AuthMethodKind),
    Back,
    Retry,
    Exit,
}

/// Every auth method, for choosing and switching (offered or not).
pub(crate) const METHODS: [AuthMethodKind; 4] = [
    AuthMethodKind::InternetBanking,
    AuthMethodKind::MobileBanking,
    AuthMethodKind::Manual,
    AuthMethodKind::Ussd,
];

/// Every transition the model accepts as an input now (refused ones
/// included: the real flow must refuse them), with a weight.
pub(crate) fn candidates(model: &Model) -> Vec<(u32, Transition)> {
    use Transition as T;
    let mut v: Vec<(u32, Transition)> = Vec::new();
    let stale = model.calls > u32::from(model.pending.is_some());
    if stale {
        v.push((1, T::Stale));
    }
    v.push((1, T::Tick));
    if model.kind.is_terminal() {
        v.extend([T::Exit, T::Back, T::Retry, T::SubmitValid].map(|t| (1, t)));
        return v;
    }
    v.push((1, T::Exit));
    match model.pending {
        Some(CallKind::ListInstitutions) => v.push((40, T::Institutions)),
        Some(CallKind::CreateSession) => {
            for expires in [true, false] {
                for form in [true, false] {
                    v.push((8, T::Session { expires, form }));
                }
            }
        }
        Some(CallKind::Login | CallKind::Commit) => {
            v.extend([
                (10, T::Code),
                (8, T::Mfa),
                (5, T::Accounts(1)),
                (5, T::Accounts(3)),
                (1, T::NoAccounts),
                (2, T::RejectRetry),
                (1, T::RejectFinal),
                (1, T::RejectExpired),
            ]);
        }
        Some(CallKind::ExchangeCode) => v.push((12, T::Exchanged)),
        _ => {}
    }
    if model.pending.is_some() {
        v.extend(FAULTS.map(|f| (1, T::Fail(f))));
        v.push((1, T::WrongShape));
    }
    if model.deadline() {
        v.push((3, T::Deadline));
    }
    match model.kind {
        StateKind::ChoosingInstitution => {
            for inst in 0..2 {
                v.push((8, T::Choose { inst, method: None }));
                v.extend(METHODS.map(|m| {
                    (
                        1,
                        T::Choose {
                            inst,
                            method: Some(m),
                        },
                    )
                }));
            }
            v.push((1, T::ChooseUnknown));
        }
        StateKind::AwaitingCredentials | StateKind::AwaitingInput => {
            v.extend([(30, T::SubmitValid), (1, T::SubmitInvalid)]);
        }
        StateKind::AwaitingAccount => v.extend((0..4).map(|i| (8, T::ChooseAccount(i)))),
        StateKind::Linked => v.push((10, T::Retry)),
        _ => {}
    }
    if model.person_state() {
        v.extend(METHODS.map(|m| (1, T::Switch(m))));
    }
    v.push((1, T::Back));
    // Refused where they do not apply: a submit, a pick or a retry on
    // the wrong screen.
    v.extend([(1, T::SubmitValid), (1, T::ChooseAccount(0)), (1, T::Retry)]);
    v
}

/// The next transition: one of the [`candidates`], by weight.
pub(crate) fn weighted(model: &Model) -> BoxedStrategy<Transition> {
    let weighted: Vec<Transition> = candidates(model)
        .into_iter()
        .flat_map(|(w, t)| std::iter::repeat_n(t, w as usize))
        .collect();
    prop::sample::select(weighted).boxed()
}

/// A random config: limits 1..=4, exchange on or off, maybe a preselected
/// institution (known, known with a method, or unknown).
pub(crate) fn config() -> BoxedStrategy<FlowConfig> {
    (
        (
            1u8..=4,
            1u8..=4,
            1u8..=4,
            1u8..=4,
            1u8..=4,
            1u8..=4,
            1u8..=4,
        ),
        prop::bool::weighted(0.8),
        0u8..6,
    )
        .prop_map(|(limits, exchange, preselect)| {
            let (login, mfa, rounds, sessions, renewals, transport, reads) = limits;
            let config = FlowConfig {
                max_login_attempts: login,
                max_mfa_attempts: mfa,
                max_rounds: rounds,
                max_sessions: sessions,
                max_renewals: renewals,
                max_transport_failures: transport,
                max_read_retries: reads,
                exchange_code: exchange,
                ..FlowConfig::default()
            };
            match preselect {
                0 => config.with_institution("demo-bank", None),
                1 => config.with_institution("ussd-bank", Some(AuthMethodKind::Manual)),
                2 => config.with_institution("ussd-bank", Some(AuthMethodKind::MobileBanking)),
                3 => config.with_institution("gone-bank", None),
                _ => config,
            }
        })
        .boxed()
}
