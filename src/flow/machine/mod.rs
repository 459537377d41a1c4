//! [`ConnectFlow`]: the state machine. This file is its public face; what it
//! does with a person's action is in `user.rs`, with a partner's reply in
//! `reply.rs`, and the transitions both share in `transitions.rs`.

mod reply;
#[cfg(test)]
mod tests;
mod transitions;
mod user;

use super::call::Effect;
use super::config::FlowConfig;
use super::error::FlowError;
use super::event::{Event, EventKind};
use super::input::Input;
use super::state::{LoadingInstitutions, State, StateKind};
use super::timers::{Timer, Timers};
use super::types::{AuthMethodKind, Catalogue, InstitutionRef, RequestId, Timestamp};
use super::view::View;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// Counters that bound a flow. Per flow, never reset, so Back and switch loops
/// cannot buy more attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Counters {
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) login_rejections: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) mfa_rejections: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) rounds: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) sessions: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) renewals: u8,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) transport_failures: u8,
    #[serde(skip_serializing_if = "is_zero16")]
    pub(crate) polls: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) code_emitted: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) preselect_tried: bool,
    /// A saved login was refused for needing the person (the partner's
    /// cache had no answer to its bank's question): the re-authorisation
    /// goes on live from the next choice of the bank, and only once.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) reauth_live: bool,
}

// Snapshots omit zero counters: a parked session must fit in 512 bytes.
fn is_zero(n: &u8) -> bool {
    *n == 0
}

fn is_zero16(n: &u16) -> bool {
    *n == 0
}

impl Counters {
    pub(crate) fn is_zero(&self) -> bool {
        *self == Counters::default()
    }
}

/// The whole connect flow as a plain value: no clock, no sockets, no threads,
/// no randomness. Shaped after quinn-proto's `Connection`.
///
/// # Driving it
///
/// Feed it what happened — [`handle`](Self::handle) for a person's action or
/// a call's reply, [`handle_timeout`](Self::handle_timeout) when a deadline
/// passes — always with the current time. After each, drain what it wants,
/// in this order:
///
/// 1. [`poll_effect`](Self::poll_effect) until `None`: the partner calls to
///    make. New effects appear only from `handle`, `handle_timeout` and
///    [`restore`](Self::restore); each is handed out exactly once. Make each
///    call and feed its reply back with `handle`. A person's Back or Exit
///    withdraws any call not yet polled that would change something at the
///    partner (login, commit, session, exchange): drain before handling the
///    next input, or such a call is never made.
/// 2. [`poll_event`](Self::poll_event) until `None`: what happened, in order
///    (Mono's public event names). New events appear only from `handle` and
///    `handle_timeout`.
/// 3. [`poll_timeout`](Self::poll_timeout): the earliest deadline that can
///    change something, or `None`. It changes whenever the state does; call
///    `handle_timeout` once it has passed (see [`Timer`] for the table).
/// 4. [`view`](Self::view): what the person must see or answer now. It
///    changes with the state.
///
/// Deadlines are never applied implicitly: when `poll_timeout` has passed,
/// call `handle_timeout` before handling a person's input, and show the new
/// view if the state changed. The driver and every channel in this crate do.
#[derive(Debug, Clone)]
pub struct ConnectFlow {
    pub(crate) config: FlowConfig,
    pub(crate) state: State,
    pub(crate) catalogue: Option<Arc<Catalogue>>,
    pub(crate) next_id: u64,
    pub(crate) counters: Counters,
    pub(crate) timers: Timers,
    pub(crate) effects: VecDeque<Effect>,
    pub(crate) events: VecDeque<Event>,
}

impl ConnectFlow {
    /// A new flow. It starts by asking for the institution list and emits `OPENED`.
    pub fn new(config: FlowConfig, now: Timestamp) -> Self {
        let mut flow = ConnectFlow {
            config,
            state: State::LoadingInstitutions(LoadingInstitutions::UNASKED),
            catalogue: None,
            next_id: 1,
            counters: Counters::default(),
            timers: Timers::default(),
            effects: VecDeque::new(),
            events: VecDeque::new(),
        };
        flow.emit(now, EventKind::Opened);
        flow.state = flow.load_institutions(0, None);
        flow
    }

    /// Applies one input. An `Err` means the caller asked for something
    /// impossible now, or delivered a reply nobody waits for (stale, repeated,
    /// never issued); the flow is then unchanged, except that invalid form
    /// values are recorded for the view.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Result<(), FlowError> {
        let result = match input {
            Input::User(action) => self.on_user(now, action),
            Input::Api { id, result } => {
                let waiting = self.state.waiting_for();
                if waiting != Some(id) {
                    return Err(FlowError::UnexpectedReply { id, waiting });
                }
                self.on_reply(now, result);
                Ok(())
            }
        };
        self.after_transition();
        result
    }

    /// Fires every live timer due at `now` (see [`Timer`]): a scheduled retry
    /// of the institution list, session expiry while the person is on a
    /// screen, a status poll or its deadline, code expiry.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        // Each firing disarms its timer and moves the state; the bound only
        // guards against a future timer that re-arms itself at `now`.
        for _ in 0..Timer::ALL.len() {
            match self.timers.next(self.state.kind()) {
                Some((timer, at)) if at <= now => {
                    self.timers.disarm(timer);
                    self.fire(now, timer);
                }
                _ => break,
            }
        }
        self.after_transition();
    }

    /// The next call to make, in order. Each is handed out exactly once.
    #[must_use = "an effect is a call the flow is waiting for"]
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline that can change something now, if any: call
    /// [`handle_timeout`](Self::handle_timeout) when it has passed.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_timer().map(|(_, at)| at)
    }

    /// The timer behind [`poll_timeout`](Self::poll_timeout).
    pub fn next_timer(&self) -> Option<(Timer, Timestamp)> {
        self.timers.next(self.state.kind())
    }

    /// What the person must see or answer now.
    pub fn view(&self) -> View<'_> {
        View::of(self)
    }

    /// The page the person is on, in Mono's names (what `EXIT` reports).
    pub fn page(&self) -> crate::flow::PageName {
        self.state.page()
    }

    /// Where the flow is.
    pub fn state(&self) -> StateKind {
        self.state.kind()
    }

    /// The request the flow waits for, if any: the one reply it will accept.
    pub fn waiting_for(&self) -> Option<RequestId> {
        self.state.waiting_for()
    }

    /// True once Done, Failed or Exited.
    pub fn is_finished(&self) -> bool {
        self.state.kind().is_terminal()
    }

    /// The config this flow runs with.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// The flow's reference (echoed on every event), when the host set one.
    pub fn reference(&self) -> Option<&str> {
        self.config.reference.as_deref()
    }

    /// The catalogue, once loaded.
    pub fn catalogue(&self) -> Option<&Arc<Catalogue>> {
        self.catalogue.as_ref()
    }

    /// The institution being linked, once one is chosen (until the link ends).
    pub fn institution(&self) -> Option<&InstitutionRef> {
        self.state.target().map(|t| &t.institution)
    }

    /// The auth method being used, once an institution is chosen.
    pub fn auth_method(&self) -> Option<&AuthMethodKind> {
        self.state.target().map(|t| &t.auth_method)
    }

    /// How long the chosen institution says a login or commit may take, in
    /// ms (Mono's `timeout`), from the catalogue.
    pub fn step_timeout_ms(&self) -> Option<u64> {
        let id = &self.state.target()?.institution.id;
        self.catalogue.as_deref()?.get(id)?.timeout_ms
    }

    /// Terminal states keep no timers: nothing can fire there, and a stored
    /// finished flow stays small.
    fn after_transition(&mut self) {
        if self.state.kind().is_terminal() {
            self.timers.clear();
        }
    }
}
