//! A record's bytes: its JSON, compressed with a dictionary.
//!
//! Every hop writes the session record (and Redis sends it over the network
//! twice), and a parked session must fit in 512 bytes sealed. The JSON of a
//! session parked on an OTP form is about 1 KB, most of it field names and
//! values every record shares (`"state":{"AwaitingInput"`, `"contentType"`,
//! the bank's name); LZ4 with a dictionary of such records stores each of
//! them as a short back-reference, which brings it to about a third.
//!
//! Format (first byte): `{` — plain JSON, as every record was written before
//! this format (still read, never written); [`LZ4_V1`] — the JSON's length
//! (u32, little-endian), then an LZ4 block compressed against [`DICTIONARY`].
//! The dictionary is part of the format: changing one byte of it makes every
//! stored record unreadable, so a new dictionary takes a new format byte
//! and this one stays to read.

use serde::de::Error as _;
use std::borrow::Cow;

/// Format byte: length + an LZ4 block compressed against [`DICTIONARY`].
const LZ4_V1: u8 = 1;
/// Representative records (USSD and link API, at each kind of state), as an
/// LZ4 external dictionary: what is in it costs a back-reference. Frozen
/// with [`LZ4_V1`].
const DICTIONARY: &[u8] = include_bytes!("dictionary.txt");
/// No record decompresses past this: a corrupt or hostile length is
/// refused, not allocated.
const MAX_RECORD: usize = 256 * 1024;

fn failed(what: &str) -> serde_json::Error {
    serde_json::Error::custom(format!("record {what}"))
}

/// `json`, compressed into the current record format.
pub(crate) fn encode(json: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    let len = u32::try_from(json.len())
        .ok()
        .filter(|&n| n as usize <= MAX_RECORD)
        .ok_or_else(|| failed("too large"))?;
    // Compressed straight behind the header, by `lz4.rs` (the dictionary's
    // table built once); lz4_flex's own compressor for what that one does
    // not take (a record past 60 KiB). Records shrink to about a third.
    let mut out = Vec::with_capacity(5 + json.len() / 2 + 32);
    out.push(LZ4_V1);
    out.extend_from_slice(&len.to_le_bytes());
    if !super::lz4::compress(json, DICTIONARY, &mut out) {
        out.resize(5 + lz4_flex::block::get_maximum_output_size(json.len()), 0);
        let written = lz4_flex::block::compress_into_with_dict(json, &mut out[5..], DICTIONARY)
            .map_err(|_| failed("does not compress"))?;
        out.truncate(5 + written);
    }
    Ok(out)
}

/// The JSON inside a record of any format this build reads.
pub(crate) fn decode(bytes: &[u8]) -> Result<Cow<'_, [u8]>, serde_json::Error> {
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
        // Plain JSON (the format before this one), or not a record at all:
        // serde_json says which.
        _ => Ok(Cow::Borrowed(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_plain_json_is_still_read() {
        let json = br#"{"flow":{"v":2,"state":{"ChooseInstitution":{}}},"partner":"mono","reference":"ABC"}"#;
        let encoded = encode(json).unwrap();
        assert_eq!(encoded[0], LZ4_V1);
        assert!(encoded.len() < json.len(), "{} bytes", encoded.len());
        assert_eq!(decode(&encoded).unwrap().as_ref(), json);
        // Records written before the format byte are JSON, read as they are.
        assert_eq!(decode(json).unwrap().as_ref(), json);
    }

    /// The dictionary is part of the stored format: one changed byte (a
    /// checkout that rewrites line ends, an editor's final newline) makes
    /// every stored record unreadable. A new dictionary needs a new format byte.
    #[test]
    fn the_dictionary_is_frozen() {
        let fnv = DICTIONARY.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        assert_eq!((DICTIONARY.len(), fnv), (1814, 0xe828a92d065cb5ee));
    }

    #[test]
    fn a_corrupt_or_oversized_record_is_an_error_not_a_panic() {
        assert!(decode(&[LZ4_V1]).is_err());
        assert!(decode(&[LZ4_V1, 9, 0, 0, 0, 0xff, 0xff]).is_err());
        // A length past the cap is refused before anything is allocated.
        assert!(decode(&[LZ4_V1, 0xff, 0xff, 0xff, 0x7f, 0]).is_err());
        // A length that disagrees with the block.
        let mut encoded = encode(b"{\"a\":1}").unwrap();
        encoded[1] += 1;
        assert!(decode(&encoded).is_err());
        assert!(encode(&vec![b' '; MAX_RECORD + 1]).is_err());
        // Past what `lz4.rs` takes: lz4_flex's compressor, the same format.
        let large = vec![b'{'; 100_000];
        assert_eq!(
            decode(&encode(&large).unwrap()).unwrap().as_ref(),
            &large[..]
        );
    }
}
