//! The Flinks dialect: every response shape and FlinksCode of
//! `reference/flinks.md`, every encoding, and no panic on any bytes.

mod bounds;
mod calls;
mod cards;
mod codes;
mod garbage;
mod rig;
mod steps;
