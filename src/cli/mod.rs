//! The subcommands of the `connectflow` program.

pub(crate) mod allocator;
pub(crate) mod apps;
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

/// A usage error found after parsing (an unknown --institution, a missing
/// --customer-*): the program exits with status 2, as for clap's own.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A [`UsageError`], boxed.
pub(crate) fn usage(message: impl Into<String>) -> BoxError {
    Box::new(UsageError(message.into()))
}
