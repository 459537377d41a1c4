//! # connectflow
//!
//! The bank-account *connect flow* — pick a bank, log in, answer any number of
//! MFA prompts and account pickers, get a code, exchange it for an account id —
//! without a vendor widget. It speaks the partners' own HTTP APIs (Mono's
//! Connect Partners API first) so the same flow can sit behind a custom
//! in-app screen, a terminal or a USSD menu, and be property-tested.
//!
//! ## Layers
//!
//! Data flows down; nothing lower calls up except by returning a value.
//!
//! | layer | module | does |
//! |---|---|---|
//! | form | [`form`] | the partner's `ui` descriptors, typed values, validation, [`form::Secret`] |
//! | flow | [`flow`] | **the sans-IO state machine** [`flow::ConnectFlow`]: no clock, no sockets, no threads |
//! | dialect | [`dialect`] | pure codecs: a [`flow::Call`] ⇄ an HTTP request/response (Mono v1/v2) |
//! | driver | `driver` | tokio + reqwest: runs a flow against a partner (feature `driver`) |
//! | store | `store` | versioned, compare-and-set session stores (memory, Redis), sealed at rest (features `store`, `redis`) |
//! | channel | `channel` | puts a person in front of a flow: the USSD channel (feature `ussd`); the terminal one is in the command |
//! | sandbox | `sandbox` | an embedded Mono-compatible partner server with scripted test users (feature `sandbox`) |
//!
//! Everything below the line of the core sits behind cargo features, so the
//! core compiles with `--no-default-features` and pulls in no async runtime,
//! HTTP stack or database client.
//!
//! ## The run loop
//!
//! A host feeds the flow what happened and does what it asks. Here the
//! "partner" is a closure; the driver does the same over HTTP.
//!
//! ```
//! use connectflow::flow::*;
//! use connectflow::form::Values;
//! use std::sync::Arc;
//!
//! let catalogue = Arc::new(explore::demo_catalogue());
//! let partner = |call: &Call| -> Result<Reply, CallError> {
//!     Ok(match call {
//!         Call::ListInstitutions => Reply::Institutions(catalogue.clone()),
//!         Call::CreateSession { .. } => Reply::SessionCreated(SessionInfo {
//!             id: "s1".into(), expires_at: None, form: None, institution: None }),
//!         Call::Login { .. } => Reply::Step(Step::code("code_1")),
//!         _ => Reply::Exchanged { account_id: "acc_1".into() },
//!     })
//! };
//!
//! let now = Timestamp(1_700_000_000_000);
//! let mut flow = ConnectFlow::new(FlowConfig::default(), now);
//! loop {
//!     // 1. Make every call the flow asks for and feed the replies back.
//!     while let Some(Effect::Call { id, call }) = flow.poll_effect() {
//!         flow.handle(now, Input::Api { id, result: partner(&call) })?;
//!     }
//!     // 2. Forward events (analytics, webhooks).
//!     while let Some(event) = flow.poll_event() {
//!         println!("{}", event.kind.name());
//!     }
//!     // 3. Show the view to the person and feed back what they do.
//!     let action = match flow.view() {
//!         View::ChooseInstitution { institutions, .. } => UserAction::ChooseInstitution {
//!             id: institutions[0].id.clone(), auth_method: None },
//!         View::Form(form) => UserAction::Submit(explore::sample_values(form.form)),
//!         View::ChooseAccount { .. } => UserAction::ChooseAccount(0),
//!         View::Done { account_id, .. } => {
//!             assert_eq!(account_id, Some("acc_1"));
//!             break;
//!         }
//!         other => panic!("unexpected view {other:?}"),
//!     };
//!     flow.handle(now, Input::User(action))?;
//! }
//! # Ok::<(), FlowError>(())
//! ```
//!
//! A real host also sleeps until [`flow::ConnectFlow::poll_timeout`] and calls
//! [`flow::ConnectFlow::handle_timeout`], and stores
//! [`flow::ConnectFlow::snapshot`] between a person's turns.

#[cfg(feature = "ussd")]
pub mod channel;
pub mod dialect;
#[cfg(feature = "driver")]
pub mod driver;
pub mod flow;
pub mod form;
#[cfg(feature = "sandbox")]
pub mod sandbox;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "store")]
pub mod store;
/// A kit for integration tests: fake clock, fixtures, stub partner, Redis (feature `testing`).
#[cfg(feature = "testing")]
pub mod testing;
