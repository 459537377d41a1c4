//! The sans-IO connect flow: [`ConnectFlow`] and everything that goes in and
//! out of it, in partner-neutral terms.
//!
//! No clock, no sockets, no threads: time is passed in as [`Timestamp`],
//! partner calls come out as [`Effect`]s carrying [`Call`]s and their replies
//! go back in as [`Input::Api`]. The shape follows quinn-proto's `Connection`.
//! What a partner's wire codes mean is decided in its
//! [dialect](crate::dialect), never here.
//!
//! Rules the flow keeps (each is a property test in `tests/properties/`):
//!
//! 1. A reply is applied only if its [`RequestId`] is the one the flow waits
//!    for; any other is refused with [`FlowError::UnexpectedReply`].
//! 2. Login and commit are never re-sent by the flow; only reads (the
//!    institution list, a status poll) are made again ([`retry_delay`]). A
//!    login goes only on the person's Submit, or once, as the saved login
//!    (a form that asks nothing) of a session the person started; a flow
//!    whose saved login would have to go again ends instead.
//! 3. A code is emitted at most once; after it the only call is the exchange.
//! 4. Every state has a [`View`]; Done, Failed and Exited are terminal.
//! 5. Every flow ends: calls are bounded by [`FlowConfig::max_calls`].
//! 6. Sent secrets are never in a [`Snapshot`], an event or an error.
//! 7. `snapshot` then `restore` gives a flow that behaves identically.

mod call;
mod config;
mod error;
mod event;
pub mod explore;
mod input;
mod machine;
mod notice;
mod reply;
mod retry;
mod snapshot;
mod state;
mod timers;
mod types;
#[cfg(feature = "service")]
pub(crate) use types::fnv1a;
mod view;

pub use call::{AccountChoice, Call, CallKind, Effect, PartnerSession};
pub use config::{FlowConfig, PartnerCustomer, Preselect};
pub use error::{Failure, FlowError};
pub use event::{ErrorType, Event, EventKind, PageName};
pub use input::{ActionKind, Input, UserAction};
pub use machine::ConnectFlow;
pub use notice::Notice;
pub use reply::{CallError, Continuation, Linked, Rejection, RejectionKind, Reply, Step};
pub use retry::{retry_delay, MAX_RETRY_AFTER_MS};
pub use snapshot::{RestoreError, Snapshot, SNAPSHOT_VERSION};
pub use state::StateKind;
pub use timers::Timer;
pub use types::{
    Account, AuthMethod, AuthMethodKind, Catalogue, Institution, InstitutionRef, RequestId,
    SessionInfo, Timestamp,
};
pub use view::{FormPurpose, FormView, View, Working};

use crate::form::{FieldKind, Form};

/// The `mfaType` reported with `SUBMIT_MFA`: `CAPTCHA`, `SELECTION`, `OTP` or
/// `QUESTION`, guessed from the form since partners do not say.
pub fn mfa_type(form: &Form) -> &'static str {
    if form.fields.iter().any(|f| f.kind == FieldKind::Captcha) {
        "CAPTCHA"
    } else if form.fields.iter().any(|f| f.kind == FieldKind::Choice) {
        "SELECTION"
    } else if form.fields.iter().any(|f| {
        let n = f.name.to_ascii_lowercase();
        n.contains("otp") || n.contains("token") || n.contains("code")
    }) {
        "OTP"
    } else {
        "QUESTION"
    }
}
