//! The JSON link API over real loopback HTTP: every sandbox user linked with
//! the memory store and with Redis, actions exactly once per step, the seq
//! rule, tokens that grant nothing else, typed errors, secrets that never
//! come back, the event stream and the OpenAPI document.
#![cfg(all(
    feature = "link",
    feature = "testing",
    feature = "redis",
    feature = "cli"
))]

#[path = "../support/at_hop.rs"]
mod at_hop;
mod auth;
mod cors;
mod customer;
mod delivery;
mod errors;
mod events;
#[path = "../support/faulty_store.rs"]
mod faulty_store;
#[path = "../support/flaky_delivery.rs"]
mod flaky_delivery;
mod flinks;
mod flows;
mod handoff;
mod health;
mod once;
mod openapi;
mod page;
mod person;
#[path = "../support/process.rs"]
mod process;
mod processes;
mod reauth;
mod returning;
mod rig;
mod secrets;
