//! The hop state machine: what a USSD hop's input means, given where the
//! session's handset conversation is. Pure: no store, no HTTP, no clock (the
//! claim's status is decided by the service from its clock and passed in).
//!
//! ```text
//!                 input (claim free)                      a call outlasts the hop's budget
//!   ┌──────────┐ ─────────────────────► menu / flow ───────────────────────────┐
//!   │   Menu   │                                                               ▼
//!   └──────────┘ ◄── any input: show the flow ── ┌──────────┐  settled   ┌──────────┐
//!        ▲                                        │ Continue │ ◄───────── │ Working  │ ◄─┐ any input while
//!        │ "1": continue / "2": start again       └──────────┘            └──────────┘ ──┘ the claim is live
//!   ┌─────────────┐                                                    claim recovered:
//!   │ ResumeOffer │ ◄── a re-dial finds an unfinished flow             show the flow
//!   └─────────────┘
//! ```
//!
//! - **Menu**: input goes to the menu ([`super::menu::on_input`]).
//! - **Working**: the handset was shown `Processing... 1. Continue`; a call is
//!   in flight. Input while the claim is live shows it again; once the call
//!   settles the session moves to **Continue**.
//! - **Continue**: the person's next input (whatever it is, normally `1`)
//!   only asks to see where the flow is now; it is never applied to a screen
//!   the person has not seen.
//! - **ResumeOffer**: `1. Continue` / `2. Start again` after a re-dial.

use crate::service::ClaimStatus;
use serde::{Deserialize, Serialize};

/// Where the handset conversation is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Hop {
    /// Showing a screen rendered from the flow.
    #[default]
    Menu,
    /// Showing `Processing... 1. Continue` while a call is in flight.
    Working,
    /// The call settled after `Processing` was shown: the next input
    /// continues.
    Continue,
    /// Showing `1. Continue / 2. Start again`.
    ResumeOffer,
}

/// What to do with one hop's input (its `Debug` withholds the input).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision<'a> {
    /// A call is still in flight: show `Processing` again, change nothing.
    StillWorking,
    /// Show where the flow is now (after its due timers).
    ShowFlow,
    /// Throw the flow away and start a new one.
    StartAgain,
    /// Not `1` or `2` at the resume offer.
    InvalidResume,
    /// Give this input to the menu.
    Menu(&'a str),
}

impl std::fmt::Debug for Decision<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decision::StillWorking => f.write_str("StillWorking"),
            Decision::ShowFlow => f.write_str("ShowFlow"),
            Decision::StartAgain => f.write_str("StartAgain"),
            Decision::InvalidResume => f.write_str("InvalidResume"),
            Decision::Menu(input) => f
                .debug_tuple("Menu")
                .field(&super::gateway::Withheld(input.len()))
                .finish(),
        }
    }
}

/// The decision for `input` at `hop`, and the hop state after it.
pub(crate) fn decide(hop: Hop, claim: ClaimStatus, input: &str) -> (Decision<'_>, Hop) {
    match (hop, claim) {
        (_, ClaimStatus::Live) => (Decision::StillWorking, Hop::Working),
        (Hop::ResumeOffer, _) => match input.trim() {
            "1" => (Decision::ShowFlow, Hop::Menu),
            "2" => (Decision::StartAgain, Hop::Menu),
            _ => (Decision::InvalidResume, Hop::ResumeOffer),
        },
        // The person was shown `Processing` (or the call's instance died
        // under it): the input only continues.
        (Hop::Working | Hop::Continue, _) | (_, ClaimStatus::Recovered) => {
            (Decision::ShowFlow, Hop::Menu)
        }
        (Hop::Menu, ClaimStatus::Free) => (Decision::Menu(input), Hop::Menu),
    }
}

/// The hop state once a call settles: `Continue` if the person was shown
/// `Processing`, else unchanged.
pub(crate) fn settled(hop: Hop) -> Hop {
    match hop {
        Hop::Working => Hop::Continue,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{CallKind, Timestamp};
    use crate::service::Claim;
    use std::time::Duration;

    const LEASE: Duration = Duration::from_secs(60);

    /// The claim status as the service decides it, from a clock reading.
    fn status(claim: Option<&Claim>, now: Timestamp) -> ClaimStatus {
        match claim {
            None => ClaimStatus::Free,
            Some(c) if c.is_expired(now, LEASE) => ClaimStatus::Recovered,
            Some(_) => ClaimStatus::Live,
        }
    }

    #[test]
    fn a_slow_call_shows_processing_until_it_settles_then_the_next_input_only_continues() {
        let claim = Claim::new(Timestamp(1_000), CallKind::Login);
        // The hop that made the call ran out of budget: the service marks it.
        let hop = Hop::Working;
        // The person presses 1 while the call is in flight (10 s later).
        let (d, hop) = decide(hop, status(Some(&claim), Timestamp(11_000)), "1");
        assert_eq!((d, hop), (Decision::StillWorking, Hop::Working));
        // The call settles in the background.
        let hop = settled(hop);
        assert_eq!(hop, Hop::Continue);
        // The next input ("1. Continue") shows the flow; it is not an answer.
        let (d, hop) = decide(hop, status(None, Timestamp(20_000)), "1");
        assert_eq!((d, hop), (Decision::ShowFlow, Hop::Menu));
        // From then on input goes to the menu.
        let (d, _) = decide(hop, ClaimStatus::Free, "2");
        assert_eq!(d, Decision::Menu("2"));
    }

    #[test]
    fn a_dead_instances_claim_is_recovered_after_its_lease_and_the_input_continues() {
        let claim = Claim::new(Timestamp(1_000), CallKind::Commit);
        assert_eq!(status(Some(&claim), Timestamp(60_999)), ClaimStatus::Live);
        let now = Timestamp(61_000);
        assert_eq!(status(Some(&claim), now), ClaimStatus::Recovered);
        // Even from Menu (the hop that claimed never marked Working), the
        // input after a recovery is not applied to the menu.
        let (d, hop) = decide(Hop::Menu, status(Some(&claim), now), "123456");
        assert_eq!((d, hop), (Decision::ShowFlow, Hop::Menu));
    }

    #[test]
    fn the_resume_offer_takes_only_one_or_two() {
        assert_eq!(
            decide(Hop::ResumeOffer, ClaimStatus::Free, " 1 "),
            (Decision::ShowFlow, Hop::Menu)
        );
        assert_eq!(
            decide(Hop::ResumeOffer, ClaimStatus::Recovered, "2"),
            (Decision::StartAgain, Hop::Menu)
        );
        assert_eq!(
            decide(Hop::ResumeOffer, ClaimStatus::Free, "3"),
            (Decision::InvalidResume, Hop::ResumeOffer)
        );
        // A settle does not disturb a menu or an offer.
        assert_eq!(settled(Hop::Menu), Hop::Menu);
        assert_eq!(settled(Hop::ResumeOffer), Hop::ResumeOffer);
    }
}
