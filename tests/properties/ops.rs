//! What a run is made of: the [`Op`]s a generated run applies one by one,
//! and the strategies for them and for the flow's config.

use connectflow::flow::*;
use proptest::prelude::*;

/// Runs are at most this many steps, to keep 2,000 cases fast in debug.
pub(crate) const MAX_STEPS: usize = 40;
/// Clock jumps for `Op::Advance`: around a session's five minutes and a
/// code's ten.
const ADVANCE_MS: [u64; 5] = [1_000, 60_000, 299_000, 301_000, 700_000];

/// One step of a run: an input, a reply, time, or a restore.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// What a host and a person moving forward would do now (the rule-5
    /// progress driver): answer the call in flight, else act on the screen.
    Act(u8),
    /// Choose an institution (maybe unknown) with a method (maybe not offered).
    Choose {
        inst: u8,
        method: Option<u8>,
    },
    /// Submit values built from the form on screen.
    SubmitValid,
    /// Submit values the form on screen refuses (five kinds).
    SubmitInvalid(u8),
    /// Pick the account at `index % 5` (lists have 1 or 3).
    ChooseAccount(u8),
    /// Switch to method `k % 5`.
    Switch(u8),
    Back,
    Retry,
    Exit,
    /// The partner answers the call in flight with a fitting reply.
    Answer(u8),
    /// The partner answers the call in flight with a reply for another call.
    WrongShape(u8),
    /// A reply with an old id (fitting the current call, or its own).
    Stale {
        pick: u8,
        fitting: bool,
    },
    /// The last applied reply, delivered again.
    Duplicate,
    /// A reply with an id the flow never issued.
    NeverIssued(u8),
    /// Let the next deadline pass and fire it.
    Timeout,
    /// Move the clock; maybe fire due timers.
    Advance {
        ms: u64,
        fire: bool,
    },
    /// Snapshot -> JSON -> restore, between steps.
    Restore,
}

/// An [`Op`] and whether to restore the flow before polling what it did.
#[derive(Debug, Clone)]
pub(crate) struct StepSpec {
    pub(crate) op: Op,
    /// Also snapshot -> JSON -> restore right after the input, before the
    /// effects and events it produced are polled.
    pub(crate) restore_mid: bool,
}

pub(crate) fn op_strategy(with_restore: bool) -> BoxedStrategy<Op> {
    let ops = prop_oneof![
        45 => any::<u8>().prop_map(Op::Act),
        8 => (any::<u8>(), proptest::option::of(any::<u8>()))
            .prop_map(|(inst, method)| Op::Choose { inst, method }),
        12 => Just(Op::SubmitValid),
        3 => any::<u8>().prop_map(Op::SubmitInvalid),
        5 => any::<u8>().prop_map(Op::ChooseAccount),
        3 => any::<u8>().prop_map(Op::Switch),
        3 => Just(Op::Back),
        3 => Just(Op::Retry),
        1 => Just(Op::Exit),
        10 => any::<u8>().prop_map(Op::Answer),
        1 => any::<u8>().prop_map(Op::WrongShape),
        3 => (any::<u8>(), any::<bool>()).prop_map(|(pick, fitting)| Op::Stale { pick, fitting }),
        2 => Just(Op::Duplicate),
        1 => any::<u8>().prop_map(Op::NeverIssued),
        4 => Just(Op::Timeout),
        2 => (prop::sample::select(ADVANCE_MS.to_vec()), any::<bool>())
            .prop_map(|(ms, fire)| Op::Advance { ms, fire }),
    ];
    if with_restore {
        prop_oneof![40 => ops, 1 => Just(Op::Restore)].boxed()
    } else {
        ops.boxed()
    }
}

pub(crate) fn steps_strategy() -> impl Strategy<Value = Vec<StepSpec>> {
    prop::collection::vec(
        (op_strategy(true), prop::bool::weighted(0.08))
            .prop_map(|(op, restore_mid)| StepSpec { op, restore_mid }),
        0..=MAX_STEPS,
    )
}

/// Default config a quarter of the time; otherwise every limit in 1..=4,
/// with or without the exchange, a reference, or a preselected institution
/// (known, known with a method, unknown, or re-authorising an account there).
pub(crate) fn config_strategy() -> impl Strategy<Value = FlowConfig> {
    (
        prop::bool::weighted(0.25),
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
        0u8..7,
        any::<bool>(),
        prop::sample::select(vec![100u64, 500]),
        prop::sample::select(vec![60_000u64, 600_000]),
    )
        .prop_map(
            |(default, limits, exchange, preselect, reference, backoff, lifetime)| {
                let mut c = FlowConfig::default();
                if !default {
                    let (login, mfa, rounds, sessions, renewals, transport, reads) = limits;
                    c.max_login_attempts = login;
                    c.max_mfa_attempts = mfa;
                    c.max_rounds = rounds;
                    c.max_sessions = sessions;
                    c.max_renewals = renewals;
                    c.max_transport_failures = transport;
                    c.max_read_retries = reads;
                    c.read_backoff_ms = backoff;
                    c.code_lifetime_ms = lifetime;
                    c.exchange_code = exchange;
                }
                if reference {
                    c = c.with_reference("ref-42");
                }
                match preselect {
                    0 => c.with_institution("demo-bank", None),
                    1 => c.with_institution("ussd-bank", Some(AuthMethodKind::Ussd)),
                    2 => c.with_institution("gone-bank", None),
                    // Every session a re-authorisation of a linked account.
                    3 => c.with_reauthorise("acct-1", "demo-bank", None),
                    _ => c,
                }
            },
        )
}
