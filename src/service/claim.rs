//! Claims: how a call that changes something at the partner is made at most
//! once, even across instances and crashes.
//!
//! ```text
//!   person's turn                 store record                 background task
//!   ─────────────                 ────────────                 ───────────────
//!   flow asks for Login ──claim──► claim {id, at, call}  (CAS)
//!                                                              ──► send Login (once)
//!   budget passes ──mark working─► channel: "working" (CAS, only if the claim is still ours)
//!                                                              ◄── reply; drive the rest
//!                                  claim cleared, flow saved ◄── settle (CAS, retried)
//!   a later turn sees no claim: the outcome is on screen
//!
//!   crash between claim and settle:
//!   a later turn sees the claim past its lease ──recover──► the flow is told the
//!   call timed out (it shows the screen it was sent from); never re-sent
//! ```
//!
//! A claim carries a random id, so a settle can tell its own claim from a
//! later one, and the time it was taken, against which the lease runs.

use crate::flow::{CallKind, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A partner call in flight, recorded before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Random, unique per claim.
    pub id: u64,
    /// When it was taken (the service's clock).
    pub at: Timestamp,
    /// What is in flight.
    pub call: CallKind,
}

impl Claim {
    /// A new claim for `call` at `at`.
    pub fn new(at: Timestamp, call: CallKind) -> Claim {
        Claim {
            id: random_u64(),
            at,
            call,
        }
    }

    /// True once `lease` has passed since the claim was taken: the instance
    /// that took it is presumed dead.
    pub fn is_expired(&self, now: Timestamp, lease: Duration) -> bool {
        let lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        now >= self.at.plus_ms(lease_ms)
    }
}

/// 64 random bits from the OS (through a v4 UUID): a claim id must differ
/// from every other claim of the same session, on any instance.
fn random_u64() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_expires_when_its_lease_has_passed_and_ids_differ() {
        let c = Claim::new(Timestamp(1_000), CallKind::Login);
        let lease = Duration::from_secs(60);
        assert!(!c.is_expired(Timestamp(60_999), lease));
        assert!(c.is_expired(Timestamp(61_000), lease));
        let ids: std::collections::HashSet<u64> = (0..100)
            .map(|_| Claim::new(Timestamp(0), CallKind::Login).id)
            .collect();
        assert_eq!(ids.len(), 100);
    }
}
