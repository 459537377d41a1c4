//! The subcommands of the `connectflow` program.

pub mod graph;
pub mod link;
pub mod sandbox;
mod terminal;
pub mod ussd;
pub mod ussd_sim;

/// Any error that ends the program before a flow result exists.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
