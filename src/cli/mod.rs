//! The subcommands of the `connectflow` program.

pub(crate) mod check;
pub(crate) mod graph;
pub(crate) mod link;
pub(crate) mod link_api;
pub(crate) mod partner;
pub(crate) mod records;
pub(crate) mod replay;
pub(crate) mod sandbox;
pub(crate) mod serve;
mod terminal;
pub(crate) mod ussd_sim;

/// Any error that ends the program before a flow result exists.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
