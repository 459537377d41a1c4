//! connectflow (docs written below once the layers exist)
#![warn(missing_docs)]

pub mod dialect;
pub mod flow;
pub mod form;
