//! `application/x-www-form-urlencoded` pairs, as `form_urlencoded::parse`
//! reads them, with less work per pair.
//!
//! Invariant: [`pairs`] yields exactly what `form_urlencoded::parse` yields
//! for any input (a property test below holds it to that). It differs only in
//! cost: a component with no `%` or `+` is checked as UTF-8 and borrowed in
//! one scan, where the general path scanned it for each kind of escape and
//! again for UTF-8. Every USSD hop is decoded here, and decoding was two
//! fifths of a first hop's work in the channel (issue 13's callgrind profile).

use std::borrow::Cow;

/// The name/value pairs of `input`: split on `&` (empty pieces skipped),
/// then at the first `=` (none: an empty value), each side decoded.
pub(crate) fn pairs(input: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    Pieces { input, at: 0 }.map(|piece| (piece.name(), piece.value()))
}

/// The first value of each of `N` fields among `sources`' pairs, earlier
/// sources first (a gateway's body before its query, or the other way
/// round): `slot` says which field a pair's name (decoded) fills, if any.
/// For the codecs whose fields come as a form or a query string. The same
/// values as [`pairs`] gives, with less work: a name with nothing to
/// decode is matched as it is, and only the values kept are decoded.
pub(crate) fn first_values<'a, const N: usize>(
    sources: [&'a [u8]; 2],
    slot: impl Fn(&[u8]) -> Option<usize>,
) -> [Option<Cow<'a, str>>; N] {
    let mut values: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    for source in sources {
        for piece in (Pieces {
            input: source,
            at: 0,
        }) {
            let field = if piece.escaped[0] {
                slot(piece.name().as_bytes())
            } else {
                slot(piece.name)
            };
            if let Some(kept @ None) = field.and_then(|field| values.get_mut(field)) {
                *kept = Some(piece.value());
            }
        }
    }
    values
}

/// One `name=value` piece, still encoded.
struct Piece<'a> {
    name: &'a [u8],
    value: &'a [u8],
    /// Whether the name, and the value, have a `%` or `+`.
    escaped: [bool; 2],
}

impl<'a> Piece<'a> {
    fn name(&self) -> Cow<'a, str> {
        decode(self.name, self.escaped[0])
    }

    fn value(&self) -> Cow<'a, str> {
        decode(self.value, self.escaped[1])
    }
}

/// The non-empty pieces of a form, each byte looked at once: to find the
/// pieces, their first `=` and whether either side has anything to decode.
struct Pieces<'a> {
    input: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let input = self.input;
        while self.at < input.len() {
            let start = self.at;
            let mut eq = None;
            let mut escaped = [false; 2];
            while let Some(&b) = input.get(self.at) {
                match CLASS[usize::from(b)] {
                    PLAIN => {}
                    AMP => break,
                    // The first `=` splits the piece; a later one is the
                    // value's.
                    EQ if eq.is_none() => eq = Some(self.at),
                    EQ => {}
                    _ => escaped[usize::from(eq.is_some())] = true,
                }
                self.at += 1;
            }
            let end = self.at;
            // Past the `&` (or the end).
            self.at += 1;
            if end == start {
                continue;
            }
            let (name, value) = match eq {
                Some(eq) => (&input[start..eq], &input[eq + 1..end]),
                None => (&input[start..end], &[][..]),
            };
            return Some(Piece {
                name,
                value,
                escaped,
            });
        }
        None
    }
}

/// What a byte is to a form: nearly all are [`PLAIN`].
const PLAIN: u8 = 0;
const AMP: u8 = 1;
const EQ: u8 = 2;
/// `%` and `+`: something to decode.
const ESCAPE: u8 = 3;
static CLASS: [u8; 256] = {
    let mut class = [PLAIN; 256];
    class[b'&' as usize] = AMP;
    class[b'=' as usize] = EQ;
    class[b'%' as usize] = ESCAPE;
    class[b'+' as usize] = ESCAPE;
    class
};

/// One side of a pair, `escaped` when it has a `%` or `+` in it.
fn decode(bytes: &[u8], escaped: bool) -> Cow<'_, str> {
    if escaped {
        component(bytes)
    } else {
        unescaped(bytes)
    }
}

/// A side of a pair with no `%` or `+` in it: its bytes as UTF-8.
fn unescaped(bytes: &[u8]) -> Cow<'_, str> {
    // `from_utf8` checks ASCII a word at a time; the lossy walk, chunk by
    // chunk, is only needed for what is not UTF-8.
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// One side of a pair: `+` is a space, `%XX` a byte (a `%` not followed by
/// two hex digits is kept as it is), the bytes read as UTF-8 with invalid
/// sequences replaced.
fn component(bytes: &[u8]) -> Cow<'_, str> {
    let Some(first) = bytes.iter().position(|&b| b == b'%' || b == b'+') else {
        return unescaped(bytes);
    };
    // What comes before the first escape is copied as it is.
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i).and_then(hex), bytes.get(i + 1).and_then(hex)) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(digit: &u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{first_values, pairs};
    use proptest::prelude::*;
    use std::borrow::Cow;

    #[test]
    fn an_africas_talking_body_decodes() {
        let body =
            b"sessionId=ATUid_1&serviceCode=%2A384%2A123%23&phoneNumber=%2B254711&text=1*2+3&x";
        let got: Vec<_> = pairs(body).collect();
        let want = [
            ("sessionId", "ATUid_1"),
            ("serviceCode", "*384*123#"),
            ("phoneNumber", "+254711"),
            ("text", "1*2 3"),
            ("x", ""),
        ];
        assert_eq!(got.len(), want.len());
        for ((name, value), (n, v)) in got.iter().zip(want) {
            assert_eq!((name.as_ref(), value.as_ref()), (n, v));
        }
    }

    proptest! {
        /// Invariant: `first_values` keeps, for each field, the first
        /// value `form_urlencoded::parse` gives under a name the field
        /// takes (decoded: `a b` is also sent `a+b` or `a%20b`), sources in
        /// order, whatever the bytes.
        #[test]
        fn first_values_are_the_first_parsed_values_of_each_field(
            first in proptest::collection::vec(
                prop_oneof![
                    Just(b'&'), Just(b'='), Just(b'%'), Just(b'+'), Just(b'a'),
                    Just(b'b'), Just(b' '), Just(b'2'), Just(b'0'), any::<u8>(),
                ],
                0..48,
            ),
            second in proptest::collection::vec(
                prop_oneof![Just(b'&'), Just(b'='), Just(b'a'), Just(b'+'), Just(b'b'), any::<u8>()],
                0..24,
            ),
        ) {
            let slot = |name: &[u8]| match name {
                b"a" => Some(0),
                b"a b" => Some(1),
                b"b" => Some(2),
                _ => None,
            };
            let ours: [Option<Cow<'_, str>>; 3] = first_values([&first, &second], slot);
            let mut theirs: [Option<String>; 3] = Default::default();
            for source in [&first, &second] {
                for (name, value) in form_urlencoded::parse(source) {
                    if let Some(at) = slot(name.as_bytes()) {
                        theirs[at].get_or_insert(value.into_owned());
                    }
                }
            }
            let ours: Vec<Option<String>> =
                ours.into_iter().map(|v| v.map(Cow::into_owned)).collect();
            prop_assert_eq!(ours, theirs.to_vec());
        }

        /// Invariant: the same pairs as `form_urlencoded::parse`, for any
        /// bytes (escapes, stray `%`, `+`, empty pieces, invalid UTF-8).
        #[test]
        fn the_same_pairs_as_form_urlencoded(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b'&'), Just(b'='), Just(b'%'), Just(b'+'),
                    Just(b'2'), Just(b'a'), Just(b'F'), Just(b'g'),
                    any::<u8>(),
                ],
                0..48,
            )
        ) {
            let ours: Vec<(String, String)> =
                pairs(&input).map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
            let theirs: Vec<(String, String)> = form_urlencoded::parse(&input)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            prop_assert_eq!(ours, theirs);
        }
    }
}
