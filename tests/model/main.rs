//! Reference-model test (proptest-state-machine).
//!
//! **Invariant:** after every transition — a partner reply of every outcome,
//! a stale reply, a deadline, every person action, refused ones included —
//! the real `ConnectFlow` is where a much simpler, independent model says it
//! must be: the same state kind, the same call emitted (0 or 1 effects, and
//! which call), waiting for a reply exactly when the model is, a deadline
//! exactly when the model has one, and refusing exactly the inputs the model
//! refuses.
//!
//! * [`reference`]: the model, over abstract state only (state kind, the
//!   call in flight, the counters the config bounds), written from
//!   DESIGN.md's lifecycle and the documented behaviour of `ConnectFlow`.
//! * [`transitions`]: what can happen next and how likely, and the random
//!   configs a run starts from.
//! * [`sut`]: the real flow, driven by the same transitions, checked after
//!   each.
//!
//! Case counts come from `ProptestConfig::default()`, so `PROPTEST_CASES`
//! is honoured.
#![cfg(feature = "testing")]

mod reference;
mod sut;
mod transitions;

use proptest::prelude::*;
use proptest_state_machine::prop_state_machine;
use sut::FlowTest;

prop_state_machine! {
    #![proptest_config(ProptestConfig::default())]

    /// The real flow follows the reference model: after every transition
    /// (replies of every outcome, stale replies, deadlines, every person
    /// action, refused ones included) its state kind, the call it made, the
    /// call it waits for and its deadline are the model's, and it refuses
    /// exactly what the model refuses.
    #[test]
    fn flow_follows_the_reference_model(sequential 1..40 => FlowTest);
}
