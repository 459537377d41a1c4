//! The auth records on real databases — SQLite, and a throwaway PostgreSQL
//! cluster (required in CI) — through their store, Okra's `/v2/`
//! endpoints, the webhook outbox and the `connectflow serve` binary.
#![cfg(all(feature = "records", feature = "testing"))]

mod api;
#[cfg(feature = "cli")]
#[path = "../support/at_hop.rs"]
mod at_hop;
mod export;
mod kit;
mod outbox;
mod pagination;
mod partner_webhook;
#[cfg(feature = "cli")]
#[path = "../support/process.rs"]
mod process;
mod returning;
#[cfg(feature = "cli")]
mod serve_kill;
mod unlink;
