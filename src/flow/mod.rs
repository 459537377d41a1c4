//! The sans-IO connect flow.
mod api;
mod types;

pub use api::*;
pub use types::*;
