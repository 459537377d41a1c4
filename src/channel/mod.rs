//! Channels: put a person in front of a flow. Each does the same five steps
//! per turn: load the snapshot, handle the person's input, drive the flow
//! until it needs the person again, render the view, save the snapshot.
//!
//! - [`ussd`]: USSD menus behind Africa's Talking, Hubtel, ...
//! - [`link`]: the JSON link API for custom in-app screens, and its
//!   reference web page.
//! - the terminal channel lives in the `connectflow link` command.

#[cfg(feature = "link")]
pub mod link;
#[cfg(feature = "ussd")]
pub mod ussd;
