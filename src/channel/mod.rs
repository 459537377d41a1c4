//! Channels: put a person in front of a flow. Each does the same five steps
//! per turn: load the snapshot, handle the person's input, drive the flow
//! until it needs the person again, render the view, save the snapshot.
//!
//! - [`ussd`]: USSD menus behind Africa's Talking, Hubtel, ...
//! - the terminal channel lives in the `connectflow link` command.

pub mod ussd;
