//! The flow's timers: a small named table instead of deadlines scattered
//! through the states.
//!
//! A timer is *armed* with a deadline when the thing it guards begins (a
//! partner session opens, a code arrives, a read fails, the partner says
//! "pending") and disarmed when that thing ends. It is *live* only in the
//! states where its firing means something ([`Timer::live_in`]); an armed
//! timer outside them waits (a session that expires while a login is in
//! flight is the partner's to report) and fires as soon as the flow is back
//! in a state where it is live. [`ConnectFlow::poll_timeout`] reports only
//! live timers, so a host never spins on a deadline nothing can act on.
//!
//! [`ConnectFlow::poll_timeout`]: super::ConnectFlow::poll_timeout

use super::state::StateKind;
use super::types::Timestamp;
use serde::{Deserialize, Serialize};

/// One of the flow's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Timer {
    /// Retry the institution list after a transient failure
    /// ([`retry_delay`](super::retry_delay)).
    ReadRetry,
    /// The partner forgets the session (`expiresAt`): renew it, or fail.
    SessionExpiry,
    /// Poll a step the partner said was pending.
    StatusPoll,
    /// Give up on a pending step.
    PendingDeadline,
    /// The code stops working before it was exchanged.
    CodeExpiry,
}

impl Timer {
    /// Every timer, in the order [`handle_timeout`](super::ConnectFlow::handle_timeout)
    /// fires those due at the same time.
    pub const ALL: [Timer; 5] = [
        Timer::ReadRetry,
        Timer::SessionExpiry,
        Timer::PendingDeadline,
        Timer::StatusPoll,
        Timer::CodeExpiry,
    ];

    /// The states in which this timer, when armed, can fire.
    ///
    /// | timer | live in |
    /// |---|---|
    /// | `ReadRetry` | LoadingInstitutions |
    /// | `SessionExpiry` | AwaitingCredentials, AwaitingInput, AwaitingAccount |
    /// | `StatusPoll`, `PendingDeadline` | Pending |
    /// | `CodeExpiry` | Linked |
    pub fn live_in(self, state: StateKind) -> bool {
        use StateKind as S;
        match self {
            Timer::ReadRetry => state == S::LoadingInstitutions,
            Timer::SessionExpiry => matches!(
                state,
                S::AwaitingCredentials | S::AwaitingInput | S::AwaitingAccount
            ),
            Timer::StatusPoll | Timer::PendingDeadline => state == S::Pending,
            Timer::CodeExpiry => state == S::Linked,
        }
    }

    fn slot(self) -> usize {
        match self {
            Timer::ReadRetry => 0,
            Timer::SessionExpiry => 1,
            Timer::PendingDeadline => 2,
            Timer::StatusPoll => 3,
            Timer::CodeExpiry => 4,
        }
    }
}

/// The armed timers and their deadlines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Timers([Option<Timestamp>; 5]);

impl Timers {
    pub(crate) fn arm(&mut self, timer: Timer, at: Timestamp) {
        self.0[timer.slot()] = Some(at);
    }

    pub(crate) fn disarm(&mut self, timer: Timer) {
        self.0[timer.slot()] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Timestamp> {
        self.0[timer.slot()]
    }

    pub(crate) fn clear(&mut self) {
        self.0 = [None; 5];
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// The earliest armed timer live in `state`.
    pub(crate) fn next(&self, state: StateKind) -> Option<(Timer, Timestamp)> {
        Timer::ALL
            .iter()
            .filter(|t| t.live_in(state))
            .filter_map(|t| self.get(*t).map(|at| (*t, at)))
            .min_by_key(|(_, at)| *at)
    }

    /// Armed timers as `(timer, deadline)` pairs, in [`Timer::ALL`] order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Timer, Timestamp)> + '_ {
        Timer::ALL
            .iter()
            .filter_map(|t| self.get(*t).map(|at| (*t, at)))
    }
}

// A map `{"session_expiry": 1700000600000}`, omitted when empty: the table
// is part of every snapshot and a parked flow must stay small.
impl Serialize for Timers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for (timer, at) in self.iter() {
            map.serialize_entry(&timer, &at)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Timers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = std::collections::BTreeMap::<Timer, Timestamp>::deserialize(d)?;
        let mut timers = Timers::default();
        for (timer, at) in entries {
            timers.arm(timer, at);
        }
        Ok(timers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_live_timers_are_next_and_the_table_round_trips() {
        let mut t = Timers::default();
        t.arm(Timer::SessionExpiry, Timestamp(10));
        t.arm(Timer::CodeExpiry, Timestamp(5));
        assert_eq!(
            t.next(StateKind::AwaitingInput),
            Some((Timer::SessionExpiry, Timestamp(10)))
        );
        assert_eq!(t.next(StateKind::LoggingIn), None);
        assert_eq!(
            t.next(StateKind::Linked),
            Some((Timer::CodeExpiry, Timestamp(5)))
        );
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"session_expiry":10,"code_expiry":5}"#);
        assert_eq!(serde_json::from_str::<Timers>(&json).unwrap(), t);
        t.disarm(Timer::CodeExpiry);
        t.disarm(Timer::SessionExpiry);
        assert!(t.is_empty());
    }
}
