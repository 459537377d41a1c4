//! The sandbox over real loopback HTTP: every route, every test user, every
//! auth method. Login steps are sent as the crate's own Mono dialect encodes
//! them and the replies decoded with it, so the sandbox and the dialect are
//! proven to agree.
#![cfg(feature = "sandbox")]

mod app;
mod auth_methods;
mod cap;
mod codes;
mod handle;
mod hostile;
mod keys;
mod login;
mod sessions;
mod whole_flow;
