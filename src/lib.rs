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
//! | flow | [`flow`] | **the sans-IO state machine** [`ConnectFlow`], in partner-neutral terms: no clock, no sockets, no threads |
//! | dialect | [`dialect`] | pure codecs: a [`flow::Call`] ⇄ an HTTP request/response, or a local answer (Mono v1/v2) |
//! | driver | `driver` | tokio + reqwest: makes a flow's calls through a dialect (feature `driver`) |
//! | store | `store` | versioned, compare-and-set session stores (memory, Redis), sealed at rest (features `store`, `redis`) |
//! | records | `records` | the ledger of linked accounts (Okra's Auth model) in SQLite or PostgreSQL, its webhook outbox and Okra's `/v2/` endpoints (feature `records`) |
//! | service | `service` | **one person's turn for any remote channel**: load, restore, drive, claim, save, deliver (feature `service`) |
//! | channel | `channel` | puts a person in front of a flow: the USSD channel (feature `ussd`), the JSON link API and its web page (feature `link`); the terminal one is in the command |
//! | sandbox | `sandbox` | an embedded partner server: a sans-IO bank behind a Mono wire front (feature `sandbox`) |
//! | admin | `admin` | the partner admin client: partner login, apps (create, list, update, delete, live) on unconfirmed paths; never part of a flow (feature `admin`) |
//! | testing | `testing` | the kit this crate's own tests use: fake clock, stub partner, fixtures (feature `testing`) |
//!
//! Everything below the line of the core sits behind cargo features, so the
//! core compiles with `--no-default-features` and pulls in no async runtime,
//! HTTP stack or database client.
//!
//! ## Where things are decided
//!
//! Each question has one file that answers it:
//!
//! | question | file |
//! |---|---|
//! | what a Mono `101` (or `99`, `102`, `400`) means | `src/dialect/mono/step.rs` |
//! | what a partner admin refusal means, and where its calls go (unconfirmed) | `src/dialect/mono/admin/` |
//! | what the flow does with a reply | `src/flow/machine/reply.rs` |
//! | when a deadline fires | `src/flow/timers.rs` |
//! | how a USSD hop's input is extracted | `src/channel/ussd/input.rs` |
//! | what a USSD hop's input means (menu, continue, resume) | `src/channel/ussd/hop.rs` |
//! | how a gateway's wire reads as a hop (one file per gateway; MTN Nigeria's connection, which we open, in `mtn_link.rs`) | `src/channel/ussd/gateway/` |
//! | how a partner call is claimed, and recovered after a crash | `src/service/claim.rs` (drawn there), `src/service/turn.rs` |
//! | what one turn of any remote channel does | `src/service/turn.rs` |
//! | whether a link API action applies, repeats or is stale (the seq rule) | `src/channel/link/turn.rs` |
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
//!         Call::CreateSession { .. } => Reply::SessionCreated(SessionInfo::new("s1")),
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
//! A real host also sleeps until [`ConnectFlow::poll_timeout`] and calls
//! [`ConnectFlow::handle_timeout`], and stores [`ConnectFlow::snapshot`]
//! between a person's turns — or lets the session service do all of it.

// No `unsafe` here, whatever a build's features (Cargo.toml's lint is
// `deny` only so that the command's allocator, outside the library, may).
#![forbid(unsafe_code)]

#[cfg(feature = "admin")]
pub mod admin;
#[cfg(any(feature = "ussd", feature = "link"))]
pub mod channel;
pub mod dialect;
#[cfg(feature = "driver")]
pub mod driver;
pub mod flow;
pub mod form;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "link")]
pub mod notify;
#[cfg(feature = "records")]
pub mod records;
#[cfg(feature = "sandbox")]
pub mod sandbox;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "store")]
pub mod store;
/// A kit for integration tests: fake clock, fixtures, stub partner, Redis, PostgreSQL (feature `testing`).
#[cfg(feature = "testing")]
pub mod testing;

pub use dialect::Dialect;
pub use flow::{
    Call, ConnectFlow, Effect, Event, Failure, FlowConfig, FlowError, Input, Reply, Snapshot, Step,
    Timestamp, UserAction, View,
};

/// Every Rust block of `README.md`, run as a doc test so the README cannot
/// drift from the API (`cargo test --doc`). Its `sh`, `json`, `js` and
/// `text` blocks are not Rust; the commands the README shows are run by the
/// tests that name them. Only when the test kit is built: some blocks use it.
#[cfg(all(doctest, feature = "testing"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
