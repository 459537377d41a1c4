//! A record's compact binary form: the same data model as its JSON (what
//! serde sees is what it sees from JSON, so every attribute — flatten,
//! tagged enums, skipped fields — behaves as it does in JSON), without
//! JSON's cost. Where it differs, no record's types notice: a map key that
//! is not a string keeps its type (JSON quotes it, and reads it back from
//! the quotes), an `f32` is kept as the `f64` it widens to, and a 128-bit
//! integer past 64 bits is refused (JSON writes it; no record has one).
//!
//! Why: writing a session's JSON and compressing it was about 17,400 of
//! the 47,000 instructions of a USSD bank choice (callgrind): escaping
//! every string and key, then LZ4 finding again the names the JSON spelled
//! out.
//! Here a name is one byte, a small number one byte, a string its length
//! and its bytes, and nothing is compressed: a record is about two fifths
//! of its JSON (more than the JSON compressed against the old format's
//! dictionary, which held the sandbox bank's own screens; within the
//! 512-byte and 1 KiB budgets: `tests/ussd/size.rs`).
//!
//! Format: one value, a tag byte then its content.
//!
//! | tag | value |
//! |---|---|
//! | [`NULL`] | null (unit, `None`) |
//! | [`FALSE`], [`TRUE`] | a boolean |
//! | [`UINT`] + LEB128 | an unsigned integer |
//! | [`NINT`] + LEB128 of `-1 - n` | a negative integer |
//! | [`FLOAT`] + 8 bytes LE | a finite `f64` (JSON writes others as null; so do we) |
//! | [`STR`] + LEB128 length + UTF-8 | a string |
//! | [`SEQ`] values… [`END`] | a sequence |
//! | [`MAP`] (key value)… [`END`] | a map (a struct: its field names as keys) |
//! | [`REF`] + 1 byte `i` | the `i`th string written as [`STR`] so far, counting only those of at least [`MIN_REF_LEN`] bytes, the first [`MAX_REFS`] of them |
//! | [`SMALL`]`+n`, n < 53 | the unsigned integer `n` |
//! | [`NAME`]`+i` | the string `names::NAMES[i]` |
//!
//! Enums are written as JSON writes them: a unit variant as its name, any
//! other as a one-entry map from its name to its content.

mod de;
mod json;
mod names;
mod ser;

pub(super) use de::from_slice;
pub(super) use json::to_json;
pub(super) use ser::to_vec;

pub(super) const NULL: u8 = 0x00;
pub(super) const FALSE: u8 = 0x01;
pub(super) const TRUE: u8 = 0x02;
pub(super) const UINT: u8 = 0x03;
pub(super) const NINT: u8 = 0x04;
pub(super) const FLOAT: u8 = 0x05;
pub(super) const STR: u8 = 0x06;
pub(super) const SEQ: u8 = 0x07;
pub(super) const MAP: u8 = 0x08;
pub(super) const END: u8 = 0x09;
/// `REF, i`: a string the record holds already (see [`MAX_REFS`]).
pub(super) const REF: u8 = 0x0a;
/// `SMALL + n` is the integer `n`, for `n` below [`NAME`]` - SMALL`.
pub(super) const SMALL: u8 = 0x0b;
/// How many strings a record's [`REF`]s can point back to: the first
/// ones written (a record's repeated values — phone, reference, bank —
/// come early).
pub(super) const MAX_REFS: usize = 64;
/// Shorter strings are not worth a reference.
pub(super) const MIN_REF_LEN: usize = 4;
/// What a record's [`REF`]s may repeat, in bytes, all told: two bytes can
/// name a long string again, and a hostile record of many would otherwise
/// make a reader copy out far more than it holds. The writer writes a
/// string in full rather than pass it, so every record written is read.
pub(super) const MAX_REFERENCED: usize = super::codec::MAX_RECORD;
/// `NAME + i` is the `i`th listed name.
pub(super) const NAME: u8 = 0x40;

/// Why a record could not be written or read in this form.
#[derive(Debug, thiserror::Error)]
#[error("compact record: {0}")]
pub(crate) struct Error(String);

impl serde::ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl serde::de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

#[cfg(test)]
mod tests;
