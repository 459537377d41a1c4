//! Property tests of the rules the core keeps (DESIGN.md, "Rules the core
//! keeps"; `src/flow/mod.rs`), each a test below that states it in full:
//!
//! 1. A reply other than the one awaited is refused and changes nothing.
//! 2. Login and commit are never sent again on the flow's own; ids are never
//!    reused.
//! 3. At most one code per flow; after it the only call is its exchange.
//! 4. Every state has a view that fits it; terminal states stay terminal.
//! 5. Calls never exceed `max_calls()`, and a host that keeps going reaches
//!    Done, Failed or Exited.
//! 6. A secret the person typed never leaks into events, errors, `Debug`
//!    output, or a snapshot once it was sent.
//! 7. `snapshot` then `restore` gives a flow that behaves identically.
//!
//! A generated run is a list of [`Op`]s (`ops`) interpreted against the live
//! flow by a [`Harness`] (`harness`) that plays the host: it makes up partner
//! replies (`replies`, from the material in `partner`) that fit the call in
//! flight (or deliberately do not), types what a person would (`person`),
//! replays stale, duplicated and never-issued request ids, fires timers,
//! moves the clock, and round-trips the flow through `Snapshot` JSON,
//! mid-step or between steps. After every step it drains effects and events
//! and hands a [`Record`] of what happened to the rule under test.
//!
//! Case counts come from `ProptestConfig::default()`, so `PROPTEST_CASES`
//! is honoured.
#![cfg(feature = "testing")]

mod harness;
mod ops;
mod partner;
mod person;
mod progress;
mod record;
mod replies;
mod states;

use connectflow::flow::*;
use harness::*;
use ops::*;
use partner::*;
use progress::*;
use proptest::prelude::*;
use record::*;
use states::*;
use std::collections::HashSet;

fn proptest_config() -> ProptestConfig {
    // `default()` reads PROPTEST_CASES (and the other PROPTEST_* variables).
    ProptestConfig::default()
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Rule 1: a reply whose id is not the one `state().waiting_for()` returns
    /// (stale, duplicated, never issued, or after the flow ended) is refused
    /// with `FlowError::UnexpectedReply` and leaves the flow exactly as it was
    /// (snapshot JSON before and after are equal); the awaited reply is always
    /// accepted, and a reply is never awaited twice.
    #[test]
    fn rule1_unexpected_replies_are_refused_and_change_nothing(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        for spec in &steps {
            let rec = h.step(spec);
            if let Did::Reply { id, awaited, duplicate, result, .. } = &rec.did {
                prop_assert_eq!(*awaited, rec.waiting_before == Some(*id));
                if *duplicate {
                    prop_assert!(!awaited, "reply {} was awaited a second time", id);
                }
                if *awaited {
                    prop_assert!(result.is_ok(), "awaited reply {} refused: {:?}", id, result);
                } else {
                    prop_assert_eq!(
                        result,
                        &Err(FlowError::UnexpectedReply { id: *id, waiting: rec.waiting_before })
                    );
                    let (before, after) = rec.unchanged.as_ref().expect("watched");
                    prop_assert_eq!(before, after, "refused reply {} changed the flow", id);
                    prop_assert!(rec.effects.is_empty() && rec.events.is_empty());
                }
            }
        }
    }

    /// Rule 2: request ids are never reused, Login and Commit go out only as
    /// the direct result of the person's accepted `Submit` / `ChooseAccount`
    /// (one per action) or, for a Login, as the saved login of a session the
    /// person started (see `rule2_a_login_follows_the_person`), and nothing
    /// but the institution list is ever sent again on the flow's own after a
    /// failure: after a reply, a timer or a restore, the only calls are a
    /// list (retry), the exchange of a code just received, or a new session
    /// or re-authorisation (preselection, a session-expired rejection, a
    /// session timer in an Awaiting* state).
    #[test]
    fn rule2_writes_are_never_resent_on_their_own(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let preselect = config.institution.is_some();
        let mut h = Harness::new(config);
        let mut ids: HashSet<RequestId> = h.issued.iter().map(|(id, _)| *id).collect();
        for spec in &steps {
            let rec = h.step(spec);
            let kinds: Vec<CallKind> =
                rec.effects.iter().map(|e| effect_parts(e).1.kind()).collect();
            for effect in &rec.effects {
                let (id, _) = effect_parts(effect);
                prop_assert!(ids.insert(id), "request id {} emitted twice", id);
            }
            prop_assert!(kinds.len() <= 1, "one input, several calls: {:?}", kinds);
            let Some(kind) = kinds.first().copied() else { continue };
            match &rec.did {
                Did::User { action, result } => {
                    prop_assert!(result.is_ok(), "a refused {:?} emitted {:?}", action, kind);
                    // The library's table, shared with `check --cases`.
                    let allowed = explore::calls_after_action(*action);
                    prop_assert!(allowed.contains(&kind), "{:?} emitted {:?}", action, kind);
                }
                did => {
                    let reply = did.accepted_reply();
                    let ok = match kind {
                        // Reads: the list (on restore, Back, a retry timer)
                        // and a status poll (on its timer only).
                        CallKind::ListInstitutions => true,
                        CallKind::Poll => matches!(did, Did::Timer { fired: true })
                            && rec.kind_before == StateKind::Pending,
                        CallKind::ExchangeCode => {
                            matches!(reply, Some(Ok(Reply::Step(Step::Done(Linked::Code(_))))))
                        }
                        CallKind::Login => h.opens_a_saved_login(did),
                        CallKind::CreateSession | CallKind::Reauthorise => match (did, reply) {
                            (_, Some(Ok(Reply::Institutions(_)))) => preselect,
                            (_, Some(Ok(Reply::Step(Step::Rejected(r))))) => matches!(
                                r.kind,
                                RejectionKind::SessionExpired | RejectionKind::RestartLogin
                            ),
                            (Did::Timer { fired: true }, _) => is_person_state(rec.kind_before),
                            _ => false,
                        },
                        _ => false,
                    };
                    prop_assert!(ok, "{:?} was emitted after {:?} in {:?}", kind, did, rec.kind_before);
                }
            }
        }
    }

    /// Rule 2 (saved logins): a Login effect is emitted only (a) as the
    /// direct result of the person's accepted `Submit`, or (b) as the first,
    /// automatic login of a session the person started: its create or
    /// re-authorise call made for their choice of a bank or switch of
    /// method, or for the host's preselection as the list arrived, and
    /// answered with a login form that asks nothing (a login the partner
    /// keeps). A session the flow opened on its own (a restart, a renewal)
    /// never logs in by itself; nor does a timer, a restore, or any other
    /// reply. So a saved login is sent on the flow's own at most once per
    /// session the person started.
    ///
    /// Finding (review, 2026-12-04): a saved login the bank answered
    /// "restart" or "session expired" (or whose session timed out) was sent
    /// again in every new session the flow opened, with nobody pressing
    /// anything, until the attempt limit ended the flow with "your bank may
    /// have locked this login".
    #[test]
    fn rule2_a_login_follows_the_person(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        let mut automatic: HashSet<RequestId> = HashSet::new();
        for spec in &steps {
            let rec = h.step(spec);
            for effect in &rec.effects {
                if effect_parts(effect).1.kind() != CallKind::Login {
                    continue;
                }
                match &rec.did {
                    Did::User { action: ActionKind::Submit, result: Ok(()) } => {}
                    did @ Did::Reply { id, .. } => {
                        prop_assert!(
                            h.opens_a_saved_login(did),
                            "a login on the flow's own after {:?} in {:?}", did, rec.kind_before
                        );
                        prop_assert!(automatic.insert(*id), "a second saved login for session {}", id);
                    }
                    did => prop_assert!(false, "a login after {:?} in {:?}", did, rec.kind_before),
                }
            }
        }
    }

    /// Rule 3: at most one `Success` per flow, only as the direct result of a
    /// `99`/code reply and carrying that code; from then on the only call the
    /// flow ever makes is `ExchangeCode` of that same code, and it never again
    /// waits for a login or commit.
    #[test]
    fn rule3_one_code_then_only_the_exchange(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        let mut code: Option<String> = None;
        for spec in &steps {
            let rec = h.step(spec);
            for event in &rec.events {
                if let EventKind::Success { code: Some(c) } = &event.kind {
                    prop_assert!(code.is_none(), "a second Success: {} after {:?}", c, code);
                    let replied = match rec.did.accepted_reply() {
                        Some(Ok(Reply::Step(Step::Done(Linked::Code(code))))) => Some(code),
                        _ => None,
                    };
                    prop_assert_eq!(replied, Some(c), "Success after {:?}", rec.did);
                    code = Some(c.clone());
                }
            }
            if let Some(code) = &code {
                for effect in &rec.effects {
                    match effect_parts(effect).1 {
                        Call::ExchangeCode { code: c } => prop_assert_eq!(c, code),
                        other => prop_assert!(false, "{:?} after the code", other),
                    }
                }
                prop_assert!(matches!(
                    h.flow.state(),
                    StateKind::Exchanging | StateKind::Linked | StateKind::Done
                        | StateKind::Failed | StateKind::Exited
                ), "{:?} after the code", h.flow.state());
            }
        }
    }

    /// Rule 4: every state has a view that fits it, and `view()` never
    /// panics; terminal kinds are exactly terminal views; once Done, Failed or
    /// Exited, every input is refused (user: `Finished`, reply:
    /// `UnexpectedReply`), timers and restores change nothing, and the state
    /// stays identical.
    #[test]
    fn rule4_views_fit_and_terminal_states_stay(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        for spec in &steps {
            let rec = h.step(spec);
            let kind = h.flow.state();
            let view = h.flow.view();
            let _ = format!("{view:?}");
            prop_assert_eq!(kind.is_terminal(), view.is_terminal(), "{:?} vs {:?}", kind, view);
            prop_assert_eq!(kind.is_terminal(), h.flow.is_finished());
            prop_assert!(view_fits(kind, &view), "{:?} shown as {:?}", kind, view);
            if view.needs_person() {
                prop_assert!(h.flow.waiting_for().is_none(), "{:?} waits for a call", kind);
            }
            if matches!(view, View::Working(_)) {
                prop_assert!(
                    h.flow.waiting_for().is_some() || h.flow.poll_timeout().is_some(),
                    "{:?} works on nothing", kind
                );
            }
            if kind.is_terminal() {
                prop_assert!(h.flow.waiting_for().is_none());
                prop_assert_eq!(h.flow.poll_timeout(), None);
            }
            if rec.kind_before.is_terminal() {
                match &rec.did {
                    Did::User { result, .. } => {
                        prop_assert_eq!(result, &Err(FlowError::Finished(rec.kind_before)));
                    }
                    Did::Reply { result, .. } => prop_assert!(
                        matches!(result, Err(FlowError::UnexpectedReply { waiting: None, .. })),
                        "{:?}", result
                    ),
                    _ => {}
                }
                let (before, after) = rec.unchanged.as_ref().expect("watched");
                prop_assert_eq!(before, after, "{:?} changed a finished flow", spec.op);
                prop_assert_eq!(kind, rec.kind_before);
                prop_assert!(rec.effects.is_empty() && rec.events.is_empty());
            }
        }
    }

    /// Rule 5 (calls): whatever the person, the partner and the clock do, the
    /// number of effects a flow emits never exceeds `config.max_calls()`.
    #[test]
    fn rule5_calls_never_exceed_max_calls(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let max = config.max_calls();
        let mut h = Harness::new(config);
        prop_assert!(h.calls <= max);
        for spec in &steps {
            h.step(spec);
            prop_assert!(h.calls <= max, "{} calls, max_calls() = {}", h.calls, max);
        }
    }

    /// Rule 5 (ending): a host that always answers the call in flight (with
    /// random outcomes, or a hostile partner's that never link nor refuse
    /// for good) and a person who always does something the screen offers
    /// reach Done, Failed or Exited within `3 * max_calls() + 2` accepted
    /// inputs (each input either answers a call, makes one, is a Back that
    /// the next call follows, or ends the flow), never exceeding
    /// `max_calls()` calls.
    #[test]
    fn rule5_every_flow_ends(
        config in config_strategy(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
        hostile in any::<bool>(),
    ) {
        let max = config.max_calls();
        let bound = 3 * max + 2;
        let mut h = Harness::new(config);
        h.hostile = hostile;
        let mut steps = 0u64;
        while let Some(op) = progress_op(&mut h, choices[steps as usize % choices.len()]) {
            prop_assert!(steps < bound, "still {:?} after {} inputs (bound {})",
                h.flow.state(), steps, bound);
            let rec = h.step(&StepSpec { op: op.clone(), restore_mid: false });
            steps += 1;
            match &rec.did {
                Did::User { result, .. } => prop_assert!(result.is_ok(), "{:?}: {:?}", op, result),
                Did::Reply { awaited, result, .. } => prop_assert!(*awaited && result.is_ok()),
                Did::Timer { fired } => prop_assert!(*fired, "{:?} fired nothing", op),
                other => prop_assert!(false, "{:?}", other),
            }
            prop_assert!(h.calls <= max, "{} calls, max_calls() = {}", h.calls, max);
        }
        prop_assert!(h.flow.is_finished(), "stuck in {:?} (view {:?})",
            h.flow.state(), h.flow.view());
    }

    /// Rule 6: no secret the person typed (markers in password, PIN, OTP and
    /// answer fields, valid or not) ever appears in an event's JSON, a
    /// `FlowError`'s Display or Debug, the flow's or an effect's or a view's
    /// Debug, or a snapshot taken once the effects are polled. (A snapshot
    /// taken before the Login/Commit effect is polled must carry the unsent
    /// values, so that a restored flow can still send them.)
    #[test]
    fn rule6_typed_secrets_never_leak(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        h.keep_pre_drain = true;
        for spec in &steps {
            let rec = h.step(spec);
            let mut outputs: Vec<(&str, String)> = Vec::new();
            for event in &rec.events {
                outputs.push(("event", serde_json::to_string(event).expect("event JSON")));
            }
            if let Some(e) = rec.did.error() {
                outputs.push(("error Display", e.to_string()));
                outputs.push(("error Debug", format!("{e:?}")));
            }
            for effect in &rec.effects {
                outputs.push(("effect Debug", format!("{effect:?}")));
            }
            outputs.push(("flow Debug", format!("{:?}", h.flow)));
            outputs.push(("view Debug", format!("{:?}", h.flow.view())));
            outputs.push(("snapshot", json(&h.flow)));
            for (what, text) in &outputs {
                prop_assert!(find_marker(text).is_none(),
                    "secret {:?} in {}: {}", find_marker(text), what, text);
            }
            // The markers do go out, in the call itself, and sit in the
            // snapshot until the call is polled: the detector above works.
            for effect in &rec.effects {
                if let Call::Login { values, .. } | Call::Commit { values, .. } = effect_parts(effect).1 {
                    for (name, value) in values.iter() {
                        if name == "password" || name == "otp" || name == "answer" {
                            prop_assert!(find_marker(value.expose()).is_some(), "{}", name);
                            let pre = rec.pre_drain.as_deref().unwrap_or("");
                            prop_assert!(pre.contains(value.expose()),
                                "unsent {} missing from the snapshot", name);
                        }
                    }
                }
            }
        }
    }

    /// Rule 7: snapshot -> JSON -> restore, at any points (between steps or
    /// right after an input, before its effects are polled), gives a flow
    /// that behaves identically: step by step the same state kind, effects,
    /// events, view, result and deadline as the flow never restored, and the
    /// same final snapshot; and `from_json(to_json(s)) == s` every time.
    #[test]
    fn rule7_restore_behaves_identically(
        config in config_strategy(),
        steps in prop::collection::vec(
            (op_strategy(false), prop::bool::weighted(0.15), prop::bool::weighted(0.1)),
            0..=MAX_STEPS,
        ),
    ) {
        let mut plain = Harness::new(config.clone());
        let mut restored = Harness::new(config);
        for (i, (op, restore_before, restore_mid)) in steps.iter().enumerate() {
            if *restore_before {
                restored.restore();
            }
            let a = plain.step(&StepSpec { op: op.clone(), restore_mid: false });
            let b = restored.step(&StepSpec { op: op.clone(), restore_mid: *restore_mid });
            let observe = |h: &Harness, r: &Record| {
                format!(
                    "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
                    h.flow.state(),
                    r.did,
                    r.effects,
                    r.events,
                    h.flow.view(),
                    h.flow.poll_timeout()
                )
            };
            prop_assert_eq!(observe(&plain, &a), observe(&restored, &b), "step {}: {:?}", i, op);
        }
        prop_assert_eq!(json(&plain.flow), json(&restored.flow));
        prop_assert_eq!(format!("{:?}", plain.flow), format!("{:?}", restored.flow));
    }
}

/// The generators are worth their cases: over 400 deterministic runs every
/// state kind is reached, and each situation a rule is about occurs many
/// times (stale, duplicated and never-issued replies, inputs after the end,
/// codes, secrets sent, saved logins and re-authorisations, restores
/// mid-step); the progress driver of rule 5 ends in each terminal state.
#[test]
fn generated_runs_cover_every_state_and_situation() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::{BTreeMap, BTreeSet};

    let mut runner = TestRunner::deterministic();
    let strategy = (config_strategy(), steps_strategy());
    let mut seen = BTreeSet::new();
    let mut count: BTreeMap<&str, u32> = BTreeMap::new();
    for _ in 0..400 {
        let (config, steps) = strategy.new_tree(&mut runner).unwrap().current();
        let mut h = Harness::new(config);
        for spec in &steps {
            let rec = h.step(spec);
            seen.insert(h.flow.state());
            let mut bump = |k| *count.entry(k).or_default() += 1;
            match &rec.did {
                Did::Reply {
                    awaited: false,
                    duplicate: true,
                    ..
                } => bump("duplicate refused"),
                Did::Reply { awaited: false, .. } if rec.kind_before.is_terminal() => {
                    bump("reply after the end")
                }
                Did::Reply { awaited: false, .. } => bump("misdirected reply"),
                Did::User { .. } if rec.kind_before.is_terminal() => bump("user after the end"),
                Did::User { result: Err(_), .. } => bump("user refused"),
                Did::Timer { fired: true } => bump("timer fired"),
                _ => {}
            }
            if spec.restore_mid && !rec.effects.is_empty() {
                bump("restore before polling");
            }
            for event in &rec.events {
                if matches!(event.kind, EventKind::Success { .. }) {
                    bump("success");
                }
            }
            for effect in &rec.effects {
                match effect_parts(effect).1 {
                    Call::Login { .. } if matches!(rec.did, Did::Reply { .. }) => {
                        bump("saved login sent")
                    }
                    Call::Reauthorise { .. } => bump("re-authorisation opened"),
                    Call::Login { .. } => bump("login sent"),
                    Call::Commit { .. } => bump("commit sent"),
                    Call::ExchangeCode { .. } => bump("exchange sent"),
                    _ => {}
                }
            }
        }
    }
    println!("{seen:?}\n{count:#?}");
    assert_eq!(seen.len(), StateKind::ALL.len(), "reached only {seen:?}");
    for what in [
        "duplicate refused",
        "reply after the end",
        "misdirected reply",
        "user after the end",
        "user refused",
        "timer fired",
        "restore before polling",
        "success",
        "login sent",
        "saved login sent",
        "re-authorisation opened",
        "commit sent",
        "exchange sent",
    ] {
        let n = count.get(what).copied().unwrap_or(0);
        assert!(n >= 20, "only {n} runs with {what}: {count:#?}");
    }

    let mut ends = BTreeMap::new();
    for _ in 0..400 {
        let (config, choices) = (config_strategy(), prop::collection::vec(any::<u8>(), 1..64))
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut h = Harness::new(config);
        let mut i = 0;
        while let Some(op) = progress_op(&mut h, choices[i % choices.len()]) {
            h.step(&StepSpec {
                op,
                restore_mid: false,
            });
            i += 1;
            if i > 2_000 {
                break;
            }
        }
        *ends.entry(h.flow.state()).or_insert(0u32) += 1;
    }
    println!("progress driver ends: {ends:?}");
    for kind in [StateKind::Done, StateKind::Failed, StateKind::Exited] {
        assert!(ends.get(&kind).copied().unwrap_or(0) >= 20, "{ends:?}");
    }
}
