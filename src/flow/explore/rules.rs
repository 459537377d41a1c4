//! The rules the core keeps (DESIGN.md, "Rules the core keeps"), as checks
//! of one step of a run: what the flow was, the input, and what it did.
//!
//! `check --cases` judges every step of its random runs with these, and the
//! crate's own property tests (`tests/properties/`) use the same tables
//! ([`view_fits`], [`calls_after_action`]) so the two cannot drift apart.

use super::letters::Letter;
use super::node::{Node, Observed, SECRET_TYPED};
use crate::flow::{ActionKind, Call, CallKind, EventKind, FormPurpose, StateKind, View};

/// Whether `view` is the one a flow in `kind` must show (rule 4): a working
/// screen while a call or a timer runs, the list, the right form, the
/// account picker, and the terminal screens for the terminal states.
pub fn view_fits(kind: StateKind, view: &View<'_>) -> bool {
    match kind {
        StateKind::LoadingInstitutions
        | StateKind::CreatingSession
        | StateKind::LoggingIn
        | StateKind::Committing
        | StateKind::Pending
        | StateKind::Exchanging => matches!(view, View::Working(_)),
        StateKind::ChoosingInstitution => matches!(view, View::ChooseInstitution { .. }),
        StateKind::AwaitingCredentials => {
            matches!(view, View::Form(f) if f.purpose == FormPurpose::Credentials)
        }
        StateKind::AwaitingInput => matches!(view, View::Form(f) if f.purpose == FormPurpose::Mfa),
        StateKind::AwaitingAccount => matches!(view, View::ChooseAccount { .. }),
        StateKind::Linked => matches!(view, View::Linked { .. }),
        StateKind::Done => matches!(view, View::Done { .. }),
        StateKind::Failed => matches!(view, View::Failed { .. }),
        StateKind::Exited => matches!(view, View::Exited { .. }),
    }
}

/// The only calls a person's accepted action may make (rule 2): a session
/// for a choice or a switch (a re-authorisation's, when the flow
/// re-authorises), a login or commit for a submit, a commit for an account,
/// the list again for Back, the exchange again for Retry.
pub fn calls_after_action(action: ActionKind) -> &'static [CallKind] {
    match action {
        ActionKind::ChooseInstitution | ActionKind::SwitchAuthMethod => {
            &[CallKind::CreateSession, CallKind::Reauthorise]
        }
        ActionKind::Submit => &[CallKind::Login, CallKind::Commit],
        ActionKind::ChooseAccount => &[CallKind::Commit],
        ActionKind::Back => &[CallKind::ListInstitutions],
        ActionKind::Retry => &[CallKind::ExchangeCode],
        _ => &[],
    }
}

/// The person's action a letter stands for, if it is one.
fn action_of(letter: &Letter) -> Option<ActionKind> {
    Some(match letter {
        Letter::Choose { .. } => ActionKind::ChooseInstitution,
        Letter::SubmitValid | Letter::SubmitInvalid => ActionKind::Submit,
        Letter::ChooseAccount => ActionKind::ChooseAccount,
        Letter::Switch(_) => ActionKind::SwitchAuthMethod,
        Letter::Back => ActionKind::Back,
        Letter::Retry => ActionKind::Retry,
        Letter::Exit => ActionKind::Exit,
        _ => return None,
    })
}

fn json(node: &Node) -> String {
    String::from_utf8_lossy(&node.flow.snapshot().to_json()).into_owned()
}

/// Rules 1–4 and 6 over one step from `before` to `after` through `letter`
/// (`seen`: what the step did, as the host saw it). The first broken rule,
/// named.
pub(super) fn judge(
    before: &Node,
    letter: &Letter,
    after: &Node,
    seen: &Observed,
) -> Option<String> {
    let h = &before.history;
    // Rule 1: a reply nobody waits for is refused and changes nothing.
    if *letter == Letter::Stale {
        if !after.refused {
            return Some("rule 1: a stale reply was applied".into());
        }
        if !seen.calls.is_empty() || !seen.events.is_empty() {
            return Some("rule 1: a stale reply made the flow act".into());
        }
        if json(before) != json(after) {
            return Some("rule 1: a stale reply changed the flow".into());
        }
    }
    // Rule 2: ids are new; login and commit only on the person's word.
    let mut max_id = h.max_id;
    for (id, _) in &seen.calls {
        if id.0 <= max_id {
            return Some(format!("rule 2: request id {id} issued again"));
        }
        max_id = id.0;
    }
    if seen.calls.len() > 1 {
        return Some(format!(
            "rule 2: one input, {} calls ({})",
            seen.calls.len(),
            seen.calls
                .iter()
                .map(|(_, c)| c.kind().name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (_, call) in &seen.calls {
        let kind = call.kind();
        match action_of(letter) {
            Some(action) if !calls_after_action(action).contains(&kind) => {
                return Some(format!(
                    "rule 2: {} made a {} call",
                    letter.label(),
                    kind.name()
                ));
            }
            None if matches!(kind, CallKind::Login | CallKind::Commit) => {
                return Some(format!(
                    "rule 2: {} re-sent on the flow's own after {}",
                    kind.name(),
                    letter.label()
                ));
            }
            _ => {}
        }
    }
    // Rule 3: one code; after it, only its exchange.
    let successes = seen
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Success { .. }))
        .count();
    if h.successes as usize + successes > 1 {
        return Some("rule 3: a second code was emitted".into());
    }
    if let Some(code) = &h.code {
        for (_, call) in &seen.calls {
            match call {
                Call::ExchangeCode { code: c } if c == code => {}
                other => {
                    return Some(format!(
                        "rule 3: {} call after the code",
                        other.kind().name()
                    ))
                }
            }
        }
    }
    // Rule 4: every state has its view; terminal states stay and wait for nothing.
    let kind = after.flow.state();
    let view = after.flow.view();
    if !view_fits(kind, &view) || kind.is_terminal() != view.is_terminal() {
        return Some(format!("rule 4: {kind:?} has no view of its own"));
    }
    if before.flow.state().is_terminal() && kind != before.flow.state() {
        return Some(format!(
            "rule 4: terminal {:?} became {kind:?}",
            before.flow.state()
        ));
    }
    if kind.is_terminal()
        && (after.flow.waiting_for().is_some() || after.flow.poll_timeout().is_some())
    {
        return Some(format!(
            "rule 4: terminal {kind:?} still waits for something"
        ));
    }
    // Rule 6: a secret already sent is not in the snapshot.
    let sending = seen
        .calls
        .iter()
        .any(|(_, c)| matches!(c, Call::Login { .. } | Call::Commit { .. }));
    if sending || (!h.sent.is_empty() && !seen.calls.is_empty()) {
        let snapshot = json(after);
        for secret in sent_now(seen).iter().chain(h.sent.iter()) {
            if snapshot.contains(&format!("\"{secret}\"")) {
                return Some("rule 6: the snapshot carries a secret already sent".into());
            }
        }
    }
    None
}

/// The secret values the step's login or commit sent.
fn sent_now(seen: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    for (_, call) in &seen.calls {
        if let Call::Login { values, .. } | Call::Commit { values, .. } = call {
            for (_, value) in values.iter() {
                let v = value.expose();
                if is_marker(v) {
                    out.push(v.to_owned());
                }
            }
        }
    }
    out
}

/// Whether `v` is what the explorer types into a secret field.
fn is_marker(v: &str) -> bool {
    v == SECRET_TYPED || (!v.is_empty() && v.bytes().all(|b| b == b'9'))
}

/// Carries what the rules remember past `seen` into `after`.
pub(super) fn remember(after: &mut Node, seen: &Observed) {
    let h = &mut after.history;
    for (id, _) in &seen.calls {
        h.max_id = h.max_id.max(id.0);
    }
    for e in &seen.events {
        if let EventKind::Success { code } = &e.kind {
            h.successes += 1;
            if code.is_some() {
                h.code.clone_from(code);
            }
        }
    }
    let sent = sent_now(seen);
    if !sent.is_empty() {
        let all = std::sync::Arc::make_mut(&mut h.sent);
        for s in sent {
            if !all.contains(&s) {
                all.push(s);
            }
        }
    }
}

/// What a host sees of a node, to compare a restored flow with the
/// original (rule 7).
pub(super) fn observe(node: &Node, seen: &Observed) -> String {
    format!(
        "{:?}\n{}\n{:?}\n{:?}\n{:?}\n{:?}",
        node.flow.state(),
        node.refused,
        seen.calls,
        seen.events,
        node.flow.view(),
        node.flow.poll_timeout()
    )
}
