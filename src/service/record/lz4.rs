//! LZ4 block compression against the record dictionary, its hash table
//! built once.
//!
//! Invariant: [`compress`] writes a valid LZ4 block that lz4_flex's
//! `decompress_with_dict(block, input.len(), dictionary)` turns back into
//! the input, byte for byte (property-tested below); the stored format is
//! lz4_flex's, which still decodes every record.
//!
//! Why not lz4_flex's own compressor: for every record it allocates a 16 KB
//! table, zeroes it and hashes the 1.8 KB dictionary into it again, which on
//! a 1 KB record cost more than the compression (a served bank choice spent
//! ~5 % of its CPU in the allocator's fresh-page path and the zeroing alone,
//! perf; callgrind: ~13,000 of a hop's 63,000 instructions). Here the
//! dictionary's table is built once and shared, and a record's own
//! positions go in a 2 KB table of its own (a copy of the shared 8 KB one
//! per record was still 1 % of a served bank choice).
//!
//! The block format (lz4's `lz4_Block_format.md`): sequences of a token
//! (literal length and match length − 4, a nibble each, 15 meaning "more
//! bytes follow"), the literals, a 2-byte little-endian offset back into
//! the dictionary-then-output, the rest of the match length; the last
//! sequence is literals only, the last 5 bytes are always literals and no
//! match starts in the last 12.

use std::sync::OnceLock;

const HASH_LOG: u32 = 12;
const TABLE_LEN: usize = 1 << HASH_LOG;
const MIN_MATCH: usize = 4;
/// The block's last bytes are literals (decoders copy them in bulk).
const LAST_LITERALS: usize = 5;
/// No match starts this close to the end.
const MF_LIMIT: usize = 12;
const MAX_OFFSET: usize = u16::MAX as usize;

/// Positions (in the dictionary followed by the input) by the hash of the
/// four bytes there. u16: only inputs that fit after the dictionary in 64
/// KiB are compressed here.
type Table = [u16; TABLE_LEN];
/// A record's own positions: records are about a kilobyte.
const OWN_LEN: usize = 1024;

fn hash(four: u32) -> usize {
    (four.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

fn four_at(bytes: &[u8], at: usize) -> Option<u32> {
    let four: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(four))
}

/// The dictionary's table, built on first use.
fn dictionary_table(dictionary: &'static [u8]) -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [0; TABLE_LEN];
        for at in 0..dictionary.len().saturating_sub(MIN_MATCH - 1) {
            if let Some(four) = four_at(dictionary, at) {
                // Fits: `compress` refuses dictionaries past 64 KiB.
                table[hash(four)] = at as u16;
            }
        }
        table
    })
}

/// `input` compressed against `dictionary` onto the end of `out`; `false`
/// (and `out` untouched) when the dictionary and the input together pass
/// 64 KiB, which this compressor does not do. One dictionary per process:
/// its table is built from the first one given.
pub(super) fn compress(input: &[u8], dictionary: &'static [u8], out: &mut Vec<u8>) -> bool {
    let dict_len = dictionary.len();
    if dict_len + input.len() > MAX_OFFSET {
        return false;
    }
    // The dictionary's positions are looked up in its shared table; the
    // input's go in a small one of this record's (2 KB to clear, where a
    // copy of the dictionary's 8 KB cost more than the rest of setup).
    let dict_table = dictionary_table(dictionary);
    let mut own: [u16; OWN_LEN] = [0; OWN_LEN];
    let mut anchor = 0;
    let mut i = 0;
    // A match ends before the last literals; none starts in the last 12.
    let match_end = input.len().saturating_sub(LAST_LITERALS);
    // Each probe costs a few instructions, and most positions of a record
    // are probed (its unique values are literals): one hash, one slot, a
    // four-byte compare per candidate (a third fewer instructions than
    // checking region bounds and offsets per probe, which the checks below
    // make impossible to break instead).
    while i + MF_LIMIT <= input.len() {
        let Some(four) = four_at(input, i) else { break };
        let h = hash(four);
        let slot = &mut own[h & (OWN_LEN - 1)];
        let mine = usize::from(*slot);
        *slot = (dict_len + i) as u16;
        // Nearer first (a shorter offset): this record's own earlier
        // position (0 is never one: positions start after the dictionary),
        // else the dictionary's. A candidate is where its four bytes are,
        // so it is before `i` and within 64 KiB (`compress` refuses more).
        // In the dictionary, a match stays in it (never runs on into the
        // input), so a decoder copies it from one place; in the input it may
        // overlap what it repeats (a run), as the format allows.
        let (region, from, base) = if mine != 0 && four_at(input, mine - dict_len) == Some(four) {
            (input, mine - dict_len, dict_len)
        } else {
            let d = usize::from(dict_table[h]);
            if four_at(dictionary, d) != Some(four) {
                i += 1;
                continue;
            }
            (dictionary, d, 0)
        };
        // Forward, eight bytes at a time: a record is mostly long matches.
        let len = MIN_MATCH
            + common_prefix(
                region.get(from + MIN_MATCH..).unwrap_or_default(),
                input.get(i + MIN_MATCH..match_end).unwrap_or_default(),
            );
        // Back over equal literals, within the candidate's region.
        let (mut start, mut back) = (i, from);
        while start > anchor && back > 0 && region.get(back - 1) == input.get(start - 1) {
            start -= 1;
            back -= 1;
        }
        let offset = (dict_len + i - (base + from)) as u16;
        sequence(
            out,
            &input[anchor..start],
            Some((offset, len + (i - start))),
        );
        i += len;
        anchor = i;
    }
    sequence(out, &input[anchor..], None);
    true
}

/// How many bytes `a` and `b` share from their start.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let (x, y) = (
            u64::from_le_bytes(x.try_into().unwrap_or_default()),
            u64::from_le_bytes(y.try_into().unwrap_or_default()),
        );
        if x != y {
            return n + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + a[n.min(a.len())..]
        .iter()
        .zip(&b[n.min(b.len())..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// One sequence: `literals`, then a match of `(offset, length)`, or none
/// for the block's last.
fn sequence(out: &mut Vec<u8>, literals: &[u8], matched: Option<(u16, usize)>) {
    let extra = matched.map_or(0, |(_, len)| len - MIN_MATCH);
    let token = (literals.len().min(15) << 4) | extra.min(15);
    out.push(token as u8);
    if literals.len() >= 15 {
        length(out, literals.len() - 15);
    }
    out.extend_from_slice(literals);
    if let Some((offset, _)) = matched {
        out.extend_from_slice(&offset.to_le_bytes());
        if extra >= 15 {
            length(out, extra - 15);
        }
    }
}

/// The rest of a length past its nibble: 255s, then what remains.
fn length(out: &mut Vec<u8>, mut rest: usize) {
    while rest >= 255 {
        out.push(255);
        rest -= 255;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DICTIONARY: &[u8] = include_bytes!("dictionary.txt");

    fn round_trip(input: &[u8]) -> Vec<u8> {
        let mut block = Vec::new();
        assert!(compress(input, DICTIONARY, &mut block));
        let back = lz4_flex::block::decompress_with_dict(&block, input.len(), DICTIONARY)
            .expect("a valid block");
        assert_eq!(back, input);
        block
    }

    /// Record-like input: pieces of the dictionary (so matches reach into
    /// it), runs, and arbitrary bytes, in any order.
    fn pieces() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            (0..DICTIONARY.len(), 0usize..80)
                .prop_map(|(at, n)| { DICTIONARY[at..(at + n).min(DICTIONARY.len())].to_vec() }),
            (any::<u8>(), 0usize..300).prop_map(|(b, n)| vec![b; n]),
            proptest::collection::vec(any::<u8>(), 0..40),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
    }

    proptest! {
        /// Whatever the input, lz4_flex decodes the block back to it
        /// exactly (the module's invariant).
        #[test]
        fn lz4_flex_decodes_every_block(input in pieces()) {
            round_trip(&input);
        }

        #[test]
        fn arbitrary_bytes_round_trip(input in proptest::collection::vec(any::<u8>(), 0..2000)) {
            round_trip(&input);
        }
    }

    #[test]
    fn short_inputs_and_the_edges_of_the_format() {
        for input in [&b""[..], b"a", b"abcdabcdabcd", b"abcdabcdabcdabcd"] {
            round_trip(input);
        }
        // Lengths that need extra bytes: literals and matches of 15, 270, 600.
        for n in [15, 19, 270, 600] {
            round_trip(&vec![b'x'; n]);
            let literals: Vec<u8> = (0..n).map(|k| (k * 7 % 251) as u8).collect();
            round_trip(&literals);
        }
    }

    /// As small as lz4_flex's own on a record, give or take a few bytes:
    /// the sealed-size budget (512 bytes on an OTP form) rides on it.
    #[test]
    fn a_record_compresses_as_well_as_with_lz4_flex() {
        let record = &DICTIONARY[100..1200];
        let ours = round_trip(record).len();
        let theirs = lz4_flex::block::compress_with_dict(record, DICTIONARY).len();
        assert!(ours <= theirs + theirs / 10, "{ours} vs {theirs}");
        assert!(ours < 60, "{ours} bytes for a record the dictionary holds");
    }

    #[test]
    fn too_large_is_refused_untouched() {
        let mut out = vec![7];
        assert!(!compress(&vec![0; 70_000], DICTIONARY, &mut out));
        assert_eq!(out, [7]);
    }
}
