//! A record's bytes: which format they are in, by their first byte.
//!
//! Formats: [`COMPACT_V1`] — the record in `compact/`'s binary form (what
//! this build writes); [`LZ4_V1`] — the record's JSON length (u32,
//! little-endian), then an LZ4 block of the JSON compressed against
//! [`DICTIONARY`] (written before the compact form, still read); `{` —
//! plain JSON, as every record was written before that (still read).
//!
//! A record outlives the build that wrote it (a session parked in Redis
//! across a deploy): a format, once written, stays readable by every later
//! build, and a change to one takes a new format byte. An earlier build
//! cannot read a later format (it reads as a broken record), so the
//! instances sharing a store are upgraded together.

use serde::de::{DeserializeOwned, Error as _};
use serde::Serialize;
use std::borrow::Cow;

/// Format byte: the record in `compact/`'s form.
const COMPACT_V1: u8 = 2;
/// Format byte: length + an LZ4 block compressed against [`DICTIONARY`].
const LZ4_V1: u8 = 1;
/// Representative records (USSD and link API, at each kind of state), as an
/// LZ4 external dictionary: what is in it costs a back-reference. Frozen
/// with [`LZ4_V1`].
const DICTIONARY: &[u8] = include_bytes!("dictionary.txt");
/// No record is written, read or decompressed past this: a corrupt or
/// hostile length is refused, not allocated (and what a compact record's
/// references repeat is held to it too: `compact/`).
pub(super) const MAX_RECORD: usize = 256 * 1024;

fn failed(what: impl std::fmt::Display) -> serde_json::Error {
    serde_json::Error::custom(format!("record {what}"))
}

/// Whether `bytes` are a record in the compact form (what this build writes).
/// Only the fuzzers ask (`testing`).
#[cfg(feature = "testing")]
pub(crate) fn is_compact(bytes: &[u8]) -> bool {
    bytes.first() == Some(&COMPACT_V1)
}

/// A compact record's body, past its format byte: `None` for an older
/// format, an error past the size cap.
fn compact_body(bytes: &[u8]) -> Option<Result<&[u8], serde_json::Error>> {
    match bytes {
        [COMPACT_V1, ..] if bytes.len() > MAX_RECORD => Some(Err(failed("is too large"))),
        [COMPACT_V1, record @ ..] => Some(Ok(record)),
        _ => None,
    }
}

/// `value` in the current record format.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let bytes = super::compact::to_vec(&[COMPACT_V1], value).map_err(failed)?;
    if bytes.len() > MAX_RECORD {
        return Err(failed("too large"));
    }
    Ok(bytes)
}

/// The record in `bytes`, in any format this build reads.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    match compact_body(bytes) {
        Some(record) => super::compact::from_slice(record?).map_err(failed),
        None => serde_json::from_slice(&json_of_older(bytes)?),
    }
}

/// The record in `bytes` as JSON, whatever its format.
pub(crate) fn to_json(bytes: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    match compact_body(bytes) {
        Some(record) => super::compact::to_json(record?).map_err(failed),
        None => Ok(json_of_older(bytes)?.into_owned()),
    }
}

/// The JSON inside a record written before the compact form.
fn json_of_older(bytes: &[u8]) -> Result<Cow<'_, [u8]>, serde_json::Error> {
    match bytes {
        [LZ4_V1, a, b, c, d, block @ ..] => {
            let len = u32::from_le_bytes([*a, *b, *c, *d]) as usize;
            if len > MAX_RECORD {
                return Err(failed("claims an impossible length"));
            }
            let json = lz4_flex::block::decompress_with_dict(block, len, DICTIONARY)
                .map_err(|_| failed("does not decompress"))?;
            if json.len() != len {
                return Err(failed("has the wrong length"));
            }
            Ok(Cow::Owned(json))
        }
        [LZ4_V1, ..] => Err(failed("is truncated")),
        // Plain JSON (the first format), or not a record at all:
        // serde_json says which.
        _ => Ok(Cow::Borrowed(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn record() -> Value {
        json!({"flow": {"v": 2, "state": {"ChoosingInstitution": {}}}, "partner": "mono",
               "reference": "ABC", "customer": {"id": "+2348000", "phone": "+2348000"}})
    }

    /// An LZ4_V1 record, as builds before the compact form wrote them.
    fn lz4_v1(json: &[u8]) -> Vec<u8> {
        let mut out = vec![LZ4_V1];
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&lz4_flex::block::compress_with_dict(json, DICTIONARY));
        out
    }

    #[test]
    fn a_record_is_written_compact_and_every_earlier_format_is_still_read() {
        let value = record();
        let json = serde_json::to_vec(&value).unwrap();
        let compact = encode(&value).unwrap();
        assert_eq!(compact[0], COMPACT_V1);
        // Names are a byte, the repeated phone a reference: under half
        // its JSON.
        assert!(compact.len() * 2 < json.len(), "{} bytes", compact.len());
        for bytes in [compact, lz4_v1(&json), json.clone()] {
            assert_eq!(decode::<Value>(&bytes).unwrap(), value);
            assert_eq!(to_json(&bytes).unwrap(), json);
        }
    }

    /// The dictionary is part of the stored format: one changed byte (a
    /// checkout that rewrites line ends, an editor's final newline) makes
    /// every stored record unreadable. A new dictionary needs a new format byte.
    #[test]
    fn the_dictionary_is_frozen() {
        let fnv = crate::flow::fnv1a(DICTIONARY.iter().copied());
        assert_eq!((DICTIONARY.len(), fnv), (1814, 0xe828a92d065cb5ee));
    }

    #[test]
    fn a_corrupt_or_oversized_record_is_an_error_not_a_panic() {
        assert!(decode::<Value>(&[LZ4_V1]).is_err());
        assert!(decode::<Value>(&[LZ4_V1, 9, 0, 0, 0, 0xff, 0xff]).is_err());
        // A length past the cap is refused before anything is allocated.
        assert!(decode::<Value>(&[LZ4_V1, 0xff, 0xff, 0xff, 0x7f, 0]).is_err());
        // A length that disagrees with the block.
        let mut old = lz4_v1(b"{\"a\":1}");
        old[1] += 1;
        assert!(decode::<Value>(&old).is_err());
        assert!(to_json(&old).is_err());
        // A compact record cut short, or with bytes after it.
        let compact = encode(&record()).unwrap();
        assert!(decode::<Value>(&compact[..compact.len() - 1]).is_err());
        assert!(decode::<Value>(&[&compact[..], &[0]].concat()).is_err());
        assert!(decode::<Value>(&[COMPACT_V1]).is_err());
        // Too large to store, or to read (a record that is whole but for
        // its size).
        assert!(encode(&"x".repeat(MAX_RECORD)).is_err());
        let fits = encode(&"x".repeat(MAX_RECORD - 16)).unwrap();
        assert!(decode::<String>(&fits).is_ok());
        let large = [
            &[COMPACT_V1][..],
            &super::super::compact::to_vec(&[], &"x".repeat(MAX_RECORD)).unwrap(),
        ]
        .concat();
        assert!(decode::<String>(&large).is_err());
        assert!(to_json(&large).is_err());
    }
}
